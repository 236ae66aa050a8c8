#!/bin/sh
# A real program nobody here wrote, on rvent: Debian's tmux (binary from apt,
# linked against libevent_core-2.1.so.7) runs on rvent's C library through
# LD_LIBRARY_PATH. Bounded: every tmux call has a timeout, the whole script
# stops itself after 60 s.
#   1. foreground server (`tmux -D`, our child, so its exit status is seen)
#      with a private socket; its /proc/PID/maps must show rvent's library;
#   2. new-session -d running `cat`, list-sessions, send-keys into the pane and
#      capture-pane shows the text back, run-shell (a job: fork + a
#      bufferevent on the pipe) prints its output, new-window / kill-window;
#   3. kill-server: the server must exit with status 0;
#   4. the daemon path a user takes (`tmux -S SOCK new-session -d 'sleep 5'`:
#      tmux forks, calls event_reinit, sets EVENT_NOEPOLL): list-sessions,
#      kill-server, and the daemon must be gone within 3 s.
# tmux sets EVENT_NOEPOLL (libevent then uses poll(2)); rvent has only epoll,
# and the shim uses it anyway (see capi/README.md).
# Installs tmux with apt-get when missing and run as root; exits 77 (skip)
# when tmux cannot be had.
# Usage: capi/tmux.sh [WORK_DIR]    (default: target/capi-tmux)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
W=${1:-$HERE/../target/capi-tmux}
mkdir -p "$W" && W=$(cd "$W" && pwd)
if [ -z "${CAPI_TMUX_BOUNDED:-}" ]; then
  CAPI_TMUX_BOUNDED=1 exec timeout -k 5 60 "$0" "$W"
fi
if ! command -v tmux >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -q tmux >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q tmux >/dev/null 2>&1; } || true
  fi
  command -v tmux >/dev/null || { echo "skip tmux: not installed"; exit 77; }
fi
FAIL=0
ok() { echo "ok   tmux: $*"; }
bad() { echo "FAIL tmux: $*"; FAIL=1; }

LIB=$W/lib
"$HERE/libdir.sh" "$LIB" >/dev/null
S=$W/sock
T() { LD_LIBRARY_PATH=$LIB timeout 10 tmux -f /dev/null -S "$S" "$@"; }
rm -f "$S"

# 1. Foreground server.
LD_LIBRARY_PATH=$LIB timeout 50 tmux -f /dev/null -D -S "$S" </dev/null >"$W/server.out" 2>&1 &
srv=$!
i=0; while [ ! -S "$S" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$S" ] || { bad "server socket did not appear"; cat "$W/server.out"; kill $srv 2>/dev/null; exit 1; }

# 2. Commands.
if T new-session -d -s rv -x 80 -y 24 cat && T list-sessions | grep -q '^rv: 1 windows'; then
  ok "new-session -d, list-sessions ($(tmux -V))"
else bad "new-session / list-sessions"; fi
pid=$(T display-message -p '#{pid}' || echo 0)
if grep -q librvent-event "/proc/$pid/maps" 2>/dev/null; then ok "server $pid runs on $(basename "$(readlink -f "$LIB/libevent_core-2.1.so.7")")"
else bad "server $pid does not map rvent's library"; fi
T send-keys -t rv 'hello-from-rvent' Enter
i=0; while ! T capture-pane -p -t rv | grep -q hello-from-rvent && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if T capture-pane -p -t rv | grep -q hello-from-rvent; then ok "send-keys reached cat in the pane, capture-pane shows it"
else bad "send-keys / capture-pane"; fi
# (Without an attached client tmux shows run-shell's output in the pane, not
# on stdout: the job writes a file instead.)
rm -f "$W/run.out"
T run-shell "echo run-shell-ok >$W/run.out"
if [ "$(cat "$W/run.out" 2>/dev/null)" = run-shell-ok ]; then ok "run-shell (a job: fork, a bufferevent on its pipe)"
else bad "run-shell"; fi
if T new-window -t rv -n second 'sleep 30' && T list-windows -t rv | grep -q second &&
   T kill-window -t rv:second && [ "$(T list-windows -t rv | wc -l)" = 1 ]; then ok "new-window, kill-window"
else bad "new-window / kill-window"; fi

# 3. kill-server: the foreground server exits 0.
T kill-server || true
if wait $srv; then ok "kill-server: server exited with status 0"
else bad "kill-server: server exit status $?"; cat "$W/server.out"; fi

# 4. The daemon path.
rm -f "$S"
if T new-session -d -s daemon 'sleep 5' && T list-sessions | grep -q '^daemon:'; then
  dpid=$(T display-message -p '#{pid}')
  T kill-server || true
  i=0; while kill -0 "$dpid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$dpid" 2>/dev/null; then bad "daemon $dpid still running after kill-server"; kill "$dpid"
  else ok "daemon server (forked, event_reinit, EVENT_NOEPOLL): session, kill-server, gone"; fi
else bad "daemon new-session / list-sessions"; fi

[ $FAIL = 0 ] && echo "capi/tmux.sh: all passed" || echo "capi/tmux.sh: FAILURES"
exit $FAIL
