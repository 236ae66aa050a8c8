//! Events (tutorial ch. 6): read, write, timeout, signal, persist,
//! edge-triggered and closed events; add / del / activate; priorities;
//! `once`; common timeouts; finalize.
//!
//! An [`Event`] is a small `Copy` handle into its base's slab; every call
//! takes the base explicitly (`ev.add(&mut base, None)` for libevent's
//! `event_add(ev, NULL)`), so a callback that receives `&mut EventBase` can
//! add, delete, activate or free any event, its own included. A freed
//! event's handle goes stale and every later use returns
//! [`Error::StaleEvent`] (a panic in [debug mode](crate::enable_debug_mode))
//! where libevent would read freed memory.
//!
//! State machine (tutorial 6.7): new → `add` → pending → (fd ready /
//! timeout / `active`) → active → callback → pending again if `PERSIST`,
//! else back to non-pending. Non-persistent events stop being pending
//! *before* their callback runs. `del` from any state returns to
//! non-pending and removes the event from the active queue.
//!
//! # Panics in callbacks
//!
//! A panic in an event's callback unwinds out of
//! [`EventBase::run`](crate::EventBase::run) to its caller; the base first
//! leaves its running state, so it can be run again or dropped. The
//! panicking closure is dropped with what it captured and its event is
//! deleted: re-adding it is refused with [`Error::BadState`] (it would
//! have nothing to run) until [`Event::assign`] gives it a new callback.
//! Every other event keeps its callback and its state.

// Maintainer notes: the internal operations below are the only code that
// moves an event between the fd/signal lists, the timer structures and the
// active queues; each keeps `n_pending` (events that keep the loop alive)
// in step with the `INSERTED | TIMEOUT` bits.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::base::{BaseExt, EventBase};
use crate::debug;
use crate::error::{Error, Result};
pub use crate::ev::Ev;
pub use crate::handle::{CommonTimeout, Event};
use crate::mem::{self, Account, Budgeted, MemRc};
use crate::slots::{Callback, NIL, PlainFn, SlotFn, state};
use crate::sys::signal::NSIG;
use crate::timer::{CommonQueue, MAX_COMMON_TIMEOUTS};

const IO_FLAGS: Ev = Ev::READ.union(Ev::WRITE).union(Ev::CLOSED);

/// What runs when an event fires. One-shot callbacks (`once`, finalizers,
/// loopexit) are wrapped into this shape too, and slot state bits
/// (`ONCE`, `FINALIZING`, `FINALIZE_FREE`) say what happens afterwards, so
/// dispatch has a single call path.
/// The closure lives in a pooled block from the memory functions, so
/// freeing and re-creating events in a steady loop recycles blocks.
pub(crate) type EventFn<X> = SlotFn<EventBase<X>>;

/// Boxes an event callback in the pool; on a base with a budget the block
/// is charged to the base's `account` (and credited when it is dropped).
///
/// # Errors
/// [`Error::Alloc`], also past the budget; `f` is dropped.
pub(crate) fn event_fn<X: BaseExt, F>(account: &MemRc<Account>, f: F) -> Result<EventFn<X>>
where
    F: FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static,
{
    Ok(match mem::charged(account, f)? {
        Budgeted::Unbudgeted(f) => allocator_api2::unsize_box!(mem::pool_box(f)?),
        Budgeted::Charged(mut c) => allocator_api2::unsize_box!(mem::pool_box(
            move |base: &mut EventBase<X>, ev, fd, what| (c.get())(base, ev, fd, what)
        )?),
    })
}

/// Wraps a one-shot closure; it runs at most once.
///
/// # Errors
/// [`Error::Alloc`].
pub(crate) fn once_fn<X: BaseExt, F>(account: &MemRc<Account>, f: F) -> Result<EventFn<X>>
where
    F: FnOnce(&mut EventBase<X>, Event, RawFd, Ev) + 'static,
{
    let mut f = Some(f);
    event_fn(account, move |base, ev, fd, what| {
        if let Some(f) = f.take() {
            f(base, ev, fd, what);
        }
    })
}

impl Event {
    /// A non-pending event for the layers above the core whose callback is
    /// a plain function `f`, called with the 32-bit payload `data` (a
    /// bufferevent's index, say) kept in the event's record: no closure,
    /// so the event costs its slab record and nothing else, and the loop
    /// calls `f` directly. `fd` is checked as for [`Event::new`].
    ///
    /// # Errors
    /// As [`Event::new`].
    pub(crate) fn plain<X: BaseExt>(
        base: &mut EventBase<X>,
        fd: RawFd,
        what: Ev,
        data: u32,
        f: PlainFn<EventBase<X>>,
    ) -> Result<Event> {
        let fd = check_flags(Some(fd), what)?;
        let ev = base.new_slot(fd, what, Callback::Plain(Some(f)))?;
        base.slots[ev.idx].data = data;
        Ok(ev)
    }
}

