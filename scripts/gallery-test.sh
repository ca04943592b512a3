#!/usr/bin/env bash
# The web gallery's browser test (web/tests/gallery.test.mjs): installs
# Debian's Chromium and the test's node packages when missing, starts the
# local API built beforehand (target/debug/local-api, or $LOCAL_API) on a
# free port with a fresh SQLite database and image folder, runs the test
# against it, and stops it. Screenshots and the server's log go to
# $GALLERY_OUT (target/gallery). GALLERY_ONLY=<pattern> runs only the tests whose names match.
#
#   cargo build -p local-api && scripts/gallery-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
api=${LOCAL_API:-target/debug/local-api}
out=${GALLERY_OUT:-target/gallery}

if [[ ! -x $api ]]; then
  echo "gallery-test: $api is missing: build it first (cargo build -p local-api) or name it in LOCAL_API" >&2
  exit 2
fi
if [[ ! -x /usr/bin/chromium ]]; then
  apt-get update -q && apt-get install -y -q chromium
fi
if [[ ! -d data/models ]]; then
  echo "gallery-test: data/models is missing: make model" >&2
  exit 2
fi
mkdir -p "$out"
tmp=$(mktemp -d)
server=
stop() {
  if [[ -n $server ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  if [[ ${KEEP_NODE_MODULES:-} != 1 ]]; then rm -rf web/node_modules; fi
}
trap stop EXIT

# Exactly the locked playwright-core, from npm's cache when it has it. The
# gallery's assets are compiled in from web/ by rust-embed, which takes every
# file under it: web/node_modules goes again at the end (KEEP_NODE_MODULES=1
# keeps it) so that no later build embeds 14 MB of playwright in each binary.
npm ci --prefix web --prefer-offline --no-audit --no-fund --loglevel=error

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BIND=127.0.0.1:$port \
  DATABASE_URL=sqlite://$tmp/p.db \
  IMAGE_STORE=$tmp/images \
  CREDENTIALS_FILE=/nonexistent \
  TAGGER=local \
  MODEL_DIR=$root/data/models \
  AUTH=open \
  RUST_LOG=${RUST_LOG:-warn} \
  "$api" >"$out/server.log" 2>&1 &
server=$!

for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "gallery-test: the local API stopped:" >&2
    cat "$out/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null

status=0
BASE_URL=http://127.0.0.1:$port GALLERY_OUT=$out node --test --test-reporter=spec ${GALLERY_ONLY:+--test-name-pattern="$GALLERY_ONLY"} web/tests/gallery.test.mjs || status=$?
if [[ $status -ne 0 ]]; then
  echo "gallery-test: failed; the server's log is $out/server.log" >&2
fi
exit $status
