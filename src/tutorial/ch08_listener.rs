//! # 8 Connection listeners
//!
//! Every server in this book starts the same way: a non-blocking
//! listening socket, an event on it, `accept` until `EAGAIN` in its
//! callback. A [`ConnListener`](crate::ConnListener) (`evconnlistener`)
//! is that, done once. The [`listener`](crate::listener) module's docs
//! hold the details.
//!
//! **8.1 Creating and freeing.** [`ConnListener::bind`](crate::ConnListener::bind)
//! binds and listens on an address (`evconnlistener_new_bind`; port 0
//! picks a free one); [`ConnListener::from_listener`](crate::ConnListener::from_listener)
//! and [`ConnListener::from_fd`](crate::ConnListener::from_fd) take a
//! socket you made (`evconnlistener_new`). [`ListenerOptions`](crate::ListenerOptions)
//! are libevent's `LEV_OPT_*`. [`free`](crate::ConnListener::free) stops
//! it, from its own callback too.
//!
//! **8.2 Enabling and disabling.** [`disable`](crate::ConnListener::disable)
//! stops accepting (clients queue in the kernel's backlog),
//! [`enable`](crate::ConnListener::enable) resumes.
//!
//! **8.3 Callbacks.** The callback gets the base, the listener, the new
//! connection as an `OwnedFd` — closed when dropped unless you keep it —
//! and the peer's address ([`PeerAddr`](crate::PeerAddr));
//! [`set_callback`](crate::ConnListener::set_callback) replaces it.
//!
//! **8.4 Inspecting.** [`local_addr`](crate::ConnListener::local_addr),
//! [`fd`](crate::ConnListener::fd), [`event`](crate::ConnListener::event).
//!
//! **8.5 Errors.** An `accept` that fails goes to the
//! [error callback](crate::ConnListener::set_error_callback); running out
//! of descriptors (`EMFILE`) pauses accepting for
//! [`ConnListener::RETRY_DELAY`](crate::ConnListener::RETRY_DELAY)
//! instead of spinning on a listener that stays readable.
//!
//! ```
//! use rvent::{ConnListener, EventBase, ListenerOptions};
//! use std::net::{SocketAddr, TcpStream};
//!
//! let mut base = EventBase::new()?;
//! let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
//! let lev = ConnListener::bind(
//!     &mut base,
//!     any_port,
//!     ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
//!     None, // libevent's default backlog
//!     |base, lev, conn, peer| {
//!         assert!(peer.inet().is_some());
//!         drop(conn); // closes the connection
//!         lev.free(base).unwrap(); // one client is enough
//!     },
//! )?;
//! let addr = lev.local_addr(&base)?;
//! let _client = TcpStream::connect(addr).unwrap();
//! base.dispatch()?; // returns once the listener freed itself
//! assert!(!lev.is_live(&base));
//! # Ok::<(), rvent::Error>(())
//! ```
