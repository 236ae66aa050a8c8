//! The request head: request line and header fields, parsed in place from
//! a connection's input [`Evbuffer`], and the framing they announce.
//!
//! `httparse` tokenizes (fuzzed, vectorized, no allocation); this module
//! decides what the tokens mean and refuses what RFC 9112 says a server
//! must refuse — the checks that keep a request from meaning one thing to
//! a proxy in front of us and another to us (request smuggling):
//! - `Content-Length` must be digits; a list (`5, 5`) or two fields that
//!   disagree is refused, and so is one that overflows;
//! - `Transfer-Encoding` with `Content-Length`, in an HTTP/1.0 request, or
//!   whose last coding is not `chunked`, is refused (`400`); a coding
//!   before `chunked` is one we cannot decode (`501`);
//! - an HTTP/1.1 request needs exactly one `Host`; no request may have two;
//!   its value must be a host and port (no white space, `/`, `@` …);
//! - a bare CR, white space before a colon, a folded (obs-fold) line, a
//!   NUL or another control byte is refused by `httparse` (RFC 9112 lets a
//!   server refuse obs-fold; libevent joins the lines).
//!
//! The head is parsed from the input's first chain where it lies whole —
//! the common case, no copy; only a head spanning chains is pulled up.
//! A partial head is parsed again from the start when more bytes arrive
//! (httparse keeps no state); the size limit bounds that work.
//!
//! What is parsed is copied into the connection's [`Head`], whose storage
//! is kept from request to request: after the first requests of a
//! connection parsing allocates nothing. The client's response head
//! (`response`) is found in the input and its fields stored the same way
//! (`head_in_place`, `store_fields`, `FramingFields`).

use crate::buffer::Evbuffer;
use crate::error::Result;
use crate::mem::{self, MemVec};

use super::headers::Headers;
use super::method::Method;
use super::status::Refusal;

/// Header fields a request may have (more: `431`).
pub(crate) const MAX_FIELDS: usize = 100;

/// How the request's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A request's head, kept by its connection and reused.
#[derive(Debug)]
pub(crate) struct Head {
    /// The method token followed by the request target.
    pub(crate) line: MemVec<u8>,
    pub(crate) method_len: usize,
    pub(crate) method: Method,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor: u8,
    pub(crate) headers: Headers,
    pub(crate) framing: Framing,
    /// The connection may carry another request after this one.
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1 only).
    pub(crate) expect_continue: bool,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            line: mem::vec(),
            method_len: 0,
            method: Method::Get,
            minor: 1,
            headers: Headers::new(),
            framing: Framing::None,
            keep_alive: false,
            expect_continue: false,
        }
    }
}

impl Head {
    /// The method token.
    pub(crate) fn method_token(&self) -> &[u8] {
        &self.line[..self.method_len]
    }

    /// The request target as sent.
    pub(crate) fn target(&self) -> &[u8] {
        &self.line[self.method_len..]
    }

    /// Forgets the previous request, keeping the storage.
    fn reset(&mut self) {
        self.method = Method::Get;
        self.method_len = 0;
        self.minor = 1;
        self.line.clear();
        self.headers.clear();
        self.framing = Framing::None;
        self.keep_alive = false;
        self.expect_continue = false;
    }
}

/// The limits a head is parsed under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Bytes of request line and fields together (and of a trailer
    /// section); more: `431`.
    pub(crate) max_header_size: usize,
    /// Body bytes; more: `413`.
    pub(crate) max_body_size: u64,
}

/// Parses a head from the front of `input` into `head`.
///
/// `Ok(true)`: `head` holds the request and its bytes were drained from
/// `input`. `Ok(false)`: more bytes are needed (nothing drained).
/// `Err(refusal)`: answer with the refusal's status and close.
pub(crate) fn parse_head(
    input: &mut Evbuffer,
    head: &mut Head,
    limits: &Limits,
) -> std::result::Result<bool, Refusal> {
    if input.is_empty() {
        return Ok(false);
    }
    // Nothing of the previous request may shape the answer to a refused
    // one (a HEAD before it would strip the error page's body).
    head.reset();
    head_in_place(input, limits.max_header_size, |bytes| {
        parse_slice(bytes, head, limits)
    })
}

