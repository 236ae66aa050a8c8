//! [`MemVec`]: the growable storage of the event core, drawn from
//! [`RventAlloc`] and grown only fallibly.

use super::alloc::RventAlloc;
use crate::error::{Error, Result};

/// A `Vec` of the event core: storage from [`RventAlloc`]. Grow it with
/// [`reserve`] (or `try_reserve`), never with an infallible growing call.
pub(crate) type MemVec<T> = allocator_api2::vec::Vec<T, RventAlloc>;

/// An empty [`MemVec`]; allocates nothing.
#[inline]
pub(crate) const fn vec<T>() -> MemVec<T> {
    allocator_api2::vec::Vec::new_in(RventAlloc)
}

/// Bytes of `v`'s storage (its capacity, used or not): what it holds
/// from the memory functions, for per-base statistics.
#[inline]
pub(crate) fn vec_bytes<T>(v: &MemVec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

/// Room for `additional` more elements in `v`, or [`Error::Alloc`] with `v`
/// unchanged.
#[inline]
pub(crate) fn reserve<T>(v: &mut MemVec<T>, additional: usize) -> Result<()> {
    v.try_reserve(additional).map_err(|_| Error::Alloc)
}

/// Appends `items` to `v` in one copy, or [`Error::Alloc`] with `v`
/// unchanged. allocator-api2's `extend_from_slice` has no `Copy`
/// specialization on stable: it writes element by element, with a
/// capacity check for each (about 20 instructions per byte).
#[inline]
pub(crate) fn extend<T: Copy>(v: &mut MemVec<T>, items: &[T]) -> Result<()> {
    reserve(v, items.len())?;
    let len = v.len();
    // SAFETY: `reserve` made room for `items.len()` more elements after
    // `len`; `items` cannot overlap `v`'s storage (`v` is borrowed
    // mutably); `T: Copy`, so the copies own nothing; the first
    // `len + items.len()` elements are initialized once copied.
    unsafe {
        std::ptr::copy_nonoverlapping(items.as_ptr(), v.as_mut_ptr().add(len), items.len());
        v.set_len(len + items.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_appends_in_order() {
        let mut v: MemVec<u8> = vec();
        extend(&mut v, b"").unwrap();
        assert!(v.is_empty());
        extend(&mut v, b"abc").unwrap();
        extend(&mut v, b"de").unwrap();
        assert_eq!(&v[..], b"abcde");
        let mut w: MemVec<u32> = vec();
        for i in 0..100 {
            extend(&mut w, &[i, i + 1]).unwrap();
        }
        assert_eq!(w.len(), 200);
        assert_eq!(w[199], 100);
    }
}
