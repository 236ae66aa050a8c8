//! [`Response`]: what a request's completion callback sees of the
//! response — the client side's `struct evhttp_request` once answered.

use crate::buffer::Evbuffer;

use super::headers::Headers;
use super::response::ResponseHead;

/// The response to a request made with
/// [`HttpConnection::make_request`](super::HttpConnection::make_request),
/// lent to its completion callback: status, fields and body. The body
/// is the callback's to drain or keep (move its chains out with
/// [`Evbuffer::add_buffer`]); what is left is dropped after the callback.
#[doc(alias = "evhttp_request")]
pub struct Response<'a> {
    pub(super) head: &'a ResponseHead,
    pub(super) body: &'a mut Evbuffer,
}

impl Response<'_> {
    /// The status code (`evhttp_request_get_response_code`).
    ///
    /// # Examples
    /// ```
    /// # use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    /// # use rvent::http::Response;
    /// # // A server answering `200 OK`, `X-Kind: demo`, `hi`, and a client
    /// # // over a bufferevent pair; `check` sees the response.
    /// # fn fetch(check: impl FnOnce(Response<'_>) + 'static) -> Result<(), rvent::Error> {
    /// #     let mut base = EventBase::new()?;
    /// #     let http = Http::new(&mut base)?;
    /// #     http.set_gencb(&mut base, |base, req| {
    /// #         req.output_headers(base).unwrap().add("X-Kind", "demo").unwrap();
    /// #         req.output_buffer(base).unwrap().add(b"hi").unwrap();
    /// #         req.send_reply(base, 200, None, None).unwrap();
    /// #     })?;
    /// #     let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// #     http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// #     let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// #     conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |base, r| {
    /// #         check(r.unwrap());
    /// #         base.loopbreak();
    /// #     })?;
    /// #     base.dispatch()?;
    /// #     Ok(())
    /// # }
    /// fetch(|resp| assert_eq!(resp.code(), 200))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_response_code")]
    pub fn code(&self) -> u16 {
        self.head.code
    }

    /// The reason phrase as sent (`evhttp_request_get_response_code_line`);
    /// `""` if it is not UTF-8.
    ///
    /// # Examples
    /// ```
    /// # use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    /// # use rvent::http::Response;
    /// # // A server answering `200 OK`, `X-Kind: demo`, `hi`, and a client
    /// # // over a bufferevent pair; `check` sees the response.
    /// # fn fetch(check: impl FnOnce(Response<'_>) + 'static) -> Result<(), rvent::Error> {
    /// #     let mut base = EventBase::new()?;
    /// #     let http = Http::new(&mut base)?;
    /// #     http.set_gencb(&mut base, |base, req| {
    /// #         req.output_headers(base).unwrap().add("X-Kind", "demo").unwrap();
    /// #         req.output_buffer(base).unwrap().add(b"hi").unwrap();
    /// #         req.send_reply(base, 200, None, None).unwrap();
    /// #     })?;
    /// #     let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// #     http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// #     let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// #     conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |base, r| {
    /// #         check(r.unwrap());
    /// #         base.loopbreak();
    /// #     })?;
    /// #     base.dispatch()?;
    /// #     Ok(())
    /// # }
    /// fetch(|resp| assert_eq!(resp.reason(), "OK"))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_response_code_line")]
    pub fn reason(&self) -> &str {
        std::str::from_utf8(&self.head.reason).unwrap_or_default()
    }

    /// The HTTP version: `(1, 0)` or `(1, 1)`.
    ///
    /// # Examples
    /// ```
    /// # use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    /// # use rvent::http::Response;
    /// # // A server answering `200 OK`, `X-Kind: demo`, `hi`, and a client
    /// # // over a bufferevent pair; `check` sees the response.
    /// # fn fetch(check: impl FnOnce(Response<'_>) + 'static) -> Result<(), rvent::Error> {
    /// #     let mut base = EventBase::new()?;
    /// #     let http = Http::new(&mut base)?;
    /// #     http.set_gencb(&mut base, |base, req| {
    /// #         req.output_headers(base).unwrap().add("X-Kind", "demo").unwrap();
    /// #         req.output_buffer(base).unwrap().add(b"hi").unwrap();
    /// #         req.send_reply(base, 200, None, None).unwrap();
    /// #     })?;
    /// #     let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// #     http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// #     let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// #     conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |base, r| {
    /// #         check(r.unwrap());
    /// #         base.loopbreak();
    /// #     })?;
    /// #     base.dispatch()?;
    /// #     Ok(())
    /// # }
    /// fetch(|resp| assert_eq!(resp.version(), (1, 1)))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn version(&self) -> (u8, u8) {
        (1, self.head.minor)
    }

    /// The response's header fields (`evhttp_request_get_input_headers`).
    ///
    /// # Examples
    /// ```
    /// # use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    /// # use rvent::http::Response;
    /// # // A server answering `200 OK`, `X-Kind: demo`, `hi`, and a client
    /// # // over a bufferevent pair; `check` sees the response.
    /// # fn fetch(check: impl FnOnce(Response<'_>) + 'static) -> Result<(), rvent::Error> {
    /// #     let mut base = EventBase::new()?;
    /// #     let http = Http::new(&mut base)?;
    /// #     http.set_gencb(&mut base, |base, req| {
    /// #         req.output_headers(base).unwrap().add("X-Kind", "demo").unwrap();
    /// #         req.output_buffer(base).unwrap().add(b"hi").unwrap();
    /// #         req.send_reply(base, 200, None, None).unwrap();
    /// #     })?;
    /// #     let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// #     http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// #     let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// #     conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |base, r| {
    /// #         check(r.unwrap());
    /// #         base.loopbreak();
    /// #     })?;
    /// #     base.dispatch()?;
    /// #     Ok(())
    /// # }
    /// fetch(|resp| assert_eq!(resp.input_headers().find_str("x-kind"), Some("demo")))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_input_headers")]
    pub fn input_headers(&self) -> &Headers {
        &self.head.headers
    }

    /// The response body, decoded from chunks if it came chunked
    /// (`evhttp_request_get_input_buffer`).
    ///
    /// # Examples
    /// ```
    /// # use rvent::{BevOptions, Bufferevent, EventBase, Http, HttpConnection, Headers, Method};
    /// # use rvent::http::Response;
    /// # // A server answering `200 OK`, `X-Kind: demo`, `hi`, and a client
    /// # // over a bufferevent pair; `check` sees the response.
    /// # fn fetch(check: impl FnOnce(Response<'_>) + 'static) -> Result<(), rvent::Error> {
    /// #     let mut base = EventBase::new()?;
    /// #     let http = Http::new(&mut base)?;
    /// #     http.set_gencb(&mut base, |base, req| {
    /// #         req.output_headers(base).unwrap().add("X-Kind", "demo").unwrap();
    /// #         req.output_buffer(base).unwrap().add(b"hi").unwrap();
    /// #         req.send_reply(base, 200, None, None).unwrap();
    /// #     })?;
    /// #     let (c, s) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE)?;
    /// #     http.serve_bufferevent(&mut base, s, "127.0.0.1:1".parse().unwrap())?;
    /// #     let conn = HttpConnection::with_bufferevent(&mut base, c, "127.0.0.1:80".parse().unwrap())?;
    /// #     conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |base, r| {
    /// #         check(r.unwrap());
    /// #         base.loopbreak();
    /// #     })?;
    /// #     base.dispatch()?;
    /// #     Ok(())
    /// # }
    /// fetch(|mut resp| assert_eq!(resp.input_buffer().pullup(None).as_deref(), Some(&b"hi"[..])))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_request_get_input_buffer")]
    pub fn input_buffer(&mut self) -> &mut Evbuffer {
        self.body
    }
}

impl std::fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("code", &self.head.code)
            .field("body_len", &self.body.len())
            .finish()
    }
}
