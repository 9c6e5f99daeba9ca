"""What the indexer follows and how a log becomes a typed row.

A :class:`Source` is one contract: a name (``aid``, ``said``, ``venue:curve``), an address and the ABI of
its events. :class:`Decoder` turns raw ``eth_getLogs`` entries into :class:`Event` rows: one pydantic model
per (contract, event), made from the ABI, whose fields are the event's arguments (integers as ``int``,
addresses checksummed, bytes as 0x-hex) next to where the log was (block, hash, time, tx, log index).
Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_hash.auto import keccak
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict, create_model

from gaib_sdk.chain.artifacts import load_artifact

__all__ = ["ERC20_EVENTS", "MORPHO_EVENTS", "Decoder", "Event", "Source", "protocol_sources"]


class Event(BaseModel):
    """One log, decoded. Subclasses (one per contract and event, see :meth:`Decoder.model`) add the
    event's arguments as typed fields; ``args`` holds the same values as a dict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: str
    event: str
    address: str
    block_number: int
    block_hash: str
    timestamp: int
    tx_hash: str
    log_index: int
    args: dict[str, Any]


@dataclass(frozen=True)
class Source:
    """A contract the indexer follows: its name in the index, its address and its ABI (events are used)."""

    name: str
    address: str
    abi: Sequence[Mapping[str, Any]]

    def events(self) -> list[Mapping[str, Any]]:
        return [e for e in self.abi if e.get("type") == "event" and not e.get("anonymous")]


def _event(name: str, *inputs: tuple[str, str, bool]) -> dict[str, Any]:
    return {
        "type": "event",
        "name": name,
        "anonymous": False,
        "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in inputs],
    }


#: A venue's LP token (Curve's pool, Pendle's market): its balances follow from Transfer.
ERC20_EVENTS = [_event("Transfer", ("from", "address", True), ("to", "address", True), ("value", "uint256", False))]

#: Morpho Blue's position events (EventsLib), for the market the morpho venue set up.
MORPHO_EVENTS = [
    _event(
        "Supply",
        ("id", "bytes32", True),
        ("caller", "address", True),
        ("onBehalf", "address", True),
        ("assets", "uint256", False),
        ("shares", "uint256", False),
    ),
    _event(
        "Withdraw",
        ("id", "bytes32", True),
        ("caller", "address", False),
        ("onBehalf", "address", True),
        ("receiver", "address", True),
        ("assets", "uint256", False),
        ("shares", "uint256", False),
    ),
    _event(
        "SupplyCollateral",
        ("id", "bytes32", True),
        ("caller", "address", True),
        ("onBehalf", "address", True),
        ("assets", "uint256", False),
    ),
    _event(
        "WithdrawCollateral",
        ("id", "bytes32", True),
        ("caller", "address", False),
        ("onBehalf", "address", True),
        ("receiver", "address", True),
        ("assets", "uint256", False),
    ),
    _event(
        "Borrow",
        ("id", "bytes32", True),
        ("caller", "address", False),
        ("onBehalf", "address", True),
        ("receiver", "address", True),
        ("assets", "uint256", False),
        ("shares", "uint256", False),
    ),
    _event(
        "Repay",
        ("id", "bytes32", True),
        ("caller", "address", True),
        ("onBehalf", "address", True),
        ("assets", "uint256", False),
        ("shares", "uint256", False),
    ),
]

#: The protocol's contracts, by their key in a deployment, and their artifacts.
PROTOCOL_ARTIFACTS = {
    "aid": "AIDollar",
    "said": "StakedAID",
    "registry": "AssetRegistry",
    "facility": "CreditFacility",
    "attestation": "NodeAttestation",
    "leases": "LeaseRegistry",
    "gaib": "GAIB",
    "distributor": "PointsDistributor",
}

#: Where each venue keeps the contract whose events are its positions (see Venue.save_state), and their ABI.
VENUE_CONTRACTS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "curve": ("pool", ERC20_EVENTS),
    "pendle": ("market", ERC20_EVENTS),
    "morpho": ("morpho", MORPHO_EVENTS),
}


def protocol_sources(
    contracts: Mapping[str, str], venues: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Source]:
    """The sources of a deployment: each protocol contract it has, and each venue set up on it."""
    out = [
        Source(key, address, load_artifact(PROTOCOL_ARTIFACTS[key])["abi"])
        for key, address in sorted(contracts.items())
        if key in PROTOCOL_ARTIFACTS
    ]
    for venue, state in sorted((venues or {}).items()):
        if venue in VENUE_CONTRACTS and isinstance(state.get(VENUE_CONTRACTS[venue][0]), str):
            key, abi = VENUE_CONTRACTS[venue]
            out.append(Source(f"venue:{venue}", str(state[key]), abi))
    return out


_PY_TYPES: dict[str, type] = {"address": str, "bool": bool, "string": str}


