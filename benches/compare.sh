#!/usr/bin/env bash
#
# compare.sh - run rvent's anchor benchmarks side by side with the real
# libevent 2.1.12 and the raw-epoll floor (../shared/anchor).
#
#   bash benches/compare.sh                      # every bench rvent has
#   ONLY='pipes|cg_pipes' bash benches/compare.sh
#
# Builds the bench binaries (cargo bench --no-run: release + debug symbols),
# links them under the anchor names into one folder, copies the anchor suite
# to a writable folder and runs its run_baseline.sh with BIN_DIR_B=<folder>
# LABEL_B=rvent. run_baseline.sh prints the libevent-vs-rvent table and each
# implementation against the raw floor; results and logs stay in the copy
# (printed at the end).
#
# Knobs (environment, all optional):
#   ONLY        regex of run_baseline.sh step names; default: the steps of
#               the benches listed in BENCHES below
#   PIN, CALLGRIND, STRACE, DURATION, RAW, ECHO_PORT, HTTP_PORT
#               passed through to run_baseline.sh (see its header)
#   CARGO_TARGET_DIR  respected (e.g. /tmp/rvent-bench-target to stay off
#               the shared target/ lock)
#   ANCHOR      the anchor suite        (default: <repo>/../shared/anchor)
#   WORK_DIR    where the suite is copied and run
#               (default: <target dir>/anchor-run; replaced on every run)
#   NO_INSTALL=1  never apt-get missing tools
#   CG_ECHO_D   seconds of load per cg_echo run (default 3)
#
# The http step is run_baseline.sh's http_c50: wrk -t1 -c50 against the
# anchor's http_hello on libevent and rvent's (examples/http_hello.rs as
# bench target http_hello); skipped with a note when wrk or curl is
# missing.
#
# Step added here (the anchor has no callgrind step for echo):
#   cg_echo     each echo server (libevent's, built in the copy, and rvent's)
#               runs under callgrind, counting only its event loop
#               (--toggle-collect on event_base_loop / EventBase::run), while
#               echo_load drives it on a free port (-c 50, -s 64 and 4096,
#               -d CG_ECHO_D); SIGINT stops it. Prints, and appends to the
#               same partial-*.txt files:
#                 callgrind bench=echo conns=C size=S ir=<loop Ir>
#                     ops=<messages> ir_per_op=<Ir per message>
#               with messages = msgs_per_sec x CG_ECHO_D from echo_load,
#               then the libevent/rvent ratio.
#   cg_http     Ir per keep-alive `GET /` of each http_hello (libevent's
#               and rvent's) under callgrind, loop only, with
#               benches/cg_http.sh (20000 requests over 8 connections,
#               from a python3 client that checks every answer); appends
#               "callgrind bench=http_hello conns=8 ... ir_per_op=..."
#               to the partial-*.txt files, then the ratio.
#
# Steps added here for the Rust side (run after run_baseline.sh, with its
# echo_load and the same DURATION / PIN; summary lines in the anchor
# format, so benches/chart.py can read them):
#   echo_epoll_c50_s64, echo_epoll_c50_s4096
#               examples/epoll_server.rs (chapter 2: raw epoll in Rust,
#               level-triggered) under echo_load, beside the C floor
#               echo_raw; lines in partial-epoll_server.txt.
#   pipes_mio_n100, pipes_mio_n1000, pipes_mio_n1000_t, cg_pipes_mio,
#   echo_tokio_c50_s64, echo_tokio_c50_s4096, http_hyper_c50
#               the anchor's Rust peers (peers/: mio_pipes, tokio_echo,
#               hyper_hello), built with cargo in the copy (PEERS=0 skips
#               them); lines in partial-peers.txt.
#
# benches/chart.py WORK_DIR turns the partial-*.txt files of one run into
# an SVG bar chart (benches/results.svg).

set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ANCHOR=${ANCHOR:-$REPO/../shared/anchor}
[[ -f $ANCHOR/run_baseline.sh ]] || { echo "compare.sh: no anchor suite at $ANCHOR" >&2; exit 1; }
ANCHOR=$(cd "$ANCHOR" && pwd)

