"""The event indexer (gaib_sdk.index): typed rows, a node's range limit, reorgs, a kill at any point, and
PostgreSQL with the same schema. Each promise is tested against a real node (anvil) where it matters."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gaib_sdk import Gaib, GaibConfigError
from gaib_sdk.cli import main
from gaib_sdk.index import Index, Indexer, open_database, protocol_sources
from gaib_sdk.testing.postgres import PostgresServer, find_postgres

from .anvil import KEYS, ROOT, Anvil


async def deploy(node: Anvil, tmp_path: Path) -> Path:
    deployments = tmp_path / "deployments.json"
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
        await admin.deploy()
    return deployments


async def activity(node: Anvil, deployments: Path, mint: int = 1000, stake: int = 400) -> None:
    """An investor is whitelisted, minted test USDC, mints AID and stakes part of it: a block each."""
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
        investor = admin.with_account(KEYS[1])
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(mint))
        await investor.aid.mint(Decimal(mint))
        await investor.said.stake(Decimal(stake))


def rows(where: str | Path, *, snapshots: bool = False) -> list[tuple[Any, ...]]:
    """Every event row of an index, in order; with ``snapshots``, its snapshots too (taken at the end of
    each range: the same only where the ranges were)."""
    db = open_database(where)
    try:
        events = db.query("SELECT * FROM events ORDER BY block_number, log_index")
        snaps = db.query("SELECT * FROM snapshots ORDER BY block_number") if snapshots else []
        return [tuple(str(v) for v in r) for r in events + snaps]
    finally:
        db.close()


_OPEN: list[Gaib | Index] = []


@pytest_asyncio.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _OPEN:
        item = _OPEN.pop()
        if isinstance(item, Index):
            item.close()
        else:
            await item.close()


def opened(where: str | Path) -> Index:
    """An index opened for reading, closed at the end of the test."""
    found = Index.open(where)
    _OPEN.append(found)
    return found


async def index(node: Anvil, deployments: Path, where: str | Path, **kwargs: Any) -> Indexer:
    """An indexer of the deployment on ``node`` into ``where``, synced to the head (its client is closed
    at the end of the test)."""
    client = await Gaib.connect(node.url, deployments=deployments, journal=False)
    _OPEN.append(client)
    indexer = await Indexer.for_client(client, where, **kwargs)
    _OPEN.append(indexer)
    await indexer.sync()
    return indexer


@pytest.mark.asyncio
async def test_events_come_back_as_typed_rows(gaib: Gaib, tmp_path: Path) -> None:
    investor = gaib.with_account(2)
    await gaib.aid.whitelist(investor.address)
    await gaib.faucet(investor.address, Decimal(1000))
    await investor.aid.mint(Decimal(600))
    await investor.said.stake(Decimal(250))
    indexer = await Indexer.for_client(gaib, tmp_path / "index.sqlite", batch_blocks=3)
    stats = await indexer.sync()
    assert stats.events == indexer.count() > 0
    [minted] = indexer.events("aid", "Minted")
    assert type(minted).__name__ == "AidMinted"
    assert minted.account == investor.address  # type: ignore[attr-defined]
    assert minted.aidOut == 600 * 10**18 and minted.stableIn == 600 * 10**6  # type: ignore[attr-defined]
    [deposit] = indexer.events("said", "Deposit")
    assert deposit.assets == 250 * 10**18  # type: ignore[attr-defined]
    snap = indexer.snapshots()[-1]
    assert (snap.aid_supply, snap.said_assets, snap.reserve) == (600 * 10**18, 250 * 10**18, 600 * 10**6)
    # a second sync finds nothing new; the same file opened for reading gives the same typed rows
    assert (await indexer.sync()).events == 0
    [again] = opened(tmp_path / "index.sqlite").events("aid", "Minted")
    assert type(again).__name__ == "AidMinted" and again.model_dump() == minted.model_dump()


def test_addresses_are_checksummed_as_eth_utils_does() -> None:
    from eth_utils.address import to_checksum_address

    from gaib_sdk.index.events import checksummed

    for i in range(2_000):
        raw = f"{(i * 0x9E3779B97F4A7C15) % 2**160:040x}"
        assert checksummed(raw) == checksummed(raw.upper()) == to_checksum_address("0x" + raw)


def test_the_direct_json_of_plain_events_is_the_general_decoders() -> None:
    import random

    from gaib_sdk.index.events import PROTOCOL_ARTIFACTS, _plan, decode_args, dumps, protocol_sources

    rng = random.Random(17)
    contracts = {key: "0x" + f"{i + 1:040x}" for i, key in enumerate(PROTOCOL_ARTIFACTS)}
    checked = 0
    for source in protocol_sources(contracts):
        for abi in source.events():
            plan = _plan(abi)
            if not plan.flat:
                continue
            for _ in range(20):
                bits = {"address": 160, "bool": 1}
                topics = [f"0x{rng.getrandbits(bits.get(k, 256)):064x}" for _, k in plan.indexed]
                data = "0x" + "".join(f"{rng.getrandbits(bits.get(k, 256)):064x}" for k in plan.rest_kinds)
                assert plan.json(topics, data) == dumps(decode_args(abi, topics, data)), abi["name"]
                checked += 1
    assert checked > 500


class RangeLimit(httpx.AsyncBaseTransport):
    """A node that refuses eth_getLogs over more than ``limit`` blocks, the way public endpoints do."""

    def __init__(self, limit: int):
        self.limit, self.refused = limit, 0
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        if isinstance(body, dict) and body["method"] == "eth_getLogs":
            query = body["params"][0]
            if int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1 > self.limit:
                self.refused += 1
                error = {"code": -32005, "message": f"query exceeds max block range {self.limit}"}
                return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "error": error})
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.asyncio
async def test_the_range_halves_to_what_the_node_accepts(anvil: Anvil, tmp_path: Path) -> None:
    deployments = await deploy(anvil, tmp_path)
    await activity(anvil, deployments)
    limit = RangeLimit(3)
    client = await Gaib.connect(anvil.url, deployments=deployments, journal=False, transport=limit)
    indexer = await Indexer.for_client(client, tmp_path / "limited.sqlite", batch_blocks=64)
    await indexer.sync()
    retries = client.chain.w3.provider.retries  # type: ignore[attr-defined]
    await client.close()
    assert limit.refused > 0 and indexer.batch <= 64
    assert retries == 0  # "exceeds max block range" is a question of size, not a rate limit to wait out
    await index(anvil, deployments, tmp_path / "free.sqlite")
    assert rows(tmp_path / "limited.sqlite") == rows(tmp_path / "free.sqlite")


@pytest.mark.asyncio
async def test_a_reorg_rolls_back_the_orphaned_blocks(anvil: Anvil, tmp_path: Path) -> None:
    deployments = await deploy(anvil, tmp_path)
    fork = anvil.rpc("evm_snapshot")
    await activity(anvil, deployments, mint=1000)
    where = tmp_path / "index.sqlite"
    indexer = await index(anvil, deployments, where)
    assert [e.args["aidOut"] for e in indexer.events("aid", "Minted")] == [1000 * 10**18]
    orphaned = indexer.cursor
    # another branch from the fork point: other amounts, and longer than the one indexed
    assert anvil.rpc("evm_revert", fork)
    await activity(anvil, deployments, mint=7, stake=3)
    anvil.rpc("anvil_mine", "0x3")
    assert int(anvil.rpc("eth_blockNumber"), 16) > (orphaned or 0)
    stats = await indexer.sync()
    assert stats.rollbacks == 1
    assert [e.args["aidOut"] for e in indexer.events("aid", "Minted")] == [7 * 10**18]
    assert indexer.snapshots()[-1].aid_supply == 7 * 10**18
    # the same as an index built from scratch on the new branch
    await index(anvil, deployments, tmp_path / "fresh.sqlite")
    assert rows(where) == rows(tmp_path / "fresh.sqlite")


@pytest.mark.asyncio
async def test_confirmations_leave_the_newest_blocks_out(anvil: Anvil, tmp_path: Path) -> None:
    deployments = await deploy(anvil, tmp_path)
    await activity(anvil, deployments)
    indexer = await index(anvil, deployments, tmp_path / "index.sqlite", confirmations=2)
    assert indexer.cursor == int(anvil.rpc("eth_blockNumber"), 16) - 2
    assert indexer.events("said", "Deposit") == []  # staking was the last block


@pytest.mark.asyncio
@pytest.mark.parametrize(("stage", "nth"), [("fetched", 3), ("written", 3), ("committed", 3), ("written", 1)])
async def test_killed_at_any_point_it_resumes_with_nothing_lost_or_doubled(
    anvil: Anvil, tmp_path: Path, stage: str, nth: int
) -> None:
    deployments = await deploy(anvil, tmp_path)
    await activity(anvil, deployments)
    where = tmp_path / "index.sqlite"
    worker = [sys.executable, "-m", "tests.index_worker", anvil.url, str(deployments), str(where), stage, str(nth)]
    done = subprocess.run(worker, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr  # SIGKILL: it died where it was told to
    committed = opened(where).cursor
    start = json.loads(deployments.read_text()).popitem()[1]["block"]
    ranges = {"fetched": nth - 1, "written": nth - 1, "committed": nth}[stage]
    assert committed == (start - 1 + 2 * ranges if ranges else None)
    await index(anvil, deployments, where, batch_blocks=2, max_blocks=2)  # the next run resumes
    await index(anvil, deployments, tmp_path / "fresh.sqlite", batch_blocks=2, max_blocks=2)
    assert rows(where, snapshots=True) == rows(tmp_path / "fresh.sqlite", snapshots=True)


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL 15 server of this test's own, on a free port; stopped after."""
    if find_postgres() is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="psycopg 3 is not installed: pip install 'gaib-sdk[postgres]'")
    server = PostgresServer(tmp_path / "pg").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_postgres_holds_the_same_index_and_survives_a_reorg(anvil: Anvil, tmp_path: Path, postgres: str) -> None:
    deployments = await deploy(anvil, tmp_path)
    fork = anvil.rpc("evm_snapshot")
    await activity(anvil, deployments, mint=1000)
    indexer = await index(anvil, deployments, postgres, batch_blocks=4)
    assert anvil.rpc("evm_revert", fork)
    await activity(anvil, deployments, mint=9, stake=2)
    anvil.rpc("anvil_mine", "0x5")
    assert (await indexer.sync()).rollbacks == 1
    await index(anvil, deployments, tmp_path / "fresh.sqlite")
    assert rows(postgres) == rows(tmp_path / "fresh.sqlite")
    assert [e.args["aidOut"] for e in opened(postgres).events("aid", "Minted")] == [9 * 10**18]


