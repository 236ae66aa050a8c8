//! Rate limits wired into bufferevents (`bufferevent_set_rate_limit`,
//! `bufferevent_add_to_rate_limit_group`, `bufferevent_get_max_to_read`
//! …): a bufferevent's own token bucket, its membership in a group, and
//! the two hooks the socket I/O path calls — [`budget`] before a read or
//! write, [`consumed`] after.
//!
//! # Mechanics
//!
//! A socket read is capped by its bucket's read level and by its group
//! share, a write by the write levels; what moved is subtracted. A level
//! at or below zero — after I/O, or after
//! [`decrement_read_limit`](Bufferevent::decrement_read_limit), which may
//! take it below zero — suspends the direction (`suspend::BW`, or
//! `suspend::BW_GROUP` for a group) and starts a timer for the next tick
//! boundary, which refills the bucket and resumes the direction once it is
//! positive again.
//!
//! In a group each member may move at most `max(group level / members,
//! min_share)` bytes per operation, so one busy connection cannot take the
//! whole tick; when the group's level reaches zero, every member stops
//! until the group's timer refills it.
//!
//! Only socket bufferevents honor limits (as in libevent, best effort: a
//! limit caps each operation, it does not shape the kernel's traffic);
//! other kinds accept and report them.
//!
//! A bufferevent's limit is one pooled box behind `Rec::rate` (one pointer
//! per connection, `None` when unlimited: the unlimited I/O path pays one
//! branch).

use super::bucket::{Bucket, RateLimit, TokenBucketCfg};
use super::callback::fire_out_of_memory;
use super::group;
use super::handle::{Bufferevent, RateLimitGroup};
use super::rec::suspend;
use super::table::BevHost;
use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::handle::Event;
use crate::mem;

impl RateLimitGroup {
    /// Adds `bev` (`bufferevent_add_to_rate_limit_group`); a bufferevent
    /// is in at most one group, so it leaves its old one.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::BadState`] for a stale group
    /// handle; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(300, 300, 300, 300, None)?)?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 16384);
    /// group.add(&mut base, bev)?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 300); // capped by the group
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_add_to_rate_limit_group")]
    pub fn add<X: BevHost>(self, base: &mut EventBase<X>, bev: Bufferevent) -> Result<()> {
        bev.rec(base)?;
        self.rec(base)?;
        let old = group_of(base, bev);
        if old == Some(self) {
            return Ok(());
        }
        // Everything that can fail first, so that a failure leaves it in
        // its old group (or none) and the new group as it was.
        mem::reserve(&mut self.rec_mut(base)?.members, 1)?;
        ensure_box(base, bev)?;
        if let Some(old) = old {
            leave(base, old, bev);
        }
        let rl = rate_mut(base, bev).expect("just boxed");
        rl.group = Some(self);
        let g = self.rec_mut(base)?;
        g.members.push(bev);
        let suspended = g.suspended;
        if let Some(r) = base.ext.bevs_mut().get_mut(bev) {
            if suspended[0] {
                r.read_suspend |= suspend::BW_GROUP;
            }
            if suspended[1] {
                r.write_suspend |= suspend::BW_GROUP;
            }
        }
        base.ext.bevs_mut().mark_dirty(bev);
        Ok(())
    }

    /// Removes `bev` (`bufferevent_remove_from_rate_limit_group`); a
    /// bufferevent not in the group is left alone.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::BadState`] for a stale group
    /// handle.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, RateLimitGroup, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let group = RateLimitGroup::new(&mut base, &TokenBucketCfg::new(300, 300, 300, 300, None)?)?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// group.add(&mut base, bev)?;
    /// group.remove(&mut base, bev)?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 16384); // no cap any more
    /// group.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_remove_from_rate_limit_group")]
    pub fn remove<X: BevHost>(self, base: &mut EventBase<X>, bev: Bufferevent) -> Result<()> {
        bev.rec(base)?;
        self.rec(base)?;
        if group_of(base, bev) != Some(self) {
            return Ok(());
        }
        leave(base, self, bev);
        if rate_mut(base, bev).is_some_and(|rl| rl.cfg.is_none()) {
            drop_box(base, bev);
        }
        base.ext.bevs_mut().mark_dirty(bev);
        Ok(())
    }
}

