//! The HTTP client (tutorial 10.3's `evhttp_connection`, libevent's
//! `regress_http.c` client cases): requests from an [`HttpConnection`]
//! to rvent's own server on the same base, and to raw-socket servers on
//! a thread that misbehave on purpose. Every case checks the completion
//! callback ran exactly once.

mod util;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use rvent::{
    Evbuffer, EventBase, Headers, Http, HttpConnection, HttpRequestError, LoopFlags, Method,
};

/// What a completion callback saw: the status, a field and the body, or
/// the error.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok(u16, String, Option<String>, Vec<u8>),
    Err(HttpRequestError),
}

type Outcomes = Rc<RefCell<Vec<Outcome>>>;

/// Queues `method target` with `body`, its outcome recorded in `log`.
fn request(
    base: &mut EventBase,
    conn: HttpConnection,
    method: Method,
    target: &str,
    body: &[u8],
    log: &Outcomes,
) {
    let log = log.clone();
    let mut b = Evbuffer::new();
    b.add(body).unwrap();
    let body = if body.is_empty() { None } else { Some(&mut b) };
    conn.make_request(base, method, target, &Headers::new(), body, move |_, r| {
        log.borrow_mut().push(match r {
            Ok(mut resp) => {
                let body: Vec<u8> = resp.input_buffer().chunks().flatten().copied().collect();
                Outcome::Ok(
                    resp.code(),
                    resp.reason().to_string(),
                    resp.input_headers().find_str("x-test").map(str::to_string),
                    body,
                )
            }
            Err(e) => Outcome::Err(e),
        })
    })
    .unwrap();
}

/// Runs `base` until `log` holds `n` outcomes (5 s at most), then a few
/// more rounds to catch a second call.
fn run_until(base: &mut EventBase, log: &Outcomes, n: usize) {
    let start = Instant::now();
    while log.borrow().len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "stalled: {:?}",
            log.borrow()
        );
        base.run(LoopFlags::ONCE).unwrap();
    }
    for _ in 0..3 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert_eq!(
        log.borrow().len(),
        n,
        "a callback ran twice: {:?}",
        log.borrow()
    );
}

/// rvent's server on `base`: `/echo` answers the method and body, `/chunked`
/// streams three chunks; its address.
fn server(base: &mut EventBase) -> (Http, SocketAddr, Rc<RefCell<Vec<SocketAddr>>>) {
    let http = Http::new(base).unwrap();
    let peers = Rc::new(RefCell::new(Vec::new()));
    let p = peers.clone();
    http.set_cb(base, "/echo", move |base, req| {
        p.borrow_mut().push(req.peer(base).unwrap().unwrap());
        let method = req.method_str(base).unwrap().as_bytes().to_vec();
        let mut body = Evbuffer::new();
        body.add(&method).unwrap();
        body.add(b":").unwrap();
        let input = req.input_buffer(base).unwrap();
        body.add_buffer(input).unwrap();
        req.output_headers(base)
            .unwrap()
            .add("X-Test", "yes")
            .unwrap();
        req.send_reply(base, 200, Some("Fine"), Some(&mut body))
            .unwrap();
    })
    .unwrap();
    http.set_cb(base, "/chunked", |base, req| {
        req.send_reply_start(base, 200, None).unwrap();
        for piece in [&b"one "[..], b"two ", b"three"] {
            let mut b = Evbuffer::new();
            b.add(piece).unwrap();
            req.send_reply_chunk(base, &mut b).unwrap();
        }
        req.send_reply_end(base).unwrap();
    })
    .unwrap();
    let addr = http
        .bind(base, "127.0.0.1:0".parse().unwrap())
        .unwrap()
        .local_addr(base)
        .unwrap();
    (http, addr, peers)
}

fn ok(code: u16, reason: &str, test: bool, body: &[u8]) -> Outcome {
    Outcome::Ok(
        code,
        reason.to_string(),
        test.then(|| "yes".to_string()),
        body.to_vec(),
    )
}

#[test]
fn get_and_post_against_rvent() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    request(
        &mut base,
        conn,
        Method::Post,
        "/echo?x=1",
        b"hello body",
        &log,
    );
    request(&mut base, conn, Method::Get, "/nowhere", b"", &log);
    run_until(&mut base, &log, 3);
    let log = log.borrow();
    assert_eq!(log[0], ok(200, "Fine", true, b"GET:"));
    assert_eq!(log[1], ok(200, "Fine", true, b"POST:hello body"));
    assert!(
        matches!(log[2], Outcome::Ok(404, _, None, _)),
        "{:?}",
        log[2]
    );
    conn.free(&mut base).unwrap();
    assert!(!conn.is_live(&base));
    http.free(&mut base).unwrap();
}

