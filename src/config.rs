//! Base configuration (tutorial 4.2): `event_config` and its setters.
//!
//! rvent has two backends, epoll (through mio) and poll, tried in that
//! order. Requiring [`Features::FDS`] (regular files) picks poll, and
//! [`Features::ET`] or [`Features::O1`] epoll; avoiding both, or requiring
//! what neither has, leaves no backend, and
//! [`EventBase::with_config`](crate::EventBase::with_config) returns
//! [`Error::NoBackend`](crate::Error::NoBackend), as libevent's
//! `event_base_new_with_config` returns NULL.

use std::time::Duration;

use crate::flags::flag_set;

flag_set! {
    /// Backend features (`EV_FEATURE_*`).
    #[doc(alias = "EV_FEATURE_ET")]
    pub struct Features: u8 {
        /// Edge-triggered events (`EV_FEATURE_ET`).
        const ET = 0x01;
        /// O(1) add, delete and dispatch (`EV_FEATURE_O1`).
        const O1 = 0x02;
        /// Any fd, regular files included (`EV_FEATURE_FDS`).
        const FDS = 0x04;
        /// Peer close without reading (`EV_FEATURE_EARLY_CLOSE`).
        const EARLY_CLOSE = 0x08;
    }
}

flag_set! {
    /// Base flags (`EVENT_BASE_FLAG_*`).
    #[doc(alias = "EVENT_BASE_FLAG_NO_CACHE_TIME")]
    pub struct BaseFlags: u8 {
        /// No lock; every rvent base is single-threaded, so always true.
        const NOLOCK = 0x01;
        /// Ignore `EVENT_*` environment variables.
        const IGNORE_ENV = 0x02;
        /// Windows IOCP; meaningless here and ignored.
        const STARTUP_IOCP = 0x04;
        /// Read the clock on every use instead of once per iteration.
        const NO_CACHE_TIME = 0x08;
        /// libevent's epoll changelist. rvent keeps one registration per fd
        /// and only calls `epoll_ctl` when the union of interests changes,
        /// so there is nothing to batch; the flag is accepted and ignored.
        const EPOLL_USE_CHANGELIST = 0x10;
        /// Precise monotonic clock: rvent's only clock, so always true.
        const PRECISE_TIMER = 0x20;
    }
}

/// Configuration for [`EventBase::with_config`](crate::EventBase::with_config)
/// (`struct event_config`).
#[doc(alias = "event_config")]
#[derive(Clone, Debug)]
pub struct Config {
    /// `avoid_method("epoll")` was called.
    pub(crate) avoid_epoll: bool,
    /// `avoid_method("poll")` was called. rvent has no other backends, so
    /// the config keeps no list and allocates nothing.
    pub(crate) avoid_poll: bool,
    pub(crate) require: Features,
    pub(crate) flags: BaseFlags,
    pub(crate) max_interval: Option<Duration>,
    pub(crate) max_callbacks: Option<usize>,
    pub(crate) min_priority: usize,
    pub(crate) max_memory: Option<usize>,
    pub(crate) idle_trim: Option<Duration>,
}

/// Default of [`Config::set_idle_trim`].
pub const DEFAULT_IDLE_TRIM: Duration = Duration::from_secs(1);

impl Default for Config {
    fn default() -> Config {
        Config {
            avoid_epoll: false,
            avoid_poll: false,
            require: Features::empty(),
            flags: BaseFlags::empty(),
            max_interval: None,
            max_callbacks: None,
            min_priority: 0,
            max_memory: None,
            idle_trim: Some(DEFAULT_IDLE_TRIM),
        }
    }
}

impl Config {
    /// An empty configuration (`event_config_new`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{Config, EventBase};
    ///
    /// let cfg = Config::new(); // the same as EventBase::new()
    /// let base = EventBase::with_config(&cfg)?;
    /// assert!(["epoll", "poll"].contains(&base.method())); // poll with EVENT_NOEPOLL
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_config_new")]
    pub fn new() -> Config {
        Config::default()
    }

