"""``gaib.aid``: the AI Dollar. Mint it 1:1 for USDC (or USDT) and redeem it, queue a redemption the liquid
reserve cannot cover, read its supply and its backing; the KYC manager's whitelist and the deny list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from web3.logs import DISCARD

from gaib_sdk.chain import read_ahead
from gaib_sdk.errors import GaibValueError, InsufficientFundsError, NotWhitelistedError
from gaib_sdk.namespaces._base import AID_DECIMALS, USDC_DECIMALS, Namespace, Receipt, from_units, to_units

__all__ = ["Aid"]


class Aid(Namespace):
    """AID: ``gaib.aid.mint(1000)``, ``gaib.aid.redeem(500)``, ``gaib.aid.reserves()``."""

    @read_ahead
    async def mint(
        self, usdc_amount: Decimal | int | str, *, stablecoin: str = "USDC", key: str | None = None
    ) -> Receipt:
        """Mint AID 1:1 for USDC (or ``stablecoin="USDT"``). Only KYC-whitelisted accounts may. ``key`` (any
        string unique to this request, e.g. an order id) makes it safe to call again after a crash: it mints
        once."""
        p = self._protocol
        token, symbol = self._stablecoin(stablecoin)
        amount = to_units(usdc_amount, USDC_DECIMALS, what=f"{symbol} amount")
        call = p.aid.functions.mint(amount) if token is p.usdc else p.aid.functions.mintWith(token.address, amount)
        mint_key = self._key(key, "mint")
        if self._resuming(mint_key):
            result = await self._send(call, what="mint AID", key=mint_key)
            return Receipt("mint_aid", from_units(amount * 10**12, AID_DECIMALS), [result.tx_hash])
        if amount == 0:
            raise GaibValueError(f"mint amount must be more than 0 {symbol}")
        aid = p.aid.functions
        await self._chain.prefetch(
            [aid.paused(), aid.isWhitelisted(self._address), aid.mintCapPerBlock(), *self._balance_reads(token, p.aid)]
        )
        await self._require_not_paused("mint AID")
        if not await p.aid.functions.isWhitelisted(self._address).call():
            raise NotWhitelistedError(
                f"account {self._address} is not KYC-whitelisted to mint AID: complete KYC, then ask a KYC manager "
                "to whitelist it (gaib.aid.whitelist), or buy AID on a DEX"
            )
        cap = await p.aid.functions.mintCapPerBlock().call()
        if amount > cap:
            raise GaibValueError(
                f"mint of {usdc_amount} {symbol} exceeds the per-block mint cap of {from_units(cap, USDC_DECIMALS)} "
                f"{symbol}: "
                "split it over several blocks"
            )
        await self._require_balance(token, amount, symbol, "mint AID")
        hashes = await self._approve(token, p.aid.address, amount)
        result = await self._send(call, what="mint AID", key=mint_key)
        return Receipt("mint_aid", from_units(amount * 10**12, AID_DECIMALS), [*hashes, result.tx_hash])

    async def redeem(
        self, aid_amount: Decimal | int | str, *, stablecoin: str = "USDC", key: str | None = None
    ) -> Receipt:
        """Redeem AID for USDC (or ``stablecoin="USDT"``) 1:1, from that stablecoin's liquid reserve. Only
        KYC-whitelisted accounts may. With ``key``, calling again after a crash redeems once."""
        p = self._protocol
        token, symbol = self._stablecoin(stablecoin)
        amount = to_units(aid_amount, AID_DECIMALS, what="AID amount")
        usdc_out = amount // 10**12
        call = p.aid.functions.redeem(amount) if token is p.usdc else p.aid.functions.redeemTo(token.address, amount)
        redeem_key = self._key(key, "redeem")
        if self._resuming(redeem_key):
            result = await self._send(call, what="redeem AID", key=redeem_key)
            return Receipt("redeem_aid", from_units(usdc_out, USDC_DECIMALS), [result.tx_hash])
        if usdc_out == 0:
            raise GaibValueError(f"redeeming {aid_amount} AID pays less than one {symbol} unit (0.000001)")
        await self._require_not_paused("redeem AID")
        if not await p.aid.functions.isWhitelisted(self._address).call():
            raise NotWhitelistedError(
                f"account {self._address} is not KYC-whitelisted to redeem AID: sell it on a DEX (the Curve "
                "AID/USDC pool), or complete KYC"
            )
        await self._require_balance(p.aid, amount, "AID", "redeem")
        cap = await p.aid.functions.redeemCapPerBlock().call()
        if usdc_out > cap:
            raise GaibValueError(
                f"redeeming {from_units(usdc_out, USDC_DECIMALS)} USDC exceeds the per-block redeem cap of "
                f"{from_units(cap, USDC_DECIMALS)} USDC: split it over several blocks"
            )
        reserve = await p.aid.functions.reserveOf(token.address).call()
        if usdc_out > reserve:
            where = (
                "the rest is out in deals and returns as they repay"
                if token is p.usdc
                else "redeem into USDC, or queue for it (gaib.aid.request_redemption)"
            )
            which = "reserve" if token is p.usdc else f"{symbol} reserve"
            raise InsufficientFundsError(
                f"the liquid {which} holds {from_units(reserve, USDC_DECIMALS)} {symbol}, less than the "
                f"{from_units(usdc_out, USDC_DECIMALS)} asked: {where}"
            )
        result = await self._send(call, what="redeem AID", key=redeem_key)
        return Receipt("redeem_aid", from_units(usdc_out, USDC_DECIMALS), [result.tx_hash])

    async def request_redemption(self, aid_amount: Decimal | int | str) -> int:
        """Queue a redemption that the liquid reserve cannot cover now: the AID is escrowed and paid, in
        order, as cash comes back; claim it with :meth:`claim_redemption`. Returns the request id."""
        p = self._protocol
        amount = to_units(aid_amount, AID_DECIMALS, what="AID amount")
        if amount // 10**12 == 0:
            raise GaibValueError(f"redeeming {aid_amount} AID pays less than one USDC unit (0.000001)")
        if not await p.aid.functions.isWhitelisted(self._address).call():
            raise NotWhitelistedError(f"account {self._address} is not KYC-whitelisted to redeem AID")
        await self._require_not_paused("redeem AID")
        await self._require_balance(p.aid, amount, "AID", "queue a redemption")
        cap = await p.aid.functions.redeemCapPerBlock().call()
        if amount // 10**12 > cap:
            raise GaibValueError(
                f"queueing {from_units(amount // 10**12, USDC_DECIMALS)} USDC of redemptions exceeds the per-block "
                f"redeem cap of {from_units(cap, USDC_DECIMALS)} USDC (a queued redemption counts as a redemption): "
                "split it over several blocks"
            )
        result = await self._send(p.aid.functions.requestRedemption(amount), what="request redemption")
        ev = p.aid.events.RedemptionRequested().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return int(ev["requestId"])

    async def process_redemptions(self, max_requests: int = 50) -> str:
        """Fill waiting redemption requests, in order, from the liquid reserve. Anyone may."""
        return (
            await self._send(self._protocol.aid.functions.processRedemptions(max_requests), what="fill queue")
        ).tx_hash

    async def claim_redemption(self) -> Receipt:
        """Take the USDC set aside for this account's filled redemptions."""
        p = self._protocol
        owed = await p.aid.functions.claimable(self._address).call()
        if await p.aid.functions.isDenied(self._address).call():
            raise GaibValueError(f"account {self._address} is on the deny list: it cannot claim redemptions")
        if owed == 0:
            raise GaibValueError(f"account {self._address} has nothing to claim: its requests are not filled yet")
        result = await self._send(p.aid.functions.claim(), what="claim redemption")
        return Receipt("claim_redemption", from_units(owed, USDC_DECIMALS), [result.tx_hash])

    async def redemption_queue(self, account: str | None = None) -> dict[str, Any]:
        """The queue: waiting requests, USDC still owed to them, and what ``account`` (this client's own by
        default; none for a client without one) may claim."""
        aid = self._protocol.aid
        who = account or (self._client._account.address if self._client._account is not None else None)
        claimable = await aid.functions.claimable(who).call() if who else 0
        return {
            "waiting": int(await aid.functions.queueLength().call()),
            "owed_usdc": from_units(await aid.functions.queuedStable().call(), USDC_DECIMALS),
            "claimable_usdc": from_units(claimable, USDC_DECIMALS),
        }

    # ---- views ----

    async def supply(self) -> Decimal:
        """AID in circulation."""
        return from_units(await self._protocol.aid.functions.totalSupply().call(), AID_DECIMALS)

    async def reserves(self) -> dict[str, Decimal]:
        """The AID backing: liquid reserve, principal out in deals, and their sum against supply."""
        aid = self._protocol.aid
        reserve = from_units(await aid.functions.reserve().call(), USDC_DECIMALS)
        total = from_units(await aid.functions.totalReserve().call(), USDC_DECIMALS)
        deployed = from_units(await aid.functions.principalDeployed().call(), USDC_DECIMALS)
        return {
            "reserve_usdc": reserve,
            "reserve_usdt": total - reserve,
            "principal_deployed_usdc": deployed,
            "uncovered_loss_usdc": from_units(await aid.functions.uncoveredLoss().call(), USDC_DECIMALS),
            "backing_usdc": total + deployed,
            "aid_supply": await self.supply(),
        }

    # ---- KYC and the deny list ----

    async def whitelist(self, account: str, allowed: bool = True) -> str:
        """KYC manager: allow (or stop) ``account`` to mint and redeem AID."""
        aid = self._protocol.aid
        await self._require_role(aid, "KYC_MANAGER_ROLE", "whitelist accounts")
        return (await self._send(aid.functions.setWhitelisted(account, allowed), what="whitelist")).tx_hash

    async def deny(self, account: str, denied: bool = True) -> str:
        """Deny-list guard: stop (or allow again) ``account`` from sending, receiving or redeeming AID and sAID."""
        aid = self._protocol.aid
        await self._require_role(aid, "DENYLIST_ROLE", "change the deny list")
        return (await self._send(aid.functions.setDenied(account, denied), what="deny list")).tx_hash
