//! [`Response`]: what a request's completion callback sees of the
//! response — the client side's `struct evhttp_request` once answered.

use crate::buffer::Evbuffer;

use super::headers::Headers;
use super::response::ResponseHead;

/// The response to a request made with
/// [`HttpConnection::make_request`](super::HttpConnection::make_request),
/// lent to its completion callback: status, fields and body. The body
/// is the callback's to drain or keep (move its chains out with
/// [`Evbuffer::add_buffer`]); what is left is dropped after the callback.
#[doc(alias = "evhttp_request")]
pub struct Response<'a> {
    pub(super) head: &'a ResponseHead,
    pub(super) body: &'a mut Evbuffer,
}

impl Response<'_> {
    /// The status code (`evhttp_request_get_response_code`).
    #[doc(alias = "evhttp_request_get_response_code")]
    pub fn code(&self) -> u16 {
        self.head.code
    }

    /// The reason phrase as sent (`evhttp_request_get_response_code_line`);
    /// `""` if it is not UTF-8.
    #[doc(alias = "evhttp_request_get_response_code_line")]
    pub fn reason(&self) -> &str {
        std::str::from_utf8(&self.head.reason).unwrap_or_default()
    }

    /// The HTTP version: `(1, 0)` or `(1, 1)`.
    pub fn version(&self) -> (u8, u8) {
        (1, self.head.minor)
    }

    /// The response's header fields (`evhttp_request_get_input_headers`).
    #[doc(alias = "evhttp_request_get_input_headers")]
    pub fn input_headers(&self) -> &Headers {
        &self.head.headers
    }

    /// The response body, decoded from chunks if it came chunked
    /// (`evhttp_request_get_input_buffer`).
    #[doc(alias = "evhttp_request_get_input_buffer")]
    pub fn input_buffer(&mut self) -> &mut Evbuffer {
        self.body
    }
}

impl std::fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("code", &self.head.code)
            .field("body_len", &self.body.len())
            .finish()
    }
}
