//! Helpers shared by the anchor benchmarks (`../shared/anchor/bench_common.h`
//! in Rust): the splitmix64 PRNG, getopt-style flag parsing with the C
//! programs' messages and exit codes, median / min, the fd limit.
//!
//! Each bench includes this file with `mod common;`; a bench uses only part
//! of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::{IsTerminal, Write};
use std::process;

/// `BENCH_SEED` of bench_common.h.
pub const BENCH_SEED: u64 = 0x2545_F491_4F6C_DD1D;

/// splitmix64, exactly as `rng_next` in bench_common.h.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        Rng(BENCH_SEED)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `rng_below`: `next() % bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// One parsed command-line item.
pub enum Opt {
    /// A flag, with its value if the spec gives it one (`n:`).
    Flag(char, Option<String>),
    /// An unknown flag or a missing value (getopt's `'?'`); the message is
    /// already printed.
    Bad,
    /// A non-option argument (the C programs reject these after getopt).
    Operand(String),
}

/// getopt(3) over `std::env::args()` with a spec such as `"n:a:w:r:th"`:
/// clustered flags (`-th`), values attached (`-n100`) or separate
/// (`-n 100`), `--` ends the flags. `--bench`, which `cargo bench` passes,
/// is accepted and ignored.
pub fn getopt(spec: &str) -> Vec<Opt> {
    let mut args = std::env::args();
    let prog = args.next().unwrap_or_default();
    let args: Vec<String> = args.collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--bench" {
            continue;
        }
        if a == "--" {
            out.extend(args[i..].iter().cloned().map(Opt::Operand));
            break;
        }
        if !a.starts_with('-') || a == "-" || a.starts_with("--") {
            out.push(Opt::Operand(a.clone()));
            continue;
        }
        let chars: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            let pos = spec.find(c).filter(|_| c != ':');
            let Some(pos) = pos else {
                eprintln!("{prog}: invalid option -- '{c}'");
                out.push(Opt::Bad);
                continue;
            };
            if spec[pos + c.len_utf8()..].starts_with(':') {
                let rest: String = chars[j..].iter().collect();
                if !rest.is_empty() {
                    out.push(Opt::Flag(c, Some(rest)));
                } else if i < args.len() {
                    out.push(Opt::Flag(c, Some(args[i].clone())));
                    i += 1;
                } else {
                    eprintln!("{prog}: option requires an argument -- '{c}'");
                    out.push(Opt::Bad);
                }
                break;
            }
            out.push(Opt::Flag(c, None));
        }
    }
    out
}

/// `parse_long` of bench_common.h: a base-10 integer in `[min, max]`
/// (leading white space and a sign allowed, as with strtol), else exit 2.
pub fn parse_long(flag: char, s: &str, min: i64, max: i64) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    match t.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => v,
        _ => {
            eprintln!("invalid value for -{flag}: '{s}' (expected {min}..{max})");
            process::exit(2);
        }
    }
}

/// Median (the mean of the two middle values for an even count).
pub fn median_of(v: &[f64]) -> f64 {
    let mut t = v.to_vec();
    t.sort_by(f64::total_cmp);
    let n = t.len();
    if n % 2 == 1 {
        t[n / 2]
    } else {
        (t[n / 2 - 1] + t[n / 2]) / 2.0
    }
}

/// Smallest value.
pub fn min_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(v[0], f64::min)
}

/// stdout as C's stdio has it: line-buffered on a terminal, fully buffered
/// otherwise (so a redirected run makes no `write` per round line, like the
/// C programs). Call [`Out::flush`] before exiting.
pub struct Out {
    buf: String,
    tty: bool,
}

impl Out {
    pub fn new() -> Out {
        Out {
            buf: String::new(),
            tty: std::io::stdout().is_terminal(),
        }
    }

    /// Appends one line (the newline is added).
    pub fn line(&mut self, s: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        let _ = self.buf.write_fmt(s);
        self.buf.push('\n');
        if self.tty {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        let mut so = std::io::stdout().lock();
        if so
            .write_all(self.buf.as_bytes())
            .and_then(|()| so.flush())
            .is_err()
        {
            process::exit(1);
        }
        self.buf.clear();
    }
}

/// `raise_fd_limit` of pipes.c: room for `2 * n + 64` descriptors.
pub fn raise_fd_limit(n: usize) {
    let need = (n as libc::rlim_t) * 2 + 64;
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 || rl.rlim_cur >= need {
        return;
    }
    rl.rlim_cur = need;
    if rl.rlim_max != libc::RLIM_INFINITY && rl.rlim_max < need {
        rl.rlim_cur = rl.rlim_max;
    }
    // SAFETY: `rl` is a valid, initialised rlimit; setrlimit only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) } != 0 {
        eprintln!(
            "setrlimit(RLIMIT_NOFILE): {}",
            std::io::Error::last_os_error()
        );
    }
}
