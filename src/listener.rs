//! Connection listeners (libevent's `evconnlistener`, `listener.c`): a
//! listening TCP socket whose callback gets each accepted connection.
//!
//! [`ConnListener::bind`] (`evconnlistener_new_bind`) creates, configures,
//! binds and listens; [`ConnListener::from_fd`] / [`ConnListener::from_listener`]
//! (`evconnlistener_new`) take a socket you bound yourself. Either way the
//! listener is one persistent read event on its base; when the socket is
//! readable the listener accepts until `accept` would block, at most
//! [`ConnListener::ACCEPTS_PER_WAKEUP`] connections per wakeup so that one
//! busy listener cannot starve the loop's other events, and hands each
//! connection to your callback as a [`TcpStream`] — nonblocking and
//! close-on-exec, ready to become a bufferevent — with the peer's address.
//!
//! [`ConnListener`]'s docs cover ownership, re-entrancy and accept errors.

// Maintainer notes: the state shared between the handles and the two
// closures the listener puts on the base (the read event, and the retry
// timer created on the first pause) is one `Inner` behind an `Rc`: the base
// is single-threaded, nothing is borrowed across a user callback (every
// field is a `Cell`), and callbacks are taken out of their `CbSlot` while
// they run. A `CbSlot`'s version counter tells the accept loop whether the
// callback it holds was replaced (or cleared by `free`) while it ran, in
// which case it drops its copy instead of putting it back. The read
// event's closure owns an `Owner` guard whose drop says the event went
// without `free`: with the base (free the listener) or by a panic (the
// loop drops a panicking closure; `enable` re-assigns the event).

use std::cell::Cell;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::flags::flag_set;
use crate::handle::Event;
use crate::mem::Pool;
use crate::sys::socket;

flag_set! {
    /// Listener options (`LEV_OPT_*`), with libevent's values.
    ///
    /// `REUSEABLE`, `REUSEABLE_PORT` and `BIND_IPV6ONLY` must be set before
    /// `bind`, so only [`ConnListener::bind`] applies them; the others apply
    /// to every listener. libevent's `LEV_OPT_THREADSAFE` has no
    /// counterpart: a base and its listeners never leave their thread.
    ///
    /// # Examples
    /// ```
    /// use rvent::ListenerOptions;
    /// let opts = ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE;
    /// assert!(opts.contains(ListenerOptions::REUSEABLE));
    /// assert_eq!(format!("{opts:?}"), "CLOSE_ON_FREE | REUSEABLE");
    /// ```
    #[doc(alias = "LEV_OPT_CLOSE_ON_FREE")]
    pub struct ListenerOptions: u32 {
        /// Hand accepted sockets over in blocking mode
        /// (`LEV_OPT_LEAVE_SOCKETS_BLOCKING`); by default they are
        /// nonblocking, as the event loop needs.
        const LEAVE_SOCKETS_BLOCKING = 1 << 0;
        /// [`ConnListener::free`] closes the listening socket
        /// (`LEV_OPT_CLOSE_ON_FREE`); without it `free` returns it.
        const CLOSE_ON_FREE = 1 << 1;
        /// Set close-on-exec on the listening socket
        /// (`LEV_OPT_CLOSE_ON_EXEC`). Sockets rvent creates — the one
        /// `bind` makes and every accepted one — are always close-on-exec,
        /// as std's are; this flag matters for a socket given to
        /// [`ConnListener::from_fd`].
        const CLOSE_ON_EXEC = 1 << 2;
        /// `SO_REUSEADDR`: rebind a port whose old connections linger in
        /// `TIME_WAIT` (`LEV_OPT_REUSEABLE`; `bind` only).
        const REUSEABLE = 1 << 3;
        /// Start disabled; call [`ConnListener::enable`] to start accepting
        /// (`LEV_OPT_DISABLED`).
        const DISABLED = 1 << 5;
        /// `TCP_DEFER_ACCEPT`: wake the listener only once a connection has
        /// data to read, for protocols where the client speaks first
        /// (`LEV_OPT_DEFERRED_ACCEPT`).
        const DEFERRED_ACCEPT = 1 << 6;
        /// `SO_REUSEPORT`: several sockets (in this process or others) may
        /// bind the same address and share its connections
        /// (`LEV_OPT_REUSEABLE_PORT`; `bind` only).
        const REUSEABLE_PORT = 1 << 7;
        /// `IPV6_V6ONLY`: an IPv6 listener does not accept IPv4-mapped
        /// connections (`LEV_OPT_BIND_IPV6ONLY`; `bind` only).
        const BIND_IPV6ONLY = 1 << 8;
    }
}

