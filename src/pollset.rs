//! The poll backend's state (libevent's `poll.c`): the `pollfd` array
//! handed to `poll(2)` on every wait, and the index from fd to entry.
//!
//! Why poll beside epoll: epoll refuses regular files and some devices
//! (`/dev/null`: `EPERM` on `EPOLL_CTL_ADD`), and programs ask for poll by
//! name (`EVENT_NOEPOLL`, `avoid_method("epoll")`; tmux does, for
//! `/dev/null`). poll watches any descriptor — a regular file is always
//! readable and writable — at O(watched fds) per wait.
//!
//! The array is kept, not rebuilt per wait: an entry changes only when
//! the union of interests on its fd changes (the same moments the epoll
//! backend calls `epoll_ctl`), in place, and a removed entry takes the
//! last one's place, so every change is O(1) (libevent's `idxplus1`).
//! poll has no edge trigger: `Ev::ET` interest is watched level-triggered
//! (libevent's poll backend does the same and reports no `EV_FEATURE_ET`).
//! A wait translates the entries with results into the epoll report
//! layout, so the loop walks one kind of report whatever the backend
//! (marked level-only, so results carry no `Ev::ET`).

use std::io;
use std::os::fd::RawFd;

use crate::error::Result;
use crate::mem::{self, MemVec};
use crate::sys::epoll::{self, RawEvent};
use crate::sys::poll::{self, PollFd};

/// The watched descriptors of a poll base.
pub(crate) struct PollSet {
    /// The array handed to `poll`, in no particular order.
    fds: MemVec<PollFd>,
    /// The token each entry of `fds` reports: the fd itself for events'
    /// fds, an internal token for the waker, signal pipe and tick.
    tokens: MemVec<u64>,
    /// fd → position in `fds` plus one (0: not watched).
    index: MemVec<u32>,
}

/// The bit each poll report carries, which tells the loop that no event
/// was watched edge-triggered (`backend::readiness`): `EPOLLET`, which
/// the kernel never returns in an epoll result.
pub(crate) const LEVEL_ONLY: u32 = epoll::ET;

/// Tokens above any fd number are the internal ones (`backend.rs`).
const FIRST_INTERNAL: u64 = u32::MAX as u64;

/// The `poll` interest for an epoll mask (`Ev::ET`'s bit has no poll
/// counterpart and is dropped).
fn interest(mask: u32) -> i16 {
    let mut ev = 0;
    if mask & epoll::IN != 0 {
        ev |= poll::IN;
    }
    if mask & epoll::OUT != 0 {
        ev |= poll::OUT;
    }
    if mask & epoll::RDHUP != 0 {
        ev |= poll::RDHUP;
    }
    ev
}

/// A `poll` result as epoll bits, marked [`LEVEL_ONLY`] (no event was
/// watched edge-triggered): an invalid descriptor (closed while watched)
/// reports as an error, readable and writable, as libevent's poll
/// backend reports it.
fn report(revents: i16) -> u32 {
    let mut bits = LEVEL_ONLY;
    if revents & poll::IN != 0 {
        bits |= epoll::IN;
    }
    if revents & poll::OUT != 0 {
        bits |= epoll::OUT;
    }
    if revents & poll::RDHUP != 0 {
        bits |= epoll::RDHUP;
    }
    if revents & poll::HUP != 0 {
        bits |= libc::EPOLLHUP as u32;
    }
    if revents & (poll::ERR | poll::NVAL) != 0 {
        bits |= libc::EPOLLERR as u32;
    }
    bits
}

impl PollSet {
    /// An empty set (allocates nothing).
    pub fn new() -> PollSet {
        PollSet {
            fds: mem::vec(),
            tokens: mem::vec(),
            index: mem::vec(),
        }
    }

