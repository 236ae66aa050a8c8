//! [`Http`], the server handle (`evhttp_*`): creation, sockets, routes
//! and settings. Connections and requests are in `conn` and `request`.

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::listener::{ConnListener, ListenerOptions};
use crate::mem::{self, MemVec};

use super::conn;
use super::method::Methods;
use super::parse::Limits;
use super::table::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_TIMEOUT, HttpHost, Route, ServerRec, request_fn,
};
use super::uri::percent_decode_into;

/// libevent's default Content-Type of a reply that sets none.
pub const DEFAULT_CONTENT_TYPE: &str = "text/html; charset=ISO-8859-1";
/// Default limit of a request head (request line and fields): 8 KiB,
/// hyper's and nginx's order of magnitude; over it the answer is
/// `431 Request Header Fields Too Large` (libevent answers 400).
pub const DEFAULT_MAX_HEADERS_SIZE: usize = 8192;

/// An HTTP server on a base (libevent's `struct evhttp`).
///
/// A `Copy` handle into the base's HTTP table, checked by generation like
/// every rvent handle: after [`free`](Self::free) (or with another base)
/// calls return [`Error::StaleHttp`]. Callbacks get `&mut EventBase` and
/// the [`Request`](super::Request); they may reply at once or keep the
/// request handle and reply later (from a timer, another connection's
/// callback…), since a request lives until its reply is sent or its
/// connection ends — libevent's `evhttp_request_own` is not needed.
///
/// # Examples
/// ```
/// use rvent::{EventBase, Http};
///
/// let mut base = EventBase::new()?;
/// let http = Http::new(&mut base)?;
/// http.set_cb(&mut base, "/hello", |base, req| {
///     req.output_buffer(base).unwrap().add(b"Hello\n").unwrap();
///     req.send_reply(base, 200, None, None).unwrap();
/// })?;
/// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
/// assert_ne!(bound.local_addr(&base)?.port(), 0);
/// http.free(&mut base)?;
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "evhttp")]
pub struct Http {
    pub(super) idx: u32,
    pub(super) generation: u32,
    pub(super) base: u32,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Http({}v{})", self.idx, self.generation)
    }
}

/// A socket a server accepts on (`struct evhttp_bound_socket`): its
/// listener, whose [`local_addr`](Self::local_addr) tells the port a
/// bind to port 0 got.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[doc(alias = "evhttp_bound_socket")]
pub struct BoundSocket {
    listener: ConnListener,
}

impl BoundSocket {
    /// The listener accepting for the server
    /// (`evhttp_bound_socket_get_listener`).
    #[doc(alias = "evhttp_bound_socket_get_listener")]
    pub fn listener(self) -> ConnListener {
        self.listener
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    /// [`Error::StaleListener`] once it was removed.
    pub fn local_addr<X: HttpHost>(self, base: &EventBase<X>) -> Result<SocketAddr> {
        self.listener.local_addr(base)
    }
}

impl Http {
    /// A server on `base`, with no sockets and no routes (`evhttp_new`).
    ///
    /// # Errors
    /// [`Error::Alloc`].
    #[doc(alias = "evhttp_new")]
    pub fn new<X: HttpHost>(base: &mut EventBase<X>) -> Result<Http> {
        let rec = ServerRec {
            routes: mem::vec(),
            next_route: 0,
            gencb: None,
            gencb_out: false,
            allowed: Methods::default_allowed(),
            limits: Limits {
                max_header_size: DEFAULT_MAX_HEADERS_SIZE,
                max_body_size: u64::MAX,
            },
            read_timeout: Some(DEFAULT_TIMEOUT),
            write_timeout: Some(DEFAULT_TIMEOUT),
            header_timeout: Some(DEFAULT_HEADER_TIMEOUT),
            content_type: Some(bytes(DEFAULT_CONTENT_TYPE.as_bytes())?),
            max_connections: 0,
            connections: 0,
            listeners: mem::vec(),
        };
        let (idx, generation) = base.ext.http_mut().insert_server(rec)?;
        Ok(Http {
            idx,
            generation,
            base: base.id,
        })
    }

    pub(super) fn rec<X: HttpHost>(self, base: &EventBase<X>) -> Result<&ServerRec<X>> {
        if self.base != base.id {
            return Err(Error::StaleHttp);
        }
        base.ext
            .http()
            .server(self.idx, self.generation)
            .ok_or(Error::StaleHttp)
    }

    pub(super) fn rec_mut<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut ServerRec<X>> {
        if self.base != base.id {
            return Err(Error::StaleHttp);
        }
        base.ext
            .http_mut()
            .server_mut(self.idx, self.generation)
            .ok_or(Error::StaleHttp)
    }