/// The accept callback: the base, the listener, the new connection and its
/// peer's address.
type AcceptFn<X> = allocator_api2::boxed::Box<
    dyn FnMut(&mut EventBase<X>, &ConnListener<X>, TcpStream, SocketAddr),
    Pool,
>;
/// The error callback: the base, the listener and the accept error.
type ErrorFn<X> =
    allocator_api2::boxed::Box<dyn FnMut(&mut EventBase<X>, &ConnListener<X>, io::Error), Pool>;

/// Boxes an accept callback in the pool, as `mem::event_fn` does for event
/// closures (allocator_api2's documented unsizing on stable).
fn accept_fn<X: BaseExt, F>(f: F) -> Result<AcceptFn<X>>
where
    F: FnMut(&mut EventBase<X>, &ConnListener<X>, TcpStream, SocketAddr) + 'static,
{
    Ok(allocator_api2::unsize_box!(crate::mem::pool_box(f)?))
}

/// Boxes an error callback in the pool, as [`accept_fn`].
fn error_fn<X: BaseExt, F>(f: F) -> Result<ErrorFn<X>>
where
    F: FnMut(&mut EventBase<X>, &ConnListener<X>, io::Error) + 'static,
{
    Ok(allocator_api2::unsize_box!(crate::mem::pool_box(f)?))
}

/// A callback that is taken out while it runs and may be replaced
/// meanwhile.
struct CbSlot<F> {
    f: Cell<Option<F>>,
    version: Cell<u32>,
}

impl<F> CbSlot<F> {
    fn new(f: Option<F>) -> Self {
        CbSlot {
            f: Cell::new(f),
            version: Cell::new(0),
        }
    }

    fn set(&self, f: Option<F>) {
        self.version.set(self.version.get().wrapping_add(1));
        drop(self.f.replace(f));
    }

    /// Takes the callback out to run it; the guard puts it back when
    /// dropped (even by a panic) unless it was replaced meanwhile.
    fn take(&self) -> Option<Taken<'_, F>> {
        self.f.take().map(|f| Taken {
            slot: self,
            f: Some(f),
            version: self.version.get(),
        })
    }
}

/// A callback out of its [`CbSlot`] while it runs.
struct Taken<'a, F> {
    slot: &'a CbSlot<F>,
    f: Option<F>,
    version: u32,
}

impl<F> Taken<'_, F> {
    fn get(&mut self) -> &mut F {
        self.f.as_mut().expect("present until drop")
    }
}

impl<F> Drop for Taken<'_, F> {
    fn drop(&mut self) {
        // Replaced (or cleared by `free`) while it ran: this copy drops.
        if self.slot.version.get() == self.version {
            self.slot.f.set(self.f.take());
        }
    }
}

/// `Inner::state` bits.
mod st {
    /// The user wants the listener accepting (`enable` / not `DISABLED`).
    pub(super) const ENABLED: u8 = 1 << 0;
    /// Paused after an accept error; the retry timer re-adds the event.
    pub(super) const PAUSED: u8 = 1 << 1;
    /// `free` ran: every call fails, the accept loop stops.
    pub(super) const FREED: u8 = 1 << 2;
    /// An accept error was logged; cleared by the next successful accept.
    pub(super) const WARNED: u8 = 1 << 3;
    /// A callback panicked and the loop dropped the read event's closure;
    /// `enable` installs a new one.
    pub(super) const POISONED: u8 = 1 << 4;
}

struct Inner<X: BaseExt> {
    fd: RawFd,
    /// The listening socket until `free` takes it.
    sock: Cell<Option<OwnedFd>>,
    opts: ListenerOptions,
    state: Cell<u8>,
    /// The retry timer, created on the first pause.
    retry: Cell<Option<Event>>,
    cb: CbSlot<AcceptFn<X>>,
    errcb: CbSlot<ErrorFn<X>>,
}

