"""LayerZero V2 under AID and sAID: the endpoint and message library of a development chain, the bridge's
contracts on each chain, and the packets they exchange.

    python -m gaib_sdk.chain.layerzero [--node-modules PATH] [--out PATH]

builds ``EndpointV2`` and ``SimpleMessageLib`` from the npm package ``@layerzerolabs/lz-evm-protocol-v2``
into ``$GAIB_HOME/artifacts/layerzero-v2-<version>/`` (``make setup`` runs it). Their licence is LZBL-1.2:
sources and artifacts are never committed. They are written against OpenZeppelin 4 (``Ownable()`` takes no
owner), so the build resolves ``@openzeppelin/contracts`` to the ``openzeppelin-contracts-4`` alias.

The bridge's own contracts (``GaibOFTAdapter`` on the home chain, ``GaibOFT`` elsewhere) are the SDK's,
built from the MIT packages ``@layerzerolabs/oft-evm`` and ``oapp-evm`` and shipped with the package.

On a real network the endpoint is LayerZero's (its address is in the networks file) and the DVNs and
executor are LayerZero's or the operator's choice; on a development chain :func:`deploy_endpoint` deploys
the real ``EndpointV2`` with ``SimpleMessageLib`` as send and receive library, and the SDK's test relayer
(:mod:`gaib_sdk.testing.relayer`) plays the DVN (it alone may verify) and the executor.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eth_abi.abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import AsyncContract

from gaib_sdk.chain.artifacts import build_command, load_artifact, load_built_artifact, save_built_artifacts
from gaib_sdk.chain.connection import Chain
from gaib_sdk.errors import GaibConfigError
from gaib_sdk.paths import gaib_home

__all__ = [
    "LZ_VERSION",
    "TOKENS",
    "BridgeEnd",
    "PACKET_SENT",
    "Packet",
    "PacketStatus",
    "address_to_bytes32",
    "build_layerzero",
    "decode_packet",
    "deploy_bridge_end",
    "deploy_endpoint",
    "executor_options",
    "lz_artifact",
    "open_path",
    "packet_status",
    "packet_statuses",
    "packet_statuses_by_end",
    "packets_sent",
    "wire",
]

LZ_VERSION = "3.0.168"
#: The tokens the bridge carries.
TOKENS = ("aid", "said")
#: What SimpleMessageLib charges per message on a development chain (wei): a real fee, to quote and pay.
DEV_MESSAGE_FEE = 10**14
#: Gas given to lzReceive on the destination by default (LayerZero's type-3 executor option).
DEFAULT_RECEIVE_GAS = 200_000
#: OFTCore's message type of a plain send (no compose).
SEND = 1


def layerzero_artifacts_dir() -> Path:
    return gaib_home() / "artifacts" / f"layerzero-v2-{LZ_VERSION}"


def build_layerzero(node_modules: Path | None = None, out: Path | None = None) -> Path:
    """Compile EndpointV2 and SimpleMessageLib (solc-js 0.8.28, paris, 200 runs) into ``out``."""
    from gaib_sdk.contracts.compiler import compile_sources, find_node_modules

    modules = (node_modules or find_node_modules()).resolve()
    package = modules / "@layerzerolabs" / "lz-evm-protocol-v2"
    meta = json.loads((package / "package.json").read_text())
    if meta["version"] != LZ_VERSION:
        raise SystemExit(f"expected @layerzerolabs/lz-evm-protocol-v2 {LZ_VERSION}, found {meta['version']}")
    oz4 = modules / "openzeppelin-contracts-4"
    if not oz4.exists():
        raise SystemExit("openzeppelin-contracts-4 (npm:@openzeppelin/contracts@4.9.6) is missing: run `npm ci`")
    prefix = "@layerzerolabs/lz-evm-protocol-v2/contracts/"
    units = {f"{prefix}EndpointV2.sol": "EndpointV2", f"{prefix}messagelib/SimpleMessageLib.sol": "SimpleMessageLib"}
    with tempfile.TemporaryDirectory() as tmp:
        # A source root searched before node_modules: OpenZeppelin 4 under its usual import name.
        root = Path(tmp)
        (root / "@openzeppelin").mkdir()
        os.symlink(oz4, root / "@openzeppelin" / "contracts")
        os.symlink(modules / "@layerzerolabs", root / "@layerzerolabs")
        artifacts = compile_sources(
            {unit: (modules / unit).read_text() for unit in units},
            evm_version="paris",
            optimizer_runs=200,
            node_modules=modules,
            source_roots=[root],
        )
    built_from = f"@layerzerolabs/lz-evm-protocol-v2@{LZ_VERSION}"
    return save_built_artifacts(artifacts, units.values(), out or layerzero_artifacts_dir(), built_from)


def lz_artifact(name: str) -> dict[str, Any]:
    """An artifact built at set-up (``EndpointV2`` or ``SimpleMessageLib``)."""
    path = layerzero_artifacts_dir() / f"{name}.json"
    return load_built_artifact(
        path,
        f"LayerZero {LZ_VERSION} is not built ({path} is missing): run `make setup`, or "
        "`python -m gaib_sdk.chain.layerzero` after `npm ci`",
    )


def address_to_bytes32(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def executor_options(gas: int = DEFAULT_RECEIVE_GAS) -> bytes:
    """LayerZero type-3 options: the executor calls lzReceive with ``gas``."""
    return bytes.fromhex("0003") + bytes([1]) + (17).to_bytes(2, "big") + bytes([1]) + gas.to_bytes(16, "big")


# ---- packets ----


@dataclass(frozen=True)
class Packet:
    """A LayerZero V2 packet (PacketV1Codec), as the source endpoint's PacketSent carries it."""

    nonce: int
    src_eid: int
    sender: str
    dst_eid: int
    receiver: str
    guid: bytes
    message: bytes
    encoded: bytes

    @property
    def recipient(self) -> str:
        """The OFT message's recipient (its first 32 bytes)."""
        return to_checksum_address(self.message[12:32])

    @property
    def amount_sd(self) -> int:
        """The OFT message's amount in shared decimals (8 bytes after the recipient)."""
        return int.from_bytes(self.message[32:40], "big")


