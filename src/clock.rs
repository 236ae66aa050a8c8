//! The clock: deadlines are nanoseconds of `CLOCK_MONOTONIC` (the clock
//! [`Instant`] uses), and an [`Epoch`] maps them to `Instant`s exactly.
//! State the base holds, below it; the per-iteration time cache that reads
//! this clock is in `time.rs`.

use std::time::{Duration, Instant};

use crate::sys::time::monotonic_ns;

/// A `Duration` in whole nanoseconds, saturating.
pub(crate) fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Maps clock readings to `Instant`s.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epoch {
    instant: Instant,
    ns: u64,
}

impl Epoch {
    pub fn now() -> Epoch {
        Epoch {
            instant: Instant::now(),
            ns: monotonic_ns(),
        }
    }

    pub fn instant_of(&self, ns: u64) -> Instant {
        if ns >= self.ns {
            self.instant + Duration::from_nanos(ns - self.ns)
        } else {
            self.instant - Duration::from_nanos(self.ns - ns)
        }
    }
}
