//! # 8 Evbuffers
//!
//! An [`Evbuffer`](crate::Evbuffer) is a byte queue built for network
//! I/O: a list of chains, so adding at the end and removing from the
//! front never move the bytes in between, and whole chains move from one
//! buffer to another without a copy. It is what a bufferevent's input and
//! output are, and what an HTTP request's body is. The
//! [`buffer`](crate::buffer) module's docs have the details.
//!
//! **8.1 Creating and freeing.** [`Evbuffer::new`](crate::Evbuffer::new);
//! dropping it frees it.
//!
//! **8.2 Threads.** libevent's buffers take a lock when asked. An
//! `Evbuffer` is an ordinary Rust value: `&mut` already guarantees one
//! user at a time, so there is no lock to take.
//!
//! **8.3 Inspecting.** [`len`](crate::Evbuffer::len),
//! [`copyout`](crate::Evbuffer::copyout) (look without removing),
//! [`peek`](crate::Evbuffer::peek) (the chains themselves),
//! [`pullup`](crate::Evbuffer::pullup) (make the front contiguous).
//!
//! **8.4 Adding data.** [`add`](crate::Evbuffer::add),
//! [`add_fmt`](crate::Evbuffer::add_fmt) (`evbuffer_add_printf`), the
//! `io::Write` impl, [`reserve_space`](crate::Evbuffer::reserve_space) and
//! [`commit_space`](crate::Evbuffer::commit_space) to read straight into the buffer's
//! free room, and zero-copy references and file segments.
//!
//! **8.5 Moving data.** [`add_buffer`](crate::Evbuffer::add_buffer)
//! moves everything from another buffer (chains, not bytes);
//! [`remove`](crate::Evbuffer::remove) and
//! [`drain`](crate::Evbuffer::drain) take bytes off the front;
//! [`readln`](crate::Evbuffer::readln) takes a line with any of libevent's
//! [`EolStyle`](crate::EolStyle)s; [`search`](crate::Evbuffer::search)
//! finds bytes and returns an [`EvbufferPtr`](crate::EvbufferPtr).
//!
//! **8.6 Adding at the front.** [`prepend`](crate::Evbuffer::prepend)
//! and [`prepend_buffer`](crate::Evbuffer::prepend_buffer), e.g. for a
//! length header written after the body.
//!
//! ```
//! use rvent::{EolStyle, Evbuffer};
//!
//! let mut body = Evbuffer::new();
//! body.add(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")?;
//! body.add_fmt(format_args!("{} bytes follow", 42))?;
//! let end = body.search(b"\r\n\r\n", None).expect("a blank line");
//! assert_eq!(end.pos(), 29); // where "\r\n\r\n" starts
//!
//! let line = body.readln(EolStyle::Crlf).expect("a whole line");
//! assert_eq!(&line[..], b"GET / HTTP/1.1");
//!
//! let mut other = Evbuffer::new();
//! other.add_buffer(&mut body)?; // moves the chains
//! assert!(body.is_empty());
//! other.prepend(b">> ")?;
//! let mut head = [0u8; 9];
//! assert_eq!(other.remove(&mut head)?, 9);
//! assert_eq!(&head, b">> Host: ");
//! other.drain(other.len())?;
//! assert_eq!(other.len(), 0);
//! # Ok::<(), rvent::Error>(())
//! ```
