"""Pricing: repayment schedules for the three structures, the cash reserve, collateral cover, and priority
repayment of the lender from the deal's cash.

One convention, the chain's (docs/underwriting.md, "One convention"): periods of 30 days (2,592,000 s) from
the opening; a term of m months is 30 x m days; ``n = ceil(term_days / 30)`` installments, installment k
due ``min(30k, term_days)`` days after the opening. Fees and interest are simple, actual/365 by the second,
on the principal outstanding, each rounded up to a USDC unit (1 unit = 0.000001 USDC) as the
CreditFacility does: ``ceil(principal x bps x seconds / (10,000 x 31,536,000))``. Nothing compounds: interest
is never added to principal. :func:`chain_schedule` computes in integer USDC units and is what the chain's
schedule is checked against, to the unit; :func:`build_schedule` presents it in USDC (units / 10**6).

Structures (:class:`~gaib_sdk.models.PricingTerms`), each over 3 to 36 months:

- fixed: level principal, ``floor(advance / n)`` an installment (the last clears the rest), plus the fees
  and interest accrued over the period on the principal then outstanding.
- revenue share (50-70% of gross): at each date the fees and interest accrued are due (an interest-only
  floor); the lender's share of the period's gross revenue is applied to fees, then interest, then
  principal; the principal left is due at the last date (a balloon).
- hybrid: the fixed schedule at its (lower) rate, plus a smaller share (under 50%) of the period's gross
  revenue that the lender keeps on top of it (a kicker, not principal).

Period k of a schedule is paid from month k of a cash-flow projection.

Cash reserve: ``reserve_bps`` of the amount funded, 660 (6.6%) by default, GAIB's figure. It is held back
from the advance (the borrower receives funded - reserve) and pays the lender when the deal's cash falls
short. GAIB's docs' example: $100M of collateral backing a $75M advance (cover 100 / 75 = 1.33x) holds a
reserve of 75,000,000 x 6.6% = $4,950,000, about $5M.

Priority repayment (:func:`apply_waterfall`): each period's net operating cash pays the lender first (the
period's payment and any arrears, which bear no interest), the reserve covers a shortfall and is topped
back up to its size, and only then does the borrower get what is left.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import (
    CashFlowProjection,
    DealTerms,
    Installment,
    PricingTerms,
    RepaymentSchedule,
    ScheduleLine,
    Waterfall,
    WaterfallMonth,
)
from gaib_sdk.models.engine import PERIOD_DAYS
from gaib_sdk.underwriting.cashflow import cents
from gaib_sdk.underwriting.metrics import irr

__all__ = [
    "DAY_SECONDS",
    "DEFAULT_RESERVE_BPS",
    "PERIODS_PER_YEAR",
    "PERIOD_DAYS",
    "PERIOD_SECONDS",
    "USDC_UNIT",
    "YEAR_SECONDS",
    "accrued_units",
    "apply_waterfall",
    "build_schedule",
    "cash_reserve",
    "chain_schedule",
    "collateral_cover",
    "due_offsets",
    "to_deal_terms",
    "usdc_units",
]

#: GAIB's cash reserve: about 6.6% of the amount funded.
DEFAULT_RESERVE_BPS = 660
_BPS = Decimal(10_000)
DAY_SECONDS = 86_400
PERIOD_SECONDS = PERIOD_DAYS * DAY_SECONDS  # 2,592,000
#: The chain's year: 365 days (CreditFacility.YEAR).
YEAR_SECONDS = 365 * DAY_SECONDS  # 31,536,000
#: 30-day periods in a 365-day year, for annualising a schedule's IRR.
PERIODS_PER_YEAR = 365 / PERIOD_DAYS
#: USDC units in one USDC (6 decimals).
USDC_UNIT = 10**6


def cash_reserve(funded: Decimal, reserve_bps: int = DEFAULT_RESERVE_BPS) -> Decimal:
    """The cash reserve of a deal: ``funded x reserve_bps / 10000``, to the cent.
    75,000,000 x 660 / 10000 = 4,950,000."""
    if funded < 0:
        raise GaibValueError(f"funded amount {funded} USDC must not be negative")
    if reserve_bps < 0:
        raise GaibValueError(f"reserve_bps {reserve_bps} must not be negative")
    return cents(funded * reserve_bps / _BPS)


def collateral_cover(appraised: Decimal, advance: Decimal) -> Decimal:
    """Appraised value / advance, to 0.01: 100 / 80 = 1.25, 100 / 75 = 1.33, 100 / 70 = 1.43."""
    if advance <= 0:
        raise GaibValueError(f"advance {advance} USDC must be positive")
    return (appraised / advance).quantize(Decimal("0.01"))


def usdc_units(amount: Decimal, what: str = "amount") -> int:
    """``amount`` USDC in units (x 10**6). More than 6 decimals is refused: USDC has no smaller unit."""
    units = amount * USDC_UNIT
    if units != units.to_integral_value():
        raise GaibValueError(f"{what} {amount} USDC has more than 6 decimals (USDC's smallest unit is 0.000001)")
    return int(units)


def _usd(units: int) -> Decimal:
    return Decimal(units) / USDC_UNIT


def accrued_units(principal_units: int, bps: int, seconds: int) -> int:
    """Simple actual/365 accrual by the second, rounded up to a unit, as the CreditFacility accrues fees and
    interest: ``ceil(principal_units x bps x seconds / (10,000 x 31,536,000))``. 18,000 USDC at 12% for 30
    days: ceil(18,000,000,000 x 1200 x 2,592,000 / 315,360,000,000) = 177,534,247 units (177.534247 USDC)."""
    if principal_units < 0 or bps < 0 or seconds < 0:
        raise GaibValueError(f"accrual inputs must not be negative ({principal_units}, {bps} bps, {seconds} s)")
    return -(-(principal_units * bps * seconds) // (10_000 * YEAR_SECONDS))


def _term_days(terms: PricingTerms | DealTerms) -> int:
    return terms.term_days if isinstance(terms, DealTerms) else terms.days


def due_offsets(term_days: int) -> list[int]:
    """Seconds from the opening to each due date: ``min(30k, term_days)`` days for k = 1..ceil(term_days / 30)."""
    if term_days <= 0:
        raise GaibValueError(f"term_days {term_days} must be positive")
    n = math.ceil(term_days / PERIOD_DAYS)
    return [min(PERIOD_DAYS * k, term_days) * DAY_SECONDS for k in range(1, n + 1)]


def chain_schedule(
    advance_units: int, terms: PricingTerms | DealTerms, revenue_units: Sequence[int] | None = None
) -> list[Installment]:
    """The schedule of a deal as the chain computes it, in USDC units: one :class:`~gaib_sdk.models.Installment`
    per due date (see the module's docstring for the convention). ``revenue_units[k - 1]`` is the gross
    revenue of period k, needed by revenue-share and hybrid deals (a fixed deal ignores it). Pure: same
    inputs, same lines; the lender's amounts at each date equal the chain's to the unit."""
    if advance_units <= 0:
        raise GaibValueError(f"advance {advance_units} USDC units must be positive")
    offsets = due_offsets(_term_days(terms))
    n = len(offsets)
    revenue: list[int] = []
    if terms.structure != "fixed":
        if revenue_units is None:
            raise GaibValueError(f"a {terms.structure} schedule needs the gross revenue of each period")
        if len(revenue_units) < n:
            raise GaibValueError(f"{len(revenue_units)} periods of revenue, fewer than the {n} installments")
        revenue = [int(r) for r in revenue_units[:n]]
        if any(r < 0 for r in revenue):
            raise GaibValueError("gross revenue must not be negative")
    level = advance_units // n
    lines = []
    balance = advance_units
    previous = 0
    for k, offset in enumerate(offsets, start=1):
        seconds = offset - previous
        previous = offset
        fees = accrued_units(balance, terms.fee_bps, seconds)
        interest = accrued_units(balance, terms.rate_bps, seconds)
        share = revenue[k - 1] * terms.revenue_share_bps // 10_000 if revenue else 0
        kicker = 0
        if k == n:
            principal = balance
        elif terms.structure == "revenue_share":
            # the share pays fees, then interest, then principal; fees and interest are due in any case
            principal = min(balance, max(0, share - fees - interest))
        else:
            principal = min(balance, level)
        if terms.structure == "hybrid":
            kicker = share
        lines.append(
            Installment(
                index=k,
                due_offset_s=offset,
                period_s=seconds,
                principal_before_units=balance,
                fees_units=fees,
                interest_units=interest,
                principal_units=principal,
                kicker_units=kicker,
            )
        )
        balance -= principal
    return lines


def _revenue_units(projection: CashFlowProjection | None, terms: PricingTerms) -> list[int] | None:
    if terms.structure == "fixed":
        return None
    if projection is None:
        raise GaibValueError(f"a {terms.structure} schedule needs the projected gross revenue (pass a projection)")
    n = terms.installments
    if len(projection.months) < n:
        raise GaibValueError(f"the projection has {len(projection.months)} months, fewer than the {n}-month term")
    # the revenue of period k is month k's, floored to a USDC unit (the chain counts whole units)
    return [max(0, int((r * USDC_UNIT).to_integral_value(ROUND_FLOOR))) for r in projection.revenue[:n]]


def build_schedule(
    funded: Decimal, terms: PricingTerms, projection: CashFlowProjection | None = None
) -> RepaymentSchedule:
    """The lender's schedule for ``funded`` on ``terms``: :func:`chain_schedule` in USDC. Revenue-share and
    hybrid deals need the projection (their payments follow gross revenue); a fixed-rate deal ignores it."""
    if funded <= 0:
        raise GaibValueError(f"funded amount {funded} USDC must be positive")
    installments = chain_schedule(usdc_units(funded, "funded amount"), terms, _revenue_units(projection, terms))
    lines = [
        ScheduleLine(
            month=i.index,
            due_offset_s=i.due_offset_s,
            opening_balance_usd=_usd(i.principal_before_units),
            fees_usd=_usd(i.fees_units),
            interest_usd=_usd(i.interest_units),
            principal_usd=_usd(i.principal_units),
            revenue_share_usd=_usd(i.kicker_units),
            payment_usd=_usd(i.payment_units),
            closing_balance_usd=_usd(i.principal_before_units - i.principal_units),
        )
        for i in installments
    ]
    reserve = cash_reserve(funded, terms.reserve_bps)
    return RepaymentSchedule(
        terms=terms,
        funded_usd=funded,
        reserve_usd=reserve,
        net_proceeds_usd=funded - reserve,
        lines=lines,
        lender_irr=irr([-funded, *(line.payment_usd for line in lines)], periods_per_year=PERIODS_PER_YEAR),
        lender_irr_net_of_fees=irr(
            [-funded, *(line.payment_usd - line.fees_usd for line in lines)], periods_per_year=PERIODS_PER_YEAR
        ),
    )


def apply_waterfall(
    schedule: RepaymentSchedule, projection: CashFlowProjection, *, default_month: int | None = None
) -> Waterfall:
    """Priority repayment of ``schedule`` from the projection's net operating cash, month by month: the
    lender's payment and any arrears first, then the reserve topped back up, then the borrower. A month's
    shortfall is drawn from the reserve; what the reserve cannot cover is carried as arrears (no penalty
    interest). A negative month's cash is taken as 0: the borrower funds operating losses itself. With
    ``default_month``, the borrower pays nothing from that month on and the waterfall stops before it."""
    last = len(schedule.lines) if default_month is None else min(len(schedule.lines), default_month - 1)
    if len(projection.months) < last:
        raise GaibValueError(
            f"the projection has {len(projection.months)} months, fewer than the {last} the waterfall runs"
        )
    target = schedule.reserve_usd
    reserve = target
    arrears = Decimal(0)
    paid_total = distributed = Decimal(0)
    rows = []
    for line in schedule.lines[:last]:
        cash = max(Decimal(0), projection.months[line.month - 1].net_operating_cash_flow_usd)
        due = line.payment_usd + arrears
        from_ops = min(cash, due)
        draw = min(reserve, due - from_ops)
        reserve -= draw
        arrears = due - from_ops - draw
        left = cash - from_ops
        top_up = min(left, target - reserve)
        reserve += top_up
        left -= top_up
        paid_total += from_ops + draw
        distributed += left
        rows.append(
            WaterfallMonth(
                month=line.month,
                cash_available_usd=cash,
                due_usd=due,
                paid_from_operations_usd=from_ops,
                drawn_from_reserve_usd=draw,
                arrears_usd=arrears,
                reserve_top_up_usd=top_up,
                reserve_balance_usd=reserve,
                borrower_distribution_usd=left,
            )
        )
    return Waterfall(
        months=rows,
        lender_paid_usd=paid_total,
        arrears_usd=arrears,
        reserve_balance_usd=reserve,
        borrower_distributions_usd=distributed,
    )


def to_deal_terms(terms: PricingTerms) -> DealTerms:
    """The on-chain terms of a deal: the term in days, 30 x ``term_months`` (or ``term_days`` when set)."""
    return DealTerms(
        structure=terms.structure,
        rate_bps=terms.rate_bps,
        revenue_share_bps=terms.revenue_share_bps,
        fee_bps=terms.fee_bps,
        term_days=terms.days,
    )
