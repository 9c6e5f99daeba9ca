"""Read the report's figures from the chain: the protocol's event logs since its deployment, and the
contracts' views at the blocks where something happened.

Nothing comes from the client's memory. The logs of AIDollar, StakedAID and the CreditFacility are read
with ``eth_getLogs`` from the deployment's block to the report's block (in windows of
:data:`LOG_WINDOW` blocks, which public nodes accept); each block that holds one of their events, and the
deployment's and the report's blocks, is a point of the time series, where the views are called with
``block_identifier`` (the embedded EVM and anvil keep every block's state; against a public node this needs
an archive node). A node that keeps no past state (a full node that is not an archive, anvil
``--prune-history``) is detected: then the history comes from the logs alone and the views are read at the
report's block only (``ReportData.history == "events"``). Between two points nothing the protocol does
changes, except what time alone moves: interest accruing on the deals and income vesting into sAID.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Sequence
from typing import Any, Literal, cast

from eth_utils.abi import event_abi_to_log_topic
from hexbytes import HexBytes
from web3.contract import AsyncContract

from gaib_sdk import __version__
from gaib_sdk.client import STRUCTURE_NAMES, Gaib
from gaib_sdk.errors import ChainError
from gaib_sdk.models import LoanRisk
from gaib_sdk.report.data import (
    DEAL_STATUSES,
    ONE_SHARE,
    OPEN_STATUSES,
    USDC_DECIMALS,
    Concentration,
    ConcentrationRow,
    DealEvent,
    DealPoint,
    DealReport,
    Delinquency,
    DelinquencyBucket,
    FairValue,
    Holding,
    LeaseRow,
    LedgerEntry,
    LedgerPoint,
    Liquidation,
    LoanTapeRow,
    Loss,
    NavPoint,
    Payment,
    Recovery,
    ReportData,
    ReserveComposition,
    StressAssumptions,
    StressReport,
    Waterfall,
    WaterfallRow,
    instant_exit_value,
)
from gaib_sdk.underwriting.stress import simulate_portfolio

__all__ = ["DEFAULT_STRESS", "LOG_WINDOW", "collect"]

#: Blocks per eth_getLogs request.
LOG_WINDOW = 10_000
#: The events read, by contract; ERC-20 transfers and approvals and role changes are left out.
EVENTS: dict[str, tuple[str, ...]] = {
    "aid": (
        "Minted",
        "MintedWith",
        "Redeemed",
        "RedeemedTo",
        "DealFunded",
        "PrincipalReturned",
        "IncomeMinted",
        "LossRealized",
        "RedemptionRequested",
        "RedemptionFilled",
        "Claimed",
        "Paused",
        "Unpaused",
        "CapsSet",
    ),
    "said": ("Deposit", "Withdraw", "RewardsReceived", "VestingPeriodSet", "RedeemRequest", "CycleProcessed"),
    "facility": (
        "DealOpened",
        "Repaid",
        "DealClosed",
        "DealImpaired",
        "DealCured",
        "DealDefaulted",
        "DealTransferred",
        "DealLiquidated",
        "CashReserveSet",
        "MaxAdvanceSet",
        "TreasurySet",
    ),
}
_DEAL_EVENTS = {
    "DealOpened": ("opened", "advance"),
    "DealImpaired": ("impaired", "markdown"),
    "DealCured": ("cured", None),
    "DealDefaulted": ("defaulted", "principalOutstanding"),
    "DealTransferred": ("transferred", None),
    "DealLiquidated": ("liquidated", "loss"),
    "DealClosed": ("closed", "cashReserveReleased"),
}
#: The stress test's assumptions unless the caller gives others.
DEFAULT_STRESS = StressAssumptions(
    default_probability=0.08,
    impaired_default_probability=0.5,
    recovery_haircut=0.6,
    collateral_decline_per_year=0.2,
    rent_volatility=0.35,
    horizon_years=1.0,
    paths=20_000,
    seed=2026,
    correlations=[0.0, 0.2, 0.5],
)
_GRID = tuple(i / 2 for i in range(201))  # percentiles 0, 0.5, ..., 100
WATERFALL_DAYS = 30


def _text(value: Any) -> str:
    """An event argument as a string (see LedgerEntry)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, bytes):
        return HexBytes(value).to_0x_hex()
    if isinstance(value, dict):
        return json.dumps([_text(v) for v in value.values()])
    if isinstance(value, list | tuple):
        return json.dumps([_text(v) for v in value])
    return str(value)


