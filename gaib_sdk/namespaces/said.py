"""``gaib.said``: staked AID, the ERC-4626 vault whose share price deal income raises. Stake, exit through
ERC-7540 requests filled by the withdrawal manager's cycles, claim, name operators; read the share price and
the income still vesting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk.chain import TxResult, read_ahead
from gaib_sdk.errors import GaibValueError
from gaib_sdk.namespaces._base import AID_DECIMALS, Namespace, Receipt, from_units, to_units

__all__ = ["StakedAid"]


class StakedAid(Namespace):
    """sAID: ``gaib.said.stake(1000)``, ``gaib.said.request_unstake(shares)``, ``gaib.said.share_price()``."""

    @read_ahead
    async def stake(self, aid_amount: Decimal | int | str, *, key: str | None = None) -> Receipt:
        """Deposit AID into the sAID vault; returns the shares received. One transaction: no approve is sent,
        the allowance comes from an EIP-2612 permit signed here when the current one is short. With ``key``,
        calling again after a crash stakes once."""
        p = self._protocol
        amount = to_units(aid_amount, AID_DECIMALS, what="AID amount")
        stake_key = self._key(key, "stake")
        if self._resuming(stake_key):
            result = await self._send(await self._stake_call(amount), what="stake AID", key=stake_key)
            ev = p.said.events.Deposit().process_receipt({"logs": result.logs}, errors=DISCARD)
            shares = ev[0]["args"]["shares"] if ev else 0
            return Receipt("stake", from_units(shares, AID_DECIMALS), [result.tx_hash])
        if amount == 0:
            raise GaibValueError("stake amount must be more than 0 AID")
        await self._chain.prefetch(
            [
                p.said.functions.paused(),
                p.said.functions.previewDeposit(amount),
                *self._balance_reads(p.aid, p.said),
                *self._permit_reads(p.aid),
                self._chain.clock_read(),
            ]
        )
        await self._require_not_paused("stake", token="sAID")
        await self._require_balance(p.aid, amount, "AID", "stake")
        shares = await p.said.functions.previewDeposit(amount).call()
        result = await self._send(await self._stake_call(amount), what="stake AID", key=stake_key)
        return Receipt("stake", from_units(shares, AID_DECIMALS), [result.tx_hash])

    async def _stake_call(self, amount: int) -> Any:
        """sAID's deposit of ``amount`` AID: a plain deposit when the allowance already covers it, otherwise
        one transaction that carries an EIP-2612 permit signed here (no approve sent first)."""
        p = self._protocol
        if await p.aid.functions.allowance(self._address, p.said.address).call() >= amount:
            return p.said.functions.deposit(amount, self._address)
        permit = await self._sign_permit(p.aid, p.said.address, amount)
        return p.said.functions.depositWithPermit(amount, self._address, *permit)

    # ---- sAID exit: ERC-7540 requests, monthly cycles, claims ----

    async def request_unstake(
        self, shares: Decimal | int | str, *, controller: str | None = None, key: str | None = None
    ) -> int:
        """Ask to exit ``shares`` sAID (ERC-7540 ``requestRedeem``): the shares leave this account's balance and
        join the open round, which the withdrawal manager's next cycle closes and fills (rounds oldest first,
        all the requests of a round at the same price and, under the per-cycle cap, by the same fraction);
        then :meth:`claim_unstake` takes the AID. ``controller`` (this account by default) is who may claim.
        Returns the request id: the round's. A controller waits in one round at a time: while part of its
        request in an earlier round is still pending, a new one is refused. With ``key``, calling again after a
        crash requests once."""
        p = self._protocol
        amount = to_units(shares, AID_DECIMALS, what="sAID shares")
        who = controller or self._address
        req_key = self._key(key, "request_unstake")
        if not self._resuming(req_key):
            if amount == 0:
                raise GaibValueError("exit request amount must be more than 0 sAID")
            if await p.said.functions.paused().call():
                raise GaibValueError("sAID is paused: exit requests are refused until a pauser unpauses it")
            for account in {self._address, who}:
                if await p.aid.functions.isDenied(account).call():
                    raise GaibValueError(f"account {account} is on the deny list: it cannot move or redeem sAID")
            await self._require_balance(p.said, amount, "sAID", "request an exit")
            round_id, _, pending = await p.said.functions.redeemRequestOf(who).call()
            if pending > 0 and round_id != await p.said.functions.openRound().call():
                raise GaibValueError(
                    f"controller {who} still has {from_units(pending, AID_DECIMALS)} sAID pending in exit round "
                    f"{round_id}: a controller waits in one round at a time; request again once the withdrawal "
                    "manager's cycles have filled it (see gaib.said.unstake_status), or name another controller"
                )
        call = p.said.functions.requestRedeem(amount, who, self._address)
        result = await self._send(call, what="request sAID exit", key=req_key)
        ev = p.said.events.RedeemRequest().process_receipt({"logs": result.logs}, errors=DISCARD)
        return int(ev[0]["args"]["requestId"])

    async def unstake_request(self, request_id: int, controller: str | None = None) -> dict[str, Decimal]:
        """``controller``'s exit request in round ``request_id``: its shares still pending (they roll over to the
        next cycle) and those filled and not claimed yet (ERC-7540 pendingRedeemRequest /
        claimableRedeemRequest)."""
        said = self._protocol.said.functions
        who = controller or self._address
        return {
            "pending_shares": from_units(await said.pendingRedeemRequest(request_id, who).call(), AID_DECIMALS),
            "claimable_shares": from_units(await said.claimableRedeemRequest(request_id, who).call(), AID_DECIMALS),
        }

    async def unstake_status(self, account: str | None = None) -> dict[str, Any]:
        """Where ``account``'s (this client's by default) exits stand, and the vault's withdrawal cycle: its
        request's round (``request_id``, None without one) and shares waiting, shares filled and AID to claim,
        the current cycle and when its processing is due (unix seconds), the per-cycle cap and what waits in
        the queue (``queue_length``: rounds)."""
        said = self._protocol.said.functions
        who = account or self._address
        round_id, shares, pending = await said.redeemRequestOf(who).call()
        return {
            "request_id": int(round_id) if shares else None,
            "pending_shares": from_units(pending, AID_DECIMALS),
            "claimable_shares": from_units(await said.maxRedeem(who).call(), AID_DECIMALS),
            "claimable_aid": from_units(await said.maxWithdraw(who).call(), AID_DECIMALS),
            "cycle": int(await said.currentCycle().call()),
            "next_cycle_at": int(await said.nextCycleAt().call()),
            "cycle_length_s": int(await said.cycleLength().call()),
            "cycle_cap_bps": int(await said.cycleCapBps().call()),
            "queue_length": int(await said.queueLength().call()),
            "queue_shares": from_units(await said.totalPendingShares().call(), AID_DECIMALS),
        }

    async def process_withdrawal_cycle(self, max_requests: int = 100) -> dict[str, Any]:
        """Withdrawal manager: close the open round and fill the waiting rounds, oldest first, once the cycle is
        due. Returns the shares filled, the AID set aside for their claims, and whether the cycle closed (it
        stays open when ``max_requests``, a bound on the rounds filled, cut it short: call again)."""
        said = self._protocol.said
        if max_requests < 1:
            raise GaibValueError(f"max_requests {max_requests} must be at least 1")
        await self._require_role(said, "WITHDRAWAL_MANAGER_ROLE", "process a withdrawal cycle")
        if await said.functions.paused().call():
            raise GaibValueError("sAID is paused: withdrawal cycles wait until a pauser unpauses it")
        due = int(await said.functions.nextCycleAt().call())
        now = await self._chain.timestamp()
        if now < due:
            raise GaibValueError(
                f"the withdrawal cycle is not due yet: processing opens at unix time {due}, {due - now} s from now"
            )
        result = await self._send(said.functions.processCycle(max_requests), what="process withdrawal cycle")
        ev = said.events.CycleProcessed().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return {
            "cycle": int(ev["cycle"]),
            "filled_shares": from_units(ev["shares"], AID_DECIMALS),
            "set_aside_aid": from_units(ev["assets"], AID_DECIMALS),
            "closed": bool(ev["closed"]),
            "next_cycle_at": int(ev["nextCycleAt"]),
            "tx_hash": result.tx_hash,
        }

    async def claim_unstake(
        self,
        shares: Decimal | int | str | None = None,
        *,
        receiver: str | None = None,
        controller: str | None = None,
        key: str | None = None,
    ) -> Receipt:
        """Claim the AID of filled exit requests (ERC-7540 ``redeem``): all that is claimable by default, or
        ``shares`` of it, paid to ``receiver`` (this account by default). ``controller`` is the account whose
        requests are claimed (this one, or one that made this account its operator). With ``key``, calling
        again after a crash claims once. Returns the AID paid."""
        p = self._protocol
        who = controller or self._address
        to = receiver or self._address
        claim_key = self._key(key, "claim_unstake")
        if self._resuming(claim_key):
            result = await self._send(p.said.functions.redeem(0, to, who), what="claim sAID exit", key=claim_key)
            return Receipt("claim_unstake", _withdrawn(p.said, result), [result.tx_hash])
        asked = None if shares is None else to_units(shares, AID_DECIMALS, what="sAID shares")
        claimable = await p.said.functions.maxRedeem(who).call()
        amount = claimable if asked is None else asked
        if claimable == 0:
            raise GaibValueError(
                f"account {who} has no filled exit to claim: requests are filled when the withdrawal manager "
                "processes the cycle (see gaib.said.unstake_status)"
            )
        if amount == 0 or amount > claimable:
            raise GaibValueError(
                f"claim of {from_units(amount, AID_DECIMALS)} sAID must be above 0 and at most the "
                f"{from_units(claimable, AID_DECIMALS)} filled and not claimed"
            )
        if who != self._address and not await p.said.functions.isOperator(who, self._address).call():
            raise GaibValueError(
                f"account {self._address} is not an operator of {who}: {who} must call gaib.said.set_operator first"
            )
        for account in {self._address, who, to}:
            if await p.aid.functions.isDenied(account).call():
                raise GaibValueError(
                    f"account {account} is on the deny list: it cannot claim, receive or redeem sAID exits, "
                    "not even as an operator"
                )
        call = p.said.functions.redeem(amount, to, who)
        result = await self._send(call, what="claim sAID exit", key=claim_key)
        return Receipt("claim_unstake", _withdrawn(p.said, result), [result.tx_hash])

    async def set_operator(self, operator: str, approved: bool = True) -> str:
        """Let ``operator`` request and claim sAID exits for this account (ERC-7540), or stop it."""
        said = self._protocol.said
        call = said.functions.setOperator(operator, approved)
        return (await self._send(call, what="set sAID operator")).tx_hash

    async def set_withdrawal_cycle(self, length_s: int, cap_bps: int = 0) -> str:
        """Admin: the withdrawal cycle's length in seconds (1 hour to 365 days) and the per-cycle cap on AID
        released, in basis points of AID's stablecoin reserve (0: no cap)."""
        said = self._protocol.said
        if not 3600 <= length_s <= 365 * 86400 or not 0 <= cap_bps <= 10_000:
            raise GaibValueError(f"cycle length {length_s} s must be 3600 to 31536000 and cap {cap_bps} bps 0 to 10000")
        await self._require_role(said, "DEFAULT_ADMIN_ROLE", "set the withdrawal cycle")
        return (await self._send(said.functions.setCycle(length_s, cap_bps), what="set withdrawal cycle")).tx_hash

    # ---- views ----

    async def share_price(self) -> Decimal:
        """AID per sAID share. Deal income vests into it over the vault's vesting period."""
        return from_units(await self._protocol.said.functions.sharePrice().call(), AID_DECIMALS)

    async def vesting(self) -> dict[str, Decimal | int]:
        """Income paid into sAID that has not vested yet, the vesting period in seconds, and the writedown: the
        facility's markdown of impaired and defaulted deals, which sAID's totalAssets leaves out until the
        loss is realized or the markdown vests back."""
        said = self._protocol.said
        return {
            "unvested_aid": from_units(await said.functions.unvestedAmount().call(), AID_DECIMALS),
            "vesting_period_s": int(await said.functions.vestingPeriod().call()),
            "writedown_aid": from_units(await said.functions.writedown().call(), AID_DECIMALS),
        }


def _withdrawn(said: AsyncContract, result: TxResult) -> Decimal:
    """The AID a claim paid, from its ERC-4626 Withdraw event."""
    ev = said.events.Withdraw().process_receipt({"logs": result.logs}, errors=DISCARD)
    return from_units(ev[0]["args"]["assets"] if ev else 0, AID_DECIMALS)
