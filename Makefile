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

.PHONY: help install regen check-regen api-check spec-change lint format typecheck pytest test test-matrix check build demo clean

help:
	@echo "make install      create .venv with everything pinned in uv.lock"
	@echo "make demo         export a month from the built-in fake API, with a progress bar and a summary"
	@echo "make pytest       the test suite once, in .venv (the default Python): the quick loop"
	@echo "make test-matrix  the test suite on each supported CPython found (3.11+, pyenv's too), in .nox/"
	@echo "make test         lint, typecheck, check-regen and api-check once, then the suite on every supported Python found (CI)"
	@echo "make regen        regenerate shortpen_api_client/_generated from openapi.yaml; report spec changes"
	@echo "make check-regen  fail if the committed generated code differs from openapi.yaml (shows the diff)"
	@echo "make api-check    fail on a breaking change since the last release without a version bump"
	@echo "make spec-change  the spec-change suite: spec edits in temporary copies reach every output"
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

# The spec-change suite alone (it also runs in `make pytest`): regenerates temporary copies, under a minute.
spec-change: install
	$(VENV)/bin/pytest -m spec_change

# Against the newest v* tag (AGAINST=<ref> to compare with another commit).
api-check: install
	$(PY) scripts/api_check.py $(if $(AGAINST),--against $(AGAINST))

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest --numprocesses=auto $(PYTEST_ARGS)

check: lint typecheck check-regen api-check

# The suite on each supported CPython found on the machine, each in its own locked env (noxfile.py).
test-matrix: install
	$(VENV)/bin/nox

test: check test-matrix

build: install
	rm -rf dist
	$(UV) build --quiet

demo: install
	$(VENV)/bin/shortpen demo

clean:
	rm -rf $(VENV) .nox .tools dist .mypy_cache .ruff_cache .pytest_cache .hypothesis

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
