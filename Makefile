# One target per job. Every target that needs the environment creates it first (`make install`).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# uv from PATH, else bootstrapped with pip into .tools/ (pinned).
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: help install regen check-regen lint format typecheck pytest test check build demo clean

help:
	@echo "make install      create .venv with everything pinned in uv.lock"
	@echo "make demo         export a month from the built-in fake API, with a progress bar and a summary"
	@echo "make test         lint, typecheck, check-regen and the test suite (what CI runs)"
	@echo "make regen        regenerate shortpen_api_client/_generated from openapi.yaml"
	@echo "make check-regen  fail if the committed generated code differs from openapi.yaml"
	@echo "make build        build the sdist and wheel into dist/"
	@echo "make bench        benchmark ratios against a hand-written httpx script (benchmarks/RESULTS.md)"
	@echo "make bench-rate   429s and wall time against a rate-limited fake (benchmarks/RESULTS.md)"
	@echo "make record       re-record the VCR cassettes from the fake (make record-live: the real API)"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras
	@touch $@

install: $(VENV)/.installed

regen: install
	$(PY) scripts/regen.py

check-regen: install
	$(PY) scripts/regen.py --check

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest

check: lint typecheck check-regen

test: check pytest

build: install
	rm -rf dist
	$(UV) build --quiet

demo: install
	$(VENV)/bin/shortpen demo

clean:
	rm -rf $(VENV) .tools dist .mypy_cache .ruff_cache .pytest_cache .hypothesis

# VCR cassettes (tests/cassettes/README.md): re-record from FakeShortPen, or from the real API.
.PHONY: record record-live

record: install
	$(PY) scripts/record.py

record-live: install
	$(PY) scripts/record.py --live

# Ratios against a hand-written httpx script (results and method: benchmarks/RESULTS.md); about two minutes.
.PHONY: bench
bench: install
	$(PY) benchmarks/bench.py

# The client against a rate-limited fake: 429s and wall time (benchmarks/RESULTS.md); about a minute.
# BENCH_RATE_ARGS="--before DIR --record" also measures an older checkout and writes RESULTS.md.
.PHONY: bench-rate
bench-rate: install
	$(PY) benchmarks/rate_limit.py $(BENCH_RATE_ARGS)
