//! The per-base arena: bump allocation for everything that lives at most
//! one loop iteration, released in one step when the iteration ends.
//!
//! # Why our own arena, not bumpalo
//!
//! Issue 3 wants every byte rvent owns to come from the memory functions.
//! bumpalo 3 takes its chunks from Rust's global allocator (`alloc` in its
//! `new_chunk`) and has no way to plug another source in, so a `Bump`
//! would be a hole in that promise; wrapping it (counting
//! `allocated_bytes`, capping with `set_allocation_limit`) would still
//! leave its chunks outside the hooks. The arena rvent needs is small — a
//! bump pointer, a chunk list, a reset — so this one is written over
//! `RventAlloc`: each chunk is one block from the memory functions (or the
//! global allocator when none are installed), and a chunk that cannot be
//! obtained is an `AllocError`, never an abort. Owning it also gives what
//! the loop needs and bumpalo lacks: a reset of an untouched arena that
//! costs one load and a branch (the `dirty` flag), and the in-use / peak /
//! reset figures of [`MemStats`](crate::MemStats).
//!
//! # Why a reset never frees memory still in use
//!
//! The base owns its arena. Callbacks and rvent's own code reach it only
//! through a shared borrow, [`EventBase::scratch`](crate::EventBase::scratch)
//! (`&self -> &Arena`), and every allocation made through `&'a Arena` —
//! a `Vec<T, &'a Arena>`, a `&'a mut T` from [`Arena::try_alloc`] — carries
//! that lifetime `'a`. Resetting needs `&mut Arena`, which the loop takes
//! from its `&mut EventBase` between callbacks. The borrow checker
//! therefore proves that no `&'a Arena`, and so nothing allocated from it,
//! is alive when a reset runs: a callback's borrow of the base ends when
//! the callback returns, and rvent's internal uses (signal counts,
//! cross-thread command batches, dump formatting) end before the loop
//! moves on. No `unsafe` outside this file can create a longer-lived
//! reference, and this file hands out none.
//!
//! Values in the arena are never dropped by it (like bumpalo): a reset
//! reclaims bytes, it does not run destructors. A collection dropped
//! before the reset runs its elements' destructors as usual.
//!
//! # Lifecycle of the chunks
//!
//! The first allocation takes a 4 KiB chunk; a request that does not fit
//! takes a new chunk twice the size of the last (at most 64 KiB unless the
//! request itself is larger). A reset frees every chunk but the newest
//! and keeps that one for the next iteration, so a loop that uses the same
//! scratch every iteration stops calling the memory functions after the
//! first iteration; a chunk larger than 64 KiB is freed too, so one large
//! iteration does not pin memory for the life of the base. Freeing the
//! most recent allocation (or growing / shrinking it) moves the bump
//! pointer back, so a scratch buffer used and dropped outside the loop
//! (e.g. by `dump_events`) does not accumulate.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};

use super::alloc::RventAlloc;
use super::contract::MEM_ALIGN;
use crate::error::{Error, Result};

/// Alignment of every chunk (what the memory functions give).
const CHUNK_ALIGN: usize = MEM_ALIGN;
/// Bytes at the start of each chunk for its header (keeps data aligned).
const HEADER: usize = CHUNK_ALIGN;
/// Size of the first chunk, header included.
const FIRST_CHUNK: usize = 4096;
/// Chunks up to this size are kept across resets; doubling stops here.
const KEEP_MAX: usize = 64 * 1024;

/// Header at the start of every chunk: the chunk list is intrusive.
struct Chunk {
    /// The chunk allocated before this one.
    prev: Option<NonNull<Chunk>>,
    /// Bytes of the whole block, header included.
    size: usize,
}

const _: () = assert!(size_of::<Chunk>() <= HEADER && align_of::<Chunk>() <= CHUNK_ALIGN);

