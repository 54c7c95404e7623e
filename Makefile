# One command set for people, CI (.ci/run) and hooks. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: compile test lint goldens bench clean

# Set up (core dependencies only) and compile the digits pipeline for PyTorch.
compile: $(VENV)/.core
	$(BIN)/python -m compiler project=digits framework=pytorch

# Set up (everything: TensorFlow, PyTorch, the SageMaker SDK oracle, linters) and run every check.
test: $(VENV)/.dev lint
	$(BIN)/python -m pytest -n 2

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Rewrite the golden definitions after an intended change; then read `git diff tests/golden`.
goldens: $(VENV)/.dev
	$(BIN)/python -m pytest tests/golden --update-goldens -q

bench: $(VENV)/.dev
	$(BIN)/python bench/compile
	$(BIN)/python bench/models

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.core

clean:
	rm -rf build $(VENV)
