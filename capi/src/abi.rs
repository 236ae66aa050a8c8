//! The layouts and constants C callers see, pinned at compile time to what
//! libevent 2.1.12's headers give on x86_64 (`../shared/capi/abi-probe.c`
//! printed them): callers allocate `struct event` themselves, read
//! `struct bufferevent`'s fields directly and receive `evbuffer_ptr` by
//! value, so a size or an offset that drifts is a memory error in a program
//! we never see. Every `const _: () = assert!` below fails the build
//! instead.

use std::ffi::{c_int, c_short, c_void};
use std::mem::{offset_of, size_of};

use libc::timeval;
use rvent::{BevEvent, BevOptions, Ev, ListenerOptions, LoopFlags};

/// `evutil_socket_t`.
pub type EvutilSocket = c_int;
/// `event_callback_fn`.
pub type EventCallbackFn = unsafe extern "C" fn(EvutilSocket, c_short, *mut c_void);
/// `bufferevent_data_cb`.
pub type BevDataCb = unsafe extern "C" fn(*mut CBufferevent, *mut c_void);
/// `bufferevent_event_cb`.
pub type BevEventCb = unsafe extern "C" fn(*mut CBufferevent, c_short, *mut c_void);

/// The words of `struct event` libevent keeps its list links in (the
/// `ev_io` / `ev_signal` union at offset 72): nothing outside libevent
/// reads them, so rvent keeps its own record there.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct EventPrivate {
    /// `SEAL ^ address of the struct`: a copy, a zeroed or a garbage
    /// struct does not carry it, so the other words are trusted only then.
    pub seal: usize,
    /// rvent's handle of the event (valid when `state` says so).
    pub handle: rvent::event::Event,
    /// The base's record of that event (`crate::event`), checked against
    /// the handle before it is trusted.
    pub rec: u32,
    /// The base's serial (low bits) and [`EventPrivate`] state bits.
    pub serial: u64,
}

/// `struct event` (event2/event_struct.h), 128 bytes, caller memory.
#[repr(C)]
pub struct CEvent {
    /// `evcb_active_next` (a TAILQ entry libevent uses; unused here).
    pub evcb_active_next: [usize; 2],
    /// `evcb_flags`: `EVLIST_INIT` once assigned (old code tests it).
    pub evcb_flags: c_short,
    /// `evcb_pri`.
    pub evcb_pri: u8,
    /// `evcb_closure`.
    pub evcb_closure: u8,
    /// `evcb_cb_union.evcb_callback`.
    pub evcb_cb: Option<EventCallbackFn>,
    /// `evcb_arg`.
    pub evcb_arg: *mut c_void,
    /// `ev_timeout_pos` (unused here).
    pub ev_timeout_pos: [usize; 2],
    /// `ev_fd`.
    pub ev_fd: EvutilSocket,
    /// `ev_base`.
    pub ev_base: *mut c_void,
    /// `ev_` (the io / signal union): rvent's record.
    pub private: EventPrivate,
    /// `ev_events`.
    pub ev_events: c_short,
    /// `ev_res`.
    pub ev_res: c_short,
    /// `ev_timeout` (unused here).
    pub ev_timeout: timeval,
}

/// `struct event_watermark`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct EventWatermark {
    /// `low`.
    pub low: usize,
    /// `high`.
    pub high: usize,
}

/// The public part of `struct bufferevent` (event2/bufferevent_struct.h),
/// which old code reads directly (tmux reads `bev->input`).
#[repr(C)]
pub struct CBufferevent {
    /// `ev_base`.
    pub ev_base: *mut c_void,
    /// `be_ops` (null: there is no libevent vtable behind it).
    pub be_ops: *const c_void,
    /// `ev_read` (not used by rvent; zeroed).
    pub ev_read: CEvent,
    /// `ev_write` (not used by rvent; zeroed).
    pub ev_write: CEvent,
    /// `input`: stable for the bufferevent's lifetime.
    pub input: *mut c_void,
    /// `output`: stable for the bufferevent's lifetime.
    pub output: *mut c_void,
    /// `wm_read`.
    pub wm_read: EventWatermark,
    /// `wm_write`.
    pub wm_write: EventWatermark,
    /// `readcb`.
    pub readcb: Option<BevDataCb>,
    /// `writecb`.
    pub writecb: Option<BevDataCb>,
    /// `errorcb`.
    pub errorcb: Option<BevEventCb>,
    /// `cbarg`.
    pub cbarg: *mut c_void,
    /// `timeout_read`.
    pub timeout_read: timeval,
    /// `timeout_write`.
    pub timeout_write: timeval,
    /// `enabled`.
    pub enabled: c_short,
}

