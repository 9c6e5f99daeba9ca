"""Security fixes of issue 12, item 5, for AID, sAID and the SY wrapper: the per-block redeem cap holds on
every path that pays out, and the deny list checks the caller (a spender, an ERC-7540 operator) and the
receiver too, in the SY wrapper as well. Each test is the attack first; contract calls go straight to the
bindings, so each revert is the contract's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from web3.contract import AsyncContract

from gaib_sdk import Gaib, GaibValueError
from gaib_sdk.chain import load_artifact

from .conftest import Actors
from .test_contracts import MAX_UINT, USDC, assert_backed, events, mint_aid, reverts, send_raw

AID = 10**18


async def whitelisted_with_aid(gaib: Gaib, who: Gaib, usdc_units: int) -> None:
    await gaib.aid.whitelist(who.address)
    await gaib.faucet(who.address, Decimal(usdc_units // USDC))
    await mint_aid(who, usdc_units)


@pytest.mark.asyncio
async def test_request_redemption_then_claim_cannot_skip_the_redeem_cap(gaib: Gaib, actors: Actors) -> None:
    """The issue's attack: under a 10,000 USDC per-block cap, requestRedemption (filled at once from the
    reserve) then claim moved 1,000,000 USDC in one transaction."""
    p = gaib.protocol
    aid = p.aid.functions
    investor = actors.investor
    await whitelisted_with_aid(gaib, investor, 1_000_000 * USDC)
    await actors.admin.send(aid.setCaps(2_000_000 * USDC, 10_000 * USDC), what="caps")
    reason = await reverts(investor.send(aid.requestRedemption(1_000_000 * AID), what="request"), "RedeemCapExceeded")
    assert "requested=1000000000000" in reason and "remaining=10000000000" in reason
    assert await aid.claimable(investor.address).call() == 0
    # Within the cap a request still goes through, and counts: the cap is one budget per block for redeem,
    # redeemTo and requestRedemption alike.
    result = await investor.send(aid.requestRedemption(10_000 * AID), what="request")
    assert await aid.redeemedInBlock().call() == 10_000 * USDC
    assert await aid.capBlock().call() == result.block_number
    assert await aid.claimable(investor.address).call() == 10_000 * USDC
    await investor.send(aid.claim(), what="claim")
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_redeem_and_request_redemption_share_one_cap_in_a_block(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    aid = p.aid.functions
    investor, other = actors.investor, actors.lender
    await whitelisted_with_aid(gaib, investor, 100_000 * USDC)
    await whitelisted_with_aid(gaib, other, 100_000 * USDC)
    await actors.admin.send(aid.setCaps(2_000_000 * USDC, 10_000 * USDC), what="caps")
    w3 = gaib.chain.w3
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.disable_auto_mine_transactions()
    try:
        hashes = [
            await send_raw(gaib, investor, aid.redeem(6_000 * AID)),
            await send_raw(gaib, other, aid.requestRedemption(6_000 * AID)),
        ]
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    r1, r2 = [await w3.eth.get_transaction_receipt(h) for h in hashes]
    assert r1["blockNumber"] == r2["blockNumber"]
    assert (r1["status"], r2["status"]) == (1, 0)
    assert await aid.redeemedInBlock().call() == 6_000 * USDC
    assert await aid.queueLength().call() == 0
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_the_sdk_refuses_a_queued_redemption_above_the_cap(gaib: Gaib, actors: Actors) -> None:
    await whitelisted_with_aid(gaib, actors.investor, 50_000 * USDC)
    await actors.admin.send(gaib.protocol.aid.functions.setCaps(2_000_000 * USDC, 10_000 * USDC), what="caps")
    with pytest.raises(GaibValueError, match="per-block redeem cap of 10000 USDC"):
        await actors.investor.aid.request_redemption(Decimal(20_000))


@pytest.mark.asyncio
async def test_a_denied_spender_cannot_move_others_aid_or_said(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    owner, spender, third = actors.investor, actors.outsider, actors.lender
    await whitelisted_with_aid(gaib, owner, 10_000 * USDC)
    await owner.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve")
    await owner.send(p.said.functions.deposit(5_000 * AID, owner.address), what="stake")
    await owner.send(p.aid.functions.approve(spender.address, MAX_UINT), what="approve spender")
    await owner.send(p.said.functions.approve(spender.address, MAX_UINT), what="approve spender")
    await gaib.aid.deny(spender.address)
    reason = await reverts(
        spender.send(p.aid.functions.transferFrom(owner.address, third.address, AID), what="move AID"), "AccountDenied"
    )
    assert spender.address.lower() in reason.lower()
    reason = await reverts(
        spender.send(p.said.functions.transferFrom(owner.address, third.address, AID), what="move sAID"),
        "AccountDenied",
    )
    assert spender.address.lower() in reason.lower()
    # Nor by queueing the owner's shares for exit with the allowance, to a controller of its choosing.
    reason = await reverts(
        spender.send(p.said.functions.requestRedeem(AID, third.address, owner.address), what="exit"), "AccountDenied"
    )
    assert spender.address.lower() in reason.lower()
    # Allowed again, the same calls go through.
    await gaib.aid.deny(spender.address, False)
    await spender.send(p.aid.functions.transferFrom(owner.address, third.address, AID), what="move AID")
    await spender.send(p.said.functions.transferFrom(owner.address, third.address, AID), what="move sAID")


@pytest.mark.asyncio
async def test_a_denied_operator_can_neither_request_nor_claim_and_denied_max_is_zero(
    gaib: Gaib, actors: Actors
) -> None:
    p = gaib.protocol
    said = p.said.functions
    owner, operator, third = actors.investor, actors.outsider, actors.lender
    await whitelisted_with_aid(gaib, owner, 10_000 * USDC)
    await owner.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve")
    await owner.send(said.deposit(5_000 * AID, owner.address), what="stake")
    await owner.send(said.setOperator(operator.address, True), what="operator")
    await owner.send(said.requestRedeem(2_000 * AID, owner.address, owner.address), what="exit")
    await gaib.chain.advance_time(await said.nextCycleAt().call() - await gaib.chain.timestamp())
    await gaib.send(said.processCycle(10), what="cycle")
    claimable = await said.maxRedeem(owner.address).call()
    assert claimable == 2_000 * AID
    await gaib.aid.deny(operator.address)
    reason = await reverts(
        operator.send(said.requestRedeem(AID, operator.address, owner.address), what="exit"), "AccountDenied"
    )
    assert operator.address.lower() in reason.lower()
    for call in (said.redeem(AID, third.address, owner.address), said.withdraw(AID, third.address, owner.address)):
        reason = await reverts(operator.send(call, what="claim"), "AccountDenied")
        assert operator.address.lower() in reason.lower()
    # A claim to a denied receiver is refused by sAID itself, not only by AID's transfer.
    await gaib.aid.deny(operator.address, False)
    await gaib.aid.deny(third.address)
    reason = await reverts(owner.send(said.redeem(AID, third.address, owner.address), what="claim"), "AccountDenied")
    assert third.address.lower() in reason.lower()
    # A denied controller: its max* are 0 (ERC-4626: a max must not lead to a revert), and back when allowed.
    await gaib.aid.deny(owner.address)
    assert (await said.maxRedeem(owner.address).call(), await said.maxWithdraw(owner.address).call()) == (0, 0)
    assert (await said.maxDeposit(owner.address).call(), await said.maxMint(owner.address).call()) == (0, 0)
    await gaib.aid.deny(owner.address, False)
    assert await said.maxRedeem(owner.address).call() == claimable
    # The SDK refuses a claim by a denied operator before sending.
    await gaib.aid.deny(operator.address)
    with pytest.raises(GaibValueError, match="deny list"):
        await operator.said.claim_unstake(controller=owner.address, receiver=operator.address)


async def deploy_sy(gaib: Gaib) -> AsyncContract:
    artifact = load_artifact("SAIDStandardizedYield")
    deployed = await gaib.chain.deploy(artifact, [gaib.protocol.said.address], gaib.account)
    assert deployed.contract_address is not None
    return gaib.chain.contract(deployed.contract_address, artifact["abi"])


@pytest.mark.asyncio
async def test_a_denied_account_cannot_exit_its_value_through_the_sy_wrapper(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    sy = await deploy_sy(gaib)
    holder, friend = actors.investor, actors.lender
    await whitelisted_with_aid(gaib, holder, 10_000 * USDC)
    await holder.send(p.aid.functions.approve(sy.address, MAX_UINT), what="approve")
    result = await holder.send(sy.functions.deposit(holder.address, p.aid.address, 5_000 * AID, 0), what="into SY")
    assert [e["amountSyOut"] for e in events(sy, "Deposit", result)] == [5_000 * AID - 10**6]
    await holder.send(sy.functions.approve(friend.address, MAX_UINT), what="approve friend")
    await gaib.aid.deny(holder.address)
    said = p.said.address
    # Out to a friend, directly, by transfer, or through a spender: all refused.
    for call in (
        sy.functions.redeem(friend.address, AID, said, 0, False),
        sy.functions.transfer(friend.address, AID),
    ):
        reason = await reverts(holder.send(call, what="exit through SY"), "AccountDenied")
        assert holder.address.lower() in reason.lower()
    await reverts(
        friend.send(sy.functions.transferFrom(holder.address, friend.address, AID), what="pull"), "AccountDenied"
    )
    # Nor in: a denied account neither deposits nor receives SY.
    await reverts(
        holder.send(sy.functions.deposit(friend.address, p.aid.address, AID, 0), what="deposit"), "AccountDenied"
    )
    await whitelisted_with_aid(gaib, friend, 1_000 * USDC)
    await friend.send(p.aid.functions.approve(sy.address, MAX_UINT), what="approve")
    await reverts(
        friend.send(sy.functions.deposit(holder.address, p.aid.address, AID, 0), what="deposit for"), "AccountDenied"
    )
    # A denied spender of someone else's SY is refused too.
    await friend.send(sy.functions.deposit(friend.address, p.aid.address, 10 * AID, 0), what="deposit")
    await friend.send(sy.functions.approve(holder.address, MAX_UINT), what="approve holder")
    await reverts(
        holder.send(sy.functions.transferFrom(friend.address, actors.outsider.address, AID), what="pull"),
        "AccountDenied",
    )
    assert await sy.functions.balanceOf(holder.address).call() == 5_000 * AID - 10**6
