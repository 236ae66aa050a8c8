//! One chain of an [`Evbuffer`](crate::Evbuffer): a block of bytes from
//! rvent's memory (libevent's `struct evbuffer_chain`) with the data window
//! `[misalign, misalign + off)` inside it.
//!
//! This is the only file of `buffer` that uses `unsafe`: the block is raw
//! memory from rvent's memory (the thread's size-class pool over the
//! memory functions, see [`alloc_block`]) so that appends are one `memcpy`
//! and a new chain costs one allocation with no zero-filling.
//!
//! # Invariants (checked by [`Chain::check`])
//! - `ptr` is a live block of `cap` bytes obtained by [`alloc_block`], or
//!   dangling when `cap == 0` (the placeholder [`Chain::EMPTY`]).
//! - `misalign + off <= init <= cap`.
//! - The bytes `[0, init)` have been written (initialised) at least once:
//!   every slice handed out lies below `init`, so no uninitialised byte is
//!   ever read. `init` only grows.
//! - A *shared* chain (`shared` is `Some`) views read-only bytes owned by
//!   its [`Shared`] owner — caller memory from `add_reference`, a pool
//!   block viewed by several buffers after `add_buffer_reference`, a file
//!   segment's mapped or read bytes. Its window ends at `cap`
//!   (`cap == init == misalign + off`), so `space() == 0` and no write path
//!   (append, prepend into the misalign room, realign, reserve, commit,
//!   `data_mut`) ever reaches it; an emptied shared chain gets `cap == 0`.
//!   The bytes live as long as the owner, which lives as long as the last
//!   chain holding it: dropping that chain runs the owner's cleanup.
//! - Owners, and the boxes of caller owners, are blocks from the memory
//!   functions ([`MemRc`], [`RventAlloc`]), made fallibly: a chain turns
//!   shared only once its owner exists ([`Chain::reserve_share`]).

// Maintainer notes: the owner is a `MemRc<Shared>` (thin, 8 bytes, with a
// niche) in the chain rather than a tagged `init`, so the chain is 48
// bytes, libevent's header size, and the hot paths (append, advance, data)
// do not look at it. An owned block's recorded `cap` is what `alloc_block`
// returned (the pool class size), and `free_block` needs exactly that value
// to find the block's class again: never shrink an owned chain's `cap`
// (shared chains record their block in `Shared::Block`).
#![allow(unsafe_code)]

use std::mem::ManuallyDrop;
use std::os::fd::RawFd;
use std::ptr::NonNull;

use crate::error::{Error, Result};
#[cfg(doc)]
use crate::mem::POOL_MAX_SIZE;
use crate::mem::{self, MemRc, RventAlloc};
use crate::sys::io::{self, MAX_READ_IOV};

/// Smallest block a chain gets (libevent's `MIN_BUFFER_SIZE` on 64-bit).
pub(crate) const MIN_CHAIN_SIZE: usize = 1024;

/// Appends double the last chain's size while it is at most half this
/// (libevent's `EVBUFFER_CHAIN_MAX_AUTO_SIZE`): 1 KiB → 2 KiB → 4 KiB → 4 KiB.
pub(crate) const CHAIN_MAX_AUTO_SIZE: usize = 4096;

/// A block of at least `cap` bytes for a chain, and its real capacity.
/// The one allocation seam of `buffer`: chains come from here and go back
/// through [`free_block`]. Blocks of up to [`POOL_MAX_SIZE`] bytes come
/// from the thread's size-class pool (recycled while a base or another
/// chain block lives on the thread, straight from and back to the memory
/// functions otherwise), bigger ones from the memory functions directly.
#[inline]
fn alloc_block(cap: usize) -> Result<(NonNull<u8>, usize)> {
    debug_assert!(cap != 0);
    mem::chain_block(cap)
}

/// Returns a block obtained from [`alloc_block`].
///
/// # Safety
/// `ptr` is a live block from [`alloc_block`] whose capacity it returned
/// was `cap`.
#[inline]
unsafe fn free_block(ptr: NonNull<u8>, cap: usize) {
    debug_assert!(cap != 0);
    // SAFETY: forwarded: `alloc_block` is `chain_block`, and `cap` is the
    // capacity it returned.
    unsafe { mem::free_chain_block(ptr, cap) }
}

