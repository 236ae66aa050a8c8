//! The fuzz crate's shared code: op programs, models and the differential
//! readln / search checker (`ops.rs`, also included by `tests/evbuffer.rs`),
//! the HTTP server's exchange checker (`http.rs`, included by
//! `tests/http.rs`) and the HTTP client's (`http_response.rs`, included
//! by `tests/http_client.rs`).

pub mod http;
pub mod http_response;
pub mod ops;
