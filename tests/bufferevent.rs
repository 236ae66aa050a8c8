//! Bufferevents (tutorial ch. 7): libevent's regress_bufferevent.c cases
//! that apply, over socket pairs, in-memory pairs and TCP on 127.0.0.1.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rvent::{
    BevEvent, BevOptions, Bufferevent, Buffers, Ev, EventBase, FlushMode, HasCallbacks, LoopFlags,
    TriggerOptions, Watermark,
};
use util::{Log, ms, pair};

/// A socket bufferevent over one end of a fresh socketpair; the other end
/// is returned for the test to poke.
fn socket_bev(
    base: &mut EventBase,
    opts: BevOptions,
) -> (Bufferevent, std::os::unix::net::UnixStream) {
    let (a, b) = pair();
    let bev = Bufferevent::socket(
        base,
        Some(a.into_raw_fd()),
        opts | BevOptions::CLOSE_ON_FREE,
    )
    .unwrap();
    (bev, b)
}

/// Two socket bufferevents on the two ends of a socketpair.
fn connected_socket_bevs(base: &mut EventBase) -> (Bufferevent, Bufferevent) {
    let (x, y) = pair();
    let a = Bufferevent::socket(base, Some(x.into_raw_fd()), BevOptions::CLOSE_ON_FREE).unwrap();
    let b = Bufferevent::socket(base, Some(y.into_raw_fd()), BevOptions::CLOSE_ON_FREE).unwrap();
    (a, b)
}

/// A payload whose bytes tell their position.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// A read callback that drains the whole input.
fn drain_input(base: &mut EventBase, bev: Bufferevent) {
    let n = bev.input_len(base).unwrap();
    bev.input(base).unwrap().drain(n).unwrap();
}

/// Sets a read callback on `bev` that logs how much input each call found
/// and drains it.
fn log_read_sizes(base: &mut EventBase, bev: Bufferevent) -> Log<usize> {
    let sizes = Log::new();
    let s = sizes.clone();
    bev.set_read_callback(base, move |base, bev| {
        s.push(bev.input_len(base).unwrap());
        drain_input(base, bev);
    })
    .unwrap();
    sizes
}

/// Sets an event callback on `bev` that logs the event and frees `bev`.
fn log_event_and_free(base: &mut EventBase, bev: Bufferevent) -> Log<BevEvent> {
    let events = Log::new();
    let e = events.clone();
    bev.set_event_callback(base, move |base, bev, what| {
        e.push(what);
        bev.free(base).unwrap();
    })
    .unwrap();
    events
}

/// Runs the loop until `done` or `limit`, failing on timeout.
fn run_until(base: &mut EventBase, limit: Duration, done: impl Fn(&EventBase) -> bool) {
    let start = Instant::now();
    while !done(base) {
        assert!(start.elapsed() < limit, "timed out");
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
        if !done(base) {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// libevent's `bufferevent` / `bufferevent_pair`: 8333 bytes written on
/// one side all arrive on the other; the writer's write callback runs once
/// its output drained.
fn transfer_8333(base: &mut EventBase, a: Bufferevent, b: Bufferevent) {
    let data = payload(8333);
    let got = Rc::new(RefCell::new(Vec::new()));
    let wrote = Rc::new(Cell::new(0));
    let g = got.clone();
    b.set_read_callback(base, move |base, bev| {
        let input = bev.input(base).unwrap();
        let mut chunk = vec![0; input.len()];
        input.remove(&mut chunk).unwrap();
        g.borrow_mut().extend_from_slice(&chunk);
    })
    .unwrap();
    let w = wrote.clone();
    a.set_write_callback(base, move |base, bev| {
        assert_eq!(bev.output_len(base).unwrap(), 0);
        w.set(w.get() + 1);
    })
    .unwrap();
    b.enable(base, Ev::READ).unwrap();
    a.enable(base, Ev::WRITE).unwrap();
    a.write(base, &data).unwrap();
    run_until(base, Duration::from_secs(5), |_| {
        got.borrow().len() == data.len()
    });
    assert_eq!(*got.borrow(), data);
    assert!(wrote.get() >= 1);
}

#[test]
fn socket_transfers_8333_bytes() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = connected_socket_bevs(&mut base);
    transfer_8333(&mut base, a, b);
    assert_eq!(a.enabled(&base).unwrap(), Ev::WRITE);
    assert_eq!(b.enabled(&base).unwrap(), Ev::READ | Ev::WRITE);
    assert_eq!(
        a.has_callbacks(&base).unwrap(),
        HasCallbacks {
            read: false,
            write: true,
            event: false
        }
    );
    a.free(&mut base).unwrap();
    b.free(&mut base).unwrap();
    assert!(!a.is_live(&base));
    assert!(matches!(
        a.write(&mut base, b"x"),
        Err(rvent::Error::StaleBufferevent)
    ));
}

#[test]
fn pair_transfers_8333_bytes() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    assert_eq!(a.partner(&base).unwrap(), Some(b));
    assert_eq!(b.partner(&base).unwrap(), Some(a));
    assert_eq!(a.fd(&base).unwrap(), None);
    transfer_8333(&mut base, a, b);
    a.free(&mut base).unwrap();
    assert_eq!(b.partner(&base).unwrap(), None);
}

#[test]
fn deferred_pair_transfers_8333_bytes() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::DEFER_CALLBACKS).unwrap();
    transfer_8333(&mut base, a, b);
}

/// libevent's `bufferevent_watermarks`: with read watermarks 10 / 20 every
/// read callback sees 10..=20 bytes, and all 65000 arrive.
fn watermarks(base: &mut EventBase, a: Bufferevent, b: Bufferevent) {
    const TOTAL: usize = 65000;
    let seen = Rc::new(RefCell::new(Vec::new()));
    let total = Rc::new(Cell::new(0usize));
    let (s, t) = (seen.clone(), total.clone());
    b.set_watermark(base, Ev::READ, 10, 20).unwrap();
    assert_eq!(
        b.watermark(base, Ev::READ).unwrap(),
        Watermark { low: 10, high: 20 }
    );
    assert!(b.watermark(base, Ev::READ | Ev::WRITE).is_err());
    b.set_read_callback(base, move |base, bev| {
        let n = bev.input_len(base).unwrap();
        s.borrow_mut().push(n);
        let mut buf = vec![0; n];
        assert_eq!(bev.read(base, &mut buf).unwrap(), n);
        t.set(t.get() + n);
    })
    .unwrap();
    b.enable(base, Ev::READ).unwrap();
    // Write in pieces so the reader sees many wakeups.
    let data = payload(TOTAL);
    let write_calls = Rc::new(Cell::new(0));
    let wc = write_calls.clone();
    a.set_watermark(base, Ev::WRITE, 100, 2000).unwrap();
    a.set_write_callback(base, move |base, bev| {
        assert!(bev.output_len(base).unwrap() <= 100);
        wc.set(wc.get() + 1);
    })
    .unwrap();
    a.write(base, &data).unwrap();
    run_until(base, Duration::from_secs(10), |_| total.get() == TOTAL);
    let seen = seen.borrow();
    assert!(seen.len() >= TOTAL / 20, "{} callbacks", seen.len());
    for &n in seen.iter() {
        assert!((10..=20).contains(&n), "read callback saw {n} bytes");
    }
    assert!(write_calls.get() >= 1);
}

#[test]
fn socket_watermarks_bound_every_read_callback() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = connected_socket_bevs(&mut base);
    watermarks(&mut base, a, b);
}

#[test]
fn pair_watermarks_bound_every_read_callback() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    watermarks(&mut base, a, b);
}

/// Reading stops at the high watermark and resumes once the user drains
/// the input from outside any callback.
#[test]
fn high_watermark_suspends_reading_until_drained() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    bev.set_watermark(&mut base, Ev::READ, 0, 100).unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(&payload(1000)).unwrap();
    for _ in 0..20 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(bev.input_len(&base).unwrap(), 100, "stops at high");
    bev.input(&mut base).unwrap().drain(60).unwrap();
    for _ in 0..20 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(bev.input_len(&base).unwrap(), 100, "refilled to high");
    bev.set_watermark(&mut base, Ev::READ, 0, 0).unwrap();
    run_until(&mut base, Duration::from_secs(2), |base| {
        bev.input_len(base).unwrap() == 1000 - 60
    });
}

/// libevent's `bufferevent_timeout`: read 150 ms / write 100 ms on a
/// bufferevent whose peer neither writes nor reads → exactly one of each,
/// on time, each direction disabled before the callback.
#[test]
fn read_and_write_timeouts_fire_once_each() {
    util::retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let (bev, _peer) = socket_bev(&mut base, BevOptions::empty());
        // Fill the peer's receive buffer so output stays pending.
        let big = payload(4 << 20);
        bev.write(&mut base, &big).unwrap();
        let log: Log<(BevEvent, Instant, Ev)> = Log::new();
        let l = log.clone();
        bev.set_event_callback(&mut base, move |base, bev, what| {
            l.push((what, Instant::now(), bev.enabled(base).unwrap()));
        })
        .unwrap();
        bev.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
        let start = Instant::now();
        bev.set_timeouts(&mut base, Some(ms(150)), Some(ms(100)))
            .unwrap();
        let stop = rvent::Event::timer(&mut base, |base, _, _, _| base.loopbreak()).unwrap();
        stop.add(&mut base, Some(ms(400))).unwrap();
        base.dispatch().unwrap();
        let got = log.get();
        assert_eq!(got.len(), 2, "{got:?}");
        let (w, r) = (got[0], got[1]);
        assert_eq!(w.0, BevEvent::WRITING | BevEvent::TIMEOUT);
        assert!(
            !w.2.contains(Ev::WRITE),
            "write disabled before the callback"
        );
        util::assert_on_time(start, w.1, ms(100), "write timeout");
        assert_eq!(r.0, BevEvent::READING | BevEvent::TIMEOUT);
        assert!(!r.2.contains(Ev::READ));
        util::assert_on_time(start, r.1, ms(150), "read timeout");
    });
}

