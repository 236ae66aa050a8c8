//! [`Bufferevent`]: buffered, watermarked I/O over the event core
//! (tutorial ch. 7, `bufferevent_*`).
//!
//! A bufferevent is an input and an output [`Evbuffer`] plus the events
//! that move bytes between them and a socket (or a partner, for pairs).
//! Users set read / write / event callbacks and watermarks and work on the
//! buffers; the bufferevent does the I/O.
//!
//! # Where the state lives
//!
//! Every bufferevent of a base lives in the base's table (a slab in
//! rvent's memory, so a connection costs no global allocation), and the
//! user holds a [`Bufferevent`] handle: a generation-checked index, like
//! [`Event`]. Methods take the base, so a callback — which receives the
//! base — can use any bufferevent, free its own, or start new ones; a
//! stale handle gets [`Error::StaleBufferevent`], never someone else's
//! connection.
//!
//! # What rvent does differently from libevent (and why)
//!
//! libevent's socket bufferevent adds the write event when output appears
//! and deletes it when output drains (two `epoll_ctl` per write), asks the
//! kernel how much is readable (`FIONREAD`) before every read, and writes
//! only after another trip through `epoll_wait`. rvent keeps the callback
//! semantics and drops those syscalls:
//! - output written by a callback goes out when the callback returns,
//!   with one `send`/`writev`; the write event is added only when the
//!   kernel's buffer is full, and removed once it drains;
//! - reads go straight into the input buffer's free room (up to
//!   [`set_max_single_read`](Bufferevent::set_max_single_read), 16 KiB by
//!   default), with no `FIONREAD`;
//! - changes made outside the bufferevent's own callbacks (writing to
//!   another connection, draining input from a timer) mark the
//!   bufferevent *dirty*; the loop services dirty bufferevents at the
//!   start of its next iteration, before it polls, so nothing waits for an
//!   unrelated event.
//!
//! An echo round trip thus costs one `recv` and one `send` plus a share of
//! `epoll_wait`, where libevent makes five to seven syscalls.
//!
//! # Threads and locks
//!
//! A base and its bufferevents belong to one thread, so libevent's
//! `BEV_OPT_THREADSAFE` and `BEV_OPT_UNLOCK_CALLBACKS` have nothing to
//! lock: they are accepted and ignored. Reach a bufferevent from another
//! thread by activating an event through a [`Notifier`](crate::Notifier).
//!
//! # Panics in callbacks
//!
//! A panic in a callback propagates out of [`EventBase::run`], like any
//! event callback's (see there): the callback is dropped, the bufferevent
//! stays valid without it, and the base stays usable or can be dropped.

mod filter;
mod pair;
mod ratelimit;
mod socket;
mod timeouts;

use std::fmt;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::flags::flag_set;
use crate::mem::{self, MemVec, Pool};

#[cfg(doc)]
use crate::handle::Event;

pub use filter::{FilterResult, NoFilter};
pub use pair::pair_new;
pub use ratelimit::{RateLimitGroup, TokenBucketCfg};

/// Default cap of one read or write (`bufferevent_set_max_single_read`).
pub const DEFAULT_MAX_SINGLE_IO: usize = 16 * 1024;

flag_set! {
    /// What happened, for the event callback (`BEV_EVENT_*`, libevent's
    /// values): a direction and a condition.
    #[doc(alias = "BEV_EVENT_EOF")]
    pub struct BevEvent: u16 {
        /// While reading (`BEV_EVENT_READING`).
        const READING = 0x01;
        /// While writing (`BEV_EVENT_WRITING`).
        const WRITING = 0x02;
        /// End of file (`BEV_EVENT_EOF`).
        const EOF = 0x10;
        /// An error; see [`Bufferevent::socket_error`] (`BEV_EVENT_ERROR`).
        const ERROR = 0x20;
        /// A read or write timeout expired (`BEV_EVENT_TIMEOUT`).
        const TIMEOUT = 0x40;
        /// A connect finished (`BEV_EVENT_CONNECTED`).
        const CONNECTED = 0x80;
    }
}

