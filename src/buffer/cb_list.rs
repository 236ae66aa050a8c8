//! The bookkeeping behind an evbuffer's change callbacks (`callback.rs`):
//! what a callback is told ([`CbInfo`], libevent's `evbuffer_cb_info`),
//! its handle ([`CbEntry`]), the list a buffer keeps once it has a
//! callback (`CbList`), and the deferred callbacks a base's loop delivers
//! (`DeferredCbs`).
//!
//! The list is generic over the buffer type so that the buffer can hold it
//! while this file names no buffer: the types here sit below
//! [`Evbuffer`](super::evbuffer::Evbuffer), the behaviour in `callback.rs`
//! above it.

use std::any::Any;
use std::cell::{Cell, RefCell};

use allocator_api2::boxed::Box;

use crate::base::{BaseExt, EventBase};
use crate::deferred::{DeferredQueue, DeferredWork, Work};
use crate::error::Result;
use crate::mem::{self, MemRc, MemVec, Pool};

/// What changed since a callback's previous invocation round
/// (libevent's `struct evbuffer_cb_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[doc(alias = "evbuffer_cb_info")]
pub struct CbInfo {
    /// The length when the changes began.
    pub orig_size: usize,
    /// Bytes added since.
    pub n_added: usize,
    /// Bytes removed since.
    pub n_deleted: usize,
}

impl CbInfo {
    /// The length after the changes.
    ///
    /// # Examples
    /// ```
    /// use rvent::Evbuffer;
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let sizes = Rc::new(Cell::new((0, 0)));
    /// let s = sizes.clone();
    /// let mut buf = Evbuffer::new();
    /// buf.add(b"abcd")?;
    /// buf.add_cb(move |_, info| s.set((info.orig_size, info.new_size())))?;
    /// buf.drain(3)?;
    /// assert_eq!(sizes.get(), (4, 1));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[inline]
    pub fn new_size(&self) -> usize {
        self.orig_size + self.n_added - self.n_deleted
    }
}

/// A registered callback (libevent's `struct evbuffer_cb_entry *`), for
/// [`Evbuffer::remove_cb`](crate::buffer::Evbuffer::remove_cb) and
/// [`Evbuffer::cb_set_enabled`](crate::buffer::Evbuffer::cb_set_enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "evbuffer_cb_entry")]
pub struct CbEntry {
    /// Unique in the process (never reused), so an entry of one buffer
    /// is found in no other buffer's list.
    pub(super) id: u64,
}

/// A synchronous callback of a buffer of type `B`, in a pool block.
pub(super) type SyncFn<B> = Box<dyn FnMut(&mut B, &CbInfo), Pool>;
/// A deferred callback, run by a base of type `EventBase<X>`, in a pool
/// block.
pub(super) type DeferredFn<X> = Box<dyn FnMut(&mut EventBase<X>, &CbInfo), Pool>;
/// A buffer's callback list, in a pool block (made by the first callback).
pub(super) type CbBox<B> = Box<CbList<B>, Pool>;
/// A buffer's deferred callbacks, whatever the base type, in a pool block.
pub(super) type SinkBox = Box<dyn DeferredSink, Pool>;

pub(super) struct Entry<F> {
    pub(super) id: u64,
    pub(super) enabled: bool,
    /// `None` while the callback runs.
    pub(super) f: Option<F>,
}

/// A buffer's callbacks and change counters; `B` is the buffer type
/// (`Evbuffer`), a parameter so that this list does not name the buffer
/// that holds it. Every block here comes from the memory functions: the
/// list itself ([`CbBox`]), its entries (a [`MemVec`], grown before a
/// callback is registered) and each callback's box.
pub(super) struct CbList<B> {
    pub(super) entries: MemVec<Entry<SyncFn<B>>>,
    pub(super) n_added: usize,
    pub(super) n_deleted: usize,
    pub(super) running: bool,
    pub(super) deferred: Option<SinkBox>,
}

impl<B> Default for CbList<B> {
    fn default() -> Self {
        CbList {
            entries: mem::vec(),
            n_added: 0,
            n_deleted: 0,
            running: false,
            deferred: None,
        }
    }
}

impl<B> Drop for CbList<B> {
    /// A dropped buffer's pending deferred delivery is cancelled (its
    /// callbacks are dropped with it), as `evbuffer_free` does.
    fn drop(&mut self) {
        if let Some(d) = &self.deferred {
            d.cancel();
        }
    }
}

/// The buffer's view of its deferred callbacks, whatever the type of the
/// base that delivers them: the buffer is not generic, the callbacks are.
pub(super) trait DeferredSink {
    /// Adds `info` to what the next delivery reports; queues the delivery
    /// on the base if it is not queued yet.
    fn accumulate(&self, info: CbInfo);
    /// The buffer is gone: nothing more is delivered.
    fn cancel(&self);
    /// Removes every callback.
    fn clear(&self);
    fn is_empty(&self) -> bool;
    /// Removes callback `id`; whether it was there.
    fn remove(&self, id: u64) -> bool;
    /// Enables or disables callback `id`; whether it was there.
    fn set_enabled(&self, id: u64, enabled: bool) -> bool;
    fn as_any(&self) -> &dyn Any;
}

