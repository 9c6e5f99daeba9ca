"""A chain connection: one AsyncWeb3, the accounts that sign, and one path for every transaction.

Every transaction is estimated first, so a call that would revert is refused with the decoded reason
before anything is sent; then signed locally, sent, and its receipt awaited. Nonces are kept per account
under a lock, so concurrent sends from one client do not collide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.contract import AsyncContract
from web3.providers.eth_tester import AsyncEthereumTesterProvider
from web3.types import TxParams

from gaib_sdk.chain.artifacts import decode_revert, revert_data
from gaib_sdk.errors import ChainError, GaibConfigError, TransactionFailed

__all__ = ["Chain", "TxResult"]

#: Chain ids of development chains: the embedded EVM, anvil and hardhat.
DEV_CHAIN_IDS = frozenset({131277322940537, 31337, 1337})
GAS_HEADROOM = 1.25
IN_PROCESS_GAS = 25_000_000  # under the embedded chain's 30M block gas limit
DEFAULT_PRIORITY_FEE = 1_000_000_000  # 1 gwei


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    logs: Sequence[Any]
    contract_address: str | None = None


class Chain:
    """One connection to one chain. Create with :meth:`embedded` or :meth:`connect`."""

    def __init__(self, w3: AsyncWeb3[Any], chain_id: int, *, accounts: Sequence[LocalAccount] = (), in_process: bool):
        self.w3 = w3
        self.chain_id = chain_id
        #: True for the in-process EVM, which lives and dies with this object.
        self.in_process = in_process
        #: Accounts this connection can sign for. On the embedded chain: its funded dev accounts.
        self.accounts: list[LocalAccount] = list(accounts)
        #: (what, tx hash) of every transaction sent through this connection, in order.
        self.history: list[tuple[str, str]] = []
        self._nonces: dict[str, int] = {}
        self._nonce_lock = asyncio.Lock()

    # ---- construction ----

    @classmethod
    async def embedded(cls) -> Chain:
        """A fresh in-process EVM (py-evm through eth-tester): no node, no key, no network."""
        provider = AsyncEthereumTesterProvider()
        w3 = AsyncWeb3(provider)
        keys = provider.ethereum_tester.backend.account_keys
        accounts = [Account.from_key(k.to_bytes()) for k in keys]
        return cls(w3, await w3.eth.chain_id, accounts=accounts, in_process=True)

    @classmethod
    async def connect(cls, url: str, *, private_keys: Sequence[str] = (), timeout: float = 30) -> Chain:
        """Any EVM JSON-RPC endpoint by URL. ``private_keys`` sign transactions locally."""
        if not url.startswith(("http://", "https://")):
            raise GaibConfigError(f"RPC URL {url!r} must start with http:// or https://")
        accounts = []
        for i, key in enumerate(private_keys):
            try:
                accounts.append(Account.from_key(key))
            except Exception as exc:
                # Never echo the key itself.
                raise GaibConfigError(f"private key #{i + 1} is not a valid secp256k1 key") from exc
        provider = AsyncHTTPProvider(url, request_kwargs={"timeout": timeout})
        w3 = AsyncWeb3(provider)
        try:
            chain_id = await w3.eth.chain_id
        except Exception as exc:
            await provider.disconnect()
            raise ChainError(f"could not reach the node at {url}: {exc}") from exc
        return cls(w3, chain_id, accounts=accounts, in_process=False)

    async def close(self) -> None:
        provider = self.w3.provider
        disconnect = getattr(provider, "disconnect", None)
        if disconnect is not None and not self.in_process:
            await disconnect()

    @property
    def is_dev(self) -> bool:
        """A development chain, where the SDK may deploy test tokens and third-party protocol code."""
        return self.in_process or self.chain_id in DEV_CHAIN_IDS

    # ---- reads ----

    def contract(self, address: str, abi: list[dict[str, Any]]) -> AsyncContract:
        return self.w3.eth.contract(address=self.w3.to_checksum_address(address), abi=abi)

    async def genesis_hash(self) -> str:
        block = await self.w3.eth.get_block(0)
        return HexBytes(block["hash"]).to_0x_hex()

    async def has_code(self, address: str) -> bool:
        return len(await self.w3.eth.get_code(self.w3.to_checksum_address(address))) > 0

    async def timestamp(self) -> int:
        return int((await self.w3.eth.get_block("latest"))["timestamp"])

    # ---- dev chains only ----

    async def advance_time(self, seconds: int) -> None:
        """Move the clock of a development chain forward and mine a block (embedded EVM or anvil)."""
        if self.in_process:
            tester = self.w3.provider.ethereum_tester
            # time_travel stamps the block it mines one second early; the next block lands on the target.
            tester.time_travel(await self.timestamp() + seconds)
            tester.mine_blocks(1)
            return
        try:
            await self.w3.provider.make_request("evm_increaseTime", [seconds])
            await self.w3.provider.make_request("evm_mine", [])
        except Exception as exc:
            raise ChainError(f"this node cannot move its clock (evm_increaseTime): {exc}") from exc

    # ---- writes ----

    async def deploy(self, artifact: dict[str, Any], args: Sequence[Any], sender: LocalAccount) -> TxResult:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        result = await self.transact(factory.constructor(*args), sender, what=f"deploy {artifact['contractName']}")
        if result.contract_address is None:
            raise ChainError(f"deploying {artifact['contractName']} gave no contract address", tx_hash=result.tx_hash)
        return result

    async def transact(self, call: Any, sender: LocalAccount, *, what: str, value: int = 0) -> TxResult:
        """Estimate, sign, send and await one contract call or deployment. A call that would revert
        raises :class:`TransactionFailed` with the decoded reason, and nothing is sent."""
        base: dict[str, Any] = {"from": sender.address, "value": value, "chainId": self.chain_id}
        if self.in_process:
            # eth-tester estimates gas by running a transaction about seven times; one eth_call finds a
            # revert just as well. Gas costs nothing here and receipts still report what was used.
            tx = await call.build_transaction({**base, "gas": IN_PROCESS_GAS, **await self._fees()})
            try:
                probe: TxParams = {"from": tx["from"], "data": tx["data"], "value": tx["value"], "gas": tx["gas"]}
                if tx.get("to"):
                    probe["to"] = tx["to"]
                await self.w3.eth.call(probe, "pending")  # as the next block will see it
            except Exception as exc:
                raise self._failure(exc, what) from exc
        else:
            try:
                gas = await call.estimate_gas(base)
            except Exception as exc:
                raise self._failure(exc, what) from exc
            tx = await call.build_transaction({**base, "gas": int(gas * GAS_HEADROOM) + 10_000, **await self._fees()})
        async with self._nonce_lock:
            tx["nonce"] = await self._next_nonce(sender.address)
            signed = sender.sign_transaction(tx)
            try:
                tx_hash = await self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception as exc:
                self._nonces.pop(sender.address, None)  # re-read it from the node next time
                raise self._failure(exc, what) from exc
            self._nonces[sender.address] = tx["nonce"] + 1
        receipt = await self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        hex_hash = HexBytes(tx_hash).to_0x_hex()
        self.history.append((what, hex_hash))
        if receipt["status"] != 1:
            raise TransactionFailed(f"{what} reverted on-chain", tx_hash=hex_hash, chain_id=self.chain_id)
        address = receipt.get("contractAddress")
        return TxResult(hex_hash, receipt["blockNumber"], receipt["gasUsed"], receipt["logs"], address)

    async def _next_nonce(self, address: str) -> int:
        if address not in self._nonces:
            self._nonces[address] = await self.w3.eth.get_transaction_count(address, "pending")  # type: ignore[arg-type]
        return self._nonces[address]

    async def _fees(self) -> dict[str, int]:
        block = await self.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0))
        try:
            priority = int(await self.w3.eth.max_priority_fee)
        except Exception:
            priority = DEFAULT_PRIORITY_FEE
        return {"maxFeePerGas": 2 * base_fee + priority, "maxPriorityFeePerGas": priority}

    def _failure(self, exc: Exception, what: str) -> TransactionFailed:
        data = revert_data(exc)
        decoded = decode_revert(data) if data else None
        if decoded is not None:
            name, args = decoded
            detail = ", ".join(f"{k}={v}" for k, v in args.items())
            reason = f"{name}({detail})"
        else:
            reason = str(exc) or type(exc).__name__
        return TransactionFailed(f"{what} would revert: {reason}", reason=reason, chain_id=self.chain_id)
