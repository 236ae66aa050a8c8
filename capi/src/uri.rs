//! `struct evhttp_uri` (opaque to C) on rvent's [`Uri`], and the
//! encoding helpers (`evhttp_encode_uri`, `evhttp_uridecode`,
//! `evhttp_htmlescape` …), whose results are `malloc`ed strings C frees.
//!
//! rvent's parts are not NUL-terminated, so a [`CUri`] keeps a C copy of
//! each part, made when the URI is parsed and when a part is set: the
//! getters hand out pointers valid until the next setter of that part or
//! `evhttp_uri_free`, as libevent's.

use std::ffi::{CStr, c_char, c_int};
use std::ptr;

use rvent::http::{HttpBytes, Uri, UriFlags, html_escape, uri_decode, uri_encode};

use crate::{ffi, mem};

/// The parts a getter returns, as indexes of [`CUri::parts`].
#[derive(Clone, Copy)]
enum Part {
    Scheme,
    Userinfo,
    Host,
    Path,
    Query,
    Fragment,
}

const PARTS: [Part; 6] = [
    Part::Scheme,
    Part::Userinfo,
    Part::Host,
    Part::Path,
    Part::Query,
    Part::Fragment,
];

/// `struct evhttp_uri`.
pub struct CUri {
    uri: Uri,
    /// A C copy of each part ([`Part`] order); null for an absent one.
    parts: [*mut c_char; 6],
}

impl Drop for CUri {
    fn drop(&mut self) {
        for p in self.parts {
            // SAFETY: from `mem::c_string`, or null.
            unsafe { mem::free(p.cast()) };
        }
    }
}

/// Part `p` of `u`, if present.
fn part(u: &Uri, p: Part) -> Option<&[u8]> {
    match p {
        Part::Scheme => u.scheme().map(str::as_bytes),
        Part::Userinfo => u.userinfo().map(str::as_bytes),
        Part::Host => u.host().map(str::as_bytes),
        Part::Path => Some(u.path_bytes()),
        Part::Query => u.query().map(str::as_bytes),
        Part::Fragment => u.fragment().map(str::as_bytes),
    }
}

impl CUri {
    /// Refreshes the C copy of part `p`; `false` if out of memory (the
    /// copy is then absent).
    fn refresh(&mut self, p: Part) -> bool {
        let slot = &mut self.parts[p as usize];
        // SAFETY: from `mem::c_string`, or null.
        unsafe { mem::free(slot.cast()) };
        *slot = ptr::null_mut();
        match part(&self.uri, p) {
            None => true,
            Some(b) => {
                *slot = mem::c_string(b);
                !slot.is_null()
            }
        }
    }
}

/// A C record for `uri`; null if out of memory.
pub(crate) fn wrap(uri: Uri) -> *mut CUri {
    let mut c = CUri {
        uri,
        parts: [ptr::null_mut(); 6],
    };
    if !PARTS.iter().all(|&p| c.refresh(p)) {
        return ptr::null_mut();
    }
    mem::into_raw(c)
}

/// A C string as `&str`; `None` for null or non-UTF-8.
///
/// # Safety
/// `s` is null or NUL-terminated.
pub(crate) unsafe fn c_str<'a>(s: *const c_char) -> Option<&'a str> {
    if s.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated (caller).
    unsafe { CStr::from_ptr(s) }.to_str().ok()
}

/// `evhttp_uri_new`: an empty URI.
#[unsafe(no_mangle)]
pub extern "C" fn evhttp_uri_new() -> *mut CUri {
    ffi(ptr::null_mut(), || wrap(Uri::new()))
}

/// `evhttp_uri_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_free(u: *mut CUri) {
    // SAFETY: null or from this library (caller).
    ffi((), || unsafe {
        if !u.is_null() {
            mem::drop_raw(u);
        }
    })
}

/// `evhttp_uri_parse_with_flags` (`EVHTTP_URI_NONCONFORMANT` 1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_parse_with_flags(s: *const c_char, flags: u32) -> *mut CUri {
    ffi(ptr::null_mut(), || {
        // SAFETY: a C string (caller).
        let Some(s) = (unsafe { c_str(s) }) else {
            return ptr::null_mut();
        };
        let flags = UriFlags::from_bits_retain(flags).intersection(UriFlags::all());
        Uri::parse_with_flags(s, flags).map_or(ptr::null_mut(), wrap)
    })
}

/// `evhttp_uri_parse`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_parse(s: *const c_char) -> *mut CUri {
    // SAFETY: caller's promise.
    unsafe { evhttp_uri_parse_with_flags(s, 0) }
}

