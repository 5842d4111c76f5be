# The two commands of the README's Quick start: `make demo` and `make test`.
# Both set everything up first (a venv with pinned dependencies, npm packages for the
# Socket.IO interop tests, Debian's chromium and playwright-core for the browser tests),
# so they work on a fresh machine with Python 3.11+ and Node (CI runs as root for apt-get).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_MODULES := tests/interop/node_modules/.installed
BROWSER_MODULES := tests/browser/node_modules/.installed

.PHONY: setup demo test lint docs bench clean chromium

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

$(BROWSER_MODULES): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's chromium (playwright-core downloads no browser); the
# TLS tests make certificates with openssl.
chromium:
	(command -v chromium && command -v openssl) >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium openssl)

demo: setup
	$(BIN)/horde demo chsh --out horde-results

# ruff, and the layers of docs/architecture.md (import-linter's contracts in pyproject.toml)
lint: setup
	$(BIN)/ruff check src tests examples bench
	$(BIN)/lint-imports

# The guides and the API reference (mkdocstrings) as a site in site/; `make test` builds
# it too, with warnings as errors (tests/test_reference.py).
docs: setup
	$(BIN)/mkdocs build --strict

# compileall first: the suite starts hundreds of horde processes, and where PYTHONDONTWRITEBYTECODE
# is set (this CI machine) each would compile horde's modules from source again; the 20 slowest
# tests are listed at the end, to keep the suite near its ~15 minutes
test: setup $(NODE_MODULES) $(BROWSER_MODULES) chromium lint
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadgroup --durations=20 -m "not ray"
	$(BIN)/python -m pytest -q --durations=10 -m ray

clean:
	rm -rf $(VENV) tests/interop/node_modules tests/browser/node_modules horde-results site
