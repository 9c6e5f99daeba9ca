"""LP points and GAIB incentives, computed from the event index.

A liquidity provider earns points for each venue position it holds, time-weighted block by block: a
balance counts from the block it changed in until the block of its next change (or the epoch's end), for
the seconds between those blocks' timestamps. So

    points = sum over positions of  balance (whole tokens) x seconds held / 86,400 x venue multiplier x pool multiplier

one point per token held for a day at a multiplier of 1. What a position is, and the multipliers, come from
a versioned rules file (:class:`Rules`, JSON). Balances are rebuilt from the indexed events alone (an LP
token's ``Transfer``; Morpho's ``Supply`` and ``Withdraw`` shares of a market), with integer arithmetic until
the multipliers, so a fresh index of the same chain gives the same figure to the last digit.

An epoch's GAIB is split pro rata to points (rounded down to the wei) and exported as a Merkle distribution
(:func:`distribution`): leaves ``keccak256(bytes.concat(keccak256(abi.encode(epoch, account, amount))))``,
the tree of :mod:`gaib_sdk.merkle`, checked on chain by the PointsDistributor contract, where
:func:`publish` funds an epoch and :func:`claim` pays an account once per epoch.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field

from gaib_sdk.errors import GaibConfigError, GaibValueError
from gaib_sdk.index.indexer import Index
from gaib_sdk.merkle import MerkleTree

__all__ = [
    "Claim",
    "Distribution",
    "PointsTable",
    "Rules",
    "VenueRule",
    "claim",
    "deploy_distributor",
    "distribution",
    "leaf",
    "load_rules",
    "points",
    "publish",
]

ZERO = "0x0000000000000000000000000000000000000000"
DAY = 86_400
#: Points are rounded down to this many decimals (after all the integer work).
POINT_DECIMALS = 6


class VenueRule(BaseModel):
    """How one venue's positions earn. ``kind``: ``lp_token`` (an ERC-20 LP token: Curve's pool, Pendle's
    market; the balance follows its Transfer events) or ``morpho_supply`` (supply shares of a Morpho market).
    ``pools`` maps a pool (the LP token's address, or the Morpho market id) to its multiplier; a pool not
    listed earns ``default_pool_multiplier`` (0 leaves it out)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lp_token", "morpho_supply"]
    multiplier: Decimal = Field(default=Decimal(1), ge=0)
    decimals: int = Field(default=18, ge=0, le=36)
    pools: dict[str, Decimal] = {}
    default_pool_multiplier: Decimal = Field(default=Decimal(1), ge=0)

    def pool_multiplier(self, pool: str) -> Decimal:
        for key, value in self.pools.items():
            if key.lower() == pool.lower():
                return value
        return self.default_pool_multiplier


class Rules(BaseModel):
    """A versioned rules file: which venues earn and at what multipliers. Change the rules by publishing
    a new version; a distribution names the version (and the file's hash) it was computed with."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    name: str = "gaib-lp-points"
    venues: dict[str, VenueRule]

    def digest(self) -> str:
        """sha256 of the rules as canonical JSON: what a distribution was computed with."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


def load_rules(path: str | Path) -> Rules:
    try:
        return Rules.model_validate_json(Path(path).read_text())
    except FileNotFoundError:
        raise GaibConfigError(f"no points rules file at {path}", stage="points") from None
    except ValueError as exc:
        raise GaibConfigError(f"the points rules in {path} are not valid: {exc}", stage="points") from exc


class PointsTable(BaseModel):
    """Each account's points (and per venue), from ``start`` to ``end`` (unix seconds)."""

    model_config = ConfigDict(extra="forbid")

    rules_version: int
    rules_digest: str
    start: int
    end: int
    to_block: int
    points: dict[str, Decimal]
    by_venue: dict[str, dict[str, Decimal]]

    def leaderboard(self, top: int = 10) -> list[tuple[str, Decimal]]:
        ranked = sorted(self.points.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:top]


def _changes(index: Index, venue: str, rule: VenueRule, to_block: int) -> list[tuple[int, int, str, str, int]]:
    """(timestamp, block, account, pool, delta in base units) for each change of a position, in chain order."""
    source = f"venue:{venue}"
    out: list[tuple[int, int, str, str, int]] = []
    if rule.kind == "lp_token":
        for e in index.events(source, "Transfer", to_block=to_block):
            value, pool = int(e.args["value"]), e.address
            if e.args["from"] != ZERO:
                out.append((e.timestamp, e.block_number, e.args["from"], pool, -value))
            if e.args["to"] != ZERO:
                out.append((e.timestamp, e.block_number, e.args["to"], pool, value))
    else:
        for e in index.events(source, ("Supply", "Withdraw"), to_block=to_block):
            sign = 1 if e.event == "Supply" else -1
            out.append((e.timestamp, e.block_number, e.args["onBehalf"], e.args["id"], sign * int(e.args["shares"])))
    return out


def points(
    index: Index, rules: Rules, *, start: int = 0, end: int | None = None, to_block: int | None = None
) -> PointsTable:
    """Points earned between unix times ``start`` and ``end`` (default: the time of the index's last
    block), from the events up to ``to_block`` (default: the index's cursor)."""
    cursor = index.cursor if to_block is None else to_block
    if cursor is None:
        raise GaibConfigError("the index is empty: run `gaib index` first", stage="points")
    if end is None:
        times = index.db.query("SELECT timestamp FROM blocks WHERE number = ?", (cursor,))
        if not times:
            raise GaibConfigError(f"the index has no time for block {cursor}: give end=", stage="points")
        end = int(times[0][0])
    if end < start:
        raise GaibValueError(f"the epoch ends ({end}) before it starts ({start})")
    # token-seconds held, exact integers, per (venue, pool, account)
    held: dict[tuple[str, str, str], int] = defaultdict(int)
    for venue, rule in sorted(rules.venues.items()):
        balance: dict[tuple[str, str], int] = defaultdict(int)
        since: dict[tuple[str, str], int] = {}
        for ts, _block, account, pool, delta in _changes(index, venue, rule, cursor):
            key = (pool, account)
            if key in since:
                seconds = max(0, min(ts, end) - max(since[key], start))
                held[(venue, pool, account)] += balance[key] * seconds
            balance[key] += delta
            since[key] = ts
        for key, amount in balance.items():
            seconds = max(0, end - max(since[key], start))
            held[(venue, key[0], key[1])] += amount * seconds
    table: dict[str, Fraction] = defaultdict(Fraction)
    by_venue: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for (venue, pool, account), token_seconds in sorted(held.items()):
        rule = rules.venues[venue]
        weight = Fraction(rule.multiplier) * Fraction(rule.pool_multiplier(pool))
        earned = Fraction(token_seconds, 10**rule.decimals * DAY) * weight
        if earned:
            table[account] += earned
            by_venue[account][venue] += earned
    return PointsTable(
        rules_version=rules.version,
        rules_digest=rules.digest(),
        start=start,
        end=end,
        to_block=cursor,
        points={a: _round(v) for a, v in sorted(table.items())},
        by_venue={a: {v: _round(x) for v, x in sorted(vs.items())} for a, vs in sorted(by_venue.items())},
    )


def _round(value: Fraction) -> Decimal:
    quantum = Decimal(1).scaleb(-POINT_DECIMALS)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum, rounding=ROUND_DOWN)


