//! Fuzzes the event API (tutorial ch. 5–6) with programs of operations on
//! one base: create timers and I/O events on a few socketpairs, add (with a
//! small timeout, none, or a common timeout), del, remove_timer, free,
//! activate, priorities, once, loopexit, non-blocking loop runs, and bytes
//! written to or drained from the sockets. Callbacks run small actions of
//! their own (free or delete themselves or others, activate, break…).
//!
//! Oracles, after every operation and inside every callback:
//! - `EventBase::assert_invariants` (heap order, counts, back-indices);
//! - handle liveness matches a model: a handle the program freed is stale
//!   for every call, a live one never is;
//! - `pending` agrees with what just succeeded (`del` leaves nothing,
//!   `add` with a timeout schedules one, `remove_timer` clears the
//!   deadline, `active` shows its result flags);
//! - in its own callback an event is the running event and, unless
//!   persistent, no longer pending;
//! - nothing panics: errors from valid calls are fine.
//!
//! Loops run with `NONBLOCK` and a callback budget: once it is spent,
//! callbacks call `loopbreak`, so level-triggered fds, zero-interval
//! persistent timers or callbacks activating each other cannot spin
//! forever (they would in libevent too).

#![no_main]

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rvent::{CommonTimeout, Config, Error, Ev, Event, EventBase, LoopFlags};

/// Socketpairs per program.
const PAIRS: usize = 3;
/// Callbacks per loop run before they start calling `loopbreak`.
const BUDGET: u32 = 64;
/// Every flag bit, for `pending` queries.
const ALL: Ev = Ev::from_bits_retain(0xff);

#[derive(Arbitrary, Debug)]
struct Program {
    /// `set_max_dispatch_interval(None, Some(max_callbacks), min_priority)`.
    limits: Option<(u8, u8)>,
    ops: Vec<Op>,
}

/// What an I/O event watches.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum IoKind {
    Read,
    Write,
    ReadWrite,
    ReadClosed,
}

impl IoKind {
    fn ev(self) -> Ev {
        match self {
            IoKind::Read => Ev::READ,
            IoKind::Write => Ev::WRITE,
            IoKind::ReadWrite => Ev::READ | Ev::WRITE,
            IoKind::ReadClosed => Ev::READ | Ev::CLOSED,
        }
    }
}

/// What a callback does when it runs (handles are indices into the
/// program's handle list, taken modulo its length).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Action {
    Nothing,
    FreeSelf,
    DelSelf,
    AddSelf { timeout: Option<u8> },
    Activate { ev: u8 },
    Del { ev: u8 },
    Free { ev: u8 },
    Add { ev: u8, timeout: Option<u8> },
    Break,
    Continue,
    Exit,
    Drain { pair: u8 },
}

#[derive(Arbitrary, Debug)]
enum Op {
    NewTimer {
        persist: bool,
        action: Action,
    },
    NewIo {
        pair: u8,
        kind: IoKind,
        persist: bool,
        et: bool,
        action: Action,
    },
    Add {
        ev: u8,
        timeout: Option<u8>,
    },
    InitCommon {
        us: u8,
    },
    AddCommon {
        ev: u8,
        ct: u8,
    },
    Del {
        ev: u8,
    },
    RemoveTimer {
        ev: u8,
    },
    Free {
        ev: u8,
    },
    Active {
        ev: u8,
        res: u8,
    },
    SetPriority {
        ev: u8,
        pri: u8,
    },
    PriorityInit {
        n: u8,
    },
    Once {
        pair: Option<u8>,
        kind: IoKind,
        timeout: Option<u8>,
        action: Action,
    },
    LoopExit {
        delay: Option<u8>,
    },
    Run {
        once: bool,
        no_exit_on_empty: bool,
    },
    Write {
        pair: u8,
    },
    Drain {
        pair: u8,
    },
    ShutdownPeer {
        pair: u8,
    },
    ActiveByFd {
        pair: u8,
        what: u8,
    },
    Sleep {
        us: u8,
    },
    Inspect,
}

/// A timeout from a fuzzed byte: 0 to ~1 ms, so some expire while the
/// program runs and some do not.
fn micros(b: u8) -> Duration {
    Duration::from_micros(u64::from(b) * 4)
}

