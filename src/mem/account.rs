//! A base's own memory account: the bytes of the chain blocks its buffers
//! hold, and the optional budget they may not pass
//! ([`Config::set_max_memory`](crate::Config::set_max_memory)).
//!
//! # Design
//!
//! The counts of [`MemStats`](crate::MemStats) are process-wide, like the
//! memory functions. A budget must be per base, so each base makes one
//! account (in a [`MemRc`](super::MemRc)) and every buffer of that base —
//! the bufferevents' inputs and outputs, and the buffers a user makes with
//! `Evbuffer::new_in` — holds a handle to it. The buffer charges the
//! account on its chain allocation path, before the block is taken (a
//! charge that would pass the budget fails like a failed allocation),
//! credits it when it frees or gives away a chain, and moves the charge
//! when a chain moves to a buffer of another account. The handle keeps the
//! account alive, so a buffer that outlives its base stays valid: it then
//! charges an account nobody else reads.
//!
//! An account is a few `Cell`s: a base and its buffers live on one thread.
//!
//! libevent has no per-base budget (nor per-base counts): its memory
//! functions are process-wide and know no base.

use std::cell::Cell;

use super::rc::MemRc;
use crate::error::{Error, Result};

/// A base's budget and the chain bytes charged against it.
#[derive(Debug)]
pub(crate) struct Account {
    /// Bytes charged now.
    held: Cell<usize>,
    /// The budget; `usize::MAX` when none.
    limit: usize,
    /// The most bytes charged at once so far.
    peak: Cell<usize>,
}

impl Account {
    /// An account with budget `limit` (`None`: unlimited).
    pub(crate) const fn new(limit: Option<usize>) -> Account {
        Account {
            held: Cell::new(0),
            limit: match limit {
                Some(l) => l,
                None => usize::MAX,
            },
            peak: Cell::new(0),
        }
    }

    /// The budget, if any.
    #[inline]
    pub(crate) fn limit(&self) -> Option<usize> {
        (self.limit != usize::MAX).then_some(self.limit)
    }

    /// Bytes charged now.
    #[inline]
    pub(crate) fn held(&self) -> usize {
        self.held.get()
    }

    /// The most bytes charged at once so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Charges `n` bytes about to be allocated (or moved in).
    ///
    /// # Errors
    /// [`Error::Alloc`] when that would pass the budget; nothing charged.
    #[inline]
    pub(crate) fn charge(&self, n: usize) -> Result<()> {
        match self.held.get().checked_add(n) {
            Some(h) if h <= self.limit => {
                self.held.set(h);
                if h > self.peak.get() {
                    self.peak.set(h);
                }
                Ok(())
            }
            _ => Err(Error::Alloc),
        }
    }

    /// Credits `n` bytes freed (or moved out).
    #[inline]
    pub(crate) fn credit(&self, n: usize) {
        debug_assert!(n <= self.held.get(), "account underflow");
        self.held.set(self.held.get().wrapping_sub(n));
    }
}

/// Whether `a` and `b` are the same account, or both none: one compare.
#[inline]
pub(crate) fn same(a: &Option<MemRc<Account>>, b: &Option<MemRc<Account>>) -> bool {
    let addr =
        |o: &Option<MemRc<Account>>| o.as_deref().map_or(std::ptr::null(), std::ptr::from_ref);
    std::ptr::eq(addr(a), addr(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit() {
        let a = Account::new(Some(4096));
        a.charge(1024).unwrap();
        a.charge(2048).unwrap();
        assert!(
            matches!(a.charge(2048), Err(Error::Alloc)),
            "3072 + 2048 > 4096"
        );
        assert_eq!(a.held(), 3072, "a refused charge changes nothing");
        a.charge(1024).unwrap();
        a.credit(3072);
        assert_eq!((a.held(), a.peak(), a.limit()), (1024, 4096, Some(4096)));
        assert!(
            matches!(a.charge(usize::MAX), Err(Error::Alloc)),
            "overflow"
        );
        let u = Account::new(None);
        u.charge(usize::MAX / 2).unwrap();
        assert!(u.limit().is_none());
    }
}
