//! The base's bufferevent table: a slab of [`Rec`]ords with a free list,
//! the dirty list the loop services before it polls, and the slab of
//! rate-limit groups; and [`BevHost`], how bufferevent code finds the
//! table in a base.
//!
//! Every lookup checks the handle's generation (and the handle's base
//! against the base it is used with), so a stale handle finds nothing.
//! Room for every live record on the dirty list (and on the list being
//! serviced) is reserved when a record is created, so marking a
//! bufferevent dirty never allocates.

use std::fmt;

use super::bucket::{Bucket, DEFAULT_MIN_SHARE, GroupRec, TokenBucketCfg};
use super::budget;
use super::closure::{DataFn, FilterFn};
use super::dns::DnsAnswer;
use super::flags::BevOptions;
use super::handle::{Bufferevent, RateLimitGroup};
use super::rec::{Kind, Rec};
use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::mem::{self, MemArc, MemVec};

/// A base that carries bufferevents: where its [`BevTable`] lives. The
/// crate root's [`Layers`](crate::Layers) is one; the loop reaches the
/// table through [`BaseExt`]'s hooks, which service the dirty
/// bufferevents at the start of each iteration and repair them after a
/// callback panicked.
pub trait BevHost: BaseExt {
    /// The base's bufferevents.
    fn bevs(&self) -> &BevTable<Self>;
    /// The base's bufferevents, mutably.
    fn bevs_mut(&mut self) -> &mut BevTable<Self>;
}

/// A base's bufferevents and rate-limit groups: slabs of records with
/// free lists, and the dirty list the loop services before it polls.
/// Opaque: reached through [`Bufferevent`]'s and [`RateLimitGroup`]'s
/// methods.
pub struct BevTable<X: BaseExt> {
    pub(crate) recs: MemVec<Rec<X>>,
    free: MemVec<u32>,
    dirty: MemVec<u32>,
    /// The list being serviced (swapped with `dirty`), so servicing can
    /// mark records dirty again without allocating.
    servicing: MemVec<u32>,
    groups: MemVec<GroupRec>,
    free_groups: MemVec<u32>,
}

impl<X: BaseExt> Default for BevTable<X> {
    fn default() -> Self {
        BevTable {
            recs: mem::vec(),
            free: mem::vec(),
            dirty: mem::vec(),
            servicing: mem::vec(),
            groups: mem::vec(),
            free_groups: mem::vec(),
        }
    }
}

impl<X: BaseExt> BevTable<X> {
    /// Bytes the table and its bufferevents hold — the slabs and lists,
    /// each live bufferevent's callback, settings, filter, timer,
    /// rate-limit and lookup blocks — and, second, the bytes of their
    /// buffers' chain and callback lists (for statistics; the chain
    /// blocks are counted by the account).
    pub(crate) fn mem_bytes(&self) -> (usize, usize) {
        let boxed = |f: Option<&_>| f.map_or(0, |f: &DataFn<X>| mem::pool_bytes_of(&**f));
        let mut own = mem::vec_bytes(&self.recs)
            + mem::vec_bytes(&self.free)
            + mem::vec_bytes(&self.dirty)
            + mem::vec_bytes(&self.servicing)
            + mem::vec_bytes(&self.groups)
            + mem::vec_bytes(&self.free_groups);
        own += self
            .groups
            .iter()
            .map(|g| mem::vec_bytes(&g.members))
            .sum::<usize>();
        let mut lists = 0;
        for r in self.recs.iter().filter(|r| r.is_live()) {
            own += boxed(r.readcb.as_ref()) + boxed(r.writecb.as_ref());
            own += r.eventcb.as_ref().map_or(0, |f| mem::pool_bytes_of(&**f));
            if let Kind::Filter(f) = &r.kind {
                let dir = |f: Option<&FilterFn<X>>| f.map_or(0, |f| mem::pool_bytes_of(&**f));
                own += mem::pool_bytes_of(&**f) + dir(f.input.as_ref()) + dir(f.output.as_ref());
            }
            if let Some(c) = &r.cold {
                own += mem::pool_bytes_of(&**c)
                    + c.rate.as_ref().map_or(0, |b| mem::pool_bytes_of(&**b))
                    + c.timers.as_ref().map_or(0, |b| mem::pool_bytes_of(&**b))
                    + c.dns_error.as_ref().map_or(0, |(a, _)| {
                        MemArc::<DnsAnswer>::BLOCK_BYTES + mem::vec_bytes(&a.host)
                    });
            }
            lists += r.input.list_bytes() + r.output.list_bytes();
        }
        (own, lists)
    }

