//! Read and write timeouts of bufferevents without a socket — pairs,
//! filters and socket bufferevents with no fd (libevent's generic
//! timeouts, `bufferevent_generic_adj_timeouts_`, and the fd-less socket
//! events that are plain timers there).
//!
//! A socket bufferevent with an fd puts its timeouts on its read and write
//! events. The others have no events of their own, so they get two timer
//! events, created the first time a timeout is set: the read timer runs
//! while reading is enabled and not suspended; data arriving in the input
//! and enabling reading restart it. On expiry the direction is disabled
//! and the event callback gets `READING | TIMEOUT` or `WRITING | TIMEOUT`,
//! as for sockets.
//!
//! The write timer runs while writing is enabled, not suspended, and:
//! - for a pair, output waits; data leaving the output restarts it;
//! - for a filter or an fd-less socket, output waits *or* the timer was
//!   started: enabling writing starts it (with or without output), a
//!   filter's pass over its output restarts it, and it then runs on when
//!   the output empties — a filter's data has moved on to the underlying,
//!   which has not sent it yet — as libevent's `be_filter_enable`,
//!   `be_filter_process_output` and `be_socket_enable` do.
//!
//! # When a timer cannot be armed
//!
//! Arming a timer takes an entry in the base's timer heap, which may have
//! to grow, and growing can fail. The public calls that arm timers
//! ([`enable`](Bufferevent::enable),
//! [`set_timeouts`](Bufferevent::set_timeouts)) make the heap's room
//! first and return `Err(Alloc)` with nothing changed. The loop re-arms
//! them too — servicing a bufferevent after a write, a filter's pass over
//! its output, data moving through a pair — where no call returns: there
//! a timer that cannot be armed fails its direction, as a read without
//! memory does: the direction is disabled and the event callback gets
//! `READING | ERROR` or `WRITING | ERROR`, with `ENOMEM` in
//! [`socket_error`](Bufferevent::socket_error). (libevent drops this
//! failure: the timeout silently never fires.)
//!
//! Keeping each timed bufferevent's heap room reserved ahead would make
//! the re-arm infallible instead, but the heap's spare room is shared by
//! every event of the base: a plain timer's `add` would take room held
//! for a bufferevent unless the heap counted held entries apart, a change
//! to the event core for a failure that needs the heap to grow at that
//! very moment. Reporting it costs nothing on the hot path.

use super::callback::{direction, fire_event, fire_out_of_memory};
use super::flags::BevEvent;
use super::handle::Bufferevent;
use super::rec::{Kind, Rec, Timers};
use super::table::BevHost;
use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::mem;

/// Whether `r` times its directions with the timers (else with its
/// socket's events).
fn timed<X: BaseExt>(r: &Rec<X>) -> bool {
    match &r.kind {
        Kind::Socket(s) => s.fd().is_none(),
        _ => true,
    }
}

/// Whether a started write timer runs on with an empty output (see the
/// module docs).
fn sticky_write<X: BaseExt>(r: &Rec<X>) -> bool {
    !matches!(r.kind, Kind::Pair(_))
}

/// `set_timeouts` on a pair, a filter or an fd-less socket (and a socket
/// losing its fd): creates the timers if needed (in the cold block, which
/// has a timeout, so exists) and restarts them with the new durations. On
/// `Err` nothing was created.
pub(crate) fn set<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    let r = h.rec(base)?;
    let wanted = timed(r) && (r.timeout_read().is_some() || r.timeout_write().is_some());
    if r.timers().is_none() && wanted {
        // Dropped (credited) on every way out that makes no timers.
        let charge = mem::charge_for_box::<Timers>(r.account())?;
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
            _charge: charge,
        };
        let boxed = mem::pool_box(timers);
        match (boxed, h.rec_mut(base)?.cold.as_deref_mut()) {
            (Ok(b), Some(c)) => c.timers = Some(b),
            (boxed, _) => {
                drop(boxed);
                let _ = read.free(base);
                let _ = write.free(base);
                return Err(Error::Alloc);
            }
        }
    }
    // New durations apply from now.
    if let Some(t) = h.rec_mut(base)?.timers_mut() {
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
/// its deadline. A timer that cannot be started fails its direction (see
/// [`fire_out_of_memory`]).
pub(crate) fn adjust<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    if r.timers().is_none() {
        return;
    }
    let timed = timed(r);
    let sticky = sticky_write(r);
    let want_read = timed && r.timeout_read().is_some() && r.reading();
    let writing = timed
        && r.timeout_write().is_some()
        && r.enabled.contains(Ev::WRITE)
        && r.write_suspend == 0;
    let has_output = !r.output.is_empty();
    let (tr, tw) = (r.timeout_read(), r.timeout_write());
    let Some(t) = r.timers_mut() else {
        return;
    };
    let want_write = writing && (has_output || (sticky && t.write_on));
    let changes = [
        (true, want_read != t.read_on, want_read, t.read, tr),
        (false, want_write != t.write_on, want_write, t.write, tw),
    ];
    for (read, changed, on, ev, d) in changes {
        if !changed {
            continue;
        }
        if on {
            if ev.add(base, d).is_err() {
                // Also settles the other direction (`disable` adjusts).
                return fire_out_of_memory(base, h, read);
            }
        } else {
            // A live timer's `del` cannot fail.
            let _ = ev.del(base);
        }
        set_on(base, h, read, on);
    }
}

