#!/usr/bin/env bash
# CI's check of the client example: its generated documents match schema.graphql, it
# typechecks, and it runs to the end against a fresh Herald on embedded PGlite.
# Run from anywhere: bash examples/client/check.sh (the repo's own npm ci done first).
set -euo pipefail
example="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$example/../.." && pwd)"
cd "$example"

npm ci --no-audit --no-fund --loglevel=error

data_dir="$(mktemp -d)"
herald_pid=""
stop_herald() {
  if [ -n "$herald_pid" ] && kill -0 "$herald_pid" 2>/dev/null; then
    kill -TERM "$herald_pid"
    for _ in $(seq 1 40); do kill -0 "$herald_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$herald_pid" 2>/dev/null || true
    wait "$herald_pid" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap stop_herald EXIT

# The committed src/gql must be what codegen makes of today's schema.graphql (compared
# with a copy rather than git's index, so it also holds before a commit).
mkdir "$data_dir/gql-committed"
cp -R src/gql/. "$data_dir/gql-committed/" 2>/dev/null || true
npm run --silent codegen
if ! diff -ru "$data_dir/gql-committed" src/gql >"$data_dir/gql.diff"; then
  head -n 60 "$data_dir/gql.diff"
  echo "examples/client/src/gql is stale: run 'npm ci && npm run codegen' in examples/client and commit the result" >&2
  exit 1
fi

npm run --silent typecheck

log="$data_dir/herald.log"
port="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
key="hrld_$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("base64url"))')"

# Herald as an operator starts it, on its embedded database: nothing from CI's PostgreSQL.
(
  cd "$root"
  exec env -u DATABASE_URL HERALD_DATA_DIR="$data_dir/db" HOST=127.0.0.1 PORT="$port" LOG_LEVEL=warn \
    HERALD_BOOTSTRAP_ADMIN_KEY="$key" HERALD_SECRET_KEY="$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("hex"))')" \
    node scripts/start.mjs
) >"$log" 2>&1 &
herald_pid=$!

url="http://127.0.0.1:$port"
for _ in $(seq 1 180); do
  if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$herald_pid" 2>/dev/null; then
    echo "Herald exited before it was ready:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  sleep 0.5
done
if ! curl -fsS -o /dev/null "$url/readyz"; then
  echo "Herald was not ready at $url/readyz within 90 s:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

if ! HERALD_URL="$url" HERALD_API_KEY="$key" npm start --silent; then
  echo "--- Herald's log ---" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
