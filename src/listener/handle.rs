//! The listener handle users hold: an index into its base's listener table
//! with a generation and the base's id — plain `Copy` data, as an
//! [`Event`](crate::handle::Event) is. Its operations live beside it:
//! creation in `create.rs`, the rest of the API in `control.rs`, the
//! accept path in `accept.rs`.

use std::fmt;

/// A listening socket that accepts connections from its base's loop
/// (libevent's `struct evconnlistener *`).
///
/// # Ownership
/// The handle is a `Copy` index into its base's listener table, checked by
/// generation, as events and bufferevents are: copying it does not copy
/// the listener, and once the listener is freed every copy is stale —
/// each call returns [`Error::StaleListener`](crate::Error::StaleListener),
/// as it does with another base. Dropping handles does not stop the
/// listener; [`ConnListener::free`] does, as `evconnlistener_free`.
///
/// The listener owns its socket: `free` closes it with
/// [`ListenerOptions::CLOSE_ON_FREE`](super::ListenerOptions::CLOSE_ON_FREE)
/// and otherwise hands it back to you, so libevent's "without
/// `LEV_OPT_CLOSE_ON_FREE` the fd stays open" becomes a returned
/// [`OwnedFd`](std::os::fd::OwnedFd). A listener never freed lives as long
/// as its base: dropping the base closes its socket and drops its
/// callbacks. A callback may capture its own listener's handle: it is an
/// index, so no reference cycle keeps anything alive.
///
/// # Callbacks may do anything
/// The accept callback gets `&mut EventBase` and the listener, so it may
/// disable, re-enable, replace its callback or free the listener (or any
/// other). The running callback is out of the listener's record while it
/// runs and goes back afterwards unless it was replaced; the accept loop
/// notices any change made through a listener handle during the callback,
/// and stops once its listener is disabled or freed (libevent needs a
/// reference count for this).
///
/// A callback that panics unwinds out of
/// [`EventBase::run`](crate::base::EventBase::run) like any event's; the
/// listener is left disabled with its callbacks intact, and
/// [`enable`](Self::enable) resumes it.
///
/// # Accept errors
/// `EAGAIN` ends a wakeup. `EINTR`, `ECONNABORTED` and the network errors
/// Linux's `accept(2)` says to treat like `EAGAIN` (`EPROTO`, `ENETDOWN`…)
/// are retried. Anything else — typically `EMFILE`, `ENFILE`, `ENOBUFS`,
/// `ENOMEM` — goes to the error callback
/// ([`ConnListener::set_error_callback`]); without one it is logged once
/// per failure episode (the next successful accept ends the episode).
///
/// Then, if the listener is still enabled, it **pauses**: its read event is
/// deleted and a timer re-adds it after [`ConnListener::RETRY_DELAY`].
/// libevent only logs, and since the listening socket stays readable while
/// the pending connection cannot be accepted, its level-triggered event
/// fires again at once and the loop spins at 100 % CPU until a descriptor
/// frees up. The pause keeps the listener enabled and recovering on its
/// own — as soon as a descriptor is free the next retry accepts the waiting
/// connections — while the rest of the loop (the connections already
/// accepted) keeps running. An error callback that disables or frees the
/// listener is obeyed: nothing is retried.
///
/// # Examples
/// A listener on a kernel-chosen port, one connection, then the listener
/// frees itself from its own callback:
/// ```
/// use rvent::{ConnListener, EventBase, ListenerOptions};
/// use std::net::TcpStream;
/// use rvent::PeerAddr;
///
/// let mut base = EventBase::new()?;
/// let lev = ConnListener::bind(
///     &mut base,
///     "127.0.0.1:0".parse().unwrap(),
///     ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
///     None,
///     |base, lev, conn, peer| {
///         let conn = TcpStream::from(conn); // an OwnedFd: any stream socket
///         assert_eq!(PeerAddr::Inet(conn.peer_addr().unwrap()), peer);
///         lev.free(base).unwrap(); // one connection is enough
///     },
/// )?;
/// let _client = TcpStream::connect(lev.local_addr(&base)?)?;
/// base.dispatch()?; // returns once the listener is gone
/// assert!(!lev.is_live(&base));
/// # Ok::<(), rvent::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[doc(alias = "evconnlistener")]
pub struct ConnListener {
    pub(super) idx: u32,
    pub(super) generation: u32,
    pub(super) base: u32,
}

impl fmt::Debug for ConnListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnListener({}v{})", self.idx, self.generation)
    }
}
