"""GaibSync: the async client for code that is not async. A thin skin, not a second implementation:
every coroutine method of :class:`~gaib_sdk.client.Gaib` runs to completion on the client's own event
loop; everything else passes through."""

from __future__ import annotations

import asyncio
import functools
import inspect
from pathlib import Path
from typing import Any

from gaib_sdk.client import Gaib

__all__ = ["GaibSync"]


class GaibSync:
    """Synchronous gaib-sdk client. ``GaibSync.embedded()``, ``GaibSync.connect(url, ...)``."""

    def __init__(self, client: Gaib, loop: asyncio.AbstractEventLoop):
        self._client = client
        self._loop = loop

    @classmethod
    def embedded(cls, **kwargs: Any) -> GaibSync:
        loop = asyncio.new_event_loop()
        return cls(loop.run_until_complete(Gaib.embedded(**kwargs)), loop)

    @classmethod
    def connect(
        cls, url: str, *, private_key: str | None = None, deployments: Path | None = None, **kwargs: Any
    ) -> GaibSync:
        loop = asyncio.new_event_loop()
        return cls(
            loop.run_until_complete(Gaib.connect(url, private_key=private_key, deployments=deployments, **kwargs)), loop
        )

    @property
    def aio(self) -> Gaib:
        """The async client underneath."""
        return self._client

    def with_account(self, account: Any) -> GaibSync:
        return GaibSync(self._client.with_account(account), self._loop)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.close())
        self._loop.close()

    def __enter__(self) -> GaibSync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        def run(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(attr(*args, **kwargs))

        return run

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {n for n in dir(self._client) if not n.startswith("_")})
