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
standard normals. ``rho = 0`` makes defaults independent; higher ``rho`` keeps each deal's default
probability and so the expected loss, but fattens the tail. A defaulted deal pays no interest over the
horizon and loses its exposure less its reserve and its collateral after the haircut; a performing one
pays its annual rate. sAID's yield on a path = (interest + treasury yield on the undeployed cash - losses)
/ (exposure + cash), a year. ``seed`` makes the draws reproducible (numpy's default generator).

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
    "STANDARD_SCENARIOS",
    "check_scenarios",
    "check_stressed_loss",
    "loan_risk",
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


def loan_risk(case: DealCase, *, default_probability: float, recovery_haircut: float = 0.3, name: str = "") -> LoanRisk:
    """A deal as the Monte Carlo sees it: its funded amount, collateral, rate and reserve."""
    return LoanRisk(
        name=name,
        exposure_usd=float(case.funded_usd),
        collateral_value_usd=float(case.collateral_value_usd),
        annual_rate=case.terms.rate_bps / 10_000,
        default_probability=default_probability,
        recovery_haircut=recovery_haircut,
        reserve_usd=float(cash_reserve(case.funded_usd, case.terms.reserve_bps)),
    )


def _threshold(p: float) -> float:
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return NormalDist().inv_cdf(p)


def simulate_portfolio(
    loans: Sequence[LoanRisk],
    *,
    correlation: float,
    paths: int = 20_000,
    seed: int | None = None,
    horizon_years: float = 1.0,
    cash_usd: float = 0.0,
    treasury_yield: float = 0.0,
    percentiles: Sequence[float] = (50.0, 95.0, 99.0, 99.9),
    yield_percentiles: Sequence[float] = (0.1, 1.0, 5.0, 50.0, 95.0),
) -> MonteCarloResult:
    """Monte Carlo of a portfolio's losses and of sAID's yield over ``horizon_years``, defaults correlated
    by a one-factor Gaussian copula with asset correlation ``correlation``. Same inputs and ``seed``, same
    result. ``cash_usd`` is sAID's undeployed reserve, earning ``treasury_yield`` a year."""
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
    for p in (*percentiles, *yield_percentiles):
        if not 0 <= p <= 100:
            raise GaibValueError(f"percentile {p} must be between 0 and 100")

    rng = np.random.default_rng(seed)
    n = len(loans)
    thresholds = np.array([_threshold(loan.default_probability) for loan in loans])
    exposure = np.array([loan.exposure_usd for loan in loans])
    lgd = np.array([loan.loss_given_default_usd for loan in loans])
    interest = exposure * np.array([loan.annual_rate for loan in loans]) * horizon_years
    a, b = math.sqrt(correlation), math.sqrt(1 - correlation)

    losses = np.empty(paths)
    income = np.empty(paths)
    defaults = np.empty(paths)
    chunk = max(1, 1_000_000 // n)  # bounds memory; depends on n only, so a seed reproduces exactly
    for start in range(0, paths, chunk):
        k = min(chunk, paths - start)
        market = rng.standard_normal((k, 1))
        idio = rng.standard_normal((k, n))
        default = (a * market + b * idio < thresholds).astype(np.float64)
        losses[start : start + k] = default @ lgd
        income[start : start + k] = (1.0 - default) @ interest
        defaults[start : start + k] = default.sum(axis=1)

    total = float(exposure.sum())
    assets = total + cash_usd
    yields = (income + cash_usd * treasury_yield * horizon_years - losses) / assets / horizon_years
    return MonteCarloResult(
        paths=paths,
        seed=seed,
        correlation=correlation,
        horizon_years=horizon_years,
        exposure_usd=total,
        assets_usd=assets,
        expected_loss_usd=float(losses.mean()),
        loss_percentiles_usd={
            float(p): float(v) for p, v in zip(percentiles, np.percentile(losses, percentiles), strict=True)
        },
        mean_yield=float(yields.mean()),
        yield_percentiles={
            float(p): float(v) for p, v in zip(yield_percentiles, np.percentile(yields, yield_percentiles), strict=True)
        },
        probability_of_loss=float((losses > 0).mean()),
        mean_defaults=float(defaults.mean()),
    )


def check_stressed_loss(result: MonteCarloResult, *, percentile: float = 99.0, max_loss_rate: float = 0.05) -> None:
    """Refuse when the simulated loss at ``percentile`` exceeds ``max_loss_rate`` of the exposure:
    ``UnderwritingError(rule="stressed_loss")`` with the percentile, the loss and the limit."""
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
    monte_carlo = None
    if policy.monte_carlo:
        loan = loan_risk(case, default_probability=policy.default_probability, recovery_haircut=policy.recovery_haircut)
        monte_carlo = simulate_portfolio(
            [loan],
            correlation=0.0,
            paths=policy.paths,
            seed=policy.seed,
            horizon_years=case.terms.days / 365,
            percentiles=sorted({50.0, 95.0, 99.0, 99.9, policy.monte_carlo_percentile}),
        )
        if refusal is None and policy.monte_carlo_max_loss_rate is not None:
            try:
                check_stressed_loss(
                    monte_carlo,
                    percentile=policy.monte_carlo_percentile,
                    max_loss_rate=policy.monte_carlo_max_loss_rate,
                )
            except UnderwritingError as exc:
                refusal = f"{exc} (Monte Carlo of this deal, default probability {policy.default_probability:g})"
    if refusal is not None and policy.enforce:
        raise UnderwritingError(refusal, rule="stressed_loss")
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
