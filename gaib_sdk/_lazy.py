"""Module ``__getattr__`` (PEP 562) for packages whose exported names load on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable, MutableMapping
from typing import Any


def lazy_exports(package: str, exports: dict[str, str], namespace: MutableMapping[str, Any]) -> Callable[[str], Any]:
    """A ``__getattr__`` that imports ``name`` from ``exports[name]`` (a module path) the first time it is
    asked for, and keeps it in the package's ``namespace`` so the next lookup is an ordinary one."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
