"""`gaib bridge` and `gaib networks`: AID and sAID across networks, and the networks file.

    gaib bridge aid|said AMOUNT --to NETWORK [--recipient ADDR] [--quote] [--key K] [--wait SECONDS]
    gaib networks [--json]

``gaib bridge`` connects to the home chain (``--rpc`` / ``--network``, key in $GAIB_PRIVATE_KEY), opens the
bridge saved with its deployment (each other network's RPC from ``--remote-rpc NAME=URL``, else
$GAIB_RPC_<NAME> or the networks file), prints the fee quote, then sends. ``--key`` names the transfer in the
transaction journal: run again after a crash, the same command finds the transfer sent and sends nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from gaib_sdk.cli_types import add_rpc, address, amount
from gaib_sdk.errors import GaibConfigError

__all__ = ["add_commands"]


def _remote_rpcs(items: list[str]) -> dict[str, str]:
    rpcs = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name.strip():
            raise GaibConfigError(f"--remote-rpc {item!r}: write NETWORK=URL, e.g. --remote-rpc base=https://...")
        rpcs[name.strip()] = url.strip()
    return rpcs


def add_commands(sub: Any, run_async: Callable[..., Any], connect: Callable[..., Any]) -> None:
    """Register `gaib bridge` and `gaib networks` on the `gaib` parser's subcommands."""

    async def bridge(args: argparse.Namespace) -> dict[str, Any]:
        async with await connect(args) as client:
            await client.bridge.open(_remote_rpcs(args.remote_rpc))
            try:
                quote = await client.bridge.quote(args.token, args.amount, to=args.to, recipient=args.recipient)
                out: dict[str, Any] = {
                    "token": quote.token,
                    "amount": str(args.amount),
                    "from": quote.src,
                    "to": quote.dst,
                    "recipient": quote.recipient,
                    "fee_wei": quote.fee,
                }
                if args.quote:
                    return out
                transfer = await client.bridge.send(
                    args.token, args.amount, to=args.to, recipient=args.recipient, key=args.key
                )
                out |= {"guid": transfer.guid, "nonce": transfer.nonce, "tx_hash": transfer.tx_hash}
                if args.wait:
                    out["status"] = await client.bridge.wait_for_delivery(transfer, timeout=args.wait, poll=1)
                else:
                    out["status"] = await client.bridge.status(transfer)
                return out
            finally:
                for end in client.bridge.attached.ends.values():
                    if end.chain is not client.chain:
                        await end.chain.close()

    async def networks(args: argparse.Namespace) -> dict[str, Any]:
        from gaib_sdk.networks import networks as known

        if args.json:
            return {name: net.model_dump() for name, net in known().items()}
        return {
            name: f"chain {net.chain_id}, LayerZero eid {net.layerzero_eid}, USDC {net.usdc}"
            for name, net in known().items()
        }

    p = sub.add_parser("bridge", help="send AID or sAID to another network (LayerZero OFT): a fee quote, then the send")
    p.add_argument("token", choices=["aid", "said"])
    p.add_argument("amount", type=amount, help="in tokens, at most 6 decimals (what the bridge carries)")
    p.add_argument("--to", required=True, help="the destination network, as the bridge names it")
    p.add_argument("--recipient", type=address, help="who receives there (default: the signing account)")
    p.add_argument(
        "--remote-rpc",
        action="append",
        default=[],
        metavar="NETWORK=URL",
        help="another network's node (default: $GAIB_RPC_<NAME>, then the networks file)",
    )
    p.add_argument("--quote", action="store_true", help="print the fee quote and send nothing")
    p.add_argument("--key", help="name the transfer in the journal: after a crash, the same command sends nothing")
    p.add_argument("--wait", type=float, default=0, help="seconds to wait for delivery (default: do not wait)")
    add_rpc(p, "the home chain's node URL")
    p.add_argument("--json", action="store_true", help="print one JSON object (an error too)")
    p.set_defaults(run=run_async(bridge))

    p = sub.add_parser("networks", help="the networks file: chain id, USDC, LayerZero endpoint, each with a source")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_async(networks))