flag_set! {
    /// Options of a new bufferevent (`BEV_OPT_*`).
    #[doc(alias = "BEV_OPT_CLOSE_ON_FREE")]
    pub struct BevOptions: u8 {
        /// Close the socket (free the underlying bufferevent) on free.
        const CLOSE_ON_FREE = 0x01;
        /// Accepted for compatibility; a base is single-threaded, so there
        /// is nothing to lock (module docs).
        const THREADSAFE = 0x02;
        /// Run callbacks from the loop instead of inside the I/O that
        /// caused them; event flags are OR-ed between runs.
        const DEFER_CALLBACKS = 0x04;
        /// Accepted for compatibility, like `THREADSAFE`.
        const UNLOCK_CALLBACKS = 0x08;
    }
}

flag_set! {
    /// Options of [`Bufferevent::trigger`] (`BEV_TRIG_*`).
    pub struct TriggerOptions: u8 {
        /// Run the callback whatever the watermarks say.
        const IGNORE_WATERMARKS = 0x01;
        /// Run the callback from the loop.
        const DEFER_CALLBACKS = 0x02;
    }
}

/// How hard [`Bufferevent::flush`] pushes (`bufferevent_flush_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(alias = "bufferevent_flush_mode")]
pub enum FlushMode {
    /// Process as convenient (`BEV_NORMAL`).
    Normal,
    /// Push everything through, ignoring watermarks (`BEV_FLUSH`).
    Flush,
    /// Flush and signal the end of the stream (`BEV_FINISHED`).
    Finished,
}

/// A read or write callback, boxed in the pool.
pub(crate) type BevDataFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, Bufferevent), Pool>;
/// An event callback, boxed in the pool.
pub(crate) type BevEventFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, Bufferevent, BevEvent), Pool>;

fn data_fn<X: BevHost>(
    f: impl FnMut(&mut EventBase<X>, Bufferevent) + 'static,
) -> Result<BevDataFn<X>> {
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}

fn event_fn<X: BevHost>(
    f: impl FnMut(&mut EventBase<X>, Bufferevent, BevEvent) + 'static,
) -> Result<BevEventFn<X>> {
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}

/// A base that carries bufferevents: where its [`BevTable`] lives. The
/// crate root's [`Layers`](crate::Layers) is one; the loop reaches the
/// table through [`BaseExt`]'s hooks, which service the dirty
/// bufferevents at the start of each iteration and repair them after a
/// callback panicked.
pub trait BevHost: BaseExt {
    /// The base's bufferevents.
    fn bevs(&self) -> &BevTable<Self>;
    /// The base's bufferevents, mutably.
    fn bevs_mut(&mut self) -> &mut BevTable<Self>;
}

/// A bufferevent of a base (libevent's `struct bufferevent *`): a cheap,
/// copyable, generation-checked handle. See the module docs.
///
/// # Examples
///
/// An in-memory pair: what one side writes, the other reads.
///
/// ```
/// use rvent::{Bufferevent, BevOptions, Ev, EventBase};
///
/// let mut base = EventBase::new()?;
/// let (a, b) = rvent::pair_new(&mut base, BevOptions::empty())?;
/// b.set_callbacks(&mut base, Some(|base: &mut EventBase, bev: Bufferevent| {
///     let mut got = [0u8; 5];
///     assert_eq!(bev.read(base, &mut got).unwrap(), 5);
///     assert_eq!(&got, b"hello");
///     base.loopbreak();
/// }), None::<fn(&mut EventBase, Bufferevent)>, None::<fn(&mut EventBase, Bufferevent, rvent::BevEvent)>)?;
/// b.enable(&mut base, Ev::READ)?;
/// a.write(&mut base, b"hello")?;
/// base.dispatch()?;
/// assert!(base.got_break());
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "bufferevent")]
pub struct Bufferevent {
    idx: u32,
    generation: u32,
    base: u32,
}

impl fmt::Debug for Bufferevent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bufferevent({}v{})", self.idx, self.generation)
    }
}

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

/// Pending deferred callbacks.
const PENDING_READ: u8 = 0x01;
const PENDING_WRITE: u8 = 0x02;

/// What a bufferevent is connected to.
pub(crate) enum Kind {
    /// A freed slot.
    Free,
    Socket(socket::Socket),
    Pair(pair::Pair),
    Filter(filter::Filter),
}

