//! The generational slab that stores every event record of a base.
//!
//! libevent hands out `struct event *` pointers; a freed pointer is a
//! use-after-free. rvent hands out [`Event`](crate::Event) handles
//! `{index, generation, base}` instead: freeing a slot bumps its generation,
//! so a stale handle is detected with one comparison and returns
//! [`Error::StaleEvent`](crate::Error::StaleEvent). Free slots form an
//! intrusive O(1) free list.
//!
//! A slot also carries the intrusive links of every queue the event can be
//! on (active queue, fd/signal list, common-timeout list) and its timer-heap
//! position, so every queue operation is O(1) or O(log n) without
//! allocating.

use std::os::fd::RawFd;

use crate::ev::Ev;
use crate::handle::Event;
use crate::mem::{self, Account, MemVec, Pool};

/// What runs when an event fires, for a base of type `B`: a closure in a
/// pooled block from the memory functions, so freeing and re-creating
/// events in a steady loop recycles blocks. Generic over the base so the
/// slab sits below it.
pub(crate) type SlotFn<B> = allocator_api2::boxed::Box<dyn FnMut(&mut B, Event, RawFd, Ev), Pool>;

/// A callback of the layers above the core that needs no closure: a plain
/// function, called with the 32-bit payload kept in the slot
/// ([`Slot::data`]) — a bufferevent's index, say.
pub(crate) type PlainFn<B> = fn(&mut B, Event, Ev, u32);

/// What runs when an event fires: a boxed closure (every public
/// constructor) or a plain function with the slot's payload (internal
/// events: no block at all). Sixteen bytes, as a closure box alone: the
/// box's non-null pointer tells the variants apart.
pub(crate) enum Callback<B> {
    Closure(SlotFn<B>),
    /// `None`: no callback — a vacant slot, or a closure out running or
    /// lost to a panic.
    Plain(Option<PlainFn<B>>),
}

impl<B> Callback<B> {
    /// No callback.
    pub const NONE: Self = Callback::Plain(None);

    #[inline]
    pub fn is_none(&self) -> bool {
        matches!(self, Callback::Plain(None))
    }

    /// Runs it: a closure with the event's fd, a plain function with the
    /// slot's payload.
    #[inline(always)]
    pub fn call(&mut self, base: &mut B, ev: Event, fd: RawFd, res: Ev, data: u32) {
        match self {
            Callback::Closure(f) => f(base, ev, fd, res),
            Callback::Plain(Some(f)) => f(base, ev, res, data),
            Callback::Plain(None) => {}
        }
    }
}

/// "No index": the end of an intrusive list, or "not in the heap".
pub(crate) const NIL: u32 = u32::MAX;

/// Slot state bits.
pub(crate) mod state {
    /// The slot holds an event.
    pub const LIVE: u16 = 1;
    /// On its fd's or signal's list (and so watched by the backend).
    pub const INSERTED: u16 = 2;
    /// Has a deadline, in the heap or in a common-timeout queue.
    pub const TIMEOUT: u16 = 4;
    /// On an active queue.
    pub const ACTIVE: u16 = 8;
    /// Finalized: add and activate fail.
    pub const FINALIZING: u16 = 16;
    /// A `once` event: released after its callback.
    pub const ONCE: u16 = 32;
    /// The deadline lives in a common-timeout queue, not in the heap.
    pub const COMMON: u16 = 64;
    /// Persistent with a timeout: re-armed before each callback.
    pub const PERIODIC: u16 = 128;
    /// The re-arm interval is common timeout `ct`.
    pub const PERIODIC_COMMON: u16 = 256;
    /// Free the event after its finalizer (`event_free_finalize`).
    pub const FINALIZE_FREE: u16 = 512;
}

