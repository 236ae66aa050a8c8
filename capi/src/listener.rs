//! `struct evconnlistener`: an rvent `ConnListener` and the C callbacks,
//! read from the record when a connection arrives (so
//! `evconnlistener_set_cb` takes effect at once). Each accepted
//! connection is handed to C as a raw fd the callback owns, with the
//! peer's address as a `struct sockaddr` of its family (`sockaddr_in`,
//! `sockaddr_in6` or `sockaddr_un`: rvent's listener takes any stream
//! socket, as libevent's).

use std::ffi::{c_int, c_void};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::ptr;

use libc::sockaddr;
use rvent::{ConnListener, EventBase, ListenerOptions, PeerAddr};

use crate::abi::EvutilSocket;
use crate::base::{self, CBase, rust, with_callback_base};
use crate::{ffi, mem, status};

/// `evconnlistener_cb`.
type ListenerCb = unsafe extern "C" fn(*mut CLev, EvutilSocket, *mut sockaddr, c_int, *mut c_void);
/// `evconnlistener_errorcb`.
type ListenerErrorCb = unsafe extern "C" fn(*mut CLev, *mut c_void);

/// `struct evconnlistener`.
pub struct CLev {
    base: *mut CBase,
    serial: u64,
    handle: ConnListener,
    cb: Option<ListenerCb>,
    errorcb: Option<ListenerErrorCb>,
    arg: *mut c_void,
}

/// `peer` as a C socket address and its length.
fn c_sockaddr(peer: &PeerAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    match peer {
        PeerAddr::Unix(u) => {
            // SAFETY: all-zero is a valid sockaddr_storage (integers).
            let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            // SAFETY: sockaddr_storage is larger than and aligned at least
            // as strictly as sockaddr_un.
            let sun = unsafe { &mut *ptr::addr_of_mut!(ss).cast::<libc::sockaddr_un>() };
            sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
            let path = u.sun_path();
            for (d, &b) in sun.sun_path.iter_mut().zip(path) {
                *d = b as libc::c_char;
            }
            let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + path.len();
            (ss, len as libc::socklen_t)
        }
        PeerAddr::Inet(a) => crate::evutil::sockaddr_of(a),
        // A family rvent may learn later: the family alone.
        _ => {
            // SAFETY: as above.
            let ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            (
                ss,
                std::mem::size_of::<libc::sa_family_t>() as libc::socklen_t,
            )
        }
    }
}

/// The accept closure: the fd goes to the C callback (closed if none).
fn accept_closure(
    lev: *mut CLev,
) -> impl FnMut(&mut EventBase, ConnListener, OwnedFd, PeerAddr) + 'static {
    move |base, _h, conn, peer| {
        let fd = conn.into_raw_fd();
        let (mut ss, len) = c_sockaddr(&peer);
        // SAFETY: rvent calls this only while the listener (and so the
        // record) is live; nothing of it is read after the C call.
        unsafe {
            let (cb, arg, b) = ((*lev).cb, (*lev).arg, (*lev).base);
            match cb {
                Some(cb) => with_callback_base(b, base, ptr::null_mut(), || {
                    cb(lev, fd, ptr::addr_of_mut!(ss).cast(), len as c_int, arg)
                }),
                None => drop(OwnedFd::from_raw_fd(fd)),
            }
        }
    }
}

/// Wraps a new rvent listener in a record; null (and the listener freed)
/// if out of memory.
fn wrap(
    b: *mut CBase,
    base: &mut EventBase,
    h: ConnListener,
    cb: Option<ListenerCb>,
    arg: *mut c_void,
) -> *mut CLev {
    // SAFETY: a live base.
    let serial = unsafe { (*b).serial };
    let p = mem::into_raw(CLev {
        base: b,
        serial,
        handle: h,
        cb,
        errorcb: None,
        arg,
    });
    if p.is_null() || h.set_callback(base, accept_closure(p)).is_err() {
        if let Ok(Some(fd)) = h.free(base) {
            let _ = fd.into_raw_fd(); // the caller's socket stays open
        }
        if !p.is_null() {
            // SAFETY: just allocated, not shared.
            unsafe { mem::drop_raw(p) };
        }
        return ptr::null_mut();
    }
    p
}

