"""Onboard 10,000 synthetic GPUs against a local anvil and print time and gas per 1,000 GPUs at 1,000 and
10,000 GPUs, and the SDK's overhead over raw web3.py. The same as `gaib bench onboard --gpus 10000`.

    python scripts/bench_onboard.py [--gpus N] [--json] [--rpc URL] [--no-raw]
"""

from __future__ import annotations

import sys

from gaib_sdk.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
