//! Threads (tutorial 9.4, libevent's `thread/` group): the `Send + Sync`
//! [`Notifier`] wakes a base blocked in its poll and delivers activations,
//! loopexit and loopbreak from other threads; stale handles sent from a
//! thread are ignored with a warning.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rvent::{Error, Ev, Event, EventBase, LoopFlags, LoopStatus, Notifier, Severity};
use util::watchdog;

/// Longest any test waits for something that should happen at once.
const LIMIT: Duration = Duration::from_secs(5);

fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

/// A timer-type event (never added) counting its calls and recording the
/// flags of the last one.
fn counting(base: &mut EventBase) -> (Event, Rc<Cell<u32>>, Rc<Cell<Ev>>) {
    let calls = Rc::new(Cell::new(0));
    let what = Rc::new(Cell::new(Ev::empty()));
    let (c, w) = (calls.clone(), what.clone());
    let ev = Event::timer(base, move |_, _, _, res| {
        c.set(c.get() + 1);
        w.set(res);
    })
    .unwrap();
    (ev, calls, what)
}

#[test]
fn notifier_and_event_handles_cross_threads() {
    // `EventBase` is deliberately `!Send`; what crosses threads is the
    // notifier and plain event handles.
    assert_send_sync_clone::<Notifier>();
    assert_send_sync_clone::<Event>();
    let base = EventBase::new().unwrap();
    let n = base.notifier();
    let n2 = n.clone();
    thread::spawn(move || n2.wake()).join().unwrap().unwrap();
    n.wake().unwrap();
}

/// A command from another thread ends a poll that would otherwise block
/// for [`LIMIT`].
#[test]
fn activate_from_thread_ends_blocking_poll() {
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let (ev, calls, what) = counting(&mut base);
    let n = base.notifier();
    let start = Instant::now();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        n.activate(ev, Ev::READ | Ev::WRITE)
    });
    assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::Exited);
    t.join().unwrap().unwrap();
    let elapsed = start.elapsed();
    assert!(!dog_fired.get(), "the loop was never woken");
    assert_eq!(calls.get(), 1);
    assert_eq!(what.get(), Ev::READ | Ev::WRITE);
    assert!(
        elapsed >= Duration::from_millis(20),
        "ran before the activation: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(1), "woken late: {elapsed:?}");
    dog.free(&mut base).unwrap();
}

/// A bare wake makes the loop poll again but runs no callback, so it does
/// not end a `ONCE` run (libevent's internal notify callback is not
/// counted either); the activation that follows does.
#[test]
fn bare_wake_does_not_end_a_once_run() {
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let (ev, calls, _) = counting(&mut base);
    let n = base.notifier();
    let start = Instant::now();
    let t = thread::spawn(move || {
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(5));
            n.wake()?;
        }
        thread::sleep(Duration::from_millis(15));
        n.activate(ev, Ev::READ)
    });
    base.run(LoopFlags::ONCE).unwrap();
    t.join().unwrap().unwrap();
    assert!(!dog_fired.get());
    assert_eq!(calls.get(), 1);
    assert!(
        start.elapsed() >= Duration::from_millis(30),
        "a bare wake ended the run"
    );
    dog.free(&mut base).unwrap();
}

/// 4 threads × 100 activations, each thread waiting until its previous
/// activation ran (an ack over a channel) before sending the next: every
/// activation is one callback, none is lost or merged.
#[test]
fn activations_from_four_threads_each_run_once() {
    const THREADS: usize = 4;
    const ROUNDS: u32 = 100;
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let total = Rc::new(Cell::new(0u32));
    let per_thread: Rc<RefCell<Vec<u32>>> = Rc::new(RefCell::new(vec![0; THREADS]));
    let mut threads = Vec::new();
    for i in 0..THREADS {
        let (ack_tx, ack_rx) = mpsc::channel::<()>();
        let (total, per) = (total.clone(), per_thread.clone());
        let ev = Event::timer(&mut base, move |base, _, _, what| {
            assert_eq!(what, Ev::READ);
            per.borrow_mut()[i] += 1;
            total.set(total.get() + 1);
            if total.get() == THREADS as u32 * ROUNDS {
                base.loopbreak();
            }
            let _ = ack_tx.send(());
        })
        .unwrap();
        let n = base.notifier();
        threads.push(thread::spawn(move || {
            for round in 0..ROUNDS {
                n.activate(ev, Ev::READ).unwrap();
                ack_rx
                    .recv_timeout(LIMIT)
                    .unwrap_or_else(|e| panic!("thread {i} round {round}: no ack: {e}"));
            }
        }));
    }
    base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap();
    for t in threads {
        t.join().unwrap();
    }
    assert!(!dog_fired.get(), "stuck after {} callbacks", total.get());
    assert!(base.got_break());
    assert_eq!(total.get(), THREADS as u32 * ROUNDS);
    assert_eq!(*per_thread.borrow(), vec![ROUNDS; THREADS]);
    dog.free(&mut base).unwrap();
    base.assert_invariants();
}

