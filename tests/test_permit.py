"""Staking without an approve (issue 14, gas): AID takes EIP-2612 permits, sAID's depositWithPermit uses one in
the deposit's own transaction, and the SDK's stake signs one off-chain when the allowance is short. The attacks
come first: a replayed permit, a permit used by another account, a front-run permit, a denied account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gaib_sdk import Gaib
from gaib_sdk.errors import TransactionFailed

from .conftest import Actors
from .test_contracts import USDC, reverts
from .test_vault_security import AID, whitelisted_with_aid


async def funded(gaib: Gaib, who: Gaib) -> None:
    await whitelisted_with_aid(gaib, who, 10_000 * USDC)


@pytest.mark.asyncio
async def test_stake_is_one_transaction_with_a_permit_and_leaves_no_allowance(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor = actors.investor
    await funded(gaib, investor)
    for n in (1, 2):
        receipt = await investor.said.stake(Decimal(1_000))
        assert len(receipt.tx_hashes) == 1  # no approve before the deposit
        assert receipt.amount > 0
        assert await p.aid.functions.nonces(investor.address).call() == n
        assert await p.aid.functions.allowance(investor.address, p.said.address).call() == 0
    assert await p.aid.functions.balanceOf(investor.address).call() == 8_000 * AID


@pytest.mark.asyncio
async def test_stake_sends_a_plain_deposit_when_the_allowance_covers_it(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor = actors.investor
    await funded(gaib, investor)
    await investor.send(p.aid.functions.approve(p.said.address, 5_000 * AID), what="approve")
    receipt = await investor.said.stake(Decimal(1_000))
    assert len(receipt.tx_hashes) == 1
    assert await p.aid.functions.nonces(investor.address).call() == 0  # no permit was used
    assert await p.aid.functions.allowance(investor.address, p.said.address).call() == 4_000 * AID


@pytest.mark.asyncio
async def test_a_replayed_permit_moves_nothing(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor = actors.investor
    await funded(gaib, investor)
    permit = await investor.sign_permit(p.aid, p.said.address, 1_000 * AID)
    call = p.said.functions.depositWithPermit(1_000 * AID, investor.address, *permit)
    await investor.send(call, what="stake")
    # The same signature again: the nonce is spent, so the permit sets nothing and the deposit has no allowance.
    reason = await reverts(investor.send(call, what="stake again"), "ERC20InsufficientAllowance")
    assert "needed=1000000000000000000000" in reason
    await reverts(
        investor.send(p.aid.functions.permit(investor.address, p.said.address, 1_000 * AID, *permit), what="permit"),
        "ERC2612InvalidSigner",
    )
    assert await p.aid.functions.balanceOf(investor.address).call() == 9_000 * AID


@pytest.mark.asyncio
async def test_a_permit_cannot_be_used_by_another_account(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, thief = actors.investor, actors.outsider
    await funded(gaib, investor)
    await funded(gaib, thief)
    permit = await investor.sign_permit(p.aid, p.said.address, 1_000 * AID)
    # The thief sends the investor's signature as his own: sAID asks a permit of the caller, which fails, and
    # pulls AID only from the caller, who gave no allowance.
    await reverts(
        thief.send(p.said.functions.depositWithPermit(1_000 * AID, thief.address, *permit), what="steal"),
        "ERC20InsufficientAllowance",
    )
    # Nor can he claim it was his permit, or redirect it to himself as the spender.
    await reverts(
        thief.send(p.aid.functions.permit(thief.address, p.said.address, 1_000 * AID, *permit), what="permit"),
        "ERC2612InvalidSigner",
    )
    await reverts(
        thief.send(p.aid.functions.permit(investor.address, thief.address, 1_000 * AID, *permit), what="permit"),
        "ERC2612InvalidSigner",
    )
    assert await p.aid.functions.balanceOf(investor.address).call() == 10_000 * AID
    assert await p.said.functions.balanceOf(thief.address).call() == 0


@pytest.mark.asyncio
async def test_a_front_run_permit_does_not_make_the_deposit_fail(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, griefer = actors.investor, actors.outsider
    await funded(gaib, investor)
    permit = await investor.sign_permit(p.aid, p.said.address, 1_000 * AID)
    # Someone copies the signature from the mempool and spends it first.
    await griefer.send(p.aid.functions.permit(investor.address, p.said.address, 1_000 * AID, *permit), what="grief")
    await investor.send(p.said.functions.depositWithPermit(1_000 * AID, investor.address, *permit), what="stake")
    assert await p.said.functions.balanceOf(investor.address).call() > 0
    assert await p.aid.functions.allowance(investor.address, p.said.address).call() == 0


@pytest.mark.asyncio
async def test_an_expired_permit_sets_nothing(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor = actors.investor
    await funded(gaib, investor)
    now = int((await gaib.chain.w3.eth.get_block("latest"))["timestamp"])
    permit = await investor.sign_permit(p.aid, p.said.address, 1_000 * AID, deadline=now - 1)
    await reverts(
        investor.send(p.said.functions.depositWithPermit(1_000 * AID, investor.address, *permit), what="stake"),
        "ERC20InsufficientAllowance",
    )
    await reverts(
        investor.send(p.aid.functions.permit(investor.address, p.said.address, 1_000 * AID, *permit), what="permit"),
        "ERC2612ExpiredSignature",
    )


@pytest.mark.asyncio
async def test_a_denied_owner_spender_or_receiver_is_refused(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, other = actors.investor, actors.lender
    await funded(gaib, investor)
    # A denied owner: its permit is refused, and so is the deposit that carries it, and the SDK says so first.
    permit = await investor.sign_permit(p.aid, p.said.address, 1_000 * AID)
    await gaib.aid.deny(investor.address)
    reason = await reverts(
        investor.send(p.aid.functions.permit(investor.address, p.said.address, 1_000 * AID, *permit), what="permit"),
        "AccountDenied",
    )
    assert investor.address.lower() in reason.lower()
    reason = await reverts(
        investor.send(p.said.functions.depositWithPermit(1_000 * AID, investor.address, *permit), what="stake"),
        "AccountDenied",
    )
    assert investor.address.lower() in reason.lower()
    with pytest.raises(TransactionFailed, match=r"AccountDenied\(account="):
        await investor.said.stake(Decimal(1_000))  # refused by the dry run: nothing is signed or sent
    await gaib.aid.deny(investor.address, False)
    # A denied spender cannot be given an allowance by permit.
    spender_permit = await investor.sign_permit(p.aid, other.address, 1_000 * AID)
    await gaib.aid.deny(other.address)
    reason = await reverts(
        investor.send(p.aid.functions.permit(investor.address, other.address, 1_000 * AID, *spender_permit), what="p"),
        "AccountDenied",
    )
    assert other.address.lower() in reason.lower()
    # A denied receiver gets no shares through a permit either.
    reason = await reverts(
        investor.send(p.said.functions.depositWithPermit(1_000 * AID, other.address, *permit), what="stake"),
        "AccountDenied",
    )
    assert other.address.lower() in reason.lower()
    assert await p.aid.functions.nonces(investor.address).call() == 0
