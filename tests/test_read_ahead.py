"""The read path on a node: Multicall3 (placed on a development node with the protocol), reads made ahead
by a method (kept until its next transaction or its end, never longer), and sends that answer with the
receipt (EIP-7966), each with its fallback when the node cannot. Against anvil."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from eth_account import Account
from web3.contract.async_contract import AsyncContractFunction

from gaib_sdk import Gaib
from gaib_sdk.chain import read_ahead
from gaib_sdk.chain.connection import MULTICALL3
from gaib_sdk.chain.transport import CallCounter
from gaib_sdk.errors import ChainError

from .anvil import KEYS, Anvil


class Refusing(httpx.AsyncBaseTransport):
    """A node that does not know some methods: answers them "method not found", as a node without them does."""

    def __init__(self, methods: set[str]) -> None:
        self.methods = methods
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        items = body if isinstance(body, list) else [body]
        if any(i.get("method") in self.methods for i in items):
            refused = [
                {"jsonrpc": "2.0", "id": i.get("id"), "error": {"code": -32601, "message": "Method not found"}}
                for i in items
            ]
            return httpx.Response(200, json=refused if isinstance(body, list) else refused[0])
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def node() -> Any:
    anvil = Anvil().start()
    yield anvil
    anvil.stop()


@pytest_asyncio.fixture
async def gaib(node: Anvil, tmp_path: Path) -> AsyncIterator[tuple[Gaib, CallCounter]]:
    counter = CallCounter()
    g = await Gaib.connect(
        node.url, private_key=KEYS[0], deployments=tmp_path / "d.json", journal=False, transport=counter
    )
    await g.deploy()
    counter.reset()
    yield g, counter
    await g.close()


@pytest.mark.asyncio
async def test_multicall3_is_placed_with_the_protocol_and_reads_as_web3_reads(gaib: tuple[Gaib, CallCounter]) -> None:
    g, counter = gaib
    assert await g.chain.has_code(MULTICALL3)
    p = g.protocol
    calls = [p.aid.functions.symbol(), p.said.functions.asset(), p.registry.functions.getAsset(b"\1" * 32)]
    calls += [p.aid.functions.balanceOf(KEYS_ADDRESS) for KEYS_ADDRESS in (g.address, p.said.address)]
    counter.reset()
    got = await g.chain.call_many(calls)
    assert counter.calls == {"eth_call": 1}  # five reads, one aggregate3
    assert got == [await AsyncContractFunction.call(c) for c in calls]
    assert await g.chain.timestamp() == (await g.chain.w3.eth.get_block("latest"))["timestamp"]


@pytest.mark.asyncio
async def test_a_read_that_reverts_inside_a_multicall_names_itself(gaib: tuple[Gaib, CallCounter]) -> None:
    g, _ = gaib
    p = g.protocol
    nowhere = g.chain.contract("0x000000000000000000000000000000000000dEaD", p.aid.abi)
    with pytest.raises(ChainError, match="reading symbol at 0x000000000000000000000000000000000000dEaD gave 0x"):
        await g.chain.call_many([p.aid.functions.symbol(), nowhere.functions.symbol()])
    with pytest.raises(ChainError, match=r"reading previewWithdraw would revert"):
        await g.chain.call_many([p.aid.functions.symbol(), p.said.functions.previewWithdraw(2**255)])


@pytest.mark.asyncio
async def test_reads_made_ahead_last_until_the_next_transaction_or_the_methods_end(
    gaib: tuple[Gaib, CallCounter], node: Anvil
) -> None:
    g, counter = gaib
    p = g.protocol
    holder = Account.from_key(KEYS[1])
    await g.faucet(holder.address, 100)
    held = p.usdc.functions.balanceOf(holder.address)

    def spend_elsewhere(units: int) -> None:
        """The holder pays someone from outside this process: nothing this task sends."""
        tx = {
            "to": p.usdc.address,
            "data": p.usdc.encode_abi("transfer", args=[g.address, units]),
            "gas": 100_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 1,
            "nonce": int(node.rpc("eth_getTransactionCount", holder.address, "pending"), 16),
            "chainId": g.chain.chain_id,
        }
        # answered once mined (EIP-7966): a plain send may answer before anvil's block is in, and the read
        # that follows would race it
        node.rpc("eth_sendRawTransactionSync", holder.sign_transaction(tx).raw_transaction.to_0x_hex())

    @read_ahead
    async def method() -> list[int]:
        seen = []
        await g.chain.prefetch([held, p.usdc.functions.symbol()])
        counter.reset()
        seen.append(await held.call())
        assert counter.total == 0  # answered from what was read ahead
        spend_elsewhere(1_000_000)
        seen.append(await held.call())  # within the method, its read ahead stands
        await g.faucet(holder.address, 5)  # a transaction of the method: what was read may have changed
        counter.reset()
        seen.append(await held.call())
        assert counter.calls["eth_call"] == 1
        return seen

    assert await method() == [100_000_000, 100_000_000, 104_000_000]
    # outside the method nothing is kept, and a read ahead there keeps nothing either
    spend_elsewhere(1_000_000)
    await g.chain.prefetch([held])
    counter.reset()
    assert await held.call() == 103_000_000 and counter.calls["eth_call"] == 1


@pytest.mark.asyncio
async def test_a_read_that_fails_ahead_fails_where_it_is_made(gaib: tuple[Gaib, CallCounter]) -> None:
    g, _ = gaib
    failing = g.protocol.said.functions.previewWithdraw(2**255)

    @read_ahead
    async def method() -> None:
        await g.chain.prefetch([failing])
        await failing.call()

    with pytest.raises(Exception) as plain:
        await failing.call()
    with pytest.raises(type(plain.value)) as ahead:  # the same error as without the read ahead
        await method()
    assert str(ahead.value) == str(plain.value)


@pytest.mark.asyncio
async def test_a_node_without_sync_sends_or_multicall_gets_plain_sends_and_batches(tmp_path: Path) -> None:
    counter = CallCounter(Refusing({"eth_sendRawTransactionSync", "anvil_setCode", "hardhat_setCode"}))
    bare = Anvil().start()
    try:
        async with await Gaib.connect(
            bare.url, private_key=KEYS[2], deployments=tmp_path / "d.json", journal=False, transport=counter
        ) as g:
            await g.deploy()
            assert not await g.chain.has_code(MULTICALL3) and g.chain._multicall is False
            await g.aid.whitelist(g.address)
            await g.faucet(g.address, 100)
            counter.reset()
            receipt = await g.aid.mint(25)
            assert len(receipt.tx_hashes) == 2 and await g.aid.supply() == 25
            # the sync send was refused once, then never asked again: plain sends and a receipt each
            assert "eth_sendRawTransactionSync" not in counter.calls
            assert counter.calls["eth_sendRawTransaction"] == 2 and counter.calls["eth_getTransactionReceipt"] >= 2
            # the pre-checks read ahead as one JSON-RPC batch of plain reads
            assert counter.calls["eth_call"] >= 6 and counter.requests < counter.total
    finally:
        bare.stop()


def test_addresses_come_back_checksummed_as_web3_gives_them() -> None:
    """The read path checksums the addresses in what it decodes, walking only where a type holds one: the
    same values, and the same container types, as web3.py's return normalizer."""
    from eth_abi.grammar import parse
    from web3._utils.abi import map_abi_data
    from web3._utils.normalizers import BASE_RETURN_NORMALIZERS

    from gaib_sdk.chain.connection import _checksum_addresses

    a, b = "0x" + "ab" * 20, "0x" + "0f" * 20
    cases = [
        ("address", a),
        ("address[]", (a, b)),
        ("address[2]", (b, a)),
        ("(bytes32,address,uint8[],(address,bool)[])", (b"\1" * 32, a, (1, 2), ((b, True), (a, False)))),
        ("(string,uint256)", ("0x" + "ab" * 20, 7)),  # a string that looks like an address stays as it is
        ("uint256", 5),
        ("(address,uint8[])", (a, (1, 2))),
        ("uint8[]", (1, 2)),
    ]
    for type_str, value in cases:
        (expected,) = map_abi_data(BASE_RETURN_NORMALIZERS, [type_str], [value])
        got = _checksum_addresses(parse(type_str), value)
        assert got == expected and type(got) is type(expected), type_str
