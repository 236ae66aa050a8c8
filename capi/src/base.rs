//! `struct event_base` and `struct event_config`: base creation and
//! freeing, the loop, loopexit / loopbreak, priorities, common timeouts,
//! the version and the method.
//!
//! A C base is a [`CBase`]: rvent's `EventBase` plus `cur`, the
//! `&mut EventBase` every export goes through (the base's own address, or,
//! while a callback runs, the reference rvent handed that callback), and a
//! serial. Events and bufferevents remember the serial, and a registry of
//! live bases tells whether their base still exists, so an `event_free`
//! after `event_base_free` (buggy but common) frees the event alone instead
//! of reading a freed base.

use std::ffi::{c_char, c_int};
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libc::timeval;
use rvent::event::{CommonTimeout, Event};
use rvent::{BaseFlags, Config, Ev, EventBase, Features, LoopFlags, LoopStatus};

use crate::abi::{CEvent, VERSION_NUMBER};
use crate::mem::{self, MemBox};
use crate::{ffi, status};

/// libevent's common-timeout encoding in `tv_usec`.
const COMMON_MAGIC: i64 = 0x5000_0000;
const COMMON_MASK: i64 = 0xf000_0000u32 as i64;
const COMMON_IDX_SHIFT: i64 = 20;
const COMMON_IDX_MASK: i64 = 0x0ff0_0000;
const COMMON_USEC_MASK: i64 = 0x000f_ffff;

/// A base's common timeouts: the encoded timevals handed to C (stable
/// addresses) and rvent's handles, by index.
struct CommonTable {
    tv: [timeval; rvent::MAX_COMMON_TIMEOUTS],
    handle: [Option<CommonTimeout>; rvent::MAX_COMMON_TIMEOUTS],
    n: usize,
}

/// The shim's records of the rvent events it made for C structs
/// ([`crate::event`]).
pub(crate) struct OwnFields {
    /// The C struct of every event assigned through this library
    /// (`event_base_foreach_event` hands callers their own pointers).
    pub(crate) structs: EventMap<u32>,
    /// The records of the events in `structs` (by the map's value), and
    /// of spare events ([`crate::event`]).
    pub(crate) recs: crate::event::Recs,
    /// The records of rvent events no struct stands for now (their
    /// caller's struct was
    /// deleted or fired; [`crate::event`]), kept for the next
    /// `event_add` of a detached struct instead of a free and a new:
    /// neither added nor active; never more than the most events attached
    /// at once (a pool, like rvent's own slot slab).
    pub(crate) spare: Spares,
    /// Records whose event was freed, for the next new event.
    pub(crate) free_recs: Spares,
}

/// `struct event_base`.
pub struct CBase {
    base: EventBase,
    /// The `&mut EventBase` exports use (see the module docs).
    cur: *mut EventBase,
    /// The C event whose callback runs (`event_base_get_running_event`).
    pub(crate) running: *mut CEvent,
    /// Unique per base for the process's lifetime.
    pub(crate) serial: u64,
    /// The registry's list link.
    next: *mut CBase,
    commons: Option<MemBox<CommonTable>>,
    /// The shim's event records (a field of their own, so a `&mut` to
    /// them is apart from the rvent base).
    pub(crate) own: OwnFields,
    /// Events activated with `event_active_later_` and their result
    /// flags, made active by one `once` at the start of the
    /// next loop iteration ([`crate::event`]).
    pub(crate) later: EventMap<Ev>,
    /// A `once` that drains `later` is scheduled.
    pub(crate) later_scheduled: bool,
    /// `event_base_add_virtual_` minus `_del_virtual_`: counted only
    /// (rvent's loop has no IOCP operations to keep it alive for).
    virtual_events: usize,
}

/// Record numbers: a base's spare list and free list.
pub(crate) type Spares = allocator_api2::vec::Vec<u32, rvent::RventAlloc>;

/// A hash map keyed by rvent event, in the memory functions.
pub(crate) type EventMap<V> =
    hashbrown::HashMap<Event, V, hashbrown::DefaultHashBuilder, rvent::RventAlloc>;

