//! [`Evbuffer`]: libevent's byte-chain buffer (tutorial ch. 8,
//! `evbuffer_*`).
//!
//! # Layout
//!
//! A buffer is a list of *chains* (`chain.rs`), each a block of memory from
//! rvent's allocator with a window of data `[misalign, misalign + off)`
//! inside it, as in libevent's `struct evbuffer_chain`. Blocks of up to
//! [`POOL_MAX_SIZE`](crate::POOL_MAX_SIZE) (16 KiB: every standard chain
//! size) come from the thread's size-class [`Pool`](crate::Pool) — the
//! base's pool — and bigger ones straight from the memory functions. While
//! a base lives on the thread, freed chains are recycled, so a loop that
//! fills and empties buffers in steady state makes no calls to the memory
//! functions; a buffer used with no base alive still allocates through the
//! memory functions, and every block goes straight back when freed. A
//! chain's capacity is its pool class size (a power of two, at least 16),
//! which is also how its block finds its way back to the right free list
//! wherever the chain is dropped. `Evbuffer` is `!Send`, so its chains
//! never leave the thread whose pool they came from. Bytes are appended into the free room after the
//! last chain's data and drained by moving the first chain's window, so
//! adds and drains copy each byte once and allocate only when a chain
//! fills up. Whole chains move between buffers without copying
//! ([`add_buffer`](Evbuffer::add_buffer), [`remove_buffer`](Evbuffer::remove_buffer),
//! [`prepend_buffer`](Evbuffer::prepend_buffer)).
//!
//! New chains follow libevent's sizing policy (reference §4.2): a power of
//! two of at least 1 KiB, doubling from the last chain's size up to 4 KiB;
//! a write at least that big gets the next power of two above it (4 KiB
//! writes land in 8 KiB chains, as libevent's header rounding gives). A
//! write first fills the last chain's room, so many small appends waste at
//! most one partly filled chain. Two departures, both for speed: a
//! buffer's first chain fits the write (rounded up to its pool class: a
//! 4 KiB piece, like a network read, gets a 4 KiB chain), and draining everything keeps the
//! last chain if it is at most 8 KiB, so fill/empty cycles do not allocate
//! at the start of each cycle.
//!
//! Overhead: 48 bytes per chain (pointer, capacity, misalign, length,
//! initialised length and the owner of shared bytes, in the chain list
//! rather than in front of the block; libevent: 48 plus a trailer for
//! references and file segments) and 96 bytes per buffer.
//!
//! # The rest of libevent's evbuffer, one file each
//!
//! - `fd.rs`: [`read_from`](Evbuffer::read_from) /
//!   [`write_to`](Evbuffer::write_to) /
//!   [`write_atmost`](Evbuffer::write_atmost), one system call each;
//! - `reference.rs`: [`add_reference`](Evbuffer::add_reference) and
//!   multicast views ([`add_buffer_reference`](Evbuffer::add_buffer_reference)),
//!   shared read-only chains;
//! - `file.rs`: [`EvbufferFileSegment`], mapped or read, sent with
//!   `sendfile`;
//! - `callback.rs`: change callbacks (synchronous and deferred) and
//!   [`freeze`](Evbuffer::freeze).
//!
//! # Invariants
//!
//! Checked by [`Evbuffer::assert_invariants`] (libevent's
//! `evbuffer_validate_`), run after every operation in the tests:
//! - every chain keeps `misalign + off <= capacity`;
//! - empty chains appear only after the last chain holding data (they come
//!   from [`expand`](Evbuffer::expand) and
//!   [`reserve_space`](Evbuffer::reserve_space)), never between data — the
//!   "empty chain in the middle" state behind libevent's most common bug
//!   class;
//! - the chains' data lengths sum to [`len`](Evbuffer::len).
//!
//! Every operation either succeeds or returns an error with the buffer
//! unchanged: allocations happen before the first byte moves.

// Maintainer notes: the chain list is a `MemVec<Chain>` whose live part is
// `chains[head..]`; popping the front leaves `Chain::EMPTY` placeholders
// (no block) below `head`, reclaimed when the list grows or empties, so
// drains are O(1) per chain. `epoch` changes with every change of content;
// `EvbufferPtr` and reservations compare it to know whether their cached
// chain index is still valid. Every public mutation tests `hooks` once and,
// when it is non-zero (frozen side or callbacks), takes the cold `hooked` /
// `hooked2` wrapper around its `_raw` body; internal code calls the `_raw`
// forms so one public call makes one callback round.

mod callback;
mod chain;
mod fd;
mod file;
mod readln;
mod reference;
mod reserve;
mod search;
mod segment;

use std::fmt;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicU64, Ordering};

use chain::{CHAIN_MAX_AUTO_SIZE, Chain, grow_size, round_size};

use crate::error::{Error, Result};
use crate::mem::{self, MemVec};

pub use callback::{CbEntry, CbInfo};
pub use fd::{DEFAULT_MAX_READ, MAX_READ_LIMIT};
pub use file::EvbufferFileSegment;
pub use readln::{EolStyle, Line};
pub use search::{EvbufferPtr, PtrHow};
pub use segment::SegFlags;

