//! The filter kind (`bufferevent_filter_*`): a bufferevent stacked on
//! another ("the underlying"), transforming bytes on their way in and out
//! — compression, framing, a TLS-like layer.
//!
//! - The **input filter** moves the underlying's input into the filter's
//!   input. It runs when the underlying reads (the filter installs its own
//!   read / write / event callbacks on the underlying; events are
//!   forwarded to the filter's event callback) and when the filter's input
//!   is drained (the filter is serviced as dirty).
//! - The **output filter** moves the filter's output into the
//!   underlying's output. It runs when the filter is serviced after a
//!   write, when the underlying's output drains, and at once on
//!   [`flush`](Bufferevent::flush).
//! - A filter closure gets `dst_limit`: room left below the filter's read
//!   high watermark (input) or the underlying's write high watermark
//!   (output); `None` means unlimited, and [`FlushMode::Flush`] /
//!   [`FlushMode::Finished`] always pass `None`. A missing closure moves
//!   everything it may.
//! - While the filter's input is at its high watermark the underlying's
//!   reading is suspended (`suspend::FILT`), so a slow consumer stops the
//!   socket instead of growing a buffer without bound.
//!
//! # Re-entrance
//!
//! libevent must guard against a filter that writes to its own
//! bufferevent (`bufferevent_filters_disable`). Here a filter closure
//! receives only the two buffers — never the base — so it cannot reach a
//! bufferevent at all; the callbacks that can (the filter's write
//! callback runs after data went through) only mark the filter dirty, and
//! the next pass runs from the loop. A closure is also taken out of its
//! slot while it runs, so no path can call it twice at once.

use super::BevHost;
use super::{
    BevEvent, BevOptions, Bufferevent, FlushMode, Kind, fire_event, fire_read, fire_write, suspend,
    timeouts,
};
use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::error::Result;
use crate::ev::Ev;
use crate::mem;

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

/// A filter closure's type, for naming "no filter":
/// `None::<NoFilter>` passes bytes through unchanged.
pub type NoFilter = fn(&mut Evbuffer, &mut Evbuffer, Option<usize>, FlushMode) -> FilterResult;

/// A filter closure, boxed in the pool.
pub(crate) type FilterFn = allocator_api2::boxed::Box<
    dyn FnMut(&mut Evbuffer, &mut Evbuffer, Option<usize>, FlushMode) -> FilterResult,
    mem::Pool,
>;

fn filter_fn(
    f: impl FnMut(&mut Evbuffer, &mut Evbuffer, Option<usize>, FlushMode) -> FilterResult + 'static,
) -> Result<FilterFn> {
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}

/// One direction's filter.
enum Slot {
    /// No closure: bytes pass through.
    Pass,
    Fn(FilterFn),
    /// The closure is running (taken out of its slot).
    Running,
}

/// Filter state of a bufferevent.
pub(crate) struct Filter {
    underlying: Bufferevent,
    input: Slot,
    output: Slot,
}

impl Filter {
    /// The bufferevent under it (maybe freed since).
    pub(crate) fn underlying(&self) -> Bufferevent {
        self.underlying
    }
}

