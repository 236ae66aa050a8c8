//! The client half of `evhttp`: `struct evhttp_connection` on rvent's
//! [`HttpConnection`], and client requests (`evhttp_request_new`,
//! `evhttp_make_request`) on its [`HttpRequest`].
//!
//! # A connection's C record
//! A [`CClientConn`] starts with the same kind word as a server request's
//! connection view ([`crate::http::CConn`]), so the `evhttp_connection_*`
//! getters taking either can tell them apart. The record is owned by the
//! close closure the shim registers with rvent when it makes the
//! connection: rvent drops that closure when the connection goes —
//! `evhttp_connection_free`, `evhttp_connection_free_on_completion`
//! after the last request, or the base's end — and the record goes with
//! it, whichever path rvent took.
//!
//! # A request's C record
//! A client request is a [`CReq`] with no rvent handle: its buffers are
//! its own (`evbuffer`s of the record), its lists are the C lists as they
//! are, and its client state is a [`ClientReq`]. `evhttp_make_request`
//! moves the output list and body into an rvent [`HttpRequest`] whose
//! closures reach the record. libevent's ownership rules hold: the
//! record has one hold for "libevent owns it", given up after the
//! request's callback returns unless `evhttp_request_own` was called,
//! before the callbacks on a failure (which get a `NULL` request), when
//! `evhttp_make_request` fails, and when the request is cancelled or its
//! connection freed (no callback then). Running callbacks hold the
//! record too, so a callback may cancel or free its own request.

use std::ffi::{c_char, c_int, c_void};
use std::net::{IpAddr, SocketAddr};
use std::ptr;
use std::time::Duration;

use libc::timeval;
use rvent::http::{
    HttpConnection, HttpConnectionFlags, HttpRequest, HttpRequestError, Method, QueuedRequest,
    Response,
};
use rvent::{AddressFamily, EventBase, Layers};

use crate::base::{self, CBase, duration, rust, with_callback_base};
use crate::buffer::{self, CBuffer};
use crate::http::{self, CConn, CHttp, CReq, ConnKind, ReqRef};
use crate::uri::c_str;
use crate::{ffi, keyval, mem, status};

/// A request's callback (`evhttp_request_new`; `NULL` on failure) and
/// its chunk callback.
type RequestCb = unsafe extern "C" fn(*mut CReq, *mut c_void);
/// `evhttp_request_set_error_cb`'s callback.
type ErrorCb = unsafe extern "C" fn(c_int, *mut c_void);
/// `evhttp_request_set_header_cb`'s callback: < 0 fails the request.
type HeaderCb = unsafe extern "C" fn(*mut CReq, *mut c_void) -> c_int;
/// `evhttp_connection_set_closecb`'s callback.
type CloseCb = unsafe extern "C" fn(*mut CClientConn, *mut c_void);

/// libevent's `EVREQ_HTTP_REQUEST_CANCEL`.
const EVREQ_HTTP_REQUEST_CANCEL: c_int = 4;
/// libevent's `EVREQ_HTTP_EOF`.
const EVREQ_HTTP_EOF: c_int = 1;
/// `EVHTTP_CON_REUSE_CONNECTED_ADDR`.
const EVHTTP_CON_REUSE_CONNECTED_ADDR: c_int = 0x0008;
/// `EVHTTP_CON_READ_ON_WRITE_ERROR`.
const EVHTTP_CON_READ_ON_WRITE_ERROR: c_int = 0x0010;
/// `EVHTTP_CON_LINGERING_CLOSE` (a server flag; accepted, no effect on a
/// client).
const EVHTTP_CON_LINGERING_CLOSE: c_int = 0x0020;
/// libevent's default read / write timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(50);
/// libevent's default connect timeout.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// A client request's state in its [`CReq`].
pub struct ClientReq {
    /// The connection it was made on (null before).
    pub(crate) conn: *mut CClientConn,
    /// rvent's handle while queued or in flight.
    queued: Option<QueuedRequest>,
    /// The next pending request of the connection (a list in rvent's
    /// order, whose head is the one in flight).
    next: *mut CReq,
    cb: Option<RequestCb>,
    arg: *mut c_void,
    error_cb: Option<ErrorCb>,
    header_cb: Option<HeaderCb>,
    chunk_cb: Option<RequestCb>,
    code: c_int,
    code_line: *mut c_char,
    /// The `EVHTTP_REQ_*` it was made with (`evhttp_request_get_command`).
    pub(crate) cmd: c_int,
    /// libevent's hold was given up.
    released: bool,
}

