//! Positions in a buffer and searching ([`EvbufferPtr`],
//! `evbuffer_ptr_set`, `evbuffer_search`, `evbuffer_search_range`,
//! `evbuffer_search_eol`).
//!
//! Scans run per chain with `memchr` / `memchr::memmem`; a match that
//! straddles chains is found by comparing the last `needle.len() - 1`
//! candidate starts of each chain across the boundary.

// Maintainer notes: an `EvbufferPtr` caches the chain index and offset of
// its position together with the buffer's stamp (identity and content
// generation in one word, see `Evbuffer::stamp`). The cache is used only
// while the stamp still matches and the location fits the chain list; otherwise the position is
// located again from `pos`, so a stale or foreign pointer can give a wrong
// (but in-bounds) answer, never a panic. Canonical location: `off <
// chain.len()`, or `(live chains, 0)` at the end.

use memchr::memmem;

use super::eol::EolStyle;
use super::evbuffer::Evbuffer;
use crate::error::{Error, Result};

/// A position in an [`Evbuffer`] (libevent's `struct evbuffer_ptr`):
/// a byte offset from the front, valid from 0 to the buffer's length.
///
/// Any change to the buffer's content invalidates the cached location;
/// the position (`pos`) is then located again on use. Set and move it with
/// [`Evbuffer::ptr_set`]; searches return one.
///
/// # Examples
///
/// ```
/// use rvent::{Evbuffer, EvbufferPtr, PtrHow};
/// let mut buf = Evbuffer::new();
/// buf.add(b"one two")?;
/// let mut p = EvbufferPtr::default();
/// buf.ptr_set(&mut p, 4, PtrHow::Set)?;
/// buf.ptr_set(&mut p, 3, PtrHow::Add)?;
/// assert_eq!(p.pos(), 7);
/// assert!(buf.ptr_set(&mut p, 1, PtrHow::Add).is_err()); // beyond the end
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evbuffer_ptr")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvbufferPtr {
    pos: usize,
    chain: usize,
    off: usize,
    /// The buffer's stamp when the location was cached.
    stamp: u64,
}

impl EvbufferPtr {
    /// The offset from the front of the buffer.
    ///
    /// # Examples
    /// ```
    /// use rvent::Evbuffer;
    ///
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"key=value")?;
    /// let p = buf.search(b"=", None).unwrap();
    /// assert_eq!(p.pos(), 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }
}

/// How [`Evbuffer::ptr_set`] moves a position (`EVBUFFER_PTR_SET`,
/// `EVBUFFER_PTR_ADD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtrHow {
    /// Set the position to the given offset.
    #[doc(alias = "EVBUFFER_PTR_SET")]
    Set,
    /// Move the position forward by the given count.
    #[doc(alias = "EVBUFFER_PTR_ADD")]
    Add,
}

/// Finds a needle inside one chain.
///
/// `memmem` picks the needle's two rarest bytes (by a table of byte
/// frequencies in typical text) as its SIMD prefilter. For protocol
/// delimiters such as `"\r\n\r\n"` in CRLF text those bytes occur on every
/// line and the prefilter stalls (about 3 GB/s). With AVX2 the needle's
/// first and last bytes serve as the pair instead (the classic generic SIMD
/// substring search), which skips line ends at memory speed; short chains
/// and other targets use `memmem`.
enum Searcher<'n> {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    Pair(
        memchr::arch::x86_64::avx2::packedpair::Finder,
        memmem::Finder<'n>,
    ),
    Memmem(memmem::Finder<'n>),
}

impl<'n> Searcher<'n> {
    fn new(needle: &'n [u8]) -> Self {
        let finder = memmem::Finder::new(needle);
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if let Ok(last) = u8::try_from(needle.len().wrapping_sub(1))
            && last > 0
            && let Some(pair) = memchr::arch::all::packedpair::Pair::with_indices(needle, 0, last)
            && let Some(simd) =
                memchr::arch::x86_64::avx2::packedpair::Finder::with_pair(needle, pair)
        {
            return Searcher::Pair(simd, finder);
        }
        Searcher::Memmem(finder)
    }

