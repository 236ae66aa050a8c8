//! An HTTP/1.1 server (libevent's `evhttp`, tutorial ch. 10.3).
//!
//! The layer sits on bufferevents and listeners and nothing below it knows
//! it exists. The files: `headers` (the field multimap), `method`
//! (request methods), `status` (codes, phrases, refusals), `parse` (the
//! request head and its framing), `body` (Content-Length and chunked
//! bodies).

mod body;
mod headers;
mod method;
mod parse;
mod status;

pub use headers::Headers;
pub use method::{Method, Methods};
