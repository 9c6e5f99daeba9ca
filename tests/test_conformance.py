"""The conformance suite (gaib_sdk.testing) run against the first-party plugins, exactly as a third party
runs it against theirs; and the suite itself, shown to catch an adapter that breaks its contract."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import gaib_curve
import gaib_morpho
import gaib_pendle
import pytest
from gaib_curve import CurveVenue
from gaib_gpu import GpuAdapter
from gaib_morpho import MorphoVenue
from gaib_pendle import PendleVenue

from gaib_sdk import Gaib, GaibSync
from gaib_sdk.testing import AssetAdapterConformance, VenueConformance


class TestGpuAdapter(AssetAdapterConformance):
    adapter = GpuAdapter
    entry_point = "gpu"
    as_of = date(2026, 11, 25)
    # each must change what the adapter says: the income value's discount, the H100s' life, the power price
    changed_options: ClassVar[list[dict[str, Any]]] = [
        {"discount_rate": "0.30"},
        {"depreciation": {"H100": (36, "0.10")}},
        {"usd_per_kwh": "0.20"},
    ]


class TestMorphoVenue(VenueConformance):
    venue = MorphoVenue
    plugin = gaib_morpho  # a plugin object, here the module; checked as well as the entry point
    entry_point = "morpho"


class TestPendleVenue(VenueConformance):
    venue = PendleVenue
    plugin = gaib_pendle
    entry_point = "pendle"


class TestCurveVenue(VenueConformance):
    venue = CurveVenue
    plugin = gaib_curve
    entry_point = "curve"


def test_the_pytest_plugin_registers_its_marker_and_fixtures(pytestconfig: pytest.Config, gaib_sync: GaibSync) -> None:
    assert any(line.startswith("gaib_conformance:") for line in pytestconfig.getini("markers"))
    assert gaib_sync.plugins.asset_adapter("gpu") is GpuAdapter
    assert len(gaib_sync.digitize("gpu").asset_ids) == 64


@pytest.mark.asyncio
async def test_the_offline_fixture_quotes_without_a_chain(gaib_offline: Gaib) -> None:
    assert isinstance(gaib_offline, Gaib)
    quote = await gaib_offline.deals.quote("gpu", as_of=date(2026, 11, 25))
    assert quote.appraised_value_usd > 0


BROKEN = '''
"""An adapter that breaks the contract in three ways, and a subclass of the suite that runs it."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from gaib_sdk import AssetAdapter, AssetRecord, AssetValuation, Inventory, Telemetry
from gaib_sdk.testing import AssetAdapterConformance


class SloppyAdapter(AssetAdapter):
    kind = "sloppy"

    async def read_inventory(self, source: str | Path) -> Inventory:
        text = Path(source).read_text()  # a missing file escapes as FileNotFoundError
        assets = [
            AssetRecord(kind="sloppy", vendor="Acme", model="M1", serial=s, purchase_price_usd=Decimal(100),
                        purchased_on=date(2026, 1, 1), site="here")
            for s in text.split()
        ]
        return Inventory(kind="sloppy", operator="Acme", assets=assets, telemetry=[
            Telemetry(serial=assets[0].serial, observed_at="2026-11-01T00:00:00Z", healthy=True, utilisation=0.5)
        ])

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return AssetValuation(asset_id=asset.asset_id, serial=asset.serial, purchase_price_usd=Decimal(100),
                              age_months=0, value_usd=Decimal(-1), method="wishful")

    def example_source(self) -> Path:
        path = Path(__file__).with_name("sample.txt")
        path.write_text("A-1 A-2")
        return path


class TestSloppyAdapter(AssetAdapterConformance):
    adapter = SloppyAdapter
'''


def test_the_suite_catches_an_adapter_that_breaks_the_contract(tmp_path: Path) -> None:
    (tmp_path / "test_sloppy.py").write_text(textwrap.dedent(BROKEN))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "-o", "filterwarnings=error", "-o", "asyncio_default_fixture_loop_scope=function", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    failed = {line.split("::")[-1].split(" ")[0] for line in out.splitlines() if line.startswith("FAILED")}
    assert failed == {
        "test_every_asset_has_telemetry",
        "test_appraises_every_asset",
        "test_appraises_the_inventory_as_a_whole",  # appraise_inventory calls the same broken appraise
        "test_a_malformed_source_raises_inventory_error",
        "test_digitizes_once_on_an_embedded_chain",  # digitize refuses an asset without telemetry
        # a fixed value: it never falls with age nor with as_of, nor follows the purchase price
        "test_value_falls_with_age",
        "test_another_as_of_gives_another_value",
        "test_the_value_follows_the_record",
    }, out
    assert "raised FileNotFoundError" in out
    assert "1 assets have no telemetry snapshot, e.g. serial 'A-2'" in out
    assert "A-1 is valued -1 on" in out


VALUATION = '''
"""A small adapter that keeps the contract, and adapters that each break it in one way a plugin author might:
the suite must pass the first and fail each of the others on the check that guards what it broke."""

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gaib_sdk import (
    AdapterOptions,
    AssetAdapter,
    AssetRecord,
    AssetValuation,
    Inventory,
    InventoryError,
    build_inventory,
    validate_row,
)
from gaib_sdk.testing import AssetAdapterConformance
from gaib_sdk.underwriting import straight_line_valuation

SAMPLE = {
    "operator": "Crates Ltd",
    "crates": [
        {"serial": f"C-{i}", "price": str(10_000 * (i + 1)), "bought": f"202{5 + i % 2}-0{1 + i}-01"} for i in range(4)
    ],
    "contracts": [
        {"customer": "Depot", "signed_on": "2026-01-01", "starts_on": "2026-01-01", "term_months": 24,
         "monthly_revenue_usd": "1000", "payments": []}
    ],
    "telemetry": [
        {"serial": f"C-{i}", "observed_at": "2026-11-01T00:00:00Z", "healthy": True, "utilisation": 0.5}
        for i in range(4)
    ],
}


class CrateRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: str
    price: Decimal
    bought: date


class CrateOptions(AdapterOptions):
    life_months: int = 60
    residual: Decimal = Decimal("0.1")


class CrateAdapter(AssetAdapter):
    kind = "crate"
    options_model = CrateOptions
    options: CrateOptions

    async def read_inventory(self, source: str | Path) -> Inventory:
        try:
            data = json.loads(Path(source).read_text())
        except (OSError, ValueError) as exc:
            raise InventoryError(f"cannot read {source}: {exc}") from exc
        if not isinstance(data, dict):
            raise InventoryError("an inventory is a JSON object")
        assets = [self._asset(raw, i) for i, raw in enumerate(data.get("crates", []), 1)]
        return build_inventory("crate", data.get("operator"), "crates", [a for a in assets if a], data)

    def _asset(self, raw: Any, i: int) -> AssetRecord | None:
        row = validate_row(CrateRow, raw, "crates", i)
        return AssetRecord(kind="crate", vendor="Acme", model="C1", serial=row.serial, purchase_price_usd=row.price,
                           purchased_on=row.bought, site="depot")

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return straight_line_valuation(asset, as_of, life_months=self.options.life_months,
                                       residual=self.options.residual)

    def example_source(self) -> Path:
        path = Path(__file__).with_name("crates.json")
        path.write_text(json.dumps(SAMPLE))
        return path


class NeverDepreciates(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return super().appraise(asset, asset.purchased_on)  # valued as new, whatever the date


class UsesToday(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return super().appraise(asset, date.today())


class RandomValue(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        v = super().appraise(asset, as_of)
        return v.model_copy(update={"value_usd": (v.value_usd * Decimal(random.uniform(0.8, 1))).quantize(Decimal(1))})


KEPT: dict[str, AssetValuation] = {}


class CachedValue(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return KEPT.setdefault(asset.asset_id, super().appraise(asset, as_of))


class IgnoresOptions(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return straight_line_valuation(asset, as_of, life_months=60, residual=Decimal("0.1"))


class SkipsBadRows(CrateAdapter):
    def _asset(self, raw: Any, i: int) -> AssetRecord | None:
        try:
            return super()._asset(raw, i)
        except InventoryError:
            return None


class AboveCost(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        v = super().appraise(asset, as_of)
        return v.model_copy(update={"value_usd": v.value_usd * Decimal("1.2")})  # "replacement value"


class TestCrateAdapter(AssetAdapterConformance):
    adapter = CrateAdapter
    as_of = date(2026, 11, 25)


class TestNeverDepreciates(TestCrateAdapter):
    adapter = NeverDepreciates


class TestUsesToday(TestCrateAdapter):
    adapter = UsesToday


class TestRandomValue(TestCrateAdapter):
    adapter = RandomValue


class TestCachedValue(TestCrateAdapter):
    adapter = CachedValue


class TestIgnoresOptions(TestCrateAdapter):
    adapter = IgnoresOptions


class TestSkipsBadRows(TestCrateAdapter):
    adapter = SkipsBadRows


class TestAboveCost(TestCrateAdapter):
    adapter = AboveCost


class IgnoresResidual(CrateAdapter):
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return straight_line_valuation(asset, as_of, life_months=self.options.life_months, residual=Decimal("0.1"))


class TestIgnoresResidual(TestCrateAdapter):
    adapter = IgnoresResidual
    changed_options = [{"life_months": 120}, {"residual": "0.3"}]  # declared: each must change the value
'''


def test_the_suite_catches_adapters_whose_valuation_breaks_the_contract(tmp_path: Path) -> None:
    """Each broken adapter fails exactly the checks that guard what it broke; the sound one passes them all."""
    (tmp_path / "test_crates.py").write_text(VALUATION)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "-o", "filterwarnings=error", "-o", "asyncio_default_fixture_loop_scope=function",
         "-k", "not digitizes", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    failed: dict[str, set[str]] = {}
    for line in out.splitlines():
        if line.startswith("FAILED"):
            _, cls, check = line.split(" ")[1].split("::")
            failed.setdefault(cls, set()).add(check)
    falls, same, other = (
        "test_value_falls_with_age",
        "test_the_same_as_of_gives_the_same_value",
        ("test_another_as_of_gives_another_value"),
    )
    clock, options, record = (
        "test_the_wall_clock_changes_nothing",
        "test_options_change_behaviour",
        ("test_the_value_follows_the_record"),
    )
    assert failed == {
        "TestNeverDepreciates": {falls, other},
        "TestUsesToday": {falls, other, clock},
        "TestRandomValue": {falls, same, clock, record},
        "TestCachedValue": {falls, other, options, record},  # a value kept from the first call, whatever changes
        "TestIgnoresOptions": {options},
        "TestIgnoresResidual": {options},
        "TestSkipsBadRows": {"test_every_malformed_row_is_refused_naming_its_row"},
        "TestAboveCost": {"test_no_asset_is_valued_above_its_purchase_price"},
    }, out  # and TestCrateAdapter, the sound one, passes every check
    assert "the assets never depreciate" in out
    assert "reads today's date (date.today(), datetime.now()) where it must use as_of" in out
    assert "valued twice on 2026-11-25 (the same adapter, a day valued between)" in out
    assert "option {'residual': '0.3'} changes neither the valuations" in out
    assert "refused a bad crates row 1 with \"telemetry row 1, field 'serial'" in out
    assert "C-1 is valued 20760.000 on 2026-11-25, above its purchase price 20000" in out
