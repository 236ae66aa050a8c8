//! The active queues: one intrusive FIFO of slab indices per priority and
//! a bitmap of the non-empty ones, so the loop finds the most urgent
//! queue with one `trailing_zeros`. Pure state over the slab; the loop that
//! runs them is in `dispatch.rs`.

use crate::error::Result;
use crate::ev::Ev;
use crate::mem::{self, MemVec};
use crate::slots::{NIL, Slots, state};

/// One priority's FIFO.
#[derive(Clone, Copy)]
pub(crate) struct Queue {
    head: u32,
    tail: u32,
}

/// The active queues of a base.
pub(crate) struct ActiveQueues {
    q: MemVec<Queue>,
    /// Bit `p` set when queue `p` is non-empty.
    nonempty: [u64; 4],
    /// Active callbacks in all queues.
    pub count: u32,
}

impl ActiveQueues {
    /// Bytes of the queues' storage (for statistics).
    pub fn bytes(&self) -> usize {
        mem::vec_bytes(&self.q)
    }

    /// Queues for `n` priorities.
    ///
    /// # Errors
    /// [`Error::Alloc`].
    pub fn new(n: usize) -> Result<ActiveQueues> {
        let mut q = mem::vec();
        mem::reserve(&mut q, n)?;
        q.resize(
            n,
            Queue {
                head: NIL,
                tail: NIL,
            },
        );
        Ok(ActiveQueues {
            q,
            nonempty: [0; 4],
            count: 0,
        })
    }

    /// Number of priorities.
    #[inline]
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// The most urgent non-empty priority.
    #[inline]
    pub fn first(&self) -> Option<usize> {
        let w0 = self.nonempty[0];
        if w0 != 0 {
            return Some(w0.trailing_zeros() as usize);
        }
        self.nonempty
            .iter()
            .position(|&w| w != 0)
            .map(|i| i * 64 + self.nonempty[i].trailing_zeros() as usize)
    }

    /// Takes the first event of priority `p`'s queue.
    #[inline]
    pub fn pop_front<B>(&mut self, slots: &mut Slots<B>, p: usize) -> Option<u32> {
        let q = &mut self.q[p];
        let idx = q.head;
        if idx == NIL {
            return None;
        }
        let s = &mut slots[idx];
        let next = s.act_next;
        s.state &= !state::ACTIVE;
        s.act_next = NIL;
        q.head = next;
        if next == NIL {
            q.tail = NIL;
            self.nonempty[p >> 6] &= !(1 << (p & 63));
        } else {
            slots[next].act_prev = NIL;
        }
        self.count -= 1;
        Some(idx)
    }

    /// Event indices queued at priority `p`, in order (dump, foreach).
    pub fn iter_prio<'a, B>(
        &'a self,
        slots: &'a Slots<B>,
        p: usize,
    ) -> impl Iterator<Item = u32> + 'a {
        let mut i = self.q[p].head;
        std::iter::from_fn(move || {
            if i == NIL {
                None
            } else {
                let cur = i;
                i = slots[cur].act_next;
                Some(cur)
            }
        })
    }
}

/// Queues `idx` with result `res` (or ORs `res` in if already active).
/// Returns the priority it is queued at.
#[inline]
pub(crate) fn activate_in<B>(
    slots: &mut Slots<B>,
    aq: &mut ActiveQueues,
    idx: u32,
    res: Ev,
    ncalls: u16,
) -> usize {
    let s = &mut slots[idx];
    let p = usize::from(s.prio);
    if s.state & state::ACTIVE != 0 {
        s.res |= res;
        s.ncalls = s.ncalls.saturating_add(ncalls);
        return p;
    }
    s.state |= state::ACTIVE;
    s.res = res;
    s.ncalls = ncalls;
    s.act_next = NIL;
    let q = &mut aq.q[p];
    s.act_prev = q.tail;
    if q.tail == NIL {
        q.head = idx;
        aq.nonempty[p >> 6] |= 1 << (p & 63);
    } else {
        let t = q.tail;
        slots[t].act_next = idx;
    }
    aq.q[p].tail = idx;
    aq.count += 1;
    p
}

/// Unlinks `idx` from its active queue.
#[inline]
pub(crate) fn deactivate_in<B>(slots: &mut Slots<B>, aq: &mut ActiveQueues, idx: u32) {
    let s = &mut slots[idx];
    debug_assert!(s.state & state::ACTIVE != 0);
    s.state &= !state::ACTIVE;
    let (p, prev, next) = (usize::from(s.prio), s.act_prev, s.act_next);
    s.act_prev = NIL;
    s.act_next = NIL;
    let q = &mut aq.q[p];
    if prev == NIL {
        q.head = next;
    } else {
        slots[prev].act_next = next;
    }
    if next == NIL {
        q.tail = prev;
    } else {
        slots[next].act_prev = prev;
    }
    if q.head == NIL {
        aq.nonempty[p >> 6] &= !(1 << (p & 63));
    }
    aq.count -= 1;
}
