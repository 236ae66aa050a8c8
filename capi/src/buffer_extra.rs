//! The rest of `evbuffer_*`: reserve / commit and peek with
//! `evbuffer_iovec`s, `add_iovec`, references (to C memory, to another
//! buffer), file segments, `evbuffer_find`, flags, and the callbacks
//! (`evbuffer_add_cb` handles, the old `evbuffer_setcb`).
//!
//! A C callback on a buffer may call `evbuffer_*` on that same buffer
//! while rvent holds it: the callback's `&mut Evbuffer` is recorded
//! (`crate::buffer::enter_callback`) and every export reaches the
//! buffer through it, as exports reach a base through its callback's
//! reference.

use std::ffi::{c_int, c_uint, c_void};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rvent::{CbEntry, CbInfo, Evbuffer, EvbufferFileSegment, SegFlags};

use crate::abi::{CEvbufferCbInfo, CEvbufferIovec, CEvbufferPtr, EvutilSocket};
use crate::buffer::{CBuffer, enter_callback, rust_ptr, with, with2};
use crate::bufferevent;
use crate::{ffi, mem, status};

/// The most extents one call handles (libevent callers pass 1–16).
const MAX_IOV: usize = 64;

/// `evbuffer_reserve_space`: up to `n_vec` extents with room for `size`
/// bytes; the number used, -1 on failure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_reserve_space(
    buf: *mut CBuffer,
    size: isize,
    vec: *mut CEvbufferIovec,
    n_vec: c_int,
) -> c_int {
    ffi(-1, || {
        let (Ok(mut size), Ok(n)) = (usize::try_from(size), usize::try_from(n_vec)) else {
            return -1;
        };
        if vec.is_null() || n == 0 {
            return -1;
        }
        let n = n.min(MAX_IOV);
        // SAFETY: `n_vec` writable extents (caller); a live buffer.
        unsafe {
            with(buf, -1, |b| {
                // libevent hands out each chain's whole room, which
                // callers rely on (regress `reserve2`, `reserve_many`):
                // with several extents, reserve all the room of the chains
                // used, allocating first if they are short.
                if n > 1 {
                    let mut room = b.reservable_space(n);
                    if room < size {
                        let mut probe: [IoSliceMut<'_>; MAX_IOV] =
                            std::array::from_fn(|_| IoSliceMut::new(&mut []));
                        if b.reserve_space_vectored(size, &mut probe[..n]).is_err() {
                            return -1;
                        }
                        room = b.reservable_space(n);
                    }
                    // (rvent reserves at most 4 GiB at once.)
                    size = size.max(room.min(u32::MAX as usize));
                }
                let mut slots: [IoSliceMut<'_>; MAX_IOV] =
                    std::array::from_fn(|_| IoSliceMut::new(&mut []));
                match b.reserve_space_vectored(size, &mut slots[..n]) {
                    Ok(used) => {
                        for (i, s) in slots[..used].iter_mut().enumerate() {
                            *vec.add(i) = CEvbufferIovec {
                                iov_base: s.as_mut_ptr().cast(),
                                iov_len: s.len(),
                            };
                        }
                        used as c_int
                    }
                    Err(_) => -1,
                }
            })
        }
    })
}

/// `evbuffer_commit_space`: commits the reserved extents, each with the
/// length the caller wrote.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_commit_space(
    buf: *mut CBuffer,
    vec: *mut CEvbufferIovec,
    n_vecs: c_int,
) -> c_int {
    ffi(-1, || {
        let Ok(n) = usize::try_from(n_vecs) else {
            return -1;
        };
        if n > MAX_IOV || (n > 0 && vec.is_null()) {
            return -1;
        }
        let mut lens = [0usize; MAX_IOV];
        for (i, l) in lens[..n].iter_mut().enumerate() {
            // SAFETY: `n_vecs` readable extents (caller).
            *l = unsafe { (*vec.add(i)).iov_len };
        }
        // SAFETY: a live buffer.
        unsafe { with(buf, -1, |b| status(b.commit_space_vectored(&lens[..n]))) }
    })
}

/// `evbuffer_peek`: the extents holding `len` bytes (-1: all) from
/// `start_at`; fills up to `n_vec` and returns how many are needed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_peek(
    buf: *mut CBuffer,
    len: isize,
    start_at: *mut CEvbufferPtr,
    vec: *mut CEvbufferIovec,
    n_vec: c_int,
) -> c_int {
    ffi(-1, || {
        let n = usize::try_from(n_vec).unwrap_or(0).min(MAX_IOV);
        let n = if vec.is_null() { 0 } else { n };
        let want = usize::try_from(len).ok();
        // SAFETY: null or a valid position; `n_vec` writable extents; a
        // live buffer.
        let start = unsafe { start_at.as_ref() };
        unsafe {
            with(buf, -1, |b| {
                let s = match start.map(|p| rust_ptr(b, p)) {
                    Some(None) => return -1,
                    Some(Some(p)) => Some(p),
                    None => None,
                };
                let mut slots: [IoSlice<'_>; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
                let needed = b.peek(want, s.as_ref(), &mut slots[..n]);
                for (i, sl) in slots[..n.min(needed)].iter().enumerate() {
                    *vec.add(i) = CEvbufferIovec {
                        iov_base: sl.as_ptr().cast_mut().cast(),
                        iov_len: sl.len(),
                    };
                }
                needed as c_int
            })
        }
    })
}

/// `evbuffer_add_iovec`: the bytes added, -1 on failure.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_iovec(
    buf: *mut CBuffer,
    vec: *mut CEvbufferIovec,
    n_vec: c_int,
) -> c_int {
    ffi(-1, || {
        let Ok(n) = usize::try_from(n_vec) else {
            return -1;
        };
        if n > 0 && vec.is_null() {
            return -1;
        }
        // SAFETY: `n_vec` readable extents of readable bytes; a live buffer.
        unsafe {
            with(buf, -1, |b| {
                let mut total = 0usize;
                for chunk in (0..n).step_by(MAX_IOV) {
                    let m = (n - chunk).min(MAX_IOV);
                    let mut slots: [IoSlice<'_>; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
                    for (i, s) in slots[..m].iter_mut().enumerate() {
                        let v = *vec.add(chunk + i);
                        if v.iov_len > 0 {
                            *s = IoSlice::new(std::slice::from_raw_parts(
                                v.iov_base.cast(),
                                v.iov_len,
                            ));
                        }
                    }
                    match b.add_slices(&slots[..m]) {
                        Ok(k) => total += k,
                        Err(_) => return -1,
                    }
                }
                total as c_int
            })
        }
    })
}

/// `evbuffer_ref_cleanup_cb`.
type RefCleanup = unsafe extern "C" fn(*const c_void, usize, *mut c_void);

/// Caller memory added by reference: the bytes stay the caller's until
/// the cleanup runs.
struct CRef {
    data: *const u8,
    len: usize,
}
impl AsRef<[u8]> for CRef {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `evbuffer_add_reference`'s contract: the caller keeps
        // the bytes valid until the cleanup function is called.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

/// `evbuffer_add_reference`: no copy; `cleanup(data, len, arg)` when the
/// buffer no longer needs the bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_reference(
    buf: *mut CBuffer,
    data: *const c_void,
    len: usize,
    cleanup: Option<RefCleanup>,
    arg: *mut c_void,
) -> c_int {
    ffi(-1, || {
        if data.is_null() && len > 0 {
            return -1;
        }
        let r = CRef {
            data: data.cast(),
            len,
        };
        let done = move |r: CRef| {
            if let Some(f) = cleanup {
                // SAFETY: the caller's cleanup with its own arguments.
                unsafe { f(r.data.cast(), r.len, arg) }
            }
        };
        // SAFETY: a live buffer.
        unsafe { with(buf, -1, |b| status(b.add_reference_with_cleanup(r, done))) }
    })
}

/// `evbuffer_add_buffer_reference`: `outbuf` refers to `inbuf`'s bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_buffer_reference(
    outbuf: *mut CBuffer,
    inbuf: *mut CBuffer,
) -> c_int {
    // SAFETY: live buffers.
    ffi(-1, || unsafe {
        with2(outbuf, inbuf, -1, |d, s| status(d.add_buffer_reference(s)))
    })
}

