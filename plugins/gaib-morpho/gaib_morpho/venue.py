"""The Morpho Blue venue: a market lending USDC against sAID, priced by the SDK's SAIDOracle.

On a development chain (the embedded EVM, anvil) :meth:`MorphoVenue.setup` deploys the real Morpho Blue,
built at set-up from @morpho-org/morpho-blue (``python -m gaib_morpho.build``), enables the LLTV and
the zero-rate IRM, deploys the oracle and creates the market. On a real chain, give Morpho's address.
What it set up is saved with the deployment (:attr:`Venue.state`), so a later process on the same chain
uses the same market.

Every action is checked against Morpho's own arithmetic (:mod:`gaib_morpho.math`) before anything is sent:
a borrow beyond the LLTV, a collateral withdrawal that would leave the position unhealthy, a withdrawal
beyond the market's free liquidity or a liquidation of a healthy position is refused with a GaibValueError.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Literal

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import Field
from web3.logs import DISCARD

from gaib_morpho import math as m
from gaib_morpho.artifact import default_artifact_path
from gaib_sdk import AdapterOptions, GaibConfigError, GaibValueError, Venue, VenuePosition, VenueQuote
from gaib_sdk.chain import load_artifact, load_artifact_file
from gaib_sdk.client import AID_DECIMALS, USDC_DECIMALS, from_units, to_units

ZERO = "0x0000000000000000000000000000000000000000"
WAD = m.WAD
ORACLE_SCALE = m.ORACLE_PRICE_SCALE
#: USDC per whole sAID is the oracle's price() divided by this (1e36 scale, 6 - 18 decimals).
PRICE_UNIT = 10 ** (36 + USDC_DECIMALS - AID_DECIMALS)
#: The LLTVs Morpho governance has enabled on Ethereum; a market must use one of them.
ENABLED_LLTVS = {Decimal(x) for x in ("0", "0.385", "0.625", "0.77", "0.86", "0.915", "0.945", "0.965", "0.98")}
_MICRO = Decimal("0.000001")

Asset = Literal["USDC", "sAID"]


def _event(name: str, *fields: tuple[str, str, bool]) -> dict[str, Any]:
    inputs = [{"name": n, "type": t, "indexed": i, "internalType": t} for n, t, i in fields]
    return {"type": "event", "name": name, "anonymous": False, "inputs": inputs}


#: Morpho emits its events from a library (EventsLib), so its compiled ABI lists none: the one read back here.
LIQUIDATE_EVENT = _event(
    "Liquidate",
    ("id", "bytes32", True),
    ("caller", "address", True),
    ("borrower", "address", True),
    ("repaidAssets", "uint256", False),
    ("repaidShares", "uint256", False),
    ("seizedAssets", "uint256", False),
    ("badDebtAssets", "uint256", False),
    ("badDebtShares", "uint256", False),
)


class MorphoOptions(AdapterOptions):
    morpho: str | None = Field(default=None, description="Morpho Blue's address; deployed on dev chains if unset")
    irm: str = Field(default=ZERO, description="interest rate model; the zero address is the 0% IRM")
    lltv: Decimal = Field(default=Decimal("0.86"), description="liquidation LTV of the sAID/USDC market")
    oracle: str | None = Field(default=None, description="an existing SAIDOracle; a new one is deployed if unset")
    max_growth: Decimal = Field(
        default=Decimal("0.25"),
        description="the most the oracle lets sAID's price rise per year (0.25 = 25%), for a new oracle",
    )
    artifact: Path | None = Field(default=None, description="Morpho's compiled artifact, for dev-chain deployment")


@dataclass(frozen=True)
class Liquidation:
    """What a liquidation did, read from Morpho's Liquidate event."""

    borrower: str
    repaid_usdc: Decimal
    seized_said: Decimal
    bad_debt_usdc: Decimal
    incentive_factor: Decimal
    tx_hash: str


_PARAMS_COMPONENTS = [
    {"name": n, "type": t}
    for n, t in (("loanToken", "address"), ("collateralToken", "address"), ("oracle", "address"), ("irm", "address"))
] + [{"name": "lltv", "type": "uint256"}]
_MARKET_COMPONENTS = [
    {"name": n, "type": "uint128"}
    for n in ("totalSupplyAssets", "totalSupplyShares", "totalBorrowAssets", "totalBorrowShares", "lastUpdate", "fee")
]
_IRM_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "borrowRateView",
        "stateMutability": "view",
        "inputs": [
            {"name": "marketParams", "type": "tuple", "components": _PARAMS_COMPONENTS},
            {"name": "market", "type": "tuple", "components": _MARKET_COMPONENTS},
        ],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


def _usdc(units: int) -> Decimal:
    return from_units(units, USDC_DECIMALS)


def _said(units: int) -> Decimal:
    return from_units(units, AID_DECIMALS)


class MorphoVenue(Venue):
    """Morpho Blue: lenders supply USDC (``add_liquidity`` with no options), borrowers post sAID as collateral
    (``add_liquidity(amount, asset="sAID")`` or :meth:`supply_collateral`) and borrow USDC against it."""

    name = "morpho"
    options_model = MorphoOptions
    options: MorphoOptions

    def __init__(self, gaib: Any, options: Any = None):
        super().__init__(gaib, options)
        if self.options.lltv not in ENABLED_LLTVS:
            allowed = ", ".join(str(x) for x in sorted(ENABLED_LLTVS))
            raise GaibValueError(f"lltv {self.options.lltv} is not one Morpho enables; use one of {allowed}")
        if not 0 < self.options.max_growth <= 1:
            raise GaibValueError(
                f"max_growth {self.options.max_growth} must be above 0 and at most 1 (100% a year): "
                "it caps how fast the oracle lets sAID's price rise"
            )
        self._checked = False

    # ---- set-up ----

    def _morpho_abi(self) -> list[dict[str, Any]]:
        path = self.options.artifact or default_artifact_path()
        if not Path(path).exists():
            raise GaibConfigError(
                f"Morpho Blue is not built ({path} is missing): run `python -m gaib_morpho.build` "
                "after `npm ci` (make quickstart does both)"
            )
        abi: list[dict[str, Any]] = load_artifact_file(path)["abi"]
        return [*abi, LIQUIDATE_EVENT]

    async def setup(self) -> dict[str, str]:
        state = self.state
        if "market_id" in state:
            await self._check_state()
        if "market_id" in state:
            return self._addresses()
        gaib, chain = self.gaib, self.gaib.chain
        protocol = gaib.protocol
        lltv = int(self.options.lltv * WAD)
        if self.options.morpho is None or self.options.oracle is None:
            await self.require_admin()  # it deploys Morpho Blue or the oracle
        if self.options.morpho is None:
            if not chain.is_dev:
                raise GaibConfigError(f"give Morpho Blue's address on chain {chain.chain_id} (MorphoOptions.morpho)")
            path = self.options.artifact or default_artifact_path()
            self._morpho_abi()
            deployed = await chain.deploy(load_artifact_file(path), [gaib.address], gaib.account)
            assert deployed.contract_address is not None
            morpho = chain.contract(deployed.contract_address, self._morpho_abi())
            await gaib.send(morpho.functions.enableIrm(self.options.irm), what="Morpho enableIrm")
            await gaib.send(morpho.functions.enableLltv(lltv), what="Morpho enableLltv")
        else:
            morpho = chain.contract(self.options.morpho, self._morpho_abi())
            if not await chain.has_code(morpho.address):
                raise GaibConfigError(f"no contract at Morpho address {morpho.address} on chain {chain.chain_id}")
        if self.options.oracle is not None:
            oracle_address: str = to_checksum_address(self.options.oracle)
        else:
            growth = int(self.options.max_growth * WAD)
            args = [protocol.said.address, USDC_DECIMALS, growth]
            oracle = await chain.deploy(load_artifact("SAIDOracle"), args, gaib.account)
            assert oracle.contract_address is not None
            oracle_address = str(oracle.contract_address)
        params = [protocol.usdc.address, protocol.said.address, oracle_address, self.options.irm, lltv]
        market_id = "0x" + keccak(abi_encode(["address", "address", "address", "address", "uint256"], params)).hex()
        market_tx = ""
        if (await morpho.functions.market(market_id).call())[4] == 0:  # lastUpdate: 0 until created
            await self.require_admin()
            created = await gaib.send(morpho.functions.createMarket(tuple(params)), what="Morpho createMarket")
            market_tx = created.tx_hash
        state.clear()
        state.update(
            morpho=morpho.address,
            oracle=oracle_address,
            market_id=market_id,
            market_tx=market_tx,
            params=params,
            lltv=str(self.options.lltv),
        )
        self.save_state()
        self._checked = True
        return self._addresses()

    async def _check_state(self) -> None:
        """Saved state (from another process, through the deployments file) is for the options given, and
        its contracts are still there; a development chain restarted since is set up afresh."""
        state = self.state
        irm = str(state["params"][3])  # not a key of its own: the deployments file checks code at those
        if Decimal(state["lltv"]) != self.options.lltv or irm.lower() != self.options.irm.lower():
            raise GaibConfigError(
                f"the morpho venue on this chain is the market {state['market_id']} (lltv {state['lltv']}, irm "
                f"{irm}), not lltv {self.options.lltv}, irm {self.options.irm}: use its options, or a "
                "deployment of its own"
            )
        if self.options.morpho is not None and state["morpho"].lower() != self.options.morpho.lower():
            raise GaibConfigError(
                f"the morpho venue on this chain uses Morpho Blue at {state['morpho']}, not {self.options.morpho}"
            )
        if self._checked:
            return
        if not await self.gaib.chain.has_code(state["morpho"]):
            if not self.gaib.chain.is_dev:
                raise GaibConfigError(f"no Morpho Blue at {state['morpho']}, where the saved venue state says")
            state.clear()
            return
        self._checked = True

    def _addresses(self) -> dict[str, str]:
        """What setup() returns, the first time and every time after: the addresses, ids and hashes it made."""
        keys = ("morpho", "oracle", "market_id", "market_tx")
        return {k: self.state[k] for k in keys}

    @property
    def params(self) -> tuple[str, str, str, str, int]:
        """The market's parameters (loan token, collateral token, oracle, IRM, LLTV), as Morpho takes them.
        Saved as a JSON list; Morpho's ABI wants a tuple."""
        loan, collateral, oracle, irm, lltv = self.state["params"]
        return (loan, collateral, oracle, irm, int(lltv))

    @property
    def market_id(self) -> str:
        return str(self.state["market_id"])

    def _morpho(self) -> Any:
        return self.gaib.chain.contract(self.state["morpho"], self._morpho_abi())

    def _oracle(self) -> Any:
        return self.gaib.chain.contract(self.state["oracle"], load_artifact("SAIDOracle")["abi"])

    def _with_accrual(self, units: int) -> int:
        """What to approve for a repayment by shares computed from the market's stored totals: with an IRM
        that charges interest, Morpho accrues it in the transaction first, so allow 0.1% more."""
        return units if int(self.params[3], 16) == 0 else units + units // 1000 + 1

    @property
    def _lltv(self) -> int:
        return self.params[4]

    # ---- the common interface ----

    async def quote(self, amount: Decimal, **kwargs: Any) -> VenueQuote:
        """What :meth:`add_liquidity` (or with ``action="remove_liquidity"``, :meth:`remove_liquidity`) with
        ``asset`` (``"USDC"``, the default: lending; ``"sAID"``: collateral) would do now. Refused as the
        action would be."""
        action = kwargs.pop("action", "add_liquidity")
        asset = self._asset(kwargs, "quote")
        await self.setup()
        details: dict[str, str] = {"market": self.market_id}
        if action == "add_liquidity":
            if asset == "USDC":
                units = self._units(amount, "USDC", "supply")
                await self.gaib.require_balance(self.gaib.protocol.usdc, units, "USDC", "supply to Morpho")
                market = await self.market()
                shares = m.to_shares_down(units, market.total_supply_assets, market.total_supply_shares)
                after = m.Market(
                    market.total_supply_assets + units,
                    market.total_supply_shares + shares,
                    market.total_borrow_assets,
                    market.total_borrow_shares,
                    market.last_update,
                    market.fee,
                )
                out = _usdc(after.supplied(shares))
                details.update(supply_shares=str(shares), utilization=_ratio(market.total_borrow_assets, after))
            else:
                units = self._units(amount, "sAID", "post as collateral")
                await self.gaib.require_balance(self.gaib.protocol.said, units, "sAID", "post as Morpho collateral")
                view = await self._view(self.gaib.address)
                added = m.max_borrow(view["collateral"] + units, view["price"], self._lltv) - view["max_borrow"]
                out = amount
                details.update(max_borrow_added_usdc=str(_usdc(added)))
        elif action == "remove_liquidity":
            if asset == "USDC":
                units, _ = await self._plan_withdraw(amount)
            else:
                units = await self._plan_withdraw_collateral(amount)
            out = from_units(units, USDC_DECIMALS if asset == "USDC" else AID_DECIMALS)
        else:
            raise GaibValueError(f"Morpho quotes add_liquidity or remove_liquidity, not {action!r}")
        return VenueQuote(
            venue=self.name,
            action=action,
            amount_in=amount,
            asset_in=asset if action == "add_liquidity" else f"{asset} at Morpho",
            amount_out=out,
            asset_out=f"{asset} at Morpho" if action == "add_liquidity" else asset,
            minimum_out=out,
            details=details,
        )

    async def add_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Supply ``amount`` USDC to the sAID/USDC market as a lender; with ``asset="sAID"``, post ``amount``
        sAID as collateral instead."""
        asset = self._asset(kwargs, "add_liquidity")
        return await (self.supply(amount) if asset == "USDC" else self.supply_collateral(amount))

    async def remove_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Withdraw ``amount`` USDC of supply (all of it by shares, leaving no dust, when ``amount`` is the
        whole position); with ``asset="sAID"``, withdraw collateral."""
        asset = self._asset(kwargs, "remove_liquidity")
        return await (self.withdraw(amount) if asset == "USDC" else self.withdraw_collateral(amount))

    def _asset(self, kwargs: dict[str, Any], doing: str) -> Asset:
        asset = kwargs.pop("asset", "USDC")
        if kwargs:
            raise GaibValueError(f"Morpho {doing} takes only asset='USDC' or 'sAID', got {sorted(kwargs)}")
        if asset not in ("USDC", "sAID"):
            raise GaibValueError(f"Morpho {doing}: asset {asset!r} is neither 'USDC' (lending) nor 'sAID' (collateral)")
        return asset  # type: ignore[no-any-return]

    def _units(self, amount: Decimal, symbol: str, doing: str) -> int:
        decimals = USDC_DECIMALS if symbol == "USDC" else AID_DECIMALS
        units = to_units(amount, decimals, what=f"{symbol} to {doing}")
        if units == 0:
            raise GaibValueError(f"the amount to {doing} must be more than 0 {symbol}")
        return units

    # ---- lending ----

    async def supply(self, usdc: Decimal) -> list[VenuePosition]:
        """Lend ``usdc`` to the market."""
        await self.setup()
        gaib, p = self.gaib, self.gaib.protocol
        units = self._units(usdc, "USDC", "supply")
        await gaib.require_balance(p.usdc, units, "USDC", "supply to Morpho")
        await gaib.approve(p.usdc, self.state["morpho"], units)
        await gaib.send(self._morpho().functions.supply(self.params, units, 0, gaib.address, b""), what="Morpho supply")
        return await self.positions()

    async def _plan_withdraw(self, usdc: Decimal | None) -> tuple[int, int]:
        """(assets, shares) to withdraw: all supply shares when ``usdc`` is None or the whole position."""
        view = await self._view(self.gaib.address)
        if view["supply_shares"] == 0:
            raise GaibValueError(f"account {self.gaib.address} has no USDC supplied to the Morpho market")
        units = view["supplied"] if usdc is None else self._units(usdc, "USDC", "withdraw")
        if units > view["supplied"]:
            raise GaibValueError(f"withdrawing {usdc} USDC is more than the {_usdc(view['supplied'])} USDC supplied")
        if units > view["liquidity"]:
            raise GaibValueError(
                f"the market has {_usdc(view['liquidity'])} USDC free (the rest is lent out), less than the "
                f"{_usdc(units)} USDC to withdraw: withdraw less, or wait for borrowers to repay"
            )
        return units, view["supply_shares"] if units == view["supplied"] else 0

    async def withdraw(self, usdc: Decimal | None = None) -> list[VenuePosition]:
        """Withdraw ``usdc`` of what this account lent; None (or the whole position) withdraws it all by
        shares, so no dust is left."""
        await self.setup()
        units, shares = await self._plan_withdraw(usdc)
        gaib = self.gaib
        assets = 0 if shares else units
        call = self._morpho().functions.withdraw(self.params, assets, shares, gaib.address, gaib.address)
        await gaib.send(call, what="Morpho withdraw")
        return await self.positions()

    # ---- borrowing ----

    async def supply_collateral(self, said: Decimal) -> list[VenuePosition]:
        """Post ``said`` sAID shares as collateral."""
        await self.setup()
        gaib, p = self.gaib, self.gaib.protocol
        units = self._units(said, "sAID", "post as collateral")
        await gaib.require_balance(p.said, units, "sAID", "post as Morpho collateral")
        await gaib.approve(p.said, self.state["morpho"], units)
        await gaib.send(
            self._morpho().functions.supplyCollateral(self.params, units, gaib.address, b""),
            what="Morpho supplyCollateral",
        )
        return await self.positions()

    async def _plan_withdraw_collateral(self, said: Decimal | None) -> int:
        view = await self._view(self.gaib.address)
        units = view["collateral"] if said is None else self._units(said, "sAID", "withdraw from collateral")
        if view["collateral"] == 0:
            raise GaibValueError(f"account {self.gaib.address} has no sAID posted as Morpho collateral")
        if units > view["collateral"]:
            raise GaibValueError(f"withdrawing {said} sAID is more than the {_said(view['collateral'])} sAID posted")
        left = m.max_borrow(view["collateral"] - units, view["price"], self._lltv)
        if view["borrowed"] > left:
            keep = _said_to_cover(view["borrowed"], view["price"], self._lltv)
            free = max(0, view["collateral"] - keep)
            raise GaibValueError(
                f"withdrawing {_said(units)} sAID would leave {_usdc(view['borrowed'])} USDC of debt above the "
                f"{self.options.lltv:.0%} LLTV and open to liquidation: at most {_said(free)} sAID can be "
                "withdrawn; repay first"
            )
        return units

    async def withdraw_collateral(self, said: Decimal | None = None) -> list[VenuePosition]:
        """Take ``said`` sAID of collateral back (all of it when None). Refused before sending if the debt
        left would exceed the LLTV."""
        await self.setup()
        units = await self._plan_withdraw_collateral(said)
        gaib = self.gaib
        call = self._morpho().functions.withdrawCollateral(self.params, units, gaib.address, gaib.address)
        await gaib.send(call, what="Morpho withdrawCollateral")
        return await self.positions()

    async def borrow(self, usdc: Decimal) -> list[VenuePosition]:
        """Borrow ``usdc`` against the sAID posted. Refused before sending if it would exceed the LLTV
        or the market's free liquidity."""
        await self.setup()
        gaib = self.gaib
        units = self._units(usdc, "USDC", "borrow")
        view = await self._view(gaib.address)
        if view["borrowed"] + units > view["max_borrow"]:
            raise GaibValueError(
                f"borrowing {usdc} USDC would exceed the market's {self.options.lltv:.1%} LLTV: at most "
                f"{_usdc(max(0, view['max_borrow'] - view['borrowed']))} more USDC against "
                f"{_said(view['collateral'])} sAID"
            )
        if units > view["liquidity"]:
            raise GaibValueError(f"the market has {_usdc(view['liquidity'])} USDC free to lend, less than {usdc}")
        await gaib.send(
            self._morpho().functions.borrow(self.params, units, 0, gaib.address, gaib.address), what="Morpho borrow"
        )
        return await self.positions()

    async def repay(self, usdc: Decimal | None = None) -> list[VenuePosition]:
        """Repay ``usdc`` of this account's debt; None (or the whole debt, or more) repays it all by shares,
        so no dust of debt is left."""
        await self.setup()
        gaib, p = self.gaib, self.gaib.protocol
        view = await self._view(gaib.address)
        if view["borrow_shares"] == 0:
            raise GaibValueError(f"account {gaib.address} owes nothing in the Morpho market")
        units = view["borrowed"] if usdc is None else self._units(usdc, "USDC", "repay")
        full = units >= view["borrowed"]
        pay = view["borrowed"] if full else units
        await gaib.require_balance(p.usdc, pay, "USDC", "repay the Morpho loan")
        await gaib.approve(p.usdc, self.state["morpho"], self._with_accrual(pay))
        shares = view["borrow_shares"] if full else 0
        call = self._morpho().functions.repay(self.params, 0 if full else units, shares, gaib.address, b"")
        await gaib.send(call, what="Morpho repay")
        return await self.positions()

    async def liquidate(self, borrower: str, repay_usdc: Decimal | None = None) -> Liquidation:
        """Liquidate an unhealthy ``borrower``: repay ``repay_usdc`` of the debt (None: all of it, or as much
        as the collateral covers) and receive its worth in sAID times Morpho's liquidation incentive factor,
        min(1.15, 1 / (1 - 0.3 x (1 - LLTV))). Collateral exhausted with debt left over is bad debt, which
        Morpho takes from the lenders. Refused before sending if the position is healthy."""
        await self.setup()
        gaib, p = self.gaib, self.gaib.protocol
        who = to_checksum_address(borrower)
        view = await self._view(who)
        if view["borrow_shares"] == 0:
            raise GaibValueError(f"account {who} owes nothing in the Morpho market")
        if view["borrowed"] <= view["max_borrow"]:
            raise GaibValueError(
                f"account {who} is healthy (it owes {_usdc(view['borrowed'])} USDC, its collateral allows "
                f"{_usdc(view['max_borrow'])}): Morpho liquidates only below a health factor of 1"
            )
        market, price, lltv = view["market"], view["price"], self._lltv
        by_seizure = False
        if repay_usdc is None:
            plan = m.liquidation(market, price, lltv, repaid_shares=view["borrow_shares"])
            if plan.seized_assets > view["collateral"]:  # the collateral runs out first: seize it all
                plan = m.liquidation(market, price, lltv, seized_assets=view["collateral"])
                by_seizure = True
        else:
            units = self._units(repay_usdc, "USDC", "repay in the liquidation")
            shares = m.to_shares_down(units, market.total_borrow_assets, market.total_borrow_shares)
            if shares == 0 or shares > view["borrow_shares"]:
                raise GaibValueError(f"repay between 0 and the {_usdc(view['borrowed'])} USDC the borrower owes")
            plan = m.liquidation(market, price, lltv, repaid_shares=shares)
            if plan.seized_assets > view["collateral"]:
                raise GaibValueError(
                    f"repaying {repay_usdc} USDC would seize {_said(plan.seized_assets)} sAID, more than the "
                    f"{_said(view['collateral'])} posted: repay less, or omit the amount to seize it all"
                )
        await gaib.require_balance(p.usdc, plan.repaid_assets, "USDC", "repay in the liquidation")
        await gaib.approve(p.usdc, self.state["morpho"], self._with_accrual(plan.repaid_assets))
        morpho = self._morpho()
        seized, shares = (plan.seized_assets, 0) if by_seizure else (0, plan.repaid_shares)
        call = morpho.functions.liquidate(self.params, who, seized, shares, b"")
        result = await gaib.send(call, what="Morpho liquidate")
        ev = morpho.events.Liquidate().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return Liquidation(
            borrower=who,
            repaid_usdc=_usdc(ev["repaidAssets"]),
            seized_said=_said(ev["seizedAssets"]),
            bad_debt_usdc=_usdc(ev["badDebtAssets"]),
            incentive_factor=from_units(m.liquidation_incentive_factor(lltv), 18),
            tx_hash=result.tx_hash,
        )

    # ---- the oracle ----

    async def price(self) -> int:
        """The oracle's price of one sAID in USDC, scaled by 1e36 and Morpho's decimal correction: USDC per
        whole sAID is ``price() / 1e24``."""
        await self.setup()
        return int(await self._oracle().functions.price().call())

    async def oracle_prices(self) -> dict[str, Decimal]:
        """AID per sAID as the oracle sees it: ``used`` (what Morpho gets), ``spot`` (the vault's share price)
        and ``cap`` (the most the growth limit allows now)."""
        await self.setup()
        f = self._oracle().functions
        return {
            "used": _said(await f.sharePrice().call()),
            "spot": _said(await f.spotSharePrice().call()),
            "cap": _said(await f.maxSharePrice().call()),
        }

    async def checkpoint(self) -> str:
        """Move the oracle's growth cap to start from the price used now (anyone may; a keeper should, after a
        fall, so that a rebound is capped from the low). Returns the transaction hash."""
        await self.setup()
        return (await self.gaib.send(self._oracle().functions.checkpoint(), what="oracle checkpoint")).tx_hash

    # ---- views ----

    async def market(self) -> m.Market:
        """The market's totals as Morpho holds them."""
        await self.setup()
        return await self._expected(m.Market(*(await self._morpho().functions.market(self.market_id).call())))

    async def _expected(self, market: m.Market) -> m.Market:
        """The totals as of the latest block, with the interest accrued since Morpho's last update (the IRM's
        borrowRateView over the elapsed seconds, as MorphoBalancesLib.expectedMarketBalances computes it)."""
        irm = self.params[3]
        if int(irm, 16) == 0 or market.total_borrow_assets == 0:
            return market
        now = int((await self.gaib.chain.w3.eth.get_block("latest"))["timestamp"])
        if now <= market.last_update:
            return market
        contract = self.gaib.chain.contract(irm, _IRM_ABI)
        params = (self.params[0], self.params[1], self.params[2], irm, self.params[4])
        totals = (
            market.total_supply_assets,
            market.total_supply_shares,
            market.total_borrow_assets,
            market.total_borrow_shares,
            market.last_update,
            market.fee,
        )
        rate = int(await contract.functions.borrowRateView(params, totals).call())
        return market.accrued(rate, now)

    async def _view(self, account: str) -> dict[str, Any]:
        morpho = self._morpho()
        supply_shares, borrow_shares, collateral = await morpho.functions.position(self.market_id, account).call()
        market = await self._expected(m.Market(*(await morpho.functions.market(self.market_id).call())))
        price = int(await self._oracle().functions.price().call())
        return {
            "market": market,
            "supply_shares": supply_shares,
            "borrow_shares": borrow_shares,
            "supplied": market.supplied(supply_shares),
            "borrowed": market.borrowed(borrow_shares),
            "collateral": collateral,
            "max_borrow": m.max_borrow(collateral, price, self._lltv),
            "liquidity": market.liquidity,
            "price": price,
        }

    async def positions(self, account: str | None = None) -> list[VenuePosition]:
        """``supply`` (USDC lent), ``collateral`` (sAID posted, with ``max_borrow_usdc`` and the oracle's
        ``price_usdc`` per sAID) and ``borrow`` (USDC owed, with ``health_factor`` = max borrow / debt, below 1
        liquidatable, and ``liquidation_price_usdc``: the sAID price in USDC below which it is)."""
        await self.setup()
        who = account or self.gaib.address
        v = await self._view(who)
        out = []

        def position(side: Any, asset: str, amount: Decimal, **details: str) -> None:
            out.append(
                VenuePosition(
                    venue=self.name,
                    market=self.market_id,
                    account=who,
                    side=side,
                    asset=asset,
                    amount=amount,
                    details=details,
                )
            )

        if v["supplied"]:
            position("supply", "USDC", _usdc(v["supplied"]), supply_shares=str(v["supply_shares"]))
        if v["collateral"]:
            position(
                "collateral",
                "sAID",
                _said(v["collateral"]),
                max_borrow_usdc=str(_usdc(v["max_borrow"])),
                price_usdc=str((Decimal(v["price"]) / PRICE_UNIT).quantize(_MICRO)),
            )
        if v["borrowed"]:
            health = Decimal(v["max_borrow"]) / Decimal(v["borrowed"])
            position(
                "borrow",
                "USDC",
                _usdc(v["borrowed"]),
                health_factor=f"{health:.4f}",
                liquidation_price_usdc=str(liquidation_price(v["borrowed"], v["collateral"], self._lltv)),
            )
        return out


def liquidation_price(borrowed: int, collateral: int, lltv: int) -> Decimal:
    """USDC per sAID below which a position owing ``borrowed`` USDC units against ``collateral`` sAID units
    can be liquidated: debt / (collateral x LLTV), to the micro-USDC. Infinite without collateral."""
    if collateral == 0 or lltv == 0:
        return Decimal("Infinity")
    exact: Decimal = Decimal(borrowed * 10**AID_DECIMALS * WAD) / Decimal(collateral * lltv) / 10**USDC_DECIMALS
    return exact.quantize(_MICRO, rounding=ROUND_HALF_EVEN)


def _said_to_cover(borrowed: int, price: int, lltv: int) -> int:
    """The least sAID (base units) whose max borrow covers ``borrowed``."""
    if price == 0:
        return 2**256 - 1
    lo, hi = 0, 1
    while m.max_borrow(hi, price, lltv) < borrowed:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if m.max_borrow(mid, price, lltv) >= borrowed:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _ratio(borrowed: int, market: m.Market) -> str:
    return f"{Decimal(borrowed) / Decimal(market.total_supply_assets):.4f}" if market.total_supply_assets else "0"
