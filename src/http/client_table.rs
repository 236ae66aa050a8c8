//! A base's HTTP client connections: records in a slab of the base's
//! HTTP table (beside the servers'), reached through
//! [`HttpConnection`](super::HttpConnection) handles checked by
//! generation.
//!
//! A record holds where to connect (an address or a host name), the
//! bufferevent while there is a socket, the settings (timeouts, retries,
//! local address, limits), the queue of requests (each its bytes and its
//! callbacks) and the storage kept from request to request — the
//! buffer a request is written into, the response's head, body reader
//! and body — so a warm keep-alive connection makes a request and reads
//! its response without allocating.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::bufferevent::{AddressFamily, Bufferevent};
use crate::error::Result;
use crate::flags::flag_set;
use crate::handle::Event;
use crate::mem::{self, MemVec, Pool};

use super::body::BodyReader;
use super::client_response::Response;
use super::handle::HttpConnection;
use super::parse::{Framing, Limits};
use super::request_error::HttpRequestError;
use super::response::ResponseHead;

flag_set! {
    /// How a client connection behaves (`evhttp_connection_set_flags`,
    /// `EVHTTP_CON_*`).
    #[doc(alias = "evhttp_connection_set_flags")]
    pub struct HttpConnectionFlags: u32 {
        /// Once a connection to a host name has connected, reconnect to
        /// the address it connected to instead of looking the name up
        /// again (`EVHTTP_CON_REUSE_CONNECTED_ADDR`).
        #[doc(alias = "EVHTTP_CON_REUSE_CONNECTED_ADDR")]
        const REUSE_CONNECTED_ADDR = 1 << 0;
        /// When writing a request fails — the server answered early
        /// and closed, as to an upload it refuses — read its answer
        /// instead of failing the request
        /// (`EVHTTP_CON_READ_ON_WRITE_ERROR`).
        #[doc(alias = "EVHTTP_CON_READ_ON_WRITE_ERROR")]
        const READ_ON_WRITE_ERROR = 1 << 1;
    }
}

/// A request's completion callback, run once.
pub(super) type CompleteFn<X> = allocator_api2::boxed::Box<
    dyn FnMut(&mut EventBase<X>, std::result::Result<Response<'_>, HttpRequestError>),
    Pool,
>;

/// A request's error callback: runs before the completion callback when
/// the request fails.
pub(super) type ErrorFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, HttpRequestError), Pool>;

/// A request's header callback: the response head has arrived.
pub(super) type HeaderFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, &Response<'_>), Pool>;

/// A request's chunk callback: body bytes have arrived (in the
/// response's input buffer, drained after it).
pub(super) type ChunkFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, &mut Response<'_>), Pool>;

/// A connection's close callback.
pub(super) type CloseFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, HttpConnection), Pool>;

/// Boxes a run-once completion callback in the pool.
pub(super) fn complete_fn<X: BaseExt, F>(f: F) -> Result<CompleteFn<X>>
where
    F: FnOnce(&mut EventBase<X>, std::result::Result<Response<'_>, HttpRequestError>) + 'static,
{
    let mut f = Some(f);
    let g = move |base: &mut EventBase<X>,
                  r: std::result::Result<Response<'_>, HttpRequestError>| {
        if let Some(f) = f.take() {
            f(base, r);
        }
    };
    Ok(allocator_api2::unsize_box!(mem::pool_box(g)?))
}

/// A request's callbacks.
pub(super) struct Callbacks<X: BaseExt> {
    pub(super) complete: Option<CompleteFn<X>>,
    pub(super) error: Option<ErrorFn<X>>,
    pub(super) header: Option<HeaderFn<X>>,
    pub(super) chunk: Option<ChunkFn<X>>,
}

/// One queued request.
pub(super) struct Queued<X: BaseExt> {
    /// Its number on the connection, which its
    /// [`QueuedRequest`](super::QueuedRequest) handle names.
    pub(super) serial: u32,
    /// The request head and body as they go on the wire.
    pub(super) bytes: Evbuffer,
    /// A `HEAD` request: its response has no body.
    pub(super) to_head: bool,
    /// The request asked the server to close after answering.
    pub(super) close: bool,
    pub(super) cbs: Callbacks<X>,
}

/// Where a client connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClientPhase {
    /// No request in flight (connected or not).
    Idle,
    /// A socket is connecting (or its host name being looked up); the
    /// front request goes out once it has connected.
    Connecting,
    /// A connect failed; the retry timer is armed.
    Retrying,
    /// The front request is written; its response head is awaited.
    Head,
    /// Reading the front request's response body.
    Body,
}

/// Where a connection connects.
pub(super) enum Peer {
    Addr(SocketAddr),
    /// A host name (UTF-8) and port, looked up at each connect.
    Host {
        name: MemVec<u8>,
        port: u16,
    },
}

/// libevent's connect timeout of client connections
/// (`HTTP_CONNECT_TIMEOUT`).
pub(super) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// libevent's read and write timeouts of client connections
/// (`HTTP_READ_TIMEOUT`, `HTTP_WRITE_TIMEOUT`).
pub(super) const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(50);

