//! A client connection's life: connect (retrying as configured), write
//! the front request, read its response, complete it, go on with the
//! next.
//!
//! A request is written only once the socket has connected, so a failed
//! connect can be retried with the request intact. A failed connect with
//! no retry left fails every request queued then (libevent does the
//! same); a failure after connecting fails the request in flight only,
//! and the ones behind it go on over a new socket.
//!
//! One request is in flight at a time. Its response is parsed as bytes
//! arrive (the record out of the table meanwhile; no user code runs);
//! the parsing stops for the header callback and for each piece of
//! streamed body, which run with the record back in the table, so they
//! may cancel the request, queue another or free the connection. Once
//! the response is whole the request leaves the queue, the connection
//! goes idle — keeping its socket if the server keeps it alive and sent
//! nothing more, else closing it — and only then do the callbacks run.
//! The next request then goes out, on a new socket if the old one
//! closed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::IntoRawFd;

use crate::base::EventBase;
use crate::buffer::Evbuffer;
use crate::bufferevent::{AddressFamily, BevEvent, BevOptions, Bufferevent};
use crate::error::{Error, Result};
use crate::ev::Ev;
use crate::handle::Event;
use crate::sys::socket::{self as syscall, BindOptions};

use super::body::BodyReader;
use super::client_response::Response;
use super::client_table::{
    Callbacks, ClientBox, ClientPhase, ClientRec, HttpConnectionFlags, Peer,
};
use super::handle::HttpConnection;
use super::request_error::HttpRequestError;
use super::response::{ResponseFraming, parse_response_head};
use super::table::{HttpHost, client_rec, client_rec_mut};

/// Sends the front request if none is in flight, connecting first if
/// there is no socket; frees a connection marked to be freed on
/// completion once nothing is left.
pub(super) fn start_next<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    loop {
        let Ok(rec) = client_rec(base, conn) else {
            return;
        };
        if rec.phase != ClientPhase::Idle {
            return;
        }
        if rec.queue.is_empty() {
            if rec.free_on_completion {
                let _ = conn.free(base);
            }
            return;
        }
        let Some(bev) = rec.bev else {
            if let Err(e) = connect(base, conn) {
                connect_failed(base, conn, kind_of(e));
            }
            return;
        };
        let Err(e) = send_front(base, conn, bev) else {
            return;
        };
        // Part of it may be in the output: that socket is done.
        close(base, conn);
        complete_front(base, conn, Err(kind_of(e)), false);
    }
}

/// The request error an rvent error means.
fn kind_of(e: Error) -> HttpRequestError {
    match e {
        Error::Alloc => HttpRequestError::BufferError,
        _ => HttpRequestError::Eof,
    }
}

/// Writes the front request on the connected socket. Reading is
/// enabled first — restarting the read timeout for the response, as
/// libevent does — while the output is still empty, so no write event
/// is armed: the output goes out when the loop services the bufferevent
/// (the write event is armed only if the socket cannot take it all).
fn send_front<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    bev: Bufferevent,
) -> Result<()> {
    bev.enable(base, Ev::READ)?;
    let t = base.ext.http_mut();
    let mut rec = t
        .clients
        .take(conn.idx, conn.generation)
        .ok_or(Error::StaleHttp)?;
    let sent = match (bev.output(base), rec.queue.first_mut()) {
        (Ok(out), Some(req)) => write_request(out, &mut req.bytes),
        (Err(e), _) => Err(e),
        (_, None) => Ok(()),
    };
    if sent.is_ok() {
        rec.phase = ClientPhase::Head;
        rec.body_read = 0;
    }
    let _ = base
        .ext
        .http_mut()
        .clients
        .put_back(conn.idx, conn.generation, rec);
    sent
}

/// A request this long or shorter is copied into the socket's output,
/// its buffer kept for the next request (no allocation); a longer one's
/// chains move.
const COPY_MAX: usize = 4096;

/// Puts a request's bytes in the socket's output.
fn write_request(out: &mut Evbuffer, bytes: &mut Evbuffer) -> Result<()> {
    if bytes.len() > COPY_MAX {
        return out.add_buffer(bytes);
    }
    for chunk in bytes.chunks() {
        out.add(chunk)?;
    }
    bytes.drain(bytes.len())
}

/// Starts connecting: a socket bufferevent (bound to the local address
/// if one is set) connecting to the address, or looking up the host
/// name; stored in the record.
fn connect<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) -> Result<()> {
    let rec = client_rec(base, conn)?;
    let reuse = rec.connected_addr.filter(|_| {
        rec.flags
            .contains(HttpConnectionFlags::REUSE_CONNECTED_ADDR)
    });
    let addr = match (&rec.peer, reuse) {
        (Peer::Addr(a), _) => Some(*a),
        (Peer::Host { .. }, a) => a,
    };
    let local = (rec.local_ip.is_some() || rec.local_port != 0).then(|| {
        let v6 = match addr {
            Some(a) => a.is_ipv6(),
            None => rec.family == AddressFamily::Ipv6,
        };
        let any = if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        SocketAddr::new(rec.local_ip.unwrap_or(any), rec.local_port)
    });
    let timeout = rec.connect_timeout;
    // A socket bufferevent given unconnected is used first.
    let bev = match client_rec_mut(base, conn)?.unconnected.take() {
        Some(bev) => bev,
        None => Bufferevent::socket(base, None, BevOptions::CLOSE_ON_FREE)?,
    };
    let set_up = set_callbacks(base, conn, bev)
        .and_then(|()| bev.set_timeouts(base, None, timeout))
        .and_then(|()| bind_local(base, bev, local))
        .and_then(|()| match addr {
            Some(a) => bev.connect(base, a),
            None => connect_host(base, conn, bev),
        });
    if let Err(e) = set_up {
        let _ = bev.free(base);
        return Err(e);
    }
    match client_rec_mut(base, conn) {
        Ok(rec) => {
            rec.bev = Some(bev);
            rec.phase = ClientPhase::Connecting;
            Ok(())
        }
        Err(e) => {
            let _ = bev.free(base);
            Err(e)
        }
    }
}

/// Points `bev`'s read and event callbacks at the connection.
fn set_callbacks<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    bev: Bufferevent,
) -> Result<()> {
    bev.set_read_callback(base, move |base, _| on_read(base, conn))?;
    bev.set_event_callback(base, move |base, _, what| on_event(base, conn, what))
}

/// Makes `bev`, connected already, the connection's socket, as if it had
/// just connected.
pub(super) fn adopt<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    bev: Bufferevent,
) -> Result<()> {
    let rec = client_rec(base, conn)?;
    let (read, write) = (rec.read_timeout, rec.write_timeout);
    set_callbacks(base, conn, bev)?;
    bev.set_timeouts(base, read, write)?;
    bev.enable(base, Ev::READ | Ev::WRITE)?;
    client_rec_mut(base, conn)?.bev = Some(bev);
    Ok(())
}

/// Gives `bev` a socket bound to `local`, if set.
fn bind_local<X: HttpHost>(
    base: &mut EventBase<X>,
    bev: Bufferevent,
    local: Option<SocketAddr>,
) -> Result<()> {
    let Some(local) = local else {
        return Ok(());
    };
    let fd = syscall::bind_tcp(&local, BindOptions::default())?.into_raw_fd();
    if let Err(e) = bev.set_fd(base, Some(fd)) {
        syscall::close(fd);
        return Err(e);
    }
    Ok(())
}

/// Looks the connection's host name up and connects `bev` to it.
fn connect_host<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    bev: Bufferevent,
) -> Result<()> {
    let rec = client_rec_mut(base, conn)?;
    let family = rec.family;
    let (name, port) = match &mut rec.peer {
        Peer::Host { name, port } => (std::mem::replace(name, crate::mem::vec()), *port),
        Peer::Addr(_) => return Err(Error::InvalidArgument("not a host-name connection")),
    };
    let host = std::str::from_utf8(&name).unwrap_or_default();
    let r = bev.connect_hostname_family(base, family, host, port);
    if let Ok(ClientRec {
        peer: Peer::Host { name: kept, .. },
        ..
    }) = client_rec_mut(base, conn)
    {
        *kept = name;
    }
    r
}

/// What reading came to.
enum Step {
    /// More bytes are needed.
    NeedMore,
    /// The response head arrived and the request has a header callback.
    Head,
    /// Body bytes arrived and the request streams its body; `true` when
    /// they end it.
    Chunk(bool),
    /// The front request's response is whole.
    Done,
    /// The front request failed.
    Fail(HttpRequestError),
    /// Bytes arrived with no request in flight: close.
    Stray,
}

