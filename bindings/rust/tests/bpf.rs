// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// End to end: several Rust threads write TLDs, and a BPF task iterator
// (tldctl dump) reads every thread's values back through a registered task
// storage map; registrations end, or fail and are retried. Needs root and
// the build tree's programs, named by TLDCTL (tools/tldctl) and
// TLD_TEST_PIN_MAP (tests/rust/pin_map.c, which pins the map of the
// verification program), and for the retry TLD_TEST_FAULT_SHIM
// (tests/fault/shim.c), so it is ignored by a plain `cargo test`;
// `meson test --suite rust` runs it with --ignored.
mod common;

use common::*;
use std::env;
use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CString};
use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use tld::{Key, Map, Pod, StaticKey};

const THREADS: usize = 4;

#[repr(C)]
#[derive(Clone, Copy)]
struct Pair {
    lo: u16,
    mid: u16,
    hi: u32,
}
// Safety: repr(C), Pod fields, no padding.
unsafe impl Pod for Pair {}

static TID: StaticKey<u32> = StaticKey::new("rust.tid");

// The pinned maps of a pin-map process: its task storage map at `path`, its
// hash map at `other`. They go away on drop.
struct Pinned {
    path: String,
    other: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Pinned {
    fn new(name: &str) -> Pinned {
        let helper = env::var("TLD_TEST_PIN_MAP")
            .expect("TLD_TEST_PIN_MAP names the build tree's tests/rust/pin-map");
        let path = format!("/sys/fs/bpf/tld-test-rust-{name}-{}", std::process::id());
        let other = format!("{path}-hash");
        let mut child = Command::new(helper)
            .args([&path, &other])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting pin-map");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n", "pin-map did not pin the map (see its error above)");
        Pinned { path, other, child, stdin }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        drop(self.stdin.take()); // pin-map unpins and exits
        let _ = self.child.wait();
    }
}

// What tldctl dump --json says of this process through the pinned map.
fn dump(map: &str) -> String {
    let tldctl = env::var("TLDCTL").expect("TLDCTL names the build tree's tldctl");
    let pid = std::process::id().to_string();
    let out = Command::new(tldctl)
        .args(["dump", "--pid", &pid, "--map", map, "--json"])
        .output()
        .expect("running tldctl");
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "tldctl dump failed: {}{json}",
        String::from_utf8_lossy(&out.stderr)
    );
    json
}

// The threads of a dump: (tid, the text of the thread's record).
fn threads_of(json: &str) -> Vec<(u32, &str)> {
    let mut out = Vec::new();
    let mut rest = json;
    while let Some(at) = rest.find("{\"tid\":") {
        rest = &rest[at + 7..];
        let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
        let tid = rest[..end].parse().unwrap();
        let record_end = rest.find("{\"tid\":").unwrap_or(rest.len());
        out.push((tid, &rest[..record_end]));
    }
    out
}

