//! Events (tutorial ch. 6): read/write readiness, persist, level and edge
//! triggering, closed detection, activation, priorities, once, finalize,
//! getters and bad input — libevent's `main/`, `et/` and `finalize/`
//! regression behaviours.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rvent::{Error, Ev, Event, EventBase, LoopFlags, LoopStatus};
use util::{Counter, DropProbe, pair, thread_cpu_time};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One non-blocking loop iteration (`EVLOOP_ONCE | EVLOOP_NONBLOCK`).
fn pass(base: &mut EventBase) {
    base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    base.assert_invariants();
}

/// Writes until the socket would block; returns the bytes written.
fn fill(s: &mut UnixStream) -> usize {
    let chunk = [0x5au8; 65536];
    let mut total = 0;
    loop {
        match s.write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return total,
            Err(e) => panic!("fill: {e}"),
        }
    }
}

fn is_stale<T: std::fmt::Debug>(r: rvent::Result<T>) -> bool {
    matches!(r, Err(Error::StaleEvent))
}

fn is_bad_state<T: std::fmt::Debug>(r: rvent::Result<T>) -> bool {
    matches!(r, Err(Error::BadState(_)))
}

fn is_invalid<T: std::fmt::Debug>(r: rvent::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidArgument(_)))
}

/// The pattern a writer sends in the transfer tests.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect::<Vec<u8>>()
}

// ---------------------------------------------------------------------------
// Readiness: read, write, several events per fd
// ---------------------------------------------------------------------------

#[test]
fn simpleread() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"hi").unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let mut rd = b.try_clone().unwrap();
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, move |_, _, _, what| {
        assert_eq!(what, Ev::READ);
        let mut buf = [0u8; 16];
        let n = rd.read(&mut buf).unwrap();
        g.borrow_mut().extend_from_slice(&buf[..n]);
    })
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(&*got.borrow(), b"hi");
    assert_eq!(base.num_pending(), 0);
}

#[test]
fn simpleread_multiple() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let fired = Rc::new(RefCell::new(Vec::new()));
    for id in [1, 2] {
        let f = fired.clone();
        let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, move |_, _, _, what| {
            assert_eq!(what, Ev::READ);
            f.borrow_mut().push(id);
        })
        .unwrap();
        ev.add(&mut base, None).unwrap();
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    let mut got = fired.borrow().clone();
    got.sort_unstable();
    assert_eq!(got, [1, 2], "both read events on one fd fire, once each");
}

#[test]
fn simplewrite() {
    let mut base = EventBase::new().unwrap();
    let (a, mut b) = pair();
    let calls = Counter::new();
    let c = calls.clone();
    let mut wr = a.try_clone().unwrap();
    let ev = Event::new(&mut base, a.as_raw_fd(), Ev::WRITE, move |_, _, _, what| {
        assert_eq!(what, Ev::WRITE);
        wr.write_all(b"hello").unwrap();
        c.bump();
    })
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(calls.get(), 1);
    let mut buf = [0u8; 8];
    assert_eq!(b.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
}

#[test]
fn multiple_events_for_same_fd() {
    let mut base = EventBase::new().unwrap();
    let (a, mut b) = pair();
    let (reads, writes) = (Counter::new(), Counter::new());
    let (r, w) = (reads.clone(), writes.clone());
    let mut rd = a.try_clone().unwrap();
    let rev = Event::new(
        &mut base,
        a.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |_, _, _, what| {
            assert_eq!(what, Ev::READ);
            let mut buf = [0u8; 64];
            assert!(rd.read(&mut buf).unwrap() > 0);
            r.bump();
        },
    )
    .unwrap();
    let wev = Event::new(
        &mut base,
        a.as_raw_fd(),
        Ev::WRITE | Ev::PERSIST,
        move |_, _, _, what| {
            assert_eq!(what, Ev::WRITE);
            w.bump();
        },
    )
    .unwrap();
    rev.add(&mut base, None).unwrap();
    wev.add(&mut base, None).unwrap();

    pass(&mut base);
    assert_eq!(
        (reads.get(), writes.get()),
        (0, 1),
        "writable, nothing to read"
    );

    wev.del(&mut base).unwrap();
    assert_eq!(wev.pending(&base, Ev::WRITE).unwrap().0, Ev::empty());
    assert_eq!(
        rev.pending(&base, Ev::READ).unwrap().0,
        Ev::READ,
        "deleting WRITE keeps READ"
    );

    b.write_all(b"ping").unwrap();
    pass(&mut base);
    assert_eq!(
        (reads.get(), writes.get()),
        (1, 1),
        "READ fires, deleted WRITE does not"
    );

    rev.del(&mut base).unwrap();
    assert_eq!(base.num_pending(), 0);
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);
}

/// libevent's `multiple` / `persistent`: a writer sends `len` bytes in
/// 128-byte chunks then shuts down; a reader collects them until EOF. Without
/// `PERSIST` both callbacks re-add their own event.
fn transfer(len: usize, persist: bool) -> (Vec<u8>, Vec<u8>) {
    let mut base = EventBase::new().unwrap();
    let (a, b) = pair();
    let flag = if persist { Ev::PERSIST } else { Ev::empty() };
    let sent = pattern(len, 0x11);
    let received = Rc::new(RefCell::new(Vec::new()));

    let mut wr = a.try_clone().unwrap();
    let data = sent.clone();
    let mut off = 0;
    let wev = Event::new(
        &mut base,
        a.as_raw_fd(),
        Ev::WRITE | flag,
        move |base, ev, _, what| {
            assert_eq!(what, Ev::WRITE);
            let end = (off + 128).min(data.len());
            off += wr.write(&data[off..end]).unwrap();
            if off >= data.len() {
                wr.shutdown(Shutdown::Write).unwrap();
                if persist {
                    ev.del(base).unwrap();
                }
            } else if !persist {
                ev.add(base, None).unwrap();
            }
        },
    )
    .unwrap();

    let mut rd = b.try_clone().unwrap();
    let out = received.clone();
    let rev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | flag,
        move |base, ev, _, what| {
            assert_eq!(what, Ev::READ);
            let mut buf = [0u8; 512];
            match rd.read(&mut buf) {
                Ok(0) => {
                    if persist {
                        ev.del(base).unwrap();
                    }
                    return;
                }
                Ok(n) => out.borrow_mut().extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
            if !persist {
                ev.add(base, None).unwrap();
            }
        },
    )
    .unwrap();

    wev.add(&mut base, None).unwrap();
    rev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    base.assert_invariants();
    let got = received.borrow().clone();
    (sent, got)
}

#[test]
fn multiple() {
    let (sent, got) = transfer(4096, false);
    assert_eq!(got.len(), 4096);
    assert!(got == sent, "data arrives intact with re-adds");
}

#[test]
fn persistent() {
    let (sent, got) = transfer(4096, true);
    assert_eq!(got.len(), 4096);
    assert!(got == sent, "data arrives intact with EV_PERSIST");
}

#[test]
fn combined() {
    // Each end has a persistent reader and a persistent writer: `a` sends
    // 4 KB, `b` sends 8 KB, in both directions at once.
    let mut base = EventBase::new().unwrap();
    let (a, b) = pair();
    let mut received = Vec::new();
    for (s, want, seed) in [(&a, 4096usize, 0x21u8), (&b, 8192, 0x42)] {
        let data = pattern(want, seed);
        let mut wr = s.try_clone().unwrap();
        let mut off = 0;
        let wev = Event::new(
            &mut base,
            s.as_raw_fd(),
            Ev::WRITE | Ev::PERSIST,
            move |base, ev, _, _| {
                let end = (off + 1000).min(data.len());
                match wr.write(&data[off..end]) {
                    Ok(n) => off += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("write: {e}"),
                }
                if off == data.len() {
                    wr.shutdown(Shutdown::Write).unwrap();
                    ev.del(base).unwrap();
                }
            },
        )
        .unwrap();
        let got = Rc::new(RefCell::new(Vec::new()));
        let out = got.clone();
        let mut rd = s.try_clone().unwrap();
        let rev = Event::new(
            &mut base,
            s.as_raw_fd(),
            Ev::READ | Ev::PERSIST,
            move |base, ev, _, _| {
                let mut buf = [0u8; 700];
                match rd.read(&mut buf) {
                    Ok(0) => ev.del(base).unwrap(),
                    Ok(n) => out.borrow_mut().extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("read: {e}"),
                }
            },
        )
        .unwrap();
        rev.add(&mut base, None).unwrap();
        wev.add(&mut base, None).unwrap();
        received.push(got);
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    base.assert_invariants();
    assert!(
        *received[0].borrow() == pattern(8192, 0x42),
        "a got b's 8 KB intact"
    );
    assert!(
        *received[1].borrow() == pattern(4096, 0x21),
        "b got a's 4 KB intact"
    );
}

#[test]
fn want_only_once() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"first").unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let mut rd = b.try_clone().unwrap();
    let mut peer = a.try_clone().unwrap();
    let ev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, move |_, _, _, _| {
        let mut buf = [0u8; 64];
        assert!(rd.read(&mut buf).unwrap() > 0);
        // More data arrives; a non-persistent event must not fire again.
        peer.write_all(b"second").unwrap();
        c.bump();
    })
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    pass(&mut base);
    assert_eq!(calls.get(), 1);
    assert_eq!(ev.pending(&base, Ev::READ).unwrap().0, Ev::empty());
}

#[test]
fn nonpersist_readd() {
    // Two non-persistent read events, each re-adding the other from its
    // callback. Whichever runs first re-adds the second while it is still
    // active; the second is then deleted before its callback and re-adds
    // the first. Exactly the last re-added event ends up pending.
    let mut base = EventBase::new().unwrap();
    let (mut a, mut b) = pair();
    a.write_all(b"Hello").unwrap();
    b.write_all(b"Hello").unwrap();
    let last_added: Rc<Cell<Option<Event>>> = Rc::new(Cell::new(None));
    let others: [Rc<Cell<Option<Event>>>; 2] = Default::default();
    let calls = Counter::new();
    let mut evs = Vec::new();
    for (i, s) in [&a, &b].into_iter().enumerate() {
        let (last, other, c) = (last_added.clone(), others[i].clone(), calls.clone());
        let mut rd = s.try_clone().unwrap();
        let ev = Event::new(&mut base, s.as_raw_fd(), Ev::READ, move |base, _, _, _| {
            let mut buf = [0u8; 256];
            assert_eq!(rd.read(&mut buf).unwrap(), 5);
            let other = other.get().unwrap();
            other.add(base, None).unwrap();
            last.set(Some(other));
            c.bump();
        })
        .unwrap();
        evs.push(ev);
    }
    others[0].set(Some(evs[1]));
    others[1].set(Some(evs[0]));
    evs[0].add(&mut base, None).unwrap();
    evs[1].add(&mut base, None).unwrap();
    assert_eq!(base.run(LoopFlags::ONCE).unwrap(), LoopStatus::Exited);
    base.assert_invariants();
    assert_eq!(calls.get(), 2);
    let last = last_added.get().expect("a callback re-added an event");
    for ev in &evs {
        let pending = ev.pending(&base, Ev::READ).unwrap().0 == Ev::READ;
        assert_eq!(
            pending,
            *ev == last,
            "only the last re-added event is pending: {ev:?}"
        );
    }
    assert_eq!(base.num_pending(), 1);
}

// ---------------------------------------------------------------------------
// Edge triggering
// ---------------------------------------------------------------------------

#[test]
fn level_triggered_partial_read_fires_again() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"abcd").unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let mut rd = b.try_clone().unwrap();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |base, ev, _, _| {
            let mut buf = [0u8; 1];
            rd.read_exact(&mut buf).unwrap();
            c.bump();
            if c.get() == 4 {
                ev.del(base).unwrap();
            }
        },
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    base.dispatch().unwrap();
    assert_eq!(calls.get(), 4);
}

/// Whether the backend under test has edge triggers (epoll; not poll,
/// under `EVENT_NOEPOLL`); prints that `test` is skipped when not, as
/// libevent's regress skips its ET cases.
fn et_backend(test: &str) -> bool {
    util::backend::has_et(&EventBase::new().unwrap(), test)
}

/// Calls of a `READ | PERSIST | extra` event over two `ONCE | NONBLOCK`
/// passes when its data is never read.
fn unread_data_calls(extra: Ev) -> usize {
    let mut base = EventBase::new().unwrap();
    // poll runs ET events level-triggered and reports no EV_ET (libevent's
    // poll backend does the same).
    let reported = if base.features().contains(rvent::Features::ET) {
        extra
    } else {
        extra - Ev::ET
    };
    let (mut a, b) = pair();
    a.write_all(b"abcd").unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST | extra,
        move |_, _, _, what| {
            assert_eq!(what, Ev::READ | reported, "ET events report EV_ET");
            c.bump();
        },
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    pass(&mut base);
    pass(&mut base);
    calls.get()
}

#[test]
fn et() {
    // libevent's et/et: an ET backend calls once, a level-triggered one
    // (poll) twice.
    let calls = if et_backend("et (edge-triggered half)") {
        1
    } else {
        2
    };
    assert_eq!(
        unread_data_calls(Ev::ET),
        calls,
        "edge-triggered: called once"
    );
    assert_eq!(
        unread_data_calls(Ev::empty()),
        2,
        "level-triggered: called every pass"
    );
}

#[test]
fn et_multiple_events() {
    // Two ET read events on one fd; deleting one leaves the fd's
    // registration unchanged and the other still edge-triggered.
    let mut base = EventBase::new().unwrap();
    if !util::backend::has_et(&base, "et_multiple_events") {
        return;
    }
    let (mut a, b) = pair();
    a.write_all(b"abcd").unwrap();
    let (c1, c2) = (Counter::new(), Counter::new());
    let mut evs = Vec::new();
    for c in [&c1, &c2] {
        let c = c.clone();
        let ev = Event::new(
            &mut base,
            b.as_raw_fd(),
            Ev::READ | Ev::ET | Ev::PERSIST,
            move |_, _, _, what| {
                assert_eq!(what, Ev::READ | Ev::ET);
                c.bump();
            },
        )
        .unwrap();
        ev.add(&mut base, None).unwrap();
        evs.push(ev);
    }
    pass(&mut base);
    assert_eq!((c1.get(), c2.get()), (1, 1));
    evs[0].del(&mut base).unwrap();
    pass(&mut base);
    pass(&mut base);
    assert_eq!(
        (c1.get(), c2.get()),
        (1, 1),
        "remaining ET event was downgraded to LT"
    );

    // READ|ET and WRITE|ET on one fd: deleting the reader changes the epoll
    // mask (which re-arms the edge once) but must keep EPOLLET.
    let (mut a, b) = pair();
    a.write_all(b"abcd").unwrap();
    let (reads, writes) = (Counter::new(), Counter::new());
    let r = reads.clone();
    let rev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::ET | Ev::PERSIST,
        move |_, _, _, _| r.bump(),
    )
    .unwrap();
    let w = writes.clone();
    let wev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::WRITE | Ev::ET | Ev::PERSIST,
        move |_, _, _, what| {
            assert_eq!(what, Ev::WRITE | Ev::ET);
            w.bump();
        },
    )
    .unwrap();
    rev.add(&mut base, None).unwrap();
    wev.add(&mut base, None).unwrap();
    pass(&mut base);
    assert_eq!((reads.get(), writes.get()), (1, 1));
    rev.del(&mut base).unwrap();
    pass(&mut base); // the mask change may report the writable edge again
    writes.set(0);
    pass(&mut base);
    pass(&mut base);
    assert_eq!(writes.get(), 0, "WRITE|ET event was downgraded to LT");
}

