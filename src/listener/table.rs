//! A base's listeners: a slab of records with generations and a free list,
//! in rvent's memory (the memory functions when installed), kept in the
//! base's layers and reached through [`ListenerHost`].
//!
//! A record holds everything a listener is — its socket, options, state,
//! read event, retry timer and callbacks — so a [`ConnListener`] is only
//! an index, and the events the listener puts on the base capture nothing
//! but that index. A callback is taken out of its record while it runs (it
//! needs `&mut EventBase`, which holds the record); a flag in the record
//! says whether it was replaced meanwhile, in which case the running copy
//! is dropped instead of put back. The table counts the changes made
//! through handles, so the accept loop re-reads its record after a
//! callback only when the callback changed some listener.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;

use crate::base::{BaseExt, EventBase};
use crate::callback_slot::Running;
use crate::error::Result;
use crate::handle::Event;
use crate::mem::{self, Account, Budgeted, MemRc, MemVec, Pool};

use super::handle::ConnListener;
use super::options::ListenerOptions;
use super::peer::PeerAddr;

/// The accept callback: the base, the listener, the new connection and its
/// peer's address.
pub(super) type AcceptFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, ConnListener, OwnedFd, PeerAddr), Pool>;
/// The error callback: the base, the listener and the accept error.
pub(super) type ErrorFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, ConnListener, io::Error), Pool>;

/// Boxes an accept callback in the pool, charged to the base's `account`
/// when it has a budget (credited when the box is dropped).
pub(super) fn accept_fn<X: BaseExt, F>(account: &MemRc<Account>, f: F) -> Result<AcceptFn<X>>
where
    F: FnMut(&mut EventBase<X>, ConnListener, OwnedFd, PeerAddr) + 'static,
{
    Ok(match mem::charged(account, f)? {
        Budgeted::Unbudgeted(f) => allocator_api2::unsize_box!(mem::pool_box(f)?),
        Budgeted::Charged(mut c) => allocator_api2::unsize_box!(mem::pool_box(
            move |base: &mut EventBase<X>, l, fd, peer| (c.get())(base, l, fd, peer)
        )?),
    })
}

/// Boxes an error callback in the pool, charged as by [`accept_fn`].
pub(super) fn error_fn<X: BaseExt, F>(account: &MemRc<Account>, f: F) -> Result<ErrorFn<X>>
where
    F: FnMut(&mut EventBase<X>, ConnListener, io::Error) + 'static,
{
    Ok(match mem::charged(account, f)? {
        Budgeted::Unbudgeted(f) => allocator_api2::unsize_box!(mem::pool_box(f)?),
        Budgeted::Charged(mut c) => {
            allocator_api2::unsize_box!(mem::pool_box(move |base: &mut EventBase<X>, l, e| (c
                .get())(
                base, l, e
            ))?)
        }
    })
}

/// A base that carries listeners: where its [`ListenerTable`] lives. The
/// crate root's [`Layers`](crate::Layers) is one.
pub trait ListenerHost: BaseExt {
    /// The base's listeners.
    fn listeners(&self) -> &ListenerTable<Self>;
    /// The base's listeners, mutably.
    fn listeners_mut(&mut self) -> &mut ListenerTable<Self>;
}

/// `Rec::state` bits.
pub(super) mod st {
    /// The user wants the listener accepting (`enable` / not `DISABLED`).
    pub(crate) const ENABLED: u8 = 1 << 0;
    /// Paused after an accept error; the retry timer re-adds the event.
    pub(crate) const PAUSED: u8 = 1 << 1;
    /// An accept error was logged; cleared by the next successful accept.
    pub(crate) const WARNED: u8 = 1 << 2;
    /// A callback panicked and the loop dropped the read event's closure;
    /// `enable` installs a new one.
    pub(crate) const POISONED: u8 = 1 << 3;
}

