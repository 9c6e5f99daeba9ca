"""Typed command-line arguments for `gaib`: a malformed value is a usage error naming the argument (argparse
prints it with the usage line), never a traceback from deep inside the SDK."""

from __future__ import annotations

import argparse
import os
from datetime import date
from decimal import Decimal
from typing import TypedDict

__all__ = ["add_rpc", "address", "amount", "bytes32", "day", "rpc_args"]


def amount(text: str) -> Decimal:
    """A positive, finite decimal amount: 1000, 1000.50, 1e6."""
    try:
        value = Decimal(text.replace("_", ""))
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 1000 or 1000.50)") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive, finite amount (e.g. 1000 or 1000.50)")
    if value.adjusted() >= 30:  # beyond any token supply; also keeps 1e400000000 from being written out
        raise argparse.ArgumentTypeError(f"{text!r} is too large for an amount")
    return Decimal(format(value, "f"))  # 1e6 is shown as 1000000


def day(text: str) -> str:
    """A calendar date, YYYY-MM-DD (kept as text: the commands parse it where they use it)."""
    try:
        date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD ({exc})") from None
    return text


def address(text: str) -> str:
    """A 20-byte hex account address, 0x followed by 40 hex digits; one in mixed case must carry a valid
    EIP-55 checksum (a typo in it is caught, not sent to)."""
    from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

    if not is_hex_address(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an address: 0x and 40 hex digits")
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an address: its mixed case is not a valid EIP-55 checksum (a mistyped digit?)"
        )
    return str(to_checksum_address(text))


def bytes32(text: str) -> str:
    """A 32-byte id (an asset id, a cluster root): 0x followed by 64 hex digits."""
    body = text[2:] if text[:2].lower() == "0x" else ""
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise argparse.ArgumentTypeError(f"{text!r} is not a 32-byte id: 0x and 64 hex digits")
    return "0x" + body.lower()


def add_rpc(parser: argparse.ArgumentParser, help: str = "the node's URL") -> None:
    """``--rpc URL``, by default $GAIB_RPC (then it may be left out), or ``--network NAME``: a network of the
    shipped networks file, reached at $GAIB_RPC_<NAME> or its public RPC, whose chain id the node must have."""
    url = os.environ.get("GAIB_RPC") or None
    group = parser.add_mutually_exclusive_group(required=url is None)
    group.add_argument("--rpc", default=url, help=f"{help} (default: $GAIB_RPC)")
    group.add_argument(
        "--network", help="a network by name (base, arbitrum, plume, ...; `gaib networks`), instead of --rpc"
    )


class ConnectTarget(TypedDict, total=False):
    url: str
    network: str


def rpc_args(args: argparse.Namespace) -> ConnectTarget:
    """Gaib.connect's ``url=`` or ``network=`` from ``--rpc`` / ``--network``."""
    name = getattr(args, "network", None)
    return {"network": name} if name else {"url": args.rpc}
