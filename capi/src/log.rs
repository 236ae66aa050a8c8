//! `event_set_log_callback`, `event_set_fatal_callback`, debug logging and
//! debug mode: rvent's global callbacks, called with C strings.

use std::ffi::{c_char, c_int};
use std::io::Write;

use rvent::Severity;

use crate::ffi;

/// `event_log_cb`.
type LogCb = unsafe extern "C" fn(c_int, *const c_char);
/// `event_fatal_cb`.
type FatalCb = unsafe extern "C" fn(c_int);

/// `EVENT_LOG_DEBUG` … `EVENT_LOG_ERR`.
fn severity(s: Severity) -> c_int {
    match s {
        Severity::Debug => 0,
        Severity::Msg => 1,
        Severity::Warn => 2,
        Severity::Err => 3,
    }
}

/// A warning of the shim itself (a NUL-terminated message), through the
/// same path as rvent's: stderr, as libevent's default logger does.
pub(crate) fn warn(msg: &[u8]) {
    let text = msg.strip_suffix(b"\0").unwrap_or(msg);
    let _ = writeln!(
        std::io::stderr(),
        "[warn] {}",
        String::from_utf8_lossy(text)
    );
}

/// `event_set_log_callback`: NULL restores the default (stderr).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_set_log_callback(cb: Option<LogCb>) {
    ffi((), || match cb {
        None => rvent::reset_log_callback(),
        Some(cb) => rvent::set_log_callback(move |sev, msg| {
            // libevent's messages are at most 1024 bytes; so are these.
            let mut buf = [0u8; 1024];
            let n = msg.len().min(buf.len() - 1);
            buf[..n].copy_from_slice(&msg.as_bytes()[..n]);
            // SAFETY: a NUL-terminated buffer that outlives the call.
            unsafe { cb(severity(sev), buf.as_ptr().cast()) }
        }),
    })
}

/// `event_set_fatal_callback`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_set_fatal_callback(cb: Option<FatalCb>) {
    ffi((), || {
        if let Some(cb) = cb {
            // SAFETY: the C callback takes any error code.
            rvent::set_fatal_callback(move |code| unsafe { cb(code) });
        }
    })
}

/// `event_enable_debug_logging` (`EVENT_DBG_NONE` 0, `EVENT_DBG_ALL` ~0).
#[unsafe(no_mangle)]
pub extern "C" fn event_enable_debug_logging(which: u32) {
    rvent::enable_debug_logging(which != 0)
}

/// `event_enable_debug_mode`: refused (with a warning) after the first
/// base, as libevent.
#[unsafe(no_mangle)]
pub extern "C" fn event_enable_debug_mode() {
    ffi((), || {
        if rvent::enable_debug_mode().is_err() {
            warn(b"event_enable_debug_mode: must be called before any base is created\0");
        }
    })
}

/// `event_debug_unassign`: nothing to undo (rvent keeps no debug map of
/// caller memory).
#[unsafe(no_mangle)]
pub extern "C" fn event_debug_unassign(_ev: *mut std::ffi::c_void) {}
