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
//!   the handle API (of the real buffer's account, frozen as it is); what
//!   is added to a stand-in (say, the filter writes to itself from inside
//!   its output filter) is appended to the real buffer when the closure
//!   returns, and the next pass filters it. That append can fail only
//!   when the real buffer's chain list cannot grow; then no byte is lost:
//!   they wait in the filter's record, the real buffer's end is frozen
//!   (nothing can be added ahead of them), the direction reports
//!   `READING | ERROR` or `WRITING | ERROR` with `ENOMEM`, and the
//!   direction's next pass (enable it again, or flush) appends them before
//!   it runs the closure, and does not run it while they still cannot go;
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

use super::callback::{fire_event, fire_out_of_memory, fire_read, fire_write};
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
        let charge = mem::charge_for_box::<Filter<X>>(Some(&base.account))?;
        let kind = Kind::Filter(mem::pool_box(Filter {
            underlying,
            input: None,
            output: None,
            running: Default::default(),
            stranded: Default::default(),
            strand_bits: 0,
            _charge: charge,
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
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, Evbuffer, EventBase, FilterResult};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let f = Bufferevent::filter(&mut base, b, BevOptions::empty())?;
    /// f.set_input_filter(&mut base, |_: &mut EventBase, _, src: &mut Evbuffer, dst: &mut Evbuffer, _, _| {
    ///     let n = src.len();
    ///     src.drain(n).unwrap(); // drop everything: a filter may produce nothing
    ///     FilterResult::Ok
    /// })?;
    /// f.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"secret")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// assert_eq!(f.input_len(&base)?, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
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
        self.set_filter(base, true, filter_fn(&base.account, filter)?)
    }

    /// Sets the output filter (`bufferevent_filter_new`'s
    /// `output_filter`): it moves bytes from this filter's output to the
    /// underlying's output; called as for
    /// [`set_input_filter`](Self::set_input_filter).
    ///
    /// # Errors
    /// As [`set_input_filter`](Self::set_input_filter).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, Evbuffer, EventBase, FilterResult, FlushMode};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let f = Bufferevent::filter(&mut base, a, BevOptions::empty())?;
    /// f.set_output_filter(&mut base, |_: &mut EventBase, _, src: &mut Evbuffer, dst: &mut Evbuffer, _, _| {
    ///     dst.add_buffer(src).unwrap(); // pass through, then add a trailer
    ///     dst.add(b"!").unwrap();
    ///     FilterResult::Ok
    /// })?;
    /// b.enable(&mut base, Ev::READ)?;
    /// f.write(&mut base, b"hi")?;
    /// f.flush(&mut base, Ev::WRITE, FlushMode::Flush)?;
    /// assert_eq!(b.input_len(&base)?, 3);
    /// # Ok::<(), rvent::Error>(())
    /// ```
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
        self.set_filter(base, false, filter_fn(&base.account, filter)?)
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

/// Takes `h`'s `side` out of its record for a closure, leaving a stand-in
/// of the same account, frozen as the real buffer is (what may not be
/// added to the real one may not be added to the stand-in either).
fn take_out<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, side: Side) -> Evbuffer {
    let mut stand_in = Evbuffer::new();
    let Some(real) = side_mut(base, h, side) else {
        return stand_in;
    };
    if real.is_charged() {
        // Same account: the append after the closure moves no charge,
        // and into an empty real buffer it is a swap of lists.
        stand_in = Evbuffer::new_in(base);
    }
    let real = side_mut(base, h, side).expect("looked up above");
    for at_front in [true, false] {
        if real.is_frozen(at_front) {
            stand_in.freeze(at_front);
        }
    }
    std::mem::replace(real, stand_in)
}