/// Each successful read restarts the read timeout.
#[test]
fn reads_restart_the_read_timeout() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let timeouts = Rc::new(Cell::new(0));
    let t = timeouts.clone();
    bev.set_event_callback(&mut base, move |_, _, what| {
        assert!(what.contains(BevEvent::TIMEOUT));
        t.set(t.get() + 1);
    })
    .unwrap();
    bev.set_read_callback(&mut base, drain_input).unwrap();
    bev.set_timeouts(&mut base, Some(ms(60)), None).unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    let start = Instant::now();
    while start.elapsed() < ms(150) {
        peer.write_all(b"x").unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        std::thread::sleep(ms(10));
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(
        timeouts.get(),
        0,
        "traffic every 10 ms keeps a 60 ms timeout away"
    );
    run_until(&mut base, Duration::from_secs(2), |_| timeouts.get() == 1);
}

/// libevent's `bufferevent_connect_fail`: a refused connect gives exactly
/// one ERROR event and no read callback.
#[test]
fn refused_connect_reports_one_error() {
    let mut base = EventBase::new().unwrap();
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE).unwrap();
    let events: Log<BevEvent> = Log::new();
    let reads = Rc::new(Cell::new(0));
    let (e, r) = (events.clone(), reads.clone());
    bev.set_read_callback(&mut base, move |_, _| r.set(r.get() + 1))
        .unwrap();
    bev.set_event_callback(&mut base, move |_, _, what| e.push(what))
        .unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    bev.connect(&mut base, addr).unwrap();
    let stop = rvent::Event::timer(&mut base, |base, _, _, _| base.loopbreak()).unwrap();
    stop.add(&mut base, Some(ms(100))).unwrap();
    base.dispatch().unwrap();
    assert_eq!(events.get(), vec![BevEvent::ERROR]);
    assert_eq!(reads.get(), 0);
    let err = bev.socket_error(&base).unwrap().unwrap();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
}

/// libevent's `bufferevent_connect`: CONNECTED, then the server's string,
/// then EOF; output written before the connect finished is sent after.
#[test]
fn connect_reads_the_server_string_then_eof() {
    let mut base = EventBase::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut hello = [0u8; 5];
        s.read_exact(&mut hello).unwrap();
        assert_eq!(&hello, b"hello");
        s.write_all(b"from the server").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE).unwrap();
    let events: Log<BevEvent> = Log::new();
    let got = Rc::new(RefCell::new(Vec::new()));
    let (e, g) = (events.clone(), got.clone());
    bev.set_read_callback(&mut base, move |base, bev| {
        let input = bev.input(base).unwrap();
        let mut buf = vec![0; input.len()];
        input.remove(&mut buf).unwrap();
        g.borrow_mut().extend_from_slice(&buf);
    })
    .unwrap();
    bev.set_event_callback(&mut base, move |base, bev, what| {
        e.push(what);
        if what.contains(BevEvent::CONNECTED) {
            bev.enable(base, Ev::READ).unwrap();
        } else {
            bev.free(base).unwrap();
        }
    })
    .unwrap();
    bev.write(&mut base, b"hello").unwrap();
    bev.connect(&mut base, addr).unwrap();
    base.dispatch().unwrap();
    server.join().unwrap();
    assert_eq!(
        events.get(),
        vec![BevEvent::CONNECTED, BevEvent::READING | BevEvent::EOF]
    );
    assert_eq!(&got.borrow()[..], b"from the server");
    assert!(!bev.is_live(&base));
}

/// Host-name connects resolve off the loop thread.
#[test]
fn connect_hostname_resolves_localhost() {
    let mut base = EventBase::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE).unwrap();
    let events = log_event_and_free(&mut base, bev);
    bev.connect_hostname(&mut base, "localhost", port).unwrap();
    base.dispatch().unwrap();
    // localhost may resolve to ::1 first, where nobody listens: either a
    // connect or a refusal, never a lookup failure.
    let got = events.get();
    assert_eq!(got.len(), 1);
    assert!(
        got[0] == BevEvent::CONNECTED || got[0] == BevEvent::ERROR,
        "{got:?}"
    );

    let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE).unwrap();
    let e = events.clone();
    events.take();
    bev.set_event_callback(&mut base, move |_, _, what| e.push(what))
        .unwrap();
    bev.connect_hostname(&mut base, "no-such-host.invalid", port)
        .unwrap();
    base.dispatch().unwrap();
    assert_eq!(events.get(), vec![BevEvent::ERROR]);
    assert!(bev.dns_error(&base).unwrap().is_some());
}

/// libevent's `bufferevent_pair_flush`: FINISHED gives the partner
/// READING | EOF within one `run(ONCE)`.
#[test]
fn pair_finished_flush_gives_the_partner_eof() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let events: Log<BevEvent> = Log::new();
    let e = events.clone();
    b.set_event_callback(&mut base, move |_, _, what| e.push(what))
        .unwrap();
    a.write(&mut base, b"last words").unwrap();
    assert!(a.flush(&mut base, Ev::WRITE, FlushMode::Finished).unwrap());
    base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    assert_eq!(events.get(), vec![BevEvent::READING | BevEvent::EOF]);
    assert_eq!(
        b.input_len(&base).unwrap(),
        10,
        "flush ignores the disabled reader"
    );
    assert!(!a.flush(&mut base, Ev::WRITE, FlushMode::Normal).unwrap());
}

/// A socket flush is a no-op.
#[test]
fn socket_flush_is_a_no_op() {
    let mut base = EventBase::new().unwrap();
    let (bev, _peer) = socket_bev(&mut base, BevOptions::empty());
    assert!(
        !bev.flush(&mut base, Ev::WRITE, FlushMode::Finished)
            .unwrap()
    );
}

/// With DEFER_CALLBACKS, event flags raised between runs are OR-ed into
/// one call, from the loop.
#[test]
fn deferred_event_flags_are_combined() {
    let mut base = EventBase::new().unwrap();
    let (a, _b) = Bufferevent::pair(&mut base, BevOptions::DEFER_CALLBACKS).unwrap();
    let events: Log<BevEvent> = Log::new();
    let e = events.clone();
    a.set_event_callback(&mut base, move |_, _, what| e.push(what))
        .unwrap();
    a.trigger_event(
        &mut base,
        BevEvent::READING | BevEvent::EOF,
        TriggerOptions::empty(),
    )
    .unwrap();
    a.trigger_event(&mut base, BevEvent::ERROR, TriggerOptions::empty())
        .unwrap();
    assert!(events.is_empty(), "deferred: nothing ran yet");
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(
        events.get(),
        vec![BevEvent::READING | BevEvent::EOF | BevEvent::ERROR]
    );
}

/// libevent's `bufferevent_trigger`: honours the watermarks unless told
/// to ignore them; can defer. (On a socket: a pair always defers.)
#[test]
fn trigger_honours_watermarks_and_defers() {
    let mut base = EventBase::new().unwrap();
    let (a, _peer) = socket_bev(&mut base, BevOptions::empty());
    let reads = Rc::new(Cell::new(0));
    let r = reads.clone();
    a.set_read_callback(&mut base, move |_, _| r.set(r.get() + 1))
        .unwrap();
    a.set_watermark(&mut base, Ev::READ, 5, 0).unwrap();
    a.trigger(&mut base, Ev::READ, TriggerOptions::empty())
        .unwrap();
    assert_eq!(reads.get(), 0, "input below the low watermark");
    a.trigger(&mut base, Ev::READ, TriggerOptions::IGNORE_WATERMARKS)
        .unwrap();
    assert_eq!(reads.get(), 1);
    a.trigger(
        &mut base,
        Ev::READ,
        TriggerOptions::IGNORE_WATERMARKS | TriggerOptions::DEFER_CALLBACKS,
    )
    .unwrap();
    assert_eq!(reads.get(), 1, "deferred");
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(reads.get(), 2);
}

/// A bufferevent can free itself from each of its callbacks.
#[test]
fn free_from_inside_its_own_callbacks() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    bev.set_read_callback(&mut base, |base, bev| bev.free(base).unwrap())
        .unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(b"bye").unwrap();
    base.dispatch().unwrap();
    assert!(!bev.is_live(&base));
    // Closed on free: the peer sees EOF.
    peer.set_nonblocking(false).unwrap();
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).unwrap();

    let (bev, peer) = socket_bev(&mut base, BevOptions::empty());
    bev.set_event_callback(&mut base, |base, bev, what| {
        assert_eq!(what, BevEvent::READING | BevEvent::EOF);
        bev.free(base).unwrap();
    })
    .unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    drop(peer);
    base.dispatch().unwrap();
    assert!(!bev.is_live(&base));
    assert_eq!(base.num_events(), 0, "its events went with it");
}

/// Half-close: the peer shuts down writing; EOF arrives after the data,
/// and this side can still write back.
#[test]
fn half_close_delivers_data_then_eof_and_allows_replies() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let log: Log<String> = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    bev.set_read_callback(&mut base, move |base, bev| {
        let Buffers { input, output } = bev.buffers(base).unwrap();
        l1.push(format!("read {}", input.len()));
        output.add_buffer(input).unwrap();
    })
    .unwrap();
    bev.set_event_callback(&mut base, move |base, bev, what| {
        l2.push(format!("{what:?}"));
        bev.write(base, b"!").unwrap();
    })
    .unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(b"ping").unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    base.dispatch().unwrap();
    assert_eq!(
        log.get(),
        vec!["read 4".to_string(), "READING | EOF".to_string()]
    );
    peer.set_nonblocking(false).unwrap();
    let mut back = [0u8; 5];
    peer.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping!");
}

/// The peer resets the connection while output is pending: one
/// WRITING | ERROR (or READING | ERROR / EOF), never a panic or a spin.
#[test]
fn peer_reset_during_a_write_reports_an_error() {
    let mut base = EventBase::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    let bev = Bufferevent::from_stream(&mut base, server, BevOptions::empty()).unwrap();
    let events = log_event_and_free(&mut base, bev);
    bev.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
    // Linger 0: close sends RST.
    let fd = client.into_raw_fd();
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: valid fd and option struct.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        );
        libc::close(fd);
    }
    bev.write(&mut base, &payload(8 << 20)).unwrap();
    base.dispatch().unwrap();
    let got = events.get();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains(BevEvent::ERROR) || got[0].contains(BevEvent::EOF),
        "{got:?}"
    );
}

/// 10 000 connect / close cycles leak no descriptor and no bufferevent.
#[test]
fn connect_close_cycles_leak_nothing() {
    let mut base = EventBase::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let fds_before = open_fds();
    for _ in 0..10_000 {
        let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE).unwrap();
        bev.connect(&mut base, addr).unwrap();
        if let Ok((s, _)) = listener.accept() {
            drop(s);
        }
        bev.free(&mut base).unwrap();
    }
    while listener.accept().is_ok() {}
    assert_eq!(base.num_events(), 0);
    // Other tests of this binary may run alongside and open a few; a leak
    // here would be thousands.
    assert!(
        open_fds() < fds_before + 64,
        "descriptors leaked: {fds_before} → {}",
        open_fds()
    );
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A panicking callback propagates out of the loop; the bufferevent and
/// the base stay usable and droppable.
#[test]
fn panic_in_a_callback_leaves_the_base_usable() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    bev.set_read_callback(&mut base, |_, _| panic!("user bug"))
        .unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(b"x").unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        base.run(LoopFlags::ONCE).unwrap();
    }));
    assert!(r.is_err());
    assert!(bev.is_live(&base));
    assert!(
        !bev.has_callbacks(&base).unwrap().read,
        "the panicking closure is gone"
    );
    let reads = Rc::new(Cell::new(0));
    let rc = reads.clone();
    bev.set_read_callback(&mut base, move |base, bev| {
        rc.set(rc.get() + 1);
        drain_input(base, bev);
    })
    .unwrap();
    peer.write_all(b"y").unwrap();
    run_until(&mut base, Duration::from_secs(2), |_| reads.get() >= 1);
    bev.free(&mut base).unwrap();
}

/// Disabled reading leaves data in the kernel; enabling picks it up.
#[test]
fn enable_and_disable_control_reading() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    assert_eq!(bev.enabled(&base).unwrap(), Ev::WRITE, "libevent's default");
    peer.write_all(b"data").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(bev.input_len(&base).unwrap(), 0);
    bev.enable(&mut base, Ev::READ).unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(bev.input_len(&base).unwrap(), 4);
    bev.disable(&mut base, Ev::READ).unwrap();
    peer.write_all(b"more").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(bev.input_len(&base).unwrap(), 4);
}

/// Writes from outside any callback go out before the loop next polls;
/// the write callback runs once the output drained.
#[test]
fn writes_outside_callbacks_go_out_on_the_next_iteration() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let drained = Rc::new(Cell::new(0));
    let d = drained.clone();
    bev.set_write_callback(&mut base, move |_, _| d.set(d.get() + 1))
        .unwrap();
    bev.write(&mut base, b"abc").unwrap();
    bev.output(&mut base).unwrap().add(b"def").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(drained.get(), 1);
    let mut got = [0u8; 6];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"abcdef");
    // The write event is not left pending once drained.
    assert_eq!(base.num_pending(), 0);
}

/// max_single_read caps what one wakeup reads.
#[test]
fn max_single_read_caps_one_read() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    assert_eq!(bev.max_single_read(&base).unwrap(), 16384);
    assert_eq!(bev.max_single_write(&base).unwrap(), 16384);
    bev.set_max_single_read(&mut base, 100).unwrap();
    let sizes = log_read_sizes(&mut base, bev);
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(&payload(1000)).unwrap();
    run_until(&mut base, Duration::from_secs(2), |_| {
        sizes.get().iter().sum::<usize>() == 1000
    });
    assert!(sizes.get().iter().all(|&n| n <= 100), "{:?}", sizes.get());
    bev.set_max_single_read(&mut base, 0).unwrap();
    assert_eq!(bev.max_single_read(&base).unwrap(), 16384);
    assert!(bev.set_max_single_read(&mut base, 2 << 20).is_err());
}

/// One wakeup reads up to max_single_read (16 KiB), not the evbuffer's
/// 4 KiB default: 16 KiB waiting arrive in one read callback.
#[test]
fn one_wakeup_reads_up_to_max_single_read() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let sizes = log_read_sizes(&mut base, bev);
    peer.write_all(&payload(16384)).unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    base.run(LoopFlags::ONCE).unwrap();
    assert_eq!(sizes.get(), vec![16384]);
}

// ---- filters (bufferevent_filter_*) ----

use rvent::{Evbuffer, FilterResult};

/// libevent's output filter: an 'x' before each byte.
fn x_prefix(src: &mut Evbuffer, dst: &mut Evbuffer) -> FilterResult {
    let mut bytes = vec![0; src.len()];
    src.remove(&mut bytes).unwrap();
    let out: Vec<u8> = bytes.iter().flat_map(|&b| [b'x', b]).collect();
    dst.add(&out).unwrap();
    FilterResult::Ok
}

/// libevent's input filter: strips the 'x' before each byte; an odd byte
/// waits for its partner.
fn x_strip(src: &mut Evbuffer, dst: &mut Evbuffer) -> FilterResult {
    let n = src.len() / 2 * 2;
    if n == 0 {
        return FilterResult::NeedMore;
    }
    let mut bytes = vec![0; n];
    src.remove(&mut bytes).unwrap();
    let mut out = Vec::with_capacity(n / 2);
    for pair in bytes.chunks(2) {
        if pair[0] != b'x' {
            return FilterResult::Error;
        }
        out.push(pair[1]);
    }
    dst.add(&out).unwrap();
    FilterResult::Ok
}

/// libevent's `bufferevent[_pair]_filters[_disable]`: 8333 bytes go
/// through an x-prefix output filter on one side and an x-strip input
/// filter on the other. The output filter is called once and never while
/// it runs; with `write_from_writecb`, the filter's write callback (which
/// runs right after the filter moved data) writes "-" once more, which is
/// filtered by a second, separate call.
fn filters_round_trip(
    base: &mut EventBase,
    u1: Bufferevent,
    u2: Bufferevent,
    write_from_writecb: bool,
) {
    let calls = Rc::new(Cell::new(0));
    let inside = Rc::new(Cell::new(false));
    let (c, ins) = (calls.clone(), inside.clone());
    let out_filter = move |_: &mut EventBase,
                           _: Bufferevent,
                           src: &mut Evbuffer,
                           dst: &mut Evbuffer,
                           lim: Option<usize>,
                           _| {
        assert!(!ins.get(), "output filter re-entered");
        assert_eq!(lim, None);
        ins.set(true);
        c.set(c.get() + 1);
        let r = x_prefix(src, dst);
        ins.set(false);
        r
    };
    let f1 = Bufferevent::filter(base, u1, BevOptions::CLOSE_ON_FREE).unwrap();
    f1.set_output_filter(base, out_filter).unwrap();
    let in_filter =
        |_: &mut EventBase, _: Bufferevent, src: &mut Evbuffer, dst: &mut Evbuffer, _, _| {
            x_strip(src, dst)
        };
    let f2 = Bufferevent::filter(base, u2, BevOptions::CLOSE_ON_FREE).unwrap();
    f2.set_input_filter(base, in_filter).unwrap();
    assert_eq!(f1.underlying(base).unwrap(), Some(u1));
    assert_eq!(f2.underlying(base).unwrap(), Some(u2));
    assert_eq!(f1.fd(base).unwrap(), u1.fd(base).unwrap());
    let errors = Log::default();
    for f in [f1, f2] {
        let e = errors.clone();
        f.set_event_callback(base, move |_, _, what| e.push(format!("{what:?}")))
            .unwrap();
    }
    let wrote = Rc::new(Cell::new(0));
    let w = wrote.clone();
    f1.set_write_callback(base, move |base, bev| {
        w.set(w.get() + 1);
        if write_from_writecb && w.get() == 1 {
            bev.write(base, b"-").unwrap();
        }
    })
    .unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    f2.set_read_callback(base, move |base, bev| {
        let input = bev.input(base).unwrap();
        let mut chunk = vec![0; input.len()];
        input.remove(&mut chunk).unwrap();
        g.borrow_mut().extend_from_slice(&chunk);
    })
    .unwrap();
    f1.disable(base, Ev::READ).unwrap();
    f2.enable(base, Ev::READ).unwrap();
    let mut data = payload(8333);
    f1.write(base, &data).unwrap();
    if write_from_writecb {
        data.push(b'-');
    }
    run_until(base, Duration::from_secs(5), |_| {
        got.borrow().len() >= data.len()
    });
    assert_eq!(*got.borrow(), data);
    assert_eq!(calls.get(), 1 + write_from_writecb as i32);
    assert!(wrote.get() >= 1);
    assert!(errors.take().is_empty());
    f1.free(base).unwrap();
    f2.free(base).unwrap();
    assert!(!u1.is_live(base) && !u2.is_live(base));
}

