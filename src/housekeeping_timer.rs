//! The state of the base's housekeeping tick (`housekeeping.rs`): its
//! period and its timer descriptor. Below the base, which holds it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use crate::backend::{Backend, HOUSEKEEPING_TOKEN};
use crate::error::Result;
use crate::sys::timerfd;

/// The tick's period and descriptor (made on first start).
pub(crate) struct Housekeeping {
    /// `Config::set_idle_trim`; `None`: never tick.
    every: Option<Duration>,
    pub(crate) timer: Option<OwnedFd>,
    armed: bool,
}

impl Housekeeping {
    pub(crate) fn new(every: Option<Duration>) -> Housekeeping {
        Housekeeping {
            every,
            timer: None,
            armed: false,
        }
    }

    /// After `fork()`: a new timer registered with the rebuilt poller (the
    /// old one is shared with the parent), armed as before.
    pub(crate) fn rebuild(&mut self, backend: &mut Backend) -> Result<()> {
        if self.timer.take().is_none() {
            return Ok(());
        }
        let armed = std::mem::take(&mut self.armed);
        if armed {
            self.start(backend)?;
        }
        Ok(())
    }

    /// Starts ticking, unless configured off or ticking already.
    pub(crate) fn start(&mut self, backend: &mut Backend) -> Result<()> {
        let Some(every) = self.every else {
            return Ok(());
        };
        if self.armed {
            return Ok(());
        }
        let fd = match &self.timer {
            Some(fd) => fd,
            None => {
                let fd = timerfd::create()?;
                backend.register_internal(fd.as_raw_fd(), HOUSEKEEPING_TOKEN)?;
                self.timer.insert(fd)
            }
        };
        timerfd::set_periodic(fd, Some(every))?;
        self.armed = true;
        Ok(())
    }

    /// Stops ticking (keeps the descriptor for the next start).
    pub(crate) fn stop(&mut self) {
        if let Some(fd) = self.timer.as_ref().filter(|_| self.armed) {
            // Disarming a valid timerfd does not fail; if it did, the next
            // tick would find nothing to do and stop again.
            let _ = timerfd::set_periodic(fd, None);
            self.armed = false;
        }
    }

    /// Whether the tick runs.
    pub(crate) fn is_armed(&self) -> bool {
        self.armed
    }
}
