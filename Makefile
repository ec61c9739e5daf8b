# make demo | make test | make test-fast | make bench | make model: each creates .venv and installs vitiseg first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test test-fast bench lint model

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

# the bundled vineyard model: its recipe scored on the date split (the card's figures),
# then trained on every labelled photo (needs ../shared/data; about an hour each on 2 cores)
model: install
	cd benchmarks && ../$(BIN)/python bundled_model.py --date-split
	cd benchmarks && ../$(BIN)/python bundled_model.py

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