# ---- the Merkle distribution ----


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int
    points: Decimal
    proof: list[str]


class Distribution(BaseModel):
    """An epoch's GAIB, split pro rata to points; ``claims`` by account, each with its Merkle proof."""

    model_config = ConfigDict(extra="forbid")

    epoch: int
    root: str
    total: int
    rules_version: int
    rules_digest: str
    start: int
    end: int
    to_block: int
    claims: dict[str, Claim]


def leaf(epoch: int, account: str, amount: int) -> bytes:
    """keccak256(bytes.concat(keccak256(abi.encode(epoch, account, amount)))), as the contract builds it."""
    return keccak(keccak(abi_encode(["uint256", "address", "uint256"], [epoch, to_checksum_address(account), amount])))


def distribution(table: PointsTable, epoch: int, total_wei: int) -> Distribution:
    """``total_wei`` GAIB split by points: each account gets floor(total x its points / all points); the
    dust (under one wei an account) stays with the rewarder: the tree's total is what it sums to."""
    earned = {a: p for a, p in table.points.items() if p > 0}
    if not earned:
        raise GaibValueError("no account earned points in this epoch: nothing to distribute")
    whole = sum(earned.values())
    amounts = {a: int(Fraction(total_wei) * Fraction(p) / Fraction(whole)) for a, p in earned.items()}
    amounts = {a: v for a, v in amounts.items() if v > 0}
    if not amounts:
        raise GaibValueError(f"{total_wei} GAIB wei split by these points gives every account 0: distribute more")
    tree = MerkleTree([leaf(epoch, a, v) for a, v in amounts.items()])
    claims = {
        a: Claim(amount=v, points=earned[a], proof=tree.proof(leaf(epoch, a, v))) for a, v in sorted(amounts.items())
    }
    return Distribution(
        epoch=epoch,
        root=tree.root,
        total=sum(amounts.values()),
        rules_version=table.rules_version,
        rules_digest=table.rules_digest,
        start=table.start,
        end=table.end,
        to_block=table.to_block,
        claims=claims,
    )


