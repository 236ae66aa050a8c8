//! [`HttpRequest`]: a client request being built — its callbacks,
//! output headers and body — before
//! [`HttpConnection::make_request_with`](super::HttpConnection::make_request_with)
//! queues it (libevent's `evhttp_request_new` and its setters); and the
//! methods of [`QueuedRequest`], the handle of a queued one
//! (`evhttp_cancel_request`).
//!
//! The builder is a plain value owned by its caller until it is queued,
//! so setting it up touches no table; every callback is boxed from the
//! memory functions as it is set.

use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};
use crate::mem;

use super::client_conn;
use super::client_response::Response;
use super::client_table::{Callbacks, complete_fn};
use super::handle::{HttpConnection, QueuedRequest};
use super::headers::Headers;
use super::request_error::HttpRequestError;
use super::table::{HttpHost, client_rec};

/// A client request before it is queued (libevent's
/// `evhttp_request_new` on the client side): the completion callback,
/// optional error, header and chunk callbacks, and the output headers
/// and body. Queue it with
/// [`HttpConnection::make_request_with`](super::HttpConnection::make_request_with).
///
/// # Examples
/// ```
/// use rvent::{EventBase, HttpConnection, HttpRequest, Method};
///
/// let mut base = EventBase::new()?;
/// let conn = HttpConnection::new(&mut base, "127.0.0.1:9".parse().unwrap())?;
/// let mut req = HttpRequest::new(|_base: &mut EventBase, r| println!("{:?}", r.map(|r| r.code())))?;
/// req.set_error_cb(|_, e| eprintln!("failed: {e}"))?;
/// req.output_headers().add("Accept", "*/*")?;
/// req.output_buffer().add(b"ping")?;
/// let queued = conn.make_request_with(&mut base, req, Method::Post, "/ping")?;
/// queued.cancel(&mut base)?; // neither callback runs
/// conn.free(&mut base)?;
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_request_new")]
pub struct HttpRequest<X: BaseExt> {
    pub(super) headers: Headers,
    pub(super) body: Evbuffer,
    pub(super) cbs: Callbacks<X>,
}

