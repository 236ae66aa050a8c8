//! A server connection's life: accept, read and parse requests, hand each
//! to its callback, and close.
//!
//! One request is in flight per connection: the next one is parsed only
//! once the reply to the current one is out in the bufferevent's output,
//! so pipelined requests are answered in order with no queue. A callback
//! that keeps its request (to reply later) pauses reading, so a client
//! that pipelines without end fills its socket, not our memory. A reply
//! sent while the connection's requests are being processed resumes that
//! loop; one sent later (from a timer) starts it again for whatever
//! arrived meanwhile.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::time::Duration;

use crate::base::EventBase;
use crate::bufferevent::{BevEvent, BevOptions, Bufferevent};
use crate::ev::Ev;
use crate::handle::Event;
use crate::listener::PeerAddr;

use crate::buffer::Evbuffer;
use crate::error::Result;
use crate::mem::MemVec;
use crate::sys::socket;

use super::body::BodyReader;
use super::encode::decode_into;
use super::handle::{ConnId, Http, Request};
use super::method::Methods;
use super::parse::{Limits, parse_head};
use super::reply::{self, After};
use super::state::StateBox;
use super::status::Refusal;
use super::table::{ConnRec, HttpHost, Phase, ServerRec, server_rec, server_rec_mut};
use super::target::{target_authority, target_path};
use super::vhost::{self, host_name};

/// Serves a connection a listener of `server` accepted.
pub(super) fn accept<X: HttpHost>(
    base: &mut EventBase<X>,
    server: Http,
    fd: OwnedFd,
    peer: PeerAddr,
) {
    let Ok(rec) = server_rec(base, server) else {
        return; // dropping the descriptor closes it
    };
    // A Unix-domain connection has no IP peer; the socket calls below
    // work on its descriptor the same way.
    let stream = TcpStream::from(fd);
    let peer = peer.inet();
    if rec.max_connections != 0 && rec.connections >= rec.max_connections {
        return;
    }
    let _ = stream.set_nodelay(true);
    let Ok(bev) = connection_bev(base, server, stream) else {
        return;
    };
    if serve(base, server, bev, peer).is_err() {
        let _ = bev.free(base);
    }
}

/// Serves `bev` as a connection of `server` from `peer`; on error `bev`
/// is still the caller's.
pub(super) fn serve<X: HttpHost>(
    base: &mut EventBase<X>,
    server: Http,
    bev: Bufferevent,
    peer: Option<SocketAddr>,
) -> Result<()> {
    let rec = server_rec(base, server)?;
    let (read, write) = (rec.read_timeout, rec.write_timeout);
    let id = base
        .ext
        .http_mut()
        .insert_conn(&base.account, ConnRec::new(server, bev, peer))?;
    if let Ok(rec) = server_rec_mut(base, server) {
        rec.connections += 1;
    }
    let set_up = bev
        .set_read_callback(base, move |base, _| process(base, id))
        .and_then(|()| bev.set_event_callback(base, move |base, _, what| on_event(base, id, what)))
        .and_then(|()| bev.set_timeouts(base, read, write))
        .and_then(|()| bev.enable(base, Ev::READ | Ev::WRITE));
    if set_up.is_err() {
        close(base, id); // frees `bev`
    }
    // Bytes already in the input are a request too.
    process(base, id);
    Ok(())
}

/// The bufferevent to serve `stream` through: the server's hook's
/// (`evhttp_set_bevcb`), else a socket bufferevent.
fn connection_bev<X: HttpHost>(
    base: &mut EventBase<X>,
    server: Http,
    stream: TcpStream,
) -> Result<Bufferevent> {
    let Some(mut hook) = server_rec_mut(base, server)
        .ok()
        .and_then(|s| s.bevcb.take())
    else {
        return Bufferevent::from_stream(base, stream, BevOptions::CLOSE_ON_FREE);
    };
    let bev = hook(base, stream);
    if let Ok(s) = server_rec_mut(base, server)
        && s.bevcb.is_none()
    {
        s.bevcb = Some(hook);
    }
    bev
}

/// What one parsing step came to.
enum Step {
    /// More bytes are needed; `true` if a head is partly here.
    NeedMore(bool),
    /// A whole request is here.
    Ready,
    /// Refuse it and close.
    Refuse(Refusal),
    /// Nothing to do (the request is with its callback, or closing).
    Idle,
    /// Close now: no memory for the request.
    Close,
}