impl Bufferevent {
    /// A filter bufferevent over `underlying` (`bufferevent_filter_new`);
    /// see the module docs of how bytes move. A filter closure is called
    /// as `filter(src, dst, dst_limit, mode)`; `None` passes bytes through
    /// (`None::<`[`NoFilter`]`>`). The filter starts with writing enabled
    /// and reading disabled; enabling or disabling a direction on it does
    /// the same on the underlying. With [`BevOptions::CLOSE_ON_FREE`],
    /// freeing the filter frees the underlying; otherwise the underlying's
    /// callbacks are cleared.
    ///
    /// The underlying's callbacks are replaced by the filter's: set
    /// callbacks on the filter, not on the underlying.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent) if `underlying` is not live in `base`;
    /// [`Error::Alloc`](crate::Error::Alloc).
    ///
    /// # Examples
    /// An upper-casing input filter over one member of a pair:
    ///
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, FilterResult, NoFilter};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = rvent::pair_new(&mut base, BevOptions::empty())?;
    /// let upper = |src: &mut rvent::Evbuffer, dst: &mut rvent::Evbuffer, _lim: Option<usize>, _mode| {
    ///     let mut bytes = vec![0; src.len()];
    ///     src.remove(&mut bytes).unwrap();
    ///     bytes.make_ascii_uppercase();
    ///     dst.add(&bytes).unwrap();
    ///     FilterResult::Ok
    /// };
    /// let f = Bufferevent::filter(&mut base, b, Some(upper), None::<NoFilter>, BevOptions::CLOSE_ON_FREE)?;
    /// assert_eq!(f.underlying(&base)?, Some(b));
    /// f.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hello")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// let mut got = [0u8; 5];
    /// assert_eq!(f.read(&mut base, &mut got)?, 5);
    /// assert_eq!(&got, b"HELLO");
    /// f.free(&mut base)?;
    /// assert!(!b.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_filter_new")]
    pub fn filter<X: BevHost, F, G>(
        base: &mut EventBase<X>,
        underlying: Bufferevent,
        input_filter: Option<F>,
        output_filter: Option<G>,
        options: BevOptions,
    ) -> Result<Bufferevent>
    where
        F: FnMut(&mut Evbuffer, &mut Evbuffer, Option<usize>, FlushMode) -> FilterResult + 'static,
        G: FnMut(&mut Evbuffer, &mut Evbuffer, Option<usize>, FlushMode) -> FilterResult + 'static,
    {
        underlying.rec(base)?;
        let slot = |f: Option<FilterFn>| f.map_or(Slot::Pass, Slot::Fn);
        let input = slot(input_filter.map(filter_fn).transpose()?);
        let output = slot(output_filter.map(filter_fn).transpose()?);
        let kind = Kind::Filter(Filter {
            underlying,
            input,
            output,
        });
        let f = base.bev_insert(kind, options)?;
        base.ext
            .bevs_mut()
            .get_mut(f)
            .expect("just inserted")
            .enabled = Ev::WRITE;
        let installed = underlying.set_callbacks(
            base,
            Some(move |base: &mut EventBase<X>, _| on_underlying_read(base, f)),
            Some(move |base: &mut EventBase<X>, _| {
                process_output(base, f, FlushMode::Normal);
            }),
            Some(move |base: &mut EventBase<X>, _, what| fire_event(base, f, what, false)),
        );
        if let Err(e) = installed.and_then(|()| underlying.enable(base, Ev::WRITE)) {
            // Leave the underlying as it was given (minus callbacks).
            if let Some(r) = base.ext.bevs_mut().get_mut(f) {
                r.options = r.options - BevOptions::CLOSE_ON_FREE;
            }
            let _ = f.free(base);
            return Err(e);
        }
        Ok(f)
    }

    /// The bufferevent under a filter (`bufferevent_get_underlying`);
    /// `None` for other kinds or once the underlying was freed.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, NoFilter};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _b) = rvent::pair_new(&mut base, BevOptions::empty())?;
    /// let f = Bufferevent::filter(&mut base, a, None::<NoFilter>, None::<NoFilter>, BevOptions::empty())?;
    /// assert_eq!(f.underlying(&base)?, Some(a));
    /// assert_eq!(a.underlying(&base)?, None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_underlying")]
    pub fn underlying<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<Bufferevent>> {
        Ok(match &self.rec(base)?.kind {
            Kind::Filter(f) => Some(f.underlying).filter(|u| u.is_live(base)),
            _ => None,
        })
    }
}

fn underlying_of<X: BevHost>(base: &EventBase<X>, f: Bufferevent) -> Option<Bufferevent> {
    match &base.ext.bevs().get(f)?.kind {
        Kind::Filter(flt) => Some(flt.underlying),
        _ => None,
    }
}

fn slot_mut<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, input: bool) -> Option<&mut Slot> {
    match &mut base.ext.bevs_mut().get_mut(f)?.kind {
        Kind::Filter(flt) => Some(if input {
            &mut flt.input
        } else {
            &mut flt.output
        }),
        _ => None,
    }
}

/// Takes a direction's closure out of its slot; `None` if it is already
/// running.
fn take_slot<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, input: bool) -> Option<Slot> {
    let slot = slot_mut(base, f, input)?;
    match std::mem::replace(slot, Slot::Running) {
        Slot::Running => None,
        s => Some(s),
    }
}

fn put_slot<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, input: bool, s: Slot) {
    if let Some(slot) = slot_mut(base, f, input) {
        *slot = s;
    }
}