#[test]
fn et_mix_error() {
    assert!(!rvent::debug_mode_enabled());
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let fd = b.as_raw_fd();
    let lt = Event::new(&mut base, fd, Ev::READ | Ev::PERSIST, |_, _, _, _| {}).unwrap();
    let et_read = Event::new(&mut base, fd, Ev::READ | Ev::ET, |_, _, _, _| {}).unwrap();
    let et_write = Event::new(&mut base, fd, Ev::WRITE | Ev::ET, |_, _, _, _| {}).unwrap();
    lt.add(&mut base, None).unwrap();
    assert!(is_invalid(et_read.add(&mut base, None)));
    assert!(is_invalid(
        et_write.add(&mut base, Some(Duration::from_secs(10)))
    ));
    assert_eq!(
        et_read.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap().0,
        Ev::empty()
    );
    assert_eq!(
        et_write.pending(&base, Ev::WRITE | Ev::TIMEOUT).unwrap().0,
        Ev::empty()
    );
    assert_eq!(base.num_pending(), 1, "a failed add leaves nothing pending");
    base.assert_invariants();

    // The other way round: ET first, then LT.
    lt.del(&mut base).unwrap();
    et_read.add(&mut base, None).unwrap();
    assert!(is_invalid(lt.add(&mut base, None)));
    let lt_write = Event::new(&mut base, fd, Ev::WRITE, |_, _, _, _| {}).unwrap();
    assert!(is_invalid(lt_write.add(&mut base, None)));
    et_write.add(&mut base, None).unwrap();
    assert_eq!(base.num_pending(), 2);
    base.assert_invariants();
}

// ---------------------------------------------------------------------------
// Close detection
// ---------------------------------------------------------------------------

#[test]
fn simpleclose_rw() {
    let mut base = EventBase::new().unwrap();

    // Reader: the peer's close is reported as READ (and read() sees EOF).
    let (a, b) = pair();
    let reads = Rc::new(RefCell::new(Vec::new()));
    let r = reads.clone();
    let mut rd = b.try_clone().unwrap();
    let rev = Event::new(&mut base, b.as_raw_fd(), Ev::READ, move |_, _, _, what| {
        let mut buf = [0u8; 8];
        assert_eq!(rd.read(&mut buf).unwrap(), 0, "EOF");
        r.borrow_mut().push(what);
    })
    .unwrap();
    rev.add(&mut base, None).unwrap();
    pass(&mut base);
    assert!(reads.borrow().is_empty(), "nothing to read yet");
    drop(a);
    pass(&mut base);
    assert_eq!(*reads.borrow(), [Ev::READ]);

    // Blocked writer: the peer's close is reported as WRITE.
    let (mut c, d) = pair();
    assert!(fill(&mut c) > 0);
    let writes = Rc::new(RefCell::new(Vec::new()));
    let w = writes.clone();
    let wev = Event::new(
        &mut base,
        c.as_raw_fd(),
        Ev::WRITE | Ev::PERSIST,
        move |base, ev, _, what| {
            w.borrow_mut().push(what);
            ev.del(base).unwrap();
        },
    )
    .unwrap();
    wev.add(&mut base, None).unwrap();
    pass(&mut base);
    assert!(writes.borrow().is_empty(), "a full socket is not writable");
    drop(d);
    pass(&mut base);
    assert_eq!(*writes.borrow(), [Ev::WRITE]);
    assert!(matches!(c.write(b"x"), Err(e) if e.kind() == ErrorKind::BrokenPipe));
    assert_eq!(base.num_pending(), 0);
}

/// An event watching only `Ev::CLOSED | extra` on `b` while `a` has sent
/// data nobody reads. Returns the `what` of every call over two passes
/// after the peer closes (or shuts down its write side).
fn closed_calls(close: bool, extra: Ev) -> Vec<Ev> {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"unread").unwrap();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::CLOSED | extra,
        move |_, _, _, what| {
            c.borrow_mut().push(what);
        },
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    pass(&mut base);
    assert!(calls.borrow().is_empty(), "readable data is not a close");
    if close {
        drop(a);
    } else {
        a.shutdown(Shutdown::Write).unwrap();
    }
    pass(&mut base);
    pass(&mut base);
    let pending = ev.pending(&base, Ev::CLOSED).unwrap().0;
    assert_eq!(pending.is_empty(), !extra.contains(Ev::PERSIST));
    let mut buf = [0u8; 16];
    assert_eq!((&b).read(&mut buf).unwrap(), 6, "the data was left unread");
    calls.take()
}

#[test]
fn simpleclose_shutdown() {
    assert_eq!(closed_calls(false, Ev::empty()), [Ev::CLOSED]);
}

#[test]
fn simpleclose_close() {
    assert_eq!(closed_calls(true, Ev::empty()), [Ev::CLOSED]);
}

#[test]
fn simpleclose_shutdown_persist() {
    assert_eq!(
        closed_calls(false, Ev::PERSIST),
        [Ev::CLOSED, Ev::CLOSED],
        "level-triggered"
    );
}

#[test]
fn simpleclose_close_persist() {
    assert_eq!(
        closed_calls(true, Ev::PERSIST),
        [Ev::CLOSED, Ev::CLOSED],
        "level-triggered"
    );
}

/// [`closed_calls`] with `Ev::ET` added, on a backend that has it (else
/// `test` is skipped): one call, whatever the persistence.
fn closed_calls_et(test: &str, close: bool, extra: Ev) {
    if !et_backend(test) {
        return;
    }
    assert_eq!(closed_calls(close, extra | Ev::ET), [Ev::CLOSED | Ev::ET]);
}

#[test]
fn simpleclose_shutdown_et() {
    closed_calls_et("simpleclose_shutdown_et", false, Ev::empty());
}

#[test]
fn simpleclose_close_et() {
    closed_calls_et("simpleclose_close_et", true, Ev::empty());
}

#[test]
fn simpleclose_shutdown_persist_et() {
    closed_calls_et("simpleclose_shutdown_persist_et", false, Ev::PERSIST);
}

#[test]
fn simpleclose_close_persist_et() {
    closed_calls_et("simpleclose_close_persist_et", true, Ev::PERSIST);
}

#[test]
fn closed_only_event_does_not_spin_on_unread_data() {
    // libevent registers EV_CLOSED alone as EPOLLRDHUP, so unread data does
    // not wake the loop. rvent used to add EPOLLIN (level-triggered) for
    // CLOSED: `epoll_wait` returned at once on every iteration, no event
    // matched, and the loop spun at 100% CPU.
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"unread").unwrap();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::CLOSED | Ev::PERSIST,
        |_, _, _, _| panic!("no close happened"),
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    base.loopexit(Some(Duration::from_millis(40))).unwrap();
    let cpu = thread_cpu_time();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    let used = thread_cpu_time() - cpu;
    assert!(
        used < Duration::from_millis(15),
        "loop spun for {used:?} of CPU in 40 ms"
    );
}

// ---------------------------------------------------------------------------
// Activation and the pending / active state machine
// ---------------------------------------------------------------------------

