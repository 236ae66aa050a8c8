//! The event base (tutorial ch. 4, libevent `main/` base tests): creation and config, features, priorities, teardown with live events, stale handles, invalid arguments, dump and foreach.

mod util;

use std::io::Write;
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::time::Duration;

use rvent::{
    BaseFlags, Config, Error, Ev, Event, EventBase, Features, LoopFlags, LoopStatus, MAX_PRIORITIES,
};
use util::{Counter, DropProbe, Log, nop, pair};

#[test]
fn new_base_prefers_epoll_with_one_priority() {
    let base = EventBase::new().unwrap();
    // `.ci/run`'s second pass sets EVENT_NOEPOLL: then poll.
    let noepoll = std::env::var_os("EVENT_NOEPOLL").is_some();
    assert_eq!(base.method(), if noepoll { "poll" } else { "epoll" });
    assert_eq!(EventBase::supported_methods(), &["epoll", "poll"]);
    assert_eq!(base.npriorities(), 1);
    assert_eq!(base.num_events(), 0);
    assert_eq!(base.num_pending(), 0);
    assert_eq!(base.num_active(), 0);
    assert!(base.flags().contains(BaseFlags::NOLOCK));
    assert!(base.flags().contains(BaseFlags::PRECISE_TIMER));
    let f = base.features();
    if noepoll {
        assert_eq!(f, Features::FDS | Features::EARLY_CLOSE);
    } else {
        assert_eq!(f, Features::ET | Features::O1 | Features::EARLY_CLOSE);
        assert!(
            !f.contains(Features::FDS),
            "epoll cannot watch regular files: {f:?}"
        );
    }
    base.assert_invariants();
}

/// A config that ignores the environment, so the choice is the config's.
fn config() -> Config {
    let mut cfg = Config::new();
    cfg.set_flag(BaseFlags::IGNORE_ENV);
    cfg
}

#[test]
fn avoiding_epoll_selects_poll() {
    for name in ["epoll", "EPOLL"] {
        let mut cfg = config();
        cfg.avoid_method(name);
        let base = EventBase::with_config(&cfg).unwrap();
        assert_eq!(base.method(), "poll", "avoiding {name:?}");
        assert_eq!(base.features(), Features::FDS | Features::EARLY_CLOSE);
        assert!(!base.features().contains(Features::ET));
        assert!(!base.features().contains(Features::O1));
    }
    // Avoiding both leaves none (libevent's main/methods).
    let mut cfg = config();
    cfg.avoid_method("epoll").avoid_method("Poll");
    assert!(matches!(
        EventBase::with_config(&cfg),
        Err(Error::NoBackend)
    ));
    // Avoiding poll, or a backend rvent does not have, keeps epoll.
    let mut cfg = config();
    cfg.avoid_method("select").avoid_method("poll");
    assert_eq!(EventBase::with_config(&cfg).unwrap().method(), "epoll");
}

#[test]
fn required_features_select_the_backend() {
    let mut cfg = config();
    cfg.require_features(Features::ET | Features::O1 | Features::EARLY_CLOSE);
    let base = EventBase::with_config(&cfg).unwrap();
    assert_eq!(base.method(), "epoll");
    assert!(
        base.features()
            .contains(Features::ET | Features::O1 | Features::EARLY_CLOSE)
    );

    // Regular files: poll (libevent on Linux does the same).
    cfg.require_features(Features::FDS);
    let base = EventBase::with_config(&cfg).unwrap();
    assert_eq!(base.method(), "poll");
    assert!(base.features().contains(Features::FDS));
    cfg.require_features(Features::ET | Features::FDS);
    assert!(matches!(
        EventBase::with_config(&cfg),
        Err(Error::NoBackend)
    ));
    cfg.require_features(Features::FDS).avoid_method("poll");
    assert!(matches!(
        EventBase::with_config(&cfg),
        Err(Error::NoBackend)
    ));

    // require_features replaces the earlier requirement.
    cfg.require_features(Features::ET);
    assert!(EventBase::with_config(&cfg).is_ok());
}

