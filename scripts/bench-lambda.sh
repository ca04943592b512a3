#!/usr/bin/env bash
# Cold start and footprint of every function binary as deployed
# (`make bench-lambda`): `make lambda` builds and zips every function of the
# Makefile's FUNCTIONS (cargo lambda build), each zip is unpacked as Lambda
# unpacks it, the model layer is zipped from data/models (all three models,
# as template.yaml's ModelLayer) and unpacked as the functions' /opt, then
# each bootstrap is started RUNS times under a loopback Lambda Runtime API
# (scripts/lambda-runtime.py) with one real invocation, against MariaDB and an
# S3 store (s3s-fs on loopback), so the AWS SDK's start-up is included.
# BENCH_FUNCTIONS="post-image" measures just those, from `cargo build
# --release` binaries (the same compiler, profile and target as cargo
# lambda's x86_64 build) instead of building all ten with cargo lambda.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

RUNS=${RUNS:-5}
DB=pictures_cold
OUT=data/lambda
scripts/ensure-tools.sh
bench_needs mariadb models
FUNCTIONS=${BENCH_FUNCTIONS:-$(sed -n 's/^FUNCTIONS := //p' Makefile)}
if [ -n "${BENCH_FUNCTIONS:-}" ]; then
  # A few functions: their release binaries, zipped as cargo lambda zips them.
  cargo build --release -q $(printf -- '-p %s ' $FUNCTIONS)
  for f in $FUNCTIONS; do
    mkdir -p "target/lambda/$f"
    python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED); z.write(sys.argv[1], "bootstrap")' \
      "target/release/$f" "target/lambda/$f/bootstrap.zip"
  done
else
  make --no-print-directory lambda >/dev/null
fi
rm -rf "$OUT" && mkdir -p "$OUT/s3/pictures"

echo "== Sizes (stripped release binaries; zip as uploaded to Lambda)"
for f in $FUNCTIONS; do
  python3 - "$f" <<'PY'
import os, sys, zipfile
f = sys.argv[1]
src = f"target/lambda/{f}/bootstrap.zip"
with zipfile.ZipFile(src) as z:
    assert z.namelist() == ["bootstrap"], z.namelist()
    z.extract("bootstrap", f"data/lambda/{f}")
binary = f"data/lambda/{f}/bootstrap"
os.chmod(binary, 0o755)
print(f"| {f} | {os.path.getsize(binary)/1e6:.1f} MB | {os.path.getsize(src)/1e6:.1f} MB |")
PY
done
python3 - <<'PY'
import os, zipfile
models = sorted(f for f in os.listdir("data/models") if not f.startswith("."))
assert {"efficientnet-lite1-lite2.safetensors", "face-detector.safetensors", "pose-detector.safetensors"} <= set(models), models
with zipfile.ZipFile("data/lambda/model-layer.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in models:
        z.write(f"data/models/{f}", f)
# Lambda mounts a layer's files at /opt.
with zipfile.ZipFile("data/lambda/model-layer.zip") as z:
    z.extractall("data/lambda/opt")
size = sum(os.path.getsize(f"data/models/{f}") for f in models)
print(f"| model layer ({', '.join(models)}) | {size/1e6:.1f} MB | {os.path.getsize('data/lambda/model-layer.zip')/1e6:.1f} MB |")
PY

S3_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
S3S_FS=${S3S_FS:-$(command -v s3s-fs || echo "$HOME/.cargo/bin/s3s-fs")}
"$S3S_FS" --host 127.0.0.1 --port "$S3_PORT" --access-key bench --secret-key bench-secret "$OUT/s3" >/dev/null 2>&1 &
S3=$!
trap 'kill $S3 2>/dev/null || true' EXIT
sleep 0.5
fresh_db "$DB"
export DATABASE_URL="$MYSQL_SERVER/$DB" IMAGE_STORE="s3://pictures/images" RUST_LOG=warn \
  AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench \
  AWS_SECRET_ACCESS_KEY=bench-secret S3_FORCE_PATH_STYLE=true TAGGER=local MODEL_DIR=data/lambda/opt \
  CREDENTIALS_FILE=/nonexistent API_KEYS=test-admin-key

cat > "$OUT/summary.py" <<'PY'
import json, sys
runs = [json.loads(line) for line in sys.stdin]
def span(key):
    values = sorted(r[key] for r in runs)
    return f"{values[0]}–{values[-1]}"
statuses = sorted({r["status"] for r in runs})
print(f"| {sys.argv[1]} | {span('ready_ms')} ms | {span('answered_ms')} ms | {span('rss_mb')} MB | {statuses} |")
PY
echo "== Cold starts, $RUNS runs each (ms from exec to the first request for work; to the answer; RSS after it)"
# One event each; post-image first, so picture 1 exists for the others.
events="post-image/post get-image/get get-images/list get-tags/all manage-images/patch accounts/create-user
  uploads/upload-urls colors/colors web/index tag-image/schedule"
for f in $FUNCTIONS; do
  grep -qw "$f" <<<"$events" || { echo "no event for $f: add one to bench-lambda.sh" >&2; exit 1; }
done
echo "| function | ready | answered | RSS after | statuses |"
echo "| --- | ---: | ---: | ---: | --- |"
for fe in $events; do
  f=${fe%/*}
  grep -qw "$f" <<<"$FUNCTIONS" || continue
  for _ in $(seq 1 "$RUNS"); do
    # The account the event creates is removed again, so every run creates it.
    [ "$f" = accounts ] && sql "$DB" -e "DELETE FROM users WHERE email = 'ann@example.org'" 2>/dev/null || true
    python3 scripts/lambda-runtime.py "$OUT/$f/bootstrap" "functions/$f/events/${fe#*/}.json"
  done | python3 "$OUT/summary.py" "$f"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