/// The block size for a new chain that must hold `need` bytes when the
/// buffer's last chain has capacity `last_cap` (0 if none): doubling up to
/// [`CHAIN_MAX_AUTO_SIZE`], rounded up to a power of two of at least
/// [`MIN_CHAIN_SIZE`] (exact for huge sizes), libevent's §4.2 policy.
///
/// A write at least as big as that size gets the next power of two up, so
/// the following write of the same size fits too: libevent gets the same
/// effect from counting its 48-byte chain header in the rounded size
/// (4 KiB writes land in 8 KiB chains, one allocation per two writes).
#[inline]
pub(crate) fn grow_size(last_cap: usize, need: usize) -> usize {
    let mut size = last_cap;
    if size <= CHAIN_MAX_AUTO_SIZE / 2 {
        size *= 2;
    }
    if need >= size {
        round_size(need.saturating_add(1))
    } else {
        round_size(size)
    }
}

/// `n` rounded up to a power of two of at least [`MIN_CHAIN_SIZE`];
/// sizes past `usize::MAX / 2` stay exact.
#[inline]
pub(crate) fn round_size(n: usize) -> usize {
    if n <= MIN_CHAIN_SIZE {
        MIN_CHAIN_SIZE
    } else {
        n.checked_next_power_of_two().unwrap_or(n)
    }
}

/// The owner of a shared chain's bytes. Dropped with the last chain
/// viewing it; dropping it is the cleanup.
pub(crate) enum Shared {
    /// Made ahead by [`Chain::reserve_share`] for an owned chain about to
    /// be shared (it owns nothing yet: the chain still owns its block);
    /// [`Chain::share`] turns it into a `Block`.
    Pending,
    /// A block from [`alloc_block`] that several buffers view
    /// (`add_buffer_reference`); freed back to the pool at the end.
    Block { ptr: NonNull<u8>, cap: usize },
    /// Caller memory (`add_reference`): dropping the owner is the cleanup.
    Owner(OwnerBox),
    /// A file segment's bytes (`add_file_segment`).
    File(MemRc<super::segment::SegmentInner>),
}

/// A caller's owner in a block from the memory functions.
pub(crate) type OwnerBox = allocator_api2::boxed::Box<dyn OwnerBytes, RventAlloc>;

/// `owner` in a block from the memory functions, as an [`OwnerBox`].
///
/// # Errors
/// [`Error::Alloc`]; `owner` is dropped (its cleanup runs).
pub(crate) fn owner_box<O: OwnerBytes + 'static>(owner: O) -> Result<OwnerBox> {
    let b = allocator_api2::boxed::Box::try_new_in(owner, RventAlloc).map_err(|_| Error::Alloc)?;
    Ok(allocator_api2::unsize_box!(b))
}

/// Memory a caller hands over by reference: its bytes, stable while the
/// value is neither moved nor dropped.
pub(crate) trait OwnerBytes {
    /// The bytes.
    fn bytes(&self) -> &[u8];
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Shared::Block { ptr, cap } = *self {
            // SAFETY: a `Block` owner holds the live block of an owned
            // chain that was turned shared (`Chain::share`), which gave up
            // its ownership; it is freed only here, once.
            unsafe { free_block(ptr, cap) }
        }
    }
}

/// A chain: a block and the window of data in it.
pub(crate) struct Chain {
    ptr: NonNull<u8>,
    cap: usize,
    /// Unused bytes before the data.
    misalign: usize,
    /// Bytes of data.
    off: usize,
    /// End of the initialised prefix of the block.
    init: usize,
    /// The owner of the bytes of a shared (read-only) chain; dropped by
    /// hand in `drop`, so dropping an owned chain tests it once.
    shared: ManuallyDrop<Option<MemRc<Shared>>>,
}

impl Chain {
    /// The placeholder left in vacated slots of the chain list: no block.
    pub(crate) const EMPTY: Chain = Chain {
        ptr: NonNull::dangling(),
        cap: 0,
        misalign: 0,
        off: 0,
        init: 0,
        shared: ManuallyDrop::new(None),
    };

    /// An empty chain with a block of at least `cap` (non-zero) bytes:
    /// exactly `cap` above the pool's largest class, else `cap`'s class
    /// size (a power of two of at least 16).
    #[inline]
    pub(crate) fn with_capacity(cap: usize) -> Result<Chain> {
        let (ptr, cap) = alloc_block(cap)?;
        Ok(Chain {
            ptr,
            cap,
            misalign: 0,
            off: 0,
            init: 0,
            shared: ManuallyDrop::new(None),
        })
    }

