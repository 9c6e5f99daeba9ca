"""`gaib report --index DB`: NAV, share price, reserve and payments over time from the index, with no
node to ask (and on a node that keeps no old state, where the chain report cannot read the past)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from gaib_sdk import ChainError, Gaib
from gaib_sdk.cli import main
from gaib_sdk.index import Index, Indexer
from gaib_sdk.index.history import history
from gaib_sdk.report import run_scenario

from .anvil import KEYS, Anvil


@pytest.mark.asyncio
async def test_the_scenario_history_from_the_index(
    gaib: Gaib, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "index.sqlite"
    indexer = await Indexer.for_client(gaib, where, batch_blocks=1, max_blocks=1)  # a snapshot per block
    await run_scenario(gaib)
    await indexer.sync()
    data = history(indexer)
    indexer.close()
    repaid = data.payments
    assert len(repaid) >= 6 and all(p.total > 0 for p in repaid)
    assert [p.block for p in repaid] == sorted(p.block for p in repaid)
    prices = [p.share_price for p in data.points]
    assert prices[-1] != prices[0]  # repayments raised it, the loss lowered it
    assert data.points[-1].share_price == await gaib.protocol.said.functions.convertToAssets(10**18).call()
    assert data.points[-1].nav == await gaib.protocol.said.functions.totalAssets().call()
    # the command draws it from the file alone
    out = tmp_path / "report"
    assert main(["report", "--index", str(where), "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["payments"] == len(repaid) and summary["points"] == len(data.points)
    assert Decimal(summary["said_share_price"]) == Decimal(prices[-1]) / 10**18
    assert (out / "history.json").exists() and (out / "history-share-price.png").exists()
    saved = json.loads((out / "history.json").read_text())
    assert [int(p["share_price"]) for p in saved["points"]] == prices


@pytest.mark.asyncio
async def test_a_node_without_archive_state(tmp_path: Path) -> None:
    """anvil keeping the state of its last few blocks only: the indexer, following the chain, records each
    state while the node still has it; the past is then in the index and no longer on the node."""
    node = Anvil("--prune-history", "2").start()
    try:
        deployments = tmp_path / "deployments.json"
        async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
            await admin.deploy()
            investor = admin.with_account(KEYS[1])
            await admin.aid.whitelist(investor.address)
            await admin.faucet(investor.address, Decimal(5000))
            indexer = await Indexer.for_client(admin, tmp_path / "index.sqlite")
            await indexer.sync()
            for amount in (1000, 2000, 500):  # the indexer follows: a sync after each block
                await investor.aid.mint(Decimal(amount))
                await indexer.sync()
            await admin.chain.rpc("anvil_mine", "0x10")
            await indexer.sync()
            first_mint = indexer.events("aid", "Minted")[0].block_number
            with pytest.raises(ChainError):  # the node no longer has that block's state
                await admin.chain.call_many([admin.protocol.aid.functions.totalSupply()], first_mint)
            # an index built only now, in small ranges: every event, but no snapshot of what the node forgot
            late = await Indexer.for_client(admin, tmp_path / "late.sqlite", batch_blocks=2, max_blocks=2)
            await late.sync()
            assert late.count() == indexer.count()
            assert 0 < len(late.snapshots()) < late.cursor - admin.deployment.block  # type: ignore[operator]
            assert all(p.block_number > first_mint for p in late.snapshots())
            late.close()
            indexer.close()
        index = Index.open(tmp_path / "index.sqlite")
        data = history(index)
        index.close()
        supplies = [p.aid_supply // 10**18 for p in data.points]
        assert [s for i, s in enumerate(supplies) if i == 0 or s != supplies[i - 1]] == [0, 1000, 3000, 3500]
        assert data.points[-1].reserve == 3500 * 10**6
        assert data.flows[-1][2:] == (3500 * 10**6, 0)
    finally:
        node.stop()
