//! The facade: the full set of layers over the event core, and the names
//! users write.
//!
//! The core's [`base::EventBase`] is generic over what the layers above it
//! keep in each base ([`BaseExt`]), so the core names nothing above it.
//! This module is the one place that names the concrete set — the
//! bufferevent and listener tables — and gives the usual name to the base
//! built on it: [`EventBase`]. Everything is monomorphized for this one
//! set, so the loop's calls into the layers are direct and inlined.

use std::fmt;

use crate::base::{self, BaseExt};
use crate::bufferevent::{BevHost, BevTable};
use crate::handle::Event;
use crate::http::{HttpHost, HttpTable};
use crate::listener::{ListenerHost, ListenerTable};
use crate::mem::BaseMemStats;

/// What rvent's layers keep in every base: the bufferevents', the
/// listeners' and the HTTP servers' tables.
#[derive(Default)]
pub struct Layers {
    bevs: BevTable<Layers>,
    listeners: ListenerTable<Layers>,
    http: HttpTable<Layers>,
}

impl fmt::Debug for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layers")
            .field("bevs", &self.bevs)
            .field("listeners", &self.listeners)
            .field("http", &self.http)
            .finish()
    }
}

impl BaseExt for Layers {
    #[inline(always)]
    fn has_work(base: &base::EventBase<Self>) -> bool {
        base.ext.bevs.has_dirty()
    }

    #[inline(always)]
    fn run_work(base: &mut base::EventBase<Self>) -> usize {
        base.service_dirty_bevs()
    }

    #[inline(always)]
    fn after_panic(base: &mut base::EventBase<Self>, running: Option<Event>) {
        base.bevs_after_panic(running);
    }

    fn housekeeping(base: &mut base::EventBase<Self>) -> bool {
        base.trim_idle_bevs()
    }

    fn add_mem_stats(base: &base::EventBase<Self>, stats: &mut BaseMemStats) {
        let (bevs, lists) = base.ext.bevs.mem_bytes();
        stats.bufferevents += bevs;
        stats.buffer_lists += lists;
        stats.listeners += base.ext.listeners.mem_bytes();
    }

    fn uncharged_chain_bytes(base: &base::EventBase<Self>) -> usize {
        crate::bufferevent::uncharged_chain_bytes(base.ext.bevs.recs.iter())
    }
}

impl BevHost for Layers {
    #[inline(always)]
    fn bevs(&self) -> &BevTable<Self> {
        &self.bevs
    }

    #[inline(always)]
    fn bevs_mut(&mut self) -> &mut BevTable<Self> {
        &mut self.bevs
    }
}

impl ListenerHost for Layers {
    #[inline(always)]
    fn listeners(&self) -> &ListenerTable<Self> {
        &self.listeners
    }

    #[inline(always)]
    fn listeners_mut(&mut self) -> &mut ListenerTable<Self> {
        &mut self.listeners
    }
}

impl HttpHost for Layers {
    #[inline(always)]
    fn http(&self) -> &HttpTable<Self> {
        &self.http
    }

    #[inline(always)]
    fn http_mut(&mut self) -> &mut HttpTable<Self> {
        &mut self.http
    }
}

/// An event loop with its events, bufferevents and listeners (libevent's
/// `struct event_base`): the core's [`base::EventBase`] with rvent's
/// [`Layers`].
///
/// # Examples
/// ```
/// use rvent::EventBase;
/// let base = EventBase::new()?;
/// // "poll" when the environment has EVENT_NOEPOLL.
/// assert!(["epoll", "poll"].contains(&base.method()));
/// # Ok::<(), rvent::Error>(())
/// ```
pub type EventBase = base::EventBase<Layers>;
