//! The pluggable memory functions (`event_set_mem_functions`): the
//! [`MemFunctions`] hook trait, the process-global slot the hooks live in,
//! and adapters from `GlobalAlloc` / `allocator_api2` allocators.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use allocator_api2::alloc::Allocator;

use super::contract::MEM_ALIGN;
use crate::error::{Error, Result};

/// A replacement `malloc` for [`set_mem_functions`]: a block of at least
/// `size` bytes aligned to [`MEM_ALIGN`](crate::MEM_ALIGN), or null.
pub type MallocFn = unsafe fn(size: usize) -> *mut u8;
/// A replacement `realloc` for [`set_mem_functions`]: `realloc(null, n)`
/// acts as `malloc(n)`, `realloc(p, 0)` as `free(p)`; null on failure
/// (the old block then stays valid).
pub type ReallocFn = unsafe fn(ptr: *mut u8, size: usize) -> *mut u8;
/// A replacement `free` for [`set_mem_functions`]. rvent never passes null.
pub type FreeFn = unsafe fn(ptr: *mut u8);

/// Replacement memory functions (libevent's `malloc_fn`, `realloc_fn`,
/// `free_fn`), installed process-wide with [`install_mem_functions`].
///
/// rvent calls them for every block its event core owns: the event slab,
/// the timer heap, the fd table, the poll report array, the active and
/// common-timeout queues, the signal lists and the event callbacks. Memory
/// rvent will hand to you (evbuffer lines and buffers, once they exist) is
/// to be released through the same functions.
///
/// # Safety
/// Implementors promise the chapter's contract:
/// - `malloc(n)` returns null or a block of at least `n` bytes aligned to
///   [`MEM_ALIGN`](crate::MEM_ALIGN) (16 bytes, like the C library's
///   `malloc`), not in use elsewhere;
/// - `realloc(p, n)` with `p` from `malloc`/`realloc` returns null (and
///   leaves `p` valid) or a block of at least `n` bytes with the same
///   alignment holding `p`'s first `min(old, n)` bytes; `realloc(null, n)`
///   acts as `malloc(n)` and `realloc(p, 0)` as `free(p)`;
/// - `free(p)` releases a block from `malloc`/`realloc`;
/// - all three may be called from any thread (hence `Send + Sync`).
///
/// rvent never calls `malloc(0)`, `realloc(p, 0)`, `realloc(null, n)` or
/// `free(null)` itself, so hooks need not special-case them for rvent —
/// but other users of the same hooks may, so the contract keeps them.
/// rvent checks the alignment of every block. A debug build stops on a
/// misaligned one with a message naming the hook: a panic for `malloc`, an
/// abort for `realloc` (the old block is already gone, so neither an error
/// nor unwinding would be sound). A release build uses a block that still
/// suits the layout it asked for, refuses a misaligned `malloc` block
/// (`Err(Alloc)`) and aborts on an unusable `realloc` one.
///
/// # Examples
/// ```
/// use rvent::{GlobalAllocFunctions, MemFunctions};
/// use std::alloc::System;
///
/// // Any `GlobalAlloc` becomes hooks through the adapter (a size header
/// // gives `free` the layout `GlobalAlloc::dealloc` needs).
/// static HOOKS: GlobalAllocFunctions<System> = GlobalAllocFunctions::new(System);
/// let p = HOOKS.malloc(100);
/// assert!(!p.is_null() && p as usize % rvent::MEM_ALIGN == 0);
/// // SAFETY: `p` came from `HOOKS.malloc`.
/// let p = unsafe { HOOKS.realloc(p, 1000) };
/// assert!(!p.is_null());
/// // SAFETY: `p` came from `HOOKS.realloc` and is not used afterwards.
/// unsafe { HOOKS.free(p) };
/// // Installing them (before anything else in rvent) is
/// // `rvent::install_mem_functions(&HOOKS)`.
/// ```
#[doc(alias = "event_set_mem_functions")]
pub unsafe trait MemFunctions: Send + Sync {
    /// Allocates `size` bytes; null on failure.
    fn malloc(&self, size: usize) -> *mut u8;

