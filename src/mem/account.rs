//! A base's own memory account: the bytes of the chain blocks its buffers
//! hold, and the optional budget they may not pass
//! ([`Config::set_max_memory`](crate::Config::set_max_memory)).
//!
//! # Design
//!
//! The counts of [`MemStats`](crate::MemStats) are process-wide, like the
//! memory functions. A budget must be per base, so each base makes one
//! account (in a [`MemRc`](super::MemRc)) and every buffer of that base —
//! the bufferevents' inputs and outputs, and the buffers a user makes with
//! `Evbuffer::new_in` — holds a handle to it. The buffer charges the
//! account on its chain allocation path, before the block is taken (a
//! charge that would pass the budget fails like a failed allocation),
//! credits it when it frees or gives away a chain, and moves the charge
//! when a chain moves to a buffer of another account. The handle keeps the
//! account alive, so a buffer that outlives its base stays valid: it then
//! charges an account nobody else reads.
//!
//! On a base with a budget the base's other growing memory charges the
//! account too, at its growth points: its tables and queues when they
//! grow ([`reserve_charged`](super::reserve_charged): the capacity they
//! gain, never credited — the tables only grow, and go with the base), and
//! the blocks made per event, bufferevent or listener (their callback
//! boxes) through a [`Charged`] value in the block, whose [`Charge`]
//! credits the account when the block is dropped. On a base without a
//! budget none of this runs: the block is made as it was, the table grows
//! as it did, after one predictable branch at the growth point.
//!
//! An account is a few `Cell`s: a base and its buffers live on one thread.
//!
//! libevent has no per-base budget (nor per-base counts): its memory
//! functions are process-wide and know no base.

use std::cell::Cell;

use super::rc::MemRc;
use crate::error::{Error, Result};

/// A base's budget and the chain bytes charged against it.
#[derive(Debug)]
pub(crate) struct Account {
    /// Bytes charged now.
    held: Cell<usize>,
    /// The budget; `usize::MAX` when none.
    limit: usize,
    /// The most bytes charged at once so far.
    peak: Cell<usize>,
    /// The part of `held` that is not chain blocks: tables and the
    /// blocks of events, bufferevents and listeners.
    blocks: Cell<usize>,
}

impl Account {
    /// An account with budget `limit` (`None`: unlimited).
    pub(crate) const fn new(limit: Option<usize>) -> Account {
        Account {
            held: Cell::new(0),
            limit: match limit {
                Some(l) => l,
                None => usize::MAX,
            },
            peak: Cell::new(0),
            blocks: Cell::new(0),
        }
    }

    /// The budget, if any.
    #[inline]
    pub(crate) fn limit(&self) -> Option<usize> {
        (self.limit != usize::MAX).then_some(self.limit)
    }

    /// Bytes charged now.
    #[inline]
    pub(crate) fn held(&self) -> usize {
        self.held.get()
    }

    /// The most bytes charged at once so far.
    pub(crate) fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Charges `n` bytes about to be allocated (or moved in).
    ///
    /// # Errors
    /// [`Error::Alloc`] when that would pass the budget; nothing charged.
    #[inline]
    pub(crate) fn charge(&self, n: usize) -> Result<()> {
        match self.held.get().checked_add(n) {
            Some(h) if h <= self.limit => {
                self.held.set(h);
                if h > self.peak.get() {
                    self.peak.set(h);
                }
                Ok(())
            }
            _ => Err(Error::Alloc),
        }
    }

    /// The part of [`held`](Self::held) that is not chain blocks.
    pub(crate) fn blocks(&self) -> usize {
        self.blocks.get()
    }

    /// [`charge`](Self::charge) for a block or table growth (not a chain).
    ///
    /// # Errors
    /// As [`charge`](Self::charge).
    pub(crate) fn charge_block(&self, n: usize) -> Result<()> {
        self.charge(n)?;
        self.blocks.set(self.blocks.get() + n);
        Ok(())
    }

    /// [`credit`](Self::credit) for a block (not a chain).
    pub(crate) fn credit_block(&self, n: usize) {
        self.credit(n);
        self.blocks.set(self.blocks.get().wrapping_sub(n));
    }

    /// Replaces a block charge of `charged` bytes by one of `actual`,
    /// which passes the budget if it must (the bytes are held already).
    pub(crate) fn settle_block(&self, charged: usize, actual: usize) {
        if actual != charged {
            self.credit_block(charged);
            let h = self.held.get().saturating_add(actual);
            self.held.set(h);
            self.peak.set(self.peak.get().max(h));
            self.blocks.set(self.blocks.get() + actual);
        }
    }

