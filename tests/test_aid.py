"""AID and sAID through the client: KYC-gated mint and redeem, staking, and the checks made before sending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gaib_sdk import (
    Gaib,
    GaibConfigError,
    GaibValueError,
    InsufficientFundsError,
    NotWhitelistedError,
    TransactionFailed,
)

from .conftest import AS_OF, Actors


@pytest.mark.asyncio
async def test_mint_is_one_to_one_and_redeem_returns_the_usdc(actors: Actors) -> None:
    inv = actors.investor
    receipt = await inv.aid.mint(Decimal("1234.567891"))
    assert receipt.amount == Decimal("1234.567891")
    assert len(receipt.tx_hashes) == 2  # approve, mint
    assert await inv.aid.supply() == Decimal("1234.567891")
    balances = await inv.balances()
    assert balances["AID"] == Decimal("1234.567891")
    assert balances["USDC"] == Decimal(2_000_000) - Decimal("1234.567891")
    out = await inv.aid.redeem(Decimal("234.567891"))
    assert out.amount == Decimal("234.567891")
    assert (await inv.balances())["AID"] == Decimal(1000)
    assert (await inv.aid.reserves())["reserve_usdc"] == Decimal(1000)


@pytest.mark.asyncio
async def test_only_whitelisted_accounts_mint_or_redeem(actors: Actors) -> None:
    await actors.admin.faucet(actors.outsider.address, Decimal(100))
    sent = len(actors.admin.chain.history)
    with pytest.raises(NotWhitelistedError, match=f"account {actors.outsider.address} is not KYC-whitelisted"):
        await actors.outsider.aid.mint(Decimal(100))
    with pytest.raises(NotWhitelistedError, match="sell it on a DEX"):
        await actors.outsider.aid.redeem(Decimal(1))
    assert len(actors.admin.chain.history) == sent
    # whitelisting is reversible
    await actors.admin.aid.whitelist(actors.investor.address, False)
    with pytest.raises(NotWhitelistedError):
        await actors.investor.aid.mint(Decimal(1))


@pytest.mark.asyncio
async def test_only_a_kyc_manager_whitelists(actors: Actors) -> None:
    with pytest.raises(GaibConfigError, match="lacks KYC_MANAGER_ROLE"):
        await actors.investor.aid.whitelist(actors.outsider.address)


@pytest.mark.asyncio
async def test_amounts_are_checked_before_sending(actors: Actors) -> None:
    inv = actors.investor
    with pytest.raises(GaibValueError, match="more than 6 decimal places"):
        await inv.aid.mint(Decimal("1.0000001"))
    with pytest.raises(GaibValueError, match="more than 0 USDC"):
        await inv.aid.mint(0)
    with pytest.raises(GaibValueError, match="is not a number"):
        await inv.aid.mint("lots")
    with pytest.raises(InsufficientFundsError, match="holds 2000000 USDC, less than the 2000001 needed"):
        await inv.aid.mint(Decimal(2_000_001))
    with pytest.raises(GaibValueError, match="per-block mint cap of 10000000 USDC"):
        await inv.aid.mint(Decimal(10_000_001))
    with pytest.raises(GaibValueError, match="less than one USDC unit"):
        await inv.aid.redeem(Decimal("0.0000001"))
    with pytest.raises(InsufficientFundsError, match="holds 0 AID"):
        await inv.said.stake(Decimal(5))
    # 29 digits, 19 of them places: Decimal's 28-digit arithmetic rounded this to 18 places and let it through
    with pytest.raises(GaibValueError, match="more than 18 decimal places"):
        await inv.said.stake("1000000000.1111111111111111111")
    with pytest.raises(GaibValueError, match="is too large"):
        await inv.said.stake("1e99")


@pytest.mark.asyncio
async def test_redeem_waits_for_cash_when_the_reserve_is_out_in_deals(actors: Actors, financed: int) -> None:
    # a second deal, on the robot fleet, so that the deals hold more than the investor's AID
    fleet = await actors.provider.assets.read_inventory("robot")
    await actors.provider.digitize("robot", fleet)
    await actors.admin.financialize("robot", fleet, as_of=AS_OF)
    # 1.5M minted, 876,809.76 + 218,315.62 advanced: 404,874.62 USDC left in the reserve; the investor holds 500k
    with pytest.raises(InsufficientFundsError, match="the liquid reserve holds 404874.62 USDC"):
        await actors.investor.aid.redeem(Decimal(450_000))
    await actors.investor.aid.redeem(Decimal("404874.62"))
    assert (await actors.investor.aid.reserves())["reserve_usdc"] == 0


@pytest.mark.asyncio
async def test_stake_and_request_an_exit_through_the_vault(actors: Actors) -> None:
    inv = actors.investor
    await inv.aid.mint(Decimal(1000))
    shares = await inv.said.stake(Decimal(400))
    # the vault's first deposit leaves 10^6 wei of shares (10^-12 sAID) dead, against the inflation attack
    assert shares.amount == Decimal(400) - Decimal("1e-12")
    assert (await inv.balances())["sAID"] == shares.amount
    request = await inv.said.request_unstake(Decimal(100))
    assert (await inv.said.unstake_request(request))["pending_shares"] == Decimal(100)
    assert (await inv.balances())["sAID"] == shares.amount - 100  # locked in the vault until the cycle
    second = await inv.said.stake(Decimal(50))
    assert second.amount == Decimal(50)
    with pytest.raises(InsufficientFundsError, match="holds 349.999999999999 sAID"):
        await inv.said.request_unstake(Decimal(350))


@pytest.mark.asyncio
async def test_the_faucet_exists_only_for_the_test_usdc(gaib: Gaib) -> None:
    tx = await gaib.faucet(gaib.address, Decimal(5))
    assert tx.startswith("0x") and (await gaib.balances())["USDC"] == Decimal(5)


@pytest.mark.asyncio
async def test_pause_and_deny_list_through_the_client(actors: Actors) -> None:
    admin, inv = actors.admin, actors.investor
    await inv.aid.mint(Decimal(100))
    await admin.admin.pause()
    with pytest.raises(GaibValueError, match="AID is paused: cannot mint AID until a pauser unpauses it"):
        await inv.aid.mint(Decimal(1))
    with pytest.raises(GaibValueError, match="already paused"):
        await admin.admin.pause()
    with pytest.raises(GaibConfigError, match="lacks PAUSER_ROLE"):
        await inv.admin.unpause()
    await admin.admin.unpause()
    await inv.aid.mint(Decimal(1))

    await admin.aid.deny(inv.address)
    with pytest.raises(TransactionFailed, match=r"AccountDenied\(account="):
        await inv.said.stake(Decimal(1))
    await admin.aid.deny(inv.address, False)
    await inv.said.stake(Decimal(1))

    # sAID pauses on its own: no stake, no exit request, each refused before sending; AID still mints
    nonce = await inv.chain.w3.eth.get_transaction_count(inv.address)
    await admin.admin.pause("sAID")
    with pytest.raises(GaibValueError, match="sAID is paused: cannot stake until a pauser unpauses it"):
        await inv.said.stake(Decimal(1))
    with pytest.raises(GaibValueError, match="sAID is paused"):
        await inv.said.request_unstake(Decimal("0.5"))
    assert await inv.chain.w3.eth.get_transaction_count(inv.address) == nonce
    await inv.aid.mint(Decimal(1))
    with pytest.raises(GaibValueError, match="sAID is already paused"):
        await admin.admin.pause("sAID")
    with pytest.raises(GaibValueError, match="token 'GAIB' cannot be paused"):
        await admin.admin.pause("GAIB")
    await admin.admin.unpause("sAID")
    await inv.said.stake(Decimal(1))


@pytest.mark.asyncio
async def test_redeem_cap_is_checked_before_sending(actors: Actors) -> None:
    admin, inv = actors.admin, actors.investor
    await inv.aid.mint(Decimal(1000))
    await admin.send(admin.protocol.aid.functions.setCaps(10**12, 500 * 10**6), what="caps")
    sent = len(admin.chain.history)
    with pytest.raises(GaibValueError, match="per-block redeem cap of 500 USDC"):
        await inv.aid.redeem(Decimal(501))
    assert len(admin.chain.history) == sent