    /// Whether some bufferevent waits to be serviced.
    #[inline]
    pub(crate) fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Live bufferevents.
    pub(crate) fn live(&self) -> usize {
        self.recs.len() - self.free.len()
    }

    #[inline]
    pub(crate) fn get(&self, h: Bufferevent) -> Option<&Rec<X>> {
        self.recs
            .get(h.idx as usize)
            .filter(|r| r.generation == h.generation && r.is_live())
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, h: Bufferevent) -> Option<&mut Rec<X>> {
        self.recs
            .get_mut(h.idx as usize)
            .filter(|r| r.generation == h.generation && r.is_live())
    }

    /// Two distinct live records at once.
    pub(crate) fn get2_mut(
        &mut self,
        a: Bufferevent,
        b: Bufferevent,
    ) -> Option<(&mut Rec<X>, &mut Rec<X>)> {
        let [ra, rb] = self
            .recs
            .get_disjoint_mut([a.idx as usize, b.idx as usize])
            .ok()?;
        let ok = |r: &Rec<X>, h: Bufferevent| r.generation == h.generation && r.is_live();
        (ok(ra, a) && ok(rb, b)).then_some((ra, rb))
    }

    /// The handle of the live record at `idx`.
    pub(crate) fn handle_at(&self, idx: u32, base: u32) -> Option<Bufferevent> {
        let r = self.recs.get(idx as usize).filter(|r| r.is_live())?;
        Some(Bufferevent {
            idx,
            generation: r.generation,
            base,
        })
    }

    /// The live socket bufferevent one of whose events is `ev`.
    pub(crate) fn owner_of(&self, ev: crate::handle::Event) -> Option<u32> {
        self.recs
            .iter()
            .position(|r| match &r.kind {
                Kind::Socket(s) => s.owns(ev),
                _ => false,
            })
            .map(|i| i as u32)
    }

    /// After a callback panicked out of the loop: no I/O path is running
    /// any more, and every record flagged dirty is on the dirty list
    /// (the list being serviced was lost in the unwind).
    pub(crate) fn after_panic(&mut self) {
        self.dirty.clear();
        self.servicing.clear();
        for (i, r) in self.recs.iter_mut().enumerate() {
            r.io_path = false;
            // Room for every record is reserved.
            if r.dirty && self.dirty.len() < self.dirty.capacity() {
                self.dirty.push(i as u32);
            }
        }
    }

    /// Swaps the dirty list out for servicing; returns its length.
    pub(crate) fn start_servicing(&mut self) -> usize {
        std::mem::swap(&mut self.dirty, &mut self.servicing);
        self.servicing.len()
    }

    /// The `k`-th record being serviced, taken off the dirty state; `None`
    /// if it was serviced already (or freed).
    pub(crate) fn next_serviced(&mut self, k: usize, base: u32) -> Option<Bufferevent> {
        let idx = self.servicing[k];
        let r = self.recs.get_mut(idx as usize)?;
        if !r.dirty {
            return None;
        }
        r.dirty = false;
        Some(Bufferevent {
            idx,
            generation: r.generation,
            base,
        })
    }

    /// Servicing is done.
    pub(crate) fn end_servicing(&mut self) {
        self.servicing.clear();
    }

    /// `h`'s record, put on the dirty list unless its socket's I/O path
    /// runs its callback (and services it when the callback returns): for
    /// changes made through the user API.
    #[inline]
    pub(crate) fn touch(&mut self, h: Bufferevent) -> Option<&mut Rec<X>> {
        let r = self
            .recs
            .get_mut(h.idx as usize)
            .filter(|r| r.generation == h.generation && r.is_live())?;
        // Room for every live record was reserved when it was created.
        if !r.io_path && !r.dirty && self.dirty.len() < self.dirty.capacity() {
            r.dirty = true;
            self.dirty.push(h.idx);
        }
        Some(r)
    }

