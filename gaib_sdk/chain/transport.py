"""JSON-RPC over HTTP for the chain layer: one httpx client, bounded retries of transient failures, and a
transport seam.

:class:`RpcProvider` is the web3 provider behind :meth:`Chain.connect <gaib_sdk.chain.Chain.connect>`.
What it retries, with exponential backoff up to :class:`RetryPolicy`'s bound:

- the connection was refused (the request never reached the node): any method;
- a timeout, a reset connection, HTTP 429 or 5xx, or a JSON-RPC error -32005 (limit exceeded) or -32603
  (internal error, without revert data): methods that are safe to repeat, which is every method but the
  few dev-node calls that change the chain each time (``evm_mine``, ``evm_increaseTime``...). Sending the
  same signed transaction twice is safe: the node answers "already imported" or "nonce too low", which
  the :class:`~gaib_sdk.chain.Chain` recognises.

Nothing else is retried: a revert, a refused transaction or a bad request is the caller's answer.
When the retries are spent, :class:`~gaib_sdk.errors.ChainError` says what failed and how often.

The seam: ``transport=`` takes any ``httpx.AsyncBaseTransport``, placed between the SDK and the node: a
proxy, a recorder, or in tests a transport that injects failures on purpose (``tests/faults.py`` wraps the
real HTTP transport and refuses, times out, fails or drops chosen requests).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import httpx
from web3.providers.async_base import AsyncJSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from gaib_sdk.errors import ChainError

__all__ = ["CallCounter", "RetryPolicy", "RpcProvider", "is_transient_rpc_error"]

log = logging.getLogger("gaib_sdk.chain")

#: Methods that change a dev chain every time they run: repeated only if the first try never left.
NOT_REPEATABLE = frozenset({"evm_mine", "anvil_mine", "evm_increaseTime", "evm_snapshot", "evm_revert"})
#: JSON-RPC error codes that mean "try again": limit exceeded (rate limits), and internal error.
TRANSIENT_RPC_CODES = frozenset({-32005, -32603})
#: Words of an error that asks for a smaller query, not a later one.
TOO_LARGE_WORDS = ("block range", "more than", "too many results", "too large", "response size", "max results")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; between them ``backoff``, doubling each time, at most ``max_backoff``
    seconds. The default rides out about 5 s of a node being away (a restart)."""

    attempts: int = 7
    backoff: float = 0.05
    max_backoff: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (counting from 0)."""
        return float(min(self.max_backoff, self.backoff * 2**attempt))


def is_transient_rpc_error(error: object) -> bool:
    """A JSON-RPC error object that asks to be retried: a rate limit, or an internal error that is not a
    revert (a revert carries data, or says so)."""
    if not isinstance(error, dict):
        return False
    code = error.get("code")
    if code not in TRANSIENT_RPC_CODES:
        return False
    message = str(error.get("message", "")).lower()
    if code == -32603:
        if error.get("data") or "revert" in message:
            return False
    # -32005 also answers an eth_getLogs that is too wide or too large: the same query would fail again
    # (the indexer halves its range instead)
    return not any(word in message for word in TOO_LARGE_WORDS)


class _Transient(Exception):
    """A failure worth retrying, with the request's delivery known (``delivered``) or not."""

    def __init__(self, message: str, *, delivered: bool | None):
        super().__init__(message)
        self.delivered = delivered


