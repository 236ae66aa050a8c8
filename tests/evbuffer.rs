//! Evbuffer (tutorial ch. 8, `evbuffer_*`): libevent's `evbuffer/`
//! regression cases that apply to the core (adds, prepends, moves between
//! buffers, drain / remove / copyout / peek / pullup, expand and its
//! overflow, reserve / commit, readln in every EOL style, search and
//! positions, the empty-chain regressions, the 100 000-small-appends waste
//! check) and op-program property tests against a `VecDeque<u8>` model with
//! `assert_invariants()` after every operation.

mod util;

use std::collections::VecDeque;
use std::io::{IoSlice, IoSliceMut, Read, Write};

use proptest::prelude::*;
use rvent::{EolStyle, Error, Evbuffer, EvbufferPtr, PtrHow};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn content(b: &Evbuffer) -> Vec<u8> {
    b.assert_invariants();
    b.chunks().flatten().copied().collect()
}

/// A buffer whose chains hold exactly `parts` (one chain each).
fn chained(parts: &[&[u8]]) -> Evbuffer {
    let mut b = Evbuffer::new();
    for p in parts {
        let mut c = Evbuffer::new();
        c.add(p).unwrap();
        b.add_buffer(&mut c).unwrap();
    }
    b.assert_invariants();
    b
}

fn ptr(b: &Evbuffer, pos: usize) -> EvbufferPtr {
    let mut p = EvbufferPtr::default();
    b.ptr_set(&mut p, pos, PtrHow::Set).unwrap();
    p
}

fn peek_all(b: &Evbuffer) -> Vec<Vec<u8>> {
    let n = b.peek(None, None, &mut []);
    let mut v = vec![IoSlice::new(&[]); n];
    assert_eq!(b.peek(None, None, &mut v), n);
    v.iter().map(|s| s.to_vec()).collect()
}

// ---------------------------------------------------------------------------
// evbuffer/evbuffer: the basic tour
// ---------------------------------------------------------------------------

#[test]
fn basic_tour() {
    let mut buf = Evbuffer::new();
    let mut two = Evbuffer::new();
    buf.add_fmt(format_args!("{}/{}", "hello", 1)).unwrap();
    assert_eq!(content(&buf), b"hello/1");
    buf.drain(buf.len()).unwrap();
    assert!(buf.is_empty());

    let data = [0u8; 512];
    buf.add(&data).unwrap();
    two.add(&data).unwrap();
    buf.add_buffer(&mut two).unwrap();
    assert!(two.is_empty());
    assert_eq!(buf.len(), 1024);
    buf.drain(buf.len()).unwrap();

    // prepend + pullup
    two.add(b"world").unwrap();
    buf.add(b"hello ").unwrap();
    two.prepend_buffer(&mut buf).unwrap();
    assert_eq!(two.pullup(None).unwrap(), b"hello world");
    two.drain(two.len()).unwrap();

    // remove_buffer of 2.5 x 512 bytes
    let mut tmp = [0u8; 512];
    for (i, b) in tmp.iter_mut().enumerate() {
        *b = i as u8;
    }
    for _ in 0..3 {
        buf.add(&tmp).unwrap();
    }
    assert_eq!(buf.remove_buffer(&mut two, 512 * 5 / 2).unwrap(), 1280);
    assert_eq!((buf.len(), two.len()), (256, 1280));
    let c = content(&two);
    assert_eq!(&c[..512], &tmp[..]);
    assert_eq!(&c[1024..], &tmp[..256]);
    assert_eq!(content(&buf), &tmp[256..]);

    // reserve + commit of 10 KB
    let mut big = Evbuffer::new();
    let room = big.reserve_space(10_000).unwrap();
    assert_eq!(room.len(), 10_000);
    room.fill(7);
    big.commit_space(10_000).unwrap();
    assert_eq!(big.len(), 10_000);
    assert!(content(&big).iter().all(|&b| b == 7));
}

// ---------------------------------------------------------------------------
// Empty-chain regressions (libevent #358, #774, #778; Envoy's fuzzer).
// libevent makes empty chains with zero-length references; rvent has none
// in the middle by construction, and its empty chains (from expand and
// reserve) are trailing: these cases move, prepend and pull up around them.
// ---------------------------------------------------------------------------

/// A buffer with `data` and an empty chain after it.
fn with_trailing_empty(data: &[u8]) -> Evbuffer {
    let mut b = Evbuffer::new();
    b.add(data).unwrap();
    b.expand(64 * 1024).unwrap(); // data + a fresh trailing chain or a bigger chain
    b.assert_invariants();
    b
}

#[test]
fn remove_buffer_with_empty() {
    let mut src = with_trailing_empty(b"foo");
    let mut dst = Evbuffer::new();
    dst.expand(10).unwrap();
    assert_eq!(src.remove_buffer(&mut dst, 3).unwrap(), 3);
    assert_eq!(content(&dst), b"foo");
    assert!(content(&src).is_empty());
}

#[test]
fn remove_buffer_with_empty2() {
    let mut src = Evbuffer::new();
    src.expand(10).unwrap(); // empty chain
    let mut dst = with_trailing_empty(b"foo");
    let mut more = Evbuffer::new();
    more.add(b"bar").unwrap();
    src.add_buffer(&mut more).unwrap();
    src.add(b"baz").unwrap();
    assert_eq!(src.remove_buffer(&mut dst, 4).unwrap(), 4);
    assert_eq!(content(&dst), b"foobarb");
    assert_eq!(content(&src), b"az");
    dst.add(b"!").unwrap();
    assert_eq!(content(&dst), b"foobarb!");
}

#[test]
fn remove_buffer_with_empty3() {
    let mut src = chained(&[b"foo", b"bar"]);
    src.expand(100_000).unwrap();
    let mut dst = with_trailing_empty(b"x");
    assert_eq!(src.remove_buffer(&mut dst, 6).unwrap(), 6);
    assert_eq!(content(&dst), b"xfoobar");
    assert!(src.is_empty());
    src.add(b"y").unwrap();
    assert_eq!(content(&src), b"y");
}

#[test]
fn remove_buffer_with_empty_front() {
    let mut src = Evbuffer::new();
    src.expand(100).unwrap();
    src.add(b"abc").unwrap();
    let mut dst = Evbuffer::new();
    assert_eq!(src.remove_buffer(&mut dst, 1).unwrap(), 1);
    assert_eq!(content(&dst), b"a");
    assert_eq!(content(&src), b"bc");
}

#[test]
fn remove_buffer_adjust_last_with_data_with_empty() {
    let mut src = chained(&[&[b'a'; 2000], &[b'b'; 3000]]);
    src.expand(50_000).unwrap();
    let mut dst = with_trailing_empty(&[b'c'; 5000]);
    assert_eq!(src.remove_buffer(&mut dst, 2500).unwrap(), 2500);
    dst.add(b"END").unwrap();
    let c = content(&dst);
    assert_eq!(c.len(), 7503);
    assert_eq!(&c[c.len() - 3..], b"END");
    assert_eq!(c[5000], b'a');
    assert_eq!(c[7499], b'b');
    src.add(b"end").unwrap();
    assert_eq!(&content(&src)[2500..], b"end");
}

#[test]
fn add_buffer_with_empty() {
    let mut a = with_trailing_empty(b"foo");
    let mut b = with_trailing_empty(b"bar");
    a.add_buffer(&mut b).unwrap();
    assert_eq!(content(&a), b"foobar");
    a.add(b"baz").unwrap();
    assert_eq!(content(&a), b"foobarbaz");
    b.add(b"x").unwrap();
    assert_eq!(content(&b), b"x");
}

#[test]
fn add_buffer_with_empty2() {
    let mut a = Evbuffer::new();
    a.expand(10).unwrap();
    let mut b = with_trailing_empty(b"bar");
    a.add_buffer(&mut b).unwrap();
    a.add(b"!").unwrap();
    assert_eq!(content(&a), b"bar!");
    let mut empty = Evbuffer::new();
    empty.expand(10).unwrap();
    a.add_buffer(&mut empty).unwrap();
    assert_eq!(content(&a), b"bar!");
}

#[test]
fn pullup_with_empty() {
    let mut b = Evbuffer::new();
    b.expand(10).unwrap();
    assert!(b.pullup(None).is_none());
    assert!(b.pullup(Some(1)).is_none());
    let mut b = with_trailing_empty(b"foo");
    assert_eq!(b.pullup(Some(3)).unwrap(), b"foo");
    b.assert_invariants();
}

#[test]
fn empty_reference_prepend() {
    let mut b = Evbuffer::new();
    b.expand(10).unwrap();
    b.prepend(b"foo").unwrap();
    assert_eq!(content(&b), b"foo");
    b.add(b"bar").unwrap();
    assert_eq!(content(&b), b"foobar");
}

#[test]
fn empty_reference_prepend_buffer() {
    let mut a = Evbuffer::new();
    a.expand(10).unwrap();
    let mut b = with_trailing_empty(b"foo");
    a.prepend_buffer(&mut b).unwrap();
    assert_eq!(content(&a), b"foo");
    a.add(b"x").unwrap();
    assert_eq!(content(&a), b"foox");
    let mut c = Evbuffer::new();
    c.add(b"bar").unwrap();
    let mut d = with_trailing_empty(b"0");
    c.prepend_buffer(&mut d).unwrap();
    assert_eq!(content(&c), b"0bar");
}

// ---------------------------------------------------------------------------
// reserve / commit
// ---------------------------------------------------------------------------

#[test]
fn reserve2() {
    let mut buf = Evbuffer::new();
    let room = buf.reserve_space(1024).unwrap();
    room[..1].fill(b'X');
    buf.commit_space(1).unwrap();
    let room = buf.reserve_space(920).unwrap();
    room[..920].fill(b'Y');
    buf.commit_space(920).unwrap();
    assert_eq!(buf.len(), 921);
    let room = buf.reserve_space(60).unwrap();
    room.fill(b'Z');
    buf.commit_space(60).unwrap();
    let c = content(&buf);
    assert_eq!(c.len(), 981);
    assert_eq!(c[0], b'X');
    assert!(c[1..921].iter().all(|&b| b == b'Y'));
    assert!(c[921..].iter().all(|&b| b == b'Z'));
}

#[test]
fn reserve_many() {
    let mut buf = Evbuffer::new();
    let mut want = Vec::new();
    for i in 0..20u8 {
        let n = 100 + 300 * i as usize;
        let room = buf.reserve_space(n).unwrap();
        room.fill(i);
        buf.commit_space(n / 2).unwrap();
        want.extend(std::iter::repeat_n(i, n / 2));
        assert_eq!(content(&buf), want);
    }
}

#[test]
fn reserve2_vectored() {
    // libevent's reserve2 with two vectors: room split over two chains.
    let mut buf = Evbuffer::new();
    buf.add(&[b'x'; 921]).unwrap(); // a 1 KiB chain: 103 bytes of room
    let (mut a, mut b) = ([0u8; 0], [0u8; 0]);
    let mut v = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
    assert_eq!(buf.reserve_space_vectored(60, &mut v).unwrap(), 1);
    assert_eq!(v[0].len(), 60, "fits the first chain: one extent");
    let mut v = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
    assert_eq!(buf.reserve_space_vectored(1000, &mut v).unwrap(), 2);
    assert_eq!((v[0].len(), v[1].len()), (103, 897));
    v[0].fill(b'y');
    v[1].fill(b'z');
    buf.commit_space(200).unwrap(); // a partial commit spanning both
    let c = content(&buf);
    assert_eq!(c.len(), 1121);
    assert!(c[921..1024].iter().all(|&x| x == b'y'));
    assert!(c[1024..].iter().all(|&x| x == b'z'));
    assert_eq!(
        peek_all(&buf).iter().map(Vec::len).collect::<Vec<_>>(),
        [1024, 97]
    );
    let mut none: [IoSliceMut; 0] = [];
    assert!(buf.reserve_space_vectored(1, &mut none).is_err());
}

#[test]
fn reserve_many_vectored() {
    // Growing reservations over up to three chains, committed in full.
    let mut buf = Evbuffer::new();
    let mut want = Vec::new();
    for i in 0..12u8 {
        let n = 700 * (i as usize + 1);
        let mut bufs = [[0u8; 0]; 3];
        let [a, b, c] = &mut bufs;
        let mut v = [IoSliceMut::new(a), IoSliceMut::new(b), IoSliceMut::new(c)];
        let used = buf.reserve_space_vectored(n, &mut v).unwrap();
        assert!((1..=3).contains(&used));
        assert_eq!(v[..used].iter().map(|s| s.len()).sum::<usize>(), n);
        for s in &mut v[..used] {
            s.fill(i);
        }
        buf.commit_space(n).unwrap();
        want.extend(std::iter::repeat_n(i, n));
        assert_eq!(content(&buf), want);
    }
}

