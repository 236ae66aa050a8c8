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
        })
    }

    /// Ready for the next request, keeping every block.
    pub(super) fn reset(&mut self) {
        self.out_headers.clear();
        let n = self.input.len();
        let _ = self.input.drain(n);
        let n = self.output.len();
        let _ = self.output.drain(n);
    }
}
