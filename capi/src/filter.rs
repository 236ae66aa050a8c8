//! `bufferevent_filter_new`: a bufferevent stacked on another (its
//! underlying) that passes bytes through C filter callbacks, over rvent's
//! [`Bufferevent::filter`].
//!
//! rvent's filter closure gets the source and destination `Evbuffer`s
//! taken out of their bufferevents; the C callback gets the C buffers of
//! those sides (the underlying's input and the filter's input, or the
//! filter's output and the underlying's output), and for the duration of
//! the call each of those C pointers reaches the buffer rvent lent
//! (`crate::buffer::lend`) — so `evbuffer_*` on them, and a
//! `bufferevent_write` to the filter from inside its output filter, work
//! as in libevent. The filter holds a reference on the underlying's
//! record (`bufferevent_get_underlying` hands back the caller's pointer);
//! with `BEV_OPT_CLOSE_ON_FREE`, freeing the filter frees the underlying.

use std::ffi::{c_int, c_void};
use std::ptr;

use rvent::{Bufferevent, Evbuffer, EventBase, FilterResult, FlushMode};

use crate::base::{CBase, rust, with_callback_base};
use crate::buffer::{CBuffer, lend};
use crate::bufferevent::{self, CBev, bev_options, live, wrap};
use crate::ffi;

/// `bufferevent_filter_cb`: `(src, dst, dst_limit, mode, ctx)`, returning
/// `BEV_OK` 0, `BEV_NEED_MORE` 1 or `BEV_ERROR` 2.
pub type FilterCb =
    unsafe extern "C" fn(*mut CBuffer, *mut CBuffer, isize, c_int, *mut c_void) -> c_int;

/// The context's destructor (`free_context`).
pub type FreeContext = unsafe extern "C" fn(*mut c_void);

/// A filter's context and destructor.
pub struct FilterCtx {
    ctx: *mut c_void,
    free: Option<FreeContext>,
}

impl FilterCtx {
    /// Not a filter.
    pub(crate) const NONE: FilterCtx = FilterCtx {
        ctx: ptr::null_mut(),
        free: None,
    };

    /// Calls `free_context(ctx)` once.
    pub(crate) fn release(&mut self) {
        if let Some(free) = self.free.take() {
            // SAFETY: the caller's destructor with its own context.
            unsafe { free(self.ctx) };
        }
    }
}

/// rvent's filter closure around a C filter callback of the filter `f`.
fn closure(
    f: *mut CBev,
    input: bool,
    cb: FilterCb,
) -> impl FnMut(
    &mut EventBase,
    Bufferevent,
    &mut Evbuffer,
    &mut Evbuffer,
    Option<usize>,
    FlushMode,
) -> FilterResult
+ 'static {
    move |base, _h, src, dst, limit, mode| {
        // SAFETY: rvent runs the closure only while the filter is live,
        // so its record is; the filter holds a reference on the
        // underlying's record. Nothing of them is read after the C call.
        unsafe {
            let u = (*f).underlying;
            let (sp, dp): (*mut CBuffer, *mut CBuffer) = if input {
                (ptr::addr_of_mut!((*u).input), ptr::addr_of_mut!((*f).input))
            } else {
                (
                    ptr::addr_of_mut!((*f).output),
                    ptr::addr_of_mut!((*u).output),
                )
            };
            let lim = limit.map_or(-1, |l| isize::try_from(l).unwrap_or(isize::MAX));
            let mode = match mode {
                FlushMode::Normal => 0,
                FlushMode::Flush => 1,
                FlushMode::Finished => 2,
            };
            let (b, ctx) = ((*f).base, (*f).filter.ctx);
            let r = lend([(sp, src), (dp, dst)], || {
                with_callback_base(b, base, ptr::null_mut(), || cb(sp, dp, lim, mode, ctx))
            });
            // libevent 2.1 only stops the pass on BEV_ERROR ("XXXX use
            // return value" in bufferevent_filter.c): no event callback,
            // nothing disabled, the filter is asked again later — which is
            // what rvent does for NeedMore. rvent's Error (disable and
            // report) would change what C programs see.
            if r == 0 {
                FilterResult::Ok
            } else {
                FilterResult::NeedMore
            }
        }
    }
}

/// `bufferevent_filter_new`: NULL filters pass bytes unchanged.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_filter_new(
    underlying: *mut CBev,
    input_filter: Option<FilterCb>,
    output_filter: Option<FilterCb>,
    options: c_int,
    free_context: Option<FreeContext>,
    ctx: *mut c_void,
) -> *mut CBev {
    ffi(ptr::null_mut(), || {
        // SAFETY: a live record.
        let Some((base, u)) = (unsafe { live(underlying) }) else {
            return ptr::null_mut();
        };
        let Ok(h) = Bufferevent::filter(base, u, bev_options(options)) else {
            return ptr::null_mut();
        };
        // SAFETY: the underlying's live base; `h` is its bufferevent.
        unsafe {
            let b: *mut CBase = (*underlying).base;
            let f = wrap(b, h, options);
            if f.is_null() {
                return f;
            }
            (*f).underlying = underlying;
            bufferevent::bufferevent_incref(underlying);
            // rvent replaced the underlying's callbacks with the filter's,
            // as libevent's filter sets its own on the underlying.
            bufferevent::forget_callbacks(underlying);
            (*f).filter = FilterCtx {
                ctx,
                free: free_context,
            };
            let base = rust(b);
            let installed = input_filter
                .map_or(Ok(()), |cb| h.set_input_filter(base, closure(f, true, cb)))
                .and_then(|()| {
                    output_filter.map_or(Ok(()), |cb| {
                        h.set_output_filter(base, closure(f, false, cb))
                    })
                });
            if installed.is_err() {
                // Without the context's destructor: the caller still owns it.
                (*f).filter = FilterCtx::NONE;
                (*f).options &= !bufferevent::BEV_OPT_CLOSE_ON_FREE;
                bufferevent::bufferevent_free(f);
                return ptr::null_mut();
            }
            f
        }
    })
}

/// `bufferevent_get_underlying`: the filter's underlying, NULL for other
/// kinds.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_underlying(bev: *mut CBev) -> *mut CBev {
    // SAFETY: null or a live record.
    unsafe { bev.as_ref() }.map_or(ptr::null_mut(), |r| r.underlying)
}
