//! The tutorial's chapter 2: an echo server written straight on `epoll`,
//! with no event library — and the blocking server it replaces.
//!
//! ```sh
//! cargo run --release --example epoll_server                 # level-triggered, port 9877
//! cargo run --release --example epoll_server -- --et         # edge-triggered
//! cargo run --release --example epoll_server -- --blocking   # one client at a time
//! ```
//!
//! Then, from two other shells, `nc 127.0.0.1 9877` and type lines. `-p 0`
//! picks a free port; the first stdout line is
//! `listening on 127.0.0.1:<port>`.
//!
//! **`--blocking`** is chapter 2.1: `accept`, then `read` / `write` on that
//! one client until it leaves, then the next `accept`. Every call may wait,
//! and while the server waits in one client's `read` nobody else is
//! served: a second `nc` connects (the kernel completes the handshake and
//! queues it) but gets no echo until the first one quits. That stall is
//! the problem the rest of the book solves.
//!
//! **Level-triggered** (the default, 2.3–2.6): every socket is
//! non-blocking and registered in one epoll set; `epoll_wait` says which
//! are ready, and the server calls only what cannot wait. A ready client
//! gets one `recv` and one `send`. Level-triggered epoll reports a socket
//! again on every `epoll_wait` as long as it is still readable, so one
//! read per wakeup is enough. If the peer does not take the whole echo,
//! the rest stays in the connection's buffer, its interest switches to
//! `EPOLLOUT` (stop reading: back-pressure) and back to `EPOLLIN` once
//! the buffer is flushed.
//!
//! **`--et`** (2.5): the same sockets registered with `EPOLLET` for
//! `EPOLLIN | EPOLLOUT`, once. Edge-triggered epoll reports a change of
//! readiness only once, so the handler must read until `recv` says
//! `WouldBlock` — a byte left behind is never reported again — and must
//! remember on its own that it stopped reading because the peer was slow
//! (the `EPOLLOUT` edge then resumes it). No `epoll_ctl` after the first,
//! at the price of one extra `recv` (the one that returns `WouldBlock`)
//! per wakeup.
//!
//! It follows the anchor benchmark's `echo` contract
//! (`../shared/anchor/README.md`), so `benches/compare.sh` runs it beside
//! the C floor `echo_raw` as Rust's raw-epoll floor: 127.0.0.1 only,
//! `-p PORT`, `TCP_NODELAY` on every client, 16 KiB per connection,
//! SIGINT / SIGTERM (read from a `signalfd` in the same epoll set) end the
//! loop, everything is closed, exit 0. In `--blocking` mode the signal
//! handler ends the process at once with status 0.
//!
//! The `unsafe` blocks are the epoll and signal calls themselves, which
//! std does not wrap: this chapter is about them. The next chapter
//! (`examples/reactor.rs`) hides them behind a table of handlers, and
//! rvent's [`EventBase`](rvent::EventBase) is that reactor grown up.

#[path = "support/mod.rs"]
mod support;

use std::error::Error;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use support::{Context, outln};

const NAME: &str = "epoll_server";
/// Next to `echo_server`'s 9876 (the anchor's), so both can run at once.
const DEFAULT_PORT: u16 = 9877;
const USAGE: &str = "\
usage: epoll_server [-p PORT] [--et | --blocking]

An echo server on raw epoll (127.0.0.1), no event library.

  -p PORT     port to listen on (default 9877; 0 picks a free one)
  --et        edge-triggered epoll (default: level-triggered)
  --blocking  blocking sockets, one client at a time (no epoll)
  -h, --help  print this help";

/// Bytes a connection buffers: what one `recv` may bring (a bufferevent
/// reads at most this much per callback too).
const CONN_BUF: usize = 16 * 1024;
/// Ready sockets taken per `epoll_wait`.
const MAX_READY: usize = 1024;

/// Which server to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Blocking,
    Level,
    Edge,
}

fn main() {
    let mut args = support::Args::new(NAME, USAGE);
    let mut port = DEFAULT_PORT;
    let mut mode = Mode::Level;
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "-p" => port = args.value("-p", "port"),
            "--et" if mode == Mode::Level => mode = Mode::Edge,
            "--blocking" if mode == Mode::Level => mode = Mode::Blocking,
            "--et" | "--blocking" => args.usage_error("--et and --blocking exclude each other"),
            other => args.unexpected(other),
        }
    }
    support::run(NAME, || match mode {
        Mode::Blocking => run_blocking(port),
        Mode::Level | Mode::Edge => run_epoll(port, mode),
    });
}