/// What an event was assigned ([`Event::assignment`],
/// `event_get_assignment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventAssignment {
    /// The fd, or the signal number of a signal event; `None` for a timer.
    pub fd: Option<RawFd>,
    /// The flags it was created with.
    pub events: Ev,
    /// Its priority, 0 being the most urgent.
    pub priority: usize,
    /// A callback is set (libevent hands back the callback itself).
    pub has_callback: bool,
}

/// How `add` schedules a timeout.
#[derive(Clone, Copy)]
pub(crate) enum Timeout {
    After(u64),
    Common(u8),
}

/// The fd a constructor was given, checked against `what`, as the slab
/// stores it (-1 for none, libevent's value, never seen by users).
fn check_flags(fd: Option<RawFd>, what: Ev) -> Result<RawFd> {
    let fd = match fd {
        Some(fd) if fd < 0 => {
            return Err(Error::InvalidArgument(
                "negative fd: an event without one takes None",
            ));
        }
        Some(fd) => fd,
        None => -1,
    };
    if what.contains(Ev::SIGNAL) {
        if what.intersects(IO_FLAGS) {
            return Err(Error::InvalidArgument(
                "EV_SIGNAL cannot be combined with EV_READ, EV_WRITE or EV_CLOSED",
            ));
        }
        if !(1..NSIG).contains(&fd) {
            return Err(Error::InvalidArgument("signal number out of range"));
        }
    } else if what.intersects(IO_FLAGS) && fd < 0 {
        return Err(Error::InvalidArgument("an I/O event needs an fd"));
    }
    Ok(fd)
}

#[inline]
fn duration_ns(d: Duration) -> u64 {
    d.as_secs()
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(u64::from(d.subsec_nanos())))
        .unwrap_or(u64::MAX)
}

impl Event {
    /// Creates a non-pending event (`event_new`). `what` combines
    /// [`Ev::READ`], [`Ev::WRITE`], [`Ev::CLOSED`], [`Ev::SIGNAL`],
    /// [`Ev::PERSIST`] and [`Ev::ET`]; with none of the first four it is a
    /// timer, and `fd` is `None` (libevent's -1). `fd` takes an fd
    /// (`RawFd`), `Some(fd)` or `None`; for a signal event it is the
    /// signal number. New events get the middle priority.
    ///
    /// The callback receives the base, the event, its fd (-1 for a timer,
    /// as libevent passes it) and the flags that fired.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `SIGNAL` combined with I/O flags, a
    /// signal number outside `1..NSIG`, an I/O event without an fd, or a
    /// negative fd (`None` is how to say "no fd");
    /// [`Error::Alloc`] if the slab cannot grow.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::Duration;
    /// let mut base = EventBase::new()?;
    /// let t = Event::timer(&mut base, |base, _ev, _fd, what| {
    ///     assert_eq!(what, Ev::TIMEOUT);
    ///     base.loopbreak();
    /// })?;
    /// t.add(&mut base, Some(Duration::from_millis(1)))?;
    /// base.dispatch()?;
    /// assert!(base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_new")]
    pub fn new<X: BaseExt, F>(
        base: &mut EventBase<X>,
        fd: impl Into<Option<RawFd>>,
        what: Ev,
        cb: F,
    ) -> Result<Event>
    where
        F: FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static,
    {
        let fd = check_flags(fd.into(), what)?;
        let cb = event_fn(&base.account, cb)?;
        base.new_slot(fd, what, Callback::Closure(cb))
    }

    /// A pure timer event (`evtimer_new`).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the slab cannot grow.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let t = Event::timer(&mut base, |_, _, fd, what| {
    ///     assert_eq!((fd, what), (-1, Ev::TIMEOUT));
    /// })?;
    /// t.add(&mut base, Some(Duration::from_millis(1)))?;
    /// base.dispatch()?; // one-shot: the loop ends after it fires
    /// assert!(t.pending(&base, Ev::TIMEOUT)?.0.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evtimer_new")]
    pub fn timer<X: BaseExt, F>(base: &mut EventBase<X>, cb: F) -> Result<Event>
    where
        F: FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static,
    {
        Event::new(base, None, Ev::empty(), cb)
    }

