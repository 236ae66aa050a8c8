//! `struct bufferevent`: the public 392-byte struct old code reads,
//! followed by the shim's record — rvent's handle, the base and its
//! serial, the two `struct evbuffer`s whose addresses
//! `bufferevent_get_input` / `_output` return for the bufferevent's
//! lifetime, libevent's reference count, and the records of the partner
//! (pairs, [`crate::pair`]) and the underlying (filters,
//! [`crate::filter`]). The C callbacks are read from the public fields
//! when they fire, so `bufferevent_setcb` only (re)installs rvent closures
//! when a callback appears or disappears.
//!
//! A NULL base (`bufferevent_socket_new(NULL, …)`, `bufferevent_new`,
//! `bufferevent_pair_new(NULL, …)`) means the current base of the old API,
//! as libevent's `event_assign` takes it.
//!
//! `bufferevent_lock` / `_unlock` are no-ops: a base and its bufferevents
//! belong to one thread (rvent's base is single-threaded), so there is
//! nothing to lock.

use std::cell::Cell;
use std::ffi::{c_int, c_short, c_void};
use std::ptr;

use libc::{sockaddr, timeval};
use rvent::{
    BevEvent, BevOptions, Bufferevent, Buffers, Ev, Evbuffer, EventBase, FlushMode, RateLimitGroup,
    TriggerOptions,
};

use crate::abi::{BevDataCb, BevEventCb, CBufferevent, CEvent, EventWatermark, EvutilSocket};
use crate::base::{self, CBase, rust, with_callback_base};
use crate::buffer::{self, CBuffer};
use crate::filter::FilterCtx;
use crate::ratelimit::CTokenBucketCfg;
use crate::{ffi, mem, status};

/// `BEV_OPT_CLOSE_ON_FREE`.
pub(crate) const BEV_OPT_CLOSE_ON_FREE: c_int = 0x01;
/// `BEV_OPT_DEFER_CALLBACKS`.
const BEV_OPT_DEFER_CALLBACKS: c_int = 0x04;

/// The C bufferevent and the shim's record; `public` comes first, so a
/// `struct bufferevent *` is a `*mut CBev`.
#[repr(C)]
pub struct CBev {
    public: CBufferevent,
    pub(crate) base: *mut CBase,
    serial: u64,
    pub(crate) handle: Bufferevent,
    pub(crate) input: CBuffer,
    pub(crate) output: CBuffer,
    /// libevent's reference count: 1 from creation, one per
    /// `bufferevent_incref`, one held by a filter on its underlying. The
    /// record (and rvent's bufferevent) go at zero.
    refs: u32,
    /// The `BEV_OPT_*` it was created with.
    pub(crate) options: c_int,
    /// The other member of a pair (null once it is freed, or not a pair).
    pub(crate) partner: *mut CBev,
    /// A filter's underlying (null for other kinds).
    pub(crate) underlying: *mut CBev,
    /// A filter's context and its `free_context`.
    pub(crate) filter: FilterCtx,
    /// The configuration last given to `bufferevent_set_rate_limit`
    /// (`bufferevent_get_token_bucket_cfg` returns it; the caller keeps it
    /// alive, as libevent requires).
    pub(crate) rate_cfg: *const CTokenBucketCfg,
    /// The rate-limit group it was last added to
    /// (`bufferevent_remove_from_rate_limit_group` names none).
    pub(crate) group: Option<RateLimitGroup>,
    /// The priority last set (`bufferevent_get_priority`; rvent has no
    /// getter), -1 for the base's default.
    priority: c_int,
}

/// The live rvent base and handle of `bev`.
///
/// # Safety
/// `bev` is null or a live `CBev`.
#[inline]
pub(crate) unsafe fn live<'a>(bev: *mut CBev) -> Option<(&'a mut EventBase, Bufferevent)> {
    // SAFETY: null or live (caller).
    let r = unsafe { bev.as_ref() }?;
    if !base::is_live(r.base, r.serial) {
        return None;
    }
    // SAFETY: a live base.
    Some((unsafe { rust(r.base) }, r.handle))
}

