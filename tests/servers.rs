//! The example programs (tutorial samples) as real processes: `time_test`
//! ticks and stops, `signal_test` exits after two SIGINTs, `event_server`
//! and `echo_server` echo for concurrent clients and shut down cleanly on
//! SIGINT, `hello_world` greets every client and exits within 2 s of a
//! SIGINT, `http_server` serves files, listings and `/dump`, refuses
//! every way out of its root and exits on SIGINT, `http_get` and
//! `http_load` fetch from `http_hello`, `epoll_server` (level- and
//! edge-triggered) keeps the anchor's echo contract and shows in
//! `--blocking` mode why one client at a time stalls the next, `reactor`
//! keeps the same contract on a hand-built reactor, `count_bytes` ends
//! with 0 bytes held. Also their shared command-line conventions
//! (`--help`, usage errors, `Display` error messages), a closed stdout,
//! and `event_server` out of file descriptors. The examples are built like this test binary
//! (same target dir, `--target`, profile), so sanitizer runs test
//! sanitized examples.
//!
//! Every wait is bounded, and a guard kills a child still running when a
//! test fails.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// Only some of the client's helpers are used here.
#[allow(dead_code)]
#[path = "util/http.rs"]
mod http_client;

/// Upper bound for anything that should be quick (process start, a line).
const PATIENCE: Duration = Duration::from_secs(10);
/// Socket read/write timeout for the echo clients.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The examples these tests run, built together on first use.
const EXAMPLES: [&str; 10] = [
    "time_test",
    "signal_test",
    "event_server",
    "echo_server",
    "hello_world",
    "http_server",
    "epoll_server",
    "reactor",
    "http_get",
    "http_load",
];

/// Examples built and run beside them whose command line is tested
/// elsewhere: `http_hello` (the anchor benchmark's server, port 8080
/// like `http_server`) serves the HTTP clients.
const ALSO_BUILT: [&str; 1] = ["http_hello"];

/// Path of example `name`, built (once per test process) the way this
/// test binary was built. Built here rather than trusted to exist:
/// `cargo test --test servers` alone does not rebuild examples, and a
/// stale one would be tested.
fn example(name: &str) -> PathBuf {
    assert!(
        EXAMPLES.contains(&name) || ALSO_BUILT.contains(&name),
        "add {name} to EXAMPLES"
    );
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(build_examples).join(name)
}

/// Where cargo put this test binary: `<target dir>[/<triple>]/<profile>/deps/`.
#[derive(Debug)]
struct Layout {
    target_dir: PathBuf,
    /// Present when the tests were built with `--target` (as sanitizer
    /// builds must be: `RUSTFLAGS=-Zsanitizer=address cargo +nightly test
    /// --target x86_64-unknown-linux-gnu`).
    triple: Option<String>,
    /// `debug`, `release` or a custom profile's name.
    profile: String,
    /// `<target dir>[/<triple>]/<profile>`: the examples land in its
    /// `examples/`.
    profile_dir: PathBuf,
}

impl Layout {
    fn of_this_test() -> Layout {
        let exe = std::env::current_exe().expect("current_exe");
        Layout::of(&exe).unwrap_or_else(|| {
            panic!(
                "test binary {} is not in <target>[/<triple>]/<profile>/deps",
                exe.display()
            )
        })
    }

    /// Reads the layout off a test binary's path. The directory above the
    /// profile is the target dir itself unless it is a triple: cargo keeps
    /// its `.rustc_info.json` in the target dir only, and a triple has at
    /// least two dashes (the fallback when that cache file is disabled).
    fn of(exe: &Path) -> Option<Layout> {
        let deps = exe.parent()?;
        if deps.file_name()? != "deps" {
            return None;
        }
        let profile_dir = deps.parent()?;
        let profile = profile_dir.file_name()?.to_str()?.to_owned();
        let above = profile_dir.parent()?;
        let name = above.file_name()?.to_str()?;
        let is_target_dir = |d: &Path| d.join(".rustc_info.json").is_file();
        let is_triple = if is_target_dir(above) {
            false
        } else if above.parent().is_some_and(is_target_dir) {
            true
        } else {
            name.matches('-').count() >= 2
        };
        let (target_dir, triple) = if is_triple {
            (above.parent()?, Some(name.to_owned()))
        } else {
            (above, None)
        };
        Some(Layout {
            target_dir: target_dir.to_owned(),
            triple,
            profile,
            profile_dir: profile_dir.to_owned(),
        })
    }

    /// `cargo build` arguments that put the examples next to this binary:
    /// same target dir, `--target`, profile.
    fn cargo_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--target-dir".into(), self.target_dir.clone().into()];
        if let Some(triple) = &self.triple {
            args.extend(["--target".into(), triple.into()]);
        }
        match self.profile.as_str() {
            // `cargo test` builds with the test profile, which inherits
            // from dev and shares its directory.
            "debug" => {}
            "release" => args.push("--release".into()),
            other => args.extend(["--profile".into(), other.into()]),
        }
        args
    }
}