def _py_type(abi_type: str) -> Any:
    if abi_type.endswith("]") or abi_type.startswith("("):
        return Any
    if abi_type.startswith(("uint", "int")):
        return int
    if abi_type.startswith("bytes"):
        return str
    return _PY_TYPES.get(abi_type, Any)


def plain(value: Any, abi_type: str) -> Any:
    """A decoded ABI value as JSON-friendly Python: bytes as 0x-hex, addresses checksummed, tuples as lists."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if abi_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        inner = abi_type[: abi_type.rindex("[")] if abi_type.endswith("]") else ""
        return [plain(v, inner) for v in value]
    return value


_META = set(Event.model_fields)


class Decoder:
    """Decodes the logs of a set of sources. Logs it does not know (another contract, an event not in the
    ABI) are skipped, never guessed."""

    def __init__(self, sources: Iterable[Source]):
        self.sources = list(sources)
        self._by_key: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
        self._models: dict[tuple[str, str], type[Event]] = {}
        for source in self.sources:
            for abi in source.events():
                topic = "0x" + event_abi_to_log_topic(dict(abi)).hex()  # type: ignore[arg-type]
                self._by_key[(source.address.lower(), topic)] = (source.name, abi)
                self._models.setdefault((source.name, abi["name"]), _model(source.name, abi))

    @property
    def addresses(self) -> list[str]:
        return sorted({s.address for s in self.sources})

    def model(self, contract: str, event: str) -> type[Event]:
        """The pydantic model of one event of one source."""
        try:
            return self._models[(contract, event)]
        except KeyError:
            raise KeyError(f"no event {event} on {contract}: the sources are {sorted(self._names())}") from None

    def _names(self) -> set[str]:
        return {s.name for s in self.sources}

    def decode(self, log: Mapping[str, Any], timestamp: int) -> Event | None:
        """One raw log (as eth_getLogs returns it) as a typed event, or None if no source knows it."""
        topics = [t if isinstance(t, str) else "0x" + bytes(t).hex() for t in log["topics"]]
        if not topics:
            return None
        found = self._by_key.get((str(log["address"]).lower(), topics[0].lower()))
        if found is None:
            return None
        name, abi = found
        args = decode_args(abi, topics[1:], _hex(log["data"]))
        return self.row(
            name,
            abi["name"],
            args,
            address=to_checksum_address(str(log["address"])),
            block_number=_int(log["blockNumber"]),
            block_hash=_hex(log["blockHash"]),
            timestamp=timestamp,
            tx_hash=_hex(log["transactionHash"]),
            log_index=_int(log["logIndex"]),
        )

    def decode_row(self, log: Mapping[str, Any]) -> tuple[int, int, str, str, str, str, str] | None:
        """One raw log as the database stores it (block, log index, tx, address, contract, event, args as
        JSON), without making its model: the indexer's fast path."""
        topics = log["topics"]
        if not topics:
            return None
        first = topics[0] if isinstance(topics[0], str) else "0x" + bytes(topics[0]).hex()
        address = str(log["address"])
        found = self._by_key.get((address.lower(), first.lower()))
        if found is None:
            return None
        name, abi = found
        rest = [t if isinstance(t, str) else "0x" + bytes(t).hex() for t in topics[1:]]
        data = _hex(log["data"])
        plan = _plan(abi)
        text = plan.json(rest, data) if plan.flat else None
        return (
            _int(log["blockNumber"]),
            _int(log["logIndex"]),
            _hex(log["transactionHash"]),
            checksummed(address[-40:]),
            name,
            str(abi["name"]),
            text if text is not None else dumps(decode_args(abi, rest, data)),
        )

    def row(self, contract: str, event: str, args: dict[str, Any], **meta: Any) -> Event:
        """An event from its parts (as the database stores them)."""
        model = self._models.get((contract, event))
        fields = {_field(k): v for k, v in args.items()}
        if model is None:  # a source no longer followed: still readable, untyped
            return Event(contract=contract, event=event, args=args, **meta)
        return model(contract=contract, event=event, args=args, **meta, **fields)


def _field(name: str) -> str:
    return f"{name}_" if name in _META or not name.isidentifier() else name


def _model(contract: str, abi: Mapping[str, Any]) -> type[Event]:
    fields: dict[str, Any] = {_field(i["name"]): (_py_type(collapse_if_tuple(dict(i))), ...) for i in abi["inputs"]}
    title = "".join(part.capitalize() for part in contract.replace(":", "_").split("_")) + str(abi["name"])
    model: type[Event] = create_model(title, __base__=Event, **fields)
    return model


