//! Signal events (libevent's `signal/` group) and `reinit` after `fork`
//! (`main/fork`): delivery, coalescing, handler restore, the one-base-at-a-time
//! rule, and events that keep firing in both processes after a fork.
//!
//! Signals are process-global, so this is a `harness = false` binary whose
//! libtest-mimic `main` runs every test serially on the main thread (the
//! process stays single-threaded, which also makes `fork` safe).

mod util;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rvent::{Error, Ev, Event, EventBase, LoopFlags, LoopStatus};
use util::{TestResult, check, pair, run_serially, trials, watchdog};

fn main() {
    run_serially(trials![
        simple_signal,
        simple_signal_re_order,
        signal_during_blocking_poll,
        multiplesignal,
        immediatesignal,
        signal_restore,
        signal_restore_ignored,
        signal_restore_on_base_drop,
        signal_handler_shared_by_two_bases,
        signal_while_processing,
        signal_timeout,
        signal_free_in_callback,
        signal_del_in_callback,
        oneshot_signal_coalesced_runs_per_delivery,
        signal_switchbase,
        active_by_signal,
        invalid_signal_numbers,
        uncatchable_signal_add_fails,
        fork_reinit,
        fork_reinit_with_a_closed_fd,
    ]);
}

// ---------------------------------------------------------------------------
// Helpers

fn raise(sig: i32) {
    // SAFETY: raise(3) takes no pointers. Every caller has an rvent or test
    // handler (or SIG_IGN) installed for `sig`, so it never kills us.
    let rc = unsafe { libc::raise(sig) };
    assert_eq!(rc, 0, "raise({sig}) failed");
}

/// The current disposition of `sig` (`sa_sigaction` of a `sigaction` query).
fn disposition(sig: i32) -> libc::sighandler_t {
    // SAFETY: an all-zero sigaction is a valid value for the kernel to fill.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is a valid out pointer.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0, "sigaction query of {sig} failed");
    old.sa_sigaction
}

/// Installs `handler` for `sig` and returns the previous action.
fn set_disposition(sig: i32, handler: libc::sighandler_t) -> libc::sigaction {
    // SAFETY: an all-zero sigaction means no flags and an empty mask.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid sigaction structs.
    let rc = unsafe { libc::sigaction(sig, &sa, &mut old) };
    assert_eq!(rc, 0, "sigaction({sig}) failed");
    old
}

/// Runs `body` with `handler` installed for `sig`, then puts the previous
/// action back (also when `body` fails).
fn with_disposition(
    sig: i32,
    handler: libc::sighandler_t,
    body: impl FnOnce() -> TestResult,
) -> TestResult {
    let old = set_disposition(sig, handler);
    let r = body();
    // SAFETY: `old` came from a successful sigaction call.
    unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
    r
}

static TEST_HANDLER_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn test_handler(_sig: libc::c_int) {
    TEST_HANDLER_CALLS.fetch_add(1, Ordering::SeqCst);
}

fn test_handler_addr() -> libc::sighandler_t {
    test_handler as *const () as libc::sighandler_t
}

/// What a signal callback saw.
#[derive(Default)]
struct Seen {
    calls: Cell<u32>,
    fd: Cell<i32>,
    what: Cell<Ev>,
}

impl Seen {
    fn record(&self, fd: i32, what: Ev) {
        self.calls.set(self.calls.get() + 1);
        self.fd.set(fd);
        self.what.set(what);
    }
}

/// A signal event (persistent unless `what` says otherwise) recording into
/// a fresh `Seen`.
fn recording_event(base: &mut EventBase, sig: i32, what: Ev) -> (Event, Rc<Seen>) {
    let seen = Rc::new(Seen::default());
    let s = seen.clone();
    let ev = Event::new(base, sig, what, move |_, _, fd, what| s.record(fd, what)).unwrap();
    (ev, seen)
}

/// Runs `base` with `ONCE` until `done()` holds, for at most `limit`.
/// Returns false if the limit hit first.
fn run_until(base: &mut EventBase, limit: Duration, done: impl Fn() -> bool) -> bool {
    let (dog, expired) = watchdog(base, limit);
    while !done() && !expired.get() {
        base.run(LoopFlags::ONCE).unwrap();
    }
    dog.free(base).unwrap();
    done()
}