/// Set in a child run of this binary: the backend `EventBase::new` must
/// pick under the child's environment ("none": no backend).
const METHOD_CHILD: &str = "RVENT_TEST_EXPECT_METHOD";

/// The environment disables backends by name (`EVENT_NOEPOLL`,
/// `EVENT_NOPOLL`) unless the config ignores it (libevent's
/// main/base_environ). Each case runs in a child with that environment.
#[test]
fn environment_selects_the_backend() {
    let cases: [(&[&str], &str); 4] = [
        (&["EVENT_NOEPOLL"], "poll"),
        (&["EVENT_NOPOLL"], "epoll"),
        (&["EVENT_NOEPOLL", "EVENT_NOPOLL"], "none"),
        (&[], "epoll"),
    ];
    for (vars, want) in cases {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "environment_child", "--test-threads", "1"])
            .env_remove("EVENT_NOEPOLL")
            .env_remove("EVENT_NOPOLL")
            .env(METHOD_CHILD, want);
        for v in vars {
            cmd.env(v, "1");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{vars:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The child of [`environment_selects_the_backend`]; passes at once in a
/// normal run.
#[test]
fn environment_child() {
    let Some(want) = std::env::var_os(METHOD_CHILD) else {
        return;
    };
    match EventBase::new() {
        Ok(base) => assert_eq!(base.method(), want),
        Err(Error::NoBackend) => assert_eq!(want, "none"),
        Err(e) => panic!("{e}"),
    }
    // IGNORE_ENV: the environment says nothing.
    assert_eq!(EventBase::with_config(&config()).unwrap().method(), "epoll");
}

/// Regular files and `/dev/null`, which epoll refuses (`EPERM`, as
/// libevent's epoll backend): a poll base watches them, always readable
/// and writable, level-triggered.
#[test]
fn poll_watches_regular_files_and_dev_null() {
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    let mut cfg = config();
    cfg.avoid_method("epoll");
    let mut base = EventBase::with_config(&cfg).unwrap();
    assert!(base.features().contains(Features::FDS));
    let log = Log::new();
    let mut evs = Vec::new();
    for (name, fd) in [("file", file.as_raw_fd()), ("null", null.as_raw_fd())] {
        for what in [Ev::READ, Ev::WRITE] {
            let l = log.clone();
            let ev = Event::new(&mut base, fd, what | Ev::PERSIST, move |_, _, fd, got| {
                l.push(format!("{name} {got:?}"));
                if got.contains(Ev::READ) {
                    let mut buf = [0u8; 4];
                    // SAFETY: reads into a stack buffer of that size.
                    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                    assert!(n >= 0, "read from {name}");
                }
            })
            .unwrap();
            ev.add(&mut base, None).unwrap();
            evs.push(ev);
        }
    }
    // One poll per pass (NONBLOCK alone would re-poll for as long as
    // something is ready: forever here).
    for _ in 0..2 {
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    }
    let mut got = log.take();
    got.sort();
    assert_eq!(
        got,
        [
            "file READ",
            "file READ",
            "file WRITE",
            "file WRITE",
            "null READ",
            "null READ",
            "null WRITE",
            "null WRITE"
        ]
    );
    // Deleting stops the reports; the base is empty again.
    for ev in &evs {
        ev.del(&mut base).unwrap();
    }
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);
    assert!(log.take().is_empty());
    base.assert_invariants();

    // An epoll base refuses both with EPERM.
    let mut base = EventBase::with_config(&config()).unwrap();
    for fd in [file.as_raw_fd(), null.as_raw_fd()] {
        let ev = Event::new(&mut base, fd, Ev::READ, nop).unwrap();
        match ev.add(&mut base, None) {
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EPERM)),
            other => panic!("epoll accepted fd {fd}: {other:?}"),
        }
    }
    assert_eq!(base.num_pending(), 0);
}

