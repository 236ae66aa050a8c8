//! Pools for long-lived objects: size classes with free lists over the
//! memory functions, so a loop in steady state makes no calls to them.
//!
//! # Design
//!
//! Eleven size classes, powers of two from 16 bytes to 16 KiB, each with an
//! intrusive free list (a freed block stores the next free block in its
//! first word). Every block is one block from `RventAlloc` — the memory
//! functions, or the global allocator when none are installed — of exactly
//! its class size, aligned to [`MEM_ALIGN`](crate::MEM_ALIGN). A request
//! is served from its class's free list (a *hit*) or from the memory
//! functions (a *miss*); a freed block goes back on its list unless the
//! cached bytes would pass the high-water mark
//! ([`Pool::set_high_water`], 256 KiB by default), in which case it goes
//! straight back to the memory functions — so after a burst the footprint
//! falls back to at most the mark, and to nothing once a base's
//! housekeeping tick finds it quiet ([`release_cached`]). One block per object (rather than slabs
//! carved into objects) keeps trimming trivial: any cached block can be
//! released on its own. Larger or over-aligned requests bypass the pool.
//!
//! # Whose pool
//!
//! The free lists are per thread. An `EventBase` is `!Send`, so a base's
//! objects are created and freed on its thread, and the thread's pool is
//! the base's pool ([`EventBase::pool`](crate::EventBase::pool) hands out
//! the handle). Per thread rather than inside the base because the handle
//! must be zero-sized: event records are pinned at 80 bytes, and an
//! allocator reference in every callback box would grow them. Blocks are
//! cached only while a base lives on the thread; when the thread's last
//! base is dropped (after its events) the cache is flushed, so the memory
//! functions get every block back — the net count after the bases drop is
//! zero, as the chapter's counting example expects. Chain blocks are also
//! cached while another chain block lives on the thread, base or not
//! ([`chain_block`]), and the lists are flushed when the last of them goes
//! with no base alive: a buffer streaming data without a base recycles its
//! chains too, and nothing stays cached once nothing uses it. A block freed on
//! another thread goes to that thread's pool (or straight back when it has
//! no base); that is still correct, since all pools draw from the same
//! process-wide memory functions.
//!
//! Event callbacks and evbuffer chain blocks use the pool. A chain's block
//! is taken with the layout `(capacity, MEM_ALIGN)` and the chain records
//! the capacity it got ([`chain_block`]: the class size for pooled sizes,
//! the exact size above [`POOL_MAX_SIZE`]); freeing with that capacity maps
//! to the same class, or to the same unpooled layout, so a chain may move
//! between buffers and be dropped anywhere on its thread (`Evbuffer` is
//! `!Send`, so it never leaves the thread; were a block freed on another
//! thread it would still be correct, as above).

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

use super::alloc::{RventAlloc, whole_block};
use super::contract::MEM_ALIGN;
use crate::error::{Error, Result};

/// Number of size classes.
const CLASSES: usize = 11;
/// The smallest class: 16 bytes (2^4).
const MIN_SHIFT: u32 = 4;
/// The largest pooled size: 16 KiB.
pub const POOL_MAX_SIZE: usize = 1 << (MIN_SHIFT as usize + CLASSES - 1);
/// The default high-water mark of a thread's pool, in cached bytes.
pub const POOL_DEFAULT_HIGH_WATER: usize = 256 * 1024;

/// The class of a non-zero `size`, if pooled.
#[inline]
fn class_of(size: usize) -> Option<usize> {
    debug_assert!(size != 0);
    if size > POOL_MAX_SIZE {
        return None;
    }
    Some(class_of_pooled(size))
}

/// The class of a `size` in `1..=POOL_MAX_SIZE`.
#[inline]
fn class_of_pooled(size: usize) -> usize {
    debug_assert!(size != 0 && size <= POOL_MAX_SIZE);
    let bits = usize::BITS - (size - 1).leading_zeros();
    bits.saturating_sub(MIN_SHIFT) as usize
}

