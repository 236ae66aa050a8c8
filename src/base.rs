//! The event base (tutorial ch. 4): creation with a config, backend name
//! and features, priorities, reinit after fork, and teardown.
//!
//! An `EventBase` owns everything: the event slab, the active queues, the
//! timer heap and common-timeout queues, the fd and signal maps and the
//! poller. It is `!Send`: one thread runs it, and other threads reach
//! it through a [`Notifier`](crate::Notifier). Dropping a base with added
//! or active events is safe: outstanding finalizers run, never-fired
//! `once` callbacks are dropped, signal handlers are restored and fds are
//! left open (libevent's `event_base_free` does not close them either).

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use crate::active::ActiveQueues;
use crate::backend::Backend;
use crate::clock::Epoch;
use crate::config::{BaseFlags, Config, Features};
use crate::debug;
use crate::deferred::DeferredQueue;
use crate::error::{Error, Result};
use crate::flags::flag_set;
use crate::handle::Event;
use crate::housekeeping_timer::Housekeeping;
use crate::log::{Severity, log};
use crate::mem::{self, Arena, BaseGuard, BaseMemStats, MemArc, MemRc, MemStats, MemVec, Pool};
use crate::method::IoMethod;
use crate::notifier::Shared;
use crate::signal_map::SignalMap;
use crate::slots::{Slots, state};
use crate::timer::{CommonQueue, TimerHeap};

flag_set! {
    /// What [`EventBase::count_events`] counts (`EVENT_BASE_COUNT_*`, with
    /// libevent's values).
    #[doc(alias = "EVENT_BASE_COUNT_ACTIVE")]
    pub struct EventCount: u8 {
        /// Active callbacks (`EVENT_BASE_COUNT_ACTIVE`).
        const ACTIVE = 0x01;
        /// Virtual events (`EVENT_BASE_COUNT_VIRTUAL`); always 0 in rvent.
        const VIRTUAL = 0x02;
        /// Added (pending) events (`EVENT_BASE_COUNT_ADDED`).
        const ADDED = 0x04;
    }
}

/// Most priority levels a base can have (`EVENT_MAX_PRIORITIES`).
pub const MAX_PRIORITIES: usize = 256;

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// Dispatch limits from [`Config::set_max_dispatch_interval`].
pub(crate) struct Limits {
    /// Some limit is configured.
    pub any: bool,
    pub max_callbacks: usize,
    pub max_interval: Option<Duration>,
    pub min_priority: usize,
}

/// An event loop with its events (libevent's `struct event_base`).
///
/// # Examples
/// ```
/// use rvent::EventBase;
/// let base = EventBase::new()?;
/// // "poll" when the environment has EVENT_NOEPOLL.
/// assert!(["epoll", "poll"].contains(&base.method()));
/// # Ok::<(), rvent::Error>(())
/// ```
pub struct EventBase<X: BaseExt = ()> {
    pub(crate) id: u32,
    pub(crate) slots: Slots<EventBase<X>>,
    pub(crate) active: ActiveQueues,
    /// Events that keep the loop alive (inserted or with a timeout).
    pub(crate) n_pending: u32,
    pub(crate) heap: TimerHeap,
    pub(crate) commons: MemVec<CommonQueue>,
    pub(crate) backend: Backend,
    pub(crate) signals: SignalMap,
    pub(crate) notify: MemArc<Shared>,
    pub(crate) epoch: Epoch,
    /// Cached monotonic ns (0 = empty) and wall clock keyed by it.
    pub(crate) cached_now: Cell<u64>,
    pub(crate) cached_wall: Cell<Option<(u64, SystemTime)>>,
    pub(crate) flags: BaseFlags,
    pub(crate) limits: Limits,
    pub(crate) running: bool,
    pub(crate) got_exit: bool,
    pub(crate) got_break: bool,
    pub(crate) cont: bool,
    pub(crate) running_event: Option<Event>,
    /// Priority of the queue being run; 0 outside dispatch.
    pub(crate) running_prio: usize,
    /// Slot of the signal event whose callback runs, `NIL` otherwise;
    /// deleting that event resets it, which cancels its remaining
    /// deliveries (libevent's `ev_pncalls`).
    pub(crate) running_signal: u32,
    /// Per-iteration scratch, reset at the end of every loop iteration.
    pub(crate) arena: Arena,
    /// The base's memory account and budget ([`Config::set_max_memory`]),
    /// shared with every buffer of the base, which charges it for its
    /// chain blocks (`mem/account.rs`).
    pub(crate) account: MemRc<mem::Account>,
    /// What the layers above the core keep in the base (bufferevents…);
    /// before the arena and pool guard: its buffers and callbacks go back
    /// to the pool.
    pub(crate) ext: X,
    /// Work queued without the base, run at the start of each iteration.
    pub(crate) deferred: MemRc<DeferredQueue<EventBase<X>>>,
    /// The queue was handed out, so work may be queued in it: until then
    /// the loop does not look at it.
    pub(crate) deferred_shared: Cell<bool>,
    /// The periodic tick on which the layers give back memory idle
    /// objects keep ([`Config::set_idle_trim`], `housekeeping.rs`).
    pub(crate) housekeeping: Housekeeping,
    /// Keeps the thread's pool caching while the base lives; flushes it
    /// when the thread's last base goes. Last, so the events drop first.
    pub(crate) _pool_guard: BaseGuard,
}

