//! Moving data between buffers: [`Evbuffer::add_buffer`],
//! [`Evbuffer::prepend_buffer`] and [`Evbuffer::remove_buffer`]
//! (`evbuffer_add_buffer`, `evbuffer_prepend_buffer`,
//! `evbuffer_remove_buffer`).
//!
//! Whole chains change lists without their bytes being copied; only
//! `remove_buffer` copies, at most one partial chain. Both buffers are
//! unchanged on error: the chain lists grow before the first chain moves,
//! and a failed allocation puts moved chains back.
//!
//! A chain moving between buffers of different accounts (another base's,
//! or a free-standing buffer) takes its charge along: the receiving
//! buffer is charged first, and a move its budget has no room for fails
//! with [`Error::Alloc`] before anything moves. Between buffers of one
//! account (a base's bufferevents: pairs, filters, `Bufferevent::read`
//! into a free-standing buffer aside) nothing is charged, and such a move
//! can never pass the budget: the base holds the same blocks after.

use super::chain::Chain;
use super::evbuffer::{ACCOUNTED, CHARGED, Evbuffer, FROZEN_END, FROZEN_FRONT, HAS_CBS, UNCHARGED};
use crate::error::{Error, Result};
use crate::mem::{self, MemVec};

impl Evbuffer {
    /// Moves all of `src`'s data to the end of `self` without copying it;
    /// `src` is left empty.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the chain list cannot grow;
    /// [`Error::InvalidArgument`] if the length would overflow. Both
    /// buffers are unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// a.add(b"abc")?;
    /// b.add(b"def")?;
    /// a.add_buffer(&mut b)?;
    /// assert_eq!((a.len(), b.len()), (6, 0));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_buffer")]
    #[inline(always)]
    pub fn add_buffer(&mut self, src: &mut Evbuffer) -> Result<()> {
        const DST: u32 = FROZEN_END | HAS_CBS | CHARGED;
        const SRC: u32 = FROZEN_FRONT | HAS_CBS | CHARGED;
        if (self.hooks & DST) | (src.hooks & SRC) != 0 {
            return self.hooked2(src, FROZEN_END, FROZEN_FRONT, |d, s| d.add_buffer_any(s));
        }
        if self.is_empty() && !src.is_empty() {
            // The common move (a read buffer into an idle output), inline.
            self.swap_into_empty(src);
            return Ok(());
        }
        self.add_buffer_raw::<UNCHARGED>(src)
    }

    /// [`add_buffer`](Self::add_buffer), but when `src` holds at most
    /// `max` bytes, all in chains of its own (no references, no file
    /// segments), and they fit the room of `self`'s last chain, they are
    /// copied there instead: a small reply body joins its head in one
    /// chain (one iovec to write), and neither buffer gives up a chain —
    /// `src` keeps its emptied one for the next body (moving it would
    /// cost an allocation there and a free here per reply). The copy
    /// allocates nothing, so it cannot fail half done.
    ///
    /// # Errors
    /// As [`add_buffer`](Self::add_buffer).
    pub(crate) fn add_buffer_into_room(&mut self, src: &mut Evbuffer, max: usize) -> Result<()> {
        let n = src.total_len;
        let live = self.chains.len() - self.head();
        // `CHARGED` is no obstacle here: no chain changes hands.
        if n == 0
            || n > max
            || self.hooks & (FROZEN_END | HAS_CBS) != 0
            || src.hooks & (FROZEN_FRONT | HAS_CBS) != 0
            || src.live().iter().any(Chain::is_shared)
        {
            return self.add_buffer(src);
        }
        let Some(last) = self.chains.last_mut() else {
            return self.add_buffer(src);
        };
        if !(!last.is_empty() || (self.total_len == 0 && live == 1)) || last.space() < n {
            return self.add_buffer(src);
        }
        let head = src.head();
        let result = if src.chains.len() == head + 1 {
            // One chain (the usual body): emptied in place, kept.
            let c = &mut src.chains[head];
            last.append(c.data());
            c.advance(n);
            src.total_len = 0;
            src.touch();
            Ok(())
        } else {
            for c in src.live() {
                last.append(c.data());
            }
            src.drain(n)
        };
        self.total_len += n;
        self.touch();
        result
    }

