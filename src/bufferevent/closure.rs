//! The user's closures as a bufferevent stores them: read / write
//! callbacks, the event callback and filter closures, each boxed in the
//! pool (a connection's callbacks cost no global allocation), and what a
//! filter closure reports.

use super::flags::{BevEvent, FlushMode};
use super::handle::Bufferevent;
use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::error::Result;
use crate::mem::{self, Account, Budgeted, MemRc, Pool};

/// A read or write callback, boxed in the pool.
pub(crate) type DataFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, Bufferevent), Pool>;

/// An event callback, boxed in the pool.
pub(crate) type EventFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, Bufferevent, BevEvent), Pool>;

/// A filter closure, boxed in the pool:
/// `(base, filter, src, dst, dst_limit, mode)`.
pub(crate) type FilterFn<X> = allocator_api2::boxed::Box<
    dyn FnMut(
        &mut EventBase<X>,
        Bufferevent,
        &mut Evbuffer,
        &mut Evbuffer,
        Option<usize>,
        FlushMode,
    ) -> FilterResult,
    Pool,
>;

/// What a filter closure reports (`enum bufferevent_filter_result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(alias = "bufferevent_filter_result")]
pub enum FilterResult {
    /// Some output was produced, or nothing needed doing (`BEV_OK`).
    Ok,
    /// The filter needs more input before it can produce output
    /// (`BEV_NEED_MORE`); not an error.
    NeedMore,
    /// The data cannot be filtered (`BEV_ERROR`): the direction is
    /// disabled (on the underlying too) and the filter's event callback
    /// gets `READING | ERROR` or `WRITING | ERROR`.
    Error,
}

// Each closure's block is charged to the base's account when it has a
// budget (`mem::charged`), and credited when the box is dropped.

pub(crate) fn data_fn<X: BaseExt>(
    account: &MemRc<Account>,
    f: impl FnMut(&mut EventBase<X>, Bufferevent) + 'static,
) -> Result<DataFn<X>> {
    Ok(match mem::charged(account, f)? {
        Budgeted::Unbudgeted(f) => allocator_api2::unsize_box!(mem::pool_box(f)?),
        Budgeted::Charged(mut c) => {
            allocator_api2::unsize_box!(mem::pool_box(move |base: &mut EventBase<X>, bev| (c
                .get())(
                base, bev
            ))?)
        }
    })
}

pub(crate) fn event_fn<X: BaseExt>(
    account: &MemRc<Account>,
    f: impl FnMut(&mut EventBase<X>, Bufferevent, BevEvent) + 'static,
) -> Result<EventFn<X>> {
    Ok(match mem::charged(account, f)? {
        Budgeted::Unbudgeted(f) => allocator_api2::unsize_box!(mem::pool_box(f)?),
        Budgeted::Charged(mut c) => allocator_api2::unsize_box!(mem::pool_box(
            move |base: &mut EventBase<X>, bev, what| (c.get())(base, bev, what)
        )?),
    })
}

pub(crate) fn filter_fn<X: BaseExt>(
    account: &MemRc<Account>,
    f: impl FnMut(
        &mut EventBase<X>,
        Bufferevent,
        &mut Evbuffer,
        &mut Evbuffer,
        Option<usize>,
        FlushMode,
    ) -> FilterResult
    + 'static,
) -> Result<FilterFn<X>> {
    Ok(match mem::charged(account, f)? {
        Budgeted::Unbudgeted(f) => allocator_api2::unsize_box!(mem::pool_box(f)?),
        Budgeted::Charged(mut c) => allocator_api2::unsize_box!(mem::pool_box(
            move |base: &mut EventBase<X>,
                  bev,
                  src: &mut Evbuffer,
                  dst: &mut Evbuffer,
                  lim,
                  mode| { (c.get())(base, bev, src, dst, lim, mode) }
        )?),
    })
}
