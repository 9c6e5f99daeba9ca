"""Build Safe 1.4.1 from the npm package @safe-global/safe-contracts, at set-up (``make setup`` runs it).

    python -m gaib_sdk.chain.build_safe [--node-modules PATH] [--out PATH]

Safe's licence is LGPL-3.0: its sources and artifacts are never committed. They go to
$GAIB_HOME/artifacts/safe-1.4.1/ (Safe.json, SafeProxyFactory.json); see gaib_sdk.chain.governance.
"""

from __future__ import annotations

import sys

from gaib_sdk.chain.artifacts import build_command
from gaib_sdk.chain.governance import SAFE_VERSION, build_safe


def main() -> int:
    return build_command(build_safe, f"Safe {SAFE_VERSION}", __doc__)


if __name__ == "__main__":
    sys.exit(main())
