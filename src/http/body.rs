//! The request body: `Content-Length` bytes or a chunked stream, moved
//! from the connection's input into the request's input buffer.
//!
//! Data moves as chains ([`Evbuffer::remove_buffer`]), not copies. The
//! chunked decoder is a small state machine that keeps its place between
//! reads, so a body split anywhere — inside a size line, between CR and
//! LF — decodes the same. It refuses (RFC 9112 §7.1) a size that is not
//! hex digits (no `0x`, sign or white space before it), one that
//! overflows or passes the body limit, a size line longer than
//! [`MAX_CHUNK_LINE`], control bytes (a bare CR) in an extension, data not
//! followed by CRLF, and a malformed trailer section. Extensions are
//! skipped; trailer fields are checked and discarded (libevent 2.1.13
//! discards them too): a callback sees the head's fields only, so a
//! trailer can never override a field a proxy already checked.

use crate::buffer::Evbuffer;

use super::parse::{Framing, Limits};
use super::status::Refusal;

/// Longest chunk-size line, extensions included.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// Where the body reader is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `Content-Length` bytes left.
    Length(u64),
    /// Before a chunk-size line.
    Size,
    /// Chunk data bytes left.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: the trailer section.
    Trailers,
    /// The body is complete.
    Done,
}

/// Reads one request's body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyReader {
    state: State,
    /// Chunked body bytes so far.
    total: u64,
}

impl BodyReader {
    /// A reader for a body framed as `framing`.
    pub(crate) fn new(framing: Framing) -> BodyReader {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size,
        };
        BodyReader { state, total: 0 }
    }

    /// Moves what `input` holds of the body into `body`: `Ok(true)` once
    /// the body is complete, `Ok(false)` when more bytes are needed.
    pub(crate) fn read(
        &mut self,
        input: &mut Evbuffer,
        body: &mut Evbuffer,
        limits: &Limits,
    ) -> Result<bool, Refusal> {
        loop {
            match self.state {
                State::Done => return Ok(true),
                State::Length(left) => {
                    let left = self.move_data(input, body, left)?;
                    self.state = if left == 0 {
                        State::Done
                    } else {
                        State::Length(left)
                    };
                    if left > 0 {
                        return Ok(false);
                    }
                }
                State::Data(left) => {
                    let left = self.move_data(input, body, left)?;
                    if left > 0 {
                        self.state = State::Data(left);
                        return Ok(false);
                    }
                    self.state = State::DataEnd;
                }
                State::DataEnd => {
                    if input.len() < 2 {
                        return Ok(false);
                    }
                    let mut crlf = [0u8; 2];
                    input.copyout(&mut crlf);
                    if crlf != *b"\r\n" {
                        return Err(Refusal::BadRequest);
                    }
                    let _ = input.drain(2);
                    self.state = State::Size;
                }
                State::Size => {
                    let Some(size) = size_line(input)? else {
                        return Ok(false);
                    };
                    if size == 0 {
                        self.state = State::Trailers;
                        continue;
                    }
                    self.total = self
                        .total
                        .checked_add(size)
                        .filter(|&t| t <= limits.max_body_size)
                        .ok_or(Refusal::PayloadTooLarge)?;
                    self.state = State::Data(size);
                }
                State::Trailers => {
                    if !trailers(input, limits)? {
                        return Ok(false);
                    }
                    self.state = State::Done;
                }
            }
        }
    }

    /// Moves up to `left` bytes; returns how many are still to come.
    fn move_data(
        &mut self,
        input: &mut Evbuffer,
        body: &mut Evbuffer,
        left: u64,
    ) -> Result<u64, Refusal> {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
        if n > 0 {
            input
                .remove_buffer(body, n)
                .map_err(|_| Refusal::ServiceUnavailable)?;
        }
        Ok(left - n as u64)
    }
}

/// Parses and drains a chunk-size line: `Ok(None)` if it is not all here.
fn size_line(input: &mut Evbuffer) -> Result<Option<u64>, Refusal> {
    let Some(lf) = input.search(b"\n", None).map(|p| p.pos()) else {
        return if input.len() >= MAX_CHUNK_LINE {
            Err(Refusal::BadRequest)
        } else {
            Ok(None)
        };
    };
    if lf >= MAX_CHUNK_LINE || lf == 0 {
        return Err(Refusal::BadRequest);
    }
    let line = input
        .pullup(Some(lf + 1))
        .ok_or(Refusal::ServiceUnavailable)?;
    let Some((b'\r', line)) = line[..lf].split_last() else {
        return Err(Refusal::BadRequest); // a bare LF ends the line
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(Refusal::BadRequest);
    }
    let mut size = 0u64;
    for &d in &line[..digits] {
        let v = (d as char).to_digit(16).unwrap_or(0);
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(v)))
            .ok_or(Refusal::BadRequest)?;
    }
    // chunk-ext: BWS ";" …, no control byte but HTAB.
    let ext = &line[digits..];
    let ext_start = ext.iter().position(|&b| b != b' ' && b != b'\t');
    if let Some(i) = ext_start
        && ext[i] != b';'
    {
        return Err(Refusal::BadRequest);
    }
    if ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(Refusal::BadRequest);
    }
    let _ = input.drain(lf + 1);
    Ok(Some(size))
}