    /// A shared chain over `bytes[start..]`, which `owner` keeps alive
    /// and unchanged. `bytes` must come from `owner` (its `Owner` bytes,
    /// `File` bytes or `Block` block) and `start` must be below its length.
    pub(crate) fn shared(owner: MemRc<Shared>, bytes: &[u8], start: usize) -> Chain {
        debug_assert!(start < bytes.len());
        Chain {
            // A pointer derived from a shared borrow: only ever read.
            ptr: NonNull::from(bytes).cast(),
            cap: bytes.len(),
            misalign: start,
            off: bytes.len() - start,
            init: bytes.len(),
            shared: ManuallyDrop::new(Some(owner)),
        }
    }

    /// Whether the chain views shared read-only bytes.
    #[inline]
    pub(crate) fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Whether the chain views a file segment's bytes.
    #[inline]
    pub(crate) fn is_file(&self) -> bool {
        matches!(self.shared.as_deref(), Some(Shared::File(_)))
    }

    /// Where to `sendfile` this chain's data from — the segment's
    /// descriptor and the file offset of the data — for a file chain that
    /// allows it.
    #[inline]
    pub(crate) fn sendfile_source(&self) -> Option<(RawFd, u64)> {
        match self.shared.as_deref() {
            Some(Shared::File(seg)) => seg.sendfile_at(self.misalign),
            _ => None,
        }
    }

    /// Makes the one allocation [`share`](Self::share) needs — the owner
    /// of an owned chain's block, still [`Shared::Pending`] — so that a
    /// `share` after it cannot fail. Nothing visible changes: the chain
    /// keeps its block and room until `share` (or
    /// [`cancel_share`](Self::cancel_share), which frees the owner).
    ///
    /// # Errors
    /// [`Error::Alloc`]; the chain is unchanged.
    pub(crate) fn reserve_share(&mut self) -> Result<()> {
        if self.shared.is_none() {
            debug_assert!(self.cap != 0 && self.off != 0);
            *self.shared = Some(MemRc::try_new(Shared::Pending)?);
        }
        Ok(())
    }

    /// Undoes [`reserve_share`](Self::reserve_share) (nothing for a chain
    /// that was shared already).
    pub(crate) fn cancel_share(&mut self) {
        if matches!(self.shared.as_deref(), Some(Shared::Pending)) {
            *self.shared = None;
        }
    }

    /// A second chain viewing the same bytes (`add_buffer_reference`),
    /// turning an owned chain into a shared one first: from then on
    /// neither may be written. `None` for file-segment chains (their bytes
    /// may be sent with `sendfile`, libevent refuses them too).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the owner cannot be made (never after
    /// [`reserve_share`](Self::reserve_share)); the chain is unchanged.
    pub(crate) fn share(&mut self) -> Result<Option<Chain>> {
        self.reserve_share()?;
        let owner = self.shared.as_mut().expect("reserved above");
        if matches!(**owner, Shared::Pending) {
            let pending = MemRc::get_mut(owner).expect("a pending owner has one handle");
            // The block now belongs to the owner; the window ends the view.
            *pending = Shared::Block {
                ptr: self.ptr,
                cap: self.cap,
            };
            self.cap = self.misalign + self.off;
            self.init = self.cap;
        }
        if matches!(**owner, Shared::File(_)) {
            return Ok(None);
        }
        Ok(Some(Chain {
            ptr: self.ptr,
            cap: self.cap,
            misalign: self.misalign,
            off: self.off,
            init: self.init,
            shared: ManuallyDrop::new(Some(MemRc::clone(owner))),
        }))
    }