#[test]
fn layout_is_read_off_the_test_binary_path() {
    let host = Layout::of(Path::new("/r/target/debug/deps/servers-0123")).unwrap();
    assert_eq!(host.triple, None);
    assert_eq!(host.target_dir, Path::new("/r/target"));
    assert_eq!(host.profile_dir, Path::new("/r/target/debug"));
    assert!(host.cargo_args() == ["--target-dir", "/r/target"]);

    let asan = Layout::of(Path::new(
        "/r/target/asan/x86_64-unknown-linux-gnu/release/deps/servers-0123",
    ))
    .unwrap();
    assert_eq!(asan.triple.as_deref(), Some("x86_64-unknown-linux-gnu"));
    assert_eq!(asan.target_dir, Path::new("/r/target/asan"));
    let expected = [
        "--target-dir",
        "/r/target/asan",
        "--target",
        "x86_64-unknown-linux-gnu",
        "--release",
    ];
    assert!(asan.cargo_args() == expected, "{:?}", asan.cargo_args());

    assert!(Layout::of(Path::new("/r/servers-0123")).is_none());
    // This very binary: its examples directory is a sibling of deps/.
    let me = Layout::of_this_test();
    assert_eq!(
        me.profile_dir,
        std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
    );
}

/// `cargo build --example …` for every example in [`EXAMPLES`], with the
/// target dir, `--target` and profile of this test binary (`RUSTFLAGS`
/// and the toolchain come through the environment `cargo test` set);
/// returns the directory holding them.
fn build_examples() -> PathBuf {
    let layout = Layout::of_this_test();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .args(layout.cargo_args())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    for name in EXAMPLES.iter().chain(&ALSO_BUILT) {
        cmd.args(["--example", name]);
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "{cmd:?} failed with {status}");
    let dir = layout.profile_dir.join("examples");
    for name in EXAMPLES.iter().chain(&ALSO_BUILT) {
        let exe = dir.join(name);
        assert!(
            exe.is_file(),
            "{cmd:?} did not produce {} ({layout:?})",
            exe.display()
        );
    }
    dir
}

/// A running example: killed and reaped on drop unless it already exited,
/// with its stdout lines arriving on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    /// What it wrote to stderr, when captured (see [`Running::start`]).
    stderr: Option<Arc<Mutex<Captured>>>,
    name: &'static str,
}

impl Running {
    fn spawn(name: &'static str, args: &[&str]) -> Running {
        let mut cmd = Command::new(example(name));
        cmd.args(args);
        Running::start(name, cmd, false)
    }

    /// Starts `cmd` (which runs example `name`, perhaps through a shell)
    /// with stdin empty, stdout read line by line and stderr either
    /// inherited or captured.
    fn start(name: &'static str, mut cmd: Command, capture_stderr: bool) -> Running {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped());
        cmd.stderr(if capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().map(capture);
        Running {
            child,
            lines: forward_lines(stdout),
            stderr,
            name,
        }
    }

    /// A copy of what was captured from stderr so far.
    fn stderr(&self) -> Captured {
        let captured = self.stderr.as_ref().expect("stderr captured");
        captured.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The next stdout line, or a panic after `PATIENCE`.
    fn line(&self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{}: no output line in {PATIENCE:?}", self.name)
            }
            Err(RecvTimeoutError::Disconnected) => panic!("{}: stdout closed early", self.name),
        }
    }

    /// Every line still to come, until the child closes stdout.
    fn rest(&self) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => out.push(line),
                Err(RecvTimeoutError::Disconnected) => return out,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: stdout still open after {PATIENCE:?}", self.name)
                }
            }
        }
    }

    fn sigint(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: `kill` only takes integers; the pid is our own child and
        // is not reaped before `wait`, so it cannot name another process.
        let rc = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, SIGINT): {}",
            std::io::Error::last_os_error()
        );
    }

    /// Sends SIGINT and expects `what` to exit with status 0 within 2 s.
    fn interrupt_and_expect_success(&mut self, what: &str) {
        self.sigint();
        let status = self.wait(Duration::from_secs(2));
        assert!(status.success(), "{what} exited with {status}");
    }

    /// Waits up to `limit` for the child to exit.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} still running after {limit:?}",
                self.name
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Output read from a child, kept up to a cap (a program that floods its
/// stderr must not flood the test's memory), with its lines counted.
#[derive(Clone, Default)]
struct Captured {
    /// The first [`Captured::KEEP`] bytes.
    text: String,
    /// Newlines seen, including past the cap.
    lines: usize,
}

impl Captured {
    const KEEP: usize = 64 * 1024;
}

/// Reads `from` to its end on a thread, into a shared [`Captured`].
fn capture(mut from: impl Read + Send + 'static) -> Arc<Mutex<Captured>> {
    let shared = Arc::new(Mutex::new(Captured::default()));
    let out = Arc::clone(&shared);
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            let mut c = out.lock().unwrap_or_else(|e| e.into_inner());
            c.lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
            let room = Captured::KEEP.saturating_sub(c.text.len());
            c.text
                .push_str(&String::from_utf8_lossy(&buf[..n.min(room)]));
        }
    });
    shared
}

