//! `struct event`: `event_new` / `event_assign` on caller memory, add, del,
//! activate, pending, priorities, the getters, `event_base_once`, finalize.
//!
//! rvent keeps the event; the C struct carries its handle in the private
//! `ev_` words with a seal (`SEAL ^` the struct's address), so a struct
//! that is stack garbage, zeroed, or a `memcpy` of another is recognised as
//! not (yet) assigned instead of being trusted. The public fields are
//! filled as libevent fills them, for code that reads them directly.
//!
//! libevent accepts a negative fd or a bad signal number at `event_assign`
//! and fails at `event_add`; rvent refuses at creation. The shim keeps
//! libevent's order: a refused assignment leaves the struct assigned but
//! without an rvent event (`NO_EVENT`), and `event_add` fails on it.

use std::ffi::{c_int, c_short, c_void};
use std::os::fd::RawFd;
use std::ptr;
use std::time::{Instant, SystemTime};

use libc::timeval;
use rvent::event::Event;
use rvent::{Error, Ev, EventBase};

use crate::abi::{
    CEvent, EVLIST_ACTIVE, EVLIST_ACTIVE_LATER, EVLIST_INIT, EventCallbackFn, EventPrivate,
    EvutilSocket,
};
use crate::base::{self, CBase, Timeout, rust, with_callback_base};
use crate::mem;
use crate::{ffi, status};

/// The seal's constant part ("rventEv1").
const SEAL: usize = 0x7276_656e_7445_7631;
/// The struct came from `event_new`: `event_free` releases it.
const OWNED: u64 = 1 << 63;
/// Assigned, but rvent refused the arguments: `event_add` fails.
const NO_EVENT: u64 = 1 << 62;
const SERIAL: u64 = NO_EVENT - 1;

/// What a `struct event *` is to the shim.
pub(crate) enum Lookup {
    /// Not assigned by this library (or copied, zeroed, freed).
    Foreign,
    /// Assigned, but its base was freed since.
    Gone,
    /// Assigned with arguments rvent refused.
    NoEvent,
    /// An rvent event of a live base.
    Live(*mut CBase, Event),
}

/// Reads the record of `ev`.
///
/// # Safety
/// `ev` is null or points to 128 readable bytes.
#[inline]
pub(crate) unsafe fn lookup(ev: *const CEvent) -> (Lookup, bool) {
    if ev.is_null() {
        return (Lookup::Foreign, false);
    }
    // SAFETY: 128 readable bytes (caller); any bit pattern is a valid
    // `EventPrivate` (integers only).
    let (p, b) = unsafe { ((*ev).private, (*ev).ev_base.cast::<CBase>()) };
    if p.seal != SEAL ^ ev as usize {
        return (Lookup::Foreign, false);
    }
    let owned = p.serial & OWNED != 0;
    if !base::is_live(b, p.serial & SERIAL) {
        return (Lookup::Gone, owned);
    }
    if p.serial & NO_EVENT != 0 {
        return (Lookup::NoEvent, owned);
    }
    (Lookup::Live(b, p.handle), owned)
}

/// The marker `event_self_cbarg` returns.
static SELF_CBARG: u8 = 0;

/// Fires a C event callback from rvent's closure.
///
/// # Safety
/// `b` is the live base whose `EventBase` is `base`.
#[inline(always)]
unsafe fn fire(
    b: *mut CBase,
    base: &mut EventBase,
    ev: *mut CEvent,
    cb: Option<EventCallbackFn>,
    arg: *mut c_void,
    fd: RawFd,
    what: Ev,
) {
    if !ev.is_null() {
        // SAFETY: the event of a running callback is live (libevent's
        // contract: added or active events are not freed).
        unsafe { (*ev).evcb_flags &= !(EVLIST_ACTIVE | EVLIST_ACTIVE_LATER) };
    }
    if let Some(cb) = cb {
        // SAFETY: `b` is live (the closure runs inside its loop); the C
        // callback gets libevent's arguments.
        unsafe { with_callback_base(b, base, ev, || cb(fd, what.bits() as c_short, arg)) }
    }
}

