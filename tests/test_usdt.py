"""USDT beside USDC in AIDollar: minting against either 1:1, redeeming into either while its own reserve covers
it, and the backing equation over both. Contract calls go straight to the bindings (the contract's reverts);
the client's checks are tested at the end."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import pytest
from web3.logs import DISCARD

from gaib_sdk import Gaib, GaibConfigError, GaibValueError, InsufficientFundsError
from gaib_sdk.chain import Protocol, TxResult, decode_revert
from gaib_sdk.chain.artifacts import revert_data
from gaib_sdk.errors import TransactionFailed

from .conftest import Actors

USDC = 10**6
SCALE = 10**12
MAX_UINT = 2**256 - 1


async def reverts(call: Awaitable[Any], error: str) -> None:
    with pytest.raises(TransactionFailed) as exc:
        await call
    assert (exc.value.reason or "").startswith(error + "("), exc.value.reason


def args(contract: Any, name: str, result: TxResult) -> list[Any]:
    return [e["args"] for e in getattr(contract.events, name)().process_receipt({"logs": result.logs}, errors=DISCARD)]


async def assert_backed(gaib: Gaib) -> None:
    aid = gaib.protocol.aid.functions
    total = await aid.totalReserve().call()
    usdt = gaib.protocol.usdt
    assert usdt is not None
    assert total == await aid.reserve().call() + await usdt.functions.balanceOf(gaib.protocol.aid.address).call()
    deployed, uncovered = await aid.principalDeployed().call(), await aid.uncoveredLoss().call()
    assert await aid.totalSupply().call() == (total + deployed + uncovered) * SCALE


@pytest.mark.asyncio
async def test_mint_and_redeem_against_usdt_keep_aid_backed(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    usdt = p.usdt
    assert usdt is not None and p.deployment.contracts["usdt"] == usdt.address
    aid = p.aid.functions
    investor, outsider = actors.investor, actors.outsider
    assert await aid.isExtraStablecoin(usdt.address).call() and await aid.extraStablecoinCount().call() == 1
    assert await usdt.functions.decimals().call() == 6

    # only the admin adds a stablecoin, only once, never the primary, and only with USDC's decimals
    await reverts(investor.send(aid.addStablecoin(usdt.address), what="add"), "AccessControlUnauthorizedAccount")
    await reverts(gaib.send(aid.addStablecoin(usdt.address), what="again"), "BadStablecoin")
    await reverts(gaib.send(aid.addStablecoin(p.usdc.address), what="primary"), "BadStablecoin")
    gaib_token = p.gaib.address  # 18 decimals
    await reverts(gaib.send(aid.addStablecoin(gaib_token), what="18 decimals"), "BadStablecoin")

    await gaib.faucet(investor.address, Decimal(1_000), stablecoin="USDT")
    await gaib.faucet(outsider.address, Decimal(10), stablecoin="USDT")
    await investor.send(usdt.functions.approve(p.aid.address, MAX_UINT), what="approve")
    await outsider.send(usdt.functions.approve(p.aid.address, MAX_UINT), what="approve")
    await reverts(outsider.send(aid.mintWith(usdt.address, USDC), what="m"), "NotWhitelisted")
    await reverts(investor.send(aid.mintWith(p.gaib.address, USDC), what="m"), "UnknownStablecoin")
    await reverts(investor.send(aid.mintWith(usdt.address, 0), what="m"), "ZeroAmount")

    result = await investor.send(aid.mintWith(usdt.address, 600 * USDC), what="mint with USDT")
    assert [dict(e) for e in args(p.aid, "MintedWith", result)] == [
        {"account": investor.address, "token": usdt.address, "stableIn": 600 * USDC, "aidOut": 600 * USDC * SCALE}
    ]
    assert await aid.reserveOf(usdt.address).call() == 600 * USDC
    assert await aid.reserveOf(p.usdc.address).call() == 0
    with pytest.raises(Exception) as exc:  # noqa: B017 (a view: web3's own error, decoded below)
        await aid.reserveOf(p.gaib.address).call()
    assert (decode_revert(revert_data(exc.value) or b"") or ("",))[0] == "UnknownStablecoin"
    await assert_backed(gaib)

    # redemption into USDT: whole units only, capped, and only what the USDT reserve holds
    await reverts(investor.send(aid.redeemTo(usdt.address, SCALE - 1), what="dust"), "ZeroAmount")
    await reverts(investor.send(aid.redeemTo(p.gaib.address, SCALE), what="r"), "UnknownStablecoin")
    await reverts(investor.send(aid.redeemTo(usdt.address, 601 * USDC * SCALE), what="r"), "InsufficientReserve")
    result = await investor.send(aid.redeemTo(usdt.address, 100 * USDC * SCALE + SCALE - 1), what="redeem to USDT")
    (ev,) = args(p.aid, "RedeemedTo", result)
    assert (ev["aidIn"], ev["stableOut"]) == (100 * USDC * SCALE, 100 * USDC)  # the dust stays with the holder
    assert await usdt.functions.balanceOf(investor.address).call() == 500 * USDC
    assert await p.aid.functions.balanceOf(investor.address).call() == 500 * USDC * SCALE  # 100 AID burned
    await assert_backed(gaib)

    # USDC reserve is separate: an empty USDC reserve refuses a USDC redemption even with USDT held
    await reverts(investor.send(aid.redeem(USDC * SCALE), what="usdc"), "InsufficientReserve")
    # caps count both stablecoins
    await gaib.send(aid.setCaps(50 * USDC, 20 * USDC), what="caps")
    await reverts(investor.send(aid.mintWith(usdt.address, 51 * USDC), what="m"), "MintCapExceeded")
    await reverts(investor.send(aid.redeemTo(usdt.address, 21 * USDC * SCALE), what="r"), "RedeemCapExceeded")
    await gaib.send(aid.pause(), what="pause")
    await reverts(investor.send(aid.mintWith(usdt.address, USDC), what="m"), "EnforcedPause")
    await reverts(investor.send(aid.redeemTo(usdt.address, SCALE), what="r"), "EnforcedPause")
    await gaib.send(aid.unpause(), what="unpause")

    # a USDC mint alongside: the backing counts both, and backing() is their sum plus deals
    await investor.aid.mint(Decimal(40))
    reserves = await investor.aid.reserves()
    assert (reserves["reserve_usdc"], reserves["reserve_usdt"]) == (Decimal(40), Decimal(500))
    assert reserves["backing_usdc"] == reserves["aid_supply"] == Decimal(540)
    assert await aid.backing().call() == 540 * USDC
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_the_client_mints_and_redeems_usdt(actors: Actors) -> None:
    inv = actors.investor
    await actors.admin.faucet(inv.address, Decimal(300), stablecoin="USDT")
    minted = await inv.aid.mint(Decimal(300), stablecoin="USDT")
    assert minted.amount == Decimal(300)
    balances = await inv.balances()
    assert (balances["USDT"], balances["AID"]) == (Decimal(0), Decimal(300))
    await inv.aid.mint(Decimal(100))  # USDC: 400 AID now, 300 USDT and 100 USDC behind it
    with pytest.raises(InsufficientFundsError, match="liquid USDT reserve holds 300 USDT"):
        await inv.aid.redeem(Decimal(301), stablecoin="usdt")
    out = await inv.aid.redeem(Decimal("120.5"), stablecoin="USDT")
    assert out.amount == Decimal("120.5")
    assert (await inv.balances())["USDT"] == Decimal("120.5")
    with pytest.raises(GaibValueError, match="stablecoin 'DAI' is not accepted"):
        await inv.aid.mint(Decimal(1), stablecoin="DAI")
    with pytest.raises(InsufficientFundsError, match="holds 120.5 USDT, less than the 121 needed"):
        await inv.aid.mint(Decimal(121), stablecoin="USDT")


@pytest.mark.asyncio
async def test_a_deployment_with_no_usdt_says_so(gaib: Gaib) -> None:
    """A real chain's deployment may have no USDT: its client refuses USDT plainly."""
    deployment = gaib.deployment.model_copy(update={"contracts": {**gaib.deployment.contracts}})
    del deployment.contracts["usdt"]
    bare = Protocol.bind(gaib.chain, deployment)
    assert bare.usdt is None
    gaib._session.protocol = bare  # what Gaib.connect binds for such a deployment
    with pytest.raises(GaibConfigError, match="accepts no USDT"):
        await gaib.aid.mint(Decimal(1), stablecoin="USDT")
