"""The protocol's history from the index, with no node at all: NAV, share price, reserve and payments over
time (``gaib report --index DB``).

The indexer writes a snapshot of the protocol's state (AID supply, sAID's assets, supply and share price,
AID's stablecoin reserve) at the end of each block range it indexes, read at that block: a node serves
those reads for recent blocks without archive state, so an indexer that follows the chain keeps a history
no archive node is needed for. Payments (the CreditFacility's ``Repaid``), mints, redemptions and
distributions into sAID come from the indexed events. :func:`history` returns plain data;
:func:`write_history` writes it as JSON, and as PNG plots and an HTML page when matplotlib is installed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaib_sdk.index.indexer import Index

__all__ = ["History", "NavPoint", "Payment", "history", "write_history"]


@dataclass(frozen=True)
class NavPoint:
    """The state at one block. AID amounts in wei; ``reserve`` in USDC base units (6 decimals);
    ``nav`` is sAID's total assets (AID wei), ``share_price`` the AID wei one whole sAID share is worth."""

    block: int
    timestamp: int
    aid_supply: int
    nav: int
    said_supply: int
    share_price: int
    reserve: int


@dataclass(frozen=True)
class Payment:
    """One repayment through the waterfall (USDC base units)."""

    block: int
    timestamp: int
    tx_hash: str
    deal_id: int
    payer: str
    fees: int
    interest: int
    principal: int
    excess: int

    @property
    def total(self) -> int:
        return self.fees + self.interest + self.principal + self.excess


@dataclass
class History:
    chain_id: int | None
    first_block: int | None
    last_block: int | None
    points: list[NavPoint] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    #: (block, timestamp, AID wei) of each distribution into sAID (RewardsReceived).
    distributions: list[tuple[int, int, int]] = field(default_factory=list)
    #: Cumulative stablecoin in (mints) and out (redemptions), in USDC base units, at each block it moved.
    flows: list[tuple[int, int, int, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON: every on-chain integer as a decimal string (exact in any reader)."""

        def text(row: Any) -> Any:
            if isinstance(row, int) and not isinstance(row, bool):
                return str(row)
            if isinstance(row, dict):
                return {k: text(v) for k, v in row.items()}
            if isinstance(row, list | tuple):
                return [text(v) for v in row]
            return row

        return {
            "chain_id": self.chain_id,
            "first_block": self.first_block,
            "last_block": self.last_block,
            "points": [text(asdict(p)) for p in self.points],
            "payments": [text({**asdict(p), "total": p.total}) for p in self.payments],
            "distributions": [text(list(d)) for d in self.distributions],
            "flows": [text(list(f)) for f in self.flows],
        }


def history(index: Index) -> History:
    """The history held in ``index``."""
    points = [
        NavPoint(s.block_number, s.timestamp, s.aid_supply, s.said_assets, s.said_supply, s.share_price, s.reserve)
        for s in index.snapshots()
    ]
    payments = [
        Payment(
            e.block_number,
            e.timestamp,
            e.tx_hash,
            int(e.args["dealId"]),
            str(e.args["payer"]),
            int(e.args["fees"]),
            int(e.args["interest"]),
            int(e.args["principal"]),
            int(e.args["excess"]),
        )
        for e in index.events("facility", "Repaid")
    ]
    received = index.events("said", "RewardsReceived")
    distributions = [(e.block_number, e.timestamp, int(e.args["amount"])) for e in received]
    flows, stable_in, stable_out = [], 0, 0
    for e in index.events("aid", ("Minted", "MintedWith", "Redeemed", "RedeemedTo")):
        if e.event.startswith("Minted"):
            stable_in += int(e.args["stableIn"])
        else:
            stable_out += int(e.args["stableOut"])
        flows.append((e.block_number, e.timestamp, stable_in, stable_out))
    start = index.db.get_meta("start_block")
    return History(index.chain_id, int(start) if start else None, index.cursor, points, payments, distributions, flows)


def write_history(data: History, out: Path) -> list[Path]:
    """``history.json`` in ``out``; with matplotlib, ``history.html`` and its plots too. The files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "history.json"]
    files[0].write_text(json.dumps(data.as_json(), indent=2) + "\n")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return files
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    def when(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    plots = []
    points = data.points
    series = [
        ("history-nav.png", "NAV: sAID total assets (AID)", [(p.timestamp, p.nav / 1e18) for p in points]),
        ("history-share-price.png", "sAID share price (AID)", [(p.timestamp, p.share_price / 1e18) for p in points]),
        ("history-reserve.png", "AID reserve (USDC)", [(p.timestamp, p.reserve / 1e6) for p in points]),
        ("history-payments.png", "payments, cumulative (USDC)", _cumulative(data.payments)),
    ]
    for name, title, xy in series:
        figure = Figure(figsize=(7, 3))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        if xy:
            days = date2num([when(t) for t, _ in xy])  # type: ignore[no-untyped-call]
            ax.step(days, [v for _, v in xy], where="post")  # a value holds until the next
            ax.xaxis_date()
        ax.set_title(title)
        figure.autofmt_xdate()
        figure.tight_layout()
        figure.savefig(out / name, dpi=100)
        plots.append(out / name)
    rows = "".join(
        f"<tr><td>{when(p.timestamp):%Y-%m-%d %H:%M}</td><td>#{p.deal_id}</td><td>{p.total / 1e6:,.2f}</td>"
        f"<td>{p.interest / 1e6:,.2f}</td><td>{p.principal / 1e6:,.2f}</td></tr>"
        for p in data.payments
    )
    images = "".join(f'<p><img src="{p.name}" alt="{p.stem}"></p>' for p in plots)
    html = (
        f"<!doctype html><meta charset='utf-8'><title>gaib history, chain {data.chain_id}</title>"
        f"<h1>History from the index: blocks {data.first_block} to {data.last_block}</h1>{images}"
        f"<h2>Payments</h2><table><tr><th>when</th><th>deal</th><th>USDC</th><th>interest</th><th>principal</th>"
        f"</tr>{rows}</table>"
    )
    (out / "history.html").write_text(html)
    return [*files, *plots, out / "history.html"]


def _cumulative(payments: list[Payment]) -> list[tuple[int, float]]:
    total, out = 0, []
    for p in payments:
        total += p.total
        out.append((p.timestamp, total / 1e6))
    return out
