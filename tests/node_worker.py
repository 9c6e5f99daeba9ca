"""Run by tests/test_node.py in a subprocess: a node that closes its pending periods through a transport that
kills this very process (SIGKILL, no clean-up of any kind) when it sends the period's root.

    python -m tests.node_worker URL DEPLOYMENTS JOURNAL REPORTS SOURCE POINT

POINT is one of:
  before_send  the reports are signed and on disk, the root's transaction signed and journaled; the node
               never sees it
  after_send   the node has the transaction in its pool (mining paused first, so it is not mined); the
               SDK never learns that the broadcast succeeded
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from gaib_sdk import Gaib
from gaib_sdk.node import NodeRunner
from gaib_sdk.testing.anvil import node_rpc

from .anvil import KEYS
from .faults import Faults


def die(_: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str, deployments: Path, journal: Path, reports: Path, source: str, point: str) -> None:
    faults = Faults()
    send = "eth_sendRawTransaction"
    if point == "before_send":
        faults.on(send, "call", before=die)
    elif point == "after_send":
        faults.on(send, "call", before=lambda _: node_rpc(url, "evm_setAutomine", False), after=die)
    else:
        raise SystemExit(f"unknown point {point}")
    client = await Gaib.connect(url, private_key=KEYS[1], deployments=deployments, journal=journal, transport=faults)
    runner = await NodeRunner.open(client, "gpu", source, reports)
    await runner.close_pending()
    raise SystemExit("the worker was meant to die before the end")


if __name__ == "__main__":
    url, deployments, journal, reports, source, point = sys.argv[1:]
    asyncio.run(main(url, Path(deployments), Path(journal), Path(reports), source, point))
