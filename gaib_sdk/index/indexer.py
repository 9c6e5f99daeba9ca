"""The event indexer: the protocol's logs into a database, range by range, reorg-safe and resumable.

Each step reads the logs of the next block range with one ``eth_getLogs`` (for every source's address at
once), decodes them (:class:`~gaib_sdk.index.events.Decoder`) and writes them in one transaction together
with the new cursor and the hash of the range's last block. So:

- a process killed at any point leaves each range written whole or not at all, and the next run starts
  from the cursor: nothing lost, nothing twice (the events' key is (block, log index));
- the range adapts to the node: an error that says the answer would be too large or the range too wide
  halves it (down to one block), and each range that goes through lets it grow again, up to ``max_blocks``;
- only blocks at least ``confirmations`` under the head are read, and before each step the stored hash of
  the cursor's block is compared with the node's: if the chain reorganised under it, the index walks back
  through its stored hashes to the last block both agree on and deletes everything above it (events,
  blocks, snapshots), then reads the new branch.

With a ``snapshot`` reader (:func:`protocol_snapshot`), the protocol's state (AID supply, sAID assets and
supply, share price, reserve) at each range's last block is written in the same transaction: the history
that ``gaib report --index`` draws without an archive node (reads at recent blocks are served by any node).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3.exceptions import BlockNotFound

from gaib_sdk.chain import Chain, RpcProvider
from gaib_sdk.errors import ChainError, GaibConfigError
from gaib_sdk.index.db import SCHEMA_VERSION, Database, open_database
from gaib_sdk.index.events import (
    PROTOCOL_ARTIFACTS,
    VENUE_CONTRACTS,
    Decoder,
    Event,
    Source,
    protocol_sources,
)

__all__ = ["Index", "Indexer", "Snapshot", "SyncStats", "protocol_snapshot"]

#: Words in a node's eth_getLogs error that mean "ask for less" (geth, erigon, alchemy, infura, anvil...).
RANGE_ERRORS = (
    "too many",
    "range",
    "limit",
    "exceed",
    "too large",
    "response size",
    "more than",
    "max results",
    "query timeout",
)


#: Words of a node's answer for a block whose state it no longer keeps (geth, erigon, reth, anvil, providers).
PRUNED_STATE = (
    "missing trie node",
    "header not found",
    "pruned",
    "state not available",
    "state is not available",
    "historical state",
    "blockoutofrange",
    "block height is",
    "not found",
    "archive",
)

#: Logs one range should bring back at most: a range that brought more than half of it is not widened.
MAX_LOGS = 10_000


@dataclass(frozen=True)
class Snapshot:
    """The protocol's state at one block, as on-chain integers (AID wei; USDC base units for the reserve)."""

    block_number: int
    timestamp: int
    aid_supply: int
    said_assets: int
    said_supply: int
    share_price: int
    reserve: int


@dataclass
class SyncStats:
    """What one :meth:`Indexer.sync` did."""

    from_block: int
    to_block: int
    events: int
    ranges: int
    rollbacks: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


SnapshotReader = Callable[[int, int], Awaitable[Snapshot | None]]


def sources_from_meta(text: str) -> list[Source]:
    """The sources an index was created with (their names and addresses), with their ABIs."""
    out = []
    for name, address in json.loads(text):
        if name in PROTOCOL_ARTIFACTS:
            out.extend(protocol_sources({name: address}))
        elif name.startswith("venue:") and name[6:] in VENUE_CONTRACTS:
            out.append(Source(name, address, VENUE_CONTRACTS[name[6:]][1]))
    return out


