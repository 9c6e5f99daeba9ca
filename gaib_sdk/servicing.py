"""The client's servicing methods (mixed into :class:`gaib_sdk.Gaib`): a deal's revenue lockbox, its repayment
schedule and its delinquency, all read from the chain. See "Repayment schedule, lockbox and delinquency" in
docs/contracts.md."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk.errors import GaibValueError, NotDelinquentError
from gaib_sdk.models import DealInfo, DealSchedule, DealStatus, Delinquency, DueDate, SweepResult

if TYPE_CHECKING:
    from gaib_sdk.chain import Protocol, TxResult

__all__ = ["ServicingMixin"]

OPEN = (DealStatus.ACTIVE, DealStatus.IMPAIRED)


def _usdc(units: int) -> Decimal:
    return Decimal(units).scaleb(-6)


def _when(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class ServicingMixin:
    """Lockbox, schedule and delinquency methods of the client."""

    if TYPE_CHECKING:

        @property
        def protocol(self) -> Protocol: ...

        @property
        def address(self) -> str: ...

        async def send(self, call: Any, *, what: str, key: str | None = None) -> TxResult: ...

        async def require_balance(self, token: AsyncContract, amount: int, symbol: str, doing: str) -> None: ...

        async def deal(self, deal_id: int) -> DealInfo: ...

    async def lockbox(self, deal_id: int) -> str:
        """The address of the deal's revenue lockbox: the account its customers pay their invoices into."""
        info = await self.deal(deal_id)
        if info.lockbox is None:
            raise GaibValueError(f"deal {deal_id} has no lockbox")
        return info.lockbox

    async def pay_lockbox(self, deal_id: int, amount_usd: Decimal | int | str, *, key: str | None = None) -> str:
        """A customer's payment of an invoice: a plain USDC transfer from this account to the deal's lockbox.
        Nothing reaches the borrower until a sweep has paid what the deal owes. Returns the tx hash."""
        from gaib_sdk.client import USDC_DECIMALS, to_units

        amount = to_units(amount_usd, USDC_DECIMALS, what="payment")
        if amount == 0:
            raise GaibValueError("a payment into the lockbox must be more than 0 USDC")
        lockbox = await self.lockbox(deal_id)
        usdc = self.protocol.usdc
        await self.require_balance(usdc, amount, "USDC", f"pay deal {deal_id}'s lockbox")
        call = usdc.functions.transfer(lockbox, amount)
        return (await self.send(call, what=f"pay deal {deal_id}'s lockbox", key=key)).tx_hash

    async def sweep(self, deal_id: int) -> SweepResult:
        """Sweep the deal's lockbox (anyone may): what is due is paid first (fees, interest, the principal
        scheduled, a hybrid's kicker), a shortfall past the grace period is drawn from the cash reserve, a
        drawn reserve is topped up, and only the rest goes to the borrower. Returns where the money went."""
        info = await self.deal(deal_id)
        if info.status == DealStatus.DEFAULTED:
            raise GaibValueError(
                f"deal {deal_id} is defaulted: its lockbox is swept again once the deal is transferred to another "
                "operator (transfer_to_operator) or liquidated (record_liquidation)"
            )
        facility = self.protocol.facility
        result = await self.send(facility.functions.sweep(deal_id), what=f"sweep deal {deal_id}'s lockbox")
        ev = facility.events.Swept().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]["amounts"]
        return SweepResult(
            deal_id=deal_id,
            gross_usd=_usdc(ev["gross"]),
            fees_usd=_usdc(ev["fees"]),
            interest_usd=_usdc(ev["interest"]),
            principal_usd=_usdc(ev["principal"]),
            kicker_usd=_usdc(ev["kicker"]),
            reserve_drawn_usd=_usdc(ev["reserveDrawn"]),
            reserve_top_up_usd=_usdc(ev["reserveTopUp"]),
            to_borrower_usd=_usdc(ev["toBorrower"]),
            tx_hash=result.tx_hash,
        )

    async def schedule(self, deal_id: int) -> DealSchedule:
        """The deal's repayment schedule as the chain computes it from the terms: due dates every 30 days
        from opening (the last at the end of the term) and the principal each calls for."""
        info = await self.deal(deal_id)
        f = self.protocol.facility.functions
        due_at, principal = await f.installments(deal_id).call()
        met = len(due_at) if info.status == DealStatus.REPAID else int(await f.installmentsMet(deal_id).call())
        return DealSchedule(
            deal_id=deal_id,
            structure=info.terms.structure,
            lockbox=info.lockbox or "",
            installments=[
                DueDate(k=k, due_at=_when(t), principal_usd=_usdc(p), met=k <= met)
                for k, (t, p) in enumerate(zip(due_at, principal, strict=True), start=1)
            ],
            installments_met=met,
        )

    async def delinquency(self, deal_id: int) -> Delinquency:
        """Where the deal stands: days past due, what is due now, the cash reserve, and the delinquency
        trigger anyone may call (``impair`` at IMPAIR_DAYS past due, ``default`` at DEFAULT_DAYS)."""
        info = await self.deal(deal_id)
        f = self.protocol.facility.functions
        dpd = int(await f.daysPastDue(deal_id).call())
        fees, interest, principal = await f.amountDue(deal_id).call()
        grace = int(await f.GRACE_DAYS().call())
        impair = int(await f.IMPAIR_DAYS().call())
        default = int(await f.DEFAULT_DAYS().call())
        reserve_drawn = int((await f.servicing(deal_id).call())[2])
        oldest = None
        if dpd or fees or interest or principal:
            due_at, _ = await f.installments(deal_id).call()
            met = int(await f.installmentsMet(deal_id).call())
            oldest = _when(due_at[met]) if met < len(due_at) else None
        trigger: Literal["none", "impair", "default"] = "none"
        if info.status in OPEN and dpd >= default:
            trigger = "default"
        elif info.status == DealStatus.ACTIVE and dpd >= impair:
            trigger = "impair"
        return Delinquency(
            deal_id=deal_id,
            status=info.status,
            days_past_due=dpd,
            oldest_unmet_due_at=oldest,
            fees_due_usd=_usdc(fees),
            interest_due_usd=_usdc(interest),
            principal_due_usd=_usdc(principal),
            amount_due_usd=_usdc(fees + interest + principal),
            cash_reserve_usd=info.cash_reserve_usd,
            reserve_drawn_usd=_usdc(reserve_drawn),
            grace_days=grace,
            impair_days=impair,
            default_days=default,
            trigger=trigger,
        )

    async def mark_delinquent(self, deal_id: int) -> str:
        """Call the delinquency trigger the deal has reached (anyone may): at IMPAIR_DAYS past due an active
        deal is marked down by the documented markdown, at DEFAULT_DAYS it is defaulted. Returns the tx hash."""
        d = await self.delinquency(deal_id)
        if d.trigger == "none":
            if d.status not in OPEN:
                why = f"deal {deal_id} is {d.status.name.lower()}: delinquency applies to active or impaired deals"
            elif d.status == DealStatus.IMPAIRED:
                why = (
                    f"deal {deal_id} is impaired and {d.days_past_due} days past due: it can be defaulted at "
                    f"{d.default_days} days past due ({d.default_days - d.days_past_due} more)"
                )
            else:
                why = (
                    f"deal {deal_id} is {d.days_past_due} days past due: it can be marked impaired at "
                    f"{d.impair_days} days ({d.impair_days - d.days_past_due} more) and defaulted at {d.default_days}"
                )
            raise NotDelinquentError(why)
        call = self.protocol.facility.functions.markDelinquent(deal_id)
        return (await self.send(call, what=f"mark deal {deal_id} delinquent ({d.trigger})")).tx_hash
