//! Memory: `event_set_mem_functions`, the blocks C callers free
//! themselves (`evbuffer_readln`'s lines, `event_new`'s events) and the
//! shim's own records.
//!
//! The C hooks are stored here; rvent gets this module's hooks at load
//! time, which call them, so rvent's blocks, the shim's records and the
//! memory handed to C all come from one allocator — libevent's
//! `mm_malloc`. Without C hooks everything is the C library's `malloc`.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use allocator_api2::boxed::Box;
use rvent::RventAlloc;

/// A C `malloc` replacement.
type CMalloc = unsafe extern "C" fn(usize) -> *mut c_void;
/// A C `realloc` replacement.
type CRealloc = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
/// A C `free` replacement.
type CFree = unsafe extern "C" fn(*mut c_void);

/// The installed hooks, as addresses (0: none).
static MALLOC: AtomicUsize = AtomicUsize::new(0);
static REALLOC: AtomicUsize = AtomicUsize::new(0);
static FREE: AtomicUsize = AtomicUsize::new(0);

/// A box in rvent's memory (the memory functions).
pub type MemBox<T> = Box<T, RventAlloc>;

/// Boxes `v` in the memory functions and leaks it as a raw pointer; null
/// if the allocation fails.
pub fn into_raw<T>(v: T) -> *mut T {
    match Box::try_new_in(v, RventAlloc) {
        Ok(b) => Box::into_raw(b),
        Err(_) => ptr::null_mut(),
    }
}

/// Takes back and drops a block from [`into_raw`].
///
/// # Safety
/// `p` came from [`into_raw`] and is not used afterwards.
pub unsafe fn drop_raw<T>(p: *mut T) {
    // SAFETY: the caller hands back a pointer from `into_raw`.
    drop(unsafe { Box::from_raw_in(p, RventAlloc) });
}

/// `mm_malloc`: the hook, or the C library's `malloc`.
pub fn malloc(n: usize) -> *mut c_void {
    let f = MALLOC.load(Ordering::Acquire);
    if f == 0 {
        // SAFETY: plain malloc.
        unsafe { libc::malloc(n) }
    } else {
        // SAFETY: the address was stored from a `CMalloc` by
        // `event_set_mem_functions`.
        unsafe { std::mem::transmute::<usize, CMalloc>(f)(n) }
    }
}

/// `mm_free`: the hook, or the C library's `free`.
///
/// # Safety
/// `p` is null or came from [`malloc`] / [`realloc`].
pub unsafe fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    let f = FREE.load(Ordering::Acquire);
    if f == 0 {
        // SAFETY: `p` came from malloc (caller's promise).
        unsafe { libc::free(p) }
    } else {
        // SAFETY: stored from a `CFree`; `p` came from the paired malloc.
        unsafe { std::mem::transmute::<usize, CFree>(f)(p) }
    }
}

/// `mm_realloc`.
///
/// # Safety
/// `p` is null or came from [`malloc`] / [`realloc`].
pub unsafe fn realloc(p: *mut c_void, n: usize) -> *mut c_void {
    let f = REALLOC.load(Ordering::Acquire);
    if f == 0 {
        // SAFETY: `p` came from malloc (caller's promise).
        unsafe { libc::realloc(p, n) }
    } else {
        // SAFETY: stored from a `CRealloc`.
        unsafe { std::mem::transmute::<usize, CRealloc>(f)(p, n) }
    }
}

/// A NUL-terminated copy of `bytes` in [`malloc`] memory (what C callers
/// `free`); null if out of memory.
pub fn c_string(bytes: &[u8]) -> *mut c_char {
    c_string_with(bytes.len(), |out| out.copy_from_slice(bytes)).unwrap_or(ptr::null_mut())
}

