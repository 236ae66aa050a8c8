//! Threads (tutorial 9.4): the base is single-threaded; a [`Notifier`]
//! reaches it from other threads.
//!
//! libevent makes a base thread-safe with locks around every call
//! (`evthread_use_pthreads`). rvent's `EventBase` is `!Send` instead: it
//! lives on one thread and its callbacks need no locks. What other threads
//! legitimately need — wake the loop, activate an event, ask the loop to
//! exit or break (libevent's `evthread_make_base_notifiable`, libev's
//! `ev_async`, libuv's `uv_async_send`) — goes through a `Send + Sync`
//! notifier: a command queue behind a mutex plus a `mio::Waker` (an
//! eventfd) registered in the base's poller. Commands run on the loop
//! thread at the start of the next iteration.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mio::Waker;

use crate::backend::WAKER_TOKEN;
use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::event::{Ev, Event};
use crate::log::warn;
use crate::mem::{self, Arena, MemVec};

#[derive(Clone, Copy)]
pub(crate) enum Command {
    Activate(Event, Ev),
    LoopExit(Option<Duration>),
    LoopBreak,
}

pub(crate) struct Shared {
    waker: Mutex<Waker>,
    /// Queued commands. Its capacity is kept across batches (the loop
    /// copies a batch into its arena and clears it), so queueing allocates
    /// only when a batch is larger than any before.
    commands: Mutex<MemVec<Command>>,
    /// The base was dropped: commands are refused.
    closed: AtomicBool,
}

impl Shared {
    pub fn new(base: &crate::backend::Backend) -> Result<Shared> {
        Ok(Shared {
            waker: Mutex::new(Waker::new(base.poll.registry(), WAKER_TOKEN)?),
            commands: Mutex::new(mem::vec()),
            closed: AtomicBool::new(false),
        })
    }

    /// Marks the base gone and drops queued commands, giving the queue's
    /// storage back now (a notifier may outlive the base, but the memory
    /// functions must see everything returned when the base drops).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        *self.commands.lock().unwrap_or_else(|e| e.into_inner()) = mem::vec();
    }

    /// A new waker on a rebuilt poller (after fork).
    pub fn rebind(&self, base: &crate::backend::Backend) -> Result<()> {
        let w = Waker::new(base.poll.registry(), WAKER_TOKEN)?;
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = w;
        Ok(())
    }
}

/// A `Send + Sync` handle that wakes a base's loop and sends it commands
/// from any thread (`evthread_make_base_notifiable`).
///
/// # Examples
/// ```
/// use rvent::{Ev, Event, EventBase};
/// let mut base = EventBase::new()?;
/// let ev = Event::timer(&mut base, |base, _, _, what| {
///     assert!(what.contains(Ev::READ));
///     base.loopbreak();
/// })?;
/// let notifier = base.notifier();
/// std::thread::spawn(move || notifier.activate(ev, Ev::READ)).join().unwrap()?;
/// base.run(rvent::LoopFlags::NO_EXIT_ON_EMPTY)?;
/// assert!(base.got_break());
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

impl Notifier {
    fn send(&self, cmd: Command) -> Result<()> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(Error::BadState("the event base was dropped"));
        }
        {
            let mut q = self
                .shared
                .commands
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            mem::reserve(&mut q, 1)?;
            q.push(cmd);
        }
        self.wake()
    }

    /// Wakes the loop if it is polling; it then runs one iteration.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) if the eventfd write fails.
    pub fn wake(&self) -> Result<()> {
        self.shared
            .waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake()?;
        Ok(())
    }

    /// Activates `ev` with `res` on the loop thread (`event_active` from
    /// another thread). A stale handle is ignored there with a warning.
    ///
    /// # Errors
    /// [`Error::BadState`] once the base was dropped; as [`Notifier::wake`].
    #[doc(alias = "event_active")]
    pub fn activate(&self, ev: Event, res: Ev) -> Result<()> {
        self.send(Command::Activate(ev, res))
    }

    /// Requests [`EventBase::loopexit`] from another thread.
    ///
    /// # Errors
    /// As [`Notifier::wake`].
    #[doc(alias = "event_base_loopexit")]
    pub fn loopexit(&self, delay: Option<Duration>) -> Result<()> {
        self.send(Command::LoopExit(delay))
    }

    /// Requests [`EventBase::loopbreak`] from another thread.
    ///
    /// # Errors
    /// As [`Notifier::wake`].
    #[doc(alias = "event_base_loopbreak")]
    pub fn loopbreak(&self) -> Result<()> {
        self.send(Command::LoopBreak)
    }
}

impl EventBase {
    /// A handle other threads use to wake this base or send it commands.
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
            // The waker is edge-triggered: wake again so the commands left
            // queued are retried on the next iteration.
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
