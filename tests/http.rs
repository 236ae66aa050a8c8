//! The HTTP server (tutorial 10.3, libevent's `regress_http.c` server
//! cases): a server on a base in the test thread, raw clients on another
//! thread over loopback, and `curl` when it is installed.

mod util;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rvent::{Error, Ev, Event, EventBase, Http, Method, Methods, Request};
use util::http::Client;

/// Runs `client` on a thread against a server set up by `setup`, the
/// base running here until the client is done.
fn serve<S, C>(setup: S, client: C)
where
    S: FnOnce(&mut EventBase, Http),
    C: FnOnce(SocketAddr) + Send + 'static,
{
    let mut base = EventBase::new().unwrap();
    let http = Http::new(&mut base).unwrap();
    setup(&mut base, http);
    let addr = http
        .bind(&mut base, "127.0.0.1:0".parse().unwrap())
        .unwrap()
        .local_addr(&base)
        .unwrap();
    let notifier = base.notifier();
    let t = thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| client(addr)));
        notifier.loopbreak().unwrap();
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    });
    base.dispatch().unwrap();
    t.join().unwrap();
    http.free(&mut base).unwrap();
}

/// Replies 200 with `body` and a test field.
fn reply(base: &mut EventBase, req: Request, body: &[u8]) {
    req.output_headers(base)
        .unwrap()
        .add("X-Test", "yes")
        .unwrap();
    req.output_buffer(base).unwrap().add(body).unwrap();
    req.send_reply(base, 200, None, None).unwrap();
}

/// A `/test` route answering "This is funny", and a general callback
/// echoing the target.
fn routes(base: &mut EventBase, http: Http) {
    http.set_cb(base, "/test", |base, req| {
        assert_eq!(
            req.peer(base).unwrap().unwrap().ip().to_string(),
            "127.0.0.1"
        );
        reply(base, req, b"This is funny");
    })
    .unwrap();
    http.set_gencb(base, |base, req| {
        let uri = req.uri(base).unwrap().as_bytes().to_vec();
        reply(base, req, &uri);
    })
    .unwrap();
}

#[test]
fn basic_split_request() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        c.send_parts(&[
            b"GET /test HTTP/1.1\r\nHo",
            b"st: somehost\r\nConnection: cl",
            b"ose\r\n\r\n",
        ]);
        let r = c.read_reply();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"This is funny");
        assert_eq!(r.header("x-test"), Some("yes"));
        assert_eq!(r.header("content-type"), Some(rvent::DEFAULT_CONTENT_TYPE));
        assert_eq!(r.header("content-length"), Some("13"));
        assert_eq!(r.header("connection"), Some("close"));
        assert!(r.header("date").unwrap().ends_with(" GMT"));
        assert!(c.closed());
    });
}

#[test]
fn every_split_point_of_a_request() {
    let req: &[u8] = b"POST /te%73t?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    serve(routes, move |addr| {
        let mut c = Client::connect(addr);
        for at in 1..req.len() {
            c.send_parts(&[&req[..at], &req[at..]]);
            let r = c.read_reply();
            assert_eq!(
                (r.status, &r.body[..]),
                (200, &b"This is funny"[..]),
                "split at {at}"
            );
        }
    });
}

