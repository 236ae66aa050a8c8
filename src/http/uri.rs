//! [`Uri`]: an RFC 3986 URI reference taken apart (`struct evhttp_uri`,
//! `evhttp_uri_parse_with_flags`, the getters and setters,
//! `evhttp_uri_join`).
//!
//! Parsing follows libevent's: the parts are split, not decoded; a part
//! that is absent is `None` (the port too), the path is always there
//! (maybe empty). A conformant parse refuses what RFC 3986 does not
//! allow in each part — bytes outside its character set, a `%` not
//! followed by two hex digits, a port that is not digits or passes
//! 65535, a malformed IPv6 literal, a first path segment with `:` when
//! there is no scheme (it would read as one). [`UriFlags::NONCONFORMANT`] lets path, query
//! and fragment hold any byte but `#` where it would end them (spaces,
//! controls, stray `%`), as request targets from the wild do.
//! [`UriFlags::HOST_STRIP_BRACKETS`] gives an IPv6 literal's host
//! without its brackets (ready for an address parser) while
//! [`Uri::join`] still writes them; [`UriFlags::UNIX_SOCKET`] reads an
//! authority `unix:PATH:` as a Unix-domain socket path
//! (`http://unix:/run/control.sock:/controller`), which is how a client
//! names a server on a socket file.
//!
//! Each part is its own block from the memory functions; a setter
//! checks its value as the parser would and leaves the URI unchanged
//! when it refuses it or cannot allocate.

use std::fmt;

use crate::error::{Error, Result};
use crate::flags::flag_set;
use crate::mem::{self, MemVec};

use super::encode::{HttpBytes, hex_value, is_unreserved};

flag_set! {
    /// How [`Uri::parse_with_flags`] reads a URI (`EVHTTP_URI_*`).
    #[doc(alias = "EVHTTP_URI_NONCONFORMANT")]
    pub struct UriFlags: u32 {
        /// Path, query and fragment may hold any byte (spaces, controls,
        /// a `%` without hex digits) (`EVHTTP_URI_NONCONFORMANT`).
        const NONCONFORMANT = 1 << 0;
        /// [`Uri::host`] gives an IP literal without its brackets
        /// (`::1`, not `[::1]`); [`Uri::join`] writes them. Decided when
        /// the host is parsed or set (`EVHTTP_URI_HOST_STRIP_BRACKETS`).
        #[doc(alias = "EVHTTP_URI_HOST_STRIP_BRACKETS")]
        const HOST_STRIP_BRACKETS = 1 << 2;
        /// An authority `unix:PATH:` names a Unix-domain socket: `PATH`
        /// runs to the next `:` and the URI has no host or port
        /// (`EVHTTP_URI_UNIX_SOCKET`).
        #[doc(alias = "EVHTTP_URI_UNIX_SOCKET")]
        const UNIX_SOCKET = 1 << 3;
    }
}

/// A URI reference split into its parts (`struct evhttp_uri`).
///
/// # Examples
/// ```
/// use rvent::http::Uri;
///
/// let mut u = Uri::parse("http://user@www.example.com:8080/a/b?q=1#top")?;
/// assert_eq!(u.scheme(), Some("http"));
/// assert_eq!(u.userinfo(), Some("user"));
/// assert_eq!(u.host(), Some("www.example.com"));
/// assert_eq!(u.port(), Some(8080));
/// assert_eq!(u.path(), "/a/b");
/// assert_eq!(u.query(), Some("q=1"));
/// assert_eq!(u.fragment(), Some("top"));
/// u.set_port(None)?;
/// u.set_query(Some("x=y"))?;
/// assert_eq!(&u.join()?[..], b"http://user@www.example.com/a/b?x=y#top");
/// assert!(Uri::parse("http://host:99999/").is_err());
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "evhttp_uri")]
pub struct Uri {
    flags: UriFlags,
    scheme: Option<MemVec<u8>>,
    userinfo: Option<MemVec<u8>>,
    /// With its brackets when an IP literal.
    host: Option<MemVec<u8>>,
    /// The host is an IP literal given without its brackets
    /// (`_EVHTTP_URI_HOST_HAS_BRACKETS`).
    host_unbracketed: bool,
    /// A Unix-domain socket path, in place of host and port.
    unix_socket: Option<MemVec<u8>>,
    port: Option<u16>,
    path: MemVec<u8>,
    query: Option<MemVec<u8>>,
    fragment: Option<MemVec<u8>>,
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uri")
            .field("scheme", &self.scheme())
            .field("userinfo", &self.userinfo())
            .field("host", &self.host())
            .field("unix_socket", &self.unix_socket())
            .field("port", &self.port)
            .field("path", &self.path())
            .field("query", &self.query())
            .field("fragment", &self.fragment())
            .finish()
    }
}