/// Parses what arrived and runs the callback of each request completed,
/// until more bytes are needed or a request is kept by its callback.
pub(super) fn process<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    loop {
        let Some(c) = base.ext.http().conn(id) else {
            return;
        };
        if c.in_process {
            return;
        }
        if c.phase == Phase::Head && c.bev.output_len(base).unwrap_or(0) > MAX_PENDING_OUTPUT {
            // A client pipelining without reading: parse no more until
            // the answers so far are written.
            pause_for_output(base, id);
            return;
        }
        if matches!(c.phase, Phase::Closing | Phase::Refused) {
            // Lingering after a refusal: what the client still sends is
            // read and dropped.
            let bev = c.bev;
            if let Ok(input) = bev.input(base) {
                let n = input.len();
                let _ = input.drain(n);
            }
            return;
        }
        let Ok(srec) = server_rec(base, c.server) else {
            close(base, id);
            return;
        };
        let (limits, allowed, header_timeout) = (srec.limits, srec.allowed, srec.header_timeout);
        // The parts parsing needs, the state out of the record meanwhile
        // (cheaper to move than the record).
        let Some(c) = base.ext.http_mut().conn_mut(id) else {
            return;
        };
        let (bev, mut phase, mut state) = (c.bev, c.phase, c.state.take());
        let step = advance(base, bev, &mut phase, &mut state, &limits, allowed);
        let Some(c) = base.ext.http_mut().conn_mut(id) else {
            // Closed meanwhile (cannot happen: no user code ran).
            if let Some(s) = state {
                base.ext.http_mut().give_back_state(s);
            }
            return;
        };
        c.phase = phase;
        c.state = state;
        let (deadline, armed) = (c.deadline, c.deadline_armed);
        match step {
            Step::Idle => return,
            Step::Close => {
                close(base, id);
                return;
            }
            Step::NeedMore(partial) => {
                if partial && !armed {
                    arm_deadline(base, id, deadline, header_timeout);
                }
                return;
            }
            Step::Refuse(r) => {
                let (_, next) = reply::refuse(base, id, r);
                if let Some(c) = base.ext.http_mut().conn_mut(id)
                    && c.phase == Phase::Closing
                {
                    c.phase = Phase::Refused;
                }
                follow_up(base, id, next);
                return;
            }
            Step::Ready => {
                if let (true, Some(ev)) = (armed, deadline) {
                    let _ = ev.del(base);
                    if let Some(c) = base.ext.http_mut().conn_mut(id) {
                        c.deadline_armed = false;
                    }
                }
                dispatch(base, id);
                match base.ext.http().conn(id).map(|c| c.phase) {
                    Some(Phase::Head) => continue,
                    Some(Phase::Handler) => {
                        pause_reading(base, id);
                        return;
                    }
                    _ => return,
                }
            }
        }
    }
}

