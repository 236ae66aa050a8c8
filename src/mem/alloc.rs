//! `RventAlloc`: the allocator the event core's storage uses. It draws from
//! the memory functions when installed, else from Rust's global allocator,
//! and counts what it holds.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};

use super::stats;

/// Zero-sized handle to rvent's memory: the hooks given to
/// `set_mem_functions` / `install_mem_functions`, or the global allocator
/// when none are installed. Memory rvent hands to you, such as the lines
/// [`Evbuffer::readln`](crate::Evbuffer::readln) returns ([`Line`](crate::Line)),
/// lives here and goes back through the same hooks when dropped, as the
/// tutorial's chapter 9.3 asks.
///
/// It never calls `malloc(0)` or `free(null)`: zero-sized requests get a
/// dangling, aligned pointer and make no call.
///
/// # Examples
/// ```
/// use allocator_api2::vec::Vec;
/// let mut v: Vec<u8, rvent::RventAlloc> = Vec::new_in(rvent::RventAlloc);
/// v.extend_from_slice(b"counted by EventBase::mem_stats");
/// assert_eq!(v.len(), 31);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RventAlloc;

/// A non-null, aligned, zero-length block.
#[inline]
fn dangling(layout: Layout) -> NonNull<[u8]> {
    // `layout.align()` is a non-zero power of two, so it is a valid address
    // for a zero-sized block.
    let p = NonNull::<u8>::dangling()
        .with_addr(std::num::NonZeroUsize::new(layout.align()).expect("alignment is non-zero"));
    NonNull::slice_from_raw_parts(p, 0)
}

#[cfg(feature = "mem-functions")]
mod hooked {
    //! The path through installed memory functions.

    use std::alloc::Layout;
    use std::ptr::NonNull;

    use allocator_api2::alloc::AllocError;

    use crate::mem::contract::MEM_ALIGN;
    use crate::mem::functions::MemFunctions;

    /// The message for a block that breaks the alignment promise.
    fn misaligned(hook: &str, p: *mut u8) -> String {
        format!(
            "rvent: memory function `{hook}` returned {p:p}, which is not \
             {MEM_ALIGN}-byte aligned (blocks from set_mem_functions hooks \
             must be aligned like the C library's malloc)"
        )
    }

    /// Whether `p` keeps the contract's alignment.
    #[inline]
    fn contract_aligned(p: *mut u8) -> bool {
        (p as usize).is_multiple_of(MEM_ALIGN)
    }

    pub(super) fn allocate(
        h: &dyn MemFunctions,
        layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if layout.align() > MEM_ALIGN {
            return Err(AllocError);
        }
        let p = h.malloc(layout.size());
        let Some(nn) = NonNull::new(p) else {
            return Err(AllocError);
        };
        if !contract_aligned(p) {
            // Nothing was handed over yet, so unwinding is safe: a debug
            // build panics, naming the hook.
            if cfg!(debug_assertions) {
                panic!("{}", misaligned("malloc", p));
            }
            // A release build uses the block only if it suits the layout.
            if !(p as usize).is_multiple_of(layout.align()) {
                // SAFETY: `p` is a live block from this `malloc`.
                unsafe { h.free(p) };
                return Err(AllocError);
            }
        }
        Ok(NonNull::slice_from_raw_parts(nn, layout.size()))
    }

    /// # Safety
    /// `ptr` is a live block of `old` (non-zero size) from `h`;
    /// `new.size()` is non-zero.
    pub(super) unsafe fn realloc(
        h: &dyn MemFunctions,
        ptr: NonNull<u8>,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if new.align() > MEM_ALIGN {
            return Err(AllocError);
        }
        debug_assert!(new.size() != 0);
        // SAFETY: `ptr` is live and came from `h` (caller's precondition);
        // the size is non-zero, so this is neither malloc nor free.
        let p = unsafe { h.realloc(ptr.as_ptr(), new.size()) };
        let Some(nn) = NonNull::new(p) else {
            return Err(AllocError);
        };
        if !contract_aligned(p)
            && (cfg!(debug_assertions) || !(p as usize).is_multiple_of(new.align()))
        {
            // realloc already consumed the old block, which the caller still
            // owns on error, and unwinding would free it again: neither an
            // error nor a panic is sound here, so report and abort.
            crate::log::log(
                crate::log::Severity::Err,
                format_args!("{}", misaligned("realloc", p)),
            );
            std::process::abort();
        }
        Ok(NonNull::slice_from_raw_parts(nn, new.size()))
    }
}

#[cfg(feature = "mem-functions")]
#[inline]
fn hooks() -> Option<&'static dyn crate::mem::functions::MemFunctions> {
    crate::mem::functions::hooks()
}

/// Fixes the memory source for the process (the memory functions if
/// installed, else the global allocator): called when a base is created,
/// so hooks installed later are refused even if nothing was allocated yet.
pub(crate) fn freeze() {
    #[cfg(feature = "mem-functions")]
    hooks();
}

// SAFETY: blocks come from the installed memory functions (whose
// `MemFunctions` contract gives MEM_ALIGN alignment, re-checked against each
// layout above) or from `Global`; a block is always returned to the source
// that made it, because the source is fixed for the process on first use.
// Zero-sized blocks are dangling and never passed to either source. Copies
// of the zero-sized `RventAlloc` are interchangeable.
unsafe impl Allocator for RventAlloc {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout));
        }
        obtain(layout)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: forwarded precondition; the size is non-zero.
            unsafe { release(ptr, layout) }
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        debug_assert!(new.size() >= old.size());
        if old.size() == 0 {
            return self.allocate(new);
        }
        // SAFETY: forwarded preconditions: `ptr` is a live block of `old`
        // from this process's source, and `new` is not smaller.
        let r = unsafe { self.resize(ptr, old, new) };
        stats::note_resize(r.is_ok(), old.size(), new.size());
        r
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        debug_assert!(new.size() <= old.size());
        if new.size() == 0 {
            // SAFETY: forwarded precondition.
            unsafe { self.deallocate(ptr, old) };
            return Ok(dangling(new));
        }
        // SAFETY: forwarded preconditions; `old` is at least `new`, so
        // non-zero.
        let r = unsafe { self.resize(ptr, old, new) };
        stats::note_resize(r.is_ok(), old.size(), new.size());
        r
    }
}

