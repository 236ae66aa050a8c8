//! The server half of `evhttp`: `struct evhttp` on rvent's [`Http`],
//! `struct evhttp_request` on its [`Request`], and the sockets
//! (`struct evhttp_bound_socket`).
//!
//! # A request's C record
//! rvent's request is a handle, live until its reply is sent. The C
//! pointer a callback gets is a [`CReq`] made when the request arrives,
//! holding what C reads by pointer: the two buffers (a [`CBuffer`]
//! reaching the request's `Evbuffer` through the base on each call), the
//! header lists ([`crate::keyval`]: copied from rvent's [`rvent::Headers`] on the
//! first `evhttp_request_get_*_headers`, the output list written back to
//! rvent before the reply's head goes out), the URI, host and parsed URI
//! as C strings, and the connection view (`evhttp_connection_get_peer`).
//! The record is reference-counted by its holders — an on-complete
//! closure registered with rvent at creation (called once the reply is
//! written, dropped uncalled when the connection closes first), each
//! `evhttp_send_reply_chunk_with_cb` closure, and each running C
//! callback — and freed with the last: after the reply is written or the
//! connection is gone, as libevent frees its request.

use std::ffi::{c_char, c_int, c_void};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::FromRawFd;
use std::ptr;
use std::time::Duration;

use libc::timeval;
use rvent::http::{BoundSocket, Methods};
use rvent::{Evbuffer, EventBase, Http, Request};

use crate::abi::EvutilSocket;
use crate::base::{self, CBase, rust, with_callback_base};
use crate::buffer::{self, CBuffer};
use crate::http_client::ClientReq;
use crate::keyval::{self, CKeyvalq};
use crate::listener::{self, CLev};
use crate::uri::{self, CUri, c_str};
use crate::{ffi, mem, status};

/// A request callback (`evhttp_set_cb`, `evhttp_set_gencb`) and an
/// on-complete callback.
type RequestCb = unsafe extern "C" fn(*mut CReq, *mut c_void);
/// `evhttp_set_newreqcb`'s callback: -1 closes the connection.
type NewReqCb = unsafe extern "C" fn(*mut CReq, *mut c_void) -> c_int;
/// `evhttp_send_reply_chunk_with_cb`'s callback.
type ChunkCb = unsafe extern "C" fn(*mut CConn, *mut c_void);
/// `evhttp_set_errorcb`'s callback (libevent 2.2): < 0 for the default page.
type ErrorCb =
    unsafe extern "C" fn(*mut CReq, *mut CBuffer, c_int, *const c_char, *mut c_void) -> c_int;

/// libevent's default connection timeouts (`HTTP_READ_TIMEOUT`, 50 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(50);

/// `struct evhttp`.
pub struct CHttp {
    base: *mut CBase,
    serial: u64,
    /// `None` for a server made without a base (`evhttp_new(NULL)`, a
    /// virtual host to be): rvent's server is made when it is added to a
    /// host, and its routes ([`CHttp::routes`]) are given to it then.
    handle: Option<Http>,
    /// The routes of a server without a base yet.
    routes: *mut Route,
    gencb: Option<(RequestCb, *mut c_void)>,
    /// Its bound sockets (a list through [`CBound::next`]).
    bound: *mut CBound,
    /// Its virtual hosts (a list through `sibling`), freed with it.
    vhosts: *mut CHttp,
    sibling: *mut CHttp,
    parent: *mut CHttp,
    /// The C handle lent the error callback's page buffer.
    error_page: *mut CBuffer,
    errorcb: Option<(ErrorCb, *mut c_void)>,
}

/// A route set on a server without a base.
struct Route {
    path: *mut c_char,
    cb: RequestCb,
    arg: *mut c_void,
    next: *mut Route,
}

impl Drop for Route {
    fn drop(&mut self) {
        // SAFETY: from `mem::c_string`.
        unsafe { mem::free(self.path.cast()) };
    }
}

/// `struct evhttp_bound_socket`.
pub struct CBound {
    http: *mut CHttp,
    handle: BoundSocket,
    /// The C listener of `evhttp_bind_listener` (its record goes with
    /// this one; rvent frees the listener with the server).
    lev: *mut CLev,
    next: *mut CBound,
}

/// Which record a `struct evhttp_connection *` is: the first word of
/// both kinds.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnKind {
    /// A server request's view ([`CConn`]).
    Server,
    /// A client connection ([`crate::http_client::CClientConn`]).
    Client,
}

/// `struct evhttp_connection` of a server request: what
/// `evhttp_connection_get_peer` / `_get_addr` / `_get_server` report,
/// kept in the request's record.
#[repr(C)]
pub struct CConn {
    pub(crate) kind: ConnKind,
    req: *mut CReq,
    /// The server whose callback got the request.
    pub(crate) server: *mut CHttp,
    /// The peer's address (`evhttp_connection_get_addr`).
    pub(crate) addr: libc::sockaddr_storage,
    /// The peer's address as a C string.
    address: [c_char; 48],
    port: u16,
}

/// `struct evhttp_request` of a server request (see the module docs),
/// or of a client request ([`crate::http_client`]: no rvent handle, its
/// own buffers, the C lists as they are).
pub struct CReq {
    pub(crate) base: *mut CBase,
    pub(crate) serial: u64,
    /// rvent's request; `None` for a client request.
    handle: Option<Request>,
    refs: u32,
    pub(crate) input: CBuffer,
    pub(crate) output: CBuffer,
    pub(crate) in_headers: CKeyvalq,
    pub(crate) out_headers: CKeyvalq,
    in_made: bool,
    out_made: bool,
    pub(crate) uri: *mut c_char,
    pub(crate) host: *mut c_char,
    parsed: *mut CUri,
    pub(crate) owned: bool,
    on_complete: Option<(RequestCb, *mut c_void)>,
    conn: CConn,
    /// A client request's state (empty for a server request).
    pub(crate) client: ClientReq,
}

