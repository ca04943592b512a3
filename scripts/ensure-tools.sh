#!/usr/bin/env bash
# The static checkers `make test` runs, installed once from the registries:
# cfn-lint (PyPI, in .venv) and docker-compose (Debian). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
if [ ! -x .venv/bin/cfn-lint ] || ! .venv/bin/cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

if ! command -v docker-compose >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
