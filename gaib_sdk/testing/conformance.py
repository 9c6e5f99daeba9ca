"""The conformance suite: what every asset adapter and every venue must do.

Subclass :class:`AssetAdapterConformance` or :class:`VenueConformance` in a test module, with a name that
pytest collects (``Test...``), and set the class under test; every check below then runs as a test of that
class. Everything else is optional::

    class TestBatteryAdapter(AssetAdapterConformance):
        adapter = BatteryAdapter     # required: the class under test
        entry_point = "battery"      # its plugin's name in the "gaib_sdk" entry-point group
        options = {"life_months": 120}   # options the adapter is built with (default: none)
        as_of = date(2026, 11, 25)   # the valuation date of the checks (default: today)

With ``entry_point`` set, the suite checks that the plugin is installed and registers the class, and
uses that plugin on the chain. Without it, a plugin object may be given as ``plugin``; with neither, the
suite makes a plugin that registers the class.

Each check is a plain, synchronous test method: the coroutines it needs run with ``asyncio.run``, so the
suite needs no async plugin for pytest and runs under any ``asyncio_mode``. Each carries the marker
``gaib_conformance`` (``pytest -m gaib_conformance`` runs only the suite).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gaib_sdk.adapters import AdapterOptions, AssetAdapter, Venue
from gaib_sdk.client import Gaib
from gaib_sdk.errors import DuplicateAssetError, GaibValueError, InventoryError
from gaib_sdk.hookspecs import hookimpl
from gaib_sdk.models import AssetValuation, Inventory, VenuePosition
from gaib_sdk.plugins import ENTRY_POINT_GROUP, Plugins

__all__ = ["AssetAdapterConformance", "VenueConformance"]

conformance = pytest.mark.gaib_conformance

#: The longest kind or venue name: the registry stores a kind as bytes32.
MAX_NAME_BYTES = 32


class _AdapterPlugin:
    """A plugin that registers one asset adapter: used when the test class names no plugin."""

    def __init__(self, cls: type[AssetAdapter]):
        self.cls = cls

    @hookimpl
    def register_asset_adapters(self, register: Callable[[type[Any]], None]) -> None:
        register(self.cls)


class _VenuePlugin:
    """A plugin that registers one venue: used when the test class names no plugin."""

    def __init__(self, cls: type[Venue]):
        self.cls = cls

    @hookimpl
    def register_venues(self, register: Callable[[type[Any]], None]) -> None:
        register(self.cls)


def _check_name(owner: type[Any], attribute: str) -> str:
    value = getattr(owner, attribute, None)
    assert isinstance(value, str) and value, f"{owner.__qualname__}.{attribute} must be a non-empty string"
    assert value == value.strip(), f"{owner.__qualname__}.{attribute} {value!r} has surrounding whitespace"
    size = len(value.encode())
    assert size <= MAX_NAME_BYTES, f"{owner.__qualname__}.{attribute} {value!r} is {size} bytes, over {MAX_NAME_BYTES}"
    return value


def _check_options_model(model: type[AdapterOptions], build: Callable[[dict[str, Any]], object]) -> None:
    assert inspect.isclass(model) and issubclass(model, AdapterOptions), (
        f"options_model {model!r} must be a subclass of gaib_sdk.AdapterOptions"
    )
    assert model.model_config.get("extra") == "forbid", (
        f"{model.__qualname__} must refuse unknown options (model_config extra='forbid', as AdapterOptions sets)"
    )
    with pytest.raises(GaibValueError, match="surely_not_an_option"):
        build({"surely_not_an_option": 1})


def _load_entry_point(name: str) -> object:
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    assert found, (
        f"no entry point {name!r} in group {ENTRY_POINT_GROUP!r}: is the plugin installed (pip install -e .), "
        "and does its pyproject.toml name it under [project.entry-points.gaib_sdk]?"
    )
    return found[0].load()


def _check_registration(plugin: object, hook: str, key: str, cls: type[Any], entry_point: str | None) -> None:
    registered = getattr(Plugins(load_entry_points=False, plugins=(plugin,)), hook)()
    assert registered.get(key) is cls, f"plugin {plugin!r} registers {registered}, not {key!r}: {cls.__qualname__}"
    if entry_point is not None:
        loaded = getattr(Plugins(load_entry_points=False, plugins=(_load_entry_point(entry_point),)), hook)()
        assert loaded.get(key) is cls, f"entry point {entry_point!r} registers {loaded}, not {cls.__qualname__}"


def _plugin_of(test: AssetAdapterConformance | VenueConformance, default: Callable[[], object]) -> object:
    """The plugin a test class names; else what its entry point loads; else one made for the class."""
    if test.plugin is not None:
        return test.plugin
    if test.entry_point is not None:
        return _load_entry_point(test.entry_point)
    return default()


class AssetAdapterConformance:
    """The checks every :class:`~gaib_sdk.AssetAdapter` passes. Set ``adapter`` in a ``Test...`` subclass.

    Override :meth:`source` to read something other than the adapter's example inventory (an adapter that
    reads over HTTP would start a server on 127.0.0.1 there), and :meth:`malformed_sources` to give
    sources of the adapter's own format that must be refused.
    """

    adapter: ClassVar[type[AssetAdapter]]
    #: The name of the plugin's entry point in the ``gaib_sdk`` group: checked to be installed.
    entry_point: ClassVar[str | None] = None
    #: A plugin object that registers the adapter, for a plugin that is not installed as a package.
    plugin: ClassVar[object | None] = None
    #: Options the adapter is built with.
    options: ClassVar[dict[str, Any]] = {}
    #: The valuation date of the checks (default: today).
    as_of: ClassVar[date | None] = None

    # ---- what a subclass may override ----

    def source(self) -> str | Path:
        """The inventory the checks read: by default the adapter's example (``example_source()``)."""
        source = self._new().example_source()
        assert source is not None, (
            f"{self._cls().__qualname__}.example_source() returns None: ship a sample inventory with the plugin, "
            "or override source() in the test class"
        )
        return source

    def malformed_sources(self, tmp_path: Path) -> list[str | Path]:
        """Sources that ``read_inventory`` must refuse with InventoryError: by default a file that does not
        exist and a file of text that no inventory format accepts."""
        garbage = tmp_path / "garbage.inventory"
        garbage.write_text("this is not an inventory {\n\x00\n")
        return [tmp_path / "missing.inventory", garbage]

    # ---- helpers ----

    def _cls(self) -> type[AssetAdapter]:
        cls: type[AssetAdapter] | None = getattr(type(self), "adapter", None)
        assert cls is not None, f"{type(self).__qualname__} must set `adapter = YourAdapter` (the class under test)"
        return cls

    def _new(self) -> AssetAdapter:
        return self._cls()(dict(self.options))

    def _plugin(self) -> object:
        return _plugin_of(self, lambda: _AdapterPlugin(self._cls()))

    def _as_of(self) -> date:
        return self.as_of or date.today()

    def _read(self) -> Inventory:
        inventory = asyncio.run(self._new().read_inventory(self.source()))
        assert isinstance(inventory, Inventory), f"read_inventory returned {type(inventory).__name__}, not Inventory"
        return inventory

    # ---- the checks ----

    @conformance
    def test_kind_is_a_short_name(self) -> None:
        """``kind`` is a non-empty string without surrounding spaces, at most 32 bytes (the registry's bytes32)."""
        _check_name(self._cls(), "kind")

    @conformance
    def test_is_a_complete_asset_adapter(self) -> None:
        """A subclass of AssetAdapter with no abstract method left; read_inventory async, appraise not."""
        cls = self._cls()
        assert inspect.isclass(cls) and issubclass(cls, AssetAdapter), f"{cls!r} is not a subclass of AssetAdapter"
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        assert not missing, f"{cls.__qualname__} leaves abstract methods unimplemented: {missing}"
        assert inspect.iscoroutinefunction(cls.read_inventory), "read_inventory must be `async def`"
        assert not inspect.iscoroutinefunction(cls.appraise), "appraise must be a plain function (no I/O)"

    @conformance
    def test_options_model_refuses_unknown_options(self) -> None:
        """The options model subclasses AdapterOptions and refuses an unknown option with GaibValueError."""
        cls = self._cls()
        _check_options_model(cls.options_model, cls)
        assert isinstance(self._new().options, cls.options_model)

    @conformance
    def test_registers_through_its_plugin(self) -> None:
        """The plugin registers the adapter under its kind; with ``entry_point`` set, the installed one does."""
        cls = self._cls()
        _check_registration(self._plugin(), "asset_adapters", cls.kind, cls, self.entry_point)

    @conformance
    def test_reads_an_inventory_of_its_kind(self) -> None:
        """The example inventory reads as an Inventory of the adapter's kind, with at least one asset."""
        kind, inventory = self._cls().kind, self._read()
        assert inventory.kind == kind, f"the inventory is of kind {inventory.kind!r}, not the adapter's {kind!r}"
        assert inventory.assets, "the inventory has no assets"
        for asset in inventory.assets:
            assert asset.kind == kind, f"asset {asset.serial} is of kind {asset.kind!r}, not {kind!r}"

    @conformance
    def test_every_asset_has_telemetry(self) -> None:
        """Every asset has a telemetry snapshot (digitize registers an asset only with one)."""
        inventory = self._read()
        lacking = [a.serial for a in inventory.assets if inventory.telemetry_for(a.serial) is None]
        assert not lacking, f"{len(lacking)} assets have no telemetry snapshot, e.g. serial {lacking[0]!r}"

    @conformance
    def test_ids_are_deterministic(self) -> None:
        """Reading the same source twice gives the same asset ids and record hashes."""
        first, second = self._read(), self._read()
        assert [a.asset_id for a in first.assets] == [a.asset_id for a in second.assets], (
            "two reads of the same source give different asset ids"
        )
        assert [a.record_hash for a in first.assets] == [a.record_hash for a in second.assets], (
            "two reads of the same source give different records (a timestamp or random value in a record?)"
        )

    @conformance
    def test_appraises_every_asset(self) -> None:
        """appraise values every asset, today and 30 years on: its id and serial, a value of at least 0, a method."""
        adapter, inventory = self._new(), self._read()
        # today, and long after any asset is fully depreciated: a value never goes below zero
        for as_of in (self._as_of(), self._as_of() + timedelta(days=365 * 30)):
            for asset in inventory.assets:
                valuation = adapter.appraise(asset, as_of)
                assert isinstance(valuation, AssetValuation), f"appraise returned {type(valuation).__name__}"
                assert valuation.asset_id == asset.asset_id, f"the valuation of {asset.serial} has another asset id"
                assert valuation.serial == asset.serial, (
                    f"the valuation of {asset.serial} has serial {valuation.serial}"
                )
                assert valuation.value_usd >= Decimal(0), f"{asset.serial} is valued {valuation.value_usd} on {as_of}"
                assert valuation.method, "say how the asset was valued in AssetValuation.method"

    @conformance
    def test_appraises_the_inventory_as_a_whole(self) -> None:
        """appraise_inventory values every asset once, in order, today and 30 years on; where it gives a cost
        and an income value, the value is the lower and ``binding`` says which."""
        adapter, inventory = self._new(), self._read()
        for as_of in (self._as_of(), self._as_of() + timedelta(days=365 * 30)):
            valuations = adapter.appraise_inventory(inventory, as_of)
            assert [v.asset_id for v in valuations] == [a.asset_id for a in inventory.assets], (
                "appraise_inventory must return one valuation per asset, in the inventory's order"
            )
            for v in valuations:
                assert v.value_usd >= Decimal(0), f"{v.serial} is valued {v.value_usd} on {as_of}"
                if v.cost_value_usd is not None and v.income_value_usd is not None:
                    assert v.value_usd == min(v.cost_value_usd, v.income_value_usd), (
                        f"{v.serial}: value {v.value_usd} is not the lower of cost {v.cost_value_usd} and income "
                        f"{v.income_value_usd}"
                    )
                    expected = "income" if v.income_value_usd < v.cost_value_usd else "cost"
                    assert v.binding == expected, f"{v.serial}: binding is {v.binding!r}, not {expected!r}"

    @conformance
    def test_a_malformed_source_raises_inventory_error(self, tmp_path: Path) -> None:
        """Each of malformed_sources() is refused with InventoryError, and nothing else."""
        adapter = self._new()
        for source in self.malformed_sources(tmp_path):
            try:
                asyncio.run(adapter.read_inventory(source))
            except InventoryError:
                continue
            except Exception as exc:
                pytest.fail(
                    f"read_inventory({str(source)!r}) raised {type(exc).__name__}: {exc}; raise "
                    "gaib_sdk.InventoryError (naming the row and field) for a source that cannot be read"
                )
            pytest.fail(f"read_inventory({str(source)!r}) accepted a malformed source")

    @conformance
    def test_digitizes_once_on_an_embedded_chain(self) -> None:
        """The inventory digitizes on a fresh in-process EVM; a second digitize is refused (DuplicateAssetError)."""
        asyncio.run(self._digitize_twice())

    async def _digitize_twice(self) -> None:
        kind = self._cls().kind
        async with await Gaib.embedded(plugins=(self._plugin(),), load_entry_points=False) as admin:
            operator = admin.with_account(1)
            await admin.authorize_registrar(operator.address)
            inventory = await operator.read_inventory(kind, self.source(), options=dict(self.options))
            result = await operator.digitize(kind, inventory)
            assert result.asset_ids == [a.asset_id for a in inventory.assets]
            for asset in inventory.assets[:3]:
                on_chain = await admin.asset(asset.asset_id)
                assert (on_chain["kind"], on_chain["record_hash"]) == (kind, asset.record_hash)
            with pytest.raises(DuplicateAssetError):
                await operator.digitize(kind, inventory)
            again = await operator.digitize(kind, inventory, skip_registered=True)
            assert (again.asset_ids, again.already_registered) == ([], result.asset_ids)


