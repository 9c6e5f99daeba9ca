"""``gaib.bridge``: AID and sAID across chains (LayerZero V2 OFT) from this client's account. Attach a bridge
(:class:`~gaib_sdk.bridge.Bridge`, its ends by network), then quote, send, track, and read balances on every
network. The source of a send is the end on this client's chain. See docs/multi-chain.md."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gaib_sdk.bridge import Bridge, BridgeQuote, Transfer, _wei
from gaib_sdk.chain.connection import Chain
from gaib_sdk.chain.layerzero import PacketStatus
from gaib_sdk.errors import BridgeError
from gaib_sdk.namespaces._base import Namespace

__all__ = ["Bridging"]


class Bridging(Namespace):
    """The bridge: ``gaib.bridge.quote("aid", 100, to="base")``, ``gaib.bridge.send("aid", 100, to="base")``.
    Attach one first with :meth:`use` (a :class:`~gaib_sdk.bridge.Bridge` made by ``Bridge.deploy_dev`` or
    ``Bridge.from_state``) or :meth:`open` (from the state saved with the home deployment)."""

    @property
    def attached(self) -> Bridge:
        """The attached bridge (BridgeError if none)."""
        bridge = self._client._session.bridge
        if bridge is None:
            raise BridgeError(
                "no bridge is attached to this client: gaib.bridge.use(bridge), or "
                "gaib.bridge.open(rpc={network: url}) on a deployment whose bridge was saved"
            )
        assert isinstance(bridge, Bridge)
        return bridge

    def use(self, bridge: Bridge, *, save: bool = False) -> None:
        """Attach ``bridge``; with ``save``, write its addresses into the deployment (venue ``bridge``) so that a
        later process finds it with :meth:`open`."""
        self._client._session.bridge = bridge
        if save:
            self._client.venue_state["bridge"] = bridge.state()
            self._client.save_venue_state("bridge")

    async def open(self, rpc: Mapping[str, str], *, private_keys: Sequence[str] = ()) -> Bridge:
        """Attach the bridge saved with this chain's deployment, connecting to each other network by ``rpc``
        (network name -> URL; a name missing there is looked up in the networks file)."""
        state = self._client.venue_state.get("bridge")
        if not state:
            raise BridgeError(
                "this deployment has no bridge saved: deploy one, then gaib.bridge.use(bridge, save=True)"
            )
        from gaib_sdk.networks import rpc_url

        mine = self._end_name(state)
        chains: dict[str, Chain] = {mine: self._chain}
        for end in state["ends"]:
            if end["name"] != mine:
                url = rpc.get(end["name"]) or rpc_url(end["name"])
                chains[end["name"]] = await Chain.connect(url, private_keys=list(private_keys))
        bridge = Bridge.from_state(state, chains)
        self._client._session.bridge = bridge
        return bridge

    def _end_name(self, state: Mapping[str, Any] | None = None) -> str:
        """The network name of the bridge end on this client's chain."""
        ends = (state or self.attached.state())["ends"]
        if state is None:
            for name, end in self.attached.ends.items():
                if end.chain is self._chain:
                    return name
        home = [e["name"] for e in ends if e["home"]]
        if state is not None and home:
            return str(home[0])  # a deployment's saved bridge: this client is on its home chain
        raise BridgeError(f"this client's chain {self._chain.chain_id} is not an end of the bridge")

    async def quote(
        self, token: str, amount: Decimal | int | str, *, to: str, recipient: str | None = None
    ) -> BridgeQuote:
        """What sending ``amount`` of ``token`` (``"aid"`` or ``"said"``) to network ``to`` costs: the
        messaging fee in this chain's native token (wei). Refuses (BridgeError) what the bridge would refuse."""
        return await self.attached.quote(
            token, _wei(amount), src=self._end_name(), dst=to, sender=self._account.address, recipient=recipient
        )

    async def send(
        self,
        token: str,
        amount: Decimal | int | str,
        *,
        to: str,
        recipient: str | None = None,
        key: str | None = None,
    ) -> Transfer:
        """Send ``amount`` of ``token`` to network ``to`` (to ``recipient``, by default this account): a fee
        quote first, then the send. ``key`` names the intent in the transaction journal: after a crash, the
        same call returns the transfer already sent and signs nothing again. Track it with
        :meth:`status` or :meth:`wait_for_delivery`."""
        return await self.attached.send(
            self._account, token, _wei(amount), src=self._end_name(), dst=to, recipient=recipient, key=key
        )

    async def status(self, transfer: Transfer) -> PacketStatus:
        """sent, verified or delivered (read from the destination's endpoint)."""
        return await self.attached.status(transfer)

    async def wait_for_delivery(self, transfer: Transfer, *, timeout: float = 900, poll: float = 5) -> PacketStatus:
        """Poll until ``transfer`` is delivered; BridgeError after ``timeout`` seconds, saying where it stands."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status = await self.status(transfer)
            if status == "delivered":
                return status
            if loop.time() >= deadline:
                raise BridgeError(
                    f"transfer {transfer.guid} is still {status} after {timeout} s: the DVNs verify and the executor "
                    "delivers it; check the path's DVN configuration, or wait longer"
                )
            await asyncio.sleep(poll)

    async def balances(self, address: str | None = None) -> dict[str, dict[str, Decimal]]:
        """AID and sAID of ``address`` (this account by default) on every network of the bridge."""
        raw = await self.attached.balances(address or self._account.address)
        return {n: {t: Decimal(v).scaleb(-18) for t, v in tokens.items()} for n, tokens in raw.items()}

    if not TYPE_CHECKING:

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            """``gaib.bridge(...)``, the old spelling of :meth:`send`, for one more release."""
            warnings.warn(
                "Gaib.bridge(...) is now gaib.bridge.send(...); the old call will be removed in 0.3",
                DeprecationWarning,
                stacklevel=2,
            )
            return self.send(*args, **kwargs)