/// What a layer above the event core keeps in every base, and the three
/// points where the loop hands control to it.
///
/// The core knows nothing of bufferevents, listeners or HTTP; the crate
/// root names the full set of layers (`rvent::EventBase` is
/// `EventBase<rvent::Layers>`), and `()` is a base with no layers. The
/// loop calls [`has_work`](BaseExt::has_work) every iteration, so it must
/// be a load or two; the calls are static and inlined, so a layer costs
/// what its own check costs and nothing for the indirection.
pub trait BaseExt: Default + Sized + 'static {
    /// Work is waiting that must run at the start of the next iteration,
    /// before the loop decides whether to block.
    fn has_work(base: &EventBase<Self>) -> bool;

    /// Runs that work; returns how many items ran.
    fn run_work(base: &mut EventBase<Self>) -> usize;

    /// A callback panicked and is unwinding out of [`EventBase::run`];
    /// `running` is the event whose callback was running, if any. The
    /// layer repairs what it had lent to that callback.
    fn after_panic(base: &mut EventBase<Self>, running: Option<Event>);

    /// Bytes the layer's buffers hold in chain blocks without charging
    /// the base's account (a base without a budget), for
    /// [`EventBase::mem_stats`] (computed when asked, not on any hot path).
    fn uncharged_chain_bytes(base: &EventBase<Self>) -> usize {
        let _ = base;
        0
    }

    /// Adds the layer's own memory to the base's figures
    /// ([`MemStats::base`]): its tables, its objects' blocks, its buffers'
    /// lists (the chain blocks come from
    /// [`uncharged_chain_bytes`](Self::uncharged_chain_bytes) and the
    /// account). Computed when asked, not on any hot path.
    fn add_mem_stats(base: &EventBase<Self>, stats: &mut BaseMemStats) {
        let _ = (base, stats);
    }

    /// The base's housekeeping tick expired
    /// ([`Config::set_idle_trim`]): give back memory that idle objects
    /// keep. Returns whether the base looked quiet (its objects went idle
    /// or stayed untouched since the previous tick): the core then gives
    /// back the thread's pool cache and its grown poll-result array. Runs
    /// from the loop between callbacks, at most once per period; never on
    /// a per-event path.
    fn housekeeping(base: &mut EventBase<Self>) -> bool {
        let _ = base;
        true
    }
}

/// A base with no layers above the core.
impl BaseExt for () {
    #[inline(always)]
    fn has_work(_: &EventBase<()>) -> bool {
        false
    }

    fn run_work(_: &mut EventBase<()>) -> usize {
        0
    }

    fn after_panic(_: &mut EventBase<()>, _: Option<Event>) {}
}

impl<X: BaseExt> std::fmt::Debug for EventBase<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBase")
            .field("id", &self.id)
            .field("method", &self.method())
            .field("events", &self.slots.live())
            .field("pending", &self.n_pending)
            .field("active", &self.active.count)
            .field("priorities", &self.active.len())
            .finish()
    }
}