/// Runs example `name` to its end (bounded by [`PATIENCE`]) with empty
/// stdin, returning its exit status, stdout and stderr. With
/// `close_stdout` its stdout is a pipe whose reading end was closed before
/// it started (`example | true`).
fn run_to_end(name: &str, args: &[&str], close_stdout: bool) -> (ExitStatus, String, String) {
    let mut cmd = Command::new(example(name));
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    if close_stdout {
        // Closed here, before the spawn, rather than by dropping a
        // `ChildStdout` after it: a child that another test thread forks
        // meanwhile would hold a copy of that reading end until its exec,
        // and the example's first write could succeed.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        cmd.stdout(writer);
    } else {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    drop(cmd); // our copy of the writing end, if any
    let stdout = child.stdout.take().map(capture);
    let stderr = capture(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} still running after {PATIENCE:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    // The child is gone, so the readers reach EOF at once (unless it left
    // a grandchild holding the pipes, which these examples do not).
    let text = |c: &Arc<Mutex<Captured>>| {
        let deadline = Instant::now() + PATIENCE;
        while Arc::strong_count(c) > 1 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        c.lock().unwrap_or_else(|e| e.into_inner()).text.clone()
    };
    let out = stdout.as_ref().map(text).unwrap_or_default();
    (status, out, text(&stderr))
}

fn forward_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Parses `timeout_cb called at <secs>: <elapsed> seconds elapsed.`
fn parse_tick(line: &str) -> (u64, f64) {
    let parsed = line
        .strip_prefix("timeout_cb called at ")
        .and_then(|r| r.strip_suffix(" seconds elapsed."))
        .and_then(|r| r.split_once(": "))
        .and_then(|(secs, el)| Some((secs.parse().ok()?, el.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("unexpected time_test line {line:?}"))
}

#[test]
fn time_test_ticks_n_times_then_exits() {
    let mut p = Running::spawn("time_test", &["-n", "3", "-i", "20"]);
    let status = p.wait(PATIENCE);
    assert!(status.success(), "time_test exited with {status}");
    let lines = p.rest();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut total = 0.0;
    for (i, line) in lines.iter().enumerate() {
        let (secs, elapsed) = parse_tick(line);
        assert!(secs.abs_diff(wall) < 60, "wall clock {secs} vs {wall}");
        // Timers never fire early; "late" is bounded loosely for busy CI.
        if i == 0 {
            assert!(elapsed >= 0.019, "first tick after {elapsed} s: {line}");
        }
        assert!(elapsed < 0.5, "tick after {elapsed} s: {line}");
        total += elapsed;
    }
    // A persistent timeout re-arms from its deadline: three ticks take at
    // least three intervals (minus printf rounding) however late each ran.
    assert!(total >= 0.0585, "three ticks in {total} s");
}

#[test]
fn time_test_exits_cleanly_on_sigint() {
    let mut p = Running::spawn("time_test", &["-i", "20"]);
    parse_tick(&p.line()); // the loop runs, so the SIGINT event is added
    p.interrupt_and_expect_success("time_test");
}

#[test]
fn signal_test_exits_after_two_sigints() {
    let mut p = Running::spawn("signal_test", &[]);
    let ready = p.line();
    assert!(ready.starts_with("waiting for SIGINT"), "{ready:?}");
    p.sigint();
    // Wait for the first to be handled, so the two cannot coalesce.
    let first = p.line();
    assert!(first.starts_with("signal_cb: got signal 2"), "{first:?}");
    p.interrupt_and_expect_success("signal_test");
    let rest = p.rest();
    assert!(rest[0].starts_with("signal_cb: got signal 2"), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("done"), "{rest:?}");
}

/// Starts `event_server -p 0` and returns it with its address.
fn echo_server() -> (Running, SocketAddr) {
    server("event_server")
}

/// Starts example `name` with `-p 0` and returns it with the address of
/// its first stdout line, `listening on <addr>`.
fn server(name: &'static str) -> (Running, SocketAddr) {
    server_with(name, &[])
}

/// [`server`] with more arguments after `-p 0`.
fn server_with(name: &'static str, args: &[&str]) -> (Running, SocketAddr) {
    let mut all = vec!["-p", "0"];
    all.extend(args);
    let p = Running::spawn(name, &all);
    let line = p.line();
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (p, addr)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Deterministic bytes (an LCG), different per `seed`.
fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

/// Sends `data` from a second thread while reading the echo here (so
/// neither side's socket buffer can fill up and stall), then half-closes
/// and expects the server to close after the last byte.
fn echo_all(stream: &TcpStream, data: &[u8]) {
    let mut got = Vec::with_capacity(data.len());
    thread::scope(|s| {
        let mut w = stream;
        s.spawn(move || {
            w.write_all(data).expect("write");
            w.shutdown(Shutdown::Write).expect("shutdown");
        });
        let mut r = stream;
        r.read_to_end(&mut got).expect("read echo to EOF");
    });
    assert_eq!(got.len(), data.len(), "echo length");
    assert!(got == data, "echo differs from what was sent");
}

/// One request/response round on a kept-open connection.
fn round_trip(stream: &mut TcpStream, msg: &[u8]) {
    stream.write_all(msg).expect("write");
    let mut back = vec![0; msg.len()];
    stream.read_exact(&mut back).expect("read echo");
    assert_eq!(back, msg);
}

/// `clients` concurrent clients, each with 20 round trips and then an
/// echo of `big + id` bytes that ends in a half-close: the whole echo
/// comes back before the server closes.
fn concurrent_echoes(addr: SocketAddr, clients: u64, big: usize) {
    thread::scope(|s| {
        for id in 0..clients {
            s.spawn(move || {
                let mut c = connect(addr);
                for round in 0..20 {
                    let msg = format!("client {id} round {round}\n");
                    round_trip(&mut c, msg.as_bytes());
                }
                echo_all(&c, &payload(id, big + id as usize));
            });
        }
    });
}

/// A rude client (reset with 300 KB of echo unread) does not disturb
/// others: a new client still gets its round trip. Returns that client.
fn rude_client_disturbs_nobody(addr: SocketAddr) -> TcpStream {
    let mut rude = connect(addr);
    rude.write_all(&payload(9, 300_000)).expect("write");
    drop(rude);
    let mut steady = connect(addr);
    round_trip(&mut steady, b"still here\n");
    steady
}

#[test]
fn event_server_echoes_concurrent_clients() {
    let (mut server, addr) = echo_server();
    concurrent_echoes(addr, 8, 64 * 1024);
    server.interrupt_and_expect_success("event_server");
}

#[test]
fn event_server_echoes_a_mebibyte_intact() {
    let (mut server, addr) = echo_server();
    let small = connect(addr);
    let data = payload(42, 1 << 20);
    let big = connect(addr);
    // Another client echoes alongside the big one.
    thread::scope(|s| {
        s.spawn(|| echo_all(&big, &data));
        let mut small = &small;
        for i in 0..50 {
            let msg = format!("ping {i}\n");
            small.write_all(msg.as_bytes()).expect("write");
            let mut back = vec![0; msg.len()];
            small.read_exact(&mut back).expect("read");
            assert_eq!(back, msg.as_bytes());
        }
    });
    server.interrupt_and_expect_success("event_server");
}

#[test]
fn event_server_survives_a_client_disconnect() {
    let (mut server, addr) = echo_server();
    let mut steady = connect(addr);
    round_trip(&mut steady, b"before\n");

    // Abrupt: leave echo unread, so the close resets the connection.
    let mut rude = connect(addr);
    rude.write_all(&payload(7, 200_000)).expect("write");
    drop(rude);
    // Polite: EOF right after connecting.
    let polite = connect(addr);
    polite.shutdown(Shutdown::Write).expect("shutdown");
    let mut rest = Vec::new();
    (&polite)
        .read_to_end(&mut rest)
        .expect("server closes after EOF");
    assert!(rest.is_empty());

    round_trip(&mut steady, b"after\n");
    let mut fresh = connect(addr);
    round_trip(&mut fresh, b"newcomer\n");
    echo_all(&steady, &payload(8, 100_000));

    server.interrupt_and_expect_success("event_server");
    let lines = server.rest();
    assert!(
        lines.iter().any(|l| l.starts_with("shutting down")),
        "{lines:?}"
    );
}

#[test]
fn event_server_exits_on_sigint_with_clients_connected() {
    let (mut server, addr) = echo_server();
    let mut idle = connect(addr);
    round_trip(&mut idle, b"hello\n");
    server.interrupt_and_expect_success("event_server");
    // The server closed its side.
    let mut buf = [0; 8];
    match idle.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected EOF after shutdown, got {other:?}"),
    }
}

#[test]
fn echo_server_echoes_concurrent_clients_and_half_closes() {
    let (mut server, addr) = server("echo_server");
    concurrent_echoes(addr, 8, 256 * 1024);
    rude_client_disturbs_nobody(addr);
    server.interrupt_and_expect_success("echo_server");
}

/// `echo_server --max-mem`: a client that sends without reading its echo
/// is cut once the budget is full; another client is served before and
/// after; `--help` lists the flag.
#[test]
fn echo_server_max_mem_cuts_a_client_that_never_reads() {
    let (status, stdout, _) = run_to_end("echo_server", &["--help"], false);
    assert!(status.success());
    assert!(stdout.contains("--max-mem BYTES"), "{stdout:?}");
    let (mut server, addr) = server_with("echo_server", &["--max-mem", "1048576"]);
    let mut steady = connect(addr);
    round_trip(&mut steady, b"before\n");
    let mut flood = connect(addr);
    let chunk = payload(7, 64 * 1024);
    let mut sent = 0;
    while sent < 64 << 20 {
        match flood.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(sent < 64 << 20, "the client was cut after {sent} bytes");
    round_trip(&mut steady, b"after\n");
    let mut fresh = connect(addr);
    round_trip(&mut fresh, b"new client\n");
    server.interrupt_and_expect_success("echo_server");
}

/// The anchor's echo contract, as `benches/compare.sh` relies on it:
/// concurrent clients get their round trips and a 256 KiB echo each
/// (more than the socket buffers hold, so the server must stop reading
/// and resume), a half-closed client gets its whole echo before the
/// server closes, a client reset with echo unread disturbs nobody, and
/// SIGINT ends the server with status 0.
fn keeps_the_echo_contract(name: &'static str, args: &[&str]) {
    let (mut server, addr) = server_with(name, args);
    concurrent_echoes(addr, 6, 256 * 1024);
    let steady = rude_client_disturbs_nobody(addr);
    echo_all(&steady, &payload(10, 1 << 20));
    server.interrupt_and_expect_success(&format!("{name} {args:?}"));
}

#[test]
fn epoll_server_level_triggered_keeps_the_echo_contract() {
    keeps_the_echo_contract("epoll_server", &[]);
}

/// Edge-triggered: a handler that read only once per edge would leave
/// the 256 KiB echoes stuck (no new edge comes for bytes already there).
#[test]
fn epoll_server_edge_triggered_keeps_the_echo_contract() {
    keeps_the_echo_contract("epoll_server", &["--et"]);
}

/// The same echo server on the hand-built reactor of chapter 3.
#[test]
fn reactor_keeps_the_echo_contract() {
    keeps_the_echo_contract("reactor", &[]);
}

/// `--blocking` serves one client at a time: a second client is
/// accepted by the kernel but gets no echo while the first is
/// connected, and gets it as soon as the first leaves.
#[test]
fn epoll_server_blocking_serves_one_client_at_a_time() {
    let (mut server, addr) = server_with("epoll_server", &["--blocking"]);
    let mut first = connect(addr);
    round_trip(&mut first, b"first\n");
    let mut second = connect(addr);
    second.write_all(b"second\n").expect("write");
    second
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 7];
    match second.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("second client served while the first is connected: {other:?}"),
    }
    round_trip(&mut first, b"first again\n");
    drop(first);
    second.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    second
        .read_exact(&mut buf)
        .expect("echo once the first left");
    assert_eq!(&buf, b"second\n");
    echo_all(&second, &payload(11, 256 * 1024));
    server.interrupt_and_expect_success("epoll_server --blocking");
}

#[test]
fn hello_world_greets_each_client_then_closes() {
    let (mut server, addr) = server("hello_world");
    for _ in 0..5 {
        let c = connect(addr);
        let mut got = Vec::new();
        (&c).read_to_end(&mut got)
            .expect("server closes after the greeting");
        assert_eq!(got, b"Hello, World!\n");
    }
    // Clients at once.
    thread::scope(|s| {
        for _ in 0..20 {
            s.spawn(move || {
                let c = connect(addr);
                let mut got = Vec::new();
                (&c).read_to_end(&mut got).expect("read");
                assert_eq!(got, b"Hello, World!\n");
            });
        }
    });
    let start = Instant::now();
    server.sigint();
    let status = server.wait(Duration::from_secs(4));
    let took = start.elapsed();
    assert!(status.success(), "hello_world exited with {status}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(3000),
        "exit {took:?} after SIGINT, expected ~2 s"
    );
    let lines = server.rest();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Caught an interrupt signal")),
        "{lines:?}"
    );
    assert_eq!(lines.iter().filter(|l| *l == "flushed answer").count(), 25);
}

#[test]
fn hello_world_exits_at_once_on_sigterm() {
    let (mut server, addr) = server("hello_world");
    let c = connect(addr);
    let mut got = Vec::new();
    (&c).read_to_end(&mut got).expect("greeting");
    assert_eq!(got, b"Hello, World!\n");
    let pid = libc::pid_t::try_from(server.child.id()).expect("pid fits pid_t");
    let start = Instant::now();
    // SAFETY: our own unreaped child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.wait(Duration::from_secs(2));
    assert!(status.success(), "hello_world exited with {status}");
    assert!(start.elapsed() < Duration::from_millis(1000));
}

/// The regression for the busy loop on `EMFILE`: with its descriptors
/// used up, `event_server` used to find the listening socket readable
/// again at once and log a failed `accept` on every loop iteration
/// (600,000 lines in 5 s). Now it pauses accepting, logs once, serves the
/// clients it has meanwhile, and accepts again once descriptors are free.
#[test]
fn event_server_pauses_accepting_when_out_of_fds() {
    // 32 descriptors: a dozen for stdio, the base and the listener, the
    // rest for clients; 48 clients are more than that.
    const CLIENTS: usize = 48;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"ulimit -n 32 && exec "$0" "$@""#])
        .arg(example("event_server"))
        .args(["-p", "0"]);
    let mut server = Running::start("event_server", cmd, true);
    let line = server.line();
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));

    // The kernel completes every connection (the backlog is 128); the
    // server runs out of descriptors accepting them.
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(addr)).collect();
    let deadline = Instant::now() + PATIENCE;
    while !server.stderr().text.contains("Too many open files") {
        assert!(
            Instant::now() < deadline,
            "no EMFILE in {PATIENCE:?}; stderr: {:?}",
            server.stderr().text
        );
        thread::sleep(Duration::from_millis(5));
    }
    // Out of descriptors for a while: the log must stay quiet (a spinning
    // loop writes thousands of lines in this time) ...
    let quiet_until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < quiet_until {
        let lines = server.stderr().lines;
        assert!(lines < 20, "{lines} stderr lines while out of fds");
        thread::sleep(Duration::from_millis(10));
    }
    // ... and the clients it accepted are still served.
    round_trip(&mut clients[0], b"served while paused\n");

    // Closing the clients frees descriptors: the waiting connections are
    // accepted (each sees EOF), then a newcomer is served.
    drop(clients);
    let mut fresh = connect(addr);
    round_trip(&mut fresh, b"served again\n");

    server.interrupt_and_expect_success("event_server");
    let log = server.stderr();
    assert!(log.lines < 20, "{} stderr lines: {:?}", log.lines, log.text);
    assert!(log.text.contains("pausing"), "{:?}", log.text);
    assert!(log.text.contains("accepting again"), "{:?}", log.text);
}