    /// Credits `n` bytes freed (or moved out).
    #[inline]
    pub(crate) fn credit(&self, n: usize) {
        debug_assert!(n <= self.held.get(), "account underflow");
        self.held.set(self.held.get().wrapping_sub(n));
    }
}

/// Bytes charged to a budgeted account for one block, credited back when
/// dropped (with the block that holds it).
#[derive(Debug)]
pub(crate) struct Charge {
    account: MemRc<Account>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.account.credit_block(self.bytes);
    }
}

/// The charge for a block of `bytes` on a bufferevent's on-demand path —
/// its cold block, timers, rate-limit state, filter record, DNS answer —
/// taken from `account` when there is one with a budget (the account its
/// buffers charge), to be kept in or beside the block so that it is
/// credited when the block goes. `None`: nothing to charge.
///
/// # Errors
/// [`Error::Alloc`] when the budget has no room; nothing charged.
#[inline]
pub(crate) fn charge_for(account: Option<&MemRc<Account>>, bytes: usize) -> Result<Option<Charge>> {
    match account {
        Some(a) if a.limit().is_some() => {
            a.charge_block(bytes)?;
            Ok(Some(Charge {
                account: a.clone(),
                bytes,
            }))
        }
        _ => Ok(None),
    }
}

/// [`charge_for`] the pool block of a `T`.
///
/// # Errors
/// As [`charge_for`].
#[inline]
pub(crate) fn charge_for_box<T>(account: Option<&MemRc<Account>>) -> Result<Option<Charge>> {
    if account.is_none() {
        return Ok(None);
    }
    charge_for(
        account,
        super::pool::pool_bytes_of_layout(std::alloc::Layout::new::<T>()),
    )
}

/// A value with the charge for the pool block it is about to be boxed in
/// (see [`charged`]). Reach the value through [`get`](Charged::get), so
/// a closure that calls it captures the whole `Charged`, charge included.
#[derive(Debug)]
pub(crate) struct Charged<T> {
    value: T,
    _charge: Charge,
}

impl<T> Charged<T> {
    /// The value.
    #[inline(always)]
    pub(crate) fn get(&mut self) -> &mut T {
        &mut self.value
    }
}

/// A value about to be boxed, on a base with a budget or without one
/// ([`charged`]).
pub(crate) enum Budgeted<T> {
    /// The account has no budget: box the value as it is.
    Unbudgeted(T),
    /// Box a closure that calls through the `Charged` (it is the size the
    /// charge was computed for).
    Charged(Charged<T>),
}

/// `value`, with the charge for the pool block of a `Charged<T>` (the size
/// of a closure that captures only it) taken from `account` when the
/// account has a budget. The charge is credited when the `Charged` is
/// dropped.
///
/// # Errors
/// [`Error::Alloc`] when the budget has no room; `value` is dropped.
#[inline]
pub(crate) fn charged<T>(account: &MemRc<Account>, value: T) -> Result<Budgeted<T>> {
    if account.limit().is_none() {
        return Ok(Budgeted::Unbudgeted(value));
    }
    charge_block(account, value).map(Budgeted::Charged)
}

/// [`charged`] on a budgeted account.
#[cold]
#[inline(never)]
fn charge_block<T>(account: &MemRc<Account>, value: T) -> Result<Charged<T>> {
    let bytes = super::pool::pool_bytes_of_layout(std::alloc::Layout::new::<Charged<T>>());
    account.charge_block(bytes)?;
    Ok(Charged {
        value,
        _charge: Charge {
            account: account.clone(),
            bytes,
        },
    })
}

/// Whether `a` and `b` are the same account, or both none: one compare.
#[inline]
pub(crate) fn same(a: &Option<MemRc<Account>>, b: &Option<MemRc<Account>>) -> bool {
    let addr =
        |o: &Option<MemRc<Account>>| o.as_deref().map_or(std::ptr::null(), std::ptr::from_ref);
    std::ptr::eq(addr(a), addr(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit() {
        let a = Account::new(Some(4096));
        a.charge(1024).unwrap();
        a.charge(2048).unwrap();
        assert!(
            matches!(a.charge(2048), Err(Error::Alloc)),
            "3072 + 2048 > 4096"
        );
        assert_eq!(a.held(), 3072, "a refused charge changes nothing");
        a.charge(1024).unwrap();
        a.credit(3072);
        assert_eq!((a.held(), a.peak(), a.limit()), (1024, 4096, Some(4096)));
        assert!(
            matches!(a.charge(usize::MAX), Err(Error::Alloc)),
            "overflow"
        );
        let u = Account::new(None);
        u.charge(usize::MAX / 2).unwrap();
        assert!(u.limit().is_none());
    }
}
