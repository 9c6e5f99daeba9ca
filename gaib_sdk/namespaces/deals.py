"""``gaib.deals``: underwriting and the life of a deal. Appraise and quote an inventory (no transaction), read
deals back, repay them, service them through their revenue lockbox (schedule, delinquency, sweeps), the
underwriter's trouble and recovery steps, the receivables (leases) that back them, and re-marking their
collateral. Opening a deal is the second stage, :meth:`Gaib.financialize`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk.adapters import MarketPriceSource
from gaib_sdk.chain import read_ahead
from gaib_sdk.errors import GaibConfigError, GaibValueError, NotDelinquentError, UnderwritingError
from gaib_sdk.models import (
    AssetValuation,
    CreditPolicy,
    CustomerContract,
    DealInfo,
    DealSchedule,
    DealStatus,
    DealTerms,
    Delinquency,
    DueDate,
    Inventory,
    Quote,
    Repayment,
    StressPolicy,
    StressScenario,
    SweepResult,
    lease_id,
)
from gaib_sdk.namespaces._base import (
    STRUCTURE_NAMES,
    STRUCTURES,
    USDC_DECIMALS,
    Namespace,
    bytes32,
    cluster_tree,
    from_units,
    to_units,
    usdc,
)
from gaib_sdk.underwriting import (
    add_months,
    check_asset_dates,
    check_capacity,
    credit_policy,
    mark_to_market,
    running_contracts,
    stress_policy,
    underwrite,
)

__all__ = ["Deals", "FinanceResult"]

OPEN = (DealStatus.ACTIVE, DealStatus.IMPAIRED)


@dataclass(frozen=True)
class FinanceResult:
    quote: Quote
    deal: DealInfo
    tx_hash: str


class Deals(Namespace):
    """Quotes and deals: ``gaib.deals.quote("gpu", source)``, ``gaib.deals.get(7)``, ``gaib.deals.repay(7, 1000)``."""

    # ---- underwriting (no transaction) ----

    def appraise(
        self,
        kind: str,
        inventory: Inventory,
        as_of: date | None = None,
        *,
        options: dict[str, Any] | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> list[AssetValuation]:
        """Value each asset of an inventory through the kind's adapter (with its ``options``), checked against
        the kind's market prices where a plugin supplies them (:meth:`market_prices`): the lower of depreciated
        cost, market value and income value. An asset bought after ``as_of`` is refused (UnderwritingError, rule
        ``asset_dates``): it has no value yet to lend on; a stated price far above the market, rule ``stated_price``."""
        adapter = self._client.assets.adapter(kind, options)
        day = as_of or date.today()
        check_asset_dates(inventory.assets, day)
        valuations = adapter.appraise_inventory(inventory, day)
        market = self.market_prices(kind, prices)
        if market is None:
            return valuations
        return mark_to_market(inventory.assets, valuations, market, day, credit_policy(policy))

    def market_prices(self, kind: str, table: str | Path | None = None) -> MarketPriceSource | None:
        """The kind's market-price source (hook ``register_market_prices``), reading the newer price table
        ``table`` (a path or URL, its option ``table``) when given; None where no plugin prices the kind."""
        cls = self._plugins.market_price_sources().get(kind)
        if cls is None:
            if table is not None:
                raise GaibConfigError(f"no market-price source for kind {kind!r}: a price table cannot be read")
            return None
        return cls({"table": str(table)} if table is not None else None)

    async def quote(
        self,
        kind: str,
        source: Inventory | str | Path | None = None,
        *,
        as_of: date | None = None,
        advance_usd: Decimal | None = None,
        terms: DealTerms | dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        stress: StressPolicy | dict[str, Any] | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> Quote:
        """Underwrite an inventory: appraise it, check the hard rules, price the advance, and stress the
        deal (``stress``: a :class:`~gaib_sdk.models.StressPolicy` or its fields; docs/underwriting.md).
        ``policy`` (a :class:`~gaib_sdk.models.CreditPolicy` or its fields) holds the limits on the inputs;
        ``prices`` a newer market-price table for the kind's price source. No transaction."""
        inventory = await self._inventory(kind, source, options)
        day = as_of or date.today()
        adapter = self._client.assets.adapter(kind, options)
        return underwrite(
            inventory,
            adapter.appraise_inventory(inventory, day),
            as_of=day,
            advance_usd=advance_usd,
            terms=_terms(terms),
            costs=adapter.operating_costs(inventory, day),
            on_demand=adapter.on_demand(inventory, day),
            stress=_with_scenarios(stress_policy(stress), adapter.stress_scenarios(inventory, day)),
            price_ceiling_usd=adapter.price_ceiling(inventory),
            market=self.market_prices(kind, prices),
            policy=credit_policy(policy),
        )

    async def _inventory(
        self, kind: str, source: Inventory | str | Path | None, options: dict[str, Any] | None
    ) -> Inventory:
        if isinstance(source, Inventory):
            return source
        return await self._client.assets.read_inventory(kind, source, options=options)

    async def _open_deal(
        self, q: Quote, borrower: str, key: str, collateral: list[str] | None = None, leases: list[str] | None = None
    ) -> FinanceResult:
        p, t = self._protocol, q.terms
        call = p.facility.functions.openDeal(
            borrower,
            q.asset_ids if collateral is None else collateral,
            to_units(q.appraised_value_usd, USDC_DECIMALS, what="appraised value"),
            to_units(q.advance_usd, USDC_DECIMALS, what="advance"),
            (STRUCTURES[t.structure], t.rate_bps, t.revenue_share_bps, t.fee_bps, t.term_days),
            leases or [],
        )
        result = await self._send(call, what="open deal", key=key)
        event = p.facility.events.DealOpened().process_receipt({"logs": result.logs}, errors=DISCARD)
        deal_id = int(event[0]["args"]["dealId"])
        deal = await self.get(deal_id)
        if (deal.advance_usd, deal.terms) != (q.advance_usd, q.terms):
            # The journal gave back the deal an earlier request opened on this collateral: this request, asking
            # for other figures, is not that one resumed but a second deal on the same collateral.
            raise UnderwritingError(
                f"this collateral is already financed by deal {deal_id} (advance {deal.advance_usd} USDC, "
                f"{_terms_text(deal.terms)}; opened in tx {result.tx_hash}): a second deal on it is refused, "
                f"nothing was sent. This request asked for advance {q.advance_usd} USDC, {_terms_text(q.terms)}",
                rule="real_collateral",
            )
        return FinanceResult(quote=q, deal=deal, tx_hash=result.tx_hash)

    def _deal_reads(self, deal_id: int) -> list[Any]:
        """The reads of :meth:`get`, for :meth:`Chain.prefetch`."""
        f = self._protocol.facility.functions
        return [f.getDeal(deal_id), f.collateralOf(deal_id), f.servicing(deal_id)]

    @read_ahead
    async def get(self, deal_id: int) -> DealInfo:
        """A deal as the chain holds it, with fees and interest accrued to the latest block."""
        p = self._protocol
        await self._chain.prefetch(self._deal_reads(deal_id))
        d = await p.facility.functions.getDeal(deal_id).call()
        if d[2] == 0:
            raise GaibValueError(
                f"there is no deal {deal_id} (deals so far: {await p.facility.functions.dealCount().call()})"
            )
        collateral = await p.facility.functions.collateralOf(deal_id).call()
        lockbox = (await p.facility.functions.servicing(deal_id).call())[0]
        structure, rate, share, fee, term = d[1]
        return DealInfo(
            deal_id=deal_id,
            borrower=d[0],
            status=DealStatus(d[2]),
            appraised_value_usd=usdc(d[5]),
            advance_usd=usdc(d[6]),
            principal_outstanding_usd=usdc(d[7]),
            interest_due_usd=usdc(d[8]),
            fees_due_usd=usdc(d[9]),
            interest_paid_usd=usdc(d[10]),
            fees_paid_usd=usdc(d[11]),
            cash_reserve_usd=usdc(d[12]),
            impairment_usd=usdc(d[13]),
            terms=DealTerms(
                structure=STRUCTURE_NAMES[structure],
                rate_bps=rate,
                revenue_share_bps=share,
                fee_bps=fee,
                term_days=term,
            ),
            collateral=["0x" + c.hex() for c in collateral],
            lockbox=lockbox,
        )

    @read_ahead
    async def repay(self, deal_id: int, amount_usd: Decimal | int | str, *, key: str | None = None) -> Repayment:
        """Pay up to ``amount_usd`` USDC into a deal. The waterfall takes fees, then interest (which goes
        to sAID holders), then principal; whatever is not owed stays with the payer. With ``key`` (e.g. the
        period's invoice number), calling again after a crash pays once."""
        p = self._protocol
        amount = to_units(amount_usd, USDC_DECIMALS, what="repayment")
        repay_key = self._key(key, f"repay:{deal_id}")
        call = p.facility.functions.repay(deal_id, amount)
        if not self._resuming(repay_key):
            if amount == 0:
                raise GaibValueError("repayment must be more than 0 USDC")
            await self._chain.prefetch([*self._deal_reads(deal_id), *self._balance_reads(p.usdc, p.facility)])
            info = await self.get(deal_id)
            if info.status not in (DealStatus.ACTIVE, DealStatus.IMPAIRED):
                raise GaibValueError(f"deal {deal_id} is {info.status.name.lower()}, not active: nothing to repay")
            await self._require_balance(p.usdc, amount, "USDC", "repay")
            await self._approve(p.usdc, p.facility.address, amount)
        result = await self._send(call, what=f"repay deal {deal_id}", key=repay_key)
        ev = p.facility.events.Repaid().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return Repayment(
            deal_id=deal_id,
            fees_usd=usdc(ev["fees"]),
            interest_usd=usdc(ev["interest"]),
            principal_usd=usdc(ev["principal"]),
            excess_usd=usdc(ev["excess"]),
            tx_hash=result.tx_hash,
        )

    async def repay_from_revenue(self, deal_id: int, gross_revenue_usd: Decimal | int | str) -> Repayment:
        """Revenue-share and hybrid deals: pay the lender's share of a period's gross revenue."""
        info = await self.get(deal_id)
        if info.terms.structure == "fixed":
            raise GaibValueError(f"deal {deal_id} is a {info.terms.structure} deal: use gaib.deals.repay()")
        gross = to_units(gross_revenue_usd, USDC_DECIMALS, what="gross revenue")
        share = gross * info.terms.revenue_share_bps // 10_000
        if share == 0:
            raise GaibValueError(f"the lender's share of {gross_revenue_usd} USDC gross revenue rounds to 0")
        return await self.repay(deal_id, from_units(share, USDC_DECIMALS))

    # ---- trouble and recovery (underwriter) ----

    async def _underwrite(self, call: Any, what: str) -> str:
        await self._require_role(self._protocol.facility, "UNDERWRITER_ROLE", what)
        return (await self._send(call, what=what)).tx_hash

    async def _deal_in(self, deal_id: int, *statuses: DealStatus) -> DealInfo:
        info = await self.get(deal_id)
        if info.status not in statuses:
            wanted = " or ".join(s.name.lower() for s in statuses)
            raise GaibValueError(f"deal {deal_id} is {info.status.name.lower()}, not {wanted}")
        return info

    async def impair(self, deal_id: int, markdown_usd: Decimal | int | str) -> str:
        """Mark an active deal down by its expected loss while it is worked out. sAID's share price falls by it
        in the same block (less income not vested yet, which absorbs it first)."""
        info = await self._deal_in(deal_id, DealStatus.ACTIVE)
        markdown = to_units(markdown_usd, USDC_DECIMALS, what="markdown")
        if not 0 < markdown <= to_units(info.principal_outstanding_usd, USDC_DECIMALS, what="principal"):
            raise GaibValueError(
                f"markdown {markdown_usd} USDC must be above 0 and at most the principal outstanding, "
                f"{info.principal_outstanding_usd} USDC"
            )
        return await self._underwrite(self._protocol.facility.functions.impair(deal_id, markdown), "impair a deal")

    async def cure(self, deal_id: int) -> str:
        """An impaired deal is performing again: its markdown vests back into sAID's share price over the
        vesting period, not at once."""
        await self._deal_in(deal_id, DealStatus.IMPAIRED)
        return await self._underwrite(self._protocol.facility.functions.cure(deal_id), "cure a deal")

    async def declare_default(self, deal_id: int) -> str:
        """The borrower has defaulted: the hardware goes to the underwriter by a true sale, and the deal is
        marked down to at least its principal outstanding less its cash reserve, at once."""
        await self._deal_in(deal_id, DealStatus.ACTIVE, DealStatus.IMPAIRED)
        return await self._underwrite(self._protocol.facility.functions.declareDefault(deal_id), "declare a default")

    async def transfer_to_operator(self, deal_id: int, new_borrower: str) -> str:
        """Recovery by transfer: another operator takes the hardware and the deal goes on with it."""
        await self._deal_in(deal_id, DealStatus.DEFAULTED)
        call = self._protocol.facility.functions.transferToOperator(deal_id, new_borrower)
        return await self._underwrite(call, "transfer a deal to another operator")

    async def record_liquidation(self, deal_id: int, proceeds_usd: Decimal | int | str) -> dict[str, Decimal]:
        """Recovery by liquidation: pay in what the hardware sold for. With the deal's cash reserve it repays
        principal, then unpaid interest; the rest of the principal is a realized loss, borne first by sAID."""
        p = self._protocol
        await self._deal_in(deal_id, DealStatus.DEFAULTED)
        proceeds = to_units(proceeds_usd, USDC_DECIMALS, what="liquidation proceeds")
        await self._require_role(p.facility, "UNDERWRITER_ROLE", "record a liquidation")
        if proceeds:
            await self._require_balance(p.usdc, proceeds, "USDC", "pay in the liquidation proceeds")
            await self._approve(p.usdc, p.facility.address, proceeds)
        result = await self._send(p.facility.functions.recordLiquidation(deal_id, proceeds), what="record liquidation")
        ev = p.facility.events.DealLiquidated().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return {
            "proceeds_usd": usdc(ev["proceeds"]),
            "cash_reserve_usd": usdc(ev["cashReserve"]),
            "principal_recovered_usd": usdc(ev["principalRecovered"]),
            "loss_usd": usdc(ev["loss"]),
            "excess_usd": usdc(ev["excess"]),
        }

    # ---- re-marking the collateral of open deals ----

    async def remark(
        self,
        kind: str,
        sources: Sequence[Inventory | str | Path] | None = None,
        *,
        as_of: date | None = None,
        options: dict[str, Any] | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> list[dict[str, Any]]:
        """Re-mark every open deal's collateral (active or impaired) at ``as_of``: each inventory of ``sources``
        (by default the kind's example) is matched to the deal whose collateral it is (its asset ids, or its
        cluster root) and valued again as :meth:`appraise` does (lower of depreciated cost, market and income);
        the LTV is the principal outstanding over that current value, beside the LTV against the value at
        origination. A deal no inventory matches keeps ``current_value_usd`` None: give its inventory."""
        day = as_of or date.today()
        given: Sequence[Inventory | str | Path | None] = sources or [None]
        inventories = [await self._inventory(kind, src, options) for src in given]
        keyed: list[tuple[set[str], Inventory]] = []
        for inv in inventories:
            keyed.append(({a.asset_id.lower() for a in inv.assets}, inv))
            keyed.append(({cluster_tree(inv).root.lower()}, inv))
        rows = []
        for deal_id in range(1, await self._protocol.facility.functions.dealCount().call() + 1):
            d = await self.get(deal_id)
            if d.status not in (DealStatus.ACTIVE, DealStatus.IMPAIRED):
                continue
            held = {c.lower() for c in d.collateral}
            match = next((inv for ids, inv in keyed if ids == held), None)
            current: Decimal | None = None
            binding: str | None = None
            if match is not None:
                valued = self.appraise(kind, match, day, options=options, policy=policy, prices=prices)
                current = sum((v.value_usd for v in valued), Decimal(0))
                bindings = {v.binding for v in valued}
                binding = str(bindings.pop()) if len(bindings) == 1 else "mixed"
            owed = d.principal_outstanding_usd

            def ltv(value: Decimal | None, owed: Decimal = owed) -> Decimal | None:
                return None if not value else (owed / value).quantize(Decimal("0.0001"))

            rows.append(
                {
                    "deal_id": deal_id,
                    "borrower": d.borrower,
                    "status": d.status.name.lower(),
                    "as_of": day.isoformat(),
                    "principal_outstanding_usd": owed,
                    "value_at_origination_usd": d.appraised_value_usd,
                    "current_value_usd": current,
                    "binding": binding,
                    "ltv_at_origination": ltv(d.appraised_value_usd),
                    "ltv_now": ltv(current),
                }
            )
        return rows

    # ---- receivables (leases) ----

    async def _pledgeable_leases(
        self,
        kind: str,
        inventory: Inventory,
        as_of: date,
        borrower: str,
        collateral: list[str],
        units: int,
        ceiling_usd: Decimal,
        resuming: bool,
    ) -> list[str]:
        """The lease ids a new deal on ``collateral`` is pledged: the inventory's contracts signed by ``as_of``
        and not ended on-chain, registered first if they are not (covering the whole collateral), the kind's
        price ceiling set first if it is not. Refused before anything is sent: a lease that backs another open
        deal, covers what the deal does not hold, or revenue above the collateral's capacity on-chain."""
        p = self._protocol
        if p.leases is None:
            raise GaibConfigError(
                "this deployment has no LeaseRegistry (it predates the receivables): deploy the protocol again",
                chain_id=self._chain.chain_id,
            )
        now = await self._chain.timestamp()
        contracts = [c for c in running_contracts(inventory.contracts, as_of) if _lease_end(c) > now]
        ceiling = await p.leases.functions.priceCeiling(bytes32(kind)).call()
        set_ceiling = bool(contracts) and ceiling == 0
        if set_ceiling:
            await self._require_role(p.leases, "UNDERWRITER_ROLE", f"set the {kind!r} price ceiling")
            ceiling = to_units(ceiling_usd, USDC_DECIMALS, what=f"the {kind!r} adapter's price ceiling")
        check_capacity(contracts, units, usdc(ceiling))  # the chain's ceiling binds, not the adapter's
        wanted = {c.lower() for c in collateral}
        ids, new = [], []
        await self._chain.prefetch([p.leases.functions.getLease(lease_id(borrower, c)) for c in contracts])
        for c in contracts:
            lid = lease_id(borrower, c)
            lease = await self.lease(lid)
            ids.append(lid)
            if lease["operator"] is None:
                new.append(c)
                continue
            if lease["deal_id"] is not None and not resuming:
                raise UnderwritingError(
                    f"lease {lid} ({c.customer}, {c.starts_on}, {c.monthly_revenue_usd} USD a month) already backs "
                    f"open deal {lease['deal_id']}: a lease backs one open deal at a time; close that deal first",
                    rule="lease_pledged",
                )
            outside = [x for x in lease["covers"] if x.lower() not in wanted]
            if outside:
                raise UnderwritingError(
                    f"lease {lid} ({c.customer}) covers {outside[0]}, which this deal's collateral does not hold: "
                    "a lease backs only a deal that holds all it covers",
                    rule="lease_covers",
                )
        if new and self._address != borrower:
            await self._require_role(p.leases, "UNDERWRITER_ROLE", f"register the leases of {borrower}")
        # every check passed: only now is anything sent
        if set_ceiling:
            call = p.leases.functions.setPriceCeiling(bytes32(kind), ceiling)
            await self._send(call, what=f"set the {kind} price ceiling")
        for c in new:
            call = p.leases.functions.register(
                borrower,
                c.customer_hash,
                c.contract_ref,
                to_units(c.monthly_revenue_usd, USDC_DECIMALS, what=f"{c.customer}'s monthly amount"),
                _lease_start(c),
                _lease_end(c),
                collateral,
            )
            key = f"lease:{p.leases.address}:{lease_id(borrower, c)}"
            await self._send(call, what=f"register the lease of {c.customer}", key=key)
        return ids

    async def lease(self, lease_id: str) -> dict[str, Any]:
        """A lease as the LeaseRegistry holds it: its operator (None if it is not registered), customer hash,
        contract reference, monthly amount (USD), start and end (unix seconds), the collateral it covers and
        the open deal it backs (None while it backs none)."""
        leases = self._leases()
        raw = await leases.functions.getLease(lease_id).call()
        registered = int(raw[0], 16) != 0
        return {
            "lease_id": lease_id,
            "operator": raw[0] if registered else None,
            "start": raw[1],
            "end": raw[2],
            "customer_hash": "0x" + raw[3].hex(),
            "contract_ref": "0x" + raw[4].hex(),
            "monthly_usd": usdc(raw[5]),
            "deal_id": raw[6] or None,
            "covers": ["0x" + c.hex() for c in await leases.functions.coversOf(lease_id).call()] if registered else [],
        }

    async def leases(self, deal_id: int) -> list[str]:
        """The ids of the leases pledged to a deal when it opened (still listed once it has closed)."""
        return ["0x" + x.hex() for x in await self._leases().functions.leasesOf(deal_id).call()]

    async def set_price_ceiling(self, kind: str, usd_per_unit_hour: Decimal | int | str) -> str:
        """Underwriter: the most one unit of ``kind`` earns an hour, the cap on its deals' contracted revenue."""
        leases = self._leases()
        await self._require_role(leases, "UNDERWRITER_ROLE", f"set the {kind!r} price ceiling")
        amount = to_units(usd_per_unit_hour, USDC_DECIMALS, what="price ceiling")
        return (await self._send(leases.functions.setPriceCeiling(bytes32(kind), amount), what="set ceiling")).tx_hash

    def _leases(self) -> AsyncContract:
        if self._protocol.leases is None:
            raise GaibConfigError(
                "this deployment has no LeaseRegistry (it predates the receivables): deploy the protocol again",
                chain_id=self._chain.chain_id,
            )
        return self._protocol.leases

    # ---- servicing: the revenue lockbox, the schedule, delinquency (docs/contracts.md) ----

    async def lockbox(self, deal_id: int) -> str:
        """The address of the deal's revenue lockbox: the account its customers pay their invoices into."""
        info = await self.get(deal_id)
        if info.lockbox is None:
            raise GaibValueError(f"deal {deal_id} has no lockbox")
        return info.lockbox

    async def pay_lockbox(self, deal_id: int, amount_usd: Decimal | int | str, *, key: str | None = None) -> str:
        """A customer's payment of an invoice: a plain USDC transfer from this account to the deal's lockbox.
        Nothing reaches the borrower until a sweep has paid what the deal owes. Returns the tx hash."""
        amount = to_units(amount_usd, USDC_DECIMALS, what="payment")
        if amount == 0:
            raise GaibValueError("a payment into the lockbox must be more than 0 USDC")
        lockbox = await self.lockbox(deal_id)
        usdc = self._protocol.usdc
        await self._require_balance(usdc, amount, "USDC", f"pay deal {deal_id}'s lockbox")
        call = usdc.functions.transfer(lockbox, amount)
        return (await self._send(call, what=f"pay deal {deal_id}'s lockbox", key=key)).tx_hash

    async def sweep(self, deal_id: int) -> SweepResult:
        """Sweep the deal's lockbox (anyone may): what is due is paid first (fees, interest, the principal
        scheduled, a hybrid's kicker), a shortfall past the grace period is drawn from the cash reserve, a
        drawn reserve is topped up, and only the rest goes to the borrower. Returns where the money went."""
        info = await self.get(deal_id)
        if info.status == DealStatus.DEFAULTED:
            raise GaibValueError(
                f"deal {deal_id} is defaulted: its lockbox is swept again once the deal is transferred to another "
                "operator (gaib.deals.transfer_to_operator) or liquidated (gaib.deals.record_liquidation)"
            )
        facility = self._protocol.facility
        result = await self._send(facility.functions.sweep(deal_id), what=f"sweep deal {deal_id}'s lockbox")
        ev = facility.events.Swept().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]["amounts"]
        return SweepResult(
            deal_id=deal_id,
            gross_usd=_usdc_scaled(ev["gross"]),
            fees_usd=_usdc_scaled(ev["fees"]),
            interest_usd=_usdc_scaled(ev["interest"]),
            principal_usd=_usdc_scaled(ev["principal"]),
            kicker_usd=_usdc_scaled(ev["kicker"]),
            reserve_drawn_usd=_usdc_scaled(ev["reserveDrawn"]),
            reserve_top_up_usd=_usdc_scaled(ev["reserveTopUp"]),
            to_borrower_usd=_usdc_scaled(ev["toBorrower"]),
            tx_hash=result.tx_hash,
        )

    async def schedule(self, deal_id: int) -> DealSchedule:
        """The deal's repayment schedule as the chain computes it from the terms: due dates every 30 days
        from opening (the last at the end of the term) and the principal each calls for."""
        info = await self.get(deal_id)
        f = self._protocol.facility.functions
        due_at, principal = await f.installments(deal_id).call()
        met = len(due_at) if info.status == DealStatus.REPAID else int(await f.installmentsMet(deal_id).call())
        return DealSchedule(
            deal_id=deal_id,
            structure=info.terms.structure,
            lockbox=info.lockbox or "",
            installments=[
                DueDate(k=k, due_at=_when(t), principal_usd=_usdc_scaled(p), met=k <= met)
                for k, (t, p) in enumerate(zip(due_at, principal, strict=True), start=1)
            ],
            installments_met=met,
        )

    async def delinquency(self, deal_id: int) -> Delinquency:
        """Where the deal stands: days past due, what is due now, the cash reserve, and the delinquency
        trigger anyone may call (``impair`` at IMPAIR_DAYS past due, ``default`` at DEFAULT_DAYS)."""
        info = await self.get(deal_id)
        f = self._protocol.facility.functions
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
            fees_due_usd=_usdc_scaled(fees),
            interest_due_usd=_usdc_scaled(interest),
            principal_due_usd=_usdc_scaled(principal),
            amount_due_usd=_usdc_scaled(fees + interest + principal),
            cash_reserve_usd=info.cash_reserve_usd,
            reserve_drawn_usd=_usdc_scaled(reserve_drawn),
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
        call = self._protocol.facility.functions.markDelinquent(deal_id)
        return (await self._send(call, what=f"mark deal {deal_id} delinquent ({d.trigger})")).tx_hash


