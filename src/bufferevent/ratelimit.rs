//! Rate limiting (`ev_token_bucket_cfg_*`, `bufferevent_set_rate_limit`,
//! `bufferevent_rate_limit_group_*`): token buckets that cap how many
//! bytes a socket bufferevent reads and writes per tick, alone or as a
//! member of a group sharing one bucket.
//!
//! # Mechanics
//!
//! A bucket holds a read and a write level. It starts at one tick's rate
//! and refills lazily: whenever it is consulted, the ticks elapsed since
//! its last update (counted from the moment the limit was set) add
//! `rate` each, up to `burst`. A socket read is capped by the read level
//! (and by the group share), a write by the write level; what moved is
//! subtracted. A level at or below zero — after I/O, or after
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
//! # Where the state lives
//!
//! A bufferevent's limit is one pooled box behind `Rec::rate` (one pointer
//! per connection, `None` when unlimited: the unlimited I/O path pays one
//! branch). A [`RateLimitGroup`] is a reference-counted handle (`Rc`) to
//! the group's bucket and member list, shared by the members' limits and
//! the group's timer; it belongs to the base it was created on and must be
//! [`free`](RateLimitGroup::free)d empty.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::BevHost;
use super::{Bufferevent, Rec, suspend};
use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::mem::Pool;

/// The largest tick, in seconds, libevent accepts (`INT_MAX / 1000`).
const MAX_TICK_SECS: u64 = i32::MAX as u64 / 1000;

/// The default share of a group member (`EV_RATE_LIMIT_GROUP_MIN_SHARE`).
const DEFAULT_MIN_SHARE: usize = 64;

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
    pub fn read_rate(&self) -> usize {
        self.read_rate
    }

    /// The most the read bucket holds.
    pub fn read_burst(&self) -> usize {
        self.read_burst
    }

    /// Bytes added to the write bucket per tick.
    pub fn write_rate(&self) -> usize {
        self.write_rate
    }

    /// The most the write bucket holds.
    pub fn write_burst(&self) -> usize {
        self.write_burst
    }

    /// The tick, in whole milliseconds.
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_ms)
    }
}

/// One bucket: levels (may be negative) and the tick of the last refill,
/// counted from `epoch`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    read: i64,
    write: i64,
    tick: u64,
    epoch: Instant,
}

impl Bucket {
    fn new(cfg: &TokenBucketCfg) -> Bucket {
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
    fn update(&mut self, cfg: &TokenBucketCfg) {
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
    fn reconfigure(&mut self, cfg: &TokenBucketCfg) {
        self.read = self.read.min(cfg.read_burst as i64);
        self.write = self.write.min(cfg.write_burst as i64);
        self.tick = 0;
        self.epoch = Instant::now();
    }

    /// Time until the next tick boundary.
    fn until_next_tick(&self, cfg: &TokenBucketCfg) -> Duration {
        let next = Duration::from_millis((self.now_tick(cfg) + 1) * cfg.tick_ms);
        next.saturating_sub(self.epoch.elapsed()) + Duration::from_millis(1)
    }

    fn level(&self, read: bool) -> i64 {
        if read { self.read } else { self.write }
    }

    fn level_mut(&mut self, read: bool) -> &mut i64 {
        if read {
            &mut self.read
        } else {
            &mut self.write
        }
    }
}

/// A bufferevent's rate-limit state, boxed in the pool behind `Rec::rate`.
pub(crate) struct RateLimit {
    cfg: Option<TokenBucketCfg>,
    bucket: Bucket,
    group: Option<RateLimitGroup>,
    /// Refills the bucket at the next tick while a direction is suspended.
    timer: Option<Event>,
}

/// The pooled box behind `Rec::rate`.
pub(crate) type RateBox = allocator_api2::boxed::Box<RateLimit, Pool>;

struct GroupInner {
    cfg: TokenBucketCfg,
    bucket: Bucket,
    members: Vec<Bufferevent>,
    min_share: usize,
    total_read: u64,
    total_written: u64,
    /// Refills the bucket at the next tick while the group is suspended;
    /// `None` once freed.
    timer: Option<Event>,
    /// Directions suspended for the whole group: read, write.
    suspended: [bool; 2],
    freed: bool,
}

/// A group of bufferevents sharing one token bucket
/// (`struct bufferevent_rate_limit_group`): a cheap, clonable handle (an
/// `Rc`, see the module docs). Free it with [`free`](Self::free) once it
/// has no members.
///
/// # Examples
/// ```
/// use rvent::{BevOptions, Bufferevent, EventBase, RateLimitGroup, TokenBucketCfg};
///
/// let mut base = EventBase::new()?;
/// let cfg = TokenBucketCfg::new(1000, 1000, 1000, 1000, None)?;
/// let group = RateLimitGroup::new(&mut base, &cfg)?;
/// let bev = Bufferevent::socket(&mut base, -1, BevOptions::empty())?;
/// group.add(&mut base, bev)?;
/// assert_eq!(group.totals(), (0, 0));
/// assert!(group.free(&mut base).is_err()); // not empty
/// group.remove(&mut base, bev)?;
/// group.free(&mut base)?;
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone)]
#[doc(alias = "bufferevent_rate_limit_group")]
pub struct RateLimitGroup(Rc<RefCell<GroupInner>>);

