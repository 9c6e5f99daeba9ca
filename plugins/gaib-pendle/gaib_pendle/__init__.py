"""gaib-pendle: Pendle as a venue for gaib-sdk: sAID wrapped as a Standardized Yield token, split into a
principal token (PT, fixed yield) and a yield token (YT, sAID's variable yield), and a PT/SY market.

Registered through the ``gaib_sdk`` entry-point group, the same way a third-party plugin is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib_pendle.venue import PendleOptions, PendleVenue
from gaib_sdk import hookimpl

__all__ = ["PendleOptions", "PendleVenue"]


@hookimpl
def register_venues(register: Callable[[type[Any]], None]) -> None:
    register(PendleVenue)
