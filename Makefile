# One entry point per task; each runs scripts/setup.sh first, so it works on a fresh machine.
# Everything runs from the project virtualenv that setup creates (never the machine's own python).
VENV ?= .venv
PY := $(VENV)/bin/python
export VENV

.PHONY: setup test test-pythons demo bench bench-smoke bench-peers bench-peers-smoke lint fuzz soak

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest

test-pythons: setup
	bash scripts/test-pythons.sh

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) -m bench

bench-smoke: setup
	$(PY) -m bench --smoke

# Celery, RQ, Dramatiq and django-tasks-db side by side (setup installs them and redis-server).
bench-peers: setup
	$(PY) -m bench.peers

bench-peers-smoke: setup
	$(PY) -m bench.peers --smoke

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fuzz: setup
	$(PY) -m pytest tests -m fuzz --hypothesis-profile=fuzz

soak: setup
	$(PY) -m pytest tests -m soak