#[test]
fn socket_filters_round_trip() {
    for disable in [false, true] {
        let mut base = EventBase::new().unwrap();
        let (a, b) = pair();
        let u1 = Bufferevent::socket(&mut base, Some(a.into_raw_fd()), BevOptions::CLOSE_ON_FREE)
            .unwrap();
        let u2 = Bufferevent::socket(&mut base, Some(b.into_raw_fd()), BevOptions::CLOSE_ON_FREE)
            .unwrap();
        filters_round_trip(&mut base, u1, u2, disable);
    }
}

#[test]
fn pair_filters_round_trip() {
    for disable in [false, true] {
        let mut base = EventBase::new().unwrap();
        let (u1, u2) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
        filters_round_trip(&mut base, u1, u2, disable);
    }
}

/// libevent's `bufferevent_filter_data_stuck`: a pass-through filter over
/// a pair, 4096-byte read high watermarks on the filter and its
/// underlying, a 20-byte header then 4096 bytes: everything arrives,
/// though the reader takes the header first and the rest only later.
#[test]
fn filter_data_does_not_get_stuck_at_the_watermark() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let f = Bufferevent::filter(&mut base, b, BevOptions::CLOSE_ON_FREE).unwrap();
    b.set_watermark(&mut base, Ev::READ, 0, 4096).unwrap();
    f.set_watermark(&mut base, Ev::READ, 0, 4096).unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    f.set_read_callback(&mut base, move |base, bev| {
        let input = bev.input(base).unwrap();
        assert!(
            input.len() <= 4096,
            "{} bytes past the watermark",
            input.len()
        );
        // The header first, the body whenever it is all there.
        let want = if g.borrow().is_empty() {
            20
        } else {
            input.len()
        };
        if input.len() >= want {
            let mut chunk = vec![0; want];
            input.remove(&mut chunk).unwrap();
            g.borrow_mut().extend_from_slice(&chunk);
        }
    })
    .unwrap();
    f.enable(&mut base, Ev::READ).unwrap();
    let data = payload(4096 + 20);
    a.write(&mut base, &data).unwrap();
    run_until(&mut base, Duration::from_secs(5), |_| {
        got.borrow().len() == data.len()
    });
    assert_eq!(*got.borrow(), data);
}

/// A slow reader stops the underlying: while the filter's input is at its
/// high watermark, the underlying socket is not read.
#[test]
fn full_filter_input_suspends_the_underlying() {
    let mut base = EventBase::new().unwrap();
    let (u, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let f = Bufferevent::filter(&mut base, u, BevOptions::CLOSE_ON_FREE).unwrap();
    f.set_watermark(&mut base, Ev::READ, 0, 100).unwrap();
    f.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(&payload(1000)).unwrap();
    for _ in 0..20 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(f.input_len(&base).unwrap(), 100);
    // The underlying read at most one chunk past what the filter took.
    assert!(u.input_len(&base).unwrap() <= 900);
    let before = u.input_len(&base).unwrap();
    for _ in 0..5 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(u.input_len(&base).unwrap(), before, "kept reading");
    // Draining resumes the flow.
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 1000 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "stuck at {}",
            got.len()
        );
        let mut chunk = [0; 1000];
        let n = f.read(&mut base, &mut chunk).unwrap();
        got.extend_from_slice(&chunk[..n]);
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(got, payload(1000));
}

/// An output filter error reaches the filter's event callback as
/// `WRITING | ERROR`; an input filter error as `READING | ERROR`.
#[test]
fn filter_errors_reach_the_event_callback() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let fail = |_: &mut EventBase, _: Bufferevent, _: &mut Evbuffer, _: &mut Evbuffer, _, _| {
        FilterResult::Error
    };
    let fa = Bufferevent::filter(&mut base, a, BevOptions::empty()).unwrap();
    fa.set_output_filter(&mut base, fail).unwrap();
    let fb = Bufferevent::filter(&mut base, b, BevOptions::empty()).unwrap();
    fb.set_input_filter(&mut base, fail).unwrap();
    let log = Log::default();
    for (f, name) in [(fa, "a"), (fb, "b")] {
        let l = log.clone();
        f.set_event_callback(&mut base, move |_, _, what| {
            l.push(format!("{name} {what:?}"))
        })
        .unwrap();
    }
    fb.enable(&mut base, Ev::READ).unwrap();
    fa.write(&mut base, b"abc").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(
        log.take(),
        vec![format!("a {:?}", BevEvent::WRITING | BevEvent::ERROR)]
    );
    // The failed direction is off, on the underlying too.
    assert_eq!(fa.enabled(&base).unwrap(), Ev::empty());
    assert_eq!(a.enabled(&base).unwrap(), Ev::empty());
    // Past the failing output filter by writing to the underlying.
    a.enable(&mut base, Ev::WRITE).unwrap();
    a.write(&mut base, b"abc").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(
        log.take(),
        vec![format!("b {:?}", BevEvent::READING | BevEvent::ERROR)]
    );
    assert_eq!(fb.enabled(&base).unwrap(), Ev::WRITE);
    assert_eq!(b.enabled(&base).unwrap(), Ev::WRITE);
    // Nothing is reported twice.
    a.write(&mut base, b"more").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert!(log.is_empty());
}

/// `flush(WRITE, Finished)` pushes the output through at once with the
/// mode and no limit, and the pair underneath gives its partner EOF.
#[test]
fn filter_flush_finished_reaches_the_partner() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let modes = Rc::new(RefCell::new(Vec::new()));
    let m = modes.clone();
    let out = move |_: &mut EventBase,
                    _: Bufferevent,
                    src: &mut Evbuffer,
                    dst: &mut Evbuffer,
                    lim: Option<usize>,
                    mode| {
        m.borrow_mut().push((mode, lim));
        dst.add_buffer(src).unwrap();
        FilterResult::Ok
    };
    let f = Bufferevent::filter(&mut base, a, BevOptions::empty()).unwrap();
    f.set_output_filter(&mut base, out).unwrap();
    a.set_watermark(&mut base, Ev::WRITE, 0, 2).unwrap();
    let log = Log::default();
    let l = log.clone();
    b.set_event_callback(&mut base, move |_, _, what| l.push(format!("{what:?}")))
        .unwrap();
    f.write(&mut base, b"hello").unwrap();
    assert!(f.flush(&mut base, Ev::WRITE, FlushMode::Finished).unwrap());
    assert_eq!(*modes.borrow(), vec![(FlushMode::Finished, None)]);
    assert_eq!(b.input_len(&base).unwrap(), 5);
    assert!(log.is_empty(), "a pair's callbacks run from the loop");
    base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    assert_eq!(
        log.take(),
        vec![format!("{:?}", BevEvent::READING | BevEvent::EOF)]
    );
}

/// The underlying's events reach the filter's event callback.
#[test]
fn underlying_events_are_forwarded() {
    let mut base = EventBase::new().unwrap();
    let (u, peer) = socket_bev(&mut base, BevOptions::empty());
    let f = Bufferevent::filter(&mut base, u, BevOptions::CLOSE_ON_FREE).unwrap();
    let log = Log::default();
    let l = log.clone();
    f.set_event_callback(&mut base, move |_, _, what| l.push(format!("{what:?}")))
        .unwrap();
    f.enable(&mut base, Ev::READ).unwrap();
    drop(peer);
    run_until(&mut base, Duration::from_secs(5), |_| !log.is_empty());
    assert_eq!(
        log.take(),
        vec![format!("{:?}", BevEvent::READING | BevEvent::EOF)]
    );
}

/// libevent's `bufferevent_socket_filter_inactive`: a filter over a
/// socket bufferevent without an fd frees cleanly, and without
/// `CLOSE_ON_FREE` leaves the underlying live without callbacks.
#[test]
fn filter_over_an_fdless_socket_frees_cleanly() {
    let mut base = EventBase::new().unwrap();
    let u = Bufferevent::socket(&mut base, None, BevOptions::empty()).unwrap();
    let f = Bufferevent::filter(&mut base, u, BevOptions::empty()).unwrap();
    f.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
    f.write(&mut base, b"nowhere").unwrap();
    base.run(LoopFlags::NONBLOCK).unwrap();
    assert_eq!(u.output_len(&base).unwrap(), 7);
    assert_eq!(
        u.has_callbacks(&base).unwrap(),
        HasCallbacks {
            read: true,
            write: true,
            event: true
        }
    );
    f.free(&mut base).unwrap();
    assert!(u.is_live(&base));
    assert_eq!(u.has_callbacks(&base).unwrap(), HasCallbacks::default());
    base.run(LoopFlags::NONBLOCK).unwrap();
    u.free(&mut base).unwrap();
    let u = Bufferevent::socket(&mut base, None, BevOptions::empty()).unwrap();
    let f = Bufferevent::filter(&mut base, u, BevOptions::CLOSE_ON_FREE).unwrap();
    f.free(&mut base).unwrap();
    assert!(!u.is_live(&base));
    assert!(matches!(
        f.underlying(&base),
        Err(rvent::Error::StaleBufferevent)
    ));
}

// ---- rate limits (ev_token_bucket_cfg_*, bufferevent_*_rate_limit*) ----

use rvent::{RateLimitGroup, TokenBucketCfg};