/// A poll base's notifier, signals and fork handling use its own
/// descriptors (an eventfd waker in the `pollfd` array): a wake from
/// another thread ends a blocked poll.
#[test]
fn poll_base_wakes_from_another_thread() {
    let mut cfg = config();
    cfg.avoid_method("epoll");
    let mut base = EventBase::with_config(&cfg).unwrap();
    let hits = Counter::new();
    let h = hits.clone();
    let ev = Event::timer(&mut base, move |base, _, _, what| {
        assert_eq!(what, Ev::READ);
        h.bump();
        base.loopbreak();
    })
    .unwrap();
    let notifier = base.notifier();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        notifier.activate(ev, Ev::READ).unwrap();
    });
    base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap();
    t.join().unwrap();
    assert_eq!(hits.get(), 1);
    assert!(base.got_break());
    // The waker was drained: waiting 50 ms for a timer sleeps in poll
    // instead of spinning on a readable eventfd.
    let timer = Event::timer(&mut base, nop).unwrap();
    timer
        .add(&mut base, Some(Duration::from_millis(50)))
        .unwrap();
    let cpu = util::thread_cpu_time();
    base.dispatch().unwrap();
    let used = util::thread_cpu_time() - cpu;
    assert!(used < Duration::from_millis(25), "spun for {used:?}");
    assert_eq!(hits.get(), 1);
}

#[test]
fn config_flags_reach_the_base() {
    let mut cfg = Config::new();
    cfg.set_flag(BaseFlags::NO_CACHE_TIME)
        .set_flag(BaseFlags::IGNORE_ENV);
    let base = EventBase::with_config(&cfg).unwrap();
    let flags = base.flags();
    assert!(
        flags.contains(BaseFlags::NO_CACHE_TIME | BaseFlags::IGNORE_ENV),
        "{flags:?}"
    );
    assert!(flags.contains(BaseFlags::NOLOCK | BaseFlags::PRECISE_TIMER));
}

#[test]
fn priority_init_accepts_1_to_256() {
    let mut base = EventBase::new().unwrap();
    for n in [1, 2, 3, 17, MAX_PRIORITIES] {
        base.priority_init(n).unwrap();
        assert_eq!(base.npriorities(), n);
    }
    assert_eq!(MAX_PRIORITIES, 256);
    for n in [0, MAX_PRIORITIES + 1, usize::MAX] {
        assert!(
            matches!(base.priority_init(n), Err(Error::InvalidArgument(_))),
            "priority_init({n})"
        );
        assert_eq!(
            base.npriorities(),
            MAX_PRIORITIES,
            "a failed init changes nothing"
        );
    }
}

