//! A client connection's life: connect, write the front request, read
//! its response, complete it, go on with the next.
//!
//! One request is in flight at a time. Its response is parsed as bytes
//! arrive (the record out of the table meanwhile; no user code runs);
//! once whole, the request leaves the queue, the connection goes idle —
//! keeping its socket if the server keeps it alive and sent nothing
//! more, else closing it — and only then does the callback run, so it
//! may queue another request or free the connection. The next request
//! then goes out, on a new socket if the old one closed. A failure ends
//! the request in flight with its error and closes the socket; the ones
//! behind it go on over a new one.

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::bufferevent::{BevEvent, BevOptions, Bufferevent};
use crate::error::{Error, Result};
use crate::ev::Ev;

use super::body::BodyReader;
use super::client_response::Response;
use super::client_table::{ClientPhase, ClientRec};
use super::handle::HttpConnection;
use super::request_error::HttpRequestError;
use super::response::{ResponseFraming, parse_response_head};
use super::table::{HttpHost, client_rec, client_rec_mut};

/// Sends the front request if none is in flight; a request that cannot
/// be sent ends with its error and the next is tried.
pub(super) fn start_next<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    loop {
        let Ok(rec) = client_rec(base, conn) else {
            return;
        };
        if rec.phase != ClientPhase::Idle || rec.queue.is_empty() {
            return;
        }
        let Err(e) = send_front(base, conn) else {
            return;
        };
        let kind = match e {
            Error::Alloc => HttpRequestError::BufferError,
            _ => HttpRequestError::Eof,
        };
        finish(base, conn, Err(kind));
    }
}

/// Connects if need be and writes the front request.
fn send_front<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) -> Result<()> {
    let bev = match client_rec(base, conn)?.bev {
        Some(bev) => bev,
        None => connect(base, conn)?,
    };
    let t = base.ext.http_mut();
    let mut rec = t
        .clients
        .take(conn.idx, conn.generation)
        .ok_or(Error::StaleHttp)?;
    let sent = match (bev.output(base), rec.queue.first_mut()) {
        (Ok(out), Some(req)) => out.add_buffer(&mut req.bytes),
        (Err(e), _) => Err(e),
        (_, None) => Ok(()),
    };
    if sent.is_ok() {
        rec.phase = ClientPhase::Head;
    }
    let _ = base
        .ext
        .http_mut()
        .clients
        .put_back(conn.idx, conn.generation, rec);
    sent?;
    bev.enable(base, Ev::READ | Ev::WRITE)
}

/// A socket bufferevent connecting to the connection's address, its
/// callbacks set; stored in the record.
fn connect<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) -> Result<Bufferevent> {
    let rec = client_rec(base, conn)?;
    let (addr, read, write) = (rec.addr, rec.read_timeout, rec.write_timeout);
    let bev = Bufferevent::socket(base, None, BevOptions::CLOSE_ON_FREE)?;
    let set_up = bev
        .set_read_callback(base, move |base, _| on_read(base, conn))
        .and_then(|()| {
            bev.set_event_callback(base, move |base, _, what| on_event(base, conn, what))
        })
        .and_then(|()| bev.set_timeouts(base, read, write))
        .and_then(|()| bev.connect(base, addr));
    if let Err(e) = set_up {
        let _ = bev.free(base);
        return Err(e);
    }
    match client_rec_mut(base, conn) {
        Ok(rec) => rec.bev = Some(bev),
        Err(e) => {
            let _ = bev.free(base);
            return Err(e);
        }
    }
    Ok(bev)
}

/// What reading came to.
enum Step {
    /// More bytes are needed.
    NeedMore,
    /// The front request's response is whole.
    Done,
    /// The front request failed.
    Fail(HttpRequestError),
    /// Bytes arrived with no request in flight: close.
    Stray,
}

fn on_read<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    let Some(mut rec) = base.ext.http_mut().clients.take(conn.idx, conn.generation) else {
        return;
    };
    let step = advance(base, &mut rec);
    if let Some(rec) = base
        .ext
        .http_mut()
        .clients
        .put_back(conn.idx, conn.generation, rec)
    {
        drop(rec); // freed meanwhile (cannot happen: no user code ran)
        return;
    }
    match step {
        Step::NeedMore => {}
        Step::Done => finish(base, conn, Ok(())),
        Step::Fail(e) => finish(base, conn, Err(e)),
        Step::Stray => close(base, conn),
    }
}

/// Parses what the input holds of the front request's response.
fn advance<X: HttpHost>(base: &mut EventBase<X>, rec: &mut ClientRec<X>) -> Step {
    let Some(bev) = rec.bev else {
        return Step::NeedMore;
    };
    let Ok(input) = bev.input(base) else {
        return Step::NeedMore;
    };
    if rec.phase == ClientPhase::Idle {
        return if input.is_empty() {
            Step::NeedMore
        } else {
            Step::Stray
        };
    }
    let to_head = rec.queue.first().is_some_and(|r| r.to_head);
    while rec.phase == ClientPhase::Head {
        match parse_response_head(input, &mut rec.head, &rec.limits, to_head) {
            Ok(false) => return Step::NeedMore,
            Err(r) => return Step::Fail(HttpRequestError::of_head(r)),
            Ok(true) if rec.head.code == 101 => {
                // Never asked for: no upgrade is offered.
                return Step::Fail(HttpRequestError::InvalidHeader);
            }
            Ok(true) if rec.head.is_interim() => {}
            Ok(true) => {
                if let ResponseFraming::Framed(f) = rec.head.framing {
                    rec.reader = BodyReader::new(f);
                }
                rec.phase = ClientPhase::Body;
            }
        }
    }
    match rec.head.framing {
        ResponseFraming::Framed(_) => match rec.reader.read(input, &mut rec.body, &rec.limits) {
            Ok(true) => Step::Done,
            Ok(false) => Step::NeedMore,
            Err(r) => Step::Fail(HttpRequestError::of_body(r)),
        },
        ResponseFraming::UntilClose => {
            match until_close(input, &mut rec.body, rec.limits.max_body_size) {
                Ok(()) => Step::NeedMore,
                Err(e) => Step::Fail(e),
            }
        }
    }
}

/// Moves a close-delimited body's bytes so far.
fn until_close(
    input: &mut Evbuffer,
    body: &mut Evbuffer,
    max: u64,
) -> std::result::Result<(), HttpRequestError> {
    if (body.len() as u64).saturating_add(input.len() as u64) > max {
        return Err(HttpRequestError::DataTooLong);
    }
    let n = input.len();
    if n > 0 {
        input
            .remove_buffer(body, n)
            .map_err(|_| HttpRequestError::BufferError)?;
    }
    Ok(())
}

fn on_event<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection, what: BevEvent) {
    if what.contains(BevEvent::CONNECTED) {
        return;
    }
    let Ok(rec) = client_rec(base, conn) else {
        return;
    };
    match rec.phase {
        // The server closed an idle keep-alive connection.
        ClientPhase::Idle => close(base, conn),
        ClientPhase::Body
            if rec.head.framing == ResponseFraming::UntilClose && what.contains(BevEvent::EOF) =>
        {
            // The end of a close-delimited body: what is left in the
            // input is its last bytes.
            on_read(base, conn);
            if client_rec(base, conn).is_ok_and(|r| r.phase == ClientPhase::Body) {
                finish(base, conn, Ok(()));
            }
        }
        _ => {
            let e = if what.contains(BevEvent::TIMEOUT) {
                HttpRequestError::Timeout
            } else {
                HttpRequestError::Eof
            };
            finish(base, conn, Err(e));
        }
    }
}

/// Frees the connection's bufferevent; the next request connects anew.
fn close<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    if let Some(bev) = client_rec_mut(base, conn).ok().and_then(|r| r.bev.take()) {
        let _ = bev.free(base);
    }
}

/// Ends the front request — with its response (`Ok`) or `Err` — runs
/// its callback, and goes on with the next.
fn finish<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    outcome: std::result::Result<(), HttpRequestError>,
) {
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    if rec.queue.is_empty() {
        return;
    }
    let req = rec.queue.remove(0);
    let was_in_flight = rec.phase != ClientPhase::Idle;
    rec.phase = ClientPhase::Idle;
    // Lent to the callback; the record keeps empty ones (no blocks).
    let head = std::mem::take(&mut rec.head);
    let mut body = std::mem::take(&mut rec.body);
    let reuse = outcome.is_ok()
        && head.keep_alive
        && !req.close
        && rec
            .bev
            .is_some_and(|bev| bev.input_len(base).is_ok_and(|n| n == 0));
    if !reuse && was_in_flight {
        close(base, conn);
    }
    let mut cb = req.cb;
    match outcome {
        Ok(()) => cb(
            base,
            Ok(Response {
                head: &head,
                body: &mut body,
            }),
        ),
        Err(e) => cb(base, Err(e)),
    }
    drop(cb);
    drop(req.bytes);
    let _ = body.drain(body.len());
    if let Ok(rec) = client_rec_mut(base, conn) {
        rec.head = head;
        rec.body = body;
    }
    start_next(base, conn);
}

/// Ends every request of a freed connection with
/// [`HttpRequestError::Cancelled`], in order, and closes its socket.
pub(super) fn cancel_all<X: HttpHost>(base: &mut EventBase<X>, mut rec: ClientRec<X>) {
    if let Some(bev) = rec.bev.take() {
        let _ = bev.free(base);
    }
    for req in rec.queue.drain(..) {
        let mut cb = req.cb;
        cb(base, Err(HttpRequestError::Cancelled));
    }
}
