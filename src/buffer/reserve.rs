//! Writing in place: [`Evbuffer::reserve_space`] (one contiguous extent) and
//! [`Evbuffer::reserve_space_vectored`] (several) hand out free room after
//! the data; [`Evbuffer::commit_space`] and
//! [`Evbuffer::commit_space_vectored`] turn the written part into data
//! (`evbuffer_reserve_space` / `evbuffer_commit_space`).
//!
//! The reservation is remembered by the buffer; any change to the content
//! between the two calls makes it stale, and the commit is refused.
//!
//! # libevent's rule, and rvent's two commits
//!
//! libevent's `evbuffer_commit_space` takes the extents back in order,
//! each with an `iov_len` no longer than its room, and commits each
//! extent's length independently: 400 bytes of the first extent and 60 of
//! the second is a valid commit (its `reserve2` test), leaving the rest of
//! the first extent as room. A zero length is allowed anywhere, and fewer
//! vectors than were reserved commit only those.
//! [`commit_space_vectored`](Evbuffer::commit_space_vectored) takes exactly
//! that: one length per extent, in order. [`commit_space`](Evbuffer::commit_space)
//! is the common case, the first `n` bytes of the extents filled in order.
//!
//! Two differences from libevent, both on the safe side: an extent is as
//! long as what was asked for (libevent may hand out a chain's whole room,
//! "more space than you requested"), since room handed out is zero-filled
//! first; and a commit that leaves an extent's chain empty before one that
//! got data drops that empty chain, so no empty chain sits between data
//! (libevent keeps it).
//!
//! When the room of `out.len()` chains is short, a vectored reservation
//! allocates as libevent's `evbuffer_expand_fast_` does: with fewer chains
//! than extents, one new chain takes the rest; otherwise the empty chains
//! go and one new chain takes all but the room of the last chain with data.

use std::io::IoSliceMut;

use super::chain::{Chain, round_size};
use super::evbuffer::{Evbuffer, FROZEN_END, HAS_CBS, MAX_RESERVATION};
use crate::error::{Error, Result};

/// A commit without a pending reservation.
const NO_RESERVATION: Error =
    Error::BadState("no pending reservation (none, committed, or the buffer changed)");

/// A commit into room the buffer no longer hands out as reserved.
const MISMATCH: Error = Error::BadState("reservation no longer matches the buffer");

impl Evbuffer {
    /// Reserves `n` contiguous bytes of room after the data and returns
    /// them (zeroed where never written) to be filled, then committed with
    /// [`commit_space`](Self::commit_space). Reserving again before the
    /// commit returns the same room (or a bigger one) and replaces the
    /// reservation.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] as for
    /// [`expand`](Self::expand); [`Error::BadState`] if the end is frozen.
    /// The data is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// let room = buf.reserve_space(16)?;
    /// room[..5].copy_from_slice(b"hello");
    /// buf.commit_space(5)?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"hello"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_reserve_space")]
    pub fn reserve_space(&mut self, n: usize) -> Result<&mut [u8]> {
        if self.hooks & FROZEN_END != 0 {
            return Err(Error::BadState("buffer end is frozen"));
        }
        if n > MAX_RESERVATION {
            return Err(Error::InvalidArgument("reservation over 4 GiB"));
        }
        let i = self.expand_contiguous(n)?;
        self.set_reservation(i, n);
        Ok(self.live_mut()[i].spare_mut(n))
    }

