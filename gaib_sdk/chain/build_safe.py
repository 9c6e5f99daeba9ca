"""Build Safe 1.4.1 from the npm package @safe-global/safe-contracts, at set-up (``make setup`` runs it).

    python -m gaib_sdk.chain.build_safe [--node-modules PATH] [--out PATH]

Safe's licence is LGPL-3.0: its sources and artifacts are never committed. They go to
$GAIB_HOME/artifacts/safe-1.4.1/ (Safe.json, SafeProxyFactory.json); see gaib_sdk.chain.governance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gaib_sdk.chain.governance import SAFE_VERSION, build_safe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node-modules", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    path = build_safe(args.node_modules, args.out)
    print(f"built Safe {SAFE_VERSION} into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
