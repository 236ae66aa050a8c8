//! Zero-copy data: references to caller memory (`evbuffer_add_reference`,
//! `evbuffer_add_reference_with_offset`) and multicast views of another
//! buffer (`evbuffer_add_buffer_reference`).
//!
//! Both make *shared* chains (see `chain.rs`): read-only windows over bytes
//! that a refcounted owner keeps alive. No write path reaches them — prepend,
//! add, reserve and expand allocate a new chain instead — so the memory is
//! never modified. The owner goes away with the last chain viewing it,
//! wherever that chain has moved (`add_buffer`, `remove_buffer`,
//! `prepend_buffer` move chains between buffers): that is when a
//! reference's cleanup runs, exactly once, and when a multicast block goes
//! back to the pool.
//!
//! A zero-length reference adds no chain (libevent adds an empty one, the
//! source of its "empty chain in the middle" bugs): its cleanup runs at
//! once, since no byte of it is ever in the buffer.
//!
//! `add_buffer_reference` departs from libevent on one point: a buffer
//! holding multicast views may itself be referenced again (libevent
//! refuses this nesting because its views point at the parent chain;
//! rvent's views share a refcounted block, so nesting is just one more
//! reference). File-segment chains are refused, as in libevent.

use super::chain::{Chain, OwnerBox, OwnerBytes, Shared, owner_box};
use super::evbuffer::{Evbuffer, FROZEN_END, HAS_CBS, owned_bytes};
use crate::error::{Error, Result};
use crate::mem::MemRc;

/// An owner whose bytes are its `AsRef<[u8]>`.
struct Plain<T>(T);

impl<T: AsRef<[u8]>> OwnerBytes for Plain<T> {
    fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }
}

/// An owner that hands itself to a cleanup closure when dropped.
struct WithCleanup<T, F: FnOnce(T)> {
    data: Option<T>,
    cleanup: Option<F>,
}

impl<T: AsRef<[u8]>, F: FnOnce(T)> OwnerBytes for WithCleanup<T, F> {
    fn bytes(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.as_ref())
    }
}

impl<T, F: FnOnce(T)> Drop for WithCleanup<T, F> {
    fn drop(&mut self) {
        if let (Some(d), Some(f)) = (self.data.take(), self.cleanup.take()) {
            f(d);
        }
    }
}