/// Activations of an event that is already active merge (libevent ORs the
/// result flags): ten queued before the loop runs are one callback with
/// the union of their flags.
#[test]
fn queued_activations_of_one_event_merge() {
    let mut base = EventBase::new().unwrap();
    let (ev, calls, what) = counting(&mut base);
    let n = base.notifier();
    thread::spawn(move || {
        for i in 0..10 {
            let res = if i % 2 == 0 { Ev::READ } else { Ev::WRITE };
            n.activate(ev, res).unwrap();
        }
    })
    .join()
    .unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(calls.get(), 1);
    assert_eq!(what.get(), Ev::READ | Ev::WRITE);
    assert_eq!(base.num_active(), 0);
}

/// Four threads flood one event without waiting: callbacks may merge
/// (1 ≤ calls ≤ sent), but no thread's activations are lost — each thread
/// uses its own result flag and every flag shows up — and a loopexit sent
/// after them runs after all of them.
#[test]
fn concurrent_activation_flood_loses_nothing() {
    const PER_THREAD: u32 = 100;
    let flags = [Ev::READ, Ev::WRITE, Ev::CLOSED, Ev::TIMEOUT];
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let calls = Rc::new(Cell::new(0u32));
    let seen = Rc::new(Cell::new(Ev::empty()));
    let (c, s) = (calls.clone(), seen.clone());
    let ev = Event::timer(&mut base, move |_, _, _, what| {
        c.set(c.get() + 1);
        s.set(s.get() | what);
    })
    .unwrap();
    let n = base.notifier();
    let driver = thread::spawn(move || {
        let senders: Vec<_> = flags
            .into_iter()
            .map(|res| {
                let n = n.clone();
                thread::spawn(move || {
                    for _ in 0..PER_THREAD {
                        n.activate(ev, res).unwrap();
                    }
                })
            })
            .collect();
        for t in senders {
            t.join().unwrap();
        }
        n.loopexit(None).unwrap();
    });
    base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap();
    driver.join().unwrap();
    assert!(!dog_fired.get());
    assert!(base.got_exit());
    let sent = PER_THREAD * flags.len() as u32;
    assert!(
        (1..=sent).contains(&calls.get()),
        "{} callbacks for {sent} activations",
        calls.get()
    );
    assert_eq!(seen.get(), Ev::READ | Ev::WRITE | Ev::CLOSED | Ev::TIMEOUT);
    assert_eq!(base.num_active(), 0);
    dog.free(&mut base).unwrap();
}

#[test]
fn loopexit_from_thread_stops_empty_loop() {
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let n = base.notifier();
    let start = Instant::now();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        n.loopexit(None)
    });
    assert_eq!(
        base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(),
        LoopStatus::Exited
    );
    t.join().unwrap().unwrap();
    assert!(!dog_fired.get());
    assert!(base.got_exit() && !base.got_break());
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(10) && elapsed < Duration::from_secs(1),
        "{elapsed:?}"
    );
    dog.free(&mut base).unwrap();
}

/// A delayed loopexit from another thread counts its delay from when the
/// loop thread receives it.
#[test]
fn delayed_loopexit_from_thread() {
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let n = base.notifier();
    let (sent_tx, sent_rx) = mpsc::channel();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        sent_tx.send(Instant::now()).unwrap();
        n.loopexit(Some(Duration::from_millis(30)))
    });
    base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap();
    let ended = Instant::now();
    t.join().unwrap().unwrap();
    let sent = sent_rx.recv().unwrap();
    assert!(!dog_fired.get());
    assert!(base.got_exit());
    let after = ended - sent;
    assert!(
        after >= Duration::from_millis(30) && after < Duration::from_secs(1),
        "{after:?}"
    );
    dog.free(&mut base).unwrap();
}

#[test]
fn loopbreak_from_thread_stops_empty_loop() {
    let mut base = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let n = base.notifier();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        n.loopbreak()
    });
    assert_eq!(
        base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(),
        LoopStatus::Exited
    );
    t.join().unwrap().unwrap();
    assert!(!dog_fired.get());
    assert!(base.got_break() && !base.got_exit());
    dog.free(&mut base).unwrap();
}

