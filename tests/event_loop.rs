//! The event loop (tutorial ch. 5, libevent `main/` loop tests): run flags, exit / break / continue, re-entrancy, strict priorities, dispatch limits, the time cache, running_event and active_by_fd.

mod util;

use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime};

use rvent::{BaseFlags, Config, Error, Ev, Event, EventBase, EventInfo, LoopFlags, LoopStatus};
use util::{Counter, LATE, Log, assert_on_time, ms, nop, pair, retry_timing};

/// A timer that counts its calls and, while below `limit`, re-adds itself
/// with a zero timeout (so it fires again on the next iteration).
fn readding_timer(base: &mut EventBase, count: &Counter, limit: usize) -> Event {
    let c = count.clone();
    Event::timer(base, move |base, ev, _, _| {
        c.bump();
        if c.get() < limit {
            ev.add(base, Some(Duration::ZERO)).unwrap();
        }
    })
    .unwrap()
}

/// Like `readding_timer`, but re-activates itself with `active`.
fn reactivating_event(base: &mut EventBase, count: &Counter, limit: usize) -> Event {
    let c = count.clone();
    Event::timer(base, move |base, ev, _, _| {
        c.bump();
        if c.get() < limit {
            ev.active(base, Ev::TIMEOUT).unwrap();
        }
    })
    .unwrap()
}

#[test]
fn empty_base_returns_no_events_for_every_flag() {
    let mut base = EventBase::new().unwrap();
    for flags in [
        LoopFlags::empty(),
        LoopFlags::ONCE,
        LoopFlags::NONBLOCK,
        LoopFlags::ONCE | LoopFlags::NONBLOCK,
    ] {
        assert_eq!(base.run(flags).unwrap(), LoopStatus::NoEvents, "{flags:?}");
    }
    // A created but not added event does not keep the loop alive.
    let _idle = Event::timer(&mut base, nop).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert!(!base.got_exit() && !base.got_break());
}

#[test]
fn once_runs_one_batch_of_callbacks() {
    retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let log = Log::new();
        let mut timers = Vec::new();
        let start = Instant::now();
        for (name, after) in [("a", 10), ("b", 40)] {
            let l = log.clone();
            let t = Event::timer(&mut base, move |_, _, _, _| l.push(name)).unwrap();
            t.add(&mut base, Some(ms(after))).unwrap();
            timers.push(t);
        }
        assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::Exited);
        assert_on_time(
            start,
            Instant::now(),
            ms(10),
            "ONCE blocks until the first timer",
        );
        assert_eq!(log.get(), ["a"]);
        assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::Exited);
        assert_on_time(
            start,
            Instant::now(),
            ms(40),
            "second ONCE waits for the second timer",
        );
        assert_eq!(log.get(), ["a", "b"]);
        assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::NoEvents);

        // A timer that re-adds itself with a zero timeout is pending, not
        // active, after the pass: ONCE returns after one call.
        let count = Counter::new();
        let t = readding_timer(&mut base, &count, 5);
        t.add(&mut base, Some(Duration::ZERO)).unwrap();
        assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::Exited);
        assert_eq!(count.get(), 1);
        // An event that re-activates itself keeps callbacks active: ONCE
        // returns only once the active queues are empty.
        let count = Counter::new();
        let e = reactivating_event(&mut base, &count, 5);
        e.active(&mut base, Ev::TIMEOUT).unwrap();
        t.del(&mut base).unwrap();
        assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::Exited);
        assert_eq!(count.get(), 5);
    });
}

#[test]
fn nonblock_never_blocks_and_repolls_while_active() {
    retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let fired = Counter::new();
        let f = fired.clone();
        let later = Event::timer(&mut base, move |_, _, _, _| f.bump()).unwrap();
        later.add(&mut base, Some(Duration::from_secs(5))).unwrap();
        let start = Instant::now();
        assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::Exited);
        assert_eq!(
            base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap(),
            LoopStatus::Exited
        );
        assert!(
            start.elapsed() < LATE,
            "NONBLOCK blocked for {:?}",
            start.elapsed()
        );
        assert_eq!(fired.get(), 0);

        // NONBLOCK keeps polling (with a zero timeout) while callbacks become
        // active: a zero-timeout timer re-adding itself runs to its limit.
        let count = Counter::new();
        let t = readding_timer(&mut base, &count, 5);
        t.add(&mut base, Some(Duration::ZERO)).unwrap();
        assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::Exited);
        assert_eq!(count.get(), 5);
        // ONCE | NONBLOCK is a single pass.
        let count = Counter::new();
        let t = readding_timer(&mut base, &count, 5);
        t.add(&mut base, Some(Duration::ZERO)).unwrap();
        assert_eq!(
            base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap(),
            LoopStatus::Exited
        );
        assert_eq!(count.get(), 1);
        assert!(start.elapsed() < LATE);
        assert_eq!(fired.get(), 0);
        assert!(
            t.pending(&base, Ev::TIMEOUT)
                .unwrap()
                .0
                .contains(Ev::TIMEOUT)
        );
    });
}

