"""Plugins: first-party adapters load through the entry-point group like anyone's; a test plugin is
registered in a fixture and unregistered after; broken plugins are refused with a clear error."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gaib_sdk import (
    AssetAdapter,
    AssetRecord,
    AssetValuation,
    Gaib,
    GaibConfigError,
    Inventory,
    PluginError,
    Telemetry,
    Venue,
    VenuePosition,
    hookimpl,
    hookspecs,
)
from gaib_sdk.plugins import Plugins

DOCS = Path(__file__).parent.parent / "docs"


class SolarAdapter(AssetAdapter):
    """A third party's asset class, written the way a plugin author would."""

    kind = "solar"

    async def read_inventory(self, source: str | Path) -> Inventory:
        serials = str(source).split(",")
        return Inventory(
            kind="solar",
            operator="Sunny Ops",
            assets=[
                AssetRecord(
                    kind="solar",
                    vendor="SMA",
                    model="Sunny Tripower X",
                    serial=s,
                    purchase_price_usd=Decimal(4000),
                    purchased_on=date(2026, 1, 1),
                    site="Seville",
                )
                for s in serials
            ],
            telemetry=[
                Telemetry(serial=s, observed_at="2026-11-01T00:00:00Z", healthy=True, utilisation=0.9) for s in serials
            ],
        )

    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        return AssetValuation(
            asset_id=asset.asset_id,
            serial=asset.serial,
            purchase_price_usd=asset.purchase_price_usd,
            age_months=0,
            value_usd=asset.purchase_price_usd,
            method="cost",
        )


class SolarPlugin:
    @hookimpl
    def register_asset_adapters(self, register: Callable[[type[Any]], None]) -> None:
        register(SolarAdapter)


@pytest.fixture
def solar_plugin(gaib: Gaib) -> Iterator[SolarPlugin]:
    plugin = SolarPlugin()
    gaib.plugins.register(plugin, name="solar-test")
    try:
        yield plugin
    finally:
        gaib.plugins.unregister(plugin)


def test_first_party_plugins_load_through_the_entry_point_group() -> None:
    plugins = Plugins()
    assert plugins.asset_adapters()["gpu"].__module__ == "gaib_gpu.adapter"
    assert plugins.venues()["morpho"].__module__ == "gaib_morpho.venue"
    assert plugins.venues()["pendle"].__module__ == "gaib_pendle.venue"
    assert plugins.asset_adapters()["robot"].__module__ == "gaib_robots.adapter"
    assert {"gpu", "morpho", "robots"} <= {name for name, _ in plugins.pm.list_name_plugin()}


@pytest.mark.asyncio
async def test_a_test_plugin_registers_a_new_asset_class_that_digitizes_on_chain(
    gaib: Gaib, solar_plugin: SolarPlugin
) -> None:
    assert set(gaib.plugins.asset_adapters()) == {"gpu", "robot", "solar"}
    result = await gaib.digitize("solar", "SN-1,SN-2,SN-3")
    assert len(result.asset_ids) == 3
    assert (await gaib.assets.get(result.asset_ids[0]))["kind"] == "solar"


@pytest.mark.asyncio
async def test_unregistering_removes_the_adapter(gaib: Gaib) -> None:
    plugin = SolarPlugin()
    gaib.plugins.register(plugin)
    assert "solar" in gaib.plugins.asset_adapters()
    gaib.plugins.unregister(plugin)
    with pytest.raises(GaibConfigError, match="no asset adapter for kind 'solar'"):
        gaib.assets.adapter("solar")


@pytest.mark.asyncio
async def test_each_client_owns_its_plugin_manager() -> None:
    a = await Gaib.embedded(deploy=False)
    b = await Gaib.embedded(deploy=False)
    a.plugins.register(SolarPlugin())
    assert "solar" in a.plugins.asset_adapters()
    assert "solar" not in b.plugins.asset_adapters()
    assert a.chain.w3 is not b.chain.w3


def test_an_adapter_with_abstract_methods_left_is_refused_by_name() -> None:
    class Half(AssetAdapter):
        kind = "half"

        async def read_inventory(self, source: str | Path) -> Inventory:
            raise NotImplementedError

    class HalfPlugin:
        @hookimpl
        def register_asset_adapters(self, register: Callable[[type[Any]], None]) -> None:
            register(Half)

    plugins = Plugins(load_entry_points=False, plugins=(HalfPlugin(),))
    with pytest.raises(PluginError, match=r"Half leaves abstract methods unimplemented: appraise"):
        plugins.asset_adapters()


