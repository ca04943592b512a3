#!/usr/bin/env bash
# Hostile files and lists against the release local API with its defaults
# (`make bench-abuse`): decompression bombs under the decode memory budget,
# tag floods, and /health's latency meanwhile (scripts/bench-abuse.py).
# BENCH_PORT (18089) overrides the port.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

PORT=${BENCH_PORT:-18089}
OUT=data/bench-abuse
cargo build --release -q -p local-api
base="http://127.0.0.1:$PORT"
if curl -s -o /dev/null "$base/health"; then echo "port $PORT is busy; set BENCH_PORT" >&2; exit 1; fi
rm -rf "$OUT" && mkdir -p "$OUT"
start_api "$PORT" "sqlite://$OUT/pictures.db" "$OUT/images"
trap stop_api EXIT
echo "== bench-abuse: DECODE_MEMORY_MB=${DECODE_MEMORY_MB:-512 (default)}, load $(load1)"
python3 scripts/bench-abuse.py "$base" "$API"
echo "load after: $(load1)"
