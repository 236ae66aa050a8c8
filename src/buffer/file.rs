//! File segments (`evbuffer_file_segment_new`, `evbuffer_add_file_segment`,
//! `evbuffer_add_file`, `evbuffer_file_segment_add_cleanup_cb`).
//!
//! A segment is a refcounted range of a regular file. Its bytes are mapped
//! read-only with `mmap` when it is created (or read into memory with
//! `pread` when mapping is disabled or fails), so every buffer operation
//! works on file data — copyout, pullup, remove, search, readln — where
//! libevent calls them undefined. When a buffer writes a segment's data to
//! a descriptor ([`Evbuffer::write_to`]) and the segment allows it, the
//! bytes go with `sendfile(2)` straight from the file, the mapping
//! untouched (so its pages are never faulted in).
//!
//! Buffers hold segment data in shared, read-only chains (see
//! `chain.rs`); the segment lives until the last of them and the last
//! [`EvbufferFileSegment`] handle are gone. Then it unmaps, closes its
//! descriptor (with [`SegFlags::CLOSE_ON_FREE`]) and runs the cleanups of
//! [`EvbufferFileSegment::add_cleanup`], once, in that order (libevent's).
//!
//! The file must not shrink while mapped: reading a mapped page past the
//! end of the file raises `SIGBUS` (true of every `mmap` user). The range is
//! checked against the file size when the segment is made.

use std::cell::RefCell;
use std::fmt;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};

use super::chain::{Chain, Shared};
use super::evbuffer::{Evbuffer, FROZEN_END, HAS_CBS};
use super::segment::{Bytes, Cleanup, SegFlags, SegmentInner};
use crate::error::{Error, Result};
use crate::mem::{self, MemRc};
use crate::sys::io::{Mapping, pread_full};

/// A refcounted range of a file to add to buffers without copying
/// (libevent's `struct evbuffer_file_segment`). Cloning the handle shares
/// the segment.
///
/// # Examples
///
/// ```
/// use rvent::{Evbuffer, EvbufferFileSegment, SegFlags};
/// let path = std::env::temp_dir().join(format!("rvent-doc-seg-{}", std::process::id()));
/// std::fs::write(&path, b"0123456789")?;
/// let fd = std::fs::File::open(&path)?.into();
/// let seg = EvbufferFileSegment::new(fd, 2, Some(6), SegFlags::CLOSE_ON_FREE)?;
/// let mut buf = Evbuffer::new();
/// buf.add_file_segment(&seg, 1, Some(3))?;
/// assert_eq!(buf.pullup(None).as_deref(), Some(&b"345"[..]));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "evbuffer_file_segment")]
#[derive(Clone)]
pub struct EvbufferFileSegment(MemRc<SegmentInner>);

impl fmt::Debug for EvbufferFileSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvbufferFileSegment")
            .field("fd", &self.0.fd)
            .field("offset", &self.0.offset)
            .field("len", &self.len())
            .field("flags", &self.0.flags)
            .field("mapped", &matches!(self.0.bytes, Bytes::Mapped(_)))
            .finish()
    }
}

