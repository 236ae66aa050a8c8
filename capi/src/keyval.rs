//! `struct evkeyvalq` / `struct evkeyval`: header and query lists as the
//! real `TAILQ` C callers walk (`TAILQ_FOREACH(kv, q, next)`) and allocate
//! (a `struct evkeyvalq` on the stack for `evhttp_parse_query`).
//!
//! The C list is the truth for C code: `evhttp_add_header` and friends
//! take only the list, with no request, so they edit the list itself
//! (nodes and strings from the memory functions, freed by
//! `evhttp_clear_headers`). A request's lists are copies of rvent's
//! [`Headers`], made on the first `evhttp_request_get_*_headers`; the
//! output list is written back to rvent before the reply goes out
//! ([`crate::http`]).

use std::ffi::{CStr, c_char, c_int};
use std::ptr;

use rvent::Headers;
use rvent::http::{QueryFlags, parse_query, parse_query_str_with_flags};

use crate::{ffi, mem};

/// `struct evkeyval` (32 B): `TAILQ_ENTRY next`, `key`, `value`.
#[repr(C)]
pub struct CKeyval {
    next: *mut CKeyval,
    prev: *mut *mut CKeyval,
    key: *mut c_char,
    value: *mut c_char,
}

/// `struct evkeyvalq` (16 B): `TAILQ_HEAD`, first element and the address
/// of the last element's `next` (of `first` when empty).
#[repr(C)]
pub struct CKeyvalq {
    first: *mut CKeyval,
    last: *mut *mut CKeyval,
}

const _: () = assert!(size_of::<CKeyval>() == 32 && size_of::<CKeyvalq>() == 16);

impl CKeyvalq {
    /// An empty list to be [`init`]ed where it will stay.
    pub(crate) const fn unlinked() -> CKeyvalq {
        CKeyvalq {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
        }
    }
}

/// `TAILQ_INIT`.
///
/// # Safety
/// `q` is writable.
pub(crate) unsafe fn init(q: *mut CKeyvalq) {
    // SAFETY: writable (caller).
    unsafe {
        (*q).first = ptr::null_mut();
        (*q).last = ptr::addr_of_mut!((*q).first);
    }
}

/// The list's `(key, value)` pairs in order.
///
/// # Safety
/// `q` is an initialised list whose strings are NUL-terminated.
pub(crate) unsafe fn pairs<'a>(q: *const CKeyvalq) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
    // SAFETY: caller's promise.
    let mut at = unsafe { (*q).first };
    std::iter::from_fn(move || {
        // SAFETY: a node of the list, its strings NUL-terminated.
        let kv = unsafe { at.as_ref() }?;
        at = kv.next;
        // SAFETY: as above.
        unsafe { Some((cbytes(kv.key), cbytes(kv.value))) }
    })
}

/// A C string's bytes; empty for null.
///
/// # Safety
/// `s` is null or NUL-terminated.
unsafe fn cbytes<'a>(s: *const c_char) -> &'a [u8] {
    if s.is_null() {
        return &[];
    }
    // SAFETY: NUL-terminated (caller).
    unsafe { CStr::from_ptr(s) }.to_bytes()
}

/// Appends `(key, value)` (`TAILQ_INSERT_TAIL`); `false` if out of
/// memory (the list unchanged).
///
/// # Safety
/// `q` is an initialised list.
pub(crate) unsafe fn push(q: *mut CKeyvalq, key: &[u8], value: &[u8]) -> bool {
    let kv = mem::malloc(size_of::<CKeyval>()).cast::<CKeyval>();
    let (k, v) = (mem::c_string(key), mem::c_string(value));
    // SAFETY: fresh blocks; `q` initialised (caller).
    unsafe {
        if kv.is_null() || k.is_null() || v.is_null() {
            mem::free(kv.cast());
            mem::free(k.cast());
            mem::free(v.cast());
            return false;
        }
        kv.write(CKeyval {
            next: ptr::null_mut(),
            prev: (*q).last,
            key: k,
            value: v,
        });
        *(*q).last = kv;
        (*q).last = ptr::addr_of_mut!((*kv).next);
    }
    true
}

/// Unlinks and frees `kv` (`TAILQ_REMOVE`).
///
/// # Safety
/// `kv` is a node of `q`, made by [`push`].
unsafe fn remove(q: *mut CKeyvalq, kv: *mut CKeyval) {
    // SAFETY: caller's promise.
    unsafe {
        if (*kv).next.is_null() {
            (*q).last = (*kv).prev;
        } else {
            (*(*kv).next).prev = (*kv).prev;
        }
        *(*kv).prev = (*kv).next;
        mem::free((*kv).key.cast());
        mem::free((*kv).value.cast());
        mem::free(kv.cast());
    }
}

/// Frees every node; the list is then empty.
///
/// # Safety
/// `q` is an initialised list of nodes made by [`push`].
pub(crate) unsafe fn clear(q: *mut CKeyvalq) {
    // SAFETY: caller's promise.
    unsafe {
        while !(*q).first.is_null() {
            remove(q, (*q).first);
        }
    }
}

/// Fills the (empty, initialised) list with `h`'s fields; `false` if out
/// of memory.
///
/// # Safety
/// `q` is an initialised list.
pub(crate) unsafe fn fill(q: *mut CKeyvalq, h: &Headers) -> bool {
    // SAFETY: caller's promise.
    h.iter().all(|(k, v)| unsafe { push(q, k, v) })
}

