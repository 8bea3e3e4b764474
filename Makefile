# Every task a person runs. `make demo` and `make test` work on a fresh clone:
# each creates the virtualenv, installs the pinned packages and (as root) the
# Debian Chromium that the PNG export and the browser tests need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
PYTHON ?= python3.11
# Absolute, because dbt-duckdb resolves a relative path from the working directory.
override API_TRUST_DB := $(abspath $(or $(API_TRUST_DB),data/api_trust.duckdb))
export API_TRUST_DB
export DBT_PROFILES_DIR := $(ROOT)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

ROWS ?= 120000
SEED ?= 42
DAYS ?= 30
SCENARIO ?= default
DIRTY ?= 0.03
BATCHES ?= 3
DRIFT ?= --drift
FILES ?=
BATCH ?=
# File and batch names are data: they reach the loader through the environment,
# unexpanded ($(value ...)), so neither make nor a shell ever reads them as code.
export API_TRUST_FILES := $(value FILES)
export API_TRUST_BATCHES := $(value BATCH)

.PHONY: help setup system-deps demo generate load unload batches dimensions build dashboards report export docs profile \
        test pytest dbt-test lint format bench eval clean java-deps build-spark test-spark

help: ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 1; }
	@echo "setup: creating $(VENV) with pinned packages (first run: about a minute)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	@touch $@

setup: $(VENV)/.installed system-deps ## create .venv and install packages (and Chromium when root)
	@echo "setup: ready ($(VENV))"

system-deps: ## install Debian's chromium for PNG export and browser tests (root only)
	@if command -v chromium >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "setup: installing Debian chromium (PNG export, browser tests)"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif [ "$${CI:-}" = true ]; then echo "setup: chromium missing and not root: under CI=true the browser tests must run, so this fails"; exit 1; \
	else echo "setup: chromium missing and not root: PNG export and browser tests will say so and be skipped"; fi

demo: setup ## generate data, build every model, render dashboards and the insights report
	@$(MAKE) --no-print-directory generate build dashboards report export
	@echo "demo: warehouse $(API_TRUST_DB); dashboards in $(ROOT)/dashboards (index.html, *.png, insights.md)"
	@echo "demo: query it with  .venv/bin/duckdb -readonly $(API_TRUST_DB)"

generate: $(VENV)/.installed ## synthetic logs: ROWS= SEED= DAYS= SCENARIO= DIRTY= BATCHES= DRIFT=
	@$(PY) -m api_trust.generate --rows $(ROWS) --seed $(SEED) --days $(DAYS) --scenario $(SCENARIO) \
		--dirty-rate $(DIRTY) --batches $(BATCHES) $(DRIFT)

load: $(VENV)/.installed ## load your own log files: FILES="a.csv 'name with spaces.csv'" [DATE_ORDER=dmy|mdy]
	@$(PY) -m api_trust.ingest --from-env API_TRUST_FILES $(if $(DATE_ORDER),--date-order '$(DATE_ORDER)')

unload: $(VENV)/.installed ## remove batches from the warehouse: BATCH="file_ab12cd34ef56 ..."
	@$(PY) -m api_trust.unload --from-env API_TRUST_BATCHES

dimensions: $(VENV)/.installed ## list extra fields worth slicing by (WRITE=1 writes vars.analysis_dimensions.extra)
	@$(PY) -m api_trust.dimensions $(if $(WRITE),--write,)

batches: $(VENV)/.installed ## list the loaded batches (ids for make unload)
	@$(PY) -m api_trust.unload --list

# Unit tests check our SQL on fixtures, not the data: they run once in make test (and in
# make dbt-test), not in every build of a warehouse (about 15 s of a build at any size).
build: $(VENV)/.installed ## dbt build (seeds, models, data tests) into API_TRUST_DB
	@$(PY) -m api_trust.warehouse
	@cd $(ROOT) && $(DBT) build --quiet --exclude-resource-type unit_test --warn-error-options '{"error": ["NoNodesForSelectionCriteria"]}' || \
		{ echo "build: dbt build failed (see above; if it says 'Could not set lock', close the DuckDB CLI)"; exit 1; }
	@$(PY) -m api_trust.build_warnings
	@echo "build: every model built and tested in $(API_TRUST_DB)"

dashboards: $(VENV)/.installed ## PNG dashboards and dashboards/index.html from the marts
	@$(PY) -m api_trust.dashboards

report: $(VENV)/.installed ## dashboards/insights.md: KPIs, SLOs and ranked findings
	@$(PY) -m api_trust.report

export: $(VENV)/.installed ## data/processed_api_logs.parquet and .csv from the clean facts
	@$(PY) -m api_trust.export

docs: $(VENV)/.installed ## dbt docs generate, then serve on http://localhost:8080
	@mkdir -p $(dir $(API_TRUST_DB))
	@cd $(ROOT) && $(DBT) docs generate --quiet && echo "docs: generated in target/; serving on http://localhost:8080 (Ctrl-C stops)"
	@cd $(ROOT) && $(DBT) docs serve --port 8080 --no-browser