/// Runs `parse` on the head at the front of `input` — a request's here,
/// a response's in the client — where it lies: the first chain when it
/// holds the head whole, else the first `max_header_size` bytes pulled
/// up. `parse` returns the head's length, `None` if it is partial.
/// `Ok(true)`: the head was drained; `Ok(false)`: more bytes are needed.
pub(crate) fn head_in_place(
    input: &mut Evbuffer,
    max_header_size: usize,
    mut parse: impl FnMut(&[u8]) -> std::result::Result<Option<usize>, Refusal>,
) -> std::result::Result<bool, Refusal> {
    let total = input.len();
    let first = input.contiguous_space();
    let mut consumed = None;
    if first == total || first >= max_header_size {
        consumed = parse(first_chain(input))?;
    } else {
        // The head may span chains: try the first chain alone, then (only
        // if it holds a partial head) make the head contiguous.
        if first > 0 {
            consumed = parse(first_chain(input))?;
        }
        if consumed.is_none() {
            let n = total.min(max_header_size);
            let bytes = input.pullup(Some(n)).ok_or(Refusal::ServiceUnavailable)?;
            consumed = parse(bytes)?;
        }
    }
    match consumed {
        Some(n) => {
            // `n` bytes are buffered: drain cannot fail.
            let _ = input.drain(n);
            Ok(true)
        }
        None if total >= max_header_size => Err(Refusal::HeadersTooLarge),
        None => Ok(false),
    }
}

/// The input's first chain.
fn first_chain(input: &Evbuffer) -> &[u8] {
    input.chunks().next().unwrap_or_default()
}

/// Parses one contiguous slice: `Some(head length)` or `None` if partial.
fn parse_slice(
    bytes: &[u8],
    head: &mut Head,
    limits: &Limits,
) -> std::result::Result<Option<usize>, Refusal> {
    // httparse fills the fields it finds; the array is not initialized
    // first (100 fields are 3.2 KB of stores per parse).
    let mut fields = [const { std::mem::MaybeUninit::<httparse::Header>::uninit() }; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(bytes, &mut fields) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::HeadersTooLarge),
        Err(httparse::Error::Version) => return Err(Refusal::VersionNotSupported),
        Err(_) => return Err(Refusal::BadRequest),
    };
    if n > limits.max_header_size {
        return Err(Refusal::HeadersTooLarge);
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(Refusal::BadRequest);
    };
    // `head` was reset by `parse_head`.
    head.method = Method::from_token(method.as_bytes());
    head.minor = minor;
    let mut framing = FramingFields::default();
    store(
        head,
        method.as_bytes(),
        target.as_bytes(),
        req.headers,
        &mut framing,
    )
    .map_err(|_| Refusal::ServiceUnavailable)?;
    check(head, &framing, limits)?;
    Ok(Some(n))
}

/// Copies the request line and fields into `head`, noting on the way
/// what the framing checks need.
fn store<'a>(
    head: &mut Head,
    method: &[u8],
    target: &[u8],
    fields: &[httparse::Header<'a>],
    framing: &mut FramingFields<'a>,
) -> Result<()> {
    mem::reserve(&mut head.line, method.len() + target.len())?;
    mem::extend(&mut head.line, method)?;
    mem::extend(&mut head.line, target)?;
    head.method_len = method.len();
    store_fields(&mut head.headers, fields, framing)
}

/// Copies `fields` into `headers` (values trimmed), noting in `framing`
/// what the framing checks need; a request's and a response's fields
/// alike.
pub(crate) fn store_fields<'a>(
    headers: &mut Headers,
    fields: &[httparse::Header<'a>],
    framing: &mut FramingFields<'a>,
) -> Result<()> {
    let bytes = fields.iter().map(|f| f.name.len() + f.value.len()).sum();
    headers.reserve(fields.len(), bytes)?;
    for f in fields {
        let value = trim(f.value);
        framing.note(f.name.as_bytes(), value);
        headers.push(f.name.as_bytes(), value)?;
    }
    Ok(())
}

/// What the framing, keep-alive and expectation checks need from the
/// fields, gathered in the one pass that stores them.
#[derive(Default)]
pub(crate) struct FramingFields<'a> {
    hosts: usize,
    /// The first `Host` value.
    host: &'a [u8],
    /// The `Content-Length` all its values agree on.
    pub(crate) length: Option<u64>,
    /// A `Content-Length` or `Transfer-Encoding` value no request may
    /// have (`400`).
    pub(crate) bad: bool,
    /// A `Transfer-Encoding` field, and its codings over every such field.
    pub(crate) te: bool,
    pub(crate) codings: usize,
    pub(crate) chunked_last: bool,
    pub(crate) other_coding: bool,
    /// `Connection` tokens.
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
    /// The first `Expect` value.
    expect: Option<&'a [u8]>,
}

