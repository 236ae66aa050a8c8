//! The `evutil_*` helpers programs use: sockets, time, errors, strings.
//! Thin wrappers over the C library, as libevent's are on Linux.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use libc::{sockaddr, socklen_t, timeval};

use crate::abi::EvutilSocket;

/// Sets a file status flag on `fd`.
fn fcntl_or(fd: c_int, get: c_int, set: c_int, flag: c_int) -> c_int {
    // SAFETY: fcntl on a caller's fd; a bad fd fails with EBADF.
    unsafe {
        let old = libc::fcntl(fd, get);
        if old < 0 || (old & flag == 0 && libc::fcntl(fd, set, old | flag) < 0) {
            return -1;
        }
    }
    0
}

/// `evutil_make_socket_nonblocking`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_socket_nonblocking(fd: EvutilSocket) -> c_int {
    fcntl_or(fd, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)
}

/// `evutil_make_socket_closeonexec`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_socket_closeonexec(fd: EvutilSocket) -> c_int {
    fcntl_or(fd, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)
}

/// Sets an `int` socket option to 1.
fn sockopt_on(fd: c_int, level: c_int, name: c_int) -> c_int {
    let one: c_int = 1;
    // SAFETY: a valid int option value.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            ptr::addr_of!(one).cast(),
            size_of::<c_int>() as socklen_t,
        )
    }
}

/// `evutil_make_listen_socket_reuseable`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_listen_socket_reuseable(fd: EvutilSocket) -> c_int {
    sockopt_on(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR)
}

/// `evutil_make_listen_socket_reuseable_port`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_listen_socket_reuseable_port(fd: EvutilSocket) -> c_int {
    sockopt_on(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT)
}

/// `evutil_make_tcp_listen_socket_deferred`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_make_tcp_listen_socket_deferred(fd: EvutilSocket) -> c_int {
    sockopt_on(fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT)
}

/// `evutil_closesocket`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_closesocket(fd: EvutilSocket) -> c_int {
    // SAFETY: closing a caller's fd.
    unsafe { libc::close(fd) }
}

/// `evutil_socketpair`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_socketpair(
    family: c_int,
    ty: c_int,
    protocol: c_int,
    fds: *mut EvutilSocket,
) -> c_int {
    if fds.is_null() {
        return -1;
    }
    // SAFETY: `fds` has room for two ints (caller's promise).
    unsafe { libc::socketpair(family, ty, protocol, fds) }
}

/// `evutil_gettimeofday`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_gettimeofday(tv: *mut timeval, _tz: *mut c_void) -> c_int {
    if tv.is_null() {
        return -1;
    }
    // SAFETY: a valid timeval (caller's promise).
    unsafe { libc::gettimeofday(tv, ptr::null_mut()) }
}

/// `evutil_socket_geterror`: `errno` on Unix.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_socket_geterror(_fd: EvutilSocket) -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `evutil_socket_error_to_string`: `strerror`.
#[unsafe(no_mangle)]
pub extern "C" fn evutil_socket_error_to_string(err: c_int) -> *const c_char {
    // SAFETY: strerror returns a static or thread-local string.
    unsafe { libc::strerror(err) }
}

/// `evutil_strtoll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_strtoll(
    s: *const c_char,
    endptr: *mut *mut c_char,
    base: c_int,
) -> i64 {
    // SAFETY: a NUL-terminated string (caller's promise).
    unsafe { libc::strtoll(s, endptr, base) }
}

/// `evutil_ascii_strcasecmp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_ascii_strcasecmp(a: *const c_char, b: *const c_char) -> c_int {
    // SAFETY: NUL-terminated strings.
    unsafe { evutil_ascii_strncasecmp(a, b, usize::MAX) }
}

/// `evutil_ascii_strncasecmp` (locale-independent, as libevent's).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_ascii_strncasecmp(
    a: *const c_char,
    b: *const c_char,
    n: usize,
) -> c_int {
    for i in 0..n {
        // SAFETY: both strings are read up to their NUL at most.
        let (x, y) = unsafe { (*a.add(i) as u8, *b.add(i) as u8) };
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return c_int::from(x) - c_int::from(y);
        }
        if x == 0 {
            break;
        }
    }
    0
}

/// `evutil_inet_ntop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_inet_ntop(
    af: c_int,
    src: *const c_void,
    dst: *mut c_char,
    len: usize,
) -> *const c_char {
    // SAFETY: forwarded contract of inet_ntop.
    unsafe { inet_ntop(af, src, dst, len as socklen_t) }
}

/// `evutil_inet_pton`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_inet_pton(
    af: c_int,
    src: *const c_char,
    dst: *mut c_void,
) -> c_int {
    // SAFETY: forwarded contract of inet_pton.
    unsafe { inet_pton(af, src, dst) }
}

