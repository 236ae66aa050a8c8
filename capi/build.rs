//! Builds the variadic half of the C API (`c/variadic.c`: stable Rust
//! cannot define C variadic functions), links it whole into the cdylib,
//! exports it with a version script of its own (rustc's script hides every
//! symbol it did not define), and gives the library libevent's soname so a
//! program linked against Debian's `libevent-2.1.so.7` loads it unchanged.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=c/variadic.c");
    println!("cargo:rerun-if-changed=c/exports.map");
    cc::Build::new()
        .file("c/variadic.c")
        .warnings(true)
        .extra_warnings(true)
        .cargo_metadata(false)
        .compile("rvent_capi_variadic");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rustc-link-search=native={out}");
    println!("cargo:rustc-link-lib=static:+whole-archive=rvent_capi_variadic");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libevent-2.1.so.7");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/c/exports.map");
}
