//! A base's HTTP servers and their connections: two slabs with
//! generations in rvent's memory, kept in the base's layers and reached
//! through [`HttpHost`].
//!
//! A server record holds its settings, routes and callbacks; a
//! connection record holds its bufferevent, the request being read or
//! answered (head, body, reply headers and body) and the storage of all
//! of it, reused from request to request. The handles users hold —
//! [`Http`], [`Request`] — are indexes
//! checked by generation, so neither a callback holding its server nor a
//! request kept past its connection's end can keep anything alive.
//!
//! While a connection's bytes are parsed, or a reply written, its
//! request state is out of its record (the code needs the state and the
//! bufferevent's buffers at once, and both live in the base; moving the
//! one pointer is cheaper than moving the record); no user code runs
//! meanwhile. The client's records go out whole (`take` / `put_back`).

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::base::{BaseExt, EventBase};
use crate::buffer::Evbuffer;
use crate::bufferevent::{BevHost, Bufferevent};
use crate::error::{Error, Result};
use crate::handle::Event;
use crate::listener::{ConnListener, ListenerHost};
use crate::mem::{self, Account, MemVec, Pool};

use super::client_table::{ClientBox, ClientRec};
use super::date::DateCache;
use super::handle::{ConnId, Http, HttpConnection, Request};
use super::method::Methods;
use super::parse::Limits;
use super::state::{MAX_SPARE_STATES, RequestState, StateBox};

/// A request callback: the base and the request.
pub(super) type RequestFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, Request), Pool>;

/// Boxes a request callback in the pool.
pub(super) fn request_fn<X: BaseExt, F>(f: F) -> Result<RequestFn<X>>
where
    F: FnMut(&mut EventBase<X>, Request) + 'static,
{
    Ok(allocator_api2::unsize_box!(mem::pool_box(f)?))
}

/// A new-request callback (`evhttp_set_newreqcb`): `false` drops the
/// connection.
pub(super) type NewRequestFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, Request) -> bool, Pool>;

/// An error-page callback (`evhttp_set_errorcb`): fills the page of a
/// status and reason, `false` for the default page.
pub(super) type ErrorPageFn =
    allocator_api2::boxed::Box<dyn FnMut(u16, &str, &mut Evbuffer) -> bool, Pool>;

/// A per-connection bufferevent hook (`evhttp_set_bevcb`): the
/// bufferevent to serve an accepted socket through.
pub(super) type BevFn<X> = allocator_api2::boxed::Box<
    dyn FnMut(&mut EventBase<X>, TcpStream) -> Result<Bufferevent>,
    Pool,
>;

/// A virtual host of a server: its Host pattern and its server.
pub(super) struct VirtualHost {
    pub(super) pattern: MemVec<u8>,
    pub(super) http: Http,
}

/// A callback run once a reply, or a piece of one, is written.
pub(super) type WrittenFn<X> = allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>), Pool>;

/// Boxes a run-once callback in the pool.
pub(super) fn written_fn<X: BaseExt, F>(f: F) -> Result<WrittenFn<X>>
where
    F: FnOnce(&mut EventBase<X>) + 'static,
{
    let mut f = Some(f);
    let g = move |base: &mut EventBase<X>| {
        if let Some(f) = f.take() {
            f(base);
        }
    };
    Ok(allocator_api2::unsize_box!(mem::pool_box(g)?))
}

/// A callback waiting for a connection's output to be written: a chunk's
/// (`evhttp_send_reply_chunk_with_cb`) or a request's on-complete
/// (`evhttp_request_set_on_complete_cb`), armed once its reply is all in
/// the output.
pub(super) struct Pending<X: BaseExt> {
    pub(super) conn: ConnId,
    pub(super) armed: bool,
    pub(super) cb: WrittenFn<X>,
}

/// A base that carries HTTP servers: where its [`HttpTable`] lives. The
/// crate root's [`Layers`](crate::Layers) is one.
pub trait HttpHost: BevHost + ListenerHost {
    /// The base's HTTP servers and connections.
    fn http(&self) -> &HttpTable<Self>;
    /// The base's HTTP servers and connections, mutably.
    fn http_mut(&mut self) -> &mut HttpTable<Self>;
}

/// One exact-path route.
pub(super) struct Route<X: BaseExt> {
    pub(super) path: MemVec<u8>,
    /// Out while running.
    pub(super) cb: Option<RequestFn<X>>,
    /// Tells a re-added route from the one whose callback is out.
    pub(super) id: u32,
}

