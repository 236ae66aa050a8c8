//! The [`Evbuffer`] struct and the primitives the other files of the
//! chapter build on: the chain list, the length, the content stamp (the
//! buffer's identity and generation in one word) and the `hooks` word. Each sibling file adds one
//! part of libevent's evbuffer as an `impl Evbuffer` block over these
//! fields; this file names none of them.

// Maintainer notes: the chain list is a `CompactVec<Chain>` whose live
// part is `chains[head..]`; popping the front leaves `Chain::EMPTY`
// placeholders (no block) below `head`, reclaimed when the list grows or
// empties, so drains are O(1) per chain. `stamp` changes with every change
// of content; `EvbufferPtr` compares it to know whether its cached chain
// index is still valid (reservations are cleared by the same `touch`). Every public mutation tests `hooks` once and,
// when it is non-zero (frozen side or callbacks), takes the cold `hooked` /
// `hooked2` wrapper (`callback.rs`) around its `_raw` body; internal code
// calls the `_raw` forms so one public call makes one callback round.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cb_list::CbBox;
use super::chain::Chain;
use crate::base::{BaseExt, EventBase};
#[cfg(doc)]
use crate::config::Config;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::mem::{self, Account, CompactVec, MemRc};

/// Default of [`Evbuffer::max_read`] (libevent's `EVBUFFER_MAX_READ_DEFAULT`).
pub const DEFAULT_MAX_READ: usize = 4096;

/// Largest accepted [`Evbuffer::set_max_read`].
pub const MAX_READ_LIMIT: usize = 1 << 20;

/// Source of buffer identities: a new buffer's [`Evbuffer::stamp`] is the
/// next one times 2^32, so a position from one buffer is not trusted by
/// another.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Where a buffer's identity sits in its first stamp.
const ID_SHIFT: u32 = 32;

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
    /// Sixteen bytes: a chain list never holds 2^32 chains (that would
    /// be 192 GiB of headers).
    pub(super) chains: CompactVec<Chain>,
    pub(super) total_len: usize,
    /// The buffer's identity and content generation in one word: the
    /// buffer's id times 2^32 when made, plus one per change of content
    /// (see `EvbufferPtr`). Two stamps are equal only for the same
    /// buffer in the same state, unless a buffer went through 2^32
    /// changes (its stamp then runs into the next id's range) or 2^32
    /// buffers were made (ids wrap): a position kept across that may be
    /// taken as current — it is still checked against the chain list, so
    /// at worst it names a wrong offset of the same buffer's data, never
    /// memory outside it.
    pub(super) stamp: u64,
    /// The callbacks (`callback.rs`), boxed: a buffer without any pays
    /// one pointer.
    pub(super) cbs: Option<CbBox<Evbuffer>>,
    /// The account of the base this buffer belongs to, charged for its
    /// chain blocks (`None`: a free-standing buffer, charged nowhere).
    pub(super) account: Option<MemRc<Account>>,
    /// Index in `chains` of the first live chain.
    pub(super) head: u32,
    /// The pending reservation's first live chain index ([`NO_RESERVATION`]
    /// when none) and length (the room of that chain, then of the
    /// following ones; at most `u32::MAX`).
    reserved_at: u32,
    reserved_len: u32,
    /// [`FROZEN_FRONT`] | [`FROZEN_END`] | [`HAS_CBS`] in the low byte
    /// (any of them set takes a mutation off its fast path: one test of
    /// this word), and [`max_read`](Self::max_read) above it
    /// ([`MAX_READ_LIMIT`] needs 21 bits): packed, so the header is 64
    /// bytes.
    pub(super) hooks: u32,
}

/// Accounting mode of a body that may meet a charged buffer: each chain
/// allocation and free checks the account (one branch).
pub(super) const ACCOUNTED: bool = true;
/// Accounting mode of a body run only on buffers that charge nothing —
/// the fast paths, once the hooks test (which includes [`CHARGED`]) has
/// passed: no account check at all.
pub(super) const UNCHARGED: bool = false;

