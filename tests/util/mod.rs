//! Helpers shared by the behaviour tests: socket pairs, timing checks and
//! small recorders. Each test binary uses only some of them.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How late a timer may fire before a test calls it a failure. Timers must
/// never fire early.
pub const LATE: Duration = Duration::from_millis(50);

/// A connected, non-blocking `AF_UNIX` stream pair.
pub fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}

/// Milliseconds as a `Duration`.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Asserts `at - start` is `expected`, never less and at most [`LATE`] more.
#[track_caller]
pub fn assert_on_time(start: Instant, at: Instant, expected: Duration, what: &str) {
    let elapsed = at.saturating_duration_since(start);
    assert!(
        at >= start + expected,
        "{what}: fired early, after {elapsed:?} instead of {expected:?}"
    );
    assert!(
        elapsed <= expected + LATE,
        "{what}: fired late, after {elapsed:?} instead of {expected:?}"
    );
}

/// A shared counter a callback can bump.
#[derive(Clone, Default)]
pub struct Counter(Rc<Cell<usize>>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }
    pub fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
    pub fn get(&self) -> usize {
        self.0.get()
    }
}

/// A shared, append-only record of what callbacks saw.
#[derive(Debug)]
pub struct Log<T>(Rc<RefCell<Vec<T>>>);

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(self.0.clone())
    }
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Rc::new(RefCell::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    pub fn new() -> Log<T> {
        Log::default()
    }
    pub fn push(&self, v: T) {
        self.0.borrow_mut().push(v);
    }
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
    pub fn get(&self) -> Vec<T> {
        self.0.borrow().clone()
    }
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// A token whose strong count tells whether a callback that captured a
/// clone was dropped.
#[derive(Clone, Default)]
pub struct DropProbe(Rc<()>);

impl DropProbe {
    pub fn new() -> DropProbe {
        DropProbe::default()
    }
    /// Clones held elsewhere (callbacks not yet dropped).
    pub fn held(&self) -> usize {
        Rc::strong_count(&self.0) - 1
    }
}

/// Runs a timing-sensitive test body up to three times, like libevent's
/// `TT_RETRIABLE`: a machine busy enough to make one run late gets another
/// try, while a real bug fails every run (the last failure is reported).
pub fn retry_timing(test: impl Fn()) {
    const TRIES: u32 = 3;
    for attempt in 1..=TRIES {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&test)) {
            Ok(()) => return,
            Err(e) if attempt == TRIES => std::panic::resume_unwind(e),
            Err(_) => eprintln!("timing-sensitive test failed on try {attempt}; retrying"),
        }
    }
}
