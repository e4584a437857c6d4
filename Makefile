# Launchboard. `make run` serves the demo launch; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
DEMO ?= 1

.PHONY: run test lint format install screenshot bench selftest clean system-packages

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[demo]'
	@touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_plan checklists/plans/whatsapp-saas.yaml
	$(PY) manage.py serve --port $(PORT) $(if $(filter 1,$(DEMO)),--demo,)

# Debian packages the tests run (Chromium for the browser tests and the report's charts, InfluxDB
# 1.x for the live-metrics tests, nginx for the production proxy's tests, Pango for WeasyPrint's
# PDFs, poppler's pdftoppm to look at them): installed when missing and we are root, else the one
# command to run is printed.
system-packages:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium fonts-noto-color-emoji"; \
	command -v influxd >/dev/null || missing="$$missing influxdb"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	ldconfig -p | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "The tests need Debian packages:$$missing. Run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

test: $(VENV)/.dev-installed system-packages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

screenshot: $(VENV)/.dev-installed
	$(PY) -m tests.support.screenshot docs/status-page.png

bench: $(VENV)/.dev-installed
	$(PY) bench/ingest_bench.py
	$(PY) bench/jtl_bench.py

# Launchboard's own launch-day load test, judged on its own board (launch launchboard-self).
selftest: $(VENV)/.dev-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py selftest $(SELFTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
