//! `poll(2)`: the system call of the poll backend (`crate::pollset`).

use std::io;

/// One watched descriptor: `struct pollfd` (`fd`, requested `events`,
/// returned `revents`).
pub(crate) type PollFd = libc::pollfd;

pub(crate) const IN: i16 = libc::POLLIN;
pub(crate) const OUT: i16 = libc::POLLOUT;
pub(crate) const RDHUP: i16 = libc::POLLRDHUP;
pub(crate) const ERR: i16 = libc::POLLERR;
pub(crate) const HUP: i16 = libc::POLLHUP;
pub(crate) const NVAL: i16 = libc::POLLNVAL;

/// Waits until a descriptor of `fds` is ready or `timeout_ms` passed (-1:
/// forever); returns how many have `revents` set. An interrupted wait
/// reports nothing.
pub(crate) fn wait(fds: &mut [PollFd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is valid for reads and writes of `fds.len()` pollfd
    // structs; the kernel writes only their `revents`.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n >= 0 {
        return Ok(n as usize);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::Interrupted {
        Ok(0)
    } else {
        Err(e)
    }
}
