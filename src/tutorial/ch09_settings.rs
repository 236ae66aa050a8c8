//! # 9 Settings
//!
//! Process-wide settings: where messages go, what happens on a fatal
//! error, which memory functions rvent uses, how other threads reach a
//! base, and a debug mode that makes misuse loud.
//!
//! ## 9.1 Log messages
//!
//! rvent reports what it cannot return as an error (a failed `accept` it
//! retries, a callback's allocation failure inside the loop) through one
//! log callback, stderr by default: [`set_log_callback`](crate::set_log_callback)
//! (`event_set_log_callback`) with a [`Severity`](crate::Severity) and the
//! message; [`reset_log_callback`](crate::reset_log_callback) restores
//! stderr, and [`enable_debug_logging`](crate::enable_debug_logging)
//! turns on debug messages. With the `log` feature, messages go to the
//! `log` crate instead.
//!
//! ## 9.2 Fatal errors
//!
//! [`set_fatal_callback`](crate::set_fatal_callback)
//! (`event_set_fatal_callback`) runs before rvent aborts on a broken
//! internal invariant. rvent's state is undefined afterwards, so the
//! callback should end the process. (Misuse that libevent would turn
//! into a fatal error — a freed event, a re-entrant loop — is an
//! [`Error`](crate::Error) in rvent.)
//!
//! ```
//! use rvent::Severity;
//!
//! rvent::set_log_callback(|severity, msg| {
//!     if severity != Severity::Debug {
//!         eprintln!("[rvent {severity}] {msg}");
//!     }
//! });
//! rvent::set_fatal_callback(|code| {
//!     eprintln!("rvent: fatal error {code}");
//!     std::process::exit(1);
//! });
//! rvent::reset_log_callback();
//! ```
//!
//! ## 9.3 Memory management
//!
//! By default rvent's memory comes from the global allocator. Replacing
//! `malloc`, `realloc` and `free` lets rvent use another allocator — a
//! faster one, or an instrumented one that finds leaks.
//! [`set_mem_functions`](crate::set_mem_functions) is libevent's
//! `event_set_mem_functions`: three function pointers.
//! [`install_mem_functions`](crate::install_mem_functions) takes a
//! [`MemFunctions`](crate::MemFunctions) object instead (state of its own,
//! no `unsafe` at the call site); [`GlobalAllocFunctions`](crate::GlobalAllocFunctions)
//! and [`AllocatorFunctions`](crate::AllocatorFunctions) turn any Rust
//! allocator into one.
//!
//! The chapter's example replaces the allocator with one that counts the
//! bytes allocated: each block gets a header, as large as the strictest
//! alignment, holding its size, so `realloc` and `free` know how much
//! they release. The book notes that a real program may need a lock
//! when several threads run it; `examples/count_bytes.rs` (below) keeps
//! its total in an atomic instead.
//!
//! The book's rules for replacement functions, and rvent's part in each:
//! - *Replacing them affects every later allocation, resize and free, so
//!   replace them before any other call; otherwise memory from the C
//!   library's `malloc` may reach your `free`.* rvent enforces this: once
//!   it has allocated (a base exists) or hooks are in, both calls return
//!   [`Error::BadState`](crate::Error::BadState) and nothing changes.
//! - *Your `malloc` and `realloc` must return blocks aligned like the C
//!   library's.* [`MEM_ALIGN`](crate::MEM_ALIGN) (16 bytes on x86-64):
//!   `count_bytes` uses it as its header size, the book's `ALIGNMENT`.
//! - *`realloc(NULL, sz)` must act as `malloc(sz)`* and
//!   *`realloc(ptr, 0)` as `free(ptr)`.* Part of the contract, as in
//!   libevent.
//! - *`free(NULL)` and `malloc(0)` need not be handled.* rvent never
//!   makes either call.
//! - *With several threads, the functions must be thread-safe.* Always
//!   required here: a [`Notifier`](crate::Notifier) and a base on another
//!   thread allocate through the same functions.
//! - *Memory libevent returns to you was allocated with them, so free it
//!   with your replacement `free`.* In rvent such memory is a value that
//!   frees itself: a [`Line`](crate::Line) from
//!   [`readln`](crate::Evbuffer::readln) is a vector in
//!   [`RventAlloc`](crate::RventAlloc), dropped through the same
//!   functions.
//! - *libevent can be built without `event_set_mem_functions`, and
//!   `EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED` says whether it was.* rvent's
//!   feature `mem-functions` (on by default) and
//!   [`MEM_FUNCTIONS_IMPLEMENTED`](crate::MEM_FUNCTIONS_IMPLEMENTED).
//!
//! rvent also counts for you: [`EventBase::mem_stats`](crate::base::EventBase::mem_stats)
//! returns [`MemStats`](crate::MemStats) — bytes and blocks held, calls
//! made, and one base's bytes by owner.
#![cfg_attr(
    feature = "mem-functions",
    doc = r#"
