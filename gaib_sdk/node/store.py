"""What a node keeps on disk, so a restarted node neither loses, nor re-signs, nor resubmits anything.

One SQLite file, ``node.sqlite`` in the reports directory (WAL mode, synchronous=FULL: a committed row is on
disk before the next step runs), and one JSON bundle per period under ``bundles/`` (written to a temporary
file and renamed into place: a crash never leaves half a bundle). Rows are scoped by chain id, contract and
operator, so one directory can serve several deployments without mixing them::

    samples   one telemetry reading per device per sampling time, with the period it fell in
    contracts the customer contracts as last read in a period (the revenue of its reports)
    reports   a period's signed reports: written all at once, and never again (a period is signed once)
    periods   a period's root, count and bundle URI; its submission tx once the chain holds it

A period's life: sampled -> signed (reports and root written in one transaction) -> submitted.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaib_sdk.errors import GaibConfigError
from gaib_sdk.node.report import DeviceReport, SignedReport
from gaib_sdk.storage import open_durable, write_transaction

__all__ = ["NodeStore", "PeriodRow", "Sample", "write_atomic"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    scope TEXT NOT NULL, period INTEGER NOT NULL, asset_id TEXT NOT NULL, sampled_at INTEGER NOT NULL,
    device TEXT NOT NULL, healthy INTEGER NOT NULL, utilisation REAL NOT NULL, attestation TEXT NOT NULL,
    PRIMARY KEY (scope, period, asset_id, sampled_at)
);
CREATE TABLE IF NOT EXISTS contracts (
    scope TEXT NOT NULL, period INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (scope, period)
);
CREATE TABLE IF NOT EXISTS reports (
    scope TEXT NOT NULL, period INTEGER NOT NULL, asset_id TEXT NOT NULL, report TEXT NOT NULL,
    signature TEXT NOT NULL, PRIMARY KEY (scope, period, asset_id)
);
CREATE TABLE IF NOT EXISTS periods (
    scope TEXT NOT NULL, period INTEGER NOT NULL, root TEXT NOT NULL, count INTEGER NOT NULL,
    uri TEXT NOT NULL, tx_hash TEXT, submitted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (scope, period)
);
"""


@dataclass(frozen=True)
class Sample:
    """One reading of one device."""

    asset_id: str
    sampled_at: int
    device: str  # the hardware identity (GPU UUID, else serial)
    healthy: bool
    utilisation: float
    attestation: str  # keccak of the telemetry snapshot read


@dataclass(frozen=True)
class PeriodRow:
    period: int
    root: str
    count: int
    uri: str
    tx_hash: str | None
    submitted: bool


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a crash leaves either the old one or the new one, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class NodeStore:
    """The node's SQLite store (see the module docstring). ``scope`` names chain, contract and operator."""

    def __init__(self, directory: Path | str, scope: str):
        self.directory = Path(directory)
        self.scope = scope
        self.path = self.directory / "node.sqlite"
        try:
            self._db = open_durable(self.path, SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise GaibConfigError(f"cannot open the node's store {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return write_transaction(self._db)

    def bundle_path(self, period: int) -> Path:
        return self.directory / "bundles" / f"{period}.json"

    # ---- samples ----

    def add_samples(self, period: int, samples: Sequence[Sample], contracts: list[dict[str, Any]]) -> int:
        """Record readings (a reading already recorded is ignored); returns how many were new."""
        with self._write() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        self.scope,
                        period,
                        s.asset_id,
                        s.sampled_at,
                        s.device,
                        int(s.healthy),
                        s.utilisation,
                        s.attestation,
                    )
                    for s in samples
                ],
            )
            added = db.total_changes - before
            db.execute("INSERT OR REPLACE INTO contracts VALUES (?, ?, ?)", (self.scope, period, json.dumps(contracts)))
        return added

    def samples(self, period: int) -> list[Sample]:
        rows = self._db.execute(
            "SELECT asset_id, sampled_at, device, healthy, utilisation, attestation FROM samples "
            "WHERE scope = ? AND period = ? ORDER BY asset_id, sampled_at",
            (self.scope, period),
        ).fetchall()
        return [Sample(str(a), int(t), str(d), bool(h), float(u), str(x)) for a, t, d, h, u, x in rows]

    def contracts(self, period: int) -> list[dict[str, Any]]:
        row = self._db.execute(
            "SELECT json FROM contracts WHERE scope = ? AND period = ?", (self.scope, period)
        ).fetchone()
        return [] if row is None else list(json.loads(row[0]))

    def sampled_periods(self) -> list[int]:
        rows = self._db.execute(
            "SELECT DISTINCT period FROM samples WHERE scope = ? ORDER BY period", (self.scope,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    # ---- reports and roots ----

    def save_signed(self, period: int, reports: Sequence[SignedReport], root: str, uri: str) -> None:
        """A period's signed reports and its root, in one transaction. Refused if the period is signed."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM periods WHERE scope = ? AND period = ?", (self.scope, period)).fetchone():
                raise GaibConfigError(f"period {period} is already signed in {self.path}: it is never signed twice")
            db.executemany(
                "INSERT INTO reports VALUES (?, ?, ?, ?, ?)",
                [(self.scope, period, r.report.asset_id, r.report.model_dump_json(), r.signature) for r in reports],
            )
            db.execute(
                "INSERT INTO periods (scope, period, root, count, uri) VALUES (?, ?, ?, ?, ?)",
                (self.scope, period, root, len(reports), uri),
            )

    def signed(self, period: int) -> list[tuple[DeviceReport, str]]:
        """A period's signed reports (report, signature), by asset id."""
        rows = self._db.execute(
            "SELECT report, signature FROM reports WHERE scope = ? AND period = ? ORDER BY asset_id",
            (self.scope, period),
        ).fetchall()
        return [(DeviceReport.model_validate_json(r), str(s)) for r, s in rows]

    def period(self, period: int) -> PeriodRow | None:
        row = self._db.execute(
            "SELECT period, root, count, uri, tx_hash, submitted FROM periods WHERE scope = ? AND period = ?",
            (self.scope, period),
        ).fetchone()
        if row is None:
            return None
        p, root, count, uri, tx, sub = row
        return PeriodRow(int(p), str(root), int(count), str(uri), None if tx is None else str(tx), bool(sub))

    def periods(self) -> list[PeriodRow]:
        rows = self._db.execute("SELECT period FROM periods WHERE scope = ? ORDER BY period", (self.scope,)).fetchall()
        return [p for (n,) in rows if (p := self.period(int(n))) is not None]

    def mark_submitted(self, period: int, tx_hash: str | None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE periods SET submitted = 1, tx_hash = COALESCE(?, tx_hash) WHERE scope = ? AND period = ?",
                (tx_hash, self.scope, period),
            )
