"""`gaib bridge` and `gaib networks`: AID and sAID across networks, and the networks file.

    gaib bridge aid|said AMOUNT --to NETWORK [--recipient ADDR] [--quote] [--key K] [--wait SECONDS]
    gaib networks [--json]

``gaib bridge`` connects to the home chain (``--rpc`` / ``--network``, key in $GAIB_PRIVATE_KEY), opens the
bridge saved with its deployment (each other network's RPC from ``--remote-rpc NAME=URL``, else
$GAIB_RPC_<NAME> or the networks file), prints the fee quote, then sends. ``--key`` names the transfer in the
transaction journal: run again after a crash, the same command finds the transfer sent and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from gaib_sdk.cli_types import ADDRESS, AMOUNT, Args, arg, json_option, leaf, rpc_options, run_async
from gaib_sdk.errors import GaibConfigError

__all__ = ["add_commands"]


def _remote_rpcs(items: Sequence[str]) -> dict[str, str]:
    rpcs = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name.strip():
            raise GaibConfigError(f"--remote-rpc {item!r}: write NETWORK=URL, e.g. --remote-rpc base=https://...")
        rpcs[name.strip()] = url.strip()
    return rpcs


def add_commands(gaib: click.Group, connect: Callable[..., Any]) -> None:
    """Add `gaib bridge` and `gaib networks` to the `gaib` command."""

    async def bridge(args: Args) -> dict[str, Any]:
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

    async def networks(args: Args) -> dict[str, Any]:
        from gaib_sdk.networks import networks as known

        if args.json:
            return {name: net.model_dump() for name, net in known().items()}
        return {
            name: f"chain {net.chain_id}, LayerZero eid {net.layerzero_eid}, USDC {net.usdc}"
            for name, net in known().items()
        }

    leaf(
        gaib,
        "bridge",
        "send AID or sAID to another network (LayerZero OFT): a fee quote, then the send",
        run_async(bridge),
        arg("token", "aid or said", type=click.Choice(["aid", "said"])),
        arg("amount", "in tokens, at most 6 decimals (what the bridge carries)", type=AMOUNT),
        click.option("--to", required=True, metavar="NETWORK", help="the destination network, as the bridge names it"),
        click.option("--recipient", type=ADDRESS, help="who receives there (default: the signing account)"),
        click.option(
            "--remote-rpc",
            multiple=True,
            metavar="NETWORK=URL",
            help="another network's node (default: $GAIB_RPC_<NAME>, then the networks file)",
        ),
        click.option("--quote", is_flag=True, help="print the fee quote and send nothing"),
        click.option("--key", help="name the transfer in the journal: after a crash, the same command sends nothing"),
        click.option("--wait", type=float, default=0, help="seconds to wait for delivery (default: do not wait)"),
        rpc_options("the home chain's node URL"),
        json_option,
    )
    leaf(
        gaib,
        "networks",
        "the networks file: chain id, USDC, LayerZero endpoint, each with a source",
        run_async(networks),
        json_option,
    )
