//! # 7 Bufferevents
//!
//! The echo handlers of chapters [2](super::ch02_epoll) and
//! [3](super::ch03_reactor) spend most of their lines on bookkeeping: a
//! buffer per client, an offset of what was sent, switching between
//! `EPOLLIN` and `EPOLLOUT` when the peer is slow. A
//! [`Bufferevent`](crate::Bufferevent) does that once for everyone: an
//! input and an output [`Evbuffer`](crate::Evbuffer) plus the events that
//! move bytes between them and a socket. You work on the buffers; it does
//! the I/O. The [`bufferevent`](crate::bufferevent) module's docs hold
//! the whole model and what rvent does differently from libevent.
//!
//! **7.1 Callbacks and watermarks.** The *read* callback runs when input
//! arrived, at least the read low watermark; the *write* callback when
//! the output drained down to the write low watermark; the *event*
//! callback on EOF, an error, a timeout or a completed connect, with a
//! [`BevEvent`](crate::BevEvent). A read high watermark stops reading
//! while that much input waits — the back-pressure chapter 2 did by hand
//! ([`Bufferevent::set_watermark`](crate::Bufferevent::set_watermark)).
//!
//! **7.2 Deferred callbacks.** With
//! [`BevOptions::DEFER_CALLBACKS`](crate::BevOptions::DEFER_CALLBACKS)
//! the callbacks run from the loop's deferred queue instead of in the
//! middle of the operation that triggered them, which keeps two
//! bufferevents that feed each other from recursing.
//!
//! **7.3 Options.** [`BevOptions`](crate::BevOptions): `CLOSE_ON_FREE`
//! closes the socket with the bufferevent; `THREADSAFE` and
//! `UNLOCK_CALLBACKS` are accepted and mean nothing (a base never leaves
//! its thread).
//!
//! **7.4 Socket bufferevents.** [`Bufferevent::socket`](crate::Bufferevent::socket)
//! wraps an fd (or none yet), [`Bufferevent::from_stream`](crate::Bufferevent::from_stream)
//! a `TcpStream`; [`connect`](crate::Bufferevent::connect) and
//! [`connect_hostname`](crate::Bufferevent::connect_hostname) start a
//! connection and report `CONNECTED` to the event callback.
//!
//! **7.5 Common operations.** [`free`](crate::Bufferevent::free) (7.5.1,
//! also from the bufferevent's own callbacks);
//! [`set_read_callback`](crate::Bufferevent::set_read_callback) and its
//! siblings, [`enable`](crate::Bufferevent::enable) /
//! [`disable`](crate::Bufferevent::disable) (7.5.2);
//! [`write`](crate::Bufferevent::write), [`read`](crate::Bufferevent::read),
//! [`buffers`](crate::Bufferevent::buffers) for both evbuffers at once
//! (7.5.3); [`flush`](crate::Bufferevent::flush) (7.5.4). A bufferevent is
//! a `Copy` handle like an [`Event`](crate::Event): stale after `free`.
//!
//! Two bufferevents joined back to back ([`Bufferevent::pair`](crate::Bufferevent::pair))
//! show all of it without a socket — here a client that sends lines and
//! a server that answers each one, upper-cased:
//!
//! ```
//! use rvent::{BevOptions, Bufferevent, Buffers, EolStyle, Ev, EventBase};
//!
//! let mut base = EventBase::new()?;
//! let (client, server) = Bufferevent::pair(&mut base, BevOptions::empty())?;
//! server.set_read_callback(&mut base, |base: &mut EventBase, bev: Bufferevent| {
//!     let Buffers { input, output } = bev.buffers(base).unwrap();
//!     while let Some(line) = input.readln(EolStyle::Lf) {
//!         output.add(&line.to_ascii_uppercase()).unwrap();
//!         output.add(b"\n").unwrap();
//!     }
//! })?;
//! client.set_read_callback(&mut base, |base: &mut EventBase, bev: Bufferevent| {
//!     if bev.input_len(base).unwrap() >= 8 {
//!         base.loopbreak(); // both answers are in
//!     }
//! })?;
//! for bev in [client, server] {
//!     bev.enable(&mut base, Ev::READ | Ev::WRITE)?;
//! }
//! client.write(&mut base, b"abc\ndef\n")?;
//! base.dispatch()?;
//! let mut answer = [0u8; 8];
//! assert_eq!(client.read(&mut base, &mut answer)?, 8);
//! assert_eq!(&answer, b"ABC\nDEF\n");
//! client.free(&mut base)?;
//! assert!(client.write(&mut base, b"more").is_err()); // stale
//! # Ok::<(), rvent::Error>(())
//! ```
//!
//! The socket version of this — a listener plus one bufferevent per
//! client — is the echo server of [chapter 10](super::ch10_servers).