impl fmt::Debug for RateLimitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.0.borrow();
        f.debug_struct("RateLimitGroup")
            .field("members", &g.members.len())
            .field("read", &g.bucket.read)
            .field("write", &g.bucket.write)
            .finish()
    }
}

fn dir_bit(read: bool) -> usize {
    if read { 0 } else { 1 }
}

impl RateLimitGroup {
    /// A group with `cfg` (`bufferevent_rate_limit_group_new`).
    ///
    /// # Errors
    /// [`Error::Alloc`].
    #[doc(alias = "bufferevent_rate_limit_group_new")]
    pub fn new<X: BevHost>(
        base: &mut EventBase<X>,
        cfg: &TokenBucketCfg,
    ) -> Result<RateLimitGroup> {
        let g = RateLimitGroup(Rc::new(RefCell::new(GroupInner {
            cfg: *cfg,
            bucket: Bucket::new(cfg),
            members: Vec::new(),
            min_share: DEFAULT_MIN_SHARE,
            total_read: 0,
            total_written: 0,
            timer: None,
            suspended: [false; 2],
            freed: false,
        })));
        // The timer holds only a weak reference: dropping every handle of
        // an unfreed group leaves a no-op timer, not a cycle.
        let weak = Rc::downgrade(&g.0);
        let timer = Event::new(base, None, Ev::empty(), move |base, _, _, _| {
            if let Some(inner) = weak.upgrade() {
                RateLimitGroup(inner).on_tick(base);
            }
        })?;
        g.0.borrow_mut().timer = Some(timer);
        Ok(g)
    }

    /// Replaces the configuration (`bufferevent_rate_limit_group_set_cfg`);
    /// levels above the new bursts are cut.
    #[doc(alias = "bufferevent_rate_limit_group_set_cfg")]
    pub fn set_cfg(&self, cfg: &TokenBucketCfg) {
        let mut g = self.0.borrow_mut();
        g.cfg = *cfg;
        g.bucket.reconfigure(cfg);
    }

    /// The configuration.
    pub fn cfg(&self) -> TokenBucketCfg {
        self.0.borrow().cfg
    }

    /// Sets the least a member may move per operation even when the
    /// group's level divided among its members is smaller
    /// (`bufferevent_rate_limit_group_set_min_share`; default 64).
    #[doc(alias = "bufferevent_rate_limit_group_set_min_share")]
    pub fn set_min_share(&self, share: usize) {
        self.0.borrow_mut().min_share = share;
    }

