//! The base's memory account ([`Config::set_max_memory`]) as the
//! bufferevents meet it. On a base with a budget, a bufferevent's input
//! and output charge the base's account, so every chain they allocate — a
//! socket read, [`Bufferevent::write`], an add through the `&mut
//! Evbuffer` a callback or filter gets — counts against the budget and
//! fails with `Err(Alloc)` past it, like a failed allocation (`socket.rs`
//! reports a refused read as `READING | ERROR` with `ENOMEM`). Chains that
//! move inside the base (pairs, filters) keep their charge where it is:
//! such a move never passes the budget.
//!
//! On a base without a budget the buffers charge nothing — a chain
//! allocation pays one predictable branch, the echo hot path nothing —
//! and [`uncharged_chain_bytes`] adds their chains up when the base's
//! statistics are read.

#[cfg(doc)]
use super::handle::Bufferevent;
#[cfg(doc)]
use crate::config::Config;

use super::rec::Rec;
use crate::base::BaseExt;
use crate::mem::{Account, MemRc};

/// Makes the new record `r`'s buffers charge `account` (their base's),
/// if it has a budget.
#[inline]
pub(crate) fn attach<X: BaseExt>(account: &MemRc<Account>, r: &mut Rec<X>) {
    if account.limit().is_some() {
        r.input.set_account(account);
        r.output.set_account(account);
    }
}

/// The chain bytes of the buffers of `recs` (a base's bufferevent
/// records) that charge no account (all of them on a base without a
/// budget, none otherwise).
pub(crate) fn uncharged_chain_bytes<'a, X: BaseExt>(
    recs: impl Iterator<Item = &'a Rec<X>>,
) -> usize {
    recs.filter(|r| r.is_live())
        .flat_map(|r| [&r.input, &r.output])
        .filter(|b| !b.is_charged())
        .map(|b| b.held_bytes())
        .sum()
}
