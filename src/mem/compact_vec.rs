//! [`CompactVec`]: a [`MemVec`] whose length and capacity are 32-bit, so
//! the whole vector is one pointer and one word (16 bytes instead of 24).
//!
//! For vectors that sit in many small headers and never hold 2^32
//! elements — an evbuffer's chain list: each buffer of a connection pays
//! its size, and 2^32 chains would be 192 GiB of chain headers. The
//! storage is a [`MemVec`]'s (from [`RventAlloc`]): the growing and
//! shifting operations rebuild that `MemVec` for the call and take it
//! apart again, so the allocation code is `allocator_api2`'s; the hot ones
//! (indexing, `push` into reserved room, `truncate`, `clear`) work on the
//! pointer directly.

// Maintainer notes: the invariant is that (`ptr`, `len`, `cap`) are the
// parts of a live `MemVec<T>` (`into_raw_parts_with_alloc`), with `cap`
// (and so `len`) at most `u32::MAX`. Every growing call checks the new
// capacity fits before it asks the `MemVec` to grow, and `parts_back`
// refuses (leaking the block, never losing track of it) a capacity that
// does not fit. A panic inside a rebuilt `MemVec` call leaves `self`
// holding the parts it had: `len` is set to the shortest length valid
// both before and after, so nothing is dropped twice.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Bound, Deref, DerefMut, RangeBounds};
use std::ptr::{self, NonNull};

use super::alloc::RventAlloc;
use super::mem_vec::MemVec;
use crate::error::{Error, Result};

/// Largest capacity (and length).
const MAX: usize = u32::MAX as usize;

/// A growable array from [`RventAlloc`], 16 bytes: pointer, `u32`
/// length, `u32` capacity; no zero-sized elements. Grows only fallibly ([`try_reserve`],
/// [`try_reserve_exact`]); [`push`](Self::push) expects reserved room.
///
/// [`try_reserve`]: Self::try_reserve
/// [`try_reserve_exact`]: Self::try_reserve_exact
pub(crate) struct CompactVec<T> {
    ptr: NonNull<T>,
    len: u32,
    cap: u32,
    _owns: PhantomData<T>,
}