class VenueConformance:
    """The checks every :class:`~gaib_sdk.Venue` passes. Set ``venue`` in a ``Test...`` subclass.

    The last check sets the venue up on a fresh in-process EVM (on a development chain a venue deploys
    what it needs), twice, and reads the positions of an account that has none.
    """

    venue: ClassVar[type[Venue]]
    #: The name of the plugin's entry point in the ``gaib_sdk`` group: checked to be installed.
    entry_point: ClassVar[str | None] = None
    #: A plugin object that registers the venue, for a plugin that is not installed as a package.
    plugin: ClassVar[object | None] = None
    #: Options the venue is built with.
    options: ClassVar[dict[str, Any]] = {}

    def _cls(self) -> type[Venue]:
        cls: type[Venue] | None = getattr(type(self), "venue", None)
        assert cls is not None, f"{type(self).__qualname__} must set `venue = YourVenue` (the class under test)"
        return cls

    def _plugin(self) -> object:
        return _plugin_of(self, lambda: _VenuePlugin(self._cls()))

    @conformance
    def test_name_is_a_short_name(self) -> None:
        """``name`` is a non-empty string without surrounding spaces, at most 32 bytes."""
        _check_name(self._cls(), "name")

    @conformance
    def test_is_a_complete_venue(self) -> None:
        """A subclass of Venue with no abstract method left; setup, add_liquidity and positions async."""
        cls = self._cls()
        assert inspect.isclass(cls) and issubclass(cls, Venue), f"{cls!r} is not a subclass of Venue"
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        assert not missing, f"{cls.__qualname__} leaves abstract methods unimplemented: {missing}"
        for method in ("setup", "add_liquidity", "positions"):
            assert inspect.iscoroutinefunction(getattr(cls, method)), f"{method} must be `async def`"

    @conformance
    def test_options_model_refuses_unknown_options(self) -> None:
        """The options model subclasses AdapterOptions and refuses an unknown option with GaibValueError."""
        cls, gaib = self._cls(), Gaib.offline(load_entry_points=False)
        _check_options_model(cls.options_model, lambda options: cls(gaib, options))
        assert isinstance(cls(gaib, dict(self.options)).options, cls.options_model)

    @conformance
    def test_registers_through_its_plugin(self) -> None:
        """The plugin registers the venue under its name; with ``entry_point`` set, the installed one does."""
        cls = self._cls()
        _check_registration(self._plugin(), "venues", cls.name, cls, self.entry_point)

    @conformance
    def test_sets_up_on_an_embedded_chain(self) -> None:
        """setup() works on a fresh in-process EVM, twice and from another account alike; positions() of an account
        that did nothing are a list of zero positions."""
        asyncio.run(self._setup_twice())

    async def _setup_twice(self) -> None:
        name = self._cls().name
        async with await Gaib.embedded(plugins=(self._plugin(),), load_entry_points=False) as gaib:
            venue = gaib.venue(name, dict(self.options))
            assert isinstance(venue, self._cls())
            first = await venue.setup()
            assert isinstance(first, dict) and all(isinstance(v, str) for v in first.values()), (
                f"setup() returned {first!r}: a dict of the addresses and ids the venue uses, as strings"
            )
            assert await venue.setup() == first, "setup() is not idempotent: a second call gave another result"
            # another account's view of the same client shares what the first set up
            outsider = gaib.with_account(4).venue(name, dict(self.options))
            assert await outsider.setup() == first, "setup() from another account gave another result"
            positions = await outsider.positions()
            assert isinstance(positions, list) and all(isinstance(p, VenuePosition) for p in positions), (
                f"positions() returned {positions!r}, not a list of VenuePosition"
            )
            assert all(p.amount == 0 for p in positions), f"an account that did nothing holds {positions}"
