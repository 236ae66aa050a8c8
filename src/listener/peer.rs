//! The peer of an accepted connection: [`PeerAddr`], an IPv4 / IPv6
//! address or a Unix-domain one ([`UnixPeerAddr`]).
//!
//! libevent's `evconnlistener` accepts on any listening stream socket and
//! hands the callback a `struct sockaddr *`; rvent's listener does the
//! same with a typed address. std's `std::os::unix::net::SocketAddr`
//! cannot be built from what `accept` returns (it has no constructor for
//! an unnamed peer, the usual case), so the Unix address is rvent's own,
//! as mio's: the `sun_path` bytes, kept inline — accepting allocates
//! nothing.

use std::ffi::OsStr;
use std::fmt;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::sys::socket;

/// The address of the peer of an accepted connection, as the listener's
/// callback gets it: [`Inet`](Self::Inet) for a TCP listener,
/// [`Unix`](Self::Unix) for a Unix-domain one.
///
/// # Examples
///
/// ```
/// use rvent::PeerAddr;
/// let peer = PeerAddr::Inet("127.0.0.1:80".parse().unwrap());
/// assert_eq!(peer.inet().map(|a| a.port()), Some(80));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerAddr {
    /// An IPv4 or IPv6 peer (a TCP listener).
    Inet(SocketAddr),
    /// A Unix-domain peer (an `AF_UNIX` listener).
    Unix(UnixPeerAddr),
}

impl PeerAddr {
    /// The IPv4 / IPv6 address, for a TCP peer.
    ///
    /// # Examples
    /// ```
    /// use rvent::PeerAddr;
    ///
    /// let peer = PeerAddr::from("[::1]:8080".parse::<std::net::SocketAddr>().unwrap());
    /// assert_eq!(peer.inet().unwrap().port(), 8080);
    /// ```
    #[inline]
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            PeerAddr::Inet(a) => Some(*a),
            PeerAddr::Unix(_) => None,
        }
    }

    /// The address `accept` wrote into `storage`; `None` for another
    /// family or an empty IPv4 / IPv6 address (the connection is then
    /// closed, as libevent does).
    #[inline]
    pub(super) fn from_raw(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<Self> {
        if let Some(a) = socket::from_sockaddr(storage, len) {
            return Some(PeerAddr::Inet(a));
        }
        let (path, len) = socket::unix_path(storage, len)?;
        Some(PeerAddr::Unix(UnixPeerAddr {
            path,
            len: len as u8,
        }))
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(a: SocketAddr) -> Self {
        PeerAddr::Inet(a)
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Inet(a) => a.fmt(f),
            PeerAddr::Unix(u) => u.fmt(f),
        }
    }
}

/// A Unix-domain peer address (`struct sockaddr_un`): unnamed (a client
/// that did not `bind`, the usual case), a pathname, or a name in Linux's
/// abstract namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UnixPeerAddr {
    /// `sun_path` as the kernel wrote it.
    path: [u8; 108],
    /// How many bytes of `path` the address covers.
    len: u8,
}