#[test]
fn nonblock_runs_ready_io() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    let got = Log::new();
    let g = got.clone();
    let mut rd = b.try_clone().unwrap();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |_, _, _, what| {
            let mut buf = [0u8; 8];
            let n = rd.read(&mut buf).unwrap();
            g.push((what, buf[..n].to_vec()));
        },
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap(),
        LoopStatus::Exited
    );
    assert!(got.is_empty());
    a.write_all(b"ping").unwrap();
    assert_eq!(
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap(),
        LoopStatus::Exited
    );
    assert_eq!(got.take(), [(Ev::READ, b"ping".to_vec())]);
}

#[test]
fn no_exit_on_empty_keeps_the_loop_until_told_to_stop() {
    retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let hits = Log::new();
        let h = hits.clone();
        let ev = Event::timer(&mut base, move |_, _, _, what| h.push(what)).unwrap();
        let notifier = base.notifier();
        let start = Instant::now();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(ms(20));
            notifier.activate(ev, Ev::READ).unwrap();
            std::thread::sleep(ms(20));
            notifier.loopexit(None).unwrap();
        });
        assert_eq!(
            base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(),
            LoopStatus::Exited
        );
        let took = start.elapsed();
        thread.join().unwrap();
        assert!(
            took >= ms(40),
            "returned after {took:?}, before the loopexit"
        );
        assert!(took <= ms(40) + LATE, "returned after {took:?}");
        assert!(base.got_exit());
        assert_eq!(hits.get(), [Ev::READ]);

        // A loopbreak from another thread stops it too.
        let notifier = base.notifier();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(ms(10));
            notifier.loopbreak().unwrap();
        });
        assert_eq!(
            base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(),
            LoopStatus::Exited
        );
        thread.join().unwrap();
        assert!(base.got_break() && !base.got_exit());
        // Without the flag the same base returns at once.
        assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    });
}

#[test]
fn reentrant_run_fails_and_the_outer_loop_continues() {
    let mut base = EventBase::new().unwrap();
    let results = Log::new();
    let r = results.clone();
    let ev = Event::timer(&mut base, move |base, _, _, _| {
        for flags in [LoopFlags::empty(), LoopFlags::NONBLOCK] {
            r.push(matches!(base.run(flags), Err(Error::Reentrant)));
        }
        r.push(matches!(base.dispatch(), Err(Error::Reentrant)));
    })
    .unwrap();
    ev.add(&mut base, Some(Duration::ZERO)).unwrap();
    let after = Counter::new();
    let a = after.clone();
    let later = Event::timer(&mut base, move |_, _, _, _| a.bump()).unwrap();
    later.add(&mut base, Some(ms(5))).unwrap();
    // main/bad_reentrant: the outer loop goes on and returns 1 (no events).
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(results.get(), [true, true, true]);
    assert_eq!(after.get(), 1);
    // The base is usable afterwards.
    later.add(&mut base, Some(Duration::ZERO)).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(after.get(), 2);
}

#[test]
fn loopbreak_stops_after_the_current_callback() {
    let mut base = EventBase::new().unwrap();
    let log = Log::new();
    let l = log.clone();
    let first = Event::timer(&mut base, move |base, _, _, _| {
        l.push("first");
        base.loopbreak();
        l.push("after loopbreak");
    })
    .unwrap();
    let l = log.clone();
    let second = Event::timer(&mut base, move |_, _, _, _| l.push("second")).unwrap();
    first.add(&mut base, Some(Duration::ZERO)).unwrap();
    second.add(&mut base, Some(Duration::ZERO)).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert_eq!(log.get(), ["first", "after loopbreak"]);
    assert!(base.got_break());
    assert!(!base.got_exit());
    // The second timer is still due; the next run resets the flags and runs it.
    assert!(!second.pending(&base, Ev::TIMEOUT).unwrap().0.is_empty());
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(log.get(), ["first", "after loopbreak", "second"]);
    assert!(!base.got_break() && !base.got_exit());
}

