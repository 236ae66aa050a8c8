//! Giving back what an empty buffer keeps: its chain list (and any empty
//! chain left for the next add), for a caller that knows the buffer went
//! idle — the bufferevent layer's housekeeping tick
//! ([`Config::set_idle_trim`](crate::Config::set_idle_trim)).
//!
//! An emptied buffer keeps its list on purpose: the next message then
//! makes no call to the pool or the memory functions, which is what the
//! echo path wants. Freeing it at every emptying would cost two calls per
//! message; freeing it once the buffer stayed empty for a while costs one
//! list allocation when a quiet connection speaks again.

use super::evbuffer::Evbuffer;
use crate::mem::{self, CompactVec};

impl Evbuffer {
    /// A number that changes with every change of content (the buffer's
    /// epoch): equal at two moments means untouched in between (barring
    /// wrap-around).
    #[inline]
    pub(crate) fn content_epoch(&self) -> u64 {
        self.stamp
    }

    /// Whether the buffer is empty but keeps memory: a chain list, and
    /// maybe an empty chain.
    #[inline]
    pub(crate) fn keeps_memory_empty(&self) -> bool {
        self.total_len == 0 && self.chains.capacity() != 0
    }

    /// Bytes the buffer holds besides its header and its chain blocks:
    /// its chain list (its capacity, whatever it holds: 48 bytes per
    /// chain slot) and its callback list with the callbacks' blocks (for
    /// statistics).
    pub(crate) fn list_bytes(&self) -> usize {
        let cbs = self.cbs.as_ref().map_or(0, |l| {
            let fns: usize = l
                .entries
                .iter()
                .filter_map(|e| e.f.as_ref())
                .map(|f| mem::pool_bytes_of(&**f))
                .sum();
            let sink = l.deferred.as_ref().map_or(0, |d| mem::pool_bytes_of(&**d));
            mem::pool_bytes_of(&**l) + mem::vec_bytes(&l.entries) + fns + sink
        });
        self.chains.capacity() * std::mem::size_of::<super::chain::Chain>() + cbs
    }

    /// Frees the chain list and the empty chains of an empty buffer
    /// without a pending reservation (the account is credited for the
    /// chains); returns whether it did. The content is unchanged, so no
    /// callback runs; positions into the buffer go stale, as after any
    /// change.
    pub(crate) fn release_empty(&mut self) -> bool {
        if !self.keeps_memory_empty() || self.reservation().is_some() {
            return false;
        }
        self.credit_chains(self.head()..self.chains.len());
        self.chains = CompactVec::default();
        self.head = 0;
        self.touch();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_only_an_empty_buffer_without_reservation() {
        let mut b = Evbuffer::new();
        assert!(!b.release_empty(), "nothing kept yet");
        b.add(b"hello").unwrap();
        assert!(!b.release_empty(), "holds data");
        assert!(b.list_bytes() >= 48);
        b.drain(5).unwrap();
        assert!(b.keeps_memory_empty());
        let e = b.content_epoch();
        assert!(b.release_empty());
        assert_ne!(b.content_epoch(), e);
        assert_eq!((b.list_bytes(), b.chain_stats()), (0, (0, 0)));
        b.assert_invariants();
        // Usable again.
        b.add(b"again").unwrap();
        assert_eq!(b.len(), 5);
        b.drain(5).unwrap();
        b.reserve_space(100).unwrap();
        assert!(!b.release_empty(), "a reservation is pending");
        b.commit_space(0).unwrap();
        assert!(b.release_empty());
        b.assert_invariants();
    }
}