/// One side of a bufferevent.
///
/// # Safety
/// `bev` is a live `CBev`.
pub(crate) unsafe fn side<'a>(bev: *mut CBev, output: bool) -> Option<&'a mut Evbuffer> {
    // SAFETY: caller's promise.
    let (base, h) = unsafe { live(bev) }?;
    if output {
        h.output(base).ok()
    } else {
        h.input(base).ok()
    }
}

/// Both sides at once.
///
/// # Safety
/// `bev` is a live `CBev`.
pub(crate) unsafe fn both<'a>(bev: *mut CBev) -> Option<Buffers<'a>> {
    // SAFETY: caller's promise.
    let (base, h) = unsafe { live(bev) }?;
    h.buffers(base).ok()
}

/// One side each of two distinct bufferevents (`evbuffer_add_buffer`
/// from one's input to another's output, the proxy's move): rvent's
/// `buffers_of_two` on one base; on two bases the records are separate
/// memory.
///
/// # Safety
/// `a` and `b` are live `CBev`s.
pub(crate) unsafe fn sides_of_two<'a>(
    a: *mut CBev,
    a_output: bool,
    b: *mut CBev,
    b_output: bool,
) -> Option<(&'a mut Evbuffer, &'a mut Evbuffer)> {
    let pick = |bufs: Buffers<'a>, output: bool| if output { bufs.output } else { bufs.input };
    // SAFETY: caller's promise; one `&mut` per base (compared first).
    unsafe {
        if (*a).base == (*b).base {
            let (base, ha) = live(a)?;
            let hb = (*b).handle;
            let (x, y) = Bufferevent::buffers_of_two(base, ha, hb).ok()?;
            Some((pick(x, a_output), pick(y, b_output)))
        } else {
            let (base_a, ha) = live(a)?;
            let (base_b, hb) = live(b)?;
            Some((
                pick(ha.buffers(base_a).ok()?, a_output),
                pick(hb.buffers(base_b).ok()?, b_output),
            ))
        }
    }
}

/// `b`, or the old API's current base for NULL.
pub(crate) fn base_or_current(b: *mut CBase) -> *mut CBase {
    if b.is_null() {
        crate::compat::current()
    } else {
        b
    }
}

/// rvent's options from C's.
pub(crate) fn bev_options(options: c_int) -> BevOptions {
    BevOptions::from_bits_retain((options & 0xff) as u8)
}

/// Makes the C record around rvent's bufferevent `h` of base `b`; frees
/// `h` and returns null if out of memory.
///
/// # Safety
/// `b` is a live base and `h` one of its bufferevents.
pub(crate) unsafe fn wrap(b: *mut CBase, h: Bufferevent, options: c_int) -> *mut CBev {
    // SAFETY: all-zero is a valid `CBufferevent` (null pointers, `None`s).
    let public: CBufferevent = unsafe { std::mem::zeroed() };
    let p = mem::into_raw(CBev {
        public,
        base: b,
        // SAFETY: a live base.
        serial: unsafe { (*b).serial },
        handle: h,
        input: CBuffer::Bev {
            bev: ptr::null_mut(),
            output: false,
        },
        output: CBuffer::Bev {
            bev: ptr::null_mut(),
            output: true,
        },
        refs: 1,
        options,
        partner: ptr::null_mut(),
        underlying: ptr::null_mut(),
        filter: FilterCtx::NONE,
        rate_cfg: ptr::null(),
        group: None,
        priority: -1,
    });
    // SAFETY: a live base.
    let base = unsafe { rust(b) };
    if p.is_null() {
        let _ = h.free(base);
        return p;
    }
    // SAFETY: `p` was just allocated.
    unsafe {
        (*p).input = CBuffer::Bev {
            bev: p,
            output: false,
        };
        (*p).output = CBuffer::Bev {
            bev: p,
            output: true,
        };
        (*p).public.ev_base = b.cast();
        (*p).public.input = ptr::addr_of_mut!((*p).input).cast();
        (*p).public.output = ptr::addr_of_mut!((*p).output).cast();
        (*p).public.enabled = h.enabled(base).map_or(0, |e| e.bits() as c_short);
    }
    p
}

