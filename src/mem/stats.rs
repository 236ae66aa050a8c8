//! Counters of rvent's memory, read through
//! [`EventBase::mem_stats`](crate::EventBase::mem_stats).
//!
//! The counters are process-wide, like the memory functions they count:
//! atomics bumped on the allocation path only (never per dispatched
//! event).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

static BYTES: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicU64 = AtomicU64::new(0);
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// What rvent holds from its memory source (`EventBase::mem_stats`).
///
/// The source is the memory functions when installed
/// ([`hooks`](MemStats::hooks)), else Rust's global allocator. Counts are
/// process-wide — the memory functions are — and cover the storage of
/// every base: event records and callbacks, timer heaps, fd tables, poll
/// report arrays, active and common-timeout queues, arena chunks and pool
/// blocks. The arena figures are the base's own; the pool figures are
/// those of the pool of the base's thread (see [`Pool`](crate::Pool)).
/// Further fields may be added, hence `#[non_exhaustive]`.
///
/// # Examples
/// ```
/// use rvent::{Event, EventBase};
/// let mut base = EventBase::new()?;
/// let before = base.mem_stats();
/// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
/// let after = base.mem_stats();
/// assert!(after.calls > before.calls && after.bytes > before.bytes);
/// ev.free(&mut base)?;
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemStats {
    /// Bytes currently obtained (requested sizes, without any hook headers).
    pub bytes: usize,
    /// Blocks currently obtained.
    pub blocks: usize,
    /// Calls made to the source since the process started: malloc, realloc
    /// and free (or their global-allocator equivalents), failed ones too.
    pub calls: u64,
    /// Calls that failed (returned null).
    pub failures: u64,
    /// Whether memory functions are installed (else the global allocator
    /// is the source).
    pub hooks: bool,
    /// Bytes of the base's [`Arena`](crate::Arena) in use now (since the
    /// last reset), alignment padding included.
    pub arena_bytes: usize,
    /// The most arena bytes in use at once so far (sampled at each reset
    /// and at this read).
    pub arena_peak: usize,
    /// Arena resets that released something: loop iterations that used
    /// the arena. Resets of an untouched arena are not counted (they cost
    /// one load and a branch).
    pub arena_resets: u64,
    /// Pool requests served from a free list.
    pub pool_hits: u64,
    /// Pool requests that went to the memory functions.
    pub pool_misses: u64,
    /// Bytes cached in the pool's free lists now.
    pub pool_bytes_cached: usize,
}

pub(crate) fn snapshot() -> MemStats {
    MemStats {
        bytes: BYTES.load(Relaxed),
        blocks: BLOCKS.load(Relaxed),
        calls: CALLS.load(Relaxed),
        failures: FAILURES.load(Relaxed),
        hooks: hooks_installed(),
        ..MemStats::default()
    }
}

fn hooks_installed() -> bool {
    #[cfg(feature = "mem-functions")]
    {
        crate::mem::functions::hooks().is_some()
    }
    #[cfg(not(feature = "mem-functions"))]
    {
        false
    }
}

#[inline]
pub(super) fn note_alloc(ok: bool, size: usize) {
    CALLS.fetch_add(1, Relaxed);
    if ok {
        BYTES.fetch_add(size, Relaxed);
        BLOCKS.fetch_add(1, Relaxed);
    } else {
        FAILURES.fetch_add(1, Relaxed);
    }
}

#[inline]
pub(super) fn note_free(size: usize) {
    CALLS.fetch_add(1, Relaxed);
    BYTES.fetch_sub(size, Relaxed);
    BLOCKS.fetch_sub(1, Relaxed);
}

#[inline]
pub(super) fn note_resize(ok: bool, old: usize, new: usize) {
    CALLS.fetch_add(1, Relaxed);
    if ok {
        BYTES.fetch_add(new, Relaxed);
        BYTES.fetch_sub(old, Relaxed);
    } else {
        FAILURES.fetch_add(1, Relaxed);
    }
}