/// `count_bytes` (tutorial 9.3, needs the `mem-functions` feature): the
/// counting replacement functions see rvent's blocks come and go, and
/// the last line says 0 bytes are left once the base is dropped. Built
/// on its own, since [`EXAMPLES`] must build without the feature.
#[cfg(feature = "mem-functions")]
#[test]
fn count_bytes_counts_up_then_back_to_zero() {
    let layout = Layout::of_this_test();
    let status = Command::new(env!("CARGO"))
        .arg("build")
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .args(layout.cargo_args())
        .args(["--example", "count_bytes"])
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --example count_bytes: {status}"
    );
    let exe = layout.profile_dir.join("examples").join("count_bytes");
    let out = Command::new(&exe).output().expect("run count_bytes");
    assert!(out.status.success(), "count_bytes: {}", out.status);
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let bytes = |stage: &str| -> u64 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(stage))
            .unwrap_or_else(|| panic!("no {stage:?} line in {stdout:?}"));
        let n = line.split_whitespace().rev().nth(2).expect("a count");
        n.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"))
    };
    assert_eq!(bytes("hooks installed"), 0);
    assert!(bytes("event base created") > 0, "{stdout}");
    assert!(
        bytes("echo events added") > bytes("event base created"),
        "{stdout}"
    );
    assert_eq!(bytes("event base dropped"), 0, "{stdout}");
}

