//! The handles of the HTTP layer: [`Http`] (a server), [`Request`] (a
//! request awaiting its reply), `ConnId` (a connection, inside the
//! layer), [`HttpConnection`] (a client connection) and [`QueuedRequest`]
//! (a request made on one).
//!
//! They are plain indexes into the base's HTTP table checked by
//! generation, defined here apart from their methods so that every file
//! of the layer can name them without naming the files that act on them:
//! the server's methods are in `server`, the request's in `request`, and
//! the table, the connection and the reply code refer to the handles
//! only. This file imports nothing of the crate.

use std::fmt;

/// An HTTP server on a base (libevent's `struct evhttp`).
///
/// A `Copy` handle into the base's HTTP table, checked by generation like
/// every rvent handle: after [`free`](Self::free) (or with another base)
/// calls return [`Error::StaleHttp`](crate::Error::StaleHttp). Callbacks
/// get `&mut EventBase` and the [`Request`]; they may reply at once or
/// keep the request handle and reply later (from a timer, another
/// connection's callback…), since a request lives until its reply is sent
/// or its connection ends — libevent's `evhttp_request_own` is not
/// needed.
///
/// # Examples
/// ```
/// use rvent::{EventBase, Http};
///
/// let mut base = EventBase::new()?;
/// let http = Http::new(&mut base)?;
/// http.set_cb(&mut base, "/hello", |base, req| {
///     req.output_buffer(base).unwrap().add(b"Hello\n").unwrap();
///     req.send_reply(base, 200, None, None).unwrap();
/// })?;
/// let bound = http.bind(&mut base, "127.0.0.1:0".parse().unwrap())?;
/// assert_ne!(bound.local_addr(&base)?.port(), 0);
/// http.free(&mut base)?;
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "evhttp")]
pub struct Http {
    pub(super) idx: u32,
    pub(super) generation: u32,
    pub(super) base: u32,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Http({}v{})", self.idx, self.generation)
    }
}

/// A connection's handle inside the layer: slab index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ConnId {
    pub(super) idx: u32,
    pub(super) generation: u32,
}

/// A request on a server connection, from its callback until its reply
/// (libevent's `struct evhttp_request *`).
///
/// A `Copy` handle checked by generation: once the reply is sent, or the
/// connection is gone, every call returns
/// [`Error::StaleRequest`](crate::Error::StaleRequest). Keep it to reply
/// later — from a timer, another connection's callback — without
/// libevent's `evhttp_request_own`: the request lives until it is
/// answered or its connection closes, and reading from the connection
/// waits meanwhile.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "evhttp_request")]
pub struct Request {
    pub(super) conn: u32,
    pub(super) conn_generation: u32,
    pub(super) serial: u32,
    pub(super) base: u32,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Request({}v{}#{})",
            self.conn, self.conn_generation, self.serial
        )
    }
}

impl Request {
    /// The handle of request number `serial` on connection `id` of base
    /// `base`.
    pub(super) fn new(id: ConnId, serial: u32, base: u32) -> Request {
        Request {
            conn: id.idx,
            conn_generation: id.generation,
            serial,
            base,
        }
    }

    /// Its connection.
    pub(super) fn conn_id(self) -> ConnId {
        ConnId {
            idx: self.conn,
            generation: self.conn_generation,
        }
    }
}

/// An HTTP/1.1 client connection to one server (libevent's
/// `struct evhttp_connection`).
///
/// A `Copy` handle checked by generation: after [`free`](Self::free)
/// (or with another base) calls return
/// [`Error::StaleHttp`](crate::Error::StaleHttp). Each request's
/// completion callback runs exactly once: with the [`Response`](super::Response), or
/// with the [`HttpRequestError`](super::HttpRequestError) that ended it.
///
/// # Examples
/// ```
/// use rvent::{EventBase, Headers, HttpConnection, Method};
///
/// let mut base = EventBase::new()?;
/// let conn = HttpConnection::new(&mut base, "127.0.0.1:9".parse().unwrap())?;
/// conn.make_request(&mut base, Method::Get, "/", &Headers::new(), None, |_, r| {
///     println!("{:?}", r.map(|resp| resp.code()));
/// })?;
/// conn.free(&mut base)?; // the callback gets Err(Cancelled)
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[doc(alias = "evhttp_connection")]
pub struct HttpConnection {
    pub(super) idx: u32,
    pub(super) generation: u32,
    pub(super) base: u32,
}

/// A request queued on an [`HttpConnection`] until its completion
/// callback runs: what [`cancel`](Self::cancel) names (libevent's
/// `struct evhttp_request *` given to `evhttp_cancel_request`).
///
/// A `Copy` handle: once the request has completed, failed or been
/// cancelled, calls return
/// [`Error::StaleRequest`](crate::Error::StaleRequest).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct QueuedRequest {
    pub(super) conn: HttpConnection,
    pub(super) serial: u32,
}
