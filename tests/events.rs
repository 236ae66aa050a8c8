//! Events (tutorial ch. 6): read/write readiness, persist, level and edge
//! triggering, timeouts, priorities, once, activation, finalize.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use rvent::{Ev, Event, EventBase, LoopFlags, LoopStatus};

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn simpleread_fires_once() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"hi").unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let mut rd = b.try_clone().unwrap();
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, move |_, _, _, what| {
        assert!(what.contains(Ev::READ));
        let mut buf = [0u8; 16];
        let n = rd.read(&mut buf).unwrap();
        g.borrow_mut().extend_from_slice(&buf[..n]);
    })
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(&*got.borrow(), b"hi");
}

#[test]
fn level_triggered_partial_read_fires_again() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"abcd").unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let mut rd = b.try_clone().unwrap();
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ | Ev::PERSIST, move |base, ev, _, _| {
        let mut buf = [0u8; 1];
        rd.read_exact(&mut buf).unwrap();
        c.set(c.get() + 1);
        if c.get() == 4 {
            ev.del(base).unwrap();
        }
    })
    .unwrap();
    ev.add(&mut base, None).unwrap();
    base.dispatch().unwrap();
    assert_eq!(calls.get(), 4);
}

#[test]
fn edge_triggered_partial_read_fires_once() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"abcd").unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ | Ev::PERSIST | Ev::ET, move |_, _, _, what| {
        assert!(what.contains(Ev::ET));
        c.set(c.get() + 1);
    })
    .unwrap();
    ev.add(&mut base, None).unwrap();
    for _ in 0..3 {
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(calls.get(), 1);
}

// ===========================================================================
// Regressions found by fuzz/event_ops (fuzz/README.md). One test per crash,
// named after the behaviour it pins; self-contained so this section never
// touches the imports above.
// ===========================================================================

mod fuzz_regressions {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use rvent::{Ev, Event, EventBase, LoopFlags};

    /// crash-de11afe2 (event_ops): `remove_timer` on a persistent timer
    /// whose expiry is already queued (here by `active(TIMEOUT)`) clears
    /// the deadline and the periodic re-arm, but — as in libevent, where
    /// `event_remove_timer` leaves the active queue alone and
    /// `event_pending` reports `ev_res` — the queued expiry still shows as
    /// `TIMEOUT` in `pending` and still runs once.
    #[test]
    fn remove_timer_keeps_a_queued_expiry_but_clears_the_deadline() {
        let mut base = EventBase::new().unwrap();
        let ran = Rc::new(Cell::new(0));
        let r = ran.clone();
        let ev = Event::new(&mut base, -1, Ev::PERSIST, move |_, _, _, what| {
            assert_eq!(what, Ev::TIMEOUT);
            r.set(r.get() + 1);
        })
        .unwrap();
        ev.add(&mut base, Some(Duration::from_secs(60))).unwrap();
        ev.active(&mut base, Ev::TIMEOUT).unwrap();
        ev.remove_timer(&mut base).unwrap();
        base.assert_invariants();

        let (flags, expires) = ev.pending(&base, Ev::TIMEOUT).unwrap();
        assert_eq!(flags, Ev::TIMEOUT, "the queued expiry is still visible");
        assert_eq!(expires, None, "but no deadline is left");
        assert_eq!(base.num_pending(), 0);

        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(ran.get(), 1);
        // No re-arm: the persistent timer's interval went with its timer.
        assert_eq!(ev.pending(&base, Ev::TIMEOUT).unwrap(), (Ev::empty(), None));
        base.assert_invariants();
    }
}
