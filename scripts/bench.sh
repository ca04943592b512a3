#!/usr/bin/env bash
# The service's figures on this machine (`make bench`):
#  1. reads: MariaDB seeded with 10,000 pictures (5 tags each from a skewed
#     200-tag vocabulary, ~30 KB JPEGs over a year), the release local API
#     without a model, loaded by wrk (2 threads, 16 connections, 10 s);
#  2. uploads: POST /images with a ~500 KB photo, on-device tagger (every
#     model of `make model`), SQLite; each request sends different bytes
#     (the photo followed by a counter after its end marker), since an upload
#     of bytes already stored is answered from de-duplication without tagging;
#  3. tagger micro-figures (one thread) and cold starts of every function.
# Everything runs on loopback; nothing here touches the network.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

N=${BENCH_PICTURES:-10000}
DURATION=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18080}
DB=pictures_bench
OUT=data/bench
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
scripts/ensure-mariadb.sh
python3 scripts/fetch-model.py >/dev/null
python3 scripts/fetch-detectors.py >/dev/null
python3 scripts/fetch-objects.py >/dev/null
cargo build --release -q -p local-api -p pictures-tools -p post-image -p get-images -p get-image -p get-tags
mkdir -p "$OUT"

rss() { awk '/^VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
peak() { awk '/^VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/tags" && return 0; sleep 0.1; done; return 1; }
# wrk's summary as "req/s  p50  p99  errors".
load() {
  local name=$1; shift
  local out before
  before=$(load1)
  out=$(wrk --latency "$@")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {e=e $0 "; "} END {print (e=="" ? "0" : e)}' <<<"$out")
  errors="$errors of $(awk '/requests in/ {print $1}' <<<"$out")"
  printf '| %-44s | %9s | %8s | %8s | %s | %s → %s |\n' "$name" "$rps" "$p50" "$p99" "$errors" "$before" "$(load1)"
}

if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then echo "port $PORT is busy; set BENCH_PORT" >&2; exit 1; fi

echo "== Seeding $N pictures into MariaDB database $DB"
mariadb --protocol=tcp -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
rm -rf "$OUT/images"
./target/release/seed "$MYSQL_SERVER/$DB" "$OUT/images" "$N" 5 200 365

echo "== Reads (wrk -t2 -c16 -d${DURATION}s, local API on MariaDB, no model)"
DATABASE_URL="$MYSQL_SERVER/$DB" IMAGE_STORE="$OUT/images" BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  TAGGER=imagga IMAGGA_API_KEY=unused IMAGGA_API_SECRET=unused IMAGEKIT_PRIVATE_KEY=unused \
  DB_MAX_CONNECTIONS=16 ./target/release/local-api &
API=$!
trap 'kill $API 2>/dev/null || true' EXIT
wait_port
sleep 0.5
echo "local-api idle RSS (no model): $(rss $API)"
month_start=$(date -u -d "6 months ago" +%Y-%m-01)
month_end=$(date -u -d "$month_start +1 month -1 day" +%Y-%m-%d)
cat > "$OUT/random-id.lua" <<LUA
math.randomseed(os.time())
request = function() return wrk.format("GET", "/images/" .. math.random(1, $N)) end
LUA
base="http://127.0.0.1:$PORT"
printf '| %-44s | %9s | %8s | %8s | %s | %s |\n' "request" "req/s" "p50" "p99" "errors" "load"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "-----------" "----------" "----------" "-------" "------"
load "GET /images/{id} (random, ~30 KB each)" -t2 -c16 -d"${DURATION}s" -s "$OUT/random-id.lua" "$base"
load "GET /images?tags=tag0000,tag0001" -t2 -c16 -d"${DURATION}s" "$base/images?tags=tag0000,tag0001"
load "GET /images one month ($month_start)" -t2 -c16 -d"${DURATION}s" "$base/images?min_date=$month_start&max_date=$month_end"
load "GET /tags" -t2 -c16 -d"${DURATION}s" "$base/tags"
load "GET /tags one month" -t2 -c16 -d"${DURATION}s" "$base/tags?min_date=$month_start&max_date=$month_end"
echo "local-api RSS after the reads: $(rss $API)"
kill $API; wait $API 2>/dev/null || true

echo "== Uploads (POST /images, ~500 KB JPEG, on-device tagger, SQLite)"
./target/release/bench-tagger data/models "$OUT"
rm -rf "$OUT/sqlite" && mkdir -p "$OUT/sqlite"
DATABASE_URL="sqlite://$OUT/sqlite/pictures.db" IMAGE_STORE="$OUT/sqlite/images" BIND="127.0.0.1:$PORT" \
  RUST_LOG=warn TAGGER=local ./target/release/local-api &
API=$!
wait_port
python3 -c 'import base64, json, sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["data"]))' \
  "$OUT/photo-500k.json" >"$OUT/photo-500k.jpg"
post_lua "$OUT/post.lua" "$OUT/photo-500k.jpg"
export BENCH_NONCE=$(date +%s%N)
load "POST /images, 1 client" -t1 -c1 -d"${DURATION}s" -s "$OUT/post.lua" "http://127.0.0.1:$PORT/images"
load "POST /images, 4 clients" -t2 -c4 -d"${DURATION}s" -s "$OUT/post.lua" "http://127.0.0.1:$PORT/images"
echo "local-api with the model: RSS $(rss $API), peak $(peak $API)"
echo "pictures stored: $(sqlite3 "$OUT/sqlite/pictures.db" 'SELECT COUNT(*) FROM pictures') (every answered upload a new picture: none answered from de-duplication)"
kill $API; wait $API 2>/dev/null || true
trap - EXIT

echo "== Cold starts (loopback Lambda Runtime API, one real invocation each)"
for fe in get-images/list get-image/get get-tags/all; do
  f=${fe%/*}
  event=functions/$f/events/${fe#*/}.json
  DATABASE_URL="$MYSQL_SERVER/$DB" IMAGE_STORE="$OUT/images" RUST_LOG=warn python3 scripts/lambda-runtime.py "target/release/$f" "$event"
done
DATABASE_URL="$MYSQL_SERVER/$DB" IMAGE_STORE="$OUT/images" RUST_LOG=warn TAGGER=local \
  python3 scripts/lambda-runtime.py target/release/post-image functions/post-image/events/post.json