/// `struct evbuffer_file_segment`: rvent's segment behind the first
/// words of libevent's layout (lock, refcnt, flags, then the bitfields
/// `can_sendfile : 1` and `is_mapping : 1`), which programs and libevent's
/// regress read to learn how a segment's bytes will travel. They say what
/// rvent does: `sendfile` unless `EVBUF_FS_DISABLE_SENDFILE`, mapped
/// unless `EVBUF_FS_DISABLE_MMAP` (or the mapping failed).
#[repr(C)]
pub struct CSegment {
    lock: *mut c_void,
    refcnt: c_int,
    flags: c_uint,
    kind: c_uint,
    seg: EvbufferFileSegment,
}

// libevent 2.1's `struct evbuffer_file_segment` on x86-64.
const _: () = assert!(std::mem::offset_of!(CSegment, refcnt) == 8);
const _: () = assert!(std::mem::offset_of!(CSegment, flags) == 12);
const _: () = assert!(std::mem::offset_of!(CSegment, kind) == 16);

impl CSegment {
    /// `can_sendfile` is bit 0 of the bitfield word, `is_mapping` bit 1
    /// (GCC's order on x86-64: the first declared field is the lowest bit).
    fn new(seg: EvbufferFileSegment, flags: SegFlags) -> CSegment {
        let sendfile = !flags.contains(SegFlags::DISABLE_SENDFILE);
        CSegment {
            lock: ptr::null_mut(),
            refcnt: 1,
            flags: c_uint::from(flags.bits()),
            kind: c_uint::from(sendfile) | c_uint::from(seg.is_mapped()) << 1,
            seg,
        }
    }
}

