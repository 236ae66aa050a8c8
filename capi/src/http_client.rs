//! The client half of `evhttp`: `struct evhttp_connection` on rvent's
//! [`HttpConnection`], client `struct evhttp_request`s on its requests.
//!
//! # Records
//! A connection is a [`CClientConn`] (`#[repr(C)]`, its kind first, as
//! the server's connection view, so `evhttp_connection_get_peer` serves
//! both). A request is the server's [`CReq`] record with no base or
//! handle, its own input and output buffers and header lists, and a
//! [`ClientPart`]: the C callbacks and the response's code and reason.
//! `evhttp_make_request` hands the output fields and body to rvent and
//! keeps the record until the request ends: the response's fields and
//! body are moved into it before the C callback runs, and it is freed
//! after the callback unless owned (`evhttp_request_own`), as libevent
//! does. A failed request gets the error callback with libevent's
//! `EVREQ_HTTP_*` code, then the callback with `NULL`; a request whose
//! connection is freed is freed without a call (libevent's behaviour).

use std::ffi::{c_char, c_int, c_void};
use std::net::{IpAddr, SocketAddr};
use std::ptr;
use std::time::Duration;

use libc::timeval;
use rvent::{
    AddressFamily, EventBase, Headers, HttpConnection, HttpConnectionFlags, HttpRequest,
    HttpRequestError, Method, QueuedRequest, Response,
};

use crate::base::{self, CBase, rust, with_callback_base};
use crate::buffer::CBuffer;
use crate::http::{CReq, client_record, set_conn_peer};
use crate::keyval;
use crate::uri::c_str;
use crate::{ffi, mem, status};

/// A request callback.
type RequestCb = unsafe extern "C" fn(*mut CReq, *mut c_void);
/// `evhttp_request_set_header_cb`'s callback: -1 fails the request.
type HeaderCb = unsafe extern "C" fn(*mut CReq, *mut c_void) -> c_int;
/// `evhttp_request_set_error_cb`'s callback.
type ErrorCb = unsafe extern "C" fn(c_int, *mut c_void);
/// `evhttp_connection_set_closecb`'s callback.
type CloseCb = unsafe extern "C" fn(*mut CClientConn, *mut c_void);

/// [`CClientConn::kind`].
const CONN_CLIENT: u32 = 1;

thread_local! {
    /// The client connection records not yet freed: a request may
    /// outlive its connection (owned, or running its callback when the
    /// connection is freed), and looks its record up here first.
    static CONNS: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `c` is a client connection record not yet freed.
fn conn_live(c: *mut CClientConn) -> bool {
    !c.is_null() && CONNS.with(|v| v.borrow().contains(&(c as usize)))
}

/// `struct evhttp_connection` made by `evhttp_connection_base_new`.
#[repr(C)]
pub struct CClientConn {
    /// [`CONN_CLIENT`].
    kind: u32,
    base: *mut CBase,
    serial: u64,
    handle: HttpConnection,
    close: Option<(CloseCb, *mut c_void)>,
    /// `evhttp_connection_free_on_completion` was called: the record
    /// goes once rvent freed the connection.
    autofree: bool,
    /// The server's address as a C string.
    address: *mut c_char,
    port: u16,
    /// The address connected to (`evhttp_connection_get_addr`).
    sockaddr: libc::sockaddr_storage,
}

impl Drop for CClientConn {
    fn drop(&mut self) {
        // SAFETY: this record's string (or null).
        unsafe { mem::free(self.address.cast()) };
    }
}

/// A client request's callbacks and response.
pub struct ClientPart {
    cb: Option<RequestCb>,
    arg: *mut c_void,
    header: Option<HeaderCb>,
    chunk: Option<RequestCb>,
    error: Option<ErrorCb>,
    code: c_int,
    code_line: *mut c_char,
    command: c_int,
    /// Set by `evhttp_make_request`.
    queued: Option<QueuedRequest>,
    conn: *mut CClientConn,
    /// How many of the request's C callbacks (or `evhttp_make_request`)
    /// run now: freeing it waits until none does.
    depth: u32,
    /// Freed (cancelled, `evhttp_request_free`, or ended) while `depth`
    /// was not 0.
    doomed: bool,
}

impl Drop for ClientPart {
    fn drop(&mut self) {
        // SAFETY: this record's string (or null).
        unsafe { mem::free(self.code_line.cast()) };
    }
}

/// The client part of `req`, if it is a client request.
///
/// # Safety
/// `req` is null or a live record.
unsafe fn part<'a>(req: *mut CReq) -> Option<&'a mut ClientPart> {
    // SAFETY: caller's promise.
    unsafe { req.as_mut()?.client.as_mut() }
}

/// The live base and connection of a record.
///
/// # Safety
/// `c` is null or a live record.
unsafe fn live<'a>(c: *mut CClientConn) -> Option<(&'a mut EventBase, HttpConnection)> {
    // SAFETY: caller's promise.
    let r = unsafe { c.as_ref() }?;
    if r.kind != CONN_CLIENT {
        return None;
    }
    // SAFETY: a live base.
    base::is_live(r.base, r.serial).then(|| (unsafe { rust(r.base) }, r.handle))
}

