# Launchboard. `make run` serves the demo launch; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000

.PHONY: run test lint format install screenshot bench selftest clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_plan checklists/plans/whatsapp-saas.yaml
	$(PY) manage.py serve --port $(PORT)

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

screenshot: $(VENV)/.dev-installed
	LAUNCHBOARD_SCREENSHOT=docs/status-page.png $(PY) -m pytest tests/browser/test_screenshot.py -q

bench: $(VENV)/.dev-installed
	$(PY) bench/ingest_bench.py

# Launchboard's own launch-day load test, judged on its own board (launch launchboard-self).
selftest: $(VENV)/.dev-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py selftest $(SELFTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