fn on_read<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    loop {
        let Some(mut rec) = base.ext.http_mut().clients.take(conn.idx, conn.generation) else {
            return;
        };
        let step = advance(base, &mut rec);
        let serial = rec.queue.first().map_or(0, |q| q.serial);
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
            Step::NeedMore => return,
            Step::Head => {
                if !lend(base, conn, serial, Lent::Header) {
                    return;
                }
            }
            Step::Chunk(done) => {
                if !lend(base, conn, serial, Lent::Chunk) {
                    return;
                }
                if done {
                    complete_front(base, conn, Ok(()), true);
                    return;
                }
            }
            Step::Done => {
                complete_front(base, conn, Ok(()), true);
                return;
            }
            Step::Fail(e) => {
                complete_front(base, conn, Err(e), true);
                return;
            }
            Step::Stray => {
                close(base, conn);
                return;
            }
        }
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
    let Some(front) = rec.in_flight() else {
        return if input.is_empty() || rec.phase != ClientPhase::Idle {
            Step::NeedMore
        } else {
            Step::Stray
        };
    };
    let (to_head, header_cb, streams) = (
        front.to_head,
        front.cbs.header.is_some(),
        front.cbs.chunk.is_some(),
    );
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
                if header_cb {
                    return Step::Head;
                }
            }
        }
    }
    let done = match rec.head.framing {
        ResponseFraming::Framed(_) => match rec.reader.read(input, &mut rec.body, &rec.limits) {
            Ok(done) => done,
            Err(r) => return Step::Fail(HttpRequestError::of_body(r)),
        },
        ResponseFraming::UntilClose => {
            match until_close(input, &mut rec.body, &mut rec.body_read, &rec.limits) {
                Ok(()) => false,
                Err(e) => return Step::Fail(e),
            }
        }
    };
    if streams && !rec.body.is_empty() {
        Step::Chunk(done)
    } else if done {
        Step::Done
    } else {
        Step::NeedMore
    }
}

/// Moves a close-delimited body's bytes so far; `read` counts them.
fn until_close(
    input: &mut Evbuffer,
    body: &mut Evbuffer,
    read: &mut u64,
    limits: &super::parse::Limits,
) -> std::result::Result<(), HttpRequestError> {
    let n = input.len();
    let total = read.saturating_add(n as u64);
    if total > limits.max_body_size {
        return Err(HttpRequestError::DataTooLong);
    }
    if n > 0 {
        input
            .remove_buffer(body, n)
            .map_err(|_| HttpRequestError::BufferError)?;
        *read = total;
    }
    Ok(())
}

/// Which callback [`lend`] runs.
#[derive(Clone, Copy)]
enum Lent {
    Header,
    Chunk,
}

/// Runs the header or chunk callback of request `serial`, in flight,
/// with the response head and body lent to it (the body drained after a
/// chunk callback). `false` if the request is no longer in flight
/// afterwards — the callback cancelled it or freed the connection.
fn lend<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    serial: u32,
    which: Lent,
) -> bool {
    let Ok(rec) = client_rec_mut(base, conn) else {
        return false;
    };
    let Some(front) = rec.queue.first_mut().filter(|q| q.serial == serial) else {
        return false;
    };
    let mut header = None;
    let mut chunk = None;
    match which {
        Lent::Header => header = front.cbs.header.take(),
        Lent::Chunk => chunk = front.cbs.chunk.take(),
    }
    let head = std::mem::take(&mut rec.head);
    let mut body = std::mem::take(&mut rec.body);
    {
        let mut resp = Response {
            head: &head,
            body: &mut body,
        };
        if let Some(cb) = header.as_mut() {
            cb(base, &resp);
        }
        if let Some(cb) = chunk.as_mut() {
            cb(base, &mut resp);
        }
    }
    if matches!(which, Lent::Chunk) {
        let _ = body.drain(body.len());
    }
    let Ok(rec) = client_rec_mut(base, conn) else {
        return false;
    };
    rec.head = head;
    rec.body = body;
    let in_flight = rec.in_flight().is_some_and(|q| q.serial == serial);
    match rec.queue.first_mut() {
        Some(front) if in_flight => {
            if header.is_some() {
                front.cbs.header = header;
            }
            if chunk.is_some() {
                front.cbs.chunk = chunk;
            }
            true
        }
        _ => false,
    }
}

