//! Inspecting a base: `event_base_dump_events` and
//! `event_base_foreach_event`.
//!
//! The dump lists inserted events, then active ones, one per line, like
//! libevent's (whose format is explicitly unstable; so is this one, though
//! each line starts with the event's `Debug` form so tests can find it).

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::os::fd::RawFd;
use std::time::Instant;

use crate::base::{BaseExt, EventBase};
use crate::ev::Ev;
use crate::handle::Event;
use crate::mem::Arena;
use crate::slots::state;

/// A snapshot of one event, given to [`EventBase::foreach_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventInfo {
    /// The event.
    pub event: Event,
    /// Its fd or signal number (-1 for timers).
    pub fd: RawFd,
    /// The flags it was created with.
    pub events: Ev,
    /// Pending (added) on its fd, signal or timeout.
    pub pending: bool,
    /// Active, with these result flags.
    pub active: Option<Ev>,
    /// Its timeout, if scheduled.
    pub expires: Option<Instant>,
    /// Its priority.
    pub priority: usize,
}

impl<X: BaseExt> EventBase<X> {
    fn info(&self, idx: u32) -> EventInfo {
        let s = &self.slots[idx];
        EventInfo {
            event: self.event_of(idx),
            fd: s.fd,
            events: s.what,
            pending: s.is_pending(),
            active: s.has(state::ACTIVE).then_some(s.res),
            expires: s.has(state::TIMEOUT).then(|| self.instant_of(s.deadline)),
            priority: usize::from(s.prio),
        }
    }

    /// Calls `f` for every added or active event until it breaks
    /// (`event_base_foreach_event`); returns the break value.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    /// use std::ops::ControlFlow;
    /// use std::time::Duration;
    /// let mut base = EventBase::new()?;
    /// let t = Event::timer(&mut base, |_, _, _, _| {})?;
    /// t.add(&mut base, Some(Duration::from_secs(5)))?;
    /// let found = base.foreach_event(|info| {
    ///     if info.event == t { ControlFlow::Break(info.expires.is_some()) } else { ControlFlow::Continue(()) }
    /// });
    /// assert_eq!(found, Some(true));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_foreach_event")]
    pub fn foreach_event<B>(&self, mut f: impl FnMut(&EventInfo) -> ControlFlow<B>) -> Option<B> {
        for (idx, s) in self.slots.iter_live() {
            if (s.is_pending() || s.has(state::ACTIVE))
                && let ControlFlow::Break(b) = f(&self.info(idx))
            {
                return Some(b);
            }
        }
        None
    }

    /// Writes a human-readable list of inserted and active events
    /// (`event_base_dump_events`). The text is formatted in the base's
    /// scratch arena and handed to `out` in one `write_all`.
    ///
    /// # Errors
    /// Whatever `out` returns; [`io::ErrorKind::OutOfMemory`] if the
    /// scratch memory cannot be obtained.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Event, EventBase};
    /// use std::time::Duration;
    ///
    /// let mut base = EventBase::new()?;
    /// let ev = Event::timer(&mut base, |_, _, _, _| {})?;
    /// ev.add(&mut base, Some(Duration::from_secs(1)))?;
    /// let mut text = Vec::new();
    /// base.dump_events(&mut text).unwrap();
    /// assert!(String::from_utf8(text).unwrap().contains("Timeout"));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "event_base_dump_events")]
    pub fn dump_events(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut text = ScratchText(allocator_api2::vec::Vec::new_in(self.scratch()));
        self.dump_into(&mut text)?;
        out.write_all(&text.0)
    }

    fn dump_into(&self, out: &mut ScratchText<'_>) -> io::Result<()> {
        let now = self.now();
        writeln!(out, "Inserted events:")?;
        for (idx, s) in self.slots.iter_live() {
            if !s.is_pending() {
                continue;
            }
            let i = self.info(idx);
            write!(out, "  {:?} fd {} [{:?}]", i.event, i.fd, i.events)?;
            if let Some(t) = i.expires {
                let left = t.saturating_duration_since(now);
                write!(out, " Timeout={:.6}s", left.as_secs_f64())?;
            }
            writeln!(out)?;
        }
        writeln!(out, "Active events:")?;
        for p in 0..self.active.len() {
            for idx in self.active.iter_prio(&self.slots, p) {
                let i = self.info(idx);
                writeln!(
                    out,
                    "  {:?} fd {} [{:?}] priority {} active [{:?}]",
                    i.event,
                    i.fd,
                    i.events,
                    p,
                    i.active.unwrap_or_default()
                )?;
            }
        }
        Ok(())
    }
}

/// Text formatted in the arena; growth failure is an `OutOfMemory` error
/// (never an abort, which `Vec`'s own `io::Write` would risk).
struct ScratchText<'a>(allocator_api2::vec::Vec<u8, &'a Arena>);

impl Write for ScratchText<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .try_reserve(buf.len())
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