impl CReq {
    /// Whether this is a client request (no rvent server request).
    pub(crate) fn is_client(&self) -> bool {
        self.handle.is_none()
    }
}

impl Drop for CReq {
    fn drop(&mut self) {
        // SAFETY: the lists are initialised at creation; the strings and
        // the URI are this record's (or null).
        unsafe {
            keyval::clear(&mut self.in_headers);
            keyval::clear(&mut self.out_headers);
            mem::free(self.uri.cast());
            mem::free(self.host.cast());
            if !self.parsed.is_null() {
                mem::drop_raw(self.parsed);
            }
        }
    }
}

/// One hold on a [`CReq`]; the last one frees it.
pub(crate) struct ReqRef(pub(crate) *mut CReq);

impl ReqRef {
    /// A new hold.
    ///
    /// # Safety
    /// `p` is live.
    pub(crate) unsafe fn new(p: *mut CReq) -> ReqRef {
        // SAFETY: live (caller).
        unsafe { (*p).refs += 1 };
        ReqRef(p)
    }
}

impl Drop for ReqRef {
    fn drop(&mut self) {
        // SAFETY: held, so live; freed with the last hold.
        unsafe {
            (*self.0).refs -= 1;
            if (*self.0).refs == 0 {
                mem::drop_raw(self.0);
            }
        }
    }
}

/// Runs C callback `f` of request `p`, which stays live meanwhile.
///
/// # Safety
/// `p` is live; `b` is its base and `base` the reference rvent lent.
unsafe fn run<R>(b: *mut CBase, base: &mut EventBase, p: *mut CReq, f: impl FnOnce() -> R) -> R {
    // SAFETY: caller's promise.
    let hold = unsafe { ReqRef::new(p) };
    // SAFETY: as above.
    let r = unsafe { with_callback_base(b, base, ptr::null_mut(), f) };
    drop(hold);
    r
}

thread_local! {
    /// The record `evhttp_set_newreqcb`'s callback got, for the request
    /// callback of the same request.
    static NEWREQ: std::cell::Cell<(Option<Request>, *mut CReq)> =
        const { std::cell::Cell::new((None, ptr::null_mut())) };
}

/// The C record of `req`, new or made for its new-request callback; null
/// if out of memory.
fn record(b: *mut CBase, http: *mut CHttp, base: &mut EventBase, req: Request) -> *mut CReq {
    let (h, p) = NEWREQ.with(|c| c.replace((None, ptr::null_mut())));
    if h == Some(req) {
        return p;
    }
    // SAFETY: a live base.
    let serial = unsafe { (*b).serial };
    let peer = req.peer(base).ok().flatten();
    let (address, port) = peer_of(peer);
    let p = mem::into_raw(CReq {
        base: b,
        serial,
        handle: Some(req),
        refs: 0,
        input: CBuffer::Req {
            req: ptr::null_mut(),
            output: false,
        },
        output: CBuffer::Req {
            req: ptr::null_mut(),
            output: true,
        },
        in_headers: CKeyvalq::unlinked(),
        out_headers: CKeyvalq::unlinked(),
        in_made: false,
        out_made: false,
        uri: ptr::null_mut(),
        host: ptr::null_mut(),
        parsed: ptr::null_mut(),
        owned: false,
        on_complete: None,
        conn: CConn {
            kind: ConnKind::Server,
            req: ptr::null_mut(),
            server: http,
            addr: peer.map_or_else(
                // SAFETY: all-zero is a valid sockaddr_storage (AF_UNSPEC).
                || unsafe { std::mem::zeroed() },
                |a| crate::evutil::sockaddr_of(&a).0,
            ),
            address,
            port,
        },
        client: ClientReq::NONE,
    });
    if p.is_null() {
        return p;
    }
    // SAFETY: fresh, not shared; its place is final.
    unsafe {
        (*p).input = CBuffer::Req {
            req: p,
            output: false,
        };
        (*p).output = CBuffer::Req {
            req: p,
            output: true,
        };
        keyval::init(&mut (*p).in_headers);
        keyval::init(&mut (*p).out_headers);
        (*p).conn.req = p;
        let hold = ReqRef::new(p);
        let done = move |base: &mut EventBase| {
            let p = hold.0;
            if let Some((cb, arg)) = (*p).on_complete {
                run(b, base, p, || cb(p, arg));
            }
            drop(hold);
        };
        if req.set_on_complete(base, done).is_err() {
            // The closure, and with it the hold, was dropped: `p` is freed.
            return ptr::null_mut();
        }
    }
    p
}

/// A client request's record (`evhttp_request_new`): no base until it
/// is made, buffers of its own, empty lists; one hold, given up by
/// [`crate::http_client::release`]. Null if out of memory.
pub(crate) fn client_record(client: ClientReq) -> *mut CReq {
    let p = mem::into_raw(CReq {
        base: ptr::null_mut(),
        serial: 0,
        handle: None,
        refs: 0,
        input: CBuffer::Own(Evbuffer::new()),
        output: CBuffer::Own(Evbuffer::new()),
        in_headers: CKeyvalq::unlinked(),
        out_headers: CKeyvalq::unlinked(),
        in_made: true,
        out_made: true,
        uri: ptr::null_mut(),
        host: ptr::null_mut(),
        parsed: ptr::null_mut(),
        owned: false,
        on_complete: None,
        conn: CConn {
            kind: ConnKind::Server,
            req: ptr::null_mut(),
            server: ptr::null_mut(),
            // SAFETY: all-zero is a valid sockaddr_storage.
            addr: unsafe { std::mem::zeroed() },
            address: [0; 48],
            port: 0,
        },
        client,
    });
    if !p.is_null() {
        // SAFETY: fresh, not shared; its place is final.
        unsafe {
            keyval::init(&mut (*p).in_headers);
            keyval::init(&mut (*p).out_headers);
            (*p).refs = 1;
        }
    }
    p
}