    /// A persistent signal event (`evsignal_new`); the callback gets the
    /// signal number as its fd.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a signal number outside `1..NSIG`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let sigusr1 = 10; // Linux's SIGUSR1
    /// let ev = Event::signal(&mut base, sigusr1, |base, _, _, _| base.loopbreak())?;
    /// assert_eq!(ev.fd(&base)?, Some(sigusr1));
    /// assert_eq!(ev.events(&base)?, Ev::SIGNAL | Ev::PERSIST);
    /// assert!(Event::signal(&mut base, 0, |_, _, _, _| {}).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evsignal_new")]
    pub fn signal<X: BaseExt, F>(base: &mut EventBase<X>, signum: i32, cb: F) -> Result<Event>
    where
        F: FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static,
    {
        Event::new(base, signum, Ev::SIGNAL | Ev::PERSIST, cb)
    }

    /// Re-initialises a non-pending, non-active event with new arguments
    /// (`event_assign`); the only way to reuse a finalized event.
    ///
    /// # Errors
    /// [`Error::BadState`] if the event is pending or active (a panic in
    /// debug mode), plus the errors of [`Event::new`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| unreachable!())?;
    /// ev.assign(&mut base, None, Ev::PERSIST, |base, ev, _, _| {
    ///     ev.del(base).unwrap(); // the new callback replaced the old one
    /// })?;
    /// ev.add(&mut base, Some(Duration::from_millis(1)))?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_assign")]
    pub fn assign<X: BaseExt, F>(
        self,
        base: &mut EventBase<X>,
        fd: impl Into<Option<RawFd>>,
        what: Ev,
        cb: F,
    ) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static,
    {
        let fd = check_flags(fd.into(), what)?;
        let idx = base.resolve(self, "assign")?;
        let s = &base.slots[idx];
        if s.is_pending() || s.has(state::ACTIVE) {
            debug::misuse(format_args!(
                "event_assign on a pending or active event {self:?}"
            ));
            return Err(Error::BadState("cannot assign a pending or active event"));
        }
        let cb = event_fn(&base.account, cb)?;
        let prio = (base.active.len() / 2) as u8;
        let s = &mut base.slots[idx];
        s.fd = fd;
        s.what = what;
        s.prio = prio;
        s.state &=
            !(state::FINALIZING | state::FINALIZE_FREE | state::PERIODIC | state::PERIODIC_COMMON);
        let old = std::mem::replace(&mut s.cb, Callback::Closure(cb));
        drop(old);
        Ok(())
    }

