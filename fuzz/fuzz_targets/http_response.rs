//! Arbitrary response bytes, split at arbitrary points, into an HTTP
//! client over a bufferevent pair: no panic, no stall, every request's
//! callback exactly once (`fuzz/src/http_response.rs`, shared with
//! `tests/http_client.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvent_fuzz::http_response::{Exchange, check_exchange};

fuzz_target!(|x: Exchange| check_exchange(&x));