/// Checks and drains the trailer section: `Ok(false)` if it is not all
/// here.
fn trailers(input: &mut Evbuffer, limits: &Limits) -> Result<bool, Refusal> {
    if input.len() < 2 {
        return Ok(false);
    }
    let mut start = [0u8; 2];
    input.copyout(&mut start);
    if start == *b"\r\n" {
        let _ = input.drain(2);
        return Ok(true);
    }
    let Some(end) = input.search(b"\r\n\r\n", None).map(|p| p.pos() + 4) else {
        return if input.len() >= limits.max_header_size {
            Err(Refusal::HeadersTooLarge)
        } else {
            Ok(false)
        };
    };
    if end > limits.max_header_size {
        return Err(Refusal::HeadersTooLarge);
    }
    let block = input.pullup(Some(end)).ok_or(Refusal::ServiceUnavailable)?;
    let mut fields = [httparse::EMPTY_HEADER; super::parse::MAX_FIELDS];
    match httparse::parse_headers(block, &mut fields) {
        Ok(httparse::Status::Complete((n, _))) if n == end => {}
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::HeadersTooLarge),
        _ => return Err(Refusal::BadRequest),
    }
    let _ = input.drain(end);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse::TEST_LIMITS as LIMITS;

    /// Reads the body of `framing` from `bytes` split at `at`: the result,
    /// the body and what is left in the input.
    fn read_split(
        framing: Framing,
        bytes: &[u8],
        at: usize,
    ) -> (Result<bool, Refusal>, Vec<u8>, usize) {
        let mut r = BodyReader::new(framing);
        let mut input = Evbuffer::new();
        let mut body = Evbuffer::new();
        input.add(&bytes[..at]).unwrap();
        let mut res = r.read(&mut input, &mut body, &LIMITS);
        input.add(&bytes[at..]).unwrap();
        if res == Ok(false) {
            res = r.read(&mut input, &mut body, &LIMITS);
        }
        let out: Vec<u8> = body.chunks().flatten().copied().collect();
        (res, out, input.len())
    }

    fn read_all_splits(framing: Framing, bytes: &[u8]) -> (Result<bool, Refusal>, Vec<u8>, usize) {
        let whole = read_split(framing, bytes, bytes.len());
        for at in 0..bytes.len() {
            let r = read_split(framing, bytes, at);
            if whole.0.is_ok() {
                assert_eq!(r, whole, "split at {at}");
            } else {
                assert_eq!(r.0, whole.0, "split at {at}");
            }
        }
        whole
    }

    #[test]
    fn content_length_body_at_every_split() {
        let (r, body, left) = read_all_splits(Framing::Length(5), b"hello GET");
        assert_eq!((r, &body[..], left), (Ok(true), &b"hello"[..], 4));
        let (r, body, _) = read_split(Framing::Length(10), b"hello", 5);
        assert_eq!((r, &body[..]), (Ok(false), &b"hello"[..]));
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers_at_every_split() {
        let req = b"5;name=val\r\nhello\r\n6 ; x\r\n world\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\nNEXT";
        let (r, body, left) = read_all_splits(Framing::Chunked, req);
        assert_eq!(r, Ok(true));
        assert_eq!(body, b"hello world0123456789");
        assert_eq!(left, 4);
        let (r, body, left) = read_all_splits(Framing::Chunked, b"000\r\n\r\n");
        assert_eq!((r, body.len(), left), (Ok(true), 0, 0));
    }

    #[test]
    fn bad_chunks_are_refused() {
        use Refusal::*;
        let cases: &[(&[u8], Refusal)] = &[
            (b"0x5\r\nhello\r\n0\r\n\r\n", BadRequest),
            (b"+5\r\nhello\r\n0\r\n\r\n", BadRequest),
            (b"-5\r\nhello\r\n0\r\n\r\n", BadRequest),
            (b" 5\r\nhello\r\n0\r\n\r\n", BadRequest),
            (b"5\nhello\r\n0\r\n\r\n", BadRequest),
            (b"5 x\r\nhello\r\n0\r\n\r\n", BadRequest),
            (b"5;a\rb\r\nhello\r\n0\r\n\r\n", BadRequest),
            (b"5\r\nhelloXX0\r\n\r\n", BadRequest),
            (b"\r\n", BadRequest),
            (b"fffffffffffffffff\r\n", BadRequest),
            (b"ffffffffffffffff\r\n", PayloadTooLarge),
            (b"100001\r\n", PayloadTooLarge),
            (b"0\r\nBad Trailer\r\n\r\n", BadRequest),
            (b"0\r\nX : y\r\n\r\n", BadRequest),
        ];
        for &(bytes, want) in cases {
            let (r, _, _) = read_all_splits(Framing::Chunked, bytes);
            assert_eq!(r, Err(want), "{:?}", bytes.escape_ascii().to_string());
        }
        let mut long = b"1;".to_vec();
        long.resize(MAX_CHUNK_LINE + 1, b'a');
        let (r, _, _) = read_split(Framing::Chunked, &long, long.len());
        assert_eq!(r, Err(BadRequest));
    }
}