/// Bytes of class `c`.
#[inline]
const fn class_size(c: usize) -> usize {
    1 << (MIN_SHIFT as usize + c)
}

/// The layout a block of class `c` is obtained with.
#[inline]
fn class_layout(c: usize) -> Layout {
    // A power of two no larger than POOL_MAX_SIZE, aligned to MEM_ALIGN.
    Layout::from_size_align(class_size(c), MEM_ALIGN).expect("class layouts are valid")
}

/// A cached block: its first word links to the next one.
struct Free {
    next: Option<NonNull<Free>>,
}

/// A thread's free lists and counters.
struct ThreadPool {
    heads: [Cell<Option<NonNull<Free>>>; CLASSES],
    cached: Cell<usize>,
    high_water: Cell<usize>,
    hits: Cell<u64>,
    misses: Cell<u64>,
    /// Chain blocks alive on this thread (taken by [`chain_block`], not
    /// yet given back). Chain blocks are cached while a base *or* another
    /// chain block lives here, so a buffer used without a base streams
    /// through recycled blocks too; when the last one goes with no base
    /// alive the lists are flushed, so nothing stays cached once nothing
    /// uses it.
    chain_blocks: Cell<usize>,
}

impl ThreadPool {
    const fn new() -> ThreadPool {
        ThreadPool {
            heads: [const { Cell::new(None) }; CLASSES],
            cached: Cell::new(0),
            high_water: Cell::new(POOL_DEFAULT_HIGH_WATER),
            hits: Cell::new(0),
            misses: Cell::new(0),
            chain_blocks: Cell::new(0),
        }
    }

    /// A cached block of class `c`, if any.
    #[inline]
    fn pop(&self, c: usize) -> Option<NonNull<u8>> {
        let head = self.heads[c].get()?;
        // SAFETY: blocks on the list are live, owned by the pool, and had
        // their link written by `push`.
        let next = unsafe { head.as_ptr().read().next };
        self.heads[c].set(next);
        self.cached.set(self.cached.get() - class_size(c));
        self.hits.set(self.hits.get() + 1);
        Some(head.cast())
    }

    /// A cached block of class `c`, or `None` with the miss counted.
    #[inline]
    fn pop_or_miss(&self, c: usize) -> Option<NonNull<u8>> {
        let hit = self.pop(c);
        if hit.is_none() {
            self.misses.set(self.misses.get() + 1);
        }
        hit
    }

    /// Caches a block of class `c`; false if the caller must release it.
    ///
    /// # Safety
    /// `p` is a live block of `class_layout(c)` from `RventAlloc`, no
    /// longer used by anyone.
    #[inline]
    unsafe fn push(&self, c: usize, p: NonNull<u8>) -> bool {
        let size = class_size(c);
        if self.cached.get() + size > self.high_water.get() {
            return false;
        }
        let p = p.cast::<Free>();
        // SAFETY: `p` is at least 16 bytes and MEM_ALIGN-aligned (caller's
        // precondition), room for the link.
        unsafe {
            p.as_ptr().write(Free {
                next: self.heads[c].get(),
            })
        };
        self.heads[c].set(Some(p));
        self.cached.set(self.cached.get() + size);
        true
    }

    /// Counts a chain block taken; returns whether the lists may serve
    /// it (a base or another chain block lives: otherwise they are empty).
    #[inline]
    fn chain_taken(&self) -> bool {
        let live = self.chain_blocks.get();
        self.chain_blocks.set(live + 1);
        live != 0 || caching()
    }

    /// Counts a chain block given back; returns whether it may be cached
    /// (a base or another chain block lives). If not, flushes what the
    /// chains left cached: nothing stays once nothing uses it.
    #[inline]
    fn chain_given_back(&self) -> bool {
        let live = self.chain_blocks.get();
        debug_assert!(live != 0, "a chain block given back twice");
        let live = live.wrapping_sub(1);
        self.chain_blocks.set(live);
        live != 0 || caching() || self.last_chain_gone()
    }

