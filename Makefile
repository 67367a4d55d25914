# RightsHub — two commands on a fresh clone:
#   make run    installs into .venv, migrates the embedded SQLite database, loads reference and
#               demo data, and serves on http://127.0.0.1:8000 (RIGHTSHUB_HOST / RIGHTSHUB_PORT)
#   make test   installs dev dependencies and runs the whole suite (SQLite, and PostgreSQL when
#               reachable)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# Every dependency, dev ones included, is pinned in uv.lock (made by uv from pyproject.toml,
# `make lock`); installs take exactly those versions. uv itself comes from PyPI into .venv.
UV_VERSION := 0.13.10
UV := UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv
# --frozen: install the lock as it is (no resolution, no network but the downloads);
# --inexact: leave what the lock does not list (pip, uv itself) in place.
SYNC := $(UV) sync --frozen --inexact --quiet

.PHONY: run install install-dev test test-fast lint lock typecheck contracts bench clean chromium tools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'

# GraphiQL's browser files come from the npm registry, pinned and checksummed
# (gateway/static/vendor.lock.json): no Python package ships them, and the hub serves every
# asset itself (closed networks). The project itself is installed editable (uv sync's default).
$(STAMP): pyproject.toml uv.lock gateway/static/vendor.lock.json | $(BIN)/uv
	$(SYNC)
	$(BIN)/python -m gateway._assets_fetch
	touch $@

$(DEV_STAMP): pyproject.toml uv.lock gateway/static/vendor.lock.json | $(BIN)/uv
	$(SYNC) --extra dev
	$(BIN)/python -m gateway._assets_fetch
	touch $(STAMP) $@

# After a change to the dependencies in pyproject.toml: the lock again, keeping every other
# pin (`make lock LOCK_ARGS=--upgrade` moves every pin to the newest release allowed).
lock: | $(BIN)/uv
	$(UV) lock $(LOCK_ARGS)

install: $(STAMP)
install-dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/rightshub serve --demo

# Debian's chromium for the console's browser tests (apt-get, only when missing).
chromium:
	@bash .ci/chromium

# Debian's nginx and promtool for the checks of deploy/ (apt-get, only when missing).
tools:
	@bash .ci/tools

test: $(DEV_STAMP) chromium tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The inner loop: SQLite only, no browser, no fault injection, no multi-process scenarios.
# `make test` (and CI) runs everything.
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "not pg and not browser and not faults and not slow" $(PYTEST_ARGS)

# The lock must match pyproject.toml (offline: compares the requirements the lock records).
lint: $(DEV_STAMP)
	@$(UV) lock --check --offline --quiet || { echo "uv.lock is out of date: run make lock" >&2; exit 1; }
	$(BIN)/ruff check schemas hub auth connectors gateway tests bench importlinter_contracts.py
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/rightshub export-contracts

bench: $(DEV_STAMP)
	$(BIN)/python -m bench all

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
