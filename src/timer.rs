//! Timeouts: a 4-ary min-heap of deadlines plus libevent's common-timeout
//! queues (tutorial 6.x "common timeouts", `event_base_init_common_timeout`).
//!
//! The heap stores `{deadline, id}` inline (libev's `EV_USE_4HEAP` +
//! `EV_HEAP_CACHE_AT` layout: comparisons never leave the array) and every
//! owner records its heap position, so delete and re-schedule are
//! O(log n). An id is either an event's slot index or, with [`CT_TAG`] set,
//! a common-timeout queue: such a queue keeps its events in a FIFO (all
//! share one duration, so appending keeps deadline order) and only the
//! queue head's deadline sits in the heap. Adding to a common timeout is
//! O(1) however many events share it.
//!
//! Deadlines are `u64` nanoseconds on the base's monotonic clock.

use crate::mem::{self, Account, MemVec};
use crate::slots::NIL;

/// Marks a heap id as a common-timeout queue index.
pub(crate) const CT_TAG: u32 = 1 << 31;

/// Most common timeouts per base (libevent's `MAX_COMMON_TIMEOUTS`).
pub const MAX_COMMON_TIMEOUTS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeapEntry {
    pub deadline: u64,
    pub id: u32,
}

/// Indexed 4-ary min-heap. `pos(id, index)` is told every move so owners
/// keep their back-index current.
pub(crate) struct TimerHeap {
    v: MemVec<HeapEntry>,
}

impl Default for TimerHeap {
    fn default() -> Self {
        TimerHeap { v: mem::vec() }
    }
}

const ARITY: usize = 4;

