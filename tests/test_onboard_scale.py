"""Onboarding stays linear in the number of assets: what digitize asks the node grows by one Multicall3 read
per 500 assets, all in one JSON-RPC batch, never by one request per asset; the inventory looks telemetry up
by dict; and the fast paths of the transaction manager (its signer, its encoder, its receipts) give the very
bytes and values of the slow ones they replace. Counts and bytes, never a time (`gaib bench onboard
--cluster` prints the times)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import AsyncWeb3
from web3._utils.method_formatters import receipt_formatter

from gaib_sdk import Gaib
from gaib_sdk.bench import synthetic_inventory
from gaib_sdk.chain.connection import (
    BATCH_REQUESTS,
    MULTICALL_READS,
    _aggregate3_args,
    _aggregate3_results,
    _calldata,
    _normalized,
    _receipt,
    _rlp,
    _sign_1559,
    _static_words,
)
from gaib_sdk.chain.transport import CallCounter
from gaib_sdk.client import cluster_tree
from gaib_sdk.errors import AssetOwnershipError, DuplicateAssetError
from gaib_sdk.merkle import leaf
from gaib_sdk.models import Telemetry
from gaib_sdk.models.assets import _encode_strings

from .anvil import KEYS, Anvil


async def _connect(node: Anvil, tmp_path: Path, key: str, counter: CallCounter) -> Gaib:
    return await Gaib.connect(
        node.url,
        private_key=key,
        deployments=tmp_path / "deployments.json",
        journal=tmp_path / f"journal-{key[:8]}.sqlite",
        transport=counter,
    )


class ReadCounter(CallCounter):
    """Also counts the HTTP requests that carry reads (eth_call): receipt polls and fee reads come as the
    node's timing has it, the reads do not."""

    def __init__(self) -> None:
        super().__init__()
        self.read_requests = 0

    def reset(self) -> None:
        super().reset()
        self.read_requests = 0

    async def handle_async_request(self, request: Any) -> Any:
        before = self.calls["eth_call"]
        response = await super().handle_async_request(request)
        self.read_requests += self.calls["eth_call"] > before
        return response


