//! Writing a reply: the status line and fields rvent adds (Date,
//! Content-Length, the default Content-Type, Connection), the user's
//! fields and the body, into the connection's bufferevent output.
//!
//! The head is written in place into room reserved at the end of the
//! output (`evbuffer_reserve_space`), sized by an upper bound of its
//! length — the output's kept chain between replies, so no copy and no
//! allocation; a small body is copied behind it, a larger one moves as chains — references and file
//! segments always do, so a file body goes out with `sendfile`. Nothing is allocated but the output's chains, which come
//! from the pool.
//!
//! A streamed reply (`start`, `chunk`, `end`) has no Content-Length of
//! ours: it is chunked on HTTP/1.1 and ended by closing the connection on
//! HTTP/1.0 (unless the user set a Content-Length, whose bytes are then
//! the user's to get right).

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::bufferevent::Bufferevent;
use crate::error::{Error, Result};

use super::date::DATE_LEN;
use super::handle::{ConnId, Http};
use super::headers::Headers;
use super::method::Method;
use super::state::{BodyFraming, RequestState, Stream};
use super::status::{Refusal, reason};
use super::table::{HttpHost, Phase, server_rec_mut};

/// What the connection does once a reply is in its output; `conn` does
/// it (this file writes, it never drives the connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(super) enum After {
    /// Close once the output is written.
    Close,
    /// Go on to the next request (resuming reading if it was paused).
    Resume,
    /// Nothing: the connection's request loop is running and goes on by
    /// itself, or the connection is gone.
    Nothing,
}

/// A head being written into reserved room at least as long as it.
struct HeadWriter<'a> {
    room: &'a mut [u8],
    len: usize,
}

impl HeadWriter<'_> {
    // Inlined: most pieces are constants, copied without a call.
    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.room[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn put_u64(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }

    #[inline]
    fn field(&mut self, name: &[u8], value: &[u8]) {
        self.put(name);
        self.put(b": ");
        self.put(value);
        self.put(b"\r\n");
    }
}

/// The most a head takes besides the reason phrase, the default
/// Content-Type's value and the user's fields (each `name: value` and
/// CRLF): status line, Date, the framing field (Content-Length with 20
/// digits is the longer), Content-Type's name, `Connection: keep-alive`,
/// the blank line.
const HEAD_FIXED_MAX: usize = "HTTP/1.1 200 \r\n".len()
    + "Date: \r\n".len()
    + DATE_LEN
    + "Content-Length: 18446744073709551615\r\n".len()
    + "Content-Type: \r\n".len()
    + "Connection: keep-alive\r\n".len()
    + "\r\n".len();

/// Whether a reply with `code` has no body (RFC 9110 §6.4.1).
fn bodiless(code: u16) -> bool {
    code < 200 || code == 204 || code == 304
}

/// Checks a status code and reason phrase.
fn check_status(code: u16, reason_phrase: Option<&str>) -> Result<()> {
    if !(100..=999).contains(&code) {
        return Err(Error::InvalidArgument("status code is not 3 digits"));
    }
    if reason_phrase.is_some_and(|r| r.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))) {
        return Err(Error::InvalidArgument("reason holds CR, LF or NUL"));
    }
    Ok(())
}

/// Whether field name `name` is `lower` (lower-case letters and `-`) in
/// any case. Eight bytes at a time, with the case bit (0x20) set on
/// `name`'s bytes: exact for a token, whose only byte folding onto `-`
/// would be CR, which no field name holds.
#[inline]
fn name_is(name: &[u8], lower: &[u8]) -> bool {
    const CASE: u64 = 0x2020_2020_2020_2020;
    if name.len() != lower.len() {
        return false;
    }
    let (mut a, mut b) = (name, lower);
    while let (Some((x, ra)), Some((y, rb))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if u64::from_le_bytes(*x) | CASE != u64::from_le_bytes(*y) {
            return false;
        }
        (a, b) = (ra, rb);
    }
    a.iter().zip(b).all(|(&x, &y)| x | 0x20 == y)
}

