"""The `gaib node ...` and `gaib attestation` subcommands (wired into gaib_sdk.cli by :func:`add_commands`).

gaib node register BOND --rpc URL           join the node network with a GAIB bond
gaib node bond GAIB | unbond | withdraw     add to the bond; start unbonding; take the bond back
gaib node status --rpc URL [--reports DIR]  an operator's state on chain, and its periods on disk
gaib node run KIND SOURCE --rpc URL --reports DIR [--interval S] [--once] [--period N]
gaib node challenge BUNDLE ASSET_ID --rpc URL [--other FILE]   prove a report false, slash its operator
gaib attestation ASSET_ID --rpc URL         an asset's latest attested status, checked end to end
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gaib_sdk.cli_types import ADDRESS, AMOUNT, BYTES32, Args, arg, group, json_option, leaf, rpc_options, run_async
from gaib_sdk.errors import GaibValueError

if TYPE_CHECKING:
    from gaib_sdk.node.runner import PeriodResult

__all__ = ["add_commands"]


def _uri(bundle: str) -> str:
    return bundle if "://" in bundle else Path(bundle).resolve().as_uri()


def _options(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GaibValueError(f"--options must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise GaibValueError('--options must be a JSON object, e.g. \'{"dcgm": {"inventory": "gpus.json"}}\'')
    return value


def _result(r: PeriodResult) -> dict[str, Any]:
    return {
        "period": r.period,
        "root": r.root,
        "count": r.count,
        "uri": r.uri,
        "tx_hash": r.tx_hash,
        "signed_now": r.signed_now,
        "submitted_now": r.submitted_now,
    }


def add_commands(gaib: click.Group, connect: Callable[[Args], Any], connect_read_only: Callable[[Args], Any]) -> None:
    """Add `node` and `attestation` to the `gaib` command. ``connect(args)`` gives a signing client,
    ``connect_read_only(args)`` one without a key."""

    async def register(args: Args) -> dict[str, Any]:
        async with await connect(args) as client:
            return {
                "action": "register",
                "bond_gaib": args.amount,
                "tx_hash": await client.nodes.register_operator(args.amount),
            }

    async def bond(args: Args) -> dict[str, Any]:
        async with await connect(args) as client:
            return {"action": "bond", "amount_gaib": args.amount, "tx_hash": await client.nodes.bond(args.amount)}

    async def unbond(args: Args) -> dict[str, Any]:
        async with await connect(args) as client:
            tx = await client.nodes.request_unbond()
            return {"action": "unbond", "tx_hash": tx, **_plain(await client.nodes.operator())}

    async def withdraw(args: Args) -> dict[str, Any]:
        async with await connect(args) as client:
            return {"action": "withdraw", "tx_hash": await client.nodes.withdraw_bond()}

    async def status(args: Args) -> dict[str, Any]:
        from gaib_sdk.node.store import NodeStore

        client = await (connect_read_only(args) if args.operator else connect(args))
        async with client:
            data = _plain(await client.nodes.operator(args.operator))
            if args.reports:
                scope = f"{client.chain.chain_id}:{client.nodes.attestation.address}:{data['operator']}"
                store = NodeStore(Path(args.reports).resolve(), scope)
                try:
                    data["periods_on_disk"] = [
                        {"period": p.period, "root": p.root, "count": p.count, "submitted": p.submitted}
                        for p in store.periods()
                    ]
                finally:
                    store.close()
            return data

    async def run(args: Args) -> dict[str, Any]:
        from gaib_sdk.node.runner import NodeRunner

        say = (lambda _: None) if args.json else (lambda msg: print(f"  .. {msg}", file=sys.stderr, flush=True))
        async with await connect(args) as client:
            runner = await NodeRunner.open(
                client,
                args.kind,
                args.source,
                args.reports,
                options=_options(args.options),
                interval=args.interval,
                publish_url=args.publish_url,
                say=say,
            )
            try:
                if args.period is not None:
                    closed = await runner.close_period(args.period)
                    results = [closed] if closed is not None else []
                else:
                    results = await runner.run(once=args.once)
            finally:
                runner.close()
            return {"operator": client.address, "periods": [_result(r) for r in results]}

    async def challenge(args: Args) -> dict[str, Any]:
        from gaib_sdk.node.bundle import fetch_bundle
        from gaib_sdk.node.report import DeviceReport

        bundle = await fetch_bundle(_uri(args.bundle))
        item = next((i for i in bundle.reports if i.report.asset_id == args.asset_id.lower()), None)
        if item is None:
            raise GaibValueError(f"the bundle at {args.bundle} holds no report on asset {args.asset_id}")
        other = other_sig = None
        if args.other:
            raw = json.loads(Path(args.other).read_text())
            other, other_sig = DeviceReport.model_validate(raw["report"]), str(raw["signature"])
        async with await connect(args) as client:
            result = await client.nodes.challenge(
                bundle.operator,
                item.report,
                list(item.proof),
                period=bundle.period,
                other=other,
                other_signature=other_sig,
            )
            return _plain(result)

    async def attestation(args: Args) -> dict[str, Any]:
        async with await connect_read_only(args) as client:
            found = await client.nodes.attested_status(args.asset_id, operators=list(args.operator) or None)
            if found is None:
                return {"asset_id": args.asset_id, "attested": False}
            return {
                "asset_id": found.asset_id,
                "attested": True,
                "operator": found.operator,
                "period": found.period,
                "period_start": found.period_start,
                "period_end": found.period_end,
                "health": found.health,
                "utilisation": str(found.utilisation),
                "revenue_usdc": str(found.revenue_usdc),
                "device_id": found.device_id,
                "telemetry_hash": found.telemetry_hash,
                "root": found.root,
                "uri": found.uri,
            }

    node = group(gaib, "node", "the node verification network: bond, run the node, challenge false reports")
    common = (rpc_options("the node's URL (key in $GAIB_PRIVATE_KEY)"), json_option)
    leaf(
        node,
        "register",
        "join the network with a bond of GAIB (at least the contract's minimum)",
        run_async(register),
        arg("amount", "GAIB", type=AMOUNT),
        *common,
    )
    leaf(node, "bond", "add GAIB to the bond", run_async(bond), arg("amount", "GAIB", type=AMOUNT), *common)
    leaf(
        node,
        "unbond",
        "stop reporting; the bond can be withdrawn after the unbonding delay",
        run_async(unbond),
        *common,
    )
    leaf(node, "withdraw", "take the bond back after the unbonding delay", run_async(withdraw), *common)
    leaf(
        node,
        "status",
        "an operator's state on chain (and with --reports, its periods on disk)",
        run_async(status),
        click.option(
            "--operator", type=ADDRESS, help="another operator's address (read-only; default: the signing account)"
        ),
        click.option("--reports", metavar="DIR", help="the node's reports directory"),
        *common,
    )
    leaf(
        node,
        "run",
        "read telemetry every interval, sign each period's reports, submit its root",
        run_async(run),
        arg("kind", "the asset class, e.g. gpu"),
        arg("source", "the adapter's source: an export file, a DCGM exporter URL, a fleet API URL"),
        click.option("--reports", required=True, metavar="DIR", help="the directory for the node's store and bundles"),
        click.option("--interval", type=float, default=60.0, show_default=True, help="seconds between readings"),
        click.option(
            "--options",
            metavar="JSON",
            help='the adapter\'s options as JSON, e.g. \'{"dcgm": {"inventory": "g.json"}}\'',
        ),
        click.option(
            "--publish-url",
            metavar="URL",
            help="where the bundles are served (default: file:// URIs of the reports dir)",
        ),
        click.option("--once", is_flag=True, help="stop after the first round that submits a root"),
        click.option("--period", type=int, help="close only this period, from the readings on disk, and exit"),
        *common,
    )
    leaf(
        node,
        "challenge",
        "prove a report of a published bundle false and slash its operator",
        run_async(challenge),
        arg("bundle", "the bundle: a path or a file:// or http(s):// URI (the root event's uri)"),
        arg("asset_id", "the asset's id, 0x and 64 hex digits", type=BYTES32),
        click.option(
            "--other",
            metavar="FILE",
            help="equivocation: a JSON file {report, signature} of a conflicting signed report",
        ),
        *common,
    )
    leaf(
        gaib,
        "attestation",
        "an asset's latest attested status: root, proof and signature checked",
        run_async(attestation),
        arg("asset_id", "the asset's id, 0x and 64 hex digits", type=BYTES32),
        click.option("--operator", type=ADDRESS, multiple=True, help="trust only this operator (repeatable)"),
        rpc_options(),
        json_option,
    )


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if not isinstance(v, int | str | bool | list | type(None)) else v for k, v in data.items()}
