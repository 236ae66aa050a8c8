//! A periodic kernel timer as a descriptor (`timerfd`): the base's
//! housekeeping tick, which wakes a blocked `epoll_wait` without taking a
//! place in the timer heap (an entry there would make every loop iteration
//! read the clock).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A nonblocking, close-on-exec `CLOCK_MONOTONIC` timer, disarmed.
pub(crate) fn create() -> io::Result<OwnedFd> {
    // SAFETY: no pointer arguments.
    let fd = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: timerfd_create succeeded, so `fd` is open and owned by
    // nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Arms `fd` to expire every `every` (the first time `every` from now),
/// or disarms it with `None`.
pub(crate) fn set_periodic(fd: &OwnedFd, every: Option<Duration>) -> io::Result<()> {
    let ts = |d: Duration| libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // A zero value would disarm: an armed tick is at least 1 ns.
    let d = every.map(|d| d.max(Duration::from_nanos(1)));
    let zero = Duration::ZERO;
    let spec = libc::itimerspec {
        it_interval: ts(d.unwrap_or(zero)),
        it_value: ts(d.unwrap_or(zero)),
    };
    // SAFETY: `spec` is a valid itimerspec; the old value is not asked for.
    let rc = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Consumes the expirations counted so far (so a level-triggered
/// registration stops reporting it); how many there were.
pub(crate) fn take_expirations(fd: RawFd) -> u64 {
    let mut n = [0u8; 8];
    match super::fd::read(fd, &mut n) {
        Ok(8) => u64::from_ne_bytes(n),
        _ => 0,
    }
}