/// Runs one filter step: the closure, or a pass-through move.
fn run(
    slot: &mut Slot,
    src: &mut Evbuffer,
    dst: &mut Evbuffer,
    limit: Option<usize>,
    mode: FlushMode,
) -> FilterResult {
    match slot {
        Slot::Fn(f) => f(src, dst, limit, mode),
        _ => {
            let n = limit.map_or(src.len(), |l| l.min(src.len()));
            let moved = if n == src.len() {
                dst.add_buffer(src)
            } else {
                src.remove_buffer(dst, n).map(drop)
            };
            match moved {
                Ok(()) => FilterResult::Ok,
                Err(_) => FilterResult::Error,
            }
        }
    }
}

/// Runs the input filter: underlying input → filter input. Returns
/// whether the filter's input grew.
fn process_input<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, mode: FlushMode) -> bool {
    let Some(u) = underlying_of(base, f) else {
        return false;
    };
    let Some(rf) = base.ext.bevs_mut().get(f) else {
        return false;
    };
    if mode == FlushMode::Normal && !rf.reading() {
        return false;
    }
    let Some(mut slot) = take_slot(base, f, true) else {
        return false;
    };
    let (mut grew, mut shrank, mut res) = (false, false, FilterResult::Ok);
    while let Some((ru, rf)) = base.ext.bevs_mut().get2_mut(u, f) {
        if ru.input.is_empty() && mode == FlushMode::Normal {
            break;
        }
        let limit = if mode == FlushMode::Normal && rf.read_high != 0 {
            match rf.read_high.saturating_sub(rf.input.len()) {
                0 => break,
                room => Some(room),
            }
        } else {
            None
        };
        let (src0, dst0) = (ru.input.len(), rf.input.len());
        res = run(&mut slot, &mut ru.input, &mut rf.input, limit, mode);
        grew |= rf.input.len() > dst0;
        shrank |= ru.input.len() < src0;
        let progressed = ru.input.len() != src0 || rf.input.len() != dst0;
        if res != FilterResult::Ok || !progressed || ru.input.is_empty() {
            break;
        }
    }
    put_slot(base, f, true, slot);
    if shrank
        && let Some(ru) = base.ext.bevs_mut().get(u)
        && (ru.read_high != 0 || ru.read_suspend != 0)
    {
        // Below its high watermark again: let it read.
        base.ext.bevs_mut().mark_dirty(u);
    }
    if res == FilterResult::Error {
        // As a socket error: the direction stops before the callback.
        let _ = f.disable(base, Ev::READ);
        fire_event(base, f, BevEvent::READING | BevEvent::ERROR, false);
    }
    if grew {
        timeouts::progress(base, f, true);
    }
    if grew && let Some(rf) = base.ext.bevs_mut().get_mut(f) {
        rf.check_high_watermark();
        let wake = rf.input.len() >= rf.read_low;
        sync_underlying_suspend(base, f, u);
        if wake {
            fire_read(base, f, false);
        }
    }
    grew
}

/// Suspends the underlying's reading while the filter's input is at its
/// high watermark, resumes it otherwise.
fn sync_underlying_suspend<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, u: Bufferevent) {
    let full = base
        .ext
        .bevs_mut()
        .get(f)
        .is_some_and(|r| r.read_suspend & suspend::WM != 0);
    if let Some(ru) = base.ext.bevs_mut().get_mut(u)
        && (ru.read_suspend & suspend::FILT != 0) != full
    {
        ru.read_suspend ^= suspend::FILT;
        base.ext.bevs_mut().mark_dirty(u);
    }
}

