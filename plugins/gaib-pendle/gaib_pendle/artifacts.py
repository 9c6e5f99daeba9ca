"""Where the Pendle artifacts fetched at set-up live: $GAIB_HOME/artifacts/pendle-core-v2-<version>/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaib_sdk import GaibConfigError, gaib_home
from gaib_sdk.chain import load_artifact_file

PACKAGE = "@pendle/core-v2"
PENDLE_VERSION = "6.11.0"
#: Artifact name -> its path under the package's build/artifacts/.
NEEDED = {
    "PendleYieldToken": "contracts/core/YieldContracts/PendleYieldToken.sol/PendleYieldToken.json",
    "PendlePrincipalToken": "contracts/core/YieldContracts/PendlePrincipalToken.sol/PendlePrincipalToken.json",
    "PendleYieldContractFactoryUpg": (
        "contracts/core/YieldContracts/PendleYieldContractFactoryUpg.sol/PendleYieldContractFactoryUpg.json"
    ),
    "PendleMarketV7": "contracts/core/Market/PendleMarketV7.sol/PendleMarketV7.json",
    "PendleMarketFactoryV7Upg": "contracts/core/Market/PendleMarketFactoryV7Upg.sol/PendleMarketFactoryV7Upg.json",
    "OracleLib": "contracts/core/Market/OracleLib.sol/OracleLib.json",
    "IStandardizedYield": "contracts/interfaces/IStandardizedYield.sol/IStandardizedYield.json",
}
#: OpenZeppelin's ERC1967Proxy, compiled at set-up (Pendle's package does not ship one).
PROXY = "ERC1967Proxy"


def artifact_dir() -> Path:
    return gaib_home() / "artifacts" / f"pendle-core-v2-{PENDLE_VERSION}"


def missing(folder: Path | None = None) -> list[str]:
    """The artifacts not (yet) in ``folder``."""
    where = folder or artifact_dir()
    return [name for name in (*NEEDED, PROXY) if not (where / f"{name}.json").exists()]


def load(name: str, folder: Path | None = None) -> dict[str, Any]:
    """One fetched artifact; a GaibConfigError saying how to fetch them if it is not there."""
    where = folder or artifact_dir()
    path = where / f"{name}.json"
    if not path.exists():
        raise GaibConfigError(
            f"Pendle {PENDLE_VERSION} is not fetched ({path} is missing): run `python -m gaib_pendle.fetch` "
            "after `npm ci` (make setup does both)"
        )
    return load_artifact_file(path)