impl<'a> FramingFields<'a> {
    /// Takes in field `name: value` (its value trimmed).
    fn note(&mut self, name: &[u8], value: &'a [u8]) {
        // By length first: most fields are none of these.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                if self.hosts == 0 {
                    self.host = value;
                }
                self.hosts += 1;
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                self.expect.get_or_insert(value);
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for t in elements(value) {
                    self.close |= t.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= t.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            // Content-Length: digits only, one value however many fields.
            14 if name.eq_ignore_ascii_case(b"content-length") => match parse_length(value) {
                Some(n) if self.length.is_none_or(|l| l == n) => self.length = Some(n),
                _ => self.bad = true,
            },
            // Transfer-Encoding: its codings over every field, chunked last.
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                self.te = true;
                for c in elements(value) {
                    if self.chunked_last {
                        self.bad = true; // chunked applied twice or not last
                    }
                    self.codings += 1;
                    if c.eq_ignore_ascii_case(b"chunked") {
                        self.chunked_last = true;
                    } else {
                        self.other_coding = true;
                    }
                }
            }
            _ => {}
        }
    }
}

/// `v` without leading and trailing SP / HTAB.
fn trim(v: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ws(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ws(b)).map_or(start, |e| e + 1);
    &v[start..end]
}

/// The comma-separated elements of a field value, trimmed, empty ones
/// skipped (RFC 9110 §5.6.1).
fn elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(trim).filter(|e| !e.is_empty())
}

/// Whether `v` can be a `Host` value, `uri-host [ ":" port ]` (RFC 9110
/// §7.2, RFC 3986): bytes of a reg-name, an IP literal or a port only —
/// no white space, `/`, `?`, `#` or `@`. Empty is allowed (a target
/// without authority). RFC 9112 §3.2: anything else gets `400`.
fn is_host_value(v: &[u8]) -> bool {
    v.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
            )
    })
}

/// The framing, keep-alive and expectation checks of RFC 9112 / 9110.
fn check(
    head: &mut Head,
    f: &FramingFields<'_>,
    limits: &Limits,
) -> std::result::Result<(), Refusal> {
    if f.hosts > 1 || (f.hosts == 0 && head.minor == 1) {
        return Err(Refusal::BadRequest);
    }
    if f.hosts == 1 && !is_host_value(f.host) {
        return Err(Refusal::BadRequest);
    }
    if f.bad {
        return Err(Refusal::BadRequest);
    }
    head.framing = if f.te {
        if f.length.is_some() || head.minor == 0 || !f.chunked_last || f.codings == 0 {
            return Err(Refusal::BadRequest);
        }
        if f.other_coding {
            return Err(Refusal::NotImplemented);
        }
        Framing::Chunked
    } else {
        match f.length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        }
    };
    if let Framing::Length(n) = head.framing
        && n > limits.max_body_size
    {
        return Err(Refusal::PayloadTooLarge);
    }
    head.keep_alive = !f.close && (head.minor == 1 || f.keep_alive);
    // Expect: only 100-continue is known; HTTP/1.0 expectations are ignored.
    if head.minor == 1
        && let Some(e) = f.expect
    {
        if !e.eq_ignore_ascii_case(b"100-continue") {
            return Err(Refusal::ExpectationFailed);
        }
        if let Framing::Length(_) | Framing::Chunked = head.framing {
            head.expect_continue = true;
        }
    }
    Ok(())
}