// ---------------------------------------------------------------------------
// signal/

/// `signal/simple_signal`: a raised signal reaches the event callback with
/// `Ev::SIGNAL` and the signal number as the fd, not the default action.
fn simple_signal() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    ev.add(&mut base, None)?;
    check(
        ev.pending(&base, Ev::SIGNAL)?.0 == Ev::SIGNAL,
        "signal event not pending",
    )?;
    raise(libc::SIGUSR1);
    check(
        run_until(&mut base, Duration::from_secs(1), || seen.calls.get() == 1),
        "signal never delivered",
    )?;
    assert_eq!(seen.fd.get(), libc::SIGUSR1);
    assert_eq!(seen.what.get(), Ev::SIGNAL);
    // Persistent: still pending, and a second signal is a second call.
    check(
        ev.pending(&base, Ev::SIGNAL)?.0 == Ev::SIGNAL,
        "persistent signal event lost",
    )?;
    raise(libc::SIGUSR1);
    check(
        run_until(&mut base, Duration::from_secs(1), || seen.calls.get() == 2),
        "second signal lost",
    )?;
    ev.del(&mut base)?;
    assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::NoEvents);
    assert_eq!(seen.calls.get(), 2);
    Ok(())
}

/// `signal/simple_signal_re_order`: del then add again re-installs the
/// handler; the re-added event gets the next signal.
fn simple_signal_re_order() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    ev.add(&mut base, None)?;
    ev.del(&mut base)?;
    ev.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!(seen.calls.get(), 1);
    assert_eq!(seen.fd.get(), libc::SIGUSR1);
    ev.free(&mut base)?;
    Ok(())
}

/// libevent's simple_signal uses `setitimer`: SIGALRM arrives while the loop
/// is blocked in `epoll_wait` (EINTR) and is still delivered.
fn signal_during_blocking_poll() -> TestResult {
    let mut base = EventBase::new()?;
    let seen = Rc::new(Seen::default());
    let s = seen.clone();
    let ev = Event::signal(&mut base, libc::SIGALRM, move |base, ev, fd, what| {
        s.record(fd, what);
        ev.del(base).unwrap();
    })?;
    ev.add(&mut base, None)?;
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: 5_000,
        },
    };
    // SAFETY: `timer` is a valid itimerval; the old value is not wanted.
    let rc = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    assert_eq!(rc, 0);
    let start = Instant::now();
    // The only pending event is the signal event: dispatch blocks in the
    // poll until SIGALRM, and returns once the callback deletes it.
    let ok = run_until(&mut base, Duration::from_secs(1), || seen.calls.get() == 1);
    check(ok, "SIGALRM never delivered")?;
    assert_eq!(seen.fd.get(), libc::SIGALRM);
    assert_eq!(seen.what.get(), Ev::SIGNAL);
    check(
        start.elapsed() >= Duration::from_millis(4),
        "callback ran before the alarm",
    )?;
    assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::NoEvents);
    Ok(())
}

/// `signal/multiplesignal`: two events on one signal both fire, once each.
fn multiplesignal() -> TestResult {
    let before = disposition(libc::SIGUSR1);
    let mut base = EventBase::new()?;
    let (ev1, seen1) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    let (ev2, seen2) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    ev1.add(&mut base, None)?;
    ev2.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!((seen1.calls.get(), seen2.calls.get()), (1, 1));
    // Deleting one leaves the other (and the handler) in place.
    ev1.del(&mut base)?;
    check(
        disposition(libc::SIGUSR1) != before,
        "handler removed while an event remains",
    )?;
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!((seen1.calls.get(), seen2.calls.get()), (1, 2));
    ev2.del(&mut base)?;
    Ok(())
}

/// `signal/immediatesignal`: a signal raised before the loop runs waits in
/// the pipe and is seen by a `NONBLOCK` pass.
fn immediatesignal() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL);
    ev.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    // After the callback nothing is left, so the pass ends like
    // libevent's (`event_base_loop` returns 1).
    assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::NoEvents);
    assert_eq!(seen.calls.get(), 1);
    assert_eq!(seen.what.get(), Ev::SIGNAL);
    // Not persistent: gone after one delivery.
    check(
        ev.pending(&base, Ev::SIGNAL)?.0.is_empty(),
        "one-shot signal event still pending",
    )?;
    assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::NoEvents);
    Ok(())
}

