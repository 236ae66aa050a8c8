//! Change callbacks and freezing (`evbuffer_add_cb`, `evbuffer_remove_cb_entry`,
//! `evbuffer_cb_set_flags` / `clear_flags`, `evbuffer_setcb`,
//! `evbuffer_defer_callbacks`, `evbuffer_freeze` / `unfreeze`).
//!
//! # Callbacks
//!
//! Every change of a buffer's length — adds, drains, moves between buffers,
//! reads and writes through descriptors — is counted, and the registered
//! callbacks get a [`CbInfo`] (`orig_size`, `n_added`, `n_deleted`) right
//! after the operation, before it returns. The counters are reset at each
//! invocation round, whether a callback is enabled or not: a disabled
//! callback misses the changes made while it is disabled (libevent's rule).
//!
//! A callback gets `&mut Evbuffer` and may change the buffer, or add and
//! remove callbacks (itself included): while it runs it is out of the list,
//! and changes it makes are reported in a following round once the current
//! round ends — a loop, not recursion, so no stack growth and no
//! `RefCell` to panic. A callback that changes the buffer on every call
//! never lets the round loop end (as in libevent, where it recurses
//! forever): make the change conditional.
//!
//! # Deferred callbacks
//!
//! [`Evbuffer::defer_callbacks`] ties the buffer to a base's deferred
//! queue. The loop holds no reference to the buffer, so a deferred
//! callback cannot get `&mut Evbuffer`: deferred callbacks are a separate
//! kind, registered with [`Evbuffer::add_deferred_cb`], with the signature
//! `FnMut(&mut EventBase, &CbInfo)`. Changes accumulate (one `CbInfo`
//! covering everything since the previous delivery) and are delivered from
//! the loop at the start of its next iteration. Callbacks added with
//! [`Evbuffer::add_cb`] keep running synchronously — libevent's
//! `EVBUFFER_CB_NODEFER`, which its bufferevents use for their watermark
//! checks.
//!
//! # Freezing
//!
//! A frozen front refuses what takes data from the front (drain, remove,
//! readln, remove_buffer as the source, prepend, prepend_buffer, writes to
//! a descriptor); a frozen end refuses what adds data (add, add_fmt,
//! add_slices, reserve / commit, references, add_buffer as the destination,
//! file segments, reads from a descriptor). Refused calls return
//! [`Error::BadState`] (or `None`) and change nothing.
//!
//! # Cost
//!
//! Freezing and callbacks share one byte of the buffer (`hooks`); every
//! mutation tests that byte once against its own side and the callback
//! bit, so with no callback it takes its usual path unless its own side is
//! frozen (a socket bufferevent's input, frozen at its end, is drained at
//! full speed). The bookkeeping lives in a boxed `CbList`
//! allocated by the first `add_cb`.
//!
//! # Memory
//!
//! The list, its entries and every callback's box come from the memory
//! functions (the thread's pool), and each is obtained before anything
//! changes: a registration that cannot get memory returns
//! [`Error::Alloc`] with the buffer's callbacks as they were.

use std::sync::atomic::{AtomicU64, Ordering};

use super::cb_list::{CbEntry, CbInfo, CbList, DeferredFn, Entry, Sink, SinkBox, SyncFn};
use super::evbuffer::{Evbuffer, FROZEN_END, FROZEN_FRONT, HAS_CBS};
use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::mem;

fn frozen(side: u32) -> Error {
    if side == FROZEN_FRONT {
        Error::BadState("buffer front is frozen")
    } else {
        Error::BadState("buffer end is frozen")
    }
}

impl Evbuffer {
    /// Runs `op` on a buffer with hooks: refused if `side` is frozen,
    /// callbacks told about the change after.
    #[cold]
    #[inline(never)]
    pub(super) fn hooked<T, E: From<Error>>(
        &mut self,
        side: u32,
        op: impl FnOnce(&mut Self) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if self.hooks & side != 0 {
            return Err(frozen(side).into());
        }
        let before = self.total_len;
        let r = op(self);
        self.changed(before);
        r
    }