/// A `Content-Length` value: 1 to 19 digits, nothing else.
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The limits the unit tests parse under.
#[cfg(test)]
pub(crate) const TEST_LIMITS: Limits = Limits {
    max_header_size: 8192,
    max_body_size: 1 << 20,
};

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = TEST_LIMITS;

    /// Feeds `bytes` split at `at` and parses after each part.
    fn parse_split(bytes: &[u8], at: usize) -> (std::result::Result<bool, Refusal>, Head, usize) {
        let mut input = Evbuffer::new();
        let mut head = Head::default();
        input.add(&bytes[..at]).unwrap();
        let r = parse_head(&mut input, &mut head, &LIMITS);
        input.add(&bytes[at..]).unwrap();
        if r != Ok(false) {
            return (r, head, input.len());
        }
        let r = parse_head(&mut input, &mut head, &LIMITS);
        (r, head, input.len())
    }

    /// The outcome of `bytes` at every split point, checked equal.
    fn parse_all_splits(bytes: &[u8]) -> (std::result::Result<bool, Refusal>, Head, usize) {
        let (r0, h0, left0) = parse_split(bytes, bytes.len());
        for at in 0..bytes.len() {
            let (r, h, left) = parse_split(bytes, at);
            assert_eq!(
                r,
                r0,
                "split at {at} of {:?}",
                bytes.escape_ascii().to_string()
            );
            if r == Ok(true) {
                assert_eq!(h.line, h0.line);
                assert_eq!(left, left0);
                assert_eq!(h.headers.len(), h0.headers.len());
                assert_eq!(h.framing, h0.framing);
            }
        }
        (r0, h0, left0)
    }

    fn refused(bytes: &[u8]) -> Refusal {
        match parse_all_splits(bytes).0 {
            Err(r) => r,
            other => panic!("accepted {:?}: {other:?}", bytes.escape_ascii().to_string()),
        }
    }

    fn accepted(bytes: &[u8]) -> Head {
        let (r, h, _) = parse_all_splits(bytes);
        assert_eq!(r, Ok(true), "{:?}", bytes.escape_ascii().to_string());
        h
    }

    #[test]
    fn simple_get_at_every_split_point() {
        let req = b"GET /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-Y:  spaced value \t\r\n\r\nrest";
        let (r, h, left) = parse_all_splits(req);
        assert_eq!(r, Ok(true));
        assert_eq!(left, 4);
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target(), b"/a/b?c=d");
        assert_eq!(h.minor, 1);
        assert!(h.keep_alive);
        assert_eq!(h.headers.find("x-y"), Some(&b"spaced value"[..]));
        assert_eq!(h.framing, Framing::None);
    }

    #[test]
    fn a_head_spanning_chains_is_pulled_up() {
        let mut input = Evbuffer::new();
        let mut other = Evbuffer::new();
        input.add(b"GET / HTTP/1.1\r\nHo").unwrap();
        other.add(b"st: x\r\n\r\n").unwrap();
        input.add_buffer(&mut other).unwrap();
        let mut head = Head::default();
        assert_eq!(parse_head(&mut input, &mut head, &LIMITS), Ok(true));
        assert!(input.is_empty());
        assert_eq!(head.headers.find("host"), Some(&b"x"[..]));
    }

    #[test]
    fn keep_alive_per_version() {
        assert!(!accepted(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(accepted(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(!accepted(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!accepted(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x, Close\r\n\r\n").keep_alive);
    }

    #[test]
    fn absolute_form_and_custom_methods() {
        let h = accepted(b"GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assert_eq!(h.target(), b"http://example.com/x?y");
        let h = accepted(b"FROB /x HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.method, Method::Extension);
        assert_eq!(h.method_token(), b"FROB");
        assert_eq!(
            accepted(b"PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n").method,
            Method::Propfind
        );
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let h = accepted(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.target(), b"/");
    }

    #[test]
    fn framing() {
        let h = accepted(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(12));
        let h = accepted(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n",
        );
        assert_eq!(h.framing, Framing::Length(3));
        let h = accepted(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        let h = accepted(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.framing, Framing::None);
    }

    #[test]
    fn smuggling_attempts_are_refused() {
        use Refusal::*;
        let cases: &[(&[u8], Refusal)] = &[
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", BadRequest),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", NotImplemented),
            (b"GET / HTTP/1.1\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\rHost: a\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\0c\r\n\r\n", BadRequest),
            (b"GET / HTTP/1.1\r\n: a\r\n\r\n", BadRequest),
            (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", VersionNotSupported),
            (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 101-continue\r\n\r\n", ExpectationFailed),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", PayloadTooLarge),
        ];
        for &(req, want) in cases {
            assert_eq!(refused(req), want, "{:?}", req.escape_ascii().to_string());
        }
    }

    #[test]
    fn expect_continue_only_with_a_body_on_1_1() {
        let h = accepted(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n",
        );
        assert!(h.expect_continue);
        let h = accepted(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n");
        assert!(!h.expect_continue);
        let h = accepted(b"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        assert!(!h.expect_continue);
    }

    #[test]
    fn header_size_limits() {
        let mut big = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        big.resize(LIMITS.max_header_size + 10, b'a');
        let mut input = Evbuffer::new();
        input.add(&big).unwrap();
        let mut head = Head::default();
        assert_eq!(
            parse_head(&mut input, &mut head, &LIMITS),
            Err(Refusal::HeadersTooLarge)
        );
        let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for _ in 0..MAX_FIELDS {
            many.extend_from_slice(b"X: y\r\n");
        }
        many.extend_from_slice(b"\r\n");
        let mut input = Evbuffer::new();
        input.add(&many).unwrap();
        assert_eq!(
            parse_head(&mut input, &mut head, &LIMITS),
            Err(Refusal::HeadersTooLarge)
        );
    }
}
