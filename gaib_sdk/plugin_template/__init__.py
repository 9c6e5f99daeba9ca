"""The template of `gaib plugin new NAME`: a new asset-class plugin, an installable package.

``new_plugin("ev-charger", Path("."))`` writes ``./gaib-ev-charger/``: a pyproject.toml with the entry point
in the ``gaib_sdk`` group, the package ``gaib_ev_charger`` with its hook, an adapter, its options model and
a sample inventory, tests that run the conformance suite (:mod:`gaib_sdk.testing`), and a README.
The templates are the ``files/*.tmpl`` beside this module, filled in with :class:`string.Template`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from gaib_sdk import __version__
from gaib_sdk.errors import GaibValueError

__all__ = ["PluginSpec", "new_plugin", "spec_for"]

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
#: The longest kind: the registry stores a kind as bytes32.
_MAX_KIND = 32

#: template file -> where it goes in the new plugin ({package} is the package's name)
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "{package}/__init__.py",
    "adapter.py.tmpl": "{package}/adapter.py",
    "sample_inventory.json.tmpl": "{package}/data/sample_inventory.json",
    "test_adapter.py.tmpl": "tests/test_adapter.py",
}

#: the same for `gaib plugin new NAME --venue`: a venue plugin
_VENUE_FILES = {
    "venue_pyproject.toml.tmpl": "pyproject.toml",
    "venue_README.md.tmpl": "README.md",
    "venue_init.py.tmpl": "{package}/__init__.py",
    "venue.py.tmpl": "{package}/venue.py",
    "test_venue.py.tmpl": "tests/test_venue.py",
}


@dataclass(frozen=True)
class PluginSpec:
    """The names of a new plugin, all derived from NAME (``ev-charger``) unless given."""

    name: str  # ev-charger: the entry point's name
    kind: str  # ev-charger: the asset class users pass to digitize and quote

    @property
    def dist(self) -> str:
        return f"gaib-{self.name}"

    @property
    def package(self) -> str:
        return "gaib_" + self.name.replace("-", "_")

    @property
    def class_prefix(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    def substitutions(self, sdk_version: str) -> dict[str, str]:
        major, minor = (int(x) for x in sdk_version.split(".")[:2])
        prefix = self.class_prefix
        return {
            "name": self.name,
            "kind": self.kind,
            "dist": self.dist,
            "package": self.package,
            "entry_point": self.name,
            "adapter_class": f"{prefix}Adapter",
            "options_class": f"{prefix}Options",
            "row_class": f"{prefix}Row",
            "venue_class": f"{prefix}Venue",
            "sdk_requirement": f"gaib-sdk>={major}.{minor},<{major}.{minor + 1}",
        }


def _check_name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise GaibValueError(
            f"{what} {value!r} must be lower-case letters and digits in words joined by dashes, starting with a "
            "letter, e.g. ev-charger"
        )
    if len(value) > _MAX_KIND:
        raise GaibValueError(f"{what} {value!r} is longer than {_MAX_KIND} characters")
    return value


def spec_for(name: str, kind: str | None = None) -> PluginSpec:
    """Check NAME (a leading ``gaib-`` is dropped: it is the distribution's prefix) and the kind."""
    name = name.removeprefix("gaib-")
    _check_name(name, "plugin name")
    return PluginSpec(name=name, kind=_check_name(kind, "kind") if kind is not None else name)


def new_plugin(
    name: str, directory: Path, *, kind: str | None = None, venue: bool = False
) -> tuple[PluginSpec, Path, list[Path]]:
    """Write a new plugin into ``directory / "gaib-NAME"``; returns its names, its folder and the files
    written. Refuses a folder that exists already (nothing is overwritten). With ``venue``, the plugin is a
    venue (a :class:`~gaib_sdk.Venue` named NAME) instead of an asset class; ``kind`` is then refused."""
    if venue and kind is not None:
        raise GaibValueError("--kind names an asset class: a venue plugin (--venue) has none, leave --kind out")
    spec = spec_for(name, kind)
    root = directory / spec.dist
    if root.exists():
        raise GaibValueError(f"{root} exists already: remove it, or write the plugin elsewhere with --dir")
    values = spec.substitutions(__version__)
    templates = resources.files(__name__).joinpath("files")
    rendered = {
        root / target.format(package=spec.package): Template(templates.joinpath(source).read_text()).substitute(values)
        for source, target in (_VENUE_FILES if venue else _FILES).items()
    }
    rendered[root / spec.package / "py.typed"] = ""
    try:
        for path, text in rendered.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    except OSError as exc:
        raise GaibValueError(f"cannot write the plugin to {root}: {exc.strerror or exc}") from exc
    return spec, root, sorted(rendered)