/// `reserved_at` when no reservation is pending.
const NO_RESERVATION: u32 = u32::MAX;

/// Where `hooks` keeps [`Evbuffer::max_read`].
const MAX_READ_SHIFT: u32 = 8;

/// `hooks` bit: the front is frozen.
pub(super) const FROZEN_FRONT: u32 = 1;
/// `hooks` bit: the end is frozen.
pub(super) const FROZEN_END: u32 = 2;
/// `hooks` bit: callbacks are registered.
pub(super) const HAS_CBS: u32 = 4;
/// `hooks` bit: the buffer charges an account. The hottest operations
/// (`add_buffer`, `drain`, reads and writes through descriptors) test it
/// with the other bits and run an [`UNCHARGED`] body when none is set, so
/// a buffer that charges nothing pays nothing for accounts there; a
/// charged buffer takes their hooked path, which checks the account.
pub(super) const CHARGED: u32 = 8;

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
            chains: CompactVec::new(),
            total_len: 0,
            stamp: NEXT_ID.fetch_add(1, Ordering::Relaxed) << ID_SHIFT,
            cbs: None,
            account: None,
            head: 0,
            reserved_at: NO_RESERVATION,
            reserved_len: 0,
            hooks: (DEFAULT_MAX_READ as u32) << MAX_READ_SHIFT,
        }
    }

    /// An empty buffer whose chain blocks count against `base`'s memory
    /// account and budget ([`Config::set_max_memory`]): an add, read or
    /// move into it that would need a chain the budget has no room for
    /// fails with [`Error::Alloc`], the buffer unchanged, as if the
    /// allocation had failed. The buffers of bufferevents are made so.
    /// Allocates nothing; the buffer may outlive the base (it keeps the
    /// account alive, and charges it alone then).
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{Config, EventBase, Evbuffer};
    /// let mut cfg = Config::new();
    /// cfg.set_max_memory(Some(4096));
    /// let base = EventBase::with_config(&cfg)?;
    /// let mut buf = Evbuffer::new_in(&base);
    /// buf.add(&[0; 4096])?; // one 4 KiB chain: the whole budget
    /// assert!(buf.add(b"x").is_err()); // a second chain would pass it
    /// assert_eq!(buf.len(), 4096);
    /// assert_eq!(base.mem_stats().base_chain_bytes, 4096);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn new_in<X: BaseExt>(base: &EventBase<X>) -> Self {
        let mut buf = Evbuffer::new();
        buf.set_account(&base.account);
        buf
    }

    /// Whether the buffer charges an account.
    #[inline]
    pub(crate) fn is_charged(&self) -> bool {
        self.account.is_some()
    }

    /// The account the buffer charges, if any.
    #[inline]
    pub(crate) fn account(&self) -> Option<&MemRc<Account>> {
        self.account.as_ref()
    }

    /// Makes this (empty, free-standing) buffer charge `account`.
    pub(crate) fn set_account(&mut self, account: &MemRc<Account>) {
        debug_assert!(self.account.is_none() && self.chains.capacity() == 0);
        self.account = Some(MemRc::clone(account));
        self.hooks |= CHARGED;
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
    ///
    /// # Examples
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// assert!(buf.is_empty());
    /// buf.add(b"x")?;
    /// assert!(!buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
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

    /// Index in `chains` of the first live chain.
    #[inline]
    pub(super) fn head(&self) -> usize {
        self.head as usize
    }

    #[inline]
    pub(super) fn set_head(&mut self, head: usize) {
        debug_assert!(head <= self.chains.len());
        self.head = head as u32;
    }

    #[inline]
    pub(super) fn live(&self) -> &[Chain] {
        &self.chains[self.head()..]
    }

    #[inline]
    pub(super) fn live_mut(&mut self) -> &mut [Chain] {
        let head = self.head();
        &mut self.chains[head..]
    }

    /// Records a change of content: positions and reservations go stale.
    #[inline]
    pub(super) fn touch(&mut self) {
        self.stamp = self.stamp.wrapping_add(1);
        self.reserved_at = NO_RESERVATION;
    }

    /// The pending reservation: first live chain index and length.
    #[inline]
    pub(super) fn reservation(&self) -> Option<(usize, usize)> {
        (self.reserved_at != NO_RESERVATION)
            .then_some((self.reserved_at as usize, self.reserved_len as usize))
    }

    /// Records a reservation of `len` bytes from live chain `at` (`len`
    /// was checked against [`MAX_RESERVATION`]).
    #[inline]
    pub(super) fn set_reservation(&mut self, at: usize, len: usize) {
        debug_assert!(len <= MAX_RESERVATION && at < NO_RESERVATION as usize);
        self.reserved_at = at as u32;
        self.reserved_len = len as u32;
    }

    /// Drops the pending reservation, if any.
    #[inline]
    pub(super) fn clear_reservation(&mut self) {
        self.reserved_at = NO_RESERVATION;
    }

    /// Bytes one `read_from` reads at most.
    #[inline]
    pub(super) fn max_read_len(&self) -> usize {
        (self.hooks >> MAX_READ_SHIFT) as usize
    }

    /// Sets [`max_read_len`](Self::max_read_len) (checked by the caller
    /// against [`MAX_READ_LIMIT`]).
    #[inline]
    pub(super) fn set_max_read_len(&mut self, n: usize) {
        debug_assert!(n <= MAX_READ_LIMIT);
        self.hooks = (self.hooks & ((1 << MAX_READ_SHIFT) - 1)) | ((n as u32) << MAX_READ_SHIFT);
    }

    // ----- chain blocks and the account ---------------------------------

    /// A new empty chain of `size` bytes (a chain size: a power of two of
    /// at least 1 KiB, or exact past the pool's classes), charged to the
    /// buffer's account first: the one chain allocation path of a buffer.
    ///
    /// # Errors
    /// [`Error::Alloc`] when the account's budget has no room for it or
    /// the block cannot be had; nothing is charged then.
    #[inline(always)]
    pub(super) fn new_chain(&self, size: usize) -> Result<Chain> {
        if let Some(a) = &self.account {
            charge_chain(a, size)?;
        }
        Chain::with_capacity(size).inspect_err(|_| self.credit(|| size))
    }

    /// [`new_chain`](Self::new_chain) in a body of accounting mode `A`
    /// ([`ACCOUNTED`] or [`UNCHARGED`]).
    #[inline(always)]
    pub(super) fn new_chain_in<const A: bool>(&self, size: usize) -> Result<Chain> {
        if A {
            self.new_chain(size)
        } else {
            debug_assert!(self.account.is_none(), "uncharged body on a charged buffer");
            Chain::with_capacity(size)
        }
    }

    /// Credits the account with the blocks of `chains[range]` (absolute
    /// indexes), about to be dropped or moved out.
    #[inline]
    pub(super) fn credit_chains(&self, range: std::ops::Range<usize>) {
        self.credit_chains_in::<true>(range);
    }

    /// [`credit_chains`](Self::credit_chains) in a body of accounting mode
    /// `A` ([`ACCOUNTED`] or [`UNCHARGED`]).
    #[inline(always)]
    pub(super) fn credit_chains_in<const A: bool>(&self, range: std::ops::Range<usize>) {
        if !A {
            debug_assert!(self.account.is_none(), "uncharged body on a charged buffer");
            return;
        }
        if let Some(a) = &self.account {
            a.credit(owned_bytes(&self.chains[range]));
        }
    }

    /// Credits the account with the blocks of `chains`, taken out of this
    /// buffer's list and about to be dropped.
    #[inline]
    pub(super) fn credit_detached(&self, chains: &[Chain]) {
        self.credit(|| owned_bytes(chains));
    }

    /// Credits the account with `bytes()` (computed only when the buffer
    /// has an account).
    #[inline]
    pub(super) fn credit(&self, bytes: impl FnOnce() -> usize) {
        if let Some(a) = &self.account {
            a.credit(bytes());
        }
    }

    /// Whether chains can move between `self` and `other` without their
    /// charge moving: both charge the same account, or neither charges.
    #[inline]
    pub(super) fn same_account(&self, other: &Evbuffer) -> bool {
        mem::same_account(&self.account, &other.account)
    }

    /// The blocks of `src.chains[range]` (absolute indexes) are about to
    /// move into `self`: their charge moves from `src`'s account to
    /// `self`'s. The caller checked [`same_account`](Self::same_account)
    /// was false.
    ///
    /// # Errors
    /// [`Error::Alloc`] when `self`'s budget has no room for them; nothing
    /// changed.
    #[cold]
    pub(super) fn take_charge(&self, src: &Evbuffer, range: std::ops::Range<usize>) -> Result<()> {
        let n = owned_bytes(&src.chains[range]);
        if let Some(a) = &self.account {
            a.charge(n)?;
        }
        if let Some(a) = &src.account {
            a.credit(n);
        }
        Ok(())
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
            // Placeholders only: no block, nothing to credit.
            self.chains.drain(..self.head());
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
            return self.chains.try_reserve_exact(n);
        }
        self.chains.try_reserve(n)
    }

    /// Drops the live chains from index `from` on (trailing empty chains).
    #[inline]
    pub(super) fn truncate_chains(&mut self, from: usize) {
        self.truncate_chains_in::<ACCOUNTED>(from);
    }

    /// [`truncate_chains`](Self::truncate_chains) in accounting mode `A`.
    #[inline]
    pub(super) fn truncate_chains_in<const A: bool>(&mut self, from: usize) {
        let at = self.head() + from;
        if at >= self.chains.len() {
            return;
        }
        self.credit_chains_in::<A>(at..self.chains.len());
        self.chains.truncate(at);
        if self.chains.len() == self.head() {
            self.chains.clear();
            self.head = 0;
        }
    }

    /// Removes the first `k` live chains.
    pub(super) fn pop_front_chains(&mut self, k: usize) {
        self.pop_front_chains_in::<ACCOUNTED>(k);
    }

    /// [`pop_front_chains`](Self::pop_front_chains) in accounting mode `A`.
    #[inline]
    pub(super) fn pop_front_chains_in<const A: bool>(&mut self, k: usize) {
        let head = self.head();
        self.credit_chains_in::<A>(head..head + k);
        for c in &mut self.chains[head..head + k] {
            *c = Chain::EMPTY;
        }
        self.set_head(head + k);
        if self.head() == self.chains.len() {
            self.chains.clear();
            self.head = 0;
        }
    }

    /// Bytes of the blocks this buffer's own chains hold (shared chains
    /// view blocks owned elsewhere and count nothing): what it charges
    /// its base's account.
    pub(crate) fn held_bytes(&self) -> usize {
        owned_bytes(self.live())
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
            self.head() <= self.chains.len(),
            "head {} > chains {}",
            self.head,
            self.chains.len()
        );
        assert!(
            self.head() < self.chains.len() || self.chains.is_empty(),
            "no live chain but {} placeholders kept",
            self.head
        );
        for (i, c) in self.chains[..self.head()].iter().enumerate() {
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
        if let Some((i, len)) = self.reservation() {
            let room: usize = self.live().iter().skip(i).map(Chain::space).sum();
            assert!(room >= len, "reservation of {len} beyond the room ({room})");
            assert!(
                len == 0 || self.live()[..i].iter().all(|c| !c.is_empty()),
                "reservation after an empty chain"
            );
        }
    }
}

