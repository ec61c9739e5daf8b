# make demo | make test | make test-fast | make bench: each creates .venv and installs vitiseg first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test test-fast bench lint

$(BIN)/vitiseg: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/vitiseg

demo: install
	$(BIN)/python -m vitiseg.demo

# one test process per core, at most 4 (pytest-xdist), each handed the next test when free
PYTEST = $(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal

test: install
	$(PYTEST)

test-fast: install
	$(PYTEST) -m "not slow"

bench: install
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/train_speed.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
