// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

//! Threads publishing task local data from Rust.
//!
//! ```text
//! cargo run --offline --example hello [-- --map /sys/fs/bpf/PIN [--wait]]
//! ```
//!
//! Four threads each set a priority (a static key) and, for the length of
//! a scope, a request id (a key created at run time), and print what they
//! wrote beside what they read back. With `--map`, the process registers
//! the task storage map pinned there, so that BPF programs read the same
//! values; with `--wait` as well, the threads stay inside their scopes
//! until standard input closes, so that, from another shell,
//! `tldctl dump --pid PID --map PIN` shows every thread's TLDs.
//! Exits 1 when a value read back differs from what was written.

use std::io::{self, Read};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use tld::{Key, Map, Scoped, StaticKey};

static PRIORITY: StaticKey<u32> = StaticKey::new("hello.rust.priority");

const THREADS: u32 = 4;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The pin to register, and whether to wait.
    let map = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => None,
        ["--map", pin] => Some((pin, false)),
        ["--map", pin, "--wait"] => Some((pin, true)),
        _ => {
            eprintln!("usage: hello [--map PIN_PATH [--wait]]");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(map) {
        eprintln!("hello: {e}");
        std::process::exit(1);
    }
}

// A thread's work: set its priority and, until the guard is dropped, its
// request id; returns the guard and the two values read back.
fn work(priority: u32, id: u64, request_id: Key<u64>) -> io::Result<(Scoped<u64>, u32, u64)> {
    PRIORITY.set(priority)?;
    let guard = request_id.scoped(id)?;
    Ok((guard, PRIORITY.get()?, request_id.get()?))
}

fn run(map: Option<(&str, bool)>) -> io::Result<()> {
    // Create the keys before any thread uses a TLD, so that they are sized
    // into every thread's block.
    PRIORITY.key()?;
    let request_id: Key<u64> = Key::create("hello.rust.request_id")?;
    // The registration lasts as long as `_map`.
    let _map = map.map(|(pin, _)| Map::open(pin)).transpose()?;

    let out = Arc::new(Mutex::new(true));
    let inside = Arc::new(Barrier::new(THREADS as usize + 1));
    let leave = Arc::new(Barrier::new(THREADS as usize + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (out, inside, leave) = (out.clone(), inside.clone(), leave.clone());
            thread::spawn(move || {
                let (priority, id) = (10 + t, 1000 + u64::from(t));
                let (guard, ok) = match work(priority, id, request_id) {
                    Ok((guard, p, i)) => {
                        let ok = p == priority && i == id;
                        println!(
                            "thread {t}: wrote priority {priority} and request_id {id}, \
                             read back {p} and {i}{}",
                            if ok { "" } else { "  MISMATCH" }
                        );
                        (Some(guard), ok)
                    }
                    Err(e) => {
                        println!("thread {t}: {e}");
                        (None, false)
                    }
                };
                *out.lock().unwrap() &= ok;
                inside.wait();
                leave.wait();
                drop(guard);
                // The guard restored the request id.
                *out.lock().unwrap() &= request_id.get().is_ok_and(|i| i == 0);
            })
        })
        .collect();

    inside.wait();
    if let Some((pin, true)) = map {
        let pid = std::process::id();
        println!(
            "pid {pid}: every thread is inside its scope; run `tldctl dump --pid {pid} --map {pin}`, \
             then close standard input (Ctrl-D)"
        );
        io::stdin().read_to_end(&mut Vec::new())?;
    }
    leave.wait();
    for t in threads {
        t.join().expect("a thread panicked");
    }
    if *out.lock().unwrap() {
        println!("every value matched");
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::Other, "a value read back differs from what was written"))
    }
}
