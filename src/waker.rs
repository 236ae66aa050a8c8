//! The descriptor that wakes a base's loop from another thread: mio's
//! `Waker` on epoll (an eventfd registered edge-triggered), an eventfd of
//! rvent's own on poll, which has no edge trigger, so the loop drains it
//! when it fires. Below the notifier, which holds it.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::backend::{Backend, Poller, WAKER_TOKEN};
use crate::error::Result;
use crate::sys::eventfd;

/// A base's cross-thread wake-up.
pub(crate) enum Waker {
    Epoll(mio::Waker),
    Poll(OwnedFd),
}

impl Waker {
    /// A waker registered with `backend` under [`WAKER_TOKEN`].
    pub fn new(backend: &mut Backend) -> Result<Waker> {
        if let Poller::Epoll(p) = &backend.poller {
            return Ok(Waker::Epoll(mio::Waker::new(p.registry(), WAKER_TOKEN)?));
        }
        let fd = eventfd::create()?;
        backend.register_internal(fd.as_raw_fd(), WAKER_TOKEN)?;
        Ok(Waker::Poll(fd))
    }

    /// Makes the loop's wait return.
    pub fn wake(&self) -> io::Result<()> {
        match self {
            Waker::Epoll(w) => w.wake(),
            Waker::Poll(fd) => eventfd::signal(fd.as_raw_fd()),
        }
    }

    /// The loop saw the wake-up: on poll, stops it reporting again.
    pub fn reset(&self) {
        if let Waker::Poll(fd) = self {
            eventfd::drain(fd.as_raw_fd());
        }
    }
}
