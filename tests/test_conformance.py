"""The conformance suite (gaib_sdk.testing) run against the first-party plugins, exactly as a third party
runs it against theirs; and the suite itself, shown to catch an adapter that breaks its contract."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

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
    quote = await gaib_offline.quote("gpu", as_of=date(2026, 11, 25))
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
    }, out
    assert "raised FileNotFoundError" in out
    assert "1 assets have no telemetry snapshot, e.g. serial 'A-2'" in out
    assert "A-1 is valued -1 on" in out