/// libevent's `bufferevent_ratelimit_div_by_zero` / `_overflow`: a tick
/// under 1 ms or of `i32::MAX / 1000 + 1` seconds is refused.
#[test]
fn token_bucket_cfg_rejects_bad_ticks() {
    let new = |tick| TokenBucketCfg::new(1, 1, 1, 1, tick);
    assert!(matches!(
        new(Some(Duration::ZERO)),
        Err(rvent::Error::InvalidArgument(_))
    ));
    assert!(new(Some(Duration::from_micros(999))).is_err());
    let max = i32::MAX as u64 / 1000;
    assert!(new(Some(Duration::from_secs(max + 1))).is_err());
    assert_eq!(
        new(Some(Duration::from_secs(max))).unwrap().tick(),
        Duration::from_secs(max)
    );
    assert_eq!(new(None).unwrap().tick(), Duration::from_secs(1));
    assert_eq!(
        new(Some(Duration::from_micros(2500))).unwrap().tick(),
        ms(2)
    );
    assert!(TokenBucketCfg::new(usize::MAX, 1, 1, 1, None).is_err());
}

/// 2000 bytes per 50 ms tick: never more than `2000 * (ticks + 1)` bytes
/// have moved, and `total` bytes take about `total / 2000 - 1` ticks.
fn assert_rate(samples: &[(Duration, usize)], total: usize) {
    for &(at, n) in samples {
        let ticks = at.as_millis() as usize / 50;
        assert!(n <= 2000 * (ticks + 1), "{n} bytes after {at:?}");
    }
    let (done, n) = *samples.last().unwrap();
    assert_eq!(n, total);
    let min = ms(50 * (total as u64 / 2000 - 1));
    assert!(done >= min, "done after {done:?}, before {min:?}");
    assert!(done < min + ms(250), "done only after {done:?}");
}

#[test]
fn read_limit_paces_socket_reads() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let data = payload(10_000);
    peer.write_all(&data).unwrap();
    let start = Instant::now();
    let cfg = TokenBucketCfg::new(2000, 2000, 100_000, 100_000, Some(ms(50))).unwrap();
    bev.set_rate_limit(&mut base, Some(&cfg)).unwrap();
    assert_eq!(bev.rate_limit_cfg(&base).unwrap(), Some(cfg));
    let samples = Rc::new(RefCell::new(Vec::new()));
    let got = Rc::new(RefCell::new(Vec::new()));
    let (s, g) = (samples.clone(), got.clone());
    bev.set_read_callback(&mut base, move |base, bev| {
        let input = bev.input(base).unwrap();
        let mut chunk = vec![0; input.len()];
        input.remove(&mut chunk).unwrap();
        assert!(chunk.len() <= 2000, "one read of {}", chunk.len());
        g.borrow_mut().extend_from_slice(&chunk);
        s.borrow_mut().push((start.elapsed(), g.borrow().len()));
    })
    .unwrap();
    bev.enable(&mut base, Ev::READ).unwrap();
    run_until(&mut base, Duration::from_secs(2), |_| {
        got.borrow().len() == data.len()
    });
    assert_eq!(*got.borrow(), data);
    assert_rate(&samples.borrow(), data.len());
}

#[test]
fn write_limit_paces_socket_writes() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let start = Instant::now();
    let cfg = TokenBucketCfg::new(100_000, 100_000, 2000, 2000, Some(ms(50))).unwrap();
    bev.set_rate_limit(&mut base, Some(&cfg)).unwrap();
    let data = payload(10_000);
    bev.write(&mut base, &data).unwrap();
    let mut got = Vec::new();
    let mut samples = Vec::new();
    while got.len() < data.len() {
        assert!(start.elapsed() < Duration::from_secs(2), "timed out");
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
        let mut buf = [0; 16384];
        if let Ok(n) = peer.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
            samples.push((start.elapsed(), got.len()));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(got, data);
    assert_rate(&samples, data.len());
    assert!(bev.write_limit(&base).unwrap() <= 2000);
}

/// Members of a group share its bucket: each read takes at most half
/// the group's 1000-byte level, the group's totals count every byte, and
/// a group with members cannot be freed.
#[test]
fn group_shares_its_bucket_and_counts_totals() {
    let mut base = EventBase::new().unwrap();
    let cfg = TokenBucketCfg::new(1000, 1000, 1000, 1000, Some(ms(50))).unwrap();
    let group = RateLimitGroup::new(&mut base, &cfg).unwrap();
    group.set_min_share(&mut base, 10).unwrap();
    let got = Rc::new(Cell::new(0));
    let start = Instant::now();
    let mut bevs = Vec::new();
    let mut peers = Vec::new();
    for _ in 0..2 {
        let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
        peer.write_all(&payload(1500)).unwrap();
        group.add(&mut base, bev).unwrap();
        let g = got.clone();
        bev.set_read_callback(&mut base, move |base, bev| {
            let input = bev.input(base).unwrap();
            assert!(input.len() <= 500, "one read of {}", input.len());
            g.set(g.get() + input.len());
            input.drain(input.len()).unwrap();
        })
        .unwrap();
        bev.enable(&mut base, Ev::READ).unwrap();
        bevs.push(bev);
        peers.push(peer);
    }
    run_until(&mut base, Duration::from_secs(2), |_| got.get() == 3000);
    // 3000 bytes at 1000 per tick, starting with 1000.
    assert!(start.elapsed() >= ms(100), "{:?}", start.elapsed());
    assert_eq!(
        group.totals(&base).unwrap(),
        rvent::RateLimitTotals {
            read: 3000,
            written: 0
        }
    );
    group.reset_totals(&mut base).unwrap();
    assert_eq!(
        group.totals(&base).unwrap(),
        rvent::RateLimitTotals::default()
    );
    assert!(matches!(
        group.free(&mut base),
        Err(rvent::Error::BadState(_))
    ));
    group.remove(&mut base, bevs[0]).unwrap();
    bevs[1].free(&mut base).unwrap(); // a freed member leaves its group
    group.free(&mut base).unwrap();
    assert!(group.add(&mut base, bevs[0]).is_err());
}

/// Decrements may take a bucket below zero; reading stops until enough
/// ticks refill it.
#[test]
fn decrements_go_negative_and_suspend_reading() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    let cfg = TokenBucketCfg::new(2000, 2000, 2000, 2000, Some(ms(50))).unwrap();
    assert!(bev.decrement_read_limit(&mut base, 1).is_err()); // no bucket yet
    let start = Instant::now();
    bev.set_rate_limit(&mut base, Some(&cfg)).unwrap();
    bev.decrement_read_limit(&mut base, 5000).unwrap();
    assert!(bev.read_limit(&base).unwrap() <= -3000 + 2000);
    assert_eq!(bev.max_to_read(&mut base).unwrap(), 0);
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(b"hello").unwrap();
    while start.elapsed() < ms(40) {
        base.run(LoopFlags::NONBLOCK).unwrap();
        std::thread::sleep(ms(1));
    }
    assert_eq!(bev.input_len(&base).unwrap(), 0, "read while suspended");
    run_until(&mut base, Duration::from_secs(2), |b| {
        bev.input_len(b).unwrap() == 5
    });
    // -3000 needs two ticks of 2000 to be positive again.
    assert!(start.elapsed() >= ms(100), "{:?}", start.elapsed());
    // Giving tokens back resumes at once.
    bev.decrement_write_limit(&mut base, 10_000).unwrap();
    assert_eq!(bev.max_to_write(&mut base).unwrap(), 0);
    bev.decrement_write_limit(&mut base, -20_000).unwrap();
    assert!(bev.max_to_write(&mut base).unwrap() > 0);
    // The group's decrement stops every member.
    let group = RateLimitGroup::new(&mut base, &cfg).unwrap();
    group.add(&mut base, bev).unwrap();
    group.decrement_read(&mut base, 3000).unwrap();
    assert!(group.read_limit(&base).unwrap() < 0);
    assert_eq!(bev.max_to_read(&mut base).unwrap(), 0);
    bev.set_rate_limit(&mut base, None).unwrap();
    assert_eq!(bev.read_limit(&base).unwrap(), isize::MAX);
    assert_eq!(
        bev.max_to_read(&mut base).unwrap(),
        0,
        "the group still limits"
    );
    group.remove(&mut base, bev).unwrap();
    assert_eq!(
        bev.max_to_read(&mut base).unwrap(),
        rvent::DEFAULT_MAX_SINGLE_IO
    );
    group.free(&mut base).unwrap();
}

/// libevent's `bufferevent_read_failed` and the socket kind's freezes: the
/// input's end and the output's front belong to the socket.
#[test]
fn socket_buffers_are_frozen_where_the_socket_works() {
    let mut base = EventBase::new().unwrap();
    let (bev, mut peer) = socket_bev(&mut base, BevOptions::empty());
    assert!(bev.input(&mut base).unwrap().add(b"forged").is_err());
    bev.write(&mut base, b"queued").unwrap();
    assert!(bev.output(&mut base).unwrap().drain(1).is_err());
    bev.enable(&mut base, Ev::READ).unwrap();
    peer.write_all(b"real").unwrap();
    run_until(&mut base, Duration::from_secs(2), |base| {
        bev.input_len(base).unwrap() == 4
    });
    let mut got = [0u8; 6];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"queued");
    // The input's front is the user's: reading works until frozen.
    bev.input(&mut base).unwrap().freeze(true);
    let mut out = [0u8; 4];
    assert_eq!(bev.read(&mut base, &mut out).unwrap(), 0);
    bev.input(&mut base).unwrap().unfreeze(true);
    assert_eq!(bev.read(&mut base, &mut out).unwrap(), 4);
    assert_eq!(&out, b"real");
}

/// Runs `base` for `ms` milliseconds and returns the event callbacks seen
/// by `bev` with their times since the start.
fn timeouts_seen(
    base: &mut EventBase,
    bev: Bufferevent,
    ms_total: u64,
) -> Vec<(BevEvent, Duration)> {
    let log: Log<(BevEvent, Duration)> = Log::new();
    let l = log.clone();
    let start = Instant::now();
    bev.set_event_callback(base, move |_, _, what| l.push((what, start.elapsed())))
        .unwrap();
    bev.set_timeouts(base, Some(ms(150)), Some(ms(100)))
        .unwrap();
    let stop = rvent::Event::timer(base, |base, _, _, _| base.loopbreak()).unwrap();
    stop.add(base, Some(ms(ms_total))).unwrap();
    base.dispatch().unwrap();
    stop.free(base).unwrap();
    log.get()
}

