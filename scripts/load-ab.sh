#!/usr/bin/env bash
# A/B wall-clock comparison of two builds of the load-test server (e.g. the previous commit
# and this one): the two binaries alternate, round after round, with the same pinning (server
# on CPU 0, one tokio worker; wrk -t1 -c16 on CPU 1) and 10 000 preloaded users; prints
# req/s of each and the ratio per round. Alternating cancels slow drifts of a shared VM.
#
# Usage: scripts/load-ab.sh OLD_BINARY NEW_BINARY [ROUNDS] [DURATION] ["get filter page"]
set -euo pipefail
A=$1; B=$2; ROUNDS=${3:-5}; DUR=${4:-4s}; SCEN=${5:-"get filter page"}
WRK=$(cd "$(dirname "$0")" && pwd)/wrk; PORT=18490; TOKEN=load-test-token
run() { local bin=$1 sc=$2
  RUST_LOG=warn TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin" --listen 127.0.0.1:$PORT --token $TOKEN --preload 10000 >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/scim/v2/Users/00000000-0000-4000-8000-000000000000 && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c16 -d1s -s $WRK/$sc.lua http://127.0.0.1:$PORT -- $TOKEN 10000 w >/dev/null
  local r=$(timeout 120 taskset -c 1 wrk -t1 -c16 -d$DUR -s $WRK/$sc.lua http://127.0.0.1:$PORT -- $TOKEN 10000 m | awk '/^Requests\/sec:/ {print $2}')
  kill $pid; wait $pid 2>/dev/null || true
  echo $r
}
for sc in $SCEN; do
  for i in $(seq 1 $ROUNDS); do
    a=$(run $A $sc); b=$(run $B $sc)
    echo "$sc round $i: old $a new $b ratio $(awk -v a=$a -v b=$b 'BEGIN{printf "%.2f", b/a}')"
  done
done
