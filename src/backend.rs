//! The I/O backend — epoll through mio, or poll(2) — and libevent's evmap
//! (fd → events).
//!
//! epoll: `mio::Poll` owns the epoll instance and the cross-thread waker;
//! rvent calls `epoll_wait` on that instance itself (one syscall, reports
//! read straight from the kernel's array) because it needs the raw event
//! bits to map them the way libevent does. poll ([`PollSet`]) serves the
//! bases that avoid epoll and the descriptors epoll refuses (regular
//! files, `/dev/null`); its waits write the same report layout, so the
//! loop walks one kind of report, and the backend is chosen by one match
//! per wait and per registration change, never per event.
//!
//! libevent lets several events watch one fd, each level- or
//! edge-triggered; epoll (and mio) allow one registration per fd. The
//! [`FdEntry`] table, indexed by fd like libevent's evmap, counts the
//! events that want READ, WRITE and CLOSED on each fd and keeps the union
//! registered. Registrations go straight onto mio's epoll fd without
//! `EPOLLET` (see [`crate::sys::epoll`]): level-triggered events cost no
//! extra syscall per dispatch; `Ev::ET` events add `EPOLLET` (poll watches
//! them level-triggered, as libevent's poll backend does). The token of an
//! fd is the fd itself; the waker, the signal pipe and the housekeeping
//! tick use the top three token values.
//!
//! Descriptors epoll refuses: an epoll base returns the `EPERM` of
//! `epoll_ctl` from `add` (libevent's epoll backend fails the same way);
//! a program that watches such descriptors asks for poll
//! ([`Features::FDS`](crate::config::Features::FDS), `EVENT_NOEPOLL`).

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use mio::{Poll, Token};

use crate::error::Result;
use crate::ev::Ev;
use crate::mem::{self, MemVec};
use crate::method::IoMethod;
use crate::pollset::{LEVEL_ONLY, PollSet};
use crate::slots::NIL;
use crate::sys::epoll::{self, Op};

/// Token of the cross-thread waker.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);
/// Token of the signal self-pipe.
pub(crate) const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
/// Token of the housekeeping tick (`housekeeping.rs`).
pub(crate) const HOUSEKEEPING_TOKEN: Token = Token(usize::MAX - 2);

/// What the backend knows about one fd.
#[derive(Clone, Copy, Default)]
pub(crate) struct FdEntry {
    /// First event on this fd (linked through `Slot::fd_next`), or `NIL`.
    pub head: u32,
    pub nread: u32,
    pub nwrite: u32,
    pub nclose: u32,
    /// Events with `Ev::ET`.
    pub net: u32,
    /// The epoll mask currently registered (0: not registered).
    pub mask: u32,
}

impl FdEntry {
    const EMPTY: FdEntry = FdEntry {
        head: NIL,
        nread: 0,
        nwrite: 0,
        nclose: 0,
        net: 0,
        mask: 0,
    };

    /// The epoll mask the counts call for.
    pub fn wanted_mask(&self) -> u32 {
        let mut m = 0;
        if self.nread > 0 {
            m |= epoll::IN;
        }
        if self.nwrite > 0 {
            m |= epoll::OUT;
        }
        if self.nclose > 0 {
            // RDHUP alone, as libevent: unread data must not wake a
            // CLOSED-only event's fd (a level-triggered IN would spin).
            m |= epoll::RDHUP;
        }
        if m != 0 && self.net > 0 {
            m |= epoll::ET;
        }
        m
    }

    /// Adds (`+1`) or removes (`-1`) one event with flags `what`.
    pub fn count(&mut self, what: Ev, delta: i32) {
        let d = |n: &mut u32| *n = n.wrapping_add_signed(delta);
        if what.contains(Ev::READ) {
            d(&mut self.nread);
        }
        if what.contains(Ev::WRITE) {
            d(&mut self.nwrite);
        }
        if what.contains(Ev::CLOSED) {
            d(&mut self.nclose);
        }
        if what.contains(Ev::ET) {
            d(&mut self.net);
        }
    }
}

