"""What the node network's client methods (``gaib.nodes``, :mod:`gaib_sdk.namespaces.nodes`) answer with: an
operator's status, a challenge's fault, an asset's attested status; and GAIB amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from gaib_sdk.errors import GaibValueError
from gaib_sdk.node.report import DeviceReport

__all__ = ["AttestedStatus", "Fault", "OperatorStatus"]

GAIB_DECIMALS = 18
ZERO32 = b"\0" * 32


class OperatorStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    UNBONDING = 2
    JAILED = 3


class Fault(IntEnum):
    """What a challenge proves (NodeAttestation.Fault)."""

    EQUIVOCATION = 0
    UNKNOWN_ASSET = 1
    IMPOSSIBLE = 2


@dataclass(frozen=True)
class AttestedStatus:
    """An asset's latest report that checked out: root on chain, inclusion proof, operator's signature."""

    asset_id: str
    operator: str
    period: int
    period_start: int
    period_end: int
    health: str
    utilisation: Decimal
    revenue_usdc: Decimal
    device_id: str
    telemetry_hash: str
    root: str
    uri: str
    report: DeviceReport
    proof: list[str]
    signature: str


def _units(amount: Decimal | int | str, what: str) -> int:
    """GAIB to base units: more than 0, counted exactly by :func:`to_units` (scaling a Decimal rounds past 28
    digits, which let 19 decimal places through)."""
    from gaib_sdk.namespaces._base import to_units  # web3 and the client load only where a bond is made

    units = to_units(amount, GAIB_DECIMALS, what=what)
    if units == 0:
        raise GaibValueError(f"{what} {amount} must be more than 0 GAIB")
    return units


def _gaib(units: int) -> Decimal:
    return Decimal(units).scaleb(-GAIB_DECIMALS)
