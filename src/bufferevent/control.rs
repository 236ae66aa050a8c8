//! What a bufferevent does whatever its kind (`bufferevent.c`): enable
//! and disable, watermarks, single-read and -write caps, timeouts,
//! triggers, flush, the socket and its error, the options, and free. Each
//! operation that differs by kind (libevent's `bufferevent_ops`) matches
//! on the kind here and calls that kind's file; a filter reaches its
//! underlying through these same public methods, as libevent's filter
//! calls `bufferevent_enable` on its underlying.

use std::os::fd::RawFd;
use std::time::Duration;

use super::callback::{fire_event, fire_read, fire_write};
use super::flags::{BevEvent, BevOptions, DEFAULT_MAX_SINGLE_IO, FlushMode, TriggerOptions};
use super::handle::Bufferevent;
use super::rec::Kind;
use super::table::BevHost;
use super::{filter, pair, ratelimit, socket, timeouts};
use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::ev::Ev;

/// One direction's watermarks, from [`Bufferevent::watermark`]
/// (`bufferevent_getwatermark`); `high == 0` means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "bufferevent_getwatermark")]
pub struct Watermark {
    /// The low watermark.
    pub low: usize,
    /// The high watermark, 0 for none.
    pub high: usize,
}

impl Bufferevent {
    /// The options it was created with.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::CLOSE_ON_FREE)?;
    /// assert_eq!(bev.options(&base)?, BevOptions::CLOSE_ON_FREE);
    /// let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// assert!(a.options(&base)?.contains(BevOptions::DEFER_CALLBACKS)); // pairs always defer
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn options<X: BevHost>(self, base: &EventBase<X>) -> Result<BevOptions> {
        Ok(self.rec(base)?.options)
    }

    /// Enables reading and / or writing (`bufferevent_enable`). Enabling
    /// reading restarts the read timeout; enabling writing restarts the
    /// write timeout of a filter or a socket without an fd (with or
    /// without output, as in libevent) and of a pair with output waiting.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Io`] if the socket cannot be
    /// watched; [`Error::Alloc`] if the timer heap cannot make room for the
    /// timeout timers, nothing changed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// assert_eq!(b.enabled(&base)?, Ev::WRITE); // a pair starts writing only
    /// a.write(&mut base, b"x")?;
    /// assert_eq!(b.input_len(&base)?, 0);
    /// b.enable(&mut base, Ev::READ)?;
    /// assert_eq!(b.enabled(&base)?, Ev::READ | Ev::WRITE);
    /// base.run(rvent::LoopFlags::NONBLOCK)?; // now it takes what waits
    /// assert_eq!(b.input_len(&base)?, 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_enable")]
    pub fn enable<X: BevHost>(self, base: &mut EventBase<X>, what: Ev) -> Result<()> {
        // Restarting the timeout timers below must not fail half-way.
        timeouts::reserve(base, self)?;
        let r = self.rec_mut(base)?;
        r.enabled |= what & (Ev::READ | Ev::WRITE);
        r.check_high_watermark();
        let r = match r.kind {
            Kind::Socket(_) => socket::on_enable(base, self, what),
            Kind::Filter(_) => filter::on_enable(base, self, what, true),
            _ => self.touch(base).map(drop),
        };
        // Enabling restarts the direction's timeout (libevent).
        timeouts::on_enable(base, self, what);
        r
    }

    /// Disables reading and / or writing (`bufferevent_disable`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.enable(&mut base, Ev::READ)?;
    /// b.disable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"x")?;
    /// assert_eq!(b.input_len(&base)?, 0); // `b` is not reading
    /// assert_eq!(a.output_len(&base)?, 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_disable")]
    pub fn disable<X: BevHost>(self, base: &mut EventBase<X>, what: Ev) -> Result<()> {
        let r = self.rec_mut(base)?;
        r.enabled = r.enabled - (what & (Ev::READ | Ev::WRITE));
        let r = match r.kind {
            Kind::Socket(_) => socket::sync(base, self),
            Kind::Filter(_) => filter::on_enable(base, self, what, false),
            _ => Ok(()),
        };
        timeouts::adjust(base, self);
        r
    }

    /// The enabled directions (`bufferevent_get_enabled`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.enabled(&base)?, Ev::WRITE);
    /// bev.enable(&mut base, Ev::READ)?;
    /// bev.disable(&mut base, Ev::WRITE)?;
    /// assert_eq!(bev.enabled(&base)?, Ev::READ);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_enabled")]
    pub fn enabled<X: BevHost>(self, base: &EventBase<X>) -> Result<Ev> {
        Ok(self.rec(base)?.enabled)
    }

