#!/usr/bin/env bash
# Hostile files and lists against the release local API with its defaults
# (`make bench-abuse`): decompression bombs under the decode memory budget,
# tag floods, and /health's latency meanwhile (scripts/bench-abuse.py).
# BENCH_PORT (18089) overrides the port.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh

OUT=data/bench-abuse
use_port 18089
bench_needs local-api
rm -rf "$OUT" && mkdir -p "$OUT"
start_api "$PORT" "sqlite://$OUT/pictures.db" "$OUT/images"
trap stop_api EXIT
echo "== bench-abuse: DECODE_MEMORY_MB=${DECODE_MEMORY_MB:-512 (default)}, load $(load1)"
python3 scripts/bench-abuse.py "$base" "$API"
echo "load after: $(load1)"
