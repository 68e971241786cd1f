# Two commands for a fresh machine: `make train` (the main job) and `make test` (every test), and
# `make test-fast` for the edit loop. All create .venv when it is missing and reinstall when
# pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: train test test-fast test-exhaustive lint format bench docs graphviz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

train: $(STAMP)
	$(BIN)/funcgrad train $(ARGS)

# Rendering tests need Graphviz's `dot`; install it where we can (root with apt), else they skip.
graphviz:
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) ; } \
	  || echo "graphviz: 'dot' not installed; rendering tests will be skipped (apt-get install graphviz)"

# ruff for style, mypy for the annotations (its settings are in pyproject.toml's [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check funcgrad tests scripts notebooks docs/hooks
	$(BIN)/ruff format --check funcgrad tests scripts notebooks docs/hooks
	$(BIN)/python -m mypy

format: $(STAMP)
	$(BIN)/ruff format funcgrad tests scripts notebooks docs/hooks
	$(BIN)/ruff check --fix funcgrad tests scripts notebooks docs/hooks

# The suite as CI runs it (.ci/run), less the exhaustive tier, then the 30 slowest tests.
test: $(STAMP) graphviz lint
	$(BIN)/python -m pytest -n auto -m "not exhaustive" --durations=30 $(ARGS)

# Every torch sample of every layer (module_db and op_db) that `make test` spreads out, each layer
# un-jitted and checked by finite differences, the torchvision families beyond make test's four,
# and the benchmark's other workers and scripts: over an hour on 2 cores.
test-exhaustive: $(STAMP)
	$(BIN)/python -m pytest -n auto -m exhaustive --durations=30 $(ARGS)

# The edit loop (about 5 minutes on 2 cores): all but the tests marked slow, subprocess, docs,
# notebooks or property (tests/conftest.py assigns them). No lint; `make lint` runs it.
FAST := not (slow or subprocess or docs or notebooks or property or exhaustive)
test-fast: $(STAMP) graphviz
	$(BIN)/python -m pytest -n auto -m "$(FAST)" --durations=10 $(ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py $(ARGS)

# The docs site (mkdocs-material, API reference from each package's __all__, notebooks with their
# outputs) into site/; open site/index.html, or serve it with `python -m http.server -d site`.
docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict -d site

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache .mypy_cache runs site dist build
