//! Virtual hosts (`evhttp_add_virtual_host`, `evhttp_add_server_alias`):
//! which server's routes answer a request, by the host it asks for.
//!
//! As in libevent, a server first checks its own aliases and those of
//! its virtual hosts, recursively (a name equal to an alias, ignoring
//! ASCII case, picks that server); then its virtual hosts' patterns in
//! the order added, each a case-insensitive shell glob (`*` any run of
//! bytes, `?` one byte) matched against the host without its port, the
//! first match answering — and that server's own virtual hosts are tried
//! in turn. A host nothing matches is the connection's server's.

use crate::base::EventBase;

use super::handle::Http;
use super::table::{HttpHost, server_rec};

/// Whether `name` matches glob `pattern`, ignoring ASCII case.
pub(super) fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matching with one backtrack point (the last `*`).
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// The host of an authority (`host[:port]`, `[v6]:port`): without its
/// port, an IPv6 literal keeping its brackets.
pub(super) fn host_name(authority: &[u8]) -> &[u8] {
    if authority.starts_with(b"[") {
        return match authority.iter().position(|&b| b == b']') {
            Some(i) => &authority[..=i],
            None => authority,
        };
    }
    match authority.iter().rposition(|&b| b == b':') {
        Some(i) => &authority[..i],
        None => authority,
    }
}

/// The server among `server` and its virtual hosts that `host` names
/// (`evhttp_find_vhost`).
pub(super) fn find<X: HttpHost>(base: &EventBase<X>, server: Http, host: &[u8]) -> Http {
    if let Some(h) = find_alias(base, server, host, 0) {
        return h;
    }
    let mut current = server;
    // Bounded: virtual hosts form a tree, never a cycle (add refuses
    // one), but a depth cap keeps a mistake from looping.
    for _ in 0..MAX_DEPTH {
        let Ok(rec) = server_rec(base, current) else {
            return current;
        };
        match rec.vhosts.iter().find(|v| glob_match(&v.pattern, host)) {
            Some(v) => current = v.http,
            None => return current,
        }
    }
    current
}

/// How deep virtual hosts nest.
pub(super) const MAX_DEPTH: usize = 16;

/// The server among `server` and its virtual hosts, depth first, with
/// `host` as an alias.
fn find_alias<X: HttpHost>(
    base: &EventBase<X>,
    server: Http,
    host: &[u8],
    depth: usize,
) -> Option<Http> {
    let rec = server_rec(base, server).ok()?;
    if rec.aliases.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        return Some(server);
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    rec.vhosts
        .iter()
        .find_map(|v| find_alias(base, v.http, host, depth + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, n) in [
            (&b"*"[..], &b"anything"[..]),
            (b"*.example.com", b"WWW.Example.COM"),
            (b"foo.?om", b"foo.com"),
            (b"a*b*c", b"aXXbYYc"),
            (b"exact", b"EXACT"),
            (b"**", b""),
        ] {
            assert!(glob_match(p, n), "{p:?} {n:?}");
        }
        for (p, n) in [
            (&b"*.example.com"[..], &b"example.com"[..]),
            (b"foo.?om", b"foo.coom"),
            (b"a*b*c", b"aXXbYY"),
            (b"exact", b"exactly"),
            (b"", b"x"),
        ] {
            assert!(!glob_match(p, n), "{p:?} {n:?}");
        }
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name(b"example.com:8080"), b"example.com");
        assert_eq!(host_name(b"example.com"), b"example.com");
        assert_eq!(host_name(b"[::1]:80"), b"[::1]");
        assert_eq!(host_name(b"[::1]"), b"[::1]");
    }
}
