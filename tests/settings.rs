//! Common settings (tutorial ch. 9): the log callback and its severities,
//! debug logging, the fatal callback, and debug mode (misuse panics with a
//! message instead of returning an error; only before the first base).
//!
//! All of this is process-global, so this is a `harness = false` binary
//! whose libtest-mimic `main` runs the tests serially. What cannot be
//! undone in a process — a fatal error, debug mode — runs in a child: the
//! test re-executes this binary with `RVENT_SETTINGS_CHILD=<scenario>`,
//! and `main` then runs only that scenario (a panic fails it) and exits.
//! The parent process never enables debug mode.

mod util;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use rvent::{BaseFlags, Config, Error, Ev, Event, EventBase, LoopFlags, Severity};
use util::{TestResult, check, pair, rerun_self, run_serially, trials};

const CHILD_ENV: &str = "RVENT_SETTINGS_CHILD";

fn main() {
    if let Ok(scenario) = std::env::var(CHILD_ENV) {
        child(&scenario);
        std::process::exit(0);
    }
    run_serially(trials![
        severity_order_and_names,
        log_callback_gets_reentrant_warning,
        log_callback_gets_epoll_ctl_failure,
        debug_messages_need_debug_logging,
        default_logger_and_reset,
        show_method_logs_msg,
        fatal_callback_runs_before_abort,
        fatal_callback_that_returns_still_aborts,
        fatal_without_callback_aborts,
        debug_mode_after_a_base_is_refused,
        misuse_without_debug_mode_returns_errors,
        blocking_fd_is_quiet_without_debug_mode,
        debug_mode_before_any_base,
        debug_mode_stale_handle_panics,
        debug_mode_reassign_pending_panics,
        debug_mode_et_lt_mix_panics,
        debug_mode_warns_on_blocking_fd,
    ]);
}

// ---------------------------------------------------------------------------
// Helpers

static LOGGED: Mutex<Vec<(Severity, String)>> = Mutex::new(Vec::new());

/// Runs `f` with a log callback that records every message; returns them.
fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<(Severity, String)>) {
    LOGGED.lock().unwrap().clear();
    rvent::set_log_callback(|sev, msg| LOGGED.lock().unwrap().push((sev, msg.to_owned())));
    let r = catch_unwind(AssertUnwindSafe(f));
    rvent::reset_log_callback();
    let logged = std::mem::take(&mut *LOGGED.lock().unwrap());
    match r {
        Ok(v) => (v, logged),
        Err(p) => std::panic::resume_unwind(p),
    }
}

fn has(logged: &[(Severity, String)], sev: Severity, needle: &str) -> bool {
    logged.iter().any(|(s, m)| *s == sev && m.contains(needle))
}

/// A callback that calls `run` on its own base: rvent refuses and logs a
/// warning (libevent's `bad_reentrant`).
fn trigger_reentrant_warning(base: &mut EventBase) {
    let ev = Event::timer(base, |base, _, _, _| {
        assert!(matches!(
            base.run(LoopFlags::NONBLOCK),
            Err(Error::Reentrant)
        ));
    })
    .unwrap();
    ev.active(base, Ev::TIMEOUT).unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    ev.free(base).unwrap();
}

const REENTRANT: &str = "event_base_loop: reentrant invocation";

