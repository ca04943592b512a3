#!/usr/bin/env bash
# The scale benchmark (`make bench-scale`): MariaDB filled with 1,000,000
# pictures and 5,000,000 tag rows (a Zipf-skewed vocabulary of 2,000 tags,
# dates over three years) by tools/seed through the service's own schema,
# then the release local API (no model) loaded with wrk for each read, and the
# query plans printed. SCALE_PICTURES, BENCH_SECONDS, BENCH_PORT override.
# Skips the seeding when the database already holds SCALE_PICTURES pictures.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

N=${SCALE_PICTURES:-1000000}
DB=pictures_scale
OUT=data/scale
use_port 18081
bench_needs wrk mariadb local-api pictures-tools
mkdir -p "$OUT"
# 5M tag rows and their indexes are ~1.5 GB; the 128 MB default would measure the disk.
sql -e "SET GLOBAL innodb_buffer_pool_size = 2147483648"

have=$(sql -N -e "SELECT COUNT(*) FROM $DB.pictures" 2>/dev/null || echo 0)
if [ "$have" != "$N" ]; then
  echo "== Seeding $N pictures (5 tags each, 2,000-tag vocabulary, 3 years)"
  fresh_db "$DB"
  rm -rf "$OUT/images"
  /usr/bin/time -f "seeding: %e s wall, %M KB peak RSS" \
    ./target/release/seed "$MYSQL_SERVER/$DB" "$OUT/images" "$N" 5 2000 1095
fi
sql -N -e "SELECT COUNT(*), (SELECT COUNT(*) FROM $DB.tags), MIN(date), MAX(date) FROM $DB.pictures" |
  awk '{print "pictures " $1 ", tag rows " $2 ", dates " $3 " .. " $5}'

common=tag0000,tag0001
rare=tag0500,tag0900
mixed=tag0000,tag1999
day=$(sql -N -e "SELECT SUBSTR(date, 1, 10) FROM $DB.pictures WHERE id = $((N / 2))")
month_of "$day"

# Once it is idle, the startup orphan sweep has listed the folder and the migrations have run.
start_api "$PORT" "$MYSQL_SERVER/$DB" "$OUT/images"
trap stop_api EXIT

echo "== Query plans (EXPLAIN of the statements the service runs)"
explain() { echo "-- $1"; sql "$DB" -e "EXPLAIN $2"; }
explain "GET /images?tags=$common" \
  "SELECT p.id, p.path, p.size, p.date, p.tag_list FROM tags t0 JOIN tags t1 ON t1.picture_id = t0.picture_id AND t1.tag = 'tag0001' JOIN pictures p ON p.id = t0.picture_id WHERE t0.tag = 'tag0000' AND t0.picture_id > 0 ORDER BY p.id LIMIT 101"
explain "GET /images?tags=$rare" \
  "SELECT p.id, p.path, p.size, p.date, p.tag_list FROM tags t0 JOIN tags t1 ON t1.picture_id = t0.picture_id AND t1.tag = 'tag0900' JOIN pictures p ON p.id = t0.picture_id WHERE t0.tag = 'tag0500' AND t0.picture_id > 0 ORDER BY p.id LIMIT 101"
explain "GET /images?min_date=$month_start&max_date=$month_end (first id of the range)" \
  "SELECT MIN(m) FROM (SELECT MIN(id) AS m FROM pictures WHERE date >= '$month_start 00:00:00' AND date <= '$month_start 23:59:59' UNION ALL SELECT MIN(first_id) FROM picture_days WHERE day > '$month_start' AND day < '$month_end' UNION ALL SELECT MIN(id) FROM pictures WHERE date >= '$month_end 00:00:00' AND date <= '$month_end 23:59:59') firsts"
explain "GET /images?min_date=$day&max_date=$day (the page)" \
  "SELECT p.id, p.path, p.size, p.date, p.tag_list FROM pictures p WHERE p.id > $((N / 2 - 1)) AND p.date >= '$day 00:00:00' AND p.date <= '$day 23:59:59' ORDER BY p.id LIMIT 101"
explain "GET /images/{id}" "SELECT id, path, size, date, tag_list FROM pictures WHERE id = 12345"
explain "GET /tags" "SELECT tag, n_images, sum_confidence, min_confidence, max_confidence FROM tag_totals"
explain "GET /tags?min_date=$month_start&max_date=$month_end (whole days)" \
  "SELECT tag, SUM(n_images), SUM(sum_confidence), MIN(min_confidence), MAX(max_confidence) FROM tag_days WHERE day >= '$month_start' AND day <= '$month_end' GROUP BY tag"


# wrk's figures as "req/s | p50 | p99 | errors".
figures() { wrk_run "$@"; printf '%s | %s | %s | %s' "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_ERRORS"; }
# One client (the latency of a request alone), then 16 (the throughput).
load() {
  local name=$1; shift
  printf '| %-52s | %s | %s |\n' "$name" "$(figures -t1 -c1 -d"${DURATION}s" "$@")" \
    "$(figures -t2 -c16 -d"${DURATION}s" "$@")"
}
range_lua "$OUT/random-id.lua" "$N"
for q in "tags=$common" "tags=$rare" "tags=$mixed" "min_date=$day&max_date=$day" "min_date=$month_start&max_date=$month_end"; do
  printf '%s: %s pictures on the first page\n' "$q" "$(curl -s "$base/images?$q" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
done
if [ -z "${ONLY_CONNECTIONS:-}" ]; then
echo "== Reads (wrk, ${DURATION}s each: 1 connection, then 2 threads x 16 connections)"
echo "| request | 1 client: req/s | p50 | p99 | errors | 16 clients: req/s | p50 | p99 | errors |"
echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |"
load "GET /images?tags=$common (common)" "$base/images?tags=$common"
load "GET /images?tags=$rare (rare)" "$base/images?tags=$rare"
load "GET /images?tags=$mixed (common + rare)" "$base/images?tags=$mixed"
load "GET /images one day ($day)" "$base/images?min_date=$day&max_date=$day"
load "GET /images one month ($month_start)" "$base/images?min_date=$month_start&max_date=$month_end"
load "GET /images/{id} (random ids)" -s "$OUT/random-id.lua" "$base"
load "GET /tags" "$base/tags"
load "GET /tags one month" "$base/tags?min_date=$month_start&max_date=$month_end"
fi
echo "== 1,000 concurrent keep-alive connections (wrk -t2 -c1000 -d${DURATION}s --timeout 10s)"
ulimit -n "$(ulimit -Hn)" # wrk and the API each hold 1,000 sockets
echo "| request | req/s | p50 | p99 | errors |"
echo "| --- | ---: | ---: | ---: | --- |"
printf '| %s | %s |\n' "GET /images/{id}" "$(figures -t2 -c1000 -d"${DURATION}s" --timeout 10s -s "$OUT/random-id.lua" "$base")"
printf '| %s | %s |\n' "GET /images?tags=$rare" "$(figures -t2 -c1000 -d"${DURATION}s" --timeout 10s "$base/images?tags=$rare")"
printf '| %s | %s |\n' "GET /images one day" "$(figures -t2 -c1000 -d"${DURATION}s" --timeout 10s "$base/images?min_date=$day&max_date=$day")"
printf '| %s | %s |\n' "GET /tags" "$(figures -t2 -c1000 -d"${DURATION}s" --timeout 10s "$base/tags")"
echo "local-api RSS: $(rss_of "$API")"
