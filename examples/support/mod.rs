//! What every example does the same way: read its flags, print its usage,
//! report a failure and write to stdout. Not an example itself (cargo
//! builds `examples/*.rs` and `examples/*/main.rs`; this folder has no
//! `main.rs`); each example includes it with
//! `#[path = "support/mod.rs"] mod support;`.
//!
//! The conventions, shared so the examples behave alike:
//! - `-h` / `--help` prints the usage to stdout and exits 0;
//! - a bad or unknown argument prints one `NAME: what is wrong` line and
//!   the usage line to stderr and exits 2;
//! - a failure prints one `NAME: what failed: why` line (`Display`, never
//!   `Debug`) to stderr and exits 1 — which is why `main` returns `()` and
//!   hands its body to [`run`] instead of returning a `Result`, whose
//!   error Rust would print with `Debug`;
//! - stdout is written with [`outln!`], which returns the error instead of
//!   panicking like `println!`. A closed stdout (`time_test | head -1`)
//!   ends a program that exists to print quietly with status 0 (see
//!   [`run`]); a server keeps serving and drops its log lines.

// Each example uses only some of these helpers (and `benches/echo.rs`
// compiles `echo_server` with this module inside it).
#![allow(dead_code)]

use std::error::Error;
use std::fmt::Display;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

use rvent::{Event, EventBase, Http};

/// Writes one line to stdout like `println!`, but returns the
/// `io::Result<()>` instead of panicking when stdout is closed. Rust's
/// stdout is line-buffered, so the line is out when this returns.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use outln;

/// The command line of one example: its name, its usage text and the
/// arguments after the program name.
pub struct Args {
    name: &'static str,
    usage: &'static str,
    rest: std::env::Args,
}

impl Args {
    /// The process's arguments. `usage` is the whole help text, starting
    /// with a `usage: NAME …` line.
    pub fn new(name: &'static str, usage: &'static str) -> Args {
        let mut rest = std::env::args();
        rest.next(); // the program name
        Args { name, usage, rest }
    }

    /// The next argument, or `None` once all were read. `-h` / `--help`
    /// prints the usage to stdout and exits 0 without returning.
    pub fn next_flag(&mut self) -> Option<String> {
        let arg = self.rest.next()?;
        if arg == "-h" || arg == "--help" {
            // Nothing useful to do if stdout is closed: exit 0 anyway.
            let _ = outln!("{}", self.usage);
            std::process::exit(0);
        }
        Some(arg)
    }

    /// The value after `flag`, parsed; `what` names it in the error
    /// message ("port"). A missing or unparsable value is a usage error.
    pub fn value<T>(&mut self, flag: &str, what: &str) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some(v) = self.rest.next() else {
            self.usage_error(format_args!("{flag} needs a {what}"));
        };
        v.parse()
            .unwrap_or_else(|e| self.usage_error(format_args!("bad {what} '{v}': {e}")))
    }

    /// An argument the example does not know: a usage error.
    pub fn unexpected(&self, arg: &str) -> ! {
        self.usage_error(format_args!("unexpected argument '{arg}'"))
    }

    /// Prints `NAME: msg` and the usage line to stderr, then exits 2.
    pub fn usage_error(&self, msg: impl Display) -> ! {
        let usage = self.usage.lines().next().unwrap_or_default();
        eprintln!("{}: {msg}\n{usage}\n(--help for more)", self.name);
        std::process::exit(2);
    }
}

/// Parses the command line of a server whose only flag is `-p PORT`.
pub fn port_arg(name: &'static str, usage: &'static str, default: u16) -> u16 {
    let mut args = Args::new(name, usage);
    let mut port = default;
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "-p" => port = args.value("-p", "port"),
            other => args.unexpected(other),
        }
    }
    port
}

/// Runs an example's body: on an error prints `NAME: error` (its
/// `Display` form, one line) to stderr and exits 1. A broken pipe on
/// stdout — the reader went away, as in `time_test | head -1` — is no
/// failure: the program ends quietly with status 0.
pub fn run(name: &str, body: impl FnOnce() -> Result<(), Box<dyn Error>>) {
    match body() {
        Ok(()) => {}
        Err(e) if e.downcast_ref::<StdoutClosed>().is_some() => {}
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
    }
}

/// A failed write to stdout as an error for [`run`]: a closed pipe
/// becomes [`StdoutClosed`] (a quiet exit), anything else a message.
pub fn stdout_error(e: io::Error) -> Box<dyn Error> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Box::new(StdoutClosed)
    } else {
        format!("cannot write to stdout: {e}").into()
    }
}

/// Nobody reads stdout any more; [`run`] exits quietly.
#[derive(Debug)]
pub struct StdoutClosed;

impl Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl Error for StdoutClosed {}

/// Adds what was being done to an error: `cannot bind 127.0.0.1:9995:
/// Address already in use (os error 98)`. An rvent I/O error shows the OS
/// error itself, without rvent's `i/o error:` prefix.
pub trait Context<T> {
    /// `Err(e)` becomes the message `{what}: {e}`.
    fn context(self, what: impl Display) -> Result<T, Box<dyn Error>>;
}

impl<T, E: Into<io::Error>> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T, Box<dyn Error>> {
        self.map_err(|e| format!("{what}: {}", e.into()).into())
    }
}

/// Events that end the loop on SIGINT or SIGTERM, each saying
/// `NAME: caught signal N, exiting` on stderr: how the servers stop with
/// status 0. Free them with [`free_events`] after the loop.
pub fn exit_on_signals(base: &mut EventBase, name: &'static str) -> rvent::Result<Vec<Event>> {
    let mut signals = Vec::new();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let ev = Event::signal(base, sig, move |base, _, sig, _| {
            eprintln!("{name}: caught signal {sig}, exiting");
            base.loopbreak();
        })?;
        ev.add(base, None)?;
        signals.push(ev);
    }
    Ok(signals)
}

/// Frees the events [`exit_on_signals`] made.
pub fn free_events(base: &mut EventBase, events: Vec<Event>) -> rvent::Result<()> {
    for ev in events {
        ev.free(base)?;
    }
    Ok(())
}

/// Binds `http` to 127.0.0.1:`port` (0: a free one) and returns the port
/// it got.
pub fn bind_localhost(base: &mut EventBase, http: Http, port: u16) -> Result<u16, Box<dyn Error>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bound = http
        .bind(base, addr)
        .context(format_args!("cannot bind {addr}"))?;
    Ok(bound.local_addr(base)?.port())
}