class _Reader:
    """One collection: the protocol's contracts, the report's block, and a cache of block timestamps."""

    def __init__(self, gaib: Gaib, block: int):
        self.gaib = gaib
        self.w3 = gaib.chain.w3
        self.p = gaib.protocol
        self.block = block
        self.contracts: dict[str, AsyncContract] = {"aid": self.p.aid, "said": self.p.said, "facility": self.p.facility}
        self._times: dict[int, int] = {}

    async def timestamp(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = int((await self.w3.eth.get_block(block))["timestamp"])
        return self._times[block]

    async def logs(self, from_block: int) -> list[LedgerEntry]:
        decoders: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for key, contract in self.contracts.items():
            for entry in contract.abi:
                abi = cast(dict[str, Any], entry)
                if abi.get("type") == "event" and abi["name"] in EVENTS[key]:
                    topic = event_abi_to_log_topic(cast(Any, abi))
                    decoders[(contract.address.lower(), topic)] = (key, contract.events[abi["name"]]())
        addresses = [c.address for c in self.contracts.values()]
        topics = sorted({t for _, t in decoders}, key=bytes.hex)
        raw: list[Any] = []
        for start in range(from_block, self.block + 1, LOG_WINDOW):
            end = min(self.block, start + LOG_WINDOW - 1)
            params: Any = {
                "fromBlock": start,
                "toBlock": end,
                "address": addresses,
                "topics": [[HexBytes(t).to_0x_hex() for t in topics]],
            }
            try:
                raw.extend(await self.w3.eth.get_logs(params))
            except Exception as exc:
                raise ChainError(
                    f"could not read the protocol's logs of blocks {start}-{end}: {exc}",
                    chain_id=self.gaib.chain.chain_id,
                ) from exc
        raw.sort(key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))
        entries = []
        for log in raw:
            found = decoders.get((str(log["address"]).lower(), bytes(log["topics"][0])))
            if found is None:
                continue
            key, event = found
            decoded = event.process_log(log)
            block = int(log["blockNumber"])
            entries.append(
                LedgerEntry(
                    block=block,
                    timestamp=await self.timestamp(block),
                    contract=key,  # type: ignore[arg-type]
                    event=str(decoded["event"]),
                    tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
                    log_index=int(log["logIndex"]),
                    args={name: _text(value) for name, value in decoded["args"].items()},
                )
            )
        return entries

    async def nav_point(self, block: int, scale: int) -> NavPoint:
        aid, said = self.p.aid.functions, self.p.said.functions
        calls = [
            aid.totalSupply(),
            aid.totalReserve(),
            aid.principalDeployed(),
            aid.uncoveredLoss(),
            aid.queuedStable(),
            aid.totalClaimable(),
            said.totalAssets(),
            said.totalSupply(),
            said.unvestedAmount(),
            said.sharePrice(),
            said.previewMint(ONE_SHARE),
        ]
        values = await asyncio.gather(*(c.call(block_identifier=block) for c in calls))
        supply, reserve, deployed, uncovered, queued, claimable, assets, shares, unvested, price, deposit = (
            int(v) for v in values
        )
        return NavPoint(
            block=block,
            timestamp=await self.timestamp(block),
            aid_supply=supply,
            reserve=reserve,
            principal_deployed=deployed,
            uncovered_loss=uncovered,
            queued_stable=queued,
            total_claimable=claimable,
            said_total_assets=assets,
            said_total_supply=shares,
            said_unvested=unvested,
            share_price=price,
            deposit_price=deposit,
            instant_exit_value=instant_exit_value(
                share_price=price, reserve=reserve, queued_stable=queued, aid_supply=supply, scale=scale
            ),
        )

    async def deal_point(self, deal_id: int, block: int) -> DealPoint:
        d = await self.p.facility.functions.getDeal(deal_id).call(block_identifier=block)
        return DealPoint(
            block=block,
            timestamp=await self.timestamp(block),
            status=DEAL_STATUSES[d[2]],  # type: ignore[arg-type]
            principal_outstanding=d[7],
            interest_due=d[8],
            fees_due=d[9],
            interest_paid=d[10],
            fees_paid=d[11],
            cash_reserve=d[12],
            impairment=d[13],
        )

    async def deal(self, deal_id: int, ledger: Sequence[LedgerEntry], blocks: Sequence[int]) -> DealReport:
        mine = [e for e in ledger if e.contract == "facility" and e.args.get("dealId") == str(deal_id)]
        opened = next((e for e in mine if e.event == "DealOpened"), None)
        if opened is None:
            raise ChainError(
                f"deal {deal_id} has no DealOpened event since block {blocks[0]}: it was opened before the "
                "deployment block in the deployments file",
                chain_id=self.gaib.chain.chain_id,
            )
        history: list[DealPoint] = []
        for block in blocks:
            if block < opened.block:
                continue
            point = await self.deal_point(deal_id, block)
            history.append(point)
            if point.status in ("repaid", "liquidated"):
                break  # final: every later point is the same
        d = await self.p.facility.functions.getDeal(deal_id).call(block_identifier=self.block)
        structure, rate, share, fee, term = d[1]
        collateral = await self.p.facility.functions.collateralOf(deal_id).call(block_identifier=self.block)
        payments = [
            Payment(
                block=e.block,
                timestamp=e.timestamp,
                tx_hash=e.tx_hash,
                log_index=e.log_index,
                payer=e.args["payer"],
                fees=e.number("fees"),
                interest=e.number("interest"),
                principal=e.number("principal"),
                excess=e.number("excess"),
            )
            for e in mine
            if e.event == "Repaid"
        ]
        events = []
        for e in mine:
            if e.event in _DEAL_EVENTS:
                name, amount = _DEAL_EVENTS[e.event]
                events.append(
                    DealEvent(
                        block=e.block,
                        timestamp=e.timestamp,
                        name=name,  # type: ignore[arg-type]
                        tx_hash=e.tx_hash,
                        amount=e.number(amount) if amount else 0,
                    )
                )
        liquidation = next(
            (
                Liquidation(
                    block=e.block,
                    timestamp=e.timestamp,
                    tx_hash=e.tx_hash,
                    proceeds=e.number("proceeds"),
                    cash_reserve=e.number("cashReserve"),
                    principal_recovered=e.number("principalRecovered"),
                    loss=e.number("loss"),
                    excess=e.number("excess"),
                )
                for e in mine
                if e.event == "DealLiquidated"
            ),
            None,
        )
        return DealReport(
            deal_id=deal_id,
            borrower=d[0],
            structure=STRUCTURE_NAMES[structure],
            rate_bps=rate,
            revenue_share_bps=share,
            fee_bps=fee,
            term_days=term,
            appraised_value=d[5],
            advance=d[6],
            collateral=len(collateral),
            status=DEAL_STATUSES[d[2]],  # type: ignore[arg-type]
            history=history,
            payments=payments,
            events=events,
            liquidation=liquidation,
        )


