"""sAID's asynchronous exit (ERC-7540 redeem requests, monthly withdrawal cycles, claims) on the contract, and
one flow through the client on a real node (anvil), crash-safe resume by journal key included.

Contract tests call the bindings directly: the SDK's own pre-checks are bypassed, every revert is the
contract's. Amounts in base units: USDC 6 decimals, AID and sAID 18.
"""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector, keccak
from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk import Gaib, GaibError, GaibValueError
from gaib_sdk.chain import TxResult, decode_revert, load_artifact
from gaib_sdk.chain.artifacts import revert_data
from gaib_sdk.errors import TransactionFailed

from .anvil import KEYS, Anvil
from .conftest import Actors
from .faults import Faults

USDC = 10**6
AID = 10**18
SCALE = 10**12
DAY = 86_400
MAX_UINT = 2**256 - 1
DEAD_SHARES = 10**6


async def reverts(call: Awaitable[Any], error: str) -> str:
    with pytest.raises(TransactionFailed) as exc:
        await call
    reason = exc.value.reason
    assert reason is not None and reason.startswith(error + "("), reason
    return reason


async def view_reverts(call: Awaitable[Any], error: str) -> None:
    with pytest.raises(Exception) as exc:  # noqa: B017 (web3's own error for a view; decoded below)
        await call
    data = revert_data(exc.value)
    assert data is not None and (decode_revert(data) or ("",))[0] == error


def events(contract: AsyncContract, name: str, result: TxResult) -> list[Any]:
    return [e["args"] for e in getattr(contract.events, name)().process_receipt({"logs": result.logs}, errors=DISCARD)]


class Crash(BaseException):
    """The process dies (not an error the SDK could handle)."""


def interface_id(*signatures: str) -> bytes:
    out = 0
    for sig in signatures:
        out ^= int.from_bytes(function_signature_to_4byte_selector(sig), "big")
    return out.to_bytes(4, "big")