    /// Adds `bev` (`bufferevent_add_to_rate_limit_group`); a bufferevent
    /// is in at most one group, so it leaves its old one.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::BadState`] if the group was freed;
    /// [`Error::Alloc`].
    #[doc(alias = "bufferevent_add_to_rate_limit_group")]
    pub fn add<X: BevHost>(&self, base: &mut EventBase<X>, bev: Bufferevent) -> Result<()> {
        bev.rec(base)?;
        if self.0.borrow().freed {
            return Err(Error::BadState("rate-limit group freed"));
        }
        if let Some(old) = group_of(base, bev) {
            if Rc::ptr_eq(&old.0, &self.0) {
                return Ok(());
            }
            old.remove(base, bev)?;
        }
        self.0
            .borrow_mut()
            .members
            .try_reserve(1)
            .map_err(|_| Error::Alloc)?;
        ensure_box(base, bev)?;
        let rl = rate_mut(base, bev).expect("just boxed");
        rl.group = Some(self.clone());
        let mut g = self.0.borrow_mut();
        g.members.push(bev);
        let suspended = g.suspended;
        drop(g);
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
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_remove_from_rate_limit_group")]
    pub fn remove<X: BevHost>(&self, base: &mut EventBase<X>, bev: Bufferevent) -> Result<()> {
        bev.rec(base)?;
        match group_of(base, bev) {
            Some(g) if Rc::ptr_eq(&g.0, &self.0) => {}
            _ => return Ok(()),
        }
        self.0.borrow_mut().members.retain(|&m| m != bev);
        let r = base.ext.bevs_mut().get_mut(bev).expect("checked");
        r.read_suspend &= !suspend::BW_GROUP;
        r.write_suspend &= !suspend::BW_GROUP;
        let rl = r.rate.as_mut().expect("in a group");
        rl.group = None;
        if rl.cfg.is_none() {
            drop_box(base, bev);
        }
        base.ext.bevs_mut().mark_dirty(bev);
        Ok(())
    }

    /// Bytes read and written by members since creation or the last
    /// [`reset_totals`](Self::reset_totals)
    /// (`bufferevent_rate_limit_group_get_totals`).
    #[doc(alias = "bufferevent_rate_limit_group_get_totals")]
    pub fn totals(&self) -> (u64, u64) {
        let g = self.0.borrow();
        (g.total_read, g.total_written)
    }

    /// Zeroes the totals (`bufferevent_rate_limit_group_reset_totals`).
    #[doc(alias = "bufferevent_rate_limit_group_reset_totals")]
    pub fn reset_totals(&self) {
        let mut g = self.0.borrow_mut();
        g.total_read = 0;
        g.total_written = 0;
    }

    /// The group's read level (`bufferevent_rate_limit_group_get_read_limit`).
    #[doc(alias = "bufferevent_rate_limit_group_get_read_limit")]
    pub fn read_limit(&self) -> isize {
        self.level(true)
    }

    /// The group's write level
    /// (`bufferevent_rate_limit_group_get_write_limit`).
    #[doc(alias = "bufferevent_rate_limit_group_get_write_limit")]
    pub fn write_limit(&self) -> isize {
        self.level(false)
    }

    fn level(&self, read: bool) -> isize {
        let mut g = self.0.borrow_mut();
        let cfg = g.cfg;
        g.bucket.update(&cfg);
        g.bucket.level(read) as isize
    }

    /// Takes `n` bytes (negative: gives) from the group's read bucket
    /// (`bufferevent_rate_limit_group_decrement_read`); at zero or below
    /// every member stops reading until the bucket refills.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Alloc`] if the refill timer cannot be set.
    #[doc(alias = "bufferevent_rate_limit_group_decrement_read")]
    pub fn decrement_read<X: BevHost>(&self, base: &mut EventBase<X>, n: isize) -> Result<()> {
        self.take(base, n as i64, true)
    }

    /// As [`decrement_read`](Self::decrement_read) for writing
    /// (`bufferevent_rate_limit_group_decrement_write`).
    ///
    /// # Errors
    /// As [`decrement_read`](Self::decrement_read).
    #[doc(alias = "bufferevent_rate_limit_group_decrement_write")]
    pub fn decrement_write<X: BevHost>(&self, base: &mut EventBase<X>, n: isize) -> Result<()> {
        self.take(base, n as i64, false)
    }

    /// Frees the group (`bufferevent_rate_limit_group_free`).
    ///
    /// # Errors
    /// [`Error::BadState`] while it has members (remove them first) or if
    /// already freed.
    #[doc(alias = "bufferevent_rate_limit_group_free")]
    pub fn free<X: BevHost>(&self, base: &mut EventBase<X>) -> Result<()> {
        let mut g = self.0.borrow_mut();
        if g.freed {
            return Err(Error::BadState("rate-limit group already freed"));
        }
        if !g.members.is_empty() {
            return Err(Error::BadState("rate-limit group has members"));
        }
        g.freed = true;
        let timer = g.timer.take();
        drop(g);
        if let Some(t) = timer {
            let _ = t.free(base);
        }
        Ok(())
    }

    /// Subtracts `n` from one level, counting it in the totals when it
    /// was I/O, and suspends the members at zero or below.
    fn take<X: BevHost>(&self, base: &mut EventBase<X>, n: i64, read: bool) -> Result<()> {
        let mut g = self.0.borrow_mut();
        let cfg = g.cfg;
        g.bucket.update(&cfg);
        let level = g.bucket.level_mut(read);
        *level = level.saturating_sub(n);
        let (level, wait) = (*level, g.bucket.until_next_tick(&cfg));
        let d = dir_bit(read);
        if level > 0 || g.suspended[d] {
            return Ok(());
        }
        g.suspended[d] = true;
        let timer = g.timer;
        drop(g);
        for m in self.members() {
            if let Some(r) = base.ext.bevs_mut().get_mut(m) {
                if read {
                    r.read_suspend |= suspend::BW_GROUP;
                } else {
                    r.write_suspend |= suspend::BW_GROUP;
                }
                base.ext.bevs_mut().mark_dirty(m);
            }
        }
        match timer {
            Some(t) => t.add(base, Some(wait)),
            None => Ok(()),
        }
    }

    /// The members, one by one without holding the borrow (the loop body
    /// may not change the list; it only touches records).
    fn members(&self) -> impl Iterator<Item = Bufferevent> + '_ {
        let n = self.0.borrow().members.len();
        (0..n).filter_map(move |i| self.0.borrow().members.get(i).copied())
    }