/// Appends `meanwhile` (a stand-in's additions) to the real buffer:
/// rvent's own move, so no freeze applies (they were checked when the
/// bytes were added). Fails only if `real`'s chain list cannot grow;
/// then both are unchanged.
fn append_meanwhile(real: &mut Evbuffer, meanwhile: &mut Evbuffer) -> Result<()> {
    meanwhile.unfreeze(true);
    let end_frozen = real.is_frozen(false);
    real.unfreeze(false);
    let res = real.add_buffer(meanwhile);
    if end_frozen {
        real.freeze(false);
    }
    res
}

/// Index of `h`'s `side` in [`Filter::stranded`].
fn strand_index(f: Bufferevent, h: Bufferevent, side: Side) -> usize {
    usize::from(h != f) * 2 + usize::from(matches!(side, Side::Output))
}

/// The stand-in `meanwhile` of `h`'s `side` could not be appended (see
/// the module docs): its bytes wait in `f`'s record and the real buffer's
/// end is frozen until [`unstrand`] appends them. Returns whether they
/// were kept; with `f` freed from inside its closure there is no record
/// to keep them in, and `h` (the underlying) reports the loss as
/// `ERROR` with `ENOMEM`.
#[cold]
fn strand<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    (h, side): (Bufferevent, Side),
    meanwhile: Evbuffer,
) -> bool {
    let i = strand_index(f, h, side);
    let Some(flt) = filter_mut(base, f) else {
        drop(meanwhile);
        fire_out_of_memory(base, h, matches!(side, Side::Input));
        return false;
    };
    debug_assert!(flt.stranded[i].is_empty(), "a pass ran while stranded");
    flt.stranded[i] = meanwhile;
    flt.strand_bits |= 1 << i;
    if let Some(real) = side_mut(base, h, side)
        && !real.is_frozen(false)
    {
        real.freeze(false);
        filter_mut(base, f).expect("checked").strand_bits |= 1 << (4 + i);
    }
    true
}

/// Appends the bytes stranded by an earlier pass to their real buffers
/// (and lifts the freeze put on for them). Returns whether none are left
/// — a pass may run.
fn unstrand<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, u: Bufferevent) -> bool {
    if filter_mut(base, f).is_none_or(|flt| flt.strand_bits == 0) {
        return true;
    }
    unstrand_slow(base, f, u)
}

#[cold]
fn unstrand_slow<X: BevHost>(base: &mut EventBase<X>, f: Bufferevent, u: Bufferevent) -> bool {
    let mut all = true;
    for i in 0..4 {
        let (h, side) = match i {
            0 => (f, Side::Input),
            1 => (f, Side::Output),
            2 => (u, Side::Input),
            _ => (u, Side::Output),
        };
        let Some(flt) = filter_mut(base, f).filter(|flt| flt.strand_bits & (1 << i) != 0) else {
            continue;
        };
        let froze = flt.strand_bits & (1 << (4 + i)) != 0;
        let mut waiting = std::mem::take(&mut flt.stranded[i]);
        let appended = match side_mut(base, h, side) {
            Some(real) => {
                if froze {
                    real.unfreeze(false);
                }
                let res = append_meanwhile(real, &mut waiting);
                if res.is_err() && froze {
                    real.freeze(false);
                }
                res.is_ok()
            }
            // `h` is gone, and its buffers with it.
            None => true,
        };
        let flt = filter_mut(base, f).expect("checked");
        if appended {
            flt.strand_bits &= !(1 << i | 1 << (4 + i));
        } else {
            flt.stranded[i] = waiting;
            all = false;
        }
    }
    all
}