/// `signal/signal_restore`: while an event watches the signal, a previous
/// custom handler is replaced; once the last event is deleted it is back
/// and gets the signal again.
fn signal_restore() -> TestResult {
    with_disposition(libc::SIGUSR1, test_handler_addr(), || {
        TEST_HANDLER_CALLS.store(0, Ordering::SeqCst);
        raise(libc::SIGUSR1);
        assert_eq!(
            TEST_HANDLER_CALLS.load(Ordering::SeqCst),
            1,
            "test handler not installed"
        );

        let mut base = EventBase::new()?;
        let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
        ev.add(&mut base, None)?;
        check(
            disposition(libc::SIGUSR1) != test_handler_addr(),
            "rvent's handler not installed",
        )?;
        raise(libc::SIGUSR1);
        base.run(LoopFlags::NONBLOCK)?;
        assert_eq!(seen.calls.get(), 1);
        assert_eq!(
            TEST_HANDLER_CALLS.load(Ordering::SeqCst),
            1,
            "old handler ran while replaced"
        );

        ev.del(&mut base)?;
        check(
            disposition(libc::SIGUSR1) == test_handler_addr(),
            "old handler not restored by del",
        )?;
        raise(libc::SIGUSR1);
        assert_eq!(
            TEST_HANDLER_CALLS.load(Ordering::SeqCst),
            2,
            "restored handler not called"
        );
        base.run(LoopFlags::NONBLOCK)?;
        assert_eq!(seen.calls.get(), 1, "deleted event still got the signal");
        Ok(())
    })
}

/// `signal/signal_assert`: an ignored signal is ignored again afterwards.
fn signal_restore_ignored() -> TestResult {
    with_disposition(libc::SIGUSR2, libc::SIG_IGN, || {
        let mut base = EventBase::new()?;
        let (ev, seen) = recording_event(&mut base, libc::SIGUSR2, Ev::SIGNAL | Ev::PERSIST);
        ev.add(&mut base, None)?;
        raise(libc::SIGUSR2);
        base.run(LoopFlags::NONBLOCK)?;
        assert_eq!(
            seen.calls.get(),
            1,
            "an ignored signal is caught while watched"
        );
        ev.free(&mut base)?;
        check(
            disposition(libc::SIGUSR2) == libc::SIG_IGN,
            "SIG_IGN not restored",
        )?;
        Ok(())
    })
}

