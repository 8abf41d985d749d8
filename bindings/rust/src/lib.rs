// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

//! Task local data: small per-thread values that BPF programs read.
//!
//! This crate is a safe layer over the C ABI of libtld (`libtld.so.1`,
//! `<tld/tld.h>`). A *TLD* is a named, fixed-size piece of memory that every
//! thread has its own copy of. A thread writes its copy with an ordinary
//! store; a BPF program (a scheduler, profiler or tracer) finds the same TLD
//! by name in the thread's task local storage and reads it, without a system
//! call on either side. BPF programs use `<tld/tld.bpf.h>`.
//!
//! ```no_run
//! use tld::{Key, Map, StaticKey};
//!
//! static PRIORITY: StaticKey<u32> = StaticKey::new("priority");  // created at first use
//!
//! fn main() -> std::io::Result<()> {
//!     let _map = Map::open("/sys/fs/bpf/my_tld_map")?;   // unregistered when dropped
//!     let request_id: Key<u64> = Key::create("request_id")?;
//!     std::thread::spawn(move || -> std::io::Result<()> {
//!         PRIORITY.set(5)?;                               // this thread's value
//!         let _id = request_id.scoped(1234)?;             // restored when dropped
//!         assert_eq!(request_id.get()?, 1234);            // a copy, never a reference
//!         Ok(())
//!     })
//!     .join()
//!     .unwrap()
//! }
//! ```
//!
//! # Types
//!
//! A TLD of type `T` is raw memory that BPF programs, and possibly other
//! writers of the map, may fill with any bytes. `T` must therefore accept
//! every bit pattern: that is what the [`Pod`] trait promises. It is
//! implemented for the integer and floating-point types and for arrays of
//! them, but not for `bool` or `char`, which have invalid bit patterns.
//! Implement it yourself (it is an `unsafe` trait) for `#[repr(C)]` structs
//! made only of `Pod` fields. A TLD holds at most [`MAX_SIZE`] bytes with an
//! alignment of at most 8; larger or more aligned types, and zero-sized
//! ones, are refused when the program is compiled.
//!
//! # Threads, `Send` and `Sync`
//!
//! - [`Key`] is `Copy`, `Send` and `Sync`: it is only the TLD's offset, valid
//!   in every thread for the life of the process. Each thread that uses it
//!   reaches its own value.
//! - [`StaticKey`] is `Sync`: the first use from any thread creates the key,
//!   exactly once, and every thread then sees the same key.
//! - [`Map`] is `Send` and `Sync`: a registration belongs to the process,
//!   not to a thread, and libtld's map functions are thread-safe.
//! - [`Scoped`] is neither `Send` nor `Sync`: it restores the value of the
//!   thread that created it and must be dropped on that thread.
//!
//! Values are never handed out as references: [`Key::get`] returns a copy
//! and [`Key::set`] stores one, so no `&mut` to memory that BPF may write
//! ever exists. [`Key::as_ptr`] gives the raw pointer for code that needs
//! it.
//!
//! # Async code
//!
//! A value belongs to the operating-system thread, not to a task or future.
//! An async runtime that moves tasks between worker threads moves a task
//! away from the values it set: after an `.await`, the task may run on a
//! thread whose TLD holds another task's hint, and its own hint stays behind
//! on the old thread. So, in a task that may migrate:
//!
//! - set a hint again each time the task is polled or resumes (for example
//!   at the start of every poll, in a wrapper future), not once when the
//!   task starts;
//! - never hold a [`Scoped`] guard across an `.await` (it is not `Send`, so
//!   a multi-threaded runtime refuses such a future; on a single-threaded
//!   one, other tasks would run under the guard's value, and guards of
//!   interleaved tasks would restore each other's values).
//!
//! # Errors
//!
//! Failures are [`std::io::Error`]s carrying libtld's errno
//! ([`io::Error::raw_os_error`]), so [`io::Error::kind`] tells them apart:
//! `AlreadyExists` (`EEXIST`), `NotFound` (`ENOENT`), `InvalidInput`
//! (`EINVAL`), and so on. What each function returns is documented with it.
//! [`Map::unregister`] fails with an [`UnregisterError`], which holds such
//! an error (and the [`Map`], when its registration stays) and converts
//! into it.
//!
//! # Linking
//!
//! The build script finds libtld with `pkg-config tld` and links
//! `libtld.so.1` dynamically. Set `TLD_PKG_CONFIG_PATH` to a libtld build
//! directory to build against that build tree (run the programs with
//! `LD_LIBRARY_PATH=BUILD/src` then).

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

