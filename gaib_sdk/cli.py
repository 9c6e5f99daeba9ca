"""`gaib`: the command line.

    gaib quickstart [--json] [--venue morpho]   the three stages end to end on an in-process EVM
    gaib plugins [--json]                       installed asset classes and venues
    gaib quote KIND [SOURCE] [--advance USD]    underwrite an inventory (no chain; --term-days N)
    gaib deploy --rpc URL                       deploy the protocol to a node (key in $GAIB_PRIVATE_KEY)
    gaib digitize KIND SOURCE --rpc URL         register an inventory's assets on a node
    gaib bench onboard [--gpus N] [--json]      onboard N synthetic GPUs on anvil: time and gas per 1,000
    gaib bench onboard --cluster [--gpus N]     digitize as one cluster: time at 1,000 and N, per-asset tx/s vs anvil
    gaib bench overhead [--json]                the three stages via the SDK vs raw web3.py: time, calls/tx
    gaib plugin new NAME [--kind K | --venue]  write a new asset-class (or venue) plugin package
    gaib report --out DIR [--rpc URL] [--json]  NAV report: HTML page, PNG plots and JSON, read from the chain
    gaib finance KIND SOURCE --rpc URL          underwrite a digitized inventory and open its deal
    gaib repay DEAL USDC --rpc URL [--key K]    pay into a deal through the waterfall
    gaib mint USDC | redeem AID | stake AID     AID and sAID for the signing account (--rpc URL, --key K)
    gaib request-unstake SHARES | claim-unstake  sAID exit (ERC-7540): request, wait for the cycle, claim
    gaib whitelist ADDRESS | faucet ADDRESS USDC  KYC whitelist; test USDC on a local chain
    gaib status --rpc URL                       AID supply and backing, sAID share price, the queue
    gaib node register|bond|unbond|withdraw|status|run|challenge   the node network (docs/node-operators.md)
    gaib venue NAME quote|add|remove|positions [AMOUNT] --rpc URL   a DeFi venue's common calls
    gaib attestation ASSET_ID --rpc URL         an asset's latest attested status, checked end to end
    gaib bridge aid|said AMOUNT --to NETWORK    AID / sAID to another network (LayerZero): fee quote, then send
    gaib networks [--json]                      networks by name: chain id, USDC, LayerZero endpoint, sources

A user's mistake is one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from gaib_sdk import __version__
from gaib_sdk.bridge_cli import add_commands as add_bridge_commands
from gaib_sdk.cli_types import add_rpc as _add_rpc
from gaib_sdk.cli_types import address as _address
from gaib_sdk.cli_types import amount as _amount
from gaib_sdk.cli_types import day as _day
from gaib_sdk.cli_types import rpc_args as _rpc_args
from gaib_sdk.errors import GaibConfigError, GaibError
from gaib_sdk.node.cli import add_commands as add_node_commands

if TYPE_CHECKING:
    from gaib_sdk.client import Gaib

# The SDK (web3, eth-account, the EVM) is imported by the commands that use it, not by `gaib --version`.

__all__ = ["main"]


def _json_default(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_json_default))


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one JSON object on stdout when the command line asks for --json."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            _print_json({"error": {"type": "UsageError", "message": f"{self.prog}: {message}"}})
            self.print_usage(sys.stderr)
            sys.exit(2)
        super().error(message)


def _usd(value: str | Decimal) -> str:
    return f"{Decimal(value):,.2f}"


def _short(value: str) -> str:
    """A detail for a person: decimals to 4 places (the JSON keeps them whole)."""
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    return f"{number:,.4f}" if "." in value and number.is_finite() else value


def _quickstart(args: argparse.Namespace) -> int:
    from gaib_sdk.quickstart import run_quickstart

    started = time.perf_counter()
    say = (lambda _: None) if args.json else (lambda msg: print(f"  .. {msg}", flush=True))
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    summary = asyncio.run(run_quickstart(venue=args.venue, kind=args.kind, as_of=as_of, say=say))
    summary["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        _print_json(summary)
        return 0
    deal, rep = summary["deal"], summary["repayment"]
    print()
    print("gaib quickstart: the three stages on an in-process EVM (no node, no key, no network)")
    print(f"  chain id                {summary['chain_id']}")
    what = "GPUs" if summary["kind"] == "gpu" else f"{summary['kind']} assets"
    print(f"  1. digitize             {summary['assets']} {what} of {summary['operator']} registered on-chain")
    print(f"  2. financialize         deal #{deal['id']}: advance {_usd(deal['advance'])} USDC against")
    print(
        f"                          appraised value {_usd(deal['appraised_value'])} USDC "
        f"(cover {deal['cover']}x, {deal['terms']['rate_bps'] / 100:.2f}% fixed)"
    )
    print(
        f"     repayment            fees {_usd(rep['fees'])} + interest {_usd(rep['interest'])} + principal "
        f"{_usd(rep['principal'])} USDC"
    )
    print(f"     AID supply           {_usd(summary['aid_supply'])} AID")
    print(
        f"     sAID share price     {summary['said_share_price_before']:.6f} -> {summary['said_share_price']:.6f} AID"
    )
    print(f"  3. add liquidity        {summary['venue']}:")
    for p in summary["venue_positions"]:
        extra = ", ".join(f"{k} {_short(v)}" for k, v in p["details"].items())
        print(
            f"     {p['side']:<11} {_usd(p['amount']):>14} {p['asset']:<5} {p['account'][:10]}…"
            + (f"  ({extra})" if extra else "")
        )
    print(f"  transactions            {sum(len(v) for v in summary['tx'].values())} in {summary['seconds']} s")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from gaib_sdk.plugins import Plugins

    plugins = Plugins()
    data = {
        "asset_adapters": {k: f"{v.__module__}.{v.__qualname__}" for k, v in plugins.asset_adapters().items()},
        "venues": {k: f"{v.__module__}.{v.__qualname__}" for k, v in plugins.venues().items()},
    }
    if args.json:
        _print_json(data)
    else:
        for section, entries in data.items():
            print(section.replace("_", " ") + ":")
            for name, where in sorted(entries.items()):
                print(f"  {name:<10} {where}")
            if not entries:
                print("  (none installed)")
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any] | None:
    """--option NAME=VALUE pairs for the asset adapter (its options model checks names and values)."""
    return _pairs(getattr(args, "option", None) or [], "--option", "operator=acme") or None


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object (an error too)")


def _pairs(items: list[str], flag: str, example: str) -> dict[str, str]:
    """NAME=VALUE command-line pairs as a dict; one without a name or an = is refused naming the flag."""
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise GaibConfigError(f"{flag} {item!r}: write NAME=VALUE, e.g. {flag} {example}")
        pairs[name.strip()] = value
    return pairs


def _terms(args: argparse.Namespace) -> Any:
    """DealTerms from --structure, --rate-bps, --revenue-share-bps, --fee-bps, --term-days; None if none given."""
    from pydantic import ValidationError

    from gaib_sdk.models import DealTerms

    given = {
        k: getattr(args, k)
        for k in ("structure", "rate_bps", "revenue_share_bps", "fee_bps", "term_days")
        if getattr(args, k, None) is not None
    }
    if not given:
        return None
    try:
        return DealTerms(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        flag = f"--{field.replace('_', '-')}: " if field else ""
        raise GaibConfigError(f"deal terms: {flag}{err['msg'].removeprefix('Value error, ')}") from None


def _add_deal_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help="an option of the asset adapter, e.g. --option operator=acme (repeatable)",
    )
    p.add_argument("--structure", choices=["fixed", "revenue_share", "hybrid"], help="the deal (default: fixed)")
    p.add_argument("--rate-bps", type=int, help="the fixed rate, basis points a year (default: 1200)")
    p.add_argument("--revenue-share-bps", type=int, help="share of gross revenue: 5000-7000, hybrid 1-4999")
    p.add_argument("--fee-bps", type=int, help="the protocol fee, basis points a year (default: 50)")
    p.add_argument("--term-days", type=int, help="the term in days, 30 a month (default: 720)")


async def _quote(args: argparse.Namespace) -> dict[str, Any]:
    from gaib_sdk.client import Gaib

    client = Gaib.offline()
    quote = await client.deals.quote(
        args.kind,
        args.source,
        as_of=date.fromisoformat(args.as_of) if args.as_of else None,
        advance_usd=Decimal(args.advance) if args.advance else None,
        terms=_terms(args),
        options=_options(args),
        prices=args.prices,
    )
    data = quote.model_dump(mode="json", exclude={"valuations"})
    if not args.json:  # a person wants the count, not 64 hashes, and one line of the stress test
        data["asset_ids"] = f"{len(quote.asset_ids)} assets"
        if quote.stress is not None:
            s = quote.stress
            data["stress"] = (
                f"passed: worst {s.worst_scenario!r} loses {s.worst_loss_rate:.2%} (limit {s.worst_limit_rate:.0%})"
                if s.passed
                else f"failed: {s.refusal}"
            )
    return data


def _private_key() -> str:
    key = os.environ.get("GAIB_PRIVATE_KEY")
    if not key:
        raise GaibConfigError("set GAIB_PRIVATE_KEY to the signing account's private key (it is never printed)")
    return key


async def _deploy(args: argparse.Namespace) -> dict[str, Any]:
    from gaib_sdk.chain.governance import GovernanceConfig
    from gaib_sdk.client import Gaib

    roles = {}
    for item in args.role or []:
        name, sep, address = item.partition("=")
        if not sep:
            raise GaibConfigError(f"--role {item!r}: write it NAME=ADDRESS, e.g. --role underwriter=0x...")
        roles[name.strip()] = address.strip()
    governance = None
    if args.safe_owner:
        try:
            governance = GovernanceConfig(
                owners=tuple(args.safe_owner),
                threshold=args.safe_threshold or len(args.safe_owner),
                **({"delay": args.timelock_delay} if args.timelock_delay is not None else {}),
            )
        except ValueError as exc:
            raise GaibConfigError(f"governance: {exc}") from exc
    usdc = args.usdc
    if usdc is None and args.network:  # the network's native USDC, from the networks file
        from gaib_sdk.networks import network

        usdc = network(args.network).usdc
    if args.plan:  # rehearsed on a fork of the network: every transaction, its gas, the addresses; nothing sent
        from gaib_sdk.networks import rpc_url
        from gaib_sdk.plan import plan_deployment

        url = rpc_url(args.network) if args.network else args.rpc
        return await plan_deployment(
            url, _private_key(), usdc=usdc, roles=roles or None, governance=governance, network=args.network
        )
    async with await Gaib.connect(**_rpc_args(args), private_key=_private_key()) as client:
        deployment = await client.deploy(usdc=usdc, roles=roles or None, governance=governance, replace=args.replace)
        return deployment.model_dump()


async def _digitize(args: argparse.Namespace) -> dict[str, Any]:
    from gaib_sdk.client import Gaib

    async with await Gaib.connect(**_rpc_args(args), private_key=_private_key()) as client:
        inventory = await client.assets.read_inventory(args.kind, args.source, options=_options(args))
        if not args.json:  # what the wait is for; stderr, so that stdout stays the result
            print(
                f"registering {len(inventory.assets)} {args.kind} assets of {inventory.operator} ...", file=sys.stderr
            )
        result = await client.digitize(
            args.kind,
            inventory,
            skip_registered=args.skip_registered,
            cluster=args.cluster,
            progress=None if args.json else _bar,
        )
        return result.model_dump()


def _plugin_new(args: argparse.Namespace) -> int:
    from gaib_sdk.plugin_template import new_plugin

    spec, root, files = new_plugin(args.name, Path(args.dir), kind=args.kind, venue=args.venue)
    data = {
        "name": spec.name,
        "type": "venue" if args.venue else "asset",
        "kind": spec.kind,
        "package": spec.package,
        "path": str(root),
        "files": [str(f.relative_to(root)) for f in files],
    }
    if args.json:
        _print_json(data)
        return 0
    what = f"the venue {spec.name!r}" if args.venue else f"the asset class {spec.kind!r}"
    print(f"wrote {root} ({len(files)} files): {what} in the package {spec.package}")
    for name in data["files"]:
        print(f"  {name}")
    print("next:")
    print(f"  cd {root}")
    print('  pip install -e ".[test]"      # installs the plugin: its entry point is what gaib-sdk loads')
    print("  pytest                        # the conformance suite, and the adapter's own tests")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from gaib_sdk.bench import run  # web3's batch path and the synthetic inventory: only when asked

    return run(
        args.gpus, args.rpc, args.raw, args.json, cluster=args.cluster, per_asset=args.per_asset, rounds=args.rounds
    )


def _bench_overhead(args: argparse.Namespace) -> int:
    from gaib_sdk.bench import run_overhead_cli

    return run_overhead_cli(args.flow, args.rounds, args.rpc, args.json)


async def _collect_report(args: argparse.Namespace) -> Any:
    from gaib_sdk.client import Gaib
    from gaib_sdk.report import collect, run_scenario

    if args.rpc:  # read-only: no key, no journal
        async with await Gaib.connect(args.rpc, journal=False) as client:
            return await collect(client, block=args.block)
    async with await Gaib.embedded() as client:
        await run_scenario(client)
        return await collect(client, block=args.block)


def _report(args: argparse.Namespace) -> int:
    from gaib_sdk.report import aid, render, require_matplotlib, usdc

    require_matplotlib()  # say what is missing before the work, not after it
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GaibConfigError(f"--out {out} is a file: give a folder (it is created if missing)")
    if not args.json:  # what the wait is for; stderr, so that stdout stays the result
        doing = f"reading the deployment on {args.rpc}" if args.rpc else "running the scripted scenario in-process"
        print(f"{doing} ...", file=sys.stderr)
    data = asyncio.run(_collect_report(args))
    files = render(data, Path(args.out))
    last = data.latest
    summary = {
        "out": str(Path(args.out)),
        "index": str(Path(args.out) / "index.html"),
        "files": [f.name for f in files],
        "chain_id": data.chain_id,
        "block": data.block,
        "aid_supply": aid(last.aid_supply),
        "backing_usdc": usdc(last.backing),
        "reserve_usdc": usdc(last.reserve),
        "uncovered_loss_usdc": usdc(last.uncovered_loss),
        "said_share_price": aid(last.share_price),
        "said_fair_value_per_share": aid(data.fair_value.fair_value_per_share),
        "instant_exit_value_usdc": aid(last.instant_exit_value),
        "schema_version": data.schema_version,
        "history": data.history,
        "deals": len(data.deals),
        "realized_loss_usdc": usdc(sum(loss.stable_loss for loss in data.losses)),
    }
    if args.json:
        _print_json(summary)
        return 0
    print(f"wrote {summary['index']} ({len(files)} files) for chain {data.chain_id} at block {data.block}")
    shown = (
        "aid_supply",
        "backing_usdc",
        "reserve_usdc",
        "said_share_price",
        "said_fair_value_per_share",
        "instant_exit_value_usdc",
        "realized_loss_usdc",
    )
    for key in shown:
        print(f"  {key:<26} {summary[key]}")
    return 0


def _bar(done: int, total: int) -> None:
    """A progress bar on stderr (stdout stays the result)."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", end=end, file=sys.stderr, flush=True)