/// `time_test | head -1` and friends: a closed stdout ends the program
/// quietly with status 0, not with a `println!` panic (exit 101).
#[test]
fn examples_exit_quietly_when_stdout_is_closed() {
    for (name, args) in [
        ("time_test", &["-n", "3", "-i", "5"][..]),
        ("signal_test", &[][..]),
    ] {
        let (status, _, stderr) = run_to_end(name, args, true);
        assert_eq!(
            status.code(),
            Some(0),
            "{name}: {status}, stderr {stderr:?}"
        );
        assert_eq!(stderr, "", "{name}");
    }
}

#[test]
fn examples_print_help_to_stdout_and_exit_0() {
    let mut default_ports = Vec::new();
    for name in EXAMPLES {
        for flag in ["--help", "-h"] {
            let (status, stdout, stderr) = run_to_end(name, &[flag], false);
            assert_eq!(status.code(), Some(0), "{name} {flag}: {status}");
            assert!(
                stdout.starts_with(&format!("usage: {name}")),
                "{name} {flag}: {stdout:?}"
            );
            assert_eq!(stderr, "", "{name} {flag}");
            let port_line = stdout
                .lines()
                .find(|l| l.trim_start().starts_with("-p PORT"));
            if let Some((_, rest)) = port_line.and_then(|l| l.split_once("(default ")) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                default_ports.push((name, port));
            }
        }
    }
    // hello_world keeps the tutorial's 9995, http_server its 8080; the
    // servers differ, so all of them can run side by side.
    default_ports.dedup();
    let ports: Vec<&str> = default_ports.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(
        ports,
        ["9996", "9876", "9995", "8080", "9877", "9878"],
        "{default_ports:?}"
    );
}

