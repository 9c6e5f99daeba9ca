"""Live subscriptions: ``async for event in gaib.watch("Repaid", "Minted"): ...``.

Each poll runs the indexer (:class:`~gaib_sdk.index.Indexer`) on an in-memory database from the block the
watch started at, and yields what it added: the same typed events, the same adaptive ranges, the same
reorg handling. A reorg under the confirmation depth rolls the in-memory index back, and the events of the
new branch are yielded (those of the orphaned blocks were yielded already: pass ``confirmations`` to be
told only of blocks that deep). Works over any node the client talks to (HTTP polling; the embedded EVM).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from gaib_sdk.errors import ChainError
from gaib_sdk.index.events import Event, Source, protocol_sources
from gaib_sdk.index.indexer import Indexer

__all__ = ["watch"]


async def watch(
    gaib: Any,
    *events: str,
    contracts: Sequence[str] = (),
    from_block: int | None = None,
    confirmations: int = 0,
    poll_interval: float = 1.0,
    sources: Sequence[Source] | None = None,
    websocket: str | None = None,
) -> AsyncIterator[Event]:
    """Typed events as they are mined, oldest first.

    ``events``: names to keep (``"Repaid"``, or ``"facility.Repaid"`` for one source's); none keeps all.
    ``contracts``: source names to keep (``aid``, ``said``, ``facility``, ``venue:curve``...).
    ``from_block``: the first block to report (default: the next block mined). ``confirmations``: blocks a
    block must be under the head before its events are yielded. ``sources``: what to follow (default: the
    client's deployment and venues). ``websocket``: the node's ws:// URL (anvil serves it on its HTTP port):
    a ``newHeads`` subscription there wakes the watch as each block is mined, instead of polling every
    ``poll_interval`` seconds (the logs are then read as with polling, so reorgs are handled the same way)."""
    if sources is None:
        deployment = gaib.deployment
        sources = protocol_sources(deployment.contracts, gaib.venue_state or deployment.venues)
    if from_block is None:
        from_block = int(await gaib.chain.w3.eth.block_number) + 1
    indexer = Indexer(gaib.chain, ":memory:", sources, start_block=from_block, confirmations=confirmations)
    wanted = set(events)
    yielded = from_block - 1
    heads = _Heads(websocket) if websocket else None
    try:
        if heads is not None:
            await heads.open()
        while True:
            before = indexer.rollbacks
            await indexer.sync()
            if indexer.rollbacks != before and indexer.rolled_back_to is not None:
                yielded = min(yielded, indexer.rolled_back_to)
            cursor = indexer.cursor
            if cursor is not None and cursor > yielded:
                for event in indexer.events(from_block=yielded + 1, to_block=cursor):
                    if contracts and event.contract not in contracts:
                        continue
                    if wanted and event.event not in wanted and f"{event.contract}.{event.event}" not in wanted:
                        continue
                    yield event
                yielded = cursor
            if heads is not None:
                await heads.next(timeout=max(poll_interval, 30.0))
            else:
                await asyncio.sleep(poll_interval)
    finally:
        if heads is not None:
            await heads.close()
        indexer.close()


class _Heads:
    """A newHeads subscription on a node's WebSocket: :meth:`next` returns when a block is mined (or after
    ``timeout``, so a dropped notification costs one poll, not the watch)."""

    def __init__(self, url: str):
        self.url = url
        self._w3: Any = None
        self._messages: Any = None

    async def open(self) -> None:
        from web3 import AsyncWeb3, WebSocketProvider

        try:
            self._w3 = await AsyncWeb3(WebSocketProvider(self.url))
            await self._w3.eth.subscribe("newHeads")
        except Exception as exc:
            raise ChainError(f"could not subscribe to new blocks at {self.url}: {exc}") from exc
        self._messages = self._w3.socket.process_subscriptions().__aiter__()

    async def next(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._messages.__anext__(), timeout)
        except TimeoutError:
            pass

    async def close(self) -> None:
        if self._w3 is not None:
            await self._w3.provider.disconnect()