/// `evhttp_uri_set_flags`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_set_flags(u: *mut CUri, flags: u32) {
    // SAFETY: null or live (caller).
    if let Some(u) = unsafe { u.as_mut() } {
        u.uri
            .set_flags(UriFlags::from_bits_retain(flags).intersection(UriFlags::all()));
    }
}

/// The C copy of part `p`.
///
/// # Safety
/// `u` is null or live.
unsafe fn get(u: *const CUri, p: Part) -> *const c_char {
    // SAFETY: caller's promise.
    unsafe { u.as_ref() }.map_or(ptr::null(), |u| u.parts[p as usize])
}

/// Sets a part through rvent's setter and refreshes its C copy.
///
/// # Safety
/// `u` null or live; `s` null or a C string.
unsafe fn set(
    u: *mut CUri,
    p: Part,
    s: *const c_char,
    f: impl FnOnce(&mut Uri, Option<&str>) -> rvent::Result<()>,
) -> c_int {
    ffi(-1, || {
        // SAFETY: caller's promise.
        let Some(u) = (unsafe { u.as_mut() }) else {
            return -1;
        };
        // SAFETY: as above.
        let v = match unsafe { c_str(s) } {
            None if !s.is_null() => return -1,
            v => v,
        };
        if f(&mut u.uri, v).is_err() || !u.refresh(p) {
            return -1;
        }
        0
    })
}

macro_rules! uri_part {
    ($get:ident, $set:ident, $part:ident, $rset:ident) => {
        #[doc = concat!("`", stringify!($get), "`.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $get(u: *const CUri) -> *const c_char {
            // SAFETY: caller's promise.
            unsafe { get(u, Part::$part) }
        }

        #[doc = concat!("`", stringify!($set), "` (NULL: none); -1 if malformed.")]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $set(u: *mut CUri, s: *const c_char) -> c_int {
            // SAFETY: caller's promise.
            unsafe { set(u, Part::$part, s, |u, v| u.$rset(v)) }
        }
    };
}

uri_part!(
    evhttp_uri_get_scheme,
    evhttp_uri_set_scheme,
    Scheme,
    set_scheme
);
uri_part!(
    evhttp_uri_get_userinfo,
    evhttp_uri_set_userinfo,
    Userinfo,
    set_userinfo
);
uri_part!(evhttp_uri_get_host, evhttp_uri_set_host, Host, set_host);
uri_part!(evhttp_uri_get_path, evhttp_uri_set_path, Path, set_path);
uri_part!(evhttp_uri_get_query, evhttp_uri_set_query, Query, set_query);
uri_part!(
    evhttp_uri_get_fragment,
    evhttp_uri_set_fragment,
    Fragment,
    set_fragment
);

/// `evhttp_uri_get_port`: -1 if none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_get_port(u: *const CUri) -> c_int {
    // SAFETY: caller's promise.
    unsafe { u.as_ref() }
        .and_then(|u| u.uri.port())
        .map_or(-1, c_int::from)
}

/// `evhttp_uri_set_port`: -1 for none; other values outside 0–65535 fail.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_set_port(u: *mut CUri, port: c_int) -> c_int {
    ffi(-1, || {
        // SAFETY: caller's promise.
        let Some(u) = (unsafe { u.as_mut() }) else {
            return -1;
        };
        let port = match port {
            -1 => None,
            p => match u16::try_from(p) {
                Ok(p) => Some(p),
                Err(_) => return -1,
            },
        };
        crate::status(u.uri.set_port(port))
    })
}

/// `evhttp_uri_join`: the URI into `buf` (`limit` bytes with the NUL);
/// NULL if it does not fit or cannot be joined.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uri_join(
    u: *const CUri,
    buf: *mut c_char,
    limit: usize,
) -> *mut c_char {
    ffi(ptr::null_mut(), || {
        // SAFETY: caller's promise.
        let Some(u) = (unsafe { u.as_ref() }) else {
            return ptr::null_mut();
        };
        match u.uri.join() {
            Ok(s) if !buf.is_null() && s.len() < limit => {
                // SAFETY: `buf` has `limit` bytes (caller).
                unsafe {
                    ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), s.len());
                    *buf.add(s.len()) = 0;
                }
                buf
            }
            _ => ptr::null_mut(),
        }
    })
}

/// `r` as a `malloc`ed C string; NULL for an error.
fn c_result(r: rvent::Result<HttpBytes>) -> *mut c_char {
    r.map_or(ptr::null_mut(), |b| mem::c_string(&b))
}