/// `bufferevent_socket_new` (fd -1: set later with `bufferevent_setfd` or
/// `bufferevent_socket_connect`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_socket_new(
    b: *mut CBase,
    fd: EvutilSocket,
    options: c_int,
) -> *mut CBev {
    ffi(ptr::null_mut(), || {
        let b = base_or_current(b);
        if b.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a live base.
        let base = unsafe { rust(b) };
        match Bufferevent::socket(base, (fd >= 0).then_some(fd), bev_options(options)) {
            // SAFETY: a live base and its bufferevent.
            Ok(h) => unsafe { wrap(b, h, options) },
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `bufferevent_new` (old API): a socket bufferevent on the current base
/// with its callbacks set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_new(
    fd: EvutilSocket,
    readcb: Option<BevDataCb>,
    writecb: Option<BevDataCb>,
    eventcb: Option<BevEventCb>,
    cbarg: *mut c_void,
) -> *mut CBev {
    // SAFETY: forwarded contract.
    unsafe {
        let bev = bufferevent_socket_new(ptr::null_mut(), fd, 0);
        if !bev.is_null() {
            bufferevent_setcb(bev, readcb, writecb, eventcb, cbarg);
        }
        bev
    }
}

/// `bufferevent_base_set` (old API): 0 if `bev` is already on `b`
/// (including a NULL `b`, the current base); rvent cannot move a
/// bufferevent between bases, so another base is -1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_base_set(b: *mut CBase, bev: *mut CBev) -> c_int {
    // SAFETY: null or a live record.
    match unsafe { bev.as_ref() } {
        Some(r) if base_or_current(b) == r.base => 0,
        _ => -1,
    }
}

/// `bufferevent_free`: the callbacks are cleared at once; the record and
/// rvent's bufferevent go with the last reference (the shim never touches
/// the record after a C callback returns, so freeing from inside one is
/// fine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_free(bev: *mut CBev) {
    ffi((), || {
        if bev.is_null() {
            return;
        }
        // SAFETY: a live record.
        unsafe {
            bufferevent_setcb(bev, None, None, None, ptr::null_mut());
            decref(bev);
        }
    })
}

/// `bufferevent_incref`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_incref(bev: *mut CBev) {
    // SAFETY: null or a live record.
    if let Some(r) = unsafe { bev.as_mut() } {
        r.refs += 1;
    }
}

/// `bufferevent_decref`: 1 if that was the last reference (the
/// bufferevent is freed), else 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_decref(bev: *mut CBev) -> c_int {
    // SAFETY: null or a live record.
    ffi(-1, || unsafe { decref(bev) })
}

/// Holds `bev` across a C callback on one of its buffers, as libevent's
/// evbuffer callbacks hold a reference on the parent bufferevent: a
/// `bufferevent_free` there only drops the program's reference.
///
/// # Safety
/// `bev` is a live record.
pub(crate) unsafe fn hold(bev: *mut CBev) {
    // SAFETY: caller's promise.
    unsafe { (*bev).refs += 1 };
}

/// Lets go of [`hold`]. If that was the last reference, the record cannot
/// go now — the buffer operation that ran the callback is still under way
/// on it — so the free runs from the loop at its next iteration (as
/// libevent frees a bufferevent whose last reference went in a callback).
/// If no loop can take it (no memory for the timer), the record is kept:
/// a leak rather than a use after free.
///
/// # Safety
/// `bev` is a live record held with [`hold`].
pub(crate) unsafe fn release_held(bev: *mut CBev) {
    // SAFETY: caller's promise.
    let r = unsafe { &mut *bev };
    if r.refs > 1 {
        r.refs -= 1;
        return;
    }
    let b = r.base;
    // SAFETY: the record's base is live while the record is.
    if let Some((base, _)) = unsafe { live(bev) } {
        let free = move |base: &mut EventBase, _fd: std::os::fd::RawFd, _what: Ev| {
            // SAFETY: runs inside `b`'s loop; the record was kept for it.
            unsafe { with_callback_base(b, base, ptr::null_mut(), || decref(bev)) };
        };
        let _ = base.once(None, Ev::TIMEOUT, Some(std::time::Duration::ZERO), free);
    }
}

