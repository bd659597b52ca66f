# bankcti — two commands: `make demo` and `make test` (each sets itself up on a fresh clone).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint pytest install clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "bankcti needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

## Run the demo: SQLite, in-process bus, simulated PBX, console on http://127.0.0.1:8080
demo: $(STAMP)
	$(BIN)/bankcti demo

## The whole test suite (lint, import contracts, type checks, tests)
test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bankcti cti ivr acd agent_console crm_core
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q -rs

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
