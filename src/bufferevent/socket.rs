//! The socket kind (`bufferevent_socket_*`): reads into the input when
//! the socket is readable, writes the output when a callback returns (and
//! from the write event only when the kernel's buffer was full).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use super::callback::{Fire, finish_data, fire_event, prepare_data};
use super::dns::{AddressFamily, DnsAnswer, DnsError, DnsSlot};
use super::flags::{BevEvent, BevOptions};
use super::handle::Bufferevent;
use super::rec::{Kind, NO_FD, Rec, Socket, SocketEvent};
use super::table::BevHost;
use super::{ratelimit, timeouts};
use crate::base::{BaseExt, EventBase};
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::mem::{self, Charge, MemArc};
use crate::sys::socket as syscall;
use crate::sys::{resolve, thread};

/// How long a host-name lookup may take before the connect fails.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);

fn sock<X: BaseExt>(r: &Rec<X>) -> &Socket {
    match &r.kind {
        Kind::Socket(s) => s,
        _ => unreachable!("socket operation on another kind"),
    }
}

fn sock_mut<X: BaseExt>(r: &mut Rec<X>) -> &mut Socket {
    match &mut r.kind {
        Kind::Socket(s) => s,
        _ => unreachable!("socket operation on another kind"),
    }
}

impl Bufferevent {
    /// A socket bufferevent (`bufferevent_socket_new`) on `fd`, a
    /// nonblocking stream socket, or on none (`None`: set one later with
    /// [`connect`](Self::connect) or [`set_fd`](Self::set_fd)). Writing
    /// starts enabled and reading disabled, as in libevent. The fd stays
    /// the caller's unless `options` has [`BevOptions::CLOSE_ON_FREE`];
    /// to hand over an owned socket, use [`from_stream`](Self::from_stream).
    ///
    /// # Errors
    /// [`Error::Alloc`]; [`Error::Io`] if the fd cannot be watched (the fd
    /// is then left open, whatever the options).
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, Ev, EventBase};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, mut b) = UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let bev = Bufferevent::socket(&mut base, Some(a.as_raw_fd()), BevOptions::empty())?;
    /// assert_eq!(bev.fd(&base)?, Some(a.as_raw_fd()));
    /// bev.write(&mut base, b"hi")?;
    /// base.run(rvent::LoopFlags::NONBLOCK)?;
    /// let mut got = [0u8; 2];
    /// std::io::Read::read_exact(&mut b, &mut got).unwrap();
    /// assert_eq!(&got, b"hi");
    /// bev.free(&mut base)?; // `a` stays open: it was not handed over
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_socket_new")]
    pub fn socket<X: BevHost>(
        base: &mut EventBase<X>,
        fd: Option<RawFd>,
        options: BevOptions,
    ) -> Result<Bufferevent> {
        let h = base.bev_insert(Kind::Socket(Socket::new(None)), options)?;
        let r = base.ext.bevs_mut().get_mut(h).expect("just inserted");
        r.enabled = Ev::WRITE;
        // As libevent: the socket appends to the input and drains the
        // output; users may not.
        r.input.freeze(false);
        r.output.freeze(true);
        if fd.is_some()
            && let Err(e) = h.set_fd(base, fd)
        {
            // Nothing of the caller's is kept: the fd stays theirs.
            h.disown_fd(base);
            let _ = h.free(base);
            return Err(e);
        }
        Ok(h)
    }

    /// A socket bufferevent that owns `stream` — a
    /// [`TcpStream`](std::net::TcpStream), a
    /// [`UnixStream`](std::os::unix::net::UnixStream) or any
    /// [`OwnedFd`] of a stream socket — and closes it on free
    /// ([`BevOptions::CLOSE_ON_FREE`] is implied: the type says who owns
    /// the socket). The socket is made nonblocking.
    ///
    /// # Errors
    /// As [`socket`](Self::socket) (the stream is closed then);
    /// [`Error::Io`] if it cannot be made nonblocking.
    ///
    /// # Examples
    /// ```
    /// use rvent::{BevOptions, Bufferevent, EventBase};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let mut base = EventBase::new()?;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let bev = Bufferevent::from_stream(&mut base, a, BevOptions::empty())?;
    /// assert!(bev.options(&base)?.contains(BevOptions::CLOSE_ON_FREE));
    /// bev.free(&mut base)?; // closes `a`
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "bufferevent_socket_new")]
    pub fn from_stream<X: BevHost>(
        base: &mut EventBase<X>,
        stream: impl Into<OwnedFd>,
        options: BevOptions,
    ) -> Result<Bufferevent> {
        let fd: OwnedFd = stream.into();
        syscall::set_nonblocking(&fd)?;
        let bev = Bufferevent::socket(
            base,
            Some(fd.as_raw_fd()),
            options | BevOptions::CLOSE_ON_FREE,
        )?;
        // The bufferevent owns it now.
        let _ = fd.into_raw_fd();
        Ok(bev)
    }

    fn disown_fd<X: BevHost>(self, base: &mut EventBase<X>) {
        if let Some(r) = base.ext.bevs_mut().get_mut(self)
            && let Kind::Socket(s) = &mut r.kind
        {
            s.fd = NO_FD;
        }
    }

    /// Replaces the socket (`bufferevent_setfd`); the old one is not
    /// closed. `None` leaves it without one. On a filter it replaces its
    /// underlying's (libevent forwards `BEV_CTRL_SET_FD`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] for a pair (or a
    /// filter over one); [`Error::Io`] if `fd` cannot be watched.
    #[doc(alias = "bufferevent_setfd")]
    pub fn set_fd<X: BevHost>(self, base: &mut EventBase<X>, fd: Option<RawFd>) -> Result<()> {
        let r = self.rec_mut(base)?;
        let Kind::Socket(s) = &mut r.kind else {
            if let Kind::Filter(f) = &r.kind {
                let u = f.underlying;
                if u.is_live(base) {
                    return u.set_fd(base, fd);
                }
            }
            return Err(Error::InvalidArgument("not a socket bufferevent"));
        };
        let (old_r, old_w) = (s.ev_read.take(self.base), s.ev_write.take(self.base));
        *s = Socket::new(fd);
        if let Some(c) = r.cold.as_deref_mut() {
            c.dns_error = None;
        }
        for ev in [old_r, old_w].into_iter().flatten() {
            let _ = ev.free(base);
        }
        // Without an fd the timeouts are timers (as libevent's events on
        // fd -1); with one, the events carry them.
        timeouts::set(base, self)?;
        let Some(fd) = fd else {
            return Ok(());
        };
        // Plain-function events with the record's index as payload: no
        // closure block per event (an idle connection's memory), and the
        // loop calls them directly.
        let ev_read = Event::plain(base, fd, Ev::READ | Ev::PERSIST, self.idx, read_fired::<X>)?;
        let ev_write = match Event::plain(
            base,
            fd,
            Ev::WRITE | Ev::PERSIST,
            self.idx,
            write_fired::<X>,
        ) {
            Ok(ev) => ev,
            Err(e) => {
                let _ = ev_read.free(base);
                return Err(e);
            }
        };
        let s = sock_mut(self.rec_mut(base)?);
        s.ev_read = SocketEvent::new(ev_read);
        s.ev_write = SocketEvent::new(ev_write);
        sync(base, self)
    }

    /// Connects to `addr` (`bufferevent_socket_connect`), creating a
    /// nonblocking socket if there is none. The event callback gets
    /// [`BevEvent::CONNECTED`] or [`BevEvent::ERROR`] from the loop — a
    /// refused connect too, even when the kernel refuses at once.
    /// Enable reading when you want it; output written meanwhile is sent
    /// once connected. A write timeout ([`set_timeouts`](Self::set_timeouts))
    /// bounds the connect: if it expires first the event callback gets
    /// `WRITING | TIMEOUT` (again each period while the connect is still
    /// pending, as in libevent; free the bufferevent to give up).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Io`] if the socket cannot be
    /// created or the connect fails at once for another reason than a
    /// refusal.
    #[doc(alias = "bufferevent_socket_connect")]
    pub fn connect<X: BevHost>(self, base: &mut EventBase<X>, addr: SocketAddr) -> Result<()> {
        let r = self.rec(base)?;
        let Kind::Socket(s) = &r.kind else {
            return Err(Error::InvalidArgument("not a socket bufferevent"));
        };
        if s.fd().is_none() {
            let fd = syscall::tcp_socket(&addr)?;
            if let Err(e) = self.set_fd(base, Some(fd)) {
                syscall::close(fd);
                return Err(e);
            }
            // Created here, so ours to close.
            self.rec_mut(base)?.options |= BevOptions::CLOSE_ON_FREE;
        }
        let fd = sock(self.rec(base)?).fd;
        let refused = match syscall::connect(fd, &addr) {
            Ok(_) => 0,
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => libc::ECONNREFUSED,
            Err(e) => return Err(e.into()),
        };
        let s = sock_mut(self.rec_mut(base)?);
        s.connecting = true;
        s.connect_error = refused;
        s.dead = false;
        let ev_write = s.ev_write.get(self.base);
        if refused != 0 {
            // Reported from the loop, as libevent does.
            if let Some(ev) = ev_write {
                ev.active(base, Ev::WRITE)?;
            }
            return Ok(());
        }
        sync(base, self)
    }

    /// Resolves `host` on a helper thread and connects to its first
    /// address (`bufferevent_socket_connect_hostname` without an
    /// evdns base). The loop is not blocked: the result is delivered to
    /// the loop through its [`Notifier`](crate::Notifier), which then
    /// connects as [`connect`](Self::connect). A failed lookup gives
    /// the event callback [`BevEvent::ERROR`], with the reason in
    /// [`dns_error`](Self::dns_error); lookups taking more than 30 s fail.
    /// A connect that fails after the lookup gives `ERROR` with the
    /// reason in [`socket_error`](Self::socket_error), as in libevent.
    ///
    /// What rvent keeps for the lookup — the host name's copy, the answer
    /// and the error text — is allocated here, from the memory functions,
    /// so that the answer arriving in the loop allocates nothing. The
    /// helper thread is started with `pthread_create`, its closure in a
    /// block from the memory functions: the lookup takes nothing from
    /// Rust's global allocator. `getaddrinfo` allocates its answer list
    /// with the C library's `malloc` on that thread — libc's memory, freed
    /// before the thread ends, never a block rvent holds.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::Alloc`]; [`Error::Io`] if the
    /// thread cannot be started. On error nothing was started.
    #[doc(alias = "bufferevent_socket_connect_hostname")]
    pub fn connect_hostname<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        host: &str,
        port: u16,
    ) -> Result<()> {
        self.connect_hostname_family(base, AddressFamily::Any, host, port)
    }

    /// [`connect_hostname`](Self::connect_hostname) taking only
    /// addresses of `family` (`bufferevent_socket_connect_hostname`'s
    /// `family`): a host with none fails the lookup.
    ///
    /// # Errors
    /// As [`connect_hostname`](Self::connect_hostname).
    #[doc(alias = "bufferevent_socket_connect_hostname")]
    pub fn connect_hostname_family<X: BevHost>(
        self,
        base: &mut EventBase<X>,
        family: AddressFamily,
        host: &str,
        port: u16,
    ) -> Result<()> {
        self.rec(base)?;
        let mut name = mem::vec();
        // NUL-terminated for getaddrinfo.
        mem::reserve(&mut name, host.len() + 1)?;
        // The answer block and the name's copy, charged while the loop
        // holds them (the lookup thread's handle outlives the loop's at
        // most until the thread ends).
        let bytes = MemArc::<DnsAnswer>::BLOCK_BYTES + mem::vec_bytes(&name);
        let mut charge = mem::charge_for(self.rec(base)?.account(), bytes)?;
        name.extend_from_slice(host.as_bytes());
        name.push(0);
        let answer = MemArc::try_new(DnsAnswer {
            host: name,
            port,
            family,
            slot: Mutex::new(DnsSlot::default()),
        })?;
        // Where a failed lookup's reason goes: made now, not in the loop.
        self.rec_mut(base)?.cold_mut()?.dns_error = None;
        let slot = answer.clone();
        let h = self;
        // The event keeps the loop alive while the lookup runs; its
        // timeout bounds the lookup.
        let ev = Event::timer(base, move |base, ev, _, what| {
            let _ = ev.free(base);
            resolved(base, h, &slot, charge.take(), what.contains(Ev::TIMEOUT));
        })?;
        if let Err(e) = ev.add(base, Some(RESOLVE_TIMEOUT)) {
            let _ = ev.free(base);
            return Err(e);
        }
        let notifier = base.notifier();
        let spawned = thread::spawn_detached(move || {
            let found = match answer.host_cstr() {
                Some(host) => resolve::lookup_host(host, answer.port, answer.family.af())
                    .map_err(|e| DnsError::from_display(&e)),
                None => Err(DnsError::from_display(&"host name contains a NUL byte")),
            };
            {
                let mut a = answer.lock();
                if !a.closed {
                    a.answered = true;
                    match found {
                        Ok(addr) => a.addr = addr,
                        Err(e) => a.error = Some(e),
                    }
                }
            }
            // The base may be gone: then nobody is waiting. If the
            // command cannot be queued, the timeout reports the lookup.
            let _ = notifier.activate(ev, Ev::READ);
        });
        if let Err(e) = spawned {
            let _ = ev.free(base);
            return Err(e);
        }
        Ok(())
    }

    /// Why the last [`connect_hostname`](Self::connect_hostname) lookup
    /// failed (`bufferevent_socket_get_dns_error`). Reading it allocates
    /// nothing: the text is in the returned value.
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`].
    #[doc(alias = "bufferevent_socket_get_dns_error")]
    pub fn dns_error<X: BevHost>(self, base: &EventBase<X>) -> Result<Option<DnsError>> {
        let r = self.rec(base)?;
        Ok(match (&r.kind, r.cold.as_ref()) {
            (Kind::Socket(_), Some(c)) => c.dns_error.as_ref().and_then(|(a, _)| a.lock().error),
            _ => None,
        })
    }

    /// Sets the priority of the socket's events
    /// (`bufferevent_priority_set`).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] for a pair or an
    /// out-of-range priority.
    #[doc(alias = "bufferevent_priority_set")]
    pub fn set_priority<X: BevHost>(self, base: &mut EventBase<X>, pri: usize) -> Result<()> {
        let Kind::Socket(s) = &self.rec(base)?.kind else {
            return Err(Error::InvalidArgument("not a socket bufferevent"));
        };
        let evs = [s.ev_read.get(self.base), s.ev_write.get(self.base)];
        for ev in evs.into_iter().flatten() {
            ev.set_priority(base, pri)?;
        }
        Ok(())
    }
}

/// A lookup of `connect_hostname` answered (or `timed_out`): connect to
/// its address, or report why not. Allocates nothing: the answer block
/// becomes the DNS error, and the cold block was made by the call.
fn resolved<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    answer: &MemArc<DnsAnswer>,
    charge: Option<Charge>,
    timed_out: bool,
) {
    let addr = {
        let mut a = answer.lock();
        a.closed = true;
        match (a.answered, a.addr) {
            (true, Some(addr)) => Some(addr),
            (true, None) => {
                if a.error.is_none() {
                    a.error = Some(DnsError::from_display(&"no address for the host"));
                }
                None
            }
            (false, _) => {
                a.error = Some(DnsError::from_display(if timed_out {
                    &"host-name lookup timed out"
                } else {
                    &"host-name lookup gave no answer"
                }));
                None
            }
        }
    };
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    if !matches!(r.kind, Kind::Socket(_)) {
        return;
    }
    if let Some(addr) = addr {
        match h.connect(base, addr) {
            Ok(()) => return,
            Err(e) => {
                if let Some(r) = base.ext.bevs_mut().get_mut(h) {
                    r.error = match &e {
                        Error::Io(e) => errno_of(e),
                        Error::Alloc => libc::ENOMEM,
                        _ => libc::EINVAL,
                    };
                }
            }
        }
    } else if let Some(c) = r.cold.as_deref_mut() {
        c.dns_error = Some((answer.clone(), charge));
    }
    fire_event(base, h, BevEvent::ERROR, false);
}

/// Frees the socket's events and closes it with `CLOSE_ON_FREE`.
pub(crate) fn release<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let close = r.options.contains(BevOptions::CLOSE_ON_FREE);
    let s = sock_mut(r);
    let (fd, evs) = (s.fd, [s.ev_read.take(h.base), s.ev_write.take(h.base)]);
    s.fd = NO_FD;
    for ev in evs.into_iter().flatten() {
        let _ = ev.free(base);
    }
    if close && fd != NO_FD {
        syscall::close(fd);
    }
}

/// Adds or deletes the read and write events to match the state: read
/// while enabled, not suspended and not connecting; write while
/// connecting, or while enabled output waits that a write could not take.
///
/// An event counts as added only once its `add` succeeded: on `Err` (the
/// timer heap or the fd table could not grow) the next `sync` tries
/// again, so a caller in the loop that cannot report the error (a
/// finished connect) leaves it to the [`service`] that follows, which
/// reports it as `ERROR` with `ENOMEM`.
pub(crate) fn sync<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return Ok(());
    };
    let reading = r.reading();
    let has_output = !r.output.is_empty() && r.enabled.contains(Ev::WRITE) && r.write_suspend == 0;
    let (tr, tw) = (r.timeout_read(), r.timeout_write());
    let s = sock_mut(r);
    if s.fd == NO_FD {
        return Ok(());
    }
    let want_read = reading && !s.connecting && !s.dead;
    let want_write = s.connecting || (has_output && !s.dead);
    let (ev_r, ev_w) = (s.ev_read, s.ev_write);
    let (change_r, change_w) = (want_read != s.read_added, want_write != s.write_added);
    if change_r {
        if let Some(ev) = ev_r.get(h.base) {
            if want_read {
                ev.add(base, tr)?;
            } else {
                ev.del(base)?;
            }
        }
        if let Some(r) = base.ext.bevs_mut().get_mut(h) {
            sock_mut(r).read_added = want_read;
        }
    }
    if change_w {
        if let Some(ev) = ev_w.get(h.base) {
            if want_write {
                ev.add(base, tw)?;
            } else {
                ev.del(base)?;
            }
        }
        if let Some(r) = base.ext.bevs_mut().get_mut(h) {
            sock_mut(r).write_added = want_write;
        }
    }
    Ok(())
}

/// Applies new timeouts to events already pending.
pub(crate) fn rearm_timeouts<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) -> Result<()> {
    let Some(r) = base.ext.bevs_mut().get(h) else {
        return Ok(());
    };
    let (tr, tw) = (r.timeout_read(), r.timeout_write());
    let s = sock(r);
    let evs = [
        (s.read_added, s.ev_read.get(h.base), tr),
        (s.write_added, s.ev_write.get(h.base), tw),
    ];
    for (added, ev, t) in evs {
        if let (true, Some(ev)) = (added, ev) {
            // `add(None)` would keep an old deadline.
            ev.del(base)?;
            ev.add(base, t)?;
        }
    }
    Ok(())
}

/// `enable`: read events start (their timeout restarts), pending output
/// goes out.
pub(crate) fn on_enable<X: BevHost>(
    base: &mut EventBase<X>,
    h: Bufferevent,
    what: Ev,
) -> Result<()> {
    if what.contains(Ev::READ)
        && let Some(r) = base.ext.bevs_mut().get(h)
        && r.timeout_read().is_some()
        && sock(r).read_added
        && let Some(ev) = sock(r).ev_read.get(h.base)
    {
        let t = r.timeout_read();
        ev.add(base, t)?;
    }
    if what.contains(Ev::WRITE) {
        base.ext.bevs_mut().mark_dirty(h);
    }
    sync(base, h)
}

/// The loop services a dirty bufferevent: resume reading below the high
/// watermark, write pending output, fix the events.
///
/// Also what the I/O paths do once the callbacks they ran have returned:
/// what the callbacks wrote goes out now, and a drained input resumes
/// reading.
pub(crate) fn service<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    r.io_path = false;
    r.check_high_watermark();
    try_write(base, h);
    if let Err(e) = sync(base, h) {
        io_failed(base, h, e);
    }
}

/// A direction ends (`dir` disabled, `None` for a failed connect) before
/// the event callback hears `what`, as libevent orders it.
fn stop<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, dir: Option<Ev>, what: BevEvent) {
    if let (Some(dir), Some(r)) = (dir, base.ext.bevs_mut().get_mut(h)) {
        r.enabled = r.enabled - dir;
    }
    // A direction stopped: this only deletes events, which cannot fail.
    let _ = sync(base, h);
    fire_event(base, h, what, false);
}

/// The errno a failed read or write leaves in
/// [`socket_error`](Bufferevent::socket_error): the system's, `ENOMEM`
/// for a chain the memory functions could not give (`OutOfMemory`, no
/// errno), else `EIO`.
fn errno_of(e: &io::Error) -> i32 {
    match e.raw_os_error() {
        Some(n) => n,
        None if e.kind() == io::ErrorKind::OutOfMemory => libc::ENOMEM,
        None => libc::EIO,
    }
}

/// Watching the fd failed (closed under us, say): an error event.
fn io_failed<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, e: Error) {
    if let Some(r) = base.ext.bevs_mut().get_mut(h) {
        r.error = match &e {
            Error::Io(e) => errno_of(e),
            Error::Alloc => libc::ENOMEM,
            _ => libc::EIO,
        };
        r.enabled = Ev::empty();
        sock_mut(r).dead = true;
    }
    stop(base, h, None, BevEvent::ERROR);
}

/// Writes what the output holds, if the socket may be written.
fn try_write<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    if r.output.is_empty() || !r.enabled.contains(Ev::WRITE) {
        return;
    }
    let mut max = r.max_write();
    let limited = r.limited();
    let r = if limited {
        max = ratelimit::budget(base, h, max, false);
        let Some(r) = base.ext.bevs_mut().get_mut(h) else {
            return;
        };
        if max == 0 || r.write_suspend != 0 {
            // Suspends writing until the next tick if a bucket ran dry.
            ratelimit::consumed(base, h, 0, false);
            return;
        }
        r
    } else {
        r
    };
    let s = sock(r);
    if s.fd == NO_FD || s.connecting || s.dead {
        return;
    }
    let fd = s.fd;
    r.output.unfreeze(true);
    let written = r.output.write_atmost(fd, Some(max));
    r.output.freeze(true);
    match written {
        Ok(n) => {
            let reset = n > 0 && r.timeout_write().is_some() && sock(r).write_added;
            let wake = n > 0 && r.output.len() <= r.write_low();
            let (ev, t) = (sock(r).ev_write.get(h.base), r.timeout_write());
            // Decided on the record in hand (no second lookup); it runs
            // after the bookkeeping, as before.
            let fire = if wake {
                prepare_data(r, false, false)
            } else {
                Fire::Nothing
            };
            if limited {
                ratelimit::consumed(base, h, n, false);
            }
            if reset && let Some(ev) = ev {
                let _ = ev.add(base, t);
            }
            finish_data(base, h, false, fire);
        }
        Err(e) if is_retriable(&e) => {}
        Err(e) => {
            r.error = errno_of(&e);
            stop(
                base,
                h,
                Some(Ev::WRITE),
                BevEvent::WRITING | BevEvent::ERROR,
            );
        }
    }
}

fn is_retriable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// The handle of the record at `idx`, whose socket event fired: the
/// record owns the event (its events are freed before it is), and the
/// handler's first lookup checks that it is live.
#[inline(always)]
fn owner<X: BevHost>(base: &EventBase<X>, idx: u32) -> Bufferevent {
    let generation = base
        .ext
        .bevs()
        .recs
        .get(idx as usize)
        .map_or(0, |r| r.generation);
    Bufferevent {
        idx,
        generation,
        base: base.id,
    }
}

/// The read event of the record at `idx` fired.
fn read_fired<X: BevHost>(base: &mut EventBase<X>, _: Event, what: Ev, idx: u32) {
    on_read(base, owner(base, idx), what);
}

/// The write event of the record at `idx` fired.
fn write_fired<X: BevHost>(base: &mut EventBase<X>, _: Event, what: Ev, idx: u32) {
    on_write(base, owner(base, idx), what);
}

/// The read event fired.
fn on_read<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, what: Ev) {
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    if what.contains(Ev::TIMEOUT) {
        stop(
            base,
            h,
            Some(Ev::READ),
            BevEvent::READING | BevEvent::TIMEOUT,
        );
        return;
    }
    let mut budget = r.read_budget();
    let r = if r.limited() {
        budget = ratelimit::budget(base, h, budget, true);
        if budget == 0 {
            // A bucket ran dry: suspend reading until the next tick.
            ratelimit::consumed(base, h, 0, true);
            let _ = sync(base, h);
            return;
        }
        match base.ext.bevs_mut().get_mut(h) {
            Some(r) => r,
            None => return,
        }
    } else {
        r
    };
    if budget == 0 {
        r.check_high_watermark();
        let _ = sync(base, h);
        return;
    }
    let fd = sock(r).fd;
    r.input.unfreeze(false);
    let got = r.input.read_from_socket(fd, Some(budget));
    r.input.freeze(false);
    match got {
        Ok(0) => {
            stop(base, h, Some(Ev::READ), BevEvent::READING | BevEvent::EOF);
            return;
        }
        Ok(n) => {
            let r = if r.limited() {
                ratelimit::consumed(base, h, n, true);
                match base.ext.bevs_mut().get_mut(h) {
                    Some(r) => r,
                    None => return,
                }
            } else {
                r
            };
            r.check_high_watermark();
            if r.input.len() >= r.read_low() {
                r.io_path = true;
                let fire = prepare_data(r, true, false);
                finish_data(base, h, true, fire);
            }
        }
        Err(e) if is_retriable(&e) => return,
        Err(e) => {
            // A read that could get no chain — memory ran out, or the
            // base's budget has no room (`Config::set_max_memory`) — is
            // `ENOMEM`, as libevent's bufferevent_readcb after a failed
            // evbuffer_read.
            r.error = errno_of(&e);
            stop(base, h, Some(Ev::READ), BevEvent::READING | BevEvent::ERROR);
            return;
        }
    }
    service(base, h);
}

/// The write event fired: a timeout expired, a connect finished, or the
/// kernel took output again.
///
/// The timeout comes first, as in libevent: while a connect is pending
/// `SO_ERROR` is still 0, so checking the connect first would report a
/// timed-out connect as `CONNECTED`. A timed-out connect keeps its write
/// event (libevent's `be_socket_disable` leaves it while connecting): the
/// timeout fires again each period until the connect finishes or the
/// bufferevent is freed.
fn on_write<X: BevHost>(base: &mut EventBase<X>, h: Bufferevent, what: Ev) {
    if what.contains(Ev::TIMEOUT) && !what.contains(Ev::WRITE) {
        stop(
            base,
            h,
            Some(Ev::WRITE),
            BevEvent::WRITING | BevEvent::TIMEOUT,
        );
        return;
    }
    let Some(r) = base.ext.bevs_mut().get_mut(h) else {
        return;
    };
    let s = sock_mut(r);
    if s.connecting {
        let err = match std::mem::take(&mut s.connect_error) {
            0 => syscall::take_error(s.fd).unwrap_or(libc::EIO),
            e => e,
        };
        if err == libc::EINPROGRESS {
            return;
        }
        s.connecting = false;
        if err != 0 {
            s.dead = true;
            r.error = err;
            stop(base, h, None, BevEvent::ERROR);
            return;
        }
        r.io_path = true;
        // Starts reading; if that fails, `service` below tries again and
        // reports it (see `sync`).
        let _ = sync(base, h);
        fire_event(base, h, BevEvent::CONNECTED, false);
        service(base, h);
        return;
    }
    service(base, h);
}

impl Bufferevent {
    /// Sets `TCP_NODELAY` on the socket (not in libevent's API; servers
    /// that echo small messages want it).
    ///
    /// # Errors
    /// [`Error::StaleBufferevent`]; [`Error::InvalidArgument`] without a socket;
    /// [`Error::Io`].
    pub fn set_nodelay<X: BevHost>(self, base: &EventBase<X>, on: bool) -> Result<()> {
        match &self.rec(base)?.kind {
            Kind::Socket(Socket { fd, .. }) if *fd != NO_FD => Ok(syscall::set_nodelay(*fd, on)?),
            _ => Err(Error::InvalidArgument("no socket")),
        }
    }
}
