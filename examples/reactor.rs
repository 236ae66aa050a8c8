//! The tutorial's chapter 3: the reactor pattern, built by hand on epoll,
//! and the echo server of chapter 2 rewritten on it.
//!
//! ```sh
//! cargo run --release --example reactor               # port 9878
//! cargo run --release --example reactor -- -p 0       # a free port
//! ```
//!
//! Then `nc 127.0.0.1 9878` from other shells. The first stdout line is
//! `listening on 127.0.0.1:<port>`; Ctrl-C (SIGINT) or SIGTERM ends it
//! with status 0. It keeps the anchor benchmark's `echo` contract, like
//! `epoll_server`.
//!
//! In `epoll_server` the loop knows every kind of fd: "is it the
//! listener? the signalfd? a client?". A reactor turns that inside out.
//! It keeps a table from fd to *handler* — a closure that owns whatever
//! that fd needs — and offers three operations: [`Reactor::register`]
//! (add an fd and its handler), [`Reactor::unregister`] (remove both) and
//! [`Reactor::run`], one dispatch loop that waits with `epoll_wait` and
//! calls the handler of each ready fd. The loop knows nothing about
//! sockets; the echo server is three handlers (accept, echo, signal) and
//! a `main` that registers the first and the last.
//!
//! A handler gets `&mut Reactor`, so it can register new fds (the
//! listener registers each client) or unregister its own (a client at
//! EOF). To make that possible the loop takes the handler out of its slot
//! while it runs and puts it back afterwards — unless the handler
//! unregistered itself, in which case it is dropped, closing the socket
//! it owns.
//!
//! That is the whole idea of libevent, and of rvent's
//! [`EventBase`](rvent::EventBase). What they add on top of this
//! table and loop:
//! - **timers**: a heap of deadlines whose minimum bounds `epoll_wait`'s
//!   timeout, and a timeout on any I/O event ([`rvent::Event::add`]);
//! - **signals** as ordinary events ([`rvent::Event::signal`]), any number
//!   of bases and handlers per signal;
//! - **priorities**: ready events queued per priority, the most urgent run
//!   first ([`rvent::EventBase::priority_init`]);
//! - **level or edge per event** ([`rvent::Ev::ET`]), persistent or
//!   one-shot, several events on one fd merged into one registration;
//! - **safety**: an `Event` is a generation-checked handle, so using a
//!   freed one is an error, where this table, keyed by fd number alone,
//!   would reach whatever handler now sits at that number; any callback
//!   may free any event, its own included; a panicking callback leaves
//!   the base usable;
//! - **buffers**: bufferevents and evbuffers, so the echo handler below
//!   (with its own buffer and `EPOLLOUT` switching) becomes one line.

#[path = "support/mod.rs"]
mod support;

use std::cell::Cell;
use std::error::Error;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use support::{Context, outln};

const NAME: &str = "reactor";
/// Next to `echo_server`'s 9876 and `epoll_server`'s 9877.
const DEFAULT_PORT: u16 = 9878;
const USAGE: &str = "\
usage: reactor [-p PORT]

An echo server on a hand-built reactor (epoll + a table of handlers).

  -p PORT     port to listen on (default 9878; 0 picks a free one)
  -h, --help  print this help";

/// Bytes a connection buffers.
const CONN_BUF: usize = 16 * 1024;
/// Ready fds taken per `epoll_wait`.
const MAX_READY: usize = 1024;

// ------------------------------------------------------------------
// The reactor.

/// What runs when an fd is ready: gets the reactor, the fd and the
/// ready `EPOLL*` bits.
type Handler = Box<dyn FnMut(&mut Reactor, RawFd, u32)>;

/// One entry of the table, indexed by fd.
enum Slot {
    Empty,
    Waiting(Handler),
    /// Its handler is out of the table, running.
    Running,
}

/// An epoll set and the handler of each fd in it.
struct Reactor {
    epoll: OwnedFd,
    slots: Vec<Slot>,
    registered: usize,
    stopped: bool,
}

