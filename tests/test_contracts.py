"""The Solidity contracts as deployed on the embedded EVM, called directly through their bindings.

The SDK's own Python pre-checks are bypassed on purpose: every revert asserted here is the contract's.
Amounts are in base units: USDC has 6 decimals, AID and sAID 18, and one USDC unit is SCALE AID wei.
Each test reuses one chain for a group of related assertions, so the file stays quick.
"""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk import Gaib
from gaib_sdk.chain import TxResult, decode_revert, load_artifact, role
from gaib_sdk.chain.artifacts import revert_data
from gaib_sdk.errors import TransactionFailed

from .conftest import Actors

USDC = 10**6  # one USDC in base units
SCALE = 10**12  # AID wei per USDC unit
BPS = 10_000
YEAR = 365 * 24 * 3600
DAY = 24 * 3600
MAX_UINT = 2**256 - 1
DEAD = "0x000000000000000000000000000000000000dEaD"
ADMIN_ROLE = b"\0" * 32
GPU = b"gpu".ljust(32, b"\0")
FIXED, REVENUE_SHARE, HYBRID = 0, 1, 2
# Registry statuses and deal statuses, as the contracts number them.
NONE, ACTIVE, FINANCED, DEFAULTED, LIQUIDATED, RETIRED, IMPAIRED = range(7)
DEAL_ACTIVE, DEAL_REPAID, DEAL_IMPAIRED, DEAL_DEFAULTED, DEAL_LIQUIDATED = 1, 2, 3, 4, 5
ZERO_ADDRESS = "0x" + "00" * 20
CASH_RESERVE_BPS = 660  # CreditFacility's default cash reserve, of the advance
VESTING = 8 * 3600  # sAID's default vesting period


# ---- helpers ----


def asset_id(n: int) -> str:
    """A distinct bytes32 asset id, e.g. asset_id(0x11) == "0x1111...11"."""
    return "0x" + f"{n:02x}" * 32


def record_hash(n: int) -> bytes:
    return bytes([n]) * 31 + b"\x01"


def attestation(n: int) -> bytes:
    return bytes([n]) * 31 + b"\x02"


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def accrued(principal: int, elapsed: int, bps: int) -> int:
    """Fees or interest exactly as CreditFacility._pending computes them: rounded up."""
    return ceil_div(principal * elapsed * bps, BPS * YEAR)


async def reverts(call: Awaitable[Any], error: str) -> str:
    """Await a send that must revert with custom error ``error``; return the decoded reason."""
    with pytest.raises(TransactionFailed) as exc:
        await call
    reason = exc.value.reason
    assert reason is not None
    assert reason.startswith(error + "("), reason
    return reason


async def unauthorized(call: Awaitable[Any], account: str, role_name: str) -> None:
    """The send must revert with OpenZeppelin's AccessControlUnauthorizedAccount for this account and role."""
    reason = (await reverts(call, "AccessControlUnauthorizedAccount")).lower()
    needed = ADMIN_ROLE if role_name == "DEFAULT_ADMIN_ROLE" else role(role_name)
    assert f"account={account.lower()}" in reason
    assert f"neededrole=0x{needed.hex()}" in reason


def events(contract: AsyncContract, name: str, result: TxResult) -> list[Any]:
    """The decoded arguments of every ``name`` event that ``contract`` emitted in a transaction."""
    event = getattr(contract.events, name)()
    return [e["args"] for e in event.process_receipt({"logs": result.logs}, errors=DISCARD)]


async def block_time(gaib: Gaib, result: TxResult) -> int:
    return int((await gaib.chain.w3.eth.get_block(result.block_number))["timestamp"])


def mine_block(gaib: Gaib) -> None:
    """Mine an empty block on the embedded chain."""
    gaib.chain.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]


