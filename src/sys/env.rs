//! Environment lookups that allocate nothing (`getenv`): the base reads
//! `EVENT_NOEPOLL` and its kin on every creation, and `std::env::var_os`
//! would copy a set value into a block from the global allocator, which
//! rvent's memory rule forbids.

use std::ffi::CStr;

/// Whether `name` is set in the environment (to anything, empty too).
pub(crate) fn is_set(name: &CStr) -> bool {
    // SAFETY: `name` is NUL-terminated; the result is only compared with
    // null, never read, so a value changed meanwhile cannot be misread
    // (glibc's setenv does not free an environment array getenv may be
    // walking).
    !unsafe { libc::getenv(name.as_ptr()) }.is_null()
}
