#!/usr/bin/env bash
# http_wall.sh [ROUNDS]: http_hello on libevent, rvent and hyper under
# `wrk -t1 -c50 --latency`, alternating, in two placements: server on CPU 1
# and wrk on CPU 0 (5 s), then server and wrk sharing CPU 1 (4 s). Prints
# requests/s, p50, p99 and the server's CPU time (user + sys, from
# /proc/PID/stat) per request. Run benches/compare.sh once first: it builds
# libevent's http_hello in <target>/anchor-run and the Rust peers in
# <target>/peers-target (override with LIBEVENT_HELLO / HYPER_HELLO).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
TARGET=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
RV=$(cargo bench --no-run --bench http_hello --message-format=json 2>/dev/null | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="http_hello": print(m["executable"])' | tail -1)
LE=${LIBEVENT_HELLO:-$TARGET/anchor-run/http_hello}
HY=${HYPER_HELLO:-$TARGET/peers-target/release/hyper_hello}
for exe in "$LE" "$HY"; do
	[[ -x $exe ]] || { echo "http_wall.sh: $exe missing (run benches/compare.sh first)" >&2; exit 2; }
done
TCK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
one() { # name exe server_cpu wrk_cpu seconds round
	local port=$((30000 + RANDOM % 20000))
	taskset -c "$3" "$2" -p $port >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
	local c0 c1 out
	c0=$(cpu $pid)
	out=$(taskset -c "$4" wrk -t1 -c50 -d"$5"s --latency "http://127.0.0.1:$port/" 2>&1)
	c1=$(cpu $pid)
	kill -INT $pid; wait $pid 2>/dev/null || true
	local reqs rps p50 p99
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	echo "round=$6 cpus=$3/$4 $1 req_per_sec=$rps p50=$p50 p99=$p99 cpu_us_per_req=$(python3 -c "print(round(($c1-$c0)/$TCK*1e6/max(${reqs:-0},1),2))")"
}
for round in $(seq "$ROUNDS"); do
	for pair in "libevent:$LE" "rvent:$RV" "hyper:$HY"; do one "${pair%%:*}" "${pair#*:}" 1 0 5 "$round"; done
done
for round in $(seq "$ROUNDS"); do
	for pair in "rvent:$RV" "hyper:$HY"; do one "${pair%%:*}" "${pair#*:}" 1 1 4 "$round"; done
done
