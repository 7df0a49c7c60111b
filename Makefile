# The two set-up commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv es-up es-down lint gate

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Start the local managed node unless NEWSMON_ES_URL points at a cluster.
es-up: venv
	@if [ -z "$$NEWSMON_ES_URL" ]; then $(BIN)/newsmon es start; fi

es-down: venv
	@if [ -z "$$NEWSMON_ES_URL" ]; then $(BIN)/newsmon es stop; fi

demo: es-up
	$(BIN)/python -m crawler.demo

# NEWSMON_REQUIRE_ES=1 / NEWSMON_REQUIRE_BROWSER=1: a test that needs Elasticsearch or
# Chromium (/usr/bin/chromium, Debian's package) fails instead of skipping.
test: es-up
	NEWSMON_REQUIRE_ES=1 NEWSMON_REQUIRE_BROWSER=1 $(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Extraction quality may not fall below the pinned floors (bench/extraction.py FLOORS).
gate: venv
	$(BIN)/python bench/extraction.py --gate
