# One file for people and CI: `make run`, `make test`. `make help` lists the rest.
SHELL := /bin/bash
CARGO ?= cargo
FUNCTIONS := post-image get-images get-image get-tags

.PHONY: help run test lint fmt build lambda bench model services tools check-templates reconcile bench-lambda bench-scale fuzz clean

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: model ## the local API on 127.0.0.1:8080 (BIND overrides) with the embedded defaults
	$(CARGO) run --release -p local-api

test: model services tools ## every test (SQLite and MariaDB/MySQL), the template and compose checks, schemathesis
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  PATH="$$HOME/.cargo/bin:$$PATH" $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  PATH="$$HOME/.cargo/bin:$$PATH" $(CARGO) test --workspace --no-fail-fast; \
	fi
	$(MAKE) --no-print-directory check-templates
	scripts/schemathesis.sh

lint: ## formatting and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

build: ## release binaries of every function and the local API
	$(CARGO) build --release --workspace --bins

lambda: ## one bootstrap per function in target/lambda/<fn>/ (provided.al2023, x86_64)
	$(CARGO) build --release $(addprefix -p ,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do \
	  mkdir -p target/lambda/$$f && cp target/release/$$f target/lambda/$$f/bootstrap; \
	  echo "target/lambda/$$f/bootstrap"; \
	done

bench: services ## the load benchmark of BENCHMARKS in README.md (MariaDB, 10,000 pictures, wrk)
	scripts/bench.sh

bench-lambda: services ## zipped sizes and cold starts of every function under a loopback Runtime API, S3 store
	scripts/bench-lambda.sh

bench-scale: services ## 1M pictures / 5M tag rows in MariaDB, reads under wrk, query plans (BENCHMARKS.md)
	scripts/bench-scale.sh

fuzz: ## each fuzz target for FUZZ_SECONDS (default 600) with cargo-fuzz (BENCHMARKS.md)
	scripts/fuzz.sh

model: ## fetch and convert the on-device model into data/models (MODEL_DIR overrides); idempotent
	@python3 scripts/fetch-model.py

services: ## start MariaDB on 127.0.0.1:3306 when it is not running
	@scripts/ensure-mariadb.sh

tools: ## install cfn-lint (.venv) and docker-compose when missing
	@scripts/ensure-tools.sh

check-templates: tools ## lint template.yaml, validate docker-compose.yml
	.venv/bin/cfn-lint template.yaml
	docker-compose -f docker-compose.yml config -q

reconcile: ## remove image files no picture refers to (left by a crash); same settings as make run
	$(CARGO) run --release -q -p local-api -- reconcile

clean:
	$(CARGO) clean
