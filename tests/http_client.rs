//! The HTTP client (tutorial 10.3's `evhttp_connection`, libevent's
//! `regress_http.c` client cases): requests from an [`HttpConnection`]
//! to rvent's own server on the same base, and to raw-socket servers on
//! a thread that misbehave on purpose (stall, close mid-body, send
//! negative or conflicting lengths, endless bodies). Every case checks
//! the completion callback ran exactly once and that every callback was
//! released afterwards (the shared log's count).

mod util;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use rvent::{
    Evbuffer, EventBase, Headers, Http, HttpConnection, HttpConnectionFlags, HttpRequest,
    HttpRequestError, LoopFlags, Method,
};

/// What a completion callback saw: the status, a field and the body, or
/// the error.
#[derive(Clone, Debug, PartialEq)]
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
) -> rvent::QueuedRequest {
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
    .unwrap()
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

/// A base with [`server`] on it, a client connection to it and an empty
/// outcome log: most tests' setup.
fn client_of_server() -> (EventBase, Http, HttpConnection, Outcomes) {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    (base, http, conn, Outcomes::default())
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
    http.set_cb(base, "/host", |base, req| {
        let host = req
            .input_headers(base)
            .unwrap()
            .find("host")
            .unwrap()
            .to_vec();
        let mut body = Evbuffer::new();
        body.add(&host).unwrap();
        req.send_reply(base, 200, None, Some(&mut body)).unwrap();
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
    let (mut base, http, conn, log) = client_of_server();
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
    let (mut base, http, conn, log) = client_of_server();
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
    let (mut base, http, conn, log) = client_of_server();
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

/// Asserts every callback holding `log` was dropped.
fn released(log: &Outcomes) {
    assert_eq!(Rc::strong_count(log), 1, "a callback was not released");
}

/// A raw server on a thread: accepts one connection, reads a request
/// head, then runs `then` on the socket.
fn raw_server_with(
    then: impl FnOnce(&mut std::net::TcpStream) + Send + 'static,
) -> (SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "client closed");
            got.extend_from_slice(&buf[..n]);
        }
        then(&mut s);
    });
    (addr, t)
}

/// Waits until the peer closes `s` (or 5 s pass).
fn until_closed(s: &mut std::net::TcpStream) {
    let mut buf = [0u8; 64];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
}

/// A request whose error and completion callbacks both log, in order.
fn logged_request(log: &Rc<RefCell<Vec<String>>>) -> HttpRequest<rvent::Layers> {
    let (l1, l2) = (log.clone(), log.clone());
    let mut req = HttpRequest::new(move |_, r| {
        l1.borrow_mut().push(match r {
            Ok(mut r) => format!("complete {} {}", r.code(), r.input_buffer().len()),
            Err(e) => format!("complete Err({e:?})"),
        })
    })
    .unwrap();
    req.set_error_cb(move |_, e| l2.borrow_mut().push(format!("error {e:?}")))
        .unwrap();
    req
}

fn run_for(base: &mut EventBase, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "stalled");
        base.run(LoopFlags::ONCE).unwrap();
    }
    for _ in 0..3 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
}

#[test]
fn stalling_server_is_a_read_timeout_error_callback_first() {
    let (addr, t) = raw_server_with(until_closed);
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_timeouts(&mut base, Some(Duration::from_millis(50)), None)
        .unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    conn.make_request_with(&mut base, logged_request(&log), Method::Get, "/")
        .unwrap();
    run_for(&mut base, || log.borrow().len() >= 2);
    assert!(start.elapsed() >= Duration::from_millis(45));
    assert_eq!(*log.borrow(), ["error Timeout", "complete Err(Timeout)"]);
    // The socket closed: the server thread sees it.
    t.join().unwrap();
    conn.free(&mut base).unwrap();
    assert_eq!(Rc::strong_count(&log), 1);
}

#[test]
fn connect_retries_double_and_then_fail_every_queued_request() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_retries(&mut base, Some(2)).unwrap();
    conn.set_initial_retry(&mut base, Some(Duration::from_millis(20)))
        .unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    for _ in 0..2 {
        conn.make_request_with(&mut base, logged_request(&log), Method::Get, "/")
            .unwrap();
    }
    run_for(&mut base, || log.borrow().len() >= 4);
    // Tries at 0, 20 and 20 + 40 ms.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(58), "{took:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
    assert_eq!(
        *log.borrow(),
        [
            "error Eof",
            "complete Err(Eof)",
            "error Eof",
            "complete Err(Eof)"
        ]
    );
    conn.free(&mut base).unwrap();
    assert_eq!(Rc::strong_count(&log), 1);
}

