"""The Curve venue (plugins/gaib-curve): the AID/USDC StableSwap-NG pool, driven through Curve's published ABI
against the project's StableSwap test stand-in (plugins/gaib-curve/standin, not Curve's code).

One embedded chain per module: the protocol, the stand-in factory and the venue's pool are deployed once.
The stand-in's math is checked against the StableSwap invariant solved independently here (by bisection on
exact rationals, not Newton's method on integers), on a second pool the fixture seeds and no test moves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from gaib_curve import CurveVenue
from gaib_curve.artifact import STANDIN_FACTORY, STANDIN_POOL, default_standin_dir, factory_abi, pool_abi

from gaib_sdk import Gaib, GaibConfigError, GaibValueError, InsufficientFundsError
from gaib_sdk.chain import Chain

from .anvil import KEYS, Anvil

module = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parent.parent
A, FEE, OFFPEG = 200, Fraction(4, 10_000), 2  # the venue's defaults: A 200, fee 0.04%, off-peg multiplier 2
SEED = 1_000_000  # each coin of the math pool


@dataclass
class Stand:
    admin: Gaib
    lp: Gaib  # whitelisted: holds USDC, AID and sAID
    outsider: Gaib  # not whitelisted: holds AID it was sent, and no USDC
    venue: CurveVenue
    math_pool: Any  # a second stand-in pool, seeded balanced, that no test moves


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stand() -> AsyncIterator[Stand]:
    admin = await Gaib.embedded()
    try:
        lp, outsider = admin.with_account(2), admin.with_account(4)
        await admin.aid.whitelist(lp.address)
        await admin.faucet(lp.address, Decimal(5_000_000))
        await lp.aid.mint(Decimal(3_000_000))
        await lp.said.stake(Decimal(100_000))
        await lp.send(lp.protocol.aid.functions.transfer(outsider.address, 10_000 * 10**18), what="AID to outsider")
        venue = lp.venues.get("curve")
        assert isinstance(venue, CurveVenue)
        await admin.venues.setup("curve")  # the admin's set-up deploys the stand-in and creates the pool
        await lp.add_liquidity("curve", Decimal(400_000))
        math_pool = await _seeded_pool(lp, venue.state["factory"])
        yield Stand(admin, lp, outsider, venue, math_pool)
    finally:
        await admin.close()


async def _seeded_pool(gaib: Gaib, factory_address: str) -> Any:
    """A second AID/USDC pool through the same factory, seeded with SEED of each coin."""
    p = gaib.protocol
    factory = gaib.chain.contract(factory_address, factory_abi())
    call = factory.functions.deploy_plain_pool(
        "math", "MATH", [p.usdc.address, p.aid.address], A, 4_000_000, 20_000_000_000, 866, 0, [0, 0],
        [b"\0" * 4] * 2, ["0x" + "00" * 20] * 2,
    )  # fmt: skip
    await gaib.send(call, what="deploy math pool")
    pool = gaib.chain.contract(await factory.functions.find_pool_for_coins(p.aid.address, p.usdc.address, 1).call(),
                               pool_abi())  # fmt: skip
    amounts = [SEED * 10**6, SEED * 10**18]  # USDC is coin 0 here, AID coin 1
    await gaib.approve(p.usdc, pool.address, amounts[0])
    await gaib.approve(p.aid, pool.address, amounts[1])
    await gaib.send(pool.functions.add_liquidity(amounts, 0), what="seed math pool")
    return pool


async def _sent_nothing(gaib: Gaib) -> tuple[int, int]:
    return await gaib.chain.w3.eth.block_number, await gaib.chain.w3.eth.get_transaction_count(gaib.address)


# ---- the ABI: the adapter speaks Curve's, the stand-in answers it ----


def _signatures(abi: list[dict[str, Any]]) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    return {
        f"{e['name']}({','.join(i['type'] for i in e['inputs'])})": (
            tuple(i["type"] for i in e["inputs"]),
            tuple(o["type"] for o in e["outputs"]),
        )
        for e in abi
        if e["type"] == "function"
    }


#: Every Curve function the adapter and these tests call.
POOL_CALLS = [
    "add_liquidity(uint256[],uint256)", "remove_liquidity(uint256,uint256[])",
    "remove_liquidity_imbalance(uint256[],uint256)", "remove_liquidity_one_coin(uint256,int128,uint256)",
    "calc_withdraw_one_coin(uint256,int128)", "calc_token_amount(uint256[],bool)",
    "exchange(int128,int128,uint256,uint256)", "get_dy(int128,int128,uint256)", "get_virtual_price()",
    "balances(uint256)", "coins(uint256)", "A()", "fee()", "N_COINS()", "totalSupply()", "balanceOf(address)",
    "approve(address,uint256)", "decimals()", "symbol()",
]  # fmt: skip
FACTORY_CALLS = [
    "deploy_plain_pool(string,string,address[],uint256,uint256,uint256,uint256,uint256,uint8[],bytes4[],address[])",
    "find_pool_for_coins(address,address)", "find_pool_for_coins(address,address,uint256)",
    "get_coins(address)", "pool_count()",
]  # fmt: skip


def test_the_vendored_abis_are_curves_and_the_stand_in_answers_them() -> None:
    abis = ROOT / "plugins" / "gaib-curve" / "gaib_curve" / "abis"
    assert (
        "MIT License" in (abis / "LICENSE").read_text() and "@curvefi/api` 2.70.1" in (abis / "README.md").read_text()
    )
    folder = default_standin_dir()
    standin_pool = _signatures(json.loads((folder / f"{STANDIN_POOL}.json").read_text())["abi"])
    standin_factory = _signatures(json.loads((folder / f"{STANDIN_FACTORY}.json").read_text())["abi"])
    curve_pool, curve_factory = _signatures(pool_abi()), _signatures(factory_abi())
    for name in POOL_CALLS:
        assert standin_pool[name] == curve_pool[name], name
    for name in FACTORY_CALLS:
        assert standin_factory[name] == curve_factory[name], name


def test_the_wheel_ships_the_abis_and_not_the_stand_in(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(tmp_path), str(ROOT / "plugins" / "gaib-curve")],
        check=True, timeout=120,
    )  # fmt: skip
    [wheel] = tmp_path.glob("gaib_curve-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"gaib_curve/abis/plain-stableswap-ng.json", "gaib_curve/abis/factory-stable-ng.json"} <= set(names)
    assert "gaib_curve/abis/LICENSE" in names
    assert not [n for n in names if n.endswith(".sol") or "standin" in n.lower()], names
    source = (ROOT / "plugins" / "gaib-curve" / "standin" / "StableSwapStandIn.sol").read_text()
    assert source.count("test stand-in, not Curve's code") == 2  # the pool and the factory both say so


# ---- the stand-in's math, against the invariant solved independently ----


def _invariant_d(xp: list[Fraction]) -> Fraction:
    """D of Curve's form of the invariant for two coins: Ann S + D = Ann D + D^3 / (4 x0 x1), Ann = A n
    (Curve's A is the whitepaper's A n^(n-1)). Solved by bisection: the left side minus the right falls in D."""
    ann, s, p = A * 2, sum(xp), xp[0] * xp[1]
    lo, hi = Fraction(0), s * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if ann * s + mid - ann * mid - mid**3 / (4 * p) > 0:
            lo = mid
        else:
            hi = mid
    return lo


def _invariant_y(x: Fraction, d: Fraction) -> Fraction:
    """The other coin's balance that keeps D when one coin's balance is x (bisection: the invariant's
    left side minus its right rises in y)."""
    ann = A * 2
    lo, hi = Fraction(1, 10**30), d * 2
    for _ in range(200):
        y = (lo + hi) / 2
        if ann * (x + y) + d - ann * d - d**3 / (4 * x * y) > 0:
            hi = y
        else:
            lo = y
    return lo


def _dynamic_fee(xi: Fraction, xj: Fraction, fee: Fraction) -> Fraction:
    """NG's fee off peg: fee * m / ((m - 1) * 4 xi xj / (xi + xj)^2 + 1)."""
    return fee * OFFPEG / ((OFFPEG - 1) * 4 * xi * xj / (xi + xj) ** 2 + 1)


