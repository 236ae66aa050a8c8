//! Host-name lookups of [`connect_hostname`](super::Bufferevent::connect_hostname):
//! the answer block the loop and the lookup thread share, and
//! [`AddressFamily`], the addresses it may give, and [`DnsError`], the
//! reason a lookup failed, kept as inline text so that
//! neither recording nor reading it allocates.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex;

use crate::mem::MemVec;

/// Which addresses a host-name lookup may give
/// ([`Bufferevent::connect_hostname_family`](super::Bufferevent::connect_hostname_family)):
/// libevent's `family` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// Any (`AF_UNSPEC`): the resolver's first address.
    #[default]
    #[doc(alias = "AF_UNSPEC")]
    Any,
    /// IPv4 only (`AF_INET`).
    #[doc(alias = "AF_INET")]
    Ipv4,
    /// IPv6 only (`AF_INET6`).
    #[doc(alias = "AF_INET6")]
    Ipv6,
}

impl AddressFamily {
    /// The `AF_*` value.
    pub(crate) fn af(self) -> libc::c_int {
        match self {
            AddressFamily::Any => libc::AF_UNSPEC,
            AddressFamily::Ipv4 => libc::AF_INET,
            AddressFamily::Ipv6 => libc::AF_INET6,
        }
    }
}

/// Why a host-name lookup failed
/// ([`Bufferevent::dns_error`](super::Bufferevent::dns_error),
/// `bufferevent_socket_get_dns_error`): the resolver's message, as text
/// held in the value itself (at most [`DnsError::CAPACITY`] bytes; a
/// longer message is cut at a character boundary). libevent returns an
/// `EVUTIL_EAI_*` code; rvent has the system resolver's message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DnsError {
    len: u8,
    buf: [u8; DnsError::CAPACITY],
}

impl DnsError {
    /// The longest message kept, in bytes.
    pub const CAPACITY: usize = 111;

    /// The message.
    ///
    /// # Examples
    /// ```no_run
    /// use rvent::{BevEvent, BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE)?;
    /// bev.set_event_callback(&mut base, |base: &mut EventBase, bev: Bufferevent, what: BevEvent| {
    ///     if let Some(e) = bev.dns_error(base).unwrap() {
    ///         eprintln!("lookup failed ({what:?}): {}", e.as_str());
    ///     }
    /// })?;
    /// bev.connect_hostname(&mut base, "no-such-host.invalid", 80)?; // asks the resolver
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evutil_gai_strerror")]
    pub fn as_str(&self) -> &str {
        // Only whole characters are ever copied in (`push_str`).
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or_default()
    }

    /// `d` written out, cut to [`CAPACITY`](Self::CAPACITY).
    pub(crate) fn from_display(d: &dyn fmt::Display) -> DnsError {
        let mut e = DnsError {
            len: 0,
            buf: [0; DnsError::CAPACITY],
        };
        let _ = fmt::write(&mut e, format_args!("{d}"));
        e
    }

    fn push_str(&mut self, s: &str) {
        let room = Self::CAPACITY - self.len as usize;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let at = self.len as usize;
        self.buf[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n as u8;
    }
}

impl fmt::Write for DnsError {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl AsRef<str> for DnsError {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A lookup, shared (in a `MemArc`, from the memory functions) by the
/// loop and the thread that resolves it. Everything in it was allocated
/// when the lookup started, so neither side allocates afterwards; the
/// failed lookup's block then stays with the bufferevent as its
/// [`DnsError`].
pub(crate) struct DnsAnswer {
    /// The host name's bytes (a copy of the caller's `&str`), with a
    /// NUL at the end.
    pub(crate) host: MemVec<u8>,
    pub(crate) port: u16,
    pub(crate) family: AddressFamily,
    pub(crate) slot: Mutex<DnsSlot>,
}

/// What the lookup found; written once, by whichever side comes first.
#[derive(Default)]
pub(crate) struct DnsSlot {
    /// The loop has taken the answer (or given up): the thread writes
    /// nothing any more.
    pub(crate) closed: bool,
    /// Answered: `addr`, or else `error`.
    pub(crate) answered: bool,
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) error: Option<DnsError>,
}

impl DnsAnswer {
    /// The host name for `getaddrinfo`; `None` if it holds a NUL byte.
    pub(crate) fn host_cstr(&self) -> Option<&std::ffi::CStr> {
        std::ffi::CStr::from_bytes_with_nul(&self.host).ok()
    }

    /// The slot, even if a thread panicked holding it.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, DnsSlot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_at_a_char_boundary() {
        let e = DnsError::from_display(&"short");
        assert_eq!(e.as_str(), "short");
        let long = "é".repeat(100); // 200 bytes
        let e = DnsError::from_display(&long);
        assert_eq!(e.as_str().len(), 110);
        assert!(long.starts_with(e.as_str()));
        assert_eq!(format!("{e}"), e.as_str());
    }
}
