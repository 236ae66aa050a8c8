//! `struct evbuffer`: a buffer of its own (`evbuffer_new`) or one side of
//! a bufferevent (`bufferevent_get_input` / `_output`), whose `Evbuffer`
//! lives in rvent's bufferevent table and is reached through the base on
//! every call — the C pointer stays the same for the bufferevent's
//! lifetime, as libevent promises.
//!
//! The rest of the API (iovecs, references, file segments, callbacks) is in
//! [`crate::buffer_extra`].

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use rvent::{Evbuffer, EvbufferPtr, PtrHow};

use crate::abi::{CEvbufferPtr, EVBUFFER_PTR_ADD, EVBUFFER_PTR_SET, EvutilSocket, eol_style};
use crate::bufferevent::{self, CBev};
use crate::{ffi, mem, status};

/// `struct evbuffer`.
pub enum CBuffer {
    /// From `evbuffer_new`.
    Own(Evbuffer),
    /// A side of a bufferevent (`output` or input).
    Bev {
        /// The bufferevent (the record this buffer is part of).
        bev: *mut CBev,
        /// The output side.
        output: bool,
    },
    /// A buffer of a server request (`evhttp_request_get_input_buffer` /
    /// `_output_buffer`), reached through the base on every call.
    Req {
        /// The request (the record this buffer is part of).
        req: *mut crate::http::CReq,
        /// The output side.
        output: bool,
    },
}

impl Drop for CBuffer {
    /// Frees the `evbuffer_add_cb` handles still on this buffer (libevent
    /// frees them with the buffer).
    fn drop(&mut self) {
        crate::buffer_extra::forget_entries(self);
    }
}

/// How many buffer callbacks run now, in all threads: while none does,
/// [`with`] skips the thread-local lookup.
static IN_CALLBACK: AtomicUsize = AtomicUsize::new(0);

/// A buffer lent to a running C callback: its C pointer and the `&mut
/// Evbuffer` rvent lent the Rust closure.
type Lent = (*mut CBuffer, *mut Evbuffer);

const NOT_LENT: Lent = (ptr::null_mut(), ptr::null_mut());

thread_local! {
    /// The buffers lent to the callback running on this thread: one for a
    /// buffer callback, two (source and destination) for a filter.
    static CURRENT: Cell<[Lent; 2]> = const { Cell::new([NOT_LENT; 2]) };
}

/// Runs a C callback of `buf`, during which exports on `buf` reach `b`
/// (rvent holds the buffer mutably while its callbacks run).
pub(crate) fn enter_callback<R>(buf: *mut CBuffer, b: &mut Evbuffer, f: impl FnOnce() -> R) -> R {
    lend([(buf, b), NOT_LENT], f)
}

/// Runs a C callback during which exports on each of `lent`'s C buffers
/// reach the `Evbuffer` paired with it (a filter's source and
/// destination, which rvent takes out of their bufferevents while the
/// filter runs).
pub(crate) fn lend<R>(lent: [Lent; 2], f: impl FnOnce() -> R) -> R {
    let saved = CURRENT.with(|c| c.replace(lent));
    IN_CALLBACK.fetch_add(1, Ordering::Relaxed);
    let r = f();
    IN_CALLBACK.fetch_sub(1, Ordering::Relaxed);
    CURRENT.with(|c| c.set(saved));
    r
}

/// The `Evbuffer` lent to the running callback as `buf`, if any.
#[inline]
fn lent(buf: *mut CBuffer) -> Option<*mut Evbuffer> {
    if IN_CALLBACK.load(Ordering::Relaxed) == 0 || buf.is_null() {
        return None;
    }
    CURRENT.with(|c| {
        c.get()
            .iter()
            .find(|(cur, b)| *cur == buf && !b.is_null())
            .map(|&(_, b)| b)
    })
}

/// Runs `f` on the `Evbuffer` of `buf`; `fail` for null or a bufferevent
/// that is gone.
///
/// # Safety
/// `buf` is null or a live `CBuffer`.
#[inline]
pub(crate) unsafe fn with<R>(buf: *mut CBuffer, fail: R, f: impl FnOnce(&mut Evbuffer) -> R) -> R {
    if let Some(b) = lent(buf) {
        // SAFETY: the reference rvent lent the running callback, from
        // which this call descends.
        return f(unsafe { &mut *b });
    }
    // SAFETY: null or live (caller).
    match unsafe { buf.as_mut() } {
        None => fail,
        Some(CBuffer::Own(b)) => f(b),
        // SAFETY: a bufferevent's buffer lives inside its record.
        Some(CBuffer::Bev { bev, output }) => match unsafe { bufferevent::side(*bev, *output) } {
            Some(b) => f(b),
            None => fail,
        },
        // SAFETY: a request's buffer lives inside its record.
        Some(CBuffer::Req { req, output }) => match unsafe { crate::http::side(*req, *output) } {
            Some(b) => f(b),
            None => fail,
        },
    }
}