/// State shared by the driver and the callbacks.
struct World {
    /// Every event the program made, with whether it should be live.
    handles: Vec<(Event, bool)>,
    /// `(our end, watched end)` of each socketpair.
    pairs: Vec<(UnixStream, UnixStream)>,
    budget: u32,
}

type Shared = Rc<RefCell<World>>;

impl World {
    fn pick(&self, i: u8) -> Option<(usize, Event)> {
        if self.handles.is_empty() {
            return None;
        }
        let at = usize::from(i) % self.handles.len();
        Some((at, self.handles[at].0))
    }

    fn watched_fd(&self, pair: u8) -> RawFd {
        self.pairs[usize::from(pair) % PAIRS].1.as_raw_fd()
    }

    fn drain(&mut self, pair: u8) {
        let mut buf = [0u8; 4096];
        let r = &mut self.pairs[usize::from(pair) % PAIRS].1;
        while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// Checks a call's result against the model: stale exactly when freed.
fn check<T>(world: &Shared, at: usize, r: &rvent::Result<T>, op: &str) {
    let (ev, live) = world.borrow().handles[at];
    match r {
        Err(Error::StaleEvent) => assert!(!live, "{op} on live {ev:?} returned StaleEvent"),
        _ => assert!(live, "{op} on freed {ev:?} did not return StaleEvent"),
    }
}

/// `free`, keeping the model in step.
fn free(base: &mut EventBase, world: &Shared, at: usize, ev: Event) {
    let r = ev.free(base);
    check(world, at, &r, "free");
    if r.is_ok() {
        world.borrow_mut().handles[at].1 = false;
        assert!(!ev.is_live(base), "{ev:?} live after free");
        assert!(matches!(ev.pending(base, ALL), Err(Error::StaleEvent)));
    }
}

fn del(base: &mut EventBase, world: &Shared, at: usize, ev: Event) {
    let r = ev.del(base);
    check(world, at, &r, "del");
    if r.is_ok() {
        let (flags, expires) = ev.pending(base, ALL).expect("pending after del");
        assert!(
            flags.is_empty() && expires.is_none(),
            "{ev:?} still {flags:?} after del"
        );
    }
}

fn add(base: &mut EventBase, world: &Shared, at: usize, ev: Event, timeout: Option<u8>) {
    let r = ev.add(base, timeout.map(micros));
    check(world, at, &r, "add");
    if r.is_ok() {
        let (flags, expires) = ev.pending(base, ALL).expect("pending after add");
        let io = ev.events(base).expect("events") & (Ev::READ | Ev::WRITE | Ev::CLOSED);
        assert!(
            flags.contains(io),
            "{ev:?} added but pending only for {flags:?}"
        );
        if timeout.is_some() {
            assert!(
                flags.contains(Ev::TIMEOUT) && expires.is_some(),
                "{ev:?}: no timeout"
            );
        }
    }
}

/// Runs a callback's action. Every callback spends budget; a spent budget
/// breaks the loop.
fn act(base: &mut EventBase, world: &Shared, me: Option<Event>, action: Action) {
    base.assert_invariants();
    {
        let mut w = world.borrow_mut();
        if w.budget == 0 {
            base.loopbreak();
            return;
        }
        w.budget -= 1;
    }
    let me_at = me.and_then(|me| {
        let w = world.borrow();
        w.handles.iter().position(|&(ev, _)| ev == me)
    });
    let pick = |i: u8| world.borrow().pick(i);
    match action {
        Action::Nothing => {}
        Action::FreeSelf => {
            if let (Some(at), Some(me)) = (me_at, me) {
                free(base, world, at, me);
            }
        }
        Action::DelSelf => {
            if let (Some(at), Some(me)) = (me_at, me) {
                del(base, world, at, me);
            }
        }
        Action::AddSelf { timeout } => {
            if let (Some(at), Some(me)) = (me_at, me) {
                add(base, world, at, me, timeout);
            }
        }
        Action::Activate { ev } => {
            if let Some((at, ev)) = pick(ev) {
                let r = ev.active(base, Ev::READ);
                check(world, at, &r, "active");
            }
        }
        Action::Del { ev } => {
            if let Some((at, ev)) = pick(ev) {
                del(base, world, at, ev);
            }
        }
        Action::Free { ev } => {
            if let Some((at, ev)) = pick(ev) {
                free(base, world, at, ev);
            }
        }
        Action::Add { ev, timeout } => {
            if let Some((at, ev)) = pick(ev) {
                add(base, world, at, ev, timeout);
            }
        }
        Action::Break => base.loopbreak(),
        Action::Continue => base.loopcontinue(),
        Action::Exit => {
            let _ = base.loopexit(None);
        }
        Action::Drain { pair } => world.borrow_mut().drain(pair),
    }
    base.assert_invariants();
}

fn new_event(base: &mut EventBase, world: &Shared, fd: Option<RawFd>, what: Ev, action: Action) {
    let w = Rc::clone(world);
    let persist = what.contains(Ev::PERSIST);
    let r = Event::new(base, fd, what, move |base, ev, _fd, _res| {
        assert_eq!(base.running_event(), Some(ev), "running event");
        if !persist {
            // Tutorial 6.7: a non-persistent event stops being pending
            // before its callback runs.
            let (flags, expires) = ev.pending(base, ALL).expect("pending in own callback");
            assert!(
                flags.is_empty() && expires.is_none(),
                "{ev:?} still {flags:?}"
            );
        }
        act(base, &w, Some(ev), action);
    });
    if let Ok(ev) = r {
        world.borrow_mut().handles.push((ev, true));
    }
}

fn step(base: &mut EventBase, world: &Shared, commons: &mut Vec<CommonTimeout>, op: Op) {
    let pick = |i: u8| world.borrow().pick(i);
    match op {
        Op::NewTimer { persist, action } => {
            let what = if persist { Ev::PERSIST } else { Ev::empty() };
            new_event(base, world, None, what, action);
        }
        Op::NewIo {
            pair,
            kind,
            persist,
            et,
            action,
        } => {
            let mut what = kind.ev();
            if persist {
                what |= Ev::PERSIST;
            }
            if et {
                what |= Ev::ET;
            }
            let fd = world.borrow().watched_fd(pair);
            new_event(base, world, Some(fd), what, action);
        }
        Op::Add { ev, timeout } => {
            if let Some((at, ev)) = pick(ev) {
                add(base, world, at, ev, timeout);
            }
        }
        Op::InitCommon { us } => {
            if let Ok(ct) = base.init_common_timeout(micros(us)) {
                commons.push(ct);
            }
        }
        Op::AddCommon { ev, ct } => {
            if let (Some((at, ev)), false) = (pick(ev), commons.is_empty()) {
                let ct = commons[usize::from(ct) % commons.len()];
                let r = ev.add_common(base, ct);
                check(world, at, &r, "add_common");
                if r.is_ok() {
                    let (flags, _) = ev.pending(base, Ev::TIMEOUT).expect("pending");
                    assert!(flags.contains(Ev::TIMEOUT), "{ev:?}: no common timeout");
                }
            }
        }
        Op::Del { ev } => {
            if let Some((at, ev)) = pick(ev) {
                del(base, world, at, ev);
            }
        }
        Op::RemoveTimer { ev } => {
            if let Some((at, ev)) = pick(ev) {
                let r = ev.remove_timer(base);
                check(world, at, &r, "remove_timer");
                if r.is_ok() {
                    // An expiry already queued (or `active(TIMEOUT)`) still
                    // shows as a TIMEOUT flag, as in libevent; no deadline.
                    let (_, expires) = ev.pending(base, Ev::TIMEOUT).expect("pending");
                    assert!(
                        expires.is_none(),
                        "{ev:?}: deadline left after remove_timer"
                    );
                }
            }
        }
        Op::Free { ev } => {
            if let Some((at, ev)) = pick(ev) {
                free(base, world, at, ev);
            }
        }
        Op::Active { ev, res } => {
            if let Some((at, ev)) = pick(ev) {
                let res = Ev::from_bits_retain(u16::from(res))
                    & (Ev::TIMEOUT | Ev::READ | Ev::WRITE | Ev::CLOSED);
                let r = ev.active(base, res);
                check(world, at, &r, "active");
                if r.is_ok() {
                    let (flags, _) = ev.pending(base, ALL).expect("pending");
                    assert!(flags.contains(res), "{ev:?} active with {res:?}: {flags:?}");
                }
            }
        }
        Op::SetPriority { ev, pri } => {
            if let Some((at, ev)) = pick(ev) {
                let r = ev.set_priority(base, usize::from(pri % 8));
                check(world, at, &r, "set_priority");
                if r.is_ok() {
                    assert_eq!(ev.priority(base).ok(), Some(usize::from(pri % 8)));
                }
            }
        }
        Op::PriorityInit { n } => {
            let n = usize::from(n % 9);
            if base.priority_init(n).is_ok() {
                assert_eq!(base.npriorities(), n);
            }
        }
        Op::Once {
            pair,
            kind,
            timeout,
            action,
        } => {
            let (fd, what) = match pair {
                Some(p) => (Some(world.borrow().watched_fd(p)), kind.ev()),
                None => (None, Ev::TIMEOUT),
            };
            let w = Rc::clone(world);
            let _ = base.once(fd, what, timeout.map(micros), move |base, _fd, _res| {
                act(base, &w, None, action);
            });
        }
        Op::LoopExit { delay } => {
            let _ = base.loopexit(delay.map(micros));
        }
        Op::Run {
            once,
            no_exit_on_empty,
        } => {
            let mut flags = LoopFlags::NONBLOCK;
            if once {
                flags |= LoopFlags::ONCE;
            }
            if no_exit_on_empty {
                flags |= LoopFlags::NO_EXIT_ON_EMPTY;
            }
            world.borrow_mut().budget = BUDGET;
            if let Err(e) = base.run(flags) {
                panic!("run failed: {e}");
            }
        }
        Op::Write { pair } => {
            let w = &mut world.borrow_mut().pairs[usize::from(pair) % PAIRS].0;
            let _ = w.write(b"x");
        }
        Op::Drain { pair } => world.borrow_mut().drain(pair),
        Op::ShutdownPeer { pair } => {
            let _ = world.borrow().pairs[usize::from(pair) % PAIRS]
                .0
                .shutdown(Shutdown::Write);
        }
        Op::ActiveByFd { pair, what } => {
            let fd = world.borrow().watched_fd(pair);
            let what = Ev::from_bits_retain(u16::from(what));
            base.active_by_fd(fd, what);
        }
        Op::Sleep { us } => std::thread::sleep(Duration::from_micros(u64::from(us))),
        Op::Inspect => {
            let mut seen = 0;
            base.foreach_event(|_info| {
                seen += 1;
                std::ops::ControlFlow::<()>::Continue(())
            });
            assert!(seen <= base.num_events());
            base.dump_events(&mut std::io::sink())
                .expect("dump to a sink");
        }
    }
}

fn run(program: Program) {
    let mut cfg = Config::new();
    if let Some((max_callbacks, min_priority)) = program.limits {
        cfg.set_max_dispatch_interval(
            None,
            Some(usize::from(max_callbacks)),
            usize::from(min_priority % 8),
        );
    }
    let Ok(mut base) = EventBase::with_config(&cfg) else {
        return;
    };
    let mut pairs = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        let Ok((a, b)) = UnixStream::pair() else {
            return;
        };
        if a.set_nonblocking(true).is_err() || b.set_nonblocking(true).is_err() {
            return;
        }
        pairs.push((a, b));
    }
    let world: Shared = Rc::new(RefCell::new(World {
        handles: Vec::new(),
        pairs,
        budget: BUDGET,
    }));
    let mut commons = Vec::new();
    for op in program.ops {
        step(&mut base, &world, &mut commons, op);
        base.assert_invariants();
        let w = world.borrow();
        for &(ev, live) in &w.handles {
            assert_eq!(ev.is_live(&base), live, "{ev:?} liveness");
        }
    }
    // Drop the base (and with it every callback) before the sockets, as
    // a program must: fds outlive their events.
    drop(base);
}

fuzz_target!(|program: Program| run(program));
