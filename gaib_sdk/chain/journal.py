"""The transaction journal: every transaction the SDK signs, written to disk before it is broadcast.

One SQLite file (WAL mode, synchronous=FULL: a row committed is on disk before the node sees the
transaction). A status written later (sent, mined...) is committed without waiting for the disk: a killed
process keeps it, a power cut may lose the last few, and then the chain, asked again, tells what they were.
A row holds the signed raw transaction, its hash, nonce, chain id and sender, the caller's
idempotency key, and the status it has reached::

    signed ──> sent ──> mined
       │         │  └──> reverted
       └─────────┴────> dropped      its nonce went to another transaction: it never ran

Rows are scoped by chain: ``"<chain id>:<genesis hash>"``, so a journal never replays transactions onto
another chain, nor onto a development node restarted from nothing (a new genesis). A restart from saved
state keeps the genesis, and the journal resumes there.

An intent's key is chosen by the caller and names what it does, not how: ``"digitize:<registry>:<kind>:
<keccak of the batch's asset ids>"``. Asking again for a key already in the journal never signs anew while
an earlier attempt may still run: a mined one is returned, a pending one is re-broadcast (the same bytes,
so the same hash: never a duplicate) and awaited. A new attempt is signed only after a revert or a drop.
The :class:`~gaib_sdk.chain.Chain` does all of this; the journal only remembers.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gaib_sdk.errors import ChainError
from gaib_sdk.storage import open_durable, write_transaction

__all__ = ["Entry", "Journal", "Status"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS txs (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    chain_id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    raw TEXT NOT NULL,
    what TEXT NOT NULL,
    status TEXT NOT NULL,
    block_number INTEGER,
    gas_used INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (scope, key, attempt)
);
CREATE UNIQUE INDEX IF NOT EXISTS txs_by_hash ON txs (scope, tx_hash);
CREATE INDEX IF NOT EXISTS txs_by_status ON txs (scope, sender, status, nonce);
"""
COLUMNS = "key, attempt, chain_id, sender, nonce, tx_hash, raw, what, status, block_number, gas_used"


class Status(StrEnum):
    SIGNED = "signed"
    SENT = "sent"
    MINED = "mined"
    REVERTED = "reverted"
    DROPPED = "dropped"


UNSETTLED = (Status.SIGNED, Status.SENT)


@dataclass(frozen=True)
class Entry:
    """One signed transaction: one attempt at one intent."""

    key: str
    attempt: int
    chain_id: int
    sender: str
    nonce: int
    tx_hash: str
    raw: str  # 0x-hex of the signed transaction: public once broadcast, never a secret
    what: str
    status: Status
    block_number: int | None = None
    gas_used: int | None = None

    @property
    def settled(self) -> bool:
        return self.status not in UNSETTLED


class Journal:
    """An SQLite journal of transactions (see the module docstring). Safe to share between processes."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self._db = open_durable(self.path, SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ChainError(f"cannot open the transaction journal {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with write_transaction(self._db) as db:
                yield db
        except sqlite3.Error as exc:
            raise ChainError(f"cannot write the transaction journal {self.path}: {exc}") from exc

    @staticmethod
    def _entry(row: tuple[object, ...]) -> Entry:
        key, attempt, chain_id, sender, nonce, tx_hash, raw, what, status, block, gas = row
        return Entry(
            key=str(key),
            attempt=int(attempt),  # type: ignore[call-overload]
            chain_id=int(chain_id),  # type: ignore[call-overload]
            sender=str(sender),
            nonce=int(nonce),  # type: ignore[call-overload]
            tx_hash=str(tx_hash),
            raw=str(raw),
            what=str(what),
            status=Status(str(status)),
            block_number=None if block is None else int(block),  # type: ignore[call-overload]
            gas_used=None if gas is None else int(gas),  # type: ignore[call-overload]
        )

    # ---- reads ----

    def latest(self, scope: str, key: str) -> Entry | None:
        """The latest attempt at ``key``, or None if the journal has never seen it."""
        row = self._db.execute(
            f"SELECT {COLUMNS} FROM txs WHERE scope = ? AND key = ? ORDER BY attempt DESC LIMIT 1", (scope, key)
        ).fetchone()
        return None if row is None else self._entry(row)

    def by_hash(self, scope: str, tx_hash: str) -> Entry | None:
        row = self._db.execute(
            f"SELECT {COLUMNS} FROM txs WHERE scope = ? AND tx_hash = ?", (scope, tx_hash)
        ).fetchone()
        return None if row is None else self._entry(row)

    def unsettled(self, scope: str, sender: str) -> list[Entry]:
        """``sender``'s transactions that were signed or sent but whose fate is not recorded, by nonce."""
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM txs WHERE scope = ? AND sender = ? AND status IN (?, ?) ORDER BY nonce, attempt",
            (scope, sender, *UNSETTLED),
        ).fetchall()
        return [self._entry(r) for r in rows]

    def entries(self, scope: str | None = None) -> list[Entry]:
        """Every row (of one scope, or all), oldest first."""
        where, args = ("WHERE scope = ?", (scope,)) if scope is not None else ("", ())
        rows = self._db.execute(f"SELECT {COLUMNS} FROM txs {where} ORDER BY created_at, nonce", args).fetchall()
        return [self._entry(r) for r in rows]

    # ---- writes ----

    def record(self, scope: str, entries: Sequence[Entry]) -> None:
        """Write signed transactions, all or none, before any of them is broadcast. Raises ChainError if
        an attempt at one of these keys is already recorded (another process got there first)."""
        now = time.time()
        try:
            with self._write() as db:
                db.executemany(
                    f"INSERT INTO txs (scope, {COLUMNS}, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            scope,
                            e.key,
                            e.attempt,
                            e.chain_id,
                            e.sender,
                            e.nonce,
                            e.tx_hash,
                            e.raw,
                            e.what,
                            str(e.status),
                            e.block_number,
                            e.gas_used,
                            now,
                            now,
                        )
                        for e in entries
                    ],
                )
        except ChainError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise ChainError(
                    f"another process is sending one of these transactions ({entries[0].what}): the journal "
                    f"{self.path} already holds that attempt; run again once it is done"
                ) from exc
            raise

    def mark(self, scope: str, updates: Sequence[tuple[str, Status, int | None, int | None]]) -> None:
        """Record new statuses: (tx hash, status, block number, gas used) each, in one transaction."""
        now = time.time()
        # what a status says can be asked of the chain again: no fsync for it (the next FULL commit syncs it)
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._write() as db:
                db.executemany(
                    "UPDATE txs SET status = ?, block_number = COALESCE(?, block_number), "
                    "gas_used = COALESCE(?, gas_used), updated_at = ? WHERE scope = ? AND tx_hash = ?",
                    [(str(status), block, gas, now, scope, tx_hash) for tx_hash, status, block, gas in updates],
                )
        finally:
            self._db.execute("PRAGMA synchronous=FULL")
