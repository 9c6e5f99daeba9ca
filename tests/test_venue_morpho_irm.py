"""The Morpho venue on a market whose IRM charges interest (tests/contracts/FixedRateIrm.sol, 10%/yr): positions
between transactions include the interest accrued since Morpho's last update, to the unit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from gaib_morpho import math as m
from gaib_morpho.venue import MorphoVenue

from gaib_sdk import Gaib, GaibValueError
from gaib_sdk.contracts.compiler import compile_sources

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "tests" / "contracts"
RATE = 10 * 10**16 // (365 * 86400)  # 10%/yr per second, WAD
USDC = 10**6
SAID = 10**18

World = tuple[Gaib, Gaib, MorphoVenue, MorphoVenue]  # admin, borrower, lender's venue, borrower's venue
module = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    admin = await Gaib.embedded()
    try:
        artifact = compile_sources(
            {"FixedRateIrm.sol": (CONTRACTS / "FixedRateIrm.sol").read_text()},
            node_modules=ROOT / "node_modules",
            source_roots=[CONTRACTS],
        )["FixedRateIrm"]
        irm = (await admin.chain.deploy(artifact, [RATE], admin.account)).contract_address
        borrower, lender = admin.with_account(2), admin.with_account(3)
        await admin.aid.whitelist(borrower.address)
        await admin.faucet(borrower.address, Decimal(200_000))
        await borrower.aid.mint(Decimal(100_000))
        await borrower.said.stake(Decimal(50_000))
        await admin.faucet(lender.address, Decimal(100_000))
        options = {"irm": irm}
        await admin.venues.setup("morpho", options)
        lend = lender.venues.get("morpho", options)
        assert isinstance(lend, MorphoVenue)
        await lend.supply(Decimal(50_000))
        borrow = borrower.venues.get("morpho", options)
        assert isinstance(borrow, MorphoVenue)
        yield admin, borrower, lend, borrow
    finally:
        await admin.close()


@module
async def test_positions_include_accrued_interest_to_the_unit(world: World) -> None:
    admin, borrower, lend, borrow = world
    await borrow.supply_collateral(Decimal(20_000))
    await borrow.borrow(Decimal(10_000))
    stored = m.Market(*(await borrow._morpho().functions.market(borrow.market_id).call()))
    await admin.chain.advance_time(30 * 86400)
    expected = await borrow.market()
    assert expected.total_borrow_assets > stored.total_borrow_assets  # interest shows before any transaction
    owed = (await borrow._view(borrower.address))["borrowed"]
    assert owed > 10_000 * USDC
    await admin.send(borrow._morpho().functions.accrueInterest(tuple(borrow.params)), what="accrueInterest")
    after = m.Market(*(await borrow._morpho().functions.market(borrow.market_id).call()))
    # accrueInterest ran one block later: the expected figures at that timestamp match Morpho's own to the unit
    assert stored.accrued(RATE, after.last_update) == after
    assert (await borrow._view(borrower.address))["borrowed"] == after.borrowed(
        (await borrow._morpho().functions.position(borrow.market_id, borrower.address).call())[1]
    )

    # a full repayment by shares: the 0.1% extra approval covers the interest accrued in the transaction
    await admin.faucet(borrower.address, Decimal(1_000))
    await admin.chain.advance_time(86400)
    await borrow.repay()
    assert (await borrow._view(borrower.address))["borrow_shares"] == 0

    # the lender withdraws supply plus interest
    before = await lend.gaib.protocol.usdc.functions.balanceOf(lend.gaib.address).call()
    owed_to_lender = (await lend._view(lend.gaib.address))["supplied"]
    assert owed_to_lender > 50_000 * USDC
    await lend.withdraw()
    got = await lend.gaib.protocol.usdc.functions.balanceOf(lend.gaib.address).call() - before
    assert got >= owed_to_lender  # the interest, to the unit as of the withdrawal's block
    assert (await lend._view(lend.gaib.address))["supply_shares"] == 0


@module
async def test_interest_alone_makes_a_position_liquidatable(world: World) -> None:
    admin, borrower, lend, _ = world
    await lend.supply(Decimal(40_000))
    said = borrower.protocol.said
    victim = admin.with_account(4)
    await borrower.send(said.functions.transfer(victim.address, 10_000 * SAID), what="give sAID")
    venue = victim.venues.get("morpho", {"irm": lend.options.irm})
    assert isinstance(venue, MorphoVenue)
    await venue.supply_collateral(Decimal(10_000))
    limit = (await venue._view(victim.address))["max_borrow"]
    await venue.borrow(Decimal(limit - limit // 1000) / USDC)  # 0.1% under the limit
    keeper = admin.venues.get("morpho", {"irm": lend.options.irm})
    assert isinstance(keeper, MorphoVenue)
    with pytest.raises(GaibValueError, match="is healthy"):
        await keeper.liquidate(victim.address)
    await admin.chain.advance_time(30 * 86400)  # 10%/yr for 30 days: ~0.8% more owed
    view = await venue._view(victim.address)
    stored = m.Market(*(await venue._morpho().functions.market(venue.market_id).call()))
    # Morpho's stored totals still call it healthy; the expected figures (what Morpho will see) do not
    assert stored.borrowed(view["borrow_shares"]) <= view["max_borrow"] < view["borrowed"]
    await admin.faucet(admin.address, Decimal(20_000))
    result = await keeper.liquidate(victim.address)
    assert result.repaid_usdc > 0 and result.seized_said > 0
    assert result.bad_debt_usdc == 0  # the collateral covered the whole debt, interest included
    assert (await venue._view(victim.address))["borrow_shares"] == 0


def test_taylor_compounding_matches_morpho_mathlib() -> None:
    assert m.w_taylor_compounded(0, 100) == 0
    first = RATE * 86400
    assert m.w_taylor_compounded(RATE, 86400) == first + first * first // (2 * m.WAD) + (
        first * first // (2 * m.WAD)
    ) * first // (3 * m.WAD)