/// One parsing step on a connection: its bufferevent, phase and request
/// state. A connection between requests with nothing to read gives its
/// request storage back.
fn advance<X: HttpHost>(
    base: &mut EventBase<X>,
    bev: Bufferevent,
    phase: &mut Phase,
    state: &mut Option<StateBox>,
    limits: &Limits,
    allowed: Methods,
) -> Step {
    if *phase == Phase::Head {
        match bev.input(base) {
            Ok(input) if input.is_empty() => {
                if let Some(s) = state.take() {
                    base.ext.http_mut().give_back_state(s);
                }
                return Step::NeedMore(false);
            }
            Ok(_) => {}
            Err(_) => return Step::Idle,
        }
        if state.is_none() {
            match base.ext.http_mut().take_state() {
                Ok(s) => *state = Some(s),
                Err(_) => return Step::Close,
            }
        }
    }
    let (Ok(input), Some(st)) = (bev.input(base), state.as_deref_mut()) else {
        return Step::Idle;
    };
    let mut send_continue = false;
    if *phase == Phase::Head {
        match parse_head(input, &mut st.head, limits) {
            Ok(false) => return Step::NeedMore(true),
            Err(r) => return Step::Refuse(r),
            Ok(true) => {}
        }
        if !allowed.contains(st.head.method.bit()) {
            return Step::Refuse(Refusal::NotImplemented);
        }
        st.body = BodyReader::new(st.head.framing);
        *phase = Phase::Body;
        send_continue = st.head.expect_continue && input.is_empty();
    }
    if *phase != Phase::Body {
        return Step::Idle;
    }
    match st.body.read(input, &mut st.input, limits) {
        Ok(true) => Step::Ready,
        Ok(false) => {
            if send_continue && let Ok(out) = bev.output(base) {
                let _ = out.add(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            Step::NeedMore(false)
        }
        Err(r) => Step::Refuse(r),
    }
}

/// Where a request goes.
enum Target {
    Route(usize, u32),
    General,
    NotFound,
}

/// Hands the request now read on `id` to its callback.
fn dispatch<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let t = base.ext.http_mut();
    let Some(c) = t.conn_mut(id) else {
        return;
    };
    c.phase = Phase::Handler;
    c.serial = c.serial.wrapping_add(1);
    c.in_process = true;
    let main = c.server;
    let req = Request::new(id, c.serial, base.id);
    if !admit(base, main, req) {
        close(base, id);
        return;
    }
    let server = routing_server(base, main, id);
    let Ok(srec) = server_rec(base, server) else {
        finish_dispatch(base, id);
        return;
    };
    let (no_routes, fallback) = (
        srec.routes.is_empty(),
        match srec.gencb {
            Some(_) => Target::General,
            None => Target::NotFound,
        },
    );
    let Some(st) = base
        .ext
        .http_mut()
        .conn_mut(id)
        .filter(|c| c.phase == Phase::Handler && c.serial == req.serial)
        .and_then(|c| c.state.as_deref_mut())
    else {
        // Answered (or closed) by the new-request callback.
        finish_dispatch(base, id);
        return;
    };
    let target = if no_routes {
        // Nothing to match: the path need not be decoded.
        Some(fallback)
    } else {
        let mut path = std::mem::replace(&mut st.path, crate::mem::vec());
        let decoded = routing_path(st.head.target(), &mut path);
        let target = match (decoded, server_rec(base, server)) {
            (Ok(()), Ok(srec)) => Some(match find_route(srec, &path) {
                Some(i) => Target::Route(i, srec.routes[i].id),
                None => fallback,
            }),
            _ => None,
        };
        if let Some(st) = base
            .ext
            .http_mut()
            .conn_mut(id)
            .and_then(|c| c.state.as_deref_mut())
        {
            st.path = path;
        }
        target
    };
    match target {
        None => {
            let _ = error(base, id, 503, None, false);
        }
        Some(Target::NotFound) => {
            let _ = error(base, id, 404, None, false);
        }
        Some(Target::Route(i, rid)) => {
            let Some(mut cb) = server_rec_mut(base, server)
                .ok()
                .and_then(|s| s.routes[i].cb.take())
            else {
                let _ = error(base, id, 404, None, false);
                finish_dispatch(base, id);
                return;
            };
            cb(base, req);
            if let Ok(s) = server_rec_mut(base, server)
                && let Some(r) = s.routes.iter_mut().find(|r| r.id == rid)
                && r.cb.is_none()
            {
                r.cb = Some(cb);
            }
        }
        Some(Target::General) => {
            let Some(mut cb) = server_rec_mut(base, server).ok().and_then(|s| {
                s.gencb_out = true;
                s.gencb.take()
            }) else {
                let _ = error(base, id, 404, None, false);
                finish_dispatch(base, id);
                return;
            };
            cb(base, req);
            if let Ok(s) = server_rec_mut(base, server)
                && s.gencb_out
            {
                s.gencb_out = false;
                s.gencb = Some(cb);
            }
        }
    }
    finish_dispatch(base, id);
}

/// Asks the server's new-request callback whether to serve `req`
/// (`evhttp_set_newreqcb`); `true` without one.
fn admit<X: HttpHost>(base: &mut EventBase<X>, server: Http, req: Request) -> bool {
    let Some(mut cb) = server_rec_mut(base, server)
        .ok()
        .and_then(|s| s.newreq.take())
    else {
        return true;
    };
    let ok = cb(base, req);
    if let Ok(s) = server_rec_mut(base, server)
        && s.newreq.is_none()
    {
        s.newreq = Some(cb);
    }
    ok
}

/// The server whose routes answer the request on `id`: `main`, or the
/// virtual host its host names.
fn routing_server<X: HttpHost>(base: &EventBase<X>, main: Http, id: ConnId) -> Http {
    let Ok(rec) = server_rec(base, main) else {
        return main;
    };
    if rec.vhosts.is_empty() && rec.aliases.is_empty() {
        return main;
    }
    let Some(st) = base.ext.http().conn(id).and_then(|c| c.state.as_deref()) else {
        return main;
    };
    let host = target_authority(st.head.target()).or_else(|| st.head.headers.find("host"));
    match host {
        Some(h) => vhost::find(base, main, host_name(h)),
        None => main,
    }
}

fn finish_dispatch<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    if let Some(c) = base.ext.http_mut().conn_mut(id) {
        c.in_process = false;
    }
}

