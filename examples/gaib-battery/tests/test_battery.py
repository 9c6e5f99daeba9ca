"""The battery adapter runs gaib-sdk's conformance suite, like every adapter, first-party or not; then tests
of its own: the valuation, the refusals, and a fleet financed end to end on the in-process EVM."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from gaib_sdk import Gaib, GaibSync, GaibValueError, InventoryError, UnderwritingError
from gaib_sdk.testing import AssetAdapterConformance

import gaib_battery
from gaib_battery import BatteryAdapter

AS_OF = date(2026, 11, 25)
#: The advance the sample's contracts can service over the default 24 months (the stress test passes).
ADVANCE = Decimal(1_200_000)


class TestBatteryAdapter(AssetAdapterConformance):
    adapter = BatteryAdapter
    entry_point = "battery"
    as_of = AS_OF
    # each option must change the valuation: the suite fails an adapter that declares options and ignores one
    changed_options: ClassVar[list[dict[str, Any]]] = [{"calendar_life_months": {"LFP": 120}}, {"residual": "0.2"}]


def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BatteryAdapter().example_source().read_text())
    return data


def _read(data: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "fleet.json"
    source.write_text(json.dumps(data))
    asyncio.run(BatteryAdapter().read_inventory(source))


def test_a_system_is_valued_over_the_calendar_life_of_its_chemistry() -> None:
    inventory = BatteryAdapter().parse(_sample())
    lfp = BatteryAdapter().appraise(inventory.assets[0], AS_OF)
    # 9 whole months of 180, from 1,150,000 towards a 10% residual
    assert lfp.value_usd == Decimal("1098250.00")
    assert lfp.method == "straight-line over the 180-month calendar life of LFP cells to 10% residual"
    nmc = BatteryAdapter({"calendar_life_months": {"LFP": 144}}).appraise(inventory.assets[0], AS_OF)
    assert nmc.value_usd == Decimal("1085312.50")
    assert inventory.assets[0].details == {"chemistry": "LFP", "energy_kwh": 3916.0, "power_kw": 1979.0}


def test_options_are_checked() -> None:
    with pytest.raises(GaibValueError, match="calendar_life_months"):
        BatteryAdapter({"calendar_life_months": {"LiPo": 60}})
    with pytest.raises(GaibValueError, match="residual"):
        BatteryAdapter({"residual": "1.5"})


def test_a_malformed_row_names_its_row_and_field(tmp_path: Path) -> None:
    data = _sample()
    data["systems"][3]["chemistry"] = "lead-acid"
    with pytest.raises(InventoryError, match=r"systems row 4, field 'chemistry'") as caught:
        _read(data, tmp_path)
    assert (caught.value.row, caught.value.field) == (4, "systems[3].chemistry")
    data = _sample()
    data["telemetry"][0]["utilisation"] = 1.7
    with pytest.raises(InventoryError, match=r"telemetry row 1, field 'utilisation'"):
        _read(data, tmp_path)
    with pytest.raises(InventoryError, match=r"unknown top-level field\(s\) \['batteries'\]"):
        _read({**_sample(), "batteries": []}, tmp_path)


def test_the_fleet_is_quoted_offline() -> None:
    gaib = Gaib.offline(plugins=(gaib_battery,), load_entry_points=False)
    # 75% of a ten-year asset's value, repaid over 24 months from 61,500 a month of contracts: the stress
    # test finds the payments cannot be met even in the base case, and the quote is refused
    with pytest.raises(UnderwritingError) as exc:
        asyncio.run(gaib.deals.quote("battery", as_of=AS_OF))
    assert exc.value.rule == "stressed_loss"
    quote = asyncio.run(gaib.deals.quote("battery", as_of=AS_OF, stress={"enforce": False}))
    assert quote.stress is not None
    assert {r.scenario: r for r in quote.stress.results}["base"].loss_usd > 0
    assert len(quote.asset_ids) == 6
    assert quote.appraised_value_usd == Decimal("6589500.00")
    assert quote.advance_usd == Decimal("4942125.00")  # 75% of appraised value
    assert quote.monthly_contracted_revenue_usd == Decimal("61500.00")
    assert quote.stress is not None and not quote.stress.passed
    # what the contracts can service: 1,200,000 over 24 months at 12% is about 57,000 a month
    serviceable = asyncio.run(gaib.deals.quote("battery", as_of=AS_OF, advance_usd=ADVANCE))
    assert serviceable.stress is not None and serviceable.stress.passed


def test_a_fleet_is_digitized_and_financed_on_chain(gaib_sync: GaibSync) -> None:
    """gaib_sync is a fixture of gaib-sdk's pytest plugin: an in-process EVM, the installed plugins loaded."""
    admin = gaib_sync
    operator, investor = admin.with_account(1), admin.with_account(2)
    admin.admin.authorize_registrar(operator.address)
    inventory = operator.assets.read_inventory("battery")
    assert len(operator.digitize("battery", inventory).asset_ids) == 6

    admin.aid.whitelist(investor.address)
    admin.faucet(investor.address, Decimal(5_000_000))
    investor.aid.mint(Decimal(5_000_000))
    financed = admin.financialize("battery", inventory, as_of=AS_OF, advance_usd=ADVANCE)
    assert financed.deal.borrower == operator.address
    assert financed.deal.advance_usd == ADVANCE
    assert 0 < operator.balances()["USDC"] <= financed.deal.advance_usd  # less any cash reserve held back
    assert {admin.assets.get(a)["status"] for a in financed.deal.collateral} == {"financed"}
