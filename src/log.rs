//! Log and fatal-error callbacks (tutorial 9.1, 9.2).
//!
//! rvent reports what libevent logs (a failed `epoll_ctl` on removal, a
//! re-entrant loop, an allocation failure inside the loop) through one
//! process-wide callback; by default messages go to stderr. Debug messages
//! are dropped unless [`enable_debug_logging`] is on. The fatal callback
//! runs before rvent aborts on an internal invariant violation — a bug in
//! rvent, never a user error.

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
pub fn reset_log_callback() {
    *LOGGER.write().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Turns debug messages on or off (`event_enable_debug_logging`).
#[doc(alias = "event_enable_debug_logging")]
pub fn enable_debug_logging(on: bool) {
    DEBUG_LOGGING.store(on, Ordering::Relaxed);
}

/// Runs `cb(code)` before rvent aborts on an internal fatal error
/// (`event_set_fatal_callback`). rvent's state is undefined afterwards:
/// the callback should exit the process.
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
            let msg = args.to_string();
            cb(severity, &msg);
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
