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
//! # What a filter closure may do
//!
//! libevent calls a filter as `filter(src, dst, dst_limit, mode, ctx)`,
//! and through `ctx` the filter may reach anything — including writing to
//! its own bufferevent, which libevent guards against by disabling the
//! filters while it runs (`bufferevent_filters_disable`). rvent's filter
//! closure is called as `filter(base, bev, src, dst, dst_limit, mode)`:
//! it gets the base and the filter's own handle, so it can write to
//! other bufferevents, free its own, add events or break the loop, like
//! any callback.
//!
//! To hand out `&mut EventBase` and the two buffers at once, the buffers
//! are moved out of their records while the closure runs (a move of two
//! buffer headers; no allocation, no copy of data) and put back when it
//! returns. Meanwhile:
//! - the bufferevents whose buffers are out show empty stand-ins through
//!   the handle API; what is added to a stand-in (say, the filter writes
//!   to itself from inside its output filter) is appended to the real
//!   buffer when the closure returns, and the next pass filters it;
//! - the running closure is taken out of its slot (`callback_slot.rs`), so a
//!   [`flush`](Bufferevent::flush) from inside it does not run it again;
//! - freeing the filter (or its underlying) from inside is safe: the
//!   buffers and the closure are dropped when it returns.
//!
//! A direction without a closure passes bytes straight between the
//! records, without the move. A closure that panics gets its buffers put
//! back before the unwind goes on (`catch_unwind` around the call, free
//! when nothing panics), and leaves its direction moving nothing (never
//! passing bytes unfiltered), as the [panic
//! policy](crate::bufferevent#panics-in-callbacks) says.

use std::panic::{self, AssertUnwindSafe};

use super::callback::{fire_event, fire_read, fire_write};
use super::closure::{FilterFn, FilterResult, filter_fn};
use super::flags::{BevEvent, BevOptions, FlushMode};
use super::handle::Bufferevent;
use super::rec::{Filter, Kind, Rec, suspend};
use super::table::BevHost;
use super::timeouts;
use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::mem;

impl Bufferevent {
    /// A filter bufferevent over `underlying` (`bufferevent_filter_new`);
    /// see the [filter docs](crate::bufferevent#filters) for how bytes
    /// move. It starts passing bytes through unchanged in both
    /// directions; give it closures with
    /// [`set_input_filter`](Self::set_input_filter) and
    /// [`set_output_filter`](Self::set_output_filter) before data flows
    /// (nothing moves until the loop runs or a flush, so setting them right
    /// after creation is libevent's constructor). The filter starts with
    /// writing enabled and reading disabled; enabling or disabling a
    /// direction on it does the same on the underlying. With
    /// [`BevOptions::CLOSE_ON_FREE`], freeing the filter frees the
    /// underlying; otherwise the underlying's callbacks are cleared.
    ///
    /// The underlying's callbacks are replaced by the filter's: set
    /// callbacks on the filter, not on the underlying.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`] if `underlying` is not live in `base`;
    /// [`Error::Alloc`].
    ///
    /// # Examples
    /// An upper-casing input filter over one member of a pair:
    ///
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, Evbuffer, EventBase, FilterResult};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let f = Bufferevent::filter(&mut base, b, BevOptions::CLOSE_ON_FREE)?;
    /// f.set_input_filter(&mut base, |_: &mut EventBase, _, src: &mut Evbuffer, dst: &mut Evbuffer, _, _| {
    ///     let mut bytes = vec![0; src.len()];
    ///     src.remove(&mut bytes).unwrap();
    ///     bytes.make_ascii_uppercase();
    ///     dst.add(&bytes).unwrap();
    ///     FilterResult::Ok
    /// })?;
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
    pub fn filter<X: BevHost>(
        base: &mut EventBase<X>,
        underlying: Bufferevent,
        options: BevOptions,
    ) -> Result<Bufferevent> {
        underlying.rec(base)?;
        let kind = Kind::Filter(mem::pool_box(Filter {
            underlying,
            input: None,
            output: None,
            running: Default::default(),
        })?);
        let f = base.bev_insert(kind, options)?;
        base.ext
            .bevs_mut()
            .get_mut(f)
            .expect("just inserted")
            .enabled = Ev::WRITE;
        let installed = underlying
            .set_read_callback(base, move |base: &mut EventBase<X>, _| {
                on_underlying_read(base, f)
            })
            .and_then(|()| {
                underlying.set_write_callback(base, move |base: &mut EventBase<X>, _| {
                    process_output(base, f, FlushMode::Normal);
                })
            })
            .and_then(|()| {
                underlying.set_event_callback(base, move |base: &mut EventBase<X>, _, what| {
                    fire_event(base, f, what, false)
                })
            });
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

    /// Sets the input filter (`bufferevent_filter_new`'s `input_filter`):
    /// it moves bytes from the underlying's input to this filter's input,
    /// called as `filter(base, bev, src, dst, dst_limit, mode)` with `bev`
    /// this filter (see [what it may do](crate::bufferevent#filters)).
    /// Replaces the closure set before, or the pass-through.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] if this is
    /// not a filter; [`Error::Alloc`].
    #[doc(alias = "bufferevent_filter_new")]
    pub fn set_input_filter<X: BevHost, F>(self, base: &mut EventBase<X>, filter: F) -> Result<()>
    where
        F: FnMut(
                &mut EventBase<X>,
                Bufferevent,
                &mut Evbuffer,
                &mut Evbuffer,
                Option<usize>,
                FlushMode,
            ) -> FilterResult
            + 'static,
    {
        self.set_filter(base, true, filter_fn(filter)?)
    }

    /// Sets the output filter (`bufferevent_filter_new`'s
    /// `output_filter`): it moves bytes from this filter's output to the
    /// underlying's output; called as for
    /// [`set_input_filter`](Self::set_input_filter).
    ///
    /// # Errors
    /// As [`set_input_filter`](Self::set_input_filter).
    #[doc(alias = "bufferevent_filter_new")]
    pub fn set_output_filter<X: BevHost, F>(self, base: &mut EventBase<X>, filter: F) -> Result<()>
    where
        F: FnMut(
                &mut EventBase<X>,
                Bufferevent,
                &mut Evbuffer,
                &mut Evbuffer,
                Option<usize>,
                FlushMode,
            ) -> FilterResult
            + 'static,
    {
        self.set_filter(base, false, filter_fn(filter)?)
    }

    fn set_filter<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        input: bool,
        filter: FilterFn<X>,
    ) -> Result<()> {
        let Kind::Filter(flt) = &mut self.touch(base)?.kind else {
            return Err(Error::InvalidArgument("not a filter bufferevent"));
        };
        let old = flt.replace(input, filter);
        drop(old);
        Ok(())
    }

    /// The bufferevent under a filter (`bufferevent_get_underlying`);
    /// `None` for other kinds or once the underlying was freed.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let f = Bufferevent::filter(&mut base, a, BevOptions::empty())?;
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

fn filter_mut<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent) -> Option<&mut Filter<X>> {
    match &mut base.ext.bevs_mut().get_mut(f)?.kind {
        Kind::Filter(flt) => Some(&mut **flt),
        _ => None,
    }
}

/// A direction's closure, taken out of its slot to run: `Some(None)` to
/// pass bytes through, `None` to move nothing (the closure is running
/// already, or was lost to a panic).
fn take_filter<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    input: bool,
) -> Option<Option<FilterFn<X>>> {
    filter_mut(base, f)?.take(input)
}

fn put_filter<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    input: bool,
    filter: FilterFn<X>,
) {
    let old = match filter_mut(base, f) {
        Some(flt) => flt.put_back(input, filter),
        None => Some(filter),
    };
    drop(old);
}

/// Moves bytes from `src` to `dst` unchanged, at most `limit`.
fn pass(src: &mut Evbuffer, dst: &mut Evbuffer, limit: Option<usize>) -> FilterResult {
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

/// Which buffer of a record a filter pass uses.
#[derive(Clone, Copy)]
enum Side {
    Input,
    Output,
}

fn side_mut<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    side: Side,
) -> Option<&mut Evbuffer> {
    Some(side_of(base.ext.bevs_mut().get_mut(h)?, side))
}

/// One pass of a closure: `src_side` of `src` and `dst_side` of `dst` are
/// moved out of their records for the call and put back after it (what
/// was added to the stand-ins meanwhile is appended). Returns the result
/// and the two lengths the closure left.
fn run_closure<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    filter: &mut FilterFn<X>,
    (src, src_side): (Bufferevent, Side),
    (dst, dst_side): (Bufferevent, Side),
    limit: Option<usize>,
    mode: FlushMode,
) -> (FilterResult, usize, usize) {
    let mut s = side_mut(base, src, src_side)
        .map(std::mem::take)
        .unwrap_or_default();
    let mut d = side_mut(base, dst, dst_side)
        .map(std::mem::take)
        .unwrap_or_default();
    // A panic must not take the bufferevents' data with it: the buffers
    // go back first, then the unwind resumes (and drops the closure).
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        filter(base, f, &mut s, &mut d, limit, mode)
    }));
    let lens = (s.len(), d.len());
    for (h, side, buf) in [(src, src_side, s), (dst, dst_side, d)] {
        // Freed meanwhile: the buffer goes with it.
        if let Some(slot) = side_mut(base, h, side) {
            let mut meanwhile = std::mem::replace(slot, buf);
            if !meanwhile.is_empty() {
                let _ = slot.add_buffer(&mut meanwhile);
            }
        }
    }
    match res {
        Ok(res) => (res, lens.0, lens.1),
        Err(p) => panic::resume_unwind(p),
    }
}

