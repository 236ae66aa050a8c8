//! The URI work a server needs to route a request: the path of a request
//! target (origin or absolute form) without its query, percent-decoded.

use crate::error::Result;
use crate::mem::{self, MemVec};

/// The path of request target `target`: for the absolute form
/// (`http://host/p?q`) what follows the authority, and without the query
/// either way. An authority with no path gives `/`; the asterisk form
/// stays `*`.
pub(crate) fn target_path(target: &[u8]) -> &[u8] {
    let mut path = target;
    if !target.starts_with(b"/")
        && let Some(i) = target.windows(3).position(|w| w == b"://")
    {
        let after = &target[i + 3..];
        path = match after.iter().position(|&b| b == b'/' || b == b'?') {
            Some(j) if after[j] == b'/' => &after[j..],
            _ => b"/",
        };
    }
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    &path[..end]
}

/// The authority of an absolute-form target, if it is one.
pub(crate) fn target_authority(target: &[u8]) -> Option<&[u8]> {
    if target.starts_with(b"/") {
        return None;
    }
    let i = target.windows(3).position(|w| w == b"://")?;
    let after = &target[i + 3..];
    let end = after
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after.len());
    Some(&after[..end])
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Appends `s` percent-decoded to `out` (`evhttp_uridecode` without
/// `+` decoding): a `%` not followed by two hex digits stays as it is.
#[doc(alias = "evhttp_uridecode")]
pub(crate) fn percent_decode_into(s: &[u8], out: &mut MemVec<u8>) -> Result<()> {
    mem::reserve(out, s.len())?;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_targets() {
        assert_eq!(target_path(b"/a/b?c=d"), b"/a/b");
        assert_eq!(target_path(b"/"), b"/");
        assert_eq!(target_path(b"/x#f"), b"/x");
        assert_eq!(target_path(b"http://h:80/p/q?x"), b"/p/q");
        assert_eq!(target_path(b"http://h"), b"/");
        assert_eq!(target_path(b"http://h?x"), b"/");
        assert_eq!(target_path(b"*"), b"*");
        assert_eq!(target_authority(b"http://h:80/p"), Some(&b"h:80"[..]));
        assert_eq!(target_authority(b"/p"), None);
    }

    #[test]
    fn percent_decoding() {
        let mut out = mem::vec();
        percent_decode_into(b"/a%20b%2fc%zz%4", &mut out).unwrap();
        assert_eq!(&out[..], b"/a b/c%zz%4");
        out.clear();
        percent_decode_into(b"%00%41", &mut out).unwrap();
        assert_eq!(&out[..], b"\0A");
    }
}