/// Re-executes this test binary as the child `scenario`.
fn run_child(scenario: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = rerun_self(CHILD_ENV, scenario);
    cmd.env_remove("EVENT_SHOW_METHOD")
        .env_remove("EVENT_NOEPOLL")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("spawning the child")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A child scenario that must exit 0.
fn child_passes(scenario: &str) -> TestResult {
    let out = run_child(scenario, &[]);
    check(
        out.status.success(),
        format!(
            "child {scenario} failed ({}):\n{}",
            out.status,
            stderr_of(&out)
        ),
    )
}

/// Runs `f`, which must panic, and returns the panic message. The panic
/// hook is silenced meanwhile.
fn expect_panic<T: std::fmt::Debug>(f: impl FnOnce() -> T) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match r {
        Ok(v) => panic!("expected a panic, got {v:?}"),
        Err(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}

// ---------------------------------------------------------------------------
// Log callback

fn severity_order_and_names() -> TestResult {
    use Severity::*;
    check(
        Debug < Msg && Msg < Warn && Warn < Err,
        "severities out of order",
    )?;
    let names: Vec<String> = [Debug, Msg, Warn, Err]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, ["debug", "msg", "warn", "err"]);
    Ok(())
}

fn log_callback_gets_reentrant_warning() -> TestResult {
    let mut base = EventBase::new()?;
    let ((), logged) = capture(|| trigger_reentrant_warning(&mut base));
    assert_eq!(logged.len(), 1, "{logged:?}");
    check(
        has(&logged, Severity::Warn, REENTRANT),
        format!("{logged:?}"),
    )?;
    Ok(())
}

/// `del` of one of two events on an fd that was closed underneath: the
/// `epoll_ctl(MOD)` fails and is reported as a warning naming the fd; the
/// `del` itself succeeds, and the last `del` (an `EPOLL_CTL_DEL` of a
/// closed fd) is quiet.
fn log_callback_gets_epoll_ctl_failure() -> TestResult {
    let mut base = util::backend::epoll_base();
    let (a, b) = pair();
    let fd = b.as_raw_fd();
    let rd = Event::new(&mut base, fd, Ev::READ | Ev::PERSIST, |_, _, _, _| {})?;
    let wr = Event::new(&mut base, fd, Ev::WRITE | Ev::PERSIST, |_, _, _, _| {})?;
    rd.add(&mut base, None)?;
    wr.add(&mut base, None)?;
    drop(b);
    let (r, logged) = capture(|| wr.del(&mut base));
    r?;
    let needle = format!("epoll_ctl on fd {fd} failed");
    check(
        has(&logged, Severity::Warn, &needle),
        format!("no {needle:?} in {logged:?}"),
    )?;
    let (r, logged) = capture(|| rd.del(&mut base));
    r?;
    check(
        logged.is_empty(),
        format!("removing a closed fd logged {logged:?}"),
    )?;
    assert_eq!(base.num_pending(), 0);
    base.assert_invariants();
    drop(a);
    Ok(())
}

/// Debug-severity messages reach the callback only with debug logging on.
fn debug_messages_need_debug_logging() -> TestResult {
    let mut base = EventBase::new()?;
    let (r, logged) = capture(|| base.run(LoopFlags::NONBLOCK));
    r?;
    check(
        logged.is_empty(),
        format!("logged without debug logging: {logged:?}"),
    )?;

    rvent::enable_debug_logging(true);
    let (r, logged) = capture(|| base.run(LoopFlags::NONBLOCK));
    rvent::enable_debug_logging(false);
    r?;
    check(
        has(&logged, Severity::Debug, "no events registered"),
        format!("no debug message: {logged:?}"),
    )?;

    let (r, logged) = capture(|| base.run(LoopFlags::NONBLOCK));
    r?;
    check(
        logged.is_empty(),
        format!("debug logging not turned off: {logged:?}"),
    )?;
    Ok(())
}

/// Without a callback, messages go to stderr; `reset_log_callback` puts
/// stderr back after a callback was set.
fn default_logger_and_reset() -> TestResult {
    let out = run_child("default-logger", &[]);
    let err = stderr_of(&out);
    check(
        out.status.success(),
        format!("child failed ({}):\n{err}", out.status),
    )?;
    if cfg!(feature = "log") {
        // The default logger is the `log` crate, with no logger installed.
        return Ok(());
    }
    let line = format!("[rvent warn] {REENTRANT}");
    assert_eq!(
        err.matches(&line).count(),
        2,
        "expected the warning twice on stderr:\n{err}"
    );
    Ok(())
}

/// `EVENT_SHOW_METHOD` makes base creation log the backend at `Msg`
/// severity, unless the config ignores the environment.
fn show_method_logs_msg() -> TestResult {
    let out = run_child("show-method", &[("EVENT_SHOW_METHOD", "1")]);
    check(
        out.status.success(),
        format!("child failed ({}):\n{}", out.status, stderr_of(&out)),
    )
}

// ---------------------------------------------------------------------------
// Fatal callback

const FATAL_MSG: &str = "fatal error requested by a test (code";

/// The fatal callback runs after the ERR log line and may end the process
/// with its own status.
fn fatal_callback_runs_before_abort() -> TestResult {
    let out = run_child("fatal-callback", &[]);
    let err = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(42),
        "status {}; stderr:\n{err}",
        out.status
    );
    let log = err.find(&format!("LOG err: {FATAL_MSG} 42)"));
    let marker = err.find("FATAL-CALLBACK 42");
    check(
        log.is_some() && marker.is_some(),
        format!("missing log line or marker:\n{err}"),
    )?;
    check(
        log < marker,
        format!("the ERR line must precede the callback:\n{err}"),
    )?;
    Ok(())
}

/// rvent aborts even when the fatal callback returns.
fn fatal_callback_that_returns_still_aborts() -> TestResult {
    let out = run_child("fatal-callback-returns", &[]);
    let err = stderr_of(&out);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "status {}; stderr:\n{err}",
        out.status
    );
    check(
        err.contains("FATAL-CALLBACK 9"),
        format!("callback did not run:\n{err}"),
    )?;
    Ok(())
}

