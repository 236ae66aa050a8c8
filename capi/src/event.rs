//! `struct event`: `event_new` / `event_assign` on caller memory, add, del,
//! activate, pending, priorities, the getters, `event_base_once`, finalize.
//!
//! rvent keeps the event; the C struct carries its handle in the private
//! `ev_` words with a seal (`SEAL ^` the struct's address), so a struct
//! that is stack garbage, zeroed, or a `memcpy` of another is recognised as
//! not (yet) assigned instead of being trusted. The public fields are
//! filled as libevent fills them, for code that reads them directly.
//!
//! An rvent event stands for a struct only while libevent would hold the
//! struct — added, active, or (`event_new`) until `event_free`:
//! `event_assign` only fills the struct (*detached*), `event_add` /
//! `event_active` make the rvent event from its fields (*attach*), and
//! `event_del`, or the firing of a non-persistent event, free it again
//! for a caller's struct. A program may free or reuse its struct then,
//! without telling anyone (libevent's contract), and no slot stays behind
//! for it. This also gives libevent's order of checks: a negative fd or
//! a bad signal number is accepted at `event_assign` and refused at
//! `event_add`, where rvent's `Event::new` validates it.

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
use crate::base::{self, CBase, OwnFields, Timeout, rust, with_callback_base};
use crate::mem;
use crate::{ffi, status};

/// The seal's constant part ("rventEv1").
const SEAL: usize = 0x7276_656e_7445_7631;
/// The struct came from `event_new`: `event_free` releases it.
const OWNED: u64 = 1 << 63;
/// Assigned, with no rvent event now: the public fields say everything.
const DETACHED: u64 = 1 << 62;
const SERIAL: u64 = DETACHED - 1;

/// What a `struct event *` is to the shim.
pub(crate) enum Lookup {
    /// Not assigned by this library (or copied, zeroed, freed).
    Foreign,
    /// Assigned, but its base was freed since.
    Gone,
    /// Assigned to a live base, with no rvent event now (see the module
    /// docs).
    Detached(*mut CBase),
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
    if p.serial & DETACHED != 0 {
        return (Lookup::Detached(b), owned);
    }
    (Lookup::Live(b, p.handle), owned)
}

/// The marker `event_self_cbarg` returns.
static SELF_CBARG: u8 = 0;

/// A C callback and its argument.
type CCallback = (Option<EventCallbackFn>, *mut c_void);

/// Whether two callbacks are the same function with the same argument.
fn same_call(a: CCallback, b: CCallback) -> bool {
    a.0.map(|f| f as usize) == b.0.map(|f| f as usize) && ptr::eq(a.1, b.1)
}

