//! An HTTP/1.1 server (libevent's `evhttp`, tutorial ch. 10.3) and its
//! client half ([`HttpConnection`], libevent's `evhttp_connection`).
//!
//! [`Http`] serves connections its sockets accept, each through a socket
//! bufferevent; a [`Request`] goes to the callback of its exact path
//! ([`Http::set_cb`]), else to the general one ([`Http::set_gencb`]),
//! else gets `404`. The layer sits on bufferevents and listeners and
//! nothing below it knows it exists; its tables live in the base
//! ([`HttpHost`]), like the bufferevents' and the listeners'.
//!
//! # Parsing and what is refused
//! Request heads are tokenized by `httparse` in place in the connection's
//! input buffer; the framing (Content-Length, chunked) is ours. Every
//! ambiguity RFC 9112 names as a smuggling vector is answered with a 4xx
//! and the connection closes; other connections never notice. The
//! details are in the `parse` and `body` files' docs. A head over the
//! size limit gets `431` (libevent: 400).
//!
//! # Memory
//! Every block is from the memory functions. A request's storage — head
//! bytes, the header maps (one byte store each, fields as ranges into
//! it), the body buffers — is lent to a connection while it has a
//! request and kept on a spare list between requests (`state`), so an
//! idle keep-alive connection holds only its record and its
//! bufferevent, and once warm a keep-alive request allocates nothing. An
//! allocation failure answers `503` or closes that connection; it never
//! panics.
//!
//! # What differs from libevent
//! - A request lives until answered: no `evhttp_request_own`.
//! - Obsolete line folding is refused (libevent joins the lines); NUL in
//!   a field is refused (libevent truncates at it, issue #1810).
//! - A space after the request line's version is refused (libevent
//!   accepts `GET / HTTP/1.1 `; RFC 9112 §3 has no room for it).
//! - Trailer fields are checked and discarded.
//! - A header-read deadline ([`Http::set_header_timeout`]) bounds a
//!   client trickling its head.
//! - Replies are `HTTP/1.1` whatever the request's version.
//! - A refused request's connection always closes lingering (libevent:
//!   only with `EVHTTP_SERVER_LINGERING_CLOSE`), and a connection with
//!   64 KiB of answers unwritten reads no more requests until they are.
//! - Error-page, new-request and per-connection bufferevent callbacks are
//!   closures; [`Http::serve_bufferevent`] serves a bufferevent you made.
//!
//! # The client
//! An [`HttpConnection`] connects on its first request (to an address,
//! or to a host name looked up on a helper thread), sends one request at
//! a time — no pipelining, as libevent — and keeps a keep-alive socket
//! for the next. Responses are read by the server's rules from the other
//! side (`response`); a warm keep-alive request allocates nothing and
//! costs one `send` and one `recv`. Where it differs from libevent:
//! - A failed request's completion callback gets the
//!   [`HttpRequestError`], not a `NULL` request; the error callback runs
//!   just before it. [`QueuedRequest::cancel`] runs neither (libevent
//!   runs the error callback of a request in flight).
//! - Freeing a connection ends its queued requests with
//!   [`HttpRequestError::Cancelled`] (libevent frees them silently).
//! - A connect that fails with no retry left fails every queued request
//!   with `Timeout` or `Eof` (libevent calls them with no error), and the
//!   retry count starts again for the next request.
//! - A status code below 100 and an unasked-for `101` are refused as
//!   invalid headers; trailer fields are checked and discarded.
//! - A header callback cancels its request instead of returning `-1`.
//!
//! The files: `handle` ([`Http`], [`Request`] and the connection id,
//! which every other file may name), `headers` (the field multimap), `method`, `status` (codes,
//! phrases, refusals), `parse` (the request head and its framing), `body`
//! (Content-Length and chunked bodies), `state` (a request's storage, lent to
//! connections), `target` (request-target paths, percent decoding),
//! `vhost` (virtual hosts and aliases), `uri` ([`Uri`]), `query` (query
//! strings), `encode` (percent-encoding, HTML escaping), `date` (the Date field), `table` (records and the host
//! trait), `server` ([`Http`]), `conn` (a connection's life), `request`
//! ([`Request`]), `reply` (writing replies). The client: `client`
//! ([`HttpConnection`] and making requests), `client_request`
//! ([`HttpRequest`], a request with its callbacks, and cancelling a
//! [`QueuedRequest`]), `client_table` (its records), `client_conn` (a
//! client connection's life: connects, retries, streaming), `response`
//! (the response head and its framing, with `parse`'s and `body`'s code),
//! `client_response` ([`Response`]), `request_error`
//! ([`HttpRequestError`]).

mod body;
mod client;
mod client_conn;
mod client_request;
mod client_response;
mod client_table;
mod conn;
mod date;
mod encode;
mod handle;
mod headers;
mod method;
mod parse;
mod query;
mod reply;
mod request;
mod request_error;
mod response;
mod server;
mod state;
mod status;
mod table;
mod target;
mod uri;
mod vhost;

pub use client_request::HttpRequest;
pub use client_response::Response;
pub use client_table::HttpConnectionFlags;
pub use encode::{HttpBytes, html_escape, uri_decode, uri_encode};
pub use handle::{Http, HttpConnection, QueuedRequest, Request};
pub use headers::Headers;
pub use method::{Method, Methods};
pub use query::{QueryFlags, parse_query, parse_query_str, parse_query_str_with_flags};
pub use request_error::HttpRequestError;
pub use server::{BoundSocket, DEFAULT_CONTENT_TYPE, DEFAULT_MAX_HEADERS_SIZE};
pub use table::{HttpHost, HttpTable};
pub use uri::{Uri, UriFlags};