/// `event_assign`'s work, also for `event_new` (`owned`) and the old API.
///
/// # Safety
/// `ev` points to 128 writable bytes; `b` is a live base.
pub(crate) unsafe fn assign(
    ev: *mut CEvent,
    b: *mut CBase,
    fd: EvutilSocket,
    events: c_short,
    cb: Option<EventCallbackFn>,
    mut arg: *mut c_void,
    owned: bool,
) -> c_int {
    if ev.is_null() || b.is_null() {
        return -1;
    }
    if ptr::eq(arg, ptr::addr_of!(SELF_CBARG).cast()) {
        arg = ev.cast();
    }
    let mut what = Ev::from_bits_retain(events as u16 & 0xff);
    let io = Ev::READ | Ev::WRITE | Ev::CLOSED;
    // libevent inserts an I/O event on a negative fd without watching
    // anything (it only counts as added); rvent gets a timer for it. A
    // negative signal number fails at `event_add`, as in libevent.
    let fd_arg = if fd < 0 && !what.contains(Ev::SIGNAL) {
        what = Ev::from_bits_retain(what.bits() & !io.bits());
        None
    } else {
        Some(fd)
    };
    let closure = move |base: &mut EventBase, _h: Event, fd: RawFd, what: Ev| {
        // SAFETY: rvent runs this closure inside `b`'s loop.
        unsafe { fire(b, base, ev, cb, arg, fd, what) }
    };
    // SAFETY: `b` is live (caller).
    let base = unsafe { rust(b) };
    // SAFETY: `ev` points to 128 bytes (caller).
    let result = match unsafe { lookup(ev) }.0 {
        Lookup::Live(old, h) if old == b => h.assign(base, fd_arg, what, closure).map(|()| h),
        Lookup::Live(old, h) => {
            // Moving to another base: the old one forgets the event.
            // SAFETY: `old` is live (looked up just now).
            if h.pending(unsafe { rust(old) }, Ev::all())
                .is_ok_and(|(p, _)| !p.is_empty())
            {
                return -1;
            }
            // SAFETY: as above.
            let _ = h.free(unsafe { rust(old) });
            unsafe { forget(old, h) };
            Event::new(base, fd_arg, what, closure)
        }
        _ => Event::new(base, fd_arg, what, closure),
    };
    // SAFETY: `b` is live.
    let mut serial = unsafe { (*b).serial } | if owned { OWNED } else { 0 };
    let handle = match result {
        Ok(h) => h,
        Err(Error::InvalidArgument(_)) => {
            serial |= NO_EVENT;
            // A harmless value; never used while NO_EVENT is set.
            // SAFETY: 128 bytes; the old handle (if any) was not freed
            // only when it belongs to this base and is still assigned.
            unsafe { (*ev).private.handle }
        }
        Err(_) => return -1,
    };
    if serial & NO_EVENT == 0 {
        // SAFETY: `b` is live; the shim's own field.
        let structs = unsafe { &mut (*b).structs };
        if structs.try_reserve(1).is_err() {
            let _ = handle.free(base);
            return -1;
        }
        structs.insert(handle, ev);
    }
    let pri = handle.priority(base).unwrap_or(0);
    // SAFETY: 128 writable bytes (caller).
    unsafe {
        ev.write(CEvent {
            evcb_active_next: [0; 2],
            evcb_flags: EVLIST_INIT,
            evcb_pri: pri as u8,
            evcb_closure: 0,
            evcb_cb: cb,
            evcb_arg: arg,
            ev_timeout_pos: [0; 2],
            ev_fd: fd,
            ev_base: b.cast(),
            private: EventPrivate {
                seal: SEAL ^ ev as usize,
                handle,
                serial,
            },
            ev_events: events,
            ev_res: 0,
            ev_timeout: timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
        });
    }
    0
}

/// `event_assign`: caller memory of `event_get_struct_event_size()` bytes.
/// NULL base: the old API's current base.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_assign(
    ev: *mut CEvent,
    b: *mut CBase,
    fd: EvutilSocket,
    events: c_short,
    cb: Option<EventCallbackFn>,
    arg: *mut c_void,
) -> c_int {
    let b = if b.is_null() {
        crate::compat::current()
    } else {
        b
    };
    // SAFETY: forwarded contract.
    ffi(-1, || unsafe { assign(ev, b, fd, events, cb, arg, false) })
}

/// `event_new`: a struct from the memory functions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_new(
    b: *mut CBase,
    fd: EvutilSocket,
    events: c_short,
    cb: Option<EventCallbackFn>,
    arg: *mut c_void,
) -> *mut CEvent {
    ffi(ptr::null_mut(), || {
        if b.is_null() {
            return ptr::null_mut();
        }
        let ev = mem::malloc(size_of::<CEvent>()).cast::<CEvent>();
        if ev.is_null() {
            return ev;
        }
        // SAFETY: a fresh block of 128 bytes; no seal in it.
        unsafe {
            ptr::write_bytes(ev, 0, 1);
            if assign(ev, b, fd, events, cb, arg, true) != 0 {
                mem::free(ev.cast());
                return ptr::null_mut();
            }
        }
        ev
    })
}