#[test]
fn manipulate_active_events() {
    let mut base = EventBase::new().unwrap();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    let ev = Event::timer(&mut base, move |_, _, _, what| c.borrow_mut().push(what)).unwrap();
    ev.active(&mut base, Ev::READ).unwrap();
    ev.active(&mut base, Ev::WRITE).unwrap();
    assert_eq!(base.num_active(), 1, "activating twice queues once");
    assert_eq!(
        ev.pending(&base, Ev::READ | Ev::WRITE | Ev::TIMEOUT)
            .unwrap(),
        (Ev::READ | Ev::WRITE, None)
    );
    assert_eq!(ev.pending(&base, Ev::WRITE).unwrap().0, Ev::WRITE);
    base.assert_invariants();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(
        *calls.borrow(),
        [Ev::READ | Ev::WRITE],
        "one call with the ORed flags"
    );
}

#[test]
fn active_on_nonpending_event() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let calls = Rc::new(RefCell::new(Vec::new()));
    for extra in [Ev::empty(), Ev::PERSIST] {
        let c = calls.clone();
        let ev = Event::new(
            &mut base,
            b.as_raw_fd(),
            Ev::READ | extra,
            move |_, _, _, what| {
                c.borrow_mut().push(what);
            },
        )
        .unwrap();
        assert_eq!(ev.pending(&base, Ev::READ).unwrap().0, Ev::empty());
        ev.active(&mut base, Ev::READ).unwrap();
        assert_eq!(base.num_pending(), 0);
        assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
        assert_eq!(
            ev.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap().0,
            Ev::empty(),
            "activation does not make an event pending"
        );
    }
    assert_eq!(*calls.borrow(), [Ev::READ, Ev::READ]);
    base.assert_invariants();
}

#[test]
fn active_on_finalized_event_fails() {
    let mut base = EventBase::new().unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let ev = Event::timer(&mut base, move |_, _, _, _| c.bump()).unwrap();
    ev.finalize(&mut base, |_, _| {}).unwrap();
    assert!(is_bad_state(ev.active(&mut base, Ev::TIMEOUT)));
    base.dispatch().unwrap();
    assert!(
        is_bad_state(ev.active(&mut base, Ev::TIMEOUT)),
        "still refused after the finalizer ran"
    );
    assert_eq!(base.num_active(), 0);
    assert_eq!(calls.get(), 0);
}

#[test]
fn nonpersistent_event_not_pending_in_callback() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ,
        move |base, ev, _, what| {
            assert_eq!(what, Ev::READ);
            s.borrow_mut()
                .push(ev.pending(base, Ev::READ | Ev::TIMEOUT).unwrap());
        },
    )
    .unwrap();
    ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(*seen.borrow(), [(Ev::empty(), None)]);
}

#[test]
fn persistent_event_pending_in_callback() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |base, ev, _, _| {
            let before = Instant::now();
            let (flags, expiry) = ev.pending(base, Ev::READ | Ev::TIMEOUT).unwrap();
            s.borrow_mut().push(flags);
            let expiry = expiry.expect("a persistent timeout is re-armed before the callback");
            assert!(
                expiry > before + Duration::from_secs(9),
                "re-armed from now: {expiry:?}"
            );
            ev.del(base).unwrap();
        },
    )
    .unwrap();
    ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(*seen.borrow(), [Ev::READ | Ev::TIMEOUT]);
}

#[test]
fn del_removes_active_event() {
    // Activated by hand: the first callback deletes the second.
    let mut base = EventBase::new().unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let victim: Rc<Cell<Option<Event>>> = Rc::new(Cell::new(None));
    let (o, v) = (order.clone(), victim.clone());
    let first = Event::timer(&mut base, move |base, _, _, _| {
        o.borrow_mut().push("first");
        v.get().unwrap().del(base).unwrap();
    })
    .unwrap();
    let o = order.clone();
    let second = Event::timer(&mut base, move |_, _, _, _| o.borrow_mut().push("second")).unwrap();
    victim.set(Some(second));
    second
        .add(&mut base, Some(Duration::from_secs(10)))
        .unwrap();
    first.active(&mut base, Ev::TIMEOUT).unwrap();
    second.active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(
        base.dispatch().unwrap(),
        LoopStatus::NoEvents,
        "del also removed the timeout"
    );
    assert_eq!(*order.borrow(), ["first"]);
    assert_eq!(
        second.pending(&base, Ev::TIMEOUT).unwrap(),
        (Ev::empty(), None)
    );

    // Activated by the poller in the same iteration: two read events on one
    // fd, whichever runs first deletes the other.
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let calls = Counter::new();
    let evs: Rc<RefCell<Vec<Event>>> = Rc::new(RefCell::new(Vec::new()));
    for _ in 0..2 {
        let (c, evs2) = (calls.clone(), evs.clone());
        let ev = Event::new(
            &mut base,
            b.as_raw_fd(),
            Ev::READ | Ev::PERSIST,
            move |base, me, _, _| {
                c.bump();
                for other in evs2.borrow().iter().filter(|&&e| e != me) {
                    other.del(base).unwrap();
                }
                me.del(base).unwrap();
            },
        )
        .unwrap();
        ev.add(&mut base, None).unwrap();
        evs.borrow_mut().push(ev);
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(
        calls.get(),
        1,
        "a deleted active event's callback never runs"
    );
    base.assert_invariants();
}

#[test]
fn free_own_event_in_callback() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let (p, dropped) = DropProbe::watched();
    let calls = Counter::new();
    let c = calls.clone();
    let d = dropped.clone();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |base, ev, _, _| {
            let _keep = &p;
            c.bump();
            ev.free(base).unwrap();
            assert!(!ev.is_live(base));
            assert!(is_stale(ev.add(base, None)));
            assert!(is_stale(ev.pending(base, Ev::READ)));
            assert!(is_stale(ev.free(base)));
            assert!(!d.get(), "the running closure is dropped after it returns");
        },
    )
    .unwrap();
    ev.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(calls.get(), 1);
    assert!(dropped.get(), "freed event's closure was dropped");
    assert!(is_stale(ev.del(&mut base)));
    assert!(is_stale(ev.active(&mut base, Ev::READ)));
    assert_eq!(base.num_events(), 0);
    base.assert_invariants();
}

#[test]
fn callback_reassigns_own_event() {
    let mut base = EventBase::new().unwrap();
    let (p, old_dropped) = DropProbe::watched();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let ev = Event::timer(&mut base, move |base, ev, _, _| {
        let _keep = &p;
        o.borrow_mut().push("old");
        let o2 = o.clone();
        ev.assign(base, None, Ev::empty(), move |_, _, _, what| {
            assert_eq!(what, Ev::TIMEOUT);
            o2.borrow_mut().push("new");
        })
        .unwrap();
        ev.add(base, Some(Duration::ZERO)).unwrap();
    })
    .unwrap();
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(*order.borrow(), ["old", "new"]);
    assert!(old_dropped.get(), "the replaced closure was dropped");
    assert!(ev.is_live(&base));
}

