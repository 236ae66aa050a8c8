//! [`Request`]'s methods (`struct evhttp_request` on the server side):
//! what was asked, and the reply. The handle itself is in `handle`.

use std::net::SocketAddr;

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};
use crate::mem;

use super::conn;
use super::handle::Request;
use super::headers::Headers;
use super::method::Method;
use super::reply;
use super::state::{RequestState, Stream};
use super::table::{ConnRec, HttpHost, Pending, Phase, written_fn};
use super::target::target_authority;
use super::uri::{Uri, UriFlags};

impl Request {
    fn rec<X: HttpHost>(self, base: &EventBase<X>) -> Result<&ConnRec> {
        if self.base != base.id {
            return Err(Error::StaleRequest);
        }
        base.ext
            .http()
            .conn(self.conn_id())
            .filter(|c| c.serial == self.serial && c.phase == Phase::Handler)
            .ok_or(Error::StaleRequest)
    }

    fn rec_mut<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut ConnRec> {
        if self.base != base.id {
            return Err(Error::StaleRequest);
        }
        base.ext
            .http_mut()
            .conn_mut(self.conn_id())
            .filter(|c| c.serial == self.serial && c.phase == Phase::Handler)
            .ok_or(Error::StaleRequest)
    }

    /// The request's storage.
    fn state<X: HttpHost>(self, base: &EventBase<X>) -> Result<&RequestState> {
        self.rec(base)?.state.as_deref().ok_or(Error::StaleRequest)
    }

    /// The request's storage, mutably.
    fn state_mut<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut RequestState> {
        self.rec_mut(base)?
            .state
            .as_deref_mut()
            .ok_or(Error::StaleRequest)
    }

    /// Whether the request still awaits its reply.
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
    ///     assert!(req.is_live(base));
    ///     req.send_reply(base, 204, None, None).unwrap();
    ///     assert!(!req.is_live(base)); // answered: the handle is stale
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 204"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_live<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// The method (`evhttp_request_get_command`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http, Method};
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
    ///     assert_eq!(req.method(base).unwrap(), Method::Put);
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_command")]
    pub fn method<X: HttpHost>(self, base: &EventBase<X>) -> Result<Method> {
        Ok(self.state(base)?.head.method)
    }

    /// The method token as sent (`GET`, or an extension's).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     assert_eq!(req.method_str(base).unwrap(), "DELETE");
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn method_str<X: HttpHost>(self, base: &EventBase<X>) -> Result<&str> {
        // httparse admits only token bytes: ASCII.
        std::str::from_utf8(self.state(base)?.head.method_token())
            .map_err(|_| Error::BadState("method is not ASCII"))
    }

    /// The request target as sent, query included
    /// (`evhttp_request_get_uri`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     assert_eq!(req.uri(base).unwrap(), "/search?q=rvent"); // query included
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET /search?q=rvent HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_uri")]
    pub fn uri<X: HttpHost>(self, base: &EventBase<X>) -> Result<&str> {
        std::str::from_utf8(self.state(base)?.head.target())
            .map_err(|_| Error::BadState("target is not UTF-8"))
    }

    /// The request target parsed (`evhttp_request_get_evhttp_uri`),
    /// leniently ([`UriFlags::NONCONFORMANT`]): its parts are yours, in
    /// blocks from the memory functions.
    ///
    /// # Errors
    /// [`Error::StaleRequest`]; [`Error::InvalidArgument`] if the target
    /// is not a URI reference (`*`, an authority-form `CONNECT` target
    /// may parse as a path or not); [`Error::Alloc`].
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
    ///     let uri = req.parsed_uri(base).unwrap();
    ///     assert_eq!((uri.path(), uri.query()), ("/find", Some("q=1")));
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET /find?q=1 HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_evhttp_uri")]
    pub fn parsed_uri<X: HttpHost>(self, base: &EventBase<X>) -> Result<Uri> {
        Uri::parse_with_flags(self.uri(base)?, UriFlags::NONCONFORMANT)
    }

