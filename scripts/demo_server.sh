# Sourced by scripts that need a live Bangkom with demo data on a fresh SQLite file
# (schemathesis.sh, xapi_conformance.sh). The caller sets BIN, PORT, BASE and WORK and
# exports BANGKOM_DATABASE_URL (under WORK) and its other settings first.
#   start_demo_server       migrate, load the demo data, serve on BASE
# Sourcing sets an EXIT trap that stops the server and removes WORK.
#   demo_admin_token        an access token of the demo agency admin (Kabupaten Tangerang)
# KEEP_WORK=1 keeps WORK (the database and server.log) after the run.
SERVER_PID=""

stop_demo_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}

start_demo_server() {
  "$BIN/bangkom" migrate >/dev/null
  "$BIN/bangkom" seed-demo >/dev/null
  "$BIN/bangkom" serve --host 127.0.0.1 --port "$PORT" --workers 1 >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "$BASE/health/live" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "$BASE/health/live" >/dev/null || { cat "$WORK/server.log"; exit 1; }
}

demo_admin_token() {
  curl -fsS -X POST "$BASE/v1/auth/token" \
    -d grant_type=password -d username=admin@bkpsdm-kab-tangerang.example -d password=bangkom-demo \
    | "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

trap stop_demo_server EXIT
