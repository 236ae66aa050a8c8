//! Op programs over up to three `Evbuffer`s checked against `Vec<u8>`
//! models, and the differential readln / search checker — shared by the
//! fuzz targets (`fuzz/src/lib.rs`) and by `tests/evbuffer.rs`, which
//! includes this file with `#[path]` and replays the committed seed corpora
//! on stable. Depends only on `rvent`, `arbitrary` and std.
//!
//! Oracles after every op: results (copied bytes, lines, search
//! positions, error or not) equal the model's answer, a failed operation
//! leaves the buffer unchanged, and `Checker::check_cheap` —
//! `assert_invariants()` on every buffer, the length and the bytes at both
//! ends equal the model's. Every byte is compared (`Checker::check`) every
//! [`FULL_CHECK_EVERY`] ops and at the end of a program. Model and oracle
//! code avoids per-byte loops where a slice operation does: under
//! libFuzzer every integer compare in it is a coverage callback.
//!
//! References and views: `add_reference` (with an offset) checks that its
//! owner is dropped exactly once, when its last byte left every buffer
//! (buffers are dropped at the end of a program); `add_buffer_reference`
//! makes shared views whose source keeps changing. Freezing follows
//! libevent's table: an op touching a frozen side must fail (`Err` or
//! `None`) and change nothing — the model is left as it was. File segments
//! need a file and stay in `tests/evbuffer.rs`.

use std::cell::Cell;
use std::io::{IoSlice, IoSliceMut};
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use rvent::{EolStyle, Evbuffer, EvbufferPtr, PtrHow};

/// Buffers per program.
pub const BUFS: usize = 3;
/// Adds that would grow a buffer beyond this are skipped (keeps runs fast):
/// 16 chains of the largest automatic size, 64 of the smallest.
const CAP: usize = 1 << 16;
/// `AddFill` / `PrependFill` lengths are taken modulo this: past every
/// size threshold of the chain code (4 KiB chains, 8 KiB kept on drain),
/// without memsetting and scanning 64 KiB per op.
pub const FILL_MAX: usize = 1 << 14;
/// Ops run per program; the rest of a longer input is ignored. Longer
/// programs reach few new states, and the model's O(length) work per op
/// made them the slow inputs.
pub const MAX_OPS: usize = 128;
/// A full check (every byte of every buffer) after every this many ops
/// and at the end of a program; the cheap check after the others.
pub const FULL_CHECK_EVERY: usize = 8;
/// Bytes compared at each end of a buffer by the cheap check.
pub const EDGE: usize = 32;

/// An end-of-line style (`EolStyle` has no `Arbitrary`).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Any,
    Crlf,
    CrlfStrict,
    Lf,
    Nul,
}

impl Style {
    pub const ALL: [Style; 5] = [
        Style::Any,
        Style::Crlf,
        Style::CrlfStrict,
        Style::Lf,
        Style::Nul,
    ];

    pub fn eol(self) -> EolStyle {
        match self {
            Style::Any => EolStyle::Any,
            Style::Crlf => EolStyle::Crlf,
            Style::CrlfStrict => EolStyle::CrlfStrict,
            Style::Lf => EolStyle::Lf,
            Style::Nul => EolStyle::Nul,
        }
    }
}

/// One operation; buffer numbers are taken modulo [`BUFS`].
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    Add {
        b: u8,
        data: Vec<u8>,
    },
    /// A larger add (`len % FILL_MAX` bytes), to cross chain sizes.
    AddFill {
        b: u8,
        byte: u8,
        len: u16,
    },
    AddFmt {
        b: u8,
        n: u32,
    },
    AddSlices {
        b: u8,
        parts: Vec<Vec<u8>>,
    },
    Prepend {
        b: u8,
        data: Vec<u8>,
    },
    PrependFill {
        b: u8,
        byte: u8,
        len: u16,
    },
    Drain {
        b: u8,
        n: u16,
    },
    DrainAll {
        b: u8,
    },
    Remove {
        b: u8,
        n: u16,
    },
    RemoveBuffer {
        src: u8,
        dst: u8,
        n: u16,
    },
    AddBuffer {
        dst: u8,
        src: u8,
    },
    PrependBuffer {
        dst: u8,
        src: u8,
    },
    Copyout {
        b: u8,
        n: u16,
    },
    CopyoutFrom {
        b: u8,
        pos: u16,
        n: u16,
    },
    Peek {
        b: u8,
        len: Option<u16>,
        start: Option<u16>,
        slots: u8,
    },
    Pullup {
        b: u8,
        n: Option<u16>,
    },
    Readln {
        b: u8,
        style: Style,
    },
    ReadlnBounded {
        b: u8,
        style: Style,
        max: u16,
    },
    ReadlnInto {
        b: u8,
        style: Style,
        cap: u16,
    },
    Search {
        b: u8,
        what: Vec<u8>,
        start: Option<u16>,
        end: Option<u16>,
    },
    SearchEol {
        b: u8,
        start: Option<u16>,
        style: Style,
    },
    PtrAdd {
        b: u8,
        set: u16,
        add: u16,
    },
    /// Reserve `n`, fill the room with a pattern, optionally commit at once.
    Reserve {
        b: u8,
        n: u16,
        fill: u8,
        commit: Option<u16>,
    },
    ReserveVectored {
        b: u8,
        n: u16,
        vecs: u8,
        fill: u8,
        commit: Option<u16>,
    },
    /// Commit a reservation made by an earlier op (possibly stale).
    Commit {
        b: u8,
        n: u16,
    },
    Expand {
        b: u8,
        n: u16,
    },
    ExpandHuge {
        b: u8,
    },
    /// `add_reference_with_offset` of `data` (owner counted).
    AddReference {
        b: u8,
        data: Vec<u8>,
        offset: u8,
    },
    AddBufferReference {
        dst: u8,
        src: u8,
    },
    Freeze {
        b: u8,
        front: bool,
    },
    Unfreeze {
        b: u8,
        front: bool,
    },
}