/// Realigning moves at most this much data (libevent's
/// `evbuffer_chain_should_realign`: half the chain and at most 2 KiB).
const MAX_TO_REALIGN: usize = 2048;

/// `expand` copies a chain holding at most this much into a bigger one
/// (libevent's `MAX_TO_COPY_IN_EXPAND`).
const MAX_TO_COPY_IN_EXPAND: usize = 4096;

/// Draining everything keeps the last chain when its block is at most this
/// big, so a buffer that fills and empties in cycles does not allocate at
/// the start of each cycle.
const KEEP_ON_DRAIN: usize = 2 * CHAIN_MAX_AUTO_SIZE;

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
    chains: MemVec<Chain>,
    head: usize,
    total_len: usize,
    /// Changes with every change of content (see `EvbufferPtr`).
    epoch: u64,
    id: u64,
    /// The pending reservation: first live chain index and length (the
    /// room of that chain, then of the following ones).
    reservation: Option<(usize, usize)>,
    /// Bytes one `read_from` reads at most.
    max_read: u32,
    /// [`FROZEN_FRONT`] | [`FROZEN_END`] | [`HAS_CBS`]: zero keeps every
    /// mutation on its fast path (one test of this byte).
    hooks: u8,
    /// The callbacks (`callback.rs`), boxed: a buffer without any pays
    /// one pointer.
    cbs: Option<Box<callback::CbList>>,
}

