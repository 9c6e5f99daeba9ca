"""The base classes that plugins implement: an AssetAdapter per asset class, a Venue per DeFi venue."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gaib_sdk.errors import GaibConfigError, GaibValueError, InventoryError
from gaib_sdk.models import (
    AssetRecord,
    AssetValuation,
    CustomerContract,
    Inventory,
    MarketPrice,
    OnDemandCapacity,
    OperatingCosts,
    ResidualCurve,
    StressScenario,
    Telemetry,
    VenuePosition,
    VenueQuote,
)

if TYPE_CHECKING:
    from gaib_sdk.client import Gaib

__all__ = ["AdapterOptions", "AssetAdapter", "MarketPriceSource", "Venue", "build_inventory", "validate_row"]

M = TypeVar("M", bound=BaseModel)


def validate_row(model: type[M], raw: Any, section: str, row: int) -> M:
    """Validate one row of an export's ``section`` (``row`` counts from 1). A bad row raises
    InventoryError naming the section, the row and the field, e.g. ``gpus row 3, field 'serial'``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(row)"
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict | list) else ""
        msg = err["msg"].removeprefix("Value error, ")  # a validator's own message says what is wrong
        raise InventoryError(
            f"{section} row {row}, field {field!r}: {msg}{got}", row=row, field=f"{section}[{row - 1}].{field}"
        ) from exc


def build_inventory(
    kind: str, operator: Any, section: str, assets: list[AssetRecord], data: dict[str, Any]
) -> Inventory:
    """The Inventory of an export: its assets (already validated from ``section``), and its ``contracts``
    and ``telemetry`` sections validated row by row. Anything wrong is an InventoryError naming it: a
    payment dated before its contract was signed, a reading of a serial that is not among the assets."""
    if not isinstance(operator, str) or not operator.strip():
        raise InventoryError("field 'operator' must name the operator", field="operator")
    for name in ("contracts", "telemetry"):
        if not isinstance(data.get(name, []), list):
            raise InventoryError(f"field {name!r} must be a list, one row each", field=name)
    contracts = [
        validate_row(CustomerContract, raw, "contracts", i) for i, raw in enumerate(data.get("contracts", []), 1)
    ]
    telemetry = [validate_row(Telemetry, raw, "telemetry", i) for i, raw in enumerate(data.get("telemetry", []), 1)]
    try:
        return Inventory(kind=kind, operator=operator, assets=assets, contracts=contracts, telemetry=telemetry)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        serials = {a.serial for a in assets}
        stray = next((i for i, t in enumerate(telemetry, 1) if t.serial not in serials), None)
        if field == "telemetry" and stray is not None:  # Inventory refuses a reading of no asset: name its row
            raise InventoryError(
                f"telemetry row {stray}, field 'serial': {telemetry[stray - 1].serial!r} is not the serial of any "
                f"asset of the inventory (its {section}): add the asset, or drop the reading",
                row=stray,
                field=f"telemetry[{stray - 1}].serial",
            ) from exc
        if field.startswith("assets"):
            field = section + field[len("assets") :]
        raise InventoryError(f"field {field!r}: {err['msg']}", field=field) from exc


class AdapterOptions(BaseModel):
    """Options of an adapter. Subclass it; unknown options are refused."""

    model_config = ConfigDict(extra="forbid")


