//! Adding data: [`Evbuffer::add`] and its forms ([`add_fmt`](Evbuffer::add_fmt),
//! [`add_slices`](Evbuffer::add_slices)), [`Evbuffer::prepend`] and
//! [`Evbuffer::expand`] (`evbuffer_add`, `evbuffer_add_printf`,
//! `evbuffer_add_iovec`, `evbuffer_prepend`, `evbuffer_expand`).
//!
//! A write first fills the last chain's room, then takes one new chain
//! sized by libevent's policy (`chain.rs`); where the bytes go is planned
//! before any allocation ([`AppendPlan`]), so a failed allocation leaves
//! the buffer unchanged. [`remove_buffer`](Evbuffer::remove_buffer) uses
//! the same plan for its partial chain.

use std::fmt;
use std::io::{self, IoSlice};

use super::chain::{Chain, grow_size, round_size};
use super::evbuffer::{Evbuffer, FROZEN_END, FROZEN_FRONT, HAS_CBS};
use crate::error::{Error, Result};

/// Realigning moves at most this much data (libevent's
/// `evbuffer_chain_should_realign`: half the chain and at most 2 KiB).
const MAX_TO_REALIGN: usize = 2048;

/// `expand` copies a chain holding at most this much into a bigger one
/// (libevent's `MAX_TO_COPY_IN_EXPAND`).
const MAX_TO_COPY_IN_EXPAND: usize = 4096;

impl Evbuffer {
    /// Appends `data`, assuming room for one more chain in the list has
    /// been reserved and `fresh` is a new chain when
    /// [`plan_append`](Self::plan_append) said one is needed. Never fails.
    pub(super) fn append_planned(&mut self, data: &[u8], plan: AppendPlan, fresh: Option<Chain>) {
        let live = self.live_mut();
        match plan {
            AppendPlan::Last(i) => live[i].append(data),
            AppendPlan::Realign(i) => {
                live[i].realign();
                live[i].append(data);
            }
            AppendPlan::Split(i, next) => {
                let room = live[i].space();
                let (a, b) = data.split_at(room.min(data.len()));
                live[i].append(a);
                match (next, fresh) {
                    (true, _) => live[i + 1].append(b),
                    (false, Some(mut c)) => {
                        self.truncate_chains(i + 1);
                        c.append(b);
                        self.chains.push(c);
                    }
                    (false, None) => unreachable!("split append without a chain"),
                }
            }
            AppendPlan::New(from) => {
                let mut c = fresh.expect("append plan without a chain");
                self.truncate_chains(from);
                c.append(data);
                self.chains.push(c);
            }
        }
        self.total_len += data.len();
    }

    /// Decides where `n` (non-zero) appended bytes go and the size of the
    /// new chain needed, if any.
    pub(super) fn plan_append(&self, n: usize) -> (AppendPlan, usize) {
        let live = self.live();
        let d = self.data_chains();
        if d == 0 {
            // No data: the first (empty) chain if big enough.
            return match live.first() {
                Some(c) if c.space() >= n => (AppendPlan::Last(0), 0),
                // The first chain fits the write (a 4 KiB piece gets a
                // 4 KiB chain, like a network read, not half of 8 KiB).
                _ => (AppendPlan::New(0), round_size(n)),
            };
        }
        let i = d - 1;
        let c = &live[i];
        if c.space() >= n {
            return (AppendPlan::Last(i), 0);
        }
        if should_realign(c, n) {
            return (AppendPlan::Realign(i), 0);
        }
        if c.space() == 0 {
            // Nothing to split: the next (empty) chain or a new one.
            return match live.get(i + 1) {
                Some(next) if next.space() >= n => (AppendPlan::Last(i + 1), 0),
                _ => (AppendPlan::New(i + 1), grow_size(c.cap(), n)),
            };
        }
        let rest = n - c.space();
        if live.get(i + 1).is_some_and(|next| next.space() >= rest) {
            return (AppendPlan::Split(i, true), 0);
        }
        (AppendPlan::Split(i, false), grow_size(c.cap(), rest))
    }

    /// Copies `data` to the end; the shared body of the add paths. No
    /// change on error.
    pub(super) fn append(&mut self, data: &[u8]) -> Result<()> {
        // Common case: the last chain holds data (so no empty chain follows)
        // and is too full: fill its room, the rest into one new chain.
        if let Some(last) = self.chains.last()
            && !last.is_empty()
            && last.space() < data.len()
            && !should_realign(last, data.len())
        {
            let room = last.space();
            let size = grow_size(last.cap(), data.len() - room);
            self.reserve_chains(1)?;
            let mut fresh = self.new_chain(size)?;
            let (a, b) = data.split_at(room);
            if !a.is_empty() {
                self.chains.last_mut().expect("checked above").append(a);
            }
            fresh.append(b);
            self.chains.push(fresh);
            self.total_len += data.len();
            return Ok(());
        }
        let (plan, size) = self.plan_append(data.len());
        let fresh = if size != 0 {
            self.reserve_chains(1)?;
            Some(self.new_chain(size)?)
        } else {
            None
        };
        self.append_planned(data, plan, fresh);
        Ok(())
    }

    /// Drops bytes from the end until `len` remain (undoes a partial
    /// `add_fmt`).
    pub(super) fn truncate(&mut self, len: usize) {
        let mut extra = self.total_len - len;
        let mut i = self.data_chains();
        while extra > 0 {
            i -= 1;
            let c = &mut self.live_mut()[i];
            let k = extra.min(c.len());
            c.truncate_back(k);
            extra -= k;
        }
        self.total_len = len;
    }

