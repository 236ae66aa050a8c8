//! [`Evbuffer`]: libevent's byte-chain buffer (tutorial ch. 8,
//! `evbuffer_*`).
//!
//! # Layout
//!
//! A buffer is a list of *chains* (`chain.rs`), each a block of memory from
//! rvent's allocator with a window of data `[misalign, misalign + off)`
//! inside it, as in libevent's `struct evbuffer_chain`. Blocks of up to
//! [`POOL_MAX_SIZE`](crate::POOL_MAX_SIZE) (16 KiB: every standard chain
//! size) come from the thread's size-class [`Pool`](crate::Pool) — the
//! base's pool — and bigger ones straight from the memory functions. While
//! a base lives on the thread, freed chains are recycled, so a loop that
//! fills and empties buffers in steady state makes no calls to the memory
//! functions; a buffer used with no base alive still allocates through the
//! memory functions, and every block goes straight back when freed. A
//! chain's capacity is its pool class size (a power of two, at least 16),
//! which is also how its block finds its way back to the right free list
//! wherever the chain is dropped. `Evbuffer` is `!Send`, so its chains
//! never leave the thread whose pool they came from. Bytes are appended into the free room after the
//! last chain's data and drained by moving the first chain's window, so
//! adds and drains copy each byte once and allocate only when a chain
//! fills up. Whole chains move between buffers without copying
//! ([`add_buffer`](Evbuffer::add_buffer), [`remove_buffer`](Evbuffer::remove_buffer),
//! [`prepend_buffer`](Evbuffer::prepend_buffer)).
//!
//! New chains follow libevent's sizing policy (reference §4.2): a power of
//! two of at least 1 KiB, doubling from the last chain's size up to 4 KiB;
//! a write at least that big gets the next power of two above it (4 KiB
//! writes land in 8 KiB chains, as libevent's header rounding gives). A
//! write first fills the last chain's room, so many small appends waste at
//! most one partly filled chain. Two departures, both for speed: a
//! buffer's first chain fits the write (rounded up to its pool class: a
//! 4 KiB piece, like a network read, gets a 4 KiB chain), and draining everything keeps the
//! last chain if it is at most 8 KiB, so fill/empty cycles do not allocate
//! at the start of each cycle.
//!
//! Overhead: 48 bytes per chain (pointer, capacity, misalign, length,
//! initialised length and the owner of shared bytes, in the chain list
//! rather than in front of the block; libevent: 48 plus a trailer for
//! references and file segments) and 80 bytes per buffer.
//!
//! # One file per part, bottom to top
//!
//! Each file below adds one part of libevent's evbuffer as an
//! `impl Evbuffer` block; a file uses only the files listed before it, and
//! this one only declares them and re-exports their public items.
//!
//! - `segment.rs`, `chain.rs`: the blocks and the chain over one block
//!   (owned, shared or a file segment's);
//! - `cb_list.rs`: what change callbacks are told ([`CbInfo`]) and the list
//!   a buffer keeps of them;
//! - `evbuffer.rs`: the [`Evbuffer`] struct and the chain-list primitives
//!   every other file uses;
//! - `callback.rs`: change callbacks (synchronous and deferred) and
//!   [`freeze`](Evbuffer::freeze), and the `hooked` wrapper every mutation
//!   takes when the buffer is frozen or watched;
//! - `add.rs`: [`add`](Evbuffer::add), [`add_fmt`](Evbuffer::add_fmt),
//!   [`add_slices`](Evbuffer::add_slices), [`prepend`](Evbuffer::prepend),
//!   [`expand`](Evbuffer::expand);
//! - `transfer.rs`: whole chains moving between buffers
//!   ([`add_buffer`](Evbuffer::add_buffer),
//!   [`prepend_buffer`](Evbuffer::prepend_buffer),
//!   [`remove_buffer`](Evbuffer::remove_buffer));
//! - `eol.rs`, `search.rs`: [`EolStyle`], positions ([`EvbufferPtr`]) and
//!   searches;
//! - `remove.rs`: [`drain`](Evbuffer::drain), [`remove`](Evbuffer::remove),
//!   [`copyout`](Evbuffer::copyout), [`peek`](Evbuffer::peek),
//!   [`pullup`](Evbuffer::pullup);
//! - `readln.rs`: [`readln`](Evbuffer::readln) and its bounded forms;
//! - `reserve.rs`: writing in place
//!   ([`reserve_space`](Evbuffer::reserve_space) /
//!   [`commit_space`](Evbuffer::commit_space), and the vectored forms
//!   that express libevent's per-extent commits);
//! - `fd.rs`: [`read_from`](Evbuffer::read_from) /
//!   [`write_to`](Evbuffer::write_to) /
//!   [`write_atmost`](Evbuffer::write_atmost), one system call each;
//! - `reference.rs`: [`add_reference`](Evbuffer::add_reference) and
//!   multicast views ([`add_buffer_reference`](Evbuffer::add_buffer_reference)),
//!   shared read-only chains;
//! - `file.rs`: [`EvbufferFileSegment`], mapped or read, sent with
//!   `sendfile`;
//! - `trim.rs`: what an empty buffer keeps (its chain list), measured and
//!   given back when its owner knows it went idle.
//!
//! # Invariants
//!
//! Checked by [`Evbuffer::assert_invariants`] (libevent's
//! `evbuffer_validate_`), run after every operation in the tests:
//! - every chain keeps `misalign + off <= capacity`;
//! - empty chains appear only after the last chain holding data (they come
//!   from [`expand`](Evbuffer::expand) and
//!   [`reserve_space`](Evbuffer::reserve_space)), never between data — the
//!   "empty chain in the middle" state behind libevent's most common bug
//!   class;
//! - the chains' data lengths sum to [`len`](Evbuffer::len).
//!
//! Every operation either succeeds or returns an error with the buffer
//! unchanged: allocations happen before the first byte moves.

mod add;
mod callback;
mod cb_list;
mod chain;
mod eol;
mod evbuffer;
mod fd;
mod file;
mod readln;
mod reference;
mod remove;
mod reserve;
mod search;
mod segment;
mod transfer;
mod trim;

pub use cb_list::{CbEntry, CbInfo};
pub use eol::EolStyle;
pub use evbuffer::{DEFAULT_MAX_READ, Evbuffer, MAX_READ_LIMIT};
pub use file::EvbufferFileSegment;
pub use readln::Line;
pub use search::{EvbufferPtr, PtrHow};
pub use segment::SegFlags;
