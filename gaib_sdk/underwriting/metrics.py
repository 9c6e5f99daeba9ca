"""Deal metrics: payback, annualised ROI on revenue, IRR, DSCR, and a payment history counted.

- payback months: months until the cumulative net operating cash flow repays the investment, interpolated
  inside the month it crosses (a constant $1,492.12 a month repays $25,000 in 25000 / 1492.12 = 16.75).
- annualised ROI on revenue: 12 x the average monthly net operating cash flow / the investment, before
  depreciation. With constant flows it is 12 / payback months: paying back in 12 to 18 months is earning
  100% to 67% a year, inside the seed's "about 50% to 100%".
- IRR: the rate a period that makes the net present value of the flows zero, annualised as
  (1 + r) ** periods_per_year - 1 (12 for calendar months; a repayment schedule's 30-day periods use
  365 / 30, the chain's year). Newton's method inside a bracket, falling back to bisection whenever a Newton step
  leaves the bracket or does not shrink it enough.
- DSCR: net operating cash flow / debt service, month by month (the minimum) and over the term (the
  average: total cash flow / total debt service).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import CashFlowProjection, CustomerContract, DealMetrics, PaymentRecord, RepaymentSchedule
from gaib_sdk.underwriting.rules import LATE_DAYS

__all__ = [
    "annualised_roi",
    "deal_metrics",
    "dscr",
    "dscr_by_month",
    "irr",
    "npv",
    "payback_months",
    "payment_record",
]


def payback_months(investment: Decimal, flows: Sequence[Decimal]) -> Decimal | None:
    """Months (to 0.01) until the cumulative ``flows`` (month 1 first) reach ``investment``; None if they
    never do within the flows given."""
    if investment <= 0:
        raise GaibValueError(f"investment {investment} USDC must be positive")
    cumulative = Decimal(0)
    for month, flow in enumerate(flows, start=1):
        if flow > 0 and cumulative + flow >= investment:
            fraction = (investment - cumulative) / flow
            return (Decimal(month - 1) + fraction).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        cumulative += flow
    return None


def annualised_roi(investment: Decimal, flows: Sequence[Decimal]) -> Decimal:
    """12 x the average monthly flow / ``investment``, to 0.0001 (0.7162 is 71.62% a year)."""
    if investment <= 0:
        raise GaibValueError(f"investment {investment} USDC must be positive")
    if not flows:
        raise GaibValueError("annualised ROI needs at least one month of cash flow")
    average = sum(flows, Decimal(0)) / len(flows)
    return (12 * average / investment).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def npv(rate: float, flows: Sequence[Decimal | float]) -> float:
    """Net present value of ``flows`` (period 0 first) at ``rate`` a period."""
    if rate <= -1:
        raise GaibValueError(f"rate {rate} must be above -100% a period")
    base = 1.0 + rate
    return math.fsum(float(cf) / base**t for t, cf in enumerate(flows) if cf)


def _npv_and_slope(rate: float, flows: Sequence[float]) -> tuple[float, float]:
    """NPV and its derivative in the rate. Near -100% a period the discount factors overflow: the NPV is
    then taken as infinite with the sign of the last non-zero flow, which dominates there."""
    base = 1.0 + rate
    value = slope = 0.0
    try:
        for t, cf in enumerate(flows):
            if cf:
                d = base**-t
                value += cf * d
                slope -= t * cf * d / base
    except OverflowError:
        return math.copysign(math.inf, next(cf for cf in reversed(flows) if cf)), math.nan
    return value, slope


#: Rates a period at which the IRR search looks for a change of sign, from just above -100% upwards.
_BRACKET_GRID = (-0.99, -0.9, -0.5, -0.2, -0.05, 0.0, 0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0, 1e4)


def irr(
    flows: Sequence[Decimal | float], *, periods_per_year: float = 12, tol: float = 1e-13, max_iter: int = 500
) -> float | None:
    """Annualised internal rate of return of ``flows`` (period 0 first, ``periods_per_year`` a year):
    (1 + r) ** periods_per_year - 1 where r, a period, makes the NPV zero.

    None when no rate does (the flows never change sign, or no root lies above -99% a period). With
    several sign changes there can be several roots: this finds the lowest one in its search bracket."""
    cfs = [float(cf) for cf in flows]
    if not any(cf > 0 for cf in cfs) or not any(cf < 0 for cf in cfs):
        return None

    def annualise(r: float) -> float:
        return float((1.0 + r) ** periods_per_year - 1.0)

    prev_r = _BRACKET_GRID[0]
    prev_v = _npv_and_slope(prev_r, cfs)[0]
    if prev_v == 0:
        return annualise(prev_r)
    for r in _BRACKET_GRID[1:]:
        v = _npv_and_slope(r, cfs)[0]
        if v == 0:
            return annualise(r)
        if (v < 0) != (prev_v < 0):
            lo, hi, f_lo = prev_r, r, prev_v
            break
        prev_r, prev_v = r, v
    else:
        return None
    r = (lo + hi) / 2
    for _ in range(max_iter):
        value, slope = _npv_and_slope(r, cfs)
        if value == 0:
            break
        if (value < 0) == (f_lo < 0):
            lo, f_lo = r, value
        else:
            hi = r
        if hi - lo <= tol * max(1.0, abs(r)):
            break
        step = r - value / slope if slope and math.isfinite(slope) else math.nan
        if lo < step < hi:  # a Newton step if it lands strictly inside the bracket
            converged = abs(step - r) <= tol * max(1.0, abs(r))
            r = step
            if converged:
                break
        else:  # a bisection otherwise
            r = (lo + hi) / 2
    return annualise(r)


def dscr(net_operating_cash_flow: Decimal, debt_service: Decimal) -> Decimal:
    """Debt service cover ratio = net operating cash flow / debt service, to 0.01."""
    if debt_service <= 0:
        raise GaibValueError(f"debt service {debt_service} USDC must be positive to compute a DSCR")
    return (net_operating_cash_flow / debt_service).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def dscr_by_month(projection: CashFlowProjection, schedule: RepaymentSchedule) -> list[Decimal]:
    """DSCR of each scheduled month with a payment (the projection must cover the schedule's term)."""
    if len(projection.months) < len(schedule.lines):
        raise GaibValueError(
            f"the projection has {len(projection.months)} months, fewer than the {len(schedule.lines)} of the schedule"
        )
    return [
        dscr(projection.months[line.month - 1].net_operating_cash_flow_usd, line.payment_usd)
        for line in schedule.lines
        if line.payment_usd > 0
    ]


def deal_metrics(
    investment: Decimal,
    projection: CashFlowProjection,
    *,
    schedule: RepaymentSchedule | None = None,
    terminal_value_usd: Decimal = Decimal(0),
) -> DealMetrics:
    """Payback, annualised ROI and IRR of ``investment`` against the projection's net operating cash flows
    (``terminal_value_usd``, e.g. the residual value, added to the last month for the IRR only); and,
    given a repayment schedule, the minimum and average DSCR over its term."""
    flows = projection.net_operating_cash_flow
    irr_flows: list[Decimal] = [-investment, *flows]
    irr_flows[-1] += terminal_value_usd
    dscr_min = dscr_average = None
    if schedule is not None:
        by_month = dscr_by_month(projection, schedule)
        dscr_min = min(by_month) if by_month else None
        service = sum((line.payment_usd for line in schedule.lines), Decimal(0))
        if service > 0:
            cash = sum((flows[line.month - 1] for line in schedule.lines), Decimal(0))
            dscr_average = dscr(cash, service)
    return DealMetrics(
        investment_usd=investment,
        months=len(flows),
        payback_months=payback_months(investment, flows),
        annualised_roi=annualised_roi(investment, flows),
        irr=irr(irr_flows),
        dscr_min=dscr_min,
        dscr_average=dscr_average,
    )


def payment_record(contracts: Sequence[CustomerContract], as_of: date, *, grace_days: int = LATE_DAYS) -> PaymentRecord:
    """Count the payments of the contracts signed by ``as_of``: on time (paid within ``grace_days`` of
    due), late (paid after), missed (unpaid and more than ``grace_days`` past due) and pending (unpaid and
    not yet past grace). The grace period is the hard rules' (:data:`~gaib_sdk.underwriting.rules.LATE_DAYS`)."""
    on_time = late = missed = pending = worst = 0
    payments = [p for c in contracts if c.signed_on <= as_of for p in c.payments if p.due_on <= as_of]
    for p in payments:
        days = p.days_late(as_of)
        worst = max(worst, days)
        if p.paid_on is not None:
            if days > grace_days:
                late += 1
            else:
                on_time += 1
        elif days > grace_days:
            missed += 1
        else:
            pending += 1
    return PaymentRecord(
        payments=len(payments), on_time=on_time, late=late, missed=missed, pending=pending, max_days_late=worst
    )