async def _connect(args: argparse.Namespace) -> Gaib:
    from gaib_sdk.client import Gaib

    return await Gaib.connect(**_rpc_args(args), private_key=_private_key())


async def _read_only(args: argparse.Namespace) -> Gaib:
    """A client that sends nothing; it names the account of GAIB_PRIVATE_KEY when that is set."""
    from gaib_sdk.client import Gaib

    return await Gaib.connect(**_rpc_args(args), private_key=os.environ.get("GAIB_PRIVATE_KEY") or None, journal=False)


async def _finance(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        result = await client.financialize(
            args.kind,
            args.source,
            as_of=date.fromisoformat(args.as_of) if args.as_of else None,
            advance_usd=Decimal(args.advance) if args.advance else None,
            terms=_terms(args),
            options=_options(args),
        )
        return {**result.deal.model_dump(mode="json"), "cover": str(result.quote.cover), "tx_hash": result.tx_hash}


async def _repay(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        return (await client.deals.repay(args.deal, args.amount, key=args.key)).model_dump(mode="json")


def _money(method: str, action: str) -> Any:
    async def run(args: argparse.Namespace) -> dict[str, Any]:
        from gaib_sdk.client import client_method

        async with await _connect(args) as client:
            extra = {"stablecoin": args.stablecoin} if getattr(args, "stablecoin", None) else {}
            receipt = await client_method(client, method)(args.amount, key=args.key, **extra)
            return {"action": action, "amount": str(receipt.amount), "tx_hashes": receipt.tx_hashes}

    return run


def _tx(method: str, *fields: str) -> Any:
    """A subcommand that calls one client method with the named arguments and prints its tx hash."""

    async def run(args: argparse.Namespace) -> dict[str, Any]:
        from gaib_sdk.client import Receipt, client_method

        async with await _connect(args) as client:
            values = [getattr(args, f) for f in fields]
            result = await client_method(client, method)(*values)
            if isinstance(result, str):
                return {"action": method, **dict(zip(fields, values, strict=True)), "tx_hash": result}
            if isinstance(result, Receipt):
                return {"action": method, "amount": str(result.amount), "tx_hashes": result.tx_hashes}
            if isinstance(result, int):
                return {"action": method, "request_id": result}
            return {"action": method, **{k: str(v) for k, v in dict(result).items()}}

    return run


async def _request_unstake(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        request_id = await client.said.request_unstake(args.shares, controller=args.controller, key=args.key)
        return {"action": "request_unstake", "shares": args.shares, "request_id": request_id}


async def _claim_unstake(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        r = await client.said.claim_unstake(
            args.shares, receiver=args.receiver, controller=args.controller, key=args.key
        )
        return {"action": "claim_unstake", "aid": str(r.amount), "tx_hashes": r.tx_hashes}


async def _unstake_status(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        status = await client.said.unstake_status(args.account)
        out: dict[str, Any] = {k: v if isinstance(v, int) else str(v) for k, v in status.items()}
        if args.request is not None:
            one = await client.said.unstake_request(args.request, args.account)
            out["request"] = {"id": args.request, **{k: str(v) for k, v in one.items()}}
        return out


async def _whitelist(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        return {
            "account": args.address,
            "whitelisted": not args.remove,
            "tx_hash": await client.aid.whitelist(args.address, not args.remove),
        }


async def _faucet(args: argparse.Namespace) -> dict[str, Any]:
    async with await _connect(args) as client:
        tx = await client.faucet(args.address, args.amount, stablecoin=args.stablecoin)
        return {"account": args.address, args.stablecoin.lower(): args.amount, "tx_hash": tx}


async def _admin(args: argparse.Namespace) -> dict[str, Any]:
    if args.action == "roles":
        async with await _read_only(args) as reader:
            account = args.account or reader.address
            if account is None:
                raise GaibConfigError("whose roles? give an ACCOUNT, or set GAIB_PRIVATE_KEY to use its account")
            return {"account": account, **(await reader.admin.roles(account))}
    async with await _connect(args) as client:
        method = client.admin.grant if args.action == "grant" else client.admin.revoke
        hashes = await method(args.role, args.account)
        return {"action": args.action, "role": args.role, "account": args.account, "tx_hashes": hashes}


async def _deal(args: argparse.Namespace) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        deal = await reader.deals.get(args.deal)
        data = deal.model_dump(mode="json")
        data["status"] = deal.status.name.lower()
        return data


async def _remark(args: argparse.Namespace) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        rows = await reader.deals.remark(
            args.kind,
            args.sources or None,
            as_of=date.fromisoformat(args.as_of) if args.as_of else None,
            prices=args.prices,
        )
    out = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]
    if not args.json:
        print(
            f"{'deal':>5}  {'outstanding USDC':>18} {'value then':>16} {'value now':>16} {'LTV then':>9} {'LTV now':>8}"
        )
        for r in rows:
            now = _usd(str(r["current_value_usd"])) if r["current_value_usd"] is not None else "no inventory"
            ltv_now = f"{r['ltv_now']:.1%}" if r["ltv_now"] is not None else "-"
            print(
                f"{r['deal_id']:>5}  {_usd(str(r['principal_outstanding_usd'])):>18} "
                f"{_usd(str(r['value_at_origination_usd'])):>16} {now:>16} {r['ltv_at_origination']:>9.1%} {ltv_now:>8}"
            )
        return {}
    return {"deals": out}


async def _deals(args: argparse.Namespace) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        count = await reader.protocol.facility.functions.dealCount().call()
        rows: list[dict[str, Any]] = []
        for deal_id in range(1, count + 1):
            d = await reader.deals.get(deal_id)
            rows.append(
                {
                    "deal_id": d.deal_id,
                    "borrower": d.borrower,
                    "status": d.status.name.lower(),
                    "advance_usd": str(d.advance_usd),
                    "principal_outstanding_usd": str(d.principal_outstanding_usd),
                    "impairment_usd": str(d.impairment_usd),
                }
            )
        if not args.json:
            print(f"{'deal':>5}  {'status':<11} {'advance USDC':>16} {'outstanding USDC':>18}  borrower")
            for r in rows:
                print(
                    f"{r['deal_id']:>5}  {r['status']:<11} {_usd(r['advance_usd']):>16} "
                    f"{_usd(r['principal_outstanding_usd']):>18}  {r['borrower']}"
                )
            return {}
        return {"deals": rows}


async def _balances(args: argparse.Namespace) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        account = args.account or reader.address
        if account is None:
            raise GaibConfigError("whose balances? give an ACCOUNT, or set GAIB_PRIVATE_KEY to use its account")
        return {"account": account, **{k: str(v) for k, v in (await reader.balances(account)).items()}}


def _dev(args: argparse.Namespace) -> int:
    from gaib_sdk import devchain

    if args.action == "start":
        data = devchain.start(port=args.port)
        hint = f"export GAIB_RPC={data['url']}"
    elif args.action == "status":
        data = devchain.running() or {"running": False}
        hint = f"export GAIB_RPC={data['url']}" if "url" in data else "gaib dev start"
    elif args.action == "time":
        data, hint = devchain.advance(args.seconds), ""
    elif args.action == "stop":
        data, hint = devchain.stop(), "its state is kept: gaib dev start resumes it"
    else:
        data, hint = devchain.reset(), ""
    if args.json:
        _print_json(data)
    else:
        for key, value in data.items():
            print(f"{key:<32} {value}")
        if hint:
            print(hint)
    return 0


async def _export(args: argparse.Namespace) -> dict[str, Any]:
    from gaib_sdk.chain import DeploymentStore
    from gaib_sdk.export import export

    store = DeploymentStore()
    deployments: dict[str, Any] = store.all()
    if args.rpc:  # only the deployment of that node
        async with await _read_only(args) as reader:
            if reader._session.protocol is None:
                raise GaibConfigError(f"no deployment of the protocol on {args.rpc} in {store.path}: gaib deploy first")
            found = reader.protocol.deployment
        deployments = {DeploymentStore.key(found.chain_id, found.genesis_hash): found.model_dump()}
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GaibConfigError(f"--out {out} is a file: give a folder (it is created if missing)")
    return export(out, deployments)


async def _status(args: argparse.Namespace) -> dict[str, Any]:
    from gaib_sdk.client import Gaib

    async with await Gaib.connect(**_rpc_args(args)) as client:  # read-only: no key
        reserves = await client.aid.reserves()
        queue = await client.aid.redemption_queue()
        return {
            "chain_id": client.chain.chain_id,
            **{k: str(v) for k, v in reserves.items()},
            "said_share_price": str(await client.said.share_price()),
            "said_unvested_aid": str((await client.said.vesting())["unvested_aid"]),
            "redemptions_waiting": queue["waiting"],
            "redemptions_owed_usdc": str(queue["owed_usdc"]),
            "deals": int(await client.protocol.facility.functions.dealCount().call()),
        }


async def _venue(args: argparse.Namespace) -> dict[str, Any]:
    """`gaib venue NAME ACTION [AMOUNT]`: the calls every venue answers, through the client."""
    kwargs = _pairs(args.options, "--with", "asset=sAID")
    if args.action == "setup":
        async with await _connect(args) as client:
            client.plugins.venue(args.name)
            return {"venue": args.name, **(await client.venues.setup(args.name))}
    if args.action != "positions" and args.amount is None:
        raise GaibConfigError(f"`gaib venue {args.name} {args.action}` needs an AMOUNT")
    async with await _connect(args) as client:
        client.plugins.venue(args.name)  # an unknown venue is refused before anything is read or sent
        if args.action == "quote":
            quote = await client.venues.quote(args.name, args.amount, **kwargs)
            return quote.model_dump(mode="json")
        if args.action == "add":
            positions = await client.add_liquidity(args.name, args.amount, **kwargs)
        elif args.action == "remove":
            positions = await client.venues.remove(args.name, args.amount, **kwargs)
        else:
            positions = await client.venues.positions(args.name, args.account)
        return {"venue": args.name, "positions": [p.model_dump(mode="json") for p in positions]}


def _run_async(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        data = asyncio.run(fn(args))
        if args.json:
            _print_json(data)
        else:
            for key, value in data.items():
                shown = f"{len(value)} items" if isinstance(value, list) and len(value) > 4 else value
                print(f"{key:<32} {shown}")
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gaib", description="gaib-sdk: AI infrastructure as on-chain assets")
    parser.add_argument("--version", action="version", version=f"gaib-sdk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("quickstart", help="run the three stages end to end on an in-process EVM")
    p.add_argument("--venue", default="morpho", help="the DeFi venue for stage 3 (default: morpho)")
    p.add_argument("--kind", default="gpu", help="the asset class whose sample inventory is financed (default: gpu)")
    p.add_argument("--as-of", type=_day, help="valuation date of the sample cluster, YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_quickstart)

    p = sub.add_parser("plugins", help="list installed asset classes and venues")
    _add_json(p)
    p.set_defaults(run=_plugins)

    p = sub.add_parser("quote", help="underwrite an inventory: appraisal, hard rules, advance (no chain)")
    p.add_argument("kind", help="asset class, e.g. gpu")
    p.add_argument("source", nargs="?", help="inventory file (default: the plugin's example)")
    p.add_argument("--as-of", type=_day, help="valuation date, YYYY-MM-DD (default: today)")
    p.add_argument("--advance", type=_amount, help="advance to ask for, in USD (default: 75%% of appraised value)")
    p.add_argument("--prices", help="a newer market-price table for the kind: a JSON file or an http(s) URL")
    _add_deal_flags(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_quote))

    p = sub.add_parser("deploy", help="deploy the protocol to a JSON-RPC node")
    _add_rpc(p, "the node's URL")
    p.add_argument("--usdc", type=_address, help="USDC's address (omit on a local dev chain to deploy a test USDC)")
    p.add_argument("--role", action="append", help="NAME=ADDRESS: who holds an operating role (repeat per role)")
    p.add_argument("--safe-owner", type=_address, action="append", help="an owner of the admin Safe (repeat per owner)")
    p.add_argument("--safe-threshold", type=int, help="signatures the Safe needs (default: every owner)")
    p.add_argument("--timelock-delay", type=int, help="seconds between scheduling and executing (default 2 days)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="deploy a new protocol although this node has one in the deployments file (which then names the new one)",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="send nothing: rehearse on a fork of the network and print every transaction, its gas, the addresses",
    )
    _add_json(p)
    p.set_defaults(run=_run_async(_deploy))

    p = sub.add_parser("digitize", help="register an inventory's assets on a JSON-RPC node")
    p.add_argument("kind")
    p.add_argument("source")
    _add_rpc(p)
    p.add_argument("--skip-registered", action="store_true", help="leave assets already on-chain as they are")
    p.add_argument("--cluster", action="store_true", help="register the inventory as one cluster: one Merkle root")
    p.add_argument(
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help="an option of the asset adapter, e.g. --option operator=acme (repeatable)",
    )
    _add_json(p)
    p.set_defaults(run=_run_async(_digitize))

    p = sub.add_parser("finance", help="underwrite a digitized inventory and open its deal (UNDERWRITER_ROLE)")
    p.add_argument("kind")
    p.add_argument("source")
    _add_rpc(p)
    p.add_argument("--as-of", type=_day, help="valuation date, YYYY-MM-DD (default: today)")
    p.add_argument("--advance", type=_amount, help="advance to ask for, in USD (default: 75%% of appraised value)")
    _add_deal_flags(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_finance))

    p = sub.add_parser("repay", help="pay USDC into a deal through the waterfall")
    p.add_argument("deal", type=int)
    p.add_argument("amount", type=_amount, help="USDC")
    _add_rpc(p)
    p.add_argument(
        "--idempotency-key",
        "--key",
        dest="key",
        metavar="KEY",
        help="names this payment (e.g. an invoice number): asked again, it pays once",
    )
    _add_json(p)
    p.set_defaults(run=_run_async(_repay))

    for name, method, unit, doing in (
        ("mint", "mint_aid", "USDC", "mint AID 1:1 for USDC (KYC-whitelisted accounts)"),
        ("redeem", "redeem_aid", "AID", "redeem AID 1:1 for USDC from the liquid reserve"),
        ("stake", "stake", "AID", "stake AID into sAID"),
    ):
        p = sub.add_parser(name, help=doing)
        p.add_argument("amount", type=_amount, help=unit)
        _add_rpc(p)
        p.add_argument(
            "--idempotency-key",
            "--key",
            dest="key",
            metavar="KEY",
            help="names this request (e.g. an order id): asked again, it happens once",
        )
        if name in ("mint", "redeem"):
            p.add_argument("--stablecoin", choices=["USDC", "USDT"], default="USDC", help="default: USDC")
        _add_json(p)
        p.set_defaults(run=_run_async(_money(method, name)))

    p = sub.add_parser("request-unstake", help="ask to exit sAID (ERC-7540): filled at the next withdrawal cycle")
    p.add_argument("shares", type=_amount, help="sAID")
    p.add_argument("--controller", type=_address, help="who may claim (default: the signing account)")
    p.add_argument(
        "--idempotency-key",
        "--key",
        dest="key",
        metavar="KEY",
        help="names this request: asked again, it is requested once",
    )
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_request_unstake))

    p = sub.add_parser("claim-unstake", help="take the AID of filled sAID exit requests")
    p.add_argument("shares", type=_amount, nargs="?", help="sAID of filled requests to claim (default: all)")
    p.add_argument("--receiver", type=_address, help="who is paid (default: the signing account)")
    p.add_argument(
        "--controller", type=_address, help="whose requests (default: the signing account; else be its operator)"
    )
    p.add_argument(
        "--idempotency-key", "--key", dest="key", metavar="KEY", help="names this claim: asked again, it claims once"
    )
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_claim_unstake))

    p = sub.add_parser("unstake-status", help="an account's sAID exits and the withdrawal cycle (read-only)")
    p.add_argument("--account", type=_address, help="default: the signing account")
    p.add_argument("--request", type=int, help="also show this request's pending and claimable shares")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_unstake_status))

    p = sub.add_parser("process-cycle", help="withdrawal manager: fill sAID exit requests once the cycle is due")
    p.add_argument("--max", type=int, default=100, dest="max_requests", help="requests per transaction")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_tx("process_withdrawal_cycle", "max_requests")))

    p = sub.add_parser("set-operator", help="let an account request and claim sAID exits for you (ERC-7540)")
    p.add_argument("operator", type=_address)
    p.add_argument("--revoke", dest="approved", action="store_false", help="stop the operator")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_tx("set_operator", "operator", "approved")))

    p = sub.add_parser("request-redemption", help="queue a redemption the liquid reserve cannot cover yet")
    p.add_argument("amount", type=_amount, help="AID")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_tx("request_redemption", "amount")))

    p = sub.add_parser("claim", help="take the USDC of your filled redemption requests")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_tx("claim_redemption")))

    for name, method, doing in (
        ("pause", "pause", "pauser: stop AID minting and redeeming, or (--token sAID) sAID deposits and exits"),
        ("unpause", "unpause", "pauser: resume"),
    ):
        p = sub.add_parser(name, help=doing)
        p.add_argument("--token", choices=["AID", "sAID"], default="AID", help="default: AID")
        _add_rpc(p)
        _add_json(p)
        p.set_defaults(run=_run_async(_tx(method, "token")))

    p = sub.add_parser("deny", help="deny-list guard: stop an account from moving AID and sAID")
    p.add_argument("account", type=_address)
    p.add_argument("--allow", dest="denied", action="store_false", help="take the account off the deny list")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_tx("deny", "account", "denied")))

    for name, method, doing, fields in (
        ("impair", "impair", "underwriter: mark a deal down by its expected loss (USDC)", ("deal", "amount")),
        ("cure", "cure", "underwriter: an impaired deal performs again", ("deal",)),
        ("default", "declare_default", "underwriter: the borrower has defaulted (true sale)", ("deal",)),
        (
            "liquidate",
            "record_liquidation",
            "underwriter: pay in what the hardware sold for (USDC)",
            ("deal", "amount"),
        ),
        ("transfer-deal", "transfer_to_operator", "underwriter: a new operator takes a defaulted deal", ("deal", "to")),
    ):
        p = sub.add_parser(name, help=doing)
        p.add_argument("deal", type=int)
        if "amount" in fields:
            p.add_argument("amount", type=_amount, help="USDC")
        if "to" in fields:
            p.add_argument("to", type=_address, help="the new operator's address")
        _add_rpc(p)
        _add_json(p)
        p.set_defaults(run=_run_async(_tx(method, *fields)))

    p = sub.add_parser("whitelist", help="KYC manager: let an account mint and redeem AID")
    p.add_argument("address", type=_address)
    p.add_argument("--remove", action="store_true", help="take the account off the whitelist")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_whitelist))

    p = sub.add_parser("faucet", help="local chains only: mint test USDC (or USDT) to an account")
    p.add_argument("address", type=_address)
    p.add_argument("amount", type=_amount, help="USDC")
    p.add_argument("--stablecoin", choices=["USDC", "USDT"], default="USDC", help="default: USDC")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_faucet))

    p = sub.add_parser("status", help="AID supply and backing, sAID share price, the redemption queue (read-only)")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_status))

    p = sub.add_parser("admin", help="the protocol's roles: grant, revoke, and which an account holds")
    admin_sub = p.add_subparsers(dest="action", required=True)
    for action, doing in (("grant", "give an account a role"), ("revoke", "take a role from an account")):
        p = admin_sub.add_parser(action, help=f"{doing} (signed by the holder of the role's admin role)")
        p.add_argument("role", help="underwriter, registrar, registrar_admin, kyc_manager, pauser, ...")
        p.add_argument("account", type=_address)
        _add_rpc(p)
        _add_json(p)
        p.set_defaults(run=_run_async(_admin))
    p = admin_sub.add_parser("roles", help="which of the protocol's roles an account holds (read-only)")
    p.add_argument("account", nargs="?", type=_address, help="default: the account of GAIB_PRIVATE_KEY")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_admin))

    p = sub.add_parser("dev", help="a development chain (anvil) that persists between commands, and its clock")
    dev_sub = p.add_subparsers(dest="action", required=True)
    p = dev_sub.add_parser("start", help="start it in the background, from its saved state if any")
    p.add_argument("--port", type=int, default=8545, help="on 127.0.0.1 (default 8545; 0: any free port)")
    _add_json(p)
    p.set_defaults(run=_dev)
    for action, doing in (
        ("status", "is it running, where, at which block"),
        ("stop", "stop it; its state is saved for the next start"),
        ("reset", "forget the saved state: the next start is a fresh chain"),
    ):
        p = dev_sub.add_parser(action, help=doing)
        _add_json(p)
        p.set_defaults(run=_dev)
    p = dev_sub.add_parser("time", help="move its clock forward and mine a block")
    p.add_argument("seconds", type=int, help="e.g. 2592000 for 30 days")
    _add_json(p)
    p.set_defaults(run=_dev)

    p = sub.add_parser("export", help="for integrators: ABIs, addresses, Solidity interfaces, a TypeScript module")
    p.add_argument("--out", required=True, help="the folder to write abi/, solidity/, typescript/, addresses.json into")
    p.add_argument("--rpc", help="only this node's deployment (default: every chain in the deployments file)")
    _add_json(p)
    p.set_defaults(run=_run_async(_export))

    p = sub.add_parser("deal", help="one deal as the chain holds it, interest and fees accrued (read-only)")
    p.add_argument("deal", type=int)
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_deal))

    p = sub.add_parser("deals", help="every deal: status, advance, principal outstanding (read-only)")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_deals))

    p = sub.add_parser("remark", help="re-mark every open deal's collateral at today's value: LTV now (read-only)")
    p.add_argument("kind", help="asset class of the collateral, e.g. gpu")
    p.add_argument("sources", nargs="*", help="the deals' inventory files (default: the plugin's example)")
    p.add_argument("--as-of", type=_day, help="valuation date, YYYY-MM-DD (default: today)")
    p.add_argument("--prices", help="a newer market-price table for the kind: a JSON file or an http(s) URL")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_remark))

    p = sub.add_parser("balances", help="an account's USDC, USDT, AID and sAID (read-only)")
    p.add_argument("account", nargs="?", type=_address, help="default: the account of GAIB_PRIVATE_KEY")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_balances))

    add_node_commands(sub, _run_async, _connect, _read_only)
    add_bridge_commands(sub, _run_async, _connect)  # gaib bridge, gaib networks (gaib_sdk/bridge_cli.py)

    p = sub.add_parser(
        "venue", help="a DeFi venue (morpho, curve, pendle): setup (the admin), quote, add, remove, positions"
    )
    p.add_argument("name", help="the venue, as `gaib plugins` lists it")
    p.add_argument("action", choices=["setup", "quote", "add", "remove", "positions"])
    p.add_argument("amount", type=_amount, nargs="?", help="in the venue's unit for the action (see docs/venues/)")
    p.add_argument(
        "--with",
        dest="options",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a venue-specific argument, e.g. --with asset=sAID (repeatable)",
    )
    p.add_argument("--account", type=_address, help="positions: whose (default: the signing account)")
    _add_rpc(p)
    _add_json(p)
    p.set_defaults(run=_run_async(_venue))

    p = sub.add_parser("plugin", help="write plugins: `gaib plugin new NAME`")
    plugin_sub = p.add_subparsers(dest="plugin_command", required=True)
    p = plugin_sub.add_parser("new", help="write a new asset-class plugin package from the template")
    p.add_argument("name", help="the plugin's name, e.g. ev-charger: the package is gaib-ev-charger")
    p.add_argument("--kind", help="the asset class users pass to digitize and quote (default: NAME)")
    p.add_argument("--venue", action="store_true", help="write a venue plugin (a DeFi venue named NAME) instead")
    p.add_argument("--dir", default=".", help="the folder to write gaib-NAME/ into (default: the current one)")
    _add_json(p)
    p.set_defaults(run=_plugin_new)

    p = sub.add_parser("bench", help="benchmarks against a local anvil: `gaib bench onboard --gpus N`")
    bench_sub = p.add_subparsers(dest="bench_command", required=True)
    p = bench_sub.add_parser("onboard", help="onboard N synthetic GPUs: time and gas per 1,000, SDK vs raw web3.py")
    p.add_argument("--gpus", type=int, default=10_000, help="the largest size; 1,000 GPUs is run too (default 10000)")
    p.add_argument("--rpc", help="a development node to use (default: start anvil from node_modules or the PATH)")
    p.add_argument("--no-raw", dest="raw", action="store_false", help="skip the raw web3.py baseline")
    p.add_argument(
        "--cluster",
        action="store_true",
        help="digitize each size as one cluster (time, linearity), and the per-asset path against anvil's ceiling",
    )
    p.add_argument(
        "--per-asset", type=int, default=1000, help="with --cluster: per-GPU transactions against the ceiling"
    )
    p.add_argument("--rounds", type=int, default=3, help="with --cluster: rounds per size, the best reported")
    _add_json(p)
    p.set_defaults(run=_bench)
    p = bench_sub.add_parser("overhead", help="the three stages through the SDK vs raw web3.py: time and calls per tx")
    p.add_argument("--flow", default="stages", choices=("stages", "small"), help="the three stages, or digitize only")
    p.add_argument("--rounds", type=int, default=3, help="fresh anvil nodes to run on, one after another (default 3)")
    p.add_argument("--rpc", help="a development node to use (default: start anvil from node_modules or the PATH)")
    _add_json(p)
    p.set_defaults(run=_bench_overhead)

    p = sub.add_parser("report", help="the NAV report: an HTML page with PNG plots, and JSON, read from the chain")
    p.add_argument("--out", required=True, help="the folder to write index.html, the plots and report.json into")
    p.add_argument("--rpc", help="report on the deployment on this node (default: run a scripted scenario in-process)")
    p.add_argument("--block", type=int, help="report as of this block (default: the latest)")
    p.add_argument("--json", action="store_true", help="print a summary as one JSON object")
    p.set_defaults(run=_report)
    # `gaib index`, `gaib points`, `gaib report --index` (gaib_sdk/index/cli.py)
    from gaib_sdk.index.cli import add_commands as add_index_commands

    add_index_commands(sub, _run_async)
    return parser


