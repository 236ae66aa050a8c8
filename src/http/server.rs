//! [`Http`]'s methods (`evhttp_*`): creation, sockets, routes and
//! settings. The handle itself is in `handle`; connections and requests
//! are in `conn` and `request`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::bufferevent::Bufferevent;
use crate::error::{Error, Result};
use crate::listener::{ConnListener, ListenerOptions};
use crate::mem::{self, MemVec};

use super::conn;
use super::handle::{Http, Request};
use super::method::Methods;
use super::parse::Limits;
use super::table::{
    BevFn, DEFAULT_HEADER_TIMEOUT, DEFAULT_TIMEOUT, ErrorPageFn, HttpHost, NewRequestFn, Route,
    ServerRec, VirtualHost, request_fn, server_rec, server_rec_mut,
};
use super::vhost;

/// libevent's default Content-Type of a reply that sets none.
pub const DEFAULT_CONTENT_TYPE: &str = "text/html; charset=ISO-8859-1";
/// Default limit of a request head (request line and fields): 8 KiB,
/// hyper's and nginx's order of magnitude; over it the answer is
/// `431 Request Header Fields Too Large` (libevent answers 400).
pub const DEFAULT_MAX_HEADERS_SIZE: usize = 8192;

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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
    /// let lev = bound.listener();
    /// assert_eq!(lev.local_addr(&base)?, bound.local_addr(&base)?);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_bound_socket_get_listener")]
    pub fn listener(self) -> ConnListener {
        self.listener
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    /// [`Error::StaleListener`] once it was removed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
    /// let addr = bound.local_addr(&base)?;
    /// assert!(addr.ip().is_loopback() && addr.port() != 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn local_addr<X: HttpHost>(self, base: &EventBase<X>) -> Result<SocketAddr> {
        self.listener.local_addr(base)
    }
}