/// An empty [`EventMap`] (allocates nothing).
fn event_map<V>() -> EventMap<V> {
    EventMap::with_hasher_in(hashbrown::DefaultHashBuilder::default(), rvent::RventAlloc)
}

/// The live bases: an intrusive list, so registering takes no memory.
struct Registry {
    head: *mut CBase,
}
// SAFETY: the list is only touched under the mutex.
unsafe impl Send for Registry {}

static LIVE: Mutex<Registry> = Mutex::new(Registry {
    head: ptr::null_mut(),
});
/// No base was ever freed: every serial handed out is live (the fast path).
static FREED_ANY: AtomicBool = AtomicBool::new(false);
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// Whether `b` is still the live base with `serial`.
pub(crate) fn is_live(b: *mut CBase, serial: u64) -> bool {
    if !FREED_ANY.load(Ordering::Acquire) {
        return !b.is_null();
    }
    let reg = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = reg.head;
    while !p.is_null() {
        // SAFETY: registered bases are live until unregistered under this lock.
        unsafe {
            if p == b {
                return (*p).serial == serial;
            }
            p = (*p).next;
        }
    }
    false
}

/// The `&mut EventBase` of a C base.
///
/// # Safety
/// `b` is a live base; the reference is not kept past the export's call.
#[inline(always)]
pub(crate) unsafe fn rust<'a>(b: *mut CBase) -> &'a mut EventBase {
    // SAFETY: `cur` is the base's own address or the reference of the
    // callback running now, from which this call descends.
    unsafe { &mut *(*b).cur }
}

/// Runs a C callback with `cur` pointing at the reference rvent gave the
/// Rust closure, so the callback's calls into the library reborrow it.
///
/// # Safety
/// `b` is live; `base` is its `EventBase`, lent by rvent to the closure.
#[inline(always)]
pub(crate) unsafe fn with_callback_base<R>(
    b: *mut CBase,
    base: &mut EventBase,
    running: *mut CEvent,
    f: impl FnOnce() -> R,
) -> R {
    // SAFETY: `b` is live (caller); only the shim's own fields are touched.
    unsafe {
        let (cur, run) = ((*b).cur, (*b).running);
        (*b).cur = base;
        (*b).running = running;
        let r = f();
        (*b).cur = cur;
        (*b).running = run;
        r
    }
}

/// Makes a C base around an rvent base; null if out of memory.
fn wrap(base: EventBase) -> *mut CBase {
    let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
    let p = mem::into_raw(CBase {
        base,
        cur: ptr::null_mut(),
        running: ptr::null_mut(),
        serial,
        next: ptr::null_mut(),
        commons: None,
        own: OwnFields {
            structs: event_map(),
            recs: allocator_api2::vec::Vec::new_in(rvent::RventAlloc),
            spare: allocator_api2::vec::Vec::new_in(rvent::RventAlloc),
            free_recs: allocator_api2::vec::Vec::new_in(rvent::RventAlloc),
        },
        later: event_map(),
        later_scheduled: false,
        virtual_events: 0,
    });
    if p.is_null() {
        return p;
    }
    let mut reg = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: `p` was just allocated and is not shared yet.
    unsafe {
        (*p).cur = ptr::addr_of_mut!((*p).base);
        (*p).next = reg.head;
    }
    reg.head = p;
    p
}

/// `event_base_new` / `event_init`'s base. `EVENT_NOEPOLL` gives rvent's
/// poll backend; with `EVENT_NOPOLL` as well no backend is left, and
/// rather than return no base — callers of the config-less constructors
/// rarely check (tmux ignores `event_init`'s result and would then run
/// without a base) — the shim uses epoll anyway (rvent with
/// [`BaseFlags::IGNORE_ENV`]). `event_base_new_with_config` keeps the
/// environment's word (libevent's regress `main/base_environ` checks
/// that a disabled method is not used).
fn new_default_base() -> rvent::Result<EventBase> {
    match EventBase::new() {
        Err(rvent::Error::NoBackend) if std::env::var_os("EVENT_NOEPOLL").is_some() => {
            let mut c = Config::new();
            c.set_flag(BaseFlags::IGNORE_ENV);
            EventBase::with_config(&c)
        }
        r => r,
    }
}