/// One bufferevent's state in the base's table.
pub(crate) struct Rec<X: BevHost> {
    generation: u32,
    pub(crate) kind: Kind,
    pub(crate) input: Evbuffer,
    pub(crate) output: Evbuffer,
    readcb: Option<BevDataFn<X>>,
    writecb: Option<BevDataFn<X>>,
    eventcb: Option<BevEventFn<X>>,
    pub(crate) read_low: usize,
    pub(crate) read_high: usize,
    pub(crate) write_low: usize,
    pub(crate) write_high: usize,
    pub(crate) enabled: Ev,
    pub(crate) read_suspend: u8,
    /// Write suspension reasons (only `suspend::BW*`: rate limits).
    pub(crate) write_suspend: u8,
    pub(crate) options: BevOptions,
    /// Deferred callbacks to run (`PENDING_*`) and OR-ed event flags.
    pending: u8,
    pending_events: BevEvent,
    /// In the dirty list.
    dirty: bool,
    /// Its socket's I/O path runs a callback and services it afterwards,
    /// so changes need not mark it dirty.
    pub(crate) io_path: bool,
    pub(crate) max_read: u32,
    pub(crate) max_write: u32,
    pub(crate) timeout_read: Option<Duration>,
    pub(crate) timeout_write: Option<Duration>,
    /// The last socket error (`errno`), for the event callback.
    pub(crate) error: i32,
    /// Rate-limit state, `None` when unlimited (one pointer).
    pub(crate) rate: Option<ratelimit::RateBox>,
    /// Timers of a pair, a filter or an fd-less socket with timeouts
    /// (a socket with an fd uses its events).
    pub(crate) timers: Option<timeouts::TimersBox>,
}

impl<X: BevHost> Rec<X> {
    fn new(kind: Kind, options: BevOptions, generation: u32) -> Self {
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
            read_low: 0,
            read_high: 0,
            write_low: 0,
            write_high: 0,
            enabled: Ev::empty(),
            read_suspend: 0,
            write_suspend: 0,
            options,
            pending: 0,
            pending_events: BevEvent::empty(),
            dirty: false,
            io_path: false,
            max_read: DEFAULT_MAX_SINGLE_IO as u32,
            max_write: DEFAULT_MAX_SINGLE_IO as u32,
            timeout_read: None,
            timeout_write: None,
            error: 0,
            rate: None,
            timers: None,
        }
    }

    /// Reading may happen: enabled and not suspended.
    #[inline]
    pub(crate) fn reading(&self) -> bool {
        self.enabled.contains(Ev::READ) && self.read_suspend == 0
    }

    /// The most a read may add without passing the high watermark.
    #[inline]
    pub(crate) fn read_budget(&self) -> usize {
        let max = self.max_read as usize;
        if self.read_high == 0 {
            max
        } else {
            max.min(self.read_high.saturating_sub(self.input.len()))
        }
    }

    /// Suspends or resumes reading for the high watermark.
    #[inline]
    pub(crate) fn check_high_watermark(&mut self) {
        if self.read_high != 0 && self.input.len() >= self.read_high {
            self.read_suspend |= suspend::WM;
        } else {
            self.read_suspend &= !suspend::WM;
        }
    }
}

/// A base's bufferevents: a slab of records with a free list, and the
/// dirty list the loop services before it polls. Opaque: reached through
/// [`Bufferevent`]'s methods.
pub struct BevTable<X: BevHost> {
    recs: MemVec<Rec<X>>,
    free: MemVec<u32>,
    dirty: MemVec<u32>,
    /// The list being serviced (swapped with `dirty`), so servicing can
    /// mark records dirty again without allocating.
    servicing: MemVec<u32>,
}

impl<X: BevHost> Default for BevTable<X> {
    fn default() -> Self {
        BevTable {
            recs: mem::vec(),
            free: mem::vec(),
            dirty: mem::vec(),
            servicing: mem::vec(),
        }
    }
}

impl<X: BevHost> BevTable<X> {
    /// Whether some bufferevent waits to be serviced.
    #[inline]
    pub(crate) fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Live bufferevents.
    pub(crate) fn live(&self) -> usize {
        self.recs.len() - self.free.len()
    }

    #[inline]
    pub(crate) fn get(&self, h: Bufferevent) -> Option<&Rec<X>> {
        self.recs
            .get(h.idx as usize)
            .filter(|r| r.generation == h.generation && !matches!(r.kind, Kind::Free))
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, h: Bufferevent) -> Option<&mut Rec<X>> {
        self.recs
            .get_mut(h.idx as usize)
            .filter(|r| r.generation == h.generation && !matches!(r.kind, Kind::Free))
    }

