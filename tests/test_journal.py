"""The transaction manager against anvil: the journal, idempotency keys, batches, the chain-id check,
confirmations, and private keys kept out of logs, errors and the journal."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

import gaib_sdk.client
from gaib_sdk import ChainError, DuplicateAssetError, Gaib, TransactionFailed
from gaib_sdk.chain import Intent
from gaib_sdk.chain.journal import Journal, Status
from gaib_sdk.testing.anvil import node_rpc

from .anvil import ADDRESSES, KEYS, Anvil
from .faults import Faults, audit, small_inventory


@pytest.fixture
def node() -> Iterator[Anvil]:
    anvil = Anvil().start()
    try:
        yield anvil
    finally:
        anvil.stop()


@pytest_asyncio.fixture
async def deployments(node: Anvil, tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "deployments.json"
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=path, journal=False) as admin:
        await admin.deploy()
    yield path


@pytest.mark.asyncio
async def test_every_transaction_is_journaled_and_digitizing_again_changes_nothing(
    node: Anvil, deployments: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gaib_sdk.client, "REGISTER_BATCH", 4)
    journal = tmp_path / "journal.sqlite"
    inventory = small_inventory(8)
    ids = [a.asset_id for a in inventory.assets]
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=journal) as client:
        result = await client.digitize("gpu", inventory)
        assert client.chain.journal is not None
        rows = client.chain.journal.entries(client.chain.scope)
        assert [r.status for r in rows] == [Status.MINED, Status.MINED]
        assert [r.tx_hash for r in rows] == result.tx_hashes
        assert all(r.key.startswith(f"digitize:{client.protocol.registry.address}:gpu:0x") for r in rows)
        assert [r.nonce for r in rows] == [rows[0].nonce, rows[0].nonce + 1]
        assert {(r.chain_id, r.sender) for r in rows} == {(31337, client.address)}
        assert all(r.block_number and r.gas_used and r.raw.startswith("0x02") for r in rows)

        sent = list(client.chain.history)
        with pytest.raises(DuplicateAssetError, match="8 of 8 assets are already registered"):
            await client.digitize("gpu", inventory)
        again = await client.digitize("gpu", inventory, skip_registered=True)
        assert (again.asset_ids, again.already_registered, again.tx_hashes) == ([], ids, [])
        assert client.chain.history == sent
        assert (await audit(client, ids, client.chain.journal)).mined == 2

        # an intent already mined is found by its key: not signed, not sent again
        call = client.protocol.registry.functions.attest(ids[0], b"\7" * 32)
        first = await client.chain.transact(call, client.account, what="attest", key="attest:test:1")
        second = await client.chain.transact(call, client.account, what="attest", key="attest:test:1")
        assert second.tx_hash == first.tx_hash and second.block_number == first.block_number
        assert len(client.chain.history) == len(sent) + 1


@pytest.mark.asyncio
async def test_a_batch_goes_in_with_automine_off_and_resumes_from_the_journal(
    node: Anvil, deployments: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    inventory = small_inventory(12)
    ids = [a.asset_id for a in inventory.assets]
    faults = Faults()
    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults
    ) as client:
        await client.digitize("gpu", inventory)
        registry = client.protocol.registry

        def intents(tag: bytes) -> list[Intent]:
            return [
                Intent(registry.functions.attest(a, tag * 32), what=f"attest {a[:10]}", key=f"attest:{a}:{tag.hex()}")
                for a in ids
            ]

        # a batch encodes calls itself (one ABI look-up per function): the very bytes web3.py would build
        deal = client.protocol.facility.functions.openDeal(
            client.address, ids[:2], 10**9, 7 * 10**8, (0, 1200, 0, 50, 730), []
        )
        for call in (
            intents(b"\1")[0].call,
            deal,
            registry.functions.registerBatch(b"g" * 32, ADDRESSES[1], [], [], []),
        ):
            built = await call.build_transaction({"gas": 1, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "chainId": 1})
            assert client.chain._encode(call) == (call.address, built["data"])

        before = await client.chain.w3.eth.block_number
        results = await client.chain.transact_batch(intents(b"\1"), client.account)
        assert len({r.tx_hash for r in results}) == 12
        assert {r.block_number for r in results} == {before + 1}  # mined together, in one block
        assert node_rpc(node.url, "anvil_getAutomine") is True
        assert faults.requests["evm_mine"] == 1

        sends = faults.requests["eth_sendRawTransaction"]
        assert [r.tx_hash for r in await client.chain.transact_batch(intents(b"\1"), client.account)] == [
            r.tx_hash for r in results
        ]
        assert faults.requests["eth_sendRawTransaction"] == sends  # all found in the journal

        # the node cannot be reached while the next batch is sent: it stays signed in the journal...
        faults.on("eth_sendRawTransaction", "refuse", times=7)
        with pytest.raises(ChainError, match="keeps them: run again to resume"):
            await client.chain.transact_batch(intents(b"\2"), client.account)
        assert client.chain.journal is not None
        signed = [e for e in client.chain.journal.entries() if e.status == Status.SIGNED]
        assert len(signed) == 12
        assert node_rpc(node.url, "anvil_getAutomine") is True  # turned back on all the same

        # ...and running again sends those very transactions, once
        resumed = await client.chain.transact_batch(intents(b"\2"), client.account)
        assert sorted(r.tx_hash for r in resumed) == sorted(e.tx_hash for e in signed)
        for a in ids:
            assert (await registry.functions.getAsset(a).call())[5] == b"\2" * 32
        nonce = await client.chain.w3.eth.get_transaction_count(client.account.address)
        rows = client.chain.journal.entries()
        assert len(rows) == 1 + 24 and {r.status for r in rows} == {Status.MINED}
        assert nonce == max(r.nonce for r in rows) + 1  # no transaction outside the journal, none twice

        # one of a batch that would revert refuses the whole batch before anything is sent
        bad = [*intents(b"\3")[:2], Intent(registry.functions.attest(b"\x09" * 32, b"\3" * 32), what="attest unknown")]
        sends = faults.requests["eth_sendRawTransaction"]
        with pytest.raises(TransactionFailed, match=r"attest unknown \(nothing of the batch was sent\) would revert: "):
            await client.chain.transact_batch(bad, client.account)
        assert faults.requests["eth_sendRawTransaction"] == sends


@pytest.mark.asyncio
async def test_a_node_swapped_behind_the_url_gets_no_transaction(node: Anvil, deployments: Path) -> None:
    async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as client:
        node.stop()
        other = Anvil("--chain-id", "8453", port=node.port).start()
        try:
            call = client.protocol.aid.functions.setWhitelisted(ADDRESSES[1], True)
            with pytest.raises(ChainError, match="now reports chain id 8453, not 31337") as exc:
                await client.send(call, what="whitelist")
            assert exc.value.chain_id == 31337
            assert node_rpc(other.url, "eth_getTransactionCount", ADDRESSES[0], "pending") == "0x0"
        finally:
            other.stop()


@pytest.mark.asyncio
async def test_confirmations_wait_until_the_block_is_deep_enough(node: Anvil, deployments: Path) -> None:
    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=False, confirmations=3
    ) as client:

        async def mine() -> None:
            while True:
                await asyncio.sleep(0.05)
                await client.chain.rpc("evm_mine")

        miner = asyncio.create_task(mine())
        try:
            result = await client.send(
                client.protocol.aid.functions.setWhitelisted(ADDRESSES[1], True), what="whitelist"
            )
            assert await client.chain.w3.eth.block_number >= result.block_number + 3
        finally:
            miner.cancel()
    with pytest.raises(Exception, match="confirmations must be a whole number of blocks"):
        await Gaib.connect(node.url, confirmations=-1)


@pytest.mark.asyncio
async def test_a_journal_never_replays_onto_another_chain(node: Anvil, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    inventory = small_inventory(4)
    scopes = []
    for _ in range(2):  # the second node starts from nothing: a new genesis, the same chain id
        deployments = tmp_path / f"deployments-{len(scopes)}.json"
        async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=journal) as c:
            await c.deploy()
            assert (await c.digitize("gpu", inventory)).asset_ids
            scopes.append(c.chain.scope)
        # anvil stamps its genesis with the time to the second: nodes started within one second have the same
        # genesis, so they are the same chain to anyone (this run takes less than a second now)
        time.sleep(1.1)
        node.restart()
    assert scopes[0] != scopes[1] and scopes[0].startswith("31337:0x")
    with Journal(journal) as j:
        assert {len(j.entries(s)) for s in scopes} == {len(j.entries(scopes[0]))}


@pytest.mark.asyncio
async def test_private_keys_stay_out_of_logs_errors_and_the_journal(
    node: Anvil, deployments: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    journal = tmp_path / "journal.sqlite"
    secrets = {KEYS[0][2:].lower(), KEYS[0][2:].upper()}
    errors: list[str] = []
    faults = Faults()
    faults.on("eth_getTransactionReceipt", "http_503")
    async with await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults
    ) as client:
        await client.digitize("gpu", small_inventory(4))
        for attempt in (
            client.digitize("gpu", small_inventory(4)),
            client.aid.mint(1),
            client.send(client.protocol.aid.functions.mint(1), what="mint"),
        ):
            with pytest.raises(Exception) as exc:
                await attempt
            errors.append(f"{exc.value!r} {exc.value} {exc.value.__cause__!r}")
        node.stop()
        with pytest.raises(ChainError) as lost:
            await client.aid.whitelist(ADDRESSES[1])
        errors.append(f"{lost.value!r} {lost.value} {lost.value.__cause__!r}")
    text = caplog.text + "\n".join(errors) + journal.read_bytes().hex() + str(journal.read_bytes())
    assert "retrying" in caplog.text
    assert not [s for s in secrets if s in text]


@pytest.mark.asyncio
async def test_a_nonce_taken_by_another_client_of_the_account_is_signed_again(
    node: Anvil, deployments: Path, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite"
    async with (
        await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=journal) as one,
        await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as other,
    ):
        aid = one.protocol.aid.functions
        await one.send(aid.setWhitelisted(ADDRESSES[1], True), what="whitelist 1")  # one's next nonce: n + 1
        await other.send(aid.setWhitelisted(ADDRESSES[2], True), what="whitelist 2")  # ...which other takes
        result = await one.chain.transact(aid.setWhitelisted(ADDRESSES[3], True), one.account, what="w3", key="w3")
        assert await one.protocol.aid.functions.isWhitelisted(ADDRESSES[3]).call()
        assert one.chain.journal is not None
        attempts = [(e.attempt, e.status) for e in one.chain.journal.entries() if e.key == "w3"]
        assert attempts == [(1, Status.DROPPED), (2, Status.MINED)]
        assert one.chain.journal.latest(one.chain.scope, "w3").tx_hash == result.tx_hash  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_keyed_money_movements_happen_once(tmp_path: Path) -> None:
    """A mint, a stake and a repayment named by a key are done once, however often they are asked for:
    what a process restarted after a crash does when it replays its requests."""
    from decimal import Decimal

    from gaib_sdk import Gaib

    from .anvil import KEYS, Anvil
    from .conftest import AS_OF

    node = Anvil().start()
    journal = tmp_path / "journal.sqlite"
    try:
        admin = await Gaib.connect(node.url, private_key=KEYS[0], deployments=tmp_path / "d.json", journal=journal)
        await admin.deploy()
        investor, provider = admin.with_account(KEYS[1]), admin.with_account(KEYS[2])
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(2_000_000))
        first = await investor.aid.mint(Decimal(1_500_000), key="order-17")
        again = await investor.aid.mint(Decimal(1_500_000), key="order-17")
        assert again.tx_hashes[-1] == first.tx_hashes[-1]
        assert (await investor.balances())["AID"] == Decimal(1_500_000)
        await investor.said.stake(Decimal(100_000), key="stake-1")
        await investor.said.stake(Decimal(100_000), key="stake-1")
        assert await investor.protocol.said.functions.totalSupply().call() == 100_000 * 10**18

        await admin.admin.authorize_registrar(provider.address)
        inventory = await provider.assets.read_inventory("gpu")
        await provider.digitize("gpu", inventory)
        opened = await admin.financialize("gpu", inventory, as_of=AS_OF)
        deal = opened.deal
        # asked again (a process restarted after the deal was mined): the same deal, not an error or a second
        reopened = await admin.financialize("gpu", inventory, as_of=AS_OF)
        assert reopened.tx_hash == opened.tx_hash and reopened.deal.deal_id == deal.deal_id
        assert await admin.protocol.facility.functions.dealCount().call() == 1
        await admin.faucet(provider.address, Decimal(50_000))
        paid = await provider.deals.repay(deal.deal_id, Decimal(10_000), key="invoice-2026-12")
        # a new process, the same journal: the repayment is recognised, not paid again
        restarted = await Gaib.connect(node.url, private_key=KEYS[2], deployments=tmp_path / "d.json", journal=journal)
        repeat = await restarted.deals.repay(deal.deal_id, Decimal(10_000), key="invoice-2026-12")
        assert repeat.tx_hash == paid.tx_hash
        assert (await admin.deals.get(deal.deal_id)).principal_outstanding_usd == deal.advance_usd - paid.principal_usd
        # a different key is a different request
        other = await investor.aid.mint(Decimal(1), key="order-18")
        assert other.tx_hashes[-1] != first.tx_hashes[-1]
        for client in (admin, restarted):
            await client.close()
    finally:
        node.stop()