/// Makes `h` what the list says: fields rvent refuses (a name that is no
/// token, CR / LF / NUL in a value) are left out, as libevent's
/// `evhttp_add_header` would have refused them.
///
/// # Safety
/// `q` is an initialised list.
pub(crate) unsafe fn write_to(q: *const CKeyvalq, h: &mut Headers) {
    h.clear();
    // SAFETY: caller's promise.
    for (k, v) in unsafe { pairs(q) } {
        let _ = h.add(k, v);
    }
}

/// `evhttp_find_header`: the first value of `key`, ASCII case ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_find_header(
    q: *const CKeyvalq,
    key: *const c_char,
) -> *const c_char {
    ffi(ptr::null(), || {
        if q.is_null() || key.is_null() {
            return ptr::null();
        }
        // SAFETY: a list and a C string (caller).
        unsafe {
            let key = cbytes(key);
            let mut at = (*q).first;
            while let Some(kv) = at.as_ref() {
                if cbytes(kv.key).eq_ignore_ascii_case(key) {
                    return kv.value;
                }
                at = kv.next;
            }
        }
        ptr::null()
    })
}

/// Whether `v` is a value libevent accepts: every run of CR / LF is
/// followed by a space or tab (a folded value).
fn valid_value(v: &[u8]) -> bool {
    let mut i = 0;
    while i < v.len() {
        if matches!(v[i], b'\r' | b'\n') {
            while i < v.len() && matches!(v[i], b'\r' | b'\n') {
                i += 1;
            }
            if !matches!(v.get(i), Some(b' ' | b'\t')) {
                return false;
            }
        }
        i += 1;
    }
    true
}

/// `evhttp_add_header`: -1 for CR or LF in the key, or in the value
/// unless folded (CR LF then white space), as libevent. rvent refuses a
/// folded value on the wire: the write-back leaves such a field out.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_add_header(
    q: *mut CKeyvalq,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    ffi(-1, || {
        if q.is_null() || key.is_null() || value.is_null() {
            return -1;
        }
        // SAFETY: C strings (caller).
        let (k, v) = unsafe { (cbytes(key), cbytes(value)) };
        if k.iter().any(|&b| b == b'\r' || b == b'\n') || !valid_value(v) {
            return -1;
        }
        // SAFETY: an initialised list (caller).
        if unsafe { push(q, k, v) } { 0 } else { -1 }
    })
}

/// `evhttp_remove_header`: the first field named `key`; -1 if none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_remove_header(q: *mut CKeyvalq, key: *const c_char) -> c_int {
    ffi(-1, || {
        if q.is_null() || key.is_null() {
            return -1;
        }
        // SAFETY: a list of this library's nodes and a C string (caller).
        unsafe {
            let key = cbytes(key);
            let mut at = (*q).first;
            while let Some(kv) = at.as_ref() {
                if cbytes(kv.key).eq_ignore_ascii_case(key) {
                    remove(q, at);
                    return 0;
                }
                at = kv.next;
            }
        }
        -1
    })
}

/// `evhttp_clear_headers`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_clear_headers(q: *mut CKeyvalq) {
    // SAFETY: null or a list of this library's nodes (caller).
    ffi((), || unsafe {
        if !q.is_null() {
            clear(q);
        }
    })
}

/// Parses with rvent into a [`Headers`] and copies it into `q`, which is
/// initialised first (libevent's `TAILQ_INIT`); on failure `q` is empty.
///
/// # Safety
/// `q` is writable; `s` is a C string.
unsafe fn parse_into(
    s: *const c_char,
    q: *mut CKeyvalq,
    parse: impl FnOnce(&str, &mut Headers) -> rvent::Result<()>,
) -> c_int {
    if q.is_null() || s.is_null() {
        return -1;
    }
    // SAFETY: caller's promise.
    unsafe {
        init(q);
        let Ok(s) = CStr::from_ptr(s).to_str() else {
            return -1;
        };
        let mut h = Headers::new();
        if parse(s, &mut h).is_err() || !fill(q, &h) {
            clear(q);
            return -1;
        }
    }
    0
}

/// `evhttp_parse_query`: the query of URI `uri`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_parse_query(uri: *const c_char, q: *mut CKeyvalq) -> c_int {
    // SAFETY: caller's promise.
    ffi(-1, || unsafe { parse_into(uri, q, parse_query) })
}

/// `evhttp_parse_query_str`: a bare query string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_parse_query_str(query: *const c_char, q: *mut CKeyvalq) -> c_int {
    // SAFETY: caller's promise.
    ffi(-1, || unsafe {
        parse_into(query, q, |s, h| {
            parse_query_str_with_flags(s, h, QueryFlags::empty())
        })
    })
}

/// `evhttp_parse_query_str_flags` (`EVHTTP_URI_QUERY_NONCONFORMANT` 1,
/// `EVHTTP_URI_QUERY_LAST_VAL` 2: rvent's bits).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evhttp_parse_query_str_flags(
    query: *const c_char,
    q: *mut CKeyvalq,
    flags: u32,
) -> c_int {
    let flags = QueryFlags::from_bits_retain(flags).intersection(QueryFlags::all());
    // SAFETY: caller's promise.
    ffi(-1, || unsafe {
        parse_into(query, q, |s, h| parse_query_str_with_flags(s, h, flags))
    })
}
