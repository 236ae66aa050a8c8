//! [`HttpConnection`]'s methods (libevent's `evhttp_connection_*`) and
//! [`make_request`](HttpConnection::make_request); the handle itself is
//! in `handle`.
//!
//! A connection is a handle into the base's HTTP table; it connects on
//! its first request, sends its requests one at a time (no pipelining,
//! as libevent) and keeps the socket for the next while the server keeps
//! it alive, reconnecting when it does not. The settings here apply from
//! the next connect on. The connection's life — connecting, retrying,
//! reading responses, completing requests — is in `client_conn`.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::bufferevent::{AddressFamily, Bufferevent};
use crate::error::{Error, Result};
use crate::mem::{self, MemVec};

use super::client_conn;
use super::client_request::HttpRequest;
use super::client_response::Response;
use super::client_table::{
    Callbacks, ClientRec, CloseFn, HttpConnectionFlags, Peer, Queued, complete_fn,
};
use super::handle::{HttpConnection, QueuedRequest};
use super::headers::Headers;
use super::method::Method;
use super::parse::Limits;
use super::request_error::HttpRequestError;
use super::server::DEFAULT_MAX_HEADERS_SIZE;
use super::table::{HttpHost, client_rec, client_rec_mut};

impl HttpConnection {
    /// A connection to `addr` on `base`, not yet connected
    /// (`evhttp_connection_base_new` with an address).
    ///
    /// # Errors
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// assert!(conn.is_live(&base));
    /// assert_eq!(conn.bufferevent(&base)?, None); // connects on its first request
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_base_new")]
    pub fn new<X: HttpHost>(base: &mut EventBase<X>, addr: SocketAddr) -> Result<HttpConnection> {
        insert(base, Peer::Addr(addr))
    }

    /// A connection to `host` on `port`, not yet connected
    /// (`evhttp_connection_base_new` with a host name and no DNS base):
    /// each connect looks the name up on a helper thread as
    /// [`Bufferevent::connect_hostname`] does (unless
    /// [`HttpConnectionFlags::REUSE_CONNECTED_ADDR`] is set and a connect
    /// succeeded) and connects to the first address. A failed lookup
    /// fails the connect. `Host` is `host`, with `:port` unless it is 80.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty host or one holding NUL,
    /// white space or `/`; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new_hostname(&mut base, "localhost", 8080)?;
    /// assert_eq!(conn.host(&base)?, Some(("localhost", 8080)));
    /// assert_eq!(conn.peer(&base)?, None); // known once connected
    /// assert!(HttpConnection::new_hostname(&mut base, "a b", 80).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_base_new")]
    pub fn new_hostname<X: HttpHost>(
        base: &mut EventBase<X>,
        host: &str,
        port: u16,
    ) -> Result<HttpConnection> {
        if host.is_empty() || host.bytes().any(|b| b <= b' ' || b == b'/' || b == 0x7f) {
            return Err(Error::InvalidArgument("not a host name"));
        }
        let mut name = mem::vec();
        mem::extend(&mut name, host.as_bytes())?;
        insert(base, Peer::Host { name, port })
    }

    /// A connection over `bev` (`evhttp_connection_base_bufferevent_new`):
    /// one connected already — a socket you connected, a filter over one,
    /// a bufferevent pair's end — is used as the connection's socket; a
    /// socket bufferevent without a socket is connected to `addr` at the
    /// first request, as libevent does. The connection owns `bev` from
    /// then on: it sets its callbacks and timeouts and frees it when it
    /// closes; requests after that connect to `addr` (which also gives
    /// `Host`) on a new one.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`], [`Error::Alloc`]; `bev` is then still
    /// yours (its callbacks may have been replaced).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// // A server and a client joined by a bufferevent pair: no sockets.
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| {
    ///     req.output_buffer(base).unwrap().add(b"hi").unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |base, r| {
    ///     let mut resp = r.unwrap();
    ///     assert_eq!((resp.code(), resp.input_buffer().len()), (200, 2));
    ///     base.loopbreak();
    /// })?;
    /// base.dispatch()?;
    /// assert_eq!(conn.bufferevent(&base)?, Some(c));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_base_bufferevent_new")]
    pub fn with_bufferevent<X: HttpHost>(
        base: &mut EventBase<X>,
        bev: Bufferevent,
        addr: SocketAddr,
    ) -> Result<HttpConnection> {
        bev.enabled(base)?;
        let unconnected = bev.fd(base)?.is_none() && bev.partner(base)?.is_none();
        let conn = insert(base, Peer::Addr(addr))?;
        if unconnected {
            client_rec_mut(base, conn)?.unconnected = Some(bev);
            return Ok(conn);
        }
        if let Err(e) = client_conn::adopt(base, conn, bev) {
            let _ = client_rec_mut(base, conn).map(|r| r.bev = None);
            let _ = base
                .ext
                .http_mut()
                .clients
                .remove(conn.idx, conn.generation);
            return Err(e);
        }
        Ok(conn)
    }

    /// Whether the connection is live on `base`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.free(&mut base)?;
    /// assert!(!conn.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_live<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        client_rec(base, self).is_ok()
    }

