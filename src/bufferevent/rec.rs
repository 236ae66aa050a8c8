//! One bufferevent's record in the base's table: the state every kind
//! shares (buffers, callbacks, watermarks, enabled directions and their
//! suspensions, timeouts) and the state of its kind — socket, pair or
//! filter. Plain data: the behaviour that reads and changes it sits above
//! the table, one file per kind.

use std::os::fd::RawFd;
use std::time::Duration;

use super::bucket::{RateBox, RateLimit};
use super::closure::{DataFn, EventFn, FilterFn};
use super::dns::DnsAnswer;
use super::flags::{BevEvent, BevOptions, DEFAULT_MAX_SINGLE_IO};
use super::handle::Bufferevent;
use crate::base::BaseExt;
use crate::buffer::Evbuffer;
use crate::callback_slot::Running;
use crate::ev::Ev;
use crate::handle::Event;
use crate::mem::{self, Account, Charge, MemArc, MemRc, Pool};
use crate::slots::NIL;

/// Suspension reasons (libevent's `BEV_SUSPEND_*`): a direction runs only
/// while enabled and not suspended.
pub(crate) mod suspend {
    /// Read: the input reached its high watermark.
    pub const WM: u8 = 0x01;
    /// Read: the filter above this bufferevent has a full input.
    pub const FILT: u8 = 0x02;
    /// Read or write: its own token bucket is empty (rate limit).
    pub const BW: u8 = 0x04;
    /// Read or write: its group's token bucket is empty.
    pub const BW_GROUP: u8 = 0x08;
}

/// Pending deferred read callback.
pub(crate) const PENDING_READ: u8 = 0x01;
/// Pending deferred write callback.
pub(crate) const PENDING_WRITE: u8 = 0x02;

/// What a bufferevent is connected to.
pub(crate) enum Kind<X: BaseExt> {
    /// A freed slot.
    Free,
    Socket(Socket),
    Pair(Pair),
    /// In a pooled block: sockets, the common kind, do not pay for a
    /// filter's two closures in every record.
    Filter(FilterBox<X>),
}

/// [`Filter`] in a pooled block.
pub(crate) type FilterBox<X> = allocator_api2::boxed::Box<Filter<X>, Pool>;

/// One of a socket bufferevent's events: its handle without the base id,
/// which is the bufferevent's own (8 bytes where `Option<Event>` takes 16).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketEvent {
    /// Slab index, `NIL` for none.
    idx: u32,
    generation: u32,
}

impl SocketEvent {
    pub(crate) const NONE: SocketEvent = SocketEvent {
        idx: NIL,
        generation: 0,
    };

    pub(crate) fn new(ev: Event) -> SocketEvent {
        SocketEvent {
            idx: ev.idx,
            generation: ev.generation,
        }
    }

    /// The handle, for the bufferevent's base `base` (its id).
    #[inline]
    pub(crate) fn get(self, base: u32) -> Option<Event> {
        (self.idx != NIL).then_some(Event {
            idx: self.idx,
            generation: self.generation,
            base,
        })
    }

    /// The handle, leaving none.
    pub(crate) fn take(&mut self, base: u32) -> Option<Event> {
        std::mem::replace(self, SocketEvent::NONE).get(base)
    }

    fn is(self, ev: Event) -> bool {
        self.idx == ev.idx && self.generation == ev.generation
    }
}

/// Socket state of a bufferevent (`socket.rs`).
pub(crate) struct Socket {
    /// The socket, `NO_FD` for none yet.
    pub(crate) fd: RawFd,
    pub(crate) ev_read: SocketEvent,
    pub(crate) ev_write: SocketEvent,
    pub(crate) read_added: bool,
    pub(crate) write_added: bool,
    pub(crate) connecting: bool,
    /// A connect that failed at once: reported from the loop.
    pub(crate) connect_error: i32,
    /// The connect failed: neither direction runs until a new fd.
    pub(crate) dead: bool,
}