def test_registering_something_that_is_not_an_adapter_is_refused() -> None:
    class Wrong:
        @hookimpl
        def register_venues(self, register: Callable[[type[Any]], None]) -> None:
            register(dict)

    with pytest.raises(PluginError, match="is not a subclass of Venue"):
        Plugins(load_entry_points=False, plugins=(Wrong(),)).venues()


def test_two_plugins_claiming_one_kind_are_refused() -> None:
    class Twin(SolarAdapter):
        pass

    class TwinPlugin:
        @hookimpl
        def register_asset_adapters(self, register: Callable[[type[Any]], None]) -> None:
            register(Twin)

    plugins = Plugins(load_entry_points=False, plugins=(SolarPlugin(), TwinPlugin()))
    with pytest.raises(PluginError, match="two plugins register kind 'solar'"):
        plugins.asset_adapters()


def test_a_hook_with_a_misspelt_name_is_caught() -> None:
    class Typo:
        @hookimpl
        def register_asset_adaptors(self, register: Callable[[type[Any]], None]) -> None:
            pass

    plugins = Plugins(load_entry_points=False, plugins=(Typo(),))
    with pytest.raises(PluginError, match="unknown hook 'register_asset_adaptors'"):
        plugins.asset_adapters()


def test_allow_and_block_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(Plugins().asset_adapters()) == {"gpu", "robot"}
    monkeypatch.setenv("GAIB_LOAD_PLUGINS", "gpu")
    assert set(Plugins().asset_adapters()) == {"gpu"} and Plugins().venues() == {}
    monkeypatch.setenv("GAIB_LOAD_PLUGINS", "gpu,robots")
    assert set(Plugins().asset_adapters()) == {"gpu", "robot"}
    monkeypatch.setenv("GAIB_LOAD_PLUGINS", "")
    assert Plugins().asset_adapters() == {}
    monkeypatch.delenv("GAIB_LOAD_PLUGINS")
    monkeypatch.setenv("GAIB_BLOCK_PLUGINS", "morpho,robots,curve,pendle")
    assert set(Plugins().asset_adapters()) == {"gpu"} and Plugins().venues() == {}
    with pytest.raises(GaibConfigError, match=r"no venue named 'morpho' \(installed: none\)"):
        Plugins().venue("morpho")


def test_tracing_prints_every_hook_call(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GAIB_TRACE_PLUGINS", "1")
    Plugins().asset_adapters()
    assert "register_asset_adapters" in capsys.readouterr().err


def test_adapter_options_refuse_unknown_fields() -> None:
    from gaib_gpu import GpuAdapter

    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        GpuAdapter({"depreciaton": {}})


def test_venue_base_class_has_the_common_interface() -> None:
    assert set(Venue.__abstractmethods__) == {"setup", "quote", "add_liquidity", "remove_liquidity", "positions"}
    assert VenuePosition.model_config["extra"] == "forbid"


_HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("register_")]


@pytest.mark.parametrize("hook", _HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    """datasette's rule: a hook nobody tests is a hook that breaks unseen."""
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py") if p.name != "test_plugins.py")
    here = Path(__file__).read_text()
    assert re.search(rf"def {hook}\(", here + tests), f"no test plugin implements {hook}"


@pytest.mark.parametrize("hook", _HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    page = DOCS / "plugin-authors.md"
    assert page.exists(), "docs/plugin-authors.md is missing"
    assert hook in page.read_text(), f"{hook} is not documented in docs/plugin-authors.md"


def test_every_hookspec_has_a_docstring() -> None:
    for hook in _HOOKS:
        assert getattr(hookspecs, hook).__doc__, hook


def test_a_plugin_that_fails_to_load_is_named_and_can_be_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An installed plugin whose import fails: a PluginError naming it (one line from the CLI), until blocked."""
    from gaib_sdk.cli import main

    dist = tmp_path / "gaib_broken-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gaib-broken\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[gaib_sdk]\nbroken = gaib_broken_no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match=r"plugin 'broken' \(gaib_broken_no_such_module\) failed to load: No module"):
        Plugins().asset_adapters()
    assert main(["plugins"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: plugin 'broken' (gaib_broken_no_such_module) failed to load") and err.count("\n") == 1
    monkeypatch.setenv("GAIB_BLOCK_PLUGINS", "broken")
    assert set(Plugins().asset_adapters()) == {"gpu", "robot"}