#[test]
fn callback_manipulates_other_events() {
    // One callback frees an active event, deletes a pending one, adds a
    // third, creates and activates a new one, then frees itself.
    let mut base = EventBase::new().unwrap();
    let ran = Rc::new(RefCell::new(Vec::new()));
    let mk = |base: &mut EventBase, name: &'static str| {
        let r = ran.clone();
        Event::timer(base, move |_, _, _, _| r.borrow_mut().push(name)).unwrap()
    };
    let (freed, deleted, added) = (
        mk(&mut base, "freed"),
        mk(&mut base, "deleted"),
        mk(&mut base, "added"),
    );
    let created: Rc<Cell<Option<Event>>> = Rc::new(Cell::new(None));
    let (r, cr) = (ran.clone(), created.clone());
    let driver = Event::timer(&mut base, move |base, me, _, _| {
        r.borrow_mut().push("driver");
        freed.free(base).unwrap();
        deleted.del(base).unwrap();
        added.add(base, Some(Duration::from_secs(10))).unwrap();
        let r2 = r.clone();
        let new = Event::timer(base, move |_, _, _, what| {
            assert_eq!(what, Ev::WRITE);
            r2.borrow_mut().push("created");
        })
        .unwrap();
        new.active(base, Ev::WRITE).unwrap();
        cr.set(Some(new));
        me.free(base).unwrap();
        base.assert_invariants();
    })
    .unwrap();
    deleted
        .add(&mut base, Some(Duration::from_secs(10)))
        .unwrap();
    driver.active(&mut base, Ev::TIMEOUT).unwrap();
    freed.active(&mut base, Ev::TIMEOUT).unwrap();
    deleted.active(&mut base, Ev::TIMEOUT).unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    base.assert_invariants();
    assert_eq!(*ran.borrow(), ["driver", "created"]);
    assert!(!driver.is_live(&base) && !freed.is_live(&base));
    assert_eq!(deleted.pending(&base, Ev::TIMEOUT).unwrap().0, Ev::empty());
    assert_eq!(added.pending(&base, Ev::TIMEOUT).unwrap().0, Ev::TIMEOUT);
    assert!(created.get().unwrap().is_live(&base));
    assert_eq!(
        (base.num_events(), base.num_pending(), base.num_active()),
        (3, 1, 0)
    );
}

/// State shared by the callbacks of [`callbacks_manipulate_events`].
struct Chaos {
    rng: u64,
    ops: u32,
    limit: u32,
    fd: RawFd,
    all: Vec<Event>,
}

impl Chaos {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn chaos_event(base: &mut EventBase, w: &Rc<RefCell<Chaos>>, kind: u64) -> Event {
    let fd = w.borrow().fd;
    let (fd, what) = match kind % 4 {
        0 => (None, Ev::empty()),
        1 => (None, Ev::PERSIST),
        2 => (Some(fd), Ev::READ),
        _ => (Some(fd), Ev::READ | Ev::PERSIST),
    };
    let w2 = w.clone();
    let ev = Event::new(base, fd, what, move |base, me, _, _| {
        chaos_step(base, Some(me), &w2)
    })
    .unwrap();
    w.borrow_mut().all.push(ev);
    ev
}

fn chaos_step(base: &mut EventBase, me: Option<Event>, w: &Rc<RefCell<Chaos>>) {
    for _ in 0..3 {
        let (op, target, r) = {
            let mut c = w.borrow_mut();
            c.ops += 1;
            if c.ops > c.limit {
                drop(c);
                base.loopbreak();
                return;
            }
            let r = c.next();
            let target = match me {
                Some(me) if r.is_multiple_of(4) => me,
                _ => c.all[(r >> 8) as usize % c.all.len()],
            };
            (r % 11, target, r >> 16)
        };
        let res = match op {
            0 => target.add(base, None),
            1 => target.add(base, Some(Duration::from_micros(r % 1500))),
            2 => target.del(base),
            3 => target.free(base),
            4 => target.active(base, Ev::TIMEOUT),
            5 => target.set_priority(base, (r % 3) as usize),
            6 => chaos_event(base, w, r).add(base, Some(Duration::ZERO)),
            7 => target.finalize(base, |_, _| {}),
            8 => target.free_finalize(base, |_, _| {}),
            9 => {
                let w2 = w.clone();
                base.once(None, Ev::TIMEOUT, None, move |base, _, _| {
                    chaos_step(base, None, &w2)
                })
            }
            _ => {
                let w2 = w.clone();
                target.assign(base, None, Ev::PERSIST, move |base, me, _, _| {
                    chaos_step(base, Some(me), &w2)
                })
            }
        };
        if let Err(e) = res {
            assert!(
                matches!(e, Error::StaleEvent | Error::BadState(_)),
                "op {op} on {target:?}: unexpected {e}"
            );
        }
        base.assert_invariants();
    }
}

#[test]
fn callbacks_manipulate_events() {
    // Callbacks add, delete, free, activate, re-prioritise, finalize and
    // re-assign their own and other events, and create new events and once
    // callbacks, in a seeded pseudo-random mix. Nothing may panic and the
    // bookkeeping must stay consistent.
    for seed in 1..=24u64 {
        let mut base = EventBase::new().unwrap();
        base.priority_init(3).unwrap();
        let (mut a, b) = pair();
        a.write_all(b"always readable").unwrap();
        let limit = 400;
        let w = Rc::new(RefCell::new(Chaos {
            rng: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ops: 0,
            limit,
            fd: b.as_raw_fd(),
            all: Vec::new(),
        }));
        for k in 0..12 {
            let ev = chaos_event(&mut base, &w, k);
            ev.add(&mut base, Some(Duration::ZERO)).unwrap();
        }
        let mut rounds = 0;
        while w.borrow().ops <= limit {
            rounds += 1;
            assert!(rounds < 1000, "seed {seed}: no progress");
            let all = w.borrow().all.clone();
            if !all
                .iter()
                .any(|ev| ev.active(&mut base, Ev::TIMEOUT).is_ok())
            {
                let ev = chaos_event(&mut base, &w, rounds);
                ev.active(&mut base, Ev::TIMEOUT).unwrap();
            }
            base.run(LoopFlags::NONBLOCK).unwrap();
            base.assert_invariants();
        }
        // Free every event; only never-run once callbacks (active, not
        // pending) may remain.
        let all = w.borrow().all.clone();
        for ev in all {
            if ev.is_live(&base) {
                ev.free(&mut base).unwrap();
            }
        }
        base.assert_invariants();
        assert_eq!(base.num_pending(), 0, "seed {seed}");
        assert_eq!(base.num_events(), base.num_active(), "seed {seed}");
    }
}

// ---------------------------------------------------------------------------
// Priorities
// ---------------------------------------------------------------------------

#[test]
fn set_priority_out_of_range_fails() {
    let mut base = EventBase::new().unwrap();
    let ev = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    assert_eq!(ev.priority(&base).unwrap(), 0);
    assert!(
        is_invalid(ev.set_priority(&mut base, 1)),
        "one priority by default"
    );
    base.priority_init(3).unwrap();
    assert!(is_invalid(ev.set_priority(&mut base, 3)));
    assert!(is_invalid(ev.set_priority(&mut base, usize::MAX)));
    ev.set_priority(&mut base, 2).unwrap();
    assert_eq!(ev.priority(&base).unwrap(), 2);
}

#[test]
fn set_priority_on_active_event_fails() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(3).unwrap();
    let ev = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    assert_eq!(
        ev.priority(&base).unwrap(),
        1,
        "new events get the middle priority"
    );
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    assert!(is_bad_state(ev.set_priority(&mut base, 0)));
    assert_eq!(ev.priority(&base).unwrap(), 1);
    base.dispatch().unwrap();
    ev.set_priority(&mut base, 0).unwrap();
    assert_eq!(ev.priority(&base).unwrap(), 0);
}

#[test]
fn strict_priority_dispatch() {
    // Priority-1 events `a` and `b` are activated before priority-0 `z`;
    // `z` runs first and keeps re-activating itself, starving priority 1
    // until it stops. When `a` activates `z`, `z` runs before `b`.
    let mut base = EventBase::new().unwrap();
    base.priority_init(2).unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let zh: Rc<Cell<Option<Event>>> = Rc::new(Cell::new(None));
    let o = order.clone();
    let mut zruns = 0;
    let z = Event::timer(&mut base, move |base, me, _, _| {
        o.borrow_mut().push("z");
        zruns += 1;
        if zruns < 3 {
            me.active(base, Ev::TIMEOUT).unwrap();
        }
    })
    .unwrap();
    z.set_priority(&mut base, 0).unwrap();
    zh.set(Some(z));
    let (o, zz) = (order.clone(), zh.clone());
    let a = Event::timer(&mut base, move |base, _, _, _| {
        o.borrow_mut().push("a");
        zz.get().unwrap().active(base, Ev::TIMEOUT).unwrap();
    })
    .unwrap();
    let o = order.clone();
    let b = Event::timer(&mut base, move |_, _, _, _| o.borrow_mut().push("b")).unwrap();
    a.set_priority(&mut base, 1).unwrap();
    b.set_priority(&mut base, 1).unwrap();
    a.active(&mut base, Ev::TIMEOUT).unwrap();
    b.active(&mut base, Ev::TIMEOUT).unwrap();
    z.active(&mut base, Ev::TIMEOUT).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(*order.borrow(), ["z", "z", "z", "a", "z", "b"]);
}

