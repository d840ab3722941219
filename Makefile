# CostLens — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DATABASE_URL_TEST ?= postgres://root@127.0.0.1:5432/costlens

.PHONY: demo test install lint typecheck fmt serve bench-ingest clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Seeds ./demo.sqlite3 once, then serves http://127.0.0.1:8000. `make demo DEMO_ARGS=--reseed` starts over.
demo: $(STAMP)
	COSTLENS_DEMO=1 $(BIN)/python manage.py demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	DATABASE_URL=$(DATABASE_URL_TEST) DEBUG=1 $(BIN)/pytest -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) demo.sqlite3* staticfiles
