//! [`MemVec`]: the growable storage of the event core, drawn from
//! [`RventAlloc`] and grown only fallibly.

use super::account::Account;
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

/// [`reserve`] for a table of a base whose account is `account`: on a
/// base with a budget, the capacity the table gains is charged first (its
/// bytes, never credited: a base's tables only grow and go with the base),
/// and a growth the budget has no room for fails with [`Error::Alloc`],
/// `v` unchanged. Without a budget, one branch more than [`reserve`],
/// and only when `v` must grow.
#[inline]
pub(crate) fn reserve_charged<T>(
    account: &Account,
    v: &mut MemVec<T>,
    additional: usize,
) -> Result<()> {
    if v.capacity() - v.len() >= additional {
        return Ok(());
    }
    if account.limit().is_none() {
        return reserve(v, additional);
    }
    grow_charged(account, v, additional)
}

/// [`reserve_charged`] growing a table of a budgeted base: to twice its
/// capacity (at least 4, at least what is asked), as `Vec` grows.
#[cold]
#[inline(never)]
fn grow_charged<T>(account: &Account, v: &mut MemVec<T>, additional: usize) -> Result<()> {
    let old = v.capacity();
    let want = v.len().checked_add(additional).ok_or(Error::Alloc)?;
    let new = want.max(old.saturating_mul(2)).max(4);
    let bytes = (new - old)
        .checked_mul(std::mem::size_of::<T>())
        .ok_or(Error::Alloc)?;
    account.charge_block(bytes)?;
    if v.try_reserve_exact(new - v.len()).is_err() {
        account.credit_block(bytes);
        return Err(Error::Alloc);
    }
    // The charge is what the table holds now, even if it got more.
    account.settle_block(bytes, (v.capacity() - old) * std::mem::size_of::<T>());
    Ok(())
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
    fn a_budgeted_table_charges_its_growth() {
        let a = Account::new(Some(64));
        let mut v: MemVec<u64> = vec();
        reserve_charged(&a, &mut v, 1).unwrap();
        assert_eq!((v.capacity(), a.held()), (4, 32));
        reserve_charged(&a, &mut v, 5).unwrap();
        assert_eq!(a.held(), vec_bytes(&v), "8 slots: the whole budget");
        assert!(matches!(reserve_charged(&a, &mut v, 9), Err(Error::Alloc)));
        assert_eq!((v.capacity(), a.held()), (8, 64), "unchanged");
        let u = Account::new(None);
        let mut w: MemVec<u64> = vec();
        reserve_charged(&u, &mut w, 100).unwrap();
        assert_eq!(u.held(), 0, "no budget: nothing charged");
    }

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
