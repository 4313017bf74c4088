# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2 --cov --cov-report=term:skip-covered
# Exact versions of every dependency: installs take them from here (make lock refreshes it).
LOCK := requirements.lock
PIP_INSTALL = python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint typecheck pytest bench lock clean

$(BIN)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "epro needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP_INSTALL) --constraint $(LOCK) -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/epro demo

lint: $(BIN)/.installed
	$(BIN)/ruff format --check src sync tests benchmarks
	$(BIN)/ruff check src sync tests benchmarks
	$(BIN)/lint-imports

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run

# Resolve pyproject.toml's ranges afresh in a scratch environment and pin the result.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/$(PIP_INSTALL) -e '.[dev]'
	{ sed -n '/^#/p' $(LOCK); .lock-venv/bin/python -m pip freeze --exclude-editable; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
