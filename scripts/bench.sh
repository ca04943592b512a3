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
DB=pictures_bench
OUT=data/bench
use_port 18080
bench_needs wrk mariadb models local-api pictures-tools post-image get-images get-image get-tags
mkdir -p "$OUT"

# One row of wrk's summary: req/s, p50, p99, errors of the requests sent, load.
load() {
  local name=$1; shift
  wrk_run "$@"
  printf '| %-44s | %9s | %8s | %8s | %s | %s |\n' "$name" "$WRK_RPS" "$WRK_P50" "$WRK_P99" \
    "$WRK_ERRORS of $WRK_REQUESTS" "$WRK_LOAD"
}

echo "== Seeding $N pictures into MariaDB database $DB"
fresh_db "$DB"
rm -rf "$OUT/images"
./target/release/seed "$MYSQL_SERVER/$DB" "$OUT/images" "$N" 5 200 365

echo "== Reads (wrk -t2 -c16 -d${DURATION}s, local API on MariaDB, no model)"
start_api "$PORT" "$MYSQL_SERVER/$DB" "$OUT/images"
trap stop_api EXIT
echo "local-api idle RSS (no model): $(rss_of "$API")"
month_of "6 months ago"
range_lua "$OUT/random-id.lua" "$N"
printf '| %-44s | %9s | %8s | %8s | %s | %s |\n' "request" "req/s" "p50" "p99" "errors" "load"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "-----------" "----------" "----------" "-------" "------"
load "GET /images/{id} (random, ~30 KB each)" -t2 -c16 -d"${DURATION}s" -s "$OUT/random-id.lua" "$base"
load "GET /images?tags=tag0000,tag0001" -t2 -c16 -d"${DURATION}s" "$base/images?tags=tag0000,tag0001"
load "GET /images one month ($month_start)" -t2 -c16 -d"${DURATION}s" "$base/images?min_date=$month_start&max_date=$month_end"
load "GET /tags" -t2 -c16 -d"${DURATION}s" "$base/tags"
load "GET /tags one month" -t2 -c16 -d"${DURATION}s" "$base/tags?min_date=$month_start&max_date=$month_end"
echo "local-api RSS after the reads: $(rss_of "$API")"
stop_api
wait_gone "$base/health"

echo "== Uploads (POST /images, ~500 KB JPEG, on-device tagger, SQLite)"
./target/release/bench-tagger data/models "$OUT"
rm -rf "$OUT/sqlite" && mkdir -p "$OUT/sqlite"
start_api "$PORT" "sqlite://$OUT/sqlite/pictures.db" "$OUT/sqlite/images" TAGGER=local
jpeg_of "$OUT/photo-500k.json" "$OUT/photo-500k.jpg"
post_lua "$OUT/post.lua" "$OUT/photo-500k.jpg"
export BENCH_NONCE=$(date +%s%N)
load "POST /images, 1 client" -t1 -c1 -d"${DURATION}s" -s "$OUT/post.lua" "$base/images"
load "POST /images, 4 clients" -t2 -c4 -d"${DURATION}s" -s "$OUT/post.lua" "$base/images"
echo "local-api with the model: RSS $(rss_of "$API"), peak $(peak_of "$API")"
echo "pictures stored: $(sqlite3 "$OUT/sqlite/pictures.db" 'SELECT COUNT(*) FROM pictures') (every answered upload a new picture: none answered from de-duplication)"
stop_api
trap - EXIT

echo "== Cold starts (loopback Lambda Runtime API, one real invocation each)"
for fe in get-images/list get-image/get get-tags/all; do
  f=${fe%/*}
  event=functions/$f/events/${fe#*/}.json
  DATABASE_URL="$MYSQL_SERVER/$DB" IMAGE_STORE="$OUT/images" RUST_LOG=warn python3 scripts/lambda-runtime.py "target/release/$f" "$event"
done
DATABASE_URL="$MYSQL_SERVER/$DB" IMAGE_STORE="$OUT/images" RUST_LOG=warn TAGGER=local \
  python3 scripts/lambda-runtime.py target/release/post-image functions/post-image/events/post.json