    /// Makes the event pending (`event_add`), with an optional timeout
    /// relative to now. Re-adding a pending event with `Some` timeout
    /// replaces its deadline; with `None` it keeps the old one.
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::BadState`] after finalize;
    /// [`Error::Io`] if the fd cannot be watched (closed, a regular file…);
    /// [`Error::InvalidArgument`] when mixing edge- and level-triggered
    /// events on one fd; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.add(&mut base, Some(Duration::from_secs(60)))?;
    /// assert_eq!(ev.pending(&base, Ev::TIMEOUT)?.0, Ev::TIMEOUT);
    /// assert_eq!(base.num_pending(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_add")]
    pub fn add<X: BaseExt>(self, base: &mut EventBase<X>, timeout: Option<Duration>) -> Result<()> {
        let idx = base.resolve(self, "add")?;
        base.add_inner(idx, timeout.map(|d| Timeout::After(duration_ns(d))))
    }

    /// Makes the event pending with a common timeout
    /// (`event_add(ev, common_tv)`).
    ///
    /// # Errors
    /// As [`Event::add`]; [`Error::InvalidArgument`] if `ct` belongs to
    /// another base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ct = base.init_common_timeout(Duration::from_millis(1))?;
    /// let ev = Event::timer(&mut base, |_, _, _, what| assert_eq!(what, Ev::TIMEOUT))?;
    /// ev.add_common(&mut base, ct)?;
    /// assert_eq!(ev.pending(&base, Ev::TIMEOUT)?.0, Ev::TIMEOUT);
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_add")]
    pub fn add_common<X: BaseExt>(self, base: &mut EventBase<X>, ct: CommonTimeout) -> Result<()> {
        let idx = base.resolve(self, "add_common")?;
        if ct.base != base.id {
            return Err(Error::InvalidArgument(
                "common timeout belongs to another base",
            ));
        }
        base.add_inner(idx, Some(Timeout::Common(ct.idx)))
    }

    /// Makes the event non-pending and non-active (`event_del`); its
    /// callback will not run for an activation that already happened.
    /// Deleting a non-pending event does nothing.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| unreachable!())?;
    /// ev.add(&mut base, Some(Duration::from_millis(1)))?;
    /// ev.del(&mut base)?;
    /// assert!(ev.pending(&base, Ev::TIMEOUT)?.0.is_empty());
    /// assert!(ev.is_live(&base)); // deleted, not freed
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_del")]
    pub fn del<X: BaseExt>(self, base: &mut EventBase<X>) -> Result<()> {
        // One lookup for the handle check and the state (a hot path).
        let st = match base.slots.get(self.idx, self.generation) {
            Some(s) if self.base == base.id => s.state,
            _ => return Err(stale(self, "del")),
        };
        if st & state::FINALIZING == 0 {
            base.del_inner(self.idx);
        }
        Ok(())
    }

    /// Removes only the timeout; I/O or signal interest stays pending
    /// (`event_remove_timer`).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let (s, _peer) = UnixStream::pair().unwrap();
    /// let ev = Event::new(&mut base, s.as_raw_fd(), Ev::READ, |_, _, _, _| {})?;
    /// ev.add(&mut base, Some(Duration::from_secs(5)))?;
    /// ev.remove_timer(&mut base)?;
    /// assert_eq!(ev.pending(&base, Ev::READ | Ev::TIMEOUT)?.0, Ev::READ);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_remove_timer")]
    pub fn remove_timer<X: BaseExt>(self, base: &mut EventBase<X>) -> Result<()> {
        let idx = base.resolve(self, "remove_timer")?;
        base.unschedule(idx);
        base.slots[idx].state &= !(state::PERIODIC | state::PERIODIC_COMMON);
        Ok(())
    }

    /// Deletes and frees the event (`event_free`); the handle goes stale.
    /// Freeing the running event from its own callback is allowed.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase, Error};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.free(&mut base)?;
    /// assert!(!ev.is_live(&base));
    /// assert!(matches!(ev.free(&mut base), Err(Error::StaleEvent)));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_free")]
    pub fn free<X: BaseExt>(self, base: &mut EventBase<X>) -> Result<()> {
        let idx = base.resolve(self, "free")?;
        base.free_inner(idx);
        Ok(())
    }

    /// Makes the event active with result flags `res` (`event_active`),
    /// whether or not it is pending. Activating an active event ORs `res`
    /// into its flags; it still runs once.
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::BadState`] after finalize.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, what| assert_eq!(what, Ev::READ | Ev::WRITE))?;
    /// ev.active(&mut base, Ev::READ)?;
    /// ev.active(&mut base, Ev::WRITE)?; // ORed in: the callback still runs once
    /// assert_eq!(base.num_active(), 1);
    /// base.dispatch()?;
    /// assert_eq!(base.num_active(), 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_active")]
    pub fn active<X: BaseExt>(self, base: &mut EventBase<X>, res: Ev) -> Result<()> {
        let idx = base.resolve(self, "active")?;
        if base.slots[idx].has(state::FINALIZING) {
            return Err(Error::BadState("event is finalized"));
        }
        base.activate(idx, res, 1);
        Ok(())
    }

    /// Which of `what` the event is pending or active on, and when its
    /// timeout expires (`event_pending`). Ask for [`Ev::TIMEOUT`] to learn
    /// whether a timeout is scheduled.
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::time::{Duration, Instant};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert_eq!(ev.pending(&base, Ev::TIMEOUT)?, (Ev::empty(), None));
    /// ev.add(&mut base, Some(Duration::from_secs(10)))?;
    /// let (what, deadline) = ev.pending(&base, Ev::TIMEOUT)?;
    /// assert_eq!(what, Ev::TIMEOUT);
    /// assert!(deadline.unwrap() > Instant::now());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_pending")]
    pub fn pending<X: BaseExt>(
        self,
        base: &EventBase<X>,
        what: Ev,
    ) -> Result<(Ev, Option<Instant>)> {
        let idx = base.resolve(self, "pending")?;
        let s = &base.slots[idx];
        let mut flags = Ev::empty();
        if s.has(state::INSERTED) {
            flags |= s.what & (IO_FLAGS | Ev::SIGNAL);
        }
        if s.has(state::ACTIVE) {
            flags |= s.res;
        }
        let expires = if s.has(state::TIMEOUT) {
            flags |= Ev::TIMEOUT;
            Some(base.instant_of(s.deadline))
        } else {
            None
        };
        Ok((flags & what, expires.filter(|_| what.contains(Ev::TIMEOUT))))
    }

    /// Sets the priority, 0 being the most urgent (`event_priority_set`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `pri` ≥ the base's number of
    /// priorities; [`Error::BadState`] if the event is active.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// base.priority_init(3)?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.set_priority(&mut base, 0)?; // most urgent
    /// assert_eq!(ev.priority(&base)?, 0);
    /// assert!(ev.set_priority(&mut base, 3).is_err()); // only 0..3
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_priority_set")]
    pub fn set_priority<X: BaseExt>(self, base: &mut EventBase<X>, pri: usize) -> Result<()> {
        let idx = base.resolve(self, "set_priority")?;
        if pri >= base.active.len() {
            return Err(Error::InvalidArgument("priority out of range"));
        }
        let s = &mut base.slots[idx];
        if s.has(state::ACTIVE) {
            return Err(Error::BadState(
                "cannot change the priority of an active event",
            ));
        }
        s.prio = pri as u8;
        Ok(())
    }

    /// The event's priority (`event_get_priority`).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// base.priority_init(4)?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert_eq!(ev.priority(&base)?, 2); // new events get the middle one
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_get_priority")]
    pub fn priority<X: BaseExt>(self, base: &EventBase<X>) -> Result<usize> {
        let idx = base.resolve(self, "priority")?;
        Ok(usize::from(base.slots[idx].prio))
    }

    /// The fd or signal number (`event_get_fd`, `event_get_signal`);
    /// `None` for a timer (libevent's -1).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let mut base = EventBase::new()?;
    /// let (s, _peer) = UnixStream::pair().unwrap();
    /// let io = Event::new(&mut base, s.as_raw_fd(), Ev::READ, |_, _, _, _| {})?;
    /// assert_eq!(io.fd(&base)?, Some(s.as_raw_fd()));
    /// let timer = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert_eq!(timer.fd(&base)?, None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_get_fd")]
    #[doc(alias = "event_get_signal")]
    pub fn fd<X: BaseExt>(self, base: &EventBase<X>) -> Result<Option<RawFd>> {
        let idx = base.resolve(self, "fd")?;
        let fd = base.slots[idx].fd;
        Ok((fd >= 0).then_some(fd))
    }

    /// Everything the event was assigned, in one call
    /// (`event_get_assignment`). libevent also hands back the callback
    /// and its argument; a Rust closure cannot be handed out while the
    /// base owns it, so [`EventAssignment::has_callback`] says whether
    /// one is set (it is not after the callback panicked, until
    /// [`assign`](Event::assign) gives it a new one).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// let mut base = EventBase::new()?;
    /// let t = Event::new(&mut base, None, Ev::PERSIST, |_, _, _, _| {})?;
    /// let a = t.assignment(&base)?;
    /// assert_eq!((a.fd, a.events, a.has_callback), (None, Ev::PERSIST, true));
    /// assert_eq!(a.priority, base.npriorities() / 2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_get_assignment")]
    pub fn assignment<X: BaseExt>(self, base: &EventBase<X>) -> Result<EventAssignment> {
        let idx = base.resolve(self, "assignment")?;
        let s = &base.slots[idx];
        Ok(EventAssignment {
            fd: (s.fd >= 0).then_some(s.fd),
            events: s.what,
            priority: usize::from(s.prio),
            has_callback: !s.cb.is_none(),
        })
    }

    /// The flags the event was created with (`event_get_events`).
    ///
    /// # Errors
    /// [`Error::StaleEvent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::new(&mut base, None, Ev::PERSIST, |_, _, _, _| {})?;
    /// assert_eq!(ev.events(&base)?, Ev::PERSIST);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_get_events")]
    pub fn events<X: BaseExt>(self, base: &EventBase<X>) -> Result<Ev> {
        let idx = base.resolve(self, "events")?;
        Ok(base.slots[idx].what)
    }

    /// True if this handle was made by `base` (`event_get_base(ev) == base`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let other = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert!(ev.belongs_to(&base));
    /// assert!(!ev.belongs_to(&other));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_get_base")]
    pub fn belongs_to<X: BaseExt>(self, base: &EventBase<X>) -> bool {
        self.base == base.id
    }

    /// True while the handle refers to a live event (`event_initialized`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert!(ev.is_live(&base));
    /// ev.free(&mut base)?;
    /// assert!(!ev.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_initialized")]
    pub fn is_live<X: BaseExt>(self, base: &EventBase<X>) -> bool {
        self.base == base.id && base.slots.get(self.idx, self.generation).is_some()
    }

    /// Deletes the event and queues `fin` to run from the loop at the
    /// event's priority instead of its callback (`event_finalize`);
    /// afterwards `add` and `active` fail until the event is re-assigned.
    /// A base dropped with finalizers outstanding runs them.
    ///
    /// # Errors
    /// [`Error::StaleEvent`]; [`Error::BadState`] if already finalizing.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let mut base = EventBase::new()?;
    /// let done = Rc::new(Cell::new(false));
    /// let d = done.clone();
    /// let ev = Event::timer(&mut base, |_, _, _, _| unreachable!())?;
    /// ev.finalize(&mut base, move |_, _| d.set(true))?;
    /// assert!(ev.add(&mut base, None).is_err()); // until re-assigned
    /// base.dispatch()?;
    /// assert!(done.get() && ev.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_finalize")]
    pub fn finalize<X: BaseExt, F>(self, base: &mut EventBase<X>, fin: F) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>, Event) + 'static,
    {
        self.finalize_inner(
            base,
            once_fn(&base.account, move |b, ev, _, _| fin(b, ev))?,
            false,
        )
    }

    /// Like [`Event::finalize`], then frees the event (`event_free_finalize`).
    ///
    /// # Errors
    /// As [`Event::finalize`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let mut base = EventBase::new()?;
    /// let done = Rc::new(Cell::new(false));
    /// let d = done.clone();
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.free_finalize(&mut base, move |_, _| d.set(true))?;
    /// base.dispatch()?;
    /// assert!(done.get());
    /// assert!(!ev.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_free_finalize")]
    pub fn free_finalize<X: BaseExt, F>(self, base: &mut EventBase<X>, fin: F) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>, Event) + 'static,
    {
        self.finalize_inner(
            base,
            once_fn(&base.account, move |b, ev, _, _| fin(b, ev))?,
            true,
        )
    }

    fn finalize_inner<X: BaseExt>(
        self,
        base: &mut EventBase<X>,
        f: EventFn<X>,
        free: bool,
    ) -> Result<()> {
        let idx = base.resolve(self, "finalize")?;
        if base.slots[idx].has(state::FINALIZING) {
            return Err(Error::BadState("event is already finalizing"));
        }
        base.del_inner(idx);
        let s = &mut base.slots[idx];
        s.state |= state::FINALIZING;
        if free {
            s.state |= state::FINALIZE_FREE;
        }
        let old = std::mem::replace(&mut s.cb, Callback::Closure(f));
        drop(old);
        base.activate(idx, Ev::empty(), 1);
        Ok(())
    }
}

