//! Host-name lookup with `getaddrinfo`, for
//! [`connect_hostname`](crate::Bufferevent::connect_hostname)'s helper
//! thread. std's `(host, port).to_socket_addrs()` collects the answers
//! into a `Vec` on Rust's global allocator; this takes the first answer
//! and allocates nothing in rvent. (`getaddrinfo` allocates its list with
//! the C library's `malloc`: libc's memory, freed here before returning,
//! never a block rvent holds.)

use std::ffi::{CStr, c_int};
use std::fmt;
use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::ptr;

use super::socket::from_sockaddr;

/// Why a lookup failed.
#[derive(Debug)]
pub(crate) enum LookupError {
    /// A resolver error (`EAI_*`), with `gai_strerror`'s message.
    Resolver(&'static str),
    /// `EAI_SYSTEM`: the system error.
    System(io::Error),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::Resolver(msg) => f.write_str(msg),
            LookupError::System(e) => e.fmt(f),
        }
    }
}

/// The first TCP address of `host` (a name or a numeric address) in
/// `family` (`AF_UNSPEC`: any), with `port`; `Ok(None)` if the host has
/// no address of a known family.
pub(crate) fn lookup_host(
    host: &CStr,
    port: u16,
    family: libc::c_int,
) -> Result<Option<SocketAddr>, LookupError> {
    // SAFETY: an all-zero addrinfo is a valid value (integers and nulls).
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: `host` is NUL-terminated; no service; `hints` and `list`
    // are valid for the call.
    let rc = unsafe { libc::getaddrinfo(host.as_ptr(), ptr::null(), &hints, &mut list) };
    if rc != 0 {
        return Err(resolver_error(rc));
    }
    let mut found = None;
    let mut ai = list;
    while !ai.is_null() && found.is_none() {
        // SAFETY: `ai` is a node of the list getaddrinfo returned, not yet
        // freed.
        let node = unsafe { &*ai };
        if !node.ai_addr.is_null() {
            // SAFETY: an all-zero sockaddr_storage is a valid value.
            let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let len = (node.ai_addrlen as usize).min(size_of::<libc::sockaddr_storage>());
            // SAFETY: `ai_addr` points at `ai_addrlen` bytes; `storage` has
            // room for `len` of them; the two do not overlap.
            unsafe {
                ptr::copy_nonoverlapping(
                    node.ai_addr.cast::<u8>(),
                    (&raw mut storage).cast::<u8>(),
                    len,
                )
            };
            found = from_sockaddr(&storage, len as libc::socklen_t);
        }
        ai = node.ai_next;
    }
    // SAFETY: `list` came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    Ok(found.map(|mut addr| {
        addr.set_port(port);
        addr
    }))
}

fn resolver_error(rc: c_int) -> LookupError {
    if rc == libc::EAI_SYSTEM {
        return LookupError::System(io::Error::last_os_error());
    }
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated
    // message for any code.
    let msg = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) };
    LookupError::Resolver(msg.to_str().unwrap_or("host-name lookup failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_named_hosts() {
        let a = lookup_host(c"127.0.0.1", 80, libc::AF_UNSPEC)
            .unwrap()
            .unwrap();
        assert_eq!(a, "127.0.0.1:80".parse().unwrap());
        let a = lookup_host(c"localhost", 7, libc::AF_UNSPEC)
            .unwrap()
            .unwrap();
        assert!(a.ip().is_loopback() && a.port() == 7);
        let e = lookup_host(c"no such host.invalid", 1, libc::AF_UNSPEC).unwrap_err();
        assert!(!e.to_string().is_empty());
        let a = lookup_host(c"127.0.0.1", 80, libc::AF_INET)
            .unwrap()
            .unwrap();
        assert!(a.is_ipv4());
        assert!(lookup_host(c"127.0.0.1", 80, libc::AF_INET6).is_err());
    }
}
