//! Rate limits: `ev_token_bucket_cfg_*`, a bufferevent's own bucket
//! (`bufferevent_set_rate_limit`) and groups
//! (`bufferevent_rate_limit_group_*`), over rvent's [`TokenBucketCfg`] and
//! [`RateLimitGroup`]. As in rvent (and libevent), only socket
//! bufferevents honor limits.

use std::ffi::c_int;
use std::ptr;

use libc::timeval;
use rvent::{RateLimitGroup, TokenBucketCfg};

use crate::base::{self, CBase, rust};
use crate::bufferevent::{CBev, live, query};
use crate::{ffi, mem, status};

/// `struct ev_token_bucket_cfg`.
pub struct CTokenBucketCfg {
    cfg: TokenBucketCfg,
}

/// `struct bufferevent_rate_limit_group`.
pub struct CGroup {
    base: *mut CBase,
    serial: u64,
    handle: RateLimitGroup,
}

/// `ev_token_bucket_cfg_new` (NULL tick: one second).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ev_token_bucket_cfg_new(
    read_rate: usize,
    read_burst: usize,
    write_rate: usize,
    write_burst: usize,
    tick_len: *const timeval,
) -> *mut CTokenBucketCfg {
    ffi(ptr::null_mut(), || {
        // SAFETY: null or a valid timeval.
        let tick = unsafe { tick_len.as_ref() }.map(base::duration);
        match TokenBucketCfg::new(read_rate, read_burst, write_rate, write_burst, tick) {
            Ok(cfg) => mem::into_raw(CTokenBucketCfg { cfg }),
            Err(_) => ptr::null_mut(),
        }
    })
}

/// `ev_token_bucket_cfg_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ev_token_bucket_cfg_free(cfg: *mut CTokenBucketCfg) {
    if !cfg.is_null() {
        // SAFETY: from ev_token_bucket_cfg_new.
        unsafe { mem::drop_raw(cfg) };
    }
}

/// `bufferevent_set_rate_limit` (NULL: none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_set_rate_limit(
    bev: *mut CBev,
    cfg: *const CTokenBucketCfg,
) -> c_int {
    ffi(-1, || {
        // SAFETY: a live record; null or a live configuration.
        unsafe {
            let Some((base, h)) = live(bev) else {
                return -1;
            };
            let rc = status(h.set_rate_limit(base, cfg.as_ref().map(|c| &c.cfg)));
            if rc == 0 {
                (*bev).rate_cfg = cfg;
            }
            rc
        }
    })
}

/// `bufferevent_get_token_bucket_cfg`: the configuration last set.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_token_bucket_cfg(
    bev: *const CBev,
) -> *const CTokenBucketCfg {
    // SAFETY: null or a live record.
    unsafe { bev.as_ref() }.map_or(ptr::null(), |r| r.rate_cfg)
}

/// `bufferevent_get_read_limit`: `EV_SSIZE_MAX` without a bucket.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_read_limit(bev: *mut CBev) -> isize {
    // SAFETY: forwarded contract.
    unsafe { query(bev, |base, h| h.read_limit(base).unwrap_or(-1)) }
}

/// `bufferevent_get_write_limit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_write_limit(bev: *mut CBev) -> isize {
    // SAFETY: forwarded contract.
    unsafe { query(bev, |base, h| h.write_limit(base).unwrap_or(-1)) }
}

/// `bufferevent_get_max_to_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_max_to_read(bev: *mut CBev) -> isize {
    // SAFETY: forwarded contract.
    unsafe {
        query(bev, |base, h| {
            h.max_to_read(base).map_or(-1, |n| n as isize)
        })
    }
}

/// `bufferevent_get_max_to_write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_get_max_to_write(bev: *mut CBev) -> isize {
    // SAFETY: forwarded contract.
    unsafe {
        query(bev, |base, h| {
            h.max_to_write(base).map_or(-1, |n| n as isize)
        })
    }
}

/// `bufferevent_decrement_read_limit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_decrement_read_limit(bev: *mut CBev, n: isize) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        query(bev, |base, h| {
            status(h.decrement_read_limit(base, n)) as isize
        }) as c_int
    }
}

/// `bufferevent_decrement_write_limit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_decrement_write_limit(bev: *mut CBev, n: isize) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        query(bev, |base, h| {
            status(h.decrement_write_limit(base, n)) as isize
        }) as c_int
    }
}

/// The live rvent base and handle of a group.
///
/// # Safety
/// `g` is null or a live group record.
unsafe fn group<'a>(g: *mut CGroup) -> Option<(&'a mut rvent::EventBase, RateLimitGroup)> {
    // SAFETY: caller's promise.
    let r = unsafe { g.as_ref() }?;
    // SAFETY: a live base.
    base::is_live(r.base, r.serial).then(|| (unsafe { rust(r.base) }, r.handle))
}