class Index:
    """An index opened for reading: its events as typed rows, its snapshots. No node needed."""

    def __init__(self, db: Database, decoder: Decoder | None = None):
        self.db = db
        if decoder is None:
            stored = db.get_meta("sources")
            decoder = Decoder(sources_from_meta(stored) if stored else [])
        self.decoder = decoder

    @classmethod
    def open(cls, where: str | Any) -> Index:
        """An existing index (a SQLite path or a postgresql:// URL)."""
        if not isinstance(where, Database) and "://" not in str(where) and not Path(str(where)).exists():
            raise GaibConfigError(f"no index at {where}: run `gaib index --db {where}` first", stage="index")
        db = where if isinstance(where, Database) else open_database(where)
        if db.get_meta("genesis") is None:
            raise GaibConfigError(f"{db.where} holds no index yet: run `gaib index` first", stage="index")
        return cls(db)

    @property
    def cursor(self) -> int | None:
        """The last block indexed (None before the first range)."""
        value = self.db.get_meta("cursor")
        return int(value) if value is not None else None

    @property
    def chain_id(self) -> int | None:
        value = self.db.get_meta("chain_id")
        return int(value) if value is not None else None

    def events(
        self,
        contract: str | None = None,
        event: str | Sequence[str] | None = None,
        *,
        from_block: int = 0,
        to_block: int | None = None,
    ) -> list[Event]:
        """Indexed events in chain order, optionally of one source and one or more event names."""
        sql = (
            "SELECT e.block_number, e.log_index, e.tx_hash, e.address, e.contract, e.event, e.args, b.hash,"
            " b.timestamp FROM events e JOIN blocks b ON b.number = e.block_number WHERE e.block_number >= ?"
        )
        params: list[Any] = [from_block]
        if to_block is not None:
            sql += " AND e.block_number <= ?"
            params.append(to_block)
        if contract is not None:
            sql += " AND e.contract = ?"
            params.append(contract)
        names = [event] if isinstance(event, str) else list(event or [])
        if names:
            sql += " AND e.event IN (" + ",".join("?" * len(names)) + ")"
            params.extend(names)
        sql += " ORDER BY e.block_number, e.log_index"
        return [
            self.decoder.row(
                c,
                ev,
                json.loads(args),
                address=addr,
                block_number=int(bn),
                block_hash=h,
                timestamp=int(ts),
                tx_hash=tx,
                log_index=int(li),
            )
            for bn, li, tx, addr, c, ev, args, h, ts in self.db.query(sql, params)
        ]

    def count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM events")[0][0])

    def snapshots(self) -> list[Snapshot]:
        rows = self.db.query(
            "SELECT block_number, timestamp, aid_supply, said_assets, said_supply, share_price, reserve"
            " FROM snapshots ORDER BY block_number"
        )
        return [Snapshot(int(r[0]), int(r[1]), *(int(v) for v in r[2:])) for r in rows]

    def block_times(self) -> dict[int, int]:
        return {int(n): int(t) for n, t in self.db.query("SELECT number, timestamp FROM blocks")}

    def close(self) -> None:
        self.db.close()