    /// The host asked for (`evhttp_request_get_host`): the authority of
    /// an absolute-form target, else the Host field; `None` if neither.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     assert_eq!(req.host(base).unwrap(), Some("example.com"));
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_host")]
    pub fn host<X: HttpHost>(self, base: &EventBase<X>) -> Result<Option<&str>> {
        let st = self.state(base)?;
        let host = target_authority(st.head.target()).or_else(|| st.head.headers.find("host"));
        Ok(host.and_then(|h| std::str::from_utf8(h).ok()))
    }

    /// The HTTP version: `(1, 0)` or `(1, 1)`.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     assert_eq!(req.version(base).unwrap(), (1, 0));
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.0\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200") && reply.contains("Connection: close")); // its own version
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn version<X: HttpHost>(self, base: &EventBase<X>) -> Result<(u8, u8)> {
        Ok((1, self.state(base)?.head.minor))
    }

    /// The request's header fields (`evhttp_request_get_input_headers`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     let h = req.input_headers(base).unwrap();
    ///     assert_eq!(h.find_str("accept"), Some("text/plain")); // names ignore case
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_input_headers")]
    pub fn input_headers<X: HttpHost>(self, base: &EventBase<X>) -> Result<&Headers> {
        Ok(&self.state(base)?.head.headers)
    }

    /// The reply's header fields (`evhttp_request_get_output_headers`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     req.output_headers(base).unwrap().add("Cache-Control", "no-store").unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.contains("\r\nCache-Control: no-store\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_output_headers")]
    pub fn output_headers<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut Headers> {
        Ok(&mut self.state_mut(base)?.out_headers)
    }

