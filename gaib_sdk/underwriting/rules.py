"""The hard rules of underwriting. Each refusal names the rule and the figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gaib_sdk.errors import AdvanceAboveCapError, UnderwritingError
from gaib_sdk.models import AssetRecord, CustomerContract

__all__ = ["LATE_DAYS", "check_advance", "check_asset_dates", "check_customers"]

#: A payment more than this many days past due counts as late; unpaid and past this, as missed.
LATE_DAYS = 30


def _usd(x: Decimal) -> str:
    return f"{x.normalize():f}" if x == x.to_integral() else f"{x:.2f}"


def check_asset_dates(assets: list[AssetRecord], as_of: date) -> None:
    """Collateral that exists on ``as_of``: an asset bought (installed, commissioned) after the quote's date
    would be valued new, undepreciated, though it is not there yet. ``assets`` in the inventory's order, which
    is its source's: the refusal names the row (from 1)."""
    for row, a in enumerate(assets, 1):
        if a.purchased_on > as_of:
            raise UnderwritingError(
                f"asset row {row} (serial {a.serial!r}) was bought on {a.purchased_on}, after the quote's date "
                f"{as_of}: quote on or after the day it was installed, or leave it out of the inventory",
                rule="asset_dates",
                asset_id=a.asset_id,
            )


def check_advance(advance: Decimal, appraised: Decimal, max_advance_rate: Decimal) -> None:
    """Real collateral, over-collateralised: the advance may be at most ``max_advance_rate`` of value."""
    if appraised <= 0:
        raise UnderwritingError(
            "the collateral has no appraised value: there is nothing to advance against", rule="real_collateral"
        )
    if advance <= 0:
        raise UnderwritingError(f"advance {_usd(advance)} USDC must be positive", rule="max_advance")
    cap = (appraised * max_advance_rate).quantize(Decimal("0.000001"))
    if advance > cap:
        raise AdvanceAboveCapError(
            f"advance {_usd(advance)} USDC exceeds {max_advance_rate * 100:.0f}% of appraised value "
            f"{_usd(appraised)} USDC (max {_usd(cap)})"
        )


def check_customers(
    contracts: list[CustomerContract], as_of: date, *, min_payments: int = 3, max_missed: int = 0
) -> int:
    """Signed customers with a payment history: at least one contract signed by ``as_of``, each with at
    least ``min_payments`` invoices on record, and at most ``max_missed`` missed payments in all.
    Returns the number of payments on record."""
    signed = [c for c in contracts if c.signed_on <= as_of]
    if not signed:
        raise UnderwritingError(
            "no signed customer contract: financing needs signed customers with a payment history "
            "(add them under 'contracts' in the inventory)",
            rule="signed_customers",
        )
    missed = 0
    for c in signed:
        if len(c.payments) < min_payments:
            raise UnderwritingError(
                f"customer {c.customer!r} has {len(c.payments)} payments on record; at least {min_payments} are needed",
                rule="payment_history",
            )
        missed += sum(1 for p in c.payments if p.paid_on is None and p.days_late(as_of) > LATE_DAYS)
    if missed > max_missed:
        raise UnderwritingError(
            f"{missed} missed payments across the signed customers (at most {max_missed} allowed)",
            rule="payment_history",
        )
    return sum(len(c.payments) for c in signed)
