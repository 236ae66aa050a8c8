//! `struct bufferevent` (socket bufferevents): the public 392-byte struct
//! old code reads, followed by the shim's record — rvent's handle, the
//! base and its serial, and the two `struct evbuffer`s whose addresses
//! `bufferevent_get_input` / `_output` return for the bufferevent's
//! lifetime. The C callbacks are read from the public fields when they
//! fire, so `bufferevent_setcb` only (re)installs rvent closures when a
//! callback appears or disappears.
//!
//! Not here yet: pairs, filters, rate limits, incref / decref.

use std::ffi::{c_int, c_short, c_void};
use std::ptr;

use libc::{sockaddr, timeval};
use rvent::{BevEvent, BevOptions, Bufferevent, Buffers, Ev, Evbuffer, EventBase, FlushMode};

use crate::abi::{BevDataCb, BevEventCb, CBufferevent, CEvent, EventWatermark, EvutilSocket};
use crate::base::{self, CBase, rust, with_callback_base};
use crate::buffer::{self, CBuffer};
use crate::{ffi, mem, status};

/// The C bufferevent and the shim's record; `public` comes first, so a
/// `struct bufferevent *` is a `*mut CBev`.
#[repr(C)]
pub struct CBev {
    public: CBufferevent,
    base: *mut CBase,
    serial: u64,
    handle: Bufferevent,
    input: CBuffer,
    output: CBuffer,
}

/// The live rvent base and handle of `bev`.
///
/// # Safety
/// `bev` is null or a live `CBev`.
#[inline]
unsafe fn live<'a>(bev: *mut CBev) -> Option<(&'a mut EventBase, Bufferevent)> {
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

/// `bufferevent_socket_new` (fd -1: set later with `bufferevent_setfd` or
/// `bufferevent_socket_connect`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_socket_new(
    b: *mut CBase,
    fd: EvutilSocket,
    options: c_int,
) -> *mut CBev {
    ffi(ptr::null_mut(), || {
        if b.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a live base.
        let base = unsafe { rust(b) };
        let opts = BevOptions::from_bits_retain((options & 0xff) as u8);
        let Ok(h) = Bufferevent::socket(base, (fd >= 0).then_some(fd), opts) else {
            return ptr::null_mut();
        };
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
        });
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
    })
}

/// `bufferevent_free`: the record goes at once (the shim never touches it
/// after a C callback returns, so freeing from inside one is fine).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_free(bev: *mut CBev) {
    ffi((), || {
        if bev.is_null() {
            return;
        }
        // SAFETY: a live record.
        unsafe {
            if let Some((base, h)) = live(bev) {
                let _ = h.free(base);
            }
            mem::drop_raw(bev);
        }
    })
}

/// A data callback's closure: reads `readcb` / `writecb` when it fires.
fn data_closure(bev: *mut CBev, write: bool) -> impl FnMut(&mut EventBase, Bufferevent) + 'static {
    move |base, _h| {
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
    unsafe { control(bev, |base, h| status(h.set_priority(base, pri))) }
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