/// The kernel interface a base waits with.
pub(crate) enum Poller {
    /// mio's epoll instance.
    Epoll(Poll),
    /// The `pollfd` array.
    Poll(PollSet),
}

/// The poller, the report array and the fd table.
pub(crate) struct Backend {
    pub poller: Poller,
    /// The epoll instance's fd, -1 on poll: the one test per wait that
    /// picks the backend.
    epfd: RawFd,
    /// Reports of the last poll: `events[..ready]`.
    pub events: MemVec<epoll::RawEvent>,
    pub ready: usize,
    pub fds: MemVec<FdEntry>,
}

/// Initial room in the event array; doubled (up to [`MAX_EVENTS`]) whenever
/// a poll fills it, as libevent's epoll backend does.
const INITIAL_EVENTS: usize = 64;
const MAX_EVENTS: usize = 4096;

impl Backend {
    pub fn new(method: IoMethod) -> Result<Backend> {
        let mut events = mem::vec();
        mem::reserve(&mut events, INITIAL_EVENTS)?;
        events.resize(INITIAL_EVENTS, epoll::EMPTY);
        let poller = match method {
            IoMethod::Epoll => Poller::Epoll(Poll::new()?),
            IoMethod::Poll => Poller::Poll(PollSet::new()),
        };
        Ok(Backend {
            epfd: match &poller {
                Poller::Epoll(p) => p.as_raw_fd(),
                Poller::Poll(_) => -1,
            },
            poller,
            events,
            ready: 0,
            fds: mem::vec(),
        })
    }

    /// Which backend this is.
    pub fn method(&self) -> IoMethod {
        match self.poller {
            Poller::Epoll(_) => IoMethod::Epoll,
            Poller::Poll(_) => IoMethod::Poll,
        }
    }

    /// The entry for `fd`, growing the table if needed.
    pub fn entry_mut(&mut self, fd: RawFd) -> Result<&mut FdEntry> {
        let i = fd as usize;
        if i >= self.fds.len() {
            let want = (i + 1).next_power_of_two().max(32);
            let more = want - self.fds.len();
            mem::reserve(&mut self.fds, more)?;
            self.fds.resize(want, FdEntry::EMPTY);
        }
        Ok(&mut self.fds[i])
    }

    #[inline]
    pub fn entry(&self, fd: RawFd) -> Option<&FdEntry> {
        self.fds.get(fd as usize)
    }

    /// Moves `fd`'s registration from `old` to `new` (0 = unregistered).
    ///
    /// # Errors
    /// [`Error::Io`](crate::error::Error::Io) from `epoll_ctl`;
    /// [`Error::Alloc`](crate::error::Error::Alloc) when the poll
    /// set cannot grow.
    pub fn apply(&mut self, fd: RawFd, old: u32, new: u32) -> Result<()> {
        if old == new {
            return Ok(());
        }
        match &mut self.poller {
            Poller::Epoll(p) => Ok(epoll_apply(p.as_raw_fd(), fd, old, new)?),
            Poller::Poll(set) => {
                set.set(fd, new, fd as u64)?;
                self.fit_reports()
            }
        }
    }

    /// Watches an internal descriptor (level-triggered read) under `token`.
    pub fn register_internal(&mut self, fd: RawFd, token: Token) -> Result<()> {
        match &mut self.poller {
            Poller::Epoll(p) => Ok(epoll::ctl(
                p.as_raw_fd(),
                Op::Add,
                fd,
                epoll::IN,
                token.0 as u64,
            )?),
            Poller::Poll(set) => {
                set.set(fd, epoll::IN, token.0 as u64)?;
                self.fit_reports()
            }
        }
    }