/// A usage error is one `NAME: …` line in `Display` form (no `Debug`
/// quoting, no `Os { … }`) plus the usage line, with exit status 2.
#[test]
fn bad_arguments_are_one_display_line_and_exit_2() {
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "event_server",
            &["-p", "abc"],
            "event_server: bad port 'abc': invalid digit found in string",
        ),
        (
            "echo_server",
            &["-p", "70000"],
            "echo_server: bad port '70000': number too large to fit in target type",
        ),
        ("hello_world", &["-p"], "hello_world: -p needs a port"),
        (
            "time_test",
            &["-i", "-1"],
            "time_test: bad interval '-1': invalid digit found in string",
        ),
        (
            "signal_test",
            &["--bogus"],
            "signal_test: unexpected argument '--bogus'",
        ),
    ];
    for (name, args, message) in cases {
        let (status, stdout, stderr) = run_to_end(name, args, false);
        assert_eq!(status.code(), Some(2), "{name} {args:?}: {stderr:?}");
        assert_eq!(stdout, "", "{name} {args:?}");
        let mut lines = stderr.lines();
        assert_eq!(lines.next(), Some(message), "{stderr:?}");
        assert!(
            lines
                .next()
                .is_some_and(|l| l.starts_with(&format!("usage: {name}"))),
            "{stderr:?}"
        );
        assert!(
            !stderr.contains('"') && !stderr.contains("Os {"),
            "{stderr:?}"
        );
    }
}

/// A port in use: exit status 1 and one line naming the address and the
/// OS error, not `Os { code: 98, kind: AddrInUse, … }`.
#[test]
fn bind_error_names_the_address() {
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("local_addr");
    let port = addr.port().to_string();
    for name in [
        "event_server",
        "echo_server",
        "hello_world",
        "epoll_server",
        "reactor",
    ] {
        let (status, stdout, stderr) = run_to_end(name, &["-p", &port], false);
        assert_eq!(status.code(), Some(1), "{name}: {stderr:?}");
        assert_eq!(stdout, "", "{name}");
        assert_eq!(
            stderr,
            format!("{name}: cannot bind {addr}: Address already in use (os error 98)\n")
        );
    }
}

/// A fresh document root for `http_server`: a file, a subdirectory, names
/// that need escaping, a symbolic link inside the root and two pointing
/// out of it (a file and a directory beside the root). Removed on drop.
struct Docroot {
    top: PathBuf,
}