/// `Socket::fd` of a socket bufferevent without a socket. Internal only:
/// the API says `None`.
pub(crate) const NO_FD: RawFd = -1;

impl Socket {
    pub(crate) fn new(fd: Option<RawFd>) -> Socket {
        Socket {
            fd: fd.unwrap_or(NO_FD),
            ev_read: SocketEvent::NONE,
            ev_write: SocketEvent::NONE,
            read_added: false,
            write_added: false,
            connecting: false,
            connect_error: 0,
            dead: false,
        }
    }

    /// The socket, if it has one.
    #[inline]
    pub(crate) fn fd(&self) -> Option<RawFd> {
        (self.fd != NO_FD).then_some(self.fd)
    }

    /// Whether `ev` (of this bufferevent's base) is one of its events.
    pub(crate) fn owns(&self, ev: Event) -> bool {
        self.ev_read.is(ev) || self.ev_write.is(ev)
    }
}

/// Pair state (`pair.rs`): the partner, until it is freed.
pub(crate) struct Pair {
    pub(crate) partner: Option<Bufferevent>,
}

/// Filter state (`filter.rs`): the bufferevent below and the two
/// directions' closures (empty: pass bytes through).
pub(crate) struct Filter<X: BaseExt> {
    pub(crate) underlying: Bufferevent,
    pub(crate) input: Option<FilterFn<X>>,
    pub(crate) output: Option<FilterFn<X>>,
    /// Which closure is out running (`INPUT`, `OUTPUT`).
    pub(crate) running: Running,
    /// Bytes added to a stand-in while a closure ran that could not be
    /// appended to the real buffer when it returned (no memory to grow its
    /// chain list), until the next pass appends them: the filter's input,
    /// its output, the underlying's input, its output (`filter.rs`).
    pub(crate) stranded: [Evbuffer; 4],
    /// Bit `i`: `stranded[i]` holds bytes. Bit `4 + i`: the real buffer's
    /// end was frozen for them (nothing may be added before them).
    pub(crate) strand_bits: u8,
    /// This block's charge to the base's budget, if it has one.
    pub(crate) _charge: Option<Charge>,
}

impl<X: BaseExt> Filter<X> {
    const INPUT: u8 = 1;
    const OUTPUT: u8 = 2;

    /// A direction's closure taken out to run: `Some(None)` to pass bytes
    /// through, `None` to move nothing (the closure is running already,
    /// or was lost to a panic).
    pub(crate) fn take(&mut self, input: bool) -> Option<Option<FilterFn<X>>> {
        let (bit, running, slot) = self.direction(input);
        if running.is_out(bit) {
            return None;
        }
        Some(running.take(bit, slot))
    }

    /// Puts a closure back after it ran, unless it was replaced meanwhile.
    pub(crate) fn put_back(&mut self, input: bool, f: FilterFn<X>) -> Option<FilterFn<X>> {
        let (bit, running, slot) = self.direction(input);
        running.put_back(bit, slot, f)
    }

    /// Sets a direction's closure.
    pub(crate) fn replace(&mut self, input: bool, f: FilterFn<X>) -> Option<FilterFn<X>> {
        let (bit, running, slot) = self.direction(input);
        running.replace(bit, slot, Some(f))
    }

    fn direction(&mut self, input: bool) -> (u8, &mut Running, &mut Option<FilterFn<X>>) {
        if input {
            (Self::INPUT, &mut self.running, &mut self.input)
        } else {
            (Self::OUTPUT, &mut self.running, &mut self.output)
        }
    }
}

/// The read and write timers of a bufferevent without a socket's events
/// (`timeouts.rs`), and whether each is pending.
pub(crate) struct Timers {
    pub(crate) read: Event,
    pub(crate) write: Event,
    pub(crate) read_on: bool,
    pub(crate) write_on: bool,
    /// This block's charge to the base's budget, if it has one.
    pub(crate) _charge: Option<Charge>,
}

/// Timers in a pooled block: only bufferevents with timeouts pay for them.
pub(crate) type TimersBox = allocator_api2::boxed::Box<Timers, Pool>;

