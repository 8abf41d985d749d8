// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Creating, finding and statically defining keys, and their errors.
mod common;

use common::*;
use std::io::ErrorKind;
use std::sync::{Arc, Barrier};
use std::thread;
use tld::{Key, StaticKey};

#[test]
fn a_created_key_is_found_by_name_and_both_reach_one_value() {
    setup();
    let made: Key<u64> = Key::create("keys.shared").unwrap();
    let found: Key<u64> = Key::find("keys.shared").unwrap();
    assert_eq!(made, found);
    made.set(0x0123_4567_89ab_cdef).unwrap();
    assert_eq!(found.get().unwrap(), 0x0123_4567_89ab_cdef);
}

#[test]
fn an_empty_name_is_einval() {
    setup();
    assert_error(Key::<u32>::create("").unwrap_err(), ErrorKind::InvalidInput, EINVAL, "create(\"\")");
    assert_eq!(errno(Key::<u32>::find("").unwrap_err()), EINVAL);
}

#[test]
fn a_name_of_name_max_bytes_is_taken_and_one_byte_more_is_einval() {
    setup();
    let longest = format!("keys.{}", "n".repeat(tld::NAME_MAX - 5));
    assert_eq!(longest.len(), 61);
    Key::<u16>::create(&longest).unwrap();
    let too_long = format!("keys.{}", "m".repeat(tld::NAME_MAX - 4));
    assert_eq!(too_long.len(), 62);
    assert_eq!(errno(Key::<u16>::create(&too_long).unwrap_err()), EINVAL);
    assert_eq!(errno(Key::<u16>::find(&too_long).unwrap_err()), EINVAL);
}

#[test]
fn a_nul_byte_in_a_name_is_einval() {
    setup();
    assert_eq!(errno(Key::<u32>::create("keys.nul\0tail").unwrap_err()), EINVAL);
    // Nothing was published under the name before the NUL.
    assert_eq!(errno(Key::<u32>::find("keys.nul").unwrap_err()), ENOENT);
    assert_eq!(errno(Key::<u32>::find("keys.nul\0tail").unwrap_err()), EINVAL);
}

#[test]
fn a_second_key_of_the_same_name_is_eexist() {
    setup();
    Key::<u32>::create("keys.twice").unwrap();
    let e = Key::<u32>::create("keys.twice").unwrap_err();
    assert_error(e, ErrorKind::AlreadyExists, EEXIST, "the second create");
    // Another size does not make it another TLD.
    assert_eq!(errno(Key::<u64>::create("keys.twice").unwrap_err()), EEXIST);
}

#[test]
fn finding_with_another_size_is_einval_and_an_unknown_name_enoent() {
    setup();
    Key::<u32>::create("keys.sized").unwrap();
    assert_eq!(errno(Key::<u64>::find("keys.sized").unwrap_err()), EINVAL);
    assert_eq!(errno(Key::<[u8; 3]>::find("keys.sized").unwrap_err()), EINVAL);
    // Same size, another type: allowed, the bytes are shared.
    let bytes: Key<[u8; 4]> = Key::find("keys.sized").unwrap();
    bytes.set([1, 2, 3, 4]).unwrap();
    assert_eq!(Key::<u32>::find("keys.sized").unwrap().get().unwrap(), u32::from_ne_bytes([1, 2, 3, 4]));
    let e = Key::<u32>::find("keys.never-published").unwrap_err();
    assert_error(e, ErrorKind::NotFound, ENOENT, "find of a name never published");
}

static RACED: StaticKey<u64> = StaticKey::new("keys.static");

#[test]
fn a_static_key_is_created_once_by_whichever_thread_comes_first() {
    setup();
    const N: usize = 8;
    let start = Arc::new(Barrier::new(N));
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                let key = RACED.key().unwrap();
                RACED.set(100 + i as u64).unwrap();
                (key, RACED.get().unwrap())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (i, (key, value)) in results.iter().enumerate() {
        assert_eq!(*key, results[0].0);
        assert_eq!(*value, 100 + i as u64);
    }
    assert_eq!(Key::<u64>::find("keys.static").unwrap(), results[0].0);
    assert_eq!(RACED.name(), "keys.static");
}

static BROKEN: StaticKey<u32> = StaticKey::new("");

#[test]
fn a_static_key_that_failed_keeps_its_error() {
    setup();
    assert_eq!(errno(BROKEN.key().unwrap_err()), EINVAL);
    assert_eq!(errno(BROKEN.get().unwrap_err()), EINVAL);
    assert_eq!(errno(BROKEN.set(1).unwrap_err()), EINVAL);
    assert_eq!(errno(BROKEN.scoped(1).unwrap_err()), EINVAL);
}

#[test]
fn a_key_larger_than_the_reserve_after_blocks_exist_is_e2big() {
    setup();
    tld::thread_init().unwrap();
    // This thread holds a block: a new key must fit in the reserve.
    let e = Key::<[u8; 2 * RESERVE]>::create("keys.too-big-now").unwrap_err();
    assert_eq!(errno(e), E2BIG);
    // A small one still fits, and starts zero-filled.
    let late: Key<u64> = Key::create("keys.late").unwrap();
    assert_eq!(late.get().unwrap(), 0);
    late.set(9).unwrap();
    assert_eq!(late.get().unwrap(), 9);
}

#[test]
fn the_reserve_cannot_change_once_a_thread_holds_a_block() {
    setup();
    tld::thread_init().unwrap();
    assert_eq!(errno(tld::set_dyn_data_size(2 * RESERVE).unwrap_err()), EBUSY);
}