# ---- on chain ----


def _distributor(gaib: Any, address: str) -> Any:
    from gaib_sdk.chain import load_artifact

    return gaib.chain.contract(address, load_artifact("PointsDistributor")["abi"])


async def deploy_distributor(gaib: Any) -> str:
    """Deploy a PointsDistributor paying GAIB, with ``gaib``'s account as its admin and rewarder."""
    from gaib_sdk.chain import load_artifact

    result = await gaib.chain.deploy(
        load_artifact("PointsDistributor"), [gaib.protocol.gaib.address, gaib.address], gaib.account
    )
    return str(result.contract_address)


async def publish(gaib: Any, distributor: str, dist: Distribution, uri: str = "") -> str:
    """Publish and fund an epoch (the REWARDER_ROLE; the account pays ``dist.total`` GAIB). Refused before
    sending if the epoch is already published or the account holds too little GAIB."""
    contract = _distributor(gaib, distributor)
    root, _total, _paid = await contract.functions.epochs(dist.epoch).call()
    if int.from_bytes(bytes(root), "big") != 0:
        raise GaibValueError(f"epoch {dist.epoch} is already published (root 0x{bytes(root).hex()}): use a new epoch")
    if not await gaib.has_role(contract, "REWARDER_ROLE"):
        raise GaibValueError(f"{gaib.address} lacks REWARDER_ROLE on the distributor {distributor}")
    await gaib.require_balance(gaib.protocol.gaib, dist.total, "GAIB", f"fund epoch {dist.epoch}")
    await gaib.approve(gaib.protocol.gaib, distributor, dist.total)
    root_bytes = bytes.fromhex(dist.root[2:])
    result = await gaib.send(
        contract.functions.publish(dist.epoch, root_bytes, dist.total, uri), what=f"publish epoch {dist.epoch}"
    )
    return str(result.tx_hash)


async def claim(gaib: Any, distributor: str, dist: Distribution, account: str | None = None) -> int:
    """Claim ``account``'s GAIB (default: the signing account's) for the distribution's epoch; the GAIB
    paid. A second claim, an unpublished epoch or a root that differs from the contract's is refused before
    anything is sent."""
    who = to_checksum_address(account or gaib.address)
    contract = _distributor(gaib, distributor)
    entry = next((c for a, c in dist.claims.items() if a.lower() == who.lower()), None)
    if entry is None:
        raise GaibValueError(f"{who} has nothing to claim in epoch {dist.epoch}")
    root, _total, _paid = await contract.functions.epochs(dist.epoch).call()
    if "0x" + bytes(root).hex() != dist.root.lower():
        raise GaibValueError(
            f"epoch {dist.epoch}'s root on chain is 0x{bytes(root).hex()}, not this distribution's {dist.root}:"
            " publish it first, or use the distribution that was published"
        )
    if await contract.functions.claimed(dist.epoch, who).call():
        raise GaibValueError(f"{who} has already claimed epoch {dist.epoch}: one claim per account per epoch")
    proof = [bytes.fromhex(p[2:]) for p in entry.proof]
    await gaib.send(contract.functions.claim(dist.epoch, who, entry.amount, proof), what=f"claim epoch {dist.epoch}")
    return entry.amount