impl ClientReq {
    /// A server request's (unused) client state.
    pub(crate) const NONE: ClientReq = ClientReq {
        conn: ptr::null_mut(),
        queued: None,
        next: ptr::null_mut(),
        cb: None,
        arg: ptr::null_mut(),
        error_cb: None,
        header_cb: None,
        chunk_cb: None,
        code: 0,
        code_line: ptr::null_mut(),
        cmd: 0,
        released: false,
    };
}

impl Drop for ClientReq {
    fn drop(&mut self) {
        // SAFETY: from `mem::c_string` or null.
        unsafe { mem::free(self.code_line.cast()) };
    }
}

/// `struct evhttp_connection` of a client (see the module docs).
#[repr(C)]
pub struct CClientConn {
    kind: ConnKind,
    base: *mut CBase,
    serial: u64,
    handle: HttpConnection,
    /// The address or host name given, as a C string.
    address: *mut c_char,
    port: u16,
    /// The address last connected to (`evhttp_connection_get_addr`).
    addr: libc::sockaddr_storage,
    closecb: Option<(CloseCb, *mut c_void)>,
    /// The pending requests, in order (through [`ClientReq::next`]).
    head: *mut CReq,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl Drop for CClientConn {
    fn drop(&mut self) {
        // SAFETY: from `mem::c_string`.
        unsafe { mem::free(self.address.cast()) };
    }
}

/// The record's owner, kept in rvent's close closure.
struct ConnOwner(*mut CClientConn);

impl ConnOwner {
    fn record(&self) -> *mut CClientConn {
        self.0
    }
}

impl Drop for ConnOwner {
    fn drop(&mut self) {
        // SAFETY: the record lives as long as this owner.
        unsafe { mem::drop_raw(self.0) };
    }
}

/// The live base and handle of a connection record.
///
/// # Safety
/// `c` is null or a live record.
unsafe fn live<'a>(c: *mut CClientConn) -> Option<(&'a mut EventBase, HttpConnection, *mut CBase)> {
    // SAFETY: caller's promise.
    let r = unsafe { c.as_ref() }?;
    if r.kind != ConnKind::Client || !base::is_live(r.base, r.serial) {
        return None;
    }
    // SAFETY: a live base.
    Some((unsafe { rust(r.base) }, r.handle, r.base))
}

/// The client record behind a `struct evhttp_connection *`, if it is one.
///
/// # Safety
/// `c` is null or a live record of either kind.
unsafe fn client<'a>(c: *mut CClientConn) -> Option<&'a mut CClientConn> {
    // SAFETY: both kinds start with the kind word.
    unsafe { c.as_mut() }.filter(|r| r.kind == ConnKind::Client)
}

/// The server view behind a `struct evhttp_connection *`, if it is one.
///
/// # Safety
/// As [`client`].
unsafe fn server_view<'a>(c: *mut CClientConn) -> Option<&'a CConn> {
    // SAFETY: both kinds start with the kind word.
    unsafe { c.cast::<CConn>().as_ref() }.filter(|v| v.kind == ConnKind::Server)
}