/// `bufferevent_rate_limit_group_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_new(
    b: *mut CBase,
    cfg: *const CTokenBucketCfg,
) -> *mut CGroup {
    ffi(ptr::null_mut(), || {
        // SAFETY: a live base; a live configuration.
        unsafe {
            let Some(cfg) = cfg.as_ref() else {
                return ptr::null_mut();
            };
            if b.is_null() {
                return ptr::null_mut();
            }
            let Ok(handle) = RateLimitGroup::new(rust(b), &cfg.cfg) else {
                return ptr::null_mut();
            };
            let p = mem::into_raw(CGroup {
                base: b,
                serial: (*b).serial,
                handle,
            });
            if p.is_null() {
                let _ = handle.free(rust(b));
            }
            p
        }
    })
}

/// `bufferevent_rate_limit_group_set_cfg`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_set_cfg(
    g: *mut CGroup,
    cfg: *const CTokenBucketCfg,
) -> c_int {
    // SAFETY: a live group; a live configuration.
    ffi(-1, || unsafe {
        match (group(g), cfg.as_ref()) {
            (Some((base, h)), Some(cfg)) => status(h.set_cfg(base, &cfg.cfg)),
            _ => -1,
        }
    })
}

/// `bufferevent_rate_limit_group_set_min_share`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_set_min_share(
    g: *mut CGroup,
    share: usize,
) -> c_int {
    // SAFETY: a live group.
    ffi(-1, || unsafe {
        group(g).map_or(-1, |(base, h)| status(h.set_min_share(base, share)))
    })
}

/// `bufferevent_rate_limit_group_free`: its members leave it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_free(g: *mut CGroup) {
    ffi((), || {
        if g.is_null() {
            return;
        }
        // SAFETY: a live group record, not used after.
        unsafe {
            if let Some((base, h)) = group(g) {
                let _ = h.free(base);
            }
            mem::drop_raw(g);
        }
    })
}

/// `bufferevent_add_to_rate_limit_group`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_add_to_rate_limit_group(
    bev: *mut CBev,
    g: *mut CGroup,
) -> c_int {
    // SAFETY: a live record and group.
    ffi(-1, || unsafe {
        match (live(bev), group(g)) {
            (Some((base, b)), Some((_, h))) => {
                let rc = status(h.add(base, b));
                if rc == 0 {
                    (*bev).group = Some(h);
                }
                rc
            }
            _ => -1,
        }
    })
}

/// `bufferevent_remove_from_rate_limit_group`: 0 also when it is in no
/// group (or its group was freed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_remove_from_rate_limit_group(bev: *mut CBev) -> c_int {
    // SAFETY: a live record.
    ffi(-1, || unsafe {
        let Some((base, b)) = live(bev) else {
            return -1;
        };
        match (*bev).group.take() {
            Some(g) if g.is_live(base) => status(g.remove(base, b)),
            _ => 0,
        }
    })
}

/// `bufferevent_rate_limit_group_get_read_limit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_get_read_limit(g: *mut CGroup) -> isize {
    // SAFETY: a live group.
    ffi(-1, || unsafe {
        group(g).map_or(-1, |(base, h)| h.read_limit(base).unwrap_or(-1))
    })
}

/// `bufferevent_rate_limit_group_get_write_limit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_get_write_limit(g: *mut CGroup) -> isize {
    // SAFETY: a live group.
    ffi(-1, || unsafe {
        group(g).map_or(-1, |(base, h)| h.write_limit(base).unwrap_or(-1))
    })
}

/// `bufferevent_rate_limit_group_decrement_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_decrement_read(
    g: *mut CGroup,
    n: isize,
) -> c_int {
    // SAFETY: a live group.
    ffi(-1, || unsafe {
        group(g).map_or(-1, |(base, h)| status(h.decrement_read(base, n)))
    })
}

/// `bufferevent_rate_limit_group_decrement_write`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_decrement_write(
    g: *mut CGroup,
    n: isize,
) -> c_int {
    // SAFETY: a live group.
    ffi(-1, || unsafe {
        group(g).map_or(-1, |(base, h)| status(h.decrement_write(base, n)))
    })
}

/// `bufferevent_rate_limit_group_get_totals`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_get_totals(
    g: *mut CGroup,
    read: *mut u64,
    written: *mut u64,
) {
    // SAFETY: a live group; null-or-valid out-parameters.
    ffi((), || unsafe {
        if let Some((base, h)) = group(g)
            && let Ok(t) = h.totals(base)
        {
            if let Some(o) = base::unsafe_mut(read) {
                *o = t.read;
            }
            if let Some(o) = base::unsafe_mut(written) {
                *o = t.written;
            }
        }
    })
}

/// `bufferevent_rate_limit_group_reset_totals`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bufferevent_rate_limit_group_reset_totals(g: *mut CGroup) {
    // SAFETY: a live group.
    ffi((), || unsafe {
        if let Some((base, h)) = group(g) {
            let _ = h.reset_totals(base);
        }
    })
}