    /// The server's address (`evhttp_connection_get_peer`): the one
    /// given, or for a host name the one last connected to (`None`
    /// before).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// assert_eq!(conn.peer(&base)?, Some("127.0.0.1:8080".parse().unwrap()));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_get_peer")]
    pub fn peer<X: HttpHost>(self, base: &EventBase<X>) -> Result<Option<SocketAddr>> {
        let rec = client_rec(base, self)?;
        Ok(match rec.peer {
            Peer::Addr(a) => Some(a),
            Peer::Host { .. } => rec.connected_addr,
        })
    }

    /// The host name and port of a connection made with
    /// [`new_hostname`](Self::new_hostname); `None` for one made with an
    /// address.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// assert_eq!(conn.host(&base)?, None); // made with an address
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn host<X: HttpHost>(self, base: &EventBase<X>) -> Result<Option<(&str, u16)>> {
        Ok(match &client_rec(base, self)?.peer {
            Peer::Addr(_) => None,
            Peer::Host { name, port } => {
                Some((std::str::from_utf8(name).unwrap_or_default(), *port))
            }
        })
    }

    /// The connection's bufferevent while it has a socket
    /// (`evhttp_connection_get_bufferevent`): `None` before the first
    /// connect and after each close. The connection sets its callbacks,
    /// timeouts and enabled directions; read it or add options, but do
    /// not replace those.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// assert_eq!(conn.bufferevent(&base)?, None); // no socket before a request
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_get_bufferevent")]
    pub fn bufferevent<X: HttpHost>(self, base: &EventBase<X>) -> Result<Option<Bufferevent>> {
        Ok(client_rec(base, self)?.bev)
    }

