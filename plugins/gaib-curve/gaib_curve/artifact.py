"""The vendored Curve ABIs, and where the test stand-in's artifacts built at set-up live."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from gaib_sdk import gaib_home

#: The @curvefi/api release the ABIs in ``abis/`` were copied from (MIT; see abis/README.md).
CURVE_API_VERSION = "2.70.1"
STANDIN_POOL = "StableSwapStandIn"
STANDIN_FACTORY = "StableSwapFactoryStandIn"
_ABIS = Path(__file__).with_name("abis")


@cache
def _abi(name: str) -> list[dict[str, Any]]:
    return json.loads((_ABIS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def pool_abi() -> list[dict[str, Any]]:
    """Curve's plain-stableswap-ng ABI, as @curvefi/api ships it."""
    return _abi("plain-stableswap-ng")


def factory_abi() -> list[dict[str, Any]]:
    """Curve's factory-stable-ng ABI, as @curvefi/api ships it."""
    return _abi("factory-stable-ng")


def default_standin_dir() -> Path:
    """$GAIB_HOME/artifacts/curve-standin/: the stand-in pool and factory (``python -m gaib_curve.build``)."""
    return gaib_home() / "artifacts" / "curve-standin"
