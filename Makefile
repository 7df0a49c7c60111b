# The two set-up commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test check venv es-up es-down lint gate browser postgres docs lock

venv: $(VENV)/.installed

# Exactly the versions of requirements.lock, each checked against its hash; then newsmon
# itself, editable, without resolving anything again.
$(VENV)/.installed: pyproject.toml requirements.lock requirements-pip.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-pip.lock
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Rewrite requirements.lock from pyproject.toml's ranges with uv (it keeps the versions the
# lock already holds where the ranges allow: add --upgrade-package NAME to move one).
lock:
	$(PYTHON) -m venv .lock-tools && .lock-tools/bin/pip install --quiet uv
	.lock-tools/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements.lock
	rm -rf .lock-tools

# Start the local managed node unless NEWSMON_ES_URL points at a cluster.
es-up: venv
	@if [ -z "$$NEWSMON_ES_URL" ]; then $(BIN)/newsmon es start; fi

es-down: venv
	@if [ -z "$$NEWSMON_ES_URL" ]; then $(BIN)/newsmon es stop; fi

demo: es-up
	$(BIN)/python -m crawler.demo

# The browser tests drive Debian's Chromium (Playwright never downloads a browser): installed
# here when missing, with apt-get as root or through sudo.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; \
	fi

# The shared-state tests start their own throw-away PostgreSQL from Debian's server binaries
# (tests/postgres.py): installed here when missing, like the browser.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing Debian's postgresql for the shared-state tests"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq postgresql >/dev/null; \
	fi

# NEWSMON_REQUIRE_ES=1 / NEWSMON_REQUIRE_BROWSER=1: a test that needs Elasticsearch or
# Chromium (/usr/bin/chromium, Debian's package) fails instead of skipping.
test: es-up browser postgres
	NEWSMON_REQUIRE_ES=1 NEWSMON_REQUIRE_BROWSER=1 $(BIN)/pytest

# The fast layer: no Elasticsearch, no browser, nothing slow (the markers are set from what
# each test uses, tests/conftest.py); CI still runs everything through `make test`.
check: venv
	$(BIN)/pytest -q -p no:cacheprovider -m "not es and not browser and not slow and not state"

# The stubs in typings/ are checked against the installed libraries they describe.
STUBBED = apscheduler.job apscheduler.triggers.base apscheduler.triggers.cron apscheduler.jobstores.base \
  apscheduler.jobstores.sqlalchemy apscheduler.schedulers.base apscheduler.schedulers.background datasketch

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	MYPYPATH=typings $(BIN)/python -m mypy.stubtest --ignore-missing-stub --mypy-config-file pyproject.toml $(STUBBED)
	$(BIN)/lint-imports

# The reference tables in docs/ from the settings class and the site model.
docs: venv
	$(BIN)/python -m crawler.docs

# Extraction quality may not fall below the pinned floors (bench/extraction.py FLOORS).
gate: venv
	$(BIN)/python bench/extraction.py --gate