/// The base of a server request's connection view.
pub(crate) fn view_base(v: &CConn) -> *mut CBase {
    // SAFETY: the view lives inside its request's record.
    unsafe { (*v.req).base }
}

/// The peer as a C string and a port.
fn peer_of(peer: Option<SocketAddr>) -> ([c_char; 48], u16) {
    let mut s = [0u8; 48];
    let port = match peer {
        Some(a) => {
            let mut w = &mut s[..47];
            let _ = write!(w, "{}", a.ip());
            a.port()
        }
        None => 0,
    };
    (s.map(|b| b as c_char), port)
}

/// The request closure of a C request callback.
fn request_closure(
    b: *mut CBase,
    http: *mut CHttp,
    cb: RequestCb,
    arg: *mut c_void,
) -> impl FnMut(&mut EventBase, Request) + 'static {
    move |base, req| {
        let p = record(b, http, base, req);
        if p.is_null() {
            let _ = req.send_error(base, 503, None);
            return;
        }
        // SAFETY: a live record of a live base.
        unsafe { run(b, base, p, || cb(p, arg)) };
    }
}

/// The live base and request of a record.
///
/// # Safety
/// `req` is null or a live record.
unsafe fn live_req<'a>(req: *mut CReq) -> Option<(&'a mut EventBase, Request)> {
    // SAFETY: caller's promise.
    let r = unsafe { req.as_ref() }?;
    // SAFETY: a live base.
    let h = r.handle?;
    base::is_live(r.base, r.serial).then(|| (unsafe { rust(r.base) }, h))
}

/// A request's buffer (a [`CBuffer::Req`]); `None` once it was answered.
///
/// # Safety
/// `req` is a live record.
pub(crate) unsafe fn side<'a>(req: *mut CReq, output: bool) -> Option<&'a mut Evbuffer> {
    // SAFETY: caller's promise.
    let (base, r) = unsafe { live_req(req) }?;
    if output {
        r.output_buffer(base).ok()
    } else {
        r.input_buffer(base).ok()
    }
}

/// The live base and server of a record.
///
/// # Safety
/// `http` is null or a live record.
unsafe fn live<'a>(http: *mut CHttp) -> Option<(&'a mut EventBase, Http, *mut CBase)> {
    // SAFETY: caller's promise.
    let r = unsafe { http.as_ref() }?;
    // SAFETY: a live base.
    let h = r.handle?;
    base::is_live(r.base, r.serial).then(|| (unsafe { rust(r.base) }, h, r.base))
}

/// `evhttp_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_new(b: *mut CBase) -> *mut CHttp {
    ffi(ptr::null_mut(), || {
        let h = match b.is_null() {
            true => None,
            // SAFETY: a live base.
            false => match Http::new(unsafe { rust(b) }) {
                Ok(h) => Some(h),
                Err(_) => return ptr::null_mut(),
            },
        };
        let p = mem::into_raw(CHttp {
            base: b,
            // SAFETY: null or live.
            serial: unsafe { b.as_ref() }.map_or(0, |b| b.serial),
            handle: h,
            routes: ptr::null_mut(),
            gencb: None,
            bound: ptr::null_mut(),
            vhosts: ptr::null_mut(),
            sibling: ptr::null_mut(),
            parent: ptr::null_mut(),
            error_page: ptr::null_mut(),
            errorcb: None,
        });
        if p.is_null()
            && let Some(h) = h
        {
            // SAFETY: as above.
            let _ = h.free(unsafe { rust(b) });
        }
        p
    })
}

/// Frees a base-less server's route list.
///
/// # Safety
/// `http` is live.
unsafe fn free_routes(http: *mut CHttp) {
    // SAFETY: caller's promise; the list holds live records.
    unsafe {
        while let Some(r) = (*http).routes.as_ref() {
            let next = r.next;
            mem::drop_raw((*http).routes);
            (*http).routes = next;
        }
    }
}

/// Makes the rvent server of base-less `vhost` on `host`'s base and gives
/// it the routes set so far; `false` on failure (nothing changed).
///
/// # Safety
/// Both live; `vhost` has no base.
unsafe fn adopt(host: *mut CHttp, vhost: *mut CHttp) -> bool {
    // SAFETY: caller's promise.
    unsafe {
        let Some((base, _, b)) = live(host) else {
            return false;
        };
        let Ok(h) = Http::new(base) else {
            return false;
        };
        let mut r = (*vhost).routes;
        while let Some(route) = r.as_ref() {
            let path = c_str(route.path).unwrap_or("");
            if h.set_cb(base, path, request_closure(b, host, route.cb, route.arg))
                .is_err()
            {
                let _ = h.free(base);
                return false;
            }
            r = route.next;
        }
        if let Some((cb, arg)) = (*vhost).gencb
            && h.set_gencb(base, request_closure(b, host, cb, arg))
                .is_err()
        {
            let _ = h.free(base);
            return false;
        }
        free_routes(vhost);
        (*vhost).base = b;
        (*vhost).serial = (*b).serial;
        (*vhost).handle = Some(h);
        true
    }
}

/// Frees the records of `http`, its sockets and its virtual hosts (rvent
/// frees what they stand for).
///
/// # Safety
/// `http` is a live record, unlinked from any parent.
unsafe fn free_records(http: *mut CHttp) {
    // SAFETY: caller's promise; every list holds live records.
    unsafe {
        let mut s = (*http).bound;
        while !s.is_null() {
            let next = (*s).next;
            free_bound(s);
            s = next;
        }
        let mut v = (*http).vhosts;
        while !v.is_null() {
            let next = (*v).sibling;
            free_records(v);
            v = next;
        }
        free_routes(http);
        if !(*http).error_page.is_null() {
            mem::drop_raw((*http).error_page);
        }
        mem::drop_raw(http);
    }
}