/// One listener's state.
pub(super) struct Rec<X: BaseExt> {
    /// The listening socket; `free` hands it back or closes it.
    pub(super) sock: OwnedFd,
    pub(super) opts: ListenerOptions,
    /// [`st`] bits.
    pub(super) state: u8,
    /// The persistent read event on `sock`.
    pub(super) ev: Event,
    /// The retry timer, created on the first pause.
    pub(super) retry: Option<Event>,
    pub(super) cb: Option<AcceptFn<X>>,
    pub(super) errcb: Option<ErrorFn<X>>,
    /// Which callback is out running (`Rec::ACCEPT_CB`, `Rec::ERROR_CB`).
    pub(super) running: Running,
}

impl<X: BaseExt> Rec<X> {
    pub(super) fn new(sock: OwnedFd, opts: ListenerOptions, ev: Event, cb: AcceptFn<X>) -> Self {
        let enabled = !opts.contains(ListenerOptions::DISABLED);
        Rec {
            sock,
            opts,
            state: if enabled { st::ENABLED } else { 0 },
            ev,
            retry: None,
            cb: Some(cb),
            errcb: None,
            running: Running::default(),
        }
    }

    #[inline]
    pub(super) fn is(&self, bit: u8) -> bool {
        self.state & bit != 0
    }

    #[inline]
    pub(super) fn set(&mut self, bit: u8) {
        self.state |= bit;
    }

    #[inline]
    pub(super) fn clear(&mut self, bit: u8) {
        self.state &= !bit;
    }

    pub(super) const ACCEPT_CB: u8 = 1;
    pub(super) const ERROR_CB: u8 = 2;

    /// Takes the accept callback out to run it.
    #[inline]
    pub(super) fn take_cb(&mut self) -> Option<AcceptFn<X>> {
        self.running.take(Self::ACCEPT_CB, &mut self.cb)
    }

    /// Puts a running accept callback back, unless it was replaced.
    #[inline]
    pub(super) fn put_back_cb(&mut self, cb: Option<AcceptFn<X>>) {
        if let Some(f) = cb {
            let old = self.running.put_back(Self::ACCEPT_CB, &mut self.cb, f);
            drop(old);
        }
    }

    /// The accept callback was replaced (or cleared) while out running.
    #[inline]
    pub(super) fn cb_replaced(&self) -> bool {
        !self.running.is_out(Self::ACCEPT_CB)
    }

    /// Replaces the accept callback (the running one, if any, is dropped
    /// when it returns).
    pub(super) fn replace_cb(&mut self, cb: Option<AcceptFn<X>>) {
        let old = self.running.replace(Self::ACCEPT_CB, &mut self.cb, cb);
        drop(old);
    }

    /// Takes the error callback out to run it.
    pub(super) fn take_errcb(&mut self) -> Option<ErrorFn<X>> {
        self.running.take(Self::ERROR_CB, &mut self.errcb)
    }

    /// Puts a running error callback back, unless it was replaced.
    pub(super) fn put_back_errcb(&mut self, cb: ErrorFn<X>) {
        let old = self.running.put_back(Self::ERROR_CB, &mut self.errcb, cb);
        drop(old);
    }

    /// Replaces the error callback.
    pub(super) fn replace_errcb(&mut self, cb: Option<ErrorFn<X>>) {
        let old = self.running.replace(Self::ERROR_CB, &mut self.errcb, cb);
        drop(old);
    }
}

/// A slot of the table: a record while live, with the generation its
/// handles carry.
struct Slot<X: BaseExt> {
    generation: u32,
    rec: Option<Rec<X>>,
}

/// A base's listeners: a slab of records with generations. Opaque:
/// reached through [`ConnListener`]'s methods. Dropping it (with the base)
/// closes every listener's socket and drops its callbacks.
pub struct ListenerTable<X: BaseExt> {
    slots: MemVec<Slot<X>>,
    /// Free slots; room for every slot is reserved, so freeing never
    /// allocates.
    free: MemVec<u32>,
    /// Changes made through handles, counted (wrapping).
    changes: u32,
}

