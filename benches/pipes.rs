//! pipes: event dispatch over N socketpairs, the anchor benchmark
//! `../shared/anchor/pipes.c` on rvent (see `benches/README.md`).
//!
//! N socketpairs, each with a persistent read event on its read end. A
//! round re-adds every event (untimed; with `-t` a random ~10 s timeout
//! each), settles with one `run(ONCE | NONBLOCK)`, primes A socketpairs
//! with one byte, then times ONE `dispatch()`: the read callback reads one
//! byte and, while writes remain, writes one byte to the next socketpair;
//! the callback that reads the last outstanding byte calls `loopbreak`.
//!
//! libevent → rvent: `event_new(EV_READ|EV_PERSIST)` → `Event::new(READ |
//! PERSIST)`, `event_del`/`event_add` → `Event::del`/`Event::add`,
//! `event_base_loop(base, 0)` → `EventBase::dispatch`,
//! `event_base_loop(ONCE|NONBLOCK)` → `EventBase::run(ONCE | NONBLOCK)`,
//! `event_base_loopbreak` → `EventBase::loopbreak`.
//!
//! Output (stdout): `round=<i> us=<x>` per round, then
//! `pipes n=<N> a=<A> w=<W> t=<0|1> r=<R> median_us=<x> min_us=<x> events_per_sec=<x>`.

mod common;

use std::cell::Cell;
use std::os::fd::RawFd;
use std::process;
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{Opt, Out, Rng};
use rvent::{Ev, Event, EventBase, LoopFlags, LoopStatus};

/// What the C program keeps in globals: the per-round counters and the
/// write ends. Shared by every callback through one `Rc`.
struct Ring {
    /// Bytes read (callbacks that got a byte).
    count: Cell<i64>,
    /// Bytes written (the A primers + forwarded).
    fired: Cell<i64>,
    /// Forwards still allowed this round.
    writes_left: Cell<i64>,
    /// `wfds[i]`: write end of socketpair `i`.
    wfds: Box<[RawFd]>,
}

/// One byte to `fd`; exits 1 on failure, like pipes.c.
#[inline]
fn send_byte(fd: RawFd) {
    // SAFETY: the buffer is a valid 1-byte static slice; send only reads it.
    let n = unsafe { libc::send(fd, b"e".as_ptr().cast(), 1, 0) };
    if n != 1 {
        eprintln!("send: {}", std::io::Error::last_os_error());
        process::exit(1);
    }
}

/// `read_cb` of pipes.c.
#[inline]
fn read_cb(base: &mut EventBase, ring: &Ring, idx: usize, fd: RawFd, what: Ev) {
    if !what.contains(Ev::READ) {
        return; // a -t timeout fired: nothing to read
    }
    let mut ch = 0u8;
    // SAFETY: `ch` is a valid 1-byte buffer that outlives the call.
    if unsafe { libc::recv(fd, (&raw mut ch).cast(), 1, 0) } != 1 {
        return; // spurious wakeup; should not happen
    }
    ring.count.set(ring.count.get() + 1);
    if ring.writes_left.get() > 0 {
        let next = if idx + 1 == ring.wfds.len() {
            0
        } else {
            idx + 1
        };
        send_byte(ring.wfds[next]);
        ring.writes_left.set(ring.writes_left.get() - 1);
        ring.fired.set(ring.fired.get() + 1);
    }
    // Every byte written has been read: the round is over.
    if ring.count.get() == ring.fired.get() {
        base.loopbreak();
    }
}

/// The timed region: dispatch until all A + W bytes have been consumed.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_round(base: &mut EventBase) -> rvent::Result<LoopStatus> {
    std::hint::black_box(base.dispatch())
}

struct Bench {
    base: EventBase,
    evs: Vec<Event>,
    ring: Rc<Ring>,
    n_active: usize,
    n_writes: i64,
    /// Calls to the memory functions made inside the timed rounds.
    mem_calls: u64,
}

impl Bench {
    /// Sets up one round (untimed), runs it, returns its duration in µs.
    fn run_round(&mut self, use_timeouts: bool, rng: &mut Rng) -> f64 {
        let n_pipes = self.evs.len();
        let space = n_pipes / self.n_active;
        // Re-add every event, with a fresh random timeout under -t.
        for &ev in &self.evs {
            let r = ev.del(&mut self.base).and_then(|()| {
                let tv = use_timeouts
                    .then(|| Duration::new(10, 0) + Duration::from_micros(rng.below(1_000_000)));
                ev.add(&mut self.base, tv)
            });
            if let Err(e) = r {
                eprintln!("pipes: event del/add failed: {e}");
                process::exit(1);
            }
        }
        // Let the backend pick up the (re-)registrations, like the original.
        if let Err(e) = self.base.run(LoopFlags::ONCE | LoopFlags::NONBLOCK) {
            eprintln!("pipes: settling loop failed: {e}");
            process::exit(1);
        }

        let ring = &*self.ring;
        ring.count.set(0);
        ring.fired.set(0);
        ring.writes_left.set(self.n_writes);
        for i in 0..self.n_active {
            send_byte(ring.wfds[i * space]);
            ring.fired.set(ring.fired.get() + 1);
        }

        let calls = self.base.mem_stats().calls;
        let t0 = Instant::now();
        let r = bench_timed_round(&mut self.base);
        let t1 = Instant::now();
        self.mem_calls += self.base.mem_stats().calls - calls;

        if !matches!(r, Ok(LoopStatus::Exited)) {
            eprintln!("pipes: dispatch returned {r:?}, expected Ok(Exited)");
            process::exit(1);
        }
        let expected = self.n_active as i64 + self.n_writes;
        let (count, fired) = (ring.count.get(), ring.fired.get());
        if count != expected || count != fired {
            eprintln!("pipes: round incomplete: count={count} fired={fired} expected={expected}");
            process::exit(1);
        }
        (t1 - t0).as_nanos() as f64 / 1000.0
    }
}