/// Dropping a base with signal events still added restores the handler.
fn signal_restore_on_base_drop() -> TestResult {
    with_disposition(libc::SIGUSR1, test_handler_addr(), || {
        let mut base = EventBase::new()?;
        let (ev, _seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
        ev.add(&mut base, None)?;
        check(
            disposition(libc::SIGUSR1) != test_handler_addr(),
            "rvent's handler not installed",
        )?;
        drop(base);
        check(
            disposition(libc::SIGUSR1) == test_handler_addr(),
            "handler not restored on drop",
        )?;
        Ok(())
    })
}

/// The saved handler is process-wide: it comes back only when the last
/// event in *any* base lets go of the signal.
fn signal_handler_shared_by_two_bases() -> TestResult {
    with_disposition(libc::SIGUSR1, test_handler_addr(), || {
        let mut base1 = EventBase::new()?;
        let mut base2 = EventBase::new()?;
        let (ev1, _) = recording_event(&mut base1, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
        let (ev2, seen2) = recording_event(&mut base2, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
        ev1.add(&mut base1, None)?;
        ev2.add(&mut base2, None)?;
        ev1.del(&mut base1)?;
        check(
            disposition(libc::SIGUSR1) != test_handler_addr(),
            "restored while base2 still watches",
        )?;
        raise(libc::SIGUSR1);
        base2.run(LoopFlags::NONBLOCK)?;
        assert_eq!(seen2.calls.get(), 1);
        ev2.del(&mut base2)?;
        check(
            disposition(libc::SIGUSR1) == test_handler_addr(),
            "not restored after the last del",
        )?;
        Ok(())
    })
}

/// `signal/signal_while_processing`: a signal raised from its own callback
/// is delivered again, for 5 rounds.
fn signal_while_processing() -> TestResult {
    let mut base = EventBase::new()?;
    let calls = Rc::new(Cell::new(0u32));
    let c = calls.clone();
    let ev = Event::signal(&mut base, libc::SIGUSR1, move |base, ev, _, what| {
        assert_eq!(what, Ev::SIGNAL);
        c.set(c.get() + 1);
        if c.get() < 5 {
            raise(libc::SIGUSR1);
        } else {
            ev.del(base).unwrap();
        }
    })?;
    ev.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    check(
        run_until(&mut base, Duration::from_secs(1), || calls.get() == 5),
        format!("stopped after {} rounds", calls.get()),
    )?;
    assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::NoEvents);
    assert_eq!(calls.get(), 5);
    Ok(())
}

/// `signal/signal_timeout`: a signal event with a timeout fires by timeout
/// in a `ONCE` run when no signal comes.
fn signal_timeout() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL);
    let before = disposition(libc::SIGUSR1);
    let start = Instant::now();
    ev.add(&mut base, Some(Duration::from_millis(10)))?;
    assert_eq!(base.run(LoopFlags::ONCE)?, LoopStatus::Exited);
    assert_eq!(seen.calls.get(), 1);
    assert_eq!(seen.what.get(), Ev::TIMEOUT);
    assert_eq!(seen.fd.get(), libc::SIGUSR1);
    check(
        start.elapsed() >= Duration::from_millis(10),
        "timeout fired early",
    )?;
    check(
        ev.pending(&base, Ev::SIGNAL | Ev::TIMEOUT)?.0.is_empty(),
        "still pending after firing",
    )?;
    // The one-shot event let go of the signal.
    check(
        disposition(libc::SIGUSR1) == before,
        "handler kept after the event expired",
    )?;
    Ok(())
}

/// A SIGUSR1 event whose callback counts its calls and then `stop`s the
/// event, delivered twice before one `NONBLOCK` run: the event and the
/// calls.
fn calls_when_the_first_stops(
    base: &mut EventBase,
    stop: fn(&mut EventBase, Event),
) -> rvent::Result<(Event, u32)> {
    let calls = Rc::new(Cell::new(0u32));
    let c = calls.clone();
    let ev = Event::signal(base, libc::SIGUSR1, move |base, ev, _, _| {
        c.set(c.get() + 1);
        stop(base, ev);
    })?;
    ev.add(base, None)?;
    raise(libc::SIGUSR1);
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    Ok((ev, calls.get()))
}

/// `signal/signal_free_in_callback`: two deliveries coalesce into one
/// activation with two calls; freeing the event in the first stops the
/// second.
fn signal_free_in_callback() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, calls) = calls_when_the_first_stops(&mut base, |base, ev| ev.free(base).unwrap())?;
    assert_eq!(calls, 1);
    check(!ev.is_live(&base), "event not freed")?;
    assert_eq!(base.num_events(), 0);
    base.assert_invariants();
    Ok(())
}

/// Without the free, the two coalesced deliveries are two calls; a `del`
/// in the first call stops the second just like a free.
fn signal_del_in_callback() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    ev.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!(
        seen.calls.get(),
        2,
        "coalesced deliveries must each run the callback"
    );
    ev.free(&mut base)?;

    let (ev, calls) = calls_when_the_first_stops(&mut base, |base, ev| ev.del(base).unwrap())?;
    assert_eq!(calls, 1);
    check(ev.is_live(&base), "del must not free")?;
    base.assert_invariants();
    Ok(())
}

/// A one-shot signal event stops being pending before its callback, yet
/// two coalesced deliveries still run it twice, as in libevent (its
/// `ncalls` loop ignores the implicit `del` of a non-persistent event).
fn oneshot_signal_coalesced_runs_per_delivery() -> TestResult {
    let mut base = EventBase::new()?;
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL);
    ev.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!(seen.calls.get(), 2);
    check(
        ev.pending(&base, Ev::SIGNAL)?.0.is_empty(),
        "one-shot signal event still pending",
    )?;
    Ok(())
}

