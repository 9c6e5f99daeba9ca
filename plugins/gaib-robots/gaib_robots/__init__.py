"""gaib-robots: cleaning robots rented as Robot-as-a-Service (RaaS), an asset class for gaib-sdk.

Registered through the ``gaib_sdk`` entry-point group, the same way a third-party plugin is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib_robots.adapter import RobotAdapter, RobotOptions
from gaib_sdk import hookimpl

__all__ = ["RobotAdapter", "RobotOptions"]


@hookimpl
def register_asset_adapters(register: Callable[[type[Any]], None]) -> None:
    register(RobotAdapter)