impl<X: BaseExt> EventBase<X> {
    /// Schedules a one-shot callback (`event_base_once`): on `fd` for
    /// `what` (READ / WRITE / CLOSED), and/or after `timeout`. The event is
    /// released after it fires; one that never fires is released when the
    /// base is dropped. A pure timeout with `None` or a zero duration runs
    /// on the next loop iteration, in FIFO order with other such calls.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `SIGNAL` or `PERSIST` in `what`, or
    /// for empty `what` (use [`Ev::TIMEOUT`] for a pure timeout).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, EventBase};
    /// use std::{cell::Cell, rc::Rc};
    /// let mut base = EventBase::new()?;
    /// let hits = Rc::new(Cell::new(0));
    /// let h = hits.clone();
    /// base.once(None, Ev::TIMEOUT, None, move |_, _, what| {
    ///     assert_eq!(what, Ev::TIMEOUT);
    ///     h.set(h.get() + 1);
    /// })?;
    /// base.dispatch()?;
    /// assert_eq!(hits.get(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_once")]
    pub fn once<F>(
        &mut self,
        fd: impl Into<Option<RawFd>>,
        what: Ev,
        timeout: Option<Duration>,
        cb: F,
    ) -> Result<()>
    where
        F: FnOnce(&mut EventBase<X>, RawFd, Ev) + 'static,
    {
        if what.intersects(Ev::SIGNAL | Ev::PERSIST) {
            return Err(Error::InvalidArgument(
                "once does not take EV_SIGNAL or EV_PERSIST",
            ));
        }
        if what.is_empty() {
            return Err(Error::InvalidArgument("once needs at least one event flag"));
        }
        let fd = check_flags(fd.into(), what)?;
        let once = once_fn(&self.account, move |b, _, fd, what| cb(b, fd, what))?;
        let ev = self.new_slot(fd, what, Callback::Closure(once))?;
        self.slots[ev.idx].state |= state::ONCE;
        self.arm_once(ev.idx, what, timeout)
    }