impl Drop for Evbuffer {
    #[inline]
    fn drop(&mut self) {
        if self.account.is_some() {
            self.credit_chains(self.head()..self.chains.len());
        }
    }
}

/// The longest reservation ([`Evbuffer::reserve_space`]): 4 GiB - 1.
pub(super) const MAX_RESERVATION: usize = u32::MAX as usize;

/// Bytes of the blocks `chains` own (shared chains own none).
#[inline]
pub(super) fn owned_bytes(chains: &[Chain]) -> usize {
    chains
        .iter()
        .filter(|c| !c.is_shared())
        .map(Chain::cap)
        .sum()
}

/// Charges a new chain of `size` bytes (a chain size, so exactly what
/// the block will hold) to `account`: out of line, so that buffers without
/// an account keep the allocation inlined.
#[inline(never)]
fn charge_chain(account: &Account, size: usize) -> Result<()> {
    account.charge(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sizes() {
        // Per chain (libevent: 48 bytes in front of each block) and per
        // buffer; the README reports these.
        assert_eq!(std::mem::size_of::<Chain>(), 48);
        assert_eq!(std::mem::size_of::<Evbuffer>(), 64);
    }

    /// Every chain a buffer allocates, frees, gives away or takes from a
    /// buffer of another account moves its account by exactly its block:
    /// after each of a long run of mixed operations, each account holds
    /// what its buffers' chains own, and a refused operation changes
    /// nothing.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn accounts_follow_every_chain() {
        let one = MemRc::try_new(Account::new(Some(64 * 1024))).unwrap();
        let two = MemRc::try_new(Account::new(None)).unwrap();
        let mut bufs: [Evbuffer; 4] = Default::default();
        bufs[0].set_account(&one);
        bufs[1].set_account(&one);
        bufs[2].set_account(&two);
        // bufs[3] is free-standing.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as usize
        };
        let data = [7u8; 20_000];
        let mut refused = 0;
        for step in 0..20_000 {
            let (i, j) = (next(4), next(4));
            let n = [1, 100, 1000, 3000, 5000, 17_000][next(6)];
            let before: std::vec::Vec<_> = bufs.iter().map(Evbuffer::len).collect();
            let op = next(8);
            let r = if i == j {
                let b = &mut bufs[i];
                match op {
                    0 | 1 => b.add(&data[..n]),
                    2 => b.prepend(&data[..n.min(3000)]),
                    3 => b.drain(n),
                    4 => b.expand(n),
                    5 => b
                        .reserve_space(n)
                        .map(|_| ())
                        .and_then(|_| b.commit_space(n / 2)),
                    6 => b.pullup(Some(n.min(b.len()))).map_or(Ok(()), |_| Ok(())),
                    _ => {
                        let mut out = [0u8; 700];
                        b.remove(&mut out).map(|_| ())
                    }
                }
            } else {
                let [a, b] = bufs.get_disjoint_mut([i, j]).unwrap();
                match op % 4 {
                    0 => a.add_buffer(b),
                    1 => a.prepend_buffer(b),
                    2 => b.remove_buffer(a, n).map(|_| ()),
                    _ => a.add_buffer_reference(b),
                }
            };
            if r.is_err() {
                refused += 1;
                let after: std::vec::Vec<_> = bufs.iter().map(Evbuffer::len).collect();
                assert_eq!(
                    before, after,
                    "step {step}: a refused operation changed data"
                );
            }
            for b in &bufs {
                b.assert_invariants();
            }
            let held = |acc: &MemRc<Account>| -> usize {
                bufs.iter()
                    .filter(|b| b.account.as_ref().is_some_and(|a| MemRc::ptr_eq(a, acc)))
                    .map(Evbuffer::held_bytes)
                    .sum()
            };
            let what = (i, j, op, n, r.is_ok());
            assert_eq!(one.held(), held(&one), "step {step} {what:?}");
            assert_eq!(two.held(), held(&two), "step {step} {what:?}");
            assert!(one.held() <= 64 * 1024);
            for b in &mut bufs {
                if b.len() > 256 * 1024 {
                    b.drain(b.len() - 1000).unwrap();
                }
            }
            if next(50) == 0 {
                // A buffer dropped with its chains; its successor charges
                // the same account, or none.
                let k = next(4);
                bufs[k] = Evbuffer::new();
                if k < 3 && next(4) != 0 {
                    bufs[k].set_account(if k < 2 { &one } else { &two });
                }
            }
        }
        assert!(refused > 10, "the budget was reached: {refused}");
        drop(bufs);
        assert_eq!((one.held(), two.held()), (0, 0));
    }
}