    /// Resizes `ptr` to `size` bytes; null on failure (`ptr` stays valid).
    ///
    /// # Safety
    /// `ptr` is null or a live block from this object's `malloc`/`realloc`.
    unsafe fn realloc(&self, ptr: *mut u8, size: usize) -> *mut u8;

    /// Releases `ptr`.
    ///
    /// # Safety
    /// `ptr` is a live block from this object's `malloc`/`realloc`.
    unsafe fn free(&self, ptr: *mut u8);
}

/// Three `fn` pointers given to [`set_mem_functions`].
struct RawFunctions {
    malloc: MallocFn,
    realloc: ReallocFn,
    free: FreeFn,
}

// SAFETY: the caller of `set_mem_functions` promised that the three
// functions keep `MemFunctions`' contract; fn pointers are Send + Sync.
unsafe impl MemFunctions for RawFunctions {
    fn malloc(&self, size: usize) -> *mut u8 {
        // SAFETY: `set_mem_functions`' caller promised `malloc` may be
        // called with any size.
        unsafe { (self.malloc)(size) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, size: usize) -> *mut u8 {
        // SAFETY: forwarded precondition: `ptr` came from these functions.
        unsafe { (self.realloc)(ptr, size) }
    }

    unsafe fn free(&self, ptr: *mut u8) {
        // SAFETY: forwarded precondition: `ptr` came from these functions.
        unsafe { (self.free)(ptr) }
    }
}

/// What rvent allocates with, chosen once per process.
enum Hooks {
    /// Rust's global allocator (nothing was installed before first use).
    Default,
    Raw(RawFunctions),
    Object(&'static dyn MemFunctions),
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// The installed hooks, or `None` for the global allocator. The first call
/// freezes the choice: later installs are refused.
#[inline]
pub(crate) fn hooks() -> Option<&'static dyn MemFunctions> {
    match HOOKS.get_or_init(|| Hooks::Default) {
        Hooks::Default => None,
        Hooks::Raw(r) => Some(r),
        Hooks::Object(o) => Some(*o),
    }
}

fn install(h: Hooks) -> Result<()> {
    HOOKS.set(h).map_err(|_| {
        Error::BadState(
            "memory functions must be set once, before rvent allocates anything \
             (creating a base is a first use)",
        )
    })
}

/// Replaces the functions rvent allocates its memory with
/// (`event_set_mem_functions`), libevent's shape: three `fn` pointers.
/// [`install_mem_functions`] takes a [`MemFunctions`] object instead,
/// which can carry state and needs no `unsafe` at the call site.
///
/// Call it first, before creating a base or anything else in rvent: the
/// hooks are process-global and must see every block rvent owns.
///
/// # Errors
/// [`Error::BadState`] if rvent has already allocated (a base was created)
/// or hooks were already installed. libevent accepts the late call and
/// frees C-library memory with your `free`; rvent refuses.
///
/// # Safety
/// The three functions must keep [`MemFunctions`]' contract: 16-byte
/// aligned blocks, `realloc(null, n)` = `malloc(n)`, `realloc(p, 0)` =
/// `free(p)`, null on failure, callable from any thread.
///
/// # Examples
/// ```
/// # fn main() -> rvent::Result<()> {
/// unsafe fn my_malloc(n: usize) -> *mut u8 {
///     unsafe { libc::malloc(n).cast() }
/// }
/// unsafe fn my_realloc(p: *mut u8, n: usize) -> *mut u8 {
///     unsafe { libc::realloc(p.cast(), n).cast() }
/// }
/// unsafe fn my_free(p: *mut u8) {
///     unsafe { libc::free(p.cast()) }
/// }
/// // SAFETY: glibc's malloc family keeps the contract on x86-64.
/// unsafe { rvent::set_mem_functions(my_malloc, my_realloc, my_free)? };
/// let base = rvent::EventBase::new()?;
/// assert!(base.mem_stats().hooks);
/// // Too late now:
/// // SAFETY: as above.
/// assert!(unsafe { rvent::set_mem_functions(my_malloc, my_realloc, my_free) }.is_err());
/// # Ok(()) }
/// ```
#[doc(alias = "event_set_mem_functions")]
pub unsafe fn set_mem_functions(malloc: MallocFn, realloc: ReallocFn, free: FreeFn) -> Result<()> {
    install(Hooks::Raw(RawFunctions {
        malloc,
        realloc,
        free,
    }))
}

/// Installs `hooks` as the functions rvent allocates its memory with
/// (`event_set_mem_functions` with a stateful object). Any `GlobalAlloc`
/// or `allocator_api2` allocator becomes hooks through
/// [`GlobalAllocFunctions`] or [`AllocatorFunctions`].
///
/// # Errors
/// [`Error::BadState`] if rvent has already allocated (a base was created)
/// or hooks were already installed.
///
/// # Examples
/// ```
/// use rvent::{EventBase, GlobalAllocFunctions};
/// use std::alloc::System;
///
/// static HOOKS: GlobalAllocFunctions<System> = GlobalAllocFunctions::new(System);
/// rvent::install_mem_functions(&HOOKS)?; // first thing in `main`
/// let base = EventBase::new()?;
/// assert!(base.mem_stats().hooks);
/// assert!(rvent::install_mem_functions(&HOOKS).is_err()); // too late
/// # Ok::<(), rvent::Error>(())
/// ```
#[doc(alias = "event_set_mem_functions")]
pub fn install_mem_functions(hooks: &'static dyn MemFunctions) -> Result<()> {
    install(Hooks::Object(hooks))
}

/// The size header the adapters put before each block: `free(p)` gets no
/// size, but `GlobalAlloc::dealloc` and `Allocator::deallocate` need the
/// layout. One `MEM_ALIGN` keeps the returned pointer aligned.
const HEADER: usize = MEM_ALIGN;

/// The layout of a block with room for `size` bytes after the header;
/// `None` when the size overflows (never a wrapped size).
fn header_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, MEM_ALIGN).ok()
}