/// The deferred callbacks of one buffer: queued on the base when changes
/// are pending, run by the loop. Shared between the buffer's
/// [`Sink`] and the base's queue while queued.
pub(super) struct DeferredCbs<X: BaseExt> {
    pub(super) queue: RefCell<MemRc<DeferredQueue<EventBase<X>>>>,
    pub(super) entries: RefCell<MemVec<Entry<DeferredFn<X>>>>,
    pub(super) queued: Cell<bool>,
    pub(super) info: Cell<Option<CbInfo>>,
}

/// The buffer's handle to its [`DeferredCbs`]: the one handle the queue
/// takes a clone of, and the holder of a reserved slot in the queue (so
/// queueing never allocates).
pub(super) struct Sink<X: BaseExt> {
    work: Work<EventBase<X>>,
}

impl<X: BaseExt> Sink<X> {
    /// Deferred callbacks delivered through `queue`, with a slot reserved
    /// there.
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc); nothing is reserved.
    pub(super) fn new(queue: MemRc<DeferredQueue<EventBase<X>>>) -> Result<Sink<X>> {
        let cbs = mem::rc_box(DeferredCbs {
            queue: RefCell::new(queue.clone()),
            entries: RefCell::new(mem::vec()),
            queued: Cell::new(false),
            info: Cell::new(None),
        })?;
        queue.reserve_slot()?;
        Ok(Sink {
            work: MemRc::from_box(allocator_api2::unsize_box!(cbs)),
        })
    }

    pub(super) fn cbs(&self) -> &DeferredCbs<X> {
        self.work
            .as_any()
            .downcast_ref()
            .expect("a sink's work is its DeferredCbs")
    }

    /// Delivers through `queue` from now on (pending changes go there).
    ///
    /// # Errors
    /// [`Error::Alloc`](crate::error::Error::Alloc) if no slot can be
    /// reserved there; the old queue stays.
    pub(super) fn move_to(&self, queue: MemRc<DeferredQueue<EventBase<X>>>) -> Result<()> {
        let c = self.cbs();
        if MemRc::ptr_eq(&c.queue.borrow(), &queue) {
            return Ok(());
        }
        queue.reserve_slot()?;
        let old = c.queue.replace(queue);
        old.release_slot();
        Ok(())
    }
}

impl<X: BaseExt> Drop for Sink<X> {
    fn drop(&mut self) {
        self.cbs().queue.borrow().release_slot();
    }
}

impl<X: BaseExt> DeferredSink for Sink<X> {
    fn accumulate(&self, info: CbInfo) {
        let c = self.cbs();
        let merged = match c.info.get() {
            Some(mut acc) => {
                acc.n_added += info.n_added;
                acc.n_deleted += info.n_deleted;
                acc
            }
            None => info,
        };
        c.info.set(Some(merged));
        if !c.queued.replace(true) {
            let queue = MemRc::clone(&c.queue.borrow());
            // The sink's reserved slot makes this infallible; should the
            // queue still be full (a sink moved away while queued there),
            // the changes stay accumulated and the next one retries.
            if queue.push(self.work.clone()).is_err() {
                c.queued.set(false);
            }
        }
    }

    fn cancel(&self) {
        let c = self.cbs();
        c.info.set(None);
        let entries = std::mem::replace(&mut *c.entries.borrow_mut(), mem::vec());
        drop(entries);
    }

    fn clear(&self) {
        let entries = std::mem::replace(&mut *self.cbs().entries.borrow_mut(), mem::vec());
        drop(entries);
    }

    fn is_empty(&self) -> bool {
        self.cbs().entries.borrow().is_empty()
    }

    fn remove(&self, id: u64) -> bool {
        let mut es = self.cbs().entries.borrow_mut();
        let Some(j) = es.iter().position(|e| e.id == id) else {
            return false;
        };
        let e = es.remove(j);
        drop(es);
        drop(e);
        true
    }

    fn set_enabled(&self, id: u64, enabled: bool) -> bool {
        let mut es = self.cbs().entries.borrow_mut();
        match es.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                e.enabled = enabled;
                true
            }
            None => false,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl<X: BaseExt> DeferredWork<EventBase<X>> for DeferredCbs<X> {
    fn run(&self, base: &mut EventBase<X>) {
        self.queued.set(false);
        let Some(info) = self.info.take() else {
            return;
        };
        let mut i = 0;
        loop {
            let (id, mut f) = {
                let mut es = self.entries.borrow_mut();
                let Some(e) = es.get_mut(i) else { break };
                if !e.enabled || e.f.is_none() {
                    i += 1;
                    continue;
                }
                (e.id, e.f.take().expect("checked above"))
            };
            f(base, &info);
            let mut es = self.entries.borrow_mut();
            if let Some(j) = es.iter().position(|e| e.id == id) {
                es[j].f = Some(f);
                i = j + 1;
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
