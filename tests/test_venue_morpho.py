"""The Morpho venue against the real Morpho Blue (built at set-up from @morpho-org/morpho-blue): the sAID
oracle's growth cap against a donation, lending and borrowing to the last wei, a liquidation after a real
loss through the protocol checked against Morpho's incentive arithmetic, and the market reused by a second
process on anvil.

The embedded chain is deployed once for the module; each test uses accounts of its own on it. The tests
run in file order: the loss of the liquidation test and the donation come last, as they move sAID's price.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from gaib_morpho import math as m
from gaib_morpho.venue import PRICE_UNIT, MorphoVenue, liquidation_price

from gaib_sdk import Gaib, GaibConfigError, GaibValueError, InsufficientFundsError, TransactionFailed
from gaib_sdk.chain import load_artifact

from .anvil import KEYS, Anvil
from .conftest import AS_OF

module = pytest.mark.asyncio(loop_scope="module")
USDC = 10**6
SAID = 10**18
YEAR = 365 * 86_400


@dataclass
class World:
    admin: Gaib
    provider: Gaib
    investor: Gaib  # holds sAID, AID and USDC
    lender: Gaib
    deal_id: int

    def venue(self, who: Gaib) -> MorphoVenue:
        v = who.venues.get("morpho")
        assert isinstance(v, MorphoVenue)
        return v


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    """One embedded chain: a financed GPU deal (for a real loss later), an investor holding 1M sAID, 300k AID
    and 200k USDC, and a lender who supplied 600k USDC to the Morpho market."""
    admin = await Gaib.embedded()
    try:
        provider, investor, lender = admin.with_account(1), admin.with_account(2), admin.with_account(3)
        await admin.admin.authorize_registrar(provider.address)
        inventory = await provider.assets.read_inventory("gpu")
        await provider.digitize("gpu", inventory)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(2_000_000))
        await investor.aid.mint(Decimal(1_800_000))
        await investor.said.stake(Decimal(1_000_000))
        deal = (await admin.financialize("gpu", inventory, as_of=AS_OF)).deal
        await admin.faucet(lender.address, Decimal(1_000_000))
        await admin.venues.setup("morpho")
        await lender.add_liquidity("morpho", Decimal(600_000))
        yield World(admin, provider, investor, lender, deal.deal_id)
    finally:
        await admin.close()


async def _borrower(w: World, index: int, said: int) -> Gaib:
    """Dev account ``index``, given ``said`` whole sAID by the investor."""
    who = w.admin.with_account(index)
    await w.investor.send(w.investor.protocol.said.functions.transfer(who.address, said * SAID), what="give sAID")
    return who


@module
async def test_the_oracle_prices_said_in_usdc_with_the_decimals_correction(world: World) -> None:
    venue = world.venue(world.admin)
    share_price = await world.admin.protocol.said.functions.sharePrice().call()
    # 1e36 scale, one sAID base unit (1e-18) in USDC base units (1e-6): price = share price (18 decimals) * 1e6
    assert await venue.price() == share_price * 10**6
    prices = await venue.oracle_prices()
    assert prices["used"] == prices["spot"] == Decimal(share_price) / SAID <= prices["cap"]
    oracle = world.admin.chain.contract(venue.state["oracle"], load_artifact("SAIDOracle")["abi"])
    assert await oracle.functions.maxAnnualGrowth().call() == 25 * 10**16
    with pytest.raises(GaibValueError, match="max_growth 1.5 must be above 0 and at most 1"):
        world.admin.venues.get("morpho", {"max_growth": "1.5"})
    with pytest.raises(TransactionFailed, match=r"GrowthTooHigh\(given=2000000000000000000, max=10{18}\)"):
        await world.admin.chain.deploy(
            load_artifact("SAIDOracle"), [world.admin.protocol.said.address, 6, 2 * 10**18], world.admin.account
        )


@module
async def test_lend_borrow_repay_and_withdraw_leave_no_dust(world: World) -> None:
    borrower = await _borrower(world, 5, 10_000)
    await world.admin.faucet(borrower.address, Decimal(1_000))  # to pay the rounding of a full repayment
    venue = world.venue(borrower)
    quote = await borrower.venues.quote("morpho", Decimal(10_000), asset="sAID")
    positions = await borrower.add_liquidity("morpho", Decimal(10_000), asset="sAID")
    assert [(p.side, p.amount) for p in positions] == [("collateral", Decimal(10_000))]
    price = await venue.price()
    max_borrow = m.max_borrow(10_000 * SAID, price, 86 * 10**16)
    assert Decimal(positions[0].details["max_borrow_usdc"]) == Decimal(max_borrow) / USDC
    assert quote.amount_out == 10_000
    assert quote.details["max_borrow_added_usdc"] == positions[0].details["max_borrow_usdc"]
    with pytest.raises(GaibValueError, match="not 'swap'"):
        await borrower.venues.quote("morpho", Decimal(1), action="swap")

    await venue.borrow(Decimal(6_000))
    with pytest.raises(GaibValueError, match=r"would exceed the market's 86.0% LLTV: at most"):
        await venue.borrow(Decimal(3_000))
    # a collateral withdrawal that would leave the debt above the LLTV is refused before sending
    with pytest.raises(GaibValueError, match=r"would leave 6000 USDC of debt above the 86% LLTV.*at most 30\d\d\.\d+"):
        await venue.withdraw_collateral(Decimal(5_000))
    with pytest.raises(GaibValueError, match="more than the 10000 sAID posted"):
        await venue.withdraw_collateral(Decimal(10_001))
    out = await borrower.venues.quote("morpho", Decimal(1_000), action="remove_liquidity", asset="sAID")
    assert (out.asset_in, out.amount_out, out.asset_out) == ("sAID at Morpho", 1_000, "sAID")
    positions = await venue.withdraw_collateral(Decimal(1_000))

    borrow = next(p for p in positions if p.side == "borrow")
    assert borrow.amount == 6_000
    health = Decimal(m.max_borrow(9_000 * SAID, price, 86 * 10**16)) / (6_000 * USDC)
    assert borrow.details["health_factor"] == f"{health:.4f}"
    # the liquidation price: the sAID price in USDC at which max borrow equals the debt
    liq = Decimal(borrow.details["liquidation_price_usdc"])
    assert liq == (Decimal(6_000) / (Decimal(9_000) * Decimal("0.86"))).quantize(Decimal("0.000001"))
    assert m.max_borrow(9_000 * SAID, int((liq + Decimal("0.000001")) * PRICE_UNIT), 86 * 10**16) >= 6_000 * USDC
    assert m.max_borrow(9_000 * SAID, int((liq - Decimal("0.000001")) * PRICE_UNIT), 86 * 10**16) < 6_000 * USDC

    usdc_before = (await borrower.balances())["USDC"]
    positions = await venue.repay(Decimal(2_500))  # partial, by assets
    assert next(p for p in positions if p.side == "borrow").amount == 3_500
    positions = await venue.repay()  # the rest, by shares: no dust of debt left
    assert [p.side for p in positions] == ["collateral"]
    _, borrow_shares, _ = await venue._morpho().functions.position(venue.market_id, borrower.address).call()
    assert borrow_shares == 0
    assert usdc_before - (await borrower.balances())["USDC"] == 6_000  # the zero-rate IRM: no interest
    with pytest.raises(GaibValueError, match="owes nothing"):
        await venue.repay()
    assert await borrower.venues.remove("morpho", Decimal(9_000), asset="sAID") == []
    assert (await borrower.balances())["sAID"] == 10_000


@module
async def test_quote_add_and_remove_liquidity_as_a_lender(world: World) -> None:
    lender = world.admin.with_account(6)
    await world.admin.faucet(lender.address, Decimal(50_000))
    quote = await lender.venues.quote("morpho", Decimal(40_000))
    assert (quote.action, quote.asset_in, quote.asset_out) == ("add_liquidity", "USDC", "USDC at Morpho")
    positions = await lender.add_liquidity("morpho", Decimal(40_000))
    assert [(p.side, p.amount) for p in positions] == [("supply", quote.amount_out)]
    assert quote.amount_out == 40_000
    assert positions[0].details["supply_shares"] == quote.details["supply_shares"]

    out = await lender.venues.quote("morpho", Decimal(15_000), action="remove_liquidity")
    assert (out.amount_out, out.asset_out) == (Decimal(15_000), "USDC")
    positions = await lender.venues.remove("morpho", Decimal(15_000))
    assert positions[0].amount == 25_000
    with pytest.raises(GaibValueError, match="more than the 25000 USDC supplied"):
        await lender.venues.remove("morpho", Decimal(30_000))
    with pytest.raises(InsufficientFundsError, match="holds 25000 USDC, less than the 30000"):
        await lender.venues.quote("morpho", Decimal(30_000))
    with pytest.raises(GaibValueError, match="asset 'AID' is neither 'USDC'"):
        await lender.add_liquidity("morpho", Decimal(1), asset="AID")
    with pytest.raises(GaibValueError, match=r"takes only asset=.*got \['slippage'\]"):
        await lender.add_liquidity("morpho", Decimal(1), slippage=1)
    assert await lender.venues.remove("morpho", Decimal(25_000)) == []  # the whole position, by shares
    supply_shares, _, _ = (
        await world.venue(lender)._morpho().functions.position(world.venue(lender).market_id, lender.address).call()
    )
    assert supply_shares == 0 and (await lender.balances())["USDC"] == 50_000


@module
async def test_a_loss_through_the_protocol_makes_borrowers_liquidatable(world: World) -> None:
    admin = world.admin
    near, far = await _borrower(world, 7, 20_000), await _borrower(world, 4, 10_000)
    liquidator = admin.with_account(8)
    await admin.faucet(liquidator.address, Decimal(100_000))
    venue, by_liquidator, lltv = world.venue(near), world.venue(liquidator), 86 * 10**16
    price_before = await venue.price()
    for who, said, share in ((near, 20_000, 98), (far, 10_000, 90)):  # % of the most each may borrow
        await world.venue(who).supply_collateral(Decimal(said))
        await world.venue(who).borrow(Decimal(m.max_borrow(said * SAID, price_before, lltv) * share // 100) / USDC)
    with pytest.raises(GaibValueError, match=r"is healthy \(it owes .* Morpho liquidates only below"):
        await by_liquidator.liquidate(near.address)

    # the deal defaults: sAID marks it down at once to its principal less its cash reserve (the hardware is
    # not counted until it is sold), more than the vault's 15% loss to come, and the oracle passes the fall
    # at once
    vault = await admin.protocol.said.functions.totalAssets().call()
    await admin.deals.declare_default(world.deal_id)
    assert await venue.price() < price_before * 85 // 100
    # the hardware sells for less than the principal: sAID bears a loss of 15%; what the markdown overstated
    # vests back over sAID's vesting period (8 hours)
    info = await admin.deals.get(world.deal_id)
    proceeds = info.principal_outstanding_usd - info.cash_reserve_usd - Decimal(vault * 15 // 100 // SAID)
    await admin.faucet(admin.address, proceeds)
    await admin.deals.record_liquidation(world.deal_id, proceeds)
    await admin.chain.advance_time(8 * 3600)
    price_after = await venue.price()
    assert price_after / price_before == pytest.approx(0.85, abs=0.001)
    # the cap's base is still the old high until someone checkpoints: then it is the low, and a rebound is
    # capped from there
    oracle = admin.chain.contract(venue.state["oracle"], load_artifact("SAIDOracle")["abi"])
    assert await oracle.functions.checkpointed().call() * 10**6 > price_after
    await venue.checkpoint()
    assert await oracle.functions.checkpointed().call() * 10**6 == price_after
    for who in (near, far):
        borrow = next(p for p in await who.venues.positions("morpho") if p.side == "borrow")
        assert Decimal(borrow.details["health_factor"]) < 1
        assert Decimal(borrow.details["liquidation_price_usdc"]) > Decimal(price_after) / PRICE_UNIT

    # a partial liquidation, then the rest: both exactly as Morpho's arithmetic says
    lif = m.liquidation_incentive_factor(lltv)
    assert lif == 1_043_841_336_116_910_229  # min(1.15, 1 / (1 - 0.3 x (1 - 0.86)))
    market = await venue.market()
    part = await by_liquidator.liquidate(far.address, Decimal(1_000))
    shares = m.to_shares_down(1_000 * USDC, market.total_borrow_assets, market.total_borrow_shares)
    plan = m.liquidation(market, price_after, lltv, repaid_shares=shares)
    assert (part.repaid_usdc * USDC, part.seized_said * SAID) == (plan.repaid_assets, plan.seized_assets)
    assert part.incentive_factor == Decimal(lif) / SAID and part.bad_debt_usdc == 0
    # the liquidator gets the repaid USDC's worth of sAID at the oracle price, times the incentive factor
    worth = part.seized_said * Decimal(price_after) / PRICE_UNIT
    assert worth / part.repaid_usdc == pytest.approx(Decimal(lif) / SAID, abs=Decimal("0.000001"))
    rest = await by_liquidator.liquidate(far.address)
    assert [p.side for p in await far.venues.positions("morpho")] == ["collateral"]  # debt cleared, collateral left
    assert rest.bad_debt_usdc == 0

    # the near one's collateral does not cover its debt times the incentive: all of it is seized, and the
    # debt left over is bad debt, which Morpho takes from the lenders' supply
    supplied = next(p for p in await world.lender.venues.positions("morpho") if p.side == "supply").amount
    owed = next(p for p in await near.venues.positions("morpho") if p.side == "borrow").amount
    last = await by_liquidator.liquidate(near.address)
    assert last.seized_said == 20_000 and last.bad_debt_usdc > 0
    assert last.repaid_usdc + last.bad_debt_usdc == pytest.approx(owed, abs=Decimal("0.000002"))
    assert await near.venues.positions("morpho") == []
    after = next(p for p in await world.lender.venues.positions("morpho") if p.side == "supply").amount
    assert supplied - after == pytest.approx(last.bad_debt_usdc, abs=Decimal("0.000002"))  # the only lender
    balances = await liquidator.balances()
    assert balances["sAID"] == part.seized_said + rest.seized_said + last.seized_said
    assert balances["USDC"] == 100_000 - part.repaid_usdc - rest.repaid_usdc - last.repaid_usdc


@module
async def test_a_donation_cannot_inflate_the_oracle_or_borrowing_power(world: World) -> None:
    admin, investor = world.admin, world.investor
    borrower = await _borrower(world, 9, 10_000)
    venue = world.venue(borrower)
    await venue.supply_collateral(Decimal(10_000))
    await venue.checkpoint()
    before = await venue.oracle_prices()
    power = Decimal(next(p for p in await venue.positions() if p.side == "collateral").details["max_borrow_usdc"])

    # 300k AID sent straight to the vault raises its share price by about a third at once ...
    said = investor.protocol.said
    await investor.send(investor.protocol.aid.functions.transfer(said.address, 300_000 * SAID), what="donate")
    after = await venue.oracle_prices()
    assert after["spot"] > before["spot"] * Decimal("1.2")
    # ... but the oracle may rise only 25% a year from its checkpoint, a few seconds' worth here
    assert after["used"] == after["cap"] < before["used"] * (1 + Decimal("0.25") * 60 / YEAR)
    now_power = Decimal(next(p for p in await venue.positions() if p.side == "collateral").details["max_borrow_usdc"])
    assert now_power - power < Decimal("0.01")
    with pytest.raises(GaibValueError, match="would exceed the market's 86.0% LLTV"):
        await venue.borrow(power * Decimal("1.1"))
    # checkpointing repeatedly does not help: the base is the capped price, not the spot
    await venue.checkpoint()
    await venue.checkpoint()
    assert (await venue.oracle_prices())["used"] < before["used"] * (1 + Decimal("0.25") * 60 / YEAR)

    # the cap grows linearly with time: thirty days let it rise 25% x 30/365
    await admin.chain.advance_time(30 * 86_400)
    grown = await venue.oracle_prices()
    base = (await venue.oracle_prices())["used"]
    assert grown["used"] == grown["cap"] and grown["spot"] > grown["cap"]
    assert abs(base / before["used"] - (1 + Decimal("0.25") * 30 / 365)) < Decimal("0.0001")


def test_liquidation_price_and_morpho_math() -> None:
    # 86% LLTV: owing 860 USDC against 1000 sAID is liquidatable below 1 USDC per sAID
    assert liquidation_price(860 * USDC, 1_000 * SAID, 86 * 10**16) == Decimal("1.000000")
    assert liquidation_price(1, 0, 86 * 10**16) == Decimal("Infinity")
    market = m.Market(1_000 * USDC, 1_000 * USDC * 10**6, 500 * USDC, 500 * USDC * 10**6, 1, 0)
    plan = m.liquidation(market, PRICE_UNIT, 86 * 10**16, seized_assets=100 * SAID)
    assert plan.repaid_assets == 95_800_001  # 100 USDC of sAID for 100 / 1.0438 = 95.8 USDC, rounded up twice
    with pytest.raises(ValueError, match="exactly one"):
        m.liquidation(market, PRICE_UNIT, 86 * 10**16)


@pytest.mark.asyncio
async def test_on_anvil_a_second_process_reuses_the_market(anvil: Anvil, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments) as admin:
        await admin.deploy()
        investor, lender = admin.with_account(KEYS[2]), admin.with_account(KEYS[3])
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(100_000))
        await investor.aid.mint(Decimal(100_000))
        await investor.said.stake(Decimal(60_000))
        await admin.faucet(lender.address, Decimal(50_000))
        first = await admin.venues.setup("morpho")
        await lender.add_liquidity("morpho", Decimal(50_000))
        morpho = investor.venues.get("morpho")
        assert isinstance(morpho, MorphoVenue)
        held = (await investor.balances())["sAID"]
        await morpho.supply_collateral(Decimal(30_000))
        await morpho.borrow(Decimal(20_000))

    # a second process finds the market in the deployments file: the saved parameters went through JSON
    async with await Gaib.connect(anvil.url, private_key=KEYS[2], deployments=deployments) as again:
        block = await again.chain.w3.eth.block_number
        morpho = again.venues.get("morpho")
        assert isinstance(morpho, MorphoVenue)
        assert await morpho.setup() == first
        assert await again.chain.w3.eth.block_number == block  # nothing deployed, nothing sent
        assert isinstance(morpho.state["params"], list)
        with pytest.raises(GaibConfigError, match=r"is the market 0x[0-9a-f]{64} \(lltv 0.86"):
            await again.venues.get("morpho", {"lltv": "0.915"}).setup()
        positions = await morpho.repay()
        assert [p.side for p in positions] == ["collateral"]
        assert await morpho.withdraw_collateral() == []
        assert (await again.balances())["sAID"] == held
        lender = again.with_account(KEYS[3])
        assert await lender.venues.remove("morpho", Decimal(50_000)) == []
        assert (await lender.balances())["USDC"] == 50_000
