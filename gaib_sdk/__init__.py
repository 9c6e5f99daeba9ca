"""gaib-sdk: turn off-chain AI infrastructure into on-chain, yield-bearing assets.

    from gaib_sdk import Gaib
    gaib = await Gaib.embedded()          # an in-process EVM with the protocol deployed
    await gaib.digitize("gpu")            # register the GPU plugin's sample cluster

The three stages are methods of :class:`Gaib`: ``digitize``, ``financialize``, ``add_liquidity``; the rest
is in its namespaces, which mirror the protocol (``gaib.aid.mint``, ``gaib.deals.get``, ``gaib.said.stake``...:
:mod:`gaib_sdk.namespaces`). :class:`GaibSync` is the same client for code that is not async.
"""

from typing import TYPE_CHECKING

from gaib_sdk._lazy import lazy_exports

if TYPE_CHECKING:
    from gaib_sdk.adapters import (
        AdapterOptions,
        AssetAdapter,
        MarketPriceSource,
        Venue,
        build_inventory,
        validate_row,
    )
    from gaib_sdk.client import FinanceResult, Gaib, Receipt
    from gaib_sdk.errors import (
        AdvanceAboveCapError,
        AssetOwnershipError,
        BridgeError,
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
        CreditPolicy,
        CustomerContract,
        DealInfo,
        DealSchedule,
        DealStatus,
        DealTerms,
        Delinquency,
        DigitizeResult,
        Inventory,
        MarketPrice,
        OnDemandCapacity,
        OperatingCosts,
        Payment,
        Quote,
        Repayment,
        ResidualCurve,
        StressPolicy,
        StressScenario,
        SweepResult,
        Telemetry,
        VenuePosition,
        VenueQuote,
        asset_id,
    )
    from gaib_sdk.paths import gaib_home
    from gaib_sdk.sync import GaibSync

__version__ = "0.1.0"

# Each name is imported from its module on first use: `import gaib_sdk` (and `gaib --version`) does not pay
# for web3, eth-account and the EVM until something needs them.
_EXPORTS = {
    "AdapterOptions": "gaib_sdk.adapters",
    "AdvanceAboveCapError": "gaib_sdk.errors",
    "AssetAdapter": "gaib_sdk.adapters",
    "AssetOwnershipError": "gaib_sdk.errors",
    "AssetRecord": "gaib_sdk.models",
    "AssetValuation": "gaib_sdk.models",
    "BridgeError": "gaib_sdk.errors",
    "ChainError": "gaib_sdk.errors",
    "CustomerContract": "gaib_sdk.models",
    "DealInfo": "gaib_sdk.models",
    "DealSchedule": "gaib_sdk.models",
    "DealStatus": "gaib_sdk.models",
    "DealTerms": "gaib_sdk.models",
    "Delinquency": "gaib_sdk.models",
    "DigitizeResult": "gaib_sdk.models",
    "DuplicateAssetError": "gaib_sdk.errors",
    "FinanceResult": "gaib_sdk.client",
    "Gaib": "gaib_sdk.client",
    "GaibConfigError": "gaib_sdk.errors",
    "GaibError": "gaib_sdk.errors",
    "GaibSync": "gaib_sdk.sync",
    "GaibValueError": "gaib_sdk.errors",
    "InsufficientFundsError": "gaib_sdk.errors",
    "Inventory": "gaib_sdk.models",
    "InventoryError": "gaib_sdk.errors",
    "MarketPriceSource": "gaib_sdk.adapters",
    "NotDelinquentError": "gaib_sdk.errors",
    "NotWhitelistedError": "gaib_sdk.errors",
    "Payment": "gaib_sdk.models",
    "PluginError": "gaib_sdk.errors",
    "Quote": "gaib_sdk.models",
    "Receipt": "gaib_sdk.client",
    "Repayment": "gaib_sdk.models",
    "StressPolicy": "gaib_sdk.models",
    "StressScenario": "gaib_sdk.models",
    "ResidualCurve": "gaib_sdk.models",
    "OperatingCosts": "gaib_sdk.models",
    "OnDemandCapacity": "gaib_sdk.models",
    "MarketPrice": "gaib_sdk.models",
    "CreditPolicy": "gaib_sdk.models",
    "SweepResult": "gaib_sdk.models",
    "Telemetry": "gaib_sdk.models",
    "TransactionFailed": "gaib_sdk.errors",
    "UnderwritingError": "gaib_sdk.errors",
    "Venue": "gaib_sdk.adapters",
    "VenuePosition": "gaib_sdk.models",
    "VenueQuote": "gaib_sdk.models",
    "asset_id": "gaib_sdk.models",
    "build_inventory": "gaib_sdk.adapters",
    "gaib_home": "gaib_sdk.paths",
    "hookimpl": "gaib_sdk.hookspecs",
    "validate_row": "gaib_sdk.adapters",
}


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AdapterOptions",
    "AdvanceAboveCapError",
    "AssetAdapter",
    "AssetOwnershipError",
    "AssetRecord",
    "AssetValuation",
    "BridgeError",
    "ChainError",
    "CreditPolicy",
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
    "MarketPrice",
    "MarketPriceSource",
    "NotDelinquentError",
    "NotWhitelistedError",
    "OnDemandCapacity",
    "OperatingCosts",
    "Payment",
    "PluginError",
    "Quote",
    "Receipt",
    "Repayment",
    "ResidualCurve",
    "StressPolicy",
    "StressScenario",
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
