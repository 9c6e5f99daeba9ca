"""The onboarding benchmark, run small: its JSON has the figures it promises and the counts add up. No
timing is asserted (scripts/bench_onboard.py is where the figures are read)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from web3.contract.async_contract import AsyncContractFunction

from gaib_sdk import Gaib
from gaib_sdk.bench import (
    format_cluster_report,
    format_overhead,
    format_report,
    run_cluster_bench,
    run_overhead,
    sizes_for,
)
from gaib_sdk.cli import main

from .anvil import KEYS, ROOT, Anvil


def test_the_bench_onboards_and_reports_its_figures() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gaib_sdk.cli", "bench", "onboard", "--gpus", "200", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["cluster_size"] == 100 and "growth" not in data
    (run,) = data["runs"]
    assert (run["gpus"], run["clusters"]) == (200, 2)
    for side in ("sdk", "raw_web3"):
        figures = run[side]
        assert (figures["assets_registered"], figures["deals_opened"]) == (200, 2)
        phases = figures["phases"]
        assert {k: v["transactions"] for k, v in phases.items()} == {"digitize": 2, "attest": 200, "finance": 2}
        assert figures["transactions"] == 204 and figures["gas"] == sum(p["gas"] for p in phases.values())
        assert all(p["seconds"] > 0 and p["gas"] > 0 for p in phases.values())
    assert run["sdk"]["journal_rows"] == 204
    # the same transactions: the gas differs only by the senders' addresses in the calldata, and by whether
    # an attest lands in the same second as its registration (rewriting a timestamp with itself is cheaper)
    assert abs(run["sdk"]["gas"] - run["raw_web3"]["gas"]) < run["sdk"]["gas"] / 20
    assert set(run["per_1000_gpus"]) == {"sdk_seconds", "raw_web3_seconds", "gas"}
    assert run["per_1000_gpus"]["gas"] == run["sdk"]["gas"] * 5
    assert isinstance(run["sdk_overhead"], float)
    assert "per 1,000 GPUs" in format_report(data)
    # the per-asset path (one attest a GPU) against anvil's ceiling, as many pre-signed transfers
    per_asset = run["per_asset"]
    assert per_asset["transactions"] == per_asset["ceiling"]["transactions"] == 200
    assert per_asset["ratio_to_ceiling"] > 0 and per_asset["ceiling"]["tx_per_s"] > 0


@pytest.mark.asyncio
async def test_the_cluster_bench_reports_both_sizes_their_ratio_and_the_ceiling() -> None:
    data = await run_cluster_bench(1200, per_asset=30, rounds=2)
    assert data["mode"] == "cluster" and data["rounds"] == 2
    small, large = data["runs"]
    for run in (small, large):
        assert run["cluster_size_on_chain"] == run["gpus"] and run["transactions"] == 1
        assert len(run["cluster_seconds_each_round"]) == 2 and run["cluster_seconds"] > 0
        # whether each GPU is registered: one Multicall3 read per 500 GPUs, all in one JSON-RPC batch
        assert run["json_rpc_calls"] <= -(-run["gpus"] // 500) + 6 and run["http_requests"] <= 6
    assert (small["gpus"], large["gpus"]) == (1000, 1200)
    linearity = data["linearity"]
    assert linearity["gpus_ratio"] == 1.2 and linearity["bound"] == 1.32
    assert len(linearity["time_ratio_each_round"]) == 2  # each round's two sizes, one right after the other
    assert linearity["linear"] == (linearity["time_ratio"] <= linearity["bound"])
    per_asset = data["per_asset"]
    assert per_asset["transactions"] == per_asset["ceiling"]["transactions"] == 30
    assert len(per_asset["sdk_tx_per_s_each_round"]) == len(per_asset["ceiling_tx_per_s_each_round"]) == 2
    each = per_asset["ratio_each_round"]  # each round against the ceiling measured right after it
    assert len(each) == 2 and per_asset["ratio_to_ceiling"] == round((each[0] + each[1]) / 2, 3)
    assert "per-asset path" in format_cluster_report(data) and "linear if at most" in format_cluster_report(data)


def test_sizes_and_a_missing_anvil(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert sizes_for(10_000) == [1000, 10_000] and sizes_for(200) == [200] and sizes_for(1000) == [1000]
    monkeypatch.setattr("gaib_sdk.bench.find_anvil", lambda: None)
    assert main(["bench", "onboard", "--gpus", "10"]) == 1
    assert "the bench needs anvil" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_the_overhead_bench_counts_the_calls_each_transaction_costs() -> None:
    """The first stage (2 transactions) through the SDK and with raw web3.py: the counts, never a time."""
    data = await run_overhead(flow="small", rounds=1)
    (run,) = data["runs"]
    n = run["transactions"]
    assert n == data["transactions"] == 2  # authorize the registrar, register the cluster's 64 GPUs
    sdk, raw = run["sdk"]["by_method"], run["raw_web3"]["by_method"]
    # the transaction manager: one estimate (the dry run) and one send that answers with the receipt (EIP-7966)
    assert sdk["eth_estimateGas"] == sdk["eth_sendRawTransactionSync"] == n
    assert "eth_getTransactionReceipt" not in sdk and "eth_sendRawTransaction" not in sdk
    # the chain id was read as the connection was made; fees are read at most once (then from receipts)
    assert "eth_chainId" not in sdk
    assert sdk.get("eth_getBlockByNumber", 0) <= 1 and sdk.get("eth_maxPriorityFeePerGas", 0) <= 1
    # the pre-checks: the registrar's role twice, and whether each of the 64 GPUs is registered in one
    # Multicall3 read (placed on the node with the protocol: nothing is looked for or placed in the flow)
    assert sdk["eth_call"] == 3 and "eth_getCode" not in sdk and "anvil_setCode" not in sdk
    assert run["sdk"]["http_requests"] == sum(sdk.values())
    assert raw["eth_sendRawTransaction"] == n <= raw["eth_getTransactionReceipt"] <= 2 * n
    assert raw["eth_getBlockByNumber"] == raw["eth_maxPriorityFeePerGas"] == 1  # fees read once
    assert isinstance(data["ratio_median"], float) and "calls by method" in format_overhead(data)


@pytest.mark.asyncio
async def test_the_three_stages_cost_at_most_three_calls_a_transaction() -> None:
    """The whole flow (mint, stake, finance, repay, Curve deposits): every pre-check of a method is read in
    one Multicall3 call, so the SDK makes no more than 3 JSON-RPC calls a transaction (issue 14's target)."""
    data = await run_overhead(flow="stages", rounds=1)
    (run,) = data["runs"]
    sdk, n = run["sdk"]["by_method"], run["transactions"]
    assert sdk["eth_estimateGas"] == sdk["eth_sendRawTransactionSync"] == n
    assert sdk["eth_call"] <= n  # one read ahead a method, and a few reads of what a method returns
    assert run["sdk"]["calls"] <= 3 * n and data["sdk_calls_per_tx"] <= 3.0


@pytest.mark.asyncio
async def test_the_thin_read_path_gives_what_web3_gives(tmp_path: Path) -> None:
    """Reads on a node skip web3.py's ABI search (one raw eth_call, or one batch for call_many): the values,
    and their types, are web3.py's own."""
    node = Anvil().start()
    try:
        deployments = tmp_path / "deployments.json"
        async with await Gaib.connect(node.url, private_key=KEYS[0], deployments=deployments, journal=False) as g:
            await g.deploy()
            p = g.protocol
            calls = [
                p.aid.functions.balanceOf(g.address),  # uint256
                p.aid.functions.symbol(),  # string
                p.said.functions.asset(),  # address: checksummed
                p.registry.functions.getAsset(b"\1" * 32),  # a struct
                p.aid.functions.isWhitelisted(g.address),  # bool
            ]
            for call in calls:
                fast, slow = await call.call(), await AsyncContractFunction.call(call)
                assert fast == slow and type(fast) is type(slow), call
            assert await g.chain.call_many(calls) == [await AsyncContractFunction.call(c) for c in calls]
            assert await g.chain.call_many([]) == []
    finally:
        node.stop()