/// libevent's first delay before a connect is retried
/// (`HTTP_INITIAL_RETRY_TIMEOUT`).
pub(super) const DEFAULT_INITIAL_RETRY: Duration = Duration::from_secs(2);

/// The longest delay between retries (libevent's cap, one hour).
pub(super) const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// Connect retries.
pub(super) struct Retry {
    /// How many retries after a failed connect; `None`: without end.
    pub(super) max: Option<u32>,
    /// Failed connects since the last success.
    pub(super) count: u32,
    pub(super) initial: Duration,
    /// Made at the first retry, freed with the connection.
    pub(super) timer: Option<Event>,
}

impl Retry {
    /// The delay before retry number `count + 1`: the initial delay
    /// doubled `count` times, at most an hour (libevent's schedule).
    pub(super) fn delay(&self) -> Duration {
        let mut d = self.initial;
        for _ in 0..self.count {
            d = d.saturating_mul(2);
            if d > MAX_RETRY_DELAY {
                return MAX_RETRY_DELAY;
            }
        }
        d
    }

    /// Whether another retry is allowed.
    pub(super) fn left(&self) -> bool {
        self.max.is_none_or(|m| self.count < m)
    }
}

/// A connection's record in its own pool block, so that taking it out
/// of the table to work on it moves a pointer, not the record.
pub(super) type ClientBox<X> = allocator_api2::boxed::Box<ClientRec<X>, Pool>;

/// One client connection's state.
pub(super) struct ClientRec<X: BaseExt> {
    pub(super) peer: Peer,
    /// `Host: …\r\n`, sent unless a request has its own.
    pub(super) host_line: MemVec<u8>,
    /// The address the last connect reached.
    pub(super) connected_addr: Option<SocketAddr>,
    /// `None` until the first request, and after each close.
    pub(super) bev: Option<Bufferevent>,
    /// A socket bufferevent given without a socket
    /// ([`HttpConnection::with_bufferevent`](super::HttpConnection::with_bufferevent)):
    /// the first connect uses it.
    pub(super) unconnected: Option<Bufferevent>,
    pub(super) phase: ClientPhase,
    /// In order; the front one is in flight in `Head` and `Body`.
    pub(super) queue: MemVec<Queued<X>>,
    pub(super) next_serial: u32,
    pub(super) limits: Limits,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) read_timeout: Option<Duration>,
    pub(super) write_timeout: Option<Duration>,
    pub(super) retry: Retry,
    pub(super) flags: HttpConnectionFlags,
    pub(super) local_ip: Option<IpAddr>,
    pub(super) local_port: u16,
    /// The addresses a host name's lookup may give.
    pub(super) family: AddressFamily,
    /// Free the connection once its queue is empty.
    pub(super) free_on_completion: bool,
    pub(super) close_cb: Option<CloseFn<X>>,
    pub(super) head: ResponseHead,
    pub(super) reader: BodyReader,
    pub(super) body: Evbuffer,
    /// A sent request's emptied buffer, kept (with its chain) for the
    /// next request's bytes.
    pub(super) spare_bytes: Evbuffer,
    /// Body bytes of the current response so far (close-delimited
    /// bodies are checked against the limit with it).
    pub(super) body_read: u64,
}

impl<X: BaseExt> ClientRec<X> {
    pub(super) fn new(peer: Peer, host_line: MemVec<u8>, limits: Limits) -> ClientRec<X> {
        ClientRec {
            peer,
            host_line,
            connected_addr: None,
            bev: None,
            unconnected: None,
            phase: ClientPhase::Idle,
            queue: mem::vec(),
            next_serial: 0,
            limits,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            read_timeout: Some(DEFAULT_CLIENT_TIMEOUT),
            write_timeout: Some(DEFAULT_CLIENT_TIMEOUT),
            retry: Retry {
                max: Some(0),
                count: 0,
                initial: DEFAULT_INITIAL_RETRY,
                timer: None,
            },
            flags: HttpConnectionFlags::empty(),
            local_ip: None,
            local_port: 0,
            family: AddressFamily::Any,
            free_on_completion: false,
            close_cb: None,
            head: ResponseHead::default(),
            reader: BodyReader::new(Framing::None),
            body: Evbuffer::new(),
            spare_bytes: Evbuffer::new(),
            body_read: 0,
        }
    }

    /// The front request, if it is in flight.
    pub(super) fn in_flight(&self) -> Option<&Queued<X>> {
        match self.phase {
            ClientPhase::Head | ClientPhase::Body => self.queue.first(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_an_hour() {
        let mut r = Retry {
            max: Some(3),
            count: 0,
            initial: Duration::from_millis(1500),
            timer: None,
        };
        let mut got = Vec::new();
        while r.left() {
            got.push(r.delay());
            r.count += 1;
        }
        assert_eq!(got, [1500, 3000, 6000].map(Duration::from_millis).to_vec());
        r.count = 20;
        assert_eq!(r.delay(), MAX_RETRY_DELAY);
        r.max = None;
        assert!(r.left());
    }
}