def decode_packet(encoded: bytes) -> Packet:
    return Packet(
        nonce=int.from_bytes(encoded[1:9], "big"),
        src_eid=int.from_bytes(encoded[9:13], "big"),
        sender=to_checksum_address(encoded[25:45]),
        dst_eid=int.from_bytes(encoded[45:49], "big"),
        receiver=to_checksum_address(encoded[61:81]),
        guid=bytes(encoded[81:113]),
        message=bytes(encoded[113:]),
        encoded=bytes(encoded),
    )


# ---- deployment ----


@dataclass
class BridgeEnd:
    """One chain's end of the bridge: its endpoint id, endpoint, and for each token the bridge contract
    (the adapter on the home chain, the OFT elsewhere) and the token users hold there."""

    name: str
    chain: Chain
    eid: int
    endpoint: str
    home: bool
    bridges: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    message_lib: str | None = None

    def contract(self, token: str) -> AsyncContract:
        name = "GaibOFTAdapter" if self.home else "GaibOFT"
        return self.chain.contract(self.bridges[token], load_artifact(name)["abi"])

    def token(self, token: str) -> AsyncContract:
        return self.chain.contract(self.tokens[token], load_artifact("GaibOFT")["abi"])

    def endpoint_contract(self) -> AsyncContract:
        return self.chain.contract(self.endpoint, _endpoint_abi())

    def state(self) -> dict[str, Any]:
        """What a later process needs to find this end again (saved with the deployment)."""
        return {
            "name": self.name,
            "eid": self.eid,
            "endpoint": self.endpoint,
            "home": self.home,
            "bridges": dict(self.bridges),
            "tokens": dict(self.tokens),
            "message_lib": self.message_lib,
        }

    @classmethod
    def from_state(cls, chain: Chain, state: dict[str, Any]) -> BridgeEnd:
        return cls(chain=chain, **state)


@functools.cache
def _endpoint_abi() -> list[dict[str, Any]]:
    return list(lz_artifact("EndpointV2")["abi"])


