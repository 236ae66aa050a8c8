//! evbuf: evbuffer micro-benchmarks, the anchor benchmark
//! `../shared/anchor/evbuf.c` on rvent's `Evbuffer` (see `benches/README.md`).
//!
//! Cases, in the C program's order: `add_16`, `drain_16`, `add_4096`,
//! `drain_4096` (N operations streamed through one buffer in 64 KiB
//! cycles, only the named half of each cycle timed), `add_buffer` (a
//! 16 × 4 KiB buffer moved back and forth), `readln_crlf` (every line of a
//! buffer of L lines), `search_4b` (one search for `"\r\n\r\n"` over V
//! bytes), `remove_1k` (1 KiB removes from a 64 KiB window of 4 KiB chains).
//! Fixtures built "like network input" are separate 4 KiB chains moved in
//! with `add_buffer`, as in C.
//!
//! libevent → rvent: `evbuffer_add` → `Evbuffer::add`, `evbuffer_drain` →
//! `drain`, `evbuffer_add_buffer` → `add_buffer`, `evbuffer_readln(CRLF)` +
//! `free` → `readln(EolStyle::Crlf)` returning an owned line that is
//! dropped, `evbuffer_search` → `search`, `evbuffer_remove` → `remove`.
//!
//! Output (stdout), one line per case:
//! `evbuf case=<name> value=<x> unit=<ns/op|GB/s> ops=<operations per round>`.

mod common;

use std::hint::black_box;
use std::process;
use std::time::Instant;

use common::{Opt, Out, Rng};
use rvent::{EolStyle, Evbuffer};

const CHAIN_BYTES: usize = 4096;
const WINDOW_BYTES: usize = 65536;
const PINGPONG_CHAINS: usize = 16;
const NEEDLE: &[u8; 4] = b"\r\n\r\n";

fn die(what: &str) -> ! {
    eprintln!("evbuf: {what}");
    process::exit(1);
}

/// Appends `data` as separate chains of at most 4 KiB, each built in a
/// scratch buffer and moved over (`append_as_chains` of evbuf.c).
fn append_as_chains(b: &mut Evbuffer, data: &[u8]) {
    for piece in data.chunks(CHAIN_BYTES) {
        let mut tmp = Evbuffer::new();
        if tmp.add(piece).is_err() || b.add_buffer(&mut tmp).is_err() {
            die("building fixture failed");
        }
    }
}

/// `gen_line` of evbuf.c: 8..39 lowercase letters, then `"\r\n"`, or with
/// probability `1 / lf_share` (when non-zero) a bare `"\n"`. Returns the
/// letter count.
fn gen_line(out: &mut Vec<u8>, rng: &mut Rng, lf_share: u64) -> usize {
    let len = 8 + rng.below(32) as usize;
    let mut bits = 0u64;
    for i in 0..len {
        if i % 8 == 0 {
            bits = rng.next();
        }
        out.push(b'a' + ((bits & 0xff) % 26) as u8);
        bits >>= 8;
    }
    if lf_share != 0 && rng.below(lf_share) == 0 {
        out.push(b'\n');
    } else {
        out.extend_from_slice(b"\r\n");
    }
    len
}

/// readln input: `lines` lines, a quarter ending in a bare LF; returns the
/// text and the bytes without EOLs.
fn make_line_text(lines: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng::new();
    let mut text = Vec::with_capacity(lines * 41);
    let mut body = 0;
    for _ in 0..lines {
        body += gen_line(&mut text, &mut rng, 4);
    }
    (text, body)
}

/// search input: `volume` bytes of CRLF lines (the last cut short), the
/// needle planted across the start of the last 4 KiB chain; returns the
/// text and the needle's first offset found by a plain scan.
fn make_search_text(volume: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng::new();
    let mut text = Vec::with_capacity(volume + 64);
    let mut line = Vec::with_capacity(64);
    while text.len() < volume {
        line.clear();
        gen_line(&mut line, &mut rng, 0);
        let n = line.len().min(volume - text.len());
        text.extend_from_slice(&line[..n]);
    }
    if volume >= 2 * CHAIN_BYTES {
        let at = (volume - 1) / CHAIN_BYTES * CHAIN_BYTES - 2;
        text[at..at + 4].copy_from_slice(NEEDLE);
    }
    match text.windows(4).position(|w| w == NEEDLE) {
        Some(p) => (text, p),
        None => die("search_4b: -b too small to hold the needle"),
    }
}

// ---------------------------------------------------------------------
// Timed regions (callgrind: --toggle-collect='*bench_timed_*').

#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_add(b: &mut Evbuffer, piece: &[u8], ops: usize) {
    for _ in 0..ops {
        let _ = b.add(piece);
    }
    black_box(&*b);
}