fn usage() -> ! {
    let prog = std::env::args().next().unwrap_or_else(|| "pipes".into());
    eprintln!(
        "usage: {prog} [-n pipes] [-a active] [-w writes] [-r rounds] [-t]\n  \
         -n N   number of socketpairs (default 100)\n  \
         -a A   active socketpairs primed per round (default 1)\n  \
         -w W   forwarded writes per round (default 100)\n  \
         -r R   rounds (default 25)\n  \
         -t     give every event a random ~10 s timeout (timer heap)"
    );
    process::exit(2);
}

/// A nonblocking AF_UNIX stream socketpair, made the way pipes.c makes it
/// (`socketpair`, then `evutil_make_socket_nonblocking` on both ends).
fn socketpair() -> [RawFd; 2] {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    if rc != 0 {
        eprintln!("socketpair: {}", std::io::Error::last_os_error());
        process::exit(1);
    }
    for fd in fds {
        // SAFETY: fcntl F_GETFL/F_SETFL take no pointers; `fd` is open.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
    fds
}

fn main() {
    let (mut n_pipes, mut n_active, mut n_writes, mut rounds) = (100i64, 1i64, 100i64, 25i64);
    let mut use_timeouts = false;
    for opt in common::getopt("n:a:w:r:th") {
        match opt {
            Opt::Flag('n', Some(v)) => n_pipes = common::parse_long('n', &v, 2, 1_000_000),
            Opt::Flag('a', Some(v)) => n_active = common::parse_long('a', &v, 1, 1_000_000),
            Opt::Flag('w', Some(v)) => n_writes = common::parse_long('w', &v, 0, 1_000_000_000),
            Opt::Flag('r', Some(v)) => rounds = common::parse_long('r', &v, 1, 1_000_000),
            Opt::Flag('t', None) => use_timeouts = true,
            _ => usage(),
        }
    }
    if n_active > n_pipes {
        eprintln!("pipes: -a must not exceed -n");
        process::exit(2);
    }
    let (n_pipes, n_active, rounds) = (n_pipes as usize, n_active as usize, rounds as usize);

    common::raise_fd_limit(n_pipes);
    let mut base = match EventBase::new() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("EventBase::new failed: {e}");
            process::exit(1);
        }
    };
    eprintln!(
        "# pipes: rvent {}, backend {}",
        env!("CARGO_PKG_VERSION"),
        base.method()
    );

    let pairs: Vec<[RawFd; 2]> = (0..n_pipes).map(|_| socketpair()).collect();
    let ring = Rc::new(Ring {
        count: Cell::new(0),
        fired: Cell::new(0),
        writes_left: Cell::new(0),
        wfds: pairs.iter().map(|p| p[1]).collect(),
    });
    let mut evs = Vec::with_capacity(n_pipes);
    for (i, p) in pairs.iter().enumerate() {
        let ring = Rc::clone(&ring);
        let ev = Event::new(
            &mut base,
            p[0],
            Ev::READ | Ev::PERSIST,
            move |base, _ev, fd, what| read_cb(base, &ring, i, fd, what),
        );
        match ev {
            Ok(ev) => evs.push(ev),
            Err(e) => {
                eprintln!("Event::new failed: {e}");
                process::exit(1);
            }
        }
    }

    let mut bench = Bench {
        base,
        evs,
        ring,
        n_active,
        n_writes,
        mem_calls: 0,
    };
    let mut rng = Rng::new();
    let mut out = Out::new();
    let mut us = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let t = bench.run_round(use_timeouts, &mut rng);
        us.push(t);
        out.line(format_args!("round={} us={:.1}", r + 1, t));
    }

    let med = common::median_of(&us);
    let events = n_active as f64 + n_writes as f64;
    out.line(format_args!(
        "pipes n={} a={} w={} t={} r={} median_us={:.1} min_us={:.1} events_per_sec={:.0}",
        n_pipes,
        n_active,
        n_writes,
        u8::from(use_timeouts),
        rounds,
        med,
        common::min_of(&us),
        if med > 0.0 { events / (med / 1e6) } else { 0.0 }
    ));
    out.flush();
    // Issue 3's promise, measured: a dispatching loop makes no allocation.
    let iterations = rounds as f64 * events;
    eprintln!(
        "# pipes: memory-function calls in the timed rounds: {} ({:.3} per event)",
        bench.mem_calls,
        bench.mem_calls as f64 / iterations
    );

    for ev in &bench.evs {
        let _ = ev.free(&mut bench.base);
    }
    for p in &pairs {
        // SAFETY: both ends were opened by socketpair() above and are
        // closed exactly once, after their events were freed.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
    }
}