mod sys;

/// The longest TLD name, in bytes (`TLD_NAME_MAX`).
pub const NAME_MAX: usize = 61;
/// The most TLDs one process can publish (`TLD_KEYS_MAX`).
pub const KEYS_MAX: usize = 63;
/// The most maps that can be registered at once (`TLD_MAPS_MAX`).
pub const MAPS_MAX: usize = 8;
/// The largest TLD, in bytes: the smallest page libtld runs on (4096 bytes)
/// less the 8-byte header of a thread's block.
pub const MAX_SIZE: usize = 4096 - 8;
/// The largest alignment of a TLD's type: every TLD is 8-byte aligned.
pub const MAX_ALIGN: usize = 8;

/// Plain old data: a type for which every bit pattern is a valid value.
///
/// The bytes of a TLD can be written by BPF programs and by any process that
/// may write to the map, so reading them as `T` must be sound whatever they
/// hold.
///
/// Implemented for `u8` to `u64`, `usize`, `i8` to `i64`, `isize`, `f32`,
/// `f64`, and arrays of `Pod` types. Not for `bool`, `char`, references,
/// pointers, `NonZero*` or enums, which have invalid bit patterns (and not
/// for `u128`/`i128`, aligned to 16 bytes).
///
/// # Safety
///
/// Implement it only for a type that
/// - is valid for every bit pattern of its size (all its fields are `Pod`),
/// - is `#[repr(C)]` or `#[repr(transparent)]`, so that its layout is the
///   one BPF programs are written against,
/// - has no padding bytes, if what BPF reads of the padding matters (padding
///   is copied as it is, uninitialized bytes included).
///
/// ```
/// #[repr(C)]
/// #[derive(Clone, Copy)]
/// struct Request {
///     id: u32,
///     class: u16,
///     flags: u16,
/// }
/// // Safety: repr(C), every field Pod, no padding.
/// unsafe impl tld::Pod for Request {}
///
/// let key: tld::Key<Request> = tld::Key::create("doc.request").unwrap();
/// key.set(Request { id: 7, class: 1, flags: 0 }).unwrap();
/// assert_eq!(key.get().unwrap().id, 7);
/// ```
///
/// `bool` is not plain old data:
///
/// ```compile_fail
/// let key: tld::Key<bool> = tld::Key::create("doc.flag").unwrap();
/// ```
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => {
        // Safety: each $t is a primitive integer or float: every bit pattern
        // of its size is a value, its layout is fixed, and it has no padding.
        $(unsafe impl Pod for $t {})*
    };
}
pod!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64);
// Safety: an array is its elements back to back (a fixed layout, with no
// padding of its own), so every bit pattern is a value when every bit
// pattern of T is. Any padding inside T is in the array too, which Pod
// allows (see its last rule).
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

// The compile-time checks of a TLD's type: evaluated where a key of type T
// is made, so that a type that can never be a TLD fails the build.
struct Layout<T>(PhantomData<T>);

impl<T> Layout<T> {
    const CHECK: () = {
        assert!(mem::size_of::<T>() > 0, "a TLD cannot be zero-sized");
        assert!(mem::size_of::<T>() <= MAX_SIZE, "a TLD must fit in one page with its header (tld::MAX_SIZE)");
        assert!(mem::align_of::<T>() <= MAX_ALIGN, "TLDs are 8-byte aligned: the type may need at most that");
    };
}

fn errno(neg: c_int) -> io::Error {
    io::Error::from_raw_os_error(-neg)
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    // A NUL inside the name or path: libtld would see a shorter one.
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(sys::EINVAL))
}

