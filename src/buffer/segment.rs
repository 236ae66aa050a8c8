//! The shared state of a file segment: the descriptor, the range, the
//! bytes (mapped or read) and the cleanups — what a buffer chain holds on
//! to. It sits below both the chains that share it (`chain.rs`) and the
//! public handle and buffer operations (`file.rs`), so neither of those
//! imports the other.

use std::cell::RefCell;
use std::os::fd::{OwnedFd, RawFd};

use crate::flags::flag_set;
use crate::mem::{MemVec, Pool};
use crate::sys::io::Mapping;

flag_set! {
    /// How a file segment treats its descriptor and data
    /// (`EVBUF_FS_*`, with libevent's values).
    #[doc(alias = "EVBUF_FS_CLOSE_ON_FREE")]
    pub struct SegFlags: u8 {
        /// Close the descriptor when the segment is freed.
        const CLOSE_ON_FREE = 0x01;
        /// Read the data into memory instead of mapping it.
        const DISABLE_MMAP = 0x02;
        /// Never send the data with `sendfile`: write the bytes.
        const DISABLE_SENDFILE = 0x04;
    }
}

pub(super) enum Bytes {
    /// A zero-length segment.
    None,
    Mapped(Mapping),
    Read(MemVec<u8>),
}

/// A cleanup of [`SegmentInner`], in a pool block.
pub(super) type Cleanup = allocator_api2::boxed::Box<dyn FnMut(), Pool>;

/// The shared state of a segment.
pub(crate) struct SegmentInner {
    pub(super) fd: RawFd,
    /// The descriptor when it closes with the segment.
    pub(super) owned: Option<OwnedFd>,
    pub(super) offset: u64,
    pub(super) flags: SegFlags,
    pub(super) bytes: Bytes,
    /// The cleanups, in pool blocks; each runs once (it takes its
    /// closure out of an `Option`: a pool box cannot be called by value).
    pub(super) cleanups: RefCell<MemVec<Cleanup>>,
}

impl SegmentInner {
    pub(super) fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::None => &[],
            Bytes::Mapped(m) => m.bytes(),
            Bytes::Read(v) => v,
        }
    }

    /// The descriptor and the file offset of byte `pos` of the segment,
    /// if its data may go with `sendfile`.
    pub(crate) fn sendfile_at(&self, pos: usize) -> Option<(RawFd, u64)> {
        if self.flags.contains(SegFlags::DISABLE_SENDFILE) {
            None
        } else {
            Some((self.fd, self.offset + pos as u64))
        }
    }
}

impl Drop for SegmentInner {
    fn drop(&mut self) {
        self.bytes = Bytes::None; // unmap or free
        self.owned = None; // close
        for mut f in self.cleanups.get_mut().drain(..) {
            f();
        }
    }
}
