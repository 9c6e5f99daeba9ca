"""`gaib index`, `gaib points` and `gaib report --index`: the index's commands, added to the `gaib` parser
by :func:`add_commands` (one call in gaib_sdk/cli.py)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from gaib_sdk.cli_types import ADDRESS, AMOUNT, Args, json_option, leaf, rpc_options, run_async, run_sync

__all__ = ["add_commands", "history_report"]


async def _index(args: Args) -> dict[str, Any]:
    from gaib_sdk.client import Gaib
    from gaib_sdk.index import Indexer

    async with await Gaib.connect(args.rpc, journal=False) as client:
        indexer = await Indexer.for_client(
            client,
            args.db,
            confirmations=args.confirmations,
            batch_blocks=args.batch,
            max_blocks=max(args.batch, 10_000),
        )
        try:
            import asyncio

            if args.follow:  # until Ctrl-C; each sync's figures on stderr
                while True:
                    stats = await indexer.sync()
                    if stats.events or stats.rollbacks:
                        print(f"block {stats.to_block}: +{stats.events} events", file=sys.stderr, flush=True)
                    await asyncio.sleep(args.poll)
            stats = await indexer.sync()
            return {
                "db": str(args.db),
                "chain_id": client.chain.chain_id,
                "from_block": stats.from_block,
                "to_block": stats.to_block,
                "events": stats.events,
                "events_total": indexer.count(),
                "ranges": stats.ranges,
                "rollbacks": stats.rollbacks,
                "events_per_second": round(stats.events_per_second, 1),
            }
        finally:
            indexer.close()


def add_commands(gaib: click.Group) -> None:
    """Add `index` and `points` (`report --index` is an option of `gaib report`, run by :func:`history_report`)."""
    leaf(
        gaib,
        "index",
        "follow the protocol's events into a database (SQLite, or PostgreSQL by URL)",
        run_async(_index),
        rpc_options(),
        click.option(
            "--db", default="gaib-index.sqlite", show_default=True, help="a SQLite file or a postgresql:// URL"
        ),
        click.option(
            "--confirmations", type=int, default=0, show_default=True, help="index only blocks this deep under the head"
        ),
        click.option(
            "--batch",
            type=int,
            default=2_000,
            show_default=True,
            help="blocks per eth_getLogs at first (halved on refusal)",
        ),
        click.option("--follow", is_flag=True, help="keep following the chain until interrupted"),
        click.option("--poll", type=float, default=2.0, show_default=True, help="with --follow: seconds between polls"),
        json_option,
    )
    leaf(
        gaib,
        "points",
        "LP points from an index: an account's, a leaderboard, a Merkle distribution",
        run_sync(_points),
        click.option(
            "--index",
            "db",
            default="gaib-index.sqlite",
            show_default=True,
            help="the index: a SQLite file or a postgresql:// URL",
        ),
        click.option(
            "--rules",
            required=True,
            metavar="FILE",
            help="the points rules file (JSON, versioned: see docs/indexer.md)",
        ),
        click.option("--account", type=ADDRESS, help="show this account's points by venue"),
        click.option("--top", type=int, default=10, show_default=True, help="leaderboard size"),
        click.option("--start", type=int, default=0, help="the epoch's start, unix seconds (default: the beginning)"),
        click.option("--end", type=int, help="the epoch's end, unix seconds (default: the index's last block)"),
        click.option("--epoch", type=int, help="with --gaib and --out: export the epoch's Merkle distribution"),
        click.option("--gaib", type=AMOUNT, help="GAIB to distribute in the epoch, pro rata to points"),
        click.option("--out", metavar="FILE", help="where to write the distribution (JSON: root, amounts, proofs)"),
        json_option,
    )


def _points(args: Args) -> int:
    from gaib_sdk.errors import GaibConfigError
    from gaib_sdk.index import Index
    from gaib_sdk.index.points import distribution, load_rules, points

    rules = load_rules(args.rules)
    index = Index.open(args.db)
    try:
        table = points(index, rules, start=args.start, end=args.end)
    finally:
        index.close()
    result: dict[str, Any] = {
        "rules_version": table.rules_version,
        "rules_digest": table.rules_digest,
        "start": table.start,
        "end": table.end,
        "to_block": table.to_block,
        "accounts": len(table.points),
        "leaderboard": [{"account": a, "points": str(p)} for a, p in table.leaderboard(args.top)],
    }
    if args.account:
        found = {a.lower(): a for a in table.points}.get(args.account.lower())
        result["account"] = {
            "address": args.account,
            "points": str(table.points.get(found, Decimal(0)) if found else Decimal(0)),
            "by_venue": {v: str(x) for v, x in table.by_venue.get(found or "", {}).items()},
        }
    if args.epoch is not None:
        if args.gaib is None or args.out is None:
            raise GaibConfigError("--epoch needs --gaib (the epoch's GAIB) and --out (the distribution file)")
        dist = distribution(table, args.epoch, int(args.gaib * 10**18))
        Path(args.out).write_text(dist.model_dump_json(indent=2) + "\n")
        result["distribution"] = {"epoch": dist.epoch, "root": dist.root, "total_wei": str(dist.total), "out": args.out}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"points (rules v{table.rules_version}) to block {table.to_block}: {len(table.points)} accounts")
    for rank, row in enumerate(result["leaderboard"], 1):
        print(f"  {rank:>3}. {row['account']}  {row['points']}")
    if "account" in result:
        print(f"{result['account']['address']}: {result['account']['points']} points {result['account']['by_venue']}")
    if "distribution" in result:
        d = result["distribution"]
        print(f"epoch {d['epoch']}: root {d['root']}, {d['total_wei']} GAIB wei, written to {d['out']}")
    return 0


def history_report(args: Args) -> int:
    from gaib_sdk.index import Index
    from gaib_sdk.index.history import history, write_history

    index = Index.open(args.index)
    try:
        data = history(index)
    finally:
        index.close()
    files = write_history(data, Path(args.out))
    last = data.points[-1] if data.points else None
    summary = {
        "out": str(args.out),
        "files": [f.name for f in files],
        "chain_id": data.chain_id,
        "blocks": [data.first_block, data.last_block],
        "points": len(data.points),
        "payments": len(data.payments),
        "paid_usdc": str(Decimal(sum(p.total for p in data.payments)) / 10**6),
        "said_share_price": str(Decimal(last.share_price) / 10**18) if last else None,
        "nav_aid": str(Decimal(last.nav) / 10**18) if last else None,
        "reserve_usdc": str(Decimal(last.reserve) / 10**6) if last else None,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:<20} {value}")
    return 0