/// `evhttp_connection_base_new`: a connection to `address` (an IP
/// literal, else a host name looked up on rvent's resolver thread; the
/// `evdns_base` is not used) and `port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_base_new(
    b: *mut CBase,
    _dns: *mut c_void,
    address: *const c_char,
    port: u16,
) -> *mut CClientConn {
    ffi(ptr::null_mut(), || {
        // SAFETY: a C string (caller).
        let Some(addr) = (unsafe { c_str(address) }) else {
            return ptr::null_mut();
        };
        if b.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a live base (caller).
        let base = unsafe { rust(b) };
        let made = match addr.parse::<IpAddr>() {
            Ok(ip) => HttpConnection::new(base, SocketAddr::new(ip, port)),
            Err(_) => HttpConnection::new_hostname(base, addr, port),
        };
        let Ok(handle) = made else {
            return ptr::null_mut();
        };
        // SAFETY: a live base.
        unsafe { wrap(b, base, handle, addr, port) }
    })
}

/// The C record of `handle`, to `addr` and `port`, with its close
/// closure; null (and `handle` freed) if out of memory.
///
/// # Safety
/// `b` is the live base of `base`.
unsafe fn wrap(
    b: *mut CBase,
    base: &mut EventBase,
    handle: HttpConnection,
    addr: &str,
    port: u16,
) -> *mut CClientConn {
    let known = addr
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port));
    let p = mem::into_raw(CClientConn {
        kind: CONN_CLIENT,
        base: b,
        // SAFETY: a live base.
        serial: unsafe { (*b).serial },
        handle,
        close: None,
        autofree: false,
        address: mem::c_string(addr.as_bytes()),
        port,
        sockaddr: crate::http::sockaddr_storage(known),
    });
    if p.is_null() {
        let _ = handle.free(base);
        return p;
    }
    let closed = move |base: &mut EventBase, h: HttpConnection| {
        // SAFETY: the record is freed only here (a connection rvent
        // freed on completion) or after rvent's free returned
        // (evhttp_connection_free), so it is live.
        unsafe {
            if let Some((cb, arg)) = (*p).close {
                with_callback_base(b, base, ptr::null_mut(), || cb(p, arg));
            }
            if (*p).autofree && !h.is_live(base) {
                CONNS.with(|v| v.borrow_mut().retain(|&x| x != p as usize));
                mem::drop_raw(p);
            }
        }
    };
    if handle.set_close_cb(base, closed).is_err() {
        let _ = handle.free(base);
        // SAFETY: ours, not shared.
        unsafe { mem::drop_raw(p) };
        return ptr::null_mut();
    }
    CONNS.with(|v| v.borrow_mut().push(p as usize));
    p
}