/// Checks libevent's timeout pattern: one WRITING | TIMEOUT at ~100 ms,
/// one READING | TIMEOUT at ~150 ms, nothing else.
fn assert_timeout_pattern(got: &[(BevEvent, Duration)]) {
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, BevEvent::WRITING | BevEvent::TIMEOUT);
    assert!(
        got[0].1 >= ms(100) && got[0].1 < ms(100) + util::LATE,
        "{got:?}"
    );
    assert_eq!(got[1].0, BevEvent::READING | BevEvent::TIMEOUT);
    assert!(
        got[1].1 >= ms(150) && got[1].1 < ms(150) + util::LATE,
        "{got:?}"
    );
}

/// libevent's `bufferevent_timeout_pair`: the partner neither reads nor
/// writes.
#[test]
fn pair_timeouts_fire_once_each() {
    util::retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
        a.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
        a.write(&mut base, b"nobody reads this").unwrap();
        let got = timeouts_seen(&mut base, a, 300);
        assert_timeout_pattern(&got);
        assert_eq!(a.enabled(&base).unwrap(), Ev::empty());
    });
}

/// libevent's `bufferevent_timeout_filter_pair`: the same through a
/// filter over a pair member whose write high watermark keeps the
/// filter's output waiting.
#[test]
fn filter_timeouts_fire_once_each() {
    util::retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
        a.set_watermark(&mut base, Ev::WRITE, 0, 4).unwrap();
        let f = Bufferevent::filter(&mut base, a, BevOptions::CLOSE_ON_FREE).unwrap();
        f.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
        f.write(&mut base, b"more than four bytes").unwrap();
        let got = timeouts_seen(&mut base, f, 300);
        assert_timeout_pattern(&got);
        f.free(&mut base).unwrap();
        assert!(!a.is_live(&base));
        assert_eq!(base.num_events(), 0, "the timers went with it");
    });
}

/// Traffic through a pair restarts its read timeout.
#[test]
fn pair_traffic_restarts_the_read_timeout() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let timeouts = Rc::new(Cell::new(0));
    let t = timeouts.clone();
    a.set_event_callback(&mut base, move |_, _, _| t.set(t.get() + 1))
        .unwrap();
    a.set_read_callback(&mut base, drain_input).unwrap();
    a.enable(&mut base, Ev::READ).unwrap();
    a.set_timeouts(&mut base, Some(ms(60)), None).unwrap();
    let start = Instant::now();
    while start.elapsed() < ms(150) {
        b.write(&mut base, b"x").unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        std::thread::sleep(ms(10));
    }
    assert_eq!(timeouts.get(), 0);
    a.set_timeouts(&mut base, None, None).unwrap();
    assert_eq!(base.num_pending(), 0, "no timeout, no timer");
}

// ---- libevent parity: connect timeouts, deferred pairs, generic timers ----

use rvent::{ConnListener, ListenerOptions};

/// A listener on 127.0.0.1 that never accepts, with its backlog full:
/// Linux drops further SYNs, so a connect to it stays in progress. Returns
/// the address and what keeps the backlog full.
fn full_backlog_listener(
    base: &mut EventBase,
) -> (std::net::SocketAddr, ConnListener, Vec<TcpStream>) {
    let opts = ListenerOptions::CLOSE_ON_FREE | ListenerOptions::DISABLED;
    let lev = ConnListener::bind(
        base,
        "127.0.0.1:0".parse().unwrap(),
        opts,
        Some(1),
        |_, _, _, _| {},
    )
    .unwrap();
    let addr = lev.local_addr(base).unwrap();
    let mut fillers = Vec::new();
    // Each connect that completes takes a backlog slot; the first that
    // times out found the backlog full.
    while let Ok(s) = TcpStream::connect_timeout(&addr, ms(50)) {
        fillers.push(s);
        assert!(fillers.len() < 16, "the backlog never filled");
    }
    (addr, lev, fillers)
}

/// A write timeout bounds a connect (the way evhttp bounds connects): a
/// connect still in progress when it expires gives `WRITING | TIMEOUT`,
/// not `CONNECTED` — libevent's `bufferevent_writecb` checks the timeout
/// before the connect.
#[test]
fn bufferevent_connect_timeout() {
    util::retry_timing(|| {
        let mut base = EventBase::new().unwrap();
        let (addr, lev, _fillers) = full_backlog_listener(&mut base);
        let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE).unwrap();
        let events: Log<(BevEvent, Instant)> = Log::new();
        let e = events.clone();
        bev.set_event_callback(&mut base, move |base, bev, what| {
            e.push((what, Instant::now()));
            assert!(!bev.enabled(base).unwrap().contains(Ev::WRITE));
            bev.free(base).unwrap();
            base.loopbreak();
        })
        .unwrap();
        bev.set_timeouts(&mut base, None, Some(ms(30))).unwrap();
        let start = Instant::now();
        bev.connect(&mut base, addr).unwrap();
        let stop = rvent::Event::timer(&mut base, |base, _, _, _| base.loopbreak()).unwrap();
        stop.add(&mut base, Some(ms(300))).unwrap();
        base.dispatch().unwrap();
        let got = events.get();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, BevEvent::WRITING | BevEvent::TIMEOUT);
        util::assert_on_time(start, got[0].1, ms(30), "connect timeout");
        lev.free(&mut base).unwrap();
    });
}

/// libevent's `bufferevent_pair_flush_finished`: a pair always defers its
/// callbacks, and `write` moves the data at once. Nothing runs inside
/// `write` or `flush`; the loop then runs the partner's read callback,
/// its EOF event, then the writer's write callback.
#[test]
fn bufferevent_pair_flush_finished() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    assert!(
        a.options(&base)
            .unwrap()
            .contains(BevOptions::DEFER_CALLBACKS)
    );
    assert!(
        b.options(&base)
            .unwrap()
            .contains(BevOptions::DEFER_CALLBACKS)
    );
    let log: Log<String> = Log::new();
    for (bev, name) in [(a, "a"), (b, "b")] {
        let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
        bev.set_read_callback(&mut base, move |base, bev| {
            l1.push(format!("{name} read {}", bev.input_len(base).unwrap()));
        })
        .unwrap();
        bev.set_write_callback(&mut base, move |base, bev| {
            l2.push(format!("{name} write {}", bev.output_len(base).unwrap()));
        })
        .unwrap();
        bev.set_event_callback(&mut base, move |_, _, what| {
            l3.push(format!("{name} event {what:?}"));
        })
        .unwrap();
    }
    a.disable(&mut base, Ev::READ).unwrap();
    b.enable(&mut base, Ev::READ).unwrap();
    a.write(&mut base, &payload(8333)).unwrap();
    assert_eq!(b.input_len(&base).unwrap(), 8333, "moved inside write");
    assert_eq!(a.output_len(&base).unwrap(), 0);
    a.flush(&mut base, Ev::WRITE, FlushMode::Finished).unwrap();
    assert!(log.is_empty(), "deferred: {:?}", log.get());
    base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
    assert_eq!(
        log.take(),
        vec![
            "b read 8333".to_string(),
            format!("b event {:?}", BevEvent::READING | BevEvent::EOF),
            "a write 0".to_string(),
        ]
    );
}

/// libevent's `bufferevent_timeout[_pair|_filter|_filter_pair]`, as
/// written there: the sockets have no fd (their timeouts are plain
/// timers). `bev1` writes 7 bytes nobody takes and reads nothing: one
/// write timeout at 100 ms, one read timeout at 150 ms. `bev2` only
/// enables writing, with nothing to write: a socket or a filter still
/// times the write (200 ms), a pair does not.
fn libevent_timeouts(use_pair: bool, use_filter: bool) {
    let mut base = EventBase::new().unwrap();
    let (mut bev1, mut bev2) = if use_pair {
        Bufferevent::pair(&mut base, BevOptions::empty()).unwrap()
    } else {
        (
            Bufferevent::socket(&mut base, None, BevOptions::empty()).unwrap(),
            Bufferevent::socket(&mut base, None, BevOptions::empty()).unwrap(),
        )
    };
    if use_filter {
        let f = |base: &mut EventBase, u| {
            Bufferevent::filter(base, u, BevOptions::CLOSE_ON_FREE).unwrap()
        };
        bev1 = f(&mut base, bev1);
        bev2 = f(&mut base, bev2);
    }
    bev2.disable(&mut base, Ev::READ).unwrap();
    let start = Instant::now();
    let log1: Log<(BevEvent, Duration)> = Log::new();
    let log2: Log<(BevEvent, Duration)> = Log::new();
    for (bev, log) in [(bev1, &log1), (bev2, &log2)] {
        let l = log.clone();
        bev.set_event_callback(&mut base, move |_, _, what| l.push((what, start.elapsed())))
            .unwrap();
    }
    bev1.set_timeouts(&mut base, Some(ms(150)), Some(ms(100)))
        .unwrap();
    bev1.write(&mut base, b"ABCDEFG").unwrap();
    bev1.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
    bev2.set_timeouts(&mut base, Some(ms(100)), Some(ms(200)))
        .unwrap();
    bev2.enable(&mut base, Ev::WRITE).unwrap();
    base.loopexit(Some(ms(350))).unwrap();
    base.dispatch().unwrap();
    assert_timeout_pattern(&log1.get());
    let got2 = log2.get();
    if use_pair && !use_filter {
        assert!(got2.is_empty(), "{got2:?}");
    } else {
        assert_eq!(got2.len(), 1, "{got2:?}");
        assert_eq!(got2[0].0, BevEvent::WRITING | BevEvent::TIMEOUT);
        assert!(
            got2[0].1 >= ms(200) && got2[0].1 < ms(200) + util::LATE,
            "{got2:?}"
        );
    }
}

