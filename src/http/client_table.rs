//! A base's HTTP client connections: records in a slab of the base's
//! HTTP table (beside the servers'), reached through
//! [`HttpConnection`](super::HttpConnection) handles checked by
//! generation.
//!
//! A record holds the address, the bufferevent while connected, the
//! queue of requests (each its bytes and its completion callback) and
//! the storage of the response being read — head, body reader, body —
//! kept from response to response, so a warm keep-alive connection reads
//! a response without allocating.

use std::net::SocketAddr;
use std::time::Duration;

use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::bufferevent::Bufferevent;
use crate::error::Result;
use crate::mem::{self, MemVec, Pool};

use super::body::BodyReader;
use super::client_response::Response;
use super::parse::{Framing, Limits};
use super::request_error::HttpRequestError;
use super::response::ResponseHead;

/// A request's completion callback, run once.
pub(super) type CompleteFn<X> = allocator_api2::boxed::Box<
    dyn FnMut(&mut EventBase<X>, std::result::Result<Response<'_>, HttpRequestError>),
    Pool,
>;

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

/// One queued request.
pub(super) struct ClientRequest<X: BaseExt> {
    /// The request head and body as they go on the wire.
    pub(super) bytes: Evbuffer,
    /// A `HEAD` request: its response has no body.
    pub(super) to_head: bool,
    /// The request asked the server to close after answering.
    pub(super) close: bool,
    pub(super) cb: CompleteFn<X>,
}

/// Where a client connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClientPhase {
    /// No request in flight.
    Idle,
    /// The front request is written; its response head is awaited.
    Head,
    /// Reading the front request's response body.
    Body,
}

/// libevent's read and write timeouts of client connections.
pub(super) const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(50);

/// One client connection's state.
pub(super) struct ClientRec<X: BaseExt> {
    pub(super) addr: SocketAddr,
    /// `None` until the first request, and after each close.
    pub(super) bev: Option<Bufferevent>,
    pub(super) phase: ClientPhase,
    /// In order; the front one is in flight unless `Idle`.
    pub(super) queue: MemVec<ClientRequest<X>>,
    pub(super) limits: Limits,
    pub(super) read_timeout: Option<Duration>,
    pub(super) write_timeout: Option<Duration>,
    pub(super) head: ResponseHead,
    pub(super) reader: BodyReader,
    pub(super) body: Evbuffer,
}

impl<X: BaseExt> ClientRec<X> {
    pub(super) fn new(addr: SocketAddr, limits: Limits) -> ClientRec<X> {
        ClientRec {
            addr,
            bev: None,
            phase: ClientPhase::Idle,
            queue: mem::vec(),
            limits,
            read_timeout: Some(DEFAULT_CLIENT_TIMEOUT),
            write_timeout: Some(DEFAULT_CLIENT_TIMEOUT),
            head: ResponseHead::default(),
            reader: BodyReader::new(Framing::None),
            body: Evbuffer::new(),
        }
    }
}
