//! The coverage scenario of issue 11: one program that calls every public
//! API of rvent, so that tests/mem.rs can check it makes no global
//! allocation and gives every block back, and tests/alloc_faults.rs can
//! fail each of its allocations in turn.
//!
//! It runs as independent [`SECTIONS`] — each makes its own base and
//! tears everything down — so a fault-injection run repeats one section,
//! not the whole program. A section stops at the first error and returns
//! it; a failure that no call returns (a bufferevent's or listener's
//! error event, an `Err` inside a callback, a `readln` that gives `None`
//! for a complete line) is recorded and counted by [`reported`]; an error
//! that is not an allocation failure is kept by [`unexpected`].
//!
//! The scenario itself allocates nothing on the global allocator: its
//! counters are thread-locals, its closures capture `Copy` handles, and
//! the test's own thread (the notifier's cross-thread caller) is made
//! inside [`outside_count`].
//!
//! # The public API, checked off
//! - base: `new`, `with_config` (`Config::{avoid_method, require_features,
//!   set_flag, set_max_dispatch_interval, set_max_memory}`), `method`,
//!   `supported_methods`, `features`, `flags`, `priority_init`,
//!   `npriorities`, `num_events`, `num_pending`, `num_active`,
//!   `count_events`, `mem_stats`, `scratch` (`Arena::try_alloc`,
//!   `try_alloc_slice_fill`), `pool` (`Pool::{alloc, free, high_water,
//!   set_high_water}`), `reinit`, `assert_invariants`, `now`,
//!   `gettimeofday_cached`, `update_cache_time`, `debug_mode_enabled`
//! - loop: `dispatch`, `run` (ONCE, NONBLOCK), `loopexit`, `loopbreak`,
//!   `loopcontinue`, `got_exit`, `got_break`, `running_event`,
//!   `active_by_fd`, `active_by_signal`
//! - events: `Event::{new, timer, signal, assign, add, add_common, del,
//!   remove_timer, free, active, pending, set_priority, priority, fd,
//!   assignment, events, belongs_to, is_live, finalize, free_finalize}`,
//!   kinds READ | PERSIST, WRITE, ET, CLOSED, timeouts, signals;
//!   `EventBase::{once, init_common_timeout}`, `foreach_event`,
//!   `dump_events`
//! - notifier: `notifier`, `Notifier::{wake, activate, loopexit,
//!   loopbreak}` from another thread and this one
//! - evbuffer: `new`, `len`, `is_empty`, `contiguous_space`, `chunks`,
//!   `chain_stats`, `assert_invariants`, `add`, `add_fmt`, `add_slices`,
//!   `expand`, `prepend`, `add_buffer`, `prepend_buffer`, `remove_buffer`,
//!   `drain`, `remove`, `copyout`, `copyout_from`, `peek`, `pullup`,
//!   `readln` (every EOL style), `readln_bounded`, `readln_into`,
//!   `search`, `search_range`, `search_eol`, `ptr_set`, `pos`,
//!   `reserve_space`, `commit_space`, `reserve_space_vectored`,
//!   `commit_space_vectored`, `io::Read`, `io::Write`, `add_reference`,
//!   `add_reference_with_offset`, `add_reference_with_cleanup`,
//!   `add_buffer_reference`, `EvbufferFileSegment::{new, len, is_empty,
//!   is_mapped, add_cleanup}`, `add_file_segment`, `add_file`,
//!   `set_max_read`, `max_read`, `read_from`, `write_to`, `write_atmost`,
//!   `freeze`, `unfreeze`, `is_frozen`, `add_cb`, `set_cb`, `remove_cb`,
//!   `cb_set_enabled`, `defer_callbacks`, `add_deferred_cb`
//! - bufferevents: `socket`, `from_stream`, `set_fd`, `connect`,
//!   `connect_hostname`, `dns_error`, `set_priority`, `set_nodelay`,
//!   `pair`, `partner`, `filter`, `set_input_filter`, `set_output_filter`,
//!   `underlying`, `set_read_callback`, `set_write_callback`,
//!   `set_event_callback`, `clear_read_callback`, `clear_write_callback`,
//!   `clear_event_callback`, `clear_callbacks`, `has_callbacks`,
//!   `options`, `enable`, `disable`, `enabled`, `set_watermark`,
//!   `watermark`, `set_max_single_read` / `_write`, `max_single_read` /
//!   `_write`, `set_timeouts` (and a timeout firing), `trigger`,
//!   `trigger_event`, `flush`, `socket_error`, `fd`, `free`, `input`,
//!   `output`, `buffers`, `input_len`, `output_len`, `write`,
//!   `write_buffer`, `read`, `read_buffer`, `is_live`, `belongs_to`;
//!   rate limits: `TokenBucketCfg::new` and getters, `set_rate_limit`,
//!   `rate_limit_cfg`, `read_limit`, `write_limit`,
//!   `decrement_read_limit`, `decrement_write_limit`, `max_to_read`,
//!   `max_to_write`; groups: `RateLimitGroup::{new, is_live, set_cfg, cfg,
//!   set_min_share, totals, reset_totals, read_limit, write_limit,
//!   decrement_read, decrement_write, add, remove, free}`
//! - listener: `bind`, `from_fd` (a socket that is not listening: the
//!   error callback runs), `from_listener`, `enable`, `disable`,
//!   `is_enabled`, `is_live`, `belongs_to`, `set_callback`,
//!   `clear_callback`, `set_error_callback`, `clear_error_callback`, `fd`,
//!   `local_addr`, `event`, `free`
//!
//! Left out: `enable_debug_mode` (process-wide and for good:
//! tests/alloc_faults.rs turns it on before its first base),
//! `install_mem_functions` / `set_mem_functions` (the binaries' `main`),
//! and the log and fatal callbacks (process-wide; tests/mem.rs checks
//! logging on its own).