@module
async def test_a_small_trade_in_a_balanced_pool_gets_one_minus_the_fee(stand: Stand) -> None:
    # 1 USDC for AID in a 1M/1M pool: on peg the dynamic fee is the fee, and the price impact is a few parts
    # in a billion (the curve is nearly flat at balance with A 200).
    dy = await stand.math_pool.functions.get_dy(0, 1, 10**6).call()
    assert abs(Fraction(dy, 10**18) - (1 - FEE)) < Fraction(1, 10**7)
    assert await stand.math_pool.functions.get_virtual_price().call() == 10**18  # first deposit: D = sum


@module
@pytest.mark.parametrize("usdc", [1_000, 100_000, 600_000])
async def test_get_dy_matches_the_invariant_solved_independently(stand: Stand, usdc: int) -> None:
    xp = [Fraction(SEED), Fraction(SEED)]
    d = _invariant_d(xp)
    y = _invariant_y(xp[0] + usdc, d)
    fee = _dynamic_fee((xp[0] + xp[0] + usdc) / 2, (xp[1] + y) / 2, FEE)
    expected = (xp[1] - y) * (1 - fee)
    dy = Fraction(await stand.math_pool.functions.get_dy(0, 1, usdc * 10**6).call(), 10**18)
    # the pool rounds the dynamic fee down to its 1e-10 precision: that, and nothing else, may differ
    assert abs(dy - expected) / expected < Fraction(1, 10**10) * 2
    assert dy < usdc * (1 - FEE)  # price impact: a big trade gets less per coin than a small one


