//! An HTTP load generator — rvent's answer to libevent's
//! `bench_httpclient.c` and a small `wrk`: `CONNS` connections share
//! `REQUESTS` `GET`s of one URL, each connection sending its next
//! request from the completion callback of the last. With `-k` a
//! connection keeps its socket (keep-alive); without, every request asks
//! `Connection: close` and connects anew, as `bench_httpclient` does.
//!
//! ```sh
//! cargo run --release --example http_hello -- -p 8080 &
//! cargo run --release --example http_load -- -c 50 -n 100000 -k http://127.0.0.1:8080/
//! ```
//!
//! The last line is `<N> requests in <S> s, <R> req/s, p50 <x> ms, p99
//! <y> ms, <E> errors`: completed requests (errors included), wall time,
//! rate, latency percentiles of the successful ones (from queueing a
//! request to its completion callback), and the requests that failed or
//! got no `2xx`. Exit status 1 if any failed.

#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rvent::http::Uri;
use rvent::{EventBase, Headers, HttpConnection, Method};

use support::{Args, outln, stdout_error};

const NAME: &str = "http_load";
const USAGE: &str = "\
usage: http_load [-c CONNS] [-n REQUESTS] [-k] URL

Sends REQUESTS GETs of an http:// URL over CONNS connections and prints
one summary line.

  -c CONNS     concurrent connections (default 10)
  -n REQUESTS  requests in all (default 1000)
  -k           keep-alive: reuse each connection (default: one per request)
  -h, --help   print this help";

struct Options {
    conns: usize,
    requests: usize,
    keep_alive: bool,
    addr: SocketAddr,
    host: Option<String>,
    path: String,
}

fn main() {
    let mut args = Args::new(NAME, USAGE);
    let (mut conns, mut requests, mut keep_alive, mut url) = (10usize, 1000usize, false, None);
    while let Some(arg) = args.next_flag() {
        match arg.as_str() {
            "-c" => conns = args.value("-c", "connection count"),
            "-n" => requests = args.value("-n", "request count"),
            "-k" => keep_alive = true,
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            other => args.unexpected(other),
        }
    }
    let Some(url) = url else {
        args.usage_error("a URL is needed");
    };
    if conns == 0 || requests == 0 {
        args.usage_error("-c and -n must be at least 1");
    }
    let (addr, host, path) = match target(&url) {
        Ok(t) => t,
        Err(e) => args.usage_error(format_args!("bad URL '{url}': {e}")),
    };
    let opts = Options {
        conns: conns.min(requests),
        requests,
        keep_alive,
        addr,
        host,
        path,
    };
    support::run(NAME, || run(&opts));
}

/// The address (or host name and port) and path of an http:// URL.
fn target(url: &str) -> Result<(SocketAddr, Option<String>, String), Box<dyn Error>> {
    let uri = Uri::parse(url)?;
    if uri.scheme().is_none_or(|s| !s.eq_ignore_ascii_case("http")) {
        return Err("only http:// URLs".into());
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or("no host")?;
    let port = uri.port().unwrap_or(80);
    let mut path = if uri.path().is_empty() {
        "/".to_string()
    } else {
        uri.path().to_string()
    };
    if let Some(q) = uri.query() {
        path.push('?');
        path.push_str(q);
    }
    Ok(match host.parse::<IpAddr>() {
        Ok(ip) => (SocketAddr::new(ip, port), None, path),
        Err(_) => (
            (IpAddr::from([0, 0, 0, 0]), port).into(),
            Some(host.to_string()),
            path,
        ),
    })
}

/// What the connections share: the request and the counts.
struct Load {
    path: String,
    headers: Headers,
    counts: RefCell<Counts>,
}

struct Counts {
    /// Requests not yet started.
    left: usize,
    /// Latencies of the successful requests, in nanoseconds.
    latencies: Vec<u64>,
    errors: usize,
    done: usize,
    total: usize,
}

type Shared = Rc<Load>;

fn run(o: &Options) -> Result<(), Box<dyn Error>> {
    let mut base = EventBase::new()?;
    let mut headers = Headers::new();
    if !o.keep_alive {
        headers.add("Connection", "close")?;
    }
    let load = Rc::new(Load {
        path: o.path.clone(),
        headers,
        counts: RefCell::new(Counts {
            left: o.requests,
            latencies: Vec::with_capacity(o.requests),
            errors: 0,
            done: 0,
            total: o.requests,
        }),
    });
    let mut conns = Vec::with_capacity(o.conns);
    for _ in 0..o.conns {
        let conn = match &o.host {
            None => HttpConnection::new(&mut base, o.addr)?,
            Some(h) => HttpConnection::new_hostname(&mut base, h, o.addr.port())?,
        };
        conns.push(conn);
    }
    let start = Instant::now();
    for &conn in &conns {
        next(&mut base, conn, &load)?;
    }
    base.dispatch()?;
    let took = start.elapsed();
    for conn in conns {
        conn.free(&mut base)?;
    }
    let mut l = load.counts.borrow_mut();
    l.latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        match l.latencies.len() {
            0 => 0.0,
            n => {
                let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
                l.latencies[i] as f64 / 1e6
            }
        }
    };
    let secs = took.as_secs_f64().max(1e-9);
    outln!(
        "{} requests in {:.3} s, {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors",
        l.done,
        secs,
        l.done as f64 / secs,
        pct(0.50),
        pct(0.99),
        l.errors
    )
    .map_err(stdout_error)?;
    if l.errors > 0 {
        return Err(format!("{} of {} requests failed", l.errors, l.done).into());
    }
    Ok(())
}

/// Starts the next request on `conn`, if any is left; the last
/// completion ends the loop.
fn next(base: &mut EventBase, conn: HttpConnection, load: &Shared) -> rvent::Result<()> {
    {
        let mut l = load.counts.borrow_mut();
        if l.left == 0 {
            return Ok(());
        }
        l.left -= 1;
    }
    let sent = Instant::now();
    let shared = load.clone();
    let r = conn.make_request(
        base,
        Method::Get,
        &load.path,
        &load.headers,
        None,
        move |base, r| {
            let ok = r.is_ok_and(|r| (200..300).contains(&r.code()));
            {
                let mut l = shared.counts.borrow_mut();
                l.done += 1;
                if ok {
                    let ns = sent.elapsed().min(Duration::from_secs(3600)).as_nanos() as u64;
                    l.latencies.push(ns);
                } else {
                    l.errors += 1;
                }
                if l.done == l.total {
                    base.loopbreak();
                    return;
                }
            }
            if next(base, conn, &shared).is_err() {
                // The connection cannot queue: count what is left as failed.
                let mut l = shared.counts.borrow_mut();
                let left = std::mem::take(&mut l.left);
                l.errors += left;
                l.done += left;
                if l.done == l.total {
                    base.loopbreak();
                }
            }
        },
    );
    r.map(drop)
}
