//! Fd registration: an event's place on its fd's event list and the fd's
//! epoll interest (the union of its events' interests, one registration per
//! fd, level-triggered unless an event asks for `EV_ET`). The operations of
//! `event.rs` call these to insert and remove I/O events; signals have
//! theirs in `signal.rs`.

use crate::base::{BaseExt, EventBase};
use crate::debug;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::slots::{NIL, state};

impl<X: BaseExt> EventBase<X> {
    /// Links `idx` into its fd's list and updates the registration.
    pub(crate) fn insert_io(&mut self, idx: u32) -> Result<()> {
        let s = &self.slots[idx];
        let (fd, what) = (s.fd, s.what);
        if self.backend.entry(fd).is_none() && crate::sys::fd::is_nonblocking(fd).is_none() {
            return Err(Error::Io(std::io::Error::from_raw_os_error(libc::EBADF)));
        }
        if debug::enabled() && crate::sys::fd::is_nonblocking(fd) == Some(false) {
            crate::log::warn(format_args!(
                "debug mode: fd {fd} is blocking; reading it from a callback can stall the loop"
            ));
        }
        let entry = self.backend.entry_mut(fd)?;
        let mixes = (entry.nread + entry.nwrite + entry.nclose) > 0
            && (entry.net > 0) != what.contains(Ev::ET);
        if mixes {
            debug::misuse(format_args!(
                "fd {fd} mixes edge-triggered and level-triggered events"
            ));
            return Err(Error::InvalidArgument(
                "cannot mix edge- and level-triggered events on one fd",
            ));
        }
        let old = entry.mask;
        let mut next = *entry;
        next.count(what, 1);
        let new = next.wanted_mask();
        self.backend.apply(fd, old, new)?;
        let entry = &mut self.backend.fds[fd as usize];
        entry.count(what, 1);
        entry.mask = new;
        let head = entry.head;
        entry.head = idx;
        if head != NIL {
            self.slots[head].fd_prev = idx;
        }
        let was_pending = self.slots[idx].is_pending();
        let s = &mut self.slots[idx];
        s.fd_prev = NIL;
        s.fd_next = head;
        s.state |= state::INSERTED;
        if !was_pending {
            self.n_pending += 1;
        }
        Ok(())
    }

    pub(crate) fn remove_io(&mut self, idx: u32) {
        let s = &self.slots[idx];
        let (fd, what, prev, next) = (s.fd, s.what, s.fd_prev, s.fd_next);
        let entry = &mut self.backend.fds[fd as usize];
        if prev == NIL {
            entry.head = next;
        } else {
            self.slots[prev].fd_next = next;
        }
        if next != NIL {
            self.slots[next].fd_prev = prev;
        }
        let entry = &mut self.backend.fds[fd as usize];
        entry.count(what, -1);
        let old = entry.mask;
        let new = entry.wanted_mask();
        entry.mask = new;
        // Only `epoll_ctl` can fail here (poll frees nothing it needs).
        if let Err(e) = self.backend.apply(fd, old, new) {
            crate::log::warn(format_args!("epoll_ctl on fd {fd} failed: {e}"));
        }
        self.clear_inserted(idx);
    }

    pub(crate) fn clear_inserted(&mut self, idx: u32) {
        let s = &mut self.slots[idx];
        s.fd_prev = NIL;
        s.fd_next = NIL;
        s.state &= !state::INSERTED;
        if !s.is_pending() {
            self.n_pending -= 1;
        }
    }

    pub(crate) fn mark_inserted(&mut self, idx: u32) {
        let s = &mut self.slots[idx];
        if !s.is_pending() {
            self.n_pending += 1;
        }
        s.state |= state::INSERTED;
    }
}