    /// On poll: makes room for a report per watched descriptor, so one
    /// wait reports every ready one (epoll grows its array by doubling,
    /// [`maybe_grow`](Self::maybe_grow)).
    fn fit_reports(&mut self) -> Result<()> {
        let Poller::Poll(set) = &self.poller else {
            return Ok(());
        };
        let want = set.len();
        if want > self.events.len() {
            let more = want.next_power_of_two() - self.events.len();
            mem::reserve(&mut self.events, more)?;
            self.events.resize(self.events.len() + more, epoll::EMPTY);
        }
        Ok(())
    }

    /// Waits up to `timeout_ns` (`None` = forever), rounded up to whole
    /// milliseconds so no deadline is reached early.
    #[inline]
    pub fn poll(&mut self, timeout_ns: Option<u64>) -> io::Result<()> {
        let ms = match timeout_ns {
            None => -1,
            Some(ns) => i32::try_from(ns.div_ceil(1_000_000)).unwrap_or(i32::MAX),
        };
        self.ready = if self.epfd >= 0 {
            epoll::wait(self.epfd, &mut self.events, ms)?
        } else {
            self.poll_wait(ms)?
        };
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn poll_wait(&mut self, ms: i32) -> io::Result<usize> {
        match &mut self.poller {
            Poller::Poll(set) => set.wait(&mut self.events, ms),
            Poller::Epoll(p) => epoll::wait(p.as_raw_fd(), &mut self.events, ms),
        }
    }

    /// After a poll that filled the report array: doubles it (up to
    /// [`MAX_EVENTS`]), like libevent's epoll backend. Growing is only an
    /// optimisation, so an allocation failure keeps the array as it is.
    #[inline]
    pub fn maybe_grow(&mut self) {
        let cap = self.events.len();
        if self.ready == cap && cap < MAX_EVENTS {
            self.grow_events(cap);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_events(&mut self, cap: usize) {
        if mem::reserve(&mut self.events, cap).is_ok() {
            self.events.resize(cap * 2, epoll::EMPTY);
        }
    }

    /// On a quiet housekeeping tick: gives back a report array that a
    /// burst grew (every socket ready at once), keeping the first
    /// [`INITIAL_EVENTS`] reports (`events[..ready]` stays valid for a poll
    /// with no more) — on poll, a report per watched descriptor still; the
    /// next burst grows it again. An allocation failure keeps the array as
    /// it is.
    #[cold]
    pub fn shrink_events(&mut self) {
        let keep = match &self.poller {
            Poller::Epoll(_) => INITIAL_EVENTS,
            Poller::Poll(set) => set.len().next_power_of_two().max(INITIAL_EVENTS),
        };
        if self.events.len() <= keep || self.ready > keep {
            return;
        }
        let mut events = mem::vec();
        if mem::reserve(&mut events, keep).is_ok() {
            events.extend_from_slice(&self.events[..keep]);
            self.events = events;
        }
    }

    /// After fork: a fresh epoll instance with every registration
    /// replayed; on poll (no kernel state) the internal descriptors are
    /// forgotten, as they are made anew next.
    ///
    /// The new instance replaces the old one even when some registrations
    /// fail (an fd closed without `del`): a child must never keep sharing
    /// the parent's instance. The first such failure is the inner error.
    pub fn rebuild(&mut self) -> io::Result<io::Result<()>> {
        if let Poller::Poll(set) = &mut self.poller {
            set.clear_internal();
            return Ok(Ok(()));
        }
        let poll = Poll::new()?;
        let epfd = poll.as_raw_fd();
        let mut replay = Ok(());
        for (fd, e) in self.fds.iter().enumerate() {
            if e.mask != 0
                && let Err(err) = epoll::ctl(epfd, Op::Add, fd as RawFd, e.mask, fd as u64)
                && replay.is_ok()
            {
                replay = Err(err);
            }
        }
        self.epfd = epfd;
        self.poller = Poller::Epoll(poll);
        Ok(replay)
    }

    /// The bytes the backend holds (for `mem_stats`).
    pub fn bytes(&self) -> usize {
        let set = match &self.poller {
            Poller::Epoll(_) => 0,
            Poller::Poll(set) => set.bytes(),
        };
        mem::vec_bytes(&self.fds) + mem::vec_bytes(&self.events) + set
    }
}

/// Moves `fd`'s epoll registration from `old` to `new` (0 = unregistered).
///
/// Handles the close/dup quirks libevent's epoll backend handles: a MOD
/// of an fd the kernel forgot (closed and reopened) becomes an ADD, an
/// ADD of an fd already known (dup'd) becomes a MOD, and a DEL of a
/// closed fd is not an error.
fn epoll_apply(epfd: RawFd, fd: RawFd, old: u32, new: u32) -> io::Result<()> {
    let data = fd as u64;
    if new == 0 {
        return match epoll::ctl(epfd, Op::Del, fd, 0, data) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBADF | libc::ENOENT)) => Ok(()),
            r => r,
        };
    }
    let op = if old == 0 { Op::Add } else { Op::Mod };
    match epoll::ctl(epfd, op, fd, new, data) {
        Err(e) if op == Op::Mod && e.raw_os_error() == Some(libc::ENOENT) => {
            epoll::ctl(epfd, Op::Add, fd, new, data)
        }
        Err(e) if op == Op::Add && e.raw_os_error() == Some(libc::EEXIST) => {
            epoll::ctl(epfd, Op::Mod, fd, new, data)
        }
        r => r,
    }
}