async def deploy_endpoint(
    chain: Chain, owner: LocalAccount, eid: int, *, verifier: str | None = None, fee: int = DEV_MESSAGE_FEE
) -> tuple[str, str]:
    """Deploy the real EndpointV2 with endpoint id ``eid`` and a SimpleMessageLib registered in it, on a
    development chain. ``verifier``: the only account allowed to verify packets here (the relayer playing
    the DVN); anyone if None. Returns (endpoint, message library)."""
    if not chain.is_dev:
        raise GaibConfigError(
            f"chain {chain.chain_id} is not a development chain: use LayerZero's EndpointV2 there (networks file)",
            chain_id=chain.chain_id,
        )
    r = await chain.deploy(lz_artifact("EndpointV2"), [eid, owner.address], owner)
    assert r.contract_address is not None
    endpoint = r.contract_address
    r = await chain.deploy(lz_artifact("SimpleMessageLib"), [endpoint, owner.address], owner)
    assert r.contract_address is not None
    lib = r.contract_address
    ep = chain.contract(endpoint, lz_artifact("EndpointV2")["abi"])
    lib_c = chain.contract(lib, lz_artifact("SimpleMessageLib")["abi"])
    await chain.transact(ep.functions.registerLibrary(lib), owner, what="register SimpleMessageLib")
    await chain.transact(lib_c.functions.setMessagingFee(fee, 0), owner, what="set the message fee")
    if verifier is not None:
        await chain.transact(lib_c.functions.setWhitelistCaller(verifier), owner, what="set the verifier")
    return endpoint, lib


async def open_path(chain: Chain, owner: LocalAccount, endpoint: str, lib: str, remote_eid: int) -> None:
    """Make ``lib`` the endpoint's default send and receive library toward and from ``remote_eid``."""
    ep = chain.contract(endpoint, lz_artifact("EndpointV2")["abi"])
    await chain.transact(ep.functions.setDefaultSendLibrary(remote_eid, lib), owner, what="default send library")
    await chain.transact(
        ep.functions.setDefaultReceiveLibrary(remote_eid, lib, 0), owner, what="default receive library"
    )


async def deploy_bridge_end(
    chain: Chain,
    owner: LocalAccount,
    *,
    name: str,
    eid: int,
    endpoint: str,
    home_tokens: dict[str, str] | None = None,
    deny_list: str | None = None,
    message_lib: str | None = None,
    salt: bytes | None = None,
) -> BridgeEnd:
    """Deploy one end of the bridge. On the home chain (``home_tokens``: AID's and sAID's addresses, and
    ``deny_list``: AID) a GaibOFTAdapter per token; elsewhere a GaibOFT per token ("AI Dollar" / "Staked AI
    Dollar"). ``owner`` owns them (the protocol admin; on a real network, hand ownership to its timelock).
    With ``salt`` (32 bytes), through the CREATE2 proxy (gaib_sdk.chain.create2): an OFT then has the same
    address on every remote chain whose endpoint has the same address (LayerZero's mainnets do)."""
    end = BridgeEnd(name=name, chain=chain, eid=eid, endpoint=endpoint, home=home_tokens is not None)
    end.message_lib = message_lib

    async def deploy(artifact: dict[str, Any], args: list[Any], token: str) -> str:
        if salt is None:
            r = await chain.deploy(artifact, args, owner)
            assert r.contract_address is not None
            return r.contract_address
        from gaib_sdk.chain.create2 import deploy_create2, ensure_factory

        await ensure_factory(chain, owner)
        address, _ = await deploy_create2(chain, owner, artifact, args, keccak(salt + token.encode()))
        return address

    for token in TOKENS:
        if home_tokens is not None:
            if deny_list is None:
                raise GaibConfigError("the home chain's adapters need the deny list (AID's address)")
            args: list[Any] = [home_tokens[token], deny_list, endpoint, owner.address]
            end.bridges[token] = await deploy(load_artifact("GaibOFTAdapter"), args, token)
            end.tokens[token] = home_tokens[token]
        else:
            label = {"aid": ("AI Dollar", "AID"), "said": ("Staked AI Dollar", "sAID")}[token]
            oft = await deploy(load_artifact("GaibOFT"), [*label, endpoint, owner.address], token)
            end.bridges[token] = end.tokens[token] = oft
    return end


