//! The tutorial's signal-based "hello world" server (10.1, libevent's
//! `sample/hello-world.c`): every client that connects receives
//! `Hello, World!\n`, and the server closes the connection once that is
//! written. SIGINT prints a message and exits cleanly within two seconds
//! (`loopexit` with a 2 s delay, as the sample does); SIGTERM exits at
//! once.
//!
//! ```sh
//! cargo run --example hello_world            # port 9995
//! cargo run --example hello_world -- -p 0    # a free port
//! ```
//!
//! Then, from another shell: `nc 127.0.0.1 9995` (prints the greeting
//! and ends). The first stdout line is `listening on 127.0.0.1:<port>`.

#[path = "support/mod.rs"]
mod support;

use std::error::Error;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rvent::{
    BevEvent, BevOptions, Bufferevent, ConnListener, Ev, Event, EventBase, ListenerOptions,
};

use support::{Context, outln};

const MESSAGE: &[u8] = b"Hello, World!\n";
const NAME: &str = "hello_world";
const USAGE: &str = "\
usage: hello_world [-p PORT]

Greets every client on 127.0.0.1 with \"Hello, World!\" and closes.

  -p PORT     port to listen on (default 9995, the tutorial's; 0 picks a
              free one)
  -h, --help  print this help";

fn main() {
    let port = support::port_arg(NAME, USAGE, 9995);
    support::run(NAME, || run(port));
}

// The log lines go to stdout as in the sample; a server keeps serving when
// nobody reads them, so write errors are ignored (`let _ = outln!`).
fn run(port: u16) -> Result<(), Box<dyn Error>> {
    let mut base = EventBase::new()?;
    // Signals before the port opens: a client that connects may already
    // send SIGINT.
    let sigint = Event::signal(&mut base, libc::SIGINT, |base, _, _, _| {
        let _ = outln!("Caught an interrupt signal; exiting cleanly in two seconds.");
        let _ = base.loopexit(Some(Duration::from_secs(2)));
    })?;
    sigint.add(&mut base, None)?;
    let sigterm = Event::signal(&mut base, libc::SIGTERM, |base, _, _, _| {
        let _ = outln!("Caught a termination signal; exiting now.");
        base.loopbreak();
    })?;
    sigterm.add(&mut base, None)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = ConnListener::bind(
        &mut base,
        addr,
        ListenerOptions::REUSEABLE | ListenerOptions::CLOSE_ON_FREE,
        None,
        |base, _lev, conn, _peer| {
            if let Err(e) = greet(base, std::net::TcpStream::from(conn)) {
                eprintln!("Error constructing bufferevent: {e}");
                base.loopbreak();
            }
        },
    )
    .context(format_args!("cannot bind {addr}"))?;
    let _ = outln!(
        "listening on 127.0.0.1:{}",
        listener.local_addr(&base)?.port()
    );
    base.dispatch()?;
    listener.free(&mut base)?;
    sigint.free(&mut base)?;
    sigterm.free(&mut base)?;
    let _ = outln!("done");
    Ok(())
}

/// Queues the greeting; the write callback closes once it is out.
fn greet(base: &mut EventBase, stream: std::net::TcpStream) -> rvent::Result<()> {
    let bev = Bufferevent::from_stream(base, stream, BevOptions::CLOSE_ON_FREE)?;
    bev.set_write_callback(base, |base, bev| {
        if bev.output_len(base).is_ok_and(|n| n == 0) {
            let _ = outln!("flushed answer");
            let _ = bev.free(base);
        }
    })?;
    bev.set_event_callback(base, |base, bev, what: BevEvent| {
        if what.contains(BevEvent::EOF) {
            let _ = outln!("Connection closed.");
        } else if what.contains(BevEvent::ERROR) {
            let _ = match bev.socket_error(base) {
                Ok(Some(e)) => outln!("Got an error on the connection: {e}"),
                Ok(None) => outln!("Got an error on the connection"),
                Err(e) => outln!("Got an error on the connection (cannot read it: {e})"),
            };
        }
        let _ = bev.free(base);
    })?;
    bev.enable(base, Ev::WRITE)?;
    bev.disable(base, Ev::READ)?;
    bev.write(base, MESSAGE)
}
