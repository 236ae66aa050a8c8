//! Connection listeners (`ConnListener`, libevent's `evconnlistener`):
//! libevent's `listener/` regression cases (randport, error,
//! close_accepted_fd, immediate_close), a 1000-connection burst with the
//! per-wakeup accept cap, `EMFILE` under a lowered `RLIMIT_NOFILE` (in a
//! child process, so the limit never touches other tests), the options
//! (blocking sockets, close-on-exec, reuse-port, deferred accept, IPv6-only),
//! callbacks replaced, cleared or panicking, and the ownership rules of
//! `free` and of a dropped base, and a Unix-domain listener. Everything
//! but the IPv6 and Unix cases runs on 127.0.0.1, port 0.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rvent::{ConnListener, Error, Ev, Event, EventBase, ListenerOptions, LoopFlags, PeerAddr};
use util::{Counter, DropProbe, Log, thread_cpu_time};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn opts() -> ListenerOptions {
    ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE
}

/// A listener on 127.0.0.1, port 0, with the usual options and backlog.
fn bind_local(
    base: &mut EventBase,
    cb: impl FnMut(&mut EventBase, ConnListener, OwnedFd, PeerAddr) + 'static,
) -> ConnListener {
    ConnListener::bind(base, localhost(), opts(), None, cb).unwrap()
}

/// An accept callback that does nothing (the connection is closed).
fn nothing(_: &mut EventBase, _: ConnListener, _: OwnedFd, _: PeerAddr) {}

/// A listener whose callback counts connections and disables the listener
/// once it has `quota` (libevent's `acceptcb` in the randport test).
fn counting_listener(base: &mut EventBase, quota: usize, count: &Counter) -> ConnListener {
    let count = count.clone();
    bind_local(base, move |base, lev, conn, peer| {
        let conn = TcpStream::from(conn);
        assert_eq!(PeerAddr::Inet(conn.peer_addr().unwrap()), peer);
        count.bump();
        if count.get() == quota {
            lev.disable(base).unwrap();
        }
    })
}

#[test]
fn two_listeners_on_port_zero_get_distinct_ports() {
    let mut base = EventBase::new().unwrap();
    let a = bind_local(&mut base, nothing);
    let b = bind_local(&mut base, nothing);
    let (pa, pb) = (a.local_addr(&base).unwrap(), b.local_addr(&base).unwrap());
    assert_ne!(pa.port(), 0);
    assert_ne!(pb.port(), 0);
    assert_ne!(pa.port(), pb.port());
    assert_ne!(a.fd(&base).unwrap(), b.fd(&base).unwrap());
    a.free(&mut base).unwrap();
    b.free(&mut base).unwrap();
}

#[test]
fn randport_callback_disables_the_listener_after_its_quota() {
    let mut base = EventBase::new().unwrap();
    let (c1, c2) = (Counter::new(), Counter::new());
    let l1 = counting_listener(&mut base, 2, &c1);
    let l2 = counting_listener(&mut base, 1, &c2);
    let (a1, a2) = (l1.local_addr(&base).unwrap(), l2.local_addr(&base).unwrap());
    // Three connections to the first listener: only two are accepted.
    let _clients = [
        TcpStream::connect(a1).unwrap(),
        TcpStream::connect(a1).unwrap(),
        TcpStream::connect(a1).unwrap(),
        TcpStream::connect(a2).unwrap(),
    ];
    // Both listeners disable themselves, then nothing is pending.
    base.dispatch().unwrap();
    assert_eq!((c1.get(), c2.get()), (2, 1));
    assert!(!l1.is_enabled(&base) && !l2.is_enabled(&base));
    // Enabling again picks up the connection left in the backlog.
    l1.enable(&mut base).unwrap();
    base.run(LoopFlags::ONCE).unwrap();
    assert_eq!(c1.get(), 3);
    l1.free(&mut base).unwrap();
    l2.free(&mut base).unwrap();
}

