//! Helper threads started with `pthread_create`, for the one job rvent
//! runs off the loop: a host-name lookup
//! ([`connect_hostname`](crate::Bufferevent::connect_hostname)).
//!
//! `std::thread::spawn` takes its `Thread`, result packet and boxed
//! closure from Rust's global allocator; here the closure's block comes
//! from the memory functions (`RventAlloc`) and nothing else is
//! allocated, so a lookup keeps no global-allocator block. The thread is
//! detached: it frees its closure when it ends, and nobody joins it.

use std::ffi::c_void;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use allocator_api2::boxed::Box;

use crate::error::{Error, Result};
use crate::mem::RventAlloc;

/// Runs `f` on a new detached thread.
///
/// # Errors
/// [`Error::Alloc`] if the closure's block cannot be allocated;
/// [`Error::Io`] if the thread cannot be started. Either way `f` is
/// dropped on this thread and nothing was started.
pub(crate) fn spawn_detached<F: FnOnce() + Send + 'static>(f: F) -> Result<()> {
    let job = Box::try_new_in(f, RventAlloc).map_err(|_| Error::Alloc)?;
    let (job, _) = Box::into_raw_with_allocator(job);
    let mut tid: libc::pthread_t = 0;
    // SAFETY: `tid` is writable; default attributes (null); `run::<F>`
    // takes the pointer it is given back as the box of an `F`, which is
    // what `job` is.
    let rc = unsafe { libc::pthread_create(&mut tid, ptr::null(), run::<F>, job.cast()) };
    if rc != 0 {
        // SAFETY: no thread started, so `job` is still this function's
        // alone, from `into_raw_with_allocator` with `RventAlloc`.
        drop(unsafe { Box::from_raw_in(job, RventAlloc) });
        return Err(Error::Io(io::Error::from_raw_os_error(rc)));
    }
    // SAFETY: `tid` is the thread just started, joinable and not yet
    // detached or joined; it releases its resources when it ends.
    unsafe { libc::pthread_detach(tid) };
    Ok(())
}

/// The thread's entry: takes the closure's box back and runs it. A panic
/// stops at this frame (it must not unwind into C); the lookup's timeout
/// reports it.
extern "C" fn run<F: FnOnce() + Send + 'static>(job: *mut c_void) -> *mut c_void {
    // SAFETY: `job` is the box `spawn_detached` handed over (an `F` from
    // `RventAlloc`), given to this thread only and taken back once.
    let f = unsafe { Box::from_raw_in(job.cast::<F>(), RventAlloc) };
    let _ = panic::catch_unwind(AssertUnwindSafe(move || Box::into_inner(f)()));
    ptr::null_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_the_closure_and_drops_its_captures() {
        let (tx, rx) = mpsc::channel();
        let witness = std::sync::Arc::new(());
        let w = witness.clone();
        spawn_detached(move || {
            let _w = w;
            tx.send(7).unwrap();
        })
        .unwrap();
        assert_eq!(rx.recv().unwrap(), 7);
        // The closure (and its clone of `witness`) is freed as the thread ends.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::sync::Arc::strong_count(&witness) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "capture never dropped"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_panic_stays_on_the_thread() {
        let (tx, rx) = mpsc::channel::<()>();
        spawn_detached(move || {
            let _tx = tx;
            panic!("on the helper thread");
        })
        .unwrap();
        // The sender is dropped while unwinding: the channel closes.
        assert!(rx.recv().is_err());
    }
}
