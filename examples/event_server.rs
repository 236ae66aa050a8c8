//! A TCP echo server built from raw events (tutorial 10.2, the "low-level"
//! server before bufferevents): a persistent READ event on a nonblocking
//! listening socket accepts clients; each client gets a READ event that
//! reads into its own buffer and a WRITE event that is pending only while
//! that buffer holds unsent bytes. A client that falls behind stops being
//! read (back-pressure) until its echo drains; EOF closes a client once its
//! echo is flushed, an error closes it at once.
//!
//! ```sh
//! cargo run --example event_server -- -p 9995
//! ```
//!
//! Then, from another shell: `nc 127.0.0.1 9995` and type lines, or
//! `head -c 1000000 /dev/urandom | nc -N 127.0.0.1 9995 | wc -c`. `-p 0`
//! picks a free port; either way the first stdout line is
//! `listening on 127.0.0.1:<port>`. Ctrl-C (SIGINT) stops it with exit
//! status 0.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

use rvent::{Ev, Event, EventBase};

/// Bytes asked for per read callback.
const READ_CHUNK: usize = 16 * 1024;
/// A client with this much unsent echo is not read until it drains (a
/// bufferevent's read high watermark, by hand).
const HIGH_WATER: usize = 256 * 1024;

const USAGE: &str = "usage: event_server [-p PORT]";

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
        for ev in [self.read_ev, self.write_ev] {
            if let Err(e) = ev.free(base) {
                eprintln!("event_server: cannot free {ev:?}: {e}");
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

/// The listener's callback: accepts every waiting client.
fn accept_all(base: &mut EventBase, listener: &TcpListener, conns: &Conns) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = open_conn(base, conns, stream) {
                    eprintln!("event_server: cannot serve {peer}: {e}");
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => {
                // Out of fds, say: try again on the next readiness.
                eprintln!("event_server: accept: {e}");
                return;
            }
        }
    }
}

fn parse_port() -> Result<u16, String> {
    let mut port = 9995;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-p" => {
                let v = args
                    .next()
                    .ok_or_else(|| format!("-p needs a value\n{USAGE}"))?;
                port = v
                    .parse()
                    .map_err(|e| format!("bad port {v:?}: {e}\n{USAGE}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(port)
}

fn main() -> Result<(), Box<dyn Error>> {
    let port = parse_port()?;
    let mut base = EventBase::new()?;
    let conns: Conns = Rc::default();

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let c = Rc::clone(&conns);
    let accept_ev = Event::new(
        &mut base,
        listener.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |base, _, _, _| accept_all(base, &listener, &c),
    )?;
    accept_ev.add(&mut base, None)?;

    let sigint = Event::signal(&mut base, libc::SIGINT, |base, _, _, _| base.loopbreak())?;
    sigint.add(&mut base, None)?;

    println!("listening on {addr}");
    io::stdout().flush()?;
    base.dispatch()?;

    let open = conns.borrow().len();
    println!("shutting down, closing {open} connection(s)");
    for (_, conn) in conns.borrow_mut().drain() {
        conn.close(&mut base);
    }
    Ok(())
}