    /// The records of two distinct bufferevents at once, each marked as by
    /// [`touch`](Self::touch); `None` if either is stale or they are one.
    pub(crate) fn touch_two(&mut self, a: Bufferevent, b: Bufferevent) -> Option<[&mut Rec<X>; 2]> {
        self.touch(a)?;
        self.touch(b)?;
        self.recs
            .get_disjoint_mut([a.idx as usize, b.idx as usize])
            .ok()
    }

    /// `h`'s record, for adding output through the user API: marked as
    /// by [`touch`](Self::touch), except a pair member, whose write moves
    /// the data to its partner at once (`pair::output_added`, which marks
    /// it after the partner, so the partner's callbacks run first, as in
    /// libevent).
    #[inline]
    pub(crate) fn touch_output(&mut self, h: Bufferevent) -> Option<&mut Rec<X>> {
        let r = self
            .recs
            .get_mut(h.idx as usize)
            .filter(|r| r.generation == h.generation && r.is_live())?;
        // Room for every live record was reserved when it was created.
        if !r.io_path
            && !r.dirty
            && !matches!(r.kind, Kind::Pair(_))
            && self.dirty.len() < self.dirty.capacity()
        {
            r.dirty = true;
            self.dirty.push(h.idx);
        }
        Some(r)
    }

    /// Puts `h` on the dirty list (once).
    #[inline]
    pub(crate) fn mark_dirty(&mut self, h: Bufferevent) {
        let Some(r) = self.recs.get_mut(h.idx as usize) else {
            return;
        };
        if r.dirty || r.generation != h.generation {
            return;
        }
        // Room for every live record was reserved when it was created.
        if self.dirty.len() < self.dirty.capacity() {
            r.dirty = true;
            self.dirty.push(h.idx);
        }
    }

    /// Replaces `h`'s record by a free slot and puts it on the free list;
    /// returns the old record, for the caller to drop (dropping callbacks
    /// or buffers may run user code).
    pub(crate) fn remove(&mut self, h: Bufferevent) -> Rec<X> {
        let r = &mut self.recs[h.idx as usize];
        let old = std::mem::replace(r, Rec::new(Kind::Free, BevOptions::empty(), r.generation));
        // Room for every record was reserved when it was created.
        self.free.push(h.idx);
        old
    }

    /// `g`'s record, if `g` is live.
    #[inline]
    pub(crate) fn group(&self, g: RateLimitGroup) -> Option<&GroupRec> {
        self.groups
            .get(g.idx as usize)
            .filter(|r| r.live && r.generation == g.generation)
    }

    /// `g`'s record, mutably, if `g` is live.
    #[inline]
    pub(crate) fn group_mut(&mut self, g: RateLimitGroup) -> Option<&mut GroupRec> {
        self.groups
            .get_mut(g.idx as usize)
            .filter(|r| r.live && r.generation == g.generation)
    }

    /// Frees `g`'s slot; returns its record, for the caller to release.
    pub(crate) fn remove_group(&mut self, g: RateLimitGroup) -> Option<GroupRec> {
        let r = self.group_mut(g)?;
        let generation = r.generation.wrapping_add(1);
        let cfg = r.cfg;
        let old = std::mem::replace(r, GroupRec::new(&cfg, generation));
        r.live = false;
        // Room for every group was reserved when it was created.
        self.free_groups.push(g.idx);
        Some(old)
    }
}

impl GroupRec {
    fn new(cfg: &TokenBucketCfg, generation: u32) -> GroupRec {
        GroupRec {
            generation,
            live: true,
            cfg: *cfg,
            bucket: Bucket::new(cfg),
            members: mem::vec(),
            min_share: DEFAULT_MIN_SHARE,
            total_read: 0,
            total_written: 0,
            timer: None,
            suspended: [false; 2],
        }
    }
}

impl<X: BaseExt> Drop for BevTable<X> {
    fn drop(&mut self) {
        for r in self.recs.iter_mut() {
            if let Kind::Socket(s) = &r.kind
                && r.options.contains(BevOptions::CLOSE_ON_FREE)
                && let Some(fd) = s.fd()
            {
                crate::sys::socket::close(fd);
            }
        }
    }
}