/// Drops a reference; at zero frees rvent's bufferevent, unlinks the
/// partner, releases the underlying and the filter's context.
///
/// # Safety
/// `bev` is null or a live record.
unsafe fn decref(bev: *mut CBev) -> c_int {
    // SAFETY: caller's promise.
    let Some(r) = (unsafe { bev.as_mut() }) else {
        return -1;
    };
    r.refs -= 1;
    if r.refs > 0 {
        return 0;
    }
    // SAFETY: the record is live until dropped at the end; the partner
    // and underlying records are live (a pair member unlinks itself here,
    // a filter holds a reference on its underlying).
    unsafe {
        if let Some((base, h)) = live(bev) {
            let _ = h.free(base);
        }
        if let Some(p) = r.partner.as_mut() {
            p.partner = ptr::null_mut();
        }
        let u = r.underlying;
        if !u.is_null() {
            // rvent freed (CLOSE_ON_FREE) or detached the underlying.
            if r.options & BEV_OPT_CLOSE_ON_FREE != 0 {
                bufferevent_free(u);
            }
            decref(u);
        }
        r.filter.release();
        mem::drop_raw(bev);
    }
    1
}

thread_local! {
    /// The bufferevent whose read (`false`) or write (`true`) callback
    /// runs on this thread: rvent has taken that closure out of its slot,
    /// so a synchronous `bufferevent_trigger` of it from inside is run by
    /// the shim ([`bufferevent_trigger`]).
    static RUNNING: Cell<(*mut CBev, bool)> = const { Cell::new((ptr::null_mut(), false)) };
}

/// A data callback's closure: reads `readcb` / `writecb` when it fires.
fn data_closure(bev: *mut CBev, write: bool) -> impl FnMut(&mut EventBase, Bufferevent) + 'static {
    move |base, _h| {
        let saved = RUNNING.with(|r| r.replace((bev, write)));
        // SAFETY: as below.
        unsafe { call_data(bev, write, base) };
        RUNNING.with(|r| r.set(saved));
    }
}

/// Calls the C read or write callback of `bev` with `base` lent.
///
/// # Safety
/// `bev` is live; `base` is its base's `EventBase`, lent by rvent.
unsafe fn call_data(bev: *mut CBev, write: bool, base: &mut EventBase) {
    // SAFETY: rvent calls it only while the bufferevent (and so the
    // record) is live; nothing of it is read after the C call.
    unsafe {
        let r = &(*bev).public;
        let (cb, arg, b) = (
            if write { r.writecb } else { r.readcb },
            r.cbarg,
            (*bev).base,
        );
        if let Some(cb) = cb {
            with_callback_base(b, base, ptr::null_mut::<CEvent>(), || cb(bev.cast(), arg));
        }
    }
}

/// `bufferevent_setcb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_setcb(
    bev: *mut CBev,
    readcb: Option<BevDataCb>,
    writecb: Option<BevDataCb>,
    eventcb: Option<BevEventCb>,
    cbarg: *mut c_void,
) {
    ffi((), || {
        // SAFETY: a live record.
        let Some((base, h)) = (unsafe { live(bev) }) else {
            return;
        };
        // SAFETY: as above.
        let r = unsafe { &mut (*bev).public };
        if readcb.is_some() != r.readcb.is_some() {
            let _ = match readcb {
                Some(_) => h.set_read_callback(base, data_closure(bev, false)),
                None => h.clear_read_callback(base),
            };
        }
        if writecb.is_some() != r.writecb.is_some() {
            let _ = match writecb {
                Some(_) => h.set_write_callback(base, data_closure(bev, true)),
                None => h.clear_write_callback(base),
            };
        }
        if eventcb.is_some() != r.errorcb.is_some() {
            let _ = match eventcb {
                Some(_) => h.set_event_callback(
                    base,
                    move |base: &mut EventBase, h: Bufferevent, what: BevEvent| {
                        // SAFETY: as in `data_closure`.
                        unsafe {
                            let r = &(*bev).public;
                            let (cb, arg, b) = (r.errorcb, r.cbarg, (*bev).base);
                            if what.contains(BevEvent::ERROR)
                                && let Ok(Some(e)) = h.socket_error(base)
                                && let Some(code) = e.raw_os_error()
                            {
                                *libc::__errno_location() = code;
                            }
                            if let Some(cb) = cb {
                                with_callback_base(b, base, ptr::null_mut(), || {
                                    cb(bev.cast(), what.bits() as c_short, arg)
                                });
                            }
                        }
                    },
                ),
                None => h.clear_event_callback(base),
            };
        }
        r.readcb = readcb;
        r.writecb = writecb;
        r.errorcb = eventcb;
        r.cbarg = cbarg;
    })
}