/// Records whether a direction's timer runs.
fn set_on<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool, on: bool) {
    if let Some(t) = base.ext.bevs_mut().get_mut(h).and_then(|r| r.timers_mut()) {
        if read {
            t.read_on = on;
        } else {
            t.write_on = on;
        }
    }
}

/// Data arrived in the input (`read`) or left the output: restart that
/// direction's running timer.
pub(crate) fn progress<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool) {
    let Some(r) = base.ext.bevs_mut().get(h) else {
        return;
    };
    let Some(t) = r.timers() else {
        return;
    };
    let (on, ev, d) = if read {
        (t.read_on, t.read, r.timeout_read())
    } else {
        (t.write_on, t.write, r.timeout_write())
    };
    // A running timer keeps its heap entry, unless it expired and its
    // callback has not run yet: then the add needs room again.
    if on && ev.add(base, d).is_err() {
        set_on(base, h, read, false);
        fire_out_of_memory(base, h, read);
    }
}

/// Starts or restarts the write timer, if writing is enabled and not
/// suspended: on `enable(WRITE)` (for a pair only while output waits) and
/// after a filter's pass over its output.
pub(crate) fn restart_write<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let go = timed(r)
        && r.enabled.contains(Ev::WRITE)
        && r.write_suspend == 0
        && (sticky_write(r) || !r.output.is_empty());
    let d = r.timeout_write();
    let Some(t) = r.timers_mut() else {
        return;
    };
    if go && d.is_some() {
        let ev = t.write;
        if ev.add(base, d).is_ok() {
            set_on(base, h, false, true);
        } else {
            fire_out_of_memory(base, h, false);
        }
    }
}

/// Makes room in the timer heap for both timers of `h` (if it has
/// timers), so that [`on_enable`] cannot fail: `enable` calls it before it
/// changes anything.
pub(crate) fn reserve<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    if h.rec(base)?.timers().is_some() {
        base.heap.reserve(&base.account, 2)?;
    }
    Ok(())
}

/// `enable(what)`: restarts the enabled directions' timers, then starts
/// or stops the timers to match (libevent restarts a direction's timeout
/// when it is enabled).
pub(crate) fn on_enable<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, what: Ev) {
    if base
        .ext
        .bevs_mut()
        .get(h)
        .is_none_or(|r| r.timers().is_none())
    {
        return;
    }
    if what.contains(Ev::READ) {
        progress(base, h, true);
    }
    if what.contains(Ev::WRITE) {
        restart_write(base, h);
    }
    adjust(base, h);
}

/// Frees the timers of a bufferevent being freed.
pub(crate) fn release<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(t) = base
        .ext
        .bevs_mut()
        .get_mut(h)
        .and_then(|r| r.cold.as_mut()?.timers.take())
    else {
        return;
    };
    let _ = t.read.free(base);
    let _ = t.write.free(base);
}

/// A timer expired: the direction stops, then the event callback runs.
fn expired<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool) {
    set_on(base, h, read, false);
    let (dir, what) = direction(read);
    let _ = h.disable(base, dir);
    fire_event(base, h, what | BevEvent::TIMEOUT, false);
}
