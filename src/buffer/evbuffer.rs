//! The [`Evbuffer`] struct and the primitives the other files of the
//! chapter build on: the chain list, the length, the content epoch, the
//! buffer's identity and the `hooks` byte. Each sibling file adds one
//! part of libevent's evbuffer as an `impl Evbuffer` block over these
//! fields; this file names none of them.

// Maintainer notes: the chain list is a `MemVec<Chain>` whose live part is
// `chains[head..]`; popping the front leaves `Chain::EMPTY` placeholders
// (no block) below `head`, reclaimed when the list grows or empties, so
// drains are O(1) per chain. `epoch` changes with every change of content;
// `EvbufferPtr` and reservations compare it to know whether their cached
// chain index is still valid. Every public mutation tests `hooks` once and,
// when it is non-zero (frozen side or callbacks), takes the cold `hooked` /
// `hooked2` wrapper (`callback.rs`) around its `_raw` body; internal code
// calls the `_raw` forms so one public call makes one callback round.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cb_list::CbBox;
use super::chain::Chain;
use crate::error::{Error, Result};
use crate::mem::{self, MemVec};

/// Default of [`Evbuffer::max_read`] (libevent's `EVBUFFER_MAX_READ_DEFAULT`).
pub const DEFAULT_MAX_READ: usize = 4096;

/// Largest accepted [`Evbuffer::set_max_read`].
pub const MAX_READ_LIMIT: usize = 1 << 20;

/// Source of buffer identities, so a position from one buffer is never
/// trusted by another.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A growable byte queue made of chains (libevent's `struct evbuffer`).
///
/// Add at the end, take from the front, move data between buffers without
/// copying, search and read lines across chain boundaries.
///
/// # Examples
///
/// ```
/// use rvent::{EolStyle, Evbuffer};
///
/// let mut buf = Evbuffer::new();
/// buf.add(b"GET / HTTP/1.1\r\n")?;
/// buf.add_fmt(format_args!("Host: {}\r\n", "example.org"))?;
/// assert_eq!(buf.readln(EolStyle::Crlf).as_deref(), Some(&b"GET / HTTP/1.1"[..]));
/// assert_eq!(buf.readln(EolStyle::Crlf).as_deref(), Some(&b"Host: example.org"[..]));
/// assert_eq!(buf.readln(EolStyle::Crlf), None);
/// assert!(buf.is_empty());
/// # Ok::<(), rvent::Error>(())
/// ```
///
/// A buffer stays on its thread (`!Send`): its chains belong to that
/// thread's pool.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(rvent::Evbuffer::new());
/// ```
#[doc(alias = "evbuffer")]
pub struct Evbuffer {
    /// Live chains are `chains[head..]`; below `head`, placeholders.
    pub(super) chains: MemVec<Chain>,
    pub(super) head: usize,
    pub(super) total_len: usize,
    /// Changes with every change of content (see `EvbufferPtr`).
    pub(super) epoch: u64,
    pub(super) id: u64,
    /// The pending reservation: first live chain index and length (the
    /// room of that chain, then of the following ones).
    pub(super) reservation: Option<(usize, usize)>,
    /// Bytes one `read_from` reads at most.
    pub(super) max_read: u32,
    /// [`FROZEN_FRONT`] | [`FROZEN_END`] | [`HAS_CBS`]: zero keeps every
    /// mutation on its fast path (one test of this byte).
    pub(super) hooks: u8,
    /// The callbacks (`callback.rs`), boxed: a buffer without any pays
    /// one pointer.
    pub(super) cbs: Option<CbBox<Evbuffer>>,
}

/// `hooks` bit: the front is frozen.
pub(super) const FROZEN_FRONT: u8 = 1;
/// `hooks` bit: the end is frozen.
pub(super) const FROZEN_END: u8 = 2;
/// `hooks` bit: callbacks are registered.
pub(super) const HAS_CBS: u8 = 4;

impl Default for Evbuffer {
    fn default() -> Self {
        Evbuffer::new()
    }
}

impl fmt::Debug for Evbuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evbuffer")
            .field("len", &self.total_len)
            .field("chains", &self.live())
            .finish()
    }
}

impl Evbuffer {
    /// An empty buffer; allocates nothing until data arrives.
    ///
    /// # Examples
    ///
    /// ```
    /// let buf = rvent::Evbuffer::new();
    /// assert_eq!(buf.len(), 0);
    /// ```
    #[doc(alias = "evbuffer_new")]
    pub fn new() -> Self {
        Evbuffer {
            chains: mem::vec(),
            head: 0,
            total_len: 0,
            epoch: 0,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            reservation: None,
            max_read: DEFAULT_MAX_READ as u32,
            hooks: 0,
            cbs: None,
        }
    }

    /// Bytes stored.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abc")?;
    /// assert_eq!(buf.len(), 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_get_length")]
    #[inline]
    pub fn len(&self) -> usize {
        self.total_len
    }