#[test]
fn reserve_with_empty() {
    let mut buf = Evbuffer::new();
    buf.expand(10).unwrap();
    buf.prepend(b"a").unwrap();
    let room = buf.reserve_space(16).unwrap();
    room[..2].copy_from_slice(b"bc");
    buf.commit_space(2).unwrap();
    assert_eq!(content(&buf), b"abc");
}

#[test]
fn stale_and_oversized_commits_are_refused() {
    let mut buf = Evbuffer::new();
    assert!(matches!(buf.commit_space(1), Err(Error::BadState(_))));
    buf.reserve_space(8).unwrap();
    assert!(matches!(
        buf.commit_space(9),
        Err(Error::InvalidArgument(_))
    ));
    buf.drain(0).unwrap();
    buf.add(b"x").unwrap();
    assert!(matches!(buf.commit_space(1), Err(Error::BadState(_))));
    assert_eq!(content(&buf), b"x");
    buf.reserve_space(4).unwrap().copy_from_slice(b"abcd");
    buf.commit_space(4).unwrap();
    assert!(buf.commit_space(0).is_err(), "a reservation commits once");
    assert_eq!(content(&buf), b"xabcd");
}

// ---------------------------------------------------------------------------
// libevent's reserve / commit regression cases (regress_buffer.c), ported:
// the test names are libevent's. Extents are compared by address (libevent
// compares `iov_base`). Where rvent differs, the assertion says so: an
// extent is as long as what was asked for, where libevent may hand out a
// chain's whole room.
// ---------------------------------------------------------------------------

mod regress_buffer {
    use super::*;

    /// Three empty extent slots, for `reserve_space_vectored`.
    fn slots<'a>(store: &'a mut [[u8; 0]; 3]) -> [IoSliceMut<'a>; 3] {
        let [a, b, c] = store;
        [IoSliceMut::new(a), IoSliceMut::new(b), IoSliceMut::new(c)]
    }

    /// Reserves `n` bytes in up to `nv` extents; returns their addresses
    /// and lengths, after `fill` wrote into them.
    fn reserve(
        buf: &mut Evbuffer,
        n: usize,
        nv: usize,
        fill: impl FnOnce(&mut [IoSliceMut<'_>]),
    ) -> Vec<(usize, usize)> {
        let mut store = [[0u8; 0]; 3];
        let mut v = slots(&mut store);
        let used = buf.reserve_space_vectored(n, &mut v[..nv]).unwrap();
        fill(&mut v[..used]);
        v[..used]
            .iter()
            .map(|s| (s.as_ptr() as usize, s.len()))
            .collect()
    }

    /// `test_evbuffer_reserve2`: the two-vector cases, ending with a
    /// commit of part of the first extent and part of the second.
    #[test]
    fn reserve2() {
        let mut buf = Evbuffer::new();

        // The first reservation is one chain; use 512 bytes of it.
        let v = reserve(&mut buf, 1024, 2, |v| v[0][..512].fill(b'X'));
        assert_eq!(v.len(), 1);
        assert_eq!(buf.len(), 0);
        assert!(v[0].1 >= 1024);
        let cp = v[0].0;
        let mut remaining = v[0].1 - 512;
        buf.assert_invariants();
        buf.commit_space_vectored(&[512]).unwrap();
        assert_eq!(buf.len(), 512);
        buf.assert_invariants();

        // Another request in the same chain; use 8 bytes of it.
        let v = reserve(&mut buf, 32, 2, |v| v[0][..8].fill(b'Y'));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0, cp + 512);
        assert_eq!(
            v[0].1, 32,
            "what was asked (libevent: the chain's {remaining})"
        );
        buf.commit_space_vectored(&[8]).unwrap();
        assert_eq!(buf.len(), 520);
        remaining -= 8;
        buf.assert_invariants();

        // A request that is split; use one byte of the first extent only.
        let v = reserve(&mut buf, remaining + 64, 2, |v| v[0][..1].fill(b'Z'));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], (cp + 520, remaining));
        assert!(v[1].1 >= 64);
        let cp2 = v[1].0;
        buf.commit_space_vectored(&[1]).unwrap();
        assert_eq!(buf.len(), 521);
        remaining -= 1;
        buf.assert_invariants();

        // Split again; use some of the first extent and some of the second.
        let v = reserve(&mut buf, remaining + 64, 2, |v| {
            v[0][..400].fill(b'W');
            v[1][..60].fill(b'x');
        });
        buf.assert_invariants();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], (cp + 521, remaining));
        assert_eq!(v[1].0, cp2, "the second chain's room is used again");
        assert!(v[1].1 >= 64);
        buf.commit_space_vectored(&[400, 60]).unwrap();
        assert_eq!(buf.len(), 981);
        buf.assert_invariants();

        // Peek to see the layout: 921 bytes in the first chain, 60 in the
        // second.
        let mut p = [IoSlice::new(&[]), IoSlice::new(&[])];
        assert_eq!(buf.peek(None, None, &mut p), 2);
        assert_eq!((p[0].len(), p[1].len()), (921, 60));
        let first = &*p[0];
        assert!(first[..512].iter().all(|&c| c == b'X'));
        assert!(first[512..520].iter().all(|&c| c == b'Y'));
        assert_eq!(first[520], b'Z');
        assert!(first[521..].iter().all(|&c| c == b'W'));
        assert!(p[1].iter().all(|&c| c == b'x'));
    }

    /// The room after the data (no chain here has room before its data):
    /// what libevent's extents would add up to, as it hands out whole
    /// rooms where rvent hands out what was asked for.
    fn room(buf: &Evbuffer) -> usize {
        buf.chain_stats().1 - buf.len()
    }

    /// `test_evbuffer_reserve_many` with its three setups: nothing
    /// committed (`reserve_many`), one byte committed (`"add"`,
    /// `reserve_many2`), the first chain filled (`"fill"`,
    /// `reserve_many3`). libevent reads the sizes it asks for next from
    /// the extents' lengths; the port reads them from [`room`].
    #[derive(Clone, Copy, PartialEq)]
    enum Setup {
        Plain,
        Add,
        Fill,
    }

    fn reserve_many_case(setup: Setup) {
        let mut buf = Evbuffer::new();

        // Reserving the first extent just allocates it.
        let v = reserve(&mut buf, 128, 2, |v| {
            if setup == Setup::Add {
                v[0][0] = b'X';
            }
        });
        buf.assert_invariants();
        assert_eq!(v.len(), 1);
        assert!(v[0].1 >= 128);
        let mut cp1 = v[0].0;
        let mut sz = room(&buf);
        match setup {
            Setup::Plain => {}
            Setup::Add => buf.commit_space_vectored(&[1]).unwrap(),
            Setup::Fill => {
                let v = reserve(&mut buf, sz, 2, |v| v[0].fill(b'X'));
                assert_eq!(v, [(cp1, sz)], "the same room, all of it");
                buf.commit_space_vectored(&[sz]).unwrap();
                let v = reserve(&mut buf, 128, 2, |_| {});
                assert_eq!(v.len(), 1);
                assert_ne!(v[0].0, cp1, "a full chain gives no room");
                cp1 = v[0].0;
                sz = room(&buf);
            }
        }

        // Another chain gets added.
        let v = reserve(&mut buf, sz + 128, 2, |_| {});
        buf.assert_invariants();
        assert_eq!(v.len(), 2);
        let sz = room(&buf);
        assert!(sz >= v[0].1 + 128);
        let expect = if setup == Setup::Add { cp1 + 1 } else { cp1 };
        assert_eq!(v[0].0, expect);
        let (cp1, cp2) = (v[0].0, v[1].0);

        // And a third.
        let v = reserve(&mut buf, sz + 128, 3, |_| {});
        buf.assert_invariants();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].0, v[1].0), (cp1, cp2));
        let sz = room(&buf);

        // More room in only two extents forces a reallocation: the empty
        // chains are replaced by one, next to the last chain with data.
        let v = reserve(&mut buf, sz + 128, 2, |_| {});
        buf.assert_invariants();
        if setup == Setup::Add {
            assert_eq!(v.len(), 2);
            assert_eq!(v[0].0, cp1);
        } else {
            assert_eq!(v.len(), 1);
        }
    }

    #[test]
    fn reserve_many() {
        reserve_many_case(Setup::Plain);
    }

    #[test]
    fn reserve_many2() {
        reserve_many_case(Setup::Add);
    }

    #[test]
    fn reserve_many3() {
        reserve_many_case(Setup::Fill);
    }

    /// `test_evbuffer_reserve_with_empty`: a two-extent reservation after
    /// a small add, one byte committed into the first extent.
    #[test]
    fn reserve_with_empty() {
        let mut buf = Evbuffer::new();
        buf.add(b"a").unwrap();
        let v = reserve(&mut buf, 1 << 12, 2, |v| v[0][0] = b'b');
        assert_eq!(v.len(), 2);
        buf.commit_space_vectored(&[1]).unwrap();
        buf.add(b"c").unwrap();
        assert_eq!(buf.pullup(None).as_deref(), Some(&b"abc"[..]));
        buf.assert_invariants();
    }

    /// `test_evbuffer_reserve_invalid_last_with_datap`: an empty reference
    /// and a prepend, then every extent committed with length 0, then a
    /// bigger reservation.
    #[test]
    fn reserve_invalid_last_with_datap() {
        let mut buf = Evbuffer::new();
        buf.add_reference(&b""[..]).unwrap();
        buf.prepend(b"foo").unwrap();
        buf.add(b"").unwrap();
        let v = reserve(&mut buf, 1 << 12, 2, |_| {});
        assert!(!v.is_empty());
        buf.commit_space_vectored(&vec![0; v.len()]).unwrap();
        buf.assert_invariants();
        let v = reserve(&mut buf, 1 << 13, 2, |_| {});
        assert!(!v.is_empty());
        buf.assert_invariants();
        assert_eq!(content(&buf), b"foo");
    }
}

#[test]
fn commit_space_vectored_drops_extents_left_empty_before_data() {
    // An empty first chain (1 KiB of room) and a new one: libevent
    // would keep the empty chain in front of the data.
    let mut buf = Evbuffer::new();
    buf.add(b"x").unwrap();
    buf.drain(1).unwrap();
    let (mut a, mut b) = ([0u8; 0], [0u8; 0]);
    let mut v = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
    assert_eq!(buf.reserve_space_vectored(1100, &mut v).unwrap(), 2);
    assert_eq!((v[0].len(), v[1].len()), (1024, 76));
    v[1][..60].fill(b'z');
    buf.commit_space_vectored(&[0, 60]).unwrap();
    buf.assert_invariants();
    assert_eq!(content(&buf), [b'z'; 60]);
    assert_eq!(buf.chain_stats().0, 1, "the empty chain is gone");

    // A zero length between two extents with data, over three chains.
    let mut buf = Evbuffer::new();
    buf.add(&[b'a'; 1000]).unwrap(); // a 1 KiB chain: 24 bytes of room
    {
        // Leaves an empty 2 KiB chain after the data.
        let (mut p, mut q) = ([0u8; 0], [0u8; 0]);
        let mut v = [IoSliceMut::new(&mut p), IoSliceMut::new(&mut q)];
        assert_eq!(buf.reserve_space_vectored(24 + 2048, &mut v).unwrap(), 2);
    }
    // Another reservation over three chains: the last chain's room, one
    // empty chain, then a new one.
    let mut store = [[0u8; 0]; 3];
    let [p, q, r] = &mut store;
    let mut v = [IoSliceMut::new(p), IoSliceMut::new(q), IoSliceMut::new(r)];
    let used = buf.reserve_space_vectored(24 + 2048 + 100, &mut v).unwrap();
    assert_eq!(used, 3);
    v[0].fill(b'b');
    v[2][..5].fill(b'c');
    buf.commit_space_vectored(&[24, 0, 5]).unwrap();
    buf.assert_invariants();
    let mut want = vec![b'a'; 1000];
    want.extend([b'b'; 24]);
    want.extend([b'c'; 5]);
    assert_eq!(content(&buf), want);
}

