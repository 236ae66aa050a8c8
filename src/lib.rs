//! # rvent
//!
//! libevent's design in Rust: a single-threaded callback reactor. An
//! [`EventBase`] watches file descriptors, timers and signals and runs
//! your callbacks when they fire, with libevent's semantics — level
//! triggering by default, persistent and one-shot events, strict
//! priorities, common timeouts, loopexit / loopbreak — and none of its
//! undefined behaviour: event handles are generation-checked, so a freed
//! event returns [`Error::StaleEvent`] instead of corrupting memory.
//!
//! ```
//! use rvent::{Ev, Event, EventBase};
//! use std::time::Duration;
//!
//! let mut base = EventBase::new()?;
//! let mut ticks = 0;
//! let timer = Event::new(&mut base, None, Ev::PERSIST, move |base, ev, _fd, what| {
//!     assert_eq!(what, Ev::TIMEOUT);
//!     ticks += 1;
//!     if ticks == 3 {
//!         ev.free(base).unwrap(); // a callback may free its own event
//!     }
//! })?;
//! timer.add(&mut base, Some(Duration::from_millis(1)))?;
//! base.dispatch()?; // returns once nothing is pending
//! assert!(!timer.is_live(&base));
//! # Ok::<(), rvent::Error>(())
//! ```
//!
//! ## The tutorial
//! [`tutorial`] follows the libevent book chapter by chapter, from raw
//! epoll (chapter 2) and a hand-built reactor (chapter 3) to the servers
//! of chapter 10, with each chapter's program.
//!
//! ## Chapters → modules
//! Every item is also re-exported at the crate root. The chapter modules'
//! docs explain each part's model: ownership, re-entrancy, what differs
//! from libevent and what a panicking callback leaves behind.
//!
//! | libevent tutorial | rvent |
//! |---|---|
//! | 4 event_base | [`EventBase`], [`Config`], [`Features`], [`BaseFlags`] |
//! | 5 event loop | [`EventBase::run`], [`LoopFlags`], [`LoopStatus`] |
//! | 6 events | module [`event`]: [`Event`], [`Ev`], [`CommonTimeout`], [`EventBase::once`] |
//! | 7 bufferevents | module [`bufferevent`]: [`Bufferevent`], [`BevEvent`], [`BevOptions`], [`Bufferevent::pair`] |
//! | 8 evbuffer | module [`buffer`]: [`Evbuffer`], [`EvbufferPtr`], [`EolStyle`] |
//! | 8 evconnlistener | module [`listener`]: [`ConnListener`], [`ListenerOptions`] |
//! | 10.3 HTTP server (evhttp) | module [`http`]: [`Http`], [`Request`], [`Headers`], [`Method`] |
//! | 9.1 / 9.2 logging, fatal errors | [`set_log_callback`], [`set_fatal_callback`] |
//! | 9.3 memory functions | `set_mem_functions`, `install_mem_functions`, [`MemStats`], [`Arena`], [`Pool`] |
//! | 9.4 threads | [`Notifier`] |
//! | 9.5 debug mode | [`enable_debug_mode`] |

#![deny(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod active;
mod backend;
pub mod base;
pub mod buffer;
pub mod bufferevent;
mod callback_slot;
mod clock;
mod config;
mod debug;
mod deferred;
mod dispatch;
mod dump;
mod error;
mod ev;
pub mod event;
mod flags;
mod handle;
mod housekeeping;
mod housekeeping_timer;
pub mod http;
mod layers;
pub mod listener;
mod log;
mod mem;
mod method;
mod notifier;
mod pollset;
mod registration;
mod schedule;
mod signal;
mod signal_map;
mod slots;
mod sys;
mod thread;
mod time;
mod timer;
mod waker;
pub mod tutorial;

pub use base::{BaseExt, EventCount, MAX_PRIORITIES};
pub use buffer::{
    CbEntry, CbInfo, DEFAULT_MAX_READ, EolStyle, Evbuffer, EvbufferFileSegment, EvbufferPtr, Line,
    MAX_READ_LIMIT, PtrHow, SegFlags,
};
pub use bufferevent::{
    AddressFamily, BevEvent, BevOptions, Bufferevent, Buffers, DEFAULT_MAX_SINGLE_IO, DnsError,
    FilterResult, FlushMode, HasCallbacks, RateLimitGroup, RateLimitTotals, TokenBucketCfg,
    TriggerOptions, Watermark,
};
pub use config::{BaseFlags, Config, DEFAULT_IDLE_TRIM, Features};
pub use debug::{debug_mode_enabled, enable_debug_mode};
pub use dispatch::{LoopFlags, LoopStatus};
pub use dump::EventInfo;
pub use error::{Error, Result};
pub use ev::Ev;
pub use event::EventAssignment;
pub use handle::{CommonTimeout, Event};
pub use http::{
    BoundSocket, DEFAULT_CONTENT_TYPE, DEFAULT_MAX_HEADERS_SIZE, Headers, Http, HttpConnection,
    HttpConnectionFlags, HttpHost, HttpRequest, HttpRequestError, Method, Methods, QueuedRequest,
    Request, Response,
};
pub use layers::{EventBase, Layers};
pub use listener::{ConnListener, ListenerOptions, PeerAddr, UnixPeerAddr};
#[doc(hidden)]
pub use log::__fatal_for_tests;
pub use log::{
    Severity, enable_debug_logging, reset_log_callback, set_fatal_callback, set_log_callback,
};
#[cfg(feature = "mem-functions")]
pub use mem::{
    AllocatorFunctions, FreeFn, GlobalAllocFunctions, MallocFn, MemFunctions, ReallocFn,
    install_mem_functions, set_mem_functions,
};
pub use mem::{
    Arena, BaseMemStats, MEM_ALIGN, MEM_FUNCTIONS_IMPLEMENTED, MemStats, POOL_DEFAULT_HIGH_WATER,
    POOL_MAX_SIZE, Pool, RventAlloc,
};
pub use notifier::Notifier;
pub use timer::MAX_COMMON_TIMEOUTS;

/// The libevent version whose behaviour rvent follows (`event_get_version`).
#[doc(alias = "event_get_version")]
pub const LIBEVENT_COMPAT_VERSION: &str = "2.1.12-stable";
