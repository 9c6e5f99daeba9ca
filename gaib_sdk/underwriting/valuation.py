"""Valuation of assets. Pure functions: no I/O."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, Decimal

from gaib_sdk.models import AssetRecord, AssetValuation

__all__ = ["months_between", "straight_line_valuation", "straight_line_value", "to_cents"]


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (0 if end is earlier)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(0, months)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def straight_line_value(
    purchase_price: Decimal, purchased_on: date, as_of: date, *, life_months: int, residual: Decimal
) -> Decimal:
    """Value after straight-line depreciation from the purchase price to ``residual`` x price over
    ``life_months``, then flat at the residual. Rounded down to the cent (conservative)."""
    if not 0 <= residual <= 1:
        raise ValueError(f"residual {residual} must be between 0 and 1")
    age = min(months_between(purchased_on, as_of), life_months)
    floor = purchase_price * residual
    return to_cents(purchase_price - (purchase_price - floor) * Decimal(age) / Decimal(life_months))


def straight_line_valuation(
    asset: AssetRecord, as_of: date, *, life_months: int, residual: Decimal, method: str | None = None
) -> AssetValuation:
    """An asset's valuation by :func:`straight_line_value`, with its age; ``method`` says how (by default
    "straight-line over N months to R% residual"). The common case of an adapter's ``appraise``."""
    return AssetValuation(
        asset_id=asset.asset_id,
        serial=asset.serial,
        purchase_price_usd=asset.purchase_price_usd,
        age_months=months_between(asset.purchased_on, as_of),
        value_usd=straight_line_value(
            asset.purchase_price_usd, asset.purchased_on, as_of, life_months=life_months, residual=residual
        ),
        method=method or f"straight-line over {life_months} months to {residual:.0%} residual",
    )