/// `evhttp_connection_get_peer` of a client connection: the address or
/// host name given and the port.
///
/// # Safety
/// `c` is a live client record; the outputs are null or writable.
pub(crate) unsafe fn peer(c: *mut CClientConn, address: *mut *const c_char, port: *mut u16) {
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

/// Gives up libevent's hold on a request (once).
///
/// # Safety
/// `p` is a live client record.
pub(crate) unsafe fn release(p: *mut CReq) {
    // SAFETY: caller's promise; the hold is the one `client_record` took.
    unsafe {
        if !(*p).client.released {
            (*p).client.released = true;
            drop(ReqRef(p));
        }
    }
}

/// Gives up libevent's hold unless the caller owns the request
/// (libevent's `evhttp_request_free_auto`).
///
/// # Safety
/// As [`release`].
unsafe fn release_auto(p: *mut CReq) {
    // SAFETY: caller's promise.
    unsafe {
        if !(*p).owned {
            release(p);
        }
    }
}

/// Takes `p` off its connection's pending list and detaches it from the
/// connection (libevent does so before an answered request's callback:
/// `evhttp_request_get_connection` is NULL there); whether it was the
/// head (the request in flight).
///
/// # Safety
/// `p` is a live client record whose connection, if any, is live.
unsafe fn unlink(p: *mut CReq) -> bool {
    // SAFETY: caller's promise; the list holds live records.
    unsafe {
        let c = std::mem::replace(&mut (*p).client.conn, ptr::null_mut());
        if c.is_null() {
            return false;
        }
        let mut at: *mut *mut CReq = &mut (*c).head;
        let first = *at == p;
        while !(*at).is_null() {
            if *at == p {
                *at = (*p).client.next;
                (*p).client.next = ptr::null_mut();
                return first;
            }
            at = &mut (**at).client.next;
        }
        false
    }
}

/// libevent's `enum evhttp_request_error` value of `e`.
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

/// The method of an `EVHTTP_REQ_*` bit.
fn method_of(cmd: c_int) -> Option<Method> {
    let token: &[u8] = match cmd {
        0x001 => b"GET",
        0x002 => b"POST",
        0x004 => b"HEAD",
        0x008 => b"PUT",
        0x010 => b"DELETE",
        0x020 => b"OPTIONS",
        0x040 => b"TRACE",
        0x080 => b"CONNECT",
        0x100 => b"PATCH",
        _ => return None,
    };
    Some(Method::from_token(token))
}

/// Copies the response's status and fields into the record (once per
/// response: the header callback's copy serves the others).
///
/// # Safety
/// `p` is a live client record.
unsafe fn take_head(p: *mut CReq, resp: &Response<'_>) {
    // SAFETY: caller's promise.
    unsafe {
        if (*p).client.code != 0 {
            return;
        }
        set_status(&mut *p, c_int::from(resp.code()), resp.reason().as_bytes());
        keyval::clear(&mut (*p).in_headers);
        let _ = keyval::fill(&mut (*p).in_headers, resp.input_headers());
    }
}

/// Sets a request's response code and line.
pub(crate) fn set_status(r: &mut CReq, code: c_int, reason: &[u8]) {
    r.client.code = code;
    // SAFETY: from `mem::c_string` or null.
    unsafe { mem::free(r.client.code_line.cast()) };
    r.client.code_line = mem::c_string(reason);
}

/// Moves the response's body bytes into the record's input buffer.
///
/// # Safety
/// `p` is a live client record.
unsafe fn take_body(p: *mut CReq, resp: &mut Response<'_>) {
    // SAFETY: caller's promise; the input buffer is the record's own.
    unsafe {
        let input: *mut CBuffer = &mut (*p).input;
        buffer::with(input, (), |b| {
            let _ = b.add_buffer(resp.input_buffer());
        });
    }
}

/// Keeps the address the connection last connected to in its record,
/// for `evhttp_connection_get_addr` in a close callback run by
/// `evhttp_connection_free` (rvent has let the connection go by then).
///
/// # Safety
/// `c` is null or a live client record.
unsafe fn remember_peer(c: *mut CClientConn) {
    // SAFETY: caller's promise.
    unsafe {
        if let Some((base, h, _)) = live(c)
            && let Ok(Some(a)) = h.peer(base)
        {
            (*c).addr = crate::evutil::sockaddr_of(&a).0;
        }
    }
}

/// Runs `f` as a callback of base `b` (lent as `base`) holding `p`.
///
/// # Safety
/// `p` is a live record; `b` a live base, `base` its rvent base.
unsafe fn run<R>(b: *mut CBase, base: &mut EventBase, p: *mut CReq, f: impl FnOnce() -> R) -> R {
    // SAFETY: caller's promise.
    unsafe {
        let hold = ReqRef::new(p);
        let r = with_callback_base(b, base, ptr::null_mut(), f);
        drop(hold);
        r
    }
}

/// Fails a request the shim ended itself (a header callback's -1, a
/// cancel in flight): libevent frees it first, then calls the error
/// callback with `error` and, unless cancelled, the callback with `NULL`.
///
/// # Safety
/// `p` is a live client record, already off rvent's queue and its list.
unsafe fn fail(b: *mut CBase, base: &mut EventBase, p: *mut CReq, error: c_int) {
    // SAFETY: caller's promise.
    unsafe {
        let c = &(*p).client;
        let (cb, ecb, arg) = (c.cb, c.error_cb, c.arg);
        release_auto(p);
        with_callback_base(b, base, ptr::null_mut(), || {
            if let Some(f) = ecb {
                f(error, arg);
            }
            if error != EVREQ_HTTP_REQUEST_CANCEL
                && let Some(f) = cb
            {
                f(ptr::null_mut(), arg);
            }
        });
    }
}

/// rvent's completion of request `p`.
///
/// # Safety
/// `p` is a live client record made on a connection of base `b`.
unsafe fn complete(
    b: *mut CBase,
    base: &mut EventBase,
    p: *mut CReq,
    r: Result<Response<'_>, HttpRequestError>,
) {
    // SAFETY: caller's promise.
    unsafe {
        (*p).client.queued = None;
        match r {
            Ok(mut resp) => {
                remember_peer((*p).client.conn);
                unlink(p);
                take_head(p, &resp);
                take_body(p, &mut resp);
                let (cb, arg) = ((*p).client.cb, (*p).client.arg);
                run(b, base, p, || {
                    if let Some(f) = cb {
                        f(p, arg);
                    }
                    release_auto(p);
                });
            }
            // The connection is being freed: libevent frees its requests
            // without a call.
            Err(HttpRequestError::Cancelled) => {
                (*p).client.conn = ptr::null_mut();
                release_auto(p);
            }
            Err(e) => {
                remember_peer((*p).client.conn);
                unlink(p);
                fail(b, base, p, error_code(e));
            }
        }
    }
}

/// The rvent request for record `p` of base `b`: its closures, output
/// fields and body.
///
/// # Safety
/// `p` is a live client record.
unsafe fn rvent_request(b: *mut CBase, p: *mut CReq) -> Option<HttpRequest<Layers>> {
    // SAFETY: caller's promise; the closures run while the record lives
    // (a pending request is held by libevent's hold or by its owner).
    unsafe {
        let mut req = HttpRequest::new(
            move |base: &mut EventBase, r: Result<Response<'_>, HttpRequestError>| {
                complete(b, base, p, r);
            },
        )
        .ok()?;
        if let Some(hcb) = (*p).client.header_cb {
            req.set_header_cb(move |base: &mut EventBase, resp: &Response<'_>| {
                take_head(p, resp);
                let arg = (*p).client.arg;
                let rc = run(b, base, p, || hcb(p, arg));
                if rc < 0
                    && let Some(q) = (*p).client.queued.take()
                {
                    let _ = q.cancel(base);
                    unlink(p);
                    fail(b, base, p, EVREQ_HTTP_EOF);
                }
            })
            .ok()?;
        }
        if let Some(ccb) = (*p).client.chunk_cb {
            req.set_chunked_cb(move |base: &mut EventBase, resp: &mut Response<'_>| {
                take_head(p, resp);
                take_body(p, resp);
                let arg = (*p).client.arg;
                run(b, base, p, || {
                    ccb(p, arg);
                    let input: *mut CBuffer = &mut (*p).input;
                    buffer::with(input, (), |b| {
                        let _ = b.drain(b.len());
                    });
                });
            })
            .ok()?;
        }
        keyval::write_to(&(*p).out_headers, req.output_headers());
        let output: *mut CBuffer = &mut (*p).output;
        buffer::with(output, Some(()), |b| req.output_buffer().add_buffer(b).ok())?;
        Some(req)
    }
}

/// Applies the record's read / write timeouts to rvent.
///
/// # Safety
/// `c` is a live client record.
unsafe fn apply_timeouts(c: *mut CClientConn) {
    // SAFETY: caller's promise.
    unsafe {
        if let Some((base, h, _)) = live(c) {
            let _ = h.set_timeouts(base, (*c).read_timeout, (*c).write_timeout);
        }
    }
}

/// A `timeval` as a timeout: `None` for null or all zero (libevent's
/// "cleared").
///
/// # Safety
/// `tv` is null or readable.
unsafe fn timeout_of(tv: *const timeval) -> Option<Duration> {
    // SAFETY: caller's promise.
    unsafe { tv.as_ref() }
        .filter(|t| t.tv_sec != 0 || t.tv_usec != 0)
        .map(duration)
}

/// `evhttp_connection_base_bufferevent_new`: `bev` must be null or not
/// yet connected (no socket): the connection makes its own socket
/// bufferevent then, as libevent would connect `bev`; `bev` is freed.
/// A connected `bev` is refused (see the README).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_base_bufferevent_new(
    b: *mut CBase,
    dns: *mut c_void,
    bev: *mut crate::bufferevent::CBev,
    address: *const c_char,
    port: u16,
) -> *mut CClientConn {
    ffi(ptr::null_mut(), || {
        // SAFETY: null or live (caller).
        unsafe {
            if !bev.is_null() {
                if crate::bufferevent::bufferevent_getfd(bev) >= 0 {
                    return ptr::null_mut();
                }
                crate::bufferevent::bufferevent_free(bev);
            }
            evhttp_connection_base_new(b, dns, address, port)
        }
    })
}

