"""The underwriting engine wired into the deal flow: quotes value collateral by the lower of depreciated cost
and income (GPU leases and market rates, robot RaaS fees), and stress the deal before anything is sent."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from gaib_sdk import DealTerms, Gaib, GaibValueError, Inventory, InventoryError, UnderwritingError
from gaib_sdk.cli import main
from gaib_sdk.models import CustomerContract, OnDemandCapacity, OperatingCosts, Payment, StressPolicy
from gaib_sdk.underwriting import (
    STANDARD_SCENARIOS,
    contract_shares,
    contracted_income_valuation,
    lease_contract,
    project_cash_flows,
)

from .conftest import AS_OF

D = Decimal
SEVERE = "severe: rent -30%/yr more, utilisation -30 points, default at month 9, 50% haircut"
DEFAULT_6 = "borrower default at month 6, 40% haircut"
#: The default fixed terms over 36 months of 30 days.
THREE_YEARS = DealTerms(term_days=1080)


@pytest.fixture
def offline() -> Gaib:
    return Gaib.offline()


async def _sample(gaib: Gaib, kind: str = "gpu") -> Inventory:
    return await gaib.assets.read_inventory(kind)


def _changed(inventory: Inventory, *, utilisation: float | None = None, revenue_factor: str | None = None) -> Inventory:
    data = inventory.model_dump(mode="json")
    for t in data["telemetry"]:
        if utilisation is not None:
            t["utilisation"] = utilisation
    for c in data["contracts"]:
        if revenue_factor is not None:
            c["monthly_revenue_usd"] = str(D(c["monthly_revenue_usd"]) * D(revenue_factor))
    return Inventory.model_validate(data)


# --- valuation --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_sample_clusters_quote_is_the_lowest_of_cost_market_and_income(offline: Gaib) -> None:
    """Issue 13 (independent collateral value): the stated price is depreciated along the H100's residual curve,
    checked against the secondary market (the GPU plugin's dated, sourced table) and the lowest of cost, market
    and income is lent on. Before, the quote lent 75% of the straight-line cost of the invoice (1,504,166.40)."""
    q = await offline.deals.quote("gpu", as_of=AS_OF)
    first = q.valuations[0]
    # used H100 $22,000 on 2026-01-15, rolled 10 months at 20% a year: 22,000 x 0.8 ** (10/12)
    assert first.market_value_usd == D("18266.87") and "runlocalai.co" in (first.market_source or "")
    # 14 months old: 62.5% at 12 months less 2/12 of the 20 points lost by 24 months = 59.17% of 31,250
    assert first.cost_value_usd == D("18489.58")
    assert first.income_value_usd is not None and first.income_value_usd > first.cost_value_usd
    assert (first.value_usd, first.binding) == (D("18266.87"), "market")
    assert q.binding == "market"
    assert q.appraised_value_usd == q.market_value_usd == D("18266.87") * 64 == D("1169079.68")
    assert q.advance_usd == D("876809.76")  # 75%
    assert q.income_value_usd == sum((v.income_value_usd or D(0) for v in q.valuations), D(0))
    # orderly and forced sales at 15% and 35% below the market value
    assert (q.orderly_liquidation_value_usd, q.forced_liquidation_value_usd) == (D("993717.72"), D("759901.79"))
    assert "82% utilisation" in first.method and "under signed leases" in first.method


@pytest.mark.asyncio
async def test_idle_gpus_on_thin_leases_are_valued_by_income(offline: Gaib) -> None:
    sample = await _sample(offline)
    idle = _changed(sample, utilisation=0.15, revenue_factor="0.1")
    q = await offline.deals.quote("gpu", idle, as_of=AS_OF, stress={"enforce": False})
    assert q.binding == "income"
    assert q.cost_value_usd == D("18489.58") * 64  # the hardware is as old as before
    # at 15% utilisation and a tenth of the leases, no month covers the fixed costs: the hardware at the end
    assert q.appraised_value_usd == q.income_value_usd == D("2776.17") * 64
    assert q.advance_usd == D("133256.16")  # 75% of the income value, not of the cost or the market
    assert "15% utilisation" in q.valuations[0].method and q.valuations[0].binding == "income"


@pytest.mark.asyncio
async def test_signed_leases_raise_the_income_value_over_the_market_alone(offline: Gaib) -> None:
    idle = _changed(await _sample(offline), utilisation=0.15, revenue_factor="0.5")
    leased = offline.deals.appraise("gpu", idle, AS_OF)[0]
    unleased = offline.deals.appraise("gpu", idle.model_copy(update={"contracts": []}), AS_OF)[0]
    assert unleased.income_value_usd is not None and leased.income_value_usd is not None
    # half the leases pay 50,370 a month for 23-35 more months, 1/64 of it to each GPU: take-or-pay, on top of
    # the market rent of the capacity they leave
    assert leased.income_value_usd > unleased.income_value_usd


def test_each_asset_gets_its_share_of_the_contracts_pro_rata_to_its_price() -> None:
    gpus = [
        {"kind": "gpu", "vendor": "NVIDIA", "model": "H100", "serial": s, "purchase_price_usd": p}
        | {"purchased_on": "2026-01-01", "site": "DC-1"}
        for s, p in (("A", "30000"), ("B", "10000"))
    ]
    lease = lease_contract(
        "Helix", signed_on=date(2026, 1, 1), starts_on=date(2026, 2, 1), term_months=2, usd_per_gpu_hour=D(2), units=2
    )
    inventory = Inventory.model_validate(
        {"kind": "gpu", "operator": "N", "assets": gpus, "contracts": [lease.model_dump()]}
    )
    a, b = contract_shares(inventory, date(2026, 1, 15), 4)
    # months from 01-15: the lease runs from 02-01 for two months, so months 2 and 3 earn 2,920
    assert a == [0, D(2190), D(2190), 0] and b == [0, D(730), D(730), 0]


def test_a_robot_is_worth_the_lower_of_its_cost_and_its_fees_plus_the_hardware_after() -> None:
    from gaib_sdk import AssetRecord

    robot = AssetRecord(
        kind="robot",
        vendor="Primech AI",
        model="HYTRON",
        serial="R1",
        purchase_price_usd=D(24_000),
        purchased_on=date(2026, 1, 1),
        site="SG",
    )
    as_of = date(2026, 1, 1)
    no_contract = contracted_income_valuation(robot, as_of, contracted_usd=[], life_months=60, residual=D("0.1"))
    assert no_contract.income_value_usd == no_contract.cost_value_usd == D(24_000)
    assert no_contract.binding == "cost"
    # no discounting and no fees: the income value is the hardware after 12 months, 24000 - 21600 x 12/60
    flat = contracted_income_valuation(
        robot, as_of, contracted_usd=[D(0)] * 11 + [D(1)], life_months=60, residual=D("0.1"), discount_rate=D(0)
    )
    assert flat.income_value_usd == D(1) + D(24_000) - D(21_600) * 12 / 60 and flat.binding == "income"
    # fees of 1,000 a month for 12 months outearn 12 months of wear (4,320) and bind the cost
    rich = contracted_income_valuation(robot, as_of, contracted_usd=[D(1000)] * 12, life_months=60, residual=D("0.1"))
    assert rich.binding == "cost" and rich.income_value_usd is not None and rich.income_value_usd > D(24_000)


@pytest.mark.asyncio
async def test_the_sample_fleets_robots_are_valued_from_hardware_plus_raas_fees(offline: Gaib) -> None:
    q = await offline.deals.quote("robot", as_of=AS_OF)
    assert q.binding == "cost" and q.appraised_value_usd == q.cost_value_usd
    assert q.income_value_usd is not None and q.income_value_usd > q.cost_value_usd
    assert "contracted fees" in q.valuations[0].method
    assert q.stress is not None and q.stress.passed
    # a servicing cost above the fees leaves the hardware only, discounted: income binds
    costly = await offline.deals.quote(
        "robot", as_of=AS_OF, options={"service_usd_per_month": 5000}, stress={"enabled": False}
    )
    assert costly.binding == "income" and costly.appraised_value_usd < q.appraised_value_usd


# --- stress -----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_sample_deal_passes_the_default_stress_policy(offline: Gaib) -> None:
    q = await offline.deals.quote("gpu", as_of=AS_OF)
    s = q.stress
    assert s is not None and s.passed and s.refusal is None
    assert [r.scenario for r in s.results] == [x.name for x in STANDARD_SCENARIOS]
    assert (s.max_loss_rate, s.severe_max_loss_rate, s.term_months, s.funded_usd) == (
        D("0.05"),
        D("0.25"),
        24,
        D("876809.76"),
    )
    by_name = {r.scenario: r for r in s.results}
    assert by_name["base"].loss_usd == 0 and by_name["base"].defaulted_month is None
    # a default at month 6 sold 40% below value: 5 of 24 level installments paid, 876,809.76 x 19 / 24 =
    # 694,141.06 owed, all recovered (the 57,869.44 reserve and 60% of the collateral then)
    default = by_name[DEFAULT_6]
    assert default.owed_at_default_usd == D("694141.06") and default.loss_rate == 0 and default.defaulted_month == 6
    # the worst against its limit: the severe scenario, 8 installments paid, 876,809.76 x 16 / 24 = 584,539.84
    # owed and 455,005.63 recovered: 129,534.21 lost, 14.77% of the 25% a severe one may lose
    severe = by_name[SEVERE]
    assert (severe.owed_at_default_usd, severe.recovered_usd) == (D("584539.84"), D("455005.63"))
    assert (s.worst_scenario, s.worst_loss_rate, s.worst_limit_rate) == (SEVERE, D("0.1477"), D("0.25"))
    mc = s.monte_carlo
    # the 24-month term is 720 days: 720 / 365 years
    assert mc is not None and mc.paths == 20_000 and mc.seed == 0 and mc.horizon_years == 720 / 365
    # one unrated deal: 5% a year over 720 days, 1 - 0.95 ** (720 / 365) = 9.6% of paths default; amortised,
    # with the reserve and the collateral then (marked along the path's rents), fewer lose anything
    assert mc.mean_defaults == pytest.approx(1 - 0.95 ** (720 / 365), abs=0.01)
    assert 0 < mc.probability_of_loss < mc.mean_defaults
    # the worst path still recovers the reserve and some collateral
    assert 0 < mc.max_loss_usd < mc.exposure_usd * (1 - 0.066)
    # one loan has no meaningful percentile: none is reported, and the result says why
    assert mc.loss_percentiles_usd == {} and mc.percentiles_note is not None
    again = await offline.deals.quote("gpu", as_of=AS_OF)
    assert again.stress == s  # seeded: the same quote twice is the same


@pytest.mark.asyncio
async def test_a_thin_cover_deal_is_refused_by_the_stress_test_with_its_figures(offline: Gaib) -> None:
    # 80% (cover 1.25x) over 24 months passes: by month 6 level principal has repaid 5 / 24 of the advance
    # and a default then loses 4.23%; over 36 months (1080 days) it has repaid only 5 / 36 and is refused
    passing = await offline.deals.quote("gpu", as_of=AS_OF, advance_usd=D("935263.74"))
    assert passing.stress is not None and passing.stress.worst_loss_rate == D("0.0423")
    with pytest.raises(UnderwritingError) as exc:
        await offline.deals.quote("gpu", as_of=AS_OF, advance_usd=D("935263.74"), terms=THREE_YEARS)
    assert exc.value.rule == "stressed_loss"
    assert str(exc.value) == (
        f"stressed loss too high: scenario {DEFAULT_6!r} loses 104468.87 USDC, 11.17% of funded 935263.74 USDC "
        "(limit 5%: 46763.19); owed 805366.00 when payments stopped at month 6, recovered 700897.13. "
        "Advance less, add collateral or shorten the term"
    )
    # the figures add up: owed = 935,263.74 x 31 / 36 (5 level installments of 25,979.548333 paid, no interest
    # owed at the default), loss = owed - recovered, and 11.17% of funded
    assert D("935263.74") - 5 * D("25979.548333") == D("805365.998335")
    assert D("805365.998335") - D("700897.13") == pytest.approx(D("104468.87"), abs=D("0.01"))
    # reported instead of refused, the same figures
    q = await offline.deals.quote(
        "gpu", as_of=AS_OF, advance_usd=D("935263.74"), terms=THREE_YEARS, stress={"enforce": False}
    )
    assert q.stress is not None and not q.stress.passed and q.stress.refusal == str(exc.value)


@pytest.mark.asyncio
async def test_a_three_year_revenue_share_is_refused_when_rental_prices_fall_faster(offline: Gaib) -> None:
    # the sample with its leases ending after 24 months (2027-10 and 2027-11): the rest of a three-year share is
    # paid from capacity re-let by the hour, at rates falling 30% a year faster in the stress
    sample = await _sample(offline)
    short = sample.model_copy(
        update={"contracts": [c.model_copy(update={"term_months": 24}) for c in sample.contracts]}
    )
    terms = DealTerms(structure="revenue_share", revenue_share_bps=5000, term_days=1080)  # 36 x 30 days
    with pytest.raises(UnderwritingError, match="rental prices fall 30% a year more") as exc:
        await offline.deals.quote("gpu", short, as_of=AS_OF, terms=terms)
    assert exc.value.rule == "stressed_loss"
    # the same share over two years passes
    q = await offline.deals.quote("gpu", short, as_of=AS_OF, terms=terms.model_copy(update={"term_days": 720}))
    assert q.stress is not None and q.stress.passed
    # and so does the three-year share on the sample's own leases, which run to 2028-11 and 2029-10
    q = await offline.deals.quote("gpu", as_of=AS_OF, terms=terms)
    assert q.stress is not None and q.stress.passed


@pytest.mark.asyncio
async def test_a_stricter_policy_refuses_the_sample_under_the_severe_scenario(offline: Gaib) -> None:
    with pytest.raises(UnderwritingError) as exc:
        await offline.deals.quote("gpu", as_of=AS_OF, stress=StressPolicy(severe_max_loss_rate=D("0.10")))
    assert str(exc.value).startswith(
        f"stressed loss too high: severe scenario {SEVERE!r} loses 129534.21 USDC, 14.77% of funded "
        "876809.76 USDC (limit 10%: 87680.98); owed "
    )
    # a Monte Carlo limit: one deal alone has no percentile; it defaults on more than the 1% of paths beyond
    # the 99th over its 720 days (1.9726 years), so it is held to its average loss given default
    with pytest.raises(UnderwritingError, match=r"this deal alone \(one loan: no percentile\) defaults on 9.7") as exc:
        await offline.deals.quote("gpu", as_of=AS_OF, stress={"monte_carlo_max_loss_rate": 0.05})
    assert exc.value.rule == "stressed_loss" and "default probability 0.05 a year (unrated)" in str(exc.value)
    assert "over 1.973 year(s), more than the 1.00% beyond percentile 99" in str(exc.value)
    # switched off: no stress test in the quote
    assert (await offline.deals.quote("gpu", as_of=AS_OF, stress={"enabled": False})).stress is None


@pytest.mark.asyncio
async def test_a_wrong_stress_policy_is_named(offline: Gaib) -> None:
    with pytest.raises(GaibValueError, match="stress policy field 'max_loss_rate'"):
        await offline.deals.quote("gpu", as_of=AS_OF, stress={"max_loss_rate": 2})
    with pytest.raises(GaibValueError, match="stress policy field 'max_stressed_loss'"):
        await offline.deals.quote("gpu", as_of=AS_OF, stress={"max_stressed_loss": 0.1})


@pytest.mark.asyncio
async def test_financialize_refuses_a_stressed_deal_before_any_transaction(gaib: Gaib) -> None:
    inventory = await gaib.assets.read_inventory("gpu")
    sent = len(gaib.chain.history)
    with pytest.raises(UnderwritingError) as exc:
        await gaib.financialize("gpu", inventory, as_of=AS_OF, advance_usd=D("935263.74"), terms=THREE_YEARS)
    assert exc.value.rule == "stressed_loss"
    assert len(gaib.chain.history) == sent


def test_on_demand_capacity_net_of_contracts_re_lets_what_a_lease_frees() -> None:
    lease = lease_contract(
        "Helix", signed_on=date(2026, 1, 1), starts_on=date(2026, 1, 1), term_months=2, usd_per_gpu_hour=D(2)
    )
    costs = OperatingCosts(units=2, power_kw_per_unit=D(0), usd_per_kwh=D(0))
    spot = OnDemandCapacity(units=2, usd_per_gpu_hour=D(2), utilisation=D("0.5"), net_of_contracts=True)
    months = project_cash_flows([lease], start=date(2026, 1, 1), months=3, costs=costs, on_demand=spot).months
    # months 1-2: one GPU leased (1,460), the other by the hour at 50% (730); month 3: both by the hour
    assert [(m.contracted_revenue_usd, m.on_demand_revenue_usd) for m in months] == [
        (D(1460), D(730)),
        (D(1460), D(730)),
        (D(0), D(1460)),
    ]


def test_gaib_quote_json_carries_the_stress_test_and_both_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--json"]) == 0
    quote = json.loads(capsys.readouterr().out)
    assert (quote["cost_value_usd"], quote["binding"]) == ("1183333.12", "market")
    assert (quote["orderly_liquidation_value_usd"], quote["forced_liquidation_value_usd"]) == ("993717.72", "759901.79")
    assert quote["stress"]["passed"] is True and quote["stress"]["worst_scenario"] == SEVERE
    assert len(quote["stress"]["results"]) == len(STANDARD_SCENARIOS)
    assert quote["stress"]["monte_carlo"]["seed"] == 0
    assert main(["quote", "gpu", "--as-of", "2026-11-25"]) == 0
    assert f"stress                           passed: worst {SEVERE!r} loses 14.77% (limit 25%)" in (
        capsys.readouterr().out
    )
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--advance", "935263.74", "--term-days", "1080"]) == 1
    assert capsys.readouterr().err.startswith(f"error: stressed loss too high: scenario {DEFAULT_6!r} loses 104468.87")


# --- dates ------------------------------------------------------------------------------------------------


def _gpu_export() -> dict[str, Any]:
    from gaib_gpu import GpuAdapter

    source = GpuAdapter().example_source()
    assert source is not None
    data: dict[str, Any] = json.loads(source.read_text())
    return data


@pytest.mark.asyncio
async def test_an_asset_installed_after_the_quotes_date_is_refused_naming_its_row(offline: Gaib) -> None:
    inventory = await _sample(offline)
    later = inventory.assets[2].model_copy(update={"purchased_on": date(2026, 12, 1)})
    future = inventory.model_copy(update={"assets": [*inventory.assets[:2], later, *inventory.assets[3:]]})
    # undepreciated hardware that is not there yet: refused, not financed at its full price
    with pytest.raises(UnderwritingError, match=r"asset row 3 \(serial '1654922000002'\) was bought on 2026-12-01, "
                       r"after the quote's date 2026-11-25") as exc:  # fmt: skip
        await offline.deals.quote("gpu", future, as_of=AS_OF)
    assert exc.value.rule == "asset_dates"
    with pytest.raises(UnderwritingError, match=r"asset row 3 "):
        offline.deals.appraise("gpu", future, AS_OF)
    # the same inventory quoted once the GPU is there
    assert (await offline.deals.quote("gpu", future, as_of=date(2026, 12, 1))).appraised_value_usd > 0


@pytest.mark.parametrize("field", ["due_on", "paid_on"])
def test_a_payment_dated_before_its_contract_was_signed_is_refused_naming_its_row(field: str) -> None:
    from gaib_gpu import GpuAdapter

    data = _gpu_export()
    signed = data["contracts"][1]["signed_on"]  # 2025-10-10
    data["contracts"][1]["payments"][0][field] = "2025-10-09"
    if field == "due_on":
        data["contracts"][1]["payments"][0]["paid_on"] = "2025-10-09"
    with pytest.raises(InventoryError, match=rf"contracts row 2, field 'payments': payment 1 has {field} 2025-10-09, "
                       rf"which is before the contract was signed \({signed}\)") as exc:  # fmt: skip
        GpuAdapter().parse(data)
    assert (exc.value.row, exc.value.field) == (2, "contracts[1].payments")


def test_telemetry_for_a_serial_not_in_the_inventory_is_refused_naming_its_row() -> None:
    from gaib_gpu import GpuAdapter

    data = _gpu_export()
    data["telemetry"][4]["serial"] = "NOT-IN-THE-CLUSTER"
    with pytest.raises(InventoryError, match=r"telemetry row 5, field 'serial': 'NOT-IN-THE-CLUSTER' is not the "
                       r"serial of any asset of the inventory") as exc:  # fmt: skip
        GpuAdapter().parse(data)
    assert (exc.value.row, exc.value.field) == (5, "telemetry[4].serial")
    # an inventory built by hand is held to the same
    inventory = GpuAdapter().parse(_gpu_export())
    stray = inventory.telemetry[0].model_copy(update={"serial": "NOT-IN-THE-CLUSTER"})
    with pytest.raises(ValueError, match=r"telemetry\[64\] is for serial 'NOT-IN-THE-CLUSTER'"):
        Inventory.model_validate({**inventory.model_dump(), "telemetry": [*inventory.telemetry, stray]})


@pytest.mark.asyncio
async def test_a_contract_that_has_ended_by_the_quotes_date_earns_nothing_in_it(offline: Gaib) -> None:
    inventory = await _sample(offline)
    base = await offline.deals.quote("gpu", inventory, as_of=AS_OF)
    ended = CustomerContract(
        customer="Gone Ltd",
        signed_on=date(2024, 1, 1),
        starts_on=date(2024, 1, 1),
        term_months=12,  # ended 2025-01-01
        monthly_revenue_usd=D(50_000),
        payments=[Payment(due_on=date(2024, m, 1), amount_usd=D(50_000), paid_on=date(2024, m, 1)) for m in (1, 2, 3)],
    )
    with_ended = inventory.model_copy(update={"contracts": [*inventory.contracts, ended]})
    q = await offline.deals.quote("gpu", with_ended, as_of=AS_OF)  # dropped, not refused
    assert q.monthly_contracted_revenue_usd == base.monthly_contracted_revenue_usd == D("100740.00")
    assert q.customers == base.customers == 2
    assert q.appraised_value_usd == base.appraised_value_usd
    # quoted while it still ran, it counts
    early = await offline.deals.quote("gpu", with_ended, as_of=date(2025, 11, 25), stress={"enabled": False})
    assert early.monthly_contracted_revenue_usd == D("100740.00")
