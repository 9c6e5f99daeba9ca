"""Inputs and outputs of the finance engine: market inputs, operating costs, cash-flow projections, pricing
terms and repayment schedules, deal metrics, stress scenarios and Monte Carlo results.

Money on a deal is :class:`~decimal.Decimal` USD; rates and shares are Decimal fractions (``0.066`` is 6.6%)
except where the chain takes basis points; the Monte Carlo's inputs and outputs are floats.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from gaib_sdk.models.assets import CustomerContract

__all__ = [
    "CashFlowMonth",
    "CashFlowProjection",
    "DealCase",
    "DealMetrics",
    "Installment",
    "LoanRisk",
    "MarketInputs",
    "MonteCarloResult",
    "OnDemandCapacity",
    "OperatingCosts",
    "PaymentRecord",
    "PricingTerms",
    "RepaymentSchedule",
    "ScheduleLine",
    "StressCheck",
    "StressPolicy",
    "StressResult",
    "StressScenario",
    "Waterfall",
    "WaterfallMonth",
]

Money = Annotated[Decimal, Field(ge=0)]
Fraction = Annotated[Decimal, Field(ge=0, le=1)]
#: A yearly decline: 1 (everything gone in a year) is refused, it has no monthly equivalent.
Decline = Annotated[Decimal, Field(ge=0, lt=1)]
MIN_TERM_MONTHS = 3
MAX_TERM_MONTHS = 36
#: A schedule's period: 30 days from the opening (docs/underwriting.md, "One convention").
PERIOD_DAYS = 30


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketInputs(_Model):
    """Market figures for one GPU family: what it costs, what it rents for, what it draws, how fast its
    rental price falls, and how it depreciates (useful life and residual value as a share of cost)."""

    family: str = Field(min_length=1)
    purchase_price_usd: Annotated[Decimal, Field(gt=0)]
    rental_usd_per_gpu_hour: Annotated[Decimal, Field(gt=0)]
    power_kw: Annotated[Decimal, Field(ge=0)]
    rental_decline_per_year: Decline
    useful_life_months: int = Field(ge=1, le=240)
    residual: Fraction
    source: str = ""


class OperatingCosts(_Model):
    """What it costs to run ``units`` units (GPUs, robots, batteries: the adapter says which, in ``unit``) for
    a month. Power: ``power_kw_per_unit`` (the unit's own draw) x (1 + ``server_overhead``, the share its host
    adds: CPUs, NICs, fans) x ``pue`` (the site's cooling and losses) x hours busy (``hours_per_month`` x
    ``utilisation``) x ``usd_per_kwh``. Fixed, busy or idle: colocation (``colocation_usd_per_kw_month`` x the
    units' IT kW, power and host), staff, insurance, maintenance and any other facility cost, a month for all
    units. docs/underwriting.md, "Operating costs", gives the GPU plugin's figures and their sources."""

    units: int = Field(default=1, ge=1)
    power_kw_per_unit: Annotated[Decimal, Field(ge=0)]
    usd_per_kwh: Annotated[Decimal, Field(ge=0)]
    utilisation: Fraction = Decimal(1)
    facility_usd_per_month: Money = Decimal(0)
    hours_per_month: Annotated[Decimal, Field(gt=0, le=744)] = Decimal(730)
    unit: str = Field(default="unit", min_length=1, description="what one unit is: GPU, robot, kWh of storage")
    server_overhead: Annotated[Decimal, Field(ge=0, le=5)] = Decimal(0)
    pue: Annotated[Decimal, Field(ge=1, le=3)] = Decimal(1)
    colocation_usd_per_kw_month: Money = Decimal(0)
    staff_usd_per_month: Money = Decimal(0)
    insurance_usd_per_month: Money = Decimal(0)
    maintenance_usd_per_month: Money = Decimal(0)

    @property
    def it_kw(self) -> Decimal:
        """The units' IT load at full power, their hosts' share included: what colocation is priced on."""
        return self.units * self.power_kw_per_unit * (1 + self.server_overhead)

    @property
    def power_usd_per_month(self) -> Decimal:
        """Power a month: IT kW x PUE x hours busy x $/kWh (not rounded)."""
        return self.it_kw * self.pue * self.hours_per_month * self.utilisation * self.usd_per_kwh

    @property
    def fixed_usd_per_month(self) -> Decimal:
        """Colocation, staff, insurance, maintenance and the other facility costs a month (not rounded)."""
        return (
            self.it_kw * self.colocation_usd_per_kw_month
            + self.staff_usd_per_month
            + self.insurance_usd_per_month
            + self.maintenance_usd_per_month
            + self.facility_usd_per_month
        )


class OnDemandCapacity(_Model):
    """Units not under a lease, sold by the hour at the market rate: billed only for the hours used
    (``utilisation``), at a rate that falls by ``rental_decline_per_year``. ``usd_per_unit_hour`` prices one
    hour of one unit, in the adapter's unit (``unit``: a GPU-hour, a robot-hour); ``usd_per_gpu_hour`` is
    accepted for it."""

    units: int = Field(ge=0)
    usd_per_unit_hour: Annotated[
        Decimal, Field(ge=0, validation_alias=AliasChoices("usd_per_unit_hour", "usd_per_gpu_hour"))
    ]
    utilisation: Fraction
    rental_decline_per_year: Decline = Decimal(0)
    net_of_contracts: bool = Field(
        default=False,
        description="``units`` is the whole fleet: each month the units that the leases then in force cover "
        "(their revenue / (usd_per_unit_hour x hours)) are taken off, so capacity a lease frees is re-let by the hour",
    )
    unit: str = Field(default="unit", min_length=1, description="what one unit is: GPU, robot")

    @property
    def usd_per_gpu_hour(self) -> Decimal:
        """:attr:`usd_per_unit_hour`, by its GPU name."""
        return self.usd_per_unit_hour


class CashFlowMonth(_Model):
    """One projected month. Net operating cash flow = revenue - power - facility; net income also takes off
    depreciation, which is not cash."""

    month: int = Field(ge=1)
    starts_on: date
    contracted_revenue_usd: Decimal
    on_demand_revenue_usd: Decimal
    revenue_usd: Decimal
    power_usd: Decimal
    facility_usd: Decimal
    net_operating_cash_flow_usd: Decimal
    depreciation_usd: Decimal
    net_income_usd: Decimal


class CashFlowProjection(_Model):
    """Monthly cash flows from ``start``, month 1 first."""

    start: date
    months: list[CashFlowMonth]

    @property
    def revenue(self) -> list[Decimal]:
        return [m.revenue_usd for m in self.months]

    @property
    def net_operating_cash_flow(self) -> list[Decimal]:
        return [m.net_operating_cash_flow_usd for m in self.months]

    @property
    def total_revenue_usd(self) -> Decimal:
        return sum(self.revenue, Decimal(0))

    @property
    def total_net_operating_cash_flow_usd(self) -> Decimal:
        return sum(self.net_operating_cash_flow, Decimal(0))

    @property
    def total_net_income_usd(self) -> Decimal:
        return sum((m.net_income_usd for m in self.months), Decimal(0))


class PricingTerms(_Model):
    """How a deal is priced.

    - ``fixed``: level principal (the advance / the number of periods) each 30-day period, plus the fees and
      interest accrued on the principal outstanding.
    - ``revenue_share``: each period the fees and interest accrued are due (a floor), and the lender's share
      (50-70%) of the period's gross revenue is applied to fees, interest and principal as the CreditFacility's
      waterfall does; the principal left at the end of the term is due then (a balloon).
    - ``hybrid``: the fixed schedule at a lower rate, plus a smaller share (under 50%) of gross revenue that
      the lender keeps on top (a kicker).

    Interest (``rate_bps``) and fees (``fee_bps``, to the treasury) are simple, actual/365 by the second, on
    the principal outstanding, as the chain accrues them. The term is ``term_months`` x 30 days, or
    ``term_days`` when a deal's on-chain term is not a whole number of 30-day months (then ``term_months`` is
    ceil(term_days / 30), at most 36). The cash reserve (``reserve_bps`` of the amount funded; 660 = 6.6%,
    GAIB's figure) is held back from the advance to cover missed payments.
    """

    structure: Literal["fixed", "revenue_share", "hybrid"] = "fixed"
    rate_bps: int = Field(default=1200, ge=0, le=5000)
    revenue_share_bps: int = Field(default=0, ge=0, le=7000)
    fee_bps: int = Field(default=50, ge=0, le=1000)
    term_months: int = 24
    reserve_bps: int = Field(default=660, ge=0, le=5000)
    term_days: int | None = Field(default=None, ge=90, le=1095)

    @field_validator("term_months")
    @classmethod
    def _term_in_range(cls, v: int) -> int:
        if not MIN_TERM_MONTHS <= v <= MAX_TERM_MONTHS:
            raise ValueError(
                f"term_months {v} is outside {MIN_TERM_MONTHS}-{MAX_TERM_MONTHS} (terms run 3 months to 3 years)"
            )
        return v

    @model_validator(mode="after")
    def _share_fits_structure(self) -> PricingTerms:
        share = self.revenue_share_bps
        if self.structure == "revenue_share" and not 5000 <= share <= 7000:
            raise ValueError(f"revenue_share_bps {share} is outside 5000-7000 (50-70% of gross revenue)")
        if self.structure == "hybrid" and not 0 < share < 5000:
            raise ValueError(f"a hybrid's revenue_share_bps {share} must be above 0 and below 5000 (under 50%)")
        if self.structure == "fixed" and share != 0:
            raise ValueError(f"a fixed-rate deal takes no revenue share (revenue_share_bps is {share})")
        if self.term_days is not None:
            months = min(MAX_TERM_MONTHS, math.ceil(self.term_days / PERIOD_DAYS))
            if self.term_months != months:
                raise ValueError(
                    f"term_days {self.term_days} is {months} months of 30 days, not term_months {self.term_months}"
                )
        return self

    @property
    def days(self) -> int:
        """The term in days: ``term_days``, else 30 x ``term_months``."""
        return self.term_days if self.term_days is not None else PERIOD_DAYS * self.term_months

    @property
    def installments(self) -> int:
        """ceil(days / 30): one payment every 30 days, the last on the term's last day."""
        return math.ceil(self.days / PERIOD_DAYS)


class Installment(_Model):
    """One due date of a deal's schedule in USDC units (1 unit = 0.000001 USDC), as the chain computes it:
    due ``due_offset_s`` seconds after the opening; fees and interest accrued over the ``period_s`` seconds
    before it on ``principal_before_units``; the principal due; and the hybrid's revenue share (kicker)."""

    index: int = Field(ge=1)
    due_offset_s: int = Field(gt=0)
    period_s: int = Field(gt=0)
    principal_before_units: int = Field(ge=0)
    fees_units: int = Field(ge=0)
    interest_units: int = Field(ge=0)
    principal_units: int = Field(ge=0)
    kicker_units: int = Field(default=0, ge=0)

    @property
    def due_units(self) -> int:
        """Fees + interest + principal: what the CreditFacility's waterfall takes at this date."""
        return self.fees_units + self.interest_units + self.principal_units

    @property
    def payment_units(self) -> int:
        """Everything the lender receives at this date, the kicker included."""
        return self.due_units + self.kicker_units


class ScheduleLine(_Model):
    """One 30-day period of a repayment schedule (the last may be shorter), due ``due_offset_s`` seconds
    after the opening. ``payment_usd`` = fees + interest + principal + revenue share (a hybrid's kicker).
    Amounts are whole USDC units, as the chain holds them."""

    month: int = Field(ge=1)
    due_offset_s: int = Field(gt=0)
    opening_balance_usd: Decimal
    fees_usd: Decimal
    interest_usd: Decimal
    principal_usd: Decimal
    revenue_share_usd: Decimal
    payment_usd: Decimal
    closing_balance_usd: Decimal


class RepaymentSchedule(_Model):
    """What the lender is owed each month, the reserve held back, and the lender's IRR if paid as scheduled."""

    terms: PricingTerms
    funded_usd: Decimal
    reserve_usd: Decimal
    net_proceeds_usd: Decimal = Field(description="funded - reserve: what the borrower receives")
    lines: list[ScheduleLine]
    lender_irr: float | None = Field(description="annualised IRR of -funded then the scheduled payments")
    lender_irr_net_of_fees: float | None = Field(
        default=None, description="the same without the fees, which go to the treasury: what reaches sAID"
    )

    @property
    def total_payments_usd(self) -> Decimal:
        return sum((line.payment_usd for line in self.lines), Decimal(0))


class WaterfallMonth(_Model):
    """One month of priority repayment: the month's net operating cash pays the lender first (this month's
    payment and any arrears), the reserve covers a shortfall and is topped up again before the borrower
    gets anything."""

    month: int = Field(ge=1)
    cash_available_usd: Decimal
    due_usd: Decimal
    paid_from_operations_usd: Decimal
    drawn_from_reserve_usd: Decimal
    arrears_usd: Decimal
    reserve_top_up_usd: Decimal
    reserve_balance_usd: Decimal
    borrower_distribution_usd: Decimal


class Waterfall(_Model):
    months: list[WaterfallMonth]
    lender_paid_usd: Decimal
    arrears_usd: Decimal = Field(description="owed to the lender and unpaid after the last month")
    reserve_balance_usd: Decimal
    borrower_distributions_usd: Decimal


class DealMetrics(_Model):
    """Payback, return and cover of an investment whose net operating cash flows are projected."""

    investment_usd: Decimal
    months: int
    payback_months: Decimal | None = Field(description="None if not paid back within the projection")
    annualised_roi: Decimal = Field(description="12 x average monthly net operating cash flow / investment")
    irr: float | None = Field(description="annualised IRR of -investment then the monthly flows")
    dscr_min: Decimal | None = None
    dscr_average: Decimal | None = None


class PaymentRecord(_Model):
    """A payment history counted: on time (paid within the grace days), late (paid after them), missed
    (unpaid past them) and not yet due or still within grace."""

    payments: int
    on_time: int
    late: int
    missed: int
    pending: int
    max_days_late: int


class StressScenario(_Model):
    """A deterministic stress on a deal. The rental decline adds to the base decline of on-demand rates and
    of the collateral's value; the utilisation drop is in points (0.2 takes 80% to 60%); contracted revenue
    lost is the share of the signed leases that stops paying, and ``customers_lost`` the number of the largest
    customers that leave, from month 1: the capacity they free stays empty ``relet_lag_months``, then is re-let
    by the hour at the (stressed) market rate, where the deal sells capacity by the hour; a borrower default
    stops every payment from ``default_month`` and the lender sells the collateral at ``recovery_haircut`` below
    its value then."""

    name: str = Field(min_length=1)
    rental_decline_per_year: Decline = Decimal(0)
    utilisation_drop: Fraction = Decimal(0)
    contracted_revenue_lost: Fraction = Decimal(0)
    customers_lost: int = Field(default=0, ge=0, description="the largest signed customers that stop paying")
    relet_lag_months: int = Field(
        default=3, ge=0, le=36, description="months the capacity a lost customer frees stays empty before it is re-let"
    )
    default_month: int | None = Field(default=None, ge=1)
    recovery_haircut: Fraction = Decimal("0.3")
    severe: bool = Field(default=False, description="a tail scenario, held to StressPolicy.severe_max_loss_rate")


class DealCase(_Model):
    """Everything the engine needs to price and stress one deal."""

    funded_usd: Annotated[Decimal, Field(gt=0)]
    terms: PricingTerms
    start: date
    contracts: list[CustomerContract]
    costs: OperatingCosts
    on_demand: OnDemandCapacity | None = None
    collateral_value_usd: Money
    collateral_decline_per_year: Decline = Decimal("0.2")
    depreciation_usd_per_month: Money = Decimal(0)


class StressResult(_Model):
    """How the lender fares in one scenario. Loss = what was owed when payments stopped (or at maturity,
    if arrears remained) less the reserve left and the collateral sold at the haircut, floored at 0."""

    scenario: str
    lender_paid_usd: Decimal
    defaulted_month: int | None
    owed_at_default_usd: Decimal
    recovered_usd: Decimal
    loss_usd: Decimal
    loss_rate: Decimal = Field(description="loss / funded")
    dscr_min: Decimal | None
    lender_irr: float | None
    lender_irr_net_of_fees: float | None = Field(
        default=None, description="the lender's IRR less the fees, which go to the treasury: what reaches sAID"
    )


class LoanRisk(_Model):
    """One deal in a portfolio, as the Monte Carlo sees it. ``default_probability`` is over the horizon.

    The balance: ``exposure_usd`` now; with ``amortisation="level"`` it falls in a straight line to 0 over
    ``remaining_years`` (a fixed-rate or hybrid deal's level principal), with ``"none"`` it stays (a
    revenue share's balloon, conservatively). The collateral: ``collateral_value_usd`` now, falling by
    ``collateral_decline_per_year``, and moving with the market's rent index to the power
    ``rent_sensitivity`` (1: the hardware is worth what it earns; 0: its value ignores rents). On default
    the lender recovers the reserve and the collateral then, sold ``recovery_haircut`` below its value."""

    name: str = ""
    exposure_usd: float = Field(gt=0)
    collateral_value_usd: float = Field(ge=0)
    annual_rate: float = Field(ge=0, le=1)
    default_probability: float = Field(ge=0, le=1)
    recovery_haircut: float = Field(ge=0, le=1)
    reserve_usd: float = Field(default=0.0, ge=0)
    amortisation: Literal["none", "level"] = "none"
    remaining_years: float | None = Field(default=None, gt=0, description="years to the last installment")
    collateral_decline_per_year: float = Field(default=0.0, ge=0, lt=1)
    rent_sensitivity: float = Field(default=0.0, ge=0, le=3)

    @model_validator(mode="after")
    def _level_needs_a_term(self) -> LoanRisk:
        if self.amortisation == "level" and self.remaining_years is None:
            raise ValueError("a level-amortising loan needs remaining_years (the years to its last installment)")
        return self

    @property
    def loss_given_default_usd(self) -> float:
        """The loss if it defaulted now, the collateral at today's value: the balance less the reserve and
        the collateral sold at the haircut, floored at 0."""
        recovery = self.collateral_value_usd * (1 - self.recovery_haircut) + self.reserve_usd
        return max(0.0, self.exposure_usd - recovery)

    def balance_at(self, years: float) -> float:
        """The balance ``years`` from now: level amortisation repays it in a straight line."""
        if self.amortisation == "level" and self.remaining_years is not None:
            return self.exposure_usd * max(0.0, 1.0 - years / self.remaining_years)
        return self.exposure_usd


class MonteCarloResult(_Model):
    """Distributions over simulated paths. Percentile keys are the percentiles asked for (e.g. 99.0); they
    are empty when the portfolio is too concentrated for a percentile to mean anything (``percentiles_note``
    says why). Losses are in USD over the horizon.

    Two returns, never to be confused. ``portfolio_yield``: (interest + cash income - losses) / (average
    exposure + cash), a year: what the book earns on all of AID's backing (the average exposure is what is
    lent over the horizon as scheduled, balances amortising). ``first_loss_return``: what sAID, the
    first-loss capital, earns on its own assets (``first_loss_usd``): the interest and the cash income less
    the losses, a year, floored at -100% (losses beyond sAID's assets fall on AID holders: see
    ``expected_loss_beyond_first_loss_usd``). Only the interest is real on chain; the cash income is 0
    unless the caller says the reserve earns something."""

    paths: int
    seed: int | None
    correlation: float
    horizon_years: float
    rent_volatility: float = 0.0
    loans: int = 1
    effective_loans: float = Field(default=1.0, description="(sum of exposures)^2 / sum of squares")
    exposure_usd: float
    average_exposure_usd: float | None = None
    assets_usd: float
    expected_loss_usd: float
    max_loss_usd: float = 0.0
    mean_loss_given_default_usd: float | None = Field(default=None, description="loss per default, on average")
    loss_percentiles_usd: dict[float, float]
    percentiles_note: str | None = None
    mean_portfolio_yield: float
    portfolio_yield_percentiles: dict[float, float]
    first_loss_usd: float | None = None
    mean_first_loss_return: float | None = None
    first_loss_return_percentiles: dict[float, float] = Field(default_factory=dict)
    probability_first_loss_exhausted: float | None = None
    expected_loss_beyond_first_loss_usd: float | None = None
    probability_of_loss: float
    mean_defaults: float


class StressPolicy(_Model):
    """How a quote stresses a deal, and what stressed loss it accepts (docs/underwriting.md explains the
    defaults). Every scenario is run; an ordinary one may lose at most ``max_loss_rate`` of the amount
    funded, a ``severe`` one at most ``severe_max_loss_rate``. ``scenarios`` None means the engine's
    standard set. The seeded Monte Carlo of the deal alone is reported (its default probability the
    ``rating``'s, or ``default_probability`` a year; its collateral marked along the market's rent path),
    and refuses the deal only if ``monte_carlo_max_loss_rate`` is set: against its loss at
    ``monte_carlo_percentile`` where a portfolio supports a percentile, else its worst simulated loss."""

    enabled: bool = Field(default=True, description="False skips the stress test (the quote's stress is None)")
    enforce: bool = Field(default=True, description="False reports a failing test instead of refusing the deal")
    max_loss_rate: Fraction = Decimal("0.05")
    severe_max_loss_rate: Fraction = Decimal("0.25")
    scenarios: list[StressScenario] | None = None
    monte_carlo: bool = True
    rating: str = Field(
        default="unrated",
        description="the borrower's rating, a key of gaib_sdk.underwriting.RATING_DEFAULT_PROBABILITIES",
    )
    default_probability: float | None = Field(
        default=None, ge=0, le=1, description="a yearly default probability; None takes the rating's"
    )
    recovery_haircut: float = Field(default=0.4, ge=0, le=1)
    correlation: float = Field(default=0.2, ge=0, le=1, description="the borrower's correlation with the market")
    rent_volatility: float = Field(default=0.35, ge=0, le=2, description="the market rent index's yearly volatility")
    rent_sensitivity: float = Field(default=1.0, ge=0, le=3, description="collateral value's exponent on rents")
    paths: int = Field(default=20_000, ge=1, le=1_000_000)
    seed: int = 0
    monte_carlo_percentile: float = Field(default=99.0, ge=0, le=100)
    monte_carlo_max_loss_rate: float | None = Field(default=None, ge=0, le=1)
    first_loss_usd: Annotated[Decimal, Field(gt=0)] | None = Field(
        default=None,
        description="sAID's assets, the first-loss capital: given, the Monte Carlo also holds the deal to "
        "max_first_loss_exhaustion",
    )
    max_first_loss_exhaustion: float = Field(
        default=0.001,
        ge=0,
        le=1,
        description="the most often, a year, that losses may wipe out the first-loss capital (Basel IRB's 99.9%)",
    )


class StressCheck(_Model):
    """The stress test of one quote: every scenario's result, the worst one against its limit, and the
    Monte Carlo of the deal alone (when run)."""

    funded_usd: Decimal
    term_months: int
    max_loss_rate: Decimal
    severe_max_loss_rate: Decimal
    results: list[StressResult]
    worst_scenario: str
    worst_loss_usd: Decimal
    worst_loss_rate: Decimal
    worst_limit_rate: Decimal
    monte_carlo: MonteCarloResult | None = None
    passed: bool
    refusal: str | None = Field(default=None, description="why it failed, when the policy reports and does not refuse")
