//! Threads (tutorial 9.4): the base is single-threaded; a [`Notifier`]
//! reaches it from other threads.
//!
//! libevent makes a base thread-safe with locks around every call
//! (`evthread_use_pthreads`). rvent's `EventBase` is `!Send` instead: it
//! lives on one thread and its callbacks need no locks. What other threads
//! legitimately need — wake the loop, activate an event, ask the loop to
//! exit or break (libevent's `evthread_make_base_notifiable`, libev's
//! `ev_async`, libuv's `uv_async_send`) — goes through a `Send + Sync`
//! notifier: a command queue behind a mutex plus a waker (an eventfd)
//! registered in the base's poller. Commands run on the loop
//! thread at the start of the next iteration.

use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::log::warn;
use crate::mem::Arena;
use crate::notifier::{Command, Notifier};

impl<X: BaseExt> EventBase<X> {
    /// A handle other threads use to wake this base or send it commands.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let notifier = base.notifier();
    /// let t = std::thread::spawn(move || notifier.loopexit(None));
    /// base.run(rvent::LoopFlags::NO_EXIT_ON_EMPTY)?; // waits for the other thread
    /// t.join().unwrap()?;
    /// assert!(base.got_exit());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn notifier(&self) -> Notifier {
        Notifier {
            shared: self.notify.clone(),
        }
    }

    /// Runs the commands other threads queued. The batch is copied into
    /// the iteration's arena (so the lock is not held while it runs, and
    /// the queue keeps its capacity).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the batch cannot be copied; the commands then
    /// stay queued for the next iteration.
    pub(crate) fn run_commands(&mut self) -> Result<()> {
        // The commands need `&mut self`, so the arena is lent out of the
        // base while they run (nothing else uses it meanwhile: commands run
        // no callbacks) and put back after; a reset cannot happen while
        // `batch` borrows it, because the base never sees it.
        let arena = std::mem::take(&mut self.arena);
        let r = self.run_commands_in(&arena);
        self.arena = arena;
        if r.is_err() {
            // The waker is edge-triggered (or drained, on poll): wake
            // again so the commands left queued are retried on the next
            // iteration.
            let _ = self.notifier().wake();
        }
        r
    }

    fn run_commands_in(&mut self, arena: &Arena) -> Result<()> {
        let mut batch: allocator_api2::vec::Vec<Command, &Arena> =
            allocator_api2::vec::Vec::new_in(arena);
        {
            let mut q = self
                .notify
                .commands
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if q.is_empty() {
                return Ok(());
            }
            batch.try_reserve(q.len()).map_err(|_| Error::Alloc)?;
            batch.extend_from_slice(&q);
            q.clear();
        }
        for cmd in batch {
            match cmd {
                // Another thread cannot know the event was freed meanwhile,
                // so a stale handle is a warning here, even in debug mode.
                Command::Activate(ev, _) if !ev.is_live(self) => {
                    warn(format_args!(
                        "notifier: {ev:?} was freed; activation ignored"
                    ));
                }
                Command::Activate(ev, res) => {
                    if let Err(e) = ev.active(self, res) {
                        warn(format_args!("notifier: cannot activate {ev:?}: {e}"));
                    }
                }
                Command::LoopExit(delay) => {
                    if let Err(e) = self.loopexit(delay) {
                        warn(format_args!("notifier: loopexit failed: {e}"));
                    }
                }
                Command::LoopBreak => self.loopbreak(),
            }
        }
        Ok(())
    }
}
