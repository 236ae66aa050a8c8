//! # 4 `event_base`
//!
//! An [`EventBase`](crate::EventBase) is the reactor of
//! [chapter 3](super::ch03_reactor): it holds the events, asks the
//! backend which are ready and runs their callbacks. Everything else in
//! rvent — events, bufferevents, listeners, HTTP servers — belongs to
//! one base and is used through `&mut EventBase`. A base is `!Send`: it
//! lives on the thread that made it (other threads talk to it through a
//! [`Notifier`](crate::Notifier), [chapter 9](super::ch09_settings)).
//!
//! **4.1 Creating a base.** [`EventBase::new`](crate::base::EventBase::new)
//! (`event_base_new`) gives the default; [`Config`](crate::Config) and
//! [`EventBase::with_config`](crate::base::EventBase::with_config)
//! (`event_base_new_with_config`) choose: backends to avoid, features to
//! require ([`Features`](crate::Features)), flags
//! ([`BaseFlags`](crate::BaseFlags)), and rvent's own settings — a memory
//! budget ([`Config::set_max_memory`](crate::Config::set_max_memory)) and
//! the idle trim. A configuration no backend satisfies is
//! [`Error::NoBackend`](crate::Error::NoBackend), not a null pointer.
//!
//! **4.2 Which backend.** rvent has two, as libevent has on Linux: epoll
//! (edge triggering, O(1) dispatch, early close detection), and `poll(2)`
//! (any descriptor — regular files and `/dev/null` too — and early close
//! detection, no edge triggers). epoll is the default; poll is taken when
//! the configuration avoids epoll, requires [`Features::FDS`](crate::Features::FDS),
//! or the environment sets `EVENT_NOEPOLL` (tmux does).
//! [`method`](crate::base::EventBase::method) says which and
//! [`features`](crate::base::EventBase::features) what it can do.
//!
//! **4.3 Freeing a base** is dropping it: every event, bufferevent and
//! listener still in it goes with it, and handles to them turn stale.
//!
//! **4.4 Priorities.** [`priority_init`](crate::base::EventBase::priority_init)
//! sets how many priority levels the base has (1 to 256); ready events
//! of a more urgent level (a lower number) all run before any event of a
//! less urgent one. New events get the middle level.
//!
//! **4.5 `fork`.** A child process inherits the epoll instance, shared
//! with its parent; [`reinit`](crate::base::EventBase::reinit)
//! (`event_reinit`) gives the child's base its own and re-registers
//! every event.
//!
//! ```
//! use rvent::{BaseFlags, Config, Error, EventBase, Features};
//!
//! let mut cfg = Config::new();
//! cfg.set_flag(BaseFlags::IGNORE_ENV); // whatever EVENT_NOEPOLL says
//! let mut base = EventBase::with_config(&cfg)?;
//! assert_eq!(base.method(), "epoll");
//! assert!(base.features().contains(Features::ET));
//! base.priority_init(3)?; // levels 0 (most urgent), 1, 2
//! assert_eq!(base.npriorities(), 3);
//!
//! cfg.avoid_method("epoll");
//! let poll = EventBase::with_config(&cfg)?;
//! assert_eq!(poll.method(), "poll");
//! assert!(poll.features().contains(Features::FDS));
//! cfg.avoid_method("poll"); // no backend left
//! assert!(matches!(EventBase::with_config(&cfg), Err(Error::NoBackend)));
//! # Ok::<(), rvent::Error>(())
//! ```
