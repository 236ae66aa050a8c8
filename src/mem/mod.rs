//! rvent's memory (tutorial 9.3, `event_set_mem_functions`): the pluggable
//! memory functions and the allocator the event core draws from.
//!
//! # Design
//!
//! libevent calls `mm_malloc` / `mm_realloc` / `mm_free`, which forward to
//! the C library or to the functions given to `event_set_mem_functions`.
//! rvent keeps that single seam, in Rust's shape:
//!
//! - [`MemFunctions`] is the hook interface: an `unsafe trait` (like
//!   [`GlobalAlloc`](std::alloc::GlobalAlloc)) whose implementor promises
//!   the chapter's contract — blocks aligned to [`MEM_ALIGN`] (16 bytes,
//!   what glibc's `malloc` gives on x86-64), `realloc(null, n)` acts as
//!   `malloc(n)`, `realloc(p, 0)` as `free(p)`, null on failure. It is
//!   `Send + Sync` because the cross-thread [`Notifier`](crate::Notifier)
//!   may allocate. A trait object (`&'static dyn MemFunctions`) rather than
//!   three `fn` pointers is the primary form because it can carry state —
//!   a counter, an arena, an inner allocator — which is how
//!   [`GlobalAllocFunctions`] and [`AllocatorFunctions`] turn any
//!   `GlobalAlloc` or `allocator_api2` allocator into hooks. The libevent
//!   shape, three `fn` pointers, is kept as [`set_mem_functions`] for ported
//!   C code.
//! - The hooks are **process-global**, as in libevent, and must be installed
//!   before rvent allocates anything: the first base created (or the first
//!   allocation rvent makes) freezes the choice, and a later install returns
//!   [`Error::BadState`](crate::Error::BadState). libevent silently frees
//!   C-library memory with your `free` in that case; rvent refuses.
//! - `RventAlloc` (crate-internal) is a zero-sized
//!   [`allocator_api2::alloc::Allocator`] that draws from the hooks when
//!   installed and from Rust's global allocator otherwise. The event core's
//!   storage is `allocator_api2::vec::Vec<T, RventAlloc>` and its callbacks
//!   `allocator_api2::boxed::Box<dyn FnMut…, RventAlloc>`, so every block the
//!   core owns goes through one path, and every growth uses `try_reserve`:
//!   an allocation failure is `Err(Error::Alloc)` with the state unchanged,
//!   never an abort.
//! - `RventAlloc` never calls `malloc(0)` or `free(null)` (zero-sized
//!   requests get a dangling, aligned pointer and no call), and never passes
//!   a wrapped size: sizes come from `Layout`, which cannot overflow, and the
//!   header-adding adapters use checked arithmetic.
//! - Counting (bytes and blocks currently obtained, calls made) happens in
//!   `RventAlloc`, on the allocation path only, so
//!   [`EventBase::mem_stats`](crate::EventBase::mem_stats) works with or
//!   without hooks. The dispatch hot paths allocate nothing in steady state
//!   and so pay nothing.
//!
//! - Shared ownership has the same path: `MemRc` (single-threaded, its
//!   block from the pool) and `MemArc` (thread-safe, for the notifier's
//!   state; its block from `RventAlloc`) are `Rc` / `Arc` whose `try_new`
//!   returns `Err(Error::Alloc)` instead of aborting (`rc.rs`). A `MemArc`
//!   may be freed on another thread — another reason the memory functions
//!   must be callable from any thread.
//! - Above `RventAlloc` sit the two allocators the rest of rvent uses:
//!   the per-base [`Arena`] (`arena.rs`) for everything that lives at most
//!   one loop iteration, reset at the end of each iteration, and the
//!   size-class [`Pool`] (`pool.rs`) for long-lived objects (event
//!   callbacks and evbuffer chain blocks). Both take their blocks from
//!   `RventAlloc`, so from the memory functions.
//!
//! Without the `mem-functions` cargo feature (on by default) the setters and
//! the hook adapters do not exist, `RventAlloc` always uses the global
//! allocator, and [`MEM_FUNCTIONS_IMPLEMENTED`] is `false` — libevent's
//! `EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED`.

// Maintainer notes: unsafe is allowed here (and in `sys`) only. Everything
// that hands raw blocks to the rest of the crate goes through `RventAlloc`,
// whose `Allocator` impl is the one place that trusts the hooks' results;
// it re-checks alignment in every build (see `MemFunctions`' docs for what
// happens to a misaligned block: panic, refusal or abort). The arena and
// the pools sit on top of `RventAlloc` and never call the hooks directly.
#![allow(unsafe_code)]

mod account;
mod alloc;
mod arena;
mod compact_vec;
mod contract;
#[cfg(feature = "mem-functions")]
mod functions;
mod mem_vec;
mod pool;
mod rc;
mod stats;

pub(crate) use account::{
    Account, Budgeted, Charge, charge_for, charge_for_box, charged, same as same_account,
};
pub use alloc::RventAlloc;
pub(crate) use alloc::freeze;
pub use arena::Arena;
pub(crate) use compact_vec::CompactVec;
pub use contract::{MEM_ALIGN, MEM_FUNCTIONS_IMPLEMENTED};
pub(crate) use mem_vec::{MemVec, extend, reserve, reserve_charged, vec, vec_bytes};
pub(crate) use pool::{
    BaseGuard, chain_block, counters as pool_counters, free_chain_block, pool_box, pool_bytes_of,
    release_cached as release_pool_cache,
};
pub use pool::{POOL_DEFAULT_HIGH_WATER, POOL_MAX_SIZE, Pool};
pub(crate) use rc::{MemArc, MemRc, rc_box};
pub(crate) use stats::snapshot as stats_snapshot;
pub use stats::{BaseMemStats, MemStats};

#[cfg(feature = "mem-functions")]
pub use functions::{
    AllocatorFunctions, FreeFn, GlobalAllocFunctions, MallocFn, MemFunctions, ReallocFn,
    install_mem_functions, set_mem_functions,
};