/// Frees a bound socket's record (and its C listener's).
///
/// # Safety
/// `s` is live and in no list.
unsafe fn free_bound(s: *mut CBound) {
    // SAFETY: caller's promise.
    unsafe {
        if !(*s).lev.is_null() {
            listener::forget((*s).lev);
        }
        mem::drop_raw(s);
    }
}

/// Unlinks `v` from its parent's virtual hosts.
///
/// # Safety
/// `v` is live.
unsafe fn unlink_vhost(v: *mut CHttp) {
    // SAFETY: caller's promise; the parent and its list are live.
    unsafe {
        let parent = (*v).parent;
        if parent.is_null() {
            return;
        }
        let mut at: *mut *mut CHttp = &mut (*parent).vhosts;
        while !(*at).is_null() {
            if *at == v {
                *at = (*v).sibling;
                break;
            }
            at = &mut (**at).sibling;
        }
        (*v).sibling = ptr::null_mut();
        (*v).parent = ptr::null_mut();
    }
}

/// `evhttp_free`: its sockets, connections and virtual hosts go too.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_free(http: *mut CHttp) {
    ffi((), || {
        if http.is_null() {
            return;
        }
        // SAFETY: a live record.
        unsafe {
            if let Some((base, h, _)) = live(http) {
                let _ = h.free(base);
            }
            unlink_vhost(http);
            free_records(http);
        }
    })
}

/// Adds a bound socket's record to `http`; null (and the socket freed) if
/// out of memory.
///
/// # Safety
/// `http` is live.
unsafe fn add_bound(
    http: *mut CHttp,
    base: &mut EventBase,
    h: Http,
    s: BoundSocket,
    lev: *mut CLev,
) -> *mut CBound {
    let p = mem::into_raw(CBound {
        http,
        handle: s,
        lev,
        // SAFETY: live (caller).
        next: unsafe { (*http).bound },
    });
    if p.is_null() {
        let _ = h.del_accept_socket(base, s);
    } else {
        // SAFETY: as above.
        unsafe { (*http).bound = p };
    }
    p
}

/// The addresses `address` names (an IP literal, else resolved).
fn addresses(address: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = address.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, port));
    }
    if address.is_empty() {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    (address, port).to_socket_addrs().ok()?.next()
}

