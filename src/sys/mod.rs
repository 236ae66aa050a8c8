//! The only place rvent makes raw system calls: epoll registrations on
//! mio's epoll fd, `poll(2)` and its wake-up counter, the signal handler
//! and its self-pipe, descriptor flags, environment lookups.
//!
//! Everything here is a thin, safe wrapper over one libc call; callers never
//! see a raw pointer.
#![allow(unsafe_code)]

pub(crate) mod env;
pub(crate) mod epoll;
pub(crate) mod eventfd;
pub(crate) mod fd;
pub(crate) mod io;
pub(crate) mod poll;
pub(crate) mod resolve;
pub(crate) mod signal;
pub(crate) mod socket;
pub(crate) mod thread;
pub(crate) mod time;
pub(crate) mod timerfd;