    /// The live socket bufferevent one of whose events is `ev`.
    fn owner_of(&self, ev: crate::handle::Event) -> Option<u32> {
        self.recs
            .iter()
            .position(|r| match &r.kind {
                Kind::Socket(s) => s.owns(ev),
                _ => false,
            })
            .map(|i| i as u32)
    }

    /// Two distinct live records at once.
    pub(crate) fn get2_mut(
        &mut self,
        a: Bufferevent,
        b: Bufferevent,
    ) -> Option<(&mut Rec<X>, &mut Rec<X>)> {
        let [ra, rb] = self
            .recs
            .get_disjoint_mut([a.idx as usize, b.idx as usize])
            .ok()?;
        let ok = |r: &Rec<X>, h: Bufferevent| {
            r.generation == h.generation && !matches!(r.kind, Kind::Free)
        };
        (ok(ra, a) && ok(rb, b)).then_some((ra, rb))
    }

    /// After a callback panicked out of the loop: no I/O path is running
    /// any more, and every record flagged dirty is on the dirty list
    /// (the list being serviced was lost in the unwind).
    pub(crate) fn after_panic(&mut self) {
        self.dirty.clear();
        self.servicing.clear();
        for (i, r) in self.recs.iter_mut().enumerate() {
            r.io_path = false;
            // Room for every record is reserved.
            if r.dirty && self.dirty.len() < self.dirty.capacity() {
                self.dirty.push(i as u32);
            }
        }
    }

    /// `h`'s record, put on the dirty list unless its socket's I/O path
    /// runs its callback (and services it when the callback returns): for
    /// changes made through the user API.
    #[inline]
    pub(crate) fn touch(&mut self, h: Bufferevent) -> Option<&mut Rec<X>> {
        let r = self
            .recs
            .get_mut(h.idx as usize)
            .filter(|r| r.generation == h.generation && !matches!(r.kind, Kind::Free))?;
        // Room for every live record was reserved when it was created.
        if !r.io_path && !r.dirty && self.dirty.len() < self.dirty.capacity() {
            r.dirty = true;
            self.dirty.push(h.idx);
        }
        Some(r)
    }

    /// `h`'s record, for adding output through the user API: marked as
    /// by [`touch`](Self::touch), except a pair member, whose write moves
    /// the data to its partner at once (`pair::output_added`, which marks
    /// it after the partner, so the partner's callbacks run first, as in
    /// libevent).
    #[inline]
    pub(crate) fn touch_output(&mut self, h: Bufferevent) -> Option<&mut Rec<X>> {
        let r = self
            .recs
            .get_mut(h.idx as usize)
            .filter(|r| r.generation == h.generation && !matches!(r.kind, Kind::Free))?;
        // Room for every live record was reserved when it was created.
        if !r.io_path
            && !r.dirty
            && !matches!(r.kind, Kind::Pair(_))
            && self.dirty.len() < self.dirty.capacity()
        {
            r.dirty = true;
            self.dirty.push(h.idx);
        }
        Some(r)
    }

    /// Puts `h` on the dirty list (once).
    #[inline]
    pub(crate) fn mark_dirty(&mut self, h: Bufferevent) {
        let Some(r) = self.recs.get_mut(h.idx as usize) else {
            return;
        };
        if r.dirty || r.generation != h.generation {
            return;
        }
        // Room for every live record was reserved when it was created.
        if self.dirty.len() < self.dirty.capacity() {
            r.dirty = true;
            self.dirty.push(h.idx);
        }
    }
}

impl<X: BevHost> Drop for BevTable<X> {
    fn drop(&mut self) {
        for r in self.recs.iter_mut() {
            if let Kind::Socket(s) = &r.kind
                && r.options.contains(BevOptions::CLOSE_ON_FREE)
                && s.fd >= 0
            {
                crate::sys::socket::close(s.fd);
            }
        }
    }
}

impl<X: BevHost> fmt::Debug for BevTable<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BevTable")
            .field("live", &self.live())
            .field("dirty", &self.dirty.len())
            .finish()
    }
}

