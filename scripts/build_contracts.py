"""Build the Solidity contracts.

    python scripts/build_contracts.py           compile gaib_sdk/contracts/src into gaib_sdk/contracts/artifacts
    python scripts/build_contracts.py --check   fail if the committed artifacts differ from a fresh build

Needs `npm ci` first (solc-js and OpenZeppelin come from the npm registry). Third-party protocol code is
built by its plugin at set-up, never here and never committed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gaib_sdk.contracts.compiler import compile_sources

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "gaib_sdk" / "contracts" / "src"
OUT = ROOT / "gaib_sdk" / "contracts" / "artifacts"


def build() -> dict[str, str]:
    sources = {p.name: p.read_text() for p in sorted(SRC.glob("*.sol"))}
    artifacts = compile_sources(sources, node_modules=ROOT / "node_modules", source_roots=[SRC])
    # Only the contracts defined in our own sources: interfaces and libraries from imports are not shipped.
    return {
        f"{name}.json": json.dumps(art, indent=1, sort_keys=True) + "\n"
        for name, art in sorted(artifacts.items())
        if art["bytecode"] != "0x"
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts")
    args = parser.parse_args()
    built = build()
    if args.check:
        committed = {p.name: p.read_text() for p in OUT.glob("*.json")}
        stale = sorted(n for n in built.keys() | committed.keys() if built.get(n) != committed.get(n))
        if stale:
            print("artifacts differ from the sources: " + ", ".join(stale), file=sys.stderr)
            print("run `python scripts/build_contracts.py` and commit the result", file=sys.stderr)
            return 1
        print(f"{len(built)} artifacts match their sources")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        if old.name not in built:
            old.unlink()
    for name, text in built.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(built)} artifacts to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
