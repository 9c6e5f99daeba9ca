"""Run by tests/test_bridge.py in a subprocess: bridge AID home -> remote with a journal key, through a
transport that kills this very process (SIGKILL, no clean-up) at a chosen point of the OFT send (the second
transaction: the first approves the adapter).

    python -m tests.bridge_fault_worker HOME_URL REMOTE_URL DEPLOYMENTS JOURNAL POINT

POINT: before_send (signed and journaled, never broadcast) or before_receipt (mined, the packet sent; the
process dies polling for the receipt).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from gaib_sdk import Gaib

from .anvil import KEYS
from .faults import Faults


def die(_: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(home: str, remote: str, deployments: Path, journal: Path, point: str) -> None:
    faults = Faults()
    send = "eth_sendRawTransaction"
    if point == "before_send":
        faults.on(send, "call", skip=1, before=die)
    elif point == "before_receipt":
        faults.on(send, "call", skip=1, after=lambda _: faults.on("eth_getTransactionReceipt", "call", before=die))
    else:
        raise SystemExit(f"unknown point {point}")
    client = await Gaib.connect(home, private_key=KEYS[1], deployments=deployments, journal=journal, transport=faults)
    await client.bridge.open({"remote": remote})
    await client.bridge.send("aid", 6, to="remote", key="crash-1")
    raise SystemExit("the worker was meant to die before the end")


if __name__ == "__main__":
    home, remote, deployments, journal, point = sys.argv[1:]
    asyncio.run(main(home, remote, Path(deployments), Path(journal), point))