impl<X: BaseExt> Inner<X> {
    fn is(&self, bit: u8) -> bool {
        self.state.get() & bit != 0
    }

    fn set(&self, bit: u8) {
        self.state.set(self.state.get() | bit);
    }

    fn clear(&self, bit: u8) {
        self.state.set(self.state.get() & !bit);
    }
}

/// Captured by the read event's closure; its drop tells why the closure
/// went. Dropped while unwinding: the loop discards the closure of a
/// panicking callback and deletes its event, so the listener is disabled
/// until `enable` installs a new closure. Dropped otherwise: the event was
/// freed — by `free`, which already did the rest, or with the base, which
/// frees the listener: socket closed, callbacks dropped (breaking any
/// cycle through a handle they captured).
struct Owner<X: BaseExt>(Rc<Inner<X>>);

impl<X: BaseExt> Drop for Owner<X> {
    fn drop(&mut self) {
        let inner = &*self.0;
        if inner.is(st::FREED) {
            return;
        }
        inner.clear(st::ENABLED | st::PAUSED);
        if std::thread::panicking() {
            inner.set(st::POISONED);
        } else {
            inner.set(st::FREED);
            drop(inner.sock.take());
            inner.cb.set(None);
            inner.errcb.set(None);
        }
    }
}

/// The read event's callback.
fn read_fn<X: BaseExt>(
    inner: Rc<Inner<X>>,
) -> impl FnMut(&mut EventBase<X>, Event, RawFd, Ev) + 'static {
    let owner = Owner(inner);
    move |base, ev, _fd, _what| {
        let lev = ConnListener {
            ev,
            inner: Rc::clone(&owner.0),
        };
        lev.accept_ready(base);
    }
}

/// A listening socket that accepts connections from its base's loop
/// (libevent's `struct evconnlistener *`).
///
/// # Ownership
/// The handle is a cheap [`Clone`] (one `Rc`); dropping handles does not
/// stop the listener — [`ConnListener::free`] does, as `evconnlistener_free`.
/// The listener owns its socket: `free` closes it with
/// [`ListenerOptions::CLOSE_ON_FREE`] and otherwise hands it back to you, so
/// libevent's "without `LEV_OPT_CLOSE_ON_FREE` the fd stays open" becomes a
/// returned [`OwnedFd`]. A listener never freed lives as long as its base:
/// dropping the base frees it (socket closed, callbacks dropped) and its
/// handles go stale.
///
/// # Callbacks may do anything
/// The accept callback gets `&mut EventBase` and the listener, so it may
/// disable, re-enable, replace its callback or free the listener — the
/// accept loop checks the listener's state after every callback and stops
/// once it is disabled or freed (libevent needs a reference count for this;
/// here the running closure is simply taken out of its slot while it runs
/// and dropped afterwards if it was replaced).
///
/// A callback that panics unwinds out of [`EventBase::run`] like any
/// event's; the listener is left disabled with its callbacks intact, and
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
///
/// let mut base = EventBase::new()?;
/// let lev = ConnListener::bind(
///     &mut base,
///     "127.0.0.1:0".parse().unwrap(),
///     ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
///     None,
///     |base, lev, conn, peer| {
///         assert_eq!(conn.peer_addr().unwrap(), peer);
///         lev.free(base).unwrap(); // one connection is enough
///     },
/// )?;
/// let _client = TcpStream::connect(lev.local_addr()?)?;
/// base.dispatch()?; // returns once the listener is gone
/// # Ok::<(), rvent::Error>(())
/// ```
pub struct ConnListener<X: BaseExt> {
    ev: Event,
    inner: Rc<Inner<X>>,
}