impl<T> CompactVec<T> {
    /// An empty vector; allocates nothing.
    #[inline]
    pub(crate) const fn new() -> Self {
        const { assert!(size_of::<T>() != 0, "no zero-sized elements") };
        CompactVec {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
            _owns: PhantomData,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// Appends `value` into reserved room.
    ///
    /// # Panics
    /// If there is no room: grow first with [`try_reserve`](Self::try_reserve).
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        assert!(
            self.len() < self.capacity(),
            "CompactVec::push without room"
        );
        // SAFETY: `len < capacity`: the slot is inside the block and
        // holds no value.
        unsafe { self.ptr.as_ptr().add(self.len()).write(value) };
        self.len += 1;
    }

    /// Drops the elements from `len` on.
    #[inline]
    pub(crate) fn truncate(&mut self, len: usize) {
        let old = self.len();
        if len >= old {
            return;
        }
        // Shorten first: a panicking drop leaks the rest, never drops twice.
        self.len = len as u32;
        // SAFETY: `len..old` were initialised and are no longer reachable.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr().add(len),
                old - len,
            ));
        }
    }

    /// Drops every element; keeps the block.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.truncate(0);
    }

    /// Room for `additional` more elements, amortised.
    ///
    /// # Errors
    /// [`Error::Alloc`] (the block cannot grow, or the length would pass
    /// `u32::MAX`); nothing changed.
    pub(crate) fn try_reserve(&mut self, additional: usize) -> Result<()> {
        if self.capacity() - self.len() >= additional {
            return Ok(());
        }
        if self.capacity().saturating_mul(2) > MAX {
            // Doubling would not fit: exactly what is needed (or refused).
            return self.try_reserve_exact(additional);
        }
        if self.len().checked_add(additional).is_none_or(|n| n > MAX) {
            return Err(Error::Alloc);
        }
        self.with_vec(|v| v.try_reserve(additional))
            .map_err(|_| Error::Alloc)
    }

    /// Room for exactly `additional` more elements.
    ///
    /// # Errors
    /// As [`try_reserve`](Self::try_reserve).
    pub(crate) fn try_reserve_exact(&mut self, additional: usize) -> Result<()> {
        if self.capacity() - self.len() >= additional {
            return Ok(());
        }
        if self.len().checked_add(additional).is_none_or(|n| n > MAX) {
            return Err(Error::Alloc);
        }
        self.with_vec(|v| v.try_reserve_exact(additional))
            .map_err(|_| Error::Alloc)
    }

    /// Inserts `value` at `at`, shifting the rest up, into reserved room.
    ///
    /// # Panics
    /// If `at > len` or there is no room.
    pub(crate) fn insert(&mut self, at: usize, value: T) {
        let len = self.len();
        assert!(at <= len, "CompactVec::insert index {at} > len {len}");
        assert!(len < self.capacity(), "CompactVec::insert without room");
        // SAFETY: `at <= len < capacity`: shifting `at..len` up by one
        // stays inside the block; the hole at `at` is then written.
        unsafe {
            let p = self.ptr.as_ptr().add(at);
            ptr::copy(p, p.add(1), len - at);
            p.write(value);
        }
        self.len += 1;
    }

    /// Removes and returns the element at `at`, shifting the rest down.
    ///
    /// # Panics
    /// If `at >= len`.
    pub(crate) fn remove(&mut self, at: usize) -> T {
        let len = self.len();
        assert!(at < len, "CompactVec::remove index {at} >= len {len}");
        // SAFETY: `at < len`: the value is read out once, then `at+1..len`
        // moves down over it.
        unsafe {
            let p = self.ptr.as_ptr().add(at);
            let v = p.read();
            ptr::copy(p.add(1), p, len - at - 1);
            self.len -= 1;
            v
        }
    }

    /// Removes the elements of `range`, handing them out in order as the
    /// iterator is advanced; the ones not taken are dropped with it.
    ///
    /// # Panics
    /// If the range is out of bounds or decreasing.
    pub(crate) fn drain(&mut self, range: impl RangeBounds<usize>) -> Drain<'_, T> {
        let len = self.len();
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => e + 1,
            Bound::Excluded(&e) => e,
            Bound::Unbounded => len,
        };
        assert!(start <= end && end <= len, "drain {start}..{end} of {len}");
        // Shorten first: if the iterator is leaked, the drained elements
        // and the tail leak with it, nothing is dropped twice.
        self.len = start as u32;
        Drain {
            next: start,
            end,
            tail: len - end,
            vec: self,
        }
    }

    /// Runs `f` on the `MemVec` these parts belong to, and takes the
    /// parts back after (growing operations only: `f` must leave a
    /// capacity of at most `u32::MAX`, checked by the callers).
    #[cold]
    fn with_vec<R>(&mut self, f: impl FnOnce(&mut MemVec<T>) -> R) -> R {
        /// Gives the parts back to the `CompactVec` even if `f` panics.
        struct Back<'a, T> {
            owner: &'a mut CompactVec<T>,
            vec: ManuallyDrop<MemVec<T>>,
        }
        impl<T> Drop for Back<'_, T> {
            fn drop(&mut self) {
                // SAFETY: `vec` is not used again.
                let vec = unsafe { ManuallyDrop::take(&mut self.vec) };
                let (p, len, cap, RventAlloc) = vec.into_raw_parts_with_alloc();
                if cap > MAX {
                    // Unrepresentable: keep the block leaked, never
                    // with a wrong layout (the callers rule this out).
                    self.owner.len = 0;
                    self.owner.cap = 0;
                    self.owner.ptr = NonNull::dangling();
                    panic!("CompactVec capacity {cap} beyond u32");
                }
                // SAFETY: a Vec's pointer is never null.
                self.owner.ptr = unsafe { NonNull::new_unchecked(p) };
                self.owner.len = len as u32;
                self.owner.cap = cap as u32;
            }
        }
        // SAFETY: the invariant: the parts of a live `MemVec<T>`; `self`
        // is not used until `Back` writes the (possibly new) parts back.
        let vec = unsafe {
            MemVec::from_raw_parts_in(self.ptr.as_ptr(), self.len(), self.cap as usize, RventAlloc)
        };
        let mut back = Back {
            owner: self,
            vec: ManuallyDrop::new(vec),
        };
        f(&mut back.vec)
    }
}

impl<T> Drop for CompactVec<T> {
    fn drop(&mut self) {
        // SAFETY: the invariant; the MemVec drops the elements and frees
        // the block.
        drop(unsafe {
            MemVec::from_raw_parts_in(self.ptr.as_ptr(), self.len(), self.cap as usize, RventAlloc)
        });
    }
}

impl<T> Default for CompactVec<T> {
    fn default() -> Self {
        CompactVec::new()
    }
}