#[test]
fn a_retry_reaches_a_server_that_came_up_late() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        let l = TcpListener::bind(addr).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup")
            .unwrap();
        until_closed(&mut s);
    });
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_retries(&mut base, None).unwrap();
    conn.set_initial_retry(&mut base, Some(Duration::from_millis(20)))
        .unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 1);
    assert_eq!(log.borrow()[0], ok(200, "OK", false, b"up"));
    conn.free(&mut base).unwrap();
    t.join().unwrap();
    released(&log);
}

#[test]
fn host_name_connection_sends_its_host_and_knows_its_peer() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let conn = HttpConnection::new_hostname(&mut base, "127.0.0.1", addr.port()).unwrap();
    conn.set_flags(&mut base, HttpConnectionFlags::REUSE_CONNECTED_ADDR)
        .unwrap();
    assert_eq!(conn.peer(&base).unwrap(), None);
    assert_eq!(conn.host(&base).unwrap(), Some(("127.0.0.1", addr.port())));
    assert_eq!(conn.bufferevent(&base).unwrap(), None);
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/host", b"", &log);
    run_until(&mut base, &log, 1);
    let want = format!("127.0.0.1:{}", addr.port());
    assert_eq!(log.borrow()[0], ok(200, "OK", false, want.as_bytes()));
    assert_eq!(conn.peer(&base).unwrap(), Some(addr));
    assert!(conn.bufferevent(&base).unwrap().is_some());
    // A host name that does not resolve fails the request.
    let bad = HttpConnection::new_hostname(&mut base, "no-such-host.invalid", 80).unwrap();
    request(&mut base, bad, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 2);
    assert_eq!(log.borrow()[1], Outcome::Err(HttpRequestError::Eof));
    assert!(HttpConnection::new_hostname(&mut base, "a b", 80).is_err());
    conn.free(&mut base).unwrap();
    bad.free(&mut base).unwrap();
    http.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn close_callback_runs_when_a_connected_socket_closes() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let closes = Rc::new(RefCell::new(0));
    let c = closes.clone();
    conn.set_close_cb(&mut base, move |_, cc| {
        assert_eq!(cc, conn);
        *c.borrow_mut() += 1;
    })
    .unwrap();
    let log = Outcomes::default();
    // The server closes after a `Connection: close` request.
    let mut h = Headers::new();
    h.add("Connection", "close").unwrap();
    let l = log.clone();
    conn.make_request(&mut base, Method::Get, "/echo", &h, None, move |_, r| {
        l.borrow_mut()
            .push(Outcome::Ok(r.unwrap().code(), String::new(), None, vec![]))
    })
    .unwrap();
    run_until(&mut base, &log, 1);
    assert_eq!(*closes.borrow(), 1);
    assert_eq!(conn.bufferevent(&base).unwrap(), None);
    // A keep-alive request, then free: the socket closes once more.
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    run_until(&mut base, &log, 2);
    assert_eq!(*closes.borrow(), 1);
    conn.free(&mut base).unwrap();
    assert_eq!(*closes.borrow(), 2);
    assert_eq!(Rc::strong_count(&closes), 1, "close callback released");
    http.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn free_on_completion_frees_after_the_last_request() {
    let (mut base, http, conn, log) = client_of_server();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    conn.free_on_completion(&mut base).unwrap();
    run_until(&mut base, &log, 2);
    assert!(!conn.is_live(&base));
    assert!(
        log.borrow()
            .iter()
            .all(|o| *o == ok(200, "Fine", true, b"GET:"))
    );
    // The server sees its connection close.
    let start = Instant::now();
    while http.connection_count(&base).unwrap() > 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "server kept it");
        base.run(LoopFlags::ONCE).unwrap();
    }
    http.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn local_address_and_port_are_bound_before_connecting() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, peers) = server(&mut base);
    let local = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_local_address(&mut base, Some(local.ip())).unwrap();
    conn.set_local_port(&mut base, local.port()).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    run_until(&mut base, &log, 1);
    assert_eq!(log.borrow()[0], ok(200, "Fine", true, b"GET:"));
    assert_eq!(peers.borrow()[0], local);
    conn.free(&mut base).unwrap();
    http.free(&mut base).unwrap();
    released(&log);
}

