# Two commands matter: `make demo` and `make test`. Everything they need is installed from here.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
CWH := $(VENV)/bin/cwh
export CWH_HOME ?= $(CURDIR)/data
STAMP := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds -type f 2>/dev/null) dbt_project/dbt_project.yml

.PHONY: install demo test test-spark lint lock lock-spark clean help bench dagster mutants

help:
	@echo "make demo   - set up, generate demo data, run the nightly job, print a summary"
	@echo "make test   - set up, lint (make lint) and run the test suite"
	@echo "make test-spark - build the demo on Apache Spark too and check every mart equals the DuckDB build"
	@echo "make lint   - ruff on the Python code, sqlfluff on the dbt models"
	@echo "make lock   - re-pin requirements.lock from pyproject.toml (dependencies + the dev extra)"
	@echo "make lock-spark - re-pin requirements-spark.lock from pyproject.toml (+ the spark extra)"
	@echo "make bench  - nightly run (full, incremental, by stage) vs a DuckDB lower bound and pandas at 1M and 10M lines"
	@echo "make dagster - the Dagster UI (assets, checks, schedule, sensors) on http://127.0.0.1:3000"
	@echo "make mutants - apply each one-line mistake of tests/mutants.yml to a copy of the checkout; each must fail a test"

# venv + exact pins from requirements.lock (uv, itself pinned, makes this take seconds): the runtime
# dependencies and the dev extra (pytest, playwright, ruff, sqlfluff, and hatchling, the build backend,
# so the editable install below is built with the locked backend)
# --compile-bytecode: the .pyc files are written once here, so no process compiles dagster, dbt, pandas…
# from source again (where __pycache__ cannot be written, or PYTHONDONTWRITEBYTECODE is set, every
# `cwh` command otherwise paid it: `import orchestration.launch` 10.6 s of CPU → 4.9 s)
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --no-deps --no-build-isolation -e .
	touch $(STAMP)

# the dbt manifest Dagster loads, prepared here and never at import
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	cd dbt_project && CWH_HOME=$(CWH_HOME) ../$(VENV)/bin/dbt parse --quiet --profiles-dir . --target-path target

# the newest DuckDB 1.x Python client, in its own folder (it cannot share the venv with DuckDB 2): the
# test that every DuckDB 1.x from 1.2 on opens the published file runs it (tests/e2e/test_published_file.py)
DUCKDB1 := $(VENV)/duckdb1
$(DUCKDB1)/.installed: $(STAMP) requirements-duckdb1.lock
	rm -rf $(DUCKDB1)
	$(UV) pip install --quiet --python $(PY) --target $(DUCKDB1) -r requirements-duckdb1.lock
	touch $@

install: $(STAMP) $(MANIFEST) $(DUCKDB1)/.installed

# the demo history ends 2026-10-31; the nightly run of 2026-11-01 lands, gates, builds and publishes it
DEMO_DATE := 2026-11-01

demo: install
	$(CWH) demo --reset
	$(CWH) run --date $(DEMO_DATE)
	$(CWH) feeds
	$(CWH) pnl

# Debian's chromium drives the browser tests (playwright's own browser download cannot work here)
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# lint first: a ruff or sqlfluff finding fails `make test` before the suite runs
test: install $(CHROMIUM) lint
	$(PY) -m pytest -n 2 -q

# one mutation at a time in a scratch copy (never this checkout); exits non-zero if one survives.
# MUTANTS="fsync reader" runs those whose name contains a word; README "Testing" says how long it takes
MUTANTS ?=
mutants: install
	$(PY) tests/mutants.py $(foreach word,$(MUTANTS),--only $(word))

# order lines per size; data sets are cached under $(CWH_HOME)/bench/<lines>/, figures in bench-<lines>.json,
# issue 17's table of every size in bench-summary.json. BENCH_ARGS: more `cwh bench` options (--reuse-data)
BENCH_LINES ?= 1000000 10000000
BENCH_ARGS ?=
bench: install
	$(CWH) bench $(foreach n,$(BENCH_LINES),--lines $(n)) $(BENCH_ARGS)

# The Spark path (README "Spark"): pyspark and dbt-spark go into the same .venv from their own lock,
# so the main lock stays free of them; Spark 4 needs Java 17, from Debian when it is missing.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(UV) pip install --quiet --python $(PY) -r requirements-spark.lock
	touch $(SPARK_STAMP)

test-spark: install $(SPARK_STAMP)
	command -v java >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless)
	$(PY) -m pytest -m spark -q tests/spark

# the Dagster UI on the home's persistent instance (run history, schedules, sensors), the one `cwh run`
# records into (orchestration/defs/instance.py writes its dagster.yaml: run retries on, pooled event log)
dagster: install
	$(PY) -c 'from connectors.home import Home; from orchestration.defs.instance import home_instance; home_instance(Home.from_env())'
	DAGSTER_HOME=$(CWH_HOME)/dagster $(VENV)/bin/dagster dev -w workspace.yaml

# both from pyproject.toml, the one dependency list; uv keeps every existing pin unless the ranges force
# a change (`$(UV) pip compile … --upgrade-package NAME` moves one on purpose)
lock:
	$(UV) pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11 --no-header

# constrained by requirements.lock, so the packages both share (dbt-core…) keep the main pins
lock-spark:
	$(UV) pip compile pyproject.toml --extra spark -c requirements.lock -o requirements-spark.lock --python-version 3.11 --no-header

# both linters always run; the target fails if either finds something (configuration: pyproject.toml
# [tool.ruff], dbt_project/.sqlfluff)
lint: $(STAMP)
	$(VENV)/bin/ruff check . ; ruff=$$?; \
	$(VENV)/bin/sqlfluff lint dbt_project/models; sqlfluff=$$?; \
	exit $$(( ruff || sqlfluff ))

clean:
	rm -rf $(VENV) data
