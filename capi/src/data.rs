//! The data symbols programs built against libevent reference. Their
//! copies are made at load time (copy relocations), so each must exist
//! with libevent's size even where rvent has no use for its contents.

use std::cell::UnsafeCell;
use std::ffi::c_void;

/// A static C code may write (placed in `.data`, not `.rodata`).
#[repr(transparent)]
pub struct CData<T>(pub(crate) UnsafeCell<T>);

// SAFETY: the contents are only ever touched by C code, which synchronises
// itself; Rust never reads them.
unsafe impl<T> Sync for CData<T> {}

/// `evthread_lock_fns_` (`struct evthread_lock_callbacks`, 40 B): the
/// base is single-threaded, the locks are never called.
#[unsafe(no_mangle)]
pub static evthread_lock_fns_: CData<[usize; 5]> = CData(UnsafeCell::new([0; 5]));

/// `evthread_cond_fns_` (`struct evthread_condition_callbacks`, 40 B).
#[unsafe(no_mangle)]
pub static evthread_cond_fns_: CData<[usize; 5]> = CData(UnsafeCell::new([0; 5]));

/// `event_global_current_base_` (8 B): the old API's base; the library
/// keeps its own copy (see `compat`) and mirrors it here.
#[unsafe(no_mangle)]
pub static event_global_current_base_: CData<*mut c_void> =
    CData(UnsafeCell::new(std::ptr::null_mut()));

/// `event_debug_logging_mask_` (4 B).
#[unsafe(no_mangle)]
pub static event_debug_logging_mask_: CData<u32> = CData(UnsafeCell::new(0));

const _: () = assert!(size_of::<[usize; 5]>() == 40);
const _: () = assert!(size_of::<CData<*mut c_void>>() == 8 && size_of::<CData<u32>>() == 4);

/// Mirrors the old API's current base into `event_global_current_base_`.
pub(crate) fn set_current_base(b: *mut c_void) {
    // SAFETY: a plain store into our own static; C code reading it races
    // only with itself, as with libevent.
    unsafe { *event_global_current_base_.0.get() = b }
}