impl Docroot {
    fn new() -> Docroot {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let top = std::env::temp_dir().join(format!("rvent-docroot-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&top);
        let root = top.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(top.join("outside")).unwrap();
        std::fs::write(top.join("secret.txt"), "SECRET\n").unwrap();
        std::fs::write(top.join("outside/other.txt"), "OTHER\n").unwrap();
        std::fs::write(root.join("hello.txt"), "Hello, docroot!\n").unwrap();
        std::fs::write(root.join("page.html"), "<p>hi</p>\n").unwrap();
        std::fs::write(root.join("sub/a&b <c>.txt"), "escaped\n").unwrap();
        std::fs::write(root.join("sub/with space.txt"), "spaced\n").unwrap();
        std::os::unix::fs::symlink("hello.txt", root.join("inside-link.txt")).unwrap();
        std::os::unix::fs::symlink("../secret.txt", root.join("out-link.txt")).unwrap();
        std::os::unix::fs::symlink(top.join("outside"), root.join("out-dir")).unwrap();
        Docroot { top }
    }

    fn root(&self) -> PathBuf {
        self.top.join("root")
    }
}

impl Drop for Docroot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}

/// Starts `http_server -p 0 DOCROOT` and returns it with the address of
/// its first stdout line, `http://127.0.0.1:PORT/`.
fn http_server(docroot: Option<&Path>) -> (Running, SocketAddr) {
    let mut cmd = Command::new(example("http_server"));
    cmd.args(["-p", "0"]);
    if let Some(d) = docroot {
        cmd.arg(d);
    }
    let p = Running::start("http_server", cmd, false);
    let line = p.line();
    let addr = line
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix('/'))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (p, addr)
}