/// `event_base_new`.
#[unsafe(no_mangle)]
pub extern "C" fn event_base_new() -> *mut CBase {
    ffi(ptr::null_mut(), || {
        new_default_base().map_or(ptr::null_mut(), wrap)
    })
}

/// `event_base_new_with_config` (NULL: the defaults, as `event_base_new`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_new_with_config(cfg: *const Config) -> *mut CBase {
    ffi(ptr::null_mut(), || {
        // SAFETY: a config from event_config_new (caller's promise).
        match unsafe { cfg.as_ref() } {
            Some(cfg) => EventBase::with_config(cfg),
            None => new_default_base(),
        }
        .map_or(ptr::null_mut(), wrap)
    })
}

/// `event_base_free`: events, bufferevents and listeners of the base stop
/// existing for rvent; their C memory stays the caller's (a later
/// `event_free` frees it alone). Refused from inside one of the base's
/// callbacks (libevent's behaviour there is undefined).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_free(b: *mut CBase) {
    ffi((), || {
        // NULL: the old API's current base, as libevent does.
        let b = if b.is_null() {
            crate::compat::current()
        } else {
            b
        };
        if b.is_null() {
            return;
        }
        // SAFETY: a live base (caller's promise).
        unsafe {
            if (*b).cur != ptr::addr_of_mut!((*b).base) {
                crate::log::warn(b"event_base_free: called from a callback of the base; ignored\0");
                return;
            }
            {
                let mut reg = LIVE.lock().unwrap_or_else(|e| e.into_inner());
                FREED_ANY.store(true, Ordering::Release);
                let mut link: *mut *mut CBase = &mut reg.head;
                while !(*link).is_null() {
                    if *link == b {
                        *link = (*b).next;
                        break;
                    }
                    link = &mut (**link).next;
                }
            }
            if crate::compat::current() == b {
                crate::compat::set_current(ptr::null_mut());
            }
            mem::drop_raw(b);
        }
    })
}

/// `event_base_free_nofinalize`: the same here (finalizers never block).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_free_nofinalize(b: *mut CBase) {
    // SAFETY: forwarded contract.
    unsafe { event_base_free(b) }
}

/// A loop result as libevent returns it.
fn loop_status(r: rvent::Result<LoopStatus>) -> c_int {
    match r {
        Ok(LoopStatus::Exited) => 0,
        Ok(LoopStatus::NoEvents) => 1,
        Err(_) => -1,
    }
}

/// `event_base_loop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loop(b: *mut CBase, flags: c_int) -> c_int {
    ffi(-1, || {
        if b.is_null() {
            return -1;
        }
        let flags = LoopFlags::from_bits_retain((flags & 7) as u8);
        // SAFETY: a live base.
        loop_status(unsafe { rust(b) }.run(flags))
    })
}

/// `event_base_dispatch`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_dispatch(b: *mut CBase) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { event_base_loop(b, 0) }
}

/// A C `timeval` as a relative duration (negative parts count as zero,
/// as libevent's timer math ends up treating them).
pub(crate) fn duration(tv: &timeval) -> Duration {
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let usec = u64::try_from(tv.tv_usec).unwrap_or(0);
    Duration::from_secs(secs).saturating_add(Duration::from_micros(usec))
}

/// `event_base_loopexit` (NULL: at the end of the current iteration).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loopexit(b: *mut CBase, tv: *const timeval) -> c_int {
    ffi(-1, || {
        if b.is_null() {
            return -1;
        }
        // SAFETY: a live base; `tv` null or valid.
        unsafe { status(rust(b).loopexit(tv.as_ref().map(duration))) }
    })
}