/// `evbuffer_file_segment_new`: `length` -1 is to the end of the file.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_file_segment_new(
    fd: EvutilSocket,
    offset: i64,
    length: i64,
    flags: u32,
) -> *mut CSegment {
    ffi(ptr::null_mut(), || {
        let (Ok(off), true) = (u64::try_from(offset), fd >= 0) else {
            return ptr::null_mut();
        };
        let len = u64::try_from(length).ok();
        let flags = SegFlags::from_bits_retain((flags & 7) as u8);
        // SAFETY: the caller hands the fd over; rvent closes it only with
        // EVBUF_FS_CLOSE_ON_FREE and gives it back (into_raw) otherwise.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        match EvbufferFileSegment::new(owned, off, len, flags) {
            Ok(s) => mem::into_raw(CSegment::new(s, flags)),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `evbuffer_file_segment_free`: the segment lives on in the buffers that
/// hold its bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_file_segment_free(seg: *mut CSegment) {
    if !seg.is_null() {
        // SAFETY: from evbuffer_file_segment_new.
        ffi((), || unsafe { mem::drop_raw(seg) })
    }
}

/// `evbuffer_file_segment_cleanup_cb`.
type SegCleanup = unsafe extern "C" fn(*const CSegment, c_int, *mut c_void);

/// `evbuffer_file_segment_add_cleanup_cb`: called when the segment's last
/// user lets go (its pointer is then only an identifier).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_file_segment_add_cleanup_cb(
    seg: *mut CSegment,
    cb: Option<SegCleanup>,
    arg: *mut c_void,
) {
    ffi((), || {
        // SAFETY: a live segment.
        let (Some(s), Some(cb)) = (unsafe { seg.as_ref() }, cb) else {
            return;
        };
        let flags = 0;
        // SAFETY: the caller's cleanup with its own arguments.
        let _ = s.seg.add_cleanup(move || unsafe { cb(seg, flags, arg) });
    })
}

/// `evbuffer_add_file_segment`: `length` -1 is the rest of the segment.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_file_segment(
    buf: *mut CBuffer,
    seg: *mut CSegment,
    offset: i64,
    length: i64,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a live segment and buffer.
        let (Some(s), Ok(off)) = (unsafe { seg.as_ref() }, usize::try_from(offset)) else {
            return -1;
        };
        let len = usize::try_from(length).ok();
        unsafe { with(buf, -1, |b| status(b.add_file_segment(&s.seg, off, len))) }
    })
}