/// `bufferevent_getcb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_getcb(
    bev: *mut CBev,
    readcb: *mut Option<BevDataCb>,
    writecb: *mut Option<BevDataCb>,
    eventcb: *mut Option<BevEventCb>,
    cbarg: *mut *mut c_void,
) {
    // SAFETY: a live record; null-or-valid out-parameters.
    let Some(r) = (unsafe { bev.as_ref() }) else {
        return;
    };
    let r = &r.public;
    if let Some(o) = base::unsafe_mut(readcb) {
        *o = r.readcb;
    }
    if let Some(o) = base::unsafe_mut(writecb) {
        *o = r.writecb;
    }
    if let Some(o) = base::unsafe_mut(eventcb) {
        *o = r.errorcb;
    }
    if let Some(o) = base::unsafe_mut(cbarg) {
        *o = r.cbarg;
    }
}

/// Runs `f` with the bufferevent's base and handle and refreshes the
/// public `enabled` field.
///
/// # Safety
/// `bev` is null or a live record.
unsafe fn control(bev: *mut CBev, f: impl FnOnce(&mut EventBase, Bufferevent) -> c_int) -> c_int {
    ffi(-1, || {
        // SAFETY: caller's promise.
        let Some((base, h)) = (unsafe { live(bev) }) else {
            return -1;
        };
        let r = f(base, h);
        if let Ok(e) = h.enabled(base) {
            // SAFETY: live (the callback may not free it: these are plain
            // control calls that run no C code).
            unsafe { (*bev).public.enabled = e.bits() as c_short };
        }
        r
    })
}

/// `bufferevent_enable`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_enable(bev: *mut CBev, what: c_short) -> c_int {
    let what = Ev::from_bits_retain(what as u16 & 0xff);
    // SAFETY: forwarded contract.
    unsafe { control(bev, |base, h| status(h.enable(base, what))) }
}

/// `bufferevent_disable`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_disable(bev: *mut CBev, what: c_short) -> c_int {
    let what = Ev::from_bits_retain(what as u16 & 0xff);
    // SAFETY: forwarded contract.
    unsafe { control(bev, |base, h| status(h.disable(base, what))) }
}

/// `bufferevent_get_enabled`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_enabled(bev: *mut CBev) -> c_short {
    // SAFETY: forwarded contract.
    unsafe {
        control(bev, |base, h| {
            h.enabled(base).map_or(0, |e| c_int::from(e.bits()))
        }) as c_short
    }
}

/// `bufferevent_get_input`: the same pointer for the bufferevent's life.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_input(bev: *const CBev) -> *mut CBuffer {
    // SAFETY: a live record.
    unsafe { bev.as_ref() }.map_or(ptr::null_mut(), |r| r.public.input.cast())
}

/// `bufferevent_get_output`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_output(bev: *const CBev) -> *mut CBuffer {
    // SAFETY: a live record.
    unsafe { bev.as_ref() }.map_or(ptr::null_mut(), |r| r.public.output.cast())
}

/// `bufferevent_get_base`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_base(bev: *const CBev) -> *mut CBase {
    // SAFETY: a live record.
    unsafe { bev.as_ref() }.map_or(ptr::null_mut(), |r| r.base)
}

/// `bufferevent_write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_write(
    bev: *mut CBev,
    data: *const c_void,
    size: usize,
) -> c_int {
    // SAFETY: a live record; the output is reached through it.
    unsafe { buffer::evbuffer_add(bufferevent_get_output(bev), data, size) }
}

/// `bufferevent_write_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_write_buffer(bev: *mut CBev, buf: *mut CBuffer) -> c_int {
    // SAFETY: as above.
    unsafe { buffer::evbuffer_add_buffer(bufferevent_get_output(bev), buf) }
}

