//! The example programs (tutorial samples) as real processes: `time_test`
//! ticks and stops, `signal_test` exits after two SIGINTs, `event_server`
//! and `echo_server` echo for concurrent clients and shut down cleanly on
//! SIGINT, `hello_world` greets every client and exits within 2 s of a
//! SIGINT.
//!
//! Every wait is bounded, and a guard kills a child still running when a
//! test fails.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bound for anything that should be quick (process start, a line).
const PATIENCE: Duration = Duration::from_secs(10);
/// Socket read/write timeout for the echo clients.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Path of example `name`, built (once per test process) for the profile
/// of this test binary (`target/<profile>/deps/<test>` →
/// `target/<profile>/examples/<name>`). Built here rather than trusted to
/// exist: `cargo test --test servers` alone does not rebuild examples, and
/// a stale one would be tested.
fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(n, _)| n == name) {
        return p.clone();
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in <target>/<profile>/deps");
    let path = build_example(name, profile_dir);
    built.push((name.to_string(), path.clone()));
    path
}

/// `cargo build --example name` for the profile in `profile_dir`, returning
/// the executable cargo reports (so custom target dirs and triples work).
fn build_example(name: &str, profile_dir: &Path) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--message-format=json", "--example", name])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .stderr(Stdio::inherit());
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("run cargo build");
    assert!(out.status.success(), "cargo build --example {name} failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let target = format!("\"name\":\"{name}\"");
    let key = "\"executable\":\"";
    stdout
        .lines()
        .filter(|l| l.contains("compiler-artifact") && l.contains(&target))
        .find_map(|l| {
            let start = l.find(key)? + key.len();
            let len = l[start..].find('"')?;
            Some(PathBuf::from(&l[start..start + len]))
        })
        .unwrap_or_else(|| panic!("cargo did not report an executable for example {name}"))
}

/// A running example: killed and reaped on drop unless it already exited,
/// with its stdout lines arriving on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
    name: &'static str,
}

impl Running {
    fn spawn(name: &'static str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        Running {
            child,
            lines: forward_lines(stdout),
            name,
        }
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
    p.sigint();
    let status = p.wait(Duration::from_secs(2));
    assert!(status.success(), "time_test exited with {status}");
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
    p.sigint();
    let status = p.wait(Duration::from_secs(2));
    assert!(status.success(), "signal_test exited with {status}");
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
    let p = Running::spawn(name, &["-p", "0"]);
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

#[test]
fn event_server_echoes_concurrent_clients() {
    let (mut server, addr) = echo_server();
    thread::scope(|s| {
        for id in 0..8u64 {
            s.spawn(move || {
                let mut c = connect(addr);
                for round in 0..20 {
                    let msg = format!("client {id} round {round}\n");
                    round_trip(&mut c, msg.as_bytes());
                }
                let data = payload(id, 64 * 1024 + id as usize);
                echo_all(&c, &data);
            });
        }
    });
    server.sigint();
    let status = server.wait(Duration::from_secs(2));
    assert!(status.success(), "event_server exited with {status}");
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
    server.sigint();
    let status = server.wait(Duration::from_secs(2));
    assert!(status.success(), "event_server exited with {status}");
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

    server.sigint();
    let status = server.wait(Duration::from_secs(2));
    assert!(status.success(), "event_server exited with {status}");
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
    server.sigint();
    let status = server.wait(Duration::from_secs(2));
    assert!(status.success(), "event_server exited with {status}");
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
    thread::scope(|s| {
        for id in 0..8u64 {
            s.spawn(move || {
                let mut c = connect(addr);
                for round in 0..20 {
                    let msg = format!("client {id} round {round}\n");
                    round_trip(&mut c, msg.as_bytes());
                }
                // Half-close after a big write: the whole echo still
                // comes back before the server closes.
                echo_all(&c, &payload(id, 256 * 1024 + id as usize));
            });
        }
    });
    // A rude client (reset with echo unread) does not disturb others.
    let mut rude = connect(addr);
    rude.write_all(&payload(9, 300_000)).expect("write");
    drop(rude);
    let mut steady = connect(addr);
    round_trip(&mut steady, b"still here\n");
    server.sigint();
    let status = server.wait(Duration::from_secs(2));
    assert!(status.success(), "echo_server exited with {status}");
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