def _batches(n: int) -> int:
    return -(-n // MULTICALL_READS)


@pytest.mark.asyncio
async def test_digitize_asks_the_node_once_per_batch_not_once_per_asset(anvil: Anvil, tmp_path: Path) -> None:
    counter = ReadCounter()
    gaib = await _connect(anvil, tmp_path, KEYS[0], counter)
    try:
        await gaib.deploy()
        requests = {}
        for n in (BATCH_REQUESTS, 3 * BATCH_REQUESTS):
            inventory = synthetic_inventory(n, tag=f"scale-{n}")
            counter.reset()
            result = await gaib.digitize("gpu", inventory, cluster=True)
            # every asset is checked (is it registered on its own?): one Multicall3 eth_call per 500 ...
            assert counter.calls["eth_call"] == _batches(n) + 2  # + the registrar's role and the cluster's root
            assert counter.calls["eth_sendRawTransactionSync"] == 1
            requests[n] = counter.read_requests
            assert len(result.asset_ids) == n and (await gaib.assets.cluster(str(result.cluster_root)))["size"] == n
        # ... and those calls travel as one batch: three times the assets cost no more HTTP requests of reads
        assert requests[3 * BATCH_REQUESTS] == requests[BATCH_REQUESTS]

        # the per-asset path: registered ones, read back to check their owner, are batched too
        inventory = synthetic_inventory(2 * BATCH_REQUESTS, tag="scale-known")
        await gaib.digitize("gpu", inventory)
        counter.reset()
        again = await gaib.digitize("gpu", inventory, skip_registered=True)
        assert len(again.already_registered) == 2 * BATCH_REQUESTS and not again.tx_hashes
        assert counter.calls["eth_call"] == 1 + 2 * _batches(2 * BATCH_REQUESTS)  # role; registered?; whose?
        assert counter.requests <= 3
    finally:
        await gaib.close()


@pytest.mark.asyncio
async def test_the_batched_checks_still_refuse_duplicates_and_another_owners_assets(
    anvil: Anvil, tmp_path: Path
) -> None:
    admin = await _connect(anvil, tmp_path, KEYS[0], CallCounter())
    await admin.deploy()
    other = await _connect(anvil, tmp_path, KEYS[1], CallCounter())
    try:
        await admin.admin.authorize_registrar(other.address)
        mine = synthetic_inventory(BATCH_REQUESTS + 5, tag="owned")
        await admin.digitize("gpu", mine)
        # one asset of the admin's hidden late in another's inventory (past the first batch of reads)
        theirs = synthetic_inventory(BATCH_REQUESTS + 10, tag="theirs")
        squat = theirs.model_copy(
            update={
                "assets": [*theirs.assets, mine.assets[-1]],
                "telemetry": [*theirs.telemetry, mine.latest_telemetry()[mine.assets[-1].serial]],
            }
        )
        with pytest.raises(AssetOwnershipError, match=mine.assets[-1].serial):
            await other.digitize("gpu", squat, skip_registered=True)
        with pytest.raises(DuplicateAssetError, match="1 of"):
            await admin.digitize("gpu", squat)
        with pytest.raises(DuplicateAssetError, match="already registered on its own"):
            await admin.digitize("gpu", squat, cluster=True)
        assert admin.chain.journal is not None and other.chain.journal is not None
        assert not [e for e in other.chain.journal.entries(other.chain.scope) if "register" in e.what]
    finally:
        await admin.close()
        await other.close()


class _CountingList(list[Telemetry]):
    iterations = 0

    def __iter__(self) -> Any:
        type(self).iterations += 1
        return super().__iter__()


def test_telemetry_is_looked_up_by_dict_and_the_latest_wins() -> None:
    inventory = synthetic_inventory(300)
    serial = inventory.assets[7].serial
    old = inventory.latest_telemetry()[serial]
    newer = old.model_copy(update={"observed_at": old.observed_at + timedelta(hours=1), "utilisation": 0.1})
    same_time = old.model_copy(update={"utilisation": 0.2})  # a tie: the first given stays
    inv = inventory.model_copy(update={"telemetry": _CountingList([*inventory.telemetry, newer, same_time])})
    _CountingList.iterations = 0
    for asset in inv.assets:
        assert inv.telemetry_for(asset.serial) is not None
    assert _CountingList.iterations == 1  # one pass to build the index, not one per asset
    assert inv.telemetry_for(serial) == newer and inv.telemetry_for("no such serial") is None
    assert inventory.telemetry_for(serial) == old  # the original keeps its own index
    # a snapshot appended later is seen (the index is built again)
    latest = newer.model_copy(update={"observed_at": datetime(2030, 1, 1, tzinfo=UTC)})
    inv.telemetry.append(latest)
    assert inv.telemetry_for(serial) == latest


def test_ids_leaves_and_trees_are_the_abi_encodings_the_contracts_hash() -> None:
    for texts in [("gpu", "nvidia", "SN-1"), ("", "", ""), ("a" * 32, "é" * 40, "z" * 33)]:
        assert _encode_strings(*texts) == abi_encode(["string"] * 3, list(texts))
    inventory = synthetic_inventory(5)
    a = inventory.assets[0]
    packed = abi_encode(["bytes32", "bytes32"], [bytes.fromhex(a.asset_id[2:]), bytes.fromhex(a.record_hash[2:])])
    assert leaf(a.asset_id, a.record_hash) == keccak(keccak(packed))
    assert cluster_tree(inventory).root == cluster_tree(inventory, [x.asset_id for x in inventory.assets]).root


def test_the_fast_signer_gives_eth_accounts_bytes_or_leaves_the_transaction_to_it() -> None:
    account = Account.from_key(KEYS[2])
    rng = random.Random(14)
    for _ in range(100):
        tx = {
            "from": account.address,
            "to": to_checksum_address("0x" + rng.randbytes(20).hex()),
            "data": "0x" + rng.randbytes(rng.randrange(0, 400)).hex(),
            "value": rng.choice([0, 1, 10**18, 2**255]),
            "gas": rng.randrange(21_000, 30_000_000),
            "nonce": rng.choice([0, 1, 127, 128, rng.randrange(0, 2**40)]),
            "chainId": rng.choice([1, 31337, 131277322940537]),
            "maxFeePerGas": rng.randrange(0, 10**13),
            "maxPriorityFeePerGas": rng.randrange(0, 10**10),
        }
        signed = account.sign_transaction(tx)
        assert _sign_1559(account, tx) == (signed.raw_transaction.to_0x_hex(), signed.hash.to_0x_hex())
    plain = {**tx, "to": str(tx["to"]).lower()}  # not checksummed: eth-account refuses it and says why
    assert _sign_1559(account, plain) is None
    assert _sign_1559(account, {**tx, "accessList": []}) is None
    assert _sign_1559(account, {k: v for k, v in tx.items() if k != "to"}) is None  # a deployment
    assert _sign_1559(account, {**tx, "from": Account.from_key(KEYS[3]).address}) is None
    legacy = {k: v for k, v in tx.items() if not k.startswith("max")}
    assert _sign_1559(account, {**legacy, "gasPrice": 1}) is None


def test_the_fast_encoder_and_rlp_give_the_same_bytes() -> None:
    import rlp  # type: ignore[import-untyped]

    items: list[int | bytes | list[Any]] = [0, 1, 127, 128, 2**64, b"", b"\x00", b"\x80", b"a" * 55, b"a" * 56]
    for item in [*items, b"a" * 1024, [], [b"a" * 60, 5]]:
        assert _rlp(item) == rlp.encode(item)
    w3: AsyncWeb3[Any] = AsyncWeb3()
    owner = Account.from_key(KEYS[0]).address
    abi = {
        "type": "function",
        "name": "f",
        "inputs": [{"type": t, "name": ""} for t in ("bytes32", "uint256", "bool", "address", "uint8")],
    }
    args = ["0x" + "ab" * 32, 2**200, True, owner, 255]
    expected = (
        "0x"
        + (
            keccak(text="f(bytes32,uint256,bool,address,uint8)")[:4]
            + abi_encode(
                ["bytes32", "uint256", "bool", "address", "uint8"], [bytes.fromhex("ab" * 32), 2**200, True, owner, 255]
            )
        ).hex()
    )
    assert _calldata(w3, abi, args) == expected
    assert _calldata(w3, abi, [bytes.fromhex("ab" * 32), *args[1:]]) == expected
    types = ["bytes32", "uint256", "bool", "address", "uint8"]
    # anything else takes web3.py's path, and its errors
    assert _static_words(types, [*args[:4], 256]) is None  # out of range for uint8
    assert _static_words(types, [args[0], True, *args[2:]]) is None  # a bool is no uint
    assert _static_words(types, [*args[:3], owner.lower(), 1]) is None  # not checksummed
    assert _static_words(types, ["0x" + "zz" * 32, *args[1:]]) is None
    assert _static_words(["string"], ["x"]) is None


def test_receipts_keep_web3s_values_and_format_their_logs_when_read() -> None:
    log = {
        "address": "0x" + "ab" * 20,
        "topics": ["0x" + "11" * 32],
        "data": "0x" + "22" * 32,
        "blockNumber": "0x5",
        "transactionHash": "0x" + "33" * 32,
        "transactionIndex": "0x0",
        "blockHash": "0x" + "44" * 32,
        "logIndex": "0x0",
        "removed": False,
    }
    raw = {
        "status": "0x1",
        "blockNumber": "0x5",
        "blockHash": "0x" + "44" * 32,
        "transactionHash": "0x" + "33" * 32,
        "gasUsed": "0x5208",
        "cumulativeGasUsed": "0x5208",
        "effectiveGasPrice": "0x3b9aca00",
        "transactionIndex": "0x0",
        "contractAddress": None,
        "logs": [log],
    }
    ours, theirs = _receipt(raw), receipt_formatter(raw)
    for name in ("status", "blockNumber", "blockHash", "transactionHash", "gasUsed", "effectiveGasPrice"):
        assert ours[name] == theirs[name]
    assert len(ours["logs"]) == 1 and list(ours["logs"]) == list(theirs["logs"])
    created = _receipt({**raw, "contractAddress": "0x" + "cd" * 20})
    assert created["contractAddress"] == to_checksum_address("0x" + "cd" * 20)


def test_the_fast_normalizer_gives_web3s_calldata_for_nested_arguments() -> None:
    """Tuples, arrays, bytes and strings are walked by their ABI type (web3.py's map_abi_data builds a tree
    of every value): the calldata is web3.py's own, and anything given another way goes to web3.py."""
    from web3._utils.abi import map_abi_data
    from web3._utils.normalizers import abi_address_to_hex, abi_bytes_to_bytes, abi_string_to_text

    w3: AsyncWeb3[Any] = AsyncWeb3()
    owner = Account.from_key(KEYS[0]).address
    rng = random.Random(7)
    types = ["(address,uint128,bytes32[],string)", "bytes", "address[]", "(bytes4,bool)[2]", "string"]
    abi = {"type": "function", "name": "g", "inputs": [{"type": t, "name": ""} for t in types]}
    for _ in range(50):
        ids = ["0x" + rng.randbytes(32).hex() for _ in range(rng.randint(0, 4))]
        args = [
            (owner, rng.randint(0, 2**128 - 1), ids, "café" * rng.randint(0, 20)),
            "0x" + rng.randbytes(rng.randint(0, 70)).hex(),
            [owner] * rng.randint(0, 3),
            [("0x" + rng.randbytes(4).hex(), True), (rng.randbytes(4), False)],
            "",
        ]
        normalized = map_abi_data([abi_address_to_hex, abi_bytes_to_bytes, abi_string_to_text], types, args)
        selector = keccak(text="g(" + ",".join(types) + ")")[:4]
        assert _calldata(w3, abi, args) == "0x" + (selector + abi_encode(types, normalized)).hex()
    # given another way (a lower-case address, hex without 0x, a bytes string): web3.py's normalizers
    assert _normalized(["address"], [owner.lower()]) is None
    assert _normalized(["bytes"], ["abcd"]) is None
    assert _normalized(["string"], [b"x"]) is None
    assert _normalized(["(address,bool)"], [{"a": owner, "b": True}]) is None
    with pytest.raises(Exception, match="checksum|EIP-55|ENS"):
        _calldata(w3, {**abi, "inputs": [{"type": "address[]", "name": ""}]}, [[owner.lower()]])


def test_multicall3s_arguments_and_answers_are_eth_abis_bytes() -> None:
    rng = random.Random(11)
    for _ in range(200):
        calls = [
            (to_checksum_address(rng.randbytes(20)), "0x" + rng.randbytes(rng.choice([0, 4, 31, 36, 68, 100])).hex())
            for _ in range(rng.randint(0, 6))
        ]
        expected = abi_encode(["(address,bool,bytes)[]"], [[(t, True, bytes.fromhex(d[2:])) for t, d in calls]])
        assert _aggregate3_args(calls) == expected.hex()
        results = [(rng.random() < 0.5, rng.randbytes(rng.choice([0, 5, 32, 100]))) for _ in range(rng.randint(0, 6))]
        assert _aggregate3_results(abi_encode(["(bool,bytes)[]"], [results])) == results
    # anything laid out otherwise is left to eth_abi: truncated, a bool that is not 0 or 1, a wrong offset
    good = abi_encode(["(bool,bytes)[]"], [[(True, b"abc")]])
    assert _aggregate3_results(good[:-40]) is None
    assert _aggregate3_results(good[:128] + (2).to_bytes(32, "big") + good[160:]) is None
    assert _aggregate3_results((64).to_bytes(32, "big") + good[32:]) is None
    assert _aggregate3_results(b"") is None


@pytest.mark.asyncio
async def test_a_function_not_overloaded_is_bound_without_searching_the_abi(anvil: Anvil, tmp_path: Path) -> None:
    """On a node, ``contract.functions.f(args)`` skips web3.py's search of the ABI when ``f`` has one
    overload and one argument per input: the bound function is the one web3.py would have found."""
    from web3.contract.async_contract import AsyncContractFunction

    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=tmp_path / "d.json") as gaib:
        await gaib.deploy()
        aid = gaib.protocol.aid
        fast = aid.functions.transfer(gaib.address, 5)
        slow = AsyncContractFunction.__call__(aid.functions.transfer, gaib.address, 5)
        for name in ("abi", "selector", "args", "arguments"):
            assert getattr(fast, name) == getattr(slow, name)
        assert fast._encode_transaction_data() == slow._encode_transaction_data()
        assert await aid.functions.balanceOf(gaib.address).call() == 0
        with pytest.raises(Exception, match="argument"):  # the wrong number of arguments: web3.py's search, its error
            aid.functions.transfer(gaib.address)