/// The settings and state most bufferevents never use, out of the record
/// so that an idle connection does not pay for them (see [`Rec::cold`]).
pub(crate) struct Cold {
    /// Read low watermark.
    pub(crate) read_low: usize,
    /// Write low watermark.
    pub(crate) write_low: usize,
    pub(crate) read_high: usize,
    pub(crate) write_high: usize,
    pub(crate) max_read: u32,
    pub(crate) max_write: u32,
    pub(crate) timeout_read: Option<Duration>,
    pub(crate) timeout_write: Option<Duration>,
    /// Rate-limit state, `None` when unlimited (one pointer).
    pub(crate) rate: Option<RateBox>,
    /// Timers of a pair, a filter or an fd-less socket with timeouts
    /// (a socket with an fd uses its events).
    pub(crate) timers: Option<TimersBox>,
    /// Why the last host-name lookup failed: the lookup's answer block,
    /// made when the lookup started (so recording it allocates nothing),
    /// and its charge to the base's budget, if it has one.
    pub(crate) dns_error: Option<(MemArc<DnsAnswer>, Option<Charge>)>,
    /// This block's charge to the base's budget, if it has one.
    pub(crate) _charge: Option<Charge>,
}

impl Cold {
    const DEFAULT: Cold = Cold {
        read_low: 0,
        write_low: 0,
        read_high: 0,
        write_high: 0,
        max_read: DEFAULT_MAX_SINGLE_IO as u32,
        max_write: DEFAULT_MAX_SINGLE_IO as u32,
        timeout_read: None,
        timeout_write: None,
        rate: None,
        timers: None,
        dns_error: None,
        _charge: None,
    };
}

/// [`Cold`] in a pooled block.
pub(crate) type ColdBox = allocator_api2::boxed::Box<Cold, Pool>;

/// One bufferevent's state in the base's table.
pub(crate) struct Rec<X: BaseExt> {
    pub(crate) generation: u32,
    pub(crate) kind: Kind<X>,
    pub(crate) input: Evbuffer,
    pub(crate) output: Evbuffer,
    pub(crate) readcb: Option<DataFn<X>>,
    pub(crate) writecb: Option<DataFn<X>>,
    pub(crate) eventcb: Option<EventFn<X>>,
    /// Which callback is out running (`Rec::READ_CB`…).
    pub(crate) running: Running,
    pub(crate) enabled: Ev,
    pub(crate) read_suspend: u8,
    /// Write suspension reasons (only `suspend::BW*`: rate limits).
    pub(crate) write_suspend: u8,
    pub(crate) options: BevOptions,
    /// Deferred callbacks to run (`PENDING_*`) and OR-ed event flags.
    pub(crate) pending: u8,
    pub(crate) pending_events: BevEvent,
    /// In the dirty list.
    pub(crate) dirty: bool,
    /// Its socket's I/O path runs a callback and services it afterwards,
    /// so changes need not mark it dirty.
    pub(crate) io_path: bool,
    /// What the housekeeping tick saw of the two buffers' epochs
    /// ([`Rec::idle_mark`]), to tell at the next tick whether they stayed
    /// untouched (`service.rs`).
    pub(crate) trim_mark: u8,
    /// The last socket error (`errno`), for the event callback (inline:
    /// an I/O error in the loop must be recorded without allocating).
    pub(crate) error: i32,
    /// What most bufferevents never set — watermarks, single-I/O caps,
    /// timeouts, rate limit, timers, DNS error — in one pooled
    /// block made on first use; `None` means all at their defaults.
    pub(crate) cold: Option<ColdBox>,
}