/// `evhttp_bind_socket_with_handle`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_bind_socket_with_handle(
    http: *mut CHttp,
    address: *const c_char,
    port: u16,
) -> *mut CBound {
    ffi(ptr::null_mut(), || {
        // SAFETY: a live record and a C string (caller).
        let (Some((base, h, _)), Some(a)) = (unsafe { live(http) }, unsafe { c_str(address) })
        else {
            return ptr::null_mut();
        };
        let Some(addr) = addresses(a, port) else {
            return ptr::null_mut();
        };
        match h.bind(base, addr) {
            // SAFETY: live.
            Ok(s) => unsafe { add_bound(http, base, h, s, ptr::null_mut()) },
            Err(rvent::Error::Io(e)) => {
                if let Some(code) = e.raw_os_error() {
                    // SAFETY: this thread's errno.
                    unsafe { *libc::__errno_location() = code };
                }
                ptr::null_mut()
            }
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `evhttp_bind_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_bind_socket(
    http: *mut CHttp,
    address: *const c_char,
    port: u16,
) -> c_int {
    // SAFETY: caller's promise.
    if unsafe { evhttp_bind_socket_with_handle(http, address, port) }.is_null() {
        -1
    } else {
        0
    }
}

/// `evhttp_accept_socket_with_handle`: a listening socket; the server
/// closes it when freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_accept_socket_with_handle(
    http: *mut CHttp,
    fd: EvutilSocket,
) -> *mut CBound {
    ffi(ptr::null_mut(), || {
        // SAFETY: a live record.
        let Some((base, h, _)) = (unsafe { live(http) }) else {
            return ptr::null_mut();
        };
        if fd < 0 {
            return ptr::null_mut();
        }
        // SAFETY: the caller hands its listening socket over.
        let sock = unsafe { TcpListener::from_raw_fd(fd) };
        match h.accept_socket(base, sock) {
            // SAFETY: live.
            Ok(s) => unsafe { add_bound(http, base, h, s, ptr::null_mut()) },
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `evhttp_accept_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_accept_socket(http: *mut CHttp, fd: EvutilSocket) -> c_int {
    // SAFETY: caller's promise.
    if unsafe { evhttp_accept_socket_with_handle(http, fd) }.is_null() {
        -1
    } else {
        0
    }
}

/// `evhttp_bind_listener`: the server takes the listener over.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_bind_listener(http: *mut CHttp, lev: *mut CLev) -> *mut CBound {
    ffi(ptr::null_mut(), || {
        // SAFETY: live records (caller).
        let (Some((base, h, _)), Some(l)) =
            (unsafe { live(http) }, unsafe { listener::handle(lev) })
        else {
            return ptr::null_mut();
        };
        match h.bind_listener(base, l) {
            // SAFETY: live.
            Ok(s) => unsafe { add_bound(http, base, h, s, lev) },
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `evhttp_del_accept_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_del_accept_socket(http: *mut CHttp, s: *mut CBound) {
    ffi((), || {
        if s.is_null() {
            return;
        }
        // SAFETY: live records (caller); the list holds live records.
        unsafe {
            let Some((base, h, _)) = live(http) else {
                return;
            };
            let mut at: *mut *mut CBound = &mut (*http).bound;
            while !(*at).is_null() {
                if *at == s {
                    *at = (*s).next;
                    let _ = h.del_accept_socket(base, (*s).handle);
                    free_bound(s);
                    return;
                }
                at = &mut (**at).next;
            }
        }
    })
}

/// `evhttp_bound_socket_get_fd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_bound_socket_get_fd(s: *mut CBound) -> EvutilSocket {
    ffi(-1, || {
        // SAFETY: a live record of a live server (caller).
        let Some(s) = (unsafe { s.as_ref() }) else {
            return -1;
        };
        // SAFETY: as above.
        unsafe { live(s.http) }.map_or(-1, |(base, _, _)| {
            s.handle.listener().fd(base).unwrap_or(-1)
        })
    })
}

/// `evhttp_set_cb`: -1 if `path` has one already.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_cb(
    http: *mut CHttp,
    path: *const c_char,
    cb: Option<RequestCb>,
    arg: *mut c_void,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record and a C string (caller).
        if let (Some(r), Some(p), Some(cb)) = (unsafe { http.as_mut() }, unsafe { c_str(path) }, cb)
            && r.handle.is_none()
        {
            // SAFETY: the list holds live records.
            unsafe {
                let mut at = r.routes;
                while let Some(route) = at.as_ref() {
                    if c_str(route.path) == Some(p) {
                        return -1;
                    }
                    at = route.next;
                }
            }
            let path = mem::c_string(p.as_bytes());
            if path.is_null() {
                return -1;
            }
            let route = mem::into_raw(Route {
                path,
                cb,
                arg,
                next: r.routes,
            });
            if route.is_null() {
                return -1;
            }
            r.routes = route;
            return 0;
        }
        // SAFETY: a live record and a C string (caller).
        let (Some((base, h, b)), Some(path), Some(cb)) =
            (unsafe { live(http) }, unsafe { c_str(path) }, cb)
        else {
            return -1;
        };
        status(h.set_cb(base, path, request_closure(b, http, cb, arg)))
    })
}

/// `evhttp_del_cb`: -1 if `path` has none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_del_cb(http: *mut CHttp, path: *const c_char) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record and a C string (caller).
        if let (Some(r), Some(p)) = (unsafe { http.as_mut() }, unsafe { c_str(path) })
            && r.handle.is_none()
        {
            // SAFETY: the list holds live records.
            unsafe {
                let mut at: *mut *mut Route = &mut r.routes;
                while let Some(route) = (*at).as_ref() {
                    if c_str(route.path) == Some(p) {
                        let gone = *at;
                        *at = route.next;
                        mem::drop_raw(gone);
                        return 0;
                    }
                    at = &mut (**at).next;
                }
            }
            return -1;
        }
        // SAFETY: a live record and a C string (caller).
        let (Some((base, h, _)), Some(path)) = (unsafe { live(http) }, unsafe { c_str(path) })
        else {
            return -1;
        };
        status(h.del_cb(base, path))
    })
}

/// `evhttp_set_gencb` (NULL: requests no path takes get 404).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_gencb(
    http: *mut CHttp,
    cb: Option<RequestCb>,
    arg: *mut c_void,
) {
    ffi((), || {
        // SAFETY: a live record (caller).
        if let Some(r) = unsafe { http.as_mut() }
            && r.handle.is_none()
        {
            r.gencb = cb.map(|cb| (cb, arg));
            return;
        }
        // SAFETY: a live record (caller).
        let Some((base, h, b)) = (unsafe { live(http) }) else {
            return;
        };
        let _ = match cb {
            Some(cb) => h.set_gencb(base, request_closure(b, http, cb, arg)),
            None => h.set_gencb(base, |base: &mut EventBase, req: Request| {
                let _ = req.send_error(base, 404, None);
            }),
        };
    })
}

/// `evhttp_set_newreqcb`: its callback gets each request before it is
/// routed; -1 closes the connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_newreqcb(
    http: *mut CHttp,
    cb: Option<NewReqCb>,
    arg: *mut c_void,
) {
    ffi((), || {
        // SAFETY: a live record (caller).
        let Some((base, h, b)) = (unsafe { live(http) }) else {
            return;
        };
        let _ = h.set_newreq_cb(base, move |base: &mut EventBase, req: Request| {
            let Some(cb) = cb else {
                return true;
            };
            let p = record(b, http, base, req);
            if p.is_null() {
                return false;
            }
            // SAFETY: a live record of a live base; the hold keeps it
            // for the request callback.
            unsafe {
                let hold = ReqRef::new(p);
                if run(b, base, p, || cb(p, arg)) == -1 {
                    return false;
                }
                if req.is_live(base) {
                    NEWREQ.with(|c| c.set((Some(req), p)));
                }
                drop(hold);
            }
            true
        });
    })
}

/// `evhttp_set_errorcb` (libevent 2.2): the callback fills the page of an
/// error reply into its buffer, or returns < 0 for the default page. It
/// gets no request (rvent's error pages are made without one).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_errorcb(
    http: *mut CHttp,
    cb: Option<ErrorCb>,
    arg: *mut c_void,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record (caller).
        let Some((base, h, _)) = (unsafe { live(http) }) else {
            return -1;
        };
        // SAFETY: as above.
        let r = unsafe { &mut *http };
        r.errorcb = cb.map(|cb| (cb, arg));
        if r.error_page.is_null() {
            r.error_page = mem::into_raw(CBuffer::Own(Evbuffer::new()));
            if r.error_page.is_null() {
                return -1;
            }
        }
        let page = r.error_page;
        status(
            h.set_error_cb(base, move |code: u16, reason: &str, buf: &mut Evbuffer| {
                // SAFETY: the record lives as long as its server, which owns
                // this closure.
                let Some((cb, arg)) = (unsafe { (*http).errorcb }) else {
                    return false;
                };
                let mut text = [0u8; 128];
                let n = reason.len().min(text.len() - 1);
                text[..n].copy_from_slice(&reason.as_bytes()[..n]);
                buffer::enter_callback(page, buf, || {
                    // SAFETY: the C callback's contract.
                    unsafe {
                        cb(
                            ptr::null_mut(),
                            page,
                            c_int::from(code),
                            text.as_ptr().cast(),
                            arg,
                        ) >= 0
                    }
                })
            }),
        )
    })
}

