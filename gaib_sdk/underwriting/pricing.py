"""Pricing: repayment schedules for the three structures, the cash reserve, collateral cover, and priority
repayment of the lender from the deal's cash.

Structures (:class:`~gaib_sdk.models.PricingTerms`), each over 3 to 36 months:

- fixed: a level monthly payment of principal and interest, the annuity
  ``funded x i / (1 - (1 + i) ** -n)`` with ``i = rate / 12`` (``funded / n`` at a zero rate), plus fees
  on the opening balance; the last month clears what rounding left.
- revenue share (50-70% of gross): each month the lender is due that share of the month's gross revenue,
  applied as the CreditFacility's waterfall does (fees, then interest, then principal), until all is paid;
  fees and interest a month's share does not cover are added to the balance; whatever is left at the end
  of the term is due in its last month (a balloon).
- hybrid: the fixed schedule at its (lower) rate, plus a smaller share (under 50%) of gross revenue that
  the lender keeps on top of it.

Cash reserve: ``reserve_bps`` of the amount funded, 660 (6.6%) by default, GAIB's figure. It is held back
from the advance (the borrower receives funded - reserve) and pays the lender when the deal's cash falls
short. GAIB's docs' example: $100M of collateral backing a $75M advance (cover 100 / 75 = 1.33x) holds a
reserve of 75,000,000 x 6.6% = $4,950,000, about $5M.

Priority repayment (:func:`apply_waterfall`): each month's net operating cash pays the lender first (the
month's payment and any arrears), the reserve covers a shortfall and is topped back up to its size, and
only then does the borrower get what is left.
"""

from __future__ import annotations

from decimal import Decimal

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import (
    CashFlowProjection,
    DealTerms,
    PricingTerms,
    RepaymentSchedule,
    ScheduleLine,
    Waterfall,
    WaterfallMonth,
)
from gaib_sdk.underwriting.cashflow import cents
from gaib_sdk.underwriting.metrics import irr

__all__ = [
    "DEFAULT_RESERVE_BPS",
    "apply_waterfall",
    "build_schedule",
    "cash_reserve",
    "collateral_cover",
    "to_deal_terms",
]

#: GAIB's cash reserve: about 6.6% of the amount funded.
DEFAULT_RESERVE_BPS = 660
_BPS = Decimal(10_000)


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


def _revenue(projection: CashFlowProjection | None, terms: PricingTerms) -> list[Decimal]:
    if projection is None:
        raise GaibValueError(f"a {terms.structure} schedule needs the projected gross revenue (pass a projection)")
    if len(projection.months) < terms.term_months:
        raise GaibValueError(
            f"the projection has {len(projection.months)} months, fewer than the {terms.term_months}-month term"
        )
    return projection.revenue[: terms.term_months]


def _amortising(funded: Decimal, terms: PricingTerms, kicker: list[Decimal]) -> list[ScheduleLine]:
    n = terms.term_months
    i = Decimal(terms.rate_bps) / _BPS / 12
    f = Decimal(terms.fee_bps) / _BPS / 12
    level = cents(funded / n if i == 0 else funded * i / (1 - (1 + i) ** -n))
    lines = []
    balance = funded
    for m in range(1, n + 1):
        interest = cents(balance * i)
        fees = cents(balance * f)
        principal = balance if m == n else min(balance, level - interest)
        share = kicker[m - 1] if kicker else Decimal(0)
        lines.append(
            ScheduleLine(
                month=m,
                opening_balance_usd=balance,
                fees_usd=fees,
                interest_usd=interest,
                principal_usd=principal,
                revenue_share_usd=share,
                payment_usd=fees + interest + principal + share,
                closing_balance_usd=balance - principal,
            )
        )
        balance -= principal
    return lines


def _revenue_share(funded: Decimal, terms: PricingTerms, revenue: list[Decimal]) -> list[ScheduleLine]:
    n = terms.term_months
    i = Decimal(terms.rate_bps) / _BPS / 12
    f = Decimal(terms.fee_bps) / _BPS / 12
    share = Decimal(terms.revenue_share_bps) / _BPS
    lines = []
    balance = funded
    for m in range(1, n + 1):
        interest = cents(balance * i)
        fees = cents(balance * f)
        owed = balance + interest + fees
        payment = owed if m == n else min(owed, cents(share * revenue[m - 1]))
        fees_paid = min(payment, fees)
        interest_paid = min(payment - fees_paid, interest)
        principal = payment - fees_paid - interest_paid
        lines.append(
            ScheduleLine(
                month=m,
                opening_balance_usd=balance,
                fees_usd=fees_paid,
                interest_usd=interest_paid,
                principal_usd=principal,
                revenue_share_usd=Decimal(0),
                payment_usd=payment,
                closing_balance_usd=owed - payment,
            )
        )
        balance = owed - payment
    return lines


def build_schedule(
    funded: Decimal, terms: PricingTerms, projection: CashFlowProjection | None = None
) -> RepaymentSchedule:
    """The lender's schedule for ``funded`` on ``terms``. Revenue-share and hybrid deals need the projection
    (their payments follow gross revenue); a fixed-rate deal ignores it."""
    if funded <= 0:
        raise GaibValueError(f"funded amount {funded} USDC must be positive")
    if terms.structure == "fixed":
        lines = _amortising(funded, terms, [])
    elif terms.structure == "hybrid":
        share = Decimal(terms.revenue_share_bps) / _BPS
        lines = _amortising(funded, terms, [cents(share * r) for r in _revenue(projection, terms)])
    else:
        lines = _revenue_share(funded, terms, _revenue(projection, terms))
    reserve = cash_reserve(funded, terms.reserve_bps)
    return RepaymentSchedule(
        terms=terms,
        funded_usd=funded,
        reserve_usd=reserve,
        net_proceeds_usd=funded - reserve,
        lines=lines,
        lender_irr=irr([-funded, *(line.payment_usd for line in lines)]),
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
    """The on-chain terms of a fixed or revenue-share deal (the term in days: months x 365 / 12, rounded).
    The CreditFacility does not record hybrids yet, so a hybrid is refused."""
    if terms.structure == "hybrid":
        raise GaibValueError(
            "the CreditFacility records fixed and revenue_share deals; a hybrid cannot be opened on-chain yet",
            stage="financialize",
        )
    return DealTerms(
        structure=terms.structure,
        rate_bps=terms.rate_bps,
        revenue_share_bps=terms.revenue_share_bps,
        fee_bps=terms.fee_bps,
        term_days=round(terms.term_months * 365 / 12),
    )