/// A bump arena whose memory lives until the end of the current loop
/// iteration: the base's per-iteration scratch (libevent has no
/// equivalent; see `peers.md` §5.5).
///
/// Get it from a callback with [`EventBase::scratch`](crate::EventBase::scratch)
/// and allocate with `allocator_api2` collections (`&Arena` is an
/// [`Allocator`]) or with [`try_alloc`](Arena::try_alloc) /
/// [`try_alloc_slice_fill`](Arena::try_alloc_slice_fill). Its chunks come
/// from the memory functions. Allocation is a pointer bump; nothing is
/// freed individually (except the most recent allocation, which rolls the
/// pointer back), and everything is released at once when the loop
/// iteration ends. Destructors of values left in the arena do not run.
///
/// # Examples
/// ```
/// use allocator_api2::vec::Vec;
/// use rvent::{Event, EventBase};
///
/// let mut base = EventBase::new()?;
/// let ev = Event::timer(&mut base, |base, _, _, _| {
///     let scratch = base.scratch();
///     let mut words: Vec<&str, _> = Vec::new_in(scratch);
///     words.extend(["per", "iteration", "scratch"]);
///     let n = scratch.try_alloc(words.len()).expect("memory");
///     assert_eq!(*n, 3);
/// })?;
/// ev.active(&mut base, rvent::Ev::TIMEOUT)?;
/// base.run(rvent::LoopFlags::NONBLOCK)?;
/// // The iteration ended: the arena was reset.
/// assert_eq!(base.mem_stats().arena_bytes, 0);
/// assert!(base.mem_stats().arena_peak > 0);
/// # Ok::<(), rvent::Error>(())
/// ```
pub struct Arena {
    /// Next free byte of the current chunk (null without a chunk).
    ptr: Cell<*mut u8>,
    /// End of the current chunk (null without a chunk).
    end: Cell<*mut u8>,
    /// The newest chunk, heading the list.
    chunk: Cell<Option<NonNull<Chunk>>>,
    /// Something was allocated since the last reset.
    dirty: Cell<bool>,
    /// Bytes handed out from chunks older than the current one.
    retired: Cell<usize>,
    /// Most bytes in use at once, sampled at resets, stats reads and
    /// roll-backs.
    peak: Cell<usize>,
    /// Resets that released something.
    resets: Cell<u64>,
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("in_use", &self.in_use())
            .field("capacity", &self.capacity())
            .field("peak", &self.peak())
            .field("resets", &self.resets.get())
            .finish()
    }
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

/// The data start of `chunk`.
#[inline]
fn data_of(chunk: NonNull<Chunk>) -> *mut u8 {
    // SAFETY: every chunk is at least `HEADER` bytes long (see
    // `Arena::new_chunk`), so the data start is in bounds of the block.
    unsafe { chunk.as_ptr().cast::<u8>().add(HEADER) }
}

/// The layout a chunk of `size` bytes was obtained with.
#[inline]
fn chunk_layout(size: usize) -> Layout {
    Layout::from_size_align(size, CHUNK_ALIGN).expect("chunk sizes were checked when obtained")
}

impl Arena {
    /// An empty arena; allocates nothing until first used.
    pub(crate) const fn new() -> Arena {
        Arena {
            ptr: Cell::new(ptr::null_mut()),
            end: Cell::new(ptr::null_mut()),
            chunk: Cell::new(None),
            dirty: Cell::new(false),
            retired: Cell::new(0),
            peak: Cell::new(0),
            resets: Cell::new(0),
        }
    }

    /// Moves `value` into the arena and returns a reference to it, valid
    /// until the arena is reset (the end of the loop iteration). `value`'s
    /// destructor never runs.
    ///
    /// # Errors
    /// [`Error::Alloc`] if a new chunk cannot be obtained; `value` is
    /// dropped.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |base, _, _, _| {
    ///     let n: &mut u64 = base.scratch().try_alloc(41).unwrap();
    ///     *n += 1; // valid until this loop iteration ends
    ///     assert_eq!(*n, 42);
    /// })?;
    /// ev.active(&mut base, Ev::TIMEOUT)?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block
    pub fn try_alloc<T>(&self, value: T) -> Result<&mut T> {
        let p = self.bump(Layout::new::<T>()).map_err(|_| Error::Alloc)?;
        let p = p.cast::<T>().as_ptr();
        // SAFETY: `p` is a fresh block of `T`'s layout (or dangling and
        // aligned for a zero-sized `T`), disjoint from every other block
        // handed out, and valid until a reset, which needs `&mut self` and
        // so cannot happen while the returned borrow of `self` lives.
        unsafe {
            p.write(value);
            Ok(&mut *p)
        }
    }

