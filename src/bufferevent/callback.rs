//! The read, write and event callbacks (`bufferevent_setcb`,
//! `bufferevent_getcb`): setting and clearing each one alone, and running
//! them — now, or from the loop with
//! [`BevOptions::DEFER_CALLBACKS`](super::BevOptions::DEFER_CALLBACKS).
//!
//! libevent sets all three at once, `NULL` for "none"; in Rust a `None`
//! closure would need its type spelled out, so each callback has its own
//! setter and `clear_*` instead: `bufferevent_setcb(bev, r, NULL, e, ctx)`
//! becomes `set_read_callback(base, r)`, `clear_write_callback(base)`,
//! `set_event_callback(base, e)`; the context is what the closures
//! capture.
//!
//! A callback runs taken out of its record (`callback_slot.rs`): setting or
//! clearing it from inside itself takes effect when it returns, and a
//! callback that panics is dropped (see the [module
//! docs](crate::bufferevent#panics-in-callbacks)).

use super::closure::{DataFn, data_fn, event_fn};
use super::flags::{BevEvent, BevOptions};
use super::handle::Bufferevent;
use super::rec::{PENDING_READ, PENDING_WRITE, Rec};
use super::table::BevHost;
use crate::base::EventBase;
use crate::error::Result;
use crate::ev::Ev;

/// Which callbacks are set, from
/// [`Bufferevent::has_callbacks`] (`bufferevent_getcb`). A callback that
/// is running counts as unset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "bufferevent_getcb")]
pub struct HasCallbacks {
    /// The read callback is set.
    pub read: bool,
    /// The write callback is set.
    pub write: bool,
    /// The event callback is set.
    pub event: bool,
}

impl Bufferevent {
    /// Sets the read callback (`bufferevent_setcb`'s `readcb`): it runs
    /// after data arrives and the input holds at least the read low
    /// watermark. Replaces the one set before; the others stay.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent);
    /// [`Error::Alloc`](crate::Error::Alloc).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_read_callback(&mut base, |base: &mut EventBase, bev: Bufferevent| {
    ///     assert_eq!(bev.input_len(base).unwrap(), 2);
    ///     base.loopbreak();
    /// })?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hi")?;
    /// base.dispatch()?;
    /// assert!(base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_read_callback<X: BevHost, R>(self, base: &mut EventBase<X>, cb: R) -> Result<()>
    where
        R: FnMut(&mut EventBase<X>, Bufferevent) + 'static,
    {
        self.rec(base)?;
        let cb = data_fn(&base.account, cb)?;
        let old = self.rec_mut(base)?.replace_data(true, Some(cb));
        drop(old);
        Ok(())
    }

    /// Sets the write callback (`bufferevent_setcb`'s `writecb`): it runs
    /// after a write leaves at most the write low watermark in the output.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent);
    /// [`Error::Alloc`](crate::Error::Alloc).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// a.set_write_callback(&mut base, |base: &mut EventBase, bev: Bufferevent| {
    ///     assert_eq!(bev.output_len(base).unwrap(), 0); // all handed over
    ///     base.loopbreak();
    /// })?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hi")?;
    /// base.dispatch()?;
    /// assert!(base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_write_callback<X: BevHost, W>(self, base: &mut EventBase<X>, cb: W) -> Result<()>
    where
        W: FnMut(&mut EventBase<X>, Bufferevent) + 'static,
    {
        self.rec(base)?;
        let cb = data_fn(&base.account, cb)?;
        let old = self.rec_mut(base)?.replace_data(false, Some(cb));
        drop(old);
        Ok(())
    }

