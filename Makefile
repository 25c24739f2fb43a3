# make demo: set up and run the demo on the embedded SQLite store.  make test: set up and run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

BROWSER := /usr/bin/chromium
AXE := node_modules/axe-core/axe.min.js

.PHONY: demo test lint bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium and load axe-core (npm) into the pages.
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: the browser tests need Node.js and npm to install axe-core (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

$(BROWSER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "make: the browser tests need Debian's chromium at $(BROWSER): run 'sudo apt-get install chromium'"; exit 1; \
	fi

demo: $(STAMP)
	bash demo.sh

# The dashboard over the demo's replayed programme (run `make demo` first), as of its last day.
serve: $(STAMP)
	bash serve.sh

test: $(STAMP) $(AXE) $(BROWSER)
	$(BIN)/ruff check konkurrence_flow cli.py tests bench
	$(BIN)/ruff format --check konkurrence_flow cli.py tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check konkurrence_flow cli.py tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/scheduler.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) node_modules test-artifacts demo.db *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