impl<X: BaseExt> Clone for ConnListener<X> {
    fn clone(&self) -> Self {
        ConnListener {
            ev: self.ev,
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<X: BaseExt> fmt::Debug for ConnListener<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnListener")
            .field("fd", &self.fd())
            .field("event", &self.ev)
            .field("opts", &self.inner.opts)
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl<X: BaseExt> ConnListener<X> {
    /// Most connections one wakeup accepts before the loop runs other
    /// events; the rest are accepted on the next iteration (the socket is
    /// still readable).
    pub const ACCEPTS_PER_WAKEUP: usize = 64;

    /// How long a listener pauses after a non-retriable accept error
    /// (`EMFILE`…) before it tries again.
    pub const RETRY_DELAY: Duration = Duration::from_millis(100);

    /// The backlog [`ConnListener::bind`] uses for `None` (libevent's
    /// default for a negative backlog).
    pub const DEFAULT_BACKLOG: u32 = 128;

    /// Creates a TCP socket for `addr`, applies `opts`, binds, listens and
    /// starts accepting (`evconnlistener_new_bind`). Port 0 lets the kernel
    /// pick one: read it back with [`ConnListener::local_addr`]. `backlog`
    /// `None` means [`DEFAULT_BACKLOG`](Self::DEFAULT_BACKLOG).
    ///
    /// `cb` runs once per accepted connection; see [`ConnListener`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a backlog of 0; [`Error::Io`] if
    /// `socket`, a socket option, `bind` or `listen` fails (`AddrInUse`…);
    /// the errors of [`Event::add`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// let mut base = EventBase::new()?;
    /// let opts = ListenerOptions::CLOSE_ON_FREE | ListenerOptions::DISABLED;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(), opts, Some(16),
    ///     |_base, _lev, _conn, _peer| {})?;
    /// assert_ne!(lev.local_addr()?.port(), 0);
    /// assert!(!lev.is_enabled());
    /// assert!(lev.free(&mut base)?.is_none()); // closed: CLOSE_ON_FREE
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_new_bind")]
    pub fn bind<F>(
        base: &mut EventBase<X>,
        addr: SocketAddr,
        opts: ListenerOptions,
        backlog: Option<u32>,
        cb: F,
    ) -> Result<ConnListener<X>>
    where
        F: FnMut(&mut EventBase<X>, &ConnListener<X>, TcpStream, SocketAddr) + 'static,
    {
        let backlog = backlog.unwrap_or(Self::DEFAULT_BACKLOG);
        if backlog == 0 {
            return Err(Error::InvalidArgument(
                "a listener made by bind needs a backlog above 0",
            ));
        }
        let cb = accept_fn(cb)?;
        let sock = socket::bind_tcp(
            &addr,
            socket::BindOptions {
                reuse_addr: opts.contains(ListenerOptions::REUSEABLE),
                reuse_port: opts.contains(ListenerOptions::REUSEABLE_PORT),
                v6_only: opts.contains(ListenerOptions::BIND_IPV6ONLY),
            },
        )?;
        if opts.contains(ListenerOptions::DEFERRED_ACCEPT) {
            socket::defer_accept(sock.as_raw_fd(), 1)?;
        }
        socket::listen(sock.as_raw_fd(), backlog)?;
        Self::start(base, sock, opts, cb)
    }

    /// Makes a listener of a bound socket (`evconnlistener_new`). With
    /// `backlog` `Some(n)` it calls `listen(n)` first; with `None` the
    /// socket must already be listening. The socket is switched to
    /// nonblocking mode. `REUSEABLE`, `REUSEABLE_PORT` and `BIND_IPV6ONLY`
    /// are ignored (the socket is bound already).
    ///
    /// A socket that is not listening is accepted here: the kernel reports
    /// it as hung up, `accept` fails with `EINVAL` and the error callback
    /// runs, as in libevent.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a socket that is not IPv4 or IPv6
    /// (an `AF_UNIX` one: connections are handed over as [`TcpStream`]s);
    /// [`Error::Io`] if `sock` is not a socket or `fcntl`, `setsockopt` or
    /// `listen` fails; the errors of [`Event::add`]. On error the socket is
    /// closed.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// use std::os::fd::OwnedFd;
    /// let mut base = EventBase::new()?;
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = std_listener.local_addr()?;
    /// let lev = ConnListener::from_fd(&mut base, OwnedFd::from(std_listener),
    ///     ListenerOptions::empty(), None, |_base, _lev, _conn, _peer| {})?;
    /// assert_eq!(lev.local_addr()?, addr);
    /// let sock: Option<OwnedFd> = lev.free(&mut base)?; // no CLOSE_ON_FREE: yours again
    /// assert!(sock.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evconnlistener_new")]
    pub fn from_fd<S, F>(
        base: &mut EventBase<X>,
        sock: S,
        opts: ListenerOptions,
        backlog: Option<u32>,
        cb: F,
    ) -> Result<ConnListener<X>>
    where
        S: Into<OwnedFd>,
        F: FnMut(&mut EventBase<X>, &ConnListener<X>, TcpStream, SocketAddr) + 'static,
    {
        let sock = sock.into();
        let cb = accept_fn(cb)?;
        match socket::local_addr(sock.as_raw_fd()) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                return Err(Error::InvalidArgument(
                    "a listener needs an IPv4 or IPv6 socket",
                ));
            }
            Err(e) => return Err(Error::Io(e)),
        }
        socket::set_nonblocking(&sock)?;
        if opts.contains(ListenerOptions::CLOSE_ON_EXEC) {
            socket::set_cloexec(&sock)?;
        }
        if opts.contains(ListenerOptions::DEFERRED_ACCEPT) {
            socket::defer_accept(sock.as_raw_fd(), 1)?;
        }
        if let Some(n) = backlog {
            socket::listen(sock.as_raw_fd(), n)?;
        }
        Self::start(base, sock, opts, cb)
    }

    /// [`ConnListener::from_fd`] for a std listener (already listening).
    ///
    /// # Errors
    /// As [`ConnListener::from_fd`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// let mut base = EventBase::new()?;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let lev = ConnListener::from_listener(&mut base, l, ListenerOptions::CLOSE_ON_FREE,
    ///     |_base, _lev, _conn, _peer| {})?;
    /// lev.free(&mut base)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evconnlistener_new")]
    pub fn from_listener<F>(
        base: &mut EventBase<X>,
        listener: TcpListener,
        opts: ListenerOptions,
        cb: F,
    ) -> Result<ConnListener<X>>
    where
        F: FnMut(&mut EventBase<X>, &ConnListener<X>, TcpStream, SocketAddr) + 'static,
    {
        Self::from_fd(base, listener, opts, None, cb)
    }

    fn start(
        base: &mut EventBase<X>,
        sock: OwnedFd,
        opts: ListenerOptions,
        cb: AcceptFn<X>,
    ) -> Result<ConnListener<X>> {
        let enabled = !opts.contains(ListenerOptions::DISABLED);
        let inner = Rc::new(Inner {
            fd: sock.as_raw_fd(),
            sock: Cell::new(Some(sock)),
            opts,
            state: Cell::new(if enabled { st::ENABLED } else { 0 }),
            retry: Cell::new(None),
            cb: CbSlot::new(Some(cb)),
            errcb: CbSlot::new(None),
        });
        let ev = Event::new(
            base,
            inner.fd,
            Ev::READ | Ev::PERSIST,
            read_fn(Rc::clone(&inner)),
        )?;
        if enabled && let Err(e) = ev.add(base, None) {
            // Freeing the event frees the listener: the socket closes.
            let _ = ev.free(base);
            return Err(e);
        }
        Ok(ConnListener { ev, inner })
    }

    /// Starts (or resumes) accepting (`evconnlistener_enable`); also ends
    /// a pause after an accept error at once.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base; the errors of [`Event::add`].
    ///
    /// # Examples
    /// See [`ConnListener::disable`].
    #[doc(alias = "evconnlistener_enable")]
    pub fn enable(&self, base: &mut EventBase<X>) -> Result<()> {
        self.check(base)?;
        if self.inner.is(st::POISONED) {
            let prio = self.ev.priority(base)?;
            let what = Ev::READ | Ev::PERSIST;
            let cb = read_fn(Rc::clone(&self.inner));
            self.ev.assign(base, self.inner.fd, what, cb)?;
            self.ev.set_priority(base, prio)?;
            self.inner.clear(st::POISONED);
        }
        self.ev.add(base, None)?;
        self.stop_retry(base);
        self.inner.set(st::ENABLED);
        self.inner.clear(st::PAUSED);
        Ok(())
    }

    /// Stops accepting (`evconnlistener_disable`); new connections wait in
    /// the kernel's backlog until [`enable`](Self::enable).
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_base, _lev, _conn, _peer| {})?;
    /// assert!(lev.is_enabled());
    /// lev.disable(&mut base)?;
    /// assert!(!lev.is_enabled());
    /// base.dispatch()?; // nothing pending: returns at once
    /// lev.enable(&mut base)?;
    /// assert!(lev.is_enabled());
    /// lev.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_disable")]
    pub fn disable(&self, base: &mut EventBase<X>) -> Result<()> {
        self.check(base)?;
        self.ev.del(base)?;
        self.stop_retry(base);
        self.inner.clear(st::ENABLED | st::PAUSED);
        Ok(())
    }

