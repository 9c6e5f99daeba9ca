"""Stage 1: an inventory is validated, gets deterministic ids, and is registered once."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gaib_sdk import DuplicateAssetError, Gaib, GaibConfigError, Inventory, InventoryError, asset_id

from .conftest import Actors


def _sample() -> dict[str, Any]:
    path = Path(__file__).parent.parent / "plugins/gaib-gpu/gaib_gpu/data/sample_cluster.json"
    return json.loads(path.read_text())


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(data))
    return path


def test_asset_id_is_keccak_of_kind_vendor_serial_and_normalised() -> None:
    a = asset_id("gpu", "NVIDIA", "1654922000000")
    assert a == asset_id(" GPU ", "nvidia", "1654922000000 ")
    assert a != asset_id("gpu", "NVIDIA", "1654922000001")
    assert a != asset_id("robot", "NVIDIA", "1654922000000")
    # abi.encode(string,string,string) hashed: what a contract computes with the same inputs
    assert a == "0x28ca6c0698702add502183073ab71049f225e76cb527a3d7b75946b8933268d1"


@pytest.mark.asyncio
async def test_digitize_registers_each_gpu_with_record_hash_owner_and_attestation(
    actors: Actors, inventory: Inventory
) -> None:
    result = await actors.provider.digitize("gpu", inventory)
    assert len(result.asset_ids) == 64 and result.already_registered == []
    assert result.owner == actors.provider.address
    first = inventory.assets[0]
    on_chain = await actors.admin.assets.get(first.asset_id)
    assert on_chain["status"] == "active"
    assert on_chain["owner"] == actors.provider.address
    assert on_chain["kind"] == "gpu"
    assert on_chain["record_hash"] == first.record_hash
    telemetry = inventory.telemetry_for(first.serial)
    assert telemetry is not None and on_chain["attestation"] == telemetry.attestation
    assert await actors.admin.protocol.registry.functions.assetCount().call() == 64


@pytest.mark.asyncio
async def test_registering_twice_is_refused_before_any_transaction(actors: Actors, inventory: Inventory) -> None:
    await actors.provider.digitize("gpu", inventory)
    sent = len(actors.admin.chain.history)
    with pytest.raises(DuplicateAssetError, match="64 of 64 assets are already registered") as exc:
        await actors.provider.digitize("gpu", inventory)
    assert exc.value.asset_id == inventory.assets[0].asset_id
    assert len(actors.admin.chain.history) == sent


@pytest.mark.asyncio
async def test_digitize_again_with_skip_registered_changes_nothing(actors: Actors, inventory: Inventory) -> None:
    await actors.provider.digitize("gpu", inventory)
    again = await actors.provider.digitize("gpu", inventory, skip_registered=True)
    assert again.asset_ids == [] and len(again.already_registered) == 64 and again.tx_hashes == []
    assert await actors.admin.protocol.registry.functions.assetCount().call() == 64


@pytest.mark.asyncio
async def test_only_new_assets_are_registered_when_skipping(actors: Actors, tmp_path: Path) -> None:
    data = _sample()
    half = copy.deepcopy(data)
    half["gpus"] = data["gpus"][:32]
    serials = {g["serial"] for g in half["gpus"]}  # and only their readings: a reading of no asset is refused
    half["telemetry"] = [t for t in data["telemetry"] if t["serial"] in serials]
    await actors.provider.digitize("gpu", _write(tmp_path, half))
    result = await actors.provider.digitize("gpu", _write(tmp_path, data), skip_registered=True)
    assert len(result.asset_ids) == 32 and len(result.already_registered) == 32


@pytest.mark.asyncio
async def test_an_account_without_the_registrar_role_is_refused(actors: Actors, inventory: Inventory) -> None:
    with pytest.raises(GaibConfigError, match=r"lacks REGISTRAR_ROLE.*\(gaib admin grant registrar 0x"):
        await actors.outsider.digitize("gpu", inventory)


@pytest.mark.parametrize(
    ("mutate", "row", "field", "message"),
    [
        (lambda d: d["gpus"][2].update(purchase_price_usd="abc"), 3, "gpus[2].purchase_price_usd", "decimal"),
        (lambda d: d["gpus"][4].pop("serial"), 5, "gpus[4].serial", "Field required"),
        (lambda d: d["gpus"][0].update(uuid="not-a-uuid"), 1, "gpus[0].uuid", "pattern"),
        (lambda d: d["gpus"][7].update(purchased_on="2025-13-01"), 8, "gpus[7].purchased_on", "date"),
        (lambda d: d["gpus"][1].update(colour="green"), 2, "gpus[1].colour", "Extra inputs"),
        (lambda d: d["gpus"][6].update(purchase_price_usd="-5"), 7, "gpus[6].purchase_price_usd", "greater than 0"),
        (lambda d: d["contracts"][1].update(term_months=0), 2, "contracts[1].term_months", "greater than or equal"),
        (lambda d: d["telemetry"][9].update(utilisation=1.5), 10, "telemetry[9].utilisation", "less than or equal"),
        (
            lambda d: d["telemetry"][2].update(observed_at="2026-11-01T00:00:00"),
            3,
            "telemetry[2].observed_at",
            "timezone",
        ),
        (lambda d: d["gpus"][0].update(site="x" * 201), 1, "gpus[0].site", "at most 200 characters"),
    ],
)
@pytest.mark.asyncio
async def test_a_malformed_row_names_its_row_and_field(
    gaib: Gaib, tmp_path: Path, mutate: Any, row: int, field: str, message: str
) -> None:
    data = _sample()
    mutate(data)
    sent = len(gaib.chain.history)
    with pytest.raises(InventoryError, match=message) as exc:
        await gaib.digitize("gpu", _write(tmp_path, data))
    assert exc.value.row == row
    assert exc.value.field == field
    assert f"row {row}" in str(exc.value)
    assert len(gaib.chain.history) == sent


@pytest.mark.asyncio
async def test_a_duplicate_serial_inside_one_inventory_is_refused(gaib: Gaib, tmp_path: Path) -> None:
    data = _sample()
    data["gpus"][5]["serial"] = data["gpus"][0]["serial"]
    with pytest.raises(InventoryError, match=r"assets\[5\] has the same vendor and serial as assets\[0\]"):
        await gaib.digitize("gpu", _write(tmp_path, data))


@pytest.mark.asyncio
async def test_an_asset_without_telemetry_or_unhealthy_is_not_registered(actors: Actors, tmp_path: Path) -> None:
    data = _sample()
    data["telemetry"] = data["telemetry"][1:]
    with pytest.raises(InventoryError, match="has no telemetry") as exc:
        await actors.provider.digitize("gpu", _write(tmp_path, data))
    assert exc.value.row == 1 and exc.value.field == "telemetry"

    data = _sample()
    data["telemetry"][3]["healthy"] = False
    with pytest.raises(InventoryError, match="reports unhealthy") as exc:
        await actors.provider.digitize("gpu", _write(tmp_path, data))
    assert exc.value.row == 4
    assert await actors.admin.protocol.registry.functions.assetCount().call() == 0


@pytest.mark.asyncio
async def test_unreadable_sources_say_what_is_wrong(gaib: Gaib, tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="does not exist"):
        await gaib.assets.read_inventory("gpu", tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InventoryError, match="not valid JSON"):
        await gaib.assets.read_inventory("gpu", bad)
    with pytest.raises(InventoryError, match="'gpus' must be a non-empty list"):
        await gaib.assets.read_inventory("gpu", _write(tmp_path, {"operator": "x", "gpus": []}))


@pytest.mark.asyncio
async def test_an_unknown_kind_names_the_installed_ones(gaib: Gaib) -> None:
    with pytest.raises(GaibConfigError, match=r"no asset adapter for kind 'ev-charger' \(installed: gpu, robot\)"):
        await gaib.digitize("ev-charger", "whatever.json")
