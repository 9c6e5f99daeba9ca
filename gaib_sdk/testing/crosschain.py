"""Two development chains joined by the bridge, for tests and examples: two anvil nodes with different chain
ids, the protocol on the first (home), the real LayerZero EndpointV2 on both, the bridge's contracts wired
between them, and a :class:`~gaib_sdk.testing.relayer.Relayer` playing the DVN and executor::

    kit = await CrossChain.start(admin_key, relayer_key, fund=[...], workdir=tmp_path)
    try:
        await kit.bridge.send(account, "aid", 10**20, src="home", dst="remote")
        await kit.relayer.deliver_all()
    finally:
        await kit.stop()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gaib_sdk.bridge import DEFAULT_RATE_LIMIT, DEFAULT_WINDOW, Bridge
from gaib_sdk.chain.connection import Chain
from gaib_sdk.chain.layerzero import BridgeEnd
from gaib_sdk.client import Gaib
from gaib_sdk.testing.anvil import Anvil
from gaib_sdk.testing.relayer import Relayer

__all__ = ["HOME_EID", "REMOTE_EID", "CrossChain"]

#: Endpoint ids of the two development chains (LayerZero's testnet ids are 40xxx; these name no real one).
HOME_EID = 40901
REMOTE_EID = 40902


@dataclass
class CrossChain:
    """Two anvil nodes and the bridge between them (see the module docstring)."""

    home_node: Anvil
    remote_node: Anvil
    home: Gaib
    remote: Chain
    bridge: Bridge
    relayer: Relayer
    admin: LocalAccount

    @classmethod
    async def start(
        cls,
        admin_key: str,
        relayer_key: str,
        *,
        fund: Sequence[str] = (),
        workdir: Path,
        keys: Sequence[str] = (),
        home_chain_id: int = 31337,
        remote_chain_id: int = 1337,
        limit: int = DEFAULT_RATE_LIMIT,
        window: int = DEFAULT_WINDOW,
        journal: bool = True,
    ) -> CrossChain:
        """Start both nodes (``fund``: addresses given ether there), deploy the protocol at home and the bridge
        on both. ``keys``: more accounts the connections sign for. Files (deployments, journal) go under
        ``workdir``."""
        admin, relayer = Account.from_key(admin_key), Account.from_key(relayer_key)
        addresses = [admin.address, relayer.address, *fund]
        home_node = Anvil("--chain-id", str(home_chain_id), fund=addresses).start()
        remote_node = Anvil("--chain-id", str(remote_chain_id), fund=addresses).start()
        try:
            home = await Gaib.connect(
                home_node.url,
                private_key=admin_key,
                deployments=workdir / "deployments.json",
                journal=workdir / "journal-home.sqlite" if journal else False,
            )
            await home.deploy()
            remote = await Chain.connect(remote_node.url, private_keys=[admin_key, *keys])
            contracts = home.deployment.contracts
            bridge = await Bridge.deploy_dev(
                ("home", home.chain, admin, HOME_EID),
                {"aid": contracts["aid"], "said": contracts["said"]},
                [("remote", remote, admin, REMOTE_EID)],
                verifier=relayer.address,
                limit=limit,
                window=window,
            )
            relayer_ends = [
                BridgeEnd.from_state(home.chain, bridge.home.state()),
                BridgeEnd.from_state(remote, bridge.end("remote").state()),
            ]
            kit = cls(
                home_node=home_node,
                remote_node=remote_node,
                home=home,
                remote=remote,
                bridge=bridge,
                relayer=Relayer(relayer_ends, {"home": relayer, "remote": relayer}),
                admin=admin,
            )
        except BaseException:
            home_node.stop()
            remote_node.stop()
            raise
        return kit

    async def stop(self) -> None:
        try:
            await self.home.close()
            await self.remote.close()
        finally:
            self.home_node.stop()
            self.remote_node.stop()
