"""Typed command-line parameters for `gaib` (click): a malformed value is a usage error naming the parameter,
never a traceback from deep inside the SDK. The parsing functions (:func:`amount`, :func:`day`,
:func:`address`, :func:`bytes32`) raise ``ValueError`` with the message a user reads; the click types wrap
them. Only click is imported here: `gaib --version` stays fast."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, TypedDict, TypeVar

import click
from click.core import ParameterSource

from gaib_sdk.cli_output import fields, print_json

__all__ = [
    "ADDRESS",
    "AMOUNT",
    "BYTES32",
    "DAY",
    "Args",
    "address",
    "amount",
    "arg",
    "bytes32",
    "day",
    "group",
    "json_option",
    "leaf",
    "rpc_args",
    "rpc_options",
    "run_async",
    "run_sync",
]

F = TypeVar("F", bound=Callable[..., Any])
#: The parsed command line a command's function reads (``args.rpc``, ``args.json``...).
Args = SimpleNamespace
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def amount(text: str) -> Decimal:
    """A positive, finite decimal amount: 1000, 1000.50, 1e6."""
    try:
        value = Decimal(text.replace("_", ""))
    except ArithmeticError:
        raise ValueError(f"{text!r} is not a number (e.g. 1000 or 1000.50)") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} must be a positive, finite amount (e.g. 1000 or 1000.50)")
    if value.adjusted() >= 30:  # beyond any token supply; also keeps 1e400000000 from being written out
        raise ValueError(f"{text!r} is too large for an amount")
    return Decimal(format(value, "f"))  # 1e6 is shown as 1000000


def day(text: str) -> str:
    """A calendar date, YYYY-MM-DD (kept as text: the commands parse it where they use it)."""
    try:
        date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date YYYY-MM-DD ({exc})") from None
    return text


def address(text: str) -> str:
    """A 20-byte hex account address, 0x followed by 40 hex digits; one in mixed case must carry a valid
    EIP-55 checksum (a typo in it is caught, not sent to)."""
    from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

    if not is_hex_address(text):
        raise ValueError(f"{text!r} is not an address: 0x and 40 hex digits")
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(text):
        raise ValueError(
            f"{text!r} is not an address: its mixed case is not a valid EIP-55 checksum (a mistyped digit?)"
        )
    return str(to_checksum_address(text))


def bytes32(text: str) -> str:
    """A 32-byte id (an asset id, a cluster root): 0x followed by 64 hex digits."""
    body = text[2:] if text[:2].lower() == "0x" else ""
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise ValueError(f"{text!r} is not a 32-byte id: 0x and 64 hex digits")
    return "0x" + body.lower()


class _Parsed(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A click type from one of the parsing functions above: its ValueError is the usage error's message."""

    def __init__(self, name: str, parse: Callable[[str], Any], metavar: str) -> None:
        self.name, self._parse, self._metavar = name, parse, metavar

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):  # a default already parsed
            return value
        try:
            return self._parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return self._metavar if isinstance(param, click.Option) else None


AMOUNT = _Parsed("amount", amount, "AMOUNT")
DAY = _Parsed("day", day, "YYYY-MM-DD")
ADDRESS = _Parsed("address", address, "ADDRESS")
BYTES32 = _Parsed("bytes32", bytes32, "0x…64 HEX")


def json_option(f: F) -> F:
    """``--json``: one JSON object on stdout, the result or the error."""
    return click.option("--json", "json", is_flag=True, help="print one JSON object (an error too)")(f)


def rpc_options(help: str = "the node's URL", *, required: bool = True) -> Callable[[F], F]:
    """``--rpc URL``, by default $GAIB_RPC, or ``--network NAME``: a network of the shipped networks file, reached
    at $GAIB_RPC_<NAME> or its public RPC, whose chain id the node must have. One of them is required (checked
    before the command runs), and both at once are refused."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def checked(**kw: Any) -> Any:
            ctx = click.get_current_context()
            typed = ctx.get_parameter_source("rpc") == ParameterSource.COMMANDLINE
            if kw.get("network") and typed:
                raise click.UsageError("argument --network: not allowed with argument --rpc", ctx)
            if required and not kw.get("rpc") and not kw.get("network"):
                raise click.UsageError(
                    "one of the arguments --rpc --network is required (or set GAIB_RPC to the node's URL)", ctx
                )
            return f(**kw)

        checked = click.option(
            "--network",
            metavar="NAME",
            help="a network by name (base, arbitrum, plume, ...; `gaib networks`), instead of --rpc",
        )(checked)
        checked = click.option("--rpc", metavar="URL", envvar="GAIB_RPC", show_envvar=True, help=help)(checked)
        return checked  # type: ignore[return-value]

    return decorate


def arg(name: str, help: str, **settings: Any) -> Decorator:
    """A positional argument with its help (click's arguments have none: it goes in the command's help)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.argument(name, **settings)(f)
        f.__dict__.setdefault("__gaib_args__", []).insert(0, (name.upper(), help))
        return f

    return decorate


def leaf(
    group: click.Group, name: str, help: str, callback: Callable[..., Any], *params: Decorator, **settings: Any
) -> click.Command:
    """Add the command ``name`` to ``group``: ``params`` (options, :func:`arg`) in the order help lists them."""
    for param in reversed(params):
        callback = param(callback)
    described = callback.__dict__.get("__gaib_args__", [])
    text = help
    if described:
        width = max(len(n) for n, _ in described)
        text += "\n\n\b\nArguments:\n" + "\n".join(f"  {n:<{width}}  {h}" for n, h in described)
    return group.command(name, help=text, short_help=help, **settings)(callback)


def group(parent: click.Group, name: str, help: str) -> click.Group:
    """A command group ``name`` under ``parent`` (admin, dev, node...)."""
    made = click.Group(name, help=help, short_help=help)
    parent.add_command(made)
    return made


def run_async(fn: Callable[[Args], Any]) -> Callable[..., None]:
    """A command's callback: ``fn(args)`` (async) returns a dict, printed as JSON or for a person."""

    def callback(**kw: Any) -> None:
        args = Args(**kw)
        import asyncio  # here, not at the top: `gaib --version` never needs it

        data = asyncio.run(fn(args))
        if args.json:
            print_json(data)
        elif data:
            fields(data)

    return callback


def run_sync(fn: Callable[[Args], int]) -> Callable[..., int]:
    """A command's callback for a function that prints its own output and returns the exit status."""

    def callback(**kw: Any) -> int:
        return fn(Args(**kw))

    return callback


class ConnectTarget(TypedDict, total=False):
    url: str
    network: str


def rpc_args(args: Any) -> ConnectTarget:
    """Gaib.connect's ``url=`` or ``network=`` from ``--rpc`` / ``--network``."""
    name = getattr(args, "network", None)
    return {"network": name} if name else {"url": args.rpc}
