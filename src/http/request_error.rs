//! [`HttpRequestError`]: why a client request ended without a response
//! (libevent's `enum evhttp_request_error`).

use std::fmt;

use super::status::Refusal;

/// Why a request made with
/// [`HttpConnection::make_request`](super::HttpConnection::make_request)
/// got no response: what its completion callback gets instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[doc(alias = "evhttp_request_error")]
pub enum HttpRequestError {
    /// The connect, a read or a write timed out (`EVREQ_HTTP_TIMEOUT`).
    #[doc(alias = "EVREQ_HTTP_TIMEOUT")]
    Timeout,
    /// The connection failed or closed before the response was whole
    /// (`EVREQ_HTTP_EOF`).
    #[doc(alias = "EVREQ_HTTP_EOF")]
    Eof,
    /// The status line or a header field is malformed, or the framing
    /// is ambiguous: a negative, non-numeric or conflicting
    /// `Content-Length`, or one beside `Transfer-Encoding`
    /// (`EVREQ_HTTP_INVALID_HEADER`).
    #[doc(alias = "EVREQ_HTTP_INVALID_HEADER")]
    InvalidHeader,
    /// No memory for the request or its response
    /// (`EVREQ_HTTP_BUFFER_ERROR`).
    #[doc(alias = "EVREQ_HTTP_BUFFER_ERROR")]
    BufferError,
    /// The request was cancelled: its connection was freed first
    /// (`EVREQ_HTTP_REQUEST_CANCEL`).
    #[doc(alias = "EVREQ_HTTP_REQUEST_CANCEL")]
    Cancelled,
    /// The head or the body passed the connection's limit, or a chunked
    /// body is malformed (`EVREQ_HTTP_DATA_TOO_LONG`; libevent reports a
    /// corrupt body the same way).
    #[doc(alias = "EVREQ_HTTP_DATA_TOO_LONG")]
    DataTooLong,
}

impl HttpRequestError {
    /// The error a refusal of the response head means.
    pub(super) fn of_head(r: Refusal) -> HttpRequestError {
        match r {
            Refusal::HeadersTooLarge | Refusal::PayloadTooLarge => HttpRequestError::DataTooLong,
            Refusal::ServiceUnavailable => HttpRequestError::BufferError,
            _ => HttpRequestError::InvalidHeader,
        }
    }

    /// The error a refusal of the response body means.
    pub(super) fn of_body(r: Refusal) -> HttpRequestError {
        match r {
            Refusal::ServiceUnavailable => HttpRequestError::BufferError,
            _ => HttpRequestError::DataTooLong,
        }
    }
}

impl fmt::Display for HttpRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpRequestError::Timeout => "request timed out",
            HttpRequestError::Eof => "connection closed before the response was complete",
            HttpRequestError::InvalidHeader => "malformed response head",
            HttpRequestError::BufferError => "no memory for the request",
            HttpRequestError::Cancelled => "request cancelled",
            HttpRequestError::DataTooLong => "response too long or body malformed",
        })
    }
}

impl std::error::Error for HttpRequestError {}
