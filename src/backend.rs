//! The I/O backend: epoll through mio, and libevent's evmap (fd → events).
//!
//! `mio::Poll` owns the epoll instance and the cross-thread waker; rvent
//! calls `epoll_wait` on that instance itself (one syscall, reports read
//! straight from the kernel's array) because it needs the raw event bits
//! to map them the way libevent does.
//!
//! libevent lets several events watch one fd, each level- or
//! edge-triggered; epoll (and mio) allow one registration per fd. The
//! [`FdEntry`] table, indexed by fd like libevent's evmap, counts the
//! events that want READ, WRITE and CLOSED on each fd and keeps the union
//! registered. Registrations go straight onto mio's epoll fd without
//! `EPOLLET` (see [`crate::sys::epoll`]): level-triggered events cost no
//! extra syscall per dispatch; `Ev::ET` events add `EPOLLET`. The mio token
//! of an fd is the fd itself; the waker and the signal pipe use the top two
//! token values.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use mio::{Poll, Token};

use crate::ev::Ev;
use crate::mem::{self, MemVec};
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

/// mio's poller, the report array and the fd table.
pub(crate) struct Backend {
    pub poll: Poll,
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
    pub fn new() -> crate::error::Result<Backend> {
        let mut events = mem::vec();
        mem::reserve(&mut events, INITIAL_EVENTS)?;
        events.resize(INITIAL_EVENTS, epoll::EMPTY);
        Ok(Backend {
            poll: Poll::new()?,
            events,
            ready: 0,
            fds: mem::vec(),
        })
    }

    #[inline]
    pub fn epfd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }

    /// The entry for `fd`, growing the table if needed.
    pub fn entry_mut(&mut self, fd: RawFd) -> crate::error::Result<&mut FdEntry> {
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
    /// Handles the close/dup quirks libevent's epoll backend handles: a MOD
    /// of an fd the kernel forgot (closed and reopened) becomes an ADD, an
    /// ADD of an fd already known (dup'd) becomes a MOD, and a DEL of a
    /// closed fd is not an error.
    pub fn apply(&self, fd: RawFd, old: u32, new: u32) -> io::Result<()> {
        if old == new {
            return Ok(());
        }
        let epfd = self.epfd();
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

    /// Waits up to `timeout_ns` (`None` = forever), rounded up to whole
    /// milliseconds so no deadline is reached early.
    #[inline]
    pub fn poll(&mut self, timeout_ns: Option<u64>) -> io::Result<()> {
        let ms = match timeout_ns {
            None => -1,
            Some(ns) => i32::try_from(ns.div_ceil(1_000_000)).unwrap_or(i32::MAX),
        };
        let epfd = self.epfd();
        self.ready = epoll::wait(epfd, &mut self.events, ms)?;
        Ok(())
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
    /// with no more); the next burst grows it again. An allocation failure
    /// keeps the array as it is.
    #[cold]
    pub fn shrink_events(&mut self) {
        if self.events.len() <= INITIAL_EVENTS || self.ready > INITIAL_EVENTS {
            return;
        }
        let mut events = mem::vec();
        if mem::reserve(&mut events, INITIAL_EVENTS).is_ok() {
            events.extend_from_slice(&self.events[..INITIAL_EVENTS]);
            self.events = events;
        }
    }

    /// A fresh epoll instance with every registration replayed (after fork).
    ///
    /// The new instance replaces the old one even when some registrations
    /// fail (an fd closed without `del`): a child must never keep sharing
    /// the parent's instance. The first such failure is the inner error.
    pub fn rebuild(&mut self) -> io::Result<io::Result<()>> {
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
        self.poll = poll;
        Ok(replay)
    }
}

/// Maps epoll's result bits to event flags: a hang-up or peer shutdown
/// is also readable (a read returns 0) and CLOSED; an error or hang-up is
/// readable and writable (the call reports it), as in libevent.
#[inline]
pub(crate) fn readiness(bits: u32) -> Ev {
    const HUP: u32 = libc::EPOLLHUP as u32;
    const ERR: u32 = libc::EPOLLERR as u32;
    if bits == epoll::IN {
        return Ev::READ;
    }
    let mut res = Ev::empty();
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

/// Registers an internal fd (level-triggered read) under `token`.
pub(crate) fn register_internal(epfd: RawFd, fd: RawFd, token: Token) -> io::Result<()> {
    epoll::ctl(epfd, Op::Add, fd, epoll::IN, token.0 as u64)
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
}
