//! # 5 The event loop
//!
//! **5.1 Running the loop.** [`EventBase::dispatch`](crate::base::EventBase::dispatch)
//! (`event_base_dispatch`) waits for events and runs their callbacks
//! until nothing is pending or active any more, then returns
//! [`LoopStatus::NoEvents`](crate::LoopStatus::NoEvents).
//! [`EventBase::run`](crate::base::EventBase::run) (`event_base_loop`)
//! takes [`LoopFlags`](crate::LoopFlags): `ONCE` (wait for events, run
//! them, return), `NONBLOCK` (do not wait: run what is ready now) and
//! `NO_EXIT_ON_EMPTY` (keep waiting with nothing pending, for events
//! added from another thread). Errors are `Err`, not `-1`; a callback may
//! not run the loop again from inside it ([`Error::Reentrant`](crate::Error::Reentrant)).
//!
//! **5.2 Stopping it.** [`loopexit`](crate::base::EventBase::loopexit)
//! ends the loop after the current round of callbacks, or after a delay;
//! [`loopbreak`](crate::base::EventBase::loopbreak) ends it right after
//! the running callback. [`got_exit`](crate::base::EventBase::got_exit)
//! and [`got_break`](crate::base::EventBase::got_break) tell afterwards
//! which one did. Both are also available from other threads through a
//! [`Notifier`](crate::Notifier).
//!
//! **5.3 Dumping the state.** [`dump_events`](crate::base::EventBase::dump_events)
//! writes every event with its fd, flags and deadline — what
//! `event_base_dump_events` prints — and
//! [`foreach_event`](crate::base::EventBase::foreach_event) walks them as
//! [`EventInfo`](crate::EventInfo) values.
//!
//! A callback gets `&mut EventBase`, so it can stop the loop, add or free
//! events — its own included — with no `RefCell` in sight:
//!
//! ```
//! use rvent::{Ev, Event, EventBase, LoopFlags, LoopStatus};
//! use std::time::Duration;
//!
//! let mut base = EventBase::new()?;
//! let tick = Event::new(&mut base, None, Ev::PERSIST, |base, _ev, _fd, _what| {
//!     base.loopbreak(); // the persistent timer would go on forever
//! })?;
//! tick.add(&mut base, Some(Duration::from_millis(1)))?;
//!
//! let mut dump = Vec::new();
//! base.dump_events(&mut dump)?;
//! assert!(!dump.is_empty());
//!
//! assert_eq!(base.dispatch()?, LoopStatus::Exited);
//! assert!(base.got_break());
//! // Nothing ready right now: NONBLOCK returns at once.
//! assert_eq!(base.run(LoopFlags::NONBLOCK)?, LoopStatus::Exited);
//! tick.free(&mut base)?;
//! assert_eq!(base.dispatch()?, LoopStatus::NoEvents);
//! # Ok::<(), rvent::Error>(())
//! ```
//!
//! The chapter's program is libevent's `sample/time-test.c`: a persistent
//! timer that re-arms from its old deadline instead of drifting, and a
//! signal event that ends the loop on Ctrl-C.
//!
//! ```sh
//! cargo run --release --example time_test -- -n 3
//! ```
//!
//! ## `examples/time_test.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/time_test.rs"), "````")]
