//! Connection listeners (libevent's `evconnlistener`, `listener.c`): a
//! listening stream socket — TCP, or Unix-domain through
//! [`ConnListener::from_fd`] — whose callback gets each accepted
//! connection.
//!
//! [`ConnListener::bind`] (`evconnlistener_new_bind`) creates, configures,
//! binds and listens; [`ConnListener::from_fd`] / [`ConnListener::from_listener`]
//! (`evconnlistener_new`) take a socket you bound yourself. Either way the
//! listener is one persistent read event on its base; when the socket is
//! readable the listener accepts until `accept` would block, at most
//! [`ConnListener::ACCEPTS_PER_WAKEUP`] connections per wakeup so that one
//! busy listener cannot starve the loop's other events, and hands each
//! connection to your callback as an [`OwnedFd`](std::os::fd::OwnedFd) —
//! nonblocking and close-on-exec, ready to become a bufferevent, or a
//! `TcpStream` / `UnixStream` with `From` at no cost — with the peer's
//! address, a [`PeerAddr`]. The descriptor rather than a `TcpStream` is
//! what lets one listener type serve every stream socket, as libevent's
//! does; the `accept4` call is the same (the address comes with it).
//!
//! # Ownership: `Copy` handles
//! A [`ConnListener`] is a `Copy` index into its base's [`ListenerTable`],
//! checked by generation — the one handle model rvent has for events,
//! bufferevents and listeners. Why not an `Rc` handle:
//! - **One model.** Every handle is used the same way: pass it by value,
//!   pass the base to each call, capture it in callbacks freely. A
//!   callback holding its own listener makes no reference cycle, so
//!   nothing outlives the base.
//! - **Stale handles are detected.** After [`ConnListener::free`] (or with
//!   another base) every copy returns
//!   [`Error::StaleListener`](crate::Error::StaleListener) instead of
//!   keeping a dead listener's memory alive; a reused slot has a new
//!   generation.
//! - **Memory from the base.** Records live in the base's table, in rvent's
//!   memory (the memory functions when installed), and go with the base:
//!   dropping it closes every listener's socket and drops its callbacks.
//!
//! The table sits in the base's layers ([`ListenerHost`]); the listener
//! code is generic over that host, so it names neither the bufferevents
//! nor the facade that puts the layers together.
//!
//! [`ConnListener`]'s docs cover re-entrancy, panics and accept errors.
//!
//! The files: `options` (the `LEV_OPT_*` flags), `handle` (the handle
//! type), `peer` (the peer's address), `table` (the records and the host trait), `create` (bind /
//! from_fd), `control` (enable, callbacks, queries, free) and `accept` (the
//! read event's accept loop, accept errors, the pause and retry).

mod accept;
mod control;
mod create;
mod handle;
mod options;
mod peer;
mod table;

pub use handle::ConnListener;
pub use options::ListenerOptions;
pub use peer::{PeerAddr, UnixPeerAddr};
pub use table::{ListenerHost, ListenerTable};