/// libevent's read and write timeouts for server connections.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(50);
/// How long a request head may take to arrive once its first byte has.
pub(super) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// One server's state.
pub(super) struct ServerRec<X: BaseExt> {
    pub(super) routes: MemVec<Route<X>>,
    pub(super) next_route: u32,
    pub(super) gencb: Option<RequestFn<X>>,
    /// The general callback is out running.
    pub(super) gencb_out: bool,
    pub(super) allowed: Methods,
    pub(super) limits: Limits,
    pub(super) read_timeout: Option<Duration>,
    pub(super) write_timeout: Option<Duration>,
    pub(super) header_timeout: Option<Duration>,
    /// `None`: no default Content-Type.
    pub(super) content_type: Option<MemVec<u8>>,
    pub(super) max_connections: usize,
    pub(super) connections: usize,
    pub(super) listeners: MemVec<ConnListener>,
    /// Out while running.
    pub(super) newreq: Option<NewRequestFn<X>>,
    /// Out while running.
    pub(super) error_page: Option<ErrorPageFn>,
    /// Out while running.
    pub(super) bevcb: Option<BevFn<X>>,
    /// Virtual hosts, tried in order (`evhttp_add_virtual_host`).
    pub(super) vhosts: MemVec<VirtualHost>,
    /// Other names of this server (`evhttp_add_server_alias`).
    pub(super) aliases: MemVec<MemVec<u8>>,
    /// The server this one is a virtual host of.
    pub(super) parent: Option<Http>,
}

/// Where a connection is in its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Reading a request head.
    Head,
    /// Reading its body.
    Body,
    /// The request is with a callback, awaiting its reply.
    Handler,
    /// The last reply is going out; the connection closes when it has.
    Closing,
    /// A refusal is going out: once it has, the connection closes
    /// lingering (the write side shut, input drained a while) so the
    /// client reads the answer.
    Refused,
}

/// One connection's state. An idle connection holds no request storage
/// (see `state`): this record, the bufferevent's and the socket's.
pub(super) struct ConnRec {
    pub(super) server: Http,
    pub(super) bev: Bufferevent,
    /// `None` for a Unix-domain connection.
    pub(super) peer: Option<SocketAddr>,
    pub(super) phase: Phase,
    /// Tells this connection's requests apart.
    pub(super) serial: u32,
    /// `process` is running for this connection (a reply sent from a
    /// callback it called must not start it again).
    pub(super) in_process: bool,
    /// Reading was disabled while a callback holds the request.
    pub(super) read_paused: bool,
    pub(super) deadline_armed: bool,
    /// The header-read deadline timer (also the lingering-close timer),
    /// made on first use.
    pub(super) deadline: Option<Event>,
    /// The request's storage while there is one (always in the
    /// `Handler` and `Body` phases).
    pub(super) state: Option<StateBox>,
}

impl ConnRec {
    pub(super) fn new(server: Http, bev: Bufferevent, peer: Option<SocketAddr>) -> ConnRec {
        ConnRec {
            server,
            bev,
            peer,
            phase: Phase::Head,
            serial: 0,
            in_process: false,
            read_paused: false,
            deadline_armed: false,
            deadline: None,
            state: None,
        }
    }
}

/// A slab slot: the record while live (`None` while it is out being
/// worked on), with the generation handles carry.
pub(super) struct Slot<T> {
    generation: u32,
    live: bool,
    rec: Option<T>,
}

/// A slab of records with generations and a free list (servers',
/// connections', client connections').
pub(super) struct Slab<T> {
    slots: MemVec<Slot<T>>,
    free: MemVec<u32>,
    live: usize,
}

impl<T> Slab<T> {
    pub(super) fn new() -> Slab<T> {
        Slab {
            slots: mem::vec(),
            free: mem::vec(),
            live: 0,
        }
    }

