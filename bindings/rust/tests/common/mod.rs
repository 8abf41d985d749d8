// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Shared by the integration tests. Each test file is one process, and its
// tests run in parallel threads, so keys get created after other threads
// already hold blocks: every test calls setup() first, which raises the
// dynamic reserve before any thread takes a block.
#![allow(dead_code)]

use std::sync::Once;

// errno values of Linux that the tests expect.
pub const ENOENT: i32 = 2;
pub const E2BIG: i32 = 7;
pub const EACCES: i32 = 13;
pub const EBUSY: i32 = 16;
pub const EEXIST: i32 = 17;
pub const EINVAL: i32 = 22;
pub const ENOSPC: i32 = 28;

/// The dynamic reserve every test process runs with.
pub const RESERVE: usize = 1024;

pub fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| tld::set_dyn_data_size(RESERVE).expect("set_dyn_data_size before any block"));
}

/// The errno held by an error, for assertions.
pub fn errno(e: std::io::Error) -> i32 {
    e.raw_os_error().expect("an error from libtld carries an errno")
}

/// Asserts that `e` is of `kind` and carries the errno `no`; `what` names
/// the call in the messages.
#[track_caller]
pub fn assert_error(e: std::io::Error, kind: std::io::ErrorKind, no: i32, what: &str) {
    assert_eq!(e.kind(), kind, "{what}: {e}");
    assert_eq!(errno(e), no, "{what}");
}