#[test]
fn loopbreak_before_the_loop_has_no_effect() {
    // libevent resets got_break on loop entry, so a break requested before
    // the loop has no effect on it.
    let mut base = EventBase::new().unwrap();
    let count = Counter::new();
    let c = count.clone();
    let t = Event::timer(&mut base, move |_, _, _, _| c.bump()).unwrap();
    t.add(&mut base, Some(Duration::ZERO)).unwrap();
    base.loopbreak();
    assert!(base.got_break());
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(count.get(), 1);
    assert!(!base.got_break());
}

#[test]
fn loopexit_with_delay_returns_on_time() {
    retry_timing(|| {
        // main/loopexit: a 24 h timer is pending; loopexit(300 ms) wins.
        let mut base = EventBase::new().unwrap();
        let fired = Counter::new();
        let f = fired.clone();
        let day = Event::timer(&mut base, move |_, _, _, _| f.bump()).unwrap();
        day.add(&mut base, Some(Duration::from_secs(24 * 3600)))
            .unwrap();
        let start = Instant::now();
        base.loopexit(Some(ms(300))).unwrap();
        assert!(
            !base.got_exit(),
            "loopexit with a delay does not set the flag yet"
        );
        assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
        assert_on_time(start, Instant::now(), ms(300), "loopexit");
        assert!(base.got_exit());
        assert!(!base.got_break());
        assert_eq!(fired.get(), 0);
        assert!(
            day.pending(&base, Ev::TIMEOUT)
                .unwrap()
                .0
                .contains(Ev::TIMEOUT)
        );
    });
}

#[test]
fn loopexit_multiple_earliest_wins() {
    retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let start = Instant::now();
        base.loopexit(Some(ms(100))).unwrap();
        base.loopexit(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
        assert_on_time(start, Instant::now(), ms(100), "earliest loopexit");
        assert!(base.got_exit());
        // The later request is still pending (it is an ordinary one-shot timer).
        assert_eq!(base.num_pending(), 1);
        base.assert_invariants();
        // Dropping the base with it pending is fine.
    });
}

#[test]
fn loopexit_none_runs_the_active_callbacks_first() {
    retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let log = Log::new();
        let mut evs = Vec::new();
        for name in ["a", "b", "c"] {
            let l = log.clone();
            evs.push(
                Event::timer(&mut base, move |base, _, _, _| {
                    l.push(name);
                    if name == "a" {
                        base.loopexit(None).unwrap();
                    }
                })
                .unwrap(),
            );
        }
        for e in &evs {
            e.active(&mut base, Ev::TIMEOUT).unwrap();
        }
        let l = log.clone();
        let due = Event::timer(&mut base, move |_, _, _, _| l.push("due")).unwrap();
        due.add(&mut base, Some(Duration::ZERO)).unwrap();
        // Keep the loop alive past the exit, to show it was loopexit that ended it.
        let keep = Event::timer(&mut base, nop).unwrap();
        keep.add(&mut base, Some(Duration::from_secs(60))).unwrap();
        let start = Instant::now();
        assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
        assert!(start.elapsed() < LATE);
        // The exit is queued behind b, c and the expired timer, which all run
        // in the same pass.
        assert_eq!(log.get(), ["a", "b", "c", "due"]);
        assert!(base.got_exit() && !base.got_break());

        // loopexit(None) before the loop: the next run does one pass and exits.
        let before = log.len();
        for e in &evs[1..] {
            e.active(&mut base, Ev::TIMEOUT).unwrap();
        }
        base.loopexit(None).unwrap();
        assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
        assert_eq!(&log.get()[before..], ["b", "c"]);
        assert!(base.got_exit());
    });
}

#[test]
fn got_exit_and_got_break_reset_on_next_run() {
    let mut base = EventBase::new().unwrap();
    base.loopexit(Some(ms(1))).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert!(base.got_exit());
    // Still set after the loop returns, until the next run starts.
    assert!(base.got_exit());
    let t = Event::timer(&mut base, |base, _, _, _| base.loopbreak()).unwrap();
    t.add(&mut base, Some(Duration::ZERO)).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert!(base.got_break());
    assert!(!base.got_exit(), "got_exit reset when the run started");
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);
    assert!(!base.got_break() && !base.got_exit());
}