    /// Appends a copy of `data`.
    ///
    /// Fills the last chain's free room, then allocates one new chain (per
    /// libevent's sizing policy) for the rest.
    ///
    /// # Errors
    /// [`Error::Alloc`] if a new chain cannot be allocated;
    /// [`Error::InvalidArgument`] if the length would overflow. The buffer
    /// is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"hello, ")?;
    /// buf.add(b"world")?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"hello, world"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add")]
    #[inline]
    pub fn add(&mut self, data: &[u8]) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_raw(data));
        }
        self.add_raw(data)
    }

    #[inline]
    pub(super) fn add_raw(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.total_len.checked_add(data.len()).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        // Fast path: the last chain holds data and has room — or, the
        // buffer empty, it is the one chain a drain kept (an output
        // buffer between replies).
        let live = self.chains.len() - self.head();
        if let Some(last) = self.chains.last_mut()
            && (!last.is_empty() || (self.total_len == 0 && live == 1))
            && last.space() >= data.len()
        {
            last.append(data);
            self.total_len += data.len();
            self.touch();
            return Ok(());
        }
        self.append(data)?;
        self.touch();
        Ok(())
    }

    /// Appends formatted text (libevent's `evbuffer_add_printf`); returns
    /// the number of bytes added.
    ///
    /// # Errors
    /// [`Error::Alloc`] if memory runs out, [`Error::InvalidArgument`] if
    /// a `Display` implementation fails. The buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// let n = buf.add_fmt(format_args!("{}-{:03}", "id", 7))?;
    /// assert_eq!(n, 6);
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"id-007"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_printf")]
    #[doc(alias = "evbuffer_add_vprintf")]
    pub fn add_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<usize> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_fmt_raw(args));
        }
        self.add_fmt_raw(args)
    }

    fn add_fmt_raw(&mut self, args: fmt::Arguments<'_>) -> Result<usize> {
        if let Some(s) = args.as_str() {
            self.add_raw(s.as_bytes())?;
            return Ok(s.len());
        }
        struct W<'a> {
            buf: &'a mut Evbuffer,
            err: Option<Error>,
        }
        impl fmt::Write for W<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.buf.add_raw(s.as_bytes()).map_err(|e| {
                    self.err = Some(e);
                    fmt::Error
                })
            }
        }
        let before = self.total_len;
        let mut w = W {
            buf: self,
            err: None,
        };
        match fmt::write(&mut w, args) {
            Ok(()) => Ok(self.total_len - before),
            Err(_) => {
                let err = w
                    .err
                    .take()
                    .unwrap_or(Error::InvalidArgument("formatting failed"));
                self.truncate(before);
                self.touch();
                Err(err)
            }
        }
    }

    /// Appends several slices, making room for all of them at once
    /// (libevent's `evbuffer_add_iovec`); returns the bytes added.
    ///
    /// # Errors
    /// As [`add`](Self::add); the buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSlice;
    /// let mut buf = rvent::Evbuffer::new();
    /// let n = buf.add_slices(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
    /// assert_eq!(n, 4);
    /// assert_eq!(buf.contiguous_space(), 4);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_iovec")]
    pub fn add_slices(&mut self, slices: &[IoSlice<'_>]) -> Result<usize> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_slices_raw(slices));
        }
        self.add_slices_raw(slices)
    }

    fn add_slices_raw(&mut self, slices: &[IoSlice<'_>]) -> Result<usize> {
        let total = slices
            .iter()
            .try_fold(0usize, |acc, s| acc.checked_add(s.len()))
            .filter(|t| self.total_len.checked_add(*t).is_some())
            .ok_or(Error::InvalidArgument("buffer length overflows"))?;
        if total == 0 {
            return Ok(0);
        }
        self.expand(total)?;
        for s in slices {
            if !s.is_empty() {
                // `expand` made room: no allocation, so no failure here.
                self.append(s)?;
            }
        }
        self.touch();
        Ok(total)
    }

    /// Makes sure `n` more bytes can be appended without allocating, in one
    /// contiguous region (libevent's `evbuffer_expand`).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the memory cannot be had (`usize::MAX` never
    /// can); [`Error::InvalidArgument`] if the length would overflow. The
    /// data is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.expand(10_000)?;
    /// assert!(buf.expand(usize::MAX).is_err());
    /// assert!(buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_expand")]
    pub fn expand(&mut self, n: usize) -> Result<()> {
        self.expand_contiguous(n).map(|_| ())
    }

    /// Makes `n` contiguous bytes of room after the data; returns the live
    /// index of the chain holding that room (the last chain with data or
    /// the empty chain after it). Keeps `stamp`: data positions do not move.
    pub(super) fn expand_contiguous(&mut self, n: usize) -> Result<usize> {
        if self.total_len.checked_add(n).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        self.clear_reservation();
        let d = self.data_chains();
        let nlive = self.live().len();
        if d == 0 {
            if let Some(c) = self.live().first()
                && c.space() >= n
            {
                return Ok(0);
            }
            // The empty chains go first, so the list has room again.
            self.truncate_chains(0);
            self.reserve_chains(1)?;
            let c = self.new_chain(round_size(n))?;
            self.chains.push(c);
            return Ok(0);
        }
        let i = d - 1;
        let c = &self.live()[i];
        if c.space() >= n {
            return Ok(i);
        }
        if should_realign(c, n) {
            self.live_mut()[i].realign();
            return Ok(i);
        }
        if c.len() <= MAX_TO_COPY_IN_EXPAND && !c.is_shared() {
            let need = c
                .len()
                .checked_add(n)
                .ok_or(Error::InvalidArgument("buffer length overflows"))?;
            let mut bigger = self.new_chain(round_size(need))?;
            bigger.append(self.live()[i].data());
            let at = self.head() + i;
            self.credit_chains(at..at + 1);
            self.chains[at] = bigger;
            return Ok(i);
        }
        if i + 1 < nlive && self.live()[i + 1].space() >= n {
            return Ok(i + 1);
        }
        self.reserve_chains(1)?;
        let fresh = self.new_chain(round_size(n))?;
        self.truncate_chains(i + 1);
        self.chains.push(fresh);
        Ok(i + 1)
    }

    /// Puts a copy of `data` before the current contents.
    ///
    /// Uses the room before the first chain's data, else a new chain whose
    /// data sits at its end so later prepends fit too.
    ///
    /// # Errors
    /// [`Error::Alloc`] or [`Error::InvalidArgument`] (length overflow);
    /// the buffer is unchanged on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"world")?;
    /// buf.prepend(b"hello ")?;
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"hello world"[..]));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_prepend")]
    pub fn prepend(&mut self, data: &[u8]) -> Result<()> {
        if self.hooks & (FROZEN_FRONT | HAS_CBS) != 0 {
            return self.hooked(FROZEN_FRONT, |b| b.prepend_raw(data));
        }
        self.prepend_raw(data)
    }

    fn prepend_raw(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.total_len.checked_add(data.len()).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        let room = match self.live().first() {
            // An empty first chain means an empty buffer: its whole block
            // is room (too small a one is replaced below).
            Some(c) if c.is_empty() && c.cap() >= data.len() => c.cap(),
            Some(c) if c.is_empty() => 0,
            // Never into shared (reference) memory.
            Some(c) if c.is_shared() => 0,
            Some(c) => c.misalign(),
            None => 0,
        };
        if room >= data.len() {
            self.live_mut()[0].prepend(data);
        } else {
            let (front, tail) = data.split_at(data.len() - room);
            if self.head == 0 {
                // Room at the front of the list: one more slot, shift.
                self.chains.try_reserve(1)?;
            }
            let mut fresh = self.new_chain(grow_size(0, front.len()))?;
            if self.is_empty() {
                self.truncate_chains(0);
            } else if !tail.is_empty() {
                self.live_mut()[0].prepend(tail);
            }
            fresh.prepend(front);
            if self.head > 0 {
                self.head -= 1;
                let head = self.head();
                self.chains[head] = fresh;
            } else {
                self.chains.insert(0, fresh);
            }
        }
        self.total_len += data.len();
        self.touch();
        Ok(())
    }
}

