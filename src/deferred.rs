//! Deferred callbacks: work queued without access to the base, run by the
//! loop (libevent's `event_deferred_cb` queue).
//!
//! Some callbacks must not run where their cause happens: an evbuffer with
//! deferred callbacks changes deep inside user code that holds no
//! `&mut EventBase`, and running the callback there would recurse into
//! code that is not expecting it. Such work goes into the base's
//! [`DeferredQueue`] through a cheap, thread-local handle and runs at the
//! start of the next loop iteration, before the loop decides whether to
//! block: queued work makes the poll non-blocking, so it never waits for
//! an unrelated event.
//!
//! Each round runs only what was queued when it started; work queued by
//! that work waits for the next iteration, so a callback that re-queues
//! itself cannot starve I/O.

use std::any::Any;
use std::cell::{Cell, RefCell};

use crate::error::Result;
use crate::mem::{self, MemRc, MemVec};

/// Work that runs from the loop with the base (of type `B`).
pub(crate) trait DeferredWork<B>: Any {
    /// Runs the work; `base` is the base whose queue held it.
    fn run(&self, base: &mut B);
    /// The work as `Any`, for its owner to reach its concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// A queued item: one handle to the work (the queue's own).
pub(crate) type Work<B> = MemRc<dyn DeferredWork<B>>;

/// A FIFO ring over a [`MemVec`] whose length is its capacity (`None` in
/// the free slots): queueing into reserved room never allocates.
pub(crate) struct Ring<T> {
    slots: MemVec<Option<T>>,
    head: usize,
    len: usize,
}

impl<T> Ring<T> {
    const fn new() -> Ring<T> {
        Ring {
            slots: mem::vec(),
            head: 0,
            len: 0,
        }
    }

    /// Items queued.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Makes room for `n` items in all; `Err(Alloc)` leaves the ring as
    /// it was.
    fn reserve_total(&mut self, n: usize) -> Result<()> {
        if n <= self.slots.len() {
            return Ok(());
        }
        let cap = n.max(4).next_power_of_two().max(self.slots.len() * 2);
        let mut slots: MemVec<Option<T>> = mem::vec();
        mem::reserve(&mut slots, cap)?;
        let n = self.len;
        for _ in 0..n {
            slots.push(self.pop_front());
        }
        slots.resize_with(cap, || None);
        self.slots = slots;
        self.head = 0;
        self.len = n;
        Ok(())
    }

    /// Appends `item`, growing if it has no room.
    fn push_back(&mut self, item: T) -> Result<()> {
        self.reserve_total(self.len + 1)?;
        let cap = self.slots.len();
        let i = (self.head + self.len) % cap;
        debug_assert!(self.slots[i].is_none());
        self.slots[i] = Some(item);
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest item.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.slots[self.head].take();
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        item
    }
}

/// A base's queue of deferred work; shared ([`MemRc`]) with whoever
/// queues. Generic over the base so that it sits below it.
///
/// Whoever may queue work later reserves a slot first
/// ([`reserve_slot`](Self::reserve_slot), fallible, when it registers),
/// so that [`push`](Self::push) — called where no error can be returned —
/// finds room without allocating.
pub(crate) struct DeferredQueue<B> {
    pub(crate) items: RefCell<Ring<Work<B>>>,
    /// `items.len()`, readable without a borrow: the loop checks it every
    /// iteration.
    pub(crate) queued: Cell<usize>,
    /// Slots reserved by registered producers.
    reserved: Cell<usize>,
    /// The base is gone: work is dropped, not queued (queued work holds
    /// its producer, which holds the queue: a cycle that would leak).
    closed: Cell<bool>,
}

impl<B> Default for DeferredQueue<B> {
    fn default() -> Self {
        DeferredQueue {
            items: RefCell::new(Ring::new()),
            queued: Cell::new(0),
            reserved: Cell::new(0),
            closed: Cell::new(false),
        }
    }
}

impl<B> DeferredQueue<B> {
    /// Bytes of the queue's storage (for statistics; queued work's own
    /// blocks are not counted).
    pub(crate) fn bytes(&self) -> usize {
        mem::vec_bytes(&self.items.borrow().slots)
    }

    /// Reserves room for one more producer's item (each producer is
    /// queued at most once at a time).
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc); nothing is reserved.
    pub(crate) fn reserve_slot(&self) -> Result<()> {
        let n = self.reserved.get() + 1;
        self.items.borrow_mut().reserve_total(n)?;
        self.reserved.set(n);
        Ok(())
    }

    /// Gives a slot of [`reserve_slot`](Self::reserve_slot) back (the
    /// producer is gone).
    pub(crate) fn release_slot(&self) {
        self.reserved.set(self.reserved.get().saturating_sub(1));
    }

