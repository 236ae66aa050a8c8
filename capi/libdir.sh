#!/bin/sh
# Builds rvent's libevent-compatible C library (release) and lays out
# OUT_DIR with it under every name of Debian's libevent 2.1, so that both
#   gcc prog.c -L OUT_DIR -levent            (or -levent_core, ...)
#   LD_LIBRARY_PATH=OUT_DIR ./prog           (a binary linked against libevent-2.1.so.7)
# pick rvent. One file serves every soname; the loader maps it once.
# Usage: capi/libdir.sh OUT_DIR
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
cargo build --release --quiet --manifest-path "$HERE/Cargo.toml" -p rvent-capi
TARGET=$(cargo metadata --format-version 1 --no-deps --manifest-path "$HERE/Cargo.toml" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
LIB=librvent-event-2.1.so.7.0.1
cp "$TARGET/release/librvent_capi.so" "$OUT/$LIB.tmp" && mv "$OUT/$LIB.tmp" "$OUT/$LIB"
for name in event event_core event_extra event_pthreads; do
  ln -sf "$LIB" "$OUT/lib$name-2.1.so.7"
  ln -sf "$LIB" "$OUT/lib$name.so"
done
echo "$OUT"