/// One `GET` (or `HEAD`) of `target` on a connection of its own.
fn http_get(addr: SocketAddr, method: &str, target: &str) -> http_client::Reply {
    let mut c = http_client::Client::connect(addr);
    c.send(format!("{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    c.read_reply_to(method == "HEAD").expect("a reply")
}

#[test]
fn http_server_serves_files_listings_and_head() {
    let docroot = Docroot::new();
    let (mut server, addr) = http_server(Some(&docroot.root()));

    let r = http_get(addr, "GET", "/hello.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"Hello, docroot!\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let r = http_get(addr, "GET", "/page.html");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    // A link inside the root is followed; encoded names are decoded.
    assert_eq!(
        http_get(addr, "GET", "/inside-link.txt").body,
        b"Hello, docroot!\n"
    );
    assert_eq!(
        http_get(addr, "GET", "/sub/with%20space.txt").body,
        b"spaced\n"
    );
    assert_eq!(
        http_get(addr, "GET", "/sub/a%26b%20%3Cc%3E.txt").body,
        b"escaped\n"
    );

    // HEAD: the same head, no body (the client would see a stray body as
    // the start of the next reply).
    let mut c = http_client::Client::connect(addr);
    c.send(
        b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /page.html HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let head = c.read_reply_to(true).expect("HEAD reply");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("16"));
    assert!(head.body.is_empty());
    assert_eq!(c.read_reply().body, b"<p>hi</p>\n");

    // A large file goes out whole (sendfile in pieces).
    let big: Vec<u8> = payload(7, 3 << 20);
    std::fs::write(docroot.root().join("big.bin"), &big).unwrap();
    let r = http_get(addr, "GET", "/big.bin");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert!(r.body == big, "big.bin differs ({} bytes)", r.body.len());

    // Listings: names escaped in the text, encoded in the links.
    let r = http_get(addr, "GET", "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(r.body).unwrap();
    for want in [
        "<a href=\"hello.txt\">hello.txt</a>",
        "<a href=\"sub/\">sub/</a>",
        "<base href='/'>",
    ] {
        assert!(page.contains(want), "{want} not in {page}");
    }
    let page = String::from_utf8(http_get(addr, "GET", "/sub").body).unwrap();
    for want in [
        "<a href=\"a%26b%20%3Cc%3E.txt\">a&amp;b &lt;c&gt;.txt</a>",
        "<a href=\"with%20space.txt\">with space.txt</a>",
        "<base href='/sub/'>",
    ] {
        assert!(page.contains(want), "{want} not in {page}");
    }
    assert!(!page.contains("<c>"), "{page}");
    let head = http_get(addr, "HEAD", "/sub/");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    assert_eq!(http_get(addr, "GET", "/missing.txt").status, 404);
    server.interrupt_and_expect_success("http_server");
}

#[test]
fn http_server_refuses_every_path_out_of_its_root() {
    let docroot = Docroot::new();
    let (mut server, addr) = http_server(Some(&docroot.root()));
    let attempts = [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/.%2e/secret.txt",
        "/..%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/hello.txt%00.html",
        "/./hello.txt",
        "/out-link.txt",
        "/out-dir/",
        "/out-dir/other.txt",
        "/%2e%2e/outside/other.txt",
    ];
    for target in attempts {
        let r = http_get(addr, "GET", target);
        assert!(
            r.status == 403 || r.status == 404 || r.status == 400,
            "{target}: {} {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !r.body.windows(6).any(|w| w == b"SECRET" || w == b"OTHER\n"),
            "{target} leaked"
        );
    }
    // The symbolic links out are refused as forbidden, not missing.
    assert_eq!(http_get(addr, "GET", "/out-link.txt").status, 403);
    assert_eq!(http_get(addr, "GET", "/out-dir/other.txt").status, 403);
    assert_eq!(http_get(addr, "GET", "/%2e%2e/secret.txt").status, 403);
    // ... and the server still serves.
    assert_eq!(http_get(addr, "GET", "/hello.txt").status, 200);
    server.interrupt_and_expect_success("http_server");
}

#[test]
fn http_server_dump_echoes_the_request_and_default_docroot_serves() {
    let (mut server, addr) = http_server(None);
    let mut c = http_client::Client::connect(addr);
    c.send(
        b"POST /dump?x=1 HTTP/1.1\r\nHost: here\r\nX-Test: yes\r\n\
          Content-Length: 11\r\n\r\nhello there",
    );
    let r = c.read_reply();
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    assert_eq!(
        text,
        "POST /dump?x=1\nHost: here\nX-Test: yes\nContent-Length: 11\n\nhello there"
    );
    // Another method on any path is dumped too, as in libevent's sample.
    let r = http_get(addr, "DELETE", "/hello.txt");
    assert!(
        String::from_utf8(r.body)
            .unwrap()
            .starts_with("DELETE /hello.txt\n")
    );
    // The shipped docroot.
    let page = String::from_utf8(http_get(addr, "GET", "/").body).unwrap();
    assert!(
        page.contains("index.html") && page.contains("hello.txt"),
        "{page}"
    );
    assert_eq!(http_get(addr, "GET", "/index.html").status, 200);
    server.interrupt_and_expect_success("http_server");
}

/// `http_hello` on a free port: the running server and its URL.
fn http_hello() -> (Running, String) {
    let p = Running::spawn("http_hello", &["-p", "0"]);
    let line = p.line();
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (p, format!("http://{addr}/"))
}

#[test]
fn http_get_prints_status_headers_and_body() {
    let (_server, url) = http_hello();
    let (status, stdout, stderr) = run_to_end("http_get", &[&url], false);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("HTTP/1.1 200 OK\n"), "{stdout:?}");
    assert!(stdout.contains("\nContent-Length: 14\n"), "{stdout:?}");
    assert!(stdout.ends_with("\n\nHello, World!\n"), "{stdout:?}");
    // Another path: the 404 is printed, the exit status still 0.
    let (status, stdout, _) = run_to_end("http_get", &[&format!("{url}nope?x=1")], false);
    assert_eq!(status.code(), Some(0));
    assert!(stdout.starts_with("HTTP/1.1 404 Not Found\n"), "{stdout:?}");
    // -o: the body goes to the file, the head to stdout.
    let file = std::env::temp_dir().join(format!("rvent-http-get-{}", std::process::id()));
    let (status, stdout, _) = run_to_end("http_get", &["-o", file.to_str().unwrap(), &url], false);
    assert_eq!(status.code(), Some(0));
    assert!(stdout.ends_with("text/plain\n\n"), "{stdout:?}");
    assert_eq!(std::fs::read(&file).unwrap(), b"Hello, World!\n");
    let _ = std::fs::remove_file(&file);
    // A refused connect: one Display line, status 1; a bad URL: usage.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (status, _, stderr) = run_to_end("http_get", &[&format!("http://{closed}/")], false);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "http_get: connection closed before the response was complete\n"
    );
    let (status, _, stderr) = run_to_end("http_get", &["ftp://x/"], false);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("http_get: bad URL 'ftp://x/': only http:// URLs\n"),
        "{stderr:?}"
    );
}

/// `http_load`'s summary line: `(requests, errors)`.
fn load_summary(stdout: &str) -> (u64, u64) {
    let line = stdout.lines().last().unwrap_or_default();
    let words: Vec<&str> = line.split(' ').collect();
    // <N> requests in <S> s, <R> req/s, p50 <x> ms, p99 <y> ms, <E> errors
    assert_eq!(words.len(), 15, "{line:?}");
    let fixed = [1, 2, 4, 6, 7, 9, 10, 12, 14].map(|i| words[i]);
    assert_eq!(
        fixed,
        [
            "requests", "in", "s,", "req/s,", "p50", "ms,", "p99", "ms,", "errors"
        ],
        "{line:?}"
    );
    for w in [words[3], words[5], words[8], words[11]] {
        assert!(w.parse::<f64>().is_ok(), "{line:?}");
    }
    (words[0].parse().unwrap(), words[13].parse().unwrap())
}

#[test]
fn http_load_drives_http_hello_with_and_without_keep_alive() {
    let (_server, url) = http_hello();
    for keep in [true, false] {
        let mut args = vec!["-c", "4", "-n", "200"];
        if keep {
            args.push("-k");
        }
        args.push(&url);
        let (status, stdout, stderr) = run_to_end("http_load", &args, false);
        assert_eq!(status.code(), Some(0), "{stderr}");
        assert_eq!(load_summary(&stdout), (200, 0), "{stdout}");
    }
    // A 404 counts as an error; so does a refused connect.
    let (status, stdout, _) = run_to_end(
        "http_load",
        &["-c", "2", "-n", "10", "-k", &format!("{url}nope")],
        false,
    );
    assert_eq!(status.code(), Some(1));
    assert_eq!(load_summary(&stdout), (10, 10));
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (status, stdout, _) = run_to_end(
        "http_load",
        &["-n", "5", &format!("http://{closed}/")],
        false,
    );
    assert_eq!(status.code(), Some(1));
    assert_eq!(load_summary(&stdout), (5, 5));
}
