#!/bin/sh
# Proof that C programs run on rvent's libevent C API (capi/), bounded in time
# (about a minute after the build):
#   1. capi/libdir.sh lays out the library under every libevent name;
#   2. the anchor programs pipes, timers, evbuf, echo, http_hello (capi/anchor, copies of
#      ../shared/anchor) are built twice — against Debian's libevent, then run
#      on rvent through LD_LIBRARY_PATH, and rebuilt with -L DIR -levent — and
#      each must pass its own result checks (exit 0); http_hello is driven
#      with curl (keep-alive: `/` 200 "Hello, World!", `/nope` 404) and must
#      exit 0 on SIGINT;
#   3. libevent's samples hello-world, time-test, signal-test, event-read-fifo
#      (sources from the crates.io package libevent-sys 0.4.0, which bundles
#      libevent 2.1.12 unchanged; fetched with cargo) must print on rvent what
#      they print on libevent (times and pids normalised);
#   4. Debian's tmux starts a server, runs commands in a detached session and
#      exits cleanly on rvent (capi/tmux.sh).
# Installs gcc, curl and libevent-dev with apt-get when missing and run as root.
# Usage: capi/test.sh [WORK_DIR]    (default: target/capi-test)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-$HERE/../target/capi-test}
mkdir -p "$W" && W=$(cd "$W" && pwd)
ANCHOR=${ANCHOR_DIR:-$HERE/anchor}
FAIL=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAIL=1; }

if ! command -v gcc >/dev/null || ! command -v curl >/dev/null || [ ! -f /usr/include/event2/event.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q gcc libevent-dev curl >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q gcc libevent-dev curl >/dev/null; }
  else
    echo "capi/test.sh: needs gcc, curl and libevent-dev" >&2; exit 2
  fi
fi

LIB=$W/lib
"$HERE/libdir.sh" "$LIB" >/dev/null
echo "== library: $(readlink -f "$LIB/libevent.so"), $(nm -D --defined-only "$LIB/libevent.so" | grep -c ' [TBDR] ') symbols"

# 2. Anchor programs.
mkdir -p "$W/deb" "$W/rv"
CF="-O2 -g -Wall -Wextra -I$ANCHOR"
gcc $CF -o "$W/echo_load" "$ANCHOR/echo_load.c"
for p in pipes timers evbuf echo http_hello; do
  gcc $CF -o "$W/deb/$p" "$ANCHOR/$p.c" -levent
  gcc $CF -o "$W/rv/$p" "$ANCHOR/$p.c" -L"$LIB" -levent
done
run_anchor() { # kind bin-dir
  export LD_LIBRARY_PATH=$LIB
  for args in "pipes -n 100 -a 1 -w 1000 -r 5" "pipes -n 200 -a 20 -w 2000 -r 3 -t" \
              "timers -m 100000 -r 2" "evbuf -n 65536 -l 20000 -b 4 -r 1"; do
    set -- $args; p=$1; shift
    if timeout 60 "$BIN/$p" "$@" >"$W/out.txt" 2>&1; then ok "$KIND $p $*"
    else bad "$KIND $p $* (exit $?)"; tail -3 "$W/out.txt"; fi
  done
  port=$((20000 + $$ % 20000))
  "$BIN/echo" -p $port 2>"$W/echo.err" & srv=$!
  sleep 0.3
  if timeout 20 "$W/echo_load" -p $port -c 20 -s 64 -d 1 >"$W/out.txt" &&
     timeout 20 "$W/echo_load" -p $port -c 4 -s 4096 -d 0.5 >>"$W/out.txt"; then
    kill -INT $srv; if wait $srv; then ok "$KIND echo ($(grep -o 'msgs_per_sec=[0-9]*' "$W/out.txt" | tr '\n' ' '))"
    else bad "$KIND echo: server exit status"; fi
  else bad "$KIND echo: load"; kill -INT $srv 2>/dev/null; wait $srv || true; fi
  port=$((port + 1))
  "$BIN/http_hello" -p $port 2>"$W/http.err" & srv=$!
  sleep 0.3
  u=http://127.0.0.1:$port
  got=$(timeout 10 curl -s -w ' %{http_code} %{num_connects}\n' "$u/" "$u/nope?x=1" "$u/?y=2" 2>&1 | tr '\n' '|')
  want="Hello, World!| 200 1|Not Found| 404 0|Hello, World!| 200 0|"
  kill -INT $srv; rc=0; wait $srv || rc=$?
  if [ "$got" = "$want" ] && [ $rc = 0 ]; then ok "$KIND http_hello (curl: / 200, /nope 404, one connection)"
  else bad "$KIND http_hello: got '$got' exit $rc"; tail -3 "$W/http.err"; fi
  unset LD_LIBRARY_PATH
}
echo "== anchor programs"
KIND=debian-built BIN=$W/deb run_anchor
KIND=rebuilt BIN=$W/rv run_anchor