    /// Stores `rec`: its index and generation. The growth is charged to
    /// `account` (the base's budget, if it has one).
    pub(super) fn insert(&mut self, account: &Account, rec: T) -> Result<(u32, u32)> {
        // Room on the free list for every slot, so freeing never allocates.
        let more = self.slots.len() + 1 - self.free.len();
        mem::reserve_charged(account, &mut self.free, more)?;
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                mem::reserve_charged(account, &mut self.slots, 1)?;
                if self.slots.len() >= u32::MAX as usize {
                    return Err(Error::Alloc);
                }
                self.slots.push(Slot {
                    generation: 0,
                    live: false,
                    rec: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        s.generation = s.generation.wrapping_add(1);
        s.live = true;
        s.rec = Some(rec);
        self.live += 1;
        Ok((idx, s.generation))
    }

    fn slot(&self, idx: u32, generation: u32) -> Option<&Slot<T>> {
        self.slots
            .get(idx as usize)
            .filter(|s| s.live && s.generation == generation)
    }

    fn slot_mut(&mut self, idx: u32, generation: u32) -> Option<&mut Slot<T>> {
        self.slots
            .get_mut(idx as usize)
            .filter(|s| s.live && s.generation == generation)
    }

    pub(super) fn get(&self, idx: u32, generation: u32) -> Option<&T> {
        self.slot(idx, generation)?.rec.as_ref()
    }

    pub(super) fn get_mut(&mut self, idx: u32, generation: u32) -> Option<&mut T> {
        self.slot_mut(idx, generation)?.rec.as_mut()
    }

    /// Takes the record out to work on it; the slot stays live.
    pub(super) fn take(&mut self, idx: u32, generation: u32) -> Option<T> {
        self.slot_mut(idx, generation)?.rec.take()
    }

    /// Puts a taken record back; hands it back if the slot was freed
    /// meanwhile.
    pub(super) fn put_back(&mut self, idx: u32, generation: u32, rec: T) -> Option<T> {
        match self.slot_mut(idx, generation) {
            Some(s) if s.rec.is_none() => {
                s.rec = Some(rec);
                None
            }
            _ => Some(rec),
        }
    }

    /// Frees the slot; returns its record (if it was not out).
    pub(super) fn remove(&mut self, idx: u32, generation: u32) -> Option<T> {
        let s = self.slot_mut(idx, generation)?;
        s.live = false;
        let rec = s.rec.take();
        // Room was reserved in `insert`.
        self.free.push(idx);
        self.live -= 1;
        rec
    }
}

/// A base's HTTP servers and connections. Opaque: reached through
/// [`Http`]'s and [`Request`]'s methods.
/// Dropping it (with the base) drops every callback.
pub struct HttpTable<X: BaseExt> {
    servers: Slab<ServerRec<X>>,
    conns: Slab<ConnRec>,
    /// Client connections (`client_table`).
    pub(super) clients: Slab<ClientBox<X>>,
    /// Request storage no connection holds, kept for the next request.
    spare: MemVec<StateBox>,
    /// Callbacks waiting for output to be written, in order.
    pub(super) pending: MemVec<Pending<X>>,
    pub(super) date: DateCache,
}

impl<X: BaseExt> Default for HttpTable<X> {
    fn default() -> Self {
        HttpTable {
            servers: Slab::new(),
            conns: Slab::new(),
            clients: Slab::new(),
            spare: mem::vec(),
            pending: mem::vec(),
            date: DateCache::default(),
        }
    }
}

impl<X: BaseExt> fmt::Debug for HttpTable<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTable")
            .field("servers", &self.servers.live)
            .field("connections", &self.conns.live)
            .field("clients", &self.clients.live)
            .finish()
    }
}

impl<X: BaseExt> HttpTable<X> {
    pub(super) fn insert_server(
        &mut self,
        account: &Account,
        rec: ServerRec<X>,
    ) -> Result<(u32, u32)> {
        self.servers.insert(account, rec)
    }

    pub(super) fn server(&self, idx: u32, generation: u32) -> Option<&ServerRec<X>> {
        self.servers.get(idx, generation)
    }

    pub(super) fn server_mut(&mut self, idx: u32, generation: u32) -> Option<&mut ServerRec<X>> {
        self.servers.get_mut(idx, generation)
    }

    pub(super) fn remove_server(&mut self, idx: u32, generation: u32) -> Option<ServerRec<X>> {
        self.servers.remove(idx, generation)
    }

    pub(super) fn insert_conn(&mut self, account: &Account, rec: ConnRec) -> Result<ConnId> {
        let (idx, generation) = self.conns.insert(account, rec)?;
        Ok(ConnId { idx, generation })
    }

    pub(super) fn conn(&self, id: ConnId) -> Option<&ConnRec> {
        self.conns.get(id.idx, id.generation)
    }

    pub(super) fn conn_mut(&mut self, id: ConnId) -> Option<&mut ConnRec> {
        self.conns.get_mut(id.idx, id.generation)
    }

    pub(super) fn remove_conn(&mut self, id: ConnId) -> Option<ConnRec> {
        self.conns.remove(id.idx, id.generation)
    }