/// Runs `f` on two distinct buffers (`dst`, `src`). Two sides of one
/// bufferevent come from rvent together; sides of two different
/// bufferevents cannot be borrowed at once from rvent's API, so that case
/// is `fail` (see the crate's README).
///
/// # Safety
/// Both null or live.
pub(crate) unsafe fn with2<R>(
    dst: *mut CBuffer,
    src: *mut CBuffer,
    fail: R,
    f: impl FnOnce(&mut Evbuffer, &mut Evbuffer) -> R,
) -> R {
    if dst.is_null() || src.is_null() || dst == src {
        return fail;
    }
    // SAFETY: distinct live buffers (caller); an `Own` buffer, and a
    // buffer lent to a filter (taken out of its bufferevent), are separate
    // memory from everything rvent's base holds.
    unsafe {
        match (lent(dst), lent(src)) {
            (Some(d), Some(s)) => return f(&mut *d, &mut *s),
            (Some(d), None) => return with(src, fail, |s| f(&mut *d, s)),
            (None, Some(s)) => return with(dst, fail, |d| f(d, &mut *s)),
            (None, None) => {}
        }
        match (&mut *dst, &mut *src) {
            (CBuffer::Own(d), _) => with(src, fail, |s| f(d, s)),
            (_, CBuffer::Own(s)) => with(dst, fail, |d| f(d, s)),
            (CBuffer::Bev { bev: a, output: ao }, CBuffer::Bev { bev: b, output: bo })
                if a == b && ao != bo =>
            {
                match bufferevent::both(*a) {
                    Some(bufs) if *ao => f(bufs.output, bufs.input),
                    Some(bufs) => f(bufs.input, bufs.output),
                    None => fail,
                }
            }
            (CBuffer::Bev { bev: a, output: ao }, CBuffer::Bev { bev: b, output: bo })
                if a != b =>
            {
                match bufferevent::sides_of_two(*a, *ao, *b, *bo) {
                    Some((d, s)) => f(d, s),
                    None => fail,
                }
            }
            _ => fail,
        }
    }
}

/// `evbuffer_new`.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_new() -> *mut CBuffer {
    ffi(ptr::null_mut(), || {
        mem::into_raw(CBuffer::Own(Evbuffer::new()))
    })
}

/// `evbuffer_free` (a bufferevent's buffers go with the bufferevent).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_free(buf: *mut CBuffer) {
    // SAFETY: null or from evbuffer_new.
    ffi((), || unsafe {
        if let Some(CBuffer::Own(_)) = buf.as_ref() {
            mem::drop_raw(buf);
        }
    })
}

/// `evbuffer_get_length`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_get_length(buf: *const CBuffer) -> usize {
    // SAFETY: null or live.
    ffi(0, || unsafe { with(buf.cast_mut(), 0, |b| b.len()) })
}

/// `evbuffer_get_contiguous_space`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_get_contiguous_space(buf: *const CBuffer) -> usize {
    // SAFETY: null or live.
    ffi(0, || unsafe {
        with(buf.cast_mut(), 0, |b| b.contiguous_space())
    })
}

/// A C byte range as a slice (`len` 0 needs no pointer).
///
/// # Safety
/// `data` points to `len` readable bytes unless `len` is 0.
unsafe fn bytes<'a>(data: *const c_void, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    // SAFETY: caller's promise.
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts(data.cast(), len) })
}

/// A writable C byte range as a slice.
///
/// # Safety
/// `data` points to `len` writable bytes unless `len` is 0.
unsafe fn bytes_mut<'a>(data: *mut c_void, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    // SAFETY: caller's promise.
    (!data.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(data.cast(), len) })
}

/// `evbuffer_add`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add(buf: *mut CBuffer, data: *const c_void, len: usize) -> c_int {
    ffi(-1, || {
        // SAFETY: `len` readable bytes; a live buffer.
        let Some(d) = (unsafe { bytes(data, len) }) else {
            return -1;
        };
        unsafe { with(buf, -1, |b| status(b.add(d))) }
    })
}

