//! The accept path: what the listener's read event runs when the socket is
//! readable, the accept errors, and the pause-and-retry after one (a
//! retry whose read event cannot be added again is reported as one more
//! accept error).
//!
//! One wakeup looks the listener's record up once, takes the accept
//! callback out and accepts until `EAGAIN`, the per-wakeup cap, or the
//! listener is disabled or freed by a callback. Between connections it
//! reads one counter (the table's change count) and re-reads the record
//! only when a callback changed some listener, so an accepted connection
//! costs the `accept` call and the callback. A callback runs under
//! `catch_unwind` so that a panic can put it back in its record — the
//! listener keeps its callbacks — before the panic goes on unwinding out
//! of the loop, which drops the read event's closure (`enable` assigns a
//! new one).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use crate::base::EventBase;
use crate::error::Error;
use crate::ev::Ev;
use crate::handle::Event;
use crate::sys::socket;

use super::handle::ConnListener;
use super::options::ListenerOptions;
use super::peer::PeerAddr;
use super::table::{AcceptFn, ListenerHost, st};

impl ConnListener {
    /// Most connections one wakeup accepts before the loop runs other
    /// events; the rest are accepted on the next iteration (the socket is
    /// still readable).
    pub const ACCEPTS_PER_WAKEUP: usize = 64;

    /// How long a listener pauses after a non-retriable accept error
    /// (`EMFILE`…) before it tries again.
    pub const RETRY_DELAY: Duration = Duration::from_millis(100);
}

/// The read event's callback: the handle is all it keeps.
pub(super) fn read_fn<X: ListenerHost>(
    lev: ConnListener,
) -> impl FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static {
    move |base, _ev, _fd, _what| accept_ready(base, lev)
}

