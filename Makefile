# One file for people and CI: `make run`, `make test`. `make help` lists the rest.
SHELL := /bin/bash
CARGO ?= cargo
FUNCTIONS := post-image get-images get-image get-tags manage-images accounts uploads colors web tag-image

.PHONY: help run watch test lint fmt build lambda bench model calibrate services tools build-deps check-templates reconcile bench-lambda bench-scale fuzz clean backfill backfill-rows retag bench-phone

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: build-deps model ## the local API on 127.0.0.1:8080 (BIND overrides) with the embedded defaults
	$(CARGO) run --release -p local-api

watch: build-deps model tools ## every function under `cargo lambda watch` on 127.0.0.1:9000 (the production routes), embedded defaults
	.venv/bin/cargo-lambda lambda watch -A 127.0.0.1 -P 9000

test: build-deps model services tools ## every test (SQLite and MariaDB/MySQL, local API and cargo lambda watch, the CLI), the template and compose checks, schemathesis, the gallery in Chromium
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  PATH="$$HOME/.cargo/bin:$$PATH" $(CARGO) nextest run --workspace --exclude pictures-tools --no-fail-fast; \
	else \
	  PATH="$$HOME/.cargo/bin:$$PATH" $(CARGO) test --workspace --exclude pictures-tools --no-fail-fast; \
	fi
	$(MAKE) --no-print-directory check-templates
	scripts/schemathesis.sh
	scripts/gallery-test.sh

lint: build-deps ## formatting, clippy (warnings as errors) and the import rules (scripts/check-imports.py: no domain -> db/http/app arrows, no circles)
	python3 scripts/check-imports.py
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

build: build-deps ## release binaries of every function and the local API
	$(CARGO) build --release --workspace --bins

lambda: build-deps tools ## target/lambda/<fn>/bootstrap.zip per function, as template.yaml deploys them (cargo lambda build: release, x86_64, provided.al2023)
	.venv/bin/cargo-lambda lambda build --release --compiler cargo --x86-64 --output-format zip $(addprefix -p ,$(FUNCTIONS))
	@ls -l $(foreach f,$(FUNCTIONS),target/lambda/$(f)/bootstrap.zip)

bench: services ## the load benchmark of BENCHMARKS in README.md (MariaDB, 10,000 pictures, wrk)
	scripts/bench.sh

bench-lambda: services ## zipped sizes and cold starts of every function under a loopback Runtime API, S3 store
	scripts/bench-lambda.sh

bench-scale: services ## 1M pictures / 5M tag rows in MariaDB, reads under wrk, query plans (BENCHMARKS.md)
	scripts/bench-scale.sh

bench-upgrade: services ## first start on a database of the original assignment (migration + backfill), its reads beside a native one
	scripts/bench-upgrade.sh

fuzz: ## each fuzz target for FUZZ_SECONDS (default 600) with cargo-fuzz (BENCHMARKS.md)
	scripts/fuzz.sh

model: ## fetch and convert the on-device models (classifier: EfficientNet-Lite1 + Lite2; face, person and object detectors) into data/models (MODEL_DIR overrides); idempotent
	@python3 scripts/fetch-model.py
	@python3 scripts/fetch-detectors.py
	@python3 scripts/fetch-objects.py

calibrate: model ## refit the on-device tagger's confidences: IMAGENET_SAMPLES=<folder of the 1,000 ImageNet sample images>
	@test -d "$(IMAGENET_SAMPLES)" || { echo "IMAGENET_SAMPLES must name a folder holding the images of the GitHub repository EliSchwartz/imagenet-sample-images"; exit 2; }
	$(CARGO) build --release -q -p pictures-tools --bin tagger-logits --bin reliability-plot
	@mkdir -p data/calibration
	target/release/tagger-logits "$(IMAGENET_SAMPLES)" data/calibration/imagenet.json "$${MODEL_DIR:-data/models}"
	target/release/tagger-logits tests/fixtures/images data/calibration/fixtures.json "$${MODEL_DIR:-data/models}"
	python3 scripts/calibrate.py data/calibration/imagenet.json data/calibration/fixtures.json \
	  "$${MODEL_DIR:-data/models}/efficientnet-lite1-lite2.safetensors" shared/src/tagger/local/calibration.json docs/calibration.json
	target/release/reliability-plot docs/calibration.json docs/reliability.png

build-deps: ## install cmake and nasm when missing (libaom, the AVIF decoder, is built from source)
	@scripts/ensure-build-deps.sh

services: ## start MariaDB on 127.0.0.1:3306 when it is not running
	@scripts/ensure-mariadb.sh

tools: ## install cfn-lint, schemathesis, cargo-lambda (.venv), docker-compose and s3s-fs when missing
	@scripts/ensure-tools.sh

check-templates: tools ## lint template.yaml, validate docker-compose.yml
	.venv/bin/cfn-lint template.yaml
	docker-compose -f docker-compose.yml config -q

backfill: ## read EXIF, colours and hashes from the files of pictures recorded before they were read (resumable)
	$(CARGO) run --release -q -p local-api -- analyze

backfill-rows: ## give rows of the original app their sizes and tag lists once (the local API also does it at start)
	$(CARGO) run --release -q -p local-api -- backfill

retag: ## tag every stored picture again (MIN_CONFIDENCE, default 80); resumes after an interruption
	$(CARGO) run --release -q -p local-api -- retag

reconcile: ## remove image files no picture refers to (left by a crash); same settings as make run
	$(CARGO) run --release -q -p local-api -- reconcile

clean:
	$(CARGO) clean

.PHONY: bench-accounts bench-analysis bench-uploads bench-people bench-seed-routes bench-abuse

bench-accounts: services ## API keys' cost: reads with and without a key on 10,000 pictures, one key check on MariaDB and SQLite (BENCHMARKS.md)
	scripts/bench-accounts.sh

bench-analysis: services ## 1M pictures with Part 2's facts: similar, name, colour, /stats, a user's /tags, query plans; analysis per upload (BENCHMARKS.md)
	scripts/bench-analysis.sh

bench-uploads: model ## 1,000 distinct 500 KB photos as async multipart forms: accepted and tagged files/s, peak RSS, de-duplication (BENCHMARKS.md)
	scripts/bench-uploads.sh

bench-people: model ## the people detector: time per image, POST /images with it on and off, RSS with every model (BENCHMARKS.md)
	scripts/bench-people.sh

bench-seed-routes: services ## the seeds' compatibility routes against the canonical routes they wrap (BENCHMARKS.md)
	scripts/bench-seed-routes.sh

bench-phone: build-deps model ## phone photos: a 12-MP HEIC, AVIF and JPEG of the same pixels accepted and tagged, thumbnails, peak RSS; a 50-MP JPEG as base64 JSON (BENCHMARKS.md)
	scripts/bench-phone.sh

bench-abuse: ## hostile input against the release local API: 64 concurrent decompression bombs (peak RSS), tag floods (/health latency), 200,000-tag requests (BENCHMARKS.md)
	scripts/bench-abuse.sh
