"""Issue 13: full operating costs from the adapter, limits per customer, per hardware model and per borrower,
and a stress in which the signed customers leave (capacity re-let after a lag, at the stressed rate)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from gaib_sdk import Gaib, UnderwritingError
from gaib_sdk.models import DealTerms, Inventory, StressScenario
from gaib_sdk.underwriting import deal_case, project_cash_flows, stress_deal

from .conftest import AS_OF, Actors


@pytest.fixture
def offline() -> Gaib:
    return Gaib.offline()


@pytest.mark.asyncio
async def test_the_gpu_adapter_supplies_full_operating_costs_and_the_projection_uses_them(offline: Gaib) -> None:
    """Before, power was the 0.7 kW board alone and every other cost was zero."""
    sample = await offline.assets.read_inventory("gpu")
    costs = offline.assets.adapter("gpu").operating_costs(sample, AS_OF)
    assert (costs.unit, costs.units, costs.server_overhead, costs.pue) == ("GPU", 64, D("0.82"), D("1.58"))
    # 64 x 0.7 kW x 1.82 = 81.536 kW of IT load, colocation $175 a kW: 14,268.80 a month
    assert costs.it_kw == D("81.536")
    # staff 30 a GPU; insurance 0.5% and maintenance 4% a year of the 2,000,000 paid
    fixed = D("81.536") * 175 + 30 * 64 + D(2_000_000) * D("0.045") / 12
    assert costs.fixed_usd_per_month == fixed == D("23688.80")
    # power: IT kW x PUE x 730 h x utilisation x $0.10
    power = D("81.536") * D("1.58") * 730 * costs.utilisation * D("0.10")
    assert costs.power_usd_per_month == power
    month = project_cash_flows(sample.contracts, start=AS_OF, months=1, costs=costs).months[0]
    assert (month.power_usd, month.facility_usd) == (power.quantize(D("0.01")), D("23688.80"))
    assert month.net_operating_cash_flow_usd == D("100740.00") - month.power_usd - D("23688.80")
    # the income value nets the same costs: cheaper power and no colocation raise it
    cheap = await offline.deals.quote(
        "gpu", as_of=AS_OF, options={"pue": "1.1", "colocation_usd_per_kw_month": 0}, stress={"enabled": False}
    )
    dear = await offline.deals.quote("gpu", as_of=AS_OF, stress={"enabled": False})
    assert cheap.income_value_usd is not None and dear.income_value_usd is not None
    assert cheap.income_value_usd > dear.income_value_usd


def _reweighted(inventory: Inventory, helix_factor: str) -> Inventory:
    data = inventory.model_dump(mode="json")
    c = data["contracts"][0]
    c["monthly_revenue_usd"] = str(D(c["monthly_revenue_usd"]) * D(helix_factor))
    for p in c["payments"]:
        p["amount_usd"] = c["monthly_revenue_usd"]
    return Inventory.model_validate(data)


@pytest.mark.asyncio
async def test_a_customer_or_a_model_above_its_share_is_refused(offline: Gaib) -> None:
    sample = await offline.assets.read_inventory("gpu")
    q = await offline.deals.quote("gpu", sample, as_of=AS_OF)
    # Helix pays 61,320 of the 100,740 a month: 60.87%, under the default 80%
    assert q.concentration == {"top_customer_share": D("0.6087"), "top_model_share": D(1)}
    heavy = _reweighted(sample, "2.7")  # 165,564 of 204,984: 80.77%
    with pytest.raises(UnderwritingError) as exc:
        await offline.deals.quote("gpu", heavy, as_of=AS_OF)
    assert exc.value.rule == "concentration"
    assert str(exc.value).startswith("customer 'Helix AI Labs' pays 165564 of the 204984 USD of contracted revenue")
    assert "80.77%: more than the 80% one customer may pay (CreditPolicy.max_customer_share)" in str(exc.value)
    relaxed = {"max_customer_share": "0.85"}
    assert (
        await offline.deals.quote("gpu", heavy, as_of=AS_OF, policy=relaxed, stress={"enabled": False})
    ).customers == 2
    with pytest.raises(UnderwritingError, match="hardware model 'H100 SXM5 80GB' is 100.00% of the collateral"):
        await offline.deals.quote("gpu", sample, as_of=AS_OF, policy={"max_model_share": "0.5"})


@pytest.mark.asyncio
async def test_a_borrower_above_its_exposure_limit_is_refused_before_any_transaction(
    actors: Actors, inventory: Inventory
) -> None:
    await actors.provider.digitize("gpu", inventory)
    await actors.investor.aid.mint(D(1_500_000))
    sent = len(actors.admin.chain.history)
    with pytest.raises(UnderwritingError, match="above the 800000 one borrower may owe") as exc:
        await actors.admin.financialize("gpu", inventory, as_of=AS_OF, policy={"max_borrower_exposure_usd": 800_000})
    assert exc.value.rule == "concentration" and len(actors.admin.chain.history) == sent
    done = await actors.admin.financialize("gpu", inventory, as_of=AS_OF, policy={"max_borrower_exposure_usd": 900_000})
    assert done.deal.advance_usd == D("876809.76")


@pytest.mark.asyncio
async def test_losing_signed_customers_moves_loss_cover_and_return(offline: Gaib) -> None:
    """Before, a quarter or all of the contracted revenue lost left loss, DSCR and return as in the base case:
    the freed GPUs were re-let by the hour at once. Now they stand empty for the re-letting lag, then are re-let
    at the (stressed) market rate."""
    sample = await offline.assets.read_inventory("gpu")
    adapter = offline.assets.adapter("gpu")
    q = await offline.deals.quote("gpu", sample, as_of=AS_OF, stress={"enabled": False})
    case = deal_case(
        sample,
        DealTerms(),
        as_of=AS_OF,
        funded_usd=q.advance_usd,
        collateral_value_usd=q.appraised_value_usd,
        costs=adapter.operating_costs(sample, AS_OF),
        on_demand=adapter.on_demand(sample, AS_OF),
    )
    base = stress_deal(case, StressScenario(name="base"))
    quarter = stress_deal(case, StressScenario(name="q", contracted_revenue_lost=D("0.25")))
    top = stress_deal(case, StressScenario(name="top", customers_lost=1))
    assert base.dscr_min is not None and quarter.dscr_min is not None and top.dscr_min is not None
    assert base.dscr_min > quarter.dscr_min > top.dscr_min
    assert base.lender_irr is not None and top.lender_irr is not None and top.lender_irr < base.lender_irr
    # every customer gone, rents falling 30% a year faster: re-let at once (as before) the lender already loses;
    # a year to re-let, it loses four times as much
    gone = {"contracted_revenue_lost": D(1), "rental_decline_per_year": D("0.3")}
    at_once = stress_deal(case, StressScenario(name="all, at once", relet_lag_months=0, **gone))
    a_year = stress_deal(case, StressScenario(name="all, a year", relet_lag_months=12, **gone))
    assert (at_once.loss_usd, a_year.loss_usd) == (D("138021.535228"), D("576611.303176"))
    assert at_once.defaulted_month == a_year.defaulted_month == 24
    # the standard set has the top customer leaving, with rents falling faster
    quote = await offline.deals.quote("gpu", as_of=AS_OF)
    assert quote.stress is not None
    names = [r.scenario for r in quote.stress.results]
    assert "the top customer leaves, re-let after 3 months" in names


def test_the_lenders_irr_is_shown_net_of_the_fees_that_go_to_the_treasury() -> None:
    """Issue 13: a revenue-share deal showed 15.79% though 14.93% reached sAID (the fees go to the treasury)."""
    from datetime import date

    from gaib_sdk.models import OperatingCosts, PricingTerms
    from gaib_sdk.underwriting import build_schedule, lease_contract

    start = date(2026, 1, 1)
    lease = lease_contract("Helix", signed_on=start, starts_on=start, term_months=36, usd_per_gpu_hour=D("2.10"))
    costs = OperatingCosts(power_kw_per_unit=D("0.7"), usd_per_kwh=D("0.10"), utilisation=D("0.8"))
    projection = project_cash_flows([lease], start=start, months=24, costs=costs)
    share = PricingTerms(structure="revenue_share", revenue_share_bps=6000, fee_bps=50, term_months=24)
    s = build_schedule(D(18_000), share, projection)
    assert s.lender_irr is not None and s.lender_irr_net_of_fees is not None
    assert s.lender_irr_net_of_fees < s.lender_irr
    # a fixed deal's interest and principal do not depend on its fee: net of a 0.5% fee it is the fee-free IRR
    fixed = build_schedule(D(18_000), PricingTerms(fee_bps=50))
    free = build_schedule(D(18_000), PricingTerms(fee_bps=0))
    assert fixed.lender_irr_net_of_fees == pytest.approx(free.lender_irr, abs=1e-12)
    assert fixed.lender_irr == pytest.approx(free.lender_irr + 0.005, abs=1e-3)


@pytest.mark.asyncio
async def test_a_non_gpu_class_states_its_costs_capacity_and_stresses_in_its_own_units(offline: Gaib) -> None:
    """Issue 13 (any asset class): the robot adapter's costs and on-demand capacity are in robots and
    robot-hours, and its own stress scenarios replace the GPU-rent ones; the models are exported."""
    import gaib_sdk

    for name in ("OperatingCosts", "OnDemandCapacity", "StressScenario", "CreditPolicy", "MarketPrice"):
        assert name in gaib_sdk.__all__ and getattr(gaib_sdk, name) is not None
    fleet = await offline.assets.read_inventory("robot")
    adapter = offline.assets.adapter("robot")
    costs = adapter.operating_costs(fleet, AS_OF)
    spare = adapter.on_demand(fleet, AS_OF)
    assert costs.unit == "robot" and costs.units == len(fleet.assets) and costs.power_usd_per_month > 0
    assert spare is not None and spare.unit == "robot" and spare.net_of_contracts
    assert spare.usd_per_unit_hour == spare.usd_per_gpu_hour > 0  # the GPU name still reads it
    q = await offline.deals.quote("robot", fleet, as_of=AS_OF)
    assert q.stress is not None
    names = [r.scenario for r in q.stress.results]
    assert "the largest customer leaves, robots redeployed after 6 months" in names
    assert not any("GPU" in n or "rental prices" in n for n in names)
    # a policy's own scenarios win over the adapter's
    mine = StressScenario(name="mine")
    q = await offline.deals.quote("robot", fleet, as_of=AS_OF, stress={"scenarios": [mine.model_dump()]})
    assert q.stress is not None and [r.scenario for r in q.stress.results] == ["mine"]


def test_an_assets_share_of_the_leases_is_capped_at_its_capacity_times_the_price_ceiling() -> None:
    """Issue 13: shares follow the price, so a dear GPU beside cheap ones took more of the leases than its
    730 hours can earn at the kind's ceiling ($6.00: 4,380 a month)."""
    from datetime import date

    from gaib_sdk.models import AssetRecord
    from gaib_sdk.underwriting import contract_shares, lease_contract

    start = date(2026, 1, 1)
    gpus = [
        AssetRecord(
            kind="gpu", vendor="NVIDIA", model="H100", serial=s, purchase_price_usd=D(p), purchased_on=start, site="DC"
        )
        for s, p in (("DEAR", "90000"), ("A", "10000"), ("B", "10000"))
    ]
    lease = lease_contract("Helix", signed_on=start, starts_on=start, term_months=12, usd_per_gpu_hour=D(5), units=3)
    inv = Inventory(kind="gpu", operator="N", assets=gpus, contracts=[lease])
    dear, cheap, _ = contract_shares(inv, start, 1)
    assert dear[0] == D("10950") * 9 / 11 > D(4380)  # 10,950 a month shared 9 : 1 : 1
    capped, cheap_capped, _ = contract_shares(inv, start, 1, cap_usd_per_unit_month=D(6) * 730)
    assert (capped[0], cheap_capped[0]) == (D(4380), cheap[0])