def _waterfall(deals: Sequence[DealReport], end: int, days: int = WATERFALL_DAYS) -> Waterfall:
    payments = [(d.deal_id, p) for d in deals for p in d.payments]
    span = days * 86_400
    if payments and not any(p.timestamp > end - span for _, p in payments):
        end = max(p.timestamp for _, p in payments)
    rows = []
    for deal in deals:
        window = [p for p in deal.payments if end - span < p.timestamp <= end]
        if window:
            rows.append(
                WaterfallRow(
                    deal_id=deal.deal_id,
                    payments=len(window),
                    fees=sum(p.fees for p in window),
                    interest=sum(p.interest for p in window),
                    principal=sum(p.principal for p in window),
                    excess=sum(p.excess for p in window),
                )
            )
    return Waterfall(days=days, start=end - span, end=end, rows=rows)


def _ledger_nav(ledger: Sequence[LedgerEntry], from_block: int, from_timestamp: int, scale: int) -> list[LedgerPoint]:
    """AID's balance sheet after each block with AIDollar events, from the deployment's (all zero) on."""
    supply = deployed = uncovered = queued = claimable = 0
    points = [
        LedgerPoint(
            block=from_block,
            timestamp=from_timestamp,
            aid_supply=0,
            reserve=0,
            principal_deployed=0,
            uncovered_loss=0,
            queued_stable=0,
            total_claimable=0,
        )
    ]
    for e in ledger:
        if e.contract != "aid":
            continue
        if e.event in ("Minted", "MintedWith", "IncomeMinted"):
            supply += e.number("aidOut")
        elif e.event == "Redeemed":
            supply -= e.number("stableOut") * scale
        elif e.event == "RedeemedTo":
            supply -= e.number("aidIn")
        elif e.event == "DealFunded":
            deployed += e.number("stableAmount")
        elif e.event == "PrincipalReturned":
            deployed -= e.number("stableAmount")
        elif e.event == "LossRealized":
            deployed -= e.number("stableLoss")
            supply -= e.number("absorbedByVault") * scale
            uncovered += e.number("uncovered")
        elif e.event == "RedemptionRequested":
            queued += e.number("stableOwed")
        elif e.event == "RedemptionFilled":
            supply -= e.number("stable") * scale
            queued -= e.number("stable")
            claimable += e.number("stable")
        elif e.event == "Claimed":
            claimable -= e.number("stable")
        else:
            continue
        point = LedgerPoint(
            block=e.block,
            timestamp=e.timestamp,
            aid_supply=supply,
            reserve=max(0, supply // scale - deployed - uncovered),
            principal_deployed=deployed,
            uncovered_loss=uncovered,
            queued_stable=queued,
            total_claimable=claimable,
        )
        if points[-1].block == e.block:
            points[-1] = point
        else:
            points.append(point)
    return points


def _xirr(flows: Sequence[tuple[int, int]]) -> float | None:
    """The yearly rate r with sum(amount / (1 + r)^((t - t0) / 365 days)) = 0, by bisection; None when the
    flows do not change sign or span no time."""
    if not flows or not any(a < 0 for _, a in flows) or not any(a > 0 for _, a in flows):
        return None
    t0 = min(t for t, _ in flows)
    if max(t for t, _ in flows) == t0:
        return None

    def npv(r: float) -> float:
        return float(sum(a / (1 + r) ** ((t - t0) / (365 * 86_400)) for t, a in flows))

    lo, hi = -0.9999, 100.0
    if npv(lo) * npv(hi) > 0:
        return None
    for _ in range(200):
        mid = (lo + hi) / 2
        if npv(lo) * npv(mid) <= 0:
            hi = mid
        else:
            lo = mid
    return round((lo + hi) / 2, 6)


def _irrs(deal: DealReport, now: int) -> tuple[float | None, float | None]:
    """The lender's IRR on a deal, with fees (gross) and without them (net: fees go to the treasury): the
    advance out at opening, each repayment's interest and principal in, a liquidation's principal recovered
    in, and an open deal's principal and interest due at the report's block (at book)."""
    opened = deal.opened
    net: list[tuple[int, int]] = [(opened.timestamp, -deal.advance)]
    gross = list(net)
    for p in deal.payments:
        net.append((p.timestamp, p.interest + p.principal))
        gross.append((p.timestamp, p.fees + p.interest + p.principal))
    if deal.liquidation is not None:
        net.append((deal.liquidation.timestamp, deal.liquidation.principal_recovered))
        gross.append((deal.liquidation.timestamp, deal.liquidation.principal_recovered))
    last = deal.history[-1]
    if deal.status in ("active", "impaired", "defaulted"):
        held = max(0, last.principal_outstanding - last.impairment) + (
            last.interest_due if deal.status == "active" else 0
        )
        net.append((now, held))
        gross.append((now, held + (last.fees_due if deal.status == "active" else 0)))
    return _xirr(gross), _xirr(net)


def _loss_given_default(deal: DealReport, point: DealPoint, haircut: float) -> int:
    """USDC units lost if the deal defaulted at ``point``: principal less cash reserve less the appraisal
    sold at the haircut."""
    kept = int(deal.appraised_value * (1 - haircut))
    return max(0, point.principal_outstanding - point.cash_reserve - kept)


def _fair_value(point: NavPoint, deals: Sequence[DealReport], scale: int, assumptions: StressAssumptions) -> FairValue:
    accrued = reserve = 0
    for d in deals:
        at = next((h for h in d.history if h.block == point.block), None)
        if at is None or at.status not in ("active", "impaired", "defaulted"):
            continue
        if at.status == "active":
            accrued += at.interest_due
        p = assumptions.default_probability if at.status == "active" else assumptions.impaired_default_probability
        if at.status == "defaulted":
            p = 1.0
        expected = int(p * _loss_given_default(d, at, assumptions.recovery_haircut))
        reserve += max(0, expected - at.impairment)
    fair = max(0, point.said_total_assets + point.said_unvested + (accrued - reserve) * scale)
    per_share = point.share_price if point.said_total_supply == 0 else fair * ONE_SHARE // point.said_total_supply
    return FairValue(
        book_assets=point.said_total_assets,
        unvested=point.said_unvested,
        accrued_interest=accrued * scale,
        expected_loss_reserve=reserve * scale,
        fair_assets=fair,
        book_value_per_share=point.share_price,
        fair_value_per_share=per_share,
    )


def _bucket(status: str, dpd: int) -> Literal["current", "30", "60", "90+", "defaulted", "closed"]:
    if status in ("repaid", "liquidated", "none"):
        return "closed"
    if status == "defaulted":
        return "defaulted"
    return "current" if dpd < 30 else "30" if dpd < 60 else "60" if dpd < 90 else "90+"


def _kind(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\0").decode(errors="replace")


async def _collateral_units(reader: _Reader, deal_id: int) -> dict[str, int]:
    """Units pledged to a deal by kind: an asset counts one, a cluster's root its size."""
    p, head = reader.p, reader.block
    units: dict[str, int] = {}
    for asset_id in await p.facility.functions.collateralOf(deal_id).call(block_identifier=head):
        asset = await p.registry.functions.getAsset(asset_id).call(block_identifier=head)
        kind, count = _kind(asset[0]), 1
        if not kind:
            cluster = await p.registry.functions.getCluster(asset_id).call(block_identifier=head)
            kind, count = _kind(cluster[0]) or "unknown", int(cluster[2])
        units[kind] = units.get(kind, 0) + count
    return units


async def _loan_tape(reader: _Reader, deals: Sequence[DealReport], now: int) -> list[LoanTapeRow]:
    p, head = reader.p, reader.block
    rows = []
    for d in deals:
        last = d.history[-1]
        leases: list[LeaseRow] = []
        if p.leases is not None:
            ids = await p.leases.functions.leasesOf(d.deal_id).call(block_identifier=head)
            for lease_id in ids:
                lease = await p.leases.functions.getLease(lease_id).call(block_identifier=head)
                leases.append(
                    LeaseRow(
                        lease_id=HexBytes(lease_id).to_0x_hex(),
                        counterparty_hash=HexBytes(lease[3]).to_0x_hex(),
                        monthly_amount=lease[5],
                        start=lease[1],
                        end=lease[2],
                    )
                )
        dpd = int(await p.facility.functions.daysPastDue(d.deal_id).call(block_identifier=head))
        open_ = d.status in OPEN_STATUSES
        contracted = sum(lease.monthly_amount for lease in leases if lease.start <= now < lease.end) if open_ else 0
        # 30 days of debt service: interest and fees on the balance, plus level principal (fixed, hybrid);
        # a revenue share takes its share of the revenue (at least the interest and fees), a hybrid its kicker
        periods = max(1, math.ceil(d.term_days / 30))
        carry = last.principal_outstanding * (d.rate_bps + d.fee_bps) * 30 // (365 * 10_000)
        share = contracted * d.revenue_share_bps // 10_000
        if d.structure == "revenue_share":
            service = max(carry, share)
        else:
            service = min(last.principal_outstanding, d.advance // periods) + carry + share
        service = service if open_ else 0
        gross, net = _irrs(d, now)
        rows.append(
            LoanTapeRow(
                deal_id=d.deal_id,
                borrower=d.borrower,
                structure=d.structure,
                rate_bps=d.rate_bps,
                fee_bps=d.fee_bps,
                opened=d.opened.timestamp,
                maturity=d.opened.timestamp + d.term_days * 86_400,
                collateral_assets=d.collateral,
                collateral_units=await _collateral_units(reader, d.deal_id),
                current_value=d.appraised_value,
                value_source="the appraisal recorded on chain when the deal opened (CreditFacility.getDeal); "
                "not re-marked since",
                leases=leases,
                contracted_monthly=contracted,
                debt_service_monthly=service,
                dscr=f"{contracted / service:.2f}" if service else None,
                principal_outstanding=last.principal_outstanding,
                interest_due=last.interest_due,
                cash_reserve=last.cash_reserve,
                impairment=last.impairment,
                ltv_bps=last.principal_outstanding * 10_000 // d.appraised_value if d.appraised_value else None,
                status=d.status,
                days_past_due=dpd,
                bucket=_bucket(d.status, dpd),
                gross_irr=gross,
                net_irr=net,
            )
        )
    return rows


def _delinquency(tape: Sequence[LoanTapeRow]) -> Delinquency:
    names: tuple[Literal["current", "30", "60", "90+", "defaulted"], ...] = ("current", "30", "60", "90+", "defaulted")
    return Delinquency(
        buckets=[
            DelinquencyBucket(
                bucket=b,
                deals=sum(1 for r in tape if r.bucket == b),
                principal=sum(r.principal_outstanding for r in tape if r.bucket == b),
            )
            for b in names
        ]
    )


def _shares(amounts: dict[str, tuple[int, int]]) -> list[ConcentrationRow]:
    total = sum(a for _, a in amounts.values())
    rows = [
        ConcentrationRow(name=k, deals=n, amount=a, share_bps=a * 10_000 // total if total else 0)
        for k, (n, a) in amounts.items()
    ]
    return sorted(rows, key=lambda r: (-r.amount, r.name))


def _concentration(tape: Sequence[LoanTapeRow], now: int) -> Concentration:
    borrowers: dict[str, tuple[int, int]] = {}
    counterparties: dict[str, tuple[int, int]] = {}
    for r in tape:
        if r.bucket == "closed":
            continue
        n, a = borrowers.get(r.borrower, (0, 0))
        borrowers[r.borrower] = (n + 1, a + r.principal_outstanding)
        for lease in r.leases:
            if lease.start <= now < lease.end:
                n, a = counterparties.get(lease.counterparty_hash, (0, 0))
                counterparties[lease.counterparty_hash] = (n + 1, a + lease.monthly_amount)
    by_borrower = _shares(borrowers)
    return Concentration(
        by_borrower=by_borrower,
        by_counterparty=_shares(counterparties),
        top_borrower_bps=by_borrower[0].share_bps if by_borrower else 0,
        hhi_bps=sum(r.share_bps * r.share_bps for r in by_borrower) // 10_000,
    )


def _recoveries(deals: Sequence[DealReport]) -> list[Recovery]:
    rows = []
    for d in deals:
        liq = d.liquidation
        if liq is None:
            continue
        owed = liq.principal_recovered + liq.loss
        rows.append(
            Recovery(
                deal_id=d.deal_id,
                principal_at_default=owed,
                proceeds=liq.proceeds,
                cash_reserve=liq.cash_reserve,
                principal_recovered=liq.principal_recovered,
                loss=liq.loss,
                recovery_rate_bps=liq.principal_recovered * 10_000 // owed if owed else 10_000,
            )
        )
    return rows


_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


async def _reserve_composition(reader: _Reader, deals: Sequence[DealReport], point: NavPoint) -> ReserveComposition:
    p, head = reader.p, reader.block
    aid_address = p.aid.address
    tokens: list[tuple[str, AsyncContract]] = [("USDC", p.usdc)]
    if p.usdt is not None:
        tokens.append(("USDT", p.usdt))
    by_token: dict[str, int] = {}
    holdings: list[Holding] = []
    for name, token in tokens:
        liquid = int(await p.aid.functions.reserveOf(token.address).call(block_identifier=head))
        by_token[name] = liquid
        holdings.append(
            Holding(place="AIDollar: liquid reserve", address=aid_address, token=name, amount=liquid, backs_aid=True)
        )
    if point.total_claimable:
        holdings.append(
            Holding(
                place="AIDollar: set aside for filled redemptions",
                address=aid_address,
                token="USDC",
                amount=point.total_claimable,
                backs_aid=False,
            )
        )
    cash = sum(d.history[-1].cash_reserve for d in deals if d.status in OPEN_STATUSES)
    holdings.append(
        Holding(
            place="CreditFacility: deal cash reserves",
            address=p.facility.address,
            token="USDC",
            amount=cash,
            backs_aid=False,
        )
    )
    escrow = str(await p.said.functions.escrow().call(block_identifier=head))
    held = int(await p.aid.functions.balanceOf(escrow).call(block_identifier=head))
    holdings.append(Holding(place="sAID redemption escrow", address=escrow, token="AID", amount=held, backs_aid=False))
    for venue, state in sorted(p.deployment.venues.items()):
        for key, value in sorted(state.items()):
            if not (isinstance(value, str) and _ADDRESS.match(value)):
                continue
            for name, token in [*tokens, ("AID", p.aid)]:
                amount = int(await token.functions.balanceOf(value).call(block_identifier=head))
                if amount:
                    holdings.append(
                        Holding(
                            place=f"venue {venue}: {key}", address=value, token=name, amount=amount, backs_aid=False
                        )
                    )
    return ReserveComposition(by_token=by_token, by_place=holdings)


def _stress(
    deals: Sequence[DealReport], cash_units: int, first_loss_units: int, now: int, assumptions: StressAssumptions
) -> StressReport | None:
    one = 10**USDC_DECIMALS
    loans = []
    for d in deals:
        last = d.history[-1]
        if d.status not in OPEN_STATUSES or last.principal_outstanding == 0:
            continue
        p = assumptions.impaired_default_probability if d.status == "impaired" else assumptions.default_probability
        left = max(1, d.opened.timestamp + d.term_days * 86_400 - now) / (365 * 86_400)
        loans.append(
            LoanRisk(
                name=f"deal {d.deal_id}",
                exposure_usd=last.principal_outstanding / one,
                collateral_value_usd=d.appraised_value / one,
                annual_rate=d.rate_bps / 10_000,
                default_probability=1 - (1 - p) ** assumptions.horizon_years,
                recovery_haircut=assumptions.recovery_haircut,
                reserve_usd=last.cash_reserve / one,
                amortisation="none" if d.structure == "revenue_share" else "level",
                remaining_years=left,
                collateral_decline_per_year=assumptions.collateral_decline_per_year,
                rent_sensitivity=1.0,
            )
        )
    if not loans:
        return None
    cash = cash_units / one
    first_loss = first_loss_units / one if first_loss_units > 0 else None
    results = [
        simulate_portfolio(
            loans,
            correlation=rho,
            paths=assumptions.paths,
            seed=assumptions.seed,
            horizon_years=assumptions.horizon_years,
            cash_usd=cash,
            rent_volatility=assumptions.rent_volatility,
            first_loss_usd=first_loss,
            percentiles=_GRID,
            yield_percentiles=_GRID,
        )
        for rho in assumptions.correlations
    ]
    return StressReport(assumptions=assumptions, loans=loans, cash_usd=cash, first_loss_usd=first_loss, results=results)


async def _keeps_past_state(reader: _Reader, block: int) -> bool:
    """Whether the node serves views at ``block``: an archive node, the embedded EVM and anvil do; a full
    node past its pruning window and anvil --prune-history refuse."""
    if block >= reader.block:
        return True
    try:
        await reader.p.aid.functions.totalSupply().call(block_identifier=block)
    except Exception:  # the node's words vary: BlockOutOfRangeError, missing trie node, header not found
        return False
    return True


async def collect(
    gaib: Gaib,
    *,
    block: int | None = None,
    stress: StressAssumptions | None = DEFAULT_STRESS,
    waterfall_days: int = WATERFALL_DAYS,
) -> ReportData:
    """Read the report's data from the chain ``gaib`` is connected to, for the deployment it holds: the
    protocol's logs since the deployment's block and the contracts' views at each block where one of its
    events was emitted, up to ``block`` (default: the latest); on a node that keeps no past state, the views
    at ``block`` only (``history == "events"``). Read-only: no account is needed. ``stress``: the Monte
    Carlo's and the fair value's assumptions, or None to leave the stress test out (the fair value then
    takes :data:`DEFAULT_STRESS`'s). ``waterfall_days``: the length of the period whose repayments the
    waterfall sums."""
    p = gaib.protocol
    w3 = gaib.chain.w3
    latest = int(await w3.eth.block_number)
    head = latest if block is None else block
    if head < latest and not await _keeps_past_state(_Reader(gaib, latest), head):
        raise ChainError(
            f"this node keeps no state at block {head} (it is not an archive node): report at its latest block "
            "(leave out --block), or use an archive node",
            chain_id=gaib.chain.chain_id,
        )
    from_block = min(p.deployment.block, head)
    reader = _Reader(gaib, head)
    ledger = await reader.logs(from_block)
    scale = int(await p.aid.functions.SCALE().call(block_identifier=head))
    history: Literal["state", "events"] = "state" if await _keeps_past_state(reader, from_block) else "events"
    if history == "state":
        blocks = sorted({from_block, head, *(e.block for e in ledger)})
    else:
        blocks = [head]
    nav = [await reader.nav_point(b, scale) for b in blocks]
    count = int(await p.facility.functions.dealCount().call(block_identifier=head))
    deals = [await reader.deal(i, ledger, blocks) for i in range(1, count + 1)]
    assumptions = stress or DEFAULT_STRESS
    nav = [
        point.model_copy(
            update={"fair_value_per_share": _fair_value(point, deals, scale, assumptions).fair_value_per_share}
        )
        for point in nav
    ]
    losses = [
        Loss(
            block=e.block,
            timestamp=e.timestamp,
            tx_hash=e.tx_hash,
            stable_loss=e.number("stableLoss"),
            absorbed_by_vault=e.number("absorbedByVault"),
            uncovered=e.number("uncovered"),
        )
        for e in ledger
        if e.contract == "aid" and e.event == "LossRealized"
    ]
    timestamp = await reader.timestamp(head)
    tape = await _loan_tape(reader, deals, timestamp)
    last = nav[-1]
    return ReportData(
        generator=f"gaib-sdk {__version__}",
        chain_id=gaib.chain.chain_id,
        contracts={k: p.deployment.contracts[k] for k in ("usdc", "aid", "said", "registry", "facility")},
        from_block=from_block,
        block=head,
        timestamp=timestamp,
        scale=scale,
        vesting_period=int(await p.said.functions.vestingPeriod().call(block_identifier=head)),
        max_advance_bps=int(await p.facility.functions.maxAdvanceBps().call(block_identifier=head)),
        history=history,
        nav=nav,
        ledger_nav=_ledger_nav(ledger, from_block, await reader.timestamp(from_block), scale),
        fair_value=_fair_value(last, deals, scale, assumptions),
        deals=deals,
        loan_tape=tape,
        delinquency=_delinquency(tape),
        reserve_composition=await _reserve_composition(reader, deals, last),
        concentration=_concentration(tape, timestamp),
        losses=losses,
        recoveries=_recoveries(deals),
        waterfall=_waterfall(deals, timestamp, waterfall_days),
        stress=(
            _stress(deals, last.reserve, (last.said_total_assets + last.said_unvested) // scale, timestamp, stress)
            if stress is not None
            else None
        ),
        ledger=ledger,
    )