/// Which character set a part is checked against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Userinfo,
    RegName,
    Path,
    /// Query and fragment.
    QueryOrFragment,
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// Whether `s` is a valid `part` (`nonconformant`: path, query and
/// fragment hold anything but what would end them).
fn valid(s: &[u8], part: Part, nonconformant: bool) -> bool {
    if nonconformant && matches!(part, Part::Path | Part::QueryOrFragment) {
        return s.iter().all(|&b| match part {
            Part::Path => b != b'?' && b != b'#',
            _ => b != b'#',
        });
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        let ok = if b == b'%' {
            let hex = s.get(i + 1).and_then(|&h| hex_value(h)).is_some()
                && s.get(i + 2).and_then(|&h| hex_value(h)).is_some();
            if hex {
                i += 2;
            }
            hex
        } else {
            is_unreserved(b)
                || is_sub_delim(b)
                || match part {
                    Part::Userinfo => b == b':',
                    Part::RegName => false,
                    Part::Path => b == b':' || b == b'@' || b == b'/',
                    Part::QueryOrFragment => matches!(b, b':' | b'@' | b'/' | b'?'),
                }
        };
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `s` (with its brackets) is an IP literal: an IPv6 address or
/// an IPvFuture (`v1.x`).
fn valid_ip_literal(s: &[u8]) -> bool {
    let Some(inner) = s.strip_prefix(b"[").and_then(|r| r.strip_suffix(b"]")) else {
        return false;
    };
    if let Some(rest) = inner
        .strip_prefix(b"v")
        .or_else(|| inner.strip_prefix(b"V"))
    {
        let dot = rest.iter().position(|&b| b == b'.');
        return match dot {
            Some(d) if d > 0 && d + 1 < rest.len() => {
                rest[..d].iter().all(u8::is_ascii_hexdigit)
                    && rest[d + 1..]
                        .iter()
                        .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
            }
            _ => false,
        };
    }
    std::str::from_utf8(inner).is_ok_and(|t| t.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Whether `s` is a host: a reg-name or an IP literal.
fn valid_host(s: &[u8]) -> bool {
    if s.starts_with(b"[") {
        valid_ip_literal(s)
    } else {
        valid(s, Part::RegName, false)
    }
}

/// Whether `s` is a scheme: a letter, then letters, digits, `+ - .`.
fn valid_scheme(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A port: 1 to 5 digits, at most 65535.
fn parse_port(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// `s` in a block of its own.
fn block(s: &[u8]) -> Result<MemVec<u8>> {
    let mut v = mem::vec();
    mem::extend(&mut v, s)?;
    Ok(v)
}

/// A part as text (parts are checked ASCII, or any byte when
/// nonconformant: then `None` for bytes that are no UTF-8).
fn text(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v).ok()
}

impl Uri {
    /// An empty URI: no scheme, host or port, an empty path
    /// (`evhttp_uri_new`); allocates nothing.
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::new();
    /// assert_eq!(uri.path(), "");
    /// uri.set_scheme(Some("http"))?;
    /// uri.set_host(Some("example.com"))?;
    /// uri.set_path(Some("/index.html"))?;
    /// assert_eq!(&uri.join()?[..], b"http://example.com/index.html");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_new")]
    pub fn new() -> Uri {
        Uri {
            flags: UriFlags::empty(),
            scheme: None,
            userinfo: None,
            host: None,
            host_unbracketed: false,
            unix_socket: None,
            port: None,
            path: mem::vec(),
            query: None,
            fragment: None,
        }
    }

    /// Parses URI reference `s` strictly (`evhttp_uri_parse`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for what RFC 3986 does not allow (see
    /// the module docs); [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let uri = Uri::parse("https://example.com:8443/a%20b?x=1")?;
    /// assert_eq!(uri.port(), Some(8443));
    /// assert_eq!(uri.path(), "/a%20b"); // not decoded
    /// assert!(Uri::parse("http://exa mple.com/").is_err()); // a space in the host
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_parse")]
    pub fn parse(s: &str) -> Result<Uri> {
        Uri::parse_with_flags(s, UriFlags::empty())
    }

    /// Parses URI reference `s` under `flags`
    /// (`evhttp_uri_parse_with_flags`).
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::{Uri, UriFlags};
    ///
    /// assert!(Uri::parse("/a b").is_err());
    /// let lenient = Uri::parse_with_flags("/a b", UriFlags::NONCONFORMANT)?;
    /// assert_eq!(lenient.path(), "/a b");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_parse_with_flags")]
    pub fn parse_with_flags(s: &str, flags: UriFlags) -> Result<Uri> {
        let bad = |what| Err(Error::InvalidArgument(what));
        let nc = flags.contains(UriFlags::NONCONFORMANT);
        let mut u = Uri::new();
        u.flags = flags;
        let mut rest = s.as_bytes();
        // scheme ":"
        if let Some(i) = rest
            .iter()
            .position(|&b| matches!(b, b':' | b'/' | b'?' | b'#'))
            && rest[i] == b':'
            && valid_scheme(&rest[..i])
        {
            u.scheme = Some(block(&rest[..i])?);
            rest = &rest[i + 1..];
        }
        // "//" authority
        if let Some(after) = rest.strip_prefix(b"//") {
            let end = after
                .iter()
                .position(|&b| matches!(b, b'/' | b'?' | b'#'))
                .unwrap_or(after.len());
            let mut auth = &after[..end];
            rest = &after[end..];
            if let Some(at) = auth.iter().rposition(|&b| b == b'@') {
                if !valid(&auth[..at], Part::Userinfo, false) {
                    return bad("bad userinfo");
                }
                u.userinfo = Some(block(&auth[..at])?);
                auth = &auth[at + 1..];
            }
            let unix = flags.contains(UriFlags::UNIX_SOCKET) && auth.starts_with(b"unix:");
            if unix {
                // The socket path holds `/`, so it runs past where an
                // authority would end: to the next `:`.
                let from = &after[end - auth.len() + 5..];
                let Some(colon) = from.iter().position(|&b| b == b':') else {
                    return bad("unix socket path without its closing ':'");
                };
                u.unix_socket = Some(block(&from[..colon])?);
                rest = &from[colon + 1..];
                if !rest.is_empty()
                    && !rest.starts_with(b"/")
                    && !rest.starts_with(b"?")
                    && !rest.starts_with(b"#")
                {
                    return bad("bad path after a unix socket");
                }
            }
            let port_at = if unix {
                None
            } else if auth.starts_with(b"[") {
                match auth.iter().position(|&b| b == b']') {
                    Some(i) if auth.get(i + 1) == Some(&b':') => Some(i + 1),
                    Some(i) if i + 1 == auth.len() => None,
                    _ => return bad("bad IP literal"),
                }
            } else {
                auth.iter().rposition(|&b| b == b':')
            };
            let host = match port_at {
                Some(i) => {
                    let port = &auth[i + 1..];
                    if !port.is_empty() {
                        u.port = Some(parse_port(port).ok_or(Error::InvalidArgument("bad port"))?);
                    }
                    &auth[..i]
                }
                None => auth,
            };
            if !unix {
                if !valid_host(host) {
                    return bad("bad host");
                }
                u.host = Some(block(host)?);
                u.host_unbracketed =
                    flags.contains(UriFlags::HOST_STRIP_BRACKETS) && host.starts_with(b"[");
            }
        }
        // path ["?" query] ["#" fragment]
        let path_end = rest
            .iter()
            .position(|&b| b == b'?' || b == b'#')
            .unwrap_or(rest.len());
        let path = &rest[..path_end];
        if !valid(path, Part::Path, nc) {
            return bad("bad path");
        }
        if u.scheme.is_none()
            && u.host.is_none()
            && path.iter().take_while(|&&b| b != b'/').any(|&b| b == b':')
        {
            return bad("first path segment holds ':' without a scheme");
        }
        u.path = block(path)?;
        rest = &rest[path_end..];
        if let Some(q) = rest.strip_prefix(b"?") {
            let end = q.iter().position(|&b| b == b'#').unwrap_or(q.len());
            if !valid(&q[..end], Part::QueryOrFragment, nc) {
                return bad("bad query");
            }
            u.query = Some(block(&q[..end])?);
            rest = &q[end..];
        }
        if let Some(f) = rest.strip_prefix(b"#") {
            if !valid(f, Part::QueryOrFragment, nc) || (!nc && f.contains(&b'#')) {
                return bad("bad fragment");
            }
            u.fragment = Some(block(f)?);
        }
        Ok(u)
    }

    /// The flags it was parsed with (`evhttp_uri_set_flags` sets them).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::{Uri, UriFlags};
    ///
    /// assert_eq!(Uri::parse("/")?.flags(), UriFlags::empty());
    /// let u = Uri::parse_with_flags("/", UriFlags::NONCONFORMANT)?;
    /// assert_eq!(u.flags(), UriFlags::NONCONFORMANT);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn flags(&self) -> UriFlags {
        self.flags
    }

    /// Sets the flags the setters check values under
    /// (`evhttp_uri_set_flags`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::{Uri, UriFlags};
    ///
    /// let mut uri = Uri::new();
    /// assert!(uri.set_path(Some("/a b")).is_err());
    /// uri.set_flags(UriFlags::NONCONFORMANT);
    /// uri.set_path(Some("/a b"))?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_flags")]
    pub fn set_flags(&mut self, flags: UriFlags) {
        self.flags = flags;
    }

    /// The scheme (`evhttp_uri_get_scheme`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("http://example.com/")?.scheme(), Some("http"));
    /// assert_eq!(Uri::parse("/relative")?.scheme(), None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_scheme")]
    pub fn scheme(&self) -> Option<&str> {
        self.scheme.as_deref().and_then(text)
    }

    /// The userinfo (`evhttp_uri_get_userinfo`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("ftp://anna:pw@example.com/")?.userinfo(), Some("anna:pw"));
    /// assert_eq!(Uri::parse("ftp://example.com/")?.userinfo(), None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_userinfo")]
    pub fn userinfo(&self) -> Option<&str> {
        self.userinfo.as_deref().and_then(text)
    }

    /// The host, an IP literal with its brackets unless
    /// [`UriFlags::HOST_STRIP_BRACKETS`] was set when it was parsed or
    /// set (`evhttp_uri_get_host`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("http://[::1]:80/")?.host(), Some("[::1]"));
    /// assert_eq!(Uri::parse("/only/a/path")?.host(), None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_host")]
    pub fn host(&self) -> Option<&str> {
        let h = self.host.as_deref()?;
        match (self.host_unbracketed, h) {
            (true, [b'[', inner @ .., b']']) => text(inner),
            _ => text(h),
        }
    }

    /// The Unix-domain socket path of a URI parsed with
    /// [`UriFlags::UNIX_SOCKET`] (`evhttp_uri_get_unixsocket`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::{Uri, UriFlags};
    ///
    /// let uri = Uri::parse_with_flags("http://unix:/run/ctl.sock:/status", UriFlags::UNIX_SOCKET)?;
    /// assert_eq!(uri.unix_socket(), Some("/run/ctl.sock"));
    /// assert_eq!((uri.host(), uri.path()), (None, "/status"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_unixsocket")]
    pub fn unix_socket(&self) -> Option<&str> {
        self.unix_socket.as_deref().and_then(text)
    }

    /// The port (`evhttp_uri_get_port`; libevent: -1 for none).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("http://example.com:8080/")?.port(), Some(8080));
    /// assert_eq!(Uri::parse("http://example.com/")?.port(), None); // no default filled in
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_port")]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path, maybe empty (`evhttp_uri_get_path`); `""` too when a
    /// nonconformant path is no UTF-8 ([`path_bytes`](Self::path_bytes)
    /// has it).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("http://example.com/a/b?q")?.path(), "/a/b");
    /// assert_eq!(Uri::parse("http://example.com")?.path(), "");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_path")]
    pub fn path(&self) -> &str {
        text(&self.path).unwrap_or_default()
    }

    /// The path's bytes.
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("/docs/")?.path_bytes(), b"/docs/");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn path_bytes(&self) -> &[u8] {
        &self.path
    }

    /// The query, without its `?` (`evhttp_uri_get_query`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("/s?q=1&r=2#top")?.query(), Some("q=1&r=2"));
    /// assert_eq!(Uri::parse("/s")?.query(), None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_query")]
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref().and_then(text)
    }

    /// The fragment, without its `#` (`evhttp_uri_get_fragment`).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// assert_eq!(Uri::parse("/page#section-2")?.fragment(), Some("section-2"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_get_fragment")]
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref().and_then(text)
    }

    /// Sets the scheme (`evhttp_uri_set_scheme`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if it is no scheme; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("http://example.com/")?;
    /// uri.set_scheme(Some("https"))?;
    /// assert_eq!(&uri.join()?[..], b"https://example.com/");
    /// assert!(uri.set_scheme(Some("1http")).is_err()); // must start with a letter
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_scheme")]
    pub fn set_scheme(&mut self, scheme: Option<&str>) -> Result<()> {
        Self::set(&mut self.scheme, scheme, valid_scheme)
    }

    /// Sets the userinfo (`evhttp_uri_set_userinfo`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a byte userinfo may not hold;
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("ftp://example.com/")?;
    /// uri.set_userinfo(Some("anna"))?;
    /// assert_eq!(&uri.join()?[..], b"ftp://anna@example.com/");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_userinfo")]
    pub fn set_userinfo(&mut self, userinfo: Option<&str>) -> Result<()> {
        Self::set(&mut self.userinfo, userinfo, |s| {
            valid(s, Part::Userinfo, false)
        })
    }

    /// Sets the host: a name or a bracketed IP literal
    /// (`evhttp_uri_set_host`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if it is neither; [`Error::Alloc`].
    /// Under [`UriFlags::HOST_STRIP_BRACKETS`] an IP literal is then
    /// given without its brackets.
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("http://example.com/x")?;
    /// uri.set_host(Some("[2001:db8::1]"))?;
    /// assert_eq!(&uri.join()?[..], b"http://[2001:db8::1]/x");
    /// assert!(uri.set_host(Some("a/b")).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_host")]
    pub fn set_host(&mut self, host: Option<&str>) -> Result<()> {
        Self::set(&mut self.host, host, valid_host)?;
        self.host_unbracketed = self.flags.contains(UriFlags::HOST_STRIP_BRACKETS)
            && host.is_some_and(|h| h.starts_with('['));
        Ok(())
    }

    /// Sets the Unix-domain socket path (`evhttp_uri_set_unixsocket`);
    /// while there is one, [`join`](Self::join) writes it in place of
    /// host and port.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a path holding `:` (it would end
    /// the path when parsed back; libevent takes it); [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("http:/status")?;
    /// uri.set_unix_socket(Some("/run/ctl.sock"))?;
    /// assert_eq!(&uri.join()?[..], b"http://unix:/run/ctl.sock:/status");
    /// assert!(uri.set_unix_socket(Some("a:b")).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_unixsocket")]
    pub fn set_unix_socket(&mut self, path: Option<&str>) -> Result<()> {
        Self::set(&mut self.unix_socket, path, |s| !s.contains(&b':'))
    }

    /// Sets the port (`evhttp_uri_set_port`).
    ///
    /// # Errors
    /// None today; `Result` for symmetry with the other setters.
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("http://example.com/")?;
    /// uri.set_port(Some(8080))?;
    /// assert_eq!(&uri.join()?[..], b"http://example.com:8080/");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_port")]
    pub fn set_port(&mut self, port: Option<u16>) -> Result<()> {
        self.port = port;
        Ok(())
    }

    /// Sets the path (`evhttp_uri_set_path`; `None`: empty).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a byte a path may not hold (under
    /// the URI's flags); [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("http://example.com/old")?;
    /// uri.set_path(Some("/new/page"))?;
    /// assert_eq!(uri.path(), "/new/page");
    /// assert!(uri.set_path(Some("/a b")).is_err()); // encode it first
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_path")]
    pub fn set_path(&mut self, path: Option<&str>) -> Result<()> {
        let nc = self.flags.contains(UriFlags::NONCONFORMANT);
        let p = path.unwrap_or_default().as_bytes();
        if !valid(p, Part::Path, nc) {
            return Err(Error::InvalidArgument("bad path"));
        }
        self.path = block(p)?;
        Ok(())
    }

    /// Sets the query, without its `?` (`evhttp_uri_set_query`).
    ///
    /// # Errors
    /// As [`set_path`](Self::set_path).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("/search")?;
    /// uri.set_query(Some("q=rvent"))?;
    /// assert_eq!(&uri.join()?[..], b"/search?q=rvent");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_query")]
    pub fn set_query(&mut self, query: Option<&str>) -> Result<()> {
        let nc = self.flags.contains(UriFlags::NONCONFORMANT);
        Self::set(&mut self.query, query, |s| {
            valid(s, Part::QueryOrFragment, nc)
        })
    }

    /// Sets the fragment, without its `#` (`evhttp_uri_set_fragment`).
    ///
    /// # Errors
    /// As [`set_path`](Self::set_path).
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let mut uri = Uri::parse("/doc")?;
    /// uri.set_fragment(Some("intro"))?;
    /// assert_eq!(&uri.join()?[..], b"/doc#intro");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_set_fragment")]
    pub fn set_fragment(&mut self, fragment: Option<&str>) -> Result<()> {
        let nc = self.flags.contains(UriFlags::NONCONFORMANT);
        Self::set(&mut self.fragment, fragment, |s| {
            valid(s, Part::QueryOrFragment, nc)
        })
    }

    /// Replaces `slot` with `value` if `ok` accepts it.
    fn set(
        slot: &mut Option<MemVec<u8>>,
        value: Option<&str>,
        ok: impl Fn(&[u8]) -> bool,
    ) -> Result<()> {
        *slot = match value {
            None => None,
            Some(v) if ok(v.as_bytes()) => Some(block(v.as_bytes())?),
            Some(_) => return Err(Error::InvalidArgument("value not allowed in this part")),
        };
        Ok(())
    }

    /// The URI as text (`evhttp_uri_join`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it has a host and a path that is
    /// neither empty nor starts with `/` (libevent returns NULL);
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::http::Uri;
    ///
    /// let uri = Uri::parse("http://u@example.com:81/p?q#f")?;
    /// assert_eq!(&uri.join()?[..], b"http://u@example.com:81/p?q#f"); // round trip
    /// let mut bad = Uri::parse("http://example.com")?;
    /// bad.set_path(Some("relative"))?;
    /// assert!(bad.join().is_err()); // a host needs an absolute path
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evhttp_uri_join")]
    pub fn join(&self) -> Result<HttpBytes> {
        let authority = self.host.is_some()
            || self.userinfo.is_some()
            || self.port.is_some()
            || self.unix_socket.is_some();
        if authority && !self.path.is_empty() && !self.path.starts_with(b"/") {
            return Err(Error::InvalidArgument("a host with a relative path"));
        }
        let mut digits = [0u8; 5];
        let port = self.port.map(|p| {
            let mut n = p;
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            i
        });
        // A socket path (`unix:PATH:`) replaces host and port, as in
        // libevent.
        let socket = self.unix_socket.as_deref();
        let (host, port): (&[u8], _) = match socket {
            Some(_) => (b"", None),
            None => (self.host.as_deref().unwrap_or_default(), port),
        };
        let pieces: [(&[u8], &[u8]); 9] = [
            (
                self.scheme.as_deref().unwrap_or_default(),
                if self.scheme.is_some() { b":" } else { b"" },
            ),
            (if authority { b"//" } else { b"" }, b""),
            (
                self.userinfo.as_deref().unwrap_or_default(),
                if self.userinfo.is_some() { b"@" } else { b"" },
            ),
            (
                if socket.is_some() { b"unix:" } else { b"" },
                socket.unwrap_or_default(),
            ),
            (if socket.is_some() { b":" } else { b"" }, b""),
            (host, if port.is_some() { b":" } else { b"" }),
            (port.map_or(&b""[..], |i| &digits[i..]), &self.path),
            (
                if self.query.is_some() { b"?" } else { b"" },
                self.query.as_deref().unwrap_or_default(),
            ),
            (
                if self.fragment.is_some() { b"#" } else { b"" },
                self.fragment.as_deref().unwrap_or_default(),
            ),
        ];
        let len = pieces.iter().map(|(a, b)| a.len() + b.len()).sum();
        let mut out = mem::vec();
        mem::reserve(&mut out, len)?;
        for (a, b) in pieces {
            out.extend_from_slice(a);
            out.extend_from_slice(b);
        }
        Ok(out)
    }
}

impl Default for Uri {
    fn default() -> Self {
        Uri::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libevent's `parse_uri` accept table, each joined back unchanged.
    #[test]
    fn accepted_uris_join_back() {
        for s in [
            "http://www.test.com/?q=t%33est",
            "http://%77ww.test.com",
            "http://www.test.com:80",
            "http://www.test.com:",
            "http://www.test.com/a/b?q#f",
            "http://[::1]:8080/x",
            "http://[v7.x:y]/",
            "mailto:user@example.com",
            "ftp://ftp.example.com/pub",
            "//host/path",
            "/absolute?q#f",
            "relative/path",
            "",
            "#frag",
            "?q",
            "scheme:",
            "s+chem-e.1:rest",
            "http://user:pass@host/",
            "http://host/%7Efoo/",
        ] {
            let u = Uri::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            let joined = u.join().unwrap();
            let want = if s == "http://www.test.com:" {
                "http://www.test.com"
            } else {
                s
            };
            assert_eq!(std::str::from_utf8(&joined).unwrap(), want);
        }
        let u = Uri::parse("http://[::1]:8080/x").unwrap();
        assert_eq!((u.host(), u.port()), (Some("[::1]"), Some(8080)));
        let u = Uri::parse("relative/path").unwrap();
        assert_eq!(
            (u.scheme(), u.host(), u.path()),
            (None, None, "relative/path")
        );
        let u = Uri::parse("").unwrap();
        assert_eq!(u.path(), "");
    }

    /// libevent's reject table.
    #[test]
    fn rejected_uris() {
        for s in [
            "http://www.test.com:999x/",
            "http://www.test.com:65536/",
            "http://www.test.com:99999999999999999999/",
            "http://[::1/",
            "http://[hello]/",
            "http://[::1]x/",
            "http://www.te st.com/",
            "http://www.test.com/a b",
            "http://www.test.com/?q=a b",
            "http://www.test.com/#a b",
            "http://www.test.com/%zz",
            "http://www.test.com/%4",
            "http://us\u{1}er@host/",
            "http://ho\u{7f}st/",
            "1http://x/",
            "http://www.test.com/#a#b",
        ] {
            assert!(Uri::parse(s).is_err(), "accepted {s:?}");
        }
        // Not errors: a scheme, an empty authority, a `//` path after one.
        for s in ["a:b/c:d:e", "//", "x:////"] {
            assert!(Uri::parse(s).is_ok(), "refused {s:?}");
        }
    }

    #[test]
    fn nonconformant_paths_queries_and_fragments() {
        let f = UriFlags::NONCONFORMANT;
        let u = Uri::parse_with_flags("/a b/%zz?q=a b&c#f g", f).unwrap();
        assert_eq!(u.path(), "/a b/%zz");
        assert_eq!(u.query(), Some("q=a b&c"));
        assert_eq!(u.fragment(), Some("f g"));
        assert!(Uri::parse_with_flags("http://bad host/", f).is_err());
        assert!(Uri::parse_with_flags("http://host:x/", f).is_err());
    }

    #[test]
    fn setters_check_and_leave_the_uri_unchanged_on_refusal() {
        let mut u = Uri::new();
        u.set_scheme(Some("https")).unwrap();
        u.set_host(Some("example.org")).unwrap();
        u.set_port(Some(443)).unwrap();
        u.set_path(Some("/p")).unwrap();
        u.set_query(Some("a=1")).unwrap();
        u.set_fragment(Some("f")).unwrap();
        u.set_userinfo(Some("me")).unwrap();
        assert_eq!(
            &u.join().unwrap()[..],
            b"https://me@example.org:443/p?a=1#f"
        );
        assert!(u.set_scheme(Some("1x")).is_err());
        assert!(u.set_host(Some("a b")).is_err());
        assert!(u.set_host(Some("[zz]")).is_err());
        assert!(u.set_path(Some("/a b")).is_err());
        assert!(u.set_query(Some("a#b")).is_err());
        assert!(u.set_userinfo(Some("a@b")).is_err());
        assert_eq!(
            &u.join().unwrap()[..],
            b"https://me@example.org:443/p?a=1#f"
        );
        u.set_path(Some("relative")).unwrap();
        assert!(u.join().is_err(), "a host with a relative path");
        u.set_host(None).unwrap();
        u.set_userinfo(None).unwrap();
        u.set_port(None).unwrap();
        assert_eq!(&u.join().unwrap()[..], b"https:relative?a=1#f");
        u.set_flags(UriFlags::NONCONFORMANT);
        u.set_path(Some("/a b")).unwrap();
        assert_eq!(u.path(), "/a b");
    }

    /// libevent's `parse_uri` case for `EVHTTP_URI_HOST_STRIP_BRACKETS`.
    #[test]
    fn host_strip_brackets() {
        let f = UriFlags::HOST_STRIP_BRACKETS;
        let mut u = Uri::parse_with_flags("ftp://[ff00::127.0.0.1]/?q=test", f).unwrap();
        assert_eq!(u.scheme(), Some("ftp"));
        assert_eq!(u.host(), Some("ff00::127.0.0.1"));
        assert_eq!((u.path(), u.query()), ("/", Some("q=test")));
        assert_eq!((u.userinfo(), u.port(), u.fragment()), (None, None, None));
        assert_eq!(&u.join().unwrap()[..], b"ftp://[ff00::127.0.0.1]/?q=test");
        u.set_host(Some("foo")).unwrap();
        assert_eq!(u.host(), Some("foo"));
        assert_eq!(&u.join().unwrap()[..], b"ftp://foo/?q=test");
        u.set_host(Some("[ff00::127.0.0.1]")).unwrap();
        assert_eq!(u.host(), Some("ff00::127.0.0.1"));
        assert_eq!(&u.join().unwrap()[..], b"ftp://[ff00::127.0.0.1]/?q=test");
        // With a port; a name is untouched; without the flag the brackets stay.
        let u = Uri::parse_with_flags("http://[::1]:8080/x", f).unwrap();
        assert_eq!((u.host(), u.port()), (Some("::1"), Some(8080)));
        assert_eq!(&u.join().unwrap()[..], b"http://[::1]:8080/x");
        let u = Uri::parse_with_flags("http://[::1]/", UriFlags::empty()).unwrap();
        assert_eq!(u.host(), Some("[::1]"));
        let mut u = Uri::new();
        u.set_host(Some("[::1]")).unwrap();
        assert_eq!(u.host(), Some("[::1]"));
        // Still checked: a bad literal is refused.
        assert!(Uri::parse_with_flags("http://[hello]/", f).is_err());
    }

    /// libevent's `parse_uri_un` cases (`EVHTTP_URI_UNIX_SOCKET`).
    #[test]
    fn unix_socket_authorities() {
        let f = UriFlags::UNIX_SOCKET;
        for (s, socket, user, path, query) in [
            (
                "http://unix:/run/control.sock:/controller",
                "/run/control.sock",
                None,
                "/controller",
                None,
            ),
            (
                "http://unix:/tmp/foobar/:/foo",
                "/tmp/foobar/",
                None,
                "/foo",
                None,
            ),
            (
                "http://user:pass@unix:/tmp/foobar/:/foo",
                "/tmp/foobar/",
                Some("user:pass"),
                "/foo",
                None,
            ),
            ("http://unix:a:", "a", None, "", None),
            ("http://unix:/s:/?arg=val", "/s", None, "/", Some("arg=val")),
        ] {
            let u = Uri::parse_with_flags(s, f).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert_eq!(u.unix_socket(), Some(socket), "{s:?}");
            assert_eq!((u.host(), u.port()), (None, None), "{s:?}");
            assert_eq!(u.userinfo(), user, "{s:?}");
            assert_eq!((u.path(), u.query()), (path, query), "{s:?}");
            assert_eq!(&u.join().unwrap()[..], s.as_bytes());
        }
        for s in ["http://unix:/no/closing/colon", "http://unix:/s:rel"] {
            assert!(Uri::parse_with_flags(s, f).is_err(), "accepted {s:?}");
        }
        // Without the flag `unix:...` is a host and a port, or refused.
        let u = Uri::parse("http://unix:80/x").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.unix_socket()),
            (Some("unix"), Some(80), None)
        );
        let u = Uri::parse("http://unix:/tmp/s:/x").unwrap();
        assert_eq!(
            (u.host(), u.path(), u.unix_socket()),
            (Some("unix"), "/tmp/s:/x", None)
        );
        // Set by hand: written in place of host and port.
        let mut u = Uri::parse("http://h:1/p").unwrap();
        u.set_unix_socket(Some("/run/s")).unwrap();
        assert_eq!(&u.join().unwrap()[..], b"http://unix:/run/s:/p");
        assert!(u.set_unix_socket(Some("/a:b")).is_err());
        assert_eq!(u.unix_socket(), Some("/run/s"));
        u.set_unix_socket(None).unwrap();
        assert_eq!(&u.join().unwrap()[..], b"http://h:1/p");
    }
}
