"""gaib-morpho: Morpho Blue as a venue for gaib-sdk: USDC lending markets with sAID as collateral.

Registered through the ``gaib_sdk`` entry-point group, the same way a third-party plugin is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib_morpho.venue import Liquidation, MorphoOptions, MorphoVenue
from gaib_sdk import hookimpl

__all__ = ["Liquidation", "MorphoOptions", "MorphoVenue"]


@hookimpl
def register_venues(register: Callable[[type[Any]], None]) -> None:
    register(MorphoVenue)
