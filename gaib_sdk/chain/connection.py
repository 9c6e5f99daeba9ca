"""A chain connection: one AsyncWeb3, the accounts that sign, and one path for every transaction.

Every transaction is estimated first, so a call that would revert is refused with the decoded reason
before anything is sent; then signed locally with an EIP-1559 fee, sent, and its receipt awaited (and, with
``confirmations=N``, until its block is N blocks deep). Nonces are kept per account under a lock, so
concurrent sends from one client do not collide.

Against a node (:meth:`Chain.connect`) the connection is also a transaction manager:

- before each send, the node's chain id must still be the one the connection was made for: it is asked
  again on each new HTTP connection to the node (a restarted or swapped node comes with one), not before
  every call (web3.py's validation middleware, which did, is dropped);
- fees are read from the node once, then learned from each receipt's block, and read again at least every
  FEE_TTL_S; a node that refuses a fee cap as under its base fee gets the transaction signed again;
- reads of a :meth:`Chain.contract` are one raw ``eth_call`` each, or one batch for :meth:`Chain.call_many`;
- transient RPC failures are retried with a bounded backoff (:mod:`gaib_sdk.chain.transport`), reverts never;
- with a :class:`~gaib_sdk.chain.journal.Journal`, every signed transaction is written to disk before it is
  broadcast. A transaction sent with an idempotency ``key`` is never signed twice while an attempt may
  still run: a process killed at any point and started again finds what was mined, and sends once what
  was not (the same signed bytes). Before an account's first new transaction in a process, its
  unsettled journal rows are settled: recorded if mined, re-broadcast if not, dropped if their nonce
  went to another transaction;
- :meth:`Chain.transact_batch` sends many independent transactions as JSON-RPC batches with locally
  assigned nonces; on a development node that mines each transaction as it comes (anvil's automine), it
  turns automine off while the batch goes in, mines until the pool is empty, and turns it back on.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
from coincurve import PrivateKey
from eth_abi.exceptions import DecodingError
from eth_abi.grammar import TupleType
from eth_abi.grammar import parse as parse_abi_type
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from eth_utils.address import is_checksum_address, to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3._utils.abi import map_abi_data
from web3._utils.method_formatters import log_entry_formatter, receipt_formatter
from web3._utils.normalizers import (
    abi_address_to_hex,
    abi_bytes_to_bytes,
    abi_string_to_text,
)
from web3.contract import AsyncContract
from web3.contract.async_contract import AsyncContractFunction, AsyncContractFunctions
from web3.contract.base_contract import BaseContractFunctions
from web3.exceptions import Web3RPCError
from web3.providers.eth_tester import AsyncEthereumTesterProvider
from web3.types import RPCEndpoint, TxParams

from gaib_sdk.chain.artifacts import decode_revert, load_artifact, register_error_abi, revert_data
from gaib_sdk.chain.journal import Entry, Journal, Status
from gaib_sdk.chain.transport import RetryPolicy, RpcProvider
from gaib_sdk.errors import ChainError, GaibConfigError, TransactionFailed
from gaib_sdk.paths import gaib_home

__all__ = ["Chain", "EmbeddedState", "Intent", "TxResult"]

log = logging.getLogger("gaib_sdk.chain")

#: Chain ids of development chains: the embedded EVM, anvil and hardhat.
DEV_CHAIN_IDS = frozenset({131277322940537, 31337, 1337})
GAS_HEADROOM = 1.25
EIP7966_TIMEOUT = 4  # eth_sendRawTransactionSync's error: sent, but not mined within the node's wait
IN_PROCESS_GAS = 25_000_000  # under the embedded chain's 30M block gas limit
DEFAULT_PRIORITY_FEE = 1_000_000_000  # 1 gwei
#: A JSON-RPC batch holds at most this many requests, or this many bytes of signed transactions.
BATCH_REQUESTS = 500
# Multicall3, at the same address on every public network (github.com/mds1/multicall); the SDK places its own
# copy there on a development node. Reads per aggregate3: well under a node's gas cap for one eth_call.
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
MULTICALL_READS = 500
_AGGREGATE3 = bytes.fromhex("82ad56cb")  # aggregate3((address,bool,bytes)[])
BATCH_BYTES = 2_000_000
#: While awaiting a receipt, check this often (in polls) that the node still knows the transaction, and
#: broadcast it again if not (a node restarted from saved state forgets its pending pool).
REBROADCAST_EVERY = 8
#: Signing again after "nonce too low" on a fresh transaction (another client of the same account was
#: faster): at most this many tries.
STALE_NONCE_TRIES = 3
#: The node's chain id is asked again on every new HTTP connection (a node restarted or swapped behind the
#: URL comes with one), and at least this often.
CHAIN_ID_RECHECK_S = 60.0
#: Fees are read from the node at most this often: in between, the base fee of the block that mined the
#: connection's last transaction (its receipt gives it) stands for the next one. The fee cap is twice the
#: base fee, which covers six full blocks in a row (each raises the base fee by 1/8).
FEE_TTL_S = 12.0
#: ...and the tip at least this often.
TIP_TTL_S = 60.0


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    logs: Sequence[Any]
    contract_address: str | None = None


@dataclass(frozen=True)
class Intent:
    """One transaction of a batch: a contract call, what it is for, and optionally its idempotency key and
    a gas limit (given, it skips the estimate)."""

    call: Any
    what: str
    key: str | None = None
    value: int = 0
    gas: int | None = None


class EmbeddedState:
    """A frozen copy of an embedded chain (py-evm's key-value store, its head and dev keys): each
    :meth:`backend` is a new, independent chain starting from it."""

    def __init__(self, backend: Any):
        self._store = dict(backend.chain.chaindb.db.wrapped_db.kv_store)
        self._chain_class = type(backend.chain)
        self._keys = backend.account_keys

    def backend(self) -> Any:
        from eth.db.atomic import AtomicDB
        from eth.db.backends.memory import MemoryDB
        from eth_tester.backends.pyevm.main import PyEVMBackend  # type: ignore[import-untyped]

        # PyEVMBackend holds only its dev keys and its chain; py-evm rebuilds a chain from a database's head.
        backend = PyEVMBackend.__new__(PyEVMBackend)
        backend.account_keys = self._keys
        backend.chain = self._chain_class(AtomicDB(MemoryDB(dict(self._store))))
        return backend


class _Refused(Exception):
    """The node refused a signed transaction (not a transport failure): it is not in its pool."""


class _NonceTaken(_Refused):
    """The transaction's nonce went to another transaction: it can never run."""


class _FeeTooLow(_Refused):
    """The node refused the transaction's fee cap as under the base fee: it may be signed again with fresh fees."""


@dataclass
class _FeeCache:
    """What the fees were last known from: a block's number and base fee, the tip, the gas limit."""

    block: int
    base_fee: int
    priority: int
    gas_limit: int
    at: float  # time.monotonic() when the base fee was learned (from the node, or from a receipt)
    read_at: float  # when the node was last asked (the tip comes from there only)


@dataclass
class _Pending:
    """A signed transaction being awaited."""

    tx_hash: str
    raw: str
    what: str
    key: str
    receipt: dict[str, Any] | None = None
    tip: int | None = None  # its maxPriorityFeePerGas, and maxFeePerGas: its receipt then gives its block's base fee
    fee_cap: int | None = None


class Chain:
    """One connection to one chain. Create with :meth:`embedded` or :meth:`connect`."""

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        chain_id: int,
        *,
        accounts: Sequence[LocalAccount] = (),
        in_process: bool,
        journal: Journal | None = None,
        genesis_hash: str = "",
        confirmations: int = 0,
        receipt_timeout: float = 120,
    ):
        self.w3 = w3
        self.chain_id = chain_id
        #: True for the in-process EVM, which lives and dies with this object.
        self.in_process = in_process
        #: Accounts this connection can sign for. On the embedded chain: its funded dev accounts.
        self.accounts: list[LocalAccount] = list(accounts)
        #: (what, tx hash) of every transaction sent through this connection, in order.
        self.history: list[tuple[str, str]] = []
        #: The journal of signed transactions, or None (the embedded chain has none).
        self.journal = journal
        #: Blocks a receipt's block must be under the head before a transaction counts as done.
        self.confirmations = confirmations
        self.receipt_timeout = receipt_timeout
        #: Journal rows are scoped by chain id and genesis hash: never replayed onto another chain.
        self.scope = f"{chain_id}:{genesis_hash}"
        self._owns_journal = False
        self._nonces: dict[str, int] = {}
        self._nonce_lock = asyncio.Lock()
        self._settled: set[str] = set()
        self._fee_cache: _FeeCache | None = None
        self._multicall: bool | None = None  # whether Multicall3 answers at MULTICALL3; None: not yet looked
        self._sync_send: bool | None = None  # whether the node answers eth_sendRawTransactionSync; None: not yet asked
        self._contracts: dict[tuple[str, str], AsyncContract] = {}
        self._contracts_seen: dict[tuple[str, int], tuple[list[dict[str, Any]], AsyncContract]] = {}
        # the chain id was read as the connection was made: on the provider's connection so far
        self._checked_connection = getattr(w3.provider, "connections", None)
        self._checked_at = time.monotonic()

    # ---- construction ----

    @classmethod
    async def embedded(cls, state: EmbeddedState | None = None) -> Chain:
        """A fresh in-process EVM (py-evm through eth-tester): no node, no key, no network. With ``state``
        (from :meth:`save_state`), a new chain that starts as a copy of the saved one: its blocks,
        contracts and balances, not its later history. The copy takes about a millisecond, where deploying
        the protocol again in py-evm takes about half a second."""
        provider = AsyncEthereumTesterProvider()
        if state is not None:
            from eth_tester import EthereumTester  # type: ignore[import-untyped]

            provider.ethereum_tester = EthereumTester(backend=state.backend())
        w3 = AsyncWeb3(provider)
        keys = provider.ethereum_tester.backend.account_keys
        accounts = [Account.from_key(k.to_bytes()) for k in keys]
        return cls(w3, await w3.eth.chain_id, accounts=accounts, in_process=True)

    def save_state(self) -> EmbeddedState:
        """The embedded chain's whole state as it is now, for :meth:`embedded` to start new chains from."""
        if not self.in_process:
            raise GaibConfigError("only the embedded chain's state can be saved: use evm_snapshot on a node")
        return EmbeddedState(self.w3.provider.ethereum_tester.backend)

    def restore_state(self, state: EmbeddedState) -> None:
        """Put this embedded chain back in a state saved by :meth:`save_state` (eth-tester's revert, without
        needing the saved blocks to be this chain's own). Pending nonces and fees read so far are forgotten."""
        if not self.in_process:
            raise GaibConfigError("only an embedded chain can be restored: use evm_revert on a node")
        from eth_tester import EthereumTester

        self.w3.provider.ethereum_tester = EthereumTester(backend=state.backend())
        self._nonces.clear()
        self._settled.clear()
        self._fee_cache = None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        private_keys: Sequence[str] = (),
        timeout: float = 30,
        journal: Journal | Path | bool = False,
        confirmations: int = 0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        receipt_timeout: float = 120,
    ) -> Chain:
        """Any EVM JSON-RPC endpoint by URL. ``private_keys`` sign transactions locally.

        ``journal``: a :class:`Journal`, a path to one, True for ``$GAIB_HOME/journal-<chain id>.sqlite``,
        or False for none. ``confirmations``: blocks to wait under a transaction's block. ``retry``: how
        transient failures are retried. ``transport``: an ``httpx.AsyncBaseTransport`` between the SDK
        and the node (see :mod:`gaib_sdk.chain.transport`)."""
        if not url.startswith(("http://", "https://")):
            raise GaibConfigError(f"RPC URL {url!r} must start with http:// or https://")
        if isinstance(confirmations, bool) or not isinstance(confirmations, int) or confirmations < 0:
            raise GaibConfigError(f"confirmations must be a whole number of blocks, 0 or more (got {confirmations!r})")
        accounts = []
        for i, key in enumerate(private_keys):
            try:
                accounts.append(Account.from_key(key))
            except Exception:
                # Never echo the key itself, nor let the cause (which may hold it) travel with the error.
                raise GaibConfigError(f"private key #{i + 1} is not a valid secp256k1 key") from None
        policy = retry or RetryPolicy()
        provider = RpcProvider(url, timeout=timeout, retry=RetryPolicy(attempts=2), transport=transport)
        w3 = AsyncWeb3(provider)
        # web3.py's validation asks the node for its chain id before every call and estimate (most of the
        # SDK's calls, once). The SDK signs every transaction with the chain id it read here and checks
        # it again on each new connection to the node (_check_chain_id).
        w3.middleware_onion.remove("validation")
        try:
            chain_id = await w3.eth.chain_id
            genesis = HexBytes((await w3.eth.get_block(0))["hash"]).to_0x_hex()
        except Exception as exc:
            await provider.disconnect()
            raise ChainError(f"could not reach the node at {url}: {exc}") from exc
        provider.retry = policy
        if journal is True:
            journal = gaib_home() / f"journal-{chain_id}.sqlite"
        opened = Journal(journal) if isinstance(journal, Path) else journal or None
        chain = cls(
            w3,
            chain_id,
            accounts=accounts,
            in_process=False,
            journal=opened,
            genesis_hash=genesis,
            confirmations=confirmations,
            receipt_timeout=receipt_timeout,
        )
        chain._owns_journal = isinstance(journal, Path)
        return chain

    async def close(self) -> None:
        provider = self.w3.provider
        disconnect = getattr(provider, "disconnect", None)
        if disconnect is not None and not self.in_process:
            await disconnect()
        if self.journal is not None and self._owns_journal:
            self.journal.close()

    @property
    def is_dev(self) -> bool:
        """A development chain, where the SDK may deploy test tokens and third-party protocol code."""
        return self.in_process or self.chain_id in DEV_CHAIN_IDS

    # ---- reads ----

    def contract(self, address: str, abi: list[dict[str, Any]]) -> AsyncContract:
        """The contract at ``address``. Made once per address and ABI: web3.py checks the whole ABI each
        time it makes one (tens of milliseconds for the protocol's contracts). Its custom errors are learnt,
        so a call to it that would revert is refused with the error's name and arguments."""
        # the same ABI object again (an artifact's, loaded once) is found without serializing it: a large
        # ABI's JSON took milliseconds, where a loop asking for the same contract wants microseconds
        seen = self._contracts_seen.get((address, id(abi)))
        if seen is not None and seen[0] is abi:
            return seen[1]
        key = (address.lower(), json.dumps(abi, sort_keys=True))
        if key not in self._contracts:
            register_error_abi(abi)
            contract = self.w3.eth.contract(address=self.w3.to_checksum_address(address), abi=abi)
            contract.functions = _Functions(contract.abi, self.w3, contract.address, contract.decode_tuples)
            self._contracts[key] = contract
        self._contracts_seen[(address, id(abi))] = (abi, self._contracts[key])  # holding abi keeps its id
        return self._contracts[key]

    async def call_many(self, calls: Sequence[Any], block: str | int = "latest") -> list[Any]:
        """Read many contract function calls (``contract.functions.f(args)``) at one block: what each
        one's ``.call()`` returns, in order. Against a node they go as JSON-RPC batches (one round trip
        for up to BATCH_REQUESTS reads); a call that reverts raises :class:`ChainError` with its reason."""
        if not calls:
            return []
        encoded = [self._encode(c) for c in calls]
        if self.in_process or any(e is None for e in encoded) or not isinstance(self.w3.provider, RpcProvider):
            return [await c.call(block_identifier=block) for c in calls]
        return await self._read([(c.abi, e) for c, e in zip(calls, encoded, strict=True) if e is not None], block)

    async def call_each(
        self, function: Any, argsets: Sequence[Sequence[Any]], block: str | int = "latest"
    ) -> list[Any]:
        """``function(*args).call()`` for each of ``argsets`` (``function`` as ``contract.functions.f``,
        not called), as :meth:`call_many` reads them: the same answers, without making a web3.py call
        object for each (a batch of 10,000 reads spent more time making them than the node answering)."""
        if not argsets:
            return []
        abi, address = getattr(function, "abi", None), getattr(function, "address", None)
        if self.in_process or not isinstance(abi, dict) or not address:
            return await self.call_many([function(*a) for a in argsets], block)
        to = str(address)
        return await self._read([(abi, (to, _calldata(self.w3, abi, a))) for a in argsets], block)

    async def multicall_ready(self) -> bool:
        """Whether Multicall3 answers at its canonical address: looked for once per connection, and on a
        development node placed there when it is missing (``anvil_setCode``). Reads of :meth:`call_many`
        then go as one ``eth_call`` per MULTICALL_READS of them; without it, as JSON-RPC batches."""
        if self.in_process:
            return False
        if self._multicall is None:
            try:
                self._multicall = await self._find_multicall()
            except ChainError as exc:
                log.info("Multicall3 is not available (%s): reads go as JSON-RPC batches", exc)
                self._multicall = False
        return self._multicall

    async def _find_multicall(self) -> bool:
        if (await self.rpc("eth_getCode", MULTICALL3, "latest") or "0x") not in ("0x", "0x0"):
            return True
        if not self.is_dev:
            return False
        # a constructor run by eth_call returns the code it would deploy
        code = await self.rpc("eth_call", {"data": load_artifact("Multicall3")["bytecode"]}, "latest")
        for method in ("anvil_setCode", "hardhat_setCode"):
            response = await self.w3.provider.make_request(RPCEndpoint(method), [MULTICALL3, code])
            if "error" not in response:
                return True
        return False

    async def _read(self, reads: Sequence[tuple[dict[str, Any], tuple[str, str]]], block: str | int) -> list[Any]:
        """eth_call each (abi, (to, calldata)), through Multicall3 where it answers, else as JSON-RPC
        batches; decoded as web3.py's ``.call()`` would."""
        if len(reads) > 1 and await self.multicall_ready():
            return await self._read_aggregated(reads, block)
        tag = hex(block) if isinstance(block, int) else block
        out: list[Any] = []
        for start in range(0, len(reads), BATCH_REQUESTS):
            chunk = reads[start : start + BATCH_REQUESTS]
            requests = [("eth_call", [{"to": to, "data": data}, tag]) for _, (to, data) in chunk]
            for (abi, (to, _)), response in zip(chunk, await self._provider().batch(requests), strict=True):
                name = abi["name"]
                if "error" in response:
                    failure = self._rpc_failure(response["error"], f"reading {name}")
                    raise ChainError(str(failure), chain_id=self.chain_id)
                data = HexBytes(response.get("result") or "0x")
                try:
                    out.append(_decode(self.w3, abi, data))
                except DecodingError as exc:
                    raise ChainError(f"reading {name} at {to} gave {data.to_0x_hex()}: {exc}") from exc
        return out

    async def prefetch(self, calls: Sequence[Any | None]) -> None:
        """Read ``calls`` (``contract.functions.f(args)``) now, in one round trip; until the next transaction
        sent from this task, each one's plain ``.call()`` is answered from what was read. A method gathers
        its pre-checks' reads this way and keeps its checks as they read: one ``eth_call`` through
        Multicall3 instead of one a check. A read that fails is not kept: its ``.call()`` asks the node, and
        raises as it always did. Nothing is kept on the embedded chain, where reads cost no round trip."""
        if self.in_process or not isinstance(self.w3.provider, RpcProvider):
            return
        scope = _PREFETCHED.get()
        if scope is None:
            return  # not inside a method marked @read_ahead: nothing may be kept past its end
        provider = id(self.w3.provider)
        reads = [
            (c.abi, e)
            for c in calls
            if c is not None and (e := self._encode(c)) is not None and (provider, e[0].lower(), e[1]) not in scope
        ]
        if not reads:
            return
        if await self.multicall_ready():
            answers = await self._aggregate(reads, "latest")
        else:
            responses = await self._provider().batch(
                [("eth_call", [{"to": t, "data": d}, "latest"]) for _, (t, d) in reads]
            )
            answers = [("error" not in r, HexBytes(r.get("result") or "0x")) for r in responses]
        for (_, (to, data)), (ok, returned) in zip(reads, answers, strict=True):
            if ok:
                scope[(provider, to.lower(), data)] = bytes(returned)

    async def _aggregate(
        self, reads: Sequence[tuple[dict[str, Any], tuple[str, str]]], block: str | int
    ) -> list[tuple[bool, bytes]]:
        """(success, returned bytes) of each read, as Multicall3 ``aggregate3`` calls (failures allowed, so
        each read's own revert reason is known), MULTICALL_READS to a call, all the calls in one JSON-RPC
        batch."""
        tag = hex(block) if isinstance(block, int) else block
        codec = self.w3.codec
        chunks = [reads[i : i + MULTICALL_READS] for i in range(0, len(reads), MULTICALL_READS)]
        requests = []
        for chunk in chunks:
            data = "0x" + _AGGREGATE3.hex() + _aggregate3_args([(to, data) for _, (to, data) in chunk])
            requests.append(("eth_call", [{"to": MULTICALL3, "data": data}, tag]))
        out: list[tuple[bool, bytes]] = []
        for chunk, response in zip(chunks, await self._provider().batch(requests), strict=True):
            if "error" in response:
                failure = self._rpc_failure(response["error"], f"reading {chunk[0][0]['name']} and others")
                raise ChainError(str(failure), chain_id=self.chain_id)
            answer = HexBytes(response.get("result") or "0x")
            results = _aggregate3_results(answer)
            if results is None:  # not the layout Multicall3 writes: eth_abi decodes it, or says what is wrong
                (decoded,) = codec.decode(["(bool,bytes)[]"], answer)
                results = [(bool(ok), bytes(returned)) for ok, returned in decoded]
            out += results
        return out

    async def _read_aggregated(
        self, reads: Sequence[tuple[dict[str, Any], tuple[str, str]]], block: str | int
    ) -> list[Any]:
        """The reads through Multicall3; a read that reverts raises :class:`ChainError` with its reason."""
        out: list[Any] = []
        for (abi, (to, _)), (ok, returned) in zip(reads, await self._aggregate(reads, block), strict=True):
            name = abi["name"]
            if not ok:
                failure = self._rpc_failure(
                    {"message": "execution reverted", "data": "0x" + returned.hex()}, f"reading {name}"
                )
                raise ChainError(str(failure), chain_id=self.chain_id)
            try:
                out.append(_decode(self.w3, abi, returned))
            except DecodingError as exc:
                raise ChainError(f"reading {name} at {to} gave 0x{returned.hex()}: {exc}") from exc
        return out

    async def genesis_hash(self) -> str:
        block = await self.w3.eth.get_block(0)
        return HexBytes(block["hash"]).to_0x_hex()

    async def has_code(self, address: str) -> bool:
        return len(await self.w3.eth.get_code(self.w3.to_checksum_address(address))) > 0

    async def timestamp(self) -> int:
        """The latest block's timestamp: a read through Multicall3 where it answers (so that
        :meth:`prefetch` can fold it into a method's other reads), else from the block itself."""
        clock = self.clock_read()
        if clock is not None:
            now = int(await clock.call())
            if now > 1:  # anvil runs an eth_call on its genesis block at timestamp 1: ask the block then
                return now
        return int((await self.w3.eth.get_block("latest"))["timestamp"])

    def clock_read(self) -> Any | None:
        """Multicall3's ``getCurrentBlockTimestamp()``, for :meth:`prefetch`; None until Multicall3 is known
        to answer on this connection."""
        if self._multicall is not True:
            return None
        return self.contract(MULTICALL3, load_artifact("Multicall3")["abi"]).functions.getCurrentBlockTimestamp()

    async def rpc(self, method: str, *params: Any) -> Any:
        """One raw JSON-RPC call; its ``result``. A JSON-RPC error becomes :class:`ChainError`."""
        response = await self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}", chain_id=self.chain_id)
        return response.get("result")

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
            await self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
            await self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        except Exception as exc:
            raise ChainError(f"this node cannot move its clock (evm_increaseTime): {exc}") from exc

    # ---- writes ----

    async def deploy(self, artifact: dict[str, Any], args: Sequence[Any], sender: LocalAccount) -> TxResult:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        result = await self.transact(factory.constructor(*args), sender, what=f"deploy {artifact['contractName']}")
        if result.contract_address is None:
            raise ChainError(f"deploying {artifact['contractName']} gave no contract address", tx_hash=result.tx_hash)
        return result

    def journaled(self, key: str | None) -> bool:
        """Whether the journal already holds an intent named ``key`` (sent, perhaps mined): resuming it
        must not repeat checks that its own success would now fail."""
        return self.journal is not None and key is not None and self.journal.latest(self.scope, key) is not None

    async def transact(
        self, call: Any, sender: LocalAccount, *, what: str, value: int = 0, key: str | None = None
    ) -> TxResult:
        """Estimate, sign, send and await one contract call or deployment. A call that would revert
        raises :class:`TransactionFailed` with the decoded reason, and nothing is sent.

        ``key`` names the intent (e.g. ``"mint:<account>:<request id>"``): with a journal, a key already
        sent is not signed again; its transaction is awaited, or its result returned if it was mined."""
        if scope := _PREFETCHED.get():
            scope.clear()  # what the pre-checks read may change now
        if self.in_process:
            return await self._transact_in_process(call, sender, what=what, value=value)
        await self._check_chain_id(what)
        if self.journal is not None and key is not None:
            entry = self.journal.latest(self.scope, key)
            if entry is not None:
                found = await self._resume(entry, sender)
                if found is not None:
                    return found
        tx = await self._build(call, sender, what, value)
        async with self._nonce_lock:
            await self._settle(sender.address)
            for tries in range(1, STALE_NONCE_TRIES + 1):
                tx["nonce"] = await self._next_nonce(sender.address)
                await self._check_chain_id(what)  # free unless the estimate went over a new connection
                pending = self._sign(sender, tx, what, key)
                self._journal_signed(sender, [(pending, tx["nonce"])])
                try:
                    pending.receipt = await self._broadcast(pending.raw, pending.tx_hash, wait=self._sends_sync())
                except _Refused as exc:
                    self._nonces.pop(sender.address, None)  # re-read it from the node next time
                    self._mark([(pending.tx_hash, Status.DROPPED, None, None)])
                    if isinstance(exc, _NonceTaken) and tries < STALE_NONCE_TRIES:
                        # another sender of this account used the nonce: this one never ran; sign anew
                        log.info("%s: nonce %d was taken elsewhere; signing again", what, tx["nonce"])
                        continue
                    await self._check_chain_id(what, force=True)  # refused: by a node of another chain?
                    if isinstance(exc, _FeeTooLow) and tries < STALE_NONCE_TRIES:
                        # the fees known were too old: read them now, and sign anew
                        log.info("%s: the base fee rose above the fee cap; signing again with fresh fees", what)
                        tx.update(await self._fees(int(tx["gas"]), fresh=True))
                        continue
                    raise TransactionFailed(
                        f"{what} was refused by the node: {exc}", reason=str(exc), chain_id=self.chain_id
                    ) from exc
                except ChainError as exc:
                    self._nonces.pop(sender.address, None)
                    raise self._lost(exc, what, pending) from exc
                break
            self._mark([(pending.tx_hash, Status.SENT, None, None)])
            self._nonces[sender.address] = tx["nonce"] + 1
        await self._await([pending])
        return self._done(pending)

    async def transact_batch(self, intents: Sequence[Intent], sender: LocalAccount) -> list[TxResult]:
        """Send independent transactions together: estimated (as JSON-RPC batches) against the same state,
        so none may depend on another of the batch; any that would revert refuses the whole batch before
        anything is sent. Then signed with consecutive nonces, journaled, sent as JSON-RPC batches, mined
        (on a node with automine, see the module docstring) and awaited. Results in the order given.

        Keys work as in :meth:`transact`: intents already mined are not sent again."""
        if scope := _PREFETCHED.get():
            scope.clear()  # what the pre-checks read may change now
        if not intents:
            return []
        if self.in_process:
            return [await self._transact_in_process(i.call, sender, what=i.what, value=i.value) for i in intents]
        await self._check_chain_id(intents[0].what)
        async with self._nonce_lock:
            await self._settle(sender.address)  # so that the journal says what an earlier run left
        found: dict[int, TxResult] = {}
        resumed: dict[int, _Pending] = {}
        todo: list[int] = []
        for i, intent in enumerate(intents):
            entry = self.journal.latest(self.scope, intent.key) if self.journal and intent.key else None
            if entry is None or entry.status in (Status.REVERTED, Status.DROPPED):
                todo.append(i)
            else:
                resumed[i] = _Pending(entry.tx_hash, entry.raw, entry.what, entry.key)
        if resumed:
            await self._fetch_receipts(list(resumed.values()))
            updates: list[tuple[str, Status, int | None, int | None]] = []
            for i, p in list(resumed.items()):
                if p.receipt is None:
                    continue  # not mined: broadcast again below, with the new ones
                ok = p.receipt["status"] == 1
                updates.append(
                    (p.tx_hash, Status.MINED if ok else Status.REVERTED, p.receipt["blockNumber"], p.receipt["gasUsed"])
                )
                del resumed[i]
                if ok:
                    found[i] = self._result(p)
                else:
                    todo.append(i)  # it ran and reverted: a new attempt, estimated first
            self._mark(updates)
        todo.sort()
        txs = await self._build_many([intents[i] for i in todo], sender)

        async with self._nonce_lock:
            await self._settle(sender.address)
            nonce = await self._next_nonce(sender.address) if todo else 0
            fresh: list[_Pending] = []
            for n, (i, tx) in enumerate(zip(todo, txs, strict=True)):
                tx["nonce"] = nonce + n
                fresh.append(self._sign(sender, tx, intents[i].what, intents[i].key))
            self._journal_signed(sender, [(p, nonce + n) for n, p in enumerate(fresh)])
            waiting = [*resumed.values(), *fresh]
            await self._check_chain_id(intents[0].what)  # free unless the estimates went over a new connection
            refused = await self._send_batch(waiting, intents[0].what, sender.address) if waiting else []
            if refused:
                self._nonces.pop(sender.address, None)  # re-read it from the node next time
            elif fresh:
                self._nonces[sender.address] = nonce + len(fresh)
        if refused:
            what, reason = refused[0]
            raise TransactionFailed(
                f"{len(refused)} of {len(waiting)} transactions were refused by the node, first {what}: {reason}",
                reason=reason,
                chain_id=self.chain_id,
            )
        await self._await(waiting)
        by_index = dict(zip([*resumed, *todo], waiting, strict=True))
        failed = [p for p in waiting if p.receipt is not None and p.receipt["status"] != 1]
        if failed:
            raise TransactionFailed(
                f"{len(failed)} of {len(waiting)} transactions reverted on-chain, first {failed[0].what}",
                tx_hash=failed[0].tx_hash,
                chain_id=self.chain_id,
            )
        return [found[i] if i in found else self._result(by_index[i]) for i in range(len(intents))]

    async def resume(self) -> None:
        """Settle the journal of every account this connection signs for now, rather than before each
        account's first new transaction; then await what is still pending."""
        if self.journal is None:
            return
        for account in self.accounts:
            async with self._nonce_lock:
                await self._settle(account.address)
            waiting = [
                _Pending(e.tx_hash, e.raw, e.what, e.key) for e in self.journal.unsettled(self.scope, account.address)
            ]
            if waiting:
                await self._await(waiting)

    # ---- the steps ----

    async def _transact_in_process(self, call: Any, sender: LocalAccount, *, what: str, value: int) -> TxResult:
        # eth-tester estimates gas by running a transaction about seven times, and a dry run would run it
        # once more: here the transaction runs once, into the pending block, and is mined only if it
        # succeeded (_run_or_undo). Gas costs nothing here and receipts still report what was used.
        base: dict[str, Any] = {"from": sender.address, "value": value, "chainId": self.chain_id}
        tx = await call.build_transaction({**base, "gas": IN_PROCESS_GAS, **await self._fees()})
        probe: TxParams = {"from": tx["from"], "data": tx["data"], "value": tx["value"], "gas": tx["gas"]}
        if tx.get("to"):
            probe["to"] = tx["to"]
        async with self._nonce_lock:
            tester = self.w3.provider.ethereum_tester
            for tries in range(1, STALE_NONCE_TRIES + 1):
                tx["nonce"] = await self._next_nonce(sender.address)
                signed = sender.sign_transaction(tx)
                try:
                    if not tester.auto_mine_transactions:  # a test holds blocks back: a dry run, then send
                        await self.w3.eth.call(probe, "pending")
                        await self.w3.eth.send_raw_transaction(signed.raw_transaction)
                    elif not _run_or_undo(tester, bytes(signed.raw_transaction)):
                        # it failed and left no trace: the same call, read-only, says why
                        await self.w3.eth.call(probe, "pending")
                        raise TransactionFailed(f"{what} would revert", chain_id=self.chain_id)
                except TransactionFailed:
                    raise
                except Exception as exc:
                    self._nonces.pop(sender.address, None)  # re-read it from the chain next time
                    if "nonce" in str(exc) and tries < STALE_NONCE_TRIES:
                        continue  # the account sent elsewhere (a script, another client): sign anew
                    raise self._failure(exc, what) from exc
                break
            tx_hash = signed.hash
            self._nonces[sender.address] = tx["nonce"] + 1
        receipt = await self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        hex_hash = HexBytes(tx_hash).to_0x_hex()
        self.history.append((what, hex_hash))
        if receipt["status"] != 1:
            raise TransactionFailed(f"{what} reverted on-chain", tx_hash=hex_hash, chain_id=self.chain_id)
        address = receipt.get("contractAddress")
        return TxResult(hex_hash, receipt["blockNumber"], receipt["gasUsed"], receipt["logs"], address)

    async def _check_chain_id(self, what: str, *, force: bool = False) -> None:
        """A node swapped behind the URL must not receive transactions signed for another chain. Asked
        once per HTTP connection to the node (a restarted or swapped node comes with a new one), at least
        every CHAIN_ID_RECHECK_S seconds, and whenever the node refuses an estimate or a transaction
        (``force``: a proxy may have switched networks on the same connection, and then the node's refusal
        is not the news). Call it before each broadcast: it costs nothing otherwise."""
        connection = getattr(self.w3.provider, "connections", None)
        fresh = time.monotonic() - self._checked_at < CHAIN_ID_RECHECK_S
        if connection is not None and connection == self._checked_connection and fresh and not force:
            return
        now = int(str(await self.rpc("eth_chainId")), 16)
        self._checked_connection = getattr(self.w3.provider, "connections", None)
        self._checked_at = time.monotonic()
        if now != self.chain_id:
            raise ChainError(
                f"the node now reports chain id {now}, not {self.chain_id} that this connection was made for: "
                f"refusing to send {what}; connect again to the right node",
                chain_id=self.chain_id,
            )

    async def _build(self, call: Any, sender: LocalAccount, what: str, value: int) -> dict[str, Any]:
        base: dict[str, Any] = {"from": sender.address, "value": value, "chainId": self.chain_id}
        encoded = self._encode(call)
        if encoded is not None and isinstance(self.w3.provider, RpcProvider):
            # A function call: encoded once, estimated with one raw JSON-RPC call (the estimate is the dry
            # run: a call that would revert is refused here with its decoded reason, and nothing is sent).
            to, data = encoded
            probe = {"from": sender.address, "to": to, "data": data, "value": hex(value)}
            response = await self.w3.provider.make_request(RPCEndpoint("eth_estimateGas"), [probe])
            if "error" in response:
                await self._check_chain_id(what, force=True)  # another chain behind the URL: that is the news
                raise self._rpc_failure(response["error"], what)
            gas = int(response["result"], 16)
            fees = await self._fees()
            return {**base, "to": to, "data": data, "gas": int(gas * GAS_HEADROOM) + 10_000, **fees}
        try:
            gas = await call.estimate_gas(base)
        except ChainError:
            raise
        except Exception as exc:
            await self._check_chain_id(what, force=True)  # another chain behind the URL: that is the news
            raise self._failure(exc, what) from exc
        tx: dict[str, Any] = await call.build_transaction(
            {**base, "gas": int(gas * GAS_HEADROOM) + 10_000, **await self._fees()}
        )
        return tx

    async def _build_many(self, intents: Sequence[Intent], sender: LocalAccount) -> list[dict[str, Any]]:
        if not intents:
            return []
        base: dict[str, Any] = {"from": sender.address, "chainId": self.chain_id, "nonce": 0, "maxFeePerGas": 1}
        base["maxPriorityFeePerGas"] = 1  # set below, once the batch's gas is known
        txs: list[dict[str, Any]] = []
        for i in intents:
            encoded = self._encode(i.call)
            if encoded is None:  # a deployment, or a call by keyword: web3.py's own (slower) path
                txs.append(dict(await i.call.build_transaction({**base, "value": i.value, "gas": i.gas or 1})))
            else:
                txs.append({**base, "value": i.value, "gas": i.gas or 1, "to": encoded[0], "data": encoded[1]})
        estimate = [n for n, i in enumerate(intents) if i.gas is None]
        provider = self._provider()
        for start in range(0, len(estimate), BATCH_REQUESTS):
            chunk = estimate[start : start + BATCH_REQUESTS]
            requests = []
            for n in chunk:
                t = txs[n]
                probe = {"from": t["from"], "data": t["data"], "value": hex(t["value"])}
                if t.get("to"):
                    probe["to"] = t["to"]
                requests.append(("eth_estimateGas", [probe]))
            for n, response in zip(chunk, await provider.batch(requests), strict=True):
                if "error" in response:
                    await self._check_chain_id(intents[n].what, force=True)
                    raise self._rpc_failure(response["error"], f"{intents[n].what} (nothing of the batch was sent)")
                txs[n]["gas"] = int(int(response["result"], 16) * GAS_HEADROOM) + 10_000
        # a batch may fill many blocks and is refused as a whole: its fees are read fresh, once
        fees = await self._fees(sum(int(t["gas"]) for t in txs), fresh=True)
        for t in txs:
            t.update(fees)
        return txs

    def _encode(self, call: Any) -> tuple[str, str] | None:
        """(to, calldata) of a contract function call, or None where web3.py must build it. The same bytes
        as web3.py's, without its search of the contract's ABI on every call (a batch of thousands of
        calls to one function pays for it once)."""
        abi, address = getattr(call, "abi", None), getattr(call, "address", None)
        if not isinstance(abi, dict) or abi.get("type") != "function" or not address or getattr(call, "kwargs", None):
            return None
        return str(address), _calldata(self.w3, abi, call.args or ())

    def _sign(self, sender: LocalAccount, tx: dict[str, Any], what: str, key: str | None) -> _Pending:
        fast = _sign_1559(sender, tx)
        if fast is not None:
            raw, tx_hash = fast
        else:
            signed = sender.sign_transaction(tx)
            raw, tx_hash = signed.raw_transaction.to_0x_hex(), signed.hash.to_0x_hex()
        pending = _Pending(tx_hash, raw, what, key or f"tx:{tx_hash}")
        if "maxPriorityFeePerGas" in tx and "maxFeePerGas" in tx:
            pending.tip, pending.fee_cap = int(tx["maxPriorityFeePerGas"]), int(tx["maxFeePerGas"])
        return pending

    def _journal_signed(self, sender: LocalAccount, signed: Sequence[tuple[_Pending, int]]) -> None:
        if self.journal is None or not signed:
            return
        entries = []
        for p, nonce in signed:
            latest = self.journal.latest(self.scope, p.key)
            entries.append(
                Entry(
                    key=p.key,
                    attempt=1 if latest is None else latest.attempt + 1,
                    chain_id=self.chain_id,
                    sender=sender.address,
                    nonce=nonce,
                    tx_hash=p.tx_hash,
                    raw=p.raw,
                    what=p.what,
                    status=Status.SIGNED,
                )
            )
        self.journal.record(self.scope, entries)

    def _mark(self, updates: Sequence[tuple[str, Status, int | None, int | None]]) -> None:
        if self.journal is not None and updates:
            self.journal.mark(self.scope, updates)

    def _sends_sync(self) -> bool:
        """Whether to send with ``eth_sendRawTransactionSync`` (EIP-7966), which answers with the receipt and
        saves the first poll: on a development node, which mines a transaction as it comes, and that answers
        it (anvil does). Not on public networks: the account's nonce lock would be held for a block time."""
        return self._sync_send is not False and self.is_dev and self.confirmations == 0

    async def _broadcast(self, raw: str, tx_hash: str, *, wait: bool = False) -> dict[str, Any] | None:
        """Send signed bytes. The node already holding them (or having mined them) is success. With
        ``wait``, ask for the receipt in the same call (EIP-7966): the receipt, or None if the node did
        not give one (then poll for it)."""
        if wait:
            response = await self.w3.provider.make_request(RPCEndpoint("eth_sendRawTransactionSync"), [raw])
            if "error" not in response:
                self._sync_send = True
                result = response.get("result")
                return _receipt(result) if isinstance(result, dict) else None
            error: Any = response["error"]
            message = str(error.get("message", error) if isinstance(error, dict) else error)
            code = error.get("code") if isinstance(error, dict) else None
            if code == EIP7966_TIMEOUT:
                return None  # in the pool, not mined in the node's time: poll
            if not (code == -32601 or _unsupported(message)):
                await self._refusal(message, tx_hash)
                return None
            self._sync_send = False  # this node does not answer it: plain sends from now on
        try:
            await self.w3.eth.send_raw_transaction(HexStr(raw))
        except Web3RPCError as exc:
            failure: Any = (exc.rpc_response or {}).get("error") or {}
            message = str(failure.get("message", exc.message) if isinstance(failure, dict) else failure)
            await self._refusal(message, tx_hash)
        return None

    async def _refusal(self, message: str, tx_hash: str) -> None:
        """Make sense of a node's refusal of ``tx_hash``: return if the node has it after all."""
        lowered = message.lower()
        if "already" in lowered or "known transaction" in lowered:
            return  # "transaction already imported", "already known", "known transaction"
        if await self._tx_known(tx_hash):
            return
        if "nonce too low" in lowered or "nonce is too low" in lowered:
            raise _NonceTaken(message)
        if "base fee" in lowered and ("less than" in lowered or "too low" in lowered or "lower than" in lowered):
            raise _FeeTooLow(message)  # "max fee per gas less than block base fee"
        raise _Refused(message)

    async def _broadcast_many(self, pending: Sequence[_Pending]) -> list[tuple[str, str]]:
        """Send as JSON-RPC batches; returns (what, reason) of those refused, marking the rest sent."""
        provider = self._provider()
        refused: list[tuple[str, str]] = []
        updates: list[tuple[str, Status, int | None, int | None]] = []
        for chunk in _chunks(pending, lambda p: len(p.raw)):
            responses = await provider.batch([("eth_sendRawTransaction", [p.raw]) for p in chunk])
            for p, response in zip(chunk, responses, strict=True):
                if "error" in response:
                    error = response["error"]
                    message = str(error.get("message", error) if isinstance(error, dict) else error)
                    try:
                        await self._refusal(message, p.tx_hash)
                    except _Refused as exc:
                        refused.append((p.what, str(exc)))
                        updates.append((p.tx_hash, Status.DROPPED, None, None))
                        continue
                updates.append((p.tx_hash, Status.SENT, None, None))
        self._mark(updates)
        return refused

    async def _send_batch(self, pending: Sequence[_Pending], what: str, sender: str) -> list[tuple[str, str]]:
        """Broadcast as JSON-RPC batches, with automine off on a node that has it on (then mine until the
        pool is empty, and turn it back on). Call with the nonce lock held."""
        automine = await self._automine()
        if automine:
            await self.rpc("evm_setAutomine", False)
        try:
            refused = await self._broadcast_many(pending)
            if automine:
                await self._mine_until_empty()
            return refused
        except ChainError as exc:
            self._nonces.pop(sender, None)
            where = f"; the journal {self.journal.path} keeps them: run again to resume" if self.journal else ""
            raise ChainError(
                f"lost the node while sending {len(pending)} transactions ({what}, ...): {exc}{where}",
                chain_id=self.chain_id,
            ) from exc
        finally:
            if automine:
                try:
                    await self.rpc("evm_setAutomine", True)
                except ChainError as exc:
                    log.warning("could not turn automine back on: %s", exc)

    async def _tx_known(self, tx_hash: str) -> bool:
        return await self.rpc("eth_getTransactionByHash", tx_hash) is not None

    async def _unknown(self, pending: Sequence[_Pending]) -> list[_Pending]:
        """Those of ``pending`` that the node has never heard of (or has forgotten)."""
        if len(pending) == 1:
            return [] if await self._tx_known(pending[0].tx_hash) else list(pending)
        provider, unknown = self._provider(), []
        for start in range(0, len(pending), BATCH_REQUESTS):
            chunk = pending[start : start + BATCH_REQUESTS]
            responses = await provider.batch([("eth_getTransactionByHash", [p.tx_hash]) for p in chunk])
            unknown += [
                p for p, r in zip(chunk, responses, strict=True) if "error" not in r and r.get("result") is None
            ]
        return unknown

    async def _fetch_receipts(self, pending: Sequence[_Pending]) -> None:
        """Fill in ``receipt`` for those of ``pending`` that are mined (None for the rest)."""
        if len(pending) == 1:
            raw = await self.rpc("eth_getTransactionReceipt", pending[0].tx_hash)
            pending[0].receipt = None if raw is None else _receipt(raw)
            return
        provider = self._provider()
        for start in range(0, len(pending), BATCH_REQUESTS):
            chunk = pending[start : start + BATCH_REQUESTS]
            responses = await provider.batch([("eth_getTransactionReceipt", [p.tx_hash]) for p in chunk])
            for p, response in zip(chunk, responses, strict=True):
                if "error" in response:
                    raise ChainError(f"eth_getTransactionReceipt failed: {response['error']}", tx_hash=p.tx_hash)
                raw = response.get("result")
                p.receipt = None if raw is None else _receipt(raw)

    async def _await(self, pending: Sequence[_Pending]) -> None:
        """Wait until every transaction has a receipt whose block is ``confirmations`` deep, broadcasting
        again any that the node forgot; record each in the journal and the history."""
        deadline = time.monotonic() + self.receipt_timeout
        delay, polls = 0.01, 0
        outstanding = [p for p in pending if p.receipt is None]  # the rest came with their send
        while True:
            try:
                if outstanding:
                    await self._fetch_receipts(outstanding)
                outstanding = [p for p in outstanding if p.receipt is None]
                if not outstanding and self.confirmations:
                    outstanding = await self._unconfirmed(pending)
                if not outstanding:
                    break
                polls += 1
                if polls % REBROADCAST_EVERY == 0:
                    for p in await self._unknown(outstanding):
                        log.warning("%s: the node lost tx %s; broadcasting it again", p.what, p.tx_hash)
                        try:
                            await self._broadcast(p.raw, p.tx_hash)
                        except _NonceTaken:
                            self._mark([(p.tx_hash, Status.DROPPED, None, None)])
                            raise TransactionFailed(
                                f"{p.what}: its transaction {p.tx_hash} can no longer run (its nonce went to "
                                "another transaction): run again to sign it anew",
                                tx_hash=p.tx_hash,
                                chain_id=self.chain_id,
                            ) from None
                        except _Refused as exc:
                            log.warning("%s: the node refused tx %s again: %s", p.what, p.tx_hash, exc)
            except ChainError as exc:
                if isinstance(exc, TransactionFailed):
                    raise
                first = (outstanding or pending)[0]
                raise self._lost(exc, first.what, first) from exc
            if time.monotonic() > deadline:
                p = outstanding[0]
                raise TransactionFailed(
                    f"{p.what}: tx {p.tx_hash} was not mined{' and confirmed' if self.confirmations else ''} within "
                    f"{self.receipt_timeout:g} s; the journal keeps it and it is awaited again when you run again",
                    tx_hash=p.tx_hash,
                    chain_id=self.chain_id,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        updates: list[tuple[str, Status, int | None, int | None]] = []
        for p in pending:
            assert p.receipt is not None
            ok = p.receipt["status"] == 1
            updates.append(
                (p.tx_hash, Status.MINED if ok else Status.REVERTED, p.receipt["blockNumber"], p.receipt["gasUsed"])
            )
            self.history.append((p.what, p.tx_hash))
            self._learn_fee(p)
        self._mark(updates)

    def _learn_fee(self, p: _Pending) -> None:
        """A receipt's block's base fee, from what the transaction paid: a type-2 transaction pays the base
        fee plus its tip, unless its cap was lower (then the base fee is not known exactly, and not used)."""
        cache, receipt = self._fee_cache, p.receipt
        if cache is None or receipt is None or p.tip is None or p.fee_cap is None:
            return
        paid, block = int(receipt.get("effectiveGasPrice") or 0), int(receipt["blockNumber"])
        if block < cache.block or not p.tip <= paid < p.fee_cap:
            return
        cache.block, cache.base_fee, cache.at = block, paid - p.tip, time.monotonic()

    async def _unconfirmed(self, pending: Sequence[_Pending]) -> list[_Pending]:
        """Those whose block is not yet ``confirmations`` deep, or whose block left the chain (a reorg:
        their receipts are dropped and looked for again)."""
        head = int(await self.w3.eth.block_number)
        deepest = max(int(p.receipt["blockNumber"]) for p in pending if p.receipt is not None)
        if head < deepest + self.confirmations:
            return [
                p
                for p in pending
                if p.receipt is not None and head < int(p.receipt["blockNumber"]) + self.confirmations
            ]
        recorded = {p.tx_hash: p.receipt for p in pending}
        await self._fetch_receipts(pending)
        moved = []
        for p in pending:
            before = recorded[p.tx_hash]
            if p.receipt is None or before is None or p.receipt["blockHash"] != before["blockHash"]:
                moved.append(p)
        return moved

    def _done(self, pending: _Pending) -> TxResult:
        receipt = pending.receipt
        assert receipt is not None
        if receipt["status"] != 1:
            raise TransactionFailed(
                f"{pending.what} reverted on-chain", tx_hash=pending.tx_hash, chain_id=self.chain_id
            )
        return self._result(pending)

    @staticmethod
    def _result(pending: _Pending) -> TxResult:
        r = pending.receipt
        assert r is not None
        return TxResult(pending.tx_hash, int(r["blockNumber"]), int(r["gasUsed"]), r["logs"], r.get("contractAddress"))

    async def _resume(self, entry: Entry, sender: LocalAccount) -> TxResult | None:
        """An intent the journal has seen: its result if mined, else await it; None if it must be signed anew."""
        if entry.status in (Status.REVERTED, Status.DROPPED):
            return None
        pending = _Pending(entry.tx_hash, entry.raw, entry.what, entry.key)
        await self._fetch_receipts([pending])
        if pending.receipt is None:
            async with self._nonce_lock:
                await self._settle(sender.address)  # earlier nonces first
                now = self.journal.by_hash(self.scope, entry.tx_hash) if self.journal else None
                if now is not None and now.status == Status.DROPPED:
                    return None
                if entry.status == Status.MINED:  # mined, then lost by the node (restarted from older state)
                    log.warning("%s: tx %s is no longer on chain; broadcasting it again", entry.what, entry.tx_hash)
                try:
                    await self._broadcast(entry.raw, entry.tx_hash)  # the same bytes: never a duplicate
                except _Refused as exc:
                    log.warning("%s: tx %s can no longer run (%s); signing it anew", entry.what, entry.tx_hash, exc)
                    self._mark([(entry.tx_hash, Status.DROPPED, None, None)])
                    return None
            await self._await([pending])
        else:
            ok = pending.receipt["status"] == 1
            self._mark(
                [
                    (
                        pending.tx_hash,
                        Status.MINED if ok else Status.REVERTED,
                        pending.receipt["blockNumber"],
                        pending.receipt["gasUsed"],
                    )
                ]
            )
        if pending.receipt is not None and pending.receipt["status"] != 1:
            return None  # it ran and reverted: the intent has not happened; a new attempt is estimated first
        log.info("%s: already sent as tx %s (journal key %s)", entry.what, entry.tx_hash, entry.key)
        return self._result(pending)

    async def _settle(self, address: str) -> None:
        """Once per account and process, before its first new transaction: each journal row of this
        account whose fate is unknown is recorded if mined, broadcast again if not (the same bytes), or
        dropped if its nonce went to another transaction. Call with the nonce lock held."""
        if self.journal is None or address in self._settled:
            return
        self._settled.add(address)
        rows = self.journal.unsettled(self.scope, address)
        if not rows:
            return
        pending = [_Pending(e.tx_hash, e.raw, e.what, e.key) for e in rows]
        await self._fetch_receipts(pending)
        updates: list[tuple[str, Status, int | None, int | None]] = []
        for p in pending:
            if p.receipt is not None:
                ok = p.receipt["status"] == 1
                updates.append(
                    (p.tx_hash, Status.MINED if ok else Status.REVERTED, p.receipt["blockNumber"], p.receipt["gasUsed"])
                )
                continue
            try:
                await self._broadcast(p.raw, p.tx_hash)
                log.info("%s: tx %s from an earlier run was not mined; broadcast it again", p.what, p.tx_hash)
                updates.append((p.tx_hash, Status.SENT, None, None))
            except _Refused as exc:
                log.warning("%s: tx %s from an earlier run can no longer run (%s)", p.what, p.tx_hash, exc)
                updates.append((p.tx_hash, Status.DROPPED, None, None))
        self._mark(updates)
        self._nonces.pop(address, None)

    async def _automine(self) -> bool:
        """True on a development node that mines each transaction as it arrives (anvil, hardhat)."""
        for method in ("anvil_getAutomine", "hardhat_getAutomine"):
            response = await self.w3.provider.make_request(RPCEndpoint(method), [])
            if "error" not in response:
                return bool(response.get("result"))
        return False

    async def _mine_until_empty(self) -> None:
        """Mine blocks on a development node until its pool holds nothing that can run."""
        before, stuck = -1, 0
        while stuck < 3:  # a block that takes nothing from the pool three times over: the rest cannot run
            pending = int((await self.rpc("txpool_status"))["pending"], 16)
            if pending == 0:
                return
            stuck = stuck + 1 if pending == before else 0
            before = pending
            await self.rpc("evm_mine")

    async def _next_nonce(self, address: str) -> int:
        if address not in self._nonces:
            self._nonces[address] = await self.w3.eth.get_transaction_count(address, "pending")  # type: ignore[arg-type]
        return self._nonces[address]

    async def _fees(self, gas: int = 0, *, fresh: bool = False) -> dict[str, int]:
        """EIP-1559 fees: a tip, and a cap of twice the base fee, raised for a batch of ``gas`` in all
        that fills many blocks (each full block raises the base fee by 1/8: the last of the batch's
        transactions must still be able to pay). From the node if ``fresh``, or if what is known is older
        than FEE_TTL_S (the tip: TIP_TTL_S); else from the last receipt's block."""
        cache = self._fee_cache
        now = time.monotonic()
        stale = cache is None or now - cache.at >= FEE_TTL_S or now - cache.read_at >= TIP_TTL_S
        if cache is None or stale or fresh or self.in_process:
            block = await self.w3.eth.get_block("latest")
            try:
                priority = int(await self.w3.eth.max_priority_fee)
            except ChainError:
                raise
            except Exception:
                priority = DEFAULT_PRIORITY_FEE
            cache = _FeeCache(
                int(block.get("number", 0)),
                int(block.get("baseFeePerGas", 0)),
                priority,
                int(block.get("gasLimit", 30_000_000)),
                now,
                now,
            )
            if not self.in_process:
                self._fee_cache = cache
        base_fee, priority = cache.base_fee, cache.priority
        blocks = -(-gas // max(1, cache.gas_limit))
        factor = max(2.0, 1.125 ** (blocks + 1))
        return {"maxFeePerGas": int(base_fee * factor) + priority, "maxPriorityFeePerGas": priority}

    def _provider(self) -> RpcProvider:
        provider = self.w3.provider
        if not isinstance(provider, RpcProvider):
            raise GaibConfigError("JSON-RPC batches need a connection made by Chain.connect")
        return provider

    def _lost(self, exc: ChainError, what: str, pending: _Pending) -> ChainError:
        where = f"; the journal {self.journal.path} keeps it: run again to resume" if self.journal else ""
        return ChainError(
            f"{what}: lost the node while sending or awaiting tx {pending.tx_hash} ({exc}){where}",
            tx_hash=pending.tx_hash,
            chain_id=self.chain_id,
        )

    def _rpc_failure(self, error: Any, what: str) -> TransactionFailed:
        data = error.get("data") if isinstance(error, dict) else None
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) and data.startswith("0x") else None
        decoded = decode_revert(raw) if raw else None
        if decoded is not None:
            name, args = decoded
            reason = f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})"
        else:
            reason = str(error.get("message", error) if isinstance(error, dict) else error)
        return TransactionFailed(f"{what} would revert: {reason}", reason=reason, chain_id=self.chain_id)

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


