"""Onboard 10,000 synthetic GPUs against a local anvil and print time and gas per 1,000 GPUs at 1,000 and
10,000 GPUs, and the SDK's overhead over raw web3.py. The same as `gaib bench onboard --gpus 10000`.

    python scripts/bench_onboard.py [--gpus N] [--json] [--rpc URL] [--no-raw]
    python scripts/bench_onboard.py --cluster [--gpus N] [--per-asset N] [--rounds N] [--json]

``--cluster`` digitizes 1,000 and N GPUs as one cluster each and prints their times and ratio (linear: x10
GPUs in at most x11 time), and the per-asset path's rate against anvil's ceiling (pre-signed transfers),
both measured in the same run (docs/performance.md, Onboarding at scale).
"""

from __future__ import annotations

import sys

from gaib_sdk.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