/// A non-zero-sized block from the process's source. Out of line (as is
/// [`release`]): allocation is never on a hot path, and inlining it would
/// bloat every callback drop site in the dispatch loop.
#[inline(never)]
fn obtain(layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
    debug_assert!(layout.size() != 0);
    #[cfg(feature = "mem-functions")]
    let r = match hooks() {
        Some(h) => hooked::allocate(h, layout),
        None => Global.allocate(layout),
    };
    #[cfg(not(feature = "mem-functions"))]
    let r = Global.allocate(layout);
    stats::note_alloc(r.is_ok(), layout.size());
    if let Ok(p) = &r {
        expose(p);
    }
    r
}

/// Makes a new block's provenance exposed, so [`whole_block`] can take the
/// whole block back from any pointer to it. No instruction is emitted.
#[inline(always)]
fn expose(p: &NonNull<[u8]>) {
    let _ = p.cast::<u8>().as_ptr().expose_provenance();
}

/// The pointer to a block as its source made it, from any pointer to the
/// block's start. A block may come back through a pointer whose
/// provenance covers only the value that lived in it — an unsized box
/// made through a reference, as `allocator_api2::unsize_box!` does — while
/// freeing or reusing the block touches all of it. Every block's
/// provenance is exposed when it is obtained ([`obtain`], [`RventAlloc`]'s
/// resizes), so the whole block is recovered here. Compiles to nothing.
#[inline(always)]
pub(super) fn whole_block(ptr: NonNull<u8>) -> NonNull<u8> {
    // SAFETY: the address is that of a non-null pointer.
    unsafe { NonNull::new_unchecked(std::ptr::with_exposed_provenance_mut(ptr.as_ptr().addr())) }
}

/// Returns a non-zero-sized block to the process's source.
///
/// # Safety
/// `ptr` is a live block of `layout` from [`obtain`] (or a resize of one),
/// and `layout.size()` is non-zero.
#[inline(never)]
unsafe fn release(ptr: NonNull<u8>, layout: Layout) {
    debug_assert!(layout.size() != 0);
    let ptr = whole_block(ptr);
    stats::note_free(layout.size());
    #[cfg(feature = "mem-functions")]
    if let Some(h) = hooks() {
        // SAFETY: `ptr` is a live block from `h` (the source is fixed per
        // process) and not null.
        unsafe { h.free(ptr.as_ptr()) };
        return;
    }
    // SAFETY: `ptr` is a live block of `layout` from `Global`.
    unsafe { Global.deallocate(ptr, layout) }
}

impl RventAlloc {
    /// Moves a block to a new non-zero size through the process's source.
    ///
    /// # Safety
    /// `ptr` is a live block of `old` (non-zero size); `new.size()` is
    /// non-zero.
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        debug_assert!(old.size() != 0 && new.size() != 0);
        let ptr = whole_block(ptr);
        #[cfg(feature = "mem-functions")]
        if let Some(h) = hooks() {
            // SAFETY: `ptr` is live and from `h`; both sizes are non-zero.
            let r = unsafe { hooked::realloc(h, ptr, new) };
            if let Ok(p) = &r {
                expose(p);
            }
            return r;
        }
        // SAFETY: `ptr` is a live block of `old` from `Global`.
        let r = unsafe {
            if new.size() >= old.size() {
                Global.grow(ptr, old, new)
            } else {
                Global.shrink(ptr, old, new)
            }
        };
        if let Ok(p) = &r {
            expose(p);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::vec::Vec;

    #[test]
    fn zero_sized_requests_make_no_call() {
        // This thread's count: other tests allocate meanwhile.
        claim_counting_slot();
        let before = stats::thread_calls();
        let l = Layout::from_size_align(0, 8).unwrap();
        let p = RventAlloc.allocate(l).unwrap();
        assert_eq!(p.cast::<u8>().as_ptr() as usize % 8, 0);
        // SAFETY: `p` came from `allocate` with `l`.
        unsafe { RventAlloc.deallocate(p.cast(), l) };
        assert_eq!(stats::thread_calls(), before);
    }

    /// Claims this thread's counting slot with one real call, so the
    /// zero-sized test compares against a slot that exists.
    fn claim_counting_slot() {
        let l = Layout::from_size_align(8, 8).unwrap();
        let p = RventAlloc.allocate(l).unwrap();
        // SAFETY: `p` came from `allocate` with `l`.
        unsafe { RventAlloc.deallocate(p.cast(), l) };
    }

    #[test]
    fn overflowing_reserve_is_an_error() {
        let mut v: Vec<u64, RventAlloc> = Vec::new_in(RventAlloc);
        assert!(v.try_reserve(usize::MAX).is_err());
        assert!(v.try_reserve(usize::MAX / 8 + 1).is_err());
        v.try_reserve(4).unwrap();
        v.push(1);
        assert!(v.try_reserve(usize::MAX - 1).is_err());
        assert_eq!(v[0], 1, "a failed reserve keeps the contents");
    }
}
