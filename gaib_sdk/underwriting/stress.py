"""Stress tests: deterministic scenarios on one deal, and a Monte Carlo over a portfolio of deals.

Deterministic (:func:`stress_deal`, :func:`run_scenarios`): a :class:`~gaib_sdk.models.StressScenario`
bends the deal's inputs (rental prices falling faster, utilisation lower, leases lost, the borrower
defaulting at a month), the cash flows are projected again, the schedule is rebuilt on them and repaid by
priority from the deal's cash and reserve. If the borrower defaults, or arrears remain at maturity, the
lender takes the reserve left and sells the collateral at its value then (falling by its yearly decline
and the scenario's extra rental decline) less the recovery haircut. The loss is what stays unpaid.

Monte Carlo (:func:`simulate_portfolio`): each deal defaults within the horizon with its probability;
defaults are correlated through a one-factor Gaussian copula: deal i defaults when
``sqrt(rho) Z + sqrt(1 - rho) e_i < Phi^-1(p_i)``, with Z (the market) and e_i (the deal) independent
standard normals. The same Z drives the market's rent index, so the collateral a defaulted deal leaves is
marked along the path that made it default (wrong-way risk): higher ``rho`` fattens the tail and, with
rents volatile, raises the expected loss too. Balances amortise; a default happens at a uniform time in
the horizon, and interest accrues on the balance until then. The book's yield and sAID's return as the
first-loss capital are reported apart; neither counts Treasury-bill income unless the caller gives a
``treasury_yield`` (none exists on chain). Percentiles are reported only for a portfolio of enough loans.
``seed`` makes the draws reproducible (numpy's default generator).

:func:`check_stressed_loss` and :func:`check_scenarios` refuse a deal whose stressed loss is too high:
``UnderwritingError(rule="stressed_loss")`` with the figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from statistics import NormalDist

import numpy as np

from gaib_sdk.errors import GaibValueError, UnderwritingError
from gaib_sdk.models import (
    CustomerContract,
    DealCase,
    LoanRisk,
    MonteCarloResult,
    StressCheck,
    StressPolicy,
    StressResult,
    StressScenario,
)
from gaib_sdk.underwriting.cashflow import add_months, cents, contracted_by_month, leased_units, project_cash_flows
from gaib_sdk.underwriting.market import decline_factor
from gaib_sdk.underwriting.metrics import dscr, irr
from gaib_sdk.underwriting.pricing import PERIODS_PER_YEAR, apply_waterfall, build_schedule, cash_reserve

__all__ = [
    "MIN_EFFECTIVE_LOANS",
    "RATING_DEFAULT_PROBABILITIES",
    "RATING_SOURCES",
    "STANDARD_SCENARIOS",
    "check_first_loss",
    "check_scenarios",
    "check_stressed_loss",
    "default_probability_of",
    "loan_risk",
    "over_horizon",
    "run_scenarios",
    "simulate_portfolio",
    "stress_check",
    "stress_deal",
]

STANDARD_SCENARIOS: tuple[StressScenario, ...] = (
    StressScenario(name="base"),
    StressScenario(name="rental prices fall 30% a year more", rental_decline_per_year=Decimal("0.3")),
    StressScenario(name="utilisation 30 points lower", utilisation_drop=Decimal("0.3")),
    StressScenario(
        name="a quarter of contracted revenue lost, re-let after 3 months", contracted_revenue_lost=Decimal("0.25")
    ),
    StressScenario(name="the top customer leaves, re-let after 3 months", customers_lost=1),
    StressScenario(name="borrower default at month 6, 40% haircut", default_month=6, recovery_haircut=Decimal("0.4")),
    StressScenario(
        name="severe: rent -30%/yr more, utilisation -30 points, default at month 9, 50% haircut",
        rental_decline_per_year=Decimal("0.3"),
        utilisation_drop=Decimal("0.3"),
        default_month=9,
        recovery_haircut=Decimal("0.5"),
        severe=True,
    ),
)


def _usd(x: Decimal) -> str:
    return f"{x.normalize():f}" if x == x.to_integral() else f"{x:.2f}"


def _fusd(x: float) -> str:
    return f"{x:.0f}" if x == round(x) else f"{x:.2f}"


def _pct(rate: Decimal | float) -> str:
    """0.05 -> "5%", 0.025 -> "2.5%"."""
    return f"{(Decimal(str(rate)) * 100).normalize():f}%"


def _combined_decline(a: Decimal, b: Decimal) -> Decimal:
    return 1 - (1 - a) * (1 - b)


def _lost_customers(case: DealCase, scenario: StressScenario) -> tuple[list[CustomerContract], list[Decimal]]:
    """The contracts a scenario leaves paying, and the units that stand empty each month meanwhile: the
    largest ``customers_lost`` customers (by monthly revenue, running at the start) leave and every lease
    pays ``contracted_revenue_lost`` less, from month 1; what the lost revenue kept busy (at the on-demand
    rate) stays empty ``relet_lag_months``, then is re-let by the hour, at the stressed rate."""
    signed = [c for c in case.contracts if c.signed_on <= case.start]
    running = sorted(
        (c for c in signed if add_months(c.starts_on, c.term_months) > case.start),
        key=lambda c: c.monthly_revenue_usd,
        reverse=True,
    )
    gone = {id(c) for c in running[: scenario.customers_lost]}
    kept = 1 - scenario.contracted_revenue_lost
    contracts = [
        c.model_copy(
            update={"monthly_revenue_usd": Decimal(0) if id(c) in gone else cents(c.monthly_revenue_usd * kept)}
        )
        for c in case.contracts
    ]
    on_demand = case.on_demand
    if on_demand is None or not on_demand.net_of_contracts or scenario.relet_lag_months == 0:
        return contracts, []
    hours = case.costs.hours_per_month
    vacant = []
    for m in range(1, min(scenario.relet_lag_months, case.terms.installments) + 1):
        month_start = add_months(case.start, m - 1)
        before = contracted_by_month(case.contracts, start=month_start, months=1)[0]
        after = contracted_by_month(contracts, start=month_start, months=1)[0]
        vacant.append(leased_units(before - after, on_demand.usd_per_unit_hour, hours))
    return contracts, vacant


def stress_deal(case: DealCase, scenario: StressScenario) -> StressResult:
    """Run one deterministic scenario on a deal: project, schedule, repay by priority, recover on default."""
    terms = case.terms
    contracts, vacant = _lost_customers(case, scenario)
    costs = case.costs.model_copy(
        update={"utilisation": max(Decimal(0), case.costs.utilisation - scenario.utilisation_drop)}
    )
    on_demand = None
    if case.on_demand is not None:
        on_demand = case.on_demand.model_copy(
            update={
                "utilisation": max(Decimal(0), case.on_demand.utilisation - scenario.utilisation_drop),
                "rental_decline_per_year": _combined_decline(
                    case.on_demand.rental_decline_per_year, scenario.rental_decline_per_year
                ),
            }
        )
    projection = project_cash_flows(
        contracts,
        start=case.start,
        months=terms.installments,
        costs=costs,
        on_demand=on_demand,
        depreciation_usd_per_month=case.depreciation_usd_per_month,
        vacant_units=vacant,
    )
    schedule = build_schedule(case.funded_usd, terms, projection)
    default_month = (
        scenario.default_month if scenario.default_month and scenario.default_month <= len(schedule.lines) else None
    )
    waterfall = apply_waterfall(schedule, projection, default_month=default_month)
    processed = len(waterfall.months)
    flows: list[Decimal] = [-case.funded_usd]
    flows += [m.paid_from_operations_usd + m.drawn_from_reserve_usd for m in waterfall.months]
    # the fees are paid first and go to the treasury: sAID's flows are what is left of each month's payment
    net = [flows[0], *(max(Decimal(0), f - line.fees_usd) for f, line in zip(flows[1:], schedule.lines, strict=False))]

    defaulted: int | None = None
    owed = recovered = Decimal(0)
    if default_month is not None:
        defaulted = default_month
        owed = schedule.lines[default_month - 1].opening_balance_usd + waterfall.arrears_usd
    elif waterfall.arrears_usd > 0:
        defaulted = processed  # arrears at maturity: the borrower is in default then
        owed = waterfall.arrears_usd
    if defaulted is not None:
        decline = _combined_decline(case.collateral_decline_per_year, scenario.rental_decline_per_year)
        collateral = case.collateral_value_usd * decline_factor(decline, processed)
        available = waterfall.reserve_balance_usd + collateral * (1 - scenario.recovery_haircut)
        recovered = min(owed, cents(available))  # owed is exact to the USDC unit; a sale is to the cent
        flows.append(recovered)
        net.append(recovered)
    loss = owed - recovered

    covers = [
        dscr(projection.months[line.month - 1].net_operating_cash_flow_usd, line.payment_usd)
        for line in schedule.lines[:processed]
        if line.payment_usd > 0
    ]
    return StressResult(
        scenario=scenario.name,
        lender_paid_usd=waterfall.lender_paid_usd,
        defaulted_month=defaulted,
        owed_at_default_usd=owed,
        recovered_usd=recovered,
        loss_usd=loss,
        loss_rate=(loss / case.funded_usd).quantize(Decimal("0.0001")),
        dscr_min=min(covers) if covers else None,
        lender_irr=irr(flows, periods_per_year=PERIODS_PER_YEAR),
        lender_irr_net_of_fees=irr(net, periods_per_year=PERIODS_PER_YEAR),
    )


def run_scenarios(case: DealCase, scenarios: Iterable[StressScenario] = STANDARD_SCENARIOS) -> list[StressResult]:
    """:func:`stress_deal` for each scenario, in order."""
    return [stress_deal(case, s) for s in scenarios]


def check_scenarios(
    case: DealCase,
    *,
    max_loss_rate: Decimal = Decimal("0.05"),
    scenarios: Iterable[StressScenario] = STANDARD_SCENARIOS,
) -> list[StressResult]:
    """Run the scenarios and refuse the deal if any loses more than ``max_loss_rate`` of the amount funded
    (``UnderwritingError(rule="stressed_loss")`` naming the worst scenario and the figures)."""
    results = run_scenarios(case, scenarios)
    worst = max(results, key=lambda r: r.loss_usd, default=None)
    limit = cents(case.funded_usd * max_loss_rate)
    if worst is not None and worst.loss_usd > limit:
        raise UnderwritingError(
            f"stressed loss too high: scenario {worst.scenario!r} loses {_usd(worst.loss_usd)} USDC, "
            f"{worst.loss_rate:.2%} of funded {_usd(case.funded_usd)} USDC "
            f"(limit {_pct(max_loss_rate)}: {_usd(limit)})",
            rule="stressed_loss",
        )
    return results


#: Yearly default probabilities by borrower rating, for ``StressPolicy.rating``. Each with its source in
#: :data:`RATING_SOURCES`: the S&P figures are read from its published default studies; "unrated" is ours.
RATING_DEFAULT_PROBABILITIES: dict[str, float] = {
    "investment_grade": 0.0021,
    "speculative_grade": 0.037,
    "speculative_grade_downturn": 0.1102,
    "unrated": 0.05,
}
RATING_SOURCES: dict[str, str] = {
    "investment_grade": "S&P Global Ratings, 2023 Annual Global Corporate Default And Rating Transition Study "
    "(28 March 2024), Table 1: the highest yearly investment-grade default rate of 1981-1996, 0.21% (1989)",
    "speculative_grade": "S&P Global Ratings, 2023 Annual Global Corporate Default And Rating Transition Study "
    "(28 March 2024): the global speculative-grade ('BB+' or lower) default rate of 2023, 3.7%",
    "speculative_grade_downturn": "S&P Global Ratings, 2023 Annual Global Corporate Default And Rating Transition "
    "Study (28 March 2024), Table 1: the speculative-grade default rate of 1991, 11.02%",
    "unrated": "assumption: an unrated GPU operator, between S&P's speculative-grade rate of 2023 (3.7%) and "
    "that of the 1991 downturn (11.02%)",
}
#: A loss percentile is reported only for a portfolio of at least this many effective loans (an assumption:
#: below it the distribution is a handful of steps, each one loan's loss, and a percentile only says whether
#: a default probability is above 1 - percentile).
MIN_EFFECTIVE_LOANS = 10.0


def default_probability_of(rating: str) -> float:
    """The yearly default probability of ``rating`` (:data:`RATING_DEFAULT_PROBABILITIES`)."""
    try:
        return RATING_DEFAULT_PROBABILITIES[rating]
    except KeyError:
        raise GaibValueError(
            f"unknown rating {rating!r}: give one of {sorted(RATING_DEFAULT_PROBABILITIES)} or a default_probability"
        ) from None


def over_horizon(yearly: float, years: float) -> float:
    """A yearly default probability over ``years``: 1 - (1 - p)^years (a constant hazard)."""
    return 1.0 - float((1.0 - yearly) ** years)


def loan_risk(
    case: DealCase,
    *,
    default_probability: float,
    recovery_haircut: float = 0.3,
    name: str = "",
    rent_sensitivity: float = 1.0,
) -> LoanRisk:
    """A deal as the Monte Carlo sees it: its funded amount, amortising over its term (level principal for
    a fixed-rate or hybrid deal; a revenue share's balloon stays), its collateral falling by the case's
    yearly decline and moving with rents, its rate and its reserve. ``default_probability`` is over the
    horizon the Monte Carlo is run on."""
    return LoanRisk(
        name=name,
        exposure_usd=float(case.funded_usd),
        collateral_value_usd=float(case.collateral_value_usd),
        annual_rate=case.terms.rate_bps / 10_000,
        default_probability=default_probability,
        recovery_haircut=recovery_haircut,
        reserve_usd=float(cash_reserve(case.funded_usd, case.terms.reserve_bps)),
        amortisation="none" if case.terms.structure == "revenue_share" else "level",
        remaining_years=case.terms.days / 365,
        collateral_decline_per_year=float(case.collateral_decline_per_year),
        rent_sensitivity=rent_sensitivity,
    )


def _threshold(p: float) -> float:
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return NormalDist().inv_cdf(p)


def _paid(loans: Sequence[LoanRisk], t: np.ndarray) -> np.ndarray:
    """The integral of each loan's balance from 0 to ``t`` years (t: paths x loans): interest accrues on it."""
    exposure = np.array([loan.exposure_usd for loan in loans])
    term = np.array([loan.remaining_years or math.inf for loan in loans])
    level = np.array([loan.amortisation == "level" for loan in loans])
    s = np.minimum(t, term)
    amortised = exposure * (s - s * s / (2 * term))
    paid: np.ndarray = np.where(level, amortised, exposure * t)
    return paid


def simulate_portfolio(
    loans: Sequence[LoanRisk],
    *,
    correlation: float,
    paths: int = 20_000,
    seed: int | None = None,
    horizon_years: float = 1.0,
    cash_usd: float = 0.0,
    treasury_yield: float = 0.0,
    rent_volatility: float = 0.0,
    first_loss_usd: float | None = None,
    min_effective_loans: float = MIN_EFFECTIVE_LOANS,
    percentiles: Sequence[float] = (50.0, 95.0, 99.0, 99.9),
    yield_percentiles: Sequence[float] = (0.1, 1.0, 5.0, 50.0, 95.0),
) -> MonteCarloResult:
    """Monte Carlo of a portfolio's losses over ``horizon_years``, defaults correlated by a one-factor
    Gaussian copula with asset correlation ``correlation``. Same inputs and ``seed``, same result.

    On each path the market factor Z also drives the rent index, ``exp(rent_volatility sqrt(t) Z -
    rent_volatility^2 t / 2)``: when Z is low, more borrowers default and the hardware they leave is worth
    less (wrong-way risk). A loan that defaults does so at a uniform time in the horizon; it owes its
    balance then (amortised), and the lender recovers its reserve and its collateral then (declined, moved
    with rents to the power ``rent_sensitivity``) less the haircut. Interest accrues on the balance until
    the default or the horizon. ``cash_usd`` is the undeployed reserve, earning ``treasury_yield`` a year
    (0: no Treasury-bill income exists on chain). ``first_loss_usd``: sAID's assets, which take the
    losses first (see :class:`~gaib_sdk.models.MonteCarloResult`). Percentiles are left out (and
    ``percentiles_note`` says why) when the portfolio has fewer than ``min_effective_loans`` effective loans."""
    if not loans:
        raise GaibValueError("a portfolio needs at least one loan")
    if not 0 <= correlation <= 1:
        raise GaibValueError(f"correlation {correlation} must be between 0 and 1")
    if paths < 1:
        raise GaibValueError(f"paths {paths} must be at least 1")
    if horizon_years <= 0:
        raise GaibValueError(f"horizon {horizon_years} years must be positive")
    if cash_usd < 0:
        raise GaibValueError(f"cash {cash_usd} USDC must not be negative")
    if rent_volatility < 0:
        raise GaibValueError(f"rent volatility {rent_volatility} must not be negative")
    if first_loss_usd is not None and first_loss_usd <= 0:
        raise GaibValueError(f"first-loss capital {first_loss_usd} USDC must be positive")
    for p in (*percentiles, *yield_percentiles):
        if not 0 <= p <= 100:
            raise GaibValueError(f"percentile {p} must be between 0 and 100")

    rng = np.random.default_rng(seed)
    n = len(loans)
    h = horizon_years
    thresholds = np.array([_threshold(loan.default_probability) for loan in loans])
    exposure = np.array([loan.exposure_usd for loan in loans])
    term = np.array([loan.remaining_years or math.inf for loan in loans])
    level = np.array([loan.amortisation == "level" for loan in loans])
    collateral = np.array([loan.collateral_value_usd for loan in loans])
    decline = np.array([loan.collateral_decline_per_year for loan in loans])
    beta = np.array([loan.rent_sensitivity for loan in loans])
    keep = np.array([1 - loan.recovery_haircut for loan in loans])
    reserve = np.array([loan.reserve_usd for loan in loans])
    rate = np.array([loan.annual_rate for loan in loans])
    a, b = math.sqrt(correlation), math.sqrt(1 - correlation)
    vol = rent_volatility

    losses = np.empty(paths)
    income = np.empty(paths)
    defaults = np.empty(paths)
    chunk = max(1, 1_000_000 // n)  # bounds memory; depends on n only, so a seed reproduces exactly
    for start in range(0, paths, chunk):
        k = min(chunk, paths - start)
        market = rng.standard_normal((k, 1))
        idio = rng.standard_normal((k, n))
        when = rng.random((k, n)) * h  # the default's time, if it defaults
        default = a * market + b * idio < thresholds
        balance = np.where(level, exposure * np.maximum(0.0, 1.0 - when / term), exposure)
        rents = np.exp(vol * np.sqrt(when) * market - vol * vol * when / 2)
        value = collateral * (1 - decline) ** when * rents**beta
        loss = np.maximum(0.0, balance - reserve - value * keep)
        losses[start : start + k] = np.where(default, loss, 0.0).sum(axis=1)
        accrued = np.where(default, _paid(loans, when), _paid(loans, np.full((k, n), h)))
        income[start : start + k] = (accrued * rate).sum(axis=1)
        defaults[start : start + k] = default.sum(axis=1)

    total = float(exposure.sum())
    assets = total + cash_usd
    cash_income = cash_usd * treasury_yield * h
    # the book's yield is on what is lent on average over the horizon as scheduled (balances amortise)
    average = float(_paid(loans, np.full((1, n), h)).sum()) / h
    yields = (income + cash_income - losses) / (average + cash_usd) / h
    effective = total * total / float((exposure * exposure).sum())
    supported = effective >= min_effective_loans
    note = None
    if not supported:
        note = (
            f"{n} loan(s), {effective:.1f} effective: too few for a percentile of the loss to mean anything "
            f"(it is 0 or one loan's loss); at least {min_effective_loans:g} effective loans are needed. "
            "The expected loss, the chance of a loss, the loss per default and the worst simulated loss are "
            "reported instead"
        )

    def grid(values: np.ndarray, ps: Sequence[float]) -> dict[float, float]:
        if not supported:
            return {}
        return {float(p): float(v) for p, v in zip(ps, np.percentile(values, ps), strict=True)}

    first: dict[str, object] = {}
    if first_loss_usd is not None:
        net = income + cash_income - losses
        returns = np.maximum(net / first_loss_usd, -1.0) / h
        beyond = np.maximum(0.0, -net - first_loss_usd)
        first = {
            "first_loss_usd": first_loss_usd,
            "mean_first_loss_return": float(returns.mean()),
            "first_loss_return_percentiles": grid(returns, yield_percentiles),
            "probability_first_loss_exhausted": float((beyond > 0).mean()),
            "expected_loss_beyond_first_loss_usd": float(beyond.mean()),
        }
    count = float(defaults.sum())
    return MonteCarloResult.model_validate(
        {
            "paths": paths,
            "seed": seed,
            "correlation": correlation,
            "horizon_years": horizon_years,
            "rent_volatility": rent_volatility,
            "loans": n,
            "effective_loans": effective,
            "exposure_usd": total,
            "average_exposure_usd": average,
            "assets_usd": assets,
            "expected_loss_usd": float(losses.mean()),
            "max_loss_usd": float(losses.max()),
            "mean_loss_given_default_usd": float(losses.sum()) / count if count else None,
            "loss_percentiles_usd": grid(losses, percentiles),
            "percentiles_note": note,
            "mean_portfolio_yield": float(yields.mean()),
            "portfolio_yield_percentiles": grid(yields, yield_percentiles),
            "probability_of_loss": float((losses > 0).mean()),
            "mean_defaults": float(defaults.mean()),
            **first,
        }
    )


def check_stressed_loss(result: MonteCarloResult, *, percentile: float = 99.0, max_loss_rate: float = 0.05) -> None:
    """Refuse when the simulated loss at ``percentile`` exceeds ``max_loss_rate`` of the exposure:
    ``UnderwritingError(rule="stressed_loss")`` with the percentile, the loss and the limit. A portfolio
    too concentrated for percentiles is a ``GaibValueError`` that says so."""
    if result.percentiles_note is not None:
        raise GaibValueError(f"no loss percentile to hold to a limit: {result.percentiles_note}")
    if percentile not in result.loss_percentiles_usd:
        raise GaibValueError(
            f"percentile {percentile} was not simulated; the result has {sorted(result.loss_percentiles_usd)}"
        )
    loss = result.loss_percentiles_usd[percentile]
    limit = max_loss_rate * result.exposure_usd
    if loss > limit:
        raise UnderwritingError(
            f"stressed loss too high: the loss at percentile {percentile:g} over {result.horizon_years:g} year(s) "
            f"is {_fusd(loss)} USDC, {loss / result.exposure_usd:.2%} of exposure {_fusd(result.exposure_usd)} USDC "
            f"(limit {_pct(max_loss_rate)}: {_fusd(limit)})",
            rule="stressed_loss",
        )


def check_first_loss(result: MonteCarloResult, *, max_exhaustion: float = 0.001) -> None:
    """Refuse when the losses net of interest wipe out the first-loss capital (sAID's assets) more often
    than ``max_exhaustion`` a year (over the result's horizon: ``1 - (1 - max_exhaustion)^years``):
    ``UnderwritingError(rule="first_loss")`` with the figures. 0.001 is the Basel IRB approach's 99.9%
    confidence level: capital exceeded once in a thousand years. The result must have been simulated with
    ``first_loss_usd``."""
    if result.first_loss_usd is None or result.probability_first_loss_exhausted is None:
        raise GaibValueError("the result has no first-loss capital: simulate it with first_loss_usd (sAID's assets)")
    limit = over_horizon(max_exhaustion, result.horizon_years)
    seen = result.probability_first_loss_exhausted
    if seen > limit:
        raise UnderwritingError(
            f"first-loss capital at risk: losses net of interest wipe out sAID's {_fusd(result.first_loss_usd)} USDC "
            f"on {seen:.2%} of {result.paths} simulated paths over {result.horizon_years:.4g} year(s), more than "
            f"the {limit:.2%} allowed ({max_exhaustion:.2%} a year); expected loss beyond it "
            f"{_fusd(result.expected_loss_beyond_first_loss_usd or 0.0)} USDC, borne by AID holders. "
            "Advance less, add collateral, or wait for more first-loss capital",
            rule="first_loss",
        )


def stress_check(case: DealCase, policy: StressPolicy | None = None) -> StressCheck:
    """The stress test of one deal under ``policy`` (the defaults of :class:`~gaib_sdk.models.StressPolicy`
    if None): every scenario run, each held to its limit (``max_loss_rate`` of the amount funded, or
    ``severe_max_loss_rate`` for a severe one), and the seeded Monte Carlo of the deal alone.

    Raises ``UnderwritingError(rule="stressed_loss")`` naming the first scenario over its limit, with its
    loss, the amount funded and the limit; or the Monte Carlo's loss at its percentile, when the policy
    sets a limit on it. With ``policy.enforce`` off it returns the check with ``passed`` False and the
    message in ``refusal`` instead."""
    policy = policy or StressPolicy()
    scenarios = STANDARD_SCENARIOS if policy.scenarios is None else tuple(policy.scenarios)
    results = run_scenarios(case, scenarios)

    def limit_of(s: StressScenario) -> Decimal:
        return policy.severe_max_loss_rate if s.severe else policy.max_loss_rate

    # the worst scenario: the one that uses most of its limit (a loss over a zero limit counts as worst)
    def used(pair: tuple[StressScenario, StressResult]) -> Decimal:
        s, r = pair
        limit = limit_of(s)
        return (
            r.loss_usd / (case.funded_usd * limit) if limit > 0 else (Decimal("Infinity") if r.loss_usd else Decimal(0))
        )

    pairs = list(zip(scenarios, results, strict=True))
    worst_s, worst = max(pairs, key=used) if pairs else (StressScenario(name="none"), None)
    refusal = None
    for s, r in pairs:
        limit = cents(case.funded_usd * limit_of(s))
        if r.loss_usd > limit:
            kind = "severe scenario" if s.severe else "scenario"
            refusal = (
                f"stressed loss too high: {kind} {s.name!r} loses {_usd(r.loss_usd)} USDC, {r.loss_rate:.2%} of "
                f"funded {_usd(case.funded_usd)} USDC (limit {_pct(limit_of(s))}: {_usd(limit)}); "
                f"owed {_usd(r.owed_at_default_usd)} when payments stopped"
                + (f" at month {r.defaulted_month}" if r.defaulted_month else "")
                + f", recovered {_usd(r.recovered_usd)}. Advance less, add collateral or shorten the term"
            )
            break
    rule = "stressed_loss"
    monte_carlo = None
    if policy.monte_carlo:
        yearly = (
            default_probability_of(policy.rating) if policy.default_probability is None else policy.default_probability
        )
        horizon = case.terms.days / 365
        loan = loan_risk(
            case,
            default_probability=over_horizon(yearly, horizon),
            recovery_haircut=policy.recovery_haircut,
            rent_sensitivity=policy.rent_sensitivity,
        )
        monte_carlo = simulate_portfolio(
            [loan],
            correlation=policy.correlation,
            paths=policy.paths,
            seed=policy.seed,
            horizon_years=horizon,
            rent_volatility=policy.rent_volatility,
            first_loss_usd=float(policy.first_loss_usd) if policy.first_loss_usd is not None else None,
            percentiles=sorted({50.0, 95.0, 99.0, 99.9, policy.monte_carlo_percentile}),
        )
        if refusal is None and policy.first_loss_usd is not None:
            try:
                check_first_loss(monte_carlo, max_exhaustion=policy.max_first_loss_exhaustion)
            except UnderwritingError as exc:
                refusal, rule = f"{exc} (Monte Carlo of this deal)", "first_loss"
        limit_rate = policy.monte_carlo_max_loss_rate
        if refusal is None and limit_rate is not None:
            rated = policy.rating if policy.default_probability is None else "given"
            source = f"default probability {yearly:g} a year ({rated})"
            if monte_carlo.percentiles_note is None:
                try:
                    check_stressed_loss(monte_carlo, percentile=policy.monte_carlo_percentile, max_loss_rate=limit_rate)
                except UnderwritingError as exc:
                    refusal = f"{exc} (Monte Carlo of this deal, {source})"
            else:
                # one loan: its loss at a percentile is 0 unless it defaults on more paths than the tail
                # beyond the percentile holds, and then it is its loss given default: held to the average one
                tail = 1 - policy.monte_carlo_percentile / 100
                per_default = monte_carlo.mean_loss_given_default_usd or 0.0
                mc_limit = limit_rate * monte_carlo.exposure_usd
                if monte_carlo.mean_defaults > tail and per_default > mc_limit:
                    refusal = (
                        f"stressed loss too high: this deal alone (one loan: no percentile) defaults on "
                        f"{monte_carlo.mean_defaults:.2%} of paths over {monte_carlo.horizon_years:.4g} year(s), more "
                        f"than the {tail:.2%} beyond percentile {policy.monte_carlo_percentile:g}, and then loses "
                        f"{_fusd(per_default)} USDC on average, {per_default / monte_carlo.exposure_usd:.2%} of "
                        f"funded {_fusd(monte_carlo.exposure_usd)} USDC (limit {_pct(limit_rate)}: {_fusd(mc_limit)}; "
                        f"Monte Carlo, {source})"
                    )
    if refusal is not None and policy.enforce:
        raise UnderwritingError(refusal, rule=rule)
    return StressCheck(
        funded_usd=case.funded_usd,
        term_months=case.terms.term_months,
        max_loss_rate=policy.max_loss_rate,
        severe_max_loss_rate=policy.severe_max_loss_rate,
        results=results,
        worst_scenario=worst_s.name,
        worst_loss_usd=worst.loss_usd if worst else Decimal(0),
        worst_loss_rate=worst.loss_rate if worst else Decimal(0),
        worst_limit_rate=limit_of(worst_s),
        monte_carlo=monte_carlo,
        passed=refusal is None,
        refusal=refusal,
    )