fn on_event<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection, what: BevEvent) {
    let Ok(rec) = client_rec(base, conn) else {
        return;
    };
    match rec.phase {
        ClientPhase::Connecting if what.contains(BevEvent::CONNECTED) => on_connected(base, conn),
        ClientPhase::Connecting => {
            let kind = if what.contains(BevEvent::TIMEOUT) {
                HttpRequestError::Timeout
            } else {
                HttpRequestError::Eof
            };
            connect_failed(base, conn, kind);
        }
        _ if what.contains(BevEvent::CONNECTED) => {}
        // The server closed an idle keep-alive connection, or it timed
        // out idle.
        ClientPhase::Idle | ClientPhase::Retrying => close(base, conn),
        ClientPhase::Body
            if rec.head.framing == ResponseFraming::UntilClose && what.contains(BevEvent::EOF) =>
        {
            // The end of a close-delimited body: what is left in the
            // input is its last bytes.
            let serial = rec.queue.first().map_or(0, |q| q.serial);
            on_read(base, conn);
            let still = client_rec(base, conn)
                .is_ok_and(|r| r.in_flight().is_some_and(|q| q.serial == serial));
            if still {
                complete_front(base, conn, Ok(()), true);
            }
        }
        ClientPhase::Head | ClientPhase::Body
            if what.contains(BevEvent::WRITING)
                && !what.contains(BevEvent::TIMEOUT)
                && rec.flags.contains(HttpConnectionFlags::READ_ON_WRITE_ERROR) =>
        {
            // Only writing stopped: the answer is read as it comes, and
            // the end of the read side ends the request.
        }
        ClientPhase::Head | ClientPhase::Body => {
            let e = if what.contains(BevEvent::TIMEOUT) {
                HttpRequestError::Timeout
            } else {
                HttpRequestError::Eof
            };
            complete_front(base, conn, Err(e), true);
        }
    }
}

/// The socket connected: the retry count starts again, the read and
/// write timeouts replace the connect timeout, and the front request
/// goes out.
fn on_connected<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    let Some(bev) = rec.bev else {
        return;
    };
    rec.retry.count = 0;
    rec.phase = ClientPhase::Idle;
    let (read, write) = (rec.read_timeout, rec.write_timeout);
    let addr = match rec.peer {
        Peer::Addr(a) => Some(a),
        Peer::Host { .. } => bev
            .fd(base)
            .ok()
            .flatten()
            .and_then(|fd| syscall::peer_addr(fd).ok()),
    };
    if let Ok(rec) = client_rec_mut(base, conn) {
        rec.connected_addr = addr;
    }
    let ready = bev
        .set_timeouts(base, read, write)
        .and_then(|()| bev.enable(base, Ev::READ));
    match ready {
        Ok(()) => start_next(base, conn),
        Err(e) => {
            if let Ok(rec) = client_rec_mut(base, conn) {
                rec.phase = ClientPhase::Connecting;
            }
            connect_failed(base, conn, kind_of(e));
        }
    }
}

/// A connect failed: retry after the next delay if retries are left,
/// else fail every request queued now with `kind`.
fn connect_failed<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    kind: HttpRequestError,
) {
    close(base, conn);
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    rec.phase = ClientPhase::Idle;
    if rec.retry.left() && !rec.queue.is_empty() && arm_retry(base, conn).is_ok() {
        return;
    }
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    rec.retry.count = 0;
    let n = rec.queue.len();
    for _ in 0..n {
        complete_front(base, conn, Err(kind), false);
    }
    start_next(base, conn);
}

/// Arms the retry timer with the next delay.
fn arm_retry<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) -> Result<()> {
    let rec = client_rec(base, conn)?;
    let delay = rec.retry.delay();
    let timer = match rec.retry.timer {
        Some(t) => t,
        None => {
            let t = Event::timer(base, move |base, _, _, _| retry(base, conn))?;
            match client_rec_mut(base, conn) {
                Ok(rec) => rec.retry.timer = Some(t),
                Err(e) => {
                    let _ = t.free(base);
                    return Err(e);
                }
            }
            t
        }
    };
    timer.add(base, Some(delay))?;
    let rec = client_rec_mut(base, conn)?;
    rec.retry.count += 1;
    rec.phase = ClientPhase::Retrying;
    Ok(())
}

/// The retry timer fired: connect again.
fn retry<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    if let Ok(rec) = client_rec_mut(base, conn)
        && rec.phase == ClientPhase::Retrying
    {
        rec.phase = ClientPhase::Idle;
        start_next(base, conn);
    }
}

/// Frees the connection's bufferevent — the next request connects anew
/// — and runs the close callback if it had connected.
fn close<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection) {
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    let Some(bev) = rec.bev.take() else {
        return;
    };
    let connected = rec.phase != ClientPhase::Connecting;
    let cb = if connected { rec.close_cb.take() } else { None };
    let _ = bev.free(base);
    if let Some(mut cb) = cb {
        cb(base, conn);
        if let Ok(rec) = client_rec_mut(base, conn)
            && rec.close_cb.is_none()
        {
            rec.close_cb = Some(cb);
        }
    }
}

