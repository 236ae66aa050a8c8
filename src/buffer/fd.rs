//! Reading and writing buffers through file descriptors
//! (`evbuffer_read`, `evbuffer_write`, `evbuffer_write_atmost`,
//! `evbuffer_set_max_read`): the data path of bufferevents.
//!
//! Each call makes exactly one system call and nothing else:
//!
//! - [`Evbuffer::read_from`] `readv`s straight into the free room after
//!   the data — the last chain's room and the following empty chains, up to
//!   four extents — allocating one chain only when that room is smaller
//!   than the read. The room is not zero-filled; only the bytes the kernel
//!   reports become data. Unlike libevent, there is no `FIONREAD` ioctl
//!   first: the read is capped by the caller's `howmuch` and the buffer's
//!   [`max_read`](Evbuffer::max_read) (4096 by default, as libevent) alone.
//! - [`Evbuffer::write_to`] / [`Evbuffer::write_atmost`] hand up to 64
//!   chains to one `sendmsg` (one chain: `send`) with `MSG_NOSIGNAL`, so a
//!   peer that hung up yields `EPIPE`, never a `SIGPIPE` that kills the
//!   process; on a non-socket (`ENOTSOCK`: pipes, files) they retry once
//!   with `writev` / `write`. What was written is drained.
//!
//! Errors (including [`WouldBlock`](std::io::ErrorKind::WouldBlock)) are
//! passed through as they are and leave the data unchanged.

use std::io;
use std::os::fd::RawFd;

use super::chain::{self, Chain, round_size};
use super::evbuffer::{
    ACCOUNTED, CHARGED, Evbuffer, FROZEN_END, FROZEN_FRONT, HAS_CBS, MAX_READ_LIMIT, UNCHARGED,
};
use crate::sys::io::{MAX_READ_IOV, sendfile, write_chunks};

impl Evbuffer {
    /// Sets the most bytes one [`read_from`](Self::read_from) reads
    /// (libevent 2.2's `evbuffer_set_max_read`; the default is
    /// [`DEFAULT_MAX_READ`](crate::buffer::DEFAULT_MAX_READ), 4096).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `n` is
    /// 0 or above [`MAX_READ_LIMIT`] (1 MiB); the setting is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut buf = rvent::Evbuffer::new();
    /// assert_eq!(buf.max_read(), 4096);
    /// buf.set_max_read(16 * 1024)?;
    /// assert_eq!(buf.max_read(), 16 * 1024);
    /// assert!(buf.set_max_read(0).is_err());
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_set_max_read")]
    pub fn set_max_read(&mut self, n: usize) -> crate::error::Result<()> {
        if n == 0 || n > MAX_READ_LIMIT {
            return Err(crate::error::Error::InvalidArgument(
                "max_read must be in 1..=1 MiB",
            ));
        }
        self.set_max_read_len(n);
        Ok(())
    }

    /// The most bytes one [`read_from`](Self::read_from) reads.
    ///
    /// # Examples
    /// ```
    /// use rvent::{DEFAULT_MAX_READ, Evbuffer};
    ///
    /// let mut buf = Evbuffer::new();
    /// assert_eq!(buf.max_read(), DEFAULT_MAX_READ);
    /// buf.set_max_read(64 * 1024)?;
    /// assert_eq!(buf.max_read(), 64 * 1024);
    /// # Ok::<(), rvent::Error>(())
    /// ```
    #[doc(alias = "evbuffer_get_max_read")]
    #[inline]
    pub fn max_read(&self) -> usize {
        self.max_read_len()
    }