#[test]
fn priorities_starve_lower_queues() {
    // libevent's main/priorities: a priority-0 and a lowest-priority 0-s
    // timer re-add themselves until their third call; the fourth call asks
    // for loopexit (a middle-priority event). Lower queues run only when
    // every more urgent one is empty.
    for (n, want) in [(1, (3, 3)), (2, (3, 1)), (3, (3, 0))] {
        let mut base = EventBase::new().unwrap();
        base.priority_init(n).unwrap();
        let mut counts = Vec::new();
        for pri in [0, n - 1] {
            let count = Counter::new();
            let c = count.clone();
            let ev = Event::timer(&mut base, move |base, me, _, _| {
                if c.get() == 3 {
                    base.loopexit(None).unwrap();
                    return;
                }
                c.bump();
                me.add(base, Some(Duration::ZERO)).unwrap();
            })
            .unwrap();
            ev.set_priority(&mut base, pri).unwrap();
            ev.add(&mut base, Some(Duration::ZERO)).unwrap();
            counts.push(count);
        }
        assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
        assert!(base.got_exit());
        assert_eq!((counts[0].get(), counts[1].get()), want, "{n} priorities");
    }
}

#[test]
fn fifo_within_priority() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(2).unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut evs = Vec::new();
    for i in 0..6 {
        let o = order.clone();
        let ev = Event::timer(&mut base, move |_, _, _, _| o.borrow_mut().push(i)).unwrap();
        ev.set_priority(&mut base, i % 2).unwrap();
        evs.push(ev);
    }
    for i in [5, 3, 0, 4, 1, 2] {
        evs[i].active(&mut base, Ev::TIMEOUT).unwrap();
    }
    // Re-activating an already queued event keeps its place.
    evs[5].active(&mut base, Ev::READ).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(*order.borrow(), [0, 4, 2, 5, 3, 1]);
}

// ---------------------------------------------------------------------------
// once
// ---------------------------------------------------------------------------

#[test]
fn event_once() {
    let mut base = EventBase::new().unwrap();
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    base.once(b.as_raw_fd(), Ev::READ, None, move |_, _, what| {
        o.borrow_mut().push(("read", what));
    })
    .unwrap();
    let o = order.clone();
    // The stopwatch starts before the timer is registered: however slow the
    // run (valgrind), the timer cannot fire less than 50 ms after it.
    let start = Instant::now();
    base.once(
        None,
        Ev::TIMEOUT,
        Some(Duration::from_millis(50)),
        move |_, _, what| {
            o.borrow_mut().push(("timer", what));
        },
    )
    .unwrap();
    let o = order.clone();
    base.once(None, Ev::TIMEOUT, None, move |_, _, what| {
        o.borrow_mut().push(("immediate 1", what));
    })
    .unwrap();
    let o = order.clone();
    base.once(
        None,
        Ev::TIMEOUT,
        Some(Duration::ZERO),
        move |_, _, what| {
            o.borrow_mut().push(("immediate 2", what));
        },
    )
    .unwrap();
    assert_eq!(base.num_events(), 4);
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(
        *order.borrow(),
        [
            ("immediate 1", Ev::TIMEOUT),
            ("immediate 2", Ev::TIMEOUT),
            ("read", Ev::READ),
            ("timer", Ev::TIMEOUT),
        ]
    );
    assert_eq!(
        base.num_events(),
        0,
        "once events are released after firing"
    );
    base.assert_invariants();
}

#[test]
fn once_bad_flags() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let fd = b.as_raw_fd();
    let bad = [
        (fd, Ev::READ | Ev::PERSIST),
        (-1, Ev::TIMEOUT | Ev::PERSIST),
        (libc_sigusr1(), Ev::SIGNAL),
        (fd, Ev::empty()),
        (-1, Ev::empty()),
        (-1, Ev::READ),
    ];
    for (fd, what) in bad {
        let r = base.once(fd, what, Some(Duration::from_millis(1)), |_, _, _| {
            panic!("rejected once callback ran")
        });
        assert!(is_invalid(r), "once({fd}, {what:?})");
    }
    assert_eq!(base.num_events(), 0);
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);
}

fn libc_sigusr1() -> i32 {
    10 // SIGUSR1 on Linux
}

#[test]
fn once_never_fired_released_on_drop() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let (p1, timer_dropped) = DropProbe::watched();
    let (p2, read_dropped) = DropProbe::watched();
    base.once(
        None,
        Ev::TIMEOUT,
        Some(Duration::from_secs(10)),
        move |_, _, _| {
            let _keep = &p1;
            panic!("10 s once fired");
        },
    )
    .unwrap();
    base.once(b.as_raw_fd(), Ev::READ, None, move |_, _, _| {
        let _keep = &p2;
        panic!("read once fired without data");
    })
    .unwrap();
    base.loopexit(Some(Duration::from_millis(5))).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::Exited);
    assert!(!timer_dropped.get() && !read_dropped.get());
    assert_eq!(base.num_pending(), 2);
    drop(base);
    assert!(
        timer_dropped.get(),
        "never-fired timer once released with the base"
    );
    assert!(
        read_dropped.get(),
        "never-fired read once released with the base"
    );
}

// ---------------------------------------------------------------------------
// finalize
// ---------------------------------------------------------------------------

#[test]
fn finalize_cb_invoked() {
    // The finalizer runs instead of the callback for an idle, an active, an
    // added and a re-added (added, active, added again) event.
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let (cbs, fins) = (Counter::new(), Counter::new());
    let mut evs = Vec::new();
    for case in 0..4 {
        let c = cbs.clone();
        let ev = Event::new(
            &mut base,
            b.as_raw_fd(),
            Ev::READ | Ev::PERSIST,
            move |_, _, _, _| c.bump(),
        )
        .unwrap();
        match case {
            0 => {}
            1 => ev.active(&mut base, Ev::READ).unwrap(),
            2 => ev.add(&mut base, Some(Duration::from_secs(10))).unwrap(),
            _ => {
                ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
                ev.active(&mut base, Ev::READ).unwrap();
                ev.add(&mut base, Some(Duration::from_secs(20))).unwrap();
            }
        }
        let f = fins.clone();
        if case % 2 == 0 {
            ev.finalize(&mut base, move |_, fev| {
                assert_eq!(fev, ev);
                f.bump();
            })
            .unwrap();
        } else {
            ev.free_finalize(&mut base, move |_, fev| {
                assert_eq!(fev, ev);
                f.bump();
            })
            .unwrap();
        }
        assert_eq!(
            ev.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap().0,
            Ev::empty()
        );
        evs.push(ev);
    }
    assert_eq!(base.num_pending(), 0, "finalize deletes");
    base.assert_invariants();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!((cbs.get(), fins.get()), (0, 4));
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);
    assert_eq!(fins.get(), 4, "each finalizer runs once");
    let live: Vec<bool> = evs.iter().map(|ev| ev.is_live(&base)).collect();
    assert_eq!(live, [true, false, true, false]);
}

