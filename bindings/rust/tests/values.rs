// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Each thread's values: independence, the scope guard, types.
mod common;

use common::*;
use std::panic;
use std::ptr;
use std::sync::{Arc, Barrier};
use std::thread;
use tld::{Key, Pod};

#[test]
fn every_thread_has_its_own_value_starting_at_zero() {
    setup();
    const N: usize = 8;
    let key: Key<u64> = Key::create("values.per-thread").unwrap();
    key.set(7).unwrap();
    let written = Arc::new(Barrier::new(N));
    let threads: Vec<_> = (0..N as u64)
        .map(|i| {
            let written = written.clone();
            thread::spawn(move || {
                let fresh = key.get().unwrap();
                key.set(1000 + i).unwrap();
                // Every thread has written before any reads back.
                written.wait();
                (fresh, key.get().unwrap())
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), (0, 1000 + i as u64), "thread {i}");
    }
    assert_eq!(key.get().unwrap(), 7);
}

#[test]
fn replace_returns_the_value_it_replaces() {
    setup();
    let key: Key<i32> = Key::create("values.replace").unwrap();
    assert_eq!(key.replace(-5).unwrap(), 0);
    assert_eq!(key.replace(6).unwrap(), -5);
    assert_eq!(key.get().unwrap(), 6);
}

#[test]
fn a_scope_guard_restores_the_previous_value_and_guards_nest() {
    setup();
    let key: Key<u32> = Key::create("values.scoped").unwrap();
    key.set(1).unwrap();
    {
        let outer = key.scoped(2).unwrap();
        assert_eq!(outer.previous(), 1);
        assert_eq!(key.get().unwrap(), 2);
        {
            let inner = key.scoped(3).unwrap();
            assert_eq!(inner.previous(), 2);
            assert_eq!(key.get().unwrap(), 3);
        }
        assert_eq!(key.get().unwrap(), 2);
    }
    assert_eq!(key.get().unwrap(), 1);
}

#[test]
fn a_scope_guard_restores_the_value_when_a_panic_unwinds() {
    setup();
    let key: Key<u32> = Key::create("values.unwind").unwrap();
    key.set(10).unwrap();
    let r = panic::catch_unwind(|| {
        let _g = key.scoped(20).unwrap();
        assert_eq!(key.get().unwrap(), 20);
        panic!("unwinding through the guard");
    });
    assert!(r.is_err());
    assert_eq!(key.get().unwrap(), 10);
}

#[test]
fn a_scope_guard_only_touches_its_own_thread() {
    setup();
    let key: Key<u32> = Key::create("values.scoped-threads").unwrap();
    let inside = Arc::new(Barrier::new(2));
    let g = key.scoped(5).unwrap();
    let other = {
        let inside = inside.clone();
        thread::spawn(move || {
            let before = key.get().unwrap();
            let _g = key.scoped(50).unwrap();
            inside.wait(); // both threads are inside their scopes
            inside.wait(); // the main thread has checked its value
            (before, key.get().unwrap())
        })
    };
    inside.wait();
    assert_eq!(key.get().unwrap(), 5);
    inside.wait();
    assert_eq!(other.join().unwrap(), (0, 50));
    drop(g);
    assert_eq!(key.get().unwrap(), 0);
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hint {
    id: u32,
    class: u16,
    level: u8,
    flags: u8,
    weight: f64,
}
// Safety: repr(C), every field Pod, no padding (4 + 2 + 1 + 1 + 8 bytes).
unsafe impl Pod for Hint {}

#[test]
fn structs_arrays_and_floats_round_trip() {
    setup();
    let hint: Key<Hint> = Key::create("values.hint").unwrap();
    let h = Hint { id: 42, class: 3, level: 2, flags: 0x81, weight: 0.25 };
    hint.set(h).unwrap();
    assert_eq!(hint.get().unwrap(), h);
    let blob: Key<[u8; 12]> = Key::create("values.blob").unwrap();
    blob.set(*b"hello, bpf!\0").unwrap();
    assert_eq!(&blob.get().unwrap(), b"hello, bpf!\0");
    let words: Key<[i16; 3]> = Key::create("values.words").unwrap();
    words.set([-1, 0, i16::MAX]).unwrap();
    assert_eq!(words.get().unwrap(), [-1, 0, i16::MAX]);
    let f: Key<f32> = Key::create("values.float").unwrap();
    f.set(-1.5).unwrap();
    assert_eq!(f.get().unwrap(), -1.5);
}

#[test]
fn the_raw_pointer_is_8_byte_aligned_and_reaches_the_value() {
    setup();
    let key: Key<u16> = Key::create("values.pointer").unwrap();
    let p = key.as_ptr().unwrap();
    assert_eq!(p.as_ptr() as usize % tld::MAX_ALIGN, 0);
    assert_eq!(key.as_ptr().unwrap(), p, "the same thread gets the same address");
    // Safety: this thread's TLD, aligned, used by this thread only.
    unsafe { ptr::write_volatile(p.as_ptr(), 0xbeef) };
    assert_eq!(key.get().unwrap(), 0xbeef);
    let elsewhere = thread::spawn(move || key.as_ptr().unwrap().as_ptr() as usize).join().unwrap();
    assert_ne!(elsewhere, p.as_ptr() as usize, "another thread has another copy");
}

#[test]
fn thread_init_takes_the_block_and_free_thread_gives_a_fresh_one() {
    setup();
    let key: Key<u64> = Key::create("values.free").unwrap();
    thread::spawn(move || {
        tld::thread_init().unwrap();
        tld::thread_init().unwrap(); // again: nothing to retry
        key.set(77).unwrap();
        tld::free_thread();
        assert_eq!(key.get().unwrap(), 0, "a fresh block starts zero-filled");
        key.set(78).unwrap();
        {
            let _g = key.scoped(79).unwrap();
            tld::free_thread();
        }
        // The guard restored its value into the block taken after the free.
        assert_eq!(key.get().unwrap(), 78);
        tld::free_thread();
        tld::free_thread(); // no block: nothing to do
    })
    .join()
    .unwrap();
}
