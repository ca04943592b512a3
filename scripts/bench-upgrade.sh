#!/usr/bin/env bash
# An existing user's first start (`make bench-upgrade`): a MariaDB database
# made by the original assignment's statements and filled the way its app
# fills it (TEXT columns, no sizes, no tag lists, no statistics), then
#  1. the first start timed: migration (column conversion, cascade, indexes,
#     statistics) and the backfill of sizes and tag lists;
#  2. the reads of `make bench` on it, beside the same reads on a database
#     the service wrote itself (same pictures, same tags).
# BENCH_PICTURES (10,000) sets the size; BENCH_READS=0 skips part 2.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

N=${BENCH_PICTURES:-10000}
READS=${BENCH_READS:-1}
OUT=data/bench-upgrade
use_port 18080
bench_needs wrk mariadb local-api
cargo build --release -q -p pictures-tools --bin seed
mkdir -p "$OUT"

# One row: the database, the request, req/s, p50, p99.
load() {
  local name=$1; shift
  wrk_run "$@"
  printf '| %-16s | %-36s | %9s | %8s | %8s |\n' "$DBKIND" "$name" "$WRK_RPS" "$WRK_P50" "$WRK_P99"
}

kinds=$([ "$READS" = 0 ] && echo seed || echo seed native)
for kind in $kinds; do
  db=pictures_upgrade_$kind
  fresh_db "$db"
  rm -rf "$OUT/$kind"
  flag=$([ "$kind" = seed ] && echo --seed-app || true)
  ./target/release/seed $flag "$MYSQL_SERVER/$db" "$OUT/$kind" "$N" 5 200 365
done

echo "== First start on the seed database ($N pictures, $((N * 5)) tag rows)"
start=$(date +%s.%N)
run_api "$PORT" "$MYSQL_SERVER/pictures_upgrade_seed" "$OUT/seed" backfill
end=$(date +%s.%N)
printf 'first start (migration + backfill): %.1f s\n' "$(echo "$end - $start" | bc)"
start=$(date +%s.%N)
run_api "$PORT" "$MYSQL_SERVER/pictures_upgrade_seed" "$OUT/seed" backfill >/dev/null
end=$(date +%s.%N)
printf 'second start (nothing to do): %.2f s\n' "$(echo "$end - $start" | bc)"

[ "$READS" = 0 ] && exit 0
month_of "6 months ago"
range_lua "$OUT/random-id.lua" "$N"
printf '| %-16s | %-36s | %9s | %8s | %8s |\n' database request req/s p50 p99
printf '|%s|%s|%s|%s|%s|\n' ------------------ -------------------------------------- ----------- ---------- ----------
for kind in native seed; do
  DBKIND=$kind
  start_api "$PORT" "$MYSQL_SERVER/pictures_upgrade_$kind" "$OUT/$kind"
  trap stop_api EXIT
  load "GET /images/{id} (random)" -t2 -c16 -d"${DURATION}s" -s "$OUT/random-id.lua" "$base"
  load "GET /images?tags=tag0000,tag0001" -t2 -c16 -d"${DURATION}s" "$base/images?tags=tag0000,tag0001"
  load "GET /images one month" -t2 -c16 -d"${DURATION}s" "$base/images?min_date=$month_start&max_date=$month_end"
  load "GET /tags" -t2 -c16 -d"${DURATION}s" "$base/tags"
  stop_api
  trap - EXIT
  wait_gone "$base/health"
done