#[test]
fn finalize_within_cb() {
    let mut base = EventBase::new().unwrap();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let evs: Rc<RefCell<Vec<Event>>> = Rc::new(RefCell::new(Vec::new()));
    for name in ["first", "second"] {
        let (c, evs2) = (calls.clone(), evs.clone());
        let ev = Event::timer(&mut base, move |base, _, _, _| {
            c.borrow_mut().push(name);
            for &ev in evs2.borrow().iter() {
                let c = c.clone();
                ev.finalize(base, move |_, _| c.borrow_mut().push("fin"))
                    .unwrap();
            }
        })
        .unwrap();
        evs.borrow_mut().push(ev);
    }
    for &ev in evs.borrow().iter() {
        ev.active(&mut base, Ev::TIMEOUT).unwrap();
    }
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(
        *calls.borrow(),
        ["first", "fin", "fin"],
        "second's callback never runs"
    );
    base.assert_invariants();
}

#[test]
fn free_finalize_frees_finalize_keeps() {
    let mut base = EventBase::new().unwrap();
    let (p1, freed_dropped) = DropProbe::watched();
    let (p2, kept_dropped) = DropProbe::watched();
    let freed = Event::timer(&mut base, move |_, _, _, _| {
        let _keep = &p1;
    })
    .unwrap();
    let kept = Event::timer(&mut base, move |_, _, _, _| {
        let _keep = &p2;
    })
    .unwrap();
    freed.free_finalize(&mut base, |_, _| {}).unwrap();
    kept.finalize(&mut base, |_, _| {}).unwrap();
    assert!(
        freed_dropped.get() && kept_dropped.get(),
        "finalize drops the callback"
    );
    assert!(
        is_bad_state(kept.finalize(&mut base, |_, _| {})),
        "already finalizing"
    );
    assert!(is_bad_state(freed.free_finalize(&mut base, |_, _| {})));
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);

    assert!(!freed.is_live(&base));
    assert!(is_stale(freed.add(&mut base, None)));

    assert!(kept.is_live(&base));
    assert!(is_bad_state(kept.add(&mut base, None)));
    assert!(is_bad_state(
        kept.add(&mut base, Some(Duration::from_millis(1)))
    ));
    assert!(is_bad_state(kept.active(&mut base, Ev::TIMEOUT)));
    kept.del(&mut base).unwrap();
    assert_eq!(base.num_pending() + base.num_active(), 0);
    kept.free(&mut base).unwrap();
    assert_eq!(base.num_events(), 0);
}

#[test]
fn finalize_reassign_readd() {
    let mut base = EventBase::new().unwrap();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    let ev = Event::timer(&mut base, move |_, _, _, _| c.borrow_mut().push("old")).unwrap();
    ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
    let c = calls.clone();
    ev.finalize(&mut base, move |base, ev| {
        c.borrow_mut().push("fin");
        let c2 = c.clone();
        ev.assign(base, None, Ev::empty(), move |_, _, _, what| {
            assert_eq!(what, Ev::TIMEOUT);
            c2.borrow_mut().push("new");
        })
        .unwrap();
        ev.add(base, Some(Duration::ZERO)).unwrap();
    })
    .unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(*calls.borrow(), ["fin", "new"]);
    assert!(ev.is_live(&base));
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    base.dispatch().unwrap();
    assert_eq!(
        *calls.borrow(),
        ["fin", "new", "new"],
        "re-assigned event is usable again"
    );
}

#[test]
fn base_drop_runs_finalizers() {
    let mut base = EventBase::new().unwrap();
    let fins = Rc::new(RefCell::new(Vec::new()));
    let (p, cb_dropped) = DropProbe::watched();
    let later = Event::timer(&mut base, move |_, _, _, _| {
        let _keep = &p;
    })
    .unwrap();
    let f = fins.clone();
    let ev = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
    ev.finalize(&mut base, move |base, _| {
        f.borrow_mut().push("finalize");
        // A finalizer that runs during teardown queues another one.
        let f2 = f.clone();
        later
            .free_finalize(base, move |_, _| {
                f2.borrow_mut().push("queued by a finalizer")
            })
            .unwrap();
    })
    .unwrap();
    let f = fins.clone();
    let ev2 = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    ev2.free_finalize(&mut base, move |_, _| f.borrow_mut().push("free_finalize"))
        .unwrap();
    drop(base);
    let mut got = fins.borrow().clone();
    got.sort_unstable();
    assert_eq!(got, ["finalize", "free_finalize", "queued by a finalizer"]);
    assert!(cb_dropped.get());
}

// ---------------------------------------------------------------------------
// Status and getters
// ---------------------------------------------------------------------------

#[test]
fn event_pending() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let ev = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        |_, _, _, _| {},
    )
    .unwrap();
    assert_eq!(
        ev.pending(&base, Ev::READ | Ev::WRITE | Ev::TIMEOUT)
            .unwrap(),
        (Ev::empty(), None)
    );
    let before = Instant::now();
    ev.add(&mut base, Some(Duration::from_millis(500))).unwrap();
    let after = Instant::now();
    let (flags, expiry) = ev
        .pending(&base, Ev::READ | Ev::WRITE | Ev::TIMEOUT)
        .unwrap();
    assert_eq!(flags, Ev::READ | Ev::TIMEOUT);
    let expiry = expiry.expect("expiry reported with EV_TIMEOUT");
    let slack = Duration::from_millis(5);
    assert!(
        expiry + slack >= before + Duration::from_millis(500),
        "{expiry:?} vs {before:?}"
    );
    assert!(
        expiry <= after + Duration::from_millis(500) + slack,
        "{expiry:?} vs {after:?}"
    );
    assert_eq!(
        ev.pending(&base, Ev::READ).unwrap(),
        (Ev::READ, None),
        "no expiry without EV_TIMEOUT"
    );
    assert_eq!(ev.pending(&base, Ev::WRITE).unwrap(), (Ev::empty(), None));
    assert_eq!(
        ev.pending(&base, Ev::TIMEOUT).unwrap(),
        (Ev::TIMEOUT, Some(expiry))
    );

    ev.remove_timer(&mut base).unwrap();
    assert_eq!(
        ev.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap(),
        (Ev::READ, None)
    );
    ev.del(&mut base).unwrap();
    assert_eq!(
        ev.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap(),
        (Ev::empty(), None)
    );
    base.assert_invariants();
}

#[test]
fn getters() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(4).unwrap();
    let other = EventBase::new().unwrap();
    let (_a, b) = pair();
    let io = Event::new(
        &mut base,
        b.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        |_, _, _, _| {},
    )
    .unwrap();
    assert_eq!(io.fd(&base).unwrap(), Some(b.as_raw_fd()));
    assert_eq!(io.events(&base).unwrap(), Ev::READ | Ev::PERSIST);
    assert_eq!(io.priority(&base).unwrap(), 2);
    assert!(io.belongs_to(&base));
    assert!(!io.belongs_to(&other));
    assert!(io.is_live(&base));
    assert!(!io.is_live(&other));

    let timer = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    assert_eq!(timer.fd(&base).unwrap(), None);
    assert_eq!(timer.events(&base).unwrap(), Ev::empty());
    let sig = Event::signal(&mut base, libc_sigusr1(), |_, _, _, _| {}).unwrap();
    assert_eq!(sig.fd(&base).unwrap(), Some(libc_sigusr1()));
    assert_eq!(sig.events(&base).unwrap(), Ev::SIGNAL | Ev::PERSIST);
    assert_eq!(base.num_events(), 3);

    io.free(&mut base).unwrap();
    assert!(!io.is_live(&base));
    assert!(io.belongs_to(&base), "a stale handle still names its base");
    assert!(is_stale(io.fd(&base)));
    assert!(is_stale(io.events(&base)));
    assert!(is_stale(io.priority(&base)));
    assert_eq!(base.num_events(), 2);
}