/// Writes the header at `block` and returns the user pointer.
///
/// # Safety
/// `block` is valid for writes of `HEADER` bytes and aligned to `MEM_ALIGN`.
unsafe fn finish(block: *mut u8, size: usize) -> *mut u8 {
    debug_assert!((block as usize).is_multiple_of(MEM_ALIGN));
    // SAFETY: the caller guarantees `block` is valid and aligned; the
    // header holds one `usize`.
    unsafe {
        block.cast::<usize>().write(size);
        block.add(HEADER)
    }
}

/// The block start and recorded size of user pointer `ptr`.
///
/// # Safety
/// `ptr` was returned by `finish`.
unsafe fn header_of(ptr: *mut u8) -> (*mut u8, usize) {
    debug_assert!(!ptr.is_null());
    // SAFETY: `finish` returned `block + HEADER` and wrote the size at
    // `block`, which is still live.
    unsafe {
        let block = ptr.sub(HEADER);
        (block, block.cast::<usize>().read())
    }
}

/// Any [`GlobalAlloc`] as [`MemFunctions`]: blocks carry a 16-byte size
/// header so `free` can rebuild the layout `dealloc` needs.
///
/// # Examples
/// See [`install_mem_functions`].
#[derive(Debug, Default)]
pub struct GlobalAllocFunctions<G>(G);

impl<G> GlobalAllocFunctions<G> {
    /// Wraps `alloc`; usable in a `static`.
    ///
    /// # Examples
    /// ```
    /// use rvent::{GlobalAllocFunctions, MemFunctions};
    /// use std::alloc::System;
    ///
    /// static HOOKS: GlobalAllocFunctions<System> = GlobalAllocFunctions::new(System);
    /// let p = HOOKS.malloc(32);
    /// assert!(!p.is_null());
    /// // SAFETY: `p` came from `HOOKS.malloc` and is not used afterwards.
    /// unsafe { HOOKS.free(p) };
    /// ```
    pub const fn new(alloc: G) -> Self {
        GlobalAllocFunctions(alloc)
    }
}

// SAFETY: every block is requested with `MEM_ALIGN` alignment and the user
// pointer sits `HEADER` (a multiple of `MEM_ALIGN`) bytes in, so it keeps
// that alignment; `realloc` follows the null / zero rules; sizes are
// checked, so a request that overflows fails with null. `G: Send + Sync`
// makes the hooks callable from any thread.
unsafe impl<G: GlobalAlloc + Send + Sync> MemFunctions for GlobalAllocFunctions<G> {
    fn malloc(&self, size: usize) -> *mut u8 {
        header_malloc(self, size)
    }

