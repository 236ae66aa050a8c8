//! # 6 Events
//!
//! An event is a descriptor (or a signal, or nothing: a pure timer), the
//! conditions to wait for, and a callback. In rvent it is an
//! [`Event`](crate::Event): a `Copy` handle into its base's slab, checked
//! on every use, so a handle to a freed event is
//! [`Error::StaleEvent`](crate::Error::StaleEvent), never a dangling
//! pointer. The [`event`](crate::event) module's docs hold the full
//! model.
//!
//! **6.1 Creating events.** [`Event::new`](crate::Event::new)
//! (`event_new`) takes the base, an fd (or `None`), [`Ev`](crate::Ev)
//! flags — `READ`, `WRITE`, `SIGNAL`, `PERSIST`, `ET`, `CLOSED` — and a
//! closure `FnMut(&mut EventBase, Event, RawFd, Ev)`. Shortcuts:
//! [`Event::timer`](crate::Event::timer), [`Event::signal`](crate::Event::signal).
//! [`Event::free`](crate::Event::free) ends it, from anywhere, its own
//! callback included.
//!
//! **6.2 Pending and non-pending.** A new event is *non-pending*:
//! [`Event::add`](crate::Event::add) makes it pending (waiting), with an
//! optional timeout; [`Event::del`](crate::Event::del) makes it
//! non-pending again. When its condition occurs it becomes *active* and
//! its callback runs; a non-persistent event is then non-pending again,
//! a `PERSIST` one stays pending (its timeout restarts).
//!
//! **6.3 Priorities.** [`Event::set_priority`](crate::Event::set_priority)
//! picks one of the base's levels ([chapter 4](super::ch04_event_base)).
//!
//! **6.4 Inspecting.** [`Event::pending`](crate::Event::pending)
//! (`event_pending`) says which of the given conditions are pending or
//! active and when the timeout expires; [`Event::fd`](crate::Event::fd),
//! [`Event::events`](crate::Event::events),
//! [`Event::priority`](crate::Event::priority) and
//! [`Event::assignment`](crate::Event::assignment) return what it was
//! made with.
//!
//! **6.5 One-shot events.** [`EventBase::once`](crate::base::EventBase::once)
//! (`event_base_once`) takes an `FnOnce` and frees itself after running.
//!
//! **6.6 Manual activation.** [`Event::active`](crate::Event::active)
//! (`event_active`) makes an event active as if its condition had
//! occurred.
//!
//! **6.7 The states** in one picture: non-pending —`add`→ pending
//! —condition→ active —callback runs→ pending (`PERSIST`) or
//! non-pending; `del` from pending or active → non-pending; `free` from
//! any → gone (stale).
//!
//! ```
//! use rvent::{Ev, Event, EventBase};
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use std::time::Duration;
//!
//! let mut base = EventBase::new()?;
//! let order = Rc::new(Cell::new(0u32));
//! let o = order.clone();
//! let ev = Event::timer(&mut base, move |_, _, _, what| {
//!     assert_eq!(what, Ev::TIMEOUT);
//!     o.set(o.get() * 10 + 1);
//! })?;
//! ev.add(&mut base, Some(Duration::from_secs(60)))?;
//! let (now, deadline) = ev.pending(&base, Ev::TIMEOUT)?;
//! assert_eq!(now, Ev::TIMEOUT);
//! assert!(deadline.is_some());
//!
//! // 6.6: no need to wait a minute.
//! ev.active(&mut base, Ev::TIMEOUT)?;
//! // 6.5: a one-shot timer, freed after it runs.
//! let o = order.clone();
//! base.once(None, Ev::TIMEOUT, Some(Duration::from_millis(1)), move |_, _, _| {
//!     o.set(o.get() * 10 + 2);
//! })?;
//! base.dispatch()?; // returns once nothing is pending
//! assert_eq!(order.get(), 12);
//! assert_eq!(ev.pending(&base, Ev::TIMEOUT)?.0, Ev::empty()); // not persistent
//! ev.free(&mut base)?;
//! assert!(ev.add(&mut base, None).is_err()); // stale
//! # Ok::<(), rvent::Error>(())
//! ```
//!
//! The chapter's program is libevent's `sample/signal-test.c`: SIGINT
//! through the loop instead of a raw handler; on the second one the
//! callback frees its own event and, with nothing pending, the loop ends.
//!
//! ```sh
//! cargo run --example signal_test     # then Ctrl-C twice
//! ```
//!
//! ## `examples/signal_test.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/signal_test.rs"), "````")]