    /// The last chain block went with no base alive: flushes the lists.
    /// Returns false (the block is not cached).
    #[cold]
    #[inline(never)]
    fn last_chain_gone(&self) -> bool {
        if self.cached.get() != 0 {
            self.flush();
        }
        false
    }

    /// Gives every cached block back to the memory functions.
    fn flush(&self) {
        for c in 0..CLASSES {
            while let Some(p) = self.heads[c].get() {
                // SAFETY: as in `pop`.
                self.heads[c].set(unsafe { p.as_ptr().read().next });
                // SAFETY: cached blocks are live blocks of their class
                // layout from `RventAlloc`, unused by anyone.
                unsafe { RventAlloc.deallocate(p.cast(), class_layout(c)) };
            }
        }
        self.cached.set(0);
    }

    /// Releases cached blocks until at most `limit` bytes stay cached.
    fn trim_to(&self, limit: usize) {
        for c in (0..CLASSES).rev() {
            while self.cached.get() > limit {
                let Some(p) = self.heads[c].get() else { break };
                // SAFETY: as in `flush`.
                unsafe {
                    self.heads[c].set(p.as_ptr().read().next);
                    RventAlloc.deallocate(p.cast(), class_layout(c));
                }
                self.cached.set(self.cached.get() - class_size(c));
            }
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.flush();
    }
}

thread_local! {
    static POOL: ThreadPool = const { ThreadPool::new() };
    /// Bases alive on this thread: blocks are cached only while > 0, so
    /// with none the free lists are empty and `Pool` forwards straight to
    /// `RventAlloc`. Kept apart from `POOL` because it needs no destructor:
    /// reading it is a plain thread-local load, with no registration check,
    /// which keeps the no-base path (buffers used without a base) as cheap
    /// as calling `RventAlloc` itself.
    static BASES: Cell<usize> = const { Cell::new(0) };
}

/// Whether a base lives on this thread (so the pool caches blocks).
#[inline]
fn caching() -> bool {
    BASES.with(Cell::get) != 0
}

/// Handle to the pool of long-lived objects of the current thread's bases:
/// size-class free lists over the memory functions
/// ([`EventBase::pool`](crate::EventBase::pool)).
///
/// Blocks of up to [`POOL_MAX_SIZE`] bytes are recycled: once a loop has
/// warmed up, allocating and freeing them makes no call to the memory
/// functions. Use it through [`alloc`](Pool::alloc) / [`free`](Pool::free)
/// or as an `allocator_api2` [`Allocator`] (`Box::new_in(x, base.pool())`).
/// Event callbacks and evbuffer chain blocks are allocated here.
///
/// # Examples
/// ```
/// use rvent::EventBase;
/// let base = EventBase::new()?;
/// let pool = base.pool();
/// let p = pool.alloc(1000)?; // a 1 KiB class block
/// assert_eq!(p.as_ptr() as usize % rvent::MEM_ALIGN, 0);
/// // SAFETY: `p` came from `pool.alloc(1000)` and is not used afterwards.
/// unsafe { pool.free(p, 1000) };
/// let again = pool.alloc(600)?; // same class: recycled
/// assert_eq!(again, p);
/// assert!(base.mem_stats().pool_hits >= 1);
/// // SAFETY: as above.
/// unsafe { pool.free(again, 600) };
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    _private: (),
}

impl Pool {
    /// The handle (crate-internal: users get it from a base).
    pub(crate) const fn new() -> Pool {
        Pool { _private: () }
    }

