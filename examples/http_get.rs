//! A one-request HTTP client (libevent's `sample/http-connect.c`, curl's
//! simplest use): `GET URL` with an [`HttpConnection`], printing the
//! status line, the header fields and the body as they arrive. Redirects
//! are not followed.
//!
//! ```sh
//! cargo run --example http_get -- http://127.0.0.1:8080/
//! cargo run --example http_get -- -o page.html http://example.com/
//! ```
//!
//! The head goes to stdout, the body too unless `-o FILE` names where to
//! write it. The body is streamed ([`HttpRequest::set_chunked_cb`]): it
//! is never held whole. Exit status 0 when a response arrived (whatever
//! its code), 1 when the request failed.

#[path = "support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use rvent::http::Uri;
use rvent::{EventBase, HttpConnection, HttpRequest, Method};

use support::{Args, Context, outln, stdout_error};

const NAME: &str = "http_get";
const USAGE: &str = "\
usage: http_get [-o FILE] URL

GETs an http:// URL and prints the status line, the header fields and
the body (follows no redirect).

  -o FILE     write the body to FILE instead of stdout
  -h, --help  print this help";

fn main() {
    let mut args = Args::new(NAME, USAGE);
    let (mut url, mut out) = (None, None);
    while let Some(arg) = args.next_flag() {
        match arg.as_str() {
            "-o" => out = Some(args.value::<String>("-o", "file name")),
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            other => args.unexpected(other),
        }
    }
    let Some(url) = url else {
        args.usage_error("a URL is needed");
    };
    let target = match Target::of(&url) {
        Ok(t) => t,
        Err(e) => args.usage_error(format_args!("bad URL '{url}': {e}")),
    };
    support::run(NAME, || run(&target, out.as_deref()));
}

/// Where a URL points.
struct Target {
    host: String,
    port: u16,
    /// Path and query, as sent.
    path: String,
}

impl Target {
    fn of(url: &str) -> Result<Target, Box<dyn Error>> {
        let uri = Uri::parse(url)?;
        if uri.scheme().is_none_or(|s| !s.eq_ignore_ascii_case("http")) {
            return Err("only http:// URLs".into());
        }
        let host = uri.host().filter(|h| !h.is_empty()).ok_or("no host")?;
        let mut path = if uri.path().is_empty() {
            "/".to_string()
        } else {
            uri.path().to_string()
        };
        if let Some(q) = uri.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(Target {
            host: host.to_string(),
            port: uri.port().unwrap_or(80),
            path,
        })
    }
}

/// Where the body goes.
enum Sink {
    Stdout,
    File(File),
}

fn run(target: &Target, out: Option<&str>) -> Result<(), Box<dyn Error>> {
    let mut sink = match out {
        Some(path) => Sink::File(File::create(path).context(format_args!("cannot create {path}"))?),
        None => Sink::Stdout,
    };
    let mut base = EventBase::new()?;
    let conn = match target.host.parse::<IpAddr>() {
        Ok(ip) => HttpConnection::new(&mut base, SocketAddr::new(ip, target.port))?,
        Err(_) => HttpConnection::new_hostname(&mut base, &target.host, target.port)?,
    };
    // What the callbacks report back: the first error.
    let failure: Rc<RefCell<Option<Box<dyn Error>>>> = Rc::default();
    let f = failure.clone();
    let mut req = HttpRequest::new(move |_base: &mut EventBase, r| {
        if let Err(e) = r {
            f.borrow_mut().get_or_insert_with(|| e.to_string().into());
        }
    })?;
    let f = failure.clone();
    req.set_header_cb(move |_, resp| {
        if let Err(e) = print_head(resp) {
            f.borrow_mut().get_or_insert(e);
        }
    })?;
    let f = failure.clone();
    req.set_chunked_cb(move |base, resp| {
        let written = resp
            .input_buffer()
            .chunks()
            .try_for_each(|c| match &mut sink {
                Sink::Stdout => std::io::stdout().lock().write_all(c).map_err(stdout_error),
                Sink::File(file) => file
                    .write_all(c)
                    .map_err(|e| format!("cannot write the body: {e}").into()),
            });
        if let Err(e) = written {
            f.borrow_mut().get_or_insert(e);
            base.loopbreak();
        }
    })?;
    req.output_headers().add("Accept", "*/*")?;
    req.output_headers().add("Connection", "close")?;
    conn.make_request_with(&mut base, req, Method::Get, &target.path)?;
    base.dispatch()?;
    conn.free(&mut base)?;
    std::io::stdout().flush().map_err(stdout_error)?;
    match failure.borrow_mut().take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn print_head(resp: &rvent::Response<'_>) -> Result<(), Box<dyn Error>> {
    let (major, minor) = resp.version();
    outln!("HTTP/{major}.{minor} {} {}", resp.code(), resp.reason()).map_err(stdout_error)?;
    for (name, value) in resp.input_headers().iter() {
        outln!(
            "{}: {}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value)
        )
        .map_err(stdout_error)?;
    }
    outln!().map_err(stdout_error)?;
    Ok(())
}
