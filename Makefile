# The verbs: make demo, make test, make lint, make bench.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench env clean cluster-demo

# Rebuild the environment only when pyproject.toml changed (idempotent).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(PY) run.py

# Two workers (the CI machine's two cores); the province's cluster tests share one
# (tests/conftest.py). One test alone: .venv/bin/pytest tests/path::name
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/table.py $(ARGS)

# A province on loopback (docs/scale.md): 3 NATS nodes with users per level, 8 demo feeds
# (24 halls in 3 cities), 2 gateways, 3 shards, and the province's console (q stops it all).
# make cluster-demo ARGS=--no-console: headless, until Ctrl-C.
cluster-demo: $(STAMP)
	$(PY) -m province.demo $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