#[test]
fn commit_space_vectored_refusals_change_nothing() {
    let mut buf = Evbuffer::new();
    assert!(matches!(
        buf.commit_space_vectored(&[]),
        Err(Error::BadState(_))
    ));
    buf.add(&[b'a'; 1000]).unwrap(); // 24 bytes of room
    let (mut a, mut b) = ([0u8; 0], [0u8; 0]);
    let mut v = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
    assert_eq!(buf.reserve_space_vectored(100, &mut v).unwrap(), 2);
    v[0].fill(b'b');
    v[1].fill(b'c');
    for bad in [&[25, 0][..], &[24, 77], &[0, 0, 0], &[1, 1, 1]] {
        assert!(
            matches!(
                buf.commit_space_vectored(bad),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
        assert_eq!(buf.len(), 1000);
        buf.assert_invariants();
    }
    // The reservation is still pending; a prefix of each extent commits.
    buf.commit_space_vectored(&[24, 76]).unwrap();
    assert_eq!(buf.len(), 1100);
    assert!(matches!(
        buf.commit_space_vectored(&[0]),
        Err(Error::BadState(_))
    ));
    // One extent from reserve_space; a stale reservation is refused.
    buf.reserve_space(8).unwrap().fill(b'd');
    buf.commit_space_vectored(&[3]).unwrap();
    buf.reserve_space(8).unwrap();
    buf.add(b"e").unwrap();
    assert!(matches!(
        buf.commit_space_vectored(&[1]),
        Err(Error::BadState(_))
    ));
    let c = content(&buf);
    assert_eq!(c.len(), 1104);
    assert!(c[1024..1100].iter().all(|&x| x == b'c'));
    assert_eq!(&c[1100..], b"ddde");
}

// ---------------------------------------------------------------------------
// expand, add1/add2 (adds after expand land in order), iterative
// ---------------------------------------------------------------------------

#[test]
fn expand() {
    let mut buf = Evbuffer::new();
    buf.expand(20_000).unwrap();
    let (chains, cap) = buf.chain_stats();
    assert_eq!(chains, 1);
    assert!(cap >= 20_000);
    buf.add(&[1; 20_000]).unwrap();
    assert_eq!(buf.chain_stats(), (1, cap), "expand made the room");

    // No-op when there is room.
    let mut buf = Evbuffer::new();
    buf.add(b"x").unwrap();
    let before = buf.chain_stats();
    buf.expand(100).unwrap();
    assert_eq!(buf.chain_stats(), before);

    // Realigns misaligned small data in place.
    let mut buf = Evbuffer::new();
    buf.add(&[2; 900]).unwrap();
    buf.drain(800).unwrap();
    let before = buf.chain_stats();
    buf.expand(900).unwrap();
    assert_eq!(buf.chain_stats(), before);
    buf.add(&[3; 900]).unwrap();
    assert_eq!(buf.chain_stats(), before);
    let c = content(&buf);
    assert_eq!((c.len(), c[99], c[100]), (1000, 2, 3));

    // Add, expand, pull up (this used to crash libevent).
    let mut buf = Evbuffer::new();
    for _ in 0..3 {
        buf.add(&[b'X'; 4096]).unwrap();
    }
    buf.assert_invariants();
    buf.expand(1024).unwrap();
    buf.assert_invariants();
    assert_eq!(buf.pullup(None).map(|s| s.len()), Some(3 * 4096));
    buf.assert_invariants();
}

#[test]
fn expand_overflow() {
    let mut buf = Evbuffer::new();
    buf.add(b"abc").unwrap();
    assert!(buf.expand(usize::MAX).is_err());
    assert!(buf.expand(usize::MAX - 2).is_err());
    assert!(buf.expand(isize::MAX as usize).is_err());
    assert!(matches!(buf.expand(usize::MAX / 4), Err(Error::Alloc)));
    assert!(buf.reserve_space(usize::MAX).is_err());
    assert_eq!(content(&buf), b"abc");
    let mut empty = Evbuffer::new();
    assert!(empty.expand(usize::MAX).is_err());
    assert!(content(&empty).is_empty());
}

#[test]
fn add1() {
    let mut buf = Evbuffer::new();
    buf.expand(3).unwrap();
    buf.add(b"a").unwrap();
    buf.add_fmt(format_args!("bc{}", 1)).unwrap();
    buf.add(&[b'd'; 4000]).unwrap();
    buf.add(b"e").unwrap();
    let c = content(&buf);
    assert_eq!(&c[..4], b"abc1");
    assert_eq!(c[4003], b'd');
    assert_eq!(c[4004], b'e');
}

#[test]
fn add2() {
    let mut buf = Evbuffer::new();
    buf.add(&[b'a'; 5000]).unwrap();
    buf.expand(70_000).unwrap();
    buf.add(b"b").unwrap();
    buf.add(&[b'c'; 70_000]).unwrap();
    let c = content(&buf);
    assert_eq!(c.len(), 75_001);
    assert_eq!((c[4999], c[5000], c[5001]), (b'a', b'b', b'c'));
}

#[test]
fn iterative() {
    let mut buf = Evbuffer::new();
    let mut want = Vec::new();
    let n = if cfg!(miri) { 2_000 } else { 100_000 };
    for i in 0..n {
        let before = buf.len();
        let k = buf.add_fmt(format_args!("{i}")).unwrap();
        assert_eq!(buf.len(), before + k);
        if i % 1000 == 0 {
            want.extend_from_slice(i.to_string().as_bytes());
        } else {
            want.extend(std::iter::repeat_n(0, 0));
            want.extend_from_slice(i.to_string().as_bytes());
        }
    }
    let (chains, cap) = buf.chain_stats();
    let used = buf.len();
    assert_eq!(content(&buf), want);
    let wasted = cap - used;
    assert!(
        wasted * 8 < used.max(1024 * 8),
        "wasted {wasted} of {cap} bytes in {chains} chains for {used} bytes"
    );
    if !cfg!(miri) {
        assert!(wasted * 8 < used, "waste {wasted} >= 12.5% of {used}");
    }
}

// ---------------------------------------------------------------------------
// readln
// ---------------------------------------------------------------------------

#[test]
fn readln_styles() {
    let mut buf = Evbuffer::new();
    // EOL_ANY: runs of CR/LF
    buf.add(b"complex silly newline\r\n\n\r\n\n\rmore\0\n")
        .unwrap();
    assert_eq!(buf.readln(EolStyle::Any).unwrap(), b"complex silly newline");
    assert_eq!(buf.readln(EolStyle::Any).unwrap(), b"more\0");
    assert!(buf.is_empty());
    buf.add(b"last with no newline").unwrap();
    assert!(buf.readln(EolStyle::Any).is_none());
    assert_eq!(buf.len(), 20);
    buf.drain(100).unwrap();

    // EOL_CRLF: lone CR is data
    buf.add(b"Line with\rin the middle\n").unwrap();
    buf.add(b"Line with good crlf\r\n\nfinal\n").unwrap();
    assert_eq!(
        buf.readln(EolStyle::Crlf).unwrap(),
        b"Line with\rin the middle"
    );
    assert_eq!(buf.readln(EolStyle::Crlf).unwrap(), b"Line with good crlf");
    assert_eq!(buf.readln(EolStyle::Crlf).unwrap(), b"");
    assert_eq!(buf.readln(EolStyle::Crlf).unwrap(), b"final");
    buf.add(b"x").unwrap();
    assert!(buf.readln(EolStyle::Crlf).is_none());
    buf.drain(1).unwrap();

    // EOL_CRLF_STRICT
    buf.add(b" and a bad crlf\nand a good one\r\n\r\n").unwrap();
    buf.add(b"more\r").unwrap();
    assert_eq!(
        buf.readln(EolStyle::CrlfStrict).unwrap(),
        b" and a bad crlf\nand a good one"
    );
    assert_eq!(buf.readln(EolStyle::CrlfStrict).unwrap(), b"");
    assert!(buf.readln(EolStyle::CrlfStrict).is_none());
    buf.add(b"\n").unwrap();
    assert_eq!(buf.readln(EolStyle::CrlfStrict).unwrap(), b"more");
    assert!(buf.is_empty());

    // EOL_LF
    buf.add(b"An\rand a nl\n\nText").unwrap();
    assert_eq!(buf.readln(EolStyle::Lf).unwrap(), b"An\rand a nl");
    assert_eq!(buf.readln(EolStyle::Lf).unwrap(), b"");
    assert!(buf.readln(EolStyle::Lf).is_none());
    assert_eq!(buf.len(), 4);
    buf.drain(4).unwrap();

    // EOL_NUL
    buf.add(b"one\0two\0\0x").unwrap();
    assert_eq!(buf.readln(EolStyle::Nul).unwrap(), b"one");
    assert_eq!(buf.readln(EolStyle::Nul).unwrap(), b"two");
    assert_eq!(buf.readln(EolStyle::Nul).unwrap(), b"");
    assert!(buf.readln(EolStyle::Nul).is_none());
    assert_eq!(content(&buf), b"x");
}

#[test]
fn readln_across_chain_boundaries() {
    let mut buf = chained(&[b"Test\r", b"\nTest2\r", b"\n", b"Test3\r"]);
    assert_eq!(buf.readln(EolStyle::Crlf).unwrap(), b"Test");
    assert_eq!(buf.readln(EolStyle::CrlfStrict).unwrap(), b"Test2");
    assert!(buf.readln(EolStyle::Crlf).is_none());
    assert!(buf.readln(EolStyle::CrlfStrict).is_none());
    let mut more = Evbuffer::new();
    more.add(b"\n").unwrap();
    buf.add_buffer(&mut more).unwrap();
    assert_eq!(buf.readln(EolStyle::Crlf).unwrap(), b"Test3");
    // EOL_ANY: CR then a later LF in another chain counts as one run here.
    let mut buf = chained(&[b"a\r", b"\r\n", b"\nb\n"]);
    assert_eq!(buf.readln(EolStyle::Any).unwrap(), b"a");
    assert_eq!(buf.readln(EolStyle::Any).unwrap(), b"b");
    assert!(buf.is_empty());
}

#[test]
fn readln_bounded_and_into() {
    let mut buf = Evbuffer::new();
    buf.add(b"12345\nabcdefghij\n").unwrap();
    let mut out = [0u8; 8];
    assert_eq!(buf.readln_into(EolStyle::Lf, &mut out).unwrap(), Some(5));
    assert_eq!(&out[..5], b"12345");
    assert!(buf.readln_into(EolStyle::Lf, &mut out).is_err());
    assert_eq!(buf.len(), 11, "too long: nothing consumed");
    assert!(buf.readln_bounded(EolStyle::Lf, 9).is_err());
    assert_eq!(
        buf.readln_bounded(EolStyle::Lf, 10).unwrap().unwrap(),
        b"abcdefghij"
    );
    buf.add(b"0123456789").unwrap();
    assert!(
        buf.readln_bounded(EolStyle::Lf, 9).is_err(),
        "known too long"
    );
    assert_eq!(buf.readln_bounded(EolStyle::Lf, 10).unwrap(), None);
}

// ---------------------------------------------------------------------------
// search, search_eol, ptr_set
// ---------------------------------------------------------------------------

#[test]
fn ptr_set() {
    let buf = chained(&[b"abcd", b"efgh", b"ijkl"]);
    let mut p = EvbufferPtr::default();
    buf.ptr_set(&mut p, 0, PtrHow::Set).unwrap();
    for i in 1..=12 {
        buf.ptr_set(&mut p, 1, PtrHow::Add).unwrap();
        assert_eq!(p.pos(), i);
    }
    assert!(buf.ptr_set(&mut p, 1, PtrHow::Add).is_err());
    assert!(buf.ptr_set(&mut p, usize::MAX, PtrHow::Add).is_err());
    assert!(buf.ptr_set(&mut p, 13, PtrHow::Set).is_err());
    assert_eq!(p.pos(), 12);
    let mut out = [0u8; 4];
    assert_eq!(buf.copyout_from(&p, &mut out).unwrap(), 0, "at the end");
    buf.ptr_set(&mut p, 3, PtrHow::Set).unwrap();
    assert_eq!(buf.copyout_from(&p, &mut out).unwrap(), 4);
    assert_eq!(&out, b"defg");
    let empty = Evbuffer::new();
    assert!(empty.copyout_from(&ptr(&buf, 5), &mut out).is_err());
}

#[test]
fn search() {
    let buf = chained(&[b"abcd", b"efgh", b"ijkl", b"abcd"]);
    assert_eq!(buf.search(b"ghi", None).unwrap().pos(), 6);
    assert_eq!(buf.search(b"cdefghijk", None).unwrap().pos(), 2);
    let p = buf.search(b"abc", None).unwrap();
    assert_eq!(p.pos(), 0);
    let mut q = p;
    buf.ptr_set(&mut q, 1, PtrHow::Add).unwrap();
    assert_eq!(buf.search(b"abc", Some(&q)).unwrap().pos(), 12);
    assert!(buf.search(b"abcde", Some(&q)).is_none());
    assert!(buf.search(b"x", None).is_none());
    // search_range: the match must end by `end`.
    let end = ptr(&buf, 9);
    assert_eq!(buf.search_range(b"ghi", None, Some(&end)).unwrap().pos(), 6);
    let end = ptr(&buf, 8);
    assert!(buf.search_range(b"ghi", None, Some(&end)).is_none());
    assert_eq!(buf.search_range(b"", None, Some(&end)).unwrap().pos(), 0);
    // At the end of the buffer.
    let at_end = ptr(&buf, 16);
    assert!(buf.search(b"a", Some(&at_end)).is_none());
    assert_eq!(buf.search(b"", Some(&at_end)).unwrap().pos(), 16);
}

#[test]
fn search_eol() {
    let buf = chained(&[b"line 1\r", b"\r\nline 2\n", b"\r\nline 3\n"]);
    let (p, n) = buf.search_eol(None, EolStyle::Crlf).unwrap();
    assert_eq!((p.pos(), n), (7, 2));
    let (p, n) = buf.search_eol(None, EolStyle::CrlfStrict).unwrap();
    assert_eq!((p.pos(), n), (7, 2));
    let (p, n) = buf.search_eol(None, EolStyle::Any).unwrap();
    assert_eq!((p.pos(), n), (6, 3));
    let (p, n) = buf.search_eol(None, EolStyle::Lf).unwrap();
    assert_eq!((p.pos(), n), (8, 1));
    // From the LF of a CRLF: the LF alone.
    let from = ptr(&buf, 8);
    let (p, n) = buf.search_eol(Some(&from), EolStyle::Crlf).unwrap();
    assert_eq!((p.pos(), n), (8, 1));
    let from = ptr(&buf, 9);
    let (p, n) = buf.search_eol(Some(&from), EolStyle::CrlfStrict).unwrap();
    assert_eq!((p.pos(), n), (16, 2));
    assert!(buf.search_eol(None, EolStyle::Nul).is_none());
    let end = ptr(&buf, buf.len());
    assert!(buf.search_eol(Some(&end), EolStyle::Any).is_none());
}

// ---------------------------------------------------------------------------
// prepend, peek, add_iovec, copyout, io traits
// ---------------------------------------------------------------------------

#[test]
fn prepend() {
    let mut a = Evbuffer::new();
    a.prepend(b"something").unwrap(); // into empty
    a.prepend(b"else ").unwrap(); // into the misalign room
    assert_eq!(content(&a), b"else something");
    let mut b = Evbuffer::new();
    b.add(&[b'x'; 8000]).unwrap();
    b.drain(3).unwrap(); // 3 bytes of misalign room
    b.prepend(b"12345").unwrap(); // split: 3 in place, 2 in a new chain
    let c = content(&b);
    assert_eq!(&c[..6], b"12345x");
    assert_eq!(c.len(), 8002);
    // prepend_buffer ordering
    let mut x = chained(&[b"1", b"2"]);
    let mut y = chained(&[b"a", b"b"]);
    x.prepend_buffer(&mut y).unwrap();
    assert_eq!(content(&x), b"ab12");
    assert!(y.is_empty());
    x.prepend(&[b'p'; 5000]).unwrap();
    assert_eq!(&content(&x)[4999..], b"pab12");
}

#[test]
fn peek() {
    let mut buf = Evbuffer::new();
    let mut want = Vec::new();
    for i in 0..16u8 {
        let mut c = Evbuffer::new();
        c.add(&[i; 512]).unwrap();
        buf.add_buffer(&mut c).unwrap();
        want.push(vec![i; 512]);
    }
    assert_eq!(buf.peek(None, None, &mut []), 16);
    assert_eq!(buf.peek(Some(512), None, &mut []), 1);
    assert_eq!(buf.peek(Some(513), None, &mut []), 2);
    assert_eq!(buf.peek(Some(0), None, &mut []), 0);
    assert_eq!(peek_all(&buf), want);
    let mut v = [IoSlice::new(&[]); 2];
    assert_eq!(buf.peek(Some(10_000), None, &mut v), 16);
    // With no length, a vector bounds the count: libevent returns how many
    // slices it filled, so a caller may slice by the result.
    let mut one = [IoSlice::new(&[])];
    assert_eq!(buf.peek(None, None, &mut one), 1);
    assert_eq!((one[0].len(), one[0][0]), (512, 0));
    assert_eq!(buf.peek(None, None, &mut v), 2);
    let mut many = vec![IoSlice::new(&[]); 20];
    assert_eq!(buf.peek(None, None, &mut many), 16);
    assert_eq!((v[0].len(), v[1][0]), (512, 1));
    // Starting inside a chain: the first extent is the rest of that chain.
    let p = ptr(&buf, 700);
    assert_eq!(buf.peek(Some(100), Some(&p), &mut v), 1);
    assert_eq!((v[0].len(), v[0][0]), (324, 1));
    assert_eq!(buf.peek(Some(400), Some(&p), &mut v), 2);
    // peek_first_gt: a first extent longer than asked still counts once.
    assert_eq!(buf.peek(Some(1), None, &mut v), 1);
    // At the end
    let end = ptr(&buf, buf.len());
    assert_eq!(buf.peek(None, Some(&end), &mut v), 0);
}

#[test]
fn add_iovec() {
    let mut buf = Evbuffer::new();
    let parts: [&[u8]; 4] = [b"EvBuffer ", b"add ", b"iovec ", b"test"];
    let io: Vec<IoSlice> = parts.iter().map(|p| IoSlice::new(p)).collect();
    assert_eq!(buf.add_slices(&io).unwrap(), 23);
    assert_eq!(buf.chain_stats().0, 1, "one expand for all slices");
    assert_eq!(content(&buf), b"EvBuffer add iovec test");
    assert_eq!(buf.add_slices(&[]).unwrap(), 0);
}

#[test]
fn copyout() {
    let buf = chained(&[&[b'a'; 100], &[b'b'; 100], &[b'c'; 6]]);
    let mut out = [0u8; 230];
    assert_eq!(buf.copyout(&mut out), 206);
    assert_eq!((out[99], out[100], out[205]), (b'a', b'b', b'c'));
    let p = ptr(&buf, 150);
    assert_eq!(buf.copyout_from(&p, &mut out).unwrap(), 56);
    assert_eq!((out[49], out[50]), (b'b', b'c'));
    assert_eq!(buf.copyout(&mut []), 0);
    assert_eq!(buf.len(), 206);
}

#[test]
fn io_read_write() {
    let mut buf = Evbuffer::new();
    write!(buf, "x={} ", 5).unwrap();
    buf.write_all(b"tail").unwrap();
    let n = buf
        .write_vectored(&[IoSlice::new(b"!"), IoSlice::new(b"?")])
        .unwrap();
    assert_eq!(n, 2);
    let mut s = String::new();
    buf.read_to_string(&mut s).unwrap();
    assert_eq!(s, "x=5 tail!?");
    assert!(buf.is_empty());
}

#[test]
fn pullup_beyond_length_and_zero() {
    let mut buf = chained(&[b"ab", b"cd"]);
    assert!(buf.pullup(Some(5)).is_none());
    assert!(buf.pullup(Some(0)).is_none());
    assert_eq!(content(&buf), b"abcd");
    assert_eq!(buf.pullup(Some(3)).unwrap(), b"abc");
    assert_eq!(content(&buf), b"abcd");
}

// ---------------------------------------------------------------------------
// Op programs against a VecDeque<u8> model
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Add(bool, Vec<u8>),
    AddFmt(bool, u32),
    AddSlices(bool, Vec<Vec<u8>>),
    Prepend(bool, Vec<u8>),
    Drain(bool, usize),
    Remove(bool, usize),
    Copyout(bool, usize, usize),
    Peek(bool, usize, usize),
    Pullup(bool, usize),
    Expand(bool, usize),
    AddBuffer(bool),
    PrependBuffer(bool),
    RemoveBuffer(bool, usize),
    Readln(bool, u8, usize),
    Search(bool, Vec<u8>, usize, usize),
    SearchEol(bool, usize, u8),
    Reserve(bool, usize, usize, bool),
    ReserveVectored(bool, usize, usize, usize),
}

fn style(k: u8) -> EolStyle {
    match k % 5 {
        0 => EolStyle::Any,
        1 => EolStyle::Crlf,
        2 => EolStyle::CrlfStrict,
        3 => EolStyle::Lf,
        _ => EolStyle::Nul,
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let small = prop::collection::vec(
        prop::sample::select(vec![b'a', b'b', b'\r', b'\n', 0]),
        0..24,
    );
    let big =
        (0..6000usize, prop::sample::select(vec![b'a', b'\n', b'x'])).prop_map(|(n, b)| vec![b; n]);
    prop_oneof![4 => small, 1 => big]
}

fn op() -> impl Strategy<Value = Op> {
    let w = any::<bool>();
    let n = prop_oneof![0..40usize, 0..9000usize];
    prop_oneof![
        (w, bytes()).prop_map(|(w, d)| Op::Add(w, d)),
        (w, any::<u32>()).prop_map(|(w, v)| Op::AddFmt(w, v)),
        (w, prop::collection::vec(bytes(), 0..4)).prop_map(|(w, v)| Op::AddSlices(w, v)),
        (w, bytes()).prop_map(|(w, d)| Op::Prepend(w, d)),
        (w, n.clone()).prop_map(|(w, n)| Op::Drain(w, n)),
        (w, n.clone()).prop_map(|(w, n)| Op::Remove(w, n)),
        (w, n.clone(), n.clone()).prop_map(|(w, a, b)| Op::Copyout(w, a, b)),
        (w, n.clone(), n.clone()).prop_map(|(w, a, b)| Op::Peek(w, a, b)),
        (w, n.clone()).prop_map(|(w, n)| Op::Pullup(w, n)),
        (w, n.clone()).prop_map(|(w, n)| Op::Expand(w, n)),
        w.prop_map(Op::AddBuffer),
        w.prop_map(Op::PrependBuffer),
        (w, n.clone()).prop_map(|(w, n)| Op::RemoveBuffer(w, n)),
        (w, any::<u8>(), 0..30usize).prop_map(|(w, s, m)| Op::Readln(w, s, m)),
        (
            w,
            prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'\n']), 0..5),
            n.clone(),
            n.clone()
        )
            .prop_map(|(w, d, s, e)| Op::Search(w, d, s, e)),
        (w, n.clone(), any::<u8>()).prop_map(|(w, s, k)| Op::SearchEol(w, s, k)),
        (w, n.clone(), n.clone(), any::<bool>()).prop_map(|(w, a, b, s)| Op::Reserve(w, a, b, s)),
        (w, n.clone(), n, 1..4usize).prop_map(|(w, a, b, e)| Op::ReserveVectored(w, a, b, e)),
    ]
}