def _options(model: type[AdapterOptions], options: AdapterOptions | dict[str, Any] | None, owner: str) -> Any:
    if isinstance(options, model):
        return options
    try:
        return model.model_validate(options or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise GaibValueError(f"{owner} option {field!r}: {err['msg']}") from exc


class AssetAdapter(ABC):
    """Reads one asset class's inventory from its sources and values its assets.

    Subclasses set ``kind`` (the name users pass, e.g. ``"gpu"``) and may set ``options_model``.
    """

    kind: ClassVar[str]
    options_model: ClassVar[type[AdapterOptions]] = AdapterOptions

    def __init__(self, options: AdapterOptions | dict[str, Any] | None = None):
        self.options = _options(self.options_model, options, f"{self.kind!r} adapter")

    @abstractmethod
    async def read_inventory(self, source: str | Path) -> Inventory:
        """Read and validate an inventory from ``source`` (a file path, a URL: the adapter says which).
        Raise InventoryError naming the row and field of anything malformed."""

    @abstractmethod
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        """Value one asset as of a date."""

    def appraise_inventory(self, inventory: Inventory, as_of: date) -> list[AssetValuation]:
        """Value every asset of an inventory, in order, as of a date. Override it where a value needs more
        than one record (the signed contracts, the telemetry): the GPU adapter takes the lower of
        depreciated cost and income. By default, :meth:`appraise` of each asset."""
        return [self.appraise(a, as_of) for a in inventory.assets]

    def operating_costs(self, inventory: Inventory, as_of: date) -> OperatingCosts:
        """What running the inventory costs a month, in the adapter's unit (``OperatingCosts.unit``), for the
        income value and the stress test's cash flows: power (with the host's overhead and the site's PUE),
        colocation, staff, insurance, maintenance. By default nothing at the assets' mean utilisation: override
        it, with the source of each figure."""
        readings = [Decimal(str(t.utilisation)) for t in inventory.telemetry]
        utilisation = sum(readings, Decimal(0)) / len(readings) if readings else Decimal(1)
        return OperatingCosts(
            units=len(inventory.assets), power_kw_per_unit=Decimal(0), usd_per_kwh=Decimal(0), utilisation=utilisation
        )

    def on_demand(self, inventory: Inventory, as_of: date) -> OnDemandCapacity | None:
        """The capacity the leases do not take, sold by the hour, for the stress test's cash flows. By
        default none: only the signed contracts pay."""
        return None

    def example_source(self) -> Path | None:
        """A sample inventory shipped with the plugin, for the quickstart and the conformance suite."""
        return None

    def stress_scenarios(self, inventory: Inventory, as_of: date) -> list[StressScenario] | None:
        """The stress scenarios of this asset class, where the engine's standard set (which speaks of GPU
        rents) does not fit: its own shocks to the market rate of a unit-hour, utilisation, customers lost and
        the re-letting lag. Used unless the stress policy names its own. By default None: the standard set."""
        return None

    def price_ceiling(self, inventory: Inventory) -> Decimal:
        """The most, in USD, that one unit of this kind (a GPU, a robot) can earn an hour: the cap on a deal's
        contracted revenue, units x 730 hours x this ceiling a month, checked by the quote and set once per kind
        in the LeaseRegistry (where the chain enforces it). Set it well above the market rate, with its source:
        it refuses leases no hardware could earn, not dear ones. By default, the mean purchase price of the
        inventory's units recovered in a year of hours (price / 8,760): hardware that earns its own cost back in
        under a year is not what a lease describes. Override it with your market's figure."""
        prices = [a.purchase_price_usd for a in inventory.assets]
        return (sum(prices, Decimal(0)) / len(prices) / 8_760).quantize(Decimal("0.000001"))


class MarketPriceSource(ABC):
    """What the market says one unit of a hardware model is worth: an independent check on the borrower's
    invoice. Registered with the ``register_market_prices`` hook, one per ``kind`` (the kind of the adapter
    whose assets it prices); the quote values each asset at the lower of its depreciated cost, its market
    value and its income value, and refuses a stated purchase price far above the market's new price.

    Subclasses set ``kind`` and implement :meth:`price`; they may set ``options_model`` (where to read a newer
    table, say) and override :meth:`residual_curve`. A price is a pure function of the model, ``as_of`` and
    the options: never of the wall clock."""

    kind: ClassVar[str]
    options_model: ClassVar[type[AdapterOptions]] = AdapterOptions

    def __init__(self, options: AdapterOptions | dict[str, Any] | None = None):
        self.options = _options(self.options_model, options, f"{self.kind!r} market prices")

    @abstractmethod
    def price(self, model: str, as_of: date) -> MarketPrice | None:
        """The market price of one unit of ``model`` on ``as_of`` (the latest observation on or before it,
        rolled forward to it), with its source; None for a model the source does not price."""

    def new_price(self, model: str, on: date) -> MarketPrice | None:
        """What a new unit of ``model`` cost around ``on`` (the day it was bought), for the check of a stated
        purchase price; by default :meth:`price` on that day, if it has a ``new_usd``."""
        found = self.price(model, on)
        return found if found is not None and found.new_usd is not None else None

    def residual_curve(self, model: str) -> ResidualCurve | None:
        """The share of its cost a unit of ``model`` keeps by age; None: the adapter's own depreciation."""
        return None


class Venue(ABC):
    """A DeFi venue where AID or sAID is put to work. Bound to one client (and so one chain and account).

    Subclasses set ``name`` and may set ``options_model``. Every venue answers the same four calls:
    :meth:`quote`, :meth:`add_liquidity`, :meth:`remove_liquidity` and :meth:`positions`; its own calls
    (Morpho's borrow, Curve's exchange, Pendle's PT swap) come beside them.

    What :meth:`setup` finds or deploys goes in :attr:`state`, shared by every account view of the client,
    and :meth:`save_state` writes it beside the protocol's deployment, so that the next process on the same
    chain reuses the venue instead of deploying a second one.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[AdapterOptions]] = AdapterOptions

    def __init__(self, gaib: Gaib, options: AdapterOptions | dict[str, Any] | None = None):
        self.gaib = gaib
        self.options = _options(self.options_model, options, f"{self.name!r} venue")

    @property
    def state(self) -> dict[str, Any]:
        """This venue's addresses and ids on the client's chain (JSON values only: it is saved as JSON)."""
        return self.gaib.venue_state.setdefault(self.name, {})

    def save_state(self) -> None:
        """Persist :attr:`state` with the deployment (connected clients; the embedded chain keeps it in memory)."""
        self.gaib.save_venue_state(self.name)

    @abstractmethod
    async def setup(self) -> dict[str, str]:
        """Find, or on a development chain deploy, what the venue needs for AID / sAID. Returns the
        addresses and ids it uses. Idempotent. Before it deploys or creates anything, it calls
        :meth:`require_admin`."""

    async def require_admin(self) -> None:
        """Refuse, before anything is sent, a set-up that would deploy or create something from an account
        that is not the protocol admin's: what integrators trust (an oracle, a market, a pool) comes from the
        admin, at deployment or on an explicit command, never as a side effect of a user's first call."""
        gaib = self.gaib
        if not await gaib.has_role(gaib.protocol.aid, "DEFAULT_ADMIN_ROLE"):
            raise GaibConfigError(
                f"the {self.name!r} venue is not set up on chain {gaib.chain.chain_id}: its set-up deploys or creates "
                f"contracts, which only the protocol admin does (`gaib venue {self.name} setup`, or "
                "gaib.venues.setup); ask the admin, or give the venue's addresses in its options",
                chain_id=gaib.chain.chain_id,
            )

    @abstractmethod
    async def quote(self, amount: Decimal, **kwargs: Any) -> VenueQuote:
        """What :meth:`add_liquidity` with the same arguments would give now, read from the chain without
        sending anything (with ``action="remove_liquidity"`` in kwargs, what :meth:`remove_liquidity` would)."""

    @abstractmethod
    async def add_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Put ``amount`` to work at the venue from the client's account; return the positions after."""

    @abstractmethod
    async def remove_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Take ``amount`` (in the unit of the position :meth:`add_liquidity` opened) back out to the
        client's account; return the positions after."""

    @abstractmethod
    async def positions(self, account: str | None = None) -> list[VenuePosition]:
        """The positions that ``account`` (the client's own by default) holds at the venue."""