    /// True while the listener is enabled — accepting, or pausing after an
    /// accept error; false once disabled, freed, or after one of its
    /// callbacks panicked.
    pub fn is_enabled(&self) -> bool {
        self.inner.is(st::ENABLED)
    }

    /// Replaces the accept callback (`evconnlistener_set_cb`); allowed from
    /// inside the callback itself (the new one serves the next
    /// connection).
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free); [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_base, _lev, _conn, _peer| {})?;
    /// lev.set_callback(|_base, _lev, conn, peer| println!("{peer} on fd {conn:?}"))?;
    /// lev.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_set_cb")]
    pub fn set_callback<F>(&self, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, &ConnListener<X>, TcpStream, SocketAddr) + 'static,
    {
        self.check_live()?;
        self.inner.cb.set(Some(accept_fn(cb)?));
        Ok(())
    }

    /// Removes the accept callback (`evconnlistener_set_cb(lev, NULL, …)`):
    /// while enabled, the listener keeps accepting and closes every new
    /// connection at once, as libevent does; clients see their connection
    /// closed instead of waiting in the backlog. Use
    /// [`disable`](Self::disable) to leave them waiting.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free).
    #[doc(alias = "evconnlistener_set_cb")]
    pub fn clear_callback(&self) -> Result<()> {
        self.check_live()?;
        self.inner.cb.set(None);
        Ok(())
    }

    /// Sets the callback for non-retriable accept errors
    /// (`evconnlistener_set_error_cb`), such as `EMFILE` when the process
    /// runs out of descriptors. After it returns, a listener it left
    /// enabled pauses for [`RETRY_DELAY`](Self::RETRY_DELAY) and tries
    /// again (the callback runs again if that fails too); it may disable
    /// or free the listener instead. Without an error callback the error is
    /// logged once per episode.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free); [`Error::Alloc`].
    ///
    /// # Examples
    /// A connected socket, not a listening one, fails every accept:
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// use std::net::{TcpListener, TcpStream};
    /// use std::{cell::Cell, os::fd::OwnedFd, rc::Rc};
    /// let mut base = EventBase::new()?;
    /// let server = TcpListener::bind("127.0.0.1:0")?;
    /// let client = TcpStream::connect(server.local_addr()?)?;
    /// drop(server.accept()?); // the peer hangs up: `client` turns readable
    /// let lev = ConnListener::from_fd(&mut base, OwnedFd::from(client),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_base, _lev, _conn, _peer| {})?;
    /// let failed = Rc::new(Cell::new(false));
    /// let f = failed.clone();
    /// lev.set_error_callback(move |base, lev, err| {
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput); // EINVAL
    ///     f.set(true);
    ///     lev.disable(base).unwrap();
    /// })?;
    /// base.dispatch()?;
    /// assert!(failed.get());
    /// lev.free(&mut base)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evconnlistener_set_error_cb")]
    pub fn set_error_callback<F>(&self, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, &ConnListener<X>, io::Error) + 'static,
    {
        self.check_live()?;
        self.inner.errcb.set(Some(error_fn(cb)?));
        Ok(())
    }

    /// Removes the error callback: errors are logged again.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free).
    #[doc(alias = "evconnlistener_set_error_cb")]
    pub fn clear_error_callback(&self) -> Result<()> {
        self.check_live()?;
        self.inner.errcb.set(None);
        Ok(())
    }

    /// The listening socket's descriptor (`evconnlistener_get_fd`); -1
    /// after [`free`](Self::free).
    #[doc(alias = "evconnlistener_get_fd")]
    pub fn fd(&self) -> RawFd {
        if self.inner.is(st::FREED) {
            -1
        } else {
            self.inner.fd
        }
    }

    /// The address the listener is bound to (`getsockname` on
    /// `evconnlistener_get_fd`): how to learn the port the kernel picked
    /// for port 0.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free); [`Error::Io`] if
    /// `getsockname` fails or the socket is not IPv4 / IPv6.
    #[doc(alias = "evconnlistener_get_fd")]
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.check_live()?;
        Ok(socket::local_addr(self.inner.fd)?)
    }

    /// The listener's read event (`evconnlistener_get_base` is
    /// [`Event::belongs_to`] on it). Use it to inspect the listener, for
    /// example its priority; changing it directly bypasses the listener's
    /// state.
    pub fn event(&self) -> Event {
        self.ev
    }

    /// Stops the listener and releases it (`evconnlistener_free`); every
    /// handle goes stale. Allowed from inside the listener's own callbacks:
    /// no further connection is accepted in that wakeup. Returns the
    /// listening socket unless the listener has
    /// [`CLOSE_ON_FREE`](ListenerOptions::CLOSE_ON_FREE), in which case it
    /// is closed. Both callbacks are dropped.
    ///
    /// # Errors
    /// [`Error::StaleListener`] if already freed or with another base.
    ///
    /// # Examples
    /// See [`ConnListener`].
    #[doc(alias = "evconnlistener_free")]
    pub fn free(&self, base: &mut EventBase<X>) -> Result<Option<OwnedFd>> {
        self.check(base)?;
        if !self.ev.is_live(base) {
            return Err(Error::StaleListener);
        }
        // FREED first: freeing the event drops its closure, whose `Owner`
        // would otherwise take this for the base's drop.
        self.inner.set(st::FREED);
        self.inner.clear(st::ENABLED | st::PAUSED);
        self.ev.free(base)?;
        if let Some(t) = self.inner.retry.take() {
            let _ = t.free(base);
        }
        self.inner.cb.set(None);
        self.inner.errcb.set(None);
        let sock = self.inner.sock.take();
        if self.inner.opts.contains(ListenerOptions::CLOSE_ON_FREE) {
            drop(sock);
            Ok(None)
        } else {
            Ok(sock)
        }
    }

    /// Live, and a listener of `base`.
    fn check(&self, base: &EventBase<X>) -> Result<()> {
        self.check_live()?;
        if self.ev.belongs_to(base) {
            Ok(())
        } else {
            Err(Error::StaleListener)
        }
    }

    fn check_live(&self) -> Result<()> {
        if self.inner.is(st::FREED) {
            Err(Error::StaleListener)
        } else {
            Ok(())
        }
    }

    /// The read event fired: accept until `EAGAIN`, the per-wakeup cap, or
    /// the listener is disabled or freed by a callback.
    fn accept_ready(&self, base: &mut EventBase<X>) {
        let inner = &*self.inner;
        let blocking = inner.opts.contains(ListenerOptions::LEAVE_SOCKETS_BLOCKING);
        for _ in 0..Self::ACCEPTS_PER_WAKEUP {
            if inner.state.get() & (st::ENABLED | st::PAUSED | st::FREED) != st::ENABLED {
                return;
            }
            match socket::accept(inner.fd, blocking) {
                Ok(Some((sock, peer))) => {
                    inner.clear(st::WARNED);
                    let conn = TcpStream::from(sock);
                    match inner.cb.take() {
                        Some(mut cb) => cb.get()(base, self, conn, peer),
                        // No callback: close it, as libevent.
                        None => drop(conn),
                    }
                }
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if retriable(&e) => {}
                Err(e) => {
                    self.accept_failed(base, e);
                    return;
                }
            }
        }
    }

    /// A non-retriable accept error: error callback or one log line, then
    /// a pause if the listener is still enabled.
    fn accept_failed(&self, base: &mut EventBase<X>, e: io::Error) {
        let inner = &*self.inner;
        match inner.errcb.take() {
            Some(mut cb) => cb.get()(base, self, e),
            None if !inner.is(st::WARNED) => {
                inner.set(st::WARNED);
                crate::log::warn(format_args!(
                    "listener on fd {}: accept failed: {e}; retrying every {} ms",
                    inner.fd,
                    Self::RETRY_DELAY.as_millis()
                ));
            }
            None => {}
        }
        if inner.state.get() & (st::ENABLED | st::FREED) == st::ENABLED {
            self.pause(base);
        }
    }

    /// Deletes the read event and arms the retry timer. If the timer cannot
    /// be made (allocation failure) the event stays added: retrying at
    /// every iteration beats never recovering.
    fn pause(&self, base: &mut EventBase<X>) {
        let timer = match self.inner.retry.get() {
            Some(t) => t,
            None => {
                let weak: Weak<Inner<X>> = Rc::downgrade(&self.inner);
                let ev = self.ev;
                let made = Event::timer(base, move |base, _timer, _fd, _what| {
                    let Some(inner) = weak.upgrade() else { return };
                    if inner.state.get() & (st::ENABLED | st::PAUSED | st::FREED)
                        != st::ENABLED | st::PAUSED
                    {
                        return;
                    }
                    inner.clear(st::PAUSED);
                    if let Err(e) = ev.add(base, None) {
                        crate::log::warn(format_args!(
                            "listener on fd {}: cannot resume accepting: {e}",
                            inner.fd
                        ));
                    }
                });
                match made {
                    Ok(t) => {
                        self.inner.retry.set(Some(t));
                        t
                    }
                    Err(_) => return,
                }
            }
        };
        if timer.add(base, Some(Self::RETRY_DELAY)).is_ok() && self.ev.del(base).is_ok() {
            self.inner.set(st::PAUSED);
        }
    }

    fn stop_retry(&self, base: &mut EventBase<X>) {
        if let Some(t) = self.inner.retry.get() {
            let _ = t.del(base);
        }
    }
}