impl Http {
    /// A server on `base`, with no sockets and no routes (`evhttp_new`).
    ///
    /// # Errors
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?; // no socket yet: bind one
    /// assert!(http.is_live(&base));
    /// assert_eq!(http.connection_count(&base)?, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
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
            newreq: None,
            error_page: None,
            bevcb: None,
            vhosts: mem::vec(),
            aliases: mem::vec(),
            parent: None,
        };
        let (idx, generation) = base.ext.http_mut().insert_server(&base.account, rec)?;
        Ok(Http {
            idx,
            generation,
            base: base.id,
        })
    }

    /// Whether the server is live on `base`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// assert!(http.is_live(&base));
    /// http.free(&mut base)?;
    /// assert!(!http.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_live<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        server_rec(base, self).is_ok()
    }

    /// Binds `addr` (port 0: the kernel picks) and accepts on it
    /// (`evhttp_bind_socket_with_handle`).
    ///
    /// # Errors
    /// [`Error::Io`] from bind / listen, [`Error::Alloc`],
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
    /// assert_ne!(bound.local_addr(&base)?.port(), 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_bind_socket")]
    #[doc(alias = "evhttp_bind_socket_with_handle")]
    pub fn bind<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        addr: SocketAddr,
    ) -> Result<BoundSocket> {
        server_rec(base, self)?;
        mem::reserve(&mut server_rec_mut(base, self)?.listeners, 1)?;
        let lev = ConnListener::bind(
            base,
            addr,
            ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
            None,
            move |base, _lev, stream, peer| conn::accept(base, self, stream, peer),
        )?;
        server_rec_mut(base, self)?.listeners.push(lev);
        Ok(BoundSocket { listener: lev })
    }

    /// Accepts on a listening socket you bound yourself
    /// (`evhttp_accept_socket_with_handle`).
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// use std::net::TcpListener;
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = socket.local_addr().unwrap();
    /// let bound = http.accept_socket(&mut base, socket)?;
    /// assert_eq!(bound.local_addr(&base)?, addr);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_accept_socket")]
    #[doc(alias = "evhttp_accept_socket_with_handle")]
    pub fn accept_socket<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        socket: TcpListener,
    ) -> Result<BoundSocket> {
        server_rec(base, self)?;
        mem::reserve(&mut server_rec_mut(base, self)?.listeners, 1)?;
        let lev = ConnListener::from_listener(
            base,
            socket,
            ListenerOptions::CLOSE_ON_FREE,
            move |base, _lev, stream, peer| conn::accept(base, self, stream, peer),
        )?;
        server_rec_mut(base, self)?.listeners.push(lev);
        Ok(BoundSocket { listener: lev })
    }

    /// Serves the connections of a listener you made
    /// (`evhttp_bind_listener`): its accept callback is replaced.
    ///
    /// # Errors
    /// [`Error::StaleListener`], [`Error::Alloc`], [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, Http, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// let bound = http.bind_listener(&mut base, lev)?;
    /// assert_eq!(bound.listener(), lev);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_bind_listener")]
    pub fn bind_listener<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        listener: ConnListener,
    ) -> Result<BoundSocket> {
        server_rec(base, self)?;
        mem::reserve(&mut server_rec_mut(base, self)?.listeners, 1)?;
        listener.set_callback(base, move |base, _lev, stream, peer| {
            conn::accept(base, self, stream, peer)
        })?;
        server_rec_mut(base, self)?.listeners.push(listener);
        Ok(BoundSocket { listener })
    }

    /// Serves `bev` as one more connection (no libevent counterpart; its
    /// `evhttp_get_request` is internal): a bufferevent pair's end, a
    /// filter over a socket you accepted yourself — the way tests and
    /// fuzzers drive a server without sockets. The server owns `bev`
    /// from then on and frees it when the connection ends; bytes already
    /// in its input are read as requests. `peer` is what
    /// [`Request::peer`] reports.
    ///
    /// # Errors
    /// [`Error::Alloc`], [`Error::StaleHttp`]; `bev` is then still yours.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?; // no socket: a pair's end is the connection
    /// let (client, server) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// http.serve_bufferevent(&mut base, server, "192.0.2.1:1".parse().unwrap())?;
    /// client.enable(&mut base, Ev::READ)?;
    /// client.write(&mut base, b"GET /none HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// let mut status = [0u8; 12];
    /// client.read(&mut base, &mut status)?;
    /// assert_eq!(&status, b"HTTP/1.1 404"); // no route takes it
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn serve_bufferevent<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        bev: Bufferevent,
        peer: SocketAddr,
    ) -> Result<()> {
        conn::serve(base, self, bev, Some(peer))
    }

    /// Stops accepting on `bound` and frees its listener
    /// (`evhttp_del_accept_socket`); connections it accepted go on.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `bound` is not this server's,
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
    /// http.del_accept_socket(&mut base, bound)?;
    /// assert!(bound.local_addr(&base).is_err()); // its listener is gone
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_del_accept_socket")]
    pub fn del_accept_socket<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        bound: BoundSocket,
    ) -> Result<()> {
        let rec = server_rec_mut(base, self)?;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_cb(&mut base, "/hi there", |base, req| {
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// assert!(http.set_cb(&mut base, "/hi there", |_, _| {}).is_err()); // taken
    /// assert!(get(&mut base, http, "GET /hi%20there?x HTTP/1.1\r\nHost: a\r\n\r\n")?.starts_with("HTTP/1.1 200"));
    /// assert!(get(&mut base, http, "GET /hi HTTP/1.1\r\nHost: a\r\n\r\n")?.starts_with("HTTP/1.1 404"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_cb")]
    pub fn set_cb<X: HttpHost, F>(self, base: &mut EventBase<X>, path: &str, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, Request) + 'static,
    {
        let rec = server_rec_mut(base, self)?;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_cb(&mut base, "/old", |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// http.del_cb(&mut base, "/old")?;
    /// assert!(http.del_cb(&mut base, "/old").is_err()); // none left
    /// let reply = get(&mut base, http, "GET /old HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 404"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_del_cb")]
    pub fn del_cb<X: HttpHost>(self, base: &mut EventBase<X>, path: &str) -> Result<()> {
        let rec = server_rec_mut(base, self)?;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| {
    ///     let path = req.parsed_uri(base).unwrap().path().to_owned();
    ///     req.output_buffer(base).unwrap().add(path.as_bytes()).unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET /any/thing HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.ends_with("\r\n\r\n/any/thing"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_gencb")]
    pub fn set_gencb<X: HttpHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, Request) + 'static,
    {
        let f = request_fn(cb)?;
        let rec = server_rec_mut(base, self)?;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http, Method, Methods};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// http.set_allowed_methods(&mut base, Method::Get.bit() | Method::Head.bit())?;
    /// let reply = get(&mut base, http, "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 501"));
    /// # let _ = Methods::default_allowed();
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_allowed_methods")]
    pub fn set_allowed_methods<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        m: Methods,
    ) -> Result<()> {
        server_rec_mut(base, self)?.allowed = m;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_max_headers_size(&mut base, 64)?;
    /// let big = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Pad: {}\r\n\r\n", "x".repeat(100));
    /// assert!(get(&mut base, http, &big)?.starts_with("HTTP/1.1 431"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_max_headers_size")]
    pub fn set_max_headers_size<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        n: usize,
    ) -> Result<()> {
        if n == 0 {
            return Err(Error::InvalidArgument("max headers size is 0"));
        }
        server_rec_mut(base, self)?.limits.max_header_size = n;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// http.set_max_body_size(&mut base, 4)?;
    /// let reply = get(&mut base, http, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")?;
    /// assert!(reply.starts_with("HTTP/1.1 413"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_max_body_size")]
    pub fn set_max_body_size<X: HttpHost>(self, base: &mut EventBase<X>, n: u64) -> Result<()> {
        server_rec_mut(base, self)?.limits.max_body_size = n;
        Ok(())
    }

    /// Read and write timeouts of new connections
    /// (`evhttp_set_read_timeout_tv` / `_write_timeout_tv`); default 50 s
    /// each, as libevent's. `None`: none.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// // Idle clients go after 5 s; a reply may take 10 s to be written.
    /// http.set_timeouts(&mut base, Some(Duration::from_secs(5)), Some(Duration::from_secs(10)))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_timeout_tv")]
    pub fn set_timeouts<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        read: Option<Duration>,
        write: Option<Duration>,
    ) -> Result<()> {
        let rec = server_rec_mut(base, self)?;
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_header_timeout(&mut base, Some(Duration::from_secs(2)))?; // slowloris guard
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn set_header_timeout<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        timeout: Option<Duration>,
    ) -> Result<()> {
        server_rec_mut(base, self)?.header_timeout = timeout;
        Ok(())
    }

    /// The Content-Type of replies that set none
    /// (`evhttp_set_default_content_type`); `None`: no such field.
    /// Default [`DEFAULT_CONTENT_TYPE`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for CR, LF or NUL, [`Error::Alloc`],
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// http.set_default_content_type(&mut base, Some("application/json"))?;
    /// assert!(http.set_default_content_type(&mut base, Some("a\r\nb")).is_err());
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.contains("\r\nContent-Type: application/json\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
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
        server_rec_mut(base, self)?.content_type = v;
        Ok(())
    }

    /// The most connections served at once (`evhttp_set_max_connections`);
    /// one more is closed as soon as it is accepted. 0: no limit (the
    /// default).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_max_connections(&mut base, 1000)?; // the 1001st is closed at once
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_max_connections")]
    pub fn set_max_connections<X: HttpHost>(self, base: &mut EventBase<X>, n: usize) -> Result<()> {
        server_rec_mut(base, self)?.max_connections = n;
        Ok(())
    }

    /// Connections open now (`evhttp_get_connection_count`).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// assert_eq!(http.connection_count(&base)?, 0);
    /// let (_client, server) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// http.serve_bufferevent(&mut base, server, "192.0.2.1:1".parse().unwrap())?;
    /// assert_eq!(http.connection_count(&base)?, 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_get_connection_count")]
    pub fn connection_count<X: HttpHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(server_rec(base, self)?.connections)
    }

    /// Frees the server (`evhttp_free`): its sockets close, its
    /// connections close (pending requests are dropped unanswered), its
    /// callbacks are dropped.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Error, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
    /// http.free(&mut base)?; // closes the socket too
    /// assert!(bound.local_addr(&base).is_err());
    /// assert!(matches!(http.free(&mut base), Err(Error::StaleHttp)));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_free")]
    pub fn free<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<()> {
        if let Some(parent) = server_rec(base, self)?.parent {
            let _ = parent.remove_virtual_host(base, self);
        }
        self.free_tree(base, 0);
        Ok(())
    }

    /// Frees the server and its virtual hosts.
    fn free_tree<X: HttpHost>(self, base: &mut EventBase<X>, depth: usize) {
        conn::close_all(base, self);
        let Some(mut rec) = base.ext.http_mut().remove_server(self.idx, self.generation) else {
            return;
        };
        for lev in rec.listeners.drain(..) {
            let _ = lev.free(base);
        }
        let vhosts = std::mem::replace(&mut rec.vhosts, mem::vec());
        drop(rec);
        if depth < vhost::MAX_DEPTH {
            for v in vhosts.iter() {
                v.http.free_tree(base, depth + 1);
            }
        }
    }

    /// Calls `cb` with each request before it is routed
    /// (`evhttp_set_newreqcb`): `false` closes the connection unanswered —
    /// to throttle, or to refuse a peer. The request may be answered
    /// from `cb` too.
    ///
    /// # Errors
    /// [`Error::Alloc`], [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_gencb(&mut base, |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// http.set_newreq_cb(&mut base, |base, req| {
    ///     req.input_headers(base).unwrap().find("Authorization").is_some() // else: closed
    /// })?;
    /// assert_eq!(get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?, "");
    /// let ok = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\n\r\n")?;
    /// assert!(ok.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_newreqcb")]
    pub fn set_newreq_cb<X: HttpHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, Request) -> bool + 'static,
    {
        server_rec(base, self)?;
        let f: NewRequestFn<X> = allocator_api2::unsize_box!(mem::pool_box(cb)?);
        let old = server_rec_mut(base, self)?.newreq.replace(f);
        drop(old);
        Ok(())
    }

    /// Custom error pages (`evhttp_set_errorcb`): for every error the
    /// server sends — [`Request::send_error`], 404, and the refusals of
    /// bad requests — `cb` gets the status, its reason and the page's
    /// buffer, and returns `true` if it filled it, `false` for rvent's
    /// page.
    ///
    /// # Errors
    /// [`Error::Alloc`], [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_error_cb(&mut base, |code, _reason, page| {
    ///     page.add(format!("<p>error {code}</p>").as_bytes()).is_ok() // false: rvent's page
    /// })?;
    /// let reply = get(&mut base, http, "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 404") && reply.ends_with("<p>error 404</p>"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_errorcb")]
    pub fn set_error_cb<X: HttpHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnMut(u16, &str, &mut Evbuffer) -> bool + 'static,
    {
        server_rec(base, self)?;
        let f: ErrorPageFn = allocator_api2::unsize_box!(mem::pool_box(cb)?);
        let old = server_rec_mut(base, self)?.error_page.replace(f);
        drop(old);
        Ok(())
    }

    /// Makes the bufferevent of each accepted connection with `cb`
    /// (`evhttp_set_bevcb`) instead of a plain socket bufferevent — to
    /// wrap connections in a filter (compression, later TLS). `cb` gets
    /// the accepted socket; an error closes it.
    ///
    /// # Errors
    /// [`Error::Alloc`], [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Http};
    /// use std::net::TcpStream;
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.set_bevcb(&mut base, |base, stream| {
    ///     Bufferevent::from_stream(base, stream, BevOptions::empty()) // or a filter over it
    /// })?;
    /// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
    /// let _client = TcpStream::connect(bound.local_addr(&base)?).unwrap();
    /// base.run(rvent::LoopFlags::ONCE)?;
    /// assert_eq!(http.connection_count(&base)?, 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_set_bevcb")]
    pub fn set_bevcb<X: HttpHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, TcpStream) -> Result<Bufferevent> + 'static,
    {
        server_rec(base, self)?;
        let f: BevFn<X> = allocator_api2::unsize_box!(mem::pool_box(cb)?);
        let old = server_rec_mut(base, self)?.bevcb.replace(f);
        drop(old);
        Ok(())
    }

    /// Serves requests whose host matches `pattern` — a shell glob (`*`,
    /// `?`), ignoring ASCII case — with `vhost`'s routes
    /// (`evhttp_add_virtual_host`). Patterns are tried in the order
    /// added; `vhost` may have virtual hosts of its own. Connections
    /// stay this server's (its sockets, limits and timeouts); `vhost`
    /// needs no socket, and is freed with this server.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `vhost` is this server, already a
    /// virtual host, or has this server among its own;
    /// [`Error::Alloc`]; [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let blog = Http::new(&mut base)?; // routes only, no socket
    /// blog.set_gencb(&mut base, |base, req| req.send_reply(base, 200, Some("Blog"), None).unwrap())?;
    /// http.add_virtual_host(&mut base, "*.blog.example", blog)?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: my.BLOG.example\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200 Blog"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_add_virtual_host")]
    pub fn add_virtual_host<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        pattern: &str,
        vhost: Http,
    ) -> Result<()> {
        server_rec(base, self)?;
        if server_rec(base, vhost)?.parent.is_some() || self.is_within(base, vhost) {
            return Err(Error::InvalidArgument("not a free server to host"));
        }
        let pattern = bytes(pattern.as_bytes())?;
        let rec = server_rec_mut(base, self)?;
        mem::reserve(&mut rec.vhosts, 1)?;
        rec.vhosts.push(VirtualHost {
            pattern,
            http: vhost,
        });
        server_rec_mut(base, vhost)?.parent = Some(self);
        Ok(())
    }

    /// Whether `self` is `other` or one of its virtual hosts, at any depth.
    fn is_within<X: HttpHost>(self, base: &EventBase<X>, other: Http) -> bool {
        let mut at = Some(self);
        for _ in 0..=vhost::MAX_DEPTH {
            match at {
                Some(h) if h == other => return true,
                Some(h) => at = server_rec(base, h).ok().and_then(|r| r.parent),
                None => return false,
            }
        }
        true
    }

    /// Stops serving `vhost` as a virtual host of this server
    /// (`evhttp_remove_virtual_host`); it is not freed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if it is not one; [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let blog = Http::new(&mut base)?;
    /// blog.set_gencb(&mut base, |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// http.add_virtual_host(&mut base, "blog.example", blog)?;
    /// http.remove_virtual_host(&mut base, blog)?;
    /// assert!(blog.is_live(&base)); // not freed
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: blog.example\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 404"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_remove_virtual_host")]
    pub fn remove_virtual_host<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        vhost: Http,
    ) -> Result<()> {
        let rec = server_rec_mut(base, self)?;
        let Some(i) = rec.vhosts.iter().position(|v| v.http == vhost) else {
            return Err(Error::InvalidArgument("not a virtual host of this server"));
        };
        let v = rec.vhosts.remove(i);
        drop(v);
        if let Ok(r) = server_rec_mut(base, vhost) {
            r.parent = None;
        }
        Ok(())
    }

    /// Answers requests for host `alias` too (`evhttp_add_server_alias`):
    /// an exact name, ignoring ASCII case, checked before any virtual
    /// host pattern.
    ///
    /// # Errors
    /// [`Error::Alloc`], [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// # use rvent::{BevOptions, Bufferevent, Ev};
    /// # fn get(base: &mut EventBase, http: Http, head: &str) -> rvent::Result<String> {
    /// #     let (client, server) = Bufferevent::pair(base, BevOptions::empty())?;
    /// #     http.serve_bufferevent(base, server, "192.0.2.1:4321".parse().unwrap())?;
    /// #     client.enable(base, Ev::READ)?;
    /// #     client.write(base, head.as_bytes())?;
    /// #     for _ in 0..8 { base.run(rvent::LoopFlags::NONBLOCK)?; }
    /// #     let input = client.input(base)?;
    /// #     let mut reply = vec![0; input.len()];
    /// #     input.remove(&mut reply)?;
    /// #     Ok(String::from_utf8(reply).unwrap())
    /// # }
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// let www = Http::new(&mut base)?;
    /// www.set_gencb(&mut base, |base, req| req.send_reply(base, 200, None, None).unwrap())?;
    /// www.add_server_alias(&mut base, "example.com")?;
    /// http.add_virtual_host(&mut base, "www.example.com", www)?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: EXAMPLE.com\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_add_server_alias")]
    pub fn add_server_alias<X: HttpHost>(self, base: &mut EventBase<X>, alias: &str) -> Result<()> {
        server_rec(base, self)?;
        let a = bytes(alias.as_bytes())?;
        let rec = server_rec_mut(base, self)?;
        mem::reserve(&mut rec.aliases, 1)?;
        rec.aliases.push(a);
        Ok(())
    }

    /// Removes alias `alias` (`evhttp_remove_server_alias`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the server has no such alias;
    /// [`Error::StaleHttp`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    ///
    /// let mut base = EventBase::new()?;
    /// let http = Http::new(&mut base)?;
    /// http.add_server_alias(&mut base, "example.com")?;
    /// http.remove_server_alias(&mut base, "example.com")?;
    /// assert!(http.remove_server_alias(&mut base, "example.com").is_err()); // gone
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_remove_server_alias")]
    pub fn remove_server_alias<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        alias: &str,
    ) -> Result<()> {
        let rec = server_rec_mut(base, self)?;
        let Some(i) = rec.aliases.iter().position(|a| a == alias.as_bytes()) else {
            return Err(Error::InvalidArgument("no such alias"));
        };
        let a = rec.aliases.remove(i);
        drop(a);
        Ok(())
    }
}

/// `b` in a block of its own.
fn bytes(b: &[u8]) -> Result<MemVec<u8>> {
    let mut v = mem::vec();
    mem::extend(&mut v, b)?;
    Ok(v)
}