/// `bufferevent_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_read(bev: *mut CBev, data: *mut c_void, size: usize) -> usize {
    // SAFETY: as above.
    let n = unsafe { buffer::evbuffer_remove(bufferevent_get_input(bev), data, size) };
    usize::try_from(n).unwrap_or(0)
}

/// `bufferevent_read_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_read_buffer(bev: *mut CBev, buf: *mut CBuffer) -> c_int {
    // SAFETY: as above.
    unsafe { buffer::evbuffer_add_buffer(buf, bufferevent_get_input(bev)) }
}

/// `bufferevent_getfd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_getfd(bev: *mut CBev) -> EvutilSocket {
    // SAFETY: forwarded contract.
    unsafe { control(bev, |base, h| h.fd(base).ok().flatten().unwrap_or(-1)) }
}

/// `bufferevent_setfd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_setfd(bev: *mut CBev, fd: EvutilSocket) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        control(bev, |base, h| {
            status(h.set_fd(base, (fd >= 0).then_some(fd)))
        })
    }
}

/// `bufferevent_socket_connect` (IPv4 / IPv6).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_socket_connect(
    bev: *mut CBev,
    sa: *const sockaddr,
    len: c_int,
) -> c_int {
    // SAFETY: `len` readable bytes.
    let Some(addr) = (unsafe { crate::evutil::socket_addr(sa, len) }) else {
        return -1;
    };
    // SAFETY: forwarded contract.
    unsafe { control(bev, |base, h| status(h.connect(base, addr))) }
}

/// `bufferevent_set_timeouts`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_set_timeouts(
    bev: *mut CBev,
    read: *const timeval,
    write: *const timeval,
) -> c_int {
    // SAFETY: null-or-valid timevals.
    let (r, w) = unsafe { (read.as_ref(), write.as_ref()) };
    // SAFETY: forwarded contract.
    unsafe {
        let rc = control(bev, |base, h| {
            status(h.set_timeouts(base, r.map(base::duration), w.map(base::duration)))
        });
        if rc == 0 {
            let p = &mut (*bev).public;
            p.timeout_read = r.copied().unwrap_or(timeval {
                tv_sec: 0,
                tv_usec: 0,
            });
            p.timeout_write = w.copied().unwrap_or(timeval {
                tv_sec: 0,
                tv_usec: 0,
            });
        }
        rc
    }
}

/// `bufferevent_setwatermark`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_setwatermark(
    bev: *mut CBev,
    events: c_short,
    low: usize,
    high: usize,
) {
    let what = Ev::from_bits_retain(events as u16 & 0xff);
    // SAFETY: forwarded contract.
    unsafe {
        if control(bev, |base, h| {
            status(h.set_watermark(base, what, low, high))
        }) == 0
        {
            let p = &mut (*bev).public;
            let wm = EventWatermark { low, high };
            if what.contains(Ev::READ) {
                p.wm_read = wm;
            }
            if what.contains(Ev::WRITE) {
                p.wm_write = wm;
            }
        }
    }
}

/// `bufferevent_priority_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_priority_set(bev: *mut CBev, pri: c_int) -> c_int {
    let Ok(pri) = usize::try_from(pri) else {
        return -1;
    };
    // SAFETY: forwarded contract.
    unsafe {
        let rc = control(bev, |base, h| status(h.set_priority(base, pri)));
        if rc == 0 {
            (*bev).priority = pri as c_int;
        }
        rc
    }
}

/// `bufferevent_get_priority`: the priority last set, else the base's
/// default (the middle queue, as libevent's `event_assign` picks).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_priority(bev: *const CBev) -> c_int {
    // SAFETY: null or a live record.
    match unsafe { bev.as_ref() } {
        None => -1,
        Some(r) if r.priority >= 0 => r.priority,
        // SAFETY: a live record's base.
        Some(r) => unsafe { base::event_base_get_npriorities(r.base) / 2 },
    }
}

