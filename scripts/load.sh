#!/usr/bin/env bash
# Load test of the product as a user starts it: the example server `axum-server` with its
# defaults (audit events on, written through its log writer to a file), against a bare
# axum baseline (`baseline-server`) on the same routes, with wrk. Prints requests/s,
# p50/p99 latency and the ratio SCIM/baseline per scenario (targets in BENCHMARKS.md).
#
# --database memory (default): `axum-server --database-url memory` against the baseline's
#   HashMap. The server is seeded through its own SCIM API (Bulk, scripts/seed-users.py)
#   every time it starts.
# --database sqlite | postgres: `axum-server --database-url …` on a database seeded once the
#   same way, against the baseline running one SQL statement per request through sqlx on
#   its own table of the same database engine. SQLite files go under target/load/;
#   PostgreSQL databases are created fresh on the server at $SCIM_BENCH_POSTGRES_URL (or
#   $SCIM_TEST_POSTGRES_URL; see scripts/postgres.sh).
#
# Each round runs every scenario on both servers, one after the other, each freshly
# started; the figures are the medians over the rounds. Both servers are pinned to CPU 0
# with the same worker count (one tokio worker) and wrk (one thread) to CPU 1.
#
# Bounded: every wrk run is time-limited (and wrapped in `timeout`), every server is
# started for one scenario and stopped by its PID, everything listens on 127.0.0.1 only.
#
# Usage: scripts/load.sh [--duration 5s] [--warmup 2s] [--connections 32] [--preload 10000]
#                        [--runs 3] [--scenarios "get filter patch post page"]
#                        [--servers "baseline scim"] [--database memory|sqlite|postgres]
#                        [--log-level LEVEL] [--no-build]
#
# --log-level LEVEL runs the SCIM server with RUST_LOG=LEVEL instead of its default (INFO,
#   every audit event written); e.g. `--log-level warn` shows what the audit lines cost.
#   The targets are for the default.
set -euo pipefail

DURATION=5s
WARMUP=2s
CONNECTIONS=32
PRELOAD=10000
RUNS=3
SCENARIOS="get filter patch post page"
SERVERS="baseline scim"
BUILD=1
LOG_LEVEL=""
DATABASE=memory
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --preload) PRELOAD=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --database) DATABASE=$2; shift 2 ;;
    --log-level) LOG_LEVEL=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n 2,30p "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WRK_DIR="$ROOT/scripts/wrk"
OUT="$ROOT/target/load"
mkdir -p "$OUT"
TOKEN="load-test-token"
PORT=18480
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap cleanup EXIT INT TERM

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

# Pinning, when the machine has at least two CPUs and taskset exists.
PIN_SERVER=()
PIN_WRK=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 0)
  PIN_WRK=(taskset -c 1)
fi

if [ "$BUILD" = 1 ]; then
  cargo build --release -p scim-examples --bin baseline-server --bin axum-server >&2
fi
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

# Where each server keeps its data.
case "$DATABASE" in
  memory) SCIM_DB=memory; BASELINE_DB="" ;;
  sqlite)
    DB_DIR="$OUT/db-$$"
    mkdir -p "$DB_DIR"
    SCIM_DB="sqlite://$DB_DIR/scim.db"
    BASELINE_DB="sqlite://$DB_DIR/baseline.db" ;;
  postgres)
    PG_SERVER=${SCIM_BENCH_POSTGRES_URL:-${SCIM_TEST_POSTGRES_URL:-}}
    [ -n "$PG_SERVER" ] || { echo "set SCIM_BENCH_POSTGRES_URL (see scripts/postgres.sh)" >&2; exit 2; }
    PSQL=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql
    for name in "scim_load_$$" "baseline_load_$$"; do
      "$PSQL" -q "$PG_SERVER" -c "CREATE DATABASE $name" >/dev/null
    done
    SCIM_DB="${PG_SERVER%/*}/scim_load_$$"
    BASELINE_DB="${PG_SERVER%/*}/baseline_load_$$" ;;
  *) echo "unknown database: $DATABASE" >&2; exit 2 ;;
esac
# The baseline's users have fixed ids (examples/src/bench_users.rs); the SCIM server's are
# whatever it assigned while being seeded.
BASELINE_IDS="$OUT/baseline-ids.txt"
SCIM_IDS="$OUT/scim-ids.txt"
rm -f "$SCIM_IDS" "$OUT/scim.log" "$OUT/baseline.log"
for i in $(seq 0 $((PRELOAD - 1))); do printf '00000000-0000-4000-8000-%012d\n' "$i"; done >"$BASELINE_IDS"

