# The two commands of the README's Quick start: `make demo` and `make test`.
# Both set everything up first (a venv with pinned dependencies, npm packages for the
# Socket.IO interop tests), so they work on a fresh machine with Python 3.11+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_MODULES := tests/interop/node_modules/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(NODE_MODULES): tests/interop/package.json tests/interop/package-lock.json
	npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/horde demo chsh --out horde-results

lint: setup
	$(BIN)/ruff check src tests examples bench

test: setup $(NODE_MODULES) lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) tests/interop/node_modules horde-results