impl<X: BaseExt> EventBase<X> {
    /// A base with the default configuration (`event_base_new`).
    ///
    /// # Errors
    /// [`Error::Io`] if the poller cannot be created;
    /// [`Error::NoBackend`] if both `EVENT_NOEPOLL` and `EVENT_NOPOLL` are
    /// set in the environment; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let base = EventBase::new()?;
    /// assert!(["epoll", "poll"].contains(&base.method())); // poll with EVENT_NOEPOLL
    /// assert_eq!(base.num_events(), 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_new")]
    pub fn new() -> Result<Self> {
        Self::with_config(&Config::new())
    }

    /// A base built from `cfg` (`event_base_new_with_config`).
    ///
    /// The backend is the first of epoll and poll (libevent's order) that
    /// `cfg` does not avoid ([`Config::avoid_method`]), that has the
    /// required features ([`Config::require_features`]: `FDS` means poll,
    /// `ET` or `O1` epoll) and that the environment does not disable
    /// (`EVENT_NOEPOLL`, `EVENT_NOPOLL`; ignored with
    /// [`BaseFlags::IGNORE_ENV`]).
    ///
    /// # Errors
    /// [`Error::NoBackend`] if no backend qualifies; [`Error::Io`] if the
    /// poller cannot be created; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BaseFlags, Config, EventBase, Features, Error};
    /// let mut cfg = Config::new();
    /// cfg.set_flag(BaseFlags::IGNORE_ENV); // whatever EVENT_NOEPOLL says
    /// cfg.require_features(Features::ET | Features::O1);
    /// let base = EventBase::with_config(&cfg)?;
    /// assert!(base.features().contains(Features::ET));
    /// cfg.require_features(Features::FDS);
    /// assert_eq!(EventBase::with_config(&cfg)?.method(), "poll");
    /// cfg.require_features(Features::ET | Features::FDS);
    /// assert!(matches!(EventBase::with_config(&cfg), Err(Error::NoBackend)));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_new_with_config")]
    pub fn with_config(cfg: &Config) -> Result<Self> {
        let method = IoMethod::choose(cfg).ok_or(Error::NoBackend)?;
        let env = !cfg.flags.contains(BaseFlags::IGNORE_ENV);
        debug::note_base_created();
        mem::freeze();
        let mut backend = Backend::new(method)?;
        let active = ActiveQueues::new(1)?;
        let notify = MemArc::try_new(Shared::new(&mut backend)?)?;
        let deferred = MemRc::try_new(DeferredQueue::default())?;
        let account = MemRc::try_new(mem::Account::new(cfg.max_memory))?;
        if env && crate::sys::env::is_set(c"EVENT_SHOW_METHOD") {
            let name = method.name();
            log(Severity::Msg, format_args!("libevent using: {name}"));
        }
        Ok(EventBase {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slots: Slots::new(),
            active,
            n_pending: 0,
            heap: TimerHeap::default(),
            commons: mem::vec(),
            backend,
            signals: SignalMap::default(),
            notify,
            epoch: Epoch::now(),
            cached_now: Cell::new(0),
            cached_wall: Cell::new(None),
            flags: cfg.flags | BaseFlags::NOLOCK | BaseFlags::PRECISE_TIMER,
            limits: Limits {
                any: cfg.max_callbacks.is_some() || cfg.max_interval.is_some(),
                max_callbacks: cfg.max_callbacks.unwrap_or(usize::MAX),
                max_interval: cfg.max_interval,
                min_priority: cfg.min_priority,
            },
            running: false,
            got_exit: false,
            got_break: false,
            cont: false,
            running_event: None,
            running_prio: 0,
            running_signal: crate::slots::NIL,
            arena: Arena::default(),
            account,
            ext: X::default(),
            deferred,
            deferred_shared: Cell::new(false),
            housekeeping: Housekeeping::new(cfg.idle_trim),
            _pool_guard: BaseGuard::new(),
        })
    }

