//! [`Headers`]: an ordered, case-insensitive multimap of header fields
//! (libevent's `struct evkeyvalq` with `evhttp_find_header`,
//! `evhttp_add_header`, `evhttp_remove_header`, `evhttp_clear_headers`).
//!
//! libevent keeps a `TAILQ` of `malloc`ed key / value strings: two
//! allocations per field and a third for the node. Here every name and
//! value is a range into one byte store, and the fields are an array of
//! those ranges, both from the memory functions. [`Headers::clear`] keeps
//! both blocks, so a connection that reuses its header maps allocates
//! nothing once they have grown to its largest request.
//! [`Headers::remove`] drops the field but leaves its bytes in the store
//! until the next `clear` (a reply's headers are short-lived).
//!
//! Names and values are bytes: HTTP values may hold obs-text (bytes ≥
//! 0x80) that is no UTF-8; [`Headers::find_str`] is the text view.

use std::fmt;

use crate::error::{Error, Result};
use crate::mem::{self, MemVec};

/// Where a name or a value lies in the byte store.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: u32,
    len: u32,
}

/// One field: its name's and its value's spans.
#[derive(Clone, Copy, Debug)]
struct Field {
    name: Span,
    value: Span,
}

/// An ordered multimap of header fields, names compared without regard
/// to ASCII case (libevent's `struct evkeyvalq`).
///
/// # Examples
/// ```
/// use rvent::Headers;
///
/// let mut h = Headers::new();
/// h.add("Content-Type", "text/plain")?;
/// h.add("Set-Cookie", "a=1")?;
/// h.add("set-cookie", "b=2")?;
/// assert_eq!(h.find("content-type"), Some(&b"text/plain"[..]));
/// assert_eq!(h.find_all("SET-COOKIE").count(), 2);
/// assert!(h.add("Bad\r\nName", "x").is_err());
/// assert!(h.remove("Set-Cookie"));
/// assert_eq!(h.find("set-cookie"), Some(&b"b=2"[..]));
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evkeyvalq")]
pub struct Headers {
    bytes: MemVec<u8>,
    fields: MemVec<Field>,
}

impl Default for Headers {
    fn default() -> Self {
        Headers::new()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (Escaped(n), Escaped(v))))
            .finish()
    }
}

/// Bytes shown as an escaped ASCII string.
struct Escaped<'a>(&'a [u8]);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

/// Whether `b` may appear in a field name: an RFC 9110 `tchar`.
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

impl Headers {
    /// An empty map; allocates nothing.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let h = Headers::new();
    /// assert!(h.is_empty());
    /// ```
    pub fn new() -> Headers {
        Headers {
            bytes: mem::vec(),
            fields: mem::vec(),
        }
    }

    /// Fields stored.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("Accept", "text/html")?;
    /// h.add("Accept", "text/plain")?; // a name may repeat
    /// assert_eq!(h.len(), 2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field is stored.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// assert!(h.is_empty());
    /// h.add("Host", "example.com")?;
    /// assert!(!h.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    #[inline]
    fn slice(&self, s: Span) -> &[u8] {
        &self.bytes[s.start as usize..(s.start + s.len) as usize]
    }

    /// The first value of field `name` (`evhttp_find_header`).
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("Content-Type", "text/html")?;
    /// assert_eq!(h.find("content-type"), Some(&b"text/html"[..])); // names ignore case
    /// assert_eq!(h.find("Content-Length"), None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_find_header")]
    pub fn find(&self, name: impl AsRef<[u8]>) -> Option<&[u8]> {
        let name = name.as_ref();
        let f = self
            .fields
            .iter()
            .find(|f| self.slice(f.name).eq_ignore_ascii_case(name))?;
        Some(self.slice(f.value))
    }

    /// The first value of field `name` as text; `None` also when it is no
    /// UTF-8.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("X-Bytes", b"\xff")?;
    /// h.add("X-Text", "ok")?;
    /// assert_eq!(h.find_str("x-text"), Some("ok"));
    /// assert_eq!(h.find_str("x-bytes"), None); // no UTF-8
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn find_str(&self, name: impl AsRef<[u8]>) -> Option<&str> {
        std::str::from_utf8(self.find(name)?).ok()
    }

