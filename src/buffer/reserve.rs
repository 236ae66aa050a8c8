//! Writing in place: [`Evbuffer::reserve_space`] (one contiguous extent) and
//! [`Evbuffer::reserve_space_vectored`] (several) hand out free room after
//! the data, [`Evbuffer::commit_space`] turns the written part into data
//! (`evbuffer_reserve_space` / `evbuffer_commit_space`).
//!
//! The reservation is remembered by the buffer; any change to the content
//! between the two calls makes it stale, and the commit is refused.

use std::io::IoSliceMut;

use super::chain::{Chain, round_size};
use super::evbuffer::{Evbuffer, FROZEN_END, HAS_CBS};
use crate::error::{Error, Result};

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
        let i = self.expand_contiguous(n)?;
        self.reservation = Some((i, n));
        Ok(self.live_mut()[i].spare_mut(n))
    }

    /// Appends the first `n` bytes of the pending reservation.
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
        let stale =
            Error::BadState("no pending reservation (none, committed, or the buffer changed)");
        let (i, len) = self.reservation.ok_or(stale)?;
        if n > len {
            return Err(Error::InvalidArgument("commit larger than the reservation"));
        }
        // The extents are the reserved chains' rooms, in order: check all,
        // then commit, so a mismatch changes nothing.
        let mismatch = Error::BadState("reservation no longer matches the buffer");
        let mut left = n;
        for c in self.live().iter().skip(i) {
            if left == 0 {
                break;
            }
            let k = c.space().min(left);
            if !c.can_commit(k) {
                return Err(mismatch);
            }
            left -= k;
        }
        if left != 0 {
            return Err(mismatch);
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
        self.reservation = None;
        let d = self.data_chains();
        let start = if d > 0 && self.live()[d - 1].space() > 0 {
            d - 1
        } else {
            d
        };
        let room: usize = self.live()[start..]
            .iter()
            .take(out.len())
            .map(Chain::space)
            .sum();
        if room < n {
            // Keep the room of up to out.len() - 1 chains; one new chain
            // takes the rest and replaces any chains after them.
            let keep = (self.live().len() - start).min(out.len() - 1);
            let kept: usize = self.live()[start..start + keep]
                .iter()
                .map(Chain::space)
                .sum();
            let fresh = Chain::with_capacity(round_size(n - kept))?;
            self.reserve_chains(1)?;
            self.truncate_chains(start + keep);
            self.chains.push(fresh);
        }
        self.reservation = Some((start, n));
        let mut left = n;
        let mut used = 0;
        let from = self.head + start;
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