impl<X: BaseExt> Rec<X> {
    pub(crate) fn new(kind: Kind<X>, options: BevOptions, generation: u32) -> Self {
        let mut input = Evbuffer::new();
        // One wakeup reads up to max_single_read (libevent 2.2), not the
        // evbuffer's 4 KiB default.
        input
            .set_max_read(DEFAULT_MAX_SINGLE_IO)
            .expect("16 KiB is a valid max_read");
        Rec {
            generation,
            kind,
            input,
            output: Evbuffer::new(),
            readcb: None,
            writecb: None,
            eventcb: None,
            running: Running::default(),
            enabled: Ev::empty(),
            read_suspend: 0,
            write_suspend: 0,
            options,
            pending: 0,
            pending_events: BevEvent::empty(),
            dirty: false,
            io_path: false,
            trim_mark: 0,
            error: 0,
            cold: None,
        }
    }

    const READ_CB: u8 = 1;
    const WRITE_CB: u8 = 2;
    const EVENT_CB: u8 = 4;

    /// The read (`read`) or write callback, taken out to run.
    #[inline]
    pub(crate) fn take_data(&mut self, read: bool) -> Option<DataFn<X>> {
        let (bit, running, slot) = self.data_slot(read);
        running.take(bit, slot)
    }

    /// Puts a data callback back after it ran, unless it was set or
    /// cleared meanwhile (then it is handed back, to be dropped).
    #[inline]
    pub(crate) fn put_back_data(&mut self, read: bool, f: DataFn<X>) -> Option<DataFn<X>> {
        let (bit, running, slot) = self.data_slot(read);
        running.put_back(bit, slot, f)
    }

    /// Sets or clears the read or write callback.
    pub(crate) fn replace_data(&mut self, read: bool, f: Option<DataFn<X>>) -> Option<DataFn<X>> {
        let (bit, running, slot) = self.data_slot(read);
        running.replace(bit, slot, f)
    }

    #[inline]
    fn data_slot(&mut self, read: bool) -> (u8, &mut Running, &mut Option<DataFn<X>>) {
        if read {
            (Self::READ_CB, &mut self.running, &mut self.readcb)
        } else {
            (Self::WRITE_CB, &mut self.running, &mut self.writecb)
        }
    }

    /// The event callback, taken out to run.
    #[inline]
    pub(crate) fn take_event(&mut self) -> Option<EventFn<X>> {
        self.running.take(Self::EVENT_CB, &mut self.eventcb)
    }

    /// Puts the event callback back after it ran, unless it was replaced.
    #[inline]
    pub(crate) fn put_back_event(&mut self, f: EventFn<X>) -> Option<EventFn<X>> {
        self.running.put_back(Self::EVENT_CB, &mut self.eventcb, f)
    }

    /// Sets or clears the event callback.
    pub(crate) fn replace_event(&mut self, f: Option<EventFn<X>>) -> Option<EventFn<X>> {
        self.running.replace(Self::EVENT_CB, &mut self.eventcb, f)
    }

    /// A digest of the two buffers' epochs: unchanged from one
    /// housekeeping tick to the next when neither buffer changed (a
    /// wrap-around collision only frees a list early, which the next
    /// message pays for with one allocation).
    #[inline]
    pub(crate) fn idle_mark(&self) -> u8 {
        (self.input.content_epoch() ^ self.output.content_epoch().rotate_left(4)) as u8
    }

    /// The account of the base's budget that this bufferevent's buffers
    /// and on-demand blocks charge (`None` on a base without a budget).
    #[inline]
    pub(crate) fn account(&self) -> Option<&MemRc<Account>> {
        self.input.account()
    }

    /// Whether the record holds a live bufferevent.
    #[inline]
    pub(crate) fn is_live(&self) -> bool {
        !matches!(self.kind, Kind::Free)
    }

    /// Reading may happen: enabled and not suspended.
    #[inline]
    pub(crate) fn reading(&self) -> bool {
        self.enabled.contains(Ev::READ) && self.read_suspend == 0
    }