/// `evhttp_set_allowed_methods` (`EVHTTP_REQ_*` bits, rvent's).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_allowed_methods(http: *mut CHttp, methods: u16) {
    ffi((), || {
        // SAFETY: a live record (caller).
        if let Some((base, h, _)) = unsafe { live(http) } {
            let _ = h.set_allowed_methods(base, Methods::from_bits_retain(u32::from(methods)));
        }
    })
}

/// `evhttp_set_max_headers_size` (< 0: unlimited).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_max_headers_size(http: *mut CHttp, n: isize) {
    ffi((), || {
        // SAFETY: a live record (caller).
        if let Some((base, h, _)) = unsafe { live(http) } {
            let _ = h.set_max_headers_size(base, usize::try_from(n).unwrap_or(usize::MAX));
        }
    })
}

/// `evhttp_set_max_body_size` (< 0: unlimited).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_max_body_size(http: *mut CHttp, n: isize) {
    ffi((), || {
        // SAFETY: a live record (caller).
        if let Some((base, h, _)) = unsafe { live(http) } {
            let _ = h.set_max_body_size(base, u64::try_from(n).unwrap_or(u64::MAX));
        }
    })
}

/// `evhttp_set_timeout_tv`: read and write timeouts of new connections
/// (NULL or zero: libevent's default, 50 s).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_timeout_tv(http: *mut CHttp, tv: *const timeval) {
    ffi((), || {
        // SAFETY: a live record and null or a timeval (caller).
        let Some((base, h, _)) = (unsafe { live(http) }) else {
            return;
        };
        // SAFETY: as above.
        let d = match unsafe { tv.as_ref() } {
            Some(tv) if tv.tv_sec > 0 || tv.tv_usec > 0 => Duration::new(
                tv.tv_sec.max(0) as u64,
                (tv.tv_usec.clamp(0, 999_999) * 1000) as u32,
            ),
            _ => DEFAULT_TIMEOUT,
        };
        let _ = h.set_timeouts(base, Some(d), Some(d));
    })
}

/// `evhttp_set_timeout` (-1: the default).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_timeout(http: *mut CHttp, secs: c_int) {
    let tv = timeval {
        tv_sec: secs.max(0).into(),
        tv_usec: 0,
    };
    // SAFETY: caller's promise.
    unsafe { evhttp_set_timeout_tv(http, if secs == -1 { ptr::null() } else { &tv }) }
}

/// `evhttp_set_default_content_type` (NULL: none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_default_content_type(http: *mut CHttp, t: *const c_char) {
    ffi((), || {
        // SAFETY: a live record and null or a C string (caller).
        if let Some((base, h, _)) = unsafe { live(http) } {
            let _ = h.set_default_content_type(base, unsafe { c_str(t) });
        }
    })
}

/// `evhttp_set_max_connections` (libevent 2.2; ≤ 0: no limit).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_max_connections(http: *mut CHttp, n: c_int) {
    ffi((), || {
        // SAFETY: a live record (caller).
        if let Some((base, h, _)) = unsafe { live(http) } {
            let _ = h.set_max_connections(base, usize::try_from(n).unwrap_or(0));
        }
    })
}

/// `evhttp_get_connection_count` (libevent 2.2).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_get_connection_count(http: *mut CHttp) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record (caller).
        unsafe { live(http) }.map_or(-1, |(base, h, _)| {
            h.connection_count(base).map_or(-1, |n| n as c_int)
        })
    })
}

/// `evhttp_add_virtual_host`: `vhost` is then freed with `http`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_add_virtual_host(
    http: *mut CHttp,
    pattern: *const c_char,
    vhost: *mut CHttp,
) -> c_int {
    ffi(-1, || {
        // SAFETY: live records and a C string (caller).
        unsafe {
            if let Some(v) = vhost.as_ref()
                && v.handle.is_none()
                && !adopt(http, vhost)
            {
                return -1;
            }
            let (Some((base, h, _)), Some((_, v, _)), Some(pat)) =
                (live(http), live(vhost), c_str(pattern))
            else {
                return -1;
            };
            if h.add_virtual_host(base, pat, v).is_err() {
                return -1;
            }
            (*vhost).parent = http;
            (*vhost).sibling = (*http).vhosts;
            (*http).vhosts = vhost;
        }
        0
    })
}

/// `evhttp_remove_virtual_host` (not freed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_remove_virtual_host(http: *mut CHttp, vhost: *mut CHttp) -> c_int {
    ffi(-1, || {
        // SAFETY: live records (caller).
        unsafe {
            let (Some((base, h, _)), Some((_, v, _))) = (live(http), live(vhost)) else {
                return -1;
            };
            if h.remove_virtual_host(base, v).is_err() {
                return -1;
            }
            unlink_vhost(vhost);
        }
        0
    })
}

/// `evhttp_add_server_alias`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_add_server_alias(http: *mut CHttp, alias: *const c_char) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record and a C string (caller).
        match (unsafe { live(http) }, unsafe { c_str(alias) }) {
            (Some((base, h, _)), Some(a)) => status(h.add_server_alias(base, a)),
            _ => -1,
        }
    })
}

/// `evhttp_remove_server_alias`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_remove_server_alias(
    http: *mut CHttp,
    alias: *const c_char,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record and a C string (caller).
        match (unsafe { live(http) }, unsafe { c_str(alias) }) {
            (Some((base, h, _)), Some(a)) => status(h.remove_server_alias(base, a)),
            _ => -1,
        }
    })
}

