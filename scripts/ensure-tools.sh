#!/usr/bin/env bash
# The tools `make test` needs beyond Rust, installed once from the registries:
# cfn-lint, schemathesis and cargo-lambda (PyPI, in .venv), docker-compose
# (Debian) and s3s-fs (crates.io).
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
SCHEMATHESIS_VERSION=4.32.5
# PyPI ships cargo-lambda prebuilt (with Zig, which `make lambda` does not use:
# it builds with --compiler cargo); building it from crates.io takes about 30 minutes.
CARGO_LAMBDA_VERSION=1.9.2
[ -x .venv/bin/pip ] || python3 -m venv .venv
if ! .venv/bin/cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
  .venv/bin/pip install -q --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi
if ! .venv/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  .venv/bin/pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
if ! .venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "cargo-lambda $CARGO_LAMBDA_VERSION "; then
  .venv/bin/pip install -q --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi

if ! command -v docker-compose >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi

# The S3-compatible server the S3 tests run against (checks signatures); ~4 minutes to build once.
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/s3s-fs" ]; then
  cargo install s3s-fs@0.14.1 --features binary --locked --quiet
fi
