# The two commands the README opens with: `make demo` and `make test`.
# Everything installs into .venv from requirements.lock (exact versions), so a fresh
# machine gets the set CI tested.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The dbt manifest Cosmos renders the DAGs' dbt tasks from (no dbt run at DAG parse time);
# rebuilt whenever a model, macro, test or the project file changes.
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml

.PHONY: setup demo test test-services lint clean-data bench

setup: $(STAMP) $(MANIFEST)

# One line per step ("<what> ... done in 12s"); the tool's own output goes to a log, shown
# (its last lines, and where the whole log is) only when the step fails.
# Usage: $(call step,<what>,<log file>,<command>)  (no commas inside the arguments)
define step
	@start=$$(date +%s); printf '%s ... ' "$(1)"; \
	if $(3) > $(2) 2>&1; then echo "done in $$(( $$(date +%s) - start ))s"; \
	else status=$$?; echo "FAILED after $$(( $$(date +%s) - start ))s (exit $$status; full output: $(2))"; \
	  tail -n 20 $(2); exit $$status; fi
endef

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || { printf 'creating %s with %s ... ' $(VENV) $(PYTHON); $(PYTHON) -m venv $(VENV) && echo done; }
	$(call step,installing $$(grep -c '^[A-Za-z0-9]' requirements.lock) packages from requirements.lock,$(VENV)/pip-install.log,$(BIN)/python -m pip install --disable-pip-version-check -r requirements.lock)
	$(call step,installing roi-pipeline (editable) from this checkout,$(VENV)/pip-install-project.log,$(BIN)/python -m pip install --disable-pip-version-check --no-deps -e .)
	@touch $(STAMP)

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(call step,building the dbt manifest for the DAGs ($(MANIFEST)),$(VENV)/dbt-manifest.log,$(BIN)/python -m roi_pipeline.orchestration.dbt)

demo: setup
	$(BIN)/roi demo

# Test files are spread over one worker process per core (pytest-xdist; a file's tests stay
# on one worker, so its module fixtures are built once). TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto
test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

# The tests that start real Airflow services: a backfill executed by a scheduler + api-server,
# and the Celery topology (PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379, two workers).
# The two run side by side (one per xdist worker): each starts its own deployment on free ports.
test-services: setup
	ROI_REQUIRE_SERVICES=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=5 -m "airflow_services or distributed"

# The benchmarks at a growing consultancy's scale (README: Benchmarks): `roi ingest` of 5
# clients x 24 months beside DuckDB's own readers; `roi build` full and one month of 50 clients
# x 24 months (2.58 M runs) beside a hand-written SQL pass; each limit measured in the same run.
# `roi run --month M` of 200 clients (landed files to every report) beside the aim of 200 clients
# in 15 minutes (benchmarks/bench_monthly_run.py). The peak memory of `roi ingest` on one n8n
# page of 300 and of 900 MiB beside DuckDB's read_json (benchmarks/bench_large_file.py, about
# 4 minutes). 12-14 minutes in all here (13 on 6 Dec 2026); `roi ingest` and the readers run three
# times, alternated, and each figure is the median.
# Their data sets are kept in $(BENCH_DIR) between runs; the last step prints every figure as one
# table (benchmarks/results.py).
BENCH_DIR ?= data/bench
bench: setup
	$(BIN)/python benchmarks/bench_ingest.py --clients 5 --months 24 --workdir $(BENCH_DIR)
	$(BIN)/python benchmarks/bench_incremental_build.py --base-clients 5 --clone 10 --run-copies 1 --months 24 --workdir $(BENCH_DIR)
	$(BIN)/python benchmarks/bench_monthly_run.py --clients 200 --workdir $(BENCH_DIR)
	$(BIN)/python benchmarks/bench_large_file.py --mib 300 900 --workdir $(BENCH_DIR)
	$(BIN)/python benchmarks/results.py --workdir $(BENCH_DIR)

# ruff, sqlfluff (dbt templater), yamllint and hygiene hooks: see .pre-commit-config.yaml
lint: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pre-commit run --all-files --show-diff-on-failure

clean-data:
	rm -rf data/
