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

use rvent::{EventBase, Http, Method, Request};

use support::outln;

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
    let signals = support::exit_on_signals(&mut base, NAME)?;
    let http = Http::new(&mut base)?;
    http.set_gencb(&mut base, |base, req| {
        if let Err(e) = answer(base, req) {
            eprintln!("http_hello: cannot answer: {e}");
        }
    })?;
    let port = support::bind_localhost(&mut base, http, port)?;
    let _ = outln!("listening on 127.0.0.1:{port}");
    eprintln!(
        "http_hello: listening on 127.0.0.1:{port} (rvent {}, {})",
        env!("CARGO_PKG_VERSION"),
        base.method()
    );
    base.dispatch()?;
    http.free(&mut base)?;
    support::free_events(&mut base, signals)?;
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
