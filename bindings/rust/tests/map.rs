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
    let e = Map::open(path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(errno(e), ENOENT);
}

#[test]
fn a_path_outside_bpffs_is_permission_denied() {
    // The kernel answers EACCES for a file that is not a BPF object.
    setup();
    for path in [env!("CARGO_MANIFEST_DIR"), concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")] {
        let e = Map::open(path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{path}: {e}");
        assert_eq!(errno(e), EACCES);
    }
}

#[test]
fn an_empty_path_is_invalid_input() {
    setup();
    let e = Map::open("").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(errno(e), EINVAL);
}

#[test]
fn a_descriptor_that_is_not_a_bpf_map_is_invalid_input() {
    setup();
    let f = File::open("/dev/null").unwrap();
    let e = Map::register(f.as_fd()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(errno(e), EINVAL);
}
