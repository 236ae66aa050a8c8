//! The response head a client reads: status line and header fields,
//! parsed in place from the connection's input by `httparse`, and the
//! framing they announce.
//!
//! The same rules the server applies to requests (`parse`), from the
//! other side (RFC 9112 §6.3): `Content-Length` must be one number
//! (digits only: a negative or listed-and-disagreeing length is refused,
//! since a client that guesses reads the next response from the middle
//! of a body); `Transfer-Encoding` beside `Content-Length` is refused;
//! `chunked` last means chunked; any other coding, or neither field,
//! means the body runs until the server closes. A response to `HEAD`,
//! and a `1xx`, `204` or `304`, has no body whatever its fields say. The
//! head is stored in storage the connection keeps from response to
//! response, so a warm connection parses without allocating.

use crate::error::Result;
use crate::mem::{self, MemVec};

use super::headers::Headers;
use super::parse::{Framing, FramingFields, Limits, MAX_FIELDS, head_in_place, store_fields};
use super::status::Refusal;
use crate::buffer::Evbuffer;

/// How a response's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ResponseFraming {
    /// No body, or `Content-Length` / chunked (`Framing::None` for none).
    Framed(Framing),
    /// The body runs until the server closes the connection.
    UntilClose,
}

/// A response head, kept by its connection and reused.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub(super) code: u16,
    pub(super) reason: MemVec<u8>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(super) minor: u8,
    pub(super) headers: Headers,
    pub(super) framing: ResponseFraming,
    /// The server keeps the connection open after this response.
    pub(super) keep_alive: bool,
}

impl Default for ResponseHead {
    fn default() -> Self {
        ResponseHead {
            code: 0,
            reason: mem::vec(),
            minor: 1,
            headers: Headers::new(),
            framing: ResponseFraming::Framed(Framing::None),
            keep_alive: false,
        }
    }
}

impl ResponseHead {
    /// Forgets the previous response, keeping the storage.
    pub(super) fn reset(&mut self) {
        self.code = 0;
        self.reason.clear();
        self.minor = 1;
        self.headers.clear();
        self.framing = ResponseFraming::Framed(Framing::None);
        self.keep_alive = false;
    }

    /// Whether this is an interim (`1xx`) response, to be skipped.
    pub(super) fn is_interim(&self) -> bool {
        (100..200).contains(&self.code)
    }
}

/// Parses a response head from the front of `input` into `head`;
/// `to_head`: the request was `HEAD` (no body follows).
///
/// `Ok(true)`: `head` holds the response and its bytes were drained.
/// `Ok(false)`: more bytes are needed (nothing drained). `Err`: the head
/// is refused.
pub(super) fn parse_response_head(
    input: &mut Evbuffer,
    head: &mut ResponseHead,
    limits: &Limits,
    to_head: bool,
) -> std::result::Result<bool, Refusal> {
    if input.is_empty() {
        return Ok(false);
    }
    head.reset();
    head_in_place(input, limits.max_header_size, |bytes| {
        parse_slice(bytes, head, limits, to_head)
    })
}

/// Parses one contiguous slice: `Some(head length)` or `None` if partial.
fn parse_slice(
    bytes: &[u8],
    head: &mut ResponseHead,
    limits: &Limits,
    to_head: bool,
) -> std::result::Result<Option<usize>, Refusal> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut res = httparse::Response::new(&mut fields);
    let n = match res.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::HeadersTooLarge),
        Err(_) => return Err(Refusal::BadRequest),
    };
    if n > limits.max_header_size {
        return Err(Refusal::HeadersTooLarge);
    }
    let (Some(code), Some(minor)) = (res.code, res.version) else {
        return Err(Refusal::BadRequest);
    };
    // Three digits, the first a class (RFC 9110 §15): `000`–`099` are no
    // status (httparse reads any three digits).
    if code < 100 {
        return Err(Refusal::BadRequest);
    }
    head.code = code;
    head.minor = minor;
    let mut f = FramingFields::default();
    store(
        head,
        res.reason.unwrap_or_default().as_bytes(),
        res.headers,
        &mut f,
    )
    .map_err(|_| Refusal::ServiceUnavailable)?;
    check(head, &f, limits, to_head)?;
    Ok(Some(n))
}

fn store<'a>(
    head: &mut ResponseHead,
    reason: &[u8],
    fields: &[httparse::Header<'a>],
    f: &mut FramingFields<'a>,
) -> Result<()> {
    mem::extend(&mut head.reason, reason)?;
    store_fields(&mut head.headers, fields, f)
}

