"""The finance engine, pure and fast: market inputs and valuation, cash-flow projection, metrics, pricing
and priority repayment, the hard rules' figures, stress scenarios and the Monte Carlo; and the seeds'
figures reproduced."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest
from pydantic import ValidationError

from gaib_sdk import AdvanceAboveCapError, AssetRecord, CustomerContract, GaibValueError, Payment, UnderwritingError
from gaib_sdk.models import (
    DealCase,
    DealTerms,
    LoanRisk,
    MarketInputs,
    OnDemandCapacity,
    OperatingCosts,
    PricingTerms,
    StressPolicy,
    StressScenario,
)
from gaib_sdk.underwriting import (
    GPU_MARKET,
    RATING_DEFAULT_PROBABILITIES,
    RATING_SOURCES,
    STANDARD_SCENARIOS,
    accrued_units,
    add_months,
    annualised_roi,
    apply_waterfall,
    appraise_gpu,
    build_schedule,
    cash_reserve,
    chain_schedule,
    check_advance,
    check_first_loss,
    check_scenarios,
    check_stressed_loss,
    collateral_cover,
    deal_metrics,
    dscr,
    due_offsets,
    income_value,
    irr,
    lease_contract,
    loan_risk,
    market_for,
    npv,
    over_horizon,
    payback_months,
    payment_record,
    pricing_terms,
    project_cash_flows,
    run_scenarios,
    simulate_portfolio,
    stress_check,
    stress_deal,
    to_deal_terms,
)

D = Decimal
START = date(2026, 1, 1)
#: One H100's power: 0.7 kW board power at $0.10/kWh, busy 80% of 730 hours: 0.7 x 730 x 0.8 x 0.10 = 40.88.
H100_COSTS = OperatingCosts(power_kw_per_unit=D("0.7"), usd_per_kwh=D("0.10"), utilisation=D("0.8"))


def _lease(rate: str = "2.10", *, starts_on: date = START, term: int = 36, units: int = 1) -> CustomerContract:
    return lease_contract(
        "Helix AI Labs",
        signed_on=date(2025, 12, 1),
        starts_on=starts_on,
        term_months=term,
        usd_per_gpu_hour=D(rate),
        units=units,
    )


def _case(**changes: object) -> DealCase:
    """One H100 leased at $2.10 for 36 months, $18,000 advanced against $25,000 on 24-month fixed terms."""
    base: dict[str, object] = {
        "funded_usd": D(18_000),
        "terms": PricingTerms(),
        "start": START,
        "contracts": [_lease()],
        "costs": H100_COSTS,
        "collateral_value_usd": D(25_000),
    }
    return DealCase.model_validate(base | changes)


# --- the seeds' figures -------------------------------------------------------------------------------------


def test_seed_an_h100_paying_back_in_12_to_18_months_earns_50_to_100_percent_a_year() -> None:
    # An H100 bought for $25,000, leased (take-or-pay) at $2.10 per GPU-hour for all 730 hours of a month:
    # 2.10 x 730 = 1533.00 a month. Busy 80% of the hours, it draws 0.7 kW x 730 h x 0.8 x $0.10 = 40.88 of
    # power. Net operating cash flow 1533.00 - 40.88 = 1492.12 a month.
    projection = project_cash_flows([_lease()], start=START, months=36, costs=H100_COSTS)
    assert {m.net_operating_cash_flow_usd for m in projection.months} == {D("1492.12")}
    m = deal_metrics(D(25_000), projection)
    # payback 25000 / 1492.12 = 16.75 months; ROI on revenue 12 x 1492.12 / 25000 = 71.62% a year
    assert m.payback_months == D("16.75")
    assert m.annualised_roi == D("0.7162")
    assert 12 <= m.payback_months <= 18
    assert D("0.5") <= m.annualised_roi <= D(1)

    # with constant flows ROI = 12 / payback: 12 months is 100% a year, 18 months 66.67%, both in 50-100%
    for months in (12, 15, 18):
        flows = [D(25_000) / months] * 36
        assert payback_months(D(25_000), flows) == months
        roi = annualised_roi(D(25_000), flows)
        assert roi == (D(12) / months).quantize(D("0.0001"))
        assert D("0.5") <= roi <= D(1)

    # The same $2.10 sold on demand and billed only for the 80% of hours used earns 2.10 x 730 x 0.8 =
    # 1226.40 - 40.88 = 1185.52 a month: 21.09 months to pay back, 56.90% a year. The 12-18 month figure
    # holds for leased capacity (or for an on-demand rate of about $2.45 or more at 80%).
    spot = OnDemandCapacity(units=1, usd_per_gpu_hour=D("2.10"), utilisation=D("0.8"))
    on_demand = deal_metrics(
        D(25_000), project_cash_flows([], start=START, months=36, costs=H100_COSTS, on_demand=spot)
    )
    assert on_demand.payback_months == D("21.09") and on_demand.annualised_roi == D("0.5690")
    spot = spot.model_copy(update={"usd_per_unit_hour": D("2.45")})  # the field is per unit-hour (issue 13)
    on_demand = deal_metrics(
        D(25_000), project_cash_flows([], start=START, months=36, costs=H100_COSTS, on_demand=spot)
    )
    assert on_demand.payback_months is not None and on_demand.payback_months <= 18


def test_seed_100_of_gpus_gets_a_70_to_80_advance_at_cover_1_25_to_1_43() -> None:
    # cover = value / advance: 100 / 80 = 1.25, 100 / 75 = 1.33, 100 / 70 = 1.4286 -> 1.43
    assert collateral_cover(D(100), D(80)) == D("1.25")
    assert collateral_cover(D(100), D(75)) == D("1.33")
    assert collateral_cover(D(100), D(70)) == D("1.43")
    for advance in (70, 75, 80):
        check_advance(D(advance), D(100), D("0.80"))
        assert D("1.25") <= collateral_cover(D(100), D(advance)) <= D("1.43")
    with pytest.raises(AdvanceAboveCapError) as exc:
        check_advance(D(81), D(100), D("0.80"))
    assert str(exc.value) == "advance 81 USDC exceeds 80% of appraised value 100 USDC (max 80)"
    assert exc.value.rule == "max_advance"
    with pytest.raises(AdvanceAboveCapError) as exc:
        check_advance(D(850_000), D(1_000_000), D("0.80"))
    assert str(exc.value) == "advance 850000 USDC exceeds 80% of appraised value 1000000 USDC (max 800000)"
    with pytest.raises(UnderwritingError) as exc2:
        check_advance(D(1), D(0), D("0.80"))
    assert exc2.value.rule == "real_collateral"


def test_seed_100m_of_loans_backs_75m_of_tokens_with_a_reserve_of_about_5m() -> None:
    # GAIB's docs: $100M of loans (collateral value) backs $75M of AID; the cash reserve is 6.6% of the
    # amount funded: 75,000,000 x 660 / 10,000 = 4,950,000, within 1% of $5M.
    value, funded = D(100_000_000), D(75_000_000)
    check_advance(funded, value, D("0.80"))
    assert collateral_cover(value, funded) == D("1.33")
    reserve = cash_reserve(funded)
    assert reserve == D("4950000.00")
    assert abs(reserve - D(5_000_000)) <= D("0.01") * D(5_000_000)
    schedule = build_schedule(funded, PricingTerms(term_months=36))
    assert schedule.reserve_usd == reserve
    assert schedule.net_proceeds_usd == D("70050000.00")


# --- market inputs and valuation ----------------------------------------------------------------------------


def test_the_market_table_covers_four_families_with_sources() -> None:
    assert {"A100", "H100", "H200", "B200"} <= set(GPU_MARKET)
    h100 = GPU_MARKET["H100"]
    assert D(25_000) <= h100.purchase_price_usd <= D(30_000)
    assert D(2) <= h100.rental_usd_per_gpu_hour <= D("2.5")
    for family, m in GPU_MARKET.items():
        assert m.family == family and "illustrative" in m.source
        assert 0 < m.rental_decline_per_year < 1 and m.power_kw > 0
    assert market_for("NVIDIA H100 SXM5 80GB") is h100
    assert market_for("h200 nvl").family == "H200"
    with pytest.raises(GaibValueError, match="no market inputs for GPU model 'MI300X': known families are A100"):
        market_for("MI300X")
    custom = {"MI300X": h100.model_copy(update={"family": "MI300X"})}
    assert market_for("AMD MI300X", custom).family == "MI300X"


def test_income_value_follows_utilisation_age_and_discount() -> None:
    h100 = GPU_MARKET["H100"]
    values = [income_value(h100, age_months=0, utilisation=D(u)) for u in ("0.2", "0.5", "0.8", "1")]
    assert values == sorted(values) and len(set(values)) == 4
    assert income_value(h100, age_months=24, utilisation=D("0.8")) < values[2]
    assert income_value(h100, age_months=0, utilisation=D("0.8"), discount_rate=D("0.30")) < values[2]
    # past its useful life only the residual is left: 27,500 x 15%, undiscounted at month 0
    assert income_value(h100, age_months=60, utilisation=D("0.8")) == D("4125.00")
    # an idle GPU earns nothing and its power is not bought: the value is the discounted residual only
    idle = income_value(h100, age_months=0, utilisation=D(0))
    assert idle == (D("4125") / D("1.15") ** 4).quantize(D("0.01"), rounding="ROUND_DOWN")
    with pytest.raises(GaibValueError, match="utilisation 1.2 must be between 0 and 1"):
        income_value(h100, age_months=0, utilisation=D("1.2"))


def test_appraisal_is_the_lower_of_depreciated_cost_and_income() -> None:
    gpu = AssetRecord(
        kind="gpu",
        vendor="NVIDIA",
        model="H100 SXM5 80GB",
        serial="S1",
        purchase_price_usd=D(27_500),
        purchased_on=START,
        site="DC-1",
    )
    busy = appraise_gpu(gpu, START, utilisation=D("0.8"))
    # new and busy: the income value is above cost, so the cost caps it
    assert busy.value_usd == D(27_500) and busy.method.endswith(": cost")
    idle = appraise_gpu(gpu, START, utilisation=D("0.3"))
    # at 30% it cannot earn its cost back: the income value is the lower
    assert idle.value_usd < D(27_500) and idle.method.endswith(": income")
    assert idle.value_usd == income_value(GPU_MARKET["H100"], age_months=0, utilisation=D("0.3"))
    # 14 months on: straight line 27500 - 27500 x 0.85 x 14/48 = 20682.29 (rounded down)
    older = appraise_gpu(gpu, date(2027, 3, 1), utilisation=D("0.8"))
    assert older.age_months == 14 and older.value_usd == D("20682.29")


# --- cash-flow projection -----------------------------------------------------------------------------------


def test_leases_are_take_or_pay_and_on_demand_follows_utilisation_and_decline() -> None:
    costs = OperatingCosts(
        units=10, power_kw_per_unit=D(1), usd_per_kwh=D("0.08"), utilisation=D("0.5"), facility_usd_per_month=D(900)
    )
    lease = _lease(starts_on=add_months(START, 2), term=12, units=6)  # months 3-14
    spot = OnDemandCapacity(
        units=4, usd_per_gpu_hour=D("2.00"), utilisation=D("0.5"), rental_decline_per_year=D("0.36")
    )
    p = project_cash_flows(
        [lease], start=START, months=24, costs=costs, on_demand=spot, depreciation_usd_per_month=D(500)
    )
    contracted = [m.contracted_revenue_usd for m in p.months]
    assert contracted == [D(0)] * 2 + [D("9198.00")] * 12 + [D(0)] * 10  # 6 x 2.10 x 730
    # on demand: 4 x 2.00 x 730 x 0.5 = 2920.00 in month 1; 36% lower a year on (0.64 x 2920 = 1868.80)
    assert p.months[0].on_demand_revenue_usd == D("2920.00")
    assert p.months[12].on_demand_revenue_usd == D("1868.80")
    assert p.months[6].on_demand_revenue_usd == D("2336.00")  # half a year: sqrt(0.64) = 0.8
    # power: 10 x 1 kW x 730 x 0.5 x 0.08 = 292.00
    month3 = p.months[2]
    assert month3.power_usd == D("292.00") and month3.facility_usd == D("900.00")
    assert month3.revenue_usd == month3.contracted_revenue_usd + month3.on_demand_revenue_usd
    assert month3.net_operating_cash_flow_usd == month3.revenue_usd - D("1192.00")
    assert month3.net_income_usd == month3.net_operating_cash_flow_usd - D(500)
    assert p.total_net_income_usd == p.total_net_operating_cash_flow_usd - 24 * D(500)
    assert [m.starts_on for m in p.months[:3]] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def test_only_signed_contracts_count_and_the_sample_clusters_leases_end_on_time() -> None:
    raw = json.loads(resources.files("gaib_gpu").joinpath("data", "sample_cluster.json").read_text())
    contracts = [CustomerContract.model_validate(c) for c in raw["contracts"]]
    # Helix pays 61,320 from 2025-10-01 for 48 months, Aurora 39,420 from 2025-11-01 for 36 months
    p = project_cash_flows(contracts, start=date(2026, 11, 25), months=13, costs=H100_COSTS)
    assert [m.contracted_revenue_usd for m in p.months] == [D("100740.00")] * 13
    # months start on the 25th: Aurora's last is 2028-10-25, Helix's 2029-09-25
    p = project_cash_flows(contracts, start=date(2028, 9, 25), months=3, costs=H100_COSTS)
    assert [m.contracted_revenue_usd for m in p.months] == [D("100740.00")] * 2 + [D("61320.00")]
    p = project_cash_flows(contracts, start=date(2029, 8, 25), months=3, costs=H100_COSTS)
    assert [m.contracted_revenue_usd for m in p.months] == [D("61320.00")] * 2 + [D(0)]
    # a contract signed after the start does not count
    before = project_cash_flows(contracts, start=date(2025, 10, 1), months=3, costs=H100_COSTS)
    assert [m.contracted_revenue_usd for m in before.months] == [D("61320.00")] * 3
    with pytest.raises(GaibValueError, match="at least 1 month"):
        project_cash_flows(contracts, start=START, months=0, costs=H100_COSTS)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


# --- metrics ------------------------------------------------------------------------------------------------


def test_irr_matches_closed_forms() -> None:
    # an annuity: P = A (1 - (1 + r) ** -n) / r at r = 1% a month, n = 36, A = 1000 -> 30107.50...
    price = 1000 * (1 - 1.01**-36) / 0.01
    assert irr([-price] + [1000.0] * 36) == pytest.approx(1.01**12 - 1, abs=1e-12)  # 12.6825% a year
    # 100 now, 110 in a year: 10%
    assert irr([D(-100)] + [D(0)] * 11 + [D(110)]) == pytest.approx(0.10, abs=1e-12)
    # yearly periods: -100, 0, 121 -> 10% a year; -100, 300 -> 200%; -100, 50 -> -50%
    assert irr([-100, 0, 121], periods_per_year=1) == pytest.approx(0.10, abs=1e-12)
    assert irr([-100, 300], periods_per_year=1) == pytest.approx(2.0, abs=1e-12)
    assert irr([-100, 50], periods_per_year=1) == pytest.approx(-0.5, abs=1e-12)
    # a loss that takes years: 100 out, 0.50 a month back for ten years
    r = irr([-100] + [0.5] * 120)
    assert r is not None and r < 0
    assert npv((1 + r) ** (1 / 12) - 1, [-100] + [0.5] * 120) == pytest.approx(0, abs=1e-9)
    # flows that never change sign have no IRR
    assert irr([100, 10, 10]) is None
    assert irr([-100, -10]) is None
    assert irr([]) is None


def test_payback_roi_and_dscr() -> None:
    assert payback_months(D(100), [D(30), D(30), D(30), D(30)]) == D("3.33")
    assert payback_months(D(100), [D(-50), D(100), D(100)]) == D("2.50")
    assert payback_months(D(100), [D(10)] * 5) is None
    assert annualised_roi(D(1000), [D(50), D(150)]) == D("1.2000")
    assert dscr(D(1250), D(1000)) == D("1.25")
    with pytest.raises(GaibValueError, match="investment 0 USDC must be positive"):
        payback_months(D(0), [D(1)])
    with pytest.raises(GaibValueError, match="debt service 0 USDC must be positive"):
        dscr(D(1), D(0))
    with pytest.raises(GaibValueError, match="at least one month"):
        annualised_roi(D(1), [])


def test_deal_metrics_with_a_schedule_and_a_terminal_value() -> None:
    projection = project_cash_flows([_lease()], start=START, months=36, costs=H100_COSTS)
    schedule = build_schedule(D(18_000), PricingTerms(), projection)
    m = deal_metrics(D(25_000), projection, schedule=schedule, terminal_value_usd=D(3_750))
    # 1492.12 / 934.931508 (750 of principal + 177.534247 interest + 7.397261 fees in the first period)
    assert m.dscr_min == D("1.60") and m.dscr_average is not None and m.dscr_average >= m.dscr_min
    without = deal_metrics(D(25_000), projection).irr
    assert m.irr is not None and without is not None and m.irr > without


def test_payment_record_counts_late_and_missed_payments() -> None:
    due = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)]
    contract = CustomerContract(
        customer="Aurora",
        signed_on=date(2025, 12, 1),
        starts_on=START,
        term_months=12,
        monthly_revenue_usd=D(1000),
        payments=[
            Payment(due_on=due[0], amount_usd=D(1000), paid_on=date(2026, 1, 3)),  # on time (2 days)
            Payment(due_on=due[1], amount_usd=D(1000), paid_on=date(2026, 3, 20)),  # late (47 days)
            Payment(due_on=due[2], amount_usd=D(1000)),  # missed (unpaid, 61 days past due)
            Payment(due_on=due[3], amount_usd=D(1000)),  # pending (30 days: within grace)
            Payment(due_on=due[4], amount_usd=D(1000)),  # due today: pending
        ],
    )
    record = payment_record([contract], date(2026, 5, 1))
    assert (record.payments, record.on_time, record.late, record.missed, record.pending) == (5, 1, 1, 1, 2)
    assert record.max_days_late == 61
    # the sample cluster: 26 payments, all within 30 days, the worst 12 days late
    raw = json.loads(resources.files("gaib_gpu").joinpath("data", "sample_cluster.json").read_text())
    sample = payment_record([CustomerContract.model_validate(c) for c in raw["contracts"]], date(2026, 11, 25))
    assert (sample.payments, sample.on_time, sample.late, sample.missed, sample.max_days_late) == (26, 26, 0, 0, 12)


# --- pricing ------------------------------------------------------------------------------------------------


# The convention (docs/underwriting.md, "One convention"), worked by hand for 18,000 USDC at 12% a year,
# fees 0.5%, over the first 30-day period (2,592,000 s; the chain's year is 31,536,000 s):
#   interest = ceil(18,000,000,000 units x 1200 x 2,592,000 / (10,000 x 31,536,000))
#            = ceil(55,987,200,000,000,000,000 / 315,360,000,000) = ceil(177,534,246.58) = 177,534,247 units
#   fees     = ceil(18,000,000,000 x 50 x 2,592,000 / 315,360,000,000) = ceil(7,397,260.27) = 7,397,261 units
# The old rate / 12 gave 180.00 of interest: 180 / 177.534247 = 1.0139, issue 12's 1.4%.
U = 10**6  # USDC units in one USDC
PERIOD = 2_592_000
YEAR = 31_536_000


def _hand_accrual(principal_units: int, bps: int, seconds: int) -> int:
    # ceil(a / b) for positive integers, written independently of the engine's helper
    a, b = principal_units * bps * seconds, 10_000 * YEAR
    return a // b + (1 if a % b else 0)


def test_the_first_period_accrues_simple_actual_365_rounded_up_in_usdc_units() -> None:
    assert accrued_units(18_000 * U, 1200, PERIOD) == 177_534_247
    assert accrued_units(18_000 * U, 50, PERIOD) == 7_397_261
    assert accrued_units(18_000 * U, 1200, 0) == 0
    # a whole year of 365 days at 12% on 1 USDC is exactly 0.12: no rounding when the division is exact
    assert accrued_units(U, 1200, YEAR) == 120_000
    # one second on 1 unit at 1 bp is far below a unit and still rounds up to 1, as the chain's mulDiv(Ceil)
    assert accrued_units(1, 1, 1) == 1


def test_a_fixed_rate_schedule_pays_level_principal_and_the_lender_earns_rate_plus_fees() -> None:
    s = build_schedule(D(18_000), PricingTerms(rate_bps=1200, fee_bps=50, term_months=24))
    assert len(s.lines) == 24
    # level principal 18,000 / 24 = 750.00; period 1 by hand (above): 177.534247 interest, 7.397261 fees
    first = s.lines[0]
    assert (first.principal_usd, first.interest_usd, first.fees_usd) == (D(750), D("177.534247"), D("7.397261"))
    assert first.payment_usd == D("934.931508") and first.due_offset_s == PERIOD
    # period 2 on 17,250: ceil(17,250,000,000 x 1200 x 2,592,000 / 315,360,000,000) = ceil(170,136,986.3)
    assert s.lines[1].interest_usd == D("170.136987")
    assert sum(line.principal_usd for line in s.lines) == D(18_000)
    assert s.lines[-1].closing_balance_usd == 0 and s.lines[-1].due_offset_s == 720 * 86_400
    assert all(a.closing_balance_usd == b.opening_balance_usd for a, b in zip(s.lines, s.lines[1:], strict=False))
    # paying 12.5% simple on the balance every 30 days, the lender earns (1 + 0.125 x 30 / 365) ** (365 / 30) - 1
    # = 13.24% a year (the 24 roundings up of a unit or less move it by under 1e-7)
    assert s.lender_irr == pytest.approx((1 + 0.125 * 30 / 365) ** (365 / 30) - 1, abs=1e-6)
    zero = build_schedule(D(1_200), PricingTerms(rate_bps=0, fee_bps=0, term_months=12))
    assert {line.payment_usd for line in zero.lines} == {D(100)}
    assert zero.lender_irr == pytest.approx(0, abs=1e-12)
    # an advance that 24 does not divide: floor(1,000,000,001 / 24) = 41,666,666 units, the last clears the rest
    odd = chain_schedule(1_000_000_001, PricingTerms(term_months=24))
    assert {i.principal_units for i in odd[:-1]} == {41_666_666}
    assert odd[-1].principal_units == 1_000_000_001 - 23 * 41_666_666 == 41_666_683


@pytest.mark.parametrize("structure", ["fixed", "revenue_share", "hybrid"])
def test_each_structure_over_a_whole_deal_repays_the_advance_and_accrues_actual_365(structure: str) -> None:
    # a 1095-day on-chain term: 36 periods of 30 days and a last one of 15 days (37 installments)
    share = {"fixed": 0, "revenue_share": 6000, "hybrid": 2000}[structure]
    terms = DealTerms(structure=structure, rate_bps=1400, revenue_share_bps=share, fee_bps=75, term_days=1095)
    advance = 1_234_567_891_234  # 1,234,567.891234 USDC
    revenue = [(40_000 + 1_000 * k) * U for k in range(37)]
    lines = chain_schedule(advance, terms, revenue)
    assert len(lines) == 37
    assert [i.due_offset_s for i in lines] == [min(30 * k, 1095) * 86_400 for k in range(1, 38)]
    assert lines[-1].period_s == 15 * 86_400
    assert sum(i.principal_units for i in lines) == advance
    balance = advance
    for i in lines:
        assert i.principal_before_units == balance  # interest never joins the principal
        assert i.interest_units == _hand_accrual(balance, 1400, i.period_s)
        assert i.fees_units == _hand_accrual(balance, 75, i.period_s)
        balance -= i.principal_units
    # interest is the actual/365 accrual on the principal outstanding, to within one unit of rounding a period
    exact = sum(i.principal_before_units * 1400 * i.period_s for i in lines) / (10_000 * YEAR)
    assert 0 <= sum(i.interest_units for i in lines) - exact < len(lines)
    if structure == "revenue_share":
        assert all(i.kicker_units == 0 for i in lines)
        # 60% of period 1's 40,000 USDC = 24,000 pays fees and interest, the rest principal
        assert lines[0].due_units == 24_000 * U
    elif structure == "hybrid":
        # the kicker is 20% of each period's revenue, on top of the fixed schedule: 8,000 USDC in period 1
        assert [i.kicker_units for i in lines[:2]] == [8_000 * U, 8_200 * U]
        assert {i.principal_units for i in lines[:-1]} == {advance // 37}
    else:
        assert {i.principal_units for i in lines[:-1]} == {advance // 37}


def test_a_revenue_share_pays_through_the_waterfall_and_balloons_at_maturity() -> None:
    projection = project_cash_flows([_lease()], start=START, months=36, costs=H100_COSTS)
    terms = PricingTerms(structure="revenue_share", revenue_share_bps=6000, rate_bps=1400, term_months=24)
    s = build_schedule(D(18_000), terms, projection)
    # 60% of 1533.00 = 919.80 a period: fees 7.397261 (above), interest ceil(18,000,000,000 x 1400 x 2,592,000
    # / 315,360,000,000) = ceil(207,123,287.7) = 207.123288, the rest principal 919.80 - 214.520549 = 705.279451
    first = s.lines[0]
    assert (first.payment_usd, first.fees_usd, first.interest_usd, first.principal_usd) == (
        D("919.80"),
        D("7.397261"),
        D("207.123288"),
        D("705.279451"),
    )
    paid_off = next(line.month for line in s.lines if line.closing_balance_usd == 0)
    assert paid_off < 24 and all(line.payment_usd == 0 for line in s.lines[paid_off:])
    assert s.lender_irr == pytest.approx((1 + 0.145 * 30 / 365) ** (365 / 30) - 1, abs=2e-5)

    # a thin lease leaves a balance: due in full at the last date
    thin = project_cash_flows([_lease("0.50")], start=START, months=12, costs=H100_COSTS)
    s = build_schedule(D(18_000), terms.model_copy(update={"term_months": 12}), thin)
    assert s.lines[0].payment_usd == D("219.00")  # 60% of 0.50 x 730
    assert s.lines[-1].payment_usd > D(10_000) and s.lines[-1].closing_balance_usd == 0


def test_a_revenue_share_never_compounds_a_share_too_small_for_the_interest_is_topped_up_to_it() -> None:
    # 60% of 0.10 x 730 = 43.80 a period, below the 214.520549 of fees and interest: those are due anyway (the
    # interest-only floor), nothing is added to the balance, and every period accrues on the same 18,000
    tiny = project_cash_flows([_lease("0.10")], start=START, months=12, costs=H100_COSTS)
    terms = PricingTerms(structure="revenue_share", revenue_share_bps=6000, rate_bps=1400, term_months=12)
    s = build_schedule(D(18_000), terms, tiny)
    assert all(line.opening_balance_usd == D(18_000) for line in s.lines)
    assert {(line.interest_usd, line.fees_usd) for line in s.lines} == {(D("207.123288"), D("7.397261"))}
    assert all(line.principal_usd == 0 for line in s.lines[:-1]) and s.lines[-1].principal_usd == D(18_000)
    # total interest: 12 x 207.123288, simple; compounding monthly would have earned more
    assert sum(line.interest_usd for line in s.lines) == 12 * D("207.123288")
    # with no revenue at all the schedule is the same: the floor, then the balloon
    lines = chain_schedule(18_000 * U, terms, [0] * 12)
    assert [i.interest_units for i in lines] == [207_123_288] * 12
    assert lines[-1].principal_units == 18_000 * U


def test_a_hybrid_is_a_lower_fixed_rate_plus_a_smaller_revenue_share() -> None:
    projection = project_cash_flows([_lease()], start=START, months=36, costs=H100_COSTS)
    fixed = build_schedule(D(18_000), PricingTerms(rate_bps=1200), projection)
    hybrid_terms = PricingTerms(structure="hybrid", rate_bps=800, revenue_share_bps=1000)
    hybrid = build_schedule(D(18_000), hybrid_terms, projection)
    assert {line.revenue_share_usd for line in hybrid.lines} == {D("153.30")}  # 10% of 1533.00
    # ceil(18,000,000,000 x 800 x 2,592,000 / 315,360,000,000) = ceil(118,356,164.4)
    assert hybrid.lines[0].interest_usd == D("118.356165")
    assert sum(line.principal_usd for line in hybrid.lines) == D(18_000)
    assert {line.principal_usd for line in hybrid.lines} == {D(750)}  # the kicker is not principal
    assert hybrid.lender_irr is not None and fixed.lender_irr is not None
    base_only = build_schedule(D(18_000), PricingTerms(rate_bps=800), projection)
    assert base_only.lender_irr is not None and hybrid.lender_irr > base_only.lender_irr


def test_a_term_of_m_months_is_30_m_days_and_the_due_dates_follow() -> None:
    assert due_offsets(90) == [30 * 86_400, 60 * 86_400, 90 * 86_400]
    # 730 days: 24 periods of 30 days and a 25th of 10 days, the last due date on day 730
    assert len(due_offsets(730)) == 25 and due_offsets(730)[-2:] == [720 * 86_400, 730 * 86_400]
    assert PricingTerms(term_months=24).days == 720 and PricingTerms(term_months=24).installments == 24
    long = PricingTerms(term_months=36, term_days=1095)
    assert (long.days, long.installments) == (1095, 37)
    with pytest.raises(ValidationError, match="term_days 700 is 24 months of 30 days, not term_months 12"):
        PricingTerms(term_months=12, term_days=700)


@pytest.mark.parametrize(
    ("terms", "match"),
    [
        ({"term_months": 2}, "term_months 2 is outside 3-36"),
        ({"term_months": 37}, "term_months 37 is outside 3-36"),
        ({"structure": "revenue_share", "revenue_share_bps": 4000}, "4000 is outside 5000-7000"),
        ({"structure": "revenue_share", "revenue_share_bps": 7500}, "less than or equal to 7000"),
        ({"structure": "hybrid", "revenue_share_bps": 5000}, "must be above 0 and below 5000"),
        ({"structure": "hybrid"}, "must be above 0 and below 5000"),
        ({"revenue_share_bps": 1000}, "a fixed-rate deal takes no revenue share"),
        ({"reserve": 5}, "Extra inputs are not permitted"),
    ],
)
def test_pricing_terms_are_validated(terms: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        PricingTerms.model_validate(terms)


def test_terms_of_3_and_36_months_are_allowed_and_map_to_the_chain() -> None:
    # a month is 30 days: 3 months = 90 days (the chain's minimum), 36 months = 1080 days
    assert to_deal_terms(PricingTerms(term_months=3)).term_days == 90
    assert to_deal_terms(PricingTerms(term_months=36)).term_days == 1080
    shared = to_deal_terms(PricingTerms(structure="revenue_share", revenue_share_bps=6000, term_months=24))
    assert (shared.structure, shared.revenue_share_bps, shared.term_days) == ("revenue_share", 6000, 720)
    # the CreditFacility records hybrids (Structure.Hybrid): the engine's hybrid maps to it
    hybrid = to_deal_terms(PricingTerms(structure="hybrid", revenue_share_bps=1000))
    assert (hybrid.structure, hybrid.revenue_share_bps, hybrid.term_days) == ("hybrid", 1000, 720)
    # and back: a 1095-day deal is 37 installments, the last 15 days after the 36th
    back = pricing_terms(DealTerms(term_days=1095))
    assert (back.term_months, back.term_days, back.installments) == (36, 1095, 37)
    assert pricing_terms(DealTerms(term_days=720)) == PricingTerms(term_months=24)
    assert to_deal_terms(back).term_days == 1095


def test_schedules_that_follow_revenue_need_a_long_enough_projection() -> None:
    terms = PricingTerms(structure="revenue_share", revenue_share_bps=6000)
    with pytest.raises(GaibValueError, match="needs the projected gross revenue"):
        build_schedule(D(1_000), terms)
    short = project_cash_flows([_lease()], start=START, months=12, costs=H100_COSTS)
    with pytest.raises(GaibValueError, match="12 months, fewer than the 24-month term"):
        build_schedule(D(1_000), terms, short)
    with pytest.raises(GaibValueError, match="must be positive"):
        build_schedule(D(0), PricingTerms())


def test_priority_repayment_pays_the_lender_and_refills_the_reserve_before_the_borrower() -> None:
    # the lease starts in month 3: months 1 and 2 earn nothing, so the reserve and then arrears carry them
    lease = _lease(starts_on=add_months(START, 2))
    projection = project_cash_flows([lease], start=START, months=24, costs=H100_COSTS)
    schedule = build_schedule(D(18_000), PricingTerms(), projection)
    assert schedule.reserve_usd == D("1188.00")  # 6.6% of 18,000
    w = apply_waterfall(schedule, projection)
    m1, m2, m3, m4, m5, m6 = w.months[:6]
    # period 1 owes 750 + 177.534247 + 7.397261 = 934.931508, all from the reserve (253.068492 left)
    assert (m1.drawn_from_reserve_usd, m1.reserve_balance_usd, m1.arrears_usd) == (
        D("934.931508"),
        D("253.068492"),
        D(0),
    )
    # period 2 owes 927.226029 (interest falls with the balance): the reserve's last 253.068492, then arrears
    m2_figures = (m2.drawn_from_reserve_usd, m2.reserve_balance_usd, m2.arrears_usd)
    assert m2_figures == (D("253.068492"), D(0), D("674.157537"))
    # period 3: 1492.12 against 919.520549 + 674.157537 = 1593.678086 leaves 101.558086 of arrears (no interest)
    m3_figures = (m3.due_usd, m3.paid_from_operations_usd, m3.arrears_usd)
    assert m3_figures == (D("1593.678086"), D("1492.12"), D("101.558086"))
    assert m3.reserve_top_up_usd == 0 and m3.borrower_distribution_usd == 0
    # period 4: 911.815069 + 101.558086 paid; the 478.746845 left all goes to the reserve
    assert (m4.reserve_top_up_usd, m4.borrower_distribution_usd) == (D("478.746845"), D(0))
    # period 5: 1492.12 - 904.10959 = 588.01041 to the reserve (1066.757255)
    assert (m5.reserve_top_up_usd, m5.reserve_balance_usd) == (D("588.01041"), D("1066.757255"))
    # period 6: 1492.12 - 896.404111 = 595.715889: 121.242745 fills the reserve, the borrower gets 474.473144
    assert (m6.reserve_top_up_usd, m6.reserve_balance_usd, m6.borrower_distribution_usd) == (
        D("121.242745"),
        D("1188.00"),
        D("474.473144"),
    )
    assert w.lender_paid_usd == schedule.total_payments_usd and w.arrears_usd == 0
    for month in w.months:
        if month.borrower_distribution_usd > 0:
            assert month.arrears_usd == 0 and month.reserve_balance_usd == schedule.reserve_usd
    cash = sum((m.cash_available_usd for m in w.months), D(0))
    assert cash == w.borrower_distributions_usd + w.lender_paid_usd - schedule.reserve_usd + w.reserve_balance_usd


# --- stress tests -------------------------------------------------------------------------------------------


def test_standard_scenarios_on_a_sound_deal() -> None:
    results = {r.scenario: r for r in run_scenarios(_case())}
    assert [r.scenario for r in run_scenarios(_case())] == [s.name for s in STANDARD_SCENARIOS]
    base = results["base"]
    # 1492.12 / 934.931508 (the first period, the largest payment) = 1.596
    assert base.loss_usd == 0 and base.defaulted_month is None and base.dscr_min == D("1.60")
    assert base.lender_paid_usd == build_schedule(D(18_000), PricingTerms()).total_payments_usd
    # take-or-pay leases: a utilisation drop only lowers the power bill here: (1533 - 25.55) / 934.931508 = 1.612
    assert results["utilisation 30 points lower"].dscr_min == D("1.61")
    lost = results["a quarter of contracted revenue lost, re-let after 3 months"]
    assert lost.loss_usd == 0 and lost.dscr_min is not None and lost.dscr_min < base.dscr_min
    # a default at month 6: 5 payments made, the balance then (18,000 - 5 x 750 = 14,250.00) recovered from the
    # reserve and the collateral (1188 + 25,000 x 0.8 ** (5 / 12) x 0.6 = 14,856.22)
    default = results["borrower default at month 6, 40% haircut"]
    assert default.defaulted_month == 6 and default.owed_at_default_usd == D("14250.00")
    assert default.recovered_usd == default.owed_at_default_usd and default.loss_usd == 0
    severe = results["severe: rent -30%/yr more, utilisation -30 points, default at month 9, 50% haircut"]
    assert severe.loss_usd > 0 and severe.lender_irr is not None and severe.lender_irr < 0


def test_a_deal_is_refused_when_a_scenario_loses_too_much() -> None:
    # one customer and no capacity sold by the hour: if it leaves, nothing is re-let and only the reserve and the
    # collateral pay the lender (issue 13: losing signed customers moves the loss)
    with pytest.raises(UnderwritingError) as exc:
        check_scenarios(_case(), max_loss_rate=D("0.05"))
    assert str(exc.value).startswith(
        "stressed loss too high: scenario 'the top customer leaves, re-let after 3 months' loses 7923.64 USDC, "
        "44.02% of funded 18000 USDC"
    )
    kept = [s for s in STANDARD_SCENARIOS if not s.customers_lost]
    with pytest.raises(UnderwritingError) as exc:
        check_scenarios(_case(), max_loss_rate=D("0.05"), scenarios=kept)
    assert exc.value.rule == "stressed_loss"
    assert str(exc.value) == (
        "stressed loss too high: scenario 'severe: rent -30%/yr more, utilisation -30 points, default at month 9, "
        "50% haircut' loses 2319.50 USDC, 12.89% of funded 18000 USDC (limit 5%: 900)"
    )
    # 8 periods paid, 18,000 - 8 x 750 = 12,000 owed; recovered 1188 + 25,000 x (0.8 x 0.7) ** (8 / 12) x 0.5
    # = 9680.50, so 2319.50 lost
    assert len(check_scenarios(_case(), max_loss_rate=D("0.20"), scenarios=kept)) == len(kept)
    # more cover passes at 5%: the same deal advancing 12,000 against 25,000
    assert check_scenarios(_case(funded_usd=D(12_000)), max_loss_rate=D("0.05"), scenarios=kept)[-1].loss_usd == 0


def test_rental_decline_and_utilisation_hit_the_on_demand_share_and_arrears_become_a_default() -> None:
    spot = OnDemandCapacity(units=1, usd_per_gpu_hour=D("2.25"), utilisation=D("0.8"), rental_decline_per_year=D("0.2"))
    case = _case(contracts=[], on_demand=spot)
    base = stress_deal(case, StressScenario(name="base"))
    assert base.loss_usd == 0
    crash = stress_deal(
        case,
        StressScenario(
            name="crash", rental_decline_per_year=D("0.6"), utilisation_drop=D("0.5"), recovery_haircut=D("0.5")
        ),
    )
    # cash falls short of the 934.93 of the first periods: arrears remain at maturity and the collateral is sold then
    assert crash.defaulted_month == 24 and crash.owed_at_default_usd > 0
    assert crash.dscr_min is not None and crash.dscr_min < 1
    assert crash.lender_paid_usd < base.lender_paid_usd
    # a default after the term is no default
    late = stress_deal(case, StressScenario(name="late", default_month=30))
    assert late.defaulted_month is None and late.loss_usd == 0


def _portfolio(pd: float = 0.05, n: int = 50) -> list[LoanRisk]:
    # 1M lent against 1.33M, sold 50% below value: loss given default 1,000,000 - 665,000 = 335,000
    return [
        LoanRisk(
            name=f"deal {i}",
            exposure_usd=1e6,
            collateral_value_usd=1.33e6,
            annual_rate=0.12,
            default_probability=pd,
            recovery_haircut=0.5,
        )
        for i in range(n)
    ]


def test_monte_carlo_is_reproducible_with_a_seed() -> None:
    loans = _portfolio()
    a = simulate_portfolio(loans, correlation=0.2, paths=5_000, seed=7)
    b = simulate_portfolio(loans, correlation=0.2, paths=5_000, seed=7)
    c = simulate_portfolio(loans, correlation=0.2, paths=5_000, seed=8)
    assert a == b
    assert a != c


def test_more_correlation_fattens_the_loss_tail_at_the_same_default_probability() -> None:
    loans = _portfolio()
    expected = 50 * 0.05 * 335_000  # 837,500
    runs = {rho: simulate_portfolio(loans, correlation=rho, paths=20_000, seed=1) for rho in (0.0, 0.2, 0.5)}
    for r in runs.values():
        assert r.expected_loss_usd == pytest.approx(expected, rel=0.05)
        assert r.mean_defaults == pytest.approx(2.5, rel=0.05)
        assert r.exposure_usd == r.assets_usd == 50e6
        # the book's mean yield: 12% on performing loans (a defaulted one pays until its default, half the
        # year on average) less losses, about 12% x (0.95 + 0.05 / 2) - 837,500 / 50M = 10.03%
        assert r.mean_portfolio_yield == pytest.approx(0.12 * 0.975 - expected / 50e6, abs=0.002)
    tails = [runs[rho].loss_percentiles_usd[99.0] for rho in (0.0, 0.2, 0.5)]
    assert tails[0] < tails[1] < tails[2]
    assert runs[0.5].loss_percentiles_usd[99.9] > 3 * runs[0.0].loss_percentiles_usd[99.9]
    assert runs[0.5].portfolio_yield_percentiles[1.0] < runs[0.0].portfolio_yield_percentiles[1.0]
    # the same deals pass independent and are refused correlated, at a 5% limit on the 99th percentile
    check_stressed_loss(runs[0.0], percentile=99.0, max_loss_rate=0.05)
    with pytest.raises(UnderwritingError, match=r"loss at percentile 99 over 1 year\(s\) is \d+ USDC") as exc:
        check_stressed_loss(runs[0.5], percentile=99.0, max_loss_rate=0.05)
    assert exc.value.rule == "stressed_loss" and "of exposure 50000000 USDC (limit 5%: 2500000)" in str(exc.value)


def test_monte_carlo_edge_cases_and_a_single_deal_refused() -> None:
    safe = simulate_portfolio(
        _portfolio(pd=0.0, n=3), correlation=0.3, paths=1_000, seed=1, cash_usd=1e6, treasury_yield=0.04
    )
    assert safe.expected_loss_usd == 0 and safe.probability_of_loss == 0
    # (3 x 1M x 12% + 1M x 4%) / 4M = 10%
    assert safe.mean_portfolio_yield == pytest.approx(0.10)
    # three loans are too few for a percentile: none is reported, and the result says why
    assert safe.portfolio_yield_percentiles == {} and safe.loss_percentiles_usd == {}
    assert safe.percentiles_note is not None and "3 loan(s), 3.0 effective: too few" in safe.percentiles_note
    # one deal: 75 lent against 100 sold 50% below value loses 25 when it defaults
    risky = LoanRisk(
        exposure_usd=75, collateral_value_usd=100, annual_rate=0.12, default_probability=0.03, recovery_haircut=0.5
    )
    result = simulate_portfolio([risky], correlation=0.0, paths=10_000, seed=3)
    assert result.probability_of_loss == pytest.approx(0.03, abs=0.01)
    # one loan: its loss is 0 or 25, so no percentile is reported; its loss per default and worst loss are
    assert result.max_loss_usd == 25 and result.mean_loss_given_default_usd == pytest.approx(25)
    with pytest.raises(GaibValueError, match=r"no loss percentile to hold to a limit: 1 loan\(s\), 1.0 effective"):
        check_stressed_loss(result, percentile=99.0, max_loss_rate=0.05)
    twenty = simulate_portfolio([risky.model_copy(update={"name": str(i)}) for i in range(20)], correlation=0.0, seed=3)
    with pytest.raises(UnderwritingError) as exc:
        check_stressed_loss(twenty, percentile=99.9, max_loss_rate=0.05)
    assert str(exc.value) == (
        "stressed loss too high: the loss at percentile 99.9 over 1 year(s) is 100 USDC, 6.67% of exposure 1500 USDC "
        "(limit 5%: 75)"
    )
    # sold only 20% below value, the collateral covers it: no loss at any percentile
    covered = risky.model_copy(update={"recovery_haircut": 0.2})
    check_stressed_loss(simulate_portfolio([covered] * 20, correlation=0.0, paths=10_000, seed=3))
    with pytest.raises(GaibValueError, match=r"percentile 97.5 was not simulated"):
        check_stressed_loss(twenty, percentile=97.5)
    with pytest.raises(GaibValueError, match="correlation 1.5 must be between 0 and 1"):
        simulate_portfolio([risky], correlation=1.5)
    with pytest.raises(GaibValueError, match="at least one loan"):
        simulate_portfolio([], correlation=0.1)
    # perfectly correlated: everyone defaults together or no one does
    together = simulate_portfolio(_portfolio(pd=0.1, n=10), correlation=1.0, paths=5_000, seed=2)
    assert together.loss_percentiles_usd[50.0] == 0 and together.loss_percentiles_usd[99.0] == 10 * 335_000
    assert not math.isnan(together.mean_portfolio_yield)


def test_a_deal_case_becomes_a_monte_carlo_loan() -> None:
    loan = loan_risk(_case(), default_probability=0.04, recovery_haircut=0.4, name="H100 lease")
    assert (loan.exposure_usd, loan.collateral_value_usd, loan.annual_rate) == (18_000, 25_000, 0.12)
    assert loan.reserve_usd == 1188.0
    # 18,000 - 25,000 x 0.6 - 1,188 = 1,812 lost if it defaults
    assert loan.loss_given_default_usd == pytest.approx(1812)


def test_an_amortising_balance_loses_less_than_a_bullet_and_defaults_pay_interest_until_then() -> None:
    # a sure default, no collateral: a bullet loses all of its 1M; a loan repaid in a straight line over the
    # year owes 1M x (1 - t) at a uniform default time t, half of it on average
    bullet = LoanRisk(
        exposure_usd=1e6, collateral_value_usd=0, annual_rate=0.1, default_probability=1, recovery_haircut=1
    )
    level = bullet.model_copy(update={"amortisation": "level", "remaining_years": 1.0})
    assert level.balance_at(0.25) == 750_000 and bullet.balance_at(0.25) == 1e6
    b = simulate_portfolio([bullet], correlation=0.0, paths=20_000, seed=1)
    lv = simulate_portfolio([level], correlation=0.0, paths=20_000, seed=1)
    assert b.expected_loss_usd == 1e6 and lv.expected_loss_usd == pytest.approx(500_000, rel=0.01)
    # interest accrues until the default: 10% on the bullet for half a year on average; on the level loan
    # 10% x (t - t^2 / 2), 1/3 of a year's interest on average; the yield is on the average balance as
    # scheduled: 1M for the bullet, 500,000 for the level loan
    assert b.mean_portfolio_yield == pytest.approx((50_000 - 1e6) / 1e6, rel=0.01)
    assert lv.average_exposure_usd == 500_000 and b.average_exposure_usd == 1e6
    assert lv.mean_portfolio_yield == pytest.approx((100_000 / 3 - 500_000) / 500_000, rel=0.01)
    with pytest.raises(ValidationError, match="needs remaining_years"):
        LoanRisk(
            exposure_usd=1,
            collateral_value_usd=0,
            annual_rate=0,
            default_probability=0,
            recovery_haircut=0,
            amortisation="level",
        )


def test_collateral_is_marked_along_the_rent_path_that_made_the_borrower_default() -> None:
    # 50 loans of 1M against 1.33M sold 50% below value. With rents fixed, correlation changes the tail but
    # not the expected loss; with rents volatile and the collateral worth what it earns, defaults come on
    # the paths where rents fell, the collateral is worth less then, and correlation raises the expected loss
    loans = [loan.model_copy(update={"rent_sensitivity": 1.0}) for loan in _portfolio()]
    fixed = {rho: simulate_portfolio(loans, correlation=rho, paths=20_000, seed=4) for rho in (0.0, 0.5)}
    moving = {
        rho: simulate_portfolio(loans, correlation=rho, paths=20_000, seed=4, rent_volatility=0.5) for rho in (0.0, 0.5)
    }
    assert fixed[0.5].expected_loss_usd == pytest.approx(fixed[0.0].expected_loss_usd, rel=0.05)
    assert moving[0.5].expected_loss_usd > 1.1 * moving[0.0].expected_loss_usd
    assert moving[0.5].mean_loss_given_default_usd is not None and fixed[0.5].mean_loss_given_default_usd is not None
    assert moving[0.5].mean_loss_given_default_usd > 1.1 * fixed[0.5].mean_loss_given_default_usd
    # hardware whose value ignores rents is not hit: the same as fixed rents
    deaf = simulate_portfolio(_portfolio(), correlation=0.5, paths=20_000, seed=4, rent_volatility=0.5)
    assert deaf.expected_loss_usd == pytest.approx(fixed[0.5].expected_loss_usd, rel=0.05)
    # collateral that loses value by the year: more is lost per default
    aging = [loan.model_copy(update={"collateral_decline_per_year": 0.3}) for loan in _portfolio()]
    aged = simulate_portfolio(aging, correlation=0.5, paths=20_000, seed=4)
    assert aged.mean_loss_given_default_usd is not None
    assert aged.mean_loss_given_default_usd > fixed[0.5].mean_loss_given_default_usd


def test_said_is_the_first_loss_capital_and_its_return_is_not_the_books_yield() -> None:
    # 50M of loans paying 12%, sAID's 5M absorbing the losses first; no Treasury-bill income is assumed
    loans = _portfolio()
    r = simulate_portfolio(loans, correlation=0.5, paths=20_000, seed=1, first_loss_usd=5e6, cash_usd=2e6)
    assert r.first_loss_usd == 5e6 and r.mean_first_loss_return is not None
    # sAID earns the book's interest on its 5M: about 10x the book's yield per dollar, and loses first
    assert r.mean_first_loss_return == pytest.approx(r.mean_portfolio_yield * 52e6 / 5e6, rel=0.05)
    assert r.first_loss_return_percentiles[1.0] < r.portfolio_yield_percentiles[1.0]
    assert r.probability_first_loss_exhausted is not None and 0 < r.probability_first_loss_exhausted < 0.05
    assert r.expected_loss_beyond_first_loss_usd is not None and r.expected_loss_beyond_first_loss_usd > 0
    # the cash earns nothing unless the caller says it does
    assert r.mean_portfolio_yield == pytest.approx(
        simulate_portfolio(loans, correlation=0.5, paths=20_000, seed=1).mean_portfolio_yield * 50 / 52
    )
    with pytest.raises(GaibValueError, match="first-loss capital 0 USDC must be positive"):
        simulate_portfolio(loans, correlation=0.5, first_loss_usd=0)


def test_the_first_loss_capital_is_held_to_basels_one_year_in_a_thousand() -> None:
    # 50 loans of 1M; sAID's 5M wiped out (losses net of interest above it) on some correlated paths
    loans = _portfolio()
    thin = simulate_portfolio(loans, correlation=0.5, paths=20_000, seed=1, first_loss_usd=5e6)
    assert thin.probability_first_loss_exhausted is not None and thin.probability_first_loss_exhausted > 0.001
    with pytest.raises(UnderwritingError, match=r"wipe out sAID's 5000000 USDC on [\d.]+% of 20000") as exc:
        check_first_loss(thin)
    assert exc.value.rule == "first_loss" and "(0.10% a year)" in str(exc.value)
    thick = simulate_portfolio(loans, correlation=0.5, paths=20_000, seed=1, first_loss_usd=20e6)
    check_first_loss(thick)
    with pytest.raises(GaibValueError, match="no first-loss capital"):
        check_first_loss(simulate_portfolio(loans, correlation=0.5, paths=100, seed=1))
    # a quote given sAID's assets: a deal larger than them is refused under the first-loss rule
    relaxed = {"max_loss_rate": D(1), "severe_max_loss_rate": D(1)}
    with pytest.raises(UnderwritingError, match="first-loss capital at risk") as exc:
        stress_check(_case(), StressPolicy(first_loss_usd=D(1_000), **relaxed))
    assert exc.value.rule == "first_loss"
    assert stress_check(_case(), StressPolicy(first_loss_usd=D(1_000_000), **relaxed)).passed


def test_the_stress_policy_takes_the_default_probability_by_rating_with_its_source() -> None:
    assert RATING_DEFAULT_PROBABILITIES["speculative_grade"] == 0.037
    assert "S&P Global Ratings" in RATING_SOURCES["speculative_grade"]
    assert RATING_SOURCES["unrated"].startswith("assumption")
    # a 24-month deal: 720 days at 3.7% a year is 1 - 0.963 ** (720 / 365) over the term
    check = stress_check(
        _case(), StressPolicy(rating="speculative_grade", max_loss_rate=D(1), severe_max_loss_rate=D(1))
    )
    mc = check.monte_carlo
    assert mc is not None and mc.loss_percentiles_usd == {} and mc.percentiles_note is not None
    assert over_horizon(0.037, 720 / 365) == pytest.approx(1 - 0.963 ** (720 / 365))
    assert mc.mean_defaults == pytest.approx(over_horizon(0.037, 720 / 365), abs=0.005)
    with pytest.raises(GaibValueError, match="unknown rating 'AAA\\+'"):
        stress_check(_case(), StressPolicy(rating="AAA+", max_loss_rate=D(1), severe_max_loss_rate=D(1)))
    # one deal has no percentile: a limit on the Monte Carlo holds it to its average loss given default
    strict = StressPolicy(max_loss_rate=D(1), severe_max_loss_rate=D(1), monte_carlo_max_loss_rate=0.01)
    with pytest.raises(UnderwritingError, match=r"this deal alone \(one loan: no percentile\) defaults on"):
        stress_check(_case(), strict)
    # an investment-grade borrower defaults on fewer paths than the 1% tail: no loss at the 99th percentile
    assert stress_check(_case(), strict.model_copy(update={"rating": "investment_grade"})).passed


def test_engine_models_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        OperatingCosts.model_validate({"power_kw_per_unit": 1, "usd_per_kwh": 0.1, "cooling": 1.3})
    with pytest.raises(ValidationError):
        MarketInputs.model_validate(GPU_MARKET["H100"].model_dump() | {"rental_decline_per_year": 1})
    with pytest.raises(ValidationError):
        StressScenario(name="x", utilisation_drop=D("1.5"))
