#!/usr/bin/env bash
# The people detector's cost (issue 14; `make bench-people`):
#  1. tools/bench-people: face + person detection per image on one thread
#     (budget 10 ms), and the RSS of a process holding all three models;
#  2. POST /images (JSON, the ~500 KB photo of bench-tagger, different bytes
#     every request: scripts/bench-common.sh post_lua) against the release
#     local API on SQLite with the on-device tagger, PEOPLE_DETECTOR=off then
#     on, wrk 1 connection 10 s: the p50 difference (budget +15 ms), and the
#     API's RSS with every model after the uploads (budget 180 MB).
# The cold start of post-image with every model is in scripts/bench-lambda.sh.
# BENCH_SECONDS (10), BENCH_PORT (18086) override.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

OUT=data/bench-people
use_port 18086
bench_needs wrk models local-api pictures-tools
mkdir -p "$OUT"

echo "== bench-people (one thread), load $(load1)"
./target/release/bench-people data/models
echo "load after: $(load1)"

echo "== POST /images, PEOPLE_DETECTOR off and on (wrk -t1 -c1 -d${DURATION}s)"
./target/release/bench-tagger data/models "$OUT" | tail -1
jpeg_of "$OUT/photo-500k.json" "$OUT/photo-500k.jpg"
post_lua "$OUT/post.lua" "$OUT/photo-500k.jpg"
echo "| PEOPLE_DETECTOR | req/s | p50 | p99 | errors | load | pictures stored | RSS after | peak RSS |"
echo "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"
rows=()
for people in off on; do
  rm -rf "$OUT/$people" && mkdir -p "$OUT/$people"
  start_api "$PORT" "sqlite://$OUT/$people/pictures.db" "$OUT/$people/images" TAGGER=local MODEL_DIR=data/models PEOPLE_DETECTOR=$people
  trap stop_api EXIT
  idle=$(rss_of "$API")
  export BENCH_NONCE=$(date +%s%N)
  row=$(wrk_row -t1 -c1 -d"${DURATION}s" -s "$OUT/post.lua" "$base/images")
  rows+=("$row")
  stored=$(sqlite3 "$OUT/$people/pictures.db" 'SELECT COUNT(*) FROM pictures')
  echo "| $people | $row | $stored | $(rss_of "$API") (idle $idle) | $(peak_of "$API") |"
  stop_api
  trap - EXIT
  wait_gone "$base/health"
done
echo "on against off: $(compare "${rows[0]}" "${rows[1]}"); p50 $(to_ms "$(field "${rows[0]}" 2)") ms → $(to_ms "$(field "${rows[1]}" 2)") ms"
