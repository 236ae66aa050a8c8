//! Rate-limit groups on their own (`bufferevent_rate_limit_group_*`):
//! creating and freeing a group, its configuration, totals and levels,
//! and its refill timer. How bufferevents join a group and how a group
//! caps their I/O is the wiring in `ratelimit.rs`.
//!
//! A group's record lives in the base's bufferevent table, beside the
//! bufferevents' records, and [`RateLimitGroup`] is a `Copy`
//! generation-checked handle to it, like [`Bufferevent`](super::Bufferevent): the group's
//! timer and its members' limits name it by handle, so nothing is
//! reference-counted and a freed group's handle is stale.
//!
//! When the group's level reaches zero every member stops
//! (`suspend::BW_GROUP`) until the group's timer refills it at the next
//! tick boundary. If that timer cannot be armed (the timer heap cannot
//! grow) no tick would ever resume them, so each suspended member fails
//! instead: its direction stops and reports `READING | ERROR` or
//! `WRITING | ERROR` with `ENOMEM`, as a bufferevent's own refill timer
//! does (`ratelimit.rs`). The public
//! [`decrement_read`](RateLimitGroup::decrement_read) /
//! [`decrement_write`](RateLimitGroup::decrement_write) reserve the heap's
//! room first and return [`Error::Alloc`] instead.

use super::bucket::{GroupRec, TokenBucketCfg};
use super::callback::fire_out_of_memory;
use super::handle::{Bufferevent, RateLimitGroup};
use super::rec::{Rec, suspend};
use super::table::{BevHost, BevTable};
use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::handle::Event;

/// What a freed (or another base's) group handle gets.
fn stale() -> Error {
    Error::StaleRateLimitGroup
}

/// Bytes moved by a group's members, from [`RateLimitGroup::totals`]
/// (`bufferevent_rate_limit_group_get_totals`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "bufferevent_rate_limit_group_get_totals")]
pub struct RateLimitTotals {
    /// Bytes read.
    pub read: u64,
    /// Bytes written.
    pub written: u64,
}

fn dir_bit(read: bool) -> usize {
    if read { 0 } else { 1 }
}

impl RateLimitGroup {
    #[inline]
    pub(crate) fn rec<X: BevHost>(self, base: &EventBase<X>) -> Result<&GroupRec> {
        if self.base != base.id {
            return Err(stale());
        }
        base.ext.bevs().group(self).ok_or_else(stale)
    }

    #[inline]
    pub(crate) fn rec_mut<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut GroupRec> {
        if self.base != base.id {
            return Err(stale());
        }
        base.ext.bevs_mut().group_mut(self).ok_or_else(stale)
    }

    /// A group with `cfg` (`bufferevent_rate_limit_group_new`).
    ///
    /// # Errors
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let cfg = TokenBucketCfg::new(1000, 2000, 1000, 2000, None)?;
    /// let group = RateLimitGroup::new(&mut base, &cfg)?;
    /// assert_eq!(group.cfg(&base)?, cfg);
    /// assert_eq!(group.read_limit(&base)?, 1000); // starts at one tick's rate
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_new")]
    pub fn new<X: BevHost>(
        base: &mut EventBase<X>,
        cfg: &TokenBucketCfg,
    ) -> Result<RateLimitGroup> {
        let g = base.group_insert(cfg)?;
        let timer = match Event::timer(base, move |base, _, _, _| on_tick(base, g)) {
            Ok(t) => t,
            Err(e) => {
                drop(base.ext.bevs_mut().remove_group(g));
                return Err(e);
            }
        };
        g.rec_mut(base)?.timer = Some(timer);
        Ok(g)
    }

