"""Fault tests against a real node: anvil on 127.0.0.1, started and stopped here.

Each test digitizes a small inventory (16 GPUs of the sample cluster, in batches of 4: four registerBatch
transactions) while something goes wrong: the node is killed and restarted from its saved state, the SDK's
own process is killed between send and receipt, RPC requests fail or time out, receipts come back null.
Afterwards the chain is audited (tests/faults.py): transactions lost, transactions duplicated and assets
registered twice must all be 0.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import gaib_sdk.client
from gaib_sdk import ChainError, Gaib, TransactionFailed
from gaib_sdk.chain.journal import Journal, Status
from gaib_sdk.testing.anvil import node_rpc

from .anvil import ADDRESSES, KEYS, ROOT, Anvil
from .faults import Audit, Faults, audit, small_inventory

GPUS, BATCH = 16, 4
BATCHES = GPUS // BATCH


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Anvil]:
    """anvil keeping its state in a file: dumped when it stops, loaded when it starts."""
    anvil = Anvil("--state", str(tmp_path / "anvil-state.json")).start()
    try:
        yield anvil
    finally:
        anvil.stop()


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gaib_sdk.client, "REGISTER_BATCH", BATCH)


async def deploy(node: Anvil, tmp_path: Path) -> Path:
    deployments = tmp_path / "deployments.json"
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
        await admin.deploy()
    return deployments


def mined(node: Anvil, sender: str, timeout: float = 10) -> None:
    """Wait until every transaction ``sender`` has sent to ``node`` is in a block."""
    deadline = time.monotonic() + timeout
    while node_rpc(node.url, "eth_getTransactionCount", sender, "pending") != node_rpc(
        node.url, "eth_getTransactionCount", sender, "latest"
    ):
        assert time.monotonic() < deadline, "anvil did not mine the transaction sent to it"
        time.sleep(0.01)


def assert_clean(report: Audit) -> None:
    assert (report.lost, report.duplicated, report.registered_twice) == (0, 0, 0), report
    assert report.mined == BATCHES, report


@pytest.mark.asyncio
@pytest.mark.parametrize("outage", ["short", "long"])
async def test_node_killed_mid_flow_and_restarted_from_its_saved_state(
    node: Anvil, tmp_path: Path, outage: str
) -> None:
    deployments, journal = await deploy(node, tmp_path), tmp_path / "journal.sqlite"
    inventory = small_inventory(GPUS)
    ids = [a.asset_id for a in inventory.assets]
    faults = Faults()
    if outage == "short":
        # after the 2nd batch is mined, the node stops (dumping its state) and is back 0.5 s later:
        # the SDK's retries ride it out in the same call
        def bounce(_: str) -> None:
            mined(node, ADDRESSES[0])  # a SIGTERM while anvil is still mining may dump the nonce without the block
            node.stop()
            threading.Timer(0.5, node.start).start()

        faults.on("eth_sendRawTransaction", "call", skip=1, after=bounce)
    else:
        # the node dies just as the 3rd batch is sent, and stays down past the retries: the call fails
        # with the 3rd transaction signed and journaled but never received
        faults.on("eth_sendRawTransaction", "call", skip=2, before=lambda _: node.stop())

    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults
    ) as client:
        if outage == "short":
            result = await client.digitize("gpu", inventory)
            assert result.asset_ids == ids and len(result.tx_hashes) == BATCHES
        else:
            with pytest.raises(ChainError, match="keeps it: run again to resume"):
                await client.digitize("gpu", inventory)
            assert client.chain.journal is not None
            assert [e.status for e in client.chain.journal.entries()] == [Status.MINED, Status.MINED, Status.SIGNED]
    assert faults.injected["eth_sendRawTransaction:call"] == 1

    if outage == "long":
        node.start()  # from the state it dumped when it stopped
        async with await Gaib.connect(
            node.url, private_key=KEYS[0], deployments=deployments, journal=journal
        ) as client:
            result = await client.digitize("gpu", inventory, skip_registered=True)
            assert result.already_registered == ids[: 2 * BATCH] and result.asset_ids == ids[2 * BATCH :]

    async with await Gaib.connect(node.url, deployments=deployments, journal=False) as reader:
        with Journal(journal) as j:
            report = await audit(reader.with_account(KEYS[0]), ids, j)
    assert_clean(report)


@pytest.mark.asyncio
@pytest.mark.parametrize("point", ["before_send", "after_send", "before_receipt"])
async def test_sdk_process_killed_between_send_and_receipt(node: Anvil, tmp_path: Path, point: str) -> None:
    deployments, journal = await deploy(node, tmp_path), tmp_path / "journal.sqlite"
    args = [node.url, str(deployments), str(journal), point, "2", str(GPUS), str(BATCH)]
    worker = subprocess.run(
        [sys.executable, "-m", "tests.fault_worker", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr

    with Journal(journal) as j:
        entries = j.entries()
    assert [e.status for e in entries] == [Status.MINED, Status.SENT if point == "before_receipt" else Status.SIGNED]
    in_pool = node_rpc(node.url, "eth_getTransactionByHash", entries[1].tx_hash)
    assert (in_pool is None) == (point == "before_send")

    inventory = small_inventory(GPUS)
    ids = [a.asset_id for a in inventory.assets]
    stop = threading.Event()
    if point == "after_send":  # mining was paused with the 2nd batch in the pool: blocks come every 0.2 s
        miner = threading.Thread(
            target=lambda: [node_rpc(node.url, "evm_mine") for _ in iter(lambda: stop.wait(0.2), True)]
        )
        miner.start()
    try:
        async with await Gaib.connect(
            node.url, private_key=KEYS[0], deployments=deployments, journal=journal
        ) as client:
            result = await client.digitize("gpu", inventory, skip_registered=True)
            assert sorted(result.asset_ids + result.already_registered) == sorted(ids)
            assert client.chain.journal is not None
            report = await audit(client, ids, client.chain.journal)
            rows = client.chain.journal.entries()
    finally:
        stop.set()
        if point == "after_send":
            miner.join()
            node_rpc(node.url, "evm_setAutomine", True)
    assert_clean(report)
    # the transaction signed before the kill is the one that was mined: never signed again
    assert rows[1].tx_hash == entries[1].tx_hash and rows[1].status == Status.MINED
    assert len(rows) == BATCHES


@pytest.mark.asyncio
async def test_rpc_failures_and_timeouts_are_retried_and_reverts_are_not(node: Anvil, tmp_path: Path) -> None:
    deployments, journal = await deploy(node, tmp_path), tmp_path / "journal.sqlite"
    faults = Faults()
    faults.on("eth_chainId", "rate_limit", skip=1, times=2)  # not the first: connecting fails fast
    faults.on("eth_call", "timeout", skip=1)  # the batch of isRegistered reads: retried as a whole
    faults.on("eth_estimateGas", "refuse", skip=1)
    faults.on("eth_getTransactionCount", "reset")
    faults.on("eth_sendRawTransaction", "timeout_after", skip=1)  # the node has it; the answer is lost
    faults.on("eth_sendRawTransaction", "http_503", skip=2)
    faults.on("eth_getTransactionReceipt", "http_503", times=2)
    faults.on("eth_getTransactionReceipt", "reset", skip=4)
    inventory = small_inventory(GPUS)
    ids = [a.asset_id for a in inventory.assets]
    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults
    ) as client:
        result = await client.digitize("gpu", inventory)
        assert result.asset_ids == ids
        assert sum(faults.injected.values()) == 10, faults.injected
        assert client.chain.w3.provider.retries == 10  # type: ignore[attr-defined]

        # a revert is an answer, not a fault: estimated once, never retried, nothing sent
        estimates, sends = faults.requests["eth_estimateGas"], faults.requests["eth_sendRawTransaction"]
        registry = client.protocol.registry
        again = registry.functions.registerBatch(
            b"gpu".ljust(32, b"\0"), client.address, ids[:1], [b"\1" * 32], [b"\2" * 32]
        )
        with pytest.raises(TransactionFailed, match="AlreadyRegistered"):
            await client.send(again, what="register again")
        assert faults.requests["eth_estimateGas"] == estimates + 1
        assert faults.requests["eth_sendRawTransaction"] == sends
        assert client.chain.journal is not None
        report = await audit(client, ids, client.chain.journal)
    assert_clean(report)


@pytest.mark.asyncio
async def test_sends_that_answer_with_the_receipt_survive_lost_answers(node: Anvil, tmp_path: Path) -> None:
    """A node that answers a send with its receipt (EIP-7966; anvil does): the answer lost after the node
    took the transaction, a reset, a gateway's 503. Each is retried or the receipt polled for; nothing twice."""
    deployments, journal = await deploy(node, tmp_path), tmp_path / "journal.sqlite"
    faults = Faults(sync_sends=True)
    faults.on("eth_sendRawTransactionSync", "timeout_after")  # mined; the receipt is lost
    faults.on("eth_sendRawTransactionSync", "reset", skip=1)
    faults.on("eth_sendRawTransactionSync", "http_503", skip=2)
    inventory = small_inventory(GPUS)
    ids = [a.asset_id for a in inventory.assets]
    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults
    ) as client:
        result = await client.digitize("gpu", inventory)
        assert result.asset_ids == ids
        assert sum(faults.injected.values()) == 3, faults.injected
        assert "eth_sendRawTransaction" not in faults.requests
        assert client.chain.journal is not None
        report = await audit(client, ids, client.chain.journal)
    assert_clean(report)
    assert report.journal == {"mined": BATCHES}


