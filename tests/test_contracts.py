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
from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk import Gaib
from gaib_sdk.chain import TxResult, load_artifact, role
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
FIXED, REVENUE_SHARE = 0, 1
# Registry statuses and deal statuses, as the contracts number them.
NONE, ACTIVE, FINANCED, RETIRED = 0, 1, 2, 5
DEAL_ACTIVE, DEAL_REPAID = 1, 2


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
    what is seen (a revert gives a receipt with status 0). The sender must not send through the SDK after
    this: its cached nonce would be stale."""
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
    """AID's backing equation: totalSupply == (reserve + principalDeployed) * SCALE."""
    aid = gaib.protocol.aid
    supply = await aid.functions.totalSupply().call()
    reserve = await aid.functions.reserve().call()
    deployed = await aid.functions.principalDeployed().call()
    assert reserve == await usdc_of(gaib, aid.address)
    assert await aid.functions.backing().call() == reserve + deployed
    assert supply == (reserve + deployed) * SCALE


async def mint_aid(who: Gaib, usdc_units: int) -> TxResult:
    """Approve and mint directly (``who`` must be whitelisted and hold the USDC)."""
    p = who.protocol
    await who.send(p.usdc.functions.approve(p.aid.address, MAX_UINT), what="approve USDC")
    return await who.send(p.aid.functions.mint(usdc_units), what="mint")


async def register(actors: Actors, owner: str, ids: list[str]) -> TxResult:
    """The admin (REGISTRAR) registers GPU assets owned by ``owner``."""
    call = actors.admin.protocol.registry.functions.registerBatch(
        GPU, owner, ids, [record_hash(i + 1) for i in range(len(ids))], [attestation(i + 1) for i in range(len(ids))]
    )
    return await actors.admin.send(call, what="register")


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
) -> Awaitable[TxResult]:
    p = actors.admin.protocol
    call = p.facility.functions.openDeal(
        borrower or actors.provider.address, collateral, appraised, advance, deal_terms or terms()
    )
    return (sender or actors.admin).send(call, what="open deal")


async def opened_deal_id(gaib: Gaib, result: TxResult) -> int:
    (ev,) = events(gaib.protocol.facility, "DealOpened", result)
    return int(ev["dealId"])


async def asset_status(gaib: Gaib, aid_hex: str) -> int:
    return int((await gaib.protocol.registry.functions.getAsset(aid_hex).call())[3])


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
    await gaib.whitelist(second_minter.address)
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

    opened = await open_deal(actors, [asset_id(0x21)], 1_000 * USDC, 800 * USDC)
    (funded,) = events(p.aid, "DealFunded", opened)
    assert (funded["borrower"], funded["stableAmount"]) == (actors.provider.address, 800 * USDC)
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
    await provider.send(p.facility.functions.repay(1, 900 * USDC), what="repay")
    assert await p.aid.functions.principalDeployed().call() == 0
    await investor.send(p.aid.functions.redeem(800 * USDC * SCALE), what="redeem")
    assert await aid_of(gaib, investor.address) == 0
    await assert_backed(gaib)


# ---- StakedAID and its oracle ----


