# govflow developer entry points: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
MO      := translations/zh/LC_MESSAGES/messages.mo
NODE_STAMP := node_modules/.installed
PORT    ?= 5000
TIERS   := $(wildcard tests/unit tests/integration tests/workflows tests/e2e tests/reliability tests/browser)
BENCHES := $(wildcard bench/bench_*.py)
export PORT

.PHONY: help install test run bench diagrams clean distclean

help:
	@echo "make run    start the app with demo data on SQLite at http://127.0.0.1:$(PORT)"
	@echo "make test   install and run every test tier ($(TIERS))"
	@echo "make bench  run bench/bench_*.py (BENCH_QUICK=1 for a short run)"
	@echo "make diagrams  regenerate bpmn/*.bpmn from workflows/*/diagram.py"
	@echo "make clean  remove caches, build output and the local database (distclean: also .venv)"

install: $(STAMP) $(MO) $(NODE_STAMP)

$(PY):
	python3 -m venv $(VENV)

# Re-install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(PY)
	$(VENV)/bin/pip install -e '.[dev]'
	touch $@

# The web app's compiled message catalogs (built, not kept in git).
$(MO): translations/zh/LC_MESSAGES/messages.po | $(STAMP)
	$(VENV)/bin/pybabel compile -d translations

# The front-end libraries the app serves under /vendor/ (bpmn-js, chart.js), exactly as locked;
# re-installed only when package.json or package-lock.json changed.
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# pytest exits 5 when it collected nothing: that is a failure here, not a silent pass.
test: install
	@test -n "$(TIERS)" || { echo "make test: no test tiers found under tests/" >&2; exit 1; }
	@rc=0; $(PY) -m pytest $(TIERS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; \
	echo "== every procedure path again, compacting long-case history at every save (SQLite)"; \
	GOVFLOW_COMPACTION_STRESS=1 $(PY) -m pytest tests/workflows -q -k sqlite $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: the compaction stress run collected no tests" >&2; exit 1; fi; \
	exit $$rc

run: install
	@bash bin/run-dev

bench: install
	@test -n "$(BENCHES)" || { echo "make bench: no bench/bench_*.py found" >&2; exit 1; }
	@set -e; for bench in $(BENCHES); do echo "== $$bench"; $(PY) $$bench; done

diagrams: install
	$(PY) -m tools.build_diagrams

clean:
	rm -rf build instance .pytest_cache *.egg-info bench/results/*.json
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules
