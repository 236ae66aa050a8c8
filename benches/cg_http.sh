#!/usr/bin/env bash
#
# cg_http.sh [DIR] [REQUESTS] [CONNS]: user-space instructions (callgrind
# Ir) per keep-alive `GET /` of DIR's http_hello bench (default: this
# repository; 20000 requests over 8 connections).
#
# The server runs under callgrind counting only its event loop
# (--toggle-collect on EventBase::run and all it calls: startup and
# shutdown stay out); a small client (python3, below) keeps CONNS
# keep-alive connections busy, one request in flight on each, until
# REQUESTS answers came back, checks every answer is the 200 with
# `Hello, World!\n`, and closes; SIGINT ends the server. Ir per request =
# the loop's total / REQUESTS (accepting and closing the CONNS
# connections is in the total: a fixed ~0.1 %). The requests are wrk's
# (`GET / HTTP/1.1` and `Host: 127.0.0.1:PORT`). CG_OUT=FILE keeps the
# callgrind output for callgrind_annotate. EXE=PROGRAM PATTERN=FUNCTION
# measure another http_hello the same way (compare.sh's cg_http runs
# libevent's with PATTERN=event_base_loop); the last line printed is
#   callgrind bench=http_hello conns=C ir=<loop Ir> ops=N ir_per_op=<Ir/request> Under callgrind the
# server is the slow side, so every connection has its next request
# waiting at each wakeup: the count is steady from run to run (±0.5 %).
set -euo pipefail
DIR=${1:-$(cd "$(dirname "$0")/.." && pwd)}
N=${2:-20000}
C=${3:-8}
cd "$DIR"
if [[ -n ${EXE:-} ]]; then
	exe=$EXE
else
	exe=$(cargo bench --no-run --bench http_hello --message-format=json 2>/dev/null | python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "http_hello":
        print(m["executable"])' | tail -n 1)
fi
[[ -x $exe ]] || { echo "cg_http.sh: no http_hello executable" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=${CG_OUT:-$(mktemp)}
[[ -n ${CG_OUT:-} ]] || trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" \
    --toggle-collect="${PATTERN:-*EventBase<X>>::run}" "$exe" -p "$port" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 400); do # valgrind starts slowly: up to 20 s
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done
python3 - "$port" "$N" "$C" <<'PY'
import selectors, socket, sys
port, n, c = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port  # what wrk sends
sel = selectors.DefaultSelector()
sent = done = 0
for _ in range(c):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sel.register(s, selectors.EVENT_READ, bytearray())
    s.sendall(REQ); sent += 1
while done < n:
    for key, _ in sel.select(30) or sys.exit("cg_http: no answer for 30 s"):
        s, buf = key.fileobj, key.data
        data = s.recv(65536)
        if not data:
            sys.exit("cg_http: server closed a connection")
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length: ")
            length = int(head[i + 16:].split(b"\r\n", 1)[0])
            if len(buf) < end + 4 + length:
                break
            if not head.startswith(b"http/1.1 200 ") or buf[end + 4:end + 4 + length] != b"Hello, World!\n":
                sys.exit("cg_http: unexpected answer %r" % bytes(buf[:end + 4 + length]))
            del buf[:end + 4 + length]
            done += 1
            if sent < n:
                s.sendall(REQ); sent += 1
for key in list(sel.get_map().values()):
    key.fileobj.close()
PY
kill -INT "$pid"
wait "$pid" || true
ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
[[ -n $ir && $ir -gt 0 ]] || { echo "cg_http.sh: no callgrind count (did the toggle pattern match?)" >&2; exit 1; }
python3 -c "print(f'Ir/request {$ir / $N:.1f}  ($ir / $N, $C connections)')"
echo "callgrind bench=http_hello conns=$C ir=$ir ops=$N ir_per_op=$(python3 -c "print(f'{$ir / $N:.1f}')")"