/// With no callback: the ERR line on stderr, then abort.
fn fatal_without_callback_aborts() -> TestResult {
    let out = run_child("fatal-default", &[]);
    let err = stderr_of(&out);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "status {}; stderr:\n{err}",
        out.status
    );
    if !cfg!(feature = "log") {
        let line = format!("[rvent err] {FATAL_MSG} 7)");
        check(err.contains(&line), format!("no {line:?} in:\n{err}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Debug mode

/// Creating a base first makes `enable_debug_mode` fail (in this process
/// it never turns debug mode on).
fn debug_mode_after_a_base_is_refused() -> TestResult {
    let _base = EventBase::new()?;
    let r = rvent::enable_debug_mode();
    check(matches!(r, Err(Error::BadState(_))), format!("{r:?}"))?;
    check(
        !rvent::debug_mode_enabled(),
        "debug mode turned on after a base existed",
    )?;
    Ok(())
}

/// Outside debug mode every misuse is an `Err`, nothing panics, and the
/// base stays consistent.
fn misuse_without_debug_mode_returns_errors() -> TestResult {
    assert!(!rvent::debug_mode_enabled());
    let mut base = EventBase::new()?;
    let mut other = EventBase::new()?;
    let stale = Event::timer(&mut base, |_, _, _, _| {})?;
    stale.free(&mut base)?;
    let foreign = Event::timer(&mut other, |_, _, _, _| {})?;
    for ev in [stale, foreign] {
        let results = [
            ("add", ev.add(&mut base, None).err()),
            ("del", ev.del(&mut base).err()),
            ("active", ev.active(&mut base, Ev::READ).err()),
            ("pending", ev.pending(&base, Ev::READ).err()),
            ("free", ev.free(&mut base).err()),
            (
                "assign",
                ev.assign(&mut base, None, Ev::empty(), |_, _, _, _| {})
                    .err(),
            ),
        ];
        for (op, e) in results {
            check(
                matches!(e, Some(Error::StaleEvent)),
                format!("{op} on {ev:?}: {e:?}"),
            )?;
        }
    }
    check(
        foreign.is_live(&other),
        "a foreign handle touched its own base",
    )?;

    // Re-assigning a pending or an active event.
    let pending = Event::timer(&mut base, |_, _, _, _| {})?;
    pending.add(&mut base, Some(Duration::from_secs(10)))?;
    let r = pending.assign(&mut base, None, Ev::empty(), |_, _, _, _| {});
    check(
        matches!(r, Err(Error::BadState(_))),
        format!("assign pending: {r:?}"),
    )?;
    let active = Event::timer(&mut base, |_, _, _, _| {})?;
    active.active(&mut base, Ev::READ)?;
    let r = active.assign(&mut base, None, Ev::empty(), |_, _, _, _| {});
    check(
        matches!(r, Err(Error::BadState(_))),
        format!("assign active: {r:?}"),
    )?;

    // Edge- and level-triggered events on one fd, in both orders.
    let (_a, b) = pair();
    let (_c, d) = pair();
    for (fd, first, second) in [
        (b.as_raw_fd(), Ev::READ | Ev::ET, Ev::READ),
        (d.as_raw_fd(), Ev::WRITE, Ev::READ | Ev::ET),
    ] {
        let e1 = Event::new(&mut base, fd, first | Ev::PERSIST, |_, _, _, _| {})?;
        let e2 = Event::new(&mut base, fd, second | Ev::PERSIST, |_, _, _, _| {})?;
        e1.add(&mut base, None)?;
        let r = e2.add(&mut base, None);
        check(
            matches!(r, Err(Error::InvalidArgument(_))),
            format!("{first:?} then {second:?}: {r:?}"),
        )?;
        check(
            e2.pending(&base, Ev::READ | Ev::WRITE)?.0.is_empty(),
            "rejected event is pending",
        )?;
    }
    base.assert_invariants();
    Ok(())
}

fn blocking_fd_is_quiet_without_debug_mode() -> TestResult {
    let mut base = EventBase::new()?;
    let (_a, b) = UnixStream::pair()?;
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, |_, _, _, _| {})?;
    let (r, logged) = capture(|| ev.add(&mut base, None));
    r?;
    check(logged.is_empty(), format!("{logged:?}"))?;
    Ok(())
}

fn debug_mode_before_any_base() -> TestResult {
    child_passes("debug-first")
}

fn debug_mode_stale_handle_panics() -> TestResult {
    child_passes("debug-stale")
}

fn debug_mode_reassign_pending_panics() -> TestResult {
    child_passes("debug-assign")
}

fn debug_mode_et_lt_mix_panics() -> TestResult {
    child_passes("debug-etlt")
}

fn debug_mode_warns_on_blocking_fd() -> TestResult {
    child_passes("debug-blocking-fd")
}

// ---------------------------------------------------------------------------
// Child scenarios: a panic fails the scenario (exit status 101).

fn child(scenario: &str) {
    match scenario {
        "default-logger" => child_default_logger(),
        "show-method" => child_show_method(),
        "fatal-callback" => {
            rvent::set_log_callback(|sev, msg| eprintln!("LOG {sev}: {msg}"));
            rvent::set_fatal_callback(|code| {
                eprintln!("FATAL-CALLBACK {code}");
                std::process::exit(code);
            });
            rvent::__fatal_for_tests(42);
        }
        "fatal-callback-returns" => {
            rvent::set_fatal_callback(|code| eprintln!("FATAL-CALLBACK {code}"));
            rvent::__fatal_for_tests(9);
        }
        "fatal-default" => rvent::__fatal_for_tests(7),
        "debug-first" => child_debug_first(),
        "debug-stale" => child_debug_stale(),
        "debug-assign" => child_debug_assign(),
        "debug-etlt" => child_debug_etlt(),
        "debug-blocking-fd" => child_debug_blocking_fd(),
        other => panic!("unknown child scenario {other:?}"),
    }
}

fn child_default_logger() {
    let mut base = EventBase::new().unwrap();
    trigger_reentrant_warning(&mut base); // to stderr
    let ((), logged) = capture(|| trigger_reentrant_warning(&mut base));
    assert!(has(&logged, Severity::Warn, REENTRANT), "{logged:?}");
    // `capture` reset the callback: this one goes to stderr again, and
    // the old callback sees nothing.
    LOGGED.lock().unwrap().clear();
    trigger_reentrant_warning(&mut base);
    assert!(
        LOGGED.lock().unwrap().is_empty(),
        "callback still set after reset"
    );
    std::io::stderr().flush().unwrap();
}

fn child_show_method() {
    let (base, logged) = capture(EventBase::new);
    base.unwrap();
    assert!(
        has(&logged, Severity::Msg, "libevent using: epoll"),
        "{logged:?}"
    );
    let mut cfg = Config::new();
    cfg.set_flag(BaseFlags::IGNORE_ENV);
    let (base, logged) = capture(|| EventBase::with_config(&cfg));
    base.unwrap();
    assert!(
        logged.is_empty(),
        "IGNORE_ENV still read EVENT_SHOW_METHOD: {logged:?}"
    );
}

fn child_debug_first() {
    assert!(!rvent::debug_mode_enabled());
    rvent::enable_debug_mode().unwrap();
    rvent::enable_debug_mode().unwrap(); // again, still before any base
    assert!(rvent::debug_mode_enabled());
    let _base = EventBase::new().unwrap();
    let r = rvent::enable_debug_mode();
    assert!(matches!(r, Err(Error::BadState(_))), "{r:?}");
    assert!(
        rvent::debug_mode_enabled(),
        "a refused call must not turn debug mode off"
    );
}

/// Debug mode's panic message: names the mode and the misuse.
fn assert_debug_panic(msg: &str, needles: &[&str]) {
    assert!(
        msg.starts_with("rvent debug mode: "),
        "not a debug-mode panic: {msg:?}"
    );
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
    }
}

fn child_debug_stale() {
    rvent::enable_debug_mode().unwrap();
    let mut base = EventBase::new().unwrap();
    let mut other = EventBase::new().unwrap();
    let stale = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    stale.free(&mut base).unwrap();
    let name = format!("{stale:?}");
    let b = &mut base;
    assert_debug_panic(
        &expect_panic(|| stale.add(b, None)),
        &["add on a stale event handle", &name],
    );
    assert_debug_panic(
        &expect_panic(|| stale.del(b)),
        &["del on a stale event handle", &name],
    );
    assert_debug_panic(
        &expect_panic(|| stale.active(b, Ev::READ)),
        &["active on a stale", &name],
    );
    assert_debug_panic(&expect_panic(|| stale.free(b)), &["free on a stale", &name]);
    assert_debug_panic(
        &expect_panic(|| stale.pending(b, Ev::READ)),
        &["pending on a stale", &name],
    );
    let foreign = Event::timer(&mut other, |_, _, _, _| {}).unwrap();
    assert_debug_panic(
        &expect_panic(|| foreign.add(b, None)),
        &[
            "add on a stale event handle",
            "another base",
            &format!("{foreign:?}"),
        ],
    );
    // The panics changed nothing.
    base.assert_invariants();
    assert_eq!(base.num_events(), 0);
    assert!(foreign.is_live(&other));
    // Fine uses of live handles still work.
    let ev = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    ev.add(&mut base, Some(Duration::from_millis(1))).unwrap();
    base.dispatch().unwrap();
    ev.free(&mut base).unwrap();
}

fn child_debug_assign() {
    rvent::enable_debug_mode().unwrap();
    let mut base = EventBase::new().unwrap();
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = calls.clone();
    let ev = Event::timer(&mut base, move |_, _, _, _| c.set(c.get() + 1)).unwrap();
    ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
    let b = &mut base;
    let msg = expect_panic(|| {
        ev.assign(b, None, Ev::empty(), |_, _, _, _| {
            panic!("replaced callback ran")
        })
    });
    assert_debug_panic(
        &msg,
        &[
            "event_assign on a pending or active event",
            &format!("{ev:?}"),
        ],
    );
    // Still pending, with its own callback.
    assert!(
        ev.pending(&base, Ev::TIMEOUT)
            .unwrap()
            .0
            .contains(Ev::TIMEOUT)
    );
    ev.del(&mut base).unwrap();
    ev.active(&mut base, Ev::READ).unwrap();
    let b = &mut base;
    let msg = expect_panic(|| {
        ev.assign(b, None, Ev::empty(), |_, _, _, _| {
            panic!("replaced callback ran")
        })
    });
    assert_debug_panic(&msg, &["event_assign on a pending or active event"]);
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(calls.get(), 1);
    // Once neither pending nor active, assign is fine.
    ev.assign(&mut base, None, Ev::empty(), |_, _, _, _| {})
        .unwrap();
    base.assert_invariants();
}

fn child_debug_etlt() {
    rvent::enable_debug_mode().unwrap();
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    let (_c, d) = pair();
    let et_calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = et_calls.clone();
    let fd = b.as_raw_fd();
    let et = Event::new(
        &mut base,
        fd,
        Ev::READ | Ev::ET | Ev::PERSIST,
        move |_, _, _, _| c.set(c.get() + 1),
    )
    .unwrap();
    let lt = Event::new(&mut base, fd, Ev::READ | Ev::PERSIST, |_, _, _, _| {}).unwrap();
    et.add(&mut base, None).unwrap();
    let bm = &mut base;
    let msg = expect_panic(|| lt.add(bm, None));
    assert_debug_panic(
        &msg,
        &[
            &format!("fd {fd}"),
            "mixes edge-triggered and level-triggered",
        ],
    );
    base.assert_invariants();
    assert!(lt.pending(&base, Ev::READ).unwrap().0.is_empty());
    // The edge-triggered event is intact.
    a.write_all(b"x").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(et_calls.get(), 1);

    // The other order: level-triggered first.
    let fd = d.as_raw_fd();
    let lt = Event::new(&mut base, fd, Ev::WRITE | Ev::PERSIST, |_, _, _, _| {}).unwrap();
    let et = Event::new(
        &mut base,
        fd,
        Ev::READ | Ev::ET | Ev::PERSIST,
        |_, _, _, _| {},
    )
    .unwrap();
    lt.add(&mut base, None).unwrap();
    let bm = &mut base;
    let msg = expect_panic(|| et.add(bm, None));
    assert_debug_panic(
        &msg,
        &[
            &format!("fd {fd}"),
            "mixes edge-triggered and level-triggered",
        ],
    );
    base.assert_invariants();
}

fn child_debug_blocking_fd() {
    rvent::enable_debug_mode().unwrap();
    let mut base = EventBase::new().unwrap();
    let (_a, blocking) = UnixStream::pair().unwrap();
    let (_c, nonblocking) = pair();
    let ev = Event::new(&mut base, blocking.as_raw_fd(), Ev::READ, |_, _, _, _| {}).unwrap();
    let (r, logged) = capture(|| ev.add(&mut base, None));
    r.unwrap();
    let needle = format!("fd {} is blocking", blocking.as_raw_fd());
    assert!(
        has(&logged, Severity::Warn, &needle),
        "no {needle:?} in {logged:?}"
    );
    let ev = Event::new(
        &mut base,
        nonblocking.as_raw_fd(),
        Ev::READ,
        |_, _, _, _| {},
    )
    .unwrap();
    let (r, logged) = capture(|| ev.add(&mut base, None));
    r.unwrap();
    assert!(logged.is_empty(), "{logged:?}");
}