    /// Sets the event callback (`bufferevent_setcb`'s `eventcb`): it runs
    /// on EOF, errors, timeouts and connects (see [`BevEvent`]).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent);
    /// [`Error::Alloc`](crate::Error::Alloc).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevEvent, BevOptions, Bufferevent, Ev, EventBase, FlushMode};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_event_callback(&mut base, |base: &mut EventBase, _, what: BevEvent| {
    ///     assert_eq!(what, BevEvent::READING | BevEvent::EOF);
    ///     base.loopbreak();
    /// })?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.flush(&mut base, Ev::WRITE, FlushMode::Finished)?; // EOF for `b`
    /// base.dispatch()?;
    /// assert!(base.got_break());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_event_callback<X: BevHost, E>(self, base: &mut EventBase<X>, cb: E) -> Result<()>
    where
        E: FnMut(&mut EventBase<X>, Bufferevent, BevEvent) + 'static,
    {
        self.rec(base)?;
        let cb = event_fn(&base.account, cb)?;
        let old = self.rec_mut(base)?.replace_event(Some(cb));
        drop(old);
        Ok(())
    }

    /// Removes the read callback (`bufferevent_setcb` with a `NULL`
    /// `readcb`); from inside the callback, once it returns.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_read_callback(&mut base, |_: &mut EventBase, _| panic!("cleared"))?;
    /// b.clear_read_callback(&mut base)?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hi")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?; // nothing runs; the bytes wait
    /// assert_eq!(b.input_len(&base)?, 2);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn clear_read_callback<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let old = self.rec_mut(base)?.replace_data(true, None);
        drop(old);
        Ok(())
    }

    /// Removes the write callback.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// a.set_write_callback(&mut base, |_: &mut EventBase, _| panic!("cleared"))?;
    /// a.clear_write_callback(&mut base)?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hi")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn clear_write_callback<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let old = self.rec_mut(base)?.replace_data(false, None);
        drop(old);
        Ok(())
    }

    /// Removes the event callback.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, FlushMode};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_event_callback(&mut base, |_: &mut EventBase, _, _| panic!("cleared"))?;
    /// b.clear_event_callback(&mut base)?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.flush(&mut base, Ev::WRITE, FlushMode::Finished)?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn clear_event_callback<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let old = self.rec_mut(base)?.replace_event(None);
        drop(old);
        Ok(())
    }

    /// Removes all three callbacks
    /// (`bufferevent_setcb(bev, NULL, NULL, NULL, NULL)`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_read_callback(&mut base, |_: &mut EventBase, _| panic!("cleared"))?;
    /// b.set_event_callback(&mut base, |_: &mut EventBase, _, _| panic!("cleared"))?;
    /// b.clear_callbacks(&mut base)?;
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"hi")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setcb")]
    pub fn clear_callbacks<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let r = self.rec_mut(base)?;
        let old = (
            r.replace_data(true, None),
            r.replace_data(false, None),
            r.replace_event(None),
        );
        drop(old);
        Ok(())
    }

    /// Which callbacks are set (`bufferevent_getcb`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, HasCallbacks};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.set_write_callback(&mut base, |_: &mut EventBase, _| {})?;
    /// let set = bev.has_callbacks(&base)?;
    /// assert_eq!(set, HasCallbacks { read: false, write: true, event: false });
    /// bev.clear_callbacks(&mut base)?;
    /// assert_eq!(bev.has_callbacks(&base)?, HasCallbacks::default());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_getcb")]
    pub fn has_callbacks<X: BevHost>(self, base: &EventBase<X>) -> Result<HasCallbacks> {
        let r = self.rec(base)?;
        Ok(HasCallbacks {
            read: r.readcb.is_some(),
            write: r.writecb.is_some(),
            event: r.eventcb.is_some(),
        })
    }
}

/// Runs the read (`read == true`) or write callback now.
fn call_data<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    if let Some(f) = r.take_data(read) {
        run_data(base, h, read, f);
    }
}

/// Runs a data callback taken out of `h`'s record, then puts it back
/// unless it was set or cleared meanwhile (or the bufferevent freed).
#[inline]
fn run_data<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool, mut f: DataFn<X>) {
    f(base, h);
    let old = match base.ext.bevs_mut().get_mut(h) {
        Some(r) => r.put_back_data(read, f),
        None => Some(f),
    };
    drop(old);
}