    /// A block of at least `size` bytes aligned to
    /// [`MEM_ALIGN`](crate::MEM_ALIGN): recycled from the pool when one of
    /// its size class is cached, else from the memory functions. A zero
    /// `size` gives a dangling, aligned pointer and makes no call.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the memory functions fail or `size` is too large
    /// for a layout.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, MEM_ALIGN};
    ///
    /// let base = EventBase::new()?;
    /// let pool = base.pool();
    /// let p = pool.alloc(100)?;
    /// assert_eq!(p.as_ptr() as usize % MEM_ALIGN, 0);
    /// // SAFETY: `p` came from `pool.alloc(100)` and is not used afterwards.
    /// unsafe { pool.free(p, 100) };
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn alloc(&self, size: usize) -> Result<NonNull<u8>> {
        let layout = Layout::from_size_align(size, MEM_ALIGN).map_err(|_| Error::Alloc)?;
        self.allocate(layout)
            .map(|p| p.cast::<u8>())
            .map_err(|_| Error::Alloc)
    }

    /// Returns a block to the pool (or, above the high-water mark, to the
    /// memory functions).
    ///
    /// # Safety
    /// `ptr` came from [`Pool::alloc`] with the same `size` (on any
    /// thread), was not freed since, and is not used afterwards.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let base = EventBase::new()?;
    /// let pool = base.pool();
    /// let p = pool.alloc(64)?;
    /// // SAFETY: `p` came from `pool.alloc(64)`, is freed once and not used afterwards.
    /// unsafe { pool.free(p, 64) };
    /// assert_eq!(pool.alloc(64)?, p); // cached for the next block of its class
    /// # // SAFETY: as above.
    /// # unsafe { pool.free(p, 64) };
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub unsafe fn free(&self, ptr: NonNull<u8>, size: usize) {
        debug_assert!(size <= isize::MAX as usize - MEM_ALIGN);
        // SAFETY: caller's precondition; `alloc` used this exact layout,
        // which was valid then.
        unsafe { self.deallocate(ptr, Layout::from_size_align_unchecked(size, MEM_ALIGN)) }
    }

    /// Sets the high-water mark of this thread's pool: freed blocks are
    /// cached only while the cached bytes stay at or below it, and blocks
    /// above it are released now. Zero disables caching.
    ///
    /// # Examples
    /// ```
    /// let base = rvent::EventBase::new()?;
    /// base.pool().set_high_water(0);
    /// assert_eq!(base.mem_stats().pool_bytes_cached, 0);
    /// base.pool().set_high_water(rvent::POOL_DEFAULT_HIGH_WATER);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn set_high_water(&self, bytes: usize) {
        let _ = POOL.try_with(|p| {
            p.high_water.set(bytes);
            p.trim_to(bytes);
        });
    }

    /// The high-water mark of this thread's pool.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, POOL_DEFAULT_HIGH_WATER};
    ///
    /// let base = EventBase::new()?;
    /// assert_eq!(base.pool().high_water(), POOL_DEFAULT_HIGH_WATER);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn high_water(&self) -> usize {
        POOL.try_with(|p| p.high_water.get()).unwrap_or(0)
    }
}

/// Gives this thread's cached blocks back to the memory functions, all of
/// them (the high-water mark stays): for a base that went quiet (its
/// housekeeping tick), so an idle process holds no cache for reads that
/// may never come. A busy loop refills the lists with one call per block.
pub(crate) fn release_cached() {
    let _ = POOL.try_with(|p| p.trim_to(0));
}

/// (hits, misses, cached bytes) of this thread's pool.
pub(crate) fn counters() -> (u64, u64, usize) {
    POOL.try_with(|p| (p.hits.get(), p.misses.get(), p.cached.get()))
        .unwrap_or_default()
}

/// Registers a base on this thread for as long as it lives: the pool
/// caches blocks only while a base lives, and flushes when the last one
/// goes. Keep it the base's last field, so the base's events drop first.
pub(crate) struct BaseGuard {
    /// `!Send`: the guard must drop on the thread it registered with.
    _thread: std::marker::PhantomData<*const ()>,
}

impl BaseGuard {
    pub(crate) fn new() -> BaseGuard {
        BASES.with(|b| b.set(b.get() + 1));
        BaseGuard {
            _thread: std::marker::PhantomData,
        }
    }
}