#[test]
fn bufferevent_timeout() {
    util::retry_timing(|| libevent_timeouts(false, false));
}

#[test]
fn bufferevent_timeout_pair() {
    util::retry_timing(|| libevent_timeouts(true, false));
}

#[test]
fn bufferevent_timeout_filter() {
    util::retry_timing(|| libevent_timeouts(false, true));
}

#[test]
fn bufferevent_timeout_filter_pair() {
    util::retry_timing(|| libevent_timeouts(true, true));
}

/// `fd()` and `set_fd()` on a filter reach its underlying (libevent
/// forwards `BEV_CTRL_GET_FD` / `SET_FD`), through stacked filters too.
#[test]
fn filter_fd_is_the_underlying_fd() {
    let mut base = EventBase::new().unwrap();
    let (u, _peer) = socket_bev(&mut base, BevOptions::empty());
    let fd = u.fd(&base).unwrap().expect("a socket");
    let f = Bufferevent::filter(&mut base, u, BevOptions::CLOSE_ON_FREE).unwrap();
    assert_eq!(f.fd(&base).unwrap(), Some(fd));
    let g = Bufferevent::filter(&mut base, f, BevOptions::CLOSE_ON_FREE).unwrap();
    assert_eq!(g.fd(&base).unwrap(), Some(fd));
    let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let p = Bufferevent::filter(&mut base, a, BevOptions::empty()).unwrap();
    assert_eq!(p.fd(&base).unwrap(), None);
    assert!(
        p.set_fd(&mut base, Some(fd)).is_err(),
        "a pair has no socket"
    );
    // Setting it goes down too: the socket is the underlying's again.
    g.set_fd(&mut base, None).unwrap();
    assert_eq!(u.fd(&base).unwrap(), None);
    g.set_fd(&mut base, Some(fd)).unwrap();
    assert_eq!(u.fd(&base).unwrap(), Some(fd));
    g.free(&mut base).unwrap();
    assert!(!u.is_live(&base));
}

// ---- callbacks one at a time, filter closures with the base ----

/// Each callback is set and cleared alone; clearing the read callback
/// from inside itself sticks (it is not put back when it returns), and a
/// callback set from inside its own run replaces it from then on.
#[test]
fn callbacks_are_set_and_cleared_one_at_a_time() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let log: Log<&'static str> = Log::new();
    let l = log.clone();
    b.set_event_callback(&mut base, move |_, _, _| l.push("event"))
        .unwrap();
    let l = log.clone();
    b.set_read_callback(&mut base, move |base, bev| {
        l.push("first");
        drain_input(base, bev);
        let l2 = l.clone();
        bev.set_read_callback(base, move |base, bev| {
            l2.push("second");
            let n = bev.input_len(base).unwrap();
            bev.input(base).unwrap().drain(n).unwrap();
            bev.clear_read_callback(base).unwrap();
        })
        .unwrap();
    })
    .unwrap();
    assert_eq!(
        b.has_callbacks(&base).unwrap(),
        HasCallbacks {
            read: true,
            write: false,
            event: true
        }
    );
    b.enable(&mut base, Ev::READ).unwrap();
    for chunk in [b"1", b"2", b"3"] {
        a.write(&mut base, chunk).unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(log.take(), vec!["first", "second"]);
    assert_eq!(b.input_len(&base).unwrap(), 1, "no read callback took '3'");
    assert_eq!(
        b.has_callbacks(&base).unwrap(),
        HasCallbacks {
            read: false,
            write: false,
            event: true
        }
    );
    b.clear_event_callback(&mut base).unwrap();
    assert_eq!(b.has_callbacks(&base).unwrap(), HasCallbacks::default());
}

/// A filter closure gets the base and the filter's own handle (libevent's
/// filters reach both through their context): it may write to another
/// bufferevent, and what it writes to its own filter meanwhile is kept
/// and filtered by the next pass. While it runs, the buffers it was
/// handed show as empty through the handle API.
#[test]
fn filter_closure_gets_the_base_and_its_own_handle() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let (side, _partner) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let f = Bufferevent::filter(&mut base, a, BevOptions::CLOSE_ON_FREE).unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    f.set_output_filter(
        &mut base,
        move |base: &mut EventBase, bev, src, dst, _, _| {
            assert_eq!(bev, f);
            assert_eq!(bev.output_len(base).unwrap(), 0, "src is out of the record");
            c.set(c.get() + 1);
            if c.get() == 1 {
                side.write(base, b"seen").unwrap();
                bev.write(base, b"!").unwrap();
            }
            x_prefix(src, dst)
        },
    )
    .unwrap();
    b.enable(&mut base, Ev::READ).unwrap();
    f.write(&mut base, b"hi").unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    b.set_read_callback(&mut base, move |base, bev| {
        let n = bev.input_len(base).unwrap();
        let mut chunk = vec![0; n];
        bev.read(base, &mut chunk).unwrap();
        g.borrow_mut().extend_from_slice(&chunk);
    })
    .unwrap();
    run_until(&mut base, Duration::from_secs(2), |_| {
        got.borrow().len() >= 6
    });
    assert_eq!(*got.borrow(), b"xhxix!");
    assert_eq!(calls.get(), 2);
    assert_eq!(side.output_len(&base).unwrap(), 4, "written from inside");
}

/// A filter may free itself from inside its closure: the buffers and the
/// closure go with it, the underlying too with `CLOSE_ON_FREE`.
#[test]
fn filter_freeing_itself_from_its_closure_is_safe() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let f = Bufferevent::filter(&mut base, b, BevOptions::CLOSE_ON_FREE).unwrap();
    f.set_input_filter(&mut base, |base: &mut EventBase, bev, src, dst, _, _| {
        dst.add_buffer(src).unwrap();
        bev.free(base).unwrap();
        FilterResult::Ok
    })
    .unwrap();
    f.enable(&mut base, Ev::READ).unwrap();
    a.write(&mut base, b"bye").unwrap();
    for _ in 0..3 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert!(!f.is_live(&base));
    assert!(!b.is_live(&base));
    assert_eq!(a.partner(&base).unwrap(), None);
}

/// A filter closure that panics takes its direction down with it: later
/// output is not passed through unfiltered, and the data it was handed
/// stays where it was.
#[test]
fn a_panicking_filter_never_passes_bytes_unfiltered() {
    let mut base = EventBase::new().unwrap();
    let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty()).unwrap();
    let f = Bufferevent::filter(&mut base, a, BevOptions::empty()).unwrap();
    f.set_output_filter(
        &mut base,
        |_: &mut EventBase, _, _, _, _, _| -> FilterResult { panic!("filter bug") },
    )
    .unwrap();
    b.enable(&mut base, Ev::READ).unwrap();
    f.write(&mut base, b"secret").unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }));
    assert!(r.is_err());
    f.write(&mut base, b" more").unwrap();
    for _ in 0..3 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert!(f.flush(&mut base, Ev::WRITE, FlushMode::Flush).is_ok());
    assert_eq!(b.input_len(&base).unwrap(), 0);
    assert_eq!(a.output_len(&base).unwrap(), 0);
    assert_eq!(f.output_len(&base).unwrap(), 11);
}

/// A rate-limit group is a `Copy` handle into the base: once freed, every
/// use of it is refused, and its slot is reused under a new generation.
#[test]
fn a_freed_rate_limit_group_handle_is_stale() {
    let mut base = EventBase::new().unwrap();
    let cfg = rvent::TokenBucketCfg::new(100, 100, 100, 100, None).unwrap();
    let g = rvent::RateLimitGroup::new(&mut base, &cfg).unwrap();
    let copy = g;
    assert!(copy.is_live(&base));
    g.free(&mut base).unwrap();
    assert!(!copy.is_live(&base));
    assert!(matches!(
        copy.cfg(&base),
        Err(rvent::Error::StaleRateLimitGroup)
    ));
    assert!(matches!(
        copy.free(&mut base),
        Err(rvent::Error::StaleRateLimitGroup)
    ));
    let bev = Bufferevent::socket(&mut base, None, BevOptions::empty()).unwrap();
    assert!(matches!(
        copy.add(&mut base, bev),
        Err(rvent::Error::StaleRateLimitGroup)
    ));
    let g2 = rvent::RateLimitGroup::new(&mut base, &cfg).unwrap();
    assert_ne!(g2, g);
    assert!(!g.is_live(&base) && g2.is_live(&base));
    let other = EventBase::new().unwrap();
    assert!(
        matches!(g2.totals(&other), Err(rvent::Error::StaleRateLimitGroup)),
        "another base's group"
    );
}

/// Error events a budget test saw: what, and the socket error.
type Cuts = Rc<RefCell<Vec<(BevEvent, Option<i32>)>>>;

/// One echo connection on `base`: the input moves to the output; EOF or
/// an error frees it, an error is recorded in `cut` first.
fn budget_echo(base: &mut EventBase, stream: TcpStream, cut: &Cuts, peak: &Rc<Cell<usize>>) {
    let bev = Bufferevent::from_stream(base, stream, BevOptions::CLOSE_ON_FREE).unwrap();
    let seen = peak.clone();
    bev.set_read_callback(base, move |base, bev| {
        let Buffers { input, output } = bev.buffers(base).unwrap();
        output.add_buffer(input).unwrap();
        seen.set(seen.get().max(base.mem_stats().base_chain_bytes));
    })
    .unwrap();
    let cut = cut.clone();
    bev.set_event_callback(base, move |base, bev, what| {
        if what.contains(BevEvent::ERROR) {
            let e = bev
                .socket_error(base)
                .unwrap()
                .and_then(|e| e.raw_os_error());
            cut.borrow_mut().push((what, e));
        }
        let _ = bev.free(base);
    })
    .unwrap();
    bev.enable(base, Ev::READ | Ev::WRITE).unwrap();
}

