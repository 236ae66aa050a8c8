//! The libevent book, chapter by chapter, in rvent.
//!
//! rvent grew out of a libevent tutorial. This module is that tutorial's
//! path through rvent: one page per chapter of the book, each explaining
//! the chapter's idea in a few paragraphs, linking the API items that
//! carry it, and showing the chapter's program. It holds no code; it
//! exists only to be read (`cargo doc --open`, then `rvent::tutorial`).
//!
//! Nothing here can rot: every snippet is a doctest that `cargo test`
//! compiles and runs, and every program is included from `examples/`
//! verbatim — the same file `cargo run --example` builds and
//! `tests/servers.rs` starts, talks to over loopback and stops.
//!
//! | chapter | page | program |
//! |---|---|---|
//! | 2 epoll: blocking I/O, epoll's API, level and edge triggering, a simple epoll server | [`ch02_epoll`] | `epoll_server` (`--et`, `--blocking`) |
//! | 3 epoll and the reactor pattern | [`ch03_reactor`] | `reactor` |
//! | 4 `event_base`: creating, backends, priorities, `fork` | [`ch04_event_base`] | |
//! | 5 the event loop: running, stopping, dumping | [`ch05_event_loop`] | `time_test` |
//! | 6 events: creating, pending, priorities, one-shot, manual activation | [`ch06_events`] | `signal_test` |
//! | 7 bufferevents: callbacks, watermarks, deferred callbacks, options | [`ch07_bufferevent`] | |
//! | 8 evbuffer: adding, moving, reading, searching | [`ch08_evbuffer`] | |
//! | 8 evconnlistener: creating, enabling, callbacks, errors | [`ch08_listener`] | |
//! | 9 settings: log and fatal callbacks, memory functions, threads, debug mode | [`ch09_settings`] | `count_bytes` |
//! | 10 servers: hello world, events, echo, HTTP | [`ch10_servers`] | `hello_world`, `event_server`, `echo_server`, `http_server` |
//!
//! Chapter 1 of the book introduces libevent itself; the crate's front
//! page ([`crate`]) does that for rvent. Chapters 2 and 3 build the
//! machinery by hand, with no event library, so the rest of the book —
//! rvent's API — has something to be measured against: the programs of
//! chapters 2 and 3 double as the raw-epoll floor in `benches/compare.sh`.

pub mod ch02_epoll;
pub mod ch03_reactor;
pub mod ch04_event_base;
pub mod ch05_event_loop;
pub mod ch06_events;
pub mod ch07_bufferevent;
pub mod ch08_evbuffer;
pub mod ch08_listener;
pub mod ch09_settings;
pub mod ch10_servers;
