# One command set for people, CI (.ci/run) and hooks. Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run compile test unit lint goldens bench clean system stacks

# Set up (the compiler, PyTorch and the job scripts' libraries), then compile the digits
# pipeline and run it end to end on the local engine.
run: $(VENV)/.run
	$(BIN)/python -m engine compile-run project=digits framework=pytorch

# Set up (core dependencies only) and compile the digits pipeline for PyTorch.
compile: $(VENV)/.core
	$(BIN)/python -m compiler project=digits framework=pytorch

# Set up (everything: TensorFlow, PyTorch, the SageMaker SDK oracle, moto, linters, the Debian
# packages Graphviz and Chromium, and the image stacks below) and run every check on both cores.
test: system $(VENV)/.dev stacks lint
	$(BIN)/python -m pytest -n 2

# The stacks the tests run job code on, so the test run needs no network (tests/engine/
# test_containers.py): virtual environments under ~/.cache, built once per machine
# (engine/environments.py; the image's Python comes from PATH, pyenv or uv).
stacks: $(VENV)/.dev
	$(BIN)/python -m engine.environments build sagemaker-scikit-learn:1.9-0

# The fast tests: the core install plus pytest only (no TensorFlow, PyTorch or SDK).
unit: $(VENV)/.unit
	$(BIN)/python -m pytest tests/unit tests/configs tests/golden -m "not integration" -n 2

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Rewrite the golden files after an intended change (the bundle pairs are recompiled first, so
# their expected diffs compare what the compiler writes now); then read `git diff tests/`.
goldens: $(VENV)/.dev
	$(BIN)/python -m pytest tests/golden --update-goldens -q
	$(BIN)/python -m tests.bundle.make_pairs
	$(BIN)/python -m pytest tests/bundle --update-goldens -q

bench: $(VENV)/.dev
	$(BIN)/python bench/compile
	$(BIN)/python bench/models
	$(BIN)/python bench/local
	$(BIN)/python bench/publish
	$(BIN)/python bench/monitor
	$(BIN)/python bench/scale

# Graphviz and Chromium, where missing (apt-get as root; otherwise it says what to install).
system:
	bash .ci/system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.unit: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[unit]'
	touch $@ $(VENV)/.core

$(VENV)/.run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[pytorch]'
	touch $@ $(VENV)/.core

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.core $(VENV)/.unit $(VENV)/.run

clean:
	rm -rf build $(VENV)
