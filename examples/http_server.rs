//! The tutorial's HTTP server (libevent's `sample/http-server.c`): serves
//! a directory over HTTP/1.1 on 127.0.0.1.
//!
//! ```sh
//! cargo run --release --example http_server             # examples/docroot on :8080
//! cargo run --release --example http_server -- -p 0 /srv/www
//! curl -i http://127.0.0.1:8080/hello.txt
//! ```
//!
//! - `GET` / `HEAD` of a file: its bytes, sent from the file with
//!   `sendfile` (an [`Evbuffer::add_file`] segment), with a Content-Type
//!   from the file's extension; `HEAD` gets the same head and no body.
//! - `GET` / `HEAD` of a directory: an HTML listing, names HTML-escaped
//!   and links percent-encoded.
//! - `/dump`, and any other method: a `text/plain` echo of the request
//!   (method, target, header fields, body).
//! - A path that could leave the document root is refused: `..` or `.`
//!   segments (decoded, so `%2e%2e` too), an encoded `/` or NUL (`403`);
//!   a path whose canonical form — symbolic links resolved — is outside
//!   the root (`403`); a missing file (`404`).
//!
//! The first stdout line is `http://127.0.0.1:PORT/`; SIGINT or SIGTERM
//! ends the server with status 0.

#[path = "support/mod.rs"]
mod support;

use std::error::Error;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rvent::http::{html_escape, uri_decode, uri_encode};
use rvent::{Evbuffer, EventBase, Http, Method, Request};

use support::{Args, Context, outln};

const NAME: &str = "http_server";
/// libevent's sample has no default; the tutorial uses 8080.
const DEFAULT_PORT: u16 = 8080;
const USAGE: &str = "\
usage: http_server [-p PORT] [DOCROOT]

Serves DOCROOT (default: the examples/docroot shipped with rvent) on
127.0.0.1: files, directory listings, and /dump, which echoes the request.

  -p PORT     port to listen on (default 8080; 0 picks a free one)
  -h, --help  print this help";

/// File extensions and their media types (the sample's table, plus a few).
const CONTENT_TYPES: &[(&str, &str)] = &[
    ("txt", "text/plain; charset=utf-8"),
    ("c", "text/plain"),
    ("h", "text/plain"),
    ("rs", "text/plain; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("svg", "image/svg+xml"),
    ("gif", "image/gif"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("pdf", "application/pdf"),
    ("ps", "application/postscript"),
];

fn main() {
    let mut args = Args::new(NAME, USAGE);
    let mut port = DEFAULT_PORT;
    let mut docroot = None;
    while let Some(arg) = args.next_flag() {
        match arg.as_str() {
            "-p" => port = args.value("-p", "port"),
            flag if flag.starts_with('-') && flag.len() > 1 => args.unexpected(flag),
            _ if docroot.is_none() => docroot = Some(PathBuf::from(arg)),
            other => args.unexpected(other),
        }
    }
    let docroot =
        docroot.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/docroot"));
    support::run(NAME, || run(port, &docroot));
}

fn run(port: u16, docroot: &Path) -> Result<(), Box<dyn Error>> {
    // Symbolic links in the root itself are fine: every served path is
    // compared with the root's canonical form.
    let root = fs::canonicalize(docroot)
        .context(format_args!("cannot open docroot {}", docroot.display()))?;
    if !root.is_dir() {
        return Err(format!("docroot {} is not a directory", root.display()).into());
    }
    let root = Rc::new(root);

    let mut base = EventBase::new()?;
    let signals = support::exit_on_signals(&mut base, NAME)?;

    let http = Http::new(&mut base)?;
    http.set_cb(&mut base, "/dump", |base, req| {
        if let Err(e) = dump(base, req) {
            eprintln!("http_server: cannot answer /dump: {e}");
        }
    })?;
    http.set_gencb(&mut base, move |base, req| {
        if let Err(e) = send_document(base, req, &root) {
            eprintln!("http_server: cannot answer: {e}");
        }
    })?;
    let port = support::bind_localhost(&mut base, http, port)?;
    let _ = outln!("http://127.0.0.1:{port}/");
    eprintln!(
        "http_server: serving {} on 127.0.0.1:{port} (rvent {}, {})",
        docroot.display(),
        env!("CARGO_PKG_VERSION"),
        base.method()
    );
    base.dispatch()?;
    http.free(&mut base)?;
    support::free_events(&mut base, signals)?;
    Ok(())
}

/// `/dump` and every method but GET and HEAD: the request echoed back as
/// text — method, target, fields, then the body.
fn dump(base: &mut EventBase, req: Request) -> rvent::Result<()> {
    let mut text = String::new();
    let _ = writeln!(text, "{} {}", req.method_str(base)?, req.uri(base)?);
    for (name, value) in req.input_headers(base)?.iter() {
        let _ = writeln!(
            text,
            "{}: {}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value)
        );
    }
    text.push('\n');
    let mut body = Evbuffer::new();
    body.add(text.as_bytes())?;
    body.add_buffer(req.input_buffer(base)?)?;
    req.output_headers(base)?
        .add("Content-Type", "text/plain; charset=utf-8")?;
    req.send_reply(base, 200, None, Some(&mut body))
}

/// Why a path is not served.
enum Refused {
    /// It could leave the root: `403`.
    Forbidden,
    /// Nothing is there, or it cannot be read: `404`.
    NotFound,
}

/// GET / HEAD: a file or a directory listing under `root`; anything else
/// is dumped (as the sample does).
fn send_document(base: &mut EventBase, req: Request, root: &Path) -> rvent::Result<()> {
    let method = req.method(base)?;
    if method != Method::Get && method != Method::Head {
        return dump(base, req);
    }
    let Ok(uri) = req.parsed_uri(base) else {
        return req.send_error(base, 400, None);
    };
    let raw_path = match uri.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    match resolve(root, &raw_path) {
        Ok(path) if path.is_dir() => send_listing(base, req, &raw_path, &path),
        Ok(path) => send_file(base, req, &path),
        Err(Refused::Forbidden) => req.send_error(base, 403, None),
        Err(Refused::NotFound) => req.send_error(base, 404, None),
    }
}

/// The file `raw_path` (the request's path, still percent-encoded) names
/// under `root`, canonical, or why it is refused.
fn resolve(root: &Path, raw_path: &str) -> Result<PathBuf, Refused> {
    if !raw_path.starts_with('/') {
        return Err(Refused::NotFound);
    }
    // An encoded slash would make one segment two after decoding.
    let lower = raw_path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") {
        return Err(Refused::Forbidden);
    }
    let decoded = uri_decode(raw_path.as_bytes(), false).map_err(|_| Refused::NotFound)?;
    let mut path = root.to_path_buf();
    for segment in decoded.split(|&b| b == b'/').filter(|s| !s.is_empty()) {
        if segment == b".." || segment == b"." || segment.contains(&b'\\') {
            return Err(Refused::Forbidden);
        }
        path.push(OsStr::from_bytes(segment));
    }
    // Symbolic links are followed, but only to places inside the root.
    let canonical = fs::canonicalize(&path).map_err(|_| Refused::NotFound)?;
    if !canonical.starts_with(root) {
        return Err(Refused::Forbidden);
    }
    Ok(canonical)
}

/// The media type of `path`, by its extension.
fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(OsStr::to_str).unwrap_or("");
    CONTENT_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or("application/octet-stream", |&(_, t)| t)
}

