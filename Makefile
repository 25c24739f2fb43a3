# make demo: set up and run the demo on the embedded SQLite store.  make test: set up and run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	bash demo.sh

test: $(STAMP)
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

clean:
	rm -rf $(VENV) demo.db *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
