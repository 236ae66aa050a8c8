//! Counters of rvent's memory, read through
//! [`EventBase::mem_stats`](crate::EventBase::mem_stats).
//!
//! The counters are process-wide, like the memory functions they count,
//! and are bumped on the allocation path only (never per dispatched
//! event). A locked read-modify-write per counter per call would cost more
//! than a small allocation itself (it waits for every pending store — a
//! 4 KiB copy's worth right after filling a chain), so each thread counts
//! in a slot of its own with plain loads and stores, and a read adds the
//! slots up. Slots are static (counting must not allocate); a thread
//! claims one on its first allocation and, when it exits, adds its counts
//! to the retired totals and hands the slot back. Threads beyond
//! [`SLOTS`] count in the shared totals with atomic adds. A read while a
//! thread exits may see its counts twice or not at all for that moment.

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering::Relaxed};

/// Threads counting at once without atomic read-modify-writes.
const SLOTS: usize = 64;

/// One thread's counts (or the shared totals). `bytes` and `blocks` may go
/// negative in a slot: a block freed on another thread than the one that
/// obtained it.
struct Counts {
    bytes: AtomicIsize,
    blocks: AtomicIsize,
    calls: AtomicU64,
    failures: AtomicU64,
}

impl Counts {
    const fn new() -> Counts {
        Counts {
            bytes: AtomicIsize::new(0),
            blocks: AtomicIsize::new(0),
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }
}

struct Slot {
    claimed: AtomicBool,
    counts: Counts,
}

static SLOT_TABLE: [Slot; SLOTS] = [const {
    Slot {
        claimed: AtomicBool::new(false),
        counts: Counts::new(),
    }
}; SLOTS];

/// Exited threads' counts, and the counts of threads without a slot.
static SHARED: Counts = Counts::new();

/// This thread's slot; handed back (its counts moved to [`SHARED`]) when
/// the thread exits.
struct ThreadSlot(Option<&'static Counts>);

impl ThreadSlot {
    fn claim() -> ThreadSlot {
        let slot = SLOT_TABLE.iter().find(|s| {
            s.claimed
                .compare_exchange(false, true, Relaxed, Relaxed)
                .is_ok()
        });
        ThreadSlot(slot.map(|s| &s.counts))
    }
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        let Some(c) = self.0 else { return };
        SHARED.bytes.fetch_add(c.bytes.swap(0, Relaxed), Relaxed);
        SHARED.blocks.fetch_add(c.blocks.swap(0, Relaxed), Relaxed);
        SHARED.calls.fetch_add(c.calls.swap(0, Relaxed), Relaxed);
        SHARED
            .failures
            .fetch_add(c.failures.swap(0, Relaxed), Relaxed);
        let slot = SLOT_TABLE
            .iter()
            .find(|s| std::ptr::eq(&s.counts, c))
            .expect("a claimed slot is in the table");
        slot.claimed.store(false, Relaxed);
    }
}

thread_local! {
    static THREAD_SLOT: ThreadSlot = ThreadSlot::claim();
}

/// Adds to this thread's counts: plain loads and stores in its own slot,
/// atomic adds to the shared totals without one.
#[inline]
fn add(bytes: isize, blocks: isize, calls: u64, failures: u64) {
    let own = THREAD_SLOT.try_with(|t| t.0).ok().flatten();
    match own {
        Some(c) => {
            // Only this thread writes its slot.
            c.bytes
                .store(c.bytes.load(Relaxed).wrapping_add(bytes), Relaxed);
            c.blocks
                .store(c.blocks.load(Relaxed).wrapping_add(blocks), Relaxed);
            c.calls
                .store(c.calls.load(Relaxed).wrapping_add(calls), Relaxed);
            if failures != 0 {
                c.failures
                    .store(c.failures.load(Relaxed).wrapping_add(failures), Relaxed);
            }
        }
        None => {
            SHARED.bytes.fetch_add(bytes, Relaxed);
            SHARED.blocks.fetch_add(blocks, Relaxed);
            SHARED.calls.fetch_add(calls, Relaxed);
            SHARED.failures.fetch_add(failures, Relaxed);
        }
    }
}

/// Calls counted by this thread alone: what a unit test can check while
/// other tests allocate on their threads.
#[cfg(test)]
pub(super) fn thread_calls() -> u64 {
    THREAD_SLOT
        .try_with(|t| t.0.map_or(0, |c| c.calls.load(Relaxed)))
        .unwrap_or(0)
}

/// The totals: the shared counts plus every claimed slot's.
fn totals() -> (isize, isize, u64, u64) {
    let mut t = (
        SHARED.bytes.load(Relaxed),
        SHARED.blocks.load(Relaxed),
        SHARED.calls.load(Relaxed),
        SHARED.failures.load(Relaxed),
    );
    for s in SLOT_TABLE.iter().filter(|s| s.claimed.load(Relaxed)) {
        let c = &s.counts;
        t.0 = t.0.wrapping_add(c.bytes.load(Relaxed));
        t.1 = t.1.wrapping_add(c.blocks.load(Relaxed));
        t.2 = t.2.wrapping_add(c.calls.load(Relaxed));
        t.3 = t.3.wrapping_add(c.failures.load(Relaxed));
    }
    t
}

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
    /// The base's own: bytes of the chain blocks its buffers hold now —
    /// its bufferevents' inputs and outputs and the buffers made with
    /// [`Evbuffer::new_in`](crate::Evbuffer::new_in) (shared chains, which
    /// view blocks owned by no buffer, count nothing).
    pub base_chain_bytes: usize,
    /// The base's budget
    /// ([`Config::set_max_memory`](crate::Config::set_max_memory)).
    pub base_max_memory: Option<usize>,
    /// The bytes charged against the base's account now: the chain
    /// blocks of its buffers that charge it (all of them with a budget;
    /// without one, only those of buffers made with `Evbuffer::new_in`),
    /// and, with a budget, the base's growing memory
    /// ([`base_charged_blocks`](Self::base_charged_blocks)).
    pub base_charged: usize,
    /// The part of [`base_charged`](Self::base_charged) that is not chain
    /// blocks: on a base with a budget, the capacity its tables gained
    /// (event slab, timer heap, common timeouts, bufferevent, group and
    /// listener tables) and the callback blocks of its events,
    /// bufferevents and listeners; 0 without a budget
    /// ([`Config::set_max_memory`](crate::Config::set_max_memory)).
    pub base_charged_blocks: usize,
    /// The most bytes charged at once so far.
    pub base_charged_peak: usize,
    /// The base's own memory, by owner (the figures above, but for the
    /// arena and chain bytes, are the process's).
    pub base: BaseMemStats,
}