/// `struct evbuffer_ptr`: `pos` plus two private words (rvent keeps only
/// the position and re-derives its chain from it).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CEvbufferPtr {
    /// `pos`, -1 for "not found".
    pub pos: isize,
    /// `internal_.chain`: non-null while `pos` is inside the buffer.
    pub chain: *mut c_void,
    /// `internal_.pos_in_chain` (0 here).
    pub pos_in_chain: usize,
}

/// `struct evbuffer_iovec`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CEvbufferIovec {
    /// `iov_base`.
    pub iov_base: *mut c_void,
    /// `iov_len`.
    pub iov_len: usize,
}

/// `struct evbuffer_cb_info`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CEvbufferCbInfo {
    /// `orig_size`.
    pub orig_size: usize,
    /// `n_added`.
    pub n_added: usize,
    /// `n_deleted`.
    pub n_deleted: usize,
}

// Sizes and offsets (../shared/capi/README.md, abi-probe.c).
const _: () = assert!(size_of::<CEvent>() == 128 && align_of::<CEvent>() == 8);
const _: () = assert!(offset_of!(CEvent, evcb_flags) == 16);
const _: () = assert!(offset_of!(CEvent, evcb_pri) == 18);
const _: () = assert!(offset_of!(CEvent, evcb_closure) == 19);
const _: () = assert!(offset_of!(CEvent, evcb_cb) == 24);
const _: () = assert!(offset_of!(CEvent, evcb_arg) == 32);
const _: () = assert!(offset_of!(CEvent, ev_timeout_pos) == 40);
const _: () = assert!(offset_of!(CEvent, ev_fd) == 56);
const _: () = assert!(offset_of!(CEvent, ev_base) == 64);
const _: () = assert!(offset_of!(CEvent, private) == 72);
const _: () = assert!(
    size_of::<EventPrivate>() == 32,
    "rvent's record fits the ev_ union"
);
const _: () = assert!(offset_of!(CEvent, ev_events) == 104);
const _: () = assert!(offset_of!(CEvent, ev_res) == 106);
const _: () = assert!(offset_of!(CEvent, ev_timeout) == 112);
const _: () = assert!(size_of::<timeval>() == 16);
const _: () = assert!(size_of::<EvutilSocket>() == 4);
const _: () = assert!(size_of::<CEvbufferPtr>() == 24);
const _: () = assert!(offset_of!(CEvbufferPtr, pos) == 0);
const _: () = assert!(offset_of!(CEvbufferPtr, chain) == 8);
const _: () = assert!(offset_of!(CEvbufferPtr, pos_in_chain) == 16);
const _: () = assert!(size_of::<CEvbufferIovec>() == 16);
const _: () = assert!(offset_of!(CEvbufferIovec, iov_len) == 8);
const _: () = assert!(size_of::<CEvbufferCbInfo>() == 24);
const _: () = assert!(size_of::<CBufferevent>() == 392);
const _: () = assert!(offset_of!(CBufferevent, ev_base) == 0);
const _: () = assert!(offset_of!(CBufferevent, be_ops) == 8);
const _: () = assert!(offset_of!(CBufferevent, ev_read) == 16);
const _: () = assert!(offset_of!(CBufferevent, ev_write) == 144);
const _: () = assert!(offset_of!(CBufferevent, input) == 272);
const _: () = assert!(offset_of!(CBufferevent, output) == 280);
const _: () = assert!(offset_of!(CBufferevent, wm_read) == 288);
const _: () = assert!(offset_of!(CBufferevent, wm_write) == 304);
const _: () = assert!(offset_of!(CBufferevent, readcb) == 320);
const _: () = assert!(offset_of!(CBufferevent, writecb) == 328);
const _: () = assert!(offset_of!(CBufferevent, errorcb) == 336);
const _: () = assert!(offset_of!(CBufferevent, cbarg) == 344);
const _: () = assert!(offset_of!(CBufferevent, timeout_read) == 352);
const _: () = assert!(offset_of!(CBufferevent, timeout_write) == 368);
const _: () = assert!(offset_of!(CBufferevent, enabled) == 384);