    /// Whether the buffer holds no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.total_len == 0
    }

    /// Bytes stored contiguously at the front (the first chain's data):
    /// how much [`pullup`](Self::pullup) can return without copying.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// assert_eq!(buf.contiguous_space(), 0);
    /// buf.add(b"hello")?;
    /// assert_eq!(buf.contiguous_space(), 5);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_get_contiguous_space")]
    #[inline]
    pub fn contiguous_space(&self) -> usize {
        self.live().first().map_or(0, Chain::len)
    }

    /// The data, chain by chain (no empty slices).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"ab")?;
    /// buf.prepend(b"xy")?;
    /// let all: Vec<u8> = buf.chunks().flatten().copied().collect();
    /// assert_eq!(all, b"xyab");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.live()
            .iter()
            .take_while(|c| !c.is_empty())
            .map(Chain::data)
    }

    // ----- the chain list -----------------------------------------------

    #[inline]
    pub(super) fn live(&self) -> &[Chain] {
        &self.chains[self.head..]
    }

    #[inline]
    pub(super) fn live_mut(&mut self) -> &mut [Chain] {
        &mut self.chains[self.head..]
    }

    /// Records a change of content: positions and reservations go stale.
    #[inline]
    pub(super) fn touch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.reservation = None;
    }

    /// Number of live chains holding data (they come first).
    #[inline]
    pub(super) fn data_chains(&self) -> usize {
        let live = self.live();
        let mut n = live.len();
        while n > 0 && live[n - 1].is_empty() {
            n -= 1;
        }
        n
    }

    /// Room in the list for `n` more chains at the end, compacting the
    /// placeholders first when that avoids growing.
    #[inline]
    pub(super) fn reserve_chains(&mut self, n: usize) -> Result<()> {
        if self.chains.capacity() - self.chains.len() >= n {
            return Ok(());
        }
        self.reserve_chains_slow(n)
    }

    #[cold]
    fn reserve_chains_slow(&mut self, n: usize) -> Result<()> {
        if self.head > 0 {
            self.chains.drain(..self.head);
            self.head = 0;
            if self.chains.capacity() - self.chains.len() >= n {
                return Ok(());
            }
        }
        if self.chains.capacity() == 0 {
            // A first list holds exactly what is asked (one chain, for a
            // read or an add): most buffers never hold more, and an idle
            // one keeps its list (cleared, not freed, so the next cycle
            // makes no call), so it should be small. Growing beyond
            // goes amortised.
            return self.chains.try_reserve_exact(n).map_err(|_| Error::Alloc);
        }
        mem::reserve(&mut self.chains, n)
    }

    /// Drops the live chains from index `from` on (trailing empty chains).
    #[inline]
    pub(super) fn truncate_chains(&mut self, from: usize) {
        if self.head + from >= self.chains.len() {
            return;
        }
        self.chains.truncate(self.head + from);
        if self.chains.len() == self.head {
            self.chains.clear();
            self.head = 0;
        }
    }

    /// Removes the first `k` live chains.
    pub(super) fn pop_front_chains(&mut self, k: usize) {
        for c in &mut self.chains[self.head..self.head + k] {
            *c = Chain::EMPTY;
        }
        self.head += k;
        if self.head == self.chains.len() {
            self.chains.clear();
            self.head = 0;
        }
    }

    /// Bytes of the blocks this buffer's own chains hold (shared chains
    /// view blocks owned elsewhere and count nothing): what it charges
    /// its base's account.
    #[inline]
    pub(crate) fn held_bytes(&self) -> usize {
        self.live()
            .iter()
            .filter(|c| !c.is_shared())
            .map(Chain::cap)
            .sum()
    }

    /// The number of chains and the bytes of memory they hold (for the
    /// waste checks of the tests).
    #[doc(hidden)]
    pub fn chain_stats(&self) -> (usize, usize) {
        let live = self.live();
        (live.len(), live.iter().map(Chain::cap).sum())
    }

    /// Checks the layout invariants (libevent's `evbuffer_validate_`):
    /// chain windows inside their blocks, no empty chain before a chain
    /// with data, lengths summing to [`len`](Self::len). For tests and
    /// fuzzing.
    ///
    /// # Panics
    /// If an invariant is broken, naming it and the values.
    #[doc(hidden)]
    pub fn assert_invariants(&self) {
        assert!(
            self.head <= self.chains.len(),
            "head {} > chains {}",
            self.head,
            self.chains.len()
        );
        assert!(
            self.head < self.chains.len() || self.chains.is_empty(),
            "no live chain but {} placeholders kept",
            self.head
        );
        for (i, c) in self.chains[..self.head].iter().enumerate() {
            assert!(c.cap() == 0, "placeholder {i} holds a block");
        }
        let mut sum = 0usize;
        let mut seen_empty = None;
        for (i, c) in self.live().iter().enumerate() {
            c.check();
            assert!(c.cap() != 0, "live chain {i} has no block");
            if c.is_empty() {
                seen_empty.get_or_insert(i);
            } else if let Some(e) = seen_empty {
                panic!("empty chain {e} before chain {i} with data");
            }
            sum = sum.checked_add(c.len()).expect("length sum overflows");
        }
        assert_eq!(sum, self.total_len, "chain lengths vs total length");
        if let Some((i, len)) = self.reservation {
            let room: usize = self.live().iter().skip(i).map(Chain::space).sum();
            assert!(room >= len, "reservation of {len} beyond the room ({room})");
            assert!(
                len == 0 || self.live()[..i].iter().all(|c| !c.is_empty()),
                "reservation after an empty chain"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sizes() {
        // Per chain (libevent: 48 bytes in front of each block) and per
        // buffer; the README reports these.
        assert_eq!(std::mem::size_of::<Chain>(), 48);
        assert_eq!(std::mem::size_of::<Evbuffer>(), 96);
    }
}
