//! Status codes: the reason phrases rvent writes, and the refusals the
//! parser answers a bad request with.

/// Why a request is refused before it reaches a callback; the connection
/// closes after the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `400`: malformed, ambiguous framing, missing or repeated Host.
    BadRequest,
    /// `413`: the body is over the server's limit.
    PayloadTooLarge,
    /// `417`: an `Expect` other than `100-continue`.
    ExpectationFailed,
    /// `431`: the head (or a trailer section) is over the limit, or has
    /// too many fields.
    HeadersTooLarge,
    /// `501`: a method the server does not allow, or a transfer coding it
    /// cannot decode.
    NotImplemented,
    /// `503`: memory for the request could not be had.
    ServiceUnavailable,
    /// `505`: not HTTP/1.0 or HTTP/1.1.
    VersionNotSupported,
}

impl Refusal {
    /// The status code.
    pub(crate) fn code(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::PayloadTooLarge => 413,
            Refusal::ExpectationFailed => 417,
            Refusal::HeadersTooLarge => 431,
            Refusal::NotImplemented => 501,
            Refusal::ServiceUnavailable => 503,
            Refusal::VersionNotSupported => 505,
        }
    }
}

/// The reason phrase of `code` (RFC 9110), `"Unknown"` for codes it does
/// not name.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_have_4xx_or_5xx_codes_with_phrases() {
        for r in [
            Refusal::BadRequest,
            Refusal::PayloadTooLarge,
            Refusal::ExpectationFailed,
            Refusal::HeadersTooLarge,
            Refusal::NotImplemented,
            Refusal::ServiceUnavailable,
            Refusal::VersionNotSupported,
        ] {
            assert!((400..600).contains(&r.code()));
            assert_ne!(reason(r.code()), "Unknown");
        }
        assert_eq!(reason(299), "Unknown");
    }
}