/// Fires a C event callback from rvent's closure: `h` is the struct
/// `ev`'s event (both absent for `event_base_once`).
///
/// # Safety
/// `b` is the live base whose `EventBase` is `base`.
#[inline(always)]
unsafe fn fire(
    b: *mut CBase,
    base: &mut EventBase,
    (ev, h): (*mut CEvent, Option<Event>),
    (cb, arg): CCallback,
    fd: RawFd,
    what: Ev,
) {
    if !ev.is_null() {
        // SAFETY: the event of a running callback is live (libevent's
        // contract: added or active events are not freed).
        unsafe {
            (*ev).evcb_flags &= !(EVLIST_ACTIVE | EVLIST_ACTIVE_LATER);
            // A caller's struct whose event is done (not persistent, not
            // re-added yet): the callback may free it, so the rvent event
            // goes now, while the struct is known to be there.
            if let Some(h) = h
                && (*ev).private.serial & OWNED == 0
                && h.pending(base, Ev::all()).is_ok_and(|(p, _)| p.is_empty())
            {
                detach(b, base, h, ev);
            }
        }
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
    let what = Ev::from_bits_retain(events as u16 & 0xff);
    if what.contains(Ev::SIGNAL) && what.intersects(Ev::READ | Ev::WRITE | Ev::CLOSED) {
        // libevent's `event_assign` refuses this one at once.
        return -1;
    }
    // SAFETY: `ev` points to 128 bytes (caller).
    match unsafe { lookup(ev) }.0 {
        Lookup::Live(old, h) => {
            // SAFETY: `old` is live (looked up just now).
            let old_base = unsafe { rust(old) };
            if h.pending(old_base, Ev::all())
                .is_ok_and(|(p, _)| !p.is_empty())
            {
                // libevent's debug mode stops here; without it the
                // struct would be corrupted.
                return -1;
            }
            // SAFETY: as above; `ev` is the struct of `h`.
            unsafe { detach(old, old_base, h, ev) };
        }
        Lookup::Foreign | Lookup::Gone | Lookup::Detached(_) => {}
    }
    // SAFETY: `b` is live.
    let serial = unsafe { (*b).serial } | DETACHED | if owned { OWNED } else { 0 };
    // SAFETY: `b` is live (caller).
    let pri = unsafe { rust(b) }.npriorities() / 2;
    // SAFETY: 128 writable bytes (caller). The handle and record words
    // stay (any bits): they name the struct's former event, which `attach`
    // takes back only after checking them against the record.
    unsafe {
        let (handle, rec) = ((*ev).private.handle, (*ev).private.rec);
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
                rec,
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

/// The base's record of an rvent event made through this library: the
/// struct it stands for, or last stood for while spare. A struct finds its
/// record by number (`EventPrivate::rec`) with no lookup, so deleting and
/// adding again touches only the struct, the record and rvent's slot.
pub(crate) struct EventRec {
    /// The C struct.
    pub(crate) ev: *mut CEvent,
    /// The callback and argument the event's closure calls.
    call: CCallback,
    /// The event; `None` once freed (the record is then on the free list).
    h: Option<Event>,
    /// Detached: neither added nor active, free for any struct.
    spare: bool,
    /// On the spare list (which a struct taking back its own former event
    /// leaves lazily).
    listed: bool,
}

/// What an event is made for: rvent's fd and flags, the struct and its
/// callback.
#[derive(Clone, Copy)]
struct Place {
    fd: Option<RawFd>,
    what: Ev,
    ev: *mut CEvent,
    call: CCallback,
}

/// A base's event records.
pub(crate) type Recs = allocator_api2::vec::Vec<EventRec, rvent::RventAlloc>;

/// Makes the rvent event of a detached struct from its public fields
/// (`event_add`, `event_active` …); `None` if rvent refuses them (a
/// negative signal number, `EV_SIGNAL` with I/O flags: libevent's
/// `event_add` failures) or is out of memory.
///
/// The struct's own former event is taken back when it is still spare,
/// unchanged if the struct is (the common delete-and-add, or a timeout
/// added again after it fired): no allocation, no map change. Else a spare
/// is reassigned, else a new event is made.
///
/// # Safety
/// `ev` is an assigned, detached struct of the live base `b`.
unsafe fn attach(b: *mut CBase, ev: *mut CEvent) -> Option<Event> {
    // SAFETY: an assigned struct (caller): its public fields are ours.
    let (fd, events, pri, former, rec, call) = unsafe {
        let e = &*ev;
        let call = (e.evcb_cb, e.evcb_arg);
        (
            e.ev_fd,
            e.ev_events,
            e.evcb_pri,
            e.private.handle,
            e.private.rec,
            call,
        )
    };
    let mut what = Ev::from_bits_retain(events as u16 & 0xff);
    let io = Ev::READ | Ev::WRITE | Ev::CLOSED;
    // libevent inserts an I/O event on a negative fd without watching
    // anything (it only counts as added); rvent gets a timer for it. A
    // negative signal number fails here, as in libevent.
    let fd_arg = if fd < 0 && !what.contains(Ev::SIGNAL) {
        what = Ev::from_bits_retain(what.bits() & !io.bits());
        None
    } else {
        Some(fd)
    };
    // SAFETY: `b` is live (caller); the shim's own fields, beside the
    // rvent base.
    let (base, cb) = unsafe { (rust(b), &mut *ptr::addr_of_mut!((*b).own)) };
    // The struct's own former event, still spare?
    let mine = cb
        .recs
        .get_mut(rec as usize)
        .filter(|r| r.spare && r.h == Some(former) && ptr::eq(r.ev, ev));
    let taken = if let Some(r) = mine {
        r.spare = false;
        if same_call(r.call, call)
            && let Ok(a) = former.assignment(base)
            && a.fd == fd_arg
            && a.events == what
            && a.priority == usize::from(pri)
        {
            // SAFETY: an assigned struct (caller).
            unsafe { (*ev).private.serial &= !DETACHED };
            return Some(former);
        }
        Some((rec, former))
    } else {
        cb.take_spare()
    };
    // `event_new`'s structs stay attached until `event_free`; a caller's
    // struct detaches when its event is done (see `fire`).
    // SAFETY: an assigned struct (caller).
    let owned = unsafe { (*ev).private.serial } & OWNED != 0;
    let place = Place {
        fd: fd_arg,
        what,
        ev,
        call,
    };
    let (rec, h) = if owned {
        cb.place(
            base,
            taken,
            place,
            move |base: &mut EventBase, _h, fd, what| {
                // SAFETY: rvent runs this closure inside `b`'s loop.
                unsafe { fire(b, base, (ev, None), call, fd, what) }
            },
        )?
    } else {
        cb.place(
            base,
            taken,
            place,
            move |base: &mut EventBase, h, fd, what| {
                // SAFETY: rvent runs this closure inside `b`'s loop.
                unsafe { fire(b, base, (ev, Some(h)), call, fd, what) }
            },
        )?
    };
    if usize::from(pri) != h.priority(base).unwrap_or(0)
        && h.set_priority(base, pri.into()).is_err()
    {
        cb.free_rec(base, rec);
        return None;
    }
    // SAFETY: an assigned struct (caller).
    unsafe {
        (*ev).private.handle = h;
        (*ev).private.rec = rec;
        (*ev).private.serial &= !DETACHED;
    }
    Some(h)
}

impl OwnFields {
    /// Gives the struct of `place` an event: `taken` (a spare, or the
    /// struct's own former event) reassigned, or a new one. A spare is
    /// neither added nor active, so `assign` takes it — unless rvent freed
    /// it meanwhile (a finalizer's event): then its record goes and the
    /// next spare is tried.
    fn place<F>(
        &mut self,
        base: &mut EventBase,
        mut taken: Option<(u32, Event)>,
        place: Place,
        closure: F,
    ) -> Option<(u32, Event)>
    where
        F: FnMut(&mut EventBase, Event, RawFd, Ev) + Copy + 'static,
    {
        loop {
            let Some((rec, h)) = taken else {
                let h = Event::new(base, place.fd, place.what, closure).ok()?;
                let Some(rec) = self.new_rec(h, place.ev, place.call) else {
                    let _ = h.free(base);
                    return None;
                };
                return Some((rec, h));
            };
            match h.assign(base, place.fd, place.what, closure) {
                Ok(()) => {
                    let r = &mut self.recs[rec as usize];
                    (r.ev, r.call) = (place.ev, place.call);
                    return Some((rec, h));
                }
                Err(Error::StaleEvent) => {
                    self.free_rec(base, rec);
                    taken = self.take_spare();
                }
                Err(_) => {
                    // Refused arguments (or no memory): still a spare.
                    self.spare_again(base, rec);
                    return None;
                }
            }
        }
    }

    /// A record for the new event `h` of `ev`, and its map entry.
    fn new_rec(&mut self, h: Event, ev: *mut CEvent, call: CCallback) -> Option<u32> {
        if self.structs.try_reserve(1).is_err() {
            return None;
        }
        let entry = EventRec {
            ev,
            call,
            h: Some(h),
            spare: false,
            listed: false,
        };
        let rec = match self.free_recs.pop() {
            Some(rec) => {
                self.recs[rec as usize] = entry;
                rec
            }
            None => {
                let rec = u32::try_from(self.recs.len()).ok()?;
                self.recs.try_reserve(1).ok()?;
                self.recs.push(entry);
                rec
            }
        };
        self.structs.insert(h, rec);
        Some(rec)
    }

    /// Frees record `rec`'s event and puts the record on the free list
    /// (if that list cannot grow, the record is left unused).
    fn free_rec(&mut self, base: &mut EventBase, rec: u32) {
        if let Some(h) = self.recs.get(rec as usize).and_then(|r| r.h) {
            let _ = h.free(base);
            self.structs.remove(&h);
        }
        self.retire(rec);
    }

    /// Record `rec`, whose event is gone, onto the free list (if that list
    /// cannot grow, the record is left unused).
    fn retire(&mut self, rec: u32) {
        let Some(r) = self.recs.get_mut(rec as usize) else {
            return;
        };
        (r.h, r.spare) = (None, false);
        if self.free_recs.try_reserve(1).is_ok() {
            self.free_recs.push(rec);
        }
    }

    /// Pops a spare off the list (skipping records their own struct took
    /// back since, and freed ones), marked taken.
    fn take_spare(&mut self) -> Option<(u32, Event)> {
        while let Some(rec) = self.spare.pop() {
            let r = &mut self.recs[rec as usize];
            r.listed = false;
            if r.spare
                && let Some(h) = r.h
            {
                r.spare = false;
                return Some((rec, h));
            }
        }
        None
    }

    /// Marks record `rec` spare and lists it (once); frees its event if
    /// the list cannot grow.
    fn spare_again(&mut self, base: &mut EventBase, rec: u32) {
        let Some(r) = self.recs.get_mut(rec as usize) else {
            return;
        };
        r.spare = true;
        if r.listed {
            return;
        }
        if self.spare.try_reserve(1).is_err() {
            self.free_rec(base, rec);
            return;
        }
        r.listed = true;
        self.spare.push(rec);
    }
}

/// The struct's rvent event, made if it is detached.
///
/// # Safety
/// `ev` is null or an event struct.
unsafe fn attached(ev: *mut CEvent) -> Option<(*mut CBase, Event)> {
    // SAFETY: forwarded contract.
    match unsafe { lookup(ev) }.0 {
        Lookup::Live(b, h) => Some((b, h)),
        // SAFETY: a detached struct of a live base.
        Lookup::Detached(b) => unsafe { attach(b, ev) }.map(|h| (b, h)),
        Lookup::Foreign | Lookup::Gone => None,
    }
}

/// Lets go of the rvent event `h` of the struct `ev` (neither added nor
/// active) and marks the struct detached. The event becomes a spare for
/// the next attach (even while its callback runs: rvent drops the running
/// closure of an event reassigned under it), or is freed if the spare list
/// cannot grow. The spares never outnumber the most events attached at
/// once.
///
/// # Safety
/// `b` is live and `base` its `EventBase`; `ev` is `h`'s struct.
unsafe fn detach(b: *mut CBase, base: &mut EventBase, h: Event, ev: *mut CEvent) {
    // SAFETY: forwarded contract; the shim's own fields.
    unsafe {
        not_later(b, h);
        let cb = &mut *ptr::addr_of_mut!((*b).own);
        let rec = (*ev).private.rec;
        if cb.recs.get(rec as usize).is_some_and(|r| r.h == Some(h)) {
            cb.spare_again(base, rec);
        } else if let Some(&rec) = cb.structs.get(&h) {
            cb.spare_again(base, rec);
        } else {
            let _ = h.free(base);
        }
        (*ev).private.serial |= DETACHED;
    }
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
            Lookup::Gone | Lookup::Detached(_) => {}
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
        let Some((b, h)) = (unsafe { attached(ev) }) else {
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
            // A caller's struct detaches: the caller may free it now.
            Lookup::Live(b, h) => unsafe {
                not_later(b, h);
                (*ev).evcb_flags &= !(EVLIST_ACTIVE | EVLIST_ACTIVE_LATER);
                let base = rust(b);
                let r = status(h.del(base));
                if r == 0 && (*ev).private.serial & OWNED == 0 {
                    detach(b, base, h, ev);
                }
                r
            },
            Lookup::Foreign => -1,
            Lookup::Gone | Lookup::Detached(_) => 0,
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
        Lookup::Detached(_) => 0,
        Lookup::Foreign | Lookup::Gone => -1,
    })
}

/// `event_active` (`ncalls` is obsolete, as in libevent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_active(ev: *mut CEvent, res: c_int, _ncalls: c_short) {
    ffi((), || {
        // SAFETY: null or an event struct.
        if let Some((b, h)) = unsafe { attached(ev) } {
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
        let own = &mut *ptr::addr_of_mut!((*b).own);
        if let Some(rec) = own.structs.remove(&h) {
            own.retire(rec);
        }
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
        let Some((b, h)) = (unsafe { attached(ev) }) else {
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
        let Ok(p) = usize::try_from(pri) else {
            return -1;
        };
        // SAFETY: null or an event struct.
        let (b, h) = match unsafe { lookup(ev) }.0 {
            Lookup::Live(b, h) => (b, h),
            // Kept in the struct until the event is made.
            // SAFETY: a live base; `ev` is assigned.
            Lookup::Detached(b) if p < unsafe { rust(b) }.npriorities() => {
                unsafe { (*ev).evcb_pri = p as u8 };
                return 0;
            }
            _ => return -1,
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
            unsafe { fire(b, base, (ptr::null_mut(), None), (cb, arg), fd, what) }
        };
        status(base.once(fd_arg, what, timeout, closure))
    })
}

/// `event_callback_finalize_fn` for events.
type FinalizeFn = unsafe extern "C" fn(*mut CEvent, *mut c_void);

/// `event_finalize` / `event_free_finalize`'s work.
unsafe fn finalize(ev: *mut CEvent, cb: Option<FinalizeFn>, free: bool) -> c_int {
    // SAFETY: null or an event struct.
    let owned = unsafe { lookup(ev) }.1;
    // SAFETY: null or an event struct.
    let Some((b, h)) = (unsafe { attached(ev) }) else {
        return -1;
    };
    // SAFETY: an assigned struct.
    let arg = unsafe { (*ev).evcb_arg };
    let fin = move |base: &mut EventBase, h: Event| {
        // SAFETY: runs inside `b`'s loop; `ev` stays allocated until here.
        unsafe {
            // A finalized event is the struct's no more: a struct assigned
            // again (from this callback, as libevent allows) gets another
            // one, or this one reassigned, never this one as it is.
            let own = &mut *ptr::addr_of_mut!((*b).own);
            if let Some(&rec) = own.structs.get(&h) {
                own.recs[rec as usize].ev = ptr::null_mut();
            }
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