/// `bev` leaves its group `g` (its rate box stays).
fn leave<X: BevHost>(base: &mut EventBase<X>, g: RateLimitGroup, bev: Bufferevent) {
    if let Some(gr) = base.ext.bevs_mut().group_mut(g) {
        gr.members.retain(|&m| m != bev);
    }
    if let Some(r) = base.ext.bevs_mut().get_mut(bev) {
        r.read_suspend &= !suspend::BW_GROUP;
        r.write_suspend &= !suspend::BW_GROUP;
        if let Some(rl) = r.rate_mut() {
            rl.group = None;
        }
    }
}

fn rate_mut<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Option<&mut RateLimit> {
    base.ext.bevs_mut().get_mut(h)?.rate_mut()
}

fn group_of<X: BevHost>(base: &EventBase<X>, h: Bufferevent) -> Option<RateLimitGroup> {
    base.ext.bevs().get(h)?.rate()?.group
}

/// Gives `h` a rate-limit box if it has none (and the cold block that
/// holds it); on `Err` it has neither new block.
fn ensure_box<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    let r = h.rec_mut(base)?;
    if !r.limited() {
        let rl = RateLimit {
            cfg: None,
            bucket: Bucket::idle(),
            group: None,
            timer: None,
            _charge: mem::charge_for_box::<RateLimit>(r.account())?,
        };
        let b = mem::pool_box(rl)?;
        r.cold_mut()?.rate = Some(b);
    }
    Ok(())
}

/// Drops `h`'s box (no cfg, no group left): its timer is freed, its
/// suspensions lifted.
fn drop_box<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    r.read_suspend &= !(suspend::BW | suspend::BW_GROUP);
    r.write_suspend &= !(suspend::BW | suspend::BW_GROUP);
    let old = r.cold.as_mut().and_then(|c| c.rate.take());
    if let Some(t) = old.as_ref().and_then(|rl| rl.timer) {
        let _ = t.free(base);
    }
    drop(old);
}

/// A freed bufferevent leaves its group and frees its timer.
pub(crate) fn release<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if let Some(g) = group_of(base, h)
        && let Some(gr) = base.ext.bevs_mut().group_mut(g)
    {
        gr.members.retain(|&m| m != h);
    }
    drop_box(base, h);
}

/// Caps a read or write of at most `max` bytes by `h`'s buckets.
pub(crate) fn budget<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    max: usize,
    read: bool,
) -> usize {
    let t = base.ext.bevs_mut();
    let Some(rl) = t.get_mut(h).and_then(|r| r.rate_mut()) else {
        return max;
    };
    let mut max = max;
    if let Some(cfg) = rl.cfg {
        rl.bucket.update(&cfg);
        max = max.min(rl.bucket.level(read).max(0) as usize);
    }
    if let Some(g) = rl.group {
        max = max.min(group::share(t, g, read));
    }
    max
}

/// `n` bytes moved (`read` or written) by a limited bufferevent: take
/// them from its bucket and its group's, suspending what ran dry.
pub(crate) fn consumed<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, n: usize, read: bool) {
    let Some(rl) = rate_mut(base, h) else {
        return;
    };
    if let Some(g) = rl.group {
        group::count(base.ext.bevs_mut(), g, n, read);
        group::take(base, g, n as i64, read);
    }
    if take(base, h, n as i64, read).is_err() {
        // No tick would resume the direction: it fails instead.
        fire_out_of_memory(base, h, read);
    }
}