/// A reference owner counting its drops.
struct Counted(Vec<u8>, Rc<Cell<u32>>);

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.set(self.1.get() + 1);
    }
}

/// A program for `evbuffer_ops` / `evbuffer_arena`.
#[derive(Arbitrary, Debug, Clone)]
pub struct Program {
    pub ops: Vec<Op>,
}

// ---------------------------------------------------------------------------
// Naive model answers (libevent semantics, reference §1.5)
// ---------------------------------------------------------------------------

/// The first match of `what` starting at or after `start` and ending at or
/// before `end` (clamped to the length).
pub fn naive_search(hay: &[u8], what: &[u8], start: usize, end: Option<usize>) -> Option<usize> {
    let end = end.map_or(hay.len(), |e| e.min(hay.len()));
    if start.checked_add(what.len())? > end {
        return None;
    }
    // Byte by byte, not a slice `==` per position: each failed `memcmp`
    // call goes through libFuzzer's comparison hook, which cost more than
    // the rest of the program together.
    // Candidates are found by scanning for the first byte.
    let Some((&first, rest)) = what.split_first() else {
        return Some(start);
    };
    let last = end - what.len();
    let mut i = start;
    while i <= last {
        i += hay[i..=last].iter().position(|&c| c == first)?;
        if hay[i + 1..].iter().zip(rest).all(|(a, b)| a == b) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The first end of line at or after `start`: (position, marker length).
pub fn naive_eol(hay: &[u8], start: usize, style: Style) -> Option<(usize, usize)> {
    if start > hay.len() {
        return None;
    }
    let from = |pred: fn(u8) -> bool| {
        hay[start..]
            .iter()
            .position(|&c| pred(c))
            .map(|k| start + k)
    };
    match style {
        Style::Lf => from(|c| c == b'\n').map(|i| (i, 1)),
        Style::Nul => from(|c| c == 0).map(|i| (i, 1)),
        Style::CrlfStrict => naive_search(hay, b"\r\n", start, None).map(|i| (i, 2)),
        Style::Crlf => {
            let i = from(|c| c == b'\n')?;
            if i > start && hay[i - 1] == b'\r' {
                Some((i - 1, 2))
            } else {
                Some((i, 1))
            }
        }
        Style::Any => {
            let i = from(|c| c == b'\r' || c == b'\n')?;
            let run = hay[i..]
                .iter()
                .take_while(|&&c| c == b'\r' || c == b'\n')
                .count();
            Some((i, run))
        }
    }
}

/// A line known to be longer than the limit.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLong;

/// `readln_bounded`'s answer: `Err(TooLong)` for a line known to be longer
/// than `max`, `Ok(None)` for an incomplete one. An incomplete line errs
/// only past `max` plus the one byte that may be the CR of a CR LF.
pub fn naive_readln_bounded(
    hay: &[u8],
    style: Style,
    max: usize,
) -> Result<Option<(usize, usize)>, TooLong> {
    match naive_eol(hay, 0, style) {
        Some((p, _)) if p > max => Err(TooLong),
        Some(found) => Ok(Some(found)),
        None => {
            let pending = matches!(style, Style::Crlf | Style::CrlfStrict) as usize;
            if hay.len() > max.saturating_add(pending) {
                Err(TooLong)
            } else {
                Ok(None)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Op programs
// ---------------------------------------------------------------------------

/// Whether the buffer holds exactly `want`, compared chunk by chunk with
/// slice equality (one `memcmp` per chain, not an instrumented compare per
/// byte — that per-byte loop was most of the fuzzers' time).
pub fn same_bytes(b: &Evbuffer, want: &[u8]) -> bool {
    let mut off = 0;
    for c in b.chunks() {
        match want.get(off..off + c.len()) {
            Some(w) if w == c => off += c.len(),
            _ => return false,
        }
    }
    off == want.len()
}

fn ptr_at(b: &Evbuffer, pos: usize) -> EvbufferPtr {
    let mut p = EvbufferPtr::default();
    b.ptr_set(&mut p, pos, PtrHow::Set)
        .expect("position within the buffer");
    p
}

/// The bytes a reservation pattern writes at index `i`.
fn pattern(fill: u8, i: usize) -> u8 {
    fill.wrapping_add(i as u8).wrapping_mul(31)
}

/// Writes `pattern(fill, from + k)` into `out[k]`. The pattern repeats
/// every 256 bytes, so this copies 256-byte blocks of a table instead of
/// one instrumented store and push per byte (reservations reach 64 KiB).
fn fill_pattern(out: &mut [u8], fill: u8, from: usize) {
    let table: [u8; 512] = std::array::from_fn(|k| pattern(fill, k));
    let at = from % 256;
    for block in out.chunks_mut(256) {
        block.copy_from_slice(&table[at..at + block.len()]);
    }
}

/// Buffers, models and pending reservations (bytes written in the room).
pub struct Checker {
    pub bufs: [Evbuffer; BUFS],
    pub model: [Vec<u8>; BUFS],
    resv: [Option<Vec<u8>>; BUFS],
    /// `[front, end]` frozen, per buffer.
    frozen: [[bool; 2]; BUFS],
    /// Drop counters of every reference added: each must end at 1.
    refs: Vec<Rc<Cell<u32>>>,
}

impl Drop for Checker {
    fn drop(&mut self) {
        for b in &mut self.bufs {
            *b = Evbuffer::new();
        }
        if !std::thread::panicking() {
            for r in &self.refs {
                assert_eq!(r.get(), 1, "a reference owner dropped {} times", r.get());
            }
        }
    }
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

impl Checker {
    pub fn new() -> Self {
        Checker {
            bufs: std::array::from_fn(|_| Evbuffer::new()),
            model: std::array::from_fn(|_| Vec::new()),
            resv: std::array::from_fn(|_| None),
            frozen: [[false; 2]; BUFS],
            refs: Vec::new(),
        }
    }

    /// The full check: invariants, lengths and every byte of every buffer
    /// (O(total length)).
    pub fn check(&self) {
        self.check_cheap();
        for (b, m) in self.bufs.iter().zip(&self.model) {
            assert!(same_bytes(b, m), "content differs from the model");
        }
    }

    /// The check after every op, O(chains): `assert_invariants()` (the
    /// chain layout), lengths, and the first and last [`EDGE`] bytes (where
    /// ops add, prepend, drain and commit) against the model.
    pub fn check_cheap(&self) {
        for (b, m) in self.bufs.iter().zip(&self.model) {
            b.assert_invariants();
            assert_eq!(b.len(), m.len(), "length");
            assert_eq!(b.is_empty(), m.is_empty());
            let mut chunks = b.chunks();
            if let Some(first) = chunks.next() {
                let k = first.len().min(EDGE);
                assert!(first[..k] == m[..k], "front bytes differ from the model");
                let last = chunks.last().unwrap_or(first);
                let k = last.len().min(EDGE);
                assert!(
                    last[last.len() - k..] == m[m.len() - k..],
                    "back bytes differ from the model"
                );
            }
        }
    }

    /// The check after op number `k` (from 0) of a program:
    /// [`check`](Self::check) every [`FULL_CHECK_EVERY`] ops,
    /// [`check_cheap`](Self::check_cheap) otherwise.
    pub fn check_after(&self, k: usize) {
        if (k + 1).is_multiple_of(FULL_CHECK_EVERY) {
            self.check();
        } else {
            self.check_cheap();
        }
    }

    fn two(&mut self, x: u8, y: u8) -> Option<(usize, usize)> {
        let (x, y) = (x as usize % BUFS, y as usize % BUFS);
        (x != y).then_some((x, y))
    }

    fn pair(&mut self, x: usize, y: usize) -> (&mut Evbuffer, &mut Evbuffer) {
        let (lo, hi) = (x.min(y), x.max(y));
        let (a, b) = self.bufs.split_at_mut(hi);
        if x < y {
            (&mut a[lo], &mut b[0])
        } else {
            (&mut b[0], &mut a[lo])
        }
    }

    /// Runs `op` if it touches a frozen side: it must fail; the model
    /// stays. Returns whether it did.
    fn frozen_refuses(&mut self, op: &Op) -> bool {
        use Op::*;
        let fr = self.frozen;
        let ix = |b: &u8| *b as usize % BUFS;
        let front = |b: &u8| fr[ix(b)][0];
        let end = |b: &u8| fr[ix(b)][1];
        let e = |r: bool, what: &str| assert!(r, "{what} on a frozen side succeeded");
        match op {
            Add { b, data } if end(b) => e(self.bufs[ix(b)].add(data).is_err(), "add"),
            AddFill { b, .. } if end(b) => e(self.bufs[ix(b)].add(b"x").is_err(), "add"),
            AddFmt { b, n } if end(b) => e(
                self.bufs[ix(b)].add_fmt(format_args!("{n}")).is_err(),
                "add_fmt",
            ),
            AddSlices { b, .. } if end(b) => e(
                self.bufs[ix(b)].add_slices(&[IoSlice::new(b"s")]).is_err(),
                "add_slices",
            ),
            AddReference { b, data, .. } if end(b) => e(
                self.bufs[ix(b)].add_reference(data.clone()).is_err(),
                "add_reference",
            ),
            Reserve { b, n, .. } | ReserveVectored { b, n, .. } if end(b) => e(
                self.bufs[ix(b)].reserve_space(*n as usize).is_err(),
                "reserve",
            ),
            Commit { b, n } if end(b) => e(
                self.bufs[ix(b)].commit_space(*n as usize).is_err(),
                "commit",
            ),
            Prepend { b, data } if front(b) => {
                e(self.bufs[ix(b)].prepend(data).is_err(), "prepend")
            }
            PrependFill { b, .. } if front(b) => {
                e(self.bufs[ix(b)].prepend(b"p").is_err(), "prepend")
            }
            Drain { b, .. } | DrainAll { b } if front(b) => {
                e(self.bufs[ix(b)].drain(1).is_err(), "drain")
            }
            Remove { b, .. } if front(b) => {
                e(self.bufs[ix(b)].remove(&mut [0u8; 4]).is_err(), "remove")
            }
            Readln { b, style } if front(b) => {
                e(self.bufs[ix(b)].readln(style.eol()).is_none(), "readln")
            }
            ReadlnBounded { b, style, max } if front(b) => e(
                self.bufs[ix(b)]
                    .readln_bounded(style.eol(), *max as usize)
                    .is_err(),
                "readln_bounded",
            ),
            ReadlnInto { b, style, .. } if front(b) => e(
                self.bufs[ix(b)]
                    .readln_into(style.eol(), &mut [0u8; 64])
                    .is_err(),
                "readln_into",
            ),
            RemoveBuffer { src, dst, n } if ix(src) != ix(dst) && (front(src) || end(dst)) => {
                let (s, d) = self.pair(ix(src), ix(dst));
                e(s.remove_buffer(d, *n as usize).is_err(), "remove_buffer")
            }
            AddBuffer { dst, src } if ix(src) != ix(dst) && (front(src) || end(dst)) => {
                let (d, s) = self.pair(ix(dst), ix(src));
                e(d.add_buffer(s).is_err(), "add_buffer")
            }
            PrependBuffer { dst, src } if ix(src) != ix(dst) && (front(src) || front(dst)) => {
                let (d, s) = self.pair(ix(dst), ix(src));
                e(d.prepend_buffer(s).is_err(), "prepend_buffer")
            }
            AddBufferReference { dst, src } if ix(src) != ix(dst) && end(dst) => {
                let (d, s) = self.pair(ix(dst), ix(src));
                e(d.add_buffer_reference(s).is_err(), "add_buffer_reference")
            }
            _ => return false,
        }
        true
    }

    /// Applies one op to the buffers and the models and compares results.
    pub fn apply(&mut self, op: &Op) {
        use Op::*;
        if self.frozen_refuses(op) {
            return;
        }
        match op {
            AddReference { b, data, offset } => {
                let i = *b as usize % BUFS;
                let off = *offset as usize;
                let c = Rc::new(Cell::new(0));
                self.refs.push(c.clone());
                let owner = Counted(data.clone(), c.clone());
                if self.model[i].len() + data.len() > CAP {
                    return; // `owner` dropped here: counted once
                }
                let r = self.bufs[i].add_reference_with_offset(owner, off);
                assert_eq!(r.is_ok(), off <= data.len(), "add_reference offset {off}");
                if off >= data.len() {
                    assert_eq!(
                        c.get(),
                        1,
                        "an empty or refused reference is dropped at once"
                    );
                } else {
                    self.model[i].extend_from_slice(&data[off..]);
                }
            }
            AddBufferReference { dst, src } => {
                let Some((d, s)) = self.two(*dst, *src) else {
                    return;
                };
                if self.model[d].len() + self.model[s].len() > CAP {
                    return;
                }
                let (db, sb) = self.pair(d, s);
                db.add_buffer_reference(sb).expect("add_buffer_reference");
                // src keeps its data; a pending reservation in it goes
                // stale when it had data to share.
                if !self.model[s].is_empty() {
                    self.resv[s] = None;
                }
                let copy = self.model[s].clone();
                self.model[d].extend_from_slice(&copy);
            }
            Freeze { b, front } => {
                let i = *b as usize % BUFS;
                self.bufs[i].freeze(*front);
                self.frozen[i][usize::from(!*front)] = true;
            }
            Unfreeze { b, front } => {
                let i = *b as usize % BUFS;
                self.bufs[i].unfreeze(*front);
                self.frozen[i][usize::from(!*front)] = false;
            }
            Add { b, data } => self.add(*b, data),
            AddFill { b, byte, len } => self.add(*b, &vec![*byte; *len as usize % FILL_MAX]),
            AddFmt { b, n } => {
                let i = *b as usize % BUFS;
                let s = format!("{n}:{n:x};");
                if self.model[i].len() + s.len() <= CAP {
                    let k = self.bufs[i]
                        .add_fmt(format_args!("{n}:{n:x};"))
                        .expect("add_fmt");
                    assert_eq!(k, s.len());
                    self.model[i].extend_from_slice(s.as_bytes());
                }
            }
            AddSlices { b, parts } => {
                let i = *b as usize % BUFS;
                let total: usize = parts.iter().map(Vec::len).sum();
                if self.model[i].len() + total <= CAP {
                    let sl: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
                    let k = self.bufs[i].add_slices(&sl).expect("add_slices");
                    assert_eq!(k, total);
                    for p in parts {
                        self.model[i].extend_from_slice(p);
                    }
                }
            }
            Prepend { b, data } => self.prepend(*b, data),
            PrependFill { b, byte, len } => {
                self.prepend(*b, &vec![*byte; *len as usize % FILL_MAX])
            }
            Drain { b, n } => {
                let i = *b as usize % BUFS;
                self.bufs[i].drain(*n as usize).expect("drain");
                let k = (*n as usize).min(self.model[i].len());
                self.model[i].drain(..k);
            }
            DrainAll { b } => {
                let i = *b as usize % BUFS;
                self.bufs[i].drain(usize::MAX).expect("drain all");
                self.model[i].clear();
            }
            Remove { b, n } => {
                let i = *b as usize % BUFS;
                // At most one byte more than the data: the same answer
                // without zeroing 64 KiB for a short buffer.
                let mut out = vec![0u8; (*n as usize).min(self.model[i].len() + 1)];
                let k = self.bufs[i].remove(&mut out).expect("remove");
                let want = (*n as usize).min(self.model[i].len());
                assert_eq!(&out[..k], &self.model[i][..want], "remove");
                self.model[i].drain(..want);
            }
            RemoveBuffer { src, dst, n } => {
                let Some((s, d)) = self.two(*src, *dst) else {
                    return;
                };
                let (sb, db) = self.pair(s, d);
                let k = sb.remove_buffer(db, *n as usize).expect("remove_buffer");
                let want = (*n as usize).min(self.model[s].len());
                assert_eq!(k, want, "remove_buffer moved");
                let moved = self.model[s][..want].to_vec();
                self.model[s].drain(..want);
                self.model[d].extend_from_slice(&moved);
            }
            AddBuffer { dst, src } => {
                let Some((d, s)) = self.two(*dst, *src) else {
                    return;
                };
                let (db, sb) = self.pair(d, s);
                db.add_buffer(sb).expect("add_buffer");
                let moved = std::mem::take(&mut self.model[s]);
                self.model[d].extend_from_slice(&moved);
            }
            PrependBuffer { dst, src } => {
                let Some((d, s)) = self.two(*dst, *src) else {
                    return;
                };
                let (db, sb) = self.pair(d, s);
                db.prepend_buffer(sb).expect("prepend_buffer");
                let mut moved = std::mem::take(&mut self.model[s]);
                moved.extend_from_slice(&self.model[d]);
                self.model[d] = moved;
            }
            Copyout { b, n } => {
                let i = *b as usize % BUFS;
                let mut out = vec![0u8; (*n as usize).min(self.model[i].len() + 1)];
                let k = self.bufs[i].copyout(&mut out);
                let m = &self.model[i];
                assert_eq!(&out[..k], &m[..(*n as usize).min(m.len())], "copyout");
            }
            CopyoutFrom { b, pos, n } => {
                let i = *b as usize % BUFS;
                let (pos, len) = (*pos as usize, self.model[i].len());
                let mut p = EvbufferPtr::default();
                let set = self.bufs[i].ptr_set(&mut p, pos, PtrHow::Set);
                assert_eq!(set.is_ok(), pos <= len, "ptr_set({pos}) on {len} bytes");
                if set.is_ok() {
                    let mut out = vec![0u8; (*n as usize).min(len - pos + 1)];
                    let k = self.bufs[i]
                        .copyout_from(&p, &mut out)
                        .expect("copyout_from");
                    let m = &self.model[i][pos..];
                    assert_eq!(&out[..k], &m[..(*n as usize).min(m.len())], "copyout_from");
                }
            }
            Peek {
                b,
                len,
                start,
                slots,
            } => {
                let i = *b as usize % BUFS;
                let m = &self.model[i];
                let start = start.map(|s| (s as usize).min(m.len()));
                let p = start.map(|s| ptr_at(&self.bufs[i], s));
                let mut v = vec![IoSlice::new(&[]); *slots as usize % 8];
                let n = self.bufs[i].peek(len.map(usize::from), p.as_ref(), &mut v);
                let from = start.unwrap_or(0);
                let filled = n.min(v.len());
                let mut got = Vec::new();
                for s in &v[..filled] {
                    got.extend_from_slice(s);
                }
                assert!(
                    v[..filled].iter().all(|s| !s.is_empty()),
                    "empty peek slice"
                );
                assert_eq!(&got[..], &m[from..from + got.len()], "peek bytes");
                let want = len.map_or(m.len() - from, |l| (l as usize).min(m.len() - from));
                if n <= v.len() {
                    assert!(got.len() >= want, "peek covers {} of {want}", got.len());
                }
                assert_eq!(n == 0, want == 0, "peek count {n} for {want} bytes");
            }
            Pullup { b, n } => {
                let i = *b as usize % BUFS;
                let len = self.model[i].len();
                let k = n.map_or(len, usize::from);
                let got = self.bufs[i].pullup(n.map(usize::from)).map(|s| s.to_vec());
                if k == 0 || k > len {
                    assert!(got.is_none(), "pullup({k}) of {len} bytes");
                } else {
                    let got = got.expect("pullup within the length");
                    assert_eq!(&got[..], &self.model[i][..k], "pullup bytes");
                    let first = self.bufs[i].chunks().next().map_or(0, <[u8]>::len);
                    assert!(first >= k, "pullup({k}) left a first chain of {first}");
                }
            }
            Readln { b, style } => {
                let i = *b as usize % BUFS;
                let m = &self.model[i];
                let got = self.bufs[i].readln(style.eol());
                match naive_eol(m, 0, *style) {
                    Some((p, eol)) => {
                        assert_eq!(got.as_deref(), Some(&m[..p]), "readln {style:?}");
                        self.model[i].drain(..p + eol);
                    }
                    None => assert!(got.is_none(), "readln {style:?} of an incomplete line"),
                }
            }
            ReadlnBounded { b, style, max } => {
                let i = *b as usize % BUFS;
                let m = &self.model[i];
                let got = self.bufs[i].readln_bounded(style.eol(), *max as usize);
                match naive_readln_bounded(m, *style, *max as usize) {
                    Err(TooLong) => {
                        assert!(got.is_err(), "readln_bounded {style:?} {max}: {got:?}")
                    }
                    Ok(None) => assert!(matches!(got, Ok(None)), "{got:?}"),
                    Ok(Some((p, eol))) => {
                        let line = got.expect("readln_bounded").expect("a line");
                        assert_eq!(&line[..], &m[..p]);
                        self.model[i].drain(..p + eol);
                    }
                }
            }
            ReadlnInto { b, style, cap } => {
                let i = *b as usize % BUFS;
                let m = &self.model[i];
                let mut out = vec![0u8; *cap as usize % 512];
                let got = self.bufs[i].readln_into(style.eol(), &mut out);
                match naive_readln_bounded(m, *style, out.len()) {
                    Err(TooLong) => assert!(got.is_err(), "readln_into {style:?}: {got:?}"),
                    Ok(None) => assert!(matches!(got, Ok(None)), "{got:?}"),
                    Ok(Some((p, eol))) => {
                        assert_eq!(got.expect("readln_into"), Some(p));
                        assert_eq!(&out[..p], &m[..p]);
                        self.model[i].drain(..p + eol);
                    }
                }
            }
            Search {
                b,
                what,
                start,
                end,
            } => {
                let i = *b as usize % BUFS;
                let m = &self.model[i];
                let buf = &self.bufs[i];
                let start = start.map(|s| (s as usize).min(m.len()));
                let end = end.map(|e| (e as usize).min(m.len()));
                let sp = start.map(|s| ptr_at(buf, s));
                let ep = end.map(|e| ptr_at(buf, e));
                let got = buf.search_range(what, sp.as_ref(), ep.as_ref());
                let want = naive_search(m, what, start.unwrap_or(0), end);
                assert_eq!(got.map(|p| p.pos()), want, "search_range {what:?}");
                if end.is_none() {
                    let got2 = buf.search(what, sp.as_ref());
                    assert_eq!(got2.map(|p| p.pos()), want, "search {what:?}");
                }
                if let Some(p) = got {
                    // The returned position's cached location is right.
                    let mut out = vec![0u8; what.len()];
                    assert_eq!(buf.copyout_from(&p, &mut out).ok(), Some(what.len()));
                    assert_eq!(&out, what);
                }
            }
            SearchEol { b, start, style } => {
                let i = *b as usize % BUFS;
                let m = &self.model[i];
                let buf = &self.bufs[i];
                let start = start.map(|s| (s as usize).min(m.len()));
                let sp = start.map(|s| ptr_at(buf, s));
                let got = buf.search_eol(sp.as_ref(), style.eol());
                let want = naive_eol(m, start.unwrap_or(0), *style);
                assert_eq!(got.map(|(p, n)| (p.pos(), n)), want, "search_eol {style:?}");
                if let Some((p, _)) = got {
                    let mut out = [0u8; 1];
                    assert_eq!(buf.copyout_from(&p, &mut out).ok(), Some(1));
                    assert_eq!(out[0], m[p.pos()]);
                }
            }
            PtrAdd { b, set, add } => {
                let i = *b as usize % BUFS;
                let len = self.model[i].len();
                let buf = &self.bufs[i];
                let set = (*set as usize).min(len);
                let mut p = ptr_at(buf, set);
                let r = buf.ptr_set(&mut p, *add as usize, PtrHow::Add);
                let target = set + *add as usize;
                assert_eq!(r.is_ok(), target <= len, "ptr add");
                let want = if r.is_ok() { target } else { set };
                assert_eq!(p.pos(), want, "ptr position after add");
                let mut out = [0u8; 4];
                let k = buf.copyout_from(&p, &mut out).expect("copyout_from");
                let m = &self.model[i][want..];
                assert_eq!(
                    &out[..k],
                    &m[..m.len().min(4)],
                    "copyout_from after ptr add"
                );
            }
            Reserve { b, n, fill, commit } => {
                let i = *b as usize % BUFS;
                let n = *n as usize;
                let before = self.model[i].len();
                let room = self.bufs[i].reserve_space(n).expect("reserve_space");
                assert_eq!(room.len(), n, "reserved room");
                fill_pattern(room, *fill, 0);
                let mut written = vec![0u8; n];
                fill_pattern(&mut written, *fill, 0);
                assert_eq!(self.bufs[i].len(), before, "reserve changed the length");
                self.resv[i] = Some(written);
                if let Some(c) = commit {
                    let c = *c as usize;
                    let r = self.bufs[i].commit_space(c);
                    assert_eq!(r.is_ok(), c <= n, "fresh commit {c} of {n}: {r:?}");
                    self.after_commit(i, c, r.is_ok());
                }
            }
            ReserveVectored {
                b,
                n,
                vecs,
                fill,
                commit,
            } => {
                let i = *b as usize % BUFS;
                let n = *n as usize;
                let nv = (*vecs as usize % 4) + 1;
                let mut written = Vec::new();
                {
                    let mut empties: Vec<[u8; 0]> = vec![[]; nv];
                    let mut v: Vec<IoSliceMut<'_>> =
                        empties.iter_mut().map(|e| IoSliceMut::new(e)).collect();
                    let used = self.bufs[i]
                        .reserve_space_vectored(n, &mut v)
                        .expect("reserve_space_vectored");
                    // No extent for an empty reservation (as libevent's n_vec > 1 path).
                    assert!(used <= nv && (used > 0 || n == 0), "extents used: {used}");
                    for s in &mut v[..used] {
                        fill_pattern(s, *fill, written.len());
                        written.extend_from_slice(s);
                    }
                    assert!(written.len() >= n, "reserved {} of {n}", written.len());
                }
                written.truncate(n);
                self.resv[i] = Some(written);
                if let Some(c) = commit {
                    let c = *c as usize;
                    let r = self.bufs[i].commit_space(c);
                    assert_eq!(r.is_ok(), c <= n, "fresh commit {c} of {n}: {r:?}");
                    self.after_commit(i, c, r.is_ok());
                }
            }
            Commit { b, n } => {
                let i = *b as usize % BUFS;
                let r = self.bufs[i].commit_space(*n as usize);
                // The reservation may have gone stale; a successful commit
                // must commit the bytes written in the room.
                if r.is_ok() {
                    assert!(self.resv[i].is_some(), "commit without a reservation");
                }
                self.after_commit(i, *n as usize, r.is_ok());
            }
            Expand { b, n } => {
                let i = *b as usize % BUFS;
                self.bufs[i].expand(*n as usize).expect("expand");
                self.resv[i] = None;
            }
            ExpandHuge { b } => {
                let i = *b as usize % BUFS;
                assert!(self.bufs[i].expand(usize::MAX).is_err());
                assert!(self.bufs[i].reserve_space(usize::MAX).is_err());
            }
        }
    }

    fn after_commit(&mut self, i: usize, n: usize, ok: bool) {
        if ok {
            let r = self.resv[i].take().expect("a reservation");
            assert!(
                n <= r.len(),
                "committed {n} of a {}-byte reservation",
                r.len()
            );
            self.model[i].extend_from_slice(&r[..n]);
        }
        // A refused commit changes nothing: a pending reservation stays
        // pending (an oversized commit), a stale one stays stale.
    }

    fn add(&mut self, b: u8, data: &[u8]) {
        let i = b as usize % BUFS;
        if self.model[i].len() + data.len() <= CAP {
            self.bufs[i].add(data).expect("add");
            self.model[i].extend_from_slice(data);
        }
    }

    fn prepend(&mut self, b: u8, data: &[u8]) {
        let i = b as usize % BUFS;
        if self.model[i].len() + data.len() <= CAP {
            self.bufs[i].prepend(data).expect("prepend");
            let m = &mut self.model[i];
            let mut v = Vec::with_capacity(data.len() + m.len());
            v.extend_from_slice(data);
            v.extend_from_slice(m);
            *m = v;
        }
    }
}

/// Runs a program's first [`MAX_OPS`] ops, with [`Checker::check_after`]
/// after each and the full check at the end.
pub fn run_program(p: &Program) {
    let mut c = Checker::new();
    for (k, op) in p.ops.iter().take(MAX_OPS).enumerate() {
        c.apply(op);
        c.check_after(k);
    }
    c.check();
}

// ---------------------------------------------------------------------------
// Differential readln / search
// ---------------------------------------------------------------------------

/// A buffer built from pieces (one chain each, via `add_buffer`) and the
/// queries to compare with the naive answers.
#[derive(Arbitrary, Debug, Clone)]
pub struct Differential {
    pub pieces: Vec<Vec<u8>>,
    /// Needles for `search` / `search_range`, with start and end offsets.
    pub needles: Vec<(Vec<u8>, u16, Option<u16>)>,
    /// Offsets for `search_eol`.
    pub eol_starts: Vec<u16>,
    /// Limit for `readln_bounded`.
    pub max: u16,
}

/// Builds the buffer and compares every readln style, search, search_range
/// and search_eol with the naive implementation over the flattened bytes.
pub fn check_differential(d: &Differential) {
    let build = || {
        let mut b = Evbuffer::new();
        for p in &d.pieces {
            let mut c = Evbuffer::new();
            c.add(p).expect("add");
            b.add_buffer(&mut c).expect("add_buffer");
            b.assert_invariants();
        }
        b
    };
    let hay: Vec<u8> = d.pieces.concat();
    let buf = build();
    assert!(same_bytes(&buf, &hay));
    let len = hay.len();
    for (what, start, end) in &d.needles {
        let start = (*start as usize).min(len);
        let end = end.map(|e| (e as usize).min(len));
        let sp = ptr_at(&buf, start);
        let ep = end.map(|e| ptr_at(&buf, e));
        let want = naive_search(&hay, what, start, end);
        let got = buf.search_range(what, Some(&sp), ep.as_ref());
        assert_eq!(
            got.map(|p| p.pos()),
            want,
            "search_range {what:?} {start} {end:?}"
        );
        let want0 = naive_search(&hay, what, 0, None);
        assert_eq!(
            buf.search(what, None).map(|p| p.pos()),
            want0,
            "search {what:?}"
        );
    }
    for &s in d.eol_starts.iter().chain(std::iter::once(&0)) {
        let s = (s as usize).min(len);
        let sp = ptr_at(&buf, s);
        for style in Style::ALL {
            let got = buf.search_eol(Some(&sp), style.eol());
            let want = naive_eol(&hay, s, style);
            assert_eq!(
                got.map(|(p, n)| (p.pos(), n)),
                want,
                "search_eol {style:?} from {s}"
            );
        }
    }
    // Read every line in each style until none is left.
    for style in Style::ALL {
        let mut b = build();
        let mut rest = &hay[..];
        loop {
            let got = b.readln(style.eol());
            b.assert_invariants();
            match naive_eol(rest, 0, style) {
                Some((p, eol)) => {
                    assert_eq!(got.as_deref(), Some(&rest[..p]), "readln {style:?}");
                    rest = &rest[p + eol..];
                }
                None => {
                    assert!(got.is_none(), "readln {style:?} of an incomplete line");
                    break;
                }
            }
            assert!(same_bytes(&b, rest));
        }
        assert!(same_bytes(&b, rest));
        let mut b = build();
        let got = b.readln_bounded(style.eol(), d.max as usize);
        match naive_readln_bounded(&hay, style, d.max as usize) {
            Err(TooLong) => assert!(got.is_err(), "readln_bounded {style:?}: {got:?}"),
            Ok(None) => assert!(matches!(got, Ok(None))),
            Ok(Some((p, _))) => {
                assert_eq!(got.expect("ok").as_deref(), Some(&hay[..p]));
            }
        }
        b.assert_invariants();
    }
}

// ---------------------------------------------------------------------------
// Replaying corpus files (what `tests/evbuffer.rs` does)
// ---------------------------------------------------------------------------

/// Decodes `data` as libfuzzer-sys does for a target taking `T` and runs
/// it; inputs that do not decode are skipped (as the target skips them).
pub fn replay(target: &str, data: &[u8]) {
    let u = Unstructured::new(data);
    match target {
        "evbuffer_ops" | "evbuffer_arena" => {
            if let Ok(p) = Program::arbitrary_take_rest(u) {
                run_program(&p);
            }
        }
        "readln_search" => {
            if let Ok(d) = Differential::arbitrary_take_rest(u) {
                check_differential(&d);
            }
        }
        other => panic!("unknown target {other}"),
    }
}