start_server() { # <baseline|scim>
  local kind=$1
  local args=(--listen "127.0.0.1:$PORT" --token "$TOKEN")
  case "$kind,$DATABASE" in
    baseline,memory) args=("$BIN/baseline-server" "${args[@]}" --preload "$PRELOAD") ;;
    baseline,*) args=("$BIN/baseline-server" "${args[@]}" --preload "$PRELOAD" --database-url "$BASELINE_DB") ;;
    scim,*) args=("$BIN/axum-server" "${args[@]}" --database-url "$SCIM_DB") ;;
  esac
  # The example server as the README starts it: its default log level (INFO, every audit
  # event written) and its log writer; stderr goes to a file. The baseline logs nothing.
  local log=()
  [ "$kind" = scim ] && [ -n "$LOG_LEVEL" ] && log=("RUST_LOG=$LOG_LEVEL")
  env -u RUST_LOG "${log[@]}" TOKIO_WORKER_THREADS=1 "${PIN_SERVER[@]}" "${args[@]}" >>"$OUT/$kind.log" 2>&1 &
  SERVER_PID=$!
  local url="http://127.0.0.1:$PORT/scim/v2/Users?count=1"
  for _ in $(seq 1 300); do
    if curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$url"; then
      if [ "$kind" = scim ] && { [ "$DATABASE" = memory ] || [ ! -s "$SCIM_IDS" ]; }; then
        echo "seeding $PRELOAD users into $SCIM_DB" >&2
        python3 "$ROOT/scripts/seed-users.py" "http://127.0.0.1:$PORT/scim/v2" "$TOKEN" \
          "$PRELOAD" "$SCIM_IDS"
      fi
      # A settled database for every run: fresh statistics, no autovacuum in the middle.
      if [ "$DATABASE" = postgres ]; then
        local db=$SCIM_DB
        [ "$kind" = baseline ] && db=$BASELINE_DB
        "$PSQL" -q "$db" -c "VACUUM ANALYZE" >/dev/null
      fi
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "$kind server died; see $OUT/$kind.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$kind server did not come up in 30 s" >&2
  exit 1
}

run_wrk() { # <baseline|scim> <scenario> <duration> <prefix> <output file>
  local kind=$1 scenario=$2 duration=$3 prefix=$4 file=$5 ids=$SCIM_IDS
  [ "$kind" = baseline ] && ids=$BASELINE_IDS
  timeout 120 "${PIN_WRK[@]}" wrk -t1 -c"$CONNECTIONS" -d"$duration" --timeout 5s --latency \
    -s "$WRK_DIR/$scenario.lua" "http://127.0.0.1:$PORT" -- "$TOKEN" "$PRELOAD" "$prefix" "$ids" >"$file"
}

declare -A RESULT P50 P99 ERRORS
# wrk prints latencies as 812.00us, 1.23ms or 1.02s.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }
for run in $(seq 1 "$RUNS"); do
  for scenario in $SCENARIOS; do
    for kind in $SERVERS; do
      start_server "$kind"
      run_wrk "$kind" "$scenario" "$WARMUP" "w$run" "$OUT/$kind-$scenario-warmup.txt"
      file="$OUT/$kind-$scenario-run$run.txt"
      run_wrk "$kind" "$scenario" "$DURATION" "m$run" "$file"
      cleanup
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$file")
      errors=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$file")
      socket=$(grep -c "Socket errors" "$file" || true)
      p50=$(awk '/^ +50%/ {print $2}' "$file")
      p99=$(awk '/^ +99%/ {print $2}' "$file")
      if [ -n "${errors:-}" ] || [ "$socket" != 0 ]; then
        echo "WARNING: $kind $scenario: ${errors:-0} non-2xx responses, socket errors: $socket (see $file)" >&2
      fi
      RESULT[$kind,$scenario]="${RESULT[$kind,$scenario]:-} $rps"
      P50[$kind,$scenario]="${P50[$kind,$scenario]:-} $(to_ms "$p50")"
      P99[$kind,$scenario]="${P99[$kind,$scenario]:-} $(to_ms "$p99")"
      ERRORS[$kind,$scenario]=$(( ${ERRORS[$kind,$scenario]:-0} + ${errors:-0} + socket ))
      printf '%-8s %-7s run %d: %10s req/s  p50 %s  p99 %s\n' "$kind" "$scenario" "$run" "$rps" "$p50" "$p99" >&2
    done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo
echo "wrk -t1 -c$CONNECTIONS -d$DURATION, $PRELOAD users preloaded, database: $DATABASE, median of $RUNS round(s)${LOG_LEVEL:+, SCIM server at RUST_LOG=$LOG_LEVEL}"
printf '| %-28s | %12s | %12s | %6s | %6s | %17s | %17s | %6s |\n' scenario "baseline r/s" "SCIM r/s" ratio target "baseline p50/p99" "SCIM p50/p99" errors
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------" "--------------" "--------------" "--------" "--------" "-------------------" "-------------------" "--------"
for scenario in $SCENARIOS; do
  case "$scenario" in
    get) label="GET /Users/{id}"; target=90 ;;
    filter) label='GET ?filter=userName eq "…"'; target=90 ;;
    patch) label="PATCH replace displayName"; target=70 ;;
    post) label="POST /Users"; target=70 ;;
    page) label="GET /Users?count=100"; target=80 ;;
    *) label=$scenario; target=0 ;;
  esac
  [ "$DATABASE" = memory ] || target=70
  b=$(echo "${RESULT[baseline,$scenario]:-}" | median)
  s=$(echo "${RESULT[scim,$scenario]:-}" | median)
  ratio=$(awk -v b="${b:-0}" -v s="${s:-0}" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * s / b; else print "-" }')
  lat() { printf '%s/%s ms' "$(echo "${P50[$1,$scenario]:-}" | median)" "$(echo "${P99[$1,$scenario]:-}" | median)"; }
  errors=$(( ${ERRORS[baseline,$scenario]:-0} + ${ERRORS[scim,$scenario]:-0} ))
  printf '| %-28s | %12s | %12s | %6s | %5s%% | %17s | %17s | %6s |\n' "$label" "${b:--}" "${s:--}" "$ratio" "$target" "$(lat baseline)" "$(lat scim)" "$errors"
done