/// `evbuffer_add_file`: the buffer owns (and closes) `fd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_file(
    buf: *mut CBuffer,
    fd: EvutilSocket,
    offset: i64,
    length: i64,
) -> c_int {
    ffi(-1, || {
        let (Ok(off), true) = (u64::try_from(offset), fd >= 0) else {
            return -1;
        };
        let len = u64::try_from(length).ok();
        // SAFETY: the caller hands `fd` over (libevent closes it).
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        unsafe { with(buf, -1, |b| status(b.add_file(owned, off, len))) }
    })
}

/// `evbuffer_find` (compat): the first occurrence made contiguous.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_find(buf: *mut CBuffer, what: *const u8, len: usize) -> *mut u8 {
    ffi(ptr::null_mut(), || {
        if what.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `len` readable bytes; a live buffer.
        let needle = unsafe { std::slice::from_raw_parts(what, len) };
        unsafe {
            with(buf, ptr::null_mut(), |b| {
                let Some(p) = b.search(needle, None) else {
                    return ptr::null_mut();
                };
                let at = p.pos();
                match b.pullup(Some(at + len)) {
                    Some(s) => s.as_mut_ptr().add(at),
                    None => ptr::null_mut(),
                }
            })
        }
    })
}

/// `evbuffer_set_flags`: `EVBUFFER_FLAG_DRAINS_TO_FD` is a hint only.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_set_flags(buf: *mut CBuffer, _flags: u64) -> c_int {
    if buf.is_null() { -1 } else { 0 }
}

/// `evbuffer_clear_flags`.
#[unsafe(no_mangle)]
pub extern "C" fn evbuffer_clear_flags(buf: *mut CBuffer, _flags: u64) -> c_int {
    if buf.is_null() { -1 } else { 0 }
}

/// `evbuffer_cb_func`.
type CbFunc = unsafe extern "C" fn(*mut CBuffer, *const CEvbufferCbInfo, *mut c_void);

/// `struct evbuffer_cb_entry`: the handle `evbuffer_add_cb` returns, also
/// a node of the list of every live handle (`ENTRIES`) — rvent's
/// [`CbEntry`] names a callback but keeps no (function, argument) pair to
/// search, which `evbuffer_remove_cb` needs.
pub struct CCbEntry {
    entry: CbEntry,
    /// The buffer it was added to.
    buf: *mut CBuffer,
    /// The C function and argument (what `evbuffer_remove_cb` matches).
    cb: CbFunc,
    arg: *mut c_void,
    /// The list links.
    prev: *mut CCbEntry,
    next: *mut CCbEntry,
}

/// Every live `evbuffer_add_cb` handle, newest first: an intrusive list,
/// so registering takes no memory beyond the handle itself.
struct Entries {
    head: *mut CCbEntry,
}
// SAFETY: the list is only touched under the mutex.
unsafe impl Send for Entries {}

static ENTRIES: Mutex<Entries> = Mutex::new(Entries {
    head: ptr::null_mut(),
});
/// How many handles are listed: while none is, freeing a buffer skips the
/// lock.
static LISTED: AtomicUsize = AtomicUsize::new(0);

fn entries() -> MutexGuard<'static, Entries> {
    ENTRIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Links `e` at the head of the list.
///
/// # Safety
/// `e` is a live handle not in the list.
unsafe fn link(e: *mut CCbEntry) {
    let mut list = entries();
    // SAFETY: listed handles are live until unlinked under this lock.
    unsafe {
        (*e).prev = ptr::null_mut();
        (*e).next = list.head;
        if let Some(h) = list.head.as_mut() {
            h.prev = e;
        }
    }
    list.head = e;
    LISTED.fetch_add(1, Ordering::Relaxed);
}

