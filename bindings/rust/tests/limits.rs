// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// The process-wide limit on keys. Alone in its process: it uses them all.
mod common;

use common::*;
use tld::Key;

#[test]
fn a_process_publishes_keys_max_tlds_and_then_enospc() {
    setup();
    for i in 0..tld::KEYS_MAX {
        Key::<u8>::create(&format!("limits.{i}")).unwrap_or_else(|e| panic!("key {i}: {e}"));
    }
    let e = Key::<u8>::create("limits.one-too-many").unwrap_err();
    assert_eq!(errno(e), ENOSPC);
    // Finding still works with every slot taken.
    Key::<u8>::find("limits.0").unwrap();
}