    /// The request body (`evhttp_request_get_input_buffer`), decoded from
    /// chunks if it came chunked.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     let body = req.input_buffer(base).unwrap();
    ///     assert_eq!(body.pullup(None).as_deref(), Some(&b"hello"[..]));
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_input_buffer")]
    pub fn input_buffer<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.state_mut(base)?.input)
    }

    /// The reply body being built (`evhttp_request_get_output_buffer`);
    /// [`send_reply`](Self::send_reply) sends it.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     req.output_buffer(base).unwrap().add(b"Hello").unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.contains("Content-Length: 5\r\n") && reply.ends_with("\r\n\r\nHello"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_output_buffer")]
    pub fn output_buffer<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.state_mut(base)?.output)
    }

    /// The client's address (`evhttp_connection_get_peer`); `None` for a
    /// connection on a Unix-domain listener.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    ///     assert_eq!(req.peer(base).unwrap(), Some("192.0.2.1:4321".parse().unwrap()));
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_connection_get_peer")]
    pub fn peer<X: HttpHost>(self, base: &EventBase<X>) -> Result<Option<SocketAddr>> {
        Ok(self.rec(base)?.peer)
    }

    /// Sends the reply (`evhttp_send_reply`): status `code`, `reason`
    /// (`None`: the standard phrase), the output buffer followed by
    /// `body` (drained; it stays yours). rvent adds `Date`,
    /// `Content-Length` (none for 1xx, 204 and 304), the server's default
    /// `Content-Type` and, when the connection closes after this reply,
    /// `Connection: close` (an HTTP/1.0 keep-alive gets
    /// `Connection: keep-alive`), unless the output headers have them. A
    /// `HEAD` request gets the head only. The request is then done.
    ///
    /// # Errors
    /// [`Error::StaleRequest`]; [`Error::InvalidArgument`] for a code
    /// outside 100–999 or a reason with CR, LF or NUL (the request
    /// remains); [`Error::BadState`] once a streamed reply started;
    /// [`Error::Alloc`] if the reply could not be written — the
    /// connection then closes.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Evbuffer, EventBase, Http};
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
    ///     let mut body = Evbuffer::new();
    ///     body.add(b"made").unwrap();
    ///     req.send_reply(base, 201, Some("Made"), Some(&mut body)).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 201 Made\r\n") && reply.ends_with("made"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_send_reply")]
    pub fn send_reply<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        code: u16,
        reason: Option<&str>,
        body: Option<&mut Evbuffer>,
    ) -> Result<()> {
        self.not_streaming(base)?;
        conn::reply(base, self.conn_id(), code, reason, body)
    }

    /// Refuses when a streamed reply is under way.
    fn not_streaming<X: HttpHost>(self, base: &EventBase<X>) -> Result<()> {
        match self.state(base)?.stream {
            Some(_) => Err(Error::BadState("a streamed reply is under way")),
            None => Ok(()),
        }
    }

    /// The streamed reply under way.
    fn stream<X: HttpHost>(self, base: &EventBase<X>) -> Result<Stream> {
        self.state(base)?
            .stream
            .ok_or(Error::BadState("no streamed reply was started"))
    }

    /// Starts a streamed reply (`evhttp_send_reply_start`): the head goes
    /// out now — as [`send_reply`](Self::send_reply)'s, but with no
    /// `Content-Length` of rvent's: on HTTP/1.1 the body is sent chunked
    /// (`Transfer-Encoding: chunked`), on HTTP/1.0 it ends when the
    /// connection closes (unless you set a `Content-Length` field, whose
    /// bytes are then yours to send). What the output buffer holds goes
    /// out as the first piece. The request stays live until
    /// [`send_reply_end`](Self::send_reply_end).
    ///
    /// # Errors
    /// As [`send_reply`](Self::send_reply).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Evbuffer, EventBase, Http};
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
    ///     req.send_reply_start(base, 200, None).unwrap();
    ///     let mut piece = Evbuffer::new();
    ///     piece.add(b"abc").unwrap();
    ///     req.send_reply_chunk(base, &mut piece).unwrap();
    ///     req.send_reply_end(base).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.contains("Transfer-Encoding: chunked") && reply.ends_with("\r\n3\r\nabc\r\n0\r\n\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_send_reply_start")]
    pub fn send_reply_start<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        code: u16,
        reason: Option<&str>,
    ) -> Result<()> {
        self.not_streaming(base)?;
        let (r, next) = reply::start(base, self.conn_id(), code, reason);
        conn::follow_up(base, self.conn_id(), next);
        r
    }

    /// Sends `body` (drained; it stays yours) as the next piece of the
    /// streamed reply (`evhttp_send_reply_chunk`): one chunk on a chunked
    /// reply (an empty `body` sends nothing), nothing for `HEAD`. It may
    /// hold references and file segments, which go out without a copy.
    ///
    /// # Errors
    /// [`Error::StaleRequest`] (the client went away: stop streaming);
    /// [`Error::BadState`] before [`send_reply_start`](Self::send_reply_start);
    /// [`Error::Alloc`] — the connection then closes.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Evbuffer, EventBase, Http};
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
    ///     req.send_reply_start(base, 200, None).unwrap();
    ///     let mut piece = Evbuffer::new();
    ///     for part in [&b"ab"[..], b"", b"cde"] {
    ///         piece.add(part).unwrap(); // an empty piece sends nothing
    ///         req.send_reply_chunk(base, &mut piece).unwrap(); // drains `piece`
    ///     }
    ///     req.send_reply_end(base).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.ends_with("\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_send_reply_chunk")]
    pub fn send_reply_chunk<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        body: &mut Evbuffer,
    ) -> Result<()> {
        let s = self.stream(base)?;
        let (r, next) = reply::chunk(base, self.conn_id(), s, body);
        conn::follow_up(base, self.conn_id(), next);
        r
    }

    /// As [`send_reply_chunk`](Self::send_reply_chunk), then calls `cb`
    /// once the connection's output — this chunk included — is written
    /// to the socket (`evhttp_send_reply_chunk_with_cb`): the cue to
    /// produce the next chunk without buffering a whole body. `cb` is
    /// dropped uncalled if the connection closes first.
    ///
    /// # Errors
    /// As [`send_reply_chunk`](Self::send_reply_chunk); nothing is sent
    /// when `cb` cannot be stored (`Err(Alloc)`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Evbuffer, EventBase, Http};
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
    ///     req.send_reply_start(base, 200, None).unwrap();
    ///     let mut piece = Evbuffer::new();
    ///     piece.add(b"1").unwrap();
    ///     req.send_reply_chunk_with_cb(base, &mut piece, move |base| {
    ///         req.send_reply_end(base).unwrap(); // written: send the next piece, or end
    ///     }).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.ends_with("\r\n1\r\n1\r\n0\r\n\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_send_reply_chunk_with_cb")]
    pub fn send_reply_chunk_with_cb<X: HttpHost, F>(
        self,
        base: &mut EventBase<X>,
        body: &mut Evbuffer,
        cb: F,
    ) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>) + 'static,
    {
        self.stream(base)?;
        self.add_pending(base, true, cb)?;
        self.send_reply_chunk(base, body)
    }

    /// Ends the streamed reply (`evhttp_send_reply_end`): the last chunk
    /// of a chunked one; then the request is done, as after
    /// [`send_reply`](Self::send_reply) (a close-delimited reply closes
    /// the connection once written).
    ///
    /// # Errors
    /// As [`send_reply_chunk`](Self::send_reply_chunk).
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
    ///     req.send_reply_start(base, 200, None).unwrap();
    ///     req.send_reply_end(base).unwrap(); // an empty chunked body
    ///     assert!(!req.is_live(base));
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.ends_with("\r\n\r\n0\r\n\r\n"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_send_reply_end")]
    pub fn send_reply_end<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let s = self.stream(base)?;
        let (r, next) = reply::end(base, self.conn_id(), s);
        conn::follow_up(base, self.conn_id(), next);
        r
    }

    /// Calls `cb` once the reply to this request is written to the
    /// socket (`evhttp_request_set_on_complete_cb`); it is dropped
    /// uncalled if the connection closes first. Setting it again adds
    /// another.
    ///
    /// # Errors
    /// [`Error::StaleRequest`], [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Http};
    /// use std::{cell::Cell, rc::Rc};
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
    /// let done = Rc::new(Cell::new(false));
    /// let d = done.clone();
    /// http.set_gencb(&mut base, move |base, req| {
    ///     let d = d.clone();
    ///     req.set_on_complete(base, move |_| d.set(true)).unwrap();
    ///     req.send_reply(base, 200, None, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 200") && done.get()); // written, then called
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_set_on_complete_cb")]
    pub fn set_on_complete<X: HttpHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>) + 'static,
    {
        self.rec(base)?;
        self.add_pending(base, false, cb)
    }

    /// Queues `cb` for when the output is written (`armed`: as soon as it
    /// is; else once the reply is all in the output).
    fn add_pending<X: HttpHost, F>(self, base: &mut EventBase<X>, armed: bool, cb: F) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>) + 'static,
    {
        let cb = written_fn(cb)?;
        let t = base.ext.http_mut();
        mem::reserve(&mut t.pending, 1)?;
        t.pending.push(Pending {
            conn: self.conn_id(),
            armed,
            cb,
        });
        Ok(())
    }

    /// Sends status `code` with a small HTML page saying so
    /// (`evhttp_send_error`); the output buffer and headers set so far
    /// are dropped. A `400` closes the connection.
    ///
    /// # Errors
    /// As [`send_reply`](Self::send_reply).
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
    ///     req.output_buffer(base).unwrap().add(b"dropped").unwrap();
    ///     req.send_error(base, 404, None).unwrap();
    /// })?;
    /// let reply = get(&mut base, http, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")?;
    /// assert!(reply.starts_with("HTTP/1.1 404 Not Found\r\n") && !reply.contains("dropped"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_send_error")]
    pub fn send_error<X: HttpHost>(
        self,
        base: &mut EventBase<X>,
        code: u16,
        reason: Option<&str>,
    ) -> Result<()> {
        self.not_streaming(base)?;
        conn::error(base, self.conn_id(), code, reason, false)
    }
}
