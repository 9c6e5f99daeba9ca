"""The hard rules of underwriting. Each refusal names the rule and the figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gaib_sdk.errors import AdvanceAboveCapError, UnderwritingError
from gaib_sdk.models import AssetRecord, AssetValuation, CreditPolicy, CustomerContract

__all__ = [
    "LATE_DAYS",
    "check_advance",
    "check_asset_dates",
    "check_borrower_exposure",
    "check_concentration",
    "check_customers",
]

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


def check_concentration(
    running: list[CustomerContract],
    assets: list[AssetRecord],
    valuations: list[AssetValuation],
    policy: CreditPolicy,
) -> dict[str, Decimal]:
    """Refuse a deal that rests too much on one customer (its share of the running contracted revenue above
    ``policy.max_customer_share``) or on one hardware model (its share of the appraised value above
    ``policy.max_model_share``), rule ``concentration``. Returns the largest shares, with their names."""
    out: dict[str, Decimal] = {}
    revenue: dict[str, Decimal] = {}
    for c in running:
        revenue[c.customer] = revenue.get(c.customer, Decimal(0)) + c.monthly_revenue_usd
    total = sum(revenue.values(), Decimal(0))
    if total > 0:
        name, top = max(revenue.items(), key=lambda kv: kv[1])
        share = (top / total).quantize(Decimal("0.0001"))
        out["top_customer_share"] = share
        if share > policy.max_customer_share:
            raise UnderwritingError(
                f"customer {name!r} pays {_usd(top)} of the {_usd(total)} USD of contracted revenue a month, "
                f"{share:.2%}: more than the {policy.max_customer_share:.0%} one customer may pay "
                "(CreditPolicy.max_customer_share): add customers, or lend on a smaller share",
                rule="concentration",
            )
    value: dict[str, Decimal] = {}
    for a, v in zip(assets, valuations, strict=True):
        value[a.model] = value.get(a.model, Decimal(0)) + v.value_usd
    appraised = sum(value.values(), Decimal(0))
    if appraised > 0:
        model, top = max(value.items(), key=lambda kv: kv[1])
        share = (top / appraised).quantize(Decimal("0.0001"))
        out["top_model_share"] = share
        if share > policy.max_model_share:
            raise UnderwritingError(
                f"hardware model {model!r} is {share:.2%} of the collateral's value: more than the "
                f"{policy.max_model_share:.0%} one model may be (CreditPolicy.max_model_share)",
                rule="concentration",
            )
    return out


def check_borrower_exposure(borrower: str, owed: Decimal, advance: Decimal, policy: CreditPolicy) -> None:
    """Refuse a new advance that would take what ``borrower`` owes across its open deals (``owed``) above
    ``policy.max_borrower_exposure_usd``, rule ``concentration``."""
    limit = policy.max_borrower_exposure_usd
    if limit is not None and owed + advance > limit:
        raise UnderwritingError(
            f"borrower {borrower} owes {_usd(owed)} USDC on its open deals; this advance of {_usd(advance)} would "
            f"take it to {_usd(owed + advance)}, above the {_usd(limit)} one borrower may owe "
            "(CreditPolicy.max_borrower_exposure_usd)",
            rule="concentration",
        )
