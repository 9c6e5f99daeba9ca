"""The robots plugin: cleaning robots rented as Robot-as-a-Service, read from a fleet API served over HTTP by
a real server on 127.0.0.1, or from a JSON file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from gaib_robots import RobotAdapter

from gaib_sdk import Gaib, Inventory, InventoryError
from gaib_sdk.errors import GaibValueError
from gaib_sdk.testing import AssetAdapterConformance

from .http_server import StaticServer

SAMPLE = Path(RobotAdapter().example_source())
DATA = json.loads(SAMPLE.read_text())
OPERATOR = DATA["operator"]
AS_OF = date(2026, 11, 25)


def read(source: str | Path, **options: Any) -> Inventory:
    return asyncio.run(RobotAdapter(options).read_inventory(source))


class FleetApi(StaticServer):
    """A real HTTP server on 127.0.0.1 serving a fleet API from the sample: ``bodies[path] = JSON text``."""

    def __init__(self) -> None:
        bodies: dict[str, str] = {"/robots": json.dumps(DATA["robots"]), "/contracts": json.dumps(DATA["contracts"])}
        for status in DATA["statuses"]:
            bodies[f"/robots/{status['serial']}/status"] = json.dumps(
                {k: v for k, v in status.items() if k != "serial"}
            )
        super().__init__(bodies, content_type="application/json", not_found='{"error": "not found"}')
        self.bodies = self.pages


@pytest.fixture
def api() -> Iterator[FleetApi]:
    with FleetApi() as server:
        yield server


# ---- the fleet API over HTTP ----


def test_the_fleet_api_reads_as_the_file(api: FleetApi) -> None:
    inventory = read(api.url, operator=OPERATOR)
    assert inventory == read(SAMPLE)
    assert len(inventory.assets) == 12 and len({a.site for a in inventory.assets}) == 3
    assert len(inventory.contracts) == 3 and len(inventory.telemetry) == 12
    assert "/robots" in api.requests and "/contracts" in api.requests
    assert sum(p.endswith("/status") for p in api.requests) == 12
    assert read(api.url + "/", operator=OPERATOR) == inventory  # a trailing slash is the same base


def test_robots_statuses_and_contracts_are_mapped(api: FleetApi) -> None:
    inventory = read(api.url, operator=OPERATOR)
    robot, row, status = inventory.assets[0], DATA["robots"][0], DATA["statuses"][0]
    assert (robot.kind, robot.vendor, robot.model, robot.serial) == ("robot", "Primech AI", "HELIUS", row["serial"])
    assert robot.purchase_price_usd == Decimal(row["purchase_price_usd"]) and robot.site == row["site"]
    assert robot.details == {}  # the record is what does not change: status and readings are telemetry
    snap = inventory.telemetry_for(robot.serial)
    assert snap is not None and snap.healthy and snap.utilisation == status["uptime_ratio"]
    assert snap.metrics == {"cleaning_cycles_30d": status["cleaning_cycles_30d"], "battery_health": 0.93}
    assert snap.observed_at.utcoffset() is not None
    assert all(t.healthy for t in inventory.telemetry)  # the sample digitizes: every robot works
    # healthy: working (active or charging) with a battery that holds
    robots = [dict(r) for r in DATA["robots"]]
    for robot, name in zip(robots, ("charging", "fault", "offline"), strict=False):
        robot["status"] = name
    api.bodies["/robots"] = json.dumps(robots)
    changed = read(api.url, operator=OPERATOR)
    # a robot's status moves; its record (and so its record hash) does not
    assert [a.record_hash for a in changed.assets] == [a.record_hash for a in inventory.assets]
    assert [t.healthy for t in changed.telemetry[:4]] == [True, False, False, True]
    contract = inventory.contracts[0]
    assert contract.customer == DATA["contracts"][0]["customer"]
    assert contract.monthly_revenue_usd == Decimal(DATA["contracts"][0]["monthly_fee_usd"])
    assert len(contract.payments) >= 6


def test_a_weak_battery_makes_an_active_robot_unhealthy(api: FleetApi) -> None:
    serial = DATA["robots"][0]["serial"]
    body = json.loads(api.bodies[f"/robots/{serial}/status"])
    api.bodies[f"/robots/{serial}/status"] = json.dumps({**body, "battery_health": 0.49})
    snap = read(api.url, operator=OPERATOR).telemetry_for(serial)
    assert snap is not None and not snap.healthy
    api.bodies[f"/robots/{serial}/status"] = json.dumps({**body, "battery_health": 0.5})
    snap = read(api.url, operator=OPERATOR).telemetry_for(serial)
    assert snap is not None and snap.healthy


def test_the_fleet_api_digitizes_on_an_embedded_chain(api: FleetApi) -> None:
    async def digitize() -> None:
        async with await Gaib.embedded() as admin:
            operator = admin.with_account(1)
            await admin.admin.authorize_registrar(operator.address)
            inventory = await operator.assets.read_inventory("robot", api.url, options={"operator": OPERATOR})
            result = await operator.digitize("robot", inventory)
            assert len(result.asset_ids) == 12
            assert (await operator.assets.get(result.asset_ids[0]))["kind"] == "robot"

    asyncio.run(digitize())


def test_fleet_api_errors_name_the_url(api: FleetApi) -> None:
    with pytest.raises(InventoryError, match=r"needs the adapter option operator"):
        read(api.url)
    with pytest.raises(InventoryError, match=r"could not read the fleet API at .*/nope/robots: .*404"):
        read(api.url + "/nope", operator=OPERATOR)
    serial = DATA["robots"][4]["serial"]
    status = api.bodies.pop(f"/robots/{serial}/status")
    with pytest.raises(InventoryError, match=rf"could not read the fleet API at .*/robots/{serial}/status: .*404"):
        read(api.url, operator=OPERATOR)
    api.bodies[f"/robots/{serial}/status"] = status
    with pytest.raises(InventoryError, match=r"could not read the fleet API at http://127.0.0.1:9/robots"):
        read("http://127.0.0.1:9", operator=OPERATOR, timeout_s=2)
    api.bodies["/contracts"] = "this is not JSON {"
    with pytest.raises(InventoryError, match=r"the fleet API at .*/contracts answered with a body that is not JSON"):
        read(api.url, operator=OPERATOR, timeout_s=2)
    api.bodies["/contracts"] = '{"contracts": []}'
    with pytest.raises(InventoryError, match=r"/contracts answered with dict, not a list of contracts"):
        read(api.url, operator=OPERATOR)


def test_a_malformed_row_names_the_section_row_and_field(api: FleetApi) -> None:
    robots = [dict(r) for r in DATA["robots"]]
    robots[2]["status"] = "sleeping"
    api.bodies["/robots"] = json.dumps(robots)
    with pytest.raises(InventoryError, match=r"robots row 3, field 'status'") as exc:
        read(api.url, operator=OPERATOR)
    assert (exc.value.row, exc.value.field) == (3, "robots[2].status")
    assert not any(p.endswith("/status") for p in api.requests)  # refused before any status was asked for

    api.bodies["/robots"] = json.dumps(DATA["robots"])
    serial = DATA["robots"][1]["serial"]
    body = json.loads(api.bodies[f"/robots/{serial}/status"])
    api.bodies[f"/robots/{serial}/status"] = json.dumps({**body, "uptime_ratio": 1.7})
    with pytest.raises(InventoryError, match=r"statuses row 2, field 'uptime_ratio'"):
        read(api.url, operator=OPERATOR)
    api.bodies[f"/robots/{serial}/status"] = json.dumps({**body, "last_seen": "2026-11-24T23:05:00"})
    with pytest.raises(InventoryError, match=r"statuses row 2, field 'last_seen'.*timezone"):
        read(api.url, operator=OPERATOR)

    api.bodies[f"/robots/{serial}/status"] = json.dumps(body)
    contracts = json.loads(json.dumps(DATA["contracts"]))
    contracts[1]["payments"][0]["amount_usd"] = "-5"
    api.bodies["/contracts"] = json.dumps(contracts)
    with pytest.raises(InventoryError, match=r"contracts row 2, field 'payments.0.amount_usd'"):
        read(api.url, operator=OPERATOR)
    contracts = json.loads(json.dumps(DATA["contracts"]))
    contracts[2]["robots"].append("PRM-NOT-A-ROBOT")
    api.bodies["/contracts"] = json.dumps(contracts)
    with pytest.raises(InventoryError, match=r"contracts row 3, field 'robots': robot 'PRM-NOT-A-ROBOT' is not in"):
        read(api.url, operator=OPERATOR)


# ---- the JSON file ----


def test_the_sample_file(tmp_path: Path) -> None:
    inventory = read(SAMPLE)
    assert inventory.kind == "robot" and inventory.operator == OPERATOR
    assert len({c.customer for c in inventory.contracts}) == 3
    assert all(len(c.payments) >= 6 for c in inventory.contracts)
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps({k: v for k, v in DATA.items() if k != "operator"}))
    with pytest.raises(InventoryError, match=r"field 'operator' must name the operator"):
        read(path)
    assert read(path, operator=OPERATOR) == inventory


def test_a_bad_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    with pytest.raises(InventoryError, match=r"does not exist"):
        read(path)
    path.write_text(json.dumps({**DATA, "gpus": []}))
    with pytest.raises(InventoryError, match=r"unknown top-level field\(s\) \['gpus'\]"):
        read(path)
    path.write_text(json.dumps({**DATA, "robots": []}))
    with pytest.raises(InventoryError, match=r"field 'robots' must be a non-empty list"):
        read(path)
    statuses = [*DATA["statuses"], {**DATA["statuses"][0], "serial": "PRM-GHOST"}]
    path.write_text(json.dumps({**DATA, "statuses": statuses}))
    with pytest.raises(InventoryError, match=r"statuses row 13, field 'serial': 'PRM-GHOST' is not in robots"):
        read(path)
    robots = [*DATA["robots"], DATA["robots"][0]]
    path.write_text(json.dumps({**DATA, "robots": robots}))
    with pytest.raises(InventoryError, match=r"robots row 13, field 'serial': .* appears twice"):
        read(path)


def test_appraisal_is_straight_line_to_a_residual() -> None:
    robot = read(SAMPLE).assets[0]  # 38,500 USD, bought 2025-11-20
    valuation = RobotAdapter().appraise(robot, AS_OF)
    assert valuation.age_months == 12 and valuation.value_usd == Decimal("31570.00")
    assert valuation.method == "straight-line over 60 months to 10% residual"
    assert RobotAdapter().appraise(robot, date(2040, 1, 1)).value_usd == Decimal("3850.00")
    shorter = RobotAdapter({"life_months": 36, "residual": "0.2"}).appraise(robot, AS_OF)
    assert shorter.value_usd == Decimal("28233.33") and shorter.method == "straight-line over 36 months to 20% residual"
    with pytest.raises(GaibValueError, match=r"option 'residual'"):
        RobotAdapter({"residual": 2})


# ---- the conformance suite ----


class TestRobotConformance(AssetAdapterConformance):
    adapter = RobotAdapter
    entry_point = "robots"
    as_of = AS_OF
    # each must change what the adapter says: the robots' life, the income value's discount, the servicing
    changed_options: ClassVar[list[dict[str, Any]]] = [
        {"life_months": 36},
        {"discount_rate": "0.30"},
        {"service_usd_per_month": "100"},
    ]


def test_the_docs_example_reads() -> None:
    page = Path(__file__).parents[1] / "docs" / "robot-fleets.md"
    [block] = page.read_text().split("```json\n")[1:]
    inventory = RobotAdapter().parse(json.loads(block.split("\n```")[0]))
    assert len(inventory.assets) == 1 and inventory.contracts[0].monthly_revenue_usd == Decimal("1950.00")