/// A typed TLD: every thread has its own `T`, readable by BPF under the key's
/// name.
///
/// Get one with [`Key::create`] (publish a new TLD), [`Key::find`] (use a
/// TLD that other code in the process published) or a [`StaticKey`]. A key
/// is valid for the life of the process; copy it freely.
///
/// Keys made before any thread used a TLD are sized into every thread's
/// block. A key made later (while threads already hold blocks) must fit in
/// the per-thread dynamic reserve, 64 bytes unless raised with
/// [`set_dyn_data_size`] or the environment variable `TLD_DYN_DATA_SIZE`
/// beforehand; otherwise its creation fails with `E2BIG`.
///
/// ```compile_fail
/// // Too large for a TLD: refused when the program is built.
/// let key: tld::Key<[u8; 8192]> = tld::Key::create("doc.huge").unwrap();
/// ```
pub struct Key<T: Pod> {
    raw: sys::tld_key_t,
    // Send + Sync whatever T is: the key holds no T.
    _type: PhantomData<fn() -> T>,
}

impl<T: Pod> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Pod> Copy for Key<T> {}

impl<T: Pod> PartialEq for Key<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T: Pod> Eq for Key<T> {}

impl<T: Pod> std::hash::Hash for Key<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}

impl<T: Pod> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("type", &std::any::type_name::<T>())
            .field("offset", &self.raw.off)
            .finish()
    }
}

impl<T: Pod> Key<T> {
    fn from_raw(raw: sys::tld_key_t) -> io::Result<Self> {
        if raw.off < 0 {
            Err(errno(raw.off.into()))
        } else {
            Ok(Key { raw, _type: PhantomData })
        }
    }

    /// Publish the TLD `name` of `size_of::<T>()` bytes; it starts
    /// zero-filled in every thread.
    ///
    /// Errors (the errno of `tld_create_key()`):
    /// - `EINVAL`: `name` is empty, longer than [`NAME_MAX`] bytes, or holds
    ///   a NUL byte;
    /// - `EEXIST`: a TLD of that name is already published (use
    ///   [`Key::find`] to share it);
    /// - `E2BIG`: the TLD does not fit in the space left (the dynamic
    ///   reserve once threads hold blocks);
    /// - `ENOSPC`: [`KEYS_MAX`] TLDs are published already;
    /// - `ENOMEM`: libtld could not map its metadata page.
    pub fn create(name: &str) -> io::Result<Self> {
        let () = Layout::<T>::CHECK;
        let name = c_string(name.as_bytes())?;
        // Safety: a valid NUL-terminated string; libtld copies it.
        Self::from_raw(unsafe { sys::tld_create_key(name.as_ptr(), mem::size_of::<T>()) })
    }

    /// The TLD `name` that other code in this process published, so that two
    /// libraries can share it without sharing a variable.
    ///
    /// Errors: `ENOENT` when no TLD of that name is published; `EINVAL` when
    /// it was published with a size other than `size_of::<T>()`, or `name`
    /// is empty, too long or holds a NUL byte.
    pub fn find(name: &str) -> io::Result<Self> {
        let () = Layout::<T>::CHECK;
        let name = c_string(name.as_bytes())?;
        // Safety: a valid NUL-terminated string.
        Self::from_raw(unsafe { sys::tld_find_key(name.as_ptr(), mem::size_of::<T>()) })
    }

    /// A pointer to the calling thread's `T`: 8-byte aligned, valid until the
    /// thread exits or calls [`free_thread`], and only meant for this
    /// thread. The first use of any TLD in a thread takes the thread's block
    /// (a page) and registers it in every registered map.
    ///
    /// Reading or writing through the pointer is `unsafe`: BPF programs and
    /// other writers of the map may change the memory at any time, so use
    /// [`ptr::read_volatile`] and [`ptr::write_volatile`], never a reference.
    ///
    /// Errors: `ENOMEM` (no page for the thread's block) or `EAGAIN` (the
    /// process is out of pthread keys).
    pub fn as_ptr(&self) -> io::Result<NonNull<T>> {
        // Safety: the key came from libtld; tld_data() only computes an
        // address (and takes the block on first use).
        let p = unsafe { sys::tld_data(self.raw) };
        NonNull::new(p.cast::<T>()).ok_or_else(io::Error::last_os_error)
    }

