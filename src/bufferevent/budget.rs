//! The base's memory account ([`Config::set_max_memory`]) as the
//! bufferevents meet it: a bufferevent's input and output charge the
//! account of the base it was made on, so every chain they allocate —
//! a socket read, [`Bufferevent::write`], an add through the `&mut
//! Evbuffer` a callback or filter gets — counts against the base's
//! budget and fails with `Err(Alloc)` past it, like a failed allocation
//! (`socket.rs` reports a refused read as `READING | ERROR` with
//! `ENOMEM`). Chains that move inside the base (pairs, filters) keep
//! their charge where it is: such a move never passes the budget.

#[cfg(doc)]
use super::handle::Bufferevent;
#[cfg(doc)]
use crate::config::Config;

use super::rec::Rec;
use crate::base::BaseExt;
use crate::mem::{Account, MemRc};

/// Makes the new record `r`'s buffers charge `account` (their base's).
#[inline]
pub(crate) fn attach<X: BaseExt>(account: &MemRc<Account>, r: &mut Rec<X>) {
    r.input.set_account(account);
    r.output.set_account(account);
}