/// `event_base_loopbreak`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loopbreak(b: *mut CBase) -> c_int {
    if b.is_null() {
        return -1;
    }
    // SAFETY: a live base. (`loopbreak` cannot fail or panic.)
    unsafe { rust(b) }.loopbreak();
    0
}

/// `event_base_loopcontinue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_loopcontinue(b: *mut CBase) -> c_int {
    if b.is_null() {
        return -1;
    }
    // SAFETY: a live base.
    unsafe { rust(b) }.loopcontinue();
    0
}

/// `event_base_got_exit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_got_exit(b: *mut CBase) -> c_int {
    // SAFETY: a live base.
    (!b.is_null() && unsafe { rust(b) }.got_exit()).into()
}

/// `event_base_got_break`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_got_break(b: *mut CBase) -> c_int {
    // SAFETY: a live base.
    (!b.is_null() && unsafe { rust(b) }.got_break()).into()
}

/// A static C string.
macro_rules! c_str {
    ($s:literal) => {
        concat!($s, "\0").as_ptr().cast::<c_char>()
    };
}

/// `event_get_version`.
#[unsafe(no_mangle)]
pub extern "C" fn event_get_version() -> *const c_char {
    const _: () = assert!(rvent::LIBEVENT_COMPAT_VERSION.len() == 13);
    c_str!("2.1.12-stable")
}

/// `event_get_version_number`.
#[unsafe(no_mangle)]
pub extern "C" fn event_get_version_number() -> u32 {
    VERSION_NUMBER
}

/// `event_base_get_method`: `"epoll"` or `"poll"`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_method(b: *const CBase) -> *const c_char {
    // SAFETY: a live base.
    match unsafe { b.as_ref() }.map(|b| b.base.method()) {
        Some("poll") => c_str!("poll"),
        _ => c_str!("epoll"),
    }
}

/// A NULL-terminated array of C strings in static memory.
#[repr(transparent)]
pub struct StaticStrings<const N: usize>([*const c_char; N]);
// SAFETY: immutable pointers to static strings.
unsafe impl<const N: usize> Sync for StaticStrings<N> {}
static METHODS: StaticStrings<3> = StaticStrings([c_str!("epoll"), c_str!("poll"), ptr::null()]);

/// `event_get_supported_methods`.
#[unsafe(no_mangle)]
pub extern "C" fn event_get_supported_methods() -> *const *const c_char {
    METHODS.0.as_ptr()
}

/// `event_base_get_features`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_features(b: *const CBase) -> c_int {
    // SAFETY: a live base.
    unsafe { b.as_ref() }.map_or(0, |b| c_int::from(b.base.features().bits()))
}

/// `event_base_priority_init`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_priority_init(b: *mut CBase, n: c_int) -> c_int {
    ffi(-1, || {
        if b.is_null() || n < 1 {
            return -1;
        }
        // SAFETY: a live base.
        status(unsafe { rust(b) }.priority_init(n as usize))
    })
}

/// `event_base_get_npriorities`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_npriorities(b: *mut CBase) -> c_int {
    if b.is_null() {
        return 0;
    }
    // SAFETY: a live base.
    unsafe { rust(b) }.npriorities() as c_int
}

/// `event_base_get_num_events` (`EVENT_BASE_COUNT_*` by value), counted
/// as libevent counts: `ADDED` is the number of queue entries (an event
/// inserted on an fd or signal, its timeout and its activation each count
/// once), `ACTIVE` the active callbacks (`event_active_later_` ones too).
/// The walk is over the base's events, at query time only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_num_events(b: *mut CBase, which: u32) -> c_int {
    ffi(-1, || {
        if b.is_null() {
            return -1;
        }
        // SAFETY: a live base; its C structs are live while their events
        // are added or active (libevent's contract).
        let cb = unsafe { &*b };
        let io = Ev::READ | Ev::WRITE | Ev::CLOSED | Ev::SIGNAL;
        let (mut added, mut active) = (0usize, cb.later.len());
        unsafe { rust(b) }.foreach_event(|info| {
            let events = match cb.own.structs.get(&info.event) {
                Some(&r) => Ev::from_bits_retain(
                    unsafe { (*cb.own.recs[r as usize].ev).ev_events } as u16 & 0xff,
                ),
                None => info.events,
            };
            added += usize::from(info.pending && events.intersects(io));
            added += usize::from(info.expires.is_some());
            active += usize::from(info.active.is_some());
            std::ops::ControlFlow::<()>::Continue(())
        });
        added += active;
        let mut n = 0;
        if which & 2 != 0 {
            n += cb.virtual_events;
        }
        if which & 1 != 0 {
            n += active;
        }
        if which & 4 != 0 {
            n += added;
        }
        n as c_int
    })
}

