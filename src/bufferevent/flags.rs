//! The flag sets and modes of the bufferevent API (`BEV_EVENT_*`,
//! `BEV_OPT_*`, `BEV_TRIG_*`, `enum bufferevent_flush_mode`), with
//! libevent's values.

use crate::flags::flag_set;

/// Default cap of one read or write (`bufferevent_set_max_single_read`).
pub const DEFAULT_MAX_SINGLE_IO: usize = 16 * 1024;

flag_set! {
    /// What happened, for the event callback (`BEV_EVENT_*`, libevent's
    /// values): a direction and a condition.
    #[doc(alias = "BEV_EVENT_EOF")]
    pub struct BevEvent: u16 {
        /// While reading (`BEV_EVENT_READING`).
        const READING = 0x01;
        /// While writing (`BEV_EVENT_WRITING`).
        const WRITING = 0x02;
        /// End of file (`BEV_EVENT_EOF`).
        const EOF = 0x10;
        /// An error; see
        /// [`Bufferevent::socket_error`](super::Bufferevent::socket_error)
        /// (`BEV_EVENT_ERROR`).
        const ERROR = 0x20;
        /// A read or write timeout expired (`BEV_EVENT_TIMEOUT`).
        const TIMEOUT = 0x40;
        /// A connect finished (`BEV_EVENT_CONNECTED`).
        const CONNECTED = 0x80;
    }
}

flag_set! {
    /// Options of a new bufferevent (`BEV_OPT_*`).
    #[doc(alias = "BEV_OPT_CLOSE_ON_FREE")]
    pub struct BevOptions: u8 {
        /// Close the socket (free the underlying bufferevent) on free.
        /// [`Bufferevent::from_stream`](super::Bufferevent::from_stream),
        /// which takes the socket's ownership, always adds it.
        const CLOSE_ON_FREE = 0x01;
        /// Accepted for compatibility; a base is single-threaded, so there
        /// is nothing to lock ([module docs](crate::bufferevent#threads-and-locks)).
        const THREADSAFE = 0x02;
        /// Run callbacks from the loop instead of inside the I/O that
        /// caused them; event flags are OR-ed between runs.
        const DEFER_CALLBACKS = 0x04;
        /// Accepted for compatibility, like `THREADSAFE`.
        const UNLOCK_CALLBACKS = 0x08;
    }
}

flag_set! {
    /// Options of [`Bufferevent::trigger`](super::Bufferevent::trigger)
    /// (`BEV_TRIG_*`).
    pub struct TriggerOptions: u8 {
        /// Run the callback whatever the watermarks say.
        const IGNORE_WATERMARKS = 0x01;
        /// Run the callback from the loop.
        const DEFER_CALLBACKS = 0x02;
    }
}

/// How hard [`Bufferevent::flush`](super::Bufferevent::flush) pushes
/// (`bufferevent_flush_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(alias = "bufferevent_flush_mode")]
pub enum FlushMode {
    /// Process as convenient (`BEV_NORMAL`).
    Normal,
    /// Push everything through, ignoring watermarks (`BEV_FLUSH`).
    Flush,
    /// Flush and signal the end of the stream (`BEV_FINISHED`).
    Finished,
}