/// `evbuffer_prepend`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_prepend(
    buf: *mut CBuffer,
    data: *const c_void,
    len: usize,
) -> c_int {
    ffi(-1, || {
        // SAFETY: as evbuffer_add.
        let Some(d) = (unsafe { bytes(data, len) }) else {
            return -1;
        };
        unsafe { with(buf, -1, |b| status(b.prepend(d))) }
    })
}

/// `evbuffer_expand`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_expand(buf: *mut CBuffer, n: usize) -> c_int {
    // SAFETY: a live buffer.
    ffi(-1, || unsafe { with(buf, -1, |b| status(b.expand(n))) })
}

/// `evbuffer_add_buffer`: moves all of `src` to the end of `dst`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_buffer(dst: *mut CBuffer, src: *mut CBuffer) -> c_int {
    // SAFETY: live buffers.
    ffi(-1, || unsafe {
        with2(dst, src, -1, |d, s| status(d.add_buffer(s)))
    })
}

/// `evbuffer_prepend_buffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_prepend_buffer(dst: *mut CBuffer, src: *mut CBuffer) -> c_int {
    // SAFETY: live buffers.
    ffi(-1, || unsafe {
        with2(dst, src, -1, |d, s| status(d.prepend_buffer(s)))
    })
}

/// `evbuffer_remove_buffer`: moves up to `len` bytes; the count moved.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_remove_buffer(
    src: *mut CBuffer,
    dst: *mut CBuffer,
    len: usize,
) -> c_int {
    // SAFETY: live buffers.
    ffi(-1, || unsafe {
        with2(dst, src, -1, |d, s| {
            s.remove_buffer(d, len).map_or(-1, |n| n as c_int)
        })
    })
}

/// `evbuffer_drain`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_drain(buf: *mut CBuffer, len: usize) -> c_int {
    // SAFETY: a live buffer.
    ffi(-1, || unsafe { with(buf, -1, |b| status(b.drain(len))) })
}

/// `evbuffer_remove`: the bytes copied out and drained, -1 on error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_remove(
    buf: *mut CBuffer,
    data: *mut c_void,
    len: usize,
) -> c_int {
    ffi(-1, || {
        // SAFETY: `len` writable bytes; a live buffer.
        let Some(out) = (unsafe { bytes_mut(data, len) }) else {
            return -1;
        };
        unsafe { with(buf, -1, |b| b.remove(out).map_or(-1, |n| n as c_int)) }
    })
}

/// `evbuffer_copyout`: copies without draining.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_copyout(
    buf: *mut CBuffer,
    data: *mut c_void,
    len: usize,
) -> isize {
    ffi(-1, || {
        // SAFETY: as evbuffer_remove.
        let Some(out) = (unsafe { bytes_mut(data, len) }) else {
            return -1;
        };
        unsafe { with(buf, -1, |b| b.copyout(out) as isize) }
    })
}

/// An rvent position from a C one (`None` for an out-of-range one).
pub(crate) fn rust_ptr(b: &Evbuffer, p: &CEvbufferPtr) -> Option<EvbufferPtr> {
    let pos = usize::try_from(p.pos).ok()?;
    let mut r = EvbufferPtr::default();
    b.ptr_set(&mut r, pos, PtrHow::Set).ok()?;
    Some(r)
}

/// An optional C position as an optional rvent one: `None` for one out of
/// range, `Some(None)` for none given.
fn rust_ptr_opt(b: &Evbuffer, p: Option<&CEvbufferPtr>) -> Option<Option<EvbufferPtr>> {
    match p {
        None => Some(None),
        Some(p) => rust_ptr(b, p).map(Some),
    }
}

/// A C position (`pos` -1: not found).
fn c_ptr(p: Option<usize>, len: usize) -> CEvbufferPtr {
    match p {
        Some(pos) => CEvbufferPtr {
            pos: pos as isize,
            chain: if pos < len {
                ptr::dangling_mut::<u8>().cast()
            } else {
                ptr::null_mut()
            },
            pos_in_chain: 0,
        },
        None => CEvbufferPtr {
            pos: -1,
            chain: ptr::null_mut(),
            pos_in_chain: 0,
        },
    }
}

