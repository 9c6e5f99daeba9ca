"""The Pendle venue: sAID wrapped as a Standardized Yield token (the SDK's ``SAIDStandardizedYield``), split
into a principal token (PT: sAID's value at expiry, bought at a discount, so a fixed yield) and a yield
token (YT: sAID's variable yield until expiry), and a Pendle market trading PT against SY.

On a development chain (the embedded EVM, anvil) :meth:`PendleVenue.setup` deploys Pendle's real
contracts from the artifacts of ``@pendle/core-v2`` 6.11.0 that ``python -m gaib_pendle.fetch`` takes from
the npm registry: the YT's creation code split in two (Pendle's BaseSplitCodeFactory layout), the yield
contract factory behind an ERC-1967 proxy, OracleLib linked into the market's code, split the same way, a
gauge-controller stand-in and the market factory behind a proxy. Then, on any chain, it deploys the SY,
creates the PT/YT pair for one expiry and creates the market. On another chain give the two factories'
addresses (:class:`PendleOptions`).

Every call goes to Pendle's core contracts, not its router: SY ``deposit``/``redeem``, YT
``mintPY``/``redeemPY``, market ``mint``/``burn`` with tokens sent to it first (the venue computes from the
market's state exactly what it takes, so nothing is left in it), and the market's swaps through the SDK's
``PendleMarketSwapper``, which pays the market in Pendle's swap callback and enforces the caller's limit in
the swap's own transaction (and quotes a swap by reverting with its amounts, read with ``eth_call``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak
from pydantic import Field

from gaib_pendle.artifacts import PROXY, load
from gaib_sdk import AdapterOptions, ChainError, GaibConfigError, GaibValueError, Venue, VenuePosition, VenueQuote
from gaib_sdk.chain import decode_revert, load_artifact
from gaib_sdk.chain.artifacts import revert_data
from gaib_sdk.client import AID_DECIMALS, from_units, to_units

WAD = 10**18
DAY = 86_400
YEAR = 365 * DAY
MINIMUM_LIQUIDITY = 1000  # Pendle's MarketMathCore: LP locked at address(1) by the first mint
#: Pendle's BaseSplitCodeFactory: a 32-byte constructor that returns the code after it, as the contract.
SPLIT_PREFIX = bytes.fromhex("602038038060206000396000f3") + b"\xfe" * 19
QUOTE_SELECTOR = keccak(text="SwapperQuote(int256,int256)")[:4]


class PendleOptions(AdapterOptions):
    yield_factory: str | None = Field(
        default=None, description="Pendle's PendleYieldContractFactory; deployed on dev chains if unset"
    )
    market_factory: str | None = Field(
        default=None, description="Pendle's PendleMarketFactoryV7; deployed on dev chains if unset"
    )
    sy: str | None = Field(default=None, description="an SAIDStandardizedYield already deployed; deployed if unset")
    market: str | None = Field(
        default=None, description="a Pendle market of an sAID SY already created: used as it is, nothing created"
    )
    expiry_days: int = Field(default=180, ge=1, le=3650, description="days from set-up to the PT/YT expiry")
    scalar_root: Decimal = Field(default=Decimal(20), gt=0, description="the market's rate sensitivity")
    initial_implied_apy: Decimal = Field(
        default=Decimal("0.05"), ge=0, le=1, description="the implied APY of a first deposit of as much PT as SY value"
    )
    fee_apy: Decimal = Field(default=Decimal("0.001"), ge=0, le=Decimal("0.05"), description="the swap fee rate")
    slippage: Decimal = Field(default=Decimal("0.005"), ge=0, lt=1, description="default slippage for swaps")


class PendleVenue(Venue):
    """Pendle PT/YT on sAID, and a PT/SY market. See the module docstring."""

    name = "pendle"
    options_model = PendleOptions
    options: PendleOptions

    # ---- set-up ----

    async def setup(self) -> dict[str, str]:
        state = self.state
        if "market" in state:
            return self._addresses()
        gaib, chain = self.gaib, self.gaib.chain
        if self.options.market is not None:
            await self._use_market(self.options.market)
            self.save_state()
            return self._addresses()
        if self.options.sy is not None:
            await self._check_sy(self.options.sy)
        yield_factory, market_factory = self.options.yield_factory, self.options.market_factory
        if (yield_factory is None or market_factory is None) and not chain.is_dev:
            raise GaibConfigError(
                f"give Pendle's yield contract factory and market factory on chain {chain.chain_id} "
                "(PendleOptions.yield_factory, PendleOptions.market_factory)"
            )
        await self.require_admin()  # from here it deploys and creates: the yield contract, the market
        if yield_factory is None or market_factory is None:
            yield_factory, market_factory = await self._deploy_pendle()
        yf = chain.contract(yield_factory, load("PendleYieldContractFactoryUpg")["abi"])
        mf = chain.contract(market_factory, load("PendleMarketFactoryV7Upg")["abi"])
        sy_address = self.options.sy
        if sy_address is None:
            sy = await chain.deploy(load_artifact("SAIDStandardizedYield"), [gaib.protocol.said.address], gaib.account)
            assert sy.contract_address is not None
            sy_address = sy.contract_address
        divisor = int(await yf.functions.expiryDivisor().call())
        now = await chain.timestamp()
        expiry = (now + self.options.expiry_days * DAY) // divisor * divisor
        if expiry <= now:
            expiry += divisor
        await gaib.send(yf.functions.createYieldContract(sy_address, expiry, False), what="Pendle createYieldContract")
        pt = await yf.functions.getPT(sy_address, expiry).call()
        yt = await yf.functions.getYT(sy_address, expiry).call()
        args = (
            pt,
            int(self.options.scalar_root * WAD),
            _anchor(self.options.initial_implied_apy, expiry - await chain.timestamp()),
            int(Decimal(math.log1p(float(self.options.fee_apy))) * WAD),
        )
        market = await mf.functions.createNewMarket(*args).call({"from": gaib.address})
        await gaib.send(mf.functions.createNewMarket(*args), what="Pendle createNewMarket")
        swapper = await chain.deploy(load_artifact("PendleMarketSwapper"), [], gaib.account)
        state.update(
            yield_factory=yf.address,
            market_factory=mf.address,
            sy=sy_address,
            pt=pt,
            yt=yt,
            market=market,
            swapper=swapper.contract_address,
            expiry=expiry,
        )
        self.save_state()
        return self._addresses()

    async def _check_sy(self, sy: str) -> None:
        said = self.gaib.protocol.said.address
        contract = self.gaib.chain.contract(sy, load_artifact("SAIDStandardizedYield")["abi"])
        try:
            token = await contract.functions.yieldToken().call()
        except Exception as exc:
            raise GaibConfigError(f"{sy} is not a Standardized Yield token (no yieldToken()): {exc}") from exc
        if token != said:
            raise GaibConfigError(f"the SY {sy} wraps {token}, not this deployment's sAID {said}")

    async def _use_market(self, address: str) -> None:
        """A market created before (on mainnet, by anyone): its SY must wrap this deployment's sAID."""
        chain = self.gaib.chain
        market = chain.contract(address, load("PendleMarketV7")["abi"])
        try:
            sy, pt, yt = await market.functions.readTokens().call()
        except Exception as exc:
            raise GaibConfigError(f"{address} is not a Pendle market (no readTokens()): {exc}") from exc
        await self._check_sy(sy)
        swapper = await chain.deploy(load_artifact("PendleMarketSwapper"), [], self.gaib.account)
        expiry = int(await market.functions.expiry().call())
        self.state.update(sy=sy, pt=pt, yt=yt, market=market.address, swapper=swapper.contract_address, expiry=expiry)

    async def _deploy_pendle(self) -> tuple[str, str]:
        """Pendle's two factories on a development chain, per Pendle's own deployment layout."""
        gaib, chain = self.gaib, self.gaib.chain
        owner = gaib.address
        yt_a, yt_b = await self._split_deploy(load("PendleYieldToken")["bytecode"], "PendleYieldToken")
        yf_impl = await chain.deploy(load("PendleYieldContractFactoryUpg"), [*yt_a, *yt_b], gaib.account)
        yf_abi = load("PendleYieldContractFactoryUpg")["abi"]
        init = chain.contract(yf_impl.contract_address or "", yf_abi).encode_abi(
            "initialize", [DAY, 3 * 10**16, 3 * 10**16, owner, owner]
        )
        yf = await chain.deploy(load(PROXY), [yf_impl.contract_address, init], gaib.account)
        oracle_lib = await chain.deploy(load("OracleLib"), [], gaib.account)
        assert oracle_lib.contract_address is not None
        market_code = _link(load("PendleMarketV7"), oracle_lib.contract_address)
        m_a, m_b = await self._split_deploy(market_code, "PendleMarketV7")
        gauge = await self._gauge_controller(gaib.protocol.gaib.address)
        mf_impl = await chain.deploy(
            load("PendleMarketFactoryV7Upg"), [yf.contract_address, *m_a, *m_b, gauge], gaib.account
        )
        mf_abi = load("PendleMarketFactoryV7Upg")["abi"]
        init = chain.contract(mf_impl.contract_address or "", mf_abi).encode_abi("initialize", [owner, owner, 80])
        mf = await chain.deploy(load(PROXY), [mf_impl.contract_address, init], gaib.account)
        assert yf.contract_address is not None and mf.contract_address is not None
        return yf.contract_address, mf.contract_address

    async def _raw_deploy(self, code: bytes, what: str) -> str:
        art = {"contractName": what, "abi": [], "bytecode": "0x" + code.hex()}
        deployed = await self.gaib.chain.deploy(art, [], self.gaib.account)
        assert deployed.contract_address is not None
        return deployed.contract_address

    async def _split_deploy(self, bytecode: str, what: str) -> tuple[tuple[str, int], tuple[str, int]]:
        """Deploy a creation code too big for one contract as two code-only contracts, A and B."""
        code = bytes.fromhex(bytecode.removeprefix("0x"))
        cut = len(code) // 2
        while code[cut] == 0xEF:  # EIP-3541: no contract code may start with 0xEF
            cut += 1
        a, b = code[:cut], code[cut:]
        return (
            (await self._raw_deploy(SPLIT_PREFIX + a, f"{what} code A"), len(a)),
            (await self._raw_deploy(SPLIT_PREFIX + b, f"{what} code B"), len(b)),
        )

    async def _gauge_controller(self, reward_token: str) -> str:
        """A stand-in for Pendle's gauge controller on dev chains: every call returns ``reward_token``
        (the market asks it ``pendle()``, and calls ``redeemMarketReward()``, which then pays nothing)."""
        runtime = b"\x73" + bytes.fromhex(reward_token[2:]) + bytes.fromhex("60005260206000f3")
        return await self._raw_deploy(SPLIT_PREFIX + runtime, "Pendle gauge controller stand-in")

    def _addresses(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.state.items()}

    # ---- contracts ----

    def _c(self, key: str, artifact: str) -> Any:
        ours = artifact in ("SAIDStandardizedYield", "PendleMarketSwapper")
        abi = load_artifact(artifact)["abi"] if ours else load(artifact)["abi"]
        return self.gaib.chain.contract(self.state[key], abi)

    @property
    def sy(self) -> Any:
        return self._c("sy", "SAIDStandardizedYield")

    @property
    def pt(self) -> Any:
        return self._c("pt", "PendlePrincipalToken")

    @property
    def yt(self) -> Any:
        return self._c("yt", "PendleYieldToken")

    @property
    def swapper(self) -> Any:
        return self._c("swapper", "PendleMarketSwapper")

    @property
    def market(self) -> Any:
        return self._c("market", "PendleMarketV7")

    async def _expired(self) -> bool:
        return await self.gaib.chain.timestamp() >= int(self.state["expiry"])

    async def _index(self) -> int:
        """The YT's PY index now (AID per SY): max(the SY's exchange rate, the index stored)."""
        return int(await self.yt.functions.pyIndexCurrent().call({"from": self.gaib.address}))

    async def _market_totals(self) -> tuple[int, int, int]:
        """(total PT, total SY, total LP) of the market."""
        total_pt, total_sy, *_ = await self.market.functions._storage().call()
        return int(total_pt), int(total_sy), int(await self.market.functions.totalSupply().call())

    async def _balance(self, token: Any, who: str | None = None) -> int:
        return int(await token.functions.balanceOf(who or self.gaib.address).call())

    async def _not_expired(self, doing: str) -> None:
        if await self._expired():
            raise GaibValueError(
                f"the Pendle market expired at {self.state['expiry']} (unix time): cannot {doing}; "
                "redeem PT with redeem_py() and remove liquidity with remove_liquidity()"
            )

    # ---- the four calls ----

    async def quote(self, amount: Decimal, **kwargs: Any) -> VenueQuote:
        """With no options: what :meth:`add_liquidity` of ``amount`` sAID (``token="AID"``: AID) gives, in
        LP tokens. With ``action="remove_liquidity"``: what removing ``amount`` LP gives back, in sAID. With
        ``action="swap"``: the SY that selling ``amount`` PT gives (``direction="pt_to_sy"``), or that
        buying ``amount`` PT costs (``direction="sy_to_pt"``). Nothing is sent."""
        await self.setup()
        action = kwargs.pop("action", "add_liquidity")
        if action == "add_liquidity":
            token = kwargs.pop("token", "sAID")
            _no_more(kwargs, "quote")
            plan = await self._plan_add(amount, token)
            return VenueQuote(
                venue=self.name,
                action="add_liquidity",
                amount_in=amount,
                asset_in=token,
                amount_out=from_units(plan["lp"], AID_DECIMALS),
                asset_out="LP-sAID",
                minimum_out=from_units(plan["lp"], AID_DECIMALS),
                details={k: str(from_units(v, AID_DECIMALS)) for k, v in plan.items() if k != "lp"},
            )
        if action == "remove_liquidity":
            _no_more(kwargs, "quote")
            plan = await self._plan_remove(amount)
            return VenueQuote(
                venue=self.name,
                action="remove_liquidity",
                amount_in=amount,
                asset_in="LP-sAID",
                amount_out=from_units(plan["said"], AID_DECIMALS),
                asset_out="sAID",
                minimum_out=from_units(plan["said"], AID_DECIMALS),
                details={k: str(from_units(v, AID_DECIMALS)) for k, v in plan.items() if k != "said"},
            )
        if action == "swap":
            direction = kwargs.pop("direction", "pt_to_sy")
            _no_more(kwargs, "quote")
            await self._not_expired("swap")
            units = to_units(amount, AID_DECIMALS, what="PT to swap")
            if units == 0:
                raise GaibValueError("swap more than 0 PT")
            if direction == "pt_to_sy":
                _, sy = await self._swap_quote("quoteExactPtForSy", units)
                out, floor = (
                    from_units(sy, AID_DECIMALS),
                    from_units(int(sy * (1 - self.options.slippage)), AID_DECIMALS),
                )
                return VenueQuote(
                    venue=self.name,
                    action="swap",
                    amount_in=amount,
                    asset_in="PT-sAID",
                    amount_out=out,
                    asset_out="SY-sAID",
                    minimum_out=floor,
                )
            if direction == "sy_to_pt":
                _, sy = await self._swap_quote("quoteSyForExactPt", units)
                return VenueQuote(
                    venue=self.name,
                    action="swap",
                    amount_in=from_units(-sy, AID_DECIMALS),
                    asset_in="SY-sAID",
                    amount_out=amount,
                    asset_out="PT-sAID",
                    minimum_out=amount,
                )
            raise GaibValueError(f"swap direction {direction!r}: use 'pt_to_sy' or 'sy_to_pt'")
        raise GaibValueError(f"Pendle quote action {action!r}: use 'add_liquidity', 'remove_liquidity' or 'swap'")

    async def _plan_add(self, amount: Decimal, token: str) -> dict[str, int]:
        if token not in ("sAID", "AID"):
            raise GaibValueError(f"token {token!r}: Pendle's SY takes 'sAID' or 'AID'")
        units = to_units(amount, AID_DECIMALS, what=f"{token} to add")
        if units < 2:
            raise GaibValueError(f"add at least 0.000000000000000002 {token} (half is split into PT and YT)")
        await self._not_expired("add liquidity")
        said_units = units
        if token == "AID":
            said_units = int(await self.gaib.protocol.said.functions.previewDeposit(units).call())
        to_split = said_units // 2
        sy_in = said_units - to_split
        py = to_split * await self._index() // WAD
        total_pt, total_sy, total_lp = await self._market_totals()
        if total_lp == 0:
            lp, sy_used, pt_used = math.isqrt(sy_in * py) - MINIMUM_LIQUIDITY, sy_in, py
            if lp <= 0:
                raise GaibValueError(f"{amount} {token} is too little to open the market: add more")
        else:
            by_pt, by_sy = py * total_lp // total_pt, sy_in * total_lp // total_sy
            if by_pt < by_sy:
                lp, pt_used, sy_used = by_pt, py, -(-total_sy * by_pt // total_lp)
            else:
                lp, sy_used, pt_used = by_sy, sy_in, -(-total_pt * by_sy // total_lp)
            if lp <= 0:
                raise GaibValueError(f"{amount} {token} is too little for one unit of LP: add more")
        return {
            "lp": lp,
            "sy_deposited": said_units,
            "pt_minted": py,
            "yt_minted": py,
            "pt_to_market": pt_used,
            "sy_to_market": sy_used,
            "pt_kept": py - pt_used,
            "said_returned": sy_in - sy_used,
        }

    async def add_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Put ``amount`` sAID (or with ``token="AID"``, AID, staked into sAID by the SY) to work: half is
        wrapped as SY and split into PT + YT, the other half wrapped as SY, and PT with SY added to the
        market in the market's own proportion. The account keeps the YT (sAID's variable yield) and any PT
        the market did not take; SY the market did not take comes back as sAID. ``min_lp_out`` refuses
        less LP, before anything is sent."""
        await self.setup()
        token = kwargs.pop("token", "sAID")
        min_lp = kwargs.pop("min_lp_out", None)
        _no_more(kwargs, "add_liquidity")
        plan = await self._plan_add(amount, token)
        if min_lp is not None and plan["lp"] < to_units(min_lp, AID_DECIMALS, what="min_lp_out"):
            raise GaibValueError(
                f"adding {amount} {token} gives {from_units(plan['lp'], AID_DECIMALS)} LP now, "
                f"less than min_lp_out {min_lp}"
            )
        gaib, p = self.gaib, self.gaib.protocol
        units = to_units(amount, AID_DECIMALS, what=f"{token} to add")
        token_c = p.said if token == "sAID" else p.aid
        await gaib.require_balance(token_c, units, token, "add liquidity at Pendle")
        sy, yt, pt, market = self.sy, self.yt, self.pt, self.market
        pt_before, sy_before = await self._balance(pt), await self._balance(sy)
        await gaib.approve(token_c, sy.address, units)
        await gaib.send(sy.functions.deposit(gaib.address, token_c.address, units, 0), what="Pendle SY deposit")
        wrapped = await self._balance(sy) - sy_before
        await gaib.send(sy.functions.transfer(yt.address, wrapped // 2), what="SY to the YT")
        await gaib.send(yt.functions.mintPY(gaib.address, gaib.address), what="Pendle mintPY")
        # The amounts the market takes, from what was really minted and the market's state now.
        pt_used, sy_used = await self._amounts_for_market(await self._balance(pt) - pt_before, wrapped - wrapped // 2)
        await gaib.send(pt.functions.transfer(market.address, pt_used), what="PT to the Pendle market")
        await gaib.send(sy.functions.transfer(market.address, sy_used), what="SY to the Pendle market")
        await gaib.send(market.functions.mint(gaib.address, sy_used, pt_used), what="Pendle market mint")
        await self._unwrap(await self._balance(sy) - sy_before)
        return await self.positions()

    async def _amounts_for_market(self, pt: int, sy: int) -> tuple[int, int]:
        total_pt, total_sy, total_lp = await self._market_totals()
        if total_lp == 0:
            return pt, sy
        by_pt, by_sy = pt * total_lp // total_pt, sy * total_lp // total_sy
        if by_pt < by_sy:
            return pt, -(-total_sy * by_pt // total_lp)
        return -(-total_pt * by_sy // total_lp), sy

    async def _plan_remove(self, amount: Decimal) -> dict[str, int]:
        lp = to_units(amount, AID_DECIMALS, what="LP to remove")
        if lp == 0:
            raise GaibValueError("remove more than 0 LP")
        have = await self._balance(self.market)
        if lp > have:
            raise GaibValueError(
                f"account {self.gaib.address} holds {from_units(have, AID_DECIMALS)} Pendle LP, less than {amount}"
            )
        total_pt, total_sy, total_lp = await self._market_totals()
        sy_out, pt_out = lp * total_sy // total_lp, lp * total_pt // total_lp
        expired = await self._expired()
        redeemable = pt_out if expired else min(pt_out, await self._balance(self.yt))
        index = await self._index()
        sy_from_py = redeemable * WAD // index if redeemable else 0
        return {"said": sy_out + sy_from_py, "sy_out": sy_out, "pt_out": pt_out, "pt_redeemed": redeemable}

    async def remove_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Burn ``amount`` LP for its PT and SY, redeem that PT (with as many of the account's YT before
        expiry, alone after) and turn the SY back into sAID. PT the account held before is left alone, and
        so is PT it has no YT for. ``min_said_out`` refuses less sAID, before anything is sent."""
        await self.setup()
        min_out = kwargs.pop("min_said_out", None)
        _no_more(kwargs, "remove_liquidity")
        plan = await self._plan_remove(amount)
        if min_out is not None and plan["said"] < to_units(min_out, AID_DECIMALS, what="min_said_out"):
            raise GaibValueError(
                f"removing {amount} LP gives {from_units(plan['said'], AID_DECIMALS)} sAID now, "
                f"less than min_said_out {min_out}"
            )
        gaib, market = self.gaib, self.market
        lp = to_units(amount, AID_DECIMALS, what="LP to remove")
        sy_before = await self._balance(self.sy)
        await gaib.send(market.functions.transfer(market.address, lp), what="LP to the Pendle market")
        await gaib.send(market.functions.burn(gaib.address, gaib.address, lp), what="Pendle market burn")
        if plan["pt_redeemed"]:
            await self._redeem_py_units(plan["pt_redeemed"])
        await self._unwrap(await self._balance(self.sy) - sy_before)
        return await self.positions()

    async def positions(self, account: str | None = None) -> list[VenuePosition]:
        """The account's PT (side ``principal``), YT (``yield``) and LP (``liquidity``), with the expiry, the
        market's implied APY, and for LP the PT and SY it stands for."""
        await self.setup()
        who = account or self.gaib.address
        expiry = int(self.state["expiry"])
        details = {"expiry": str(expiry), "implied_apy": f"{await self.implied_apy():.6f}"}
        out = []
        pt, yt, lp = (
            await self._balance(self.pt, who),
            await self._balance(self.yt, who),
            await self._balance(self.market, who),
        )
        if pt:
            out.append(self._position(who, "principal", "PT-sAID", pt, details))
        if yt:
            interest = await self._interest(who, yt)
            out.append(
                self._position(
                    who,
                    "yield",
                    "YT-sAID",
                    yt,
                    {**details, "interest_sy": str(from_units(interest, AID_DECIMALS))},
                )
            )
        if lp:
            total_pt, total_sy, total_lp = await self._market_totals()
            out.append(
                self._position(
                    who,
                    "liquidity",
                    "LP-sAID",
                    lp,
                    {
                        **details,
                        "pt": str(from_units(lp * total_pt // total_lp, AID_DECIMALS)),
                        "sy": str(from_units(lp * total_sy // total_lp, AID_DECIMALS)),
                    },
                )
            )
        return out

    async def _interest(self, who: str, yt: int) -> int:
        """The SY that the YT of ``who`` has earned and not collected, before Pendle's interest fee: what the
        YT recorded at its last update, and, before expiry, what it earned since (Pendle's own formula)."""
        prev, accrued = (int(x) for x in await self.yt.functions.userInterest(who).call())
        if prev and not await self._expired():
            current = await self._index()
            if current > prev:
                accrued += yt * (current - prev) * WAD // (prev * current)
        return accrued

    def _position(self, who: str, side: Any, asset: str, units: int, details: dict[str, str]) -> VenuePosition:
        return VenuePosition(
            venue=self.name,
            market=self.state["market"],
            account=who,
            side=side,
            asset=asset,
            amount=from_units(units, AID_DECIMALS),
            details=details,
        )

    # ---- Pendle's own calls ----

    async def implied_apy(self) -> Decimal:
        """The market's implied APY of PT (the fixed yield a PT buyer locks in), from its last trade."""
        await self.setup()
        storage = await self.market.functions._storage().call()
        return Decimal(math.expm1(int(storage[2]) / WAD))

    async def mint_py(self, said: Decimal) -> dict[str, Decimal]:
        """Wrap ``said`` sAID as SY and split it into PT + YT (as many of each: sAID's value in AID)."""
        await self.setup()
        await self._not_expired("mint PT and YT")
        gaib, p, yt = self.gaib, self.gaib.protocol, self.yt
        units = to_units(said, AID_DECIMALS, what="sAID to split")
        if units == 0:
            raise GaibValueError("split more than 0 sAID")
        await gaib.require_balance(p.said, units, "sAID", "mint Pendle PT and YT")
        before = await self._balance(self.pt)
        await gaib.approve(p.said, self.sy.address, units)
        await gaib.send(self.sy.functions.deposit(yt.address, p.said.address, units, units), what="Pendle SY deposit")
        await gaib.send(yt.functions.mintPY(gaib.address, gaib.address), what="Pendle mintPY")
        minted = from_units(await self._balance(self.pt) - before, AID_DECIMALS)
        return {"pt": minted, "yt": minted}

    async def redeem_py(self, amount: Decimal) -> Decimal:
        """Redeem ``amount`` PT for sAID: before expiry with as many YT, after expiry PT alone. Returns
        the sAID received (the SY pays out sAID only: see the docs)."""
        await self.setup()
        units = to_units(amount, AID_DECIMALS, what="PT to redeem")
        if units == 0:
            raise GaibValueError("redeem more than 0 PT")
        pt = await self._balance(self.pt)
        if units > pt:
            raise GaibValueError(
                f"account {self.gaib.address} holds {from_units(pt, AID_DECIMALS)} PT, less than {amount}"
            )
        if not await self._expired():
            yt = await self._balance(self.yt)
            if units > yt:
                raise GaibValueError(
                    f"before expiry PT is redeemed with as many YT: account holds {from_units(yt, AID_DECIMALS)} YT, "
                    f"less than {amount}; sell PT with swap_pt_for_sy(), or wait for expiry"
                )
        sy_before = await self._balance(self.sy)
        await self._redeem_py_units(units)
        return await self._unwrap(await self._balance(self.sy) - sy_before)

    async def _redeem_py_units(self, units: int) -> None:
        gaib, yt = self.gaib, self.yt
        await gaib.send(self.pt.functions.transfer(yt.address, units), what="PT to YT")
        if not await self._expired():
            await gaib.send(yt.functions.transfer(yt.address, units), what="YT to YT")
        await gaib.send(yt.functions.redeemPY(gaib.address), what="Pendle redeemPY")

    async def _unwrap(self, sy: int) -> Decimal:
        """Redeem ``sy`` SY of the account into sAID (one for one); the sAID received."""
        if sy > 0:
            said = self.gaib.protocol.said.address
            await self.gaib.send(
                self.sy.functions.redeem(self.gaib.address, sy, said, sy, False), what="Pendle SY redeem"
            )
        return from_units(max(sy, 0), AID_DECIMALS)

    async def claim_yield(self) -> Decimal:
        """Collect the YT's accrued yield (paid by Pendle in SY) as sAID; the sAID received."""
        await self.setup()
        sy_before = await self._balance(self.sy)
        await self.gaib.send(
            self.yt.functions.redeemDueInterestAndRewards(self.gaib.address, True, False), what="Pendle YT interest"
        )
        return await self._unwrap(await self._balance(self.sy) - sy_before)

    async def _swap_quote(self, function: str, units: int) -> tuple[int, int]:
        """(PT to the account, SY to the account) of a swap now, from the swapper's reverting quote."""
        call = getattr(self.swapper.functions, function)(self.state["market"], units)
        try:
            await call.call({"from": self.gaib.address})
        except Exception as exc:
            data = revert_data(exc)
            if data is not None and data[:4] == QUOTE_SELECTOR:
                pt, sy = abi_decode(["int256", "int256"], data[4:])
                return int(pt), int(sy)
            if data is None:  # not a revert: the node could not be asked
                raise ChainError(f"quoting a Pendle swap failed: {exc}", chain_id=self.gaib.chain.chain_id) from exc
            decoded = decode_revert(data)
            reason = f"{decoded[0]}{decoded[1]}" if decoded else str(exc)
            raise GaibValueError(f"the Pendle market refuses this swap: {reason}") from exc
        raise GaibConfigError("the swapper's quote did not revert with a quote")  # pragma: no cover

    async def swap_pt_for_sy(self, pt: Decimal, *, min_sy_out: Decimal | None = None, unwrap: bool = True) -> Decimal:
        """Sell ``pt`` PT to the market (the fixed-yield holder's exit before expiry). ``min_sy_out``
        defaults to the quote less the venue's slippage and is enforced in the swap's own transaction.
        The SY received is redeemed into sAID unless ``unwrap=False``. Returns the SY (= sAID) received."""
        await self.setup()
        await self._not_expired("swap PT")
        units = to_units(pt, AID_DECIMALS, what="PT to sell")
        if units == 0:
            raise GaibValueError("sell more than 0 PT")
        gaib = self.gaib
        await gaib.require_balance(self.pt, units, "PT", "sell PT on the Pendle market")
        _, quoted = await self._swap_quote("quoteExactPtForSy", units)
        floor = (
            to_units(min_sy_out, AID_DECIMALS, what="min_sy_out")
            if min_sy_out is not None
            else int(quoted * (1 - self.options.slippage))
        )
        if quoted < floor:
            raise GaibValueError(
                f"selling {pt} PT gives {from_units(quoted, AID_DECIMALS)} SY now, less than min_sy_out "
                f"{from_units(floor, AID_DECIMALS)}"
            )
        sy_before = await self._balance(self.sy)
        await gaib.approve(self.pt, self.swapper.address, units)
        await gaib.send(
            self.swapper.functions.swapExactPtForSy(self.state["market"], units, floor, gaib.address),
            what="Pendle swap PT for SY",
        )
        got = await self._balance(self.sy) - sy_before
        if unwrap:
            await self._unwrap(got)
        return from_units(got, AID_DECIMALS)

    async def swap_sy_for_pt(self, pt: Decimal, *, max_sy_in: Decimal | None = None, from_said: bool = True) -> Decimal:
        """Buy exactly ``pt`` PT from the market (lock in the market's fixed yield). ``max_sy_in`` defaults
        to the quote plus the venue's slippage and is enforced in the swap's own transaction. The SY is
        wrapped from the account's sAID first unless ``from_said=False``. Returns the SY paid."""
        await self.setup()
        await self._not_expired("swap SY for PT")
        units = to_units(pt, AID_DECIMALS, what="PT to buy")
        if units == 0:
            raise GaibValueError("buy more than 0 PT")
        gaib, p = self.gaib, self.gaib.protocol
        _, owed = await self._swap_quote("quoteSyForExactPt", units)
        quoted = -owed
        cap = (
            to_units(max_sy_in, AID_DECIMALS, what="max_sy_in")
            if max_sy_in is not None
            else -(-quoted * (1 + self.options.slippage) // 1)
        )
        cap = int(cap)
        if quoted > cap:
            raise GaibValueError(
                f"buying {pt} PT costs {from_units(quoted, AID_DECIMALS)} SY now, more than max_sy_in "
                f"{from_units(cap, AID_DECIMALS)}"
            )
        sy_before = await self._balance(self.sy)
        if from_said:
            await gaib.require_balance(p.said, cap, "sAID", "buy PT on the Pendle market")
            await gaib.approve(p.said, self.sy.address, cap)
            await gaib.send(self.sy.functions.deposit(gaib.address, p.said.address, cap, cap), what="Pendle SY deposit")
        else:
            await gaib.require_balance(self.sy, cap, "SY", "buy PT on the Pendle market")
        await gaib.approve(self.sy, self.swapper.address, cap)
        before = await self._balance(self.sy)
        await gaib.send(
            self.swapper.functions.swapSyForExactPt(self.state["market"], units, cap, gaib.address),
            what="Pendle swap SY for PT",
        )
        paid = before - await self._balance(self.sy)
        if from_said:
            await self._unwrap(await self._balance(self.sy) - sy_before)
        return from_units(paid, AID_DECIMALS)


def _anchor(apy: Decimal, to_expiry: int) -> int:
    """Pendle's initial anchor for a first implied APY: the PT exchange rate (asset per PT) at which a market
    of as much PT as asset value implies ``apy`` over the ``to_expiry`` seconds left, at least 1."""
    return max(WAD, int(Decimal(math.exp(math.log1p(float(apy)) * to_expiry / YEAR)) * WAD))


def _link(artifact: dict[str, Any], library: str) -> str:
    """The artifact's bytecode with every library placeholder replaced by ``library``'s address."""
    raw = artifact["bytecode"].removeprefix("0x")
    code = bytearray()
    i = 0
    while i < len(raw):
        if raw[i : i + 2] == "__":
            code += b"\x00" * 20
            i += 40
        else:
            code.append(int(raw[i : i + 2], 16))
            i += 2
    address = bytes.fromhex(library.removeprefix("0x"))
    for refs in artifact.get("linkReferences", {}).values():
        for places in refs.values():
            for place in places:
                code[place["start"] : place["start"] + place["length"]] = address
    return "0x" + code.hex()


def _no_more(kwargs: dict[str, Any], call: str) -> None:
    if kwargs:
        raise GaibValueError(f"Pendle {call} got unknown options {sorted(kwargs)}")
