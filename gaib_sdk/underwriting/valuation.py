"""Valuation of assets. Pure functions: no I/O.

:func:`mark_to_market` checks an adapter's valuations against an independent market-price source
(:class:`~gaib_sdk.MarketPriceSource`): a stated purchase price far above the market's new price is refused,
the depreciated cost follows the model's residual-value curve where the source has one, and each asset is
worth the lower of its depreciated cost, its market value and its income value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from gaib_sdk.errors import UnderwritingError
from gaib_sdk.models import AssetRecord, AssetValuation, CreditPolicy

if TYPE_CHECKING:
    from gaib_sdk.adapters import MarketPriceSource

__all__ = [
    "check_stated_price",
    "mark_to_market",
    "months_between",
    "straight_line_valuation",
    "straight_line_value",
    "to_cents",
]


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


def check_stated_price(row: int, asset: AssetRecord, source: MarketPriceSource, policy: CreditPolicy) -> None:
    """Refuse a stated purchase price above the market's new price when it was bought by more than the
    policy's ``max_price_premium``: the invoice is the borrower's word, the market is not."""
    new = source.new_price(asset.model, asset.purchased_on)
    if new is None or new.new_usd is None:
        return
    limit = to_cents(new.new_usd * (1 + policy.max_price_premium))
    if asset.purchase_price_usd > limit:
        cited = new.source or f"assumption: {new.assumption}"
        raise UnderwritingError(
            f"asset row {row} (serial {asset.serial!r}, {asset.model}) is stated at {asset.purchase_price_usd:,.2f} "
            f"USD, above the market's new price of {new.new_usd:,.2f} USD ({new.observed_on}, {cited}) by more than "
            f"{policy.max_price_premium:.0%} (at most {limit:,.2f}, CreditPolicy.max_price_premium): lend on the "
            "market's figure, or show the invoice and raise the policy's threshold",
            rule="stated_price",
            asset_id=asset.asset_id,
        )


def mark_to_market(
    assets: Sequence[AssetRecord],
    valuations: Sequence[AssetValuation],
    source: MarketPriceSource,
    as_of: date,
    policy: CreditPolicy | None = None,
) -> list[AssetValuation]:
    """Each valuation (in the assets' order) checked against ``source``: the stated price
    (:func:`check_stated_price`), the depreciated cost capped by purchase price x the model's residual curve,
    and the value the lowest of that cost, the adapter's income value and the market value of a used unit."""
    policy = policy or CreditPolicy()
    out = []
    prices: dict[str, tuple[Decimal | None, str | None]] = {}
    for row, (asset, v) in enumerate(zip(assets, valuations, strict=True), 1):
        check_stated_price(row, asset, source, policy)
        if asset.model not in prices:
            found = source.price(asset.model, as_of)
            used = found.used_usd if found is not None else None
            cited = None if found is None else (found.source or f"assumption: {found.assumption}")
            prices[asset.model] = (to_cents(used) if used is not None else None, cited)
        market, cited = prices[asset.model]
        cost = v.cost_value_usd if v.cost_value_usd is not None else v.value_usd
        curve = source.residual_curve(asset.model)
        if curve is not None:
            cost = min(cost, to_cents(asset.purchase_price_usd * curve.share(v.age_months)))
        candidates: list[tuple[Decimal, str]] = [(cost, "cost")]
        if v.income_value_usd is not None:
            candidates.append((v.income_value_usd, "income"))
        elif v.value_usd < cost:
            candidates.append((v.value_usd, v.binding or "cost"))
        if market is not None:
            candidates.append((market, "market"))
        value, binding = min(candidates, key=lambda c: c[0])
        note = f"; market {market} ({cited})" if market is not None else ""
        curved = f"; residual curve {curve.share(v.age_months):.1%} at {v.age_months} months" if curve else ""
        out.append(
            v.model_copy(
                update={
                    "value_usd": value,
                    "cost_value_usd": cost,
                    "binding": binding,
                    "market_value_usd": market,
                    "market_source": cited,
                    "method": f"lower of cost, income and market: {binding} ({v.method}{curved}{note})",
                }
            )
        )
    return out
