//! Fault injection at every allocation site (issue 11): the coverage
//! scenario (tests/util/coverage.rs, every public API) runs once per
//! section to learn how many allocations C the section makes, then for
//! every N in 1..=C with the N-th allocation failing, and again with every
//! allocation from the N-th on failing. Every run must end without a
//! panic out of rvent (or an abort, which ends this process), with the
//! failure visible — `Err(Alloc)` from a call, or recorded by the
//! scenario where no call returns (a bufferevent's or listener's error
//! event, an error inside a callback) — and, after teardown, with the
//! memory functions holding what they held before and no descriptor left
//! open.
//!
//! Sections are independent units (each makes its own base), so the
//! runs stay short. Debug mode is on, so misuse that a half-done change
//! would cause (a stale or foreign handle) panics and is caught here.
//! Like tests/mem.rs this is a `harness = false` binary: the hooks are
//! process-wide and installed first.

mod util;

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use rvent::Error;
use util::coverage::{self, Fixture, SECTIONS, Section};
use util::hooks::{CountingGlobal, HOOKS, Held, held};
use util::{TestResult, check, run_serially, trials};

#[global_allocator]
static GLOBAL: CountingGlobal = CountingGlobal;

fn main() {
    rvent::install_mem_functions(&HOOKS).expect("hooks install first");
    rvent::enable_debug_mode().expect("debug mode before any base");
    run_serially(trials![
        every_allocation_fails_cleanly,
        enable_that_cannot_start_a_timeout_changes_nothing,
        a_read_without_memory_reports_enomem,
        set_timeouts_that_cannot_arm_changes_nothing,
        a_pair_timeout_the_loop_cannot_arm_reports_enomem,
        a_filter_timeout_the_loop_cannot_restart_reports_enomem,
        a_read_event_the_connect_cannot_add_reports_enomem,
        a_rate_limit_tick_the_loop_cannot_arm_reports_enomem,
        a_group_tick_the_loop_cannot_arm_fails_every_member,
        a_group_decrement_without_timer_room_changes_nothing,
        bytes_a_filter_writes_to_itself_survive_a_failed_append,
    ]);
}

/// How a run arms the hooks.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Count only.
    Count,
    /// Fail the N-th allocation.
    Nth(usize),
    /// Fail the N-th and every later allocation.
    From(usize),
}

/// What one run of a section did.
struct Run {
    /// An allocation failed.
    injected: bool,
    /// The section's result, or the panic's message.
    result: Result<Result<(), Error>, String>,
    /// Allocations made (under `Mode::Count`).
    allocations: usize,
}