    /// Read and write timeouts of the connection's socket from its next
    /// connect on (`evhttp_connection_set_read_timeout_tv` /
    /// `_write_timeout_tv`). Default 50 s each, as libevent's. `None`:
    /// none. On expiry the request in flight ends with
    /// [`HttpRequestError::Timeout`]; an idle keep-alive socket just
    /// closes.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// use std::time::Duration;
    /// conn.set_timeouts(&mut base, Some(Duration::from_secs(5)), Some(Duration::from_secs(5)))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_timeout_tv")]
    #[doc(alias = "evhttp_connection_set_read_timeout_tv")]
    #[doc(alias = "evhttp_connection_set_write_timeout_tv")]
    pub fn set_timeouts<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        read: Option<Duration>,
        write: Option<Duration>,
    ) -> Result<()> {
        let rec = client_rec_mut(base, self)?;
        rec.read_timeout = read;
        rec.write_timeout = write;
        Ok(())
    }

    /// How long a connect (with its host-name lookup) may take
    /// (`evhttp_connection_set_connect_timeout_tv`); default 45 s, as
    /// libevent's. Past it the connect fails: it is retried if retries
    /// are left, else the queued requests end with
    /// [`HttpRequestError::Timeout`].
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_connect_timeout(&mut base, Some(std::time::Duration::from_secs(2)))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_connect_timeout_tv")]
    pub fn set_connect_timeout<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        timeout: Option<Duration>,
    ) -> Result<()> {
        client_rec_mut(base, self)?.connect_timeout = timeout;
        Ok(())
    }

    /// How often a failed connect is retried before the queued requests
    /// fail (`evhttp_connection_set_retries`): `Some(n)` times (default
    /// 0), `None` without end (libevent's `-1`). The first retry waits
    /// the initial delay, each next one twice the one before, at most an
    /// hour; a successful connect starts the count again.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// use std::time::Duration;
    /// // Up to 3 retries, 100, 200 and 400 ms after each failed connect.
    /// conn.set_retries(&mut base, Some(3))?;
    /// conn.set_initial_retry(&mut base, Some(Duration::from_millis(100)))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_retries")]
    pub fn set_retries<X: HttpHost>(self, base: &mut EventBase<X>, max: Option<u32>) -> Result<()> {
        client_rec_mut(base, self)?.retry.max = max;
        Ok(())
    }

    /// The delay before the first retry
    /// (`evhttp_connection_set_initial_retry_tv`); `None` restores
    /// libevent's default, 2 s.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_retries(&mut base, None)?; // retry without end
    /// conn.set_initial_retry(&mut base, Some(std::time::Duration::from_millis(500)))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_initial_retry_tv")]
    pub fn set_initial_retry<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        delay: Option<Duration>,
    ) -> Result<()> {
        client_rec_mut(base, self)?.retry.initial =
            delay.unwrap_or(super::client_table::DEFAULT_INITIAL_RETRY);
        Ok(())
    }

    /// The local address sockets bind to before connecting
    /// (`evhttp_connection_set_local_address`); `None`: any.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_local_address(&mut base, Some("127.0.0.1".parse().unwrap()))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_local_address")]
    pub fn set_local_address<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        ip: Option<IpAddr>,
    ) -> Result<()> {
        client_rec_mut(base, self)?.local_ip = ip;
        Ok(())
    }

    /// The local port sockets bind to before connecting
    /// (`evhttp_connection_set_local_port`); 0: any.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_local_port(&mut base, 40_000)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_local_port")]
    pub fn set_local_port<X: HttpHost>(self, base: &mut EventBase<X>, port: u16) -> Result<()> {
        client_rec_mut(base, self)?.local_port = port;
        Ok(())
    }

    /// The addresses a host name's lookup may give
    /// (`evhttp_connection_set_family`); default
    /// [`AddressFamily::Any`]. A host with none fails the connect. With
    /// a local port but no local address, the socket binds the family's
    /// any-address.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{AddressFamily, EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new_hostname(&mut base, "localhost", 8080)?;
    /// conn.set_family(&mut base, AddressFamily::Ipv4)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_family")]
    pub fn set_family<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        family: AddressFamily,
    ) -> Result<()> {
        client_rec_mut(base, self)?.family = family;
        Ok(())
    }

    /// Sets the connection's flags (`evhttp_connection_set_flags`).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection, HttpConnectionFlags};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_flags(&mut base, HttpConnectionFlags::READ_ON_WRITE_ERROR)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_flags")]
    pub fn set_flags<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        flags: HttpConnectionFlags,
    ) -> Result<()> {
        client_rec_mut(base, self)?.flags = flags;
        Ok(())
    }

    /// A callback run each time the connection's socket closes after it
    /// had connected — the server closed it, a request failed, the
    /// connection is freed (`evhttp_connection_set_closecb`). It may
    /// queue requests or free the connection.
    ///
    /// # Errors
    /// [`Error::StaleHttp`]; [`Error::Alloc`] (the previous callback is
    /// kept then).
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_close_cb(&mut base, |_base, conn| println!("{conn:?}: socket closed"))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_closecb")]
    pub fn set_close_cb<X: HttpHost, F>(self, base: &mut EventBase<X>, f: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, HttpConnection) + 'static,
    {
        client_rec(base, self)?;
        let cb: CloseFn<X> = allocator_api2::unsize_box!(mem::pool_box(f)?);
        let old = client_rec_mut(base, self)?.close_cb.replace(cb);
        drop(old);
        Ok(())
    }

    /// Frees the connection once no request is left
    /// (`evhttp_connection_free_on_completion`): after the callbacks of
    /// the request that empties its queue (or when a cancel empties it).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// // A server and a client joined by a bufferevent pair: no sockets.
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| {
    ///     req.output_buffer(base).unwrap().add(b"hi").unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |_, r| {
    ///     assert_eq!(r.unwrap().code(), 200);
    /// })?;
    /// conn.free_on_completion(&mut base)?;
    /// while conn.is_live(&base) {
    ///     base.run(rvent::LoopFlags::ONCE)?;
    /// }
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_free_on_completion")]
    pub fn free_on_completion<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<()> {
        client_rec_mut(base, self)?.free_on_completion = true;
        Ok(())
    }

    /// The largest response head — status line and fields, and a chunked
    /// body's trailer section — in bytes
    /// (`evhttp_connection_set_max_headers_size`); over it the request
    /// ends with [`HttpRequestError::DataTooLong`]. Default
    /// [`DEFAULT_MAX_HEADERS_SIZE`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0, [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_max_headers_size(&mut base, 16 * 1024)?;
    /// assert!(conn.set_max_headers_size(&mut base, 0).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_max_headers_size")]
    pub fn set_max_headers_size<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        n: usize,
    ) -> Result<()> {
        if n == 0 {
            return Err(Error::InvalidArgument("max headers size is 0"));
        }
        client_rec_mut(base, self)?.limits.max_header_size = n;
        Ok(())
    }

    /// The largest response body (`evhttp_connection_set_max_body_size`);
    /// over it the request ends with [`HttpRequestError::DataTooLong`] —
    /// before the body is read when its length is announced. Streamed
    /// bodies ([`HttpRequest::set_chunked_cb`]) count too. Default:
    /// unlimited.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.set_max_body_size(&mut base, 1 << 20)?; // larger bodies: DataTooLong
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_set_max_body_size")]
    pub fn set_max_body_size<X: HttpHost>(self, base: &mut EventBase<X>, n: u64) -> Result<()> {
        client_rec_mut(base, self)?.limits.max_body_size = n;
        Ok(())
    }

    /// Queues a request (`evhttp_make_request`): `method target
    /// HTTP/1.1`, the fields of `headers`, and `body` (drained; it stays
    /// yours). rvent adds `Host` and, for a body or a `POST` / `PUT`,
    /// `Content-Length`, unless `headers` has them. Requests go out one
    /// at a time in order; `on_complete` runs once, with the
    /// [`Response`] or the [`HttpRequestError`] that ended the request.
    /// For error, header and chunk callbacks, build an [`HttpRequest`]
    /// and queue it with [`make_request_with`](Self::make_request_with).
    ///
    /// # Errors
    /// [`Error::StaleHttp`]; [`Error::InvalidArgument`] for
    /// [`Method::Extension`] or a target that is empty or holds white
    /// space or control bytes; [`Error::Alloc`]. Nothing is queued then
    /// and `body` is unchanged.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Evbuffer, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// // A server and a client joined by a bufferevent pair: no sockets.
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| {
    ///     req.output_buffer(base).unwrap().add(b"hi").unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// let mut headers = Headers::new();
    /// headers.add("Accept", "text/plain")?;
    /// let mut body = Evbuffer::new();
    /// body.add(b"ping")?;
    /// conn.make_request(&mut base, Method::Post, "/p", &headers, Some(&mut body), |base, r| {
    ///     assert_eq!(r.unwrap().code(), 200);
    ///     base.loopbreak();
    /// })?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_make_request")]
    pub fn make_request<X: HttpHost, F>(
        self,
        base: &mut EventBase<X>,
        method: Method,
        target: &str,
        headers: &Headers,
        body: Option<&mut Evbuffer>,
        on_complete: F,
    ) -> Result<QueuedRequest>
    where
        F: FnOnce(&mut EventBase<X>, std::result::Result<Response<'_>, HttpRequestError>) + 'static,
    {
        let cbs = Callbacks {
            complete: Some(complete_fn(on_complete)?),
            error: None,
            header: None,
            chunk: None,
        };
        self.queue(base, method, target, headers, body, cbs)
    }

    /// Queues `req` (`evhttp_make_request`), as
    /// [`make_request`](Self::make_request) with its output headers and
    /// body: its completion callback runs once, or none of its callbacks
    /// if it is [cancelled](QueuedRequest::cancel).
    ///
    /// # Errors
    /// As [`make_request`](Self::make_request); `req` is dropped then,
    /// its callbacks not run (libevent frees it too).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, HttpRequest, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// // A server and a client joined by a bufferevent pair: no sockets.
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| {
    ///     req.output_buffer(base).unwrap().add(b"hi").unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// let mut req = HttpRequest::new(|base: &mut EventBase, r| {
    ///     assert_eq!(r.unwrap().input_buffer().len(), 0); // streamed below
    ///     base.loopbreak();
    /// })?;
    /// req.set_chunked_cb(|_, resp| assert_eq!(resp.input_buffer().len(), 2))?;
    /// conn.make_request_with(&mut base, req, Method::Get, "/")?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_make_request")]
    pub fn make_request_with<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        req: HttpRequest<X>,
        method: Method,
        target: &str,
    ) -> Result<QueuedRequest> {
        let HttpRequest {
            headers,
            mut body,
            cbs,
        } = req;
        self.queue(base, method, target, &headers, Some(&mut body), cbs)
    }

    fn queue<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        method: Method,
        target: &str,
        headers: &Headers,
        body: Option<&mut Evbuffer>,
        cbs: Callbacks<X>,
    ) -> Result<QueuedRequest> {
        let Some(token) = method.as_str() else {
            return Err(Error::InvalidArgument("an extension method has no token"));
        };
        if target.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::InvalidArgument(
                "target is empty or holds white space",
            ));
        }
        let rec = client_rec_mut(base, self)?;
        let body_len = body.as_ref().map_or(0, |b| b.len());
        let mut bytes = std::mem::take(&mut rec.spare_bytes);
        let written = write_head(
            &mut bytes,
            token,
            target,
            headers,
            &rec.host_line,
            method,
            body_len,
        );
        if let Err(e) = written {
            let _ = bytes.drain(bytes.len());
            rec.spare_bytes = bytes;
            return Err(e);
        }
        let close = headers
            .find_all("connection")
            .any(|v| v.eq_ignore_ascii_case(b"close"));
        let kept = mem::reserve(&mut rec.queue, 1)
            .and_then(|()| body.map_or(Ok(()), |b| bytes.add_buffer(b)));
        if let Err(e) = kept {
            let _ = bytes.drain(bytes.len());
            rec.spare_bytes = bytes;
            return Err(e);
        }
        let serial = rec.next_serial;
        rec.next_serial = serial.wrapping_add(1);
        rec.queue.push(Queued {
            serial,
            bytes,
            to_head: method == Method::Head,
            close,
            cbs,
        });
        client_conn::start_next(base, self);
        Ok(QueuedRequest { conn: self, serial })
    }

    /// Frees the connection (`evhttp_connection_free`): the socket
    /// closes (running the close callback if it had connected) and every
    /// request not yet complete ends with [`HttpRequestError::Cancelled`]
    /// (libevent frees them without a call), in order.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |_, r| {
    ///     assert_eq!(r.unwrap_err(), rvent::HttpRequestError::Cancelled);
    /// })?;
    /// conn.free(&mut base)?; // the callback ran
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_free")]
    pub fn free<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<()> {
        client_rec(base, self)?;
        let Some(rec) = base
            .ext
            .http_mut()
            .clients
            .remove(self.idx, self.generation)
        else {
            return Err(Error::StaleHttp);
        };
        client_conn::release(base, self, rec);
        Ok(())
    }
}