    /// Reads from `fd` into the end of the buffer with one `readv`
    /// (libevent's `evbuffer_read`): at most `howmuch` bytes (all `None`)
    /// and at most [`max_read`](Self::max_read). Returns the bytes read;
    /// `Ok(0)` means end of file.
    ///
    /// Reads into the existing room after the data when it is big enough
    /// (so a buffer drained between reads never allocates), else into that
    /// room plus one new chain.
    ///
    /// # Errors
    /// The `readv` error as it is (`WouldBlock` on an empty nonblocking
    /// descriptor); `OutOfMemory` if a chain cannot be allocated;
    /// `InvalidInput` if `howmuch` is `Some(0)` (a read of nothing could not
    /// be told from end of file); the error of
    /// [`Error::BadState`](crate::Error::BadState) if the end is frozen.
    /// Nothing is added on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (mut a, b) = UnixStream::pair()?;
    /// a.write_all(b"hello")?;
    /// let mut buf = rvent::Evbuffer::new();
    /// assert_eq!(buf.read_from(b.as_raw_fd(), None)?, 5);
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"hello"[..]));
    /// drop(a);
    /// assert_eq!(buf.read_from(b.as_raw_fd(), None)?, 0); // end of file
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_read")]
    #[inline]
    pub fn read_from(&mut self, fd: RawFd, howmuch: Option<usize>) -> io::Result<usize> {
        self.read_fd(fd, howmuch, false)
    }

    /// [`read_from`](Self::read_from) on a descriptor known to be a
    /// socket: a read into one chain is a `recv`, which costs the kernel
    /// less than `readv`.
    #[inline]
    pub(crate) fn read_from_socket(
        &mut self,
        fd: RawFd,
        howmuch: Option<usize>,
    ) -> io::Result<usize> {
        self.read_fd(fd, howmuch, true)
    }

    #[inline]
    fn read_fd(&mut self, fd: RawFd, howmuch: Option<usize>, socket: bool) -> io::Result<usize> {
        if self.hooks & (FROZEN_END | HAS_CBS | CHARGED) != 0 {
            return self.read_from_hooked(fd, howmuch, socket);
        }
        self.read_raw::<UNCHARGED>(fd, howmuch, socket)
    }

    /// The read, in accounting mode `A` (out of line: the system call
    /// wrappers inline into it).
    #[inline(never)]
    fn read_raw<const A: bool>(
        &mut self,
        fd: RawFd,
        howmuch: Option<usize>,
        socket: bool,
    ) -> io::Result<usize> {
        let max = self.max_read_len();
        let mut want = howmuch.map_or(max, |h| h.min(max));
        if want == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "read_from of 0 bytes",
            ));
        }
        if self.total_len.checked_add(want).is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "buffer length overflows",
            ));
        }
        let (start, room) = self.read_room();
        if room < want
            && let Err(e) = self.grow_for_read::<A>(start, want)
        {
            // No chain (the budget has no room, or memory ran out): read
            // what the room there is takes, if any.
            if room == 0 {
                return Err(e);
            }
            want = room;
        }
        let from = self.head() + start;
        let got = chain::read_into(fd, &mut self.chains[from..], want, socket)?;
        if got > 0 {
            self.total_len += got;
            self.touch();
        }
        Ok(got)
    }

    /// Where a read starts (the last data chain if it has room, else the
    /// first empty chain) and the room it finds there without allocating:
    /// up to [`MAX_READ_IOV`] extents.
    #[inline]
    fn read_room(&self) -> (usize, usize) {
        let d = self.data_chains();
        let live = self.live();
        let start = if d > 0 && live[d - 1].space() > 0 {
            d - 1
        } else {
            d
        };
        let room = live[start..]
            .iter()
            .take(MAX_READ_IOV)
            .map(Chain::space)
            .sum();
        (start, room)
    }

    /// Keeps the room of up to three chains from live index `start` and
    /// adds one chain for the rest of `want`.
    #[cold]
    fn grow_for_read<const A: bool>(&mut self, start: usize, want: usize) -> io::Result<()> {
        let keep = (self.live().len() - start).min(MAX_READ_IOV - 1);
        let kept: usize = self.live()[start..start + keep]
            .iter()
            .map(Chain::space)
            .sum();
        self.reserve_chains(1)?;
        let fresh = self.new_chain_in::<A>(round_size(want - kept))?;
        self.truncate_chains_in::<A>(start + keep);
        self.chains.push(fresh);
        self.clear_reservation();
        Ok(())
    }

    /// Writes as much of the buffer as `fd` takes with one system call
    /// and drains it (libevent's `evbuffer_write`); returns the bytes
    /// written. See [`write_atmost`](Self::write_atmost).
    ///
    /// # Errors
    /// As [`write_atmost`](Self::write_atmost).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (a, mut b) = UnixStream::pair()?;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"hello")?;
    /// assert_eq!(buf.write_to(a.as_raw_fd())?, 5);
    /// assert!(buf.is_empty());
    /// let mut got = [0u8; 5];
    /// b.read_exact(&mut got)?;
    /// assert_eq!(&got, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_write")]
    #[inline]
    pub fn write_to(&mut self, fd: RawFd) -> io::Result<usize> {
        self.write_atmost(fd, None)
    }

    /// Writes at most `n` bytes (all with `None`) from the front to `fd`
    /// with one system call and drains what was written (libevent's
    /// `evbuffer_write_atmost`); returns the bytes written. An empty buffer
    /// (or `Some(0)`) makes no call and returns `Ok(0)`.
    ///
    /// Up to 64 chains go to one `sendmsg` (`send` for one) with
    /// `MSG_NOSIGNAL`, so writing to a socket whose peer hung up returns
    /// `EPIPE` instead of raising `SIGPIPE`; a descriptor that is not a
    /// socket gets `writev` / `write`. A file segment at the front goes
    /// with `sendfile(2)` when it allows it, with `SIGPIPE` blocked on the
    /// thread for the call, so it too returns `EPIPE` and never raises
    /// `SIGPIPE`.
    ///
    /// # Errors
    /// The system call's error as it is (`WouldBlock` when the descriptor
    /// is full); the error of [`Error::BadState`](crate::Error::BadState)
    /// if the front is frozen. Nothing is drained on error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (a, _b) = UnixStream::pair()?;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add(b"hello world")?;
    /// assert_eq!(buf.write_atmost(a.as_raw_fd(), Some(5))?, 5);
    /// assert_eq!(buf.len(), 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_write_atmost")]
    #[inline]
    pub fn write_atmost(&mut self, fd: RawFd, n: Option<usize>) -> io::Result<usize> {
        if self.hooks & (FROZEN_FRONT | HAS_CBS | CHARGED) != 0 {
            return self.write_hooked(fd, n);
        }
        self.write_raw::<UNCHARGED>(fd, n)
    }

    /// The write, in accounting mode `A`.
    fn write_raw<const A: bool>(&mut self, fd: RawFd, n: Option<usize>) -> io::Result<usize> {
        let limit = n.map_or(self.total_len, |n| n.min(self.total_len));
        if limit == 0 {
            return Ok(0);
        }
        if let Some((src, off)) = self.live()[0].sendfile_source() {
            let k = limit.min(self.live()[0].len());
            let w = sendfile(fd, src, off, k)?;
            self.drain_in::<A>(w);
            return Ok(w);
        }
        let mut left = limit;
        // Memory chains up to the first chain that goes with sendfile.
        let chunks = self.live().iter().map_while(|c| {
            if left == 0 || c.sendfile_source().is_some() {
                return None;
            }
            let d = c.data();
            let k = d.len().min(left);
            left -= k;
            Some(&d[..k])
        });
        let w = write_chunks(fd, chunks)?;
        self.drain_in::<A>(w);
        Ok(w)
    }

    /// The frozen / callback path of [`read_from`](Self::read_from) and
    /// `read_from_socket`.
    #[cold]
    fn read_from_hooked(
        &mut self,
        fd: RawFd,
        howmuch: Option<usize>,
        socket: bool,
    ) -> io::Result<usize> {
        self.hooked(FROZEN_END, |b| b.read_raw::<ACCOUNTED>(fd, howmuch, socket))
    }

    /// The frozen / callback path of [`write_atmost`](Self::write_atmost).
    #[cold]
    fn write_hooked(&mut self, fd: RawFd, n: Option<usize>) -> io::Result<usize> {
        self.hooked(FROZEN_FRONT, |b| b.write_raw::<ACCOUNTED>(fd, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    #[cfg_attr(miri, ignore)]
    fn one_readv_fills_four_extents_without_allocating() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let mut buf = Evbuffer::new();
        buf.add(&[b'x'; 1000]).unwrap(); // a 1 KiB chain: 24 bytes of room
        buf.chains.try_reserve(3).unwrap();
        for size in [16, 32, 8192] {
            buf.chains.push(Chain::with_capacity(size).unwrap());
        }
        let rooms: Vec<usize> = buf.live().iter().map(Chain::space).collect();
        assert_eq!(rooms, [24, 16, 32, 8192]);
        let data: Vec<u8> = (0..4096).map(|i| i as u8).collect();
        a.write_all(&data).unwrap();
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 4096);
        let lens: Vec<usize> = buf.live().iter().map(Chain::len).collect();
        assert_eq!(
            lens,
            [1024, 16, 32, 4096 - 24 - 48],
            "one call, four extents"
        );
        buf.assert_invariants();
        let mut all = vec![0u8; buf.len()];
        buf.copyout(&mut all);
        assert_eq!(&all[1000..], &data[..]);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_small_room_gets_one_new_chain_and_an_error_adds_nothing() {
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut buf = Evbuffer::new();
        buf.add(&[b'x'; 1000]).unwrap();
        a.write_all(&[7; 3000]).unwrap();
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 3000);
        assert_eq!(buf.live().len(), 2);
        assert_eq!(buf.live()[0].len(), 1024);
        // 1120 bytes of room: the read makes a chain first, then fails.
        assert!(buf.read_from(b.as_raw_fd(), None).is_err()); // WouldBlock
        assert_eq!(buf.len(), 4000, "no data added");
        assert_eq!(buf.live().len(), 3, "the new room stays for the next read");
        buf.assert_invariants();
        a.write_all(&[8; 10]).unwrap();
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 10);
        assert_eq!(buf.live().len(), 3, "no allocation: the room was there");
    }
}