    /// Appends the first `n` bytes of the pending reservation, filling its
    /// extents in order (to commit part of one extent and part of the
    /// next, use [`commit_space_vectored`](Self::commit_space_vectored)).
    ///
    /// # Errors
    /// [`Error::BadState`] when no reservation is pending — none was made,
    /// it was committed already, or the buffer changed since (a stale
    /// reservation); [`Error::InvalidArgument`] when `n` exceeds the
    /// reservation. The buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.reserve_space(4)?.copy_from_slice(b"abcd");
    /// buf.add(b"x")?; // changes the buffer: the reservation is stale
    /// assert!(buf.commit_space(4).is_err());
    /// assert_eq!(buf.len(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_commit_space")]
    pub fn commit_space(&mut self, n: usize) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.commit_raw(n));
        }
        self.commit_raw(n)
    }

    fn commit_raw(&mut self, n: usize) -> Result<()> {
        let (i, len) = self.reservation().ok_or(NO_RESERVATION)?;
        if n > len {
            return Err(Error::InvalidArgument("commit larger than the reservation"));
        }
        // All of it in the first extent (the usual case): committed there.
        if let Some(c) = self.live_mut().get_mut(i)
            && n <= c.space()
        {
            if !c.commit(n) {
                return Err(MISMATCH);
            }
            self.total_len += n;
            self.touch();
            return Ok(());
        }
        // The extents are the reserved chains' rooms, in order: check all,
        // then commit, so a mismatch changes nothing.
        let mut left = n;
        for c in self.live().iter().skip(i) {
            if left == 0 {
                break;
            }
            let k = c.space().min(left);
            if !c.can_commit(k) {
                return Err(MISMATCH);
            }
            left -= k;
        }
        if left != 0 {
            return Err(MISMATCH);
        }
        let mut left = n;
        for c in self.live_mut().iter_mut().skip(i) {
            if left == 0 {
                break;
            }
            let k = c.space().min(left);
            c.commit(k);
            left -= k;
        }
        self.total_len += n;
        self.touch();
        Ok(())
    }

    /// Commits the pending reservation extent by extent: `lens[i]` bytes of
    /// extent `i`, in the order [`reserve_space_vectored`](Self::reserve_space_vectored)
    /// (or [`reserve_space`](Self::reserve_space), one extent) handed them
    /// out — libevent's `evbuffer_commit_space` with the vectors' `iov_len`
    /// shrunk to what was written. Any length may be 0; fewer lengths than
    /// extents commit nothing of the rest. The bytes committed from each
    /// extent are its first `lens[i]`.
    ///
    /// # Errors
    /// [`Error::BadState`] when no reservation is pending (as for
    /// [`commit_space`](Self::commit_space)) or the end is frozen;
    /// [`Error::InvalidArgument`] when there are more lengths than extents
    /// or a length exceeds its extent. The buffer and the reservation are
    /// unchanged on error.
    ///
    /// # Examples
    ///
    /// libevent's `reserve2` case: part of the first extent, part of the
    /// second.
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(&[b'a'; 521])?; // a 1 KiB chain with 503 bytes of room
    /// let (mut x, mut y) = ([0u8; 0], [0u8; 0]);
    /// let mut v = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    /// assert_eq!(buf.reserve_space_vectored(503 + 64, &mut v)?, 2);
    /// v[0][..400].fill(b'W');
    /// v[1][..60].fill(b'x');
    /// buf.commit_space_vectored(&[400, 60])?;
    /// assert_eq!(buf.len(), 981);
    /// assert_eq!(buf.chunks().map(<[u8]>::len).collect::<Vec<_>>(), [921, 60]);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_commit_space")]
    pub fn commit_space_vectored(&mut self, lens: &[usize]) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.commit_vectored_raw(lens));
        }
        self.commit_vectored_raw(lens)
    }

    fn commit_vectored_raw(&mut self, lens: &[usize]) -> Result<()> {
        let (i, len) = self.reservation().ok_or(NO_RESERVATION)?;
        // The extents are the reserved chains' rooms, in order, the last
        // one cut to the reserved length: check every length, then commit,
        // so a refusal changes nothing.
        let mut left = len;
        let mut total = 0;
        let mut chains = self.live()[i..].iter();
        for &k in lens {
            let c = chains
                .next()
                .filter(|_| left > 0)
                .ok_or(Error::InvalidArgument("more lengths than reserved extents"))?;
            let extent = c.space().min(left);
            if k > extent {
                return Err(Error::InvalidArgument("commit larger than its extent"));
            }
            if !c.can_commit(k) {
                return Err(MISMATCH);
            }
            left -= extent;
            total += k;
        }
        let mut last_with_data = None;
        for (j, (c, &k)) in self.live_mut()[i..].iter_mut().zip(lens).enumerate() {
            c.commit(k);
            if k > 0 {
                last_with_data = Some(j);
            }
        }
        // An extent left empty before one that got data would be an empty
        // chain between data: drop it (only chains without data can be).
        if let Some(last) = last_with_data {
            let from = self.head() + i;
            for at in (from..from + last).rev() {
                if self.chains[at].is_empty() {
                    self.credit_chains(at..at + 1);
                    self.chains.remove(at);
                }
            }
        }
        self.total_len += total;
        self.touch();
        Ok(())
    }

    /// The free room after the data in the first `extents` chains that
    /// [`reserve_space_vectored`](Self::reserve_space_vectored) would use:
    /// how much it hands out in `extents` extents without allocating.
    /// Reserving exactly that gives each extent its chain's whole room, as
    /// libevent's `evbuffer_reserve_space` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(&[b'a'; 1000])?; // a 1 KiB chain with 24 bytes of room
    /// assert_eq!(buf.reservable_space(2), 24);
    /// let (mut x, mut y) = ([0u8; 0], [0u8; 0]);
    /// {
    ///     let mut v = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    ///     assert_eq!(buf.reserve_space_vectored(100, &mut v)?, 2); // allocates
    /// }
    /// let room = buf.reservable_space(2);
    /// assert!(room >= 100);
    /// let mut v = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    /// assert_eq!(buf.reserve_space_vectored(room, &mut v)?, 2);
    /// assert_eq!(v[0].len() + v[1].len(), room); // both chains' whole room
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn reservable_space(&self, extents: usize) -> usize {
        let start = self.reserve_start();
        self.live()[start..]
            .iter()
            .take(extents)
            .map(Chain::space)
            .sum()
    }

    /// The live chain a vectored reservation starts at: the last chain
    /// with data if it has room, else the first chain after the data.
    fn reserve_start(&self) -> usize {
        let d = self.data_chains();
        if d > 0 && self.live()[d - 1].space() > 0 {
            d - 1
        } else {
            d
        }
    }

    /// Reserves `n` bytes of room after the data in up to `out.len()`
    /// extents — the last chain's free room, then the next chains' — and
    /// fills `out` with them; returns the number of extents used (libevent's
    /// `evbuffer_reserve_space` with `n_vec` vectors). A chain is allocated
    /// only when the room of `out.len()` chains is not enough; one extent
    /// means contiguous room, as [`reserve_space`](Self::reserve_space).
    /// Commit with [`commit_space`](Self::commit_space), which fills the
    /// extents in order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `out` is empty or the length would
    /// overflow; [`Error::Alloc`] if a chain cannot be allocated. The data
    /// is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(&[b'a'; 1000])?; // a 1 KiB chain with 24 bytes of room
    /// let (mut x, mut y) = ([0u8; 0], [0u8; 0]);
    /// let mut v = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
    /// let n = buf.reserve_space_vectored(100, &mut v)?;
    /// assert_eq!((n, v[0].len(), v[1].len()), (2, 24, 76));
    /// v[0].fill(b'b');
    /// v[1].fill(b'c');
    /// buf.commit_space(100)?;
    /// assert_eq!(buf.len(), 1100);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_reserve_space")]
    pub fn reserve_space_vectored<'a>(
        &'a mut self,
        n: usize,
        out: &mut [IoSliceMut<'a>],
    ) -> Result<usize> {
        if out.is_empty() {
            return Err(Error::InvalidArgument("no extent to reserve into"));
        }
        if self.hooks & FROZEN_END != 0 {
            return Err(Error::BadState("buffer end is frozen"));
        }
        if out.len() == 1 {
            let room = self.reserve_space(n)?;
            out[0] = IoSliceMut::new(room);
            return Ok(1);
        }
        if self.total_len.checked_add(n).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        if n > MAX_RESERVATION {
            return Err(Error::InvalidArgument("reservation over 4 GiB"));
        }
        self.clear_reservation();
        let d = self.data_chains();
        let start = self.reserve_start();
        let room = self.reservable_space(out.len());
        if room < n {
            // libevent's evbuffer_expand_fast_: with fewer chains than
            // extents, keep them all and add one; otherwise keep only the
            // last data chain's room and replace the empty chains by one.
            let chains = self.live().len() - start;
            let keep = if chains < out.len() {
                chains
            } else {
                usize::from(start < d)
            };
            let kept: usize = self.live()[start..start + keep]
                .iter()
                .map(Chain::space)
                .sum();
            self.reserve_chains(1)?;
            let fresh = self.new_chain(round_size(n - kept))?;
            self.truncate_chains(start + keep);
            self.chains.push(fresh);
        }
        self.set_reservation(start, n);
        let mut left = n;
        let mut used = 0;
        let from = self.head() + start;
        for (c, slot) in self.chains[from..].iter_mut().zip(out.iter_mut()) {
            if left == 0 {
                break;
            }
            let k = c.space().min(left);
            *slot = IoSliceMut::new(c.spare_mut(k));
            left -= k;
            used += 1;
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_twice_gives_the_same_room() {
        let mut b = Evbuffer::new();
        b.add(&[1; 5000]).unwrap();
        let p1 = b.reserve_space(100).unwrap().as_ptr();
        let p2 = b.reserve_space(100).unwrap().as_ptr();
        assert_eq!(p1, p2);
        b.commit_space(100).unwrap();
        assert!(b.commit_space(1).is_err(), "committed already");
        b.assert_invariants();
        assert_eq!(b.len(), 5100);
    }

    #[test]
    fn commit_after_expand_is_refused() {
        let mut b = Evbuffer::new();
        b.reserve_space(10).unwrap();
        b.expand(100_000).unwrap();
        assert!(b.commit_space(10).is_err());
        b.assert_invariants();
        assert_eq!(b.len(), 0);
    }
}
