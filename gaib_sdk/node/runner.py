"""`gaib node run`: the node beside the hardware.

Every ``interval`` seconds the runner reads the asset adapter's source (a JSON/CSV export, NVML, a DCGM
exporter, a fleet API) and records each device's reading under the period it fell in (periods are the
NodeAttestation contract's, counted on the chain's clock). When a period has closed it aggregates each
device's readings into one report, signs the reports (EIP-712), builds their Merkle tree, writes the bundle
and submits the root.

Restart safety follows the transaction journal's pattern: each step is written to disk before the next
runs, and each step first looks for its own result. A period signed once is never signed again (its reports
are read back from the store); its bundle is rewritten from them if missing; its root is not sent if the
chain already holds it (and with a journal, its submission is keyed ``attest:<contract>:<operator>:<period>``,
so a transaction sent before a crash is awaited, not repeated).

Aggregation, per device and period:
- health: healthy if every reading was healthy, down if none was, degraded otherwise;
- utilisation: the mean of the readings, in basis points;
- revenue: the customer contracts running when the period began, their monthly revenue prorated to the
  period (a month is 365/12 days), shared equally by the devices not down (USDC base units, rounded down);
  a device that is down earned nothing;
- telemetry hash: keccak256 of the readings' attestations (keccak of each snapshot) in time order.
A device is reported only if the registry can vouch for it in that period (NodeAttestation.assetUnattestable
is false): a report on anything else would be slashable.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils.crypto import keccak

from gaib_sdk.errors import GaibConfigError, GaibError, GaibValueError
from gaib_sdk.merkle import MerkleTree
from gaib_sdk.models import CustomerContract
from gaib_sdk.node.bundle import Bundle
from gaib_sdk.node.report import DeviceReport, Health, SignedReport, device_id, sign_report
from gaib_sdk.node.store import NodeStore, Sample, write_atomic
from gaib_sdk.underwriting.cashflow import add_months

if TYPE_CHECKING:
    from gaib_sdk.client import Gaib

__all__ = ["NodeRunner", "PeriodResult", "aggregate"]

MONTH_S = Decimal(365 * 86_400) / 12


@dataclass(frozen=True)
class PeriodResult:
    """What closing one period did."""

    period: int
    root: str
    count: int
    uri: str
    tx_hash: str | None
    signed_now: bool  # False: the reports were read back from the store
    submitted_now: bool  # False: the chain already held the root


def _period_revenue(contracts: Sequence[CustomerContract], start: int, length: int) -> int:
    """USDC base units the contracts running at ``start`` earn over a period of ``length`` seconds."""
    day = datetime.fromtimestamp(start, UTC).date()
    monthly = sum(
        (c.monthly_revenue_usd for c in contracts if c.starts_on <= day < add_months(c.starts_on, c.term_months)),
        Decimal(0),
    )
    return int(monthly * Decimal(10**6) * length / MONTH_S)


def aggregate(
    period: int, length: int, samples: Sequence[Sample], contracts: Sequence[CustomerContract]
) -> list[DeviceReport]:
    """A period's report per device from its readings (see the module docstring), by asset id."""
    by_asset: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_asset[s.asset_id].append(s)
    health = {}
    for asset, readings in by_asset.items():
        up = sum(1 for s in readings if s.healthy)
        health[asset] = Health.HEALTHY if up == len(readings) else Health.DOWN if up == 0 else Health.DEGRADED
    earning = [a for a, h in health.items() if h != Health.DOWN]
    total = _period_revenue(contracts, period * length, length)
    share = total // len(earning) if earning else 0
    reports = []
    for asset in sorted(by_asset):
        readings = sorted(by_asset[asset], key=lambda s: s.sampled_at)
        mean = sum(s.utilisation for s in readings) / len(readings)
        reports.append(
            DeviceReport(
                asset_id=asset,
                period=period,
                device_id=device_id(readings[-1].device),
                health=health[asset],
                utilisation_bps=min(10_000, round(mean * 10_000)),
                revenue=share if health[asset] != Health.DOWN else 0,
                telemetry_hash="0x" + keccak(hexstr="".join(s.attestation[2:] for s in readings)).hex(),
            )
        )
    return reports