impl Reactor {
    fn new() -> io::Result<Reactor> {
        // SAFETY: no pointer arguments; a non-negative result is a new fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Reactor {
            // SAFETY: `fd` was just created and is owned by nobody else.
            epoll: unsafe { OwnedFd::from_raw_fd(fd) },
            slots: Vec::new(),
            registered: 0,
            stopped: false,
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events,
            u64: fd as u64,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Watches `fd` for `events` (`EPOLLIN`, `EPOLLOUT`, …) and calls
    /// `handler` whenever it is ready, until [`Reactor::unregister`].
    fn register(
        &mut self,
        fd: RawFd,
        events: u32,
        handler: impl FnMut(&mut Reactor, RawFd, u32) + 'static,
    ) -> io::Result<()> {
        let index = usize::try_from(fd).map_err(|_| io::Error::from(ErrorKind::InvalidInput))?;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || Slot::Empty);
        }
        if !matches!(self.slots[index], Slot::Empty) {
            return Err(ErrorKind::AlreadyExists.into());
        }
        self.ctl(libc::EPOLL_CTL_ADD, fd, events)?;
        self.slots[index] = Slot::Waiting(Box::new(handler));
        self.registered += 1;
        Ok(())
    }

    /// Changes what a registered `fd` is watched for.
    fn modify(&mut self, fd: RawFd, events: u32) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, events)
    }

    /// Stops watching `fd` and drops its handler — at once, or when it
    /// returns if it is the one running.
    fn unregister(&mut self, fd: RawFd) -> io::Result<()> {
        let slot = usize::try_from(fd).ok().and_then(|i| self.slots.get_mut(i));
        match slot {
            Some(slot) if !matches!(slot, Slot::Empty) => {
                *slot = Slot::Empty;
                self.registered -= 1;
                self.ctl(libc::EPOLL_CTL_DEL, fd, 0)
            }
            _ => Err(ErrorKind::NotFound.into()),
        }
    }

    /// Makes [`Reactor::run`] return after the current handler.
    fn stop(&mut self) {
        self.stopped = true;
    }

    /// The dispatch loop: waits for ready fds and calls their handlers,
    /// until [`Reactor::stop`] or until nothing is registered.
    fn run(&mut self) -> io::Result<()> {
        let mut ready = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_READY];
        while !self.stopped && self.registered > 0 {
            // SAFETY: the kernel writes at most MAX_READY entries into
            // `ready`, which has room for them.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    ready.as_mut_ptr(),
                    MAX_READY as libc::c_int,
                    -1,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for ev in &ready[..n as usize] {
                let (fd, events) = (ev.u64 as RawFd, ev.events);
                let slot = &mut self.slots[fd as usize];
                // Take the handler out, so it can have `&mut self`.
                let mut handler = match std::mem::replace(slot, Slot::Running) {
                    Slot::Waiting(handler) => handler,
                    // Unregistered by an earlier handler of this batch.
                    other => {
                        *slot = other;
                        continue;
                    }
                };
                handler(self, fd, events);
                let slot = &mut self.slots[fd as usize];
                if matches!(slot, Slot::Running) {
                    *slot = Slot::Waiting(handler);
                } // else it unregistered itself: dropped here
                if self.stopped {
                    break;
                }
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------
// The echo server on it.

fn main() {
    let port = support::port_arg(NAME, USAGE, DEFAULT_PORT);
    support::run(NAME, || run(port));
}

fn run(port: u16) -> Result<(), Box<dyn Error>> {
    let mut reactor = Reactor::new()?;
    // Signals first: once the port is open a benchmark script may already
    // send SIGINT, which must stop the server.
    let mut signals = signal_fd()?;
    reactor.register(signals.as_raw_fd(), libc::EPOLLIN as u32, move |r, _, _| {
        let mut info = [0u8; size_of::<libc::signalfd_siginfo>()];
        if let Ok(n) = signals.read(&mut info)
            && n == info.len()
        {
            // `ssi_signo` is the struct's first field.
            let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
            eprintln!("{NAME}: caught signal {signo}, exiting");
            r.stop();
        }
    })?;

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).context(format_args!("cannot bind {addr}"))?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let served = Rc::new(Cell::new(0u64));
    let count = Rc::clone(&served);
    reactor.register(
        listener.as_raw_fd(),
        libc::EPOLLIN as u32,
        move |r, _, _| {
            accept_all(r, &listener, &count);
        },
    )?;
    // A server keeps serving when nobody reads its log.
    let _ = outln!("listening on 127.0.0.1:{port}");
    eprintln!("{NAME}: listening on 127.0.0.1:{port} (hand-built reactor on epoll)");

    reactor.run()?;
    // Dropping the reactor drops every handler and so closes what they
    // own: the clients, the listener, the signalfd.
    drop(reactor);
    eprintln!(
        "{NAME}: exited cleanly, {} connections served",
        served.get()
    );
    Ok(())
}

/// The listener's handler: accepts every waiting client and registers an
/// echo handler for each.
fn accept_all(r: &mut Reactor, listener: &TcpListener, served: &Cell<u64>) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => match Echo::register(r, stream) {
                Ok(()) => served.set(served.get() + 1),
                Err(e) => eprintln!("{NAME}: cannot set up connection: {e}"),
            },
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => {
                // E.g. out of fds (EMFILE): report and keep serving.
                eprintln!("{NAME}: accept: {e}");
                return;
            }
        }
    }
}

