//! A counter descriptor (`eventfd`): the poll backend's cross-thread
//! waker. (On epoll, mio's `Waker` is one too, registered edge-triggered;
//! poll has no edge trigger, so the loop drains this one when it fires.)

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A nonblocking, close-on-exec counter at zero.
pub(crate) fn create() -> io::Result<OwnedFd> {
    // SAFETY: no pointer arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: eventfd succeeded, so `fd` is open and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to the counter, making the descriptor readable. A full
/// counter (`EAGAIN`) is readable already, so that is success too.
pub(crate) fn signal(fd: RawFd) -> io::Result<()> {
    let one = 1u64.to_ne_bytes();
    // SAFETY: `one` is valid for reads of its 8 bytes.
    let n = unsafe { libc::write(fd, one.as_ptr().cast(), one.len()) };
    if n >= 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(())
    } else {
        Err(e)
    }
}

/// Resets the counter to zero, so the descriptor stops being readable.
pub(crate) fn drain(fd: RawFd) {
    let mut n = [0u8; 8];
    // Nothing to read (`EAGAIN`) means nothing to reset.
    let _ = super::fd::read(fd, &mut n);
}
