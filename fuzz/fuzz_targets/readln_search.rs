//! Differential: a buffer built from arbitrary pieces (one chain each, via
//! `add_buffer`, so chain boundaries vary) answers `readln` in every
//! `EolStyle`, `readln_bounded`, `search`, `search_range` and `search_eol`
//! exactly as a naive scan over the flattened bytes does (libevent's
//! semantics, reference §1.5). Shared with `tests/evbuffer.rs` through
//! `fuzz/src/ops.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvent_fuzz::ops::{Differential, check_differential};

fuzz_target!(|d: Differential| check_differential(&d));