fn run_once(fx: &Fixture, section: &Section, mode: Mode) -> Run {
    coverage::reset();
    match mode {
        Mode::Count => HOOKS.arm(usize::MAX),
        Mode::Nth(n) => HOOKS.arm(n),
        Mode::From(n) => HOOKS.arm_from(n),
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| (section.1)(fx)));
    let allocations = HOOKS.allocations();
    let injected = HOOKS.disarm();
    let result = result.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    });
    Run {
        injected,
        result,
        allocations,
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Waits (up to 2 s: a lookup thread may still be ending) until the hooks
/// hold `mem` and `fds` descriptors are open; what is held then.
fn settle(mem: Held, fds: usize) -> (Held, usize) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = (held(), open_fds());
        if now == (mem, fds) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What went wrong in one run, if anything.
fn verdict(run: &Run, mem: Held, fds: usize) -> Option<String> {
    let (now_mem, now_fds) = settle(mem, fds);
    if now_mem != mem {
        return Some(format!("leaked: {mem:?} -> {now_mem:?}"));
    }
    if now_fds != fds {
        return Some(format!("descriptors: {fds} -> {now_fds}"));
    }
    let reported = coverage::reported();
    if let Some(what) = coverage::unexpected() {
        return Some(format!("unexpected: {what} ({:?})", run.result));
    }
    match (&run.result, run.injected) {
        (Err(panic), _) => Some(format!("panicked: {panic}")),
        (Ok(Err(Error::Alloc)), true) => None,
        (Ok(Ok(())), true) if reported > 0 => None,
        (Ok(Ok(())), true) => Some("an allocation failed and nothing reported it".into()),
        (Ok(Err(e)), true) if reported > 0 => Some(format!("reported, then returned {e:?}")),
        (Ok(Err(e)), true) => Some(format!("an allocation failed, the error was {e:?}")),
        (Ok(Ok(())), false) if reported == 0 => None,
        (Ok(r), false) => Some(format!(
            "no failure injected, yet {r:?} ({reported} reported)"
        )),
    }
}

fn every_allocation_fails_cleanly() -> TestResult {
    // RVENT_FAULT=section-index:N prints where that run's failure strikes.
    if let Some((i, n)) = std::env::var("RVENT_FAULT").ok().and_then(|v| {
        Some((
            v.split_once(':')?.0.parse::<usize>().ok()?,
            v.split_once(':')?.1.parse::<usize>().ok()?,
        ))
    }) {
        let fx = Fixture::new()?;
        util::hooks::TRACE_FAILURE.store(true, std::sync::atomic::Ordering::SeqCst);
        let run = run_once(&fx, &SECTIONS[i], Mode::Nth(n));
        println!(
            "{:?} reported {} unexpected {:?}",
            run.result,
            coverage::reported(),
            coverage::unexpected()
        );
        return Ok(());
    }
    let started = Instant::now();
    let fx = Fixture::new()?;
    // Warm-up: lazy statics, thread-locals, the signal handler's state.
    coverage::run_all(&fx)?;
    let (mem, fds) = (held(), open_fds());
    let mut defects: Vec<String> = Vec::new();
    let (mut total_c, mut total_runs) = (0, 0);
    for section in SECTIONS {
        let count = run_once(&fx, section, Mode::Count);
        if let Some(d) = verdict(&count, mem, fds) {
            return Err(Failed::from(format!(
                "{}: the counting run: {d}",
                section.0
            )));
        }
        let c = count.allocations;
        let mut runs = 1;
        for n in 1..=c {
            for mode in [Mode::Nth(n), Mode::From(n)] {
                let run = run_once(&fx, section, mode);
                runs += 1;
                if let Some(d) = verdict(&run, mem, fds) {
                    defects.push(format!("{} {mode:?}: {d}", section.0));
                }
            }
        }
        println!("{}: C = {c}, {runs} runs", section.0);
        total_c += c;
        total_runs += runs;
    }
    println!(
        "alloc_faults: C = {total_c} allocations in {} sections, {total_runs} runs, {:.2?}",
        SECTIONS.len(),
        started.elapsed()
    );
    for d in defects.iter().take(40) {
        println!("  {d}");
    }
    check(
        defects.is_empty(),
        format!("{} runs went wrong (listed above)", defects.len()),
    )
}

// ---------------------------------------------------------------------------
// Regression tests for what the fault injection found.

/// `enable` restarts the timeout timers of a bufferevent without an fd;
/// it used to drop the timer heap's allocation failure (`Ok`, the
/// direction enabled, its timeout never armed). Now the heap's room is
/// made first: `Err(Alloc)`, nothing changed. Plain timers fill the heap
/// to its capacity first (one more each round until the enable needs the
/// heap to grow).
fn enable_that_cannot_start_a_timeout_changes_nothing() -> TestResult {
    use rvent::{BevOptions, Bufferevent, Ev, Event, EventBase};
    for fill in 0..256 {
        let mut base = EventBase::new()?;
        let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
        bev.disable(&mut base, Ev::READ | Ev::WRITE)?;
        let t = Some(Duration::from_secs(5));
        bev.set_timeouts(&mut base, t, t)?;
        for _ in 0..fill {
            Event::timer(&mut base, |_, _, _, _| {})?.add(&mut base, t)?;
        }
        HOOKS.arm_from(1);
        let r = bev.enable(&mut base, Ev::READ | Ev::WRITE);
        if !HOOKS.disarm() {
            r?; // the heap had room: fill it further
            continue;
        }
        check(matches!(r, Err(Error::Alloc)), format!("enable gave {r:?}"))?;
        check(
            bev.enabled(&base)?.is_empty(),
            "the failed enable left a direction enabled",
        )?;
        bev.enable(&mut base, Ev::READ | Ev::WRITE)?;
        return check(bev.enabled(&base)? == Ev::READ | Ev::WRITE, "enabled after");
    }
    Err("enable never needed the timer heap to grow".into())
}

/// A socket read that cannot get a chain reports `ERROR` with `ENOMEM`
/// in `socket_error` (it used to say `EIO`: the buffer's `OutOfMemory`
/// error carries no errno).
fn a_read_without_memory_reports_enomem() -> TestResult {
    use rvent::{BevEvent, BevOptions, Bufferevent, Ev, EventBase, LoopFlags};
    use std::cell::Cell;
    use std::io::Write;
    use std::rc::Rc;
    let mut base = EventBase::new()?;
    let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    let bev = Bufferevent::from_stream(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    let errno = Rc::new(Cell::new(None));
    let seen = Rc::clone(&errno);
    bev.set_event_callback(&mut base, move |base, bev, what| {
        if what.contains(BevEvent::ERROR) {
            seen.set(Some(
                bev.socket_error(base)
                    .ok()
                    .flatten()
                    .and_then(|e| e.raw_os_error()),
            ));
        }
    })?;
    bev.enable(&mut base, Ev::READ)?;
    b.write_all(b"data")?;
    HOOKS.arm_from(1);
    let r = base.run(LoopFlags::NONBLOCK);
    let injected = HOOKS.disarm();
    check(injected && r.is_ok(), format!("the loop gave {r:?}"))?;
    check(
        errno.get() == Some(Some(libc::ENOMEM)),
        format!("socket_error after a failed read: {:?}", errno.get()),
    )?;
    bev.free(&mut base)?;
    Ok(())
}

/// `set_timeouts` on a socket bufferevent used to store the new timeouts
/// before re-adding its events with them, so a timer heap that could not
/// grow gave `Err(Alloc)` with the timeouts changed (the next re-arm used
/// them). Now the heap's room comes first: nothing changed.
fn set_timeouts_that_cannot_arm_changes_nothing() -> TestResult {
    use rvent::{BevEvent, BevOptions, Bufferevent, Ev, EventBase, LoopFlags};
    use std::cell::Cell;
    use std::rc::Rc;
    let mut base = EventBase::new()?;
    let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    let bev = Bufferevent::from_stream(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    let timeouts = Rc::new(Cell::new(0));
    let seen = Rc::clone(&timeouts);
    bev.set_event_callback(&mut base, move |_, _, what| {
        if what.contains(BevEvent::TIMEOUT) {
            seen.set(seen.get() + 1);
        }
    })?;
    bev.set_watermark(&mut base, Ev::READ, 0, 1 << 20)?; // the cold block
    bev.enable(&mut base, Ev::READ)?;
    HOOKS.arm_from(1);
    let r = bev.set_timeouts(&mut base, Some(Duration::from_millis(1)), None);
    let injected = HOOKS.disarm();
    check(injected, "arming the timeout needed the timer heap to grow")?;
    check(
        matches!(r, Err(Error::Alloc)),
        format!("set_timeouts gave {r:?}"),
    )?;
    // A re-arm must not find the refused 1 ms timeout.
    bev.disable(&mut base, Ev::READ)?;
    bev.enable(&mut base, Ev::READ)?;
    let until = Instant::now() + Duration::from_millis(20);
    while Instant::now() < until {
        base.run(LoopFlags::NONBLOCK)?;
        std::thread::sleep(Duration::from_millis(1));
    }
    check(timeouts.get() == 0, "the refused timeout fired")?;
    bev.free(&mut base)?;
    Ok(())
}

/// Adds plain timers until the timer heap is exactly full: the next push
/// needs it to grow (found by an add that fails with every allocation
/// failing, which changes nothing).
fn fill_timer_heap(base: &mut rvent::EventBase) -> TestResult {
    use rvent::Event;
    let t = Some(Duration::from_secs(60));
    for _ in 0..4096 {
        let ev = Event::timer(base, |_, _, _, _| {})?;
        HOOKS.arm_from(1);
        let r = ev.add(base, t);
        HOOKS.disarm();
        match r {
            Ok(()) => {}
            Err(Error::Alloc) => return Ok(ev.free(base)?),
            Err(e) => return Err(e.into()),
        }
    }
    Err("the timer heap never needed to grow".into())
}

/// The first `ERROR` event a bufferevent reported, with its errno.
type FirstError = std::rc::Rc<std::cell::Cell<Option<(rvent::BevEvent, Option<i32>)>>>;

/// An event callback that records the first `ERROR` event.
fn record_errors(
    base: &mut rvent::EventBase,
    bev: rvent::Bufferevent,
) -> Result<FirstError, Error> {
    use rvent::BevEvent;
    let got = std::rc::Rc::new(std::cell::Cell::new(None));
    let seen = std::rc::Rc::clone(&got);
    bev.set_event_callback(base, move |base, bev, what| {
        if what.contains(BevEvent::ERROR) && seen.get().is_none() {
            let errno = bev
                .socket_error(base)
                .ok()
                .flatten()
                .and_then(|e| e.raw_os_error());
            seen.set(Some((what, errno)));
        }
    })?;
    Ok(got)
}

/// Writes `data` on `bev` after filling the timer heap, then runs the loop
/// once with allocation failing: the timer the write needs (named `what`
/// in the message) cannot be armed, so `bev` reports `WRITING | ERROR`
/// with `ENOMEM`.
fn a_write_the_loop_cannot_time_reports_enomem(
    base: &mut rvent::EventBase,
    bev: rvent::Bufferevent,
    data: &[u8],
    what: &str,
) -> TestResult {
    use rvent::{BevEvent, LoopFlags};
    let got = record_errors(base, bev)?;
    bev.write(base, data)?;
    fill_timer_heap(base)?;
    HOOKS.arm_from(1);
    let r = base.run(LoopFlags::NONBLOCK);
    let injected = HOOKS.disarm();
    check(injected && r.is_ok(), format!("the loop gave {r:?}"))?;
    check(
        got.get() == Some((BevEvent::WRITING | BevEvent::ERROR, Some(libc::ENOMEM))),
        format!("event after the failed {what}: {:?}", got.get()),
    )
}

/// The loop starts a pair's write timer when output waits (servicing the
/// pair after `write`): the timer heap cannot grow, and no call returns,
/// so the failure is `WRITING | ERROR` with `ENOMEM`, writing disabled.
/// It used to be dropped: the write timeout would never fire.
fn a_pair_timeout_the_loop_cannot_arm_reports_enomem() -> TestResult {
    use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    let mut base = EventBase::new()?;
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    b.disable(&mut base, Ev::READ)?; // the output waits
    a.set_timeouts(&mut base, None, Some(Duration::from_secs(5)))?;
    a_write_the_loop_cannot_time_reports_enomem(&mut base, a, b"waits", "re-arm")?;
    check(!a.enabled(&base)?.contains(Ev::WRITE), "writing disabled")?;
    a.free(&mut base)?;
    b.free(&mut base)?;
    Ok(())
}

/// A filter's pass over its output restarts its write timer (libevent's
/// `be_filter_process_output`): when the timer heap cannot grow there,
/// the filter reports `WRITING | ERROR` with `ENOMEM`. It used to mark the
/// timer running without arming it, so the timeout never fired.
fn a_filter_timeout_the_loop_cannot_restart_reports_enomem() -> TestResult {
    use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    let mut base = EventBase::new()?;
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    let f = Bufferevent::filter(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    b.disable(&mut base, Ev::READ)?;
    f.set_timeouts(&mut base, None, Some(Duration::from_secs(5)))?;
    a_write_the_loop_cannot_time_reports_enomem(&mut base, f, b"passes", "restart")?;
    check(!f.enabled(&base)?.contains(Ev::WRITE), "writing disabled")?;
    f.free(&mut base)?;
    b.free(&mut base)?;
    Ok(())
}

/// When a connect finishes the socket bufferevent starts reading (its
/// read event added with the read timeout): the timer heap cannot grow,
/// so it reports `ERROR` with `ENOMEM`. It used to mark the read event
/// added without adding it: connected, and never reading.
fn a_read_event_the_connect_cannot_add_reports_enomem() -> TestResult {
    use rvent::{BevEvent, BevOptions, Bufferevent, Ev, EventBase, LoopFlags};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut base = EventBase::new()?;
    let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE)?;
    bev.set_timeouts(&mut base, Some(Duration::from_secs(5)), None)?;
    bev.enable(&mut base, Ev::READ)?;
    let got = record_errors(&mut base, bev)?;
    bev.connect(&mut base, listener.local_addr()?)?;
    fill_timer_heap(&mut base)?;
    let until = Instant::now() + Duration::from_secs(2);
    while got.get().is_none() && Instant::now() < until {
        HOOKS.arm_from(1);
        let r = base.run(LoopFlags::NONBLOCK);
        HOOKS.disarm();
        r?;
        std::thread::sleep(Duration::from_millis(1));
    }
    check(
        got.get().is_some_and(|(what, errno)| {
            what.contains(BevEvent::ERROR) && errno == Some(libc::ENOMEM)
        }),
        format!("event after the failed add: {:?}", got.get()),
    )?;
    bev.free(&mut base)?;
    Ok(())
}

/// A rate-limited write empties the bucket in the loop: writing is
/// suspended until the refill timer's tick, and the timer heap cannot
/// grow to arm it. It used to stay suspended for ever, silently; now
/// writing fails with `WRITING | ERROR` and `ENOMEM`, not suspended.
fn a_rate_limit_tick_the_loop_cannot_arm_reports_enomem() -> TestResult {
    use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    let mut base = EventBase::new()?;
    let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    let bev = Bufferevent::from_stream(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    let cfg = TokenBucketCfg::new(1 << 20, 1 << 20, 4, 4, None)?;
    bev.set_rate_limit(&mut base, Some(&cfg))?;
    a_write_the_loop_cannot_time_reports_enomem(&mut base, bev, &[7; 100], "tick")?;
    check(bev.write_limit(&base)? <= 0, "the bucket ran dry")?;
    bev.free(&mut base)?;
    Ok(())
}

/// A member's rate-limited write empties its group's bucket in the loop:
/// every member is suspended until the group's refill tick, and the timer
/// heap cannot grow to arm it. The members used to stay suspended for
/// ever, silently; now each one — the writer and the idle member alike —
/// reports `WRITING | ERROR` with `ENOMEM`, and none stays suspended.
fn a_group_tick_the_loop_cannot_arm_fails_every_member() -> TestResult {
    use rvent::{BevEvent, BevOptions, Bufferevent, EventBase, LoopFlags};
    use rvent::{RateLimitGroup, TokenBucketCfg};
    let mut base = EventBase::new()?;
    let (a, _peer_a) = std::os::unix::net::UnixStream::pair()?;
    let (b, _peer_b) = std::os::unix::net::UnixStream::pair()?;
    let writer = Bufferevent::from_stream(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    let idle = Bufferevent::from_stream(&mut base, b, BevOptions::CLOSE_ON_FREE)?;
    let cfg = TokenBucketCfg::new(1 << 20, 1 << 20, 4, 4, None)?;
    let group = RateLimitGroup::new(&mut base, &cfg)?;
    group.add(&mut base, writer)?;
    group.add(&mut base, idle)?;
    let got = [
        record_errors(&mut base, writer)?,
        record_errors(&mut base, idle)?,
    ];
    writer.write(&mut base, &[7; 100])?;
    fill_timer_heap(&mut base)?;
    HOOKS.arm_from(1);
    let r = base.run(LoopFlags::NONBLOCK);
    let injected = HOOKS.disarm();
    check(injected && r.is_ok(), format!("the loop gave {r:?}"))?;
    check(group.write_limit(&base)? <= 0, "the group's bucket ran dry")?;
    let want = Some((BevEvent::WRITING | BevEvent::ERROR, Some(libc::ENOMEM)));
    for (name, got) in ["writer", "idle member"].iter().zip(&got) {
        check(
            got.get() == want,
            format!("{name}'s event after the failed tick: {:?}", got.get()),
        )?;
    }
    // Not left suspended: with tokens given back, a member whose writing
    // is enabled again writes at once.
    group.decrement_write(&mut base, -1000)?;
    idle.enable(&mut base, rvent::Ev::WRITE)?;
    idle.write(&mut base, b"x")?;
    base.run(LoopFlags::NONBLOCK)?;
    check(idle.output_len(&base)? == 0, "the idle member wrote")?;
    group.remove(&mut base, writer)?;
    group.remove(&mut base, idle)?;
    group.free(&mut base)?;
    writer.free(&mut base)?;
    idle.free(&mut base)?;
    Ok(())
}

/// `RateLimitGroup::decrement_write` below zero needs the refill timer:
/// with no room to arm it the call returns `Err(Alloc)` and changes
/// nothing — the level and the members as they were.
fn a_group_decrement_without_timer_room_changes_nothing() -> TestResult {
    use rvent::{BevOptions, Bufferevent, EventBase, LoopFlags};
    use rvent::{RateLimitGroup, TokenBucketCfg};
    let mut base = EventBase::new()?;
    let (a, _peer) = std::os::unix::net::UnixStream::pair()?;
    let bev = Bufferevent::from_stream(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    let cfg = TokenBucketCfg::new(1 << 20, 1 << 20, 1000, 1000, None)?;
    let group = RateLimitGroup::new(&mut base, &cfg)?;
    group.add(&mut base, bev)?;
    let before = group.write_limit(&base)?;
    fill_timer_heap(&mut base)?;
    HOOKS.arm_from(1);
    let r = group.decrement_write(&mut base, 5000);
    let injected = HOOKS.disarm();
    check(
        injected && matches!(r, Err(Error::Alloc)),
        format!("decrement_write gave {r:?}"),
    )?;
    check(group.write_limit(&base)? == before, "the level as it was")?;
    bev.write(&mut base, b"still writes")?;
    base.run(LoopFlags::NONBLOCK)?;
    check(bev.output_len(&base)? == 0, "the member is not suspended")?;
    group.remove(&mut base, bev)?;
    group.free(&mut base)?;
    bev.free(&mut base)?;
    Ok(())
}

/// An output filter writes to its own bufferevent from inside its closure
/// (the write lands in a stand-in) and leaves part of its source behind;
/// appending the stand-in to the real output when the closure returns
/// needs the chain list to grow, and it cannot. The written bytes used to
/// be dropped; now the filter reports `WRITING | ERROR` with `ENOMEM`,
/// keeps them, and once writing is enabled again they follow the rest in
/// order.
fn bytes_a_filter_writes_to_itself_survive_a_failed_append() -> TestResult {
    use rvent::LoopFlags;
    use rvent::{BevEvent, BevOptions, Bufferevent, Ev, Evbuffer, EventBase, FilterResult};
    let mut base = EventBase::new()?;
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    let f = Bufferevent::filter(&mut base, a, BevOptions::CLOSE_ON_FREE)?;
    b.enable(&mut base, Ev::READ)?;
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = calls.clone();
    f.set_output_filter(
        &mut base,
        move |base: &mut EventBase, bev, src: &mut Evbuffer, dst: &mut Evbuffer, _, _| {
            c.set(c.get() + 1);
            if c.get() > 1 {
                return match dst.add_buffer(src) {
                    Ok(()) => FilterResult::Ok,
                    Err(_) => FilterResult::Error,
                };
            }
            // One byte through; "!" to itself (the stand-in); then no
            // allocation may succeed.
            if src.remove_buffer(dst, 1).is_err() || bev.write(base, b"!").is_err() {
                return FilterResult::Error;
            }
            HOOKS.arm_from(1);
            FilterResult::Ok
        },
    )?;
    let got = record_errors(&mut base, f)?;
    f.write(&mut base, b"hello")?;
    let r = base.run(LoopFlags::NONBLOCK);
    let injected = HOOKS.disarm();
    check(injected && r.is_ok(), format!("the loop gave {r:?}"))?;
    check(
        got.get() == Some((BevEvent::WRITING | BevEvent::ERROR, Some(libc::ENOMEM))),
        format!("event after the failed append: {:?}", got.get()),
    )?;
    check(f.output_len(&base)? == 4, "the rest of the source is back")?;
    check(
        f.write(&mut base, b"?").is_err(),
        "nothing may be added ahead of the kept bytes",
    )?;
    f.enable(&mut base, Ev::WRITE)?;
    for _ in 0..3 {
        base.run(LoopFlags::NONBLOCK)?;
    }
    let mut out = [0u8; 16];
    let n = b.read(&mut base, &mut out)?;
    check(
        &out[..n] == b"hello!",
        format!("the partner got {:?}", String::from_utf8_lossy(&out[..n])),
    )?;
    f.write(&mut base, b"?")?;
    f.free(&mut base)?;
    b.free(&mut base)?;
    Ok(())
}
