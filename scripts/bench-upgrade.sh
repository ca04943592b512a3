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

N=${BENCH_PICTURES:-10000}
DURATION=${BENCH_SECONDS:-10}
PORT=${BENCH_PORT:-18080}
READS=${BENCH_READS:-1}
MYSQL_SERVER=${TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}
OUT=data/bench-upgrade
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
scripts/ensure-mariadb.sh
cargo build --release -q -p local-api && cargo build --release -q -p pictures-tools --bin seed
mkdir -p "$OUT"

wait_port() { for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/tags" && return 0; sleep 0.1; done; return 1; }
load() {
  local name=$1; shift
  local out rps p50 p99
  out=$(wrk --latency "$@")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '| %-16s | %-36s | %9s | %8s | %8s |\n' "$DBKIND" "$name" "$rps" "$p50" "$p99"
}
api() {
  DATABASE_URL="$1" IMAGE_STORE="$2" BIND="127.0.0.1:$PORT" RUST_LOG=warn \
    TAGGER=imagga IMAGGA_API_KEY=unused IMAGGA_API_SECRET=unused IMAGEKIT_PRIVATE_KEY=unused \
    DB_MAX_CONNECTIONS=16 ./target/release/local-api "${@:3}"
}

kinds=$([ "$READS" = 0 ] && echo seed || echo seed native)
for kind in $kinds; do
  db=pictures_upgrade_$kind
  mariadb --protocol=tcp -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  rm -rf "$OUT/$kind"
  flag=$([ "$kind" = seed ] && echo --seed-app || true)
  ./target/release/seed $flag "$MYSQL_SERVER/$db" "$OUT/$kind" "$N" 5 200 365
done

echo "== First start on the seed database ($N pictures, $((N * 5)) tag rows)"
start=$(date +%s.%N)
api "$MYSQL_SERVER/pictures_upgrade_seed" "$OUT/seed" backfill
end=$(date +%s.%N)
printf 'first start (migration + backfill): %.1f s\n' "$(echo "$end - $start" | bc)"
start=$(date +%s.%N)
api "$MYSQL_SERVER/pictures_upgrade_seed" "$OUT/seed" backfill >/dev/null
end=$(date +%s.%N)
printf 'second start (nothing to do): %.2f s\n' "$(echo "$end - $start" | bc)"

[ "$READS" = 0 ] && exit 0
month_start=$(date -u -d "6 months ago" +%Y-%m-01)
month_end=$(date -u -d "$month_start +1 month -1 day" +%Y-%m-%d)
cat > "$OUT/random-id.lua" <<LUA
math.randomseed(os.time())
request = function() return wrk.format("GET", "/images/" .. math.random(1, $N)) end
LUA
base="http://127.0.0.1:$PORT"
printf '| %-16s | %-36s | %9s | %8s | %8s |\n' database request req/s p50 p99
printf '|%s|%s|%s|%s|%s|\n' ------------------ -------------------------------------- ----------- ---------- ----------
if curl -s -o /dev/null "$base/tags"; then echo "port $PORT is busy; set BENCH_PORT" >&2; exit 1; fi
for kind in native seed; do
  DBKIND=$kind
  api "$MYSQL_SERVER/pictures_upgrade_$kind" "$OUT/$kind" &
  API=$!
  trap 'pkill -P $API 2>/dev/null; kill $API 2>/dev/null || true' EXIT
  wait_port
  load "GET /images/{id} (random)" -t2 -c16 -d"${DURATION}s" -s "$OUT/random-id.lua" "$base"
  load "GET /images?tags=tag0000,tag0001" -t2 -c16 -d"${DURATION}s" "$base/images?tags=tag0000,tag0001"
  load "GET /images one month" -t2 -c16 -d"${DURATION}s" "$base/images?min_date=$month_start&max_date=$month_end"
  load "GET /tags" -t2 -c16 -d"${DURATION}s" "$base/tags"
  # $API is the subshell running api(); the local API is its child.
  pkill -P $API 2>/dev/null || true; kill $API 2>/dev/null || true; wait $API 2>/dev/null || true
  trap - EXIT
  while curl -s -o /dev/null "$base/tags"; do sleep 0.2; done
done
