//! Taking data from the front: [`Evbuffer::drain`], [`Evbuffer::remove`],
//! and the reads that leave the data in place — [`copyout`](Evbuffer::copyout),
//! [`copyout_from`](Evbuffer::copyout_from), [`peek`](Evbuffer::peek) —
//! or make it contiguous, [`pullup`](Evbuffer::pullup) (`evbuffer_drain`,
//! `evbuffer_remove`, `evbuffer_copyout(_from)`, `evbuffer_peek`,
//! `evbuffer_pullup`).
//!
//! A drain moves the first chain's window, and frees whole chains it
//! passes; draining everything keeps one small chain for the next add.

use std::io::{self, IoSlice};

use super::chain::{CHAIN_MAX_AUTO_SIZE, Chain, round_size};
use super::evbuffer::{ACCOUNTED, CHARGED, Evbuffer, FROZEN_FRONT, HAS_CBS, UNCHARGED};
use super::search::EvbufferPtr;
use crate::error::Result;

/// Draining everything keeps the last chain when its block is at most this
/// big, so a buffer that fills and empties in cycles does not allocate at
/// the start of each cycle.
const KEEP_ON_DRAIN: usize = 2 * CHAIN_MAX_AUTO_SIZE;

impl Evbuffer {
    /// Discards up to `n` bytes from the front (all of them if `n >= len`).
    ///
    /// # Errors
    /// [`Error::BadState`](crate::error::Error::BadState) if the front is frozen (nothing changes).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abcdef")?;
    /// buf.drain(4)?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"ef"[..]));
    /// buf.drain(100)?;
    /// assert!(buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_drain")]
    #[inline]
    pub fn drain(&mut self, n: usize) -> Result<()> {
        if self.hooks & (FROZEN_FRONT | HAS_CBS | CHARGED) != 0 {
            return self.hooked(FROZEN_FRONT, |b| {
                b.drain_raw(n);
                Ok(())
            });
        }
        self.drain_in::<UNCHARGED>(n);
        Ok(())
    }

    /// Discards up to `n` bytes from the front, ignoring freezing and
    /// callbacks.
    #[inline]
    pub(super) fn drain_raw(&mut self, n: usize) {
        self.drain_in::<ACCOUNTED>(n);
    }

    /// [`drain_raw`](Self::drain_raw) in accounting mode `A`.
    #[inline(always)]
    pub(super) fn drain_in<const A: bool>(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let head = self.head();
        if let Some(first) = self.chains.get_mut(head)
            && n < first.len()
        {
            first.advance(n);
            self.total_len -= n;
            self.touch();
            return;
        }
        self.drain_slow::<A>(n);
    }

    /// A drain of at least the first chain: exactly it (its block freed),
    /// everything (a write that empties the buffer), or several chains
    /// (out of line, so the common cases keep few registers).
    #[inline(never)]
    fn drain_slow<const A: bool>(&mut self, n: usize) {
        let head = self.head();
        if n < self.total_len && self.chains[head].len() == n {
            // Exactly the first chain, more data after it.
            self.credit_chains_in::<A>(head..head + 1);
            self.chains[head] = Chain::EMPTY;
            self.head += 1;
            self.total_len -= n;
            self.touch();
        } else if n >= self.total_len {
            self.drain_all::<A>();
        } else {
            self.drain_chains::<A>(n);
        }
    }

    /// Drains everything. Keeps the last chain for the next add if it is
    /// of the usual size (at most the 8 KiB that 4 KiB writes get); frees
    /// the rest.
    #[inline(always)]
    fn drain_all<const A: bool>(&mut self) {
        let live = self.live().len();
        if live > 0 {
            let last = self.head() + live - 1;
            if self.chains[last].cap() <= KEEP_ON_DRAIN && !self.chains[last].is_shared() {
                if last == 0 {
                    // The one chain, first in the list: emptied in place.
                    let l = self.chains[0].len();
                    self.chains[0].advance(l);
                } else {
                    self.credit_chains_in::<A>(self.head()..last);
                    let mut keep = std::mem::replace(&mut self.chains[last], Chain::EMPTY);
                    let l = keep.len();
                    keep.advance(l);
                    self.chains.clear();
                    self.head = 0;
                    self.chains.push(keep); // capacity is there: len was >= 1
                }
            } else {
                self.credit_chains_in::<A>(self.head()..last + 1);
                self.chains.clear();
                self.head = 0;
            }
        }
        self.total_len = 0;
        self.touch();
    }

    /// Drains `n` bytes, less than the length, across whole chains.
    #[inline(never)]
    fn drain_chains<const A: bool>(&mut self, n: usize) {
        let mut rest = n;
        let mut k = 0;
        for c in self.live() {
            if rest < c.len() {
                break;
            }
            rest -= c.len();
            k += 1;
        }
        self.pop_front_chains_in::<A>(k);
        self.live_mut()[0].advance(rest);
        self.total_len -= n;
        self.touch();
    }

