//! The old, base-less API (event_compat.h): `event_init` makes the
//! current base, and `event_dispatch`, `event_set`, `event_loopexit` …
//! use it. libevent keeps it in the data symbol
//! `event_global_current_base_`; a program that references that symbol
//! gets its own copy (a copy relocation), so the library keeps the pointer
//! here and mirrors it there.

use std::ffi::{c_char, c_int, c_short, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use libc::timeval;

use crate::abi::{CEvent, EventCallbackFn, EvutilSocket};
use crate::base::{self, CBase};
use crate::event::{self, Lookup};
use crate::ffi;

static CURRENT: AtomicPtr<CBase> = AtomicPtr::new(ptr::null_mut());

/// The current base (null before `event_init`).
pub(crate) fn current() -> *mut CBase {
    CURRENT.load(Ordering::Acquire)
}

/// Sets the current base.
pub(crate) fn set_current(b: *mut CBase) {
    CURRENT.store(b, Ordering::Release);
    crate::data::set_current_base(b.cast());
}

/// `event_init`: a new base that becomes the current one.
#[unsafe(no_mangle)]
pub extern "C" fn event_init() -> *mut CBase {
    let b = base::event_base_new();
    if !b.is_null() {
        set_current(b);
    }
    b
}

/// `event_dispatch`.
#[unsafe(no_mangle)]
pub extern "C" fn event_dispatch() -> c_int {
    // SAFETY: the current base is live or null.
    unsafe { base::event_base_dispatch(current()) }
}

/// `event_loop`.
#[unsafe(no_mangle)]
pub extern "C" fn event_loop(flags: c_int) -> c_int {
    // SAFETY: as above.
    unsafe { base::event_base_loop(current(), flags) }
}

/// `event_loopexit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_loopexit(tv: *const timeval) -> c_int {
    // SAFETY: as above; `tv` null or valid.
    unsafe { base::event_base_loopexit(current(), tv) }
}

/// `event_loopbreak`.
#[unsafe(no_mangle)]
pub extern "C" fn event_loopbreak() -> c_int {
    // SAFETY: as above.
    unsafe { base::event_base_loopbreak(current()) }
}

/// `event_set`: `event_assign` on the current base.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_set(
    ev: *mut CEvent,
    fd: EvutilSocket,
    events: c_short,
    cb: Option<EventCallbackFn>,
    arg: *mut c_void,
) {
    // SAFETY: forwarded contract.
    ffi((), || unsafe {
        event::assign(ev, current(), fd, events, cb, arg, false);
    })
}

/// `event_base_set`: moves a non-pending event to `b`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_set(b: *mut CBase, ev: *mut CEvent) -> c_int {
    ffi(-1, || {
        // SAFETY: an event struct.
        let (l, owned) = unsafe { event::lookup(ev) };
        if matches!(l, Lookup::Foreign) || b.is_null() {
            return -1;
        }
        // SAFETY: an assigned struct: its public fields are ours.
        unsafe {
            let e = &*ev;
            let (fd, events, cb, arg) = (e.ev_fd, e.ev_events, e.evcb_cb, e.evcb_arg);
            event::assign(ev, b, fd, events, cb, arg, owned)
        }
    })
}

/// `event_once`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_once(
    fd: EvutilSocket,
    events: c_short,
    cb: Option<EventCallbackFn>,
    arg: *mut c_void,
    tv: *const timeval,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { event::event_base_once(current(), fd, events, cb, arg, tv) }
}

/// `event_priority_init`.
#[unsafe(no_mangle)]
pub extern "C" fn event_priority_init(n: c_int) -> c_int {
    // SAFETY: the current base is live or null.
    unsafe { base::event_base_priority_init(current(), n) }
}

/// `event_get_method`.
#[unsafe(no_mangle)]
pub extern "C" fn event_get_method() -> *const c_char {
    // SAFETY: takes no pointer it reads.
    unsafe { base::event_base_get_method(current()) }
}