/// `event_base_add_virtual_` (libevent-internal, exported): counted in
/// `event_base_get_num_events(EVENT_BASE_COUNT_VIRTUAL)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_add_virtual_(b: *mut CBase) {
    // SAFETY: null or a live base; the shim's own field.
    if let Some(cb) = unsafe { b.as_mut() } {
        cb.virtual_events += 1;
    }
}

/// `event_base_del_virtual_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_del_virtual_(b: *mut CBase) {
    // SAFETY: null or a live base; the shim's own field.
    if let Some(cb) = unsafe { b.as_mut() } {
        cb.virtual_events = cb.virtual_events.saturating_sub(1);
    }
}

/// `event_base_foreach_event`: `f` for every added or active event, with
/// the caller's own `struct event *`, until it returns non-zero (that
/// value is returned). Events the library made for itself
/// (`event_base_once`) are skipped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_foreach_event(
    b: *mut CBase,
    f: Option<unsafe extern "C" fn(*const CBase, *const CEvent, *mut std::ffi::c_void) -> c_int>,
    arg: *mut std::ffi::c_void,
) -> c_int {
    ffi(-1, || {
        let (false, Some(f)) = (b.is_null(), f) else {
            return -1;
        };
        // SAFETY: a live base; the structs of added or active events are
        // live (libevent's contract). The map is not changed meanwhile:
        // libevent forbids adding or deleting from the callback.
        let cb = unsafe { &*b };
        let r = unsafe { rust(b) }.foreach_event(|info| match cb.own.structs.get(&info.event) {
            Some(&r) => match unsafe { f(b, cb.own.recs[r as usize].ev, arg) } {
                0 => std::ops::ControlFlow::Continue(()),
                r => std::ops::ControlFlow::Break(r),
            },
            None => std::ops::ControlFlow::Continue(()),
        });
        r.unwrap_or(0)
    })
}

/// `event_base_get_running_event`: the C event whose callback runs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_get_running_event(b: *mut CBase) -> *mut CEvent {
    // SAFETY: a live base.
    unsafe { b.as_ref() }.map_or(ptr::null_mut(), |b| b.running)
}

/// `event_reinit` (after `fork`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_reinit(b: *mut CBase) -> c_int {
    ffi(-1, || {
        if b.is_null() {
            return -1;
        }
        // SAFETY: a live base.
        status(unsafe { rust(b) }.reinit())
    })
}

/// Writes a `SystemTime` as a `timeval`.
pub(crate) fn write_timeval(tv: *mut timeval, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    if let Some(tv) = unsafe_mut(tv) {
        tv.tv_sec = d.as_secs() as libc::time_t;
        tv.tv_usec = libc::suseconds_t::from(d.subsec_micros());
    }
}

/// `p.as_mut()` for an out-parameter the caller promised valid or null.
#[inline]
pub(crate) fn unsafe_mut<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: exports take out-parameters that are null or valid.
    unsafe { p.as_mut() }
}

/// `event_base_gettimeofday_cached`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_gettimeofday_cached(b: *mut CBase, tv: *mut timeval) -> c_int {
    ffi(-1, || {
        let t = if b.is_null() {
            SystemTime::now()
        } else {
            // SAFETY: a live base.
            unsafe { rust(b) }.gettimeofday_cached()
        };
        write_timeval(tv, t);
        0
    })
}