# 2b. Checks of C semantics rvent's Rust API had to learn (capi/checks/).
echo "== C semantics checks"
for c in "$HERE"/checks/*.c; do
  p=$(basename "$c" .c)
  gcc $CF -o "$W/deb/$p" "$c" -levent
  gcc $CF -o "$W/rv/$p" "$c" -L"$LIB" -levent
  for kind in deb rv; do
    if LD_LIBRARY_PATH=$LIB timeout 20 "$W/$kind/$p" >"$W/out.txt" 2>&1; then ok "$kind $p: $(tail -1 "$W/out.txt")"
    else bad "$kind $p (exit $?)"; tail -3 "$W/out.txt"; fi
  done
done

# 3. libevent's samples.
SRC=$W/libevent-src
if [ ! -f "$SRC/sample/time-test.c" ]; then
  M=$W/fetch; mkdir -p "$M/src"
  printf '[package]\nname = "fetch-libevent-src"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nlibevent-sys = { version = "=0.4.0", default-features = false }\n[workspace]\n' > "$M/Cargo.toml"
  : > "$M/src/lib.rs"
  S=$(cd "$M" && cargo fetch -q 2>/dev/null && cargo metadata --format-version 1 2>/dev/null | python3 -c 'import json,sys,os
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "libevent-sys": print(os.path.dirname(p["manifest_path"]))') || S=
  if [ -n "$S" ] && [ -f "$S/libevent/sample/time-test.c" ]; then
    rm -rf "$SRC"; cp -r "$S/libevent" "$SRC"; chmod -R u+w "$SRC"
  fi
fi
if [ -f "$SRC/sample/time-test.c" ]; then
  echo "== libevent samples"
  for s in hello-world time-test signal-test event-read-fifo; do
    gcc -O1 -w -o "$W/deb/$s" "$SRC/sample/$s.c" -levent
  done
  watchdog() { (sleep 10; kill -9 "$1" 2>/dev/null) >/dev/null 2>&1 & wd=$!; }
  norm() { sed -E 's/[0-9]+(\.[0-9]+)?/N/g; s/0xN[0-9a-f]*/P/g' "$1"; }
  sample() { # name lib-dir-or-empty
    d=$W/run-$1-${2:+rvent}; rm -rf "$d"; mkdir -p "$d"; cd "$d"
    L=${2:+LD_LIBRARY_PATH=$2}
    case $1 in
      time-test) env $L timeout 4.6 "$W/deb/time-test" >out 2>&1 || true ;;
      signal-test) # signals go to the program itself (timeout(1) would forward a second copy)
        env $L "$W/deb/signal-test" >out 2>&1 & pid=$!; watchdog $pid
        sleep 0.5; for i in 1 2 3; do kill -INT $pid; sleep 0.3; done
        wait $pid || echo "exit $?" >>out; kill $wd 2>/dev/null || true ;;
      event-read-fifo)
        env $L timeout 10 "$W/deb/event-read-fifo" >out 2>err & pid=$!
        sleep 0.5; printf 'hello from the test' > event.fifo; wait $pid || echo "exit $?" >>out ;;
      hello-world)
        env $L "$W/deb/hello-world" >out 2>&1 & pid=$!; watchdog $pid
        sleep 0.5
        python3 -c 'import socket; s=socket.create_connection(("127.0.0.1",9995)); print(s.recv(100).decode(), end="")' >client 2>&1 || echo "connect failed" >client
        kill -INT $pid; wait $pid || echo "exit $?" >>out; kill $wd 2>/dev/null || true
        cat client >>out ;;
    esac
    cd "$W"
  }
  for s in hello-world time-test signal-test event-read-fifo; do
    sample $s ""; sample $s "$LIB"
    if [ -s "$W/run-$s-/out" ] && [ "$(norm "$W/run-$s-/out")" = "$(norm "$W/run-$s-rvent/out")" ]; then
      ok "sample $s: same output as libevent ($(wc -l < "$W/run-$s-rvent/out") lines)"
    else
      bad "sample $s: output differs"; diff "$W/run-$s-/out" "$W/run-$s-rvent/out" | head -8
    fi
  done
else
  echo "skip libevent samples: libevent-sys sources not reachable through cargo"
fi
# 4. A real program: Debian's tmux (capi/tmux.sh, bounded at 60 s).
echo "== tmux"
rc=0; "$HERE/tmux.sh" "$W/tmux" || rc=$?
case $rc in 0) ;; 77) echo "skip tmux: not installed" ;; *) FAIL=1 ;; esac
[ $FAIL = 0 ] && echo "capi/test.sh: all passed" || echo "capi/test.sh: FAILURES"
exit $FAIL