/// One event record.
pub(crate) struct Slot<B> {
    pub generation: u32,
    /// File descriptor, signal number, or -1.
    pub fd: RawFd,
    /// The flags the event was created with.
    pub what: Ev,
    /// Result flags while active.
    pub res: Ev,
    pub state: u16,
    pub prio: u8,
    /// Common-timeout queue index (when `COMMON`).
    pub ct: u8,
    /// Pending signal deliveries while active.
    pub ncalls: u16,
    /// Position in the timer heap, or `NIL`. When `COMMON` the deadline
    /// is in a common-timeout queue, never in the heap, and this word is
    /// the queue's previous link instead ([`Slot::tq_prev`]).
    pub heap_idx: u32,
    /// Absolute deadline, ns on the base's monotonic clock.
    pub deadline: u64,
    /// Timeout of a persistent event, ns (when `PERIODIC`).
    pub interval: u64,
    /// Active-queue links (the free list reuses `act_next`).
    pub act_prev: u32,
    pub act_next: u32,
    /// Links of the fd's or signal's event list.
    pub fd_prev: u32,
    pub fd_next: u32,
    /// Next link of a common-timeout queue (the previous one shares
    /// `heap_idx`).
    pub tq_next: u32,
    /// The payload a plain function is called with ([`Callback::Plain`]).
    pub data: u32,
    pub cb: Callback<B>,
}

impl<B> Slot<B> {
    fn vacant(next_free: u32) -> Self {
        Slot {
            generation: 0,
            fd: -1,
            what: Ev::empty(),
            res: Ev::empty(),
            state: 0,
            prio: 0,
            ct: 0,
            ncalls: 0,
            heap_idx: NIL,
            deadline: 0,
            interval: 0,
            act_prev: NIL,
            act_next: next_free,
            fd_prev: NIL,
            fd_next: NIL,
            tq_next: NIL,
            data: 0,
            cb: Callback::NONE,
        }
    }

    #[inline]
    pub fn has(&self, bits: u16) -> bool {
        self.state & bits != 0
    }

    /// Previous link of its common-timeout queue (when `COMMON`).
    #[inline]
    pub fn tq_prev(&self) -> u32 {
        self.heap_idx
    }

    #[inline]
    pub fn set_tq_prev(&mut self, prev: u32) {
        self.heap_idx = prev;
    }

    /// The callback to run: a closure is taken out of the slot (to be put
    /// back afterwards unless the event was freed or re-assigned
    /// meanwhile), a plain function is copied and stays.
    #[inline(always)]
    pub fn take_cb(&mut self) -> Callback<B> {
        match &self.cb {
            Callback::Plain(f) => Callback::Plain(*f),
            Callback::Closure(_) => std::mem::replace(&mut self.cb, Callback::NONE),
        }
    }

    /// Added in any way (fd/signal or timeout): what keeps a loop alive.
    #[inline]
    pub fn is_pending(&self) -> bool {
        self.state & (state::INSERTED | state::TIMEOUT) != 0
    }
}

/// The slab.
pub(crate) struct Slots<B> {
    v: MemVec<Slot<B>>,
    free: u32,
    live: u32,
}

impl<B> Slots<B> {
    pub fn new() -> Self {
        Slots {
            v: mem::vec(),
            free: NIL,
            live: 0,
        }
    }

    /// Room for one more event, so that [`alloc`](Self::alloc) cannot
    /// fail: the slab's growth charged to the base's `account` when it has
    /// a budget (`mem::reserve_charged`).
    #[inline]
    pub fn reserve_one(&mut self, account: &Account) -> crate::error::Result<()> {
        if self.free != NIL {
            return Ok(());
        }
        mem::reserve_charged(account, &mut self.v, 1)
    }

    /// Takes a vacant slot (reusing freed ones first) and returns its index
    /// and generation. The slot is `LIVE` with everything else cleared.
    pub fn alloc(&mut self) -> crate::error::Result<(u32, u32)> {
        let idx = if self.free != NIL {
            let idx = self.free;
            self.free = self.v[idx as usize].act_next;
            idx
        } else {
            let idx = self.v.len();
            if idx >= NIL as usize {
                return Err(crate::error::Error::Alloc);
            }
            mem::reserve(&mut self.v, 1)?;
            self.v.push(Slot::vacant(NIL));
            idx as u32
        };
        let s = &mut self.v[idx as usize];
        s.state = state::LIVE;
        s.act_next = NIL;
        self.live += 1;
        Ok((idx, s.generation))
    }