```
use rvent::{EventBase, GlobalAllocFunctions};
use std::alloc::System;

static HOOKS: GlobalAllocFunctions<System> = GlobalAllocFunctions::new(System);
rvent::install_mem_functions(&HOOKS)?; // first, before any base
let base = EventBase::new()?;
let stats = base.mem_stats();
assert!(stats.hooks && stats.bytes > 0);
assert!(rvent::install_mem_functions(&HOOKS).is_err()); // too late now
# Ok::<(), rvent::Error>(())
```
"#
)]
//!
//! ```sh
//! cargo run --example count_bytes
//! ```
//!
//! prints the bytes rvent holds after each stage of a small workload and
//! ends with `event base dropped … 0 bytes allocated`.
//!
//! ### `examples/count_bytes.rs`
#![doc = concat!("````rust,ignore\n", include_str!("../../examples/count_bytes.rs"), "````")]
//!
//! ## 9.4 Locks and threads
//!
//! libevent makes a base usable from several threads by locking it.
//! rvent's base is `!Send` and never locks: other threads hold a
//! [`Notifier`](crate::Notifier) (`Send + Sync`, from
//! [`EventBase::notifier`](crate::base::EventBase::notifier)) and send it
//! commands — wake the loop, activate an event, loopexit, loopbreak —
//! which the loop thread carries out.
//!
//! ```
//! use rvent::{EventBase, LoopFlags};
//!
//! let mut base = EventBase::new()?;
//! let notifier = base.notifier();
//! let worker = std::thread::spawn(move || notifier.loopbreak().unwrap());
//! // Nothing is pending, so only NO_EXIT_ON_EMPTY keeps the loop waiting.
//! base.run(LoopFlags::NO_EXIT_ON_EMPTY)?;
//! worker.join().unwrap();
//! assert!(base.got_break());
//! # Ok::<(), rvent::Error>(())
//! ```
//!
//! ## 9.5 Debug mode
//!
//! A freed event's handle is already an error, never a crash.
//! [`enable_debug_mode`](crate::enable_debug_mode)
//! (`event_enable_debug_mode`, before any base exists) turns such misuse
//! into a panic that names the mistake, and checks what the types leave
//! open (re-assigning a pending event, mixing edge and level triggering
//! on one fd). See [`Error`](crate::Error)'s stale variants.
//!
//! ```
//! use rvent::{Event, EventBase};
//! use std::panic::{AssertUnwindSafe, catch_unwind};
//!
//! rvent::enable_debug_mode()?;
//! let mut base = EventBase::new()?;
//! let ev = Event::timer(&mut base, |_, _, _, _| {})?;
//! ev.free(&mut base)?;
//! let misuse = catch_unwind(AssertUnwindSafe(|| ev.add(&mut base, None)));
//! assert!(misuse.is_err()); // without debug mode: Err(StaleEvent)
//! # Ok::<(), rvent::Error>(())
//! ```