#[test]
fn loopcontinue_goes_back_to_polling() {
    // Three active events at priority 1; the first adds a zero-timeout
    // timer at priority 0. With loopcontinue the loop polls again after the
    // first callback and runs the urgent timer before the other two.
    fn scenario(cont: bool) -> Vec<&'static str> {
        let mut base = EventBase::new().unwrap();
        base.priority_init(2).unwrap();
        let log = Log::new();
        let l = log.clone();
        let urgent = Event::timer(&mut base, move |_, _, _, _| l.push("urgent")).unwrap();
        urgent.set_priority(&mut base, 0).unwrap();
        let mut evs = Vec::new();
        for name in ["a", "b", "c"] {
            let l = log.clone();
            let e = Event::timer(&mut base, move |base, _, _, _| {
                l.push(name);
                if name == "a" {
                    urgent.add(base, Some(Duration::ZERO)).unwrap();
                    if cont {
                        base.loopcontinue();
                    }
                }
            })
            .unwrap();
            e.set_priority(&mut base, 1).unwrap();
            evs.push(e);
        }
        for e in &evs {
            e.active(&mut base, Ev::TIMEOUT).unwrap();
        }
        // Outside the loop loopcontinue does nothing.
        base.loopcontinue();
        assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
        log.get()
    }
    assert_eq!(scenario(false), ["a", "b", "c", "urgent"]);
    assert_eq!(scenario(true), ["a", "urgent", "b", "c"]);
}

/// libevent's `main/priorities`: a priority-0 and a lowest-priority
/// zero-timeout timer re-add themselves; each calls `loopexit(None)` on its
/// fourth call instead. The exit event runs at the default (middle)
/// priority, so with more levels the low-priority timer is cut short.
fn priorities(n: usize) -> (usize, usize) {
    let mut base = EventBase::new().unwrap();
    base.priority_init(n).unwrap();
    let make = |base: &mut EventBase, pri: usize, count: &Counter| {
        let c = count.clone();
        let ev = Event::timer(base, move |base, ev, _, _| {
            if c.get() == 3 {
                base.loopexit(None).unwrap();
                return;
            }
            c.bump();
            ev.add(base, Some(Duration::ZERO)).unwrap();
        })
        .unwrap();
        ev.set_priority(base, pri).unwrap();
        ev
    };
    let (one, two) = (Counter::new(), Counter::new());
    let e1 = make(&mut base, 0, &one);
    let e2 = make(&mut base, n - 1, &two);
    e1.add(&mut base, Some(Duration::ZERO)).unwrap();
    e2.add(&mut base, Some(Duration::ZERO)).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert!(base.got_exit());
    base.assert_invariants();
    (one.get(), two.get())
}

#[test]
fn priorities_one_level() {
    assert_eq!(priorities(1), (3, 3));
}

#[test]
fn priorities_two_levels() {
    assert_eq!(priorities(2), (3, 1));
}

#[test]
fn priorities_three_levels() {
    assert_eq!(priorities(3), (3, 0));
}

#[test]
fn lower_priorities_starve_while_higher_ones_stay_busy() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(2).unwrap();
    let log = Log::new();
    let l = log.clone();
    let count = Counter::new();
    let c = count.clone();
    let busy = Event::timer(&mut base, move |base, ev, _, _| {
        c.bump();
        l.push("busy");
        if c.get() < 4 {
            ev.active(base, Ev::TIMEOUT).unwrap();
        }
    })
    .unwrap();
    busy.set_priority(&mut base, 0).unwrap();
    let l = log.clone();
    let low = Event::timer(&mut base, move |_, _, _, _| l.push("low")).unwrap();
    low.set_priority(&mut base, 1).unwrap();
    low.active(&mut base, Ev::TIMEOUT).unwrap();
    busy.active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(log.get(), ["busy", "busy", "busy", "busy", "low"]);
}

#[test]
fn priority_active_inversion() {
    // An outer event at priority 1 activates three priority-0 events; they
    // run right after it, before the priority-1 event queued behind it.
    let mut base = EventBase::new().unwrap();
    base.priority_init(2).unwrap();
    let log = Log::new();
    let mut inner = Vec::new();
    for i in 0..3 {
        let l = log.clone();
        let e = Event::timer(&mut base, move |_, _, _, what| {
            l.push(format!("inner{i} {what:?}"))
        })
        .unwrap();
        e.set_priority(&mut base, 0).unwrap();
        inner.push(e);
    }
    let l = log.clone();
    let outer = Event::timer(&mut base, move |base, _, _, _| {
        l.push("outer".to_owned());
        for e in &inner {
            e.active(base, Ev::READ).unwrap();
        }
        l.push("outer done".to_owned());
    })
    .unwrap();
    outer.set_priority(&mut base, 1).unwrap();
    let l = log.clone();
    let behind = Event::timer(&mut base, move |_, _, _, _| l.push("behind".to_owned())).unwrap();
    behind.set_priority(&mut base, 1).unwrap();
    outer.active(&mut base, Ev::TIMEOUT).unwrap();
    behind.active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(
        log.get(),
        [
            "outer",
            "outer done",
            "inner0 READ",
            "inner1 READ",
            "inner2 READ",
            "behind"
        ]
    );
}

