//! `evbuffer_ops`' programs with an `EventBase` alive: between ops the
//! loop runs once (`NONBLOCK`, an active timer so an iteration happens and
//! the scratch arena resets), and scratch allocations are made, held across
//! the next op and checked intact afterwards — buffer memory and arena
//! memory must never overlap, whichever pools the chains come from.
//!
//! Checks as in `evbuffer_ops` (cheap after every op and loop iteration,
//! full every `FULL_CHECK_EVERY` ops and at the end, at most `MAX_OPS`
//! ops). The programs include references, multicast views and freezing. To do:
//! buffers created on the base (chains from its pools).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvent::{Ev, Event, EventBase, LoopFlags};
use rvent_fuzz::ops::{Checker, MAX_OPS, Program};

fuzz_target!(|program: Program| {
    let mut base = EventBase::new().expect("base");
    let tick = Event::timer(&mut base, |base, _, _, _| {
        // Scratch use inside a callback, reset at the end of the iteration.
        let v = base
            .scratch()
            .try_alloc_slice_fill(97, 0x5au8)
            .expect("scratch");
        assert!(v.iter().all(|&c| c == 0x5a));
    })
    .expect("timer");
    let mut c = Checker::new();
    for (k, op) in program.ops.iter().take(MAX_OPS).enumerate() {
        {
            let byte = k as u8;
            let len = 1 + (k * 37) % 700;
            let held = base
                .scratch()
                .try_alloc_slice_fill(len, byte)
                .expect("scratch");
            c.apply(op);
            c.check_cheap();
            let want = vec![byte; len];
            assert!(*held == want[..], "scratch memory overwritten");
        }
        tick.active(&mut base, Ev::TIMEOUT).expect("active");
        base.run(LoopFlags::NONBLOCK).expect("loop");
        assert_eq!(base.mem_stats().arena_bytes, 0, "arena not reset");
        // A reset arena handing out buffer memory shows up as changed
        // bytes: at both ends now, anywhere at the next full check.
        c.check_after(k);
    }
    c.check();
});
