# The two commands of the README. Each does all of its own set-up on a fresh machine:
#   make quickstart   the three stages end to end on the embedded EVM
#   make test         the checks and the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Where the SDK looks for what set-up builds (Morpho Blue): $GAIB_HOME, by default ~/.gaib.
GAIB_HOME ?= $(HOME)/.gaib
MORPHO := $(GAIB_HOME)/artifacts/morpho-blue-1.0.0/Morpho.json

.PHONY: setup quickstart test lint typecheck artifacts check-artifacts clean

setup: $(VENV)/.installed node_modules/.installed $(MORPHO)

$(VENV)/.installed: pyproject.toml plugins/gaib-gpu/pyproject.toml plugins/gaib-morpho/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -e plugins/gaib-gpu -e plugins/gaib-morpho
	touch $@

# solc-js, OpenZeppelin and Morpho Blue come from the npm registry; nothing of theirs is committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(MORPHO): node_modules/.installed $(VENV)/.installed
	$(PY) -m gaib_morpho.build

quickstart: setup
	$(VENV)/bin/gaib quickstart

# Rebuild our contracts from source and fail if the committed artifacts differ.
check-artifacts: setup
	$(PY) scripts/build_contracts.py --check

artifacts: node_modules/.installed $(VENV)/.installed
	$(PY) scripts/build_contracts.py

lint: setup
	$(VENV)/bin/ruff check gaib_sdk plugins tests examples scripts
	$(VENV)/bin/ruff format --check gaib_sdk plugins tests examples scripts

typecheck: setup
	$(VENV)/bin/mypy

test: setup check-artifacts lint typecheck
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) node_modules $(MORPHO)
