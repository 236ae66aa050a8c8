//! The HTTP server under arbitrary bytes: a request stream split at
//! arbitrary points, fed to an `Http` server over a bufferevent pair.
//! Shared by the `http_request` fuzz target and by `tests/http.rs`,
//! which includes this file with `#[path]` and replays the committed
//! seeds on stable. Depends only on `rvent`, `arbitrary`, `httparse` and
//! std.
//!
//! Oracles: no panic; no stall (once the input is in, a few loop turns
//! answer everything); every answer well formed (status line, fields,
//! a `Content-Length` body — none for an answer to HEAD), interim
//! `100 Continue` aside; nothing after
//! an answer that closes; and where a simple framing model of the input
//! applies (no `Transfer-Encoding`), as many final answers as it
//! predicts.

use arbitrary::{Arbitrary, Unstructured};
use rvent::{BevOptions, Bufferevent, Ev, EventBase, Http, LoopFlags, Method};

/// Input bytes beyond this are ignored (keeps runs fast).
pub const MAX_BYTES: usize = 1 << 16;
/// The server's default head limit.
const MAX_HEAD: usize = 8192;
/// The server's field limit.
const MAX_FIELDS: usize = 100;

/// A request stream and where to split it. A seed is its split points
/// — each a `1` byte and a little-endian `u16`, then a `0` byte, as
/// `arbitrary` reads a `Vec` — and then the stream, raw, to the end.
#[derive(Debug)]
pub struct Exchange {
    pub splits: Vec<u16>,
    pub bytes: Vec<u8>,
}

impl<'a> Arbitrary<'a> for Exchange {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let splits = Vec::<u16>::arbitrary(u)?;
        let bytes = u.bytes(u.len())?.to_vec();
        Ok(Exchange { splits, bytes })
    }
}

/// Runs `x` through a server and checks what came back.
pub fn check_exchange(x: &Exchange) {
    let bytes = &x.bytes[..x.bytes.len().min(MAX_BYTES)];
    let mut base = EventBase::new().unwrap();
    let http = Http::new(&mut base).unwrap();
    http.set_allowed_methods(&mut base, rvent::Methods::default_allowed())
        .unwrap();
    http.set_gencb(&mut base, |base, req| {
        // The body's length as the answer (none for HEAD, so every
        // answer's Content-Length frames what follows it).
        let n = req.input_buffer(base).unwrap().len();
        if req.method(base).unwrap() != Method::Head {
            req.output_buffer(base)
                .unwrap()
                .add_fmt(format_args!("{n}"))
                .unwrap();
        }
        req.send_reply(base, 200, None, None).unwrap();
    })
    .unwrap();
    let (client, server) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE).unwrap();
    http.serve_bufferevent(&mut base, server, "127.0.0.1:1".parse().unwrap())
        .unwrap();
    client.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
    let mut cuts: Vec<usize> = x
        .splits
        .iter()
        .take(64)
        .map(|&s| usize::from(s) % (bytes.len() + 1))
        .collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut answers = Vec::new();
    let mut at = 0;
    for cut in cuts {
        if cut > at {
            let _ = client.write(&mut base, &bytes[at..cut]);
            at = cut;
        }
        turn(&mut base, client, &mut answers, 3);
    }
    turn(&mut base, client, &mut answers, 8);
    let before = answers.len();
    turn(&mut base, client, &mut answers, 8);
    assert_eq!(answers.len(), before, "answers still coming: a stall");
    let finals = check_answers(&answers);
    if let Some(n) = model(bytes) {
        assert_eq!(finals, n, "answers vs the framing model");
    }
    let _ = client.free(&mut base);
    http.free(&mut base).unwrap();
}

/// Runs the loop `n` turns, moving what the client received to `out`.
fn turn(base: &mut EventBase, client: Bufferevent, out: &mut Vec<u8>, n: usize) {
    for _ in 0..n {
        base.run(LoopFlags::NONBLOCK).unwrap();
        if let Ok(input) = client.input(base) {
            for c in input.chunks() {
                out.extend_from_slice(c);
            }
            let len = input.len();
            input.drain(len).unwrap();
        }
    }
}

