"""A third-party asset class written in this script: solar inverters, digitized on the embedded EVM.

    python examples/custom_asset_class.py

A plugin is any object with ``@hookimpl`` hooks. This one registers ``SolarAdapter``, an AssetAdapter with
kind "solar": it reads a small JSON export (written to a temp file below), values each inverter by
straight-line depreciation, and takes its options from a pydantic model that refuses unknown fields.
It is passed to the client with ``Gaib.embedded(plugins=(SolarPlugin(),))``; installed as a package it
would instead name itself in the "gaib_sdk" entry-point group (see docs/plugin-authors.md).
"""

import asyncio
import json
import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gaib_sdk import (
    AdapterOptions,
    AssetAdapter,
    AssetRecord,
    AssetValuation,
    CustomerContract,
    Gaib,
    Inventory,
    InventoryError,
    Telemetry,
    hookimpl,
)
from gaib_sdk.underwriting import straight_line_valuation

AS_OF = date(2026, 11, 25)


class SolarOptions(AdapterOptions):
    """Depreciation of an inverter: useful life and residual value as a fraction of cost."""

    life_months: int = Field(default=120, ge=12, le=360)
    residual: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)


class InverterRow(BaseModel):
    """One row of the export."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    vendor: str = Field(min_length=1)
    model: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    rated_kw: float = Field(gt=0)
    purchase_price_usd: Decimal = Field(gt=0, decimal_places=6)
    purchased_on: date
    site: str = Field(min_length=1)


class SolarAdapter(AssetAdapter):
    kind = "solar"
    options_model = SolarOptions
    options: SolarOptions

    async def read_inventory(self, source: str | Path) -> Inventory:
        data = json.loads(Path(source).read_text())
        assets = []
        for row, raw in enumerate(data["inverters"], start=1):
            try:
                inv = InverterRow.model_validate(raw)
            except ValidationError as exc:
                raise InventoryError(f"inverters row {row}: {exc.errors()[0]['msg']}", row=row) from exc
            assets.append(
                AssetRecord(
                    kind=self.kind,
                    vendor=inv.vendor,
                    model=inv.model,
                    serial=inv.serial,
                    purchase_price_usd=inv.purchase_price_usd,
                    purchased_on=inv.purchased_on,
                    site=inv.site,
                    details={"rated_kw": inv.rated_kw},
                )
            )
        return Inventory(
            kind=self.kind,
            operator=data["operator"],
            assets=assets,
            contracts=[CustomerContract.model_validate(c) for c in data["contracts"]],
            telemetry=[Telemetry.model_validate(t) for t in data["telemetry"]],
        )

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        o = self.options
        return straight_line_valuation(asset, as_of, life_months=o.life_months, residual=o.residual)


class SolarPlugin:
    """The plugin: its hooks only register classes."""

    @hookimpl
    def register_asset_adapters(self, register: Callable[[type[Any]], None]) -> None:
        register(SolarAdapter)


def export() -> dict[str, Any]:
    """Three inverters on one rooftop, and the power purchase agreement that pays for them."""
    serials = ["SE-7F3A-0001", "SE-7F3A-0002", "SE-7F3A-0003"]
    payments = [
        {"due_on": f"2026-{m:02d}-01", "amount_usd": "2400.00", "paid_on": f"2026-{m:02d}-04"} for m in range(6, 12)
    ]
    return {
        "operator": "Sunfield Rooftops BV",
        "inverters": [
            {
                "vendor": "SolarEdge",
                "model": "SE100K",
                "serial": s,
                "rated_kw": 100.0,
                "purchase_price_usd": "18500.00",
                "purchased_on": "2026-03-01",
                "site": "Rotterdam warehouse 4",
            }
            for s in serials
        ],
        "contracts": [
            {
                "customer": "Harbour Cold Storage",
                "signed_on": "2026-04-15",
                "starts_on": "2026-05-01",
                "term_months": 120,
                "monthly_revenue_usd": "2400.00",
                "payments": payments,
            }
        ],
        "telemetry": [
            {
                "serial": s,
                "observed_at": "2026-11-20T12:00:00Z",
                "healthy": True,
                "utilisation": 0.64,
                "metrics": {"ac_power_kw": 64.0, "temperature_c": 41.5},
            }
            for s in serials
        ],
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "inverters.json"
        source.write_text(json.dumps(export(), indent=1))

        async with await Gaib.embedded(plugins=(SolarPlugin(),)) as admin:
            print(f"asset classes: {', '.join(sorted(admin.plugins.asset_adapters()))}")
            operator = admin.with_account(1)
            await admin.admin.authorize_registrar(operator.address)

            inventory = await operator.assets.read_inventory("solar", source)
            result = await operator.digitize("solar", inventory)
            print(f"digitized {len(result.asset_ids)} solar inverters of {inventory.operator}:")
            for asset in inventory.assets:
                on_chain = await admin.assets.get(asset.asset_id)
                assert on_chain["record_hash"] == asset.record_hash
                print(f"  {asset.serial}  {asset.asset_id}  {on_chain['kind']} {on_chain['status']}")

            again = await operator.digitize("solar", inventory, skip_registered=True)
            print(f"digitized again: {len(again.asset_ids)} new, {len(again.already_registered)} already registered")

            # One power purchase agreement pays everything: the lender accepts a single offtaker explicitly
            # (CreditPolicy.max_customer_share is 80% by default), and reports the stress test rather than
            # enforcing it (if that one customer leaves, nothing re-lets the inverters).
            single = {"max_customer_share": 1}
            quote = await admin.deals.quote("solar", inventory, as_of=AS_OF, policy=single, stress={"enforce": False})
            print(
                f"quote: appraised {quote.appraised_value_usd:,.2f} USDC, advance {quote.advance_usd:,.2f} USDC "
                f"(cover {quote.cover}x) on {quote.valuations[0].method}"
            )
            assert quote.stress is not None
            print(f"stress test passed: {quote.stress.passed} (worst: {quote.stress.worst_scenario})")

            # Options are validated by the options model: a shorter life lowers the value, an unknown
            # option is refused.
            short = admin.assets.adapter("solar", {"life_months": 60})
            print(f"with life_months=60: {short.appraise(inventory.assets[0], AS_OF).value_usd:,.2f} USDC each")
            try:
                admin.assets.adapter("solar", {"life_years": 10})
            except ValueError as exc:  # today a pydantic ValidationError, which is a ValueError
                print(f"unknown option refused: {' '.join(line.strip() for line in str(exc).splitlines()[:3])}")


if __name__ == "__main__":
    asyncio.run(main())
