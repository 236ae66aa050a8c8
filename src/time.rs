//! Time: the base's monotonic clock and the per-iteration time cache
//! (`event_base_gettimeofday_cached`, `event_base_update_cache_time`).
//!
//! Deadlines are nanoseconds of `CLOCK_MONOTONIC`, the clock
//! [`Instant`] uses, so converting to `Instant` for users is exact.
//! rvent always uses the precise clock (libevent's `PRECISE_TIMER`); its
//! default `CLOCK_MONOTONIC_COARSE` ticks only every 1–10 ms.
//!
//! The cache is filled lazily: the first read after a poll stores the time,
//! so an iteration that needs no time reads no clock, and every callback of
//! one iteration sees the same value.

use std::time::{Instant, SystemTime};

use crate::base::{BaseExt, EventBase};
use crate::config::BaseFlags;
use crate::sys::time::monotonic_ns;

impl<X: BaseExt> EventBase<X> {
    fn caching(&self) -> bool {
        self.running && !self.flags.contains(BaseFlags::NO_CACHE_TIME)
    }

    /// Now, from the cache inside the loop, else from the clock.
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        let t = self.cached_now.get();
        if t != 0 {
            return t;
        }
        let t = monotonic_ns();
        if self.caching() {
            self.cached_now.set(t);
        }
        t
    }

    /// Forgets the cached time (0 = empty; the wall-clock cache is keyed by
    /// the monotonic reading, so it goes stale with it).
    #[inline]
    pub(crate) fn clear_time_cache(&self) {
        self.cached_now.set(0);
    }

    pub(crate) fn instant_of(&self, ns: u64) -> Instant {
        self.epoch.instant_of(ns)
    }

    /// The monotonic time as of this loop iteration (cached inside the
    /// loop, read fresh outside it or with `NO_CACHE_TIME`).
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// use std::time::Instant;
    ///
    /// let base = EventBase::new()?;
    /// let before = Instant::now();
    /// assert!(base.now() >= before); // outside the loop: read fresh
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_gettime_monotonic")]
    pub fn now(&self) -> Instant {
        self.instant_of(self.now_ns())
    }

    /// Wall-clock time, cached once per loop iteration
    /// (`event_base_gettimeofday_cached`); outside the loop or with
    /// `NO_CACHE_TIME` it reads the clock.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// use std::time::UNIX_EPOCH;
    ///
    /// let base = EventBase::new()?;
    /// assert!(base.gettimeofday_cached() > UNIX_EPOCH);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_gettimeofday_cached")]
    pub fn gettimeofday_cached(&self) -> SystemTime {
        if !self.caching() {
            return SystemTime::now();
        }
        let mono = self.now_ns();
        if let Some((at, t)) = self.cached_wall.get()
            && at == mono
        {
            return t;
        }
        let t = SystemTime::now();
        self.cached_wall.set(Some((mono, t)));
        t
    }

    /// Refreshes the cached time mid-iteration
    /// (`event_base_update_cache_time`); no effect outside the loop or with
    /// `NO_CACHE_TIME`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |base, _, _, _| {
    ///     let cached = base.now();
    ///     std::thread::sleep(std::time::Duration::from_millis(1)); // slow work
    ///     base.update_cache_time();
    ///     assert!(base.now() > cached);
    /// })?;
    /// ev.active(&mut base, Ev::TIMEOUT)?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_update_cache_time")]
    pub fn update_cache_time(&self) {
        if self.caching() {
            let mono = monotonic_ns();
            self.cached_now.set(mono);
            self.cached_wall.set(Some((mono, SystemTime::now())));
        }
    }
}
