//! The anchor benchmark's `http_hello` (`../shared/anchor/http_hello.c`):
//! an [`Http`] server on 127.0.0.1 answering `GET /` (any query) with
//! `200 OK`, `Content-Type: text/plain` and `Hello, World!\n`, and
//! everything else — another path, another method, `HEAD` included —
//! with `404 Not Found` and `Not Found\n`. SIGINT / SIGTERM end it with
//! status 0.
//!
//! ```sh
//! cargo run --release --example http_hello -- -p 8080
//! curl -i http://127.0.0.1:8080/
//! ```
//!
//! `-p 0` picks a free port; the first stdout line is
//! `listening on 127.0.0.1:<port>`.

#[path = "support/mod.rs"]
mod support;

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};

use rvent::{Event, EventBase, Http, Method, Request};

use support::{Context, outln};

const NAME: &str = "http_hello";
/// The anchor's default.
const DEFAULT_PORT: u16 = 8080;
const USAGE: &str = "\
usage: http_hello [-p PORT]

Answers GET / with \"Hello, World!\" on 127.0.0.1, everything else 404.

  -p PORT     port to listen on (default 8080; 0 picks a free one)
  -h, --help  print this help";

// `pub` and `()`-returning: `benches/http_hello.rs` runs it as the
// anchor's `http_hello` program.
pub fn main() {
    let port = support::port_arg(NAME, USAGE, DEFAULT_PORT);
    support::run(NAME, || run(port));
}

fn run(port: u16) -> Result<(), Box<dyn Error>> {
    let mut base = EventBase::new()?;
    let mut signals = Vec::new();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let ev = Event::signal(&mut base, sig, |base, _, sig, _| {
            eprintln!("http_hello: caught signal {sig}, exiting");
            base.loopbreak();
        })?;
        ev.add(&mut base, None)?;
        signals.push(ev);
    }
    let http = Http::new(&mut base)?;
    http.set_gencb(&mut base, |base, req| {
        if let Err(e) = answer(base, req) {
            eprintln!("http_hello: cannot answer: {e}");
        }
    })?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bound = http
        .bind(&mut base, addr)
        .context(format_args!("cannot bind {addr}"))?;
    let port = bound.local_addr(&base)?.port();
    let _ = outln!("listening on 127.0.0.1:{port}");
    eprintln!(
        "http_hello: listening on 127.0.0.1:{port} (rvent {}, {})",
        env!("CARGO_PKG_VERSION"),
        base.method()
    );
    base.dispatch()?;
    http.free(&mut base)?;
    for ev in signals {
        ev.free(&mut base)?;
    }
    Ok(())
}

/// `GET /` (with any query) gets the greeting, anything else 404.
fn answer(base: &mut EventBase, req: Request) -> rvent::Result<()> {
    let root = req.method(base)? == Method::Get && {
        let uri = req.uri(base)?;
        uri == "/" || uri.starts_with("/?")
    };
    let (code, body): (u16, &[u8]) = if root {
        (200, b"Hello, World!\n")
    } else {
        (404, b"Not Found\n")
    };
    req.output_headers(base)?
        .add("Content-Type", "text/plain")?;
    req.output_buffer(base)?.add(body)?;
    req.send_reply(base, code, None, None)
}
