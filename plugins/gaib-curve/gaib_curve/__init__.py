"""gaib-curve: Curve StableSwap-NG as a venue for gaib-sdk: the AID/USDC stable pool, the exit for holders
who are not whitelisted to redeem AID (they sell it for USDC there).

Registered through the ``gaib_sdk`` entry-point group, the same way a third-party plugin is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib_curve.venue import CurveOptions, CurveVenue
from gaib_sdk import hookimpl

__all__ = ["CurveOptions", "CurveVenue"]


@hookimpl
def register_venues(register: Callable[[type[Any]], None]) -> None:
    register(CurveVenue)