    /// The group's timer: refill, resume the directions that have tokens
    /// again, wait another tick for the others.
    fn on_tick<X: BevHost>(&self, base: &mut EventBase<X>) {
        let mut g = self.0.borrow_mut();
        let cfg = g.cfg;
        g.bucket.update(&cfg);
        let mut resume = [false; 2];
        for read in [true, false] {
            let d = dir_bit(read);
            if g.suspended[d] && g.bucket.level(read) > 0 {
                g.suspended[d] = false;
                resume[d] = true;
            }
        }
        let again = g.suspended.iter().any(|&s| s);
        let (timer, wait) = (g.timer, g.bucket.until_next_tick(&cfg));
        drop(g);
        for m in self.members() {
            if let Some(r) = base.ext.bevs_mut().get_mut(m) {
                if resume[0] {
                    r.read_suspend &= !suspend::BW_GROUP;
                }
                if resume[1] {
                    r.write_suspend &= !suspend::BW_GROUP;
                }
                base.ext.bevs_mut().mark_dirty(m);
            }
        }
        if again && let Some(t) = timer {
            let _ = t.add(base, Some(wait));
        }
    }

    /// The most one member may move now: its share of the level.
    fn share(&self, read: bool) -> usize {
        let mut g = self.0.borrow_mut();
        let cfg = g.cfg;
        g.bucket.update(&cfg);
        let level = g.bucket.level(read);
        if level <= 0 {
            return 0;
        }
        let n = g.members.len().max(1) as i64;
        ((level / n) as usize).max(g.min_share)
    }
}

fn rate_mut<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Option<&mut RateLimit> {
    base.ext.bevs_mut().get_mut(h)?.rate.as_deref_mut()
}

fn group_of<X: BevHost>(base: &EventBase<X>, h: Bufferevent) -> Option<RateLimitGroup> {
    base.ext.bevs().get(h)?.rate.as_ref()?.group.clone()
}

/// Gives `h` a rate-limit box if it has none.
fn ensure_box<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    let r = h.rec_mut(base)?;
    if r.rate.is_none() {
        let rl = RateLimit {
            cfg: None,
            bucket: Bucket::new(&TokenBucketCfg {
                read_rate: 0,
                read_burst: 0,
                write_rate: 0,
                write_burst: 0,
                tick_ms: 1000,
            }),
            group: None,
            timer: None,
        };
        let b =
            allocator_api2::boxed::Box::try_new_in(rl, Pool::new()).map_err(|_| Error::Alloc)?;
        r.rate = Some(b);
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
    let old = r.rate.take();
    if let Some(t) = old.as_ref().and_then(|rl| rl.timer) {
        let _ = t.free(base);
    }
    drop(old);
}

/// A freed bufferevent leaves its group and frees its timer.
pub(super) fn release<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if let Some(g) = group_of(base, h) {
        g.0.borrow_mut().members.retain(|&m| m != h);
    }
    drop_box(base, h);
}

/// Caps a socket read or write of at most `max` bytes by the buckets.
pub(super) fn budget<X: BevHost>(r: &mut Rec<X>, max: usize, read: bool) -> usize {
    let Some(rl) = r.rate.as_deref_mut() else {
        return max;
    };
    let mut max = max;
    if let Some(cfg) = rl.cfg {
        rl.bucket.update(&cfg);
        max = max.min(rl.bucket.level(read).max(0) as usize);
    }
    if let Some(g) = &rl.group {
        max = max.min(g.share(read));
    }
    max
}