/// One client's state, owned by its handler: the socket and the echo it
/// has not taken yet, `buf[off..len]`.
struct Echo {
    stream: TcpStream,
    buf: Box<[u8; CONN_BUF]>,
    off: usize,
    len: usize,
    /// Watched for `EPOLLOUT` (not `EPOLLIN`) until the rest is out.
    waiting: bool,
}

impl Echo {
    fn register(r: &mut Reactor, stream: TcpStream) -> io::Result<()> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let fd = stream.as_raw_fd();
        let mut echo = Echo {
            stream,
            buf: Box::new([0; CONN_BUF]),
            off: 0,
            len: 0,
            waiting: false,
        };
        r.register(fd, libc::EPOLLIN as u32, move |r, fd, _| {
            if !matches!(echo.on_ready(r, fd), Ok(true)) {
                // EOF or an error: the handler, and with it the socket,
                // is dropped when it returns.
                let _ = r.unregister(fd);
            }
        })
    }

    /// One `recv` and one `send`; a partial send watches for `EPOLLOUT`
    /// (and stops reading) until the rest is out. `Ok(false)` at EOF.
    fn on_ready(&mut self, r: &mut Reactor, fd: RawFd) -> io::Result<bool> {
        if self.off == self.len {
            match self.stream.read(&mut self.buf[..]) {
                Ok(0) => return Ok(false),
                Ok(n) => (self.off, self.len) = (0, n),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
        }
        while self.off < self.len {
            match self.stream.write(&self.buf[self.off..self.len]) {
                Ok(n) => self.off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let flushed = self.off == self.len;
        if flushed {
            (self.off, self.len) = (0, 0);
        }
        if flushed == self.waiting {
            // The interest flips: EPOLLOUT while the peer lags behind.
            self.waiting = !flushed;
            let events = if flushed {
                libc::EPOLLIN
            } else {
                libc::EPOLLOUT
            };
            r.modify(fd, events as u32)?;
        }
        Ok(true)
    }
}

/// SIGINT and SIGTERM as a readable fd (see `epoll_server.rs`).
fn signal_fd() -> io::Result<File> {
    // SAFETY: `sigset_t` is plain data; `sigemptyset` initialises it.
    let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `mask` is a valid sigset_t; the calls only write into it,
    // read it, or (signalfd) return a new fd that nothing else owns.
    let fd = unsafe {
        libc::sigemptyset(&mut mask);
        libc::sigaddset(&mut mask, libc::SIGINT);
        libc::sigaddset(&mut mask, libc::SIGTERM);
        if libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::signalfd(-1, &mask, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}