    /// As [`hooked`](Self::hooked) for an operation moving data from `src`
    /// to `self`: refused if `self`'s `dst_side` or `src`'s `src_side` is
    /// frozen; both buffers' callbacks run after.
    #[cold]
    #[inline(never)]
    pub(super) fn hooked2<T>(
        &mut self,
        src: &mut Evbuffer,
        dst_side: u32,
        src_side: u32,
        op: impl FnOnce(&mut Self, &mut Self) -> Result<T>,
    ) -> Result<T> {
        if self.hooks & dst_side != 0 {
            return Err(frozen(dst_side));
        }
        if src.hooks & src_side != 0 {
            return Err(frozen(src_side));
        }
        let (a, b) = (self.total_len, src.total_len);
        let r = op(self, src);
        src.changed(b);
        self.changed(a);
        r
    }

    /// Counts a change of length from `before` and runs the callbacks.
    pub(super) fn changed(&mut self, before: usize) {
        if self.hooks & HAS_CBS == 0 || self.total_len == before {
            return;
        }
        let after = self.total_len;
        let cbs = self.cbs.as_mut().expect("HAS_CBS without a list");
        if after > before {
            cbs.n_added += after - before;
        } else {
            cbs.n_deleted += before - after;
        }
        if !cbs.running {
            self.run_callbacks();
        }
    }

    /// Invocation rounds until no change is pending.
    fn run_callbacks(&mut self) {
        self.cbs.as_mut().expect("checked by the caller").running = true;
        loop {
            let len = self.total_len;
            let Some(cbs) = self.cbs.as_mut() else { break };
            if cbs.n_added == 0 && cbs.n_deleted == 0 {
                break;
            }
            let info = CbInfo {
                orig_size: len + cbs.n_deleted - cbs.n_added,
                n_added: cbs.n_added,
                n_deleted: cbs.n_deleted,
            };
            cbs.n_added = 0;
            cbs.n_deleted = 0;
            if let Some(d) = &cbs.deferred {
                d.accumulate(info);
            }
            let mut i = 0;
            while let Some(cbs) = self.cbs.as_mut() {
                let Some(e) = cbs.entries.get_mut(i) else {
                    break;
                };
                if !e.enabled || e.f.is_none() {
                    i += 1;
                    continue;
                }
                let id = e.id;
                let mut f = e.f.take().expect("checked above");
                f(self, &info);
                let cbs = self.cbs.as_mut().expect("the list is never dropped");
                if let Some(j) = cbs.entries.iter().position(|e| e.id == id) {
                    cbs.entries[j].f = Some(f);
                    i = j + 1;
                }
            }
        }
        if let Some(cbs) = self.cbs.as_mut() {
            cbs.running = false;
        }
    }

    /// The callback list, made now if the buffer has none.
    ///
    /// # Errors
    /// [`Error::Alloc`]; the buffer is unchanged.
    fn cb_list(&mut self) -> Result<&mut CbList<Evbuffer>> {
        if self.cbs.is_none() {
            self.cbs = Some(mem::pool_box(CbList::default())?);
        }
        Ok(self.cbs.as_mut().expect("made above"))
    }

    fn update_cb_flag(&mut self) {
        let any = self.cbs.as_ref().is_some_and(|c| {
            !c.entries.is_empty() || c.deferred.as_ref().is_some_and(|d| !d.is_empty())
        });
        if any {
            self.hooks |= HAS_CBS;
        } else {
            self.hooks &= !HAS_CBS;
            if let Some(c) = self.cbs.as_mut() {
                c.n_added = 0;
                c.n_deleted = 0;
            }
        }
    }

