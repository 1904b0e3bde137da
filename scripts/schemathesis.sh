#!/usr/bin/env bash
# Fuzz the committed contract (openapi/openapi.json) against a live server with schemathesis:
# every operation, every check, the examples, coverage, fuzzing and stateful phases, once as
# an agency admin and once anonymously. A fresh SQLite file with demo data; the server is
# stopped on exit; any failure exits non-zero.
#
#   scripts/schemathesis.sh            # bounded: ST_MAX_EXAMPLES=10, ST_MAX_TIME=100 per run
#   ST_MAX_EXAMPLES=50 scripts/schemathesis.sh
#
# Tolerated rejections of schema-valid input (the contract cannot express them) are listed
# in scripts/schemathesis_hooks.py and in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BIN:-$ROOT/.venv/bin}
PORT=${ST_PORT:-$((20000 + RANDOM % 20000))}
BASE="http://127.0.0.1:${PORT}"
WORK=$(mktemp -d -t bangkom-st-XXXXXX)
export BANGKOM_DATABASE_URL="sqlite:///${WORK}/bangkom.db"
export BANGKOM_DEMO_DATA=true
export BANGKOM_ACCESS_LOG=false
# The fuzzer logs in and fails on purpose far more than a person would.
export BANGKOM_LOGIN_MAX_FAILURES_PER_ACCOUNT=${BANGKOM_LOGIN_MAX_FAILURES_PER_ACCOUNT:-100000}
export BANGKOM_LOGIN_MAX_FAILURES_PER_ADDRESS=${BANGKOM_LOGIN_MAX_FAILURES_PER_ADDRESS:-100000}
export BANGKOM_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS=${BANGKOM_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS:-100000}
# shellcheck source=scripts/demo_server.sh
. "$ROOT/scripts/demo_server.sh"

start_demo_server

TOKEN=$(demo_admin_token)

SELF_ID=$(curl -fsS -H "Authorization: Bearer ${TOKEN}" "$BASE/v1/me" \
  | "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["user"]["id"])')
export BANGKOM_ST_SELF_ID="$SELF_ID"
export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"

run() {
  local who=$1
  shift
  echo "== schemathesis ($who)"
  # from the scratch directory: schemathesis keeps its cache in the working directory
  (cd "$WORK" && "$BIN/st" --config-file "$ROOT/scripts/schemathesis.toml" run \
    "$ROOT/openapi/openapi.json" \
    --url "$BASE" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "${ST_MAX_EXAMPLES:-10}" \
    --max-time "${ST_MAX_TIME:-100}" \
    --seed "${ST_SEED:-20251117}" \
    --workers 1 \
    --no-color \
    "$@")
}

status=0
run "agency admin" -H "Authorization: Bearer ${TOKEN}" || status=1
run "anonymous" || status=1
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures; server log: (last 40 lines)"
  tail -n 40 "$WORK/server.log"
fi
exit "$status"
