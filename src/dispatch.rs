//! The event loop (tutorial ch. 5): `event_base_loop` and its flags,
//! loopexit / loopbreak / loopcontinue, and the per-priority active queues.
//!
//! One iteration (libevent's `event_base_loop`, reference §4.7):
//! 1. stop if exit or break was requested;
//! 2. compute the poll timeout: zero if callbacks are active or with
//!    `NONBLOCK`, else until the earliest deadline, else forever;
//! 3. return [`LoopStatus::NoEvents`] if nothing is pending or active
//!    (unless `NO_EXIT_ON_EMPTY`);
//! 4. poll, and activate every event whose fd became ready — or, with one
//!    priority, no dispatch limits, no timers and nothing queued, run the
//!    sole event of a ready fd right away: libevent would run the same
//!    callbacks in the same order (see `activate_ready`);
//! 5. move expired timeouts to the active queues;
//! 6. run the most urgent non-empty active queue only (strict priority),
//!    in FIFO order;
//! 7. reset the base's scratch [`Arena`](crate::Arena) (one load and a
//!    branch when the iteration did not use it).
//!
//! An allocation failure inside an iteration (the arena's chunk for signal
//! delivery counts or a cross-thread command batch) is logged through the
//! log callback and ends the run with [`Error::Alloc`]; what could not be
//! processed stays queued for the next run.
//!
//! Active queues are intrusive doubly-linked lists through the slab, one
//! per priority, with a bitmask of the non-empty ones: activation, removal
//! (`del` of an active event) and finding the next queue are all O(1) and
//! never allocate.

use std::time::Duration;

use mio::Token;

use crate::active::{activate_in, deactivate_in};
use crate::backend::{HOUSEKEEPING_TOKEN, SIGNAL_TOKEN, WAKER_TOKEN, readiness};
use crate::base::{BaseExt, EventBase};
use crate::deferred::DeferredQueue;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::event::event_fn;
use crate::flags::flag_set;
use crate::handle::Event;
use crate::log::{Severity, log};
use crate::mem::MemRc;
use crate::method::IoMethod;
use crate::slots::{Callback, NIL, PlainFn, state};

flag_set! {
    /// Flags for [`EventBase::run`] (`EVLOOP_*`).
    #[doc(alias = "EVLOOP_ONCE")]
    pub struct LoopFlags: u8 {
        /// Block until something is active, run it, then return (`EVLOOP_ONCE`).
        const ONCE = 0x01;
        /// Never block: run what is ready, then return (`EVLOOP_NONBLOCK`).
        const NONBLOCK = 0x02;
        /// Keep running with no events (`EVLOOP_NO_EXIT_ON_EMPTY`); only
        /// loopexit / loopbreak stop the loop.
        const NO_EXIT_ON_EMPTY = 0x04;
    }
}

/// How a loop run ended without error (`event_base_loop`'s 0 and 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopStatus {
    /// Stopped by loopexit, loopbreak, or the `ONCE` / `NONBLOCK` flags (0).
    Exited,
    /// Nothing was pending or active any more (1).
    NoEvents,
}

/// Logs an error that stops the loop (an allocation failure inside it)
/// through the log callback, and passes it on.
#[cold]
#[inline(never)]
fn loop_error(during: &str, e: Error) -> Error {
    log(
        Severity::Err,
        format_args!("event_base_loop: {during}: {e}; the loop stops"),
    );
    e
}

impl<X: BaseExt> EventBase<X> {
    /// Deferred work or the layers' work waits ([`BaseExt::has_work`]).
    /// Two loads of the base's own fields unless the queue was ever
    /// handed out.
    #[inline(always)]
    pub(crate) fn has_deferred_work(&self) -> bool {
        X::has_work(self) || (self.deferred_shared.get() && self.deferred.has_work())
    }