    /// Whether the handle still names a live group of `base`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let cfg = TokenBucketCfg::new(10, 10, 10, 10, None)?;
    /// let group = RateLimitGroup::new(&mut base, &cfg)?;
    /// assert!(group.is_live(&base));
    /// group.free(&mut base)?;
    /// assert!(!group.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_live<X: BevHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// Replaces the configuration (`bufferevent_rate_limit_group_set_cfg`);
    /// levels above the new bursts are cut.
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(1000, 1000, 1000, 1000, None)?)?;
    /// let slower = TokenBucketCfg::new(100, 100, 100, 100, None)?;
    /// group.set_cfg(&mut base, &slower)?;
    /// assert_eq!(group.cfg(&base)?, slower);
    /// assert_eq!(group.read_limit(&base)?, 100); // cut to the new burst
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_set_cfg")]
    pub fn set_cfg<X: BevHost>(self, base: &mut EventBase<X>, cfg: &TokenBucketCfg) -> Result<()> {
        let g = self.rec_mut(base)?;
        g.cfg = *cfg;
        g.bucket.reconfigure(cfg);
        Ok(())
    }

    /// The configuration.
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let cfg = TokenBucketCfg::new(10, 20, 30, 40, None)?;
    /// let group = RateLimitGroup::new(&mut base, &cfg)?;
    /// assert_eq!(group.cfg(&base)?.write_burst(), 40);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn cfg<X: BevHost>(self, base: &EventBase<X>) -> Result<TokenBucketCfg> {
        Ok(self.rec(base)?.cfg)
    }

    /// Sets the least a member may move per operation even when the
    /// group's level divided among its members is smaller
    /// (`bufferevent_rate_limit_group_set_min_share`; default 64).
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(100, 100, 100, 100, None)?)?;
    /// group.set_min_share(&mut base, 10)?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// group.add(&mut base, bev)?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 100); // a lone member gets the whole level
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_set_min_share")]
    pub fn set_min_share<X: BevHost>(self, base: &mut EventBase<X>, share: usize) -> Result<()> {
        self.rec_mut(base)?.min_share = share;
        Ok(())
    }

    /// Bytes read and written by members since creation or the last
    /// [`reset_totals`](Self::reset_totals)
    /// (`bufferevent_rate_limit_group_get_totals`).
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, RateLimitTotals, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(10, 10, 10, 10, None)?)?;
    /// assert_eq!(group.totals(&base)?, RateLimitTotals { read: 0, written: 0 });
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_get_totals")]
    pub fn totals<X: BevHost>(self, base: &EventBase<X>) -> Result<RateLimitTotals> {
        let g = self.rec(base)?;
        Ok(RateLimitTotals {
            read: g.total_read,
            written: g.total_written,
        })
    }

    /// Zeroes the totals (`bufferevent_rate_limit_group_reset_totals`).
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(10, 10, 10, 10, None)?)?;
    /// group.reset_totals(&mut base)?;
    /// assert_eq!(group.totals(&base)?.written, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_reset_totals")]
    pub fn reset_totals<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let g = self.rec_mut(base)?;
        g.total_read = 0;
        g.total_written = 0;
        Ok(())
    }

    /// The group's read level (`bufferevent_rate_limit_group_get_read_limit`).
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(500, 500, 200, 200, None)?)?;
    /// assert_eq!(group.read_limit(&base)?, 500);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_get_read_limit")]
    pub fn read_limit<X: BevHost>(self, base: &EventBase<X>) -> Result<isize> {
        self.level(base, true)
    }

    /// The group's write level
    /// (`bufferevent_rate_limit_group_get_write_limit`).
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(500, 500, 200, 200, None)?)?;
    /// assert_eq!(group.write_limit(&base)?, 200);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_get_write_limit")]
    pub fn write_limit<X: BevHost>(self, base: &EventBase<X>) -> Result<isize> {
        self.level(base, false)
    }

    fn level<X: BevHost>(self, base: &EventBase<X>, read: bool) -> Result<isize> {
        let g = self.rec(base)?;
        let mut b = g.bucket;
        b.update(&g.cfg);
        Ok(b.level(read) as isize)
    }

    /// Takes `n` bytes (negative: gives) from the group's read bucket
    /// (`bufferevent_rate_limit_group_decrement_read`); at zero or below
    /// every member stops reading until the bucket refills.
    ///
    /// # Errors
    /// [`Error::StaleRateLimitGroup`] for a stale handle; [`Error::Alloc`]
    /// if there is no room to set the refill timer (nothing changed).
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(100, 100, 100, 100, None)?)?;
    /// group.decrement_read(&mut base, 150)?;
    /// assert_eq!(group.read_limit(&base)?, -50); // members stop reading until refilled
    /// group.decrement_read(&mut base, -60)?;
    /// assert_eq!(group.read_limit(&base)?, 10);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_decrement_read")]
    pub fn decrement_read<X: BevHost>(self, base: &mut EventBase<X>, n: isize) -> Result<()> {
        self.decrement(base, n, true)
    }

    /// As [`decrement_read`](Self::decrement_read) for writing
    /// (`bufferevent_rate_limit_group_decrement_write`).
    ///
    /// # Errors
    /// As [`decrement_read`](Self::decrement_read).
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(100, 100, 100, 100, None)?)?;
    /// group.decrement_write(&mut base, 40)?;
    /// assert_eq!(group.write_limit(&base)?, 60);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_decrement_write")]
    pub fn decrement_write<X: BevHost>(self, base: &mut EventBase<X>, n: isize) -> Result<()> {
        self.decrement(base, n, false)
    }

    fn decrement<X: BevHost>(self, base: &mut EventBase<X>, n: isize, read: bool) -> Result<()> {
        self.rec(base)?;
        // Room for the refill timer first: the take below cannot fail.
        base.heap.reserve(&base.account, 1)?;
        take(base, self, n as i64, read);
        Ok(())
    }

    /// Frees the group (`bufferevent_rate_limit_group_free`); the handle is
    /// stale afterwards.
    ///
    /// # Errors
    /// [`Error::BadState`] while it has members (remove them first);
    /// [`Error::StaleRateLimitGroup`] if already freed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(10, 10, 10, 10, None)?)?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// group.add(&mut base, bev)?;
    /// assert!(group.free(&mut base).is_err()); // it still has a member
    /// bev.free(&mut base)?; // a freed bufferevent leaves its group
    /// group.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_rate_limit_group_free")]
    pub fn free<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        if !self.rec(base)?.members.is_empty() {
            return Err(Error::BadState("rate-limit group has members"));
        }
        let old = base.ext.bevs_mut().remove_group(self).ok_or_else(stale)?;
        if let Some(t) = old.timer {
            let _ = t.free(base);
        }
        Ok(())
    }
}

