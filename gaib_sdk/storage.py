"""SQLite files that must survive a crash: the transaction journal and the node's store.

Both are written before the act they record (a signed transaction before it is sent, a report before its root
is submitted), so each write must be on disk when it returns: WAL with ``synchronous=FULL``, and every write in
one ``BEGIN IMMEDIATE`` transaction that is rolled back whole if anything in it fails.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["open_durable", "write_transaction"]


def open_durable(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating it and its folder) the SQLite file at ``path`` with ``schema`` applied. Raises OSError or
    sqlite3.Error for the caller to name in its own words."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
