"""The public surface: what `import gaib_sdk` exports, and the exception tree."""

from __future__ import annotations

import inspect
from pathlib import Path

import gaib_sdk
from gaib_sdk import errors


def test_all_is_exactly_what_is_exported() -> None:
    public = {n for n in dir(gaib_sdk) if not n.startswith("_")} - {
        # subpackages and modules are reachable as attributes once imported; they are not the API list
        n
        for n, v in vars(gaib_sdk).items()
        if inspect.ismodule(v)
    }
    assert set(gaib_sdk.__all__) - {"__version__"} == public
    assert sorted(gaib_sdk.__all__) == gaib_sdk.__all__


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
