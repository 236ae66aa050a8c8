//! The request-target work a server needs to route a request: the path
//! of a target (origin or absolute form) without its query, and the
//! authority of an absolute-form one.

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
}