/// `evhttp_connection_base_bufferevent_new`: a connection over `bev` to
/// `address` (an IP literal) and `port`; a socket bufferevent without a
/// socket is connected at the first request, as libevent does. The
/// connection owns the rvent bufferevent from then on (its C record is
/// not freed with it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_base_bufferevent_new(
    b: *mut CBase,
    _dns: *mut c_void,
    bev: *mut crate::bufferevent::CBev,
    address: *const c_char,
    port: u16,
) -> *mut CClientConn {
    ffi(ptr::null_mut(), || {
        // SAFETY: a C string and a live bufferevent record (caller).
        let (Some(addr), Some((base, h))) = (unsafe { c_str(address) }, unsafe {
            crate::bufferevent::live(bev)
        }) else {
            return ptr::null_mut();
        };
        let Ok(ip) = addr.parse::<IpAddr>() else {
            return ptr::null_mut();
        };
        let Ok(handle) = HttpConnection::with_bufferevent(base, h, SocketAddr::new(ip, port))
        else {
            return ptr::null_mut();
        };
        // SAFETY: a live base (caller).
        unsafe { wrap(b, rust(b), handle, addr, port) }
    })
}

/// `evhttp_connection_free`: requests not yet complete are freed without
/// a call (libevent's behaviour).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_free(c: *mut CClientConn) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        unsafe {
            if c.is_null() || (*c).kind != CONN_CLIENT {
                return;
            }
            // Freed here, not by the close callback.
            (*c).autofree = false;
            if let Some((base, h)) = live(c) {
                let _ = h.free(base);
            }
            CONNS.with(|v| v.borrow_mut().retain(|&x| x != c as usize));
            mem::drop_raw(c);
        }
    })
}

/// `evhttp_connection_free_on_completion`: the C record goes with it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_free_on_completion(c: *mut CClientConn) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            // SAFETY: live; the close closure frees the record with the
            // connection.
            unsafe { (*c).autofree = true };
            let _ = h.free_on_completion(base);
        }
    })
}

/// `evhttp_connection_get_base`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_get_base(c: *mut CClientConn) -> *mut CBase {
    // SAFETY: null or a live record (caller).
    unsafe { c.as_ref() }.map_or(ptr::null_mut(), |r| r.base)
}

/// `evhttp_connection_get_peer` of a client connection: the address as
/// given and the port.
///
/// # Safety
/// `c` is a live client record; the outputs are null or writable.
pub(crate) unsafe fn client_peer(c: *mut CClientConn, address: *mut *const c_char, port: *mut u16) {
    // SAFETY: caller's promise.
    unsafe {
        if !address.is_null() {
            *address = (*c).address;
        }
        if !port.is_null() {
            *port = (*c).port;
        }
    }
}

/// `evhttp_connection_get_addr` of a client connection: the address it
/// connected to, null before.
///
/// # Safety
/// `c` is a live client record.
pub(crate) unsafe fn client_addr(c: *mut CClientConn) -> *const libc::sockaddr {
    // SAFETY: caller's promise.
    unsafe {
        // The last address known (the connection may be closing).
        if let Some((base, h)) = live(c)
            && let Some(a) = h.peer(base).ok().flatten()
        {
            (*c).sockaddr = crate::http::sockaddr_storage(Some(a));
        }
        if (*c).sockaddr.ss_family == 0 {
            return ptr::null();
        }
        ptr::addr_of!((*c).sockaddr).cast()
    }
}

/// `timeval` as a `Duration`; `None` for null or negative.
fn duration(tv: *const timeval) -> Option<Duration> {
    // SAFETY: null or readable (caller).
    let tv = unsafe { tv.as_ref() }?;
    let us = u64::try_from(tv.tv_usec).ok()?;
    Some(Duration::from_secs(u64::try_from(tv.tv_sec).ok()?) + Duration::from_micros(us))
}

/// `evhttp_connection_set_timeout`: read and write timeouts in seconds
/// (-1: libevent's default, 50 s).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_timeout(c: *mut CClientConn, secs: c_int) {
    ffi((), || {
        let t = Duration::from_secs(u64::try_from(secs).unwrap_or(50));
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_timeouts(base, Some(t), Some(t));
        }
    })
}