    /// [`add_buffer_raw`](Self::add_buffer_raw) or, between buffers of
    /// different accounts, [`add_buffer_across`](Self::add_buffer_across).
    pub(super) fn add_buffer_any(&mut self, src: &mut Evbuffer) -> Result<()> {
        if self.same_account(src) {
            self.add_buffer_raw::<ACCOUNTED>(src)
        } else {
            self.add_buffer_across(src)
        }
    }

    /// `add_buffer` between buffers of the same account (or none), in
    /// accounting mode `A`.
    pub(super) fn add_buffer_raw<const A: bool>(&mut self, src: &mut Evbuffer) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        let total = self
            .total_len
            .checked_add(src.total_len)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        if self.is_empty() {
            self.swap_into_empty(src);
        } else {
            self.move_chains_from::<A>(src, true)?;
            self.moved_all(src, total);
        }
        Ok(())
    }

    /// `add_buffer` into an empty `self` from a non-empty `src` of the
    /// same account (or none): the lists swap. src keeps our empty chains
    /// for its next adds; our trailing empty chains (from src) stay
    /// trailing.
    #[inline(always)]
    fn swap_into_empty(&mut self, src: &mut Evbuffer) {
        debug_assert!(self.is_empty() && !src.is_empty() && self.same_account(src));
        std::mem::swap(&mut self.chains, &mut src.chains);
        std::mem::swap(&mut self.head, &mut src.head);
        self.moved_all(src, src.total_len);
    }

    /// `add_buffer` between buffers of different accounts: the chains
    /// take their charge along (never a list swap, which would move the
    /// receiver's empty chains to the other account).
    #[cold]
    fn add_buffer_across(&mut self, src: &mut Evbuffer) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        let total = self
            .total_len
            .checked_add(src.total_len)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        self.move_chains_from::<ACCOUNTED>(src, false)?;
        self.moved_all(src, total);
        Ok(())
    }

    /// Moves `src`'s data chains after `self`'s data (dropping `self`'s
    /// trailing empty chains); `same`: both charge the same account (or
    /// none), else the charge moves first. Nothing changes on error.
    #[inline(always)]
    fn move_chains_from<const A: bool>(&mut self, src: &mut Evbuffer, same: bool) -> Result<()> {
        let k = src.data_chains();
        self.reserve_chains(k)?;
        let from = src.head();
        if !same {
            self.take_charge(src, from..from + k)?;
        }
        let d = self.data_chains();
        self.truncate_chains_in::<A>(d);
        for c in &mut src.chains[from..from + k] {
            self.chains.push(std::mem::replace(c, Chain::EMPTY));
        }
        src.pop_front_chains_in::<A>(k);
        Ok(())
    }

    /// The end of a whole move: `self` holds `total` bytes, `src` none.
    #[inline(always)]
    fn moved_all(&mut self, src: &mut Evbuffer, total: usize) {
        self.total_len = total;
        src.total_len = 0;
        self.touch();
        src.touch();
    }

    /// Moves all of `src`'s data to the front of `self` without copying
    /// it; `src` is left empty.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] (length overflow);
    /// both buffers are unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// a.add(b"world")?;
    /// b.add(b"hello ")?;
    /// a.prepend_buffer(&mut b)?;
    /// assert_eq!(a.pullup(None).as_deref(), Some(&b"hello world"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_prepend_buffer")]
    pub fn prepend_buffer(&mut self, src: &mut Evbuffer) -> Result<()> {
        if (self.hooks | src.hooks) & (FROZEN_FRONT | HAS_CBS) != 0 {
            return self.hooked2(src, FROZEN_FRONT, FROZEN_FRONT, |d, s| {
                d.prepend_buffer_raw(s)
            });
        }
        self.prepend_buffer_raw(src)
    }

    fn prepend_buffer_raw(&mut self, src: &mut Evbuffer) -> Result<()> {
        if src.is_empty() {
            return Ok(());
        }
        if self.is_empty() {
            return self.add_buffer_any(src);
        }
        let total = self
            .total_len
            .checked_add(src.total_len)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        let k = src.data_chains();
        let same = self.same_account(src);
        if self.head() >= k {
            let from = src.head();
            if !same {
                self.take_charge(src, from..from + k)?;
            }
            let head = self.head() - k;
            self.set_head(head);
            for j in 0..k {
                self.chains[head + j] = std::mem::replace(&mut src.chains[from + j], Chain::EMPTY);
            }
        } else {
            // src's list receives our chains, then the lists swap.
            let ours = self.live().len();
            src.truncate_chains(k);
            src.reserve_chains(ours)?;
            if !same {
                let from = src.head();
                self.take_charge(src, from..from + k)?;
            }
            let from = self.head();
            for c in &mut self.chains[from..] {
                src.chains.push(std::mem::replace(c, Chain::EMPTY));
            }
            std::mem::swap(&mut self.chains, &mut src.chains);
            std::mem::swap(&mut self.head, &mut src.head);
        }
        src.truncate_chains(0);
        self.total_len = total;
        src.total_len = 0;
        self.touch();
        src.touch();
        Ok(())
    }

    /// Moves up to `n` bytes from the front of `self` to the end of `dst`:
    /// whole chains move without copying, at most one partial chain is
    /// copied. Returns the bytes moved.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] (length overflow);
    /// both buffers are unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut src, mut dst) = (rvent::Evbuffer::new(), rvent::Evbuffer::new());
    /// src.add(&[7u8; 3000])?;
    /// assert_eq!(src.remove_buffer(&mut dst, 1280)?, 1280);
    /// assert_eq!((src.len(), dst.len()), (1720, 1280));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_remove_buffer")]
    pub fn remove_buffer(&mut self, dst: &mut Evbuffer, n: usize) -> Result<usize> {
        if (dst.hooks & (FROZEN_END | HAS_CBS)) | (self.hooks & (FROZEN_FRONT | HAS_CBS)) != 0 {
            return dst.hooked2(self, FROZEN_END, FROZEN_FRONT, |d, s| {
                s.remove_buffer_raw(d, n)
            });
        }
        self.remove_buffer_raw(dst, n)
    }

    fn remove_buffer_raw(&mut self, dst: &mut Evbuffer, n: usize) -> Result<usize> {
        if n >= self.total_len {
            let moved = self.total_len;
            dst.add_buffer_any(self)?;
            return Ok(moved);
        }
        if n == 0 {
            return Ok(0);
        }
        let total = dst
            .total_len
            .checked_add(n)
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        // Whole chains that fit in n.
        let (mut k, mut whole) = (0, 0);
        for c in self.live() {
            if whole + c.len() > n {
                break;
            }
            whole += c.len();
            k += 1;
        }
        let rest = n - whole;
        dst.reserve_chains(k + 1)?;
        // Move the whole chains (reversibly: their slots stay in self).
        let d = dst.data_chains();
        let kept_empties = dst.live().len() - d;
        let mut parked: MemVec<Chain> = mem::vec();
        if kept_empties > 0 && k > 0 {
            // Trailing empty chains of dst would end up in the middle.
            mem::reserve(&mut parked, kept_empties)?;
            let cut = dst.head() + d;
            for c in dst.chains.drain(cut..) {
                parked.push(c);
            }
        }
        let from = self.head();
        let same = self.same_account(dst);
        if !same && let Err(e) = dst.take_charge(self, from..from + k) {
            for c in parked {
                dst.chains.push(c);
            }
            return Err(e);
        }
        let before = dst.chains.len();
        for c in &mut self.chains[from..from + k] {
            dst.chains.push(std::mem::replace(c, Chain::EMPTY));
        }
        if rest > 0 {
            let (plan, size) = dst.plan_append(rest);
            let fresh = if size != 0 {
                match dst.new_chain(size) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        // Undo: chains go back to their slots, and their
                        // charge with them (it fits: it was there before).
                        if !same {
                            let back = self.take_charge(dst, before..before + k);
                            debug_assert!(back.is_ok(), "a charge given back fits");
                        }
                        for (j, c) in dst.chains.drain(before..).enumerate() {
                            self.chains[from + j] = c;
                        }
                        for c in parked {
                            dst.chains.push(c);
                        }
                        return Err(e);
                    }
                }
            } else {
                None
            };
            let src_chain = &self.chains[from + k];
            dst.append_planned(&src_chain.data()[..rest], plan, fresh);
            self.chains[from + k].advance(rest);
        }
        dst.credit_detached(&parked);
        drop(parked);
        self.pop_front_chains(k);
        self.total_len -= n;
        dst.total_len = total;
        self.touch();
        dst.touch();
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_buffer_into_room_copies_small_owned_data_only() {
        let (mut out, mut body) = (Evbuffer::new(), Evbuffer::new());
        out.add(b"head ").unwrap();
        body.add(b"body").unwrap();
        // Small, owned, fits: copied into out's chain; body keeps its own.
        out.add_buffer_into_room(&mut body, 1024).unwrap();
        assert_eq!(out.chain_stats().0, 1);
        assert_eq!((body.len(), body.chain_stats().0), (0, 1));
        assert_eq!(out.pullup(None).unwrap(), b"head body");
        // Into an emptied buffer's kept chain as well.
        out.drain(out.len()).unwrap();
        body.add(b"again").unwrap();
        out.add_buffer_into_room(&mut body, 1024).unwrap();
        assert_eq!((out.chain_stats().0, body.chain_stats().0), (1, 1));
        // Over `max`: moved as chains.
        body.add(b"0123456789").unwrap();
        out.add_buffer_into_room(&mut body, 4).unwrap();
        assert_eq!((out.chain_stats().0, body.chain_stats().0), (2, 0));
        // A reference is never copied.
        let mut out = Evbuffer::new();
        out.add(b"x").unwrap();
        body.add_reference(&b"ref"[..]).unwrap();
        out.add_buffer_into_room(&mut body, 1024).unwrap();
        assert_eq!(out.chain_stats().0, 2);
        assert_eq!(out.pullup(None).unwrap(), b"xref");
        // No room in the last chain: moved.
        let mut out = Evbuffer::new();
        out.add(&[1; 16]).unwrap();
        let room = out.reservable_space(1);
        let mut big = Evbuffer::new();
        big.add(&vec![2; room + 1]).unwrap();
        out.add_buffer_into_room(&mut big, usize::MAX).unwrap();
        assert_eq!((out.len(), big.len()), (room + 17, 0));
        assert_eq!(out.chain_stats().0, 2);
        for b in [&out, &body, &big] {
            b.assert_invariants();
        }
    }

    #[test]
    fn remove_buffer_parks_dst_empties() {
        let (mut a, mut d) = (Evbuffer::new(), Evbuffer::new());
        d.add(b"1").unwrap();
        d.expand(10_000).unwrap();
        a.add(&[5; 2000]).unwrap();
        a.add(&[6; 3000]).unwrap();
        assert_eq!(a.remove_buffer(&mut d, 2500).unwrap(), 2500);
        a.assert_invariants();
        d.assert_invariants();
        assert_eq!(d.len(), 2501);
        assert_eq!(a.len(), 2500);
    }
}
