#!/usr/bin/env bash
# Property-based API tests (schemathesis, PyPI) against a real local API built
# from this tree: SQLite in a temporary folder, the on-device tagger, an admin
# key (API_KEYS), JWTs accepted (JWT_SECRET), a user signed up (API key), a
# user of a JWT, and a few pictures uploaded first (anonymous ones, and the
# users', some private). Fails on any 5xx or any response that does not
# match openapi.yaml (status, content type, headers, schema). Three passes,
# each bounded by a number of cases per operation and a fixed seed:
#   1. as the user (x-api-key), every operation but DELETE
#      (SCHEMATHESIS_EXAMPLES cases, default 60);
#   2. anonymous (AUTH=open) and as the admin, every operation but DELETE
#      (SCHEMATHESIS_OTHER_EXAMPLES, default 15, each);
#   3. last, the DELETEs, so they cannot wipe the fixture pictures or the
#      user's key mid-run: pictures and keys as the user, then the account of
#      a JWT's user (SCHEMATHESIS_EXAMPLES cases).
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES=${SCHEMATHESIS_EXAMPLES:-60}
OTHER_EXAMPLES=${SCHEMATHESIS_OTHER_EXAMPLES:-15}
ADMIN_KEY="schemathesis-admin-$RANDOM$RANDOM"
JWT_SECRET="schemathesis-jwt-secret-$RANDOM$RANDOM"
cargo build -q -p local-api
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
DATABASE_URL="sqlite://$WORK/pictures.db" IMAGE_STORE="$WORK/images" TAGGER=local \
  CREDENTIALS_FILE=/nonexistent BIND="127.0.0.1:$PORT" RUST_LOG=warn AUTH=open \
  API_KEYS="$ADMIN_KEY" JWT_SECRET="$JWT_SECRET" \
  ./target/debug/local-api >"$WORK/api.log" 2>&1 &
API=$!
trap 'kill $API 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "$URL/health" && break; sleep 0.1; done

# A user (self sign-up under AUTH=open) and its key.
USER_KEY=$(curl -sf -H 'Content-Type: application/json' -d '{"email":"schemathesis@example.org"}' "$URL/users" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
# A user of the outside auth service: a JWT (HS256, JWT_SECRET), its account.
TOKEN=$(python3 - "$JWT_SECRET" <<'EOF'
import base64, hashlib, hmac, json, sys, time
part = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=")
head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
claims = {"user_id": "schemathesis-token-user", "email": "token@example.org", "exp": int(time.time()) + 3600}
body = part(json.dumps(claims).encode())
sig = part(hmac.new(sys.argv[1].encode(), head + b"." + body, hashlib.sha256).digest())
print((head + b"." + body + b"." + sig).decode())
EOF
)
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/users"
upload() { # file, query, extra curl arguments
  { printf '{"data":"'; base64 -w0 "tests/fixtures/images/$1"; printf '"}'; } |
    curl -sf -o /dev/null -H 'Content-Type: application/json' "${@:3}" --data-binary @- "$URL/images$2"
}
upload rocket.jpg ''
upload no_time_for_that_tiny.gif ''
upload multipage_rgb.tif '?name=multipage'
upload no_time_for_that_tiny.gif '?private=true&name=mine' -H "x-api-key: $USER_KEY"
upload rocket.jpg '' -H "x-api-key: $USER_KEY"
upload multipage_rgb.tif '?private=true' -H "Authorization: Bearer $TOKEN"

run() { # cases per operation, then schemathesis arguments
  local examples=$1
  shift
  .venv/bin/schemathesis run openapi.yaml --url "$URL" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing --max-examples "$examples" --seed 20261122 \
    --workers 1 --no-color --generation-database none --request-timeout 30 "$@"
}
START=$SECONDS
status=0
echo "== 1/3: as the user, every operation but DELETE ($EXAMPLES cases per operation)"
run "$EXAMPLES" --exclude-method DELETE --header "x-api-key: $USER_KEY" || status=1
echo "== 2/3: anonymous, then as the admin, every operation but DELETE ($OTHER_EXAMPLES cases per operation)"
run "$OTHER_EXAMPLES" --exclude-method DELETE || status=1
run "$OTHER_EXAMPLES" --exclude-method DELETE --header "x-api-key: $ADMIN_KEY" || status=1
echo "== 3/3: the DELETEs ($EXAMPLES cases per operation): pictures and keys as the user, then the token user's account"
run "$EXAMPLES" --include-method DELETE --exclude-path-regex '^/(users|api/v1/users)' --header "x-api-key: $USER_KEY" || status=1
run "$EXAMPLES" --include-operation-id deleteKey --header "x-api-key: $USER_KEY" || status=1
# The account of the token's user (the key may be gone by now), with no
# made-up x-api-key beside the token.
run "$EXAMPLES" --include-operation-id deleteMe --include-operation-id deleteUserSeed004 \
  --header "Authorization: Bearer $TOKEN" --generation-with-security-parameters false || status=1
echo "schemathesis: $((SECONDS - START)) s"
if grep -q ' ERROR ' "$WORK/api.log"; then
  echo "the API logged errors:" >&2; grep ' ERROR ' "$WORK/api.log" >&2; exit 1
fi
exit $status
