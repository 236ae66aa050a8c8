//! timers: timer add / delete / fire cost, the anchor benchmark
//! `../shared/anchor/timers.c` on rvent (see `benches/README.md`).
//!
//! M pure timer events are created once (untimed). Each round times four
//! phases, reported in ns per timer:
//!
//! * `add`: `Event::add` all M with random timeouts in [1 s, 61 s) at µs
//!   resolution (pre-drawn: `1000000 + next() % 60000000` µs, index order);
//! * `del`: `Event::del` all M in creation order (random heap positions);
//! * `add0`: `Event::add` all M with a zero timeout;
//! * `fire`: ONE `EventBase::dispatch()` that runs all M callbacks and
//!   returns `LoopStatus::NoEvents` because nothing is pending any more.
//!
//! libevent → rvent: `event_assign(ev, base, -1, 0, cb, NULL)` →
//! `Event::timer` (the closure captures nothing, so boxing it allocates
//! nothing, like `event_assign` into a pre-allocated pool), `event_add(ev,
//! &tv)` → `Event::add(Some(tv))`, `event_del` → `Event::del`,
//! `event_base_loop(base, 0)` → `EventBase::dispatch`.
//!
//! Output (stdout): `round=<i> add_ns=<x> del_ns=<x> add0_ns=<x> fire_ns=<x>`
//! per round, then
//! `timers m=<M> r=<R> add_ns=<x> del_ns=<x> add0_ns=<x> fire_ns=<x>`.

mod common;

use std::hint::black_box;
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Opt, Out, Rng};
use rvent::{Event, EventBase, LoopStatus};

/// Callbacks run (timers.c's `n_fired`). A plain load + store, not an
/// atomic read-modify-write: one thread only, and as cheap as `n_fired++`.
static N_FIRED: AtomicU64 = AtomicU64::new(0);

// The timed loops ignore each call's `Result`, as timers.c ignores
// `event_add` / `event_del` return values; instead `time_phase` checks the
// base's pending count once the clock has stopped, which catches any failed
// call without per-call bookkeeping in the measured region.

/// Adds every timer with its pre-drawn timeout.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_add(base: &mut EventBase, evs: &[Event], timeouts: &[Duration]) {
    for (ev, &tv) in evs.iter().zip(timeouts) {
        let _ = ev.add(base, Some(tv));
    }
    black_box(&*base);
}

/// Deletes every timer in creation order.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_del(base: &mut EventBase, evs: &[Event]) {
    for ev in evs {
        let _ = ev.del(base);
    }
    black_box(&*base);
}

/// Adds every timer with a zero timeout.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_add0(base: &mut EventBase, evs: &[Event]) {
    for ev in evs {
        let _ = ev.add(base, Some(Duration::ZERO));
    }
    black_box(&*base);
}

/// One loop run that fires every timer and returns once none is pending.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_fire(base: &mut EventBase) -> rvent::Result<LoopStatus> {
    black_box(base.dispatch())
}

/// Runs one phase; returns ns per timer. `what` names the phase in the
/// error message when some operation failed.
fn time_phase(n: usize, what: &str, f: impl FnOnce() -> usize) -> f64 {
    let t0 = Instant::now();
    let failed = f();
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    if failed != 0 {
        eprintln!("timers: {failed} of {n} operations failed in phase {what}");
        process::exit(1);
    }
    ns
}

fn usage() -> ! {
    let prog = std::env::args().next().unwrap_or_else(|| "timers".into());
    eprintln!(
        "usage: {prog} [-m timers] [-r rounds]\n  \
         -m M   number of timers (default 1000000)\n  \
         -r R   rounds (default 5)"
    );
    process::exit(2);
}

fn main() {
    let (mut n_timers, mut rounds) = (1_000_000i64, 5i64);
    for opt in common::getopt("m:r:h") {
        match opt {
            Opt::Flag('m', Some(v)) => n_timers = common::parse_long('m', &v, 1, 100_000_000),
            Opt::Flag('r', Some(v)) => rounds = common::parse_long('r', &v, 1, 1_000_000),
            _ => usage(),
        }
    }
    let (m, rounds) = (n_timers as usize, rounds as usize);

    let mut base = match EventBase::new() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("EventBase::new failed: {e}");
            process::exit(1);
        }
    };
    eprintln!(
        "# timers: rvent {}, backend {}",
        env!("CARGO_PKG_VERSION"),
        base.method()
    );

    let mut rng = Rng::new();
    let mut evs = Vec::with_capacity(m);
    let mut timeouts = Vec::with_capacity(m);
    for _ in 0..m {
        let us = 1_000_000 + rng.below(60_000_000);
        let ev = Event::timer(&mut base, |_base, _ev, _fd, _what| {
            N_FIRED.store(N_FIRED.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        });
        match ev {
            Ok(ev) => evs.push(ev),
            Err(e) => {
                eprintln!("Event::timer failed: {e}");
                process::exit(1);
            }
        }
        timeouts.push(Duration::from_micros(us));
    }

    let mut out = Out::new();
    let (mut add, mut del, mut add0, mut fire) = (vec![], vec![], vec![], vec![]);
    for r in 0..rounds {
        add.push(time_phase(m, "add", || {
            bench_timed_add(&mut base, &evs, &timeouts);
            m - base.num_pending()
        }));
        del.push(time_phase(m, "del", || {
            bench_timed_del(&mut base, &evs);
            base.num_pending()
        }));
        add0.push(time_phase(m, "add0", || {
            bench_timed_add0(&mut base, &evs);
            m - base.num_pending()
        }));
        N_FIRED.store(0, Ordering::Relaxed);
        let mut status = None;
        fire.push(time_phase(m, "fire", || {
            status = Some(bench_timed_fire(&mut base));
            0
        }));
        let n_fired = N_FIRED.load(Ordering::Relaxed);
        if n_fired != m as u64 {
            eprintln!("timers: fired {n_fired} of {m} timers");
            process::exit(1);
        }
        if !matches!(status, Some(Ok(LoopStatus::NoEvents))) {
            eprintln!("timers: dispatch returned {status:?}, expected Ok(NoEvents)");
            process::exit(1);
        }
        out.line(format_args!(
            "round={} add_ns={:.1} del_ns={:.1} add0_ns={:.1} fire_ns={:.1}",
            r + 1,
            add[r],
            del[r],
            add0[r],
            fire[r]
        ));
    }
    out.line(format_args!(
        "timers m={} r={} add_ns={:.1} del_ns={:.1} add0_ns={:.1} fire_ns={:.1}",
        m,
        rounds,
        common::median_of(&add),
        common::median_of(&del),
        common::median_of(&add0),
        common::median_of(&fire)
    ));
    out.flush();

    // All timers have fired, so none is pending: safe to release.
    for ev in evs {
        let _ = ev.free(&mut base);
    }
}