/// Binds 127.0.0.1:`port` and prints the `listening on` line.
fn listen(port: u16) -> Result<TcpListener, Box<dyn Error>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).context(format_args!("cannot bind {addr}"))?;
    let port = listener.local_addr()?.port();
    // A server keeps serving when nobody reads its log.
    let _ = outln!("listening on 127.0.0.1:{port}");
    Ok(listener)
}

// ------------------------------------------------------------------
// Chapter 2.1: the blocking server.

fn run_blocking(port: u16) -> Result<(), Box<dyn Error>> {
    // std retries `accept` after EINTR, so no signal can end a blocked
    // wait: the handler ends the process itself.
    extern "C" fn exit_now(_sig: libc::c_int) {
        // SAFETY: `_exit` is async-signal-safe; the kernel closes every
        // socket of the process.
        unsafe { libc::_exit(0) }
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let handler = exit_now as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installs a handler that only calls `_exit`.
        if unsafe { libc::signal(sig, handler) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error().into());
        }
    }
    let listener = listen(port)?;
    eprintln!("{NAME}: blocking, one client at a time");
    loop {
        // Waits for the next client; the ones behind it wait in the
        // kernel's accept queue.
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        if let Err(e) = serve_blocking(&stream) {
            eprintln!("{NAME}: client dropped: {e}");
        }
    }
}

/// Echoes one client until it closes. Nobody else is served meanwhile.
fn serve_blocking(mut stream: &TcpStream) -> io::Result<()> {
    let mut buf = [0u8; CONN_BUF];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.write_all(&buf[..n])?;
    }
}

// ------------------------------------------------------------------
// Chapter 2.3–2.6: epoll.

