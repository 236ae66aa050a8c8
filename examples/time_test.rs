//! A persistent timer (libevent's `sample/time-test.c`, tutorial ch. 6):
//! every interval the callback prints the wall-clock second and how long it
//! has been since the previous call, showing that a persistent timeout
//! re-arms itself from its old deadline instead of drifting.
//!
//! ```sh
//! cargo run --release --example time_test -- -n 3
//! ```
//!
//! Flags: `-n N` stops after N firings (default: run until Ctrl-C);
//! `-i MS` sets the interval in milliseconds (default 2000). Ctrl-C
//! (SIGINT) stops it cleanly, with exit status 0.

#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::error::Error;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rvent::{Ev, Event, EventBase};

use support::outln;

/// Command-line options.
struct Options {
    /// Stop after this many firings (`-n`); `None` runs until SIGINT.
    count: Option<u64>,
    /// The timer's period (`-i`, in milliseconds).
    interval: Duration,
}

const NAME: &str = "time_test";
const USAGE: &str = "\
usage: time_test [-n COUNT] [-i INTERVAL_MS]

A persistent timer that prints a line each time it fires.

  -n COUNT        stop after COUNT firings (default: run until Ctrl-C)
  -i INTERVAL_MS  the timer's period in milliseconds (default 2000)
  -h, --help      print this help";

fn parse_args() -> Options {
    let mut opts = Options {
        count: None,
        interval: Duration::from_secs(2),
    };
    let mut args = support::Args::new(NAME, USAGE);
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "-n" => opts.count = Some(args.value("-n", "count")),
            "-i" => opts.interval = Duration::from_millis(args.value("-i", "interval")),
            other => args.unexpected(other),
        }
    }
    opts
}

fn main() {
    let opts = parse_args();
    support::run(NAME, || tick(&opts));
}

fn tick(opts: &Options) -> Result<(), Box<dyn Error>> {
    let mut base = EventBase::new()?;

    let mut last = Instant::now();
    let mut fired = 0u64;
    let limit = opts.count;
    // A failed write to stdout ends the loop; `support::run` then exits
    // quietly if the reader went away (`time_test | head -1`).
    let write_error: Rc<RefCell<Option<io::Error>>> = Rc::default();
    let failed = Rc::clone(&write_error);
    let timer = Event::new(
        &mut base,
        None,
        Ev::PERSIST,
        move |base, _ev, _fd, _what| {
            let now = Instant::now();
            let elapsed = now.duration_since(last).as_secs_f64();
            last = now;
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if let Err(e) = outln!("timeout_cb called at {secs}: {elapsed:.3} seconds elapsed.") {
                *failed.borrow_mut() = Some(e);
                base.loopbreak();
                return;
            }
            fired += 1;
            if limit.is_some_and(|n| fired >= n) {
                base.loopbreak();
            }
        },
    )?;

    let sigint = Event::signal(&mut base, libc::SIGINT, |base, _ev, _sig, _what| {
        base.loopbreak();
    })?;
    sigint.add(&mut base, None)?;

    if opts.count != Some(0) {
        timer.add(&mut base, Some(opts.interval))?;
        base.dispatch()?;
    }
    match write_error.take() {
        Some(e) => Err(support::stdout_error(e)),
        None => Ok(()),
    }
}