use std::cell::Cell;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rvent::{
    BaseFlags, BevEvent, BevOptions, Bufferevent, CbInfo, Config, ConnListener, EolStyle, Error,
    Ev, Evbuffer, EvbufferFileSegment, Event, EventBase, EventCount, Features, FilterResult,
    FlushMode, ListenerOptions, LoopFlags, PtrHow, RateLimitGroup, SegFlags, TokenBucketCfg,
    TriggerOptions,
};

use super::hooks::outside_count;

/// What the sections share, made before anything is counted: a file
/// holding "segment" (unlinked).
pub struct Fixture {
    pub file: std::fs::File,
}

impl Fixture {
    pub fn new() -> io::Result<Fixture> {
        let path = std::env::temp_dir().join(format!("rvent-coverage-{}", std::process::id()));
        std::fs::write(&path, b"segment")?;
        let file = std::fs::File::open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(Fixture { file })
    }
}

/// A part of the scenario: its name and the code.
pub type Section = (&'static str, fn(&Fixture) -> Result<(), Error>);

/// The scenario, in independent parts.
pub const SECTIONS: &[Section] = &[
    ("base and events", base_and_events),
    ("evbuffer", evbuffer),
    ("evbuffer zero-copy and fds", evbuffer_zero_copy),
    ("sockets and listeners", sockets_and_listeners),
    ("pairs, filters and rate limits", pairs_filters_rate_limits),
];

/// The whole scenario: every section in turn.
pub fn run_all(fx: &Fixture) -> Result<(), Error> {
    for (_, section) in SECTIONS {
        section(fx)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// What the scenario records.

thread_local! {
    static REPORTED: Cell<u32> = const { Cell::new(0) };
    static UNEXPECTED: Cell<Option<&'static str>> = const { Cell::new(None) };
    static BASES: Cell<usize> = const { Cell::new(0) };
    static HITS: [Cell<u32>; HIT_KINDS] = const { [const { Cell::new(0) }; HIT_KINDS] };
    static BEV: [Cell<Option<Bufferevent>>; 2] = const { [const { Cell::new(None) }; 2] };
}

/// Clears what [`reported`] and [`unexpected`] say.
pub fn reset() {
    REPORTED.set(0);
    UNEXPECTED.set(None);
}

/// Allocation failures seen where no call returns them.
pub fn reported() -> u32 {
    REPORTED.get()
}

/// The first error the scenario saw that was not an allocation failure.
pub fn unexpected() -> Option<&'static str> {
    UNEXPECTED.get()
}

/// Bases made so far (each costs mio's debug builds one global block).
pub fn bases_made() -> usize {
    BASES.get()
}

fn report_alloc() {
    REPORTED.set(REPORTED.get() + 1);
}

fn report_unexpected(what: &'static str) {
    if UNEXPECTED.get().is_none() {
        UNEXPECTED.set(Some(what));
    }
}

/// Records an error a callback cannot return.
fn note<T>(r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Alloc) => {
            report_alloc();
            None
        }
        Err(_) => {
            report_unexpected("an error other than Alloc in a callback");
            None
        }
    }
}

/// Records a bufferevent's `ERROR` event: `ENOMEM` is a reported
/// allocation failure, anything else is unexpected.
fn note_bev_error(base: &mut EventBase, bev: Bufferevent, what: BevEvent) {
    if !what.contains(BevEvent::ERROR) {
        return;
    }
    let e = bev.socket_error(base).ok().flatten();
    if e.and_then(|e| e.raw_os_error()) == Some(libc::ENOMEM) {
        report_alloc();
    } else if reported() == 0 {
        // Not a consequence of a failure reported before (the peer
        // giving up, say).
        report_unexpected("a bufferevent error other than ENOMEM");
    }
}

const HIT_KINDS: usize = 24;

fn hit(i: usize) {
    HITS.with(|h| h[i].set(h[i].get() + 1));
}

fn hits(i: usize) -> u32 {
    HITS.with(|h| h[i].get())
}

fn clear_hits() {
    HITS.with(|h| h.iter().for_each(|c| c.set(0)));
    BEV.with(|b| b.iter().for_each(|c| c.set(None)));
}