# The benches rvent has: "<anchor program name>|<bench target>|<regex of
# its run_baseline.sh steps>". Adding a bench is one line here.
BENCHES=(
	"pipes|pipes|^(pipes_|cg_pipes|strace_pipes)"
	"timers|timers|^(timers$|cg_timers_)"
	"evbuf|evbuf|^(evbuf$|cg_evbuf_)"
	"echo|echo|^(echo_|cg_echo)"
	"http_hello|http_hello|^(http_|cg_http)"
)

die() { echo "compare.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------- tools -------
# run_baseline.sh needs a C compiler, make, pkg-config + libevent-dev, and
# valgrind / strace for its callgrind and strace sections (wrk and curl for
# http). Install what is missing when we may.
need_pkgs=()
command -v make >/dev/null || need_pkgs+=(make)
command -v cc >/dev/null || need_pkgs+=(gcc)
command -v pkg-config >/dev/null || need_pkgs+=(pkg-config)
command -v python3 >/dev/null || need_pkgs+=(python3)
[[ -f /usr/include/event2/event.h ]] || need_pkgs+=(libevent-dev)
[[ ${CALLGRIND:-1} == 0 ]] || command -v valgrind >/dev/null || need_pkgs+=(valgrind)
[[ ${STRACE:-1} == 0 ]] || command -v strace >/dev/null || need_pkgs+=(strace)
for spec in "${BENCHES[@]}"; do
	if [[ ${spec%%|*} == http_hello ]]; then
		command -v wrk >/dev/null || need_pkgs+=(wrk)
		command -v curl >/dev/null || need_pkgs+=(curl)
	fi
done
if ((${#need_pkgs[@]})); then
	if [[ ${NO_INSTALL:-0} != 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "== installing ${need_pkgs[*]} (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q "${need_pkgs[@]}" >/dev/null ||
		    { apt-get update -q >/dev/null && apt-get install -y -q "${need_pkgs[@]}" >/dev/null; } ||
		    die "apt-get install ${need_pkgs[*]} failed"
	else
		echo "compare.sh: missing ${need_pkgs[*]}; install them (e.g. apt-get install -y ${need_pkgs[*]})" >&2
		[[ " ${need_pkgs[*]} " =~ " "(make|gcc|pkg-config|python3|libevent-dev)" " ]] && exit 1
	fi
fi

# The http step needs wrk (and curl for its answer check): without them
# it says so and is skipped.
if ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
	echo "== http step skipped: wrk or curl missing"
	kept=()
	for spec in "${BENCHES[@]}"; do
		[[ ${spec%%|*} == http_hello ]] || kept+=("$spec")
	done
	BENCHES=("${kept[@]}")
fi

# ---------------------------------------------------------- build -------
cd "$REPO"
TARGET=${CARGO_TARGET_DIR:-$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}
BIN_DIR=$TARGET/anchor-bins
WORK_DIR=${WORK_DIR:-$TARGET/anchor-run}

bench_args=()
for spec in "${BENCHES[@]}"; do
	IFS='|' read -r _ target _ <<<"$spec"
	bench_args+=(--bench "$target")
done
echo "== building rvent benches (cargo bench --no-run) at $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo "?")"
# JSON on stdout (one line per artifact), compiler diagnostics on stderr.
artifacts=$(cargo bench --no-run --message-format=json-render-diagnostics "${bench_args[@]}") ||
    die "cargo bench --no-run failed"

# Link each bench executable under its anchor name.
rm -rf "$BIN_DIR"
mkdir -p "$BIN_DIR"
BIN_DIR=$(cd "$BIN_DIR" && pwd)	# used after the cd to the work folder
for spec in "${BENCHES[@]}"; do
	IFS='|' read -r prog target _ <<<"$spec"
	exe=$(python3 -c '
import json, sys
want = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    t = m.get("target") or {}
    if (m.get("reason") == "compiler-artifact" and t.get("name") == want
            and "bench" in t.get("kind", []) and m.get("executable")):
        print(m["executable"])
' "$target" <<<"$artifacts" | tail -n 1)
	[[ -n $exe && -x $exe ]] || die "no executable for bench $target"
	ln -s "$exe" "$BIN_DIR/$prog"
	echo "   $prog -> $exe"
done

# ------------------------------------------------------------ run -------
# Always run from a private copy: ../shared is read-only by convention
# (and as root a -w test would not notice).
rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR"
cp -R "$ANCHOR"/. "$WORK_DIR"/
chmod -R u+w "$WORK_DIR"

if [[ -z ${ONLY:-} ]]; then
	# run_baseline.sh runs every program unless told otherwise; limit it to
	# the benches rvent has.
	only=
	for spec in "${BENCHES[@]}"; do
		IFS='|' read -r _ _ re <<<"$spec"
		only+=${only:+|}"($re)"
	done
	export ONLY=$only
fi
echo "== ONLY='$ONLY'"
export PIN=${PIN:-0} CALLGRIND=${CALLGRIND:-1} STRACE=${STRACE:-1} DURATION=${DURATION:-5}
export ANCHOR_COPIED=1
cd "$WORK_DIR"
BIN_DIR_B=$BIN_DIR LABEL_B=rvent ./run_baseline.sh

# ---------------------------------------------------------- cg_echo -----
# Not in run_baseline.sh, so it runs here, after it, with the binaries it
# built (echo, echo_load) and into its results files (ONLY is always set
# here, so those are partial-<label>.txt).
#
# Only the event loop is counted (--toggle-collect on the loop function and
# everything it calls): startup and shutdown stay out. EventBase::run is a
# real (not inlined) function; the pattern is exact because toggle-collect
# switches collection off inside any nested match (run_deferred, ...). The
# loop's count still holds accepting the 50 connections and freeing them at
# the end (fixed, about 0.1 % of a run).
#
# Messages = msgs_per_sec x duration from echo_load: it counts the messages
# that came back before its deadline (the printed rate is that count over
# the elapsed time, within a millisecond of the duration), while the server
# also echoes the at most C still in flight: both errors are under 0.1 %.
#
# Messages per epoll_wait wakeup (from callgrind's call counts) go to the
# log and stdout: the loop's fixed cost per wakeup is shared by the
# messages of that wakeup, so Ir/message moves with it.
cg_echo_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cg_echo_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sum of the calls to function $2 in callgrind output file $1 (names are
# compressed: "cfn=(id) name" the first time, "cfn=(id)" afterwards).
cg_echo_calls() {
	awk -v name="$2" '
	/^c?fn=\(/ {
		match($0, /\([0-9]+\)/); id = substr($0, RSTART, RLENGTH)
		rest = substr($0, RSTART + RLENGTH); sub(/^ /, "", rest)
		if (rest != "") names[id] = rest
	}
	/^fn=/ { cur = "" }
	/^cfn=/ { match($0, /\([0-9]+\)/); cur = substr($0, RSTART, RLENGTH) }
	/^calls=/ { split(substr($0, 7), a, " "); if (names[cur] == name) s += a[1] }
	END { print s + 0 }' "$1"
}

# cg_echo_run LABEL SERVER PATTERN CONNS SIZE OUT: one callgrind run; prints
# the summary line (and appends it to OUT) and sets CG_IR_PER_OP.
cg_echo_run() {
	local label=$1 server=$2 pattern=$3 conns=$4 size=$5 out=$6
	local dur=${CG_ECHO_D:-3} log=logs/${label}/cg_echo_c${conns}_s${size} port pid rc=0
	local cgout=$log.callgrind.out ir rate ops waits line
	port=$(cg_echo_free_port)
	valgrind --tool=callgrind --callgrind-out-file="$cgout" \
	    --toggle-collect="$pattern" "$server" -p "$port" >"$log.server.log" 2>&1 &
	pid=$!
	for _ in $(seq 400); do	# valgrind starts slowly: up to 20 s
		cg_echo_port_open "$port" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cg_echo_port_open "$port" || { kill -KILL "$pid" 2>/dev/null; die "[$label] echo did not listen on $port"; }
	if ! timeout $((dur + 60)) ./echo_load -p "$port" -c "$conns" \
	    -s "$size" -d "$dur" >"$log.log" 2>&1; then
		cat "$log.log" >&2
		kill -KILL "$pid" 2>/dev/null
		die "[$label] echo_load failed"
	fi
	kill -INT "$pid"
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; die "[$label] echo ignored SIGINT for 30 s"; }
	wait "$pid" || rc=$?
	[[ $rc == 0 ]] || { tail -n 5 "$log.server.log" >&2; die "[$label] echo exited with $rc after SIGINT"; }
	ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$cgout")
	rate=$(grep -Eo 'msgs_per_sec=[0-9.]+' "$log.log" | cut -d= -f2)
	[[ -n $ir && $ir -gt 0 && -n $rate ]] || die "[$label] no callgrind count or rate (logs $log.*)"
	ops=$(awk -v r="$rate" -v d="$dur" 'BEGIN { printf "%.0f", r * d }')
	waits=$(cg_echo_calls "$cgout" epoll_wait)
	line=$(awk -v c="$conns" -v s="$size" -v ir="$ir" -v ops="$ops" 'BEGIN {
		printf "callgrind bench=echo conns=%d size=%d ir=%d ops=%d ir_per_op=%.1f",
		    c, s, ir, ops, ir / ops }')
	echo "$line" | tee -a "$out" >>"$log.log"
	echo "   $line"
	awk -v w="$waits" -v ops="$ops" 'BEGIN { printf "   # epoll_wait calls=%d msgs_per_wakeup=%.1f\n",
	    w, (w > 0 ? ops / w : 0) }' | tee -a "$log.log"
	CG_IR_PER_OP=${line##*ir_per_op=}
}

if [[ cg_echo =~ $ONLY && $CALLGRIND == 1 ]]; then
	if ! command -v valgrind >/dev/null; then
		echo "== cg_echo skipped (no valgrind)"
	else
		for size in 64 4096; do
			echo "== [libevent] cg_echo conns=50 size=$size"
			cg_echo_run libevent ./echo event_base_loop 50 "$size" \
			    partial-libevent.txt
			a=$CG_IR_PER_OP
			echo "== [rvent] cg_echo conns=50 size=$size"
			cg_echo_run rvent "$BIN_DIR/echo" '*EventBase*>::run' 50 "$size" \
			    partial-rvent.txt
			awk -v s="$size" -v a="$a" -v b="$CG_IR_PER_OP" 'BEGIN {
				printf "cg_echo conns=50 size=%d ir_per_op libevent=%s rvent=%s libevent/rvent=%.2f\n",
				    s, a, b, a / b }'
		done
	fi
fi
if [[ cg_http =~ $ONLY && $CALLGRIND == 1 && -x ./http_hello ]]; then
	if ! command -v valgrind >/dev/null; then
		echo "== cg_http skipped (no valgrind)"
	else
		echo "== [libevent] cg_http conns=8"
		a=$(EXE=$PWD/http_hello PATTERN=event_base_loop bash "$REPO/benches/cg_http.sh" "$REPO" | tail -n 1)
		echo "   $a" && echo "$a" >>partial-libevent.txt
		echo "== [rvent] cg_http conns=8"
		b=$(EXE=$BIN_DIR/http_hello bash "$REPO/benches/cg_http.sh" "$REPO" | tail -n 1)
		echo "   $b" && echo "$b" >>partial-rvent.txt
		awk -v a="${a##*ir_per_op=}" -v b="${b##*ir_per_op=}" 'BEGIN {
			printf "cg_http conns=8 ir_per_op libevent=%s rvent=%s libevent/rvent=%.2f\n", a, b, a / b }'
	fi
fi

# ------------------------------------------------ Rust floor and peers -----
# Not in run_baseline.sh: the Rust raw-epoll echo server (the tutorial's
# chapter 2 program) and the anchor's Rust peers, on the same workloads
# with the same load generators, right after the steps above (not
# interleaved with them: compare ratios across steps with the noise in
# mind).
server_cpu=() load_cpu=()
if [[ $PIN == 1 ]]; then
	server_cpu=(taskset -c 1)
	load_cpu=(taskset -c 0)
fi

# extra_start LABEL EXE LOG: starts EXE -p <free port> (sets EXTRA_PID,
# EXTRA_PORT) and waits until it listens.
extra_start() {
	local label=$1 exe=$2 log=$3
	EXTRA_PORT=$(cg_echo_free_port)
	"${server_cpu[@]}" "$exe" -p "$EXTRA_PORT" >"$log.server.log" 2>&1 &
	EXTRA_PID=$!
	for _ in $(seq 200); do
		cg_echo_port_open "$EXTRA_PORT" && return 0
		kill -0 "$EXTRA_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$EXTRA_PID" 2>/dev/null
	die "[$label] $exe did not listen on $EXTRA_PORT"
}

# extra_stop LABEL: SIGINT to EXTRA_PID, exit status 0 within 5 s.
extra_stop() {
	local label=$1 rc=0
	kill -INT "$EXTRA_PID"
	for _ in $(seq 50); do
		kill -0 "$EXTRA_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$EXTRA_PID" 2>/dev/null && { kill -KILL "$EXTRA_PID"; die "[$label] server ignored SIGINT for 5 s"; }
	wait "$EXTRA_PID" || rc=$?
	[[ $rc == 0 ]] || die "[$label] server exited with $rc after SIGINT"
}

# extra_echo LABEL EXE SIZE OUT: run_baseline.sh's echo step (50
# connections, SIZE bytes, DURATION s) against EXE.
extra_echo() {
	local label=$1 exe=$2 size=$3 out=$4 log
	mkdir -p "logs/$label"
	log=logs/$label/echo_c50_s$size
	echo "== [$label] echo c=50 s=$size"
	extra_start "$label" "$exe" "$log"
	if ! "${load_cpu[@]}" timeout $((DURATION + 30)) ./echo_load -p "$EXTRA_PORT" \
	    -c 50 -s "$size" -d "$DURATION" >"$log.log" 2>&1; then
		cat "$log.log" >&2
		extra_stop "$label"
		die "[$label] echo_load failed"
	fi
	extra_stop "$label"
	grep -E '^echo ' "$log.log" | tee -a "$out"
}

# extra_http LABEL EXE OUT: run_baseline.sh's http step (wrk -t1 -c50).
extra_http() {
	local label=$1 exe=$2 out=$3 log rps p50 p99 non2xx sockerr
	mkdir -p "logs/$label"
	log=logs/$label/http_c50
	echo "== [$label] http c=50"
	extra_start "$label" "$exe" "$log"
	if ! "${load_cpu[@]}" timeout $((DURATION + 30)) wrk -t1 -c50 -d"${DURATION}s" \
	    --latency "http://127.0.0.1:$EXTRA_PORT/" >"$log.log" 2>&1; then
		cat "$log.log" >&2
		extra_stop "$label"
		die "[$label] wrk failed"
	fi
	extra_stop "$label"
	to_us() {
		awk -v v="$1" 'BEGIN { n = v + 0
			if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000;
			else if (v ~ /s$/) f = 1000000; else f = 1
			printf "%.1f", n * f }'
	}
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$log.log")
	p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$log.log")")
	p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$log.log")")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$log.log")
	sockerr=$(awk '/Socket errors:/ {gsub(/[^0-9 ]/, ""); s = 0;
		for (i = 1; i <= NF; i++) s += $i; print s}' "$log.log")
	[[ -n $rps ]] || die "[$label] could not parse wrk output ($log.log)"
	printf 'http conns=50 threads=1 dur_s=%s req_per_sec=%.0f lat_p50_us=%s lat_p99_us=%s errors=%d\n' \
	    "$DURATION" "$rps" "$p50" "$p99" $(( ${non2xx:-0} + ${sockerr:-0} )) | tee -a "$out"
}

# extra_pipes LABEL EXE OUT ARGS...: one pipes run, its summary line kept.
extra_pipes() {
	local label=$1 exe=$2 out=$3 log
	shift 3
	mkdir -p "logs/$label"
	log=logs/$label/pipes$(tr -d ' -' <<<"$*").log
	echo "== [$label] pipes $*"
	"$exe" "$@" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "[$label] pipes $* failed"; }
	grep -E '^pipes ' "$log" | tee -a "$out"
}

header() {	# the results file's first lines, as run_baseline.sh writes them
	echo "# anchor benchmark results: label=$1"
	echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(uname -srm) cpus=$(nproc)" \
	    "cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\""
	echo "# pin=$PIN duration_s=$DURATION"
}

if [[ echo_epoll_c50_s64 =~ $ONLY || echo_epoll_c50_s4096 =~ $ONLY ]]; then
	echo "== building examples/epoll_server.rs (cargo build --profile bench)"
	ep_json=$(cd "$REPO" && cargo build --profile bench --example epoll_server \
	    --message-format=json-render-diagnostics) || die "cargo build --example epoll_server failed"
	ep_exe=$(python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") \
            and (m.get("target") or {}).get("name") == "epoll_server":
        print(m["executable"])
' <<<"$ep_json" | tail -n 1)
	[[ -x $ep_exe ]] || die "no epoll_server executable"
	header epoll_server >partial-epoll_server.txt
	for size in 64 4096; do
		[[ echo_epoll_c50_s$size =~ $ONLY ]] &&
		    extra_echo epoll_server "$ep_exe" "$size" partial-epoll_server.txt
	done
fi

peer_steps=(pipes_mio_n100 pipes_mio_n1000 pipes_mio_n1000_t cg_pipes_mio
	echo_tokio_c50_s64 echo_tokio_c50_s4096 http_hyper_c50)
want_peers=0
for st in "${peer_steps[@]}"; do [[ $st =~ $ONLY ]] && want_peers=1; done
if [[ ${PEERS:-1} == 1 && $want_peers == 1 && -f peers/Cargo.toml ]]; then
	echo "== building the Rust peers (peers/: cargo build --release)"
	PEERS_TARGET=$TARGET/peers-target
	(cd peers && CARGO_TARGET_DIR=$PEERS_TARGET cargo build --release -q) ||
	    die "cannot build the peers (PEERS=0 skips them)"
	pb=$PEERS_TARGET/release
	header peers >partial-peers.txt
	[[ pipes_mio_n100 =~ $ONLY ]] && extra_pipes mio "$pb/mio_pipes" partial-peers.txt -n 100 -a 1 -w 100 -r 25
	[[ pipes_mio_n1000 =~ $ONLY ]] && extra_pipes mio "$pb/mio_pipes" partial-peers.txt -n 1000 -a 100 -w 10000 -r 25
	[[ pipes_mio_n1000_t =~ $ONLY ]] && extra_pipes mio "$pb/mio_pipes" partial-peers.txt -n 1000 -a 100 -w 10000 -r 25 -t
	if [[ cg_pipes_mio =~ $ONLY && $CALLGRIND == 1 ]] && command -v valgrind >/dev/null; then
		echo "== [mio] cg_pipes"
		mkdir -p logs/mio
		cgout=logs/mio/cg_pipes.callgrind.out
		valgrind --tool=callgrind --callgrind-out-file="$cgout" --toggle-collect='bench_timed_*' \
		    "$pb/mio_pipes" -n 100 -a 1 -w 1000 -r 3 >logs/mio/cg_pipes.log 2>&1 ||
		    die "[mio] callgrind run failed"
		ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$cgout")
		awk -v ir="$ir" 'BEGIN { printf "callgrind bench=pipes n=100 a=1 w=1000 t=0 r=3 ir=%d ops=3003 ir_per_op=%.1f\n",
		    ir, ir / 3003 }' | tee -a partial-peers.txt
	fi
	for size in 64 4096; do
		[[ echo_tokio_c50_s$size =~ $ONLY ]] &&
		    extra_echo tokio "$pb/tokio_echo" "$size" partial-peers.txt
	done
	if [[ http_hyper_c50 =~ $ONLY ]] && command -v wrk >/dev/null; then
		extra_http hyper "$pb/hyper_hello" partial-peers.txt
	fi
fi

echo
echo "== results and logs in $WORK_DIR (partial-*.txt, logs/<label>/)"
echo "== chart: python3 $REPO/benches/chart.py $WORK_DIR > $REPO/benches/results.svg"