/// Answer bytes a connection may have waiting to be written before it
/// reads no more requests: a client that pipelines without reading fills
/// its own socket buffers, not the server's memory.
pub(super) const MAX_PENDING_OUTPUT: usize = 64 * 1024;

/// Stops reading until the output is written (then `written` resumes).
fn pause_for_output<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let Some(c) = base.ext.http_mut().conn_mut(id) else {
        return;
    };
    c.read_paused = true;
    let bev = c.bev;
    let _ = bev.disable(base, Ev::READ);
    if bev
        .set_write_callback(base, move |base, _| written(base, id))
        .is_err()
    {
        close(base, id);
    }
}

/// Stops reading while a callback holds the request.
fn pause_reading<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let Some(c) = base.ext.http_mut().conn_mut(id) else {
        return;
    };
    c.read_paused = true;
    let bev = c.bev;
    let _ = bev.disable(base, Ev::READ);
}

/// Sends the reply to the request on `id` (`evhttp_send_reply`) and moves
/// the connection on.
pub(super) fn reply<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    code: u16,
    reason: Option<&str>,
    body: Option<&mut Evbuffer>,
) -> Result<()> {
    let (result, next) = reply::send(base, id, code, reason, body, false);
    follow_up(base, id, next);
    result
}

/// Sends `code` with an error page (`evhttp_send_error`) and moves the
/// connection on; `close`: close it after.
pub(super) fn error<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    code: u16,
    reason: Option<&str>,
    close: bool,
) -> Result<()> {
    let (result, next) = reply::send_error(base, id, code, reason, close);
    follow_up(base, id, next);
    result
}

/// Does what a reply left the connection to do.
pub(super) fn follow_up<X: HttpHost>(base: &mut EventBase<X>, id: ConnId, next: After) {
    match next {
        After::Close => close_when_written(base, id),
        After::Resume => {
            watch_written(base, id);
            resume(base, id);
        }
        After::Nothing => watch_written(base, id),
    }
}

/// If callbacks wait for `id`'s output to be written, runs them once it
/// is: now if it is, else from the bufferevent's write callback.
pub(super) fn watch_written<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let t = base.ext.http();
    if t.pending.is_empty() || !t.has_armed(id) {
        return;
    }
    let Some(bev) = t.conn(id).map(|c| c.bev) else {
        return;
    };
    if bev.output_len(base).unwrap_or(0) == 0 {
        written(base, id);
    } else if bev
        .set_write_callback(base, move |base, _| written(base, id))
        .is_err()
    {
        close(base, id);
    }
}

/// `id`'s output is written: runs the callbacks armed for it, in order,
/// then closes the connection if its last reply is out and written.
fn written<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    while let Some(mut cb) = base.ext.http_mut().take_armed(id) {
        cb(base);
    }
    // Closing once all is out (a callback may have added more: the write
    // callback comes again).
    let Some(c) = base.ext.http().conn(id) else {
        return;
    };
    if c.phase == Phase::Head && c.read_paused {
        // Paused for its output: it is written, read on.
        resume(base, id);
        return;
    }
    let phase = c.phase;
    if !matches!(phase, Phase::Closing | Phase::Refused) || c.bev.output_len(base).unwrap_or(0) != 0
    {
        return;
    }
    if phase == Phase::Refused {
        linger(base, id);
    } else {
        close(base, id);
    }
}

/// After a reply: resumes reading (if paused) and parses what is waiting.
fn resume<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let Some(c) = base.ext.http_mut().conn_mut(id) else {
        return;
    };
    if c.read_paused {
        c.read_paused = false;
        let bev = c.bev;
        let _ = bev.enable(base, Ev::READ);
    }
    process(base, id);
}

/// Closes the connection once its output is written.
fn close_when_written<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let Some(c) = base.ext.http().conn(id) else {
        return;
    };
    let bev = c.bev;
    if c.phase != Phase::Refused {
        let _ = bev.disable(base, Ev::READ);
    }
    if bev.output_len(base).unwrap_or(0) == 0 {
        written(base, id);
    } else if bev
        .set_write_callback(base, move |base, _| written(base, id))
        .is_err()
    {
        close(base, id);
    }
}