/// `evhttp_connection_base_new`: to an IP address or a host name (looked
/// up by rvent on a helper thread; the `evdns_base` is not used).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_base_new(
    b: *mut CBase,
    _dns: *mut c_void,
    address: *const c_char,
    port: u16,
) -> *mut CClientConn {
    ffi(ptr::null_mut(), || {
        // SAFETY: a C string (caller).
        let (false, Some(name)) = (b.is_null(), unsafe { c_str(address) }) else {
            return ptr::null_mut();
        };
        // SAFETY: a live base (caller).
        let base = unsafe { rust(b) };
        let made = match name.parse::<IpAddr>() {
            Ok(ip) => HttpConnection::new(base, SocketAddr::new(ip, port)),
            Err(_) => HttpConnection::new_hostname(base, name, port),
        };
        let Ok(h) = made else {
            return ptr::null_mut();
        };
        let p = mem::into_raw(CClientConn {
            kind: ConnKind::Client,
            base: b,
            // SAFETY: a live base.
            serial: unsafe { (*b).serial },
            handle: h,
            address: mem::c_string(name.as_bytes()),
            port,
            // SAFETY: all-zero is a valid sockaddr_storage.
            addr: unsafe { std::mem::zeroed() },
            closecb: None,
            head: ptr::null_mut(),
            read_timeout: Some(DEFAULT_TIMEOUT),
            write_timeout: Some(DEFAULT_TIMEOUT),
        });
        // SAFETY: `p` is null or fresh.
        if p.is_null() || unsafe { (*p).address.is_null() } {
            if !p.is_null() {
                // SAFETY: fresh, not shared.
                unsafe { mem::drop_raw(p) };
            }
            let _ = h.free(base);
            return ptr::null_mut();
        }
        let owner = ConnOwner(p);
        let closed = h.set_close_cb(base, move |base: &mut EventBase, _| {
            // (A method call, so the closure captures the owner, not its
            // field.)
            let c = owner.record();
            // SAFETY: the record lives while this closure does.
            unsafe {
                if let Some((cb, arg)) = (*c).closecb {
                    with_callback_base(b, base, ptr::null_mut(), || cb(c, arg));
                }
            }
        });
        if closed.is_err() {
            // The closure, and with it the record, was dropped.
            let _ = h.free(base);
            return ptr::null_mut();
        }
        p
    })
}

/// `evhttp_connection_free`: the close callback runs if it had
/// connected; requests not yet complete are freed without a call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_free(c: *mut CClientConn) {
    ffi((), || {
        // SAFETY: null or live (caller); rvent drops the record with the
        // close closure.
        if let Some((base, h, _)) = unsafe { live(c) } {
            let _ = h.free(base);
        }
    })
}

/// `evhttp_connection_free_on_completion`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_free_on_completion(c: *mut CClientConn) {
    ffi((), || {
        // SAFETY: null or live (caller).
        if let Some((base, h, _)) = unsafe { live(c) } {
            let _ = h.free_on_completion(base);
        }
    })
}

/// `evhttp_connection_set_timeout`: read, write and connect timeouts;
/// -1 restores the defaults.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_timeout(c: *mut CClientConn, secs: c_int) {
    let tv = timeval {
        tv_sec: secs.into(),
        tv_usec: 0,
    };
    // SAFETY: null or live (caller).
    unsafe { evhttp_connection_set_timeout_tv(c, if secs == -1 { ptr::null() } else { &tv }) };
}

/// `evhttp_connection_set_timeout_tv`: read, write and connect
/// timeouts; null restores the defaults.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_timeout_tv(c: *mut CClientConn, tv: *const timeval) {
    ffi((), || {
        // SAFETY: null or live; `tv` null or readable (caller).
        unsafe {
            let t = timeout_of(tv);
            let Some(r) = client(c) else {
                return;
            };
            r.read_timeout = Some(t.unwrap_or(DEFAULT_TIMEOUT));
            r.write_timeout = Some(t.unwrap_or(DEFAULT_TIMEOUT));
            apply_timeouts(c);
            if let Some((base, h, _)) = live(c) {
                let _ = h.set_connect_timeout(base, Some(t.unwrap_or(DEFAULT_CONNECT_TIMEOUT)));
            }
        }
    })
}