/// `signal/signal_switchbase`: with two bases, only the one that most
/// recently added a signal event or ran its loop receives signals.
fn signal_switchbase() -> TestResult {
    let mut base1 = EventBase::new()?;
    let mut base2 = EventBase::new()?;
    let (ev1, seen1) = recording_event(&mut base1, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    let (ev2, seen2) = recording_event(&mut base2, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    ev1.add(&mut base1, None)?;
    ev2.add(&mut base2, None)?;

    // base2 added last: it gets the signal, base1 does not.
    raise(libc::SIGUSR1);
    base2.run(LoopFlags::NONBLOCK)?;
    base1.run(LoopFlags::NONBLOCK)?;
    assert_eq!((seen1.calls.get(), seen2.calls.get()), (0, 1));

    // base1 ran its loop last (just above): now it is the receiver.
    raise(libc::SIGUSR1);
    base1.run(LoopFlags::NONBLOCK)?;
    base2.run(LoopFlags::NONBLOCK)?;
    assert_eq!((seen1.calls.get(), seen2.calls.get()), (1, 1));

    // base2 ran last: back to base2. A byte is never duplicated.
    raise(libc::SIGUSR1);
    base2.run(LoopFlags::NONBLOCK)?;
    base1.run(LoopFlags::NONBLOCK)?;
    assert_eq!((seen1.calls.get(), seen2.calls.get()), (1, 2));

    ev1.free(&mut base1)?;
    ev2.free(&mut base2)?;
    Ok(())
}

/// `main/active_by_fd`, signal variant (`event_base_active_by_signal`):
/// every added event on the signal runs once without a signal; events
/// not added, other signals and bogus numbers are ignored.
fn active_by_signal() -> TestResult {
    let mut base = EventBase::new()?;
    // Before any signal event exists.
    base.active_by_signal(libc::SIGUSR1);
    assert_eq!(base.num_active(), 0);

    let (ev1, seen1) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    let (ev2, seen2) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    let (_ev3, seen3) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    let (ev4, seen4) = recording_event(&mut base, libc::SIGUSR2, Ev::SIGNAL | Ev::PERSIST);
    ev1.add(&mut base, None)?;
    ev2.add(&mut base, None)?;
    ev4.add(&mut base, None)?;
    for bogus in [-1, 0, 65, 1000, i32::MIN, i32::MAX] {
        base.active_by_signal(bogus);
    }
    assert_eq!(
        base.num_active(),
        0,
        "a bogus signal number activated something"
    );

    base.active_by_signal(libc::SIGUSR1);
    assert_eq!(base.num_active(), 2);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!(seen1.calls.get(), 1);
    assert_eq!(seen2.calls.get(), 1);
    assert_eq!(seen3.calls.get(), 0, "an event that was never added ran");
    assert_eq!(seen4.calls.get(), 0, "an event on another signal ran");
    assert_eq!(seen1.what.get(), Ev::SIGNAL);
    assert_eq!(seen1.fd.get(), libc::SIGUSR1);
    ev1.del(&mut base)?;
    ev2.del(&mut base)?;
    ev4.del(&mut base)?;
    Ok(())
}

/// `main/evmap_invalid_slots`, `main/bad_assign`: signal numbers outside
/// `1..NSIG`, and SIGNAL mixed with I/O flags, are rejected.
fn invalid_signal_numbers() -> TestResult {
    let mut base = EventBase::new()?;
    for bad in [0, -1, 65, 1000, i32::MIN, i32::MAX] {
        let r = Event::signal(&mut base, bad, |_, _, _, _| {});
        check(
            matches!(r, Err(Error::InvalidArgument(_))),
            format!("signal {bad}: {r:?}"),
        )?;
    }
    for io in [Ev::READ, Ev::WRITE, Ev::CLOSED] {
        let r = Event::new(&mut base, libc::SIGUSR1, Ev::SIGNAL | io, |_, _, _, _| {});
        check(
            matches!(r, Err(Error::InvalidArgument(_))),
            format!("SIGNAL|{io:?}: {r:?}"),
        )?;
    }
    // assign to a bad signal number fails and leaves the event as it was.
    let ev = Event::signal(&mut base, libc::SIGUSR1, |_, _, _, _| {})?;
    let r = ev.assign(&mut base, 0, Ev::SIGNAL, |_, _, _, _| {});
    check(
        matches!(r, Err(Error::InvalidArgument(_))),
        format!("assign to signal 0: {r:?}"),
    )?;
    assert_eq!(ev.fd(&base)?, Some(libc::SIGUSR1));
    assert_eq!(base.num_events(), 1);
    assert_eq!(base.num_pending(), 0);
    Ok(())
}

/// SIGKILL and SIGSTOP cannot be caught: `add` fails with the kernel's
/// error, leaves the event non-pending, and later signals still work.
fn uncatchable_signal_add_fails() -> TestResult {
    let mut base = EventBase::new()?;
    for sig in [libc::SIGKILL, libc::SIGSTOP] {
        let ev = Event::signal(&mut base, sig, |_, _, _, _| {})?;
        let r = ev.add(&mut base, None);
        check(
            matches!(&r, Err(Error::Io(e)) if e.raw_os_error() == Some(libc::EINVAL)),
            format!("add signal {sig}: {r:?}"),
        )?;
        check(
            ev.pending(&base, Ev::SIGNAL)?.0.is_empty(),
            "failed add left the event pending",
        )?;
        ev.free(&mut base)?;
    }
    assert_eq!(base.num_pending(), 0);
    base.assert_invariants();
    let (ev, seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL);
    ev.add(&mut base, None)?;
    raise(libc::SIGUSR1);
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!(seen.calls.get(), 1);
    Ok(())
}

// ---------------------------------------------------------------------------
// main/fork

/// Exit codes of the forked child.
mod child_code {
    pub const OK: i32 = 0;
    pub const REINIT: i32 = 10;
    pub const LOOP: i32 = 11;
    pub const NOT_DELIVERED: i32 = 12;
    pub const WRONG_BYTE: i32 = 13;
    pub const DEL: i32 = 14;
    pub const WRITE: i32 = 15;
    pub const PANIC: i32 = 99;
}

/// `main/fork`: an I/O event and a signal event added before `fork` both
/// fire in the child after `reinit`, and the child's changes (it deletes
/// both events) do not reach the parent, whose events keep firing.
fn fork_reinit() -> TestResult {
    fork_case(false)
}

/// `event_reinit` returns -1 when some events cannot be re-added, but
/// still rebuilds everything else: with an added event whose fd was
/// closed meanwhile, `reinit` reports the error, and the child still gets
/// its own poller and signal pipe (its changes stay out of the parent).
fn fork_reinit_with_a_closed_fd() -> TestResult {
    fork_case(true)
}

fn fork_case(with_closed_fd: bool) -> TestResult {
    // An fd closed while watched: epoll forgets it (and `reinit` fails to
    // replay it), poll reports it forever (POLLNVAL, as libevent's poll
    // backend) — that case is epoll's.
    let mut base = if with_closed_fd {
        util::backend::epoll_base()
    } else {
        EventBase::new()?
    };
    let (a, b) = pair();
    let closed = if with_closed_fd {
        // A high fd number, so that nothing created later reuses it.
        let (_x, y) = UnixStream::pair()?;
        // SAFETY: F_DUPFD_CLOEXEC takes an int and returns a new fd (or -1).
        let high = unsafe { libc::fcntl(y.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 700) };
        assert!(high >= 700, "fcntl: {}", std::io::Error::last_os_error());
        // SAFETY: `high` is a fresh descriptor that nothing else owns.
        let high = unsafe { OwnedFd::from_raw_fd(high) };
        let ev = Event::new(
            &mut base,
            high.as_raw_fd(),
            Ev::READ | Ev::PERSIST,
            |_, _, _, _| {},
        )?;
        ev.add(&mut base, None)?;
        drop(high); // closed without `del`
        Some(ev)
    } else {
        None
    };
    let io_calls = Rc::new(Cell::new(0u32));
    let last_byte = Rc::new(Cell::new(0u8));
    let (c, l) = (io_calls.clone(), last_byte.clone());
    let mut rd = b.try_clone()?;
    let io = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |_, _, _, _| {
            let mut byte = [0u8; 1];
            if rd.read(&mut byte).unwrap_or(0) == 1 {
                l.set(byte[0]);
                c.set(c.get() + 1);
            }
        },
    )?;
    let (sig, sig_seen) = recording_event(&mut base, libc::SIGUSR1, Ev::SIGNAL | Ev::PERSIST);
    io.add(&mut base, None)?;
    sig.add(&mut base, None)?;
    // One pass before forking, as a running program would have made.
    base.run(LoopFlags::NONBLOCK)?;

    // SAFETY: this process is single-threaded (the libtest-mimic main runs
    // the tests on the main thread), so the child may allocate. The child
    // never returns into the harness: it leaves through `_exit`, and a
    // panic is caught before it could unwind past this frame.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let probe = ForkProbe {
                a: &a,
                io,
                sig,
                io_calls: &io_calls,
                last_byte: &last_byte,
                sig_seen: &sig_seen,
            };
            fork_child(&mut base, with_closed_fd, &probe)
        }))
        .unwrap_or(child_code::PANIC);
        // SAFETY: _exit ends the child without running the parent's
        // destructors or flushing its copied stdio buffers.
        unsafe { libc::_exit(code) };
    }

    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out pointer; `pid` is our child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::Interrupted,
            "waitpid: {err}"
        );
    }
    check(
        libc::WIFEXITED(status),
        format!("child did not exit normally (status {status:#x})"),
    )?;
    check(
        libc::WEXITSTATUS(status) == child_code::OK,
        format!("child failed with code {}", libc::WEXITSTATUS(status)),
    )?;

    // The child consumed its byte and its signal went to its own pipe:
    // nothing is waiting for the parent.
    base.run(LoopFlags::NONBLOCK)?;
    assert_eq!(
        (io_calls.get(), sig_seen.calls.get()),
        (0, 0),
        "child's activity leaked into the parent"
    );
    check(
        io.pending(&base, Ev::READ)?.0 == Ev::READ,
        "parent's I/O event lost",
    )?;
    check(
        sig.pending(&base, Ev::SIGNAL)?.0 == Ev::SIGNAL,
        "parent's signal event lost",
    )?;

    // The child deleted both events in its own kernel state only.
    (&a).write_all(b"p")?;
    raise(libc::SIGUSR1);
    let ok = run_until(&mut base, Duration::from_secs(1), || {
        io_calls.get() == 1 && sig_seen.calls.get() == 1
    });
    check(
        ok,
        format!(
            "parent events after fork: io {} signal {}",
            io_calls.get(),
            sig_seen.calls.get()
        ),
    )?;
    assert_eq!(last_byte.get(), b'p');
    io.free(&mut base)?;
    sig.free(&mut base)?;
    if let Some(ev) = closed {
        ev.free(&mut base)?;
    }
    base.assert_invariants();
    Ok(())
}