/// `bufferevent_flush` (`BEV_NORMAL` 0, `BEV_FLUSH` 1, `BEV_FINISHED` 2):
/// 1 if something was flushed, 0 if not, -1 on error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_flush(bev: *mut CBev, iotype: c_short, mode: c_int) -> c_int {
    let what = Ev::from_bits_retain(iotype as u16 & 0xff);
    let mode = match mode {
        0 => FlushMode::Normal,
        1 => FlushMode::Flush,
        2 => FlushMode::Finished,
        _ => return -1,
    };
    // SAFETY: forwarded contract.
    unsafe {
        control(bev, |base, h| {
            h.flush(base, what, mode).map_or(-1, c_int::from)
        })
    }
}

/// `bufferevent_lock`: nothing to lock (single-threaded base).
#[unsafe(no_mangle)]
pub extern "C" fn bufferevent_lock(_bev: *mut CBev) {}

/// `bufferevent_unlock`.
#[unsafe(no_mangle)]
pub extern "C" fn bufferevent_unlock(_bev: *mut CBev) {}

/// `bufferevent_getwatermark`: exactly one of `EV_READ` / `EV_WRITE`;
/// -1 otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_getwatermark(
    bev: *mut CBev,
    events: c_short,
    low: *mut usize,
    high: *mut usize,
) -> c_int {
    let what = Ev::from_bits_retain(events as u16 & 0xff);
    // SAFETY: forwarded contract; null-or-valid out-parameters.
    unsafe {
        control(bev, |base, h| match h.watermark(base, what) {
            Ok(wm) => {
                if let Some(o) = base::unsafe_mut(low) {
                    *o = wm.low;
                }
                if let Some(o) = base::unsafe_mut(high) {
                    *o = wm.high;
                }
                0
            }
            Err(_) => -1,
        })
    }
}

/// `BEV_TRIG_IGNORE_WATERMARKS`.
const BEV_TRIG_IGNORE_WATERMARKS: c_int = 1 << 16;
/// `BEV_TRIG_DEFER_CALLBACKS` (= `BEV_OPT_DEFER_CALLBACKS`).
const BEV_TRIG_DEFER_CALLBACKS: c_int = BEV_OPT_DEFER_CALLBACKS;

/// rvent's trigger options from C's.
fn trigger_options(options: c_int) -> TriggerOptions {
    let mut t = TriggerOptions::empty();
    if options & BEV_TRIG_IGNORE_WATERMARKS != 0 {
        t |= TriggerOptions::IGNORE_WATERMARKS;
    }
    if options & BEV_TRIG_DEFER_CALLBACKS != 0 {
        t |= TriggerOptions::DEFER_CALLBACKS;
    }
    t
}

/// `bufferevent_trigger`. A synchronous trigger of the data callback
/// that is running (a read callback triggering reads) is run here: rvent
/// has that closure out of its slot and would skip it, where libevent
/// calls the callback again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_trigger(bev: *mut CBev, iotype: c_short, options: c_int) {
    let opts = trigger_options(options);
    ffi((), || {
        for (dir, write) in [(Ev::READ, false), (Ev::WRITE, true)] {
            if iotype as u16 & dir.bits() == 0 {
                continue;
            }
            // SAFETY: a live record (checked again per direction: the
            // first callback may have freed it).
            unsafe {
                let Some((base, h)) = live(bev) else {
                    return;
                };
                let sync = !opts.contains(TriggerOptions::DEFER_CALLBACKS)
                    && (*bev).options & BEV_OPT_DEFER_CALLBACKS == 0;
                if !(sync && RUNNING.with(Cell::get) == (bev, write)) {
                    let _ = h.trigger(base, dir, opts);
                    continue;
                }
                let ignore = opts.contains(TriggerOptions::IGNORE_WATERMARKS);
                let low = h.watermark(base, dir).map_or(0, |w| w.low);
                let due = ignore
                    || if write {
                        h.output_len(base).is_ok_and(|n| n <= low)
                    } else {
                        h.input_len(base).is_ok_and(|n| n >= low)
                    };
                if due {
                    call_data(bev, write, base);
                }
            }
        }
    })
}

/// `bufferevent_trigger_event`: the event callback gets `what` as given
/// (all 16 bits).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_trigger_event(bev: *mut CBev, what: c_short, options: c_int) {
    let what = BevEvent::from_bits_retain(what as u16);
    // SAFETY: forwarded contract.
    unsafe {
        control(bev, |base, h| {
            status(h.trigger_event(base, what, trigger_options(options)))
        });
    }
}

