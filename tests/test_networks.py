"""Networks as data: the shipped networks file, and Gaib.connect(network=...)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_utils.address import is_checksum_address

from gaib_sdk.client import Gaib
from gaib_sdk.errors import GaibConfigError
from gaib_sdk.networks import network, networks, rpc_url

from .anvil import KEYS, Anvil

FACTS = ("chain_id", "usdc", "layerzero_eid", "layerzero_endpoint", "explorer", "rpc")


def test_the_shipped_networks_and_their_sources() -> None:
    known = networks()
    assert {"ethereum", "arbitrum", "base", "plume"} <= set(known)
    assert {"sepolia", "arbitrum-sepolia", "base-sepolia", "plume-testnet"} <= set(known)
    for net in known.values():
        for fact in FACTS:
            value = getattr(net, fact)
            if value is not None:  # every fact given says where it comes from
                assert net.sources.get(fact), f"{net.name}.{fact} has no source"
            elif fact in ("usdc", "layerzero_eid", "layerzero_endpoint"):
                assert net.notes, f"{net.name}.{fact} is unknown and the notes do not say why"
        for address in (net.usdc, net.layerzero_endpoint):
            assert address is None or is_checksum_address(address), address
    assert network("base").chain_id == 8453 and network("base").layerzero_eid == 30184
    # LayerZero's EndpointV2 has one address on these mainnets (its deployment files)
    assert network("ethereum").layerzero_endpoint == network("base").layerzero_endpoint


def test_unknown_network_and_missing_rpc_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GaibConfigError, match="unknown network 'basee'"):
        network("basee")
    monkeypatch.delenv("GAIB_RPC_ETHEREUM", raising=False)
    with pytest.raises(GaibConfigError, match="GAIB_RPC_ETHEREUM"):
        rpc_url("ethereum")
    monkeypatch.setenv("GAIB_RPC_BASE_SEPOLIA", "http://127.0.0.1:1")
    assert rpc_url("base-sepolia") == "http://127.0.0.1:1"


@pytest.mark.asyncio
async def test_connect_by_network_checks_the_chain_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    wrong, right = Anvil().start(), Anvil("--chain-id", "8453").start()
    try:
        monkeypatch.setenv("GAIB_RPC_BASE", wrong.url)
        with pytest.raises(GaibConfigError, match="is on chain 31337, not base"):
            await Gaib.connect(network="base", private_key=KEYS[0], journal=False, deployments=tmp_path / "d.json")
        monkeypatch.setenv("GAIB_RPC_BASE", right.url)
        client = await Gaib.connect(network="base", private_key=KEYS[0], journal=False, deployments=tmp_path / "d.json")
        try:
            assert client.chain.chain_id == 8453
        finally:
            await client.close()
    finally:
        wrong.stop()
        right.stop()


def test_network_on_the_command_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gaib_sdk.cli import main

    node = Anvil().start()
    try:
        monkeypatch.setenv("GAIB_RPC_BASE", node.url)
        assert main(["status", "--network", "base", "--json"]) == 1
        assert "is on chain 31337, not base (8453)" in capsys.readouterr().out
    finally:
        node.stop()
    assert main(["networks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["plume"]["layerzero_eid"] == 30370 and listed["plume"]["usdc"] is None
