//! Counting memory functions and a counting global allocator, shared by
//! the binaries that install hooks (mem, alloc_faults).
//!
//! [`HOOKS`] is the tutorial's size-header allocator over `System` (9.3)
//! with counters, a contract checker and an injectable failure: the k-th
//! allocation after [`CountingHooks::arm`], or with
//! [`CountingHooks::arm_from`] that one and every later one. Only the
//! arming thread's allocations count and fail (a lookup thread's do not).
//!
//! [`CountingGlobal`] counts Rust's global allocator: per thread always
//! ([`global_allocs`]), and process-wide only inside [`count_global`] —
//! so a scenario can be checked for the global allocations rvent makes,
//! its helper threads included, with the test's own set aside by
//! [`outside_count`]. A binary registers it itself
//! (`#[global_allocator] static GLOBAL: CountingGlobal = CountingGlobal;`):
//! the other test binaries share `util` but keep the plain allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use rvent::{MEM_ALIGN, MemFunctions};

/// Header before each block: the requested size, padded to `MEM_ALIGN`.
pub const HEADER: usize = MEM_ALIGN;

pub struct CountingHooks {
    /// malloc + realloc + free calls.
    pub calls: AtomicUsize,
    pub mallocs: AtomicUsize,
    pub reallocs: AtomicUsize,
    pub frees: AtomicUsize,
    pub live_blocks: AtomicUsize,
    pub live_bytes: AtomicUsize,
    /// Calls the chapter says rvent never makes: malloc(0), free(null),
    /// realloc(null, n), realloc(p, 0).
    pub violations: AtomicUsize,
    /// Blocks returned that were not `MEM_ALIGN`-aligned.
    pub misaligned: AtomicUsize,
    /// Fail the allocation (malloc or realloc) with this 1-based number,
    /// counted from when it was armed; 0 = never.
    fail_at: AtomicUsize,
    /// Fail every allocation from `fail_at` on, not only that one.
    fail_after: AtomicBool,
    allocs_since_armed: AtomicUsize,
    failed: AtomicBool,
}

/// Print where the armed failure strikes (a test's debugging aid).
pub static TRACE_FAILURE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// This thread armed the failure injection.
    static ARMED_HERE: Cell<bool> = const { Cell::new(false) };
}

pub static HOOKS: CountingHooks = CountingHooks {
    calls: AtomicUsize::new(0),
    mallocs: AtomicUsize::new(0),
    reallocs: AtomicUsize::new(0),
    frees: AtomicUsize::new(0),
    live_blocks: AtomicUsize::new(0),
    live_bytes: AtomicUsize::new(0),
    violations: AtomicUsize::new(0),
    misaligned: AtomicUsize::new(0),
    fail_at: AtomicUsize::new(0),
    fail_after: AtomicBool::new(false),
    allocs_since_armed: AtomicUsize::new(0),
    failed: AtomicBool::new(false),
};

pub fn header_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, MEM_ALIGN).ok()
}

impl CountingHooks {
    /// True if this allocation must fail.
    fn inject_failure(&self) -> bool {
        let at = self.fail_at.load(SeqCst);
        // Only the arming thread's allocations count (a lookup thread's
        // do not: their failure shows as a lookup timeout, 30 s later).
        if at == 0 || !ARMED_HERE.try_with(Cell::get).unwrap_or(false) {
            return false;
        }
        let n = self.allocs_since_armed.fetch_add(1, SeqCst) + 1;
        if n == at || (n > at && self.fail_after.load(SeqCst)) {
            if n == at && TRACE_FAILURE.load(SeqCst) {
                eprintln!("{}", std::backtrace::Backtrace::force_capture());
            }
            self.failed.store(true, SeqCst);
            return true;
        }
        false
    }

    /// Fails this thread's `k`-th allocation from now (`usize::MAX`:
    /// none, only count them, see [`allocations`](Self::allocations)).
    pub fn arm(&self, k: usize) {
        ARMED_HERE.with(|a| a.set(true));
        self.allocs_since_armed.store(0, SeqCst);
        self.failed.store(false, SeqCst);
        self.fail_after.store(false, SeqCst);
        self.fail_at.store(k, SeqCst);
    }

    /// Fails this thread's `k`-th allocation from now and every later one.
    pub fn arm_from(&self, k: usize) {
        self.arm(k);
        self.fail_after.store(true, SeqCst);
    }

    /// Ends the injection; true if an allocation failed since `arm`.
    pub fn disarm(&self) -> bool {
        self.fail_at.store(0, SeqCst);
        ARMED_HERE.with(|a| a.set(false));
        self.failed.load(SeqCst)
    }

    /// The allocations (malloc and realloc) the arming thread made since
    /// it armed.
    pub fn allocations(&self) -> usize {
        self.allocs_since_armed.load(SeqCst)
    }

    fn note_block(&self, p: *mut u8) {
        if !(p as usize).is_multiple_of(MEM_ALIGN) {
            self.misaligned.fetch_add(1, SeqCst);
        }
    }
}