impl Drop for BaseGuard {
    fn drop(&mut self) {
        let n = BASES.with(|b| {
            let n = b.get().saturating_sub(1);
            b.set(n);
            n
        });
        if n == 0 {
            let _ = POOL.try_with(ThreadPool::flush);
        }
    }
}

// SAFETY: every pooled block is a live `RventAlloc` block of its class
// layout (at least the requested size, MEM_ALIGN-aligned, so any layout
// with align <= MEM_ALIGN of that class fits it); a cached block is owned
// by exactly one free list until popped, and handed to one caller at a
// time. Unpooled requests go to `RventAlloc` with their own layout, and
// `deallocate` takes the same branch for the same layout, so each block
// returns to where it came from. The handle is zero-sized and stateless:
// all copies are interchangeable.
unsafe impl Allocator for Pool {
    #[inline]
    fn allocate(&self, layout: Layout) -> std::result::Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 || layout.align() > MEM_ALIGN {
            return RventAlloc.allocate(layout);
        }
        let Some(c) = class_of(layout.size()) else {
            return RventAlloc.allocate(layout);
        };
        if !caching() {
            // No base: nothing is cached (the last base flushed the lists
            // and `push` is not reached), so go to the source directly.
            return Ok(NonNull::slice_from_raw_parts(
                RventAlloc.allocate(class_layout(c))?.cast(),
                class_size(c),
            ));
        }
        // One thread-local access: a hit, or the miss counted.
        let hit = POOL.try_with(|p| p.pop_or_miss(c)).ok().flatten();
        let p = match hit {
            Some(p) => p,
            None => RventAlloc.allocate(class_layout(c))?.cast(),
        };
        Ok(NonNull::slice_from_raw_parts(p, class_size(c)))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // The whole class block, whatever part of it `ptr`'s provenance
        // covers: it is reused for larger values of its class or freed
        // with the class layout (see `alloc::whole_block`).
        let ptr = whole_block(ptr);
        if layout.size() == 0 || layout.align() > MEM_ALIGN {
            // SAFETY: forwarded: `allocate` took the same branch.
            return unsafe { RventAlloc.deallocate(ptr, layout) };
        }
        let Some(c) = class_of(layout.size()) else {
            // SAFETY: forwarded: `allocate` took the same branch.
            return unsafe { RventAlloc.deallocate(ptr, layout) };
        };
        if !caching() {
            // SAFETY: the block was obtained with `class_layout(c)` (by
            // either branch of `allocate`); no base, so it is not cached.
            return unsafe { RventAlloc.deallocate(ptr, class_layout(c)) };
        }
        // SAFETY: `ptr` is a live block of class `c` that the caller gives
        // up (forwarded precondition).
        let cached = POOL
            .try_with(|p| unsafe { p.push(c, ptr) })
            .unwrap_or(false);
        if !cached {
            // SAFETY: the block was obtained with `class_layout(c)`.
            unsafe { RventAlloc.deallocate(ptr, class_layout(c)) };
        }
    }
}

/// A block of at least `size` (non-zero) bytes for an evbuffer chain, and
/// its usable capacity: a pooled block of `size`'s class (the class size),
/// or an exact block from `RventAlloc` above [`POOL_MAX_SIZE`]. Give it
/// back with [`free_chain_block`] and that capacity.
///
/// Served from the thread's free lists while a base or another chain
/// block lives on the thread (the pool counts them): in steady state a
/// buffer's chains cost no call to the memory functions, whose
/// process-wide counters are atomic read-modify-writes that also wait for
/// the store buffer (right after a chain's memcpy: the bulk of a 4 KiB
/// add or drain without a base).
///
/// # Errors
/// [`Error::Alloc`] if the memory functions fail or `size` is too large.
#[inline]
pub(crate) fn chain_block(size: usize) -> Result<(NonNull<u8>, usize)> {
    debug_assert!(size != 0);
    // The same classes and layouts as `Pool::allocate`, with the checks
    // that cannot fail for a chain (non-zero size, alignment) left out:
    // this is on every chain allocation, with or without a base.
    if size > POOL_MAX_SIZE {
        return chain_block_unpooled(size);
    }
    let c = class_of_pooled(size);
    // One thread-local access: counted, and a hit or the miss counted.
    // (During thread teardown nothing is counted, and the block is given
    // back uncounted too: `try_with` fails the same way then.)
    let hit = POOL
        .try_with(|p| {
            if p.chain_taken() {
                p.pop_or_miss(c)
            } else {
                None
            }
        })
        .ok()
        .flatten();
    match hit {
        Some(p) => Ok((p, class_size(c))),
        None => chain_block_miss(c),
    }
}