async def wire(
    a: BridgeEnd,
    owner_a: LocalAccount,
    b: BridgeEnd,
    owner_b: LocalAccount,
    *,
    limit: int,
    window: int,
    receive_gas: int = DEFAULT_RECEIVE_GAS,
) -> None:
    """Make ``a`` and ``b`` peers for every token, each sending at most ``limit`` (18 decimals) toward the
    other, and accepting at most ``limit`` from it, per ``window`` seconds, with ``receive_gas`` for lzReceive
    enforced on every send."""
    for src, dst, owner in ((a, b, owner_a), (b, a, owner_b)):
        for token in TOKENS:
            oapp = src.contract(token)
            peer = address_to_bytes32(dst.bridges[token])
            await src.chain.transact(oapp.functions.setPeer(dst.eid, peer), owner, what=f"peer {token} {dst.name}")
            await src.chain.transact(
                oapp.functions.setRateLimits([(dst.eid, limit, window)]), owner, what=f"rate limit {token}"
            )
            await src.chain.transact(
                oapp.functions.setInboundRateLimits([(dst.eid, limit, window)]), owner, what=f"inbound limit {token}"
            )
            await src.chain.transact(
                oapp.functions.setEnforcedOptions([(dst.eid, SEND, executor_options(receive_gas))]),
                owner,
                what=f"enforced options {token}",
            )


PACKET_SENT = "0x" + keccak(text="PacketSent(bytes,bytes,address)").hex()
#: The endpoint's mark of a payload hash that was nilified (a packet the OApp's delegate refused for now).
NIL = b"\xff" * 32

PacketStatus = Literal["sent", "verified", "delivered"]


async def packets_sent(end: BridgeEnd, from_block: int = 0) -> list[Packet]:
    """Every packet that ``end``'s endpoint sent, in order."""
    logs = await end.chain.w3.eth.get_logs(
        {
            "address": to_checksum_address(end.endpoint),
            "fromBlock": from_block,
            "toBlock": "latest",
            "topics": [PACKET_SENT],
        }
    )
    packets = []
    for log in logs:
        encoded, _options, _lib = abi_decode(["bytes", "bytes", "address"], bytes(log["data"]))
        packets.append(decode_packet(encoded))
    return packets


async def packet_status(dst: BridgeEnd, packet: Packet) -> PacketStatus:
    """Where ``packet`` stands on its destination: verified (its payload hash is stored), delivered (the
    hash was cleared by lzReceive, its nonce at or under the path's lazy nonce), else sent."""
    (status,) = await packet_statuses(dst, [packet])
    return status


async def packet_statuses(dst: BridgeEnd, packets: Sequence[Packet]) -> list[PacketStatus]:
    """:func:`packet_status` of each of ``packets`` (all bound for ``dst``), read in one batch of calls: a
    bridge's whole history of packets is asked about at once, not one round trip per packet."""
    fn = dst.endpoint_contract().functions
    paths = [(p.receiver, p.src_eid, address_to_bytes32(p.sender)) for p in packets]
    answers = await dst.chain.call_many(
        [fn.inboundPayloadHash(*path, p.nonce) for path, p in zip(paths, packets, strict=True)]
        + [fn.lazyInboundNonce(*path) for path in paths]
    )
    out: list[PacketStatus] = []
    for p, stored, lazy in zip(packets, answers[: len(packets)], answers[len(packets) :], strict=True):
        stored = bytes(stored)
        if stored not in (bytes(32), NIL):
            out.append("verified")
        else:
            out.append("delivered" if p.nonce <= lazy and stored == bytes(32) else "sent")
    return out


async def packet_statuses_by_end(ends: Mapping[int, BridgeEnd], packets: Sequence[Packet]) -> list[PacketStatus]:
    """:func:`packet_status` of each of ``packets``, each bound for one of ``ends`` (by endpoint id): one batch
    of reads per destination, the answers in the order of ``packets``."""
    bound: dict[int, list[Packet]] = {}
    for p in packets:
        bound.setdefault(p.dst_eid, []).append(p)
    found: dict[Packet, PacketStatus] = {}
    for eid, group in bound.items():
        found.update(zip(group, await packet_statuses(ends[eid], group), strict=True))
    return [found[p] for p in packets]


def main() -> int:
    return build_command(build_layerzero, f"LayerZero EndpointV2 {LZ_VERSION}", __doc__)


if __name__ == "__main__":
    sys.exit(main())
