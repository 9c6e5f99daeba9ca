"""`gaib`: the command line (click; rich for tables, colour and progress on a terminal).

    gaib quickstart [--kind K] [--venue V]      the three stages end to end on an in-process EVM
    gaib plugins                                installed asset classes and venues
    gaib quote KIND [SOURCE] [--advance USD]    underwrite an inventory (no chain; deal-term flags)
    gaib deploy                                 deploy the protocol to a node (key in $GAIB_PRIVATE_KEY)
    gaib digitize KIND SOURCE                   register an inventory's assets on a node
    gaib finance KIND SOURCE | repay DEAL USDC  open a deal for a digitized inventory; pay into it
    gaib mint USDC | redeem AID | stake AID     AID and sAID for the signing account
    gaib request-unstake | claim-unstake | unstake-status | process-cycle | set-operator   sAID exits (ERC-7540)
    gaib request-redemption | claim             the redemption queue
    gaib whitelist | faucet | transfer | balances | status   accounts, tokens, the protocol's figures
    gaib pause | unpause | deny | impair | cure | default | liquidate | transfer-deal   operators' calls
    gaib admin grant|revoke|roles               the protocol's roles
    gaib deal N | deals | remark KIND           deals as the chain holds them; collateral valued again
    gaib venue NAME setup|quote|add|remove|positions   a DeFi venue's common calls
    gaib node ... | attestation ASSET_ID        the node verification network
    gaib bridge aid|said AMOUNT --to NETWORK | networks   LayerZero, the networks file
    gaib dev start|status|time|stop|reset       a development chain that persists between commands
    gaib export --out DIR | report --out DIR | index | points   integrators' kit, NAV report, event index
    gaib plugin new NAME | bench onboard|overhead   write a plugin; benchmarks

The node is ``--rpc URL`` (default $GAIB_RPC) or ``--network NAME``; the signing key is $GAIB_PRIVATE_KEY.
A user's mistake is one line on stderr and exit status 1 (2 for a command line that does not parse), never a
traceback; under ``--json`` the error is the one JSON object on stdout. `gaib --version` imports click only:
the SDK (web3, the EVM) and rich are imported inside the commands that use them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gaib_sdk import __version__
from gaib_sdk import cli_output as ui
from gaib_sdk.cli_output import print_json as _print_json
from gaib_sdk.cli_types import (
    ADDRESS,
    AMOUNT,
    DAY,
    Args,
    Decorator,
    arg,
    group,
    json_option,
    leaf,
    rpc_options,
    run_async,
    run_sync,
)
from gaib_sdk.cli_types import rpc_args as _rpc_args
from gaib_sdk.errors import GaibConfigError, GaibError

if TYPE_CHECKING:
    from gaib_sdk.client import Gaib

__all__ = ["gaib", "main"]


def _usd(value: str | Decimal) -> str:
    return f"{Decimal(value):,.2f}"


def _short(value: str) -> str:
    """A detail for a person: decimals to 4 places (the JSON keeps them whole)."""
    try:
        number = Decimal(value)
    except ArithmeticError:
        return value
    return f"{number:,.4f}" if "." in value and number.is_finite() else value


def _quickstart(args: Args) -> int:
    from gaib_sdk.quickstart import run_quickstart

    started = time.perf_counter()
    say = (lambda _: None) if args.json else (lambda msg: print(f"  .. {msg}", flush=True))
    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    import asyncio

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


def _plugins(args: Args) -> int:
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


def _options(args: Args) -> dict[str, Any] | None:
    """--option NAME=VALUE pairs for the asset adapter (its options model checks names and values)."""
    return _pairs(getattr(args, "option", None) or (), "--option", "operator=acme") or None


def _pairs(items: Sequence[str], flag: str, example: str) -> dict[str, str]:
    """NAME=VALUE command-line pairs as a dict; one without a name or an = is refused naming the flag."""
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise GaibConfigError(f"{flag} {item!r}: write NAME=VALUE, e.g. {flag} {example}")
        pairs[name.strip()] = value
    return pairs


def _terms(args: Args) -> Any:
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


async def _quote(args: Args) -> dict[str, Any]:
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


async def _deploy(args: Args) -> dict[str, Any]:
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


async def _digitize(args: Args) -> dict[str, Any]:
    from gaib_sdk.client import Gaib

    async with await Gaib.connect(**_rpc_args(args), private_key=_private_key()) as client:
        inventory = await client.assets.read_inventory(args.kind, args.source, options=_options(args))
        doing = f"registering {len(inventory.assets)} {args.kind} assets of {inventory.operator}"
        if not args.json and not ui.fancy(sys.stderr):  # what the wait is for; stderr: stdout is the result
            print(f"{doing} ...", file=sys.stderr)
        with ui.progress(doing, quiet=args.json) as bar:
            result = await client.digitize(
                args.kind, inventory, skip_registered=args.skip_registered, cluster=args.cluster, progress=bar
            )
        return result.model_dump()


def _plugin_new(args: Args) -> int:
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


def _bench(args: Args) -> int:
    from gaib_sdk.bench import run  # web3's batch path and the synthetic inventory: only when asked

    with ui.working(f"benchmarking the onboarding of up to {args.gpus:,} GPUs", quiet=args.json):
        return run(
            args.gpus, args.rpc, args.raw, args.json, cluster=args.cluster, per_asset=args.per_asset, rounds=args.rounds
        )


def _bench_overhead(args: Args) -> int:
    from gaib_sdk.bench import run_overhead_cli

    with ui.working(f"benchmarking the SDK against raw web3.py, {args.rounds} rounds", quiet=args.json):
        return run_overhead_cli(args.flow, args.rounds, args.rpc, args.json)


async def _collect_report(args: Args) -> Any:
    from gaib_sdk.client import Gaib
    from gaib_sdk.report import collect, run_scenario

    if args.rpc:  # read-only: no key, no journal
        async with await Gaib.connect(args.rpc, journal=False) as client:
            return await collect(client, block=args.block)
    async with await Gaib.embedded() as client:
        await run_scenario(client)
        return await collect(client, block=args.block)


def _report(args: Args) -> int:
    from gaib_sdk.report import aid, render, require_matplotlib, usdc

    require_matplotlib()  # say what is missing before the work, not after it
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GaibConfigError(f"--out {out} is a file: give a folder (it is created if missing)")
    import asyncio

    doing = f"reading the deployment on {args.rpc}" if args.rpc else "running the scripted scenario in-process"
    with ui.working(doing, quiet=args.json):  # what the wait is for, on stderr: stdout is the result
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


def _report_or_history(args: Args) -> int:
    """`gaib report`: from the chain, or with --index from an event index (gaib_sdk/index/cli.py)."""
    if args.index:
        from gaib_sdk.index.cli import history_report

        return history_report(args)
    return _report(args)


async def _connect(args: Args) -> Gaib:
    from gaib_sdk.client import Gaib

    return await Gaib.connect(**_rpc_args(args), private_key=_private_key())


async def _read_only(args: Args) -> Gaib:
    """A client that sends nothing; it names the account of GAIB_PRIVATE_KEY when that is set."""
    from gaib_sdk.client import Gaib

    return await Gaib.connect(**_rpc_args(args), private_key=os.environ.get("GAIB_PRIVATE_KEY") or None, journal=False)


async def _finance(args: Args) -> dict[str, Any]:
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


async def _repay(args: Args) -> dict[str, Any]:
    async with await _connect(args) as client:
        return (await client.deals.repay(args.deal, args.amount, key=args.key)).model_dump(mode="json")


def _money(method: str, action: str) -> Any:
    async def run(args: Args) -> dict[str, Any]:
        from gaib_sdk.client import client_method

        async with await _connect(args) as client:
            extra = {"stablecoin": args.stablecoin} if getattr(args, "stablecoin", None) else {}
            receipt = await client_method(client, method)(args.amount, key=args.key, **extra)
            return {"action": action, "amount": str(receipt.amount), "tx_hashes": receipt.tx_hashes}

    return run


def _tx(method: str, *fields: str) -> Any:
    """A subcommand that calls one client method with the named arguments and prints its tx hash."""

    async def run(args: Args) -> dict[str, Any]:
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


def _flipped(flag: str, field: str, fn: Callable[[Args], Any]) -> Callable[[Args], Any]:
    """``--revoke`` / ``--allow``: the method's boolean is the flag's opposite (approved, denied)."""

    async def run(args: Args) -> Any:
        setattr(args, field, not getattr(args, flag))
        return await fn(args)

    return run


#: Tokens `gaib transfer` moves: the protocol's contract attribute and the token's decimals.
_TOKENS = {"GAIB": ("gaib", 18), "AID": ("aid", 18), "sAID": ("said", 18), "USDC": ("usdc", 6), "USDT": ("usdt", 6)}


async def _transfer(args: Args) -> dict[str, Any]:
    from gaib_sdk.client import to_units

    symbol = next(t for t in _TOKENS if t.lower() == args.token.lower())
    name, decimals = _TOKENS[symbol]
    async with await _connect(args) as client:
        token = getattr(client.protocol, name)
        if token is None:
            raise GaibConfigError(f"this deployment has no {symbol}")
        units = to_units(args.amount, decimals, what=f"{symbol} amount")
        await client.require_balance(token, units, symbol, f"send {args.amount} {symbol} to {args.to}")
        sent = await client.send(token.functions.transfer(args.to, units), what=f"transfer {symbol}")
        return {
            "action": "transfer",
            "token": symbol,
            "to": args.to,
            "amount": str(args.amount),
            "tx_hash": sent.tx_hash,
        }


async def _request_unstake(args: Args) -> dict[str, Any]:
    async with await _connect(args) as client:
        request_id = await client.said.request_unstake(args.shares, controller=args.controller, key=args.key)
        return {"action": "request_unstake", "shares": args.shares, "request_id": request_id}


async def _claim_unstake(args: Args) -> dict[str, Any]:
    async with await _connect(args) as client:
        r = await client.said.claim_unstake(
            args.shares, receiver=args.receiver, controller=args.controller, key=args.key
        )
        return {"action": "claim_unstake", "aid": str(r.amount), "tx_hashes": r.tx_hashes}


async def _unstake_status(args: Args) -> dict[str, Any]:
    async with await _connect(args) as client:
        status = await client.said.unstake_status(args.account)
        out: dict[str, Any] = {k: v if isinstance(v, int) else str(v) for k, v in status.items()}
        if args.request is not None:
            one = await client.said.unstake_request(args.request, args.account)
            out["request"] = {"id": args.request, **{k: str(v) for k, v in one.items()}}
        return out


async def _whitelist(args: Args) -> dict[str, Any]:
    async with await _connect(args) as client:
        return {
            "account": args.address,
            "whitelisted": not args.remove,
            "tx_hash": await client.aid.whitelist(args.address, not args.remove),
        }


async def _faucet(args: Args) -> dict[str, Any]:
    async with await _connect(args) as client:
        tx = await client.faucet(args.address, args.amount, stablecoin=args.stablecoin)
        return {"account": args.address, args.stablecoin.lower(): args.amount, "tx_hash": tx}


def _admin(action: str) -> Callable[[Args], Any]:
    async def run(args: Args) -> dict[str, Any]:
        args.action = action
        data = await _admin_call(args)
        if action == "roles" and not args.json:
            who = data.pop("account")
            ui.table(["role", "held"], [[role, "yes" if held else "no"] for role, held in data.items()])
            print(f"account {who}")
            return {}
        return data

    return run


async def _admin_call(args: Args) -> dict[str, Any]:
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


async def _deal(args: Args) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        deal = await reader.deals.get(args.deal)
        data = deal.model_dump(mode="json")
        data["status"] = deal.status.name.lower()
        return data


async def _remark(args: Args) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        rows = await reader.deals.remark(
            args.kind,
            args.sources or None,
            as_of=date.fromisoformat(args.as_of) if args.as_of else None,
            prices=args.prices,
        )
    out = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]
    if not args.json:
        columns = ["deal", "outstanding USDC", "value then", "value now", "LTV then", "LTV now"]
        ui.table(
            columns,
            [
                [
                    str(r["deal_id"]),
                    _usd(str(r["principal_outstanding_usd"])),
                    _usd(str(r["value_at_origination_usd"])),
                    _usd(str(r["current_value_usd"])) if r["current_value_usd"] is not None else "no inventory",
                    f"{r['ltv_at_origination']:.1%}",
                    f"{r['ltv_now']:.1%}" if r["ltv_now"] is not None else "-",
                ]
                for r in rows
            ],
            right=columns,
        )
        return {}
    return {"deals": out}


async def _deals(args: Args) -> dict[str, Any]:
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
            ui.table(
                ["deal", "status", "advance USDC", "outstanding USDC", "borrower"],
                [
                    [
                        str(r["deal_id"]),
                        r["status"],
                        _usd(r["advance_usd"]),
                        _usd(r["principal_outstanding_usd"]),
                        r["borrower"],
                    ]
                    for r in rows
                ],
                right=["deal", "advance USDC", "outstanding USDC"],
            )
            return {}
        return {"deals": rows}


async def _balances(args: Args) -> dict[str, Any]:
    async with await _read_only(args) as reader:
        account = args.account or reader.address
        if account is None:
            raise GaibConfigError("whose balances? give an ACCOUNT, or set GAIB_PRIVATE_KEY to use its account")
        held = {k: str(v) for k, v in (await reader.balances(account)).items()}
        if reader.protocol.gaib is not None:  # a node operator's bond is GAIB
            from gaib_sdk.client import from_units

            held["GAIB"] = str(from_units(await reader.protocol.gaib.functions.balanceOf(account).call(), 18))
        if not args.json:
            ui.table(["token", "balance"], [[k, _short(v)] for k, v in held.items()], right=["balance"])
            print(f"account {account}")
            return {}
        return {"account": account, **held}


def _dev(action: str) -> Callable[[Args], int]:
    def run(args: Args) -> int:
        args.action = action
        return _dev_call(args)

    return run


def _dev_call(args: Args) -> int:
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
        ui.fields(data)
        if hint:
            print(hint)
    return 0


async def _export(args: Args) -> dict[str, Any]:
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


async def _status(args: Args) -> dict[str, Any]:
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


async def _venue(args: Args) -> dict[str, Any]:
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
        with ui.working(f"{args.action} at {args.name}", quiet=args.json or args.action == "positions"):
            if args.action == "add":
                positions = await client.add_liquidity(args.name, args.amount, **kwargs)
            elif args.action == "remove":
                positions = await client.venues.remove(args.name, args.amount, **kwargs)
            else:
                positions = await client.venues.positions(args.name, args.account)
        shown = [p.model_dump(mode="json") for p in positions]
        if not args.json:
            ui.table(
                ["side", "amount", "asset", "account", "details"],
                [
                    [
                        p["side"],
                        _short(str(p["amount"])),
                        p["asset"],
                        p["account"],
                        ", ".join(f"{k} {_short(str(v))}" for k, v in p["details"].items()),
                    ]
                    for p in shown
                ],
                right=["amount"],
            )
            return {}
        return {"venue": args.name, "positions": shown}


# ---- the command tree ----


def _idempotency(doing: str) -> Decorator:
    return click.option("--idempotency-key", "--key", "key", metavar="KEY", help=f"names this {doing}")


def _stablecoin() -> Decorator:
    return click.option(
        "--stablecoin",
        type=click.Choice(["USDC", "USDT"]),
        default="USDC",
        show_default=True,
        help="the stablecoin paid in or out",
    )


_option = click.option(
    "--option",
    "option",
    multiple=True,
    metavar="NAME=VALUE",
    help="an option of the asset adapter, e.g. --option operator=acme (repeatable)",
)
_DEAL_FLAGS: tuple[Decorator, ...] = (
    click.option(
        "--structure",
        type=click.Choice(["fixed", "revenue_share", "hybrid"]),
        help="the deal's structure (default: fixed)",
    ),
    click.option("--rate-bps", type=int, help="the fixed rate, basis points a year (default: 1200)"),
    click.option("--revenue-share-bps", type=int, help="share of gross revenue: 5000-7000, hybrid 1-4999"),
    click.option("--fee-bps", type=int, help="the protocol fee, basis points a year (default: 50)"),
    click.option("--term-days", type=int, help="the term in days, 30 a month (default: 720)"),
    _option,
)
_AS_OF = click.option("--as-of", type=DAY, help="valuation date (default: today)")
_ADVANCE = click.option("--advance", type=AMOUNT, help="advance to ask for, in USD (default: 75% of appraised value)")
_PRICES = click.option(
    "--prices", metavar="FILE_OR_URL", help="a newer market-price table for the kind: a JSON file or an http(s) URL"
)


def _node(help: str = "the node's URL") -> tuple[Decorator, ...]:
    return (rpc_options(help), json_option)


@click.group(
    name="gaib",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    help="gaib-sdk: AI infrastructure as on-chain assets. The node is --rpc URL (default $GAIB_RPC) or "
    "--network NAME; the signing key is $GAIB_PRIVATE_KEY. Every command takes --json. Shell completion: "
    'eval "$(_GAIB_COMPLETE=bash_source gaib)" (zsh_source, fish_source).',
)
@click.version_option(__version__, "--version", message="gaib-sdk %(version)s")
def gaib() -> None:
    pass


leaf(
    gaib,
    "quickstart",
    "run the three stages end to end on an in-process EVM",
    run_sync(_quickstart),
    click.option("--venue", default="morpho", show_default=True, help="the DeFi venue for stage 3"),
    click.option(
        "--kind",
        default="gpu",
        show_default=True,
        help="the asset class whose sample inventory is digitized and financed (gpu, robot, ...)",
    ),
    click.option("--as-of", type=DAY, help="valuation date of the sample inventory (default: today)"),
    json_option,
)
leaf(gaib, "plugins", "list installed asset classes and venues", run_sync(_plugins), json_option)
leaf(
    gaib,
    "quote",
    "underwrite an inventory: appraisal, hard rules, advance (no chain)",
    run_async(_quote),
    arg("kind", "the asset class, e.g. gpu"),
    arg("source", "the inventory file (default: the plugin's example)", required=False),
    _AS_OF,
    _ADVANCE,
    _PRICES,
    *_DEAL_FLAGS,
    json_option,
)
leaf(
    gaib,
    "deploy",
    "deploy the protocol to a JSON-RPC node (the signing account is its admin)",
    run_async(_deploy),
    *_node(),
    click.option("--usdc", type=ADDRESS, help="USDC's address (omit on a local dev chain to deploy a test USDC)"),
    click.option(
        "--role",
        multiple=True,
        metavar="NAME=ADDRESS",
        help="who holds an operating role, e.g. --role underwriter=0x... (repeat per role)",
    ),
    click.option("--safe-owner", type=ADDRESS, multiple=True, help="an owner of the admin Safe (repeat per owner)"),
    click.option("--safe-threshold", type=int, help="signatures the Safe needs (default: every owner)"),
    click.option("--timelock-delay", type=int, help="seconds between scheduling and executing (default 2 days)"),
    click.option(
        "--replace", is_flag=True, help="deploy a new protocol although this node has one in the deployments file"
    ),
    click.option(
        "--plan",
        is_flag=True,
        help="send nothing: rehearse on a fork and print every transaction, its gas, the addresses",
    ),
)
leaf(
    gaib,
    "digitize",
    "register an inventory's assets on a node (REGISTRAR_ROLE)",
    run_async(_digitize),
    arg("kind", "the asset class, e.g. gpu"),
    arg("source", "the inventory file"),
    *_node(),
    click.option("--skip-registered", is_flag=True, help="leave assets already on-chain as they are"),
    click.option("--cluster", is_flag=True, help="register the inventory as one cluster: one Merkle root"),
    _option,
)
leaf(
    gaib,
    "finance",
    "underwrite a digitized inventory and open its deal (UNDERWRITER_ROLE)",
    run_async(_finance),
    arg("kind", "the asset class, e.g. gpu"),
    arg("source", "the inventory file"),
    *_node(),
    _AS_OF,
    _ADVANCE,
    *_DEAL_FLAGS,
)
leaf(
    gaib,
    "repay",
    "pay USDC into a deal through the waterfall",
    run_async(_repay),
    arg("deal", "the deal's number", type=int),
    arg("amount", "USDC", type=AMOUNT),
    *_node(),
    _idempotency("payment (e.g. an invoice number): asked again, it pays once"),
)
for _name, _method, _unit, _doing in (
    ("mint", "mint_aid", "USDC", "mint AID 1:1 for USDC (KYC-whitelisted accounts)"),
    ("redeem", "redeem_aid", "AID", "redeem AID 1:1 for USDC from the liquid reserve"),
    ("stake", "stake", "AID", "stake AID into sAID"),
):
    leaf(
        gaib,
        _name,
        _doing,
        run_async(_money(_method, _name)),
        arg("amount", _unit, type=AMOUNT),
        *_node(),
        _idempotency("request (e.g. an order id): asked again, it happens once"),
        *((_stablecoin(),) if _name != "stake" else ()),
    )
leaf(
    gaib,
    "request-unstake",
    "ask to exit sAID (ERC-7540): filled at the next withdrawal cycle",
    run_async(_request_unstake),
    arg("shares", "sAID", type=AMOUNT),
    click.option("--controller", type=ADDRESS, help="who may claim (default: the signing account)"),
    _idempotency("request: asked again, it is requested once"),
    *_node(),
)
leaf(
    gaib,
    "claim-unstake",
    "take the AID of filled sAID exit requests",
    run_async(_claim_unstake),
    arg("shares", "sAID of filled requests to claim (default: all)", type=AMOUNT, required=False),
    click.option("--receiver", type=ADDRESS, help="who is paid (default: the signing account)"),
    click.option(
        "--controller", type=ADDRESS, help="whose requests (default: the signing account; else be its operator)"
    ),
    _idempotency("claim: asked again, it claims once"),
    *_node(),
)
leaf(
    gaib,
    "unstake-status",
    "an account's sAID exits and the withdrawal cycle (read-only)",
    run_async(_unstake_status),
    click.option("--account", type=ADDRESS, help="whose (default: the signing account)"),
    click.option("--request", type=int, help="also show this request's pending and claimable shares"),
    *_node(),
)
leaf(
    gaib,
    "process-cycle",
    "withdrawal manager: fill sAID exit requests once the cycle is due",
    run_async(_tx("process_withdrawal_cycle", "max_requests")),
    click.option(
        "--max", "max_requests", type=int, default=100, show_default=True, help="rounds filled per transaction"
    ),
    *_node(),
)
leaf(
    gaib,
    "set-operator",
    "let an account request and claim sAID exits for you (ERC-7540)",
    run_async(_flipped("revoke", "approved", _tx("set_operator", "operator", "approved"))),
    arg("operator", "the operator's address", type=ADDRESS),
    click.option("--revoke", is_flag=True, help="stop the operator"),
    *_node(),
)
leaf(
    gaib,
    "request-redemption",
    "queue a redemption the liquid reserve cannot cover yet",
    run_async(_tx("request_redemption", "amount")),
    arg("amount", "AID", type=AMOUNT),
    *_node(),
)
leaf(gaib, "claim", "take the USDC of your filled redemption requests", run_async(_tx("claim_redemption")), *_node())
for _name, _doing in (
    ("pause", "pauser: stop AID minting and redeeming, or (--token sAID) sAID deposits and exits"),
    ("unpause", "pauser: resume"),
):
    leaf(
        gaib,
        _name,
        _doing,
        run_async(_tx(_name, "token")),
        click.option(
            "--token", type=click.Choice(["AID", "sAID"]), default="AID", show_default=True, help="which token"
        ),
        *_node(),
    )
leaf(
    gaib,
    "deny",
    "deny-list guard: stop an account from moving AID and sAID",
    run_async(_flipped("allow", "denied", _tx("deny", "account", "denied"))),
    arg("account", "the account's address", type=ADDRESS),
    click.option("--allow", is_flag=True, help="take the account off the deny list"),
    *_node(),
)
for _name, _method, _doing, _fields in (
    ("impair", "impair", "underwriter: mark a deal down by its expected loss (USDC)", ("deal", "amount")),
    ("cure", "cure", "underwriter: an impaired deal performs again", ("deal",)),
    ("default", "declare_default", "underwriter: the borrower has defaulted (true sale)", ("deal",)),
    ("liquidate", "record_liquidation", "underwriter: pay in what the hardware sold for (USDC)", ("deal", "amount")),
    ("transfer-deal", "transfer_to_operator", "underwriter: a new operator takes a defaulted deal", ("deal", "to")),
):
    leaf(
        gaib,
        _name,
        _doing,
        run_async(_tx(_method, *_fields)),
        arg("deal", "the deal's number", type=int),
        *((arg("amount", "USDC", type=AMOUNT),) if "amount" in _fields else ()),
        *((arg("to", "the new operator's address", type=ADDRESS),) if "to" in _fields else ()),
        *_node(),
    )
leaf(
    gaib,
    "whitelist",
    "KYC manager: let an account mint and redeem AID",
    run_async(_whitelist),
    arg("address", "the account's address", type=ADDRESS),
    click.option("--remove", is_flag=True, help="take the account off the whitelist"),
    *_node(),
)
leaf(
    gaib,
    "faucet",
    "local chains only: mint test USDC (or USDT) to an account",
    run_async(_faucet),
    arg("address", "the account's address", type=ADDRESS),
    arg("amount", "USDC (or USDT)", type=AMOUNT),
    _stablecoin(),
    *_node(),
)
leaf(
    gaib,
    "transfer",
    "send GAIB, AID, sAID, USDC or USDT from the signing account",
    run_async(_transfer),
    arg("token", "GAIB, AID, sAID, USDC or USDT", type=click.Choice(list(_TOKENS), case_sensitive=False)),
    arg("to", "the receiver's address", type=ADDRESS),
    arg("amount", "in tokens", type=AMOUNT),
    *_node(),
)
leaf(
    gaib,
    "status",
    "AID supply and backing, sAID share price, the redemption queue (read-only)",
    run_async(_status),
    *_node(),
)
leaf(
    gaib,
    "balances",
    "an account's USDC, USDT, AID, sAID and GAIB (read-only)",
    run_async(_balances),
    arg("account", "default: the account of GAIB_PRIVATE_KEY", type=ADDRESS, required=False),
    *_node(),
)
leaf(
    gaib,
    "deal",
    "one deal as the chain holds it, interest and fees accrued (read-only)",
    run_async(_deal),
    arg("deal", "the deal's number", type=int),
    *_node(),
)
leaf(gaib, "deals", "every deal: status, advance, principal outstanding (read-only)", run_async(_deals), *_node())
leaf(
    gaib,
    "remark",
    "re-mark every open deal's collateral at today's value: LTV now (read-only)",
    run_async(_remark),
    arg("kind", "the asset class of the collateral, e.g. gpu"),
    arg("sources", "the deals' inventory files (default: the plugin's example)", nargs=-1),
    _AS_OF,
    _PRICES,
    *_node(),
)

_admin_group = group(gaib, "admin", "the protocol's roles: grant, revoke, and which an account holds")
for _action, _doing in (("grant", "give an account a role"), ("revoke", "take a role from an account")):
    leaf(
        _admin_group,
        _action,
        f"{_doing} (signed by the holder of the role's admin role)",
        run_async(_admin(_action)),
        arg("role", "underwriter, registrar, registrar_admin, kyc_manager, pauser, ..."),
        arg("account", "the account's address", type=ADDRESS),
        *_node(),
    )
leaf(
    _admin_group,
    "roles",
    "which of the protocol's roles an account holds (read-only)",
    run_async(_admin("roles")),
    arg("account", "default: the account of GAIB_PRIVATE_KEY", type=ADDRESS, required=False),
    *_node(),
)

_dev_group = group(gaib, "dev", "a development chain (anvil) that persists between commands, and its clock")
leaf(
    _dev_group,
    "start",
    "start it in the background, from its saved state if any",
    run_sync(_dev("start")),
    click.option("--port", type=int, default=8545, show_default=True, help="on 127.0.0.1 (0: any free port)"),
    json_option,
)
for _action, _doing in (
    ("status", "is it running, where, at which block"),
    ("stop", "stop it; its state is saved for the next start"),
    ("reset", "forget the saved state: the next start is a fresh chain"),
):
    leaf(_dev_group, _action, _doing, run_sync(_dev(_action)), json_option)
leaf(
    _dev_group,
    "time",
    "move its clock forward and mine a block",
    run_sync(_dev("time")),
    arg("seconds", "e.g. 2592000 for 30 days", type=int),
    json_option,
    context_settings={"ignore_unknown_options": True},
)  # `time -5` reaches the check that says why not

leaf(
    gaib,
    "export",
    "for integrators: ABIs, addresses, Solidity interfaces, a TypeScript module",
    run_async(_export),
    click.option(
        "--out",
        required=True,
        metavar="DIR",
        help="the folder to write abi/, solidity/, typescript/, addresses.json into",
    ),
    click.option(
        "--rpc", metavar="URL", help="only this node's deployment (default: every chain in the deployments file)"
    ),
    json_option,
)
leaf(
    gaib,
    "venue",
    "a DeFi venue (morpho, curve, pendle): setup (the admin), quote, add, remove, positions",
    run_async(_venue),
    arg("name", "the venue, as `gaib plugins` lists it"),
    arg(
        "action",
        "setup, quote, add, remove or positions",
        type=click.Choice(["setup", "quote", "add", "remove", "positions"]),
    ),
    arg("amount", "in the venue's unit for the action (see docs/venues/)", type=AMOUNT, required=False),
    click.option(
        "--with",
        "options",
        multiple=True,
        metavar="NAME=VALUE",
        help="a venue-specific argument, e.g. --with asset=sAID (repeatable)",
    ),
    click.option("--account", type=ADDRESS, help="positions: whose (default: the signing account)"),
    *_node(),
)

_plugin_group = group(gaib, "plugin", "write plugins: `gaib plugin new NAME`")
leaf(
    _plugin_group,
    "new",
    "write a new asset-class (or venue) plugin package from the template",
    run_sync(_plugin_new),
    arg("name", "the plugin's name, e.g. ev-charger: the package is gaib-ev-charger"),
    click.option("--kind", help="the asset class users pass to digitize and quote (default: NAME)"),
    click.option("--venue", is_flag=True, help="write a venue plugin (a DeFi venue named NAME) instead"),
    click.option("--dir", default=".", show_default=True, help="the folder to write gaib-NAME/ into"),
    json_option,
)

_bench_group = group(gaib, "bench", "benchmarks against a local anvil: `gaib bench onboard --gpus N`")
_BENCH_RPC = click.option(
    "--rpc", metavar="URL", help="a development node to use (default: start anvil from node_modules or the PATH)"
)
leaf(
    _bench_group,
    "onboard",
    "onboard N synthetic GPUs: time and gas per 1,000, SDK vs raw web3.py",
    run_sync(_bench),
    click.option("--gpus", type=int, default=10_000, show_default=True, help="the largest size; 1,000 GPUs is run too"),
    _BENCH_RPC,
    click.option("--raw/--no-raw", default=True, help="--no-raw: skip the raw web3.py baseline"),
    click.option(
        "--cluster",
        is_flag=True,
        help="digitize each size as one cluster, and the per-asset path against anvil's ceiling",
    ),
    click.option(
        "--per-asset",
        type=int,
        default=1000,
        show_default=True,
        help="with --cluster: per-GPU transactions against the ceiling",
    ),
    click.option(
        "--rounds", type=int, default=3, show_default=True, help="with --cluster: rounds per size, the best reported"
    ),
    json_option,
)
leaf(
    _bench_group,
    "overhead",
    "the three stages through the SDK vs raw web3.py: time and calls per tx",
    run_sync(_bench_overhead),
    click.option(
        "--flow",
        default="stages",
        show_default=True,
        type=click.Choice(["stages", "small"]),
        help="the three stages, or digitize only",
    ),
    click.option("--rounds", type=int, default=3, show_default=True, help="fresh anvil nodes, one after another"),
    _BENCH_RPC,
    json_option,
)
leaf(
    gaib,
    "report",
    "the NAV report: an HTML page with PNG plots, and JSON, read from the chain or an index",
    run_sync(_report_or_history),
    click.option(
        "--out", required=True, metavar="DIR", help="the folder to write index.html, the plots and report.json into"
    ),
    click.option(
        "--rpc",
        metavar="URL",
        help="report on the deployment on this node (default: run a scripted scenario in-process)",
    ),
    click.option("--block", type=int, help="report as of this block (default: the latest)"),
    click.option(
        "--index", metavar="DB", help="draw NAV, share price, reserve and payments over time from this index instead"
    ),
    click.option("--json", "json", is_flag=True, help="print a summary as one JSON object (an error too)"),
)


def _add_commands_of_other_modules() -> None:
    # `gaib node`, `gaib attestation` (node/cli.py); `gaib bridge`, `gaib networks` (bridge_cli.py);
    # `gaib index`, `gaib points` (index/cli.py). Each module imports click and cli_types only.
    from gaib_sdk.bridge_cli import add_commands as add_bridge_commands
    from gaib_sdk.index.cli import add_commands as add_index_commands
    from gaib_sdk.node.cli import add_commands as add_node_commands

    add_node_commands(gaib, _connect, _read_only)
    add_bridge_commands(gaib, _connect)
    add_index_commands(gaib)


_add_commands_of_other_modules()


# ---- errors ----


def _fail(as_json: bool, kind: str, message: str, code: int) -> int:
    """An error: one line on stderr, or under --json one object on stdout ({"error": {"type", "message"}})."""
    if as_json:
        _print_json({"error": {"type": kind, "message": message}})
    else:
        ui.error(message)
    return code


def _usage_message(exc: click.UsageError) -> str:
    """click's message, with a malformed value named the way the fuzz test and the docs say it: ``argument
    --advance: 'abc' is not a number``."""
    if type(exc) is click.BadParameter and exc.param is not None:
        param = exc.param
        name = param.opts[0] if isinstance(param, click.Option) else (param.name or "value")
        return f"argument {name}: {exc.message}"
    return exc.format_message()


def _usage_error(exc: click.UsageError, as_json: bool) -> int:
    ctx = exc.ctx
    where = ctx.command_path if ctx is not None else "gaib"
    if isinstance(exc, click.exceptions.NoArgsIsHelpError) and ctx is not None:  # `gaib`, `gaib node`: say what
        if not as_json:
            click.echo(ctx.get_help())
            return exc.exit_code
        commands = ", ".join(sorted(getattr(ctx.command, "commands", {})))
        exc = click.UsageError(f"a command is missing: one of {commands}", ctx)
    message = f"{where}: {_usage_message(exc)}"
    if as_json:
        _print_json({"error": {"type": "UsageError", "message": message}})
        return exc.exit_code
    if ctx is not None:
        click.echo(ctx.get_usage(), err=True)
    ui.error(message)
    ui.hint(f"Try '{where} --help' for help.")
    return exc.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """`gaib` with ``argv`` (default: sys.argv[1:]); returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in words
    if as_json:  # stdout is the one JSON object; retries and warnings are not news to a program
        import logging  # (not otherwise: `gaib --version` loads as little as it can)

        logger = logging.getLogger("gaib_sdk")
        level = logger.level
        logger.setLevel(logging.ERROR)
    try:
        code = gaib.main(args=words, prog_name="gaib", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.UsageError as exc:
        return _usage_error(exc, as_json)
    except click.Abort:  # click's word for Ctrl-C
        return _fail(as_json, "Interrupted", "interrupted", 130)
    except click.ClickException as exc:
        return _fail(as_json, type(exc).__name__, exc.format_message(), exc.exit_code)
    except GaibError as exc:
        return _fail(as_json, type(exc).__name__, str(exc), 1)
    except KeyboardInterrupt:
        return _fail(as_json, "Interrupted", "interrupted", 130)
    except OSError as exc:  # a file that exists, a folder that does not, a connection refused
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(as_json, type(exc).__name__, f"{exc.strerror or exc}{where}", 1)
    except SystemExit as exc:  # shell completion exits once it has printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if os.environ.get("GAIB_DEBUG"):
            raise
        if type(exc).__module__.startswith(("web3", "httpx", "httpcore")):  # the node or the network said no
            return _fail(as_json, "ChainError", f"the node refused or failed: {type(exc).__name__}: {exc}", 1)
        # Every error a user can cause should be a GaibError above; reaching here is a bug in gaib-sdk.
        message = f"unexpected {type(exc).__name__}: {exc} (a bug in gaib-sdk: GAIB_DEBUG=1 shows the traceback)"
        return _fail(as_json, "InternalError", message, 2)
    finally:
        if as_json:
            logger.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