def test_gaib_index_on_the_command_line(
    anvil: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deployments = asyncio.run(deploy(anvil, tmp_path))
    asyncio.run(activity(anvil, deployments))
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))  # where `gaib` finds deployments.json
    where = tmp_path / "cli.sqlite"
    assert main(["index", "--rpc", anvil.url, "--db", str(where), "--batch", "4", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["events"] == first["events_total"] > 0 and first["to_block"] == int(anvil.rpc("eth_blockNumber"), 16)
    assert main(["index", "--rpc", anvil.url, "--db", str(where), "--json"]) == 0  # nothing new
    assert json.loads(capsys.readouterr().out)["events"] == 0
    assert len(rows(where)) == first["events"]
    # another chain's index is refused, not mixed
    other = Anvil().start()
    try:
        assert main(["index", "--rpc", other.url, "--db", str(where), "--json"]) == 1
        assert "GaibConfigError" in capsys.readouterr().out
    finally:
        other.stop()


@pytest.mark.asyncio
async def test_a_source_added_later_is_read_from_the_start(anvil: Anvil, tmp_path: Path) -> None:
    """An index made before a venue was followed: the venue's past events are read first (a range per
    transaction), and the index ends up as one made with every source from the start."""
    deployments = await deploy(anvil, tmp_path)
    admin = await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments, journal=False)
    _OPEN.append(admin)
    lp = admin.with_account(KEYS[1])
    await admin.aid.whitelist(lp.address)
    await admin.faucet(lp.address, Decimal(10_000))
    await lp.aid.mint(Decimal(3_000))
    await admin.venues.setup("curve")
    await lp.add_liquidity("curve", Decimal(2_000))
    where = tmp_path / "index.sqlite"
    protocol_only = protocol_sources(admin.deployment.contracts)
    first = Indexer(admin.chain, where, protocol_only, start_block=admin.deployment.block, batch_blocks=3)
    _OPEN.append(first)
    await first.sync()
    assert first.events("venue:curve") == []
    await lp.venues.remove("curve", Decimal(500))
    again = await Indexer.for_client(admin, where, batch_blocks=3, max_blocks=3, snapshot=None)
    _OPEN.append(again)
    stats = await again.sync()
    assert stats.events > 0 and len(again.events("venue:curve", "Transfer")) >= 3
    fresh = await Indexer.for_client(admin, tmp_path / "fresh.sqlite", snapshot=None)
    _OPEN.append(fresh)
    await fresh.sync()
    assert rows(where) == rows(tmp_path / "fresh.sqlite")
    # a source dropped is refused: the index would hold events of a contract it no longer follows
    narrower = Indexer(admin.chain, where, protocol_only, start_block=admin.deployment.block)
    _OPEN.append(narrower)
    with pytest.raises(GaibConfigError, match="lack or place elsewhere"):
        await narrower.sync()
