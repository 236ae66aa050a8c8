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
    pub fn is_live<X: HttpHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// The method (`evhttp_request_get_command`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
    #[doc(alias = "evhttp_request_get_command")]
    pub fn method<X: HttpHost>(self, base: &EventBase<X>) -> Result<Method> {
        Ok(self.state(base)?.head.method)
    }

    /// The method token as sent (`GET`, or an extension's).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    #[doc(alias = "evhttp_request_get_evhttp_uri")]
    pub fn parsed_uri<X: HttpHost>(self, base: &EventBase<X>) -> Result<Uri> {
        Uri::parse_with_flags(self.uri(base)?, UriFlags::NONCONFORMANT)
    }

    /// The host asked for (`evhttp_request_get_host`): the authority of
    /// an absolute-form target, else the Host field; `None` if neither.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
    pub fn version<X: HttpHost>(self, base: &EventBase<X>) -> Result<(u8, u8)> {
        Ok((1, self.state(base)?.head.minor))
    }

    /// The request's header fields (`evhttp_request_get_input_headers`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
    #[doc(alias = "evhttp_request_get_input_headers")]
    pub fn input_headers<X: HttpHost>(self, base: &EventBase<X>) -> Result<&Headers> {
        Ok(&self.state(base)?.head.headers)
    }

    /// The reply's header fields (`evhttp_request_get_output_headers`).
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
    #[doc(alias = "evhttp_request_get_output_headers")]
    pub fn output_headers<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut Headers> {
        Ok(&mut self.state_mut(base)?.out_headers)
    }

    /// The request body (`evhttp_request_get_input_buffer`), decoded from
    /// chunks if it came chunked.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
    #[doc(alias = "evhttp_request_get_input_buffer")]
    pub fn input_buffer<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.state_mut(base)?.input)
    }

    /// The reply body being built (`evhttp_request_get_output_buffer`);
    /// [`send_reply`](Self::send_reply) sends it.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
    #[doc(alias = "evhttp_request_get_output_buffer")]
    pub fn output_buffer<X: HttpHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.state_mut(base)?.output)
    }

    /// The client's address (`evhttp_connection_get_peer`); `None` for a
    /// connection on a Unix-domain listener.
    ///
    /// # Errors
    /// [`Error::StaleRequest`].
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