    /// How many descriptors are watched.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// Watches `fd` for the epoll mask `mask` (0: stops watching),
    /// reporting it under `token`.
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc) when a new entry gets
    /// no memory; the set is unchanged.
    pub fn set(&mut self, fd: RawFd, mask: u32, token: u64) -> Result<()> {
        let i = fd as usize;
        let events = interest(mask);
        let pos = self.index.get(i).copied().unwrap_or(0) as usize;
        if pos != 0 {
            if events == 0 {
                self.remove(pos - 1);
            } else {
                self.fds[pos - 1].events = events;
                self.tokens[pos - 1] = token;
            }
            return Ok(());
        }
        if events == 0 {
            return Ok(());
        }
        if i >= self.index.len() {
            let want = (i + 1).next_power_of_two().max(32);
            let more = want - self.index.len();
            mem::reserve(&mut self.index, more)?;
            self.index.resize(want, 0);
        }
        mem::reserve(&mut self.fds, 1)?;
        mem::reserve(&mut self.tokens, 1)?;
        self.fds.push(PollFd {
            fd,
            events,
            revents: 0,
        });
        self.tokens.push(token);
        self.index[i] = self.fds.len() as u32;
        Ok(())
    }

    /// Drops entry `k`; the last entry takes its place.
    fn remove(&mut self, k: usize) {
        let gone = self.fds.swap_remove(k);
        self.tokens.swap_remove(k);
        self.index[gone.fd as usize] = 0;
        if let Some(moved) = self.fds.get(k) {
            self.index[moved.fd as usize] = k as u32 + 1;
        }
    }

    /// Forgets the internal descriptors (after `fork()`, before they are
    /// made anew); events' fds stay watched.
    pub fn clear_internal(&mut self) {
        for k in (0..self.fds.len()).rev() {
            if self.tokens[k] >= FIRST_INTERNAL {
                self.remove(k);
            }
        }
    }

    /// `poll` for up to `timeout_ms` (-1: forever), then writes one report
    /// per ready entry into `out` (at most `out.len()`); how many.
    pub fn wait(&mut self, out: &mut [RawEvent], timeout_ms: i32) -> io::Result<usize> {
        let n = poll::wait(&mut self.fds, timeout_ms)?;
        let mut k = 0;
        if n == 0 {
            return Ok(0);
        }
        for (p, &token) in self.fds.iter().zip(self.tokens.iter()) {
            if p.revents == 0 {
                continue;
            }
            let Some(slot) = out.get_mut(k) else {
                break;
            };
            *slot = RawEvent {
                events: report(p.revents),
                u64: token,
            };
            k += 1;
            if k == n {
                break;
            }
        }
        Ok(k)
    }

    /// The bytes the set holds (for `mem_stats`).
    pub fn bytes(&self) -> usize {
        mem::vec_bytes(&self.fds) + mem::vec_bytes(&self.tokens) + mem::vec_bytes(&self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(s: &PollSet) -> Vec<(RawFd, u64)> {
        s.fds
            .iter()
            .map(|p| p.fd)
            .zip(s.tokens.iter().copied())
            .collect()
    }

    #[test]
    fn entries_follow_masks_and_keep_the_index() {
        let mut s = PollSet::new();
        s.set(5, epoll::IN, 5).unwrap();
        s.set(7, epoll::OUT | epoll::ET, 7).unwrap();
        s.set(9, epoll::IN, u64::MAX).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.fds[1].events, poll::OUT, "ET has no poll bit");
        s.set(5, 0, 5).unwrap();
        assert_eq!(positions(&s), [(9, u64::MAX), (7, 7)]);
        assert_eq!(s.index[9], 1);
        s.set(7, epoll::IN | epoll::RDHUP, 7).unwrap();
        assert_eq!(s.fds[1].events, poll::IN | poll::RDHUP);
        s.clear_internal();
        assert_eq!(positions(&s), [(7, 7)]);
        assert_eq!((s.index[7], s.index[9]), (1, 0));
        s.set(7, 0, 7).unwrap();
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn results_map_to_epoll_bits() {
        let l = LEVEL_ONLY;
        assert_eq!(report(poll::IN), epoll::IN | l);
        assert_eq!(
            report(poll::OUT | poll::RDHUP),
            epoll::OUT | epoll::RDHUP | l
        );
        assert_eq!(report(poll::NVAL), libc::EPOLLERR as u32 | l);
        assert_eq!(report(poll::HUP), libc::EPOLLHUP as u32 | l);
    }
}
