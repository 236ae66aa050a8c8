//! Byte I/O for evbuffers: `readv` into chain room, `send` / `sendmsg`
//! (with `MSG_NOSIGNAL`) or `write` / `writev` from chains, `sendfile` for
//! file segments, and `mmap` / `pread` to load them.
//!
//! Writes to sockets never raise `SIGPIPE`: they go through `send` /
//! `sendmsg` with `MSG_NOSIGNAL`, falling back to `write` / `writev` when
//! the descriptor is not a socket (`ENOTSOCK`: pipes, files). `sendfile`
//! cannot take that flag, so it runs with `SIGPIPE` blocked; see
//! [`sendfile`].

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::ptr::NonNull;

/// Most slices one vectored write takes (libevent's `NUM_WRITE_IOVEC`
/// is 128 where `IOV_MAX` allows; 64 keeps the array on the stack small).
pub(crate) const MAX_WRITE_IOV: usize = 64;

/// Most extents one read fills (libevent's `NUM_READ_IOVEC`).
pub(crate) const MAX_READ_IOV: usize = 4;

fn result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `readv(fd, iov)`: the bytes read (`Ok(0)` at end of file). With
/// `socket` and a single extent it is `recv`, which skips the VFS layer
/// `readv` goes through (falling back to `readv` if `fd` is no socket).
///
/// # Safety
/// Every iovec in `iov` must describe memory valid for writes of
/// `iov_len` bytes that nothing else accesses during the call.
pub(crate) unsafe fn readv(fd: RawFd, iov: &[libc::iovec], socket: bool) -> io::Result<usize> {
    debug_assert!(!iov.is_empty() && iov.len() <= MAX_READ_IOV);
    if socket && iov.len() == 1 {
        // SAFETY: the caller guarantees the extent is writable.
        let r = unsafe { libc::recv(fd, iov[0].iov_base, iov[0].iov_len, 0) };
        match result(r) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {}
            r => return r,
        }
    }
    // SAFETY: the caller guarantees every extent is writable; the array is
    // `iov.len()` initialised iovecs.
    let n = unsafe { libc::readv(fd, iov.as_ptr(), iov.len() as libc::c_int) };
    result(n)
}

/// Writes the slices `chunks` yields (at most [`MAX_WRITE_IOV`]; empty
/// ones are skipped) with one system call: `send` for one slice,
/// `sendmsg` for several, both with `MSG_NOSIGNAL`; `write` / `writev`
/// when `fd` is not a socket. Returns the bytes written.
pub(crate) fn write_chunks<'a>(
    fd: RawFd,
    chunks: impl Iterator<Item = &'a [u8]>,
) -> io::Result<usize> {
    let mut iov = [const { MaybeUninit::<libc::iovec>::uninit() }; MAX_WRITE_IOV];
    let mut n = 0;
    for c in chunks {
        if c.is_empty() {
            continue;
        }
        if n == MAX_WRITE_IOV {
            break;
        }
        iov[n].write(libc::iovec {
            iov_base: c.as_ptr().cast_mut().cast(),
            iov_len: c.len(),
        });
        n += 1;
    }
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: the first `n` entries were written above.
    let iov: &[libc::iovec] = unsafe { std::slice::from_raw_parts(iov.as_ptr().cast(), n) };
    if n == 1 {
        // SAFETY: the extent is a live shared slice of `iov_len` bytes.
        let r = unsafe { libc::send(fd, iov[0].iov_base, iov[0].iov_len, libc::MSG_NOSIGNAL) };
        return match result(r) {
            Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {
                // SAFETY: as above.
                result(unsafe { libc::write(fd, iov[0].iov_base, iov[0].iov_len) })
            }
            r => r,
        };
    }
    // SAFETY: an all-zero msghdr is valid (no address, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_ptr().cast_mut();
    msg.msg_iovlen = n as _;
    // SAFETY: `msg` points at `n` iovecs over live shared slices; the
    // kernel only reads them.
    let r = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
    match result(r) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {
            // SAFETY: as above.
            result(unsafe { libc::writev(fd, iov.as_ptr(), n as libc::c_int) })
        }
        r => r,
    }
}