impl<T> Deref for CompactVec<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` is aligned and non-null, `0..len` initialised.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }
}

impl<T> DerefMut for CompactVec<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for CompactVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The iterator of [`CompactVec::drain`]. Dropping it drops what was not
/// taken and closes the gap.
pub(crate) struct Drain<'a, T> {
    vec: &'a mut CompactVec<T>,
    /// Next element to hand out; `end` is one past the drained range.
    next: usize,
    end: usize,
    /// Elements after the range, to move down to `vec.len`.
    tail: usize,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: `next < end <= old len`: initialised, read out once.
        let v = unsafe { self.vec.ptr.as_ptr().add(self.next).read() };
        self.next += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl<T> Drop for Drain<'_, T> {
    fn drop(&mut self) {
        /// Moves the tail down even if dropping an element panics.
        struct Close<'b, 'a, T>(&'b mut Drain<'a, T>);
        impl<T> Drop for Close<'_, '_, T> {
            fn drop(&mut self) {
                let d = &mut *self.0;
                let start = d.vec.len();
                // SAFETY: the tail `end..end+tail` is initialised and
                // moves down to `start..start+tail`, inside the block.
                unsafe {
                    let p = d.vec.ptr.as_ptr();
                    ptr::copy(p.add(d.end), p.add(start), d.tail);
                }
                d.vec.len = (start + d.tail) as u32;
            }
        }
        let close = Close(self);
        let d = &mut *close.0;
        let (from, to) = (d.next, d.end);
        d.next = to;
        // SAFETY: `from..to` are initialised and not handed out.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(
                d.vec.ptr.as_ptr().add(from),
                to - from,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn is_two_words() {
        assert_eq!(size_of::<CompactVec<[u8; 48]>>(), 16);
        assert_eq!(size_of::<Option<CompactVec<u64>>>(), 16);
    }

    #[test]
    fn grows_shifts_and_drops_like_a_vec() {
        let rc = Rc::new(());
        let mut v: CompactVec<Rc<()>> = CompactVec::new();
        assert_eq!((v.len(), v.capacity()), (0, 0));
        v.try_reserve_exact(1).unwrap();
        assert_eq!(v.capacity(), 1);
        v.push(rc.clone());
        for _ in 0..9 {
            v.try_reserve(1).unwrap();
            v.push(rc.clone());
        }
        assert_eq!(v.len(), 10);
        assert_eq!(Rc::strong_count(&rc), 11);
        v.try_reserve(1).unwrap();
        v.insert(0, Rc::new(()));
        assert_eq!(Rc::strong_count(&v[0]), 1);
        drop(v.remove(0));
        v.truncate(8);
        assert_eq!(Rc::strong_count(&rc), 9);
        v.clear();
        assert_eq!((v.len(), Rc::strong_count(&rc)), (0, 1));
        assert!(v.capacity() >= 10, "clear keeps the block");
        v.push(rc.clone());
        drop(v);
        assert_eq!(Rc::strong_count(&rc), 1);
    }

    #[test]
    fn drain_hands_out_takes_and_closes_the_gap() {
        let mut v: CompactVec<Box<u32>> = CompactVec::new();
        v.try_reserve(8).unwrap();
        for i in 0..8 {
            v.push(Box::new(i));
        }
        let got: std::vec::Vec<u32> = v.drain(2..4).map(|b| *b).collect();
        assert_eq!(got, [2, 3]);
        assert_eq!(
            v.iter().map(|b| **b).collect::<std::vec::Vec<_>>(),
            [0, 1, 4, 5, 6, 7]
        );
        // Partly consumed: the rest is dropped, the tail closes up.
        let mut d = v.drain(1..4);
        assert_eq!(d.next().map(|b| *b), Some(1));
        drop(d);
        assert_eq!(
            v.iter().map(|b| **b).collect::<std::vec::Vec<_>>(),
            [0, 6, 7]
        );
        v.drain(..1);
        let tail: std::vec::Vec<u32> = v.drain(1..).map(|b| *b).collect();
        assert_eq!(tail, [7]);
        assert_eq!(v.iter().map(|b| **b).collect::<std::vec::Vec<_>>(), [6]);
        drop(v);
        // A leaked drain leaves the vector cut at the range's start (the
        // rest leaks, nothing is dropped twice).
        let mut w: CompactVec<u32> = CompactVec::new();
        w.try_reserve(3).unwrap();
        for i in 0..3 {
            w.push(i);
        }
        std::mem::forget(w.drain(1..2));
        assert_eq!(&w[..], [0]);
    }

    #[test]
    fn refuses_lengths_past_u32() {
        let mut v: CompactVec<u16> = CompactVec::new();
        assert!(v.try_reserve(MAX + 1).is_err());
        assert!(v.try_reserve_exact(MAX + 1).is_err());
        assert_eq!(v.capacity(), 0);
    }

    #[test]
    #[should_panic(expected = "without room")]
    fn push_needs_room() {
        let mut v: CompactVec<u16> = CompactVec::new();
        v.push(1);
    }
}