    /// Capacity of the block.
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Bytes of data.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.off
    }

    /// Whether the chain holds no data.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.off == 0
    }

    /// Unused bytes before the data (room for prepends).
    #[inline]
    pub(crate) fn misalign(&self) -> usize {
        self.misalign
    }

    /// Free bytes after the data (room for appends).
    #[inline]
    pub(crate) fn space(&self) -> usize {
        self.cap - self.misalign - self.off
    }

    /// The data.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `[misalign, misalign + off)` lies inside the live block
        // (`misalign + off <= init <= cap`) and below `init`, so it is
        // initialised; `&self` guards it against writes. For EMPTY the
        // length is 0 and the dangling pointer is aligned for `u8`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(self.misalign), self.off) }
    }

    /// The data, writable (owned chains only).
    ///
    /// # Panics
    /// On a shared chain (a bug in the caller: their bytes are read-only).
    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        assert!(self.shared.is_none(), "data_mut on a shared chain");
        // SAFETY: as in `data`; `&mut self` makes the access unique, and
        // the block is owned by this chain alone (not shared).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(self.misalign), self.off) }
    }

    /// Appends `src` after the data.
    ///
    /// # Panics
    /// If `src` is longer than [`space`](Self::space) (a bug in the caller).
    #[inline]
    pub(crate) fn append(&mut self, src: &[u8]) {
        assert!(src.len() <= self.space(), "chain append beyond its space");
        let end = self.misalign + self.off;
        // SAFETY: `end + src.len() <= cap` (checked above), so the target
        // lies in the live block; `src` is a shared borrow, so it cannot
        // alias the block, which `&mut self` owns exclusively.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(end), src.len());
        }
        self.off += src.len();
        self.init = self.init.max(end + src.len());
    }

    /// Puts `src` right before the data, using the misalign room. An empty
    /// chain first moves its (empty) window to the end of the block.
    ///
    /// # Panics
    /// If `src` is longer than the misalign room (a bug in the caller).
    #[inline]
    pub(crate) fn prepend(&mut self, src: &[u8]) {
        assert!(self.shared.is_none(), "prepend into a shared chain");
        if self.off == 0 {
            self.misalign = self.cap;
        }
        assert!(
            src.len() <= self.misalign,
            "chain prepend beyond its misalign"
        );
        let start = self.misalign - src.len();
        if start > self.init {
            // Only an emptied chain gets here (its window moved to the end):
            // zero the never-written gap so `[0, init)` stays initialised.
            // SAFETY: `[init, start)` lies in the live block (`start <= cap`).
            unsafe {
                std::ptr::write_bytes(self.ptr.as_ptr().add(self.init), 0, start - self.init)
            };
        }
        // SAFETY: `[start, misalign)` lies in the live block; `src` cannot
        // alias it (shared borrow vs our exclusive ownership).
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(start), src.len());
        }
        self.init = self.init.max(self.misalign);
        self.misalign = start;
        self.off += src.len();
    }

    /// Drops `n` bytes from the front of the data. An emptied chain resets
    /// its window to the start of the block.
    ///
    /// # Panics
    /// If `n` exceeds the data (a bug in the caller).
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        assert!(n <= self.off, "chain advance beyond its data");
        self.off -= n;
        if self.off != 0 {
            self.misalign += n;
        } else {
            self.misalign = 0;
            if self.shared.is_some() {
                // No room may appear in a shared block.
                self.cap = 0;
                self.init = 0;
            }
        }
    }

    /// Drops `n` bytes from the end of the data.
    ///
    /// # Panics
    /// If `n` exceeds the data (a bug in the caller).
    #[inline]
    pub(crate) fn truncate_back(&mut self, n: usize) {
        assert!(n <= self.off, "chain truncate beyond its data");
        self.off -= n;
        if self.shared.is_some() {
            // Keep the window ending at `cap`: no room appears.
            self.cap -= n;
            self.init = self.cap;
        }
        if self.off == 0 {
            self.misalign = 0;
            if self.shared.is_some() {
                self.cap = 0;
                self.init = 0;
            }
        }
    }

    /// Moves the data to the start of the block (libevent's
    /// `evbuffer_chain_align`), so all free room is after it.
    #[inline]
    pub(crate) fn realign(&mut self) {
        if self.misalign == 0 || self.shared.is_some() {
            return;
        }
        // SAFETY: source `[misalign, misalign + off)` and target `[0, off)`
        // both lie in the live block; `copy` allows overlap. The source is
        // initialised, and the target lies below `init`.
        unsafe {
            std::ptr::copy(
                self.ptr.as_ptr().add(self.misalign),
                self.ptr.as_ptr(),
                self.off,
            );
        }
        self.misalign = 0;
    }

    /// The first `n` bytes of the free room after the data, zeroed where
    /// never written, for a reservation.
    ///
    /// # Panics
    /// If `n` exceeds [`space`](Self::space) (a bug in the caller).
    pub(crate) fn spare_mut(&mut self, n: usize) -> &mut [u8] {
        assert!(n <= self.space(), "chain reservation beyond its space");
        let start = self.misalign + self.off;
        let end = start + n;
        if end > self.init {
            // SAFETY: `[init, end)` lies in the live block (`end <= cap`).
            unsafe {
                std::ptr::write_bytes(self.ptr.as_ptr().add(self.init), 0, end - self.init);
            }
            self.init = end;
        }
        // SAFETY: `[start, end)` lies in the live block below `init`, so it
        // is initialised; `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(start), n) }
    }

    /// Turns the first `n` bytes of the free room into data. Refused
    /// (`false`, nothing changed) unless those bytes were handed out by
    /// [`spare_mut`](Self::spare_mut) (so they are initialised).
    #[inline]
    pub(crate) fn commit(&mut self, n: usize) -> bool {
        let end = self.misalign + self.off;
        match end.checked_add(n) {
            Some(new_end) if new_end <= self.init => {
                self.off += n;
                true
            }
            _ => false,
        }
    }

    /// Whether [`commit`](Self::commit) of `n` bytes would succeed.
    #[inline]
    pub(crate) fn can_commit(&self, n: usize) -> bool {
        (self.misalign + self.off)
            .checked_add(n)
            .is_some_and(|end| end <= self.init)
    }

    /// Checks this chain's invariants.
    ///
    /// # Panics
    /// If one is broken, with the values.
    pub(crate) fn check(&self) {
        let end = self.misalign.checked_add(self.off);
        assert!(
            matches!(end, Some(e) if e <= self.init),
            "chain: misalign {} + off {} > init {}",
            self.misalign,
            self.off,
            self.init
        );
        assert!(
            self.init <= self.cap,
            "chain: init {} > capacity {}",
            self.init,
            self.cap
        );
        if self.shared.is_some() {
            assert!(
                self.space() == 0 && self.init == self.cap,
                "shared chain with room: misalign {} off {} init {} cap {}",
                self.misalign,
                self.off,
                self.init,
                self.cap
            );
        }
    }
}