/// What the forked child needs of the parent's fixture.
struct ForkProbe<'a> {
    /// The writing end of the socketpair `io` reads.
    a: &'a UnixStream,
    io: Event,
    sig: Event,
    io_calls: &'a Cell<u32>,
    last_byte: &'a Cell<u8>,
    sig_seen: &'a Seen,
}

/// The child's side of `fork_case`: returns its exit code.
fn fork_child(base: &mut EventBase, with_closed_fd: bool, p: &ForkProbe<'_>) -> i32 {
    let ForkProbe {
        a,
        io,
        sig,
        io_calls,
        last_byte,
        sig_seen,
    } = *p;
    // With a closed fd among the added events, reinit must say so.
    if base.reinit().is_ok() == with_closed_fd {
        return child_code::REINIT;
    }
    if (&*a).write_all(b"c").is_err() {
        return child_code::WRITE;
    }
    raise(libc::SIGUSR1);
    let mut rounds = 0;
    while io_calls.get() == 0 || sig_seen.calls.get() == 0 {
        rounds += 1;
        if rounds > 10 {
            return child_code::NOT_DELIVERED;
        }
        // Both are ready already: a NONBLOCK pass must see them.
        if base.run(LoopFlags::NONBLOCK).is_err() {
            return child_code::LOOP;
        }
    }
    if last_byte.get() != b'c' {
        return child_code::WRONG_BYTE;
    }
    // Without reinit this would remove the parent's registration from the
    // shared epoll instance.
    if io.del(base).is_err() || sig.del(base).is_err() {
        return child_code::DEL;
    }
    child_code::OK
}
