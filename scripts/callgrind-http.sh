#!/usr/bin/env bash
# Instructions per HTTP request through a SCIM server binary, counted by callgrind
# (deterministic, unlike wall-clock figures on a shared VM): the server runs under
# `valgrind --tool=callgrind` with N preloaded users, wrk drives one scenario for a fixed
# time, and the instructions of a run without requests (start-up and preload) are
# subtracted. Everything on 127.0.0.1; every run is time-bounded.
#
# Usage: scripts/callgrind-http.sh BINARY [SCENARIO ...]   (scenarios: scripts/wrk/*.lua)
#   e.g. scripts/callgrind-http.sh target/release/axum-server get filter page
#        scripts/callgrind-http.sh target/release/baseline-server get filter page
# The example server is seeded through its SCIM API (scripts/seed-users.py), the baseline
# with its own --preload. DATABASE=sqlite runs each measurement on a fresh SQLite file
# (default: memory). The server runs with RUST_LOG=warn unless LOG_LEVEL says otherwise
# (LOG_LEVEL=info counts the audit events too, formatting and writer thread included).
# SERVER_ARGS adds options to the server's command line (e.g. "--metrics --admin-token x").
set -euo pipefail
BIN=$1; shift
SCENARIOS=${*:-get filter page}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-18495}; TOKEN=load-test-token; PRELOAD=2000
command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null; }
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null; }
OUT=$(mktemp -d)
IDS="$OUT/ids.txt"
BASELINE=0
case "$(basename "$BIN")" in baseline-server) BASELINE=1 ;; esac
if [ "$BASELINE" = 1 ]; then
  for i in $(seq 0 $((PRELOAD - 1))); do printf '00000000-0000-4000-8000-%012d\n' "$i"; done >"$IDS"
fi
measure() { # <scenario|none> → prints "<requests> <instructions>"
  local sc=$1 log="$OUT/$1.log" database=memory preload=()
  [ "${DATABASE:-memory}" = sqlite ] && database="sqlite://$OUT/$sc.db"
  [ "$BASELINE" = 1 ] && preload=(--preload "$PRELOAD")
  RUST_LOG=${LOG_LEVEL:-warn} TOKIO_WORKER_THREADS=1 timeout 600 valgrind --tool=callgrind \
    --callgrind-out-file="$OUT/$sc.out" "$BIN" --listen "127.0.0.1:$PORT" --token "$TOKEN" \
    "${preload[@]}" --database-url "$database" ${SERVER_ARGS:-} >"$log" 2>&1 &
  local pid=$! n=0
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:$PORT/scim/v2/Users?count=1" && break
    sleep 0.2
  done
  if [ "$BASELINE" = 0 ]; then
    python3 "$ROOT/scripts/seed-users.py" "http://127.0.0.1:$PORT/scim/v2" "$TOKEN" "$PRELOAD" "$IDS"
  fi
  if [ "$sc" != none ]; then
    n=$(timeout 60 wrk -t1 -c4 -d20s -s "$ROOT/scripts/wrk/$sc.lua" "http://127.0.0.1:$PORT" \
      -- "$TOKEN" "$PRELOAD" m "$IDS" | awk '/requests in/ {print $1}')
  fi
  kill -INT "$pid"; wait "$pid" || true
  echo "$n $(grep -o 'refs: *[0-9,]*' "$log" | tr -d ', ' | cut -d: -f2)"
}
read -r _ base < <(measure none)
for sc in $SCENARIOS; do
  read -r n total < <(measure "$sc")
  # The readiness probe is one GET per run, in both runs: it cancels out.
  awk -v sc="$sc" -v n="$n" -v t="$total" -v b="$base" \
    'BEGIN { printf "%-8s %7d requests  %8.0f instructions/request\n", sc, n, (t - b) / n }'
done
if [ -n "${KEEP:-}" ]; then echo "callgrind files in $OUT" >&2; else rm -rf "$OUT"; fi