/// A request with header and chunk callbacks logging what they saw.
fn streaming_request(
    log: &Rc<RefCell<Vec<String>>>,
    cancel_in: Option<&'static str>,
) -> (
    HttpRequest<rvent::Layers>,
    Rc<RefCell<Option<rvent::QueuedRequest>>>,
) {
    let me: Rc<RefCell<Option<rvent::QueuedRequest>>> = Rc::default();
    let mut req = logged_request(log);
    let (l, m) = (log.clone(), me.clone());
    req.set_header_cb(move |base, r| {
        l.borrow_mut()
            .push(format!("header {} {}", r.code(), r.reason()));
        if cancel_in == Some("header") {
            m.borrow().unwrap().cancel(base).unwrap();
        }
    })
    .unwrap();
    let (l, m) = (log.clone(), me.clone());
    req.set_chunked_cb(move |base, r| {
        let b = r.input_buffer();
        let bytes: Vec<u8> = b.chunks().flatten().copied().collect();
        l.borrow_mut()
            .push(format!("chunk {}", String::from_utf8_lossy(&bytes)));
        if cancel_in == Some("chunk") {
            m.borrow().unwrap().cancel(base).unwrap();
        }
    })
    .unwrap();
    (req, me)
}

#[test]
fn header_and_chunk_callbacks_stream_the_body() {
    let (addr, t) = raw_server_with(|s| {
        s.write_all(b"HTTP/1.1 200 Streamed\r\nTransfer-Encoding: chunked\r\n\r\n4\r\none \r\n")
            .unwrap();
        thread::sleep(Duration::from_millis(20));
        s.write_all(b"3\r\ntwo\r\n0\r\n\r\n").unwrap();
        until_closed(s);
    });
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (req, _) = streaming_request(&log, None);
    conn.make_request_with(&mut base, req, Method::Get, "/")
        .unwrap();
    run_for(&mut base, || log.borrow().len() >= 4);
    // The completion callback sees an empty body: it was streamed.
    assert_eq!(
        *log.borrow(),
        [
            "header 200 Streamed",
            "chunk one ",
            "chunk two",
            "complete 200 0"
        ]
    );
    conn.free(&mut base).unwrap();
    t.join().unwrap();
    assert_eq!(Rc::strong_count(&log), 1);
}

#[test]
fn cancel_from_the_header_or_chunk_callback_runs_nothing_more() {
    for at in ["header", "chunk"] {
        let mut base = EventBase::new().unwrap();
        let (http, addr, peers) = server(&mut base);
        let conn = HttpConnection::new(&mut base, addr).unwrap();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (req, me) = streaming_request(&log, Some(at));
        let q = conn
            .make_request_with(&mut base, req, Method::Get, "/chunked")
            .unwrap();
        *me.borrow_mut() = Some(q);
        assert!(q.is_pending(&base));
        // The connection stays usable: the next request goes out on a
        // new socket.
        let after = Outcomes::default();
        request(&mut base, conn, Method::Get, "/echo", b"", &after);
        run_until(&mut base, &after, 1);
        assert_eq!(after.borrow()[0], ok(200, "Fine", true, b"GET:"));
        assert!(!q.is_pending(&base));
        assert!(matches!(
            q.cancel(&mut base),
            Err(rvent::Error::StaleRequest)
        ));
        let want: &[&str] = if at == "header" {
            &["header 200 OK"]
        } else {
            &["header 200 OK", "chunk one two three"]
        };
        assert_eq!(*log.borrow(), want, "cancel in {at}");
        assert_eq!(peers.borrow().len(), 1);
        // Callbacks of the cancelled request are released (the one
        // holding `me` too).
        drop(me);
        assert_eq!(Rc::strong_count(&log), 1);
        conn.free(&mut base).unwrap();
        http.free(&mut base).unwrap();
        released(&after);
    }
}

