//! Fuzzes `Evbuffer` with programs of operations over three buffers (add,
//! add_fmt, add_slices, prepend, drain, remove, remove_buffer, add_buffer,
//! prepend_buffer, copyout, copyout_from, peek, pullup, readln in each
//! style, bounded and into a caller's buffer, search, search_range,
//! search_eol, positions, reserve / commit (fresh and stale), expand,
//! add_reference with an offset (owner dropped exactly once),
//! add_buffer_reference, freeze / unfreeze of either side), checked against
//! byte-vector models: `assert_invariants()`, lengths and the bytes at
//! both ends after every op, every byte every `FULL_CHECK_EVERY` ops and
//! at the end; programs run at most `MAX_OPS` ops. The ops and the model
//! live in `fuzz/src/ops.rs`, which `tests/evbuffer.rs` also runs over the
//! committed seed corpus.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvent_fuzz::ops::{Program, run_program};

fuzz_target!(|program: Program| run_program(&program));
