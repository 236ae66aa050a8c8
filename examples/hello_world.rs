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

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rvent::{
    BevEvent, BevOptions, Bufferevent, ConnListener, Ev, Event, EventBase, ListenerOptions,
};

const MESSAGE: &[u8] = b"Hello, World!\n";
const USAGE: &str = "usage: hello_world [-p port]";

fn main() {
    let mut port = 9995;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().map(|v| v.parse::<u16>())) {
            ("-p", Some(Ok(p))) => port = p,
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = run(port) {
        eprintln!("hello_world: {e}");
        std::process::exit(1);
    }
}

fn run(port: u16) -> rvent::Result<()> {
    let mut base = EventBase::new()?;
    let listener = ConnListener::bind(
        &mut base,
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ListenerOptions::REUSEABLE | ListenerOptions::CLOSE_ON_FREE,
        None,
        |base, _lev, stream, _peer| {
            if let Err(e) = greet(base, stream) {
                eprintln!("Error constructing bufferevent: {e}");
                base.loopbreak();
            }
        },
    )?;
    println!("listening on 127.0.0.1:{}", listener.local_addr()?.port());
    let sigint = Event::signal(&mut base, libc::SIGINT, |base, _, _, _| {
        println!("Caught an interrupt signal; exiting cleanly in two seconds.");
        let _ = base.loopexit(Some(Duration::from_secs(2)));
    })?;
    sigint.add(&mut base, None)?;
    let sigterm = Event::signal(&mut base, libc::SIGTERM, |base, _, _, _| {
        println!("Caught a termination signal; exiting now.");
        base.loopbreak();
    })?;
    sigterm.add(&mut base, None)?;
    base.dispatch()?;
    listener.free(&mut base)?;
    sigint.free(&mut base)?;
    sigterm.free(&mut base)?;
    println!("done");
    Ok(())
}

/// Queues the greeting; the write callback closes once it is out.
fn greet(base: &mut EventBase, stream: std::net::TcpStream) -> rvent::Result<()> {
    let bev = Bufferevent::from_stream(base, stream, BevOptions::CLOSE_ON_FREE)?;
    bev.set_write_callback(base, |base, bev| {
        if bev.output_len(base).is_ok_and(|n| n == 0) {
            println!("flushed answer");
            let _ = bev.free(base);
        }
    })?;
    bev.set_event_callback(base, |base, bev, what: BevEvent| {
        if what.contains(BevEvent::EOF) {
            println!("Connection closed.");
        } else if what.contains(BevEvent::ERROR) {
            println!(
                "Got an error on the connection: {:?}",
                bev.socket_error(base)
            );
        }
        let _ = bev.free(base);
    })?;
    bev.enable(base, Ev::WRITE)?;
    bev.disable(base, Ev::READ)?;
    bev.write(base, MESSAGE)
}
