//! # 10 Servers on rvent
//!
//! The book ends with four servers, each a step up from the last. All
//! four are in `examples/`, and `tests/servers.rs` starts each one, talks
//! to it over loopback and stops it.
//!
//! **10.1 Hello World (with signals)** — libevent's
//! `sample/hello-world.c`: a [`ConnListener`](crate::ConnListener)
//! accepts, each client gets a [`Bufferevent`](crate::Bufferevent) that
//! writes `Hello, World!` and frees itself once the output drained (the
//! write callback), and a signal [`Event`](crate::Event) turns SIGINT into
//! [`loopexit`](crate::base::EventBase::loopexit) with a two-second
//! delay.
//!
//! **10.2 An event-based server** — an echo server from raw
//! [`Event`](crate::Event)s, before bufferevents: a read event per client,
//! a write event pending only while echo is unsent, back-pressure by
//! hand. Compare it with [chapter 2](super::ch02_epoll)'s loop and
//! [chapter 3](super::ch03_reactor)'s reactor: the same logic, now with
//! rvent's loop, timers and signals.
//!
//! **10.3 An echo server** — the same service in a few lines: the read
//! callback moves the input into the output with
//! [`Evbuffer::add_buffer`](crate::Evbuffer::add_buffer), chains not
//! copies, and the bufferevent writes it. It is also rvent's entry in the
//! benchmarks (`benches/compare.sh`, the anchor's `echo` contract).
//!
//! **10.3 An HTTP server** — libevent's `sample/http-server.c` on
//! [`Http`](crate::Http): files sent with `sendfile`, directory listings,
//! `/dump`, and every way out of the document root refused. It is the
//! README's main command.
//!
//! ```sh
//! cargo run --example hello_world                  # nc 127.0.0.1 9995
//! cargo run --example event_server                 # nc 127.0.0.1 9996
//! cargo run --release --example echo_server        # nc 127.0.0.1 9876
//! cargo run --release --example http_server        # http://127.0.0.1:8080/
//! ```
//!
//! ## `examples/hello_world.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/hello_world.rs"), "````")]
//!
//! ## `examples/event_server.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/event_server.rs"), "````")]
//!
//! ## `examples/echo_server.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/echo_server.rs"), "````")]
//!
//! ## `examples/http_server.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/http_server.rs"), "````")]