/// Subtracts `n` from `h`'s own bucket; at zero or below suspends the
/// direction and sets the refill timer.
fn take<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, n: i64, read: bool) -> Result<()> {
    let Some(rl) = rate_mut(base, h) else {
        return Ok(());
    };
    let Some(cfg) = rl.cfg else {
        return Ok(());
    };
    rl.bucket.update(&cfg);
    let level = rl.bucket.level_mut(read);
    *level = level.saturating_sub(n);
    if *level > 0 {
        return Ok(());
    }
    let r = base.ext.bevs_mut().get_mut(h).expect("checked");
    let bits = if read {
        &mut r.read_suspend
    } else {
        &mut r.write_suspend
    };
    let was = *bits & suspend::BW != 0;
    *bits |= suspend::BW;
    base.ext.bevs_mut().mark_dirty(h);
    if was {
        return Ok(());
    }
    let armed = arm_timer(base, h);
    if armed.is_err() {
        // No tick would resume it: not suspended after all.
        if let Some(r) = base.ext.bevs_mut().get_mut(h) {
            if read {
                r.read_suspend &= !suspend::BW;
            } else {
                r.write_suspend &= !suspend::BW;
            }
        }
    }
    armed
}

/// Creates `h`'s refill timer if it has a rate box but no timer.
fn ensure_timer<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    if rate_mut(base, h).is_none_or(|rl| rl.timer.is_some()) {
        return Ok(());
    }
    let t = Event::timer(base, move |base, _, _, _| on_tick(base, h))?;
    match rate_mut(base, h) {
        Some(rl) => rl.timer = Some(t),
        None => {
            let _ = t.free(base);
        }
    }
    Ok(())
}

/// Starts `h`'s refill timer for the next tick, creating it if needed.
fn arm_timer<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    let Some(rl) = rate_mut(base, h) else {
        return Ok(());
    };
    let Some(cfg) = rl.cfg else {
        return Ok(());
    };
    let wait = rl.bucket.until_next_tick(&cfg);
    let timer = match rl.timer {
        Some(t) => t,
        None => {
            let t = Event::timer(base, move |base, _, _, _| on_tick(base, h))?;
            match rate_mut(base, h) {
                Some(rl) => rl.timer = Some(t),
                None => {
                    let _ = t.free(base);
                    return Ok(());
                }
            }
            t
        }
    };
    timer.add(base, Some(wait))
}

/// `h`'s refill timer: resume what has tokens again, wait for the rest.
fn on_tick<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let Some(rl) = r.cold.as_mut().and_then(|c| c.rate.as_deref_mut()) else {
        return;
    };
    let Some(cfg) = rl.cfg else {
        r.read_suspend &= !suspend::BW;
        r.write_suspend &= !suspend::BW;
        base.ext.bevs_mut().mark_dirty(h);
        return;
    };
    rl.bucket.update(&cfg);
    let (rd, wr) = (rl.bucket.read > 0, rl.bucket.write > 0);
    if rd {
        r.read_suspend &= !suspend::BW;
    }
    if wr {
        r.write_suspend &= !suspend::BW;
    }
    let waiting = [
        r.read_suspend & suspend::BW != 0,
        r.write_suspend & suspend::BW != 0,
    ];
    base.ext.bevs_mut().mark_dirty(h);
    if waiting.contains(&true) && arm_timer(base, h).is_err() {
        // No next tick: what still waits for one fails instead.
        for (read, waits) in [(true, waiting[0]), (false, waiting[1])] {
            if let Some(r) = base.ext.bevs_mut().get_mut(h).filter(|_| waits) {
                if read {
                    r.read_suspend &= !suspend::BW;
                } else {
                    r.write_suspend &= !suspend::BW;
                }
                fire_out_of_memory(base, h, read);
            }
        }
    }
}

