//! Making a listener: [`ConnListener::bind`] creates and configures the
//! socket, [`ConnListener::from_fd`] / [`ConnListener::from_listener`] take
//! one you bound; both put the listener's record in the base's table and
//! its read event on the base.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, OwnedFd};

use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::sys::socket;

use super::accept::read_fn;
use super::handle::ConnListener;
use super::options::ListenerOptions;
use super::peer::PeerAddr;
use super::table::{AcceptFn, ListenerHost, Rec, accept_fn, st};

impl ConnListener {
    /// The backlog [`ConnListener::bind`] uses for `None` (libevent's
    /// default for a negative backlog).
    pub const DEFAULT_BACKLOG: u32 = 128;

    /// Creates a TCP socket for `addr`, applies `opts`, binds, listens and
    /// starts accepting (`evconnlistener_new_bind`). Port 0 lets the kernel
    /// pick one: read it back with [`ConnListener::local_addr`]. `backlog`
    /// `None` means [`DEFAULT_BACKLOG`](Self::DEFAULT_BACKLOG).
    ///
    /// `cb` runs once per accepted connection, a nonblocking
    /// [`OwnedFd`] (`TcpStream::from` it) and its [`PeerAddr::Inet`]; see
    /// [`ConnListener`].
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
    /// assert_ne!(lev.local_addr(&base)?.port(), 0);
    /// assert!(!lev.is_enabled(&base));
    /// assert!(lev.free(&mut base)?.is_none()); // closed: CLOSE_ON_FREE
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_new_bind")]
    pub fn bind<X: ListenerHost, F>(
        base: &mut EventBase<X>,
        addr: SocketAddr,
        opts: ListenerOptions,
        backlog: Option<u32>,
        cb: F,
    ) -> Result<ConnListener>
    where
        F: FnMut(&mut EventBase<X>, ConnListener, OwnedFd, PeerAddr) + 'static,
    {
        let backlog = backlog.unwrap_or(Self::DEFAULT_BACKLOG);
        if backlog == 0 {
            return Err(Error::InvalidArgument(
                "a listener made by bind needs a backlog above 0",
            ));
        }
        let cb = accept_fn(&base.account, cb)?;
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

    /// Makes a listener of a bound stream socket (`evconnlistener_new`):
    /// TCP (IPv4 / IPv6) or Unix-domain, whose connections come with a
    /// [`PeerAddr::Inet`] or [`PeerAddr::Unix`]. With `backlog` `Some(n)`
    /// it calls `listen(n)` first; with `None` the socket must already be
    /// listening. The socket is switched to nonblocking mode.
    /// `REUSEABLE`, `REUSEABLE_PORT` and `BIND_IPV6ONLY` are ignored (the
    /// socket is bound already).
    ///
    /// A socket that is not listening is accepted here: the kernel reports
    /// it as hung up, `accept` fails with `EINVAL` and the error callback
    /// runs, as in libevent.
    ///
    /// # Errors
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
    /// assert_eq!(lev.local_addr(&base)?, addr);
    /// let sock: Option<OwnedFd> = lev.free(&mut base)?; // no CLOSE_ON_FREE: yours again
    /// assert!(sock.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A Unix-domain listener:
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions, PeerAddr};
    /// use std::os::unix::net::{UnixListener, UnixStream};
    /// let mut base = EventBase::new()?;
    /// let path = std::env::temp_dir().join(format!("rvent-doc-{}", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path)?;
    /// let lev = ConnListener::from_fd(&mut base, l, ListenerOptions::CLOSE_ON_FREE, None,
    ///     |base, lev, conn, peer| {
    ///         assert!(matches!(peer, PeerAddr::Unix(u) if u.is_unnamed()));
    ///         drop(UnixStream::from(conn));
    ///         lev.free(base).unwrap();
    ///     })?;
    /// let _client = UnixStream::connect(&path)?;
    /// base.dispatch()?; // until the listener frees itself
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evconnlistener_new")]
    pub fn from_fd<X: ListenerHost, S, F>(
        base: &mut EventBase<X>,
        sock: S,
        opts: ListenerOptions,
        backlog: Option<u32>,
        cb: F,
    ) -> Result<ConnListener>
    where
        S: Into<OwnedFd>,
        F: FnMut(&mut EventBase<X>, ConnListener, OwnedFd, PeerAddr) + 'static,
    {
        let sock = sock.into();
        let cb = accept_fn(&base.account, cb)?;
        socket::family(sock.as_raw_fd())?;
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
    pub fn from_listener<X: ListenerHost, F>(
        base: &mut EventBase<X>,
        listener: TcpListener,
        opts: ListenerOptions,
        cb: F,
    ) -> Result<ConnListener>
    where
        F: FnMut(&mut EventBase<X>, ConnListener, OwnedFd, PeerAddr) + 'static,
    {
        Self::from_fd(base, listener, opts, None, cb)
    }

    /// Puts the listener in the base's table and its read event on the
    /// base. On error the socket is closed.
    fn start<X: ListenerHost>(
        base: &mut EventBase<X>,
        sock: OwnedFd,
        opts: ListenerOptions,
        cb: AcceptFn<X>,
    ) -> Result<ConnListener> {
        let id = base.id;
        let lev = base.ext.listeners_mut().vacant(id, &base.account)?;
        let ev = Event::new(base, sock.as_raw_fd(), Ev::READ | Ev::PERSIST, read_fn(lev))?;
        let rec = Rec::new(sock, opts, ev, cb);
        let enabled = rec.is(st::ENABLED);
        base.ext.listeners_mut().insert(lev, rec);
        if enabled && let Err(e) = ev.add(base, None) {
            // Freeing drops the returned socket: it closes.
            let _ = lev.free(base);
            return Err(e);
        }
        Ok(lev)
    }
}
