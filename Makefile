# Concierge — the two README commands (`make run`, `make test`) plus check and bench.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/concierge run

# Test-only system packages (a real Chromium and a real Dovecot), installed when running as root.
system-deps:
	@sh .ci/system-deps.sh

# Every test on SQLite, then again on a throw-away PostgreSQL server each app test that uses the
# database under test (tests/conftest.py picks them).
test: $(STAMP) system-deps
	$(BIN)/pytest
	CONCIERGE_TEST_DB=postgresql $(BIN)/pytest tests/app

check: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