/// Accept errors that say nothing about the listener: retry at once.
/// Besides `EINTR` and `ECONNABORTED`, Linux's `accept(2)` passes pending
/// network errors of the new connection through `accept`, to be treated
/// like `EAGAIN` (its list also has `EOPNOTSUPP`, left out here: it is
/// also what a socket that cannot accept at all returns, forever).
fn retriable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EINTR
                | libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_bits_are_libevents() {
        assert_eq!(ListenerOptions::LEAVE_SOCKETS_BLOCKING.bits(), 0x1);
        assert_eq!(ListenerOptions::CLOSE_ON_FREE.bits(), 0x2);
        assert_eq!(ListenerOptions::CLOSE_ON_EXEC.bits(), 0x4);
        assert_eq!(ListenerOptions::REUSEABLE.bits(), 0x8);
        assert_eq!(ListenerOptions::DISABLED.bits(), 0x20);
        assert_eq!(ListenerOptions::DEFERRED_ACCEPT.bits(), 0x40);
        assert_eq!(ListenerOptions::REUSEABLE_PORT.bits(), 0x80);
        assert_eq!(ListenerOptions::BIND_IPV6ONLY.bits(), 0x100);
    }

    #[test]
    fn cb_slot_drops_a_replaced_callback() {
        let slot = CbSlot::new(Some(1));
        drop(slot.take().unwrap());
        assert_eq!(*slot.take().unwrap().get(), 1);
        slot.set(Some(2));
        let mut running = slot.take().unwrap();
        assert_eq!(*running.get(), 2);
        slot.set(Some(3)); // replaced while "running"
        drop(running);
        assert_eq!(*slot.take().unwrap().get(), 3);
        slot.set(None);
        assert!(slot.take().is_none());
    }

    #[test]
    fn cb_slot_restores_a_callback_that_panicked() {
        let slot = CbSlot::new(Some(7));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _running = slot.take().unwrap();
            panic!("callback panics");
        }));
        assert!(r.is_err());
        assert_eq!(*slot.take().unwrap().get(), 7);
    }

    #[test]
    fn retriable_errors() {
        for e in [libc::EINTR, libc::ECONNABORTED, libc::EPROTO] {
            assert!(retriable(&io::Error::from_raw_os_error(e)));
        }
        for e in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOBUFS,
            libc::ENOMEM,
            libc::EINVAL,
        ] {
            assert!(!retriable(&io::Error::from_raw_os_error(e)));
        }
    }
}
