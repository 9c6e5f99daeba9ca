"""The robot adapter: cleaning robots (Primech-style) rented to customers as Robot-as-a-Service.

The inventory (docs/robot-fleets.md) has three sections: ``robots`` (serial, model, vendor, site, status,
purchase_price_usd, purchased_on), ``statuses`` (one per robot: uptime_ratio, cleaning_cycles_30d,
battery_health, last_seen) and the RaaS ``contracts`` (customer, signed_on, starts_on, term_months,
monthly_fee_usd, the serials of their robots, and their payments). It is read from an operator's fleet API
over HTTP (:mod:`gaib_robots.fleet`) or from a JSON file with an ``operator`` and the same three sections;
wherever it came from, it is validated here, row by row.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gaib_robots.fleet import read_fleet
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
from gaib_sdk.models import OnDemandCapacity, OperatingCosts, StressScenario
from gaib_sdk.underwriting import (
    HOURS_PER_MONTH,
    contract_shares,
    contracted_income_valuation,
    running_contracts,
    straight_line_valuation,
)

__all__ = [
    "KIND",
    "PRICE_CEILING_USD_PER_ROBOT_HOUR",
    "ContractRow",
    "RobotAdapter",
    "RobotOptions",
    "RobotRow",
    "StatusRow",
]

KIND = "robot"
SECTIONS = {"operator", "robots", "statuses", "contracts"}
#: The statuses in which a robot works, or is ready to: healthy if its battery holds (``battery_health``
#: at least :data:`MIN_BATTERY_HEALTH`).
WORKING = ("active", "charging")
MIN_BATTERY_HEALTH = 0.5
#: The most a cleaning robot earns an hour on a RaaS contract (USD): the cap on a deal's contracted revenue,
#: 12 robots x 730 h x $5.00 = $43,800 a month for the sample fleet. Source: RaaS fees of commercial cleaning
#: robots are in the order of $1,000-2,500 a robot a month (operators' published RaaS plans, e.g. Primech's
#: HYTRON and Avidbots' Neo, 2024-2025 press), $1.4-3.4 an hour of a 730-hour month; the sample fleet's
#: contracts pay $1.15-2.67. The ceiling is about twice the top of that range.
PRICE_CEILING_USD_PER_ROBOT_HOUR = Decimal("5.00")

# Operating costs of a cleaning robot, in robots and robot-hours. No public source was found for these: each is
# an assumption, with its reasoning, for a plugin author to replace with the fleet's own figures.
#: Assumption: a commercial scrubber's batteries take about 0.4 kW on charge, drawn in the hours it works.
ROBOT_POWER_KW = Decimal("0.4")
#: Assumption: commercial power at $0.15 a kWh (the robots charge at the customer's site, billed back).
ROBOT_USD_PER_KWH = Decimal("0.15")
#: Assumption: equipment insurance at 1% of the price a year (a robot works in public spaces).
ROBOT_INSURANCE_PER_YEAR = Decimal("0.01")
#: Assumption: a robot a lost customer frees is redeployed to a new site, by the robot-hour, at 80% of the
#: fleet's contracted rate and half its hours sold, after six months of finding the site.
RELET_DISCOUNT = Decimal("0.8")
RELET_UTILISATION = Decimal("0.5")
RELET_LAG_MONTHS = 6

#: The robot class's stress scenarios (:meth:`RobotAdapter.stress_scenarios`): a RaaS fleet's shocks are lost
#: sites, lower uptime and fees re-priced lower, not GPU rents.
ROBOT_SCENARIOS: tuple[StressScenario, ...] = (
    StressScenario(name="base"),
    StressScenario(name="robot-hour rates fall 30% a year more", rental_decline_per_year=Decimal("0.3")),
    StressScenario(name="uptime 30 points lower", utilisation_drop=Decimal("0.3")),
    StressScenario(
        name="the largest customer leaves, robots redeployed after 6 months",
        customers_lost=1,
        relet_lag_months=RELET_LAG_MONTHS,
    ),
    StressScenario(name="borrower default at month 6, 40% haircut", default_month=6, recovery_haircut=Decimal("0.4")),
    StressScenario(
        name="severe: rates -30%/yr more, uptime -30 points, default at month 9, 50% haircut",
        rental_decline_per_year=Decimal("0.3"),
        utilisation_drop=Decimal("0.3"),
        default_month=9,
        recovery_haircut=Decimal("0.5"),
        severe=True,
    ),
)


class RobotOptions(AdapterOptions):
    """Options of the robot adapter."""

    operator: str | None = Field(default=None, description="the operator, to read a fleet API (which does not name it)")
    timeout_s: float = Field(default=10.0, gt=0, description="the timeout of each request to the fleet API")
    life_months: int = Field(default=60, ge=1, le=240, description="the useful life of a robot, in months")
    residual: Decimal = Field(
        default=Decimal("0.10"), ge=0, le=1, description="the value at the end of its life, as a fraction of cost"
    )
    discount_rate: Decimal = Field(default=Decimal("0.15"), ge=0, le=1, description="a year, for the income value")
    service_usd_per_month: Decimal = Field(
        default=Decimal(0), ge=0, description="what servicing one robot costs a month, taken off its fees"
    )


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RobotRow(_Row):
    """One row of ``robots``: one robot."""

    serial: str = Field(min_length=1)
    model: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    site: str = Field(min_length=1)
    status: Literal["active", "charging", "fault", "offline"]
    purchase_price_usd: Decimal = Field(gt=0, max_digits=24, decimal_places=6)
    purchased_on: date


class StatusRow(_Row):
    """One row of ``statuses``: what the fleet API last heard from one robot."""

    serial: str = Field(min_length=1)
    uptime_ratio: float = Field(ge=0, le=1)
    cleaning_cycles_30d: int = Field(ge=0)
    battery_health: float = Field(ge=0, le=1)
    last_seen: AwareDatetime


class ContractRow(_Row):
    """One row of ``contracts``: a RaaS contract. Its payments are validated as CustomerContract's."""

    customer: str = Field(min_length=1)
    signed_on: date
    starts_on: date
    term_months: int = Field(ge=1, le=120)
    monthly_fee_usd: Decimal = Field(ge=0, max_digits=24, decimal_places=6)
    robots: list[str] = Field(min_length=1)
    payments: list[Any] = []