/// The user's reply fields that change what rvent adds, and the room
/// all of them take in a head, found in one pass over them.
#[derive(Default)]
struct UserFields {
    /// Bytes the fields take written out (`name: value` and CRLF each).
    len: usize,
    date: bool,
    content_length: bool,
    transfer_encoding: bool,
    content_type: bool,
    connection: bool,
    /// A `Connection` field whose value is `close`.
    connection_close: bool,
}

impl UserFields {
    fn of(h: &Headers) -> UserFields {
        let mut u = UserFields::default();
        for (name, value) in h.iter() {
            u.len += name.len() + value.len() + 4;
            // By length first: most fields are none of these.
            match name.len() {
                4 if name_is(name, b"date") => u.date = true,
                10 if name_is(name, b"connection") => {
                    u.connection = true;
                    u.connection_close |= value.eq_ignore_ascii_case(b"close");
                }
                12 if name_is(name, b"content-type") => u.content_type = true,
                14 if name_is(name, b"content-length") => u.content_length = true,
                17 if name_is(name, b"transfer-encoding") => {
                    u.transfer_encoding = true;
                }
                _ => {}
            }
        }
        u
    }
}

/// Runs `f` on the request of connection `id` — its server, its
/// bufferevent and its request state, the state out of the record
/// meanwhile (`f` needs it and the bufferevent's output at once; no user
/// code runs). Moving the one pointer out and back is cheaper than the
/// record.
fn with_request<X: HttpHost, T>(
    base: &mut EventBase<X>,
    id: ConnId,
    f: impl FnOnce(&mut EventBase<X>, Http, Bufferevent, &mut RequestState) -> Result<T>,
) -> Result<T> {
    let Some(c) = base.ext.http_mut().conn_mut(id) else {
        return Err(Error::StaleRequest);
    };
    let (server, bev) = (c.server, c.bev);
    let Some(mut st) = c.state.take() else {
        return Err(Error::StaleRequest);
    };
    let result = f(base, server, bev, &mut st);
    match base.ext.http_mut().conn_mut(id) {
        Some(c) if c.state.is_none() => c.state = Some(st),
        // Closed meanwhile: cannot happen.
        _ => {
            base.ext.http_mut().give_back_state(st);
            return Err(Error::StaleRequest);
        }
    }
    result
}

/// Writes the head of the reply to request `st` of `server` into `bev`'s
/// output: status line, Date, the framing field, the default
/// Content-Type, Connection, the user's fields. `stream`: a streamed
/// reply (no Content-Length of ours; chunked on HTTP/1.1,
/// close-delimited on 1.0); else the body is the request's output
/// buffer, measured. Returns how the reply goes on; on a failed write
/// the connection is to close.
#[allow(clippy::too_many_arguments)]
fn write_head<X: HttpHost>(
    base: &mut EventBase<X>,
    server: Http,
    bev: Bufferevent,
    st: &mut RequestState,
    code: u16,
    reason_phrase: Option<&str>,
    stream: bool,
    close: bool,
) -> Result<Stream> {
    let mono_ns = base.now_ns();
    let date = *base.ext.http_mut().date.now(mono_ns);
    let content_type = server_rec_mut(base, server)
        .ok()
        .and_then(|s| s.content_type.take());
    let h = &st.out_headers;
    let user = UserFields::of(h);
    let head_only = st.head.method == Method::Head || bodiless(code);
    let framing = if !stream || user.content_length || bodiless(code) {
        BodyFraming::Length
    } else if st.head.minor == 1 {
        BodyFraming::Chunked
    } else {
        BodyFraming::Close
    };
    let keep_alive =
        !close && framing != BodyFraming::Close && st.head.keep_alive && !user.connection_close;
    let phrase = reason_phrase.unwrap_or(reason(code)).as_bytes();
    let bound =
        HEAD_FIXED_MAX + phrase.len() + content_type.as_ref().map_or(0, |t| t.len()) + user.len;
    let result = bev.output(base).and_then(|out| {
        let mut w = HeadWriter {
            room: out.reserve_space(bound)?,
            len: 0,
        };
        // `code` is checked to be three digits.
        let digits = [
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ];
        w.put(b"HTTP/1.1 ");
        w.put(&digits);
        w.put(b" ");
        w.put(phrase);
        w.put(b"\r\n");
        if !user.date {
            w.field(b"Date", &date);
        }
        match framing {
            BodyFraming::Length if !bodiless(code) && !user.content_length => {
                w.put(b"Content-Length: ");
                w.put_u64(st.output.len() as u64);
                w.put(b"\r\n");
            }
            BodyFraming::Chunked if !user.transfer_encoding => {
                w.field(b"Transfer-Encoding", b"chunked");
            }
            _ => {}
        }
        if !user.content_type
            && !bodiless(code)
            && let Some(ct) = &content_type
        {
            w.field(b"Content-Type", ct);
        }
        if !keep_alive {
            if !user.connection {
                w.field(b"Connection", b"close");
            }
        } else if st.head.minor == 0 && !user.connection {
            w.field(b"Connection", b"keep-alive");
        }
        for (n, v) in h.iter() {
            w.field(n, v);
        }
        w.put(b"\r\n");
        let n = w.len;
        out.commit_space(n)
    });
    if let Ok(s) = server_rec_mut(base, server) {
        s.content_type = content_type;
    }
    result.map(|()| Stream {
        framing,
        head_only,
        keep_alive,
    })
}

