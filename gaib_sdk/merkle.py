"""Merkle trees the way OpenZeppelin's MerkleProof checks them: leaves double-hashed, pairs hashed sorted.

A cluster of assets is registered on-chain by the root of a tree whose leaves are
``keccak256(bytes.concat(keccak256(abi.encode(assetId, recordHash))))``; any one asset is then proven by
a proof of about log2(n) hashes, verified by ``AssetRegistry.verifyInCluster`` or by :func:`verify` here.
Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_hash.auto import keccak

__all__ = ["MerkleTree", "leaf", "verify"]


def _b32(value: str | bytes) -> bytes:
    raw = bytes.fromhex(value[2:]) if isinstance(value, str) else value
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def leaf(asset_id: str | bytes, record_hash: str | bytes) -> bytes:
    """The leaf of one asset: keccak256(bytes.concat(keccak256(abi.encode(assetId, recordHash))))."""
    return keccak(keccak(_b32(asset_id) + _b32(record_hash)))  # abi.encode of two bytes32: their concatenation


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b if a < b else b + a)


def verify(root: str | bytes, leaf_hash: bytes, proof: Sequence[str | bytes]) -> bool:
    """Check a proof as OpenZeppelin's MerkleProof.verify does."""
    node = leaf_hash
    for sibling in proof:
        node = _pair(node, _b32(sibling))
    return node == _b32(root)


class MerkleTree:
    """A tree over leaves sorted by value (so the root does not depend on the order of the inventory).
    A node without a sibling on its level is carried up unchanged."""

    def __init__(self, leaves: Sequence[bytes]):
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if len(set(leaves)) != len(leaves):
            raise ValueError("duplicate leaves: each asset may appear once in a cluster")
        level = sorted(leaves)
        self._levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
            self._levels.append(level)
        self._index = {value: i for i, value in enumerate(self._levels[0])}

    @property
    def root(self) -> str:
        return "0x" + self._levels[-1][0].hex()

    def __len__(self) -> int:
        return len(self._levels[0])

    def proof(self, leaf_hash: bytes) -> list[str]:
        """The sibling hashes from the leaf up to the root."""
        if leaf_hash not in self._index:
            raise KeyError("that leaf is not in the tree")
        i, out = self._index[leaf_hash], []
        for level in self._levels[:-1]:
            sibling = i ^ 1
            if sibling < len(level):
                out.append("0x" + level[sibling].hex())
            i //= 2
        return out