/// What one base holds from the memory source, by owner
/// ([`MemStats::base`]).
///
/// Computed when read, from capacities (a vector counts its whole
/// storage, used or not) and the sizes of the blocks the base's objects
/// own (a pooled block counts its size class), so keeping these figures
/// costs no instruction on any hot path; reading them walks the base's
/// event slab and tables. Blocks a base's thread shares with its other
/// bases are not in it: the thread's pool cache
/// ([`MemStats::pool_bytes_cached`]), and blocks owned by no buffer
/// (shared chains of views and references, file segments). Further
/// fields may be added, hence `#[non_exhaustive]`.
///
/// # Examples
/// ```
/// use rvent::{Event, EventBase};
/// let mut base = EventBase::new()?;
/// let before = base.mem_stats().base;
/// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
/// let after = base.mem_stats().base;
/// assert!(after.events > before.events); // the slab grew, the closure's block
/// assert_eq!(after.total - before.total, after.events - before.events);
/// ev.free(&mut base)?;
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BaseMemStats {
    /// The event slab (every slot, vacant ones included: 80 bytes each),
    /// the blocks of the events' boxed closures, and the per-priority
    /// active queues.
    pub events: usize,
    /// The timer heap and the common-timeout queues.
    pub timers: usize,
    /// The signal map (one entry per signal number, made with the first
    /// signal event).
    pub signals: usize,
    /// The backend: the fd table (one entry per fd number up to the
    /// highest watched) and the poll-result array (grown when a poll
    /// fills it).
    pub backend: usize,
    /// The state the base shares: the notifier's block and command
    /// queue, the deferred-work queue and its block, the memory
    /// account's block.
    pub shared: usize,
    /// The scratch arena's chunks (held across iterations, used or not;
    /// what is in use now is [`MemStats::arena_bytes`]).
    pub arena: usize,
    /// The bufferevent layer's table (records, free and dirty lists,
    /// rate-limit groups and their member lists) and each bufferevent's
    /// blocks: callbacks, settings block, filter state, timers, rate
    /// limit, lookup answer.
    pub bufferevents: usize,
    /// The listener layer's table (records inline) and the listeners'
    /// callback blocks.
    pub listeners: usize,
    /// The bufferevents' buffers besides their data: chain lists (48
    /// bytes per chain slot, kept by an empty buffer until the idle trim)
    /// and callback lists with their callbacks.
    pub buffer_lists: usize,
    /// The chain blocks of the base's buffers ([`MemStats::base_chain_bytes`]).
    pub buffer_chains: usize,
    /// The sum of the fields above.
    pub total: usize,
}

impl BaseMemStats {
    /// Sets [`total`](Self::total) to the sum of the other fields.
    pub(crate) fn add_up(&mut self) {
        self.total = self.events
            + self.timers
            + self.signals
            + self.backend
            + self.shared
            + self.arena
            + self.bufferevents
            + self.listeners
            + self.buffer_lists
            + self.buffer_chains;
    }
}

pub(crate) fn snapshot() -> MemStats {
    let (bytes, blocks, calls, failures) = totals();
    MemStats {
        bytes: bytes.max(0) as usize,
        blocks: blocks.max(0) as usize,
        calls,
        failures,
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
    if ok {
        add(size as isize, 1, 1, 0);
    } else {
        add(0, 0, 1, 1);
    }
}

#[inline]
pub(super) fn note_free(size: usize) {
    add(-(size as isize), -1, 1, 0);
}

#[inline]
pub(super) fn note_resize(ok: bool, old: usize, new: usize) {
    if ok {
        add(new as isize - old as isize, 0, 1, 0);
    } else {
        add(0, 0, 1, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts made on threads that exit stay in the totals, and a block
    /// obtained on one thread and freed on another balances out.
    #[test]
    fn counts_survive_their_threads() {
        let (_, _, c0, _) = totals();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    note_alloc(true, 100);
                    note_alloc(true, 28);
                    note_free(28);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // Freed here, obtained on the exited threads.
        for _ in 0..4 {
            note_free(100);
        }
        let (_, _, c1, _) = totals();
        // Other tests may allocate meanwhile, so only a lower bound is
        // exact: the 12 calls of the exited threads were folded into the
        // shared totals when they handed their slots back (lost, the
        // difference would be 4).
        assert!(c1 - c0 >= 16, "every call counted: {}", c1 - c0);
    }
}