/// Naive end-of-line search on the model.
fn model_eol(m: &[u8], start: usize, style: EolStyle) -> Option<(usize, usize)> {
    let find = |pred: &dyn Fn(u8) -> bool| (start..m.len()).find(|&i| pred(m[i]));
    match style {
        EolStyle::Lf => find(&|b| b == b'\n').map(|p| (p, 1)),
        EolStyle::Nul => find(&|b| b == 0).map(|p| (p, 1)),
        EolStyle::CrlfStrict => (start..m.len().saturating_sub(1))
            .find(|&i| m[i] == b'\r' && m[i + 1] == b'\n')
            .map(|p| (p, 2)),
        EolStyle::Crlf => find(&|b| b == b'\n').map(|p| {
            if p > start && m[p - 1] == b'\r' {
                (p - 1, 2)
            } else {
                (p, 1)
            }
        }),
        EolStyle::Any => find(&|b| b == b'\r' || b == b'\n').map(|p| {
            let run = m[p..]
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            (p, run)
        }),
    }
}

fn model_search(m: &[u8], what: &[u8], start: usize, end: usize) -> Option<usize> {
    if start > end || end - start < what.len() {
        return None;
    }
    (start..=end - what.len()).find(|&i| &m[i..i + what.len()] == what)
}

fn run(ops: Vec<Op>) {
    let mut bufs = [Evbuffer::new(), Evbuffer::new()];
    let mut models = [VecDeque::new(), VecDeque::new()];
    for op in ops {
        let w = |x: bool| x as usize;
        match op {
            Op::Add(x, d) => {
                bufs[w(x)].add(&d).unwrap();
                models[w(x)].extend(&d);
            }
            Op::AddFmt(x, v) => {
                let k = bufs[w(x)].add_fmt(format_args!("<{v}>")).unwrap();
                let s = format!("<{v}>");
                assert_eq!(k, s.len());
                models[w(x)].extend(s.as_bytes());
            }
            Op::AddSlices(x, v) => {
                let io: Vec<IoSlice> = v.iter().map(|s| IoSlice::new(s)).collect();
                let k = bufs[w(x)].add_slices(&io).unwrap();
                assert_eq!(k, v.iter().map(Vec::len).sum::<usize>());
                for s in &v {
                    models[w(x)].extend(s);
                }
            }
            Op::Prepend(x, d) => {
                bufs[w(x)].prepend(&d).unwrap();
                for &b in d.iter().rev() {
                    models[w(x)].push_front(b);
                }
            }
            Op::Drain(x, n) => {
                bufs[w(x)].drain(n).unwrap();
                let m = &mut models[w(x)];
                m.drain(..n.min(m.len()));
            }
            Op::Remove(x, n) => {
                let mut out = vec![0; n];
                let k = bufs[w(x)].remove(&mut out).unwrap();
                let m = &mut models[w(x)];
                let want: Vec<u8> = m.drain(..n.min(m.len())).collect();
                assert_eq!(&out[..k], &want[..]);
            }
            Op::Copyout(x, at, n) => {
                let (b, m) = (&bufs[w(x)], &models[w(x)]);
                let mut out = vec![0; n];
                let mut p = EvbufferPtr::default();
                let r = b.ptr_set(&mut p, at, PtrHow::Set);
                if at > m.len() {
                    assert!(r.is_err());
                    assert!(b.copyout_from(&p, &mut out).is_ok(), "p unchanged: 0");
                } else {
                    let k = b.copyout_from(&p, &mut out).unwrap();
                    let want: Vec<u8> = m.iter().skip(at).take(n).copied().collect();
                    assert_eq!(&out[..k], &want[..]);
                }
                let k = b.copyout(&mut out);
                assert_eq!(k, n.min(m.len()));
            }
            Op::Peek(x, at, n) => {
                let (b, m) = (&bufs[w(x)], &models[w(x)]);
                let mut p = EvbufferPtr::default();
                let at = at.min(m.len());
                b.ptr_set(&mut p, at, PtrHow::Set).unwrap();
                let need = b.peek(Some(n), Some(&p), &mut []);
                let mut v = vec![IoSlice::new(&[]); need];
                assert_eq!(b.peek(Some(n), Some(&p), &mut v), need);
                let got: Vec<u8> = v.iter().flat_map(|s| s.iter().copied()).collect();
                let want: Vec<u8> = m.iter().skip(at).copied().collect();
                assert!(got.len() >= n.min(want.len()));
                assert_eq!(&got[..], &want[..got.len()]);
                assert!(v.iter().all(|s| !s.is_empty()));
            }
            Op::Pullup(x, n) => {
                let m = models[w(x)].make_contiguous().to_vec();
                match bufs[w(x)].pullup(Some(n)) {
                    Some(s) => assert_eq!(&s[..], &m[..n]),
                    None => assert!(n == 0 || n > m.len()),
                }
            }
            Op::Expand(x, n) => {
                bufs[w(x)].expand(n).unwrap();
                let before = bufs[w(x)].chain_stats();
                let fill = vec![b'e'; n];
                bufs[w(x)].add(&fill).unwrap();
                assert_eq!(bufs[w(x)].chain_stats().0, before.0, "expand made room");
                models[w(x)].extend(&fill);
            }
            Op::AddBuffer(x) => {
                let [a, b] = &mut bufs;
                let (dst, src) = if x { (b, a) } else { (a, b) };
                dst.add_buffer(src).unwrap();
                let moved: Vec<u8> = models[w(!x)].drain(..).collect();
                models[w(x)].extend(moved);
            }
            Op::PrependBuffer(x) => {
                let [a, b] = &mut bufs;
                let (dst, src) = if x { (b, a) } else { (a, b) };
                dst.prepend_buffer(src).unwrap();
                let mut moved: VecDeque<u8> = models[w(!x)].drain(..).collect();
                moved.extend(models[w(x)].drain(..));
                models[w(x)] = moved;
            }
            Op::RemoveBuffer(x, n) => {
                let [a, b] = &mut bufs;
                let (src, dst) = if x { (b, a) } else { (a, b) };
                let k = src.remove_buffer(dst, n).unwrap();
                let m = &mut models[w(x)];
                assert_eq!(k, n.min(m.len()));
                let moved: Vec<u8> = m.drain(..k).collect();
                models[w(!x)].extend(moved);
            }
            Op::Readln(x, s, max) => {
                let st = style(s);
                let m = models[w(x)].make_contiguous().to_vec();
                let line = model_eol(&m, 0, st);
                let b = &mut bufs[w(x)];
                match s % 3 {
                    0 => {
                        let got = b.readln(st);
                        assert_eq!(got.as_deref(), line.map(|(p, _)| &m[..p]));
                    }
                    1 => {
                        let got = b.readln_bounded(st, max);
                        match line {
                            Some((p, _)) if p <= max => {
                                assert_eq!(got.unwrap().unwrap(), &m[..p])
                            }
                            Some(_) => assert!(got.is_err()),
                            None => {
                                let pending = matches!(st, EolStyle::Crlf | EolStyle::CrlfStrict);
                                assert_eq!(got.is_err(), m.len() > max + pending as usize);
                            }
                        }
                    }
                    _ => {
                        let mut out = vec![0u8; max];
                        let got = b.readln_into(st, &mut out);
                        match line {
                            Some((p, _)) if p <= max => {
                                assert_eq!(got.unwrap(), Some(p));
                                assert_eq!(&out[..p], &m[..p]);
                            }
                            Some(_) => assert!(got.is_err()),
                            None => assert!(got.map_or(true, |g| g.is_none())),
                        }
                    }
                }
                let consumed = b.len() != m.len();
                if consumed {
                    let (p, e) = line.unwrap();
                    models[w(x)].drain(..p + e);
                }
            }
            Op::Search(x, what, s, e) => {
                let (b, m) = (
                    &bufs[w(x)],
                    models[w(x)].iter().copied().collect::<Vec<_>>(),
                );
                let s = s.min(m.len());
                let e = e.min(m.len());
                let start = {
                    let mut p = EvbufferPtr::default();
                    b.ptr_set(&mut p, s, PtrHow::Set).unwrap();
                    p
                };
                let end = {
                    let mut p = EvbufferPtr::default();
                    b.ptr_set(&mut p, e, PtrHow::Set).unwrap();
                    p
                };
                let got = b
                    .search_range(&what, Some(&start), Some(&end))
                    .map(|p| p.pos());
                assert_eq!(got, model_search(&m, &what, s, e), "{what:?} in {s}..{e}");
                let got = b.search(&what, Some(&start)).map(|p| p.pos());
                assert_eq!(got, model_search(&m, &what, s, m.len()));
                if let Some(p) = b.search(&what, Some(&start)) {
                    // The returned position is usable: copy from it.
                    let mut out = vec![0; what.len()];
                    assert_eq!(b.copyout_from(&p, &mut out).unwrap(), what.len());
                    assert_eq!(out, what);
                }
            }
            Op::SearchEol(x, s, k) => {
                let (b, m) = (
                    &bufs[w(x)],
                    models[w(x)].iter().copied().collect::<Vec<_>>(),
                );
                let s = s.min(m.len());
                let start = {
                    let mut p = EvbufferPtr::default();
                    b.ptr_set(&mut p, s, PtrHow::Set).unwrap();
                    p
                };
                let got = b
                    .search_eol(Some(&start), style(k))
                    .map(|(p, n)| (p.pos(), n));
                assert_eq!(got, model_eol(&m, s, style(k)));
            }
            Op::Reserve(x, n, k, stale) => {
                let b = &mut bufs[w(x)];
                let room = b.reserve_space(n).unwrap();
                assert_eq!(room.len(), n);
                room.fill(b'r');
                let k = k.min(n);
                if stale {
                    b.drain(0).unwrap(); // no change: the reservation stays
                    b.add(b"s").unwrap();
                    models[w(x)].push_back(b's');
                    assert!(b.commit_space(k).is_err());
                } else {
                    b.commit_space(k).unwrap();
                    models[w(x)].extend(std::iter::repeat_n(b'r', k));
                }
            }
            Op::ReserveVectored(x, n, k, ext) => {
                let b = &mut bufs[w(x)];
                let mut store = [[0u8; 0]; 3];
                let mut v: Vec<IoSliceMut> = store.iter_mut().map(|s| IoSliceMut::new(s)).collect();
                let used = b.reserve_space_vectored(n, &mut v[..ext]).unwrap();
                assert!(used <= ext);
                assert_eq!(v[..used].iter().map(|s| s.len()).sum::<usize>(), n);
                for s in &mut v[..used] {
                    s.fill(b'v');
                }
                drop(v);
                b.assert_invariants();
                let k = k.min(n);
                b.commit_space(k).unwrap();
                models[w(x)].extend(std::iter::repeat_n(b'v', k));
            }
        }
        for (b, m) in bufs.iter().zip(&models) {
            b.assert_invariants();
            assert_eq!(b.len(), m.len());
            let got: Vec<u8> = b.chunks().flatten().copied().collect();
            assert!(got.iter().eq(m.iter()), "content differs from the model");
        }
    }
}