/// Checks the framing of every answer; returns how many are final.
fn check_answers(mut b: &[u8]) -> usize {
    let mut finals = 0;
    while !b.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut fields);
        let n = match r.parse(b) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "malformed answer {other:?}: {:?}",
                b.escape_ascii().to_string()
            ),
        };
        let code = r.code.unwrap();
        assert_eq!(r.version, Some(1));
        let field = |name: &str| {
            r.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| std::str::from_utf8(h.value).unwrap())
        };
        let len: usize = if code < 200 || code == 204 || code == 304 {
            0
        } else {
            field("content-length")
                .expect("a final answer has a Content-Length")
                .parse()
                .unwrap()
        };
        // An answer to HEAD has its Content-Length and no body. The
        // server's bodies (digits, an error page) never start like an
        // answer, so an answer or the end right after the head is one.
        let rest = &b[n..];
        let len = if rest.is_empty() || rest.starts_with(b"HTTP/1.1 ") {
            0
        } else {
            len
        };
        assert!(b.len() >= n + len, "an answer cut short");
        let closes = field("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        b = &b[n + len..];
        if code >= 200 {
            finals += 1;
        }
        if closes {
            assert!(b.is_empty(), "bytes after an answer that closes");
        }
    }
    finals
}

/// `v` without leading and trailing SP / HTAB.
fn trim(v: &[u8]) -> &[u8] {
    let ws = |b: &u8| *b == b' ' || *b == b'\t';
    let s = v.iter().position(|b| !ws(b)).unwrap_or(v.len());
    let e = v.iter().rposition(|b| !ws(b)).map_or(s, |e| e + 1);
    &v[s..e]
}

/// The final answers the server owes `bytes` under a simple framing
/// model: requests parsed one after another, one answer each, a refusal
/// answered and ending the connection, a request cut short answered not
/// at all. `None` where the model does not apply (Transfer-Encoding).
pub fn model(bytes: &[u8]) -> Option<usize> {
    let mut n = 0;
    let mut rest = bytes;
    loop {
        if rest.is_empty() {
            return Some(n);
        }
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut req = httparse::Request::new(&mut fields);
        let len = match req.parse(rest) {
            Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
            Ok(httparse::Status::Partial) if rest.len() < MAX_HEAD => return Some(n),
            _ => return Some(n + 1), // refused
        };
        let minor = req.version.unwrap();
        let all = |name: &'static str| {
            req.headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .map(|h| trim(h.value))
        };
        if all("transfer-encoding").next().is_some() {
            return None;
        }
        let hosts = all("host").count();
        if hosts > 1 || (hosts == 0 && minor == 1) {
            return Some(n + 1);
        }
        // RFC 9112 §3.2: a Host value that cannot be `uri-host [":" port]`.
        let host_byte = |c: &u8| c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(c);
        if all("host").any(|v| !v.iter().all(host_byte)) {
            return Some(n + 1);
        }
        let mut length: Option<u64> = None;
        for v in all("content-length") {
            let ok = !v.is_empty() && v.len() <= 19 && v.iter().all(u8::is_ascii_digit);
            let Some(l) = ok
                .then(|| std::str::from_utf8(v).unwrap().parse::<u64>().ok())
                .flatten()
            else {
                return Some(n + 1);
            };
            if length.is_some_and(|x| x != l) {
                return Some(n + 1);
            }
            length = Some(l);
        }
        if minor == 1
            && let Some(e) = all("expect").next()
            && !e.eq_ignore_ascii_case(b"100-continue")
        {
            return Some(n + 1);
        }
        let method = req.method.unwrap();
        if !["GET", "POST", "HEAD", "PUT", "DELETE"].contains(&method) {
            return Some(n + 1); // 501
        }
        let (mut close, mut keep) = (false, false);
        for v in all("connection") {
            for t in v.split(|&b| b == b',').map(trim) {
                close |= t.eq_ignore_ascii_case(b"close");
                keep |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        let body = usize::try_from(length.unwrap_or(0)).unwrap_or(usize::MAX);
        if rest.len() - len < body {
            return Some(n);
        }
        n += 1;
        if close || (minor == 0 && !keep) {
            return Some(n);
        }
        rest = &rest[len + body..];
    }
}

/// Replays one input (a committed seed) the way the fuzz target runs it.
pub fn replay(data: &[u8]) {
    if let Ok(x) = Exchange::arbitrary(&mut Unstructured::new(data)) {
        check_exchange(&x);
    }
}
