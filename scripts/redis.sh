#!/usr/bin/env bash
# Install Redis from Debian's packages (if missing), start a private instance for tests on
# a loopback port (no persistence, in a tmp dir), print its URL. Idempotent.
#   scripts/redis.sh            -> redis://127.0.0.1:56379/0
set -euo pipefail
PORT=${BANGKOM_REDIS_PORT:-56379}
DIR=${BANGKOM_REDIS_DIR:-/tmp/bangkom-redis-$PORT}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Redis from Debian's packages..." >&2
  as_root apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >&2
fi

ping() { redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null | grep -q PONG; }

if ! ping; then
  mkdir -p "$DIR"
  redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR" --save "" --appendonly no \
    --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" >&2
  for _ in $(seq 1 50); do ping && break; sleep 0.1; done
  ping || { echo "redis did not start; see $DIR/redis.log" >&2; exit 1; }
fi
echo "redis://127.0.0.1:$PORT/0"
