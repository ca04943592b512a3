#!/usr/bin/env bash
# Uploads at scale (issue 12; `make bench-uploads`): 1,000 distinct ~500 KB
# JPEGs (tools/make-photos: the fixture photos cropped, enlarged, colour-
# shifted per index, quality 90, in data/bench-photos), sent to the release
# local API on SQLite with the on-device tagger (TAGGER=local, every model
# of `make model`) as multipart `POST /images?async=true` forms of 50 files
# (curl -F), by FORM_CLIENTS clients at once, each posting its share of the
# 20 forms one after another. For each number of clients, on a fresh
# database:
#   accepted files/s  1,000 / (first form sent .. last form answered)   budget >= 100
#   tagged files/s    1,000 / (first form sent .. GET /images?status=pending is empty)  budget >= 30
#   peak RSS of local-api (VmHWM)                                       budget 300 MB
#   the same 1,000 again: files/s (all answered from de-duplication)    budget >= 500
#   pictures stored (must be 1,000: nothing stored twice)
# First, what one of the photos costs on one thread, phase by phase
# (tools/bench-picture). FORM_CLIENTS ("1 4"), BENCH_PORT (18085) override.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

COUNT=1000
PER_FORM=50
CLIENTS_LIST=${FORM_CLIENTS:-1 4}
OUT=data/bench-uploads
PHOTOS=data/bench-photos
use_port 18085
bench_needs models local-api pictures-tools

echo "== Photos (tools/make-photos $COUNT $PHOTOS)"
./target/release/make-photos "$COUNT" "$PHOTOS"
mapfile -t photos < <(ls "$PHOTOS"/photo-*.jpg | head -n "$COUNT")
[ "${#photos[@]}" = "$COUNT" ] || { echo "expected $COUNT photos" >&2; exit 1; }
forms=$((COUNT / PER_FORM))
echo "== One picture's CPU, phase by phase (tools/bench-picture, one thread), load $(load1)"
./target/release/bench-picture "${photos[0]}" data/models

now() { date +%s.%N; }
# post_forms CLIENTS TAG: every form once, CLIENTS at a time; answers in $OUT/answers-TAG-<form>.json.
post_forms() {
  local clients=$1 tag=$2 c pids=()
  for c in $(seq 0 $((clients - 1))); do
    (
      for f in $(seq "$c" "$clients" $((forms - 1))); do
        args=()
        for p in "${photos[@]:$((f * PER_FORM)):$PER_FORM}"; do args+=(-F "files=@$p;type=image/jpeg"); done
        curl -s -S --fail-with-body "${args[@]}" "$base/images?async=true" >"$OUT/answers-$tag-$f.json"
      done
    ) &
    pids+=($!)
  done
  # Only the clients: a bare `wait` would wait for the local API too.
  wait "${pids[@]}"
}
# How many files the answers of TAG registered, and their errors.
tally() {
  python3 - "$OUT" "$1" "$forms" <<'PY'
import json, sys
out, tag, forms = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids, errors = {}, {}
for f in range(forms):
    a = json.load(open(f"{out}/answers-{tag}-{f}.json"))
    ids.update(a["ids"])
    errors.update(a["errors"])
print(f"{len(ids)} files registered, {len(set(ids.values()))} distinct ids, {len(errors)} errors {list(errors.items())[:2]}")
PY
}
pending() { curl -s "$base/images?status=pending&limit=1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

echo "| clients | accepted files/s | tagged files/s (from the first form) | tagging after the last form | peak RSS | again: files/s | pictures stored | load |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
results=()
for clients in $CLIENTS_LIST; do
  rm -rf "$OUT/$clients" && mkdir -p "$OUT/$clients"
  start_api "$PORT" "sqlite://$OUT/$clients/pictures.db" "$OUT/$clients/images" TAGGER=local MODEL_DIR=data/models
  trap stop_api EXIT
  echo "clients $clients: local-api idle with every model: RSS $(rss_of "$API")" >&2
  before=$(load1)
  t0=$(now)
  post_forms "$clients" "new-$clients"
  t1=$(now)
  echo "clients $clients, first upload: $(tally "new-$clients"); $(pending) or more still pending at the last answer" >&2
  while [ "$(pending)" != 0 ]; do sleep 0.1; done
  t2=$(now)
  failed=$(curl -s "$base/images?status=failed&limit=100" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  peak=$(peak_of "$API")
  t3=$(now)
  post_forms "$clients" "again-$clients"
  t4=$(now)
  echo "clients $clients, again: $(tally "again-$clients"); failed tagging: $failed" >&2
  python3 - "$OUT" "$clients" "$forms" <<'PY' >&2
import json, sys
out, c, forms = sys.argv[1], sys.argv[2], int(sys.argv[3])
first, again = {}, {}
for f in range(forms):
    first.update(json.load(open(f"{out}/answers-new-{c}-{f}.json"))["ids"])
    again.update(json.load(open(f"{out}/answers-again-{c}-{f}.json"))["ids"])
same = sum(1 for k in first if again.get(k) == first[k])
print(f"clients {c}: {same} of {len(first)} files answered again with the id of their first upload")
PY
  stored=$(sqlite3 "$OUT/$clients/pictures.db" "SELECT COUNT(*) || ' (' || COUNT(DISTINCT hash) || ' distinct hashes, ' || SUM(status = 'tagged') || ' tagged)' FROM pictures")
  files=$(find "$OUT/$clients/images" -type f -name '*.*' | wc -l)
  printf '| %s | %.0f (%.1f s) | %.1f (%.1f s) | %.1f s | %s | %.0f (%.2f s) | %s, %s files | %s → %s |\n' \
    "$clients" "$(echo "$COUNT / ($t1 - $t0)" | bc -l)" "$(echo "$t1 - $t0" | bc -l)" \
    "$(echo "$COUNT / ($t2 - $t0)" | bc -l)" "$(echo "$t2 - $t0" | bc -l)" "$(echo "$t2 - $t1" | bc -l)" \
    "$peak" "$(echo "$COUNT / ($t4 - $t3)" | bc -l)" "$(echo "$t4 - $t3" | bc -l)" "$stored" "$files" "$before" "$(load1)"
  stop_api
  trap - EXIT
  wait_gone "$base/health"
done
