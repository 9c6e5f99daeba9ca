"""The public surface: what `import gaib_sdk` exports, and the exception tree."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import gaib_sdk
from gaib_sdk import errors


def test_all_is_exactly_what_is_exported() -> None:
    names = set(gaib_sdk.__all__) - {"__version__"}
    assert names == set(gaib_sdk._EXPORTS)
    assert sorted(gaib_sdk.__all__) == gaib_sdk.__all__
    for name in names:  # each resolves, to the object its module defines
        value = getattr(gaib_sdk, name)
        assert value is getattr(importlib.import_module(gaib_sdk._EXPORTS[name]), name)
        assert not inspect.ismodule(value), name
    with pytest.raises(AttributeError, match="no attribute 'Gaibb'"):
        gaib_sdk.Gaibb  # noqa: B018


@pytest.mark.parametrize(
    "program",
    ["import gaib_sdk", "import gaib_sdk.cli, sys; sys.argv = ['gaib', '--version']; gaib_sdk.cli.main()"],
)
def test_importing_the_sdk_or_asking_its_version_loads_no_web3_nor_evm(program: str) -> None:
    # what makes `import gaib_sdk` and `gaib --version` take a second: loaded on first use instead (rich, too,
    # is imported only by a command that draws a table or a progress bar)
    check = (
        "; import sys; print(sorted(m for m in ('web3', 'eth_account', 'eth', 'pydantic', 'rich') if m in sys.modules))"
    )
    code = f"try:\n    {program}\nexcept SystemExit:\n    pass\n{check.removeprefix('; ')}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_every_error_is_a_gaib_error_and_drawn_in_the_tree() -> None:
    tree = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.GaibError), name
        assert name in tree, f"{name} is missing from the tree in gaib_sdk/errors.py"
        assert name in gaib_sdk.__all__, name


def test_value_errors_are_also_builtin_value_errors() -> None:
    for cls in (errors.InventoryError, errors.DuplicateAssetError, errors.AdvanceAboveCapError):
        assert issubclass(cls, ValueError)


def test_the_package_is_typed() -> None:
    assert Path(inspect.getfile(gaib_sdk)).with_name("py.typed").exists()