/// `evhttp_connection_set_connect_timeout_tv` (2.2); null: the default.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_connect_timeout_tv(
    c: *mut CClientConn,
    tv: *const timeval,
) {
    ffi((), || {
        // SAFETY: null or live; `tv` null or readable (caller).
        unsafe {
            if let Some((base, h, _)) = live(c) {
                let t = timeout_of(tv).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
                let _ = h.set_connect_timeout(base, Some(t));
            }
        }
    })
}

/// `evhttp_connection_set_read_timeout_tv` (2.2); null: the default.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_read_timeout_tv(
    c: *mut CClientConn,
    tv: *const timeval,
) {
    ffi((), || {
        // SAFETY: null or live; `tv` null or readable (caller).
        unsafe {
            if let Some(r) = client(c) {
                r.read_timeout = Some(timeout_of(tv).unwrap_or(DEFAULT_TIMEOUT));
                apply_timeouts(c);
            }
        }
    })
}

/// `evhttp_connection_set_write_timeout_tv` (2.2); null: the default.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_write_timeout_tv(
    c: *mut CClientConn,
    tv: *const timeval,
) {
    ffi((), || {
        // SAFETY: null or live; `tv` null or readable (caller).
        unsafe {
            if let Some(r) = client(c) {
                r.write_timeout = Some(timeout_of(tv).unwrap_or(DEFAULT_TIMEOUT));
                apply_timeouts(c);
            }
        }
    })
}

/// `evhttp_connection_set_initial_retry_tv`; null: 2 s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_initial_retry_tv(
    c: *mut CClientConn,
    tv: *const timeval,
) {
    ffi((), || {
        // SAFETY: null or live; `tv` null or readable (caller).
        unsafe {
            if let Some((base, h, _)) = live(c) {
                let t = tv.as_ref().map(duration);
                let _ = h.set_initial_retry(base, t);
            }
        }
    })
}

/// `evhttp_connection_set_retries`: -1 without end.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_retries(c: *mut CClientConn, n: c_int) {
    ffi((), || {
        // SAFETY: null or live (caller).
        if let Some((base, h, _)) = unsafe { live(c) } {
            let _ = h.set_retries(base, u32::try_from(n).ok());
        }
    })
}

/// `evhttp_connection_set_closecb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_closecb(
    c: *mut CClientConn,
    cb: Option<CloseCb>,
    arg: *mut c_void,
) {
    // SAFETY: null or live (caller).
    if let Some(r) = unsafe { client(c) } {
        r.closecb = cb.map(|cb| (cb, arg));
    }
}

/// `evhttp_connection_set_local_address`: an IP literal; null for any.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_local_address(
    c: *mut CClientConn,
    address: *const c_char,
) {
    ffi((), || {
        // SAFETY: null or live; a C string or null (caller).
        unsafe {
            if let Some((base, h, _)) = live(c) {
                let ip = c_str(address).and_then(|a| a.parse::<IpAddr>().ok());
                let _ = h.set_local_address(base, ip);
            }
        }
    })
}

/// `evhttp_connection_set_local_port`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_local_port(c: *mut CClientConn, port: u16) {
    ffi((), || {
        // SAFETY: null or live (caller).
        if let Some((base, h, _)) = unsafe { live(c) } {
            let _ = h.set_local_port(base, port);
        }
    })
}

/// `evhttp_connection_set_family`: `AF_INET`, `AF_INET6` or
/// `AF_UNSPEC`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_family(c: *mut CClientConn, family: c_int) {
    ffi((), || {
        let f = match family {
            libc::AF_INET => AddressFamily::Ipv4,
            libc::AF_INET6 => AddressFamily::Ipv6,
            _ => AddressFamily::Any,
        };
        // SAFETY: null or live (caller).
        if let Some((base, h, _)) = unsafe { live(c) } {
            let _ = h.set_family(base, f);
        }
    })
}