fn io_err(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::OutOfMemory || e.raw_os_error() == Some(libc::ENOMEM) {
        Error::Alloc
    } else {
        Error::Io(e)
    }
}

fn timed_out() -> Error {
    Error::Io(io::ErrorKind::TimedOut.into())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Turns a failed expectation into an error (not a panic: the fault
/// test tells a panic out of rvent from a scenario that noticed a lost
/// side effect).
fn expect(cond: bool, what: &'static str) -> Result<(), Error> {
    if cond {
        Ok(())
    } else {
        report_unexpected(what);
        Err(Error::BadState(what))
    }
}

fn new_base(cfg: Option<&Config>) -> Result<EventBase, Error> {
    let base = match cfg {
        Some(cfg) => EventBase::with_config(cfg)?,
        None => EventBase::new()?,
    };
    BASES.set(BASES.get() + 1);
    Ok(base)
}

/// Runs the loop without blocking, one iteration at a time, until
/// `done`, a reported failure (`Err(Alloc)`), or 1 s (a blocking run
/// could wait for a 5 s timeout).
fn run_until(base: &mut EventBase, mut done: impl FnMut(&EventBase) -> bool) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !done(base) {
        if reported() > 0 {
            return Err(Error::Alloc);
        }
        if Instant::now() > deadline {
            report_unexpected("the loop waited 1 s in vain");
            return Err(timed_out());
        }
        base.run(LoopFlags::NONBLOCK)?;
        if !done(base) {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sections

/// The base with a config, every event kind, priorities, common
/// timeouts, once, manual activation, the notifier, the loop's exits,
/// finalizers, introspection, the arena and the pool.
fn base_and_events(_: &Fixture) -> Result<(), Error> {
    clear_hits();
    let mut cfg = Config::new();
    cfg.avoid_method("select")
        .require_features(Features::empty())
        .set_flag(BaseFlags::PRECISE_TIMER)
        .set_max_dispatch_interval(Some(ms(50)), Some(64), 1)
        .set_max_memory(Some(64 << 20));
    let mut base = new_base(Some(&cfg))?;
    let base = &mut base;
    // epoll, or poll under `EVENT_NOEPOLL` (`.ci/run`'s second pass).
    expect(
        EventBase::supported_methods().contains(&base.method()),
        "method",
    )?;
    expect(
        EventBase::supported_methods() == ["epoll", "poll"],
        "methods",
    )?;
    expect(base.features().contains(Features::EARLY_CLOSE), "features")?;
    expect(base.flags().contains(BaseFlags::PRECISE_TIMER), "flags")?;
    let _ = rvent::debug_mode_enabled();
    base.priority_init(3)?;
    expect(base.npriorities() == 3, "npriorities")?;

    let (a, b) = UnixStream::pair().map_err(io_err)?;
    let (c, d) = UnixStream::pair().map_err(io_err)?;
    let (e, f) = UnixStream::pair().map_err(io_err)?;
    for s in [&a, &b, &c, &d, &e] {
        s.set_nonblocking(true).map_err(io_err)?;
    }
    let (af, bf, cf, ef) = (a.as_raw_fd(), b.as_raw_fd(), c.as_raw_fd(), e.as_raw_fd());

    // Level-triggered persistent read, one-shot write, edge-triggered
    // read, closed, at several priorities.
    let rd = Event::new(base, af, Ev::READ | Ev::PERSIST, |base, ev, fd, _| {
        hit(0);
        if base.running_event() == Some(ev) {
            hit(1);
        }
        // Drained, or it would starve the lower priorities.
        let mut sink = [0u8; 8];
        // SAFETY: reads into a stack buffer of that size.
        let _ = unsafe { libc::read(fd, sink.as_mut_ptr().cast(), sink.len()) };
    })?;
    rd.set_priority(base, 0)?;
    rd.add(base, None)?;
    let wr = Event::new(base, bf, Ev::WRITE, |_, _, _, _| hit(2))?;
    wr.add(base, Some(Duration::from_secs(5)))?;
    let et = Event::new(base, cf, Ev::READ | Ev::ET | Ev::PERSIST, |_, _, fd, _| {
        hit(3);
        // Drained: on poll (under EVENT_NOEPOLL) `Ev::ET` is level-triggered,
        // and unread data would keep the NONBLOCK passes busy for ever.
        let mut sink = [0u8; 8];
        // SAFETY: reads into a stack buffer of that size.
        let _ = unsafe { libc::read(fd, sink.as_mut_ptr().cast(), sink.len()) };
    })?;
    et.set_priority(base, 2)?;
    et.add(base, None)?;
    let closed = Event::new(base, ef, Ev::CLOSED, |_, _, _, _| hit(4))?;
    closed.add(base, None)?;
    // Timers: plain, common, signal, once (timer and fd).
    let timer = Event::timer(base, |_, _, _, what| {
        if what == Ev::TIMEOUT {
            hit(5)
        }
    })?;
    timer.add(base, Some(ms(1)))?;
    let ct = base.init_common_timeout(ms(2))?;
    let common = Event::timer(base, |_, _, _, _| hit(6))?;
    common.add_common(base, ct)?;
    let sig = Event::signal(base, libc::SIGUSR2, |_, _, _, _| hit(7))?;
    sig.add(base, None)?;
    base.once(None, Ev::TIMEOUT, Some(ms(1)), |_, _, _| hit(8))?;
    base.once(bf, Ev::WRITE, None, |_, _, what| {
        if what.contains(Ev::WRITE) {
            hit(9)
        }
    })?;
    // Manual activation: by handle, by fd, by signal, cross-thread.
    let manual = Event::timer(base, |base, _, _, what| {
        if what.contains(Ev::TIMEOUT) {
            hit(11)
        }
        base.loopcontinue();
    })?;
    manual.active(base, Ev::TIMEOUT)?;
    let remote = Event::timer(base, |_, _, _, what| {
        if what.contains(Ev::READ) {
            hit(10)
        }
    })?;
    base.active_by_fd(af, Ev::READ);
    // SAFETY: the signal event is added: the handler is rvent's.
    expect(unsafe { libc::raise(libc::SIGUSR2) } == 0, "raise")?;
    base.active_by_signal(libc::SIGUSR2);
    let notifier = base.notifier();
    notifier.wake()?;
    let from_thread = outside_count(|| {
        std::thread::scope(|s| {
            s.spawn(|| -> Result<(), Error> {
                notifier.wake()?;
                notifier.activate(remote, Ev::READ)
            })
            .join()
        })
    });
    from_thread.map_err(|_| Error::BadState("notifier thread panicked"))??;
    (&b).write_all(b"x").map_err(io_err)?;
    (&d).write_all(b"y").map_err(io_err)?;
    drop(f);

    // Introspection before the loop.
    let (what, _) = timer.pending(base, Ev::TIMEOUT)?;
    expect(what == Ev::TIMEOUT, "pending")?;
    expect(
        rd.priority(base)? == 0 && rd.fd(base)? == Some(af),
        "getters",
    )?;
    expect(rd.events(base)? == Ev::READ | Ev::PERSIST, "events")?;
    let _ = rd.assignment(base)?;
    expect(rd.belongs_to(base) && rd.is_live(base), "belongs_to")?;
    expect(base.num_events() >= 8 && base.num_pending() >= 6, "counts")?;
    let _ = base.num_active() + base.count_events(EventCount::all());
    let mut seen = 0usize;
    let none: Option<()> = base.foreach_event(|_| {
        seen += 1;
        ControlFlow::Continue(())
    });
    expect(none.is_none() && seen >= 6, "foreach_event")?;
    base.dump_events(&mut io::sink()).map_err(io_err)?;
    base.assert_invariants();

    run_until(base, |_| (0..=11).all(|i| hits(i) > 0))?;

    // The loop's exits.
    let brk = Event::timer(base, |base, _, _, _| base.loopbreak())?;
    brk.active(base, Ev::TIMEOUT)?;
    base.run(LoopFlags::empty())?;
    expect(base.got_break(), "loopbreak")?;
    rd.del(base)?;
    et.del(base)?;
    closed.del(base)?;
    wr.del(base)?;
    sig.del(base)?;
    notifier.loopbreak()?;
    base.run(LoopFlags::empty())?;
    base.loopexit(Some(ms(1)))?;
    base.dispatch()?;
    expect(base.got_exit(), "loopexit")?;
    notifier.loopexit(None)?;
    base.run(LoopFlags::NONBLOCK)?;

    // Re-assign, remove a timer, finalize.
    timer.assign(base, af, Ev::READ, |_, _, _, _| hit(12))?;
    timer.add(base, Some(Duration::from_secs(5)))?;
    timer.remove_timer(base)?;
    timer.finalize(base, |_, _| hit(13))?;
    brk.free_finalize(base, |_, _| hit(14))?;
    base.run(LoopFlags::NONBLOCK)?;
    expect(hits(13) == 1 && hits(14) == 1, "finalizers")?;

    // Time, memory, reinit.
    let _ = base.now();
    let _ = base.gettimeofday_cached();
    base.update_cache_time();
    let stats = base.mem_stats();
    expect(stats.hooks == cfg!(feature = "mem-functions"), "mem_stats")?;
    let x = base.scratch().try_alloc(7u64)?;
    *x += 1;
    let s = base.scratch().try_alloc_slice_fill(16, 0u8)?;
    s[0] = 1;
    let pool = base.pool();
    let hw = pool.high_water();
    pool.set_high_water(hw);
    let p = pool.alloc(48)?;
    // SAFETY: `p` came from this pool with this size and is not used again.
    unsafe { pool.free(p, 48) };
    base.reinit()?;

    for ev in [rd, wr, et, closed, common, sig, manual, remote] {
        ev.free(base)?;
    }
    Ok(())
}

/// Every evbuffer operation on owned data, callbacks and freezing.
fn evbuffer(_: &Fixture) -> Result<(), Error> {
    clear_hits();
    let base = new_base(None)?;
    let mut buf = Evbuffer::new();
    expect(buf.is_empty(), "new")?;
    buf.add(b"hello")?;
    let n = buf.add_fmt(format_args!(" {}\r\n", 42))?;
    expect(n == 5, "add_fmt")?;
    let n = buf.add_slices(&[IoSlice::new(b"two\n"), IoSlice::new(b"three\r\n")])?;
    expect(n == 11, "add_slices")?;
    buf.prepend(b">")?;
    buf.expand(4096)?;
    let _ = buf.contiguous_space();
    let _ = buf.chunks().count();
    let _ = buf.chain_stats();
    buf.assert_invariants();
    // Search.
    let p = buf.search(b"two", None);
    expect(p.as_ref().map(|p| p.pos()) == Some(11), "search")?;
    let mut p = p.ok_or(Error::BadState("search"))?;
    buf.ptr_set(&mut p, 1, PtrHow::Add)?;
    let mut out = [0u8; 8];
    expect(
        buf.copyout_from(&p, &mut out[..2])? == 2 && &out[..2] == b"wo",
        "copyout_from",
    )?;
    let _ = buf.search_range(b"\n", Some(&p), None);
    expect(
        buf.search_eol(None, EolStyle::CrlfStrict).is_some(),
        "search_eol",
    )?;
    buf.ptr_set(&mut p, 0, PtrHow::Set)?;
    let mut v = [IoSlice::new(&[]); 2];
    expect(buf.peek(Some(3), Some(&p), &mut v) >= 1, "peek")?;
    expect(buf.pullup(Some(6)).map(|s| s.len()) == Some(6), "pullup")?;
    // Lines: a `None` for a complete line is a failed allocation.
    expect(buf.remove(&mut out[..1])? == 1, "remove")?;
    match buf.readln(EolStyle::Crlf) {
        Some(line) => expect(&line[..] == b"hello 42", "readln")?,
        None => return Err(Error::Alloc),
    }
    expect(
        buf.readln_bounded(EolStyle::Lf, 16)?.as_deref() == Some(&b"two"[..]),
        "readln_bounded",
    )?;
    expect(
        buf.readln_into(EolStyle::Any, &mut out)? == Some(5),
        "readln_into",
    )?;
    for style in [EolStyle::Any, EolStyle::Lf, EolStyle::Nul] {
        buf.add(b"l\r\n\0")?;
        if buf.readln(style).is_none() {
            return Err(Error::Alloc);
        }
        buf.drain(buf.len())?;
    }
    // Moving between buffers.
    let mut other = Evbuffer::new();
    other.add(b"[mid]")?;
    buf.add(b"tail")?;
    buf.prepend_buffer(&mut other)?;
    other.add(b"end")?;
    buf.add_buffer(&mut other)?;
    expect(buf.remove_buffer(&mut other, 5)? == 5, "remove_buffer")?;
    expect(buf.copyout(&mut out) == 7, "copyout")?;
    // Reserve and commit.
    let space = buf.reserve_space(8)?;
    space[..3].copy_from_slice(b"abc");
    buf.commit_space(3)?;
    let mut iov = [IoSliceMut::new(&mut []), IoSliceMut::new(&mut [])];
    let k = buf.reserve_space_vectored(16, &mut iov)?;
    iov[0][..2].copy_from_slice(b"de");
    let lens = [2, 0];
    buf.commit_space_vectored(&lens[..k.min(2)])?;
    // io::Read / io::Write.
    buf.write_all(b"io").map_err(io_err)?;
    let mut rd = [0u8; 4];
    buf.read_exact(&mut rd).map_err(io_err)?;
    // Callbacks: sync, replaced, disabled, removed, deferred, frozen.
    let entry = buf.add_cb(|_, _| hit(0))?;
    buf.cb_set_enabled(entry, false)?;
    buf.add(b"-")?;
    buf.cb_set_enabled(entry, true)?;
    buf.add(b"-")?;
    expect(hits(0) == 1, "add_cb")?;
    buf.remove_cb(entry)?;
    buf.set_cb(Some(|_: &mut Evbuffer, info: &CbInfo| {
        if info.n_added > 0 {
            hit(1)
        }
    }))?;
    buf.add(b"+")?;
    expect(hits(1) == 1, "set_cb")?;
    buf.set_cb(None::<fn(&mut Evbuffer, &CbInfo)>)?;
    buf.add_deferred_cb(&base, |_, _| hit(2))?;
    buf.defer_callbacks(&base)?;
    buf.freeze(true);
    expect(buf.is_frozen(true) && buf.drain(1).is_err(), "freeze")?;
    buf.unfreeze(true);
    buf.freeze(false);
    expect(buf.add(b"x").is_err(), "frozen end")?;
    buf.unfreeze(false);
    buf.add(b"!")?;
    let mut base = base;
    base.run(LoopFlags::NONBLOCK)?;
    expect(hits(2) >= 1, "deferred callback")?;
    buf.drain(buf.len())?;
    drop(buf);
    drop(other);
    Ok(())
}

/// References, views, file segments, and reading and writing fds.
fn evbuffer_zero_copy(fx: &Fixture) -> Result<(), Error> {
    clear_hits();
    let mut a = Evbuffer::new();
    a.add_reference(b"ref")?;
    a.add_reference_with_offset([b'x', b'y', b'z'], 1)?;
    a.add_reference_with_cleanup(*b"cln", |_| hit(0))?;
    let mut view = Evbuffer::new();
    view.add_buffer_reference(&mut a)?;
    let mut nested = Evbuffer::new();
    nested.add_buffer_reference(&mut view)?;
    drop(a);
    drop(view);
    let mut out = [0u8; 16];
    expect(
        nested.copyout(&mut out) == 8 && &out[..8] == b"refyzcln",
        "views",
    )?;
    drop(nested);
    expect(hits(0) == 1, "reference cleanup")?;
    // File segments: mapped, read, and add_file.
    let mut f = Evbuffer::new();
    for flags in [
        SegFlags::CLOSE_ON_FREE,
        SegFlags::CLOSE_ON_FREE | SegFlags::DISABLE_MMAP | SegFlags::DISABLE_SENDFILE,
    ] {
        let fd = OwnedFd::from(fx.file.try_clone().map_err(io_err)?);
        let seg = EvbufferFileSegment::new(fd, 1, Some(5), flags)?;
        expect(seg.len() == 5 && !seg.is_empty(), "segment")?;
        let _ = seg.is_mapped();
        seg.add_cleanup(|| hit(1))?;
        f.add_file_segment(&seg, 1, Some(3))?;
    }
    f.add_file(
        OwnedFd::from(fx.file.try_clone().map_err(io_err)?),
        0,
        Some(3),
    )?;
    expect(
        f.copyout(&mut out) == 9 && &out[..9] == b"gmegmeseg",
        "segments",
    )?;
    // Out to a socket and back.
    let (s, t) = UnixStream::pair().map_err(io_err)?;
    expect(
        f.write_atmost(s.as_raw_fd(), Some(3)).map_err(io_err)? == 3,
        "write_atmost",
    )?;
    while !f.is_empty() {
        expect(f.write_to(s.as_raw_fd()).map_err(io_err)? > 0, "write_to")?;
    }
    drop(f);
    expect(hits(1) == 2, "segment cleanups")?;
    let mut back = Evbuffer::new();
    back.set_max_read(4096)?;
    expect(back.max_read() == 4096, "max_read")?;
    expect(
        back.read_from(t.as_raw_fd(), Some(9)).map_err(io_err)? == 9,
        "read_from",
    )?;
    expect(back.len() == 9, "read back")?;
    Ok(())
}

/// A listener with a socket bufferevent served by `from_stream`, with
/// timeouts, watermarks and a rate limit; `connect_hostname`; a listener
/// whose accept fails (its error callback); `from_listener`.
fn sockets_and_listeners(_: &Fixture) -> Result<(), Error> {
    clear_hits();
    let mut base = new_base(None)?;
    let base = &mut base;
    let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let lev = ConnListener::bind(
        base,
        any,
        ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
        Some(16),
        |base, _, conn, _| serve(base, std::net::TcpStream::from(conn)),
    )?;
    let addr = lev.local_addr(base)?;
    expect(
        lev.is_live(base) && lev.belongs_to(base) && lev.is_enabled(base),
        "listener",
    )?;
    let _ = (lev.fd(base)?, lev.event(base)?);
    lev.set_error_callback(base, |_, _, _| hit(20))?;
    lev.clear_error_callback(base)?;
    lev.disable(base)?;
    lev.enable(base)?;

    // The client: a socket bufferevent connected by address.
    let s = Bufferevent::socket(base, None, BevOptions::CLOSE_ON_FREE)?;
    s.set_event_callback(base, |base, bev, what| {
        note_bev_error(base, bev, what);
        if what.contains(BevEvent::CONNECTED) {
            hit(0)
        }
    })?;
    s.set_read_callback(base, |_, _| hit(1))?;
    s.set_write_callback(base, |_, _| hit(2))?;
    let hc = s.has_callbacks(base)?;
    expect(hc.read && hc.write && hc.event, "has_callbacks")?;
    s.set_watermark(base, Ev::READ, 1, 1 << 16)?;
    s.set_watermark(base, Ev::WRITE, 0, 0)?;
    let _ = s.watermark(base, Ev::READ)?;
    s.set_timeouts(
        base,
        Some(Duration::from_secs(5)),
        Some(Duration::from_secs(5)),
    )?;
    s.set_max_single_read(base, 4096)?;
    s.set_max_single_write(base, 4096)?;
    let _ = (s.max_single_read(base)?, s.max_single_write(base)?);
    let cfg = TokenBucketCfg::new(1 << 20, 1 << 20, 1 << 20, 1 << 20, Some(ms(10)))?;
    let _ = (
        cfg.read_rate(),
        cfg.read_burst(),
        cfg.write_rate(),
        cfg.write_burst(),
        cfg.tick(),
    );
    s.set_rate_limit(base, Some(&cfg))?;
    expect(s.rate_limit_cfg(base)?.is_some(), "rate_limit_cfg")?;
    s.enable(base, Ev::READ | Ev::WRITE)?;
    s.connect(base, addr)?;
    run_until(base, |_| hits(0) > 0 && BEV.with(|b| b[0].get()).is_some())?;
    s.set_priority(base, 0)?;
    s.set_nodelay(base, true)?;
    expect(
        s.fd(base)?.is_some() && s.socket_error(base)?.is_none(),
        "fd",
    )?;
    expect(
        s.options(base)?.contains(BevOptions::CLOSE_ON_FREE),
        "options",
    )?;
    expect(s.enabled(base)?.contains(Ev::READ), "enabled")?;
    expect(s.is_live(base) && s.belongs_to(base), "is_live")?;

    // Traffic through the echo server.
    s.write(base, b"hello")?;
    let mut src = Evbuffer::new();
    src.add(b" world")?;
    s.write_buffer(base, &mut src)?;
    s.flush(base, Ev::WRITE, FlushMode::Normal)?;
    expect(s.output_len(base)? <= 11, "output_len")?;
    run_until(base, |base| s.input_len(base).unwrap_or(0) >= 11)?;
    let mut got = [0u8; 4];
    expect(s.read(base, &mut got)? == 4, "read")?;
    let mut rest = Evbuffer::new();
    s.read_buffer(base, &mut rest)?;
    expect(rest.len() == 7, "read_buffer")?;
    expect(s.input(base)?.is_empty(), "input")?;
    s.output(base)?.add(b"!")?;
    let bufs = s.buffers(base)?;
    expect(bufs.input.is_empty() && bufs.output.len() == 1, "buffers")?;
    s.trigger(base, Ev::READ, TriggerOptions::empty())?;
    s.trigger_event(
        base,
        BevEvent::READING | BevEvent::TIMEOUT,
        TriggerOptions::DEFER_CALLBACKS,
    )?;
    let _ = (s.read_limit(base)?, s.write_limit(base)?);
    s.decrement_read_limit(base, 1)?;
    s.decrement_write_limit(base, 1)?;
    let _ = (s.max_to_read(base)?, s.max_to_write(base)?);
    base.run(LoopFlags::NONBLOCK)?;
    s.disable(base, Ev::WRITE)?;
    s.clear_read_callback(base)?;
    s.clear_write_callback(base)?;
    s.clear_event_callback(base)?;
    s.clear_callbacks(base)?;

    // A host-name lookup (the answer comes from the lookup thread).
    let h = Bufferevent::socket(base, None, BevOptions::CLOSE_ON_FREE)?;
    h.set_event_callback(base, |base, bev, what| {
        note_bev_error(base, bev, what);
        if what.contains(BevEvent::CONNECTED) {
            hit(3)
        }
    })?;
    h.connect_hostname(base, "127.0.0.1", addr.port())?;
    run_until(base, |_| hits(3) > 0 && BEV.with(|b| b[1].get()).is_some())?;
    expect(h.dns_error(base)?.is_none(), "dns_error")?;

    // A socket given later, and a read timeout.
    let t = Bufferevent::socket(base, None, BevOptions::CLOSE_ON_FREE)?;
    let (x, _y) = UnixStream::pair().map_err(io_err)?;
    x.set_nonblocking(true).map_err(io_err)?;
    let raw = x.into_raw_fd();
    if let Err(e) = t.set_fd(base, Some(raw)) {
        // SAFETY: the call failed, so `raw` is still ours alone.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
        return Err(e);
    }
    t.set_event_callback(base, |base, bev, what| {
        note_bev_error(base, bev, what);
        if what.contains(BevEvent::TIMEOUT) {
            hit(4)
        }
    })?;
    t.set_timeouts(base, Some(ms(1)), None)?;
    t.enable(base, Ev::READ)?;
    run_until(base, |_| hits(4) > 0)?;

    // A listener whose socket is not listening: accept fails, the error
    // callback runs.
    let raw = std::net::TcpListener::bind(any).map_err(io_err)?;
    let std_listener = raw; // listening: from_listener
    let lev2 = ConnListener::from_listener(
        base,
        std_listener,
        ListenerOptions::CLOSE_ON_FREE,
        |_, _, _, _| {},
    )?;
    lev2.set_callback(base, |_, _, _, _| hit(21))?;
    lev2.clear_callback(base)?;
    expect(lev2.free(base)?.is_none(), "from_listener free")?;
    let bound = bound_not_listening()?;
    let lev3 = ConnListener::from_fd(
        base,
        bound,
        ListenerOptions::CLOSE_ON_FREE,
        None,
        |_, _, _, _| {},
    )?;
    lev3.set_error_callback(base, |base, lev, _| {
        hit(5);
        note(lev.disable(base));
    })?;
    run_until(base, |_| hits(5) > 0)?;
    lev3.free(base)?;

    for bev in [s, h, t] {
        bev.free(base)?;
    }
    for i in 0..2 {
        if let Some(bev) = BEV.with(|b| b[i].take()) {
            bev.free(base)?;
        }
    }
    lev.free(base)?;
    Ok(())
}

/// A TCP socket bound to a loopback port, not listening.
fn bound_not_listening() -> Result<OwnedFd, Error> {
    let l = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).map_err(io_err)?;
    let addr = l.local_addr().map_err(io_err)?;
    drop(l);
    // SAFETY: plain socket calls on a descriptor this function owns.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io_err(io::Error::last_os_error()));
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let SocketAddr::V4(v4) = addr else {
            return Err(Error::BadState("v4"));
        };
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let r = libc::bind(
            fd,
            (&raw const sin).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if r != 0 {
            return Err(io_err(io::Error::last_os_error()));
        }
        Ok(owned)
    }
}

/// The accept callback: an echo bufferevent for the connection, kept in
/// the first free `BEV` slot.
fn serve(base: &mut EventBase, conn: std::net::TcpStream) {
    let Some(bev) = note(Bufferevent::from_stream(
        base,
        conn,
        BevOptions::CLOSE_ON_FREE,
    )) else {
        return;
    };
    let ok = note(bev.set_read_callback(base, |base, bev| {
        let mut tmp = [0u8; 64];
        if let Some(n) = note(bev.read(base, &mut tmp)) {
            note(bev.write(base, &tmp[..n]));
        }
    }))
    .and_then(|()| note(bev.set_event_callback(base, note_bev_error)))
    .and_then(|()| note(bev.enable(base, Ev::READ)));
    let slot = BEV.with(|b| b.iter().position(|c| c.get().is_none()));
    match (ok, slot) {
        (Some(()), Some(i)) => BEV.with(|b| b[i].set(Some(bev))),
        _ => {
            note(bev.free(base));
        }
    }
}

/// A pair with watermarks, a filter over it with both directions'
/// filters, and rate-limit groups.
fn pairs_filters_rate_limits(_: &Fixture) -> Result<(), Error> {
    clear_hits();
    let mut base = new_base(None)?;
    let base = &mut base;
    let (a, b) = Bufferevent::pair(base, BevOptions::empty())?;
    expect(a.partner(base)? == Some(b), "partner")?;
    let fa = Bufferevent::filter(base, a, BevOptions::empty())?;
    expect(fa.underlying(base)? == Some(a), "underlying")?;
    fa.set_output_filter(base, |_, _, src, dst, _, _| {
        match note(dst.add_buffer(src)) {
            Some(()) => FilterResult::Ok,
            None => FilterResult::Error,
        }
    })?;
    fa.set_input_filter(base, |_, _, src, dst, _, _| {
        match note(dst.add_buffer(src)) {
            Some(()) => FilterResult::Ok,
            None => FilterResult::Error,
        }
    })?;
    fa.set_event_callback(base, note_bev_error)?;
    b.set_read_callback(base, |base, bev| {
        hit(0);
        let mut tmp = [0u8; 64];
        if let Some(n) = note(bev.read(base, &mut tmp)) {
            note(bev.write(base, &tmp[..n]));
        }
    })?;
    b.set_event_callback(base, note_bev_error)?;
    fa.set_read_callback(base, |_, _| hit(1))?;
    b.set_watermark(base, Ev::READ, 1, 1024)?;
    b.enable(base, Ev::READ | Ev::WRITE)?;
    fa.enable(base, Ev::READ | Ev::WRITE)?;
    // Rate limits: a group with both ends, a move, the totals.
    let cfg = TokenBucketCfg::new(1 << 20, 1 << 20, 1 << 20, 1 << 20, None)?;
    let g = RateLimitGroup::new(base, &cfg)?;
    let g2 = RateLimitGroup::new(base, &cfg)?;
    g.add(base, a)?;
    g.add(base, b)?;
    g2.add(base, b)?;
    g.set_cfg(base, &cfg)?;
    let _ = g.cfg(base)?;
    g.set_min_share(base, 64)?;
    let _ = (g.read_limit(base)?, g.write_limit(base)?, g.is_live(base));
    g.decrement_read(base, 1)?;
    g.decrement_write(base, 1)?;
    fa.write(base, b"ping")?;
    fa.flush(base, Ev::WRITE, FlushMode::Flush)?;
    run_until(base, |base| fa.input_len(base).unwrap_or(0) >= 4)?;
    expect(hits(0) > 0 && hits(1) > 0, "round trip")?;
    let _ = g.totals(base)?;
    g.reset_totals(base)?;
    g.remove(base, a)?;
    fa.flush(base, Ev::READ | Ev::WRITE, FlushMode::Finished)?;
    fa.free(base)?;
    a.free(base)?;
    b.free(base)?;
    g.free(base)?;
    g2.free(base)?;
    Ok(())
}