def _fail(as_json: bool, kind: str, message: str, code: int) -> int:
    """An error: one line on stderr, or under --json one object on stdout ({"error": {"type", "message"}})."""
    if as_json:
        _print_json({"error": {"type": kind, "message": message}})
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in words
    _Parser.json_errors = as_json
    args = build_parser().parse_args(words)
    logger = logging.getLogger("gaib_sdk")
    level = logger.level
    if as_json:  # stdout is the one JSON object; retries and warnings are not news to a program
        logger.setLevel(logging.ERROR)
    try:
        code: int = args.run(args)
        return code
    except GaibError as exc:
        return _fail(as_json, type(exc).__name__, str(exc), 1)
    except KeyboardInterrupt:
        return _fail(as_json, "Interrupted", "interrupted", 130)
    except OSError as exc:  # a file that exists, a folder that does not, a connection refused
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(as_json, type(exc).__name__, f"{exc.strerror or exc}{where}", 1)
    except Exception as exc:
        if os.environ.get("GAIB_DEBUG"):
            raise
        if type(exc).__module__.startswith(("web3", "httpx", "httpcore")):  # the node or the network said no
            return _fail(as_json, "ChainError", f"the node refused or failed: {type(exc).__name__}: {exc}", 1)
        # Every error a user can cause should be a GaibError above; reaching here is a bug in gaib-sdk.
        message = f"unexpected {type(exc).__name__}: {exc} (a bug in gaib-sdk: GAIB_DEBUG=1 shows the traceback)"
        return _fail(as_json, "InternalError", message, 2)
    finally:
        logger.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
