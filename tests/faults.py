"""Fault injection for the fault tests: an httpx transport that wraps the real one to a real node (anvil)
and misbehaves on purpose, and an audit that counts what went wrong on the chain afterwards.

The SDK's seam is ``transport=`` on ``Gaib.connect`` / ``Chain.connect`` (gaib_sdk/chain/transport.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_utils.crypto import keccak

from gaib_sdk import Gaib, Inventory
from gaib_sdk.chain.journal import Journal, Status

#: What a rule does to a matching request.
#:   refuse         connection refused: the request never reaches the node
#:   timeout        a timeout before the request reaches the node
#:   timeout_after  the node gets the request and answers, the answer is lost to a timeout
#:   reset          the node gets the request, the connection is reset before the answer
#:   http_503       the gateway answers 503 without asking the node
#:   rate_limit     JSON-RPC error -32005 without asking the node
#:   null           the node answers; its result is replaced by null (a dropped receipt)
#:   call           run ``before(method)`` before the request reaches the node, ``after(method)`` once it answered
ACTIONS = {"refuse", "timeout", "timeout_after", "reset", "http_503", "rate_limit", "null", "call"}


@dataclass
class Rule:
    method: str
    action: str
    skip: int = 0  # matching requests to let through first
    times: int = 1  # then act on this many
    before: Callable[[str], None] | None = None
    after: Callable[[str], None] | None = None
    seen: int = 0
    fired: int = 0


@dataclass
class Faults(httpx.AsyncBaseTransport):
    """The real HTTP transport, with rules. ``requests`` counts JSON-RPC requests per method as sent by
    the SDK (each element of a batch once); ``injected`` counts the faults that fired."""

    rules: list[Rule] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    #: False: the node does not know eth_sendRawTransactionSync (EIP-7966), as most public nodes today, so
    #: every send is followed by receipt polls (the path the rules above were written for).
    sync_sends: bool = False

    def __post_init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    def on(self, method: str, action: str, **kwargs: Any) -> Rule:
        assert action in ACTIONS, action
        rule = Rule(method, action, **kwargs)
        self.rules.append(rule)
        return rule

    def _firing(self, methods: list[str]) -> Rule | None:
        """The first rule that acts on this request; every matching rule counts it as seen."""
        firing = None
        for rule in self.rules:
            if rule.method in methods:
                rule.seen += 1
                if firing is None and rule.seen > rule.skip and rule.fired < rule.times:
                    rule.fired += 1
                    self.injected[f"{rule.method}:{rule.action}"] += 1
                    firing = rule
        return firing

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        items = body if isinstance(body, list) else [body]
        methods = [str(item["method"]) for item in items]
        self.requests.update(methods)
        if not self.sync_sends and "eth_sendRawTransactionSync" in methods:
            unknown = {"jsonrpc": "2.0", "id": items[0]["id"], "error": {"code": -32601, "message": "Method not found"}}
            return httpx.Response(200, json=unknown, request=request)
        rule = self._firing(methods)
        action = rule.action if rule else None
        if rule is not None and rule.before is not None:
            rule.before(rule.method)
        if action == "refuse":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if action == "timeout":
            raise httpx.ConnectTimeout("injected: timed out", request=request)
        if action == "http_503":
            return httpx.Response(503, text="injected: service unavailable", request=request)
        if action == "rate_limit":
            errors = [
                {"jsonrpc": "2.0", "id": i["id"], "error": {"code": -32005, "message": "limit exceeded"}} for i in items
            ]
            return httpx.Response(200, json=errors if isinstance(body, list) else errors[0], request=request)
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        if rule is not None and rule.after is not None:
            rule.after(rule.method)
        if action == "timeout_after":
            raise httpx.ReadTimeout("injected: the answer was lost", request=request)
        if action == "reset":
            raise httpx.ReadError("injected: connection reset by peer", request=request)
        if action == "null":
            assert rule is not None
            data = json.loads(content)
            answers = data if isinstance(data, list) else [data]
            by_id = {i["id"]: i["method"] for i in items}
            for answer in answers:
                if by_id.get(answer.get("id")) == rule.method:
                    answer["result"] = None
            content = json.dumps(data).encode()
        return httpx.Response(response.status_code, content=content, headers={"Content-Type": "application/json"})

    async def aclose(self) -> None:
        await self._inner.aclose()


SAMPLE = Path(__file__).resolve().parent.parent / "plugins" / "gaib-gpu" / "gaib_gpu" / "data" / "sample_cluster.json"


def small_inventory(n: int) -> Inventory:
    """The first ``n`` GPUs of the GPU plugin's sample cluster, with their telemetry and its contracts."""
    from gaib_gpu.adapter import GpuAdapter

    data = json.loads(SAMPLE.read_text())
    data["gpus"] = data["gpus"][:n]
    serials = {g["serial"] for g in data["gpus"]}
    data["telemetry"] = [t for t in data["telemetry"] if t["serial"] in serials]
    return GpuAdapter().parse(data)


REGISTER_BATCH = keccak(text="registerBatch(bytes32,address,bytes32[],bytes32[],bytes32[])")[:4]


@dataclass(frozen=True)
class Audit:
    """What a run left on the chain. All three counts must be 0 after any fault."""

    lost: int  # assets of the inventory that are not registered, plus journal intents never mined
    duplicated: int  # mined transactions whose calldata another mined transaction already had
    registered_twice: int  # AssetRegistered events beyond the first for one asset id
    mined: int  # registerBatch transactions mined from the sender
    journal: dict[str, int]  # journal rows by status


async def audit(client: Gaib, asset_ids: list[str], journal: Journal | None = None) -> Audit:
    """Scan every block of the (small) chain for the client's account's registerBatch transactions and
    the registry's events, and compare with the inventory and the journal."""
    w3, sender = client.chain.w3, client.address
    head = await w3.eth.block_number
    seen_calldata: Counter[bytes] = Counter()
    mined = 0
    for number in range(head + 1):
        block = await w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if tx["from"] == sender and bytes(tx["input"])[:4] == REGISTER_BATCH:  # type: ignore[index]
                mined += 1
                seen_calldata[bytes(tx["input"])] += 1  # type: ignore[index]
    registry = client.protocol.registry
    topic = "0x" + keccak(text="AssetRegistered(bytes32,bytes32,address,bytes32)").hex()
    logs = await w3.eth.get_logs({"fromBlock": 0, "toBlock": head, "address": registry.address, "topics": [topic]})
    per_asset = Counter("0x" + bytes(log["topics"][1]).hex() for log in logs)
    missing = [a for a in asset_ids if per_asset[a] == 0]
    statuses: Counter[str] = Counter()
    never_mined = 0
    if journal is not None:
        latest: dict[str, Status] = {}
        for entry in journal.entries(client.chain.scope):
            statuses[str(entry.status)] += 1
            latest[entry.key] = entry.status
        never_mined = sum(1 for status in latest.values() if status != Status.MINED)
    return Audit(
        lost=len(missing) + never_mined,
        duplicated=sum(n - 1 for n in seen_calldata.values() if n > 1),
        registered_twice=sum(n - 1 for n in per_asset.values() if n > 1),
        mined=mined,
        journal=dict(statuses),
    )
