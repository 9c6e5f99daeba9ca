"""A LayerZero relayer for development chains: it plays the DVN (verifies) and the executor (delivers).

In production, DVNs watch the source endpoint's ``PacketSent``, verify each packet on the destination, and an
executor calls ``EndpointV2.lzReceive``. Here the same steps run against the real EndpointV2 on both chains
(:func:`gaib_sdk.chain.layerzero.deploy_endpoint`), with SimpleMessageLib as the library that verifies: the
relayer's account is its only allowed caller. Tests steer it packet by packet (delay one, deliver another,
deliver one twice); :meth:`Relayer.deliver_all` is what a live relayer does in a loop.

The relayer keeps nothing of its own: which packets exist is read from the source chains' logs, which are
delivered from the destination endpoints. A relayer that crashed is resumed by making a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from gaib_sdk.chain.layerzero import (
    BridgeEnd,
    Packet,
    PacketStatus,
    address_to_bytes32,
    lz_artifact,
    packet_status,
    packet_statuses_by_end,
    packets_sent,
)
from gaib_sdk.errors import ChainError, GaibConfigError

__all__ = ["Delivery", "PacketStatus", "Relayer", "packet_status", "packets_sent"]


@dataclass(frozen=True)
class Delivery:
    """What became of one attempt: ``delivered`` or not, and why not (the decoded revert)."""

    packet: Packet
    delivered: bool
    error: str | None = None
    tx_hash: str | None = None


class Relayer:
    """Verify and deliver packets between ``ends``; ``accounts`` maps each end's name to the account that
    signs there (on the destination: the message library's allowed verifier, and the executor)."""

    def __init__(self, ends: Sequence[BridgeEnd], accounts: Mapping[str, LocalAccount]):
        self.ends = {end.eid: end for end in ends}
        self.accounts = dict(accounts)
        missing = [end.name for end in ends if end.name not in self.accounts]
        if missing:
            raise GaibConfigError(f"the relayer has no account on {', '.join(missing)}")

    def _dst(self, packet: Packet) -> BridgeEnd:
        end = self.ends.get(packet.dst_eid)
        if end is None:
            raise GaibConfigError(f"no bridge end with endpoint id {packet.dst_eid}")
        return end

    async def packets(self) -> list[Packet]:
        """Every packet sent by every end, ordered by path and nonce."""
        found = [p for end in self.ends.values() for p in await packets_sent(end)]
        return sorted(found, key=lambda p: (p.src_eid, p.dst_eid, p.receiver, p.nonce))

    async def status(self, packet: Packet) -> PacketStatus:
        return await packet_status(self._dst(packet), packet)

    async def statuses(self, packets: Sequence[Packet]) -> list[PacketStatus]:
        """The status of each of ``packets``: one batch of reads per destination."""
        for p in packets:
            self._dst(p)  # a packet bound elsewhere is named
        return await packet_statuses_by_end(self.ends, packets)

    async def pending(self) -> list[Packet]:
        """The packets not delivered yet."""
        packets = await self.packets()
        return [p for p, s in zip(packets, await self.statuses(packets), strict=True) if s != "delivered"]

    async def verify(self, packet: Packet) -> str:
        """Play the DVN: have the destination's message library verify ``packet`` (its payload hash is then
        stored at the endpoint). The endpoint refuses a packet already delivered."""
        dst = self._dst(packet)
        if dst.message_lib is None:
            raise GaibConfigError(f"{dst.name} has no development message library: its DVNs verify there")
        lib = dst.chain.contract(dst.message_lib, lz_artifact("SimpleMessageLib")["abi"])
        r = await dst.chain.transact(
            lib.functions.validatePacket(packet.encoded), self.accounts[dst.name], what="verify packet"
        )
        return r.tx_hash

    async def execute(self, packet: Packet, gas: int | None = None) -> str:
        """Play the executor: call the destination endpoint's lzReceive, which calls the OFT."""
        dst = self._dst(packet)
        origin = (packet.src_eid, address_to_bytes32(packet.sender), packet.nonce)
        call = dst.endpoint_contract().functions.lzReceive(origin, packet.receiver, packet.guid, packet.message, b"")
        r = await dst.chain.transact(call, self.accounts[dst.name], what="deliver packet")
        return r.tx_hash

    async def deliver(self, packet: Packet) -> Delivery:
        """Verify (unless done) and execute ``packet``. A revert (the recipient denied there, the bridge
        paused, an earlier nonce of its path not verified yet) leaves it verified for a later attempt."""
        try:
            if await self.status(packet) == "sent":
                await self.verify(packet)
            tx = await self.execute(packet)
        except ChainError as exc:
            return Delivery(packet, False, getattr(exc, "reason", None) or str(exc))
        return Delivery(packet, True, tx_hash=tx)

    async def deliver_all(self) -> list[Delivery]:
        """Deliver every pending packet, verifying each path's packets before executing any (the endpoint
        executes a nonce only once every earlier nonce of its path is verified)."""
        packets = await self.packets()
        statuses = await self.statuses(packets)
        pending = [p for p, s in zip(packets, statuses, strict=True) if s != "delivered"]
        for packet, status in zip(packets, statuses, strict=True):
            if status == "sent":
                try:
                    await self.verify(packet)
                except ChainError:
                    pass  # reported by deliver() below
        return [await self.deliver(p) for p in pending]