/// Runs the event callback now.
fn call_event<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, what: BevEvent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let Some(mut f) = r.take_event() else {
        return;
    };
    f(base, h, what);
    let old = match base.ext.bevs_mut().get_mut(h) {
        Some(r) => r.put_back_event(f),
        None => Some(f),
    };
    drop(old);
}

/// The read callback, now or (with `DEFER_CALLBACKS`) from the loop.
pub(crate) fn fire_read<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, defer: bool) {
    fire_data(base, h, true, defer)
}

/// The write callback, now or from the loop.
pub(crate) fn fire_write<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, defer: bool) {
    fire_data(base, h, false, defer)
}

fn fire_data<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool, defer: bool) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let fire = prepare_data(r, read, defer);
    finish_data(base, h, read, fire);
}

/// What firing a data callback asks for, decided on the record.
pub(crate) enum Fire<F> {
    /// Run this callback now (taken out of its slot).
    Now(F),
    /// Marked pending: the loop runs it (`DEFER_CALLBACKS`).
    Later,
    /// No callback is set.
    Nothing,
}

/// The first half of firing `r`'s read (`read`) or write callback, for a
/// caller that holds the record already (the socket's I/O path): no
/// second table lookup. [`finish_data`] does the rest.
#[inline]
pub(crate) fn prepare_data<X: BevHost>(r: &mut Rec<X>, read: bool, defer: bool) -> Fire<DataFn<X>> {
    if defer || r.options.contains(BevOptions::DEFER_CALLBACKS) {
        r.pending |= if read { PENDING_READ } else { PENDING_WRITE };
        return Fire::Later;
    }
    match r.take_data(read) {
        Some(f) => Fire::Now(f),
        None => Fire::Nothing,
    }
}

/// The second half: runs the callback or queues the record for the loop.
#[inline]
pub(crate) fn finish_data<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    read: bool,
    fire: Fire<DataFn<X>>,
) {
    match fire {
        Fire::Now(f) => run_data(base, h, read, f),
        Fire::Later => base.ext.bevs_mut().mark_dirty(h),
        Fire::Nothing => {}
    }
}

/// The event callback with `what`, now or from the loop (flags OR-ed).
pub(crate) fn fire_event<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    what: BevEvent,
    defer: bool,
) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    if defer || r.options.contains(BevOptions::DEFER_CALLBACKS) {
        r.pending_events |= what;
        base.ext.bevs_mut().mark_dirty(h);
    } else {
        call_event(base, h, what);
    }
}

/// Runs the deferred callbacks of `h`, in libevent's order: read, write,
/// event.
pub(crate) fn run_deferred<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let (pending, events) = (r.pending, r.pending_events);
    r.pending = 0;
    r.pending_events = BevEvent::empty();
    if pending & PENDING_READ != 0 {
        call_data(base, h, true);
    }
    if pending & PENDING_WRITE != 0 {
        call_data(base, h, false);
    }
    if !events.is_empty() {
        call_event(base, h, events);
    }
}

/// An allocation the loop needed for one direction of `h` failed where
/// no call returns an error (a timer it could not arm — see
/// [timeouts](super::timeouts) and [rate limits](super::ratelimit)): the
/// direction (`read`, else write) stops, then the event callback gets
/// `READING | ERROR` or `WRITING | ERROR` with `ENOMEM` in
/// [`socket_error`](Bufferevent::socket_error), as for a read that could
/// get no memory.
pub(crate) fn fire_out_of_memory<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    r.error = libc::ENOMEM;
    let (dir, what) = direction(read);
    let _ = h.disable(base, dir);
    fire_event(base, h, what | BevEvent::ERROR, false);
}

/// A direction (`read`, else write) and its event flag.
pub(crate) fn direction(read: bool) -> (Ev, BevEvent) {
    if read {
        (Ev::READ, BevEvent::READING)
    } else {
        (Ev::WRITE, BevEvent::WRITING)
    }
}