impl EvbufferFileSegment {
    /// A segment of `len` bytes (to the end of the file with `None`) of
    /// `fd` from `offset` (libevent's `evbuffer_file_segment_new`). The
    /// data is mapped now (or read, with [`SegFlags::DISABLE_MMAP`] or if
    /// mapping fails).
    ///
    /// With [`SegFlags::CLOSE_ON_FREE`] the descriptor is closed with the
    /// segment; without it the descriptor is released
    /// ([`IntoRawFd`]) and left open — for a descriptor the caller keeps
    /// using under the same number.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the range lies beyond the end of the
    /// file or does not fit in memory; [`Error::Io`] if the file cannot be
    /// examined or read; [`Error::Alloc`] if the read copy or the
    /// segment's block cannot be allocated. The descriptor is closed on error if `CLOSE_ON_FREE` is
    /// set.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EvbufferFileSegment, SegFlags};
    ///
    /// let path = std::env::temp_dir().join(format!("rvent-doc-segnew-{}", std::process::id()));
    /// std::fs::write(&path, b"0123456789")?;
    /// let file = std::fs::File::open(&path)?;
    /// let seg = EvbufferFileSegment::new(file.into(), 4, None, SegFlags::CLOSE_ON_FREE)?;
    /// assert_eq!(seg.len(), 6); // from offset 4 to the end
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_file_segment_new")]
    pub fn new(fd: OwnedFd, offset: u64, len: Option<u64>, flags: SegFlags) -> Result<Self> {
        let file = std::fs::File::from(fd);
        let size = file.metadata()?.len();
        let fd = OwnedFd::from(file);
        let raw = fd.as_raw_fd();
        let owned = if flags.contains(SegFlags::CLOSE_ON_FREE) {
            Some(fd)
        } else {
            let _ = fd.into_raw_fd();
            None
        };
        let len = match len {
            Some(l) => l,
            None => size
                .checked_sub(offset)
                .ok_or(Error::InvalidArgument("segment offset beyond the file"))?,
        };
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::InvalidArgument("segment beyond the end of the file"));
        }
        let len = usize::try_from(len)
            .map_err(|_| Error::InvalidArgument("segment larger than the address space"))?;
        let bytes = if len == 0 {
            Bytes::None
        } else {
            let mapped = if flags.contains(SegFlags::DISABLE_MMAP) {
                None
            } else {
                Mapping::new(raw, offset, len).ok()
            };
            match mapped {
                Some(m) => Bytes::Mapped(m),
                None => {
                    let mut v = mem::vec();
                    mem::reserve(&mut v, len)?;
                    v.resize(len, 0);
                    if pread_full(raw, &mut v, offset)? != len {
                        return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
                    }
                    Bytes::Read(v)
                }
            }
        };
        Ok(EvbufferFileSegment(MemRc::try_new(SegmentInner {
            fd: raw,
            owned,
            offset,
            flags,
            bytes,
            cleanups: RefCell::new(mem::vec()),
        })?))
    }

    /// The segment's length in bytes.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EvbufferFileSegment, SegFlags};
    ///
    /// let path = std::env::temp_dir().join(format!("rvent-doc-seglen-{}", std::process::id()));
    /// std::fs::write(&path, b"0123456789")?;
    /// let seg = EvbufferFileSegment::new(std::fs::File::open(&path)?.into(), 0, Some(3), SegFlags::CLOSE_ON_FREE)?;
    /// assert_eq!(seg.len(), 3);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.0.bytes().len()
    }

    /// Whether the segment is empty.
    ///
    /// # Examples
    /// ```
    /// use rvent::{EvbufferFileSegment, SegFlags};
    ///
    /// let path = std::env::temp_dir().join(format!("rvent-doc-segempty-{}", std::process::id()));
    /// std::fs::write(&path, b"")?;
    /// let seg = EvbufferFileSegment::new(std::fs::File::open(&path)?.into(), 0, None, SegFlags::CLOSE_ON_FREE)?;
    /// assert!(seg.is_empty());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the data is mapped (rather than read into memory).
    ///
    /// # Examples
    /// ```
    /// use rvent::{EvbufferFileSegment, SegFlags};
    ///
    /// let path = std::env::temp_dir().join(format!("rvent-doc-segmap-{}", std::process::id()));
    /// std::fs::write(&path, b"data")?;
    /// let flags = SegFlags::CLOSE_ON_FREE | SegFlags::DISABLE_MMAP;
    /// let seg = EvbufferFileSegment::new(std::fs::File::open(&path)?.into(), 0, None, flags)?;
    /// assert!(!seg.is_mapped()); // read into memory instead
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_mapped(&self) -> bool {
        matches!(self.0.bytes, Bytes::Mapped(_))
    }

    /// Runs `cleanup` once, after the segment's last reference — handle or
    /// buffer data — is gone and its descriptor closed (libevent's
    /// `evbuffer_file_segment_add_cleanup_cb`; several may be added).
    ///
    /// # Errors
    /// [`Error::Alloc`] if the cleanup's box or its place in the list
    /// cannot be allocated; `cleanup` is dropped without running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use rvent::{Evbuffer, EvbufferFileSegment, SegFlags};
    /// let path = std::env::temp_dir().join(format!("rvent-doc-cln-{}", std::process::id()));
    /// std::fs::write(&path, b"abc")?;
    /// let seg = EvbufferFileSegment::new(std::fs::File::open(&path)?.into(), 0, None,
    ///     SegFlags::CLOSE_ON_FREE)?;
    /// let done = Rc::new(Cell::new(false));
    /// let d = done.clone();
    /// seg.add_cleanup(move || d.set(true))?;
    /// let mut buf = Evbuffer::new();
    /// buf.add_file_segment(&seg, 0, None)?;
    /// drop(seg);
    /// assert!(!done.get()); // the buffer still holds the data
    /// buf.drain(3)?;
    /// assert!(done.get());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_file_segment_add_cleanup_cb")]
    pub fn add_cleanup(&self, cleanup: impl FnOnce() + 'static) -> Result<()> {
        let mut once = Some(cleanup);
        let f: Cleanup = allocator_api2::unsize_box!(mem::pool_box(move || {
            if let Some(f) = once.take() {
                f();
            }
        })?);
        let mut list = self.0.cleanups.borrow_mut();
        mem::reserve(&mut list, 1)?;
        list.push(f);
        Ok(())
    }
}

