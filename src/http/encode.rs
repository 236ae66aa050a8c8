//! Percent-encoding, percent-decoding and HTML escaping
//! (`evhttp_uriencode`, `evhttp_uridecode`, `evhttp_htmlescape`).
//!
//! libevent returns a `malloc`ed string; these return [`HttpBytes`], a
//! vector in a block from the memory functions, and fail with
//! [`Error::Alloc`] when the block cannot be had. Decoding yields bytes,
//! not text: `%00` and bytes that are no UTF-8 decode as they are.

use crate::error::{Error, Result};
use crate::mem::{self, MemVec, RventAlloc};

/// Bytes in a block from the memory functions: what the URI helpers
/// return.
pub type HttpBytes = allocator_api2::vec::Vec<u8, RventAlloc>;

/// Whether `b` is an RFC 3986 unreserved character.
#[inline]
pub(super) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The value of hex digit `b`.
#[inline]
pub(super) fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `s` with every byte but the unreserved ones percent-encoded
/// (`evhttp_uriencode`); with `space_as_plus`, a space becomes `+`.
///
/// # Errors
/// [`Error::Alloc`].
///
/// # Examples
/// ```
/// let e = rvent::http::uri_encode(b"a b/c~", false)?;
/// assert_eq!(&e[..], b"a%20b%2Fc~");
/// assert_eq!(&rvent::http::uri_encode(b"a b", true)?[..], b"a+b");
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_uriencode")]
#[doc(alias = "evhttp_encode_uri")]
pub fn uri_encode(s: &[u8], space_as_plus: bool) -> Result<HttpBytes> {
    let extra = s.iter().filter(|&&b| !is_unreserved(b)).count() * 2;
    let mut out = mem::vec();
    mem::reserve(&mut out, s.len() + extra)?;
    for &b in s {
        if is_unreserved(b) {
            out.push(b);
        } else if b == b' ' && space_as_plus {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
    Ok(out)
}

/// `s` percent-decoded (`evhttp_uridecode`): `%` and two hex digits (any
/// case) give their byte, `%00` included; a `%` without them stays as
/// it is; with `plus_as_space`, `+` gives a space.
///
/// # Errors
/// [`Error::Alloc`].
///
/// # Examples
/// ```
/// let d = rvent::http::uri_decode(b"a%20b%2fc+%zz%00", true)?;
/// assert_eq!(&d[..], b"a b/c %zz\0");
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_uridecode")]
#[doc(alias = "evhttp_decode_uri")]
pub fn uri_decode(s: &[u8], plus_as_space: bool) -> Result<HttpBytes> {
    let mut out = mem::vec();
    decode_into(s, plus_as_space, &mut out)?;
    Ok(out)
}

/// Appends `s` percent-decoded to `out`, as [`uri_decode`].
pub(super) fn decode_into(s: &[u8], plus_as_space: bool, out: &mut MemVec<u8>) -> Result<()> {
    mem::reserve(out, s.len())?;
    if !(s.contains(&b'%') || plus_as_space && s.contains(&b'+')) {
        // Nothing to decode (most paths): one copy.
        out.extend_from_slice(s);
        return Ok(());
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex_value),
                s.get(i + 2).copied().and_then(hex_value),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(if b == b'+' && plus_as_space { b' ' } else { b });
        i += 1;
    }
    Ok(())
}

/// `s` with `<`, `>`, `"`, `'` and `&` replaced by their HTML entities
/// (`evhttp_htmlescape`), for putting text into a page.
///
/// # Errors
/// [`Error::Alloc`].
///
/// # Examples
/// ```
/// let e = rvent::http::html_escape(b"<a href=\"x\">&'")?;
/// assert_eq!(&e[..], &b"&lt;a href=&quot;x&quot;&gt;&amp;&#039;"[..]);
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_htmlescape")]
pub fn html_escape(s: &[u8]) -> Result<HttpBytes> {
    let entity = |b: u8| -> Option<&'static [u8]> {
        Some(match b {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#039;",
            b'&' => b"&amp;",
            _ => return None,
        })
    };
    let len = s
        .iter()
        .try_fold(0usize, |n, &b| {
            n.checked_add(entity(b).map_or(1, <[u8]>::len))
        })
        .ok_or(Error::Alloc)?;
    let mut out = mem::vec();
    mem::reserve(&mut out, len)?;
    for &b in s {
        match entity(b) {
            Some(e) => out.extend_from_slice(e),
            None => out.push(b),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libevent_uriencode_cases() {
        // regress_http.c `uriencode`: unreserved kept, the rest encoded.
        let e = uri_encode(b"Hello World!", false).unwrap();
        assert_eq!(&e[..], b"Hello%20World%21");
        let e = uri_encode(b"\"\\<>^`{|}", false).unwrap();
        assert_eq!(&e[..], b"%22%5C%3C%3E%5E%60%7B%7C%7D");
        let e = uri_encode(b"abcXYZ019-._~", true).unwrap();
        assert_eq!(&e[..], b"abcXYZ019-._~");
        let e = uri_encode(b"a\0b", false).unwrap();
        assert_eq!(&e[..], b"a%00b");
        let d = uri_decode(b"Hello%20World%21%ab%AB", false).unwrap();
        assert_eq!(&d[..], b"Hello World!\xab\xab");
        assert_eq!(
            &uri_decode(b"/plain/path", false).unwrap()[..],
            b"/plain/path"
        );
        assert_eq!(&uri_decode(b"/a+b", true).unwrap()[..], b"/a b");
        let d = uri_decode(b"a+b%", false).unwrap();
        assert_eq!(&d[..], b"a+b%");
        let d = uri_decode(b"%%41%4", false).unwrap();
        assert_eq!(&d[..], b"%A%4");
        for s in [&b""[..], b"x", b"%00 \xff~+/"] {
            let e = uri_encode(s, true).unwrap();
            assert_eq!(&uri_decode(&e, true).unwrap()[..], s);
        }
    }

    #[test]
    fn html_escapes() {
        assert_eq!(&html_escape(b"").unwrap()[..], b"");
        assert_eq!(&html_escape(b"plain").unwrap()[..], b"plain");
        assert_eq!(
            &html_escape(b"<script>'&'</script>").unwrap()[..],
            b"&lt;script&gt;&#039;&amp;&#039;&lt;/script&gt;"
        );
    }
}