class _Plan:
    """How to decode one event's arguments, worked out once per event (the indexer decodes millions)."""

    def __init__(self, abi: Mapping[str, Any]):
        inputs = list(abi["inputs"])
        self.names = [str(i["name"]) for i in inputs]
        self.indexed = [(str(i["name"]), collapse_if_tuple(dict(i))) for i in inputs if i.get("indexed")]
        rest = [i for i in inputs if not i.get("indexed")]
        self.rest_names = [str(i["name"]) for i in rest]
        self.rest_kinds = [collapse_if_tuple(dict(i)) for i in rest]
        # static words whose value is plain (uint, int, bool): read straight from the data, no eth_abi
        self.simple = all(k.startswith(("uint", "int")) or k == "bool" for k in self.rest_kinds)
        # every argument one word of a plain type: the row's JSON is written directly (Transfer, Minted...)
        kinds = {collapse_if_tuple(dict(i)) for i in inputs}
        self.flat = self.simple and all(
            k in ("address", "bool", "bytes32") or k.startswith(("uint", "int")) for k in kinds
        )
        where: dict[str, tuple[bool, int, str]] = {}
        for n, (nm, kind) in enumerate(self.indexed):
            where[nm] = (True, n, kind)
        for n, (nm, kind) in enumerate(zip(self.rest_names, self.rest_kinds, strict=True)):
            where[nm] = (False, n, kind)
        self.order = [(nm, *where[nm]) for nm in self.names]

    def json(self, topics: Sequence[str], data: str) -> str | None:
        """The arguments as the JSON :func:`dumps` gives, built directly; None if the log is not as the
        ABI says (then the general path decodes it, or says what is wrong)."""
        if len(topics) != len(self.indexed) or len(data) != 2 + 64 * len(self.rest_kinds):
            return None
        parts = []
        for nm, indexed, n, kind in self.order:
            if indexed:
                value: Any = _topic(topics[n], kind)
            else:
                value = int(data[2 + 64 * n : 66 + 64 * n], 16)
                if kind.startswith("int") and value >= 1 << 255:
                    value -= 1 << 256
                elif kind == "bool":
                    value = value != 0
            if isinstance(value, bool):
                parts.append(f'"{nm}":{"true" if value else "false"}')
            elif isinstance(value, int):
                parts.append(f'"{nm}":{value}')
            else:
                parts.append(f'"{nm}":"{value}"')
        return "{" + ",".join(parts) + "}"


_PLANS: dict[int, tuple[Mapping[str, Any], _Plan]] = {}
_ADDRESSES: dict[str, str] = {}
#: Addresses kept checksummed: the accounts and contracts that recur; forgotten all at once past this many.
_ADDRESS_CACHE = 100_000


def checksummed(hex40: str) -> str:
    """EIP-55 of 40 hex digits (what eth_utils.to_checksum_address gives, in half its time), cached."""
    tail = hex40.lower()
    found = _ADDRESSES.get(tail)
    if found is None:
        digest = keccak(tail.encode()).hex()
        found = "0x" + "".join(c.upper() if c > "9" and digest[i] >= "8" else c for i, c in enumerate(tail))
        if len(_ADDRESSES) >= _ADDRESS_CACHE:
            _ADDRESSES.clear()
        _ADDRESSES[tail] = found
    return found


def _plan(abi: Mapping[str, Any]) -> _Plan:
    found = _PLANS.get(id(abi))
    if found is None or found[0] is not abi:
        found = (abi, _Plan(abi))
        _PLANS[id(abi)] = found
    return found[1]


def _topic(topic: str, kind: str) -> Any:
    """An indexed argument from its topic (a dynamic type's topic is its hash, kept as such)."""
    if kind == "address":
        return checksummed(topic[-40:])
    if kind.startswith("uint"):
        return int(topic, 16)
    if kind == "bool":
        return int(topic, 16) != 0
    if kind == "bytes32":
        return topic.lower()
    dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
    raw = bytes.fromhex(topic[2:])
    return "0x" + raw.hex() if dynamic else plain(abi_decode([kind], raw)[0], kind)


def decode_args(abi: Mapping[str, Any], topics: Sequence[str], data: str) -> dict[str, Any]:
    """An event's arguments, by name, from its indexed topics and its data."""
    plan = _plan(abi)
    out: dict[str, Any] = {}
    for (name, kind), topic in zip(plan.indexed, topics, strict=False):
        out[name] = _topic(topic, kind)
    if plan.rest_kinds:
        if plan.simple and len(data) == 2 + 64 * len(plan.rest_kinds):
            for i, (name, kind) in enumerate(zip(plan.rest_names, plan.rest_kinds, strict=True)):
                word = int(data[2 + 64 * i : 66 + 64 * i], 16)
                if kind.startswith("int") and word >= 1 << 255:
                    word -= 1 << 256
                out[name] = word != 0 if kind == "bool" else word
        else:
            values = abi_decode(plan.rest_kinds, bytes.fromhex(data[2:]))
            for name, kind, value in zip(plan.rest_names, plan.rest_kinds, values, strict=True):
                out[name] = plain(value, kind)
    return {name: out[name] for name in plan.names if name in out}


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def dumps(args: Mapping[str, Any]) -> str:
    """An event's arguments as the database stores them: JSON, integers exact."""
    return json.dumps(args, separators=(",", ":"), sort_keys=False)