/// Moves `body` (request `st`'s output buffer when `None`) into `bev`'s
/// output as the stream says: dropped for a head-only reply, as one chunk
/// on a chunked one.
fn write_body<X: HttpHost>(
    base: &mut EventBase<X>,
    bev: Bufferevent,
    st: &mut RequestState,
    s: Stream,
    body: Option<&mut Evbuffer>,
) -> Result<()> {
    let body = match body {
        Some(b) => b,
        None => &mut st.output,
    };
    bev.output(base).and_then(|out| {
        if s.head_only {
            let n = body.len();
            body.drain(n)
        } else if s.framing == BodyFraming::Chunked {
            if body.is_empty() {
                return Ok(()); // a 0-size chunk would end the body
            }
            let mut hex = [0u8; 18];
            let n = chunk_size_line(body.len(), &mut hex);
            out.add(&hex[..n])?;
            out.add_buffer_into_room(body, COPY_BODY_MAX)?;
            out.add(b"\r\n")
        } else {
            out.add_buffer_into_room(body, COPY_BODY_MAX)
        }
    })
}

/// A body of at most this many bytes is copied behind its head when the
/// output's chain has room for it, rather than moved as chains: cheaper
/// than a chain changing hands, and head and body go out as one piece.
const COPY_BODY_MAX: usize = 1024;

/// `len` in hex followed by CRLF, into `out`: its length.
fn chunk_size_line(len: usize, out: &mut [u8; 18]) -> usize {
    let mut digits = 1;
    while digits < 16 && len >> (4 * digits) != 0 {
        digits += 1;
    }
    for (i, o) in out[..digits].iter_mut().enumerate() {
        *o = b"0123456789abcdef"[(len >> (4 * (digits - 1 - i))) & 0xf];
    }
    out[digits] = b'\r';
    out[digits + 1] = b'\n';
    digits + 2
}

/// The reply is all in the output: readies the connection for the next
/// request, or for closing; what it must do next.
fn finish<X: HttpHost>(base: &mut EventBase<X>, id: ConnId, keep_alive: bool) -> After {
    let t = base.ext.http_mut();
    if !t.pending.is_empty() {
        t.arm_pending(id);
    }
    let Some(c) = t.conn_mut(id) else {
        return After::Nothing;
    };
    if let Some(st) = c.state.as_deref_mut() {
        st.stream = None;
        if keep_alive {
            st.reset();
        }
    }
    if !keep_alive {
        c.phase = Phase::Closing;
        After::Close
    } else {
        c.phase = Phase::Head;
        if c.in_process {
            After::Nothing
        } else {
            After::Resume
        }
    }
}

