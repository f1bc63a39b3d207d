#!/usr/bin/env bash
# Instructions per HTTP request through a SCIM server binary, counted by callgrind
# (deterministic, unlike wall-clock figures on a shared VM): the server runs under
# `valgrind --tool=callgrind` with N preloaded users, wrk drives one scenario for a fixed
# time, and the instructions of a run without requests (start-up and preload) are
# subtracted. Everything on 127.0.0.1; every run is time-bounded.
#
# Usage: scripts/callgrind-http.sh BINARY [SCENARIO ...]   (scenarios: scripts/wrk/*.lua)
#   e.g. scripts/callgrind-http.sh target/release/load-server get filter page
# DATABASE=sqlite runs each measurement on a fresh SQLite file (default: memory).
set -euo pipefail
BIN=$1; shift
SCENARIOS=${*:-get filter page}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-18495}; TOKEN=load-test-token; PRELOAD=2000
command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null; }
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null; }
OUT=$(mktemp -d)
measure() { # <scenario|none> → prints "<requests> <instructions>"
  local sc=$1 log="$OUT/$1.log" database=memory
  [ "${DATABASE:-memory}" = sqlite ] && database="sqlite://$OUT/$sc.db"
  RUST_LOG=warn TOKIO_WORKER_THREADS=1 timeout 300 valgrind --tool=callgrind \
    --callgrind-out-file="$OUT/$sc.out" "$BIN" --listen "127.0.0.1:$PORT" --token "$TOKEN" \
    --preload "$PRELOAD" --database-url "$database" >"$log" 2>&1 &
  local pid=$! n=0
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:$PORT/scim/v2/Users/00000000-0000-4000-8000-000000000000" && break
    sleep 0.2
  done
  if [ "$sc" != none ]; then
    n=$(timeout 60 wrk -t1 -c4 -d20s -s "$ROOT/scripts/wrk/$sc.lua" "http://127.0.0.1:$PORT" \
      -- "$TOKEN" "$PRELOAD" m | awk '/requests in/ {print $1}')
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