class NodeRunner:
    """A node for one operator (the client's account), one asset kind and one source. Create with
    :meth:`open`; see the module docstring."""

    def __init__(
        self,
        gaib: Gaib,
        kind: str,
        source: str | Path,
        reports_dir: Path,
        store: NodeStore,
        period_length: int,
        *,
        options: dict[str, Any] | None = None,
        interval: float = 60.0,
        publish_url: str | None = None,
        say: Callable[[str], None] | None = None,
    ):
        self.gaib = gaib
        self.kind = kind
        self.source = source
        self.reports_dir = reports_dir
        self.store = store
        self.period_length = period_length
        self.options = options
        self.interval = interval
        self.publish_url = publish_url.rstrip("/") if publish_url else None
        self.say = say or (lambda _: None)

    @classmethod
    async def open(
        cls,
        gaib: Gaib,
        kind: str,
        source: str | Path,
        reports_dir: Path | str,
        *,
        options: dict[str, Any] | None = None,
        interval: float = 60.0,
        publish_url: str | None = None,
        say: Callable[[str], None] | None = None,
    ) -> NodeRunner:
        if interval <= 0:
            raise GaibValueError(f"interval {interval} s must be more than 0")
        if publish_url is not None and not publish_url.startswith(("http://", "https://")):
            raise GaibValueError(f"publish URL {publish_url!r} must start with http:// or https://")
        gaib.assets.adapter(kind, options)  # an unknown kind or bad options fail here, before anything runs
        att = gaib.nodes.attestation
        directory = Path(reports_dir).resolve()
        scope = f"{gaib.chain.chain_id}:{att.address}:{gaib.address}"
        store = NodeStore(directory, scope)
        length = int(await att.functions.periodLength().call())
        return cls(
            gaib,
            kind,
            source,
            directory,
            store,
            length,
            options=options,
            interval=interval,
            publish_url=publish_url,
            say=say,
        )

    def close(self) -> None:
        self.store.close()

    async def current_period(self) -> int:
        return await self.gaib.chain.timestamp() // self.period_length

    # ---- sampling ----

    async def sample(self) -> int:
        """Read the source once and record each device's reading in the current period; returns it."""
        inventory = await self.gaib.assets.read_inventory(self.kind, self.source, options=self.options)
        now = await self.gaib.chain.timestamp()
        period = now // self.period_length
        samples = []
        for asset in inventory.assets:
            snap = inventory.telemetry_for(asset.serial)
            if snap is None:
                continue
            identity = str(asset.details.get("uuid") or asset.serial)
            samples.append(Sample(asset.asset_id, now, identity, snap.healthy, snap.utilisation, snap.attestation))
        contracts = [c.model_dump(mode="json") for c in inventory.contracts]
        added = self.store.add_samples(period, samples, contracts)
        self.say(f"period {period}: {added} readings of {len(inventory.assets)} devices")
        return period

    # ---- closing a period ----

    def _uri(self, period: int) -> str:
        if self.publish_url:
            return f"{self.publish_url}/{period}.json"
        return self.store.bundle_path(period).as_uri()

    async def _sign(self, period: int) -> bool:
        """Aggregate and sign a period's reports, once. False if it has nothing to report."""
        att = self.gaib.nodes.attestation
        samples = self.store.samples(period)
        contracts = [CustomerContract.model_validate(c) for c in self.store.contracts(period)]
        vouched = []
        for asset in sorted({s.asset_id for s in samples}):
            if not await att.functions.assetUnattestable(asset, period).call():
                vouched.append(asset)
            else:
                self.say(f"period {period}: asset {asset} is not in the registry for the period; not reported")
        reports = aggregate(period, self.period_length, [s for s in samples if s.asset_id in vouched], contracts)
        if not reports:
            return False
        chain_id, account = self.gaib.chain.chain_id, self.gaib.account
        tree = MerkleTree([r.leaf for r in reports])
        signed = [
            SignedReport(
                report=r,
                signature=sign_report(r, account, chain_id=chain_id, contract=att.address),
                proof=tree.proof(r.leaf),
            )
            for r in reports
        ]
        self.store.save_signed(period, signed, tree.root, self._uri(period))
        self.say(f"period {period}: signed {len(signed)} reports, root {tree.root}")
        return True

    def bundle(self, period: int) -> Bundle:
        """The period's bundle, from the signed reports on disk."""
        row = self.store.period(period)
        if row is None:
            raise GaibConfigError(f"period {period} is not signed in {self.store.path}")
        pairs = self.store.signed(period)
        tree = MerkleTree([r.leaf for r, _ in pairs])
        if tree.root != row.root:
            raise GaibConfigError(f"the reports of period {period} in {self.store.path} no longer make its root")
        return Bundle(
            chain_id=self.gaib.chain.chain_id,
            contract=self.gaib.nodes.attestation.address,
            operator=self.gaib.address,
            period=period,
            period_start=period * self.period_length,
            period_end=(period + 1) * self.period_length,
            root=row.root,
            count=row.count,
            reports=[SignedReport(report=r, signature=s, proof=tree.proof(r.leaf)) for r, s in pairs],
        )

    async def close_period(self, period: int) -> PeriodResult | None:
        """Sign (once), publish and submit (once) a closed period. None if it has nothing to report."""
        if period >= await self.current_period():
            raise GaibValueError(f"period {period} has not closed yet")
        row = self.store.period(period)
        signed_now = False
        if row is None:
            if not await self._sign(period):
                return None
            signed_now = True
            row = self.store.period(period)
            assert row is not None
        path = self.store.bundle_path(period)
        if not path.exists():
            write_atomic(path, self.bundle(period).model_dump_json(indent=1) + "\n")
        if row.submitted:
            return PeriodResult(period, row.root, row.count, row.uri, row.tx_hash, signed_now, False)
        att, me, chain = self.gaib.nodes.attestation, self.gaib.address, self.gaib.chain
        key = f"attest:{att.address}:{me}:{period}"
        on_chain = "0x" + (await att.functions.rootOf(me, period).call())[0].hex()
        if on_chain == row.root:
            # sent before a restart: the journal (if any) knows by which transaction
            entry = chain.journal.latest(chain.scope, key) if chain.journal is not None else None
            tx_hash = row.tx_hash or (entry.tx_hash if entry is not None else None)
            self.store.mark_submitted(period, tx_hash)
            self.say(f"period {period}: the chain already holds root {row.root}")
            return PeriodResult(period, row.root, row.count, row.uri, tx_hash, signed_now, False)
        if int(on_chain, 16) != 0:
            raise GaibError(
                f"the chain holds root {on_chain} for {me} in period {period}, not this node's {row.root}: another "
                "node signs with the same key; stop it"
            )
        tx = await self.gaib.nodes.submit_root(period, row.root, row.count, row.uri, key=key)
        self.store.mark_submitted(period, tx)
        self.say(f"period {period}: submitted root {row.root} ({row.count} reports), tx {tx}")
        return PeriodResult(period, row.root, row.count, row.uri, tx, signed_now, True)

    async def close_pending(self) -> list[PeriodResult]:
        """Close every sampled period that has closed and is not submitted yet, oldest first."""
        current = await self.current_period()
        done = {p.period for p in self.store.periods() if p.submitted}
        results = []
        for period in self.store.sampled_periods():
            if period < current and period not in done:
                result = await self.close_period(period)
                if result is not None:
                    results.append(result)
        return results

    async def run(self, *, once: bool = False, rounds: int | None = None) -> list[PeriodResult]:
        """Sample and close periods every ``interval`` seconds. ``once``: stop after the first round that
        submitted a root (or found the chain holding it); ``rounds``: stop after that many rounds."""
        results: list[PeriodResult] = []
        done = 0
        while True:
            await self.sample()
            closed = await self.close_pending()
            results.extend(closed)
            done += 1
            if (once and closed) or (rounds is not None and done >= rounds):
                return results
            await asyncio.sleep(self.interval)
