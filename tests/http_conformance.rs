//! Black-box RFC 9112 / 9110 cases against an `http_hello` server
//! (`GET /` → `200 Hello, World!`, anything else `404`) over loopback:
//! keep-alive, pipelining, byte-by-byte writes, bodies, smuggling
//! attempts, bad chunk sizes, oversized heads and bodies, slowloris, a
//! client that pipelines without reading, half-close, a reset mid-request
//! and connect / close churn, and a corpus of 80 single-connection
//! entries (`rfc9112_corpus`: CL.TE / TE.CL / TE.TE obfuscations,
//! Content-Length forms, chunk sizes and extensions, bare LF / CR, NUL,
//! request lines, targets, versions, Host, Expect, Connection, pipelining,
//! long lines and many fields). After every case a fresh `GET /` must get
//! its `200`: no case may hurt the server or other connections.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use rvent::{EventBase, Http, Method, Request};
use util::http::Client;

const HELLO: &[u8] = b"Hello, World!\n";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

/// `http_hello`'s answers.
fn hello(base: &mut EventBase, req: Request) {
    let ok = req.method(base).unwrap() == Method::Get
        && req.parsed_uri(base).is_ok_and(|u| u.path() == "/");
    let (code, body) = if ok {
        (200, HELLO)
    } else {
        (404, &b"Not Found\n"[..])
    };
    req.output_headers(base)
        .unwrap()
        .add("Content-Type", "text/plain")
        .unwrap();
    req.output_buffer(base).unwrap().add(body).unwrap();
    req.send_reply(base, code, None, None).unwrap();
}

/// Runs `case` on a thread against an `http_hello` server (limits:
/// 8 KiB heads, 1 MiB bodies, 300 ms head deadline, 2 s timeouts), then
/// checks that a fresh `GET /` gets its 200.
fn case<C>(client: C)
where
    C: FnOnce(SocketAddr) + Send + 'static,
{
    let mut base = EventBase::new().unwrap();
    let http = Http::new(&mut base).unwrap();
    http.set_gencb(&mut base, hello).unwrap();
    http.set_max_body_size(&mut base, 1 << 20).unwrap();
    http.set_header_timeout(&mut base, Some(Duration::from_millis(300)))
        .unwrap();
    http.set_timeouts(
        &mut base,
        Some(Duration::from_secs(2)),
        Some(Duration::from_secs(2)),
    )
    .unwrap();
    let addr = http
        .bind(&mut base, "127.0.0.1:0".parse().unwrap())
        .unwrap()
        .local_addr(&base)
        .unwrap();
    let notifier = base.notifier();
    let t = thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            client(addr);
            fresh_get(addr);
        }));
        notifier.loopbreak().unwrap();
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    });
    base.dispatch().unwrap();
    t.join().unwrap();
    http.free(&mut base).unwrap();
}

/// A new connection's `GET /` gets `200 Hello, World!`.
fn fresh_get(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    c.send(GET);
    let r = c.read_reply();
    assert_eq!((r.status, &r.body[..]), (200, HELLO));
}

/// Sends `bytes` and expects `status`, then the connection closed.
fn refused(bytes: &'static [u8], status: u16) {
    case(move |addr| {
        let mut c = Client::connect(addr);
        c.send(bytes);
        let r = c
            .read_reply_to(false)
            .unwrap_or_else(|| panic!("no answer to {:?}", bytes.escape_ascii().to_string()));
        assert_eq!(r.status, status, "{:?}", bytes.escape_ascii().to_string());
        assert!(
            c.closed(),
            "{:?} left open",
            bytes.escape_ascii().to_string()
        );
    });
}