def test_two_functions_with_tuples_of_other_components_get_their_own_selectors() -> None:
    w3: AsyncWeb3[Any] = AsyncWeb3()

    def f(*components: str) -> dict[str, Any]:
        inner = [{"type": t, "name": f"x{n}"} for n, t in enumerate(components)]
        return {"type": "function", "name": "f", "inputs": [{"type": "tuple", "name": "t", "components": inner}]}

    assert _calldata(w3, f("uint256"), [(1,)])[:10] == "0x" + keccak(text="f((uint256))")[:4].hex()
    assert _calldata(w3, f("bool"), [(True,)])[:10] == "0x" + keccak(text="f((bool))")[:4].hex()


def test_decoded_answers_are_web3s_values_arrays_as_lists() -> None:
    """What a read returns is what web3.py's ``.call()`` returns: arrays as lists (of numbers too, not only
    of addresses), structs as tuples, addresses checksummed."""
    from gaib_sdk.chain.connection import _decode

    w3: AsyncWeb3[Any] = AsyncWeb3()
    owner = Account.from_key(KEYS[0]).address
    outputs = ["uint64[]", "(address,uint256[2])", "bool"]
    abi = {"type": "function", "name": "v", "inputs": [], "outputs": [{"type": t, "name": ""} for t in outputs]}
    data = abi_encode(outputs, [[1, 2, 3], (owner.lower(), [4, 5]), True])
    assert _decode(w3, abi, data) == [[1, 2, 3], (owner, [4, 5]), True]
    one = {**abi, "outputs": [{"type": "uint256[]", "name": ""}]}
    assert _decode(w3, one, abi_encode(["uint256[]"], [[7, 8]])) == [7, 8]
    assert isinstance(_decode(w3, one, abi_encode(["uint256[]"], [[7, 8]])), list)