#[test]
fn closure_dropped_when_event_freed() {
    let mut base = EventBase::new().unwrap();
    let (p, dropped) = DropProbe::watched();
    let ev = Event::timer(&mut base, move |_, _, _, _| {
        let _keep = &p;
    })
    .unwrap();
    ev.add(&mut base, Some(Duration::from_secs(10))).unwrap();
    assert!(!dropped.get());
    ev.free(&mut base).unwrap();
    assert!(dropped.get(), "freeing the event drops its captured state");
    assert_eq!(base.num_pending(), 0);

    // A never-freed event's state is dropped with the base.
    let (p, dropped) = DropProbe::watched();
    let ev = Event::timer(&mut base, move |_, _, _, _| {
        let _keep = &p;
    })
    .unwrap();
    ev.active(&mut base, Ev::TIMEOUT).unwrap();
    drop(base);
    assert!(dropped.get());
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn signal_with_io_flags_rejected() {
    let mut base = EventBase::new().unwrap();
    for io in [Ev::READ, Ev::WRITE, Ev::CLOSED] {
        let r = Event::new(&mut base, libc_sigusr1(), Ev::SIGNAL | io, |_, _, _, _| {});
        assert!(is_invalid(r), "{io:?}");
    }
    let ev = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    let r = ev.assign(
        &mut base,
        libc_sigusr1(),
        Ev::SIGNAL | Ev::READ,
        |_, _, _, _| {},
    );
    assert!(is_invalid(r), "bad_assign");
    assert_eq!(
        ev.events(&base).unwrap(),
        Ev::empty(),
        "failed assign changes nothing"
    );
    assert_eq!(base.num_events(), 1);
}

#[test]
fn signal_number_out_of_range() {
    let mut base = EventBase::new().unwrap();
    for signum in [0, 65, -1, i32::MAX] {
        assert!(
            is_invalid(Event::signal(&mut base, signum, |_, _, _, _| {})),
            "{signum}"
        );
    }
    assert_eq!(base.num_events(), 0);
}

#[test]
fn negative_fd_rejected() {
    let mut base = EventBase::new().unwrap();
    for (fd, what) in [
        (-1, Ev::READ),
        (-5, Ev::WRITE),
        (-1, Ev::CLOSED),
        (i32::MIN, Ev::READ | Ev::ET),
    ] {
        assert!(
            is_invalid(Event::new(&mut base, fd, what, |_, _, _, _| {})),
            "{fd} {what:?}"
        );
    }
    assert_eq!(base.num_events(), 0);
}

#[test]
fn add_fd_int_max_fails() {
    let mut base = EventBase::new().unwrap();
    let ev = Event::new(&mut base, i32::MAX, Ev::READ, |_, _, _, _| {}).unwrap();
    assert!(matches!(ev.add(&mut base, None), Err(Error::Io(_))));
    assert!(ev.add(&mut base, Some(Duration::from_secs(10))).is_err());
    assert_eq!(
        ev.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap().0,
        Ev::empty()
    );
    assert_eq!(base.num_pending(), 0);
    base.assert_invariants();
}

#[test]
fn add_regular_file_fails() {
    // epoll refuses regular files; poll serves them (tests/event_base.rs).
    let mut base = util::backend::epoll_base();
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let ev = Event::new(
        &mut base,
        file.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        |_, _, _, _| {},
    )
    .unwrap();
    match ev.add(&mut base, None) {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(1), "EPERM: {e}"),
        other => panic!("epoll accepted a regular file: {other:?}"),
    }
    assert!(matches!(
        ev.add(&mut base, Some(Duration::from_secs(10))),
        Err(Error::Io(_))
    ));
    assert_eq!(
        ev.pending(&base, Ev::READ | Ev::TIMEOUT).unwrap(),
        (Ev::empty(), None)
    );
    assert_eq!(base.num_pending(), 0, "nothing left pending");
    base.assert_invariants();
    assert_eq!(base.run(LoopFlags::NONBLOCK).unwrap(), LoopStatus::NoEvents);

    // A once on the file fails the same way and is released at once.
    let (p, dropped) = DropProbe::watched();
    let r = base.once(file.as_raw_fd(), Ev::READ, None, move |_, _, _| {
        let _keep = &p;
    });
    assert!(matches!(r, Err(Error::Io(_))));
    assert!(dropped.get(), "the failed once's closure was dropped");
    assert_eq!(base.num_events(), 1);
    assert_eq!(base.num_pending(), 0);

    // The fd table is not poisoned: a socket event still works afterwards.
    let (mut a, b) = pair();
    a.write_all(b"x").unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let ok = Event::new(&mut base, b.as_raw_fd(), Ev::READ, move |_, _, _, _| {
        c.bump()
    })
    .unwrap();
    ok.add(&mut base, None).unwrap();
    assert_eq!(base.dispatch().unwrap(), LoopStatus::NoEvents);
    assert_eq!(calls.get(), 1);
}

#[test]
fn handle_from_other_base_is_stale() {
    let mut base = EventBase::new().unwrap();
    let mut other = EventBase::new().unwrap();
    let ev = Event::timer(&mut base, |_, _, _, _| {}).unwrap();
    // `other` has a live event at the same slot index and generation.
    let twin = Event::timer(&mut other, |_, _, _, _| {}).unwrap();
    assert!(twin.is_live(&other));
    assert!(is_stale(ev.add(&mut other, None)));
    assert!(is_stale(ev.del(&mut other)));
    assert!(is_stale(ev.active(&mut other, Ev::TIMEOUT)));
    assert!(is_stale(ev.pending(&other, Ev::TIMEOUT)));
    assert!(is_stale(ev.set_priority(&mut other, 0)));
    assert!(is_stale(ev.finalize(&mut other, |_, _| {})));
    assert!(is_stale(ev.free(&mut other)));
    assert!(!ev.is_live(&other));
    assert_eq!(other.num_active() + other.num_pending(), 0);
    assert!(ev.is_live(&base), "untouched in its own base");
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
        let ev = Event::new(&mut base, None, Ev::PERSIST, move |_, _, _, what| {
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

/// libevent's `test_event_assign_selfarg` / `event_get_assignment`: what an
/// event was assigned, in one call; a callback lost to a panic shows.
#[test]
fn event_get_assignment() {
    let mut base = EventBase::new().unwrap();
    let (_a, b) = pair();
    let fd = b.as_raw_fd();
    let ev = Event::new(&mut base, fd, Ev::READ | Ev::PERSIST, |_, _, _, _| {}).unwrap();
    ev.set_priority(&mut base, 0).unwrap();
    let a = ev.assignment(&base).unwrap();
    assert_eq!(a.fd, Some(fd));
    assert_eq!(a.events, Ev::READ | Ev::PERSIST);
    assert_eq!(a.priority, 0);
    assert!(a.has_callback);
    let sig = Event::signal(&mut base, libc::SIGUSR2, |_, _, _, _| {}).unwrap();
    assert_eq!(sig.assignment(&base).unwrap().fd, Some(libc::SIGUSR2));
    let p = Event::timer(&mut base, |_, _, _, _| panic!("boom")).unwrap();
    assert_eq!(p.assignment(&base).unwrap().fd, None);
    p.active(&mut base, Ev::TIMEOUT).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        base.run(LoopFlags::NONBLOCK)
    }));
    assert!(r.is_err());
    assert!(!p.assignment(&base).unwrap().has_callback);
    ev.free(&mut base).unwrap();
    assert!(matches!(ev.assignment(&base), Err(Error::StaleEvent)));
}