impl<X: BaseExt> ListenerTable<X> {
    /// Bytes the table (records inline) and the listeners' callback
    /// blocks hold (for statistics).
    pub(crate) fn mem_bytes(&self) -> usize {
        let cbs: usize = self
            .slots
            .iter()
            .filter_map(|s| s.rec.as_ref())
            .map(|r| {
                r.cb.as_ref().map_or(0, |f| mem::pool_bytes_of(&**f))
                    + r.errcb.as_ref().map_or(0, |f| mem::pool_bytes_of(&**f))
            })
            .sum();
        mem::vec_bytes(&self.slots) + mem::vec_bytes(&self.free) + cbs
    }
}

impl<X: BaseExt> Default for ListenerTable<X> {
    fn default() -> Self {
        ListenerTable {
            slots: mem::vec(),
            free: mem::vec(),
            changes: 0,
        }
    }
}

impl<X: BaseExt> ListenerTable<X> {
    /// `h`'s record, if `h` is live (the caller checked the base).
    #[inline]
    pub(super) fn get(&self, h: ConnListener) -> Option<&Rec<X>> {
        self.slots
            .get(h.idx as usize)
            .filter(|s| s.generation == h.generation)?
            .rec
            .as_ref()
    }

    /// `h`'s record, mutably, without counting a change: for the accept
    /// path itself.
    #[inline]
    pub(super) fn get_mut(&mut self, h: ConnListener) -> Option<&mut Rec<X>> {
        self.slots
            .get_mut(h.idx as usize)
            .filter(|s| s.generation == h.generation)?
            .rec
            .as_mut()
    }

    /// `h`'s record for a change made through the API, counted so that a
    /// running accept loop notices it.
    #[inline]
    pub(super) fn touch(&mut self, h: ConnListener) -> Option<&mut Rec<X>> {
        self.changes = self.changes.wrapping_add(1);
        self.get_mut(h)
    }

    /// How many changes were made through handles (wrapping).
    #[inline]
    pub(super) fn changes(&self) -> u32 {
        self.changes
    }

    /// The handle the next [`insert`](Self::insert) will fill, with room
    /// reserved so that inserting and later removing never allocate; the
    /// table's growth is charged to a budgeted base's `account`.
    pub(super) fn vacant(&mut self, base: u32, account: &Account) -> Result<ConnListener> {
        let (idx, generation) = match self.free.last() {
            Some(&idx) => (idx, self.slots[idx as usize].generation.wrapping_add(1)),
            None => {
                mem::reserve_charged(account, &mut self.slots, 1)?;
                let want = self.slots.len() + 1 - self.free.len();
                mem::reserve_charged(account, &mut self.free, want)?;
                (self.slots.len() as u32, 0)
            }
        };
        Ok(ConnListener {
            idx,
            generation,
            base,
        })
    }

    /// Fills the slot [`vacant`](Self::vacant) returned `h` for (nothing
    /// else was inserted meanwhile).
    pub(super) fn insert(&mut self, h: ConnListener, rec: Rec<X>) {
        let slot = Slot {
            generation: h.generation,
            rec: Some(rec),
        };
        if self.free.last() == Some(&h.idx) {
            self.free.pop();
            self.slots[h.idx as usize] = slot;
        } else {
            debug_assert_eq!(h.idx as usize, self.slots.len());
            // Room reserved by `vacant`.
            self.slots.push(slot);
        }
    }

    /// Takes `h`'s record out: every handle to it is stale from now on.
    pub(super) fn remove(&mut self, h: ConnListener) -> Option<Rec<X>> {
        self.touch(h)?;
        let rec = self.slots[h.idx as usize].rec.take();
        // Room for every slot is reserved.
        self.free.push(h.idx);
        rec
    }

    /// Live listeners.
    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

impl<X: BaseExt> fmt::Debug for ListenerTable<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerTable")
            .field("live", &self.live())
            .finish()
    }
}