/// Ends the front request — with its response (`Ok`) or `Err` — runs
/// its callbacks (for an error, the error callback first), and with
/// `go_on` goes on with the next.
fn complete_front<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    outcome: std::result::Result<(), HttpRequestError>,
    go_on: bool,
) {
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    if rec.queue.is_empty() {
        return;
    }
    let req = rec.queue.remove(0);
    let was_in_flight = matches!(rec.phase, ClientPhase::Head | ClientPhase::Body);
    if was_in_flight {
        rec.phase = ClientPhase::Idle;
    }
    // Lent to the callback; the record keeps empty ones (no blocks).
    let head = std::mem::take(&mut rec.head);
    let mut body = std::mem::take(&mut rec.body);
    // Reused only if nothing more came and all of the request went out
    // (an answer that came before the whole body would leave the rest
    // to be read as the next request).
    let reuse = outcome.is_ok()
        && head.keep_alive
        && !req.close
        && rec.bev.is_some_and(|bev| {
            bev.input_len(base).is_ok_and(|n| n == 0) && bev.output_len(base).is_ok_and(|n| n == 0)
        });
    if !reuse && was_in_flight {
        close(base, conn);
    }
    let Callbacks {
        complete, error, ..
    } = req.cbs;
    run_callbacks(base, complete, error, outcome.map(|()| (&head, &mut body)));
    let mut bytes = req.bytes;
    let _ = body.drain(body.len());
    let _ = bytes.drain(bytes.len());
    if let Ok(rec) = client_rec_mut(base, conn) {
        rec.head = head;
        rec.body = body;
        if rec.spare_bytes.is_empty() {
            rec.spare_bytes = bytes;
        }
    }
    if go_on {
        start_next(base, conn);
    }
}

/// Runs a request's error callback (on failure) and completion callback.
fn run_callbacks<X: HttpHost>(
    base: &mut EventBase<X>,
    complete: Option<super::client_table::CompleteFn<X>>,
    error: Option<super::client_table::ErrorFn<X>>,
    outcome: std::result::Result<(&super::response::ResponseHead, &mut Evbuffer), HttpRequestError>,
) {
    match outcome {
        Ok((head, body)) => {
            if let Some(mut cb) = complete {
                cb(base, Ok(Response { head, body }));
            }
        }
        Err(e) => {
            if let Some(mut cb) = error {
                cb(base, e);
            }
            if let Some(mut cb) = complete {
                cb(base, Err(e));
            }
        }
    }
}

/// Cancels request `serial` of `conn`: none of its callbacks runs; the
/// socket closes if it was in flight.
pub(super) fn cancel<X: HttpHost>(base: &mut EventBase<X>, conn: HttpConnection, serial: u32) {
    let Ok(rec) = client_rec_mut(base, conn) else {
        return;
    };
    let Some(i) = rec.queue.iter().position(|q| q.serial == serial) else {
        return;
    };
    let in_flight = i == 0 && rec.in_flight().is_some();
    let req = rec.queue.remove(i);
    if in_flight {
        rec.phase = ClientPhase::Idle;
        close(base, conn);
    } else if rec.queue.is_empty() && rec.phase == ClientPhase::Retrying {
        rec.phase = ClientPhase::Idle;
        if let Some(t) = rec.retry.timer {
            let _ = t.del(base);
        }
    }
    drop(req);
    start_next(base, conn);
}

/// Frees a connection taken out of the table: its retry timer, its
/// socket (running the close callback if it had connected), and every
/// request, ended with [`HttpRequestError::Cancelled`] in order.
pub(super) fn release<X: HttpHost>(
    base: &mut EventBase<X>,
    conn: HttpConnection,
    mut rec: ClientBox<X>,
) {
    if let Some(t) = rec.retry.timer.take() {
        let _ = t.free(base);
    }
    if let Some(bev) = rec.unconnected.take() {
        let _ = bev.free(base);
    }
    if let Some(bev) = rec.bev.take() {
        let _ = bev.free(base);
        if rec.phase != ClientPhase::Connecting
            && let Some(cb) = rec.close_cb.as_mut()
        {
            cb(base, conn);
        }
    }
    for req in rec.queue.drain(..) {
        let Callbacks {
            complete, error, ..
        } = req.cbs;
        run_callbacks(base, complete, error, Err(HttpRequestError::Cancelled));
    }
}