    /// Copies up to `out.len()` bytes from the front into `out` and drains
    /// them; returns the bytes moved.
    ///
    /// # Errors
    /// [`Error::BadState`](crate::error::Error::BadState) if the front is frozen (nothing changes).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abcdef")?;
    /// let mut out = [0u8; 4];
    /// assert_eq!(buf.remove(&mut out)?, 4);
    /// assert_eq!(&out, b"abcd");
    /// assert_eq!(buf.len(), 2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_remove")]
    pub fn remove(&mut self, out: &mut [u8]) -> Result<usize> {
        let n = self.copyout(out);
        self.drain(n)?;
        Ok(n)
    }

    /// Copies up to `out.len()` bytes from the front into `out` without
    /// draining them; returns the bytes copied.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abc")?;
    /// let mut out = [0u8; 8];
    /// assert_eq!(buf.copyout(&mut out), 3);
    /// assert_eq!(buf.len(), 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_copyout")]
    #[inline]
    pub fn copyout(&self, out: &mut [u8]) -> usize {
        copy_chains(self.live(), 0, out)
    }

    /// Copies up to `out.len()` bytes starting at `pos` into `out`;
    /// returns the bytes copied (0 at the end).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::error::Error::InvalidArgument) if `pos` lies beyond the end.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{Evbuffer, EvbufferPtr, PtrHow};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"hello world")?;
    /// let mut p = EvbufferPtr::default();
    /// buf.ptr_set(&mut p, 6, PtrHow::Set)?;
    /// let mut out = [0u8; 16];
    /// let n = buf.copyout_from(&p, &mut out)?;
    /// assert_eq!(&out[..n], b"world");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_copyout_from")]
    pub fn copyout_from(&self, pos: &EvbufferPtr, out: &mut [u8]) -> Result<usize> {
        let (c, o) = self.locate_ptr(pos)?;
        Ok(copy_chains(&self.live()[c..], o, out))
    }

    /// Fills `vec` with slices of the chains covering `len` bytes from
    /// `start` (the front with `None`) and returns a count, as libevent
    /// does:
    ///
    /// - with `Some(len)`, how many slices cover `len` bytes, which may
    ///   exceed `vec.len()` (call again with a longer `vec`);
    /// - with `None` and a non-empty `vec`, how many slices were filled
    ///   (at most `vec.len()`);
    /// - with `None` and an empty `vec`, how many slices cover the rest of
    ///   the buffer.
    ///
    /// The last slice may extend beyond `len`; at the end of the buffer
    /// the count is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSlice;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abc")?;
    /// let mut more = rvent::Evbuffer::new();
    /// more.add(b"def")?;
    /// buf.add_buffer(&mut more)?; // moves its chain: two chains now
    /// assert_eq!(buf.peek(None, None, &mut []), 2);
    /// let mut v = [IoSlice::new(&[])];
    /// assert_eq!(buf.peek(None, None, &mut v), 1); // filled: v has one slot
    /// assert_eq!(&*v[0], b"abc");
    /// assert_eq!(buf.peek(Some(2), None, &mut []), 1);
    /// assert_eq!(buf.peek(Some(6), None, &mut v), 2); // needed
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_peek")]
    pub fn peek<'a>(
        &'a self,
        len: Option<usize>,
        start: Option<&EvbufferPtr>,
        vec: &mut [IoSlice<'a>],
    ) -> usize {
        let (c, o) = match start {
            Some(p) => match self.locate_ptr(p) {
                Ok(l) => l,
                Err(_) => return 0,
            },
            None => (0, 0),
        };
        let want = len.unwrap_or(usize::MAX);
        // libevent: with no length, a non-empty vector bounds the count.
        let max_slices = match len {
            None if !vec.is_empty() => vec.len(),
            _ => usize::MAX,
        };
        let mut got = 0usize;
        let mut n = 0;
        for (j, ch) in self.live()[c..].iter().enumerate() {
            if got >= want || n == max_slices {
                break;
            }
            let data = if j == 0 { &ch.data()[o..] } else { ch.data() };
            if data.is_empty() {
                continue;
            }
            if let Some(slot) = vec.get_mut(n) {
                *slot = IoSlice::new(data);
            }
            n += 1;
            got += data.len();
        }
        n
    }

