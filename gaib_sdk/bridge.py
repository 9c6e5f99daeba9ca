"""AID and sAID across chains (LayerZero V2 OFT): quote, send, track, and check what the bridge holds.

A :class:`Bridge` is the set of its ends (:class:`~gaib_sdk.chain.layerzero.BridgeEnd`), one per network,
keyed by the network's name: the home chain, where a GaibOFTAdapter per token locks AID / sAID, and remote
chains, where a GaibOFT per token mints and burns them. What the adapters hold equals what the remote chains
have minted plus what is in flight; :meth:`Bridge.invariant` reads all three back from the chains.

Before anything is sent, :meth:`Bridge.check` refuses what the contracts would refuse (paused, a denied
sender or recipient, over the rate limit, no path), with a :class:`~gaib_sdk.errors.BridgeError` that says
what to do. A send keyed with ``key`` goes through the transaction journal: after a crash the same call
returns the transfer that was sent, and signs nothing again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address, to_checksum_address
from hexbytes import HexBytes

from gaib_sdk.chain.connection import Chain, TxResult
from gaib_sdk.chain.layerzero import (
    PACKET_SENT,
    TOKENS,
    BridgeEnd,
    Packet,
    PacketStatus,
    address_to_bytes32,
    decode_packet,
    deploy_bridge_end,
    deploy_endpoint,
    open_path,
    packet_status,
    packet_statuses_by_end,
    packets_sent,
    wire,
)
from gaib_sdk.errors import BridgeError

__all__ = [
    "Bridge",
    "BridgeQuote",
    "Transfer",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_WINDOW",
    "SHARED_DECIMALS_UNIT",
]

#: What may leave a chain toward another per window, by default: 1,000,000 tokens a day.
DEFAULT_RATE_LIMIT = 1_000_000 * 10**18
DEFAULT_WINDOW = 86_400
#: OFT carries 6 decimals across (its shared decimals): amounts are whole multiples of 10**12 wei.
SHARED_DECIMALS_UNIT = 10**12


@dataclass(frozen=True)
class BridgeQuote:
    """What a send would cost: ``fee`` in the source chain's native token (wei), for ``amount`` (wei)."""

    token: str
    amount: int
    src: str
    dst: str
    recipient: str
    fee: int


@dataclass(frozen=True)
class Transfer:
    """One cross-chain send: its packet's guid and nonce identify it on the destination."""

    token: str
    amount: int
    src: str
    dst: str
    sender: str
    recipient: str
    guid: str
    nonce: int
    tx_hash: str
    fee: int