    /// The calling thread's value (a copy).
    ///
    /// Errors: as [`Key::as_ptr`].
    pub fn get(&self) -> io::Result<T> {
        let p = self.as_ptr()?;
        // Safety: p is this thread's TLD, aligned for T (8-byte aligned,
        // align_of::<T>() <= 8), size_of::<T>() bytes, valid during this call;
        // any bytes are a valid T (Pod). Volatile: BPF may write it.
        Ok(unsafe { ptr::read_volatile(p.as_ptr()) })
    }

    /// Set the calling thread's value; BPF reads it from now on.
    ///
    /// Errors: as [`Key::as_ptr`].
    pub fn set(&self, value: T) -> io::Result<()> {
        let p = self.as_ptr()?;
        // Safety: as in get(); nothing else in this thread holds a reference.
        unsafe { ptr::write_volatile(p.as_ptr(), value) };
        Ok(())
    }

    /// Set the calling thread's value and return the one it replaces.
    ///
    /// Errors: as [`Key::as_ptr`].
    pub fn replace(&self, value: T) -> io::Result<T> {
        let p = self.as_ptr()?;
        // Safety: as in get() and set().
        unsafe {
            let old = ptr::read_volatile(p.as_ptr());
            ptr::write_volatile(p.as_ptr(), value);
            Ok(old)
        }
    }

    /// Set the calling thread's value until the returned guard is dropped,
    /// which restores the value it had now, also when a panic unwinds.
    /// Guards nest. The guard is not `Send`: it belongs to this thread (and
    /// must not be held across an `.await`; see the crate's documentation).
    ///
    /// Errors: as [`Key::as_ptr`].
    ///
    /// ```
    /// let depth: tld::Key<u32> = tld::Key::create("doc.depth").unwrap();
    /// {
    ///     let _outer = depth.scoped(1).unwrap();
    ///     {
    ///         let _inner = depth.scoped(2).unwrap();
    ///         assert_eq!(depth.get().unwrap(), 2);
    ///     }
    ///     assert_eq!(depth.get().unwrap(), 1);
    /// }
    /// assert_eq!(depth.get().unwrap(), 0);
    /// ```
    ///
    /// The guard cannot move to another thread:
    ///
    /// ```compile_fail
    /// let depth: tld::Key<u32> = tld::Key::create("doc.depth").unwrap();
    /// let guard = depth.scoped(1).unwrap();
    /// std::thread::spawn(move || drop(guard));
    /// ```
    pub fn scoped(&self, value: T) -> io::Result<Scoped<T>> {
        let previous = self.replace(value)?;
        Ok(Scoped { key: *self, previous, _thread: PhantomData })
    }
}

/// Restores a thread's value when dropped: see [`Key::scoped`].
///
/// If the guard is leaked ([`mem::forget`]), the value is simply not
/// restored. Dropping guards out of order restores, each time, the value
/// the dropped guard saw when it was made.
#[must_use = "the value is restored as soon as the guard is dropped"]
pub struct Scoped<T: Pod> {
    key: Key<T>,
    previous: T,
    // Neither Send nor Sync: the guard restores the creating thread's value.
    _thread: PhantomData<*const ()>,
}

impl<T: Pod> Scoped<T> {
    /// The value that dropping the guard restores.
    pub fn previous(&self) -> T {
        self.previous
    }
}

impl<T: Pod> Drop for Scoped<T> {
    fn drop(&mut self) {
        // The value is looked up again rather than through a pointer kept
        // from creation, which free_thread() would have invalidated. It
        // cannot fail while the thread holds its block; if the thread
        // released it and no page can be had now, there is nothing to
        // restore into.
        let _ = self.key.set(self.previous);
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for Scoped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("key", &self.key)
            .field("previous", &self.previous)
            .finish()
    }
}

/// A key in a `static`, created the first time any thread uses it.
///
/// ```
/// use tld::StaticKey;
///
/// static PHASE: StaticKey<u32> = StaticKey::new("doc.phase");
///
/// PHASE.set(2).unwrap();
/// assert_eq!(PHASE.get().unwrap(), 2);
/// ```
///
/// Creation happens once, whichever thread comes first; its result, an
/// error included, is what every later use sees. Since it happens at first
/// use, the TLD is sized into the dynamic reserve if threads already hold
/// blocks by then (see [`Key`]); call [`StaticKey::key`] early in `main`
/// to create it before any thread uses a TLD.
pub struct StaticKey<T: Pod> {
    name: &'static str,
    key: OnceLock<Result<Key<T>, i32>>,
}