async def staked(gaib: Gaib, who: Gaib, aid_units: int) -> None:
    p = gaib.protocol
    await gaib.aid.whitelist(who.address)
    await gaib.faucet(who.address, Decimal(aid_units // AID))
    await who.send(p.usdc.functions.approve(p.aid.address, MAX_UINT), what="approve USDC")
    await who.send(p.aid.functions.mint(aid_units // SCALE), what="mint")
    await who.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await who.send(p.said.functions.deposit(aid_units, who.address), what="stake")


async def to_cycle(gaib: Gaib) -> None:
    due, now = await gaib.protocol.said.functions.nextCycleAt().call(), await gaib.chain.timestamp()
    if now < due:
        await gaib.chain.advance_time(due - now)


@pytest.mark.asyncio
async def test_request_operators_interfaces_and_previews(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    investor, lender, outsider = actors.investor, actors.lender, actors.outsider
    await staked(gaib, investor, 1_000 * AID)
    shares = 1_000 * AID - DEAD_SHARES
    assert await said.balanceOf(investor.address).call() == shares

    # ERC-165: the 7540 operator and async-redeem interfaces, ERC-7575's share(), AccessControl's; not others
    operator_id = interface_id("setOperator(address,bool)", "isOperator(address,address)")
    redeem_id = interface_id(
        "requestRedeem(uint256,address,address)",
        "pendingRedeemRequest(uint256,address)",
        "claimableRedeemRequest(uint256,address)",
    )
    assert (operator_id.hex(), redeem_id.hex()) == ("e3bc4e65", "620ee8e4")  # as EIP-7540 lists them
    for iid in (operator_id, redeem_id, interface_id("share()"), bytes.fromhex("01ffc9a7")):
        assert await said.supportsInterface(iid).call(), iid.hex()
    assert not await said.supportsInterface(bytes.fromhex("ce3bbe50")).call()  # 7540 async deposit: not offered
    assert await said.share().call() == p.said.address

    # previews of an asynchronous exit revert, as ERC-7540 requires; max* say what is claimable (nothing yet)
    await view_reverts(said.previewRedeem(AID).call(), "AsyncRedeem")
    await view_reverts(said.previewWithdraw(AID).call(), "AsyncRedeem")
    assert await said.maxRedeem(investor.address).call() == 0
    assert await said.maxWithdraw(investor.address).call() == 0

    # requests: nothing, for a deny-listed controller, from someone else's shares without leave: refused
    await reverts(investor.send(said.requestRedeem(0, investor.address, investor.address), what="r"), "ZeroShares")
    await gaib.aid.deny(outsider.address)
    await reverts(investor.send(said.requestRedeem(AID, outsider.address, investor.address), what="r"), "AccountDenied")
    await gaib.aid.deny(outsider.address, False)
    await reverts(
        lender.send(said.requestRedeem(AID, lender.address, investor.address), what="r"), "ERC20InsufficientAllowance"
    )
    await reverts(
        investor.send(said.requestRedeem(shares + 1, investor.address, investor.address), what="r"),
        "ERC20InsufficientBalance",
    )

    # the owner's own request: shares locked in the vault, pending under the returned id
    result = await investor.send(said.requestRedeem(100 * AID, investor.address, investor.address), what="request")
    (ev,) = events(p.said, "RedeemRequest", result)
    assert dict(ev) == {
        "controller": investor.address,
        "owner": investor.address,
        "requestId": 0,
        "sender": investor.address,
        "shares": 100 * AID,
    }
    assert await said.balanceOf(p.said.address).call() == 100 * AID
    assert await said.pendingRedeemRequest(0, investor.address).call() == 100 * AID
    assert await said.claimableRedeemRequest(0, investor.address).call() == 0
    assert await said.pendingRedeemRequest(0, lender.address).call() == 0  # not its controller
    assert await said.pendingRedeemRequest(7, investor.address).call() == 0  # no such request
    assert await said.queueLength().call() == 1 and await said.totalPendingShares().call() == 100 * AID

    # an operator requests for the owner, with the lender as controller (who will claim)
    result = await investor.send(said.setOperator(lender.address, True), what="operator")
    assert [dict(e) for e in events(p.said, "OperatorSet", result)] == [
        {"controller": investor.address, "operator": lender.address, "approved": True}
    ]
    assert await said.isOperator(investor.address, lender.address).call()
    result = await lender.send(said.requestRedeem(50 * AID, lender.address, investor.address), what="request")
    (ev,) = events(p.said, "RedeemRequest", result)
    # the same round (request id 0): requests of one round are fungible, each controller has its own part
    assert (ev["controller"], ev["owner"], ev["requestId"], ev["sender"]) == (
        lender.address,
        investor.address,
        0,
        lender.address,
    )
    assert await said.pendingRedeemRequest(0, lender.address).call() == 50 * AID
    assert await said.pendingRedeemRequest(0, investor.address).call() == 100 * AID
    await investor.send(said.setOperator(lender.address, False), what="revoke")
    assert not await said.isOperator(investor.address, lender.address).call()
    await reverts(
        lender.send(said.requestRedeem(AID, lender.address, investor.address), what="r"), "ERC20InsufficientAllowance"
    )
    # an ERC-20 allowance is enough too, and is spent
    await investor.send(said.approve(outsider.address, 10 * AID), what="approve sAID")
    await outsider.send(said.requestRedeem(10 * AID, outsider.address, investor.address), what="request")
    assert await said.allowance(investor.address, outsider.address).call() == 0
    assert await said.balanceOf(investor.address).call() == shares - 160 * AID

    # pause (its own PAUSER_ROLE): no deposits, no requests, max* say 0; claims of filled requests still work
    await reverts(outsider.send(said.pause(), what="pause"), "AccessControlUnauthorizedAccount")
    await gaib.send(said.pause(), what="pause")
    assert await said.maxDeposit(investor.address).call() == 0 and await said.maxMint(investor.address).call() == 0
    await reverts(investor.send(said.deposit(AID, investor.address), what="d"), "EnforcedPause")
    await reverts(investor.send(said.mint(AID, investor.address), what="m"), "EnforcedPause")
    await reverts(investor.send(said.requestRedeem(AID, investor.address, investor.address), what="r"), "EnforcedPause")
    await to_cycle(gaib)
    await reverts(gaib.send(said.processCycle(10), what="cycle"), "EnforcedPause")
    await gaib.send(said.unpause(), what="unpause")
    # unpaused: the AID the shares that the 128-bit balances still hold are worth
    supply, total = await said.totalSupply().call(), await said.totalAssets().call()
    assert await said.maxDeposit(investor.address).call() == (2**128 - 1 - supply) * total // supply
    assert await said.maxMint(investor.address).call() == 2**128 - 1 - supply
    await gaib.aid.deny(outsider.address)
    assert await said.maxDeposit(outsider.address).call() == 0 and await said.maxMint(outsider.address).call() == 0


async def income(gaib: Gaib, aid_units: int) -> None:
    """The admin pays ``aid_units`` of income into sAID, vested at once (and keeps 10,000 AID more)."""
    p = gaib.protocol
    said = p.said.functions
    await gaib.send(said.grantRole(keccak(text="REWARDER_ROLE"), gaib.address), what="grant")
    await gaib.aid.whitelist(gaib.address)
    usdc = -(-aid_units // SCALE) + 10_000 * USDC
    await gaib.faucet(gaib.address, Decimal(usdc) / USDC + 1)
    await gaib.send(p.usdc.functions.approve(p.aid.address, MAX_UINT), what="approve")
    await gaib.send(p.aid.functions.mint(usdc), what="mint")
    await gaib.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve")
    await gaib.send(said.setVestingPeriod(0), what="no vesting")
    await gaib.send(said.transferInRewards(aid_units), what="income")


@pytest.mark.asyncio
async def test_a_round_fills_at_the_processing_price_and_claims_pay_once(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    investor, lender, outsider = actors.investor, actors.lender, actors.outsider
    await staked(gaib, investor, 1_000 * AID)
    await staked(gaib, lender, 1_000 * AID)
    await staked(gaib, outsider, 1_000 * AID)
    # three requests in the open round 0: the investor's two merge into its one request of that round
    for who, shares in ((investor, 300 * AID), (lender, 200 * AID), (investor, 100 * AID)):
        result = await who.send(said.requestRedeem(shares, who.address, who.address), what="request")
        assert events(p.said, "RedeemRequest", result)[0]["requestId"] == 0
    assert await said.pendingRedeemRequest(0, investor.address).call() == 400 * AID
    assert await said.redeemRequestOf(investor.address).call() == [0, 400 * AID, 400 * AID]
    assert (await said.openRound().call(), await said.openRoundShares().call()) == (0, 600 * AID)
    assert await said.queueLength().call() == 1 and await said.totalPendingShares().call() == 600 * AID

    # the cycle: 30 days by default, due from deployment; only the withdrawal manager processes it, once due
    assert await said.cycleLength().call() == 30 * DAY
    reason = await reverts(gaib.send(said.processCycle(10), what="early"), "CycleNotDue")
    assert f"nextCycleAt={await said.nextCycleAt().call()}" in reason
    await to_cycle(gaib)
    await reverts(outsider.send(said.processCycle(10), what="cycle"), "AccessControlUnauthorizedAccount")

    # income paid in (and vested) before processing: pending shares earn it, and the fill is at that price
    await income(gaib, 100 * AID)
    total, supply = await said.totalAssets().call(), await said.totalSupply().call()
    assert total == 3_100 * AID
    price = await said.sharePrice().call()

    # a processing bounded to 0 rounds closes round 0 and fills nothing: the cycle stays open
    result = await gaib.send(said.processCycle(0), what="cycle, part 1")
    assert events(p.said, "RedeemFilled", result) == []
    (cycle,) = events(p.said, "CycleProcessed", result)
    assert (cycle["cycle"], cycle["closed"]) == (0, False)
    assert await said.cycleInProgress().call() and await said.openRound().call() == 1
    # a request made while the cycle is being processed joins round 1 and waits for the next cycle
    result = await outsider.send(said.requestRedeem(50 * AID, outsider.address, outsider.address), what="r")
    assert events(p.said, "RedeemRequest", result)[0]["requestId"] == 1
    # a controller waits in one round at a time: the lender's round 0 is not filled yet
    reason = await reverts(
        lender.send(said.requestRedeem(AID, lender.address, lender.address), what="r"), "RequestPending"
    )
    assert f"pending={200 * AID}" in reason
    result = await gaib.send(said.processCycle(10), what="cycle, part 2")
    (fill,) = events(p.said, "RedeemFilled", result)
    set_aside = 600 * AID * total // supply
    assert dict(fill) == {"requestId": 0, "shares": 600 * AID, "assets": set_aside, "pending": 0}
    (cycle,) = events(p.said, "CycleProcessed", result)
    assert (cycle["cycle"], cycle["closed"], cycle["shares"], cycle["assets"]) == (0, True, 600 * AID, set_aside)
    now = int((await gaib.chain.w3.eth.get_block(result.block_number))["timestamp"])
    assert await said.nextCycleAt().call() == now + 30 * DAY == cycle["nextCycleAt"]
    assert await said.currentCycle().call() == 1 and not await said.cycleInProgress().call()
    assert await said.pendingRedeemRequest(1, outsider.address).call() == 50 * AID
    assert await said.rounds(0).call() == [600 * AID, True, set_aside]
    assert await said.queueLength().call() == 1  # round 1, open, with the outsider's request

    # filled shares are burned and their AID sits in the escrow: out of totalAssets; the price did not fall
    assert await said.totalSupply().call() == supply - 600 * AID
    assert await said.totalPendingShares().call() == 50 * AID == await said.balanceOf(p.said.address).call()
    escrow = await said.escrow().call()
    assert await p.aid.functions.balanceOf(escrow).call() == set_aside
    assert await said.totalAssets().call() == total - set_aside
    assert await said.sharePrice().call() >= price
    # each controller's part of the round: its fraction of what the round set aside, rounded down
    inv_owed = 400 * AID * set_aside // (600 * AID)
    assert await said.maxRedeem(investor.address).call() == 400 * AID
    assert await said.maxWithdraw(investor.address).call() == inv_owed
    assert await said.claimableRedeemRequest(0, investor.address).call() == 400 * AID
    assert await said.pendingRedeemRequest(0, investor.address).call() == 0

    # only the vault releases what the escrow holds
    escrowed = await p.aid.functions.balanceOf(escrow).call()
    await reverts(gaib.send(load_escrow(gaib, escrow).functions.release(gaib.address, 1), what="steal"), "OnlyVault")

    # claims: only the controller or its operator; never more than filled; nothing twice
    await reverts(outsider.send(said.redeem(AID, outsider.address, investor.address), what="c"), "NotAuthorized")
    await reverts(
        investor.send(said.redeem(400 * AID + 1, investor.address, investor.address), what="c"), "ExceedsClaimable"
    )
    await reverts(investor.send(said.redeem(0, investor.address, investor.address), what="c"), "ZeroShares")
    await reverts(investor.send(said.withdraw(0, investor.address, investor.address), what="c"), "ZeroAmount")
    await reverts(
        investor.send(said.withdraw(inv_owed + 1, investor.address, investor.address), what="c"), "ExceedsClaimable"
    )
    before = await p.aid.functions.balanceOf(investor.address).call()
    # withdraw by assets: the shares used are rounded up (against the claimant)
    result = await investor.send(said.withdraw(AID, investor.address, investor.address), what="claim 1 AID")
    (w,) = events(p.said, "Withdraw", result)
    assert (w["sender"], w["receiver"], w["owner"], w["assets"]) == (
        investor.address,
        investor.address,
        investor.address,
        AID,
    )
    assert w["shares"] == -(-AID * 400 * AID // inv_owed)
    assert await said.claimableRedeemRequest(0, investor.address).call() == 400 * AID - w["shares"]
    assert await said.maxRedeem(investor.address).call() == 400 * AID - w["shares"]
    # the rest by an operator, paid to another account
    await investor.send(said.setOperator(outsider.address, True), what="operator")
    rest = await said.maxRedeem(investor.address).call()
    result = await outsider.send(said.redeem(rest, lender.address, investor.address), what="claim rest")
    (w2,) = events(p.said, "Withdraw", result)
    assert (w2["sender"], w2["receiver"], w2["owner"], w2["shares"]) == (
        outsider.address,
        lender.address,
        investor.address,
        rest,
    )
    assert w["assets"] + w2["assets"] == inv_owed  # exactly its part: nothing more, nothing lost
    assert await p.aid.functions.balanceOf(investor.address).call() == before + AID
    assert await said.maxRedeem(investor.address).call() == 0 == await said.maxWithdraw(investor.address).call()
    await reverts(investor.send(said.redeem(1, investor.address, investor.address), what="again"), "ExceedsClaimable")
    assert await p.aid.functions.balanceOf(escrow).call() == escrowed - inv_owed

    # the lender, filled and not claimed, requests again: its filled request is kept (overflow), the new one
    # joins the open round 1
    lender_owed = 200 * AID * set_aside // (600 * AID)
    result = await lender.send(said.requestRedeem(30 * AID, lender.address, lender.address), what="again")
    assert events(p.said, "RedeemRequest", result)[0]["requestId"] == 1
    assert await said.pendingRedeemRequest(1, lender.address).call() == 30 * AID
    assert await said.maxRedeem(lender.address).call() == 200 * AID
    assert await said.maxWithdraw(lender.address).call() == lender_owed
    result = await lender.send(said.redeem(200 * AID, lender.address, lender.address), what="claim")
    assert events(p.said, "Withdraw", result)[0]["assets"] == lender_owed
    assert await said.pendingRedeemRequest(1, lender.address).call() == 30 * AID
    # the next cycle fills round 1: the lender's and the outsider's requests, at that cycle's price
    await to_cycle(gaib)
    result = await gaib.send(said.processCycle(10), what="cycle 1")
    (fill,) = events(p.said, "RedeemFilled", result)
    assert (fill["requestId"], fill["shares"], fill["pending"]) == (1, 80 * AID, 0)
    assert await said.maxRedeem(lender.address).call() == 30 * AID
    assert await said.maxWithdraw(lender.address).call() == 30 * AID * fill["assets"] // (80 * AID)
    assert await said.claimableRedeemRequest(1, lender.address).call() == 30 * AID
    # a deny-listed controller cannot claim
    await gaib.aid.deny(lender.address)
    await reverts(lender.send(said.redeem(AID, lender.address, lender.address), what="c"), "AccountDenied")


def load_escrow(gaib: Gaib, address: str) -> AsyncContract:
    return gaib.chain.contract(address, load_artifact("RedeemEscrow")["abi"])


@pytest.mark.asyncio
async def test_a_per_cycle_cap_cuts_a_round_pro_rata_and_a_loss_spares_the_escrow(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    investor, lender = actors.investor, actors.lender
    await staked(gaib, investor, 1_000 * AID)
    await staked(gaib, lender, 1_000 * AID)

    for length, cap in ((3_599, 0), (366 * DAY, 0), (DAY, 10_001)):
        await reverts(gaib.send(said.setCycle(length, cap), what="bad"), "BadCycle")
    await reverts(investor.send(said.setCycle(DAY, 0), what="c"), "AccessControlUnauthorizedAccount")
    # a 1-day cycle, at most 10% of AID's USDC reserve (2,000 USDC) released per cycle: 200 AID
    result = await gaib.send(said.setCycle(DAY, 1_000), what="cycle")
    now = int((await gaib.chain.w3.eth.get_block(result.block_number))["timestamp"])
    (ev,) = events(p.said, "CycleSet", result)
    assert (ev["cycleLength"], ev["cycleCapBps"], ev["nextCycleAt"]) == (DAY, 1_000, now + DAY)
    assert await said.cycleCap().call() == 200 * AID

    await investor.send(said.requestRedeem(100 * AID, investor.address, investor.address), what="r0")
    await lender.send(said.requestRedeem(200 * AID, lender.address, lender.address), what="r1")
    await to_cycle(gaib)
    result = await gaib.send(said.processCycle(10), what="cycle 0")
    # the cap cuts round 0: 200 of its 300 shares, each request by the same two thirds; the rest rolls over
    assert [dict(f) for f in events(p.said, "RedeemFilled", result)] == [
        {"requestId": 0, "shares": 200 * AID, "assets": 200 * AID, "pending": 100 * AID}
    ]
    assert events(p.said, "CycleProcessed", result)[0]["closed"]
    inv_part = 100 * AID * 2 // 3  # rounded down: never more than its fraction
    assert await said.pendingRedeemRequest(0, investor.address).call() == 100 * AID - inv_part
    assert await said.claimableRedeemRequest(0, investor.address).call() == inv_part
    assert await said.claimableRedeemRequest(0, lender.address).call() == 200 * AID * 2 // 3
    assert await said.maxWithdraw(lender.address).call() == 200 * AID * 2 // 3
    assert (await said.queueHead().call(), await said.headFilled().call()) == (0, 200 * AID)
    await reverts(gaib.send(said.processCycle(10), what="again"), "CycleNotDue")
    # still pending in round 0: a new request is refused, not queued behind anyone's back
    reason = await reverts(
        lender.send(said.requestRedeem(AID, lender.address, lender.address), what="r"), "RequestPending"
    )
    assert "requestId=0" in reason
    # the lender takes what is filled now; the rest of its request stays in line
    part = await said.maxRedeem(lender.address).call()
    result = await lender.send(said.redeem(part, lender.address, lender.address), what="claim part")
    first_paid = events(p.said, "Withdraw", result)[0]["assets"]
    assert first_paid == 200 * AID * 2 // 3
    assert await said.maxRedeem(lender.address).call() == 0
    assert await said.pendingRedeemRequest(0, lender.address).call() == 200 * AID - part

    # a realized loss: AIDollar burns the vault's own AID, never the escrow's
    escrow = await said.escrow().call()
    in_escrow = await p.aid.functions.balanceOf(escrow).call()
    vault_aid = await p.aid.functions.balanceOf(p.said.address).call()
    await gaib.send(p.aid.functions.grantRole(keccak(text="FACILITY_ROLE"), gaib.address), what="grant")
    await gaib.send(said.grantRole(keccak(text="REWARDER_ROLE"), gaib.address), what="grant")
    # (no deal is open: book some principal as deployed by funding a deal to the admin, then lose it)
    await gaib.send(p.aid.functions.fundDeal(gaib.address, 500 * USDC), what="fund")
    await gaib.send(p.aid.functions.realizeLoss(p.said.address, 500 * USDC), what="loss")
    await gaib.send(said.absorbLoss(500 * AID), what="absorb")
    assert await p.aid.functions.balanceOf(escrow).call() == in_escrow
    assert await p.aid.functions.balanceOf(p.said.address).call() == vault_aid - 500 * AID
    # the pending shares bear their part of the loss: filled next cycle at the lower price
    total, supply = await said.totalAssets().call(), await said.totalSupply().call()
    await to_cycle(gaib)
    result = await gaib.send(said.processCycle(10), what="cycle 1")
    (fill,) = events(p.said, "RedeemFilled", result)
    assert (fill["requestId"], fill["shares"], fill["assets"]) == (0, 100 * AID, 100 * AID * total // supply)
    assert fill["assets"] < 100 * AID
    round_aid = 200 * AID + fill["assets"]
    assert await said.rounds(0).call() == [300 * AID, True, round_aid]
    # each claim pays the holder's part of both fills, each at its own price, rounded down once
    result = await lender.send(said.redeem(200 * AID - part, lender.address, lender.address), what="claim")
    assert first_paid + events(p.said, "Withdraw", result)[0]["assets"] == 200 * AID * round_aid // (300 * AID)
    assert await said.maxRedeem(investor.address).call() == 100 * AID
    assert await said.maxWithdraw(investor.address).call() == 100 * AID * round_aid // (300 * AID)
    result = await investor.send(said.redeem(100 * AID, investor.address, investor.address), what="claim")
    assert events(p.said, "Withdraw", result)[0]["assets"] == 100 * AID * round_aid // (300 * AID)
    # the rounding down leaves at most a wei per holder in the escrow, never a shortfall
    assert 0 <= await p.aid.functions.balanceOf(escrow).call() <= 2
    assert await said.redeemRequestOf(lender.address).call() == [0, 0, 0]


@pytest.mark.asyncio
async def test_the_client_refuses_what_would_fail(actors: Actors) -> None:
    admin, investor, outsider = actors.admin, actors.investor, actors.outsider
    await investor.aid.mint(Decimal(1_000))
    await investor.said.stake(Decimal(500))
    with pytest.raises(GaibValueError, match="not due yet"):
        await admin.said.process_withdrawal_cycle()
    with pytest.raises(GaibError, match="lacks WITHDRAWAL_MANAGER_ROLE"):
        await outsider.said.process_withdrawal_cycle()
    with pytest.raises(GaibValueError, match="no filled exit to claim"):
        await investor.said.claim_unstake()
    with pytest.raises(GaibValueError, match="cycle length 60 s"):
        await admin.said.set_withdrawal_cycle(60)
    await admin.aid.deny(investor.address)
    with pytest.raises(GaibValueError, match="deny list"):
        await investor.said.request_unstake(Decimal(1))
    await admin.aid.deny(investor.address, False)
    sent = list(admin.chain.history)
    with pytest.raises(GaibValueError, match="must be more than 0"):
        await investor.said.request_unstake(0)
    assert admin.chain.history == sent


@pytest.mark.asyncio
async def test_request_cycle_claim_on_anvil_resume_after_a_crash(tmp_path: Path) -> None:
    """Through the client on a real node: a request whose answer is lost (the process 'crashes'), asked again
    by a restarted process with the same key and journal, is one request; the cycle fills it; a claim asked
    twice pays once."""
    node = Anvil().start()
    journal, deployments = tmp_path / "journal.sqlite", tmp_path / "d.json"
    clients: list[Gaib] = []
    try:
        admin = await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=journal)
        clients.append(admin)
        await admin.deploy()
        investor = admin.with_account(KEYS[1])
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(1_000))
        await investor.aid.mint(Decimal(1_000))
        await investor.said.stake(Decimal(1_000))
        await admin.said.set_withdrawal_cycle(3_600)

        def crash(method: str) -> None:
            raise Crash(method)

        faults = Faults()
        faults.on("eth_sendRawTransaction", "call", after=crash)  # the node takes it; the process dies
        crashing = await Gaib.connect(
            node.url, private_key=KEYS[1], deployments=deployments, journal=journal, transport=faults
        )
        clients.append(crashing)
        with pytest.raises(Crash):
            await crashing.said.request_unstake(Decimal(400), key="exit-2026-11")
        assert faults.injected["eth_sendRawTransaction:call"] == 1

        restarted = await Gaib.connect(node.url, private_key=KEYS[1], deployments=deployments, journal=journal)
        clients.append(restarted)
        request_id = await restarted.said.request_unstake(Decimal(400), key="exit-2026-11")
        assert request_id == 0
        assert await restarted.said.request_unstake(Decimal(400), key="exit-2026-11") == 0
        status = await restarted.said.unstake_status()
        assert (status["queue_length"], status["pending_shares"]) == (1, Decimal(400))
        assert await restarted.said.unstake_request(0) == {"pending_shares": Decimal(400), "claimable_shares": 0}

        await admin.chain.advance_time(3_600)
        cycle = await admin.said.process_withdrawal_cycle()
        assert (cycle["filled_shares"], cycle["set_aside_aid"], cycle["closed"]) == (Decimal(400), Decimal(400), True)
        assert (await restarted.said.unstake_status())["claimable_aid"] == Decimal(400)

        claimed = await restarted.said.claim_unstake(key="claim-2026-11")
        again = await restarted.said.claim_unstake(key="claim-2026-11")
        assert claimed.amount == again.amount == Decimal(400)
        assert again.tx_hashes == claimed.tx_hashes
        balances = await restarted.balances()
        assert balances["AID"] == Decimal(400)
        assert balances["sAID"] == Decimal(600) - Decimal("1e-12")
    finally:
        for client in clients:
            await client.close()
        node.stop()


@pytest.mark.asyncio
async def test_a_filled_claim_cannot_be_taken_by_anyone_else(gaib: Gaib, actors: Actors) -> None:
    """What a cycle set aside for a controller is paid to that controller's claims alone: not to another
    account, not diluted by a donation (to the vault or the escrow) or a deposit after the fill, not cut by a
    markdown or a realized loss after the fill, and rounding over many small requests never pays out more
    than was set aside."""
    p = gaib.protocol
    said = p.said.functions
    investor, lender, outsider = actors.investor, actors.lender, actors.outsider
    await staked(gaib, investor, 1_000 * AID)
    await staked(gaib, lender, 1_000 * AID)
    await staked(gaib, outsider, 1_000 * AID)
    # income first, so the fill price is not round: the shares' AID rounds down at every fill
    await income(gaib, 77 * AID + 7)

    # many small requests, odd sizes, interleaved between controllers: one round, one request each
    sizes = {investor: [1, 3, 333 * AID + 1, 7, 10**15 + 1], lender: [2, 5, 11, 10**17 + 3], outsider: [1, 9]}
    for k in range(max(len(v) for v in sizes.values())):
        for who, amounts in sizes.items():
            if k < len(amounts):
                result = await who.send(said.requestRedeem(amounts[k], who.address, who.address), what="request")
                assert events(p.said, "RedeemRequest", result)[0]["requestId"] == 0
    await to_cycle(gaib)
    result = await gaib.send(said.processCycle(100), what="cycle")
    (fill,) = events(p.said, "RedeemFilled", result)
    requested = sum(sum(v) for v in sizes.values())
    set_aside = fill["assets"]
    assert fill["shares"] == requested
    escrow = await said.escrow().call()
    assert await p.aid.functions.balanceOf(escrow).call() == set_aside
    owed = {w.address: await said.maxWithdraw(w.address).call() for w in sizes}
    filled = {w.address: await said.maxRedeem(w.address).call() for w in sizes}
    assert owed == {w.address: sum(a) * set_aside // requested for w, a in sizes.items()}
    assert sum(owed.values()) <= set_aside
    assert filled == {w.address: sum(a) for w, a in sizes.items()}
    for who in sizes:
        assert await said.claimableRedeemRequest(0, who.address).call() == sum(sizes[who])

    # another account: not the controller's operator, it cannot claim for it, nor has anything of its own
    await reverts(outsider.send(said.redeem(1, outsider.address, investor.address), what="c"), "NotAuthorized")
    await reverts(outsider.send(said.withdraw(1, outsider.address, investor.address), what="c"), "NotAuthorized")
    await reverts(lender.send(said.redeem(1, lender.address, investor.address), what="c"), "NotAuthorized")
    await reverts(
        outsider.send(said.redeem(filled[outsider.address] + 1, outsider.address, outsider.address), what="c"),
        "ExceedsClaimable",
    )
    # a donation to the vault: its holders' gain, none of it the investor's claim, none of the claim theirs
    price = await said.sharePrice().call()
    await gaib.send(p.aid.functions.transfer(p.said.address, 500 * AID), what="donation")
    assert await said.sharePrice().call() > price
    # a donation to the escrow: nobody's claim
    await gaib.send(p.aid.functions.transfer(escrow, 5 * AID), what="donation to the escrow")
    # a deposit after the fill buys shares at a price that leaves the set-aside AID out
    total, supply = await said.totalAssets().call(), await said.totalSupply().call()
    assert total == await p.aid.functions.balanceOf(p.said.address).call()  # nothing vesting, nothing marked down
    await gaib.send(said.deposit(1_000 * AID, gaib.address), what="deposit after the fill")
    assert await said.balanceOf(gaib.address).call() == 1_000 * AID * supply // total
    assert await said.maxRedeem(gaib.address).call() == 0
    # a markdown after the fill lowers the share price, not what the fill set aside
    await gaib.send(said.markDown(400 * AID), what="impairment")
    assert await said.writedown().call() == 400 * AID
    # a realized loss burns the vault's AID, never the escrow's
    await gaib.send(p.aid.functions.grantRole(keccak(text="FACILITY_ROLE"), gaib.address), what="grant")
    await gaib.send(p.aid.functions.fundDeal(gaib.address, 3_000 * USDC), what="fund")
    await gaib.send(p.aid.functions.realizeLoss(p.said.address, 3_000 * USDC), what="loss")
    assert await p.aid.functions.balanceOf(escrow).call() == set_aside + 5 * AID
    assert {w.address: await said.maxWithdraw(w.address).call() for w in sizes} == owed
    assert {w.address: await said.maxRedeem(w.address).call() for w in sizes} == filled

    # each controller claims in pieces (by shares, then by assets, then the rest): in all it gets exactly its
    # part, and the escrow pays out no wei more than it was given for the round
    paid = 0
    for who in sizes:
        before = await p.aid.functions.balanceOf(who.address).call()
        got = 0
        half = filled[who.address] // 2
        if half:
            result = await who.send(said.redeem(half, who.address, who.address), what="claim half")
            got += events(p.said, "Withdraw", result)[0]["assets"]
        left = await said.maxWithdraw(who.address).call()
        if left > 1:
            result = await who.send(said.withdraw(left // 3 or 1, who.address, who.address), what="claim a third")
            got += events(p.said, "Withdraw", result)[0]["assets"]
        rest = await said.maxRedeem(who.address).call()
        if rest:
            result = await who.send(said.redeem(rest, who.address, who.address), what="claim the rest")
            got += events(p.said, "Withdraw", result)[0]["assets"]
        left = await said.maxWithdraw(who.address).call()
        if left:  # AID left with no share to claim it by (withdraw by assets rounds the shares up)
            result = await who.send(said.withdraw(left, who.address, who.address), what="claim the dust")
            got += events(p.said, "Withdraw", result)[0]["assets"]
        assert got == owed[who.address] == await p.aid.functions.balanceOf(who.address).call() - before
        assert await said.maxRedeem(who.address).call() == 0 == await said.maxWithdraw(who.address).call()
        await reverts(who.send(said.redeem(1, who.address, who.address), what="again"), "ExceedsClaimable")
        await reverts(who.send(said.withdraw(1, who.address, who.address), what="again"), "ExceedsClaimable")
        assert await said.claimableRedeemRequest(0, who.address).call() == 0
        paid += got
    assert paid <= set_aside
    # what stays in the escrow: the donation and the rounding (at most a wei per controller)
    assert 5 * AID <= await p.aid.functions.balanceOf(escrow).call() == set_aside + 5 * AID - paid <= 5 * AID + 3


@pytest.mark.asyncio
async def test_a_cut_round_pays_each_holder_its_pro_rata_part_never_more_than_set_aside(
    gaib: Gaib, actors: Actors
) -> None:
    """Many odd requests in one round, cut by the cap over several cycles at different prices, claimed in
    pieces between the fills: each holder gets exactly its fraction of all the AID the round set aside,
    rounded down once, never more; a holder cannot claim what is still pending, nor request again meanwhile;
    the last claimant is paid in full."""
    p = gaib.protocol
    said = p.said.functions
    holders = [actors.investor, actors.lender, actors.outsider, actors.provider]
    for who in holders:
        await staked(gaib, who, 1_000 * AID)
    await income(gaib, 13 * AID + 5)  # an odd price
    asks = {holders[0].address: 7, holders[1].address: 333 * AID + 1, holders[2].address: 10**15 + 3}
    asks[holders[3].address] = 2
    for who in holders:
        await who.send(said.requestRedeem(asks[who.address], who.address, who.address), what="request")
    requested = sum(asks.values())
    await gaib.send(said.setCycle(3_600, 1), what="cap: 1 bp of the reserve")  # 1 bp of ~4,013 USDC: ~0.4 AID
    cap = await said.cycleCap().call()
    assert 0 < cap < requested // 100
    fills: list[Any] = []
    paid = {who.address: 0 for who in holders}
    for n in range(4):
        await to_cycle(gaib)
        if n == 2:  # the price moves between fills
            await income(gaib, 3 * AID + 1)
        cap = await said.cycleCap().call()  # AID's reserve moves with the income minted
        result = await gaib.send(said.processCycle(10), what=f"cycle {n}")
        (fill,) = events(p.said, "RedeemFilled", result)
        fills.append(fill)
        assert fill["requestId"] == 0 and fill["assets"] <= cap
        for who in holders:
            # never more than its part so far
            f_round = sum(f["assets"] for f in fills)
            part = asks[who.address] * f_round // requested
            assert paid[who.address] + await said.maxWithdraw(who.address).call() == part
            await reverts(who.send(said.requestRedeem(1, who.address, who.address), what="again"), "RequestPending")
            claimable = await said.maxRedeem(who.address).call()
            if n % 2 == 0 and claimable:  # claim what is filled, in between
                result = await who.send(said.redeem(claimable, who.address, who.address), what="claim")
                paid[who.address] += events(p.said, "Withdraw", result)[0]["assets"]
            await reverts(
                who.send(said.redeem(claimable + 1, who.address, who.address), what="over"), "ExceedsClaimable"
            )
    set_aside = sum(f["assets"] for f in fills)
    filled = sum(f["shares"] for f in fills)
    assert filled < requested  # still cut: the round waits, first in line
    # the cap lifted: the rest of the round is filled, then everyone claims the rest
    await gaib.send(said.setCycle(3_600, 0), what="no cap")
    await to_cycle(gaib)
    result = await gaib.send(said.processCycle(10), what="last cycle")
    (fill,) = events(p.said, "RedeemFilled", result)
    assert fill["shares"] == requested - filled and fill["pending"] == 0
    set_aside += fill["assets"]
    escrow = await said.escrow().call()
    for who in holders:
        left = await said.maxWithdraw(who.address).call()
        if left:
            result = await who.send(said.withdraw(left, who.address, who.address), what="claim")
            paid[who.address] += events(p.said, "Withdraw", result)[0]["assets"]
        assert paid[who.address] == asks[who.address] * set_aside // requested
        assert await said.maxRedeem(who.address).call() == 0
        assert await said.redeemRequestOf(who.address).call() == [0, 0, 0]
    assert sum(paid.values()) <= set_aside
    assert 0 <= await p.aid.functions.balanceOf(escrow).call() == set_aside - sum(paid.values()) <= len(holders)


@pytest.mark.asyncio
async def test_locked_shares_cannot_move_and_requests_need_leave(gaib: Gaib, actors: Actors) -> None:
    """Shares requested leave the owner's balance: neither a transfer nor a spender can move them; the rest
    moves freely. A request by an operator or a spender with allowance works; a stranger's does not."""
    p = gaib.protocol
    said = p.said.functions
    owner, spender, stranger = actors.investor, actors.lender, actors.outsider
    await staked(gaib, owner, 1_000 * AID)
    shares = await said.balanceOf(owner.address).call()
    await owner.send(said.requestRedeem(400 * AID, owner.address, owner.address), what="request")
    free = shares - 400 * AID
    assert await said.balanceOf(owner.address).call() == free
    await reverts(owner.send(said.transfer(stranger.address, free + 1), what="move locked"), "ERC20InsufficientBalance")
    await owner.send(said.approve(spender.address, MAX_UINT), what="approve")
    await reverts(
        spender.send(said.transferFrom(owner.address, spender.address, free + 1), what="pull locked"),
        "ERC20InsufficientBalance",
    )
    await reverts(
        stranger.send(said.requestRedeem(AID, stranger.address, owner.address), what="stranger"),
        "ERC20InsufficientAllowance",
    )
    # a spender requests within its allowance, for a controller of its choosing (itself here)
    await spender.send(said.requestRedeem(100 * AID, spender.address, owner.address), what="spender")
    await owner.send(said.setOperator(stranger.address, True), what="operator")
    await stranger.send(said.requestRedeem(50 * AID, owner.address, owner.address), what="operator")
    assert await said.pendingRedeemRequest(0, owner.address).call() == 450 * AID
    assert await said.pendingRedeemRequest(0, spender.address).call() == 100 * AID
    # the owner's whole free balance moves; the locked shares stay in the queue
    rest = await said.balanceOf(owner.address).call()
    assert rest == free - 150 * AID
    await owner.send(said.transfer(stranger.address, rest), what="move the rest")
    assert await said.balanceOf(owner.address).call() == 0
    total_supply = await said.totalSupply().call()
    held = sum([await said.balanceOf(a).call() for a in (owner.address, spender.address, stranger.address)])
    dead = await said.balanceOf(await said.DEAD().call()).call()
    assert held + dead + await said.balanceOf(p.said.address).call() == total_supply
    assert await said.balanceOf(p.said.address).call() == 550 * AID == await said.totalPendingShares().call()
    await to_cycle(gaib)
    await gaib.send(said.processCycle(10), what="cycle")
    result = await owner.send(said.redeem(450 * AID, owner.address, owner.address), what="claim")
    assert events(p.said, "Withdraw", result)[0]["assets"] == 450 * AID
    result = await spender.send(said.redeem(100 * AID, spender.address, spender.address), what="claim")
    assert events(p.said, "Withdraw", result)[0]["assets"] == 100 * AID
    assert await said.balanceOf(p.said.address).call() == 0
    # a denied owner's shares cannot be requested, by itself or by its operator
    await gaib.aid.deny(stranger.address)
    await reverts(
        stranger.send(said.requestRedeem(AID, stranger.address, stranger.address), what="denied"), "AccountDenied"
    )
    await stranger.send(said.setOperator(owner.address, True), what="operator")
    await reverts(
        owner.send(said.requestRedeem(AID, owner.address, stranger.address), what="for denied"), "AccountDenied"
    )


@pytest.mark.asyncio
async def test_the_client_refuses_a_second_round_while_one_is_pending(gaib: Gaib, actors: Actors) -> None:
    admin, investor = actors.admin, actors.investor
    await investor.aid.mint(Decimal(1_000))
    await investor.said.stake(Decimal(1_000))
    await admin.said.set_withdrawal_cycle(3_600, 1)  # 1 bp of the reserve: the round is cut
    assert await investor.said.request_unstake(Decimal(500)) == 0
    await admin.chain.advance_time(3_600)
    cycle = await admin.said.process_withdrawal_cycle()
    assert cycle["closed"] and cycle["filled_shares"] < Decimal(500)
    status = await investor.said.unstake_status()
    assert status["request_id"] == 0 and Decimal(0) < status["pending_shares"] < Decimal(500)
    sent = list(admin.chain.history)
    with pytest.raises(GaibValueError, match="still has .* sAID pending in exit round 0"):
        await investor.said.request_unstake(Decimal(1))
    assert admin.chain.history == sent
