//! Debug mode (tutorial 9.5, `event_enable_debug_mode`).
//!
//! Generational handles already turn libevent's worst misuse (touching a
//! freed event) into [`Error::StaleEvent`](crate::Error::StaleEvent). Debug
//! mode makes the misuse loud: instead of an error, rvent panics with a
//! message naming the mistake. It catches what libevent's debug mode
//! catches and Rust's types leave open:
//! - using a freed event, or one from another base;
//! - re-assigning a pending or active event;
//! - mixing edge- and level-triggered events on one fd;
//! - adding a blocking fd (a warning, as in libevent).
//!
//! Like libevent's, it must be turned on before any base exists.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static DEBUG_MODE: AtomicBool = AtomicBool::new(false);
static BASE_CREATED: AtomicBool = AtomicBool::new(false);

/// Turns on debug mode for the whole process (`event_enable_debug_mode`).
///
/// # Errors
/// [`Error::BadState`] if a base was already created.
///
/// # Examples
/// ```no_run
/// // Process-wide: first thing in `main`, before any base.
/// rvent::enable_debug_mode()?;
/// assert!(rvent::debug_mode_enabled());
/// let _base = rvent::EventBase::new()?;
/// assert!(rvent::enable_debug_mode().is_err()); // too late now
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "event_enable_debug_mode")]
pub fn enable_debug_mode() -> Result<()> {
    if BASE_CREATED.load(Ordering::SeqCst) {
        return Err(Error::BadState(
            "debug mode must be enabled before any base is created",
        ));
    }
    DEBUG_MODE.store(true, Ordering::SeqCst);
    Ok(())
}

/// True when debug mode is on.
///
/// # Examples
/// ```no_run
/// rvent::enable_debug_mode()?; // process-wide
/// assert!(rvent::debug_mode_enabled());
/// # Ok::<(), rvent::Error>(())
/// ```
#[inline]
pub fn debug_mode_enabled() -> bool {
    DEBUG_MODE.load(Ordering::Relaxed)
}

#[inline]
pub(crate) fn enabled() -> bool {
    debug_mode_enabled()
}

pub(crate) fn note_base_created() {
    BASE_CREATED.store(true, Ordering::SeqCst);
}

/// Reports API misuse: a panic in debug mode, nothing otherwise (the
/// caller returns an error).
#[inline]
#[track_caller]
pub(crate) fn misuse(args: fmt::Arguments<'_>) {
    if enabled() {
        panic!("rvent debug mode: {args}");
    }
}
