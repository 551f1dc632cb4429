# kefu — the front door. `make run` and `make test` set up whatever is missing first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
KEFU := $(VENV)/bin/kefu

.PHONY: compose-tool help setup run test test-fast cluster-test bench lint format lock model sentiment-model services browsers clean

help:
	@echo "make run    - set up what is missing and run the assistant (SQLite under var/)"
	@echo "make test   - set up what is missing and run the whole test suite (SQLite and PostgreSQL)"
	@echo "make bench  - measure latency and accuracy (results in var/bench/, table in docs/benchmarks.md)"
	@echo "make test-fast - unit tests only: no servers, no browser, no PostgreSQL (about a minute)"
	@echo "make lint   - ruff, ruff format, mypy and the import-layer contracts (lint-imports)"

setup:
	@scripts/ensure_venv.sh app
	@scripts/ensure_venv.sh rasa

model: setup
	@$(KEFU) model ensure

# The default sentiment model, trained from sentiment/data/ (cached by content hash under var/models/);
# on the way MiniLM is exported to ONNX once (var/models/onnx/), which chat turns and sentiment use.
sentiment-model: setup
	@$(KEFU) sentiment train

services:
	@scripts/ensure_services.sh

browsers:
	@scripts/ensure_browsers.sh

# Debian's docker-compose: tests/deploy validates docker-compose.yml with its `config` (no Docker daemon needed).
compose-tool:
	@scripts/ensure_compose_tool.sh

run: setup sentiment-model
	@$(KEFU) run

test: setup model sentiment-model services browsers compose-tool
	$(VENV)/bin/pytest -ra

# Two of every process (crm_bridge, job workers, Rasa, action servers) on PostgreSQL and a private Redis,
# 200 conversations while one of each is SIGKILLed (tests/cluster, 2-3 minutes; also part of `make test`).
cluster-test: setup model sentiment-model services
	$(VENV)/bin/pytest -ra -m cluster tests/cluster

# Unit tests only (no servers, Rasa, browser or PostgreSQL): a quick check while working; `make test` is the gate.
test-fast: setup sentiment-model
	$(VENV)/bin/pytest -q -m "not slow and not postgres and not e2e"

bench: setup model sentiment-model
	@scripts/ensure_bench_tools.sh
	$(PY) -m kefu.bench --out var/bench

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy kefu_core kefu crm_bridge knowledge_base sentiment actions
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Regenerate the app lock from requirements/app.in (needs the registry; review the diff).
lock:
	rm -rf /tmp/kefu-lock-venv && python3.11 -m venv /tmp/kefu-lock-venv
	/tmp/kefu-lock-venv/bin/pip install -q torch==2.13.0 && /tmp/kefu-lock-venv/bin/pip install -q -r requirements/app.in
	{ head -2 requirements/app.lock; /tmp/kefu-lock-venv/bin/pip freeze --exclude-editable; } > requirements/app.lock.new
	mv requirements/app.lock.new requirements/app.lock

clean:
	rm -rf var/logs var/bench .pytest_cache .mypy_cache .ruff_cache
