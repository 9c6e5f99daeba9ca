"""The Morpho Blue venue: a market lending USDC against sAID, priced by the SDK's SAIDOracle.

On a development chain (the embedded EVM, anvil) :meth:`MorphoVenue.setup` deploys the real Morpho Blue,
built at set-up from @morpho-org/morpho-blue (``python -m gaib_morpho.build``), enables the LLTV and
the zero-rate IRM, deploys the oracle and creates the market. On a real chain, give Morpho's address.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from pydantic import Field

from gaib_morpho.artifact import default_artifact_path
from gaib_sdk import AdapterOptions, GaibConfigError, GaibValueError, Venue, VenuePosition
from gaib_sdk.chain import load_artifact, load_artifact_file
from gaib_sdk.client import AID_DECIMALS, USDC_DECIMALS, from_units, to_units

ZERO = "0x0000000000000000000000000000000000000000"
WAD = 10**18
ORACLE_SCALE = 10**36
VIRTUAL_SHARES, VIRTUAL_ASSETS = 10**6, 1  # Morpho's SharesMathLib
#: The LLTVs Morpho governance has enabled on Ethereum; a market must use one of them.
ENABLED_LLTVS = {Decimal(x) for x in ("0", "0.385", "0.625", "0.77", "0.86", "0.915", "0.945", "0.965", "0.98")}


class MorphoOptions(AdapterOptions):
    morpho: str | None = Field(default=None, description="Morpho Blue's address; deployed on dev chains if unset")
    irm: str = Field(default=ZERO, description="interest rate model; the zero address is the 0% IRM")
    lltv: Decimal = Field(default=Decimal("0.86"), description="liquidation LTV of the sAID/USDC market")
    artifact: Path | None = Field(default=None, description="Morpho's compiled artifact, for dev-chain deployment")


class MorphoVenue(Venue):
    name = "morpho"
    options_model = MorphoOptions
    options: MorphoOptions

    def __init__(self, gaib: Any, options: Any = None):
        super().__init__(gaib, options)
        if self.options.lltv not in ENABLED_LLTVS:
            allowed = ", ".join(str(x) for x in sorted(ENABLED_LLTVS))
            raise GaibValueError(f"lltv {self.options.lltv} is not one Morpho enables; use one of {allowed}")

    # ---- set-up ----

    @property
    def _state(self) -> dict[str, Any]:
        return self.gaib.venue_state.setdefault(self.name, {})

    def _morpho_abi(self) -> list[dict[str, Any]]:
        path = self.options.artifact or default_artifact_path()
        if not Path(path).exists():
            raise GaibConfigError(
                f"Morpho Blue is not built ({path} is missing): run `python -m gaib_morpho.build` "
                "after `npm ci` (make quickstart does both)"
            )
        return load_artifact_file(path)["abi"]  # type: ignore[no-any-return]

    async def setup(self) -> dict[str, str]:
        state = self._state
        if "market_id" in state:
            return self._addresses()
        gaib, chain = self.gaib, self.gaib.chain
        protocol = gaib.protocol
        lltv = int(self.options.lltv * WAD)
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
        oracle = await chain.deploy(load_artifact("SAIDOracle"), [protocol.said.address, USDC_DECIMALS], gaib.account)
        assert oracle.contract_address is not None
        params = (protocol.usdc.address, protocol.said.address, oracle.contract_address, self.options.irm, lltv)
        market_id = "0x" + keccak(abi_encode(["address", "address", "address", "address", "uint256"], params)).hex()
        created = await gaib.send(morpho.functions.createMarket(params), what="Morpho createMarket")
        state.update(
            morpho=morpho.address,
            oracle=oracle.contract_address,
            market_id=market_id,
            market_tx=created.tx_hash,
            params=params,
        )
        return self._addresses()

    def _addresses(self) -> dict[str, str]:
        """What setup() returns, the first time and every time after: the addresses, ids and hashes it made."""
        return {k: v for k, v in self._state.items() if isinstance(v, str)}

    def _morpho(self) -> Any:
        return self.gaib.chain.contract(self._state["morpho"], self._morpho_abi())

    # ---- actions ----

    async def add_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Supply ``amount`` USDC to the sAID/USDC market as a lender."""
        if kwargs:
            raise GaibValueError(f"Morpho add_liquidity takes no options, got {sorted(kwargs)}")
        return await self.supply(amount)

    async def supply(self, usdc: Decimal) -> list[VenuePosition]:
        await self.setup()
        gaib, p = self.gaib, self.gaib.protocol
        units = to_units(usdc, USDC_DECIMALS, what="USDC to supply")
        if units == 0:
            raise GaibValueError("supply must be more than 0 USDC")
        await gaib.require_balance(p.usdc, units, "USDC", "supply to Morpho")
        await gaib.approve(p.usdc, self._state["morpho"], units)
        await gaib.send(
            self._morpho().functions.supply(self._state["params"], units, 0, gaib.address, b""), what="Morpho supply"
        )
        return await self.positions()

    async def supply_collateral(self, said: Decimal) -> list[VenuePosition]:
        """Post ``said`` sAID shares as collateral."""
        await self.setup()
        gaib, p = self.gaib, self.gaib.protocol
        units = to_units(said, AID_DECIMALS, what="sAID collateral")
        if units == 0:
            raise GaibValueError("collateral must be more than 0 sAID")
        await gaib.require_balance(p.said, units, "sAID", "post as Morpho collateral")
        await gaib.approve(p.said, self._state["morpho"], units)
        await gaib.send(
            self._morpho().functions.supplyCollateral(self._state["params"], units, gaib.address, b""),
            what="Morpho supplyCollateral",
        )
        return await self.positions()

    async def borrow(self, usdc: Decimal) -> list[VenuePosition]:
        """Borrow ``usdc`` against the sAID posted. Refused before sending if it would exceed the LLTV
        or the market's free liquidity."""
        await self.setup()
        gaib = self.gaib
        units = to_units(usdc, USDC_DECIMALS, what="USDC to borrow")
        if units == 0:
            raise GaibValueError("borrow must be more than 0 USDC")
        view = await self._account_view(gaib.address)
        if view["borrowed"] + units > view["max_borrow"]:
            raise GaibValueError(
                f"borrowing {usdc} USDC would exceed the market's {self.options.lltv:.1%} LLTV: at most "
                f"{from_units(max(0, view['max_borrow'] - view['borrowed']), USDC_DECIMALS)} more USDC against "
                f"{from_units(view['collateral'], AID_DECIMALS)} sAID"
            )
        if units > view["liquidity"]:
            raise GaibValueError(
                f"the market has {from_units(view['liquidity'], USDC_DECIMALS)} USDC free to lend, less than {usdc}"
            )
        await gaib.send(
            self._morpho().functions.borrow(self._state["params"], units, 0, gaib.address, gaib.address),
            what="Morpho borrow",
        )
        return await self.positions()

    # ---- views ----

    async def price(self) -> int:
        """The oracle's price of one sAID in USDC, scaled by 1e36 and Morpho's decimal correction."""
        await self.setup()
        oracle = self.gaib.chain.contract(self._state["oracle"], load_artifact("SAIDOracle")["abi"])
        return int(await oracle.functions.price().call())

    async def _account_view(self, account: str) -> dict[str, int]:
        morpho, market_id = self._morpho(), self._state["market_id"]
        supply_shares, borrow_shares, collateral = await morpho.functions.position(market_id, account).call()
        total_supply, total_supply_shares, total_borrow, total_borrow_shares, _, _ = await morpho.functions.market(
            market_id
        ).call()
        supplied = supply_shares * (total_supply + VIRTUAL_ASSETS) // (total_supply_shares + VIRTUAL_SHARES)
        borrowed = -(-borrow_shares * (total_borrow + VIRTUAL_ASSETS) // (total_borrow_shares + VIRTUAL_SHARES))
        price = await self.price()
        lltv = int(self.options.lltv * WAD)
        max_borrow = collateral * price // ORACLE_SCALE * lltv // WAD
        return {
            "supplied": supplied,
            "borrowed": borrowed,
            "collateral": collateral,
            "max_borrow": max_borrow,
            "liquidity": total_supply - total_borrow,
            "price": price,
        }

    async def positions(self, account: str | None = None) -> list[VenuePosition]:
        await self.setup()
        who = account or self.gaib.address
        v = await self._account_view(who)
        market = self._state["market_id"]
        out = []
        if v["supplied"]:
            out.append(
                VenuePosition(
                    venue=self.name,
                    market=market,
                    account=who,
                    side="supply",
                    asset="USDC",
                    amount=from_units(v["supplied"], USDC_DECIMALS),
                )
            )
        if v["collateral"]:
            out.append(
                VenuePosition(
                    venue=self.name,
                    market=market,
                    account=who,
                    side="collateral",
                    asset="sAID",
                    amount=from_units(v["collateral"], AID_DECIMALS),
                    details={"max_borrow_usdc": str(from_units(v["max_borrow"], USDC_DECIMALS))},
                )
            )
        if v["borrowed"]:
            health = Decimal(v["max_borrow"]) / Decimal(v["borrowed"])
            out.append(
                VenuePosition(
                    venue=self.name,
                    market=market,
                    account=who,
                    side="borrow",
                    asset="USDC",
                    amount=from_units(v["borrowed"], USDC_DECIMALS),
                    details={"health_factor": f"{health:.4f}"},
                )
            )
        return out
