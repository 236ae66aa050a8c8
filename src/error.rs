//! rvent's error type: one enum whose variants a caller can act on.
//!
//! libevent reports failure as `-1` (or `NULL`) and leaves the reason to the
//! log; rvent returns [`Error`] with the reason attached. Display messages
//! are lowercase and carry no trailing period, like `std::io::Error`'s.

use std::fmt;
use std::io;

/// Everything that can go wrong in rvent.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    Io(io::Error),
    /// The memory functions could not provide a block.
    Alloc,
    /// An event handle refers to an event that was freed (or to another base).
    StaleEvent,
    /// A bufferevent handle refers to a bufferevent that was freed (or to
    /// another base).
    StaleBufferevent,
    /// A listener handle refers to a listener that was freed (or to
    /// another base).
    StaleListener,
    /// A rate-limit group handle refers to a group that was freed (or to
    /// another base).
    StaleRateLimitGroup,
    /// An HTTP server handle refers to a server that was freed (or to
    /// another base).
    StaleHttp,
    /// An HTTP request handle refers to a request already answered, or
    /// whose connection closed (or to another base).
    StaleRequest,
    /// An argument is out of range or a flag combination libevent rejects.
    InvalidArgument(&'static str),
    /// The call is not allowed in the object's current state.
    BadState(&'static str),
    /// No backend satisfies the configuration (avoided method or missing feature).
    NoBackend,
    /// `run` was called from inside one of this base's callbacks.
    Reentrant,
}

/// `Result` with rvent's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::Alloc => f.write_str("memory allocation failed"),
            Error::StaleEvent => f.write_str("event handle is stale (freed or from another base)"),
            Error::StaleBufferevent => {
                f.write_str("bufferevent handle is stale (freed or from another base)")
            }
            Error::StaleRateLimitGroup => {
                f.write_str("rate-limit group handle is stale (freed or from another base)")
            }
            Error::StaleListener => {
                f.write_str("listener handle is stale (freed or from another base)")
            }
            Error::StaleHttp => {
                f.write_str("http server handle is stale (freed or from another base)")
            }
            Error::StaleRequest => f.write_str(
                "http request handle is stale (answered, connection closed or another base)",
            ),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::BadState(what) => write!(f, "bad state: {what}"),
            Error::NoBackend => f.write_str("no event backend satisfies the configuration"),
            Error::Reentrant => f.write_str("event loop is already running on this base"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            Error::Alloc => io::Error::new(io::ErrorKind::OutOfMemory, e),
            other => io::Error::other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_without_period() {
        let all = [
            Error::Alloc,
            Error::StaleEvent,
            Error::StaleBufferevent,
            Error::StaleListener,
            Error::StaleRateLimitGroup,
            Error::StaleHttp,
            Error::StaleRequest,
            Error::InvalidArgument("x"),
            Error::BadState("y"),
            Error::NoBackend,
            Error::Reentrant,
        ];
        for e in all {
            let s = e.to_string();
            assert!(s.chars().next().unwrap().is_lowercase(), "{s}");
            assert!(!s.ends_with('.'), "{s}");
        }
    }

    #[test]
    fn io_round_trip_keeps_kind() {
        let e: Error = io::Error::from(io::ErrorKind::WouldBlock).into();
        let back: io::Error = e.into();
        assert_eq!(back.kind(), io::ErrorKind::WouldBlock);
    }
}