/// `evhttp_connection_set_timeout_tv`: null restores libevent's default.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_timeout_tv(c: *mut CClientConn, tv: *const timeval) {
    ffi((), || {
        let t = duration(tv).unwrap_or(Duration::from_secs(50));
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_timeouts(base, Some(t), Some(t));
        }
    })
}

/// `evhttp_connection_set_retries`: -1 retries without end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_retries(c: *mut CClientConn, n: c_int) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_retries(base, u32::try_from(n).ok());
        }
    })
}

/// `evhttp_connection_set_initial_retry_tv`: null restores 2 s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_initial_retry_tv(
    c: *mut CClientConn,
    tv: *const timeval,
) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_initial_retry(base, duration(tv));
        }
    })
}

/// `evhttp_connection_set_local_address`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_local_address(
    c: *mut CClientConn,
    address: *const c_char,
) {
    ffi((), || {
        // SAFETY: null or a live record and a C string (caller).
        if let (Some((base, h)), Some(a)) = (unsafe { live(c) }, unsafe { c_str(address) }) {
            let _ = h.set_local_address(base, a.parse().ok());
        }
    })
}

/// `evhttp_connection_set_local_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_local_port(c: *mut CClientConn, port: u16) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_local_port(base, port);
        }
    })
}

/// `evhttp_connection_set_family`: `AF_INET`, `AF_INET6`, else any.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_family(c: *mut CClientConn, family: c_int) {
    ffi((), || {
        let f = match family {
            libc::AF_INET => AddressFamily::Ipv4,
            libc::AF_INET6 => AddressFamily::Ipv6,
            _ => AddressFamily::Any,
        };
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_family(base, f);
        }
    })
}

/// `evhttp_connection_set_flags`: `EVHTTP_CON_REUSE_CONNECTED_ADDR`
/// (0x0008) and `EVHTTP_CON_READ_ON_WRITE_ERROR` (0x0010); others are
/// refused.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_flags(c: *mut CClientConn, flags: c_int) -> c_int {
    ffi(-1, || {
        let mut f = HttpConnectionFlags::empty();
        if flags & 0x0008 != 0 {
            f |= HttpConnectionFlags::REUSE_CONNECTED_ADDR;
        }
        if flags & 0x0010 != 0 {
            f |= HttpConnectionFlags::READ_ON_WRITE_ERROR;
        }
        if flags & !0x0018 != 0 {
            return -1;
        }
        // SAFETY: null or a live record (caller).
        match unsafe { live(c) } {
            Some((base, h)) => status(h.set_flags(base, f)),
            None => -1,
        }
    })
}

/// `evhttp_connection_set_max_headers_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_max_headers_size(c: *mut CClientConn, n: isize) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_max_headers_size(base, usize::try_from(n).unwrap_or(usize::MAX));
        }
    })
}

/// `evhttp_connection_set_max_body_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_max_body_size(c: *mut CClientConn, n: isize) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if let Some((base, h)) = unsafe { live(c) } {
            let _ = h.set_max_body_size(base, u64::try_from(n).unwrap_or(u64::MAX));
        }
    })
}

/// `evhttp_connection_set_closecb`: run when a connected socket closes
/// (the record's close closure calls it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_closecb(
    c: *mut CClientConn,
    cb: Option<CloseCb>,
    arg: *mut c_void,
) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        if unsafe { live(c) }.is_some() {
            // SAFETY: live.
            unsafe { (*c).close = cb.map(|cb| (cb, arg)) };
        }
    })
}

/// `evhttp_request_new`: a client request whose `cb` gets the answered
/// request, or `NULL` when it failed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_new(cb: Option<RequestCb>, arg: *mut c_void) -> *mut CReq {
    ffi(ptr::null_mut(), || {
        let part = mem::into_raw(ClientPart {
            cb,
            arg,
            header: None,
            chunk: None,
            error: None,
            code: 0,
            code_line: ptr::null_mut(),
            command: 0,
            queued: None,
            conn: ptr::null_mut(),
            depth: 0,
            doomed: false,
        });
        if part.is_null() {
            return ptr::null_mut();
        }
        let p = client_record(part);
        if p.is_null() {
            // SAFETY: ours, not shared.
            unsafe { mem::drop_raw(part) };
        }
        p
    })
}