/// Writes the reply to the request on `id` — head, then the request's
/// output buffer followed by `body` — and readies the connection for what
/// follows: the next request, or closing. Returns the outcome and what
/// the connection must do next.
pub(super) fn send<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    code: u16,
    reason_phrase: Option<&str>,
    body: Option<&mut Evbuffer>,
    close: bool,
) -> (Result<()>, After) {
    if let Err(e) = check_status(code, reason_phrase) {
        return (Err(e), After::Nothing);
    }
    // One trip out of the record for the whole reply.
    let result = with_request(base, id, |base, server, bev, st| {
        // The body joins the output buffer first: Content-Length counts
        // both.
        if let Some(b) = body {
            st.output.add_buffer(b)?;
        }
        let s = write_head(base, server, bev, st, code, reason_phrase, false, close)?;
        write_body(base, bev, st, s, None)?;
        Ok(s)
    });
    match result {
        Ok(s) => (Ok(()), finish(base, id, s.keep_alive)),
        Err(Error::StaleRequest) => (Err(Error::StaleRequest), After::Nothing),
        Err(e) => (Err(e), finish(base, id, false)),
    }
}

/// Starts a streamed reply (`evhttp_send_reply_start`): writes the head,
/// then what the output buffer holds as the first piece of the body. The
/// request stays with its callback.
pub(super) fn start<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    code: u16,
    reason_phrase: Option<&str>,
) -> (Result<()>, After) {
    if let Err(e) = check_status(code, reason_phrase) {
        return (Err(e), After::Nothing);
    }
    let result = with_request(base, id, |base, server, bev, st| {
        let s = write_head(base, server, bev, st, code, reason_phrase, true, false)?;
        write_body(base, bev, st, s, None)?;
        Ok(s)
    });
    match result {
        Ok(s) => {
            if let Some(st) = base
                .ext
                .http_mut()
                .conn_mut(id)
                .and_then(|c| c.state.as_deref_mut())
            {
                st.stream = Some(s);
            }
            (Ok(()), After::Nothing)
        }
        Err(Error::StaleRequest) => (Err(Error::StaleRequest), After::Nothing),
        Err(e) => (Err(e), finish(base, id, false)),
    }
}

/// Sends `body` as the next piece of a streamed reply
/// (`evhttp_send_reply_chunk`); `body` is drained.
pub(super) fn chunk<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    s: Stream,
    body: &mut Evbuffer,
) -> (Result<()>, After) {
    match with_request(base, id, |base, _, bev, st| {
        write_body(base, bev, st, s, Some(body))
    }) {
        Ok(()) => (Ok(()), After::Nothing),
        Err(Error::StaleRequest) => (Err(Error::StaleRequest), After::Nothing),
        Err(e) => (Err(e), finish(base, id, false)),
    }
}

/// Ends a streamed reply (`evhttp_send_reply_end`): the last chunk of a
/// chunked one, then as [`send`].
pub(super) fn end<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    s: Stream,
) -> (Result<()>, After) {
    let result = if s.framing == BodyFraming::Chunked && !s.head_only {
        let Some(c) = base.ext.http().conn(id) else {
            return (Err(Error::StaleRequest), After::Nothing);
        };
        let bev = c.bev;
        bev.output(base).and_then(|out| out.add(b"0\r\n\r\n"))
    } else {
        Ok(())
    };
    match result {
        Ok(()) => (Ok(()), finish(base, id, s.keep_alive)),
        Err(e) => (Err(e), finish(base, id, false)),
    }
}

