//! Evbuffer (tutorial ch. 8, `evbuffer_*`): libevent's `evbuffer/`
//! regression cases that apply to the core (adds, prepends, moves between
//! buffers, drain / remove / copyout / peek / pullup, expand and its
//! overflow, reserve / commit, readln in every EOL style, search and
//! positions, the empty-chain regressions, the 100 000-small-appends waste
//! check) and op-program property tests against a `VecDeque<u8>` model with
//! `assert_invariants()` after every operation.

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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seed-"))
        })
        .collect();
    files.sort();
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
