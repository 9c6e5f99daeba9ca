"""The battery adapter: reads a storage fleet's export (one JSON file) and values each system.

A battery energy storage system (a containerised lithium-ion unit such as a Tesla Megapack) earns under
signed contracts: a tolling agreement with a data centre that uses it as backup and for peak shaving, or
grid services. The export has the ``operator``, one row per system in ``systems`` (vendor, model, serial,
chemistry, energy_kwh, power_kw, purchase_price_usd, commissioned_on, site), the signed customer
``contracts`` with their payment history, and a ``telemetry`` snapshot per system whose ``metrics`` carry
the battery management system's readings (state_of_health, cycles, temperature_c).

A system is valued by straight-line depreciation over the calendar life of its chemistry (LFP cells last
longer than NMC) down to a residual value.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

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
from gaib_sdk.underwriting import straight_line_valuation
from pydantic import BaseModel, ConfigDict, Field

KIND = "battery"
SECTIONS = {"operator", "systems", "contracts", "telemetry"}
Chemistry = Literal["LFP", "NMC"]
#: Calendar life by chemistry, in months: LFP cells outlast NMC ones.
CALENDAR_LIFE: dict[Chemistry, int] = {"LFP": 180, "NMC": 144}


class BatteryOptions(AdapterOptions):
    """How a system depreciates. An unknown option is refused."""

    calendar_life_months: dict[Chemistry, int] = Field(
        default_factory=lambda: dict(CALENDAR_LIFE),
        min_length=1,
        description="useful life by cell chemistry, in months",
    )
    residual: Decimal = Field(default=Decimal("0.10"), ge=0, le=1, description="residual value, a fraction of cost")


class SystemRow(BaseModel):
    """One row of the export: one storage system."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    chemistry: Chemistry
    energy_kwh: float = Field(gt=0, le=1_000_000)
    power_kw: float = Field(gt=0, le=1_000_000)
    purchase_price_usd: Decimal = Field(gt=0, max_digits=24, decimal_places=6)
    commissioned_on: date
    site: str = Field(min_length=1)


class BatteryAdapter(AssetAdapter):
    """Battery energy storage systems, read from a fleet export."""

    kind = KIND
    options_model = BatteryOptions
    options: BatteryOptions

    async def read_inventory(self, source: str | Path) -> Inventory:
        path = Path(source)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise InventoryError(f"fleet export {path} does not exist") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise InventoryError(f"fleet export {path} cannot be read: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise InventoryError(f"fleet export {path} is not valid JSON: {exc}", row=exc.lineno) from exc
        return self.parse(data)

    def parse(self, data: Any) -> Inventory:
        """Validate an export already loaded from JSON."""
        if not isinstance(data, dict):
            raise InventoryError(f"a fleet export is a JSON object with {sorted(SECTIONS)}")
        unknown = sorted(set(data) - SECTIONS)
        if unknown:
            raise InventoryError(f"unknown top-level field(s) {unknown}", field=unknown[0])
        operator = data.get("operator")
        rows = data.get("systems")
        if not isinstance(rows, list) or not rows:
            raise InventoryError("field 'systems' must be a non-empty list, one row per system", field="systems")
        assets = []
        for i, raw in enumerate(rows, start=1):
            row: SystemRow = validate_row(SystemRow, raw, "systems", i)
            record = {
                "kind": KIND,
                "vendor": row.vendor,
                "model": row.model,
                "serial": row.serial,
                "purchase_price_usd": row.purchase_price_usd,
                "purchased_on": row.commissioned_on,
                "site": row.site,
                "details": {"chemistry": row.chemistry, "energy_kwh": row.energy_kwh, "power_kw": row.power_kw},
            }
            assets.append(validate_row(AssetRecord, record, "systems", i))
        return build_inventory(KIND, operator, "systems", assets, data)

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        chemistry = str(asset.details.get("chemistry", "unknown"))
        lives: dict[str, int] = {str(k): v for k, v in self.options.calendar_life_months.items()}
        life = lives.get(chemistry, min(lives.values()))  # an unknown chemistry: the shortest life
        residual = self.options.residual
        method = f"straight-line over the {life}-month calendar life of {chemistry} cells to {residual:.0%} residual"
        return straight_line_valuation(asset, as_of, life_months=life, residual=residual, method=method)

    def example_source(self) -> Path:
        """A data centre's backup and peak-shaving fleet: six 3.9 MWh systems on two contracts."""
        return Path(str(resources.files("gaib_battery").joinpath("data", "sample_fleet.json")))
