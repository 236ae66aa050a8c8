//! Token buckets (`struct ev_token_bucket_cfg`, libevent's
//! `ratelim-internal.h`): the configuration users give, a bucket's
//! arithmetic, and the records that hold one — a bufferevent's own limit
//! and a group's shared bucket. No behaviour beyond the arithmetic: the
//! wiring into bufferevents is in `ratelimit.rs`, the group's API in
//! `group.rs`.
//!
//! A bucket holds a read and a write level. It starts at one tick's rate
//! and refills lazily: whenever it is consulted, the ticks elapsed since
//! its last update (counted from the moment the limit was set) add `rate`
//! each, up to `burst`. Levels may go below zero (I/O larger than the
//! level, or an explicit decrement).

use std::time::{Duration, Instant};

use super::handle::{Bufferevent, RateLimitGroup};
use crate::error::{Error, Result};
use crate::handle::Event;
use crate::mem::{Charge, MemVec, Pool};

/// The largest tick, in seconds, libevent accepts (`INT_MAX / 1000`).
const MAX_TICK_SECS: u64 = i32::MAX as u64 / 1000;

/// The default share of a group member (`EV_RATE_LIMIT_GROUP_MIN_SHARE`).
pub(crate) const DEFAULT_MIN_SHARE: usize = 64;

/// A token-bucket configuration (`struct ev_token_bucket_cfg`): per tick,
/// `rate` bytes are added to each direction's bucket, which never holds
/// more than `burst`.
///
/// # Examples
/// ```
/// use rvent::TokenBucketCfg;
/// use std::time::Duration;
///
/// let cfg = TokenBucketCfg::new(2000, 4000, 1000, 1000, Some(Duration::from_millis(50)))?;
/// assert_eq!(cfg.tick(), Duration::from_millis(50));
/// assert!(TokenBucketCfg::new(1, 1, 1, 1, Some(Duration::ZERO)).is_err());
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(alias = "ev_token_bucket_cfg")]
pub struct TokenBucketCfg {
    read_rate: usize,
    read_burst: usize,
    write_rate: usize,
    write_burst: usize,
    tick_ms: u64,
}

impl TokenBucketCfg {
    /// A configuration (`ev_token_bucket_cfg_new`); `tick` defaults to one
    /// second and counts in whole milliseconds.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a tick under 1 ms (libevent's
    /// division by zero), a tick of `i32::MAX / 1000 + 1` seconds or more
    /// (its overflow), or a rate or burst above `isize::MAX`.
    ///
    /// # Examples
    /// ```
    /// use rvent::TokenBucketCfg;
    /// use std::time::Duration;
    ///
    /// let cfg = TokenBucketCfg::new(1024, 4096, 512, 512, Some(Duration::from_millis(100)))?;
    /// assert_eq!((cfg.read_rate(), cfg.read_burst()), (1024, 4096));
    /// assert_eq!(cfg.tick(), Duration::from_millis(100));
    /// assert!(TokenBucketCfg::new(1, 1, 1, 1, Some(Duration::ZERO)).is_err()); // tick under 1 ms
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "ev_token_bucket_cfg_new")]
    pub fn new(
        read_rate: usize,
        read_burst: usize,
        write_rate: usize,
        write_burst: usize,
        tick: Option<Duration>,
    ) -> Result<TokenBucketCfg> {
        let tick = tick.unwrap_or(Duration::from_secs(1));
        if tick.as_secs() > MAX_TICK_SECS {
            return Err(Error::InvalidArgument("rate-limit tick too long"));
        }
        let tick_ms = tick.as_millis() as u64;
        if tick_ms == 0 {
            return Err(Error::InvalidArgument("rate-limit tick under 1 ms"));
        }
        let max = isize::MAX as usize;
        if [read_rate, read_burst, write_rate, write_burst]
            .iter()
            .any(|&v| v > max)
        {
            return Err(Error::InvalidArgument("rate or burst above isize::MAX"));
        }
        Ok(TokenBucketCfg {
            read_rate,
            read_burst,
            write_rate,
            write_burst,
            tick_ms,
        })
    }

    /// Bytes added to the read bucket per tick.
    ///
    /// # Examples
    /// ```
    /// use rvent::TokenBucketCfg;
    ///
    /// let cfg = TokenBucketCfg::new(100, 300, 50, 70, None)?;
    /// assert_eq!(cfg.read_rate(), 100);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn read_rate(&self) -> usize {
        self.read_rate
    }

    /// The most the read bucket holds.
    ///
    /// # Examples
    /// ```
    /// use rvent::TokenBucketCfg;
    ///
    /// let cfg = TokenBucketCfg::new(100, 300, 50, 70, None)?;
    /// assert_eq!(cfg.read_burst(), 300);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn read_burst(&self) -> usize {
        self.read_burst
    }

    /// Bytes added to the write bucket per tick.
    ///
    /// # Examples
    /// ```
    /// use rvent::TokenBucketCfg;
    ///
    /// let cfg = TokenBucketCfg::new(100, 300, 50, 70, None)?;
    /// assert_eq!(cfg.write_rate(), 50);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn write_rate(&self) -> usize {
        self.write_rate
    }

    /// The most the write bucket holds.
    ///
    /// # Examples
    /// ```
    /// use rvent::TokenBucketCfg;
    ///
    /// let cfg = TokenBucketCfg::new(100, 300, 50, 70, None)?;
    /// assert_eq!(cfg.write_burst(), 70);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn write_burst(&self) -> usize {
        self.write_burst
    }

    /// The tick, in whole milliseconds.
    ///
    /// # Examples
    /// ```
    /// use rvent::TokenBucketCfg;
    /// use std::time::Duration;
    ///
    /// let cfg = TokenBucketCfg::new(100, 100, 100, 100, None)?;
    /// assert_eq!(cfg.tick(), Duration::from_secs(1)); // the default
    /// let fine = TokenBucketCfg::new(100, 100, 100, 100, Some(Duration::from_micros(2500)))?;
    /// assert_eq!(fine.tick(), Duration::from_millis(2)); // whole milliseconds
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }
}

