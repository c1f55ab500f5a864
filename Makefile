# journeymine: `make demo` writes the journey report on the bundled demo data,
# `make test` runs the whole test suite. Both set up .venv first (system packages too),
# with the exact versions of constraints.txt; `make lock` refreshes that file on purpose.
# docs/development.md says more.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONSTRAINTS := constraints.txt
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS)
STAMP := $(VENV)/.journeymine-installed
BROWSER_STAMP := $(VENV)/.journeymine-browser
SPARK_STAMP := $(VENV)/.journeymine-spark
POSTGRES_STAMP := $(VENV)/.journeymine-postgres

.PHONY: demo test setup docs dist lint typecheck bench lock clean

demo: setup
	$(PY) -m journeymine demo -o report.html

test: setup $(BROWSER_STAMP) $(SPARK_STAMP) $(POSTGRES_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo
	$(PY) -m pytest -q -n 2 --dist loadgroup

setup: $(STAMP)

# the documentation site, warnings as errors (make test builds it too: tests/test_docs_site.py)
docs: setup
	$(PY) -m sphinx -E -W --keep-going -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

# the wheel and sdist, checked as PyPI would (make test builds and installs them too:
# tests/test_packaging.py)
dist: setup
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

$(STAMP): pyproject.toml $(CONSTRAINTS) scripts/setup-system.sh
	bash scripts/setup-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[dev]'
	touch $(STAMP)

# the report's browser tests drive Debian's Chromium headless through playwright, whose node
# driver must start here (`playwright --version` runs it: a missing system library shows now)
$(BROWSER_STAMP): scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh --browser
	$(PY) -m playwright --version
	touch $(BROWSER_STAMP)

# the Spark engine's tests run a local Spark session: pyspark (the `spark` extra) and a JRE
$(SPARK_STAMP): pyproject.toml $(CONSTRAINTS) scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh --java
	$(PIP_INSTALL) -e '.[dev,spark]'
	touch $(SPARK_STAMP)

# read_sql's tests start a throwaway PostgreSQL cluster (journeymine._testing.throwaway_postgres)
$(POSTGRES_STAMP): scripts/setup-system.sh | $(STAMP)
	bash scripts/setup-system.sh --postgres
	touch $(POSTGRES_STAMP)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports --no-cache --no-logo

# mypy checks the Spark engine against pyspark's own types, as in `make test`
typecheck: setup $(SPARK_STAMP)
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/bench_ingest.py

# resolve the newest versions pyproject allows, in a throwaway venv, into constraints.txt
lock:
	bash scripts/lock-constraints.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info docs/_build docs/api/generated docs/gallery/*.ipynb
