//! Read and write timeouts of bufferevents without a socket — pairs and
//! filters (libevent's generic timeouts, `bufferevent_generic_adj_timeouts_`).
//!
//! A socket bufferevent puts its timeouts on its read and write events. A
//! pair or a filter has no events of its own, so it gets two timer events,
//! created the first time a timeout is set: the read timer runs while
//! reading is enabled and not suspended, the write timer while writing is
//! enabled and output waits; data arriving in the input restarts the read
//! timer, data leaving the output restarts the write timer. On expiry the
//! direction is disabled and the event callback gets `READING | TIMEOUT`
//! or `WRITING | TIMEOUT`, as for sockets.

use super::{BevEvent, Bufferevent, fire_event};
use crate::event::{Ev, Event};
use crate::mem::Pool;
use crate::{Error, EventBase, Result};

/// The two timers and whether each is pending.
pub(crate) struct Timers {
    read: Event,
    write: Event,
    read_on: bool,
    write_on: bool,
}

/// Timers in a pooled block: only bufferevents with timeouts pay for them.
pub(crate) type TimersBox = allocator_api2::boxed::Box<Timers, Pool>;

/// `set_timeouts` on a pair or filter: creates the timers if needed and
/// restarts them with the new durations.
pub(super) fn set(base: &mut EventBase, h: Bufferevent) -> Result<()> {
    let r = h.rec(base)?;
    let wanted = r.timeout_read.is_some() || r.timeout_write.is_some();
    if r.timers.is_none() && wanted {
        let read = Event::timer(base, move |base, _, _, _| expired(base, h, true))?;
        let write = match Event::timer(base, move |base, _, _, _| expired(base, h, false)) {
            Ok(ev) => ev,
            Err(e) => {
                let _ = read.free(base);
                return Err(e);
            }
        };
        let timers = Timers {
            read,
            write,
            read_on: false,
            write_on: false,
        };
        match allocator_api2::boxed::Box::try_new_in(timers, Pool::new()) {
            Ok(b) => h.rec_mut(base)?.timers = Some(b),
            Err(_) => {
                let _ = read.free(base);
                let _ = write.free(base);
                return Err(Error::Alloc);
            }
        }
    }
    // New durations apply from now.
    if let Some(t) = h.rec_mut(base)?.timers.as_mut() {
        t.read_on = false;
        t.write_on = false;
        let (read, write) = (t.read, t.write);
        read.del(base)?;
        write.del(base)?;
    }
    adjust(base, h);
    Ok(())
}

/// Starts or stops each timer to match the state; a running timer keeps
/// its deadline.
pub(super) fn adjust(base: &mut EventBase, h: Bufferevent) {
    let Some(r) = base.bevs.get_mut(h) else {
        return;
    };
    let want_read = r.timeout_read.is_some() && r.reading();
    let want_write = r.timeout_write.is_some()
        && r.enabled.contains(Ev::WRITE)
        && r.write_suspend == 0
        && !r.output.is_empty();
    let (tr, tw) = (r.timeout_read, r.timeout_write);
    let Some(t) = r.timers.as_mut() else {
        return;
    };
    let changes = [
        (want_read != t.read_on, want_read, t.read, tr),
        (want_write != t.write_on, want_write, t.write, tw),
    ];
    t.read_on = want_read;
    t.write_on = want_write;
    for (changed, on, ev, d) in changes {
        if changed {
            // Timer events on a live base: add / del cannot fail.
            let _ = if on { ev.add(base, d) } else { ev.del(base) };
        }
    }
}

/// Data arrived in the input (`read`) or left the output: restart that
/// direction's running timer.
pub(super) fn progress(base: &mut EventBase, h: Bufferevent, read: bool) {
    let Some(r) = base.bevs.get(h) else {
        return;
    };
    let Some(t) = r.timers.as_ref() else {
        return;
    };
    let (on, ev, d) = if read {
        (t.read_on, t.read, r.timeout_read)
    } else {
        (t.write_on, t.write, r.timeout_write)
    };
    if on {
        let _ = ev.add(base, d);
    }
}

/// Frees the timers of a bufferevent being freed.
pub(super) fn release(base: &mut EventBase, h: Bufferevent) {
    let Some(t) = base.bevs.get_mut(h).and_then(|r| r.timers.take()) else {
        return;
    };
    let _ = t.read.free(base);
    let _ = t.write.free(base);
}

/// A timer expired: the direction stops, then the event callback runs.
fn expired(base: &mut EventBase, h: Bufferevent, read: bool) {
    let Some(r) = base.bevs.get_mut(h) else {
        return;
    };
    let (dir, what) = if read {
        (Ev::READ, BevEvent::READING)
    } else {
        (Ev::WRITE, BevEvent::WRITING)
    };
    if let Some(t) = r.timers.as_mut() {
        if read {
            t.read_on = false;
        } else {
            t.write_on = false;
        }
    }
    let _ = h.disable(base, dir);
    fire_event(base, h, what | BevEvent::TIMEOUT, false);
}
