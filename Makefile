# Closeloop: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := $(shell cat .python-version)
UV_VERSION := 0.13.8
UV_DIR := .uv
UV := $(UV_DIR)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Find Python $(PYTHON_VERSION) without asking: pyenv's shim, a python3.12 on PATH, or pyenv's folder.
PYTHON ?= $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || ls -d $$HOME/.pyenv/versions/$(PYTHON_VERSION)*/bin/python3 2>/dev/null | tail -1)

.PHONY: help install run test lint messages bench bench-quick clean

help:
	@echo "make run          install, migrate, load demo data on first start, serve on http://localhost:$(PORT)/"
	@echo "make test         lint (ruff, the one-way layers), migration check and the whole test suite (DATABASE_URL for PostgreSQL)"
	@echo "make bench        measure the performance budgets (bench-quick: a smaller run)"

$(UV):
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) is needed (pyenv install $(PYTHON_VERSION))"; exit 1; }
	$(PYTHON) -m venv $(UV_DIR)
	$(UV_DIR)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The virtual environment follows the lock file exactly; re-synced whenever the lock changes.
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.synced node_modules/.installed

run: install
	@mkdir -p var
	CLOSELOOP_DEV=1 $(BIN)/closeloop migrate --no-input -v 0
	CLOSELOOP_DEV=1 $(BIN)/closeloop createcachetable
	@$(MAKE) --no-print-directory messages
	CLOSELOOP_DEV=1 $(BIN)/closeloop demo --if-empty
	CLOSELOOP_DEV=1 PORT=$(PORT) $(BIN)/closeloop serve

lint: install
	$(BIN)/ruff check src tests bench conftest.py
	PYTHONPATH=src $(BIN)/lint-imports --no-cache
	CLOSELOOP_DEV=1 $(BIN)/closeloop makemigrations --check --dry-run

test: lint messages
	CLOSELOOP_DEV=1 $(BIN)/pytest $(PYTEST_ARGS)

# Compiled translations are build output, made from the committed .po files (needs GNU gettext).
messages: install
	@if command -v msgfmt >/dev/null; then \
		cd src/closeloop && CLOSELOOP_DEV=1 ../../$(BIN)/closeloop compilemessages -v 0; \
	else echo "GNU gettext (msgfmt) is not installed: the interface will be in English only."; fi

bench: install
	CLOSELOOP_DEV=1 $(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: install
	CLOSELOOP_DEV=1 $(BIN)/python -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(UV_DIR) node_modules .pytest_cache