class Bridge:
    """The bridge's ends, by network name (see the module docstring)."""

    def __init__(self, ends: Sequence[BridgeEnd]):
        self.ends = {end.name: end for end in ends}
        homes = [end for end in ends if end.home]
        if len(homes) != 1:
            raise BridgeError(f"a bridge has exactly one home chain (got {len(homes)})")
        self.home = homes[0]

    def end(self, name: str) -> BridgeEnd:
        if name not in self.ends:
            raise BridgeError(f"no bridge end on network {name!r}: known are {', '.join(sorted(self.ends))}")
        return self.ends[name]

    def state(self) -> dict[str, Any]:
        """The addresses a later process needs (saved with the home deployment)."""
        return {"ends": [end.state() for end in self.ends.values()]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], chains: Mapping[str, Chain]) -> Bridge:
        """The bridge described by ``state``, its ends on ``chains`` (network name -> connection)."""
        missing = [e["name"] for e in state["ends"] if e["name"] not in chains]
        if missing:
            raise BridgeError(f"no connection to {', '.join(missing)}: give an RPC URL for each network")
        return cls([BridgeEnd.from_state(chains[e["name"]], e) for e in state["ends"]])

    # ---- deployment (development chains) ----

    @classmethod
    async def deploy_dev(
        cls,
        home: tuple[str, Chain, LocalAccount, int],
        tokens: Mapping[str, str],
        remotes: Sequence[tuple[str, Chain, LocalAccount, int]],
        *,
        verifier: str | None = None,
        limit: int = DEFAULT_RATE_LIMIT,
        window: int = DEFAULT_WINDOW,
        salt: bytes | None = None,
    ) -> Bridge:
        """Deploy the real EndpointV2 and a SimpleMessageLib on every chain, an adapter per token at home
        (``tokens``: AID's and sAID's addresses) and an OFT per token on each remote, and wire every remote to
        home. ``home`` and each remote: (network name, chain, owner, endpoint id). ``verifier``: the only
        account that may verify packets (the relayer playing the DVN). ``salt``: deploy the bridge's contracts
        through the CREATE2 proxy (the same OFT address on every remote chain whose endpoint has the same
        address)."""
        name, chain, owner, eid = home
        every = [home, *remotes]
        endpoints = {}
        for n, c, o, e in every:
            endpoints[n] = await deploy_endpoint(c, o, e, verifier=verifier)
            for _, _, _, other in every:
                if other != e:
                    await open_path(c, o, *endpoints[n], other)
        home_end = await deploy_bridge_end(
            chain,
            owner,
            name=name,
            eid=eid,
            endpoint=endpoints[name][0],
            message_lib=endpoints[name][1],
            home_tokens=dict(tokens),
            deny_list=tokens["aid"],
            salt=salt,
        )
        ends = [home_end]
        for n, c, o, e in remotes:
            end = await deploy_bridge_end(
                c, o, name=n, eid=e, endpoint=endpoints[n][0], message_lib=endpoints[n][1], salt=salt
            )
            await wire(home_end, owner, end, o, limit=limit, window=window)
            ends.append(end)
        return cls(ends)

    # ---- checks and quotes ----

    def _token(self, token: str) -> str:
        token = token.lower()
        if token not in TOKENS:
            raise BridgeError(f"the bridge carries {' and '.join(TOKENS)}, not {token!r}")
        return token

    async def check(self, token: str, amount: int, *, src: str, dst: str, sender: str, recipient: str) -> None:
        """Refuse, before anything is sent, what the bridge's contracts would refuse."""
        token = self._token(token)
        s, d = self.end(src), self.end(dst)
        if s is d:
            raise BridgeError(f"{src} to {dst}: source and destination are the same network")
        if not is_address(recipient):
            raise BridgeError(f"recipient {recipient!r} is not an address")
        if amount <= 0:
            raise BridgeError(f"amount must be positive (got {amount})")
        if amount % SHARED_DECIMALS_UNIT:
            raise BridgeError(
                f"amount {amount} wei has more than 6 decimals: the bridge carries 6 (OFT shared decimals); "
                "round it to a millionth of a token"
            )
        oapp = s.contract(token)
        peer = bytes(await oapp.functions.peers(d.eid).call())
        if peer != address_to_bytes32(d.bridges[token]):
            raise BridgeError(f"{token} has no path from {src} to {dst}: the owner must set the peer (wire the ends)")
        if await oapp.functions.paused().call():
            raise BridgeError(f"{token} bridging is paused on {src}: wait for the owner to unpause it")
        for who, role in ((sender, "sender"), (recipient, "recipient")):
            if await oapp.functions.isDenied(who).call():
                raise BridgeError(f"the {role} {who} is on {src}'s deny list: it can neither send nor receive across")
        if await d.contract(token).functions.isDenied(recipient).call():
            raise BridgeError(f"the recipient {recipient} is on {dst}'s deny list: the delivery would be refused")
        _, can_send = await oapp.functions.getAmountCanBeSent(d.eid).call()
        if amount > can_send:
            raise BridgeError(
                f"{amount / 10**18} {token} exceeds the rate limit from {src} to {dst}: {can_send / 10**18} can "
                "leave now; wait for the window to free more, or send less"
            )
        _, can_receive = await d.contract(token).functions.getAmountCanBeReceived(s.eid).call()
        if amount > can_receive:
            raise BridgeError(
                f"{amount / 10**18} {token} exceeds what {dst} accepts from {src} now ({can_receive / 10**18}): the "
                "delivery would wait for its window; send less, or later"
            )
        balance = await s.token(token).functions.balanceOf(sender).call()
        if balance < amount:
            raise BridgeError(f"{sender} holds {balance / 10**18} {token} on {src}, less than {amount / 10**18}")

    def _send_param(self, token: str, amount: int, dst: BridgeEnd, recipient: str) -> tuple[Any, ...]:
        return (dst.eid, address_to_bytes32(recipient), amount, amount, b"", b"", b"")

    async def quote(
        self, token: str, amount: int, *, src: str, dst: str, sender: str, recipient: str | None = None
    ) -> BridgeQuote:
        """Check the send and quote its messaging fee (in the source chain's native token)."""
        token = self._token(token)
        to = to_checksum_address(recipient or sender)
        await self.check(token, amount, src=src, dst=dst, sender=sender, recipient=to)
        s, d = self.end(src), self.end(dst)
        native, _ = await s.contract(token).functions.quoteSend(self._send_param(token, amount, d, to), False).call()
        return BridgeQuote(token=token, amount=amount, src=src, dst=dst, recipient=to, fee=int(native))

    # ---- sending and tracking ----

    async def send(
        self,
        account: LocalAccount,
        token: str,
        amount: int,
        *,
        src: str,
        dst: str,
        recipient: str | None = None,
        key: str | None = None,
    ) -> Transfer:
        """Send ``amount`` (wei) of ``token`` from ``src`` to ``recipient`` (the sender by default) on ``dst``:
        a fee quote, an approval of the adapter at home, then OFT.send paying the fee. With ``key`` (and a
        journal on the source chain), a send already made under that key is returned, not repeated."""
        token = self._token(token)
        s, d = self.end(src), self.end(dst)
        resuming = key is not None and s.chain.journaled(f"{key}:send")
        to = to_checksum_address(recipient or account.address)
        if resuming:
            # sent before a crash: the journal returns that transaction; the checks it passed are not rerun
            # (its own success may now fail them), and nothing is signed again
            param = self._send_param(token, amount, d, to)
            fee, _ = await s.contract(token).functions.quoteSend(param, False).call()
            call = s.contract(token).functions.send(param, (fee, 0), account.address)
            result = await s.chain.transact(call, account, what=f"bridge {token}", value=fee, key=f"{key}:send")
            return self._transfer(token, amount, src, dst, account.address, to, int(fee), result)
        quote = await self.quote(token, amount, src=src, dst=dst, sender=account.address, recipient=to)
        oapp = s.contract(token)
        if s.home:
            erc20 = s.token(token)
            if await erc20.functions.allowance(account.address, s.bridges[token]).call() < amount:
                await s.chain.transact(
                    erc20.functions.approve(s.bridges[token], amount),
                    account,
                    what=f"approve the {token} adapter",
                    key=None if key is None else f"{key}:approve",
                )
        call = oapp.functions.send(self._send_param(token, amount, d, to), (quote.fee, 0), account.address)
        result = await s.chain.transact(
            call, account, what=f"bridge {token} to {dst}", value=quote.fee, key=None if key is None else f"{key}:send"
        )
        return self._transfer(token, amount, src, dst, account.address, to, quote.fee, result)

    def _transfer(
        self, token: str, amount: int, src: str, dst: str, sender: str, to: str, fee: int, result: TxResult
    ) -> Transfer:
        packet = _packet_of(result)
        return Transfer(
            token=token,
            amount=amount,
            src=src,
            dst=dst,
            sender=sender,
            recipient=to,
            guid=HexBytes(packet.guid).to_0x_hex(),
            nonce=packet.nonce,
            tx_hash=result.tx_hash,
            fee=fee,
        )

    async def packet(self, transfer: Transfer) -> Packet:
        """The packet of ``transfer``, read back from the source endpoint's logs."""
        for packet in await packets_sent(self.end(transfer.src)):
            if HexBytes(packet.guid).to_0x_hex() == transfer.guid:
                return packet
        raise BridgeError(f"no packet {transfer.guid} on {transfer.src}: was the send mined on this chain?")

    async def status(self, transfer: Transfer) -> PacketStatus:
        """sent (waiting for the DVNs), verified (waiting for the executor), or delivered."""
        return await packet_status(self.end(transfer.dst), await self.packet(transfer))

    # ---- balances and the invariant ----

    async def balances(self, address: str) -> dict[str, dict[str, int]]:
        """``address``'s AID and sAID on every network (wei)."""
        return {
            name: {t: int(await end.token(t).functions.balanceOf(address).call()) for t in TOKENS}
            for name, end in self.ends.items()
        }

    async def locked(self, token: str) -> int:
        """What the home adapter holds of ``token``."""
        return int(await self.home.token(token).functions.balanceOf(self.home.bridges[token]).call())

    async def remote_supply(self, token: str) -> int:
        return sum([int(await e.token(token).functions.totalSupply().call()) for e in self.ends.values() if not e.home])

    async def in_flight(self) -> dict[str, int]:
        """Per token, what was debited on one chain and not yet credited on another (packets not delivered)."""
        flying = dict.fromkeys(TOKENS, 0)
        by_address = {end.bridges[t]: t for end in self.ends.values() for t in TOKENS}
        by_eid = {e.eid: e for e in self.ends.values()}
        ours = [
            packet
            for end in self.ends.values()
            for packet in await packets_sent(end)
            if packet.dst_eid in by_eid and packet.sender in by_address
        ]
        for packet, status in zip(ours, await packet_statuses_by_end(by_eid, ours), strict=True):
            if status != "delivered":
                flying[by_address[packet.sender]] += packet.amount_sd * SHARED_DECIMALS_UNIT
        return flying

    async def invariant(self) -> dict[str, Any]:
        """Per token: locked at home, minted on the remotes, in flight; ``holds`` when locked equals the
        remote supplies plus what is in flight, for every token."""
        flying = await self.in_flight()
        out: dict[str, Any] = {}
        holds = True
        for t in TOKENS:
            locked, supply = await self.locked(t), await self.remote_supply(t)
            out[t] = {"locked": locked, "remote_supply": supply, "in_flight": flying[t]}
            holds = holds and locked == supply + flying[t]
        out["holds"] = holds
        return out

    # ---- administration ----

    async def sync_deny_list(self, accounts: Sequence[str], owners: Mapping[str, LocalAccount]) -> list[str]:
        """Copy the home deny list's answer for each of ``accounts`` to every remote OFT (its owner signs:
        ``owners`` by network name). Returns the hashes of the transactions sent (none if already in sync)."""
        hashes = []
        for account in accounts:
            denied = bool(await self.home.contract("aid").functions.isDenied(account).call())
            for end in self.ends.values():
                if end.home:
                    continue
                for t in TOKENS:
                    oft = end.contract(t)
                    if bool(await oft.functions.isDenied(account).call()) != denied:
                        r = await end.chain.transact(
                            oft.functions.setDenied(account, denied), owners[end.name], what=f"deny list {t}"
                        )
                        hashes.append(r.tx_hash)
        return hashes

    async def set_paused(self, network: str, paused: bool, owner: LocalAccount) -> None:
        """Pause (or unpause) both tokens' bridging on ``network``."""
        end = self.end(network)
        for t in TOKENS:
            oapp = end.contract(t)
            if bool(await oapp.functions.paused().call()) != paused:
                call = oapp.functions.pause() if paused else oapp.functions.unpause()
                await end.chain.transact(call, owner, what=f"{'pause' if paused else 'unpause'} {t} bridging")


def _packet_of(result: TxResult) -> Packet:
    from eth_abi.abi import decode as abi_decode

    for log in result.logs:
        topics = [HexBytes(t).to_0x_hex() for t in log["topics"]]
        if topics and topics[0] == PACKET_SENT:
            encoded, _, _ = abi_decode(["bytes", "bytes", "address"], bytes(log["data"]))
            return decode_packet(encoded)
    raise BridgeError(f"transaction {result.tx_hash} sent no LayerZero packet")


def _wei(amount: Decimal | int | str) -> int:
    """A token amount (18 decimals) in wei; a fraction beyond 6 places is refused (the bridge carries 6)."""
    try:
        value = Decimal(str(amount))
    except ArithmeticError:
        raise BridgeError(f"{amount!r} is not an amount") from None
    if not value.is_finite() or value <= 0:
        raise BridgeError(f"amount must be positive (got {amount})")
    if value != value.quantize(Decimal("0.000001"), rounding=ROUND_DOWN):
        raise BridgeError(f"{amount} has more than 6 decimals: the bridge carries 6 (OFT shared decimals)")
    return int(value * 10**18)