/// `evhttp_request_get_command`: the `EVHTTP_REQ_*` bit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_command(req: *const CReq) -> c_int {
    ffi(0, || {
        // SAFETY: a live record (caller).
        if let Some(r) = unsafe { req.as_ref() }
            && r.handle.is_none()
        {
            return r.client.cmd;
        }
        // SAFETY: as above.
        unsafe { live_req(req.cast_mut()) }.map_or(0, |(base, r)| {
            r.method(base).map_or(0, |m| m.bit().bits() as c_int)
        })
    })
}

/// Caches `bytes` in `slot` as a C string (once).
fn cached(slot: &mut *mut c_char, bytes: Option<&[u8]>) -> *const c_char {
    if slot.is_null()
        && let Some(b) = bytes
    {
        *slot = mem::c_string(b);
    }
    *slot
}

/// `evhttp_request_get_uri`: the target as sent.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_uri(req: *const CReq) -> *const c_char {
    ffi(ptr::null(), || {
        let req = req.cast_mut();
        // SAFETY: a live record (caller).
        unsafe {
            let Some((base, r)) = live_req(req) else {
                return (*req).uri;
            };
            cached(&mut (*req).uri, r.uri(base).ok().map(str::as_bytes))
        }
    })
}

/// `evhttp_request_get_evhttp_uri`: the target parsed (kept with the
/// request).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_evhttp_uri(req: *const CReq) -> *const CUri {
    ffi(ptr::null(), || {
        let req = req.cast_mut();
        // SAFETY: a live record (caller).
        unsafe {
            if req.is_null() || !(*req).parsed.is_null() {
                return req.as_ref().map_or(ptr::null(), |r| r.parsed);
            }
            if let Some((base, r)) = live_req(req)
                && let Ok(u) = r.parsed_uri(base)
            {
                (*req).parsed = uri::wrap(u);
            }
            (*req).parsed
        }
    })
}

/// `host` without a trailing `:port` (libevent strips it).
fn strip_port(host: &[u8]) -> &[u8] {
    match host.iter().rposition(|&b| b == b':') {
        Some(i) if !host[i..].contains(&b']') && !host[..i].contains(&b':') => &host[..i],
        Some(i) if host.starts_with(b"[") && host[..i].ends_with(b"]") => &host[..i],
        _ => host,
    }
}

/// `evhttp_request_get_host`: the target's host, else the Host field's,
/// without the port. For a client request (whose target libevent never
/// parses): the response's Host field, if any.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_host(req: *mut CReq) -> *const c_char {
    ffi(ptr::null(), || {
        // SAFETY: a live record (caller).
        unsafe {
            if let Some(r) = req.as_mut()
                && r.is_client()
            {
                let host = keyval::pairs(&r.in_headers)
                    .find(|(k, _)| k.eq_ignore_ascii_case(b"host"))
                    .map(|(_, v)| strip_port(v));
                return cached(&mut r.host, host);
            }
            let Some((base, r)) = live_req(req) else {
                return req.as_ref().map_or(ptr::null(), |r| r.host);
            };
            let host = r
                .host(base)
                .ok()
                .flatten()
                .map(|h| strip_port(h.as_bytes()));
            cached(&mut (*req).host, host)
        }
    })
}

/// `evhttp_request_get_input_headers`: a copy of the request's fields,
/// made on the first call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_input_headers(req: *mut CReq) -> *mut CKeyvalq {
    ffi(ptr::null_mut(), || {
        if req.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a live record (caller).
        unsafe {
            if !(*req).in_made
                && let Some((base, r)) = live_req(req)
                && let Ok(h) = r.input_headers(base)
            {
                (*req).in_made = keyval::fill(&mut (*req).in_headers, h);
            }
            &mut (*req).in_headers
        }
    })
}

/// `evhttp_request_get_output_headers`: the reply's fields, written to
/// rvent when the reply's head goes out.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_output_headers(req: *mut CReq) -> *mut CKeyvalq {
    ffi(ptr::null_mut(), || {
        if req.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a live record (caller).
        unsafe {
            if !(*req).out_made
                && let Some((base, r)) = live_req(req)
                && let Ok(h) = r.output_headers(base)
            {
                (*req).out_made = keyval::fill(&mut (*req).out_headers, h);
            }
            &mut (*req).out_headers
        }
    })
}

/// `evhttp_request_get_input_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_input_buffer(req: *mut CReq) -> *mut CBuffer {
    // SAFETY: null or a live record (caller).
    unsafe { req.as_mut() }.map_or(ptr::null_mut(), |r| &mut r.input)
}

/// `evhttp_request_get_output_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_output_buffer(req: *mut CReq) -> *mut CBuffer {
    // SAFETY: null or a live record (caller).
    unsafe { req.as_mut() }.map_or(ptr::null_mut(), |r| &mut r.output)
}

/// `evhttp_request_get_connection`: the request's connection view.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_get_connection(req: *mut CReq) -> *mut CConn {
    // SAFETY: null or a live record (caller).
    unsafe { req.as_mut() }.map_or(ptr::null_mut(), |r| match r.handle {
        Some(_) => &mut r.conn,
        None => r.client.conn.cast(),
    })
}

/// `evhttp_connection_get_peer`: the client's address (valid while the
/// request is) and port.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_connection_get_peer(
    conn: *mut CConn,
    address: *mut *const c_char,
    port: *mut u16,
) {
    // SAFETY: null or live; writable outputs (caller).
    unsafe {
        let Some(c) = conn.as_ref() else {
            return;
        };
        if c.kind == ConnKind::Client {
            return crate::http_client::peer(conn.cast(), address, port);
        }
        if !address.is_null() {
            *address = c.address.as_ptr();
        }
        if !port.is_null() {
            *port = c.port;
        }
    }
}

/// `evhttp_request_own`: rvent keeps a request until it is answered or
/// its connection ends anyway; only remembered for `is_owned`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_own(req: *mut CReq) {
    // SAFETY: null or a live record (caller).
    if let Some(r) = unsafe { req.as_mut() } {
        r.owned = true;
    }
}

