"""The index's database: SQLite (one file, nothing to run) or PostgreSQL, with one schema.

``open_database("index.sqlite")`` or ``open_database("postgresql://user@host:5432/gaib")``. SQL is written
once with ``?`` placeholders; the PostgreSQL connection (psycopg 3, the ``postgres`` extra) rewrites them.
Everything the indexer writes for one block range goes in one transaction with the cursor, so a process
killed at any point leaves either the whole range or none of it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gaib_sdk.errors import GaibConfigError

__all__ = ["SCHEMA_VERSION", "Database", "open_database"]

SCHEMA_VERSION = "1"

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Blocks the index knows the hash of: each block holding an event, and the last block of each range
    # (the cursor's). A reorg shows as a stored hash the node no longer has.
    "CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL, timestamp BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events ("
    " block_number BIGINT NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL, address TEXT NOT NULL,"
    " contract TEXT NOT NULL, event TEXT NOT NULL, args TEXT NOT NULL, PRIMARY KEY (block_number, log_index))",
    "CREATE INDEX IF NOT EXISTS events_by_name ON events (contract, event, block_number)",
    # The protocol's state read at the end of a range (amounts as decimal strings of on-chain integers).
    "CREATE TABLE IF NOT EXISTS snapshots ("
    " block_number BIGINT PRIMARY KEY, timestamp BIGINT NOT NULL, aid_supply TEXT NOT NULL,"
    " said_assets TEXT NOT NULL, said_supply TEXT NOT NULL, share_price TEXT NOT NULL, reserve TEXT NOT NULL)",
]


class Database:
    """A connection to the index's database. Use :func:`open_database`."""

    def __init__(self, conn: Any, kind: str, where: str):
        self.conn = conn
        self.kind = kind  # "sqlite" or "postgresql"
        self.where = where
        self._in_tx = False

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgresql" else sql

    def create(self) -> None:
        with self.transaction():
            for statement in SCHEMA:
                self.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed at the end of the block, rolled back if it raises."""
        if self._in_tx:
            raise RuntimeError("transactions do not nest")
        self._in_tx = True
        try:
            if self.kind == "sqlite":
                self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()
        finally:
            self._in_tx = False

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.kind == "sqlite":
            self.conn.executemany(sql, rows)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows: PostgreSQL's COPY (several times faster than INSERTs for a range of thousands of
        events), SQLite's executemany."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.kind == "postgresql":
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(self._sql(sql), tuple(params))
        rows: list[tuple[Any, ...]] = [tuple(r) for r in cur.fetchall()]
        if self.kind == "postgresql" and not self._in_tx:
            self.conn.commit()  # end the read's implicit transaction: a long-lived reader holds no snapshot
        return rows

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Inside a transaction."""
        self.execute("DELETE FROM meta WHERE key = ?", (key,))
        self.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.conn.close()


def open_database(where: str | Path) -> Database:
    """The index at ``where``: a SQLite file path (created if missing) or a ``postgresql://`` URL."""
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError as exc:
            raise GaibConfigError(
                "a PostgreSQL index needs psycopg 3: pip install 'gaib-sdk[postgres]'", stage="index"
            ) from exc
        try:
            conn = psycopg.connect(text)
        except psycopg.Error as exc:
            raise GaibConfigError(f"could not open the PostgreSQL index at {text}: {exc}", stage="index") from exc
        db = Database(conn, "postgresql", text)
    else:
        path = Path(text)
        if path.parent and not path.parent.exists():
            raise GaibConfigError(f"no folder {path.parent} for the index {path}: create it first", stage="index")
        lite = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # WAL: a reader (gaib report, gaib points) never blocks the indexer; a killed process loses nothing
        # committed (NORMAL syncs at checkpoints: what is at risk is a power cut, not a crash).
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("PRAGMA synchronous=NORMAL")
        db = Database(lite, "sqlite", str(path))
    db.create()
    return db