#[test]
fn new_events_get_the_middle_priority() {
    let mut base = EventBase::new().unwrap();
    for (n, mid) in [(1, 0), (2, 1), (3, 1), (4, 2), (255, 127), (256, 128)] {
        base.priority_init(n).unwrap();
        let ev = Event::timer(&mut base, nop).unwrap();
        assert_eq!(ev.priority(&base).unwrap(), mid, "with {n} priorities");
        ev.set_priority(&mut base, 0).unwrap();
        ev.set_priority(&mut base, n - 1).unwrap();
        assert!(matches!(
            ev.set_priority(&mut base, n),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(ev.priority(&base).unwrap(), n - 1);
        // An active event's priority cannot change.
        ev.active(&mut base, Ev::TIMEOUT).unwrap();
        assert!(matches!(
            ev.set_priority(&mut base, 0),
            Err(Error::BadState(_))
        ));
        assert_eq!(ev.priority(&base).unwrap(), n - 1);
        ev.free(&mut base).unwrap();
    }
    // `loopexit` and `once` events get it too (they are visible to foreach).
    base.priority_init(5).unwrap();
    base.loopexit(Some(Duration::from_secs(60))).unwrap();
    base.once(
        None,
        Ev::TIMEOUT,
        Some(Duration::from_secs(60)),
        |_, _, _| {},
    )
    .unwrap();
    let mut prios = Vec::new();
    base.foreach_event(|i| {
        prios.push(i.priority);
        ControlFlow::<()>::Continue(())
    });
    assert_eq!(prios, [2, 2]);
}

#[test]
fn priority_init_clamps_existing_events() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(10).unwrap();
    let ev = Event::timer(&mut base, nop).unwrap();
    ev.set_priority(&mut base, 9).unwrap();
    let low = Event::timer(&mut base, nop).unwrap();
    low.set_priority(&mut base, 1).unwrap();
    base.priority_init(3).unwrap();
    assert_eq!(ev.priority(&base).unwrap(), 2);
    assert_eq!(low.priority(&base).unwrap(), 1);
}

#[test]
fn priority_init_fails_while_callbacks_are_active() {
    let mut base = EventBase::new().unwrap();
    let ev = Event::timer(&mut base, nop).unwrap();
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    assert!(matches!(base.priority_init(2), Err(Error::BadState(_))));
    assert_eq!(base.npriorities(), 1);
    ev.del(&mut base).unwrap();
    base.priority_init(2).unwrap();

    // From inside a callback (nothing else active): still refused.
    let results = Log::new();
    let r = results.clone();
    let ev = Event::timer(&mut base, move |base, _, _, _| {
        r.push(matches!(base.priority_init(3), Err(Error::BadState(_))));
    })
    .unwrap();
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(results.get(), [true]);
    assert_eq!(base.npriorities(), 2);
    base.priority_init(3).unwrap();
}

#[test]
fn drop_with_added_and_active_events_is_safe() {
    let probe = DropProbe::new();
    let (a, b) = pair();
    {
        let mut base = EventBase::new().unwrap();
        let p = probe.clone();
        let r = Event::new(
            &mut base,
            b.as_raw_fd(),
            Ev::READ | Ev::PERSIST,
            move |_, _, _, _| {
                let _ = &p;
            },
        )
        .unwrap();
        r.add(&mut base, Some(Duration::from_secs(10))).unwrap();
        let p = probe.clone();
        let t = Event::timer(&mut base, move |_, _, _, _| {
            let _ = &p;
        })
        .unwrap();
        t.add(&mut base, Some(Duration::from_secs(10))).unwrap();
        t.active(&mut base, Ev::TIMEOUT).unwrap();
        let p = probe.clone();
        let idle = Event::new(&mut base, a.as_raw_fd(), Ev::WRITE, move |_, _, _, _| {
            let _ = &p;
        })
        .unwrap();
        idle.active(&mut base, Ev::WRITE).unwrap();
        let p = probe.clone();
        base.once(
            b.as_raw_fd(),
            Ev::READ,
            Some(Duration::from_secs(10)),
            move |_, _, _| {
                let _ = &p;
            },
        )
        .unwrap();
        let p = probe.clone();
        base.once(None, Ev::TIMEOUT, None, move |_, _, _| {
            let _ = &p;
        })
        .unwrap();
        base.loopexit(Some(Duration::from_secs(10))).unwrap();
        base.loopexit(None).unwrap();
        assert_eq!(probe.held(), 5);
        base.assert_invariants();
    }
    assert_eq!(probe.held(), 0, "dropping the base drops every callback");
    // The fds stay open: the base does not own them.
    (&a).write_all(b"x").unwrap();
}

#[test]
fn stale_handles_are_errors() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, nop).unwrap();
    ev.add(&mut base, Some(Duration::from_secs(5))).unwrap();
    assert!(ev.is_live(&base));
    ev.free(&mut base).unwrap();
    assert!(!ev.is_live(&base));
    assert_eq!(base.num_events(), 0);
    assert_eq!(base.num_pending(), 0);
    base.assert_invariants();

    assert!(matches!(ev.add(&mut base, None), Err(Error::StaleEvent)));
    assert!(matches!(ev.del(&mut base), Err(Error::StaleEvent)));
    assert!(matches!(ev.free(&mut base), Err(Error::StaleEvent)));
    assert!(matches!(
        ev.active(&mut base, Ev::READ),
        Err(Error::StaleEvent)
    ));
    assert!(matches!(
        ev.pending(&base, Ev::READ),
        Err(Error::StaleEvent)
    ));
    assert!(matches!(ev.remove_timer(&mut base), Err(Error::StaleEvent)));
    assert!(matches!(
        ev.set_priority(&mut base, 0),
        Err(Error::StaleEvent)
    ));
    assert!(matches!(ev.priority(&base), Err(Error::StaleEvent)));
    assert!(matches!(ev.fd(&base), Err(Error::StaleEvent)));
    assert!(matches!(ev.events(&base), Err(Error::StaleEvent)));
    assert!(matches!(
        ev.finalize(&mut base, |_, _| {}),
        Err(Error::StaleEvent)
    ));

    // The slot is reused; the old handle still does not reach the new event.
    let fresh = Event::timer(&mut base, nop).unwrap();
    assert_ne!(fresh, ev);
    assert!(matches!(ev.del(&mut base), Err(Error::StaleEvent)));
    assert!(fresh.is_live(&base));
    fresh.add(&mut base, Some(Duration::from_secs(5))).unwrap();
    assert!(matches!(ev.free(&mut base), Err(Error::StaleEvent)));
    assert_eq!(fresh.pending(&base, Ev::TIMEOUT).unwrap().0, Ev::TIMEOUT);

    // A handle from another base is stale here.
    let mut other = EventBase::new().unwrap();
    assert!(!fresh.belongs_to(&other));
    assert!(fresh.belongs_to(&base));
    assert!(!fresh.is_live(&other));
    assert!(matches!(
        fresh.add(&mut other, None),
        Err(Error::StaleEvent)
    ));
    assert!(matches!(fresh.del(&mut other), Err(Error::StaleEvent)));
    assert!(fresh.is_live(&base));
}

