//! `evhttp_parse_firstline_` and `evhttp_parse_headers_`: libevent-internal
//! functions its library exports and its own tests call, reading a
//! response's status line and header fields from an `evbuffer` into a
//! request made with `evhttp_request_new` (libevent's request kind is
//! "response" then). rvent's response parser is private to its client,
//! so these read lines with [`rvent::Evbuffer::readln`]; a folded
//! (continuation) line is refused as corrupt, as rvent refuses folding.

use std::ffi::c_int;

use rvent::EolStyle;

use crate::buffer::{self, CBuffer};
use crate::http::CReq;
use crate::{ffi, keyval};

/// libevent's `enum message_read_status`.
const ALL_DATA_READ: c_int = 1;
const MORE_DATA_EXPECTED: c_int = 0;
const DATA_CORRUPTED: c_int = -1;

/// A status line's code and reason: `HTTP/1.x CODE reason`.
fn status_line(line: &[u8]) -> Option<(c_int, &[u8])> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parts.next()?;
    let code = parts.next()?;
    let reason = parts.next().unwrap_or(b"");
    let minor = version.strip_prefix(b"HTTP/1.")?;
    if minor.len() != 1 || !minor[0].is_ascii_digit() {
        return None;
    }
    let code: c_int = std::str::from_utf8(code).ok()?.parse().ok()?;
    (100..=999).contains(&code).then_some((code, reason))
}

/// `evhttp_parse_firstline_`: the status line, into the request's
/// response code and line.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_parse_firstline_(req: *mut CReq, buf: *mut CBuffer) -> c_int {
    ffi(DATA_CORRUPTED, || {
        // SAFETY: live records (caller).
        unsafe {
            let Some(r) = req.as_mut() else {
                return DATA_CORRUPTED;
            };
            let Some(line) = buffer::with(buf, None, |b| Some(b.readln(EolStyle::Crlf))) else {
                return DATA_CORRUPTED;
            };
            let Some(line) = line else {
                return MORE_DATA_EXPECTED;
            };
            let Some((code, reason)) = status_line(&line) else {
                return DATA_CORRUPTED;
            };
            crate::http_client::set_status(r, code, reason);
            ALL_DATA_READ
        }
    })
}

/// `evhttp_parse_headers_`: header lines into the request's input list,
/// up to the empty line (`ALL_DATA_READ`), or as many as are whole
/// (`MORE_DATA_EXPECTED`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_parse_headers_(req: *mut CReq, buf: *mut CBuffer) -> c_int {
    ffi(DATA_CORRUPTED, || {
        // SAFETY: live records (caller).
        unsafe {
            let Some(r) = req.as_mut() else {
                return DATA_CORRUPTED;
            };
            loop {
                let Some(line) = buffer::with(buf, None, |b| b.readln(EolStyle::Crlf)) else {
                    return MORE_DATA_EXPECTED;
                };
                if line.is_empty() {
                    return ALL_DATA_READ;
                }
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    return DATA_CORRUPTED;
                };
                if line[0] == b' ' || line[0] == b'\t' {
                    return DATA_CORRUPTED;
                }
                let value = line[colon + 1..].trim_ascii();
                if !keyval::push(&mut r.in_headers, &line[..colon], value) {
                    return DATA_CORRUPTED;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::status_line;

    #[test]
    fn status_lines() {
        assert_eq!(status_line(b"HTTP/1.1 200 OK"), Some((200, &b"OK"[..])));
        assert_eq!(status_line(b"HTTP/1.0 404"), Some((404, &b""[..])));
        assert_eq!(status_line(b"HTTP/2.0 200 OK"), None);
        assert_eq!(status_line(b"HTTP/1.1 20 OK"), None);
        assert_eq!(status_line(b"garbage"), None);
    }
}