_RECEIPT_INTS = ("status", "blockNumber", "gasUsed", "cumulativeGasUsed", "effectiveGasPrice", "transactionIndex")


def _receipt(raw: dict[str, Any]) -> dict[str, Any]:
    """A receipt as the node gave it, with what the transaction manager reads made Python values (the
    numbers ints, the hashes HexBytes, the contract address checksummed) and its logs formatted as web3.py
    formats them when first read (:class:`_Logs`). web3.py's receipt formatter walks every field of every
    log: most of the time of a batch's receipts, for logs that a batch's caller rarely reads."""
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
        return dict(receipt_formatter(raw))
    out = dict(raw)
    for name in _RECEIPT_INTS:
        if isinstance(out.get(name), str):
            out[name] = int(out[name], 16)
    for name in ("blockHash", "transactionHash"):
        if isinstance(out.get(name), str):
            out[name] = HexBytes(out[name])
    if isinstance(out.get("contractAddress"), str):
        out["contractAddress"] = to_checksum_address(out["contractAddress"])
    out["logs"] = _Logs(raw.get("logs") or [])
    return out


class _Logs(Sequence[Any]):
    """A receipt's logs, formatted by web3.py's own log formatter when first read."""

    def __init__(self, raw: list[Any]):
        self._raw: list[Any] | None = raw
        self._formatted: list[Any] = []

    def _logs(self) -> list[Any]:
        if self._raw is not None:
            self._formatted, self._raw = [log_entry_formatter(entry) for entry in self._raw], None
        return self._formatted

    def __getitem__(self, index: Any) -> Any:
        return self._logs()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._logs())

    def __len__(self) -> int:
        return len(self._raw) if self._raw is not None else len(self._formatted)

    def __eq__(self, other: object) -> bool:
        return self._logs() == (list(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]


_SIGNERS: dict[bytes, PrivateKey] = {}
_TX_1559_FIELDS = frozenset(
    {"from", "to", "data", "value", "gas", "nonce", "chainId", "maxFeePerGas", "maxPriorityFeePerGas", "type"}
)


def _sign_1559(sender: LocalAccount, tx: dict[str, Any]) -> tuple[str, str] | None:
    """(raw transaction, hash) of a plain EIP-1559 contract call, signed with libsecp256k1 (coincurve) as
    eth-account signs it: the same deterministic (RFC 6979) signature and the same bytes, which a test
    compares. eth-account's own path validates and formats every field through many layers (about 1 ms a
    transaction, most of a batch's time in Python). None for anything else: eth-account signs that."""
    if not _TX_1559_FIELDS.issuperset(tx) or tx.get("type", 2) not in (2, "0x2"):
        return None
    to, data = tx.get("to"), tx.get("data", "0x")
    fields = (tx.get("chainId"), tx.get("nonce"), tx.get("maxPriorityFeePerGas"), tx.get("maxFeePerGas"))
    numbers = (*fields, tx.get("gas"), tx.get("value", 0))
    if not all(type(n) is int and n >= 0 for n in numbers) or not isinstance(to, str) or not isinstance(data, str):
        return None
    if len(to) != 42 or not data.startswith("0x") or tx.get("from") not in (None, sender.address):
        return None
    if not _checksummed(to):
        return None  # eth-account refuses it, and says why
    try:
        to_bytes, data_bytes = bytes.fromhex(to[2:]), bytes.fromhex(data[2:])
    except ValueError:
        return None
    chain_id, nonce, tip, cap = fields
    body = [chain_id, nonce, tip, cap, tx["gas"], to_bytes, tx.get("value", 0), data_bytes, []]
    signing_hash = keccak(b"\x02" + _rlp(body))
    secret = bytes(sender.key)
    if secret not in _SIGNERS:
        _SIGNERS[secret] = PrivateKey(secret)
    signature = _SIGNERS[secret].sign_recoverable(signing_hash, hasher=None)
    r, s, v = signature[:32], signature[32:64], signature[64]
    raw = b"\x02" + _rlp([*body, v, int.from_bytes(r, "big"), int.from_bytes(s, "big")])
    return "0x" + raw.hex(), "0x" + keccak(raw).hex()


def _unsupported(message: str) -> bool:
    """Whether a node's error says it does not know the method (nodes word it differently)."""
    lowered = message.lower()
    return "method" in lowered and any(
        w in lowered for w in ("not found", "not supported", "unsupported", "does not exist", "not available")
    )


def _rlp(item: int | bytes | list[Any]) -> bytes:
    """Recursive-length prefix encoding (the Yellow Paper's appendix B) of ints, bytes and lists of them."""
    if isinstance(item, list):
        body = b"".join(_rlp(i) for i in item)
        return _rlp_length(len(body), 0xC0) + body
    raw = item.to_bytes((item.bit_length() + 7) // 8, "big") if isinstance(item, int) else item
    if len(raw) == 1 and raw[0] < 0x80:
        return raw
    return _rlp_length(len(raw), 0x80) + raw


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


# Reads made ahead by Chain.prefetch, by (provider, to, calldata): per asyncio task, inside one method marked
# @read_ahead, until its next transaction. None outside such a method.
_PREFETCHED: contextvars.ContextVar[dict[tuple[int, str, str], bytes] | None] = contextvars.ContextVar(
    "gaib_prefetched", default=None
)

_Method = TypeVar("_Method", bound=Callable[..., Awaitable[Any]])


def read_ahead(method: _Method) -> _Method:
    """Mark a method whose pre-checks :meth:`Chain.prefetch` may read ahead: what it read is kept until the
    method's next transaction or its end, never longer."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _PREFETCHED.get() is not None:  # called by another such method: its scope goes on
            return await method(*args, **kwargs)
        token = _PREFETCHED.set({})
        try:
            return await method(*args, **kwargs)
        finally:
            _PREFETCHED.reset(token)

    return cast(_Method, wrapper)


_SELECTORS: dict[tuple[str, tuple[str, ...]], tuple[bytes, list[str]]] = {}
_BLOCK_TAGS = frozenset({"latest", "pending", "safe", "finalized", "earliest"})


def _selector(abi: dict[str, Any]) -> tuple[bytes, list[str]]:
    """A function's selector and input types, remembered by its signature."""
    signature = (abi["name"], _input_key(abi.get("inputs") or ()))
    if signature not in _SELECTORS:
        _SELECTORS[signature] = (function_abi_to_4byte_selector(abi), get_abi_input_types(abi))  # type: ignore[arg-type]
    return _SELECTORS[signature]


def _input_key(inputs: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
    """The input types, a tuple's components spelled out (two ``tuple`` inputs may differ inside)."""
    return tuple((str(i["type"]), _input_key(i["components"])) if "components" in i else str(i["type"]) for i in inputs)


def _calldata(w3: AsyncWeb3[Any], abi: dict[str, Any], args: Sequence[Any]) -> str:
    """A function call's calldata: the same bytes as web3.py's, without its search of the contract's ABI
    (twice for each call it encodes)."""
    selector, types = _selector(abi)
    words = _static_words(types, args)
    if words is not None:
        return "0x" + selector.hex() + words
    arguments = _normalized(types, args)
    if arguments is None:
        arguments = map_abi_data([abi_address_to_hex, abi_bytes_to_bytes, abi_string_to_text], types, args)
    return "0x" + (selector + w3.codec.encode(types, arguments)).hex()


class _Unusual(Exception):
    """A value :func:`_normalized` leaves to web3.py's normalizers."""


def _normalized(types: Sequence[str], args: Sequence[Any]) -> list[Any] | None:
    """``args`` as web3.py's normalizers would hand them to eth_abi (checksummed addresses as they are, 0x hex
    for bytes as bytes), walking each argument by its ABI type; web3.py's ``map_abi_data`` builds a tree of
    every value and costs milliseconds for a tuple of arrays. None where a value is given another way (a dict
    for a tuple, a binary address, hex without 0x): web3.py's normalizers then do it, with their errors."""
    if len(types) != len(args):
        return None
    try:
        return [_normal(_abi_type(t), a) for t, a in zip(types, args, strict=True)]
    except _Unusual:
        return None


def _normal(abi_type: Any, value: Any) -> Any:
    if abi_type.is_array:
        if not isinstance(value, list | tuple):
            raise _Unusual
        return [_normal(abi_type.item_type, v) for v in value]
    if isinstance(abi_type, TupleType):
        if not isinstance(value, list | tuple) or len(value) != len(abi_type.components):
            raise _Unusual
        return tuple(_normal(c, v) for c, v in zip(abi_type.components, value, strict=True))
    base = abi_type.base
    if base == "address":
        if isinstance(value, str) and len(value) == 42 and _checksummed(value):
            return value
        raise _Unusual
    if base == "bytes":
        if type(value) is bytes:
            return value
        if isinstance(value, str) and value[:2] == "0x" and len(value) % 2 == 0:
            try:
                return bytes.fromhex(value[2:])
            except ValueError:
                raise _Unusual from None
        raise _Unusual
    if base == "string" and not isinstance(value, str):
        raise _Unusual
    return value  # numbers and bools: eth_abi checks them as it encodes


def _aggregate3_args(calls: Sequence[tuple[str, str]]) -> str:
    """The hex of ``abi.encode((address,bool,bytes)[])`` for Multicall3's ``aggregate3``, each call with
    failures allowed: the same bytes as eth_abi's (a test compares them), written out because eth_abi's
    generic encoder costs more than the node's work for a method's few reads."""
    head, tail, offset = [], [], 32 * len(calls)
    for to, data in calls:
        body = bytes.fromhex(data[2:] if data[:2] in ("0x", "0X") else data)
        padded = body.hex() + "00" * (-len(body) % 32)
        tuple_hex = to[2:].lower().rjust(64, "0") + f"{1:064x}" + f"{96:064x}" + f"{len(body):064x}" + padded
        head.append(f"{offset:064x}")
        tail.append(tuple_hex)
        offset += len(tuple_hex) // 2
    return f"{32:064x}" + f"{len(calls):064x}" + "".join(head) + "".join(tail)


def _aggregate3_results(data: bytes) -> list[tuple[bool, bytes]] | None:
    """``abi.decode(data, ((bool,bytes)[]))`` as Multicall3 encodes it (the same values as eth_abi's), or None
    where ``data`` is laid out any other way, or out of bounds, for eth_abi to decode or refuse."""

    def word(at: int) -> int:
        if at + 32 > len(data):
            raise IndexError(at)
        return int.from_bytes(data[at : at + 32], "big")

    try:
        if word(0) != 32:
            return None
        n, base = word(32), 64
        out = []
        for i in range(n):
            start = base + word(base + 32 * i)
            ok = word(start)
            if ok > 1 or word(start + 32) != 64:
                return None
            length = word(start + 64)
            if start + 96 + length > len(data):
                return None
            out.append((ok == 1, bytes(data[start + 96 : start + 96 + length])))
        return out
    except IndexError:
        return None


_UINTS = {f"uint{n}": 1 << n for n in range(8, 257, 8)}
_CHECKSUMMED: dict[str, bool] = {}


def _static_words(types: Sequence[str], args: Sequence[Any]) -> str | None:
    """The hex of ``abi.encode(args)`` where every argument is one word given as the type it encodes
    (bytes32 as 32 bytes or their 0x hex, uintN as an int in range, bool, address as a checksummed
    string): eth_abi and web3.py's normalizers cost ten times more than the encoding itself, and a
    batch of 10,000 reads or transactions pays for them each time. None for anything else, which then
    takes web3.py's path (and its errors)."""
    if len(types) != len(args):
        return None
    out = []
    for t, a in zip(types, args, strict=True):
        if t == "bytes32":
            if isinstance(a, bytes) and len(a) == 32:
                out.append(a.hex())
            elif isinstance(a, str) and len(a) == 66 and a[:2] in ("0x", "0X") and _is_hex(a[2:]):
                out.append(a[2:].lower())
            else:
                return None
        elif t in _UINTS:
            if type(a) is not int or not 0 <= a < _UINTS[t]:
                return None
            out.append(f"{a:064x}")
        elif t == "bool":
            if type(a) is not bool:
                return None
            out.append(f"{int(a):064x}")
        elif t == "address":
            if not isinstance(a, str) or len(a) != 42:
                return None
            if not _checksummed(a):
                return None  # web3.py refuses it, and says why
            out.append(a[2:].lower().rjust(64, "0"))
        else:
            return None
    return "".join(out)


def _checksummed(address: str) -> bool:
    """is_checksum_address, remembered (a batch names the same few contracts and accounts thousands of times)."""
    if address not in _CHECKSUMMED:
        if len(_CHECKSUMMED) >= 10_000:  # a bound on what a long-running process keeps
            _CHECKSUMMED.clear()
        _CHECKSUMMED[address] = is_checksum_address(address)
    return _CHECKSUMMED[address]


_HEX64 = re.compile("[0-9a-fA-F]{64}")


def _is_hex(text: str) -> bool:
    return _HEX64.fullmatch(text) is not None


def _decode(w3: AsyncWeb3[Any], abi: dict[str, Any], data: bytes) -> Any:
    """What web3.py's ``.call()`` returns for ``data``: one value, or a list of them; addresses checksummed."""
    outputs = abi.get("outputs") or []
    if len(outputs) == 1 and len(data) == 32:  # one word: a bool or a uint, read as eth_abi reads it
        kind = outputs[0].get("type")
        if kind == "bool" and data[:31] == bytes(31) and data[31] in (0, 1):
            return data[31] == 1
        if kind == "uint256":
            return int.from_bytes(data, "big")
    types = get_abi_output_types(abi)  # type: ignore[arg-type]
    values: Any = w3.codec.decode(types, data)
    if any("address" in t or "[" in t for t in types):  # web3.py checksums addresses and gives arrays as lists
        values = tuple(_checksum_addresses(_abi_type(t), v) for t, v in zip(types, values, strict=True))
    return values[0] if len(values) == 1 else list(values)


@functools.lru_cache(maxsize=512)
def _abi_type(type_str: str) -> Any:
    return parse_abi_type(type_str)


def _checksum_addresses(abi_type: Any, value: Any) -> Any:
    """``value`` (as eth_abi decodes ``abi_type``) with its addresses checksummed, as web3.py's return
    normalizer gives them (arrays as lists), walking only where the type holds an address or an array
    (web3.py walks every value)."""
    type_str = abi_type.to_type_str()
    if "address" not in type_str and "[" not in type_str:
        return value
    if abi_type.is_array:  # web3.py gives arrays as lists
        return [_checksum_addresses(abi_type.item_type, v) for v in value]
    if isinstance(abi_type, TupleType):
        return tuple(_checksum_addresses(c, v) for c, v in zip(abi_type.components, value, strict=True))
    return to_checksum_address(value) if abi_type.base == "address" else value


class _Function(AsyncContractFunction):
    """A contract function of a :meth:`Chain.contract`. A plain read (``.call()``, perhaps from an account, at
    a block number or tag) is one raw ``eth_call`` on a node, or one eth-tester call on the embedded chain,
    encoded and decoded as web3.py would; anything else, and any read that fails, takes web3.py's own path,
    so errors are web3.py's own."""

    async def call(
        self,
        transaction: TxParams | None = None,
        block_identifier: Any = None,
        state_override: Any = None,
        ccip_read_enabled: bool | None = None,
    ) -> Any:
        provider, abi, block = self.w3.provider, cast(dict[str, Any], self.abi), block_identifier
        simple = (
            isinstance(abi, dict)
            and abi.get("type") == "function"
            and self.address
            and not self.kwargs
            and not self.decode_tuples
            and state_override is None
            and set(transaction or {}) <= {"from"}
            and (block is None or (isinstance(block, int) and block >= 0) or block in _BLOCK_TAGS)
        )
        if simple and isinstance(provider, AsyncEthereumTesterProvider):
            answer = _tester_call(provider, self, abi, transaction, block)
            if answer is not None:
                try:
                    return _decode(self.w3, abi, answer)
                except DecodingError:
                    pass  # web3.py says what was wrong
        if simple and isinstance(provider, RpcProvider):
            params: dict[str, Any] = {"to": self.address, "data": _calldata(self.w3, abi, self.args or ())}
            kept = _PREFETCHED.get()
            if kept is not None and block in (None, "latest") and not transaction:
                data = kept.get((id(provider), str(self.address).lower(), params["data"]))
                if data is not None:
                    try:
                        return _decode(self.w3, abi, data)
                    except DecodingError:
                        pass
            if transaction and transaction.get("from"):
                params["from"] = transaction["from"]
            tag = "latest" if block is None else hex(block) if isinstance(block, int) else block
            response = await provider.make_request(RPCEndpoint("eth_call"), [params, tag])
            if "error" not in response:
                try:
                    return _decode(self.w3, abi, HexBytes(response.get("result") or "0x"))
                except DecodingError:
                    pass  # web3.py says what was wrong (no code at the address, say)
        return await super().call(transaction, block_identifier, state_override, ccip_read_enabled)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The function bound to ``args``. web3.py searches the contract's whole ABI for the function the
        arguments fit (a selector hashed per candidate); a function whose name is not overloaded, called with
        one argument per input, is that function, so the search is skipped."""
        abi = self.abi
        if (
            kwargs
            or not isinstance(abi, dict)
            or abi.get("type") != "function"
            or len(args) != len(abi.get("inputs") or ())
            or _overloaded(self.contract_abi, abi["name"])
        ):
            return super().__call__(*args, **kwargs)
        clone = copy.copy(self)
        clone.args, clone.kwargs, clone.arguments = args, {}, args
        clone.selector = HexStr("0x" + _selector(cast(dict[str, Any], abi))[0].hex())
        return clone


def _tester_call(
    provider: AsyncEthereumTesterProvider, fn: Any, abi: dict[str, Any], transaction: TxParams | None, block: Any
) -> bytes | None:
    """A read on the embedded chain straight from eth-tester: web3.py's request and result formatters cost
    twice what py-evm takes to run a view. What web3.py's eth-tester middleware would send (``from`` the
    first account where none is given); None where the call fails, so that web3.py runs it again and raises
    its own error."""
    tester = provider.ethereum_tester
    sender = (transaction or {}).get("from") or _first_account(tester)
    params = {"from": sender, "to": fn.address, "data": _calldata(fn.w3, abi, fn.args or ())}
    try:
        result = tester.call(params, "latest" if block is None else block)
    except Exception:  # a revert, a bad block: web3.py's path raises it as it always has
        return None
    return bytes(HexBytes(result))


def _first_account(tester: Any) -> str:
    """eth-tester's first account, what web3.py's middleware fills in as ``from`` (the same every call)."""
    cached = getattr(tester, "_gaib_first_account", None)
    if cached is None:
        cached = tester.get_accounts()[0]
        tester._gaib_first_account = cached
    return str(cached)


def _run_or_undo(tester: Any, raw: bytes) -> bool:
    """Run a signed transaction into eth-tester's pending block and mine it, as its auto-mining send does;
    if it fails (a revert, out of gas), put the pending block back as it was instead: nothing is mined and
    the nonce stays unused, as if a dry run had refused it. One run of the EVM where a dry run and a send
    took two. A transaction that py-evm refuses outright (a bad nonce) raises, with nothing changed."""
    chain = tester.backend.chain
    pending = chain.header
    evm_tx = chain.get_vm(pending).get_transaction_builder().decode(raw)
    _, _, computation = chain.apply_transaction(evm_tx)
    if computation.is_error:
        chain.header = pending  # the state trie is content-addressed: the old root is the old state
        return False
    tester._handle_filtering_for_transaction(tester.normalizer.normalize_outbound_transaction_hash(evm_tx.hash))
    tester.mine_block()
    return True


_NAMES: dict[int, tuple[Any, frozenset[str]]] = {}


def _overloaded(contract_abi: Any, name: str) -> bool:
    """Whether ``name`` names more than one function of the ABI (remembered per ABI list)."""
    known = _NAMES.get(id(contract_abi))
    if known is None or known[0] is not contract_abi:
        seen: set[str] = set()
        twice: set[str] = set()
        for item in contract_abi or ():
            if item.get("type") == "function":
                (twice if item["name"] in seen else seen).add(item["name"])
        known = _NAMES[id(contract_abi)] = (contract_abi, frozenset(twice))
    return name in known[1]


class _Functions(AsyncContractFunctions):
    """A contract's functions, as :class:`_Function`."""

    def __init__(self, abi: Any, w3: AsyncWeb3[Any], address: Any = None, decode_tuples: bool | None = False) -> None:
        BaseContractFunctions.__init__(self, abi, w3, _Function, address, decode_tuples)


def _chunks(items: Sequence[_Pending], size: Callable[[_Pending], int]) -> list[list[_Pending]]:
    """Split into JSON-RPC batches of at most BATCH_REQUESTS items and about BATCH_BYTES bytes."""
    out: list[list[_Pending]] = []
    current: list[_Pending] = []
    total = 0
    for item in items:
        n = size(item)
        if current and (len(current) >= BATCH_REQUESTS or total + n > BATCH_BYTES):
            out.append(current)
            current, total = [], 0
        current.append(item)
        total += n
    if current:
        out.append(current)
    return out
