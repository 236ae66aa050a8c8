//! # 2 epoll
//!
//! **2.1 Blocking I/O.** A socket starts out blocking: `accept` waits for
//! a client, `read` waits for bytes, `write` waits for room. A server
//! written that way serves one client at a time — while it sits in one
//! client's `read`, a second client's connection is completed by the
//! kernel and queued, and then nothing happens to it until the first
//! client leaves. `epoll_server --blocking` is that server; its test
//! (`epoll_server_blocking_serves_one_client_at_a_time` in
//! `tests/servers.rs`) shows the second client getting no echo until the
//! first disconnects.
//!
//! **2.2 Ways out.** One thread (or process) per client works but costs a
//! stack and a context switch per client. Non-blocking sockets polled in
//! a loop waste the CPU. What is needed is one call that sleeps until *any*
//! of many descriptors can make progress: `select`, `poll` and, on Linux,
//! **epoll**.
//!
//! **2.3–2.4 epoll's API** is three calls. `epoll_create1` makes an epoll
//! instance (itself a file descriptor); `epoll_ctl` adds (`EPOLL_CTL_ADD`),
//! changes (`MOD`) or removes (`DEL`) a descriptor with the events it
//! waits for (`EPOLLIN`, `EPOLLOUT`, …) and a 64-bit cookie; `epoll_wait`
//! sleeps until some are ready and fills an array with their events and
//! cookies. Unlike `select`, the interest list lives in the kernel, so
//! each wait costs the number of *ready* descriptors, not the number of
//! watched ones.
//!
//! **2.5 Trigger modes.** Level-triggered (the default) reports a
//! descriptor on every `epoll_wait` while it is ready: a handler may read
//! part of the input and will be called again for the rest.
//! Edge-triggered (`EPOLLET`) reports only *changes*: after an edge the
//! handler must read until `EAGAIN`, because bytes left behind raise no
//! new edge, and it must remember on its own why it stopped. rvent, like
//! libevent, is level-triggered by default and offers edge triggering per
//! event with [`Ev::ET`](crate::Ev::ET); its level-triggered events cost no
//! extra syscall (see [`event`](crate::event)).
//!
//! **2.6 A simple epoll server.** The program below is the chapter's
//! server in Rust, on `libc`'s epoll calls, in three modes: the default
//! level-triggered loop (one `recv` and one `send` per wakeup, `EPOLLOUT`
//! only while a slow client has echo pending), `--et` (registered once
//! for `EPOLLIN | EPOLLOUT | EPOLLET`, reading until `WouldBlock`), and
//! `--blocking`. Signals arrive through a `signalfd` in the same epoll
//! set, so even SIGINT is just another ready descriptor.
//!
//! It keeps the anchor benchmark's `echo` contract, so
//! `benches/compare.sh` runs it beside the C floor `echo_raw`, libevent's
//! echo and rvent's [`echo_server`](super::ch10_servers): the distance
//! between this program and rvent's echo server is everything rvent
//! costs.
//!
//! ```sh
//! cargo run --release --example epoll_server            # level-triggered, port 9877
//! cargo run --release --example epoll_server -- --et
//! cargo run --release --example epoll_server -- --blocking
//! ```
//!
//! ## `examples/epoll_server.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/epoll_server.rs"), "````")]
