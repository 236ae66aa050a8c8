//! The rvent side of the anchor's `http_hello` benchmark
//! (`../shared/anchor/http_hello.c`): the `http_hello` example itself,
//! built as a bench target so `benches/compare.sh` runs it under the
//! anchor's name with the same flags (`-p PORT`) against `wrk`.

#[path = "../examples/http_hello.rs"]
mod http_hello;

fn main() {
    http_hello::main();
}