/// `event_free`: deletes the event and releases an `event_new` struct;
/// after `event_base_free` only the struct is released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_free(ev: *mut CEvent) {
    ffi((), || {
        // SAFETY: null or an event struct (caller's promise).
        let (l, owned) = unsafe { lookup(ev) };
        match l {
            Lookup::Foreign => return,
            // SAFETY: a live base.
            Lookup::Live(b, h) => unsafe {
                drop(h.free(rust(b)));
                forget(b, h);
            },
            Lookup::Gone | Lookup::NoEvent => {}
        }
        // SAFETY: an assigned struct; owned ones came from `mem::malloc`.
        unsafe {
            (*ev).private.seal = 0;
            if owned {
                mem::free(ev.cast());
            }
        }
    })
}

/// `event_add` (the timeval may be a common timeout, decoded by value).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_add(ev: *mut CEvent, tv: *const timeval) -> c_int {
    ffi(-1, || {
        // SAFETY: null or an event struct.
        let Lookup::Live(b, h) = (unsafe { lookup(ev) }).0 else {
            return -1;
        };
        // SAFETY: `b` is live; `tv` null or valid.
        let base = unsafe { rust(b) };
        status(match unsafe { base::timeout(b, tv) } {
            Timeout::None => h.add(base, None),
            Timeout::After(d) => h.add(base, Some(d)),
            Timeout::Common(ct) => h.add_common(base, ct),
            Timeout::Bad => return -1,
        })
    })
}

/// `event_del`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_del(ev: *mut CEvent) -> c_int {
    ffi(-1, || {
        // SAFETY: null or an event struct.
        match unsafe { lookup(ev) }.0 {
            // SAFETY: a live base; `ev` is assigned.
            Lookup::Live(b, h) => unsafe {
                not_later(b, h);
                (*ev).evcb_flags &= !(EVLIST_ACTIVE | EVLIST_ACTIVE_LATER);
                status(h.del(rust(b)))
            },
            Lookup::Foreign => -1,
            Lookup::Gone | Lookup::NoEvent => 0,
        }
    })
}

/// `event_del_block`: the same (no other thread runs callbacks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_del_block(ev: *mut CEvent) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { event_del(ev) }
}

/// `event_del_noblock`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_del_noblock(ev: *mut CEvent) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { event_del(ev) }
}

/// `event_remove_timer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_remove_timer(ev: *mut CEvent) -> c_int {
    ffi(-1, || match unsafe { lookup(ev) }.0 {
        // SAFETY: a live base.
        Lookup::Live(b, h) => status(h.remove_timer(unsafe { rust(b) })),
        _ => -1,
    })
}

/// `event_active` (`ncalls` is obsolete, as in libevent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_active(ev: *mut CEvent, res: c_int, _ncalls: c_short) {
    ffi((), || {
        // SAFETY: null or an event struct.
        if let Lookup::Live(b, h) = unsafe { lookup(ev) }.0 {
            // SAFETY: a live base; `ev` is assigned.
            unsafe {
                not_later(b, h);
                if h.active(rust(b), Ev::from_bits_retain(res as u16 & 0xff))
                    .is_ok()
                {
                    (*ev).evcb_flags = ((*ev).evcb_flags & !EVLIST_ACTIVE_LATER) | EVLIST_ACTIVE;
                }
            }
        }
    })
}

/// Drops `h` from the base's map of C structs and its active-later set.
///
/// # Safety
/// `b` is live.
unsafe fn forget(b: *mut CBase, h: Event) {
    // SAFETY: the shim's own fields of a live base.
    unsafe {
        (*b).structs.remove(&h);
        not_later(b, h);
    }
}

/// Takes `h` out of the active-later set.
///
/// # Safety
/// `b` is live.
#[inline]
unsafe fn not_later(b: *mut CBase, h: Event) {
    // SAFETY: the shim's own field of a live base.
    let later = unsafe { &mut (*b).later };
    if !later.is_empty() {
        later.remove(&h);
    }
}

/// The `once` timeout that stands for "the next iteration": a zero one
/// would run at once, a nanosecond expires after the next poll (rvent has
/// no public "next iteration" queue; its deferred queue is crate-private —
/// an API change the README lists). When nothing else is ready, the poll
/// may then wait up to its timer granularity.
const LATER: std::time::Duration = std::time::Duration::from_nanos(1);

