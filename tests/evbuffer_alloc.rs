//! Evbuffer under allocation failure: with memory functions that fail the
//! k-th allocation, every operation that allocates (add, add_fmt,
//! add_slices, prepend, expand, reserve_space (one or two extents),
//! add_buffer, prepend_buffer, remove_buffer, pullup) returns `Err(Error::Alloc)` (or `None` for
//! pullup) with both buffers unchanged and their invariants intact, and
//! chains always come from the memory functions.
//!
//! The memory functions are process-global, so this is a `harness = false`
//! binary that installs them first and runs its programs serially.

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::SeqCst};

use libtest_mimic::{Arguments, Failed, Trial};
use rvent::{Error, Evbuffer, MemFunctions};

/// Fails the allocation when the countdown reaches zero (negative: never).
struct Failing {
    countdown: AtomicIsize,
    calls: AtomicUsize,
}

// SAFETY: forwards to the C library's malloc/realloc/free, which return
// 16-byte aligned blocks on x86-64 and keep the realloc contract; a failed
// call returns null as the contract allows.
unsafe impl MemFunctions for Failing {
    fn malloc(&self, size: usize) -> *mut u8 {
        self.calls.fetch_add(1, SeqCst);
        if self.countdown.fetch_sub(1, SeqCst) == 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: plain malloc.
        unsafe { libc::malloc(size).cast() }
    }

    unsafe fn realloc(&self, ptr: *mut u8, size: usize) -> *mut u8 {
        self.calls.fetch_add(1, SeqCst);
        if self.countdown.fetch_sub(1, SeqCst) == 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from this malloc/realloc (caller's contract).
        unsafe { libc::realloc(ptr.cast(), size).cast() }
    }

    unsafe fn free(&self, ptr: *mut u8) {
        // SAFETY: `ptr` came from this malloc/realloc (caller's contract).
        unsafe { libc::free(ptr.cast()) }
    }
}

static HOOKS: Failing = Failing {
    countdown: AtomicIsize::new(-1),
    calls: AtomicUsize::new(0),
};

/// splitmix64: a reproducible stream of choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn content(b: &Evbuffer) -> Vec<u8> {
    b.assert_invariants();
    b.chunks().flatten().copied().collect()
}

fn check(bufs: &[Evbuffer; 2], models: &[VecDeque<u8>; 2], what: &str) {
    for (b, m) in bufs.iter().zip(models) {
        let c = content(b);
        assert!(
            c.iter().eq(m.iter()),
            "{what}: content differs from the model"
        );
    }
}

