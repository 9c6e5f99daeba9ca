"""gaib-battery: battery energy storage systems (BESS) as an asset class for gaib-sdk.

A third-party plugin, written as anyone outside the project would write one: it uses only gaib-sdk's public
API, names itself in the ``gaib_sdk`` entry-point group (pyproject.toml), and its tests run gaib-sdk's
conformance suite. Its one hook registers the adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib_sdk import hookimpl

from gaib_battery.adapter import BatteryAdapter, BatteryOptions

__all__ = ["BatteryAdapter", "BatteryOptions"]


@hookimpl
def register_asset_adapters(register: Callable[[type[Any]], None]) -> None:
    register(BatteryAdapter)
