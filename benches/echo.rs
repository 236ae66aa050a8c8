//! The rvent side of the anchor's `echo` benchmark
//! (`../shared/anchor/echo.c`): the `echo_server` example itself, built
//! as a bench target so `benches/compare.sh` runs it under the anchor's
//! name with the same flags (`-p PORT`) against the shared `echo_load`
//! client.

#[path = "../examples/echo_server.rs"]
mod echo_server;

fn main() {
    echo_server::main();
}
