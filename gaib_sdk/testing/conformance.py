"""The conformance suite: what every asset adapter and every venue must do.

Subclass :class:`AssetAdapterConformance` or :class:`VenueConformance` in a test module, with a name that
pytest collects (``Test...``), and set the class under test; every check below then runs as a test of that
class. Everything else is optional::

    class TestBatteryAdapter(AssetAdapterConformance):
        adapter = BatteryAdapter     # required: the class under test
        entry_point = "battery"      # its plugin's name in the "gaib_sdk" entry-point group
        options = {"life_months": 120}   # options the adapter is built with (default: none)
        as_of = date(2026, 11, 25)   # the valuation date of the checks (default: today)
        changed_options = [{"life_months": 60}]   # options that must change the valuation (default: derived)

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
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
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
from gaib_sdk.underwriting.cashflow import add_months

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


def _total(valuations: list[AssetValuation]) -> Decimal:
    return sum((v.value_usd for v in valuations), Decimal(0))


def _never_rises(series: list[tuple[Any, list[AssetValuation]]], when: str) -> None:
    """Each asset's value, along ``series`` (labels and valuations, in order of age), never rises, and the
    whole falls from the first to the last."""
    for (label, before), (next_label, after) in zip(series, series[1:], strict=False):
        for b, a in zip(before, after, strict=True):
            assert a.value_usd <= b.value_usd, (
                f"{a.serial} is worth {b.value_usd} {when.format(label)} and more, {a.value_usd}, "
                f"{when.format(next_label)}: at fixed inputs a value never rises with age"
            )
    (first, start), (last, end) = series[0], series[-1]
    assert _total(end) < _total(start), (
        f"the inventory is worth {_total(start)} {when.format(first)} and as much {when.format(last)}: "
        "the assets never depreciate"
    )


def _same(first: list[AssetValuation], again: list[AssetValuation], what: str) -> None:
    for a, b in zip(first, again, strict=True):
        assert a == b, f"{what}: {a.serial} is valued {a.value_usd} ({a.method}), then {b.value_usd} ({b.method})"


def _behaviour(adapter: AssetAdapter, inventory: Inventory, as_of: date) -> tuple[Any, ...]:
    """What an adapter says of an inventory on a day: its valuations, costs, on-demand capacity, price ceiling."""
    on_demand = adapter.on_demand(inventory, as_of)
    return (
        [v.model_dump() for v in adapter.appraise_inventory(inventory, as_of)],
        adapter.operating_costs(inventory, as_of).model_dump(),
        None if on_demand is None else on_demand.model_dump(),
        adapter.price_ceiling(inventory),
    )


def _numeric_changes(model: type[AdapterOptions], options: dict[str, Any]) -> list[dict[str, Any]]:
    """One change per numeric option of ``model``: its value (given or default) doubled, else halved, else
    plus one, whichever the model accepts."""
    base = model.model_validate(options)
    out = []
    for name in model.model_fields:
        value = getattr(base, name)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            continue
        for candidate in (value * 2, value / 2 if not isinstance(value, int) else value // 2, value + 1):
            if candidate == value:
                continue
            try:
                model.model_validate({**options, name: candidate})
            except Exception:
                continue
            out.append({name: candidate})
            break
    return out


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
    #: The valuation date of the checks (default: today). Every asset of the sample is bought by then.
    as_of: ClassVar[date | None] = None
    #: Options, each merged over ``options``, that must each change what the adapter values or costs. Empty: the
    #: suite changes each numeric option of ``options_model`` in turn and asks that one of them change something.
    changed_options: ClassVar[list[dict[str, Any]]] = []

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

    def malformed_rows(self, tmp_path: Path) -> list[tuple[str | Path, str, int]]:
        """Sources with one bad row each, as ``(source, section, row)`` (row from 1): ``read_inventory`` must
        refuse each with InventoryError naming the section and the row. By default, where :meth:`source` is a
        JSON file of sections of rows (objects), the first and the last row of each section, each in turn
        replaced by a string and given a field that no format knows (a typo): a row skipped, or a field
        ignored, would let a mistake through unseen."""
        path = Path(self.source()) if isinstance(self.source(), Path | str) else None
        if path is None or path.suffix.lower() != ".json" or not path.is_file():
            return []
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            return []
        out: list[tuple[str | Path, str, int]] = []
        for section, rows in data.items():
            if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
                continue
            for row in sorted({1, len(rows)}):
                for n, bad in enumerate(("not a row", {**rows[row - 1], "surely_not_a_field": 1})):
                    broken = tmp_path / f"malformed-{section}-{row}-{n}{path.suffix}"
                    broken.write_text(json.dumps({**data, section: [*rows[: row - 1], bad, *rows[row:]]}))
                    out.append((broken, section, row))
        return out

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

    def _years_on(self, *years: int) -> list[date]:
        return [add_months(self._as_of(), 12 * y) for y in years]

    def _bought_by_as_of(self, inventory: Inventory) -> None:
        late = [a for a in inventory.assets if a.purchased_on > self._as_of()]
        assert not late, (
            f"{len(late)} assets of the sample are bought after as_of {self._as_of()}, e.g. {late[0].serial} on "
            f"{late[0].purchased_on}: a quote refuses them; set `as_of` in the test class on or after that day"
        )

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
    def test_every_malformed_row_is_refused_naming_its_row(self, tmp_path: Path) -> None:
        """Each of malformed_rows() is refused with InventoryError whose message names its section and row."""
        adapter = self._new()
        for source, section, row in self.malformed_rows(tmp_path):
            try:
                asyncio.run(adapter.read_inventory(source))
            except InventoryError as exc:
                named = f"{section} row {row}" in str(exc) or (
                    exc.row == row and (exc.field or "").startswith(section)
                )  # not another row that the bad one led to (a reading of an asset skipped)
                assert named, (
                    f"read_inventory({str(source)!r}) refused a bad {section} row {row} with {str(exc)!r}, which does "
                    f"not name it: refuse the bad row itself, naming its section and row (gaib_sdk.validate_row "
                    f"does: '{section} row {row}'), rather than skip it and fail elsewhere"
                )
                continue
            except Exception as exc:
                pytest.fail(
                    f"read_inventory({str(source)!r}) raised {type(exc).__name__}: {exc} for a bad {section} row "
                    f"{row}; raise gaib_sdk.InventoryError naming the row (gaib_sdk.validate_row does)"
                )
            pytest.fail(
                f"read_inventory({str(source)!r}) accepted a bad {section} row {row} (a string, or a field no format "
                "knows): validate every row, refuse unknown fields (extra='forbid'), skip none"
            )

    @conformance
    def test_value_falls_with_age(self) -> None:
        """At fixed inputs, an asset's value never rises as it ages, and falls over 30 years: the same inventory
        valued 0, 1, 2, 3, 5, 10 and 30 years after as_of, and on as_of bought 0 to 30 years earlier."""
        adapter, inventory = self._new(), self._read()
        self._bought_by_as_of(inventory)
        later = [(d, adapter.appraise_inventory(inventory, d)) for d in self._years_on(0, 1, 2, 3, 5, 10, 30)]
        _never_rises(later, "on {}")
        singly = [(d, [adapter.appraise(a, d) for a in inventory.assets]) for d in self._years_on(0, 1, 5, 30)]
        _never_rises(singly, "on {} (appraise)")
        older = []
        for years in (0, 1, 2, 5, 30):
            assets = [a.model_copy(update={"purchased_on": add_months(a.purchased_on, -12 * years)}) for a in
                      inventory.assets]  # fmt: skip
            aged = inventory.model_copy(update={"assets": assets})
            older.append((years, adapter.appraise_inventory(aged, self._as_of())))
        _never_rises(older, "bought {} years earlier")

    @conformance
    def test_the_same_as_of_gives_the_same_value(self) -> None:
        """Valued twice on one as_of (by one adapter, another date valued between, and by a new adapter on a new
        read), an inventory gets the same valuations: no random draw, no cache that outlives a call."""
        adapter, inventory = self._new(), self._read()
        first = adapter.appraise_inventory(inventory, self._as_of())
        adapter.appraise_inventory(inventory, self._years_on(1)[0])
        for again, how in (
            (adapter.appraise_inventory(inventory, self._as_of()), "the same adapter, a day valued between"),
            (self._new().appraise_inventory(self._read(), self._as_of()), "a new adapter on a new read"),
        ):
            _same(first, again, f"valued twice on {self._as_of()} ({how})")
        for asset in inventory.assets[:3]:
            one, two = adapter.appraise(asset, self._as_of()), self._new().appraise(asset, self._as_of())
            _same([one], [two], f"appraise({asset.serial}) twice on {self._as_of()}")

    @conformance
    def test_another_as_of_gives_another_value(self) -> None:
        """One adapter values the inventory differently a year after as_of than on it (appraise and
        appraise_inventory alike): the value rests on ``as_of``, not on today's date or a value kept."""
        adapter, inventory = self._new(), self._read()
        self._bought_by_as_of(inventory)
        on, year_on = self._years_on(0, 1)
        by_inventory = [_total(adapter.appraise_inventory(inventory, d)) for d in (on, year_on)]
        one_by_one = [_total([adapter.appraise(a, d) for a in inventory.assets]) for d in (on, year_on)]
        for how, (first, second) in (("appraise_inventory", by_inventory), ("appraise", one_by_one)):
            assert first != second, (
                f"{how} values the inventory {first} on {on} and the same a year on: the value must rest on as_of "
                "(not on date.today(), nor on a value kept from an earlier call). If the sample's assets are fully "
                "depreciated by as_of, set an earlier `as_of` in the test class"
            )

    @conformance
    def test_the_wall_clock_changes_nothing(self) -> None:
        """With the process's clock moved years back and on (time-machine), the valuations, operating costs
        and on-demand capacity on as_of are those of today: an adapter reads the date it is given, never the clock."""
        try:
            import time_machine
        except ImportError:  # pragma: no cover - a test dependency of gaib-sdk
            pytest.fail("this check moves the clock with time-machine: pip install 'gaib-sdk[test]'")
        inventory = self._read()
        expected = _behaviour(self._new(), inventory, self._as_of())
        for moved in (datetime(2001, 3, 9, 12, tzinfo=UTC), datetime(2093, 8, 17, 12, tzinfo=UTC)):
            with time_machine.travel(moved, tick=False):
                got = _behaviour(self._new(), inventory, self._as_of())
            assert got == expected, (
                f"with the clock moved to {moved.date()}, the adapter values, costs or sells the inventory "
                f"differently on the same as_of {self._as_of()}: it reads today's date (date.today(), datetime.now()) "
                "where it must use as_of"
            )

    @conformance
    def test_options_change_behaviour(self) -> None:
        """Options are read: each of ``changed_options`` changes the valuations, operating costs or on-demand
        capacity; without them, changing one of the options model's numeric options in turn changes something."""
        cls, inventory = self._cls(), self._read()
        base = _behaviour(self._new(), inventory, self._as_of())
        changes = self.changed_options or _numeric_changes(cls.options_model, dict(self.options))
        changed = []
        for change in changes:
            adapter = cls({**self.options, **change})
            if _behaviour(adapter, inventory, self._as_of()) != base:
                changed.append(change)
            elif self.changed_options:
                pytest.fail(
                    f"option {change} changes neither the valuations nor the operating costs nor the on-demand "
                    "capacity: does the adapter read self.options?"
                )
        assert changed or not changes, (
            f"none of the options {changes} changes the valuations, the operating costs or the on-demand capacity: "
            "does the adapter read self.options? (or set `changed_options` in the test class to options that must)"
        )

    @conformance
    def test_no_asset_is_valued_above_its_purchase_price(self) -> None:
        """An asset is never worth more than it cost, on as_of nor on the day it was bought: credit lends
        against what the collateral would fetch, not above its invoice."""
        adapter, inventory = self._new(), self._read()
        for v, a in zip(adapter.appraise_inventory(inventory, self._as_of()), inventory.assets, strict=False):
            assert v.value_usd <= a.purchase_price_usd, (
                f"{a.serial} is valued {v.value_usd} on {self._as_of()}, above its purchase price "
                f"{a.purchase_price_usd}"
            )
        for a in inventory.assets[:3]:
            v = adapter.appraise(a, a.purchased_on)
            assert v.value_usd <= a.purchase_price_usd, (
                f"{a.serial} is valued {v.value_usd} on the day it was bought, above its price {a.purchase_price_usd}"
            )

    @conformance
    def test_the_value_follows_the_record(self) -> None:
        """An asset's valuation is its own record's: with every purchase price doubled the valuations change
        and none falls, and with the inventory in reverse order every asset keeps its valuation."""
        adapter, inventory = self._new(), self._read()
        base = {v.asset_id: v for v in adapter.appraise_inventory(inventory, self._as_of())}
        dearer = [a.model_copy(update={"purchase_price_usd": a.purchase_price_usd * 2}) for a in inventory.assets]
        doubled = adapter.appraise_inventory(inventory.model_copy(update={"assets": dearer}), self._as_of())
        assert any(
            (v.value_usd, v.cost_value_usd) != (base[v.asset_id].value_usd, base[v.asset_id].cost_value_usd)
            for v in doubled
        ), "with every purchase price doubled, no value changes: value the record given (not a fixed or kept value)"
        for v in doubled:
            assert v.value_usd >= base[v.asset_id].value_usd, (
                f"{v.serial} is worth {v.value_usd} at twice its price, less than {base[v.asset_id].value_usd}"
            )
        reverse = inventory.model_copy(update={"assets": inventory.assets[::-1]})
        backwards = adapter.appraise_inventory(reverse, self._as_of())
        assert [v.asset_id for v in backwards] == [a.asset_id for a in reverse.assets], (
            "appraise_inventory must return one valuation per asset, in the inventory's order"
        )
        for v in backwards:
            _same([base[v.asset_id]], [v], "the inventory valued in reverse order")

    @conformance
    def test_digitizes_once_on_an_embedded_chain(self) -> None:
        """The inventory digitizes on a fresh in-process EVM; a second digitize is refused (DuplicateAssetError)."""
        asyncio.run(self._digitize_twice())

    async def _digitize_twice(self) -> None:
        kind = self._cls().kind
        async with await Gaib.embedded(plugins=(self._plugin(),), load_entry_points=False) as admin:
            operator = admin.with_account(1)
            await admin.admin.authorize_registrar(operator.address)
            inventory = await operator.assets.read_inventory(kind, self.source(), options=dict(self.options))
            result = await operator.digitize(kind, inventory)
            assert result.asset_ids == [a.asset_id for a in inventory.assets]
            for asset in inventory.assets[:3]:
                on_chain = await admin.assets.get(asset.asset_id)
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
            venue = gaib.venues.get(name, dict(self.options))
            assert isinstance(venue, self._cls())
            first = await venue.setup()
            assert isinstance(first, dict) and all(isinstance(v, str) for v in first.values()), (
                f"setup() returned {first!r}: a dict of the addresses and ids the venue uses, as strings"
            )
            assert await venue.setup() == first, "setup() is not idempotent: a second call gave another result"
            # another account's view of the same client shares what the first set up
            outsider = gaib.with_account(4).venues.get(name, dict(self.options))
            assert await outsider.setup() == first, "setup() from another account gave another result"
            positions = await outsider.positions()
            assert isinstance(positions, list) and all(isinstance(p, VenuePosition) for p in positions), (
                f"positions() returned {positions!r}, not a list of VenuePosition"
            )
            assert all(p.amount == 0 for p in positions), f"an account that did nothing holds {positions}"