/// `evhttp_connection_set_flags`: -1 for a flag libevent does not know.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_flags(c: *mut CClientConn, flags: c_int) -> c_int {
    ffi(-1, || {
        let known = EVHTTP_CON_REUSE_CONNECTED_ADDR
            | EVHTTP_CON_READ_ON_WRITE_ERROR
            | EVHTTP_CON_LINGERING_CLOSE;
        if flags & !known != 0 {
            return -1;
        }
        let mut f = HttpConnectionFlags::empty();
        if flags & EVHTTP_CON_REUSE_CONNECTED_ADDR != 0 {
            f |= HttpConnectionFlags::REUSE_CONNECTED_ADDR;
        }
        if flags & EVHTTP_CON_READ_ON_WRITE_ERROR != 0 {
            f |= HttpConnectionFlags::READ_ON_WRITE_ERROR;
        }
        // SAFETY: null or live (caller).
        match unsafe { live(c) } {
            Some((base, h, _)) => status(h.set_flags(base, f)),
            None => -1,
        }
    })
}

/// `evhttp_connection_set_max_headers_size`: negative for no limit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_max_headers_size(c: *mut CClientConn, n: isize) {
    ffi((), || {
        // SAFETY: null or live (caller).
        if let Some((base, h, _)) = unsafe { live(c) } {
            let n = usize::try_from(n).unwrap_or(usize::MAX).max(1);
            let _ = h.set_max_headers_size(base, n);
        }
    })
}

/// `evhttp_connection_set_max_body_size`: negative for no limit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_set_max_body_size(c: *mut CClientConn, n: isize) {
    ffi((), || {
        // SAFETY: null or live (caller).
        if let Some((base, h, _)) = unsafe { live(c) } {
            let _ = h.set_max_body_size(base, u64::try_from(n).unwrap_or(u64::MAX));
        }
    })
}

/// `evhttp_connection_get_base`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_get_base(c: *mut CClientConn) -> *mut CBase {
    // SAFETY: null or live, of either kind (caller).
    unsafe {
        if let Some(r) = client(c) {
            return r.base;
        }
        server_view(c).map_or(ptr::null_mut(), http::view_base)
    }
}

/// `evhttp_connection_get_server`: the server of a request's connection,
/// null for a client connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_get_server(c: *mut CClientConn) -> *mut CHttp {
    // SAFETY: null or live, of either kind (caller).
    unsafe { server_view(c) }.map_or(ptr::null_mut(), |v| v.server)
}

/// `evhttp_connection_get_addr`: the address connected to (null before
/// the first connect); a server request's peer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_get_addr(c: *mut CClientConn) -> *const libc::sockaddr {
    ffi(ptr::null(), || {
        // SAFETY: null or live, of either kind (caller).
        unsafe {
            if let Some(v) = server_view(c) {
                return ptr::addr_of!(v.addr).cast();
            }
            let Some(r) = client(c) else {
                return ptr::null();
            };
            remember_peer(c);
            if r.addr.ss_family == 0 {
                return ptr::null();
            }
            ptr::addr_of!(r.addr).cast()
        }
    })
}

/// `evhttp_request_new`: a client request whose `cb` gets the answered
/// request, or `NULL` when it failed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_new(cb: Option<RequestCb>, arg: *mut c_void) -> *mut CReq {
    ffi(ptr::null_mut(), || {
        http::client_record(ClientReq {
            cb,
            arg,
            ..ClientReq::NONE
        })
    })
}

/// `evhttp_request_free`: a client request never made, or an owned one;
/// a pending one leaves its connection's queue first. Nothing for a
/// server request (its record goes when rvent lets the request go).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_free(p: *mut CReq) {
    ffi((), || {
        // SAFETY: null or a live client record (caller).
        unsafe {
            let Some(r) = p.as_mut().filter(|r| r.is_client()) else {
                // A server request is rvent's until answered or its
                // connection is gone; the record goes then.
                return;
            };
            if let Some(q) = r.client.queued.take() {
                if let Some((base, _, _)) = live(r.client.conn) {
                    let _ = q.cancel(base);
                }
                unlink(p);
            }
            release(p);
        }
    })
}

/// `evhttp_request_set_error_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_error_cb(p: *mut CReq, cb: Option<ErrorCb>) {
    // SAFETY: null or live (caller).
    if let Some(r) = unsafe { p.as_mut() } {
        r.client.error_cb = cb;
    }
}

/// `evhttp_request_set_header_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_header_cb(p: *mut CReq, cb: Option<HeaderCb>) {
    // SAFETY: null or live (caller).
    if let Some(r) = unsafe { p.as_mut() } {
        r.client.header_cb = cb;
    }
}