@pytest.mark.asyncio
async def test_dropped_receipts_are_waited_out(node: Anvil, tmp_path: Path) -> None:
    deployments, journal = await deploy(node, tmp_path), tmp_path / "journal.sqlite"
    faults = Faults()
    faults.on("eth_getTransactionReceipt", "null", times=8)  # the node has mined it, and says it has not
    inventory = small_inventory(GPUS)
    ids = [a.asset_id for a in inventory.assets]
    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults
    ) as client:
        result = await client.digitize("gpu", inventory)
        assert result.asset_ids == ids
        assert faults.injected["eth_getTransactionReceipt:null"] == 8
        assert client.chain.journal is not None
        report = await audit(client, ids, client.chain.journal)
    assert_clean(report)
    assert report.journal == {"mined": BATCHES}


@pytest.mark.asyncio
async def test_a_node_that_never_comes_back_fails_clearly_and_quickly(node: Anvil, tmp_path: Path) -> None:
    deployments = await deploy(node, tmp_path)
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as client:
        node.stop()
        started = asyncio.get_running_loop().time()
        with pytest.raises(
            ChainError, match=r"did not answer eth_\w+: connection refused .*\(7 tries\); is it running"
        ):
            await client.digitize("gpu", small_inventory(4))
        assert asyncio.get_running_loop().time() - started < 10