/// Modest by default so the file runs in seconds (`PROPTEST_CASES=N` for
/// a longer run).
fn cases() -> u32 {
    let default = if cfg!(miri) { 3 } else { 256 };
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn max_ops() -> usize {
    if cfg!(miri) { 12 } else { 48 }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn op_programs_match_the_model(ops in prop::collection::vec(op(), 1..max_ops())) {
        run(ops);
    }
}

// ---------------------------------------------------------------------------
// Fuzz programs: the committed seed corpora of fuzz/evbuffer_ops,
// fuzz/evbuffer_arena and fuzz/readln_search replayed through the same
// checkers (fuzz/src/ops.rs), and regressions found by those targets.
// ---------------------------------------------------------------------------

#[allow(dead_code)]
#[path = "../fuzz/src/ops.rs"]
mod fuzz_ops;

/// Replays every `fuzz/corpus/<target>/seed-*` file; returns how many.
fn replay_seeds(target: &str) -> usize {
    let files = util::fuzz_seeds(target);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let run = std::panic::catch_unwind(|| fuzz_ops::replay(target, &data));
        assert!(run.is_ok(), "{} failed", f.display());
    }
    files.len()
}

#[test]
fn fuzz_seeds_evbuffer_ops() {
    assert!(replay_seeds("evbuffer_ops") > 0);
}

#[test]
fn fuzz_seeds_evbuffer_arena() {
    assert!(replay_seeds("evbuffer_arena") > 0);
}

#[test]
fn fuzz_seeds_readln_search() {
    assert!(replay_seeds("readln_search") > 0);
}

/// An empty vectored reservation uses no extent (found by evbuffer_ops
/// against a too-strict checker; libevent's n_vec > 1 path does the same)
/// and commits nothing.
#[test]
fn fuzz_empty_vectored_reservation() {
    use fuzz_ops::{Checker, Op};
    let mut c = Checker::new();
    c.apply(&Op::ReserveVectored {
        b: 0,
        n: 0,
        vecs: 71,
        fill: 0,
        commit: Some(0),
    });
    c.check();
    assert!(c.bufs[0].is_empty());
}

/// A refused oversized commit leaves the reservation pending: a later
/// commit within it succeeds (fuzz/evbuffer_ops, model fixed).
#[test]
fn fuzz_oversized_commit_keeps_the_reservation() {
    use fuzz_ops::{Checker, Op};
    let mut c = Checker::new();
    for op in [
        Op::ReserveVectored {
            b: 0,
            n: 61921,
            vecs: 193,
            fill: 255,
            commit: Some(65471),
        },
        Op::ExpandHuge { b: 0 },
        Op::ReserveVectored {
            b: 0,
            n: 0,
            vecs: 0,
            fill: 225,
            commit: Some(10645),
        },
        Op::Commit { b: 0, n: 0 },
    ] {
        c.apply(&op);
        c.check();
    }
    let mut b = Evbuffer::new();
    b.reserve_space(4).unwrap().copy_from_slice(b"abcd");
    assert!(b.commit_space(5).is_err());
    b.commit_space(4).unwrap();
    assert_eq!(content(&b), b"abcd");
}

