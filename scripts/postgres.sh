#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the tests, installing the
# distribution's package if needed, and prints the URL of a fresh database on stdout
# (`SCIM_TEST_POSTGRES_URL`). The server runs until `pg_ctl -D <dir> stop` or the machine
# goes away; its data directory and log are under $TMPDIR.
#
# Usage: export SCIM_TEST_POSTGRES_URL=$(scripts/postgres.sh [PORT])
set -euo pipefail
PORT=${1:-54329}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  echo "installing postgresql" >&2
  (apt-get install -y postgresql >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; })
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  RUN_AS=(runuser -u postgres --)
fi
DIR=$(mktemp -d "${TMPDIR:-/tmp}/scim-pg.XXXXXX")
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
"${RUN_AS[@]}" "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }
"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >&2 \
  || { cat "$DIR/server.log" >&2; exit 1; }
"${RUN_AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres scim_test
echo "postgres://postgres@127.0.0.1:$PORT/scim_test"