/// `event_base_update_cache_time`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_update_cache_time(b: *mut CBase) -> c_int {
    if b.is_null() {
        return -1;
    }
    // SAFETY: a live base.
    unsafe { rust(b) }.update_cache_time();
    0
}

/// `event_base_init_common_timeout`: the returned timeval encodes the
/// index as libevent does (`tv_usec = 0x50000000 | index << 20 | µs`), so
/// callers may copy it; its address stays valid while the base lives.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_init_common_timeout(
    b: *mut CBase,
    tv: *const timeval,
) -> *const timeval {
    ffi(ptr::null(), || {
        if b.is_null() || tv.is_null() {
            return ptr::null();
        }
        // SAFETY: a live base and a valid timeval.
        let (cb, tv) = unsafe { (&mut *b, *tv) };
        // A timeval this base encoded already stands for itself.
        if let (true, Some(t)) = (
            tv.tv_usec & COMMON_MASK == COMMON_MAGIC,
            cb.commons.as_ref(),
        ) {
            let i = ((tv.tv_usec & COMMON_IDX_MASK) >> COMMON_IDX_SHIFT) as usize;
            return if i < t.n { &t.tv[i] } else { ptr::null() };
        }
        let d = duration(&tv);
        // SAFETY: `cur` is the base (see `rust`); `commons` is the shim's field.
        let Ok(ct) = unsafe { &mut *cb.cur }.init_common_timeout(d) else {
            return ptr::null();
        };
        if cb.commons.is_none() {
            let t = CommonTable {
                tv: [timeval {
                    tv_sec: 0,
                    tv_usec: 0,
                }; rvent::MAX_COMMON_TIMEOUTS],
                handle: [None; rvent::MAX_COMMON_TIMEOUTS],
                n: 0,
            };
            match MemBox::try_new_in(t, rvent::RventAlloc) {
                Ok(t) => cb.commons = Some(t),
                Err(_) => return ptr::null(),
            }
        }
        let t = cb.commons.as_mut().expect("just made");
        let i = match t.handle[..t.n].iter().position(|h| *h == Some(ct)) {
            Some(i) => i,
            None if t.n < t.handle.len() => {
                let i = t.n;
                t.n += 1;
                t.handle[i] = Some(ct);
                t.tv[i] = timeval {
                    tv_sec: d.as_secs() as libc::time_t,
                    tv_usec: COMMON_MAGIC
                        | ((i as i64) << COMMON_IDX_SHIFT)
                        | i64::from(d.subsec_micros()),
                };
                i
            }
            None => return ptr::null(),
        };
        &t.tv[i]
    })
}

/// What an `event_add` timeval asks for.
pub(crate) enum Timeout {
    None,
    After(Duration),
    Common(CommonTimeout),
    /// A common-timeout encoding this base never handed out.
    Bad,
}

/// Decodes an `event_add` timeval by value (a copied common timeout works).
///
/// # Safety
/// `b` is live; `tv` is null or valid.
pub(crate) unsafe fn timeout(b: *mut CBase, tv: *const timeval) -> Timeout {
    // SAFETY: caller's promise.
    let Some(tv) = (unsafe { tv.as_ref() }) else {
        return Timeout::None;
    };
    if tv.tv_usec & COMMON_MASK != COMMON_MAGIC {
        return Timeout::After(duration(tv));
    }
    let i = ((tv.tv_usec & COMMON_IDX_MASK) >> COMMON_IDX_SHIFT) as usize;
    // SAFETY: a live base; only the shim's field is read.
    match unsafe { (*b).commons.as_ref() } {
        Some(t) if i < t.n => {
            let _usec = tv.tv_usec & COMMON_USEC_MASK;
            t.handle[i].map_or(Timeout::Bad, Timeout::Common)
        }
        _ => Timeout::Bad,
    }
}

/// `event_config_new`.
#[unsafe(no_mangle)]
pub extern "C" fn event_config_new() -> *mut Config {
    ffi(ptr::null_mut(), || mem::into_raw(Config::new()))
}

