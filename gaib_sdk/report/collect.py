"""Read the report's figures from the chain: the protocol's event logs since its deployment, and the
contracts' views at the blocks where something happened.

Nothing comes from the client's memory. The logs of AIDollar, StakedAID and the CreditFacility are read
with ``eth_getLogs`` from the deployment's block to the report's block (in windows of
:data:`LOG_WINDOW` blocks, which public nodes accept); each block that holds one of their events, and the
deployment's and the report's blocks, is a point of the time series, where the views are called with
``block_identifier`` (the embedded EVM and anvil keep every block's state; against a public node this needs
an archive node). Between two points nothing the protocol does changes, except what time alone moves:
interest accruing on the deals and income vesting into sAID.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, cast

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
    DealEvent,
    DealPoint,
    DealReport,
    LedgerEntry,
    Liquidation,
    Loss,
    NavPoint,
    Payment,
    ReportData,
    StressAssumptions,
    StressReport,
    Waterfall,
    WaterfallRow,
    exit_price,
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
    treasury_yield=0.04,
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
            exit_price=exit_price(
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


def _stress(deals: Sequence[DealReport], cash_units: int, assumptions: StressAssumptions) -> StressReport | None:
    one = 10**USDC_DECIMALS
    loans = []
    for d in deals:
        last = d.history[-1]
        if d.status not in OPEN_STATUSES or last.principal_outstanding == 0:
            continue
        p = assumptions.impaired_default_probability if d.status == "impaired" else assumptions.default_probability
        loans.append(
            LoanRisk(
                name=f"deal {d.deal_id}",
                exposure_usd=last.principal_outstanding / one,
                collateral_value_usd=d.appraised_value / one,
                annual_rate=d.rate_bps / 10_000,
                default_probability=p,
                recovery_haircut=assumptions.recovery_haircut,
                reserve_usd=last.cash_reserve / one,
            )
        )
    if not loans:
        return None
    cash = cash_units / one
    results = [
        simulate_portfolio(
            loans,
            correlation=rho,
            paths=assumptions.paths,
            seed=assumptions.seed,
            horizon_years=assumptions.horizon_years,
            cash_usd=cash,
            treasury_yield=assumptions.treasury_yield,
            percentiles=_GRID,
            yield_percentiles=_GRID,
        )
        for rho in assumptions.correlations
    ]
    return StressReport(assumptions=assumptions, loans=loans, cash_usd=cash, results=results)


async def collect(
    gaib: Gaib,
    *,
    block: int | None = None,
    stress: StressAssumptions | None = DEFAULT_STRESS,
    waterfall_days: int = WATERFALL_DAYS,
) -> ReportData:
    """Read the report's data from the chain ``gaib`` is connected to, for the deployment it holds: the
    protocol's logs since the deployment's block and the contracts' views at each block where one of its
    events was emitted, up to ``block`` (default: the latest). Read-only: no account is needed.
    ``stress``: the Monte Carlo's assumptions, or None to leave the stress test out. ``waterfall_days``:
    the length of the period whose repayments the waterfall sums."""
    p = gaib.protocol
    w3 = gaib.chain.w3
    head = int(await w3.eth.block_number) if block is None else block
    from_block = min(p.deployment.block, head)
    reader = _Reader(gaib, head)
    ledger = await reader.logs(from_block)
    scale = int(await p.aid.functions.SCALE().call(block_identifier=head))
    blocks = sorted({from_block, head, *(e.block for e in ledger)})
    nav = [await reader.nav_point(b, scale) for b in blocks]
    count = int(await p.facility.functions.dealCount().call(block_identifier=head))
    deals = [await reader.deal(i, ledger, blocks) for i in range(1, count + 1)]
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
        nav=nav,
        deals=deals,
        losses=losses,
        waterfall=_waterfall(deals, timestamp, waterfall_days),
        stress=_stress(deals, nav[-1].reserve, stress) if stress is not None else None,
        ledger=ledger,
    )
