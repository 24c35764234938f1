# Haven: `make run` serves the demo on SQLite; `make test` runs every check on PostgreSQL + Redis.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# The test suite's own servers and role, on loopback; a developer's data is never touched.
TEST_DATABASE_URL ?= postgres://haven:haven@127.0.0.1:5432/haven
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help install install-dev run migrate seed test lint typecheck pytest services browser lock clean bench

help:
	@echo "make run    - install, migrate, seed the demo and serve on http://$(HOST):$(PORT) (SQLite)"
	@echo "make test   - start PostgreSQL and Redis, install Chromium if missing, then lint, type-check and run every test"
	@echo "make lock   - re-resolve the dependency pins into constraints.txt"
	@echo "make bench  - start PostgreSQL and Redis, then bench/run.py \$$BENCH_ARGS (see bench/README.md)"

# Debian's python3 keeps venv in a separate package: install it when root may.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  echo "python3 -m venv failed: installing python3-venv with apt"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
	  && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the dependencies change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo "Haven on http://$(HOST):$(PORT)/  (API docs: /api/docs/, health: /health/, admin: /admin/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

services:
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" TEST_REDIS_URL="$(TEST_REDIS_URL)" bash tests/services.sh

# Debian's Chromium for the browser tests (apt when missing; never a browser download).
browser:
	bash tests/browser.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r config core accounts forum moderation --severity-level high

typecheck: install-dev
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
		$(BIN)/mypy config core accounts forum moderation

pytest: install-dev services browser
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
		$(BIN)/pytest $(PYTEST_ARGS)

test: install-dev services browser lint typecheck pytest

lock: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

# Load benchmarks by hand, never part of make test: its own databases, Redis db and port.
BENCH_ARGS ?= --posts 1000
bench: install-dev services
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles
