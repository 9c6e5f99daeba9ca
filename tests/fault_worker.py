"""Run by tests/test_faults.py in a subprocess: digitize a small inventory through a transport that kills
this very process (SIGKILL, no clean-up of any kind) at a chosen point of the Nth registerBatch send.

    python -m tests.fault_worker URL DEPLOYMENTS JOURNAL POINT N GPUS BATCH

POINT is one of:
  before_send     the transaction is signed and journaled; the node never sees it
  after_send      the node has it in its pool (mining paused first, so it is not mined); the SDK never
                  learns that the broadcast succeeded
  before_receipt  the node has mined it and the journal says "sent"; the SDK dies polling for the receipt
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import gaib_sdk.client
from gaib_sdk import Gaib
from gaib_sdk.testing.anvil import node_rpc

from .anvil import KEYS
from .faults import Faults, small_inventory


def die(_: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(url: str, deployments: Path, journal: Path, point: str, nth: int, gpus: int, batch: int) -> None:
    gaib_sdk.client.REGISTER_BATCH = batch
    faults = Faults()
    send = "eth_sendRawTransaction"
    if point == "before_send":
        faults.on(send, "call", skip=nth - 1, before=die)
    elif point == "after_send":
        faults.on(send, "call", skip=nth - 1, before=lambda _: node_rpc(url, "evm_setAutomine", False), after=die)
    elif point == "before_receipt":
        faults.on(
            send, "call", skip=nth - 1, after=lambda _: faults.on("eth_getTransactionReceipt", "call", before=die)
        )
    else:
        raise SystemExit(f"unknown point {point}")
    client = await Gaib.connect(url, private_key=KEYS[0], deployments=deployments, journal=journal, transport=faults)
    await client.digitize("gpu", small_inventory(gpus))
    await client.close()
    raise SystemExit("the worker was meant to die before the end")


if __name__ == "__main__":
    url, deployments, journal, point, nth, gpus, batch = sys.argv[1:]
    asyncio.run(main(url, Path(deployments), Path(journal), point, int(nth), int(gpus), int(batch)))
