"""gaib-sdk: turn off-chain AI infrastructure into on-chain, yield-bearing assets.

    from gaib_sdk import Gaib
    gaib = await Gaib.embedded()          # an in-process EVM with the protocol deployed
    await gaib.digitize("gpu")            # register the GPU plugin's sample cluster

The three stages are methods of :class:`Gaib`: ``digitize``, ``financialize``, ``add_liquidity``.
:class:`GaibSync` is the same client for code that is not async.
"""

from gaib_sdk.adapters import AdapterOptions, AssetAdapter, Venue, build_inventory, validate_row
from gaib_sdk.client import FinanceResult, Gaib, Receipt
from gaib_sdk.errors import (
    AdvanceAboveCapError,
    AssetOwnershipError,
    ChainError,
    DuplicateAssetError,
    GaibConfigError,
    GaibError,
    GaibValueError,
    InsufficientFundsError,
    InventoryError,
    NotDelinquentError,
    NotWhitelistedError,
    PluginError,
    TransactionFailed,
    UnderwritingError,
)
from gaib_sdk.hookspecs import hookimpl
from gaib_sdk.models import (
    AssetRecord,
    AssetValuation,
    CustomerContract,
    DealInfo,
    DealSchedule,
    DealStatus,
    DealTerms,
    Delinquency,
    DigitizeResult,
    Inventory,
    Payment,
    Quote,
    Repayment,
    StressPolicy,
    SweepResult,
    Telemetry,
    VenuePosition,
    VenueQuote,
    asset_id,
)
from gaib_sdk.paths import gaib_home
from gaib_sdk.sync import GaibSync

__version__ = "0.1.0"

__all__ = [
    "AdapterOptions",
    "AdvanceAboveCapError",
    "AssetAdapter",
    "AssetOwnershipError",
    "AssetRecord",
    "AssetValuation",
    "ChainError",
    "CustomerContract",
    "DealInfo",
    "DealSchedule",
    "DealStatus",
    "DealTerms",
    "Delinquency",
    "DigitizeResult",
    "DuplicateAssetError",
    "FinanceResult",
    "Gaib",
    "GaibConfigError",
    "GaibError",
    "GaibSync",
    "GaibValueError",
    "InsufficientFundsError",
    "Inventory",
    "InventoryError",
    "NotDelinquentError",
    "NotWhitelistedError",
    "Payment",
    "PluginError",
    "Quote",
    "Receipt",
    "Repayment",
    "StressPolicy",
    "SweepResult",
    "Telemetry",
    "TransactionFailed",
    "UnderwritingError",
    "Venue",
    "VenuePosition",
    "VenueQuote",
    "__version__",
    "asset_id",
    "build_inventory",
    "gaib_home",
    "hookimpl",
    "validate_row",
]