/// `n` bytes moved (`read` or written) by a limited bufferevent: take
/// them from its bucket and its group's, suspending what ran dry.
pub(super) fn consumed<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, n: usize, read: bool) {
    let Some(rl) = rate_mut(base, h) else {
        return;
    };
    if let Some(g) = rl.group.clone() {
        {
            let mut gi = g.0.borrow_mut();
            if read {
                gi.total_read += n as u64;
            } else {
                gi.total_written += n as u64;
            }
        }
        let _ = g.take(base, n as i64, read);
    }
    let _ = take(base, h, n as i64, read);
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
    arm_timer(base, h)
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
            let t = Event::new(base, None, Ev::empty(), move |base, _, _, _| {
                on_tick(base, h)
            })?;
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
    let Some(rl) = r.rate.as_deref_mut() else {
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
    let again = r.read_suspend & suspend::BW != 0 || r.write_suspend & suspend::BW != 0;
    base.ext.bevs_mut().mark_dirty(h);
    if again {
        let _ = arm_timer(base, h);
    }
}

impl Bufferevent {
    /// Sets or removes (`None`) this bufferevent's own token bucket
    /// (`bufferevent_set_rate_limit`); the bucket starts at one tick's
    /// rate. Only socket bufferevents honor it (module docs).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, TokenBucketCfg};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, -1, BevOptions::empty())?;
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
                ensure_box(base, self)?;
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
                    let rl = r.rate.as_deref().expect("boxed");
                    if rl.bucket.read > 0 {
                        r.read_suspend &= !suspend::BW;
                    }
                    if rl.bucket.write > 0 {
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
    #[doc(alias = "bufferevent_get_token_bucket_cfg")]
    pub fn rate_limit_cfg<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<TokenBucketCfg>> {
        Ok(self.rec(base)?.rate.as_ref().and_then(|rl| rl.cfg))
    }

    /// Its read bucket's level, possibly negative; `isize::MAX` without a
    /// bucket of its own (`bufferevent_get_read_limit`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_get_read_limit")]
    pub fn read_limit<X: BevHost>(self, base: &EventBase<X>) -> Result<isize> {
        self.level(base, true)
    }

    /// Its write bucket's level (`bufferevent_get_write_limit`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_get_write_limit")]
    pub fn write_limit<X: BevHost>(self, base: &EventBase<X>) -> Result<isize> {
        self.level(base, false)
    }

    fn level<X: BevHost>(self, base: &EventBase<X>, read: bool) -> Result<isize> {
        let r = self.rec(base)?;
        Ok(match r.rate.as_deref() {
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
    #[doc(alias = "bufferevent_decrement_read_limit")]
    pub fn decrement_read_limit<X: BevHost>(self, base: &mut EventBase<X>, n: isize) -> Result<()> {
        self.decrement(base, n, true)
    }

    /// As [`decrement_read_limit`](Self::decrement_read_limit) for writing
    /// (`bufferevent_decrement_write_limit`).
    ///
    /// # Errors
    /// As [`decrement_read_limit`](Self::decrement_read_limit).
    #[doc(alias = "bufferevent_decrement_write_limit")]
    pub fn decrement_write_limit<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        n: isize,
    ) -> Result<()> {
        self.decrement(base, n, false)
    }

    fn decrement<X: BevHost>(self, base: &mut EventBase<X>, n: isize, read: bool) -> Result<()> {
        if self
            .rec(base)?
            .rate
            .as_ref()
            .and_then(|rl| rl.cfg)
            .is_none()
        {
            return Err(Error::BadState("no rate limit set"));
        }
        take(base, self, n as i64, read)?;
        // Giving tokens back may resume the direction at once.
        if let Some(r) = base.ext.bevs_mut().get_mut(self)
            && r.rate
                .as_deref()
                .is_some_and(|rl| rl.bucket.level(read) > 0)
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
    #[doc(alias = "bufferevent_get_max_to_read")]
    pub fn max_to_read<X: BevHost>(self, base: &mut EventBase<X>) -> Result<usize> {
        let r = self.rec_mut(base)?;
        let max = r.max_read as usize;
        Ok(budget(r, max, true))
    }

    /// The most one write may send now (`bufferevent_get_max_to_write`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_get_max_to_write")]
    pub fn max_to_write<X: BevHost>(self, base: &mut EventBase<X>) -> Result<usize> {
        let r = self.rec_mut(base)?;
        let max = r.max_write as usize;
        Ok(budget(r, max, false))
    }
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