impl<X: BaseExt> HttpRequest<X> {
    /// A request whose `on_complete` runs once: with the [`Response`],
    /// or with the [`HttpRequestError`] that ended the request
    /// (`evhttp_request_new`; libevent passes `NULL` then).
    ///
    /// # Errors
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpRequest};
    ///
    /// let req = HttpRequest::new(|_base: &mut EventBase, r| match r {
    ///     Ok(resp) => println!("{} {}", resp.code(), resp.reason()),
    ///     Err(e) => eprintln!("failed: {e}"),
    /// })?;
    /// # drop(req);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_new")]
    pub fn new<F>(on_complete: F) -> Result<HttpRequest<X>>
    where
        F: FnOnce(&mut EventBase<X>, std::result::Result<Response<'_>, HttpRequestError>) + 'static,
    {
        Ok(HttpRequest {
            headers: Headers::new(),
            body: Evbuffer::new(),
            cbs: Callbacks {
                complete: Some(complete_fn(on_complete)?),
                error: None,
                header: None,
                chunk: None,
            },
        })
    }

    /// A callback run when the request fails, with the reason, just
    /// before the completion callback (`evhttp_request_set_error_cb`).
    /// A cancelled request runs neither.
    ///
    /// # Errors
    /// [`Error::Alloc`]; the request is unchanged then.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpRequest, HttpRequestError};
    ///
    /// let mut req = HttpRequest::new(|_base: &mut EventBase, _r| {})?;
    /// req.set_error_cb(|_, e| assert_ne!(e, HttpRequestError::Cancelled))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_set_error_cb")]
    pub fn set_error_cb<F>(&mut self, f: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, HttpRequestError) + 'static,
    {
        self.cbs.error = Some(allocator_api2::unsize_box!(mem::pool_box(f)?));
        Ok(())
    }

    /// A callback run when the response head has arrived, before any of
    /// the body (`evhttp_request_set_header_cb`): it sees the code,
    /// reason and fields, and may cancel the request. (libevent's
    /// callback returns `-1` to fail the request; here it cancels it.)
    ///
    /// # Errors
    /// [`Error::Alloc`]; the request is unchanged then.
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
    /// let mut req = HttpRequest::new(|base: &mut EventBase, _r| base.loopbreak())?;
    /// req.set_header_cb(|_, resp| {
    ///     assert_eq!(resp.input_headers().find_str("content-length"), Some("2"));
    /// })?;
    /// conn.make_request_with(&mut base, req, Method::Get, "/")?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_set_header_cb")]
    pub fn set_header_cb<F>(&mut self, f: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, &Response<'_>) + 'static,
    {
        self.cbs.header = Some(allocator_api2::unsize_box!(mem::pool_box(f)?));
        Ok(())
    }

    /// Streams the body (`evhttp_request_set_chunked_cb`): the callback
    /// runs each time body bytes arrive, with them in the response's
    /// [`input_buffer`](Response::input_buffer), which is drained after
    /// it — the body is never held whole, and the completion callback
    /// sees an empty one. It may cancel the request.
    ///
    /// # Errors
    /// [`Error::Alloc`]; the request is unchanged then.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpRequest};
    ///
    /// let mut req = HttpRequest::new(|_base: &mut EventBase, _r| {})?;
    /// let mut total = 0;
    /// req.set_chunked_cb(move |_, resp| {
    ///     total += resp.input_buffer().len(); // drained after this returns
    /// })?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_set_chunked_cb")]
    pub fn set_chunked_cb<F>(&mut self, f: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, &mut Response<'_>) + 'static,
    {
        self.cbs.chunk = Some(allocator_api2::unsize_box!(mem::pool_box(f)?));
        Ok(())
    }

    /// The header fields to send (`evhttp_request_get_output_headers`).
    /// `Host` and `Content-Length` are added when missing.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpRequest};
    ///
    /// let mut req = HttpRequest::new(|_base: &mut EventBase, _r| {})?;
    /// req.output_headers().add("User-Agent", "rvent")?;
    /// assert_eq!(req.output_headers().find_str("user-agent"), Some("rvent"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_output_headers")]
    pub fn output_headers(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body to send (`evhttp_request_get_output_buffer`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpRequest};
    ///
    /// let mut req = HttpRequest::new(|_base: &mut EventBase, _r| {})?;
    /// req.output_buffer().add(b"a=1&b=2")?;
    /// assert_eq!(req.output_buffer().len(), 7);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_output_buffer")]
    pub fn output_buffer(&mut self) -> &mut Evbuffer {
        &mut self.body
    }
}

impl<X: BaseExt> std::fmt::Debug for HttpRequest<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl QueuedRequest {
    /// The connection the request is queued on.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// let q = conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |_, _| {})?;
    /// assert_eq!(q.connection(), conn);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_connection")]
    pub fn connection(self) -> HttpConnection {
        self.conn
    }

    /// Whether the request is still queued or in flight: its completion
    /// callback has not run yet, nor was it cancelled.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// let q = conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |_, _| {})?;
    /// assert!(q.is_pending(&base));
    /// q.cancel(&mut base)?;
    /// assert!(!q.is_pending(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_pending<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        client_rec(base, self.conn).is_ok_and(|r| r.queue.iter().any(|q| q.serial == self.serial))
    }

    /// Cancels the request (`evhttp_cancel_request`): none of its
    /// callbacks runs again. If it is in flight — written, its response
    /// being read — the socket closes (the response can no longer be
    /// told apart from the next one's) and the requests behind it go on
    /// over a new one; else it just leaves the queue. May be called
    /// from any callback, the request's own header and chunk callbacks
    /// included. (libevent runs the error callback with
    /// `EVREQ_HTTP_REQUEST_CANCEL` for a request in flight.)
    ///
    /// # Errors
    /// [`Error::StaleRequest`] if the request is no longer pending.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, HttpConnection, Headers, Method};
    ///
    /// let mut base = EventBase::new()?;
    /// let conn = HttpConnection::new(&mut base, "127.0.0.1:8080".parse().unwrap())?;
    /// let q = conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |_, _| {
    ///     unreachable!("a cancelled request's callback never runs")
    /// })?;
    /// q.cancel(&mut base)?;
    /// assert!(q.cancel(&mut base).is_err()); // no longer pending
    /// conn.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_cancel_request")]
    pub fn cancel<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<()> {
        if !self.is_pending(base) {
            return Err(Error::StaleRequest);
        }
        client_conn::cancel(base, self.conn, self.serial);
        Ok(())
    }
}
