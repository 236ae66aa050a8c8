//! Signal events (tutorial 6.x, `evsignal_new`; libevent's evsig).
//!
//! A process has one handler per signal, so signal delivery is global: the
//! handler in [`crate::sys::signal`] writes the signal number into the
//! self-pipe of the base that most recently added a signal event or
//! entered its loop with signal events (libevent's rule: one base at a
//! time receives signals). That base's loop reads the pipe and activates
//! every event on each signal once per delivery (`ncalls`).
//!
//! The previous `sigaction` is saved when the first event for a signal is
//! added in the process and restored when the last one is deleted. A
//! signal raised before the loop starts waits in the pipe and is delivered
//! on the first pass.

use std::os::fd::AsRawFd;

use crate::active::activate_in;
use crate::backend::SIGNAL_TOKEN;
use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::mem;
use crate::signal_map::{SigEntry, acquire, release};
use crate::slots::NIL;
use crate::sys::signal::{self as sys, NSIG};

impl<X: BaseExt> EventBase<X> {
    fn ensure_signal_pipe(&mut self) -> Result<()> {
        if self.signals.pipe.is_some() {
            return Ok(());
        }
        if self.signals.lists.is_empty() {
            mem::reserve(&mut self.signals.lists, NSIG as usize)?;
            self.signals.lists.resize(
                NSIG as usize,
                SigEntry {
                    head: NIL,
                    count: 0,
                },
            );
        }
        let (r, w) = crate::sys::fd::pipe()?;
        self.backend
            .register_internal(r.as_raw_fd(), SIGNAL_TOKEN)?;
        self.signals.pipe = Some((r, w));
        Ok(())
    }

    pub(crate) fn insert_signal(&mut self, idx: u32) -> Result<()> {
        let sig = self.slots[idx].fd;
        if !(1..NSIG).contains(&sig) {
            return Err(Error::InvalidArgument("signal number out of range"));
        }
        self.ensure_signal_pipe()?;
        let entry = self.signals.lists[sig as usize];
        if entry.count == 0 {
            acquire(sig)?;
            self.signals.watched += 1;
        }
        if entry.head != NIL {
            self.slots[entry.head].fd_prev = idx;
        }
        let s = &mut self.slots[idx];
        s.fd_prev = NIL;
        s.fd_next = entry.head;
        self.signals.lists[sig as usize] = SigEntry {
            head: idx,
            count: entry.count + 1,
        };
        self.mark_inserted(idx);
        if let Some(w) = self.signals.write_fd() {
            sys::set_target(w);
        }
        Ok(())
    }

    pub(crate) fn remove_signal(&mut self, idx: u32) {
        let s = &self.slots[idx];
        let (sig, prev, next) = (s.fd as usize, s.fd_prev, s.fd_next);
        if prev == NIL {
            self.signals.lists[sig].head = next;
        } else {
            self.slots[prev].fd_next = next;
        }
        if next != NIL {
            self.slots[next].fd_prev = prev;
        }
        let entry = &mut self.signals.lists[sig];
        entry.count -= 1;
        if entry.count == 0 {
            release(sig as i32);
            self.signals.watched -= 1;
        }
        self.clear_inserted(idx);
    }

    /// Makes this base the signal receiver if it watches any signal.
    pub(crate) fn signals_take_target(&self) {
        if self.signals.watched > 0
            && let Some(w) = self.signals.write_fd()
        {
            sys::set_target(w);
        }
    }

    /// Drains the self-pipe and activates the signal events. The delivery
    /// counts live in the iteration's arena.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the counts cannot be allocated; the pipe is then
    /// left unread, so the deliveries wait for the next iteration.
    pub(crate) fn deliver_signals(&mut self) -> Result<()> {
        let Some((r, _)) = &self.signals.pipe else {
            return Ok(());
        };
        let r = r.as_raw_fd();
        let counts = self.arena.try_alloc_slice_fill(NSIG as usize, 0u16)?;
        let mut buf = [0u8; 256];
        while let Ok(n) = crate::sys::fd::read(r, &mut buf) {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if let Some(c) = counts.get_mut(usize::from(b)) {
                    *c = c.saturating_add(1);
                }
            }
        }
        for (sig, &n) in counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let mut i = self.signals.lists[sig].head;
            while i != NIL {
                let next = self.slots[i].fd_next;
                activate_in(&mut self.slots, &mut self.active, i, Ev::SIGNAL, n);
                i = next;
            }
        }
        Ok(())
    }

    /// Activates every event on `signum` (`event_base_active_by_signal`).
    /// Unknown signals are ignored.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let sigusr2 = 12; // Linux's SIGUSR2; nothing is raised
    /// let ev = Event::signal(&mut base, sigusr2, |base, ev, signum, what| {
    ///     assert_eq!((signum, what), (12, Ev::SIGNAL));
    ///     ev.del(base).unwrap();
    /// })?;
    /// ev.add(&mut base, None)?;
    /// base.active_by_signal(sigusr2);
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_active_by_signal")]
    pub fn active_by_signal(&mut self, signum: i32) {
        let Some(entry) = self.signals.lists.get(signum.max(0) as usize) else {
            return;
        };
        let mut i = entry.head;
        while i != NIL {
            let next = self.slots[i].fd_next;
            self.activate(i, Ev::SIGNAL, 1);
            i = next;
        }
    }

    /// A new self-pipe after fork; pending signal events stay.
    pub(crate) fn reinit_signals(&mut self) -> Result<()> {
        if let Some((_, w)) = self.signals.pipe.take() {
            sys::clear_target(w.as_raw_fd());
        }
        if self.signals.watched == 0 && self.signals.lists.is_empty() {
            return Ok(());
        }
        self.ensure_signal_pipe()?;
        self.signals_take_target();
        Ok(())
    }

    /// Restores handlers and stops routing signals here (base drop).
    pub(crate) fn drop_signals(&mut self) {
        for sig in 0..self.signals.lists.len() {
            if self.signals.lists[sig].count > 0 {
                release(sig as i32);
            }
        }
        self.signals.watched = 0;
        if let Some((_, w)) = self.signals.pipe.take() {
            sys::clear_target(w.as_raw_fd());
        }
    }
}
