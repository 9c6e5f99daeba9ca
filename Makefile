# The two commands of the README. Each does all of its own set-up on a fresh machine:
#   make quickstart   the three stages end to end on the embedded EVM
#   make test         the checks and the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Where the SDK looks for what set-up builds (Morpho Blue): $GAIB_HOME, by default ~/.gaib.
GAIB_HOME ?= $(HOME)/.gaib
MORPHO := $(GAIB_HOME)/artifacts/morpho-blue-1.0.0/Morpho.json
# The Curve StableSwap test stand-in (our own Solidity, not Curve's code), compiled at set-up.
CURVE_STANDIN := $(GAIB_HOME)/artifacts/curve-standin/StableSwapFactoryStandIn.json
# Pendle's compiled contracts, from `npm pack @pendle/core-v2@6.11.0` (written last by the fetch).
PENDLE := $(GAIB_HOME)/artifacts/pendle-core-v2-6.11.0/IStandardizedYield.json
# Safe 1.4.1 (the admin multisig on real networks; LGPL-3.0, never committed), compiled at set-up.
SAFE := $(GAIB_HOME)/artifacts/safe-1.4.1/Safe.json
# LayerZero V2's EndpointV2 and SimpleMessageLib (LZBL-1.2, never committed), compiled at set-up for dev chains.
LAYERZERO := $(GAIB_HOME)/artifacts/layerzero-v2-3.0.168/EndpointV2.json
# The example third-party plugin is installed the way a user installs a package (a wheel: its entry point,
# its package data) into a folder of its own, not into .venv, where the SDK's own tests check which plugins
# are installed; its tests then run against that install, with the SDK and first-party plugins from .venv.
EXAMPLE_PLUGIN := examples/gaib-battery
EXAMPLE_SITE := build/example-plugin

.PHONY: setup quickstart test lint typecheck docs example-plugin artifacts check-artifacts clean

setup: $(VENV)/.installed node_modules/.installed $(MORPHO) $(CURVE_STANDIN) $(PENDLE) $(SAFE) $(LAYERZERO)

$(VENV)/.installed: pyproject.toml plugins/gaib-gpu/pyproject.toml plugins/gaib-morpho/pyproject.toml plugins/gaib-robots/pyproject.toml plugins/gaib-curve/pyproject.toml plugins/gaib-pendle/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,docs]" -e plugins/gaib-gpu -e plugins/gaib-morpho -e plugins/gaib-robots -e plugins/gaib-curve -e plugins/gaib-pendle
	touch $@

# solc-js, OpenZeppelin and Morpho Blue come from the npm registry; nothing of theirs is committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(MORPHO): node_modules/.installed $(VENV)/.installed
	$(PY) -m gaib_morpho.build

$(CURVE_STANDIN): node_modules/.installed $(VENV)/.installed plugins/gaib-curve/standin/StableSwapStandIn.sol
	$(PY) -m gaib_curve.build

# Pendle's package cannot be installed (a dependency is missing from the registry): `npm pack` takes it, and
# only the artifacts a deployment needs are kept, never committed. The ERC1967Proxy needs node_modules.
$(PENDLE): node_modules/.installed $(VENV)/.installed
	$(PY) -m gaib_pendle.fetch

# .npmrc sets legacy-peer-deps: Safe declares ethers 5.4.0 as a peer, which nothing here needs.
$(SAFE): node_modules/.installed $(VENV)/.installed
	$(PY) -m gaib_sdk.chain.build_safe

$(LAYERZERO): node_modules/.installed $(VENV)/.installed
	$(PY) -m gaib_sdk.chain.layerzero

# The set-up's steps run two at a time: pip and npm side by side, then the third-party builds (each one
# solc-js process, or a download), as far as what each needs allows.
quickstart:
	$(MAKE) -j2 setup
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
	$(VENV)/bin/mypy $(EXAMPLE_PLUGIN)/gaib_battery

# The docs site (mkdocs, material theme, API reference from the docstrings); any warning fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

$(EXAMPLE_SITE)/.installed: $(VENV)/.installed $(shell find $(EXAMPLE_PLUGIN) -type f -not -path '*/.*' -not -path '*/__pycache__/*')
	rm -rf $(EXAMPLE_SITE)
	$(PY) -m pip install --quiet --no-index --no-deps --no-build-isolation --target $(EXAMPLE_SITE) $(EXAMPLE_PLUGIN)
	touch $@

example-plugin: $(EXAMPLE_SITE)/.installed
	PYTHONPATH=$(EXAMPLE_SITE) $(VENV)/bin/pytest $(EXAMPLE_PLUGIN)/tests

# The tests whose figures rest on a valuation date run a second time on another calendar day (GAIB_TEST_TODAY
# moves the test process's clock, see tests/conftest.py): a figure that depends on today's date fails there.
DATE_TESTS := tests/test_underwriting.py tests/test_engine.py tests/test_financialize.py \
	tests/test_cli.py::test_quickstart_prints_a_readable_summary tests/test_cli.py::test_quote_works_offline \
	tests/test_cli.py::test_a_users_mistake_is_one_line_and_exit_1

# The suite runs on every core (pytest-xdist), one worker more than cores: many tests wait on anvil or a
# child process, and on 2 cores 3 workers took 317 s where 2 took 393. --dist loadscope keeps each module in
# one worker, so a module's shared fixtures (a venue's deployed protocol) are built once.
WORKERS ?= $(shell $(PYTHON) -c "import os; print((os.cpu_count() or 1) + 1)")
PYTEST := $(VENV)/bin/pytest -n $(WORKERS) --dist loadscope

# The set-up two steps at a time (slither's own virtualenv beside it), the static checks two at a time
# (their output kept together per check), then the suite.
test:
	$(MAKE) -j2 setup $(SLITHER_VENV)/.installed
	$(MAKE) -j2 --output-sync=target check-artifacts lint typecheck docs example-plugin slither
	$(PYTEST)
	GAIB_TEST_TODAY=2031-07-15 $(PYTEST) -q -p no:cacheprovider $(DATE_TESTS)

# Static analysis of our contracts. slither runs in a virtualenv of its own: slither-analyzer 0.11.6 requires
# web3<8, which in .venv would downgrade the SDK's web3 8. crytic-compile drives solc-js through
# scripts/solc-wrapper; detector settings are in slither.config.json, each exclusion explained in
# docs/security.md. Fails on any medium or high finding that is not excluded there.
SLITHER_VENV := .venv-slither
SLITHER_PINS := slither-analyzer==0.11.6 crytic-compile==0.4.2
.PHONY: slither

$(SLITHER_VENV)/.installed:
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet $(SLITHER_PINS)
	touch $@

slither: $(SLITHER_VENV)/.installed node_modules/.installed
	$(SLITHER_VENV)/bin/slither gaib_sdk/contracts/src --config-file slither.config.json \
		--solc scripts/solc-wrapper --solc-standard-json --solc-remaps "@openzeppelin=node_modules/@openzeppelin @layerzerolabs=node_modules/@layerzerolabs"

clean:
	rm -rf $(VENV) node_modules $(MORPHO) $(dir $(CURVE_STANDIN)) $(dir $(PENDLE)) $(dir $(SAFE)) build
