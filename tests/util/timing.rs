//! Time in tests: durations in milliseconds, the on-time check every timer
//! test uses (never early, at most [`LATE`] late), retries for a machine
//! too busy to be on time, CPU time to catch busy loops, and a watchdog
//! that ends a loop which should have been woken.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rvent::{Event, EventBase};

/// How late a timer may fire before a test calls it a failure. Timers must
/// never fire early.
pub const LATE: Duration = Duration::from_millis(50);

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

/// CPU time this thread has used: a loop that spins instead of sleeping
/// in its poll shows up here, not in wall-clock time.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Adds a timer that breaks the loop after `limit`: a wake-up that never
/// comes fails the test instead of hanging it. Returns the timer (free it
/// when done) and the flag it sets when it fires.
pub fn watchdog(base: &mut EventBase, limit: Duration) -> (Event, Rc<Cell<bool>>) {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let ev = Event::timer(base, move |base, _, _, _| {
        f.set(true);
        base.loopbreak();
    })
    .unwrap();
    ev.add(base, Some(limit)).unwrap();
    (ev, fired)
}
