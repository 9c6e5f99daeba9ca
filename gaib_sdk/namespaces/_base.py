"""What every namespace of the client shares: the :class:`Namespace` base, which reaches the client's session,
account and helpers (sending, roles, balances, permits, the reads a method makes ahead), and the amount and
id conversions the namespaces use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from eth_account.signers.local import LocalAccount
from web3.contract import AsyncContract

from gaib_sdk.errors import GaibValueError
from gaib_sdk.merkle import MerkleTree
from gaib_sdk.merkle import leaf as merkle_leaf
from gaib_sdk.models import Inventory

if TYPE_CHECKING:
    from gaib_sdk.chain import Chain, Protocol, TxResult
    from gaib_sdk.client import Gaib
    from gaib_sdk.plugins import Plugins

__all__ = ["AID_DECIMALS", "USDC_DECIMALS", "Namespace", "Receipt", "from_units", "to_units"]

USDC_DECIMALS = 6
AID_DECIMALS = 18
STRUCTURE_NAMES: list[Literal["fixed", "revenue_share", "hybrid"]] = ["fixed", "revenue_share", "hybrid"]
STRUCTURES = {name: i for i, name in enumerate(STRUCTURE_NAMES)}
ASSET_STATUSES = [
    "none",
    "active",
    "financed",
    "defaulted",
    "liquidated",
    "retired",
    "impaired",
    "disputed",
    "unconfirmed",  # never stored: collateralInfo's word for an active entry whose ownership is provisional
]


def to_units(amount: Decimal | int | str, decimals: int, *, what: str) -> int:
    """Whole units (e.g. Decimal("12.5") USDC) to base units, refusing negatives and excess precision."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise GaibValueError(f"{what} {amount!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise GaibValueError(f"{what} {amount} must be a non-negative number")
    # In integers, exactly: Decimal arithmetic rounds to 28 digits, which took 1000000000.1111111111111111111
    # (19 places) for an amount of 18.
    _, digits, exponent = value.as_tuple()
    coefficient, shift = int("".join(map(str, digits))), int(exponent) + decimals
    if shift > 78:  # more base units than a uint256 holds
        raise GaibValueError(f"{what} {amount} is too large")
    if shift >= 0:
        return coefficient * int(10**shift)
    units, rest = divmod(coefficient, int(10**-shift))
    if rest:
        raise GaibValueError(f"{what} {amount} has more than {decimals} decimal places")
    return units


_WIDE = Context(prec=80)


def from_units(units: int, decimals: int) -> Decimal:
    """Base units to whole units, exactly: 250000000000 at 6 decimals is Decimal("250000")."""
    return _WIDE.divide(Decimal(units), Decimal(10**decimals))


@dataclass(frozen=True)
class Receipt:
    """What an action did: the amount that came out of it, and its transactions in order."""

    action: str
    amount: Decimal
    tx_hashes: list[str]


class Namespace:
    """One room of the client (``gaib.aid``, ``gaib.deals``...): bound to one :class:`~gaib_sdk.Gaib`, so it
    shares that client's connection, plugins and deployment and signs as its account. ``gaib.with_account(...)``
    gives a client whose namespaces sign as the other account."""

    def __init__(self, client: Gaib) -> None:
        self._client = client

    def __repr__(self) -> str:
        who = self._client._account.address if self._client._account is not None else "no account"
        return f"<{type(self).__name__} of Gaib ({who})>"

    @property
    def client(self) -> Gaib:
        """The client this namespace belongs to."""
        return self._client

    # What the client holds and does, reached from every namespace (private: a namespace's public names
    # are its own verbs).

    @property
    def _chain(self) -> Chain:
        return self._client.chain

    @property
    def _protocol(self) -> Protocol:
        return self._client.protocol

    @property
    def _plugins(self) -> Plugins:
        return self._client.plugins

    @property
    def _account(self) -> LocalAccount:
        return self._client.account

    @property
    def _address(self) -> str:
        return self._client.address

    async def _send(self, call: Any, *, what: str, key: str | None = None) -> TxResult:
        return await self._client.send(call, what=what, key=key)

    async def _approve(self, token: AsyncContract, spender: str, amount: int) -> list[str]:
        return await self._client.approve(token, spender, amount)

    async def _require_balance(self, token: AsyncContract, amount: int, symbol: str, doing: str) -> None:
        await self._client.require_balance(token, amount, symbol, doing)

    def _balance_reads(self, token: AsyncContract, spender: AsyncContract) -> list[Any]:
        return self._client.balance_reads(token, spender)

    async def _sign_permit(self, token: AsyncContract, spender: str, amount: int) -> tuple[int, int, bytes, bytes]:
        return await self._client.sign_permit(token, spender, amount)

    async def _has_role(self, contract: AsyncContract, name: str, account: str | None = None) -> bool:
        return await self._client.has_role(contract, name, account)

    def _role_read(self, contract: AsyncContract, name: str, account: str | None = None) -> Any:
        return self._client._role_read(contract, name, account)

    async def _require_role(self, contract: AsyncContract, name: str, doing: str) -> None:
        await self._client._require_role(contract, name, doing)

    async def _require_not_paused(self, doing: str, token: str = "AID") -> None:
        await self._client._require_not_paused(doing, token)

    def _permit_reads(self, token: AsyncContract) -> list[Any]:
        return self._client._permit_reads(token)

    def _key(self, key: str | None, action: str) -> str | None:
        return self._client._key(key, action)

    def _resuming(self, key: str | None) -> bool:
        return self._client._resuming(key)

    def _stablecoin(self, name: str) -> tuple[AsyncContract, str]:
        return self._client._stablecoin(name)


# ---- conversions shared by the namespaces ----


def checksum(value: str, what: str) -> str:
    """An address as the chain takes it; GaibValueError naming ``what`` if it is not one."""
    from eth_utils.address import is_hex_address, to_checksum_address

    if not isinstance(value, str) or not is_hex_address(value):
        raise GaibValueError(f"{what} {value!r} is not an address: 0x and 40 hex digits")
    return str(to_checksum_address(value))


def usdc(units: int) -> Decimal:
    return from_units(units, USDC_DECIMALS)


def bytes32(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 32:
        raise GaibValueError(f"kind {text!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")


def cluster_tree(inventory: Inventory, ids: Sequence[str] | None = None) -> MerkleTree:
    """The Merkle tree of an inventory's assets, as a cluster is registered (``ids``: their asset ids, in
    order, if the caller has them already)."""
    if ids is None:
        ids = [a.asset_id for a in inventory.assets]
    return MerkleTree([merkle_leaf(i, a.record_hash) for i, a in zip(ids, inventory.assets, strict=True)])


def ownership(status: int, confirms_at: int, confirmed: bool) -> dict[str, Any]:
    """``ownership``: "none", "provisional", "confirmed" or "disputed"; ``confirms_at``: when the delay
    confirms it (unix seconds), from the registry's ``confirmation`` answer."""
    if status == 0:
        word = "none"
    elif ASSET_STATUSES[status] == "disputed":
        word = "disputed"
    else:
        word = "confirmed" if confirmed else "provisional"
    return {"ownership": word, "confirms_at": int(confirms_at)}


def asset_info(asset_id: str, a: Any) -> dict[str, Any]:
    """An asset as :meth:`Assets.get` gives it, from the registry's ``getAsset`` answer."""
    return {
        "asset_id": asset_id,
        "kind": a[0].rstrip(b"\0").decode(),
        "record_hash": "0x" + a[1].hex(),
        "owner": a[2],
        "status": ASSET_STATUSES[a[3]],
        "registered_at": a[4],
        "attestation": "0x" + a[5].hex(),
        "attested_at": a[6],
    }