async def send_raw(gaib: Gaib, who: Gaib, call: Any) -> bytes:
    """Sign and send a call without the SDK's pre-flight check, so that what the chain does with it is
    what is seen (a revert gives a receipt with status 0). The SDK's next send from the same account
    finds its cached nonce taken and signs again with the chain's."""
    w3 = gaib.chain.w3
    latest = await w3.eth.get_block("latest")
    tx = await call.build_transaction(
        {
            "from": who.address,
            "gas": 500_000,
            "nonce": await w3.eth.get_transaction_count(who.address, "pending"),  # type: ignore[arg-type]
            "chainId": gaib.chain.chain_id,
            "maxFeePerGas": 2 * int(latest["baseFeePerGas"]) + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    return bytes(await w3.eth.send_raw_transaction(who.account.sign_transaction(tx).raw_transaction))


async def usdc_of(gaib: Gaib, who: str) -> int:
    return int(await gaib.protocol.usdc.functions.balanceOf(who).call())


async def aid_of(gaib: Gaib, who: str) -> int:
    return int(await gaib.protocol.aid.functions.balanceOf(who).call())


async def assert_backed(gaib: Gaib) -> None:
    """AID's backing equation, to the wei:
    totalSupply == (reserve + principalDeployed + uncoveredLoss) * SCALE, where reserve is the USDC held by
    AID less what filled redemptions may claim; and the AID escrowed by the queue is what it still owes."""
    aid = gaib.protocol.aid
    supply = await aid.functions.totalSupply().call()
    reserve = await aid.functions.reserve().call()
    deployed = await aid.functions.principalDeployed().call()
    uncovered = await aid.functions.uncoveredLoss().call()
    claimable = await aid.functions.totalClaimable().call()
    assert reserve == await usdc_of(gaib, aid.address) - claimable
    assert await aid.functions.backing().call() == reserve + deployed
    assert supply == (reserve + deployed + uncovered) * SCALE
    assert await aid_of(gaib, aid.address) == await aid.functions.queuedStable().call() * SCALE


async def exit_said(gaib: Gaib, who: Gaib, shares: int) -> int:
    """An sAID exit end to end, through ERC-7540: request, wait for the cycle (time moves to it), have the
    admin (the withdrawal manager) process it, claim; returns the AID paid."""
    said = gaib.protocol.said.functions
    await who.send(said.requestRedeem(shares, who.address, who.address), what="request exit")
    due, now = await said.nextCycleAt().call(), await gaib.chain.timestamp()
    if now < due:
        await gaib.chain.advance_time(due - now)
    await gaib.send(said.processCycle(100), what="process cycle")
    claimed = await who.send(said.redeem(shares, who.address, who.address), what="claim exit")
    (ev,) = events(gaib.protocol.said, "Withdraw", claimed)
    assert (ev["owner"], ev["shares"]) == (who.address, shares)
    return int(ev["assets"])


async def mint_aid(who: Gaib, usdc_units: int) -> TxResult:
    """Approve and mint directly (``who`` must be whitelisted and hold the USDC)."""
    p = who.protocol
    await who.send(p.usdc.functions.approve(p.aid.address, MAX_UINT), what="approve USDC")
    return await who.send(p.aid.functions.mint(usdc_units), what="mint")


async def register(actors: Actors, owner: str, ids: list[str]) -> TxResult:
    """``owner`` registers GPU assets of its own (a registrar registers only for itself), made a registrar
    first if it is not one."""
    who = as_actor(actors, owner)
    reg = who.protocol.registry
    if not await who.has_role(reg, "REGISTRAR_ROLE"):
        await actors.admin.admin.authorize_registrar(owner)
    call = reg.functions.registerBatch(
        GPU, owner, ids, [record_hash(i + 1) for i in range(len(ids))], [attestation(i + 1) for i in range(len(ids))]
    )
    return await who.send(call, what="register")


def as_actor(actors: Actors, address: str) -> Gaib:
    """The actor that signs as ``address``."""
    who = [a for a in (actors.admin, actors.provider, actors.investor, actors.lender, actors.outsider)]
    return next(a for a in who if a.address.lower() == address.lower())


def terms(
    structure: int = FIXED, rate_bps: int = 1_000, share_bps: int = 0, fee_bps: int = 100, term_days: int = 365
) -> tuple[int, int, int, int, int]:
    return (structure, rate_bps, share_bps, fee_bps, term_days)


def open_deal(
    actors: Actors,
    collateral: list[str],
    appraised: int,
    advance: int,
    deal_terms: tuple[int, int, int, int, int] | None = None,
    *,
    borrower: str | None = None,
    sender: Gaib | None = None,
    leases: list[str] | None = None,
) -> Awaitable[TxResult]:
    p = actors.admin.protocol
    call = p.facility.functions.openDeal(
        borrower or actors.provider.address, collateral, appraised, advance, deal_terms or terms(), leases or []
    )
    return (sender or actors.admin).send(call, what="open deal")


async def opened_deal_id(gaib: Gaib, result: TxResult) -> int:
    (ev,) = events(gaib.protocol.facility, "DealOpened", result)
    return int(ev["dealId"])


async def asset_status(gaib: Gaib, aid_hex: str) -> int:
    return int((await gaib.protocol.registry.functions.getAsset(aid_hex).call())[3])


def status_moves(p: Any, result: TxResult) -> list[tuple[str, int, int]]:
    """(asset id, from, to) of every StatusChanged event of the registry in a transaction."""
    return [("0x" + e["assetId"].hex(), e["from"], e["to"]) for e in events(p.registry, "StatusChanged", result)]


# ---- AIDollar ----


@pytest.mark.asyncio
async def test_aid_mint_is_one_to_one_and_only_for_whitelisted(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    assert await p.aid.functions.SCALE().call() == SCALE
    assert await p.aid.functions.decimals().call() == 18
    assert await p.usdc.functions.decimals().call() == 6

    amount = 1_234_567_891  # 1234.567891 USDC
    usdc_before = await usdc_of(gaib, actors.investor.address)
    result = await mint_aid(actors.investor, amount)
    assert await aid_of(gaib, actors.investor.address) == amount * SCALE
    assert await usdc_of(gaib, actors.investor.address) == usdc_before - amount
    assert await p.aid.functions.reserve().call() == amount
    assert await p.aid.functions.totalSupply().call() == amount * SCALE
    (minted,) = events(p.aid, "Minted", result)
    assert (minted["account"], minted["stableIn"], minted["aidOut"]) == (
        actors.investor.address,
        amount,
        amount * SCALE,
    )
    await assert_backed(gaib)

    await reverts(actors.investor.send(p.aid.functions.mint(0), what="mint 0"), "ZeroAmount")

    # Not whitelisted: refused for both mint and redeem, naming the account.
    reason = await reverts(actors.outsider.send(p.aid.functions.mint(USDC), what="mint"), "NotWhitelisted")
    assert actors.outsider.address.lower() in reason.lower()
    await reverts(actors.outsider.send(p.aid.functions.redeem(SCALE), what="redeem"), "NotWhitelisted")

    # Taking an account off the whitelist stops it; putting it back lets it mint again.
    off = await actors.admin.send(p.aid.functions.setWhitelisted(actors.investor.address, False), what="unlist")
    assert [(e["account"], e["allowed"]) for e in events(p.aid, "Whitelisted", off)] == [
        (actors.investor.address, False)
    ]
    assert not await p.aid.functions.isWhitelisted(actors.investor.address).call()
    await reverts(actors.investor.send(p.aid.functions.mint(USDC), what="mint"), "NotWhitelisted")
    await reverts(actors.investor.send(p.aid.functions.redeem(SCALE), what="redeem"), "NotWhitelisted")
    await actors.admin.send(p.aid.functions.setWhitelisted(actors.investor.address, True), what="relist")
    await actors.investor.send(p.aid.functions.mint(USDC), what="mint")
    assert await aid_of(gaib, actors.investor.address) == (amount + USDC) * SCALE

    # A whitelisted account that has not approved the USDC is refused by the token itself.
    await actors.admin.send(p.aid.functions.setWhitelisted(actors.lender.address, True), what="whitelist")
    await reverts(actors.lender.send(p.aid.functions.mint(USDC), what="mint"), "ERC20InsufficientAllowance")
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_redeem_burns_whole_usdc_units_only(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    await mint_aid(actors.investor, 1_000 * USDC)
    aid_before = await aid_of(gaib, actors.investor.address)
    usdc_before = await usdc_of(gaib, actors.investor.address)

    # 5 USDC units and some dust: 5 units are paid, exactly 5 units' worth is burned, the dust stays.
    result = await actors.investor.send(p.aid.functions.redeem(5 * SCALE + 123_456), what="redeem")
    assert await usdc_of(gaib, actors.investor.address) == usdc_before + 5
    assert await aid_of(gaib, actors.investor.address) == aid_before - 5 * SCALE
    (redeemed,) = events(p.aid, "Redeemed", result)
    assert (redeemed["account"], redeemed["aidIn"], redeemed["stableOut"]) == (actors.investor.address, 5 * SCALE, 5)
    assert await p.aid.functions.reserve().call() == 1_000 * USDC - 5
    await assert_backed(gaib)

    # Less than one USDC unit's worth pays nothing and is refused.
    await reverts(actors.investor.send(p.aid.functions.redeem(SCALE - 1), what="redeem dust"), "ZeroAmount")
    await reverts(actors.investor.send(p.aid.functions.redeem(0), what="redeem 0"), "ZeroAmount")

    # Redeeming a large amount with dust: the whole units come back, the caller keeps the remainder.
    await actors.investor.send(p.aid.functions.redeem(100 * USDC * SCALE + SCALE - 1), what="redeem")
    assert await usdc_of(gaib, actors.investor.address) == usdc_before + 5 + 100 * USDC
    assert await aid_of(gaib, actors.investor.address) == aid_before - (5 + 100 * USDC) * SCALE
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_mint_and_redeem_caps_are_per_block(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    w3 = gaib.chain.w3
    mint_cap, redeem_cap = 100 * USDC, 50 * USDC
    await unauthorized(
        actors.outsider.send(p.aid.functions.setCaps(1, 1), what="caps"), actors.outsider.address, "DEFAULT_ADMIN_ROLE"
    )
    result = await actors.admin.send(p.aid.functions.setCaps(mint_cap, redeem_cap), what="caps")
    (caps,) = events(p.aid, "CapsSet", result)
    assert (caps["mintCapPerBlock"], caps["redeemCapPerBlock"]) == (mint_cap, redeem_cap)
    assert await p.aid.functions.mintCapPerBlock().call() == mint_cap
    assert await p.aid.functions.redeemCapPerBlock().call() == redeem_cap

    # The whole cap in one block, then the whole cap again in a later block: the count resets per block.
    # (An empty block is mined in between because the SDK's pre-flight eth_call runs in the context of the
    # latest mined block, where the first mint's count still holds; the part below sends without it.)
    first = await mint_aid(actors.investor, mint_cap)
    assert await p.aid.functions.capBlock().call() == first.block_number
    assert await p.aid.functions.mintedInBlock().call() == mint_cap
    mine_block(gaib)
    second = await actors.investor.send(p.aid.functions.mint(mint_cap), what="mint again")
    assert second.block_number > first.block_number
    assert await p.aid.functions.capBlock().call() == second.block_number
    assert await p.aid.functions.mintedInBlock().call() == mint_cap
    assert await aid_of(gaib, actors.investor.address) == 2 * mint_cap * SCALE
    mine_block(gaib)
    reason = await reverts(actors.investor.send(p.aid.functions.mint(mint_cap + 1), what="mint"), "MintCapExceeded")
    assert f"requested={mint_cap + 1}" in reason
    assert f"remaining={mint_cap}" in reason

    # The redeem cap counts USDC paid out: the cap plus less than a unit of dust fits.
    usdc_before = await usdc_of(gaib, actors.investor.address)
    await actors.investor.send(p.aid.functions.redeem(redeem_cap * SCALE + SCALE - 1), what="redeem")
    assert await p.aid.functions.redeemedInBlock().call() == redeem_cap
    mine_block(gaib)
    await actors.investor.send(p.aid.functions.redeem(redeem_cap * SCALE), what="redeem again")
    assert await usdc_of(gaib, actors.investor.address) == usdc_before + 2 * redeem_cap
    mine_block(gaib)
    reason = await reverts(
        actors.investor.send(p.aid.functions.redeem((redeem_cap + 1) * SCALE), what="redeem"), "RedeemCapExceeded"
    )
    assert f"requested={redeem_cap + 1}" in reason
    assert f"remaining={redeem_cap}" in reason
    await assert_backed(gaib)

    # Straight to the chain, no pre-flight check: in consecutive blocks, 60 then the full 100 both fit.
    second_minter = gaib.with_account(5)
    await gaib.aid.whitelist(second_minter.address)
    await gaib.faucet(second_minter.address, Decimal(1_000))
    await second_minter.send(p.usdc.functions.approve(p.aid.address, MAX_UINT), what="approve")
    aid_before = await aid_of(gaib, actors.investor.address)
    h1 = await send_raw(gaib, actors.investor, p.aid.functions.mint(60 * USDC))
    h2 = await send_raw(gaib, actors.investor, p.aid.functions.mint(mint_cap))
    r1, r2 = [await w3.eth.get_transaction_receipt(h) for h in (h1, h2)]
    assert (r1["status"], r2["status"]) == (1, 1)
    assert r2["blockNumber"] == r1["blockNumber"] + 1
    assert await aid_of(gaib, actors.investor.address) == aid_before + (60 * USDC + mint_cap) * SCALE

    # Within one block the cap is shared: two mints of 60 each, mined together, and only the first fits.
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.disable_auto_mine_transactions()
    try:
        hashes = [
            await send_raw(gaib, who, p.aid.functions.mint(60 * USDC)) for who in (actors.investor, second_minter)
        ]
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    r1, r2 = [await w3.eth.get_transaction_receipt(h) for h in hashes]
    assert r1["blockNumber"] == r2["blockNumber"]
    assert (r1["status"], r2["status"]) == (1, 0)
    assert await p.aid.functions.capBlock().call() == r1["blockNumber"]
    assert await p.aid.functions.mintedInBlock().call() == 60 * USDC
    assert await aid_of(gaib, second_minter.address) == 0
    assert await usdc_of(gaib, second_minter.address) == 1_000 * USDC
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_deny_list_blocks_sending_and_receiving(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, outsider = actors.investor, actors.outsider
    await mint_aid(investor, 100 * USDC)
    await investor.send(p.aid.functions.transfer(outsider.address, 10 * USDC * SCALE), what="transfer")

    await unauthorized(
        outsider.send(p.aid.functions.setDenied(investor.address, True), what="deny"), outsider.address, "DENYLIST_ROLE"
    )
    result = await actors.admin.send(p.aid.functions.setDenied(investor.address, True), what="deny")
    assert [(e["account"], e["denied"]) for e in events(p.aid, "Denied", result)] == [(investor.address, True)]
    assert await p.aid.functions.isDenied(investor.address).call()

    for call, what in [
        (investor.send(p.aid.functions.transfer(outsider.address, SCALE), what="send"), "send"),
        (outsider.send(p.aid.functions.transfer(investor.address, SCALE), what="receive"), "receive"),
        (investor.send(p.aid.functions.mint(USDC), what="mint"), "mint"),
        (investor.send(p.aid.functions.redeem(USDC * SCALE), what="redeem"), "redeem"),
    ]:
        reason = await reverts(call, "AccountDenied")
        assert investor.address.lower() in reason.lower(), what
    # A third party moving a denied account's allowance is refused too.
    await investor.send(p.aid.functions.approve(outsider.address, MAX_UINT), what="approve")
    await reverts(
        outsider.send(p.aid.functions.transferFrom(investor.address, outsider.address, SCALE), what="pull"),
        "AccountDenied",
    )
    assert await aid_of(gaib, investor.address) == 90 * USDC * SCALE
    assert await aid_of(gaib, outsider.address) == 10 * USDC * SCALE

    await actors.admin.send(p.aid.functions.setDenied(investor.address, False), what="undeny")
    await outsider.send(p.aid.functions.transfer(investor.address, SCALE), what="receive")
    await investor.send(p.aid.functions.transfer(outsider.address, 2 * SCALE), what="send")
    assert await aid_of(gaib, investor.address) == 90 * USDC * SCALE - SCALE
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_pause_and_role_checks(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    admin, outsider, investor = actors.admin, actors.outsider, actors.investor
    await mint_aid(investor, 1_000 * USDC)

    # Every privileged function refuses an account without its role.
    aid = p.aid.functions
    for call, needed in [
        (aid.setWhitelisted(outsider.address, True), "KYC_MANAGER_ROLE"),
        (aid.setDenied(investor.address, True), "DENYLIST_ROLE"),
        (aid.setCaps(1, 1), "DEFAULT_ADMIN_ROLE"),
        (aid.pause(), "PAUSER_ROLE"),
        (aid.unpause(), "PAUSER_ROLE"),
        (aid.fundDeal(outsider.address, USDC), "FACILITY_ROLE"),
        (aid.mintIncome(outsider.address, USDC), "FACILITY_ROLE"),
        (aid.principalReturned(0), "FACILITY_ROLE"),
    ]:
        await unauthorized(outsider.send(call, what="privileged"), outsider.address, needed)
    # The admin holds many roles, but not the facility's: it cannot move the reserve.
    await unauthorized(admin.send(aid.fundDeal(admin.address, USDC), what="fund"), admin.address, "FACILITY_ROLE")
    await unauthorized(admin.send(aid.mintIncome(admin.address, 1), what="income"), admin.address, "FACILITY_ROLE")
    await unauthorized(admin.send(aid.principalReturned(0), what="returned"), admin.address, "FACILITY_ROLE")
    assert await p.aid.functions.reserve().call() == 1_000 * USDC
    assert not await p.aid.functions.isWhitelisted(outsider.address).call()

    # Pause stops mint, redeem and deal funding; unpause restores them.
    await reverts(admin.send(aid.unpause(), what="unpause"), "ExpectedPause")
    await admin.send(aid.pause(), what="pause")
    assert await p.aid.functions.paused().call()
    await reverts(investor.send(aid.mint(USDC), what="mint"), "EnforcedPause")
    await reverts(investor.send(aid.redeem(USDC * SCALE), what="redeem"), "EnforcedPause")
    await reverts(admin.send(aid.pause(), what="pause"), "EnforcedPause")
    await register(actors, actors.provider.address, [asset_id(0x11)])
    await reverts(open_deal(actors, [asset_id(0x11)], 100 * USDC, 80 * USDC), "EnforcedPause")
    assert await asset_status(gaib, asset_id(0x11)) == ACTIVE
    await admin.send(aid.unpause(), what="unpause")
    assert not await p.aid.functions.paused().call()
    await investor.send(aid.mint(USDC), what="mint")
    await investor.send(aid.redeem(2 * USDC * SCALE), what="redeem")
    assert await aid_of(gaib, investor.address) == 999 * USDC * SCALE
    await open_deal(actors, [asset_id(0x11)], 100 * USDC, 80 * USDC)
    await assert_backed(gaib)

    # The facility's own checks, reached by granting the admin FACILITY_ROLE on AID.
    await admin.send(p.aid.functions.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")
    deployed = await p.aid.functions.principalDeployed().call()
    assert deployed == 80 * USDC
    reason = await reverts(admin.send(aid.principalReturned(deployed + 1), what="returned"), "PrincipalUnderflow")
    assert f"returned={deployed + 1}" in reason
    assert f"deployed={deployed}" in reason
    await reverts(admin.send(aid.mintIncome(admin.address, 0), what="income"), "ZeroAmount")
    await reverts(admin.send(aid.fundDeal(admin.address, 0), what="fund"), "ZeroAmount")
    reserve = await p.aid.functions.reserve().call()
    reason = await reverts(admin.send(aid.fundDeal(admin.address, reserve + 1), what="fund"), "InsufficientReserve")
    assert f"available={reserve}" in reason
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_redeem_is_limited_to_the_liquid_reserve(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor = actors.investor
    await mint_aid(investor, 1_000 * USDC)
    await register(actors, actors.provider.address, [asset_id(0x21), asset_id(0x22)])

    # A deal larger than the reserve cannot be funded.
    reason = await reverts(open_deal(actors, [asset_id(0x21)], 2_000 * USDC, 1_000 * USDC + 1), "InsufficientReserve")
    assert f"requested={1_000 * USDC + 1}" in reason
    assert f"available={1_000 * USDC}" in reason
    assert await asset_status(gaib, asset_id(0x21)) == ACTIVE

    provider_before = await usdc_of(gaib, actors.provider.address)
    opened = await open_deal(actors, [asset_id(0x21)], 1_000 * USDC, 800 * USDC)
    # The whole advance leaves the reserve for the facility, which keeps the deal's cash reserve (6.6%).
    (funded,) = events(p.aid, "DealFunded", opened)
    assert (funded["borrower"], funded["stableAmount"]) == (p.facility.address, 800 * USDC)
    cash = 800 * USDC * CASH_RESERVE_BPS // BPS
    assert cash == 52_800_000
    assert await usdc_of(gaib, p.facility.address) == cash
    assert await usdc_of(gaib, actors.provider.address) == provider_before + 800 * USDC - cash
    assert await p.aid.functions.reserve().call() == 200 * USDC
    assert await p.aid.functions.principalDeployed().call() == 800 * USDC
    await assert_backed(gaib)

    reason = await reverts(
        investor.send(p.aid.functions.redeem(1_000 * USDC * SCALE), what="redeem"), "InsufficientReserve"
    )
    assert f"requested={1_000 * USDC}" in reason
    assert f"available={200 * USDC}" in reason
    await investor.send(p.aid.functions.redeem(200 * USDC * SCALE), what="redeem what is there")
    assert await p.aid.functions.reserve().call() == 0
    await reverts(investor.send(p.aid.functions.redeem(SCALE), what="redeem"), "InsufficientReserve")
    await assert_backed(gaib)

    # The borrower repays principal (no time has passed worth more than a unit): the reserve refills.
    provider = actors.provider
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    await gaib.faucet(provider.address, Decimal(100))
    provider_before = await usdc_of(gaib, provider.address)
    repaid = await provider.send(p.facility.functions.repay(1, 900 * USDC), what="repay")
    (ev,) = events(p.facility, "Repaid", repaid)
    assert ev["principal"] == 800 * USDC and 0 < ev["fees"] + ev["interest"] < USDC
    # Closing the deal hands its cash reserve back to the borrower.
    assert [(e["dealId"], e["cashReserveReleased"]) for e in events(p.facility, "DealClosed", repaid)] == [(1, cash)]
    taken = ev["fees"] + ev["interest"] + ev["principal"]
    assert await usdc_of(gaib, provider.address) == provider_before - taken + cash
    assert await usdc_of(gaib, p.facility.address) == 0
    assert await p.aid.functions.principalDeployed().call() == 0
    await investor.send(p.aid.functions.redeem(800 * USDC * SCALE), what="redeem")
    assert await aid_of(gaib, investor.address) == 0
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_redemption_queue_is_fifo_with_partial_fills_and_pull_claims(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    aid = p.aid.functions
    admin, investor, lender, outsider, provider = (
        actors.admin,
        actors.investor,
        actors.lender,
        actors.outsider,
        actors.provider,
    )
    await gaib.aid.whitelist(lender.address)
    await mint_aid(investor, 1_000 * USDC)
    await mint_aid(lender, 100 * USDC)
    await register(actors, provider.address, [asset_id(0x91)])
    await open_deal(actors, [asset_id(0x91)], 2_000 * USDC, 900 * USDC, terms(FIXED, 0, 0, 0, 365))  # no interest
    assert await aid.reserve().call() == 200 * USDC
    assert (await aid.queueLength().call(), await aid.queuedStable().call()) == (0, 0)

    # Refused: less than a whole USDC unit's worth, an account without KYC, and while paused.
    await reverts(investor.send(aid.requestRedemption(SCALE - 1), what="queue dust"), "ZeroAmount")
    reason = await reverts(outsider.send(aid.requestRedemption(SCALE), what="queue"), "NotWhitelisted")
    assert outsider.address.lower() in reason.lower()
    await admin.send(aid.pause(), what="pause")
    await reverts(investor.send(aid.requestRedemption(SCALE), what="queue"), "EnforcedPause")
    await admin.send(aid.unpause(), what="unpause")

    # Request 0: 300 USDC (and some dust, which stays with the caller) against a reserve of 200. The AID is
    # escrowed; what the reserve covers is filled at once (the head is filled in part) and set aside to claim.
    investor_aid, investor_usdc = await aid_of(gaib, investor.address), await usdc_of(gaib, investor.address)
    result = await investor.send(aid.requestRedemption(300 * USDC * SCALE + 5), what="request 0")
    (req,) = events(p.aid, "RedemptionRequested", result)
    assert (req["requestId"], req["owner"], req["aidIn"], req["stableOwed"]) == (
        0,
        investor.address,
        300 * USDC * SCALE,
        300 * USDC,
    )
    (fill,) = events(p.aid, "RedemptionFilled", result)
    assert (fill["requestId"], fill["owner"], fill["stable"], fill["remaining"]) == (
        0,
        investor.address,
        200 * USDC,
        100 * USDC,
    )
    assert await aid_of(gaib, investor.address) == investor_aid - 300 * USDC * SCALE
    assert await aid_of(gaib, p.aid.address) == 100 * USDC * SCALE  # the filled part is burned
    assert await usdc_of(gaib, investor.address) == investor_usdc  # pull-based: nothing is sent yet
    assert await aid.claimable(investor.address).call() == 200 * USDC
    assert await aid.totalClaimable().call() == 200 * USDC
    assert await aid.reserve().call() == 0
    assert await usdc_of(gaib, p.aid.address) == 200 * USDC  # held for the claim, no longer reserve
    assert (await aid.queueLength().call(), await aid.queueHead().call()) == (1, 0)
    assert await aid.queuedStable().call() == 100 * USDC
    assert tuple(await aid.redemptionQueue(0).call()) == (investor.address, 100 * USDC)
    await assert_backed(gaib)

    # Nobody jumps the queue: redeem is refused while requests wait, however small.
    reason = await reverts(lender.send(aid.redeem(SCALE), what="redeem"), "QueueNotEmpty")
    assert f"queuedStable={100 * USDC}" in reason

    # Requests 1 (lender, 50) and 2 (investor, 70) wait behind it: with no cash, nothing fills.
    r1 = await lender.send(aid.requestRedemption(50 * USDC * SCALE), what="request 1")
    r2 = await investor.send(aid.requestRedemption(70 * USDC * SCALE), what="request 2")
    assert [e["requestId"] for e in events(p.aid, "RedemptionRequested", r1)] == [1]
    assert [e["requestId"] for e in events(p.aid, "RedemptionRequested", r2)] == [2]
    assert events(p.aid, "RedemptionFilled", r1) == events(p.aid, "RedemptionFilled", r2) == []
    assert (await aid.queueLength().call(), await aid.queuedStable().call()) == (3, 220 * USDC)
    assert await aid.processRedemptions(10).call() == 0
    await assert_backed(gaib)

    # The investor pulls what was set aside; then there is nothing left to claim, and never was for others.
    result = await investor.send(aid.claim(), what="claim")
    assert [(e["owner"], e["stable"]) for e in events(p.aid, "Claimed", result)] == [(investor.address, 200 * USDC)]
    assert await usdc_of(gaib, investor.address) == investor_usdc + 200 * USDC
    assert (await aid.claimable(investor.address).call(), await aid.totalClaimable().call()) == (0, 0)
    reason = await reverts(investor.send(aid.claim(), what="claim again"), "NothingToClaim")
    assert investor.address.lower() in reason.lower()
    await reverts(lender.send(aid.claim(), what="claim"), "NothingToClaim")
    await reverts(outsider.send(aid.claim(), what="claim"), "NothingToClaim")
    await assert_backed(gaib)

    # New cash pays waiting redeemers first, in order: a mint of 130 completes request 0 (100) and fills
    # 30 of request 1, which stays at the head. The minter gets its AID as usual.
    lender_aid = await aid_of(gaib, lender.address)
    result = await lender.send(aid.mint(130 * USDC), what="mint")
    fills = [
        (e["requestId"], e["owner"], e["stable"], e["remaining"]) for e in events(p.aid, "RedemptionFilled", result)
    ]
    assert fills == [(0, investor.address, 100 * USDC, 0), (1, lender.address, 30 * USDC, 20 * USDC)]
    assert await aid_of(gaib, lender.address) == lender_aid + 130 * USDC * SCALE
    assert (await aid.queueLength().call(), await aid.queueHead().call()) == (2, 1)
    assert await aid.queuedStable().call() == 90 * USDC
    assert tuple(await aid.redemptionQueue(1).call()) == (lender.address, 20 * USDC)
    assert tuple(await aid.redemptionQueue(0).call()) == (investor.address, 0)
    assert await aid.claimable(investor.address).call() == 100 * USDC
    assert await aid.claimable(lender.address).call() == 30 * USDC
    assert await aid.reserve().call() == 0
    await assert_backed(gaib)

    # A denied account's request still fills (nobody behind it is held up), but it cannot take the money
    # out, nor queue more, until the deny is lifted.
    await admin.send(aid.setDenied(investor.address, True), what="deny")
    await reverts(investor.send(aid.claim(), what="claim"), "AccountDenied")
    await reverts(investor.send(aid.requestRedemption(SCALE), what="queue"), "AccountDenied")
    # The deal is repaid: principal back in the reserve fills requests 1 and 2.
    await gaib.faucet(provider.address, Decimal(1_000))
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    result = await provider.send(p.facility.functions.repay(1, 1_000 * USDC), what="repay")
    fills = [
        (e["requestId"], e["owner"], e["stable"], e["remaining"]) for e in events(p.aid, "RedemptionFilled", result)
    ]
    assert fills == [(1, lender.address, 20 * USDC, 0), (2, investor.address, 70 * USDC, 0)]
    assert (await aid.queueLength().call(), await aid.queuedStable().call()) == (0, 0)
    assert await aid.claimable(investor.address).call() == 170 * USDC
    await reverts(investor.send(aid.claim(), what="claim"), "AccountDenied")
    await admin.send(aid.setDenied(investor.address, False), what="undeny")
    before = await usdc_of(gaib, investor.address)
    await investor.send(aid.claim(), what="claim")
    assert await usdc_of(gaib, investor.address) == before + 170 * USDC
    await lender.send(aid.claim(), what="claim")
    assert await aid.totalClaimable().call() == 0
    await assert_backed(gaib)

    # With the queue empty, redeem works again.
    await lender.send(aid.redeem(10 * USDC * SCALE), what="redeem")
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_auto_fill_is_bounded_and_process_redemptions_fills_the_rest(gaib: Gaib, actors: Actors) -> None:
    """Cash coming back (principalReturned, mintIncome, mint) fills at most AUTO_FILL requests, so repay()'s
    gas stays bounded; processRedemptions, which anyone may call, fills the rest."""
    p = gaib.protocol
    aid = p.aid.functions
    admin, investor, outsider = actors.admin, actors.investor, actors.outsider
    auto_fill = await aid.AUTO_FILL().call()
    assert auto_fill == 20
    await mint_aid(investor, 100 * USDC)
    # The admin plays the credit facility: it takes the whole reserve out as a "deal".
    await admin.send(aid.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")
    await admin.send(aid.fundDeal(admin.address, 100 * USDC), what="fund")
    n = 2 * auto_fill + 3
    for _ in range(n):
        await investor.send(aid.requestRedemption(USDC * SCALE), what="request 1 USDC")
    assert (await aid.queueLength().call(), await aid.queuedStable().call()) == (n, n * USDC)
    await assert_backed(gaib)

    # Principal returns: 25 requests' worth of cash, but only AUTO_FILL are filled; the rest stays in reserve.
    await admin.send(p.usdc.functions.transfer(p.aid.address, 25 * USDC), what="principal back")
    result = await admin.send(aid.principalReturned(25 * USDC), what="returned")
    assert [e["stableAmount"] for e in events(p.aid, "PrincipalReturned", result)] == [25 * USDC]
    fills = events(p.aid, "RedemptionFilled", result)
    assert [(e["requestId"], e["stable"], e["remaining"]) for e in fills] == [(i, USDC, 0) for i in range(auto_fill)]
    assert await aid.reserve().call() == 5 * USDC
    assert await aid.principalDeployed().call() == 75 * USDC
    assert (await aid.queueLength().call(), await aid.queueHead().call()) == (n - auto_fill, auto_fill)
    await assert_backed(gaib)

    # Income: the same bound.
    await admin.send(p.usdc.functions.approve(p.aid.address, MAX_UINT), what="approve")
    result = await admin.send(aid.mintIncome(admin.address, 25 * USDC), what="income")
    (income,) = events(p.aid, "IncomeMinted", result)
    assert (income["to"], income["stableIn"], income["aidOut"]) == (admin.address, 25 * USDC, 25 * USDC * SCALE)
    fills = events(p.aid, "RedemptionFilled", result)
    assert [e["requestId"] for e in fills] == list(range(auto_fill, 2 * auto_fill))
    assert await aid.reserve().call() == 10 * USDC
    assert await aid.queueLength().call() == 3
    await assert_backed(gaib)

    # processRedemptions: anyone may call it; it fills at most maxRequests and says how many it completed.
    assert await aid.processRedemptions(2).call({"from": outsider.address}) == 2
    result = await outsider.send(aid.processRedemptions(2), what="process")
    assert [e["requestId"] for e in events(p.aid, "RedemptionFilled", result)] == [2 * auto_fill, 2 * auto_fill + 1]
    assert await aid.queueLength().call() == 1
    result = await outsider.send(aid.processRedemptions(50), what="process")
    assert [e["requestId"] for e in events(p.aid, "RedemptionFilled", result)] == [n - 1]
    assert (await aid.queueLength().call(), await aid.queueHead().call(), await aid.queuedStable().call()) == (0, n, 0)
    assert await aid.reserve().call() == 7 * USDC
    # An empty queue: nothing to do.
    assert await aid.processRedemptions(50).call() == 0
    result = await outsider.send(aid.processRedemptions(50), what="process")
    assert events(p.aid, "RedemptionFilled", result) == []
    await assert_backed(gaib)

    # The investor takes all of it in one claim; the queue is empty, so redeem works again.
    before = await usdc_of(gaib, investor.address)
    await investor.send(aid.claim(), what="claim")
    assert await usdc_of(gaib, investor.address) == before + n * USDC
    await investor.send(aid.redeem(7 * USDC * SCALE), what="redeem")
    assert await aid.reserve().call() == 0
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_aid_realize_loss_burns_the_vaults_aid_first(gaib: Gaib, actors: Actors) -> None:
    """sAID is first-loss capital: a realized loss burns AID held by the vault (whole USDC units' worth);
    what it cannot cover stays on the books as uncoveredLoss, AID in circulation with nothing behind it."""
    p = gaib.protocol
    aid = p.aid.functions
    admin, investor, outsider = actors.admin, actors.investor, actors.outsider
    await mint_aid(investor, 1_000 * USDC)
    await investor.send(aid.approve(p.said.address, MAX_UINT), what="approve AID")
    staked = 100 * USDC * SCALE + 123  # and some dust below a USDC unit
    await investor.send(p.said.functions.deposit(staked, investor.address), what="stake")
    await unauthorized(admin.send(aid.realizeLoss(p.said.address, 1), what="loss"), admin.address, "FACILITY_ROLE")
    await unauthorized(
        outsider.send(aid.realizeLoss(p.said.address, 1), what="loss"), outsider.address, "FACILITY_ROLE"
    )
    await admin.send(aid.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")
    await admin.send(aid.fundDeal(admin.address, 500 * USDC), what="fund")
    reason = await reverts(
        admin.send(aid.realizeLoss(p.said.address, 500 * USDC + 1), what="loss"), "PrincipalUnderflow"
    )
    assert f"returned={500 * USDC + 1}" in reason and f"deployed={500 * USDC}" in reason
    price = await p.said.functions.sharePrice().call()
    assert price == 10**18
    shares = await p.said.functions.totalSupply().call()

    # A loss the vault covers: its AID is burned, the share price falls, nothing is uncovered.
    result = await admin.send(aid.realizeLoss(p.said.address, 30 * USDC), what="loss")
    assert [(e["stableLoss"], e["absorbedByVault"], e["uncovered"]) for e in events(p.aid, "LossRealized", result)] == [
        (30 * USDC, 30 * USDC, 0)
    ]
    assert await aid_of(gaib, p.said.address) == staked - 30 * USDC * SCALE
    assert await aid.principalDeployed().call() == 470 * USDC
    assert await aid.uncoveredLoss().call() == 0
    assert await aid.totalSupply().call() == 970 * USDC * SCALE
    assert await p.said.functions.sharePrice().call() == 10**18 * (staked - 30 * USDC * SCALE) // shares
    await assert_backed(gaib)

    # A loss larger than the vault: it absorbs all its whole units (the dust stays), the rest is uncovered.
    result = await admin.send(aid.realizeLoss(p.said.address, 100 * USDC), what="loss")
    assert [(e["stableLoss"], e["absorbedByVault"], e["uncovered"]) for e in events(p.aid, "LossRealized", result)] == [
        (100 * USDC, 70 * USDC, 30 * USDC)
    ]
    assert await aid_of(gaib, p.said.address) == 123
    assert await aid.principalDeployed().call() == 370 * USDC
    assert await aid.uncoveredLoss().call() == 30 * USDC
    assert await aid.totalSupply().call() == 900 * USDC * SCALE
    await assert_backed(gaib)

    # Nothing to absorb: all of it is uncovered.
    result = await admin.send(aid.realizeLoss(outsider.address, 10 * USDC), what="loss")
    assert [(e["stableLoss"], e["absorbedByVault"], e["uncovered"]) for e in events(p.aid, "LossRealized", result)] == [
        (10 * USDC, 0, 10 * USDC)
    ]
    assert await aid.uncoveredLoss().call() == 40 * USDC
    assert await aid.principalDeployed().call() == 360 * USDC
    await assert_backed(gaib)


# ---- StakedAID and its oracle ----


@pytest.mark.asyncio
async def test_said_share_price_and_oracle_follow_deal_income(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, lender, provider = actors.investor, actors.lender, actors.provider
    # the highest growth cap (100% a year): deal income here stays under it (the cap: test_venue_morpho.py)
    args = [p.said.address, 6, 10**18]
    deployed = await gaib.chain.deploy(load_artifact("SAIDOracle"), args, actors.admin.account)
    assert deployed.contract_address is not None
    oracle = gaib.chain.contract(deployed.contract_address, load_artifact("SAIDOracle")["abi"])
    assert await oracle.functions.vault().call() == p.said.address
    assert await oracle.functions.ONE_SHARE().call() == 10**18
    assert await oracle.functions.SCALE_FACTOR().call() == 10**6  # 10^(36 + 6 - 18 - 18)
    assert await p.said.functions.asset().call() == p.aid.address
    assert await p.said.functions.sharePrice().call() == 10**18
    assert await oracle.functions.price().call() == 10**24

    # Deposit and exit (request, cycle, claim) at 1:1 while no income has come in.
    await mint_aid(investor, 1_000_000 * USDC)
    await investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    deposit = 400_000 * 10**18
    # the first deposit leaves DEAD_SHARES with the dead address, for good, and its preview says so
    dead_shares = await p.said.functions.DEAD_SHARES().call()
    assert dead_shares == 10**6
    assert await p.said.functions.previewDeposit(deposit).call() == deposit - dead_shares
    assert await p.said.functions.previewMint(deposit - dead_shares).call() == deposit
    result = await investor.send(p.said.functions.deposit(deposit, investor.address), what="deposit")
    (ev,) = events(p.said, "Deposit", result)
    assert (ev["assets"], ev["shares"]) == (deposit, deposit - dead_shares)
    assert await p.said.functions.balanceOf(DEAD).call() == dead_shares
    assert await p.said.functions.balanceOf(investor.address).call() == deposit - dead_shares
    aid_before = await aid_of(gaib, investor.address)
    assert await exit_said(gaib, investor, 100_000 * 10**18) == 100_000 * 10**18
    assert await aid_of(gaib, investor.address) == aid_before + 100_000 * 10**18
    assert await p.said.functions.balanceOf(investor.address).call() == 300_000 * 10**18 - dead_shares
    assert await p.said.functions.sharePrice().call() == 10**18
    assert await oracle.functions.price().call() == 10**24
    await reverts(
        actors.outsider.send(p.said.functions.redeem(1, actors.outsider.address, actors.outsider.address), what="r"),
        "ExceedsClaimable",
    )

    # A deal pays interest: it is minted as AID into the vault, and each share is worth more.
    await register(actors, provider.address, [asset_id(0x31)])
    await open_deal(actors, [asset_id(0x31)], 1_000_000 * USDC, 500_000 * USDC, terms(rate_bps=1_000, fee_bps=0))
    await gaib.chain.advance_time(90 * DAY)
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    repaid = await provider.send(p.facility.functions.repay(1, 100_000 * USDC), what="repay")
    (rep,) = events(p.facility, "Repaid", repaid)
    interest = rep["interest"]
    assert interest > 12_000 * USDC  # about 90 days at 10% on 500k
    # The AID is minted to the facility, which pays it into the vault as rewards that vest over 8 hours.
    (income,) = events(p.aid, "IncomeMinted", repaid)
    assert (income["to"], income["stableIn"], income["aidOut"]) == (p.facility.address, interest, interest * SCALE)
    (rewards,) = events(p.said, "RewardsReceived", repaid)
    assert (rewards["amount"], rewards["vesting"], rewards["period"]) == (interest * SCALE, interest * SCALE, VESTING)
    distributed = await block_time(gaib, repaid)
    assert await p.said.functions.lastDistribution().call() == distributed
    assert await p.said.functions.unvestedAmount().call() == interest * SCALE
    assert await aid_of(gaib, p.said.address) == 300_000 * 10**18 + interest * SCALE
    assert await aid_of(gaib, p.facility.address) == 0

    # In the distribution's own block nothing has vested: the share price has not moved yet.
    assert await gaib.chain.timestamp() == distributed
    assert await p.said.functions.unvestedAmount().call() == interest * SCALE
    assert await p.said.functions.totalAssets().call() == 300_000 * 10**18
    assert await p.said.functions.sharePrice().call() == 10**18
    assert await oracle.functions.price().call() == 10**24

    # It vests linearly: unvested = ceil(amount * (period - elapsed) / period), out of totalAssets.
    last_price = 10**18
    for step in (1, 3_600, 2 * 3_600 - 1, 5 * 3_600):
        await gaib.chain.advance_time(step)
        elapsed = await gaib.chain.timestamp() - distributed
        unvested = ceil_div(interest * SCALE * (VESTING - elapsed), VESTING) if elapsed < VESTING else 0
        assert await p.said.functions.unvestedAmount().call() == unvested, elapsed
        assert await p.said.functions.totalAssets().call() == 300_000 * 10**18 + interest * SCALE - unvested
        price = await p.said.functions.sharePrice().call()
        assert price > last_price
        last_price = price
    assert await gaib.chain.timestamp() - distributed == VESTING  # advance_time lands on the second
    assert await p.said.functions.unvestedAmount().call() == 0

    assets = await p.said.functions.totalAssets().call()
    supply = await p.said.functions.totalSupply().call()
    assert assets == 300_000 * 10**18 + interest * SCALE
    assert supply == 300_000 * 10**18  # the investor's shares and the dead shares
    price = await p.said.functions.sharePrice().call()
    assert price == 10**18 * assets // supply
    assert price > 10**18
    assert await oracle.functions.price().call() == price * 10**6
    assert await oracle.functions.price().call() == await p.said.functions.convertToAssets(10**18).call() * 10**6

    # A depositor after the income gets fewer shares than AID deposited.
    await gaib.aid.whitelist(lender.address)
    await mint_aid(lender, 100_000 * USDC)
    await lender.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    amount = 100_000 * 10**18
    expected_shares = amount * supply // assets
    assert await p.said.functions.previewDeposit(amount).call() == expected_shares
    await lender.send(p.said.functions.deposit(amount, lender.address), what="deposit")
    assert await p.said.functions.balanceOf(lender.address).call() == expected_shares
    assert expected_shares < amount
    assert await p.said.functions.sharePrice().call() >= price

    # The early staker redeems its shares for its deposit plus the interest (less rounding).
    assets = await p.said.functions.totalAssets().call()
    supply = await p.said.functions.totalSupply().call()
    shares = 300_000 * 10**18 - dead_shares
    aid_before = await aid_of(gaib, investor.address)
    out = await exit_said(gaib, investor, shares)
    assert await aid_of(gaib, investor.address) - aid_before == out
    assert out == shares * assets // supply
    assert 300_000 * 10**18 + interest * SCALE - 10**18 < out <= 300_000 * 10**18 + interest * SCALE
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_said_income_with_nobody_staked_goes_to_the_treasury(gaib: Gaib, actors: Actors) -> None:
    """Interest paid while no sAID exists would belong to no one (and the next small deposit would buy
    nothing): the facility sends it to the treasury instead."""
    p = gaib.protocol
    investor, provider = actors.investor, actors.provider
    treasury = await p.facility.functions.treasury().call()
    await mint_aid(investor, 600_000 * USDC)  # nobody stakes
    await register(actors, provider.address, [asset_id(0x41)])
    await open_deal(actors, [asset_id(0x41)], 1_000_000 * USDC, 500_000 * USDC, terms(rate_bps=1_000, fee_bps=0))
    await gaib.chain.advance_time(90 * DAY)
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    repaid = await provider.send(p.facility.functions.repay(1, 100_000 * USDC), what="repay")
    (rep,) = events(p.facility, "Repaid", repaid)
    (income,) = events(p.aid, "IncomeMinted", repaid)
    assert income["to"] == treasury and income["aidOut"] == rep["interest"] * SCALE
    assert await p.said.functions.totalAssets().call() == 0
    await assert_backed(gaib)

    # the first deposit is 1:1, less the dead shares; one too small to leave any shares is refused
    await investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await reverts(investor.send(p.said.functions.deposit(10**6, investor.address), what="d"), "FirstDepositTooSmall")
    deposit = 1_000 * 10**18
    await investor.send(p.said.functions.deposit(deposit, investor.address), what="deposit")
    assert await p.said.functions.balanceOf(investor.address).call() == deposit - 10**6


@pytest.mark.asyncio
async def test_said_donation_cannot_zero_out_a_later_depositor(gaib: Gaib, actors: Actors) -> None:
    """The first-depositor inflation attack: deposit the least possible, donate a lot, and hope the next
    depositor's shares round down to nothing. The dead shares keep most of the donation."""
    p = gaib.protocol
    attacker, victim = actors.investor, actors.lender
    await gaib.aid.whitelist(victim.address)
    await mint_aid(attacker, 1_000_000 * USDC)
    await mint_aid(victim, 10_000 * USDC)
    for who in (attacker, victim):
        await who.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await attacker.send(p.said.functions.deposit(10**6 + 1, attacker.address), what="smallest first deposit")
    assert await p.said.functions.balanceOf(attacker.address).call() == 1
    await attacker.send(p.aid.functions.transfer(p.said.address, 500_000 * 10**18), what="donate")
    await victim.send(p.said.functions.deposit(10_000 * 10**18, victim.address), what="victim deposits")
    victim_shares = await p.said.functions.balanceOf(victim.address).call()
    assert victim_shares > 0
    # the victim loses a sliver to rounding; the attacker's one share is worth a millionth of the pool
    victim_worth = await p.said.functions.convertToAssets(victim_shares).call()
    assert victim_worth > 9_950 * 10**18
    assert await p.said.functions.convertToAssets(1).call() < 1_000 * 10**18


@pytest.mark.asyncio
async def test_said_honours_the_aid_deny_list(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, outsider = actors.investor, actors.outsider
    await mint_aid(investor, 10_000 * USDC)
    await investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await investor.send(p.said.functions.deposit(5_000 * 10**18, investor.address), what="deposit")
    await gaib.send(p.aid.functions.setDenied(investor.address, True), what="deny")
    await reverts(investor.send(p.said.functions.transfer(outsider.address, 1), what="t"), "AccountDenied")
    # neither an exit request nor a claim to a clean receiver lets value out
    await reverts(
        investor.send(p.said.functions.requestRedeem(10**18, investor.address, investor.address), what="r"),
        "AccountDenied",
    )
    await reverts(
        investor.send(p.said.functions.redeem(10**18, outsider.address, investor.address), what="r"), "AccountDenied"
    )
    await gaib.send(p.aid.functions.setDenied(investor.address, False), what="undeny")
    await gaib.send(p.aid.functions.setDenied(outsider.address, True), what="deny outsider")
    await reverts(investor.send(p.said.functions.transfer(outsider.address, 1), what="t"), "AccountDenied")


async def staked_with_rewarder(gaib: Gaib, actors: Actors, stake: int) -> None:
    """The investor stakes ``stake`` AID wei; the admin gets REWARDER_ROLE, 100,000 AID to pay rewards with,
    and approves the vault to pull them."""
    p = gaib.protocol
    investor, admin = actors.investor, actors.admin
    await mint_aid(investor, 200_000 * USDC)
    await investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await investor.send(p.said.functions.deposit(stake, investor.address), what="stake")
    await investor.send(p.aid.functions.transfer(admin.address, 100_000 * USDC * SCALE), what="AID to pay rewards")
    await admin.send(p.said.functions.grantRole(role("REWARDER_ROLE"), admin.address), what="grant")
    await admin.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")


def unvested_after(amount: int, elapsed: int, period: int = VESTING) -> int:
    """StakedAID.unvestedAmount: ceil(amount * (period - elapsed) / period), 0 once the period is over."""
    return ceil_div(amount * (period - elapsed), period) if elapsed < period else 0


@pytest.mark.asyncio
async def test_said_rewards_vest_linearly_and_only_the_rewarder_pays_them(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    admin, outsider = actors.admin, actors.outsider
    assert await said.vestingPeriod().call() == VESTING
    assert await said.MAX_VESTING_PERIOD().call() == 30 * DAY
    assert (
        await said.trancheTail().call(),
        await said.lastDistribution().call(),
        await said.unvestedAmount().call(),
    ) == (
        0,
        0,
        0,
    )
    # Only the facility holds REWARDER_ROLE at deployment; not even the admin may pay rewards in.
    await unauthorized(admin.send(said.transferInRewards(1), what="rewards"), admin.address, "REWARDER_ROLE")
    await unauthorized(outsider.send(said.transferInRewards(1), what="rewards"), outsider.address, "REWARDER_ROLE")
    assert await said.hasRole(role("REWARDER_ROLE"), p.facility.address).call()
    stake = 1_000 * 10**18
    await staked_with_rewarder(gaib, actors, stake)

    amount = 800 * 10**18 + 7
    admin_aid = await aid_of(gaib, admin.address)
    result = await admin.send(said.transferInRewards(amount), what="rewards")
    t0 = await block_time(gaib, result)
    (ev,) = events(p.said, "RewardsReceived", result)
    assert (ev["amount"], ev["vesting"], ev["period"]) == (amount, amount, VESTING)
    assert await aid_of(gaib, admin.address) == admin_aid - amount
    assert await aid_of(gaib, p.said.address) == stake + amount
    assert (await said.unvestedAmount().call(), await said.lastDistribution().call()) == (amount, t0)
    assert await said.unvestedAmount().call() == amount
    assert await said.totalAssets().call() == stake
    assert await said.sharePrice().call() == 10**18

    # A quarter of the period later, a quarter has vested (the unvested part rounds up).
    await gaib.chain.advance_time(VESTING // 4)
    elapsed = await gaib.chain.timestamp() - t0
    assert elapsed == VESTING // 4
    unvested = unvested_after(amount, elapsed)
    assert unvested == ceil_div(amount * 3, 4)
    assert await said.unvestedAmount().call() == unvested
    assert await said.totalAssets().call() == stake + amount - unvested

    # A second distribution vests on its own schedule; the first keeps its own (it used to restart the clock
    # for both, which let anyone delay income already paid in): nothing jumps.
    second = 400 * 10**18
    result = await admin.send(said.transferInRewards(second), what="rewards")
    t1 = await block_time(gaib, result)
    pending = unvested_after(amount, t1 - t0)
    (ev,) = events(p.said, "RewardsReceived", result)
    assert (ev["amount"], ev["vesting"], ev["period"]) == (second, pending + second, VESTING)
    assert (await said.unvestedAmount().call(), await said.lastDistribution().call()) == (pending + second, t1)
    assert await said.totalAssets().call() == stake + amount - pending
    await gaib.chain.advance_time(VESTING // 2)
    now = await gaib.chain.timestamp()
    unvested = unvested_after(amount, now - t0) + unvested_after(second, now - t1)
    assert await said.unvestedAmount().call() == unvested
    assert await said.totalAssets().call() == stake + amount + second - unvested
    await gaib.chain.advance_time(t1 + VESTING - await gaib.chain.timestamp())
    assert await said.unvestedAmount().call() == 0
    assert await said.totalAssets().call() == stake + amount + second
    assert await said.sharePrice().call() == 10**18 * (stake + amount + second) // stake


@pytest.mark.asyncio
async def test_said_set_vesting_period_is_bounded_and_never_vests_retroactively(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    said = p.said.functions
    admin, outsider = actors.admin, actors.outsider
    stake = 1_000 * 10**18
    await staked_with_rewarder(gaib, actors, stake)
    await unauthorized(
        outsider.send(said.setVestingPeriod(3600), what="period"), outsider.address, "DEFAULT_ADMIN_ROLE"
    )
    reason = await reverts(admin.send(said.setVestingPeriod(30 * DAY + 1), what="period"), "VestingPeriodTooLong")
    assert f"period={30 * DAY + 1}" in reason and f"max={30 * DAY}" in reason
    result = await admin.send(said.setVestingPeriod(30 * DAY), what="longest period")
    assert [e["period"] for e in events(p.said, "VestingPeriodSet", result)] == [30 * DAY]
    await admin.send(said.setVestingPeriod(VESTING), what="period back")
    # The constructor holds the same bound.
    with pytest.raises(TransactionFailed) as exc:
        await gaib.chain.deploy(load_artifact("StakedAID"), [admin.address, p.aid.address, 30 * DAY + 1], admin.account)
    assert (exc.value.reason or "").startswith("VestingPeriodTooLong(")

    amount = 900 * 10**18
    t0 = await block_time(gaib, await admin.send(said.transferInRewards(amount), what="rewards"))
    await gaib.chain.advance_time(6 * 3600)  # three quarters vested under the 8 h period
    assert await said.unvestedAmount().call() == amount // 4

    # Shorten the period to 1 h. Were the 6 h already elapsed measured against it, everything would vest at
    # once; instead what is still unvested starts a fresh 1 h period from now.
    result = await admin.send(said.setVestingPeriod(3600), what="shorter period")
    ts = await block_time(gaib, result)
    left = unvested_after(amount, ts - t0)
    assert left > 0
    assert [e["period"] for e in events(p.said, "VestingPeriodSet", result)] == [3600]
    assert (await said.vestingPeriod().call(), await said.unvestedAmount().call()) == (3600, left)
    assert await said.lastDistribution().call() == ts
    assert await said.unvestedAmount().call() == left
    assert await said.totalAssets().call() == stake + amount - left
    await gaib.chain.advance_time(1800)
    assert await said.unvestedAmount().call() == unvested_after(left, 1800, 3600)
    await gaib.chain.advance_time(1800)
    assert await said.unvestedAmount().call() == 0
    assert await said.totalAssets().call() == stake + amount

    # A period of 0: a distribution counts in full at once.
    await admin.send(said.setVestingPeriod(0), what="no vesting")
    await admin.send(said.transferInRewards(10**18), what="rewards")
    assert await said.unvestedAmount().call() == 0
    assert await said.totalAssets().call() == stake + amount + 10**18


@pytest.mark.asyncio
async def test_said_a_deposit_just_before_a_distribution_gains_nothing(gaib: Gaib, actors: Actors) -> None:
    """The sandwich: deposit right before a deal's interest is paid in and ask to exit right after, in the same
    block. There is no instant exit (ERC-7540: the request waits for the cycle), and income vests over 8 hours,
    so at that block the shares are worth the deposit and nothing more; only staying exposed earns."""
    p = gaib.protocol
    said = p.said.functions
    staker, attacker, provider = actors.investor, actors.lender, actors.provider
    await gaib.aid.whitelist(attacker.address)
    await mint_aid(staker, 1_000_000 * USDC)
    await mint_aid(attacker, 400_000 * USDC)
    for who in (staker, attacker):
        await who.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await staker.send(said.deposit(100_000 * 10**18, staker.address), what="stake")
    await register(actors, provider.address, [asset_id(0xA1)])
    await open_deal(actors, [asset_id(0xA1)], 1_000_000 * USDC, 500_000 * USDC, terms(rate_bps=1_000, fee_bps=0))
    await gaib.chain.advance_time(90 * DAY)
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")

    # The attacker deposits 4x the stakers' capital just before the repayment...
    deposit = 400_000 * 10**18
    await attacker.send(said.deposit(deposit, attacker.address), what="front-run deposit")
    shares = await said.balanceOf(attacker.address).call()
    price = await said.sharePrice().call()
    # ...then the repayment and the attacker's redeem land in one block.
    w3 = gaib.chain.w3
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    before = await aid_of(gaib, attacker.address)
    tester.disable_auto_mine_transactions()
    try:
        hashes = [
            await send_raw(gaib, provider, p.facility.functions.repay(1, 100_000 * USDC)),
            await send_raw(gaib, attacker, said.requestRedeem(shares, attacker.address, attacker.address)),
        ]
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    repaid, redeemed = [await w3.eth.get_transaction_receipt(h) for h in hashes]
    assert (repaid["status"], redeemed["status"]) == (1, 1)
    assert repaid["blockNumber"] == redeemed["blockNumber"]
    (rep,) = events(p.facility, "Repaid", TxResult("", 0, 0, repaid["logs"]))
    interest = rep["interest"] * SCALE
    assert interest > 12_000 * 10**18
    assert await aid_of(gaib, attacker.address) == before  # nothing paid out: the shares wait in the vault
    assert await said.balanceOf(p.said.address).call() == shares
    await reverts(attacker.send(said.redeem(shares, attacker.address, attacker.address), what="r"), "ExceedsClaimable")
    with pytest.raises(Exception) as exc:  # noqa: B017 (a view's revert: web3's own error, decoded below)
        await said.previewRedeem(shares).call()
    data = revert_data(exc.value)
    assert data is not None and (decode_revert(data) or ("",))[0] == "AsyncRedeem"
    assert price == 10**18
    # (eth-tester stamps the mined block a second after the transactions ran: one second has vested since.)
    elapsed = await gaib.chain.timestamp() - await said.lastDistribution().call()
    assert elapsed <= 1
    assert await said.unvestedAmount().call() == unvested_after(interest, elapsed)
    # the pending exit's AID is still in the vault: its shares are filled (and priced) only at the cycle
    assert await said.totalAssets().call() == 100_000 * 10**18 + deposit + interest - unvested_after(interest, elapsed)

    # In that block the pending shares are worth the deposit and at most the one second vested since.
    worth = await said.convertToAssets(shares).call()
    assert deposit - 2 <= worth <= deposit + (interest - unvested_after(interest, elapsed))


@pytest.mark.asyncio
async def test_said_a_loss_during_vesting_does_not_hand_the_vault_to_the_next_depositor(
    gaib: Gaib, actors: Actors
) -> None:
    p = gaib.protocol
    said = p.said.functions
    admin, investor, attacker = actors.admin, actors.investor, actors.lender
    stake = 1_000 * 10**18
    await staked_with_rewarder(gaib, actors, stake)
    await admin.send(said.transferInRewards(1_000 * 10**18), what="rewards")  # vesting over 8 h
    # A loss of 1,500 AID: all the vested AID and half the unvested is burned; 500 AID stays in the vault.
    await admin.send(p.aid.functions.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")
    await admin.send(p.aid.functions.fundDeal(admin.address, 2_000 * USDC), what="fund")
    await admin.send(p.aid.functions.realizeLoss(p.said.address, 1_500 * USDC), what="loss")
    assert await aid_of(gaib, p.said.address) == 500 * 10**18
    # as the facility does after a liquidation: the loss eats the income not yet vested first
    await unauthorized(attacker.send(said.absorbLoss(1), what="a"), attacker.address, "REWARDER_ROLE")
    await admin.send(said.absorbLoss(1_500 * 10**18), what="absorb")
    assert await said.unvestedAmount().call() == 0
    assert await said.totalAssets().call() == 500 * 10**18
    # Someone deposits 1 AID, then the rest vests.
    await gaib.aid.whitelist(attacker.address)
    await mint_aid(attacker, 10 * USDC)
    await attacker.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await attacker.send(said.deposit(10**18, attacker.address), what="deposit 1 AID")
    await gaib.chain.advance_time(VESTING)
    worth = await said.convertToAssets(await said.balanceOf(attacker.address).call()).call()
    holders = await said.convertToAssets(await said.balanceOf(investor.address).call()).call()
    # The 500 AID left were the holders' (income they had earned); the newcomer should get about its 1 AID.
    assert worth <= 2 * 10**18, worth
    assert holders >= 499 * 10**18, holders


# ---- AssetRegistry ----


@pytest.mark.asyncio
async def test_registry_register_attest_and_status(gaib: Gaib, actors: Actors) -> None:
    reg = gaib.protocol.registry
    admin, provider, outsider = actors.admin, actors.provider, actors.outsider
    ids = [asset_id(0x51), asset_id(0x52), asset_id(0x53)]
    hashes = [record_hash(1), record_hash(2), record_hash(3)]
    atts = [attestation(1), attestation(2), b"\0" * 32]
    assert await reg.functions.assetCount().call() == 0

    result = await provider.send(reg.functions.registerBatch(GPU, provider.address, ids, hashes, atts), what="register")
    when = await block_time(gaib, result)
    registered = events(reg, "AssetRegistered", result)
    assert [("0x" + e["assetId"].hex(), e["kind"], e["owner"], e["recordHash"]) for e in registered] == [
        (i, GPU, provider.address, h) for i, h in zip(ids, hashes, strict=True)
    ]
    attested = events(reg, "AssetAttested", result)
    assert [("0x" + e["assetId"].hex(), e["attestation"]) for e in attested] == list(zip(ids, atts, strict=True))
    assert await reg.functions.assetCount().call() == 3
    assert tuple(await reg.functions.getAsset(ids[0]).call()) == (
        GPU,
        hashes[0],
        provider.address,
        ACTIVE,
        when,
        atts[0],
        when,
        False,  # not confirmed early by the registrar admin (the delay is 0 on this dev chain)
    )
    for i in ids:
        assert await reg.functions.isRegistered(i).call()
    unknown = asset_id(0x5F)
    assert not await reg.functions.isRegistered(unknown).call()
    assert (await reg.functions.getAsset(unknown).call())[3] == NONE

    # A registrar registers only for itself: the admin (a registrar on this dev chain) cannot for the provider.
    reason = await reverts(
        admin.send(reg.functions.registerBatch(GPU, provider.address, [unknown], [hashes[0]], [atts[0]]), what="r"),
        "NotOwnRegistration",
    )
    assert provider.address.lower() in reason.lower()
    # The provider holds REGISTRAR_ROLE (given by the actors fixture); the outsider does not.
    await provider.send(
        reg.functions.registerBatch(GPU, provider.address, [asset_id(0x54)], [record_hash(4)], [attestation(4)]),
        what="register",
    )
    assert await reg.functions.assetCount().call() == 4
    await unauthorized(
        outsider.send(reg.functions.registerBatch(GPU, outsider.address, [unknown], [hashes[0]], [atts[0]]), what="r"),
        outsider.address,
        "REGISTRAR_ROLE",
    )

    # One known id in a batch refuses the whole batch: the new id in it is not registered either.
    fresh = asset_id(0x55)
    reason = await reverts(
        provider.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, ids[1]], hashes[:2], atts[:2]), what="r"
        ),
        "AlreadyRegistered",
    )
    assert ids[1][2:] in reason
    await reverts(
        provider.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, fresh], hashes[:2], atts[:2]), what="r"
        ),
        "AlreadyRegistered",
    )
    assert not await reg.functions.isRegistered(fresh).call()
    assert await reg.functions.assetCount().call() == 4
    # The original record is untouched by the refused re-registration.
    assert (await reg.functions.getAsset(ids[1]).call())[1] == hashes[1]

    reason = await reverts(
        provider.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, unknown], hashes[:1], atts[:2]), what="r"
        ),
        "LengthMismatch",
    )
    assert "ids=2" in reason and "hashes=1" in reason
    await reverts(
        provider.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, unknown], hashes[:2], atts[:1]), what="r"
        ),
        "LengthMismatch",
    )
    reason = await reverts(
        provider.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, unknown], [hashes[0], b"\0" * 32], atts[:2]),
            what="r",
        ),
        "EmptyRecordHash",
    )
    assert unknown[2:] in reason
    assert not await reg.functions.isRegistered(fresh).call()
    assert await reg.functions.assetCount().call() == 4

    # attest: REPORTER only, known assets only; it updates the attestation and its time, nothing else.
    newer = b"\xaa" * 32
    result = await admin.send(reg.functions.attest(ids[0], newer), what="attest")
    assert [("0x" + e["assetId"].hex(), e["attestation"]) for e in events(reg, "AssetAttested", result)] == [
        (ids[0], newer)
    ]
    asset = await reg.functions.getAsset(ids[0]).call()
    assert (asset[5], asset[6], asset[4], asset[3]) == (newer, await block_time(gaib, result), when, ACTIVE)
    await unauthorized(outsider.send(reg.functions.attest(ids[0], newer), what="a"), outsider.address, "REPORTER_ROLE")
    await unauthorized(provider.send(reg.functions.attest(ids[0], newer), what="a"), provider.address, "REPORTER_ROLE")
    reason = await reverts(admin.send(reg.functions.attest(unknown, newer), what="attest"), "UnknownAsset")
    assert unknown[2:] in reason

    # setStatus: FACILITY only (not even the admin, until granted), known assets only.
    await unauthorized(admin.send(reg.functions.setStatus(ids[1], RETIRED), what="s"), admin.address, "FACILITY_ROLE")
    await unauthorized(
        outsider.send(reg.functions.setStatus(ids[1], RETIRED), what="s"), outsider.address, "FACILITY_ROLE"
    )
    await admin.send(reg.functions.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")
    result = await admin.send(reg.functions.setStatus(ids[1], RETIRED), what="retire")
    (changed,) = events(reg, "StatusChanged", result)
    assert ("0x" + changed["assetId"].hex(), changed["from"], changed["to"]) == (ids[1], ACTIVE, RETIRED)
    assert await asset_status(gaib, ids[1]) == RETIRED
    await reverts(admin.send(reg.functions.setStatus(unknown, ACTIVE), what="s"), "UnknownAsset")

    # A retired asset is not available as collateral.
    await mint_aid(actors.investor, 1_000 * USDC)
    await reverts(open_deal(actors, [ids[1]], 100 * USDC, 50 * USDC), "CollateralNotAvailable")


#: The allowed moves of an asset's status (AssetRegistry._allowed).
ALLOWED = {
    (ACTIVE, FINANCED),
    (ACTIVE, RETIRED),
    (FINANCED, ACTIVE),
    (FINANCED, IMPAIRED),
    (FINANCED, DEFAULTED),
    (IMPAIRED, FINANCED),
    (IMPAIRED, DEFAULTED),
    (DEFAULTED, FINANCED),
    (DEFAULTED, LIQUIDATED),
}
STATUSES = range(7)  # None, Active, Financed, Defaulted, Liquidated, Retired, Impaired


def cluster_leaf(asset: bytes, record: bytes) -> bytes:
    """OpenZeppelin's leaf: keccak256(bytes.concat(keccak256(abi.encode(assetId, recordHash))))."""
    return keccak(keccak(abi_encode(["bytes32", "bytes32"], [asset, record])))


def merkle_layers(leaves: list[bytes]) -> list[list[bytes]]:
    """A Merkle tree the way OpenZeppelin's MerkleProof verifies it: each pair hashed in sorted order; an odd
    node out is carried up unchanged."""
    layers = [list(leaves)]
    while len(layers[-1]) > 1:
        below = layers[-1]
        above = [
            keccak(b"".join(sorted(below[i : i + 2]))) if i + 1 < len(below) else below[i]
            for i in range(0, len(below), 2)
        ]
        layers.append(above)
    return layers


def merkle_proof(layers: list[list[bytes]], index: int) -> list[bytes]:
    proof = []
    for layer in layers[:-1]:
        sibling = index ^ 1
        if sibling < len(layer):
            proof.append(layer[sibling])
        index //= 2
    return proof


@pytest.mark.asyncio
async def test_registry_status_transitions_owner_and_retire(gaib: Gaib, actors: Actors) -> None:
    reg = gaib.protocol.registry.functions
    admin, provider, lender, outsider = actors.admin, actors.provider, actors.lender, actors.outsider
    for frm in STATUSES:
        for to in STATUSES:
            assert await reg.isAllowedTransition(frm, to).call() == ((frm, to) in ALLOWED), (frm, to)

    # The lender owns these assets and is not a registrar; the provider is a registrar and owns none of them.
    walk, b, c, d = (asset_id(n) for n in (0xB1, 0xB2, 0xB3, 0xB4))
    await register(actors, lender.address, [walk, b, c, d])
    await admin.send(gaib.protocol.registry.functions.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")

    async def refused_from(asset: str, frm: int) -> None:
        """Every move not in ALLOWED is refused with InvalidTransition naming both statuses."""
        for to in STATUSES:
            if (frm, to) not in ALLOWED:
                reason = await reverts(admin.send(reg.setStatus(asset, to), what="move"), "InvalidTransition")
                assert f"from={frm}" in reason and f"to={to}" in reason and asset[2:] in reason
        assert await asset_status(gaib, asset) == frm

    # One asset walks through every allowed move; in each status every other move is refused.
    path = [
        ACTIVE,
        FINANCED,
        IMPAIRED,
        FINANCED,
        ACTIVE,
        FINANCED,
        DEFAULTED,
        FINANCED,
        IMPAIRED,
        DEFAULTED,
        LIQUIDATED,
    ]
    await refused_from(walk, ACTIVE)
    seen = {ACTIVE}
    for frm, to in zip(path, path[1:], strict=False):
        result = await admin.send(reg.setStatus(walk, to), what="move")
        (ev,) = events(gaib.protocol.registry, "StatusChanged", result)
        assert ("0x" + ev["assetId"].hex(), ev["from"], ev["to"]) == (walk, frm, to)
        if to not in seen:
            await refused_from(walk, to)
            seen.add(to)
    assert {(a, z) for a, z in zip(path, path[1:], strict=False)} | {(ACTIVE, RETIRED)} == ALLOWED
    await reverts(admin.send(reg.setStatus(asset_id(0xBF), ACTIVE), what="move"), "UnknownAsset")

    # setOwner: the facility's, for recovery.
    await unauthorized(
        outsider.send(reg.setOwner(d, outsider.address), what="owner"), outsider.address, "FACILITY_ROLE"
    )
    await unauthorized(
        provider.send(reg.setOwner(d, outsider.address), what="owner"), provider.address, "FACILITY_ROLE"
    )
    result = await admin.send(reg.setOwner(d, outsider.address), what="owner")
    (ev,) = events(gaib.protocol.registry, "OwnerChanged", result)
    assert ("0x" + ev["assetId"].hex(), ev["from"], ev["to"]) == (d, lender.address, outsider.address)
    assert (await reg.getAsset(d).call())[2] == outsider.address
    await reverts(admin.send(reg.setOwner(asset_id(0xBF), outsider.address), what="owner"), "UnknownAsset")

    # retire: by the asset's owner only (a registrar no longer may: issue 12), only from Active, for good.
    await reverts(outsider.send(reg.retire(b), what="retire"), "NotAssetOwner")
    result = await lender.send(reg.retire(b), what="retire by owner")
    (ev,) = events(gaib.protocol.registry, "StatusChanged", result)
    assert ("0x" + ev["assetId"].hex(), ev["from"], ev["to"]) == (b, ACTIVE, RETIRED)
    await reverts(provider.send(reg.retire(c), what="retire by a registrar"), "NotAssetOwner")
    await lender.send(reg.retire(c), what="retire by owner")
    assert await asset_status(gaib, c) == RETIRED
    await reverts(lender.send(reg.retire(d), what="retire"), "NotAssetOwner")  # no longer its
    await outsider.send(reg.retire(d), what="retire by the new owner")
    reason = await reverts(lender.send(reg.retire(b), what="retire again"), "InvalidTransition")
    assert f"from={RETIRED}" in reason and f"to={RETIRED}" in reason
    await refused_from(b, RETIRED)
    reason = await reverts(lender.send(reg.retire(walk), what="retire"), "InvalidTransition")
    assert f"from={LIQUIDATED}" in reason
    fin = asset_id(0xB5)
    await register(actors, lender.address, [fin])
    await admin.send(reg.setStatus(fin, FINANCED), what="finance")
    reason = await reverts(lender.send(reg.retire(fin), what="retire financed"), "InvalidTransition")
    assert f"from={FINANCED}" in reason and f"to={RETIRED}" in reason
    await reverts(provider.send(reg.retire(asset_id(0xBF)), what="retire"), "UnknownAsset")


@pytest.mark.asyncio
async def test_registry_cluster_roots_and_inclusion_proofs(gaib: Gaib, actors: Actors) -> None:
    registry = gaib.protocol.registry
    reg = registry.functions
    admin, provider, outsider = actors.admin, actors.provider, actors.outsider
    ids = [bytes([0xC0 + i]) * 32 for i in range(5)]  # an odd count: one node is carried up a level
    records = [record_hash(0x40 + i) for i in range(5)]
    leaves = [cluster_leaf(i, r) for i, r in zip(ids, records, strict=True)]
    for i, r, leaf in zip(ids, records, leaves, strict=True):
        assert await reg.clusterLeaf(i, r).call() == leaf
    layers = merkle_layers(leaves)
    root = layers[-1][0]
    att = attestation(0x40)
    assert (await reg.clusterCount().call(), await reg.clusteredAssetCount().call()) == (0, 0)

    await unauthorized(
        outsider.send(reg.registerCluster(root, GPU, outsider.address, 5, att), what="cluster"),
        outsider.address,
        "REGISTRAR_ROLE",
    )
    reason = await reverts(
        provider.send(reg.registerCluster(root, GPU, provider.address, 0, att), what="c"), "EmptyCluster"
    )
    assert root.hex() in reason
    await reverts(
        provider.send(reg.registerCluster(b"\0" * 32, GPU, provider.address, 5, att), what="c"), "EmptyCluster"
    )
    # Unknown roots prove nothing.
    assert not await reg.verifyInCluster(root, ids[0], records[0], merkle_proof(layers, 0)).call()

    result = await provider.send(reg.registerCluster(root, GPU, provider.address, 5, att), what="cluster")
    when = await block_time(gaib, result)
    (ev,) = events(registry, "ClusterRegistered", result)
    assert (ev["root"], ev["kind"], ev["owner"], ev["size"]) == (root, GPU, provider.address, 5)
    assert [(e["root"], e["attestation"]) for e in events(registry, "ClusterAttested", result)] == [(root, att)]
    # kind, owner, size, registeredAt, status, attestation, and whether the registrar admin confirmed it early.
    # One slot per cluster (issue 14: one write): the registration's attestation is in its event only, the view
    # shows the latest attestCluster (none yet); the SDK reads the event.
    assert tuple(await reg.getCluster(root).call()) == (GPU, provider.address, 5, when, ACTIVE, b"\0" * 32, False)
    assert (await gaib.assets.cluster(root))["attestation"] == "0x" + att.hex()
    assert (await reg.clusterCount().call(), await reg.clusteredAssetCount().call()) == (1, 5)
    assert await reg.assetCount().call() == 0  # one write for the whole cluster, no per-asset entries
    reason = await reverts(
        admin.send(reg.registerCluster(root, GPU, admin.address, 7, att), what="again"), "ClusterAlreadyRegistered"
    )
    assert root.hex() in reason
    assert tuple(await reg.getCluster(root).call())[1:3] == (provider.address, 5)

    # Every member proves its inclusion; anything else does not.
    for n, (i, r) in enumerate(zip(ids, records, strict=True)):
        proof = merkle_proof(layers, n)
        assert await reg.verifyInCluster(root, i, r, proof).call(), n
        assert not await reg.verifyInCluster(root, i, record_hash(0x7F), proof).call()  # another record
        assert not await reg.verifyInCluster(root, ids[(n + 1) % 5], r, proof).call()  # another asset
    proof0 = merkle_proof(layers, 0)
    assert not await reg.verifyInCluster(root, ids[0], records[0], []).call()
    assert not await reg.verifyInCluster(root, ids[0], records[0], proof0[:-1]).call()
    assert not await reg.verifyInCluster(root, ids[0], records[0], [b"\x01" * 32, *proof0[1:]]).call()
    assert not await reg.verifyInCluster(root, ids[1], records[1], proof0).call()  # a proof for another leaf
    # A valid proof against another tree's root that nobody registered.
    other = merkle_layers(leaves[:4])
    assert not await reg.verifyInCluster(other[-1][0], ids[0], records[0], merkle_proof(other, 0)).call()

    # attestCluster: REPORTER only, registered roots only.
    newer = b"\xee" * 32
    await unauthorized(outsider.send(reg.attestCluster(root, newer), what="a"), outsider.address, "REPORTER_ROLE")
    await unauthorized(provider.send(reg.attestCluster(root, newer), what="a"), provider.address, "REPORTER_ROLE")
    reason = await reverts(admin.send(reg.attestCluster(other[-1][0], newer), what="a"), "UnknownCluster")
    assert other[-1][0].hex() in reason
    result = await admin.send(reg.attestCluster(root, newer), what="attest cluster")
    assert [(e["root"], e["attestation"]) for e in events(registry, "ClusterAttested", result)] == [(root, newer)]
    assert tuple(await reg.getCluster(root).call()) == (GPU, provider.address, 5, when, ACTIVE, newer, False)

    # A second cluster adds to the counts.
    await provider.send(reg.registerCluster(other[-1][0], GPU, provider.address, 4, att), what="cluster")
    assert (await reg.clusterCount().call(), await reg.clusteredAssetCount().call()) == (2, 9)
    assert await reg.verifyInCluster(other[-1][0], ids[3], records[3], merkle_proof(other, 3)).call()
    # Kinds are interned (a cluster stores its kind's index): each cluster still reports its own kind, and the
    # counts add up over kinds.
    robot = b"robot".ljust(32, b"\0")
    third = merkle_layers(leaves[:2])[-1][0]
    await provider.send(reg.registerCluster(third, robot, provider.address, 2, att), what="cluster")
    assert [await reg.clusterKinds(i).call() for i in range(2)] == [GPU, robot]
    assert [(await reg.getCluster(r).call())[0] for r in (root, other[-1][0], third)] == [GPU, GPU, robot]
    assert (await reg.clusterCount().call(), await reg.clusteredAssetCount().call()) == (3, 11)
    unknown = tuple(await reg.getCluster(record_hash(0x7F)).call())
    assert unknown == (b"\0" * 32, ZERO_ADDRESS, 0, 0, 0, b"\0" * 32, False)


def cluster_moves(p: Any, result: TxResult) -> list[tuple[bytes, int, int]]:
    """(root, from, to) of every ClusterStatusChanged event of the registry in a transaction."""
    return [(e["root"], e["from"], e["to"]) for e in events(p.registry, "ClusterStatusChanged", result)]


async def cluster_status(gaib: Gaib, root: bytes) -> int:
    return int((await gaib.protocol.registry.functions.getCluster(root).call())[4])


ENTRY_NONE, ENTRY_ASSET, ENTRY_CLUSTER = 0, 1, 2


@pytest.mark.asyncio
async def test_registry_cluster_status_owner_retire_and_entry_type(gaib: Gaib, actors: Actors) -> None:
    """A cluster root is collateral like an asset: a status on the same transitions, an owner the facility
    moves, retirement by its owner; and an id is either an asset or a cluster root, never both."""
    registry = gaib.protocol.registry
    reg = registry.functions
    admin, provider, lender, outsider = actors.admin, actors.provider, actors.lender, actors.outsider
    walk, b, c, d = (bytes([n]) * 32 for n in (0xA1, 0xA2, 0xA3, 0xA4))
    unknown = b"\xaf" * 32
    await admin.admin.authorize_registrar(lender.address)
    for root in (walk, b, c, d):
        await lender.send(reg.registerCluster(root, GPU, lender.address, 8, attestation(1)), what="cluster")
    single = asset_id(0xA5)
    await register(actors, lender.address, [single])

    assert await reg.entryType(walk).call() == ENTRY_CLUSTER
    assert await reg.entryType(single).call() == ENTRY_ASSET
    assert await reg.entryType(unknown).call() == ENTRY_NONE
    assert tuple(await reg.collateralInfo(walk).call()) == (ENTRY_CLUSTER, ACTIVE, lender.address)
    assert tuple(await reg.collateralInfo(single).call()) == (ENTRY_ASSET, ACTIVE, lender.address)
    assert tuple(await reg.collateralInfo(unknown).call()) == (ENTRY_NONE, NONE, ZERO_ADDRESS)
    # An id names an asset or a cluster, never both: the facility could not tell which to move.
    reason = await reverts(
        lender.send(reg.registerCluster(single, GPU, lender.address, 3, attestation(2)), what="c"), "AlreadyRegistered"
    )
    assert single[2:] in reason
    reason = await reverts(
        lender.send(reg.registerBatch(GPU, lender.address, [walk], [record_hash(1)], [attestation(1)]), what="a"),
        "ClusterAlreadyRegistered",
    )
    assert walk.hex() in reason
    assert await reg.assetCount().call() == 1 and await reg.clusterCount().call() == 4

    # setClusterStatus and setClusterOwner: the facility's only.
    for who in (outsider, provider):
        await unauthorized(who.send(reg.setClusterStatus(walk, FINANCED), what="s"), who.address, "FACILITY_ROLE")
        await unauthorized(who.send(reg.setClusterOwner(walk, who.address), what="o"), who.address, "FACILITY_ROLE")
    await admin.send(registry.functions.grantRole(role("FACILITY_ROLE"), admin.address), what="grant")

    async def refused_from(root: bytes, frm: int) -> None:
        for to in STATUSES:
            if (frm, to) not in ALLOWED:
                reason = await reverts(admin.send(reg.setClusterStatus(root, to), what="move"), "InvalidTransition")
                assert f"from={frm}" in reason and f"to={to}" in reason and root.hex() in reason
        assert await cluster_status(gaib, root) == frm

    # The same walk as an asset's: every allowed move, and every other refused on the way.
    path = [ACTIVE, FINANCED, IMPAIRED, FINANCED, ACTIVE, FINANCED, DEFAULTED, FINANCED, IMPAIRED, DEFAULTED]
    await refused_from(walk, ACTIVE)
    seen = {ACTIVE}
    for frm, to in zip(path, path[1:], strict=False):
        result = await admin.send(reg.setClusterStatus(walk, to), what="move")
        assert cluster_moves(gaib.protocol, result) == [(walk, frm, to)]
        assert status_moves(gaib.protocol, result) == []  # no asset moved
        if to not in seen:
            await refused_from(walk, to)
            seen.add(to)
    assert await reg.closedAt(walk).call() == 0
    result = await admin.send(reg.setClusterStatus(walk, LIQUIDATED), what="liquidate")
    assert cluster_moves(gaib.protocol, result) == [(walk, DEFAULTED, LIQUIDATED)]
    assert await reg.closedAt(walk).call() == await block_time(gaib, result)
    await refused_from(walk, LIQUIDATED)
    reason = await reverts(admin.send(reg.setClusterStatus(unknown, FINANCED), what="move"), "UnknownCluster")
    assert unknown.hex() in reason
    # the asset beside it never moved
    assert await asset_status(gaib, single) == ACTIVE

    # setClusterOwner: recovery moves the whole cluster to a new operator.
    result = await admin.send(reg.setClusterOwner(d, outsider.address), what="owner")
    (ev,) = events(registry, "ClusterOwnerChanged", result)
    assert (ev["root"], ev["from"], ev["to"]) == (d, lender.address, outsider.address)
    assert (await reg.getCluster(d).call())[1] == outsider.address
    await reverts(admin.send(reg.setClusterOwner(unknown, outsider.address), what="owner"), "UnknownCluster")

    # retireCluster: by its owner only (a registrar no longer may: issue 12), only from Active, for good.
    await reverts(outsider.send(reg.retireCluster(b), what="retire"), "NotAssetOwner")
    result = await lender.send(reg.retireCluster(b), what="retire by owner")
    assert cluster_moves(gaib.protocol, result) == [(b, ACTIVE, RETIRED)]
    assert await reg.closedAt(b).call() == await block_time(gaib, result)
    await reverts(provider.send(reg.retireCluster(c), what="retire by a registrar"), "NotAssetOwner")
    await lender.send(reg.retireCluster(c), what="retire by owner")
    assert await cluster_status(gaib, c) == RETIRED
    await reverts(lender.send(reg.retireCluster(d), what="retire"), "NotAssetOwner")
    await outsider.send(reg.retireCluster(d), what="retire by the new owner")
    reason = await reverts(lender.send(reg.retireCluster(b), what="again"), "InvalidTransition")
    assert f"from={RETIRED}" in reason and f"to={RETIRED}" in reason
    await refused_from(b, RETIRED)
    reason = await reverts(lender.send(reg.retireCluster(walk), what="retire"), "InvalidTransition")
    assert f"from={LIQUIDATED}" in reason
    fin = b"\xa6" * 32
    await lender.send(reg.registerCluster(fin, GPU, lender.address, 2, attestation(3)), what="cluster")
    await admin.send(reg.setClusterStatus(fin, FINANCED), what="finance")
    reason = await reverts(lender.send(reg.retireCluster(fin), what="retire financed"), "InvalidTransition")
    assert f"from={FINANCED}" in reason and f"to={RETIRED}" in reason
    await reverts(provider.send(reg.retireCluster(unknown), what="retire"), "UnknownCluster")
    # a cluster's transitions never touch the asset entries, nor an asset's the clusters
    assert await asset_status(gaib, single) == ACTIVE and await reg.assetCount().call() == 1


# ---- CreditFacility ----


@pytest.mark.asyncio
async def test_facility_open_deal_checks(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    admin, provider, outsider = actors.admin, actors.provider, actors.outsider
    await mint_aid(actors.investor, 2_000_000 * USDC)
    mine = [asset_id(n) for n in range(0x61, 0x69)]
    theirs = asset_id(0x69)
    await register(actors, provider.address, mine)
    await register(actors, actors.lender.address, [theirs])
    unknown = asset_id(0x6F)
    appraised = 1_000_000 * USDC
    cap = appraised * 8_000 // BPS
    a1 = [mine[0]]

    assert await fac.maxAdvanceBps().call() == 8_000
    await unauthorized(open_deal(actors, a1, appraised, cap, sender=outsider), outsider.address, "UNDERWRITER_ROLE")
    await unauthorized(open_deal(actors, a1, appraised, cap, sender=provider), provider.address, "UNDERWRITER_ROLE")
    await reverts(open_deal(actors, a1, appraised, 0), "ZeroAmount")
    reason = await reverts(open_deal(actors, a1, appraised, cap + 1), "AdvanceAboveCap")
    assert f"advance={cap + 1}" in reason and f"appraisedValue={appraised}" in reason and f"maxAdvance={cap}" in reason
    # The cap rounds down: 80% of 1,000,001 units is 800,000.8, so 800,001 is above it.
    await reverts(open_deal(actors, a1, 1_000_001, 800_001), "AdvanceAboveCap")
    for days in (89, 1096, 0):
        reason = await reverts(open_deal(actors, a1, appraised, cap, terms(term_days=days)), "TermOutOfRange")
        assert f"termDays={days}" in reason
    for share in (4_999, 7_001, 0):
        reason = await reverts(
            open_deal(actors, a1, appraised, cap, terms(REVENUE_SHARE, share_bps=share)), "RevenueShareOutOfRange"
        )
        assert f"revenueShareBps={share}" in reason
    # Hybrid terms: a fixed rate plus a share of revenue under half (1-4999); fixed-rate terms take none.
    for structure, share in ((HYBRID, 0), (HYBRID, 5_000), (HYBRID, 7_000), (FIXED, 1), (FIXED, 5_000)):
        reason = await reverts(
            open_deal(actors, a1, appraised, cap, terms(structure, share_bps=share)), "RevenueShareOutOfRange"
        )
        assert f"revenueShareBps={share}" in reason
    await reverts(open_deal(actors, [], appraised, cap), "NoCollateral")
    reason = await reverts(open_deal(actors, [unknown], appraised, cap), "UnknownCollateral")
    assert unknown[2:] in reason
    reason = await reverts(open_deal(actors, [mine[0], theirs], appraised, cap), "CollateralNotOwned")
    assert theirs[2:] in reason
    assert f"owner={actors.lender.address}".lower() in reason.lower()
    assert f"borrower={provider.address}".lower() in reason.lower()
    await reverts(open_deal(actors, [mine[0], mine[0]], appraised, cap), "CollateralNotAvailable")
    # Nothing was opened or marked by any refused call.
    assert await fac.dealCount().call() == 0
    for a in [*mine, theirs]:
        assert await asset_status(gaib, a) == ACTIVE
    assert await p.aid.functions.reserve().call() == 2_000_000 * USDC

    # Exactly 80% passes, with the shortest term.
    usdc_before = await usdc_of(gaib, provider.address)
    deal_terms = terms(FIXED, 1_100, 0, 150, 90)
    result = await open_deal(actors, [mine[0], mine[1]], appraised, cap, deal_terms)
    (ev,) = events(p.facility, "DealOpened", result)
    assert ev["dealId"] == 1 and ev["borrower"] == provider.address
    assert (ev["appraisedValue"], ev["advance"]) == (appraised, cap)
    assert tuple(ev["terms"].values()) == deal_terms
    assert ["0x" + c.hex() for c in ev["collateral"]] == [mine[0], mine[1]]
    assert await fac.dealCount().call() == 1
    opened_at = await block_time(gaib, result)
    deal = await fac.getDeal(1).call()
    assert deal[0] == provider.address
    assert tuple(deal[1]) == deal_terms
    cash = cap * CASH_RESERVE_BPS // BPS  # the deal's cash reserve, withheld from the borrower
    assert await fac.cashReserveBps().call() == CASH_RESERVE_BPS
    # status, openedAt, accruedAt, appraisedValue, advance, principalOutstanding, interestDue, feesDue,
    # interestPaid, feesPaid, cashReserve, impairment
    assert tuple(deal[2:]) == (DEAL_ACTIVE, opened_at, opened_at, appraised, cap, cap, 0, 0, 0, 0, cash, 0)
    assert ["0x" + c.hex() for c in await fac.collateralOf(1).call()] == [mine[0], mine[1]]
    changed = events(p.registry, "StatusChanged", result)
    assert [("0x" + c["assetId"].hex(), c["from"], c["to"]) for c in changed] == [
        (mine[0], ACTIVE, FINANCED),
        (mine[1], ACTIVE, FINANCED),
    ]
    assert await usdc_of(gaib, provider.address) == usdc_before + cap - cash
    assert await usdc_of(gaib, p.facility.address) == cash
    assert await p.aid.functions.reserve().call() == 2_000_000 * USDC - cap
    assert await p.aid.functions.principalDeployed().call() == cap
    await assert_backed(gaib)

    # Financed collateral cannot back a second deal; a refused deal leaves its other assets alone.
    reason = await reverts(open_deal(actors, [mine[1]], appraised, USDC), "CollateralNotAvailable")
    assert mine[1][2:] in reason
    await reverts(open_deal(actors, [mine[2], mine[0]], appraised, USDC), "CollateralNotAvailable")
    assert await asset_status(gaib, mine[2]) == ACTIVE

    # The edges of the accepted ranges: the longest term, revenue shares of 50% and 70%.
    await open_deal(actors, [mine[2]], 1_000 * USDC, 800 * USDC, terms(term_days=1_095))
    await open_deal(actors, [mine[3]], 1_000 * USDC, 800 * USDC, terms(REVENUE_SHARE, share_bps=5_000))
    await open_deal(actors, [mine[4]], 1_000 * USDC, 800 * USDC, terms(REVENUE_SHARE, share_bps=7_000))
    await open_deal(actors, [mine[6]], 1_000 * USDC, 800 * USDC, terms(HYBRID, share_bps=1))
    hybrid = await open_deal(actors, [mine[7]], 1_000 * USDC, 800 * USDC, terms(HYBRID, 800, 4_999, 100, 730))
    assert await fac.dealCount().call() == 6
    assert tuple((await fac.getDeal(await opened_deal_id(gaib, hybrid)).call())[1]) == (HYBRID, 800, 4_999, 100, 730)

    # The cap on the advance: admin only, never above 80%, and a lower cap is enforced.
    await unauthorized(outsider.send(fac.setMaxAdvanceBps(5_000), what="cap"), outsider.address, "DEFAULT_ADMIN_ROLE")
    reason = await reverts(admin.send(fac.setMaxAdvanceBps(8_001), what="cap"), "MaxAdvanceTooHigh")
    assert "maxAdvanceBps=8001" in reason
    assert await fac.maxAdvanceBps().call() == 8_000
    result = await admin.send(fac.setMaxAdvanceBps(5_000), what="cap")
    assert [e["maxAdvanceBps"] for e in events(p.facility, "MaxAdvanceSet", result)] == [5_000]
    assert await fac.maxAdvanceBps().call() == 5_000
    reason = await reverts(open_deal(actors, [mine[5]], 100_000 * USDC, 50_000 * USDC + 1), "AdvanceAboveCap")
    assert f"maxAdvance={50_000 * USDC}" in reason
    await reverts(open_deal(actors, [mine[5]], 100_000 * USDC, 80_000 * USDC), "AdvanceAboveCap")
    await open_deal(actors, [mine[5]], 100_000 * USDC, 50_000 * USDC)
    await admin.send(fac.setMaxAdvanceBps(8_000), what="cap back to the limit")
    assert await fac.maxAdvanceBps().call() == 8_000
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_facility_repay_waterfall_to_the_wei(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    admin, provider = actors.admin, actors.provider
    treasury = gaib.with_account(6).address
    await unauthorized(
        actors.outsider.send(fac.setTreasury(treasury), what="t"), actors.outsider.address, "DEFAULT_ADMIN_ROLE"
    )
    result = await admin.send(fac.setTreasury(treasury), what="treasury")
    assert [e["treasury"] for e in events(p.facility, "TreasurySet", result)] == [treasury]
    assert await fac.treasury().call() == treasury
    assert await usdc_of(gaib, treasury) == 0

    minted = 1_000_000 * USDC
    await mint_aid(actors.investor, minted)
    # someone is staked, so interest is minted into the vault
    await actors.investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await actors.investor.send(p.said.functions.deposit(10**18, actors.investor.address), what="stake")
    collateral = [asset_id(0x71), asset_id(0x72)]
    await register(actors, provider.address, collateral)
    principal = 750_000 * USDC
    rate, fee = 1_200, 200
    opened = await open_deal(actors, collateral, 1_000_000 * USDC, principal, terms(FIXED, rate, 0, fee, 365))
    deal_id = await opened_deal_id(gaib, opened)
    cash = principal * CASH_RESERVE_BPS // BPS  # 49,500 USDC stays in the facility until the deal closes
    assert await usdc_of(gaib, p.facility.address) == cash
    assert (await fac.getDeal(deal_id).call())[12] == cash
    accrued_at = await block_time(gaib, opened)
    assert (await fac.getDeal(deal_id).call())[4] == accrued_at
    await gaib.faucet(provider.address, Decimal(200_000))
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    await reverts(provider.send(fac.repay(deal_id, 0), what="repay 0"), "ZeroAmount")
    await assert_backed(gaib)

    async def pay(amount: int) -> tuple[TxResult, dict[str, int]]:
        """Repay and return the balance changes that the payment caused."""
        watch = {
            "payer": provider.address,
            "treasury": treasury,
            "reserve": p.aid.address,
            "facility": p.facility.address,
        }
        before = {k: await usdc_of(gaib, a) for k, a in watch.items()}
        vault_before = await aid_of(gaib, p.said.address)
        deployed_before = await p.aid.functions.principalDeployed().call()
        result = await provider.send(fac.repay(deal_id, amount), what="repay")
        delta = {k: await usdc_of(gaib, a) - before[k] for k, a in watch.items()}
        delta["vault_aid"] = await aid_of(gaib, p.said.address) - vault_before
        delta["deployed"] = await p.aid.functions.principalDeployed().call() - deployed_before
        await assert_backed(gaib)
        return result, delta

    def repaid_event(result: TxResult) -> tuple[int, str, int, int, int, int]:
        (ev,) = events(p.facility, "Repaid", result)
        return (ev["dealId"], ev["payer"], ev["fees"], ev["interest"], ev["principal"], ev["excess"])

    # 1. After 30 days, 1,000 USDC does not even cover the fees (about 1,233): it all goes to fees.
    await gaib.chain.advance_time(30 * DAY)
    result, delta = await pay(1_000 * USDC)
    now = await block_time(gaib, result)
    elapsed = now - accrued_at
    assert elapsed >= 30 * DAY
    fees_due = accrued(principal, elapsed, fee) - 1_000 * USDC
    interest_due = accrued(principal, elapsed, rate)
    assert fees_due > 0
    assert repaid_event(result) == (deal_id, provider.address, 1_000 * USDC, 0, 0, 0)
    assert delta == {
        "payer": -1_000 * USDC,
        "treasury": 1_000 * USDC,
        "reserve": 0,
        "facility": 0,
        "vault_aid": 0,
        "deployed": 0,
    }
    accrued_at = now
    deal = await fac.getDeal(deal_id).call()
    assert deal[4] == accrued_at
    assert (deal[7], deal[10], deal[11]) == (principal, 0, 1_000 * USDC)  # principal, interestPaid, feesPaid

    # 2. After 60 more days, 100,000 USDC: the rest of the fees, all the interest, then principal.
    await gaib.chain.advance_time(60 * DAY)
    result, delta = await pay(100_000 * USDC)
    now = await block_time(gaib, result)
    elapsed = now - accrued_at
    fees_due += accrued(principal, elapsed, fee)
    interest_due += accrued(principal, elapsed, rate)
    to_principal = 100_000 * USDC - fees_due - interest_due
    assert 0 < to_principal < 100_000 * USDC
    assert repaid_event(result) == (deal_id, provider.address, fees_due, interest_due, to_principal, 0)
    assert delta == {
        "payer": -100_000 * USDC,
        "treasury": fees_due,
        "reserve": interest_due + to_principal,  # interest enters the reserve behind the AID minted for it
        "facility": 0,
        "vault_aid": interest_due * SCALE,
        "deployed": -to_principal,
    }
    fees_paid, interest_paid = 1_000 * USDC + fees_due, interest_due
    principal -= to_principal
    accrued_at = now
    deal = await fac.getDeal(deal_id).call()
    assert (deal[2], deal[4], deal[7], deal[10], deal[11]) == (DEAL_ACTIVE, now, principal, interest_paid, fees_paid)

    # amountOwed: everything accrued to the latest block, plus the principal.
    await gaib.chain.advance_time(7 * DAY)
    latest = await gaib.chain.timestamp()
    owed = await fac.amountOwed(deal_id).call()
    elapsed = latest - accrued_at
    assert owed == principal + accrued(principal, elapsed, fee) + accrued(principal, elapsed, rate)
    deal = await fac.getDeal(deal_id).call()
    assert (deal[8], deal[9]) == (accrued(principal, elapsed, rate), accrued(principal, elapsed, fee))

    # 3. A payment above everything owed closes the deal; the payer keeps the excess and the borrower gets
    # the deal's cash reserve back (here payer and borrower are the same account).
    amount = 800_000 * USDC
    result, delta = await pay(amount)
    now = await block_time(gaib, result)
    elapsed = now - accrued_at
    fees_due = accrued(principal, elapsed, fee)
    interest_due = accrued(principal, elapsed, rate)
    taken = fees_due + interest_due + principal
    excess = amount - taken
    assert excess > 0
    assert repaid_event(result) == (deal_id, provider.address, fees_due, interest_due, principal, excess)
    assert delta == {
        "payer": -taken + cash,
        "treasury": fees_due,
        "reserve": interest_due + principal,
        "facility": -cash,
        "vault_aid": interest_due * SCALE,
        "deployed": -principal,
    }
    fees_paid += fees_due
    interest_paid += interest_due
    assert [(e["dealId"], e["cashReserveReleased"]) for e in events(p.facility, "DealClosed", result)] == [
        (deal_id, cash)
    ]
    deal = await fac.getDeal(deal_id).call()
    assert (deal[2], deal[7], deal[8], deal[9], deal[10], deal[11]) == (DEAL_REPAID, 0, 0, 0, interest_paid, fees_paid)
    assert (deal[12], deal[13]) == (0, 0)  # no cash reserve left, no impairment
    assert await fac.amountOwed(deal_id).call() == 0
    changed = events(p.registry, "StatusChanged", result)
    assert [("0x" + c["assetId"].hex(), c["from"], c["to"]) for c in changed] == [
        (c, FINANCED, ACTIVE) for c in collateral
    ]
    for c in collateral:
        assert await asset_status(gaib, c) == ACTIVE
    assert await p.aid.functions.principalDeployed().call() == 0
    assert await p.aid.functions.reserve().call() == minted + interest_paid
    assert await usdc_of(gaib, treasury) == fees_paid
    assert await aid_of(gaib, p.said.address) == 10**18 + interest_paid * SCALE  # the stake and the interest
    assert await usdc_of(gaib, p.facility.address) == 0
    await assert_backed(gaib)

    # A closed deal takes nothing more, and neither does a deal that never existed.
    reason = await reverts(provider.send(fac.repay(deal_id, USDC), what="repay"), "DealNotActive")
    assert f"dealId={deal_id}" in reason
    await reverts(provider.send(fac.repay(99, USDC), what="repay"), "DealNotActive")
    assert await fac.amountOwed(99).call() == 0

    # The released collateral can be financed again.
    again = await open_deal(actors, collateral, 1_000_000 * USDC, 100_000 * USDC)
    assert await opened_deal_id(gaib, again) == deal_id + 1
    assert await asset_status(gaib, collateral[0]) == FINANCED
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_facility_repay_from_revenue_takes_the_lenders_share(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    provider, lender = actors.provider, actors.lender
    await mint_aid(actors.investor, 500_000 * USDC)
    await register(actors, provider.address, [asset_id(0x81), asset_id(0x82)])
    share, rate, fee = 6_000, 900, 100
    shared = await opened_deal_id(
        gaib,
        await open_deal(
            actors, [asset_id(0x81)], 400_000 * USDC, 300_000 * USDC, terms(REVENUE_SHARE, rate, share, fee, 730)
        ),
    )
    fixed = await opened_deal_id(gaib, await open_deal(actors, [asset_id(0x82)], 100_000 * USDC, 50_000 * USDC))
    accrued_at = (await fac.getDeal(shared).call())[4]
    principal = 300_000 * USDC

    # Anyone may pay a deal: here the lender pays the revenue share on the borrower's behalf.
    await lender.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    reason = await reverts(lender.send(fac.repayFromRevenue(fixed, 10_000 * USDC), what="rev"), "NotRevenueShare")
    assert f"dealId={fixed}" in reason
    await reverts(lender.send(fac.repayFromRevenue(shared, 1), what="rev"), "ZeroAmount")  # 60% of 1 unit is 0

    await gaib.chain.advance_time(10 * DAY)
    gross = 100_000 * USDC + 7
    lender_before = await usdc_of(gaib, lender.address)
    result = await lender.send(fac.repayFromRevenue(shared, gross), what="revenue")
    amount = gross * share // BPS
    assert amount == 60_000_000_004
    elapsed = await block_time(gaib, result) - accrued_at
    fees, interest = accrued(principal, elapsed, fee), accrued(principal, elapsed, rate)
    (ev,) = events(p.facility, "Repaid", result)
    assert (ev["dealId"], ev["payer"], ev["fees"], ev["interest"], ev["principal"], ev["excess"]) == (
        shared,
        lender.address,
        fees,
        interest,
        amount - fees - interest,
        0,
    )
    assert await usdc_of(gaib, lender.address) == lender_before - amount
    principal -= amount - fees - interest
    assert (await fac.getDeal(shared).call())[7] == principal
    await assert_backed(gaib)

    # A period with large revenue: its share covers everything owed, the deal closes, the rest stays.
    accrued_at = await block_time(gaib, result)
    await gaib.chain.advance_time(30 * DAY)
    lender_before = await usdc_of(gaib, lender.address)
    result = await lender.send(fac.repayFromRevenue(shared, 1_000_000 * USDC), what="revenue")
    elapsed = await block_time(gaib, result) - accrued_at
    fees, interest = accrued(principal, elapsed, fee), accrued(principal, elapsed, rate)
    taken = fees + interest + principal
    (ev,) = events(p.facility, "Repaid", result)
    assert (ev["fees"], ev["interest"], ev["principal"], ev["excess"]) == (
        fees,
        interest,
        principal,
        600_000 * USDC - taken,
    )
    assert await usdc_of(gaib, lender.address) == lender_before - taken
    assert [e["dealId"] for e in events(p.facility, "DealClosed", result)] == [shared]
    assert (await fac.getDeal(shared).call())[2] == DEAL_REPAID
    assert await asset_status(gaib, asset_id(0x81)) == ACTIVE
    assert await asset_status(gaib, asset_id(0x82)) == FINANCED  # the other deal's collateral is untouched
    await reverts(lender.send(fac.repayFromRevenue(shared, 1_000 * USDC), what="revenue"), "DealNotActive")
    assert (await fac.getDeal(fixed).call())[2] == DEAL_ACTIVE
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_facility_cash_reserve_is_withheld_at_open_and_returned_at_close(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    admin, provider, outsider = actors.admin, actors.provider, actors.outsider
    await mint_aid(actors.investor, 100_000 * USDC)
    a, b, c = asset_id(0xD1), asset_id(0xD2), asset_id(0xD3)
    await register(actors, provider.address, [a, b, c])
    await gaib.faucet(provider.address, Decimal(10))
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    free = terms(FIXED, 0, 0, 0, 365)  # no interest, no fees: repaying the advance closes the deal
    assert await fac.MAX_CASH_RESERVE_BPS().call() == 2_000
    await unauthorized(outsider.send(fac.setCashReserveBps(0), what="c"), outsider.address, "DEFAULT_ADMIN_ROLE")
    reason = await reverts(admin.send(fac.setCashReserveBps(2_001), what="cash"), "CashReserveTooHigh")
    assert "cashReserveBps=2001" in reason
    assert await fac.cashReserveBps().call() == CASH_RESERVE_BPS

    # The default 6.6%, rounded down.
    before = await usdc_of(gaib, provider.address)
    await open_deal(actors, [a], 10_000 * USDC, 999_999, free)
    assert (await fac.getDeal(1).call())[12] == 999_999 * CASH_RESERVE_BPS // BPS == 65_999
    assert await usdc_of(gaib, provider.address) == before + 999_999 - 65_999

    # The highest, 20%; then none.
    result = await admin.send(fac.setCashReserveBps(2_000), what="cash 20%")
    assert [e["cashReserveBps"] for e in events(p.facility, "CashReserveSet", result)] == [2_000]
    before = await usdc_of(gaib, provider.address)
    await open_deal(actors, [b], 10_000 * USDC, 1_000 * USDC, free)
    assert (await fac.getDeal(2).call())[12] == 200 * USDC
    assert await usdc_of(gaib, provider.address) == before + 800 * USDC
    await admin.send(fac.setCashReserveBps(0), what="no cash reserve")
    before = await usdc_of(gaib, provider.address)
    await open_deal(actors, [c], 10_000 * USDC, 1_000 * USDC, free)
    assert (await fac.getDeal(3).call())[12] == 0
    assert await usdc_of(gaib, provider.address) == before + 1_000 * USDC
    assert await p.aid.functions.principalDeployed().call() == 999_999 + 2_000 * USDC
    await assert_backed(gaib)

    # A deal keeps the reserve it was opened with, whatever the setting now, and hands it back at close.
    assert await usdc_of(gaib, p.facility.address) == 65_999 + 200 * USDC
    for deal_id, advance, cash in ((2, 1_000 * USDC, 200 * USDC), (3, 1_000 * USDC, 0), (1, 999_999, 65_999)):
        before = await usdc_of(gaib, provider.address)
        result = await provider.send(fac.repay(deal_id, advance), what="repay")
        assert [(e["dealId"], e["cashReserveReleased"]) for e in events(p.facility, "DealClosed", result)] == [
            (deal_id, cash)
        ]
        assert await usdc_of(gaib, provider.address) == before - advance + cash
        assert (await fac.getDeal(deal_id).call())[12] == 0
    assert await usdc_of(gaib, p.facility.address) == 0
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_facility_impair_cure_default_and_transfer_to_a_new_operator(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    admin, provider, outsider, investor = actors.admin, actors.provider, actors.outsider, actors.investor
    new_operator = gaib.with_account(5)
    await mint_aid(investor, 1_000_000 * USDC)
    await investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await investor.send(p.said.functions.deposit(500_000 * 10**18, investor.address), what="stake")
    collateral = [asset_id(0xE1), asset_id(0xE2)]
    await register(actors, provider.address, collateral)
    principal, rate, fee = 400_000 * USDC, 1_000, 100
    opened = await open_deal(actors, collateral, 600_000 * USDC, principal, terms(FIXED, rate, 0, fee, 365))
    deal_id = await opened_deal_id(gaib, opened)
    accrued_at = await block_time(gaib, opened)
    cash = principal * CASH_RESERVE_BPS // BPS

    # Underwriter only; and each step only from the right status.
    for call in (
        fac.impair(deal_id, 1),
        fac.cure(deal_id),
        fac.declareDefault(deal_id),
        fac.transferToOperator(deal_id, new_operator.address),
        fac.recordLiquidation(deal_id, 0),
    ):
        await unauthorized(outsider.send(call, what="underwriter"), outsider.address, "UNDERWRITER_ROLE")
    for call in (
        fac.cure(deal_id),
        fac.transferToOperator(deal_id, new_operator.address),
        fac.recordLiquidation(deal_id, 0),
    ):
        reason = await reverts(admin.send(call, what="wrong status"), "WrongDealStatus")
        assert f"dealId={deal_id}" in reason and f"status={DEAL_ACTIVE}" in reason
    for call in (fac.impair(99, 1), fac.declareDefault(99)):
        reason = await reverts(admin.send(call, what="no such deal"), "WrongDealStatus")
        assert "dealId=99" in reason and "status=0" in reason
    for markdown in (0, principal + 1):
        reason = await reverts(admin.send(fac.impair(deal_id, markdown), what="impair"), "MarkdownTooHigh")
        assert f"markdown={markdown}" in reason and f"principalOutstanding={principal}" in reason

    # Impaired: marked down, its collateral too.
    result = await admin.send(fac.impair(deal_id, 100_000 * USDC), what="impair")
    assert [(e["dealId"], e["markdown"]) for e in events(p.facility, "DealImpaired", result)] == [
        (deal_id, 100_000 * USDC)
    ]
    assert status_moves(p, result) == [(c, FINANCED, IMPAIRED) for c in collateral]
    deal = await fac.getDeal(deal_id).call()
    assert (deal[2], deal[13]) == (DEAL_IMPAIRED, 100_000 * USDC)
    reason = await reverts(admin.send(fac.impair(deal_id, 1), what="impair again"), "WrongDealStatus")
    assert f"status={DEAL_IMPAIRED}" in reason

    # An impaired deal still accrues, and the borrower may repay it.
    await gaib.chain.advance_time(30 * DAY)
    await gaib.faucet(provider.address, Decimal(100_000))
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    result = await provider.send(fac.repay(deal_id, 20_000 * USDC), what="repay impaired")
    elapsed = await block_time(gaib, result) - accrued_at
    fees, interest = accrued(principal, elapsed, fee), accrued(principal, elapsed, rate)
    (ev,) = events(p.facility, "Repaid", result)
    assert (ev["fees"], ev["interest"], ev["principal"], ev["excess"]) == (
        fees,
        interest,
        20_000 * USDC - fees - interest,
        0,
    )
    principal -= 20_000 * USDC - fees - interest
    accrued_at = await block_time(gaib, result)
    assert (await fac.getDeal(deal_id).call())[2] == DEAL_IMPAIRED
    await assert_backed(gaib)

    # Cured: performing again.
    result = await admin.send(fac.cure(deal_id), what="cure")
    assert [e["dealId"] for e in events(p.facility, "DealCured", result)] == [deal_id]
    assert status_moves(p, result) == [(c, IMPAIRED, FINANCED) for c in collateral]
    deal = await fac.getDeal(deal_id).call()
    assert (deal[2], deal[13]) == (DEAL_ACTIVE, 0)

    # Impaired again, then defaulted: what has accrued is booked, and nothing accrues after.
    await admin.send(fac.impair(deal_id, 50_000 * USDC), what="impair")
    await gaib.chain.advance_time(10 * DAY)
    result = await admin.send(fac.declareDefault(deal_id), what="default")
    defaulted_at = await block_time(gaib, result)
    fees_due = accrued(principal, defaulted_at - accrued_at, fee)
    interest_due = accrued(principal, defaulted_at - accrued_at, rate)
    assert [(e["dealId"], e["principalOutstanding"]) for e in events(p.facility, "DealDefaulted", result)] == [
        (deal_id, principal)
    ]
    assert status_moves(p, result) == [(c, IMPAIRED, DEFAULTED) for c in collateral]
    deal = await fac.getDeal(deal_id).call()
    assert (deal[2], deal[4], deal[7], deal[8], deal[9], deal[12]) == (
        DEAL_DEFAULTED,
        defaulted_at,
        principal,
        interest_due,
        fees_due,
        cash,
    )
    owed = principal + interest_due + fees_due
    assert await fac.amountOwed(deal_id).call() == owed
    await gaib.chain.advance_time(30 * DAY)
    assert await fac.amountOwed(deal_id).call() == owed
    reason = await reverts(provider.send(fac.repay(deal_id, USDC), what="repay defaulted"), "DealNotActive")
    assert f"dealId={deal_id}" in reason
    for call in (fac.declareDefault(deal_id), fac.impair(deal_id, 1), fac.cure(deal_id)):
        reason = await reverts(admin.send(call, what="wrong status"), "WrongDealStatus")
        assert f"status={DEAL_DEFAULTED}" in reason

    # Recovery by transfer: the hardware and the deal pass to a new operator; the deal goes on.
    result = await admin.send(fac.transferToOperator(deal_id, new_operator.address), what="transfer")
    transferred_at = await block_time(gaib, result)
    assert [(e["dealId"], e["from"], e["to"]) for e in events(p.facility, "DealTransferred", result)] == [
        (deal_id, provider.address, new_operator.address)
    ]
    owners = [("0x" + e["assetId"].hex(), e["from"], e["to"]) for e in events(p.registry, "OwnerChanged", result)]
    assert owners == [(c, provider.address, new_operator.address) for c in collateral]
    assert status_moves(p, result) == [(c, DEFAULTED, FINANCED) for c in collateral]
    deal = await fac.getDeal(deal_id).call()
    assert (deal[0], deal[2], deal[4], deal[8], deal[9], deal[12], deal[13]) == (
        new_operator.address,
        DEAL_ACTIVE,
        transferred_at,
        interest_due,
        fees_due,
        cash,
        0,
    )
    for c in collateral:
        asset = await p.registry.functions.getAsset(c).call()
        assert (asset[2], asset[3]) == (new_operator.address, FINANCED)

    # The new operator pays it all off; the deal's cash reserve goes to it, the borrower of record.
    await gaib.faucet(new_operator.address, Decimal(500_000))
    await new_operator.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    await gaib.chain.advance_time(20 * DAY)
    amount = 500_000 * USDC
    before = await usdc_of(gaib, new_operator.address)
    result = await new_operator.send(fac.repay(deal_id, amount), what="repay")
    elapsed = await block_time(gaib, result) - transferred_at
    fees = fees_due + accrued(principal, elapsed, fee)
    interest = interest_due + accrued(principal, elapsed, rate)
    (ev,) = events(p.facility, "Repaid", result)
    assert (ev["payer"], ev["fees"], ev["interest"], ev["principal"], ev["excess"]) == (
        new_operator.address,
        fees,
        interest,
        principal,
        amount - fees - interest - principal,
    )
    assert [(e["dealId"], e["cashReserveReleased"]) for e in events(p.facility, "DealClosed", result)] == [
        (deal_id, cash)
    ]
    assert await usdc_of(gaib, new_operator.address) == before - (fees + interest + principal) + cash
    assert status_moves(p, result) == [(c, FINANCED, ACTIVE) for c in collateral]
    assert (await fac.getDeal(deal_id).call())[2] == DEAL_REPAID
    assert await p.aid.functions.principalDeployed().call() == 0
    await assert_backed(gaib)
    # The hardware is the new operator's now: it may finance it again, the old borrower may not.
    await reverts(open_deal(actors, collateral, 600_000 * USDC, USDC), "CollateralNotOwned")
    await open_deal(actors, collateral, 600_000 * USDC, USDC, borrower=new_operator.address)


@pytest.mark.asyncio
async def test_facility_liquidation_waterfall_and_losses_borne_by_said_first(gaib: Gaib, actors: Actors) -> None:
    """Proceeds plus the deal's cash reserve repay principal, then unpaid interest (to sAID); unpaid fees are
    written off; the rest of the principal is a realized loss, burned from sAID's AID first, and whatever
    is left over goes to the old borrower. sAID's share price is a fair value: a default marks the deal down to
    its principal less its cash reserve at once, and at liquidation the markdown gives way to the loss
    realized (what the markdown overstated vests back)."""
    p = gaib.protocol
    fac = p.facility.functions
    said = p.said.functions
    admin, provider, investor = actors.admin, actors.provider, actors.investor
    treasury = gaib.with_account(6).address
    await admin.send(fac.setTreasury(treasury), what="treasury")
    await mint_aid(investor, 1_000_000 * USDC)
    await investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await investor.send(said.deposit(100_000 * 10**18, investor.address), what="stake")
    rate, fee = 1_200, 200
    advances = [100_000 * USDC, 400_000 * USDC, 200_000 * USDC]
    collateral = [asset_id(0xF1), asset_id(0xF2), asset_id(0xF3)]
    await register(actors, provider.address, collateral)
    deals, opened_at = [], []
    for c, advance in zip(collateral, advances, strict=True):
        result = await open_deal(actors, [c], 2 * advance, advance, terms(FIXED, rate, 0, fee, 365))
        deals.append(await opened_deal_id(gaib, result))
        opened_at.append(await block_time(gaib, result))
    await gaib.faucet(admin.address, Decimal(1_000_000))
    await admin.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    await gaib.chain.advance_time(30 * DAY)
    prices = [await said.sharePrice().call()]

    async def default(i: int) -> int:
        """Default deal i: interest and fees accrued, marked down to principal less cash reserve at once."""
        before = await said.totalAssets().call()
        result = await admin.send(fac.declareDefault(deals[i]), what="default")
        elapsed = await block_time(gaib, result) - opened_at[i]
        deal = await fac.getDeal(deals[i]).call()
        assert (deal[8], deal[9]) == (accrued(advances[i], elapsed, rate), accrued(advances[i], elapsed, fee))
        markdown = advances[i] - advances[i] * CASH_RESERVE_BPS // BPS
        assert deal[13] == markdown
        assert await said.totalAssets().call() == max(0, before - markdown * SCALE)
        return int(deal[8])

    async def liquidate(deal_id: int, proceeds: int) -> tuple[TxResult, dict[str, int]]:
        watch = {"borrower": provider.address, "treasury": treasury, "underwriter": admin.address}
        before = {k: await usdc_of(gaib, a) for k, a in watch.items()}
        before["facility"] = await usdc_of(gaib, p.facility.address)
        before["reserve"] = await p.aid.functions.reserve().call()
        before["vault_aid"] = await aid_of(gaib, p.said.address)
        before["deployed"] = await p.aid.functions.principalDeployed().call()
        before["uncovered"] = await p.aid.functions.uncoveredLoss().call()
        result = await admin.send(fac.recordLiquidation(deal_id, proceeds), what="liquidate")
        after = {k: await usdc_of(gaib, a) for k, a in watch.items()}
        after["facility"] = await usdc_of(gaib, p.facility.address)
        after["reserve"] = await p.aid.functions.reserve().call()
        after["vault_aid"] = await aid_of(gaib, p.said.address)
        after["deployed"] = await p.aid.functions.principalDeployed().call()
        after["uncovered"] = await p.aid.functions.uncoveredLoss().call()
        deal = await fac.getDeal(deal_id).call()
        # status, principalOutstanding, interestDue, feesDue, cashReserve, impairment
        assert (deal[2], deal[7], deal[8], deal[9], deal[12], deal[13]) == (DEAL_LIQUIDATED, 0, 0, 0, 0, 0)
        await assert_backed(gaib)
        return result, {k: after[k] - before[k] for k in after}

    def liquidated(result: TxResult) -> tuple[int, int, int, int, int, int]:
        (ev,) = events(p.facility, "DealLiquidated", result)
        return (ev["dealId"], ev["proceeds"], ev["cashReserve"], ev["principalRecovered"], ev["loss"], ev["excess"])

    # 1. The hardware sells for more than owed: principal, then the unpaid interest to sAID (where it
    #    vests), the excess to the old borrower. Unpaid fees are written off. The markdown vests back.
    interest = await default(0)
    prices.append(await said.sharePrice().call())
    assert prices[-1] < prices[-2]
    advance, cash = advances[0], advances[0] * CASH_RESERVE_BPS // BPS
    proceeds = 150_000 * USDC
    excess = proceeds + cash - advance - interest
    result, delta = await liquidate(deals[0], proceeds)
    assert liquidated(result) == (deals[0], proceeds, cash, advance, 0, excess)
    assert events(p.aid, "LossRealized", result) == []
    (income,) = events(p.aid, "IncomeMinted", result)
    assert (income["to"], income["stableIn"]) == (p.facility.address, interest)
    assert [e["amount"] for e in events(p.said, "RewardsReceived", result)] == [interest * SCALE]
    assert delta == {
        "borrower": excess,
        "treasury": 0,
        "underwriter": -proceeds,
        "facility": -cash,
        "reserve": advance + interest,
        "vault_aid": interest * SCALE,
        "deployed": -advance,
        "uncovered": 0,
    }
    assert (await fac.getDeal(deals[0]).call())[10] == interest  # interestPaid
    assert status_moves(p, result) == [(collateral[0], DEFAULTED, LIQUIDATED)]
    assert await asset_status(gaib, collateral[0]) == LIQUIDATED
    reason = await reverts(admin.send(fac.recordLiquidation(deals[0], 0), what="again"), "WrongDealStatus")
    assert f"status={DEAL_LIQUIDATED}" in reason
    prices.append(await said.sharePrice().call())
    assert prices[-1] == prices[-2]  # nothing vested yet
    await gaib.chain.advance_time(VESTING)
    prices.append(await said.sharePrice().call())
    assert prices[-1] > prices[0]  # the markdown came back and the interest with it

    # 2. It sells for less: proceeds and cash reserve repay what they can; the rest is a loss that sAID,
    #    holding enough AID, absorbs in full. The unpaid interest is lost too. The default marked the deal
    #    down by more than the whole vault: the price fell to 0 then, and stays there at the liquidation.
    await default(1)
    assert await said.sharePrice().call() == 0
    advance, cash = advances[1], advances[1] * CASH_RESERVE_BPS // BPS
    proceeds = 300_000 * USDC
    loss = advance - proceeds - cash
    assert loss == 73_600 * USDC
    result, delta = await liquidate(deals[1], proceeds)
    assert liquidated(result) == (deals[1], proceeds, cash, proceeds + cash, loss, 0)
    assert [(e["stableLoss"], e["absorbedByVault"], e["uncovered"]) for e in events(p.aid, "LossRealized", result)] == [
        (loss, loss, 0)
    ]
    assert events(p.aid, "IncomeMinted", result) == []
    assert delta == {
        "borrower": 0,
        "treasury": 0,
        "underwriter": -proceeds,
        "facility": -cash,
        "reserve": proceeds + cash,
        "vault_aid": -loss * SCALE,
        "deployed": -advance,
        "uncovered": 0,
    }
    prices.append(await said.sharePrice().call())
    assert prices[-1] < prices[-2]
    supply = await said.totalSupply().call()
    assert prices[-1] == 10**18 * await said.totalAssets().call() // supply

    # 3. Nothing recovered: only the cash reserve repays principal. The loss exceeds what sAID holds: it
    #    absorbs every whole unit it has and the rest is uncovered.
    await gaib.chain.advance_time(VESTING)
    assert 0 < await said.sharePrice().call() < prices[0]  # what the loss left has vested back
    await default(2)
    assert await said.sharePrice().call() == 0
    advance, cash = advances[2], advances[2] * CASH_RESERVE_BPS // BPS
    loss = advance - cash
    vault_units = await aid_of(gaib, p.said.address) // SCALE
    assert 0 < vault_units < loss
    result, delta = await liquidate(deals[2], 0)
    assert liquidated(result) == (deals[2], 0, cash, cash, loss, 0)
    assert [(e["stableLoss"], e["absorbedByVault"], e["uncovered"]) for e in events(p.aid, "LossRealized", result)] == [
        (loss, vault_units, loss - vault_units)
    ]
    assert delta["uncovered"] == loss - vault_units
    assert delta["vault_aid"] == -vault_units * SCALE
    assert (delta["borrower"], delta["underwriter"], delta["facility"], delta["reserve"]) == (0, 0, -cash, cash)
    assert await p.aid.functions.uncoveredLoss().call() == loss - vault_units
    assert await said.sharePrice().call() == 0
    assert await p.aid.functions.principalDeployed().call() == 0
    assert await usdc_of(gaib, p.facility.address) == 0
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_facility_cluster_roots_follow_every_deal_transition(gaib: Gaib, actors: Actors) -> None:
    """A cluster root backs a deal alone or beside single assets, and moves with the deal exactly as an
    asset does: financed, impaired, cured, repaid (active again), defaulted, transferred to a new operator
    (its owner too), liquidated. It cannot back two deals, and only its owner can borrow against it."""
    p = gaib.protocol
    fac = p.facility.functions
    reg = p.registry.functions
    admin, provider, lender, investor = actors.admin, actors.provider, actors.lender, actors.investor
    new_operator = gaib.with_account(5)
    await mint_aid(investor, 1_000_000 * USDC)
    c1, c2, theirs, retired = (bytes([n]) * 32 for n in (0xD1, 0xD2, 0xD3, 0xD4))
    await admin.admin.authorize_registrar(lender.address)
    for root, owner in ((c1, provider), (c2, provider), (theirs, lender), (retired, provider)):
        await owner.send(reg.registerCluster(root, GPU, owner.address, 64, attestation(1)), what="cluster")
    await provider.send(reg.retireCluster(retired), what="retire")
    single = asset_id(0xD5)
    await register(actors, provider.address, [single])
    appraised, advance = 1_000_000 * USDC, 500_000 * USDC

    # Refused, with the id named: another's cluster, a retired one, one twice, an unknown id.
    reason = await reverts(open_deal(actors, [c1, theirs], appraised, advance), "CollateralNotOwned")
    assert theirs.hex() in reason and f"owner={lender.address}".lower() in reason.lower()
    reason = await reverts(open_deal(actors, [retired], appraised, advance), "CollateralNotAvailable")
    assert retired.hex() in reason
    reason = await reverts(open_deal(actors, [c1, single, c1], appraised, advance), "CollateralNotAvailable")
    assert c1.hex() in reason
    reason = await reverts(open_deal(actors, [c1, b"\xd9" * 32], appraised, advance), "UnknownCollateral")
    assert "d9" * 32 in reason
    assert await fac.dealCount().call() == 0
    assert await cluster_status(gaib, c1) == ACTIVE and await asset_status(gaib, single) == ACTIVE

    # A cluster and a single asset back one deal.
    result = await open_deal(actors, [c1, single], appraised, advance)
    deal_id = await opened_deal_id(gaib, result)
    assert cluster_moves(p, result) == [(c1, ACTIVE, FINANCED)]
    assert status_moves(p, result) == [(single, ACTIVE, FINANCED)]
    assert [bytes(c) for c in await fac.collateralOf(deal_id).call()] == [c1, bytes.fromhex(single[2:])]
    # ...and neither can back a second deal.
    reason = await reverts(open_deal(actors, [c2, c1], appraised, USDC), "CollateralNotAvailable")
    assert c1.hex() in reason
    assert await cluster_status(gaib, c2) == ACTIVE

    result = await admin.send(fac.impair(deal_id, 10_000 * USDC), what="impair")
    assert cluster_moves(p, result) == [(c1, FINANCED, IMPAIRED)]
    assert status_moves(p, result) == [(single, FINANCED, IMPAIRED)]
    result = await admin.send(fac.cure(deal_id), what="cure")
    assert cluster_moves(p, result) == [(c1, IMPAIRED, FINANCED)]

    # Repaid in full: the cluster is active again, and free to back another deal.
    await gaib.chain.advance_time(30 * DAY)
    await gaib.faucet(provider.address, Decimal(600_000))
    await provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    owed = await fac.amountOwed(deal_id).call()
    result = await provider.send(fac.repay(deal_id, 2 * owed), what="repay in full")
    assert [e["dealId"] for e in events(p.facility, "DealClosed", result)] == [deal_id]
    assert cluster_moves(p, result) == [(c1, FINANCED, ACTIVE)]
    assert status_moves(p, result) == [(single, FINANCED, ACTIVE)]
    await assert_backed(gaib)

    # Two clusters in a new deal; default; the hardware goes to a new operator, owners and all.
    result = await open_deal(actors, [c1, c2], appraised, advance)
    deal_id = await opened_deal_id(gaib, result)
    assert cluster_moves(p, result) == [(c1, ACTIVE, FINANCED), (c2, ACTIVE, FINANCED)]
    await admin.send(fac.impair(deal_id, 10_000 * USDC), what="impair")
    result = await admin.send(fac.declareDefault(deal_id), what="default")
    assert cluster_moves(p, result) == [(c1, IMPAIRED, DEFAULTED), (c2, IMPAIRED, DEFAULTED)]
    result = await admin.send(fac.transferToOperator(deal_id, new_operator.address), what="transfer")
    assert [(e["root"], e["from"], e["to"]) for e in events(p.registry, "ClusterOwnerChanged", result)] == [
        (c1, provider.address, new_operator.address),
        (c2, provider.address, new_operator.address),
    ]
    assert events(p.registry, "OwnerChanged", result) == []
    assert cluster_moves(p, result) == [(c1, DEFAULTED, FINANCED), (c2, DEFAULTED, FINANCED)]
    for root in (c1, c2):
        assert tuple(await reg.collateralInfo(root).call()) == (ENTRY_CLUSTER, FINANCED, new_operator.address)

    # Defaulted again and liquidated: final, closedAt set, never collateral again.
    await admin.send(fac.declareDefault(deal_id), what="default again")
    result = await admin.send(fac.recordLiquidation(deal_id, 0), what="liquidate")
    assert cluster_moves(p, result) == [(c1, DEFAULTED, LIQUIDATED), (c2, DEFAULTED, LIQUIDATED)]
    when = await block_time(gaib, result)
    assert [await reg.closedAt(r).call() for r in (c1, c2)] == [when, when]
    reason = await reverts(
        open_deal(actors, [c1], appraised, USDC, borrower=new_operator.address), "CollateralNotAvailable"
    )
    assert c1.hex() in reason
    reason = await reverts(new_operator.send(reg.retireCluster(c2), what="retire"), "InvalidTransition")
    assert f"from={LIQUIDATED}" in reason
    assert await asset_status(gaib, single) == ACTIVE
    await assert_backed(gaib)


# ---- GAIB ----


def permit_signature(
    signer: LocalAccount, token: str, chain_id: int, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """An EIP-2612 permit signed with EIP-712 typed data, as a wallet would sign it: (v, r, s)."""
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": "GAIB", "version": "1", "chainId": chain_id, "verifyingContract": token},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }
    signed = signer.sign_message(encode_typed_data(full_message=message))
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@pytest.mark.asyncio
async def test_gaib_supply_votes_and_permit(gaib: Gaib, actors: Actors) -> None:
    token = gaib.protocol.gaib
    g = token.functions
    admin, investor, lender, outsider = actors.admin, actors.investor, actors.lender, actors.outsider
    supply = 10**9 * 10**18
    assert (await g.name().call(), await g.symbol().call(), await g.decimals().call()) == ("GAIB", "GAIB", 18)
    assert await g.totalSupply().call() == supply
    assert await g.balanceOf(admin.address).call() == supply  # the treasury: the admin, on this deployment
    assert await g.CLOCK_MODE().call() == "mode=timestamp"
    assert await g.clock().call() == await gaib.chain.timestamp()

    # Votes count once delegated, and follow the tokens.
    assert await g.getVotes(admin.address).call() == 0
    result = await admin.send(g.delegate(admin.address), what="delegate")
    delegated_at = await block_time(gaib, result)
    (ev,) = events(token, "DelegateChanged", result)
    assert (ev["delegator"], ev["fromDelegate"], ev["toDelegate"]) == (admin.address, ZERO_ADDRESS, admin.address)
    (ev,) = events(token, "DelegateVotesChanged", result)
    assert (ev["delegate"], ev["previousVotes"], ev["newVotes"]) == (admin.address, 0, supply)
    assert await g.getVotes(admin.address).call() == supply
    assert await g.delegates(admin.address).call() == admin.address
    result = await admin.send(g.transfer(investor.address, 1_000 * 10**18), what="transfer")
    transferred_at = await block_time(gaib, result)
    assert await g.getVotes(admin.address).call() == supply - 1_000 * 10**18
    assert await g.getVotes(investor.address).call() == 0
    await investor.send(g.delegate(lender.address), what="delegate to lender")
    assert await g.getVotes(lender.address).call() == 1_000 * 10**18
    assert await g.delegates(investor.address).call() == lender.address

    # Checkpoints are kept by timestamp.
    await gaib.chain.advance_time(60)
    assert await g.getPastVotes(admin.address, delegated_at - 1).call() == 0
    assert await g.getPastVotes(admin.address, delegated_at).call() == supply
    assert await g.getPastVotes(admin.address, transferred_at).call() == supply - 1_000 * 10**18
    assert await g.getPastTotalSupply(transferred_at).call() == supply
    now = await gaib.chain.timestamp()
    with pytest.raises(Exception) as exc:
        await g.getPastVotes(admin.address, now + 1_000).call()
    data = revert_data(exc.value)
    assert data is not None and (decode_revert(data) or ("",))[0] == "ERC5805FutureLookup"

    # Permit: the investor signs off-chain, anyone relays it.
    fields = await g.eip712Domain().call()
    assert tuple(fields[1:5]) == ("GAIB", "1", gaib.chain.chain_id, token.address)
    value, deadline = 500 * 10**18, now + 3_600
    assert await g.nonces(investor.address).call() == 0

    def sign(signer: Gaib, nonce: int = 0, deadline: int = deadline) -> tuple[int, bytes, bytes]:
        return permit_signature(
            signer.account,
            token.address,
            gaib.chain.chain_id,
            investor.address,
            outsider.address,
            value,
            nonce,
            deadline,
        )

    reason = await reverts(
        outsider.send(
            g.permit(investor.address, outsider.address, value, now - 1, *sign(investor, deadline=now - 1)), what="p"
        ),
        "ERC2612ExpiredSignature",
    )
    assert f"deadline={now - 1}" in reason
    reason = await reverts(
        outsider.send(g.permit(investor.address, outsider.address, value, deadline, *sign(lender)), what="p"),
        "ERC2612InvalidSigner",
    )
    assert f"signer={lender.address}" in reason and f"owner={investor.address}" in reason
    signature = sign(investor)
    result = await outsider.send(
        g.permit(investor.address, outsider.address, value, deadline, *signature), what="permit"
    )
    (ev,) = events(token, "Approval", result)
    assert (ev["owner"], ev["spender"], ev["value"]) == (investor.address, outsider.address, value)
    assert await g.allowance(investor.address, outsider.address).call() == value
    assert await g.nonces(investor.address).call() == 1
    # The same signature cannot be used twice: the nonce has moved on.
    await reverts(
        outsider.send(g.permit(investor.address, outsider.address, value, deadline, *signature), what="replay"),
        "ERC2612InvalidSigner",
    )
    await outsider.send(g.transferFrom(investor.address, outsider.address, value), what="pull")
    assert await g.balanceOf(outsider.address).call() == value
    assert await g.getVotes(lender.address).call() == 500 * 10**18  # the investor's delegate lost those votes
