// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// set_print(): diagnostics reach the Rust function, and stop when it is
// taken away.  One test in its own process: the print function is the
// process's.
mod common;

use common::*;
use std::sync::Mutex;
use tld::Map;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(line: &str) {
    LINES.lock().unwrap().push(line.to_owned());
}

fn missing(tag: &str) -> String {
    format!("/sys/fs/bpf/tld-test-rust-print-{tag}-{}", std::process::id())
}

#[test]
fn diagnostics_reach_the_print_function_until_it_is_removed() {
    setup();
    assert!(tld::set_print(Some(record)).is_none());
    let first = missing("a");
    assert_eq!(errno(Map::open(&first).unwrap_err()), ENOENT);
    let lines = LINES.lock().unwrap().clone();
    assert_eq!(lines, vec![format!("libtld: {first}: no such pin")]);

    let old = tld::set_print(None).expect("the function set before");
    assert_eq!(old as usize, record as fn(&str) as usize);
    assert_eq!(errno(Map::open(missing("b")).unwrap_err()), ENOENT);
    assert_eq!(LINES.lock().unwrap().len(), 1, "said after set_print(None)");
}