/// Reads from `fd` with one `readv` straight into the free room of
/// `chains` (at most [`MAX_READ_IOV`] of them, in order, `want` bytes in
/// all) and turns what was read into data; returns the bytes read. The
/// room is not zero-filled first: the kernel writes it, and only the bytes
/// it reports become data (and initialised). Chains after the first must
/// be empty, so the data stays contiguous across them. Nothing changes on
/// error.
#[inline]
pub(crate) fn read_into(
    fd: RawFd,
    chains: &mut [Chain],
    want: usize,
    socket: bool,
) -> std::io::Result<usize> {
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; MAX_READ_IOV];
    let mut n = 0;
    let mut left = want;
    for c in chains.iter_mut() {
        if left == 0 || n == MAX_READ_IOV {
            break;
        }
        let k = c.space().min(left);
        if k == 0 {
            continue;
        }
        // SAFETY: pointer arithmetic only: `misalign + off + k <= cap`, inside
        // the live block.
        let at = unsafe { c.ptr.as_ptr().add(c.misalign + c.off) };
        iov[n] = libc::iovec {
            iov_base: at.cast(),
            iov_len: k,
        };
        n += 1;
        left -= k;
    }
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: each extent is free room of an owned chain (`space()` only
    // counts room of owned blocks: shared chains have none), writable and
    // reached by nothing else while `chains` is borrowed mutably.
    let got = unsafe { io::readv(fd, &iov[..n], socket) }?;
    let mut left = got;
    for c in chains.iter_mut() {
        if left == 0 {
            break;
        }
        let k = c.space().min(left);
        if k == 0 {
            continue;
        }
        // The kernel wrote (so initialised) these `k` bytes: readv fills
        // the extents in order and reports the total.
        let end = c.misalign + c.off + k;
        c.off += k;
        c.init = c.init.max(end);
        left -= k;
    }
    Ok(got)
}

impl Drop for Chain {
    #[inline]
    fn drop(&mut self) {
        if self.shared.is_none() {
            if self.cap != 0 {
                // SAFETY: a non-zero `cap` on an owned chain means `ptr` is
                // the live block from `alloc_block(cap)` (invariant), freed
                // only here.
                unsafe { free_block(self.ptr, self.cap) }
            }
        } else {
            // SAFETY: called from `drop`, once; the chain is not used after.
            unsafe { self.drop_shared() }
        }
    }
}

impl Chain {
    /// The drop of a shared chain, out of line: the hot paths drop owned
    /// chains.
    ///
    /// # Safety
    /// Only from `drop`, once: it drops `shared`.
    #[cold]
    #[inline(never)]
    unsafe fn drop_shared(&mut self) {
        if matches!(self.shared.as_deref(), Some(Shared::Pending)) && self.cap != 0 {
            // SAFETY: a pending owner owns nothing yet (see
            // `reserve_share`): the chain still owns its live block from
            // `alloc_block(cap)`, freed only here.
            unsafe { free_block(self.ptr, self.cap) }
        }
        // SAFETY: the caller's promise: `shared` is dropped only here, once,
        // and not used after. (The owner frees or releases the bytes.)
        unsafe { ManuallyDrop::drop(&mut self.shared) }
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("cap", &self.cap)
            .field("misalign", &self.misalign)
            .field("off", &self.off)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}