    /// A new handle, unique in the process (registering is rare: one
    /// atomic add is nothing beside the callback's box).
    fn next_cb_id(&mut self) -> CbEntry {
        static NEXT_CB_ID: AtomicU64 = AtomicU64::new(1);
        CbEntry {
            id: NEXT_CB_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// `cb` in its box, the list made and room for one more entry: what a
    /// registration needs, obtained before anything visible changes.
    fn prepare_cb(
        &mut self,
        cb: impl FnMut(&mut Evbuffer, &CbInfo) + 'static,
    ) -> Result<SyncFn<Evbuffer>> {
        let f: SyncFn<Evbuffer> = allocator_api2::unsize_box!(mem::pool_box(cb)?);
        mem::reserve(&mut self.cb_list()?.entries, 1)?;
        Ok(f)
    }

    /// Registers a prepared callback (room reserved: no allocation).
    fn push_cb(&mut self, f: SyncFn<Evbuffer>) -> CbEntry {
        let entry = self.next_cb_id();
        let l = self.cbs.as_mut().expect("made by prepare_cb");
        debug_assert!(l.entries.len() < l.entries.capacity());
        l.entries.push(Entry {
            id: entry.id,
            enabled: true,
            f: Some(f),
        });
        self.hooks |= HAS_CBS;
        entry
    }

    /// Registers `cb`, run synchronously after every change of the
    /// buffer's length with what changed since its previous round
    /// (libevent's `evbuffer_add_cb`). Returns the handle for
    /// [`remove_cb`](Self::remove_cb) and
    /// [`cb_set_enabled`](Self::cb_set_enabled). The callback may change
    /// the buffer; see the module docs for how those changes are reported.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the callback's box or its place in the list
    /// cannot be allocated; nothing is registered and `cb` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// let l = log.clone();
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_cb(move |_buf, info| l.borrow_mut().push((info.orig_size, info.new_size())))?;
    /// buf.add(b"hello")?;
    /// buf.drain(2)?;
    /// assert_eq!(*log.borrow(), [(0, 5), (5, 3)]);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_add_cb")]
    pub fn add_cb(&mut self, cb: impl FnMut(&mut Evbuffer, &CbInfo) + 'static) -> Result<CbEntry> {
        let f = self.prepare_cb(cb)?;
        Ok(self.push_cb(f))
    }

    /// Removes every callback and registers `cb` alone (the legacy
    /// `evbuffer_setcb`); `None` removes them all. Deferred callbacks go
    /// too.
    ///
    /// # Errors
    /// [`Error::Alloc`] if `cb` cannot be registered; the callbacks are
    /// then left as they were.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_cb(|_, _| panic!("replaced"))?;
    /// buf.set_cb(Some(|b: &mut rvent::Evbuffer, i: &rvent::CbInfo| {
    ///     if i.n_added > 0 {
    ///         b.drain(b.len()).unwrap(); // drains whatever arrives
    ///     }
    /// }))?;
    /// buf.add(b"gone")?;
    /// assert!(buf.is_empty());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_setcb")]
    pub fn set_cb<F>(&mut self, cb: Option<F>) -> Result<()>
    where
        F: FnMut(&mut Evbuffer, &CbInfo) + 'static,
    {
        let f = cb.map(|cb| self.prepare_cb(cb)).transpose()?;
        if let Some(c) = self.cbs.as_mut() {
            c.entries.clear();
            if let Some(d) = &c.deferred {
                d.clear();
            }
        }
        if let Some(f) = f {
            self.push_cb(f);
        }
        self.update_cb_flag();
        Ok(())
    }

    /// Unregisters a callback (libevent's `evbuffer_remove_cb_entry`),
    /// synchronous or deferred; a callback may remove itself.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `entry` is not registered on this
    /// buffer (removed already, or from another buffer).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// let e = buf.add_cb(|_, _| {})?;
    /// buf.remove_cb(e)?;
    /// assert!(buf.remove_cb(e).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_remove_cb_entry")]
    #[doc(alias = "evbuffer_remove_cb")]
    pub fn remove_cb(&mut self, entry: CbEntry) -> Result<()> {
        const MISSING: Error = Error::InvalidArgument("no such callback on this buffer");
        let c = self.cbs.as_mut().ok_or(MISSING)?;
        if let Some(j) = c.entries.iter().position(|e| e.id == entry.id) {
            c.entries.remove(j);
        } else if !c.deferred.as_ref().is_some_and(|d| d.remove(entry.id)) {
            return Err(MISSING);
        }
        self.update_cb_flag();
        Ok(())
    }

    /// Enables or disables a callback (libevent's `evbuffer_cb_set_flags`
    /// / `clear_flags` with `EVBUFFER_CB_ENABLED`). A disabled callback
    /// misses the changes made meanwhile.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `entry` is not registered here.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let calls = Rc::new(Cell::new(0));
    /// let c = calls.clone();
    /// let mut buf = rvent::Evbuffer::new();
    /// let e = buf.add_cb(move |_, _| c.set(c.get() + 1))?;
    /// buf.cb_set_enabled(e, false)?;
    /// buf.add(b"x")?;
    /// buf.cb_set_enabled(e, true)?;
    /// buf.add(b"y")?;
    /// assert_eq!(calls.get(), 1);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_cb_set_flags")]
    #[doc(alias = "evbuffer_cb_clear_flags")]
    pub fn cb_set_enabled(&mut self, entry: CbEntry, enabled: bool) -> Result<()> {
        const MISSING: Error = Error::InvalidArgument("no such callback on this buffer");
        let c = self.cbs.as_mut().ok_or(MISSING)?;
        if let Some(e) = c.entries.iter_mut().find(|e| e.id == entry.id) {
            e.enabled = enabled;
            return Ok(());
        }
        match &c.deferred {
            Some(d) if d.set_enabled(entry.id, enabled) => Ok(()),
            _ => Err(MISSING),
        }
    }

    /// Delivers this buffer's deferred callbacks from `base`'s loop
    /// (libevent's `evbuffer_defer_callbacks`); see
    /// [`add_deferred_cb`](Self::add_deferred_cb). Calling it again with
    /// another base moves the delivery there (pending changes go to the
    /// new base).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the delivery state or its slot in the base's
    /// deferred queue cannot be allocated; the buffer keeps its previous
    /// delivery.
    ///
    /// # Examples
    ///
    /// ```
    /// let base = rvent::EventBase::new()?;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.defer_callbacks(&base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_defer_callbacks")]
    pub fn defer_callbacks<X: BaseExt>(&mut self, base: &EventBase<X>) -> Result<()> {
        let q = base.deferred_queue();
        let l = self.cb_list()?;
        if let Some(d) = l
            .deferred
            .as_ref()
            .and_then(|d| d.as_any().downcast_ref::<Sink<X>>())
        {
            return d.move_to(q);
        }
        // First time (or a base of another type, whose callbacks could not
        // run on this one: they are dropped).
        let sink: SinkBox = allocator_api2::unsize_box!(mem::pool_box(Sink::new(q)?)?);
        if let Some(old) = l.deferred.replace(sink) {
            old.cancel();
        }
        Ok(())
    }

    /// Registers `cb` to be told about changes from `base`'s loop, at the
    /// start of its next iteration, with one [`CbInfo`] covering every
    /// change since its previous delivery (calls
    /// [`defer_callbacks`](Self::defer_callbacks) with `base` first if
    /// needed). The loop cannot reach the buffer, so the callback gets the
    /// base, not the buffer.
    ///
    /// # Errors
    /// [`Error::Alloc`] if the callback's box, its place in the list or
    /// the delivery state cannot be allocated; nothing is registered and
    /// `cb` is dropped (a delivery set up by this call may stay, with no
    /// callback).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let mut base = rvent::EventBase::new()?;
    /// let seen = Rc::new(Cell::new(None));
    /// let s = seen.clone();
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_deferred_cb(&base, move |_base, info| s.set(Some(*info)))?;
    /// buf.add(b"abc")?;
    /// buf.add(b"de")?;
    /// assert_eq!(seen.get(), None); // not yet: the loop delivers
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// assert_eq!(seen.get().map(|i| (i.orig_size, i.n_added)), Some((0, 5)));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_defer_callbacks")]
    pub fn add_deferred_cb<X: BaseExt>(
        &mut self,
        base: &EventBase<X>,
        cb: impl FnMut(&mut EventBase<X>, &CbInfo) + 'static,
    ) -> Result<CbEntry> {
        let f: DeferredFn<X> = allocator_api2::unsize_box!(mem::pool_box(cb)?);
        let deferred_here = |c: &CbList<Evbuffer>| {
            c.deferred
                .as_ref()
                .is_some_and(|d| d.as_any().is::<Sink<X>>())
        };
        if !self.cbs.as_deref().is_some_and(deferred_here) {
            self.defer_callbacks(base)?;
        }
        fn sink<X: BaseExt>(b: &Evbuffer) -> &Sink<X> {
            b.cbs
                .as_ref()
                .and_then(|c| c.deferred.as_ref())
                .and_then(|d| d.as_any().downcast_ref::<Sink<X>>())
                .expect("set above")
        }
        mem::reserve(&mut sink::<X>(self).cbs().entries.borrow_mut(), 1)?;
        let entry = self.next_cb_id();
        sink::<X>(self).cbs().entries.borrow_mut().push(Entry {
            id: entry.id,
            enabled: true,
            f: Some(f),
        });
        self.hooks |= HAS_CBS;
        Ok(entry)
    }

    /// Freezes the front (`at_front`) or the end of the buffer (libevent's
    /// `evbuffer_freeze`): operations on that side fail with
    /// [`Error::BadState`] until [`unfreeze`](Self::unfreeze). See the
    /// module docs for the list.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"abc")?;
    /// buf.freeze(true);
    /// assert!(buf.drain(1).is_err());
    /// buf.add(b"d")?; // the end is not frozen
    /// buf.unfreeze(true);
    /// buf.drain(1)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_freeze")]
    pub fn freeze(&mut self, at_front: bool) {
        self.hooks |= if at_front { FROZEN_FRONT } else { FROZEN_END };
    }

    /// Undoes [`freeze`](Self::freeze) of that side (libevent's
    /// `evbuffer_unfreeze`).
    ///
    /// # Examples
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.freeze(false);
    /// assert!(buf.add(b"x").is_err()); // the end is frozen
    /// buf.unfreeze(false);
    /// buf.add(b"x")?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_unfreeze")]
    pub fn unfreeze(&mut self, at_front: bool) {
        self.hooks &= !if at_front { FROZEN_FRONT } else { FROZEN_END };
    }

    /// Whether that side is frozen.
    ///
    /// # Examples
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.freeze(true);
    /// assert!(buf.is_frozen(true));
    /// assert!(!buf.is_frozen(false));
    /// ```
    pub fn is_frozen(&self, at_front: bool) -> bool {
        self.hooks & if at_front { FROZEN_FRONT } else { FROZEN_END } != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    /// Entries are unique in the process: one buffer's entry is no other
    /// buffer's, even where both registered the same number of callbacks.
    #[test]
    fn an_entry_of_another_buffer_is_refused() {
        let (mut a, mut b) = (Evbuffer::new(), Evbuffer::new());
        let ea = a.add_cb(|_, _| {}).unwrap();
        let eb = b.add_cb(|_, _| {}).unwrap();
        assert_ne!(ea, eb);
        assert!(b.remove_cb(ea).is_err());
        assert!(b.cb_set_enabled(ea, false).is_err());
        assert!(a.remove_cb(eb).is_err());
        a.remove_cb(ea).unwrap();
        b.remove_cb(eb).unwrap();
        assert!(a.remove_cb(ea).is_err());
    }

    #[test]
    fn a_callback_removing_itself_and_changing_the_buffer() {
        let mut b = Evbuffer::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let me = Rc::new(Cell::new(None::<CbEntry>));
        let m = me.clone();
        let e = b
            .add_cb(move |buf, info| {
                s.borrow_mut().push(*info);
                if info.n_added > 0 {
                    buf.drain(1).unwrap();
                } else {
                    buf.remove_cb(m.get().unwrap()).unwrap();
                }
            })
            .unwrap();
        me.set(Some(e));
        b.add(b"ab").unwrap();
        assert_eq!(b.len(), 1);
        let s = seen.borrow();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((s[1].orig_size, s[1].n_deleted), (2, 1));
        assert!(b.hooks & HAS_CBS == 0, "removed itself");
        drop(s);
        b.add(b"c").unwrap();
        assert_eq!(seen.borrow().len(), 2);
    }
}