/// `evbuffer_copyout_from`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_copyout_from(
    buf: *mut CBuffer,
    pos: *const CEvbufferPtr,
    data: *mut c_void,
    len: usize,
) -> isize {
    ffi(-1, || {
        // SAFETY: writable bytes, a valid position or null, a live buffer.
        let Some(out) = (unsafe { bytes_mut(data, len) }) else {
            return -1;
        };
        let start = unsafe { pos.as_ref() };
        unsafe {
            with(buf, -1, |b| match rust_ptr_opt(b, start) {
                None => -1,
                Some(None) => b.copyout(out) as isize,
                Some(Some(p)) => b.copyout_from(&p, out).map_or(-1, |n| n as isize),
            })
        }
    })
}

/// `evbuffer_pullup`: makes the first `size` bytes contiguous (-1: all).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_pullup(buf: *mut CBuffer, size: isize) -> *mut u8 {
    ffi(ptr::null_mut(), || {
        let n = usize::try_from(size).ok();
        // SAFETY: a live buffer; the pointer stays valid until the next change.
        unsafe {
            with(buf, ptr::null_mut(), |b| match b.pullup(n) {
                Some(s) if !s.is_empty() => s.as_mut_ptr(),
                _ => ptr::null_mut(),
            })
        }
    })
}

/// `evbuffer_readln`: a line in `malloc` memory (the caller frees it).
///
/// The line is copied straight into the C string (found with
/// `search_eol`, copied out, then drained) rather than through
/// `Evbuffer::readln`'s `Line`: that would be a second allocation and a
/// second copy per line (~230 instructions of 736 per short line).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_readln(
    buf: *mut CBuffer,
    n_read_out: *mut usize,
    style: c_int,
) -> *mut c_char {
    ffi(ptr::null_mut(), || {
        let Some(style) = eol_style(style) else {
            return ptr::null_mut();
        };
        // SAFETY: a live buffer.
        unsafe {
            with(buf, ptr::null_mut(), |b| {
                if b.is_frozen(true) {
                    return ptr::null_mut();
                }
                let Some((at, eol)) = b.search_eol(None, style) else {
                    return ptr::null_mut();
                };
                let n = at.pos();
                let Some(line) = mem::c_string_with(n, |out| {
                    b.copyout(out);
                }) else {
                    return ptr::null_mut();
                };
                if b.drain(n + eol).is_err() {
                    mem::free(line.cast());
                    return ptr::null_mut();
                }
                if let Some(o) = crate::base::unsafe_mut(n_read_out) {
                    *o = n;
                }
                line
            })
        }
    })
}

/// `evbuffer_readline` (compat): `EVBUFFER_EOL_ANY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_readline(buf: *mut CBuffer) -> *mut c_char {
    // SAFETY: forwarded contract.
    unsafe { evbuffer_readln(buf, ptr::null_mut(), 0) }
}

/// `evbuffer_search`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_search(
    buf: *mut CBuffer,
    what: *const c_char,
    len: usize,
    start: *const CEvbufferPtr,
) -> CEvbufferPtr {
    // SAFETY: forwarded contract.
    unsafe { evbuffer_search_range(buf, what, len, start, ptr::null()) }
}

/// `evbuffer_search_range`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_search_range(
    buf: *mut CBuffer,
    what: *const c_char,
    len: usize,
    start: *const CEvbufferPtr,
    end: *const CEvbufferPtr,
) -> CEvbufferPtr {
    ffi(c_ptr(None, 0), || {
        // SAFETY: `len` readable bytes, null-or-valid positions, a live buffer.
        let Some(needle) = (unsafe { bytes(what.cast(), len) }) else {
            return c_ptr(None, 0);
        };
        let (start, end) = unsafe { (start.as_ref(), end.as_ref()) };
        unsafe {
            with(buf, c_ptr(None, 0), |b| {
                let Some(s) = rust_ptr_opt(b, start) else {
                    return c_ptr(None, 0);
                };
                let Some(e) = rust_ptr_opt(b, end) else {
                    return c_ptr(None, 0);
                };
                c_ptr(
                    b.search_range(needle, s.as_ref(), e.as_ref())
                        .map(|p| p.pos()),
                    b.len(),
                )
            })
        }
    })
}