def _with_scenarios(policy: StressPolicy, scenarios: list[StressScenario] | None) -> StressPolicy:
    """The policy with the adapter's own scenarios, unless the policy names its own."""
    if scenarios is None or policy.scenarios is not None:
        return policy
    return policy.model_copy(update={"scenarios": scenarios})


def _terms_text(t: DealTerms) -> str:
    if t.structure == "fixed":
        return f"fixed {t.rate_bps / 100:g}% over {t.term_days} days"
    return f"{t.structure} {t.rate_bps / 100:g}% + {t.revenue_share_bps / 100:g}% of revenue over {t.term_days} days"


def _terms(terms: DealTerms | dict[str, Any] | None) -> DealTerms | None:
    """Terms given as a dict are validated here, so a bad one is a GaibValueError naming the field."""
    if terms is None or isinstance(terms, DealTerms):
        return terms
    try:
        return DealTerms.model_validate(terms)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "terms"
        raise GaibValueError(f"deal terms, field {field!r}: {err['msg']}", stage="financialize") from exc


def _lease_start(contract: CustomerContract) -> int:
    """A contract's start, midnight UTC of its first day, in unix seconds."""
    return int(datetime.combine(contract.starts_on, time(), tzinfo=UTC).timestamp())


def _lease_end(contract: CustomerContract) -> int:
    """A contract's end, midnight UTC of the day its term is over, in unix seconds."""
    end = add_months(contract.starts_on, contract.term_months)
    return int(datetime.combine(end, time(), tzinfo=UTC).timestamp())


def _usdc_scaled(units: int) -> Decimal:
    """USDC base units to USDC, at six places (the servicing reads' figures)."""
    return Decimal(units).scaleb(-USDC_DECIMALS)


def _when(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
