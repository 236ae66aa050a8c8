//! libevent 2.1's C API on rvent, built as a `cdylib` whose soname is
//! `libevent-2.1.so.7`: a program compiled against libevent's headers links
//! against it unchanged, and one already built against Debian's library
//! runs on it through `LD_LIBRARY_PATH` (`capi/libdir.sh` lays out every
//! libevent library name). rvent does the work; this crate only translates:
//! C pointers to rvent handles, C callbacks to closures, timevals to
//! durations, `Result`s to libevent's -1 / NULL.
//!
//! # The rules every export keeps
//! - **No panic crosses into C.** Every function body runs under
//!   `ffi`, which turns a panic (rvent's debug mode reports misuse by
//!   panicking) into the function's failure value, as libevent returns -1
//!   or NULL for bad input.
//! - **One `&mut EventBase` at a time.** While a callback runs, rvent holds
//!   the base mutably and hands the callback `&mut EventBase`; C code in the
//!   callback calls back into this library with the base's pointer, so the
//!   base records the callback's reference ([`base::CBase`]'s `cur`) and
//!   every export reaches the base through it, never through a second
//!   borrow.
//! - **Memory from the memory functions.** The shim's own records come
//!   from [`mem`], i.e. `event_set_mem_functions`' hooks when installed,
//!   like rvent's blocks.
//!
//! # Safety
//! The exported functions are `unsafe extern "C"`: their contract is
//! libevent's documented C API (valid pointers to objects this library
//! made, NUL-terminated strings, buffers of the stated length). Within it,
//! nothing here reads freed memory: a `struct event` is trusted only when
//! it carries the seal of its own address, and an event whose base was
//! freed is recognised by the base's serial.
#![allow(clippy::missing_safety_doc)]

pub mod abi;
pub mod base;
pub mod buffer;
pub mod buffer_extra;
pub mod bufferevent;
pub mod compat;
pub mod data;
pub mod deferred;
pub mod event;
pub mod evutil;
pub mod filter;
pub mod http;
pub mod http_client;
pub mod http_parse;
pub mod keyval;
pub mod listener;
pub mod log;
pub mod mem;
pub mod pair;
pub mod ratelimit;
pub mod uri;

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs an export's body; a panic becomes `fail` (the panic hook has
/// printed its message already).
#[inline(always)]
pub(crate) fn ffi<T>(fail: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fail)
}

/// `0` for `Ok`, `-1` for `Err`: libevent's convention.
#[inline(always)]
pub(crate) fn status<T, E>(r: Result<T, E>) -> std::ffi::c_int {
    if r.is_ok() { 0 } else { -1 }
}