/// `event_active_later_` (libevent-internal, exported; its regression
/// tests and bufferevents use it): the event becomes active at the start
/// of the next loop iteration, after the next poll, so an event that
/// re-activates itself this way does not starve I/O. One
/// `once` per iteration moves every such event to active; it touches only
/// rvent handles, never a C struct (which may be gone after `event_del`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_active_later_(ev: *mut CEvent, res: c_int) {
    ffi((), || {
        // SAFETY: null or an event struct.
        let Lookup::Live(b, h) = (unsafe { lookup(ev) }).0 else {
            return;
        };
        // SAFETY: an assigned struct of a live base; the shim's fields.
        unsafe {
            if (*ev).evcb_flags & (EVLIST_ACTIVE | EVLIST_ACTIVE_LATER) != 0 {
                return;
            }
            let cb = &mut *b;
            if cb.later.try_reserve(1).is_err() {
                return;
            }
            if !cb.later_scheduled {
                let run = move |base: &mut EventBase, _fd: RawFd, _what: Ev| {
                    // SAFETY: runs inside `b`'s loop; the shim's fields.
                    let cb = &mut *b;
                    cb.later_scheduled = false;
                    for (h, res) in cb.later.drain() {
                        let _ = h.active(base, res);
                    }
                };
                if rust(b).once(None, Ev::TIMEOUT, Some(LATER), run).is_err() {
                    return;
                }
                cb.later_scheduled = true;
            }
            cb.later.insert(h, Ev::from_bits_retain(res as u16 & 0xff));
            (*ev).evcb_flags |= EVLIST_ACTIVE_LATER;
        }
    })
}

/// `event_pending`: the flags of `events` the event is pending or active
/// on; `tv` gets the expiry in `gettimeofday` time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_pending(
    ev: *const CEvent,
    events: c_short,
    tv: *mut timeval,
) -> c_int {
    ffi(0, || {
        // SAFETY: null or an event struct.
        let Lookup::Live(b, h) = (unsafe { lookup(ev) }).0 else {
            return 0;
        };
        // SAFETY: a live base.
        let Ok((flags, expires)) =
            h.pending(unsafe { rust(b) }, Ev::from_bits_retain(events as u16))
        else {
            return 0;
        };
        if let Some(at) = expires {
            let now = Instant::now();
            let wall = SystemTime::now();
            let t = match at.checked_duration_since(now) {
                Some(d) => wall + d,
                None => wall - now.duration_since(at),
            };
            base::write_timeval(tv, t);
        }
        c_int::from(flags.bits())
    })
}

/// `event_initialized`: whether the struct carries this library's seal.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_initialized(ev: *const CEvent) -> c_int {
    // SAFETY: null or an event struct.
    c_int::from(!matches!(unsafe { lookup(ev) }.0, Lookup::Foreign))
}

/// `event_priority_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_priority_set(ev: *mut CEvent, pri: c_int) -> c_int {
    ffi(-1, || {
        // SAFETY: null or an event struct.
        let Lookup::Live(b, h) = (unsafe { lookup(ev) }).0 else {
            return -1;
        };
        let Ok(p) = usize::try_from(pri) else {
            return -1;
        };
        // SAFETY: a live base; `ev` is assigned.
        match h.set_priority(unsafe { rust(b) }, p) {
            Ok(()) => {
                unsafe { (*ev).evcb_pri = p as u8 };
                0
            }
            Err(_) => -1,
        }
    })
}

/// `event_get_priority`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_priority(ev: *const CEvent) -> c_int {
    // SAFETY: an event struct (caller's promise).
    unsafe { ev.as_ref() }.map_or(-1, |e| c_int::from(e.evcb_pri))
}

/// `event_get_fd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_fd(ev: *const CEvent) -> EvutilSocket {
    // SAFETY: an event struct.
    unsafe { ev.as_ref() }.map_or(-1, |e| e.ev_fd)
}

/// `event_get_signal` is a macro over `event_get_fd`; `event_get_base`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_base(ev: *const CEvent) -> *mut c_void {
    // SAFETY: an event struct.
    unsafe { ev.as_ref() }.map_or(ptr::null_mut(), |e| e.ev_base)
}

/// `event_get_events`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_events(ev: *const CEvent) -> c_short {
    // SAFETY: an event struct.
    unsafe { ev.as_ref() }.map_or(0, |e| e.ev_events)
}

/// `event_get_callback`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_callback(ev: *const CEvent) -> Option<EventCallbackFn> {
    // SAFETY: an event struct.
    unsafe { ev.as_ref() }.and_then(|e| e.evcb_cb)
}

/// `event_get_callback_arg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_callback_arg(ev: *const CEvent) -> *mut c_void {
    // SAFETY: an event struct.
    unsafe { ev.as_ref() }.map_or(ptr::null_mut(), |e| e.evcb_arg)
}

