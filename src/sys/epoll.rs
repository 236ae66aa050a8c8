//! `epoll_ctl` on mio's epoll instance.
//!
//! mio registers every source with `EPOLLET`; libevent's events are
//! level-triggered by default. Registering rvent's fds directly on the
//! epoll fd that `mio::Poll` owns (it is exposed through `AsRawFd`) gives
//! native level-triggered readiness, so emulating it costs no syscall at
//! all: `mio::Poll::poll` still does the `epoll_wait` and reports these
//! registrations as ordinary `mio::event::Event`s whose token is the
//! `data` word set here.

use std::io;
use std::os::fd::RawFd;

pub(crate) const IN: u32 = libc::EPOLLIN as u32;
pub(crate) const OUT: u32 = libc::EPOLLOUT as u32;
pub(crate) const RDHUP: u32 = libc::EPOLLRDHUP as u32;
pub(crate) const ET: u32 = libc::EPOLLET as u32;

/// The three `epoll_ctl` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Mod,
    Del,
}

/// Registers, changes or removes `fd` on `epfd` with `events` and a `data`
/// word (the mio token).
pub(crate) fn ctl(epfd: RawFd, op: Op, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let op = match op {
        Op::Add => libc::EPOLL_CTL_ADD,
        Op::Mod => libc::EPOLL_CTL_MOD,
        Op::Del => libc::EPOLL_CTL_DEL,
    };
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid, initialised epoll_event that outlives the
    // call; epoll_ctl only reads it (and ignores it for DEL). Bad fds are
    // reported through the return value, never UB.
    let rc = unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One readiness report: the `epoll_event` layout, whose `data` word is
/// the token given to [`ctl`].
pub(crate) type RawEvent = libc::epoll_event;

/// An empty report, to size the event array.
pub(crate) const EMPTY: RawEvent = libc::epoll_event { events: 0, u64: 0 };

/// `epoll_wait` into `out`: the number of reports filled in. `timeout_ms`
/// of -1 waits forever. An interrupted wait reports nothing.
pub(crate) fn wait(epfd: RawFd, out: &mut [RawEvent], timeout_ms: i32) -> io::Result<usize> {
    let max = i32::try_from(out.len()).unwrap_or(i32::MAX);
    // SAFETY: `out` is valid for writes of `max` epoll_event structs, and
    // the kernel writes at most `max` of them.
    let n = unsafe { libc::epoll_wait(epfd, out.as_mut_ptr(), max, timeout_ms) };
    if n >= 0 {
        return Ok(n as usize);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::Interrupted {
        Ok(0)
    } else {
        Err(e)
    }
}