/// Where an append goes (see [`Evbuffer::plan_append`]); indexes are live
/// chain indexes.
#[derive(Clone, Copy, Debug)]
pub(super) enum AppendPlan {
    /// All into chain i.
    Last(usize),
    /// Realign chain i, then all into it.
    Realign(usize),
    /// Fill chain i's room, the rest into chain i+1 (`true`) or a new chain
    /// replacing any chains after i (`false`).
    Split(usize, bool),
    /// All into a new chain replacing the live chains from the index on.
    New(usize),
}

/// libevent's `evbuffer_chain_should_realign`: moving the data to the
/// start frees `n` bytes of room and moves little.
#[inline]
fn should_realign(c: &Chain, n: usize) -> bool {
    c.cap() - c.len() >= n && c.len() < c.cap() / 2 && c.len() <= MAX_TO_REALIGN && !c.is_shared()
}

impl io::Write for Evbuffer {
    /// Appends all of `data` ([`Evbuffer::add`]); out of memory is
    /// [`io::ErrorKind::OutOfMemory`].
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.add(data)?;
        Ok(data.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(self.add_slices(bufs)?)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::chain;

    fn content(b: &Evbuffer) -> Vec<u8> {
        b.chunks().flatten().copied().collect()
    }

    #[test]
    fn sizes_follow_the_policy() {
        assert_eq!(chain::grow_size(0, 1), 1024);
        assert_eq!(chain::grow_size(1024, 1), 2048);
        assert_eq!(chain::grow_size(2048, 1), 4096);
        assert_eq!(chain::grow_size(4096, 1), 4096);
        assert_eq!(chain::grow_size(4096, 4096), 8192);
        assert_eq!(chain::grow_size(0, 1024), 2048);
        assert_eq!(chain::grow_size(0, usize::MAX), usize::MAX);
        assert_eq!(chain::grow_size(4096, 5000), 8192);
        assert_eq!(chain::round_size(usize::MAX), usize::MAX);
    }

    #[test]
    fn small_appends_fill_chains_then_grow() {
        let mut b = Evbuffer::new();
        for _ in 0..1024 {
            b.add(b"x").unwrap();
        }
        assert_eq!(b.live().len(), 1);
        b.add(b"yz").unwrap();
        assert_eq!(b.live().len(), 2);
        assert_eq!(b.live()[1].cap(), 2048);
        b.assert_invariants();
    }

    #[test]
    fn truncate_undoes_appends() {
        let mut b = Evbuffer::new();
        b.add(&[1; 1000]).unwrap();
        b.add(&[2; 3000]).unwrap();
        b.truncate(500);
        b.assert_invariants();
        assert_eq!(content(&b), vec![1; 500]);
    }
}