    /// The cold part, made (at its defaults) if it is not yet.
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc), the record unchanged.
    pub(crate) fn cold_mut(&mut self) -> crate::error::Result<&mut Cold> {
        if self.cold.is_none() {
            let cold = Cold {
                _charge: mem::charge_for_box::<Cold>(self.account())?,
                ..Cold::DEFAULT
            };
            self.cold = Some(mem::pool_box(cold)?);
        }
        Ok(self.cold.as_deref_mut().expect("just made"))
    }

    /// Read low watermark (0: none; the read path compares the input
    /// with it).
    #[inline]
    pub(crate) fn read_low(&self) -> usize {
        self.cold.as_ref().map_or(0, |c| c.read_low)
    }

    /// Write low watermark (0: none; the write path compares the output
    /// with it).
    #[inline]
    pub(crate) fn write_low(&self) -> usize {
        self.cold.as_ref().map_or(0, |c| c.write_low)
    }

    /// Read high watermark (0: none).
    #[inline]
    pub(crate) fn read_high(&self) -> usize {
        self.cold.as_ref().map_or(0, |c| c.read_high)
    }

    /// Write high watermark (0: none).
    #[inline]
    pub(crate) fn write_high(&self) -> usize {
        self.cold.as_ref().map_or(0, |c| c.write_high)
    }

    /// Cap of one read.
    #[inline]
    pub(crate) fn max_read(&self) -> usize {
        self.cold
            .as_ref()
            .map_or(DEFAULT_MAX_SINGLE_IO, |c| c.max_read as usize)
    }

    /// Cap of one write.
    #[inline]
    pub(crate) fn max_write(&self) -> usize {
        self.cold
            .as_ref()
            .map_or(DEFAULT_MAX_SINGLE_IO, |c| c.max_write as usize)
    }

    #[inline]
    pub(crate) fn timeout_read(&self) -> Option<Duration> {
        self.cold.as_ref().and_then(|c| c.timeout_read)
    }

    #[inline]
    pub(crate) fn timeout_write(&self) -> Option<Duration> {
        self.cold.as_ref().and_then(|c| c.timeout_write)
    }

    /// Whether it has a rate limit (its own or a group's).
    #[inline]
    pub(crate) fn limited(&self) -> bool {
        self.cold.as_ref().is_some_and(|c| c.rate.is_some())
    }

    #[inline]
    pub(crate) fn rate(&self) -> Option<&RateLimit> {
        self.cold.as_ref()?.rate.as_deref()
    }

    #[inline]
    pub(crate) fn rate_mut(&mut self) -> Option<&mut RateLimit> {
        self.cold.as_mut()?.rate.as_deref_mut()
    }

    #[inline]
    pub(crate) fn timers(&self) -> Option<&Timers> {
        self.cold.as_ref()?.timers.as_deref()
    }

    #[inline]
    pub(crate) fn timers_mut(&mut self) -> Option<&mut Timers> {
        self.cold.as_mut()?.timers.as_deref_mut()
    }

    /// The most a read may add without passing the high watermark.
    #[inline]
    pub(crate) fn read_budget(&self) -> usize {
        let Some(c) = self.cold.as_ref() else {
            return DEFAULT_MAX_SINGLE_IO;
        };
        let max = c.max_read as usize;
        if c.read_high == 0 {
            max
        } else {
            max.min(c.read_high.saturating_sub(self.input.len()))
        }
    }

    /// Suspends or resumes reading for the high watermark.
    #[inline]
    pub(crate) fn check_high_watermark(&mut self) {
        let high = self.read_high();
        if high != 0 && self.input.len() >= high {
            self.read_suspend |= suspend::WM;
        } else {
            self.read_suspend &= !suspend::WM;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sizes() {
        // Every bufferevent pays for its record in the base's slab (the
        // README's idle-connection figure): keep them from growing.
        type X = crate::layers::Layers;
        assert_eq!(std::mem::size_of::<Socket>(), 28);
        assert_eq!(std::mem::size_of::<Kind<X>>(), 32);
        // Its own pool class (a cold block is one per bufferevent that
        // uses any of it).
        assert!(std::mem::size_of::<Cold>() <= 128);
        assert_eq!(std::mem::size_of::<Rec<X>>(), 240);
    }
}
