//! The handles users hold: [`Bufferevent`] and [`RateLimitGroup`], both
//! `Copy` generation-checked indices into the base's bufferevent table
//! (like [`Event`](crate::event::Event) into the event slab).
//!
//! A handle is three `u32`s: the slot, the slot's generation when the
//! handle was made, and the base's id. Freeing a slot bumps its
//! generation, so a handle kept after `free` (or used with another base)
//! is detected with one comparison and never reaches someone else's
//! record.

use std::fmt;

/// A bufferevent of a base (libevent's `struct bufferevent *`): a cheap,
/// copyable, generation-checked handle. Its methods take the base, so a
/// callback — which receives the base — can use any bufferevent, free its
/// own, or start new ones; a stale handle gets
/// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent). See the
/// [module docs](crate::bufferevent).
///
/// # Examples
///
/// An in-memory pair: what one side writes, the other reads.
///
/// ```
/// use rvent::{Bufferevent, BevOptions, Ev, EventBase};
///
/// let mut base = EventBase::new()?;
/// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
/// b.set_read_callback(&mut base, |base: &mut EventBase, bev: Bufferevent| {
///     let mut got = [0u8; 5];
///     assert_eq!(bev.read(base, &mut got).unwrap(), 5);
///     assert_eq!(&got, b"hello");
///     base.loopbreak();
/// })?;
/// b.enable(&mut base, Ev::READ)?;
/// a.write(&mut base, b"hello")?;
/// base.dispatch()?;
/// assert!(base.got_break());
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "bufferevent")]
pub struct Bufferevent {
    pub(super) idx: u32,
    pub(super) generation: u32,
    pub(super) base: u32,
}

impl fmt::Debug for Bufferevent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bufferevent({}v{})", self.idx, self.generation)
    }
}

/// A group of bufferevents sharing one token bucket (libevent's
/// `struct bufferevent_rate_limit_group *`): a cheap, copyable,
/// generation-checked handle into the base's table, like [`Bufferevent`].
/// Free it with [`free`](Self::free) once it has no members; a freed
/// group's handle is stale. See the
/// [rate-limit docs](crate::bufferevent#rate-limits).
///
/// # Examples
/// ```
/// use rvent::{BevOptions, Bufferevent, EventBase, RateLimitGroup, TokenBucketCfg};
///
/// let mut base = EventBase::new()?;
/// let cfg = TokenBucketCfg::new(1000, 1000, 1000, 1000, None)?;
/// let group = RateLimitGroup::new(&mut base, &cfg)?;
/// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
/// group.add(&mut base, bev)?;
/// assert_eq!(group.totals(&base)?.read, 0);
/// assert!(group.free(&mut base).is_err()); // not empty
/// group.remove(&mut base, bev)?;
/// group.free(&mut base)?;
/// assert!(group.cfg(&base).is_err()); // stale
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "bufferevent_rate_limit_group")]
pub struct RateLimitGroup {
    pub(super) idx: u32,
    pub(super) generation: u32,
    pub(super) base: u32,
}

impl fmt::Debug for RateLimitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateLimitGroup({}v{})", self.idx, self.generation)
    }
}
