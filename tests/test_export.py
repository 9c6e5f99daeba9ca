"""`gaib export`: what an integrator takes away is the protocol as deployed, and compiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gaib_sdk.chain.artifacts import load_artifact
from gaib_sdk.cli import main
from gaib_sdk.contracts.compiler import compile_sources
from gaib_sdk.export import CONTRACTS, solidity_interface
from gaib_sdk.paths import gaib_home

from .anvil import KEYS, Anvil


def _without_internal_types(item: Any) -> Any:
    # solc names a struct after the contract that declares it, and a contract-typed address by its type:
    # the ABI a caller encodes against is the rest
    if isinstance(item, dict):
        return {k: _without_internal_types(v) for k, v in item.items() if k != "internalType"}
    if isinstance(item, list):
        return [_without_internal_types(v) for v in item]
    return item


def _entries(abi: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(_without_internal_types(e), sort_keys=True) for e in abi if e["type"] != "constructor")


def test_each_solidity_interface_compiles_to_its_contracts_abi() -> None:
    sources = {f"I{name}.sol": solidity_interface(name, load_artifact(name)["abi"]) for name in CONTRACTS}
    compiled = compile_sources(sources)
    for name in CONTRACTS:
        # every function, event and custom error, with its types, structs and mutability: nothing more, nothing less
        assert _entries(compiled[f"I{name}"]["abi"]) == _entries(load_artifact(name)["abi"]), name
    said = sources["IStakedAID.sol"]
    assert "function requestRedeem(uint256 shares, address controller, address owner) external returns" in said
    assert "struct Deal {" in sources["ICreditFacility.sol"]


def test_gaib_export_writes_the_kit_for_a_deployment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "artifacts").symlink_to(gaib_home() / "artifacts")
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    monkeypatch.setenv("GAIB_PRIVATE_KEY", KEYS[0])
    node = Anvil().start()
    try:
        assert main(["deploy", "--rpc", node.url, "--json"]) == 0
        deployment = json.loads(capsys.readouterr().out)
        out = tmp_path / "kit"
        assert main(["export", "--out", str(out), "--rpc", node.url, "--json"]) == 0
        written = json.loads(capsys.readouterr().out)
    finally:
        node.stop()
    key = f"31337:{deployment['genesis_hash']}"
    assert written["chains"] == [key]
    addresses = json.loads((out / "addresses.json").read_text())
    assert addresses[key]["contracts"] == deployment["contracts"]
    for name in CONTRACTS:
        assert json.loads((out / "abi" / f"{name}.json").read_text()) == load_artifact(name)["abi"]
        assert (out / "solidity" / f"I{name}.sol").read_text().startswith("// SPDX-License-Identifier: MIT")
    module = (out / "typescript" / "gaib.ts").read_text()
    for const in ("aiDollarAbi", "stakedAidAbi", "creditFacilityAbi", "gaibAbi", "saidOracleAbi"):
        assert f"export const {const} = [" in module
    assert deployment["contracts"]["aid"] in module
    assert main(["export", "--out", str(tmp_path / "kit" / "addresses.json")]) == 1  # a file for the folder
    assert "is a file: give a folder" in capsys.readouterr().err