/// `evconnlistener_new_bind` (backlog ≤ 0: the default).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_new_bind(
    b: *mut CBase,
    cb: Option<ListenerCb>,
    arg: *mut c_void,
    flags: u32,
    backlog: c_int,
    sa: *const sockaddr,
    socklen: c_int,
) -> *mut CLev {
    ffi(ptr::null_mut(), || {
        // SAFETY: `socklen` readable bytes.
        let (false, Some(addr)) = (b.is_null(), unsafe {
            crate::evutil::socket_addr(sa, socklen)
        }) else {
            return ptr::null_mut();
        };
        // SAFETY: a live base.
        let base = unsafe { rust(b) };
        let opts = ListenerOptions::from_bits_retain(flags & 0x1ff);
        let backlog = u32::try_from(backlog).ok().filter(|&n| n > 0);
        match ConnListener::bind(base, addr, opts, backlog, |_, _, _, _| {}) {
            Ok(h) => wrap(b, base, h, cb, arg),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `evconnlistener_new` on a bound socket (backlog > 0: `listen` first;
/// < 0: `listen(128)`; 0: already listening).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_new(
    b: *mut CBase,
    cb: Option<ListenerCb>,
    arg: *mut c_void,
    flags: u32,
    backlog: c_int,
    fd: EvutilSocket,
) -> *mut CLev {
    ffi(ptr::null_mut(), || {
        if b.is_null() || fd < 0 {
            return ptr::null_mut();
        }
        // SAFETY: a live base.
        let base = unsafe { rust(b) };
        let opts = ListenerOptions::from_bits_retain(flags & 0x1ff);
        let backlog = match backlog {
            0 => None,
            n if n < 0 => Some(128),
            n => Some(n as u32),
        };
        // SAFETY: the caller hands its socket over (rvent closes it on
        // error, as libevent with LEV_OPT_CLOSE_ON_FREE; without it the
        // socket is given back on free).
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        match ConnListener::from_fd(base, sock, opts, backlog, |_, _, _, _| {}) {
            Ok(h) => wrap(b, base, h, cb, arg),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// The live base and handle of a listener.
///
/// # Safety
/// `lev` is null or a live record.
unsafe fn live<'a>(lev: *mut CLev) -> Option<(&'a mut EventBase, ConnListener)> {
    // SAFETY: caller's promise.
    let r = unsafe { lev.as_ref() }?;
    // SAFETY: a live base.
    base::is_live(r.base, r.serial).then(|| (unsafe { rust(r.base) }, r.handle))
}

/// The rvent listener of a live C listener (`evhttp_bind_listener`).
///
/// # Safety
/// `lev` is null or a live record.
pub(crate) unsafe fn handle(lev: *mut CLev) -> Option<ConnListener> {
    // SAFETY: caller's promise.
    unsafe { live(lev) }.map(|(_, h)| h)
}

/// Frees the record of a listener a server took over (the server frees
/// the rvent listener).
///
/// # Safety
/// `lev` is a live record, not used afterwards.
pub(crate) unsafe fn forget(lev: *mut CLev) {
    // SAFETY: caller's promise.
    unsafe { mem::drop_raw(lev) };
}

/// `evconnlistener_free` (without `LEV_OPT_CLOSE_ON_FREE` the socket stays open).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_free(lev: *mut CLev) {
    ffi((), || {
        if lev.is_null() {
            return;
        }
        // SAFETY: a live record.
        unsafe {
            if let Some((base, h)) = live(lev)
                && let Ok(Some(fd)) = h.free(base)
            {
                let _ = fd.into_raw_fd();
            }
            mem::drop_raw(lev);
        }
    })
}

/// `evconnlistener_enable`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_enable(lev: *mut CLev) -> c_int {
    // SAFETY: a live record.
    ffi(-1, || {
        unsafe { live(lev) }.map_or(-1, |(base, h)| status(h.enable(base)))
    })
}

/// `evconnlistener_disable`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_disable(lev: *mut CLev) -> c_int {
    // SAFETY: a live record.
    ffi(-1, || {
        unsafe { live(lev) }.map_or(-1, |(base, h)| status(h.disable(base)))
    })
}

/// `evconnlistener_get_base`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_get_base(lev: *mut CLev) -> *mut CBase {
    // SAFETY: a live record.
    unsafe { lev.as_ref() }.map_or(ptr::null_mut(), |r| r.base)
}

/// `evconnlistener_get_fd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_get_fd(lev: *mut CLev) -> EvutilSocket {
    // SAFETY: a live record.
    ffi(-1, || {
        unsafe { live(lev) }.map_or(-1, |(base, h)| h.fd(base).unwrap_or(-1))
    })
}

/// `evconnlistener_set_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_set_cb(
    lev: *mut CLev,
    cb: Option<ListenerCb>,
    arg: *mut c_void,
) {
    // SAFETY: a live record.
    if let Some(r) = unsafe { lev.as_mut() } {
        r.cb = cb;
        r.arg = arg;
    }
}

/// `evconnlistener_set_error_cb` (`errno` holds the error when it runs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evconnlistener_set_error_cb(
    lev: *mut CLev,
    errorcb: Option<ListenerErrorCb>,
) {
    ffi((), || {
        // SAFETY: a live record.
        let Some((base, h)) = (unsafe { live(lev) }) else {
            return;
        };
        // SAFETY: as above.
        unsafe { (*lev).errorcb = errorcb };
        let _ = match errorcb {
            None => h.clear_error_callback(base),
            Some(_) => {
                h.set_error_callback(base, move |base: &mut EventBase, _h, e: std::io::Error| {
                    // SAFETY: as in `accept_closure`.
                    unsafe {
                        if let Some(code) = e.raw_os_error() {
                            *libc::__errno_location() = code;
                        }
                        let (cb, arg, b) = ((*lev).errorcb, (*lev).arg, (*lev).base);
                        if let Some(cb) = cb {
                            with_callback_base(b, base, ptr::null_mut(), || cb(lev, arg));
                        }
                    }
                })
            }
        };
    })
}