/// Fills `out` with libevent's small error page for `code`.
pub(super) fn error_page(out: &mut Evbuffer, code: u16, reason_phrase: &str) -> Result<()> {
    let mut digits = [b'0'; 3];
    digits[0] += (code / 100 % 10) as u8;
    digits[1] += (code / 10 % 10) as u8;
    digits[2] += (code % 10) as u8;
    let r = reason_phrase.as_bytes();
    for piece in [
        &b"<HTML><HEAD>\n<TITLE>"[..],
        &digits,
        b" ",
        r,
        b"</TITLE>\n</HEAD><BODY>\n<H1>",
        r,
        b"</H1>\n</BODY></HTML>\n",
    ] {
        out.add(piece)?;
    }
    Ok(())
}

/// Answers a request the parser refused; the connection is to close.
pub(super) fn refuse<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    r: Refusal,
) -> (Result<()>, After) {
    send_error(base, id, r.code(), None, true)
}

/// Writes `code` with the error page (`evhttp_send_error`), as [`send`].
pub(super) fn send_error<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    code: u16,
    reason_phrase: Option<&str>,
    close: bool,
) -> (Result<()>, After) {
    let phrase = reason_phrase.unwrap_or(reason(code));
    let Some(server) = base.ext.http().conn(id).map(|c| c.server) else {
        return (Err(Error::StaleRequest), After::Nothing);
    };
    let mut hook = server_rec_mut(base, server)
        .ok()
        .and_then(|s| s.error_page.take());
    let Some(st) = base
        .ext
        .http_mut()
        .conn_mut(id)
        .and_then(|c| c.state.as_deref_mut())
    else {
        return (Err(Error::StaleRequest), After::Nothing);
    };
    let n = st.output.len();
    let _ = st.output.drain(n);
    st.out_headers.clear();
    // The server's error-page callback first (`evhttp_set_errorcb`).
    let custom = hook
        .as_mut()
        .is_some_and(|f| f(code, phrase, &mut st.output));
    let page = if custom {
        Ok(())
    } else {
        let n = st.output.len();
        let _ = st.output.drain(n);
        error_page(&mut st.output, code, phrase)
    }
    .and_then(|()| st.out_headers.add("Content-Type", "text/html"));
    if let Ok(s) = server_rec_mut(base, server)
        && s.error_page.is_none()
    {
        s.error_page = hook;
    }
    // A refused head may be half parsed: never keep such a connection.
    let close = close || page.is_err() || code == 400;
    send(base, id, code, reason_phrase, None, close)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_in_any_case_only() {
        for (name, lower, want) in [
            (&b"Content-Type"[..], &b"content-type"[..], true),
            (b"CONTENT-LENGTH", b"content-length", true),
            (b"transfer-Encoding", b"transfer-encoding", true),
            (b"Date", b"date", true),
            (b"Dat", b"date", false),
            (b"Content_Type", b"content-type", false),
            (b"Content-Typf", b"content-type", false),
            (b"Dontent-Type", b"content-type", false),
            (b"Connectiom", b"connection", false),
            (b"Content-Type ", b"content-type", false),
        ] {
            assert_eq!(
                name_is(name, lower),
                want,
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn chunk_size_lines_are_lowercase_hex() {
        let mut out = [0u8; 18];
        for (len, want) in [
            (1usize, &b"1\r\n"[..]),
            (15, b"f\r\n"),
            (16, b"10\r\n"),
            (0xabc, b"abc\r\n"),
            (usize::MAX, b"ffffffffffffffff\r\n"),
        ] {
            let n = chunk_size_line(len, &mut out);
            assert_eq!(&out[..n], want);
        }
    }

    #[test]
    fn error_pages_name_code_and_reason() {
        let mut out = Evbuffer::new();
        error_page(&mut out, 404, "Not Found").unwrap();
        let page = out.pullup(None).unwrap().to_vec();
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("<TITLE>404 Not Found</TITLE>"));
        assert!(page.contains("<H1>Not Found</H1>"));
        assert!(bodiless(204) && bodiless(304) && bodiless(100) && !bodiless(200));
        assert!(check_status(99, None).is_err());
        assert!(check_status(200, Some("a\r\nb")).is_err());
        assert!(check_status(599, Some("Fine")).is_ok());
    }
}