// The value and size that a thread's record shows for the TLD `name`.
fn value_of(record: &str, name: &str) -> Option<(usize, String)> {
    let at = record.find(&format!("{{\"name\":\"{name}\",\"size\":"))?;
    let entry = &record[at..];
    let entry = &entry[..entry.find('}')?];
    let size = entry.split("\"size\":").nth(1)?.split(',').next()?.parse().ok()?;
    // Integers are JSON numbers (or strings past 2^53), other values hex strings.
    let value = entry.split("\"value\":").nth(1)?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => value.split([',', '}']).next()?,
    };
    Some((size, value.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn gettid() -> u32 {
    // /proc/thread-self is a link to PID/task/TID.
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

// What thread `i` writes.
struct Written {
    tid: u32,
    request: u64,
    phase: u8,
    pair: Pair,
    blob: [u8; 12],
}

fn written(i: usize, tid: u32) -> Written {
    Written {
        tid,
        request: 0x1_0000_0000 + i as u64,
        phase: 2,
        pair: Pair { lo: 10 + i as u16, mid: 20 + i as u16, hi: 30 + i as u32 },
        blob: [0xb0 + i as u8; 12],
    }
}

fn pair_value(p: Pair) -> u64 {
    // tldctl prints an 8-byte TLD as a little-endian number.
    u64::from(p.lo) | u64::from(p.mid) << 16 | u64::from(p.hi) << 32
}

// Every thread of `threads` appears in `json` with what it wrote, the phase
// being `phase`; no other thread appears.
fn check(json: &str, threads: &[Written], phase: u8) {
    let found = threads_of(json);
    let mut tids: Vec<u32> = found.iter().map(|t| t.0).collect();
    tids.sort();
    let mut want: Vec<u32> = threads.iter().map(|w| w.tid).collect();
    want.sort();
    assert_eq!(tids, want, "the threads BPF found, in {json}");
    for w in threads {
        let record = found.iter().find(|t| t.0 == w.tid).unwrap().1;
        let expect = [
            ("rust.tid", 4, w.tid.to_string()),
            ("rust.request", 8, w.request.to_string()),
            ("rust.phase", 1, phase.to_string()),
            ("rust.pair", 8, pair_value(w.pair).to_string()),
            ("rust.blob", 12, hex(&w.blob)),
        ];
        for (name, size, value) in expect {
            assert_eq!(
                value_of(record, name),
                Some((size, value)),
                "thread {} TLD {name} in {record}",
                w.tid
            );
        }
    }
}

#[test]
#[ignore = "needs root, BPF and the build tree's TLDCTL and TLD_TEST_PIN_MAP (meson test --suite rust)"]
fn bpf_reads_what_each_rust_thread_wrote_while_a_map_is_registered() {
    setup();
    let pinned = Pinned::new("threads");
    let request: Key<u64> = Key::create("rust.request").unwrap();
    let phase: Key<u8> = Key::create("rust.phase").unwrap();
    let pair: Key<Pair> = Key::create("rust.pair").unwrap();
    let blob: Key<[u8; 12]> = Key::create("rust.blob").unwrap();
    TID.key().unwrap();

    // Threads started after the registration register on their first use.
    let map = Map::open(&pinned.path).unwrap();
    let step = Arc::new(Barrier::new(THREADS + 1));
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let step = step.clone();
            let tx = tx.clone();
            thread::spawn(move || {
                let w = written(i, gettid());
                phase.set(1).unwrap();
                TID.set(w.tid).unwrap();
                request.set(w.request).unwrap();
                pair.set(w.pair).unwrap();
                blob.set(w.blob).unwrap();
                let guard = phase.scoped(w.phase).unwrap();
                tx.send(w).unwrap();
                step.wait(); // 1: written, the guard holds phase 2
                step.wait(); // 2: dumped
                drop(guard); // phase 1 again
                step.wait(); // 3: restored
                step.wait(); // 4: the main thread is done
            })
        })
        .collect();
    let wrote: Vec<Written> = (0..THREADS).map(|_| rx.recv().unwrap()).collect();

    step.wait(); // 1
    check(&dump(&pinned.path), &wrote, 2);
    step.wait(); // 2
    step.wait(); // 3
    check(&dump(&pinned.path), &wrote, 1);

    // Dropping the Map deletes every thread's element: BPF finds none.
    let fd: OwnedFd = map.as_fd().try_clone_to_owned().unwrap();
    drop(map);
    check(&dump(&pinned.path), &[], 1);

    // Registering the map again adds every live thread with its values.
    let map = Map::register(fd.as_fd()).unwrap();
    drop(fd);
    check(&dump(&pinned.path), &wrote, 1);
    map.unregister().unwrap();
    check(&dump(&pinned.path), &[], 1);

    step.wait(); // 4
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
#[ignore = "needs root, BPF and the build tree's TLDCTL and TLD_TEST_PIN_MAP (meson test --suite rust)"]
fn registering_a_map_twice_is_two_registrations_and_the_map_stays_until_both_end() {
    // Registrations are counted: a second Map of the same map is a
    // registration of its own, and ending it leaves the first in place.
    setup();
    let pinned = Pinned::new("twice");
    tld::thread_init().unwrap(); // this thread holds a block
    let first = Map::open(&pinned.path).unwrap();
    let second = Map::register(first.as_fd()).unwrap();
    second.unregister().unwrap();
    let me = gettid();
    let json = dump(&pinned.path);
    assert!(threads_of(&json).iter().any(|t| t.0 == me), "still registered: {json}");
    first.unregister().unwrap();
    let json = dump(&pinned.path);
    assert!(threads_of(&json).is_empty(), "no registration left: {json}");
}

#[test]
#[ignore = "needs root, BPF and the build tree's TLD_TEST_PIN_MAP (meson test --suite rust)"]
fn a_pinned_map_of_another_kind_is_invalid_input() {
    setup();
    let pinned = Pinned::new("other");
    let e = Map::open(&pinned.other).unwrap_err();
    assert_error(e, std::io::ErrorKind::InvalidInput, EINVAL, "open of a map of another kind");
}

extern "C" {
    // Called directly by the test that plays an owner that never registered.
    fn tld_map_unregister(map_fd: c_int) -> c_int;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

#[test]
#[ignore = "needs root, BPF and the build tree's TLD_TEST_PIN_MAP (meson test --suite rust)"]
fn unregistering_a_registration_that_is_gone_already_is_not_found_and_gives_no_map_back() {
    setup();
    let pinned = Pinned::new("gone");
    let map = Map::open(&pinned.path).unwrap();
    // Another owner, which never registered, undoes the Map's registration.
    // Safety: an open descriptor of a BPF map.
    assert_eq!(unsafe { tld_map_unregister(map.as_raw_fd()) }, 0);
    let e = map.unregister().unwrap_err();
    assert_eq!(e.error().raw_os_error(), Some(ENOENT), "{e}");
    // No registration is left for a retry (or a drop) to undo.
    assert!(e.into_map().is_none());
}

// Makes the calls `what` of tests/fault/shim.c fail with `err` (0: no more),
// in a process the shim is preloaded into.
fn fault(what: &str, err: i32) {
    type SetFn = unsafe extern "C" fn(*const c_char, c_int, c_long, c_long, c_ulong) -> c_int;
    // Safety: a NUL-terminated name; RTLD_DEFAULT is a null handle in glibc.
    let sym = unsafe { dlsym(std::ptr::null_mut(), b"tld_fault_set\0".as_ptr().cast()) };
    assert!(!sym.is_null(), "tld_fault_set: the fault shim is not preloaded");
    // Safety: tld_fault_set() has this signature (tests/fault/shim.c).
    let set: SetFn = unsafe { std::mem::transmute::<*mut c_void, SetFn>(sym) };
    let what = CString::new(what).unwrap();
    // Safety: valid arguments; fail every matching call until turned off.
    assert_eq!(unsafe { set(what.as_ptr(), err, 0, -1, 0) }, 0);
}

const RETRY_TEST: &str = "a_failed_unregister_hands_the_map_back_and_a_retry_ends_the_registration";

#[test]
#[ignore = "needs root, BPF and the build tree's TLDCTL, TLD_TEST_PIN_MAP and TLD_TEST_FAULT_SHIM (meson test --suite rust)"]
fn a_failed_unregister_hands_the_map_back_and_a_retry_ends_the_registration() {
    // The test runs again in a child process with the fault shim preloaded,
    // so that only that process's map deletes fail.
    if env::var_os("TLD_TEST_FAULT_CHILD").is_none() {
        let shim = env::var("TLD_TEST_FAULT_SHIM")
            .expect("TLD_TEST_FAULT_SHIM names the build tree's fault shim (tests/fault)");
        let out = Command::new(env::current_exe().unwrap())
            .args(["--exact", RETRY_TEST, "--ignored", "--test-threads=1"])
            .env("LD_PRELOAD", shim)
            .env("TLD_TEST_FAULT_CHILD", "1")
            .output()
            .expect("running the test again");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the test under the fault shim: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    setup();
    let pinned = Pinned::new("retry");
    tld::thread_init().unwrap(); // this thread's element is in every map registered
    let map = Map::open(&pinned.path).unwrap();
    let me = gettid();

    fault("bpf_delete", EBUSY);
    let e = map.unregister().unwrap_err();
    fault("bpf_delete", 0);
    assert_eq!(e.error().raw_os_error(), Some(EBUSY), "{e}");
    let map = e.into_map().expect("the registration stays, so the Map comes back");
    let json = dump(&pinned.path);
    assert!(threads_of(&json).iter().any(|t| t.0 == me), "still registered: {json}");

    map.unregister().unwrap();
    let json = dump(&pinned.path);
    assert!(threads_of(&json).is_empty(), "no registration left: {json}");
}
