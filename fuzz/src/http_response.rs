//! The HTTP client under arbitrary bytes: three requests queued on an
//! `HttpConnection` over a bufferevent pair, answered by a response
//! stream split at arbitrary points, after which the server end closes.
//! Shared by the `http_response` fuzz target and by
//! `tests/http_client.rs`, which includes this file with `#[path]` and
//! replays the committed seeds on stable. Depends only on `rvent`,
//! `arbitrary` and std.
//!
//! Oracles: no panic; no stall (once the stream is in and the server end
//! has closed, a few loop turns end every request — the ones left after
//! the close connect to a refused address and fail); every request's
//! completion callback runs exactly once, its error callback at most
//! once and only just before a failed completion; a response to `HEAD`,
//! or one whose body was streamed, has an empty body; a streamed body
//! stays within the body limit.

use std::cell::RefCell;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use rvent::{
    BevOptions, Bufferevent, Ev, EventBase, FlushMode, HttpConnection, HttpRequest, LoopFlags,
    Method,
};

/// Input bytes beyond this are ignored (keeps runs fast).
pub const MAX_BYTES: usize = 1 << 16;
/// Requests queued per run.
const REQUESTS: usize = 3;
/// The body limit with [`Exchange::flags`] bit 4.
const SMALL_BODY: u64 = 64;
/// The head limit with [`Exchange::flags`] bit 4.
const SMALL_HEAD: usize = 256;

/// A response stream, where to split it and how to ask. A seed is the
/// flags byte, then the split points — each a `1` byte and a
/// little-endian `u16`, then a `0` byte, as `arbitrary` reads a `Vec` —
/// and then the stream, raw, to the end.
#[derive(Debug)]
pub struct Exchange {
    /// Bits 0–2: request 0–2 is `HEAD` (else `GET`); bit 3: request 1
    /// streams its body (a chunk callback); bit 4: small head and body
    /// limits.
    pub flags: u8,
    pub splits: Vec<u16>,
    pub bytes: Vec<u8>,
}

impl<'a> Arbitrary<'a> for Exchange {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let flags = u8::arbitrary(u)?;
        let splits = Vec::<u16>::arbitrary(u)?;
        let bytes = u.bytes(u.len())?.to_vec();
        Ok(Exchange {
            flags,
            splits,
            bytes,
        })
    }
}

/// What one request's callbacks saw.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    completions: u32,
    errors: u32,
    streamed: u64,
}

/// Runs `x` through a client and checks every request ended once.
pub fn check_exchange(x: &Exchange) {
    let bytes = &x.bytes[..x.bytes.len().min(MAX_BYTES)];
    let mut base = EventBase::new().unwrap();
    let (client, server) = Bufferevent::pair(&mut base, BevOptions::CLOSE_ON_FREE).unwrap();
    // After the server end closes, requests left connect here: refused.
    let conn = HttpConnection::with_bufferevent(&mut base, client, "127.0.0.1:1".parse().unwrap())
        .unwrap();
    let small = x.flags & 0x10 != 0;
    if small {
        conn.set_max_body_size(&mut base, SMALL_BODY).unwrap();
        conn.set_max_headers_size(&mut base, SMALL_HEAD).unwrap();
    }
    let seen: Rc<RefCell<[Seen; REQUESTS]>> = Rc::default();
    for i in 0..REQUESTS {
        let head = x.flags & (1 << i) != 0;
        let streams = i == 1 && x.flags & 0x08 != 0;
        let s = seen.clone();
        let mut req = HttpRequest::new(move |_base: &mut EventBase, r| {
            let mut s = s.borrow_mut();
            s[i].completions += 1;
            match r {
                Ok(mut r) => {
                    assert!((100..=999).contains(&r.code()), "code {}", r.code());
                    assert!(
                        !(100..200).contains(&r.code()),
                        "an interim response completed"
                    );
                    if head || streams {
                        assert_eq!(r.input_buffer().len(), 0, "a body for HEAD or streamed");
                    }
                    assert_eq!(s[i].errors, 0, "error callback before a response");
                }
                Err(_) => assert_eq!(s[i].errors, 1, "no error callback first"),
            }
        })
        .unwrap();
        let s = seen.clone();
        req.set_error_cb(move |_, _| {
            let mut s = s.borrow_mut();
            assert_eq!(s[i].completions, 0, "error callback after completion");
            s[i].errors += 1;
        })
        .unwrap();
        if streams {
            let s = seen.clone();
            req.set_chunked_cb(move |_, r| {
                let n = r.input_buffer().len();
                assert!(n > 0, "an empty chunk");
                s.borrow_mut()[i].streamed += n as u64;
            })
            .unwrap();
        }
        let method = if head { Method::Head } else { Method::Get };
        conn.make_request_with(&mut base, req, method, "/").unwrap();
    }
    server.enable(&mut base, Ev::READ | Ev::WRITE).unwrap();
    let mut cuts: Vec<usize> = x
        .splits
        .iter()
        .take(64)
        .map(|&s| usize::from(s) % (bytes.len() + 1))
        .collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut at = 0;
    for cut in cuts {
        if cut > at {
            let _ = server.write(&mut base, &bytes[at..cut]);
            at = cut;
        }
        turn(&mut base, server, 3);
    }
    turn(&mut base, server, 3);
    // The server end closes: the client sees the end of its stream.
    let _ = server.flush(&mut base, Ev::READ | Ev::WRITE, FlushMode::Finished);
    let done =
        |seen: &Rc<RefCell<[Seen; REQUESTS]>>| seen.borrow().iter().all(|s| s.completions == 1);
    for _ in 0..64 {
        if done(&seen) {
            break;
        }
        // A refused loopback connect is ready at the next poll.
        turn(&mut base, server, 1);
    }
    turn(&mut base, server, 4);
    let seen_now = *seen.borrow();
    for (i, s) in seen_now.iter().enumerate() {
        assert_eq!(s.completions, 1, "request {i}: {seen_now:?}");
        if small {
            assert!(
                s.streamed <= SMALL_BODY,
                "request {i} streamed past the limit"
            );
        }
    }
    conn.free(&mut base).unwrap();
    let _ = server.free(&mut base);
    assert_eq!(Rc::strong_count(&seen), 1, "a callback was not released");
}

/// Runs the loop `n` turns, discarding what the server end received
/// (the requests).
fn turn(base: &mut EventBase, server: Bufferevent, n: usize) {
    for _ in 0..n {
        base.run(LoopFlags::NONBLOCK).unwrap();
        if let Ok(input) = server.input(base) {
            let len = input.len();
            let _ = input.drain(len);
        }
    }
}

/// Replays one input (a committed seed) the way the fuzz target runs it.
pub fn replay(data: &[u8]) {
    if let Ok(x) = Exchange::arbitrary(&mut Unstructured::new(data)) {
        check_exchange(&x);
    }
}