#[test]
fn fifo_within_a_priority() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(3).unwrap();
    let log = Log::new();
    let mut evs = Vec::new();
    for i in 0..20usize {
        let l = log.clone();
        let e = Event::timer(&mut base, move |_, _, _, _| l.push(i)).unwrap();
        evs.push(e);
    }
    // Activation order, not creation order, decides; re-activating an
    // active event does not move it.
    let order = [
        7, 3, 19, 0, 12, 5, 1, 18, 2, 4, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17,
    ];
    for &i in &order {
        evs[i].active(&mut base, Ev::TIMEOUT).unwrap();
    }
    evs[7].active(&mut base, Ev::READ).unwrap();
    evs[3].del(&mut base).unwrap();
    evs[3].active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(base.num_active(), 20);
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    let mut want: Vec<usize> = order.iter().copied().filter(|&i| i != 3).collect();
    want.push(3);
    assert_eq!(log.get(), want);
}

/// Four events at priority 1 are active; the first adds a zero-timeout
/// timer at priority 0 and the second takes `slow_b`. Returns the order
/// callbacks ran in.
fn limit_scenario(cfg: &Config, slow_b: Duration) -> Vec<&'static str> {
    let mut base = EventBase::with_config(cfg).unwrap();
    base.priority_init(3).unwrap();
    let log = Log::new();
    let l = log.clone();
    let urgent = Event::timer(&mut base, move |_, _, _, _| l.push("T")).unwrap();
    urgent.set_priority(&mut base, 0).unwrap();
    let mut evs = Vec::new();
    for name in ["A", "B", "C", "D"] {
        let l = log.clone();
        let e = Event::timer(&mut base, move |base, _, _, _| {
            l.push(name);
            match name {
                "A" => urgent.add(base, Some(Duration::ZERO)).unwrap(),
                "B" => std::thread::sleep(slow_b),
                _ => {}
            }
        })
        .unwrap();
        e.set_priority(&mut base, 1).unwrap();
        evs.push(e);
    }
    for e in &evs {
        e.active(&mut base, Ev::TIMEOUT).unwrap();
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    log.get()
}

#[test]
fn max_dispatch_callbacks_limits_one_pass() {
    let unlimited = limit_scenario(&Config::new(), Duration::ZERO);
    assert_eq!(unlimited, ["A", "B", "C", "D", "T"]);
    let mut cfg = Config::new();
    cfg.set_max_dispatch_interval(None, Some(2), 0);
    assert_eq!(
        limit_scenario(&cfg, Duration::ZERO),
        ["A", "B", "T", "C", "D"]
    );
    cfg.set_max_dispatch_interval(None, Some(1), 0);
    assert_eq!(
        limit_scenario(&cfg, Duration::ZERO),
        ["A", "T", "B", "C", "D"]
    );
    // The limit applies only to priorities >= min_priority.
    cfg.set_max_dispatch_interval(None, Some(1), 2);
    assert_eq!(
        limit_scenario(&cfg, Duration::ZERO),
        ["A", "B", "C", "D", "T"]
    );
    cfg.set_max_dispatch_interval(None, Some(1), 1);
    assert_eq!(
        limit_scenario(&cfg, Duration::ZERO),
        ["A", "T", "B", "C", "D"]
    );
}

#[test]
fn max_dispatch_interval_limits_one_pass() {
    retry_timing(|| {
        // B alone uses up the 30 ms budget: the pass stops after it.
        let mut cfg = Config::new();
        cfg.set_max_dispatch_interval(Some(ms(30)), None, 0);
        assert_eq!(limit_scenario(&cfg, ms(30)), ["A", "B", "T", "C", "D"]);
        // The same budget, but only for priorities >= 2.
        cfg.set_max_dispatch_interval(Some(ms(30)), None, 2);
        assert_eq!(limit_scenario(&cfg, ms(30)), ["A", "B", "C", "D", "T"]);
        // A generous budget changes nothing.
        cfg.set_max_dispatch_interval(Some(Duration::from_secs(10)), None, 0);
        assert_eq!(limit_scenario(&cfg, ms(1)), ["A", "B", "C", "D", "T"]);
    });
}