/// A C string's bytes (`len` < 0: up to the NUL).
///
/// # Safety
/// `s` is null, or has `len` bytes, or is NUL-terminated.
unsafe fn c_bytes<'a>(s: *const c_char, len: isize) -> Option<&'a [u8]> {
    if s.is_null() {
        return None;
    }
    // SAFETY: caller's promise.
    unsafe {
        Some(match usize::try_from(len) {
            Ok(n) => std::slice::from_raw_parts(s.cast::<u8>(), n),
            Err(_) => CStr::from_ptr(s).to_bytes(),
        })
    }
}

/// `evhttp_uriencode`: percent-encodes all but RFC 3986's unreserved
/// characters (`size` < 0: up to the NUL; `space_as_plus`: ' ' as '+').
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uriencode(
    s: *const c_char,
    size: isize,
    space_as_plus: c_int,
) -> *mut c_char {
    ffi(ptr::null_mut(), || {
        // SAFETY: caller's promise.
        match unsafe { c_bytes(s, size) } {
            Some(b) => c_result(uri_encode(b, space_as_plus != 0)),
            None => ptr::null_mut(),
        }
    })
}

/// `evhttp_encode_uri`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_encode_uri(s: *const c_char) -> *mut c_char {
    // SAFETY: caller's promise.
    unsafe { evhttp_uriencode(s, -1, 0) }
}

/// `evhttp_uridecode`: `decode_plus`: '+' as ' '; `size_out` (if not
/// NULL) gets the decoded length (the result may hold NULs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_uridecode(
    s: *const c_char,
    decode_plus: c_int,
    size_out: *mut usize,
) -> *mut c_char {
    ffi(ptr::null_mut(), || {
        // SAFETY: caller's promise.
        let Some(b) = (unsafe { c_bytes(s, -1) }) else {
            return ptr::null_mut();
        };
        match uri_decode(b, decode_plus != 0) {
            Ok(d) => {
                if !size_out.is_null() {
                    // SAFETY: writable (caller).
                    unsafe { *size_out = d.len() };
                }
                mem::c_string(&d)
            }
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `evhttp_decode_uri`: '+' decodes as ' ' only after a '?' (libevent's
/// deprecated behaviour).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_decode_uri(s: *const c_char) -> *mut c_char {
    ffi(ptr::null_mut(), || {
        if s.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a C string (caller).
        let n = unsafe { CStr::from_ptr(s) }.to_bytes().len();
        let out = mem::malloc(n + 1).cast::<c_char>();
        // SAFETY: `out` has room for `n + 1` bytes.
        if !out.is_null() && unsafe { evhttp_decode_uri_internal(s, n, out, -1) } < 0 {
            // SAFETY: just allocated.
            unsafe { mem::free(out.cast()) };
            return ptr::null_mut();
        }
        out
    })
}

/// `evhttp_htmlescape`: `<`, `>`, `"`, `'`, `&` as entities.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_htmlescape(s: *const c_char) -> *mut c_char {
    ffi(ptr::null_mut(), || {
        // SAFETY: caller's promise.
        match unsafe { c_bytes(s, -1) } {
            Some(b) => c_result(html_escape(b)),
            None => ptr::null_mut(),
        }
    })
}

/// `evhttp_decode_uri_internal` (libevent-internal, exported and used by
/// its regress): decodes `length` bytes of `uri` into `ret` (room for
/// `length + 1`), NUL-terminated; `decode_plus_ctl` 1: '+' as ' ', 0:
/// never, < 0: only after a '?'. Returns the decoded length, -1 on error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_decode_uri_internal(
    uri: *const c_char,
    length: usize,
    ret: *mut c_char,
    decode_plus_ctl: c_int,
) -> c_int {
    ffi(-1, || {
        if uri.is_null() || ret.is_null() {
            return -1;
        }
        // SAFETY: `length` readable bytes (caller).
        let s = unsafe { std::slice::from_raw_parts(uri.cast::<u8>(), length) };
        let (head, tail) = match decode_plus_ctl {
            c if c < 0 => match s.iter().position(|&b| b == b'?') {
                Some(i) => (&s[..i], &s[i..]),
                None => (s, &[][..]),
            },
            0 => (s, &[][..]),
            _ => (&[][..], s),
        };
        let (Ok(a), Ok(b)) = (uri_decode(head, false), uri_decode(tail, true)) else {
            return -1;
        };
        // SAFETY: decoding never grows: `ret` has room (caller).
        unsafe {
            let out = ret.cast::<u8>();
            ptr::copy_nonoverlapping(a.as_ptr(), out, a.len());
            ptr::copy_nonoverlapping(b.as_ptr(), out.add(a.len()), b.len());
            *out.add(a.len() + b.len()) = 0;
        }
        (a.len() + b.len()) as c_int
    })
}