    /// Adds a fresh one-shot slot, or activates it at once for an
    /// immediate pure timeout; releases it again on failure.
    pub(crate) fn arm_once(&mut self, idx: u32, what: Ev, timeout: Option<Duration>) -> Result<()> {
        let immediate = !what.intersects(IO_FLAGS) && timeout.is_none_or(|d| d.is_zero());
        if immediate {
            self.activate(idx, Ev::TIMEOUT, 1);
            return Ok(());
        }
        let r = self.add_inner(idx, timeout.map(|d| Timeout::After(duration_ns(d))));
        if r.is_err() {
            self.free_inner(idx);
        }
        r
    }

    /// Registers a common timeout of `duration` (`event_base_init_common_timeout`);
    /// the same duration returns the same handle.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] once 256 distinct durations exist.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let a = base.init_common_timeout(Duration::from_millis(100))?;
    /// let b = base.init_common_timeout(Duration::from_millis(100))?;
    /// assert_eq!(a, b); // one queue per duration
    /// assert_eq!(a.duration(), Duration::from_millis(100));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_init_common_timeout")]
    pub fn init_common_timeout(&mut self, duration: Duration) -> Result<CommonTimeout> {
        let ns = duration_ns(duration);
        let idx = match self.commons.iter().position(|c| c.duration == ns) {
            Some(i) => i,
            None => {
                if self.commons.len() >= MAX_COMMON_TIMEOUTS {
                    return Err(Error::InvalidArgument("too many common timeouts (max 256)"));
                }
                mem::reserve_charged(&self.account, &mut self.commons, 1)?;
                self.commons.push(CommonQueue::new(ns));
                self.commons.len() - 1
            }
        };
        Ok(CommonTimeout {
            idx: idx as u8,
            base: self.id,
            duration,
        })
    }

