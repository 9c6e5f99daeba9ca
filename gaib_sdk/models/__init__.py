"""Pydantic models: plain data, with no knowledge of the chain or of plugins."""

from gaib_sdk.models.assets import AssetRecord, CustomerContract, Inventory, Payment, Telemetry, asset_id
from gaib_sdk.models.finance import (
    AssetValuation,
    DealInfo,
    DealStatus,
    DealTerms,
    DigitizeResult,
    Quote,
    Repayment,
    VenuePosition,
)

__all__ = [
    "AssetRecord",
    "AssetValuation",
    "CustomerContract",
    "DealInfo",
    "DealStatus",
    "DealTerms",
    "DigitizeResult",
    "Inventory",
    "Payment",
    "Quote",
    "Repayment",
    "Telemetry",
    "VenuePosition",
    "asset_id",
]