/// How long a refused connection drains its input before it closes.
pub(super) const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// Lingering close (libevent's `EVHTTP_SERVER_LINGERING_CLOSE`, always
/// on after a refusal): the answer is written, so the write side shuts
/// down (the client sees EOF after it) while what the client still sends
/// is read and dropped — closing at once with unread input would reset
/// the connection, and the client could lose the answer — until the
/// client closes, or [`LINGER_TIMEOUT`] passes.
fn linger<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let Some(c) = base.ext.http_mut().conn_mut(id) else {
        return;
    };
    c.phase = Phase::Closing; // lingers once
    let (bev, deadline, armed) = (c.bev, c.deadline, c.deadline_armed);
    let shut = match bev.fd(base) {
        Ok(Some(fd)) => socket::shutdown_write(fd).is_ok(),
        _ => false,
    };
    if !shut {
        close(base, id);
        return;
    }
    if let (true, Some(ev)) = (armed, deadline) {
        let _ = ev.del(base);
    }
    let _ = bev.enable(base, Ev::READ);
    arm_deadline(base, id, deadline, Some(LINGER_TIMEOUT));
    if !base.ext.http().conn(id).is_some_and(|c| c.deadline_armed) {
        close(base, id);
    }
}

/// The bufferevent's EOF, error or timeout.
fn on_event<X: HttpHost>(base: &mut EventBase<X>, id: ConnId, what: BevEvent) {
    if what.contains(BevEvent::EOF)
        && !what.contains(BevEvent::ERROR)
        && let Some(c) = base.ext.http_mut().conn_mut(id)
        && c.phase == Phase::Handler
        && let Some(st) = c.state.as_deref_mut()
    {
        // Half-closed after its request: the reply still goes out, then
        // the connection closes.
        st.head.keep_alive = false;
        return;
    }
    close(base, id);
}

/// Arms the header-read deadline.
fn arm_deadline<X: HttpHost>(
    base: &mut EventBase<X>,
    id: ConnId,
    deadline: Option<Event>,
    timeout: Option<std::time::Duration>,
) {
    let Some(timeout) = timeout else {
        return;
    };
    let ev = match deadline {
        Some(ev) => ev,
        None => match Event::new(base, None, Ev::empty(), move |base, _, _, _| {
            close(base, id)
        }) {
            Ok(ev) => ev,
            Err(_) => return, // the read timeout still bounds the connection
        },
    };
    if ev.add(base, Some(timeout)).is_ok()
        && let Some(c) = base.ext.http_mut().conn_mut(id)
    {
        c.deadline = Some(ev);
        c.deadline_armed = true;
    }
}

/// Frees the connection now: its bufferevent (closing the socket), its
/// timer and its request.
pub(super) fn close<X: HttpHost>(base: &mut EventBase<X>, id: ConnId) {
    let Some(mut c) = base.ext.http_mut().remove_conn(id) else {
        return;
    };
    if let Some(s) = c.state.take() {
        base.ext.http_mut().give_back_state(s);
    }
    // Callbacks waiting for output that will never be written.
    while let Some(cb) = base.ext.http_mut().take_pending_of(id) {
        drop(cb);
    }
    if let Ok(s) = server_rec_mut(base, c.server) {
        s.connections = s.connections.saturating_sub(1);
    }
    if let Some(ev) = c.deadline {
        let _ = ev.free(base);
    }
    let _ = c.bev.free(base);
    drop(c);
}

/// Closes every connection of `server`.
pub(super) fn close_all<X: HttpHost>(base: &mut EventBase<X>, server: Http) {
    loop {
        let next = base
            .ext
            .http()
            .conn_ids()
            .find(|&id| base.ext.http().conn(id).is_some_and(|c| c.server == server));
        match next {
            Some(id) => close(base, id),
            None => return,
        }
    }
}

/// The route for decoded path `path`: its index.
fn find_route<X: HttpHost>(rec: &ServerRec<X>, path: &[u8]) -> Option<usize> {
    rec.routes.iter().position(|r| r.path == path)
}

/// Decodes the routing path of `target` into `out` (reused).
fn routing_path(target: &[u8], out: &mut MemVec<u8>) -> Result<()> {
    out.clear();
    decode_into(target_path(target), false, out)
}