@module
async def test_deposits_cost_only_what_unbalances_the_pool(stand: Stand) -> None:
    pool = stand.math_pool.functions
    supply = await pool.totalSupply().call()
    # balanced: exactly the pool's share, no fee
    balanced = await pool.calc_token_amount([500 * 10**6, 500 * 10**18], True).call()
    assert abs(balanced - supply * 1000 // (2 * SEED)) <= 1
    # one coin: half of the deposit moves against the pool's proportion in each coin, charged fee * n / (4 (n-1))
    # = fee / 2 on both halves, so the LP tokens are worth 1000 * (1 - fee / 2) = 999.8 USD, less the price
    # impact of in effect swapping half of it (about 0.00125 USD: a quarter of the 1000 USDC swap's 0.005).
    one = await pool.calc_token_amount([1000 * 10**6, 0], True).call()
    value = Fraction(one * await pool.get_virtual_price().call(), 10**36)
    assert 1000 * (1 - FEE / 2) - Fraction(2, 1000) < value < 1000 * (1 - FEE / 2)
    # and the same on the way out in one coin
    out = Fraction(await pool.calc_withdraw_one_coin(1000 * 10**18, 1).call(), 10**18)
    assert 1000 * (1 - FEE / 2) - Fraction(2, 1000) < out < 1000 * (1 - FEE / 2)


# ---- the venue ----


@module
async def test_set_up_creates_the_pool_through_the_factory_once(stand: Stand) -> None:
    state, chain = stand.venue.state, stand.lp.chain
    assert state["standin"] is True and state["coins"] == ["AID", "USDC"]
    factory = chain.contract(state["factory"], factory_abi())
    p = stand.lp.protocol
    assert await factory.functions.find_pool_for_coins(p.aid.address, p.usdc.address).call() == state["pool"]
    assert await factory.functions.get_coins(state["pool"]).call() == [p.aid.address, p.usdc.address]
    assert stand.lp.deployment.venues["curve"]["pool"] == state["pool"]  # saved with the deployment
    before = await _sent_nothing(stand.lp)
    assert (await stand.admin.venues.get("curve").setup())["pool"] == state["pool"]  # every account view shares it
    assert await _sent_nothing(stand.lp) == before


@module
async def test_a_balanced_deposit_is_split_in_the_pools_proportions(stand: Stand) -> None:
    v = stand.venue
    before = await v.pool_state()
    quote = await stand.lp.venues.quote("curve", Decimal(10_000))
    ratio = before["balances"]["AID"] / (before["balances"]["AID"] + before["balances"]["USDC"])
    assert abs(Decimal(quote.details["AID"]) / 10_000 - ratio) < Decimal("1e-6")
    assert quote.details["kind"] == "balanced" and abs(Decimal(quote.details["bonus_usd"])) < Decimal("0.001")
    assert quote.minimum_out == (quote.amount_out * Decimal("0.995")).quantize(Decimal("1e-18"), "ROUND_DOWN")
    lp_before = await v._pool().functions.balanceOf(stand.lp.address).call()
    positions = await stand.lp.add_liquidity("curve", Decimal(10_000))
    minted = await v._pool().functions.balanceOf(stand.lp.address).call() - lp_before
    assert Decimal(minted) / 10**18 == quote.amount_out  # the quote is what the pool mints
    [pos] = positions
    assert pos.side == "liquidity" and pos.asset == "AIDUSDC" and pos.market == v.state["pool"]
    assert Decimal(pos.details["value_usd"]) == pytest.approx(pos.amount * Decimal(pos.details["virtual_price"]))


@module
async def test_imbalanced_and_one_coin_deposits(stand: Stand) -> None:
    lp = stand.lp
    quote = await lp.venues.quote("curve", Decimal(1_000), aid=Decimal(900))
    assert quote.details["AID"] == "900" and quote.details["USDC"] == "100" and quote.details["kind"] == "imbalanced"
    assert Decimal(quote.details["bonus_usd"]) < 0  # unbalancing the pool costs a fee
    await lp.add_liquidity("curve", Decimal(1_000), aid=Decimal(900))
    quote = await lp.venues.quote("curve", Decimal(1_000), coin="usdc")
    assert quote.asset_in == "USDC" and -1 < Decimal(quote.details["bonus_usd"]) < 0
    await lp.add_liquidity("curve", Decimal(1_000), coin="USDC")


@module
async def test_with_no_options_an_account_holding_one_coin_deposits_that_coin(stand: Stand) -> None:
    lender = stand.admin.with_account(6)  # USDC only, as the quickstart's lender
    await stand.admin.faucet(lender.address, Decimal(50_000))
    quote = await lender.venues.quote("curve", Decimal(50_000))
    assert (quote.details["kind"], quote.details["AID"], quote.details["USDC"]) == ("as_held", "0", "50000")
    [position] = await lender.add_liquidity("curve", Decimal(50_000))
    assert position.amount == quote.amount_out and (await lender.balances())["USDC"] == 0

    # but the first deposit into an empty pool needs both coins: refused before sending, saying so
    factory = lender.chain.contract(stand.venue.state["factory"], factory_abi())
    p, none = lender.protocol, ["0x" + "00" * 20] * 2
    call = factory.functions.deploy_plain_pool("e", "E", [p.aid.address, p.usdc.address], A, 4_000_000, 0, 866, 0,
                                               [0, 0], [b"\0" * 4] * 2, none)  # fmt: skip
    await stand.admin.send(call, what="an empty pool")
    empty = await factory.functions.find_pool_for_coins(p.aid.address, p.usdc.address, 2).call()
    saved = lender.venue_state.pop("curve")
    try:
        venue = CurveVenue(lender, {"pool": empty})
        await stand.admin.faucet(lender.address, Decimal(1_000))
        before = await _sent_nothing(lender)
        with pytest.raises(GaibValueError, match="the pool is empty: its first deposit must hold both AID and USDC"):
            await venue.add_liquidity(Decimal(1_000))
        assert await _sent_nothing(lender) == before
    finally:
        lender.venue_state["curve"] = saved
        lender.save_venue_state("curve")


@module
async def test_the_three_withdrawals_pay_what_they_quote(stand: Stand) -> None:
    lp, v = stand.lp, stand.venue
    usdc, aid = lp.protocol.usdc.functions, lp.protocol.aid.functions

    async def held() -> tuple[int, int]:
        return await aid.balanceOf(lp.address).call(), await usdc.balanceOf(lp.address).call()

    q = await lp.venues.quote("curve", Decimal(1_000), action="remove_liquidity")
    a0, u0 = await held()
    await lp.venues.remove("curve", Decimal(1_000))
    a1, u1 = await held()
    assert (Decimal(a1 - a0) / 10**18, Decimal(u1 - u0) / 10**6) == (
        Decimal(q.details["AID"]),
        Decimal(q.details["USDC"]),
    )

    q = await lp.venues.quote("curve", Decimal(1_000), action="remove_liquidity", coin="USDC")
    await lp.venues.remove("curve", Decimal(1_000), coin="USDC")
    a2, u2 = await held()
    assert a2 == a1 and Decimal(u2 - u1) / 10**6 == q.amount_out and q.amount_out > Decimal(990)

    lp_before = await v._pool().functions.balanceOf(lp.address).call()
    q = await lp.venues.quote("curve", Decimal(1_000), action="remove_liquidity", aid=Decimal(300), usdc=Decimal(100))
    await lp.venues.remove("curve", Decimal(1_000), aid=Decimal(300), usdc=Decimal(100))
    a3, u3 = await held()
    assert (a3 - a2, u3 - u2) == (300 * 10**18, 100 * 10**6)  # exactly the amounts asked
    burnt = Decimal(lp_before - await v._pool().functions.balanceOf(lp.address).call()) / 10**18
    assert burnt == q.amount_in and Decimal(399) < burnt < Decimal(401)


@module
async def test_an_outsider_exits_by_selling_aid_for_usdc(stand: Stand) -> None:
    out, v = stand.outsider, stand.outsider.venues.get("curve")
    assert not await out.protocol.aid.functions.isWhitelisted(out.address).call()
    assert isinstance(v, CurveVenue)
    quote = await out.venues.quote("curve", Decimal(5_000), action="swap", sell="AID")
    receipt = await v.exchange(Decimal(5_000))
    assert receipt.amount == quote.amount_out and abs(receipt.amount - 5_000) < 25  # near par: within 0.5%
    assert (await out.balances())["USDC"] == receipt.amount
    back = await v.exchange(Decimal(1_000), sell="USDC")
    assert abs(back.amount - 1_000) < 5


@module
async def test_the_virtual_price_never_falls(stand: Stand) -> None:
    lp, v = stand.lp, stand.venue
    assert isinstance(v, CurveVenue)
    prices = [await v.virtual_price()]
    steps: list[Any] = [
        lambda: v.exchange(Decimal(50_000), sell="USDC"),
        lambda: v.exchange(Decimal(80_000), sell="AID"),
        lambda: lp.add_liquidity("curve", Decimal(20_000), coin="AID"),
        lambda: lp.venues.remove("curve", Decimal(5_000), coin="AID"),
        lambda: lp.venues.remove("curve", Decimal(5_000)),
        lambda: lp.add_liquidity("curve", Decimal(3_000), usdc=Decimal(3_000)),
        lambda: lp.venues.remove("curve", Decimal(3_000), usdc=Decimal(2_000)),
        lambda: v.exchange(Decimal(30_000), sell="USDC"),
    ]
    for step in steps:
        await step()
        prices.append(await v.virtual_price())
    assert prices == sorted(prices) and prices[-1] > prices[0]


@module
async def test_bad_requests_are_refused_before_anything_is_sent(stand: Stand) -> None:
    lp, out = stand.lp, stand.admin.with_account(5)  # an account with nothing
    v = lp.venues.get("curve")
    assert isinstance(v, CurveVenue)
    before = await _sent_nothing(lp), await _sent_nothing(out)
    quoted = await lp.venues.quote("curve", Decimal(100), action="swap")
    cases: list[tuple[Any, type[Exception], str]] = [
        (lambda: lp.add_liquidity("curve", 0), GaibValueError, "must be more than 0"),
        (lambda: lp.add_liquidity("curve", Decimal(100), ratio=1), GaibValueError, r"not \['ratio'\]"),
        (lambda: lp.add_liquidity("curve", Decimal(100), aid=Decimal(70), usdc=Decimal(20)), GaibValueError,
         "must add up to the amount 100"),
        (lambda: lp.add_liquidity("curve", Decimal(100), coin="AID", aid=Decimal(1)), GaibValueError, "not both"),
        (lambda: lp.add_liquidity("curve", Decimal(100), coin="DAI"), GaibValueError, "option 'coin'"),
        (lambda: lp.add_liquidity("curve", Decimal(100), minimum=Decimal(10_000)), GaibValueError,
         "would revert"),
        (lambda: lp.add_liquidity("curve", Decimal(10) ** 9), InsufficientFundsError, "needed to deposit"),
        (lambda: out.add_liquidity("curve", Decimal(100), coin="USDC"), InsufficientFundsError, "holds 0 USDC"),
        (lambda: out.venues.remove("curve", Decimal(1)), InsufficientFundsError, "holds 0 LP"),
        (lambda: lp.venues.remove("curve", Decimal(10) ** 9), GaibValueError, "more than the pool's supply"),
        (lambda: lp.venues.remove("curve", Decimal(1), aid=Decimal(10) ** 8), GaibValueError,
         "less than the 100000000 asked"),
        (lambda: lp.venues.remove("curve", Decimal(1), aid=Decimal(100)), GaibValueError, "more than the 1 allowed"),
        (lambda: v.exchange(Decimal(100), minimum=quoted.amount_out + 1), GaibValueError, "would revert"),
        (lambda: v.exchange(Decimal(0)), GaibValueError, "more than 0 AID"),
        (lambda: v.quote(Decimal(1), action="swap", coin="AID"), GaibValueError, "takes sell=, not"),
        (lambda: v.quote(Decimal(1), sell="AID"), GaibValueError, "sell= is for action='swap'"),
        (lambda: v.exchange(Decimal(10) ** 9), InsufficientFundsError, "needed to sell"),
    ]  # fmt: skip
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            await call()
    assert (await _sent_nothing(lp), await _sent_nothing(out)) == before


@module
async def test_other_chains_need_the_pool_or_a_factory(stand: Stand, monkeypatch: pytest.MonkeyPatch) -> None:
    lp = stand.lp
    saved = lp.venue_state.pop("curve")
    monkeypatch.setattr(Chain, "is_dev", property(lambda self: False))
    try:
        with pytest.raises(GaibConfigError, match="give the AID/USDC pool's address, or a StableSwap-NG factory's"):
            await CurveVenue(lp).setup()
        with pytest.raises(GaibConfigError, match="does not answer as a StableSwap-NG pool"):
            await CurveVenue(lp, {"pool": lp.protocol.usdc.address}).setup()
        before = await _sent_nothing(lp)
        found = await CurveVenue(lp, {"factory": saved["factory"]}).setup()  # the factory lists the pool: reused
        assert found["pool"] == saved["pool"] and await _sent_nothing(lp) == before
        lp.venue_state.pop("curve")
        assert (await CurveVenue(lp, {"pool": saved["pool"]}).setup())["pool"] == saved["pool"]
    finally:
        lp.venue_state["curve"] = saved
        lp.save_venue_state("curve")
    with pytest.raises(GaibValueError, match="option 'fee'"):
        CurveVenue(lp, {"fee": "0.5"})


# ---- a real node: two processes on one chain share one pool ----


@pytest.mark.asyncio
async def test_the_pool_on_anvil_is_found_by_a_second_process(anvil: Anvil, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    admin = await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments)
    try:
        await admin.deploy()
        lp, seller = admin.with_account(KEYS[1]), admin.with_account(KEYS[2])
        await admin.aid.whitelist(lp.address)
        await admin.faucet(lp.address, Decimal(300_000))
        await lp.aid.mint(Decimal(150_000))
        await admin.venues.setup("curve")
        [pos] = await lp.add_liquidity("curve", Decimal(200_000))
        assert pos.amount == Decimal(200_000) and pos.details["virtual_price"] == "1"
        pool = lp.venues.get("curve").state["pool"]
        await lp.send(lp.protocol.aid.functions.transfer(seller.address, 1_000 * 10**18), what="AID to seller")
    finally:
        await admin.close()

    async with await Gaib.connect(anvil.url, private_key=KEYS[2], deployments=deployments) as again:
        venue = again.venues.get("curve")
        assert isinstance(venue, CurveVenue)
        block = await again.chain.w3.eth.block_number
        assert (await venue.setup())["pool"] == pool  # found in the deployments file, not deployed again
        assert await again.chain.w3.eth.block_number == block
        receipt = await venue.exchange(Decimal(1_000))
        assert Decimal(995) < receipt.amount < Decimal(1_000)
        [pos] = await again.venues.positions("curve", lp.address)
        assert pos.amount == Decimal(200_000) and Decimal(pos.details["virtual_price"]) > 1
        factory = again.chain.contract(venue.state["factory"], factory_abi())
        assert await factory.functions.pool_count().call() == 1