// SAFETY: blocks come from `System` with `MEM_ALIGN` alignment and a
// `MEM_ALIGN`-sized header, so user pointers keep that alignment; realloc
// follows the null / zero rules; sizes are checked; atomics make the hooks
// thread-safe.
unsafe impl MemFunctions for CountingHooks {
    fn malloc(&self, size: usize) -> *mut u8 {
        self.calls.fetch_add(1, SeqCst);
        self.mallocs.fetch_add(1, SeqCst);
        if size == 0 {
            self.violations.fetch_add(1, SeqCst);
        }
        if self.inject_failure() {
            return ptr::null_mut();
        }
        let Some(layout) = header_layout(size) else {
            return ptr::null_mut();
        };
        // SAFETY: non-zero size.
        let block = unsafe { System.alloc(layout) };
        if block.is_null() {
            return block;
        }
        self.live_blocks.fetch_add(1, SeqCst);
        self.live_bytes.fetch_add(size, SeqCst);
        // SAFETY: `block` has room for the header and is aligned for usize.
        let p = unsafe {
            block.cast::<usize>().write(size);
            block.add(HEADER)
        };
        self.note_block(p);
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, size: usize) -> *mut u8 {
        if ptr.is_null() || size == 0 {
            // Legal per the contract, but rvent promised never to do it.
            self.violations.fetch_add(1, SeqCst);
            if ptr.is_null() {
                return self.malloc(size);
            }
            // SAFETY: forwarded precondition.
            unsafe { self.free(ptr) };
            return ptr::null_mut();
        }
        self.calls.fetch_add(1, SeqCst);
        self.reallocs.fetch_add(1, SeqCst);
        if self.inject_failure() {
            return ptr::null_mut();
        }
        let Some(new) = header_layout(size) else {
            return ptr::null_mut();
        };
        // SAFETY: `ptr` came from `malloc`/`realloc` above: the header is
        // `HEADER` bytes before it.
        let (block, old) = unsafe {
            let block = ptr.sub(HEADER);
            (block, block.cast::<usize>().read())
        };
        let old_layout = header_layout(old).expect("recorded size");
        // SAFETY: `block` was allocated by `System` with `old_layout`.
        let block = unsafe { System.realloc(block, old_layout, new.size()) };
        if block.is_null() {
            return block;
        }
        self.live_bytes.fetch_add(size, SeqCst);
        self.live_bytes.fetch_sub(old, SeqCst);
        // SAFETY: as in `malloc`.
        let p = unsafe {
            block.cast::<usize>().write(size);
            block.add(HEADER)
        };
        self.note_block(p);
        p
    }

    unsafe fn free(&self, ptr: *mut u8) {
        self.calls.fetch_add(1, SeqCst);
        self.frees.fetch_add(1, SeqCst);
        if ptr.is_null() {
            self.violations.fetch_add(1, SeqCst);
            return;
        }
        // SAFETY: `ptr` came from `malloc`/`realloc` above.
        unsafe {
            let block = ptr.sub(HEADER);
            let size = block.cast::<usize>().read();
            self.live_blocks.fetch_sub(1, SeqCst);
            self.live_bytes.fetch_sub(size, SeqCst);
            System.dealloc(block, header_layout(size).expect("recorded size"));
        }
    }
}

/// What the hooks hold now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub blocks: usize,
    pub bytes: usize,
}

pub fn held() -> Held {
    Held {
        blocks: HOOKS.live_blocks.load(SeqCst),
        bytes: HOOKS.live_bytes.load(SeqCst),
    }
}

pub fn calls() -> usize {
    HOOKS.calls.load(SeqCst)
}

// ---------------------------------------------------------------------------
// A global allocator that counts allocations, to show rvent does not use it.

pub struct CountingGlobal;

thread_local! {
    static GLOBAL_ALLOCS: Cell<usize> = const { Cell::new(0) };
}

/// [`count_global`] is running (and not inside [`outside_count`]).
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Every thread's allocations while `COUNTING`.
static COUNTED: AtomicUsize = AtomicUsize::new(0);

fn note_global_alloc() {
    let _ = GLOBAL_ALLOCS.try_with(|c| c.set(c.get() + 1));
    if COUNTING.load(SeqCst) {
        COUNTED.fetch_add(1, SeqCst);
    }
}

// SAFETY: forwards to `System`; the thread-local counter is const-initialised
// and has no destructor, and the process-wide ones are atomics, so counting
// never allocates or re-enters.
unsafe impl GlobalAlloc for CountingGlobal {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_global_alloc();
        // SAFETY: forwarded precondition.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded precondition.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_global_alloc();
        // SAFETY: forwarded precondition.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// This thread's global allocations so far (needs [`CountingGlobal`]
/// registered as the binary's global allocator).
pub fn global_allocs() -> usize {
    GLOBAL_ALLOCS.with(Cell::get)
}

/// Runs `f` and returns what it gave with the global allocations every
/// thread made meanwhile, except inside [`outside_count`].
pub fn count_global<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = COUNTED.load(SeqCst);
    COUNTING.store(true, SeqCst);
    let r = f();
    COUNTING.store(false, SeqCst);
    (r, COUNTED.load(SeqCst) - before)
}

/// Runs `f` (the test's own allocations, not rvent's) uncounted by an
/// enclosing [`count_global`].
pub fn outside_count<R>(f: impl FnOnce() -> R) -> R {
    let was = COUNTING.swap(false, SeqCst);
    let r = f();
    COUNTING.store(was, SeqCst);
    r
}
