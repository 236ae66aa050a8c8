//! [`Bufferevent`]: buffered, watermarked I/O over the event core
//! (tutorial ch. 7, `bufferevent_*`).
//!
//! A bufferevent is an input and an output [`Evbuffer`] plus the events
//! that move bytes between them and a socket (or a partner, for pairs, or
//! another bufferevent, for filters). Users set read / write / event
//! callbacks and watermarks and work on the buffers; the bufferevent does
//! the I/O.
//!
//! # Where the state lives
//!
//! Every bufferevent of a base lives in the base's table (a slab in
//! rvent's memory, so a connection costs no global allocation), and the
//! user holds a [`Bufferevent`] handle: a `Copy` generation-checked index,
//! like [`Event`]. Methods take the base, so a callback — which receives
//! the base — can use any bufferevent, free its own, or start new ones; a
//! stale handle gets [`Error::StaleBufferevent`], never someone else's
//! connection. Rate-limit groups live in the same table behind
//! [`RateLimitGroup`] handles of the same kind.
//!
//! # Callbacks
//!
//! `bufferevent_setcb(bev, readcb, writecb, eventcb, ctx)` sets three
//! callbacks at once, `NULL` meaning none. rvent sets and clears each one
//! alone — [`set_read_callback`](Bufferevent::set_read_callback),
//! [`set_write_callback`](Bufferevent::set_write_callback),
//! [`set_event_callback`](Bufferevent::set_event_callback) and their
//! `clear_*` twins, [`clear_callbacks`](Bufferevent::clear_callbacks) for
//! all three — so no closure type has to be spelled out for a `None`. The
//! context is whatever the closures capture. Callbacks receive
//! `(&mut EventBase, Bufferevent)` (and the [`BevEvent`] for the event
//! callback); setting or clearing a callback from inside itself takes
//! effect when it returns.
//!
//! # Filters
//!
//! A filter ([`Bufferevent::filter`]) stacks on another bufferevent, its
//! underlying, and transforms bytes on their way in and out:
//! - the **input filter** moves the underlying's input into the filter's
//!   input, when the underlying reads and when the filter's input is
//!   drained;
//! - the **output filter** moves the filter's output into the
//!   underlying's output, after a write, when the underlying's output
//!   drains, and at once on [`flush`](Bufferevent::flush);
//! - a closure gets `dst_limit`: room left below the filter's read high
//!   watermark (input) or the underlying's write high watermark (output);
//!   `None` means unlimited, and [`FlushMode::Flush`] /
//!   [`FlushMode::Finished`] always pass `None`. A direction without a
//!   closure moves everything it may, unchanged;
//! - while the filter's input is at its high watermark the underlying
//!   stops reading, so a slow consumer stops the socket instead of growing
//!   a buffer without bound.
//!
//! libevent's filter gets `(src, dst, dst_limit, mode, ctx)` and may reach
//! anything through `ctx`. rvent's closure gets
//! `(base, bev, src, dst, dst_limit, mode)`: the base and the filter's own
//! handle, so it can write to other bufferevents, free its own, or stop
//! the loop. While it runs, the two buffers it was handed are out of
//! their bufferevents: through the handle API those read as empty, and
//! what is added to them meanwhile (the filter writing to itself, say) is
//! appended when the closure returns and filtered on the next pass. A
//! running closure is not run again from inside itself (a `flush` from
//! inside moves nothing in that direction).
//!
//! # Rate limits
//!
//! [`TokenBucketCfg`] configures a token bucket: per tick, `rate` bytes
//! are added to each direction's level, up to `burst`. A bufferevent may
//! have its own bucket ([`Bufferevent::set_rate_limit`]) and belong to one
//! [`RateLimitGroup`] sharing a bucket; each read or write is capped by
//! both (a group member by its share, at least the group's minimum share),
//! and a direction whose level falls to zero or below stops until the next
//! tick refills it. Only socket bufferevents honor limits — as in
//! libevent, best effort: a limit caps each operation, it does not shape
//! the kernel's traffic.
//!
//! # What rvent does differently from libevent (and why)
//!
//! libevent's socket bufferevent adds the write event when output appears
//! and deletes it when output drains (two `epoll_ctl` per write), asks the
//! kernel how much is readable (`FIONREAD`) before every read, and writes
//! only after another trip through `epoll_wait`. rvent keeps the callback
//! semantics and drops those syscalls:
//! - output written by a callback goes out when the callback returns,
//!   with one `send`/`writev`; the write event is added only when the
//!   kernel's buffer is full, and removed once it drains;
//! - reads go straight into the input buffer's free room (up to
//!   [`set_max_single_read`](Bufferevent::set_max_single_read), 16 KiB by
//!   default), with no `FIONREAD`;
//! - changes made outside the bufferevent's own callbacks (writing to
//!   another connection, draining input from a timer) mark the
//!   bufferevent *dirty*; the loop services dirty bufferevents at the
//!   start of its next iteration, before it polls, so nothing waits for an
//!   unrelated event.
//!
//! An echo round trip thus costs one `recv` and one `send` plus a share of
//! `epoll_wait`, where libevent makes five to seven syscalls.
//!
//! # Threads and locks
//!
//! A base and its bufferevents belong to one thread, so libevent's
//! `BEV_OPT_THREADSAFE` and `BEV_OPT_UNLOCK_CALLBACKS` have nothing to
//! lock: they are accepted and ignored. Reach a bufferevent from another
//! thread by activating an event through a [`Notifier`](crate::Notifier).
//!
//! # Panics in callbacks
//!
//! A panic in a callback or a filter closure propagates out of
//! [`EventBase::run`](crate::base::EventBase::run), like any event
//! callback's: the closure is dropped and the bufferevent stays valid
//! without it — no read, write or event callback until a new one is set;
//! a filter direction whose closure panicked moves no data at all (it
//! never falls back to passing bytes unfiltered), and the data it was
//! handed stays in the buffers. The base stays usable or can be dropped.

// Maintainer notes: the files form layers, each using only those above
// it in this list (no file imports a file below it):
//   flags, handle, dns            — public flag sets; the handles (callbacks are
//                                   taken out to run with crate::callback_slot);
//                                   a host-name lookup's shared answer
//   closure, bucket               — stored closure types; token buckets and their records
//   rec, table                    — one record; the table, its lookups, BevHost
//   callback, timeouts, group     — running callbacks; generic timers; groups alone
//   ratelimit                     — limits wired into bufferevents and I/O
//   socket, pair, filter          — the kinds
//   buffers, control, service     — kind-independent API; the loop's entry points
// A kind reaches another bufferevent (a filter its underlying) only
// through `Bufferevent`'s public methods, as libevent's filter calls
// `bufferevent_enable` on its underlying.

mod bucket;
mod budget;
mod buffers;
mod callback;
mod closure;
mod control;
mod dns;
mod filter;
mod flags;
mod group;
mod handle;
mod pair;
mod ratelimit;
mod rec;
mod service;
mod socket;
mod table;
mod timeouts;

pub use bucket::TokenBucketCfg;
pub(crate) use budget::uncharged_chain_bytes;
pub use buffers::Buffers;
pub use callback::HasCallbacks;
pub use closure::FilterResult;
pub use control::Watermark;
pub use dns::{AddressFamily, DnsError};
pub use flags::{BevEvent, BevOptions, DEFAULT_MAX_SINGLE_IO, FlushMode, TriggerOptions};
pub use group::RateLimitTotals;
pub use handle::{Bufferevent, RateLimitGroup};
pub use table::{BevHost, BevTable};

#[cfg(doc)]
use crate::{buffer::Evbuffer, error::Error, handle::Event};