#[test]
fn cancel_of_a_queued_request_leaves_the_others() {
    let (mut base, http, conn, log) = client_of_server();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    // Any outcome it logged would show: a cancelled request's callback
    // never runs.
    let q = request(&mut base, conn, Method::Post, "/echo", b"", &log);
    request(&mut base, conn, Method::Put, "/echo", b"x", &log);
    assert_eq!(q.connection(), conn);
    q.cancel(&mut base).unwrap();
    run_until(&mut base, &log, 2);
    assert_eq!(
        *log.borrow(),
        [
            ok(200, "Fine", true, b"GET:"),
            ok(200, "Fine", true, b"PUT:x")
        ]
    );
    conn.free(&mut base).unwrap();
    http.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn bodies_past_the_limit_are_data_too_long() {
    // An announced gigabyte: refused before reading it.
    let (addr, t) = raw_server_with(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n");
        until_closed(s);
    });
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_max_body_size(&mut base, 1 << 20).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 1);
    t.join().unwrap();
    // Close-delimited and chunked bodies that never end: refused at the
    // limit, streamed or not.
    let endless_close = |s: &mut std::net::TcpStream| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        let block = [b'x'; 16 << 10];
        while s.write_all(&block).is_ok() {}
    };
    let endless_chunks = |s: &mut std::net::TcpStream| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        let mut block = b"4000\r\n".to_vec();
        block.extend_from_slice(&[b'x'; 0x4000]);
        block.extend_from_slice(b"\r\n");
        while s.write_all(&block).is_ok() {}
    };
    for (i, serve) in [endless_close, endless_chunks, endless_close, endless_chunks]
        .into_iter()
        .enumerate()
    {
        let (addr, t) = raw_server_with(serve);
        let conn = HttpConnection::new(&mut base, addr).unwrap();
        conn.set_max_body_size(&mut base, 100_000).unwrap();
        let streamed = Rc::new(RefCell::new(0usize));
        let mut req = HttpRequest::new({
            let log = log.clone();
            move |_, r| {
                log.borrow_mut().push(match r {
                    Ok(r) => Outcome::Ok(r.code(), String::new(), None, vec![]),
                    Err(e) => Outcome::Err(e),
                })
            }
        })
        .unwrap();
        if i >= 2 {
            let n = streamed.clone();
            req.set_chunked_cb(move |_, r| *n.borrow_mut() += r.input_buffer().len())
                .unwrap();
        }
        conn.make_request_with(&mut base, req, Method::Get, "/")
            .unwrap();
        run_until(&mut base, &log, 2 + i);
        assert!(*streamed.borrow() <= 100_000);
        conn.free(&mut base).unwrap();
        t.join().unwrap();
    }
    assert_eq!(
        *log.borrow(),
        (0..5)
            .map(|_| Outcome::Err(HttpRequestError::DataTooLong))
            .collect::<Vec<_>>()
    );
    conn.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn a_head_past_the_limit_is_data_too_long() {
    let (addr, t) = raw_server_with(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Big: ");
        let _ = s.write_all(&[b'a'; 2000]);
        let _ = s.write_all(b"\r\n\r\n");
        until_closed(s);
    });
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_max_headers_size(&mut base, 1000).unwrap();
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 1);
    assert_eq!(*log.borrow(), [Outcome::Err(HttpRequestError::DataTooLong)]);
    t.join().unwrap();
    conn.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn connect_timeout_is_a_timeout_after_the_retries() {
    use std::os::fd::AsRawFd;
    // A listener whose accept queue is full: the kernel drops further
    // SYNs, so a connect hangs.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: plain syscall on a listening socket we own.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let addr = l.local_addr().unwrap();
    let fill: Vec<_> = (0..4)
        .map_while(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(30)).ok())
        .collect();
    assert!(!fill.is_empty() && fill.len() < 4);
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_connect_timeout(&mut base, Some(Duration::from_millis(40)))
        .unwrap();
    conn.set_retries(&mut base, Some(1)).unwrap();
    conn.set_initial_retry(&mut base, Some(Duration::from_millis(10)))
        .unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    conn.make_request_with(&mut base, logged_request(&log), Method::Get, "/")
        .unwrap();
    run_for(&mut base, || log.borrow().len() >= 2);
    // Two connects of 40 ms and a 10 ms pause.
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(88), "{took:?}");
    assert_eq!(*log.borrow(), ["error Timeout", "complete Err(Timeout)"]);
    conn.free(&mut base).unwrap();
    drop(fill);
    assert_eq!(Rc::strong_count(&log), 1);
}

