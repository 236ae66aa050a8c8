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

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// Work that runs from the loop with the base (of type `B`).
pub(crate) trait DeferredWork<B> {
    /// Runs the work; `base` is the base whose queue held it.
    fn run(self: Rc<Self>, base: &mut B);
}

/// A base's queue of deferred work; shared (`Rc`) with whoever queues.
/// Generic over the base so that it sits below it.
pub(crate) struct DeferredQueue<B> {
    pub(crate) items: RefCell<VecDeque<Rc<dyn DeferredWork<B>>>>,
    /// `items.len()`, readable without a borrow: the loop checks it every
    /// iteration.
    pub(crate) queued: Cell<usize>,
}

impl<B> Default for DeferredQueue<B> {
    fn default() -> Self {
        DeferredQueue {
            items: RefCell::default(),
            queued: Cell::new(0),
        }
    }
}

impl<B> DeferredQueue<B> {
    /// Queues `work` to run at the start of the next iteration.
    pub(crate) fn push(&self, work: Rc<dyn DeferredWork<B>>) {
        let mut items = self.items.borrow_mut();
        items.push_back(work);
        self.queued.set(items.len());
    }

    /// Drops everything queued (the base is going away). Taken out first:
    /// dropping an item may queue again.
    pub(crate) fn clear(&self) {
        let items = std::mem::take(&mut *self.items.borrow_mut());
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
    use std::cell::Cell;

    struct Count(Cell<u32>, Rc<DeferredQueue<EventBase>>, bool);

    impl DeferredWork<EventBase> for Count {
        fn run(self: Rc<Self>, _base: &mut EventBase) {
            self.0.set(self.0.get() + 1);
            if self.2 {
                // Re-queueing waits for the next round.
                self.1.push(self.clone());
            }
        }
    }

    #[test]
    fn runs_once_per_round_and_requeues_for_the_next() {
        let mut base = EventBase::<()>::new().unwrap();
        let q = base.deferred_queue();
        let w = Rc::new(Count(Cell::new(0), q.clone(), true));
        q.push(w.clone());
        assert!(q.has_work());
        assert_eq!(base.run_deferred(), 1);
        assert_eq!(w.0.get(), 1);
        assert!(q.has_work());
        assert_eq!(base.run_deferred(), 1);
        assert_eq!(w.0.get(), 2);
    }

    #[test]
    fn the_loop_runs_deferred_work_without_other_events() {
        let mut base = EventBase::<()>::new().unwrap();
        let q = base.deferred_queue();
        let w = Rc::new(Count(Cell::new(0), q.clone(), false));
        q.push(w.clone());
        // Nothing pending, yet the queued work runs before the loop
        // reports it has nothing left.
        assert_eq!(
            base.run(crate::dispatch::LoopFlags::empty()).unwrap(),
            crate::dispatch::LoopStatus::NoEvents
        );
        assert_eq!(w.0.get(), 1);
        assert!(!q.has_work());
    }
}