    /// Looks up a handle; stale handles are an error (a panic in debug mode).
    #[inline]
    pub(crate) fn resolve(&self, ev: Event, op: &str) -> Result<u32> {
        if ev.base == self.id && self.slots.get(ev.idx, ev.generation).is_some() {
            Ok(ev.idx)
        } else {
            Err(stale(ev, op))
        }
    }

    pub(crate) fn new_slot(
        &mut self,
        fd: RawFd,
        what: Ev,
        cb: Callback<EventBase<X>>,
    ) -> Result<Event> {
        self.slots.reserve_one(&self.account)?;
        let (idx, generation) = self.slots.alloc()?;
        let prio = (self.active.len() / 2) as u8;
        let s = &mut self.slots[idx];
        s.fd = fd;
        s.what = what;
        s.prio = prio;
        s.cb = cb;
        Ok(Event {
            idx,
            generation,
            base: self.id,
        })
    }

    pub(crate) fn event_of(&self, idx: u32) -> Event {
        Event {
            idx,
            generation: self.slots[idx].generation,
            base: self.id,
        }
    }

    /// `event_add` on slot `idx`. On error nothing changed.
    pub(crate) fn add_inner(&mut self, idx: u32, timeout: Option<Timeout>) -> Result<()> {
        let s = &self.slots[idx];
        if s.has(state::FINALIZING) {
            return Err(Error::BadState("event is finalized"));
        }
        // Only its own callback runs without the closure in the slot; any
        // other closure-less event lost it to a panic, and pending it would
        // fire forever with nothing to run.
        if s.cb.is_none() && self.running_event.is_none_or(|e| e.idx != idx) {
            return Err(Error::BadState(
                "event lost its callback to a panic; assign it again",
            ));
        }
        let what = s.what;
        if let Some(Timeout::After(_)) = timeout
            && (!s.has(state::TIMEOUT) || s.has(state::COMMON))
        {
            self.heap.reserve_one(&self.account)?;
        }
        if let Some(Timeout::Common(ct)) = timeout {
            if usize::from(ct) >= self.commons.len() {
                return Err(Error::InvalidArgument("unknown common timeout"));
            }
            if self.commons[usize::from(ct)].heap_idx == NIL {
                self.heap.reserve_one(&self.account)?;
            }
        }
        if !s.has(state::INSERTED) {
            if what.contains(Ev::SIGNAL) {
                self.insert_signal(idx)?;
            } else if what.intersects(IO_FLAGS) {
                self.insert_io(idx)?;
            }
        }
        let Some(timeout) = timeout else {
            return Ok(());
        };
        let s = &self.slots[idx];
        if s.has(state::ACTIVE) && s.res.contains(Ev::TIMEOUT) {
            // Re-scheduling a timeout whose expiry is still queued cancels
            // that expiry (libevent's rule).
            self.deactivate(idx);
        }
        let now = self.now_ns();
        let persist = what.contains(Ev::PERSIST);
        match timeout {
            Timeout::After(d) => {
                self.schedule(idx, now.saturating_add(d));
                let s = &mut self.slots[idx];
                s.state &= !state::PERIODIC_COMMON;
                if persist {
                    s.state |= state::PERIODIC;
                    s.interval = d;
                }
            }
            Timeout::Common(ct) => {
                let d = self.commons[usize::from(ct)].duration;
                self.schedule_common(idx, ct, now.saturating_add(d));
                if persist {
                    let s = &mut self.slots[idx];
                    s.state |= state::PERIODIC | state::PERIODIC_COMMON;
                    s.interval = d;
                }
            }
        }
        Ok(())
    }