// ---------------------------------------------------------------------------
// The http_response fuzz target's committed seeds, replayed through its
// checker (fuzz/src/http_response.rs).

#[allow(dead_code)]
#[path = "../fuzz/src/http_response.rs"]
mod fuzz_http_response;

#[test]
fn fuzz_seeds_http_response() {
    let files = util::seeds::fuzz_seeds("http_response");
    assert!(files.len() >= 15);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let run = std::panic::catch_unwind(|| fuzz_http_response::replay(&data));
        assert!(run.is_ok(), "{} failed", f.display());
    }
}

/// The checker's oracles can fail: a pipelined stream split at every
/// point, with each request's kind, ends every request once.
#[test]
fn fuzz_http_response_every_split() {
    let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.0 200 OK\r\n\r\nrest";
    for at in 0..stream.len() as u16 {
        for flags in [0, 0x08, 0x18] {
            fuzz_http_response::check_exchange(&fuzz_http_response::Exchange {
                flags,
                splits: vec![at, at / 2],
                bytes: stream.to_vec(),
            });
        }
    }
}

/// A server answering 413 to the head of an 8 MiB upload: it stops
/// reading, answers 30 ms later and closes at once with the upload
/// unread — the reset fails the client's write, usually before the
/// client has read the answer already in its socket. The outcomes, in
/// order.
fn early_answer_to_an_upload(flags: HttpConnectionFlags) -> Vec<Outcome> {
    use std::os::fd::AsRawFd;
    let (addr, t) = raw_server_with(|s| {
        // SAFETY: plain syscall on a socket the thread owns.
        unsafe { libc::shutdown(s.as_raw_fd(), libc::SHUT_RD) };
        thread::sleep(Duration::from_millis(30));
        let _ = s.write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!");
    });
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_flags(&mut base, flags).unwrap();
    let log = Outcomes::default();
    request(
        &mut base,
        conn,
        Method::Post,
        "/up",
        &vec![b'u'; 8 << 20],
        &log,
    );
    run_until(&mut base, &log, 1);
    t.join().unwrap();
    conn.free(&mut base).unwrap();
    released(&log);
    Rc::try_unwrap(log).unwrap().into_inner()
}

#[test]
fn read_on_write_error_reads_the_answer_after_a_failed_write() {
    let want = ok(413, "Payload Too Large", false, b"big!");
    for _ in 0..3 {
        let got = early_answer_to_an_upload(HttpConnectionFlags::READ_ON_WRITE_ERROR);
        assert_eq!(got, std::slice::from_ref(&want));
    }
    // Without the flag the failed write ends the request — unless the
    // loop read the answer first; either way once.
    let got = early_answer_to_an_upload(HttpConnectionFlags::empty());
    assert!(
        got == [Outcome::Err(HttpRequestError::Eof)] || got == [want],
        "{got:?}"
    );
}

#[test]
fn family_limits_what_a_host_name_may_resolve_to() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let log = Outcomes::default();
    for family in [rvent::AddressFamily::Ipv4, rvent::AddressFamily::Ipv6] {
        let conn = HttpConnection::new_hostname(&mut base, "127.0.0.1", addr.port()).unwrap();
        conn.set_family(&mut base, family).unwrap();
        request(&mut base, conn, Method::Get, "/echo", b"", &log);
        let n = log.borrow().len() + 1;
        run_until(&mut base, &log, n);
        conn.free(&mut base).unwrap();
    }
    // An IPv4 literal has no IPv6 address: that lookup fails.
    assert_eq!(
        *log.borrow(),
        [
            ok(200, "Fine", true, b"GET:"),
            Outcome::Err(HttpRequestError::Eof)
        ]
    );
    http.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn client_and_server_over_a_bufferevent_pair() {
    let mut base = EventBase::new().unwrap();
    let (http, _, peers) = server(&mut base);
    let (c, s) = rvent::Bufferevent::pair(&mut base, rvent::BevOptions::CLOSE_ON_FREE).unwrap();
    let fake: SocketAddr = "127.0.0.1:1".parse().unwrap();
    http.serve_bufferevent(&mut base, s, "10.0.0.1:7".parse().unwrap())
        .unwrap();
    let conn = HttpConnection::with_bufferevent(&mut base, c, fake).unwrap();
    assert_eq!(conn.bufferevent(&base).unwrap(), Some(c));
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    request(&mut base, conn, Method::Post, "/echo", b"over a pair", &log);
    run_until(&mut base, &log, 2);
    assert_eq!(
        *log.borrow(),
        [
            ok(200, "Fine", true, b"GET:"),
            ok(200, "Fine", true, b"POST:over a pair")
        ]
    );
    // One connection, kept alive: the server saw the pair's peer twice.
    assert_eq!(*peers.borrow(), ["10.0.0.1:7".parse().unwrap(); 2]);
    assert_eq!(conn.bufferevent(&base).unwrap(), Some(c));
    conn.free(&mut base).unwrap();
    assert!(!c.is_live(&base), "the connection freed its bufferevent");
    http.free(&mut base).unwrap();
    released(&log);
}

#[test]
fn cancel_while_retrying_stops_the_retries() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    conn.set_retries(&mut base, None).unwrap();
    conn.set_initial_retry(&mut base, Some(Duration::from_secs(30)))
        .unwrap();
    let log = Outcomes::default();
    // Any outcome it logged would show: a cancelled request's callback
    // never runs.
    let q = request(&mut base, conn, Method::Get, "/", b"", &log);
    // The refused connect is seen; a retry is 30 s away.
    for _ in 0..5 {
        base.run(LoopFlags::NONBLOCK).unwrap();
    }
    assert!(q.is_pending(&base));
    q.cancel(&mut base).unwrap();
    // Nothing is left to wait for: the loop ends at once.
    let start = Instant::now();
    assert_eq!(base.dispatch().unwrap(), rvent::LoopStatus::NoEvents);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(log.borrow().is_empty());
    assert!(conn.is_live(&base));
    conn.free(&mut base).unwrap();
    released(&log);
}

/// A keep-alive answer that comes before the whole request body went
/// out: the rest of the body must not be read as the next request, so
/// the next request goes out on a new connection.
#[test]
fn an_answer_before_the_whole_body_is_not_reused() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = thread::spawn(move || {
        let mut firsts = Vec::new();
        for _ in 0..2 {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1 << 16];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            firsts.push(got[..4].to_vec());
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            // The client closes: the rest of the body, then the end.
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
        firsts
    });
    let mut base = EventBase::new().unwrap();
    let conn = HttpConnection::new(&mut base, addr).unwrap();
    let log = Outcomes::default();
    request(
        &mut base,
        conn,
        Method::Post,
        "/",
        &vec![b'u'; 8 << 20],
        &log,
    );
    request(&mut base, conn, Method::Get, "/", b"", &log);
    run_until(&mut base, &log, 2);
    assert_eq!(
        *log.borrow(),
        [ok(200, "OK", false, b"ok"), ok(200, "OK", false, b"ok")]
    );
    conn.free(&mut base).unwrap();
    assert_eq!(t.join().unwrap(), [b"POST".to_vec(), b"GET ".to_vec()]);
    released(&log);
}

#[test]
fn an_unconnected_socket_bufferevent_is_connected_at_the_first_request() {
    let mut base = EventBase::new().unwrap();
    let (http, addr, _) = server(&mut base);
    let bev =
        rvent::Bufferevent::socket(&mut base, None, rvent::BevOptions::CLOSE_ON_FREE).unwrap();
    let conn = HttpConnection::with_bufferevent(&mut base, bev, addr).unwrap();
    assert_eq!(conn.bufferevent(&base).unwrap(), None);
    let log = Outcomes::default();
    request(&mut base, conn, Method::Get, "/echo", b"", &log);
    assert_eq!(conn.bufferevent(&base).unwrap(), Some(bev));
    run_until(&mut base, &log, 1);
    assert_eq!(log.borrow()[0], ok(200, "Fine", true, b"GET:"));
    conn.free(&mut base).unwrap();
    assert!(!bev.is_live(&base));
    // Never used: freed with the connection.
    let bev =
        rvent::Bufferevent::socket(&mut base, None, rvent::BevOptions::CLOSE_ON_FREE).unwrap();
    let conn = HttpConnection::with_bufferevent(&mut base, bev, addr).unwrap();
    conn.free(&mut base).unwrap();
    assert!(!bev.is_live(&base));
    http.free(&mut base).unwrap();
    released(&log);
}
