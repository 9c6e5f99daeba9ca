"""Inventory-level helpers for valuing assets by the lower of depreciated cost and income.

An adapter's :meth:`~gaib_sdk.AssetAdapter.appraise_inventory` values every asset of an inventory at once,
because an income value needs what one record does not hold: the signed contracts (a cluster's leases are
signed for the whole inventory, so each asset gets its share, pro rata to its purchase price) and the
asset's latest telemetry (its utilisation).

- :func:`contract_shares`: each asset's share of the contracted revenue, month by month;
- :func:`latest_utilisation`: each asset's utilisation from its latest telemetry (0 when unhealthy);
- :func:`contracted_income_valuation`: an asset that has no rental market of its own (a cleaning robot on
  a RaaS contract): the lower of its depreciated cost and its income value, which is the present value of
  its contracted fees until its last contract ends plus its depreciated value then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import AssetRecord, AssetValuation, Inventory, Telemetry
from gaib_sdk.underwriting.cashflow import add_months, cents, contracted_by_month
from gaib_sdk.underwriting.valuation import months_between, straight_line_value, to_cents

__all__ = ["contract_shares", "contracted_income_valuation", "latest_utilisation", "quote_values"]


def contract_shares(
    inventory: Inventory, as_of: date, months: int, *, cap_usd_per_unit_month: Decimal | None = None
) -> list[list[Decimal]]:
    """Each asset's share (in the inventory's order) of the revenue of the contracts signed by ``as_of``, for
    ``months`` months from ``as_of`` (month 1 first), pro rata to purchase price. Shares are not rounded:
    they add up to the whole, unless ``cap_usd_per_unit_month`` (the unit's capacity x the kind's price
    ceiling) caps what one asset can earn in a month: a dear asset's share of the leases is then not more than
    its hours can earn."""
    total = contracted_by_month(inventory.contracts, start=as_of, months=months) if months > 0 else []
    price = sum((a.purchase_price_usd for a in inventory.assets), Decimal(0))
    if price <= 0:
        raise GaibValueError("the inventory's assets have no purchase price to share the contracts by")
    by_price: dict[Decimal, list[Decimal]] = {}  # assets of one price share alike: compute each once
    for a in inventory.assets:
        if a.purchase_price_usd not in by_price:
            shares = [t * a.purchase_price_usd / price for t in total]
            if cap_usd_per_unit_month is not None:
                shares = [min(x, cap_usd_per_unit_month) for x in shares]
            by_price[a.purchase_price_usd] = shares
    return [by_price[a.purchase_price_usd] for a in inventory.assets]


def latest_utilisation(inventory: Inventory, *, default: Decimal) -> dict[str, Decimal]:
    """Each asset's utilisation by serial, from its latest telemetry; 0 if that reading says it is not
    healthy (it earns nothing by the hour until repaired); ``default`` if it has none."""
    latest: dict[str, Telemetry] = {}
    for t in inventory.telemetry:  # one pass: a cluster may have thousands of readings
        if t.serial not in latest or t.observed_at > latest[t.serial].observed_at:
            latest[t.serial] = t
    out = {}
    for a in inventory.assets:
        last = latest.get(a.serial)
        out[a.serial] = default if last is None else Decimal(str(last.utilisation)) if last.healthy else Decimal(0)
    return out


def contracted_income_valuation(
    asset: AssetRecord,
    as_of: date,
    *,
    contracted_usd: Sequence[Decimal],
    life_months: int,
    residual: Decimal,
    discount_rate: Decimal = Decimal("0.15"),
    operating_usd_per_month: Decimal = Decimal(0),
) -> AssetValuation:
    """The lower of an asset's depreciated cost (straight line over ``life_months`` to ``residual``) and
    its income value: the fees of ``contracted_usd`` (month 1 first) less ``operating_usd_per_month``,
    until the last month with a fee (or the end of its life), each discounted at ``discount_rate`` a year,
    plus its depreciated value then, discounted. Without a contract the two are equal: cost binds."""
    if discount_rate <= -1:
        raise GaibValueError(f"discount rate {discount_rate} must be above -100%")
    age = months_between(asset.purchased_on, as_of)
    price, bought = asset.purchase_price_usd, asset.purchased_on
    cost = straight_line_value(price, bought, as_of, life_months=life_months, residual=residual)
    remaining = max(0, life_months - age)
    last = max((m for m, fee in enumerate(contracted_usd[:remaining], 1) if fee > 0), default=0)
    monthly = (Decimal(1) + discount_rate) ** (Decimal(1) / Decimal(12))
    income = Decimal(0)
    discount = Decimal(1)
    for m in range(1, last + 1):
        discount /= monthly
        income += max(Decimal(0), contracted_usd[m - 1] - operating_usd_per_month) * discount
    end_value = straight_line_value(price, bought, add_months(as_of, last), life_months=life_months, residual=residual)
    income = to_cents(income + end_value * discount)
    binding: Literal["cost", "income"] = "income" if income < cost else "cost"
    fees = cents(sum(contracted_usd[:last], Decimal(0)))
    return AssetValuation(
        asset_id=asset.asset_id,
        serial=asset.serial,
        purchase_price_usd=price,
        age_months=age,
        value_usd=min(cost, income),
        method=(
            f"lower of straight-line cost {cost} (over {life_months} months to {residual:.0%} residual) and income "
            f"{income} (PV at {discount_rate:.0%} of ${fees} of contracted fees over {last} months, then the "
            f"depreciated hardware {end_value}): {binding}"
        ),
        cost_value_usd=cost,
        income_value_usd=income,
        binding=binding,
    )


def quote_values(
    valuations: Sequence[AssetValuation],
) -> tuple[Decimal | None, Decimal | None, Literal["cost", "income", "market", "mixed"] | None]:
    """The quote's cost and income values (summed, where every valuation has both) and which bound:
    ``cost``, ``income`` or ``market`` for every asset, ``mixed`` otherwise; (None, None, None) for cost-only
    appraisals."""
    if not valuations or any(v.cost_value_usd is None or v.income_value_usd is None for v in valuations):
        return None, None, None
    cost = sum((v.cost_value_usd or Decimal(0) for v in valuations), Decimal(0))
    income = sum((v.income_value_usd or Decimal(0) for v in valuations), Decimal(0))
    bindings = {v.binding for v in valuations}
    only = bindings.pop() if len(bindings) == 1 else None
    return cost, income, only if only is not None else "mixed"
