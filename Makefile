# T4 Platform — developer commands. Every target creates the virtual environment on demand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8001

# The embedded default: DEBUG on so the development admin token is accepted.
DEV_ENV := DEBUG=$${DEBUG:-1} T4_ADMIN_TOKEN=$${T4_ADMIN_TOKEN:-dev-admin-token}

.PHONY: run test test-fast lint format migrate worker beat bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	mkdir -p var
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

migrate: venv
	$(DEV_ENV) $(PY) manage.py migrate --noinput

# The whole suite: the embedded tier (SQLite, LocMem), then the PostgreSQL + Redis tier when
# those services answer on their standard ports (skipped with a printed reason otherwise).
test: venv
	bash scripts/ensure_chromium.sh
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest
	$(PY) scripts/services_tier.py

test-fast: venv
	$(PY) -m pytest -x -q

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

worker: venv
	$(PY) -m celery -A t4site worker --loglevel=info

beat: venv
	$(PY) -m celery -A t4site beat --loglevel=info --scheduler django_celery_beat.schedulers:DatabaseScheduler

bench: venv
	$(PY) bench/api_auth.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