#[test]
fn absolute_uri_routes_by_path_and_gives_host() {
    let host = Rc::new(RefCell::new(String::new()));
    let h = host.clone();
    serve(
        move |base, http| {
            http.set_cb(base, "/test", move |base, req| {
                *h.borrow_mut() = req.host(base).unwrap().unwrap().to_string();
                reply(base, req, b"abs");
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET http://somehost.net/test?x HTTP/1.1\r\nHost: other\r\n\r\n");
            assert_eq!(c.read_reply().body, b"abs");
            c.send(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(r.status, 404);
            assert!(
                String::from_utf8(r.body)
                    .unwrap()
                    .contains("<TITLE>404 Not Found</TITLE>")
            );
        },
    );
    assert_eq!(*host.borrow(), "somehost.net");
}

#[test]
fn methods_and_allowed_methods() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    serve(
        move |base, http| {
            http.set_allowed_methods(
                base,
                Methods::default_allowed() | Methods::PROPFIND | Methods::EXTENSION,
            )
            .unwrap();
            http.set_gencb(base, move |base, req| {
                let m = req.method(base).unwrap();
                s.borrow_mut()
                    .push((m, req.method_str(base).unwrap().to_string()));
                let body = req.input_buffer(base).unwrap().len().to_string();
                reply(base, req, body.as_bytes());
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
            assert_eq!(c.read_reply().body, b"5");
            c.send(b"PUT /p HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
            c.send(b"PROPFIND /p HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
            c.send(b"CUSTOM /p HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
            c.send(b"HEAD /p HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply_to(true).unwrap();
            assert_eq!((r.status, r.header("content-length")), (200, Some("1")));
            c.send(b"PATCH /p HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 501);
            assert!(c.closed());
        },
    );
    let seen = seen.borrow();
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[2].0, Method::Propfind);
    assert_eq!(
        (seen[3].0, seen[3].1.as_str()),
        (Method::Extension, "CUSTOM")
    );
    assert_eq!(seen[4].0, Method::Head);
}

#[test]
fn persistent_connections_and_http_1_0() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        for _ in 0..3 {
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(r.status, 200);
            assert_eq!(r.header("connection"), None);
        }
        let mut c = Client::connect(addr);
        c.send(b"GET /test HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert_eq!(c.read_reply().header("connection"), Some("keep-alive"));
        c.send(b"GET /test HTTP/1.0\r\n\r\n");
        assert_eq!(c.read_reply().header("connection"), Some("close"));
        assert!(c.closed());
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        let mut all = Vec::new();
        for i in 0..10 {
            all.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        }
        c.send(&all);
        for i in 0..10 {
            assert_eq!(c.read_reply().body, format!("/{i}").as_bytes());
        }
    });
}

#[test]
fn bad_requests_get_400_and_close_others_go_on() {
    serve(routes, |addr| {
        let mut good = Client::connect(addr);
        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let mut c = Client::connect(addr);
            c.send(bad);
            let r = c.read_reply();
            assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(bad));
            assert!(c.closed());
            good.send(b"GET /test HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            assert_eq!(good.read_reply().status, 200);
        }
    });
}

#[test]
fn chunked_request_bodies() {
    serve(
        |base, http| {
            http.set_gencb(base, |base, req| {
                let body: Vec<u8> = req
                    .input_buffer(base)
                    .unwrap()
                    .chunks()
                    .flatten()
                    .copied()
                    .collect();
                reply(base, req, &body);
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send_parts(&[
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e",
                b"xt=1\r\nhel",
                b"lo\r\n6\r",
                b"\n world\r\n0\r\nTrailer: x\r\n",
                b"\r\n",
            ]);
            assert_eq!(c.read_reply().body, b"hello world");
        },
    );
}

#[test]
fn data_length_constraints() {
    serve(
        |base, http| {
            routes(base, http);
            http.set_max_headers_size(base, 200).unwrap();
            http.set_max_body_size(base, 10).unwrap();
        },
        |addr| {
            let long = format!(
                "GET /test HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
                "x".repeat(300)
            );
            assert_eq!(Client::request(addr, long.as_bytes()).status, 431);
            assert_eq!(
                Client::request(
                    addr,
                    b"POST /test HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
                )
                .status,
                413
            );
            assert_eq!(Client::request(addr, b"POST /test HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n").status, 413);
            // Expect: 100-continue gets 100 first, then the reply.
            let mut c = Client::connect(addr);
            c.send(b"POST /test HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
            assert_eq!(c.read_reply().status, 100);
            c.send(b"abc");
            assert_eq!(c.read_reply().status, 200);
            // ...or the 413 before the body is sent.
            assert_eq!(Client::request(addr, b"POST /test HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n").status, 413);
            assert_eq!(Client::request(addr, b"POST /test HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 101-continue\r\n\r\n").status, 417);
        },
    );
}

#[test]
fn a_request_answered_later_from_a_timer() {
    serve(
        |base, http| {
            http.set_gencb(base, |base, req| {
                let t = Event::timer(base, move |base, ev, _, _| {
                    reply(base, req, b"later");
                    ev.free(base).unwrap();
                })
                .unwrap();
                t.add(base, Some(Duration::from_millis(5))).unwrap();
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().body, b"later");
            assert_eq!(c.read_reply().body, b"later");
        },
    );
}

#[test]
fn header_deadline_closes_a_trickling_client() {
    serve(
        |base, http| {
            routes(base, http);
            http.set_header_timeout(base, Some(Duration::from_millis(50)))
                .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            let start = Instant::now();
            c.send(b"GET /test HTTP/1.1\r\n");
            for _ in 0..5 {
                thread::sleep(Duration::from_millis(20));
                let _ = std::io::Write::write_all(&mut c.stream, b"X");
            }
            assert!(c.closed());
            assert!(start.elapsed() < Duration::from_secs(2));
        },
    );
}

#[test]
fn set_cb_refuses_duplicates_and_del_cb_missing_paths() {
    let mut base = EventBase::new().unwrap();
    let http = Http::new(&mut base).unwrap();
    http.set_cb(&mut base, "/a", |_, _| {}).unwrap();
    assert!(matches!(
        http.set_cb(&mut base, "/a", |_, _| {}),
        Err(Error::InvalidArgument(_))
    ));
    http.del_cb(&mut base, "/a").unwrap();
    assert!(matches!(
        http.del_cb(&mut base, "/a"),
        Err(Error::InvalidArgument(_))
    ));
    http.free(&mut base).unwrap();
    assert!(matches!(
        http.set_cb(&mut base, "/b", |_, _| {}),
        Err(Error::StaleHttp)
    ));
}

#[test]
fn curl_gets_its_answers() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("note: curl is not installed; curl case skipped");
        return;
    }
    serve(routes, |addr| {
        let out = std::process::Command::new("curl")
            .args(["-s", "--max-time", "5", "-o", "-", "-w", " %{http_code}"])
            .arg(format!("http://{addr}/test"))
            .arg(format!("http://{addr}/te%73t?x=1"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "This is funny 200This is funny 200"
        );
    });
}

/// libevent's `chunk_out` / `stream_out` handler: a streamed reply in
/// three pieces, the second one's write callback sending the third and
/// ending it.
fn stream_routes(base: &mut EventBase, http: Http) {
    http.set_cb(base, "/chunked", |base, req| {
        req.output_buffer(base).unwrap().add(b"This ").unwrap();
        req.send_reply_start(base, 200, Some("Everything is fine"))
            .unwrap();
        assert!(matches!(
            req.send_reply(base, 200, None, None),
            Err(Error::BadState(_))
        ));
        let mut piece = rvent::Evbuffer::new();
        piece.add(b"is ").unwrap();
        req.send_reply_chunk_with_cb(base, &mut piece, move |base| {
            let mut last = rvent::Evbuffer::new();
            last.add(b"funny").unwrap();
            req.send_reply_chunk(base, &mut last).unwrap();
            req.send_reply_end(base).unwrap();
            assert!(!req.is_live(base));
        })
        .unwrap();
        assert!(piece.is_empty());
    })
    .unwrap();
}

#[test]
fn chunk_out_on_http_1_1() {
    serve(stream_routes, |addr| {
        let mut c = Client::connect(addr);
        for _ in 0..2 {
            c.send(b"GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(r.status, 200);
            assert_eq!(r.header("transfer-encoding"), Some("chunked"));
            assert_eq!(r.header("content-length"), None);
            assert_eq!(r.header("connection"), None);
            assert_eq!(r.body, b"This is funny");
        }
        // HEAD: the same head, no body, the connection kept.
        c.send(b"HEAD /chunked HTTP/1.1\r\nHost: a\r\n\r\n");
        let r = c.read_reply_to(true).unwrap();
        assert_eq!(r.status, 200);
        c.send(b"GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(c.read_reply().body, b"This is funny");
    });
}

#[test]
fn stream_out_on_http_1_0_ends_with_close() {
    serve(stream_routes, |addr| {
        let mut c = Client::connect(addr);
        c.send(b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.read_reply();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.header("connection"), Some("close"));
        assert_eq!(r.body, b"This is funny");
        assert!(c.closed());
    });
}

#[test]
fn terminate_chunked_client_gone_mid_stream() {
    let outcome = Rc::new(RefCell::new(None));
    let o = outcome.clone();
    let mut base = EventBase::new().unwrap();
    let http = Http::new(&mut base).unwrap();
    http.set_cb(&mut base, "/stream", move |base, req| {
        req.send_reply_start(base, 200, None).unwrap();
        let o = o.clone();
        let t = Event::new(base, None, rvent::Ev::PERSIST, move |base, ev, _, _| {
            let mut piece = rvent::Evbuffer::new();
            piece.add(&[b'x'; 1000]).unwrap();
            if let Err(e) = req.send_reply_chunk(base, &mut piece) {
                *o.borrow_mut() = Some(e);
                ev.free(base).unwrap();
                base.loopbreak();
            }
        })
        .unwrap();
        t.add(base, Some(Duration::from_millis(2))).unwrap();
    })
    .unwrap();
    let addr = http
        .bind(&mut base, "127.0.0.1:0".parse().unwrap())
        .unwrap()
        .local_addr(&base)
        .unwrap();
    let t = thread::spawn(move || {
        let mut c = Client::connect(addr);
        c.send(b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut head = [0u8; 64];
        let _ = std::io::Read::read(&mut c.stream, &mut head).unwrap();
        // Gone mid-reply.
    });
    base.dispatch().unwrap();
    t.join().unwrap();
    assert!(matches!(*outcome.borrow(), Some(Error::StaleRequest)));
    assert_eq!(http.connection_count(&base).unwrap(), 0);
    http.free(&mut base).unwrap();
}

#[test]
fn on_complete_runs_once_the_reply_is_written() {
    let done = Rc::new(RefCell::new(Vec::new()));
    let d = done.clone();
    serve(
        move |base, http| {
            http.set_gencb(base, move |base, req| {
                let d = d.clone();
                let path = req.parsed_uri(base).unwrap().path().to_string();
                req.set_on_complete(base, move |_| d.borrow_mut().push(path))
                    .unwrap();
                reply(base, req, b"done");
                assert!(matches!(
                    req.set_on_complete(base, |_| {}),
                    Err(Error::StaleRequest)
                ));
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /a?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().body, b"done");
            assert_eq!(c.read_reply().body, b"done");
            c.send(b"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            assert_eq!(c.read_reply().body, b"done");
            assert!(c.closed());
        },
    );
    assert_eq!(*done.borrow(), ["/a", "/b", "/c"]);
}

#[test]
fn a_file_body_goes_out_with_sendfile() {
    use std::io::{Seek, Write};
    let mut file = tempfile();
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    file.write_all(&content).unwrap();
    file.rewind().unwrap();
    let fd = Rc::new(RefCell::new(Some(std::os::fd::OwnedFd::from(file))));
    let want = content.clone();
    serve(
        move |base, http| {
            http.set_gencb(base, move |base, req| {
                let fd = fd.borrow_mut().take().unwrap();
                let mut body = rvent::Evbuffer::new();
                body.add_file(fd, 10, None).unwrap();
                req.send_reply(base, 200, None, Some(&mut body)).unwrap();
            })
            .unwrap();
        },
        move |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /file HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(r.header("content-length"), Some("99990"));
            assert!(r.body == want[10..]);
        },
    );
}

/// An unlinked scratch file.
fn tempfile() -> std::fs::File {
    let path = std::env::temp_dir().join(format!(
        "rvent-http-{}-{:?}",
        std::process::id(),
        thread::current().id()
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f
}

#[test]
fn virtual_hosts_and_aliases() {
    serve(
        |base, http| {
            http.set_gencb(base, |base, req| reply(base, req, b"main"))
                .unwrap();
            let second = Http::new(base).unwrap();
            second
                .set_cb(base, "/funnybunny", |base, req| reply(base, req, b"second"))
                .unwrap();
            http.add_virtual_host(base, "*foo.C?m", second).unwrap();
            let third = Http::new(base).unwrap();
            third
                .set_gencb(base, |base, req| reply(base, req, b"third"))
                .unwrap();
            second.add_virtual_host(base, "www.*", third).unwrap();
            third.add_server_alias(base, "manolito.info").unwrap();
            third.add_server_alias(base, "gone.example").unwrap();
            third.remove_server_alias(base, "gone.example").unwrap();
            assert!(third.remove_server_alias(base, "gone.example").is_err());
            // No cycles, no second parent.
            assert!(matches!(
                third.add_virtual_host(base, "x", http),
                Err(Error::InvalidArgument(_))
            ));
            assert!(matches!(
                http.add_virtual_host(base, "y", third),
                Err(Error::InvalidArgument(_))
            ));
        },
        |addr| {
            let mut c = Client::connect(addr);
            let mut get = |target: &str, host: &str| {
                c.send(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
                let r = c.read_reply();
                (r.status, String::from_utf8(r.body).unwrap())
            };
            assert_eq!(get("/funnybunny", "foo.com").1, "second");
            assert_eq!(get("/funnybunny", "FOO.COM:8080").1, "second");
            assert_eq!(get("/other", "foo.com").0, 404);
            assert_eq!(get("/funnybunny", "www.foo.com").1, "third");
            assert_eq!(get("/x", "Manolito.INFO").1, "third");
            assert_eq!(get("/funnybunny", "gone.example").1, "main");
            assert_eq!(get("/funnybunny", "bar.com").1, "main");
            assert_eq!(get("/funnybunny", "www.bar.com").1, "main");
            assert_eq!(get("http://foo.com/funnybunny", "bar.com").1, "second");
        },
    );
}

#[test]
fn newreq_callback_can_refuse() {
    let seen = Rc::new(RefCell::new(0));
    let s = seen.clone();
    serve(
        move |base, http| {
            routes(base, http);
            http.set_newreq_cb(base, move |base, req| {
                *s.borrow_mut() += 1;
                req.uri(base).unwrap() != "/refused"
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
            c.send(b"GET /refused HTTP/1.1\r\nHost: a\r\n\r\n");
            assert!(c.read_reply_to(false).is_none());
            let mut c = Client::connect(addr);
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
        },
    );
    assert_eq!(*seen.borrow(), 3);
}

#[test]
fn error_callback_makes_custom_pages() {
    serve(
        |base, http| {
            http.set_cb(base, "/fail", |base, req| {
                req.send_error(base, 500, Some("Oops")).unwrap();
            })
            .unwrap();
            http.set_error_cb(base, |code, reason, page| {
                if code == 404 {
                    return false;
                }
                page.add_fmt(format_args!("custom {code} {reason}"))
                    .unwrap();
                true
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /fail HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply();
            assert_eq!((r.status, &r.body[..]), (500, &b"custom 500 Oops"[..]));
            c.send(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(r.status, 404);
            assert!(
                String::from_utf8(r.body)
                    .unwrap()
                    .contains("<H1>Not Found</H1>")
            );
            c.send(b"GET / HTTP/1.1\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(
                (r.status, &r.body[..]),
                (400, &b"custom 400 Bad Request"[..])
            );
        },
    );
}

#[test]
fn bufferevent_hook_makes_each_connection_s_bufferevent() {
    let made = Rc::new(RefCell::new(0));
    let m = made.clone();
    serve(
        move |base, http| {
            routes(base, http);
            http.set_bevcb(base, move |base, stream| {
                *m.borrow_mut() += 1;
                rvent::Bufferevent::from_stream(base, stream, rvent::BevOptions::CLOSE_ON_FREE)
            })
            .unwrap();
        },
        |addr| {
            for _ in 0..2 {
                let mut c = Client::connect(addr);
                c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
                assert_eq!(c.read_reply().body, b"This is funny");
            }
        },
    );
    assert_eq!(*made.borrow(), 2);
}

#[test]
fn lingering_close_lets_the_client_read_its_413() {
    serve(
        |base, http| {
            routes(base, http);
            http.set_max_body_size(base, 10).unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            // The body follows the head at once and goes on after the
            // refusal: the server reads and drops it, so no unread byte
            // makes its close reset the connection (which would discard
            // the 413 before the client reads it).
            let mut req =
                b"POST /test HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n".to_vec();
            req.resize(req.len() + 64 * 1024, b'x');
            c.send(&req);
            thread::sleep(Duration::from_millis(30));
            c.send(&[b'y'; 64 * 1024]);
            thread::sleep(Duration::from_millis(30));
            let r = c.read_reply();
            assert_eq!(r.status, 413);
            assert_eq!(r.header("connection"), Some("close"));
            assert!(c.closed());
        },
    );
}

#[test]
fn max_connections_closes_the_one_over() {
    serve(
        |base, http| {
            routes(base, http);
            http.set_max_connections(base, 1).unwrap();
        },
        |addr| {
            let mut a = Client::connect(addr);
            a.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(a.read_reply().status, 200);
            let mut b = Client::connect(addr);
            b.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert!(b.read_reply_to(false).is_none());
            drop(a);
            thread::sleep(Duration::from_millis(20));
            let mut c = Client::connect(addr);
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
        },
    );
}

// ---------------------------------------------------------------------------
// The http_request fuzz target's committed seeds, replayed through its
// checker (fuzz/src/http.rs).

#[allow(dead_code)]
#[path = "../fuzz/src/http.rs"]
mod fuzz_http;

#[test]
fn fuzz_seeds_http_request() {
    let files = util::fuzz_seeds("http_request");
    assert!(!files.is_empty());
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let run = std::panic::catch_unwind(|| fuzz_http::replay(&data));
        assert!(run.is_ok(), "{} failed", f.display());
    }
}

/// The seeds decode as written (split points, then the stream), and the
/// framing model and checker agree with the server at every split.
#[test]
fn fuzz_http_seed_layout_and_model() {
    use arbitrary::{Arbitrary, Unstructured};
    let mut data = vec![1];
    data.extend_from_slice(&5u16.to_le_bytes());
    data.push(0);
    data.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let x = fuzz_http::Exchange::arbitrary(&mut Unstructured::new(&data)).unwrap();
    assert_eq!(x.splits, [5]);
    assert_eq!(x.bytes, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        fuzz_http::model(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET"),
        Some(1)
    );
    assert_eq!(
        fuzz_http::model(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
        Some(1)
    );
    assert_eq!(
        fuzz_http::model(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nab"),
        Some(0)
    );
    // Every split of a pipelined stream gives the model's count.
    let req =
        b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n";
    for at in 0..req.len() as u16 {
        fuzz_http::check_exchange(&fuzz_http::Exchange {
            splits: vec![at, at / 2],
            bytes: req.to_vec(),
        });
    }
}

/// Found by the http_request fuzz target: a request refused after a HEAD
/// on the same connection got the HEAD's treatment — a Content-Length
/// and no body — so the client lost the framing.
#[test]
fn a_refusal_after_head_keeps_its_body() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        c.send(b"HEAD /test HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(c.read_reply_to(true).unwrap().status, 200);
        c.send(b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n");
        let r = c.read_reply();
        assert_eq!(r.status, 400);
        assert!(
            String::from_utf8(r.body)
                .unwrap()
                .contains("400 Bad Request")
        );
        assert!(c.closed());
    });
}

// ---------------------------------------------------------------------------
// A connection's life seen from the server: close detection, incomplete
// requests, read and write timeouts (regress_http.c's `close_detection*`,
// `incomplete*`, `timeout_read_server`, `bad_request`,
// `request_extra_body`, `write_during_read`, `multi_line_header`,
// `basic_trailing_space`).

/// The server's connection count, published by a 2 ms timer on the
/// server's base for the client thread to watch.
fn watch_connections(base: &mut EventBase, http: Http, count: Arc<AtomicUsize>) {
    let ev = Event::new(base, None, Ev::PERSIST, move |base, _, _, _| {
        count.store(http.connection_count(base).unwrap(), Ordering::SeqCst);
    })
    .unwrap();
    ev.add(base, Some(Duration::from_millis(2))).unwrap();
}

/// Whether `count` reads `want` within `within`.
fn becomes(count: &AtomicUsize, want: usize, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if count.load(Ordering::SeqCst) == want {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    false
}

/// `close_detection`: a keep-alive client that goes quiet is closed by
/// the server's read timeout, and one that closes is noticed — either
/// way the server holds no connection after.
#[test]
fn close_detection() {
    let count = Arc::new(AtomicUsize::new(usize::MAX));
    let seen = count.clone();
    serve(
        move |base, http| {
            routes(base, http);
            let t = Some(Duration::from_millis(100));
            http.set_timeouts(base, t, t).unwrap();
            watch_connections(base, http, seen);
        },
        move |addr| {
            // Quiet: the server's read timeout closes it.
            let mut c = Client::connect(addr);
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
            assert!(becomes(&count, 1, Duration::from_secs(2)));
            let start = Instant::now();
            assert!(c.closed());
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(50), "{waited:?}");
            assert!(waited < Duration::from_secs(2), "{waited:?}");
            assert!(becomes(&count, 0, Duration::from_secs(2)));
            // Gone: the client closes after its answer.
            let mut c = Client::connect(addr);
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
            assert!(becomes(&count, 1, Duration::from_secs(2)));
            drop(c);
            assert!(becomes(&count, 0, Duration::from_millis(80)));
        },
    );
}

/// `close_detection_delay`: the client closes while its request waits
/// for an answer made later; the late answer is harmless and the
/// connection is gone after it.
#[test]
fn close_detection_while_a_request_waits() {
    let count = Arc::new(AtomicUsize::new(usize::MAX));
    let seen = count.clone();
    let answered = Arc::new(AtomicUsize::new(0));
    let a = answered.clone();
    serve(
        move |base, http| {
            http.set_gencb(base, move |base, req| {
                let a = a.clone();
                let t = Event::timer(base, move |base, ev, _, _| {
                    let body = req.output_buffer(base).map(|b| b.add(b"late").is_ok());
                    let sent = req.send_reply(base, 200, None, None);
                    assert!(matches!(body, Ok(true)) && sent.is_ok());
                    a.fetch_add(1, Ordering::SeqCst);
                    ev.free(base).unwrap();
                })
                .unwrap();
                t.add(base, Some(Duration::from_millis(30))).unwrap();
            })
            .unwrap();
            watch_connections(base, http, seen);
        },
        move |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /largedelay HTTP/1.1\r\nHost: a\r\n\r\n");
            assert!(becomes(&count, 1, Duration::from_secs(2)));
            drop(c);
            assert!(becomes(&count, 0, Duration::from_secs(2)));
            assert_eq!(answered.load(Ordering::SeqCst), 1);
        },
    );
}

/// `incomplete`: half a head and then EOF — the server closes at once,
/// answering nothing.
#[test]
fn incomplete_request_then_eof_closes_at_once() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        let start = Instant::now();
        c.send(b"GET /test HTTP/1.1\r\nHost: somehost\r\n");
        c.stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(c.closed());
        assert!(start.elapsed() < Duration::from_secs(1));
    });
}

/// `incomplete_timeout`: half a head and then silence — the read timeout
/// closes the connection, answering nothing.
#[test]
fn incomplete_request_times_out() {
    serve(
        |base, http| {
            routes(base, http);
            let t = Some(Duration::from_millis(100));
            http.set_timeouts(base, t, t).unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            let start = Instant::now();
            c.send(b"GET /test HTTP/1.1\r\nHost: somehost\r\n");
            assert!(c.closed());
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(50), "{waited:?}");
            assert!(waited < Duration::from_secs(2), "{waited:?}");
        },
    );
}

/// `timeout_read_server`: a body arriving after the (shorter) write
/// timeout but within the read timeout is still read and answered.
#[test]
fn timeout_read_server_waits_for_the_body() {
    serve(
        |base, http| {
            http.set_gencb(base, |base, req| {
                let body = req.input_buffer(base).unwrap().len().to_string();
                reply(base, req, body.as_bytes());
            })
            .unwrap();
            http.set_timeouts(
                base,
                Some(Duration::from_millis(500)),
                Some(Duration::from_millis(100)),
            )
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"POST /postit HTTP/1.1\r\nHost: somehost\r\nContent-Length: 11\r\n\r\n");
            thread::sleep(Duration::from_millis(200));
            c.send(b"Okay. Okay.");
            let r = c.read_reply();
            assert_eq!((r.status, &r.body[..]), (200, &b"11"[..]));
        },
    );
}

/// `bad_request`: an empty request (connect, nothing, EOF) gets no
/// `400`, just a close; then, on a second bound socket, an HTTP/1.0
/// keep-alive request gets its normal answer.
#[test]
fn bad_request_an_empty_request_gets_no_400() {
    let second = Arc::new(std::sync::Mutex::new(None));
    let s = second.clone();
    serve(
        move |base, http| {
            routes(base, http);
            let b = http
                .bind(base, "127.0.0.1:0".parse().unwrap())
                .unwrap()
                .local_addr(base)
                .unwrap();
            *s.lock().unwrap() = Some(b);
        },
        move |addr| {
            let mut c = Client::connect(addr);
            c.stream.shutdown(std::net::Shutdown::Write).unwrap();
            assert!(c.closed(), "nothing, not a 400");
            let mut c = Client::connect(second.lock().unwrap().unwrap());
            c.send(b"GET /badrequest HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
            let r = c.read_reply();
            assert_eq!(r.status, 200);
            assert_eq!(r.header("connection"), Some("keep-alive"));
            assert!(r.header("content-type").is_some());
        },
    );
}

/// `request_extra_body`: a HEAD request with a large body is framed by
/// its Content-Length and answered with a head only.
#[test]
fn head_request_with_a_body() {
    serve(routes, |addr| {
        let body = b"this is the body that HEAD should not have".repeat(10_000);
        for path in ["/test", "/__gencb__"] {
            let mut c = Client::connect(addr);
            let mut req = format!(
                "HEAD {path} HTTP/1.1\r\nHost: somehost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend_from_slice(&body);
            let w = c.stream.try_clone().unwrap();
            let writer = thread::spawn(move || {
                let mut w = w;
                let _ = std::io::Write::write_all(&mut w, &req);
            });
            let r = c.read_reply_to(true).unwrap();
            assert_eq!(r.status, 200);
            assert!(r.header("content-length").is_some());
            assert!(c.closed(), "no body after a HEAD's head");
            writer.join().unwrap();
        }
    });
}

/// `write_during_read`: a client that writes more while it has not read
/// a large answer gets the whole answer; the server goes on serving.
#[test]
fn write_during_read() {
    serve(
        |base, http| {
            http.set_cb(base, "/large", |base, req| {
                let big = vec![b'x'; 1 << 20];
                reply(base, req, &big);
            })
            .unwrap();
            routes(base, http);
        },
        |addr| {
            let mut c = Client::connect(addr);
            c.send(b"GET /large HTTP/1.1\r\nHost: somehost\r\n\r\n");
            thread::sleep(Duration::from_millis(10));
            c.send(b"foobar");
            let r = c.read_reply();
            assert_eq!((r.status, r.body.len()), (200, 1 << 20));
            drop(c);
            let mut c = Client::connect(addr);
            c.send(b"GET /test HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(c.read_reply().status, 200);
        },
    );
}

/// `multi_line_header`: libevent joins folded lines; RFC 9112 §5.2 lets
/// a server refuse them instead, and rvent does (a `400`, then close).
#[test]
fn folded_header_lines_are_refused() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        c.send(
            b"GET /test HTTP/1.1\r\nHost: somehost\r\nX-Multi:  aaaaaaaa\r\n a\r\n\tEND\r\nX-Last: last\r\n\r\n",
        );
        assert_eq!(c.read_reply().status, 400);
        assert!(c.closed());
    });
}

/// `basic_trailing_space`: libevent accepts a space after the version;
/// the request line's grammar (RFC 9112 §3) has none, and rvent refuses
/// it, as hyper does.
#[test]
fn trailing_space_after_the_version_is_refused() {
    serve(routes, |addr| {
        let mut c = Client::connect(addr);
        c.send(b"GET /test HTTP/1.1 \r\nHost: somehost\r\n\r\n");
        assert_eq!(c.read_reply().status, 400);
        assert!(c.closed());
    });
}

/// A reply head far over any fixed buffer — 200 fields and a 20 KB value
/// — goes out whole and in order.
#[test]
fn a_large_reply_head_goes_out_whole() {
    serve(
        |base, http| {
            http.set_gencb(base, |base, req| {
                let h = req.output_headers(base).unwrap();
                for i in 0..200 {
                    h.add(format!("X-Field-{i}"), format!("value {i}")).unwrap();
                }
                h.add("X-Big", "b".repeat(20_000)).unwrap();
                reply(base, req, b"body");
            })
            .unwrap();
        },
        |addr| {
            let mut c = Client::connect(addr);
            for _ in 0..2 {
                c.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                let r = c.read_reply();
                assert_eq!((r.status, &r.body[..]), (200, &b"body"[..]));
                let fields: Vec<_> = r
                    .headers
                    .iter()
                    .filter(|(n, _)| n.starts_with("X-Field-"))
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect();
                assert_eq!(fields.len(), 200);
                assert_eq!(fields[199], ("X-Field-199".into(), "value 199".into()));
                assert_eq!(r.header("x-big").map(str::len), Some(20_000));
            }
        },
    );
}
