"""Projection of monthly cash flows from the signed customer contracts and the operating costs.

Revenue comes from two places:

- contracted leases (:class:`~gaib_sdk.models.CustomerContract`): take-or-pay, so a lease pays its
  ``monthly_revenue_usd`` every month of its term whatever the GPUs' utilisation, at the price signed
  (the market's rental decline does not touch it). Only contracts signed by the projection's start count;
  a month earns a lease if the month starts on or after the lease's start and before its end. A lease that
  ends inside the projection earns nothing afterwards: put that capacity in the on-demand share to re-let it.
- an on-demand share (:class:`~gaib_sdk.models.OnDemandCapacity`): GPUs sold by the hour at the market
  rate, billed for the hours used only, the rate falling by its yearly decline from month 1.

Costs (:class:`~gaib_sdk.models.OperatingCosts`, supplied by the adapter): power = units x kW x (1 + server
overhead) x PUE x hours x utilisation x $/kWh (units draw power when busy; an idle floor can be folded into
the kW figure), and the fixed costs a month: colocation on the IT kW, staff, insurance, maintenance and any
other facility cost (a month's ``facility_usd`` is their sum). Depreciation is reported and taken off net
income, but it is not cash: payback, IRR and DSCR use the net operating cash flow.

All amounts are rounded to the cent, half to even.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import CashFlowMonth, CashFlowProjection, CustomerContract, OnDemandCapacity, OperatingCosts
from gaib_sdk.underwriting.market import HOURS_PER_MONTH, decline_factor

__all__ = ["add_months", "cents", "contracted_by_month", "lease_contract", "leased_units", "project_cash_flows"]

_CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """Round to the cent, half to even."""
    return amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the end of a shorter month (Jan 31 + 1 -> Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")  # pragma: no cover


def lease_contract(
    customer: str,
    *,
    signed_on: date,
    starts_on: date,
    term_months: int,
    usd_per_gpu_hour: Decimal,
    units: int = 1,
    hours_per_month: Decimal = HOURS_PER_MONTH,
) -> CustomerContract:
    """A reserved-capacity lease priced per GPU-hour: it pays rate x hours x units every month of its term,
    used or not. A lease of one H100 at $2.10 pays 2.10 x 730 = $1,533.00 a month."""
    return CustomerContract(
        customer=customer,
        signed_on=signed_on,
        starts_on=starts_on,
        term_months=term_months,
        monthly_revenue_usd=cents(usd_per_gpu_hour * hours_per_month * units),
    )


def _contracted(contracts: Sequence[CustomerContract], month_start: date) -> Decimal:
    return sum(
        (
            c.monthly_revenue_usd
            for c in contracts
            if c.starts_on <= month_start < add_months(c.starts_on, c.term_months)
        ),
        Decimal(0),
    )


def leased_units(contracted_usd: Decimal, usd_per_unit_hour: Decimal, hours_per_month: Decimal) -> Decimal:
    """How many units a month's contracted revenue keeps busy, measured at the market rate: revenue /
    (rate x hours). All of them (infinity) when the rate is 0."""
    if usd_per_unit_hour <= 0:
        return Decimal("Infinity") if contracted_usd > 0 else Decimal(0)
    return contracted_usd / (usd_per_unit_hour * hours_per_month)


def contracted_by_month(contracts: Sequence[CustomerContract], *, start: date, months: int) -> list[Decimal]:
    """The revenue of the leases signed by ``start`` in each of ``months`` months from ``start`` (month 1
    first), as :func:`project_cash_flows` counts it."""
    signed = [c for c in contracts if c.signed_on <= start]
    return [cents(_contracted(signed, add_months(start, m))) for m in range(months)]


def project_cash_flows(
    contracts: Sequence[CustomerContract],
    *,
    start: date,
    months: int,
    costs: OperatingCosts,
    on_demand: OnDemandCapacity | None = None,
    depreciation_usd_per_month: Decimal = Decimal(0),
    vacant_units: Sequence[Decimal] = (),
) -> CashFlowProjection:
    """Project ``months`` months from ``start``: the leases signed by ``start`` and the on-demand share,
    less power and facility (net operating cash flow), less depreciation (net income). ``vacant_units[m - 1]``
    units stand empty in month m (capacity a lost customer freed, not yet re-let): they are not sold by the
    hour."""
    if months < 1:
        raise GaibValueError(f"a projection needs at least 1 month (got {months})")
    if depreciation_usd_per_month < 0:
        raise GaibValueError(f"depreciation {depreciation_usd_per_month} USDC a month must not be negative")
    signed = [c for c in contracts if c.signed_on <= start]
    power = cents(costs.power_usd_per_month)
    facility = cents(costs.fixed_usd_per_month)
    depreciation = cents(depreciation_usd_per_month)
    rows = []
    for m in range(1, months + 1):
        month_start = add_months(start, m - 1)
        contracted = cents(_contracted(signed, month_start))
        spot = Decimal(0)
        if on_demand is not None and on_demand.units:
            units = Decimal(on_demand.units)
            if on_demand.net_of_contracts:
                units -= leased_units(contracted, on_demand.usd_per_unit_hour, costs.hours_per_month)
            if m <= len(vacant_units):
                units -= vacant_units[m - 1]
            units = max(Decimal(0), units)
            rate = on_demand.usd_per_unit_hour * decline_factor(on_demand.rental_decline_per_year, m - 1)
            spot = cents(units * rate * costs.hours_per_month * on_demand.utilisation)
        revenue = contracted + spot
        noc = revenue - power - facility
        rows.append(
            CashFlowMonth(
                month=m,
                starts_on=month_start,
                contracted_revenue_usd=contracted,
                on_demand_revenue_usd=spot,
                revenue_usd=revenue,
                power_usd=power,
                facility_usd=facility,
                net_operating_cash_flow_usd=noc,
                depreciation_usd=depreciation,
                net_income_usd=noc - depreciation,
            )
        )
    return CashFlowProjection(start=start, months=rows)
