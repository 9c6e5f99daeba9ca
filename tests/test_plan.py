"""gaib deploy --network NAME --plan: the deployment rehearsed on a fork of the network, nothing sent to it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_account import Account

from gaib_sdk.chain.artifacts import load_artifact
from gaib_sdk.chain.connection import Chain
from gaib_sdk.chain.deploy import ROLES
from gaib_sdk.chain.governance import safe_artifacts_dir
from gaib_sdk.cli import main

from .anvil import ADDRESSES, KEYS, Anvil


def test_deploy_plan_sends_nothing_and_names_every_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    network = Anvil("--chain-id", "8453").start()  # stands in for Base: the plan forks it
    try:

        async def usdc() -> str:
            chain = await Chain.connect(network.url, private_keys=[KEYS[1]])
            try:
                r = await chain.deploy(load_artifact("TestUSDC"), [ADDRESSES[1]], chain.accounts[0])
                assert r.contract_address is not None
                return r.contract_address
            finally:
                await chain.close()

        usdc_address = asyncio.run(usdc())
        block = network.rpc("eth_blockNumber")
        deployer = Account.from_key(KEYS[0]).address
        nonce = network.rpc("eth_getTransactionCount", deployer, "latest")
        monkeypatch.setenv("GAIB_RPC_BASE", network.url)
        monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
        safe = safe_artifacts_dir()
        shutil.copytree(safe, tmp_path / "artifacts" / safe.name)  # built at set-up, under GAIB_HOME
        monkeypatch.setenv("GAIB_HOME", str(tmp_path))  # and nothing may be written there for the network
        roles = [f"--role={r}={ADDRESSES[2]}" for r in ROLES if r not in ("admin", "rewarder")]
        argv = ["deploy", "--network", "base", "--plan", "--usdc", usdc_address, *roles]
        argv += ["--safe-owner", ADDRESSES[3], "--safe-owner", ADDRESSES[4], "--safe-threshold", "2", "--json"]
        assert main(argv) == 0, capsys.readouterr()
        plan = json.loads(capsys.readouterr().out)
        assert plan["sent"] is False and plan["chain_id"] == 8453 and plan["network"] == "base"
        whats = [t["what"] for t in plan["transactions"]]
        assert "deploy AIDollar" in whats and any("Safe" in w or "safe" in w for w in whats)
        assert all(t["gas"] > 21_000 for t in plan["transactions"])
        assert plan["total_gas"] == sum(t["gas"] for t in plan["transactions"])
        created = {t["creates"] for t in plan["transactions"] if t["creates"]}
        assert plan["addresses"]["aid"] in created and plan["addresses"]["usdc"] == usdc_address
        assert "timelock" in plan["addresses"]
        # the network itself saw nothing
        assert network.rpc("eth_blockNumber") == block
        assert network.rpc("eth_getTransactionCount", deployer, "latest") == nonce
        assert not (tmp_path / "deployments.json").exists()
    finally:
        network.stop()
