//! # 3 epoll and the reactor pattern
//!
//! **3.1 The reactor.** The server of [chapter 2](super::ch02_epoll) has
//! one loop that knows every kind of descriptor it watches — the
//! listener, the signalfd, a client — and what to do with each. The
//! reactor pattern turns that inside out: a *table* maps each descriptor
//! to a *handler* (a callback and its state), and one *dispatch loop*
//! waits for readiness and calls the handler of every ready descriptor.
//! The loop knows nothing about sockets or protocols; the application is
//! a set of handlers, and handlers register and unregister descriptors
//! (the listener's handler registers each new client; a client's handler
//! unregisters itself at EOF).
//!
//! **3.2 On epoll.** The program below builds that reactor in about a
//! hundred and fifty lines — `register(fd, events, handler)`, `modify`,
//! `unregister(fd)`, `run()` — and then the echo server of chapter 2 on
//! it: an accept handler, an echo handler per client, a signal handler.
//! A handler receives `&mut Reactor`, so the loop takes each handler out
//! of its slot while it runs and puts it back afterwards, unless the
//! handler unregistered itself (then it is dropped, closing the socket it
//! owns).
//!
//! libevent is this reactor, grown up, and so is rvent's
//! [`EventBase`](crate::EventBase): the table is a slab of event records,
//! a handler is an [`Event`](crate::Event) with its callback,
//! `register` / `unregister` are [`Event::add`](crate::Event::add) /
//! [`Event::del`](crate::Event::del) and `run` is
//! [`EventBase::dispatch`](crate::base::EventBase::dispatch). What it
//! adds is the rest of the book:
//! - timers and timeouts on any event ([chapter 6](super::ch06_events)),
//!   signals as events, and one-shot or persistent events;
//! - priorities ([`EventBase::priority_init`](crate::base::EventBase::priority_init)):
//!   ready events run most urgent first;
//! - level or edge triggering per event, several events on one fd;
//! - safety: an [`Event`](crate::Event) is a generation-checked handle,
//!   so using a freed one is [`Error::StaleEvent`](crate::Error::StaleEvent)
//!   where this table would quietly reach whatever now sits at that fd
//!   number (and libevent's `struct event *` would be freed memory); any
//!   callback may free any event, its own included; a panicking callback
//!   leaves the base usable;
//! - buffered I/O ([chapter 7](super::ch07_bufferevent),
//!   [chapter 8](super::ch08_evbuffer)) that turns the echo handler into
//!   one line.
//!
//! ```sh
//! cargo run --release --example reactor            # port 9878
//! ```
//!
//! The same reactor, in miniature, on rvent: one event per descriptor,
//! its closure the handler, `dispatch` the loop.
//!
//! ```
//! use rvent::{Ev, Event, EventBase};
//! use std::io::{Read, Write};
//! use std::os::fd::AsRawFd;
//! use std::os::unix::net::UnixStream;
//!
//! let mut base = EventBase::new()?;
//! let (ours, theirs) = UnixStream::pair()?;
//! ours.set_nonblocking(true)?;
//! let reader = ours.try_clone()?;
//! // "register": the fd, what to wait for, the handler.
//! let ev = Event::new(&mut base, ours.as_raw_fd(), Ev::READ | Ev::PERSIST, move |base, ev, _fd, _what| {
//!     let mut buf = [0u8; 64];
//!     let n = (&reader).read(&mut buf).unwrap();
//!     assert_eq!(&buf[..n], b"ping");
//!     ev.del(base).unwrap(); // "unregister": nothing left, dispatch returns
//! })?;
//! ev.add(&mut base, None)?;
//! (&theirs).write_all(b"ping")?;
//! base.dispatch()?; // "run"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## `examples/reactor.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/reactor.rs"), "````")]