impl<X: BevHost> EventBase<X> {
    /// Allocates a record for a new bufferevent.
    pub(crate) fn bev_insert(&mut self, kind: Kind, options: BevOptions) -> Result<Bufferevent> {
        let t = &mut self.ext.bevs_mut();
        // The dirty list can hold every live record without growing.
        // Room for every record on either list, so marking never
        // allocates.
        let want = t.recs.len() + 1;
        let (d, sv) = (t.dirty.len(), t.servicing.len());
        mem::reserve(&mut t.dirty, want.saturating_sub(d))?;
        mem::reserve(&mut t.servicing, want.saturating_sub(sv))?;
        let idx = match t.free.pop() {
            Some(idx) => {
                let r = &mut t.recs[idx as usize];
                let generation = r.generation.wrapping_add(1);
                *r = Rec::new(kind, options, generation);
                idx
            }
            None => {
                mem::reserve(&mut t.recs, 1)?;
                let want = t.recs.len() + 1 - t.free.len();
                mem::reserve(&mut t.free, want)?;
                t.recs.push(Rec::new(kind, options, 0));
                (t.recs.len() - 1) as u32
            }
        };
        Ok(Bufferevent {
            idx,
            generation: t.recs[idx as usize].generation,
            base: self.id,
        })
    }

    /// A callback panicked out of the loop, inside event `ev` if any (which
    /// the loop deleted, its closure gone): bring the bufferevents back to
    /// a consistent state. A socket bufferevent whose event it was gets
    /// fresh events on the same socket.
    #[cold]
    pub(crate) fn bevs_after_panic(&mut self, ev: Option<crate::handle::Event>) {
        self.ext.bevs_mut().after_panic();
        let Some(idx) = ev.and_then(|ev| self.ext.bevs_mut().owner_of(ev)) else {
            return;
        };
        let r = &self.ext.bevs_mut().recs[idx as usize];
        let h = Bufferevent {
            idx,
            generation: r.generation,
            base: self.id,
        };
        if let Kind::Socket(s) = &r.kind {
            let fd = s.fd;
            if h.set_fd(self, fd).is_err() {
                // Cannot watch it again: report it as an error.
                if let Some(r) = self.ext.bevs_mut().get_mut(h) {
                    r.error = libc::EIO;
                }
                fire_event(self, h, BevEvent::ERROR, true);
            }
        }
    }

    /// Services the dirty bufferevents; returns how many there were.
    #[cold]
    #[inline(never)]
    pub(crate) fn service_dirty_bevs(&mut self) -> usize {
        let t = &mut self.ext.bevs_mut();
        std::mem::swap(&mut t.dirty, &mut t.servicing);
        let n = t.servicing.len();
        for k in 0..n {
            let idx = self.ext.bevs_mut().servicing[k];
            let Some(r) = self.ext.bevs_mut().recs.get_mut(idx as usize) else {
                continue;
            };
            if !r.dirty {
                continue;
            }
            r.dirty = false;
            let h = Bufferevent {
                idx,
                generation: r.generation,
                base: self.id,
            };
            service(self, h);
        }
        self.ext.bevs_mut().servicing.clear();
        n
    }
}

/// Runs deferred callbacks, then lets the kind move data.
fn service<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
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
    let Some(r) = base.ext.bevs_mut().get(h) else {
        return;
    };
    match r.kind {
        Kind::Socket(_) => socket::service(base, h),
        Kind::Pair(_) => pair::service(base, h),
        Kind::Filter(_) => filter::service(base, h),
        Kind::Free => {}
    }
    timeouts::adjust(base, h);
}

/// Runs the read (`read == true`) or write callback now.
fn call_data<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, read: bool) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let slot = if read { &mut r.readcb } else { &mut r.writecb };
    let Some(mut f) = slot.take() else {
        return;
    };
    f(base, h);
    if let Some(r) = base.ext.bevs_mut().get_mut(h) {
        let slot = if read { &mut r.readcb } else { &mut r.writecb };
        // Unless the callback set a new one.
        if slot.is_none() {
            *slot = Some(f);
        }
    }
}

