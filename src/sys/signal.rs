//! The process-wide signal handler and its self-pipe (libevent's evsig).
//!
//! One handler serves every signal rvent watches: it writes the signal
//! number as one byte into the write end of the pipe of the base that
//! currently receives signals ([`set_target`]), an async-signal-safe
//! operation. The base reads the pipe from its loop. The previous
//! `sigaction` of each signal is saved when the first event for it is added
//! and restored when the last one goes.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// Write end of the pipe of the base that receives signals, or -1.
static TARGET: AtomicI32 = AtomicI32::new(-1);

/// Largest signal number + 1 (`NSIG`).
pub(crate) const NSIG: i32 = 65;

/// Routes future signal deliveries to `fd` (or nowhere with -1).
pub(crate) fn set_target(fd: RawFd) {
    TARGET.store(fd, Ordering::SeqCst);
}

/// Stops routing to `fd` if it is the current target.
pub(crate) fn clear_target(fd: RawFd) {
    let _ = TARGET.compare_exchange(fd, -1, Ordering::SeqCst, Ordering::SeqCst);
}

extern "C" fn handler(sig: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot; saving and
    // restoring it keeps the interrupted code's errno intact.
    let errno = unsafe { *libc::__errno_location() };
    let fd = TARGET.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: write(2) is async-signal-safe; `byte` is a valid 1-byte
        // buffer. A full pipe drops the byte, which only coalesces signals.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// A saved `sigaction`, restored by [`restore`].
pub(crate) struct Saved(libc::sigaction);

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Saved(sigaction)")
    }
}

/// Installs rvent's handler for `sig` and returns the previous action.
pub(crate) fn install(sig: i32) -> io::Result<Saved> {
    // SAFETY: zeroed sigaction is a valid "no flags, empty mask" value; we
    // then fill the handler and mask through libc's own helpers.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler as *const () as libc::sighandler_t;
    sa.sa_flags = libc::SA_RESTART;
    // SAFETY: sa.sa_mask is a valid sigset_t owned by `sa`.
    unsafe { libc::sigfillset(&mut sa.sa_mask) };
    // SAFETY: as for `sa`.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to valid sigaction structs; an invalid or
    // uncatchable signal number yields -1/EINVAL.
    let rc = unsafe { libc::sigaction(sig, &sa, &mut old) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Saved(old))
}

/// Puts back the action saved by [`install`].
pub(crate) fn restore(sig: i32, saved: &Saved) -> io::Result<()> {
    // SAFETY: `saved.0` came from a successful sigaction call.
    let rc = unsafe { libc::sigaction(sig, &saved.0, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
