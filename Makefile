# An Sinh — the two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | sort -n | tail -1)

.PHONY: run test check install contracts contracts-check lint typecheck imports hooks bench postgres chromium clean migration

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## PostgreSQL is on the machine; start it if it is down (tests need it).
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
	  echo "starting PostgreSQL $(PG_VERSION)"; \
	  pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

## Debian's chromium for the browser tests (never a downloaded browser build).
chromium:
	@test -x /usr/bin/chromium || { \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/ansinh up

## The rules the tools check (ARCHITECTURE.md), then the tests: CI runs exactly this.
test: install check postgres chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

check: lint typecheck imports contracts-check

contracts: install
	$(BIN)/python -m shared.contracts generate

contracts-check: install
	$(BIN)/python -m shared.contracts check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy shared services deploy

## The import contracts of .importlinter; `make imports CONTRACTS="shared-acyclic domain-pure"`
## checks only those.
imports: install
	$(BIN)/lint-imports $(foreach contract,$(CONTRACTS),--contract $(contract))

## The same checks before each commit (.pre-commit-config.yaml).
hooks: install
	$(BIN)/pre-commit install

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## make migration SERVICE=households MSG="add complaints"
migration: install
	$(BIN)/python -m shared.migrations revision $(SERVICE) "$(MSG)"

clean:
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