    /// `event_del` on slot `idx`: off every queue. Deleting the running
    /// signal event also cancels its remaining deliveries.
    #[inline]
    pub(crate) fn del_inner(&mut self, idx: u32) {
        if idx == self.running_signal {
            self.running_signal = NIL;
        }
        if self.slots[idx].state & (state::TIMEOUT | state::ACTIVE | state::INSERTED) != 0 {
            self.del_queued(idx);
        }
    }

    fn del_queued(&mut self, idx: u32) {
        let st = self.slots[idx].state;
        if st & state::TIMEOUT != 0 {
            self.unschedule_queued(idx);
        }
        if st & state::ACTIVE != 0 {
            self.deactivate(idx);
        }
        if st & state::INSERTED != 0 {
            self.remove_inserted(idx);
        }
    }

    /// Removes I/O or signal interest, keeping any timeout.
    #[inline]
    pub(crate) fn remove_inserted(&mut self, idx: u32) {
        let s = &self.slots[idx];
        if s.has(state::INSERTED) {
            if s.what.contains(Ev::SIGNAL) {
                self.remove_signal(idx);
            } else {
                self.remove_io(idx);
            }
        }
    }

    /// `event_free` on slot `idx`.
    pub(crate) fn free_inner(&mut self, idx: u32) {
        self.del_inner(idx);
        let cb = self.slots.release(idx);
        drop(cb);
    }
}

#[cold]
#[inline(never)]
fn stale(ev: Event, op: &str) -> Error {
    debug::misuse(format_args!(
        "{op} on a stale event handle {ev:?} (freed, or from another base)"
    ));
    Error::StaleEvent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::LoopFlags;
    use std::cell::Cell;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    thread_local! {
        static FIRED: Cell<(u32, u32, u16)> = const { Cell::new((0, 0, 0)) };
    }

    fn record(base: &mut EventBase, ev: Event, what: Ev, data: u32) {
        assert_eq!(base.running_event(), Some(ev));
        FIRED.with(|f| {
            let (n, _, _) = f.get();
            f.set((n + 1, data, what.bits()));
        });
    }

    /// A plain-function event runs its function with its payload, every
    /// time it fires (the function stays in the slot), and needs no block.
    #[test]
    fn plain_event_runs_with_its_payload() {
        let mut base = EventBase::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        // The slab's first block, then none per event.
        Event::timer(&mut base, |_, _, _, _| {})
            .unwrap()
            .free(&mut base)
            .unwrap();
        // This base's own figure: other tests allocate on other threads.
        let held = base.mem_stats().base.total;
        let ev = Event::plain(&mut base, a.as_raw_fd(), Ev::READ | Ev::PERSIST, 7, record).unwrap();
        assert_eq!(
            base.mem_stats().base.total,
            held,
            "no block for the callback"
        );
        assert!(ev.assignment(&base).unwrap().has_callback);
        ev.add(&mut base, None).unwrap();
        // Unread, the byte keeps the fd readable: each run fires once.
        b.write_all(b"x").unwrap();
        base.run(LoopFlags::ONCE).unwrap();
        assert_eq!(FIRED.with(Cell::get), (1, 7, Ev::READ.bits()));
        base.run(LoopFlags::ONCE).unwrap();
        assert_eq!(FIRED.with(Cell::get).0, 2, "still pending, still there");
        ev.free(&mut base).unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(FIRED.with(Cell::get).0, 2);
    }
}