/// A record for `peer`, in the table: its handle.
fn insert<X: HttpHost>(base: &mut EventBase<X>, peer: Peer) -> Result<HttpConnection> {
    let limits = Limits {
        max_header_size: DEFAULT_MAX_HEADERS_SIZE,
        max_body_size: u64::MAX,
    };
    let host_line = host_line(&peer)?;
    let rec = mem::pool_box(ClientRec::new(peer, host_line, limits))?;
    let (idx, generation) = base.ext.http_mut().clients.insert(&base.account, rec)?;
    Ok(HttpConnection {
        idx,
        generation,
        base: base.id,
    })
}

/// The `Host` field line for `peer`: the address, or the host name with
/// `:port` unless it is 80. Made once per connection.
fn host_line(peer: &Peer) -> Result<MemVec<u8>> {
    let mut digits = [0u8; 64];
    let mut w = &mut digits[..];
    let formatted = match peer {
        Peer::Addr(a) => write!(w, "{a}"),
        Peer::Host { port, .. } if *port != 80 => write!(w, ":{port}"),
        Peer::Host { .. } => Ok(()),
    };
    formatted.map_err(|_| Error::InvalidArgument("address too long"))?;
    let n = 64 - w.len();
    let mut line = mem::vec();
    mem::extend(&mut line, b"Host: ")?;
    if let Peer::Host { name, .. } = peer {
        mem::extend(&mut line, name)?;
    }
    mem::extend(&mut line, &digits[..n])?;
    mem::extend(&mut line, b"\r\n")?;
    Ok(line)
}

/// Writes the request line and fields.
fn write_head(
    out: &mut Evbuffer,
    token: &str,
    target: &str,
    headers: &Headers,
    host_line: &[u8],
    method: Method,
    body_len: usize,
) -> Result<()> {
    out.add(token.as_bytes())?;
    out.add(b" ")?;
    out.add(target.as_bytes())?;
    out.add(b" HTTP/1.1\r\n")?;
    if headers.find("host").is_none() {
        out.add(host_line)?;
    }
    for (name, value) in headers.iter() {
        out.add(name)?;
        out.add(b": ")?;
        out.add(value)?;
        out.add(b"\r\n")?;
    }
    let framed =
        headers.find("content-length").is_some() || headers.find("transfer-encoding").is_some();
    if !framed && (body_len > 0 || matches!(method, Method::Post | Method::Put)) {
        let mut line = [0u8; 48];
        let mut w = &mut line[..];
        // 48 bytes hold any usize's digits and the name.
        let _ = write!(w, "Content-Length: {body_len}\r\n");
        let n = 48 - w.len();
        out.add(&line[..n])?;
    }
    out.add(b"\r\n")
}