#[test]
fn keep_alive_connection_is_reused_for_three_requests() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, peers) = server(&mut base);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    for _ in 0..3 {
        request(&mut base, conn, Method::Get, "/echo", b"", &log);
    }
    run_until(&mut base, &log, 3);
    // One more, queued from the callback of a fourth.
    let log2 = log.clone();
    conn.make_request(
        &mut base,
        Method::Get,
        "/echo",
        &Headers::new(),
        None,
        move |base, r| {
            assert_eq!(r.unwrap().code(), 200);
            request(base, conn, Method::Get, "/echo", b"", &log2);
        },
    )
    .unwrap();
    run_until(&mut base, &log, 4);
    assert!(
        log.borrow()
            .iter()
            .all(|o| *o == ok(200, "Fine", true, b"GET:"))
    );
    let peers = peers.borrow();
    assert_eq!(peers.len(), 5);
    assert!(
        peers.iter().all(|p| *p == peers[0]),
        "one socket: {peers:?}"
    );
    assert_eq!(http.connection_count(&base).unwrap(), 1);
    conn.free(&mut base).unwrap();
    http.free(&mut base).unwrap();
}

#[test]
fn chunked_response_and_head() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/chunked", b"", &log);
    request(&mut base, conn, Method::Head, "/echo", b"", &log);
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    run_until(&mut base, &log, 3);
    let log = log.borrow();
    assert_eq!(log[0], ok(200, "OK", false, b"one two three"));
    // HEAD: the fields of a GET, its Content-Length, no body.
    assert_eq!(log[1], ok(200, "Fine", true, b""));
    assert_eq!(log[2], ok(200, "Fine", true, b"GET:"));
    conn.free(&mut base).unwrap();
    http.free(&mut base).unwrap();
}

#[test]
fn free_cancels_queued_requests_once() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    conn.free(&mut base).unwrap();
    assert_eq!(
        *log.borrow(),
        [
            Outcome::Err(HttpRequestError::Cancelled),
            Outcome::Err(HttpRequestError::Cancelled)
        ]
    );
    run_until(&mut base, &log, 2);
    assert!(
        conn.make_request(
            &mut base,
            Method::Get,
            "/",
            &Headers::new(),
            None,
            |_, _| ()
        )
        .is_err()
    );
    http.free(&mut base).unwrap();
}

/// A raw server on a thread: answers each of `replies` to one request
/// read on one connection, then closes.
fn raw_server(replies: &'static [&'static [u8]]) -> (SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        for reply in replies {
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "client closed");
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(reply).unwrap();
        }
    });
    (addr, t)
}

/// One GET to a raw server answering `reply`: its outcome.
fn against(reply: &'static [&'static [u8]], n: usize) -> Vec<Outcome> {
    let mut base = EventBase::new().unwrap();
    let (addr, t) = raw_server(reply);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    for _ in 0..n {
        request(&mut base, conn, Method::Get, "/", b"", &log);
    }
    run_until(&mut base, &log, n);
    t.join().unwrap();
    conn.free(&mut base).unwrap();
    Rc::try_unwrap(log).unwrap().into_inner()
}

#[test]
fn close_mid_body_is_eof() {
    let got = against(&[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"], 1);
    assert_eq!(got, [Outcome::Err(HttpRequestError::Eof)]);
    let got = against(
        &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"],
        1,
    );
    assert_eq!(got, [Outcome::Err(HttpRequestError::Eof)]);
    let got = against(&[b"HTTP/1.1 200 OK\r\nContent-"], 1);
    assert_eq!(got, [Outcome::Err(HttpRequestError::Eof)]);
}

#[test]
fn negative_and_conflicting_lengths_are_invalid_headers() {
    for reply in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 2OO OK\r\n\r\n",
    ] {
        let r: &'static [&'static [u8]] = Box::leak(Box::new([reply]));
        assert_eq!(
            against(r, 1),
            [Outcome::Err(HttpRequestError::InvalidHeader)],
            "{:?}",
            reply.escape_ascii().to_string()
        );
    }
}

#[test]
fn close_delimited_body_1xx_skipped_and_bodiless_codes() {
    // A 100 Continue before the answer; a 204 and a 304 with no body on
    // the same connection; then a body that runs to the close.
    let got = against(
        &[
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-Test: yes\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
            b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
        ],
        3,
    );
    assert_eq!(
        got,
        [
            ok(204, "No Content", true, b""),
            ok(304, "Not Modified", false, b""),
            ok(200, "OK", false, b"until the end"),
        ]
    );
}

#[test]
fn limits_end_requests_with_data_too_long() {
    let mut base = EventBase::new().unwrap();
    let (addr, t) = raw_server(&[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"]);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_max_body_size(&mut base, 99).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 1);
    assert_eq!(*log.borrow(), [Outcome::Err(HttpRequestError::DataTooLong)]);
    t.join().unwrap();
    conn.free(&mut base).unwrap();
}

#[test]
fn refused_connect_is_eof() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/", b"", &log);
    request(&mut base, conn, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 2);
    assert_eq!(
        *log.borrow(),
        [
            Outcome::Err(HttpRequestError::Eof),
            Outcome::Err(HttpRequestError::Eof)
        ]
    );
    conn.free(&mut base).unwrap();
}