    /// A slice of `len` copies of `value` in the arena, valid until the
    /// arena is reset.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the size overflows or a chunk cannot be obtained.
    ///
    /// # Examples
    /// ```
    /// # let base = rvent::EventBase::new()?;
    /// let counts = base.scratch().try_alloc_slice_fill(65, 0u16)?;
    /// counts[9] += 1;
    /// assert_eq!(counts.iter().sum::<u16>(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block
    pub fn try_alloc_slice_fill<T: Copy>(&self, len: usize, value: T) -> Result<&mut [T]> {
        let layout = Layout::array::<T>(len).map_err(|_| Error::Alloc)?;
        let p = self.bump(layout).map_err(|_| Error::Alloc)?.cast::<T>();
        // SAFETY: `p` is a fresh block for `len` elements of `T`, aligned,
        // disjoint from other blocks and valid until a reset (see
        // `try_alloc`); every element is initialised before the slice is
        // made.
        unsafe {
            for i in 0..len {
                p.as_ptr().add(i).write(value);
            }
            Ok(std::slice::from_raw_parts_mut(p.as_ptr(), len))
        }
    }

    /// Bytes handed out since the last reset (alignment padding included).
    pub(crate) fn in_use(&self) -> usize {
        match self.chunk.get() {
            Some(c) => self.retired.get() + (self.ptr.get().addr() - data_of(c).addr()),
            None => 0,
        }
    }

    /// The most bytes in use at once, so far (checked at each reset).
    pub(crate) fn peak(&self) -> usize {
        self.peak.get().max(self.in_use())
    }

    /// Resets that released something.
    pub(crate) fn resets(&self) -> u64 {
        self.resets.get()
    }

    /// Bytes of the chunks held now, headers included.
    pub(crate) fn capacity(&self) -> usize {
        let mut total = 0;
        let mut c = self.chunk.get();
        while let Some(chunk) = c {
            // SAFETY: every chunk on the list is live and its header was
            // written when it was obtained.
            let h = unsafe { chunk.as_ptr().read() };
            total += h.size;
            c = h.prev;
        }
        total
    }

    /// Releases everything allocated since the last reset. Costs one load
    /// and a branch when nothing was allocated.
    ///
    /// Taking `&mut self` is what makes this sound: no borrow of the arena
    /// (and so no allocation from it) can be alive.
    #[inline(always)]
    pub(crate) fn reset(&mut self) {
        if self.dirty.get() {
            self.reset_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn reset_slow(&mut self) {
        self.peak.set(self.peak());
        self.resets.set(self.resets.get() + 1);
        self.dirty.set(false);
        self.retired.set(0);
        let Some(current) = self.chunk.get() else {
            return;
        };
        // SAFETY: `current` is live; its header was written when obtained.
        let Chunk { prev, size } = unsafe { current.as_ptr().read() };
        // SAFETY: `current` is live; only its `prev` link changes, and the
        // older chunks are freed right after.
        unsafe { (*current.as_ptr()).prev = None };
        // SAFETY: `&mut self`: nothing allocated from the arena is alive,
        // so the older chunks can go; none is reachable any more.
        unsafe { free_list(prev) };
        if size > KEEP_MAX {
            // SAFETY: as above (its `prev` is now `None`); `current` is
            // forgotten right after.
            unsafe { free_list(Some(current)) };
            self.chunk.set(None);
            self.ptr.set(ptr::null_mut());
            self.end.set(ptr::null_mut());
        } else {
            self.ptr.set(data_of(current));
        }
    }

    /// Bumps a block of `layout` out of the current chunk, or a new one.
    #[inline]
    fn bump(&self, layout: Layout) -> std::result::Result<NonNull<u8>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout.align()));
        }
        let p = self.ptr.get();
        let pad = p.addr().wrapping_neg() & (layout.align() - 1);
        let avail = self.end.get().addr() - p.addr();
        if let Some(need) = pad.checked_add(layout.size())
            && need <= avail
        {
            // SAFETY: `pad + size` bytes are left in the current chunk, so
            // both offsets stay in bounds of its block.
            let (start, next) = unsafe { (p.add(pad), p.add(need)) };
            self.ptr.set(next);
            self.dirty.set(true);
            // SAFETY: `start` is inside a live chunk, so not null.
            return Ok(unsafe { NonNull::new_unchecked(start) });
        }
        self.bump_new_chunk(layout)
    }

    /// [`bump`](Self::bump) when the current chunk is full: a new chunk
    /// from the memory functions, then the bump.
    #[cold]
    #[inline(never)]
    fn bump_new_chunk(&self, layout: Layout) -> std::result::Result<NonNull<u8>, AllocError> {
        let last = match self.chunk.get() {
            // SAFETY: the current chunk is live with a written header.
            Some(c) => unsafe { c.as_ptr().read().size },
            None => FIRST_CHUNK / 2,
        };
        let need = layout
            .size()
            .checked_add(layout.align() - 1)
            .and_then(|n| n.checked_add(HEADER))
            .and_then(|n| n.checked_next_multiple_of(CHUNK_ALIGN))
            .ok_or(AllocError)?;
        let size = last.saturating_mul(2).min(KEEP_MAX).max(need);
        let layout_c = Layout::from_size_align(size, CHUNK_ALIGN).map_err(|_| AllocError)?;
        let block = RventAlloc.allocate(layout_c)?.cast::<Chunk>();
        let used = self.in_use();
        // SAFETY: `block` is a fresh block of `size >= HEADER` bytes aligned
        // to `CHUNK_ALIGN`, enough for the header.
        unsafe {
            block.as_ptr().write(Chunk {
                prev: self.chunk.get(),
                size,
            })
        };
        self.retired.set(used);
        self.chunk.set(Some(block));
        let data = data_of(block);
        self.ptr.set(data);
        // SAFETY: `size` bytes from the block start are in bounds.
        self.end
            .set(unsafe { block.as_ptr().cast::<u8>().add(size) });
        // The new chunk has room for `layout` with any padding.
        self.bump(layout)
    }

    /// Whether `ptr..ptr + size` is the most recent allocation.
    #[inline]
    fn is_last(&self, ptr: NonNull<u8>, size: usize) -> bool {
        let Some(c) = self.chunk.get() else {
            return false;
        };
        ptr.as_ptr().addr() >= data_of(c).addr()
            && ptr.as_ptr().addr().wrapping_add(size) == self.ptr.get().addr()
    }
}