@pytest.mark.asyncio
async def test_said_share_price_and_oracle_follow_deal_income(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    investor, lender, provider = actors.investor, actors.lender, actors.provider
    deployed = await gaib.chain.deploy(load_artifact("SAIDOracle"), [p.said.address, 6], actors.admin.account)
    assert deployed.contract_address is not None
    oracle = gaib.chain.contract(deployed.contract_address, load_artifact("SAIDOracle")["abi"])
    assert await oracle.functions.vault().call() == p.said.address
    assert await oracle.functions.ONE_SHARE().call() == 10**18
    assert await oracle.functions.SCALE_FACTOR().call() == 10**6  # 10^(36 + 6 - 18 - 18)
    assert await p.said.functions.asset().call() == p.aid.address
    assert await p.said.functions.sharePrice().call() == 10**18
    assert await oracle.functions.price().call() == 10**24

    # Deposit and redeem at 1:1 while no income has come in.
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
    await investor.send(p.said.functions.redeem(100_000 * 10**18, investor.address, investor.address), what="redeem")
    assert await aid_of(gaib, investor.address) == aid_before + 100_000 * 10**18
    assert await p.said.functions.balanceOf(investor.address).call() == 300_000 * 10**18 - dead_shares
    assert await p.said.functions.sharePrice().call() == 10**18
    assert await oracle.functions.price().call() == 10**24
    await reverts(
        actors.outsider.send(p.said.functions.redeem(1, actors.outsider.address, actors.outsider.address), what="r"),
        "ERC4626ExceededMaxRedeem",
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
    (income,) = events(p.aid, "IncomeMinted", repaid)
    assert (income["to"], income["stableIn"], income["aidOut"]) == (p.said.address, interest, interest * SCALE)

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
    await gaib.whitelist(lender.address)
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
    await investor.send(p.said.functions.redeem(shares, investor.address, investor.address), what="redeem")
    out = await aid_of(gaib, investor.address) - aid_before
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
    await gaib.whitelist(victim.address)
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
    # redeeming to a clean receiver does not let value out either
    await reverts(
        investor.send(p.said.functions.redeem(10**18, outsider.address, investor.address), what="r"), "AccountDenied"
    )
    await gaib.send(p.aid.functions.setDenied(investor.address, False), what="undeny")
    await gaib.send(p.aid.functions.setDenied(outsider.address, True), what="deny outsider")
    await reverts(investor.send(p.said.functions.transfer(outsider.address, 1), what="t"), "AccountDenied")


# ---- AssetRegistry ----


@pytest.mark.asyncio
async def test_registry_register_attest_and_status(gaib: Gaib, actors: Actors) -> None:
    reg = gaib.protocol.registry
    admin, provider, outsider = actors.admin, actors.provider, actors.outsider
    ids = [asset_id(0x51), asset_id(0x52), asset_id(0x53)]
    hashes = [record_hash(1), record_hash(2), record_hash(3)]
    atts = [attestation(1), attestation(2), b"\0" * 32]
    assert await reg.functions.assetCount().call() == 0

    result = await admin.send(reg.functions.registerBatch(GPU, provider.address, ids, hashes, atts), what="register")
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
    )
    for i in ids:
        assert await reg.functions.isRegistered(i).call()
    unknown = asset_id(0x5F)
    assert not await reg.functions.isRegistered(unknown).call()
    assert (await reg.functions.getAsset(unknown).call())[3] == NONE

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
        admin.send(reg.functions.registerBatch(GPU, provider.address, [fresh, ids[1]], hashes[:2], atts[:2]), what="r"),
        "AlreadyRegistered",
    )
    assert ids[1][2:] in reason
    await reverts(
        admin.send(reg.functions.registerBatch(GPU, provider.address, [fresh, fresh], hashes[:2], atts[:2]), what="r"),
        "AlreadyRegistered",
    )
    assert not await reg.functions.isRegistered(fresh).call()
    assert await reg.functions.assetCount().call() == 4
    # The original record is untouched by the refused re-registration.
    assert (await reg.functions.getAsset(ids[1]).call())[1] == hashes[1]

    reason = await reverts(
        admin.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, unknown], hashes[:1], atts[:2]), what="r"
        ),
        "LengthMismatch",
    )
    assert "ids=2" in reason and "hashes=1" in reason
    await reverts(
        admin.send(
            reg.functions.registerBatch(GPU, provider.address, [fresh, unknown], hashes[:2], atts[:1]), what="r"
        ),
        "LengthMismatch",
    )
    reason = await reverts(
        admin.send(
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


# ---- CreditFacility ----


@pytest.mark.asyncio
async def test_facility_open_deal_checks(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    admin, provider, outsider = actors.admin, actors.provider, actors.outsider
    await mint_aid(actors.investor, 2_000_000 * USDC)
    mine = [asset_id(n) for n in range(0x61, 0x67)]
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
    await reverts(open_deal(actors, [], appraised, cap), "NoCollateral")
    reason = await reverts(open_deal(actors, [unknown], appraised, cap), "CollateralNotAvailable")
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
    assert tuple(deal[2:]) == (DEAL_ACTIVE, opened_at, opened_at, appraised, cap, cap, 0, 0, 0, 0)
    assert ["0x" + c.hex() for c in await fac.collateralOf(1).call()] == [mine[0], mine[1]]
    changed = events(p.registry, "StatusChanged", result)
    assert [("0x" + c["assetId"].hex(), c["from"], c["to"]) for c in changed] == [
        (mine[0], ACTIVE, FINANCED),
        (mine[1], ACTIVE, FINANCED),
    ]
    assert await usdc_of(gaib, provider.address) == usdc_before + cap
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
    assert await fac.dealCount().call() == 4

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

    # 3. A payment above everything owed closes the deal; the payer keeps the excess.
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
        "payer": -taken,
        "treasury": fees_due,
        "reserve": interest_due + principal,
        "facility": 0,
        "vault_aid": interest_due * SCALE,
        "deployed": -principal,
    }
    fees_paid += fees_due
    interest_paid += interest_due
    assert [e["dealId"] for e in events(p.facility, "DealClosed", result)] == [deal_id]
    deal = await fac.getDeal(deal_id).call()
    assert (deal[2], deal[7], deal[8], deal[9], deal[10], deal[11]) == (DEAL_REPAID, 0, 0, 0, interest_paid, fees_paid)
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
