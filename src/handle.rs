//! The handles users hold: [`Event`] (an index into a base's slab with a
//! generation and the base's id) and [`CommonTimeout`]. Plain `Copy` data
//! that the base's state stores (the running event, queued notifier
//! commands), so they sit below the base; their methods live with the
//! operations in `event.rs`.

use std::fmt;
use std::time::Duration;

/// A handle to an event of one [`EventBase`](crate::EventBase) (libevent's `struct event *`).
///
/// Handles are plain indices: copying one does not copy the event, and a
/// handle to a freed event is stale (every call returns
/// [`Error::StaleEvent`](crate::Error::StaleEvent)). They are `Send`, so another thread can pass one
/// to [`Notifier::activate`](crate::Notifier::activate).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    pub(crate) idx: u32,
    pub(crate) generation: u32,
    pub(crate) base: u32,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({}v{}@{})", self.idx, self.generation, self.base)
    }
}

/// A common timeout of one base (`event_base_init_common_timeout`): events
/// added with it share one O(1) FIFO queue instead of the timer heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CommonTimeout {
    pub(crate) idx: u8,
    pub(crate) base: u32,
    pub(crate) duration: Duration,
}

impl CommonTimeout {
    /// The duration every event added with this timeout waits.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ct = base.init_common_timeout(Duration::from_secs(5))?;
    /// assert_eq!(ct.duration(), Duration::from_secs(5));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn duration(&self) -> Duration {
        self.duration
    }
}
