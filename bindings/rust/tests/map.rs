// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// What Map refuses (real maps, and maps of other kinds: tests/bpf.rs).
mod common;

use common::*;
use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::AsFd;
use tld::Map;

#[test]
fn a_path_with_nothing_pinned_is_not_found() {
    setup();
    let path = format!("/sys/fs/bpf/tld-test-rust-missing-{}", std::process::id());
    assert_error(Map::open(&path).unwrap_err(), ErrorKind::NotFound, ENOENT, &path);
}

#[test]
fn a_path_outside_bpffs_is_permission_denied() {
    // The kernel answers EACCES for a file that is not a BPF object.
    setup();
    for path in [env!("CARGO_MANIFEST_DIR"), concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")] {
        assert_error(Map::open(path).unwrap_err(), ErrorKind::PermissionDenied, EACCES, path);
    }
}

#[test]
fn an_empty_path_is_invalid_input() {
    setup();
    assert_error(Map::open("").unwrap_err(), ErrorKind::InvalidInput, EINVAL, "open(\"\")");
}

#[test]
fn a_path_with_a_nul_byte_is_invalid_input() {
    setup();
    let e = Map::open("/sys/fs/bpf/a\0b").unwrap_err();
    assert_error(e, ErrorKind::InvalidInput, EINVAL, "open of a path with a NUL byte");
}

#[test]
fn a_descriptor_that_is_not_a_bpf_map_is_invalid_input() {
    setup();
    let f = File::open("/dev/null").unwrap();
    let e = Map::register(f.as_fd()).unwrap_err();
    assert_error(e, ErrorKind::InvalidInput, EINVAL, "register(/dev/null)");
}
