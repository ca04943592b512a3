#!/usr/bin/env bash
# Property-based API tests (schemathesis, PyPI) against a real local API built
# from this tree: SQLite in a temporary folder, the on-device tagger, a few
# pictures uploaded first. Bounded: SCHEMATHESIS_EXAMPLES cases per operation
# (default 200) and a fixed seed. Fails on any 5xx or any response that does
# not match openapi.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${SCHEMATHESIS_EXAMPLES:-200}
cargo build -q -p local-api
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATABASE_URL="sqlite://$WORK/pictures.db" IMAGE_STORE="$WORK/images" TAGGER=local \
  CREDENTIALS_FILE=/nonexistent BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  ./target/debug/local-api >"$WORK/api.log" 2>&1 &
API=$!
trap 'kill $API 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/tags" && break; sleep 0.1; done
for f in rocket.jpg no_time_for_that_tiny.gif multipage_rgb.tif; do
  { printf '{"data":"'; base64 -w0 "tests/fixtures/images/$f"; printf '"}'; } |
    curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @- "http://127.0.0.1:$PORT/images"
done
.venv/bin/schemathesis run openapi.yaml --url "http://127.0.0.1:$PORT" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed 20261122 \
  --workers 1 --no-color --generation-database none --request-timeout 30
if grep -q ' ERROR ' "$WORK/api.log"; then
  echo "the API logged errors:" >&2; grep ' ERROR ' "$WORK/api.log" >&2; exit 1
fi