/// `bufferevent_settimeout` (old API): whole seconds, 0 for none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_settimeout(bev: *mut CBev, read: c_int, write: c_int) {
    let tv = |s: c_int| timeval {
        tv_sec: s.into(),
        tv_usec: 0,
    };
    let (r, w) = (tv(read), tv(write));
    // SAFETY: forwarded contract.
    unsafe {
        bufferevent_set_timeouts(
            bev,
            if read > 0 { &r } else { ptr::null() },
            if write > 0 { &w } else { ptr::null() },
        );
    }
}

/// `bufferevent_socket_connect_hostname`: the lookup runs on rvent's
/// resolver thread (an `evdns_base` is not used: rvent has no evdns);
/// `family` (`AF_INET`, `AF_INET6`, else any) limits the addresses taken.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_socket_connect_hostname(
    bev: *mut CBev,
    _evdns_base: *mut c_void,
    family: c_int,
    hostname: *const std::ffi::c_char,
    port: c_int,
) -> c_int {
    if hostname.is_null() {
        return -1;
    }
    // SAFETY: a NUL-terminated string.
    let Ok(host) = unsafe { std::ffi::CStr::from_ptr(hostname) }.to_str() else {
        return -1;
    };
    let Ok(port) = u16::try_from(port) else {
        return -1;
    };
    let family = match family {
        libc::AF_INET => rvent::AddressFamily::Ipv4,
        libc::AF_INET6 => rvent::AddressFamily::Ipv6,
        _ => rvent::AddressFamily::Any,
    };
    // SAFETY: forwarded contract.
    unsafe {
        control(bev, |base, h| {
            status(h.connect_hostname_family(base, family, host, port))
        })
    }
}

/// `EVUTIL_EAI_FAIL`: rvent reports a failed lookup as text only.
const EVUTIL_EAI_FAIL: c_int = -4;

/// `bufferevent_socket_get_dns_error`: 0, or `EVUTIL_EAI_FAIL` for any
/// failed lookup (rvent keeps the resolver's message, not its code).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_socket_get_dns_error(bev: *mut CBev) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        control(bev, |base, h| match h.dns_error(base) {
            Ok(Some(_)) => EVUTIL_EAI_FAIL,
            _ => 0,
        })
    }
}

/// `bufferevent_set_max_single_read` (0: the default).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_set_max_single_read(bev: *mut CBev, size: usize) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { control(bev, |base, h| status(h.set_max_single_read(base, size))) }
}

/// `bufferevent_set_max_single_write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_set_max_single_write(bev: *mut CBev, size: usize) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { control(bev, |base, h| status(h.set_max_single_write(base, size))) }
}

/// Runs `f` with the live base and handle; -1 when gone.
///
/// # Safety
/// `bev` is null or a live record.
pub(crate) unsafe fn query(
    bev: *const CBev,
    f: impl FnOnce(&mut EventBase, Bufferevent) -> isize,
) -> isize {
    // SAFETY: caller's promise.
    ffi(-1, || match unsafe { live(bev.cast_mut()) } {
        Some((base, h)) => f(base, h),
        None => -1,
    })
}

/// `bufferevent_get_max_single_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_max_single_read(bev: *mut CBev) -> isize {
    // SAFETY: forwarded contract.
    unsafe {
        query(bev, |base, h| {
            h.max_single_read(base).map_or(-1, |n| n as isize)
        })
    }
}

/// `bufferevent_get_max_single_write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_max_single_write(bev: *mut CBev) -> isize {
    // SAFETY: forwarded contract.
    unsafe {
        query(bev, |base, h| {
            h.max_single_write(base).map_or(-1, |n| n as isize)
        })
    }
}

/// Forgets the C callbacks of `bev` without touching rvent's (a filter
/// replaced them), so a later `bufferevent_setcb` installs closures again.
///
/// # Safety
/// `bev` is a live record.
pub(crate) unsafe fn forget_callbacks(bev: *mut CBev) {
    // SAFETY: caller's promise.
    let r = unsafe { &mut (*bev).public };
    r.readcb = None;
    r.writecb = None;
    r.errorcb = None;
}