#[test]
fn gettimeofday_cached_is_fixed_within_an_iteration() {
    let mut base = EventBase::new().unwrap();
    let seen: Log<(&str, SystemTime)> = Log::new();
    let mut evs = Vec::new();
    for name in ["a", "b", "c"] {
        let s = seen.clone();
        evs.push(
            Event::timer(&mut base, move |base, _, _, _| {
                s.push((name, base.gettimeofday_cached()));
                std::thread::sleep(ms(2));
                s.push((name, base.gettimeofday_cached()));
            })
            .unwrap(),
        );
    }
    // a and b run in the first iteration; c is added by a with a zero
    // timeout and so runs in the next one.
    let c = evs[2];
    let s = seen.clone();
    let first = Event::timer(&mut base, move |base, _, _, _| {
        s.push(("first", base.gettimeofday_cached()));
        c.add(base, Some(Duration::ZERO)).unwrap();
        std::thread::sleep(ms(2));
    })
    .unwrap();
    first.active(&mut base, Ev::TIMEOUT).unwrap();
    evs[0].active(&mut base, Ev::TIMEOUT).unwrap();
    evs[1].active(&mut base, Ev::TIMEOUT).unwrap();
    let before = SystemTime::now();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    let after = SystemTime::now();
    let seen = seen.get();
    assert_eq!(seen.len(), 7);
    let t0 = seen[0].1;
    assert!(before <= t0 && t0 <= after);
    for (name, t) in &seen[..5] {
        assert_eq!(*t, t0, "{name} saw a different cached time: {seen:?}");
    }
    assert_eq!(seen[5].0, "c");
    assert!(
        seen[5].1 > t0,
        "a new iteration refreshes the cache: {seen:?}"
    );
    assert_eq!(seen[5].1, seen[6].1);

    // Outside the loop it reads the clock.
    let x = base.gettimeofday_cached();
    std::thread::sleep(ms(1));
    assert!(base.gettimeofday_cached() > x);
}

#[test]
fn update_cache_time_refreshes_the_cache() {
    let mut base = EventBase::new().unwrap();
    let seen = Log::new();
    let s = seen.clone();
    let ev = Event::timer(&mut base, move |base, _, _, _| {
        let a = base.gettimeofday_cached();
        let na = base.now();
        std::thread::sleep(ms(2));
        s.push(base.gettimeofday_cached() == a);
        s.push(base.now() == na);
        base.update_cache_time();
        let b = base.gettimeofday_cached();
        s.push(b > a);
        s.push(base.now() >= na + ms(2));
        std::thread::sleep(ms(2));
        s.push(base.gettimeofday_cached() == b);
    })
    .unwrap();
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    // Outside the loop update_cache_time is a no-op and the clock is read.
    base.update_cache_time();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(seen.get(), [true, true, true, true, true]);
}

