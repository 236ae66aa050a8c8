//! The fuzz crate's shared code: op programs, models and the differential
//! readln / search checker (`ops.rs`, also included by `tests/evbuffer.rs`),
//! and the HTTP server's exchange checker (`http.rs`, included by
//! `tests/http.rs`).

pub mod http;
pub mod ops;