/// [`chain_block`] of class `c` from the memory functions (counted as
/// taken already); on failure the count is undone.
#[inline(never)]
fn chain_block_miss(c: usize) -> Result<(NonNull<u8>, usize)> {
    match RventAlloc.allocate(class_layout(c)) {
        Ok(p) => Ok((p.cast(), class_size(c))),
        Err(_) => {
            let _ = POOL.try_with(ThreadPool::chain_given_back);
            Err(Error::Alloc)
        }
    }
}

/// [`chain_block`] above [`POOL_MAX_SIZE`]: an exact block.
#[inline(never)]
fn chain_block_unpooled(size: usize) -> Result<(NonNull<u8>, usize)> {
    let layout = Layout::from_size_align(size, MEM_ALIGN).map_err(|_| Error::Alloc)?;
    let p = RventAlloc.allocate(layout).map_err(|_| Error::Alloc)?;
    let _ = POOL.try_with(ThreadPool::chain_taken);
    Ok((p.cast(), size))
}

/// Returns a block from [`chain_block`]: to the thread's free lists while
/// a base or another chain block lives on the thread, else to the memory
/// functions (flushing the lists when this was the last chain block and
/// no base lives).
///
/// # Safety
/// `ptr` is a live block from [`chain_block`] with capacity `cap` as it
/// returned, not used afterwards.
#[inline]
pub(crate) unsafe fn free_chain_block(ptr: NonNull<u8>, cap: usize) {
    if cap > POOL_MAX_SIZE {
        // SAFETY: forwarded.
        return unsafe { free_chain_block_unpooled(ptr, cap) };
    }
    // `cap` is a class size, so this is the class it was taken from.
    let c = class_of_pooled(cap);
    // SAFETY: `ptr` is a live block of `class_layout(c)` from `RventAlloc`
    // that the caller gives up.
    let cached = POOL
        .try_with(|p| p.chain_given_back() && unsafe { p.push(c, ptr) })
        .unwrap_or(false);
    if !cached {
        // SAFETY: the block was obtained with `class_layout(c)`.
        unsafe { RventAlloc.deallocate(ptr, class_layout(c)) };
    }
}

/// [`free_chain_block`] above [`POOL_MAX_SIZE`].
///
/// # Safety
/// As for [`free_chain_block`], with `cap > POOL_MAX_SIZE`.
#[inline(never)]
unsafe fn free_chain_block_unpooled(ptr: NonNull<u8>, cap: usize) {
    // SAFETY: `chain_block` returned `cap` = `size` for unpooled sizes
    // and obtained the block with this layout, valid then.
    unsafe { RventAlloc.deallocate(ptr, Layout::from_size_align_unchecked(cap, MEM_ALIGN)) };
    let _ = POOL.try_with(ThreadPool::chain_given_back);
}

/// Bytes of the block a pool box of `value` holds from the memory
/// functions (its class size; the exact size past the classes or over
/// [`MEM_ALIGN`]; none for a zero-sized value), for per-base statistics.
pub(crate) fn pool_bytes_of<T: ?Sized>(value: &T) -> usize {
    pool_bytes_of_layout(Layout::for_value(value))
}

/// [`pool_bytes_of`] a value of layout `layout`.
pub(crate) fn pool_bytes_of_layout(layout: Layout) -> usize {
    let (size, align) = (layout.size(), layout.align());
    if size == 0 {
        return 0;
    }
    match class_of(size) {
        Some(c) if align <= MEM_ALIGN => class_size(c),
        _ => size,
    }
}

