//! The base's housekeeping tick: a periodic kernel timer (`timerfd`)
//! registered with the poller under its own token, on which the layers
//! above the core give back memory that idle objects keep
//! ([`BaseExt::housekeeping`]; the bufferevent layer releases the chain
//! lists of buffers that stayed empty since the previous tick). When the
//! layers report the base quiet, the core gives back what the loop itself
//! keeps for the next burst: the thread's pool cache (chains and boxes
//! kept for the next reads) goes back to the memory functions, and a
//! poll-result array that a burst grew shrinks to its initial size. A
//! quiet base thus holds what its objects need and nothing more; a busy
//! one never sees a quiet tick, so its steady state makes no calls.
//!
//! Why a descriptor and not an event: the tick must neither keep the loop
//! alive (a base whose only pending thing is its tick has nothing to do,
//! and `dispatch` returns), nor show in the event counts, nor cost the
//! loop anything per iteration. An entry in the timer heap would make
//! every iteration read the clock; the descriptor only shows in the poll
//! results when it expires, among the internal tokens the loop already
//! sets apart. The period is [`Config::set_idle_trim`]; the layers start
//! the tick when they first need it and stop it when nothing is left to
//! watch.

use std::os::fd::AsRawFd;

use crate::base::{BaseExt, EventBase};
#[cfg(doc)]
use crate::config::Config;
use crate::error::Result;
use crate::mem;
use crate::sys::timerfd;

impl<X: BaseExt> EventBase<X> {
    /// Starts the housekeeping tick (for a layer that has something to
    /// watch); nothing if [`Config::set_idle_trim`] turned it off or it
    /// runs already.
    ///
    /// # Errors
    /// [`Error::Io`](crate::error::Error::Io) if the timer cannot be made
    /// or registered (out of descriptors): the base works on without
    /// housekeeping, so callers may ignore it.
    pub(crate) fn start_housekeeping(&mut self) -> Result<()> {
        self.housekeeping.start(&mut self.backend)
    }

    /// Stops the tick: nothing is left to watch.
    pub(crate) fn stop_housekeeping(&mut self) {
        self.housekeeping.stop();
    }

    /// The tick expired (its token was among the poll results): consume
    /// it and let the layers do their housekeeping; if they found the
    /// base quiet, give back the pool cache and the grown poll array.
    #[cold]
    #[inline(never)]
    pub(crate) fn run_housekeeping(&mut self) {
        let Some(fd) = &self.housekeeping.timer else {
            return;
        };
        if timerfd::take_expirations(fd.as_raw_fd()) == 0 {
            return;
        }
        if X::housekeeping(self) {
            mem::release_pool_cache();
            self.backend.shrink_events();
        }
    }
}