/// Runs the event callback now.
fn call_event<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, what: BevEvent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let Some(mut f) = r.eventcb.take() else {
        return;
    };
    f(base, h, what);
    if let Some(r) = base.ext.bevs_mut().get_mut(h)
        && r.eventcb.is_none()
    {
        r.eventcb = Some(f);
    }
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
    if defer || r.options.contains(BevOptions::DEFER_CALLBACKS) {
        r.pending |= if read { PENDING_READ } else { PENDING_WRITE };
        base.ext.bevs_mut().mark_dirty(h);
    } else {
        call_data(base, h, read);
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

impl Bufferevent {
    #[inline]
    fn rec<X: BevHost>(self, base: &EventBase<X>) -> Result<&Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext.bevs().get(self).ok_or(Error::StaleBufferevent)
    }

    #[inline]
    fn rec_mut<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext
            .bevs_mut()
            .get_mut(self)
            .ok_or(Error::StaleBufferevent)
    }

    /// The record, marked for servicing (see `BevTable::touch`).
    #[inline]
    fn touch<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext
            .bevs_mut()
            .touch(self)
            .ok_or(Error::StaleBufferevent)
    }

    /// Sets the read, write and event callbacks (`bufferevent_setcb`);
    /// `None` removes one. The read callback runs after data arrives and
    /// the input holds at least the read low watermark; the write
    /// callback after a write leaves at most the write low watermark in
    /// the output; the event callback on EOF, errors, timeouts and
    /// connects (see [`BevEvent`]).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`].
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_callbacks<X: BevHost, R, W, E>(
        self,
        base: &mut EventBase<X>,
        readcb: Option<R>,
        writecb: Option<W>,
        eventcb: Option<E>,
    ) -> Result<()>
    where
        R: FnMut(&mut EventBase<X>, Bufferevent) + 'static,
        W: FnMut(&mut EventBase<X>, Bufferevent) + 'static,
        E: FnMut(&mut EventBase<X>, Bufferevent, BevEvent) + 'static,
    {
        self.rec(base)?;
        let readcb = readcb.map(data_fn).transpose()?;
        let writecb = writecb.map(data_fn).transpose()?;
        let eventcb = eventcb.map(event_fn).transpose()?;
        let r = self.rec_mut(base)?;
        let old = (
            std::mem::replace(&mut r.readcb, readcb),
            std::mem::replace(&mut r.writecb, writecb),
            std::mem::replace(&mut r.eventcb, eventcb),
        );
        drop(old);
        Ok(())
    }

    /// Sets only the read callback.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`].
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_read_callback<X: BevHost, R>(self, base: &mut EventBase<X>, cb: R) -> Result<()>
    where
        R: FnMut(&mut EventBase<X>, Bufferevent) + 'static,
    {
        self.rec(base)?;
        let cb = data_fn(cb)?;
        let old = self.rec_mut(base)?.readcb.replace(cb);
        drop(old);
        Ok(())
    }

    /// Sets only the write callback.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`].
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_write_callback<X: BevHost, W>(self, base: &mut EventBase<X>, cb: W) -> Result<()>
    where
        W: FnMut(&mut EventBase<X>, Bufferevent) + 'static,
    {
        self.rec(base)?;
        let cb = data_fn(cb)?;
        let old = self.rec_mut(base)?.writecb.replace(cb);
        drop(old);
        Ok(())
    }

    /// Sets only the event callback.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`].
    #[doc(alias = "bufferevent_setcb")]
    pub fn set_event_callback<X: BevHost, E>(self, base: &mut EventBase<X>, cb: E) -> Result<()>
    where
        E: FnMut(&mut EventBase<X>, Bufferevent, BevEvent) + 'static,
    {
        self.rec(base)?;
        let cb = event_fn(cb)?;
        let old = self.rec_mut(base)?.eventcb.replace(cb);
        drop(old);
        Ok(())
    }

    /// Whether each callback is set (`bufferevent_getcb`): read, write,
    /// event. A callback that is running counts as unset.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_getcb")]
    pub fn has_callbacks<X: BevHost>(self, base: &EventBase<X>) -> Result<(bool, bool, bool)> {
        let r = self.rec(base)?;
        Ok((r.readcb.is_some(), r.writecb.is_some(), r.eventcb.is_some()))
    }

    /// Whether the handle still names a live bufferevent of `base`.
    pub fn is_live<X: BevHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// The options it was created with.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    pub fn options<X: BevHost>(self, base: &EventBase<X>) -> Result<BevOptions> {
        Ok(self.rec(base)?.options)
    }

    /// The input buffer (`bufferevent_get_input`). Draining it below the
    /// read high watermark resumes reading.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_get_input")]
    pub fn input<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.touch(base)?.input)
    }

    /// The output buffer (`bufferevent_get_output`); what is added goes
    /// out before the loop next polls.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_get_output")]
    pub fn output<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Evbuffer> {
        Ok(&mut self.touch(base)?.output)
    }

    /// Both buffers at once, `(input, output)`: an echo is
    /// `output.add_buffer(input)`.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    pub fn buffers<X: BevHost>(
        self,
        base: &mut EventBase<X>,
    ) -> Result<(&mut Evbuffer, &mut Evbuffer)> {
        let r = self.touch(base)?;
        Ok((&mut r.input, &mut r.output))
    }

    /// Bytes waiting in the input buffer.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "evbuffer_get_length")]
    pub fn input_len<X: BevHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.input.len())
    }

    /// Bytes waiting in the output buffer.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "evbuffer_get_length")]
    pub fn output_len<X: BevHost>(self, base: &EventBase<X>) -> Result<usize> {
        Ok(self.rec(base)?.output.len())
    }

    /// The record, marked for servicing unless a pair member (see
    /// `BevTable::touch_output`).
    #[inline]
    fn touch_output<X: BevHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleBufferevent);
        }
        base.ext
            .bevs_mut()
            .touch_output(self)
            .ok_or(Error::StaleBufferevent)
    }

    /// Appends `data` to the output (`bufferevent_write`). A pair member
    /// hands it to a reading partner at once, as libevent does (the
    /// callbacks it causes run from the loop).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; the output's errors ([`Error::Alloc`]).
    #[doc(alias = "bufferevent_write")]
    pub fn write<X: BevHost>(self, base: &mut EventBase<X>, data: &[u8]) -> Result<()> {
        let r = self.touch_output(base)?;
        r.output.add(data)?;
        if let Kind::Pair(_) = r.kind {
            pair::output_added(base, self);
        }
        Ok(())
    }

    /// Moves all of `src` to the output without copying
    /// (`bufferevent_write_buffer`); a pair member hands it on at once,
    /// as [`write`](Self::write).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; the output's errors.
    #[doc(alias = "bufferevent_write_buffer")]
    pub fn write_buffer<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        src: &mut Evbuffer,
    ) -> Result<()> {
        let r = self.touch_output(base)?;
        r.output.add_buffer(src)?;
        if let Kind::Pair(_) = r.kind {
            pair::output_added(base, self);
        }
        Ok(())
    }

    /// Copies and drains up to `out.len()` bytes of input
    /// (`bufferevent_read`); returns how many (0 when empty).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_read")]
    pub fn read<X: BevHost>(self, base: &mut EventBase<X>, out: &mut [u8]) -> Result<usize> {
        // A frozen front reads nothing (libevent's bufferevent_read_failed).
        Ok(self.touch(base)?.input.remove(out).unwrap_or(0))
    }

    /// Moves the whole input to `dst` (`bufferevent_read_buffer`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; `dst`'s errors.
    #[doc(alias = "bufferevent_read_buffer")]
    pub fn read_buffer<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        dst: &mut Evbuffer,
    ) -> Result<()> {
        dst.add_buffer(&mut self.touch(base)?.input)
    }

    /// Enables reading and / or writing (`bufferevent_enable`). Enabling
    /// reading restarts the read timeout; enabling writing restarts the
    /// write timeout of a filter or a socket without an fd (with or
    /// without output, as in libevent) and of a pair with output waiting.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Io`] if the socket cannot be
    /// watched.
    #[doc(alias = "bufferevent_enable")]
    pub fn enable<X: BevHost>(self, base: &mut EventBase<X>, what: Ev) -> Result<()> {
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
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_setwatermark")]
    pub fn set_watermark<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        what: Ev,
        low: usize,
        high: usize,
    ) -> Result<()> {
        let r = self.rec_mut(base)?;
        if what.contains(Ev::WRITE) {
            r.write_low = low;
            r.write_high = high;
        }
        if what.contains(Ev::READ) {
            r.read_low = low;
            r.read_high = high;
            r.check_high_watermark();
        }
        base.ext.bevs_mut().mark_dirty(self);
        Ok(())
    }

    /// The `(low, high)` watermarks of one direction
    /// (`bufferevent_getwatermark`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `what` is exactly one of READ and
    /// WRITE; [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_getwatermark")]
    pub fn watermark<X: BevHost>(self, base: &EventBase<X>, what: Ev) -> Result<(usize, usize)> {
        let r = self.rec(base)?;
        let what = what & (Ev::READ | Ev::WRITE);
        if what == Ev::READ {
            Ok((r.read_low, r.read_high))
        } else if what == Ev::WRITE {
            Ok((r.write_low, r.write_high))
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
    /// [`MAX_READ_LIMIT`](crate::MAX_READ_LIMIT) (1 MiB).
    #[doc(alias = "bufferevent_set_max_single_read")]
    pub fn set_max_single_read<X: BevHost>(self, base: &mut EventBase<X>, n: usize) -> Result<()> {
        let n = if n == 0 { DEFAULT_MAX_SINGLE_IO } else { n };
        let r = self.rec_mut(base)?;
        r.input.set_max_read(n)?;
        r.max_read = n as u32;
        Ok(())
    }

    /// Caps one write (`bufferevent_set_max_single_write`); 0 restores the
    /// default, 16 KiB.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] above `u32::MAX`.
    #[doc(alias = "bufferevent_set_max_single_write")]
    pub fn set_max_single_write<X: BevHost>(self, base: &mut EventBase<X>, n: usize) -> Result<()> {
        let n = if n == 0 { DEFAULT_MAX_SINGLE_IO } else { n };
        let n = u32::try_from(n).map_err(|_| Error::InvalidArgument("max single write too big"))?;
        self.rec_mut(base)?.max_write = n;
        Ok(())
    }

    /// `(max single read, max single write)`.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_get_max_single_read")]
    #[doc(alias = "bufferevent_get_max_single_write")]
    pub fn max_single_io<X: BevHost>(self, base: &EventBase<X>) -> Result<(usize, usize)> {
        let r = self.rec(base)?;
        Ok((r.max_read as usize, r.max_write as usize))
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
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_set_timeouts")]
    pub fn set_timeouts<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        read: Option<Duration>,
        write: Option<Duration>,
    ) -> Result<()> {
        let r = self.rec_mut(base)?;
        r.timeout_read = read;
        r.timeout_write = write;
        if let Kind::Socket(_) = r.kind {
            socket::rearm_timeouts(base, self)?;
        }
        // Timers for the kinds without events (and an fd-less socket).
        timeouts::set(base, self)
    }

    /// Runs the read and / or write callback as if data had arrived or
    /// left (`bufferevent_trigger`): subject to the watermarks unless
    /// [`TriggerOptions::IGNORE_WATERMARKS`].
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
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
        let read = what.contains(Ev::READ) && (ignore || r.input.len() >= r.read_low);
        let write = what.contains(Ev::WRITE) && (ignore || r.output.len() <= r.write_low);
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
    #[doc(alias = "EVUTIL_SOCKET_ERROR")]
    pub fn socket_error<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<std::io::Error>> {
        let e = self.rec(base)?.error;
        Ok((e != 0).then(|| std::io::Error::from_raw_os_error(e)))
    }

    /// The socket, or -1 (`bufferevent_getfd`); pairs have none, and a
    /// filter answers for its underlying (as libevent forwards
    /// `BEV_CTRL_GET_FD`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_getfd")]
    pub fn fd<X: BevHost>(self, base: &EventBase<X>) -> Result<RawFd> {
        let mut r = self.rec(base)?;
        // Down a stack of filters to the bufferevent that has the socket.
        loop {
            match &r.kind {
                Kind::Socket(s) => return Ok(s.fd),
                Kind::Filter(f) => match base.ext.bevs().get(f.underlying()) {
                    Some(u) => r = u,
                    None => return Ok(-1),
                },
                _ => return Ok(-1),
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
    #[doc(alias = "bufferevent_free")]
    pub fn free<X: BevHost>(self, base: &mut EventBase<X>) -> Result<()> {
        match self.rec(base)?.kind {
            Kind::Socket(_) => socket::release(base, self),
            Kind::Pair(_) => pair::release(base, self),
            Kind::Filter(_) => filter::release(base, self),
            Kind::Free => {}
        }
        if self.rec(base).is_ok_and(|r| r.rate.is_some()) {
            ratelimit::release(base, self);
        }
        timeouts::release(base, self);
        let t = &mut base.ext.bevs_mut();
        let r = &mut t.recs[self.idx as usize];
        // Take everything out first: dropping callbacks or buffers may run
        // user code (captured values, reference cleanups).
        let old = std::mem::replace(r, Rec::new(Kind::Free, BevOptions::empty(), r.generation));
        t.free.push(self.idx);
        drop(old);
        Ok(())
    }

    /// The base this bufferevent belongs to is `base`.
    pub fn belongs_to<X: BevHost>(self, base: &EventBase<X>) -> bool {
        self.base == base.id
    }
}