/// The framing and keep-alive of the response (RFC 9112 §6.3).
fn check(
    head: &mut ResponseHead,
    f: &FramingFields<'_>,
    limits: &Limits,
    to_head: bool,
) -> std::result::Result<(), Refusal> {
    if f.bad || (f.te && f.length.is_some()) {
        return Err(Refusal::BadRequest);
    }
    let bodiless = to_head || head.is_interim() || head.code == 204 || head.code == 304;
    head.framing = if bodiless {
        ResponseFraming::Framed(Framing::None)
    } else if f.te {
        if f.chunked_last && !f.other_coding {
            ResponseFraming::Framed(Framing::Chunked)
        } else {
            ResponseFraming::UntilClose
        }
    } else {
        match f.length {
            Some(0) => ResponseFraming::Framed(Framing::None),
            Some(n) if n > limits.max_body_size => return Err(Refusal::PayloadTooLarge),
            Some(n) => ResponseFraming::Framed(Framing::Length(n)),
            None => ResponseFraming::UntilClose,
        }
    };
    head.keep_alive = !f.close
        && (head.minor == 1 || f.keep_alive)
        && head.framing != ResponseFraming::UntilClose;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse::TEST_LIMITS as LIMITS;

    /// Parses `bytes` whole and at every split point, checking they agree.
    fn parse(bytes: &[u8], to_head: bool) -> std::result::Result<ResponseHead, Refusal> {
        let whole = {
            let mut input = Evbuffer::new();
            input.add(bytes).unwrap();
            let mut head = ResponseHead::default();
            parse_response_head(&mut input, &mut head, &LIMITS, to_head).map(|done| {
                assert!(done, "partial: {:?}", bytes.escape_ascii().to_string());
                head
            })
        };
        for at in 0..bytes.len() {
            let mut input = Evbuffer::new();
            let mut head = ResponseHead::default();
            input.add(&bytes[..at]).unwrap();
            let r = parse_response_head(&mut input, &mut head, &LIMITS, to_head);
            if r != Ok(false) {
                assert_eq!(r.err(), whole.as_ref().err().copied(), "split at {at}");
                continue;
            }
            input.add(&bytes[at..]).unwrap();
            let r = parse_response_head(&mut input, &mut head, &LIMITS, to_head);
            match &whole {
                Ok(w) => {
                    assert_eq!(r, Ok(true), "split at {at}");
                    assert_eq!((head.code, head.framing), (w.code, w.framing));
                }
                Err(e) => assert_eq!(r, Err(*e), "split at {at}"),
            }
        }
        whole
    }

    #[test]
    fn status_line_fields_and_framing() {
        let h = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b \r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!((h.code, &h.reason[..], h.minor), (200, &b"OK"[..], 1));
        assert_eq!(h.headers.find("x-a"), Some(&b"b"[..]));
        assert_eq!(h.framing, ResponseFraming::Framed(Framing::Length(5)));
        assert!(h.keep_alive);
        let h = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(h.framing, ResponseFraming::Framed(Framing::Chunked));
        let h = parse(b"HTTP/1.1 200 OK\r\n\r\n", false).unwrap();
        assert_eq!(h.framing, ResponseFraming::UntilClose);
        assert!(!h.keep_alive);
        let h = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false).unwrap();
        assert_eq!(h.framing, ResponseFraming::UntilClose);
        let h = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false).unwrap();
        assert!(!h.keep_alive);
        let h = parse(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            false,
        )
        .unwrap();
        assert!(h.keep_alive);
        let h = parse(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
            false,
        )
        .unwrap();
        assert!(!h.keep_alive);
    }

    #[test]
    fn bodiless_responses() {
        let none = ResponseFraming::Framed(Framing::None);
        for (bytes, to_head) in [
            (&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"[..], true),
            (b"HTTP/1.1 204 No Content\r\n\r\n", false),
            (
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false,
            ),
            (b"HTTP/1.1 100 Continue\r\n\r\n", false),
        ] {
            let h = parse(bytes, to_head).unwrap();
            assert_eq!(h.framing, none);
            assert!(h.keep_alive);
        }
        assert!(
            parse(b"HTTP/1.1 100 Continue\r\n\r\n", false)
                .unwrap()
                .is_interim()
        );
    }

    #[test]
    fn ambiguous_or_malformed_heads_are_refused() {
        use Refusal::*;
        let cases: &[(&[u8], Refusal)] = &[
            (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", BadRequest),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                BadRequest,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
                BadRequest,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                BadRequest,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n",
                PayloadTooLarge,
            ),
            (b"HTTP/1.1 2000 OK\r\n\r\n", BadRequest),
            (b"HTTP/1.1 020 OK\r\n\r\n", BadRequest),
            (b"HTTP/2.0 200 OK\r\n\r\n", BadRequest),
            (b"HTTP/1.1 200 OK\r\nBad Field: x\r\n\r\n", BadRequest),
        ];
        for &(bytes, want) in cases {
            assert_eq!(
                parse(bytes, false).err(),
                Some(want),
                "{:?}",
                bytes.escape_ascii().to_string()
            );
        }
        // An agreeing repeat is one length.
        let h = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n",
            false,
        );
        assert_eq!(
            h.unwrap().framing,
            ResponseFraming::Framed(Framing::Length(3))
        );
    }
}