impl Evbuffer {
    /// Appends `len` bytes (the rest with `None`) of `seg` from
    /// `offset` within it, without copying (libevent's
    /// `evbuffer_add_file_segment`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the range lies outside the segment or
    /// the length would overflow; [`Error::BadState`] if the end is frozen;
    /// [`Error::Alloc`] if the chain's owner or the chain list cannot be
    /// allocated. The buffer is unchanged on error.
    ///
    /// # Examples
    /// ```
    /// use rvent::{Evbuffer, EvbufferFileSegment, SegFlags};
    ///
    /// let path = std::env::temp_dir().join(format!("rvent-doc-afs-{}", std::process::id()));
    /// std::fs::write(&path, b"header;body")?;
    /// let seg = EvbufferFileSegment::new(std::fs::File::open(&path)?.into(), 0, None, SegFlags::CLOSE_ON_FREE)?;
    /// let mut buf = Evbuffer::new();
    /// buf.add_file_segment(&seg, 7, None)?; // from offset 7 to the end
    /// assert_eq!(buf.pullup(None).as_deref(), Some(&b"body"[..]));
    /// assert!(buf.add_file_segment(&seg, 20, None).is_err()); // outside the segment
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_add_file_segment")]
    pub fn add_file_segment(
        &mut self,
        seg: &EvbufferFileSegment,
        offset: usize,
        len: Option<usize>,
    ) -> Result<()> {
        if self.hooks & (FROZEN_END | HAS_CBS) != 0 {
            return self.hooked(FROZEN_END, |b| b.add_segment_raw(seg, offset, len));
        }
        self.add_segment_raw(seg, offset, len)
    }

    fn add_segment_raw(
        &mut self,
        seg: &EvbufferFileSegment,
        offset: usize,
        len: Option<usize>,
    ) -> Result<()> {
        let all = seg.0.bytes();
        let end = match len {
            None => all.len(),
            Some(l) => offset.saturating_add(l),
        };
        if offset > all.len() || end > all.len() {
            return Err(Error::InvalidArgument("range outside the file segment"));
        }
        if offset == end {
            return Ok(());
        }
        if self.total_len.checked_add(end - offset).is_none() {
            return Err(Error::InvalidArgument("buffer length overflows"));
        }
        let owner = MemRc::try_new(Shared::File(MemRc::clone(&seg.0)))?;
        self.push_chain(Chain::shared(owner, &all[..end], offset))
    }

    /// Appends `len` bytes (to the end of the file with `None`) of the
    /// file `fd` from `offset` (libevent's `evbuffer_add_file`): a segment
    /// with [`SegFlags::CLOSE_ON_FREE`], so the descriptor is closed when
    /// the data is gone — or right away on error.
    ///
    /// # Errors
    /// As [`EvbufferFileSegment::new`] and
    /// [`add_file_segment`](Self::add_file_segment).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// let path = std::env::temp_dir().join(format!("rvent-doc-file-{}", std::process::id()));
    /// std::fs::write(&path, b"file body")?;
    /// let mut buf = rvent::Evbuffer::new();
    /// buf.add_file(std::fs::File::open(&path)?.into(), 5, None)?;
    /// let (a, _b) = UnixStream::pair()?;
    /// assert_eq!(buf.write_to(a.as_raw_fd())?, 4); // with sendfile
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "evbuffer_add_file")]
    pub fn add_file(&mut self, fd: OwnedFd, offset: u64, len: Option<u64>) -> Result<()> {
        if self.is_frozen(false) {
            return Err(Error::BadState("buffer end is frozen"));
        }
        let seg = EvbufferFileSegment::new(fd, offset, len, SegFlags::CLOSE_ON_FREE)?;
        self.add_file_segment(&seg, 0, None)
    }
}
