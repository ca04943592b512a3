#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for FUZZ_SECONDS each (default
# 600) with cargo-fuzz and libFuzzer, without a sanitizer so the stable
# toolchain builds it (RUSTC_BOOTSTRAP lets stable accept cargo-fuzz's -Z
# flags). Memory is bounded: a run fails on any input that needs more than
# 2 GB. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-600}
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz@"$CARGO_FUZZ_VERSION" --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
targets=${FUZZ_TARGETS:-"query_string upload_body image_decode"}
mkdir -p data/fuzz
for target in $targets; do
  mkdir -p "data/fuzz/corpus/$target"
  # Real pictures seed the decoders; base64 JSON of them seeds the body parser.
  case $target in
    image_decode) cp tests/fixtures/images/*.{jpg,png,gif,tif} "data/fuzz/corpus/$target/" ;;
    upload_body) for f in tests/fixtures/images/{rocket.jpg,no_time_for_that_tiny.gif,multipage_rgb.tif}; do
        { printf '{"data":"'; base64 -w0 "$f"; printf '"}'; } >"data/fuzz/corpus/$target/$(basename "$f").json"; done ;;
    query_string) printf 'tags=cat,animal&min_date=2024-01-01&max_date=2024-12-31 23:59:59&limit=10&after=5' \
        >"data/fuzz/corpus/$target/search" ;;
  esac
  echo "== $target for ${SECONDS_EACH}s"
  cargo fuzz run -s none --fuzz-dir fuzz "$target" "data/fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 2>&1 | tee "data/fuzz/$target.log" | grep -E '^(Done|stat::|==|#[0-9]+ +DONE)|SUMMARY|panicked' || true
  if grep -q 'SUMMARY\|panicked\|ERROR: libFuzzer' "data/fuzz/$target.log"; then
    echo "$target: failure, see data/fuzz/$target.log and fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