    unsafe fn realloc(&self, ptr: *mut u8, size: usize) -> *mut u8 {
        // SAFETY: forwarded precondition.
        unsafe { header_realloc(self, ptr, size) }
    }

    unsafe fn free(&self, ptr: *mut u8) {
        // SAFETY: forwarded precondition.
        unsafe { header_free(self, ptr) }
    }
}

impl<G: GlobalAlloc> Source for GlobalAllocFunctions<G> {
    fn obtain(&self, layout: Layout) -> *mut u8 {
        // SAFETY: header layouts have a non-zero size (at least `HEADER`).
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn resize(&self, block: *mut u8, old: Layout, new: Layout) -> *mut u8 {
        // SAFETY: forwarded precondition; `new` has `old`'s alignment.
        unsafe { self.0.realloc(block, old, new.size()) }
    }

    unsafe fn release(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded precondition.
        unsafe { self.0.dealloc(block, layout) }
    }
}

/// Any [`allocator_api2::alloc::Allocator`] (a `bumpalo::Bump` behind a
/// lock, `allocator_api2::alloc::Global`, a counting wrapper…) as
/// [`MemFunctions`], with the same size header as [`GlobalAllocFunctions`].
///
/// # Examples
/// ```
/// use allocator_api2::alloc::Global;
/// use rvent::{AllocatorFunctions, MemFunctions};
///
/// static HOOKS: AllocatorFunctions<Global> = AllocatorFunctions::new(Global);
/// let p = HOOKS.malloc(24);
/// assert_eq!(p as usize % rvent::MEM_ALIGN, 0);
/// // SAFETY: `p` came from `HOOKS.malloc` and is not used afterwards.
/// unsafe { HOOKS.free(p) };
/// ```
#[derive(Debug, Default)]
pub struct AllocatorFunctions<A>(A);

impl<A> AllocatorFunctions<A> {
    /// Wraps `alloc`; usable in a `static`.
    ///
    /// # Examples
    /// ```
    /// use allocator_api2::alloc::Global;
    /// use rvent::{AllocatorFunctions, MemFunctions};
    ///
    /// static HOOKS: AllocatorFunctions<Global> = AllocatorFunctions::new(Global);
    /// let p = HOOKS.malloc(16);
    /// assert!(!p.is_null());
    /// // SAFETY: `p` came from `HOOKS.malloc` and is not used afterwards.
    /// unsafe { HOOKS.free(p) };
    /// ```
    pub const fn new(alloc: A) -> Self {
        AllocatorFunctions(alloc)
    }
}

// SAFETY: as for `GlobalAllocFunctions`: MEM_ALIGN-aligned blocks with a
// MEM_ALIGN-sized header, checked sizes, the null / zero rules of realloc,
// and `A: Send + Sync`.
unsafe impl<A: Allocator + Send + Sync> MemFunctions for AllocatorFunctions<A> {
    fn malloc(&self, size: usize) -> *mut u8 {
        header_malloc(self, size)
    }

    unsafe fn realloc(&self, ptr: *mut u8, size: usize) -> *mut u8 {
        // SAFETY: forwarded precondition.
        unsafe { header_realloc(self, ptr, size) }
    }

    unsafe fn free(&self, ptr: *mut u8) {
        // SAFETY: forwarded precondition.
        unsafe { header_free(self, ptr) }
    }
}

impl<A: Allocator> Source for AllocatorFunctions<A> {
    fn obtain(&self, layout: Layout) -> *mut u8 {
        self.0
            .allocate(layout)
            .map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }

    unsafe fn resize(&self, block: *mut u8, old: Layout, new: Layout) -> *mut u8 {
        // SAFETY: the caller passes a live, non-null block of `self.0`.
        let block = unsafe { NonNull::new_unchecked(block) };
        let r = if new.size() >= old.size() {
            // SAFETY: same block and layout; the new size is not smaller.
            unsafe { self.0.grow(block, old, new) }
        } else {
            // SAFETY: same block and layout; the new size is smaller.
            unsafe { self.0.shrink(block, old, new) }
        };
        r.map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }

    unsafe fn release(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live, non-null block of `self.0`.
        unsafe { self.0.deallocate(NonNull::new_unchecked(block), layout) }
    }
}

/// What the two adapters need from the allocator they wrap: raw blocks
/// of header layouts (`MEM_ALIGN`-aligned, non-zero size), null on failure.
trait Source {
    fn obtain(&self, layout: Layout) -> *mut u8;

    /// # Safety
    /// `block` is a live block of `old` from this source; `new` has the
    /// same alignment and a non-zero size.
    unsafe fn resize(&self, block: *mut u8, old: Layout, new: Layout) -> *mut u8;

    /// # Safety
    /// `block` is a live block of `layout` from this source.
    unsafe fn release(&self, block: *mut u8, layout: Layout);
}

/// `malloc` over a [`Source`]: a header recording `size`, then the user
/// bytes; null when the size overflows or the source fails.
fn header_malloc(src: &impl Source, size: usize) -> *mut u8 {
    let Some(layout) = header_layout(size) else {
        return ptr::null_mut();
    };
    let block = src.obtain(layout);
    if block.is_null() {
        return block;
    }
    // SAFETY: `block` is a fresh block of `layout`, aligned to MEM_ALIGN.
    unsafe { finish(block, size) }
}

/// `realloc` over a [`Source`], with the seed's null / zero rules.
///
/// # Safety
/// `ptr` is null or came from `header_malloc` / `header_realloc` on `src`.
unsafe fn header_realloc(src: &impl Source, ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return header_malloc(src, size);
    }
    if size == 0 {
        // SAFETY: forwarded precondition.
        unsafe { header_free(src, ptr) };
        return ptr::null_mut();
    }
    let Some(new) = header_layout(size) else {
        return ptr::null_mut();
    };
    // SAFETY: `ptr` came from this source's adapter (precondition).
    let (block, old) = unsafe { header_of(ptr) };
    let old = header_layout(old).expect("recorded size fitted a layout before");
    // SAFETY: `block` is live with layout `old`; `new` has its alignment and
    // a non-zero size.
    let block = unsafe { src.resize(block, old, new) };
    if block.is_null() {
        return block;
    }
    // SAFETY: `block` is live for `new.size()` bytes, MEM_ALIGN-aligned.
    unsafe { finish(block, size) }
}

/// `free` over a [`Source`]; null is a no-op.
///
/// # Safety
/// `ptr` is null or came from `header_malloc` / `header_realloc` on `src`.
unsafe fn header_free(src: &impl Source, ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from this source's adapter (precondition).
    let (block, size) = unsafe { header_of(ptr) };
    let layout = header_layout(size).expect("recorded size fitted a layout before");
    // SAFETY: `block` is live with `layout`.
    unsafe { src.release(block, layout) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    /// The realloc contract of both adapters: null acts as malloc, zero as
    /// free, contents survive growth and shrinking, overflow fails.
    fn check_contract(h: &dyn MemFunctions) {
        assert!(h.malloc(usize::MAX).is_null(), "overflowing size must fail");
        assert!(h.malloc(usize::MAX - 8).is_null());
        // SAFETY: each pointer below comes from `h` and is used once.
        unsafe {
            let p = h.realloc(ptr::null_mut(), 40);
            assert!(!p.is_null());
            assert_eq!(p as usize % MEM_ALIGN, 0);
            for i in 0..40 {
                p.add(i).write(i as u8);
            }
            let p = h.realloc(p, 4000);
            assert_eq!(p as usize % MEM_ALIGN, 0);
            assert!((0..40).all(|i| *p.add(i) == i as u8));
            let p = h.realloc(p, 10);
            assert!((0..10).all(|i| *p.add(i) == i as u8));
            assert!(h.realloc(p, usize::MAX).is_null(), "old block stays valid");
            assert_eq!(*p.add(9), 9);
            assert!(h.realloc(p, 0).is_null(), "realloc(p, 0) frees");
            h.free(ptr::null_mut()); // tolerated, though rvent never does it
        }
    }

    #[test]
    fn global_alloc_adapter_keeps_the_contract() {
        check_contract(&GlobalAllocFunctions::new(System));
    }

    #[test]
    fn allocator_adapter_keeps_the_contract() {
        check_contract(&AllocatorFunctions::new(allocator_api2::alloc::Global));
    }
}
