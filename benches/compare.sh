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
	"echo|echo|^echo_"
	# "http_hello|http_hello|^http_"
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
echo
echo "== results and logs in $WORK_DIR (partial-*.txt, logs/<label>/)"
