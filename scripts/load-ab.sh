#!/usr/bin/env bash
# A/B wall-clock comparison of two server command lines (two builds, or one build under two
# environments): the two alternate, round after round, on the same pinning as scripts/load.sh
# (server on CPU 0 with one tokio worker, wrk -t1 -c32 on CPU 1), each freshly started and
# seeded with 10 000 users; prints req/s of each and the ratio per round, then the medians.
# Alternating cancels the slow drifts of a shared VM. Everything on 127.0.0.1, time-bounded.
#
# A side is a command line, environment assignments first:
#   scripts/load-ab.sh "RUST_LOG=warn target/release/axum-server" target/release/axum-server
#   scripts/load-ab.sh target/release/baseline-server target/release/axum-server 5 3s "get patch"
# axum-server/actix-server are seeded through their Bulk API (scripts/seed-users.py),
# baseline-server with its own --preload.
#
# Usage: scripts/load-ab.sh A B [ROUNDS] [DURATION] ["get filter patch post page"]
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-5}; DUR=${4:-3s}; SCEN=${5:-"get"}
ROOT=$(cd "$(dirname "$0")/.." && pwd); WRK=$ROOT/scripts/wrk
PORT=18490; TOKEN=load-test-token; PRELOAD=10000
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
for i in $(seq 0 $((PRELOAD - 1))); do printf '00000000-0000-4000-8000-%012d\n' "$i"; done >"$OUT/baseline-ids"
run() { # <side> <scenario> → req/s
  local words envs=() cmd=() ids=$OUT/ids
  read -r -a words <<<"$1"
  for w in "${words[@]}"; do
    if [ ${#cmd[@]} = 0 ] && [[ $w == *=* ]]; then envs+=("$w"); else cmd+=("$w"); fi
  done
  case "$(basename "${cmd[0]}")" in
    baseline-server) cmd+=(--preload "$PRELOAD"); ids=$OUT/baseline-ids ;;
    *) cmd+=(--database-url memory) ;;
  esac
  env -u RUST_LOG TOKIO_WORKER_THREADS=1 "${envs[@]}" taskset -c 0 "${cmd[@]}" \
    --listen 127.0.0.1:$PORT --token $TOKEN >"$OUT/log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/scim/v2/Users?count=1" && break
    sleep 0.1
  done
  [ "$ids" = "$OUT/ids" ] && python3 "$ROOT/scripts/seed-users.py" "http://127.0.0.1:$PORT/scim/v2" $TOKEN $PRELOAD "$ids" >&2
  timeout 60 taskset -c 1 wrk -t1 -c32 -d1s -s "$WRK/$2.lua" http://127.0.0.1:$PORT -- $TOKEN $PRELOAD w "$ids" >/dev/null
  timeout 120 taskset -c 1 wrk -t1 -c32 -d"$DUR" -s "$WRK/$2.lua" http://127.0.0.1:$PORT -- $TOKEN $PRELOAD m "$ids" |
    awk '/^Requests\/sec:/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for sc in $SCEN; do
  as=""; bs=""
  for i in $(seq 1 "$ROUNDS"); do
    a=$(run "$A" "$sc"); b=$(run "$B" "$sc"); as="$as $a"; bs="$bs $b"
    echo "$sc round $i: A $a  B $b  B/A $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}')"
  done
  ma=$(echo "$as" | median); mb=$(echo "$bs" | median)
  echo "$sc median: A $ma  B $mb  B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN{printf "%.2f", b/a}')"
done
