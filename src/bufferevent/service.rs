//! The loop's entry points into the bufferevents, called by the base's
//! [`BaseExt`](crate::BaseExt) hooks (see [`Layers`](crate::Layers)):
//! servicing the dirty bufferevents at the start of each iteration,
//! repairing them after a callback panicked out of the loop, and trimming
//! idle buffers on the base's housekeeping tick.
//!
//! Trimming: an emptied buffer keeps its chain list, so the next message
//! allocates nothing. On each tick
//! ([`Config::set_idle_trim`](crate::Config::set_idle_trim)) every
//! bufferevent's buffers are looked at once: a buffer that is empty and
//! whose bufferevent's buffers did not change since the previous tick
//! gives its list back. The per-message path pays nothing for this (the
//! buffers' epochs change anyway); a tick costs a few loads per
//! bufferevent and allocates nothing.
//!
//! Servicing a bufferevent runs its deferred callbacks, then lets its kind
//! move data (a socket writes its output and fixes its events, a pair
//! moves data to its partner, a filter runs its filters), then fixes its
//! timers.

use super::callback::{fire_event, run_deferred};
use super::flags::BevEvent;
use super::handle::Bufferevent;
use super::rec::Kind;
use super::table::BevHost;
use super::{filter, pair, socket, timeouts};
use crate::base::EventBase;
use crate::handle::Event;

impl<X: BevHost> EventBase<X> {
    /// A callback panicked out of the loop, inside event `ev` if any (which
    /// the loop deleted, its closure gone): bring the bufferevents back to
    /// a consistent state. A socket bufferevent whose event it was gets
    /// fresh events on the same socket.
    #[cold]
    pub(crate) fn bevs_after_panic(&mut self, ev: Option<Event>) {
        let id = self.id;
        let t = self.ext.bevs_mut();
        t.after_panic();
        let Some(h) = ev
            .and_then(|ev| t.owner_of(ev))
            .and_then(|idx| t.handle_at(idx, id))
        else {
            return;
        };
        let fd = match &t.get(h).map(|r| &r.kind) {
            Some(Kind::Socket(s)) => s.fd(),
            _ => return,
        };
        if h.set_fd(self, fd).is_err() {
            // Cannot watch it again: report it as an error.
            if let Some(r) = self.ext.bevs_mut().get_mut(h) {
                r.error = libc::EIO;
            }
            fire_event(self, h, BevEvent::ERROR, true);
        }
    }

    /// The housekeeping tick: frees the chain lists of the empty buffers
    /// of bufferevents untouched since the previous tick; stops the tick
    /// when the base has no bufferevent left. Returns whether the base
    /// is quiet — some buffer went idle and gave its list back, or no
    /// bufferevent changed since the previous tick (or none is left) — so
    /// the core may give back what it keeps for the next burst.
    pub(crate) fn trim_idle_bevs(&mut self) -> bool {
        let t = self.ext.bevs_mut();
        if t.live() == 0 {
            self.stop_housekeeping();
            return true;
        }
        let (mut freed, mut touched) = (false, false);
        for r in t.recs.iter_mut().filter(|r| r.is_live()) {
            if r.idle_mark() != r.trim_mark {
                touched = true;
            } else if r.input.keeps_memory_empty() || r.output.keeps_memory_empty() {
                freed |= r.input.release_empty();
                freed |= r.output.release_empty();
            }
            // After a release too, which moves the buffers' epochs.
            r.trim_mark = r.idle_mark();
        }
        freed || !touched
    }

    /// Services the dirty bufferevents; returns how many there were.
    #[cold]
    #[inline(never)]
    pub(crate) fn service_dirty_bevs(&mut self) -> usize {
        let id = self.id;
        let n = self.ext.bevs_mut().start_servicing();
        for k in 0..n {
            if let Some(h) = self.ext.bevs_mut().next_serviced(k, id) {
                service(self, h);
            }
        }
        self.ext.bevs_mut().end_servicing();
        n
    }
}

/// Runs deferred callbacks, then lets the kind move data.
fn service<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    run_deferred(base, h);
    let Some(r) = base.ext.bevs_mut().get(h) else {
        return;
    };
    match r.kind {
        Kind::Socket(_) => socket::service(base, h),
        Kind::Pair(_) => pair::service(base, h),
        Kind::Filter(_) => filter::service(base, h),
        Kind::Free => {}
    }
    timeouts::adjust(base, h);
}