    /// Request storage for a connection: a spare one, else a new one.
    pub(super) fn take_state(&mut self) -> Result<StateBox> {
        match self.spare.pop() {
            Some(s) => Ok(s),
            None => RequestState::new_box(),
        }
    }

    /// Takes back request storage a connection is done with: kept while
    /// the spare list is short, else freed.
    pub(super) fn give_back_state(&mut self, mut s: StateBox) {
        if self.spare.len() < MAX_SPARE_STATES && mem::reserve(&mut self.spare, 1).is_ok() {
            s.reset();
            self.spare.push(s);
        }
    }

    /// Arms the pending callbacks of `id`: its reply is all in the output.
    pub(super) fn arm_pending(&mut self, id: ConnId) {
        for p in self.pending.iter_mut().filter(|p| p.conn == id) {
            p.armed = true;
        }
    }

    /// Whether `id` has armed callbacks.
    pub(super) fn has_armed(&self, id: ConnId) -> bool {
        self.pending.iter().any(|p| p.conn == id && p.armed)
    }

    /// Takes the first armed callback of `id`.
    pub(super) fn take_armed(&mut self, id: ConnId) -> Option<WrittenFn<X>> {
        let i = self.pending.iter().position(|p| p.conn == id && p.armed)?;
        Some(self.pending.remove(i).cb)
    }

    /// Takes every callback of `id` (it closed), to be dropped by the
    /// caller outside the table.
    pub(super) fn take_pending_of(&mut self, id: ConnId) -> Option<WrittenFn<X>> {
        let i = self.pending.iter().position(|p| p.conn == id)?;
        Some(self.pending.remove(i).cb)
    }

    /// Every live connection's id.
    pub(super) fn conn_ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.conns
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.live)
            .map(|(i, s)| ConnId {
                idx: i as u32,
                generation: s.generation,
            })
    }
}

/// The record of `server`, checked against `base`.
pub(super) fn server_rec<X: HttpHost>(base: &EventBase<X>, server: Http) -> Result<&ServerRec<X>> {
    if server.base != base.id {
        return Err(Error::StaleHttp);
    }
    base.ext
        .http()
        .server(server.idx, server.generation)
        .ok_or(Error::StaleHttp)
}

/// The record of `server`, checked against `base`, mutably.
pub(super) fn server_rec_mut<X: HttpHost>(
    base: &mut EventBase<X>,
    server: Http,
) -> Result<&mut ServerRec<X>> {
    if server.base != base.id {
        return Err(Error::StaleHttp);
    }
    base.ext
        .http_mut()
        .server_mut(server.idx, server.generation)
        .ok_or(Error::StaleHttp)
}

/// The record of `conn`, checked against `base`.
pub(super) fn client_rec<X: HttpHost>(
    base: &EventBase<X>,
    conn: HttpConnection,
) -> Result<&ClientRec<X>> {
    if conn.base != base.id {
        return Err(Error::StaleHttp);
    }
    base.ext
        .http()
        .clients
        .get(conn.idx, conn.generation)
        .map(|b| &**b)
        .ok_or(Error::StaleHttp)
}

/// The record of `conn`, checked against `base`, mutably.
pub(super) fn client_rec_mut<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
) -> Result<&mut ClientRec<X>> {
    if conn.base != base.id {
        return Err(Error::StaleHttp);
    }
    base.ext
        .http_mut()
        .clients
        .get_mut(conn.idx, conn.generation)
        .map(|b| &mut **b)
        .ok_or(Error::StaleHttp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_states_are_lent_and_kept_up_to_the_spare_limit() {
        let mut t = HttpTable::<()>::default();
        let mut out: Vec<StateBox> = (0..MAX_SPARE_STATES + 4)
            .map(|_| t.take_state().unwrap())
            .collect();
        out[0].out_headers.add("X", "y").unwrap();
        let first: *const RequestState = &*out[0];
        for s in out.drain(..) {
            t.give_back_state(s);
        }
        assert_eq!(t.spare.len(), MAX_SPARE_STATES);
        // Given back reset, storage kept; the last given back comes first.
        let s = t.spare.first().unwrap();
        assert!(std::ptr::eq(&**s, first));
        assert!(s.out_headers.is_empty());
        let again = t.take_state().unwrap();
        assert_eq!(t.spare.len(), MAX_SPARE_STATES - 1);
        t.give_back_state(again);
    }
}
