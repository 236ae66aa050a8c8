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