class Indexer(Index):
    """Follows ``sources`` on ``chain`` into ``db`` from ``start_block``. See the module docstring.

    ``batch_blocks`` is the first range's width; ``max_blocks`` the widest it grows to. ``snapshot`` reads
    the protocol's state at a block (:func:`protocol_snapshot`); None for none."""

    def __init__(
        self,
        chain: Chain,
        db: Database | str | Any,
        sources: Sequence[Source],
        *,
        start_block: int = 0,
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        max_blocks: int = 10_000,
        snapshot: SnapshotReader | None = None,
    ):
        if confirmations < 0 or batch_blocks < 1 or max_blocks < batch_blocks:
            raise GaibConfigError("confirmations >= 0 and 1 <= batch_blocks <= max_blocks", stage="index")
        database = db if isinstance(db, Database) else open_database(db)
        super().__init__(database, Decoder(sources))
        self.chain = chain
        self.sources = list(sources)
        self.start_block = start_block
        self.confirmations = confirmations
        self.batch = batch_blocks
        self.max_blocks = max_blocks
        self.snapshot = snapshot
        #: Called with "fetched", "written" (rows in, not committed) and "committed" at each range: a seam
        #: for tests that kill the process at each point.
        self.on_stage: Callable[[str], None] = lambda stage: None
        self._checked = False
        #: Seconds spent so far reading from the node, decoding, and writing to the database.
        self.timings = {"node": 0.0, "decode": 0.0, "database": 0.0}
        #: Reorgs rolled back so far, and the block the last one went back to.
        self.rollbacks = 0
        self.rolled_back_to: int | None = None

    @classmethod
    async def for_client(cls, gaib: Any, db: Database | str | Any, **kwargs: Any) -> Indexer:
        """An indexer of ``gaib``'s deployment (every protocol contract and each venue set up) from the
        deployment's block, with the protocol's snapshots."""
        deployment = gaib.deployment
        sources = protocol_sources(deployment.contracts, gaib.venue_state or deployment.venues)
        kwargs.setdefault("start_block", deployment.block)
        kwargs.setdefault("snapshot", protocol_snapshot(gaib))
        return cls(gaib.chain, db, sources, **kwargs)

    # ---- the cursor and the chain's identity ----

    async def _check_identity(self) -> None:
        if self._checked:
            return
        genesis = await self.chain.genesis_hash()
        sources = json.dumps(sorted([s.name, s.address] for s in self.sources))
        stored = {k: self.db.get_meta(k) for k in ("chain_id", "genesis", "sources", "schema")}
        if stored["genesis"] is None:
            with self.db.transaction():
                self.db.set_meta("schema", SCHEMA_VERSION)
                self.db.set_meta("chain_id", str(self.chain.chain_id))
                self.db.set_meta("genesis", genesis)
                self.db.set_meta("sources", sources)
                self.db.set_meta("start_block", str(self.start_block))
        else:
            if stored["genesis"] != genesis or stored["chain_id"] != str(self.chain.chain_id):
                raise GaibConfigError(
                    f"the index at {self.db.where} is of chain {stored['chain_id']} (genesis {stored['genesis']}),"
                    f" not this node's chain {self.chain.chain_id} ({genesis}): use another database",
                    stage="index",
                    chain_id=self.chain.chain_id,
                )
            self.start_block = int(self.db.get_meta("start_block") or self.start_block)
            if stored["sources"] != sources:
                self._add_sources(json.loads(stored["sources"] or "[]"), sources)
        self._checked = True

    def _add_sources(self, stored: list[list[str]], sources: str) -> None:
        """Sources added since the index was made (a venue set up since): their past events are read first,
        up to the cursor, a range per transaction (:meth:`_backfill`), before the index goes on. A source
        removed or moved is refused: the index would hold events of a contract it no longer follows."""
        old = {(name, address.lower()) for name, address in stored}
        new = {(s.name, s.address.lower()) for s in self.sources}
        if not old <= new:
            raise GaibConfigError(
                f"the index at {self.db.where} follows contracts these sources lack or place elsewhere"
                f" ({sorted(name for name, _ in old - new)}): index into a new database",
                stage="index",
            )
        added = sorted(name for name, _ in new - old)
        with self.db.transaction():
            cursor = self.cursor
            if cursor is not None and cursor >= self.start_block:
                pending = json.loads(self.db.get_meta("backfill") or '{"sources": []}')
                # a backfill under way goes on for its sources; the new ones start from the beginning
                todo = {"sources": sorted({*pending["sources"], *added}), "next": self.start_block, "upto": cursor}
                self.db.set_meta("backfill", json.dumps(todo))
            self.db.set_meta("sources", sources)

    async def _backfill(self, todo: dict[str, Any]) -> tuple[int, int]:
        """One range of the past events of sources added since: (blocks, events) it added."""
        start, upto = int(todo["next"]), int(todo["upto"])
        end = min(upto, start + self.batch - 1)
        addresses = [s.address for s in self.sources if s.name in todo["sources"]]
        query = {"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}
        try:
            if self.chain.in_process:
                found = await self.chain.w3.eth.get_logs({**query, "fromBlock": start, "toBlock": end})  # type: ignore[typeddict-item]
                logs: list[Mapping[str, Any]] = [dict(log) for log in found]
            else:
                logs = await self.chain.rpc("eth_getLogs", query)
        except ChainError as exc:
            if not any(word in str(exc).lower() for word in RANGE_ERRORS) or end == start:
                raise
            self.batch = max(1, (end - start + 1) // 2)
            return (0, 0)
        numbers = sorted({_num(log["blockNumber"]) for log in logs})
        headers = await self._headers(numbers)
        known = dict(self.db.query("SELECT number, hash FROM blocks WHERE number >= ? AND number <= ?", (start, end)))
        rows = []
        for log in logs:
            n = _num(log["blockNumber"])
            if _hexstr(log["blockHash"]) != headers[n][0] or known.get(n, headers[n][0]) != headers[n][0]:
                return (0, 0)  # the chain moved under the index: the next step rolls it back
            row = self.decoder.decode_row(log)
            if row is not None:
                rows.append(row)
        with self.db.transaction():
            self.db.insert_many(
                "events", ("block_number", "log_index", "tx_hash", "address", "contract", "event", "args"), rows
            )
            self.db.insert_many(
                "blocks", ("number", "hash", "timestamp"), [(n, *headers[n]) for n in numbers if n not in known]
            )
            if end >= upto:
                self.db.execute("DELETE FROM meta WHERE key = ?", ("backfill",))
            else:
                self.db.set_meta("backfill", json.dumps({**todo, "next": end + 1}))
            self.on_stage("written")
        self.on_stage("committed")
        return (end - start + 1, len(rows))

    def _cursor(self) -> int:
        cursor = self.cursor
        return self.start_block - 1 if cursor is None else cursor

    # ---- talking to the node ----

    async def _head(self) -> int:
        if self.chain.in_process:  # eth-tester's provider wants web3's request formatting: the plain API
            return int(await self.chain.w3.eth.block_number) - self.confirmations
        return _num(await self.chain.rpc("eth_blockNumber")) - self.confirmations

    async def _headers(self, numbers: Sequence[int], *, missing_ok: bool = False) -> dict[int, tuple[str, int]]:
        """(hash, timestamp) of each block; as JSON-RPC batches against a node. With ``missing_ok``, a block
        the node does not have (its chain is shorter since a reorg) gets the hash "" instead of an error."""
        out: dict[int, tuple[str, int]] = {}
        provider = self.chain.w3.provider
        if isinstance(provider, RpcProvider) and len(numbers) > 1:
            for i in range(0, len(numbers), 500):
                chunk = numbers[i : i + 500]
                answers = await provider.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
                for n, answer in zip(chunk, answers, strict=True):
                    block = answer.get("result")
                    if not block:
                        if missing_ok:
                            out[n] = ("", 0)
                            continue
                        raise ChainError(f"the node has no block {n}: {answer.get('error')}")
                    out[n] = (_hexstr(block["hash"]), _num(block["timestamp"]))
            return out
        for n in numbers:
            try:
                if self.chain.in_process:
                    block = dict(await self.chain.w3.eth.get_block(n))
                else:
                    block = await self.chain.rpc("eth_getBlockByNumber", hex(n), False)
            except BlockNotFound:
                block = None
            if not block:
                if missing_ok:
                    out[n] = ("", 0)
                    continue
                raise ChainError(f"the node has no block {n}")
            out[n] = (_hexstr(block["hash"]), _num(block["timestamp"]))
        return out

    async def _logs(self, start: int, end: int) -> list[Mapping[str, Any]]:
        query = {"fromBlock": hex(start), "toBlock": hex(end), "address": self.decoder.addresses}
        if self.chain.in_process:
            found = await self.chain.w3.eth.get_logs({**query, "fromBlock": start, "toBlock": end})  # type: ignore[typeddict-item]
            return [dict(log) for log in found]
        logs: list[Mapping[str, Any]] = await self.chain.rpc("eth_getLogs", query)
        return logs

    # ---- reorgs ----

    async def _rollback_if_reorged(self) -> bool:
        """Compare the cursor block's stored hash with the node's; on a mismatch, walk back to the last
        block both agree on and delete what is above it. True if it rolled back."""
        cursor = self.cursor
        if cursor is None or cursor < self.start_block:  # nothing indexed yet
            return False
        # most steps find the cursor block as it was: one header, not the window walked on a mismatch
        stored = self.db.query("SELECT hash FROM blocks WHERE number = ?", (cursor,))
        if stored and (await self._headers([cursor], missing_ok=True))[cursor][0] == stored[0][0]:
            return False
        below = cursor + 1
        while True:
            rows = self.db.query(
                "SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC LIMIT 64", (below,)
            )
            if not rows:
                self._rollback_to(self.start_block - 1)
                return True
            node = await self._headers([int(n) for n, _ in rows], missing_ok=True)
            for n, stored in rows:
                if node[int(n)][0] == stored:
                    if int(n) == cursor:
                        return False
                    self._rollback_to(int(n))
                    return True
            below = int(rows[-1][0])

    def _rollback_to(self, block: int) -> None:
        self.rolled_back_to = block
        with self.db.transaction():
            pending = self.db.get_meta("backfill")
            if pending is not None:  # what is above the fork is read again with every source
                todo = json.loads(pending)
                if block < int(todo["next"]):
                    self.db.execute("DELETE FROM meta WHERE key = ?", ("backfill",))
                elif block < int(todo["upto"]):
                    self.db.set_meta("backfill", json.dumps({**todo, "upto": block}))
            for table, column in (("events", "block_number"), ("blocks", "number"), ("snapshots", "block_number")):
                self.db.execute(f"DELETE FROM {table} WHERE {column} > ?", (block,))
            self.db.set_meta("cursor", str(block))

    # ---- indexing ----

    async def step(self, to_block: int | None = None) -> tuple[int, int] | None:
        """Index the next range (ending at ``to_block`` at the latest); (blocks, events) it added, or None
        when the index is at the head."""
        await self._check_identity()
        rolled = await self._rollback_if_reorged()
        if rolled:
            self.rollbacks += 1
        pending = self.db.get_meta("backfill")
        if pending is not None:
            return await self._backfill(json.loads(pending))
        started = time.perf_counter()
        cursor = self._cursor()
        head = await self._head()
        if to_block is not None:
            head = min(head, to_block)
        if cursor >= head:
            return None
        while True:
            end = min(head, cursor + self.batch)
            try:
                logs = await self._logs(cursor + 1, end)
                break
            except ChainError as exc:
                if not any(word in str(exc).lower() for word in RANGE_ERRORS) or end == cursor + 1:
                    raise
                self.batch = max(1, (end - cursor) // 2)
        self.on_stage("fetched")
        numbers = sorted({_num(log["blockNumber"]) for log in logs} | {end})
        headers = await self._headers(numbers)
        snap = await self.snapshot(end, headers[end][1]) if self.snapshot is not None else None
        fetched = time.perf_counter()
        self.timings["node"] += fetched - started
        rows = []
        for log in logs:
            n = _num(log["blockNumber"])
            if _hexstr(log["blockHash"]) != headers[n][0]:
                return (0, 0)  # the chain moved between the two reads: the next step sees it
            row = self.decoder.decode_row(log)
            if row is not None:
                rows.append(row)
        decoded = time.perf_counter()
        self.timings["decode"] += decoded - fetched
        with self.db.transaction():
            self.db.insert_many(
                "events", ("block_number", "log_index", "tx_hash", "address", "contract", "event", "args"), rows
            )
            self.db.executemany(
                "INSERT INTO blocks (number, hash, timestamp) VALUES (?, ?, ?)",
                [(n, h, t) for n, (h, t) in headers.items()],
            )
            if snap is not None:
                self.db.execute(
                    "INSERT INTO snapshots (block_number, timestamp, aid_supply, said_assets, said_supply,"
                    " share_price, reserve) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        snap.block_number,
                        snap.timestamp,
                        str(snap.aid_supply),
                        str(snap.said_assets),
                        str(snap.said_supply),
                        str(snap.share_price),
                        str(snap.reserve),
                    ),
                )
            self.db.set_meta("cursor", str(end))
            self.on_stage("written")
        self.timings["database"] += time.perf_counter() - decoded
        self.on_stage("committed")
        # the next range: twice as wide, unless this one already brought back more logs than is wise in
        # one answer (a node's own limit is often 10,000)
        grow = len(logs) <= MAX_LOGS // 2
        self.batch = min(self.max_blocks, self.batch * 2) if grow else max(1, (end - cursor) // 2)
        return (end - cursor, len(rows))

    async def sync(self, to_block: int | None = None) -> SyncStats:
        """Index until the head (less the confirmation depth), or ``to_block``."""
        await self._check_identity()
        started, first, events, ranges, rollbacks = time.perf_counter(), self._cursor() + 1, 0, 0, self.rollbacks
        while to_block is None or self._cursor() < to_block:
            done = await self.step(to_block)
            if done is None:
                break
            ranges += 1
            events += done[1]
        return SyncStats(
            first, self._cursor(), events, ranges, self.rollbacks - rollbacks, time.perf_counter() - started
        )

    async def run(self, poll_interval: float = 2.0, stop: asyncio.Event | None = None) -> None:
        """Follow the chain: sync, wait ``poll_interval`` seconds, again, until ``stop`` is set."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            await self.sync()
            try:
                await asyncio.wait_for(stop.wait(), poll_interval)
            except TimeoutError:
                pass


def protocol_snapshot(gaib: Any) -> SnapshotReader:
    """Reads AID's supply, sAID's assets, supply and share price, and AID's stablecoin reserve at a block.
    A block whose state the node no longer keeps (a pruned, non-archive node far behind) gives None: the
    range is indexed without a snapshot."""
    p = gaib.protocol

    async def read(block: int, timestamp: int) -> Snapshot | None:
        calls = [
            p.aid.functions.totalSupply(),
            p.said.functions.totalAssets(),
            p.said.functions.totalSupply(),
            p.said.functions.convertToAssets(10**18),
            p.usdc.functions.balanceOf(p.aid.address),
        ]
        if p.usdt is not None:
            calls.append(p.usdt.functions.balanceOf(p.aid.address))
        try:
            values = await gaib.chain.call_many(calls, block)
        except Exception as exc:
            if any(word in str(exc).lower() for word in PRUNED_STATE):
                return None
            raise
        supply, assets, shares, price, reserve = (int(v) for v in values[:5])
        reserve += sum(int(v) for v in values[5:])
        return Snapshot(block, timestamp, supply, assets, shares, price, reserve)

    return read


def _num(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _hexstr(value: Any) -> str:
    if isinstance(value, str):
        return value.lower()
    return "0x" + bytes(value).hex()