/// `hooks` bit: the front is frozen.
const FROZEN_FRONT: u8 = 1;
/// `hooks` bit: the end is frozen.
const FROZEN_END: u8 = 2;
/// `hooks` bit: callbacks are registered.
const HAS_CBS: u8 = 4;

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
            max_read: fd::DEFAULT_MAX_READ as u32,
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

    // ----- internal helpers -------------------------------------------

    #[inline]
    fn live(&self) -> &[Chain] {
        &self.chains[self.head..]
    }

    #[inline]
    fn live_mut(&mut self) -> &mut [Chain] {
        &mut self.chains[self.head..]
    }

    /// Records a change of content: positions and reservations go stale.
    #[inline]
    fn touch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.reservation = None;
    }

    /// Number of live chains holding data (they come first).
    #[inline]
    fn data_chains(&self) -> usize {
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
    fn reserve_chains(&mut self, n: usize) -> Result<()> {
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
        mem::reserve(&mut self.chains, n)
    }

    /// Drops the live chains from index `from` on (trailing empty chains).
    #[inline]
    fn truncate_chains(&mut self, from: usize) {
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
    fn pop_front_chains(&mut self, k: usize) {
        for c in &mut self.chains[self.head..self.head + k] {
            *c = Chain::EMPTY;
        }
        self.head += k;
        if self.head == self.chains.len() {
            self.chains.clear();
            self.head = 0;
        }
    }

    /// Appends `data`, assuming room for one more chain in the list has
    /// been reserved and `fresh` is a new chain when
    /// [`plan_append`](Self::plan_append) said one is needed. Never fails.
    fn append_planned(&mut self, data: &[u8], plan: AppendPlan, fresh: Option<Chain>) {
        let live = self.live_mut();
        match plan {
            AppendPlan::Last(i) => live[i].append(data),
            AppendPlan::Realign(i) => {
                live[i].realign();
                live[i].append(data);
            }
            AppendPlan::Split(i, next) => {
                let room = live[i].space();
                let (a, b) = data.split_at(room.min(data.len()));
                live[i].append(a);
                match (next, fresh) {
                    (true, _) => live[i + 1].append(b),
                    (false, Some(mut c)) => {
                        self.truncate_chains(i + 1);
                        c.append(b);
                        self.chains.push(c);
                    }
                    (false, None) => unreachable!("split append without a chain"),
                }
            }
            AppendPlan::New(from) => {
                let mut c = fresh.expect("append plan without a chain");
                self.truncate_chains(from);
                c.append(data);
                self.chains.push(c);
            }
        }
        self.total_len += data.len();
    }

    /// Decides where `n` (non-zero) appended bytes go and the size of the
    /// new chain needed, if any.
    fn plan_append(&self, n: usize) -> (AppendPlan, usize) {
        let live = self.live();
        let d = self.data_chains();
        if d == 0 {
            // No data: the first (empty) chain if big enough.
            return match live.first() {
                Some(c) if c.space() >= n => (AppendPlan::Last(0), 0),
                // The first chain fits the write (a 4 KiB piece gets a
                // 4 KiB chain, like a network read, not half of 8 KiB).
                _ => (AppendPlan::New(0), round_size(n)),
            };
        }
        let i = d - 1;
        let c = &live[i];
        if c.space() >= n {
            return (AppendPlan::Last(i), 0);
        }
        if should_realign(c, n) {
            return (AppendPlan::Realign(i), 0);
        }
        if c.space() == 0 {
            // Nothing to split: the next (empty) chain or a new one.
            return match live.get(i + 1) {
                Some(next) if next.space() >= n => (AppendPlan::Last(i + 1), 0),
                _ => (AppendPlan::New(i + 1), grow_size(c.cap(), n)),
            };
        }
        let rest = n - c.space();
        if live.get(i + 1).is_some_and(|next| next.space() >= rest) {
            return (AppendPlan::Split(i, true), 0);
        }
        (AppendPlan::Split(i, false), grow_size(c.cap(), rest))
    }

    /// Copies `data` to the end; the shared body of the add paths. No
    /// change on error.
    fn append(&mut self, data: &[u8]) -> Result<()> {
        // Common case: the last chain holds data (so no empty chain follows)
        // and is too full: fill its room, the rest into one new chain.
        if let Some(last) = self.chains.last()
            && !last.is_empty()
            && last.space() < data.len()
            && !should_realign(last, data.len())
        {
            let room = last.space();
            let size = grow_size(last.cap(), data.len() - room);
            self.reserve_chains(1)?;
            let mut fresh = Chain::with_capacity(size)?;
            let (a, b) = data.split_at(room);
            if !a.is_empty() {
                self.chains.last_mut().expect("checked above").append(a);
            }
            fresh.append(b);
            self.chains.push(fresh);
            self.total_len += data.len();
            return Ok(());
        }
        let (plan, size) = self.plan_append(data.len());
        let fresh = if size != 0 {
            self.reserve_chains(1)?;
            Some(Chain::with_capacity(size)?)
        } else {
            None
        };
        self.append_planned(data, plan, fresh);
        Ok(())
    }

    /// Drops bytes from the end until `len` remain (undoes a partial
    /// `add_fmt`).
    fn truncate(&mut self, len: usize) {
        let mut extra = self.total_len - len;
        let mut i = self.data_chains();
        while extra > 0 {
            i -= 1;
            let c = &mut self.live_mut()[i];
            let k = extra.min(c.len());
            c.truncate_back(k);
            extra -= k;
        }
        self.total_len = len;
    }

    // ----- adding -------------------------------------------------------

    /// Appends a copy of `data`.
    ///
    /// Fills the last chain's free room, then allocates one new chain (per
    /// libevent's sizing policy) for the rest.
    ///
    /// # Errors
    /// [`Error::Alloc`] if a new chain cannot be allocated;
    /// [`Error::InvalidArgument`] if the length would overflow. The buffer
    /// is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"hello, ")?;
    /// buf.add(b"world")?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"hello, world"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add")]
    #[inline]
    pub fn add(&mut self, data: &[u8]) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_raw(data));
        }
        self.add_raw(data)
    }

    #[inline]
    fn add_raw(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.total_len.checked_add(data.len()).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        // Fast path: the last chain holds data and has room.
        if let Some(last) = self.chains.last_mut()
            && !last.is_empty()
            && last.space() >= data.len()
        {
            last.append(data);
            self.total_len += data.len();
            self.touch();
            return Ok(());
        }
        self.append(data)?;
        self.touch();
        Ok(())
    }

    /// Appends formatted text (libevent's `evbuffer_add_printf`); returns
    /// the number of bytes added.
    ///
    /// # Errors
    /// [`Error::Alloc`] if memory runs out, [`Error::InvalidArgument`] if
    /// a `Display` implementation fails. The buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// let n = buf.add_fmt(format_args!("{}-{:03}", "id", 7))?;
    /// assert_eq!(n, 6);
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"id-007"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_printf")]
    #[doc(alias = "evbuffer_add_vprintf")]
    pub fn add_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<usize> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_fmt_raw(args));
        }
        self.add_fmt_raw(args)
    }

    fn add_fmt_raw(&mut self, args: fmt::Arguments<'_>) -> Result<usize> {
        if let Some(s) = args.as_str() {
            self.add_raw(s.as_bytes())?;
            return Ok(s.len());
        }
        struct W<'a> {
            buf: &'a mut Evbuffer,
            err: Option<Error>,
        }
        impl fmt::Write for W<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.buf.add_raw(s.as_bytes()).map_err(|e| {
                    self.err = Some(e);
                    fmt::Error
                })
            }
        }
        let before = self.total_len;
        let mut w = W {
            buf: self,
            err: None,
        };
        match fmt::write(&mut w, args) {
            Ok(()) => Ok(self.total_len - before),
            Err(_) => {
                let err = w
                    .err
                    .take()
                    .unwrap_or(Error::InvalidArgument("formatting failed"));
                self.truncate(before);
                self.touch();
                Err(err)
            }
        }
    }

    /// Appends several slices, making room for all of them at once
    /// (libevent's `evbuffer_add_iovec`); returns the bytes added.
    ///
    /// # Errors
    /// As [`add`](Self::add); the buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSlice;
    /// let mut buf = rvent::Evbuffer::new();
    /// let n = buf.add_slices(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
    /// assert_eq!(n, 4);
    /// assert_eq!(buf.contiguous_space(), 4);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_iovec")]
    pub fn add_slices(&mut self, slices: &[IoSlice<'_>]) -> Result<usize> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_slices_raw(slices));
        }
        self.add_slices_raw(slices)
    }

    fn add_slices_raw(&mut self, slices: &[IoSlice<'_>]) -> Result<usize> {
        let total = slices
            .iter()
            .try_fold(0usize, |acc, s| acc.checked_add(s.len()))
            .filter(|t| self.total_len.checked_add(*t).is_some())
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        if total == 0 {
            return Ok(0);
        }
        self.expand(total)?;
        for s in slices {
            if !s.is_empty() {
                // `expand` made room: no allocation, so no failure here.
                self.append(s)?;
            }
        }
        self.touch();
        Ok(total)
    }

    /// Makes sure `n` more bytes can be appended without allocating, in one
    /// contiguous region (libevent's `evbuffer_expand`).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the memory cannot be had (`usize::MAX` never
    /// can); [`Error::InvalidArgument`] if the length would overflow. The
    /// data is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.expand(10_000)?;
    /// assert!(buf.expand(usize::MAX).is_err());
    /// assert!(buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_expand")]
    pub fn expand(&mut self, n: usize) -> Result<()> {
        self.expand_contiguous(n).map(|_| ())
    }

    /// Makes `n` contiguous bytes of room after the data; returns the live
    /// index of the chain holding that room (the last chain with data or
    /// the empty chain after it). Keeps `epoch`: data positions do not move.
    fn expand_contiguous(&mut self, n: usize) -> Result<usize> {
        if self.total_len.checked_add(n).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        self.reservation = None;
        let d = self.data_chains();
        let nlive = self.live().len();
        if d == 0 {
            if let Some(c) = self.live().first()
                && c.space() >= n
            {
                return Ok(0);
            }
            let c = Chain::with_capacity(round_size(n))?;
            self.truncate_chains(0);
            self.reserve_chains(1)?;
            self.chains.push(c);
            return Ok(0);
        }
        let i = d - 1;
        let c = &self.live()[i];
        if c.space() >= n {
            return Ok(i);
        }
        if should_realign(c, n) {
            self.live_mut()[i].realign();
            return Ok(i);
        }
        if c.len() <= MAX_TO_COPY_IN_EXPAND && !c.is_shared() {
            let need = c
                .len()
                .checked_add(n)
                .ok_or(Error::InvalidArgument("buffer length overflows"))?;
            let mut bigger = Chain::with_capacity(round_size(need))?;
            bigger.append(c.data());
            self.live_mut()[i] = bigger;
            return Ok(i);
        }
        if i + 1 < nlive && self.live()[i + 1].space() >= n {
            return Ok(i + 1);
        }
        let fresh = Chain::with_capacity(round_size(n))?;
        self.reserve_chains(1)?;
        self.truncate_chains(i + 1);
        self.chains.push(fresh);
        Ok(i + 1)
    }

    /// Puts a copy of `data` before the current contents.
    ///
    /// Uses the room before the first chain's data, else a new chain whose
    /// data sits at its end so later prepends fit too.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] (length overflow);
    /// the buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"world")?;
    /// buf.prepend(b"hello ")?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"hello world"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_prepend")]
    pub fn prepend(&mut self, data: &[u8]) -> Result<()> {
        if self.hooks & (FROZEN_FRONT | HAS_CBS) != 0 {
            return self.hooked(FROZEN_FRONT, |b| b.prepend_raw(data));
        }
        self.prepend_raw(data)
    }

    fn prepend_raw(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.total_len.checked_add(data.len()).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        let room = match self.live().first() {
            // An empty first chain means an empty buffer: its whole block
            // is room (too small a one is replaced below).
            Some(c) if c.is_empty() && c.cap() >= data.len() => c.cap(),
            Some(c) if c.is_empty() => 0,
            // Never into shared (reference) memory.
            Some(c) if c.is_shared() => 0,
            Some(c) => c.misalign(),
            None => 0,
        };
        if room >= data.len() {
            self.live_mut()[0].prepend(data);
        } else {
            let (front, tail) = data.split_at(data.len() - room);
            let mut fresh = Chain::with_capacity(grow_size(0, front.len()))?;
            if self.head == 0 {
                // Room at the front of the list: one more slot, shift.
                mem::reserve(&mut self.chains, 1)?;
            }
            if self.is_empty() {
                self.truncate_chains(0);
            } else if !tail.is_empty() {
                self.live_mut()[0].prepend(tail);
            }
            fresh.prepend(front);
            if self.head > 0 {
                self.head -= 1;
                self.chains[self.head] = fresh;
            } else {
                self.chains.insert(0, fresh);
            }
        }
        self.total_len += data.len();
        self.touch();
        Ok(())
    }

    // ----- moving between buffers --------------------------------------

    /// Moves all of `src`'s data to the end of `self` without copying it;
    /// `src` is left empty.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the chain list cannot grow;
    /// [`Error::InvalidArgument`] if the length would overflow. Both
    /// buffers are unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// a.add(b"abc")?;
    /// b.add(b"def")?;
    /// a.add_buffer(&mut b)?;
    /// assert_eq!((a.len(), b.len()), (6, 0));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_buffer")]
    #[inline]
    pub fn add_buffer(&mut self, src: &mut Evbuffer) -> Result<()> {
        if (self.hooks & (FROZEN_END | HAS_CBS)) | (src.hooks & (FROZEN_FRONT | HAS_CBS)) != 0 {
            return self.hooked2(src, FROZEN_END, FROZEN_FRONT, |d, s| d.add_buffer_raw(s));
        }
        self.add_buffer_raw(src)
    }

    fn add_buffer_raw(&mut self, src: &mut Evbuffer) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        let total = self
            .total_len
            .checked_add(src.total_len)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        if self.is_empty() {
            // Swap the lists; `self`'s (empty) chains are dropped with src's.
            std::mem::swap(&mut self.chains, &mut src.chains);
            std::mem::swap(&mut self.head, &mut src.head);
            // src keeps our empty chains for its next adds; our trailing
            // empty chains (from src) stay trailing.
        } else {
            let k = src.data_chains();
            self.reserve_chains(k)?;
            let d = self.data_chains();
            self.truncate_chains(d);
            let from = src.head;
            for c in &mut src.chains[from..from + k] {
                self.chains.push(std::mem::replace(c, Chain::EMPTY));
            }
            src.pop_front_chains(k);
        }
        self.total_len = total;
        src.total_len = 0;
        self.touch();
        src.touch();
        Ok(())
    }

    /// Moves all of `src`'s data to the front of `self` without copying
    /// it; `src` is left empty.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] (length overflow);
    /// both buffers are unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// a.add(b"world")?;
    /// b.add(b"hello ")?;
    /// a.prepend_buffer(&mut b)?;
    /// assert_eq!(a.pullup(None).as_deref(), Some(&b"hello world"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_prepend_buffer")]
    pub fn prepend_buffer(&mut self, src: &mut Evbuffer) -> Result<()> {
        if (self.hooks | src.hooks) & (FROZEN_FRONT | HAS_CBS) != 0 {
            return self.hooked2(src, FROZEN_FRONT, FROZEN_FRONT, |d, s| {
                d.prepend_buffer_raw(s)
            });
        }
        self.prepend_buffer_raw(src)
    }

    fn prepend_buffer_raw(&mut self, src: &mut Evbuffer) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        if self.is_empty() {
            return self.add_buffer_raw(src);
        }
        let total = self
            .total_len
            .checked_add(src.total_len)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        let k = src.data_chains();
        if self.head >= k {
            let from = src.head;
            self.head -= k;
            for j in 0..k {
                self.chains[self.head + j] =
                    std::mem::replace(&mut src.chains[from + j], Chain::EMPTY);
            }
        } else {
            // src's list receives our chains, then the lists swap.
            let ours = self.live().len();
            src.truncate_chains(k);
            src.reserve_chains(ours)?;
            let from = self.head;
            for c in &mut self.chains[from..] {
                src.chains.push(std::mem::replace(c, Chain::EMPTY));
            }
            std::mem::swap(&mut self.chains, &mut src.chains);
            std::mem::swap(&mut self.head, &mut src.head);
        }
        src.truncate_chains(0);
        self.total_len = total;
        src.total_len = 0;
        self.touch();
        src.touch();
        Ok(())
    }

    /// Moves up to `n` bytes from the front of `self` to the end of `dst`:
    /// whole chains move without copying, at most one partial chain is
    /// copied. Returns the bytes moved.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] (length overflow);
    /// both buffers are unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut src, mut dst) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// src.add(&[7u8; 3000])?;
    /// assert_eq!(src.remove_buffer(&mut dst, 1280)?, 1280);
    /// assert_eq!((src.len(), dst.len()), (1720, 1280));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_remove_buffer")]
    pub fn remove_buffer(&mut self, dst: &mut Evbuffer, n: usize) -> Result<usize> {
        if (dst.hooks & (FROZEN_END | HAS_CBS)) | (self.hooks & (FROZEN_FRONT | HAS_CBS)) != 0 {
            return dst.hooked2(self, FROZEN_END, FROZEN_FRONT, |d, s| {
                s.remove_buffer_raw(d, n)
            });
        }
        self.remove_buffer_raw(dst, n)
    }

    fn remove_buffer_raw(&mut self, dst: &mut Evbuffer, n: usize) -> Result<usize> {
        if n >= self.total_len {
            let moved = self.total_len;
            dst.add_buffer_raw(self)?;
            return Ok(moved);
        }
        if n == 0 {
            return Ok(0);
        }
        let total = dst
            .total_len
            .checked_add(n)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        // Whole chains that fit in n.
        let (mut k, mut whole) = (0, 0);
        for c in self.live() {
            if whole + c.len() > n {
                break;
            }
            whole += c.len();
            k += 1;
        }
        let rest = n - whole;
        dst.reserve_chains(k + 1)?;
        // Move the whole chains (reversibly: their slots stay in self).
        let d = dst.data_chains();
        let kept_empties = dst.live().len() - d;
        let mut parked: MemVec<Chain> = mem::vec();
        if kept_empties > 0 && k > 0 {
            // Trailing empty chains of dst would end up in the middle.
            mem::reserve(&mut parked, kept_empties)?;
            let cut = dst.head + d;
            for c in dst.chains.drain(cut..) {
                parked.push(c);
            }
        }
        let from = self.head;
        let before = dst.chains.len();
        for c in &mut self.chains[from..from + k] {
            dst.chains.push(std::mem::replace(c, Chain::EMPTY));
        }
        if rest > 0 {
            let (plan, size) = dst.plan_append(rest);
            let fresh = if size != 0 {
                match Chain::with_capacity(size) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        // Undo: chains go back to their slots.
                        for (j, c) in dst.chains.drain(before..).enumerate() {
                            self.chains[from + j] = c;
                        }
                        for c in parked {
                            dst.chains.push(c);
                        }
                        return Err(e);
                    }
                }
            } else {
                None
            };
            let src_chain = &self.chains[from + k];
            dst.append_planned(&src_chain.data()[..rest], plan, fresh);
            self.chains[from + k].advance(rest);
        }
        drop(parked);
        self.pop_front_chains(k);
        self.total_len -= n;
        dst.total_len = total;
        self.touch();
        dst.touch();
        Ok(n)
    }

    // ----- removing ------------------------------------------------------

    /// Discards up to `n` bytes from the front (all of them if `n >= len`).
    ///
    /// # Errors
    /// [`Error::BadState`] if the front is frozen (nothing changes).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abcdef")?;
    /// buf.drain(4)?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"ef"[..]));
    /// buf.drain(100)?;
    /// assert!(buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_drain")]
    #[inline]
    pub fn drain(&mut self, n: usize) -> Result<()> {
        if self.hooks & (FROZEN_FRONT | HAS_CBS) != 0 {
            return self.hooked(FROZEN_FRONT, |b| {
                b.drain_raw(n);
                Ok(())
            });
        }
        self.drain_raw(n);
        Ok(())
    }

    /// Discards up to `n` bytes from the front, ignoring freezing and
    /// callbacks.
    #[inline]
    fn drain_raw(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(first) = self.chains.get_mut(self.head)
            && n < first.len()
        {
            first.advance(n);
            self.total_len -= n;
            self.touch();
            return;
        }
        self.drain_slow(n);
    }

    fn drain_slow(&mut self, n: usize) {
        if n < self.total_len && self.chains[self.head].len() == n {
            // Exactly the first chain, more data after it.
            self.chains[self.head] = Chain::EMPTY;
            self.head += 1;
            self.total_len -= n;
            self.touch();
            return;
        }
        if n >= self.total_len {
            // Keep the last chain for the next add if it is of the usual
            // size (at most the 8 KiB that 4 KiB writes get); free the rest.
            let live = self.live().len();
            if live > 0 {
                let last = self.head + live - 1;
                if self.chains[last].cap() <= KEEP_ON_DRAIN && !self.chains[last].is_shared() {
                    let mut keep = std::mem::replace(&mut self.chains[last], Chain::EMPTY);
                    let l = keep.len();
                    keep.advance(l);
                    self.chains.clear();
                    self.head = 0;
                    self.chains.push(keep); // capacity is there: len was >= 1
                } else {
                    self.chains.clear();
                    self.head = 0;
                }
            }
            self.total_len = 0;
            self.touch();
            return;
        }
        let mut rest = n;
        let mut k = 0;
        for c in self.live() {
            if rest < c.len() {
                break;
            }
            rest -= c.len();
            k += 1;
        }
        self.pop_front_chains(k);
        self.live_mut()[0].advance(rest);
        self.total_len -= n;
        self.touch();
    }

    /// Copies up to `out.len()` bytes from the front into `out` and drains
    /// them; returns the bytes moved.
    ///
    /// # Errors
    /// [`Error::BadState`] if the front is frozen (nothing changes).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abcdef")?;
    /// let mut out = [0u8; 4];
    /// assert_eq!(buf.remove(&mut out)?, 4);
    /// assert_eq!(&out, b"abcd");
    /// assert_eq!(buf.len(), 2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_remove")]
    pub fn remove(&mut self, out: &mut [u8]) -> Result<usize> {
        let n = self.copyout(out);
        self.drain(n)?;
        Ok(n)
    }

    /// Copies up to `out.len()` bytes from the front into `out` without
    /// draining them; returns the bytes copied.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abc")?;
    /// let mut out = [0u8; 8];
    /// assert_eq!(buf.copyout(&mut out), 3);
    /// assert_eq!(buf.len(), 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_copyout")]
    #[inline]
    pub fn copyout(&self, out: &mut [u8]) -> usize {
        copy_chains(self.live(), 0, out)
    }

    /// Copies up to `out.len()` bytes starting at `pos` into `out`;
    /// returns the bytes copied (0 at the end).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `pos` lies beyond the end.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{Evbuffer, EvbufferPtr, PtrHow};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"hello world")?;
    /// let mut p = EvbufferPtr::default();
    /// buf.ptr_set(&mut p, 6, PtrHow::Set)?;
    /// let mut out = [0u8; 16];
    /// let n = buf.copyout_from(&p, &mut out)?;
    /// assert_eq!(&out[..n], b"world");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_copyout_from")]
    pub fn copyout_from(&self, pos: &EvbufferPtr, out: &mut [u8]) -> Result<usize> {
        let (c, o) = self.locate_ptr(pos)?;
        Ok(copy_chains(&self.live()[c..], o, out))
    }

    /// Fills `vec` with slices of the chains covering `len` bytes from
    /// `start` (the front with `None`) and returns a count, as libevent
    /// does:
    ///
    /// - with `Some(len)`, how many slices cover `len` bytes, which may
    ///   exceed `vec.len()` (call again with a longer `vec`);
    /// - with `None` and a non-empty `vec`, how many slices were filled
    ///   (at most `vec.len()`);
    /// - with `None` and an empty `vec`, how many slices cover the rest of
    ///   the buffer.
    ///
    /// The last slice may extend beyond `len`; at the end of the buffer
    /// the count is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSlice;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abc")?;
    /// let mut more = rvent::Evbuffer::new();
    /// more.add(b"def")?;
    /// buf.add_buffer(&mut more)?; // moves its chain: two chains now
    /// assert_eq!(buf.peek(None, None, &mut []), 2);
    /// let mut v = [IoSlice::new(&[])];
    /// assert_eq!(buf.peek(None, None, &mut v), 1); // filled: v has one slot
    /// assert_eq!(&*v[0], b"abc");
    /// assert_eq!(buf.peek(Some(2), None, &mut []), 1);
    /// assert_eq!(buf.peek(Some(6), None, &mut v), 2); // needed
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_peek")]
    pub fn peek<'a>(
        &'a self,
        len: Option<usize>,
        start: Option<&EvbufferPtr>,
        vec: &mut [IoSlice<'a>],
    ) -> usize {
        let (c, o) = match start {
            Some(p) => match self.locate_ptr(p) {
                Ok(l) => l,
                Err(_) => return 0,
            },
            None => (0, 0),
        };
        let want = len.unwrap_or(usize::MAX);
        // libevent: with no length, a non-empty vector bounds the count.
        let max_slices = match len {
            None if !vec.is_empty() => vec.len(),
            _ => usize::MAX,
        };
        let mut got = 0usize;
        let mut n = 0;
        for (j, ch) in self.live()[c..].iter().enumerate() {
            if got >= want || n == max_slices {
                break;
            }
            let data = if j == 0 { &ch.data()[o..] } else { ch.data() };
            if data.is_empty() {
                continue;
            }
            if let Some(slot) = vec.get_mut(n) {
                *slot = IoSlice::new(data);
            }
            n += 1;
            got += data.len();
        }
        n
    }

    /// Makes the first `n` bytes (all with `None`) contiguous and returns
    /// them, copying only when they span chains.
    ///
    /// Returns `None` — as libevent returns NULL — when `n` is 0 or beyond
    /// the length (the buffer is then unchanged), or when a chain for the
    /// copy cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(&[1u8; 1000])?;
    /// buf.add(&[2u8; 2000])?;
    /// let front = buf.pullup(Some(1500)).unwrap();
    /// assert_eq!((front[999], front[1000]), (1, 2));
    /// assert!(buf.pullup(Some(3001)).is_none());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_pullup")]
    pub fn pullup(&mut self, n: Option<usize>) -> Option<&mut [u8]> {
        let n = n.unwrap_or(self.total_len);
        if n == 0 || n > self.total_len {
            return None;
        }
        if self.live()[0].is_shared() {
            // Shared bytes are read-only: the first n go to a new chain.
            self.pullup_shared(n)?;
            return Some(&mut self.live_mut()[0].data_mut()[..n]);
        }
        let first_len = self.live()[0].len();
        if first_len < n {
            let first = &self.live()[0];
            let in_place = first.cap() - first.misalign() >= n;
            let fresh = if in_place {
                None
            } else {
                let mut c = Chain::with_capacity(round_size(n)).ok()?;
                c.append(first.data());
                Some(c)
            };
            if let Some(c) = fresh {
                self.live_mut()[0] = c;
            }
            // Copy the following chains' bytes into the first chain.
            let mut need = n - first_len;
            let mut consumed = 0;
            let head = self.head;
            let (a, b) = self.chains[head..].split_at_mut(1);
            for c in b.iter_mut() {
                let k = need.min(c.len());
                a[0].append(&c.data()[..k]);
                c.advance(k);
                need -= k;
                if c.is_empty() {
                    consumed += 1;
                }
                if need == 0 {
                    break;
                }
            }
            if consumed > 0 {
                let from = head + 1;
                self.chains.drain(from..from + consumed);
            }
            self.touch();
        }
        Some(&mut self.live_mut()[0].data_mut()[..n])
    }

    /// Copies the first `n` (`<= len`) bytes into a new first chain when
    /// the first chain is shared; `None` (nothing changed) if memory runs
    /// out.
    #[cold]
    fn pullup_shared(&mut self, n: usize) -> Option<()> {
        let mut fresh = Chain::with_capacity(round_size(n)).ok()?;
        self.reserve_chains(1).ok()?;
        let mut need = n;
        let mut consumed = 0;
        for c in self.live_mut() {
            if need == 0 {
                break;
            }
            let k = need.min(c.len());
            fresh.append(&c.data()[..k]);
            c.advance(k);
            need -= k;
            if c.is_empty() {
                consumed += 1;
            }
        }
        let head = self.head;
        if consumed > 0 {
            self.chains[head] = fresh;
            self.chains.drain(head + 1..head + consumed);
        } else if head > 0 {
            self.head -= 1;
            self.chains[self.head] = fresh;
        } else {
            self.chains.insert(0, fresh);
        }
        self.touch();
        Some(())
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

/// Where an append goes (see [`Evbuffer::plan_append`]); indexes are live
/// chain indexes.
#[derive(Clone, Copy, Debug)]
enum AppendPlan {
    /// All into chain i.
    Last(usize),
    /// Realign chain i, then all into it.
    Realign(usize),
    /// Fill chain i's room, the rest into chain i+1 (`true`) or a new chain
    /// replacing any chains after i (`false`).
    Split(usize, bool),
    /// All into a new chain replacing the live chains from the index on.
    New(usize),
}

/// libevent's `evbuffer_chain_should_realign`: moving the data to the
/// start frees `n` bytes of room and moves little.
#[inline]
fn should_realign(c: &Chain, n: usize) -> bool {
    c.cap() - c.len() >= n && c.len() < c.cap() / 2 && c.len() <= MAX_TO_REALIGN && !c.is_shared()
}

/// Copies from `chains` (starting `off` bytes into the first) into `out`;
/// returns the bytes copied.
#[inline]
fn copy_chains(chains: &[Chain], mut off: usize, out: &mut [u8]) -> usize {
    let mut n = 0;
    for c in chains {
        if n == out.len() {
            break;
        }
        let data = &c.data()[off..];
        off = 0;
        let k = data.len().min(out.len() - n);
        out[n..n + k].copy_from_slice(&data[..k]);
        n += k;
    }
    n
}

impl io::Read for Evbuffer {
    /// Removes bytes from the front ([`Evbuffer::remove`]).
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        Ok(self.remove(out)?)
    }
}