/// Subtracts `n` from one of `g`'s levels and suspends the members at
/// zero or below, starting the refill timer; if it cannot be started the
/// members fail instead ([`fail_suspended`]).
pub(crate) fn take<X: BevHost>(base: &mut EventBase<X>, g: RateLimitGroup, n: i64, read: bool) {
    let Some(gr) = base.ext.bevs_mut().group_mut(g) else {
        return;
    };
    let cfg = gr.cfg;
    gr.bucket.update(&cfg);
    let level = gr.bucket.level_mut(read);
    *level = level.saturating_sub(n);
    let (level, wait) = (*level, gr.bucket.until_next_tick(&cfg));
    let d = dir_bit(read);
    if level > 0 || gr.suspended[d] {
        return;
    }
    gr.suspended[d] = true;
    let timer = gr.timer;
    let bit = suspend::BW_GROUP;
    for_members(base.ext.bevs_mut(), g, |r| {
        if read {
            r.read_suspend |= bit;
        } else {
            r.write_suspend |= bit;
        }
    });
    if let Some(t) = timer
        && t.add(base, Some(wait)).is_err()
    {
        fail_suspended(base, g, read);
    }
}

/// `g`'s refill timer could not be armed for a direction (`read`, else
/// write) its members wait in: no tick would resume them, so each fails
/// instead — its group suspension lifted, the direction stopped, and
/// `READING | ERROR` or `WRITING | ERROR` with `ENOMEM` reported. One
/// member at a time, looked up again after each callback (which may free
/// members, move them or free the group); it stops early if a callback
/// suspended the group again with a timer that did arm.
#[cold]
fn fail_suspended<X: BevHost>(base: &mut EventBase<X>, g: RateLimitGroup, read: bool) {
    let d = dir_bit(read);
    match base.ext.bevs_mut().group_mut(g) {
        Some(gr) => gr.suspended[d] = false,
        None => return,
    }
    let bit = suspend::BW_GROUP;
    loop {
        let t = base.ext.bevs_mut();
        let Some(gr) = t.group(g).filter(|gr| !gr.suspended[d]) else {
            return;
        };
        let waits = |m: &Bufferevent| {
            t.get(*m).is_some_and(|r| {
                let bits = if read {
                    r.read_suspend
                } else {
                    r.write_suspend
                };
                bits & bit != 0
            })
        };
        let Some(m) = gr.members.iter().copied().find(waits) else {
            return;
        };
        if let Some(r) = t.get_mut(m) {
            if read {
                r.read_suspend &= !bit;
            } else {
                r.write_suspend &= !bit;
            }
            t.mark_dirty(m);
        }
        fire_out_of_memory(base, m, read);
    }
}