    /// The backend's name (`event_base_get_method`): `"epoll"` or
    /// `"poll"`.
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let base = EventBase::new()?;
    /// assert!(EventBase::supported_methods().contains(&base.method()));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_get_method")]
    pub fn method(&self) -> &'static str {
        self.backend.method().name()
    }

    /// The backends rvent can use, in order of preference
    /// (`event_get_supported_methods`).
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// assert_eq!(EventBase::supported_methods(), ["epoll", "poll"]);
    /// ```
    #[doc(alias = "event_get_supported_methods")]
    pub fn supported_methods() -> &'static [&'static str] {
        &["epoll", "poll"]
    }

    /// The features the backend provides (`event_base_get_features`):
    /// `ET | O1 | EARLY_CLOSE` on epoll, `FDS | EARLY_CLOSE` on poll.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EventBase, Features};
    ///
    /// let base = EventBase::new()?;
    /// assert!(base.features().contains(Features::EARLY_CLOSE)); // ET on epoll only
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_get_features")]
    pub fn features(&self) -> Features {
        self.backend.method().features()
    }

    /// The flags the base runs with; always includes `NOLOCK` and
    /// `PRECISE_TIMER`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BaseFlags, EventBase};
    ///
    /// let base = EventBase::new()?;
    /// assert!(base.flags().contains(BaseFlags::NOLOCK | BaseFlags::PRECISE_TIMER));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn flags(&self) -> BaseFlags {
        self.flags
    }

    /// Sets the number of priority levels, 1 to 256
    /// (`event_base_priority_init`). New events get `n / 2`; events with a
    /// priority beyond the new range move to the least urgent one.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `n` outside `1..=256`;
    /// [`Error::BadState`] while callbacks are active.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// assert_eq!(base.npriorities(), 1);
    /// base.priority_init(8)?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert_eq!(ev.priority(&base)?, 4);
    /// assert!(base.priority_init(0).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_priority_init")]
    pub fn priority_init(&mut self, n: usize) -> Result<()> {
        if !(1..=MAX_PRIORITIES).contains(&n) {
            return Err(Error::InvalidArgument("priorities must be 1..=256"));
        }
        if self.active.count > 0 || self.running_event.is_some() {
            return Err(Error::BadState(
                "cannot change priorities while callbacks are active",
            ));
        }
        self.active = ActiveQueues::new(n)?;
        let top = (n - 1) as u8;
        for s in self.slots.iter_live_mut() {
            s.prio = s.prio.min(top);
        }
        Ok(())
    }

    /// The number of priority levels (`event_base_get_npriorities`).
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    ///
    /// let mut base = EventBase::new()?;
    /// base.priority_init(3)?;
    /// assert_eq!(base.npriorities(), 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_get_npriorities")]
    pub fn npriorities(&self) -> usize {
        self.active.len()
    }

    /// Number of live events (created and not freed).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert_eq!(base.num_events(), 1); // live, though not added
    /// ev.free(&mut base)?;
    /// assert_eq!(base.num_events(), 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn num_events(&self) -> usize {
        self.slots.live() as usize
    }

    /// Number of events that are added (pending).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// assert_eq!(base.num_pending(), 0);
    /// ev.add(&mut base, Some(std::time::Duration::from_secs(1)))?;
    /// assert_eq!(base.num_pending(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn num_pending(&self) -> usize {
        self.n_pending as usize
    }

    /// Number of active callbacks.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.active(&mut base, Ev::TIMEOUT)?;
    /// assert_eq!(base.num_active(), 1);
    /// base.dispatch()?;
    /// assert_eq!(base.num_active(), 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn num_active(&self) -> usize {
        self.active.count as usize
    }

    /// The events of the kinds in `which`, summed
    /// (`event_base_get_num_events`): [`EventCount::ADDED`] counts events
    /// added (pending on an fd, a signal or a timeout — the base's own
    /// internal events excluded, as in libevent, which rvent has none of),
    /// [`EventCount::ACTIVE`] active callbacks, and
    /// [`EventCount::VIRTUAL`] virtual events. libevent's virtual events
    /// keep a loop alive for IOCP operations in flight; rvent's loop has
    /// none, so that count is 0. An event both added and active counts in
    /// both, as in libevent.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase, EventCount};
    /// use std::time::Duration;
    /// let mut base = EventBase::new()?;
    /// let t = Event::timer(&mut base, |_, _, _, _| {})?;
    /// t.add(&mut base, Some(Duration::from_secs(5)))?;
    /// assert_eq!(base.count_events(EventCount::ADDED), 1);
    /// assert_eq!(base.count_events(EventCount::ACTIVE), 0);
    /// assert_eq!(base.count_events(EventCount::all()), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_get_num_events")]
    pub fn count_events(&self, which: EventCount) -> usize {
        let mut n = 0;
        if which.contains(EventCount::ADDED) {
            n += self.n_pending as usize;
        }
        if which.contains(EventCount::ACTIVE) {
            n += self.active.count as usize;
        }
        n
    }

    /// What rvent currently holds from its memory source — the memory
    /// functions if installed, else the global allocator — and how many
    /// calls it has made. The figures are process-wide, like the memory
    /// functions (see [`MemStats`]).
    ///
    /// # Examples
    /// ```
    /// use rvent::EventBase;
    /// let base = EventBase::new()?;
    /// let m = base.mem_stats();
    /// assert!(m.blocks > 0 && m.bytes > 0); // the poll report array, the queues
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn mem_stats(&self) -> MemStats {
        let (pool_hits, pool_misses, pool_bytes_cached) = mem::pool_counters();
        MemStats {
            arena_bytes: self.arena.in_use(),
            arena_peak: self.arena.peak(),
            arena_resets: self.arena.resets(),
            pool_hits,
            pool_misses,
            pool_bytes_cached,
            base_chain_bytes: self.account.held() - self.account.blocks()
                + X::uncharged_chain_bytes(self),
            base_max_memory: self.account.limit(),
            base_charged: self.account.held(),
            base_charged_blocks: self.account.blocks(),
            base_charged_peak: self.account.peak(),
            base: self.base_mem_stats(),
            ..mem::stats_snapshot()
        }
    }

    /// The base's own memory by owner ([`MemStats::base`]): computed
    /// from capacities now, the layers adding theirs
    /// ([`BaseExt::add_mem_stats`]).
    fn base_mem_stats(&self) -> BaseMemStats {
        let commands = self
            .notify
            .commands
            .lock()
            .map_or(0, |c| mem::vec_bytes(&c));
        let mut m = BaseMemStats {
            events: self.slots.bytes() + self.active.bytes(),
            timers: self.heap.bytes() + mem::vec_bytes(&self.commons),
            signals: mem::vec_bytes(&self.signals.lists),
            backend: self.backend.bytes(),
            shared: MemArc::<Shared>::BLOCK_BYTES
                + commands
                + MemRc::<DeferredQueue<EventBase<X>>>::BLOCK_BYTES
                + self.deferred.bytes()
                + MemRc::<mem::Account>::BLOCK_BYTES,
            arena: self.arena.capacity(),
            buffer_chains: self.account.held() - self.account.blocks()
                + X::uncharged_chain_bytes(self),
            ..BaseMemStats::default()
        };
        X::add_mem_stats(self, &mut m);
        m.add_up();
        m
    }

    /// The base's per-iteration scratch arena: memory that lives until the
    /// end of the current loop iteration, from the memory functions, for a
    /// callback's temporary buffers. `&Arena` is an `allocator_api2`
    /// allocator; see [`Arena`].
    ///
    /// The returned borrow ties everything allocated from it to this
    /// borrow of the base, and the loop resets the arena only between
    /// callbacks, through `&mut EventBase` — so nothing allocated here can
    /// be used after the reset that frees it. Arena memory used outside the
    /// loop is released at the end of the next loop iteration (or rolled
    /// back at once when the most recent allocation is dropped).
    ///
    /// # Examples
    /// ```
    /// use allocator_api2::vec::Vec;
    /// use rvent::{Ev, Event, EventBase, LoopFlags};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |base, _, _, _| {
    ///     // A temporary buffer in scratch memory: once the arena has its
    ///     // chunk, this makes no call to the memory functions.
    ///     let mut squares: Vec<u64, _> = Vec::new_in(base.scratch());
    ///     squares.extend((1..=100u64).map(|i| i * i));
    ///     assert_eq!(squares.iter().sum::<u64>(), 338_350);
    ///     assert!(base.mem_stats().arena_bytes >= 800);
    /// })?;
    /// ev.active(&mut base, Ev::TIMEOUT)?;
    /// base.run(LoopFlags::NONBLOCK)?;
    /// let m = base.mem_stats();
    /// assert_eq!(m.arena_bytes, 0); // reset at the end of the iteration
    /// assert_eq!(m.arena_resets, 1);
    /// assert!(m.arena_peak >= 800);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    ///
    /// Arena memory cannot outlive the iteration: holding it across
    /// anything that needs `&mut EventBase` — such as the loop, which
    /// resets the arena — does not compile.
    /// ```compile_fail
    /// use allocator_api2::vec::Vec;
    /// let mut base = rvent::EventBase::new()?;
    /// let mut kept: Vec<u8, _> = Vec::new_in(base.scratch());
    /// kept.push(1);
    /// base.run(rvent::LoopFlags::NONBLOCK)?; // error: `base` is borrowed
    /// kept.push(2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn scratch(&self) -> &Arena {
        &self.arena
    }

    /// The pool long-lived objects of this base are allocated from: size
    /// classes with free lists over the memory functions, shared by the
    /// bases of this thread (see [`Pool`]). Event callbacks live there; a
    /// component that keeps standard-size blocks (evbuffer chains) can too.
    ///
    /// # Examples
    /// ```
    /// use allocator_api2::boxed::Box;
    /// let base = rvent::EventBase::new()?;
    /// let b = Box::try_new_in([0u8; 200], base.pool()).map_err(|_| rvent::Error::Alloc)?;
    /// drop(b); // back to the pool's 256-byte class
    /// assert!(base.mem_stats().pool_bytes_cached >= 256);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn pool(&self) -> Pool {
        Pool::new()
    }

    /// Rebuilds the kernel state after `fork()` in the child
    /// (`event_reinit`): a new epoll instance with every added fd
    /// re-registered, a new signal pipe and a new waker. Events keep their
    /// state.
    ///
    /// # Errors
    /// [`Error::Io`] if a registration cannot be replayed (an fd closed
    /// without `del`); everything else is still rebuilt, as libevent's
    /// `event_reinit` re-adds what it can before returning -1.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Ev, Event, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.add(&mut base, Some(std::time::Duration::from_secs(1)))?;
    /// // In a child after fork(): fresh kernel state, same events.
    /// base.reinit()?;
    /// assert_eq!(ev.pending(&base, Ev::TIMEOUT)?.0, Ev::TIMEOUT);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_reinit")]
    pub fn reinit(&mut self) -> Result<()> {
        let replay = self.backend.rebuild()?;
        self.notify.rebind(&mut self.backend)?;
        self.reinit_signals()?;
        self.housekeeping.rebuild(&mut self.backend)?;
        replay?;
        Ok(())
    }

    /// Checks internal consistency (libev's `ev_verify`): heap order, slot
    /// and queue bookkeeping. For tests and fuzzers.
    ///
    /// # Panics
    /// If an invariant does not hold, naming it.
    #[doc(hidden)]
    pub fn assert_invariants(&self) {
        assert!(self.heap.is_valid(), "timer heap order broken");
        let mut pending = 0;
        let mut active = 0;
        for (i, s) in self.slots.iter_live() {
            if s.is_pending() {
                pending += 1;
            }
            if s.has(state::ACTIVE) {
                active += 1;
            }
            if s.has(state::TIMEOUT) && !s.has(state::COMMON) {
                let e = self.heap.entries()[s.heap_idx as usize];
                assert_eq!(e.id, i, "heap back-index of slot {i}");
                assert_eq!(e.deadline, s.deadline, "heap deadline of slot {i}");
            }
        }
        assert_eq!(pending, self.n_pending, "pending count");
        assert_eq!(active, self.active.count, "active count");
    }
}

impl<X: BaseExt> Drop for EventBase<X> {
    fn drop(&mut self) {
        self.run_pending_finalizers();
        self.deferred.clear();
        self.drop_signals();
        self.notify.close();
    }
}
