//! Socket calls: for `ConnListener`, a listening socket with its options
//! set before `bind`, `listen`, `accept4` (any stream socket: IPv4, IPv6,
//! Unix), `getsockname` and descriptor
//! flags; for bufferevents, a nonblocking `connect`, `SO_ERROR`,
//! `TCP_NODELAY` and `close` on descriptors they hold as raw fds.
//!
//! std's `TcpListener::bind` does socket + bind + listen in one call, so
//! options that must precede `bind` (`SO_REUSEPORT`, `IPV6_V6ONLY`) cannot
//! be set through it; and its `accept` returns a blocking stream that costs
//! one more `fcntl` per connection. Hence these wrappers.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Socket options applied between `socket` and `bind`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BindOptions {
    /// `SO_REUSEADDR`.
    pub(crate) reuse_addr: bool,
    /// `SO_REUSEPORT`.
    pub(crate) reuse_port: bool,
    /// `IPV6_V6ONLY` (IPv6 addresses only).
    pub(crate) v6_only: bool,
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `addr` as a `sockaddr_storage` and its length.
fn to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid value (plain integers).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than, and aligned at least
            // as strictly as, sockaddr_in.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// The address the kernel wrote into `storage`; `None` for a family other
/// than IPv4 / IPv6 or a truncated address.
pub(crate) fn from_sockaddr(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> Option<SocketAddr> {
    let len = len as usize;
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the kernel wrote a sockaddr_in, whose
            // size `len` covers; the storage is suitably aligned.
            let sin: &libc::sockaddr_in = unsafe { &*(&raw const *storage).cast() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6: &libc::sockaddr_in6 = unsafe { &*(&raw const *storage).cast() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Sets an `int` socket option.
pub(crate) fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is valid for reads of the option's size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    cvt(rc).map(drop)
}

/// A new nonblocking, close-on-exec TCP socket bound to `addr`, with
/// `opts` set before the bind (not yet listening).
pub(crate) fn bind_tcp(addr: &SocketAddr, opts: BindOptions) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscall with integer arguments.
    let fd = cvt(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: socket() succeeded; the descriptor is open and owned by
    // nobody else.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    if opts.reuse_addr {
        set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    }
    if opts.reuse_port {
        set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    if opts.v6_only && family == libc::AF_INET6 {
        set_int_option(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: `storage` holds a valid address of `len` bytes.
    cvt(unsafe { libc::bind(fd, (&raw const storage).cast(), len) })?;
    Ok(sock)
}

/// `listen(fd, backlog)`; backlogs above `c_int::MAX` are clamped.
pub(crate) fn listen(fd: RawFd, backlog: u32) -> io::Result<()> {
    let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// `TCP_DEFER_ACCEPT`: wake the listener only once data arrives (for up to
/// `secs` seconds after the handshake).
pub(crate) fn defer_accept(fd: RawFd, secs: libc::c_int) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, secs)
}

/// An all-zero `sockaddr_storage`, for [`accept`] to write into.
#[inline]
pub(crate) fn empty_storage() -> libc::sockaddr_storage {
    // SAFETY: an all-zero sockaddr_storage is a valid value (integers).
    unsafe { std::mem::zeroed() }
}

/// Accepts one connection (`accept4`), nonblocking unless `blocking`, and
/// close-on-exec; the peer's address is written into `peer`, its length
/// returned.
pub(crate) fn accept(
    fd: RawFd,
    blocking: bool,
    peer: &mut libc::sockaddr_storage,
) -> io::Result<(OwnedFd, libc::socklen_t)> {
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let flags = if blocking {
        libc::SOCK_CLOEXEC
    } else {
        libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK
    };
    // SAFETY: `peer` is writable for `len` bytes and `len` is a valid
    // in/out length.
    let new = cvt(unsafe { libc::accept4(fd, (&raw mut *peer).cast(), &mut len, flags) })?;
    // SAFETY: accept4 succeeded; the descriptor is open and ours alone.
    Ok((unsafe { OwnedFd::from_raw_fd(new) }, len))
}

/// The `sun_path` bytes of an `AF_UNIX` address the kernel wrote into
/// `storage` (as many as `len` covers: none for an unnamed socket, a
/// leading NUL for an abstract one); `None` for another family.
pub(crate) fn unix_path(
    storage: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> Option<([u8; 108], usize)> {
    if libc::c_int::from(storage.ss_family) != libc::AF_UNIX {
        return None;
    }
    // SAFETY: the family says the kernel wrote a sockaddr_un; the storage
    // is larger and aligned at least as strictly.
    let sun: &libc::sockaddr_un = unsafe { &*(&raw const *storage).cast() };
    let mut path = [0u8; 108];
    for (b, &c) in path.iter_mut().zip(sun.sun_path.iter()) {
        *b = c as u8;
    }
    let n = (len as usize)
        .saturating_sub(std::mem::offset_of!(libc::sockaddr_un, sun_path))
        .min(path.len());
    Some((path, n))
}

/// The address family of socket `fd` (`getsockname`): fails with
/// `ENOTSOCK` for a descriptor that is not a socket.
pub(crate) fn family(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` is writable for `len` bytes.
    cvt(unsafe { libc::getsockname(fd, (&raw mut storage).cast(), &mut len) })?;
    Ok(libc::c_int::from(storage.ss_family))
}

/// The address `fd` is bound to (`getsockname`).
pub(crate) fn local_addr(fd: RawFd) -> io::Result<SocketAddr> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` is writable for `len` bytes.
    cvt(unsafe { libc::getsockname(fd, (&raw mut storage).cast(), &mut len) })?;
    from_sockaddr(&storage, len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IPv4 or IPv6 socket"))
}

/// The address `fd` is connected to (`getpeername`).
pub(crate) fn peer_addr(fd: RawFd) -> io::Result<SocketAddr> {
    // SAFETY: an all-zero sockaddr_storage is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` is writable for `len` bytes.
    cvt(unsafe { libc::getpeername(fd, (&raw mut storage).cast(), &mut len) })?;
    from_sockaddr(&storage, len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IPv4 or IPv6 socket"))
}

/// Puts `fd` in nonblocking mode.
pub(crate) fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL takes no pointer argument.
    let fl = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    if fl & libc::O_NONBLOCK == 0 {
        // SAFETY: F_SETFL takes an integer argument.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) })?;
    }
    Ok(())
}

/// Sets `FD_CLOEXEC` on `fd`.
pub(crate) fn set_cloexec(fd: &OwnedFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFD takes no pointer argument.
    let fl = cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    if fl & libc::FD_CLOEXEC == 0 {
        // SAFETY: F_SETFD takes an integer argument.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, fl | libc::FD_CLOEXEC) })?;
    }
    Ok(())
}

/// A new nonblocking, close-on-exec TCP socket for `addr`'s family.
pub(crate) fn tcp_socket(addr: &SocketAddr) -> io::Result<RawFd> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })
}

/// Starts a nonblocking connect: `Ok(true)` when connected at once,
/// `Ok(false)` while in progress (`EINPROGRESS`), `Err` when refused or
/// failed immediately.
pub(crate) fn connect(fd: RawFd, addr: &SocketAddr) -> io::Result<bool> {
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: `storage` holds a valid address of `len` bytes.
    let rc = unsafe { libc::connect(fd, (&raw const storage).cast(), len) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINPROGRESS) | Some(libc::EINTR) => Ok(false),
        _ => Err(e),
    }
}

/// The pending error of a socket (`SO_ERROR`, cleared by reading it); 0
/// when none.
pub(crate) fn take_error(fd: RawFd) -> io::Result<i32> {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `err` and `len` are valid for the option's size.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut err).cast(),
            &mut len,
        )
    })?;
    Ok(err)
}