/// `evhttp_request_free`: frees a request not made, or owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_free(req: *mut CReq) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        unsafe {
            let Some(p) = part(req) else {
                return;
            };
            if let Some(q) = p.queued.take()
                && conn_live(p.conn)
                && let Some(c) = p.conn.as_ref()
                && base::is_live(c.base, c.serial)
            {
                let _ = q.cancel(rust(c.base));
            }
            free_req(req);
        }
    })
}

/// `evhttp_request_set_chunked_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_chunked_cb(req: *mut CReq, cb: Option<RequestCb>) {
    // SAFETY: null or a live record (caller).
    if let Some(p) = unsafe { part(req) } {
        p.chunk = cb;
    }
}

/// `evhttp_request_set_header_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_header_cb(req: *mut CReq, cb: Option<HeaderCb>) {
    // SAFETY: null or a live record (caller).
    if let Some(p) = unsafe { part(req) } {
        p.header = cb;
    }
}

/// `evhttp_request_set_error_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_error_cb(req: *mut CReq, cb: Option<ErrorCb>) {
    // SAFETY: null or a live record (caller).
    if let Some(p) = unsafe { part(req) } {
        p.error = cb;
    }
}

/// `evhttp_request_get_response_code`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_response_code(req: *const CReq) -> c_int {
    // SAFETY: null or a live record (caller).
    unsafe { part(req.cast_mut()) }.map_or(0, |p| p.code)
}

/// `evhttp_request_get_response_code_line`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_response_code_line(req: *const CReq) -> *const c_char {
    // SAFETY: null or a live record (caller).
    unsafe { part(req.cast_mut()) }.map_or(ptr::null(), |p| p.code_line)
}

/// The client command of a request, for `evhttp_request_get_command`.
///
/// # Safety
/// `req` is null or a live record.
pub(crate) unsafe fn client_command(req: *mut CReq) -> Option<c_int> {
    // SAFETY: caller's promise.
    unsafe { part(req) }.map(|p| p.command)
}

/// The method of an `EVHTTP_REQ_*` bit.
fn method_of(cmd: c_int) -> Option<Method> {
    [
        Method::Get,
        Method::Post,
        Method::Head,
        Method::Put,
        Method::Delete,
        Method::Options,
        Method::Trace,
        Method::Connect,
        Method::Patch,
    ]
    .into_iter()
    .find(|m| m.bit().bits() as c_int == cmd)
}

/// libevent's `EVREQ_HTTP_*` code of an error.
fn error_code(e: HttpRequestError) -> c_int {
    match e {
        HttpRequestError::Timeout => 0,
        HttpRequestError::Eof => 1,
        HttpRequestError::InvalidHeader => 2,
        HttpRequestError::BufferError => 3,
        HttpRequestError::Cancelled => 4,
        HttpRequestError::DataTooLong => 5,
    }
}

/// Copies the response's code, reason and fields into the record.
///
/// # Safety
/// `req` is a live client record.
unsafe fn take_head(req: *mut CReq, resp: &Response<'_>) {
    // SAFETY: caller's promise.
    unsafe {
        let p = &mut *(*req).client;
        p.code = c_int::from(resp.code());
        if p.code_line.is_null() {
            p.code_line = mem::c_string(resp.reason().as_bytes());
        }
        keyval::clear(&mut (*req).in_headers);
        let _ = keyval::fill(&mut (*req).in_headers, resp.input_headers());
    }
}

/// Moves what `resp`'s body holds into the record's input buffer.
///
/// # Safety
/// `req` is a live client record.
unsafe fn take_body(req: *mut CReq, resp: &mut Response<'_>) {
    // SAFETY: caller's promise.
    unsafe {
        if let CBuffer::Own(b) = &mut (*req).input {
            let _ = b.add_buffer(resp.input_buffer());
        }
    }
}

