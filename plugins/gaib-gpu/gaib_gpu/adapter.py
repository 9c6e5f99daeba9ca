"""The GPU adapter: reads a cluster's inventory export (JSON) and values its GPUs.

The export format (docs/gpu-inventory.md): an ``operator``, a list of ``gpus`` (one row per GPU: server,
vendor, model, serial, uuid, memory_gb, purchase_price_usd, purchased_on, site), the signed customer
``contracts`` with their payment history, and a ``telemetry`` snapshot per GPU.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
from gaib_sdk.underwriting import months_between, straight_line_value

KIND = "gpu"

#: Depreciation by GPU family: useful life in months and residual value as a fraction of cost.
#: Conservative against the 5-6 year book lives that hyperscalers use: rental prices of a GPU
#: generation fall fast once the next one ships.
DEPRECIATION: dict[str, tuple[int, Decimal]] = {
    "A100": (48, Decimal("0.10")),
    "H100": (48, Decimal("0.15")),
    "H200": (54, Decimal("0.15")),
    "B200": (60, Decimal("0.15")),
}
DEFAULT_DEPRECIATION = (48, Decimal("0.10"))


class GpuOptions(AdapterOptions):
    """Options of the GPU adapter."""

    depreciation: dict[str, tuple[int, Decimal]] = Field(default_factory=lambda: dict(DEPRECIATION))


class GpuRow(BaseModel):
    """One row of the export: one GPU."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    server: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    uuid: str = Field(pattern=r"^GPU-[0-9a-fA-F-]{36}$")
    memory_gb: int = Field(gt=0, le=1024)
    purchase_price_usd: Decimal = Field(gt=0, max_digits=24, decimal_places=6)
    purchased_on: date
    site: str = Field(min_length=1)


def _family(model: str) -> str | None:
    upper = model.upper()
    return next((f for f in DEPRECIATION if f in upper), None)


class GpuAdapter(AssetAdapter):
    kind = KIND
    options_model = GpuOptions
    options: GpuOptions

    async def read_inventory(self, source: str | Path) -> Inventory:
        path = Path(source)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise InventoryError(f"inventory file {path} does not exist") from exc
        except json.JSONDecodeError as exc:
            raise InventoryError(f"inventory file {path} is not valid JSON: {exc}", row=exc.lineno) from exc
        return self.parse(data)

    def parse(self, data: Any) -> Inventory:
        """Validate an export already loaded from JSON."""
        if not isinstance(data, dict):
            raise InventoryError("a GPU inventory is a JSON object with 'operator', 'gpus', 'contracts', 'telemetry'")
        unknown = set(data) - {"operator", "gpus", "contracts", "telemetry"}
        if unknown:
            raise InventoryError(f"unknown top-level field(s) {sorted(unknown)}", field=sorted(unknown)[0])
        rows = data.get("gpus")
        if not isinstance(rows, list) or not rows:
            raise InventoryError("field 'gpus' must be a non-empty list, one row per GPU", field="gpus")
        assets = []
        for i, raw in enumerate(rows, start=1):
            row: GpuRow = validate_row(GpuRow, raw, "gpus", i)
            record = {
                "kind": KIND,
                "vendor": row.vendor,
                "model": row.model,
                "serial": row.serial,
                "purchase_price_usd": row.purchase_price_usd,
                "purchased_on": row.purchased_on,
                "site": row.site,
                "details": {"server": row.server, "uuid": row.uuid, "memory_gb": row.memory_gb},
            }
            assets.append(validate_row(AssetRecord, record, "gpus", i))
        return build_inventory(KIND, data.get("operator"), "gpus", assets, data)

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        family = _family(asset.model)
        life, residual = self.options.depreciation.get(family, DEFAULT_DEPRECIATION) if family else DEFAULT_DEPRECIATION
        value = straight_line_value(
            asset.purchase_price_usd, asset.purchased_on, as_of, life_months=life, residual=residual
        )
        return AssetValuation(
            asset_id=asset.asset_id,
            serial=asset.serial,
            purchase_price_usd=asset.purchase_price_usd,
            age_months=months_between(asset.purchased_on, as_of),
            value_usd=value,
            method=f"straight-line over {life} months to {residual:.0%} residual ({family or 'unknown family'})",
        )

    def example_source(self) -> Path:
        return Path(str(resources.files("gaib_gpu").joinpath("data", "sample_cluster.json")))