    /// Whether the server is live on `base`.
    pub fn is_live<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// Binds `addr` (port 0: the kernel picks) and accepts on it
    /// (`evhttp_bind_socket_with_handle`).
    ///
    /// # Errors
    /// [`Error::Io`] from bind / listen, [`Error::Alloc`],
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_bind_socket")]
    #[doc(alias = "evhttp_bind_socket_with_handle")]
    pub fn bind<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        addr: SocketAddr,
    ) -> Result<BoundSocket> {
        self.rec(base)?;
        mem::reserve(&mut self.rec_mut(base)?.listeners, 1)?;
        let lev = ConnListener::bind(
            base,
            addr,
            ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
            None,
            move |base, _lev, stream, peer| conn::accept(base, self, stream, peer),
        )?;
        self.rec_mut(base)?.listeners.push(lev);
        Ok(BoundSocket { listener: lev })
    }

    /// Accepts on a listening socket you bound yourself
    /// (`evhttp_accept_socket_with_handle`).
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    #[doc(alias = "evhttp_accept_socket")]
    #[doc(alias = "evhttp_accept_socket_with_handle")]
    pub fn accept_socket<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        socket: TcpListener,
    ) -> Result<BoundSocket> {
        self.rec(base)?;
        mem::reserve(&mut self.rec_mut(base)?.listeners, 1)?;
        let lev = ConnListener::from_listener(
            base,
            socket,
            ListenerOptions::CLOSE_ON_FREE,
            move |base, _lev, stream, peer| conn::accept(base, self, stream, peer),
        )?;
        self.rec_mut(base)?.listeners.push(lev);
        Ok(BoundSocket { listener: lev })
    }

    /// Serves the connections of a listener you made
    /// (`evhttp_bind_listener`): its accept callback is replaced.
    ///
    /// # Errors
    /// [`Error::StaleListener`], [`Error::Alloc`], [`Error::StaleHttp`].
    #[doc(alias = "evhttp_bind_listener")]
    pub fn bind_listener<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        listener: ConnListener,
    ) -> Result<BoundSocket> {
        self.rec(base)?;
        mem::reserve(&mut self.rec_mut(base)?.listeners, 1)?;
        listener.set_callback(base, move |base, _lev, stream, peer| {
            conn::accept(base, self, stream, peer)
        })?;
        self.rec_mut(base)?.listeners.push(listener);
        Ok(BoundSocket { listener })
    }

    /// Stops accepting on `bound` and frees its listener
    /// (`evhttp_del_accept_socket`); connections it accepted go on.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `bound` is not this server's,
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_del_accept_socket")]
    pub fn del_accept_socket<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        bound: BoundSocket,
    ) -> Result<()> {
        let rec = self.rec_mut(base)?;
        let Some(i) = rec.listeners.iter().position(|&l| l == bound.listener) else {
            return Err(Error::InvalidArgument("not a socket of this server"));
        };
        rec.listeners.swap_remove(i);
        bound.listener.free(base)?;
        Ok(())
    }

    /// Calls `cb` for requests whose percent-decoded path, without the
    /// query, is `path` exactly (`evhttp_set_cb`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `path` already has a callback (libevent
    /// returns -1), [`Error::Alloc`], [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_cb")]
    pub fn set_cb<X: HttpHost, F>(self, base: &mut EventBase<X>, path: &str, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, super::Request) + 'static,
    {
        let rec = self.rec_mut(base)?;
        if rec.routes.iter().any(|r| r.path == path.as_bytes()) {
            return Err(Error::InvalidArgument("path already has a callback"));
        }
        mem::reserve(&mut rec.routes, 1)?;
        let route = Route {
            path: bytes(path.as_bytes())?,
            cb: Some(request_fn(cb)?),
            id: rec.next_route,
        };
        rec.next_route = rec.next_route.wrapping_add(1);
        rec.routes.push(route);
        Ok(())
    }

    /// Removes `path`'s callback (`evhttp_del_cb`); a running callback
    /// finishes first.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `path` has none (libevent returns
    /// -1), [`Error::StaleHttp`].
    #[doc(alias = "evhttp_del_cb")]
    pub fn del_cb<X: HttpHost>(self, base: &mut EventBase<X>, path: &str) -> Result<()> {
        let rec = self.rec_mut(base)?;
        let Some(i) = rec.routes.iter().position(|r| r.path == path.as_bytes()) else {
            return Err(Error::InvalidArgument("path has no callback"));
        };
        let route = rec.routes.remove(i);
        drop(route);
        Ok(())
    }

    /// Calls `cb` for requests no path callback takes
    /// (`evhttp_set_gencb`); without one they get `404 Not Found`.
    ///
    /// # Errors
    /// [`Error::Alloc`], [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_gencb")]
    pub fn set_gencb<X: HttpHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, super::Request) + 'static,
    {
        let f = request_fn(cb)?;
        let rec = self.rec_mut(base)?;
        rec.gencb_out = false;
        let old = rec.gencb.replace(f);
        drop(old);
        Ok(())
    }

    /// The methods requests may use (`evhttp_set_allowed_methods`);
    /// others get `501 Not Implemented`. Default:
    /// [`Methods::default_allowed`].
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_allowed_methods")]
    pub fn set_allowed_methods<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        m: Methods,
    ) -> Result<()> {
        self.rec_mut(base)?.allowed = m;
        Ok(())
    }

    /// The largest request head — request line and fields, and a chunked
    /// body's trailer section — in bytes (`evhttp_set_max_headers_size`);
    /// a larger one, or one with more than 100 fields, is answered
    /// `431 Request Header Fields Too Large` (libevent: 400) and the
    /// connection closes. Default [`DEFAULT_MAX_HEADERS_SIZE`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0, [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_max_headers_size")]
    pub fn set_max_headers_size<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        n: usize,
    ) -> Result<()> {
        if n == 0 {
            return Err(Error::InvalidArgument("max headers size is 0"));
        }
        self.rec_mut(base)?.limits.max_header_size = n;
        Ok(())
    }

    /// The largest request body (`evhttp_set_max_body_size`): over it the
    /// answer is `413` and the connection closes — before the body is
    /// read when its length is announced, so a client sending
    /// `Expect: 100-continue` gets the 413 instead of `100 Continue`.
    /// Default: unlimited.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_max_body_size")]
    pub fn set_max_body_size<X: HttpHost>(self, base: &mut EventBase<X>, n: u64) -> Result<()> {
        self.rec_mut(base)?.limits.max_body_size = n;
        Ok(())
    }

    /// Read and write timeouts of new connections
    /// (`evhttp_set_read_timeout_tv` / `_write_timeout_tv`); default 50 s
    /// each, as libevent's. `None`: none.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_timeout_tv")]
    pub fn set_timeouts<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        read: Option<Duration>,
        write: Option<Duration>,
    ) -> Result<()> {
        let rec = self.rec_mut(base)?;
        rec.read_timeout = read;
        rec.write_timeout = write;
        Ok(())
    }

    /// How long a request head may take once its first byte arrived
    /// (no libevent counterpart): a client trickling a head byte by byte
    /// resets the read timeout with every byte, but not this deadline.
    /// Default 20 s; `None`: none. On expiry the connection closes.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    pub fn set_header_timeout<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        timeout: Option<Duration>,
    ) -> Result<()> {
        self.rec_mut(base)?.header_timeout = timeout;
        Ok(())
    }

    /// The Content-Type of replies that set none
    /// (`evhttp_set_default_content_type`); `None`: no such field.
    /// Default [`DEFAULT_CONTENT_TYPE`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for CR, LF or NUL, [`Error::Alloc`],
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_default_content_type")]
    pub fn set_default_content_type<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        content_type: Option<&str>,
    ) -> Result<()> {
        let v = match content_type {
            Some(t) if t.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) => {
                return Err(Error::InvalidArgument("content type holds CR, LF or NUL"));
            }
            Some(t) => Some(bytes(t.as_bytes())?),
            None => None,
        };
        self.rec_mut(base)?.content_type = v;
        Ok(())
    }

    /// The most connections served at once (`evhttp_set_max_connections`);
    /// one more is closed as soon as it is accepted. 0: no limit (the
    /// default).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_set_max_connections")]
    pub fn set_max_connections<X: HttpHost>(self, base: &mut EventBase<X>, n: usize) -> Result<()> {
        self.rec_mut(base)?.max_connections = n;
        Ok(())
    }

    /// Connections open now (`evhttp_get_connection_count`).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_get_connection_count")]
    pub fn connection_count<X: HttpHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.connections)
    }

    /// Frees the server (`evhttp_free`): its sockets close, its
    /// connections close (pending requests are dropped unanswered), its
    /// callbacks are dropped.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_free")]
    pub fn free<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<()> {
        self.rec(base)?;
        conn::close_all(base, self);
        let Some(mut rec) = base.ext.http_mut().remove_server(self.idx, self.generation) else {
            return Err(Error::StaleHttp);
        };
        for lev in rec.listeners.drain(..) {
            let _ = lev.free(base);
        }
        drop(rec);
        Ok(())
    }
}

/// `b` in a block of its own.
fn bytes(b: &[u8]) -> Result<MemVec<u8>> {
    let mut v = mem::vec();
    mem::reserve(&mut v, b.len())?;
    v.extend_from_slice(b);
    Ok(v)
}

/// The route for decoded path `path`: its index.
pub(super) fn find_route<X: HttpHost>(rec: &ServerRec<X>, path: &[u8]) -> Option<usize> {
    rec.routes.iter().position(|r| r.path == path)
}

/// Decodes the routing path of `target` into `out` (reused).
pub(super) fn routing_path(target: &[u8], out: &mut MemVec<u8>) -> Result<()> {
    out.clear();
    percent_decode_into(super::uri::target_path(target), out)
}