    /// The base's deferred queue, for code that must queue work later
    /// without `&mut EventBase`.
    pub(crate) fn deferred_queue(&self) -> MemRc<DeferredQueue<EventBase<X>>> {
        self.deferred_shared.set(true);
        MemRc::clone(&self.deferred)
    }

    /// Runs the work queued before this call; returns how many items ran.
    #[cold]
    #[inline(never)]
    pub(crate) fn run_deferred(&mut self) -> usize {
        let mut ran = 0;
        if X::has_work(self) {
            ran += X::run_work(self);
        }
        let n = self.deferred.items.borrow().len();
        for _ in 0..n {
            // Popped before running: the work may queue more.
            let work = {
                let mut items = self.deferred.items.borrow_mut();
                let Some(work) = items.pop_front() else {
                    break;
                };
                self.deferred.queued.set(items.len());
                work
            };
            work.run(self);
        }
        ran + n
    }
}

impl<X: BaseExt> EventBase<X> {
    /// Activates slot `idx`; activating something more urgent than the
    /// running callback makes the loop re-poll right after it
    /// (`priority_active_inversion`).
    pub(crate) fn activate(&mut self, idx: u32, res: Ev, ncalls: u16) {
        let p = activate_in(&mut self.slots, &mut self.active, idx, res, ncalls);
        // `running_prio` is 0 outside dispatch, so nothing counts as more
        // urgent there.
        if p < self.running_prio {
            self.cont = true;
        }
    }

    pub(crate) fn deactivate(&mut self, idx: u32) {
        deactivate_in(&mut self.slots, &mut self.active, idx);
        self.slots[idx].res = Ev::empty();
    }

    /// Runs the loop until no events are pending (`event_base_dispatch`).
    ///
    /// # Errors
    /// As [`EventBase::run`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase, LoopStatus};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// assert_eq!(base.dispatch()?, LoopStatus::NoEvents); // nothing to wait for
    /// let t = Event::timer(&mut base, |_, _, _, _| {})?;
    /// t.add(&mut base, Some(Duration::from_millis(1)))?;
    /// assert_eq!(base.dispatch()?, LoopStatus::NoEvents); // ran the timer, then ended
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_dispatch")]
    pub fn dispatch(&mut self) -> Result<LoopStatus> {
        self.run(LoopFlags::empty())
    }

