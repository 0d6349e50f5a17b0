# Clearway: the two commands a newcomer runs on a fresh Debian 12 machine as root
#   make demo   installs what is missing, builds in release mode, runs the demo
#   make test   installs what is missing, runs the whole test suite
# Everything else here is for developers.

SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := dpdk dpdk-dev libdpdk-dev pkg-config clang libclang-dev iproute2 python3 python3-venv
VENV := $(CURDIR)/.venv
PYTHON := $(VENV)/bin/python
CARGO ?= cargo
export CLEARWAY_PYTHON := $(PYTHON)

.PHONY: help deps pyenv build demo test lint check bench fuzz clean

help:
	@echo "make demo   - install missing packages, build (release), run clearwayd + 10 s of clearway-perf over memif"
	@echo "make test   - install missing packages, run the whole test suite (cargo-nextest)"
	@echo "make lint   - cargo fmt --check and cargo clippy -D warnings"
	@echo "make bench  - benchmarks; figures into perf/results/"
	@echo "make fuzz   - run every cargo-fuzz target for FUZZ_SECONDS (default 60) each"

# System packages (apt-get) and cargo-nextest, installed only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing (run as root or with sudo)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install the Rust toolchain (rustup, stable)"; exit 1; }
	@$(CARGO) nextest --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-nextest

# The reference implementation for the ISO 8583 interop tests.
pyenv: deps
	@[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	@$(PYTHON) -c 'import iso8583' 2>/dev/null || $(VENV)/bin/pip install -q 'pyiso8583>=4,<5'

build: deps
	$(CARGO) build --release -p clearwayd -p clearway-perf -p clearctl

# clearwayd (embedded config: switch on memif, journal on) + 10 s of
# clearway-perf traffic + the cutoff's settlement summary.
demo: build
	perf/demo.sh

# The reliability group's scenarios (tests named reliability_*, and the
# switch's back-pressure test) each write a row; the summary prints the
# table and fails if a row is missing or shows a loss. Old rows are cleared
# first so a scenario that did not run cannot pass on last time's row.
test: deps pyenv
	$(CARGO) run -q -p reliability --bin reliability-summary -- --clear
	@status=0; $(CARGO) nextest run --workspace || status=$$?; \
	$(CARGO) run -q -p reliability --bin reliability-summary || status=1; \
	exit $$status

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check: lint test

# Every crate's benchmarks (short) and a clearway-perf run; summary in perf/results/.
bench: deps
	perf/bench.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	dataplane/wire/fuzz/run-all.sh $(FUZZ_SECONDS) dataplane/wire/fuzz dataplane/clearwayd/fuzz controlplane/control/fuzz

clean:
	$(CARGO) clean