    /// Sets the low and high watermarks of `what`'s directions
    /// (`bufferevent_setwatermark`); `high == 0` means unlimited.
    ///
    /// Read: no read callback below `low`; reading stops at `high` and
    /// resumes when the input is drained below it. Write: the write
    /// callback runs when the output falls to `low`.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`] (a first
    /// non-zero watermark takes a block for the bufferevent's rarely used
    /// settings), nothing changed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, Watermark};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_watermark(&mut base, Ev::READ, 0, 4)?; // read at most 4 bytes ahead
    /// b.enable(&mut base, Ev::READ)?;
    /// a.write(&mut base, b"0123456789")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// assert_eq!(b.input_len(&base)?, 4);
    /// assert_eq!(b.watermark(&base, Ev::READ)?, Watermark { low: 0, high: 4 });
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_setwatermark")]
    pub fn set_watermark<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        what: Ev,
        low: usize,
        high: usize,
    ) -> Result<()> {
        let r = self.rec_mut(base)?;
        let (w, rd) = (what.contains(Ev::WRITE), what.contains(Ev::READ));
        if (low != 0 || high != 0) && (w || rd) {
            r.cold_mut()?;
        }
        if let Some(c) = r.cold.as_deref_mut() {
            if w {
                c.write_low = low;
                c.write_high = high;
            }
            if rd {
                c.read_low = low;
                c.read_high = high;
            }
        }
        if rd {
            r.check_high_watermark();
        }
        base.ext.bevs_mut().mark_dirty(self);
        Ok(())
    }

    /// The watermarks of one direction (`bufferevent_getwatermark`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `what` is exactly one of READ and
    /// WRITE; [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, Watermark};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.set_watermark(&mut base, Ev::READ, 10, 20)?;
    /// assert_eq!(bev.watermark(&base, Ev::READ)?, Watermark { low: 10, high: 20 });
    /// assert_eq!(bev.watermark(&base, Ev::WRITE)?.high, 0);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_getwatermark")]
    pub fn watermark<X: BevHost>(self, base: &EventBase<X>, what: Ev) -> Result<Watermark> {
        let r = self.rec(base)?;
        let what = what & (Ev::READ | Ev::WRITE);
        if what == Ev::READ {
            Ok(Watermark {
                low: r.read_low(),
                high: r.read_high(),
            })
        } else if what == Ev::WRITE {
            Ok(Watermark {
                low: r.write_low(),
                high: r.write_high(),
            })
        } else {
            Err(Error::InvalidArgument(
                "ask for exactly one of READ and WRITE",
            ))
        }
    }

    /// Caps one read (`bufferevent_set_max_single_read`); 0 restores the
    /// default, 16 KiB. One wakeup reads at most this much.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] above
    /// [`MAX_READ_LIMIT`](crate::MAX_READ_LIMIT) (1 MiB); [`Error::Alloc`]
    /// (a first cap other than the default takes a block for the
    /// bufferevent's rarely used settings), nothing changed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.set_max_single_read(&mut base, 4096)?;
    /// assert_eq!(bev.max_single_read(&base)?, 4096);
    /// bev.set_max_single_read(&mut base, 0)?; // back to the default
    /// assert_eq!(bev.max_single_read(&base)?, rvent::DEFAULT_MAX_SINGLE_IO);
    /// assert!(bev.set_max_single_read(&mut base, 2 << 20).is_err()); // over 1 MiB
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_set_max_single_read")]
    pub fn set_max_single_read<X: BevHost>(self, base: &mut EventBase<X>, n: usize) -> Result<()> {
        let n = if n == 0 { DEFAULT_MAX_SINGLE_IO } else { n };
        let r = self.rec_mut(base)?;
        if n == r.max_read() {
            return Ok(());
        }
        // The block first: a refused `n` then leaves it at the defaults.
        r.cold_mut()?;
        r.input.set_max_read(n)?;
        r.cold_mut()?.max_read = n as u32;
        Ok(())
    }

    /// Caps one write (`bufferevent_set_max_single_write`); 0 restores the
    /// default, 16 KiB.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] above
    /// `u32::MAX`; [`Error::Alloc`] as
    /// [`set_max_single_read`](Self::set_max_single_read).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.set_max_single_write(&mut base, 1 << 20)?;
    /// assert_eq!(bev.max_single_write(&base)?, 1 << 20);
    /// assert_eq!(bev.max_to_write(&mut base)?, 1 << 20);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_set_max_single_write")]
    pub fn set_max_single_write<X: BevHost>(self, base: &mut EventBase<X>, n: usize) -> Result<()> {
        let n = if n == 0 { DEFAULT_MAX_SINGLE_IO } else { n };
        let n = u32::try_from(n).map_err(|_| Error::InvalidArgument("max single write too big"))?;
        let r = self.rec_mut(base)?;
        if n as usize != r.max_write() {
            r.cold_mut()?.max_write = n;
        }
        Ok(())
    }

    /// The cap of one read (`bufferevent_get_max_single_read`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, DEFAULT_MAX_SINGLE_IO, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.max_single_read(&base)?, DEFAULT_MAX_SINGLE_IO); // 16 KiB
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_max_single_read")]
    pub fn max_single_read<X: BevHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.max_read())
    }

    /// The cap of one write (`bufferevent_get_max_single_write`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, DEFAULT_MAX_SINGLE_IO, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(bev.max_single_write(&base)?, DEFAULT_MAX_SINGLE_IO);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_get_max_single_write")]
    pub fn max_single_write<X: BevHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.max_write())
    }

    /// Sets the read and write timeouts (`bufferevent_set_timeouts`);
    /// `None` removes one. The read timeout counts while reading is
    /// enabled and not suspended, the write timeout while output waits;
    /// each successful read or write restarts it. On expiry the direction
    /// is disabled and the event callback gets `READING | TIMEOUT` or
    /// `WRITING | TIMEOUT`.
    ///
    /// As in libevent, the write timeout also bounds a
    /// [`connect`](Self::connect); and a filter, or a socket bufferevent
    /// without an fd, times writing from [`enable`](Self::enable) even
    /// with nothing to write, a filter from each pass over its output
    /// even once the data has moved on to its underlying.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`] (the first timeout
    /// takes a block for the bufferevent's rarely used settings, a
    /// bufferevent without a socket two timers, and arming them room in
    /// the timer heap), nothing changed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevEvent, BevOptions, Bufferevent, Ev, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let (_a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// b.set_event_callback(&mut base, |_: &mut EventBase, _, what: BevEvent| {
    ///     assert_eq!(what, BevEvent::READING | BevEvent::TIMEOUT);
    /// })?;
    /// b.set_timeouts(&mut base, Some(Duration::from_millis(1)), None)?;
    /// b.enable(&mut base, Ev::READ)?;
    /// base.dispatch()?; // `_a` sends nothing: the read timeout fires
    /// assert_eq!(b.enabled(&base)?, Ev::WRITE); // and reading was disabled
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_set_timeouts")]
    pub fn set_timeouts<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        read: Option<Duration>,
        write: Option<Duration>,
    ) -> Result<()> {
        let r = self.rec_mut(base)?;
        if read.is_none() && write.is_none() && r.cold.is_none() {
            return Ok(());
        }
        let made_cold = r.cold.is_none();
        r.cold_mut()?;
        // Arming the new timeouts takes at most two timer-heap entries:
        // room first, so that nothing below fails half-way.
        let room = if read.is_some() || write.is_some() {
            base.heap.reserve(&base.account, 2)
        } else {
            Ok(())
        };
        let c = self.rec_mut(base)?.cold_mut()?;
        let old = (c.timeout_read, c.timeout_write);
        c.timeout_read = read;
        c.timeout_write = write;
        // Timers first: they are the one step here that can fail.
        if let Err(e) = room.and_then(|()| timeouts::set(base, self)) {
            let r = self.rec_mut(base)?;
            if made_cold {
                // Back to no cold block (its charge credited).
                r.cold = None;
            } else if let Some(c) = r.cold.as_deref_mut() {
                (c.timeout_read, c.timeout_write) = old;
            }
            return Err(e);
        }
        let r = self.rec_mut(base)?;
        if let Kind::Socket(_) = r.kind {
            socket::rearm_timeouts(base, self)?;
        }
        Ok(())
    }

    /// Runs the read and / or write callback as if data had arrived or
    /// left (`bufferevent_trigger`): subject to the watermarks unless
    /// [`TriggerOptions::IGNORE_WATERMARKS`].
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, TriggerOptions};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// a.set_read_callback(&mut base, move |_: &mut EventBase, _| r.set(true))?;
    /// a.trigger(&mut base, Ev::READ, TriggerOptions::IGNORE_WATERMARKS)?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?; // a pair's callbacks run from the loop
    /// assert!(ran.get());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_trigger")]
    pub fn trigger<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        what: Ev,
        opts: TriggerOptions,
    ) -> Result<()> {
        let r = self.rec(base)?;
        let ignore = opts.contains(TriggerOptions::IGNORE_WATERMARKS);
        let defer = opts.contains(TriggerOptions::DEFER_CALLBACKS);
        let read = what.contains(Ev::READ) && (ignore || r.input.len() >= r.read_low());
        let write = what.contains(Ev::WRITE) && (ignore || r.output.len() <= r.write_low());
        if read {
            fire_read(base, self, defer);
        }
        if write {
            fire_write(base, self, defer);
        }
        Ok(())
    }

    /// Runs the event callback with `what` (`bufferevent_trigger_event`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevEvent, BevOptions, Bufferevent, EventBase, TriggerOptions};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// let seen = Rc::new(Cell::new(BevEvent::empty()));
    /// let s = seen.clone();
    /// bev.set_event_callback(&mut base, move |_: &mut EventBase, _, what| s.set(what))?;
    /// bev.trigger_event(&mut base, BevEvent::READING | BevEvent::EOF, TriggerOptions::empty())?;
    /// assert_eq!(seen.get(), BevEvent::READING | BevEvent::EOF);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_trigger_event")]
    pub fn trigger_event<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        what: BevEvent,
        opts: TriggerOptions,
    ) -> Result<()> {
        self.rec(base)?;
        fire_event(
            base,
            self,
            what,
            opts.contains(TriggerOptions::DEFER_CALLBACKS),
        );
        Ok(())
    }

    /// Pushes data along (`bufferevent_flush`): for sockets a no-op
    /// (`Ok(false)`); a pair moves what it can to its partner, and
    /// [`FlushMode::Finished`] gives the partner EOF (`READING | EOF` for
    /// a flush of WRITE; the callbacks run from the loop); a filter runs its
    /// filters with `mode` and no limits, then flushes its underlying.
    /// Returns whether data moved.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase, FlushMode};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// a.write(&mut base, b"data")?; // `b` is not reading: it waits in `a`
    /// assert!(a.flush(&mut base, Ev::WRITE, FlushMode::Flush)?); // pushed across
    /// assert_eq!(b.input_len(&base)?, 4);
    /// let sock = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert!(!sock.flush(&mut base, Ev::WRITE, FlushMode::Flush)?); // a no-op for sockets
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_flush")]
    pub fn flush<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        what: Ev,
        mode: FlushMode,
    ) -> Result<bool> {
        match self.rec(base)?.kind {
            Kind::Pair(_) => Ok(pair::flush(base, self, what, mode)),
            Kind::Filter(_) => Ok(filter::flush(base, self, what, mode)),
            _ => Ok(false),
        }
    }

    /// The socket error behind the last `ERROR` event, if any
    /// (libevent's `EVUTIL_SOCKET_ERROR()` in the event callback).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert!(bev.socket_error(&base)?.is_none()); // no ERROR event yet
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "EVUTIL_SOCKET_ERROR")]
    pub fn socket_error<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<std::io::Error>> {
        let e = self.rec(base)?.error;
        Ok((e != 0).then(|| std::io::Error::from_raw_os_error(e)))
    }

    /// The socket, if any (`bufferevent_getfd`, whose `-1` is `None`):
    /// pairs have none, nor a socket bufferevent before
    /// [`connect`](Self::connect) or [`set_fd`](Self::set_fd); a filter
    /// answers for its underlying (as libevent forwards
    /// `BEV_CTRL_GET_FD`).
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
    /// assert_eq!(a.fd(&base)?, None); // pairs have no socket
    /// let s = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// assert_eq!(s.fd(&base)?, None); // nor a socket before connect / set_fd
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_getfd")]
    pub fn fd<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<RawFd>> {
        let mut r = self.rec(base)?;
        // Down a stack of filters to the bufferevent that has the socket.
        loop {
            match &r.kind {
                Kind::Socket(s) => return Ok(s.fd()),
                Kind::Filter(f) => match base.ext.bevs().get(f.underlying) {
                    Some(u) => r = u,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
    }

    /// Frees the bufferevent (`bufferevent_free`): callbacks are dropped,
    /// the socket closed with [`BevOptions::CLOSE_ON_FREE`]; output not yet
    /// written is discarded. Safe from inside its own callbacks; the
    /// handle is stale afterwards.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`] if already freed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase, Error};
    ///
    /// let mut base = EventBase::new()?;
    /// let bev = Bufferevent::socket(&mut base, None, BevOptions::empty())?;
    /// bev.free(&mut base)?;
    /// assert!(!bev.is_live(&base));
    /// assert!(matches!(bev.free(&mut base), Err(Error::StaleBufferevent)));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_free")]
    pub fn free<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        match self.rec(base)?.kind {
            Kind::Socket(_) => socket::release(base, self),
            Kind::Pair(_) => pair::release(base, self),
            Kind::Filter(_) => filter::release(base, self),
            Kind::Free => {}
        }
        if self.rec(base).is_ok_and(|r| r.limited()) {
            ratelimit::release(base, self);
        }
        timeouts::release(base, self);
        // Take everything out first: dropping callbacks or buffers may run
        // user code (captured values, reference cleanups).
        let old = base.ext.bevs_mut().remove(self);
        drop(old);
        Ok(())
    }
}
