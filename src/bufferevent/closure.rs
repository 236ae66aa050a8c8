//! The user's closures as a bufferevent stores them: read / write
//! callbacks, the event callback and filter closures, each boxed in the
//! pool (a connection's callbacks cost no global allocation), and what a
//! filter closure reports.

use super::flags::{BevEvent, FlushMode};
use super::handle::Bufferevent;
use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::error::Result;
use crate::mem::{self, Pool};

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

pub(crate) fn data_fn<X: BaseExt>(
    f: impl FnMut(&mut EventBase<X>, Bufferevent) + 'static,
) -> Result<DataFn<X>> {
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}

pub(crate) fn event_fn<X: BaseExt>(
    f: impl FnMut(&mut EventBase<X>, Bufferevent, BevEvent) + 'static,
) -> Result<EventFn<X>> {
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}

pub(crate) fn filter_fn<X: BaseExt>(
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
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}