impl<X: BaseExt> fmt::Debug for BevTable<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BevTable")
            .field("live", &self.live())
            .field("dirty", &self.dirty.len())
            .field("groups", &(self.groups.len() - self.free_groups.len()))
            .finish()
    }
}

impl<X: BevHost> EventBase<X> {
    /// Allocates a record for a new bufferevent.
    pub(crate) fn bev_insert(&mut self, kind: Kind<X>, options: BevOptions) -> Result<Bufferevent> {
        let (t, account) = (self.ext.bevs_mut(), &self.account);
        // Room for every record on either list, so marking never
        // allocates. Growth is charged to a budgeted base's account.
        let want = t.recs.len() + 1;
        let (d, sv) = (t.dirty.len(), t.servicing.len());
        mem::reserve_charged(account, &mut t.dirty, want.saturating_sub(d))?;
        mem::reserve_charged(account, &mut t.servicing, want.saturating_sub(sv))?;
        let idx = match t.free.pop() {
            Some(idx) => {
                let r = &mut t.recs[idx as usize];
                let generation = r.generation.wrapping_add(1);
                *r = Rec::new(kind, options, generation);
                budget::attach(account, r);
                idx
            }
            None => {
                mem::reserve_charged(account, &mut t.recs, 1)?;
                let want = t.recs.len() + 1 - t.free.len();
                mem::reserve_charged(account, &mut t.free, want)?;
                t.recs.push(Rec::new(kind, options, 0));
                let r = t.recs.last_mut().expect("pushed above");
                budget::attach(account, r);
                (t.recs.len() - 1) as u32
            }
        };
        let h = Bufferevent {
            idx,
            generation: t.recs[idx as usize].generation,
            base: self.id,
        };
        // Its buffers' idle lists are given back on the housekeeping tick;
        // without one (no descriptor left) they are only kept longer.
        if !self.housekeeping.is_armed() {
            let _ = self.start_housekeeping();
        }
        Ok(h)
    }

    /// Allocates a record for a new rate-limit group.
    pub(crate) fn group_insert(&mut self, cfg: &TokenBucketCfg) -> Result<RateLimitGroup> {
        let (t, account) = (self.ext.bevs_mut(), &self.account);
        let idx = match t.free_groups.pop() {
            Some(idx) => {
                let r = &mut t.groups[idx as usize];
                *r = GroupRec::new(cfg, r.generation);
                idx
            }
            None => {
                mem::reserve_charged(account, &mut t.groups, 1)?;
                let want = t.groups.len() + 1 - t.free_groups.len();
                mem::reserve_charged(account, &mut t.free_groups, want)?;
                t.groups.push(GroupRec::new(cfg, 0));
                (t.groups.len() - 1) as u32
            }
        };
        Ok(RateLimitGroup {
            idx,
            generation: t.groups[idx as usize].generation,
            base: self.id,
        })
    }
}

impl Bufferevent {
    #[inline]
    pub(crate) fn rec<X: BevHost>(self, base: &EventBase<X>) -> Result<&Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext.bevs().get(self).ok_or(Error::StaleBufferevent)
    }

    #[inline]
    pub(crate) fn rec_mut<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext
            .bevs_mut()
            .get_mut(self)
            .ok_or(Error::StaleBufferevent)
    }

    /// The record, marked for servicing (see `BevTable::touch`).
    #[inline]
    pub(crate) fn touch<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext
            .bevs_mut()
            .touch(self)
            .ok_or(Error::StaleBufferevent)
    }

    /// The record, marked for servicing unless a pair member (see
    /// `BevTable::touch_output`).
    #[inline]
    pub(crate) fn touch_output<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext
            .bevs_mut()
            .touch_output(self)
            .ok_or(Error::StaleBufferevent)
    }

    /// Whether the handle still names a live bufferevent of `base`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert!(bev.is_live(&base));
    /// bev.free(&mut base)?;
    /// assert!(!bev.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_live<X: BevHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// The base this bufferevent belongs to is `base`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let other = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert!(bev.belongs_to(&base));
    /// assert!(!bev.belongs_to(&other));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn belongs_to<X: BevHost>(self, base: &EventBase<X>) -> bool {
        self.base == base.id
    }
}
