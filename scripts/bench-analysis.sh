#!/usr/bin/env bash
# Analysis and accounts at 1,000,000 pictures (issues 13 and 10;
# `make bench-analysis`): MariaDB filled by `seed --facts 1000 ... 1000000 5
# 2000 1095` (bench-scale's pictures and tags, plus owners among 1,000 users,
# private pictures, names with trigrams, cameras, formats, dominant colours
# and perceptual hashes), the release local API (no model, AUTH=open), wrk
# 1 connection then 2 threads x 16 connections, 10 s each:
#   GET /images/{id}/similar?max_distance=8 (random public ids)   budget p50 20 ms
#   GET /images?name=wedding, ?name=glacier-snow                  budget p50 50 ms
#   GET /stats with a user's key                                  budget p50 10 ms
#   GET /images?color=%23808080
#   GET /tags with a user's key (one of 1,000 users)              budget p50 10 ms
# with the EXPLAIN of every statement each runs (captured from MariaDB's
# general log), then the analysis cost of one upload (bench-analysis).
# BENCH_SECONDS (10), BENCH_PORT (18084) override; seeding is skipped when
# the database already holds the set.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

N=${SCALE_PICTURES:-1000000}
USERS=1000
DB=pictures_facts1m
OUT=data/bench-facts1m
KEY=bench-key-7
use_port 18084
bench_needs wrk mariadb local-api pictures-tools
# 5M tag rows, 5M colour rows, ~10M trigram rows and their indexes: ~4 GB.
sql -e "SET GLOBAL innodb_buffer_pool_size = 4294967296"
seed_facts "$DB" "$OUT" "$N" "$USERS" 5 2000 1095

sql -N "$DB" -e "SELECT COUNT(*), SUM(private = 1), SUM(name IS NOT NULL), SUM(camera IS NOT NULL),
  SUM(LOWER(name) LIKE '%wedding%'), SUM(LOWER(name) LIKE '%glacier-snow%'),
  SUM(owner = 'user0007'), SUM(owner = 'user0007' AND private = 1) FROM pictures" |
  awk '{print "pictures " $1 " (" $2 " private), named " $3 ", with a camera " $4 "; names with wedding " $5 ", with glacier-snow " $6 "; user0007 owns " $7 " (" $8 " private)"}'
sql -N "$DB" -e "SELECT (SELECT COUNT(*) FROM tags), (SELECT COUNT(*) FROM picture_colors), (SELECT COUNT(*) FROM name_trigrams),
  (SELECT COUNT(*) FROM tag_totals), (SELECT COUNT(*) FROM tag_totals WHERE scope = 'user0007'), (SELECT COUNT(*) FROM picture_stats)" |
  awk '{print "tag rows " $1 ", colour rows " $2 ", trigram rows " $3 "; tag_totals " $4 " (" $5 " of user0007), picture_stats " $6}'
sql -N "$DB" -e "SELECT id FROM pictures WHERE private = 0 ORDER BY RAND(7) LIMIT 20000" >"$OUT/public-ids"
id_lua "$OUT/similar.lua" "/images/{id}/similar?max_distance=8" "$OUT/public-ids"

start_api "$PORT" "$MYSQL_SERVER/$DB" "$OUT/images" AUTH=open
trap stop_api EXIT
id=$(head -1 "$OUT/public-ids")
count() { curl -s ${2:+-H "$2"} "$base$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d) if isinstance(d, list) else {k: len(v) if isinstance(v, list) else v for k, v in d.items()})'; }
echo "answers: similar to $id: $(count "/images/$id/similar?max_distance=8"); name=wedding: $(count "/images?name=wedding"); name=glacier-snow: $(count "/images?name=glacier-snow"); color=#808080: $(count "/images?color=%23808080"); /tags as user0007: $(count /tags "x-api-key: $KEY") tags"
echo "/stats as user0007: $(curl -s -H "x-api-key: $KEY" "$base/stats" | head -c 400)"
echo
echo "== Query plans (every SELECT each request ran, from the general log)"
explain_requests "$DB" \
  "$base/images/$id/similar?max_distance=8" \
  "$base/images?name=wedding" \
  "$base/images?name=glacier-snow" \
  "$base/stats|x-api-key: $KEY" \
  "$base/images?color=%23808080" \
  "$base/tags|x-api-key: $KEY"

echo "== wrk ${DURATION}s each"
wrk_pair_header
wrk_pair "GET /images/{id}/similar?max_distance=8 (random public ids)" -s "$OUT/similar.lua" "$base"
wrk_pair "GET /images?name=wedding" "$base/images?name=wedding"
wrk_pair "GET /images?name=glacier-snow" "$base/images?name=glacier-snow"
wrk_pair "GET /stats (x-api-key: $KEY)" -H "x-api-key: $KEY" "$base/stats"
wrk_pair "GET /stats (anonymous)" "$base/stats"
wrk_pair "GET /images?color=%23808080" "$base/images?color=%23808080"
wrk_pair "GET /tags (x-api-key: $KEY, one of $USERS users)" -H "x-api-key: $KEY" "$base/tags"
wrk_pair "GET /tags (anonymous)" "$base/tags"
echo "local-api RSS: $(rss_of "$API")"
stop_api
trap - EXIT

echo "== Analysis cost of one upload (cargo run --release -p pictures-tools --bin bench-analysis), load $(load1)"
cargo run --release -q -p pictures-tools --bin bench-analysis
echo "load after: $(load1)"
