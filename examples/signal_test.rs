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

#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::error::Error;
use std::io;
use std::rc::Rc;

use rvent::{Event, EventBase};

use support::outln;

const NAME: &str = "signal_test";
const USAGE: &str = "\
usage: signal_test

Catches SIGINT through the event loop; the second one ends it.

  -h, --help  print this help";

fn main() {
    let mut args = support::Args::new(NAME, USAGE);
    if let Some(arg) = args.next_flag() {
        args.unexpected(&arg);
    }
    support::run(NAME, wait_for_sigints);
}

fn wait_for_sigints() -> Result<(), Box<dyn Error>> {
    let mut base = EventBase::new()?;

    let mut caught = 0;
    // A failed write to stdout ends the loop (and, for a closed pipe, the
    // program, quietly).
    let write_error: Rc<RefCell<Option<io::Error>>> = Rc::default();
    let failed = Rc::clone(&write_error);
    let sigint = Event::signal(&mut base, libc::SIGINT, move |base, ev, signum, _what| {
        caught += 1;
        if let Err(e) = outln!("signal_cb: got signal {signum} ({caught} of 2)") {
            *failed.borrow_mut() = Some(e);
            base.loopbreak();
        } else if caught >= 2 {
            // With its only event deleted the loop has nothing left to
            // wait for, so `dispatch` returns.
            if let Err(e) = ev.del(base) {
                eprintln!("signal_test: cannot delete the signal event: {e}");
                base.loopbreak();
            }
        }
    })?;
    sigint.add(&mut base, None)?;

    outln!("waiting for SIGINT (pid {})", std::process::id()).map_err(support::stdout_error)?;
    base.dispatch()?;
    if let Some(e) = write_error.take() {
        return Err(support::stdout_error(e));
    }
    outln!("done").map_err(support::stdout_error)?;
    Ok(())
}
