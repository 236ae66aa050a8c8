//! A base's signal state — the per-signal event lists and the self-pipe
//! the process-wide handler writes into — and the process-wide table of
//! installed handlers (how many events of all bases watch each signal, and
//! the action to restore when none does). State below the base; adding,
//! deleting and delivering signal events is in `signal.rs`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

use crate::error::Result;
use crate::log::warn;
use crate::mem::{self, MemVec};
use crate::sys::signal::{self as sys, NSIG, Saved};

#[derive(Clone, Copy)]
pub(crate) struct SigEntry {
    pub head: u32,
    pub count: u32,
}

/// A base's signal events and self-pipe.
pub(crate) struct SignalMap {
    pub lists: MemVec<SigEntry>,
    /// (read end, write end), made when the first signal event is added.
    pub pipe: Option<(OwnedFd, OwnedFd)>,
    /// Signals with at least one event in this base.
    pub watched: u32,
}

impl Default for SignalMap {
    fn default() -> Self {
        SignalMap {
            lists: mem::vec(),
            pipe: None,
            watched: 0,
        }
    }
}

/// Process-wide: how many events (all bases) watch each signal, and the
/// action to restore when that drops to zero.
static INSTALLED: Mutex<Vec<Option<(usize, Saved)>>> = Mutex::new(Vec::new());

pub(crate) fn acquire(sig: i32) -> Result<()> {
    let mut g = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if g.is_empty() {
        g.resize_with(NSIG as usize, || None);
    }
    match &mut g[sig as usize] {
        Some((users, _)) => *users += 1,
        slot @ None => *slot = Some((1, sys::install(sig)?)),
    }
    Ok(())
}

pub(crate) fn release(sig: i32) {
    let mut g = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let slot = &mut g[sig as usize];
    if let Some((users, saved)) = slot {
        *users -= 1;
        if *users == 0 {
            if let Err(e) = sys::restore(sig, saved) {
                warn(format_args!(
                    "cannot restore the handler of signal {sig}: {e}"
                ));
            }
            *slot = None;
        }
    }
}

impl SignalMap {
    pub fn write_fd(&self) -> Option<i32> {
        self.pipe.as_ref().map(|(_, w)| w.as_raw_fd())
    }
}