/// A TCP socket bound to 127.0.0.1 but never told to listen.
fn bound_not_listening() -> OwnedFd {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: socket() succeeded and nobody else owns the descriptor.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sin` is a valid sockaddr_in of the length passed.
    let rc = unsafe {
        libc::bind(
            fd,
            (&raw const sin).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    sock
}

#[test]
fn listener_on_a_non_listening_socket_calls_the_error_callback() {
    let mut base = EventBase::new().unwrap();
    let accepted = Counter::new();
    let a = accepted.clone();
    let lev = ConnListener::from_fd(
        &mut base,
        bound_not_listening(),
        opts(),
        None,
        move |_, _, _, _| a.bump(),
    )
    .unwrap();
    let value = Rc::new(Cell::new(0));
    let v = value.clone();
    lev.set_error_callback(&mut base, move |base, lev, err| {
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        v.set(1000);
        lev.disable(base).unwrap();
    })
    .unwrap();
    base.dispatch().unwrap();
    assert_eq!(value.get(), 1000);
    assert_eq!(accepted.get(), 0);
    assert!(!lev.is_enabled(&base));
    lev.free(&mut base).unwrap();
}

#[test]
fn error_callback_left_enabled_pauses_instead_of_spinning() {
    // The error callback neither disables nor frees: the listener pauses
    // for RETRY_DELAY between attempts instead of failing in a hot loop.
    let mut base = EventBase::new().unwrap();
    let lev = failing_listener(&mut base);
    let errors = Log::new();
    let e = errors.clone();
    lev.set_error_callback(&mut base, move |base, lev, _err| {
        e.push(Instant::now());
        if e.len() == 3 {
            lev.free(base).unwrap();
        }
    })
    .unwrap();
    let start = Instant::now();
    base.dispatch().unwrap();
    let at = errors.get();
    assert_eq!(at.len(), 3);
    for w in at.windows(2) {
        assert!(
            w[1] - w[0] >= ConnListener::RETRY_DELAY,
            "{:?}",
            w[1] - w[0]
        );
    }
    assert!(start.elapsed() >= 2 * ConnListener::RETRY_DELAY);
    assert!(matches!(lev.fd(&base), Err(Error::StaleListener)));
}

/// A paused listener whose read event cannot be added again when its
/// retry timer fires reports it through the error callback, then pauses
/// and retries as after any accept error. It used to be logged only: the
/// listener silently stopped accepting. Here an edge-triggered event on
/// the listener's fd, added while it is paused, makes the level-triggered
/// re-add fail.
#[test]
fn a_retry_that_cannot_add_the_read_event_calls_the_error_callback() {
    let mut base = EventBase::new().unwrap();
    let lev = failing_listener(&mut base);
    let errors = Log::new();
    let e = errors.clone();
    lev.set_error_callback(&mut base, move |base, lev, err| {
        e.push(err.raw_os_error());
        if e.len() == 3 {
            lev.free(base).unwrap();
            base.loopbreak();
        }
    })
    .unwrap();
    while errors.is_empty() {
        base.run(LoopFlags::ONCE).unwrap();
    }
    // Paused: its read event is deleted, so the fd takes an ET event.
    let fd = lev.fd(&base).unwrap();
    let et = Event::new(
        &mut base,
        fd,
        Ev::READ | Ev::ET | Ev::PERSIST,
        |_, _, _, _| {},
    )
    .unwrap();
    et.add(&mut base, None).unwrap();
    base.loopexit(Some(Duration::from_secs(2))).unwrap();
    base.dispatch().unwrap();
    assert_eq!(
        errors.get(),
        vec![Some(libc::EINVAL); 3],
        "the accept error, then each retry that could not add the read event"
    );
    et.free(&mut base).unwrap();
}

#[test]
fn thousand_connections_in_a_burst() {
    const N: usize = 1000;
    const EARLY: usize = 200; // waiting in the backlog before the first wakeup
    let mut base = EventBase::new().unwrap();
    // An fd that is always readable: its callback marks loop iterations,
    // so the test sees how many connections each wakeup accepted.
    let (marker_rd, mut marker_wr) = util::pair();
    marker_wr.write_all(b"x").unwrap();
    let iteration = Rc::new(Cell::new(0usize));
    let it = iteration.clone();
    let marker = Event::new(
        &mut base,
        marker_rd.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |_, _, _, _| it.set(it.get() + 1),
    )
    .unwrap();
    marker.add(&mut base, None).unwrap();

    let per_iteration: Rc<RefCell<Vec<usize>>> = Rc::default();
    let per = per_iteration.clone();
    let it = iteration.clone();
    let total = Counter::new();
    let t = total.clone();
    let lev = ConnListener::bind(
        &mut base,
        localhost(),
        opts() | ListenerOptions::DISABLED,
        Some(1024),
        move |base, lev, conn, _peer| {
            drop(conn);
            let mut per = per.borrow_mut();
            let i = it.get();
            if per.len() <= i {
                per.resize(i + 1, 0);
            }
            per[i] += 1;
            t.bump();
            if t.get() == N {
                lev.free(base).unwrap();
                marker.free(base).unwrap();
            }
        },
    )
    .unwrap();
    let addr = lev.local_addr(&base).unwrap();
    let start = Instant::now();
    for _ in 0..EARLY {
        drop(TcpStream::connect(addr).unwrap());
    }
    lev.enable(&mut base).unwrap();
    let clients = thread::spawn(move || {
        for _ in EARLY..N {
            drop(TcpStream::connect(addr).unwrap());
        }
    });
    base.dispatch().unwrap();
    clients.join().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(total.get(), N);
    let per = per_iteration.borrow();
    let max = per.iter().copied().max().unwrap();
    assert_eq!(max, ConnListener::ACCEPTS_PER_WAKEUP, "{per:?}");
    assert_eq!(per.iter().sum::<usize>(), N);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn freeing_the_listener_inside_its_accept_callback() {
    let mut base = EventBase::new().unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let probe = DropProbe::new();
    let p = probe.clone();
    let kept: Rc<RefCell<Vec<TcpStream>>> = Rc::default();
    let k = kept.clone();
    let lev = bind_local(&mut base, move |base, lev, conn, _| {
        let _p = &p;
        c.bump();
        k.borrow_mut().push(TcpStream::from(conn));
        assert_eq!(lev.free(base).unwrap().map(drop), None); // closed
        assert!(matches!(lev.fd(base), Err(Error::StaleListener)));
        assert!(matches!(lev.free(base), Err(Error::StaleListener)));
        assert!(matches!(lev.enable(base), Err(Error::StaleListener)));
    });
    let addr = lev.local_addr(&base).unwrap();
    let _clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    base.dispatch().unwrap(); // returns: the listener is gone
    assert_eq!(calls.get(), 1);
    assert_eq!(kept.borrow().len(), 1);
    assert_eq!(probe.held(), 0, "the accept callback was dropped");
    assert!(matches!(lev.local_addr(&base), Err(Error::StaleListener)));
    assert_eq!(
        TcpStream::connect(addr).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}

#[test]
fn free_without_close_on_free_returns_the_socket_with_its_backlog() {
    let mut base = EventBase::new().unwrap();
    let returned: Rc<RefCell<Option<OwnedFd>>> = Rc::default();
    let r = returned.clone();
    let lev = ConnListener::bind(
        &mut base,
        localhost(),
        ListenerOptions::REUSEABLE,
        None,
        move |base, lev, _conn, _| {
            *r.borrow_mut() = lev.free(base).unwrap();
        },
    )
    .unwrap();
    let addr = lev.local_addr(&base).unwrap();
    let clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    base.dispatch().unwrap();
    let sock = returned
        .borrow_mut()
        .take()
        .expect("free returned the socket");
    // Freed from outside a callback, too.
    let other = ConnListener::bind(
        &mut base,
        localhost(),
        ListenerOptions::empty(),
        None,
        |_, _, _, _| {},
    )
    .unwrap();
    let other_addr = other.local_addr(&base).unwrap();
    let other_sock = other
        .free(&mut base)
        .unwrap()
        .expect("free returned the socket");
    let _queued = TcpStream::connect(other_addr).unwrap(); // still listening
    drop(other_sock);
    // The two connections the listener did not accept are still queued.
    let std_listener = TcpListener::from(sock);
    std_listener.set_nonblocking(false).unwrap();
    for _ in 0..2 {
        let (conn, peer) = std_listener.accept().unwrap();
        assert!(clients[1..].iter().any(|c| c.local_addr().unwrap() == peer));
        drop(conn);
    }
}

#[test]
fn two_immediate_connects_both_accepted_in_one_dispatch() {
    let mut base = EventBase::new().unwrap();
    let count = Counter::new();
    let c = count.clone();
    let lev = bind_local(&mut base, move |_, _, conn, _| {
        drop(conn);
        c.bump();
    });
    let addr = lev.local_addr(&base).unwrap();
    // Both clients close right away (libevent's immediate_close).
    drop(TcpStream::connect(addr).unwrap());
    drop(TcpStream::connect(addr).unwrap());
    base.run(LoopFlags::ONCE).unwrap();
    assert_eq!(count.get(), 2);
    lev.free(&mut base).unwrap();
}

#[test]
fn accepted_sockets_are_nonblocking_unless_left_blocking() {
    for (extra, blocking) in [
        (ListenerOptions::empty(), false),
        (ListenerOptions::LEAVE_SOCKETS_BLOCKING, true),
    ] {
        let mut base = EventBase::new().unwrap();
        let seen = Log::new();
        let s = seen.clone();
        let lev = ConnListener::bind(
            &mut base,
            localhost(),
            opts() | extra,
            None,
            move |base, lev, conn, _| {
                let mut conn = TcpStream::from(conn);
                let mut b = [0u8; 1];
                let r = conn.read(&mut b);
                s.push(matches!(r, Err(ref e) if e.kind() == ErrorKind::WouldBlock));
                // SAFETY: F_GETFD on a descriptor we own.
                let fdflags = unsafe { libc::fcntl(conn.as_raw_fd(), libc::F_GETFD) };
                assert!(fdflags & libc::FD_CLOEXEC != 0);
                lev.free(base).unwrap();
            },
        )
        .unwrap();
        // The client sends nothing (non-blocking accept) or one byte (a
        // blocking read returns it instead of hanging).
        let mut client = TcpStream::connect(lev.local_addr(&base).unwrap()).unwrap();
        if blocking {
            client.write_all(b"x").unwrap();
        }
        base.dispatch().unwrap();
        assert_eq!(seen.get(), [!blocking]);
    }
}

#[test]
fn callbacks_can_be_replaced_and_cleared() {
    let mut base = EventBase::new().unwrap();
    let log = Log::new();
    let l = log.clone();
    let lev = bind_local(&mut base, move |base, lev, _conn, _| {
        l.push("first");
        let l = l.clone();
        // Replaced from inside: the next connection goes to the new one.
        lev.set_callback(base, move |base, lev, _conn, _| {
            l.push("second");
            lev.clear_callback(base).unwrap();
        })
        .unwrap();
    });
    let addr = lev.local_addr(&base).unwrap();
    let _a = TcpStream::connect(addr).unwrap();
    let _b = TcpStream::connect(addr).unwrap();
    base.run(LoopFlags::ONCE).unwrap();
    assert_eq!(log.get(), ["first", "second"]);
    // Without a callback, new connections are accepted and closed.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    base.run(LoopFlags::ONCE).unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(c.read(&mut buf).unwrap(), 0, "closed by the listener");
    assert_eq!(log.len(), 2);
    lev.free(&mut base).unwrap();
}

#[test]
fn bind_options_and_errors() {
    let mut base = EventBase::new().unwrap();
    assert!(matches!(
        ConnListener::bind(&mut base, localhost(), opts(), Some(0), nothing),
        Err(Error::InvalidArgument(_))
    ));
    // REUSEABLE_PORT: two listeners on one port; without it, AddrInUse.
    let port_opts = opts() | ListenerOptions::REUSEABLE_PORT;
    let a = ConnListener::bind(&mut base, localhost(), port_opts, None, nothing).unwrap();
    let addr = a.local_addr(&base).unwrap();
    let b = ConnListener::bind(&mut base, addr, port_opts, None, nothing).unwrap();
    assert_eq!(b.local_addr(&base).unwrap(), addr);
    match ConnListener::bind(&mut base, addr, opts(), None, nothing) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), ErrorKind::AddrInUse),
        other => panic!("expected AddrInUse, got {other:?}"),
    }
    // DEFERRED_ACCEPT and CLOSE_ON_EXEC are accepted; DISABLED starts idle.
    let c = ConnListener::bind(
        &mut base,
        localhost(),
        opts()
            | ListenerOptions::DEFERRED_ACCEPT
            | ListenerOptions::CLOSE_ON_EXEC
            | ListenerOptions::DISABLED,
        None,
        nothing,
    )
    .unwrap();
    assert!(!c.is_enabled(&base));
    for l in [a, b, c] {
        l.free(&mut base).unwrap();
    }
    // Another base's handle is refused.
    let mut other = EventBase::new().unwrap();
    let d = bind_local(&mut base, nothing);
    assert!(matches!(d.disable(&mut other), Err(Error::StaleListener)));
    d.free(&mut base).unwrap();
}

/// `lev`'s callback (counting in `calls`) panics on its first call and
/// disables the listener on its second: the panic unwinds out of
/// `dispatch` and leaves the listener disabled, so nothing more runs;
/// once `wake` has made new work (kept until the end) and the listener is
/// enabled again, the same callback runs again.
fn panics_once_then_resumes<T>(
    base: &mut EventBase,
    lev: ConnListener,
    calls: &Counter,
    wake: impl FnOnce() -> T,
) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| base.dispatch()));
    assert!(r.is_err());
    assert!(!lev.is_enabled(base));
    base.dispatch().unwrap(); // nothing pending: the listener is disabled
    assert_eq!(calls.get(), 1);
    let _work = wake();
    lev.enable(base).unwrap();
    base.dispatch().unwrap(); // the same callback, which now disables
    assert_eq!(calls.get(), 2);
    lev.free(base).unwrap();
}

#[test]
fn a_panicking_callback_leaves_the_listener_disabled_and_enable_resumes_it() {
    let mut base = EventBase::new().unwrap();
    let calls = Counter::new();
    let c = calls.clone();
    let lev = bind_local(&mut base, move |base, lev, _, _| {
        c.bump();
        if c.get() == 1 {
            panic!("first connection");
        }
        lev.disable(base).unwrap();
    });
    let addr = lev.local_addr(&base).unwrap();
    let _a = TcpStream::connect(addr).unwrap();
    panics_once_then_resumes(&mut base, lev, &calls, || TcpStream::connect(addr).unwrap());
}

#[test]
fn dropping_the_base_frees_the_listener_and_its_callbacks() {
    let mut base = EventBase::new().unwrap();
    let probe = DropProbe::new();
    let p = probe.clone();
    let lev = bind_local(&mut base, |_, _, _, _| {});
    // A callback holding a handle to its own listener: an index, no cycle.
    let me = lev;
    lev.set_error_callback(&mut base, move |_, _, _| {
        let _ = (&p, &me);
    })
    .unwrap();
    let addr = lev.local_addr(&base).unwrap();
    drop(base);
    assert_eq!(probe.held(), 0);
    // The handle means nothing to another base (even one that reuses the
    // dropped base's memory).
    let other = EventBase::new().unwrap();
    assert!(!lev.is_live(&other));
    assert!(matches!(lev.local_addr(&other), Err(Error::StaleListener)));
    assert_eq!(
        TcpStream::connect(addr).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}

#[test]
fn a_freed_handle_stays_stale_when_its_slot_is_reused() {
    let mut base = EventBase::new().unwrap();
    let old = bind_local(&mut base, nothing);
    let copy = old; // a copy is the same handle
    assert_eq!(copy, old);
    old.free(&mut base).unwrap();
    // The new listener takes the freed slot, with a new generation.
    let new = bind_local(&mut base, nothing);
    assert_ne!(new, old);
    assert!(!copy.is_live(&base) && new.is_live(&base));
    assert!(matches!(copy.enable(&mut base), Err(Error::StaleListener)));
    assert!(matches!(copy.disable(&mut base), Err(Error::StaleListener)));
    assert!(matches!(copy.fd(&base), Err(Error::StaleListener)));
    assert!(matches!(copy.event(&base), Err(Error::StaleListener)));
    assert!(matches!(
        copy.set_callback(&mut base, nothing),
        Err(Error::StaleListener)
    ));
    assert!(matches!(
        copy.clear_error_callback(&mut base),
        Err(Error::StaleListener)
    ));
    assert!(matches!(copy.free(&mut base), Err(Error::StaleListener)));
    assert!(copy.belongs_to(&base));
    // The new listener was not touched by any of that.
    assert!(new.is_enabled(&base));
    let ev = new.event(&base).unwrap();
    assert!(ev.is_live(&base));
    new.free(&mut base).unwrap();
    assert!(!ev.is_live(&base), "free frees the read event");
}

#[test]
fn a_callback_changing_another_listener_does_not_stop_its_own_wakeup() {
    let mut base = EventBase::new().unwrap();
    let other = bind_local(&mut base, nothing);
    let count = Counter::new();
    let c = count.clone();
    let lev = bind_local(&mut base, move |base, _, _, _| {
        c.bump();
        other.disable(base).unwrap();
        other.enable(base).unwrap();
    });
    let addr = lev.local_addr(&base).unwrap();
    let _clients: Vec<_> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    base.run(LoopFlags::ONCE).unwrap();
    assert_eq!(count.get(), 3, "all three in one wakeup");
    assert!(lev.is_enabled(&base) && other.is_enabled(&base));
    lev.free(&mut base).unwrap();
    other.free(&mut base).unwrap();
}

#[test]
fn a_panicking_error_callback_keeps_both_callbacks_and_enable_resumes_it() {
    let mut base = EventBase::new().unwrap();
    let lev = failing_listener(&mut base);
    let errors = Counter::new();
    let e = errors.clone();
    lev.set_error_callback(&mut base, move |base, lev, _err| {
        e.bump();
        if e.get() == 1 {
            panic!("first error");
        }
        lev.disable(base).unwrap();
    })
    .unwrap();
    panics_once_then_resumes(&mut base, lev, &errors, || ());
}

#[test]
fn from_fd_takes_any_stream_socket_but_not_a_file() {
    let mut base = EventBase::new().unwrap();
    let file = std::fs::File::open("/dev/null").unwrap();
    let r = ConnListener::from_fd(&mut base, file, opts(), None, |_, _, _, _| {});
    assert!(matches!(r, Err(Error::Io(_))), "{r:?}");
}

/// A Unix-domain listener (libevent's evconnlistener takes any stream
/// socket): connections arrive as descriptors that become `UnixStream`s,
/// with the peer's address — unnamed for a client that did not bind, its
/// path for one that did.
#[test]
fn unix_listener_accepts_and_serves() {
    use std::os::unix::net::{UnixListener, UnixStream};
    let mut base = EventBase::new().unwrap();
    let dir = std::env::temp_dir().join(format!("rvent-listener-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("server");
    let listener = UnixListener::bind(&path).unwrap();
    let peers: Rc<RefCell<Vec<PeerAddr>>> = Rc::default();
    let p = peers.clone();
    let lev = ConnListener::from_fd(
        &mut base,
        listener,
        opts(),
        None,
        move |base, lev, conn, peer| {
            let mut conn = UnixStream::from(conn);
            // Nonblocking, as TCP connections are.
            let mut b = [0u8; 1];
            assert_eq!(conn.read(&mut b).unwrap_err().kind(), ErrorKind::WouldBlock);
            conn.write_all(b"hi").unwrap();
            p.borrow_mut().push(peer);
            if p.borrow().len() == 2 {
                lev.free(base).unwrap();
            }
        },
    )
    .unwrap();
    assert!(lev.local_addr(&base).is_err(), "not an IP socket");
    let mut anonymous = UnixStream::connect(&path).unwrap();
    // A client bound to a path of its own (through a raw socket: std's
    // UnixStream cannot bind before connecting).
    let client_path = dir.join("client");
    let named = bound_unix_client(&client_path, &path);
    base.dispatch().unwrap();
    let peers = peers.borrow();
    assert_eq!(peers.len(), 2);
    assert!(
        matches!(peers[0], PeerAddr::Unix(u) if u.is_unnamed()),
        "{:?}",
        peers[0]
    );
    match peers[1] {
        PeerAddr::Unix(u) => assert_eq!(u.as_pathname(), Some(client_path.as_path())),
        other => panic!("{other:?}"),
    }
    assert_eq!(peers[1].inet(), None);
    let mut got = [0u8; 2];
    anonymous.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hi");
    let mut named = UnixStream::from(named);
    named.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hi");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Unix stream socket bound to `own` and connected to `server`.
fn bound_unix_client(own: &std::path::Path, server: &std::path::Path) -> OwnedFd {
    use std::os::unix::ffi::OsStrExt;
    fn sockaddr(p: &std::path::Path) -> libc::sockaddr_un {
        // SAFETY: all-zero is a valid sockaddr_un.
        let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        a.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, &s) in a.sun_path.iter_mut().zip(p.as_os_str().as_bytes()) {
            *d = s as libc::c_char;
        }
        a
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we own, with valid
    // addresses of `len` bytes.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let sock = OwnedFd::from_raw_fd(fd);
        let a = sockaddr(own);
        assert_eq!(libc::bind(fd, (&raw const a).cast(), len), 0);
        let s = sockaddr(server);
        assert_eq!(libc::connect(fd, (&raw const s).cast(), len), 0);
        sock
    }
}

#[test]
fn deferred_accept_waits_for_the_first_bytes() {
    let mut base = EventBase::new().unwrap();
    let got = Log::new();
    let g = got.clone();
    let lev = ConnListener::bind(
        &mut base,
        localhost(),
        opts() | ListenerOptions::DEFERRED_ACCEPT,
        None,
        move |base, lev, conn, _| {
            let mut conn = TcpStream::from(conn);
            let mut buf = [0u8; 2];
            conn.read_exact(&mut buf).unwrap(); // already there
            g.push(buf);
            lev.free(base).unwrap();
        },
    )
    .unwrap();
    let mut client = TcpStream::connect(lev.local_addr(&base).unwrap()).unwrap();
    for _ in 0..5 {
        base.run(LoopFlags::NONBLOCK).unwrap();
        thread::sleep(Duration::from_millis(4));
    }
    assert!(got.is_empty(), "accepted before any data arrived");
    client.write_all(b"hi").unwrap();
    base.dispatch().unwrap();
    assert_eq!(got.get(), [*b"hi"]);
}

fn cloexec(fd: std::os::fd::RawFd) -> bool {
    // SAFETY: F_GETFD takes no pointer; a bad fd only fails.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert!(fl >= 0, "fd {fd} is not open");
    fl & libc::FD_CLOEXEC != 0
}

#[test]
fn close_on_exec_applies_to_a_given_socket() {
    let mut base = EventBase::new().unwrap();
    for (extra, expect) in [
        (ListenerOptions::empty(), false),
        (ListenerOptions::CLOSE_ON_EXEC, true),
    ] {
        let l = TcpListener::bind(localhost()).unwrap();
        // SAFETY: F_SETFD with an integer argument on an open descriptor.
        assert_eq!(unsafe { libc::fcntl(l.as_raw_fd(), libc::F_SETFD, 0) }, 0);
        let lev =
            ConnListener::from_listener(&mut base, l, opts() | extra, |_, _, _, _| {}).unwrap();
        assert_eq!(cloexec(lev.fd(&base).unwrap()), expect, "{extra:?}");
        lev.free(&mut base).unwrap();
    }
}

#[test]
fn bind_ipv6only_refuses_ipv4_mapped_connections() {
    let mut base = EventBase::new().unwrap();
    let any6: SocketAddr = "[::]:0".parse().unwrap();
    let only = match ConnListener::bind(
        &mut base,
        any6,
        opts() | ListenerOptions::BIND_IPV6ONLY,
        None,
        nothing,
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("no IPv6 here ({e}); skipping");
            return;
        }
    };
    let port = only.local_addr(&base).unwrap().port();
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(
        TcpStream::connect(v4).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    only.free(&mut base).unwrap();
    // Without the option the same socket family takes IPv4 clients too
    // (unless the system sets net.ipv6.bindv6only).
    let peers = Log::new();
    let p = peers.clone();
    let dual = ConnListener::bind(&mut base, any6, opts(), None, move |base, lev, _, peer| {
        p.push(peer.inet().unwrap());
        lev.free(base).unwrap();
    })
    .unwrap();
    let port = dual.local_addr(&base).unwrap().port();
    if TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_ok() {
        base.dispatch().unwrap();
        let peer = peers.get()[0];
        assert!(
            matches!(peer, SocketAddr::V6(a) if a.ip().to_ipv4_mapped().is_some()),
            "{peer}"
        );
    } else {
        dual.free(&mut base).unwrap();
    }
}

// ---- EMFILE, in a child process -------------------------------------------

/// Environment variable naming the test a child process runs.
const CHILD_ENV: &str = "RVENT_LISTENER_CHILD";

/// Runs `body` in a fresh copy of this test binary that runs only test
/// `name`, so a lowered `RLIMIT_NOFILE` cannot affect tests that share this
/// process under `cargo test`; the parent asserts that the child passed.
fn in_child(name: &str, body: fn()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: plain syscall; `pid` is our unreaped child.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("child {name} timed out");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// Lowers the soft `RLIMIT_NOFILE` so that exactly `n` descriptors can
/// still be opened: the `n` lowest free numbers stay below the limit.
fn leave_free_descriptors(n: usize) {
    let probes: Vec<std::fs::File> = (0..n)
        .map(|_| std::fs::File::open("/dev/null").unwrap())
        .collect();
    let limit = probes.iter().map(|f| f.as_raw_fd()).max().unwrap() + 1;
    drop(probes);
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
    rl.rlim_cur = limit as libc::rlim_t;
    // SAFETY: `rl` is a valid rlimit.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) }, 0);
}

/// A listener whose accepts fail (its socket is bound but not listening).
fn failing_listener(base: &mut EventBase) -> ConnListener {
    ConnListener::from_fd(base, bound_not_listening(), opts(), None, |_, _, _, _| {}).unwrap()
}

/// Echoes every read on `conn` back; closes it on "quit" or end of file.
fn serve(base: &mut EventBase, conn: TcpStream) {
    let fd = conn.as_raw_fd();
    let mut conn = conn;
    Event::new(base, fd, Ev::READ | Ev::PERSIST, move |base, ev, _, _| {
        let mut buf = [0u8; 64];
        match conn.read(&mut buf) {
            Ok(0) => ev.free(base).unwrap(),
            Ok(n) if &buf[..n] == b"quit" => ev.free(base).unwrap(),
            Ok(n) => conn.write_all(&buf[..n]).unwrap(),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("server read: {e}"),
        }
    })
    .unwrap()
    .add(base, None)
    .unwrap();
}

fn ping(client: &mut TcpStream) {
    client.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

/// Four clients, two free descriptors: the server accepts two, hits
/// EMFILE, keeps echoing for the two it has, and accepts the others as
/// they quit. Returns (errors seen by the error callback, log lines).
fn emfile_scenario(with_error_callback: bool) -> (Vec<i32>, Vec<String>) {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let l = logs.clone();
    rvent::set_log_callback(move |_, msg| {
        if msg.contains("accept failed") {
            l.lock().unwrap().push(msg.to_owned());
        }
    });
    let failures = Arc::new(AtomicUsize::new(0));
    let mut base = EventBase::new().unwrap();
    let accepted = Counter::new();
    let a = accepted.clone();
    let lev = bind_local(&mut base, move |base, lev, conn, _| {
        serve(base, TcpStream::from(conn));
        a.bump();
        if a.get() == 4 {
            lev.free(base).unwrap(); // the loop ends once the echoes end
        }
    });
    let errors = Log::new();
    if with_error_callback {
        let (e, f) = (errors.clone(), failures.clone());
        lev.set_error_callback(&mut base, move |_, _, err| {
            e.push(err.raw_os_error().unwrap_or(0));
            f.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    let addr = lev.local_addr(&base).unwrap();
    let mut clients: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for c in &clients {
        c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    }
    let (f, logs2) = (failures.clone(), logs.clone());
    let script = thread::spawn(move || {
        let failed = || f.load(Ordering::SeqCst) + logs2.lock().unwrap().len();
        let deadline = Instant::now() + IO_TIMEOUT;
        // The first two are served.
        ping(&mut clients[0]);
        ping(&mut clients[1]);
        while failed() == 0 {
            assert!(Instant::now() < deadline, "no accept error reported");
            thread::sleep(Duration::from_millis(2));
        }
        // Out of descriptors for a while (several retries): still served.
        thread::sleep(3 * ConnListener::RETRY_DELAY);
        ping(&mut clients[0]);
        ping(&mut clients[1]);
        // Each quit frees a descriptor for one waiting client.
        clients[0].write_all(b"quit").unwrap();
        ping(&mut clients[2]);
        clients[1].write_all(b"quit").unwrap();
        ping(&mut clients[3]);
        clients[2].write_all(b"quit").unwrap();
        clients[3].write_all(b"quit").unwrap();
    });
    leave_free_descriptors(2);
    let cpu = thread_cpu_time();
    let start = Instant::now();
    base.dispatch().unwrap();
    let (cpu, wall) = (thread_cpu_time() - cpu, start.elapsed());
    script.join().unwrap();
    assert_eq!(accepted.get(), 4);
    assert!(wall >= 3 * ConnListener::RETRY_DELAY);
    assert!(
        cpu < wall / 2,
        "the loop spun: {cpu:?} of CPU in {wall:?} while out of descriptors"
    );
    let logs = logs.lock().unwrap().clone();
    (errors.get(), logs)
}

#[test]
fn emfile_calls_the_error_callback_and_the_server_keeps_serving() {
    in_child(
        "emfile_calls_the_error_callback_and_the_server_keeps_serving",
        || {
            let (errors, logs) = emfile_scenario(true);
            // Several retries per episode, each reported; nothing logged.
            assert!(errors.len() >= 3, "{errors:?}");
            assert!(errors.iter().all(|&e| e == libc::EMFILE), "{errors:?}");
            assert!(logs.is_empty(), "{logs:?}");
        },
    );
}

#[test]
fn emfile_without_error_callback_logs_once_per_episode_and_recovers() {
    in_child(
        "emfile_without_error_callback_logs_once_per_episode_and_recovers",
        || {
            let (errors, logs) = emfile_scenario(false);
            assert!(errors.is_empty());
            // Two episodes (before the first quit, then before the second),
            // each logged once however many retries it took.
            assert_eq!(logs.len(), 2, "{logs:?}");
            assert!(logs[0].contains("Too many open files"), "{logs:?}");
        },
    );
}
