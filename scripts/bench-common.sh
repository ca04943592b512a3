# Helpers the benchmark scripts share; sourced, not run:
#   . scripts/bench-common.sh
# Every figure is printed with the 1-minute load average (uptime) just before
# and just after it was measured, so a figure taken on a busy machine shows it.

MYSQL_SERVER=${TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}
# Seconds of each wrk run.
DURATION=${BENCH_SECONDS:-10}

sql() { mariadb --protocol=tcp -h127.0.0.1 -uroot "$@"; }
# fresh_db DB: MariaDB database DB, empty.
fresh_db() { sql -e "DROP DATABASE IF EXISTS $1; CREATE DATABASE $1"; }
ensure_wrk() {
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
}
# Every model of `make model`, in data/models (the fetchers are idempotent).
fetch_models() {
  python3 scripts/fetch-model.py >/dev/null
  python3 scripts/fetch-detectors.py >/dev/null
  python3 scripts/fetch-objects.py >/dev/null
}
# bench_needs WHAT...: wrk (installed when missing), mariadb (started when
# not running), models (fetch_models), and the release build of every other
# WHAT, a package (local-api, pictures-tools, ...).
bench_needs() {
  local what packages=()
  for what in "$@"; do
    case $what in
      wrk) ensure_wrk ;;
      mariadb) scripts/ensure-mariadb.sh ;;
      models) fetch_models ;;
      *) packages+=(-p "$what") ;;
    esac
  done
  if [ ${#packages[@]} -gt 0 ]; then cargo build --release -q "${packages[@]}"; fi
}
# use_port DEFAULT: PORT (BENCH_PORT, else DEFAULT) and base, its URL; fails
# when something answers there already.
use_port() {
  PORT=${BENCH_PORT:-$1}
  base="http://127.0.0.1:$PORT"
  if curl -s -o /dev/null "$base/health"; then echo "port $PORT is busy; set BENCH_PORT" >&2; exit 1; fi
}
# The 1-minute load average.
load1() { awk '{print $1}' /proc/loadavg; }
# Waits until something answers HTTP on $1 (a URL).
wait_http() { for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "nothing answers $1" >&2; return 1; }
# Waits until nothing listens on $1 (a URL) any more.
wait_gone() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" || return 0; sleep 0.1; done; return 1; }
rss_of() { awk '/^VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
peak_of() { awk '/^VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }

# wrk_run ARG...: one `wrk --latency`; its figures in WRK_RPS (req/s),
# WRK_P50, WRK_P99, WRK_ERRORS ("0", else wrk's error lines), WRK_REQUESTS
# (how many were sent) and WRK_LOAD ("load before → after").
wrk_run() {
  local out before
  before=$(load1)
  out=$(wrk --latency "$@")
  WRK_RPS=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  WRK_P50=$(awk '$1=="50%" {print $2}' <<<"$out")
  WRK_P99=$(awk '$1=="99%" {print $2}' <<<"$out")
  WRK_ERRORS=$(awk '/Non-2xx|Socket errors/ {e=e $0 "; "} END {print (e=="" ? "0" : e)}' <<<"$out")
  WRK_REQUESTS=$(awk '/requests in/ {print $1}' <<<"$out")
  WRK_LOAD="$before → $(load1)"
}
# wrk's figures as "req/s | p50 | p99 | errors | load before → after".
wrk_row() {
  wrk_run "$@"
  printf '%s | %s | %s | %s | %s' "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_ERRORS" "$WRK_LOAD"
}
# One request alone (1 connection), then 2 threads x 16 connections; a table row.
wrk_pair() {
  local name=$1; shift
  printf '| %s | %s | %s |\n' "$name" \
    "$(wrk_row -t1 -c1 -d"${DURATION}s" "$@")" \
    "$(wrk_row -t2 -c16 -d"${DURATION}s" "$@")"
}
wrk_pair_header() {
  echo "| request | 1 client: req/s | p50 | p99 | errors | load | 2x16 clients: req/s | p50 | p99 | errors | load |"
  echo "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | --- | --- |"
}

# A wrk script that GETs $2 with {id} replaced by ids (or hashes) drawn at
# random from the file $3 (one per line): `id_lua OUT PATTERN LIST`.
id_lua() {
  {
    echo 'local ids = {}'
    echo "for line in io.lines(\"$3\") do ids[#ids + 1] = line end"
    echo 'math.randomseed(os.time())'
    echo "local pattern = \"$2\""
    echo 'request = function()'
    echo '  local path = pattern:gsub("{id}", ids[math.random(1, #ids)])'
    echo '  return wrk.format("GET", path)'
    echo 'end'
  } >"$1"
}

# range_lua OUT N: a wrk script that GETs /images/{id} of ids drawn at
# random from 1..N.
range_lua() {
  cat >"$1" <<LUA
math.randomseed(os.time())
request = function() return wrk.format("GET", "/images/" .. math.random(1, $2)) end
LUA
}
# month_of DAY: month_start and month_end, the first and the last day of
# the month of DAY (anything `date -d` reads: "2024-05-17", "6 months ago").
month_of() {
  month_start=$(date -u -d "$1" +%Y-%m-01)
  month_end=$(date -u -d "$month_start +1 month -1 day" +%Y-%m-%d)
}
# jpeg_of JSON JPEG: the picture of a `{"data": <base64>}` body (bench-tagger
# writes photo-500k.json) as a file.
jpeg_of() {
  python3 -c 'import base64, json, sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["data"]))' \
    "$1" >"$2"
}

# Uploads of distinct bytes: `post_lua OUT JPEG [PATH=/images]` writes a wrk
# script whose every request is `POST PATH {"data": <base64>}` of the JPEG
# (zero-padded to a multiple of 3 bytes, so its base64 has no '=') followed
# by 33 bytes naming the run, the thread and the request. Decoders stop at
# the JPEG's end marker and ignore what follows, so every upload is the same
# picture to the tagger and a different SHA-256 to the service: no upload is
# answered from de-duplication. BENCH_NONCE (environment) names the run.
post_lua() {
  local out=$1 jpeg=$2 path=${3:-/images}
  python3 - "$jpeg" "$out.b64" <<'PY'
import base64, sys
data = open(sys.argv[1], "rb").read()
assert data[:2] == b"\xff\xd8" and data.rstrip(b"\0")[-2:] == b"\xff\xd9", "a whole JPEG"
data += b"\0" * (-len(data) % 3)
open(sys.argv[2], "wb").write(base64.b64encode(data))
PY
  cat >"$out" <<LUA
local f = io.open("$out.b64", "rb")
local prefix = f:read("*a")
f:close()
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + b * 256 + c
    for shift = 18, 0, -6 do
      local k = math.floor(n / 2 ^ shift) % 64
      out[#out + 1] = alphabet:sub(k + 1, k + 1)
    end
  end
  return table.concat(out)
end
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
request = function()
  counter = counter + 1
  local tail = string.format("%-19s-%02d-%09d.", nonce:sub(1, 19), tid or 0, counter)
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", "$path", nil, '{"data":"' .. prefix .. b64(tail) .. '"}')
end
LUA
}

# api_env PORT DATABASE_URL IMAGE_STORE: API_ENV, the local API's settings
# here: without a model (Imagga is configured with keys it never uses), no
# credentials file, no sweep of recent files, 16 database connections.
api_env() {
  API_ENV=(DATABASE_URL="$2" IMAGE_STORE="$3" BIND="127.0.0.1:$1" RUST_LOG=warn
    TAGGER=imagga IMAGGA_API_KEY=unused IMAGGA_API_SECRET=unused IMAGEKIT_PRIVATE_KEY=unused
    ORPHAN_GRACE_SECS=86400 DB_MAX_CONNECTIONS=16 CREDENTIALS_FILE=/nonexistent)
}
# start_api PORT DATABASE_URL IMAGE_STORE [VAR=value...]: the release local
# API in the background (sets API) with api_env's settings and the extra
# variables (TAGGER=local: the on-device tagger); returns once it answers
# and is idle.
start_api() {
  local port=$1
  api_env "$@"
  shift 3
  env "${API_ENV[@]}" "$@" ./target/release/local-api &
  API=$!
  wait_http "http://127.0.0.1:$port/health"
  settle "$API"
}
# run_api PORT DATABASE_URL IMAGE_STORE COMMAND...: a command of the release
# local API (backfill, ...) in the foreground, with api_env's settings.
run_api() {
  api_env "$@"
  shift 3
  env "${API_ENV[@]}" ./target/release/local-api "$@"
}
stop_api() { kill "$API" 2>/dev/null || true; wait "$API" 2>/dev/null || true; }
# Waits until process $1 has been idle (under 2% of a core) for a second:
# the local API's start-up sweep and backfill are done.
settle() {
  local ticks last now quiet=0
  last=$(awk '{print $14 + $15}' "/proc/$1/stat")
  for _ in $(seq 1 600); do
    sleep 0.5
    now=$(awk '{print $14 + $15}' "/proc/$1/stat")
    if [ $((now - last)) -le 1 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    last=$now
    [ "$quiet" -ge 2 ] && return 0
  done
}
# Milliseconds of a wrk latency ("812.00us", "1.23ms", "1.02s").
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
# Field $2 (1: req/s, 2: p50, 3: p99) of the wrk_row in $1.
field() { awk -F' \\| ' -v k="$2" '{print $k}' <<<"$1"; }
# "B is x% of A" for two wrk rows: requests/s and p50.
compare() {
  local a=$1 b=$2
  awk -v ra="$(field "$a" 1)" -v rb="$(field "$b" 1)" \
      -v pa="$(to_ms "$(field "$a" 2)")" -v pb="$(to_ms "$(field "$b" 2)")" \
      'BEGIN { printf "req/s %+.1f%%, p50 %+.1f%%", (rb / ra - 1) * 100, (pb / pa - 1) * 100 }'
}

# seed_facts DB OUT PICTURES USERS [TAGS VOCABULARY DAYS]: MariaDB database
# DB filled by `seed --facts USERS` (files under OUT/images), unless it
# already holds that many pictures and keys.
seed_facts() {
  local db=$1 out=$2 n=$3 users=$4 per=${5:-5} vocabulary=${6:-200} days=${7:-365} have
  have=$(sql -N -e "SELECT (SELECT COUNT(*) FROM $db.pictures) * 10000 + (SELECT COUNT(*) FROM $db.api_keys)" 2>/dev/null || echo 0)
  if [ "$have" != "$((n * 10000 + users))" ]; then
    echo "== Seeding $n pictures with Part 2's facts, $users users (seed --facts $users ... $n $per $vocabulary $days)"
    fresh_db "$db"
    rm -rf "$out/images"
    mkdir -p "$out"
    /usr/bin/time -f "seeding: %e s wall, %M KB peak RSS" \
      ./target/release/seed --facts "$users" "$MYSQL_SERVER/$db" "$out/images" "$n" "$per" "$vocabulary" "$days"
  else
    echo "== $db already holds $n pictures and $users keys (seeding skipped)"
  fi
}

# seed_facts10k: N, USERS, DB and OUT of the 10,000-picture set with Part
# 2's facts (100 users) that bench-accounts and bench-seed-routes share,
# seeded when missing.
seed_facts10k() {
  N=10000 USERS=100 DB=pictures_facts10k OUT=data/bench-facts10k
  seed_facts "$DB" "$OUT" "$N" "$USERS"
}

# explain_requests DB ITEM...: each ITEM is "URL" or "URL|Header: value";
# the request is sent once with MariaDB's general log on (as a table), and
# every SELECT the service ran for it (prepared statements, values filled
# in) is printed with its EXPLAIN: the plans of what is measured, whatever
# the code's SQL is today.
explain_requests() {
  local db=$1 item url hdr stmt
  shift
  sql -e "SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = 1"
  for item in "$@"; do
    url=${item%%|*}
    hdr=
    [[ $item == *"|"* ]] && hdr=${item#*|}
    echo "-- GET /${url#http://*/}${hdr:+ ($hdr)}"
    sql -e "TRUNCATE mysql.general_log"
    if [ -n "$hdr" ]; then curl -s -o /dev/null -H "$hdr" "$url"; else curl -s -o /dev/null "$url"; fi
    sleep 0.3
    sql -N -B --raw -e "SELECT DISTINCT CONVERT(argument USING utf8mb4) FROM mysql.general_log
      WHERE command_type = 'Execute' AND CONVERT(argument USING utf8mb4) LIKE 'SELECT%'
        AND CONVERT(argument USING utf8mb4) NOT LIKE '%tag_queue%'" |
      while IFS= read -r stmt; do
        printf '%s\n' "${stmt:0:400}$([ ${#stmt} -gt 400 ] && echo " ... (${#stmt} characters)")"
        # The log can hold a statement as prepared (placeholders, no values): no plan for it.
        case $stmt in *"?"*) echo "(logged without its values: no plan)"; continue ;; esac
        sql "$db" -e "EXPLAIN $stmt" </dev/null || echo "(no plan for this statement)"
      done
  done
  sql -e "SET GLOBAL general_log = 0; TRUNCATE mysql.general_log"
}
