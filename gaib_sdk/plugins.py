"""The plugin manager: one per client, loaded lazily and once.

First-party and third-party plugins load the same way, through the entry-point group ``gaib_sdk``.

Environment:
  GAIB_LOAD_PLUGINS   comma-separated entry-point names: load only these ("" loads none)
  GAIB_BLOCK_PLUGINS  comma-separated entry-point names: never load these
  GAIB_TRACE_PLUGINS  set to 1 to print every hook call and its result to stderr
"""

from __future__ import annotations

import inspect
import os
import sys
from importlib.metadata import entry_points
from typing import Any

import pluggy

from gaib_sdk import hookspecs
from gaib_sdk.adapters import AssetAdapter, MarketPriceSource, Venue
from gaib_sdk.errors import GaibConfigError, PluginError

__all__ = ["ENTRY_POINT_GROUP", "Plugins"]

ENTRY_POINT_GROUP = "gaib_sdk"


def _names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


class Plugins:
    """Owns a pluggy PluginManager and the adapters its plugins register."""

    def __init__(self, *, load_entry_points: bool = True, plugins: tuple[object, ...] = ()):
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._load_entry_points = load_entry_points
        self._entry_points_loaded = False
        self._adapters: dict[str, type[AssetAdapter]] | None = None
        self._venues: dict[str, type[Venue]] | None = None
        self._prices: dict[str, type[MarketPriceSource]] | None = None
        for plugin in plugins:
            self.register(plugin)
        if os.environ.get("GAIB_TRACE_PLUGINS", "").strip().lower() not in ("", "0", "false", "no"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    def register(self, plugin: object, name: str | None = None) -> None:
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name or plugin!r} is invalid: {exc}") from exc
        self._adapters = self._venues = self._prices = None

    def unregister(self, plugin: object) -> None:
        self.pm.unregister(plugin)
        self._adapters = self._venues = self._prices = None

    def _load(self) -> None:
        if self._entry_points_loaded or not self._load_entry_points:
            return
        self._entry_points_loaded = True
        allow, block = _names("GAIB_LOAD_PLUGINS"), _names("GAIB_BLOCK_PLUGINS") or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if (allow is not None and ep.name not in allow) or ep.name in block:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
            self.register(plugin, name=ep.name)

    def _collect(self, hook: str, base: type[Any], key: str) -> dict[str, type[Any]]:
        self._load()
        try:
            self.pm.check_pending()  # a hook implementation whose name matches no hookspec: a typo
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc
        found: dict[str, type[Any]] = {}

        def register(cls: Any) -> None:
            if not (inspect.isclass(cls) and issubclass(cls, base)):
                raise PluginError(f"{hook}: {cls!r} is not a subclass of {base.__name__}")
            if inspect.isabstract(cls):
                missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
                raise PluginError(
                    f"{cls.__module__}.{cls.__qualname__} leaves abstract methods unimplemented: {missing}"
                )
            name = getattr(cls, key, None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"{cls.__qualname__} must set the class attribute {key!r} to a non-empty string")
            if name in found and found[name] is not cls:
                raise PluginError(f"two plugins register {key} {name!r}: {found[name].__module__} and {cls.__module__}")
            found[name] = cls

        getattr(self.pm.hook, hook)(register=register)
        return found

    def asset_adapters(self) -> dict[str, type[AssetAdapter]]:
        if self._adapters is None:
            self._adapters = self._collect("register_asset_adapters", AssetAdapter, "kind")
        return self._adapters

    def venues(self) -> dict[str, type[Venue]]:
        if self._venues is None:
            self._venues = self._collect("register_venues", Venue, "name")
        return self._venues

    def market_price_sources(self) -> dict[str, type[MarketPriceSource]]:
        """The market-price sources by the kind they price."""
        if self._prices is None:
            self._prices = self._collect("register_market_prices", MarketPriceSource, "kind")
        return self._prices

    def asset_adapter(self, kind: str) -> type[AssetAdapter]:
        adapters = self.asset_adapters()
        if kind not in adapters:
            known = ", ".join(sorted(adapters)) or "none"
            raise GaibConfigError(
                f"no asset adapter for kind {kind!r} (installed: {known}); install its plugin, "
                f"e.g. `pip install gaib-{kind}`"
            )
        return adapters[kind]

    def venue(self, name: str) -> type[Venue]:
        venues = self.venues()
        if name not in venues:
            known = ", ".join(sorted(venues)) or "none"
            raise GaibConfigError(
                f"no venue named {name!r} (installed: {known}); install its plugin, e.g. `pip install gaib-{name}`"
            )
        return venues[name]
