#!/usr/bin/env bash
# Phone photos (issue 27; `make bench-phone`): a 12-megapixel photo as HEIC,
# AVIF and JPEG of the same pixels (the cat of the fixtures enlarged to
# 4032x3024 with a little grain, encoded by pillow-heif / Pillow at the
# qualities phones use), and a 50-megapixel JPEG (8160x6120), each sent as
# base64 JSON (`POST /images`, the quick start's way) to the release local
# API on SQLite with the on-device tagger. For each file, on a fresh server:
#   peak RSS of local-api after one upload (VmHWM), and its RSS before
#   accept+tag   median time of POST /images (decode, tag, store), RUNS runs
#   thumbnail    median time of the first GET /images/{id}/thumbnail?size=256
#                of a new picture (decoded again, made and kept)
# RUNS (5) and BENCH_PORT (18087) override. Files in data/bench-phone.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

RUNS=${RUNS:-5}
OUT=data/bench-phone
VENV=data/phone-venv
use_port 18087
mkdir -p "$OUT"
bench_needs models local-api
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q piexif==1.1.3 pillow==13.0.0 pillow-heif==1.8.1
fi
"$VENV/bin/python" - "$OUT" <<'PY'
import pathlib, random, sys
import pillow_heif
from PIL import Image
out = pathlib.Path(sys.argv[1])
pillow_heif.register_heif_opener()
cat = Image.open("tests/fixtures/images/chelsea.png").convert("RGB")
# Grain as a sensor's: the 50-MP one as strong as a phone's 50-MP mode at
# dusk, so the file is as large as theirs (~15 MB, ~20 MB as base64).
for name, size, grain, quality in [("12mp", (4032, 3024), 0.04, 90), ("50mp", (8160, 6120), 0.3, 95)]:
    if (out / f"{name}.jpg").exists():
        continue
    big = cat.resize(size, Image.BICUBIC)
    noise = Image.effect_noise(size, 60).convert("RGB")
    big = Image.blend(big, noise, grain)
    big.save(out / f"{name}.jpg", quality=quality)
    if name == "12mp":
        big.save(out / f"{name}.heic", quality=80)
        big.save(out / f"{name}.avif", quality=80, speed=6)
PY

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
post() { # file -> "seconds id"
  { printf '{"data":"'; base64 -w0 "$1"; printf '"}'; } >"$OUT/body.json"
  curl -s -o "$OUT/answer.json" -w '%{http_code} %{time_total}\n' -H 'content-type: application/json' \
    --data-binary @"$OUT/body.json" "$base/images" >"$OUT/status"
  read -r code secs <"$OUT/status"
  [ "$code" = 201 ] || { echo "POST $1: $code $(head -c 300 "$OUT/answer.json")" >&2; exit 1; }
  echo "$secs $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT/answer.json")"
}

echo "| file | size | accept+tag (median of $RUNS) | first thumbnail 256 | RSS before | peak RSS after one upload | load |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
for f in 12mp.jpg 12mp.heic 12mp.avif 50mp.jpg; do
  db=$(mktemp -d)
  start_api "$PORT" "sqlite://$db/p.db" "$db/images" TAGGER=local MODEL_DIR=data/models AUTH=open >"$db/log" 2>&1
  trap stop_api EXIT
  before_load=$(load1)
  # One small upload first, so the models are loaded and warm in both figures.
  post tests/fixtures/images/rocket.jpg >/dev/null
  rss=$(rss_of "$API")
  read -r first id < <(post "$OUT/$f")
  peak=$(peak_of "$API")
  times=("$first"); thumbs=()
  t=$(curl -s -o /dev/null -w '%{time_total}' "$base/images/$id/thumbnail?size=256"); thumbs+=("$t")
  for _ in $(seq 2 "$RUNS"); do
    read -r secs id < <(post "$OUT/$f")
    times+=("$secs")
    t=$(curl -s -o /dev/null -w '%{time_total}' "$base/images/$id/thumbnail?size=256"); thumbs+=("$t")
  done
  printf '| %s | %s | %s s | %s s | %s | %s | %s → %s |\n' "$f" "$(du -h "$OUT/$f" | cut -f1)" \
    "$(printf '%s\n' "${times[@]}" | median)" "$(printf '%s\n' "${thumbs[@]}" | median)" \
    "$rss" "$peak" "$before_load" "$(load1)"
  stop_api
  wait_gone "$base/health" || true
  rm -rf "$db"
done
rm -f "$OUT/body.json" "$OUT/answer.json" "$OUT/status"
