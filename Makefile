# Two commands on a fresh machine with Python 3.11+, git and make:
#   make run    start the whole product on its embedded defaults
#   make test   run the whole test suite
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
PORT ?= 5000
# Two workers: one per core of the machines this runs on (pytest-xdist).
PYTEST_ARGS ?= -n 2

.PHONY: install run test test-fast bench translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	mkdir -p instance
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo
	@echo ""
	@echo "  Open http://127.0.0.1:$(PORT)/  (web, Celery worker + beat, local Stripe on :8420)"
	@echo "  Every demo login above uses the password demo1234. Ctrl-C stops everything."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m tests.perf $(BENCH_ARGS)

translations: install
	$(BIN)/flask --app wsgi translations

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
