//! Reading lines (`evbuffer_readln`): find the end of line with
//! [`Evbuffer::search_eol`], copy the line out, drain line and end-of-line
//! marker. An incomplete line leaves the buffer untouched.

use super::eol::EolStyle;
use super::evbuffer::Evbuffer;
use crate::error::{Error, Result};
use crate::mem::RventAlloc;

/// A line taken out of an [`Evbuffer`] by [`readln`](Evbuffer::readln): a
/// vector allocated through rvent's memory functions (see
/// [`RventAlloc`]), so it is counted and freed by the same hooks as every
/// other block rvent owns. It derefs to `[u8]`.
pub type Line = allocator_api2::vec::Vec<u8, RventAlloc>;

/// The error for a line longer than the caller's limit.
const TOO_LONG: Error = Error::InvalidArgument("line longer than the limit");

impl Evbuffer {
    /// The next line's length and end-of-line length; with a limit, a line
    /// known to be longer is an error.
    fn find_line(&self, style: EolStyle, max: Option<usize>) -> Result<Option<(usize, usize)>> {
        match self.search_eol(None, style) {
            Some((p, eol)) => match max {
                Some(m) if p.pos() > m => Err(TOO_LONG),
                _ => Ok(Some((p.pos(), eol))),
            },
            None => match max {
                Some(m) if self.total_len > m.saturating_add(style.pending()) => Err(TOO_LONG),
                _ => Ok(None),
            },
        }
    }

    /// Copies the first `n` bytes into a new [`Line`]; `None` if it cannot
    /// be allocated.
    fn copy_front(&self, n: usize) -> Option<Line> {
        let mut v = Line::new_in(RventAlloc);
        v.try_reserve_exact(n).ok()?;
        // allocator_api2's `extend_from_slice` copies element by element
        // (no specialisation on stable); zero-fill (a memset) and copy the
        // chains in with memcpy instead.
        v.resize(n, 0);
        self.copyout(&mut v);
        Some(v)
    }

    /// Removes the next line and its end-of-line marker from the front and
    /// returns the line without the marker (lines may contain NUL bytes).
    ///
    /// Returns `None`, leaving the buffer untouched, when no complete line
    /// is present, the line cannot be allocated or the front is frozen —
    /// libevent's NULL. There is no length limit: see
    /// [`readln_bounded`](Self::readln_bounded) for untrusted input.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{EolStyle, Evbuffer};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"a\r\n\r\nb\nc")?;
    /// assert_eq!(buf.readln(EolStyle::Any).as_deref(), Some(&b"a"[..]));
    /// assert_eq!(buf.readln(EolStyle::Lf).as_deref(), Some(&b"b"[..]));
    /// assert_eq!(buf.readln(EolStyle::Lf), None); // "c" is incomplete
    /// assert_eq!(buf.len(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_readln")]
    pub fn readln(&mut self, style: EolStyle) -> Option<Line> {
        if self.is_frozen(true) {
            return None;
        }
        let (n, eol) = self.find_line(style, None).ok()??;
        let line = self.copy_front(n)?;
        self.drain(n + eol).ok()?;
        Some(line)
    }

    /// As [`readln`](Self::readln), refusing lines longer than `max` bytes
    /// (not counting the end-of-line marker).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the next line is longer than `max`,
    /// or no end of line was found within the first `max` bytes (plus a
    /// CR that may start a CR LF); [`Error::Alloc`] if the line cannot be
    /// allocated; [`Error::BadState`] if the front is frozen. The buffer is
    /// unchanged on error; `Ok(None)` means the line is not complete yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{EolStyle, Evbuffer};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"short\nmuch too long\n")?;
    /// assert_eq!(buf.readln_bounded(EolStyle::Lf, 8)?.as_deref(), Some(&b"short"[..]));
    /// assert!(buf.readln_bounded(EolStyle::Lf, 8).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn readln_bounded(&mut self, style: EolStyle, max: usize) -> Result<Option<Line>> {
        if self.is_frozen(true) {
            return Err(Error::BadState("buffer front is frozen"));
        }
        let Some((n, eol)) = self.find_line(style, Some(max))? else {
            return Ok(None);
        };
        let line = self.copy_front(n).ok_or(Error::Alloc)?;
        self.drain(n + eol)?;
        Ok(Some(line))
    }

    /// As [`readln`](Self::readln), copying the line into `out` instead of
    /// allocating; returns the line's length.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the line does not fit in `out` (as
    /// [`readln_bounded`](Self::readln_bounded) with `out.len()`), the
    /// buffer then unchanged; [`Error::BadState`] if the front is frozen.
    /// `Ok(None)` means the line is not complete.
    ///
    /// # Examples
    ///
    /// ```
    /// use rvent::{EolStyle, Evbuffer};
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"key: value\r\n")?;
    /// let mut line = [0u8; 64];
    /// let n = buf.readln_into(EolStyle::CrlfStrict, &mut line)?.unwrap();
    /// assert_eq!(&line[..n], b"key: value");
    /// assert!(buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn readln_into(&mut self, style: EolStyle, out: &mut [u8]) -> Result<Option<usize>> {
        if self.is_frozen(true) {
            return Err(Error::BadState("buffer front is frozen"));
        }
        let Some((n, eol)) = self.find_line(style, Some(out.len()))? else {
            return Ok(None);
        };
        self.copyout(&mut out[..n]);
        self.drain(n + eol)?;
        Ok(Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_lines_leave_the_buffer() {
        let mut b = Evbuffer::new();
        b.add(b"abc\r").unwrap();
        assert_eq!(b.readln(EolStyle::Crlf), None);
        assert_eq!(b.readln(EolStyle::CrlfStrict), None);
        assert_eq!(b.len(), 4);
        assert_eq!(b.readln(EolStyle::Any).as_deref(), Some(&b"abc"[..]));
        assert!(b.is_empty());
    }

    #[test]
    fn bounded_waits_for_a_possible_crlf() {
        let mut b = Evbuffer::new();
        b.add(b"abcd\r").unwrap();
        assert!(b.readln_bounded(EolStyle::Crlf, 4).unwrap().is_none());
        b.add(b"\n").unwrap();
        assert_eq!(
            b.readln_bounded(EolStyle::Crlf, 4).unwrap().as_deref(),
            Some(&b"abcd"[..])
        );
        b.add(b"abcde").unwrap();
        assert!(b.readln_bounded(EolStyle::Lf, 4).is_err());
        assert_eq!(b.len(), 5);
    }
}