/// Echo round trips of 1000 bytes on a fresh connection to `addr`.
fn round_trips(addr: std::net::SocketAddr, n: usize) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let msg = payload(1000);
    for _ in 0..n {
        s.write_all(&msg)?;
        let mut back = vec![0; msg.len()];
        s.read_exact(&mut back)?;
        assert_eq!(back, msg);
    }
    Ok(())
}

/// The budget example: an echo server on a base with a 4 MiB
/// budget; one client sends without ever reading its echo. Its connection
/// is cut (`READING | ERROR`, ENOMEM), the base's chains never hold more
/// than the budget, and another client is served before and after.
#[test]
fn memory_budget_cuts_a_client_that_never_reads() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const BUDGET: usize = 4 << 20;
    const MAX_SENT: usize = 64 << 20;
    let mut cfg = rvent::Config::new();
    cfg.set_max_memory(Some(BUDGET));
    let mut base = EventBase::with_config(&cfg).unwrap();
    let cut = Rc::new(RefCell::new(Vec::new()));
    let peak = Rc::new(Cell::new(0));
    let (c, p) = (cut.clone(), peak.clone());
    let lev = rvent::ConnListener::bind(
        &mut base,
        "127.0.0.1:0".parse().unwrap(),
        rvent::ListenerOptions::CLOSE_ON_FREE,
        None,
        move |base, _, conn, _| budget_echo(base, std::net::TcpStream::from(conn), &c, &p),
    )
    .unwrap();
    let addr = lev.local_addr(&base).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let client = std::thread::spawn(move || {
        let result = (|| {
            round_trips(addr, 10)?;
            let mut flood = TcpStream::connect(addr)?;
            flood.set_write_timeout(Some(Duration::from_secs(5)))?;
            let chunk = payload(64 << 10);
            let mut sent = 0;
            while sent < MAX_SENT {
                match flood.write(&chunk) {
                    Ok(n) => sent += n,
                    Err(_) => break, // cut: reset by the server
                }
            }
            round_trips(addr, 10)?;
            Ok::<usize, std::io::Error>(sent)
        })();
        d.store(true, Ordering::SeqCst);
        result
    });
    let start = Instant::now();
    let watch = rvent::Event::new(&mut base, None, Ev::PERSIST, move |base, _, _, _| {
        let held = base.mem_stats().base_chain_bytes;
        p_max(base, held);
        if done.load(Ordering::SeqCst) || start.elapsed() > Duration::from_secs(20) {
            base.loopbreak();
        }
    })
    .unwrap();
    fn p_max(base: &EventBase, held: usize) {
        assert!(held <= BUDGET, "{held} bytes held, budget {BUDGET}");
        assert!(base.mem_stats().base_charged <= BUDGET);
    }
    watch.add(&mut base, Some(ms(1))).unwrap();
    base.dispatch().unwrap();
    let sent = client.join().unwrap().expect("the other client is served");
    let m = base.mem_stats();
    assert!(peak.get() <= BUDGET, "peak {} > budget", peak.get());
    assert!(m.base_charged_peak <= BUDGET, "{m:?}");
    assert!(
        m.base_charged_peak > BUDGET / 2,
        "the flood filled the budget: {m:?}"
    );
    eprintln!(
        "budget: flood cut after {sent} bytes sent; peak held {} (live) / {} (charged)",
        peak.get(),
        m.base_charged_peak
    );
    assert!(sent < MAX_SENT, "the flood was cut after {sent} bytes");
    let cut = cut.borrow();
    assert_eq!(
        cut.as_slice(),
        &[(BevEvent::READING | BevEvent::ERROR, Some(libc::ENOMEM))]
    );
    assert_eq!(m.base_chain_bytes, 0, "every connection freed");
    // What stays charged: the tables' growth (never given back).
    assert_eq!(m.base_charged, m.base_charged_blocks);
    watch.free(&mut base).unwrap();
    lev.free(&mut base).unwrap();
}

/// `mem_stats` counts each base's bufferevent chains: up with buffered
/// data, down when drained, 0 when freed; two bases apart.
#[test]
fn mem_stats_count_each_bases_chains() {
    let mut one = EventBase::new().unwrap();
    let mut two = EventBase::new().unwrap();
    assert_eq!(one.mem_stats().base_chain_bytes, 0);
    assert_eq!(one.mem_stats().base_max_memory, None);
    let (a, b) = Bufferevent::pair(&mut one, BevOptions::empty()).unwrap();
    let (c, _d) = Bufferevent::pair(&mut two, BevOptions::empty()).unwrap();
    b.enable(&mut one, Ev::READ).unwrap();
    a.write(&mut one, &payload(100_000)).unwrap();
    let held = one.mem_stats().base_chain_bytes;
    assert!(held >= 100_000, "{held}");
    assert_eq!(two.mem_stats().base_chain_bytes, 0);
    c.write(&mut two, &payload(3000)).unwrap();
    let held2 = two.mem_stats().base_chain_bytes;
    assert!((3000..=8192).contains(&held2), "{held2}");
    assert_eq!(one.mem_stats().base_chain_bytes, held, "apart");
    // Drained: at most the one chain a buffer keeps for its next data.
    b.input(&mut one).unwrap().drain(100_000).unwrap();
    a.output(&mut one).unwrap().drain(usize::MAX).unwrap();
    assert!(one.mem_stats().base_chain_bytes <= 8192);
    a.free(&mut one).unwrap();
    b.free(&mut one).unwrap();
    assert_eq!(one.mem_stats().base_chain_bytes, 0);
    assert_eq!(two.mem_stats().base_chain_bytes, held2);
}

/// Under a budget, a `write` whose copy needs a chain that does not fit
/// fails with `Err(Alloc)` and writes nothing; one that fits the room the
/// output has goes through.
#[test]
fn write_beyond_the_budget_fails_with_alloc() {
    let mut cfg = rvent::Config::new();
    cfg.set_max_memory(Some(6000));
    let mut base = EventBase::with_config(&cfg).unwrap();
    let (bev, _peer) = socket_bev(&mut base, BevOptions::empty());
    bev.write(&mut base, &payload(4000)).unwrap();
    assert_eq!(base.mem_stats().base_chain_bytes, 4096);
    assert!(matches!(
        bev.write(&mut base, &payload(4000)),
        Err(rvent::Error::Alloc)
    ));
    assert_eq!(bev.output_len(&base).unwrap(), 4000, "nothing written");
    bev.write(&mut base, &payload(96)).unwrap();
    assert_eq!(bev.output_len(&base).unwrap(), 4096);
    let m = base.mem_stats();
    // The rest of the charge is the base's tables and blocks.
    assert_eq!(
        (m.base_chain_bytes, m.base_charged - m.base_charged_blocks),
        (4096, 4096)
    );
    bev.free(&mut base).unwrap();
    let m = base.mem_stats();
    assert_eq!(m.base_charged, m.base_charged_blocks);
}

/// libevent's `le-proxy` shape: what one socket bufferevent reads moves,
/// without a copy, into another's output (`buffers_of_two`), and reaches
/// that one's peer — 8333 bytes across the relay.
#[test]
fn proxy_moves_input_into_another_bufferevents_output() {
    let mut base = EventBase::new().unwrap();
    let (from, mut client) = socket_bev(&mut base, BevOptions::empty());
    let (to, mut server) = socket_bev(&mut base, BevOptions::empty());
    from.set_read_callback(&mut base, move |base, bev| {
        let (src, dst) = Bufferevent::buffers_of_two(base, bev, to).unwrap();
        dst.output.add_buffer(src.input).unwrap();
    })
    .unwrap();
    from.enable(&mut base, Ev::READ).unwrap();
    to.enable(&mut base, Ev::WRITE).unwrap();
    let data = payload(8333);
    client.write_all(&data).unwrap();
    server.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < data.len() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out");
        base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK).unwrap();
        let mut chunk = [0u8; 4096];
        match server.read(&mut chunk) {
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(200))
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, data);
    assert_eq!(from.input_len(&base).unwrap(), 0);
    assert!(matches!(
        Bufferevent::buffers_of_two(&mut base, from, from),
        Err(rvent::Error::InvalidArgument(_))
    ));
    to.free(&mut base).unwrap();
    assert!(matches!(
        Bufferevent::buffers_of_two(&mut base, from, to),
        Err(rvent::Error::StaleBufferevent)
    ));
}

/// `bufferevent_priority_set` refuses a priority the base does not have,
/// with an fd or without one yet (libevent's events exist on fd -1 and
/// refuse it there too).
#[test]
fn set_priority_refuses_out_of_range_with_or_without_an_fd() {
    let mut base = EventBase::new().unwrap();
    base.priority_init(2).unwrap();
    let none = Bufferevent::socket(&mut base, None, BevOptions::empty()).unwrap();
    assert!(matches!(
        none.set_priority(&mut base, 2),
        Err(rvent::Error::InvalidArgument(_))
    ));
    none.set_priority(&mut base, 1).unwrap();
    let (with_fd, _peer) = socket_bev(&mut base, BevOptions::empty());
    assert!(with_fd.set_priority(&mut base, 2).is_err());
    with_fd.set_priority(&mut base, 0).unwrap();
}
