"""Networks as data: the shipped ``networks.json`` (Ethereum, Arbitrum, Base, Plume and their testnets).

Each network carries its chain id, native USDC, LayerZero endpoint id and EndpointV2 address, block explorer
and a public RPC where its operator publishes one, with a source for each fact. A fact that could not be
verified is None, never a guess (the file's ``notes`` say which and why). Development chains are not listed.

The RPC URL of a network is, in order: $GAIB_RPC_<NAME> (``GAIB_RPC_BASE_SEPOLIA`` for ``base-sepolia``),
then the file's public RPC (rate limited: fine to read, not for production).
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from gaib_sdk.errors import GaibConfigError

__all__ = ["Network", "network", "networks", "rpc_url"]


class Network(BaseModel):
    """One network's facts (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    testnet: bool
    chain_id: int
    usdc: str | None
    layerzero_eid: int | None
    layerzero_endpoint: str | None
    explorer: str | None
    rpc: str | None
    sources: dict[str, str | None]
    notes: str | None = None


@cache
def networks() -> dict[str, Network]:
    """Every network of the shipped file, by name."""
    text = resources.files("gaib_sdk").joinpath("networks.json").read_text()
    return {n["name"]: Network(**n) for n in json.loads(text)["networks"]}


def network(name: str) -> Network:
    """The network called ``name`` (refused with the names known)."""
    known = networks()
    if name not in known:
        raise GaibConfigError(f"unknown network {name!r}: known are {', '.join(sorted(known))}")
    return known[name]


def rpc_url(name: str) -> str:
    """The RPC URL to use for network ``name``: $GAIB_RPC_<NAME>, else its public RPC."""
    var = "GAIB_RPC_" + name.upper().replace("-", "_")
    url = os.environ.get(var) or network(name).rpc
    if not url:
        raise GaibConfigError(f"network {name!r} has no public RPC in the networks file: set {var} to your node's URL")
    return url