/// One bucket: levels (may be negative) and the tick of the last refill,
/// counted from `epoch`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    pub(crate) read: i64,
    pub(crate) write: i64,
    tick: u64,
    epoch: Instant,
}

impl Bucket {
    /// A bucket for a record without a configuration of its own (a group
    /// member): empty, never consulted.
    pub(crate) fn idle() -> Bucket {
        Bucket {
            read: 0,
            write: 0,
            tick: 0,
            epoch: Instant::now(),
        }
    }

    pub(crate) fn new(cfg: &TokenBucketCfg) -> Bucket {
        Bucket {
            read: cfg.read_rate as i64,
            write: cfg.write_rate as i64,
            tick: 0,
            epoch: Instant::now(),
        }
    }

    fn now_tick(&self, cfg: &TokenBucketCfg) -> u64 {
        self.epoch.elapsed().as_millis() as u64 / cfg.tick_ms
    }

    /// Adds the ticks elapsed since the last update.
    pub(crate) fn update(&mut self, cfg: &TokenBucketCfg) {
        let now = self.now_tick(cfg);
        let n = now.saturating_sub(self.tick);
        if n == 0 {
            return;
        }
        let fill = |level: i64, rate: usize, burst: usize| -> i64 {
            let v = level as i128 + rate as i128 * n as i128;
            v.min(burst as i128) as i64
        };
        self.read = fill(self.read, cfg.read_rate, cfg.read_burst);
        self.write = fill(self.write, cfg.write_rate, cfg.write_burst);
        self.tick = now;
    }

    /// A new configuration: levels above the new burst are cut.
    pub(crate) fn reconfigure(&mut self, cfg: &TokenBucketCfg) {
        self.read = self.read.min(cfg.read_burst as i64);
        self.write = self.write.min(cfg.write_burst as i64);
        self.tick = 0;
        self.epoch = Instant::now();
    }

    /// Time until the next tick boundary.
    pub(crate) fn until_next_tick(&self, cfg: &TokenBucketCfg) -> Duration {
        let next = Duration::from_millis((self.now_tick(cfg) + 1) * cfg.tick_ms);
        next.saturating_sub(self.epoch.elapsed()) + Duration::from_millis(1)
    }

    pub(crate) fn level(&self, read: bool) -> i64 {
        if read { self.read } else { self.write }
    }

    pub(crate) fn level_mut(&mut self, read: bool) -> &mut i64 {
        if read {
            &mut self.read
        } else {
            &mut self.write
        }
    }
}

/// A bufferevent's rate-limit state, boxed in the pool behind `Rec::rate`
/// (one pointer per connection, `None` when unlimited).
pub(crate) struct RateLimit {
    /// Its own bucket's configuration, `None` when only a group limits it.
    pub(crate) cfg: Option<TokenBucketCfg>,
    pub(crate) bucket: Bucket,
    pub(crate) group: Option<RateLimitGroup>,
    /// Refills the bucket at the next tick while a direction is suspended.
    pub(crate) timer: Option<Event>,
    /// This block's charge to the base's budget, if it has one.
    pub(crate) _charge: Option<Charge>,
}

/// The pooled box behind `Rec::rate`.
pub(crate) type RateBox = allocator_api2::boxed::Box<RateLimit, Pool>;

/// A group's record in the table's group slab.
pub(crate) struct GroupRec {
    pub(crate) generation: u32,
    /// `false` for a freed slot.
    pub(crate) live: bool,
    pub(crate) cfg: TokenBucketCfg,
    pub(crate) bucket: Bucket,
    pub(crate) members: MemVec<Bufferevent>,
    pub(crate) min_share: usize,
    pub(crate) total_read: u64,
    pub(crate) total_written: u64,
    /// Refills the bucket at the next tick while the group is suspended.
    pub(crate) timer: Option<Event>,
    /// Directions suspended for the whole group: read, write.
    pub(crate) suspended: [bool; 2],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_by_whole_ticks_up_to_the_burst() {
        let cfg = TokenBucketCfg::new(10, 25, 5, 5, Some(Duration::from_millis(10))).unwrap();
        let mut b = Bucket::new(&cfg);
        assert_eq!((b.read, b.write), (10, 5));
        b.read = -12;
        b.epoch -= Duration::from_millis(15);
        b.update(&cfg);
        assert_eq!((b.read, b.write, b.tick), (-2, 5, 1));
        b.epoch -= Duration::from_millis(100);
        b.update(&cfg);
        assert_eq!(b.read, 25);
        assert!(b.until_next_tick(&cfg) <= Duration::from_millis(11));
    }
}
