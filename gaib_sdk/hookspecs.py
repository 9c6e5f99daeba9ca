"""The plugin hooks. A plugin implements them with ``from gaib_sdk import hookimpl``.

Hooks only register classes; the work is done by the async adapter classes they register.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["hookimpl", "hookspec", "register_asset_adapters", "register_market_prices", "register_venues"]

hookspec = pluggy.HookspecMarker("gaib_sdk")
hookimpl = pluggy.HookimplMarker("gaib_sdk")


@hookspec
def register_asset_adapters(register: Callable[[type[Any]], None]) -> None:
    """Register asset classes: call ``register(cls)`` with each AssetAdapter subclass."""


@hookspec
def register_venues(register: Callable[[type[Any]], None]) -> None:
    """Register DeFi venues: call ``register(cls)`` with each Venue subclass."""


@hookspec
def register_market_prices(register: Callable[[type[Any]], None]) -> None:
    """Register market-price sources: call ``register(cls)`` with each MarketPriceSource subclass (one per kind)."""