/// The three `epoll` calls, each a thin `io::Result` wrapper.
struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    fn new() -> io::Result<Epoll> {
        // SAFETY: no pointer arguments; a non-negative result is a new fd
        // that nothing else owns.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `epoll_ctl(op, fd)` for `events`; the fd itself is the event's
    /// data, so `epoll_wait` hands it back.
    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events,
            u64: fd as u64,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        if unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits (forever) until something is ready; returns how many entries
    /// of `ready` were filled.
    fn wait(&self, ready: &mut [libc::epoll_event]) -> io::Result<usize> {
        let max = libc::c_int::try_from(ready.len()).unwrap_or(libc::c_int::MAX);
        loop {
            // SAFETY: the kernel writes at most `max` entries into
            // `ready`, which has room for them.
            let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), ready.as_mut_ptr(), max, -1) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// SIGINT and SIGTERM as a readable fd: blocked for the process (the
/// program has one thread), then queued for `read` instead of delivered.
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

/// One client: its socket and the echo it has not taken yet,
/// `buf[off..len]`.
struct Conn {
    stream: TcpStream,
    buf: Box<[u8; CONN_BUF]>,
    off: usize,
    len: usize,
}

/// What a handler wants done with its connection.
enum Next {
    Keep,
    Close,
}

impl Conn {
    /// Sends as much of the unsent rest as the socket takes.
    fn flush(&mut self) -> io::Result<()> {
        while self.off < self.len {
            match self.stream.write(&self.buf[self.off..self.len]) {
                Ok(n) => self.off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.off = 0;
        self.len = 0;
        Ok(())
    }

    fn is_flushed(&self) -> bool {
        self.off == self.len
    }

    /// One `recv` into the (empty) buffer: `Ok(None)` when nothing is
    /// there (`WouldBlock`), `Ok(Some(0))` at EOF.
    fn recv(&mut self) -> io::Result<Option<usize>> {
        debug_assert!(self.is_flushed());
        match self.stream.read(&mut self.buf[..]) {
            Ok(n) => {
                self.len = n;
                Ok(Some(n))
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Level-triggered: one `recv` and one `send` per wakeup; a partial
    /// send switches the interest to `EPOLLOUT` until the rest is out.
    fn on_ready_level(&mut self, epoll: &Epoll) -> io::Result<Next> {
        let fd = self.stream.as_raw_fd();
        if !self.is_flushed() {
            // Waiting for EPOLLOUT (EPOLLIN is off).
            self.flush()?;
            if self.is_flushed() {
                epoll.ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLIN as u32)?;
            }
            return Ok(Next::Keep);
        }
        match self.recv()? {
            None => return Ok(Next::Keep),
            Some(0) => return Ok(Next::Close),
            Some(_) => {}
        }
        self.flush()?;
        if !self.is_flushed() {
            // The peer is slow: stop reading until it takes the rest.
            epoll.ctl(libc::EPOLL_CTL_MOD, fd, libc::EPOLLOUT as u32)?;
        }
        Ok(Next::Keep)
    }

    /// Edge-triggered: flush, then read until `WouldBlock`, echoing each
    /// read. When the peer stops taking the echo, return with input
    /// perhaps still unread: no `EPOLLIN` edge will come for it, but the
    /// `EPOLLOUT` edge will, and this same loop then reads on.
    fn on_ready_edge(&mut self) -> io::Result<Next> {
        loop {
            self.flush()?;
            if !self.is_flushed() {
                return Ok(Next::Keep);
            }
            match self.recv()? {
                None => return Ok(Next::Keep),
                Some(0) => return Ok(Next::Close),
                Some(_) => {}
            }
        }
    }
}

fn run_epoll(port: u16, mode: Mode) -> Result<(), Box<dyn Error>> {
    // Signals first: once the port is open a benchmark script may already
    // send SIGINT, which must stop the server.
    let mut signals = signal_fd()?;
    let listener = listen(port)?;
    listener.set_nonblocking(true)?;
    let edge = if mode == Mode::Edge {
        libc::EPOLLET as u32
    } else {
        0
    };
    let epoll = Epoll::new()?;
    epoll.ctl(
        libc::EPOLL_CTL_ADD,
        listener.as_raw_fd(),
        libc::EPOLLIN as u32 | edge,
    )?;
    epoll.ctl(
        libc::EPOLL_CTL_ADD,
        signals.as_raw_fd(),
        libc::EPOLLIN as u32,
    )?;
    eprintln!(
        "{NAME}: listening on 127.0.0.1:{} (raw epoll, {}-triggered)",
        listener.local_addr()?.port(),
        if mode == Mode::Edge { "edge" } else { "level" }
    );

    // Clients by fd: the fd is the epoll event's data.
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut served = 0u64;
    let mut ready = vec![libc::epoll_event { events: 0, u64: 0 }; MAX_READY];
    'serve: loop {
        let n = epoll.wait(&mut ready)?;
        for ev in &ready[..n] {
            let fd = ev.u64 as RawFd;
            if fd == signals.as_raw_fd() {
                let mut info = [0u8; size_of::<libc::signalfd_siginfo>()];
                if signals.read(&mut info)? == info.len() {
                    // `ssi_signo` is the struct's first field.
                    let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
                    eprintln!("{NAME}: caught signal {signo}, exiting");
                    break 'serve;
                }
            } else if fd == listener.as_raw_fd() {
                served += accept_all(&listener, &epoll, edge, &mut conns);
            } else if let Some(Some(conn)) = conns.get_mut(fd as usize) {
                let next = match mode {
                    Mode::Edge => conn.on_ready_edge(),
                    _ => conn.on_ready_level(&epoll),
                };
                if !matches!(next, Ok(Next::Keep)) {
                    // EOF or an error (the peer reset): dropping the
                    // stream closes it, which also takes it out of the
                    // epoll set.
                    conns[fd as usize] = None;
                }
            }
        }
    }
    // Dropping the table closes every client; the listener, the signalfd
    // and the epoll fd close as they go out of scope.
    drop(conns);
    eprintln!("{NAME}: exited cleanly, {served} connections served");
    Ok(())
}

/// Accepts every waiting client (edge-triggered needs all of them: the
/// listener will not be reported again for those already queued).
/// Returns how many were taken.
fn accept_all(
    listener: &TcpListener,
    epoll: &Epoll,
    edge: u32,
    conns: &mut Vec<Option<Conn>>,
) -> u64 {
    let mut taken = 0;
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return taken,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) =>
            {
                continue;
            }
            Err(e) => {
                // E.g. out of fds (EMFILE): report and keep serving.
                eprintln!("{NAME}: accept: {e}");
                return taken;
            }
        };
        let fd = stream.as_raw_fd();
        let interest = if edge != 0 {
            (libc::EPOLLIN | libc::EPOLLOUT) as u32 | edge
        } else {
            libc::EPOLLIN as u32
        };
        let set_up = stream
            .set_nonblocking(true)
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| epoll.ctl(libc::EPOLL_CTL_ADD, fd, interest));
        if let Err(e) = set_up {
            eprintln!("{NAME}: cannot set up connection: {e}");
            continue;
        }
        let slot = fd as usize;
        if conns.len() <= slot {
            conns.resize_with(slot + 1, || None);
        }
        conns[slot] = Some(Conn {
            stream,
            buf: Box::new([0; CONN_BUF]),
            off: 0,
            len: 0,
        });
        taken += 1;
    }
}
