//! TCP echo server (tutorial 10.3): a [`ConnListener`] accepts clients and
//! each gets a socket [`Bufferevent`] whose read callback moves its input
//! to its output — chains, not copies. EOF or an error frees the
//! connection. It follows the anchor benchmark's `echo` contract
//! (`../shared/anchor/README.md`): 127.0.0.1, `TCP_NODELAY` on every
//! client, SIGINT / SIGTERM end the loop, everything is freed, exit 0.
//!
//! ```sh
//! cargo run --release --example echo_server -- -p 9876
//! ```
//!
//! Then, from another shell: `nc 127.0.0.1 9876` and type lines, or
//! `head -c 1000000 /dev/urandom | nc -N 127.0.0.1 9876 | wc -c`. `-p 0`
//! picks a free port; the first stdout line is
//! `listening on 127.0.0.1:<port>`. A client that half-closes gets the
//! rest of its echo before the connection is freed. The default port is
//! the anchor's 9876, distinct from `hello_world`'s 9995 and
//! `event_server`'s 9996.
//!
//! `--max-mem BYTES` gives the base a memory budget
//! ([`Config::set_max_memory`], which libevent does not have): a client
//! that sends without reading its echo fills its connection's buffers
//! until a read finds no room; that connection gets `READING | ERROR`
//! with `ENOMEM` and is freed, and the other clients are served on.

#[path = "support/mod.rs"]
mod support;

use std::cell::Cell;
use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use rvent::{
    BevEvent, BevOptions, Bufferevent, Config, ConnListener, Ev, EventBase, ListenerOptions,
};

use support::{Context, outln};

const NAME: &str = "echo_server";
/// The anchor benchmark's `echo` default.
const DEFAULT_PORT: u16 = 9876;
const USAGE: &str = "\
usage: echo_server [-p PORT] [--max-mem BYTES]

Echoes every client on 127.0.0.1 through bufferevents.

  -p PORT          port to listen on (default 9876; 0 picks a free one)
  --max-mem BYTES  memory budget of the base: a client whose read finds
                   no room (it sends without reading its echo) is cut
                   with an error; the others are served on
  -h, --help       print this help";

// `pub` and `()`-returning: `benches/echo.rs` runs it as the anchor's
// `echo` program.
pub fn main() {
    let mut args = support::Args::new(NAME, USAGE);
    let mut port = DEFAULT_PORT;
    let mut max_mem = None;
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "-p" => port = args.value("-p", "port"),
            "--max-mem" => max_mem = Some(args.value("--max-mem", "byte count")),
            other => args.unexpected(other),
        }
    }
    support::run(NAME, || run(port, max_mem));
}

fn run(port: u16, max_mem: Option<usize>) -> Result<(), Box<dyn Error>> {
    let mut cfg = Config::new();
    cfg.set_max_memory(max_mem);
    let mut base = EventBase::with_config(&cfg)?;
    let served = Rc::new(Cell::new(0u64));
    // Signals first: once the port is open a client (or a benchmark
    // script) may already send SIGINT, which must stop the server.
    let signals = support::exit_on_signals(&mut base, NAME)?;
    let count = served.clone();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = ConnListener::bind(
        &mut base,
        addr,
        ListenerOptions::CLOSE_ON_FREE | ListenerOptions::REUSEABLE,
        None,
        move |base, _lev, conn, _peer| {
            if let Err(e) = serve(base, std::net::TcpStream::from(conn)) {
                eprintln!("echo_server: cannot set up connection: {e}");
                return;
            }
            count.set(count.get() + 1);
        },
    )
    .context(format_args!("cannot bind {addr}"))?;
    let port = listener.local_addr(&base)?.port();
    // A server keeps serving when nobody reads its log.
    let _ = outln!("listening on 127.0.0.1:{port}");
    eprintln!(
        "echo_server: listening on 127.0.0.1:{port} (rvent {}, {})",
        env!("CARGO_PKG_VERSION"),
        base.method()
    );
    base.dispatch()?;
    report_memory(&base);
    listener.free(&mut base)?;
    support::free_events(&mut base, signals)?;
    // Dropping the base frees the connections still open and closes their
    // sockets (CLOSE_ON_FREE).
    drop(base);
    eprintln!(
        "echo_server: exited cleanly, {} connections served",
        served.get()
    );
    Ok(())
}

/// Sets up one client: echo whatever arrives, free on EOF or error.
fn serve(base: &mut EventBase, stream: std::net::TcpStream) -> rvent::Result<()> {
    stream.set_nodelay(true)?;
    let bev = Bufferevent::from_stream(base, stream, BevOptions::CLOSE_ON_FREE)?;
    bev.set_read_callback(base, |base, bev| {
        let rvent::Buffers { input, output } = bev.buffers(base).expect("live in its own callback");
        // Moves chains: no copy, no allocation.
        output.add_buffer(input).expect("output end is not frozen");
        count_read(base);
    })?;
    bev.set_event_callback(base, |base, bev, what: BevEvent| {
        if what.contains(BevEvent::ERROR) {
            // With --max-mem, a client whose read found no room in the
            // budget (ENOMEM): cut it, serve the others.
            if let Ok(Some(e)) = bev.socket_error(base) {
                eprintln!("echo_server: connection cut: {e}");
            }
            let _ = bev.free(base);
        } else if bev.output_len(base).unwrap_or(0) == 0 {
            let _ = bev.free(base);
        } else if what.contains(BevEvent::EOF) {
            // Half-closed: finish echoing what arrived, then free.
            let _ = bev.set_write_callback(base, |base, bev| {
                let _ = bev.free(base);
            });
        }
    })?;
    bev.enable(base, Ev::READ | Ev::WRITE)
}

/// Read callbacks counted before the memory-function count is sampled:
/// connections are set up and pools warmed by then.
const WARMUP_READS: u64 = 1000;

thread_local! {
    /// Read callbacks run, and the memory-function calls made before the
    /// one numbered `WARMUP_READS`.
    static READS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn count_read(base: &EventBase) {
    READS.with(|r| {
        let (n, calls) = r.get();
        let calls = if n + 1 == WARMUP_READS {
            base.mem_stats().calls
        } else {
            calls
        };
        r.set((n + 1, calls));
    });
}

/// One `#` line on stderr: memory-function calls per read callback after
/// the warm-up (the pools make it 0 at steady state; libevent's echo makes
/// a 1 KiB malloc and a free per message).
fn report_memory(base: &EventBase) {
    let (n, at_warmup) = READS.with(Cell::get);
    if n > WARMUP_READS {
        let calls = base.mem_stats().calls - at_warmup;
        let reads = n - WARMUP_READS;
        eprintln!(
            "# echo: {calls} memory-function calls in {reads} read callbacks after the first \
             {WARMUP_READS} ({:.4} per read, connection setup and teardown included)",
            calls as f64 / reads as f64
        );
    }
}