impl TimerHeap {
    /// Bytes of the heap's storage (for statistics).
    pub fn bytes(&self) -> usize {
        mem::vec_bytes(&self.v)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.v.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    #[inline]
    pub fn top(&self) -> Option<HeapEntry> {
        self.v.first().copied()
    }

    pub fn entries(&self) -> &[HeapEntry] {
        &self.v
    }

    /// Reserves room for one more entry, so a following `push` cannot fail;
    /// the growth is charged to the base's `account` when it has a budget.
    #[inline]
    pub fn reserve_one(&mut self, account: &Account) -> crate::error::Result<()> {
        if self.v.len() < self.v.capacity() {
            return Ok(());
        }
        self.grow_one(account)
    }

    /// [`reserve_one`](Self::reserve_one) when the heap is full: out of
    /// line, so the loop that re-arms persistent timeouts stays as small.
    #[cold]
    #[inline(never)]
    fn grow_one(&mut self, account: &Account) -> crate::error::Result<()> {
        mem::reserve_charged(account, &mut self.v, 1)
    }

    /// Reserves room for `n` more entries, so `n` following `push`es
    /// cannot fail; the growth is charged as by
    /// [`reserve_one`](Self::reserve_one).
    pub fn reserve(&mut self, account: &Account, n: usize) -> crate::error::Result<()> {
        mem::reserve_charged(account, &mut self.v, n)
    }

    /// Inserts; call `reserve_one` first when failure must leave no trace.
    pub fn push(&mut self, e: HeapEntry, pos: &mut impl FnMut(u32, u32)) {
        self.v.push(e);
        let i = self.v.len() - 1;
        self.sift_up(i, e, pos);
    }

    /// Removes the entry at `i`.
    pub fn remove(&mut self, i: u32, pos: &mut impl FnMut(u32, u32)) {
        let i = i as usize;
        debug_assert!(i < self.v.len(), "heap index {i} out of range");
        let last = self.v.pop().expect("remove from empty heap");
        if i < self.v.len() {
            self.place(i, last, pos);
        }
    }

    /// Gives the entry at `i` a new deadline.
    pub fn update(&mut self, i: u32, deadline: u64, pos: &mut impl FnMut(u32, u32)) {
        let i = i as usize;
        let e = HeapEntry {
            deadline,
            id: self.v[i].id,
        };
        self.place(i, e, pos);
    }

    /// Moves the entry at `i` to a later `deadline`.
    #[inline]
    pub fn delay(&mut self, i: u32, deadline: u64, pos: &mut impl FnMut(u32, u32)) {
        let i = i as usize;
        debug_assert!(
            deadline >= self.v[i].deadline,
            "delay must not move earlier"
        );
        let e = HeapEntry {
            deadline,
            id: self.v[i].id,
        };
        self.sift_down(i, e, pos);
    }

    /// Puts `e` at hole `i`, moving it up or down as needed.
    fn place(&mut self, i: usize, e: HeapEntry, pos: &mut impl FnMut(u32, u32)) {
        if i > 0 && self.v[(i - 1) / ARITY].deadline > e.deadline {
            self.sift_up(i, e, pos);
        } else {
            self.sift_down(i, e, pos);
        }
    }

    fn sift_up(&mut self, mut i: usize, e: HeapEntry, pos: &mut impl FnMut(u32, u32)) {
        while i > 0 {
            let p = (i - 1) / ARITY;
            let pe = self.v[p];
            if pe.deadline <= e.deadline {
                break;
            }
            self.v[i] = pe;
            pos(pe.id, i as u32);
            i = p;
        }
        self.v[i] = e;
        pos(e.id, i as u32);
    }

    fn sift_down(&mut self, mut i: usize, e: HeapEntry, pos: &mut impl FnMut(u32, u32)) {
        let v = &mut self.v[..];
        let n = v.len();
        loop {
            let c = i * ARITY + 1;
            // The smallest child: unrolled for a full set of four (one
            // bounds check), a loop for the last, partial one.
            let (m, md) = if let Some(k) = v.get(c..c + ARITY) {
                let (mut m, mut md) = (0, k[0].deadline);
                for (j, x) in k.iter().enumerate().skip(1) {
                    if x.deadline < md {
                        m = j;
                        md = x.deadline;
                    }
                }
                (c + m, md)
            } else if c < n {
                let (mut m, mut md) = (c, v[c].deadline);
                for (j, x) in v.iter().enumerate().skip(c + 1) {
                    if x.deadline < md {
                        m = j;
                        md = x.deadline;
                    }
                }
                (m, md)
            } else {
                break;
            };
            if md >= e.deadline {
                break;
            }
            let me = v[m];
            v[i] = me;
            pos(me.id, i as u32);
            i = m;
        }
        v[i] = e;
        pos(e.id, i as u32);
    }

    /// Checks the heap property (tests and `EventBase::verify`).
    pub fn is_valid(&self) -> bool {
        (1..self.v.len()).all(|i| self.v[(i - 1) / ARITY].deadline <= self.v[i].deadline)
    }
}

/// One common-timeout FIFO.
pub(crate) struct CommonQueue {
    /// Shared duration, ns.
    pub duration: u64,
    pub head: u32,
    pub tail: u32,
    /// Position of the head's deadline in the heap, or `NIL`.
    pub heap_idx: u32,
}

impl CommonQueue {
    pub fn new(duration: u64) -> CommonQueue {
        CommonQueue {
            duration,
            head: NIL,
            tail: NIL,
            heap_idx: NIL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// libevent's `heap/randomized`: 1024 random deadlines, erase 512,
    /// pops come out non-decreasing; back-indices stay exact throughout.
    #[test]
    fn randomized_insert_erase_pop() {
        let mut h = TimerHeap::default();
        let mut at = vec![NIL; 1024];
        let mut seed = 7u64;
        for id in 0..1024u32 {
            let d = rng(&mut seed) % 10_000;
            h.push(HeapEntry { deadline: d, id }, &mut |id, p| {
                at[id as usize] = p
            });
        }
        assert!(h.is_valid());
        for id in (0..1024u32).step_by(2) {
            let p = at[id as usize];
            assert_eq!(h.entries()[p as usize].id, id, "back-index of {id}");
            h.remove(p, &mut |id, p| at[id as usize] = p);
            at[id as usize] = NIL;
            assert!(h.is_valid());
        }
        assert_eq!(h.len(), 512);
        let mut last = 0;
        while let Some(top) = h.top() {
            assert!(top.deadline >= last);
            assert_eq!(top.id % 2, 1, "erased ids never pop");
            last = top.deadline;
            h.remove(0, &mut |id, p| at[id as usize] = p);
        }
    }

    #[test]
    fn update_moves_both_ways() {
        let mut h = TimerHeap::default();
        let mut at = [NIL; 16];
        for id in 0..16u32 {
            h.push(
                HeapEntry {
                    deadline: u64::from(id) * 10,
                    id,
                },
                &mut |id, p| at[id as usize] = p,
            );
        }
        h.update(at[15], 1, &mut |id, p| at[id as usize] = p);
        assert_eq!(h.top().unwrap().id, 0);
        h.update(at[0], 1000, &mut |id, p| at[id as usize] = p);
        assert_eq!(h.top().unwrap().id, 15);
        assert!(h.is_valid());
        for (id, p) in at.iter().enumerate() {
            assert_eq!(h.entries()[*p as usize].id, id as u32);
        }
    }
}