/// The file at `path` as the body, by `sendfile`.
fn send_file(base: &mut EventBase, req: Request, path: &Path) -> rvent::Result<()> {
    let opened = File::open(path).and_then(|f| Ok((f.metadata()?.len(), f)));
    let Ok((len, file)) = opened else {
        return req.send_error(base, 404, None);
    };
    req.output_buffer(base)?
        .add_file(OwnedFd::from(file), 0, Some(len))?;
    req.output_headers(base)?
        .add("Content-Type", content_type(path))?;
    req.send_reply(base, 200, None, None)
}

/// An HTML page listing directory `dir`, which the request named as
/// `raw_path`.
fn send_listing(
    base: &mut EventBase,
    req: Request,
    raw_path: &str,
    dir: &Path,
) -> rvent::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return req.send_error(base, 404, None);
    };
    let mut names: Vec<(Vec<u8>, bool)> = entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            (e.file_name().as_bytes().to_vec(), is_dir)
        })
        .collect();
    names.sort();

    let title = uri_decode(raw_path.as_bytes(), false)?;
    let title = html_escape(&title)?;
    let title = String::from_utf8_lossy(&title);
    // Links are relative to the directory itself.
    let slash = if raw_path.ends_with('/') { "" } else { "/" };
    let base_href = html_escape(format!("{raw_path}{slash}").as_bytes())?;
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n <head>\n  <meta charset='utf-8'>\n  \
         <title>{title}</title>\n  <base href='{}'>\n </head>\n <body>\n  \
         <h1>{title}</h1>\n  <ul>\n",
        String::from_utf8_lossy(&base_href)
    );
    for (name, is_dir) in &names {
        let href = uri_encode(name, false)?;
        let text = html_escape(name)?;
        let trail = if *is_dir { "/" } else { "" };
        let _ = writeln!(
            page,
            "   <li><a href=\"{}{trail}\">{}{trail}</a></li>",
            String::from_utf8_lossy(&href),
            String::from_utf8_lossy(&text)
        );
    }
    page.push_str("  </ul>\n </body>\n</html>\n");
    req.output_buffer(base)?.add(page.as_bytes())?;
    req.output_headers(base)?
        .add("Content-Type", "text/html; charset=utf-8")?;
    req.send_reply(base, 200, None, None)
}