TEST_DB := $(ROOT)/data/test_warehouse.duckdb
# sqlfluff's dbt templater and dbt parse open a warehouse: a throwaway one, never yours.
# Both parse into one target folder with the same profile, so each reuses dbt's
# partial-parse file of the last lint instead of parsing from scratch (about 5 s each).
LINT_DB := $(ROOT)/data/lint.duckdb
LINT_ENV := API_TRUST_DB=$(LINT_DB) DBT_TARGET_PATH=$(ROOT)/target/lint

# pytest builds every warehouse it needs (the demo's shape among them, with every data
# test) and runs the unit tests and source freshness on it: make test does not build
# dbt-test's warehouse too (same checks, one build fewer).
test: setup ## lint, then pytest (real warehouses: dbt builds, unit tests, source freshness)
	@$(MAKE) --no-print-directory lint pytest
	@echo "test: all checks passed (lint, pytest)"

dbt-test: $(VENV)/.installed ## dbt build and source freshness on a small dirty, drifting test warehouse
	@rm -f $(TEST_DB) $(TEST_DB).wal
	@API_TRUST_DB=$(TEST_DB) $(PY) -m api_trust.generate --rows 30000 --seed 7 --dirty-rate 0.05 --batches 3 --drift
	@cd $(ROOT) && API_TRUST_DB=$(TEST_DB) DBT_TARGET_PATH=$(ROOT)/target/test $(DBT) build --quiet
	@cd $(ROOT) && API_TRUST_DB=$(TEST_DB) DBT_TARGET_PATH=$(ROOT)/target/test $(DBT) source freshness --quiet
	@echo "dbt-test: every model, unit test and data test passed on $(TEST_DB); sources fresh"

pytest: $(VENV)/.installed
	@cd $(ROOT) && $(PY) -m pytest -q --durations=15

lint: $(VENV)/.installed ## ruff, sqlfluff (dbt templater; files that passed unchanged are skipped), dbt-score
	@mkdir -p $(dir $(LINT_DB))
	@cd $(ROOT) && $(VENV)/bin/ruff check scripts tests
	@cd $(ROOT) && $(VENV)/bin/ruff format --check scripts tests
	@cd $(ROOT) && $(LINT_ENV) $(PY) -m api_trust.lint_sql models tests analyses -- --disable-progress-bar --nocolor --processes 2
	@cd $(ROOT) && $(LINT_ENV) $(DBT) parse --quiet && $(VENV)/bin/dbt-score lint -m $(ROOT)/target/lint/manifest.json
	@echo "lint: ruff, sqlfluff and dbt-score clean"

format: $(VENV)/.installed ## apply ruff format and sqlfluff fix
	@mkdir -p $(dir $(LINT_DB))
	@cd $(ROOT) && $(VENV)/bin/ruff format scripts tests && $(VENV)/bin/ruff check --fix scripts tests
	@cd $(ROOT) && $(LINT_ENV) $(VENV)/bin/sqlfluff fix models tests analyses --disable-progress-bar

bench: $(VENV)/.installed ## BENCHMARKS.md: every stage and its references per size (BENCH_ROWS="120000 1000000")
	@$(PY) -m api_trust.bench

EVAL_SEEDS ?= 5
EVAL_BASELINE_SEEDS ?= 20
profile: $(VENV)/.installed ## where one model spends its time in the built warehouse: MODEL=int_api_calls_validated
	@$(PY) -m api_trust.profile $(MODEL)

eval: $(VENV)/.installed ## grade root-cause findings over many seeds -> EVALUATION.md; the marts' planted structure on 5 seeds
	@$(PY) -m api_trust.evaluate --seeds $(EVAL_SEEDS) --baseline-seeds $(EVAL_BASELINE_SEEDS)
	@cd $(ROOT) && API_TRUST_ALL_SEEDS=1 $(PY) -m pytest -q -m seeds tests/python

$(VENV)/.spark-installed: $(VENV)/.installed requirements-spark.txt
	@echo "setup: adding dbt-spark and PySpark to $(VENV) (first run: about a minute)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-spark.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	@touch $@

java-deps: ## install Debian's Java 17 for Spark (root only)
	@if command -v java >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "setup: installing Debian openjdk-17-jre-headless (Spark)"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	else echo "error: Spark needs Java 17 (java not found, and not root to install it)"; exit 1; fi

SPARK_ROWS ?= 10000
SPARK_DAYS ?= 3
# Unit tests run once, in make test-spark (as in make build).
build-spark: $(VENV)/.spark-installed java-deps ## the same dbt project on local Spark over a small generated dataset (README "Running on Spark")
	@$(PY) -m api_trust.spark --rows $(SPARK_ROWS) --days $(SPARK_DAYS) -- build --exclude-resource-type unit_test

test-spark: $(VENV)/.spark-installed java-deps ## everything on Spark (unit tests too), then every mart compared with DuckDB's on the same data
	@cd $(ROOT) && API_TRUST_SPARK_TEST_ROWS=$(SPARK_ROWS) API_TRUST_SPARK_TEST_DAYS=$(SPARK_DAYS) $(PY) -m pytest -q -m spark tests/python/test_spark.py
	@echo "test-spark: the project passes on Spark and every mart agrees with DuckDB"

clean: ## remove generated data, dashboards and dbt artefacts (keeps .venv)
	rm -rf data/*.duckdb data/*.duckdb.wal data/*.duckdb.landing data/*.duckdb.tables data/*.csv data/*.parquet dashboards/*.png dashboards/*.html dashboards/*.md target logs .spark
