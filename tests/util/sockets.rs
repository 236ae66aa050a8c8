//! Connected sockets for tests that need a real descriptor: an `AF_UNIX`
//! pair is the cheapest readiness source.

use std::os::unix::net::UnixStream;

/// A connected, non-blocking `AF_UNIX` stream pair.
pub fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}