/// `evhttp_request_set_chunked_cb`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_chunked_cb(p: *mut CReq, cb: Option<RequestCb>) {
    // SAFETY: null or live (caller).
    if let Some(r) = unsafe { p.as_mut() } {
        r.client.chunk_cb = cb;
    }
}

/// `evhttp_request_get_response_code`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_response_code(p: *const CReq) -> c_int {
    // SAFETY: null or live (caller).
    unsafe { p.as_ref() }.map_or(0, |r| r.client.code)
}

/// `evhttp_request_get_response_code_line`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_response_code_line(p: *const CReq) -> *const c_char {
    // SAFETY: null or live (caller).
    unsafe { p.as_ref() }.map_or(ptr::null(), |r| r.client.code_line)
}

/// `evhttp_make_request`: queues `p` on `c`. The request is libevent's
/// from here on, even when this fails (-1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_make_request(
    c: *mut CClientConn,
    p: *mut CReq,
    cmd: c_int,
    uri: *const c_char,
) -> c_int {
    ffi(-1, || {
        // SAFETY: live records and a C string (caller).
        unsafe {
            // A request made already (libevent asserts) or a server's.
            if p.as_ref()
                .is_none_or(|r| !r.is_client() || !r.client.conn.is_null() || r.client.released)
            {
                return -1;
            }
            let (Some((base, h, b)), Some(method), Some(target)) =
                (live(c), method_of(cmd), c_str(uri))
            else {
                release_auto(p);
                return -1;
            };
            mem::free((*p).uri.cast());
            (*p).uri = mem::c_string(target.as_bytes());
            (*p).base = b;
            (*p).serial = (*b).serial;
            (*p).client.cmd = cmd;
            (*p).client.code = 0;
            let Some(req) = rvent_request(b, p) else {
                release_auto(p);
                return -1;
            };
            // Pending from here: on the list before rvent may complete it.
            (*p).client.conn = c;
            let mut at: *mut *mut CReq = &mut (*c).head;
            while !(*at).is_null() {
                at = &mut (**at).client.next;
            }
            *at = p;
            let hold = ReqRef::new(p);
            let rc = match h.make_request_with(base, req, method, target) {
                Ok(q) => {
                    if q.is_pending(base) {
                        (*p).client.queued = Some(q);
                    }
                    0
                }
                Err(_) => {
                    unlink(p);
                    release_auto(p);
                    -1
                }
            };
            drop(hold);
            rc
        }
    })
}

/// `evhttp_cancel_request`: no callback of the request runs again; one
/// in flight also gets its error callback (`EVREQ_HTTP_REQUEST_CANCEL`)
/// and its socket closes. The request is freed unless owned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_cancel_request(p: *mut CReq) {
    ffi((), || {
        // SAFETY: null or a live client record (caller).
        unsafe {
            let Some(r) = p.as_mut().filter(|r| r.is_client()) else {
                return;
            };
            let Some(q) = r.client.queued.take() else {
                return release_auto(p);
            };
            let Some((base, _, b)) = live(r.client.conn) else {
                return release_auto(p);
            };
            let _ = q.cancel(base);
            let hold = ReqRef::new(p);
            if unlink(p) {
                fail(b, base, p, EVREQ_HTTP_REQUEST_CANCEL);
            } else {
                release_auto(p);
            }
            drop(hold);
        }
    })
}

/// `evhttp_connection_get_bufferevent`: not available (rvent's client
/// bufferevent has no C record); null.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_get_bufferevent(
    _c: *mut CClientConn,
) -> *mut crate::bufferevent::CBev {
    ptr::null_mut()
}

/// `evhttp_connection_fail_` (libevent-internal, exported; its tests call
/// it): fails the client connection's request in flight with `error`, as
/// a network error would — its socket closes, the error callback runs,
/// then its callback with `NULL` (none for a cancel). Nothing for a
/// server request's connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_fail_(c: *mut CClientConn, error: c_int) {
    ffi((), || {
        // SAFETY: null or live (caller); the list holds live records.
        unsafe {
            let Some((base, _, b)) = live(c) else {
                return;
            };
            let p = (*c).head;
            let Some(q) = p.as_mut().and_then(|r| r.client.queued.take()) else {
                return;
            };
            let _ = q.cancel(base);
            let hold = ReqRef::new(p);
            unlink(p);
            fail(b, base, p, error);
            drop(hold);
        }
    })
}