impl io::Write for Evbuffer {
    /// Appends all of `data` ([`Evbuffer::add`]); out of memory is
    /// [`io::ErrorKind::OutOfMemory`].
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.add(data)?;
        Ok(data.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(self.add_slices(bufs)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(b: &Evbuffer) -> Vec<u8> {
        b.chunks().flatten().copied().collect()
    }

    #[test]
    fn header_sizes() {
        // Per chain (libevent: 48 bytes in front of each block) and per
        // buffer; the README reports these.
        assert_eq!(std::mem::size_of::<Chain>(), 48);
        assert_eq!(std::mem::size_of::<Evbuffer>(), 96);
    }

    #[test]
    fn sizes_follow_the_policy() {
        assert_eq!(chain::grow_size(0, 1), 1024);
        assert_eq!(chain::grow_size(1024, 1), 2048);
        assert_eq!(chain::grow_size(2048, 1), 4096);
        assert_eq!(chain::grow_size(4096, 1), 4096);
        assert_eq!(chain::grow_size(4096, 4096), 8192);
        assert_eq!(chain::grow_size(0, 1024), 2048);
        assert_eq!(chain::grow_size(0, usize::MAX), usize::MAX);
        assert_eq!(chain::grow_size(4096, 5000), 8192);
        assert_eq!(chain::round_size(usize::MAX), usize::MAX);
    }

    #[test]
    fn small_appends_fill_chains_then_grow() {
        let mut b = Evbuffer::new();
        for _ in 0..1024 {
            b.add(b"x").unwrap();
        }
        assert_eq!(b.live().len(), 1);
        b.add(b"yz").unwrap();
        assert_eq!(b.live().len(), 2);
        assert_eq!(b.live()[1].cap(), 2048);
        b.assert_invariants();
    }

    #[test]
    fn drain_keeps_a_small_chain() {
        let mut b = Evbuffer::new();
        b.add(b"abc").unwrap();
        b.drain(3).unwrap();
        assert_eq!(b.live().len(), 1);
        b.assert_invariants();
        b.add(b"d").unwrap();
        assert_eq!(content(&b), b"d");
    }

    #[test]
    fn remove_buffer_parks_dst_empties() {
        let (mut a, mut d) = (Evbuffer::new(), Evbuffer::new());
        d.add(b"1").unwrap();
        d.expand(10_000).unwrap();
        a.add(&[5; 2000]).unwrap();
        a.add(&[6; 3000]).unwrap();
        assert_eq!(a.remove_buffer(&mut d, 2500).unwrap(), 2500);
        a.assert_invariants();
        d.assert_invariants();
        assert_eq!(d.len(), 2501);
        assert_eq!(a.len(), 2500);
    }

    #[test]
    fn truncate_undoes_appends() {
        let mut b = Evbuffer::new();
        b.add(&[1; 1000]).unwrap();
        b.add(&[2; 3000]).unwrap();
        b.truncate(500);
        b.assert_invariants();
        assert_eq!(content(&b), vec![1; 500]);
    }

    #[test]
    fn pullup_in_place_and_by_copy() {
        let mut b = Evbuffer::new();
        b.add(&[1; 100]).unwrap();
        let mut c = Evbuffer::new();
        c.add(&[2; 100]).unwrap();
        b.add_buffer(&mut c).unwrap();
        b.add(&[3; 5000]).unwrap();
        assert_eq!(b.pullup(Some(150)).unwrap().len(), 150);
        b.assert_invariants();
        assert_eq!(b.pullup(None).unwrap().len(), 5200);
        b.assert_invariants();
        assert_eq!(b.live().len(), 1);
    }
}
