"""gaib-gpu: the GPU cluster asset class for gaib-sdk.

Registered through the ``gaib_sdk`` entry-point group, the same way a third-party plugin is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib_gpu.adapter import GpuAdapter, GpuOptions
from gaib_gpu.market import GpuMarketOptions, GpuMarketPrices
from gaib_sdk import hookimpl

__all__ = ["GpuAdapter", "GpuMarketOptions", "GpuMarketPrices", "GpuOptions"]


@hookimpl
def register_asset_adapters(register: Callable[[type[Any]], None]) -> None:
    register(GpuAdapter)


@hookimpl
def register_market_prices(register: Callable[[type[Any]], None]) -> None:
    register(GpuMarketPrices)
