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
    GaibValueError,
    Inventory,
    InventoryError,
    build_inventory,
    validate_row,
)
from gaib_sdk.models import MarketInputs, OnDemandCapacity, OperatingCosts
from gaib_sdk.underwriting import (
    appraise_gpu,
    contract_shares,
    latest_utilisation,
    market_for,
    straight_line_valuation,
)

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

#: The most a GPU of any family earns an hour (USD): the cap on a deal's contracted revenue, 64 GPUs x 730 h x
#: $6.00 = $280,320 a month for the sample cluster. Source: the engine's GPU_MARKET table (public 2025 price
#: lists of GPU clouds such as Lambda, CoreWeave and RunPod): an H100-hour leases at ~$2-2.5 (2.7x under the
#: ceiling), an H200-hour at ~$2.5-3.5, a B200-hour at ~$3.5-6, the dearest family's top. One ceiling per kind,
#: so it is the dearest family's; a lease above it promises more than the hardware can earn.
PRICE_CEILING_USD_PER_GPU_HOUR = Decimal("6.00")

# Operating costs (docs/underwriting.md, "Operating costs"). Each figure with where it comes from:
#: A DGX H100 draws at most 10.2 kW for 8 GPUs of 0.7 kW (NVIDIA DGX H100 user guide, as quoted by
#: https://www.supercluster.blog/p/6-ai-supercluster-nvidia-dgx-h100): 1.275 kW a GPU, 82% above the board.
SERVER_OVERHEAD = Decimal("0.82")
#: Industry-average PUE 1.58 in 2023 (Uptime Institute Global Data Center Survey,
#: https://intelligence.uptimeinstitute.com/resource/large-data-centers-are-mostly-more-efficient-analysis-confirms).
PUE = Decimal("1.58")
#: Wholesale colocation $140-160 a kW a month in Tier 1 markets (https://v2-pseo-ai.pages.dev/colocation/pricing,
#: Jan 2026) and about $196 for 250-500 kW deployments in H2 2025 (https://encoradvisors.com/data-center-colocation-pricing/):
#: $175, between the two, for a cluster of a few hundred kW.
COLOCATION_USD_PER_KW_MONTH = Decimal(175)
#: Assumption (no public source found): one technician at about $150,000 a year loaded looks after about 400
#: GPUs (50 servers): $31 a GPU a month, rounded to $30.
STAFF_USD_PER_GPU_MONTH = Decimal(30)
#: Assumption (no public source found): property insurance of equipment at 0.5% of its cost a year.
INSURANCE_PER_YEAR = Decimal("0.005")
#: Assumption: spares, RMAs and repairs at 4% of the price a year, well under NVIDIA's enterprise support for a
#: DGX (about 20% of its base price a year, https://www.supercluster.blog/p/4-nvidia-dgx-h100-hardware), which
#: a neo-cloud on HGX servers does not buy.
MAINTENANCE_PER_YEAR = Decimal("0.04")


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
    market: dict[str, MarketInputs] | None = Field(
        default=None, description="market inputs by GPU family (default: the engine's GPU_MARKET table)"
    )
    discount_rate: Decimal = Field(default=Decimal("0.15"), ge=0, le=1, description="a year, for the income value")
    usd_per_kwh: Decimal = Field(default=Decimal("0.10"), ge=0, description="the site's power price")
    server_overhead: Decimal = Field(
        default=SERVER_OVERHEAD,
        ge=0,
        le=5,
        description="the server's draw (CPUs, NICs, fans), a share of the boards'",
    )
    pue: Decimal = Field(default=PUE, ge=1, le=3, description="the site's power usage effectiveness")
    colocation_usd_per_kw_month: Decimal = Field(
        default=COLOCATION_USD_PER_KW_MONTH, ge=0, description="colocation a kW of IT load a month"
    )
    staff_usd_per_gpu_month: Decimal = Field(default=STAFF_USD_PER_GPU_MONTH, ge=0, description="operations staff")
    insurance_per_year: Decimal = Field(
        default=INSURANCE_PER_YEAR, ge=0, le=1, description="a year, as a share of the purchase price"
    )
    maintenance_per_year: Decimal = Field(
        default=MAINTENANCE_PER_YEAR, ge=0, le=1, description="spares and repairs a year, a share of the price"
    )
    facility_usd_per_gpu_month: Decimal = Field(
        default=Decimal(0), ge=0, description="any other fixed cost, a GPU a month"
    )
    default_utilisation: Decimal = Field(default=Decimal("0.5"), ge=0, le=1, description="for a GPU without telemetry")


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

    def _markets(self, inventory: Inventory) -> list[MarketInputs | None]:
        """Each GPU's family market inputs, with this adapter's depreciation; None for an unknown family."""
        by_model: dict[str, MarketInputs | None] = {}
        for model in {a.model for a in inventory.assets}:
            try:
                market = market_for(model, self.options.market)
            except GaibValueError:
                by_model[model] = None
                continue
            family = _family(model)
            life, residual = (
                self.options.depreciation.get(family, DEFAULT_DEPRECIATION) if family else DEFAULT_DEPRECIATION
            )
            by_model[model] = market.model_copy(update={"useful_life_months": life, "residual": residual})
        return [by_model[a.model] for a in inventory.assets]

    def _mean_utilisation(self, inventory: Inventory) -> Decimal:
        readings = latest_utilisation(inventory, default=self.options.default_utilisation).values()
        return sum(readings, Decimal(0)) / len(inventory.assets)

    def appraise_inventory(self, inventory: Inventory, as_of: date) -> list[AssetValuation]:
        """Each GPU at the lower of its depreciated cost and its income value: its share of the signed
        leases (pro rata to purchase price) while they run, the market rate at its latest utilisation on
        the capacity they leave, less power and facility, discounted over its remaining life. A GPU of a
        family without market inputs is valued at depreciated cost only."""
        markets = self._markets(inventory)
        horizon = max((m.useful_life_months for m in markets if m is not None), default=0)
        # no GPU earns more than its 730 hours at the price ceiling, whatever its share of the leases
        shares = contract_shares(inventory, as_of, horizon, cap_usd_per_unit_month=self.price_ceiling(inventory) * 730)
        utilisation = latest_utilisation(inventory, default=self.options.default_utilisation)
        out = []
        done: dict[tuple[Any, ...], AssetValuation] = {}  # a cluster is mostly alike GPUs: value each kind once
        for asset, market, share in zip(inventory.assets, markets, shares, strict=True):
            if market is None:
                out.append(self.appraise(asset, as_of))
                continue
            # the share of the contracts follows the price, so these decide the valuation
            key = (market, asset.purchase_price_usd, asset.purchased_on, utilisation[asset.serial])
            if key in done:  # the asset id is a keccak: computed once, here
                out.append(done[key].model_copy(update={"asset_id": asset.asset_id, "serial": asset.serial}))
                continue
            done[key] = appraise_gpu(
                asset,
                as_of,
                utilisation=utilisation[asset.serial],
                market=market,
                discount_rate=self.options.discount_rate,
                usd_per_kwh=self.options.usd_per_kwh,
                facility_usd_per_month=self._fixed_per_gpu(market.power_kw, asset.purchase_price_usd),
                contracted_usd=share,
                power_factor=(1 + self.options.server_overhead) * self.options.pue,
            )
            out.append(done[key])
        return out

    def _fixed_per_gpu(self, board_kw: Decimal, price: Decimal) -> Decimal:
        """One GPU's fixed costs a month: colocation on its IT kW, staff, insurance, maintenance, the rest."""
        o = self.options
        return (
            board_kw * (1 + o.server_overhead) * o.colocation_usd_per_kw_month
            + o.staff_usd_per_gpu_month
            + price * (o.insurance_per_year + o.maintenance_per_year) / 12
            + o.facility_usd_per_gpu_month
        )

    def operating_costs(self, inventory: Inventory, as_of: date) -> OperatingCosts:
        """Power at the families' mean board power with the server's overhead and the site's PUE, at the GPUs'
        mean utilisation; colocation on the IT load; staff a GPU; insurance and maintenance on the price."""
        n = len(inventory.assets)
        o = self.options
        power = sum((m.power_kw for m in self._markets(inventory) if m is not None), Decimal(0)) / n
        price = sum((a.purchase_price_usd for a in inventory.assets), Decimal(0))
        return OperatingCosts(
            units=n,
            unit="GPU",
            power_kw_per_unit=power,
            usd_per_kwh=o.usd_per_kwh,
            utilisation=self._mean_utilisation(inventory),
            server_overhead=o.server_overhead,
            pue=o.pue,
            colocation_usd_per_kw_month=o.colocation_usd_per_kw_month,
            staff_usd_per_month=o.staff_usd_per_gpu_month * n,
            insurance_usd_per_month=price * o.insurance_per_year / 12,
            maintenance_usd_per_month=price * o.maintenance_per_year / 12,
            facility_usd_per_month=o.facility_usd_per_gpu_month * n,
        )

    def on_demand(self, inventory: Inventory, as_of: date) -> OnDemandCapacity | None:
        """The GPUs the leases do not cover, month by month, sold by the hour at the families' mean market
        rate (falling at their mean decline) and the GPUs' mean utilisation."""
        markets = [m for m in self._markets(inventory) if m is not None]
        if not markets:
            return None
        n = len(markets)
        return OnDemandCapacity(
            units=len(inventory.assets),
            usd_per_unit_hour=sum((m.rental_usd_per_gpu_hour for m in markets), Decimal(0)) / n,
            unit="GPU",
            utilisation=self._mean_utilisation(inventory),
            rental_decline_per_year=sum((m.rental_decline_per_year for m in markets), Decimal(0)) / n,
            net_of_contracts=True,
        )

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        """Depreciated cost alone (one record holds no contracts or telemetry): see :meth:`appraise_inventory`."""
        family = _family(asset.model)
        life, residual = self.options.depreciation.get(family, DEFAULT_DEPRECIATION) if family else DEFAULT_DEPRECIATION
        return straight_line_valuation(
            asset,
            as_of,
            life_months=life,
            residual=residual,
            method=f"straight-line over {life} months to {residual:.0%} residual ({family or 'unknown family'})",
        )

    def price_ceiling(self, inventory: Inventory) -> Decimal:
        """:data:`PRICE_CEILING_USD_PER_GPU_HOUR`, whatever the inventory."""
        return PRICE_CEILING_USD_PER_GPU_HOUR

    def example_source(self) -> Path:
        return Path(str(resources.files("gaib_gpu").joinpath("data", "sample_cluster.json")))
