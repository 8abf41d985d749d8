// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// The C ABI of <tld/tld.h> that the crate calls, declared by hand (the
// crate needs no binding generator): functions of the TLD_1.0 to TLD_1.2
// version nodes of libtld.so.1.  Every function reports errors as described in
// tld.h: an int holds a negative errno, a NULL pointer leaves it in errno,
// a tld_key_t with a negative offset holds one.

use std::ffi::{c_char, c_int, c_void};

/// `tld_key_t`: the offset of a TLD in every thread's data area, or a
/// negative errno.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct tld_key_t {
    pub off: i16,
}

extern "C" {
    pub fn tld_create_key(name: *const c_char, size: usize) -> tld_key_t;
    pub fn tld_find_key(name: *const c_char, size: usize) -> tld_key_t;
    // The exported function, not the header's inline fast path.
    pub fn tld_data(key: tld_key_t) -> *mut c_void;
    pub fn tld_free();
    pub fn tld_thread_init() -> c_int;
    pub fn tld_map_register(map_fd: c_int) -> c_int;
    pub fn tld_map_unregister(map_fd: c_int) -> c_int;
    pub fn tld_map_open(pin_path: *const c_char) -> c_int;
    pub fn tld_map_unregister_path(pin_path: *const c_char) -> c_int;
    pub fn tld_set_dyn_data_size(size: usize) -> c_int;
    pub fn tld_set_print(print: Option<tld_print_fn>) -> Option<tld_print_fn>;
}

/// `tld_print_fn`: receives one diagnostic, a NUL-terminated line.
#[allow(non_camel_case_types)]
pub type tld_print_fn = unsafe extern "C" fn(message: *const c_char);

// errno values of Linux (the same on every architecture libtld runs on)
// that the crate produces itself or tells apart.
pub const ENOENT: i32 = 2;
pub const EINVAL: i32 = 22;