#[test]
fn invalid_fds_and_signals_cannot_be_added() {
    let mut base = EventBase::new().unwrap();
    // evmap_invalid_slots: fd INT_MAX.
    let ev = Event::new(&mut base, i32::MAX, Ev::READ, nop).unwrap();
    assert!(ev.add(&mut base, None).is_err());
    assert!(ev.pending(&base, Ev::READ).unwrap().0.is_empty());
    // A negative fd for an I/O event.
    assert!(matches!(
        Event::new(&mut base, None, Ev::WRITE, nop),
        Err(Error::InvalidArgument(_))
    ));
    // Signal numbers -1, 0 and NSIG (65) are out of range.
    for sig in [-1, 0, 65, i32::MAX] {
        let r = Event::signal(&mut base, sig, nop).and_then(|ev| ev.add(&mut base, None));
        assert!(r.is_err(), "signal {sig}");
    }
    // bad_assign: SIGNAL with READ / WRITE / CLOSED.
    for io in [Ev::READ, Ev::WRITE, Ev::CLOSED] {
        assert!(matches!(
            Event::new(&mut base, 2, Ev::SIGNAL | io, nop),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert_eq!(base.num_pending(), 0);
    base.assert_invariants();
}

#[test]
fn once_rejects_persist_signal_and_nothing() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let fd = b.as_raw_fd();
    for what in [
        Ev::TIMEOUT | Ev::PERSIST,
        Ev::READ | Ev::PERSIST,
        Ev::SIGNAL,
        Ev::SIGNAL | Ev::TIMEOUT,
        Ev::empty(),
    ] {
        assert!(
            matches!(
                base.once(fd, what, None, |_, _, _| {}),
                Err(Error::InvalidArgument(_))
            ),
            "{what:?}"
        );
    }
    assert!(base.once(i32::MAX, Ev::READ, None, |_, _, _| {}).is_err());
    assert_eq!(
        base.num_events(),
        0,
        "failed once calls leave nothing behind"
    );
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);
}

#[test]
fn once_runs_each_callback_exactly_once() {
    // main/event_once: a read once, a timed once and two immediate ones.
    let mut base = EventBase::new().unwrap();
    let (a, b) = pair();
    (&a).write_all(b"x").unwrap();
    let log = Log::new();
    let l = log.clone();
    base.once(b.as_raw_fd(), Ev::READ, None, move |_, _, what| {
        l.push(("read", what))
    })
    .unwrap();
    let l = log.clone();
    base.once(
        None,
        Ev::TIMEOUT,
        Some(Duration::from_millis(5)),
        move |_, _, what| l.push(("timer", what)),
    )
    .unwrap();
    for name in ["now1", "now2"] {
        let l = log.clone();
        base.once(
            None,
            Ev::TIMEOUT,
            Some(Duration::ZERO),
            move |_, _, what| l.push((name, what)),
        )
        .unwrap();
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    let mut got = log.get();
    // The two immediate ones run first, in order.
    assert_eq!(&got[..2], &[("now1", Ev::TIMEOUT), ("now2", Ev::TIMEOUT)]);
    got.sort_by_key(|(name, _)| *name);
    assert_eq!(
        got,
        [
            ("now1", Ev::TIMEOUT),
            ("now2", Ev::TIMEOUT),
            ("read", Ev::READ),
            ("timer", Ev::TIMEOUT)
        ]
    );
    assert_eq!(base.num_events(), 0, "fired once events are released");
}

#[test]
fn dump_events_lists_inserted_and_active() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(3).unwrap();
    let (_a, b) = pair();
    let r = Event::new(&mut base, b.as_raw_fd(), Ev::READ | Ev::PERSIST, nop).unwrap();
    r.add(&mut base, None).unwrap();
    let t = Event::timer(&mut base, nop).unwrap();
    t.add(&mut base, Some(Duration::from_secs(30))).unwrap();
    let act = Event::timer(&mut base, nop).unwrap();
    act.set_priority(&mut base, 2).unwrap();
    act.active(&mut base, Ev::WRITE).unwrap();
    let idle = Event::timer(&mut base, nop).unwrap();

    let mut out = Vec::new();
    base.dump_events(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let (inserted, active) = text
        .split_once("Active events:")
        .unwrap_or_else(|| panic!("no active section in\n{text}"));
    let line = |hay: &str, ev: Event| {
        hay.lines()
            .find(|l| l.contains(&format!("{ev:?} ")))
            .map(str::to_owned)
    };
    let rl = line(inserted, r).unwrap_or_else(|| panic!("read event missing:\n{text}"));
    assert!(rl.contains(&format!("fd {}", b.as_raw_fd())), "{rl}");
    assert!(rl.contains("READ") && rl.contains("PERSIST"), "{rl}");
    let tl = line(inserted, t).unwrap_or_else(|| panic!("timer missing:\n{text}"));
    assert!(tl.contains("Timeout="), "{tl}");
    let al = line(active, act).unwrap_or_else(|| panic!("active event missing:\n{text}"));
    assert!(al.contains("priority 2") && al.contains("WRITE"), "{al}");
    assert!(
        line(inserted, act).is_none(),
        "active-only event is not inserted:\n{text}"
    );
    assert!(
        line(&text, idle).is_none(),
        "idle event is not listed:\n{text}"
    );
    assert!(line(active, r).is_none() && line(active, t).is_none());
}

#[test]
fn foreach_event_visits_added_and_active_once_each() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let r = Event::new(&mut base, b.as_raw_fd(), Ev::READ, nop).unwrap();
    r.add(&mut base, None).unwrap();
    let t = Event::timer(&mut base, nop).unwrap();
    t.add(&mut base, Some(Duration::from_secs(30))).unwrap();
    // Both added and active: visited once.
    let both = Event::timer(&mut base, nop).unwrap();
    both.add(&mut base, Some(Duration::from_secs(30))).unwrap();
    both.active(&mut base, Ev::READ).unwrap();
    let act = Event::timer(&mut base, nop).unwrap();
    act.active(&mut base, Ev::TIMEOUT).unwrap();
    let _idle = Event::timer(&mut base, nop).unwrap();
    let freed = Event::timer(&mut base, nop).unwrap();
    freed.add(&mut base, Some(Duration::from_secs(30))).unwrap();
    freed.free(&mut base).unwrap();

    let mut order = Vec::new();
    let r_none: Option<()> = base.foreach_event(|i| {
        order.push((i.event, i.pending, i.active, i.expires.is_some()));
        ControlFlow::Continue(())
    });
    assert_eq!(r_none, None);
    let mut seen = order.clone();
    seen.sort_by_key(|s| format!("{:?}", s.0));
    let mut want = vec![
        (r, true, None, false),
        (t, true, None, true),
        (both, true, Some(Ev::READ), true),
        (act, false, Some(Ev::TIMEOUT), false),
    ];
    want.sort_by_key(|s| format!("{:?}", s.0));
    assert_eq!(seen, want);

    // Early stop: the callback's break value comes back and nothing after
    // the breaking event is visited.
    let stop_at = order.iter().position(|s| s.2.is_some()).unwrap();
    let visits = Counter::new();
    let v = visits.clone();
    let got = base.foreach_event(|i| {
        v.bump();
        if i.active.is_some() {
            ControlFlow::Break(i.event)
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(got, Some(order[stop_at].0));
    assert_eq!(visits.get(), stop_at + 1);
    let stop_first = base.foreach_event(|_| ControlFlow::Break(7));
    assert_eq!(stop_first, Some(7));
}

#[test]
fn foreach_event_on_an_empty_base_visits_nothing() {
    let mut base = EventBase::new().unwrap();
    let _idle = Event::timer(&mut base, nop).unwrap();
    let r = base.foreach_event(|_| ControlFlow::Break(()));
    assert_eq!(r, None);
}

/// libevent's `test_event_base_get_num_events`: added and active events
/// are counted separately and summed on request.
#[test]
fn event_base_get_num_events() {
    use rvent::EventCount;
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let r = Event::new(&mut base, b.as_raw_fd(), Ev::READ, nop).unwrap();
    let t = Event::timer(&mut base, nop).unwrap();
    assert_eq!(base.count_events(EventCount::all()), 0);
    r.add(&mut base, None).unwrap();
    t.add(&mut base, Some(Duration::from_secs(60))).unwrap();
    assert_eq!(base.count_events(EventCount::ADDED), 2);
    assert_eq!(base.count_events(EventCount::ACTIVE), 0);
    r.active(&mut base, Ev::READ).unwrap();
    assert_eq!(base.count_events(EventCount::ACTIVE), 1);
    assert_eq!(base.count_events(EventCount::ADDED | EventCount::ACTIVE), 3);
    assert_eq!(base.count_events(EventCount::VIRTUAL), 0);
    t.del(&mut base).unwrap();
    r.del(&mut base).unwrap();
    assert_eq!(base.count_events(EventCount::all()), 0);
}

/// Every flag set has `all()`: libevent's all-events masks without bits.
#[test]
fn all_flags_masks() {
    assert_eq!(Ev::all().bits(), 0xff);
    assert_eq!(rvent::EventCount::all().bits(), 0x07);
    assert_eq!(rvent::BevEvent::all().bits(), 0xf3);
}