impl Bufferevent {
    /// Sets or removes (`None`) this bufferevent's own token bucket
    /// (`bufferevent_set_rate_limit`); the bucket starts at one tick's
    /// rate. Only socket bufferevents honor it ([module
    /// docs](crate::bufferevent#rate-limits)).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// let cfg = TokenBucketCfg::new(100, 200, 50, 50, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// assert_eq!(bev.read_limit(&base)?, 100);
    /// assert_eq!(bev.max_to_write(&mut base)?, 50);
    /// bev.decrement_read_limit(&mut base, 300)?;
    /// assert_eq!(bev.read_limit(&base)?, -200);
    /// assert_eq!(bev.max_to_read(&mut base)?, 0);
    /// bev.set_rate_limit(&mut base, None)?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 16384);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_set_rate_limit")]
    pub fn set_rate_limit<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        cfg: Option<&TokenBucketCfg>,
    ) -> Result<()> {
        self.rec(base)?;
        match cfg {
            Some(cfg) => {
                let had = self.rec(base)?.limited();
                // Room to arm the refill timer first, so that the takes
                // below cannot fail half-way.
                base.heap.reserve(&base.account, 1)?;
                ensure_box(base, self)?;
                // The refill timer too, before anything changes.
                if let Err(e) = ensure_timer(base, self) {
                    if !had {
                        drop_box(base, self);
                    }
                    return Err(e);
                }
                let rl = rate_mut(base, self).expect("just boxed");
                match rl.cfg {
                    Some(_) => rl.bucket.reconfigure(cfg),
                    None => rl.bucket = Bucket::new(cfg),
                }
                rl.cfg = Some(*cfg);
                // Re-evaluate suspension against the new bucket.
                for read in [true, false] {
                    take(base, self, 0, read)?;
                }
                if let Some(r) = base.ext.bevs_mut().get_mut(self) {
                    let b = r.rate().expect("boxed").bucket;
                    if b.read > 0 {
                        r.read_suspend &= !suspend::BW;
                    }
                    if b.write > 0 {
                        r.write_suspend &= !suspend::BW;
                    }
                }
            }
            None => {
                let Some(rl) = rate_mut(base, self) else {
                    return Ok(());
                };
                rl.cfg = None;
                if rl.group.is_none() {
                    drop_box(base, self);
                } else if let Some(r) = base.ext.bevs_mut().get_mut(self) {
                    r.read_suspend &= !suspend::BW;
                    r.write_suspend &= !suspend::BW;
                }
            }
        }
        base.ext.bevs_mut().mark_dirty(self);
        Ok(())
    }

    /// Its own configuration, if it has one
    /// (`bufferevent_get_token_bucket_cfg`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.rate_limit_cfg(&base)?, None);
    /// let cfg = TokenBucketCfg::new(100, 100, 100, 100, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// assert_eq!(bev.rate_limit_cfg(&base)?, Some(cfg));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_token_bucket_cfg")]
    pub fn rate_limit_cfg<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<TokenBucketCfg>> {
        Ok(self.rec(base)?.rate().and_then(|rl| rl.cfg))
    }

    /// Its read bucket's level, possibly negative; `isize::MAX` without a
    /// bucket of its own (`bufferevent_get_read_limit`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.read_limit(&base)?, isize::MAX); // no bucket of its own
    /// let cfg = TokenBucketCfg::new(500, 1000, 500, 1000, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// assert_eq!(bev.read_limit(&base)?, 500); // one tick's rate
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_read_limit")]
    pub fn read_limit<X: BevHost>(self, base: &EventBase<X>) -> Result<isize> {
        self.level(base, true)
    }

    /// Its write bucket's level (`bufferevent_get_write_limit`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// let cfg = TokenBucketCfg::new(500, 1000, 200, 400, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// assert_eq!(bev.write_limit(&base)?, 200);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_write_limit")]
    pub fn write_limit<X: BevHost>(self, base: &EventBase<X>) -> Result<isize> {
        self.level(base, false)
    }

    fn level<X: BevHost>(self, base: &EventBase<X>, read: bool) -> Result<isize> {
        let r = self.rec(base)?;
        Ok(match r.rate() {
            Some(RateLimit {
                cfg: Some(cfg),
                bucket,
                ..
            }) => {
                let mut b = *bucket;
                b.update(cfg);
                b.level(read) as isize
            }
            _ => isize::MAX,
        })
    }

    /// Takes `n` bytes (negative: gives) from its read bucket
    /// (`bufferevent_decrement_read_limit`); at zero or below reading
    /// stops until the bucket refills.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::BadState`] without a bucket of its
    /// own; [`Error::Io`] / [`Error::Alloc`] if the refill timer cannot be
    /// set.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert!(bev.decrement_read_limit(&mut base, 10).is_err()); // no bucket
    /// let cfg = TokenBucketCfg::new(100, 100, 100, 100, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// bev.decrement_read_limit(&mut base, 30)?;
    /// assert_eq!(bev.read_limit(&base)?, 70);
    /// bev.decrement_read_limit(&mut base, -10)?; // gives back
    /// assert_eq!(bev.read_limit(&base)?, 80);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_decrement_read_limit")]
    pub fn decrement_read_limit<X: BevHost>(self, base: &mut EventBase<X>, n: isize) -> Result<()> {
        self.decrement(base, n, true)
    }

    /// As [`decrement_read_limit`](Self::decrement_read_limit) for writing
    /// (`bufferevent_decrement_write_limit`).
    ///
    /// # Errors
    /// As [`decrement_read_limit`](Self::decrement_read_limit).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// let cfg = TokenBucketCfg::new(100, 100, 100, 100, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// bev.decrement_write_limit(&mut base, 100)?;
    /// assert_eq!(bev.write_limit(&base)?, 0);
    /// assert_eq!(bev.max_to_write(&mut base)?, 0); // writing waits for the next tick
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_decrement_write_limit")]
    pub fn decrement_write_limit<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        n: isize,
    ) -> Result<()> {
        self.decrement(base, n, false)
    }

    fn decrement<X: BevHost>(self, base: &mut EventBase<X>, n: isize, read: bool) -> Result<()> {
        if self.rec(base)?.rate().and_then(|rl| rl.cfg).is_none() {
            return Err(Error::BadState("no rate limit set"));
        }
        // Room for the refill timer first: the take below cannot fail.
        base.heap.reserve(&base.account, 1)?;
        take(base, self, n as i64, read)?;
        // Giving tokens back may resume the direction at once.
        if let Some(r) = base.ext.bevs_mut().get_mut(self)
            && r.rate().is_some_and(|rl| rl.bucket.level(read) > 0)
        {
            if read {
                r.read_suspend &= !suspend::BW;
            } else {
                r.write_suspend &= !suspend::BW;
            }
            base.ext.bevs_mut().mark_dirty(self);
        }
        Ok(())
    }

    /// The most one read may take now, after the single-read cap and the
    /// buckets (`bufferevent_get_max_to_read`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 16384); // the single-read cap
    /// let cfg = TokenBucketCfg::new(1000, 1000, 1000, 1000, None)?;
    /// bev.set_rate_limit(&mut base, Some(&cfg))?;
    /// assert_eq!(bev.max_to_read(&mut base)?, 1000); // the bucket is lower
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_max_to_read")]
    pub fn max_to_read<X: BevHost>(self, base: &mut EventBase<X>) -> Result<usize> {
        let max = self.rec(base)?.max_read();
        Ok(budget(base, self, max, true))
    }

    /// The most one write may send now (`bufferevent_get_max_to_write`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.set_max_single_write(&mut base, 512)?;
    /// assert_eq!(bev.max_to_write(&mut base)?, 512);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_max_to_write")]
    pub fn max_to_write<X: BevHost>(self, base: &mut EventBase<X>) -> Result<usize> {
        let max = self.rec(base)?.max_write();
        Ok(budget(base, self, max, false))
    }
}