/// Unlinks `e` (the caller holds the lock).
///
/// # Safety
/// `e` is a listed handle.
unsafe fn unlink(list: &mut Entries, e: *mut CCbEntry) {
    // SAFETY: listed handles are live (caller holds the lock).
    unsafe {
        match (*e).prev.as_mut() {
            Some(p) => p.next = (*e).next,
            None => list.head = (*e).next,
        }
        if let Some(n) = (*e).next.as_mut() {
            n.prev = (*e).prev;
        }
    }
    LISTED.fetch_sub(1, Ordering::Relaxed);
}

/// The first listed handle on `buf` matching `pick`, unlinked (and to be
/// freed by the caller); null if none.
fn take_entry(buf: *mut CBuffer, pick: impl Fn(&CCbEntry) -> bool) -> *mut CCbEntry {
    if LISTED.load(Ordering::Relaxed) == 0 {
        return ptr::null_mut();
    }
    let mut list = entries();
    let mut p = list.head;
    // SAFETY: listed handles are live until unlinked under this lock.
    unsafe {
        while let Some(e) = p.as_ref() {
            if e.buf == buf && pick(e) {
                unlink(&mut list, p);
                return p;
            }
            p = e.next;
        }
    }
    ptr::null_mut()
}

/// Frees every handle on `buf` (its callbacks are gone: the buffer is
/// freed, or `evbuffer_setcb` replaced them).
pub(crate) fn forget_entries(buf: *mut CBuffer) {
    loop {
        let e = take_entry(buf, |_| true);
        if e.is_null() {
            return;
        }
        // SAFETY: unlinked, no longer reachable from the list.
        unsafe { mem::drop_raw(e) };
    }
}

/// Runs a C buffer callback with `b` recorded as `buf`'s current buffer.
fn c_callback(buf: *mut CBuffer, cb: CbFunc, arg: *mut c_void, b: &mut Evbuffer, info: &CbInfo) {
    let ci = CEvbufferCbInfo {
        orig_size: info.orig_size,
        n_added: info.n_added,
        n_deleted: info.n_deleted,
    };
    // A bufferevent's buffer: the bufferevent is held, so freeing it from
    // the callback cannot pull the buffer from under the running operation.
    // SAFETY: `buf` is the live buffer whose operation runs this callback.
    let bev = match unsafe { &*buf } {
        CBuffer::Bev { bev, .. } => Some(*bev),
        _ => None,
    };
    if let Some(bev) = bev {
        // SAFETY: the record `buf` belongs to is live.
        unsafe { bufferevent::hold(bev) };
    }
    // SAFETY: the caller's callback with its own argument; calls it makes
    // on `buf` reach `b` (see the module docs).
    enter_callback(buf, b, || unsafe { cb(buf, &ci, arg) });
    if let Some(bev) = bev {
        // SAFETY: held above, so still live.
        unsafe { bufferevent::release_held(bev) };
    }
}

/// `evbuffer_add_cb`: a handle for `evbuffer_remove_cb_entry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_add_cb(
    buf: *mut CBuffer,
    cb: Option<CbFunc>,
    arg: *mut c_void,
) -> *mut CCbEntry {
    ffi(ptr::null_mut(), || {
        let Some(cb) = cb else {
            return ptr::null_mut();
        };
        let f = move |b: &mut Evbuffer, info: &CbInfo| c_callback(buf, cb, arg, b, info);
        // SAFETY: a live buffer.
        let Some(entry) = (unsafe { with(buf, None, |b| b.add_cb(f).ok()) }) else {
            return ptr::null_mut();
        };
        let p = mem::into_raw(CCbEntry {
            entry,
            buf,
            cb,
            arg,
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
        });
        if p.is_null() {
            // SAFETY: a live buffer.
            unsafe { with(buf, (), |b| drop(b.remove_cb(entry))) };
        } else {
            // SAFETY: just allocated.
            unsafe { link(p) };
        }
        p
    })
}