    /// Refuses the backend called `method`, `"epoll"` or `"poll"`
    /// (`event_config_avoid_method`; the name is compared ignoring ASCII
    /// case). Names of backends rvent does not have are accepted and have
    /// no effect, so nothing is stored or allocated.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Config, EventBase};
    /// let mut cfg = Config::new();
    /// cfg.avoid_method("epoll");
    /// assert_eq!(EventBase::with_config(&cfg)?.method(), "poll");
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_config_avoid_method")]
    pub fn avoid_method(&mut self, method: &str) -> &mut Config {
        self.avoid_epoll |= method.eq_ignore_ascii_case("epoll");
        self.avoid_poll |= method.eq_ignore_ascii_case("poll");
        self
    }

    /// Requires these features; replaces an earlier call
    /// (`event_config_require_features`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BaseFlags, Config, EventBase, Features};
    ///
    /// let mut cfg = Config::new();
    /// cfg.set_flag(BaseFlags::IGNORE_ENV); // whatever EVENT_NOEPOLL says
    /// cfg.require_features(Features::ET | Features::EARLY_CLOSE);
    /// assert_eq!(EventBase::with_config(&cfg)?.method(), "epoll");
    /// cfg.require_features(Features::FDS); // regular files: poll, not epoll
    /// assert_eq!(EventBase::with_config(&cfg)?.method(), "poll");
    /// cfg.require_features(Features::ET | Features::FDS); // no backend has both
    /// assert!(EventBase::with_config(&cfg).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_config_require_features")]
    pub fn require_features(&mut self, features: Features) -> &mut Config {
        self.require = features;
        self
    }

    /// Sets base flags (`event_config_set_flag`).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BaseFlags, Config, EventBase};
    ///
    /// let mut cfg = Config::new();
    /// cfg.set_flag(BaseFlags::NO_CACHE_TIME);
    /// let base = EventBase::with_config(&cfg)?;
    /// assert!(base.flags().contains(BaseFlags::NO_CACHE_TIME));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_config_set_flag")]
    pub fn set_flag(&mut self, flags: BaseFlags) -> &mut Config {
        self.flags |= flags;
        self
    }

    /// Limits one pass over an active queue of priority ≥ `min_priority` to
    /// `max_callbacks` callbacks and `max_interval` of time; then the loop
    /// polls again (`event_config_set_max_dispatch_interval`). `None`
    /// means unlimited.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Config, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut cfg = Config::new();
    /// // Poll again after 16 callbacks or 5 ms, for every priority from 0.
    /// cfg.set_max_dispatch_interval(Some(Duration::from_millis(5)), Some(16), 0);
    /// let mut base = EventBase::with_config(&cfg)?;
    /// base.dispatch()?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_config_set_max_dispatch_interval")]
    pub fn set_max_dispatch_interval(
        &mut self,
        max_interval: Option<Duration>,
        max_callbacks: Option<usize>,
        min_priority: usize,
    ) -> &mut Config {
        self.max_interval = max_interval;
        self.max_callbacks = max_callbacks.map(|n| n.max(1));
        self.min_priority = min_priority;
        self
    }