// ---------------------------------------------------------------------------
// fd I/O: read_from / write_to / write_atmost over a socketpair
// ---------------------------------------------------------------------------

mod fdio {
    use super::*;
    use std::io::ErrorKind;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn read_from_caps_at_max_read_and_howmuch() {
        let (mut a, b) = pair();
        let data = pattern(30_000);
        a.write_all(&data).unwrap();
        let mut buf = Evbuffer::new();
        assert_eq!(buf.max_read(), 4096);
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 4096);
        assert_eq!(buf.read_from(b.as_raw_fd(), Some(100)).unwrap(), 100);
        buf.set_max_read(16 * 1024).unwrap();
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 16 * 1024);
        assert_eq!(
            buf.read_from(b.as_raw_fd(), None).unwrap(),
            30_000 - 4096 - 100 - 16 * 1024
        );
        assert_eq!(content(&buf), data);
        // Nothing left: WouldBlock passes through, nothing added.
        let e = buf.read_from(b.as_raw_fd(), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert_eq!(buf.len(), 30_000);
        assert_eq!(
            buf.read_from(b.as_raw_fd(), Some(0)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(buf.set_max_read(0).is_err());
        drop(a);
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 0, "EOF");
        content(&buf);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn read_from_fills_existing_room_without_allocating() {
        let (mut a, b) = pair();
        let mut buf = Evbuffer::new();
        buf.expand(4096).unwrap();
        let before = buf.chain_stats();
        a.write_all(&pattern(4096)).unwrap();
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 4096);
        assert_eq!(buf.chain_stats(), before, "read into the room it had");
        // Drain everything; the kept chain takes the next read.
        buf.drain(4096).unwrap();
        a.write_all(&pattern(3000)).unwrap();
        assert_eq!(buf.read_from(b.as_raw_fd(), None).unwrap(), 3000);
        assert_eq!(buf.chain_stats(), before);
        assert_eq!(content(&buf), pattern(3000));
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn read_from_spreads_over_four_chains() {
        let (mut a, b) = pair();
        // The room of a data chain then of empty chains: data 1000 bytes
        // in a 1 KiB chain (24 bytes of room), then a reservation over
        // three more chains leaves trailing empty chains.
        let mut buf = Evbuffer::new();
        buf.add(&[b'x'; 1000]).unwrap();
        {
            let (mut p, mut q, mut r) = ([0u8; 0], [0u8; 0], [0u8; 0]);
            let mut v = [
                IoSliceMut::new(&mut p),
                IoSliceMut::new(&mut q),
                IoSliceMut::new(&mut r),
            ];
            buf.reserve_space_vectored(3000, &mut v).unwrap();
        }
        let (chains, _) = buf.chain_stats();
        assert!(chains >= 2, "reservation made chains");
        buf.set_max_read(64 * 1024).unwrap();
        let data = pattern(60_000);
        a.write_all(&data).unwrap();
        let mut got = 0;
        while got < data.len() {
            got += buf.read_from(b.as_raw_fd(), None).unwrap();
            buf.assert_invariants();
        }
        let mut want = vec![b'x'; 1000];
        want.extend_from_slice(&data);
        assert_eq!(content(&buf), want);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn write_to_and_atmost_drain_what_was_written() {
        let (a, mut b) = pair();
        let mut buf = chained(&[b"one ", b"two ", b"three"]);
        assert_eq!(buf.write_atmost(a.as_raw_fd(), Some(6)).unwrap(), 6);
        assert_eq!(content(&buf), b"o three");
        assert_eq!(buf.write_atmost(a.as_raw_fd(), Some(0)).unwrap(), 0);
        assert_eq!(buf.write_to(a.as_raw_fd()).unwrap(), 7);
        assert!(buf.is_empty());
        assert_eq!(buf.write_to(a.as_raw_fd()).unwrap(), 0, "empty: no call");
        let mut out = [0u8; 13];
        b.read_exact(&mut out).unwrap();
        assert_eq!(&out, b"one two three");
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn write_to_many_chains_and_would_block() {
        let (a, mut b) = pair();
        let mut buf = Evbuffer::new();
        let mut parts = Vec::new();
        for i in 0..100u8 {
            let p = vec![i; 100 + i as usize];
            let mut c = Evbuffer::new();
            c.add(&p).unwrap();
            buf.add_buffer(&mut c).unwrap();
            parts.extend_from_slice(&p);
        }
        // One call takes at most 64 chains.
        let first: usize = (0..64).map(|i| 100 + i).sum();
        assert_eq!(buf.write_to(a.as_raw_fd()).unwrap(), first);
        // Fill the socket until it refuses.
        let mut sent = first;
        loop {
            match buf.write_to(a.as_raw_fd()) {
                Ok(n) => sent += n,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::WouldBlock);
                    break;
                }
            }
            if buf.is_empty() {
                buf.add(&[0xAA; 65536]).unwrap();
                parts.extend_from_slice(&[0xAA; 65536]);
            }
        }
        let before = buf.len();
        assert!(buf.write_to(a.as_raw_fd()).is_err());
        assert_eq!(buf.len(), before, "nothing drained on error");
        let mut got = vec![0u8; sent];
        b.read_exact(&mut got).unwrap();
        assert_eq!(got, parts[..sent]);
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn write_to_a_pipe_and_to_a_closed_peer() {
        // A file takes the non-socket path.
        let path = std::env::temp_dir().join(format!("rvent-evbuf-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let mut buf = chained(&[b"ab", b"cd"]);
        assert_eq!(
            buf.write_to(f.as_raw_fd()).unwrap(),
            4,
            "writev on ENOTSOCK"
        );
        buf.add(b"e").unwrap();
        assert_eq!(buf.write_to(f.as_raw_fd()).unwrap(), 1, "write on ENOTSOCK");
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), b"abcde");
        std::fs::remove_file(&path).unwrap();
        // A hung-up peer: EPIPE, not SIGPIPE (the test process survives).
        let (a, b) = pair();
        drop(b);
        let mut buf = chained(&[b"x", b"y"]);
        assert_eq!(
            buf.write_to(a.as_raw_fd()).unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        buf.drain(1).unwrap();
        assert_eq!(
            buf.write_to(a.as_raw_fd()).unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        assert_eq!(buf.len(), 1);
    }
}

// ---------------------------------------------------------------------------
// freeze_start / freeze_end: every row of libevent's table
// ---------------------------------------------------------------------------

mod freeze {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    fn frozen(at_front: bool) -> Evbuffer {
        let mut b = chained(&[b"abc\n", b"def\n"]);
        b.freeze(at_front);
        assert!(b.is_frozen(at_front) && !b.is_frozen(!at_front));
        b
    }

    fn unchanged(b: &Evbuffer) {
        assert_eq!(content(b), b"abc\ndef\n");
    }

    fn bad<T: std::fmt::Debug>(r: Result<T, Error>) {
        assert!(matches!(r, Err(Error::BadState(_))), "{r:?}");
    }

    #[test]
    fn freeze_start() {
        let mut b = frozen(true);
        bad(b.drain(1));
        bad(b.remove(&mut [0u8; 2]));
        bad(b.prepend(b"x"));
        assert_eq!(b.readln(EolStyle::Lf), None);
        assert!(b.readln_bounded(EolStyle::Lf, 100).is_err());
        assert!(b.readln_into(EolStyle::Lf, &mut [0u8; 100]).is_err());
        let mut other = Evbuffer::new();
        bad(b.remove_buffer(&mut other, 2));
        assert!(other.is_empty());
        other.add(b"zz").unwrap();
        bad(b.prepend_buffer(&mut other));
        bad(other.add_buffer(&mut b)); // b is the source: its front
        assert_eq!(other.len(), 2);
        unchanged(&b);
        // The end still works.
        b.add(b"e").unwrap();
        b.add_fmt(format_args!("{}", 1)).unwrap();
        b.unfreeze(true);
        b.drain(8).unwrap();
        assert_eq!(content(&b), b"e1");
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn freeze_start_write() {
        let (a, _peer) = UnixStream::pair().unwrap();
        let mut b = frozen(true);
        let e = b.write_to(a.as_raw_fd()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Other);
        assert!(b.write_atmost(a.as_raw_fd(), Some(1)).is_err());
        unchanged(&b);
    }

    #[test]
    fn freeze_end() {
        let mut b = frozen(false);
        bad(b.add(b"x"));
        bad(b.add_fmt(format_args!("{}", 7)));
        bad(b.add_slices(&[IoSlice::new(b"x")]));
        bad(b.reserve_space(10));
        let (mut x, mut y) = ([0u8; 0], [0u8; 0]);
        let mut v = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        bad(b.reserve_space_vectored(10, &mut v));
        bad(b.add_reference(b"ref"));
        let mut other = Evbuffer::new();
        other.add(b"zz").unwrap();
        bad(b.add_buffer(&mut other));
        bad(b.add_buffer_reference(&mut other));
        bad(other.remove_buffer(&mut b, 1)); // b is the destination: its end
        assert_eq!(other.len(), 2);
        assert!(b.write(b"x").is_err());
        unchanged(&b);
        // The front still works.
        b.prepend(b">").unwrap();
        assert_eq!(b.readln(EolStyle::Lf).as_deref(), Some(&b">abc"[..]));
        b.unfreeze(false);
        b.add(b"!").unwrap();
        assert_eq!(content(&b), b"def\n!");
    }

    #[test]
    fn freeze_end_commit() {
        let mut b = Evbuffer::new();
        b.reserve_space(4).unwrap().copy_from_slice(b"abcd");
        b.freeze(false);
        bad(b.commit_space(4));
        bad(b.commit_space_vectored(&[4]));
        b.unfreeze(false);
        b.commit_space(4).unwrap();
        assert_eq!(content(&b), b"abcd");
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn freeze_end_read_and_add_file() {
        let (mut a, p) = UnixStream::pair().unwrap();
        a.write_all(b"data").unwrap();
        let mut b = frozen(false);
        let e = b.read_from(p.as_raw_fd(), None).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Other);
        let path = super::files::temp_file(&[1, 2, 3]);
        let f = std::fs::File::open(&path).unwrap();
        bad(b.add_file(f.into(), 0, None));
        unchanged(&b);
        b.unfreeze(false);
        assert_eq!(b.read_from(p.as_raw_fd(), None).unwrap(), 4);
        std::fs::remove_file(path).unwrap();
    }
}

// ---------------------------------------------------------------------------
// callbacks
// ---------------------------------------------------------------------------

mod callbacks {
    use super::*;
    use rvent::{CbInfo, EventBase, LoopFlags};
    use std::cell::{Cell, RefCell};
    use std::fmt::Write as _;
    use std::rc::Rc;

    type Log = Rc<RefCell<String>>;

    fn logger(out: &Log) -> impl FnMut(&mut Evbuffer, &CbInfo) + 'static {
        let out = out.clone();
        move |_, i| write!(out.borrow_mut(), "{}->{}; ", i.orig_size, i.new_size()).unwrap()
    }

    /// libevent's `evbuffer/callbacks`, step by step.
    #[test]
    fn callbacks() {
        let mut buf = Evbuffer::new();
        let (out1, out2): (Log, Log) = Default::default();
        let cb1 = buf.add_cb(logger(&out1)).unwrap();
        let cb2 = buf.add_cb(logger(&out2)).unwrap();
        buf.add_fmt(format_args!("The {} magic words are spotty pea!!!!", 2))
            .unwrap(); // 0->36
        assert_eq!(buf.len(), 36);
        buf.cb_set_enabled(cb2, false).unwrap();
        buf.drain(10).unwrap(); // 36->26
        buf.prepend(b"Hello").unwrap(); // 26->31
        buf.cb_set_enabled(cb2, true).unwrap();
        buf.add_reference(b"Goodbye").unwrap(); // 31->38
        buf.remove_cb(cb1).unwrap();
        buf.drain(buf.len()).unwrap(); // 38->0
        assert!(buf.remove_cb(cb1).is_err());
        buf.add(b"X").unwrap(); // 0->1
        buf.remove_cb(cb2).unwrap();
        buf.add(b"Y").unwrap(); // nobody hears this
        assert_eq!(*out1.borrow(), "0->36; 36->26; 26->31; 31->38; ");
        assert_eq!(*out2.borrow(), "0->36; 31->38; 38->0; 0->1; ");

        // The legacy set_cb replaces all callbacks.
        out1.borrow_mut().clear();
        out2.borrow_mut().clear();
        buf.drain(buf.len()).unwrap();
        buf.add_cb(logger(&out1)).unwrap();
        buf.add_cb(logger(&out2)).unwrap();
        buf.set_cb(Some(|b: &mut Evbuffer, i: &CbInfo| {
            if i.new_size() > i.orig_size {
                b.drain(i.new_size()).unwrap();
            }
        }))
        .unwrap();
        buf.add_fmt(format_args!("This should get drained right away."))
            .unwrap();
        assert_eq!(buf.len(), 0);
        assert_eq!(*out1.borrow(), "");
        assert_eq!(*out2.borrow(), "");
        buf.set_cb(None::<fn(&mut Evbuffer, &CbInfo)>).unwrap();
        buf.add_fmt(format_args!("This will not.")).unwrap();
        assert_eq!(content(&buf), b"This will not.");
    }

    /// libevent's `evbuffer/prepend` cb info: orig 3, added 8096.
    #[test]
    fn prepend_cb_info() {
        let mut buf = Evbuffer::new();
        buf.add(b"foo").unwrap();
        let seen = Rc::new(Cell::new(None));
        let s = seen.clone();
        buf.add_cb(move |_, i| s.set(Some(*i))).unwrap();
        buf.prepend(&[b'x'; 8096]).unwrap();
        assert_eq!(
            seen.get(),
            Some(CbInfo {
                orig_size: 3,
                n_added: 8096,
                n_deleted: 0
            })
        );
    }

    #[test]
    fn both_buffers_of_a_move_are_told() {
        let (mut a, mut b) = (Evbuffer::new(), Evbuffer::new());
        let (la, lb): (Log, Log) = Default::default();
        a.add_cb(logger(&la)).unwrap();
        b.add_cb(logger(&lb)).unwrap();
        a.add(b"12345").unwrap();
        a.remove_buffer(&mut b, 2).unwrap();
        b.add_buffer(&mut a).unwrap();
        a.add(b"z").unwrap();
        a.prepend_buffer(&mut b).unwrap();
        assert_eq!(*la.borrow(), "0->5; 5->3; 3->0; 0->1; 1->6; ");
        assert_eq!(*lb.borrow(), "0->2; 2->5; 5->0; ");
    }

    #[test]
    fn a_callback_changing_the_buffer_is_told_in_a_following_round() {
        let mut buf = Evbuffer::new();
        let log: Log = Default::default();
        let l = log.clone();
        buf.add_cb(move |b, i| {
            write!(
                l.borrow_mut(),
                "{}+{}-{}; ",
                i.orig_size,
                i.n_added,
                i.n_deleted
            )
            .unwrap();
            if b.len() > 4 {
                b.drain(2).unwrap(); // re-entrant change: no recursion
            }
        })
        .unwrap();
        buf.add(b"abcdefg").unwrap();
        assert_eq!(*log.borrow(), "0+7-0; 7+0-2; 5+0-2; ");
        assert_eq!(content(&buf), b"efg");
    }

    #[test]
    fn no_call_when_nothing_changed() {
        let mut buf = Evbuffer::new();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        buf.add_cb(move |_, _| c.set(c.get() + 1)).unwrap();
        buf.add(b"").unwrap();
        buf.drain(0).unwrap();
        assert!(buf.pullup(None).is_none());
        buf.freeze(false);
        assert!(buf.add(b"x").is_err());
        assert_eq!(calls.get(), 0);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // epoll
    fn deferred_callbacks_run_from_the_loop() {
        let mut base = EventBase::new().unwrap();
        let mut buf = Evbuffer::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let e = buf
            .add_deferred_cb(&base, move |_base, i| s.borrow_mut().push(*i))
            .unwrap();
        let sync = Rc::new(Cell::new(0));
        let sy = sync.clone();
        buf.add_cb(move |_, _| sy.set(sy.get() + 1)).unwrap();
        buf.add(b"hello").unwrap();
        buf.drain(2).unwrap();
        buf.add(b"!").unwrap();
        assert_eq!(sync.get(), 3, "add_cb callbacks stay synchronous");
        assert!(seen.borrow().is_empty(), "deferred: not at the change");
        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(
            *seen.borrow(),
            [CbInfo {
                orig_size: 0,
                n_added: 6,
                n_deleted: 2
            }]
        );
        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(seen.borrow().len(), 1, "nothing new, nothing delivered");
        buf.cb_set_enabled(e, false).unwrap();
        buf.add(b"x").unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        buf.cb_set_enabled(e, true).unwrap();
        buf.drain(1).unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(seen.borrow().len(), 2, "disabled: missed the add");
        assert_eq!(seen.borrow()[1].orig_size, 5);
        buf.remove_cb(e).unwrap();
        buf.add(b"y").unwrap();
        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(seen.borrow().len(), 2);
    }
}

// ---------------------------------------------------------------------------
// References: add_reference, with_offset, with_cleanup, empty references
// ---------------------------------------------------------------------------

mod references {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// An owner counting its drops.
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

    fn counted(data: &[u8]) -> (Counted, Rc<Cell<u32>>) {
        let c = Rc::new(Cell::new(0));
        (Counted(data.to_vec(), c.clone()), c)
    }

    /// libevent's `evbuffer/reference`: drained in parts, prepend does
    /// not write into it, the cleanup runs once.
    #[test]
    fn reference() {
        let mut b = Evbuffer::new();
        let (r, dropped) = counted(b"this is what we add as read-only memory.");
        b.add_reference(r).unwrap();
        b.add(b"appended").unwrap();
        b.drain(5).unwrap();
        b.prepend(b"pre:").unwrap();
        assert_eq!(
            content(&b),
            b"pre:is what we add as read-only memory.appended"
        );
        b.drain(10).unwrap();
        assert_eq!(dropped.get(), 0);
        b.drain(28).unwrap();
        assert_eq!(dropped.get(), 0, "one byte left");
        assert_eq!(content(&b), b".appended");
        b.drain(1).unwrap();
        assert_eq!(dropped.get(), 1);
        assert_eq!(content(&b), b"appended");
    }

    #[test]
    fn reference_is_never_written() {
        let (r, dropped) = counted(b"abc");
        let mut b = Evbuffer::new();
        b.add_reference(r).unwrap();
        b.drain(2).unwrap(); // room "before" the data: not ours
        b.prepend(b"xy").unwrap();
        b.add(b"z").unwrap();
        b.expand(100).unwrap();
        b.reserve_space(10).unwrap().fill(b'r');
        b.commit_space(10).unwrap();
        assert_eq!(
            content(&b),
            b"xycz"
                .iter()
                .chain(&[b'r'; 10])
                .copied()
                .collect::<Vec<_>>()
        );
        let front = b.pullup(Some(3)).unwrap();
        front[2] = b'C'; // a copy, not the reference
        drop(b);
        assert_eq!(dropped.get(), 1);
        // A 'static reference cannot change either: the same bytes are still there.
        let mut b = Evbuffer::new();
        b.add_reference(b"static").unwrap();
        b.pullup(None).unwrap()[0] = b'S';
        assert_eq!(content(&b), b"Static");
        let mut c = Evbuffer::new();
        c.add_reference(b"static").unwrap();
        assert_eq!(content(&c), b"static");
        c.assert_invariants();
    }

    /// libevent's `evbuffer/add_reference`: cleanup timing across
    /// add_buffer, remove_buffer, prepend_buffer and free.
    #[test]
    fn add_reference_cleanup_follows_the_chain() {
        let done = Rc::new(Cell::new(0));
        let d = done.clone();
        let mut a = Evbuffer::new();
        a.add_reference_with_cleanup(b"chunk1", move |v| d.set(d.get() + v.len()))
            .unwrap();
        let mut b = Evbuffer::new();
        b.add(b"b").unwrap();
        b.add_buffer(&mut a).unwrap();
        let mut c = Evbuffer::new();
        c.add(b"c").unwrap();
        c.prepend_buffer(&mut b).unwrap();
        let mut d2 = Evbuffer::new();
        assert_eq!(c.remove_buffer(&mut d2, 4).unwrap(), 4); // b + "chu": copied part
        assert_eq!(content(&c), b"nk1c");
        drop(a);
        drop(b);
        assert_eq!(done.get(), 0);
        c.drain(2).unwrap();
        assert_eq!(done.get(), 0);
        drop(c);
        assert_eq!(done.get(), 6, "exactly once, at the free");
        assert_eq!(content(&d2), b"bchu");
    }

    #[test]
    fn add_reference_with_offset() {
        let (r, dropped) = counted(b"0123456789");
        let mut b = Evbuffer::new();
        b.add_reference_with_offset(r, 4).unwrap();
        assert_eq!(content(&b), b"456789");
        let (r2, dropped2) = counted(b"ab");
        assert!(matches!(
            b.add_reference_with_offset(r2, 3),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(dropped2.get(), 1, "dropped on error");
        let (r3, dropped3) = counted(b"ab");
        b.add_reference_with_offset(r3, 2).unwrap();
        assert_eq!(dropped3.get(), 1, "empty: no chain, cleanup at once");
        b.drain(6).unwrap();
        assert_eq!(dropped.get(), 1);
        assert!(b.is_empty());
    }

    /// libevent's `evbuffer/empty_reference_prepend`: a zero-length
    /// reference, then a prepend.
    #[test]
    fn empty_reference_prepend_with_a_real_reference() {
        let (r, dropped) = counted(b"");
        let mut b = Evbuffer::new();
        b.add_reference(r).unwrap();
        assert_eq!(dropped.get(), 1);
        b.prepend(b"foo").unwrap();
        assert_eq!(content(&b), b"foo");
        b.add(b"bar").unwrap();
        assert_eq!(content(&b), b"foobar");
        assert_eq!(b.chain_stats().0, 1);
    }

    /// libevent's `evbuffer/empty_reference_prepend_buffer`.
    #[test]
    fn empty_reference_prepend_buffer_with_a_real_reference() {
        let mut a = Evbuffer::new();
        a.add_reference(Vec::new()).unwrap();
        let mut b = Evbuffer::new();
        b.add_reference(b"").unwrap();
        b.add(b"foo").unwrap();
        a.prepend_buffer(&mut b).unwrap();
        assert_eq!(content(&a), b"foo");
        let mut c = Evbuffer::new();
        c.add(b"bar").unwrap();
        c.add_reference(b"").unwrap();
        c.prepend_buffer(&mut a).unwrap();
        assert_eq!(content(&c), b"foobar");
        c.add_buffer(&mut b).unwrap();
        assert_eq!(content(&c), b"foobar");
    }

    /// libevent's `evbuffer/multicast`.
    #[test]
    fn multicast() {
        let mut src = chained(&[b"one ", b"two ", b"three"]);
        src.add(b"!").unwrap();
        let mut d1 = Evbuffer::new();
        let mut d2 = Evbuffer::new();
        d1.add(b">").unwrap();
        d1.add_buffer_reference(&mut src).unwrap();
        d2.add_buffer_reference(&mut src).unwrap();
        assert_eq!(content(&d1), b">one two three!");
        assert_eq!(content(&d2), b"one two three!");
        // Independent: draining or adding on one side leaves the others.
        d1.drain(6).unwrap();
        src.add(b" more").unwrap();
        src.drain(4).unwrap();
        d2.add(b"+").unwrap();
        assert_eq!(content(&d1), b"wo three!");
        assert_eq!(content(&src), b"two three! more");
        assert_eq!(content(&d2), b"one two three!+");
        // src may go first.
        drop(src);
        assert_eq!(content(&d1), b"wo three!");
        // Nested views work (libevent refuses them).
        let mut d3 = Evbuffer::new();
        d3.add_buffer_reference(&mut d2).unwrap();
        drop(d2);
        assert_eq!(content(&d3), b"one two three!+");
        // pullup over views copies; the views stay intact.
        assert_eq!(d3.pullup(Some(5)).unwrap(), b"one t");
        assert_eq!(content(&d1), b"wo three!");
    }

    /// libevent's `evbuffer/multicast_drain`.
    #[test]
    fn multicast_drain() {
        let mut src = Evbuffer::new();
        src.add(b"hello world").unwrap();
        let mut dst = Evbuffer::new();
        dst.add_buffer_reference(&mut src).unwrap();
        src.drain(11).unwrap();
        assert_eq!(dst.len(), 11);
        dst.add_buffer_reference(&mut src).unwrap(); // empty: nothing
        assert_eq!(content(&dst), b"hello world");
        dst.drain(11).unwrap();
        assert!(dst.is_empty());
        src.add(b"x").unwrap();
        assert_eq!(content(&src), b"x");
    }

    #[test]
    fn multicast_with_references_and_reservations() {
        let (r, dropped) = counted(b"ref");
        let mut src = Evbuffer::new();
        src.add(b"a").unwrap();
        src.add_reference(r).unwrap();
        src.reserve_space(10).unwrap();
        let mut dst = Evbuffer::new();
        dst.add_buffer_reference(&mut src).unwrap();
        assert!(src.commit_space(10).is_err(), "the room became read-only");
        drop(src);
        assert_eq!(dropped.get(), 0);
        assert_eq!(content(&dst), b"aref");
        drop(dst);
        assert_eq!(dropped.get(), 1);
    }
}

// ---------------------------------------------------------------------------
// File segments: add_file_* over a socketpair (512 KB file), cleanup, leaks
// ---------------------------------------------------------------------------

mod files {
    use super::*;
    use rvent::{EvbufferFileSegment, SegFlags};
    use std::cell::Cell;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    use std::path::PathBuf;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(super) fn temp_file(data: &[u8]) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "rvent-evbuffer-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, data).unwrap();
        p
    }

    fn open(p: &PathBuf) -> OwnedFd {
        std::fs::File::open(p).unwrap().into()
    }

    fn big() -> Vec<u8> {
        (0..512 * 1024)
            .map(|i: usize| (i * 31 % 253) as u8)
            .collect()
    }

    /// Writes `buf` out through a socketpair and returns what the peer got.
    fn send_all(buf: &mut Evbuffer) -> Vec<u8> {
        let (a, mut b) = UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        while !buf.is_empty() {
            let n = buf.write_to(a.as_raw_fd()).unwrap();
            assert!(n > 0);
            buf.assert_invariants();
        }
        drop(a);
        reader.join().unwrap()
    }

    #[derive(Clone, Copy, Debug)]
    enum Mode {
        Sendfile,
        Mmap,
        Read,
    }

    fn flags(m: Mode) -> SegFlags {
        match m {
            Mode::Sendfile => SegFlags::CLOSE_ON_FREE,
            Mode::Mmap => SegFlags::CLOSE_ON_FREE | SegFlags::DISABLE_SENDFILE,
            Mode::Read => {
                SegFlags::CLOSE_ON_FREE | SegFlags::DISABLE_SENDFILE | SegFlags::DISABLE_MMAP
            }
        }
    }

    /// libevent's `add_file`, `add_file_offset[2|3]`, `add_big_file`
    /// × sendfile / mmap / linear read.
    fn add_file_case(m: Mode, seg_off: u64, seg_len: Option<u64>, sub: (usize, Option<usize>)) {
        let data = big();
        let path = temp_file(&data);
        let seg = EvbufferFileSegment::new(open(&path), seg_off, seg_len, flags(m)).unwrap();
        assert_eq!(seg.is_mapped(), !matches!(m, Mode::Read), "{m:?}");
        let seg_end = seg_len.map_or(data.len(), |l| (seg_off + l) as usize);
        let seg_bytes = &data[seg_off as usize..seg_end];
        let end = sub.1.map_or(seg_bytes.len(), |l| sub.0 + l);
        let want = &seg_bytes[sub.0..end];
        let mut buf = Evbuffer::new();
        buf.add(b"head:").unwrap();
        buf.add_file_segment(&seg, sub.0, sub.1).unwrap();
        buf.add(b":tail").unwrap();
        drop(seg);
        assert_eq!(buf.len(), want.len() + 10);
        // Memory before a sendfile chain goes alone; without sendfile it
        // goes with the file bytes in one writev.
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap(); // a partial write, no reader yet
        let n = buf.write_to(a.as_raw_fd()).unwrap();
        match m {
            Mode::Sendfile => assert_eq!(n, 5, "stopped before the sendfile chain"),
            _ => assert!(n > 5, "{m:?}: bytes went with the head"),
        }
        let mut head = vec![0u8; n];
        b.read_exact(&mut head).unwrap();
        drop((a, b));
        let mut got = head;
        got.extend(send_all(&mut buf));
        let mut expect = b"head:".to_vec();
        expect.extend_from_slice(want);
        expect.extend_from_slice(b":tail");
        assert!(
            got == expect,
            "{m:?} {seg_off} {seg_len:?} {sub:?}: content differs"
        );
        std::fs::remove_file(path).unwrap();
    }

    /// A file segment goes out with `sendfile`, which cannot take
    /// `MSG_NOSIGNAL`; writing one to a peer that hung up must still return
    /// `EPIPE` and not kill a program whose `SIGPIPE` is at its default.
    /// The Rust runtime ignores `SIGPIPE`, so the write runs in a child
    /// (this test binary again) that sets `SIG_DFL` first.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn sendfile_to_a_closed_peer_is_epipe_not_sigpipe() {
        const CHILD: &str = "RVENT_SIGPIPE_CHILD";
        if std::env::var_os(CHILD).is_some() {
            // SAFETY: restoring the default disposition of SIGPIPE.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let path = temp_file(&big());
            let seg = EvbufferFileSegment::new(open(&path), 0, None, flags(Mode::Sendfile));
            std::fs::remove_file(&path).unwrap();
            let mut buf = Evbuffer::new();
            buf.add_file_segment(&seg.unwrap(), 0, None).unwrap();
            let len = buf.len();
            let (a, b) = UnixStream::pair().unwrap();
            drop(b);
            let e = buf.write_to(a.as_raw_fd()).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
            assert_eq!(buf.len(), len, "nothing drained on error");
            // A memory chunk after it: the same error through sendmsg.
            buf.drain(len).unwrap();
            buf.add(b"bytes").unwrap();
            let e = buf.write_to(a.as_raw_fd()).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
            // No SIGPIPE left pending either: unblocked, it would kill us now.
            // SAFETY: an empty set; the call only reads it.
            let mut none: libc::sigset_t = unsafe { std::mem::zeroed() };
            // SAFETY: `none` is a live local.
            unsafe { libc::sigemptyset(&mut none) };
            // SAFETY: as above; the old mask is not needed.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut()) };
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "files::sendfile_to_a_closed_peer_is_epipe_not_sigpipe",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), None, "child killed by a signal");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn add_file_whole() {
        for m in [Mode::Sendfile, Mode::Mmap, Mode::Read] {
            add_file_case(m, 0, None, (0, None));
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn add_file_offset() {
        for m in [Mode::Sendfile, Mode::Mmap, Mode::Read] {
            add_file_case(m, 1000, None, (0, None)); // unaligned: mmap rounds
            add_file_case(m, 8192, Some(100_000), (0, None));
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn add_file_sub_segment() {
        for m in [Mode::Sendfile, Mode::Mmap, Mode::Read] {
            add_file_case(m, 3, Some(400_000), (77, Some(300_000)));
            add_file_case(m, 0, None, (512 * 1024 - 10, None));
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)]
    fn add_file_and_every_operation_on_its_bytes() {
        let data = big();
        let path = temp_file(&data);
        let mut buf = Evbuffer::new();
        buf.add_file(open(&path), 100, Some(5000)).unwrap();
        let mut out = [0u8; 10];
        assert_eq!(buf.copyout(&mut out), 10);
        assert_eq!(&out, &data[100..110]);
        assert_eq!(buf.pullup(Some(20)).unwrap(), &data[100..120]);
        assert_eq!(buf.remove(&mut out).unwrap(), 10);
        assert_eq!(&out, &data[100..110]);
        let p = buf.search(&data[3000..3010], None).unwrap();
        assert!(p.pos() <= 3000 - 110);
        let mut at = [0u8; 10];
        buf.copyout_from(&p, &mut at).unwrap();
        assert_eq!(at, data[3000..3010]);
        let mut other = Evbuffer::new();
        assert!(matches!(
            other.add_buffer_reference(&mut buf),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(content(&buf), &data[110..5100]);
        // Beyond the file: refused, descriptor closed.
        assert!(buf.add_file(open(&path), 0, Some(1 << 30)).is_err());
        assert!(buf.add_file(open(&path), 1 << 30, None).is_err());
        std::fs::remove_file(path).unwrap();
    }

    fn fd_points_at(fd: i32, path: &PathBuf) -> bool {
        std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|p| &p == path)
    }

    /// libevent's `evbuffer/add_file_leak1`: a buffer freed with file data
    /// still in it closes the descriptor.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn add_file_leak1() {
        let path = temp_file(b"some file data");
        let fd = open(&path);
        let raw = fd.as_raw_fd();
        let mut buf = Evbuffer::new();
        buf.add_file(fd, 0, None).unwrap();
        assert!(fd_points_at(raw, &path));
        buf.drain(3).unwrap();
        drop(buf);
        assert!(!fd_points_at(raw, &path), "descriptor leaked");
        // On error, too.
        let fd = open(&path);
        let raw = fd.as_raw_fd();
        assert!(Evbuffer::new().add_file(fd, 100, None).is_err());
        assert!(!fd_points_at(raw, &path), "descriptor leaked on error");
        std::fs::remove_file(path).unwrap();
    }

    /// libevent's `evbuffer/file_segment_add_cleanup_cb`.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn file_segment_add_cleanup_cb() {
        let path = temp_file(b"0123456789");
        let fd = open(&path);
        let raw = fd.as_raw_fd();
        let seg = EvbufferFileSegment::new(fd, 0, None, SegFlags::CLOSE_ON_FREE).unwrap();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        let p2 = path.clone();
        seg.add_cleanup(move || {
            assert!(!fd_points_at(raw, &p2), "closed before the cleanup");
            c.set(c.get() + 1);
        })
        .unwrap();
        let mut b1 = Evbuffer::new();
        let mut b2 = Evbuffer::new();
        b1.add_file_segment(&seg, 0, Some(5)).unwrap();
        b2.add_file_segment(&seg, 5, None).unwrap();
        assert!(b2.add_file_segment(&seg, 11, None).is_err());
        assert!(b2.add_file_segment(&seg, 5, Some(6)).is_err());
        drop(seg);
        b1.drain(5).unwrap();
        assert_eq!(calls.get(), 0);
        let mut b3 = Evbuffer::new();
        b3.add_buffer(&mut b2).unwrap();
        drop(b2);
        assert_eq!(calls.get(), 0);
        assert_eq!(content(&b3), b"56789");
        drop(b3);
        assert_eq!(calls.get(), 1);
        // Without CLOSE_ON_FREE the descriptor stays open.
        let fd = open(&path);
        let raw = fd.as_raw_fd();
        let seg = EvbufferFileSegment::new(fd, 0, None, SegFlags::DISABLE_MMAP).unwrap();
        drop(seg);
        assert!(fd_points_at(raw, &path));
        // SAFETY: `raw` was released by the segment and is ours to close.
        drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) });
        std::fs::remove_file(path).unwrap();
    }
}

mod deferred_after_free {
    use super::*;
    use rvent::{EventBase, LoopFlags};
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    #[cfg_attr(miri, ignore)] // epoll
    fn a_freed_buffer_delivers_nothing() {
        let mut base = EventBase::new().unwrap();
        let calls = Rc::new(Cell::new(0));
        let c = calls.clone();
        let mut buf = Evbuffer::new();
        buf.add_deferred_cb(&base, move |_, _| c.set(c.get() + 1))
            .unwrap();
        buf.add(b"queued").unwrap();
        drop(buf);
        base.run(LoopFlags::NONBLOCK).unwrap();
        assert_eq!(calls.get(), 0);
        assert_eq!(Rc::strong_count(&calls), 1, "the callback was dropped");
    }
}

/// Found by fuzz/evbuffer_ops: a frozen front refuses `readln_into` and
/// `readln_bounded` even when no complete line is there (libevent's readln
/// returns NULL on a frozen front before looking).
#[test]
fn frozen_front_refuses_readln_without_a_line() {
    let mut b = Evbuffer::new();
    b.add(b"no end of line").unwrap();
    b.freeze(true);
    assert!(matches!(
        b.readln_into(EolStyle::Lf, &mut [0u8; 64]),
        Err(Error::BadState(_))
    ));
    assert!(matches!(
        b.readln_bounded(EolStyle::Any, 64),
        Err(Error::BadState(_))
    ));
    assert_eq!(b.readln(EolStyle::Lf), None);
    assert_eq!(content(&b), b"no end of line");
}