/// `thread/no_events`: a `NO_EXIT_ON_EMPTY` loop with nothing added is
/// driven only by another thread's activations at staggered times, then
/// told to exit; each callback runs after its activation was sent.
#[test]
fn no_events_loop_driven_by_thread() {
    const OFFSETS_MS: [u64; 5] = [10, 20, 40, 45, 50];
    let mut base = EventBase::new().unwrap();
    let start = Instant::now();
    let ran_at: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let r = ran_at.clone();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let ev = Event::timer(&mut base, move |_, _, _, _| {
        r.borrow_mut().push(start.elapsed());
        ack_tx.send(()).unwrap();
    })
    .unwrap();
    let n = base.notifier();
    let t = thread::spawn(move || {
        let mut sent_at = Vec::new();
        for ms in OFFSETS_MS {
            let due = start + Duration::from_millis(ms);
            thread::sleep(due.saturating_duration_since(Instant::now()));
            sent_at.push(start.elapsed());
            n.activate(ev, Ev::READ).unwrap();
            ack_rx
                .recv_timeout(LIMIT)
                .expect("activation not processed");
        }
        n.loopexit(None).unwrap();
        sent_at
    });
    assert_eq!(base.num_pending(), 0);
    assert_eq!(
        base.run(LoopFlags::NO_EXIT_ON_EMPTY).unwrap(),
        LoopStatus::Exited
    );
    let sent_at = t.join().unwrap();
    assert!(base.got_exit());
    let ran_at = ran_at.borrow();
    assert_eq!(ran_at.len(), OFFSETS_MS.len());
    for (i, (ran, sent)) in ran_at.iter().zip(&sent_at).enumerate() {
        assert!(
            ran >= sent,
            "callback {i} ran at {ran:?}, before its activation at {sent:?}"
        );
        assert!(*ran >= Duration::from_millis(OFFSETS_MS[i]));
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "took {:?}",
        start.elapsed()
    );
}

/// A stale handle sent through the notifier (its event was freed and the
/// slot reused, or it belongs to another base) is dropped with a warning;
/// the new occupant of the slot does not run, and later commands still
/// work.
#[test]
fn stale_activation_from_thread_is_ignored() {
    let logged: Arc<Mutex<Vec<(Severity, String)>>> = Arc::default();
    let l = logged.clone();
    rvent::set_log_callback(move |sev, msg| l.lock().unwrap().push((sev, msg.to_owned())));

    let mut base = EventBase::new().unwrap();
    let mut other = EventBase::new().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let (stale, stale_calls, _) = counting(&mut base);
    stale.free(&mut base).unwrap();
    // Reuses the freed slot with a new generation.
    let (reused, reused_calls, _) = counting(&mut base);
    let (foreign, foreign_calls, _) = counting(&mut other);
    let (live, live_calls, _) = counting(&mut base);
    let n = base.notifier();
    thread::spawn(move || {
        n.activate(stale, Ev::READ)?;
        n.activate(foreign, Ev::READ)?;
        n.activate(live, Ev::READ)
    })
    .join()
    .unwrap()
    .unwrap();
    base.run(LoopFlags::ONCE).unwrap();
    other.run(LoopFlags::NONBLOCK).unwrap();
    rvent::reset_log_callback();

    assert!(!dog_fired.get());
    assert_eq!(live_calls.get(), 1);
    assert_eq!(
        (stale_calls.get(), reused_calls.get(), foreign_calls.get()),
        (0, 0, 0)
    );
    assert!(reused.is_live(&base));
    let logged = logged.lock().unwrap();
    for handle in [stale, foreign] {
        let name = format!("{handle:?}");
        assert!(
            logged.iter().any(|(sev, msg)| *sev == Severity::Warn
                && msg.contains("notifier")
                && msg.contains(&name)),
            "no warning naming {name}: {logged:?}"
        );
    }
    dog.free(&mut base).unwrap();
}

/// `reinit` gives the base a new poller and the notifier a new waker:
/// handles taken before it still wake the loop.
#[test]
fn notifier_survives_reinit() {
    let mut base = EventBase::new().unwrap();
    let n = base.notifier();
    base.reinit().unwrap();
    let (dog, dog_fired) = watchdog(&mut base, LIMIT);
    let (ev, calls, _) = counting(&mut base);
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        n.activate(ev, Ev::READ)
    });
    base.run(LoopFlags::ONCE).unwrap();
    t.join().unwrap().unwrap();
    assert!(
        !dog_fired.get(),
        "the old notifier no longer wakes the base"
    );
    assert_eq!(calls.get(), 1);
    dog.free(&mut base).unwrap();
}

/// A notifier may outlive its base; using it then is harmless.
#[test]
fn notifier_outliving_its_base_is_harmless() {
    let mut base = EventBase::new().unwrap();
    let (ev, _, _) = counting(&mut base);
    let n = base.notifier();
    drop(base);
    thread::spawn(move || {
        // Waking is harmless; commands are refused instead of piling up.
        n.wake().unwrap();
        assert!(matches!(n.activate(ev, Ev::READ), Err(Error::BadState(_))));
        assert!(matches!(n.loopbreak(), Err(Error::BadState(_))));
        assert!(matches!(n.loopexit(None), Err(Error::BadState(_))));
    })
    .join()
    .unwrap();
}