/// Sets `TCP_NODELAY`.
pub(crate) fn set_nodelay(fd: RawFd, on: bool) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, on.into())
}

/// Shuts down the sending side of `fd` (`shutdown(SHUT_WR)`): the peer
/// reads EOF once what was sent arrives; receiving goes on.
pub(crate) fn shutdown_write(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor the caller holds; no memory
    // is passed.
    cvt(unsafe { libc::shutdown(fd, libc::SHUT_WR) }).map(|_| ())
}

/// Closes `fd`, which the caller owns and never uses again.
pub(crate) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd`; errors (EINTR) leave it closed on
    // Linux, so there is nothing to retry.
    unsafe { libc::close(fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trips() {
        for s in ["127.0.0.1:9", "[::1]:65535", "[fe80::1%2]:80"] {
            let a: SocketAddr = s.parse().unwrap();
            let (storage, len) = to_sockaddr(&a);
            assert_eq!(from_sockaddr(&storage, len), Some(a), "{s}");
        }
    }

    #[test]
    fn bind_listen_accept() {
        let sock = bind_tcp(&"127.0.0.1:0".parse().unwrap(), BindOptions::default()).unwrap();
        let fd = sock.as_raw_fd();
        listen(fd, 8).unwrap();
        let addr = local_addr(fd).unwrap();
        assert_ne!(addr.port(), 0);
        let mut raw = empty_storage();
        let err = accept(fd, false, &mut raw).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (conn, len) = loop {
            match accept(fd, false, &mut raw) {
                Ok(c) => break c,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(from_sockaddr(&raw, len), Some(client.local_addr().unwrap()));
        assert_eq!(unix_path(&raw, len), None);
        assert_eq!(family(fd).unwrap(), libc::AF_INET);
        assert_eq!(crate::sys::fd::is_nonblocking(conn.as_raw_fd()), Some(true));
    }

    #[test]
    fn refused_connect_reports_an_error() {
        // A port nobody listens on: bind, read the port, close.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let fd = tcp_socket(&addr).unwrap();
        match connect(fd, &addr) {
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED)),
            Ok(true) => panic!("connected to a closed port"),
            Ok(false) => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut pfd, 1, 1000) };
                assert_eq!(take_error(fd).unwrap(), libc::ECONNREFUSED);
            }
        }
        set_nodelay(fd, true).unwrap();
        close(fd);
    }
}
