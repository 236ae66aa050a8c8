//! Writing a reply: the status line and fields rvent adds (Date,
//! Content-Length, the default Content-Type, Connection), the user's
//! fields and the body, into the connection's bufferevent output.
//!
//! The head is assembled in a stack buffer and added to the output in as
//! few pieces as fit (one for a usual reply); the body moves as chains.
//! Nothing is allocated but the output's chains, which come from the pool.

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};

use super::handle::ConnId;
use super::method::Method;
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

/// A head being written: a stack buffer flushed into `out` when full.
struct HeadWriter<'a> {
    buf: [u8; 512],
    len: usize,
    out: &'a mut Evbuffer,
}

impl HeadWriter<'_> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        if self.len + b.len() > self.buf.len() {
            self.flush()?;
            if b.len() > self.buf.len() {
                return self.out.add(b);
            }
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }

    fn put_u64(&mut self, mut n: u64) -> Result<()> {
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
        self.put(&digits[i..])
    }

    fn field(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        self.put(name)?;
        self.put(b": ")?;
        self.put(value)?;
        self.put(b"\r\n")
    }

    fn flush(&mut self) -> Result<()> {
        if self.len > 0 {
            self.out.add(&self.buf[..self.len])?;
            self.len = 0;
        }
        Ok(())
    }
}

/// Whether a reply with `code` has no body (RFC 9110 §6.4.1).
fn bodiless(code: u16) -> bool {
    code < 200 || code == 204 || code == 304
}

/// Writes the reply to the request on `id` and readies the connection
/// for what follows: the next request, or closing. Returns the outcome
/// and what the connection must do next.
pub(super) fn send<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    code: u16,
    reason_phrase: Option<&str>,
    body: Option<&mut Evbuffer>,
    close: bool,
) -> (Result<()>, After) {
    if !(100..=999).contains(&code) {
        return (
            Err(Error::InvalidArgument("status code is not 3 digits")),
            After::Nothing,
        );
    }
    if reason_phrase.is_some_and(|r| r.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))) {
        return (
            Err(Error::InvalidArgument("reason holds CR, LF or NUL")),
            After::Nothing,
        );
    }
    let t = base.ext.http_mut();
    let date = *t.date.now();
    let Some(mut c) = t.take_conn(id) else {
        return (Err(Error::StaleRequest), After::Nothing);
    };
    let server = c.server;
    let Some(st) = c.state.as_deref_mut() else {
        let _ = base.ext.http_mut().put_back_conn(id, c);
        return (Err(Error::StaleRequest), After::Nothing);
    };
    let content_type = server_rec_mut(base, server)
        .ok()
        .and_then(|s| s.content_type.take());
    let moved = match body {
        Some(b) => st.output.add_buffer(b),
        None => Ok(()),
    };
    let keep_alive = !close
        && moved.is_ok()
        && st.head.keep_alive
        && !st
            .out_headers
            .find_all("connection")
            .any(|v| v.eq_ignore_ascii_case(b"close"));
    let head_only = st.head.method == Method::Head || bodiless(code);
    let result = moved.and_then(|()| {
        let out = c.bev.output(base)?;
        let mut w = HeadWriter {
            buf: [0; 512],
            len: 0,
            out,
        };
        w.put(b"HTTP/1.1 ")?;
        w.put_u64(u64::from(code))?;
        w.put(b" ")?;
        w.put(reason_phrase.unwrap_or(reason(code)).as_bytes())?;
        w.put(b"\r\n")?;
        let h = &st.out_headers;
        if h.find("date").is_none() {
            w.field(b"Date", &date)?;
        }
        if !bodiless(code) && h.find("content-length").is_none() {
            w.put(b"Content-Length: ")?;
            w.put_u64(st.output.len() as u64)?;
            w.put(b"\r\n")?;
        }
        if h.find("content-type").is_none()
            && !bodiless(code)
            && let Some(ct) = &content_type
        {
            w.field(b"Content-Type", ct)?;
        }
        if !keep_alive {
            if h.find("connection").is_none() {
                w.field(b"Connection", b"close")?;
            }
        } else if st.head.minor == 0 && h.find("connection").is_none() {
            w.field(b"Connection", b"keep-alive")?;
        }
        for (n, v) in h.iter() {
            w.field(n, v)?;
        }
        w.put(b"\r\n")?;
        w.flush()?;
        if head_only {
            let n = st.output.len();
            st.output.drain(n)
        } else {
            w.out.add_buffer(&mut st.output)
        }
    });
    if let Ok(s) = server_rec_mut(base, server) {
        s.content_type = content_type;
    }
    let keep_alive = keep_alive && result.is_ok();
    if keep_alive {
        st.reset();
        c.phase = Phase::Head;
    } else {
        c.phase = Phase::Closing;
    }
    let in_process = c.in_process;
    if let Some(c) = base.ext.http_mut().put_back_conn(id, c) {
        drop(c);
        return (result, After::Nothing);
    }
    let after = if !keep_alive {
        After::Close
    } else if !in_process {
        After::Resume
    } else {
        After::Nothing
    };
    (result, after)
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
    let page = error_page(&mut st.output, code, phrase)
        .and_then(|()| st.out_headers.add("Content-Type", "text/html"));
    // A refused head may be half parsed: never keep such a connection.
    let close = close || page.is_err() || code == 400;
    send(base, id, code, reason_phrase, None, close)
}
