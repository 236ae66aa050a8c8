//! A base's own memory account: the bytes its bufferevents' buffers hold
//! and the optional budget they may not pass
//! ([`Config::set_max_memory`](crate::Config::set_max_memory)).
//!
//! # Design
//!
//! The counts above this one ([`MemStats`](crate::MemStats)) are
//! process-wide, like the memory functions. A budget must be per base, so
//! the base keeps this account by value and the layer that owns buffers
//! (the bufferevents) settles it: each bufferevent remembers what it last
//! charged, and at its settle points (before and after a socket read,
//! after each servicing, when it is freed) the account moves by the
//! difference between that and what its two buffers' chains hold now. A
//! socket read that would need a chain the budget has no room for fails
//! as a failed allocation would. Without a budget nothing is settled: the
//! hot paths pay one predictable branch, and
//! [`EventBase::mem_stats`](crate::EventBase::mem_stats) adds the
//! bufferevents' chain bytes up when asked.
//!
//! libevent has no per-base budget (nor per-base counts): its memory
//! functions are process-wide and know no base.

/// A base's budget and the bytes charged against it.
#[derive(Debug)]
pub(crate) struct Account {
    /// Bytes charged: the sum of what each bufferevent last settled.
    held: usize,
    /// The budget; `usize::MAX` when none.
    limit: usize,
    /// The most bytes held at a settle point.
    peak: usize,
}

impl Account {
    /// An account with budget `limit` (`None`: unlimited).
    pub(crate) const fn new(limit: Option<usize>) -> Account {
        Account {
            held: 0,
            limit: match limit {
                Some(l) => l,
                None => usize::MAX,
            },
            peak: 0,
        }
    }

    /// Whether a budget is set (the settle points run only then).
    #[inline(always)]
    pub(crate) fn limited(&self) -> bool {
        self.limit != usize::MAX
    }

    /// The budget, if any.
    pub(crate) fn limit(&self) -> Option<usize> {
        self.limited().then_some(self.limit)
    }

    /// Bytes charged now.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The most bytes charged at once so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    /// Bytes that may still be charged before the budget is reached.
    #[inline]
    pub(crate) fn room(&self) -> usize {
        self.limit.saturating_sub(self.held)
    }

    /// A holder that had charged `old` bytes now holds `new`: moves the
    /// account by the difference.
    #[inline]
    pub(crate) fn settle(&mut self, old: usize, new: usize) {
        self.held = self.held.wrapping_sub(old).wrapping_add(new);
        debug_assert!(self.held <= isize::MAX as usize, "account underflow");
        if self.held > self.peak {
            self.peak = self.held;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_by_difference() {
        let mut a = Account::new(Some(4096));
        assert!(a.limited());
        a.settle(0, 1024);
        a.settle(0, 2048);
        assert_eq!((a.held(), a.room()), (3072, 1024));
        a.settle(1024, 0);
        a.settle(2048, 8192);
        assert_eq!((a.held(), a.room(), a.peak()), (8192, 0, 8192));
        a.settle(8192, 0);
        assert_eq!(a.held(), 0);
        let u = Account::new(None);
        assert!(!u.limited() && u.limit().is_none());
    }
}
