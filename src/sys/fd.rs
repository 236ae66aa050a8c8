//! Descriptor helpers: nonblocking pipes and flag queries.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A nonblocking, close-on-exec pipe: `(read end, write end)`.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by
    // nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Reads up to `buf.len()` bytes; `Ok(0)` at end of file.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `Some(true)` if `fd` is open and in nonblocking mode, `None` if not open.
pub(crate) fn is_nonblocking(fd: RawFd) -> Option<bool> {
    // SAFETY: F_GETFL takes no pointer argument; a bad fd yields -1.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        None
    } else {
        Some(fl & libc::O_NONBLOCK != 0)
    }
}
