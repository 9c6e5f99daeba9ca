"""Where the SDK keeps files: $GAIB_HOME, by default ~/.gaib."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["gaib_home"]


def gaib_home() -> Path:
    """The SDK's folder for deployments and artifacts built at set-up: $GAIB_HOME or ~/.gaib."""
    return Path(os.environ.get("GAIB_HOME") or Path.home() / ".gaib")