/// One pass of a closure: `src_side` of `src` and `dst_side` of `dst` are
/// moved out of their records for the call and put back after it (what
/// was added to the stand-ins meanwhile is appended, or stranded).
/// Returns the result, the two lengths the closure left, and whether
/// bytes were stranded.
fn run_closure<X: BevHost>(
    base: &mut EventBase<X>,
    f: Bufferevent,
    filter: &mut FilterFn<X>,
    (src, src_side): (Bufferevent, Side),
    (dst, dst_side): (Bufferevent, Side),
    limit: Option<usize>,
    mode: FlushMode,
) -> (FilterResult, usize, usize, bool) {
    let mut s = take_out(base, src, src_side);
    let mut d = take_out(base, dst, dst_side);
    // A panic must not take the bufferevents' data with it: the buffers
    // go back first, then the unwind resumes (and drops the closure).
    let res = panic::catch_unwind(AssertUnwindSafe(|| {
        filter(base, f, &mut s, &mut d, limit, mode)
    }));
    let lens = (s.len(), d.len());
    let mut stranded = false;
    for (h, side, buf) in [(src, src_side, s), (dst, dst_side, d)] {
        // Freed meanwhile: the buffer goes with it.
        let Some(slot) = side_mut(base, h, side) else {
            continue;
        };
        let mut meanwhile = std::mem::replace(slot, buf);
        if !meanwhile.is_empty() && append_meanwhile(slot, &mut meanwhile).is_err() {
            stranded |= strand(base, f, (h, side), meanwhile);
        }
    }
    match res {
        Ok(res) => (res, lens.0, lens.1, stranded),
        Err(p) => panic::resume_unwind(p),
    }
}

/// Lengths of a pass's source and destination, before and after it.
struct Pass {
    res: FilterResult,
    src: (usize, usize),
    dst: (usize, usize),
    /// Bytes of a stand-in were stranded: no further pass.
    stranded: bool,
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
        self.res != FilterResult::Ok || !moved || self.src.1 == 0 || self.stranded
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
    let (res, after, stranded) = match closure.as_mut() {
        None => {
            let res = pass(s, d, limit);
            (res, (s.len(), d.len()), false)
        }
        Some(filter) => {
            let (res, s1, d1, stranded) = run_closure(base, f, filter, src, dst, limit, mode);
            (res, (s1, d1), stranded)
        }
    };
    Some(Pass {
        res,
        src: (before.0, after.0),
        dst: (before.1, after.1),
        stranded,
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
    if !unstrand(base, f, u) {
        return false;
    }
    let Some(mut closure) = take_filter(base, f, true) else {
        return false;
    };
    let (mut grew, mut shrank, mut res) = (false, false, FilterResult::Ok);
    let mut stranded = false;
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
        stranded |= p.stranded;
        if p.last() {
            break;
        }
    }
    if let Some(filter) = closure {
        put_filter(base, f, true, filter);
    }
    if stranded {
        fire_out_of_memory(base, f, true);
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
    if mode == FlushMode::Normal && !rf.enabled.contains(Ev::WRITE) {
        return false;
    }
    if !unstrand(base, f, u) {
        return false;
    }
    if mode == FlushMode::Normal && base.ext.bevs().get(f).is_none_or(|rf| rf.output.is_empty()) {
        return false;
    }
    let Some(mut closure) = take_filter(base, f, false) else {
        return false;
    };
    let (mut grew, mut shrank, mut res) = (false, false, FilterResult::Ok);
    let (mut processed, mut stranded) = (false, false);
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
        stranded |= p.stranded;
        if p.last() {
            break;
        }
    }
    if let Some(filter) = closure {
        put_filter(base, f, false, filter);
    }
    if stranded {
        fire_out_of_memory(base, f, false);
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
        return;
    }
    // Bytes stranded for the underlying go to it now, and its buffers'
    // ends are no longer frozen for them. (Should its chain list still not
    // grow, they go with the filter: the last case where bytes can be lost,
    // at `free`, under memory exhaustion.)
    if !unstrand(base, f, u)
        && let Some(bits) = filter_mut(base, f).map(|flt| flt.strand_bits)
    {
        for (i, side) in [(2, Side::Input), (3, Side::Output)] {
            if bits & (1 << (4 + i)) != 0
                && let Some(real) = side_mut(base, u, side)
            {
                real.unfreeze(false);
            }
        }
    }
    if let Some(ru) = base.ext.bevs_mut().get_mut(u) {
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
