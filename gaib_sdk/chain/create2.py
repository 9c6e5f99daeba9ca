"""Deterministic deployment: CREATE2 through the canonical deterministic-deployment proxy.

The proxy (github.com/Arachnid/deterministic-deployment-proxy) lives at the same address on every chain
where its one-time deployment transaction was sent: that transaction is signed without a chain id by a key
nobody holds (its signature is made up, ``r = s = 0x2222...``), so anyone can send it once on any chain,
from the same signer, at nonce 0. Calling the proxy with ``salt ++ init code`` deploys the init code with
CREATE2: the address depends only on the proxy, the salt and the init code, so the same contract with the
same constructor arguments has the same address on every chain.

anvil has the proxy from genesis; :func:`ensure_factory` sends its deployment transaction on a development
chain that lacks it (the embedded EVM), and refuses elsewhere (a real network has it, or its operator must
send that transaction first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from gaib_sdk.chain.connection import Chain
from gaib_sdk.errors import ChainError, GaibConfigError

__all__ = ["FACTORY", "create2_address", "deploy_create2", "ensure_factory", "init_code"]

#: The proxy's address, and the one-time signer that deploys it at nonce 0 (gas price 100 gwei, 100,000 gas).
FACTORY = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
FACTORY_SIGNER = "0x3fAB184622Dc19b6109349B94811493BF2a45362"
FACTORY_DEPLOYMENT_COST = 100 * 10**9 * 100_000
FACTORY_DEPLOYMENT_TX = (
    "0xf8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf31ba0222222222222222222222"
    "2222222222222222222222222222222222222222222a02222222222222222222222222222222222222222222222222222222222222222"
)


def init_code(artifact: dict[str, Any], args: Sequence[Any]) -> bytes:
    """A contract's creation code with its constructor arguments ABI-encoded after it."""
    constructor = next((item for item in artifact["abi"] if item.get("type") == "constructor"), None)
    types = [_type(p) for p in constructor["inputs"]] if constructor else []
    return bytes(HexBytes(artifact["bytecode"])) + (abi_encode(types, list(args)) if types else b"")


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return f"({','.join(_type(c) for c in param['components'])}){param['type'][5:]}"
    return str(param["type"])


def create2_address(code: bytes, salt: bytes) -> str:
    """Where the proxy deploys ``code`` with ``salt`` (32 bytes), on any chain."""
    if len(salt) != 32:
        raise GaibConfigError(f"a CREATE2 salt is 32 bytes (got {len(salt)})")
    digest = keccak(b"\xff" + bytes(HexBytes(FACTORY)) + salt + keccak(code))
    return str(to_checksum_address(digest[12:]))


class _RawCall:
    """A transaction to ``to`` with raw ``data``, shaped like a web3 contract call for Chain.transact."""

    def __init__(self, chain: Chain, to: str, data: bytes):
        self.chain, self.to, self.data = chain, to, "0x" + data.hex()

    async def estimate_gas(self, tx: dict[str, Any]) -> int:
        return int(await self.chain.w3.eth.estimate_gas({**tx, "to": self.to, "data": self.data}))  # type: ignore[typeddict-item]

    async def build_transaction(self, tx: dict[str, Any]) -> dict[str, Any]:
        return {**tx, "to": self.to, "data": self.data}


async def ensure_factory(chain: Chain, funder: LocalAccount) -> bool:
    """Make sure the proxy is there; on a development chain without it, pay its signer and send its
    one-time deployment. Returns whether it was deployed now."""
    if await chain.has_code(FACTORY):
        return False
    if not chain.is_dev:
        raise GaibConfigError(
            f"chain {chain.chain_id} has no deterministic-deployment proxy at {FACTORY}: send its one-time "
            "deployment transaction there first (gaib_sdk.chain.create2.FACTORY_DEPLOYMENT_TX)",
            chain_id=chain.chain_id,
        )
    await chain.transact(
        _RawCall(chain, FACTORY_SIGNER, b""),
        funder,
        what="fund the CREATE2 proxy's signer",
        value=FACTORY_DEPLOYMENT_COST,
    )
    tx_hash = await chain.w3.eth.send_raw_transaction(HexBytes(FACTORY_DEPLOYMENT_TX))
    receipt = await chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1 or not await chain.has_code(FACTORY):
        raise ChainError("the CREATE2 proxy's deployment failed", chain_id=chain.chain_id)
    return True


async def deploy_create2(
    chain: Chain, sender: LocalAccount, artifact: dict[str, Any], args: Sequence[Any], salt: bytes
) -> tuple[str, bool]:
    """Deploy ``artifact(*args)`` at its CREATE2 address (the same on every chain); a contract already there
    is kept. Returns (address, whether it was deployed now)."""
    code = init_code(artifact, args)
    address = create2_address(code, salt)
    if await chain.has_code(address):
        return address, False
    await chain.transact(
        _RawCall(chain, FACTORY, salt + code), sender, what=f"deploy {artifact['contractName']} (CREATE2)"
    )
    if not await chain.has_code(address):
        raise ChainError(
            f"the CREATE2 proxy did not deploy {artifact['contractName']} at {address}", chain_id=chain.chain_id
        )
    return address, True