    /// Returns a slot to the free list; its generation moves on so handles
    /// to it go stale. The caller has unlinked it from every queue. Returns
    /// the callback so the caller decides when to drop it.
    pub fn release(&mut self, idx: u32) -> Callback<B> {
        let s = &mut self.v[idx as usize];
        debug_assert!(s.has(state::LIVE), "releasing a vacant slot {idx}");
        debug_assert!(s.state & (state::INSERTED | state::TIMEOUT | state::ACTIVE) == 0);
        let generation = s.generation.wrapping_add(1);
        let cb = std::mem::replace(&mut s.cb, Callback::NONE);
        *s = Slot::vacant(self.free);
        s.generation = generation;
        self.free = idx;
        self.live -= 1;
        cb
    }

    /// Number of slots, vacant ones included: every index below it is valid.
    #[inline]
    pub fn len(&self) -> u32 {
        self.v.len() as u32
    }

    /// Number of live event records.
    pub fn live(&self) -> u32 {
        self.live
    }

    /// Bytes the slab holds: its storage (vacant slots included) and the
    /// blocks of the live events' boxed closures (for statistics).
    pub fn bytes(&self) -> usize {
        let closures: usize = self
            .v
            .iter()
            .map(|s| match &s.cb {
                Callback::Closure(f) => mem::pool_bytes_of(&**f),
                Callback::Plain(_) => 0,
            })
            .sum();
        mem::vec_bytes(&self.v) + closures
    }

    /// Index and slot of every live event.
    pub fn iter_live(&self) -> impl Iterator<Item = (u32, &Slot<B>)> {
        self.v
            .iter()
            .enumerate()
            .filter(|(_, s)| s.has(state::LIVE))
            .map(|(i, s)| (i as u32, s))
    }

    /// Every live slot, mutably.
    pub fn iter_live_mut(&mut self) -> impl Iterator<Item = &mut Slot<B>> {
        self.v.iter_mut().filter(|s| s.has(state::LIVE))
    }

    /// The slot if it is live with this generation.
    #[inline]
    pub fn get(&self, idx: u32, generation: u32) -> Option<&Slot<B>> {
        match self.v.get(idx as usize) {
            Some(s) if s.generation == generation && s.state & state::LIVE != 0 => Some(s),
            _ => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, idx: u32, generation: u32) -> Option<&mut Slot<B>> {
        match self.v.get_mut(idx as usize) {
            Some(s) if s.generation == generation && s.state & state::LIVE != 0 => Some(s),
            _ => None,
        }
    }
}

impl<B> std::ops::Index<u32> for Slots<B> {
    type Output = Slot<B>;
    #[inline]
    fn index(&self, idx: u32) -> &Slot<B> {
        &self.v[idx as usize]
    }
}

impl<B> std::ops::IndexMut<u32> for Slots<B> {
    #[inline]
    fn index_mut(&mut self, idx: u32) -> &mut Slot<B> {
        &mut self.v[idx as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slot_is_reused_with_new_generation() {
        let mut s = Slots::<()>::new();
        let (a, ga) = s.alloc().unwrap();
        let (b, _) = s.alloc().unwrap();
        assert_ne!(a, b);
        assert!(s.release(a).is_none());
        assert!(s.get(a, ga).is_none(), "stale generation must not resolve");
        let (c, gc) = s.alloc().unwrap();
        assert_eq!(c, a, "free list reuses the slot");
        assert_ne!(gc, ga);
        assert!(s.get(c, gc).is_some());
        assert_eq!(s.live(), 2);
    }

    /// libevent 2.1.12's `struct event` is 128 bytes on x86-64; rvent's
    /// record (closure excluded, its box pointer or plain function and
    /// payload included) stays at 80.
    #[test]
    fn event_record_is_80_bytes() {
        assert_eq!(std::mem::size_of::<Callback<()>>(), 16);
        assert_eq!(std::mem::size_of::<Slot<()>>(), 80);
    }

    #[test]
    fn out_of_range_index_is_none() {
        let s = Slots::<()>::new();
        assert!(s.get(7, 0).is_none());
    }
}
