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

use std::error::Error;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rvent::{Ev, Event, EventBase};

/// Command-line options.
struct Options {
    /// Stop after this many firings (`-n`); `None` runs until SIGINT.
    count: Option<u64>,
    /// The timer's period (`-i`, in milliseconds).
    interval: Duration,
}

const USAGE: &str = "usage: time_test [-n COUNT] [-i INTERVAL_MS]";

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        count: None,
        interval: Duration::from_secs(2),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "-n" => {
                let v = value("-n")?;
                let n = v
                    .parse()
                    .map_err(|e| format!("bad count {v:?}: {e}\n{USAGE}"))?;
                opts.count = Some(n);
            }
            "-i" => {
                let v = value("-i")?;
                let ms = v
                    .parse()
                    .map_err(|e| format!("bad interval {v:?}: {e}\n{USAGE}"))?;
                opts.interval = Duration::from_millis(ms);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(opts)
}

fn main() -> Result<(), Box<dyn Error>> {
    let opts = parse_args()?;
    let mut base = EventBase::new()?;

    let mut last = Instant::now();
    let mut fired = 0u64;
    let limit = opts.count;
    let timer = Event::new(&mut base, -1, Ev::PERSIST, move |base, _ev, _fd, _what| {
        let now = Instant::now();
        let elapsed = now.duration_since(last).as_secs_f64();
        last = now;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        println!("timeout_cb called at {secs}: {elapsed:.3} seconds elapsed.");
        // A closed stdout (`time_test | head -1`) is no reason to panic.
        let _ = std::io::stdout().flush();
        fired += 1;
        if limit.is_some_and(|n| fired >= n) {
            base.loopbreak();
        }
    })?;

    let sigint = Event::signal(&mut base, libc::SIGINT, |base, _ev, _sig, _what| {
        base.loopbreak();
    })?;
    sigint.add(&mut base, None)?;

    if opts.count != Some(0) {
        timer.add(&mut base, Some(opts.interval))?;
        base.dispatch()?;
    }
    Ok(())
}