def _read_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InventoryError(f"inventory file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise InventoryError(f"inventory file {path} is a directory") from exc
    except UnicodeDecodeError as exc:
        raise InventoryError(f"inventory file {path} is not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InventoryError(f"inventory file {path} is not valid JSON: {exc}", row=exc.lineno) from exc


def _is_url(source: str | Path) -> bool:
    return isinstance(source, str) and source.strip().lower().startswith(("http://", "https://"))


def _rows(data: dict[str, Any], section: str, required: bool = False) -> list[Any]:
    rows = data.get(section, [])
    if not isinstance(rows, list) or (required and not rows):
        kind = "a non-empty list" if required else "a list"
        raise InventoryError(f"field {section!r} must be {kind}, one row each", field=section)
    return rows


class RobotAdapter(AssetAdapter):
    kind = KIND
    options_model = RobotOptions
    options: RobotOptions

    async def read_inventory(self, source: str | Path) -> Inventory:
        """Read ``source``: an ``http://`` or ``https://`` URL, the base of a fleet API (with the adapter
        option ``operator``), or the path of a JSON file."""
        if _is_url(source):
            url = str(source).strip()
            if not self.options.operator:
                raise InventoryError(
                    f"reading the fleet API at {url} needs the adapter option operator (the API does not name it)",
                    field="operator",
                )
            data = await read_fleet(url, self.options.timeout_s, self._serials)
            return self.parse({"operator": self.options.operator, **data})
        data = _read_file(Path(source))
        if isinstance(data, dict) and "operator" not in data and self.options.operator:
            data = {"operator": self.options.operator, **data}
        return self.parse(data)

    @staticmethod
    def _serials(rows: list[Any]) -> list[str]:
        return [validate_row(RobotRow, raw, "robots", i).serial for i, raw in enumerate(rows, 1)]

    def parse(self, data: Any) -> Inventory:
        """Validate an inventory already loaded from JSON (or gathered from a fleet API)."""
        if not isinstance(data, dict):
            raise InventoryError(
                "a robot inventory is a JSON object with 'operator', 'robots', 'statuses', 'contracts'"
            )
        unknown = set(data) - SECTIONS
        if unknown:
            raise InventoryError(f"unknown top-level field(s) {sorted(unknown)}", field=sorted(unknown)[0])

        robots: dict[str, RobotRow] = {}
        assets = []
        for i, raw in enumerate(_rows(data, "robots", required=True), 1):
            robot = validate_row(RobotRow, raw, "robots", i)
            if robot.serial in robots:
                raise InventoryError(
                    f"robots row {i}, field 'serial': {robot.serial!r} appears twice",
                    row=i,
                    field=f"robots[{i - 1}].serial",
                )
            robots[robot.serial] = robot

        statuses: dict[str, StatusRow] = {}
        for i, raw in enumerate(_rows(data, "statuses"), 1):
            status = validate_row(StatusRow, raw, "statuses", i)
            if status.serial not in robots:
                raise InventoryError(
                    f"statuses row {i}, field 'serial': {status.serial!r} is not in robots",
                    row=i,
                    field=f"statuses[{i - 1}].serial",
                )
            statuses[status.serial] = status

        for i, robot in enumerate(robots.values(), 1):
            # The record holds what does not change (its hash goes on-chain and must match at financing);
            # the robot's status and readings go to its telemetry.
            record = {
                "kind": KIND,
                "vendor": robot.vendor,
                "model": robot.model,
                "serial": robot.serial,
                "purchase_price_usd": robot.purchase_price_usd,
                "purchased_on": robot.purchased_on,
                "site": robot.site,
            }
            assets.append(validate_row(AssetRecord, record, "robots", i))

        telemetry = [
            {
                "serial": s.serial,
                "observed_at": s.last_seen.isoformat(),
                "healthy": robots[s.serial].status in WORKING and s.battery_health >= MIN_BATTERY_HEALTH,
                "utilisation": s.uptime_ratio,
                "metrics": {"cleaning_cycles_30d": float(s.cleaning_cycles_30d), "battery_health": s.battery_health},
            }
            for s in statuses.values()
        ]

        contracts = []
        for i, raw in enumerate(_rows(data, "contracts"), 1):
            row = validate_row(ContractRow, raw, "contracts", i)
            for serial in row.robots:
                if serial not in robots:
                    raise InventoryError(
                        f"contracts row {i}, field 'robots': robot {serial!r} is not in robots",
                        row=i,
                        field=f"contracts[{i - 1}].robots",
                    )
            contracts.append(
                {
                    "customer": row.customer,
                    "signed_on": row.signed_on,
                    "starts_on": row.starts_on,
                    "term_months": row.term_months,
                    "monthly_revenue_usd": row.monthly_fee_usd,
                    "payments": row.payments,
                }
            )
        return build_inventory(
            KIND, data.get("operator"), "robots", assets, {"contracts": contracts, "telemetry": telemetry}
        )

    def appraise_inventory(self, inventory: Inventory, as_of: date) -> list[AssetValuation]:
        """Each robot at the lower of its depreciated cost and its income value: its share of the RaaS fees
        (pro rata to purchase price) until the last contract ends, less servicing, plus the depreciated
        hardware then, discounted. A fleet without contracts is valued at depreciated cost."""
        life, residual = self.options.life_months, self.options.residual
        shares = contract_shares(inventory, as_of, life)
        return [
            contracted_income_valuation(
                asset,
                as_of,
                contracted_usd=share,
                life_months=life,
                residual=residual,
                discount_rate=self.options.discount_rate,
                operating_usd_per_month=self.options.service_usd_per_month,
            )
            for asset, share in zip(inventory.assets, shares, strict=True)
        ]

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        """Depreciated cost alone (one record holds no contracts): see :meth:`appraise_inventory`."""
        life, residual = self.options.life_months, self.options.residual
        return straight_line_valuation(asset, as_of, life_months=life, residual=residual)

    def _uptime(self, inventory: Inventory) -> Decimal:
        readings = [Decimal(str(t.utilisation)) for t in inventory.latest_telemetry().values()]
        return sum(readings, Decimal(0)) / len(readings) if readings else Decimal(1)

    def operating_costs(self, inventory: Inventory, as_of: date) -> OperatingCosts:
        """In robots: charging power in the hours worked (mean uptime), servicing (option
        ``service_usd_per_month``) as maintenance, insurance on the price; no colocation or staff (the robots
        work at the customers' sites, cleaned up after by the operator's service visits)."""
        n = len(inventory.assets)
        price = sum((a.purchase_price_usd for a in inventory.assets), Decimal(0))
        return OperatingCosts(
            units=n,
            unit="robot",
            power_kw_per_unit=ROBOT_POWER_KW,
            usd_per_kwh=ROBOT_USD_PER_KWH,
            utilisation=self._uptime(inventory),
            maintenance_usd_per_month=self.options.service_usd_per_month * n,
            insurance_usd_per_month=price * ROBOT_INSURANCE_PER_YEAR / 12,
        )

    def on_demand(self, inventory: Inventory, as_of: date) -> OnDemandCapacity | None:
        """Robots no contract covers, redeployed by the robot-hour at :data:`RELET_DISCOUNT` of the running
        contracts' mean rate, :data:`RELET_UTILISATION` of the hours sold; none without a running contract."""
        running = running_contracts(inventory.contracts, as_of)
        if not running:
            return None
        rate = sum((c.monthly_revenue_usd for c in running), Decimal(0)) / (len(inventory.assets) * HOURS_PER_MONTH)
        return OnDemandCapacity(
            units=len(inventory.assets),
            usd_per_unit_hour=(rate * RELET_DISCOUNT).quantize(Decimal("0.000001")),
            utilisation=RELET_UTILISATION,
            net_of_contracts=True,
            unit="robot",
        )

    def stress_scenarios(self, inventory: Inventory, as_of: date) -> list[StressScenario]:
        """:data:`ROBOT_SCENARIOS`: lost sites, lower uptime, robot-hour rates falling, defaults."""
        return list(ROBOT_SCENARIOS)

    def price_ceiling(self, inventory: Inventory) -> Decimal:
        """:data:`PRICE_CEILING_USD_PER_ROBOT_HOUR`, whatever the inventory."""
        return PRICE_CEILING_USD_PER_ROBOT_HOUR

    def example_source(self) -> Path:
        return Path(str(resources.files("gaib_robots").joinpath("data", "sample_fleet.json")))
