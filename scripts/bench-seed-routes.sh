#!/usr/bin/env bash
# What the seeds' compatibility routes cost over the canonical routes they
# wrap (issue 17; `make bench-seed-routes`; budget: at most 5%), on the
# 10,000-picture set with Part 2's facts of scripts/bench-accounts.sh
# (seeded here when missing), the release local API (no model, AUTH=open,
# anonymous), wrk 1 connection then 2 threads x 16 connections, 10 s each:
#   GET /api/images/{sha256}  vs  GET /images/{id}/file   (the same random public pictures)
#   GET /api/stats            vs  GET /stats
#   GET /images/tags          vs  GET /tags
# BENCH_SECONDS (10), BENCH_PORT (18083) override.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

use_port 18083
bench_needs wrk mariadb local-api pictures-tools
seed_facts10k

# The same pictures through both doors: ids and their SHA-256s, in one order.
sql -N "$DB" -e "SELECT id, hash FROM pictures WHERE private = 0 ORDER BY id" >"$OUT/public-id-hash"
cut -f1 "$OUT/public-id-hash" >"$OUT/public-ids"
cut -f2 "$OUT/public-id-hash" >"$OUT/public-hashes"
id_lua "$OUT/file.lua" "/images/{id}/file" "$OUT/public-ids"
id_lua "$OUT/api-image.lua" "/api/images/{id}" "$OUT/public-hashes"

echo "== Query plans"
cols="p.id, p.path, p.size, p.date, p.tag_list, p.owner, p.private, p.name, p.status, p.failure, p.external_id, p.hash, p.format, p.width, p.height, p.camera, p.taken_at, p.gps_lat, p.gps_lon, p.colors, p.phash, p.faces, p.analyzed"
hash=$(head -1 "$OUT/public-hashes")
echo "-- GET /api/images/{sha256}: the search by hash (then the canonical file read by id)"
sql "$DB" -e "EXPLAIN SELECT $cols FROM pictures p WHERE p.id > 0 AND p.private = 0 AND p.hash = '$hash' ORDER BY p.id LIMIT 2"
echo "-- GET /images/{id}/file: the picture by id"
sql "$DB" -e "EXPLAIN SELECT $cols FROM pictures p WHERE p.id = 1"

start_api "$PORT" "$MYSQL_SERVER/$DB" "$OUT/images" AUTH=open
trap stop_api EXIT
id=$(head -1 "$OUT/public-ids")
for path in "/images/$id/file" "/api/images/$hash"; do
  curl -s -o /dev/null -w "$path: %{http_code}, %{size_download} bytes, %{content_type}\n" "$base$path"
done
echo "== wrk ${DURATION}s each"
wrk_pair_header
pairs=(
  "GET /images/{id}/file (random public)|-s $OUT/file.lua $base"
  "GET /api/images/{sha256} (the same pictures)|-s $OUT/api-image.lua $base"
  "GET /stats|$base/stats"
  "GET /api/stats|$base/api/stats"
  "GET /tags|$base/tags"
  "GET /images/tags|$base/images/tags"
)
rows=()
for p in "${pairs[@]}"; do
  name=${p%%|*}
  # shellcheck disable=SC2086
  one=$(wrk_row -t1 -c1 -d"${DURATION}s" ${p#*|})
  # shellcheck disable=SC2086
  many=$(wrk_row -t2 -c16 -d"${DURATION}s" ${p#*|})
  rows+=("$one" "$many")
  echo "| $name | $one | $many |"
done
echo "Compatibility route against the canonical one (budget: at most 5% slower):"
for i in 0 1 2; do
  a=$((4 * i)) b=$((4 * i + 2))
  echo "  ${pairs[$((2 * i + 1))]%%|*} vs ${pairs[$((2 * i))]%%|*}: 1 client $(compare "${rows[$a]}" "${rows[$b]}"); 2x16 clients $(compare "${rows[$((a + 1))]}" "${rows[$((b + 1))]}")"
done
echo "local-api RSS: $(rss_of "$API")"
