//! Reference counting over rvent's memory: [`MemRc`] (one thread) and
//! [`MemArc`] (any thread), their blocks from [`RventAlloc`] — `Rc` and `Arc` whose allocation goes through the
//! memory functions and can fail (`try_new` returns [`Error::Alloc`]).
//! std's `Rc::new_in` / `Arc::new_in` are unstable and `allocator_api2`
//! has no `Rc`, hence these two; they are small on purpose: strong counts
//! only (no weak references, which nothing in rvent needs), `get_mut`
//! but no `make_mut`.
//!
//! # Layout and unsizing
//!
//! A value lives in an [`RcInner`] (the count, then the value) in an
//! `allocator_api2` box, and a handle is that box's raw pointer: the box
//! allocated it and the box frees it (`Box::from_raw_in` when the count
//! reaches zero), so layouts and destructors are the box's, including for
//! trait objects. A `MemRc<dyn Trait>` is made the way `allocator_api2`
//! unsizes boxes on stable: [`rc_box`] gives the unique box, the caller
//! applies `allocator_api2::unsize_box!` (a raw-pointer coercion, which
//! keeps the pointer's provenance), and [`MemRc::from_box`] turns it into
//! a handle. `RcInner`'s fields are private, so the only boxes of it are
//! made by [`rc_box`] and hold a valid value; a unique box has one owner,
//! so `from_box` starts the count at one.
//!
//! The blocks come from `RventAlloc`, not the size-class pool: a box's raw
//! pointer has the provenance of `size_of_val` bytes (`Box::leak`), and a
//! pool block is its whole class, so freeing it through that pointer would
//! cover less than the block (Miri rejects it). These objects are made at
//! setup time (a base, a buffer's deferred callbacks) or per zero-copy
//! call (the owner of a reference, a view or a file segment), not per
//! event.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use allocator_api2::boxed::Box;

use super::alloc::RventAlloc;
use crate::error::{Error, Result};

/// A value and its count; only [`rc_box`] and [`MemArc`] make one.
pub(crate) struct RcInner<C, T: ?Sized> {
    count: C,
    value: T,
}

/// A unique [`MemRc`] block not yet shared: unsize it with
/// `allocator_api2::unsize_box!`, then share it with [`MemRc::from_box`].
pub(crate) type RcBox<T> = Box<RcInner<Cell<usize>, T>, RventAlloc>;

/// `value` in a new [`MemRc`] block, still unique (see [`RcBox`]).
///
/// # Errors
/// [`Error::Alloc`]; `value` is dropped.
pub(crate) fn rc_box<T>(value: T) -> Result<RcBox<T>> {
    Box::try_new_in(
        RcInner {
            count: Cell::new(1),
            value,
        },
        RventAlloc,
    )
    .map_err(|_| Error::Alloc)
}

/// A single-threaded reference-counted pointer (`Rc`) whose block comes
/// from [`RventAlloc`] — the memory functions — and whose
/// allocation can fail.
pub(crate) struct MemRc<T: ?Sized> {
    /// From `Box::into_raw_with_allocator` of an [`RcBox`].
    ptr: NonNull<RcInner<Cell<usize>, T>>,
    /// Owns a `T`; `!Send` and `!Sync` through the pointer.
    _owns: PhantomData<T>,
}

impl<T> MemRc<T> {
    /// `value` in a new block.
    ///
    /// # Errors
    /// [`Error::Alloc`]; `value` is dropped.
    pub(crate) fn try_new(value: T) -> Result<MemRc<T>> {
        Ok(MemRc::from_box(rc_box(value)?))
    }

    /// Bytes of the shared block (count and value), for statistics.
    pub(crate) const BLOCK_BYTES: usize = std::mem::size_of::<RcInner<Cell<usize>, T>>();
}

impl<T: ?Sized> MemRc<T> {
    /// Shares a unique block (possibly unsized since [`rc_box`]).
    pub(crate) fn from_box(b: RcBox<T>) -> MemRc<T> {
        // Unique: its one owner becomes this handle.
        b.count.set(1);
        let (raw, _pool) = Box::into_raw_with_allocator(b);
        MemRc {
            // SAFETY: a box's pointer is never null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            _owns: PhantomData,
        }
    }

    #[inline]
    fn inner(&self) -> &RcInner<Cell<usize>, T> {
        // SAFETY: the block lives while a handle does; shared access only.
        unsafe { self.ptr.as_ref() }
    }

    /// The value, writable, if `this` is its only handle (`Rc::get_mut`).
    pub(crate) fn get_mut(this: &mut MemRc<T>) -> Option<&mut T> {
        if this.inner().count.get() != 1 {
            return None;
        }
        // SAFETY: the only handle, borrowed mutably, so nothing else
        // reaches the value while the result lives; the pointer came from
        // `Box::into_raw_with_allocator`, which allows writes.
        Some(unsafe { &mut (*this.ptr.as_ptr()).value })
    }

    /// Whether both handles share one value.
    #[inline]
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn ptr_eq(a: &MemRc<T>, b: &MemRc<T>) -> bool {
        std::ptr::addr_eq(a.ptr.as_ptr(), b.ptr.as_ptr())
    }

    /// The handles to this value.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn strong_count(this: &MemRc<T>) -> usize {
        this.inner().count.get()
    }
}

