//! A TCP echo server built from raw events (tutorial 10.2, the "low-level"
//! server before bufferevents): a persistent READ event on a nonblocking
//! listening socket accepts clients; each client gets a READ event that
//! reads into its own buffer and a WRITE event that is pending only while
//! that buffer holds unsent bytes. A client that falls behind stops being
//! read (back-pressure) until its echo drains; EOF closes a client once its
//! echo is flushed, an error closes it at once. When `accept` fails for
//! lack of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`)
//! the listening event is deleted for 100 ms instead of firing again at
//! once, like [`rvent::ConnListener`] does.
//!
//! ```sh
//! cargo run --example event_server            # port 9996
//! cargo run --example event_server -- -p 0    # a free port
//! ```
//!
//! Then, from another shell: `nc 127.0.0.1 9996` and type lines, or
//! `head -c 1000000 /dev/urandom | nc -N 127.0.0.1 9996 | wc -c`. The
//! first stdout line is `listening on 127.0.0.1:<port>`. Ctrl-C (SIGINT)
//! stops it with exit status 0.

#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rvent::{ConnListener, Ev, Event, EventBase};

use support::{Context, outln};

/// Bytes asked for per read callback.
const READ_CHUNK: usize = 16 * 1024;
/// A client with this much unsent echo is not read until it drains (a
/// bufferevent's read high watermark, by hand).
const HIGH_WATER: usize = 256 * 1024;

/// How long accepting pauses after an `accept` error that retrying at
/// once cannot fix: the same as [`ConnListener`]'s.
const RETRY_DELAY: Duration = ConnListener::RETRY_DELAY;

const NAME: &str = "event_server";
/// Not hello_world's 9995 (the tutorial's port), so both can run at once.
const DEFAULT_PORT: u16 = 9996;
const USAGE: &str = "\
usage: event_server [-p PORT]

An echo server built from raw events on 127.0.0.1.

  -p PORT     port to listen on (default 9996; 0 picks a free one)
  -h, --help  print this help";

/// One client.
struct Conn {
    stream: TcpStream,
    /// Read and not yet echoed.
    out: VecDeque<u8>,
    read_ev: Event,
    write_ev: Event,
    /// The client shut down its side; close once `out` is flushed.
    eof: bool,
}

/// Every open client by fd, shared by the callbacks.
type Conns = Rc<RefCell<HashMap<RawFd, Conn>>>;

impl Conn {
    /// One read into `out`; notes EOF.
    fn read_some(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; READ_CHUNK];
        match self.stream.read(&mut chunk) {
            Ok(0) => self.eof = true,
            Ok(n) => self.out.extend(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Writes as much of `out` as the socket takes now.
    fn write_some(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            let (front, _) = self.out.as_slices();
            match self.stream.write(front) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => drop(self.out.drain(..n)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Makes the events match the buffer: WRITE pending exactly while
    /// output is queued, READ while the client is open and not too far
    /// behind. Returns `false` when the connection is finished.
    fn sync_events(&self, base: &mut EventBase) -> rvent::Result<bool> {
        if self.eof && self.out.is_empty() {
            return Ok(false);
        }
        // Adding a pending event (or deleting a non-pending one) is a
        // no-op, so no need to track what is pending ourselves.
        if self.out.is_empty() {
            self.write_ev.del(base)?;
        } else {
            self.write_ev.add(base, None)?;
        }
        if self.eof || self.out.len() >= HIGH_WATER {
            self.read_ev.del(base)?;
        } else {
            self.read_ev.add(base, None)?;
        }
        Ok(true)
    }

    /// Frees both events, then closes the socket (in that order, so the
    /// fd is still open when its registration is removed).
    fn close(self, base: &mut EventBase) {
        for (ev, what) in [(self.read_ev, "read"), (self.write_ev, "write")] {
            if let Err(e) = ev.free(base) {
                let fd = self.stream.as_raw_fd();
                eprintln!("event_server: cannot free the {what} event of client fd {fd}: {e}");
            }
        }
    }
}

/// Runs `step` on client `fd` (if it is still open), then re-syncs its
/// events, closing it when it is finished or failed.
fn with_conn(
    base: &mut EventBase,
    conns: &Conns,
    fd: RawFd,
    step: impl FnOnce(&mut Conn) -> io::Result<()>,
) {
    let mut conns = conns.borrow_mut();
    let Some(conn) = conns.get_mut(&fd) else {
        return;
    };
    let keep = step(conn).and_then(|()| Ok(conn.sync_events(base)?));
    match keep {
        Ok(true) => return,
        Ok(false) => {}
        // A client hanging up mid-echo is routine, not worth a message.
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {}
        Err(e) => eprintln!("event_server: client on fd {fd}: {e}"),
    }
    if let Some(conn) = conns.remove(&fd) {
        conn.close(base);
    }
}

/// Sets up a freshly accepted client; on error nothing is left behind.
fn open_conn(base: &mut EventBase, conns: &Conns, stream: TcpStream) -> Result<(), Box<dyn Error>> {
    stream.set_nonblocking(true)?;
    let fd = stream.as_raw_fd();
    let c = Rc::clone(conns);
    let read_ev = Event::new(base, fd, Ev::READ | Ev::PERSIST, move |base, _, fd, _| {
        with_conn(base, &c, fd, Conn::read_some);
    })?;
    let c = Rc::clone(conns);
    let write_ev = Event::new(base, fd, Ev::WRITE | Ev::PERSIST, move |base, _, fd, _| {
        with_conn(base, &c, fd, Conn::write_some);
    });
    let write_ev = match write_ev {
        Ok(ev) => ev,
        Err(e) => {
            read_ev.free(base)?;
            return Err(e.into());
        }
    };
    let conn = Conn {
        stream,
        out: VecDeque::new(),
        read_ev,
        write_ev,
        eof: false,
    };
    if let Err(e) = read_ev.add(base, None) {
        conn.close(base);
        return Err(e.into());
    }
    conns.borrow_mut().insert(fd, conn);
    Ok(())
}

/// The listener's state between callbacks.
struct Acceptor {
    listener: TcpListener,
    conns: Conns,
    /// When accepting started failing (`None` while it works): the
    /// failure is logged once per episode, not once per retry.
    failing_since: Option<Instant>,
}

impl Acceptor {
    /// The listening event's callback: accepts every waiting client.
    fn accept_all(&mut self, base: &mut EventBase, accept_ev: Event) {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    if let Some(since) = self.failing_since.take() {
                        eprintln!(
                            "event_server: accepting again after {} ms",
                            since.elapsed().as_millis()
                        );
                    }
                    if let Err(e) = open_conn(base, &self.conns, stream) {
                        eprintln!("event_server: cannot serve {peer}: {e}");
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if retriable(&e) => {}
                Err(e) => {
                    if self.failing_since.is_none() {
                        self.failing_since = Some(Instant::now());
                        eprintln!(
                            "event_server: accept: {e}; pausing, retrying every {} ms",
                            RETRY_DELAY.as_millis()
                        );
                    }
                    pause(base, accept_ev);
                    return;
                }
            }
        }
    }
}

/// `accept` errors that concern only the connection being accepted (or
/// nothing): try the next one at once. Linux's `accept(2)` says to treat
/// the network errors like `EAGAIN`.
fn retriable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EINTR
                | libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
        )
    )
}

