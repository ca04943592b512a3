#!/usr/bin/env bash
# What accounts cost (issue 10; `make bench-accounts`):
#  1. MariaDB seeded with 10,000 pictures and Part 2's facts (`seed --facts
#     100`: 100 users with keys bench-key-0..99, owners, private pictures),
#     the release local API (no model) run twice: AUTH=open and no key, then
#     AUTH=required with a user's key (x-api-key: bench-key-7). Each is
#     loaded with wrk, 1 connection then 2 threads x 16 connections, for
#     GET /images/{id} (random public ids) and a two-tag search; the key's
#     figures should be within 15% of the keyless ones.
#  2. tools/bench-keys: the cost of one key check (caller_for_key) over
#     10,000 calls, on that MariaDB database and on a fresh SQLite one.
# (GET /tags for one user among 1,000 on the 1,000,000-picture set is in
# scripts/bench-analysis.sh, which has that set.)
# BENCH_SECONDS (10), BENCH_PORT (18082) override; the seeding is skipped
# when the database already holds the set.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

KEY=bench-key-7
use_port 18082
bench_needs wrk mariadb local-api pictures-tools

seed_facts10k
sql -N "$DB" -e "SELECT COUNT(*), SUM(private = 0), SUM(owner = 'user0007'), SUM(owner = 'user0007' AND private = 1) FROM pictures" |
  awk '{print "pictures " $1 ", public " $2 ", of user0007 " $3 " (" $4 " private)"}'
sql -N "$DB" -e "SELECT id FROM pictures WHERE private = 0" >"$OUT/public-ids"
id_lua "$OUT/random-id.lua" "/images/{id}" "$OUT/public-ids"

echo "== Query plans"
cols="p.id, p.path, p.size, p.date, p.tag_list, p.owner, p.private, p.name, p.status, p.failure, p.external_id, p.hash, p.format, p.width, p.height, p.camera, p.taken_at, p.gps_lat, p.gps_lon, p.colors, p.phash, p.faces, p.analyzed"
search="SELECT $cols FROM tags t0 JOIN tags t1 ON t1.picture_id = t0.picture_id AND t1.tag = 'tag0001' JOIN pictures p ON p.id = t0.picture_id WHERE t0.tag = 'tag0000' AND t0.picture_id > 0"
echo "-- GET /images?tags=tag0000,tag0001, anonymous"
sql "$DB" -e "EXPLAIN $search AND t0.scope IN ('') AND p.private = 0 ORDER BY p.id LIMIT 101"
echo "-- the same search as user0007"
sql "$DB" -e "EXPLAIN $search AND t0.scope IN ('', 'user0007') AND (p.private = 0 OR p.owner = 'user0007') ORDER BY p.id LIMIT 101"
echo "-- the key check"
sql "$DB" -e "EXPLAIN SELECT k.id, k.key_hash, k.user_id, u.email, k.last_used FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = SHA2('$KEY', 256)"

echo "== Reads without and with a key (wrk ${DURATION}s each)"
rows=()
for mode in open required; do
  if [ "$mode" = open ]; then hdr=(); else hdr=(-H "x-api-key: $KEY"); fi
  start_api "$PORT" "$MYSQL_SERVER/$DB" "$OUT/images" AUTH=$mode
  trap stop_api EXIT
  if [ "$mode" = required ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/images?tags=tag0000")
    echo "AUTH=required without a key: $code; with $KEY: $(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY" "$base/images?tags=tag0000")"
  fi
  for target in "-s $OUT/random-id.lua $base" "$base/images?tags=tag0000,tag0001"; do
    # shellcheck disable=SC2086
    one=$(wrk_row -t1 -c1 -d"${DURATION}s" "${hdr[@]}" $target)
    # shellcheck disable=SC2086
    many=$(wrk_row -t2 -c16 -d"${DURATION}s" "${hdr[@]}" $target)
    rows+=("$one" "$many")
  done
  echo "local-api RSS (AUTH=$mode): $(rss_of "$API")"
  stop_api
  trap - EXIT
  wait_gone "$base/health"
done
names=("GET /images/{id} (random public ids)" "GET /images?tags=tag0000,tag0001")
echo "| request | caller | 1 client: req/s | p50 | p99 | errors | load | 2x16 clients: req/s | p50 | p99 | errors | load |"
echo "| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- | --- |"
for i in 0 1; do
  echo "| ${names[$i]} | AUTH=open, no key | ${rows[$((2 * i))]} | ${rows[$((2 * i + 1))]} |"
  echo "| ${names[$i]} | AUTH=required, $KEY | ${rows[$((4 + 2 * i))]} | ${rows[$((4 + 2 * i + 1))]} |"
done
echo "With the key against without (budget: within 15%):"
for i in 0 1; do
  echo "  ${names[$i]}: 1 client $(compare "${rows[$((2 * i))]}" "${rows[$((4 + 2 * i))]}"); 2x16 clients $(compare "${rows[$((2 * i + 1))]}" "${rows[$((4 + 2 * i + 1))]}")"
done

echo "== One key check (tools/bench-keys, 10,000 calls)"
./target/release/bench-keys "$MYSQL_SERVER/$DB" 10000 "$USERS"
rm -rf "$OUT/sqlite" && mkdir -p "$OUT/sqlite"
./target/release/bench-keys "sqlite://$OUT/sqlite/keys.db" 10000 "$USERS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