    /// Every value of field `name`, in order.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("Via", "a")?;
    /// h.add("Host", "x")?;
    /// h.add("via", "b")?;
    /// assert_eq!(h.find_all("VIA").collect::<Vec<_>>(), [&b"a"[..], b"b"]);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn find_all<'a, N: AsRef<[u8]> + ?Sized>(
        &'a self,
        name: &'a N,
    ) -> impl Iterator<Item = &'a [u8]> {
        self.fields
            .iter()
            .filter(move |f| self.slice(f.name).eq_ignore_ascii_case(name.as_ref()))
            .map(|f| self.slice(f.value))
    }

    /// Every field as `(name, value)`, in the order added.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("A", "1")?;
    /// h.add("B", "2")?;
    /// let names: Vec<&[u8]> = h.iter().map(|(name, _)| name).collect();
    /// assert_eq!(names, [&b"A"[..], b"B"]);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|f| (self.slice(f.name), self.slice(f.value)))
    }

    /// Appends a field (`evhttp_add_header`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the name is empty or not an RFC 9110
    /// token (so no CR, LF, NUL, colon or white space), or the value holds
    /// CR, LF or NUL (libevent accepts NUL and folded values; both are
    /// ways to smuggle a field past a proxy). [`Error::Alloc`] when the
    /// store cannot grow; the map is then unchanged.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("Cache-Control", "no-cache")?;
    /// assert!(h.add("Bad Name", "x").is_err()); // not a token
    /// assert!(h.add("X-Evil", "a\r\nInjected: 1").is_err()); // no CR / LF in values
    /// assert_eq!(h.len(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_add_header")]
    pub fn add(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.is_empty() || !name.iter().copied().all(is_tchar) {
            return Err(Error::InvalidArgument("header name is not a token"));
        }
        if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(Error::InvalidArgument("header value holds CR, LF or NUL"));
        }
        self.push(name, value)
    }

    /// Appends a field that was already checked (by the request parser).
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        let total = self.bytes.len() + name.len() + value.len();
        if total > u32::MAX as usize {
            return Err(Error::Alloc);
        }
        mem::reserve(&mut self.bytes, name.len() + value.len())?;
        mem::reserve(&mut self.fields, 1)?;
        let start = self.bytes.len() as u32;
        // Room is reserved: neither extend can fail.
        mem::extend(&mut self.bytes, name)?;
        mem::extend(&mut self.bytes, value)?;
        let name_span = Span {
            start,
            len: name.len() as u32,
        };
        let value_span = Span {
            start: start + name.len() as u32,
            len: value.len() as u32,
        };
        self.fields.push(Field {
            name: name_span,
            value: value_span,
        });
        Ok(())
    }

    /// Room for `fields` more fields holding `bytes` more bytes, so that
    /// as many [`push`](Self::push)es that fit cannot fail.
    pub(crate) fn reserve(&mut self, fields: usize, bytes: usize) -> Result<()> {
        if self.bytes.len().saturating_add(bytes) > u32::MAX as usize {
            return Err(Error::Alloc);
        }
        mem::reserve(&mut self.bytes, bytes)?;
        mem::reserve(&mut self.fields, fields)
    }

    /// Removes the first field named `name` (`evhttp_remove_header`);
    /// `false` if there was none.
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("Cookie", "a=1")?;
    /// h.add("Cookie", "b=2")?;
    /// assert!(h.remove("cookie")); // the first one
    /// assert_eq!(h.find_str("Cookie"), Some("b=2"));
    /// assert!(h.remove("Cookie") && !h.remove("Cookie"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_remove_header")]
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> bool {
        let name = name.as_ref();
        let Some(i) = self
            .fields
            .iter()
            .position(|f| self.slice(f.name).eq_ignore_ascii_case(name))
        else {
            return false;
        };
        self.fields.remove(i);
        true
    }

    /// Removes every field and keeps the storage (`evhttp_clear_headers`).
    ///
    /// # Examples
    /// ```
    /// use rvent::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.add("A", "1")?;
    /// h.clear();
    /// assert!(h.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_clear_headers")]
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_is_case_insensitive_and_ordered() {
        let mut h = Headers::new();
        h.add("Host", "a").unwrap();
        h.add("X-One", "1").unwrap();
        h.add("x-one", "2").unwrap();
        assert_eq!(h.find("HOST"), Some(&b"a"[..]));
        assert_eq!(h.find_str("x-ONE"), Some("1"));
        let all: Vec<&[u8]> = h.find_all("X-One").collect();
        assert_eq!(all, [&b"1"[..], &b"2"[..]]);
        let names: Vec<&[u8]> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"Host"[..], b"X-One", b"x-one"]);
        assert_eq!(h.find("nope"), None);
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn add_refuses_bad_names_and_values() {
        let mut h = Headers::new();
        for name in ["", "a b", "a:b", "a\rb", "a\nb", "a\0b", "é"] {
            assert!(h.add(name, "v").is_err(), "{name:?}");
        }
        for value in ["a\r", "a\n", "\r\n b", "a\0b"] {
            assert!(h.add("N", value).is_err(), "{value:?}");
        }
        assert!(h.is_empty());
        h.add("N", "").unwrap();
        h.add("N", "tab\tand \u{e9}").unwrap();
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn remove_takes_the_first_and_clear_keeps_storage() {
        let mut h = Headers::new();
        h.add("A", "1").unwrap();
        h.add("B", "2").unwrap();
        h.add("a", "3").unwrap();
        assert!(h.remove("A"));
        assert_eq!(h.find("a"), Some(&b"3"[..]));
        assert!(h.remove("a"));
        assert!(!h.remove("a"));
        assert_eq!(h.len(), 1);
        let cap = h.bytes.capacity();
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.bytes.capacity(), cap);
        assert_eq!(h.find("B"), None);
    }
}
