//! The fuzz crate's shared code: op programs, models and the differential
//! readln / search checker (`ops.rs`, also included by `tests/evbuffer.rs`).

pub mod ops;