/// One random program; returns how many operations failed with Alloc.
fn program(seed: u64) -> usize {
    let mut rng = Rng(seed);
    let mut bufs = [Evbuffer::new(), Evbuffer::new()];
    let mut models = [VecDeque::new(), VecDeque::new()];
    let mut failures = 0;
    for _ in 0..48 {
        let x = rng.below(2);
        let len = match rng.below(3) {
            0 => rng.below(20),
            1 => rng.below(3000),
            _ => rng.below(9000),
        };
        let byte = b'a' + rng.below(26) as u8;
        let data = vec![byte; len];
        let op = rng.below(13);
        // Fail the first, second or third allocation of this operation,
        // or none.
        HOOKS.countdown.store(rng.below(4) as isize - 1, SeqCst);
        let r: Result<(), Error> = match op {
            0 => bufs[x].add(&data).map(|()| models[x].extend(&data)),
            1 => bufs[x]
                .add_fmt(format_args!("{}{len}", byte as char))
                .map(|_| models[x].extend(format!("{}{len}", byte as char).bytes())),
            2 => {
                let io = [IoSlice::new(&data), IoSlice::new(b"-"), IoSlice::new(&data)];
                bufs[x].add_slices(&io).map(|_| {
                    models[x].extend(&data);
                    models[x].push_back(b'-');
                    models[x].extend(&data);
                })
            }
            3 => bufs[x].prepend(&data).map(|()| {
                for &b in data.iter().rev() {
                    models[x].push_front(b);
                }
            }),
            4 => bufs[x].expand(len),
            5 => match bufs[x].reserve_space(len) {
                Ok(room) => {
                    room.fill(byte);
                    bufs[x].commit_space(len / 2).unwrap();
                    models[x].extend(std::iter::repeat_n(byte, len / 2));
                    Ok(())
                }
                Err(e) => Err(e),
            },
            6 => {
                let [a, b] = &mut bufs;
                let (dst, src) = if x == 0 { (a, b) } else { (b, a) };
                dst.add_buffer(src).map(|()| {
                    let moved: Vec<u8> = models[1 - x].drain(..).collect();
                    models[x].extend(moved);
                })
            }
            7 => {
                let [a, b] = &mut bufs;
                let (dst, src) = if x == 0 { (a, b) } else { (b, a) };
                dst.prepend_buffer(src).map(|()| {
                    let mut moved: VecDeque<u8> = models[1 - x].drain(..).collect();
                    moved.extend(models[x].drain(..));
                    models[x] = moved;
                })
            }
            8 => {
                let [a, b] = &mut bufs;
                let (src, dst) = if x == 0 { (a, b) } else { (b, a) };
                src.remove_buffer(dst, len).map(|k| {
                    let moved: Vec<u8> = models[x].drain(..k).collect();
                    models[1 - x].extend(moved);
                })
            }
            10 => {
                let mut store = [[0u8; 0]; 2];
                let [s0, s1] = &mut store;
                let mut v = [IoSliceMut::new(s0), IoSliceMut::new(s1)];
                match bufs[x].reserve_space_vectored(len, &mut v) {
                    Ok(used) => {
                        for s in &mut v[..used] {
                            s.fill(byte);
                        }
                        bufs[x].commit_space(len).unwrap();
                        models[x].extend(std::iter::repeat_n(byte, len));
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            9 => {
                let n = len.min(models[x].len());
                let got = bufs[x].pullup(Some(n)).map(|s| s.to_vec());
                if let Some(s) = got {
                    assert!(s.iter().eq(models[x].iter().take(n)));
                }
                Ok(())
            }
            _ => {
                let n = len.min(models[x].len());
                bufs[x].drain(n).unwrap();
                models[x].drain(..n);
                Ok(())
            }
        };
        HOOKS.countdown.store(-1, SeqCst);
        match r {
            Ok(()) => {}
            Err(Error::Alloc) => failures += 1,
            Err(e) => panic!("op {op}: unexpected error {e}"),
        }
        check(&bufs, &models, &format!("seed {seed} op {op}"));
    }
    failures
}

fn chains_come_from_the_hooks() -> Result<(), Failed> {
    let before = HOOKS.calls.load(SeqCst);
    let mut b = Evbuffer::new();
    b.add(b"x").unwrap();
    assert!(
        HOOKS.calls.load(SeqCst) > before,
        "chains come from the memory functions"
    );
    Ok(())
}

fn failed_allocations_leave_buffers_unchanged() -> Result<(), Failed> {
    let mut failures = 0;
    for seed in 0..100 {
        failures += program(seed);
    }
    assert!(failures > 60, "only {failures} operations saw a failure");
    Ok(())
}

fn main() {
    // First thing, before any other rvent call.
    rvent::install_mem_functions(&HOOKS).expect("hooks install first");
    let mut args = Arguments::from_args();
    // The hooks are process-wide: one test at a time.
    args.test_threads = Some(1);
    let tests = vec![
        Trial::test("chains_come_from_the_hooks", chains_come_from_the_hooks),
        Trial::test(
            "failed_allocations_leave_buffers_unchanged",
            failed_allocations_leave_buffers_unchanged,
        ),
    ];
    libtest_mimic::run(&args, tests).exit();
}