    #[inline]
    fn find(&self, hay: &[u8], needle: &[u8]) -> Option<usize> {
        match self {
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            Searcher::Pair(simd, finder) => {
                if hay.len() >= simd.min_haystack_len() {
                    simd.find(hay, needle)
                } else {
                    finder.find(hay)
                }
            }
            Searcher::Memmem(finder) => {
                let _ = needle;
                finder.find(hay)
            }
        }
    }
}

impl Evbuffer {
    /// A position built from a canonical location.
    #[inline]
    fn make_ptr(&self, pos: usize, chain: usize, off: usize) -> EvbufferPtr {
        EvbufferPtr {
            pos,
            chain,
            off,
            stamp: self.stamp,
        }
    }

    /// The canonical location `n` bytes after location `(c, o)`.
    fn advance_loc(&self, mut c: usize, mut o: usize, mut n: usize) -> (usize, usize) {
        let live = self.live();
        while c < live.len() {
            let rem = live[c].len() - o;
            if n < rem {
                return (c, o + n);
            }
            n -= rem;
            c += 1;
            o = 0;
        }
        (live.len(), 0)
    }

    /// The location of `p` in this buffer (from its cache while valid).
    pub(super) fn locate_ptr(&self, p: &EvbufferPtr) -> Result<(usize, usize)> {
        if p.stamp == self.stamp && p.pos <= self.total_len {
            let live = self.live();
            if p.chain < live.len() && p.off < live[p.chain].len()
                || p.chain == live.len() && p.off == 0
            {
                return Ok((p.chain, p.off));
            }
        }
        if p.pos > self.total_len {
            return Err(Error::InvalidArgument(
                "position beyond the end of the buffer",
            ));
        }
        Ok(self.advance_loc(0, 0, p.pos))
    }

    /// Sets `p` to offset `n` ([`PtrHow::Set`]) or moves it forward by `n`
    /// ([`PtrHow::Add`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the target lies beyond the end (libevent
    /// sets `pos` to -1 then); `p` is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{Evbuffer, EvbufferPtr, PtrHow};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"abc")?;
    /// let mut p = EvbufferPtr::default();
    /// buf.ptr_set(&mut p, 3, PtrHow::Set)?; // the end is a valid position
    /// assert!(buf.ptr_set(&mut p, 4, PtrHow::Set).is_err());
    /// assert_eq!(p.pos(), 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_ptr_set")]
    pub fn ptr_set(&self, p: &mut EvbufferPtr, n: usize, how: PtrHow) -> Result<()> {
        let beyond = Error::InvalidArgument("position beyond the end of the buffer");
        let (pos, (c, o)) = match how {
            PtrHow::Set => {
                if n > self.total_len {
                    return Err(beyond);
                }
                (n, self.advance_loc(0, 0, n))
            }
            PtrHow::Add => {
                let pos = p
                    .pos
                    .checked_add(n)
                    .filter(|&t| t <= self.total_len)
                    .ok_or(beyond)?;
                let (c, o) = self.locate_ptr(p)?;
                (pos, self.advance_loc(c, o, n))
            }
        };
        *p = self.make_ptr(pos, c, o);
        Ok(())
    }

    /// The start location of a search: `start` or the front.
    fn search_start(&self, start: Option<&EvbufferPtr>) -> Option<(usize, usize, usize)> {
        match start {
            None => Some((0, 0, 0)),
            Some(p) => self.locate_ptr(p).ok().map(|(c, o)| (p.pos, c, o)),
        }
    }

    /// Whether `what` occurs at location `(c, o)`, across chains.
    fn matches_at(&self, mut c: usize, mut o: usize, mut what: &[u8]) -> bool {
        let live = self.live();
        while !what.is_empty() {
            let Some(ch) = live.get(c) else {
                return false;
            };
            let d = &ch.data()[o..];
            let k = d.len().min(what.len());
            if d[..k] != what[..k] {
                return false;
            }
            what = &what[k..];
            c += 1;
            o = 0;
        }
        true
    }

    /// The first occurrence of `what` at or after `start` (the front with
    /// `None`), or `None`. An empty `what` matches at `start`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"hello ")?;
    /// let mut other = rvent::Evbuffer::new();
    /// other.add(b"world")?;
    /// buf.add_buffer(&mut other)?; // two chains: "hello " and "world"
    /// let p = buf.search(b"o w", None).unwrap(); // straddles them
    /// assert_eq!(p.pos(), 4);
    /// assert_eq!(buf.search(b"o", Some(&p)).unwrap().pos(), 4);
    /// assert!(buf.search(b"xyz", None).is_none());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_search")]
    pub fn search(&self, what: &[u8], start: Option<&EvbufferPtr>) -> Option<EvbufferPtr> {
        self.search_range(what, start, None)
    }

    /// As [`search`](Self::search), but the match must end at or before
    /// `end` (the end of the buffer with `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{Evbuffer, EvbufferPtr, PtrHow};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"abcabc")?;
    /// let mut end = EvbufferPtr::default();
    /// buf.ptr_set(&mut end, 5, PtrHow::Set)?;
    /// assert_eq!(buf.search_range(b"bc", None, Some(&end)).unwrap().pos(), 1);
    /// let start = buf.search(b"c", None).unwrap();
    /// assert!(buf.search_range(b"bc", Some(&start), Some(&end)).is_none());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_search_range")]
    pub fn search_range(
        &self,
        what: &[u8],
        start: Option<&EvbufferPtr>,
        end: Option<&EvbufferPtr>,
    ) -> Option<EvbufferPtr> {
        let (mut pos, mut c, mut o) = self.search_start(start)?;
        let end = end.map_or(self.total_len, |e| e.pos.min(self.total_len));
        let m = what.len();
        if pos.checked_add(m)? > end {
            return None;
        }
        if m == 0 {
            return Some(self.make_ptr(pos, c, o));
        }
        let finder = Searcher::new(what);
        let live = self.live();
        while c < live.len() {
            let data = &live[c].data()[o..];
            let lim = data.len().min(end - pos);
            if lim >= m
                && let Some(k) = finder.find(&data[..lim], what)
            {
                return Some(self.make_ptr(pos + k, c, o + k));
            }
            if lim < data.len() {
                return None; // the end lies in this chain
            }
            // Matches starting in the last m - 1 bytes straddle chains.
            let mut k = data.len().saturating_sub(m - 1);
            while let Some(j) = memchr::memchr(what[0], &data[k..]) {
                let at = k + j;
                if pos + at + m > end {
                    return None;
                }
                if self.matches_at(c, o + at, what) {
                    return Some(self.make_ptr(pos + at, c, o + at));
                }
                k = at + 1;
            }
            pos += data.len();
            c += 1;
            o = 0;
            if pos + m > end {
                return None;
            }
        }
        None
    }

    /// The first location from `(c, o)` (position `pos`) where `find`
    /// reports a hit in a chain's remaining data.
    #[inline]
    fn scan(
        &self,
        (mut pos, mut c, mut o): (usize, usize, usize),
        mut find: impl FnMut(&[u8]) -> Option<usize>,
    ) -> Option<(usize, usize, usize)> {
        let live = self.live();
        while c < live.len() {
            let data = &live[c].data()[o..];
            if let Some(k) = find(data) {
                return Some((pos + k, c, o + k));
            }
            pos += data.len();
            c += 1;
            o = 0;
        }
        None
    }

    /// The byte at a canonical location.
    #[inline]
    fn byte_at(&self, c: usize, o: usize) -> Option<u8> {
        self.live().get(c).and_then(|ch| ch.data().get(o)).copied()
    }