/// Maps epoll's result bits to event flags: a hang-up or peer shutdown
/// is also readable (a read returns 0) and CLOSED; an error or hang-up is
/// readable and writable (the call reports it), as in libevent.
///
/// The flags include `Ev::ET` unless the report is [`LEVEL_ONLY`]: masked
/// with an event's flags, the result then says `ET` exactly when the event
/// asked for it and the backend gave it (libevent's callbacks see `EV_ET`
/// on epoll, not on poll), at no cost per event.
#[inline]
pub(crate) fn readiness(bits: u32) -> Ev {
    const HUP: u32 = libc::EPOLLHUP as u32;
    const ERR: u32 = libc::EPOLLERR as u32;
    if bits == epoll::IN {
        return Ev::READ | Ev::ET;
    }
    let mut res = Ev::empty();
    if bits & LEVEL_ONLY == 0 {
        res |= Ev::ET;
    }
    if bits & epoll::IN != 0 {
        res |= Ev::READ;
    }
    if bits & epoll::OUT != 0 {
        res |= Ev::WRITE;
    }
    if bits & (HUP | epoll::RDHUP) != 0 {
        res |= Ev::READ | Ev::CLOSED;
    }
    if bits & (HUP | ERR) != 0 {
        res |= Ev::READ | Ev::WRITE;
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_follows_counts() {
        let mut e = FdEntry::EMPTY;
        assert_eq!(e.wanted_mask(), 0);
        e.count(Ev::READ | Ev::PERSIST, 1);
        assert_eq!(e.wanted_mask(), epoll::IN);
        e.count(Ev::WRITE | Ev::ET, 1);
        assert_eq!(e.wanted_mask(), epoll::IN | epoll::OUT | epoll::ET);
        e.count(Ev::WRITE | Ev::ET, -1);
        e.count(Ev::READ | Ev::PERSIST, -1);
        assert_eq!(e.wanted_mask(), 0);
    }

    #[test]
    fn results_say_et_unless_level_only() {
        assert_eq!(readiness(epoll::IN), Ev::READ | Ev::ET);
        assert_eq!(readiness(epoll::IN | LEVEL_ONLY), Ev::READ);
        assert_eq!(readiness(epoll::OUT), Ev::WRITE | Ev::ET);
        assert_eq!(readiness(epoll::RDHUP | LEVEL_ONLY), Ev::READ | Ev::CLOSED);
    }
}