/// `event_get_assignment`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_get_assignment(
    ev: *const CEvent,
    base_out: *mut *mut c_void,
    fd_out: *mut EvutilSocket,
    events_out: *mut c_short,
    cb_out: *mut Option<EventCallbackFn>,
    arg_out: *mut *mut c_void,
) {
    // SAFETY: an event struct and null-or-valid out-parameters.
    let Some(e) = (unsafe { ev.as_ref() }) else {
        return;
    };
    if let Some(o) = base::unsafe_mut(base_out) {
        *o = e.ev_base;
    }
    if let Some(o) = base::unsafe_mut(fd_out) {
        *o = e.ev_fd;
    }
    if let Some(o) = base::unsafe_mut(events_out) {
        *o = e.ev_events;
    }
    if let Some(o) = base::unsafe_mut(cb_out) {
        *o = e.evcb_cb;
    }
    if let Some(o) = base::unsafe_mut(arg_out) {
        *o = e.evcb_arg;
    }
}

/// `event_get_struct_event_size`.
#[unsafe(no_mangle)]
pub extern "C" fn event_get_struct_event_size() -> usize {
    size_of::<CEvent>()
}

/// `event_self_cbarg`: pass it as `arg` to get the event itself.
#[unsafe(no_mangle)]
pub extern "C" fn event_self_cbarg() -> *mut c_void {
    ptr::addr_of!(SELF_CBARG).cast_mut().cast()
}

/// `event_base_once`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_once(
    b: *mut CBase,
    fd: EvutilSocket,
    events: c_short,
    cb: Option<EventCallbackFn>,
    arg: *mut c_void,
    tv: *const timeval,
) -> c_int {
    ffi(-1, || {
        if b.is_null() {
            return -1;
        }
        let what = Ev::from_bits_retain(events as u16 & 0xff);
        let fd_arg = if fd < 0 { None } else { Some(fd) };
        // SAFETY: a live base; `tv` null or valid.
        let (base, timeout) = unsafe { (rust(b), tv.as_ref().map(base::duration)) };
        let closure = move |base: &mut EventBase, fd: RawFd, what: Ev| {
            // SAFETY: runs inside `b`'s loop.
            unsafe { fire(b, base, ptr::null_mut(), cb, arg, fd, what) }
        };
        status(base.once(fd_arg, what, timeout, closure))
    })
}

/// `event_callback_finalize_fn` for events.
type FinalizeFn = unsafe extern "C" fn(*mut CEvent, *mut c_void);

/// `event_finalize` / `event_free_finalize`'s work.
unsafe fn finalize(ev: *mut CEvent, cb: Option<FinalizeFn>, free: bool) -> c_int {
    // SAFETY: null or an event struct.
    let (Lookup::Live(b, h), owned) = (unsafe { lookup(ev) }) else {
        return -1;
    };
    // SAFETY: an assigned struct.
    let arg = unsafe { (*ev).evcb_arg };
    let fin = move |base: &mut EventBase, _h: Event| {
        // SAFETY: runs inside `b`'s loop; `ev` stays allocated until here.
        unsafe {
            if let Some(cb) = cb {
                with_callback_base(b, base, ptr::null_mut(), || cb(ev, arg));
            }
            if free {
                (*ev).private.seal = 0;
                if owned {
                    mem::free(ev.cast());
                }
            }
        }
    };
    // SAFETY: a live base.
    let base = unsafe { rust(b) };
    status(if free {
        h.free_finalize(base, fin)
    } else {
        h.finalize(base, fin)
    })
}

/// `event_finalize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_finalize(
    _flags: u32,
    ev: *mut CEvent,
    cb: Option<FinalizeFn>,
) -> c_int {
    // SAFETY: forwarded contract.
    ffi(-1, || unsafe { finalize(ev, cb, false) })
}

/// `event_free_finalize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_free_finalize(
    _flags: u32,
    ev: *mut CEvent,
    cb: Option<FinalizeFn>,
) -> c_int {
    // SAFETY: forwarded contract.
    ffi(-1, || unsafe { finalize(ev, cb, true) })
}

/// `event_base_active_by_fd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_active_by_fd(b: *mut CBase, fd: EvutilSocket, events: c_short) {
    if !b.is_null() {
        // SAFETY: a live base.
        ffi((), || {
            unsafe { rust(b) }.active_by_fd(fd, Ev::from_bits_retain(events as u16 & 0xff))
        })
    }
}

/// `event_base_active_by_signal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_active_by_signal(b: *mut CBase, sig: c_int) {
    if !b.is_null() {
        // SAFETY: a live base.
        ffi((), || unsafe { rust(b) }.active_by_signal(sig))
    }
}