/// `sendfile(out, in_fd, offset, count)`: copies file bytes to `out` in
/// the kernel.
///
/// `sendfile` cannot take `MSG_NOSIGNAL`, so a peer that hung up would
/// raise `SIGPIPE`; the promise of every evbuffer write is `EPIPE`
/// instead. So `SIGPIPE` is blocked on this thread for the call, and a
/// `SIGPIPE` the call raised is taken back out of the pending set before
/// the mask is restored — one that was pending before stays pending.
/// Four cheap syscalls around one that moves a file: sendfile is never on
/// the small-message path.
pub(crate) fn sendfile(out: RawFd, in_fd: RawFd, offset: u64, count: usize) -> io::Result<usize> {
    let mut off =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let guard = SigpipeBlock::new();
    // SAFETY: `off` is a live local the kernel updates.
    let r = result(unsafe { libc::sendfile(out, in_fd, &mut off, count) });
    if matches!(&r, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
        guard.take_raised();
    }
    r
}

/// `SIGPIPE` blocked on the calling thread while this lives; the old mask
/// comes back on drop.
struct SigpipeBlock {
    old: libc::sigset_t,
    /// `SIGPIPE` was pending (raised before the block) — not ours to take.
    was_pending: bool,
}

impl SigpipeBlock {
    fn new() -> SigpipeBlock {
        let set = sigpipe_set();
        // SAFETY: an all-zero sigset_t is a valid value to be overwritten.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is initialised; `old` is a live local the call fills.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
        // SAFETY: as above.
        let mut pending: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `pending` is a live local the call fills.
        unsafe { libc::sigpending(&mut pending) };
        // SAFETY: `pending` was initialised by sigpending.
        let was_pending = unsafe { libc::sigismember(&pending, libc::SIGPIPE) } == 1;
        SigpipeBlock { old, was_pending }
    }

    /// Takes the `SIGPIPE` a failed write raised on this thread out of the
    /// pending set, so unblocking does not deliver it.
    fn take_raised(&self) {
        if self.was_pending {
            return;
        }
        let set = sigpipe_set();
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `set` and `zero` are initialised locals; a null info
        // pointer is allowed. With a zero timeout the call never blocks.
        unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) };
    }
}

impl Drop for SigpipeBlock {
    fn drop(&mut self) {
        // SAFETY: `old` is the mask saved by `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

fn sigpipe_set() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is a valid value for sigemptyset to fill.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live local.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
    }
    set
}

/// `pread` until `buf` is full or end of file; returns the bytes read.
pub(crate) fn pread_full(fd: RawFd, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let off = libc::off_t::try_from(offset + done as u64)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let n = unsafe { libc::pread(fd, rest.as_mut_ptr().cast(), rest.len(), off) };
        match result(n) {
            Ok(0) => break,
            Ok(k) => done += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A read-only private mapping of a file range; unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    base: NonNull<u8>,
    map_len: usize,
    /// Offset of the requested range inside the mapping (page rounding).
    delta: usize,
    len: usize,
}

impl Mapping {
    /// Maps `len` (non-zero) bytes of `fd` from `offset`.
    pub(crate) fn new(fd: RawFd, offset: u64, len: usize) -> io::Result<Mapping> {
        // SAFETY: sysconf has no memory preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let start = offset - offset % page;
        let delta = (offset - start) as usize;
        let map_len = delta
            .checked_add(len)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        if len == 0 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let off = libc::off_t::try_from(start)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh private read-only mapping at an address of the
        // kernel's choosing; it aliases no Rust memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                fd,
                off,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap at 0"))?;
        Ok(Mapping {
            base,
            map_len,
            delta,
            len,
        })
    }

    /// The mapped bytes of the requested range. A file truncated by
    /// someone else after mapping makes reads past its end fault
    /// (`SIGBUS`), as with every `mmap` user; rvent maps only files the
    /// caller handed over.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `[delta, delta + len)` lies in the live read-only mapping
        // of `map_len` bytes, which lives until `drop`.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(self.delta), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are the mapping made in `new`, unmapped
        // only here.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.map_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// `readv` into one extent with the socket hint: `recv` on a socket,
    /// the `readv` fallback on a pipe.
    #[test]
    fn socket_hint_reads_sockets_and_pipes() {
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.write_all(b"sock").unwrap();
        let (r, w) = crate::sys::fd::pipe().unwrap();
        let mut w = std::fs::File::from(w);
        w.write_all(b"pipe").unwrap();
        for (fd, want) in [(b.as_raw_fd(), b"sock"), (r.as_raw_fd(), b"pipe")] {
            let mut buf = [0u8; 8];
            let iov = [libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            }];
            // SAFETY: `buf` is writable and only the kernel touches it.
            let n = unsafe { readv(fd, &iov, true) }.unwrap();
            assert_eq!(&buf[..n], want);
        }
    }
}