/// `EVLIST_INIT`: set in `evcb_flags` by every assignment.
pub const EVLIST_INIT: c_short = 0x80;
/// `EVLIST_ACTIVE`: set by `event_active` until the callback runs.
pub const EVLIST_ACTIVE: c_short = 0x08;
/// `EVLIST_ACTIVE_LATER`: set by `event_active_later_` until the event
/// becomes active.
pub const EVLIST_ACTIVE_LATER: c_short = 0x20;
/// `EVENT_MAX_PRIORITIES`.
pub const EVENT_MAX_PRIORITIES: c_int = 256;
/// `EVBUFFER_PTR_SET` / `EVBUFFER_PTR_ADD`.
pub const EVBUFFER_PTR_SET: c_int = 0;
/// See [`EVBUFFER_PTR_SET`].
pub const EVBUFFER_PTR_ADD: c_int = 1;
/// `LIBEVENT_VERSION_NUMBER` of 2.1.12-stable.
pub const VERSION_NUMBER: u32 = 0x0201_0c00;

// Constants: rvent's flag values are libevent's, so C values map by
// value; pin each one.
const _: () = assert!(Ev::TIMEOUT.bits() == 0x01 && Ev::READ.bits() == 0x02);
const _: () = assert!(Ev::WRITE.bits() == 0x04 && Ev::SIGNAL.bits() == 0x08);
const _: () = assert!(Ev::PERSIST.bits() == 0x10 && Ev::ET.bits() == 0x20);
const _: () = assert!(Ev::FINALIZE.bits() == 0x40 && Ev::CLOSED.bits() == 0x80);
const _: () = assert!(LoopFlags::ONCE.bits() == 1 && LoopFlags::NONBLOCK.bits() == 2);
const _: () = assert!(LoopFlags::NO_EXIT_ON_EMPTY.bits() == 4);
const _: () = assert!(BevEvent::READING.bits() == 0x01 && BevEvent::WRITING.bits() == 0x02);
const _: () = assert!(BevEvent::EOF.bits() == 0x10 && BevEvent::ERROR.bits() == 0x20);
const _: () = assert!(BevEvent::TIMEOUT.bits() == 0x40 && BevEvent::CONNECTED.bits() == 0x80);
const _: () = assert!(BevOptions::CLOSE_ON_FREE.bits() == 1 && BevOptions::THREADSAFE.bits() == 2);
const _: () = assert!(BevOptions::DEFER_CALLBACKS.bits() == 4);
const _: () = assert!(BevOptions::UNLOCK_CALLBACKS.bits() == 8);
const _: () = assert!(ListenerOptions::LEAVE_SOCKETS_BLOCKING.bits() == 0x01);
const _: () = assert!(ListenerOptions::CLOSE_ON_FREE.bits() == 0x02);
const _: () = assert!(ListenerOptions::CLOSE_ON_EXEC.bits() == 0x04);
const _: () = assert!(ListenerOptions::REUSEABLE.bits() == 0x08);
const _: () = assert!(ListenerOptions::DISABLED.bits() == 0x20);
const _: () = assert!(ListenerOptions::DEFERRED_ACCEPT.bits() == 0x40);
const _: () = assert!(ListenerOptions::REUSEABLE_PORT.bits() == 0x80);
const _: () = assert!(ListenerOptions::BIND_IPV6ONLY.bits() == 0x100);
const _: () = assert!(rvent::MAX_PRIORITIES == EVENT_MAX_PRIORITIES as usize);

/// `enum evbuffer_eol_style` by value (`EVBUFFER_EOL_ANY` 0 … `_NUL` 4).
pub fn eol_style(v: c_int) -> Option<rvent::EolStyle> {
    use rvent::EolStyle::*;
    Some(match v {
        0 => Any,
        1 => Crlf,
        2 => CrlfStrict,
        3 => Lf,
        4 => Nul,
        _ => return None,
    })
}