#[test]
fn keep_alive_serves_requests_in_turn() {
    case(|addr| {
        let mut c = Client::connect(addr);
        for _ in 0..5 {
            c.send(GET);
            let r = c.read_reply();
            assert_eq!((r.status, &r.body[..]), (200, HELLO));
            assert_eq!(r.header("connection"), None);
        }
        c.send(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(c.read_reply().header("connection"), Some("close"));
        assert!(c.closed());
    });
}

fn pipeline(n: usize) {
    case(move |addr| {
        let mut c = Client::connect(addr);
        let mut all = Vec::new();
        for i in 0..n {
            let target = if i % 3 == 2 { "/nope" } else { "/" };
            all.extend_from_slice(format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        }
        c.send(&all);
        for i in 0..n {
            let want = if i % 3 == 2 { 404 } else { 200 };
            assert_eq!(c.read_reply().status, want, "reply {i}");
        }
    });
}

#[test]
fn pipelining_10() {
    pipeline(10);
}

#[test]
fn pipelining_1000() {
    pipeline(1000);
}

#[test]
fn byte_by_byte_requests() {
    case(|addr| {
        let mut c = Client::connect(addr);
        let two = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for &b in two.iter() {
            c.send(&[b]);
        }
        assert_eq!(c.read_reply().status, 404);
        assert_eq!(c.read_reply().status, 200);
    });
}

#[test]
fn bodies_are_consumed_whatever_the_answer() {
    case(|addr| {
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(c.read_reply().status, 404);
        c.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n");
        assert_eq!(c.read_reply().status, 404);
        c.send(GET);
        assert_eq!(c.read_reply().status, 200);
        // A body with Expect: 100-continue gets its interim answer.
        c.send(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
        assert_eq!(c.read_reply().status, 100);
        c.send(b"ok");
        assert_eq!(c.read_reply().status, 404);
    });
}

#[test]
fn smuggling_content_length_and_transfer_encoding() {
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
}

#[test]
fn smuggling_conflicting_lengths() {
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcde",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1_0\r\n\r\n",
        400,
    );
}

#[test]
fn smuggling_transfer_codings() {
    refused(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
        400,
    );
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
}

#[test]
fn smuggling_line_tricks() {
    refused(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400);
    refused(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400);
    refused(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400);
    refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    refused(b"GET / HTTP/1.1\r\n\r\n", 400);
    refused(b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400);
    refused(b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
}

#[test]
fn bad_chunk_sizes() {
    for body in [
        &b"0x3\r\nabc\r\n0\r\n\r\n"[..],
        b"-3\r\nabc\r\n0\r\n\r\n",
        b" 3\r\nabc\r\n0\r\n\r\n",
        b"ffffffffffffffffff\r\n",
        b"3\r\nabcX\r\n0\r\n\r\n",
        b"zz\r\n",
    ] {
        // (A size that does not overflow but passes the body limit is a
        // 413: see `oversized_heads_and_bodies`.)
        let mut req = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        req.extend_from_slice(body);
        let req: &'static [u8] = Box::leak(req.into_boxed_slice());
        refused(req, 400);
    }
}

#[test]
fn oversized_heads_and_bodies() {
    let mut big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    big.resize(big.len() + 9000, b'x');
    big.extend_from_slice(b"\r\n\r\n");
    refused(Box::leak(big.into_boxed_slice()), 431);
    let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..200 {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    refused(Box::leak(many.into_boxed_slice()), 431);
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n",
        413,
    );
    case(|addr| {
        // Chunked past the limit: refused once the limit is passed.
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        let mut status = None;
        for _ in 0..40 {
            let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
            piece.extend_from_slice(&chunk);
            piece.extend_from_slice(b"\r\n");
            if c.stream.write_all(&piece).is_err() {
                break;
            }
        }
        if let Some(r) = c.read_reply_to(false) {
            status = Some(r.status);
        }
        assert_eq!(status, Some(413));
    });
}

#[test]
fn slowloris_is_cut_off_by_the_head_deadline() {
    case(|addr| {
        let mut c = Client::connect(addr);
        let start = Instant::now();
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n");
        let mut closed = false;
        for _ in 0..100 {
            thread::sleep(Duration::from_millis(20));
            if c.stream.write_all(b"X-Slow: 1\r\n").is_err() {
                closed = true;
                break;
            }
            if start.elapsed() > Duration::from_secs(1) {
                break;
            }
        }
        assert!(
            closed || c.closed(),
            "still open after {:?}",
            start.elapsed()
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    });
}

#[test]
fn pipelining_without_reading_is_bounded() {
    case(|addr| {
        let stream = TcpStream::connect(addr).unwrap();
        // A small receive window, so the answers back up soon.
        let size: libc::c_int = 16 * 1024;
        // SAFETY: a valid socket and an int option of the right size.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&stream),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        stream.set_nonblocking(true).unwrap();
        let mut s = stream;
        // Requests written until the server stops taking them.
        let req = GET.to_vec();
        let (mut sent, mut idle_since) = (0usize, Instant::now());
        let limit = 8 << 20;
        while idle_since.elapsed() < Duration::from_millis(300) && sent < limit {
            let off = sent % req.len();
            match s.write(&req[off..]) {
                Ok(n) => {
                    sent += n;
                    idle_since = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(
            sent < limit,
            "the server took {sent} bytes without being read"
        );
        // The answers come in order once the client reads; it leaves
        // after a few hundred (closing with the rest unread).
        s.set_nonblocking(false).unwrap();
        let mut c = Client::connect(addr);
        std::mem::swap(&mut c.stream, &mut s);
        drop(s);
        c.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        for i in 0..300 {
            assert_eq!(c.read_reply().status, 200, "reply {i}");
        }
    });
}

#[test]
fn half_close_after_a_request_still_gets_the_answer() {
    case(|addr| {
        let mut c = Client::connect(addr);
        c.send(GET);
        c.stream.shutdown(std::net::Shutdown::Write).unwrap();
        let r = c.read_reply();
        assert_eq!((r.status, &r.body[..]), (200, HELLO));
        assert!(c.closed());
        let mut c = Client::connect(addr);
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        c.stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(c.read_reply().status, 200);
        assert_eq!(c.read_reply().status, 404);
        assert!(c.closed());
    });
}

#[test]
fn reset_mid_request() {
    case(|addr| {
        for partial in [
            &b"GET / HT"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
        ] {
            let s = TcpStream::connect(addr).unwrap();
            (&s).write_all(partial).unwrap();
            thread::sleep(Duration::from_millis(10));
            // SO_LINGER 0: close sends RST.
            let l = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket and a linger value of the right size.
            unsafe {
                libc::setsockopt(
                    std::os::fd::AsRawFd::as_raw_fd(&s),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&l as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
            drop(s);
        }
    });
}

#[test]
fn connect_close_churn() {
    case(|addr| {
        for i in 0..300 {
            let mut s = TcpStream::connect(addr).unwrap();
            if i % 3 == 0 {
                s.write_all(&GET[..10]).unwrap();
            }
            if i % 5 == 0 {
                let mut b = [0u8; 1];
                s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
                let _ = s.read(&mut b);
            }
        }
    });
}

/// What the server must do with one corpus request.
enum Want {
    /// One reply with a status among these, then the connection closes.
    Refused(&'static [u16]),
    /// These replies in order, and the connection stays usable (a `GET /`
    /// on it gets its 200).
    Answered(&'static [u16]),
    /// These replies in order, then the connection closes.
    Then(&'static [u16]),
    /// One final reply (after any 1xx) with a status among these; the
    /// connection may close or stay (then a `GET /` on it gets its 200).
    Either(&'static [u16]),
}

/// The RFC 9112 / 9110 corpus: each entry on a connection of its own
/// against a fresh server, then a fresh `GET /` on another connection.
const CORPUS: &[(&str, &[u8], Want)] = {
    use Want::{Answered, Either, Refused, Then};
    &[
        // Request smuggling: CL.TE, TE.CL, TE.TE obfuscations.
        ("cl-te", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", Refused(&[400])),
        ("te-cl", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nA\r\n0\r\n\r\n", Refused(&[400])),
        ("te-tab", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 3\r\n\r\n", Refused(&[400])),
        ("te-case", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", Answered(&[404])),
        ("te-twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Refused(&[400])),
        ("te-empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", Refused(&[400, 501])),
        ("te-x-chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-chunked\r\n\r\n", Refused(&[400, 501])),
        ("te-chunked-quoted", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", Refused(&[400, 501])),
        ("te-obs-fold", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", Refused(&[400])),
        ("te-space-name", b"POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n", Refused(&[400])),
        ("te-vtab", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n", Refused(&[400, 501])),
        ("te-identity", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", Refused(&[400, 501])),
        // Content-Length forms.
        ("cl-dup-same", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", Either(&[400, 404])),
        ("cl-plus", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", Refused(&[400])),
        ("cl-hex", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", Refused(&[400])),
        ("cl-inner-space", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", Refused(&[400])),
        ("cl-empty", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", Refused(&[400])),
        ("cl-overflow", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", Refused(&[400, 413])),
        ("cl-leading-zeros", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc", Answered(&[404])),
        ("cl-ows", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:   3  \r\n\r\nabc", Answered(&[404])),
        ("cl-too-big", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", Refused(&[413])),
        ("cl-zero-get", b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", Answered(&[200])),
        ("cl-body-get", b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy", Answered(&[200])),
        // Chunk sizes and extensions.
        ("chunk-ext", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b;c=\"d\"\r\nabc\r\n0\r\n\r\n", Answered(&[404])),
        ("chunk-ext-bare-lf", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nabc\r\n0\r\n\r\n", Refused(&[400])),
        ("chunk-size-lf", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", Refused(&[400])),
        ("chunk-size-plus", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n", Refused(&[400])),
        ("chunk-size-empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n", Refused(&[400])),
        ("chunk-data-short", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n", Refused(&[400])),
        ("chunk-upper-hex", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", Answered(&[404])),
        ("chunk-trailer-bad", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Name: x\r\n\r\n", Refused(&[400])),
        ("chunk-zero-ext", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0;x=y\r\n\r\n", Answered(&[404])),
        // Line endings, NUL, whitespace.
        ("bare-lf-head", b"GET / HTTP/1.1\nHost: a\n\n", Either(&[200, 400, 501, 505])),
        ("bare-cr-value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", Refused(&[400])),
        ("nul-in-target", b"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", Refused(&[400])),
        ("nul-in-name", b"GET / HTTP/1.1\r\nHost: a\r\nX\0Y: 1\r\n\r\n", Refused(&[400])),
        ("space-before-colon", b"GET / HTTP/1.1\r\nHost: a\r\nX : 1\r\n\r\n", Refused(&[400])),
        ("empty-name", b"GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", Refused(&[400])),
        ("no-colon", b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", Refused(&[400])),
        ("leading-crlf", b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[200, 400, 501, 505])),
        ("obs-fold-first", b"GET / HTTP/1.1\r\n X: 1\r\nHost: a\r\n\r\n", Refused(&[400])),
        // Request lines: methods, targets, versions.
        ("lower-method", b"get / HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[400, 501, 404, 405])),
        ("bad-method-char", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Refused(&[400])),
        ("unknown-method", b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[501, 400, 505])),
        ("double-space", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Refused(&[400])),
        ("tab-separator", b"GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", Refused(&[400])),
        ("no-version", b"GET /\r\nHost: a\r\n\r\n", Refused(&[400, 505])),
        ("version-lower", b"GET / http/1.1\r\nHost: a\r\n\r\n", Refused(&[400, 505])),
        ("version-2", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Refused(&[400, 505])),
        ("version-1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", Either(&[200, 400, 501, 505])),
        ("version-09", b"GET /\r\n\r\n", Refused(&[400, 505])),
        ("space-in-target", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", Refused(&[400, 505])),
        ("target-no-slash", b"GET a HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[400, 404])),
        ("absolute-form", b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", Answered(&[200])),
        ("absolute-form-other-host", b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", Answered(&[200])),
        ("asterisk-get", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[400, 404])),
        ("options-asterisk", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[200, 404, 501, 400, 505])),
        ("connect-authority", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", Either(&[404, 405, 501, 400, 505])),
        ("target-fragment", b"GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[200, 404, 400, 501, 505])),
        ("query-only", b"GET /?a=b HTTP/1.1\r\nHost: a\r\n\r\n", Answered(&[200])),
        ("bad-percent", b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", Either(&[404, 400, 501, 505])),
        // Host.
        ("host-missing-1.0", b"GET / HTTP/1.0\r\n\r\n", Refused(&[200])),
        ("host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", Either(&[200, 400, 501, 505])),
        ("host-bad", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Refused(&[400])),
        ("host-listed", b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", Refused(&[400])),
        // Expect.
        ("expect-unknown", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 200-ok\r\n\r\nx", Either(&[417])),
        ("expect-case", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\nx", Either(&[404])),
        ("expect-too-big", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n", Refused(&[413])),
        ("expect-no-body", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", Either(&[200, 100])),
        ("expect-1.0", b"POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx", Refused(&[404, 417])),
        // Connection handling.
        ("close-1.1", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", Refused(&[200])),
        ("keep-alive-1.0", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", Answered(&[200])),
        ("close-token-list", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", Refused(&[200])),
        ("close-then-more", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Refused(&[200])),
        ("pipelined-head", b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Answered(&[404, 200])),
        ("pipelined-bad-second", b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n", Then(&[200, 400])),
        ("pipelined-bodies", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxPOST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\ny\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", Answered(&[404, 404, 200])),
        // Many and long fields.
        ("long-line", LONG_LINE, Refused(&[431, 400, 414])),
        ("many-fields", MANY_FIELDS, Refused(&[431, 400])),
        ("long-target", LONG_TARGET, Refused(&[414, 431, 400])),
    ]
};

/// A field line of 16 KiB (the server's limit is 8 KiB).
const LONG_LINE: &[u8] = {
    const N: usize = 16 * 1024 + 40;
    const fn make() -> [u8; N] {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: ";
        let mut out = [b'a'; N];
        let mut i = 0;
        while i < head.len() {
            out[i] = head[i];
            i += 1;
        }
        out[N - 4] = b'\r';
        out[N - 3] = b'\n';
        out[N - 2] = b'\r';
        out[N - 1] = b'\n';
        out
    }
    &make()
};

/// 2,000 fields of 6 bytes: 12 KiB of head.
const MANY_FIELDS: &[u8] = {
    const FIELDS: usize = 2000;
    const N: usize = 26 + FIELDS * 6 + 2;
    const fn make() -> [u8; N] {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n";
        let mut out = [0u8; N];
        let mut i = 0;
        while i < head.len() {
            out[i] = head[i];
            i += 1;
        }
        let mut f = 0;
        while f < FIELDS {
            let at = head.len() + f * 6;
            out[at] = b'X';
            out[at + 1] = b':';
            out[at + 2] = b' ';
            out[at + 3] = b'1';
            out[at + 4] = b'\r';
            out[at + 5] = b'\n';
            f += 1;
        }
        out[N - 2] = b'\r';
        out[N - 1] = b'\n';
        out
    }
    &make()
};

/// A 12 KiB request target.
const LONG_TARGET: &[u8] = {
    const N: usize = 12 * 1024 + 30;
    const fn make() -> [u8; N] {
        let mut out = [b'a'; N];
        out[0] = b'G';
        out[1] = b'E';
        out[2] = b'T';
        out[3] = b' ';
        out[4] = b'/';
        let tail = b" HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut i = 0;
        while i < tail.len() {
            out[N - tail.len() + i] = tail[i];
            i += 1;
        }
        out
    }
    &make()
};

/// Runs one corpus entry; returns what went wrong.
fn run_entry(addr: SocketAddr, name: &str, bytes: &[u8], want: &Want) -> Result<(), String> {
    let mut c = Client::connect(addr);
    c.send(bytes);
    let head = bytes.starts_with(b"HEAD");
    let read = |c: &mut Client, first: bool| c.read_reply_to(head && first).map(|r| r.status);
    let usable = |c: &mut Client| -> Result<(), String> {
        c.send(GET);
        match c.read_reply_to(false) {
            Some(r) if r.status == 200 && r.body == HELLO => Ok(()),
            other => Err(format!("{name}: GET after it: {other:?}")),
        }
    };
    match want {
        Want::Refused(codes) => {
            let s = read(&mut c, true).ok_or(format!("{name}: no reply"))?;
            if !codes.contains(&s) {
                return Err(format!("{name}: {s}, wanted one of {codes:?}"));
            }
            if !c.closed() {
                return Err(format!("{name}: left open after {s}"));
            }
        }
        Want::Answered(codes) | Want::Then(codes) => {
            for (i, &want) in codes.iter().enumerate() {
                let s = read(&mut c, i == 0).ok_or(format!("{name}: reply {i} missing"))?;
                if s != want {
                    return Err(format!("{name}: reply {i} is {s}, wanted {want}"));
                }
            }
            if matches!(want, Want::Then(_)) {
                if !c.closed() {
                    return Err(format!("{name}: left open"));
                }
            } else {
                usable(&mut c)?;
            }
        }
        Want::Either(codes) => {
            let mut s = read(&mut c, true).ok_or(format!("{name}: no reply"))?;
            while s < 200 {
                s = read(&mut c, false).ok_or(format!("{name}: no final reply"))?;
            }
            if !codes.contains(&s) {
                return Err(format!("{name}: {s}, wanted one of {codes:?}"));
            }
            // Open or closed are both fine; open must still serve.
            c.stream
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            c.send(GET);
            if let Some(r) = c.read_reply_to(false)
                && r.status != 200
            {
                return Err(format!("{name}: GET after it got {}", r.status));
            }
        }
    }
    Ok(())
}

/// The corpus, one fresh server for all its entries (each on its own
/// connection, then a fresh `GET /`): every failure is listed.
#[test]
fn rfc9112_corpus() {
    case(|addr| {
        let mut failures = Vec::new();
        for (name, bytes, want) in CORPUS {
            if let Err(e) = run_entry(addr, name, bytes, want) {
                failures.push(e);
            }
            fresh_get(addr);
        }
        assert!(
            failures.is_empty(),
            "{} of {} failed:\n{}",
            failures.len(),
            CORPUS.len(),
            failures.join("\n")
        );
    });
}
