//! libevent's `test/bench_http.c` shape: an [`Http`] server on 127.0.0.1
//! whose `/ind` answers `LEN` bytes copied into the reply's buffer and
//! `/ref` the same bytes added by reference (no copy: the reply's chain
//! points at the shared block), so large bodies are measured. `GET /`
//! gets `Hello, World!\n` as in `http_hello`; anything else 404.
//!
//! ```sh
//! cargo bench --no-run --bench http   # target/release/deps/http-HASH
//! http-HASH -p 8080 -l 65536 &
//! wrk -t1 -c50 -d5s http://127.0.0.1:8080/ref
//! ```
//!
//! Flags: `-p PORT` (default 8080, 0 picks one), `-l LEN` (the body's
//! length, > 0; libevent requires it, here it defaults to 1024). Byte `i`
//! of the body is `i & 255`, as in libevent. The first stdout line is
//! `listening on 127.0.0.1:<port>`; SIGINT / SIGTERM end it with status 0.

#[path = "../examples/support/mod.rs"]
mod support;

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use rvent::{Event, EventBase, Http, Method, Request};

use support::{Args, Context, outln};

const NAME: &str = "http";
const USAGE: &str = "\
usage: http [-p PORT] [-l LEN]

libevent's bench_http: /ind answers LEN bytes copied, /ref the same bytes
by reference, / \"Hello, World!\", anything else 404.

  -p PORT     port to listen on (default 8080; 0 picks a free one)
  -l LEN      body length of /ind and /ref (default 1024)
  -h, --help  print this help";

fn main() {
    let mut args = Args::new(NAME, USAGE);
    let mut port = 8080u16;
    let mut len = 1024usize;
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "-p" => port = args.value("-p", "port"),
            "-l" => len = args.value("-l", "length"),
            other => args.unexpected(other),
        }
    }
    if len == 0 {
        args.usage_error("-l needs a length above 0");
    }
    support::run(NAME, || run(port, len));
}

fn run(port: u16, len: usize) -> Result<(), Box<dyn Error>> {
    let content: Rc<[u8]> = (0..len).map(|i| i as u8).collect();
    let mut base = EventBase::new()?;
    let mut signals = Vec::new();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let ev = Event::signal(&mut base, sig, |base, _, _, _| base.loopbreak())?;
        ev.add(&mut base, None)?;
        signals.push(ev);
    }
    let http = Http::new(&mut base)?;
    http.set_gencb(&mut base, move |base, req| {
        if let Err(e) = answer(base, req, &content) {
            eprintln!("http: cannot answer: {e}");
        }
    })?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bound = http
        .bind(&mut base, addr)
        .context(format_args!("cannot bind {addr}"))?;
    let port = bound.local_addr(&base)?.port();
    let _ = outln!("listening on 127.0.0.1:{port}");
    base.dispatch()?;
    http.free(&mut base)?;
    for ev in signals {
        ev.free(&mut base)?;
    }
    Ok(())
}

/// What the body is made of.
enum Body {
    Copy,
    Reference,
    Hello,
}

fn answer(base: &mut EventBase, req: Request, content: &Rc<[u8]>) -> rvent::Result<()> {
    let body = if req.method(base)? != Method::Get {
        None
    } else {
        let uri = req.uri(base)?;
        let path = uri.split_once('?').map_or(uri, |(p, _)| p);
        match path {
            "/ind" => Some(Body::Copy),
            "/ref" => Some(Body::Reference),
            "/" => Some(Body::Hello),
            _ => None,
        }
    };
    let out = req.output_buffer(base)?;
    let code = match body {
        Some(Body::Copy) => out.add(content).map(|()| 200)?,
        Some(Body::Reference) => out.add_reference(Rc::clone(content)).map(|()| 200)?,
        Some(Body::Hello) => out.add(b"Hello, World!\n").map(|()| 200)?,
        None => out.add(b"Not Found\n").map(|()| 404)?,
    };
    req.output_headers(base)?
        .add("Content-Type", "text/plain")?;
    req.send_reply(base, code, None, None)
}
