//! [`RequestState`]: the storage one request in flight needs — its head,
//! body reader and buffers, the reply's fields and body, the routing
//! path — lent to a connection while it has a request and kept on the
//! table's spare list otherwise.
//!
//! An idle keep-alive connection is most of what a busy server holds, so
//! it holds no request storage: its record keeps the bufferevent and a
//! few words. When bytes arrive the connection takes a state from the
//! spare list (or makes one); when its reply is out and nothing more
//! waits it gives the state back, its blocks intact. A server answering
//! as it reads needs one state however many connections it has, and
//! taking and giving back allocate nothing, so a warm keep-alive request
//! still makes no call to the memory functions.

use crate::buffer::Evbuffer;
use crate::error::Result;
use crate::mem::{self, MemVec, Pool};

use super::body::BodyReader;
use super::headers::Headers;
use super::parse::{Framing, Head};

/// Spare states kept for reuse; more are freed (their blocks go back to
/// the memory functions). Requests kept by their callbacks each hold a
/// state; once they are answered the spares shrink back to this.
pub(super) const MAX_SPARE_STATES: usize = 16;

/// How a reply's body is delimited on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyFraming {
    /// `Content-Length` (rvent's, or the user's field).
    Length,
    /// `Transfer-Encoding: chunked` (a stream on HTTP/1.1).
    Chunked,
    /// Ended by closing the connection (a stream on HTTP/1.0).
    Close,
}

/// A streamed reply under way (`evhttp_send_reply_start` … `_end`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stream {
    pub(super) framing: BodyFraming,
    /// No body goes out (HEAD, 1xx, 204, 304): chunks are dropped.
    pub(super) head_only: bool,
    pub(super) keep_alive: bool,
}

/// One request's working storage.
pub(super) struct RequestState {
    pub(super) head: Head,
    pub(super) body: BodyReader,
    /// The request body.
    pub(super) input: Evbuffer,
    /// The reply body.
    pub(super) output: Evbuffer,
    pub(super) out_headers: Headers,
    /// The decoded path, for routing.
    pub(super) path: MemVec<u8>,
    /// A streamed reply under way.
    pub(super) stream: Option<Stream>,
}

/// A state in a block of the pool: moved between connections and the
/// spare list as one pointer.
pub(super) type StateBox = allocator_api2::boxed::Box<RequestState, Pool>;

impl RequestState {
    /// A state in a block of its own; its parts allocate on first use.
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc).
    pub(super) fn new_box() -> Result<StateBox> {
        mem::pool_box(RequestState {
            head: Head::default(),
            body: BodyReader::new(Framing::None),
            input: Evbuffer::new(),
            output: Evbuffer::new(),
            out_headers: Headers::new(),
            path: mem::vec(),
            stream: None,
        })
    }

    /// Ready for the next request, keeping every block.
    pub(super) fn reset(&mut self) {
        self.stream = None;
        self.out_headers.clear();
        let n = self.input.len();
        let _ = self.input.drain(n);
        let n = self.output.len();
        let _ = self.output.drain(n);
    }
}
