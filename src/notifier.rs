//! [`Notifier`]: the `Send + Sync` handle other threads use to reach a
//! base, and the state it shares with the base (a command queue behind a
//! mutex and a [`Waker`]). Below the base, which holds the shared half;
//! the loop side that runs the commands is in `thread.rs`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::mem::{self, MemArc, MemVec};
use crate::waker::Waker;

#[derive(Clone, Copy)]
pub(crate) enum Command {
    Activate(Event, Ev),
    LoopExit(Option<Duration>),
    LoopBreak,
}

pub(crate) struct Shared {
    pub(crate) waker: Mutex<Waker>,
    /// Queued commands. Its capacity is kept across batches (the loop
    /// copies a batch into its arena and clears it), so queueing allocates
    /// only when a batch is larger than any before.
    pub(crate) commands: Mutex<MemVec<Command>>,
    /// The base was dropped: commands are refused.
    pub(crate) closed: AtomicBool,
}

impl Shared {
    pub fn new(backend: &mut Backend) -> Result<Shared> {
        Ok(Shared {
            waker: Mutex::new(Waker::new(backend)?),
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
    pub fn rebind(&self, backend: &mut Backend) -> Result<()> {
        let w = Waker::new(backend)?;
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = w;
        Ok(())
    }
}

/// A `Send + Sync` handle that wakes a base's loop and sends it commands
/// from any thread (`evthread_make_base_notifiable`).
///
/// The state it shares with the base is one block from the memory
/// functions (made with the base), and the last handle — the base's or a
/// notifier's, on whatever thread drops it — frees it there: the memory
/// functions must therefore be callable from any thread, as
/// [`MemFunctions`](crate::MemFunctions) requires. Getting and cloning a
/// notifier allocates nothing.
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
    pub(crate) shared: MemArc<Shared>,
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
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let mut base = EventBase::new()?;
    /// let notifier = base.notifier();
    /// std::thread::spawn(move || notifier.wake()).join().unwrap()?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?; // consumes the wakeup; nothing else runs
    /// assert!(!base.got_exit() && !base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |base, _, _, what| {
    ///     assert_eq!(what, Ev::WRITE);
    ///     base.loopbreak();
    /// })?;
    /// let notifier = base.notifier();
    /// std::thread::spawn(move || notifier.activate(ev, Ev::WRITE)).join().unwrap()?;
    /// base.run(rvent::LoopFlags::NO_EXIT_ON_EMPTY)?;
    /// assert!(base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_active")]
    pub fn activate(&self, ev: Event, res: Ev) -> Result<()> {
        self.send(Command::Activate(ev, res))
    }

    /// Requests [`EventBase::loopexit`](crate::EventBase::loopexit) from another thread.
    ///
    /// # Errors
    /// As [`Notifier::wake`].
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let notifier = base.notifier();
    /// std::thread::spawn(move || notifier.loopexit(Some(Duration::from_millis(1))))
    ///     .join()
    ///     .unwrap()?;
    /// base.run(rvent::LoopFlags::NO_EXIT_ON_EMPTY)?;
    /// assert!(base.got_exit());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_loopexit")]
    pub fn loopexit(&self, delay: Option<Duration>) -> Result<()> {
        self.send(Command::LoopExit(delay))
    }

    /// Requests [`EventBase::loopbreak`](crate::EventBase::loopbreak) from another thread.
    ///
    /// # Errors
    /// As [`Notifier::wake`].
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let mut base = EventBase::new()?;
    /// let notifier = base.notifier();
    /// std::thread::spawn(move || notifier.loopbreak()).join().unwrap()?;
    /// base.run(rvent::LoopFlags::NO_EXIT_ON_EMPTY)?;
    /// assert!(base.got_break());
    /// drop(base);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_loopbreak")]
    pub fn loopbreak(&self) -> Result<()> {
        self.send(Command::LoopBreak)
    }
}
