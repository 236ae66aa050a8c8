//! A listener's life after creation: enable / disable, its callbacks, what
//! it can tell about itself, and `free`. Every call resolves the handle in
//! the base's table first (generation and base id), so a stale handle gets
//! [`Error::StaleListener`].

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::base::EventBase;
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::sys::socket;

use super::accept::{read_fn, stop_retry};
use super::handle::ConnListener;
use super::options::ListenerOptions;
use super::peer::PeerAddr;
use super::table::{ListenerHost, Rec, accept_fn, error_fn, st};

impl ConnListener {
    /// The record, if live and of `base`.
    #[inline]
    fn rec<X: ListenerHost>(self, base: &EventBase<X>) -> Result<&Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleListener);
        }
        base.ext.listeners().get(self).ok_or(Error::StaleListener)
    }

    /// The record for a change, which a running accept loop notices.
    #[inline]
    fn rec_mut<X: ListenerHost>(self, base: &mut EventBase<X>) -> Result<&mut Rec<X>> {
        if self.base != base.id {
            return Err(Error::StaleListener);
        }
        base.ext
            .listeners_mut()
            .touch(self)
            .ok_or(Error::StaleListener)
    }

    /// Starts (or resumes) accepting (`evconnlistener_enable`); also ends
    /// a pause after an accept error at once.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base; the errors of [`Event::add`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::DISABLED | ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// assert!(!lev.is_enabled(&base)); // created disabled
    /// lev.enable(&mut base)?;
    /// assert!(lev.is_enabled(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_enable")]
    pub fn enable<X: ListenerHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let r = self.rec_mut(base)?;
        let (ev, retry, fd) = (r.ev, r.retry, r.sock.as_raw_fd());
        if r.is(st::POISONED) {
            // A callback panicked: the loop dropped the event's closure.
            let prio = ev.priority(base)?;
            ev.assign(base, fd, Ev::READ | Ev::PERSIST, read_fn(self))?;
            ev.set_priority(base, prio)?;
            self.rec_mut(base)?.clear(st::POISONED);
        }
        ev.add(base, None)?;
        stop_retry(base, retry);
        let r = self.rec_mut(base)?;
        r.set(st::ENABLED);
        r.clear(st::PAUSED);
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
    /// assert!(lev.is_enabled(&base));
    /// lev.disable(&mut base)?;
    /// assert!(!lev.is_enabled(&base));
    /// base.dispatch()?; // nothing pending: returns at once
    /// lev.enable(&mut base)?;
    /// assert!(lev.is_enabled(&base));
    /// lev.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_disable")]
    pub fn disable<X: ListenerHost>(self, base: &mut EventBase<X>) -> Result<()> {
        let r = self.rec_mut(base)?;
        let (ev, retry) = (r.ev, r.retry);
        ev.del(base)?;
        stop_retry(base, retry);
        self.rec_mut(base)?.clear(st::ENABLED | st::PAUSED);
        Ok(())
    }

    /// True while the listener is enabled — accepting, or pausing after an
    /// accept error; false once disabled, freed, after one of its callbacks
    /// panicked, or with another base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// assert!(lev.is_enabled(&base));
    /// lev.free(&mut base)?;
    /// assert!(!lev.is_enabled(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_enabled<X: ListenerHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok_and(|r| r.is(st::ENABLED))
    }

    /// True until the listener is freed (with `base`; false with another
    /// base).
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// assert!(lev.is_live(&base));
    /// lev.free(&mut base)?;
    /// assert!(!lev.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn is_live<X: ListenerHost>(self, base: &EventBase<X>) -> bool {
        self.rec(base).is_ok()
    }

    /// The listener belongs to `base` (`evconnlistener_get_base`), freed or
    /// not.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let other = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// assert!(lev.belongs_to(&base));
    /// assert!(!lev.belongs_to(&other));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_get_base")]
    pub fn belongs_to<X: ListenerHost>(self, base: &EventBase<X>) -> bool {
        self.base == base.id
    }

    /// Replaces the accept callback (`evconnlistener_set_cb`); allowed from
    /// inside the callback itself (the new one serves the next
    /// connection).
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base; [`Error::Alloc`].
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_base, _lev, _conn, _peer| {})?;
    /// lev.set_callback(&mut base, |_base, _lev, conn, peer| println!("{peer} on fd {conn:?}"))?;
    /// lev.free(&mut base)?;
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_set_cb")]
    pub fn set_callback<X: ListenerHost, F>(self, base: &mut EventBase<X>, cb: F) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, ConnListener, OwnedFd, PeerAddr) + 'static,
    {
        self.rec(base)?;
        let cb = accept_fn(&base.account, cb)?;
        self.rec_mut(base)?.replace_cb(Some(cb));
        Ok(())
    }

    /// Removes the accept callback (`evconnlistener_set_cb(lev, NULL, …)`):
    /// while enabled, the listener keeps accepting and closes every new
    /// connection at once, as libevent does; clients see their connection
    /// closed instead of waiting in the backlog. Use
    /// [`disable`](Self::disable) to leave them waiting.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// use std::io::Read;
    /// use std::net::TcpStream;
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| unreachable!())?;
    /// lev.clear_callback(&mut base)?;
    /// let mut client = TcpStream::connect(lev.local_addr(&base)?).unwrap();
    /// base.run(rvent::LoopFlags::ONCE)?; // accepts and closes it at once
    /// assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0); // EOF
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_set_cb")]
    pub fn clear_callback<X: ListenerHost>(self, base: &mut EventBase<X>) -> Result<()> {
        self.rec_mut(base)?.replace_cb(None);
        Ok(())
    }

    /// Sets the callback for non-retriable accept errors
    /// (`evconnlistener_set_error_cb`), such as `EMFILE` when the process
    /// runs out of descriptors, or a retry that cannot watch the socket
    /// again (`ENOMEM` when that needs memory it cannot get). After it
    /// returns, a listener it left
    /// enabled pauses for [`RETRY_DELAY`](Self::RETRY_DELAY) and tries
    /// again (the callback runs again if that fails too); it may disable
    /// or free the listener instead. Without an error callback the error is
    /// logged once per episode.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base; [`Error::Alloc`].
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
    /// lev.set_error_callback(&mut base, move |base, lev, err| {
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
    pub fn set_error_callback<X: ListenerHost, F>(
        self,
        base: &mut EventBase<X>,
        cb: F,
    ) -> Result<()>
    where
        F: FnMut(&mut EventBase<X>, ConnListener, io::Error) + 'static,
    {
        self.rec(base)?;
        let cb = error_fn(&base.account, cb)?;
        self.rec_mut(base)?.replace_errcb(Some(cb));
        Ok(())
    }

    /// Removes the error callback: errors are logged again.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// lev.set_error_callback(&mut base, |_, _, e| eprintln!("accept: {e}"))?;
    /// lev.clear_error_callback(&mut base)?; // back to the log
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_set_error_cb")]
    pub fn clear_error_callback<X: ListenerHost>(self, base: &mut EventBase<X>) -> Result<()> {
        self.rec_mut(base)?.replace_errcb(None);
        Ok(())
    }

    /// The listening socket's descriptor (`evconnlistener_get_fd`).
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    /// use std::os::fd::AsRawFd;
    ///
    /// let mut base = EventBase::new()?;
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let raw = std_listener.as_raw_fd();
    /// let lev = ConnListener::from_listener(&mut base, std_listener, ListenerOptions::CLOSE_ON_FREE,
    ///     |_, _, _, _| {})?;
    /// assert_eq!(lev.fd(&base)?, raw);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_get_fd")]
    pub fn fd<X: ListenerHost>(self, base: &EventBase<X>) -> Result<RawFd> {
        Ok(self.rec(base)?.sock.as_raw_fd())
    }

    /// The address the listener is bound to (`getsockname` on
    /// `evconnlistener_get_fd`): how to learn the port the kernel picked
    /// for port 0.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base; [`Error::Io`] if `getsockname` fails or the socket is not
    /// IPv4 / IPv6 (a Unix-domain listener: use [`fd`](Self::fd)).
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// let addr = lev.local_addr(&base)?;
    /// assert!(addr.ip().is_loopback());
    /// assert_ne!(addr.port(), 0); // the port the kernel picked
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_get_fd")]
    pub fn local_addr<X: ListenerHost>(self, base: &EventBase<X>) -> Result<SocketAddr> {
        Ok(socket::local_addr(self.fd(base)?)?)
    }

    /// The listener's read event. Use it to inspect the listener, for
    /// example its priority; changing it directly bypasses the listener's
    /// state.
    ///
    /// # Errors
    /// [`Error::StaleListener`] after [`free`](Self::free) or with another
    /// base.
    ///
    /// # Examples
    /// ```
    /// use rvent::{ConnListener, Ev, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let lev = ConnListener::bind(&mut base, "127.0.0.1:0".parse().unwrap(),
    ///     ListenerOptions::CLOSE_ON_FREE, None, |_, _, _, _| {})?;
    /// let ev = lev.event(&base)?;
    /// assert_eq!(ev.fd(&base)?, Some(lev.fd(&base)?));
    /// assert!(ev.events(&base)?.contains(Ev::READ | Ev::PERSIST));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    pub fn event<X: ListenerHost>(self, base: &EventBase<X>) -> Result<Event> {
        Ok(self.rec(base)?.ev)
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
    /// ```
    /// use rvent::{ConnListener, EventBase, ListenerOptions};
    ///
    /// let mut base = EventBase::new()?;
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let lev = ConnListener::from_listener(&mut base, std_listener, ListenerOptions::empty(),
    ///     |_, _, _, _| {})?;
    /// let sock = lev.free(&mut base)?; // no CLOSE_ON_FREE: the socket comes back
    /// assert!(sock.is_some());
    /// assert!(!lev.is_live(&base));
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evconnlistener_free")]
    pub fn free<X: ListenerHost>(self, base: &mut EventBase<X>) -> Result<Option<OwnedFd>> {
        if self.base != base.id {
            return Err(Error::StaleListener);
        }
        let rec = base
            .ext
            .listeners_mut()
            .remove(self)
            .ok_or(Error::StaleListener)?;
        // The event goes before its socket closes. It is gone already if
        // the user freed it through `event()`.
        let _ = rec.ev.free(base);
        if let Some(t) = rec.retry {
            let _ = t.free(base);
        }
        let Rec {
            sock,
            opts,
            cb,
            errcb,
            ..
        } = rec;
        drop((cb, errcb));
        if opts.contains(ListenerOptions::CLOSE_ON_FREE) {
            drop(sock);
            Ok(None)
        } else {
            Ok(Some(sock))
        }
    }
}
