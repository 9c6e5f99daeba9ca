"""Compile the StableSwap test stand-in (a pool and a factory), at set-up.

    python -m gaib_curve.build [--source DIR] [--node-modules PATH] [--out DIR]

The stand-in is the project's own Solidity (plugins/gaib-curve/standin/, in the repository only: it is not
part of the gaib-curve package) implementing the StableSwap invariant behind the ABI subset of Curve's
StableSwap-NG that the adapter uses. It is test code, not Curve's: development chains deploy it because
Curve's pool code is published in no package the project can build from. This compiles it with the SDK's
solc 0.8.28 into $GAIB_HOME/artifacts/curve-standin/{StableSwapStandIn,StableSwapFactoryStandIn}.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gaib_curve.artifact import STANDIN_FACTORY, STANDIN_POOL, default_standin_dir
from gaib_sdk.contracts.compiler import compile_sources, find_node_modules

#: Where the stand-in's source is in a checkout of the repository (an editable install).
DEFAULT_SOURCE = Path(__file__).resolve().parent.parent / "standin"


def build(source: Path | None = None, node_modules: Path | None = None, out: Path | None = None) -> Path:
    folder = source or DEFAULT_SOURCE
    unit = folder / f"{STANDIN_POOL}.sol"
    if not unit.exists():
        raise SystemExit(
            f"{unit} is missing: the Curve stand-in is built from a checkout of the gaib-sdk repository "
            "(plugins/gaib-curve/standin), give its folder with --source"
        )
    artifacts = compile_sources(
        {unit.name: unit.read_text()}, node_modules=node_modules or find_node_modules(), source_roots=[folder]
    )
    target = out or default_standin_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in (STANDIN_POOL, STANDIN_FACTORY):
        art = artifacts[name]
        art["note"] = "gaib-sdk test stand-in for Curve StableSwap-NG, not Curve's code"
        (target / f"{name}.json").write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--node-modules", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    path = build(args.source, args.node_modules, args.out)
    print(f"built the Curve StableSwap test stand-in into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