/// Stops accepting for [`RETRY_DELAY`]. Any other `accept` error —
/// typically `EMFILE` / `ENFILE` (out of descriptors), `ENOBUFS` /
/// `ENOMEM` — leaves the pending connection in the backlog, so the
/// level-triggered listening event would be ready again at once and the
/// loop would spin until a descriptor frees up. Deleting the event and
/// re-adding it from a one-shot timer keeps the rest of the loop (the
/// connections already open, whose closing frees descriptors) running.
fn pause(base: &mut EventBase, accept_ev: Event) {
    let resume = move |base: &mut EventBase, _: RawFd, _: Ev| {
        if let Err(e) = accept_ev.add(base, None) {
            eprintln!("event_server: cannot resume accepting: {e}");
            base.loopbreak();
        }
    };
    // Without the timer (allocation failure) the event stays added:
    // retrying at every iteration beats never recovering.
    if let Err(e) = base.once(None, Ev::TIMEOUT, Some(RETRY_DELAY), resume) {
        eprintln!("event_server: cannot arm the accept retry timer: {e}");
    } else if let Err(e) = accept_ev.del(base) {
        eprintln!("event_server: cannot pause accepting: {e}");
    }
}

fn main() {
    let port = support::port_arg(NAME, USAGE, DEFAULT_PORT);
    support::run(NAME, || serve(port));
}

fn serve(port: u16) -> Result<(), Box<dyn Error>> {
    let mut base = EventBase::new()?;
    let conns: Conns = Rc::default();

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).context(format_args!("cannot bind {addr}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let mut acceptor = Acceptor {
        listener,
        conns: Rc::clone(&conns),
        failing_since: None,
    };
    let accept_fd = acceptor.listener.as_raw_fd();
    let accept_ev = Event::new(
        &mut base,
        accept_fd,
        Ev::READ | Ev::PERSIST,
        move |base, ev, _, _| acceptor.accept_all(base, ev),
    )?;
    accept_ev.add(&mut base, None)?;

    let sigint = Event::signal(&mut base, libc::SIGINT, |base, _, _, _| base.loopbreak())?;
    sigint.add(&mut base, None)?;

    // A server keeps serving when nobody reads its log: stdout errors are
    // ignored.
    let _ = outln!("listening on {addr}");
    base.dispatch()?;

    let open = conns.borrow().len();
    let _ = outln!("shutting down, closing {open} connection(s)");
    for (_, conn) in conns.borrow_mut().drain() {
        conn.close(&mut base);
    }
    Ok(())
}
