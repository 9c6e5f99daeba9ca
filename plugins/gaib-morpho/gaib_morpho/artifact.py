"""Where the Morpho Blue artifact built at set-up lives: $GAIB_HOME/artifacts/morpho-blue-<version>/."""

from __future__ import annotations

from pathlib import Path

from gaib_sdk import gaib_home

MORPHO_VERSION = "1.0.0"


def default_artifact_path() -> Path:
    return gaib_home() / "artifacts" / f"morpho-blue-{MORPHO_VERSION}" / "Morpho.json"