#[test]
fn no_cache_time_reads_the_clock_every_time() {
    let mut cfg = Config::new();
    cfg.set_flag(BaseFlags::NO_CACHE_TIME);
    let mut base = EventBase::with_config(&cfg).unwrap();
    let seen = Log::new();
    let mut evs = Vec::new();
    for _ in 0..2 {
        let s = seen.clone();
        evs.push(
            Event::timer(&mut base, move |base, _, _, _| {
                let a = base.gettimeofday_cached();
                std::thread::sleep(ms(2));
                let b = base.gettimeofday_cached();
                base.update_cache_time();
                s.push((a, b));
            })
            .unwrap(),
        );
    }
    for e in &evs {
        e.active(&mut base, Ev::TIMEOUT).unwrap();
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    let seen = seen.get();
    assert_eq!(seen.len(), 2);
    for (a, b) in &seen {
        assert!(b.duration_since(*a).unwrap() >= ms(2), "{seen:?}");
    }
    assert!(seen[1].0 >= seen[0].1, "{seen:?}");
}

#[test]
fn running_event_inside_and_outside_callbacks() {
    let mut base = EventBase::new().unwrap();
    assert_eq!(base.running_event(), None);
    let seen = Log::new();
    let mut evs = Vec::new();
    for _ in 0..3 {
        let s = seen.clone();
        evs.push(
            Event::timer(&mut base, move |base, ev, _, _| {
                s.push((base.running_event(), ev));
            })
            .unwrap(),
        );
    }
    evs[0].add(&mut base, Some(Duration::ZERO)).unwrap();
    evs[1].active(&mut base, Ev::TIMEOUT).unwrap();
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    evs[2]
        .assign(&mut base, b.as_raw_fd(), Ev::READ, {
            let s = seen.clone();
            move |base, ev, _, _| s.push((base.running_event(), ev))
        })
        .unwrap();
    evs[2].add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    let seen = seen.get();
    assert_eq!(seen.len(), 3);
    for (running, ev) in &seen {
        assert_eq!(*running, Some(*ev));
    }
    assert_eq!(base.running_event(), None);
}

fn active_flags(base: &EventBase, ev: Event) -> Option<Ev> {
    base.foreach_event(|i: &EventInfo| {
        if i.event == ev {
            ControlFlow::Break(i.active)
        } else {
            ControlFlow::Continue(())
        }
    })
    .flatten()
}

#[test]
fn active_by_fd_activates_only_pending_events_on_that_fd() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = pair();
    let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
    let log = Log::new();
    let mk = |base: &mut EventBase, name: &'static str, fd, what| {
        let l = log.clone();
        Event::new(base, fd, what, move |_, _, _, res| l.push((name, res))).unwrap()
    };
    let r = mk(&mut base, "r", fa, Ev::READ | Ev::PERSIST);
    let w = mk(&mut base, "w", fa, Ev::WRITE);
    let rw = mk(&mut base, "rw", fa, Ev::READ | Ev::WRITE);
    let not_added = mk(&mut base, "not_added", fa, Ev::READ);
    let other_fd = mk(&mut base, "other_fd", fb, Ev::READ);
    let timed = mk(&mut base, "timed", fa, Ev::CLOSED);
    let timer = Event::timer(&mut base, nop).unwrap();
    r.add(&mut base, None).unwrap();
    rw.add(&mut base, None).unwrap();
    other_fd.add(&mut base, None).unwrap();
    timed.add(&mut base, Some(Duration::from_secs(30))).unwrap();
    timer.add(&mut base, Some(Duration::from_secs(30))).unwrap();

    // Bogus fds are ignored.
    base.active_by_fd(-1, Ev::READ | Ev::WRITE | Ev::TIMEOUT);
    base.active_by_fd(i32::MAX, Ev::READ | Ev::WRITE | Ev::TIMEOUT);
    base.active_by_fd(4000, Ev::READ | Ev::WRITE | Ev::TIMEOUT);
    assert_eq!(base.num_active(), 0);

    base.active_by_fd(fa, Ev::READ);
    assert_eq!(active_flags(&base, r), Some(Ev::READ));
    assert_eq!(active_flags(&base, rw), Some(Ev::READ));
    assert_eq!(active_flags(&base, w), None, "w is not added");
    assert_eq!(active_flags(&base, not_added), None);
    assert_eq!(active_flags(&base, other_fd), None);
    assert_eq!(active_flags(&base, timed), None);
    assert_eq!(active_flags(&base, timer), None);
    assert_eq!(base.num_active(), 2);

    w.add(&mut base, None).unwrap();
    base.active_by_fd(fa, Ev::WRITE);
    assert_eq!(active_flags(&base, rw), Some(Ev::READ | Ev::WRITE));
    assert_eq!(active_flags(&base, w), Some(Ev::WRITE));
    assert_eq!(active_flags(&base, r), Some(Ev::READ));
    // TIMEOUT reaches events on the fd that have a timeout, not other timers.
    base.active_by_fd(fa, Ev::TIMEOUT);
    assert_eq!(active_flags(&base, timed), Some(Ev::TIMEOUT));
    assert_eq!(active_flags(&base, timer), None);
    assert_eq!(base.num_active(), 4);
    base.assert_invariants();

    // Nothing is readable; the activations alone make the callbacks run.
    assert_eq!(
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap(),
        LoopStatus::Exited
    );
    let mut got = log.get();
    got.sort_by_key(|(n, _)| *n);
    // w, rw: the socket is also writable, which ORs into the same activation.
    assert_eq!(
        got,
        [
            ("r", Ev::READ),
            ("rw", Ev::READ | Ev::WRITE),
            ("timed", Ev::TIMEOUT),
            ("w", Ev::WRITE)
        ]
    );
}

