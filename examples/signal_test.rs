//! A signal event (libevent's `sample/signal-test.c`, tutorial ch. 6):
//! catches SIGINT through the event loop instead of a raw handler, prints
//! each one, and on the second deletes its own event — with nothing left
//! pending, the loop ends and the program exits with status 0.
//!
//! ```sh
//! cargo run --example signal_test
//! ```
//!
//! Press Ctrl-C twice, or from another shell send `kill -INT <pid>` twice.
//! It prints `waiting for SIGINT (pid <pid>)` once the event is added, so
//! scripts know when a signal will be caught.

use std::error::Error;
use std::io::Write;

use rvent::{Event, EventBase};

fn main() -> Result<(), Box<dyn Error>> {
    if let Some(arg) = std::env::args().nth(1) {
        return Err(format!("unexpected argument {arg:?}\nusage: signal_test").into());
    }
    let mut base = EventBase::new()?;

    let mut caught = 0;
    let sigint = Event::signal(&mut base, libc::SIGINT, move |base, ev, signum, _what| {
        caught += 1;
        println!("signal_cb: got signal {signum} ({caught} of 2)");
        let _ = std::io::stdout().flush();
        if caught >= 2 {
            // With its only event deleted the loop has nothing left to
            // wait for, so `dispatch` returns.
            if let Err(e) = ev.del(base) {
                eprintln!("signal_test: cannot delete the signal event: {e}");
                base.loopbreak();
            }
        }
    })?;
    sigint.add(&mut base, None)?;

    println!("waiting for SIGINT (pid {})", std::process::id());
    std::io::stdout().flush()?;
    base.dispatch()?;
    println!("done");
    Ok(())
}