class RpcProvider(AsyncJSONBaseProvider):
    """A web3 provider speaking JSON-RPC over httpx, retrying transient failures. See the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.endpoint_uri = url
        self.retry = retry or RetryPolicy()
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        #: Requests retried so far (every retry, whatever its cause), for tests and diagnostics.
        self.retries = 0
        #: HTTP connections to the node seen so far: a new one may lead to another node (a restart, a swap
        #: behind the URL), so the chain's identity is checked again on it. A transport that does not say
        #: which connection carried a response counts each response as a new one.
        self.connections = 0
        self._stream: object = None

    def __str__(self) -> str:
        return f"JSON-RPC over HTTP at {self.endpoint_uri}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                headers={"Content-Type": "application/json"},
            )
        return self._client

    async def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        body = self.encode_rpc_request(method, params)
        response = await self._post(body, [str(method)])
        return cast(RPCResponse, response)

    async def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        try:  # plain JSON (hex strings, numbers, dicts of them): json.dumps, not web3.py's encoder per request
            body = json.dumps(
                [
                    {"jsonrpc": "2.0", "method": m, "params": p or [], "id": next(self.request_counter)}
                    for m, p in requests
                ],
                separators=(",", ":"),
            ).encode()
        except TypeError:  # bytes, HexBytes, AttributeDict: web3.py knows how to write them
            body = self.encode_batch_rpc_request(requests)
        response = await self._post(body, [str(m) for m, _ in requests])
        if not isinstance(response, list):
            return cast(RPCResponse, response)  # the node refused the batch as a whole
        return cast(list[RPCResponse], sorted(response, key=lambda r: int(r.get("id", 0))))

    async def batch(self, requests: Sequence[tuple[str, Any]]) -> list[RPCResponse]:
        """Send ``requests`` as one JSON-RPC batch; the responses in the same order (errors included)."""
        if not requests:
            return []
        response = await self.make_batch_request([(RPCEndpoint(m), p) for m, p in requests])
        if not isinstance(response, list):
            raise ChainError(f"the node at {self.endpoint_uri} refused a batch of {len(requests)}: {response}")
        return response

    async def _post(self, body: bytes, methods: list[str]) -> Any:
        repeatable = not NOT_REPEATABLE.intersection(methods)
        label = methods[0] if len(methods) == 1 else f"a batch of {len(methods)} ({methods[0]}, ...)"
        tries = 0
        while True:
            tries += 1
            try:
                return await self._post_once(body)
            except _Transient as exc:
                if tries >= self.retry.attempts or (exc.delivered is not False and not repeatable):
                    raise ChainError(
                        f"the node at {self.endpoint_uri} did not answer {label}: {exc} "
                        f"({tries} {'try' if tries == 1 else 'tries'}); is it running?"
                    ) from exc
                delay = self.retry.delay(tries - 1)
                log.warning("%s: %s; retrying in %.2f s", label, exc, delay)
                self.retries += 1
                await asyncio.sleep(delay)

    async def _post_once(self, body: bytes) -> Any:
        try:
            response = await self._http().post(self.endpoint_uri, content=body)
        except httpx.ConnectError as exc:
            raise _Transient(f"connection refused ({exc or type(exc).__name__})", delivered=False) from exc
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})", delivered=None) from exc
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__}: {exc})", delivered=None) from exc
        stream = response.extensions.get("network_stream")
        if stream is None or stream is not self._stream:
            self._stream = stream
            self.connections += 1
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}", delivered=True)
        if response.status_code >= 400:
            raise ChainError(f"the node at {self.endpoint_uri} answered HTTP {response.status_code}")
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise _Transient("the answer is not JSON", delivered=True) from exc
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and is_transient_rpc_error(item.get("error")):
                raise _Transient(f"JSON-RPC error {item['error']}", delivered=True)
        return data

    async def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            response = await self.make_request(RPCEndpoint("web3_clientVersion"), [])
        except ChainError:
            if show_traceback:
                raise
            return False
        return "error" not in response

    async def disconnect(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class CallCounter(httpx.AsyncBaseTransport):
    """A transport that counts what goes through it: JSON-RPC calls by method (each call of a batch
    counts) and HTTP requests (a batch is one), then hands each request to ``inner`` (by default httpx's
    own HTTP transport). ``gaib bench overhead`` counts the SDK's calls with it; pass it as ``transport=``
    to :meth:`Gaib.connect <gaib_sdk.Gaib.connect>` to see what a flow of yours costs."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        #: JSON-RPC calls so far, by method.
        self.calls: Counter[str] = Counter()
        #: HTTP requests so far (a JSON-RPC batch is one request holding many calls).
        self.requests = 0

    @property
    def total(self) -> int:
        """JSON-RPC calls so far, all methods."""
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        try:
            body = json.loads(request.content)
        except ValueError:
            body = None
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict) and isinstance(item.get("method"), str):
                self.calls[item["method"]] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
