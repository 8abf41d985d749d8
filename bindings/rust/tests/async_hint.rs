// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// Async code and the threads that poll it: a value belongs to the thread,
// so a task polled on another thread sees that thread's value, unless the
// task sets it again on every poll, as the README's WithHint does.
mod common;

use common::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use tld::StaticKey;

static REQUEST_ID: StaticKey<u64> = StaticKey::new("async.request_id");

/// The README's wrapper: the task's hint for the length of each poll, on
/// the thread that polls; the scope guard never lives across an `.await`.
struct WithHint<F> {
    id: u64,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for WithHint<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _hint = REQUEST_ID.scoped(self.id).ok();
        self.inner.as_mut().poll(cx)
    }
}

/// Pending once, then ready: an `.await` after which another thread may
/// poll the task.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

struct NoWake;
impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// A task that records the hint it sees before each of its `.await`s and
/// at its end.
fn task(seen: Arc<Mutex<Vec<u64>>>, steps: usize) -> impl Future<Output = ()> + Send {
    async move {
        for _ in 0..steps {
            seen.lock().unwrap().push(REQUEST_ID.get().unwrap());
            YieldOnce(false).await;
        }
        seen.lock().unwrap().push(REQUEST_ID.get().unwrap());
    }
}

/// Polls `fut` once on a new thread whose own value is `own`; returns
/// whether it completed and the thread's value after the poll.
fn poll_on_thread<F: Future + Send + Unpin + 'static>(mut fut: F, own: u64) -> (F, bool, u64) {
    thread::spawn(move || {
        REQUEST_ID.set(own).unwrap();
        let waker = Waker::from(Arc::new(NoWake));
        let done = Pin::new(&mut fut).poll(&mut Context::from_waker(&waker)).is_ready();
        (fut, done, REQUEST_ID.get().unwrap())
    })
    .join()
    .unwrap()
}

#[test]
fn a_task_that_sets_its_hint_on_every_poll_sees_it_on_every_thread() {
    setup();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut fut = WithHint { id: 42, inner: Box::pin(task(seen.clone(), 2)) };
    let mut after = Vec::new();
    for own in [100, 101, 102] {
        let (f, done, value) = poll_on_thread(fut, own);
        fut = f;
        after.push(value);
        assert_eq!(done, own == 102, "poll on the thread of value {own}");
    }
    assert_eq!(*seen.lock().unwrap(), [42, 42, 42]);
    // Each thread has its own value back once the poll returned.
    assert_eq!(after, [100, 101, 102]);
}

#[test]
fn a_task_polled_on_another_thread_sees_that_threads_hint() {
    setup();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fut = Box::pin(task(seen.clone(), 1));
    let (fut, done, _) = poll_on_thread(fut, 42);
    assert!(!done);
    let (_, done, _) = poll_on_thread(fut, 7);
    assert!(done);
    // The 42 stayed with the first thread.
    assert_eq!(*seen.lock().unwrap(), [42, 7]);
}
