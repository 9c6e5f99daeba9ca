"""sAID's share price is a fair value (issue 12, items 3 and 5): an impairment or a default lowers it in the
block it is recorded, a cure writes it back through vesting, a holder who exits between an impairment and the
liquidation takes no value from a holder who stays, and each distribution vests on its own schedule so nobody
can delay income already paid in. Contract calls go straight to the bindings; amounts in base units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gaib_sdk import Gaib, GaibValueError
from gaib_sdk.chain import load_artifact

from .conftest import Actors
from .test_contracts import (
    CASH_RESERVE_BPS,
    DAY,
    MAX_UINT,
    SCALE,
    USDC,
    VESTING,
    assert_backed,
    asset_id,
    block_time,
    events,
    mint_aid,
    open_deal,
    opened_deal_id,
    register,
    reverts,
    staked_with_rewarder,
    terms,
    unauthorized,
)

AID = 10**18


async def stake(gaib: Gaib, who: Gaib, aid_units: int) -> int:
    """``who`` is whitelisted, mints and stakes ``aid_units``; returns its shares."""
    p = gaib.protocol
    await gaib.aid.whitelist(who.address)
    await gaib.faucet(who.address, Decimal(aid_units // AID))
    await mint_aid(who, aid_units // SCALE)
    await who.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await who.send(p.said.functions.deposit(aid_units, who.address), what="stake")
    return int(await p.said.functions.balanceOf(who.address).call())


async def deal(actors: Actors, n: int, advance: int) -> int:
    await register(actors, actors.provider.address, [asset_id(n)])
    result = await open_deal(actors, [asset_id(n)], 2 * advance, advance, terms(rate_bps=1_000, fee_bps=0))
    return await opened_deal_id(actors.admin, result)


@pytest.mark.asyncio
async def test_a_full_impairment_lowers_the_share_price_by_the_deals_share_of_the_vault_in_its_block(
    gaib: Gaib, actors: Actors
) -> None:
    p = gaib.protocol
    said, fac = p.said.functions, p.facility.functions
    artifact = load_artifact("SAIDOracle")
    deployed = await gaib.chain.deploy(artifact, [p.said.address, 6, 10**17], gaib.account)
    assert deployed.contract_address is not None
    oracle = gaib.chain.contract(deployed.contract_address, artifact["abi"])
    await stake(gaib, actors.investor, 1_000_000 * AID)
    advance = 250_000 * USDC  # 25% of the vault's assets
    deal_id = await deal(actors, 0xA1, advance)
    price0, assets0 = await said.sharePrice().call(), await said.totalAssets().call()
    oracle0 = await oracle.functions.price().call()
    result = await actors.admin.send(fac.impair(deal_id, advance), what="impair 100%")
    # The same block: the price fell by the deal's 25% (no unvested income to absorb any of it).
    assert await gaib.chain.timestamp() == await block_time(gaib, result)
    assert await said.totalAssets().call() == assets0 - advance * SCALE
    assert await said.writedown().call() == advance * SCALE
    assert (await gaib.said.vesting())["writedown_aid"] == advance * SCALE / Decimal(AID)
    assert await said.sharePrice().call() == pytest.approx(price0 * 3 // 4, abs=1)
    (ev,) = events(p.said, "MarkedDown", result)
    assert (ev["amount"], ev["fromUnvested"], ev["writedown"]) == (advance * SCALE, 0, advance * SCALE)
    # The Morpho oracle follows the fall at once (its growth cap only caps rises).
    assert await oracle.functions.price().call() == pytest.approx(oracle0 * 3 // 4, rel=1e-15)
    await assert_backed(gaib)
    # The writedown is not an AID movement: the vault still holds every AID.
    assert await p.aid.functions.balanceOf(p.said.address).call() == assets0


@pytest.mark.asyncio
async def test_unvested_income_absorbs_a_markdown_first(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    stake_ = 1_000 * AID
    await staked_with_rewarder(gaib, actors, stake_)
    admin = actors.admin
    await admin.send(said.transferInRewards(300 * AID), what="income")
    assert await said.totalAssets().call() == stake_
    result = await admin.send(said.markDown(500 * AID), what="mark down")
    (ev,) = events(p.said, "MarkedDown", result)
    assert ev["amount"] == 500 * AID
    assert ev["fromUnvested"] == pytest.approx(300 * AID, abs=AID // 10)  # what had not vested by this block
    # The price falls by the markdown less the unvested income it took.
    assert await said.totalAssets().call() == stake_ - 200 * AID
    assert await said.unvestedAmount().call() == 0
    # Marked back up: nothing at once, all of it over the vesting period.
    result = await admin.send(said.markUp(500 * AID), what="mark up")
    assert await said.totalAssets().call() == stake_ - 200 * AID
    await gaib.chain.advance_time(VESTING)
    assert await said.totalAssets().call() == stake_ + 300 * AID
    reason = await reverts(admin.send(said.markUp(1), what="too much"), "WritedownUnderflow")
    assert "writedown=0" in reason
    await unauthorized(
        actors.outsider.send(said.markDown(1), what="mark down"), actors.outsider.address, "REWARDER_ROLE"
    )


@pytest.mark.asyncio
async def test_a_cure_writes_the_markdown_back_through_vesting_not_at_once(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said, fac = p.said.functions, p.facility.functions
    await stake(gaib, actors.investor, 1_000_000 * AID)
    deal_id = await deal(actors, 0xA2, 200_000 * USDC)
    before = await said.totalAssets().call()
    await actors.admin.send(fac.impair(deal_id, 100_000 * USDC), what="impair")
    low = await said.totalAssets().call()
    assert low == before - 100_000 * AID
    result = await actors.admin.send(fac.cure(deal_id), what="cure")
    assert [e["amount"] for e in events(p.said, "MarkedUp", result)] == [100_000 * AID]
    assert await said.totalAssets().call() == low  # nobody can trade on the cure
    assert await said.writedown().call() == 0
    await gaib.chain.advance_time(VESTING // 2)
    assert await said.totalAssets().call() == pytest.approx(low + 50_000 * AID, abs=AID)
    await gaib.chain.advance_time(VESTING // 2)
    assert await said.totalAssets().call() == before
    assert (await fac.getDeal(deal_id).call())[13] == 0


@pytest.mark.asyncio
async def test_a_default_marks_the_deal_down_to_principal_less_cash_reserve_and_liquidation_trues_it_up(
    gaib: Gaib, actors: Actors
) -> None:
    p = gaib.protocol
    said, fac = p.said.functions, p.facility.functions
    await stake(gaib, actors.investor, 1_000_000 * AID)
    advance = 300_000 * USDC
    deal_id = await deal(actors, 0xA3, advance)
    cash = advance * CASH_RESERVE_BPS // 10_000
    before = await said.totalAssets().call()
    await actors.admin.send(fac.impair(deal_id, 10_000 * USDC), what="impair")
    result = await actors.admin.send(fac.declareDefault(deal_id), what="default")
    # Marked down to principal less the cash reserve: only the difference from the impairment moves now.
    assert (await fac.getDeal(deal_id).call())[13] == advance - cash
    assert [e["amount"] for e in events(p.said, "MarkedDown", result)] == [(advance - cash - 10_000 * USDC) * SCALE]
    assert await said.totalAssets().call() == before - (advance - cash) * SCALE
    # The hardware sells for 100,000: the loss realized is smaller than the markdown; the difference vests back.
    await gaib.faucet(actors.admin.address, Decimal(100_000))
    await actors.admin.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    proceeds = 100_000 * USDC
    result = await actors.admin.send(fac.recordLiquidation(deal_id, proceeds), what="liquidate")
    loss = advance - cash - proceeds
    (ev,) = events(p.said, "MarkdownRealized", result)
    realized = (ev["released"], ev["aidBurned"], ev["vestingBack"])
    assert realized == ((advance - cash) * SCALE, loss * SCALE, proceeds * SCALE)
    assert await said.writedown().call() == 0
    assert await said.totalAssets().call() == before - (advance - cash) * SCALE  # no jump in the block
    await gaib.chain.advance_time(VESTING)
    assert await said.totalAssets().call() == before - loss * SCALE
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_a_holder_who_exits_between_impairment_and_liquidation_takes_nothing_from_one_who_stays(
    gaib: Gaib, actors: Actors
) -> None:
    """The issue's scenario: two equal holders; a deal worth a large part of the vault is impaired 100%; one
    holder exits at the next cycle, before the liquidation; the loss is realized. Today the exit was filled
    at par and the loss fell on the holder who stayed (175,611 AID moved in the run of the issue)."""
    p = gaib.protocol
    said, fac = p.said.functions, p.facility.functions
    leaver, stayer = actors.investor, actors.lender
    shares_l = await stake(gaib, leaver, 500_000 * AID)
    shares_s = await stake(gaib, stayer, 500_000 * AID)
    advance = 400_000 * USDC
    deal_id = await deal(actors, 0xA4, advance)
    await actors.admin.send(fac.impair(deal_id, advance), what="impair 100%")
    await leaver.send(said.requestRedeem(shares_l, leaver.address, leaver.address), what="exit")
    due, now = await said.nextCycleAt().call(), await gaib.chain.timestamp()
    await gaib.chain.advance_time(max(0, due - now))
    await gaib.send(said.processCycle(10), what="cycle")
    paid = await said.maxWithdraw(leaver.address).call()
    await actors.admin.send(fac.declareDefault(deal_id), what="default")
    await actors.admin.send(fac.recordLiquidation(deal_id, 0), what="liquidate, nothing recovered")
    await leaver.send(said.redeem(shares_l, leaver.address, leaver.address), what="claim")
    await gaib.chain.advance_time(VESTING)
    stays = await said.convertToAssets(shares_s).call()
    # The leaver was filled at the impaired price: it bore half the markdown (the whole advance). The stayer
    # bears the rest of the loss realized (the advance less the cash reserve, which came back): never more
    # than its half of the loss had nobody exited.
    cash = advance * CASH_RESERVE_BPS // 10_000
    loss = advance - cash
    assert paid == pytest.approx((500_000 * USDC - advance // 2) * SCALE, abs=AID)
    assert stays == pytest.approx((500_000 * USDC - (loss - advance // 2)) * SCALE, abs=AID)
    assert stays >= (500_000 * USDC - loss // 2) * SCALE
    # The stayer's value is what the vault holds for it: its shares are all that is left besides dead shares.
    assert stays == pytest.approx(await said.totalAssets().call(), rel=1e-9)
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_cents_every_ten_minutes_do_not_delay_income_already_paid_in(gaib: Gaib, actors: Actors) -> None:
    """The grief of the issue: `repay` is open to anyone and each repayment reaching interest used to restart
    the vesting of all unvested income. Each distribution now vests on its own schedule."""
    p = gaib.protocol
    said, fac = p.said.functions, p.facility.functions
    await stake(gaib, actors.investor, 1_000_000 * AID)
    deal_id = await deal(actors, 0xA5, 500_000 * USDC)
    await gaib.chain.advance_time(30 * DAY)
    provider = actors.provider
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    result = await provider.send(fac.repay(deal_id, 4_000 * USDC), what="interest")
    income = events(p.facility, "Repaid", result)[0]["interest"] * SCALE
    t0 = await block_time(gaib, result)
    base = await said.totalAssets().call()
    griefer = actors.outsider
    await gaib.faucet(griefer.address, Decimal(1))
    await griefer.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    spent = 0
    while await gaib.chain.timestamp() < t0 + VESTING:
        await gaib.chain.advance_time(600)
        r = await griefer.send(fac.repay(deal_id, 1), what="a cent")
        spent += events(p.facility, "Repaid", r)[0]["interest"]
    assert spent > 0
    # The income paid at t0 vested in full on its own schedule; the griefer's units vest on theirs.
    assert await said.totalAssets().call() >= base + income
    assert len(await said.vestingSchedule().call()) <= 9


@pytest.mark.asyncio
async def test_live_tranches_stay_bounded_and_merge_exactly(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    await staked_with_rewarder(gaib, actors, 1_000 * AID)
    admin = actors.admin
    total = 0
    for _ in range(40):  # one distribution every 12 minutes for 8 hours
        await admin.send(said.transferInRewards(AID), what="income")
        total += AID
        await gaib.chain.advance_time(720)
        assert await said.trancheTail().call() - await said.trancheHead().call() <= 9
    live = await said.vestingSchedule().call()
    assert sum(t[0] for t in live) == await said.unvestedAmount().call()
    await gaib.chain.advance_time(VESTING)
    assert await said.unvestedAmount().call() == 0
    assert await said.totalAssets().call() == 1_000 * AID + total


@pytest.mark.asyncio
async def test_the_sdk_refuses_a_cure_of_a_deal_that_is_not_impaired(gaib: Gaib, actors: Actors) -> None:
    await stake(gaib, actors.investor, 100_000 * AID)
    deal_id = await deal(actors, 0xA6, 50_000 * USDC)
    with pytest.raises(GaibValueError, match="not impaired"):
        await actors.admin.deals.cure(deal_id)


@pytest.mark.asyncio
async def test_a_loss_above_the_markdown_cuts_unvested_income_and_a_write_back_never_exceeds_the_vault(
    gaib: Gaib, actors: Actors
) -> None:
    p = gaib.protocol
    said = p.said.functions
    stake_ = 1_000 * AID
    await staked_with_rewarder(gaib, actors, stake_)
    admin = actors.admin
    await admin.send(said.markDown(100 * AID), what="mark down")
    await admin.send(said.transferInRewards(50 * AID), what="income")
    # realized: the loss (130) is above the markdown (100): the 30 over it comes out of unvested income
    result = await admin.send(said.realizeMarkdown(100 * AID, 130 * AID), what="realize")
    (ev,) = events(p.said, "MarkdownRealized", result)
    assert (ev["released"], ev["aidBurned"], ev["vestingBack"]) == (100 * AID, 130 * AID, 0)
    assert ev["fromUnvested"] == 30 * AID
    assert await said.writedown().call() == 0
    reason = await reverts(admin.send(said.realizeMarkdown(1, 0), what="again"), "WritedownUnderflow")
    assert "writedown=0" in reason
    # A vault under water: marked down by twice what it holds, then a write-back of half of it vests back
    # nothing it does not have (the other half still claims everything held)
    await gaib.chain.advance_time(VESTING)
    held = await p.aid.functions.balanceOf(p.said.address).call()
    await admin.send(said.markDown(2 * held), what="mark down")
    assert await said.totalAssets().call() == 0
    await admin.send(said.markUp(held), what="mark half back up")
    assert await said.unvestedAmount().call() == 0
    await gaib.chain.advance_time(VESTING)
    assert await said.totalAssets().call() == 0
    # the rest written back: all of it vests back, and the vault is whole again
    await admin.send(said.markUp(held), what="mark the rest back up")
    assert await said.unvestedAmount().call() == held
    await gaib.chain.advance_time(VESTING)
    assert await said.totalAssets().call() == held


@pytest.mark.asyncio
async def test_nobody_buys_a_vault_under_water_for_nothing(gaib: Gaib, actors: Actors) -> None:
    """Attack: a default marks a deal bigger than the vault down, the share price is 0, and a newcomer would
    buy almost every share for 1 AID, then take the recovery as the sale's proceeds vest back. Deposits wait
    while the vault is under water; maxDeposit and maxMint say 0, as ERC-4626 asks of a deposit that fails."""
    p = gaib.protocol
    said = p.said.functions
    await staked_with_rewarder(gaib, actors, 1_000 * AID)
    await gaib.chain.advance_time(VESTING)
    held = await p.aid.functions.balanceOf(p.said.address).call()
    newcomer = gaib.with_account(7)
    await stake(gaib, newcomer, 10 * AID)  # allowed while the vault is whole
    await gaib.faucet(newcomer.address, Decimal(5))
    await mint_aid(newcomer, 5 * USDC)
    await gaib.send(said.markDown(2 * held), what="a default bigger than the vault")
    assert await said.totalAssets().call() == 0
    assert await said.underWater().call()
    assert (await said.maxDeposit(newcomer.address).call(), await said.maxMint(newcomer.address).call()) == (0, 0)
    await reverts(newcomer.send(said.deposit(AID, newcomer.address), what="stake"), "VaultUnderWater")
    await reverts(newcomer.send(said.mint(AID, newcomer.address), what="mint shares"), "VaultUnderWater")
    with pytest.raises(Exception, match="VaultUnderWater"):
        await newcomer.said.stake(Decimal(1))
    # the markdown written back (a cure, a sale): deposits open again, at the price the vesting gives
    await gaib.send(said.markUp(2 * held), what="written back")
    assert not await said.underWater().call()
    await gaib.chain.advance_time(VESTING)
    assert await said.maxDeposit(newcomer.address).call() > 0
    await newcomer.send(said.deposit(AID, newcomer.address), what="stake")