    /// Queues `work` to run at the start of the next iteration. With a
    /// reserved slot this never allocates.
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc) if the queue had to
    /// grow and could not; `work` is dropped and nothing is queued.
    pub(crate) fn push(&self, work: Work<B>) -> Result<()> {
        if self.closed.get() {
            return Ok(());
        }
        let mut items = self.items.borrow_mut();
        items.push_back(work)?;
        self.queued.set(items.len());
        Ok(())
    }

    /// Drops everything queued and refuses more (the base is going away).
    /// Taken out first: dropping an item may queue again.
    pub(crate) fn clear(&self) {
        self.closed.set(true);
        let items = std::mem::replace(&mut *self.items.borrow_mut(), Ring::new());
        self.queued.set(0);
        drop(items);
    }

    /// Whether anything is queued.
    #[inline]
    pub(crate) fn has_work(&self) -> bool {
        self.queued.get() != 0
    }
}

impl<B> std::fmt::Debug for DeferredQueue<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredQueue")
            .field("queued", &self.items.borrow().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::EventBase;

    /// Counts its runs; re-queues itself when `again` (through a second
    /// handle it keeps until the test takes it).
    struct Count {
        runs: Cell<u32>,
        queue: MemRc<DeferredQueue<EventBase>>,
        again: bool,
        me: RefCell<Option<Work<EventBase>>>,
    }

    impl DeferredWork<EventBase> for Count {
        fn run(&self, _base: &mut EventBase) {
            self.runs.set(self.runs.get() + 1);
            if self.again {
                // Re-queueing waits for the next round.
                let me = self.me.borrow().clone().expect("set by the test");
                self.queue.push(me).unwrap();
            }
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn count(q: &MemRc<DeferredQueue<EventBase>>, again: bool) -> Work<EventBase> {
        let c = Count {
            runs: Cell::new(0),
            queue: q.clone(),
            again,
            me: RefCell::new(None),
        };
        let w: Work<EventBase> =
            MemRc::from_box(allocator_api2::unsize_box!(mem::rc_box(c).unwrap()));
        *runs_of(&w).me.borrow_mut() = Some(w.clone());
        w
    }

    fn runs_of(w: &Work<EventBase>) -> &Count {
        w.as_any().downcast_ref::<Count>().expect("a Count")
    }

    #[test]
    fn runs_once_per_round_and_requeues_for_the_next() {
        let mut base = EventBase::<()>::new().unwrap();
        let q = base.deferred_queue();
        let w = count(&q, true);
        q.reserve_slot().unwrap();
        q.push(w.clone()).unwrap();
        assert!(q.has_work());
        assert_eq!(base.run_deferred(), 1);
        assert_eq!(runs_of(&w).runs.get(), 1);
        assert!(q.has_work());
        assert_eq!(base.run_deferred(), 1);
        assert_eq!(runs_of(&w).runs.get(), 2);
        runs_of(&w).me.borrow_mut().take(); // break the self-cycle
        q.release_slot();
    }

    #[test]
    fn the_loop_runs_deferred_work_without_other_events() {
        let mut base = EventBase::<()>::new().unwrap();
        let q = base.deferred_queue();
        let w = count(&q, false);
        runs_of(&w).me.borrow_mut().take();
        q.push(w.clone()).unwrap();
        // Nothing pending, yet the queued work runs before the loop
        // reports it has nothing left.
        assert_eq!(
            base.run(crate::dispatch::LoopFlags::empty()).unwrap(),
            crate::dispatch::LoopStatus::NoEvents
        );
        assert_eq!(runs_of(&w).runs.get(), 1);
        assert!(!q.has_work());
    }

    #[test]
    fn the_ring_keeps_order_across_growth_and_wraparound() {
        let mut r: Ring<u32> = Ring::new();
        let mut next = 0;
        let mut expect = 0;
        for round in 0..50u32 {
            for _ in 0..(round % 7) {
                r.push_back(next).unwrap();
                next += 1;
            }
            for _ in 0..(round % 5) {
                if let Some(v) = r.pop_front() {
                    assert_eq!(v, expect);
                    expect += 1;
                }
            }
        }
        while let Some(v) = r.pop_front() {
            assert_eq!(v, expect);
            expect += 1;
        }
        assert_eq!(expect, next);
    }

    #[test]
    fn a_reserved_slot_queues_without_allocating() {
        let q: DeferredQueue<EventBase> = DeferredQueue::default();
        q.reserve_slot().unwrap();
        q.reserve_slot().unwrap();
        let cap = q.items.borrow().slots.len();
        let w: Work<EventBase> = MemRc::from_box(allocator_api2::unsize_box!(
            mem::rc_box(Count {
                runs: Cell::new(0),
                queue: MemRc::try_new(DeferredQueue::default()).unwrap(),
                again: false,
                me: RefCell::new(None),
            })
            .unwrap()
        ));
        for _ in 0..3 {
            q.push(MemRc::clone(&w)).unwrap();
            q.push(MemRc::clone(&w)).unwrap();
            assert!(q.items.borrow_mut().pop_front().is_some());
            assert!(q.items.borrow_mut().pop_front().is_some());
        }
        assert_eq!(q.items.borrow().slots.len(), cap, "no growth");
        q.clear();
        q.push(w).unwrap(); // refused quietly once closed
        assert!(!q.has_work());
    }
}
