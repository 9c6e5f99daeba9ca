"""The Pendle venue against Pendle's real contracts (artifacts of @pendle/core-v2 6.11.0, fetched at set-up):
the SDK's SY wrapper for sAID checked against Pendle's IStandardizedYield, PT + YT minted from sAID, the
market's liquidity and swaps both ways, sAID's yield collected by the YT, redemption before and at expiry,
and the venue reused by a second process on anvil.

The embedded chain is deployed once for the module; the tests run in file order (expiry comes last).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from eth_utils.abi import function_signature_to_4byte_selector
from gaib_pendle import fetch as pendle_fetch
from gaib_pendle.artifacts import NEEDED, PROXY, artifact_dir, load, missing
from gaib_pendle.venue import PendleVenue

from gaib_sdk import Gaib, GaibConfigError, GaibValueError, InsufficientFundsError, TransactionFailed
from gaib_sdk.chain import Chain, load_artifact

from .anvil import KEYS, Anvil

module = pytest.mark.asyncio(loop_scope="module")
WAD = 10**18


@dataclass
class World:
    admin: Gaib
    investor: Gaib  # holds sAID and AID

    def venue(self, who: Gaib | None = None) -> PendleVenue:
        v = (who or self.investor).venues.get("pendle")
        assert isinstance(v, PendleVenue)
        return v


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world() -> AsyncIterator[World]:
    """One embedded chain with the venue set up by the admin; an investor holding 100k sAID and 100k AID."""
    admin = await Gaib.embedded()
    try:
        investor = admin.with_account(2)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(200_000))
        await investor.aid.mint(Decimal(200_000))
        await investor.said.stake(Decimal(100_000))
        await admin.venues.get("pendle").setup()  # the admin deploys Pendle: its treasury takes Pendle's fees
        yield World(admin, investor)
    finally:
        await admin.close()


async def _units(token: object, who: str) -> int:
    return int(await token.functions.balanceOf(who).call())  # type: ignore[attr-defined]


def _signature(item: dict[str, object]) -> tuple[str, str]:
    def types(params: object) -> str:
        return ",".join(str(p["type"]) for p in params)  # type: ignore[attr-defined,index]

    return f"{item['name']}({types(item['inputs'])})", types(item.get("outputs", []))


def test_the_sy_has_every_function_and_event_of_pendles_interface() -> None:
    ours = {_signature(i) for i in load_artifact("SAIDStandardizedYield")["abi"] if i["type"] in ("function", "event")}
    theirs = [i for i in load("IStandardizedYield")["abi"] if i["type"] in ("function", "event")]
    assert len(theirs) > 25
    missing_items = [_signature(i) for i in theirs if _signature(i) not in ours]
    assert missing_items == []
    # the selectors the YT and the market call
    for sig in ("exchangeRate()", "assetInfo()", "claimRewards(address)", "rewardIndexesCurrent()"):
        assert function_signature_to_4byte_selector(sig)


@module
async def test_setup_deploys_pendle_and_is_idempotent(world: World) -> None:
    venue = world.venue()
    first = await venue.setup()
    assert set(first) == {"yield_factory", "market_factory", "sy", "pt", "yt", "market", "swapper", "expiry"}
    block = await world.admin.chain.w3.eth.block_number
    assert await world.venue(world.admin).setup() == first  # another account view shares it
    assert await world.admin.chain.w3.eth.block_number == block
    assert int(first["expiry"]) % 86_400 == 0
    assert int(first["expiry"]) - await world.admin.chain.timestamp() > 179 * 86_400
    pt = world.admin.chain.contract(first["pt"], load("PendlePrincipalToken")["abi"])
    assert await pt.functions.SY().call() == first["sy"]
    assert await pt.functions.YT().call() == first["yt"]
    assert await pt.functions.symbol().call() == f"PT-sAID-{_date(int(first['expiry']))}"


def _date(ts: int) -> str:
    # Pendle's names carry the expiry as DMONYYYY with the day unpadded: 1JUN2027, 23MAY2027
    import time

    t = time.gmtime(ts)
    return f"{t.tm_mday}{time.strftime('%b', t).upper()}{t.tm_year}"


@module
async def test_an_existing_market_is_used_as_it_is(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    first = await world.venue().setup()
    other = world.admin.with_account(5)
    venue = other.venues.get("pendle", {"market": first["market"]})
    saved = dict(venue.state)
    venue.state.clear()  # as a client that finds no saved state would
    try:
        found = await venue.setup()
        assert {k: found[k] for k in ("sy", "pt", "yt", "market", "expiry")} == {
            k: first[k] for k in ("sy", "pt", "yt", "market", "expiry")
        }
        venue.state.clear()
        with pytest.raises(GaibConfigError, match="is not a Pendle market"):
            await other.venues.get("pendle", {"market": other.protocol.usdc.address}).setup()
        venue.state.clear()
        with pytest.raises(GaibConfigError, match="is not a Standardized Yield token"):
            await other.venues.get("pendle", {"sy": other.protocol.usdc.address}).setup()
        # on a chain that is not a development chain, Pendle is never deployed: its factories are asked for
        block = await other.chain.w3.eth.block_number
        with monkeypatch.context() as patch:
            patch.setattr(Chain, "is_dev", property(lambda self: False))
            with pytest.raises(GaibConfigError, match=r"give Pendle's yield contract factory and market factory"):
                await other.venues.get("pendle", {}).setup()
        assert await other.chain.w3.eth.block_number == block
    finally:
        venue.state.clear()
        venue.state.update(saved)


@module
async def test_the_sy_takes_aid_and_said_and_pays_out_said_only(world: World) -> None:
    inv, p = world.investor, world.investor.protocol
    sy = world.venue().sy
    assert await sy.functions.exchangeRate().call() == await p.said.functions.convertToAssets(WAD).call()
    assert await sy.functions.yieldToken().call() == p.said.address
    assert await sy.functions.getTokensIn().call() == [p.aid.address, p.said.address]
    assert await sy.functions.getTokensOut().call() == [p.said.address]
    assert await sy.functions.assetInfo().call() == [0, p.aid.address, 18]
    assert await sy.functions.getRewardTokens().call() == []
    assert await sy.functions.accruedRewards(inv.address).call() == []
    assert await sy.functions.previewDeposit(p.said.address, 5 * WAD).call() == 5 * WAD
    assert (
        await sy.functions.previewDeposit(p.aid.address, 5 * WAD).call()
        == await p.said.functions.previewDeposit(5 * WAD).call()
    )
    assert await sy.functions.previewRedeem(p.said.address, 3 * WAD).call() == 3 * WAD

    await inv.approve(p.aid, sy.address, 10 * WAD)
    await inv.send(sy.functions.deposit(inv.address, p.aid.address, 10 * WAD, 0), what="SY deposit AID")
    assert await _units(sy, inv.address) == await p.said.functions.previewDeposit(10 * WAD).call()
    # the exit is sAID only: asking for AID is refused, by the contract and before sending
    with pytest.raises(TransactionFailed, match="SYInvalidTokenOut"):
        await inv.send(sy.functions.redeem(inv.address, WAD, p.aid.address, 0, False), what="SY redeem AID")
    with pytest.raises(TransactionFailed, match="SYInvalidTokenIn"):
        await inv.send(sy.functions.deposit(inv.address, p.usdc.address, 1, 0), what="SY deposit USDC")
    held = await _units(sy, inv.address)
    said_before = await _units(p.said, inv.address)
    await inv.send(sy.functions.redeem(inv.address, held, p.said.address, held, False), what="SY redeem sAID")
    assert await _units(p.said, inv.address) == said_before + held
    assert await _units(sy, inv.address) == 0


@module
async def test_add_liquidity_with_no_options_splits_half_into_pt_and_yt(world: World) -> None:
    inv, venue = world.investor, world.venue()
    quote = await inv.venues.quote("pendle", Decimal(10_000))
    assert quote.asset_in == "sAID" and quote.asset_out == "LP-sAID"
    assert Decimal(quote.details["pt_minted"]) == Decimal(5_000)  # share price 1: one PT per AID of sAID
    said_before = (await inv.balances())["sAID"]
    positions = await inv.add_liquidity("pendle", Decimal(10_000))
    by_side = {p.side: p for p in positions}
    assert set(by_side) == {"yield", "liquidity"}  # the first mint takes all the PT
    assert by_side["liquidity"].amount == quote.amount_out
    assert by_side["yield"].amount == Decimal(5_000)
    assert (await inv.balances())["sAID"] == said_before - 10_000
    assert Decimal(0) < Decimal(by_side["liquidity"].details["implied_apy"]) < Decimal("0.5")
    total_lp = await _units(venue.market, venue.market.address) + await venue.market.functions.totalSupply().call()
    assert total_lp > 0

    # a second add goes in at the market's proportion; the quote is what it gives
    quote = await inv.venues.quote("pendle", Decimal(2_000), token="AID")
    positions = await inv.add_liquidity("pendle", Decimal(2_000), token="AID")
    lp = next(p for p in positions if p.side == "liquidity").amount
    assert lp - by_side["liquidity"].amount == quote.amount_out


@module
async def test_bad_input_is_refused_before_sending(world: World) -> None:
    inv = world.investor
    block = await inv.chain.w3.eth.block_number
    with pytest.raises(GaibValueError, match="must be more than 0"):
        await inv.add_liquidity("pendle", 0)
    with pytest.raises(GaibValueError, match=r"unknown options \['colour'\]"):
        await inv.add_liquidity("pendle", 1, colour="red")
    with pytest.raises(GaibValueError, match="token 'USDC': Pendle's SY takes 'sAID' or 'AID'"):
        await inv.add_liquidity("pendle", 1, token="USDC")
    with pytest.raises(InsufficientFundsError, match=r"holds .* sAID, less than the 10000000 needed"):
        await inv.add_liquidity("pendle", 10_000_000)
    with pytest.raises(GaibValueError, match="less than min_lp_out 100000"):
        await inv.add_liquidity("pendle", 10, min_lp_out=100_000)
    with pytest.raises(GaibValueError, match="Pendle LP, less than 99999999"):
        await inv.venues.remove("pendle", 99_999_999)
    with pytest.raises(GaibValueError, match=r"holds 0 PT, less than 0.5"):
        await world.venue().redeem_py(Decimal("0.5"))
    with pytest.raises(GaibValueError, match="quote action 'lend'"):
        await inv.venues.quote("pendle", 1, action="lend")
    assert await inv.chain.w3.eth.block_number == block


@module
async def test_swaps_both_ways_with_limits_enforced(world: World) -> None:
    inv, venue = world.investor, world.venue()
    minted = await venue.mint_py(Decimal(1_000))
    assert minted == {"pt": Decimal(1_000), "yt": Decimal(1_000)}
    sell = await inv.venues.quote("pendle", Decimal(100), action="swap")
    assert Decimal(90) < sell.amount_out < Decimal(100)  # PT trades at a discount before expiry
    block = await inv.chain.w3.eth.block_number
    with pytest.raises(GaibValueError, match="less than min_sy_out 100"):
        await venue.swap_pt_for_sy(Decimal(100), min_sy_out=Decimal(100))
    assert await inv.chain.w3.eth.block_number == block
    said_before = (await inv.balances())["sAID"]
    got = await venue.swap_pt_for_sy(Decimal(100))
    assert sell.minimum_out <= got <= sell.amount_out * Decimal("1.001")
    assert (await inv.balances())["sAID"] == said_before + got  # unwrapped: one sAID per SY

    buy = await inv.venues.quote("pendle", Decimal(100), action="swap", direction="sy_to_pt")
    pt_before = await _units(venue.pt, inv.address)
    with pytest.raises(GaibValueError, match="more than max_sy_in 1"):
        await venue.swap_sy_for_pt(Decimal(100), max_sy_in=Decimal(1))
    paid = await venue.swap_sy_for_pt(Decimal(100))
    assert await _units(venue.pt, inv.address) == pt_before + 100 * WAD
    assert abs(paid - buy.amount_in) < buy.amount_in * Decimal("0.001")
    assert await _units(venue.sy, inv.address) == 0  # the SY not spent went back to sAID
    # the swapper keeps nothing and accepts no callback but the market's
    assert await _units(venue.sy, venue.swapper.address) == await _units(venue.pt, venue.swapper.address) == 0
    with pytest.raises(TransactionFailed, match="SwapperUnexpectedCallback"):
        await inv.send(venue.swapper.functions.swapCallback(-1, 0, b""), what="callback")


@module
async def test_the_yt_collects_said_yield(world: World) -> None:
    inv, venue, p = world.investor, world.venue(), world.investor.protocol
    rate = await venue.sy.functions.exchangeRate().call()
    await venue.claim_yield()  # settle what accrued so far (nothing: the share price has not moved)
    # income into sAID: 1% of the vault's assets given to it raises the share price by 1%
    assets = await p.said.functions.totalAssets().call()
    await inv.send(p.aid.functions.transfer(p.said.address, assets // 100), what="income into sAID")
    new_rate = await venue.sy.functions.exchangeRate().call()
    assert new_rate > rate
    yt = await _units(venue.yt, inv.address)
    position = next(x for x in await inv.venues.positions("pendle") if x.side == "yield")
    said = await venue.claim_yield()
    # exactly what the position showed, less Pendle's 3% interest fee (PMath.mulDown), to the wei
    interest = int(Decimal(position.details["interest_sy"]) * WAD)
    assert said * WAD == interest - interest * 3 * 10**16 // WAD
    # YT holders get the SY worth the rise on their YT's asset value, less Pendle's 3% interest fee
    expected = Decimal(yt) * (Decimal(1) / rate - Decimal(1) / new_rate) * Decimal("0.97")
    assert abs(said - expected) < expected * Decimal("0.0001")


@module
async def test_remove_liquidity_gives_back_said(world: World) -> None:
    inv = world.investor
    lp = next(p for p in await inv.venues.positions("pendle") if p.side == "liquidity").amount
    quote = await inv.venues.quote("pendle", lp / 2, action="remove_liquidity")
    before = (await inv.balances())["sAID"]
    with pytest.raises(GaibValueError, match="less than min_said_out"):
        await inv.venues.remove("pendle", lp / 2, min_said_out=quote.amount_out + 1)
    positions = await inv.venues.remove("pendle", lp / 2)
    assert (await inv.balances())["sAID"] - before == quote.amount_out
    assert next(p for p in positions if p.side == "liquidity").amount == lp - lp / 2


@module
async def test_redeem_before_expiry_and_pt_alone_at_expiry(world: World) -> None:
    inv, venue = world.investor, world.venue()
    await venue.mint_py(Decimal(1_000))
    pt = next(p for p in await inv.venues.positions("pendle") if p.side == "principal").amount
    rate = Decimal(await venue.sy.functions.exchangeRate().call()) / WAD
    said = await venue.redeem_py(Decimal(100))  # with 100 YT
    assert abs(said - Decimal(100) / rate) < Decimal("0.000001")

    await inv.chain.advance_time(int(venue.state["expiry"]) - await inv.chain.timestamp() + 1)
    with pytest.raises(GaibValueError, match="expired at .* cannot add liquidity"):
        await inv.add_liquidity("pendle", 1)
    with pytest.raises(GaibValueError, match="expired"):
        await venue.swap_pt_for_sy(Decimal(1))
    yt_before = await _units(venue.yt, inv.address)
    said = await venue.redeem_py(pt - 100)  # PT alone now
    assert abs(said - (pt - 100) / rate) < Decimal("0.000001")
    assert await _units(venue.yt, inv.address) == yt_before
    # LP can still be removed after expiry: its PT is redeemed alone
    lp = next(p for p in await inv.venues.positions("pendle") if p.side == "liquidity").amount
    positions = await inv.venues.remove("pendle", lp)
    assert {p.side for p in positions} == {"yield"}


def test_fetch_is_idempotent_and_says_how_to_fetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert missing() == []  # set-up fetched them

    def no_network(dest: Path) -> Path:
        raise AssertionError("fetch went to npm although everything was there")

    monkeypatch.setattr(pendle_fetch, "npm_pack", no_network)
    assert pendle_fetch.fetch() == artifact_dir()
    # a partial folder fetches only what is missing: here from the proxy and the artifacts already present
    for name in (*NEEDED, PROXY):
        (tmp_path / f"{name}.json").write_text((artifact_dir() / f"{name}.json").read_text())
    (tmp_path / "OracleLib.json").unlink()
    assert missing(tmp_path) == ["OracleLib"]
    with pytest.raises(AssertionError, match="went to npm"):
        pendle_fetch.fetch(tmp_path)
    with pytest.raises(GaibConfigError, match=r"run `python -m gaib_pendle.fetch`"):
        load("OracleLib", tmp_path)
    art = json.loads((artifact_dir() / "PendleMarketV7.json").read_text())
    assert art["package"] == "@pendle/core-v2@6.11.0" and art["linkReferences"]


@pytest.mark.asyncio
async def test_on_anvil_a_second_process_reuses_the_venue(anvil: Anvil, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments) as admin:
        await admin.deploy()
        investor = admin.with_account(KEYS[2])
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(50_000))
        await investor.aid.mint(Decimal(50_000))
        await investor.said.stake(Decimal(30_000))
        first = await admin.venues.setup("pendle")
        positions = await investor.add_liquidity("pendle", Decimal(10_000))
        assert {p.side for p in positions} == {"yield", "liquidity"}

    async with await Gaib.connect(anvil.url, private_key=KEYS[2], deployments=deployments) as again:
        block = await again.chain.w3.eth.block_number
        venue = again.venues.get("pendle")
        assert isinstance(venue, PendleVenue)
        assert await venue.setup() == first
        assert await again.chain.w3.eth.block_number == block  # nothing deployed, nothing sent
        assert await again.venues.positions("pendle") == positions
        await venue.mint_py(Decimal(100))
        assert await venue.swap_pt_for_sy(Decimal(50)) > Decimal(45)
        await again.chain.advance_time(int(venue.state["expiry"]) - await again.chain.timestamp() + 1)
        assert await venue.redeem_py(Decimal(50)) == Decimal(50)  # share price 1: one sAID per PT
        lp = next(p for p in await again.venues.positions("pendle") if p.side == "liquidity").amount
        assert {p.side for p in await again.venues.remove("pendle", lp)} == {"yield"}
