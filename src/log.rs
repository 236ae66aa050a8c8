//! Log and fatal-error callbacks (tutorial 9.1, 9.2).
//!
//! rvent reports what libevent logs (a failed `epoll_ctl` on removal, a
//! re-entrant loop, an allocation failure inside the loop) through one
//! process-wide callback; by default messages go to stderr. Debug messages
//! are dropped unless [`enable_debug_logging`] is on. The fatal callback
//! runs before rvent aborts on an internal invariant violation — a bug in
//! rvent, never a user error.
//!
//! A message is formatted on the stack (truncated at 1024 bytes, as
//! libevent's), so logging allocates nothing. The two callbacks are
//! process-wide and are usually set before anything else, possibly before
//! the memory functions are chosen; setting them must not fix that choice,
//! so their boxes are the one thing rvent keeps from Rust's global
//! allocator (libevent stores a bare function pointer there).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Message severity (`EVENT_LOG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[doc(alias = "EVENT_LOG_DEBUG")]
pub enum Severity {
    /// Only with debug logging on (`EVENT_LOG_DEBUG`).
    Debug,
    /// Informational (`EVENT_LOG_MSG`).
    Msg,
    /// Something went wrong but rvent carries on (`EVENT_LOG_WARN`).
    Warn,
    /// An error (`EVENT_LOG_ERR`).
    Err,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Debug => "debug",
            Severity::Msg => "msg",
            Severity::Warn => "warn",
            Severity::Err => "err",
        })
    }
}

type LogFn = dyn Fn(Severity, &str) + Send + Sync;
type FatalFn = dyn Fn(i32) + Send + Sync;

static LOGGER: RwLock<Option<Arc<LogFn>>> = RwLock::new(None);
static FATAL: RwLock<Option<Arc<FatalFn>>> = RwLock::new(None);
static DEBUG_LOGGING: AtomicBool = AtomicBool::new(false);

/// Sends rvent's log messages to `cb` instead of stderr
/// (`event_set_log_callback`). The callback must not call into rvent.
///
/// # Examples
/// ```
/// rvent::set_log_callback(|severity, msg| eprintln!("rvent {severity}: {msg}"));
/// rvent::reset_log_callback();
/// ```
#[doc(alias = "event_set_log_callback")]
pub fn set_log_callback<F>(cb: F)
where
    F: Fn(Severity, &str) + Send + Sync + 'static,
{
    *LOGGER.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(cb));
}

/// Restores the default logger, stderr (`event_set_log_callback(NULL)`).
///
/// # Examples
/// ```
/// rvent::set_log_callback(|_, msg| eprintln!("mine: {msg}"));
/// rvent::reset_log_callback(); // messages go to stderr as rvent writes them
/// ```
pub fn reset_log_callback() {
    *LOGGER.write().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Turns debug messages on or off (`event_enable_debug_logging`).
///
/// # Examples
/// ```
/// rvent::enable_debug_logging(true); // Severity::Debug messages reach the log callback
/// rvent::enable_debug_logging(false);
/// ```
#[doc(alias = "event_enable_debug_logging")]
pub fn enable_debug_logging(on: bool) {
    DEBUG_LOGGING.store(on, Ordering::Relaxed);
}

/// Runs `cb(code)` before rvent aborts on an internal fatal error
/// (`event_set_fatal_callback`). rvent's state is undefined afterwards:
/// the callback should exit the process.
///
/// # Examples
/// ```no_run
/// // Process-wide: set it once, early in `main`.
/// rvent::set_fatal_callback(|code| {
///     eprintln!("rvent hit an internal error ({code}); exiting");
///     std::process::exit(70);
/// });
/// ```
#[doc(alias = "event_set_fatal_callback")]
pub fn set_fatal_callback<F>(cb: F)
where
    F: Fn(i32) + Send + Sync + 'static,
{
    *FATAL.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(cb));
}

/// Logs one message.
pub(crate) fn log(severity: Severity, args: fmt::Arguments<'_>) {
    if severity == Severity::Debug && !DEBUG_LOGGING.load(Ordering::Relaxed) {
        return;
    }
    let cb = LOGGER.read().unwrap_or_else(|e| e.into_inner()).clone();
    match cb {
        Some(cb) => {
            let mut msg = MessageBuf::new();
            // A full buffer truncates the message, as libevent's does.
            let _ = fmt::write(&mut msg, args);
            cb(severity, msg.as_str());
        }
        None => {
            #[cfg(feature = "log")]
            {
                let level = match severity {
                    Severity::Debug => ::log::Level::Debug,
                    Severity::Msg => ::log::Level::Info,
                    Severity::Warn => ::log::Level::Warn,
                    Severity::Err => ::log::Level::Error,
                };
                ::log::log!(target: "rvent", level, "{args}");
            }
            #[cfg(not(feature = "log"))]
            eprintln!("[rvent {severity}] {args}");
        }
    }
}

/// libevent formats a log message into a 1024-byte buffer and truncates
/// what does not fit; rvent does the same, on the stack, so logging
/// allocates nothing.
const MESSAGE_MAX: usize = 1024;

/// A message being formatted for the log callback.
struct MessageBuf {
    bytes: [u8; MESSAGE_MAX],
    len: usize,
}

impl MessageBuf {
    fn new() -> Self {
        MessageBuf {
            bytes: [0; MESSAGE_MAX],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole UTF-8 sequences are ever copied in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for MessageBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MESSAGE_MAX - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() { Err(fmt::Error) } else { Ok(()) }
    }
}

pub(crate) fn warn(args: fmt::Arguments<'_>) {
    log(Severity::Warn, args);
}

/// An internal invariant broke: log, run the fatal callback, abort.
pub(crate) fn fatal(code: i32, args: fmt::Arguments<'_>) -> ! {
    log(Severity::Err, args);
    let cb = FATAL.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(cb) = cb {
        cb(code);
    }
    std::process::abort();
}

/// Triggers rvent's fatal-error path, as an internal invariant violation
/// would; only for testing a fatal callback.
#[doc(hidden)]
pub fn __fatal_for_tests(code: i32) -> ! {
    fatal(
        code,
        format_args!("fatal error requested by a test (code {code})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn long_messages_are_truncated_at_a_char_boundary() {
        let mut m = MessageBuf::new();
        let long = "é".repeat(MESSAGE_MAX); // 2 bytes each
        assert!(write!(m, "x{long}").is_err());
        assert_eq!(m.as_str().len(), MESSAGE_MAX - 1, "no half character");
        assert!(m.as_str().starts_with("xé"));
        let mut short = MessageBuf::new();
        write!(short, "fd {} closed", 7).unwrap();
        assert_eq!(short.as_str(), "fd 7 closed");
    }
}