impl UnixPeerAddr {
    /// Whether the peer has no name.
    ///
    /// # Examples
    /// ```
    /// # use rvent::{ConnListener, EventBase, ListenerOptions, PeerAddr, UnixPeerAddr};
    /// # use std::os::unix::net::{UnixListener, UnixStream};
    /// # use std::{cell::Cell, rc::Rc};
    /// # fn accept_one(tag: &str) -> Result<UnixPeerAddr, Box<dyn std::error::Error>> {
    /// #     let mut base = EventBase::new()?;
    /// #     let path = std::env::temp_dir().join(format!("rvent-doc-{tag}-{}", std::process::id()));
    /// #     let _ = std::fs::remove_file(&path);
    /// #     let got = Rc::new(Cell::new(None));
    /// #     let g = got.clone();
    /// #     let lev = ConnListener::from_fd(&mut base, UnixListener::bind(&path)?,
    /// #         ListenerOptions::CLOSE_ON_FREE, None, move |base, lev, _conn, peer| {
    /// #             if let PeerAddr::Unix(u) = peer { g.set(Some(u)); }
    /// #             lev.free(base).unwrap();
    /// #         })?;
    /// #     let _client = UnixStream::connect(&path)?;
    /// #     base.dispatch()?;
    /// #     std::fs::remove_file(&path)?;
    /// #     Ok(got.get().expect("a Unix peer"))
    /// # }
    /// let peer = accept_one("unnamed")?; // from a client that did not bind
    /// assert!(peer.is_unnamed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn is_unnamed(&self) -> bool {
        self.len == 0
    }

    /// The peer's pathname, if it is bound to one.
    ///
    /// # Examples
    /// ```
    /// # use rvent::{ConnListener, EventBase, ListenerOptions, PeerAddr, UnixPeerAddr};
    /// # use std::os::unix::net::{UnixListener, UnixStream};
    /// # use std::{cell::Cell, rc::Rc};
    /// # fn accept_one(tag: &str) -> Result<UnixPeerAddr, Box<dyn std::error::Error>> {
    /// #     let mut base = EventBase::new()?;
    /// #     let path = std::env::temp_dir().join(format!("rvent-doc-{tag}-{}", std::process::id()));
    /// #     let _ = std::fs::remove_file(&path);
    /// #     let got = Rc::new(Cell::new(None));
    /// #     let g = got.clone();
    /// #     let lev = ConnListener::from_fd(&mut base, UnixListener::bind(&path)?,
    /// #         ListenerOptions::CLOSE_ON_FREE, None, move |base, lev, _conn, peer| {
    /// #             if let PeerAddr::Unix(u) = peer { g.set(Some(u)); }
    /// #             lev.free(base).unwrap();
    /// #         })?;
    /// #     let _client = UnixStream::connect(&path)?;
    /// #     base.dispatch()?;
    /// #     std::fs::remove_file(&path)?;
    /// #     Ok(got.get().expect("a Unix peer"))
    /// # }
    /// let peer = accept_one("path")?; // an unnamed client
    /// assert_eq!(peer.as_pathname(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_pathname(&self) -> Option<&Path> {
        let raw = self.sun_path();
        if raw.first().is_none_or(|&b| b == 0) {
            return None;
        }
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Some(Path::new(OsStr::from_bytes(&raw[..end])))
    }

    /// The peer's name in the abstract namespace (without the leading
    /// NUL), if it has one.
    ///
    /// # Examples
    /// ```
    /// # use rvent::{ConnListener, EventBase, ListenerOptions, PeerAddr, UnixPeerAddr};
    /// # use std::os::unix::net::{UnixListener, UnixStream};
    /// # use std::{cell::Cell, rc::Rc};
    /// # fn accept_one(tag: &str) -> Result<UnixPeerAddr, Box<dyn std::error::Error>> {
    /// #     let mut base = EventBase::new()?;
    /// #     let path = std::env::temp_dir().join(format!("rvent-doc-{tag}-{}", std::process::id()));
    /// #     let _ = std::fs::remove_file(&path);
    /// #     let got = Rc::new(Cell::new(None));
    /// #     let g = got.clone();
    /// #     let lev = ConnListener::from_fd(&mut base, UnixListener::bind(&path)?,
    /// #         ListenerOptions::CLOSE_ON_FREE, None, move |base, lev, _conn, peer| {
    /// #             if let PeerAddr::Unix(u) = peer { g.set(Some(u)); }
    /// #             lev.free(base).unwrap();
    /// #         })?;
    /// #     let _client = UnixStream::connect(&path)?;
    /// #     base.dispatch()?;
    /// #     std::fs::remove_file(&path)?;
    /// #     Ok(got.get().expect("a Unix peer"))
    /// # }
    /// let peer = accept_one("abstract")?; // an unnamed client
    /// assert_eq!(peer.as_abstract_name(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        match self.sun_path() {
            [0, name @ ..] => Some(name),
            _ => None,
        }
    }

    /// The address's `sun_path` bytes as the kernel returned them (empty
    /// for an unnamed peer; a pathname may end in NULs): what a C
    /// `struct sockaddr_un` holds after `sun_family`.
    ///
    /// # Examples
    /// ```
    /// # use rvent::{ConnListener, EventBase, ListenerOptions, PeerAddr, UnixPeerAddr};
    /// # use std::os::unix::net::{UnixListener, UnixStream};
    /// # use std::{cell::Cell, rc::Rc};
    /// # fn accept_one(tag: &str) -> Result<UnixPeerAddr, Box<dyn std::error::Error>> {
    /// #     let mut base = EventBase::new()?;
    /// #     let path = std::env::temp_dir().join(format!("rvent-doc-{tag}-{}", std::process::id()));
    /// #     let _ = std::fs::remove_file(&path);
    /// #     let got = Rc::new(Cell::new(None));
    /// #     let g = got.clone();
    /// #     let lev = ConnListener::from_fd(&mut base, UnixListener::bind(&path)?,
    /// #         ListenerOptions::CLOSE_ON_FREE, None, move |base, lev, _conn, peer| {
    /// #             if let PeerAddr::Unix(u) = peer { g.set(Some(u)); }
    /// #             lev.free(base).unwrap();
    /// #         })?;
    /// #     let _client = UnixStream::connect(&path)?;
    /// #     base.dispatch()?;
    /// #     std::fs::remove_file(&path)?;
    /// #     Ok(got.get().expect("a Unix peer"))
    /// # }
    /// let peer = accept_one("sunpath")?; // an unnamed client
    /// assert!(peer.sun_path().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn sun_path(&self) -> &[u8] {
        &self.path[..usize::from(self.len)]
    }
}

impl fmt::Debug for UnixPeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.as_pathname() {
            write!(f, "{p:?} (pathname)")
        } else if let Some(n) = self.as_abstract_name() {
            write!(f, "\"{}\" (abstract)", n.escape_ascii())
        } else {
            f.write_str("(unnamed)")
        }
    }
}

impl fmt::Display for UnixPeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(bytes: &[u8]) -> UnixPeerAddr {
        let mut path = [0u8; 108];
        path[..bytes.len()].copy_from_slice(bytes);
        UnixPeerAddr {
            path,
            len: bytes.len() as u8,
        }
    }

    #[test]
    fn unix_peer_kinds() {
        let unnamed = addr(b"");
        assert!(unnamed.is_unnamed());
        assert_eq!(
            (unnamed.as_pathname(), unnamed.as_abstract_name()),
            (None, None)
        );
        let named = addr(b"/tmp/sock\0");
        assert_eq!(named.as_pathname(), Some(Path::new("/tmp/sock")));
        assert_eq!(named.as_abstract_name(), None);
        let abs = addr(b"\0name");
        assert_eq!(abs.as_abstract_name(), Some(&b"name"[..]));
        assert_eq!(abs.as_pathname(), None);
        assert_eq!(format!("{abs}"), "\"name\" (abstract)");
    }
}