    /// Gives the base a memory budget: at most `bytes` in the chain blocks
    /// of its buffers and in the memory that grows with its events and
    /// connections (`None`: no budget, the default).
    ///
    /// **What it covers**: every chain block (the bytes of data, 1 KiB to
    /// any size) allocated by the inputs and outputs of the base's
    /// bufferevents and by buffers made with
    /// [`Evbuffer::new_in`](crate::Evbuffer::new_in): socket reads,
    /// [`Bufferevent::write`](crate::Bufferevent::write), and every add,
    /// prepend, expand, reserve, pullup or move through the `&mut
    /// Evbuffer` that `input`, `output`, `buffers` and filter closures
    /// lend. Such an allocation that would pass the budget fails with
    /// [`Error::Alloc`](crate::Error::Alloc), the buffer unchanged, as a
    /// failed `malloc` would. A chain moving into a buffer of another
    /// account (a free-standing buffer, another base's) takes its charge
    /// along, and is refused the same way when the receiver's budget has
    /// no room; chains moving inside the base (pairs, filters) never pass
    /// it.
    ///
    /// **Also covered**, charged at its growth points and failing the same
    /// way: the growth of the base's tables — the event slab (80 bytes a
    /// slot), the timer heap, the common-timeout list, the bufferevent,
    /// rate-limit group and listener tables, HTTP's server and connection
    /// tables (the capacity they gain; a table never shrinks, so its
    /// charge stays until the base goes) — the callback blocks of its
    /// events (closures, `once`, finalizers), bufferevents (read, write
    /// and event callbacks, filter closures) and listeners (accept and
    /// error callbacks), and the blocks a bufferevent makes on demand
    /// (the block of its rarely used settings — watermarks, timeouts —,
    /// its timers and rate-limit state, a filter's record, a host-name
    /// lookup's answer), credited when freed. So
    /// [`Event::new`](crate::Event::new),
    /// [`Bufferevent::socket`](crate::Bufferevent::socket), a
    /// `set_*_callback`,
    /// [`set_timeouts`](crate::Bufferevent::set_timeouts),
    /// [`set_rate_limit`](crate::Bufferevent::set_rate_limit),
    /// [`Bufferevent::filter`](crate::Bufferevent::filter) or an accepted
    /// connection's bufferevent past the budget fail with
    /// [`Error::Alloc`](crate::Error::Alloc), nothing changed, and work
    /// again once others are freed. What is charged besides chains is
    /// [`MemStats::base_charged_blocks`](crate::MemStats::base_charged_blocks).
    ///
    /// **Not covered**: the blocks made with the base (before the budget
    /// applies: its shared block, deferred queue, active queues), the
    /// backend's fd table and poll array, the signal map, the arena, the
    /// chain lists (48 bytes per chain slot), HTTP's per-connection
    /// blocks beyond its table, and blocks shared by
    /// views and references (`add_buffer_reference`, `add_reference`,
    /// file segments: no buffer owns them). They come from the memory
    /// functions and fail only when those do. On a base without a budget
    /// none of this is charged: a growth point pays one predictable
    /// branch, an event or a message nothing.
    ///
    /// A socket bufferevent whose read can get no chain stops reading
    /// and its event callback hears `READING | ERROR` with
    /// [`socket_error`](crate::Bufferevent::socket_error) `ENOMEM`
    /// (libevent's `bufferevent_readcb` after a failed `evbuffer_read`),
    /// so a server can free that connection and keep serving the others.
    /// What the base holds is in
    /// [`MemStats::base_chain_bytes`](crate::MemStats::base_chain_bytes).
    ///
    /// libevent has no such setting: its memory functions are
    /// process-wide and know no base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Config, EventBase};
    /// let mut cfg = Config::new();
    /// cfg.set_max_memory(Some(4 << 20));
    /// let base = EventBase::with_config(&cfg)?;
    /// assert_eq!(base.mem_stats().base_max_memory, Some(4 << 20));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn set_max_memory(&mut self, bytes: Option<usize>) -> &mut Config {
        self.max_memory = bytes;
        self
    }

    /// How often the base gives back the memory idle connections keep
    /// ([`DEFAULT_IDLE_TRIM`], 1 s, by default; `None`: never).
    ///
    /// An empty buffer keeps its chain list (48 bytes per chain slot) so
    /// that the next message costs no allocation; a bufferevent's input
    /// and output whose lists stayed empty and untouched from one period
    /// to the next give theirs back, so an idle connection holds what a
    /// fresh one does (plus the thread's pool cache). The period is a
    /// kernel timer (`timerfd`) that runs while the base has
    /// bufferevents: it wakes a blocked loop once per period, never
    /// keeps it alive (`dispatch` still returns when nothing else is
    /// pending), and costs the loop nothing per event; one tick visits
    /// every bufferevent of the base once. A busy connection is never
    /// trimmed (its buffers change between ticks); one that goes quiet
    /// gives its lists back within two periods, and allocates a list
    /// again (one pool block) with its next message. A base whose
    /// process runs out of descriptors ticks not at all (nothing else
    /// changes).
    ///
    /// libevent has no such setting: its empty buffers keep their last
    /// chain.
    ///
    /// # Examples
    /// ```
    /// use rvent::Config;
    /// use std::time::Duration;
    /// let mut cfg = Config::new();
    /// cfg.set_idle_trim(Some(Duration::from_millis(200)));
    /// let base = rvent::EventBase::with_config(&cfg)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn set_idle_trim(&mut self, every: Option<Duration>) -> &mut Config {
        self.idle_trim = every;
        self
    }
}
