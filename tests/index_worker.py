"""Run by tests/test_index.py in a subprocess: index a deployment on a node, two blocks a range, and kill
this very process (SIGKILL, no clean-up of any kind) at the Nth time the indexer reaches STAGE.

    python -m tests.index_worker URL DEPLOYMENTS DB STAGE N

STAGE is one of the indexer's stages: fetched (logs read, nothing written), written (the range's rows are
in the open transaction, not committed), committed (the range and its cursor are committed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from gaib_sdk import Gaib
from gaib_sdk.index import Indexer


async def main(url: str, deployments: Path, db: str, stage: str, nth: int) -> None:
    client = await Gaib.connect(url, deployments=deployments, journal=False)
    indexer = await Indexer.for_client(client, db, batch_blocks=2, max_blocks=2)
    seen = 0

    def on_stage(reached: str) -> None:
        nonlocal seen
        if reached == stage:
            seen += 1
            if seen == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    indexer.on_stage = on_stage
    await indexer.sync()
    raise SystemExit("the worker was meant to die before the end")


if __name__ == "__main__":
    url, deployments, db, stage, nth = sys.argv[1:]
    asyncio.run(main(url, Path(deployments), db, stage, int(nth)))