/// `evbuffer_remove_cb_entry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_remove_cb_entry(buf: *mut CBuffer, ent: *mut CCbEntry) -> c_int {
    ffi(-1, || {
        if ent.is_null() {
            return -1;
        }
        let e = take_entry(buf, |e| ptr::eq(e, ent));
        if e.is_null() {
            return -1;
        }
        // SAFETY: a listed handle of `buf`, unlinked: freed here.
        let entry = unsafe { (*e).entry };
        unsafe { mem::drop_raw(e) };
        // SAFETY: a live buffer.
        unsafe { with(buf, -1, |b| status(b.remove_cb(entry))) }
    })
}

/// `evbuffer_remove_cb`: removes the most recently added callback on `buf`
/// with this function and argument; -1 if there is none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_remove_cb(
    buf: *mut CBuffer,
    cb: Option<CbFunc>,
    arg: *mut c_void,
) -> c_int {
    ffi(-1, || {
        let Some(cb) = cb else {
            return -1;
        };
        let e = take_entry(buf, |e| ptr::fn_addr_eq(e.cb, cb) && e.arg == arg);
        if e.is_null() {
            return -1;
        }
        // SAFETY: a listed handle of `buf`, unlinked: freed here.
        let entry = unsafe { (*e).entry };
        unsafe { mem::drop_raw(e) };
        // SAFETY: a live buffer.
        unsafe { with(buf, -1, |b| status(b.remove_cb(entry))) }
    })
}

/// `evbuffer_cb_set_flags` (`EVBUFFER_CB_ENABLED` = 1).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_cb_set_flags(
    buf: *mut CBuffer,
    ent: *mut CCbEntry,
    flags: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { cb_flags(buf, ent, flags, true) }
}

/// `evbuffer_cb_clear_flags`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_cb_clear_flags(
    buf: *mut CBuffer,
    ent: *mut CCbEntry,
    flags: u32,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { cb_flags(buf, ent, flags, false) }
}

/// Sets or clears `EVBUFFER_CB_ENABLED`.
unsafe fn cb_flags(buf: *mut CBuffer, ent: *mut CCbEntry, flags: u32, set: bool) -> c_int {
    ffi(-1, || {
        // SAFETY: an entry from evbuffer_add_cb on `buf`.
        let Some(e) = (unsafe { ent.as_ref() }) else {
            return -1;
        };
        if flags & 1 == 0 {
            return 0;
        }
        unsafe { with(buf, -1, |b| status(b.cb_set_enabled(e.entry, set))) }
    })
}

/// The old `evbuffer_cb` (`evbuffer_setcb`): old and new length.
type OldCb = unsafe extern "C" fn(*mut CBuffer, usize, usize, *mut c_void);

/// `evbuffer_setcb` (compat): replaces every callback with this one (NULL:
/// none); -1 (nothing changed) if out of memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evbuffer_setcb(
    buf: *mut CBuffer,
    cb: Option<OldCb>,
    arg: *mut c_void,
) -> c_int {
    ffi(-1, || {
        let f = cb.map(|cb| {
            move |b: &mut Evbuffer, info: &CbInfo| {
                let (old, new) = (info.orig_size, info.new_size());
                // SAFETY: the caller's callback with its own argument.
                enter_callback(buf, b, || unsafe { cb(buf, old, new, arg) });
            }
        });
        // SAFETY: a live buffer.
        if unsafe { with(buf, false, |b| b.set_cb(f).is_ok()) } {
            forget_entries(buf);
            0
        } else {
            -1
        }
    })
}

/// rvent's invariant check of a buffer (`evbuffer_validate_` in
/// libevent's regression tests reads libevent's private chain list;
/// `capi/regress.sh` swaps it for this). Aborts when broken.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rvent_evbuffer_assert_ok(buf: *mut CBuffer) -> c_int {
    // SAFETY: a live buffer.
    let ok = ffi(false, || unsafe {
        with(buf, false, |b| {
            b.assert_invariants();
            true
        })
    });
    if !ok {
        crate::log::warn(b"rvent_evbuffer_assert_ok: the buffer's invariants do not hold\0");
        std::process::abort();
    }
    1
}