/// A C string of `n` bytes plus NUL in [`malloc`] memory, its bytes
/// written by `fill`; `None` if out of memory.
pub fn c_string_with(n: usize, fill: impl FnOnce(&mut [u8])) -> Option<*mut c_char> {
    let p = malloc(n.checked_add(1)?).cast::<u8>();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` has room for `n + 1` bytes; zeroed before the slice is
    // made, so `fill` sees initialised bytes.
    unsafe {
        ptr::write_bytes(p, 0, n + 1);
        fill(std::slice::from_raw_parts_mut(p, n));
    }
    Some(p.cast())
}

// rvent's hooks call the C ones (rvent's `MallocFn` are Rust fn pointers).
unsafe fn hook_malloc(n: usize) -> *mut u8 {
    malloc(n).cast()
}
unsafe fn hook_realloc(p: *mut u8, n: usize) -> *mut u8 {
    // SAFETY: rvent passes its own blocks from these hooks.
    unsafe { realloc(p.cast(), n).cast() }
}
unsafe fn hook_free(p: *mut u8) {
    // SAFETY: rvent passes its own blocks from these hooks.
    unsafe { free(p.cast()) }
}

/// Gives rvent this module's hooks when the library is loaded, before
/// anything can allocate: rvent's blocks then follow every
/// `event_set_mem_functions` call, early or late, as libevent's
/// `mm_malloc` reads the current function at each call (libevent's regress
/// `readln` and `callbacks` install a failing `malloc` mid-test and expect
/// the next allocation to fail).
#[used]
#[unsafe(link_section = ".init_array")]
static INSTALL_HOOKS: extern "C" fn() = install_hooks;

extern "C" fn install_hooks() {
    // SAFETY: the hooks keep the contract: they call the C library's
    // functions, or the C caller's replacements, which promise the same.
    // Nothing in rvent can have allocated yet; if something did, rvent
    // keeps Rust's allocator (the C library's `malloc` too).
    let _ = unsafe { rvent::set_mem_functions(hook_malloc, hook_realloc, hook_free) };
}

/// `event_set_mem_functions`: the functions every block comes from from
/// now on — rvent's, the shim's records, what C callers free (NULLs: the C
/// library's). As with libevent, a block must be freed by the functions
/// that allocated it: call this before anything else (a late call, as
/// libevent's regress makes with compatible functions, works when the old
/// and new `free` agree).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_set_mem_functions(
    malloc_fn: Option<CMalloc>,
    realloc_fn: Option<CRealloc>,
    free_fn: Option<CFree>,
) {
    let (m, r, f) = match (malloc_fn, realloc_fn, free_fn) {
        (Some(m), Some(r), Some(f)) => (m as usize, r as usize, f as usize),
        _ => (0, 0, 0),
    };
    MALLOC.store(m, Ordering::Release);
    REALLOC.store(r, Ordering::Release);
    FREE.store(f, Ordering::Release);
}

/// `event_mm_malloc_` (exported by libevent; the C half uses it).
#[unsafe(no_mangle)]
pub extern "C" fn event_mm_malloc_(n: usize) -> *mut c_void {
    if n == 0 { ptr::null_mut() } else { malloc(n) }
}

/// `event_mm_calloc_`.
#[unsafe(no_mangle)]
pub extern "C" fn event_mm_calloc_(count: usize, size: usize) -> *mut c_void {
    let Some(n) = count.checked_mul(size).filter(|&n| n > 0) else {
        return ptr::null_mut();
    };
    let p = malloc(n);
    if !p.is_null() {
        // SAFETY: `p` holds `n` bytes.
        unsafe { ptr::write_bytes(p.cast::<u8>(), 0, n) };
    }
    p
}

/// `event_mm_strdup_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_mm_strdup_(s: *const c_char) -> *mut c_char {
    if s.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: a NUL-terminated string (caller's promise).
    c_string(unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes())
}

/// `event_mm_realloc_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_mm_realloc_(p: *mut c_void, n: usize) -> *mut c_void {
    // SAFETY: forwarded contract.
    unsafe { realloc(p, n) }
}

/// `event_mm_free_`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn event_mm_free_(p: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { free(p) }
}
