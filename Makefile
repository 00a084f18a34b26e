# `make demo` and `make test-fast` work on a fresh machine with nothing but Python 3.11; `make test` also needs
# Chromium for the report's browser tests, and installs Debian's when this user may (scripts/ensure-chromium).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export ETL_ASSETS_HOME ?= $(CURDIR)/.etl_assets
export DAGSTER_HOME ?= $(ETL_ASSETS_HOME)/dagster
# the instance config a fresh DAGSTER_HOME starts with; deploy/dagster.postgres.yaml for PostgreSQL (README)
DAGSTER_YAML ?= dagster.yaml

.PHONY: demo test test-fast chromium dev bench stop clean dagster-home

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

dagster-home:
	mkdir -p "$(DAGSTER_HOME)"
	test -f "$(DAGSTER_HOME)/dagster.yaml" || cp "$(DAGSTER_YAML)" "$(DAGSTER_HOME)/dagster.yaml"

demo: $(VENV)/.installed dagster-home
	$(BIN)/etl-assets demo

# Every test. Chromium first, so a machine without it stops before anything is installed.
test: chromium $(VENV)/.installed
	$(BIN)/python -m pytest

# The inner loop: no emulator, services, Dagster runs, browser or slow tests.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not integration and not browser and not slow"

chromium:
	@scripts/ensure-chromium

dev: $(VENV)/.installed dagster-home
	$(BIN)/dagster dev -w workspace.yaml

# Every scenario against its peers in the same run (the peers in .venv-bench), results in benchmarks/RESULTS.md.
# QUICK=1: every scenario small, in under 2 minutes, results printed only. BENCH_ARGS: more options (--help).
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run $(if $(QUICK),--quick) $(BENCH_ARGS)

stop: $(VENV)/.installed
	$(BIN)/etl-assets warehouse stop

clean: stop
	rm -rf "$(ETL_ASSETS_HOME)"
