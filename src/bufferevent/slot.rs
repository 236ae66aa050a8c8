//! Where a bufferevent keeps one of the user's closures — the read, write
//! and event callbacks and the two filter closures — and the one way they
//! are run: taken out of the record, called with the base, put back.
//!
//! A closure receives `&mut EventBase`, so it cannot run while the table
//! that holds it is borrowed: it is moved out of its slot first and the
//! slot is marked [`Taken`](Slot::Taken). While taken:
//! - the closure cannot run a second time (a nested trigger of the same
//!   callback, or a flush from inside a filter, finds nothing to run);
//! - setting a new closure or clearing the slot wins: the running closure
//!   is dropped when it returns instead of being put back.
//!
//! # Panic policy
//!
//! A closure that panics is dropped by the unwind and the slot stays
//! `Taken`: a callback slot then acts as empty (set a new callback to get
//! one again), and a filter direction moves no data — it never falls back
//! to passing bytes through unfiltered. The record itself stays valid. No
//! hook has to repair a slot after a panic: `Taken` without a running
//! closure is as good as empty everywhere but in `put_back`, which only
//! the (unwound) caller would have reached.

/// One closure's place in a record.
pub(crate) enum Slot<F> {
    /// Nothing set (for a filter direction: pass bytes through).
    Empty,
    /// Set and ready to run.
    Set(F),
    /// Taken out: running now, or lost to a panic (module docs).
    Taken,
}

impl<F> Slot<F> {
    /// Whether a closure is set and not running.
    pub(crate) fn is_set(&self) -> bool {
        matches!(self, Slot::Set(_))
    }

    /// Puts `f` in the slot; returns the closure it replaces, for the
    /// caller to drop once the table is no longer borrowed.
    pub(crate) fn set(&mut self, f: F) -> Option<F> {
        match std::mem::replace(self, Slot::Set(f)) {
            Slot::Set(old) => Some(old),
            _ => None,
        }
    }

    /// Empties the slot; returns the closure it held.
    pub(crate) fn clear(&mut self) -> Option<F> {
        match std::mem::replace(self, Slot::Empty) {
            Slot::Set(old) => Some(old),
            _ => None,
        }
    }

    /// Takes the closure out to run it; `None` (slot unchanged) when
    /// nothing is set or it is running already.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<F> {
        if let Slot::Set(_) = self
            && let Slot::Set(f) = std::mem::replace(self, Slot::Taken)
        {
            return Some(f);
        }
        None
    }

    /// Puts a closure that ran back, unless the slot was set or cleared
    /// meanwhile; then `f` is returned, for the caller to drop.
    #[inline]
    pub(crate) fn put_back(&mut self, f: F) -> Option<F> {
        if let Slot::Taken = self {
            *self = Slot::Set(f);
            None
        } else {
            Some(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Slot;

    #[test]
    fn a_closure_set_or_cleared_while_running_wins_over_put_back() {
        let mut s = Slot::Empty;
        assert!(s.take().is_none());
        assert!(s.set(1).is_none());
        assert_eq!(s.take(), Some(1));
        assert!(s.take().is_none(), "no second run while taken");
        assert!(!s.is_set());
        assert_eq!(s.put_back(1), None);
        assert!(s.is_set());

        assert_eq!(s.take(), Some(1));
        assert_eq!(s.set(2), None);
        assert_eq!(s.put_back(1), Some(1), "the new closure stays");
        assert_eq!(s.take(), Some(2));
        assert_eq!(s.clear(), None);
        assert_eq!(s.put_back(2), Some(2), "the clear stays");
        assert!(!s.is_set());
    }
}
