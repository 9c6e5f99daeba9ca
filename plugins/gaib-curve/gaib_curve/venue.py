"""The Curve venue: the AID/USDC StableSwap-NG plain pool, the exit for holders who are not whitelisted.

The adapter speaks Curve's StableSwap-NG ABI exactly as the npm package @curvefi/api ships it (vendored in
``gaib_curve/abis``). On a real chain give the pool's address, or a StableSwap-NG factory's (the AID/USDC pool
it lists is used, or one is created through ``deploy_plain_pool``). On a development chain (the embedded EVM,
anvil) with neither, :meth:`CurveVenue.setup` deploys the project's **test stand-in** factory (our own
StableSwap in Solidity, not Curve's code: Curve's pool code is in no package we can build) and creates the
pool through it, with the same call a real factory takes.

Amounts: AID has 18 decimals, USDC 6, the pool's LP token 18. Deposits are priced in USD with each coin at par.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from web3.exceptions import ContractLogicError

from gaib_curve.artifact import STANDIN_FACTORY, default_standin_dir, factory_abi, pool_abi
from gaib_sdk import (
    AdapterOptions,
    GaibConfigError,
    GaibValueError,
    Receipt,
    Venue,
    VenuePosition,
    VenueQuote,
)
from gaib_sdk.chain import load_artifact_file, read_ahead
from gaib_sdk.client import AID_DECIMALS, USDC_DECIMALS, from_units, to_units

ZERO = "0x0000000000000000000000000000000000000000"
LP_DECIMALS = 18
FEE_DENOMINATOR = 10**10
WAD = 10**18
_TRANSFER = keccak(text="Transfer(address,address,uint256)")
Coin = Literal["AID", "USDC"]


class CurveOptions(AdapterOptions):
    pool: str | None = Field(default=None, description="an existing AID/USDC StableSwap-NG pool to use")
    factory: str | None = Field(
        default=None, description="a StableSwap-NG factory: its AID/USDC pool is used, or created through it"
    )
    amplification: int = Field(default=200, ge=1, le=1_000_000, description="A of a pool set-up creates")
    fee: Decimal = Field(default=Decimal("0.0004"), gt=0, le=Decimal("0.01"), description="swap fee, 0.0004 = 0.04%")
    offpeg_fee_multiplier: Decimal = Field(
        default=Decimal(2), ge=1, description="NG's dynamic fee: up to this multiple of the fee off peg"
    )
    ma_exp_time: int = Field(default=866, ge=1, description="NG's price-oracle EMA time, in seconds")
    name: str = Field(default="Curve AID/USDC", max_length=32)
    symbol: str = Field(default="AIDUSDC", max_length=10)
    slippage: Decimal = Field(default=Decimal("0.005"), ge=0, lt=1, description="tolerance under a quote, 0.005 = 0.5%")
    artifacts: Path | None = Field(default=None, description="folder of the built test stand-in (dev chains)")


class _Args(BaseModel):
    """The keyword arguments of quote / add_liquidity / remove_liquidity / exchange: unknown ones are refused."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["add_liquidity", "remove_liquidity", "swap"] = "add_liquidity"
    coin: Coin | None = None
    aid: Decimal | None = Field(default=None, ge=0)
    usdc: Decimal | None = Field(default=None, ge=0)
    sell: Coin = "AID"
    slippage: Decimal | None = Field(default=None, ge=0, lt=1)
    minimum: Decimal | None = Field(default=None, ge=0)


def _args(kwargs: dict[str, Any], doing: str, allowed: set[str]) -> _Args:
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise GaibValueError(f"Curve {doing} takes {', '.join(sorted(allowed)) or 'no options'}; not {unknown}")
    if isinstance(kwargs.get("coin"), str):
        kwargs = {**kwargs, "coin": kwargs["coin"].upper()}
    if isinstance(kwargs.get("sell"), str):
        kwargs = {**kwargs, "sell": kwargs["sell"].upper()}
    try:
        return _Args.model_validate(kwargs)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise GaibValueError(f"Curve {doing} option {'.'.join(str(p) for p in err['loc'])!r}: {err['msg']}") from exc


def _less(units: int, fraction: Decimal) -> int:
    """``units`` less ``fraction`` of it, rounded down (a minimum to accept)."""
    return units * int((1 - fraction) * WAD) // WAD


def _more(units: int, fraction: Decimal) -> int:
    """``units`` plus ``fraction`` of it, rounded up (a maximum to give)."""
    return -(-units * int((1 + fraction) * WAD) // WAD)


@dataclass(frozen=True)
class _Plan:
    """A call worked out from the chain's state and the caller's arguments, before anything is sent."""

    amounts: dict[str, int]  # coin -> base units in or out
    lp: int  # LP tokens minted (deposit) or burnt (withdrawal); for an imbalanced withdrawal, the estimate
    limit: int  # min LP to mint, min coin out, or max LP to burn (balanced withdrawal: unused)
    kind: str  # balanced, imbalanced, one_coin


class CurveVenue(Venue):
    """The AID/USDC Curve StableSwap-NG pool. Beside the four common calls: :meth:`exchange`,
    :meth:`virtual_price` and :meth:`pool_state`."""

    name = "curve"
    options_model = CurveOptions
    options: CurveOptions

    # ---- set-up ----

    async def setup(self) -> dict[str, str]:
        state, opts = self.state, self.options
        if state.get("pool") and (opts.pool is None or opts.pool.lower() == str(state["pool"]).lower()):
            return self._addresses()
        gaib, chain = self.gaib, self.gaib.chain
        p = gaib.protocol
        update: dict[str, Any] = {"factory": None, "standin": False}
        if opts.pool is not None:
            pool_address = opts.pool
        else:
            if opts.factory is not None:
                factory_address = opts.factory
            elif chain.is_dev:
                await self.require_admin()
                factory_address = await self._deploy_standin_factory()
                update["standin"] = True
            else:
                raise GaibConfigError(
                    f"give the AID/USDC pool's address, or a StableSwap-NG factory's, on chain {chain.chain_id} "
                    "(CurveOptions.pool or .factory): the test stand-in is deployed on development chains only",
                    chain_id=chain.chain_id,
                )
            if not await chain.has_code(factory_address):
                raise GaibConfigError(f"no contract at the Curve factory address {factory_address}")
            update["factory"] = chain.w3.to_checksum_address(factory_address)
            factory = chain.contract(factory_address, factory_abi())
            found = await factory.functions.find_pool_for_coins(p.aid.address, p.usdc.address).call()
            if found != ZERO:
                pool_address = found
            else:
                await self.require_admin()
                pool_address, update["pool_tx"] = await self._create_pool(factory)
        update.update(await self._check_pool(pool_address))
        state.clear()
        state.update(update)
        self.save_state()
        return self._addresses()

    async def _deploy_standin_factory(self) -> str:
        folder = self.options.artifacts or default_standin_dir()
        path = Path(folder) / f"{STANDIN_FACTORY}.json"
        if not path.exists():
            raise GaibConfigError(
                f"the Curve test stand-in is not built ({path} is missing): run `python -m gaib_curve.build` "
                "after `npm ci` (make setup does both)"
            )
        gaib = self.gaib
        deployed = await gaib.chain.deploy(load_artifact_file(path), [gaib.address, gaib.address], gaib.account)
        assert deployed.contract_address is not None
        return deployed.contract_address

    async def _create_pool(self, factory: Any) -> tuple[str, str]:
        """Create the AID/USDC plain pool through ``factory.deploy_plain_pool``; its address is the first
        contract in the receipt that logs a transfer from nobody to itself, as an NG pool does when created."""
        o, p = self.options, self.gaib.protocol
        fee = o.fee * FEE_DENOMINATOR
        offpeg = o.offpeg_fee_multiplier * FEE_DENOMINATOR
        if fee != fee.to_integral_value() or offpeg != offpeg.to_integral_value():
            raise GaibValueError("fee and offpeg_fee_multiplier have at most 10 decimal places (1e10 precision)")
        if fee * offpeg > 5 * 10**9 * FEE_DENOMINATOR:
            raise GaibValueError(
                f"fee {o.fee} x offpeg_fee_multiplier {o.offpeg_fee_multiplier} exceeds NG's 50% maximum fee"
            )
        call = factory.functions.deploy_plain_pool(
            o.name,
            o.symbol,
            [p.aid.address, p.usdc.address],
            o.amplification,
            int(fee),
            int(offpeg),
            o.ma_exp_time,
            0,
            [0, 0],
            [b"\0" * 4, b"\0" * 4],
            [ZERO, ZERO],
        )
        result = await self.gaib.send(call, what="Curve deploy_plain_pool")
        for log in result.logs:
            topics = log["topics"]
            emitter = str(log["address"])
            if (
                len(topics) == 3
                and bytes(topics[0]) == _TRANSFER
                and int.from_bytes(bytes(topics[1]), "big") == 0
                and int.from_bytes(bytes(topics[2]), "big") == int(emitter, 16)
            ):
                return emitter, result.tx_hash
        raise GaibConfigError(
            f"the factory's deploy_plain_pool ({result.tx_hash}) created no pool that this adapter recognises"
        )

    async def _check_pool(self, address: str) -> dict[str, Any]:
        """The pool's coins must be AID and USDC: anything else is refused, naming what it holds."""
        chain, p = self.gaib.chain, self.gaib.protocol
        if not await chain.has_code(address):
            raise GaibConfigError(f"no contract at the Curve pool address {address}")
        pool = chain.contract(address, pool_abi())
        try:
            coins = [await pool.functions.coins(i).call() for i in range(2)]
            n = int(await pool.functions.N_COINS().call())
        except Exception as exc:
            raise GaibConfigError(f"{address} does not answer as a StableSwap-NG pool (coins, N_COINS)") from exc
        expected = {p.aid.address.lower(), p.usdc.address.lower()}
        if n != 2 or {c.lower() for c in coins} != expected:
            raise GaibConfigError(
                f"pool {address} holds {coins} (N_COINS {n}), not AID {p.aid.address} and USDC {p.usdc.address}"
            )
        return {"pool": pool.address, "coins": ["AID" if c.lower() == p.aid.address.lower() else "USDC" for c in coins]}

    def _addresses(self) -> dict[str, str]:
        return {k: v for k, v in self.state.items() if isinstance(v, str)}

    # ---- helpers ----

    def _pool(self) -> Any:
        return self.gaib.chain.contract(self.state["pool"], pool_abi())

    def _index(self, coin: str) -> int:
        return list(self.state["coins"]).index(coin)

    def _token(self, coin: str) -> Any:
        return self.gaib.protocol.aid if coin == "AID" else self.gaib.protocol.usdc

    @staticmethod
    def _decimals(coin: str) -> int:
        return AID_DECIMALS if coin == "AID" else USDC_DECIMALS

    def _vector(self, amounts: dict[str, int]) -> list[int]:
        """Amounts per coin in the pool's order of coins."""
        return [amounts.get(c, 0) for c in self.state["coins"]]

    async def _view(self, call: Any, doing: str) -> Any:
        try:
            return await call.call()
        except ContractLogicError as exc:
            raise GaibValueError(f"the Curve pool cannot {doing}: {exc.message or exc}") from exc

    async def _balances(self) -> dict[str, int]:
        pool = self._pool()
        return {c: int(await pool.functions.balances(i).call()) for i, c in enumerate(self.state["coins"])}

    def _slippage(self, args: _Args) -> Decimal:
        return self.options.slippage if args.slippage is None else args.slippage

    # ---- planning (reads only) ----

    async def _plan_add(self, amount: Decimal, args: _Args) -> _Plan:
        if args.coin is not None:
            if args.aid is not None or args.usdc is not None:
                raise GaibValueError("give either coin= (a one-coin deposit) or aid= / usdc= amounts, not both")
            amounts: dict[str, int] = {
                args.coin: to_units(amount, self._decimals(args.coin), what=f"{args.coin} to deposit")
            }
            kind = "one_coin"
        elif args.aid is not None or args.usdc is not None:
            aid = args.aid if args.aid is not None else amount - (args.usdc or Decimal(0))
            usdc = args.usdc if args.usdc is not None else amount - aid
            if aid < 0 or usdc < 0 or aid + usdc != amount:
                raise GaibValueError(
                    f"aid {aid} + usdc {usdc} must add up to the amount {amount} (USD, each coin at par)"
                )
            amounts = {
                "AID": to_units(aid, AID_DECIMALS, what="AID to deposit"),
                "USDC": to_units(usdc, USDC_DECIMALS, what="USDC to deposit"),
            }
            kind = "imbalanced"
        else:
            amounts = await self._balanced_split(amount)
            kind = "balanced"
            held = {c: int(await self._token(c).functions.balanceOf(self.gaib.address).call()) for c in amounts}
            short = [c for c in amounts if held[c] < amounts[c]]
            if len(short) == 1:
                # As balanced as the account's holdings allow: all it has of the short coin, the rest in the other.
                low, high = short[0], "USDC" if short[0] == "AID" else "AID"
                scale = 10 ** (AID_DECIMALS - USDC_DECIMALS)
                missing = amounts[low] - held[low]
                amounts[low] = held[low]
                amounts[high] += missing * scale if high == "AID" else -(-missing // scale)
                kind = "as_held"
        if not any(amounts.values()):
            raise GaibValueError(f"a deposit of {amount} USD rounds to nothing")
        pool = self._pool()
        if int(await pool.functions.totalSupply().call()) == 0 and not all(amounts.get(c) for c in ("AID", "USDC")):
            raise GaibValueError(
                "the pool is empty: its first deposit must hold both AID and USDC (this one is "
                + ", ".join(f"{from_units(u, self._decimals(c))} {c}" for c, u in amounts.items())
                + "); deposit both, e.g. aid= and usdc="
            )
        lp = int(await self._view(pool.functions.calc_token_amount(self._vector(amounts), True), "take that deposit"))
        if lp == 0:
            raise GaibValueError(f"a deposit of {amount} USD would mint no LP tokens")
        minimum = self._minimum(args, LP_DECIMALS, "LP tokens", lp)
        return _Plan(amounts, lp, minimum, kind)

    def _minimum(self, args: _Args, decimals: int, unit: str, quoted: int) -> int:
        """The least the transaction accepts: ``minimum=`` if given (refused above the quote: it would revert),
        else the quote less the slippage tolerance."""
        if args.minimum is None:
            return _less(quoted, self._slippage(args))
        minimum = to_units(args.minimum, decimals, what="minimum")
        if minimum > quoted:
            raise GaibValueError(
                f"minimum {args.minimum} {unit} is more than the {from_units(quoted, decimals)} the pool gives now: "
                "the transaction would revert; lower it (or leave it out to use the slippage tolerance)"
            )
        return minimum

    async def _balanced_split(self, amount: Decimal) -> dict[str, int]:
        """``amount`` USD split between AID and USDC in the pool's proportions (half each in an empty pool)."""
        total = to_units(amount, AID_DECIMALS, what="amount (USD)")
        bal = await self._balances()
        aid_usd, usdc_usd = bal["AID"], bal["USDC"] * 10 ** (AID_DECIMALS - USDC_DECIMALS)  # both at 18 decimals
        whole = aid_usd + usdc_usd
        usdc18 = total // 2 if whole == 0 else total * usdc_usd // whole
        usdc = usdc18 // 10 ** (AID_DECIMALS - USDC_DECIMALS)
        return {"AID": total - usdc * 10 ** (AID_DECIMALS - USDC_DECIMALS), "USDC": usdc}

    async def _plan_remove(self, amount: Decimal, args: _Args) -> _Plan:
        pool = self._pool()
        lp = to_units(amount, LP_DECIMALS, what="LP tokens")
        supply = int(await pool.functions.totalSupply().call())
        if lp == 0:
            raise GaibValueError("remove at least some LP tokens: the amount must be more than 0")
        if lp > supply:
            raise GaibValueError(f"{amount} LP tokens is more than the pool's supply {from_units(supply, LP_DECIMALS)}")
        if args.coin is not None:
            if args.aid is not None or args.usdc is not None:
                raise GaibValueError("give either coin= (a one-coin withdrawal) or aid= / usdc= amounts, not both")
            out = int(
                await self._view(
                    pool.functions.calc_withdraw_one_coin(lp, self._index(args.coin)), f"pay {amount} LP in {args.coin}"
                )
            )
            minimum = self._minimum(args, self._decimals(args.coin), args.coin, out)
            return _Plan({args.coin: out}, lp, minimum, "one_coin")
        if args.aid is not None or args.usdc is not None:
            amounts = {
                "AID": to_units(args.aid or 0, AID_DECIMALS, what="AID to withdraw"),
                "USDC": to_units(args.usdc or 0, USDC_DECIMALS, what="USDC to withdraw"),
            }
            bal = await self._balances()
            for coin, units in amounts.items():
                if units > bal[coin]:
                    raise GaibValueError(
                        f"the pool holds {from_units(bal[coin], self._decimals(coin))} {coin}, "
                        f"less than the {from_units(units, self._decimals(coin))} asked"
                    )
            # remove_liquidity_imbalance burns one unit more than calc_token_amount says (rounding for the pool)
            burn = 1 + int(
                await self._view(pool.functions.calc_token_amount(self._vector(amounts), False), "pay those amounts")
            )
            limit = min(lp, _more(burn, self._slippage(args)))
            if burn > lp:
                raise GaibValueError(
                    f"withdrawing {args.aid or 0} AID and {args.usdc or 0} USDC burns about "
                    f"{from_units(burn, LP_DECIMALS)} LP tokens, more than the {amount} allowed: raise the amount"
                )
            return _Plan(amounts, burn, limit, "imbalanced")
        bal = await self._balances()
        amounts = {coin: units * lp // supply for coin, units in bal.items()}
        return _Plan(amounts, lp, 0, "balanced")  # the minimum of each coin is set when sending

    async def _plan_swap(self, amount: Decimal, args: _Args) -> _Plan:
        sell = args.sell
        buy = "USDC" if sell == "AID" else "AID"
        dx = to_units(amount, self._decimals(sell), what=f"{sell} to sell")
        if dx == 0:
            raise GaibValueError(f"sell more than 0 {sell}")
        pool = self._pool()
        dy = int(
            await self._view(pool.functions.get_dy(self._index(sell), self._index(buy), dx), f"sell {amount} {sell}")
        )
        if dy == 0:
            raise GaibValueError(f"selling {amount} {sell} would buy no {buy}")
        minimum = self._minimum(args, self._decimals(buy), buy, dy)
        return _Plan({sell: dx, buy: dy}, 0, minimum, "swap")

    # ---- the four common calls ----

    async def quote(self, amount: Decimal, **kwargs: Any) -> VenueQuote:
        """What a call would give now, read with calc_token_amount / calc_withdraw_one_coin / get_dy. Takes the
        call's own keyword arguments and ``action``: ``"add_liquidity"`` (default), ``"remove_liquidity"`` or
        ``"swap"`` (an :meth:`exchange`)."""
        await self.setup()
        args = _args(kwargs, "quote", {"action", "coin", "aid", "usdc", "sell", "slippage", "minimum"})
        liquidity_only = sorted(k for k in ("coin", "aid", "usdc") if k in kwargs)
        if args.action == "swap" and liquidity_only:
            raise GaibValueError(f"a swap quote takes sell=, not {liquidity_only}")
        if args.action != "swap" and "sell" in kwargs:
            raise GaibValueError(f"sell= is for action='swap', not {args.action!r}")
        details = {"pool": str(self.state["pool"]), "slippage": str(self._slippage(args))}
        if args.action == "swap":
            plan = await self._plan_swap(amount, args)
            buy = "USDC" if args.sell == "AID" else "AID"
            out = from_units(plan.amounts[buy], self._decimals(buy))
            details["price"] = str(out / amount)
            return VenueQuote(
                venue=self.name,
                action="swap",
                amount_in=amount,
                asset_in=args.sell,
                amount_out=out,
                asset_out=buy,
                minimum_out=from_units(plan.limit, self._decimals(buy)),
                details=details,
            )
        vp = await self._virtual_price_units()
        if args.action == "add_liquidity":
            plan = await self._plan_add(amount, args)
            details.update({c: str(from_units(u, self._decimals(c))) for c, u in plan.amounts.items()})
            value = from_units(plan.lp * vp // WAD, LP_DECIMALS)
            details.update(kind=plan.kind, value_usd=str(value), bonus_usd=str(value - amount))
            return VenueQuote(
                venue=self.name,
                action="add_liquidity",
                amount_in=amount,
                asset_in=args.coin or "AID+USDC",
                amount_out=from_units(plan.lp, LP_DECIMALS),
                asset_out="LP",
                minimum_out=from_units(plan.limit, LP_DECIMALS),
                details=details,
            )
        plan = await self._plan_remove(amount, args)
        coins = {c: from_units(u, self._decimals(c)) for c, u in plan.amounts.items()}
        details.update({c: str(v) for c, v in coins.items()})
        details.update(kind=plan.kind, lp_burnt=str(from_units(plan.lp, LP_DECIMALS)))
        out = sum(coins.values(), Decimal(0))
        if plan.kind == "one_coin":
            minimum = from_units(plan.limit, self._decimals(args.coin or "USDC"))
        elif plan.kind == "imbalanced":
            minimum = out
            details["max_lp_burnt"] = str(from_units(plan.limit, LP_DECIMALS))
        else:
            slip = self._slippage(args)
            minimum = sum((from_units(_less(u, slip), self._decimals(c)) for c, u in plan.amounts.items()), Decimal(0))
        return VenueQuote(
            venue=self.name,
            action="remove_liquidity",
            amount_in=from_units(plan.lp, LP_DECIMALS),
            asset_in="LP",
            amount_out=out,
            asset_out=args.coin or "AID+USDC",
            minimum_out=minimum,
            details=details,
        )

    @read_ahead
    async def add_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Deposit ``amount`` USD into the pool. With no options, split between AID and USDC in the pool's
        proportions (no imbalance fee), or as near as the account's holdings allow (an account holding one
        coin deposits that coin); ``aid=`` / ``usdc=`` give the split (they add up to ``amount``);
        ``coin="AID"`` or ``"USDC"`` deposits ``amount`` of that coin alone. ``slippage=`` (default the
        venue's 0.5%) or ``minimum=`` bound the LP tokens accepted."""
        await self.setup()
        args = _args(kwargs, "add_liquidity", {"coin", "aid", "usdc", "slippage", "minimum"})
        gaib, pool = self.gaib, self._pool()
        reads = [pool.functions.balances(i) for i in range(len(self.state["coins"]))] + [pool.functions.totalSupply()]
        for coin in self.state["coins"]:
            reads += gaib.balance_reads(self._token(coin), pool)
        await gaib.chain.prefetch(reads)  # the plan's and the checks' reads, in one call
        plan = await self._plan_add(amount, args)
        for coin, units in plan.amounts.items():
            if units:
                await gaib.require_balance(self._token(coin), units, coin, "deposit into the Curve pool")
        for coin, units in plan.amounts.items():
            if units:
                await gaib.approve(self._token(coin), pool.address, units)
        await gaib.send(
            pool.functions.add_liquidity(self._vector(plan.amounts), plan.limit), what="Curve add_liquidity"
        )
        return await self.positions()

    @read_ahead
    async def remove_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Burn ``amount`` LP tokens for both coins in the pool's proportions; with ``coin=`` for that coin
        alone; with ``aid=`` / ``usdc=`` for exactly those amounts, burning at most ``amount`` LP tokens.
        ``slippage=`` or ``minimum=`` (one coin) bound what is accepted."""
        await self.setup()
        args = _args(kwargs, "remove_liquidity", {"coin", "aid", "usdc", "slippage", "minimum"})
        if args.minimum is not None and args.coin is None:
            raise GaibValueError("minimum= applies to a one-coin withdrawal (coin=); use slippage= otherwise")
        plan = await self._plan_remove(amount, args)
        gaib, pool = self.gaib, self._pool()
        await gaib.require_balance(pool, plan.lp, "LP", "withdraw from the Curve pool")
        if plan.kind == "one_coin":
            assert args.coin is not None
            call = pool.functions.remove_liquidity_one_coin(plan.lp, self._index(args.coin), plan.limit)
        elif plan.kind == "imbalanced":
            held = int(await pool.functions.balanceOf(gaib.address).call())
            call = pool.functions.remove_liquidity_imbalance(self._vector(plan.amounts), min(plan.limit, held))
        else:
            slip = self._slippage(args)
            minimums = {c: _less(u, slip) for c, u in plan.amounts.items()}
            call = pool.functions.remove_liquidity(plan.lp, self._vector(minimums))
        await gaib.send(call, what=f"Curve remove_liquidity ({plan.kind})")
        return await self.positions()

    @read_ahead
    async def positions(self, account: str | None = None) -> list[VenuePosition]:
        """The pool's LP tokens ``account`` holds, with their share of each coin and their USD value at the
        virtual price (details: AID, USDC, value_usd, share_of_pool, virtual_price)."""
        await self.setup()
        who = account or self.gaib.address
        pool = self._pool()
        f = pool.functions
        reads = [f.balanceOf(who), f.totalSupply(), f.get_virtual_price(), f.symbol()]
        await self.gaib.chain.prefetch(reads + [f.balances(i) for i in range(len(self.state["coins"]))])
        lp = int(await pool.functions.balanceOf(who).call())
        if lp == 0:
            return []
        supply = int(await pool.functions.totalSupply().call())
        vp = await self._virtual_price_units()
        details = {c: str(from_units(u * lp // supply, self._decimals(c))) for c, u in (await self._balances()).items()}
        details.update(
            value_usd=str(from_units(lp * vp // WAD, LP_DECIMALS)),
            share_of_pool=str(Decimal(lp) / Decimal(supply)),
            virtual_price=str(from_units(vp, 18)),
        )
        return [
            VenuePosition(
                venue=self.name,
                market=str(pool.address),
                account=who,
                side="liquidity",
                asset=str(await pool.functions.symbol().call()),
                amount=from_units(lp, LP_DECIMALS),
                details=details,
            )
        ]

    # ---- Curve's own calls ----

    async def exchange(self, amount: Decimal | int | str, **kwargs: Any) -> Receipt:
        """Sell ``amount`` of ``sell`` (``"AID"``, the default, or ``"USDC"``) for the other coin: the exit of a
        holder who is not whitelisted to redeem AID. The least accepted (``min_dy``) is the get_dy quote less
        ``slippage=`` (default 0.5%), or ``minimum=``. Returns what was bought."""
        await self.setup()
        args = _args(kwargs, "exchange", {"sell", "slippage", "minimum"})
        try:
            value = Decimal(str(amount))
        except ArithmeticError as exc:
            raise GaibValueError(f"amount {amount!r} is not a number") from exc
        plan = await self._plan_swap(value, args)
        sell = args.sell
        buy = "USDC" if sell == "AID" else "AID"
        gaib, pool = self.gaib, self._pool()
        await gaib.require_balance(self._token(sell), plan.amounts[sell], sell, "sell on the Curve pool")
        hashes = await gaib.approve(self._token(sell), pool.address, plan.amounts[sell])
        before = int(await self._token(buy).functions.balanceOf(gaib.address).call())
        result = await gaib.send(
            pool.functions.exchange(self._index(sell), self._index(buy), plan.amounts[sell], plan.limit),
            what=f"Curve exchange {sell} for {buy}",
        )
        after = int(await self._token(buy).functions.balanceOf(gaib.address).call())
        return Receipt(
            f"sell {sell} for {buy}", from_units(after - before, self._decimals(buy)), [*hashes, result.tx_hash]
        )

    async def _virtual_price_units(self) -> int:
        pool = self._pool()
        if int(await pool.functions.totalSupply().call()) == 0:
            return WAD
        return int(await pool.functions.get_virtual_price().call())

    async def virtual_price(self) -> Decimal:
        """The USD value of one LP token at par (D / supply): 1 at the first deposit, rising with fees."""
        await self.setup()
        return from_units(await self._virtual_price_units(), 18)

    async def pool_state(self) -> dict[str, Any]:
        """The pool's address, coins, balances, A, fee, LP supply and virtual price, read from the chain."""
        await self.setup()
        pool = self._pool()
        return {
            "pool": str(pool.address),
            "standin": bool(self.state.get("standin")),
            "coins": list(self.state["coins"]),
            "balances": {c: from_units(u, self._decimals(c)) for c, u in (await self._balances()).items()},
            "A": int(await pool.functions.A().call()),
            "fee": Decimal(int(await pool.functions.fee().call())) / FEE_DENOMINATOR,
            "lp_supply": from_units(int(await pool.functions.totalSupply().call()), LP_DECIMALS),
            "virtual_price": from_units(await self._virtual_price_units(), 18),
        }
