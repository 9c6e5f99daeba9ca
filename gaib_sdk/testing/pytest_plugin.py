"""gaib-sdk's pytest plugin, loaded by pytest wherever gaib-sdk is installed (entry point ``pytest11``).

It registers the marker ``gaib_conformance`` that every check of the conformance suite carries
(``pytest -m gaib_conformance`` runs only the suite), names gaib-sdk and the installed gaib plugins in the
report header, and provides two fixtures that need no async plugin for pytest:

- ``gaib_offline``: a :class:`~gaib_sdk.Gaib` with no chain (read inventories, appraise, quote);
- ``gaib_sync``: a :class:`~gaib_sdk.GaibSync` on a fresh in-process EVM with the protocol deployed,
  signing as the admin, closed after the test.

Both load the installed plugins through their entry points, as a user's client does.
With ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, load it by name: ``pytest -p gaib_sdk.testing.pytest_plugin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, entry_points, version

import pytest

from gaib_sdk import Gaib, GaibSync
from gaib_sdk.plugins import ENTRY_POINT_GROUP

__all__ = ["gaib_offline", "gaib_sync", "pytest_configure", "pytest_report_header"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gaib_conformance: a check of gaib-sdk's adapter conformance suite")


def pytest_report_header(config: pytest.Config) -> str:
    try:
        sdk = version("gaib-sdk")
    except PackageNotFoundError:  # imported from a source tree that is not installed
        sdk = "(not installed)"
    names = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return f"gaib-sdk {sdk}, plugins: {', '.join(names) or 'none'}"


@pytest.fixture
def gaib_offline() -> Gaib:
    """A client with no chain, and the installed plugins: read inventories, appraise, quote."""
    return Gaib.offline()


@pytest.fixture
def gaib_sync() -> Iterator[GaibSync]:
    """A fresh in-process EVM with the protocol deployed, signing as the admin; closed after the test."""
    client = GaibSync.embedded()
    try:
        yield client
    finally:
        client.close()