    /// Makes the first `n` bytes (all with `None`) contiguous and returns
    /// them, copying only when they span chains.
    ///
    /// Returns `None` — as libevent returns NULL — when `n` is 0 or beyond
    /// the length (the buffer is then unchanged), or when a chain for the
    /// copy cannot be allocated.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(&[1u8; 1000])?;
    /// buf.add(&[2u8; 2000])?;
    /// let front = buf.pullup(Some(1500)).unwrap();
    /// assert_eq!((front[999], front[1000]), (1, 2));
    /// assert!(buf.pullup(Some(3001)).is_none());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_pullup")]
    pub fn pullup(&mut self, n: Option<usize>) -> Option<&mut [u8]> {
        let n = n.unwrap_or(self.total_len);
        if n == 0 || n > self.total_len {
            return None;
        }
        if self.live()[0].is_shared() {
            // Shared bytes are read-only: the first n go to a new chain.
            self.pullup_shared(n)?;
            return Some(&mut self.live_mut()[0].data_mut()[..n]);
        }
        let first_len = self.live()[0].len();
        if first_len < n {
            let first = &self.live()[0];
            let in_place = first.cap() - first.misalign() >= n;
            let fresh = if in_place {
                None
            } else {
                let mut c = self.new_chain(round_size(n)).ok()?;
                c.append(first.data());
                Some(c)
            };
            if let Some(c) = fresh {
                let head = self.head();
                self.credit_chains(head..head + 1);
                self.chains[head] = c;
            }
            // Copy the following chains' bytes into the first chain.
            let mut need = n - first_len;
            let mut consumed = 0;
            let head = self.head();
            let (a, b) = self.chains[head..].split_at_mut(1);
            for c in b.iter_mut() {
                let k = need.min(c.len());
                a[0].append(&c.data()[..k]);
                c.advance(k);
                need -= k;
                if c.is_empty() {
                    consumed += 1;
                }
                if need == 0 {
                    break;
                }
            }
            if consumed > 0 {
                let from = head + 1;
                self.credit_chains(from..from + consumed);
                self.chains.drain(from..from + consumed);
            }
            self.touch();
        }
        Some(&mut self.live_mut()[0].data_mut()[..n])
    }

    /// Copies the first `n` (`<= len`) bytes into a new first chain when
    /// the first chain is shared; `None` (nothing changed) if memory runs
    /// out.
    #[cold]
    fn pullup_shared(&mut self, n: usize) -> Option<()> {
        self.reserve_chains(1).ok()?;
        let mut fresh = self.new_chain(round_size(n)).ok()?;
        let mut need = n;
        let mut consumed = 0;
        for c in self.live_mut() {
            if need == 0 {
                break;
            }
            let k = need.min(c.len());
            fresh.append(&c.data()[..k]);
            c.advance(k);
            need -= k;
            if c.is_empty() {
                consumed += 1;
            }
        }
        let head = self.head();
        if consumed > 0 {
            self.credit_chains(head..head + consumed);
            self.chains[head] = fresh;
            self.chains.drain(head + 1..head + consumed);
        } else if head > 0 {
            self.head -= 1;
            self.chains[head - 1] = fresh;
        } else {
            self.chains.insert(0, fresh);
        }
        self.touch();
        Some(())
    }
}

/// Copies from `chains` (starting `off` bytes into the first) into `out`;
/// returns the bytes copied.
#[inline]
fn copy_chains(chains: &[Chain], mut off: usize, out: &mut [u8]) -> usize {
    let mut n = 0;
    for c in chains {
        if n == out.len() {
            break;
        }
        let data = &c.data()[off..];
        off = 0;
        let k = data.len().min(out.len() - n);
        out[n..n + k].copy_from_slice(&data[..k]);
        n += k;
    }
    n
}

impl io::Read for Evbuffer {
    /// Removes bytes from the front ([`Evbuffer::remove`]).
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        Ok(self.remove(out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(b: &Evbuffer) -> Vec<u8> {
        b.chunks().flatten().copied().collect()
    }

    #[test]
    fn drain_keeps_a_small_chain() {
        let mut b = Evbuffer::new();
        b.add(b"abc").unwrap();
        b.drain(3).unwrap();
        assert_eq!(b.live().len(), 1);
        b.assert_invariants();
        b.add(b"d").unwrap();
        assert_eq!(content(&b), b"d");
    }

    #[test]
    fn pullup_in_place_and_by_copy() {
        let mut b = Evbuffer::new();
        b.add(&[1; 100]).unwrap();
        let mut c = Evbuffer::new();
        c.add(&[2; 100]).unwrap();
        b.add_buffer(&mut c).unwrap();
        b.add(&[3; 5000]).unwrap();
        assert_eq!(b.pullup(Some(150)).unwrap().len(), 150);
        b.assert_invariants();
        assert_eq!(b.pullup(None).unwrap().len(), 5200);
        b.assert_invariants();
        assert_eq!(b.live().len(), 1);
    }
}