/// Frees `chunk` and every chunk before it.
///
/// # Safety
/// The chunks are live, obtained by `bump_new_chunk`, and nothing
/// allocated from them is used afterwards.
unsafe fn free_list(mut chunk: Option<NonNull<Chunk>>) {
    while let Some(c) = chunk {
        // SAFETY: `c` is live (caller's precondition) with a written header.
        let Chunk { prev, size } = unsafe { c.as_ptr().read() };
        // SAFETY: `c` was obtained from `RventAlloc` with this layout.
        unsafe { RventAlloc.deallocate(c.cast(), chunk_layout(size)) };
        chunk = prev;
    }
}

/// A non-null, aligned address for zero-sized blocks.
#[inline]
fn dangling(align: usize) -> NonNull<u8> {
    NonNull::<u8>::dangling().with_addr(std::num::NonZeroUsize::new(align).expect("align > 0"))
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: `&mut self` in drop: nothing borrowed from the arena is
        // alive, and the list is dropped with it.
        unsafe { free_list(self.chunk.take()) };
    }
}

// SAFETY: blocks are disjoint ranges of live chunks (the bump pointer only
// moves forward, except when the most recent block itself is freed or
// resized), aligned as requested, and stay valid for the lifetime of the
// `&Arena`: a reset or drop needs `&mut Arena`, which cannot coexist with
// it. `deallocate` only ever rolls the pointer back over the block being
// freed. Copies of `&Arena` are the same arena.
unsafe impl Allocator for &Arena {
    #[inline]
    fn allocate(&self, layout: Layout) -> std::result::Result<NonNull<[u8]>, AllocError> {
        let p = self.bump(layout)?;
        Ok(NonNull::slice_from_raw_parts(p, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 && self.is_last(ptr, layout.size()) {
            // The peak is otherwise sampled at resets; a roll-back would
            // hide this block from it.
            self.peak.set(self.peak());
            self.ptr.set(ptr.as_ptr());
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> std::result::Result<NonNull<[u8]>, AllocError> {
        debug_assert!(new.size() >= old.size());
        if old.size() != 0
            && self.is_last(ptr, old.size())
            && ptr.as_ptr().addr().is_multiple_of(new.align())
            && new.size() <= self.end.get().addr() - ptr.as_ptr().addr()
        {
            // SAFETY: the block is the last one and its new end is still
            // inside the current chunk.
            self.ptr.set(unsafe { ptr.as_ptr().add(new.size()) });
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        let fresh = self.allocate(new)?;
        // SAFETY: `ptr` is live for `old.size()` bytes and `fresh` is a new,
        // disjoint block at least that large.
        unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.cast::<u8>().as_ptr(), old.size()) };
        Ok(fresh)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> std::result::Result<NonNull<[u8]>, AllocError> {
        debug_assert!(new.size() <= old.size());
        if !ptr.as_ptr().addr().is_multiple_of(new.align()) {
            let fresh = self.allocate(new)?;
            // SAFETY: `ptr` is live for `old.size() >= new.size()` bytes;
            // `fresh` is new and disjoint.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.cast::<u8>().as_ptr(), new.size())
            };
            return Ok(fresh);
        }
        if old.size() != 0 && self.is_last(ptr, old.size()) {
            self.peak.set(self.peak());
            // SAFETY: the block is the last one; its new end is inside it.
            self.ptr.set(unsafe { ptr.as_ptr().add(new.size()) });
        }
        Ok(NonNull::slice_from_raw_parts(ptr, new.size()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::vec::Vec;

    #[test]
    fn untouched_reset_keeps_nothing_and_counts_nothing() {
        let mut a = Arena::new();
        a.reset();
        assert_eq!((a.in_use(), a.capacity(), a.resets()), (0, 0, 0));
    }

    #[test]
    fn values_and_slices_are_aligned_and_disjoint() {
        let mut a = Arena::new();
        let x = a.try_alloc(7u8).unwrap();
        let y = a.try_alloc(0x1122_3344_5566_7788u64).unwrap();
        let s = a.try_alloc_slice_fill(10, 3u32).unwrap();
        assert_eq!(y as *mut u64 as usize % 8, 0);
        assert_eq!(s.as_ptr() as usize % 4, 0);
        *x += 1;
        s[9] = 9;
        assert_eq!((*x, *y, s[0], s[9]), (8, 0x1122_3344_5566_7788, 3, 9));
        assert!(a.in_use() >= 1 + 8 + 40);
        a.reset();
        assert_eq!(a.in_use(), 0);
        assert_eq!(a.resets(), 1);
        assert!(a.peak() >= 49);
    }

    #[test]
    fn vec_grows_in_place_and_rolls_back_when_dropped() {
        let a = Arena::new();
        let mut v: Vec<u8, &Arena> = Vec::new_in(&a);
        for i in 0..1000u32 {
            v.push(i as u8);
        }
        assert!(v.iter().enumerate().all(|(i, &b)| b == i as u8));
        // Growing the last block in place leaves no copies behind.
        assert!(a.in_use() <= 1024, "in use {}", a.in_use());
        drop(v);
        assert_eq!(a.in_use(), 0, "freeing the last block rolls back");
        assert!(a.peak() >= 1000, "the peak remembers the rolled-back block");
    }

    #[test]
    fn large_requests_get_their_own_chunk_and_are_released() {
        let mut a = Arena::new();
        let small = a.try_alloc_slice_fill(100, 1u8).unwrap();
        let big = a.try_alloc_slice_fill(100_000, 2u8).unwrap();
        assert_eq!((small[99], big[99_999]), (1, 2));
        assert!(a.capacity() > 100_000);
        a.reset();
        assert_eq!(a.capacity(), 0, "chunks above the keep limit are freed");
        // Reuse after a full release.
        assert_eq!(*a.try_alloc(5u16).unwrap(), 5);
    }

    #[test]
    fn reset_keeps_the_newest_chunk_for_reuse() {
        let mut a = Arena::new();
        for round in 0..3 {
            for i in 0..100usize {
                let s = a.try_alloc_slice_fill(64, i as u8).unwrap();
                assert_eq!(s[63], i as u8);
            }
            a.reset();
            assert_eq!(a.in_use(), 0);
            assert!(a.capacity() <= KEEP_MAX, "round {round}");
        }
        let cap = a.capacity();
        for i in 0..100usize {
            a.try_alloc_slice_fill(64, i as u8).unwrap();
        }
        assert_eq!(a.capacity(), cap, "a warm arena obtains no chunk");
        assert_eq!(a.resets(), 3);
    }

    #[test]
    fn zero_sized_and_overaligned_requests() {
        let a = Arena::new();
        let z = (&a)
            .allocate(Layout::from_size_align(0, 64).unwrap())
            .unwrap();
        assert_eq!(z.cast::<u8>().as_ptr() as usize % 64, 0);
        let l = Layout::from_size_align(24, 256).unwrap();
        let p = (&a).allocate(l).unwrap();
        assert_eq!(p.cast::<u8>().as_ptr() as usize % 256, 0);
        // SAFETY: `p` came from `allocate` with `l`.
        unsafe { (&a).deallocate(p.cast(), l) };
        assert!(a.try_alloc_slice_fill(usize::MAX / 2, 0u32).is_err());
    }

    /// A tiny xorshift generator for op programs (no dependency, Miri-fast).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> usize {
            (self.next() % n) as usize
        }
    }

    /// Op programs against a model (the live blocks and their contents):
    /// allocate with random sizes and alignments, grow / shrink / free the
    /// last block, reset. After each op every live block keeps its bytes
    /// and alignment, blocks are disjoint, and `in_use` covers them.
    #[test]
    fn op_programs_match_the_model() {
        // Miri checks every byte read: smaller blocks there (the chunk
        // paths are still taken; large chunks have their own test).
        let (programs, ops, sizes): (u64, usize, &[usize]) = if cfg!(miri) {
            (3, 60, &[1, 3, 8, 24, 100, 700, 3000])
        } else {
            (32, 300, &[1, 3, 8, 24, 100, 700, 5000, 70_000])
        };
        for seed in 1..=programs {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
            let mut arena = Arena::new();
            let mut resets = 0;
            {
                // (block, layout, fill byte); in allocation order.
                let mut live: std::vec::Vec<(NonNull<u8>, Layout, u8)> = std::vec::Vec::new();
                for op in 0..ops {
                    match rng.below(10) {
                        0..=5 => {
                            let size = sizes[rng.below(sizes.len() as u64)];
                            let align = 1 << rng.below(7);
                            let l = Layout::from_size_align(size, align).unwrap();
                            let p = (&arena).allocate(l).unwrap().cast::<u8>();
                            assert!(p.as_ptr().addr().is_multiple_of(align));
                            let fill = op as u8;
                            // SAFETY: `p` is a fresh block of `size` bytes.
                            unsafe { p.as_ptr().write_bytes(fill, size) };
                            live.push((p, l, fill));
                        }
                        6 => {
                            if let Some((p, l, _)) = live.pop() {
                                // SAFETY: the block came from `allocate(l)`.
                                unsafe { (&arena).deallocate(p, l) };
                            }
                        }
                        7 => {
                            if let Some((p, l, fill)) = live.pop() {
                                let new =
                                    Layout::from_size_align(l.size() * 2 + 1, l.align()).unwrap();
                                // SAFETY: the block came from the arena with `l`.
                                let q = unsafe { (&arena).grow(p, l, new) }.unwrap().cast::<u8>();
                                // SAFETY: `q` holds `new.size()` bytes, the
                                // first `l.size()` copied from `p`.
                                unsafe {
                                    q.as_ptr()
                                        .add(l.size())
                                        .write_bytes(fill, new.size() - l.size())
                                };
                                live.push((q, new, fill));
                            }
                        }
                        8 => {
                            if let Some((p, l, fill)) = live.pop() {
                                let new = Layout::from_size_align(l.size().div_ceil(2), l.align())
                                    .unwrap();
                                // SAFETY: the block came from the arena with `l`.
                                let q = unsafe { (&arena).shrink(p, l, new) }.unwrap().cast::<u8>();
                                live.push((q, new, fill));
                            }
                        }
                        _ => {
                            live.clear();
                            arena.reset();
                            resets += 1;
                            assert_eq!(arena.in_use(), 0);
                            assert!(arena.capacity() <= KEEP_MAX);
                        }
                    }
                    let mut total = 0;
                    for (i, &(p, l, fill)) in live.iter().enumerate() {
                        // SAFETY: live blocks stay valid until the next reset.
                        let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), l.size()) };
                        assert!(
                            bytes.iter().all(|&b| b == fill),
                            "seed {seed} op {op} block {i}"
                        );
                        assert!(p.as_ptr().addr().is_multiple_of(l.align()));
                        total += l.size();
                    }
                    assert!(arena.in_use() >= total, "seed {seed} op {op}");
                    let mut ranges: std::vec::Vec<_> = live
                        .iter()
                        .map(|(p, l, _)| (p.as_ptr().addr(), p.as_ptr().addr() + l.size()))
                        .collect();
                    ranges.sort_unstable();
                    assert!(
                        ranges.windows(2).all(|w| w[0].1 <= w[1].0),
                        "blocks overlap"
                    );
                }
            }
            assert!(arena.resets() <= resets);
        }
    }

    #[test]
    fn shrink_and_grow_keep_contents() {
        let a = Arena::new();
        let mut v: Vec<u32, &Arena> = Vec::new_in(&a);
        v.extend(0..100);
        let other = a.try_alloc(1u8).unwrap(); // v is no longer the last block
        v.extend(100..200); // grows by copying
        v.truncate(10);
        v.shrink_to_fit();
        assert_eq!(*other, 1);
        assert_eq!(v[..], (0..10).collect::<std::vec::Vec<u32>>()[..]);
    }
}
