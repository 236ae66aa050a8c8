//! The pair kind (`bufferevent_pair_*`): two bufferevents joined in
//! memory. What one writes moves — chains, not copies — into the other's
//! input, as much as the receiver's read high watermark allows.
//!
//! As in libevent, a pair always defers its callbacks
//! ([`BevOptions::DEFER_CALLBACKS`] is implied): [`write`] and
//! [`write_buffer`] hand the data to a reading partner at once, and
//! [`flush`] with [`FlushMode::Flush`] / [`FlushMode::Finished`] moves it
//! whatever the partner does, but the read, write and event callbacks
//! they cause run from the loop, so a ping-pong between two members never
//! recurses. Other changes (data added through [`output`], input drained,
//! reading enabled) move data when the loop services the member, before
//! it polls.
//!
//! [`write`]: Bufferevent::write
//! [`write_buffer`]: Bufferevent::write_buffer
//! [`flush`]: Bufferevent::flush
//! [`output`]: Bufferevent::output

use super::callback::{fire_event, fire_read, fire_write};
use super::flags::{BevEvent, BevOptions, FlushMode};
use super::handle::Bufferevent;
use super::rec::{Kind, Pair};
use super::table::BevHost;
use super::timeouts;
use crate::base::EventBase;
use crate::error::Result;
use crate::ev::Ev;

impl Bufferevent {
    /// Two bufferevents connected to each other (`bufferevent_pair_new`):
    /// bytes written to one arrive in the other's input. Both start with
    /// writing enabled and reading disabled.
    /// [`BevOptions::DEFER_CALLBACKS`] is always added, as libevent does:
    /// the callbacks run from the loop. The two members are symmetric, so
    /// they come back as a tuple.
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::Error::Alloc).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// assert_eq!(a.partner(&base)?, Some(b));
    /// b.enable(&mut base, Ev::READ)?; // pairs start with reading disabled
    /// a.write(&mut base, b"over")?;
    /// assert_eq!(b.input_len(&base)?, 4);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_pair_new")]
    pub fn pair<X: BevHost>(
        base: &mut EventBase<X>,
        options: BevOptions,
    ) -> Result<(Bufferevent, Bufferevent)> {
        let options = options | BevOptions::DEFER_CALLBACKS;
        let a = base.bev_insert(Kind::Pair(Pair { partner: None }), options)?;
        let b = match base.bev_insert(Kind::Pair(Pair { partner: Some(a) }), options) {
            Ok(b) => b,
            Err(e) => {
                let _ = a.free(base);
                return Err(e);
            }
        };
        for (h, partner) in [(a, b), (b, a)] {
            let r = base.ext.bevs_mut().get_mut(h).expect("just inserted");
            r.enabled = Ev::WRITE;
            r.kind = Kind::Pair(Pair {
                partner: Some(partner),
            });
        }
        Ok((a, b))
    }

    /// The other member of a pair, `None` once it was freed or for other
    /// kinds (`bufferevent_pair_get_partner`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`](crate::Error::StaleBufferevent).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, b) = Bufferevent::pair(&mut base, BevOptions::empty())?;
    /// assert_eq!(a.partner(&base)?, Some(b));
    /// b.free(&mut base)?;
    /// assert_eq!(a.partner(&base)?, None);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_pair_get_partner")]
    pub fn partner<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<Bufferevent>> {
        Ok(match &self.rec(base)?.kind {
            Kind::Pair(p) => p.partner.filter(|p| p.is_live(base)),
            _ => None,
        })
    }
}

fn partner_of<X: BevHost>(base: &EventBase<X>, h: Bufferevent) -> Option<Bufferevent> {
    match &base.ext.bevs().get(h)?.kind {
        Kind::Pair(p) => p.partner,
        _ => None,
    }
}

/// Moves `src`'s output into `dst`'s input: as much as `dst`'s read high
/// watermark allows unless `force`, only while `src` writes and `dst`
/// reads (or `force`). Runs the read callback of `dst` and the write
/// callback of `src` as libevent does. Returns whether bytes moved.
fn transfer<X: BevHost>(
    base: &mut EventBase<X>,
    src: Bufferevent,
    dst: Bufferevent,
    force: bool,
) -> bool {
    let Some((s, d)) = base.ext.bevs_mut().get2_mut(src, dst) else {
        return false;
    };
    if s.output.is_empty() {
        return false;
    }
    let flowing = s.enabled.contains(Ev::WRITE) && d.reading();
    if !(force || flowing) {
        return false;
    }
    let room = if d.read_high() == 0 || force {
        usize::MAX
    } else {
        d.read_high().saturating_sub(d.input.len())
    };
    let moved = if room >= s.output.len() {
        let n = s.output.len();
        d.input.add_buffer(&mut s.output).map(|()| n)
    } else {
        s.output.remove_buffer(&mut d.input, room)
    };
    let Ok(moved) = moved else {
        return false;
    };
    if moved == 0 {
        return false;
    }
    d.check_high_watermark();
    let read = d.input.len() >= d.read_low();
    let write = s.output.len() <= s.write_low();
    timeouts::progress(base, dst, true);
    timeouts::progress(base, src, false);
    if read {
        fire_read(base, dst, false);
    }
    if write {
        fire_write(base, src, false);
    }
    true
}

/// The loop services a dirty member: its output flows to the partner and
/// the partner's output to it (its input may have been drained).
pub(crate) fn service<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if let Some(r) = base.ext.bevs_mut().get_mut(h) {
        r.check_high_watermark();
    }
    let Some(p) = partner_of(base, h) else {
        return;
    };
    transfer(base, h, p, false);
    transfer(base, p, h, false);
}

/// Output was added to `h` through `write`: a reading partner gets it
/// now (libevent's output-buffer callback). `h` is marked for servicing
/// after the partner (its write timeout, and data the partner's watermark
/// held back).
pub(crate) fn output_added<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if let Some(p) = partner_of(base, h) {
        transfer(base, h, p, false);
    }
    base.ext.bevs_mut().mark_dirty(h);
}

/// `flush` on a pair member.
pub(crate) fn flush<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    what: Ev,
    mode: FlushMode,
) -> bool {
    if mode == FlushMode::Normal {
        return false;
    }
    let Some(p) = partner_of(base, h).filter(|p| p.is_live(base)) else {
        return false;
    };
    let mut moved = false;
    if what.contains(Ev::READ) {
        moved |= transfer(base, p, h, true);
    }
    if what.contains(Ev::WRITE) {
        moved |= transfer(base, h, p, true);
    }
    if mode == FlushMode::Finished {
        // The partner stops hearing from this side: it was reading what
        // this side wrote, writing what this side read.
        let mut ended = BevEvent::EOF;
        if what.contains(Ev::READ) {
            ended |= BevEvent::WRITING;
        }
        if what.contains(Ev::WRITE) {
            ended |= BevEvent::READING;
        }
        fire_event(base, p, ended, false);
    }
    moved
}

/// Unlinks a freed member from its partner.
pub(crate) fn release<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    if let Some(p) = partner_of(base, h)
        && let Some(r) = base.ext.bevs_mut().get_mut(p)
        && let Kind::Pair(pair) = &mut r.kind
    {
        pair.partner = None;
    }
}
