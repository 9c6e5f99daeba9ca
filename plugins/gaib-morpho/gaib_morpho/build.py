"""Build Morpho Blue from the npm package @morpho-org/morpho-blue, at set-up.

    python -m gaib_morpho.build [--node-modules PATH] [--out PATH]

Morpho's sources and artifacts are never committed (the package's licence is BUSL-1.1, GPL-2.0-or-later
since its change date): `npm ci` fetches them and this compiles them with solc 0.8.19, which Morpho
pins, into $GAIB_HOME/artifacts/morpho-blue-1.0.0/Morpho.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gaib_morpho.artifact import MORPHO_VERSION, default_artifact_path
from gaib_sdk.chain.artifacts import build_command
from gaib_sdk.contracts.compiler import compile_sources, find_node_modules


def build(node_modules: Path | None = None, out: Path | None = None) -> Path:
    modules = node_modules or find_node_modules()
    package = modules / "@morpho-org" / "morpho-blue"
    meta = json.loads((package / "package.json").read_text())
    if meta["version"] != MORPHO_VERSION:
        raise SystemExit(f"expected @morpho-org/morpho-blue {MORPHO_VERSION}, found {meta['version']}")
    source = (package / "src" / "Morpho.sol").read_text()
    # Morpho's own settings: solc 0.8.19, paris, optimizer with 999999 runs, no via-IR.
    artifacts = compile_sources(
        {"Morpho.sol": source},
        compiler="solc0819",
        evm_version="paris",
        optimizer_runs=999999,
        node_modules=modules,
        source_roots=[package / "src"],
    )
    target = out or default_artifact_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    art = artifacts["Morpho"]
    art["package"] = f"@morpho-org/morpho-blue@{MORPHO_VERSION}"
    target.write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")
    return target


def main() -> int:
    return build_command(build, f"Morpho Blue {MORPHO_VERSION}", __doc__)


if __name__ == "__main__":
    sys.exit(main())