impl Evbuffer {
    /// Appends `data` without copying it (libevent's
    /// `evbuffer_add_reference`): the buffer keeps `data` and reads its
    /// bytes in place, never writing to them. `data` is dropped — its
    /// cleanup — exactly once, when the last of its bytes has been drained
    /// from whichever buffers they moved to (or those buffers are dropped).
    ///
    /// # Errors
    /// [`Error::BadState`] if the end is frozen,
    /// [`Error::InvalidArgument`] if the length would overflow, and
    /// [`Error::Alloc`] if the owner of `data` (two blocks from the memory
    /// functions) or the chain list cannot be allocated; `data` is dropped
    /// and the buffer unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_reference(b"static bytes")?; // &'static [u8; 12]
    /// buf.add_reference(vec![b'!'; 3])?;   // an owned Vec, dropped when drained
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"static bytes!!!"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_reference")]
    pub fn add_reference<T: AsRef<[u8]> + 'static>(&mut self, data: T) -> Result<()> {
        self.add_owner(owner_box(Plain(data))?, 0)
    }

    /// As [`add_reference`](Self::add_reference), leaving out the first
    /// `offset` bytes of `data` (libevent 2.2's
    /// `evbuffer_add_reference_with_offset`).
    ///
    /// # Errors
    /// As [`add_reference`](Self::add_reference), and
    /// [`Error::InvalidArgument`] if `offset` is beyond `data`'s length.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_reference_with_offset(b"skip:data", 5)?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"data"[..]));
    /// assert!(buf.add_reference_with_offset(b"ab", 3).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_reference_with_offset")]
    pub fn add_reference_with_offset<T: AsRef<[u8]> + 'static>(
        &mut self,
        data: T,
        offset: usize,
    ) -> Result<()> {
        self.add_owner(owner_box(Plain(data))?, offset)
    }

    /// As [`add_reference`](Self::add_reference), handing `data` to
    /// `cleanup` when its last byte is gone (libevent's cleanup function:
    /// return the memory to a pool, count sent bytes...).
    ///
    /// # Errors
    /// As [`add_reference`](Self::add_reference); `cleanup` runs before
    /// the error is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let done = Rc::new(Cell::new(0));
    /// let d = done.clone();
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_reference_with_cleanup(vec![1u8; 10], move |v| d.set(v.len()))?;
    /// buf.drain(4)?;
    /// assert_eq!(done.get(), 0);
    /// buf.drain(6)?;
    /// assert_eq!(done.get(), 10);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_reference")]
    pub fn add_reference_with_cleanup<T, F>(&mut self, data: T, cleanup: F) -> Result<()>
    where
        T: AsRef<[u8]> + 'static,
        F: FnOnce(T) + 'static,
    {
        let owner = owner_box(WithCleanup {
            data: Some(data),
            cleanup: Some(cleanup),
        })?;
        self.add_owner(owner, 0)
    }

    fn add_owner(&mut self, owner: OwnerBox, offset: usize) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_owner_raw(owner, offset));
        }
        self.add_owner_raw(owner, offset)
    }

    fn add_owner_raw(&mut self, owner: OwnerBox, offset: usize) -> Result<()> {
        // The owner goes to its final place first: the bytes are taken from
        // it there, and it never moves again.
        let shared = MemRc::try_new(Shared::Owner(owner))?;
        let Shared::Owner(o) = &*shared else {
            unreachable!("made above")
        };
        let bytes = o.bytes();
        if offset > bytes.len() {
            return Err(Error::InvalidArgument("reference offset beyond its data"));
        }
        let n = bytes.len() - offset;
        if n == 0 {
            return Ok(()); // no chain; `shared` drops: the cleanup runs now
        }
        if self.total_len.checked_add(n).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        let chain = Chain::shared(MemRc::clone(&shared), bytes, offset);
        self.push_chain(chain)
    }

    /// Appends a ready chain holding data after the last chain with data
    /// (trailing empty chains are dropped: nothing empty may sit before
    /// data).
    pub(super) fn push_chain(&mut self, chain: Chain) -> Result<()> {
        self.reserve_chains(1)?;
        let d = self.data_chains();
        self.truncate_chains(d);
        self.total_len += chain.len();
        self.chains.push(chain);
        self.touch();
        Ok(())
    }

    /// Appends read-only views of all of `src`'s data (libevent's
    /// `evbuffer_add_buffer_reference`): no byte is copied, `src` keeps its
    /// data, and draining either buffer leaves the other as it was; `src`
    /// may be dropped first. From then on the viewed chains are read-only
    /// in both buffers, so later adds to `src` start a new chain. The
    /// shared blocks go back to the pool when the last view is gone.
    ///
    /// Views may be referenced again (libevent refuses that nesting; see
    /// the module docs).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `src` holds file-segment data or the
    /// length would overflow; [`Error::BadState`] if `self`'s end is
    /// frozen; [`Error::Alloc`] if the chain list cannot grow or the owner
    /// of a viewed block cannot be allocated. Both buffers are unchanged
    /// on error (`src`'s chains stay writable).
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut src, mut dst) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// src.add(b"broadcast")?;
    /// dst.add_buffer_reference(&mut src)?;
    /// dst.drain(5)?;
    /// assert_eq!(src.pullup(None).as_deref(), Some(&b"broadcast"[..]));
    /// drop(src);
    /// assert_eq!(dst.pullup(None).as_deref(), Some(&b"cast"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_buffer_reference")]
    pub fn add_buffer_reference(&mut self, src: &mut Evbuffer) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_buffer_reference_raw(src));
        }
        self.add_buffer_reference_raw(src)
    }

    fn add_buffer_reference_raw(&mut self, src: &mut Evbuffer) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        self.total_len
            .checked_add(src.total_len)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        let k = src.data_chains();
        if src.live()[..k].iter().any(Chain::is_file) {
            return Err(Error::InvalidArgument(
                "add_buffer_reference: the source holds file segments",
            ));
        }
        self.reserve_chains(k)?;
        // Every allocation first (an owner per owned chain), so that the
        // sharing below cannot fail half-way.
        let from = src.head();
        // The blocks turn shared, owned by no buffer: src's account lets
        // them go (views are charged to no account).
        let given = owned_bytes(&src.chains[from..from + k]);
        let shared = &mut src.chains[from..from + k];
        for i in 0..k {
            if let Err(e) = shared[i].reserve_share() {
                shared[..i].iter_mut().for_each(Chain::cancel_share);
                return Err(e);
            }
        }
        let d = self.data_chains();
        self.truncate_chains(d);
        for c in src.chains[from..from + k].iter_mut() {
            let Ok(Some(view)) = c.share() else {
                unreachable!("owners reserved, file chains refused above")
            };
            self.total_len += view.len();
            self.chains.push(view);
        }
        // `share` changed only how src's chains own their blocks (the data
        // and its positions stay; libevent marks them immutable), so src's
        // room, and any reservation in it, is gone.
        src.clear_reservation();
        src.credit(|| given);
        self.touch();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_makes_the_source_chain_read_only() {
        let mut src = Evbuffer::new();
        src.add(b"abc").unwrap();
        assert!(src.live()[0].space() > 0);
        let mut dst = Evbuffer::new();
        dst.add_buffer_reference(&mut src).unwrap();
        assert!(src.live()[0].is_shared() && dst.live()[0].is_shared());
        assert_eq!(src.live()[0].space(), 0);
        src.add(b"d").unwrap(); // into a new chain, not the shared block
        assert_eq!(src.live().len(), 2);
        assert_eq!(dst.live()[0].data(), b"abc");
        dst.prepend(b"<").unwrap();
        assert_eq!(src.live()[0].data(), b"abc");
        src.assert_invariants();
        dst.assert_invariants();
    }

    #[test]
    fn a_reserved_share_changes_nothing_until_shared() {
        let mut b = Evbuffer::new();
        b.add(b"abc").unwrap();
        let c = &mut b.live_mut()[0];
        let room = c.space();
        c.reserve_share().unwrap();
        c.cancel_share();
        assert!(!c.is_shared());
        assert_eq!(c.space(), room);
        c.reserve_share().unwrap();
        let view = c.share().unwrap().unwrap();
        assert!(c.is_shared() && view.data() == b"abc");
        drop(view);
        b.add(b"d").unwrap();
        b.live_mut()[1].reserve_share().unwrap();
        // A chain dropped with a pending owner still frees its own block
        // (Miri checks for the leak).
        drop(b);
    }

    #[test]
    fn an_emptied_shared_chain_never_shows_room() {
        let mut b = Evbuffer::new();
        b.add_reference(b"xyz").unwrap();
        b.add(b"1").unwrap();
        b.live_mut()[0].advance(3);
        let c = &b.live()[0];
        assert_eq!((c.len(), c.space(), c.cap()), (0, 0, 0));
    }
}
