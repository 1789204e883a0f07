# The two commands of the README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what a fresh Debian 12 machine lacks first.

CARGO ?= cargo

.PHONY: demo test lint deps build

deps:
	scripts/install-deps

build: deps
	$(CARGO) build --release --all-targets

demo: deps
	$(CARGO) run --release -- run harnesses/debian-12

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

test: lint
	$(CARGO) test --release --no-fail-fast
