"""The `gaib node ...` and `gaib attestation` subcommands (wired into gaib_sdk.cli by :func:`add_commands`).

gaib node register BOND --rpc URL           join the node network with a GAIB bond
gaib node bond GAIB | unbond | withdraw     add to the bond; start unbonding; take the bond back
gaib node status --rpc URL [--reports DIR]  an operator's state on chain, and its periods on disk
gaib node run KIND SOURCE --rpc URL --reports DIR [--interval S] [--once] [--period N]
gaib node challenge BUNDLE ASSET_ID --rpc URL [--other FILE]   prove a report false, slash its operator
gaib attestation ASSET_ID --rpc URL         an asset's latest attested status, checked end to end
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaib_sdk.cli_types import add_rpc, address, amount, bytes32
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


def add_commands(
    sub: Any,
    run_async: Callable[[Callable[[argparse.Namespace], Any]], Any],
    connect: Callable[[argparse.Namespace], Any],
    connect_read_only: Callable[[argparse.Namespace], Any],
) -> None:
    """Add `node` and `attestation` to the `gaib` parser. ``connect(args)`` gives a signing client,
    ``connect_read_only(args)`` one without a key."""

    async def register(args: argparse.Namespace) -> dict[str, Any]:
        async with await connect(args) as client:
            return {
                "action": "register",
                "bond_gaib": args.amount,
                "tx_hash": await client.nodes.register_operator(args.amount),
            }

    async def bond(args: argparse.Namespace) -> dict[str, Any]:
        async with await connect(args) as client:
            return {"action": "bond", "amount_gaib": args.amount, "tx_hash": await client.nodes.bond(args.amount)}

    async def unbond(args: argparse.Namespace) -> dict[str, Any]:
        async with await connect(args) as client:
            tx = await client.nodes.request_unbond()
            return {"action": "unbond", "tx_hash": tx, **_plain(await client.nodes.operator())}

    async def withdraw(args: argparse.Namespace) -> dict[str, Any]:
        async with await connect(args) as client:
            return {"action": "withdraw", "tx_hash": await client.nodes.withdraw_bond()}

    async def status(args: argparse.Namespace) -> dict[str, Any]:
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

    async def run(args: argparse.Namespace) -> dict[str, Any]:
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

    async def challenge(args: argparse.Namespace) -> dict[str, Any]:
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

    async def attestation(args: argparse.Namespace) -> dict[str, Any]:
        async with await connect_read_only(args) as client:
            found = await client.nodes.attested_status(args.asset_id, operators=args.operator or None)
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

    p = sub.add_parser("node", help="the node verification network: bond, run the node, challenge false reports")
    node = p.add_subparsers(dest="node_command", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        add_rpc(q, "the node's URL (key in $GAIB_PRIVATE_KEY)")
        q.add_argument("--json", action="store_true", help="print one JSON object (an error too)")

    q = node.add_parser("register", help="join the network with a bond of GAIB (at least the contract's minimum)")
    q.add_argument("amount", type=amount, help="GAIB")
    common(q)
    q.set_defaults(run=run_async(register))
    q = node.add_parser("bond", help="add GAIB to the bond")
    q.add_argument("amount", type=amount, help="GAIB")
    common(q)
    q.set_defaults(run=run_async(bond))
    q = node.add_parser("unbond", help="stop reporting; the bond can be withdrawn after the unbonding delay")
    common(q)
    q.set_defaults(run=run_async(unbond))
    q = node.add_parser("withdraw", help="take the bond back after the unbonding delay")
    common(q)
    q.set_defaults(run=run_async(withdraw))
    q = node.add_parser("status", help="an operator's state on chain (and with --reports, its periods on disk)")
    q.add_argument("--operator", help="another operator's address (read-only; default: the signing account)")
    q.add_argument("--reports", help="the node's reports directory")
    common(q)
    q.set_defaults(run=run_async(status))

    q = node.add_parser("run", help="read telemetry every interval, sign each period's reports, submit its root")
    q.add_argument("kind", help="asset class, e.g. gpu")
    q.add_argument("source", help="the adapter's source: an export file, a DCGM exporter URL, a fleet API URL")
    q.add_argument("--reports", required=True, help="the directory for the node's store and bundles")
    q.add_argument("--interval", type=float, default=60.0, help="seconds between readings (default 60)")
    q.add_argument("--options", help='the adapter\'s options as JSON, e.g. \'{"dcgm": {"inventory": "g.json"}}\'')
    q.add_argument("--publish-url", help="where the bundles are served (default: file:// URIs of the reports dir)")
    q.add_argument("--once", action="store_true", help="stop after the first round that submits a root")
    q.add_argument("--period", type=int, help="close only this period, from the readings on disk, and exit")
    common(q)
    q.set_defaults(run=run_async(run))

    q = node.add_parser("challenge", help="prove a report of a published bundle false and slash its operator")
    q.add_argument("bundle", help="the bundle: a path or a file:// or http(s):// URI (the root event's uri)")
    q.add_argument("asset_id", type=bytes32)
    q.add_argument("--other", help="equivocation: a JSON file {report, signature} of a conflicting signed report")
    common(q)
    q.set_defaults(run=run_async(challenge))

    p = sub.add_parser("attestation", help="an asset's latest attested status: root, proof and signature checked")
    p.add_argument("asset_id", type=bytes32)
    p.add_argument("--operator", action="append", type=address, help="trust only this operator (repeatable)")
    add_rpc(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (an error too)")
    p.set_defaults(run=run_async(attestation))


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if not isinstance(v, int | str | bool | list | type(None)) else v for k, v in data.items()}
