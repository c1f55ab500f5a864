# journeymine: `make demo` writes the journey report on the bundled demo data,
# `make test` runs the whole test suite. Both set up .venv first (system packages too).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.journeymine-installed
BROWSER_STAMP := $(VENV)/.journeymine-browser
SPARK_STAMP := $(VENV)/.journeymine-spark

.PHONY: demo test setup system-deps lint typecheck bench clean

demo: setup
	$(PY) -m journeymine demo -o report.html

test: setup $(BROWSER_STAMP) $(SPARK_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n 2 --dist loadgroup

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# the report's browser tests drive Debian's Chromium headless (installed once)
$(BROWSER_STAMP): scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh --browser
	touch $(BROWSER_STAMP)

# the Spark engine's tests run a local Spark session: pyspark (the `spark` extra) and a JRE
$(SPARK_STAMP): pyproject.toml scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh --java
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,spark]'
	touch $(SPARK_STAMP)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
