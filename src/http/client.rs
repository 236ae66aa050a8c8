//! [`HttpConnection`]'s methods (libevent's `evhttp_connection_*`) and
//! [`make_request`](HttpConnection::make_request); the handle itself is
//! in `handle`.
//!
//! A connection is a handle into the base's HTTP table; it connects on
//! its first request, sends its requests one at a time (no pipelining,
//! as libevent) and keeps the socket for the next while the server keeps
//! it alive, reconnecting when it does not. The connection's life — the
//! bufferevent's callbacks, reading responses, completing requests — is
//! in `client_conn`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};
use crate::mem;

use super::client_conn;
use super::client_response::Response;
use super::client_table::{ClientRec, ClientRequest, complete_fn};
use super::handle::HttpConnection;
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
    #[doc(alias = "evhttp_connection_base_new")]
    pub fn new<X: HttpHost>(base: &mut EventBase<X>, addr: SocketAddr) -> Result<HttpConnection> {
        let limits = Limits {
            max_header_size: DEFAULT_MAX_HEADERS_SIZE,
            max_body_size: u64::MAX,
        };
        let (idx, generation) = base
            .ext
            .http_mut()
            .clients
            .insert(&base.account, ClientRec::new(addr, limits))?;
        Ok(HttpConnection {
            idx,
            generation,
            base: base.id,
        })
    }

    /// Whether the connection is live on `base`.
    pub fn is_live<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        client_rec(base, self).is_ok()
    }

    /// The server's address (`evhttp_connection_get_peer`).
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_connection_get_peer")]
    pub fn peer<X: HttpHost>(self, base: &EventBase<X>) -> Result<SocketAddr> {
        Ok(client_rec(base, self)?.addr)
    }

    /// Read and write timeouts of the connection's socket from its next
    /// connect on (`evhttp_connection_set_read_timeout_tv` /
    /// `_write_timeout_tv`); the write timeout bounds the connect too.
    /// Default 50 s each, as libevent's. `None`: none. On expiry the
    /// request in flight ends with [`HttpRequestError::Timeout`].
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_connection_set_timeout_tv")]
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

    /// The largest response head — status line and fields, and a chunked
    /// body's trailer section — in bytes
    /// (`evhttp_connection_set_max_headers_size`); over it the request
    /// ends with [`HttpRequestError::DataTooLong`]. Default
    /// [`DEFAULT_MAX_HEADERS_SIZE`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0, [`Error::StaleHttp`].
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
    /// before the body is read when its length is announced. Default:
    /// unlimited.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
    #[doc(alias = "evhttp_connection_set_max_body_size")]
    pub fn set_max_body_size<X: HttpHost>(self, base: &mut EventBase<X>, n: u64) -> Result<()> {
        client_rec_mut(base, self)?.limits.max_body_size = n;
        Ok(())
    }

    /// Queues a request (`evhttp_make_request`): `method target
    /// HTTP/1.1`, the fields of `headers`, and `body` (drained; it stays
    /// yours). rvent adds `Host` (the address) and, for a body or a
    /// `POST` / `PUT`, `Content-Length`, unless `headers` has them.
    /// Requests go out one at a time in order; `on_complete` runs once,
    /// with the [`Response`] or the [`HttpRequestError`] that ended the
    /// request.
    ///
    /// # Errors
    /// [`Error::StaleHttp`]; [`Error::InvalidArgument`] for
    /// [`Method::Extension`] or a target that is empty or holds white
    /// space or control bytes; [`Error::Alloc`]. Nothing is queued then
    /// and `body` is unchanged.
    #[doc(alias = "evhttp_make_request")]
    pub fn make_request<X: HttpHost, F>(
        self,
        base: &mut EventBase<X>,
        method: Method,
        target: &str,
        headers: &Headers,
        body: Option<&mut Evbuffer>,
        on_complete: F,
    ) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>, std::result::Result<Response<'_>, HttpRequestError>) + 'static,
    {
        let addr = client_rec(base, self)?.addr;
        let Some(token) = method.as_str() else {
            return Err(Error::InvalidArgument("an extension method has no token"));
        };
        if target.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::InvalidArgument(
                "target is empty or holds white space",
            ));
        }
        let body_len = body.as_ref().map_or(0, |b| b.len());
        let mut bytes = Evbuffer::new();
        write_head(&mut bytes, token, target, headers, addr, method, body_len)?;
        let cb = complete_fn(on_complete)?;
        let close = headers
            .find_all("connection")
            .any(|v| v.eq_ignore_ascii_case(b"close"));
        mem::reserve(&mut client_rec_mut(base, self)?.queue, 1)?;
        if let Some(body) = body {
            bytes.add_buffer(body)?;
        }
        client_rec_mut(base, self)?.queue.push(ClientRequest {
            bytes,
            to_head: method == Method::Head,
            close,
            cb,
        });
        client_conn::start_next(base, self);
        Ok(())
    }

    /// Frees the connection (`evhttp_connection_free`): the socket
    /// closes and every request not yet complete ends with
    /// [`HttpRequestError::Cancelled`] (libevent frees them without a
    /// call), in order.
    ///
    /// # Errors
    /// [`Error::StaleHttp`].
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
        client_conn::cancel_all(base, rec);
        Ok(())
    }
}

/// Writes the request line and fields.
fn write_head(
    out: &mut Evbuffer,
    token: &str,
    target: &str,
    headers: &Headers,
    addr: SocketAddr,
    method: Method,
    body_len: usize,
) -> Result<()> {
    out.add(token.as_bytes())?;
    out.add(b" ")?;
    out.add(target.as_bytes())?;
    out.add(b" HTTP/1.1\r\n")?;
    if headers.find("host").is_none() {
        write!(out, "Host: {addr}\r\n").map_err(|_| Error::Alloc)?;
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
        write!(out, "Content-Length: {body_len}\r\n").map_err(|_| Error::Alloc)?;
    }
    out.add(b"\r\n")
}