/// `evbuffer_search_eol`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_search_eol(
    buf: *mut CBuffer,
    start: *const CEvbufferPtr,
    eol_len_out: *mut usize,
    style: c_int,
) -> CEvbufferPtr {
    ffi(c_ptr(None, 0), || {
        let Some(style) = eol_style(style) else {
            return c_ptr(None, 0);
        };
        // SAFETY: a null-or-valid position, a live buffer.
        let start = unsafe { start.as_ref() };
        unsafe {
            with(buf, c_ptr(None, 0), |b| {
                let Some(s) = rust_ptr_opt(b, start) else {
                    return c_ptr(None, 0);
                };
                // libevent reports no end-of-line as length 0.
                let (pos, n) = match b.search_eol(s.as_ref(), style) {
                    Some((p, n)) => (Some(p.pos()), n),
                    None => (None, 0),
                };
                if let Some(o) = crate::base::unsafe_mut(eol_len_out) {
                    *o = n;
                }
                c_ptr(pos, b.len())
            })
        }
    })
}

/// `evbuffer_ptr_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_ptr_set(
    buf: *mut CBuffer,
    pos: *mut CEvbufferPtr,
    position: usize,
    how: c_int,
) -> c_int {
    ffi(-1, || {
        let Some(p) = crate::base::unsafe_mut(pos) else {
            return -1;
        };
        let target = match how {
            EVBUFFER_PTR_SET => Some(position),
            EVBUFFER_PTR_ADD => usize::try_from(p.pos)
                .ok()
                .and_then(|x| x.checked_add(position)),
            _ => None,
        };
        // SAFETY: a live buffer.
        let len = unsafe { with(buf, None, |b| Some(b.len())) };
        match (target, len) {
            (Some(t), Some(len)) if t <= len => {
                *p = c_ptr(Some(t), len);
                0
            }
            _ => {
                *p = c_ptr(None, 0);
                -1
            }
        }
    })
}

/// `evbuffer_read`: reads up to `howmuch` (-1: rvent's default) from `fd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_read(
    buf: *mut CBuffer,
    fd: EvutilSocket,
    howmuch: c_int,
) -> c_int {
    let n = usize::try_from(howmuch).ok();
    // SAFETY: a live buffer.
    ffi(-1, || unsafe {
        with(buf, -1, |b| io_count(b.read_from(fd, n)))
    })
}

/// An I/O result as a C count (`errno` set on failure).
fn io_count(r: std::io::Result<usize>) -> c_int {
    match r {
        Ok(n) => n as c_int,
        Err(e) => {
            if let Some(code) = e.raw_os_error() {
                // SAFETY: errno is thread-local.
                unsafe { *libc::__errno_location() = code };
            }
            -1
        }
    }
}

/// `evbuffer_write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_write(buf: *mut CBuffer, fd: EvutilSocket) -> c_int {
    // SAFETY: a live buffer.
    ffi(-1, || unsafe {
        with(buf, -1, |b| io_count(b.write_to(fd)))
    })
}

/// `evbuffer_write_atmost` (-1: everything).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_write_atmost(
    buf: *mut CBuffer,
    fd: EvutilSocket,
    howmuch: isize,
) -> c_int {
    let n = usize::try_from(howmuch).ok();
    // SAFETY: a live buffer.
    ffi(-1, || unsafe {
        with(buf, -1, |b| io_count(b.write_atmost(fd, n)))
    })
}

/// `evbuffer_freeze`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_freeze(buf: *mut CBuffer, at_front: c_int) -> c_int {
    // SAFETY: a live buffer.
    ffi(-1, || unsafe {
        with(buf, -1, |b| {
            b.freeze(at_front != 0);
            0
        })
    })
}

/// `evbuffer_unfreeze`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_unfreeze(buf: *mut CBuffer, at_front: c_int) -> c_int {
    // SAFETY: a live buffer.
    ffi(-1, || unsafe {
        with(buf, -1, |b| {
            b.unfreeze(at_front != 0);
            0
        })
    })
}

/// `evbuffer_set_max_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_set_max_read(buf: *mut CBuffer, max: usize) -> c_int {
    // SAFETY: a live buffer.
    ffi(-1, || unsafe {
        with(buf, -1, |b| status(b.set_max_read(max)))
    })
}

/// `evbuffer_get_max_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_get_max_read(buf: *mut CBuffer) -> usize {
    // SAFETY: a live buffer.
    ffi(0, || unsafe { with(buf, 0, |b| b.max_read()) })
}

/// `evbuffer_enable_locking`: accepted; a buffer belongs to one thread.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_enable_locking(_buf: *mut CBuffer, _lock: *mut c_void) -> c_int {
    0
}

/// `evbuffer_lock`: nothing to lock.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_lock(_buf: *mut CBuffer) {}

/// `evbuffer_unlock`.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_unlock(_buf: *mut CBuffer) {}
