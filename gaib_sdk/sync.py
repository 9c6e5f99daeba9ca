"""GaibSync: the async client for code that is not async. A thin skin, not a second implementation.

Every coroutine method of :class:`~gaib_sdk.client.Gaib`, and of the objects it hands out (its namespaces
``gaib.aid``, ``gaib.deals``..., its chain, its venues), runs to completion on the client's own event loop:
``GaibSync.embedded().aid.mint(1000)``. An async iterator (``watch``) becomes a plain one; everything else
passes through.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from gaib_sdk.adapters import Venue
from gaib_sdk.chain import Chain
from gaib_sdk.client import Gaib
from gaib_sdk.namespaces import Namespace

__all__ = ["GaibSync", "SyncProxy"]

T = TypeVar("T")


class SyncProxy:
    """Wraps an object whose methods are coroutines: calling one runs it on ``loop`` and returns its result."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop):
        self._target = target
        self._loop = loop

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run any awaitable on this client's loop (for calls the proxy does not cover)."""
        return self._loop.run_until_complete(awaitable)

    def _wrap(self, value: Any) -> Any:
        if inspect.isasyncgen(value):  # gaib.watch(): a plain iterator, each item run for on the loop
            return self._iterate(value)
        if isinstance(value, Gaib):
            return GaibSync(value, self._loop)
        if isinstance(value, Namespace | Chain | Venue):
            return SyncProxy(value, self._loop)
        return value

    def _iterate(self, agen: AsyncGenerator[Any, Any]) -> Iterator[Any]:
        try:
            while True:
                try:
                    yield self._loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._loop.run_until_complete(agen.aclose())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped object itself, if it is callable (the old spelling ``gaib.bridge(...)``)."""
        result = self._target(*args, **kwargs)
        if inspect.isawaitable(result):
            result = self._loop.run_until_complete(result)
        return self._wrap(result)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if isinstance(attr, Namespace):  # gaib.aid: a namespace, whose methods run here too
            return SyncProxy(attr, self._loop)
        if inspect.iscoroutinefunction(attr):

            @functools.wraps(attr)
            def run(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(self._loop.run_until_complete(attr(*args, **kwargs)))

            return run
        if callable(attr) and not inspect.isclass(attr):

            @functools.wraps(attr)
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(attr(*args, **kwargs))

            return call
        return self._wrap(attr)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n for n in dir(self._target) if not n.startswith("_")})


class GaibSync(SyncProxy):
    """Synchronous gaib-sdk client: ``GaibSync.embedded()``, ``GaibSync.connect(url, ...)``."""

    _target: Gaib

    def __init__(self, client: Gaib, loop: asyncio.AbstractEventLoop):
        super().__init__(client, loop)

    @classmethod
    def embedded(cls, **kwargs: Any) -> GaibSync:
        loop = asyncio.new_event_loop()
        return cls(loop.run_until_complete(Gaib.embedded(**kwargs)), loop)

    @classmethod
    def connect(
        cls, url: str, *, private_key: str | None = None, deployments: Path | None = None, **kwargs: Any
    ) -> GaibSync:
        loop = asyncio.new_event_loop()
        client = loop.run_until_complete(Gaib.connect(url, private_key=private_key, deployments=deployments, **kwargs))
        return cls(client, loop)

    @property
    def aio(self) -> Gaib:
        """The async client underneath."""
        return self._target

    def close(self) -> None:
        self._loop.run_until_complete(self._target.close())
        self._loop.close()

    def __enter__(self) -> GaibSync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
