//! The tutorial's `event_set_mem_functions` example (9.3) in Rust:
//! replacement `malloc` / `realloc` / `free` that put a 16-byte size header
//! before each block and keep `total_allocated`, installed before anything
//! else in rvent. A small workload — timers, then a socketpair echo driven
//! by events — prints the bytes rvent holds after each stage, ending with 0
//! once the base is dropped (freed events' callbacks wait in the base's
//! pool until then).
//!
//! Run: `cargo run --example count_bytes`

#[path = "support/mod.rs"]
mod support;

use std::error::Error;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use std::{cell::Cell, ptr};

use rvent::{Ev, Event, EventBase, MEM_ALIGN};

use support::outln;

const NAME: &str = "count_bytes";
const USAGE: &str = "\
usage: count_bytes

Counts the bytes rvent allocates through replacement memory functions.

  -h, --help  print this help";

/// The chapter's `ALIGNMENT`: the header size that keeps the pointer handed
/// to rvent aligned like `malloc`'s (16 bytes on x86-64).
const ALIGNMENT: usize = MEM_ALIGN;

/// Bytes rvent holds. The chapter uses a plain `size_t` and notes that a
/// multi-threaded program needs a lock; an atomic does that job here.
static TOTAL_ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe fn replacement_malloc(sz: usize) -> *mut u8 {
    let Some(full) = sz.checked_add(ALIGNMENT) else {
        return ptr::null_mut(); // never a wrapped size
    };
    // SAFETY: plain C malloc; the result is checked for null.
    let chunk = unsafe { libc::malloc(full) }.cast::<u8>();
    if chunk.is_null() {
        return chunk;
    }
    TOTAL_ALLOCATED.fetch_add(sz, Ordering::Relaxed);
    // SAFETY: `chunk` holds at least ALIGNMENT bytes and malloc aligns it
    // for a usize; the returned pointer stays inside the block.
    unsafe {
        chunk.cast::<usize>().write(sz);
        chunk.add(ALIGNMENT)
    }
}

unsafe fn replacement_realloc(ptr: *mut u8, sz: usize) -> *mut u8 {
    if ptr.is_null() {
        // SAFETY: realloc(NULL, sz) acts as malloc(sz).
        return unsafe { replacement_malloc(sz) };
    }
    if sz == 0 {
        // SAFETY: realloc(ptr, 0) acts as free(ptr).
        unsafe { replacement_free(ptr) };
        return ptr::null_mut();
    }
    let Some(full) = sz.checked_add(ALIGNMENT) else {
        return ptr::null_mut();
    };
    // SAFETY: `ptr` came from the functions above, so its header sits
    // ALIGNMENT bytes before it, at the start of a C-malloc'd block.
    unsafe {
        let chunk = ptr.sub(ALIGNMENT);
        let old_size = chunk.cast::<usize>().read();
        let chunk = libc::realloc(chunk.cast(), full).cast::<u8>();
        if chunk.is_null() {
            return chunk;
        }
        chunk.cast::<usize>().write(sz);
        TOTAL_ALLOCATED.fetch_add(sz, Ordering::Relaxed);
        TOTAL_ALLOCATED.fetch_sub(old_size, Ordering::Relaxed);
        chunk.add(ALIGNMENT)
    }
}

unsafe fn replacement_free(ptr: *mut u8) {
    // rvent never calls free(NULL), but other callers might.
    if ptr.is_null() {
        return;
    }
    // SAFETY: as in `replacement_realloc`.
    unsafe {
        let chunk = ptr.sub(ALIGNMENT);
        TOTAL_ALLOCATED.fetch_sub(chunk.cast::<usize>().read(), Ordering::Relaxed);
        libc::free(chunk.cast());
    }
}

fn start_counting_bytes() -> rvent::Result<()> {
    // SAFETY: the three functions keep the contract: C malloc's 16-byte
    // alignment is preserved by the 16-byte header, realloc handles NULL
    // and 0, and they are thread-safe.
    unsafe { rvent::set_mem_functions(replacement_malloc, replacement_realloc, replacement_free) }
}

fn report(stage: &str) -> Result<(), Box<dyn Error>> {
    outln!(
        "{stage:<40} {:>7} bytes allocated",
        TOTAL_ALLOCATED.load(Ordering::Relaxed)
    )
    .map_err(support::stdout_error)
}

fn main() {
    let mut args = support::Args::new(NAME, USAGE);
    if let Some(arg) = args.next_flag() {
        args.unexpected(&arg);
    }
    support::run(NAME, count);
}

fn count() -> Result<(), Box<dyn Error>> {
    // Before any other rvent call: the hooks must see every block.
    start_counting_bytes()?;
    report("hooks installed")?;

    let mut base = EventBase::new()?;
    report("event base created")?;

    // Stage 1: timers.
    let fired = Rc::new(Cell::new(0));
    let mut timers = Vec::new();
    for ms in [1u64, 2, 3] {
        let f = Rc::clone(&fired);
        let t = Event::timer(&mut base, move |_, _, _, _| f.set(f.get() + 1))?;
        t.add(&mut base, Some(Duration::from_millis(ms)))?;
        timers.push(t);
    }
    report("3 timers added")?;
    base.dispatch()?;
    report(&format!("{} timers fired", fired.get()))?;

    // Stage 2: a socketpair echo. `server` echoes what it reads; `client`
    // counts the echoed bytes and stops the loop once all came back.
    let (client, server) = UnixStream::pair()?;
    client.set_nonblocking(true)?;
    server.set_nonblocking(true)?;
    const MESSAGE: &[u8] = b"hello, rvent";
    let echo_sock = server.try_clone()?;
    let echo = Event::new(
        &mut base,
        server.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |_, _, _, _| {
            let mut buf = [0u8; 256];
            if let Ok(n) = (&echo_sock).read(&mut buf) {
                let _ = (&echo_sock).write_all(&buf[..n]);
            }
        },
    )?;
    let back = Rc::new(Cell::new(0usize));
    let (b, reader) = (Rc::clone(&back), client.try_clone()?);
    let reply = Event::new(
        &mut base,
        client.as_raw_fd(),
        Ev::READ | Ev::PERSIST,
        move |base, _, _, _| {
            let mut buf = [0u8; 256];
            if let Ok(n) = (&reader).read(&mut buf) {
                b.set(b.get() + n);
            }
            if b.get() >= MESSAGE.len() {
                base.loopbreak();
            }
        },
    )?;
    echo.add(&mut base, None)?;
    reply.add(&mut base, None)?;
    report("echo events added")?;
    (&client).write_all(MESSAGE)?;
    base.dispatch()?;
    report(&format!("{} bytes echoed", back.get()))?;

    // Stage 3: teardown.
    for ev in timers.into_iter().chain([echo, reply]) {
        ev.free(&mut base)?;
    }
    report("events freed")?;
    // Freed callbacks stay in the base's pool, ready for new events, until
    // the base goes.
    outln!(
        "{:<40} {:>7} bytes cached in the pool",
        "  of which",
        base.mem_stats().pool_bytes_cached
    )
    .map_err(support::stdout_error)?;
    drop(base);
    report("event base dropped")?;

    let left = TOTAL_ALLOCATED.load(Ordering::Relaxed);
    if left != 0 {
        return Err(format!("{left} bytes still allocated after the base was dropped").into());
    }
    Ok(())
}
