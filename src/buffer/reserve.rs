//! Writing in place: [`Evbuffer::reserve_space`] hands out free room after
//! the data, [`Evbuffer::commit_space`] turns the written part into data
//! (`evbuffer_reserve_space` / `evbuffer_commit_space`, single extent).
//!
//! The reservation is remembered by the buffer; any change to the content
//! between the two calls makes it stale, and the commit is refused.

use super::Evbuffer;
use crate::{Error, Result};

impl Evbuffer {
    /// Reserves `n` contiguous bytes of room after the data and returns
    /// them (zeroed where never written) to be filled, then committed with
    /// [`commit_space`](Self::commit_space). Reserving again before the
    /// commit returns the same room (or a bigger one) and replaces the
    /// reservation.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] as for
    /// [`expand`](Self::expand); the data is unchanged.
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
        let stale =
            Error::BadState("no pending reservation (none, committed, or the buffer changed)");
        let (i, len) = self.reservation.ok_or(stale)?;
        if n > len {
            return Err(Error::InvalidArgument("commit larger than the reservation"));
        }
        let committed = match self.live_mut().get_mut(i) {
            Some(c) => c.commit(n),
            None => false,
        };
        if !committed {
            return Err(Error::BadState("reservation no longer matches the buffer"));
        }
        self.total_len += n;
        self.touch();
        Ok(())
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