/// `evhttp_request_is_owned`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_is_owned(req: *mut CReq) -> c_int {
    // SAFETY: null or a live record (caller).
    unsafe { req.as_ref() }.map_or(0, |r| c_int::from(r.owned))
}

/// `evhttp_request_set_on_complete_cb`: called once the reply is written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_request_set_on_complete_cb(
    req: *mut CReq,
    cb: Option<RequestCb>,
    arg: *mut c_void,
) {
    // SAFETY: null or a live record (caller).
    if let Some(r) = unsafe { req.as_mut() } {
        r.on_complete = cb.map(|cb| (cb, arg));
    }
}

/// Writes the C output list back to rvent's output fields.
///
/// # Safety
/// `req` is live.
unsafe fn write_back(req: *mut CReq, base: &mut EventBase, r: Request) {
    // SAFETY: caller's promise.
    unsafe {
        if (*req).out_made
            && let Ok(h) = r.output_headers(base)
        {
            keyval::write_to(&(*req).out_headers, h);
        }
    }
}

/// Runs `f` with the base and the body `databuf` as an `Evbuffer` outside
/// the base: a buffer of its own directly; the request's output buffer
/// as `None` when `output_as_none` (a whole reply sends it anyway); any other (a bufferevent's or the
/// request's input) moved into a buffer of the call's.
///
/// # Safety
/// `req` live; `databuf` null or live.
unsafe fn with_body(
    req: *mut CReq,
    databuf: *mut CBuffer,
    output_as_none: bool,
    f: impl FnOnce(&mut EventBase, Option<&mut Evbuffer>),
) {
    // SAFETY: caller's promise.
    unsafe {
        let Some((_, _)) = live_req(req) else {
            return;
        };
        if databuf.is_null() || (output_as_none && ptr::eq(databuf, &(*req).output)) {
            return f(rust((*req).base), None);
        }
        if let CBuffer::Own(_) = &*databuf {
            return buffer::with(databuf, (), |b| f(rust((*req).base), Some(b)));
        }
        let mut tmp = Evbuffer::new();
        if buffer::with(databuf, false, |b| tmp.add_buffer(b).is_ok()) {
            f(rust((*req).base), Some(&mut tmp));
        }
    }
}

/// A status code as rvent's (out of range: 0, which rvent refuses).
fn code_of(code: c_int) -> u16 {
    u16::try_from(code).unwrap_or(0)
}

/// `evhttp_send_reply`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_send_reply(
    req: *mut CReq,
    code: c_int,
    reason: *const c_char,
    databuf: *mut CBuffer,
) {
    ffi((), || {
        // SAFETY: a live record, a C string, a live buffer (caller).
        unsafe {
            let Some((base, r)) = live_req(req) else {
                return;
            };
            write_back(req, base, r);
            let reason = c_str(reason);
            with_body(req, databuf, true, |base, body| {
                let _ = r.send_reply(base, code_of(code), reason, body);
            });
        }
    })
}

/// `evhttp_send_error`: a small page saying so; the output fields set so
/// far are dropped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_send_error(req: *mut CReq, code: c_int, reason: *const c_char) {
    ffi((), || {
        // SAFETY: a live record and a C string (caller).
        unsafe {
            if let Some((base, r)) = live_req(req) {
                let _ = r.send_error(base, code_of(code), c_str(reason));
            }
        }
    })
}

/// `evhttp_send_reply_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_send_reply_start(
    req: *mut CReq,
    code: c_int,
    reason: *const c_char,
) {
    ffi((), || {
        // SAFETY: a live record and a C string (caller).
        unsafe {
            if let Some((base, r)) = live_req(req) {
                write_back(req, base, r);
                let _ = r.send_reply_start(base, code_of(code), c_str(reason));
            }
        }
    })
}

/// `evhttp_send_reply_chunk_with_cb`: `cb` once the chunk is written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_send_reply_chunk_with_cb(
    req: *mut CReq,
    databuf: *mut CBuffer,
    cb: Option<ChunkCb>,
    arg: *mut c_void,
) {
    ffi((), || {
        // SAFETY: a live record and buffer (caller).
        unsafe {
            let Some((_, r)) = live_req(req) else {
                return;
            };
            let b = (*req).base;
            let mut own = Evbuffer::new();
            with_body(req, databuf, false, |base, body| {
                let body = body.unwrap_or(&mut own);
                let _ = match cb {
                    None => r.send_reply_chunk(base, body),
                    Some(cb) => {
                        let hold = ReqRef::new(req);
                        r.send_reply_chunk_with_cb(base, body, move |base: &mut EventBase| {
                            let p = hold.0;
                            let conn = ptr::addr_of_mut!((*p).conn);
                            run(b, base, p, || cb(conn, arg));
                        })
                    }
                };
            });
        }
    })
}

/// `evhttp_send_reply_chunk`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_send_reply_chunk(req: *mut CReq, databuf: *mut CBuffer) {
    // SAFETY: caller's promise.
    unsafe { evhttp_send_reply_chunk_with_cb(req, databuf, None, ptr::null_mut()) }
}

/// `evhttp_send_reply_end`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_send_reply_end(req: *mut CReq) {
    ffi((), || {
        // SAFETY: a live record (caller).
        if let Some((base, r)) = unsafe { live_req(req) } {
            let _ = r.send_reply_end(base);
        }
    })
}

/// `evhttp_set_flags`: `EVHTTP_SERVER_LINGERING_CLOSE` (1) is accepted —
/// rvent closes a refused request's connection lingering always; other
/// bits: -1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_set_flags(http: *mut CHttp, flags: c_int) -> c_int {
    if http.is_null() || flags & !1 != 0 {
        -1
    } else {
        0
    }
}