impl<T: Pod> StaticKey<T> {
    /// A key for the TLD `name`, created with [`Key::create`] at first use.
    pub const fn new(name: &'static str) -> Self {
        let () = Layout::<T>::CHECK;
        StaticKey { name, key: OnceLock::new() }
    }

    /// The TLD's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The key, created now if no thread used it before.
    ///
    /// Errors: what [`Key::create`] returned the first time.
    pub fn key(&self) -> io::Result<Key<T>> {
        let created = self.key.get_or_init(|| {
            Key::create(self.name).map_err(|e| e.raw_os_error().unwrap_or(sys::EINVAL))
        });
        created.map_err(io::Error::from_raw_os_error)
    }

    /// See [`Key::as_ptr`]; also fails with the key's creation error.
    pub fn as_ptr(&self) -> io::Result<NonNull<T>> {
        self.key()?.as_ptr()
    }

    /// See [`Key::get`]; also fails with the key's creation error.
    pub fn get(&self) -> io::Result<T> {
        self.key()?.get()
    }

    /// See [`Key::set`]; also fails with the key's creation error.
    pub fn set(&self, value: T) -> io::Result<()> {
        self.key()?.set(value)
    }

    /// See [`Key::replace`]; also fails with the key's creation error.
    pub fn replace(&self, value: T) -> io::Result<T> {
        self.key()?.replace(value)
    }

    /// See [`Key::scoped`]; also fails with the key's creation error.
    pub fn scoped(&self, value: T) -> io::Result<Scoped<T>> {
        self.key()?.scoped(value)
    }
}

impl<T: Pod> fmt::Debug for StaticKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKey")
            .field("name", &self.name)
            .field("key", &self.key.get())
            .finish()
    }
}

/// A map registration that lasts as long as the value: every thread that
/// holds a block is added to the BPF task storage map now, every later
/// thread on its first use of a TLD, and all of them are removed when the
/// `Map` is dropped.
///
/// The map must be a task storage map of the task local data layout (what
/// the map `tld_data_map` of `<tld/tld.bpf.h>` is). Registrations are
/// counted: each `Map` is one, and the map's elements go when the last
/// registration of it (by any owner in the process) ends. A `Map` opened
/// from a pinned path follows the pin when the consumer replaces its map
/// (see `tld_map_open(3)`).
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    // The pinned path of a Map::open(): its registration is the path's.
    path: Option<CString>,
}

