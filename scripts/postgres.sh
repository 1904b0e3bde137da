#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages (if missing), start a throwaway
# cluster for tests on a loopback port, create the database, print its URL.
#   scripts/postgres.sh [dbname]        -> postgresql+psycopg://...
# The cluster is for tests only: fsync is off to keep the suite fast.
set -euo pipefail
DB=${1:-bangkom_test}
PORT=${BANGKOM_PG_PORT:-55432}
DATA=${BANGKOM_PG_DATA:-/tmp/bangkom-pg-$PORT}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages..." >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

run_pg() {  # initdb and postgres refuse to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ ! -f "$DATA/PG_VERSION" ]; then
  as_root mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
  run_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >&2
fi
if ! run_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  run_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2
fi
if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" postgres | grep -q 1; then
  "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE \"$DB\"" postgres >&2
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