#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_drain(b: &mut Evbuffer, len: usize, ops: usize) {
    for _ in 0..ops {
        let _ = b.drain(len);
    }
    black_box(&*b);
}

#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_add_buffer(a: &mut Evbuffer, b: &mut Evbuffer, moves: usize) {
    for _ in (0..moves).step_by(2) {
        let _ = b.add_buffer(a);
        let _ = a.add_buffer(b);
    }
    black_box(&*a);
}

/// Reads every line; returns the count and the total line bytes.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_readln(b: &mut Evbuffer) -> (usize, usize) {
    let (mut n, mut total) = (0, 0);
    while let Some(line) = b.readln(EolStyle::Crlf) {
        total += line.len();
        n += 1;
    }
    black_box((n, total))
}

#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_search(b: &Evbuffer) -> Option<usize> {
    black_box(b.search(NEEDLE, None).map(|p| p.pos()))
}

/// Removes `ops` pieces; returns the number of short removes.
#[unsafe(no_mangle)]
#[inline(never)]
fn bench_timed_remove(b: &mut Evbuffer, out: &mut [u8], ops: usize) -> usize {
    let mut short = 0;
    for _ in 0..ops {
        short += usize::from(b.remove(out).ok() != Some(out.len()));
    }
    black_box(short)
}

// ---------------------------------------------------------------------
// Cases: each runs one round and returns (value, ops).

struct Bench {
    n_ops: usize,
    line_text: Vec<u8>,
    line_bytes: usize,
    n_lines: usize,
    search_text: Vec<u8>,
    search_expect: usize,
    search_buf: Option<Evbuffer>,
}

fn ns_since(t0: Instant) -> u64 {
    t0.elapsed().as_nanos() as u64
}

impl Bench {
    fn cycles_for(&self, per_cycle: usize) -> usize {
        self.n_ops.div_ceil(per_cycle)
    }

    /// Streams pieces of `piece_len` through one buffer in 64 KiB cycles,
    /// timing the adds or the drains.
    fn add_drain(&self, piece_len: usize, time_adds: bool) -> (f64, usize) {
        let piece = vec![b'x'; piece_len];
        let mut b = Evbuffer::new();
        let per_cycle = WINDOW_BYTES / piece_len;
        let cycles = self.cycles_for(per_cycle);
        let mut ns = 0;
        for _ in 0..cycles {
            if time_adds {
                let t0 = Instant::now();
                bench_timed_add(&mut b, &piece, per_cycle);
                ns += ns_since(t0);
                if b.len() != WINDOW_BYTES {
                    die("add: wrong buffer length");
                }
                if b.drain(WINDOW_BYTES).is_err() {
                    die("add: drain failed");
                }
            } else {
                for _ in 0..per_cycle {
                    if b.add(&piece).is_err() {
                        die("drain: fill failed");
                    }
                }
                let t0 = Instant::now();
                bench_timed_drain(&mut b, piece_len, per_cycle);
                ns += ns_since(t0);
                if !b.is_empty() {
                    die("drain: buffer not empty");
                }
            }
        }
        let ops = cycles * per_cycle;
        (ns as f64 / ops as f64, ops)
    }

    fn add_buffer(&self) -> (f64, usize) {
        let block = vec![b'y'; PINGPONG_CHAINS * CHAIN_BYTES];
        let (mut a, mut b) = (Evbuffer::new(), Evbuffer::new());
        append_as_chains(&mut a, &block);
        let moves = (self.n_ops + 1) & !1;
        let t0 = Instant::now();
        bench_timed_add_buffer(&mut a, &mut b, moves);
        let ns = ns_since(t0);
        if a.len() != block.len() || !b.is_empty() {
            die("add_buffer: data did not end up where expected");
        }
        (ns as f64 / moves as f64, moves)
    }

    fn readln(&self) -> (f64, usize) {
        let mut b = Evbuffer::new();
        append_as_chains(&mut b, &self.line_text);
        let t0 = Instant::now();
        let (n, bytes) = bench_timed_readln(&mut b);
        let ns = ns_since(t0);
        if n != self.n_lines || bytes != self.line_bytes || !b.is_empty() {
            die("readln_crlf: wrong line count or length");
        }
        (ns as f64 / self.n_lines as f64, self.n_lines)
    }

    fn search(&mut self) -> (f64, usize) {
        let text = &self.search_text;
        let b = self.search_buf.get_or_insert_with(|| {
            let mut b = Evbuffer::new();
            append_as_chains(&mut b, text);
            b
        });
        let t0 = Instant::now();
        let pos = bench_timed_search(b);
        let ns = ns_since(t0).max(1);
        if pos != Some(self.search_expect) {
            die("search_4b: needle found at the wrong offset");
        }
        // Bytes examined = everything up to the end of the match; B/ns = GB/s.
        ((self.search_expect + NEEDLE.len()) as f64 / ns as f64, 1)
    }