    /// Runs the event loop (`event_base_loop`).
    ///
    /// Returns [`LoopStatus::Exited`] when stopped by
    /// [`loopexit`](EventBase::loopexit), [`loopbreak`](EventBase::loopbreak)
    /// or the flags, and [`LoopStatus::NoEvents`] when nothing is left to
    /// wait for.
    ///
    /// # Errors
    /// [`Error::Reentrant`] when called from one of this base's callbacks;
    /// [`Error::Io`] if polling fails.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, LoopFlags, LoopStatus};
    /// let mut base = EventBase::new()?;
    /// assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::NoEvents);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_loop")]
    // A real function, as before the core became generic: the loop is not
    // worth inlining into callers, and profiles (callgrind's
    // toggle-collect in benches/compare.sh) find it by name.
    #[inline(never)]
    pub fn run(&mut self, flags: LoopFlags) -> Result<LoopStatus> {
        if self.running {
            log(
                Severity::Warn,
                format_args!(
                    "event_base_loop: reentrant invocation; only one loop may run per base"
                ),
            );
            return Err(Error::Reentrant);
        }
        self.running = true;
        self.got_exit = false;
        self.got_break = false;
        self.clear_time_cache();
        self.signals_take_target();
        // A panicking callback unwinds through here: the base leaves its
        // running state first, so it stays usable (the panicking closure is
        // dropped and its event deleted).
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_inner(flags)));
        // Whatever ended the run, the iteration's scratch goes.
        self.arena.reset();
        self.running = false;
        let panicked_in = self.running_event.take();
        self.running_prio = 0;
        self.clear_time_cache();
        match r {
            Ok(r) => r,
            Err(panic) => {
                // Its closure is gone: the event must not stay pending (a
                // level-triggered fd would spin without a callback).
                if let Some(ev) = panicked_in
                    && ev.is_live(self)
                {
                    self.del_inner(ev.idx);
                }
                X::after_panic(self, panicked_in);
                std::panic::resume_unwind(panic)
            }
        }
    }

    fn run_inner(&mut self, flags: LoopFlags) -> Result<LoopStatus> {
        let nonblock = flags.contains(LoopFlags::NONBLOCK);
        loop {
            self.cont = false;
            // Deferred work first: it may queue writes, activate events or
            // end the loop, and queued work must not wait behind a poll.
            // Work it queues runs at the next iteration's start, after a
            // non-blocking poll. One check per iteration when idle.
            let urgent = self.has_deferred_work();
            let mut ran = if urgent { self.run_deferred() } else { 0 };
            if self.got_exit || self.got_break {
                return Ok(LoopStatus::Exited);
            }
            if self.n_pending == 0
                && self.active.count == 0
                && !urgent
                && !flags.contains(LoopFlags::NO_EXIT_ON_EMPTY)
                && self.nothing_left()?
            {
                return Ok(LoopStatus::NoEvents);
            }
            let timeout = if self.active.count > 0 || nonblock || urgent {
                Some(0)
            } else {
                self.next_timeout()
            };
            self.clear_time_cache();
            if let Err(e) = self.backend.poll(timeout) {
                let call = match self.backend.method() {
                    IoMethod::Epoll => "epoll_wait",
                    IoMethod::Poll => "poll",
                };
                log(Severity::Err, format_args!("{call} failed: {e}"));
                return Err(Error::Io(e));
            }
            ran += self.activate_ready()?;
            if !self.heap.is_empty() {
                let now = self.now_ns();
                self.timeout_process(now);
            }
            if self.active.count > 0 && !self.cont {
                ran += self.process_active();
            }
            // End of the iteration: release its scratch (one load and a
            // branch when the arena was not used).
            self.arena.reset();
            if ran > 0 {
                if flags.contains(LoopFlags::ONCE) && self.active.count == 0 {
                    return Ok(LoopStatus::Exited);
                }
            } else if nonblock && self.active.count == 0 {
                return Ok(LoopStatus::Exited);
            }
        }
    }

    /// Nothing pending or active: run what other threads queued (their
    /// activations count as active events, as libevent's cross-thread
    /// `event_active` queues at once), then tell whether the loop is empty.
    #[cold]
    #[inline(never)]
    fn nothing_left(&mut self) -> Result<bool> {
        self.run_commands()
            .map_err(|e| loop_error("cross-thread commands", e))?;
        let empty = self.n_pending == 0 && self.active.count == 0;
        if empty {
            log(
                Severity::Debug,
                format_args!("event_base_loop: no events registered"),
            );
        }
        Ok(empty)
    }

    /// Nanoseconds until the earliest deadline, read from the clock rather
    /// than the cache (the iteration's callbacks may have taken a while, and
    /// the cached time would make the poll oversleep by that much); `None`
    /// without timers.
    fn next_timeout(&self) -> Option<u64> {
        let top = self.heap.top()?;
        Some(
            top.deadline
                .saturating_sub(crate::sys::time::monotonic_ns()),
        )
    }

    /// Walks the poll results: activates the events on each ready fd whose
    /// flags match, drains the signal pipe, runs cross-thread commands.
    ///
    /// Direct dispatch: with one priority, no dispatch limits, nothing
    /// active and no timer at poll time, the order libevent would run the
    /// callbacks in is exactly the order of the poll results (every ready
    /// event is queued before any callback runs, and whatever a callback
    /// activates queues behind them). The sole event of a ready fd then
    /// runs right here instead of going through the active queue. Returns
    /// how many callbacks ran.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the signal or command scratch cannot be
    /// obtained (logged; the deliveries and commands stay queued).
    fn activate_ready(&mut self) -> Result<usize> {
        let n = self.backend.ready;
        let direct = self.active.count == 0
            && self.active.len() == 1
            && self.heap.is_empty()
            && !self.limits.any;
        // Two copies of the walk, so the direct test is not re-evaluated
        // per report (and codegen does not depend on the optimiser
        // unswitching the loop).
        let (ran, internal) = if direct {
            self.walk_ready::<true>(n)
        } else {
            self.walk_ready::<false>(n)
        };
        self.backend.maybe_grow();
        if internal {
            self.activate_internal()?;
        }
        Ok(ran)
    }

    /// [`activate_ready`](Self::activate_ready)'s walk over the first `n`
    /// reports; returns the callbacks run and whether an internal token
    /// (waker, signal pipe) was among them.
    #[inline(always)]
    fn walk_ready<const DIRECT: bool>(&mut self, n: usize) -> (usize, bool) {
        let mut internal = false;
        let mut ran = 0;
        // Indexed, not iterated: direct callbacks borrow the whole base.
        for k in 0..n {
            let Some(e) = self.backend.events.get(k) else {
                break;
            };
            let (bits, token) = (e.events, e.u64);
            // The waker's and signal pipe's tokens are beyond any fd.
            let Some(entry) = self.backend.fds.get(token as usize) else {
                internal = true;
                continue;
            };
            // With `Ev::ET` on an edge-triggering backend: an ET event's
            // result keeps it, as libevent's callbacks see `EV_ET`.
            let res = readiness(bits);
            let mut i = entry.head;
            if DIRECT && i != NIL && !self.cont {
                let s = &self.slots[i];
                if s.fd_next == NIL && s.state & state::ACTIVE == 0 {
                    let hit = s.what & res;
                    if hit.intersects(Ev::IO) {
                        // No store before `run_one_with` indexes the same
                        // slot, so its bounds check folds into this one.
                        self.run_one_with(i, hit);
                        ran += 1;
                    }
                    continue;
                }
            }
            while i != NIL {
                let s = &self.slots[i];
                let next = s.fd_next;
                let hit = s.what & res;
                if hit.intersects(Ev::IO) {
                    activate_in(&mut self.slots, &mut self.active, i, hit, 1);
                }
                i = next;
            }
        }
        (ran, internal)
    }

    /// The waker, the signal pipe or the housekeeping tick were among the
    /// poll results.
    #[cold]
    #[inline(never)]
    fn activate_internal(&mut self) -> Result<()> {
        let n = self.backend.ready;
        let tokens = |t: Token| self.backend.events[..n].iter().any(|e| e.u64 == t.0 as u64);
        let (signal, woken) = (tokens(SIGNAL_TOKEN), tokens(WAKER_TOKEN));
        if tokens(HOUSEKEEPING_TOKEN) {
            self.run_housekeeping();
        }
        if signal {
            self.deliver_signals()
                .map_err(|e| loop_error("signal delivery", e))?;
        }
        if woken {
            self.notify
                .waker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reset();
            self.run_commands()
                .map_err(|e| loop_error("cross-thread commands", e))?;
        }
        Ok(())
    }

    /// Runs the most urgent non-empty queue (libevent's
    /// `event_process_active`); returns how many callbacks ran. Stops early
    /// on loopbreak, loopcontinue, the activation of something more urgent,
    /// or the configured dispatch limits.
    fn process_active(&mut self) -> usize {
        let Some(p) = self.active.first() else {
            return 0;
        };
        let limited = self.limits.any && p >= self.limits.min_priority;
        let deadline = match self.limits.max_interval {
            Some(d) if limited => {
                Some(crate::sys::time::monotonic_ns().saturating_add(crate::clock::ns(d)))
            }
            _ => None,
        };
        self.running_prio = p;
        let mut ran = 0;
        while let Some(idx) = self.active.pop_front(&mut self.slots, p) {
            self.run_one(idx);
            ran += 1;
            if self.cont {
                break;
            }
            if limited
                && (ran >= self.limits.max_callbacks
                    || deadline.is_some_and(|d| crate::sys::time::monotonic_ns() >= d))
            {
                break;
            }
        }
        self.running_prio = 0;
        ran
    }

    /// Runs the callback of slot `idx`, just taken off its active queue.
    #[inline(always)]
    fn run_one(&mut self, idx: u32) {
        let res = self.slots[idx].res;
        self.run_one_with(idx, res);
    }

    /// Runs the callback of slot `idx` for readiness `res`. Plain
    /// persistent events (the common case) take the short path, which
    /// indexes the slot table once.
    #[inline(always)]
    fn run_one_with(&mut self, idx: u32, res: Ev) {
        const SPECIAL: u16 = state::FINALIZING | state::ONCE;
        let mut s = &mut self.slots[idx];
        s.res = res;
        let (st, what) = (s.state, s.what);
        if st & SPECIAL != 0 || what & (Ev::PERSIST | Ev::SIGNAL) != Ev::PERSIST {
            self.run_one_special(idx);
            return;
        }
        let (fd, generation) = (s.fd, s.generation);
        if st & state::PERIODIC != 0 {
            self.rearm(idx, res);
            s = &mut self.slots[idx];
        }
        if let Callback::Plain(f) = s.cb {
            // A plain function stays in the slot.
            if let Some(f) = f {
                let data = s.data;
                self.run_plain(idx, f, generation, res, data);
            }
            return;
        }
        let Callback::Closure(mut f) = std::mem::replace(&mut s.cb, Callback::NONE) else {
            return;
        };
        let ev = Event {
            idx,
            generation,
            base: self.id,
        };
        self.running_event = Some(ev);
        f(self, ev, fd, res);
        self.running_event = None;
        // Put the closure back unless the event was freed or re-assigned
        // while it ran (then it drops here).
        if let Some(s) = self.slots.get_mut(idx, generation)
            && let Callback::Plain(_) = s.cb
        {
            s.cb = Callback::Closure(f);
        }
    }

    /// [`run_one`](Self::run_one) for a plain function.
    #[inline(always)]
    fn run_plain(
        &mut self,
        idx: u32,
        f: PlainFn<EventBase<X>>,
        generation: u32,
        res: Ev,
        data: u32,
    ) {
        let ev = Event {
            idx,
            generation,
            base: self.id,
        };
        self.running_event = Some(ev);
        f(self, ev, res, data);
        self.running_event = None;
    }

    /// [`run_one`](Self::run_one) for finalizers, one-shot, non-persistent
    /// and signal events.
    #[inline]
    fn run_one_special(&mut self, idx: u32) {
        let s = &mut self.slots[idx];
        let res = s.res;
        let ncalls = std::mem::take(&mut s.ncalls);
        let (fd, what, st, generation) = (s.fd, s.what, s.state, s.generation);
        let ev = Event {
            idx,
            generation,
            base: self.id,
        };
        if st & state::FINALIZING != 0 {
            self.run_finalizer(idx, ev);
            return;
        }
        if !what.contains(Ev::PERSIST) {
            self.del_inner(idx);
        } else if st & state::PERIODIC != 0 {
            self.rearm(idx, res);
        }
        let s = &mut self.slots[idx];
        let data = s.data;
        let mut f = s.take_cb();
        if f.is_none() {
            return;
        }
        self.running_event = Some(ev);
        if what.contains(Ev::SIGNAL) {
            self.run_signal_calls(&mut f, ev, fd, res, ncalls);
        } else {
            f.call(self, ev, fd, res, data);
        }
        self.running_event = None;
        // As in `run_one`; one-shot events are released.
        if let Some(s) = self.slots.get_mut(idx, generation) {
            if st & state::ONCE != 0 {
                self.free_inner(idx);
            } else if s.cb.is_none() {
                s.cb = f;
            }
        }
    }

    /// A signal event's callback runs once per delivery, unless the loop
    /// breaks or the callback deletes or frees the event (libevent's
    /// `ev_pncalls`).
    #[inline(never)]
    fn run_signal_calls(
        &mut self,
        f: &mut Callback<EventBase<X>>,
        ev: Event,
        fd: std::os::fd::RawFd,
        res: Ev,
        ncalls: u16,
    ) {
        for i in 0..ncalls.max(1) {
            if i > 0 && (self.got_break || self.running_signal != ev.idx) {
                break;
            }
            self.running_signal = ev.idx;
            // Signal events are public ones: closures (no payload).
            f.call(self, ev, fd, res, 0);
        }
        self.running_signal = NIL;
    }

    #[cold]
    #[inline(never)]
    fn run_finalizer(&mut self, idx: u32, ev: Event) {
        let s = &mut self.slots[idx];
        let (fd, data) = (s.fd, s.data);
        let mut f = s.take_cb();
        if f.is_none() {
            return;
        }
        self.running_event = Some(ev);
        f.call(self, ev, fd, Ev::empty(), data);
        self.running_event = None;
        if self
            .slots
            .get(idx, ev.generation)
            .is_some_and(|s| s.has(state::FINALIZE_FREE) && s.has(state::FINALIZING))
        {
            self.free_inner(idx);
        }
    }

    /// Runs outstanding finalizers (when the base is dropped).
    pub(crate) fn run_pending_finalizers(&mut self) {
        // A finalizer may finalize further events: repeat until none is
        // queued, as libevent's `event_base_free` does.
        // Index scans rather than a collected list: no allocation on the
        // way out, and activation or finalizers never shrink the slab.
        loop {
            let mut ran = false;
            for idx in 0..self.slots.len() {
                let s = &self.slots[idx];
                if s.has(state::LIVE) && s.has(state::FINALIZING) && s.has(state::ACTIVE) {
                    let ev = self.event_of(idx);
                    self.deactivate(idx);
                    self.run_finalizer(idx, ev);
                    ran = true;
                }
            }
            if !ran {
                return;
            }
        }
    }

    /// Exits the loop after `delay` (`event_base_loopexit`), or after the
    /// callbacks active now with `None`. The earliest of several requests
    /// wins. The exit runs as a one-shot timer at the default (middle)
    /// priority, like libevent's.
    ///
    /// # Errors
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase, LoopStatus};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::new(&mut base, None, Ev::PERSIST, |_, _, _, _| {})?;
    /// ev.add(&mut base, Some(Duration::from_millis(1)))?; // would run forever
    /// base.loopexit(Some(Duration::from_millis(5)))?;
    /// assert_eq!(base.dispatch()?, LoopStatus::Exited);
    /// assert!(base.got_exit());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_loopexit")]
    pub fn loopexit(&mut self, delay: Option<Duration>) -> Result<()> {
        let exit = |base: &mut EventBase<X>, _: Event, _: std::os::fd::RawFd, _: Ev| {
            base.got_exit = true;
        };
        let ev = self.new_slot(
            -1,
            Ev::TIMEOUT,
            Callback::Closure(event_fn(&self.account, exit)?),
        )?;
        self.slots[ev.idx].state |= state::ONCE;
        self.arm_once(ev.idx, Ev::TIMEOUT, delay)
    }

    /// Stops the loop after the running callback; other active callbacks
    /// do not run (`event_base_loopbreak`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase, LoopStatus};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::new(&mut base, None, Ev::PERSIST, |base, _, _, _| base.loopbreak())?;
    /// ev.add(&mut base, Some(Duration::from_millis(1)))?;
    /// assert_eq!(base.dispatch()?, LoopStatus::Exited);
    /// assert!(base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_loopbreak")]
    pub fn loopbreak(&mut self) {
        self.got_break = true;
        self.cont = true;
    }

    /// After the running callback, stops running active callbacks and
    /// polls again (`event_base_loopcontinue`). No effect outside the loop.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let mut base = EventBase::new()?;
    /// let runs = Rc::new(Cell::new(0));
    /// let (r1, r2) = (runs.clone(), runs.clone());
    /// let a = Event::timer(&mut base, move |base, _, _, _| { r1.set(r1.get() + 1); base.loopcontinue() })?;
    /// let b = Event::timer(&mut base, move |_, _, _, _| r2.set(r2.get() + 1))?;
    /// a.active(&mut base, Ev::TIMEOUT)?;
    /// b.active(&mut base, Ev::TIMEOUT)?;
    /// base.dispatch()?; // `b` waits for the next iteration, but still runs
    /// assert_eq!(runs.get(), 2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_loopcontinue")]
    pub fn loopcontinue(&mut self) {
        if self.running {
            self.cont = true;
        }
    }

    /// True if the last (or current) run was stopped by a loopexit
    /// (`event_base_got_exit`); reset when a run starts.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let mut base = EventBase::new()?;
    /// assert!(!base.got_exit());
    /// base.loopexit(None)?;
    /// base.dispatch()?;
    /// assert!(base.got_exit());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_got_exit")]
    pub fn got_exit(&self) -> bool {
        self.got_exit
    }

    /// True if the last (or current) run was stopped by loopbreak
    /// (`event_base_got_break`); reset when a run starts.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |base, _, _, _| base.loopbreak())?;
    /// ev.active(&mut base, Ev::TIMEOUT)?;
    /// base.dispatch()?;
    /// assert!(base.got_break() && !base.got_exit());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_got_break")]
    pub fn got_break(&self) -> bool {
        self.got_break
    }

    /// The event whose callback is running (`event_base_get_running_event`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// assert_eq!(base.running_event(), None);
    /// let ev = Event::timer(&mut base, |base, ev, _, _| {
    ///     assert_eq!(base.running_event(), Some(ev));
    /// })?;
    /// ev.active(&mut base, Ev::TIMEOUT)?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_get_running_event")]
    pub fn running_event(&self) -> Option<Event> {
        self.running_event
    }

    /// Activates the pending events on `fd` that watch any of `events`
    /// (READ / WRITE / CLOSED; TIMEOUT activates those on `fd` with a
    /// timeout) — `event_base_active_by_fd`. Unknown fds are ignored.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let mut base = EventBase::new()?;
    /// let (s, _peer) = UnixStream::pair().unwrap();
    /// let ev = Event::new(&mut base, s.as_raw_fd(), Ev::READ, |_, _, _, what| {
    ///     assert_eq!(what, Ev::READ); // though nothing was sent
    /// })?;
    /// ev.add(&mut base, None)?;
    /// base.active_by_fd(s.as_raw_fd(), Ev::READ);
    /// assert_eq!(base.num_active(), 1);
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_active_by_fd")]
    pub fn active_by_fd(&mut self, fd: std::os::fd::RawFd, events: Ev) {
        if fd < 0 {
            return;
        }
        if events.contains(Ev::TIMEOUT) {
            // An index scan: activating allocates nothing and moves no slot.
            for idx in 0..self.slots.len() {
                let s = &self.slots[idx];
                if s.has(state::LIVE)
                    && s.fd == fd
                    && s.has(state::TIMEOUT)
                    && !s.what.contains(Ev::SIGNAL)
                {
                    self.activate(idx, Ev::TIMEOUT, 1);
                }
            }
        }
        let want = events & (Ev::READ | Ev::WRITE | Ev::CLOSED);
        let Some(entry) = self.backend.entry(fd) else {
            return;
        };
        let mut i = entry.head;
        while i != NIL {
            let s = &self.slots[i];
            let next = s.fd_next;
            let hit = s.what & want;
            if !hit.is_empty() {
                self.activate(i, hit, 1);
            }
            i = next;
        }
    }
}