/// Moves `value` into a block of the pool (from the memory functions).
/// Callers that need a trait object unsize the box with
/// `allocator_api2::unsize_box!` (its documented way on stable: a raw
/// pointer coercion, then `from_raw_in` with the same allocator), so this
/// layer names no callback type.
///
/// # Errors
/// [`Error::Alloc`](crate::Error::Alloc); `value` is dropped.
#[inline]
pub(crate) fn pool_box<T>(value: T) -> Result<allocator_api2::boxed::Box<T, Pool>> {
    allocator_api2::boxed::Box::try_new_in(value, Pool::new()).map_err(|_| Error::Alloc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_sizes() {
        assert_eq!(class_of(1), Some(0));
        assert_eq!(class_of(16), Some(0));
        assert_eq!(class_of(17), Some(1));
        assert_eq!(class_of(1024), Some(6));
        assert_eq!(class_of(1025), Some(7));
        assert_eq!(class_of(POOL_MAX_SIZE), Some(CLASSES - 1));
        assert_eq!(class_of(POOL_MAX_SIZE + 1), None);
        for s in 1..=POOL_MAX_SIZE {
            let c = class_of(s).unwrap();
            assert!(class_size(c) >= s && (c == 0 || class_size(c - 1) < s));
        }
    }

    #[test]
    fn freed_blocks_are_recycled_while_a_base_lives() {
        let guard = BaseGuard::new();
        let pool = Pool::new();
        let (h0, m0, _) = counters();
        let a = pool.alloc(40).unwrap();
        // SAFETY: `a` is a fresh block of at least 40 bytes.
        unsafe { a.as_ptr().write_bytes(7, 40) };
        // SAFETY: from `alloc(40)`, not used afterwards.
        unsafe { pool.free(a, 40) };
        let b = pool.alloc(64).unwrap();
        assert_eq!(a, b, "same class, recycled");
        let (h1, m1, cached) = counters();
        assert_eq!((h1 - h0, m1 - m0, cached), (1, 1, 0));
        // SAFETY: from `alloc(64)`.
        unsafe { pool.free(b, 64) };
        assert_eq!(counters().2, 64);
        drop(guard);
        assert_eq!(counters().2, 0, "the last base flushes the pool");
    }

    #[test]
    fn nothing_is_cached_without_a_base() {
        let pool = Pool::new();
        let p = pool.alloc(100).unwrap();
        // SAFETY: from `alloc(100)`.
        unsafe { pool.free(p, 100) };
        assert_eq!(counters().2, 0);
    }

    #[test]
    fn high_water_bounds_the_cache() {
        let _guard = BaseGuard::new();
        let pool = Pool::new();
        pool.set_high_water(1024);
        let blocks: Vec<_> = (0..40).map(|_| pool.alloc(100).unwrap()).collect();
        for p in blocks {
            // SAFETY: each from `alloc(100)`, freed once.
            unsafe { pool.free(p, 100) };
        }
        assert_eq!(
            counters().2,
            1024,
            "8 blocks of 128 cached, the rest released"
        );
        pool.set_high_water(256);
        assert_eq!(counters().2, 256, "lowering the mark trims at once");
        pool.set_high_water(POOL_DEFAULT_HIGH_WATER);
    }

    /// Op programs against a model: random allocations and frees of
    /// random sizes keep their contents, every block is aligned, and the
    /// cache never passes the high-water mark.
    #[test]
    fn op_programs_keep_contents_and_bound_the_cache() {
        let _guard = BaseGuard::new();
        let pool = Pool::new();
        pool.set_high_water(4096);
        let ops = if cfg!(miri) { 300 } else { 5000 };
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut live: Vec<(NonNull<u8>, usize, u8)> = Vec::new();
        for op in 0..ops {
            if live.is_empty() || next() % 3 != 0 {
                let size = 1 + (next() % 3000) as usize;
                let p = pool.alloc(size).unwrap();
                assert!(p.as_ptr().addr().is_multiple_of(MEM_ALIGN));
                // SAFETY: a fresh block of at least `size` bytes.
                unsafe { p.as_ptr().write_bytes(op as u8, size) };
                live.push((p, size, op as u8));
            } else {
                let i = (next() % live.len() as u64) as usize;
                let (p, size, fill) = live.swap_remove(i);
                // SAFETY: the block is live with `size` bytes.
                let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), size) };
                assert!(bytes.iter().all(|&b| b == fill), "op {op}");
                // SAFETY: from `alloc(size)`, freed once.
                unsafe { pool.free(p, size) };
            }
            assert!(counters().2 <= 4096);
        }
        for (p, size, _) in live {
            // SAFETY: from `alloc(size)`, freed once.
            unsafe { pool.free(p, size) };
        }
        pool.set_high_water(POOL_DEFAULT_HIGH_WATER);
    }

    /// Without a base, chain blocks are recycled while another chain
    /// block lives on the thread, and the last one to go flushes the lists.
    #[test]
    fn chain_blocks_recycle_without_a_base_while_one_lives() {
        assert!(!caching(), "no base on a test thread");
        let (h0, m0, c0) = counters();
        assert_eq!(c0, 0);
        // Alone: taken from and given straight back to the source.
        let (a, cap) = chain_block(1000).unwrap();
        // SAFETY: from `chain_block`, with the capacity it returned.
        unsafe { free_chain_block(a, cap) };
        assert_eq!(counters().2, 0, "the only chain block is not cached");
        let (keep, keep_cap) = chain_block(100).unwrap();
        let (b, cap) = chain_block(4096).unwrap();
        // SAFETY: a fresh block of `cap` bytes.
        unsafe { b.as_ptr().write_bytes(9, cap) };
        // SAFETY: from `chain_block`, with the capacity it returned.
        unsafe { free_chain_block(b, cap) };
        assert_eq!(counters().2, 4096, "cached while `keep` lives");
        let (again, cap2) = chain_block(3000).unwrap();
        assert_eq!((again, cap2), (b, 4096), "same class: recycled");
        let (big, big_cap) = chain_block(POOL_MAX_SIZE + 1).unwrap();
        assert_eq!(big_cap, POOL_MAX_SIZE + 1, "unpooled: exact size");
        // SAFETY: each from `chain_block` with its capacity, freed once.
        unsafe {
            free_chain_block(again, cap2);
            free_chain_block(big, big_cap);
        }
        assert_eq!(counters().2, 4096);
        // SAFETY: as above; the last chain block of the thread.
        unsafe { free_chain_block(keep, keep_cap) };
        let (h1, m1, c1) = counters();
        assert_eq!(c1, 0, "the last chain block flushes the lists");
        // Only the 4096 lookup missed: with no chain block and no base
        // alive there is nothing to look up.
        assert_eq!((h1 - h0, m1 - m0), (1, 1), "one hit, one miss");
    }

    #[test]
    fn boxes_and_large_or_overaligned_requests() {
        let _guard = BaseGuard::new();
        let b = allocator_api2::boxed::Box::new_in([5u64; 8], Pool::new());
        assert_eq!(b[7], 5);
        drop(b);
        let big = Layout::from_size_align(POOL_MAX_SIZE + 1, 8).unwrap();
        let p = Pool::new().allocate(big).unwrap();
        // SAFETY: from `allocate(big)`.
        unsafe { Pool::new().deallocate(p.cast(), big) };
        let over = Layout::from_size_align(64, 64).unwrap();
        let p = Pool::new().allocate(over).unwrap();
        assert_eq!(p.cast::<u8>().as_ptr() as usize % 64, 0);
        // SAFETY: from `allocate(over)`.
        unsafe { Pool::new().deallocate(p.cast(), over) };
        assert!(Pool::new().alloc(usize::MAX).is_err());
    }
}