/// Runs the output filter: filter output → underlying output. Returns
/// whether the filter's output shrank.
pub(super) fn process_output<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    mode: FlushMode,
) -> bool {
    let Some(u) = underlying_of(base, f) else {
        return false;
    };
    let Some(rf) = base.ext.bevs_mut().get(f) else {
        return false;
    };
    if mode == FlushMode::Normal && (!rf.enabled.contains(Ev::WRITE) || rf.output.is_empty()) {
        return false;
    }
    let Some(mut slot) = take_slot(base, f, false) else {
        return false;
    };
    let (mut grew, mut shrank, mut res) = (false, false, FilterResult::Ok);
    let mut processed = false;
    while let Some((rf, ru)) = base.ext.bevs_mut().get2_mut(f, u) {
        let limit = if mode == FlushMode::Normal && ru.write_high != 0 {
            match ru.write_high.saturating_sub(ru.output.len()) {
                0 => break,
                room => Some(room),
            }
        } else {
            None
        };
        let (src0, dst0) = (rf.output.len(), ru.output.len());
        res = run(&mut slot, &mut rf.output, &mut ru.output, limit, mode);
        processed |= res == FilterResult::Ok;
        grew |= ru.output.len() > dst0;
        shrank |= rf.output.len() < src0;
        let progressed = rf.output.len() != src0 || ru.output.len() != dst0;
        if res != FilterResult::Ok || !progressed || rf.output.is_empty() {
            break;
        }
    }
    put_slot(base, f, false, slot);
    if grew
        && let Some(ru) = base.ext.bevs_mut().get(u)
        && !ru.io_path
    {
        base.ext.bevs_mut().mark_dirty(u);
    }
    if res == FilterResult::Error {
        // As a socket error: the direction stops before the callback.
        let _ = f.disable(base, Ev::WRITE);
        fire_event(base, f, BevEvent::WRITING | BevEvent::ERROR, false);
    }
    if processed {
        // libevent restarts the write timeout after every pass that went
        // well, with or without output left: it times the data's way
        // through the underlying too.
        timeouts::restart_write(base, f);
    }
    if shrank
        && let Some(rf) = base.ext.bevs_mut().get(f)
        && rf.output.len() <= rf.write_low
    {
        fire_write(base, f, false);
    }
    shrank || grew
}

/// The underlying read: filter the new input (the filter's read callback
/// runs inside, as on its own I/O path), then move what it wrote.
fn on_underlying_read<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent) {
    let Some(rf) = base.ext.bevs_mut().get_mut(f) else {
        return;
    };
    rf.io_path = true;
    process_input(base, f, FlushMode::Normal);
    if let Some(rf) = base.ext.bevs_mut().get_mut(f) {
        rf.io_path = false;
        service(base, f);
    }
}

/// The loop services a dirty filter: resume input below the high
/// watermark, then move output.
pub(super) fn service<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent) {
    let Some(rf) = base.ext.bevs_mut().get_mut(f) else {
        return;
    };
    rf.check_high_watermark();
    process_input(base, f, FlushMode::Normal);
    if let Some(u) = underlying_of(base, f) {
        sync_underlying_suspend(base, f, u);
    }
    process_output(base, f, FlushMode::Normal);
}

/// `flush` on a filter: push both directions through with `mode`, then
/// flush the underlying.
pub(super) fn flush<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    what: Ev,
    mode: FlushMode,
) -> bool {
    let mut moved = false;
    if what.contains(Ev::READ) {
        moved |= process_input(base, f, mode);
    }
    if what.contains(Ev::WRITE) {
        moved |= process_output(base, f, mode);
    }
    if let Some(u) = underlying_of(base, f)
        && let Ok(m) = u.flush(base, what, mode)
    {
        moved |= m;
    }
    moved
}

/// `enable` / `disable` on a filter reach the underlying.
pub(super) fn on_enable<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    what: Ev,
    on: bool,
) -> Result<()> {
    let Some(u) = underlying_of(base, f).filter(|u| u.is_live(base)) else {
        return Ok(());
    };
    if on {
        u.enable(base, what)?;
        base.ext.bevs_mut().mark_dirty(f);
        Ok(())
    } else {
        u.disable(base, what)
    }
}

/// Frees the underlying with `CLOSE_ON_FREE`, else detaches from it.
pub(super) fn release<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent) {
    let Some(u) = underlying_of(base, f) else {
        return;
    };
    let close = base
        .ext
        .bevs_mut()
        .get(f)
        .is_some_and(|r| r.options.contains(BevOptions::CLOSE_ON_FREE));
    if close {
        let _ = u.free(base);
    } else if let Some(ru) = base.ext.bevs_mut().get_mut(u) {
        let old = (ru.readcb.take(), ru.writecb.take(), ru.eventcb.take());
        ru.read_suspend &= !suspend::FILT;
        base.ext.bevs_mut().mark_dirty(u);
        drop(old);
    }
}