    fn remove(&self) -> (f64, usize) {
        let block = vec![b'z'; WINDOW_BYTES];
        let mut out = [0u8; 1024];
        let mut b = Evbuffer::new();
        let per_cycle = WINDOW_BYTES / out.len();
        let cycles = self.cycles_for(per_cycle);
        let mut ns = 0;
        for _ in 0..cycles {
            append_as_chains(&mut b, &block);
            let t0 = Instant::now();
            let bad = bench_timed_remove(&mut b, &mut out, per_cycle);
            ns += ns_since(t0);
            if bad != 0 || !b.is_empty() {
                die("remove_1k: short evbuffer_remove");
            }
        }
        let ops = cycles * per_cycle;
        (ns as f64 / ops as f64, ops)
    }

    fn run(&mut self, case: &str) -> (f64, usize) {
        match case {
            "add_16" => self.add_drain(16, true),
            "drain_16" => self.add_drain(16, false),
            "add_4096" => self.add_drain(4096, true),
            "drain_4096" => self.add_drain(4096, false),
            "add_buffer" => self.add_buffer(),
            "readln_crlf" => self.readln(),
            "search_4b" => self.search(),
            "remove_1k" => self.remove(),
            _ => unreachable!("unknown case {case}"),
        }
    }
}

const CASES: [(&str, &str); 8] = [
    ("add_16", "ns/op"),
    ("drain_16", "ns/op"),
    ("add_4096", "ns/op"),
    ("drain_4096", "ns/op"),
    ("add_buffer", "ns/op"),
    ("readln_crlf", "ns/op"),
    ("search_4b", "GB/s"),
    ("remove_1k", "ns/op"),
];

fn usage() -> ! {
    let prog = std::env::args().next().unwrap_or_else(|| "evbuf".into());
    eprintln!(
        "usage: {prog} [-n ops] [-l lines] [-b MiB] [-r rounds] [-c case]\n  \
         -n N      ops per round for add/drain/add_buffer/remove (default 4194304)\n  \
         -l L      lines for readln_crlf (default 1000000)\n  \
         -b MiB    buffer size for search_4b (default 64)\n  \
         -r R      rounds per case, median reported (default 5)\n  \
         -c NAME   run only this case (default: all)\n\
         cases: {}",
        CASES.map(|c| c.0).join(" ")
    );
    process::exit(2);
}

fn main() {
    let (mut n_ops, mut n_lines, mut volume, mut rounds) =
        (4_194_304usize, 1_000_000usize, 64usize << 20, 5usize);
    let mut only: Option<String> = None;
    for opt in common::getopt("n:l:b:r:c:h") {
        match opt {
            Opt::Flag('n', Some(v)) => n_ops = common::parse_long('n', &v, 1, 1 << 40) as usize,
            Opt::Flag('l', Some(v)) => {
                n_lines = common::parse_long('l', &v, 1, 100_000_000) as usize
            }
            Opt::Flag('b', Some(v)) => {
                volume = (common::parse_long('b', &v, 1, 4096) as usize) << 20
            }
            Opt::Flag('r', Some(v)) => rounds = common::parse_long('r', &v, 1, 1_000_000) as usize,
            Opt::Flag('c', Some(v)) => only = Some(v),
            _ => usage(),
        }
    }
    if only
        .as_deref()
        .is_some_and(|o| !CASES.iter().any(|c| c.0 == o))
    {
        usage();
    }
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    eprintln!(
        "# evbuf: rvent {}, n={n_ops} l={n_lines} b={} MiB",
        env!("CARGO_PKG_VERSION"),
        volume >> 20
    );
    let (line_text, line_bytes) = if wants("readln_crlf") {
        make_line_text(n_lines)
    } else {
        (Vec::new(), 0)
    };
    let (search_text, search_expect) = if wants("search_4b") {
        make_search_text(volume)
    } else {
        (Vec::new(), 0)
    };
    let mut bench = Bench {
        n_ops,
        line_text,
        line_bytes,
        n_lines,
        search_text,
        search_expect,
        search_buf: None,
    };
    let mut out = Out::new();
    for (name, unit) in CASES {
        if !wants(name) {
            continue;
        }
        let mut vals = Vec::with_capacity(rounds);
        let mut ops = 0;
        for _ in 0..rounds {
            let (v, o) = bench.run(name);
            vals.push(v);
            ops = o;
        }
        out.line(format_args!(
            "evbuf case={name} value={:.3} unit={unit} ops={ops}",
            common::median_of(&vals)
        ));
        out.flush();
    }
}
