"""gaib.watch(): typed events as they are mined, on the embedded EVM and over HTTP polling on anvil."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account

from gaib_sdk import Gaib
from gaib_sdk.index import Event

from .anvil import KEYS, Anvil


async def collect(stream: object, count: int) -> list[Event]:
    got: list[Event] = []
    async for event in stream:  # type: ignore[attr-defined]
        got.append(event)
        if len(got) == count:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return got


@pytest.mark.asyncio
async def test_watch_yields_the_events_asked_for_as_they_are_mined(gaib: Gaib) -> None:
    investor = gaib.with_account(2)
    await gaib.aid.whitelist(investor.address)
    await gaib.faucet(investor.address, Decimal(100))
    start = int(await gaib.chain.w3.eth.block_number) + 1
    stream = gaib.watch("Minted", "said.Deposit", from_block=start, poll_interval=0.01)

    async def act() -> None:
        await investor.aid.mint(Decimal(10))
        await investor.said.stake(Decimal(4))

    acting = asyncio.create_task(act())
    got = await asyncio.wait_for(collect(stream, 2), timeout=60)
    await acting
    assert [(e.contract, e.event) for e in got] == [("aid", "Minted"), ("said", "Deposit")]
    assert got[0].aidOut == 10 * 10**18 and got[1].assets == 4 * 10**18  # type: ignore[attr-defined]
    assert got[0].block_number < got[1].block_number


@pytest.mark.asyncio
async def test_watch_over_http_follows_another_client_and_a_reorg(anvil: Anvil, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
        await admin.deploy()
        await admin.aid.whitelist(Account.from_key(KEYS[1]).address)
        await admin.faucet(Account.from_key(KEYS[1]).address, Decimal(100))
    reader = await Gaib.connect(anvil.url, deployments=deployments, journal=False)
    start = int(await reader.chain.w3.eth.block_number) + 1
    fork = anvil.rpc("evm_snapshot")
    stream = reader.watch("Minted", from_block=start, poll_interval=0.02)
    try:
        async with await Gaib.connect(anvil.url, private_key=KEYS[1], deployments=deployments, journal=False) as lp:
            await lp.aid.mint(Decimal(10))
        first = await asyncio.wait_for(anext(stream), timeout=30)
        assert first.args["aidOut"] == 10 * 10**18
        # that block is orphaned: the new branch mints another amount, and the same stream yields it
        assert anvil.rpc("evm_revert", fork)
        async with await Gaib.connect(anvil.url, private_key=KEYS[1], deployments=deployments, journal=False) as lp:
            await lp.aid.mint(Decimal(3))
        anvil.rpc("anvil_mine", "0x2")
        second = await asyncio.wait_for(anext(stream), timeout=30)
        assert second.args["aidOut"] == 3 * 10**18 and second.block_hash != first.block_hash
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await reader.close()


@pytest.mark.asyncio
async def test_watch_over_a_websocket_wakes_on_each_new_block(anvil: Anvil, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments, journal=False) as admin:
        await admin.deploy()
        investor = admin.with_account(KEYS[1])
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(100))
        start = int(await admin.chain.w3.eth.block_number) + 1
        # a poll interval far longer than the test: only the subscription can wake it in time
        ws = anvil.url.replace("http://", "ws://")
        stream = admin.watch("Minted", from_block=start, poll_interval=600, websocket=ws)
        try:
            waiting = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.5)  # the watch is subscribed and asleep
            await investor.aid.mint(Decimal(5))
            event = await asyncio.wait_for(waiting, timeout=20)
            assert event.args["aidOut"] == 5 * 10**18
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


def test_the_sync_client_watches_with_a_plain_for_loop() -> None:
    from gaib_sdk import GaibSync

    with GaibSync.embedded() as gaib:
        investor = gaib.with_account(2)
        gaib.aid.whitelist(investor.address)
        gaib.faucet(investor.address, Decimal(100))
        start = gaib.run(gaib.aio.chain.w3.eth.block_number)
        investor.aid.mint(Decimal(7))
        for event in gaib.watch("Minted", from_block=start, poll_interval=0.01):
            assert event.args["aidOut"] == 7 * 10**18
            break
