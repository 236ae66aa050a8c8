//! What callbacks did, seen from the test: a shared [`Counter`], an
//! append-only [`Log`], a [`DropProbe`] that tells whether a callback's
//! captures were released, and [`nop`] for callbacks that must do nothing.
//! Callbacks run on the test's thread, so `Rc` sharing is enough.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use rvent::{Ev, Event, EventBase};

/// An event callback that does nothing.
pub fn nop(_: &mut EventBase, _: Event, _: i32, _: Ev) {}

/// A shared counter a callback can bump.
#[derive(Clone, Default)]
pub struct Counter(Rc<Cell<usize>>);

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }
    pub fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
    pub fn get(&self) -> usize {
        self.0.get()
    }
    pub fn set(&self, n: usize) {
        self.0.set(n);
    }
}

/// A shared, append-only record of what callbacks saw.
#[derive(Debug)]
pub struct Log<T>(Rc<RefCell<Vec<T>>>);

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(self.0.clone())
    }
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Rc::new(RefCell::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    pub fn new() -> Log<T> {
        Log::default()
    }
    pub fn push(&self, v: T) {
        self.0.borrow_mut().push(v);
    }
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
    pub fn get(&self) -> Vec<T> {
        self.0.borrow().clone()
    }
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// A token whose strong count tells whether a callback that captured a
/// clone was dropped.
#[derive(Clone, Default)]
pub struct DropProbe(Rc<()>);

impl DropProbe {
    /// A probe the test keeps; [`held`](Self::held) counts the clones
    /// given away.
    pub fn new() -> DropProbe {
        DropProbe::default()
    }
    /// A probe to give away whole (the test keeps none of it) and the
    /// [`Dropped`] flag that turns true once it and all its clones are gone.
    pub fn watched() -> (DropProbe, Dropped) {
        let probe = DropProbe::new();
        let dropped = Dropped(Rc::downgrade(&probe.0));
        (probe, dropped)
    }
    /// Clones held elsewhere (callbacks not yet dropped).
    pub fn held(&self) -> usize {
        Rc::strong_count(&self.0) - 1
    }
}

/// Whether a [`DropProbe::watched`] probe and all its clones were dropped.
#[derive(Clone)]
pub struct Dropped(Weak<()>);

impl Dropped {
    pub fn get(&self) -> bool {
        self.0.strong_count() == 0
    }
}
