"""One exception tree for the SDK. Catch ``GaibError`` to catch them all.

::

    GaibError
    ├── GaibConfigError            configuration missing or wrong (no artifact, unknown venue, bad URL)
    ├── PluginError                a plugin failed to load, or its adapter is incomplete
    ├── GaibValueError(ValueError) bad input, refused before any transaction is sent
    │   ├── InventoryError         a malformed inventory row (says which row and field)
    │   ├── DuplicateAssetError    an asset that is already registered on-chain
    │   ├── AssetOwnershipError    an asset registered to another owner, provisional, or disputed
    │   ├── NotWhitelistedError    an account that the AID contract will not let mint or redeem
    │   ├── InsufficientFundsError a balance or reserve too small for the amount asked
    │   ├── NotDelinquentError     a deal not far enough past due for the delinquency trigger asked
    │   ├── UnderwritingError      a hard rule of underwriting refused the deal
    │   │   └── AdvanceAboveCapError  the advance exceeds the cap on appraised value
    │   └── BridgeError            a cross-chain transfer the bridge would refuse (paused, denied, rate limit)
    └── ChainError                 talking to the chain failed
        └── TransactionFailed      a transaction reverted or was not mined

Errors raised from a backend (web3, httpx, a plugin) are translated at the boundary with
``raise ... from exc`` and carry what is known: the stage, the asset id, the chain id, the tx hash.
"""

from __future__ import annotations

__all__ = [
    "AdvanceAboveCapError",
    "AssetOwnershipError",
    "BridgeError",
    "ChainError",
    "DuplicateAssetError",
    "GaibConfigError",
    "GaibError",
    "GaibValueError",
    "InsufficientFundsError",
    "InventoryError",
    "NotDelinquentError",
    "NotWhitelistedError",
    "PluginError",
    "TransactionFailed",
    "UnderwritingError",
]


class GaibError(Exception):
    """Root of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        stage: str | None = None,
        asset_id: str | None = None,
        chain_id: int | None = None,
        tx_hash: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage
        self.asset_id = asset_id
        self.chain_id = chain_id
        self.tx_hash = tx_hash


class GaibConfigError(GaibError):
    """Configuration is missing or wrong."""


class PluginError(GaibError):
    """A plugin failed to load, registered something invalid, or left abstract methods unimplemented."""


class GaibValueError(GaibError, ValueError):
    """Bad input, refused before any transaction is sent."""


class InventoryError(GaibValueError):
    """A malformed inventory row. ``row`` counts from 1 in the source; ``field`` is the dotted path."""

    def __init__(self, message: str, *, row: int | None = None, field: str | None = None, **context: str) -> None:
        super().__init__(message, stage="digitize", **context)  # type: ignore[arg-type]
        self.row = row
        self.field = field


class DuplicateAssetError(GaibValueError):
    """The asset is already registered: registering it again is refused, not duplicated."""


class AssetOwnershipError(GaibValueError):
    """The registry names another owner for the asset, or its ownership is provisional or disputed: only
    its owner registers, retires or finances it (docs/security.md, "Asset ownership")."""


class NotWhitelistedError(GaibValueError):
    """The account is not KYC-whitelisted for minting or redeeming AID."""


class InsufficientFundsError(GaibValueError):
    """A balance, allowance or reserve is too small for the amount asked."""


class NotDelinquentError(GaibValueError):
    """The deal is not far enough past due for a delinquency trigger (CreditFacility.markDelinquent)."""


class UnderwritingError(GaibValueError):
    """A hard rule of underwriting refused the deal. ``rule`` names it."""

    def __init__(self, message: str, *, rule: str, **context: str) -> None:
        super().__init__(message, stage="financialize", **context)  # type: ignore[arg-type]
        self.rule = rule


class AdvanceAboveCapError(UnderwritingError):
    """The advance asked for exceeds the cap on appraised value."""

    def __init__(self, message: str, **context: str) -> None:
        super().__init__(message, rule="max_advance", **context)


class ChainError(GaibError):
    """Talking to the chain failed."""


class TransactionFailed(ChainError):
    """A transaction reverted, or was not mined. ``reason`` is the decoded revert reason if known."""

    def __init__(self, message: str, *, reason: str | None = None, **context: object) -> None:
        super().__init__(message, **context)  # type: ignore[arg-type]
        self.reason = reason


class BridgeError(GaibValueError):
    """A cross-chain transfer that the bridge would refuse: paused, a denied account, over the rate limit, an
    unknown network or token; refused before anything is sent."""