/// Runs a C callback of a client request with the base lent.
///
/// # Safety
/// `b` is the live base `base` belongs to.
unsafe fn call<R>(b: *mut CBase, base: &mut EventBase, f: impl FnOnce() -> R) -> R {
    // SAFETY: caller's promise.
    unsafe { with_callback_base(b, base, ptr::null_mut(), f) }
}

/// Runs C callback `f` of request `req` (the base lent); `false` if the
/// callback freed the request (freed now, or by the outer frame).
///
/// # Safety
/// `req` is a live client record; `b` the live base of `base`.
unsafe fn call_req<R>(
    b: *mut CBase,
    base: &mut EventBase,
    req: *mut CReq,
    f: impl FnOnce() -> R,
) -> (bool, R) {
    // SAFETY: caller's promise.
    unsafe {
        enter(req);
        let r = call(b, base, f);
        (leave(req), r)
    }
}

/// Holds `req` against freeing.
///
/// # Safety
/// `req` is a live client record.
unsafe fn enter(req: *mut CReq) {
    // SAFETY: caller's promise.
    unsafe { (*(*req).client).depth += 1 };
}

/// Drops a hold; `false` if the request was freed meanwhile (freed now
/// if this was the last hold).
///
/// # Safety
/// `req` is a live client record held by [`enter`].
unsafe fn leave(req: *mut CReq) -> bool {
    // SAFETY: caller's promise.
    unsafe {
        let p = &mut *(*req).client;
        p.depth -= 1;
        if !p.doomed {
            return true;
        }
        if p.depth == 0 {
            mem::drop_raw(req);
        }
        false
    }
}

/// Frees a client request now, or when its last hold goes.
///
/// # Safety
/// `req` is a live client record.
unsafe fn free_req(req: *mut CReq) {
    // SAFETY: caller's promise.
    unsafe {
        if (*(*req).client).depth > 0 {
            (*(*req).client).doomed = true;
        } else {
            mem::drop_raw(req);
        }
    }
}

/// Ends a client request: frees its record unless owned.
///
/// # Safety
/// `req` is a live client record no longer queued.
unsafe fn release(req: *mut CReq) {
    // SAFETY: caller's promise.
    unsafe {
        (*(*req).client).queued = None;
        if !(*req).owned {
            free_req(req);
        }
    }
}

/// `evhttp_make_request`: queues `req` (its output fields and body) on
/// `c` as `cmd uri`. On failure the request is freed, as libevent does.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_make_request(
    c: *mut CClientConn,
    req: *mut CReq,
    cmd: c_int,
    uri: *const c_char,
) -> c_int {
    ffi(-1, || {
        // SAFETY: live records and a C string (caller).
        unsafe {
            let (Some((base, h)), Some(p), Some(target), Some(method)) =
                (live(c), part(req), c_str(uri), method_of(cmd))
            else {
                if part(req).is_some() {
                    mem::drop_raw(req);
                }
                return -1;
            };
            p.command = cmd;
            p.conn = c;
            mem::free((*req).uri.cast());
            (*req).uri = mem::c_string(target.as_bytes());
            let b = (*c).base;
            // Held: the request may end (a connect refused at once)
            // before this returns.
            enter(req);
            let r = make(base, b, h, req, method, target);
            if let Ok(q) = r
                && !(*(*req).client).doomed
            {
                (*(*req).client).queued = Some(q);
            }
            if r.is_err() {
                free_req(req);
            }
            leave(req);
            if r.is_ok() { 0 } else { -1 }
        }
    })
}