impl<T: ?Sized> Clone for MemRc<T> {
    #[inline]
    fn clone(&self) -> Self {
        let c = &self.inner().count;
        // As `Rc`: a count that would wrap means leaked handles; stop.
        let n = c
            .get()
            .checked_add(1)
            .unwrap_or_else(|| std::process::abort());
        c.set(n);
        MemRc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MemRc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T: ?Sized> Drop for MemRc<T> {
    fn drop(&mut self) {
        let c = &self.inner().count;
        let n = c.get() - 1;
        c.set(n);
        if n == 0 {
            // SAFETY: the last handle: `ptr` came from
            // `Box::into_raw_with_allocator` with the (stateless)
            // `RventAlloc`, and nobody uses the block afterwards.
            drop(unsafe { Box::from_raw_in(self.ptr.as_ptr(), RventAlloc) });
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MemRc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A thread-safe reference-counted pointer (`Arc`) whose block comes from
/// [`RventAlloc`] — the memory functions — and whose allocation can fail.
/// Its last handle may drop on any thread, which then calls the memory
/// functions' `free`: that is why they must be callable from any thread
/// ([`MemFunctions`](crate::MemFunctions) is `Send + Sync`).
pub(crate) struct MemArc<T> {
    /// From `Box::into_raw_with_allocator`.
    ptr: NonNull<RcInner<AtomicUsize, T>>,
    _owns: PhantomData<T>,
}

// SAFETY: as `Arc`: handles on several threads share `&T` (so `T: Sync`)
// and the last one drops `T` wherever it is (so `T: Send`); the count is
// atomic, and the block goes back through `RventAlloc`, which any thread
// may call.
unsafe impl<T: Send + Sync> Send for MemArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for MemArc<T> {}

impl<T> MemArc<T> {
    /// Bytes of the shared block (count and value), for statistics.
    pub(crate) const BLOCK_BYTES: usize = std::mem::size_of::<RcInner<AtomicUsize, T>>();

    /// `value` in a new block.
    ///
    /// # Errors
    /// [`Error::Alloc`]; `value` is dropped.
    pub(crate) fn try_new(value: T) -> Result<MemArc<T>> {
        let b = Box::try_new_in(
            RcInner {
                count: AtomicUsize::new(1),
                value,
            },
            RventAlloc,
        )
        .map_err(|_| Error::Alloc)?;
        let (raw, _alloc) = Box::into_raw_with_allocator(b);
        Ok(MemArc {
            // SAFETY: a box's pointer is never null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            _owns: PhantomData,
        })
    }

    #[inline]
    fn inner(&self) -> &RcInner<AtomicUsize, T> {
        // SAFETY: the block lives while a handle does; shared access only.
        unsafe { self.ptr.as_ref() }
    }

    /// The handles to this value (a snapshot).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn strong_count(this: &MemArc<T>) -> usize {
        this.inner().count.load(Ordering::Acquire)
    }
}

impl<T> Clone for MemArc<T> {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as `Arc`: a new handle is made from an existing one.
        if self.inner().count.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
        MemArc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Deref for MemArc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Drop for MemArc<T> {
    fn drop(&mut self) {
        // Release, then Acquire before freeing, as `Arc`: every use of the
        // value through other handles happens before it is dropped.
        if self.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: the last handle: `ptr` came from
        // `Box::into_raw_with_allocator` with `RventAlloc`, and nobody uses
        // the block afterwards.
        drop(unsafe { Box::from_raw_in(self.ptr.as_ptr(), RventAlloc) });
    }
}

impl<T: fmt::Debug> fmt::Debug for MemArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    trait Speak {
        fn speak(&self) -> usize;
    }

    /// Counts its drops in a shared cell.
    struct Loud(Rc<Cell<usize>>, [u64; 3]);

    impl Speak for Loud {
        fn speak(&self) -> usize {
            self.1.iter().sum::<u64>() as usize
        }
    }

    impl Drop for Loud {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn rc_counts_and_drops_once() {
        let drops = Rc::new(Cell::new(0));
        let a = MemRc::try_new(Loud(drops.clone(), [1, 2, 3])).unwrap();
        let b = a.clone();
        assert_eq!(MemRc::strong_count(&a), 2);
        assert!(MemRc::ptr_eq(&a, &b));
        assert_eq!(b.speak(), 6);
        drop(a);
        assert_eq!(drops.get(), 0);
        drop(b);
        assert_eq!(drops.get(), 1);
    }

    #[test]
    fn rc_unsizes_to_a_trait_object() {
        let drops = Rc::new(Cell::new(0));
        let a = MemRc::try_new(Loud(drops.clone(), [4, 5, 6])).unwrap();
        assert_eq!(a.speak(), 15);
        drop(a);
        assert_eq!(drops.get(), 1);
        let b = rc_box(Loud(drops.clone(), [4, 5, 6])).unwrap();
        let d: MemRc<dyn Speak> = MemRc::from_box(allocator_api2::unsize_box!(b));
        let e = d.clone();
        assert_eq!(e.speak(), 15);
        drop(d);
        drop(e);
        assert_eq!(drops.get(), 2, "dropped through the vtable");
        let z = MemRc::try_new(()).unwrap(); // a zero-sized value
        drop(z.clone());
    }

    #[test]
    fn rc_get_mut_only_when_unique() {
        let mut a = MemRc::try_new(5u32).unwrap();
        *MemRc::get_mut(&mut a).unwrap() += 1;
        let b = a.clone();
        assert!(MemRc::get_mut(&mut a).is_none());
        drop(b);
        *MemRc::get_mut(&mut a).unwrap() += 1;
        assert_eq!(*a, 7);
    }

    #[test]
    fn arc_is_shared_between_threads() {
        let a = MemArc::try_new(std::sync::Mutex::new(0u32)).unwrap();
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let a = a.clone();
                std::thread::spawn(move || *a.lock().unwrap() += 1)
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*a.lock().unwrap(), 3);
        assert_eq!(MemArc::strong_count(&a), 1);
    }
}