/// Counts `n` bytes moved by a member in `g`'s totals.
pub(crate) fn count<X: BevHost>(t: &mut BevTable<X>, g: RateLimitGroup, n: usize, read: bool) {
    if let Some(gr) = t.group_mut(g) {
        if read {
            gr.total_read += n as u64;
        } else {
            gr.total_written += n as u64;
        }
    }
}

/// The most one member of `g` may move now: its share of the level.
pub(crate) fn share<X: BevHost>(t: &mut BevTable<X>, g: RateLimitGroup, read: bool) -> usize {
    let Some(gr) = t.group_mut(g) else {
        return usize::MAX;
    };
    let cfg = gr.cfg;
    gr.bucket.update(&cfg);
    let level = gr.bucket.level(read);
    if level <= 0 {
        return 0;
    }
    let n = gr.members.len().max(1) as i64;
    ((level / n) as usize).max(gr.min_share)
}

/// Runs `f` on each live member's record and marks the member dirty.
fn for_members<X: BevHost>(t: &mut BevTable<X>, g: RateLimitGroup, mut f: impl FnMut(&mut Rec<X>)) {
    let n = t.group(g).map_or(0, |gr| gr.members.len());
    for i in 0..n {
        let Some(m) = t.group(g).and_then(|gr| gr.members.get(i).copied()) else {
            break;
        };
        if let Some(r) = t.get_mut(m) {
            f(r);
            t.mark_dirty(m);
        }
    }
}

/// The group's timer: refill, resume the directions that have tokens
/// again, wait another tick for the others.
fn on_tick<X: BevHost>(base: &mut EventBase<X>, g: RateLimitGroup) {
    let Some(gr) = base.ext.bevs_mut().group_mut(g) else {
        return;
    };
    let cfg = gr.cfg;
    gr.bucket.update(&cfg);
    let mut resume = [false; 2];
    for read in [true, false] {
        let d = dir_bit(read);
        if gr.suspended[d] && gr.bucket.level(read) > 0 {
            gr.suspended[d] = false;
            resume[d] = true;
        }
    }
    let again = gr.suspended.iter().any(|&s| s);
    let (timer, wait) = (gr.timer, gr.bucket.until_next_tick(&cfg));
    for_members(base.ext.bevs_mut(), g, |r| {
        if resume[0] {
            r.read_suspend &= !suspend::BW_GROUP;
        }
        if resume[1] {
            r.write_suspend &= !suspend::BW_GROUP;
        }
    });
    if again
        && let Some(t) = timer
        && t.add(base, Some(wait)).is_err()
    {
        // No next tick: the directions still waiting fail instead.
        for read in [true, false] {
            if base
                .ext
                .bevs()
                .group(g)
                .is_some_and(|gr| gr.suspended[dir_bit(read)])
            {
                fail_suspended(base, g, read);
            }
        }
    }
}
