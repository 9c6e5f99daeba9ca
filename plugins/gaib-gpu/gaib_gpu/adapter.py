"""The GPU adapter: reads a cluster's inventory and values its GPUs.

The export format (docs/gpu-inventory.md): an ``operator``, a list of ``gpus`` (one row per GPU: server,
vendor, model, serial, uuid, memory_gb, purchase_price_usd, purchased_on, site), the signed customer
``contracts`` with their payment history, and a ``telemetry`` snapshot per GPU. It is read from a JSON
file, a CSV file, this host's NVML or a DCGM exporter (:mod:`gaib_gpu.sources`); whichever it came from,
it is validated here, row by row.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gaib_gpu.sources import is_dcgm, is_nvml
from gaib_gpu.sources.dcgm import DcgmOptions, scrape, telemetry_rows
from gaib_gpu.sources.files import read_inventory_file
from gaib_gpu.sources.nvml import NvmlOptions, read_nvml
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
    operator: str | None = Field(
        default=None, description="the operator, where the source does not name it (a CSV, NVML)"
    )
    serials: dict[str, str] = Field(
        default={}, description="board serials by GPU UUID, for NVML and DCGM where they cannot read them"
    )
    nvml: NvmlOptions | None = Field(default=None, description="what NVML cannot know, to read source 'nvml'")
    dcgm: DcgmOptions | None = Field(default=None, description="the inventory file, to read a DCGM exporter")


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
        """Read ``source``: ``"nvml"`` (this host's GPUs), an ``http://`` URL (a DCGM exporter's metrics,
        with the inventory file of option ``dcgm``), a ``.csv`` path, or a JSON export's path."""
        if is_nvml(source):
            data = await asyncio.to_thread(read_nvml, self.options.nvml, self.options.operator, self.options.serials)
            return self.parse(data)
        if is_dcgm(source):
            return await self._read_dcgm(str(source).strip())
        return self.parse(read_inventory_file(Path(source), self.options.operator))

    async def _read_dcgm(self, url: str) -> Inventory:
        options = self.options.dcgm
        if options is None:
            raise InventoryError(
                f"reading the DCGM exporter at {url} needs the adapter option dcgm: {{inventory: PATH}}, the file "
                "that describes its GPUs (an exporter reports no purchase price or contract)",
                field="dcgm",
            )
        data = read_inventory_file(options.inventory, self.options.operator)
        base = self.parse(data)  # the file's own errors first, named by its rows
        serial_of_uuid = {str(a.details["uuid"]): a.serial for a in base.assets} | self.options.serials
        found = await scrape([url, *options.endpoints], options.timeout_s)
        return self.parse({**data, "telemetry": [*data.get("telemetry", []), *telemetry_rows(found, serial_of_uuid)]})

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
        return straight_line_valuation(
            asset,
            as_of,
            life_months=life,
            residual=residual,
            method=f"straight-line over {life} months to {residual:.0%} residual ({family or 'unknown family'})",
        )

    def example_source(self) -> Path:
        return Path(str(resources.files("gaib_gpu").joinpath("data", "sample_cluster.json")))