    /// The first end of line at or after `start` (the front with `None`)
    /// in the given style, with the length of the end-of-line marker.
    ///
    /// For [`EolStyle::Crlf`], a CR LF counts only when its CR lies at or
    /// after `start`: searching from the LF of a CR LF finds the LF alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{EolStyle, Evbuffer};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"line\r\nnext")?;
    /// let (p, n) = buf.search_eol(None, EolStyle::Crlf).unwrap();
    /// assert_eq!((p.pos(), n), (4, 2));
    /// let (p, n) = buf.search_eol(None, EolStyle::Lf).unwrap();
    /// assert_eq!((p.pos(), n), (5, 1));
    /// assert!(buf.search_eol(None, EolStyle::Nul).is_none());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_search_eol")]
    pub fn search_eol(
        &self,
        start: Option<&EvbufferPtr>,
        style: EolStyle,
    ) -> Option<(EvbufferPtr, usize)> {
        let from = self.search_start(start)?;
        match style {
            EolStyle::Lf => {
                let (p, c, o) = self.scan(from, |d| memchr::memchr(b'\n', d))?;
                Some((self.make_ptr(p, c, o), 1))
            }
            EolStyle::Nul => {
                let (p, c, o) = self.scan(from, |d| memchr::memchr(0, d))?;
                Some((self.make_ptr(p, c, o), 1))
            }
            EolStyle::CrlfStrict => {
                let s = self.make_ptr(from.0, from.1, from.2);
                Some((self.search(b"\r\n", Some(&s))?, 2))
            }
            EolStyle::Crlf => {
                let (p, c, o) = self.scan(from, |d| memchr::memchr(b'\n', d))?;
                if p > from.0 {
                    // The byte before: in this chain, or the previous
                    // chain's last (chains before a hit hold data).
                    let (pc, po) = if o > 0 {
                        (c, o - 1)
                    } else {
                        (c - 1, self.live()[c - 1].len() - 1)
                    };
                    if self.byte_at(pc, po) == Some(b'\r') {
                        return Some((self.make_ptr(p - 1, pc, po), 2));
                    }
                }
                Some((self.make_ptr(p, c, o), 1))
            }
            EolStyle::Any => {
                let (p, c, o) = self.scan(from, |d| memchr::memchr2(b'\r', b'\n', d))?;
                let mut run = 0;
                self.scan((p, c, o), |d| {
                    match d.iter().position(|&b| b != b'\r' && b != b'\n') {
                        Some(k) => {
                            run += k;
                            Some(k)
                        }
                        None => {
                            run += d.len();
                            None
                        }
                    }
                });
                Some((self.make_ptr(p, c, o), run))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer whose chains hold exactly `parts`.
    fn chained(parts: &[&[u8]]) -> Evbuffer {
        let mut b = Evbuffer::new();
        for p in parts {
            let mut c = Evbuffer::new();
            c.add(p).unwrap();
            b.add_buffer(&mut c).unwrap();
        }
        b
    }

    #[test]
    fn searcher_agrees_with_a_naive_scan() {
        // CRLF text with every delimiter shape, long enough for the SIMD pair.
        let mut hay = Vec::new();
        for i in 0..200u32 {
            hay.extend_from_slice(format!("line{i}\r\n").as_bytes());
            if i % 37 == 0 {
                hay.extend_from_slice(b"\r\n");
            }
        }
        for needle in [
            &b"\r\n\r\n"[..],
            b"\r\n",
            b"e1",
            b"line199\r\n",
            b"\n\r\n",
            b"nope",
            b"ll",
        ] {
            let naive = hay.windows(needle.len()).position(|w| w == needle);
            for start in [0, 1, 7, 100, 1000] {
                let got = Searcher::new(needle)
                    .find(&hay[start..], needle)
                    .map(|k| k + start);
                let want = hay[start..]
                    .windows(needle.len())
                    .position(|w| w == needle)
                    .map(|k| k + start);
                assert_eq!(got, want, "{needle:?} from {start}");
            }
            assert_eq!(Searcher::new(needle).find(&hay, needle), naive);
        }
    }

    #[test]
    fn straddling_matches_are_found() {
        let b = chained(&[b"aaab", b"c", b"dab", b"cd"]);
        assert_eq!(b.search(b"bcd", None).unwrap().pos(), 3);
        let p = b.search(b"bcd", None).unwrap();
        let mut q = p;
        b.ptr_set(&mut q, 1, PtrHow::Add).unwrap();
        assert_eq!(b.search(b"bcd", Some(&q)).unwrap().pos(), 7);
        assert_eq!(b.search(b"abcdabcd", None).unwrap().pos(), 2);
        assert!(b.search(b"abcdabcde", None).is_none());
    }

    #[test]
    fn eol_any_counts_runs_across_chains() {
        let b = chained(&[b"ab\r", b"\n\r", b"x"]);
        let (p, n) = b.search_eol(None, EolStyle::Any).unwrap();
        assert_eq!((p.pos(), n), (2, 3));
    }

    #[test]
    fn crlf_across_chains() {
        let b = chained(&[b"ab\r", b"\nx"]);
        let (p, n) = b.search_eol(None, EolStyle::Crlf).unwrap();
        assert_eq!((p.pos(), n), (2, 2));
        let (p, n) = b.search_eol(None, EolStyle::CrlfStrict).unwrap();
        assert_eq!((p.pos(), n), (2, 2));
        let mut lf = EvbufferPtr::default();
        b.ptr_set(&mut lf, 3, PtrHow::Set).unwrap();
        let (p, n) = b.search_eol(Some(&lf), EolStyle::Crlf).unwrap();
        assert_eq!((p.pos(), n), (3, 1));
    }

    #[test]
    fn stale_and_foreign_pointers_relocate() {
        let mut b = chained(&[b"abc", b"def"]);
        let p = b.search(b"e", None).unwrap();
        b.drain(1).unwrap();
        // Stale: located again by position (4 is now 'f').
        assert_eq!(b.search(b"f", Some(&p)).unwrap().pos(), 4);
        let other = chained(&[b"x"]);
        assert!(other.search(b"x", Some(&p)).is_none());
    }

    /// Stamps collide only after 2^32 changes of one buffer or 2^32 new
    /// buffers; then a kept position is taken as current, and still only
    /// ever names bytes of the buffer it is used on.
    #[test]
    fn a_colliding_stamp_never_leaves_the_buffer() {
        let a = chained(&[b"abcd", b"efgh", b"ijkl"]);
        let p = a.search(b"k", None).unwrap(); // chain 2, offset 2
        let mut b = chained(&[b"xyz", b"0123456789"]);
        b.stamp = a.stamp; // as if b had gone through 2^32 changes
        // The cached chain 2 does not exist in b: located again from pos.
        assert_eq!(b.search(b"8", Some(&p)).unwrap().pos(), 11);
        let mut q = p;
        assert!(b.ptr_set(&mut q, 2, PtrHow::Add).is_ok());
        assert_eq!(q.pos(), 12);
        // A cached location that fits b's chains is taken as is: the
        // answer may be a wrong offset, but always one inside b.
        let c = chained(&[b"abcdefg", b"hi"]);
        let r = c.search(b"h", None).unwrap(); // chain 1, offset 0, pos 7
        b.stamp = c.stamp;
        for needle in [&b"0"[..], b"4", b"9", b"z"] {
            let got = b.search(needle, Some(&r)).map(|p| p.pos());
            assert!(got.is_none_or(|pos| pos < b.len()), "{needle:?}: {got:?}");
        }
        // Different buffers start 2^32 apart; a change moves the stamp.
        let d = Evbuffer::new();
        assert_ne!(d.stamp >> 32, Evbuffer::new().stamp >> 32);
        let before = b.stamp;
        b.add(b"!").unwrap();
        assert_ne!(b.stamp, before);
    }
}