/// The read event fired: accept until `EAGAIN`, the per-wakeup cap, or the
/// listener is disabled or freed by a callback.
fn accept_ready<X: ListenerHost>(base: &mut EventBase<X>, lev: ConnListener) {
    let t = base.ext.listeners_mut();
    let mut changes = t.changes();
    let Some(r) = t.get_mut(lev) else {
        return;
    };
    if r.state & (st::ENABLED | st::PAUSED) != st::ENABLED {
        return;
    }
    let fd = r.sock.as_raw_fd();
    let blocking = r.opts.contains(ListenerOptions::LEAVE_SOCKETS_BLOCKING);
    let mut cb = r.take_cb();
    let mut accepted = false;
    let mut raw = socket::empty_storage();
    for _ in 0..ConnListener::ACCEPTS_PER_WAKEUP {
        match socket::accept(fd, blocking, &mut raw) {
            Ok((conn, len)) => {
                accepted = true;
                // No usable address (old kernels on some port scans): close
                // it, as libevent; no callback: close it too.
                let Some(peer) = PeerAddr::from_raw(&raw, len) else {
                    continue;
                };
                let Some(f) = cb.as_mut() else { continue };
                let ran = panic::catch_unwind(AssertUnwindSafe(|| f(base, lev, conn, peer)));
                if let Err(panic) = ran {
                    give_back(base, lev, cb, accepted);
                    poison(base, lev);
                    panic::resume_unwind(panic);
                }
                let t = base.ext.listeners_mut();
                if t.changes() != changes {
                    // The callback changed some listener: read ours again.
                    changes = t.changes();
                    let Some(r) = t.get_mut(lev) else {
                        return; // freed: the callback drops here
                    };
                    if r.cb_replaced() {
                        // Replaced: the new one serves the next connection.
                        cb = r.take_cb();
                    }
                    if r.state & (st::ENABLED | st::PAUSED) != st::ENABLED {
                        r.put_back_cb(cb);
                        r.clear(st::WARNED);
                        return;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if retriable(&e) => {}
            Err(e) => {
                give_back(base, lev, cb, accepted);
                accept_failed(base, lev, e);
                return;
            }
        }
    }
    give_back(base, lev, cb, accepted);
}

/// The end of a wakeup: the accept callback goes back (unless replaced),
/// and a successful accept ends an accept-error episode.
fn give_back<X: ListenerHost>(
    base: &mut EventBase<X>,
    lev: ConnListener,
    cb: Option<AcceptFn<X>>,
    accepted: bool,
) {
    if let Some(r) = base.ext.listeners_mut().get_mut(lev) {
        r.put_back_cb(cb);
        if accepted {
            r.clear(st::WARNED);
        }
    }
}

/// A callback panicked: the loop drops the read event's closure and
/// deletes the event, so the listener is disabled until `enable`.
#[cold]
fn poison<X: ListenerHost>(base: &mut EventBase<X>, lev: ConnListener) {
    if let Some(r) = base.ext.listeners_mut().get_mut(lev) {
        r.clear(st::ENABLED | st::PAUSED);
        r.set(st::POISONED);
    }
}

/// A non-retriable accept error: error callback or one log line, then a
/// pause if the listener is still enabled.
#[cold]
fn accept_failed<X: ListenerHost>(base: &mut EventBase<X>, lev: ConnListener, e: io::Error) {
    let Some(r) = base.ext.listeners_mut().get_mut(lev) else {
        return;
    };
    match r.take_errcb() {
        Some(mut f) => {
            let ran = panic::catch_unwind(AssertUnwindSafe(|| f(base, lev, e)));
            if let Some(r) = base.ext.listeners_mut().get_mut(lev) {
                r.put_back_errcb(f);
            }
            if let Err(panic) = ran {
                poison(base, lev);
                panic::resume_unwind(panic);
            }
        }
        None if !r.is(st::WARNED) => {
            r.set(st::WARNED);
            crate::log::warn(format_args!(
                "listener on fd {}: accept failed: {e}; retrying every {} ms",
                r.sock.as_raw_fd(),
                ConnListener::RETRY_DELAY.as_millis()
            ));
        }
        None => {}
    }
    if base
        .ext
        .listeners()
        .get(lev)
        .is_some_and(|r| r.is(st::ENABLED))
    {
        pause(base, lev);
    }
}

/// Deletes the read event and arms the retry timer. If the timer cannot be
/// made (allocation failure) the event stays added: retrying at every
/// iteration beats never recovering.
fn pause<X: ListenerHost>(base: &mut EventBase<X>, lev: ConnListener) {
    let Some(r) = base.ext.listeners().get(lev) else {
        return;
    };
    let (ev, retry) = (r.ev, r.retry);
    let timer = match retry {
        Some(t) => t,
        None => match Event::timer(base, move |base, _timer, _fd, _what| resume(base, lev)) {
            Ok(t) => {
                if let Some(r) = base.ext.listeners_mut().get_mut(lev) {
                    r.retry = Some(t);
                }
                t
            }
            Err(_) => return,
        },
    };
    if timer.add(base, Some(ConnListener::RETRY_DELAY)).is_ok()
        && ev.del(base).is_ok()
        && let Some(r) = base.ext.listeners_mut().get_mut(lev)
    {
        r.set(st::PAUSED);
    }
}

/// The retry timer's callback: re-adds the read event of a listener still
/// paused. A read event that cannot be added is an accept error like the
/// others (error callback or one log line, then another pause), so the
/// listener never stops accepting unseen.
fn resume<X: ListenerHost>(base: &mut EventBase<X>, lev: ConnListener) {
    let Some(r) = base.ext.listeners_mut().get_mut(lev) else {
        return;
    };
    if r.state & (st::ENABLED | st::PAUSED) != st::ENABLED | st::PAUSED {
        return;
    }
    r.clear(st::PAUSED);
    let ev = r.ev;
    if let Err(e) = ev.add(base, None) {
        accept_failed(base, lev, errno_of(e));
    }
}

/// `e` as the `io::Error` an error callback gets, without allocating:
/// an OS error as it is, a failed allocation as `ENOMEM`, anything else
/// (the fd cannot be watched as asked) as `EINVAL`.
#[cold]
fn errno_of(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        Error::Alloc => io::Error::from_raw_os_error(libc::ENOMEM),
        _ => io::Error::from_raw_os_error(libc::EINVAL),
    }
}

/// Stops the retry timer, if there is one (`enable` / `disable`).
pub(super) fn stop_retry<X: ListenerHost>(base: &mut EventBase<X>, retry: Option<Event>) {
    if let Some(t) = retry {
        let _ = t.del(base);
    }
}

/// Accept errors that say nothing about the listener: retry at once.
/// Besides `EINTR` and `ECONNABORTED`, Linux's `accept(2)` passes pending
/// network errors of the new connection through `accept`, to be treated
/// like `EAGAIN` (its list also has `EOPNOTSUPP`, left out here: it is
/// also what a socket that cannot accept at all returns, forever).
fn retriable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EINTR
                | libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_reach_the_error_callback_as_errnos() {
        let eio = io::Error::from_raw_os_error(libc::EIO);
        assert_eq!(errno_of(Error::Io(eio)).raw_os_error(), Some(libc::EIO));
        assert_eq!(errno_of(Error::Alloc).raw_os_error(), Some(libc::ENOMEM));
        let bad = Error::InvalidArgument("mixed triggers");
        assert_eq!(errno_of(bad).raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn retriable_errors() {
        for e in [libc::EINTR, libc::ECONNABORTED, libc::EPROTO] {
            assert!(retriable(&io::Error::from_raw_os_error(e)));
        }
        for e in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::EINVAL,
        ] {
            assert!(!retriable(&io::Error::from_raw_os_error(e)));
        }
    }
}
