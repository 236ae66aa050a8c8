//! Timeout scheduling: deadlines in the 4-ary timer heap, or in a common
//! timeout's FIFO whose head alone sits in the heap; moving expired
//! deadlines to the active queues; re-arming periodic events. The heap and
//! queue structures are in `timer.rs`; this is what the base does with
//! them.

use crate::base::{BaseExt, EventBase};
use crate::ev::Ev;
use crate::slots::{NIL, state};
use crate::timer::{CT_TAG, CommonQueue, HeapEntry};

impl<X: BaseExt> EventBase<X> {
    /// Puts `idx` in the heap at `deadline` (moving it if already there).
    #[inline]
    pub(crate) fn schedule(&mut self, idx: u32, deadline: u64) {
        let s = &self.slots[idx];
        if s.has(state::TIMEOUT) && !s.has(state::COMMON) {
            let at = s.heap_idx;
            self.slots[idx].deadline = deadline;
            let (heap, slots, commons) = (&mut self.heap, &mut self.slots, &mut self.commons);
            heap.update(at, deadline, &mut |id, p| set_pos(slots, commons, id, p));
            return;
        }
        self.unschedule(idx);
        let s = &mut self.slots[idx];
        if !s.is_pending() {
            self.n_pending += 1;
        }
        s.deadline = deadline;
        s.state |= state::TIMEOUT;
        let (heap, slots, commons) = (&mut self.heap, &mut self.slots, &mut self.commons);
        heap.push(HeapEntry { deadline, id: idx }, &mut |id, p| {
            set_pos(slots, commons, id, p)
        });
    }

    /// Appends `idx` to common queue `ct`, keeping the queue sorted.
    pub(crate) fn schedule_common(&mut self, idx: u32, ct: u8, deadline: u64) {
        self.unschedule(idx);
        let q = usize::from(ct);
        // Walk back from the tail while the tail is later (rare: only a
        // periodic re-arm from an old deadline lands before the tail).
        let mut after = self.commons[q].tail;
        while after != NIL && self.slots[after].deadline > deadline {
            after = self.slots[after].tq_prev();
        }
        let before = if after == NIL {
            self.commons[q].head
        } else {
            self.slots[after].tq_next
        };
        let s = &mut self.slots[idx];
        if !s.is_pending() {
            self.n_pending += 1;
        }
        s.deadline = deadline;
        s.ct = ct;
        s.state |= state::TIMEOUT | state::COMMON;
        s.set_tq_prev(after);
        s.tq_next = before;
        if before == NIL {
            self.commons[q].tail = idx;
        } else {
            self.slots[before].set_tq_prev(idx);
        }
        if after == NIL {
            self.commons[q].head = idx;
            self.common_head_changed(q);
        } else {
            self.slots[after].tq_next = idx;
        }
    }

    /// Keeps the heap entry of common queue `q` at its head's deadline.
    fn common_head_changed(&mut self, q: usize) {
        let head = self.commons[q].head;
        let at = self.commons[q].heap_idx;
        let deadline = if head == NIL {
            0
        } else {
            self.slots[head].deadline
        };
        let (heap, slots, commons) = (&mut self.heap, &mut self.slots, &mut self.commons);
        let mut pos = |id, p| set_pos(slots, commons, id, p);
        if head == NIL {
            if at != NIL {
                heap.remove(at, &mut pos);
                commons[q].heap_idx = NIL;
            }
        } else {
            if at == NIL {
                heap.push(
                    HeapEntry {
                        deadline,
                        id: CT_TAG | q as u32,
                    },
                    &mut pos,
                );
            } else {
                heap.update(at, deadline, &mut pos);
            }
        }
    }

    /// Removes `idx`'s timeout, if any; its `deadline` field is kept.
    #[inline]
    pub(crate) fn unschedule(&mut self, idx: u32) {
        if self.slots[idx].has(state::TIMEOUT) {
            self.unschedule_queued(idx);
        }
    }

    pub(crate) fn unschedule_queued(&mut self, idx: u32) {
        let s = &self.slots[idx];
        if s.has(state::COMMON) {
            let (q, prev, next) = (usize::from(s.ct), s.tq_prev(), s.tq_next);
            if prev == NIL {
                self.commons[q].head = next;
            } else {
                self.slots[prev].tq_next = next;
            }
            if next == NIL {
                self.commons[q].tail = prev;
            } else {
                self.slots[next].set_tq_prev(prev);
            }
            let s = &mut self.slots[idx];
            s.set_tq_prev(NIL);
            s.tq_next = NIL;
            if prev == NIL {
                self.common_head_changed(q);
            }
        } else {
            let at = s.heap_idx;
            let (heap, slots, commons) = (&mut self.heap, &mut self.slots, &mut self.commons);
            heap.remove(at, &mut |id, p| set_pos(slots, commons, id, p));
            self.slots[idx].heap_idx = NIL;
        }
        let s = &mut self.slots[idx];
        s.state &= !(state::TIMEOUT | state::COMMON);
        if !s.is_pending() {
            self.n_pending -= 1;
        }
    }

    /// Moves every expired deadline to the active queues
    /// (libevent's `timeout_process`).
    pub(crate) fn timeout_process(&mut self, now: u64) {
        while let Some(top) = self.heap.top() {
            if top.deadline > now {
                break;
            }
            if top.id & CT_TAG == 0 {
                self.expire(top.id);
            } else {
                let q = (top.id & !CT_TAG) as usize;
                loop {
                    let head = self.commons[q].head;
                    if head == NIL || self.slots[head].deadline > now {
                        break;
                    }
                    self.expire(head);
                }
            }
        }
    }

    fn expire(&mut self, idx: u32) {
        self.unschedule(idx);
        if !self.slots[idx].what.contains(Ev::PERSIST) {
            self.remove_inserted(idx);
        }
        self.activate(idx, Ev::TIMEOUT, 1);
    }

    /// Re-arms a periodic event before its callback: from the old
    /// deadline if it fired by timeout, else from now, and never into the
    /// past (no catch-up bursts).
    pub(crate) fn rearm(&mut self, idx: u32, res: Ev) {
        let now = self.now_ns();
        let s = &self.slots[idx];
        let interval = s.interval;
        let mut at = if res.contains(Ev::TIMEOUT) {
            s.deadline.saturating_add(interval)
        } else {
            now.saturating_add(interval)
        };
        if at < now {
            at = now.saturating_add(interval);
        }
        if s.has(state::PERIODIC_COMMON) {
            let ct = s.ct;
            self.schedule_common(idx, ct, at);
        } else if s.state & (state::TIMEOUT | state::COMMON) == state::TIMEOUT && at >= s.deadline {
            // Fired by I/O while its timeout is still in the heap: the
            // deadline only moves later, so it only sifts down.
            let pos = s.heap_idx;
            self.slots[idx].deadline = at;
            let (heap, slots, commons) = (&mut self.heap, &mut self.slots, &mut self.commons);
            heap.delay(pos, at, &mut |id, p| set_pos(slots, commons, id, p));
        } else if self.heap.reserve_one(&self.account).is_ok() {
            self.schedule(idx, at);
        } else {
            crate::log::log(
                crate::log::Severity::Err,
                format_args!("cannot re-arm a persistent timeout: out of memory"),
            );
        }
    }
}

#[inline]
fn set_pos<B>(slots: &mut crate::slots::Slots<B>, commons: &mut [CommonQueue], id: u32, p: u32) {
    if id & CT_TAG == 0 {
        slots[id].heap_idx = p;
    } else {
        commons[(id & !CT_TAG) as usize].heap_idx = p;
    }
}
