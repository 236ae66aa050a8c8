//! The base's memory budget ([`Config::set_max_memory`]) as the
//! bufferevents keep it: each record settles what its two buffers' chains
//! hold with the base's account at a few points — before and after a
//! socket read, after each servicing (which follows every change made
//! through the API), and when it is freed — and a socket read that would
//! need a chain the budget has no room for is refused, as a failed
//! allocation would be (`socket.rs` reports it as `READING | ERROR` with
//! `ENOMEM`), and so is a [`Bufferevent::write`] whose copy would need a
//! chain that does not fit (`Err(Alloc)`, nothing written). Without a
//! budget every function here is one branch.
//!
//! A record's charge is kept in a `u32` (it fits the record's padding):
//! a bufferevent holding more than 4 GiB is charged 4 GiB, consistently,
//! so the account never underflows.

#[cfg(doc)]
use crate::config::Config;

use super::handle::Bufferevent;
use super::rec::Rec;
use super::table::BevHost;
use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::mem::Account;

/// Settles `r`'s charge with `account` (the caller checked that the base
/// has a budget).
#[inline]
pub(crate) fn settle_rec<X: BaseExt>(account: &mut Account, r: &mut Rec<X>) {
    let now = r.input.held_bytes().saturating_add(r.output.held_bytes());
    let now = u32::try_from(now).unwrap_or(u32::MAX);
    account.settle(r.charged as usize, now as usize);
    r.charged = now;
}

/// Settles `h`'s charge, if the base has a budget.
#[inline(always)]
pub(crate) fn settle<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if base.account.limited() {
        settle_slow(base, h);
    }
}

#[cold]
#[inline(never)]
fn settle_slow<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if let Some(r) = base.ext.bevs_mut().get_mut(h) {
        settle_rec(&mut base.account, r);
    }
}

/// `h` is being freed: gives back its whole charge.
#[inline(always)]
pub(crate) fn release<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if base.account.limited()
        && let Some(r) = base.ext.bevs_mut().get_mut(h)
    {
        base.account.settle(r.charged as usize, 0);
        r.charged = 0;
    }
}

/// How much of a read of up to `want` bytes into `h`'s input the budget
/// allows: `want` when the read needs no new chain or the budget has room
/// for it, else what fits in the room the input already has (0: the read
/// must fail). The caller checked that the base has a budget.
#[cold]
#[inline(never)]
pub(crate) fn read_allowance<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    want: usize,
) -> usize {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return 0;
    };
    settle_rec(&mut base.account, r);
    let (alloc, room) = r.input.read_needs(want);
    let fits = alloc <= base.account.room() && alloc <= (u32::MAX - r.charged) as usize;
    if alloc == 0 || fits {
        want
    } else {
        room.min(want)
    }
}

/// Whether `h`'s output may take `n` more bytes ([`Bufferevent::write`]):
/// `Err(Alloc)` when the chain that add needs does not fit in the budget,
/// as a failed allocation. The caller checked that the base has a budget;
/// a stale handle passes (the write reports it).
#[cold]
#[inline(never)]
pub(crate) fn check_add<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    n: usize,
) -> Result<()> {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return Ok(());
    };
    settle_rec(&mut base.account, r);
    let alloc = r.output.add_needs(n);
    if alloc > base.account.room() || alloc > (u32::MAX - r.charged) as usize {
        return Err(Error::Alloc);
    }
    Ok(())
}

/// The bytes the base's bufferevents' buffers hold now, added up.
pub(crate) fn chain_bytes<X: BevHost>(base: &EventBase<X>) -> usize {
    base.ext
        .bevs()
        .recs
        .iter()
        .filter(|r| r.is_live())
        .map(|r| r.input.held_bytes() + r.output.held_bytes())
        .sum()
}
