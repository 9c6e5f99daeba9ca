"""The `gaib` command line, called in process through its main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaib_sdk.cli import main

from .anvil import KEYS, Anvil


def test_quickstart_prints_a_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quickstart"]) == 0
    out = capsys.readouterr().out
    assert "1. digitize             64 GPUs of Northwind Neo-Cloud Ltd registered on-chain" in out
    assert "sAID share price     1.000000 -> 1.0111" in out
    assert "supply          250,000.00 USDC" in out
    assert "health_factor" in out


def test_plugins_lists_the_installed_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["asset_adapters"]["gpu"] == "gaib_gpu.adapter.GpuAdapter"
    assert data["venues"]["morpho"] == "gaib_morpho.venue.MorphoVenue"


def test_quote_works_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--json"]) == 0
    quote = json.loads(capsys.readouterr().out)
    assert quote["appraised_value_usd"] == "1504166.40"
    assert quote["advance_usd"] == "1128124.80"
    assert len(quote["asset_ids"]) == 64
    assert main(["quote", "gpu", "--as-of", "2026-11-25"]) == 0
    assert "asset_ids                        64 assets" in capsys.readouterr().out


def test_a_users_mistake_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["quote", "gpu", "--as-of", "2026-11-25", "--advance", "1300000"]) == 1
    err = capsys.readouterr().err
    assert err == "error: advance 1300000 USDC exceeds 80% of appraised value 1504166.40 USDC (max 1203333.12)\n"
    assert main(["quote", "gpu", str(tmp_path / "nope.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["quote", "robots"]) == 1
    assert "no asset adapter for kind 'robots'" in capsys.readouterr().err


def test_deploy_and_digitize_against_a_node(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    monkeypatch.delenv("GAIB_PRIVATE_KEY", raising=False)
    node = Anvil().start()
    try:
        assert main(["deploy", "--rpc", node.url]) == 1
        assert "set GAIB_PRIVATE_KEY" in capsys.readouterr().err
        monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
        assert main(["deploy", "--rpc", node.url, "--json"]) == 0
        deployment = json.loads(capsys.readouterr().out)
        assert deployment["chain_id"] == 31337
        assert json.loads((tmp_path / "deployments.json").read_text())["31337"]["contracts"] == deployment["contracts"]
        assert main(["digitize", "gpu", _sample(), "--rpc", node.url, "--json"]) == 0
        assert len(json.loads(capsys.readouterr().out)["asset_ids"]) == 64
        assert main(["digitize", "gpu", _sample(), "--rpc", node.url]) == 1
        assert "64 of 64 assets are already registered" in capsys.readouterr().err
        assert main(["digitize", "gpu", _sample(), "--rpc", node.url, "--skip-registered", "--json"]) == 0
        assert len(json.loads(capsys.readouterr().out)["already_registered"]) == 64
        out = capsys.readouterr()
        assert KEYS[0][2:] not in out.out + out.err
    finally:
        node.stop()


def _sample() -> str:
    return str(Path(__file__).parent.parent / "plugins/gaib-gpu/gaib_gpu/data/sample_cluster.json")
