//! libevent's deferred callbacks on a bare `struct event_callback`
//! (`event_deferred_cb_init_`, `event_deferred_cb_schedule_`,
//! `event_callback_activate_`, `event_callback_finalize_`, …): internal
//! in libevent (defer-internal.h, event-internal.h) but exported, and
//! called by its regression tests. Here each callback struct gets an
//! rvent timer event, made at its first activation and kept in the
//! struct's list-link words (which libevent keeps private), activated
//! with `TIMEOUT` each time it is scheduled and freed by finalizing.

use std::ffi::{c_int, c_short, c_void};
use std::mem::MaybeUninit;
use std::ptr;

use rvent::{Ev, Event, EventBase};

use crate::base::{CBase, rust, with_callback_base};
use crate::{ffi, status};

/// `deferred_cb_fn` / the finalizer: `(evcb, arg)`.
pub type DeferredFn = unsafe extern "C" fn(*mut CEventCallback, *mut c_void);

/// "The first words hold a live rvent event" (a struct that was only
/// initialised has zeroes there).
const HAS_EVENT: u32 = 0x7276_6463;

/// `struct event_callback` (40 bytes), caller memory.
#[repr(C)]
pub struct CEventCallback {
    /// The rvent event (libevent's `evcb_active_next`), valid when `mark`
    /// is [`HAS_EVENT`].
    ev: MaybeUninit<Event>,
    mark: u32,
    /// `evcb_flags`.
    flags: c_short,
    /// `evcb_pri`.
    pri: u8,
    /// `evcb_closure`.
    closure: u8,
    cb: Option<DeferredFn>,
    arg: *mut c_void,
}

const _: () = assert!(size_of::<Event>() <= 12 && align_of::<Event>() <= 4);
const _: () = assert!(size_of::<CEventCallback>() == 40);
const _: () = assert!(std::mem::offset_of!(CEventCallback, flags) == 16);
const _: () = assert!(std::mem::offset_of!(CEventCallback, cb) == 24);

/// `EVLIST_INIT`.
const EVLIST_INIT: c_short = 0x80;
/// `EV_CLOSURE_CB_SELF`.
const EV_CLOSURE_CB_SELF: u8 = 5;

/// `event_deferred_cb_init_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_deferred_cb_init_(
    evcb: *mut CEventCallback,
    pri: u8,
    cb: Option<DeferredFn>,
    arg: *mut c_void,
) {
    if evcb.is_null() {
        return;
    }
    // SAFETY: 40 writable bytes (caller).
    unsafe {
        evcb.write(CEventCallback {
            ev: MaybeUninit::zeroed(),
            mark: 0,
            flags: EVLIST_INIT,
            pri,
            closure: EV_CLOSURE_CB_SELF,
            cb,
            arg,
        })
    };
}

/// `event_deferred_cb_set_priority_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_deferred_cb_set_priority_(evcb: *mut CEventCallback, pri: u8) {
    // SAFETY: null or an initialised struct.
    if let Some(e) = unsafe { evcb.as_mut() } {
        e.pri = pri;
    }
}

/// The struct's rvent event, made on first use.
///
/// # Safety
/// `b` is live; `evcb` an initialised struct that stays put while the
/// event exists.
unsafe fn event_of(b: *mut CBase, evcb: *mut CEventCallback) -> Option<Event> {
    // SAFETY: caller's promise.
    unsafe {
        if (*evcb).mark == HAS_EVENT {
            return Some((*evcb).ev.assume_init());
        }
        let ev = Event::timer(rust(b), move |base: &mut EventBase, _, _, _| {
            // SAFETY: the struct outlives its event (caller's promise).
            let (cb, arg) = ((*evcb).cb, (*evcb).arg);
            if let Some(cb) = cb {
                with_callback_base(b, base, ptr::null_mut(), || cb(evcb, arg));
            }
        })
        .ok()?;
        (*evcb).ev = MaybeUninit::new(ev);
        (*evcb).mark = HAS_EVENT;
        Some(ev)
    }
}

/// `event_callback_activate_`: runs the callback from the loop.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_callback_activate_(
    b: *mut CBase,
    evcb: *mut CEventCallback,
) -> c_int {
    ffi(-1, || {
        if b.is_null() || evcb.is_null() {
            return -1;
        }
        // SAFETY: a live base; an initialised struct.
        unsafe {
            match event_of(b, evcb) {
                Some(ev) => status(ev.active(rust(b), Ev::TIMEOUT)),
                None => -1,
            }
        }
    })
}

/// `event_deferred_cb_schedule_`: 1 when scheduled.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_deferred_cb_schedule_(
    b: *mut CBase,
    evcb: *mut CEventCallback,
) -> c_int {
    // SAFETY: forwarded contract.
    let b = crate::bufferevent::base_or_current(b);
    i32::from(unsafe { event_callback_activate_(b, evcb) } == 0)
}

/// `event_deferred_cb_cancel_`: an activation not yet run is dropped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_deferred_cb_cancel_(b: *mut CBase, evcb: *mut CEventCallback) {
    ffi((), || {
        // SAFETY: a live base; null or an initialised struct.
        unsafe {
            if !b.is_null()
                && let Some(e) = evcb.as_mut()
                && e.mark == HAS_EVENT
            {
                let _ = e.ev.assume_init().free(rust(b));
                e.mark = 0;
            }
        }
    })
}

/// `event_callback_finalize_`: a pending activation is dropped and `fin`
/// runs from the loop instead.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_callback_finalize_(
    b: *mut CBase,
    _flags: u32,
    evcb: *mut CEventCallback,
    fin: Option<DeferredFn>,
) {
    ffi((), || {
        if b.is_null() || evcb.is_null() {
            return;
        }
        // SAFETY: a live base; an initialised struct, which the caller
        // keeps until `fin` has run.
        unsafe {
            let arg = (*evcb).arg;
            let run = move |base: &mut EventBase| {
                if let Some(fin) = fin {
                    with_callback_base(b, base, ptr::null_mut(), || fin(evcb, arg));
                }
            };
            let base = rust(b);
            if (*evcb).mark == HAS_EVENT {
                (*evcb).mark = 0;
                let _ = (*evcb)
                    .ev
                    .assume_init()
                    .free_finalize(base, move |base: &mut EventBase, _| run(base));
            } else {
                let _ = base.once(
                    None,
                    Ev::TIMEOUT,
                    None,
                    move |base: &mut EventBase, _, _| run(base),
                );
            }
        }
    })
}