/// Builds and queues rvent's request for the C record `req`.
///
/// # Safety
/// `req` is a live client record; `b` the live base of `base`.
unsafe fn make(
    base: &mut EventBase,
    b: *mut CBase,
    h: HttpConnection,
    req: *mut CReq,
    method: Method,
    target: &str,
) -> Result<QueuedRequest, ()> {
    let mut r = HttpRequest::new(move |base: &mut EventBase, r| {
        // SAFETY: the record lives until this runs (or is freed with
        // the request by evhttp_cancel_request / _request_free, which
        // cancel it first, so this never runs then).
        unsafe {
            let p = &mut *(*req).client;
            match r {
                Ok(mut resp) => {
                    take_head(req, &resp);
                    take_body(req, &mut resp);
                    p.queued = None;
                    if let Some(cb) = p.cb {
                        let arg = p.arg;
                        if !call_req(b, base, req, || cb(req, arg)).0 {
                            return;
                        }
                    }
                    release(req);
                }
                Err(HttpRequestError::Cancelled) => {
                    // The connection was freed: libevent frees its
                    // requests without a call.
                    (*(*req).client).queued = None;
                    free_req(req);
                }
                Err(e) => {
                    let (cb, err, arg) = (p.cb, p.error, p.arg);
                    p.queued = None;
                    if let Some(err) = err
                        && !call_req(b, base, req, || err(error_code(e), arg)).0
                    {
                        return;
                    }
                    if let Some(cb) = cb {
                        call(b, base, || cb(ptr::null_mut(), arg));
                    }
                    (*req).owned = false;
                    release(req);
                }
            }
        }
    })
    .map_err(drop)?;
    // SAFETY: caller's promise.
    unsafe {
        let p = &mut *(*req).client;
        if p.header.is_some() {
            r.set_header_cb(move |base, resp| {
                let p = &mut *(*req).client;
                take_head(req, resp);
                if let Some(cb) = p.header {
                    let arg = p.arg;
                    let (live, r) = call_req(b, base, req, || cb(req, arg));
                    if live && r < 0 {
                        // libevent fails the request with EOF.
                        fail_from_callback(base, b, req, HttpRequestError::Eof);
                    }
                }
            })
            .map_err(drop)?;
        }
        if p.chunk.is_some() {
            r.set_chunked_cb(move |base, resp| {
                let p = &mut *(*req).client;
                if p.code == 0 {
                    take_head(req, resp);
                }
                take_body(req, resp);
                if let Some(cb) = p.chunk {
                    let arg = p.arg;
                    if !call_req(b, base, req, || cb(req, arg)).0 {
                        return;
                    }
                }
                if let CBuffer::Own(buf) = &mut (*req).input {
                    let _ = buf.drain(buf.len());
                }
            })
            .map_err(drop)?;
        }
        let mut headers = Headers::new();
        keyval::write_to(&(*req).out_headers, &mut headers);
        let CBuffer::Own(body) = &mut (*req).output else {
            return Err(());
        };
        *r.output_headers() = headers;
        r.output_buffer().add_buffer(body).map_err(drop)?;
        set_conn_peer(&mut *req, h.peer(base).ok().flatten());
        h.make_request_with(base, r, method, target).map_err(drop)
    }
}

/// A header callback returned -1: the request is cancelled, then its
/// error callback and its callback run as libevent's failure would.
///
/// # Safety
/// `req` is a live, queued client record.
unsafe fn fail_from_callback(
    base: &mut EventBase,
    b: *mut CBase,
    req: *mut CReq,
    e: HttpRequestError,
) {
    // SAFETY: caller's promise.
    unsafe {
        let p = &mut *(*req).client;
        if let Some(q) = p.queued.take() {
            let _ = q.cancel(base);
        }
        let (cb, err, arg) = (p.cb, p.error, p.arg);
        if let Some(err) = err {
            call(b, base, || err(error_code(e), arg));
        }
        if let Some(cb) = cb {
            call(b, base, || cb(ptr::null_mut(), arg));
        }
        free_req(req);
    }
}

/// `evhttp_cancel_request`: none of the request's callbacks runs; the
/// request is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_cancel_request(req: *mut CReq) {
    ffi((), || {
        // SAFETY: null or a live record (caller).
        unsafe {
            let Some(p) = part(req) else {
                return;
            };
            if let Some(q) = p.queued.take()
                && conn_live(p.conn)
                && let Some(c) = p.conn.as_ref()
                && base::is_live(c.base, c.serial)
            {
                let _ = q.cancel(rust(c.base));
            }
            free_req(req);
        }
    })
}