#[test]
fn event_base_new_persistent_read_sees_data_then_eof() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"test").unwrap();
    a.shutdown(std::net::Shutdown::Write).unwrap();
    let calls = Log::new();
    let c = calls.clone();
    let mut rd = b.try_clone().unwrap();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |base, ev, _, what| {
            let mut buf = [0u8; 256];
            let n = rd.read(&mut buf).unwrap();
            c.push((what, buf[..n].to_vec()));
            if n == 0 {
                ev.del(base).unwrap();
                base.loopexit(None).unwrap();
            }
        },
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert_eq!(
        calls.get(),
        [(Ev::READ, b"test".to_vec()), (Ev::READ, Vec::new())]
    );
    assert!(base.got_exit());
    assert_eq!(base.num_pending(), 0);
}

/// Ready events run in poll order, and what their callbacks activate runs
/// after all of them (libevent queues every ready event before running any
/// callback; rvent's direct dispatch must keep that order).
#[test]
fn activations_from_callbacks_run_after_all_ready_events() {
    let mut base = EventBase::new().unwrap();
    let order = Log::new();
    let later = {
        let o = order.clone();
        Event::timer(&mut base, move |_, _, _, _| o.push("activated")).unwrap()
    };
    let mut keep = Vec::new();
    for name in ["a", "b"] {
        let (mut w, r) = pair();
        w.write_all(b"x").unwrap();
        let o = order.clone();
        let mut rd = r.try_clone().unwrap();
        let ev = Event::new(&mut base, r.as_raw_fd(), Ev::READ, move |base, _, _, _| {
            let mut buf = [0u8; 1];
            rd.read_exact(&mut buf).unwrap();
            o.push(name);
            later.active(base, Ev::TIMEOUT).unwrap();
        })
        .unwrap();
        ev.add(&mut base, None).unwrap();
        keep.push((w, r));
    }
    base.run(LoopFlags::ONCE).unwrap();
    let got = order.get();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2], "activated", "{got:?}");
    assert!(
        got[..2].contains(&"a") && got[..2].contains(&"b"),
        "{got:?}"
    );
}

/// loopbreak in the first of two ready callbacks: the second does not run
/// in this pass, stays active, and runs on the next one.
#[test]
fn loopbreak_leaves_other_ready_events_active() {
    let mut base = EventBase::new().unwrap();
    let calls = Counter::new();
    let mut keep = Vec::new();
    for _ in 0..2 {
        let (mut w, r) = pair();
        w.write_all(b"x").unwrap();
        let c = calls.clone();
        let mut rd = r.try_clone().unwrap();
        let ev = Event::new(&mut base, r.as_raw_fd(), Ev::READ, move |base, _, _, _| {
            let mut buf = [0u8; 1];
            rd.read_exact(&mut buf).unwrap();
            c.bump();
            base.loopbreak();
        })
        .unwrap();
        ev.add(&mut base, None).unwrap();
        keep.push((w, r));
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert_eq!(calls.get(), 1);
    assert_eq!(base.num_active(), 1, "the other ready event stays active");
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert_eq!(calls.get(), 2);
}

/// A callback that panics unwinds out of `run`, and the base stays usable:
/// the next run is not refused as re-entrant and other events still fire.
#[test]
fn base_survives_a_panicking_callback() {
    let mut base = EventBase::new().unwrap();
    let (mut w, r) = pair();
    w.write_all(b"x").unwrap();
    let bomb = Event::new(
        &mut base,
        r.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        |_, _, _, _| panic!("boom"),
    )
    .unwrap();
    bomb.add(&mut base, None).unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| base.dispatch()));
    assert!(res.is_err(), "the panic propagates to the caller");
    assert_eq!(base.running_event(), None);
    let (pending, _) = bomb.pending(&base, Ev::READ).unwrap();
    assert!(
        pending.is_empty(),
        "the panicked event no longer watches its fd"
    );
    // Its closure is gone: re-adding it would spin on the ready fd.
    assert!(matches!(
        bomb.add(&mut base, None),
        Err(rvent::Error::BadState(_))
    ));
    // Assigning a new callback makes it usable again.
    let rearmed = Counter::new();
    let c = rearmed.clone();
    bomb.assign(&mut base, r.as_raw_fd(), Ev::READ, move |_, _, _, _| {
        c.bump()
    })
    .unwrap();
    bomb.add(&mut base, None).unwrap();
    base.run(LoopFlags::ONCE).unwrap();
    assert_eq!(rearmed.get(), 1);
    let calls = Counter::new();
    let c = calls.clone();
    let ok = Event::timer(&mut base, move |_, _, _, _| c.bump()).unwrap();
    ok.add(&mut base, Some(Duration::ZERO)).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(calls.get(), 1);
    base.assert_invariants();
}