unsafe extern "C" {
    fn inet_ntop(af: c_int, src: *const c_void, dst: *mut c_char, size: socklen_t)
    -> *const c_char;
    fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
}

/// `evutil_sockaddr_cmp`-free helper for the listener: a `sockaddr` of a
/// socket address.
pub(crate) fn sockaddr_of(addr: &std::net::SocketAddr) -> (libc::sockaddr_storage, socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        std::net::SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough.
            let sin = unsafe { &mut *ptr::addr_of_mut!(ss).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(a) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *ptr::addr_of_mut!(ss).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as socklen_t)
}

/// A socket address from a C `sockaddr` (IPv4 / IPv6 only).
///
/// # Safety
/// `sa` points to `len` readable bytes.
pub(crate) unsafe fn socket_addr(sa: *const sockaddr, len: c_int) -> Option<std::net::SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    if sa.is_null() {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    // SAFETY: `len` readable bytes, checked against each family's size.
    unsafe {
        match c_int::from((*sa).sa_family) {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                let s = &*sa.cast::<libc::sockaddr_in>();
                let ip = Ipv4Addr::from(s.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddrV4::new(ip, u16::from_be(s.sin_port)).into())
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                let s = &*sa.cast::<libc::sockaddr_in6>();
                let ip = Ipv6Addr::from(s.sin6_addr.s6_addr);
                Some(
                    SocketAddrV6::new(
                        ip,
                        u16::from_be(s.sin6_port),
                        s.sin6_flowinfo,
                        s.sin6_scope_id,
                    )
                    .into(),
                )
            }
            _ => None,
        }
    }
}

/// `struct evutil_weakrand_state` (libevent-internal, exported: its own
/// test suite seeds it at startup).
#[repr(C)]
pub struct WeakrandState {
    seed: u32,
}

/// `evutil_weakrand_seed_`: 0 picks a seed from the time and the pid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_weakrand_seed_(state: *mut WeakrandState, mut seed: u32) -> u32 {
    if seed == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        seed = (t.as_secs() as u32)
            .wrapping_add(t.subsec_micros())
            .wrapping_add(std::process::id());
    }
    if let Some(s) = crate::base::unsafe_mut(state) {
        s.seed = seed;
    }
    seed
}

/// `evutil_weakrand_`: a 31-bit linear congruential generator (the C
/// library's classic `rand` constants); not for secrets.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_weakrand_(state: *mut WeakrandState) -> i32 {
    let Some(s) = crate::base::unsafe_mut(state) else {
        return 0;
    };
    s.seed = s.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7fff_ffff;
    s.seed as i32
}

/// `evutil_weakrand_range_`: uniform in `0..top` (rejection on the high bits).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_weakrand_range_(state: *mut WeakrandState, top: i32) -> i32 {
    if top <= 0 {
        return 0;
    }
    let div = 0x7fff_ffff / top;
    loop {
        // SAFETY: forwarded contract.
        let r = unsafe { evutil_weakrand_(state) } / div;
        if r < top {
            return r;
        }
    }
}

/// `evutil_usleep_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_usleep_(tv: *const timeval) {
    // SAFETY: null or valid.
    if let Some(tv) = unsafe { tv.as_ref() } {
        std::thread::sleep(crate::base::duration(tv));
    }
}

/// `evthread_enable_lock_debugging` (and its misspelled 2.0 alias): there
/// are no locks to debug.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_enable_lock_debugging() {}

/// `evthread_enable_lock_debuging`.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_enable_lock_debuging() {}

/// `evthread_set_lock_callbacks`: accepted and unused (single-threaded
/// base).
#[unsafe(no_mangle)]
pub extern "C" fn evthread_set_lock_callbacks(_cbs: *const c_void) -> c_int {
    0
}

/// `evthread_get_lock_callbacks`: the (never called) lock functions
/// programs may copy.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_get_lock_callbacks() -> *mut c_void {
    crate::data::evthread_lock_fns_.0.get().cast()
}

/// `evthread_get_condition_callbacks`.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_get_condition_callbacks() -> *mut c_void {
    crate::data::evthread_cond_fns_.0.get().cast()
}

/// `evthread_set_condition_callbacks`.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_set_condition_callbacks(_cbs: *const c_void) -> c_int {
    0
}

/// `evthread_set_id_callback`.
#[unsafe(no_mangle)]
pub extern "C" fn evthread_set_id_callback(_f: *const c_void) {}