/// `event_config_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_free(cfg: *mut Config) {
    if !cfg.is_null() {
        // SAFETY: from event_config_new.
        ffi((), || unsafe { mem::drop_raw(cfg) })
    }
}

/// `event_config_avoid_method` (avoiding `"epoll"` gives poll; avoiding
/// both leaves no backend: the base cannot be made).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_avoid_method(
    cfg: *mut Config,
    method: *const c_char,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a config and a C string (caller's promise).
        let (Some(cfg), false) = (unsafe { cfg.as_mut() }, method.is_null()) else {
            return -1;
        };
        // SAFETY: NUL-terminated.
        let m = unsafe { std::ffi::CStr::from_ptr(method) };
        cfg.avoid_method(&m.to_string_lossy());
        0
    })
}

/// `event_config_require_features`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_require_features(cfg: *mut Config, f: c_int) -> c_int {
    // SAFETY: a config (caller's promise).
    let Some(cfg) = (unsafe { cfg.as_mut() }) else {
        return -1;
    };
    cfg.require_features(Features::from_bits_retain((f & 0xff) as u8));
    0
}

/// `event_config_set_flag`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_set_flag(cfg: *mut Config, flag: c_int) -> c_int {
    // SAFETY: a config (caller's promise).
    let Some(cfg) = (unsafe { cfg.as_mut() }) else {
        return -1;
    };
    cfg.set_flag(BaseFlags::from_bits_retain((flag & 0xff) as u8));
    0
}

/// `event_config_set_num_cpus_hint`: accepted, meaningless without IOCP.
#[unsafe(no_mangle)]
pub extern "C" fn event_config_set_num_cpus_hint(cfg: *mut Config, _n: c_int) -> c_int {
    if cfg.is_null() { -1 } else { 0 }
}

/// `event_config_set_max_dispatch_interval`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_config_set_max_dispatch_interval(
    cfg: *mut Config,
    max_interval: *const timeval,
    max_callbacks: c_int,
    min_priority: c_int,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a config and a null-or-valid timeval (caller's promise).
        let Some(cfg) = (unsafe { cfg.as_mut() }) else {
            return -1;
        };
        // SAFETY: null or valid.
        let iv = unsafe { max_interval.as_ref() }.map(duration);
        let cbs = usize::try_from(max_callbacks).ok();
        cfg.set_max_dispatch_interval(iv, cbs, min_priority.max(0) as usize);
        0
    })
}

/// `evthread_make_base_notifiable`: rvent bases always are (`Notifier`).
#[unsafe(no_mangle)]
pub extern "C" fn evthread_make_base_notifiable(b: *mut CBase) -> c_int {
    if b.is_null() { -1 } else { 0 }
}

/// `evthread_use_pthreads`: accepted. rvent's base is single-threaded:
/// another thread may only wake it (rvent's `Notifier`), not call into
/// it; libevent's locks are not emulated.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_use_pthreads() -> c_int {
    0
}

/// `libevent_global_shutdown`: rvent keeps no global state to release.
#[unsafe(no_mangle)]
pub extern "C" fn libevent_global_shutdown() {}

/// `event_base_assert_ok_` (libevent-internal, exported; its regression
/// tests call it after each step): rvent's own invariant check. A broken
/// invariant is an internal bug, not bad input: like libevent's, this
/// assertion stops the process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_assert_ok_(b: *mut CBase) {
    if b.is_null() {
        return;
    }
    // SAFETY: a live base.
    if !ffi(false, || {
        unsafe { rust(b) }.assert_invariants();
        true
    }) {
        crate::log::warn(b"event_base_assert_ok_: rvent's invariants do not hold\0");
        std::process::abort();
    }
}

/// `event_base_assert_ok_nolock_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_base_assert_ok_nolock_(b: *mut CBase) {
    // SAFETY: forwarded contract.
    unsafe { event_base_assert_ok_(b) }
}
