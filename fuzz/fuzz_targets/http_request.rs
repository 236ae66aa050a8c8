//! Arbitrary bytes, split at arbitrary points, into an HTTP server over a
//! bufferevent pair: no panic, no stall, well-formed answers, as many as
//! a framing model predicts (`fuzz/src/http.rs`, shared with
//! `tests/http.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvent_fuzz::http::{Exchange, check_exchange};

fuzz_target!(|x: Exchange| check_exchange(&x));