/// libevent's locale-independent `<ctype.h>` (exported as `EVUTIL_*_`;
/// its headers' macros call them): ASCII only.
macro_rules! ascii_class {
    ($($(#[$doc:meta])* $name:ident => $test:expr;)*) => {$(
        $(#[$doc])*
        #[allow(non_snake_case)]
        #[unsafe(no_mangle)]
        pub extern "C" fn $name(c: c_char) -> c_int {
            let f: fn(&u8) -> bool = $test;
            c_int::from(f(&(c as u8)))
        }
    )*};
}
ascii_class! {
    /// `EVUTIL_ISALPHA_`.
    EVUTIL_ISALPHA_ => u8::is_ascii_alphabetic;
    /// `EVUTIL_ISALNUM_`.
    EVUTIL_ISALNUM_ => u8::is_ascii_alphanumeric;
    /// `EVUTIL_ISSPACE_` (libevent's set: space, \t \n \v \f \r).
    EVUTIL_ISSPACE_ => |c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    /// `EVUTIL_ISDIGIT_`.
    EVUTIL_ISDIGIT_ => u8::is_ascii_digit;
    /// `EVUTIL_ISXDIGIT_`.
    EVUTIL_ISXDIGIT_ => u8::is_ascii_hexdigit;
    /// `EVUTIL_ISPRINT_`.
    EVUTIL_ISPRINT_ => |c| (0x20..0x7f).contains(c);
    /// `EVUTIL_ISLOWER_`.
    EVUTIL_ISLOWER_ => u8::is_ascii_lowercase;
    /// `EVUTIL_ISUPPER_`.
    EVUTIL_ISUPPER_ => u8::is_ascii_uppercase;
}

/// `EVUTIL_TOUPPER_`.
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
pub extern "C" fn EVUTIL_TOUPPER_(c: c_char) -> c_char {
    (c as u8).to_ascii_uppercase() as c_char
}

/// `EVUTIL_TOLOWER_`.
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
pub extern "C" fn EVUTIL_TOLOWER_(c: c_char) -> c_char {
    (c as u8).to_ascii_lowercase() as c_char
}

/// `evutil_socket_connect_` (libevent-internal, exported; its tests use
/// it): a non-blocking connect, making the socket when `*fd_ptr` < 0.
/// 1 connected, 0 in progress, 2 refused, -1 error (a socket this call
/// made is then closed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_socket_connect_(
    fd_ptr: *mut EvutilSocket,
    sa: *const sockaddr,
    socklen: c_int,
) -> c_int {
    // SAFETY: the caller's promise: a valid fd slot and address.
    let (Some(fdp), false) = (unsafe { fd_ptr.as_mut() }, sa.is_null()) else {
        return -1;
    };
    let made = *fdp < 0;
    // SAFETY: plain socket calls on the caller's address.
    unsafe {
        if made {
            let fd = libc::socket(
                c_int::from((*sa).sa_family),
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            );
            if fd < 0 {
                return -1;
            }
            *fdp = fd;
        }
        if libc::connect(*fdp, sa, socklen as socklen_t) == 0 {
            return 1;
        }
        match *libc::__errno_location() {
            libc::EINPROGRESS | libc::EINTR => 0,
            libc::ECONNREFUSED => 2,
            _ => {
                if made {
                    libc::close(*fdp);
                    *fdp = -1;
                }
                -1
            }
        }
    }
}

/// `evutil_getaddrinfo`: the system's `getaddrinfo` (libevent's
/// `struct evutil_addrinfo`, `EVUTIL_AI_*` and `EVUTIL_EAI_*` are the
/// system's on Linux).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const libc::addrinfo,
    res: *mut *mut libc::addrinfo,
) -> c_int {
    // SAFETY: getaddrinfo's contract is the caller's.
    unsafe { libc::getaddrinfo(node, service, hints, res) }
}

/// `evutil_freeaddrinfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_freeaddrinfo(ai: *mut libc::addrinfo) {
    if !ai.is_null() {
        // SAFETY: from evutil_getaddrinfo (caller).
        unsafe { libc::freeaddrinfo(ai) }
    }
}

/// `evutil_format_sockaddr_port_` (libevent-internal, exported, used by
/// its tests): `ip:port` or `[ip6]:port` into `out`, NUL-terminated and
/// cut to `outlen`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evutil_format_sockaddr_port_(
    sa: *const sockaddr,
    out: *mut c_char,
    outlen: usize,
) -> *const c_char {
    use std::io::Write as _;
    let mut text = [0u8; 128];
    let mut w = &mut text[..];
    // SAFETY: a sockaddr of its family's size (caller).
    let _ = match unsafe { socket_addr(sa, size_of::<libc::sockaddr_in6>() as c_int) } {
        Some(a) => write!(w, "{a}"),
        // SAFETY: as above.
        None if !sa.is_null() => write!(w, "<addr with socktype {}>", unsafe { (*sa).sa_family }),
        None => Ok(()),
    };
    let n = (128 - w.len()).min(outlen.saturating_sub(1));
    if !out.is_null() && outlen > 0 {
        // SAFETY: `outlen` writable bytes (caller).
        unsafe {
            ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), out, n);
            *out.add(n) = 0;
        }
    }
    out
}
