//! `bufferevent_pair_new`: two bufferevents whose outputs feed each
//! other's inputs (rvent's [`Bufferevent::pair`]). Each member's record
//! points at the other's, so `bufferevent_pair_get_partner` hands back
//! the caller's own pointer; freeing a member unlinks it from its partner.

use std::ffi::c_int;
use std::ptr;

use rvent::Bufferevent;

use crate::base::{CBase, rust};
use crate::bufferevent::{self, CBev, base_or_current, bev_options, wrap};
use crate::ffi;

/// `bufferevent_pair_new`: 0 and both members in `pair`, or -1. A NULL
/// base is the current base.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_pair_new(
    b: *mut CBase,
    options: c_int,
    pair: *mut *mut CBev,
) -> c_int {
    ffi(-1, || {
        let b = base_or_current(b);
        if b.is_null() || pair.is_null() {
            return -1;
        }
        // SAFETY: a live base.
        let base = unsafe { rust(b) };
        let Ok((ha, hb)) = Bufferevent::pair(base, bev_options(options)) else {
            return -1;
        };
        // SAFETY: a live base and its bufferevents; `pair` has room for
        // two pointers (caller).
        unsafe {
            let a = wrap(b, ha, options);
            if a.is_null() {
                let _ = hb.free(rust(b));
                return -1;
            }
            let bb = wrap(b, hb, options);
            if bb.is_null() {
                bufferevent::bufferevent_free(a);
                return -1;
            }
            (*a).partner = bb;
            (*bb).partner = a;
            *pair = a;
            *pair.add(1) = bb;
        }
        0
    })
}

/// `bufferevent_pair_get_partner`: NULL for other kinds and once the
/// partner is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_pair_get_partner(bev: *mut CBev) -> *mut CBev {
    // SAFETY: null or a live record.
    unsafe { bev.as_ref() }.map_or(ptr::null_mut(), |r| r.partner)
}