impl Map {
    /// Open the map pinned at `path` in bpffs and register it.
    ///
    /// Errors: `ENOENT` (nothing pinned there), `EACCES` (no access, or the
    /// file is not a BPF object: the kernel's answer for a path outside
    /// bpffs), `EPERM`, `EINVAL` (the path is empty or holds a NUL byte;
    /// the pinned object is not a map, or not a task storage map of a
    /// layout libtld writes), `ENOSPC` ([`MAPS_MAX`] maps are registered),
    /// or the kernel's error adding an existing thread.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Map> {
        let path = c_string(path.as_ref().as_os_str().as_bytes())?;
        // Safety: a valid NUL-terminated string.
        let fd = unsafe { sys::tld_map_open(path.as_ptr()) };
        if fd < 0 {
            return Err(errno(fd));
        }
        // Safety: tld_map_open() returned a new descriptor that we own.
        Ok(Map { fd: unsafe { OwnedFd::from_raw_fd(fd) }, path: Some(path) })
    }

    /// Register the map that `fd` (a file descriptor of a BPF map) refers
    /// to; the `Map` keeps its own duplicate of the descriptor, so `fd` may
    /// be closed afterwards.
    ///
    /// Errors: `EINVAL` (not a BPF map, or not a task storage map of a layout
    /// libtld writes), `ENOSPC` ([`MAPS_MAX`] maps are registered), the
    /// kernel's error reading the map or adding an existing thread, or the
    /// error duplicating the descriptor.
    pub fn register(fd: impl AsFd) -> io::Result<Map> {
        let fd = fd.as_fd();
        // Safety: fd is an open descriptor for the duration of the call.
        let err = unsafe { sys::tld_map_register(fd.as_raw_fd()) };
        if err < 0 {
            return Err(errno(err));
        }
        match fd.try_clone_to_owned() {
            Ok(fd) => Ok(Map { fd, path: None }),
            Err(e) => {
                // Safety: as above.
                unsafe { sys::tld_map_unregister(fd.as_raw_fd()) };
                Err(e)
            }
        }
    }

    /// End this registration now, reporting what libtld said (dropping the
    /// `Map` does the same and ignores it); when it was the map's last
    /// registration, every thread's element is deleted from the map.
    ///
    /// Errors, each an [`UnregisterError`]:
    /// - `ENOENT`: the registration is gone already (an owner that was not
    ///   registered unregistered the map); the `Map` is consumed;
    /// - any other error, when an element could not be deleted (`EMFILE`,
    ///   `ENOMEM`, `EBUSY`, ...: see `tld_map_unregister(3)`): the
    ///   registration stays, and [`UnregisterError::into_map`] hands the
    ///   `Map` back, to call `unregister()` again later or to drop.
    ///
    /// ```no_run
    /// fn stop_publishing(map: tld::Map) -> std::io::Result<()> {
    ///     if let Err(e) = map.unregister() {
    ///         eprintln!("unregister: {e}");
    ///         if let Some(map) = e.into_map() {
    ///             map.unregister()?; // still registered: once more
    ///         }
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn unregister(self) -> Result<(), UnregisterError> {
        let mut this = mem::ManuallyDrop::new(self);
        let err = this.end();
        if err < 0 && err != -sys::ENOENT {
            // The registration stays: so does the Map, Drop included.
            let map = Some(mem::ManuallyDrop::into_inner(this));
            return Err(UnregisterError { error: errno(err), map });
        }
        // Safety: the fields are moved out once, and `this` is never dropped.
        unsafe {
            drop(ptr::read(&this.fd));
            drop(ptr::read(&this.path));
        }
        if err < 0 {
            Err(UnregisterError { error: errno(err), map: None })
        } else {
            Ok(())
        }
    }

    fn end(&mut self) -> c_int {
        match &self.path {
            // Safety: a valid NUL-terminated string.
            Some(path) => unsafe { sys::tld_map_unregister_path(path.as_ptr()) },
            // Safety: the descriptor is open until self.fd is dropped.
            None => unsafe { sys::tld_map_unregister(self.fd.as_raw_fd()) },
        }
    }
}

impl AsFd for Map {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Map {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        self.end();
    }
}

/// Why [`Map::unregister`] failed, with the [`Map`] when its registration
/// stays.
///
/// It converts into the [`io::Error`] (so `?` works in a function that
/// returns [`io::Result`]), which drops the `Map`: dropping tries to end
/// the registration once more and ignores the result. It is `Send` and
/// `Sync`, as [`io::Error`] and [`Map`] are.
#[derive(Debug)]
pub struct UnregisterError {
    error: io::Error,
    map: Option<Map>,
}

impl UnregisterError {
    /// libtld's error, carrying its errno.
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// The `Map`, still registered, for every error but `ENOENT` (after
    /// which no registration is left to end).
    pub fn into_map(self) -> Option<Map> {
        self.map
    }
}

impl fmt::Display for UnregisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for UnregisterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl From<UnregisterError> for io::Error {
    fn from(e: UnregisterError) -> io::Error {
        e.error
    }
}

/// Take the calling thread's block and register it in every registered map
/// now, instead of at its first use of a TLD. Calling it again retries
/// registrations that failed.
///
/// Errors: `ENOMEM` (no page for the block), `EAGAIN` (out of pthread keys),
/// or the first error registering this thread in a map (when `TLD_MAP` is
/// set, the error opening or registering that map). The thread's TLDs work
/// either way.
pub fn thread_init() -> io::Result<()> {
    // Safety: no arguments; thread-safe.
    let err = unsafe { sys::tld_thread_init() };
    if err < 0 {
        Err(errno(err))
    } else {
        Ok(())
    }
}