/// Lengths of a pass's source and destination, before and after it.
struct Pass {
    res: FilterResult,
    src: (usize, usize),
    dst: (usize, usize),
}

impl Pass {
    fn grew(&self) -> bool {
        self.dst.1 > self.dst.0
    }

    fn shrank(&self) -> bool {
        self.src.1 < self.src.0
    }

    /// Another pass would do nothing: the closure did not report `Ok`,
    /// nothing moved, or the source is empty.
    fn last(&self) -> bool {
        let moved = self.src.0 != self.src.1 || self.dst.0 != self.dst.1;
        self.res != FilterResult::Ok || !moved || self.src.1 == 0
    }
}

/// One pass of a direction: its closure, or the bytes passed through
/// unchanged when it has none. `None` if either bufferevent is gone.
fn one_pass<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    closure: &mut Option<FilterFn<X>>,
    src: (Bufferevent, Side),
    dst: (Bufferevent, Side),
    limit: Option<usize>,
    mode: FlushMode,
) -> Option<Pass> {
    let (rs, rd) = base.ext.bevs_mut().get2_mut(src.0, dst.0)?;
    let (s, d) = (side_of(rs, src.1), side_of(rd, dst.1));
    let before = (s.len(), d.len());
    let (res, after) = match closure.as_mut() {
        None => {
            let res = pass(s, d, limit);
            (res, (s.len(), d.len()))
        }
        Some(filter) => {
            let (res, s1, d1) = run_closure(base, f, filter, src, dst, limit, mode);
            (res, (s1, d1))
        }
    };
    Some(Pass {
        res,
        src: (before.0, after.0),
        dst: (before.1, after.1),
    })
}

fn side_of<X: BevHost>(r: &mut Rec<X>, side: Side) -> &mut Evbuffer {
    match side {
        Side::Input => &mut r.input,
        Side::Output => &mut r.output,
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
    let Some(mut closure) = take_filter(base, f, true) else {
        return false;
    };
    let (mut grew, mut shrank, mut res) = (false, false, FilterResult::Ok);
    while let Some((ru, rf)) = base.ext.bevs_mut().get2_mut(u, f) {
        if ru.input.is_empty() && mode == FlushMode::Normal {
            break;
        }
        let limit = if mode == FlushMode::Normal && rf.read_high() != 0 {
            match rf.read_high().saturating_sub(rf.input.len()) {
                0 => break,
                room => Some(room),
            }
        } else {
            None
        };
        let Some(p) = one_pass(
            base,
            f,
            &mut closure,
            (u, Side::Input),
            (f, Side::Input),
            limit,
            mode,
        ) else {
            break;
        };
        res = p.res;
        grew |= p.grew();
        shrank |= p.shrank();
        if p.last() {
            break;
        }
    }
    if let Some(filter) = closure {
        put_filter(base, f, true, filter);
    }
    if shrank
        && let Some(ru) = base.ext.bevs_mut().get(u)
        && (ru.read_high() != 0 || ru.read_suspend != 0)
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
        let wake = rf.input.len() >= rf.read_low();
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
pub(crate) fn process_output<X: BevHost>(
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
    let Some(mut closure) = take_filter(base, f, false) else {
        return false;
    };
    let (mut grew, mut shrank, mut res) = (false, false, FilterResult::Ok);
    let mut processed = false;
    while let Some((_, ru)) = base.ext.bevs_mut().get2_mut(f, u) {
        let limit = if mode == FlushMode::Normal && ru.write_high() != 0 {
            match ru.write_high().saturating_sub(ru.output.len()) {
                0 => break,
                room => Some(room),
            }
        } else {
            None
        };
        let Some(p) = one_pass(
            base,
            f,
            &mut closure,
            (f, Side::Output),
            (u, Side::Output),
            limit,
            mode,
        ) else {
            break;
        };
        res = p.res;
        processed |= res == FilterResult::Ok;
        grew |= p.grew();
        shrank |= p.shrank();
        if p.last() {
            break;
        }
    }
    if let Some(filter) = closure {
        put_filter(base, f, false, filter);
    }
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
        && rf.output.len() <= rf.write_low()
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
pub(crate) fn service<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent) {
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
pub(crate) fn flush<X: BevHost>(
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
pub(crate) fn on_enable<X: BevHost>(
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
pub(crate) fn release<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent) {
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
        let old = (
            ru.replace_data(true, None),
            ru.replace_data(false, None),
            ru.replace_event(None),
        );
        ru.read_suspend &= !suspend::FILT;
        base.ext.bevs_mut().mark_dirty(u);
        drop(old);
    }
}