/// Release the calling thread's block now, instead of at thread exit: its
/// element is deleted from every registered map and its values are gone. A
/// later use of a TLD in this thread takes a fresh, zero-filled block.
/// Pointers from [`Key::as_ptr`] that this thread got before are invalid
/// afterwards.
pub fn free_thread() {
    // Safety: only invalidates raw pointers, which this crate never keeps.
    unsafe { sys::tld_free() }
}

/// Set the per-thread reserve for keys created after the first thread took
/// its block (default 64 bytes, or the environment variable
/// `TLD_DYN_DATA_SIZE`); `size` is rounded up to a multiple of 8.
///
/// Errors: `EBUSY` once any thread took its block (the layout is fixed);
/// `E2BIG` when the reserve and the keys created so far would not fit a
/// page; `ENOMEM`.
pub fn set_dyn_data_size(size: usize) -> io::Result<()> {
    // Safety: plain value; thread-safe.
    let err = unsafe { sys::tld_set_dyn_data_size(size) };
    if err < 0 {
        Err(errno(err))
    } else {
        Ok(())
    }
}

/// A function that receives libtld's diagnostics: see [`set_print`].
pub type PrintFn = fn(&str);

// The PrintFn that print_line() calls, as an address; 0 for none.
static PRINT: AtomicUsize = AtomicUsize::new(0);
// set_print() changes PRINT and libtld's print function together.
static PRINT_SET: Mutex<()> = Mutex::new(());

// The tld_print_fn that set_print() gives libtld.
//
// Safety: `message` is null or a NUL-terminated string that stays valid
// during the call, as libtld passes it.
unsafe extern "C" fn print_line(message: *const c_char) {
    let f = PRINT.load(Ordering::Acquire);
    if f == 0 || message.is_null() {
        return;
    }
    // Safety: PRINT holds 0 or the address of a PrintFn (set_print()).
    let f: PrintFn = unsafe { mem::transmute::<usize, PrintFn>(f) };
    // Safety: not null, and NUL-terminated and valid during the call (the
    // caller's promise).
    let line = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    // A panic must not unwind into C: it is dropped with the message.
    let _ = std::panic::catch_unwind(|| f(line.trim_end_matches('\n')));
}

/// Send libtld's diagnostics to `f`, or, with `None`, stop (the default:
/// libtld says nothing unless `TLD_LOG` is set in the environment, which
/// writes them to standard error). A diagnostic says why a map, a pin or a
/// thread's registration was refused or failed, such as
/// `libtld: /sys/fs/bpf/sched/tld_data_map: no such pin`, once per reason.
///
/// `f` is called from whichever thread met the failure, with libtld's lock
/// held: it must not call this crate or libtld, and should return quickly
/// (log the line, or push it to a queue). A panic in `f` is caught and the
/// line dropped.
///
/// Returns the function of the previous `set_print` call, or `None` (also
/// when a print function was set through the C API instead).
pub fn set_print(f: Option<PrintFn>) -> Option<PrintFn> {
    let _g = PRINT_SET.lock().unwrap_or_else(|e| e.into_inner());
    let old = PRINT.swap(f.map_or(0, |f| f as usize), Ordering::AcqRel);
    let c_fn: Option<sys::tld_print_fn> = f.map(|_| print_line as sys::tld_print_fn);
    // Safety: print_line is a valid tld_print_fn for the whole process.
    unsafe { sys::tld_set_print(c_fn) };
    // Safety: PRINT held 0 or the address of a PrintFn.
    (old != 0).then(|| unsafe { mem::transmute::<usize, PrintFn>(old) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_type_matches_the_c_abi() {
        // tld_key_t is a struct of one int16_t.
        assert_eq!(mem::size_of::<sys::tld_key_t>(), 2);
        assert_eq!(mem::align_of::<sys::tld_key_t>(), 2);
    }

    #[test]
    fn handles_are_send_and_sync_where_documented() {
        fn send_sync<X: Send + Sync>() {}
        send_sync::<Key<u64>>();
        send_sync::<Key<[u8; 12]>>();
        send_sync::<StaticKey<u32>>();
        send_sync::<Map>();
        send_sync::<UnregisterError>();
    }
}
