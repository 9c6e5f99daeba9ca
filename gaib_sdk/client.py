"""The async client: one chain connection, one plugin manager, one signing account.

``Gaib.embedded()`` starts a fresh in-process EVM and deploys the protocol into it; ``Gaib.connect(url)``
talks to any JSON-RPC node. ``with_account`` gives a view of the same client that signs as another
account (the investor, the borrower) while sharing the connection, the plugins and the deployment.

The three stages are methods of the client (``digitize``, ``financialize``, ``add_liquidity``); the rest
lives in namespaces that mirror the protocol, one module each in :mod:`gaib_sdk.namespaces`:

- ``gaib.assets``: the asset registry (read an asset or a cluster, retire, ownership and disputes)
- ``gaib.deals``: quotes, deals, repayments, servicing, trouble and recovery, leases
- ``gaib.aid``: mint and redeem AID, the redemption queue, supply and reserves, whitelist and deny list
- ``gaib.said``: stake, exit requests and cycles, operators, share price and vesting
- ``gaib.nodes``: the node network (operators, roots, challenges, attested status)
- ``gaib.venues``: DeFi venues (set up, quote, add, remove, positions)
- ``gaib.admin``: roles and pausing
- ``gaib.bridge``: AID and sAID across chains

Every method checks its input and the chain's state first, so a request that would fail is refused with a
:class:`~gaib_sdk.errors.GaibError` that says what to fix, before any transaction is sent.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3.contract import AsyncContract

from gaib_sdk.adapters import Venue
from gaib_sdk.chain import (
    Chain,
    Deployment,
    DeploymentStore,
    EmbeddedState,
    Protocol,
    TxResult,
    deploy_protocol,
    read_ahead,
    role,
)
from gaib_sdk.chain.deploy import ROLES
from gaib_sdk.chain.governance import GovernanceConfig
from gaib_sdk.errors import (
    AssetOwnershipError,
    DuplicateAssetError,
    GaibConfigError,
    GaibValueError,
    InsufficientFundsError,
    InventoryError,
    UnderwritingError,
)
from gaib_sdk.merkle import MerkleTree
from gaib_sdk.models import (
    AssetRecord,
    CreditPolicy,
    DealStatus,
    DealTerms,
    DigitizeResult,
    Inventory,
    StressPolicy,
    VenuePosition,
)
from gaib_sdk.namespaces import Admin, Aid, Assets, Bridging, Deals, Nodes, StakedAid, Venues
from gaib_sdk.namespaces._base import (
    AID_DECIMALS,
    STRUCTURE_NAMES,
    STRUCTURES,
    USDC_DECIMALS,
    Receipt,
    asset_info,
    bytes32,
    cluster_tree,
    from_units,
    ownership,
    to_units,
)
from gaib_sdk.namespaces.deals import FinanceResult
from gaib_sdk.plugins import Plugins
from gaib_sdk.underwriting import MAX_ADVANCE_RATE, check_borrower_exposure, credit_policy

if TYPE_CHECKING:
    from gaib_sdk.index.events import Event

__all__ = ["FinanceResult", "Gaib", "Receipt", "USDC_DECIMALS", "AID_DECIMALS", "from_units", "to_units"]
__all__ += ["STRUCTURES", "STRUCTURE_NAMES", "cluster_tree"]  # the SDK's own modules and its tests use them

REGISTER_BATCH = 100  # assets per registerBatch transaction: well inside a block's gas

#: The old flat names of the client, each with its place in a namespace: ``gaib.whitelist`` still works for
#: one release, with a DeprecationWarning naming the new spelling (``Gaib.__getattr__``).
MOVED: dict[str, str] = {
    # gaib.assets
    "asset_adapter": "assets.adapter",
    "read_inventory": "assets.read_inventory",
    "asset": "assets.get",
    "cluster": "assets.cluster",
    "cluster_proof": "assets.cluster_proof",
    "verify_in_cluster": "assets.verify_in_cluster",
    "retire": "assets.retire",
    "confirm_ownership": "assets.confirm_ownership",
    "dispute_asset": "assets.dispute",
    "resolve_dispute": "assets.resolve_dispute",
    "void_registration": "assets.void_registration",
    # gaib.deals
    "appraise": "deals.appraise",
    "market_prices": "deals.market_prices",
    "quote": "deals.quote",
    "deal": "deals.get",
    "repay": "deals.repay",
    "repay_from_revenue": "deals.repay_from_revenue",
    "impair": "deals.impair",
    "cure": "deals.cure",
    "declare_default": "deals.declare_default",
    "transfer_to_operator": "deals.transfer_to_operator",
    "record_liquidation": "deals.record_liquidation",
    "remark": "deals.remark",
    "lease": "deals.lease",
    "deal_leases": "deals.leases",
    "set_price_ceiling": "deals.set_price_ceiling",
    "lockbox": "deals.lockbox",
    "pay_lockbox": "deals.pay_lockbox",
    "sweep": "deals.sweep",
    "schedule": "deals.schedule",
    "delinquency": "deals.delinquency",
    "mark_delinquent": "deals.mark_delinquent",
    # gaib.aid
    "mint_aid": "aid.mint",
    "redeem_aid": "aid.redeem",
    "request_redemption": "aid.request_redemption",
    "process_redemptions": "aid.process_redemptions",
    "claim_redemption": "aid.claim_redemption",
    "redemption_queue": "aid.redemption_queue",
    "aid_supply": "aid.supply",
    "reserves": "aid.reserves",
    "whitelist": "aid.whitelist",
    "deny": "aid.deny",
    # gaib.said
    "stake": "said.stake",
    "request_unstake": "said.request_unstake",
    "unstake_request": "said.unstake_request",
    "unstake_status": "said.unstake_status",
    "process_withdrawal_cycle": "said.process_withdrawal_cycle",
    "claim_unstake": "said.claim_unstake",
    "set_operator": "said.set_operator",
    "set_withdrawal_cycle": "said.set_withdrawal_cycle",
    "said_share_price": "said.share_price",
    "said_vesting": "said.vesting",
    # gaib.nodes
    "attestation": "nodes.attestation",
    "operator": "nodes.operator",
    "register_operator": "nodes.register_operator",
    "bond": "nodes.bond",
    "request_unbond": "nodes.request_unbond",
    "withdraw_bond": "nodes.withdraw_bond",
    "period_length": "nodes.period_length",
    "submit_root": "nodes.submit_root",
    "verify_report_inclusion": "nodes.verify_report_inclusion",
    "challenge": "nodes.challenge",
    "root_events": "nodes.root_events",
    "check_bundle": "nodes.check_bundle",
    "attested_status": "nodes.attested_status",
    # gaib.venues (add_liquidity stays on the client too: it is a stage)
    "venue": "venues.get",
    "setup_venue": "venues.setup",
    "quote_liquidity": "venues.quote",
    "remove_liquidity": "venues.remove",
    "positions": "venues.positions",
    # gaib.admin
    "authorize_registrar": "admin.authorize_registrar",
    "roles": "admin.roles",
    "grant_role": "admin.grant",
    "revoke_role": "admin.revoke",
    "pause": "admin.pause",
    "unpause": "admin.unpause",
    # gaib.bridge (the old call gaib.bridge(...) is gaib.bridge.send(...): Bridging.__call__ warns)
    "bridging": "bridge.attached",
    "use_bridge": "bridge.use",
    "open_bridge": "bridge.open",
    "quote_bridge": "bridge.quote",
    "bridge_status": "bridge.status",
    "wait_for_delivery": "bridge.wait_for_delivery",
    "bridge_balances": "bridge.balances",
}


def client_method(client: Any, name: str) -> Any:
    """The method of ``client`` (a Gaib or GaibSync) that ``name`` names, without a warning: a dotted name
    (``"aid.mint"``), a name of the client itself (``"faucet"``), or an old flat name (``"mint_aid"``) through
    :data:`MOVED`. For code that holds method names as data, as the command line does."""
    path = MOVED.get(name, name).split(".")
    target = client
    for part in path:
        target = getattr(target, part)
    return target


#: The embedded chain's state just after the protocol's default deployment, and that deployment: saved by the
#: first Gaib.embedded() of the process, copied by the next ones.
_DEPLOYED: tuple[EmbeddedState, Deployment] | None = None


@dataclass
class _Session:
    """What all account views of one client share."""

    chain: Chain | None
    plugins: Plugins
    store: DeploymentStore | None
    protocol: Protocol | None = None  # bound to the deployment, which it carries
    venues: dict[str, Venue] = field(default_factory=dict)
    venue_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    bridge: Any = None  # gaib_sdk.bridge.Bridge, once attached (gaib.bridge.use)


class Gaib:
    """The gaib-sdk client (async). See the module docstring."""

    _session: _Session

    def __init__(self, session: _Session, account: LocalAccount | None):
        self._session = session
        self._account = account

    # ---- construction ----

    @classmethod
    async def embedded(
        cls, *, deploy: bool = True, plugins: tuple[object, ...] = (), load_entry_points: bool = True
    ) -> Gaib:
        """A fresh in-process EVM with the protocol deployed, signing as its first dev account (the admin).
        Nothing is written to disk: the chain lives as long as the client.

        The deployment is the same on every embedded chain (same deployer, same nonces), so the first call in
        a process deploys it and saves that chain's state; later calls start a new chain from a copy of it
        (its blocks, contracts and addresses), which is what a test suite calling this for every test needs."""
        global _DEPLOYED
        plugin_set = Plugins(load_entry_points=load_entry_points, plugins=plugins)
        if deploy and _DEPLOYED is not None:
            state, deployment = _DEPLOYED
            chain = await Chain.embedded(state)
            session = _Session(chain, plugin_set, store=None, protocol=Protocol.bind(chain, deployment))
            return cls(session, chain.accounts[0])
        chain = await Chain.embedded()
        client = cls(_Session(chain, plugin_set, store=None), chain.accounts[0])
        if deploy:
            deployment = await client.deploy()
            _DEPLOYED = (chain.save_state(), deployment)
        return client

    @classmethod
    async def connect(
        cls,
        url: str | None = None,
        *,
        network: str | None = None,
        private_key: str | None = None,
        deployments: Path | None = None,
        plugins: tuple[object, ...] = (),
        load_entry_points: bool = True,
        journal: Path | bool = True,
        confirmations: int = 0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Gaib:
        """Connect to a JSON-RPC node. The protocol's addresses are read back from the deployments file
        (``$GAIB_HOME/deployments.json`` by default) if this chain has one; otherwise call :meth:`deploy`.

        ``journal``: where every signed transaction is written before it is sent, so that a run killed
        at any point resumes without sending anything twice: ``$GAIB_HOME/journal-<chain id>.sqlite`` by
        default, a path, or False for none. ``confirmations``: blocks to wait under each transaction's
        block. ``transport``: an ``httpx.AsyncBaseTransport`` between the SDK and the node (docs/operations.md).
        ``network``: a network of the shipped networks file (``"base"``): its RPC URL unless ``url`` is given
        ($GAIB_RPC_<NAME> first, gaib_sdk.networks), and the node must answer with its chain id."""
        if network is not None:
            from gaib_sdk.networks import network as _network
            from gaib_sdk.networks import rpc_url

            url = url or rpc_url(network)
        if url is None:
            raise GaibConfigError("give the node's URL, or network=NAME (a network of the networks file)")
        chain = await Chain.connect(
            url,
            private_keys=[private_key] if private_key else [],
            journal=journal,
            confirmations=confirmations,
            transport=transport,
        )
        if network is not None and chain.chain_id != _network(network).chain_id:
            await chain.close()
            raise GaibConfigError(
                f"the node at {url} is on chain {chain.chain_id}, not {network} ({_network(network).chain_id})",
                chain_id=chain.chain_id,
            )
        store = DeploymentStore(deployments)
        session = _Session(chain, Plugins(load_entry_points=load_entry_points, plugins=plugins), store=store)
        try:
            found = await store.load(chain)
        except BaseException:
            await chain.close()
            raise
        if found is not None:
            session.protocol = Protocol.bind(chain, found)
            session.venue_state.update(copy.deepcopy(found.venues))
        return cls(session, chain.accounts[0] if chain.accounts else None)

    @classmethod
    def offline(cls, *, plugins: tuple[object, ...] = (), load_entry_points: bool = True) -> Gaib:
        """A client with no chain: read inventories, appraise and quote. Anything on-chain is refused."""
        return cls(_Session(None, Plugins(load_entry_points=load_entry_points, plugins=plugins), store=None), None)

    def with_account(self, account: LocalAccount | str | int) -> Gaib:
        """The same client, signing as ``account``: a LocalAccount, a private key, or on the embedded
        chain the index of one of its funded dev accounts."""
        if isinstance(account, int):
            accounts = self.chain.accounts
            if not 0 <= account < len(accounts):
                raise GaibConfigError(f"no dev account #{account}: this chain has {len(accounts)}")
            return Gaib(self._session, accounts[account])
        if isinstance(account, str):
            try:
                return Gaib(self._session, Account.from_key(account))
            except Exception as exc:
                raise GaibConfigError("that is not a valid private key") from exc
        return Gaib(self._session, account)

    async def close(self) -> None:
        if self._session.chain is not None:
            await self._session.chain.close()

    async def __aenter__(self) -> Gaib:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- namespaces: each made on first use, bound to this client and its account ----

    @cached_property
    def assets(self) -> Assets:
        """The asset registry: read assets and clusters, retire, ownership and disputes."""
        return Assets(self)

    @cached_property
    def deals(self) -> Deals:
        """Quotes and deals: appraise, quote, read, repay, service, impair and recover, leases."""
        return Deals(self)

    @cached_property
    def aid(self) -> Aid:
        """AID: mint, redeem, the redemption queue, supply and reserves, whitelist and deny list."""
        return Aid(self)

    @cached_property
    def said(self) -> StakedAid:
        """sAID: stake, exit requests and cycles, operators, share price and vesting."""
        return StakedAid(self)

    @cached_property
    def nodes(self) -> Nodes:
        """The node network: operators and bonds, roots, challenges, attested status."""
        return Nodes(self)

    @cached_property
    def venues(self) -> Venues:
        """DeFi venues: set up, quote, add and remove liquidity, positions."""
        return Venues(self)

    @cached_property
    def admin(self) -> Admin:
        """The protocol's roles and its pause switch."""
        return Admin(self)

    @cached_property
    def bridge(self) -> Bridging:
        """AID and sAID across chains: attach a bridge, quote, send, track, balances."""
        return Bridging(self)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            """The old flat names (``gaib.whitelist``), for one release: each warns and answers with its new
            place (``gaib.aid.whitelist``). Type checkers see only the new shape."""
            moved = MOVED.get(name)
            if moved is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            warnings.warn(
                f"Gaib.{name} is now gaib.{moved}; the old name will be removed in 0.3",
                DeprecationWarning,
                stacklevel=2,
            )
            space, new = moved.split(".")
            return getattr(getattr(self, space), new)

    # ---- properties ----

    @property
    def chain(self) -> Chain:
        if self._session.chain is None:
            raise GaibConfigError("this client is offline (Gaib.offline()): connect to a chain to do that")
        return self._session.chain

    @property
    def plugins(self) -> Plugins:
        return self._session.plugins

    @property
    def account(self) -> LocalAccount:
        if self._account is None:
            raise GaibConfigError("this client has no account to sign with: pass private_key=... to connect()")
        return self._account

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def protocol(self) -> Protocol:
        if self._session.protocol is None:
            raise GaibConfigError(
                f"the protocol is not deployed on chain {self.chain.chain_id} (or not in the deployments "
                "file): call deploy() or `gaib deploy`",
                chain_id=self.chain.chain_id,
            )
        return self._session.protocol

    @property
    def deployment(self) -> Deployment:
        return self.protocol.deployment

    @property
    def venue_state(self) -> dict[str, dict[str, Any]]:
        """Per-venue state shared by every account view of this client (addresses a venue deployed)."""
        return self._session.venue_state

    def save_venue_state(self, name: str) -> None:
        """Write venue ``name``'s state into the deployment, and the deployments file of a connected client,
        so that a later process on this chain finds the venue instead of deploying it again."""
        protocol = self.protocol
        venues = {**protocol.deployment.venues, name: copy.deepcopy(self._session.venue_state.get(name, {}))}
        deployment = protocol.deployment.model_copy(update={"venues": venues})
        self._session.protocol = dataclasses.replace(protocol, deployment=deployment)
        if self._session.store is not None:
            self._session.store.save(deployment)

    # ---- deployment ----

    async def deploy(
        self,
        *,
        usdc: str | None = None,
        treasury: str | None = None,
        usdt: str | None = None,
        roles: dict[str, str] | None = None,
        confirmation_delay: int | None = None,
        governance: GovernanceConfig | None = None,
        replace: bool = False,
    ) -> Deployment:
        """Deploy the protocol with this account as admin, and save its addresses (connected clients).
        ``usdt``: a second stablecoin AID accepts (a test one is deployed on a dev chain). ``roles``,
        ``confirmation_delay`` and ``governance`` (required off development chains): see
        :func:`~gaib_sdk.chain.deploy_protocol` (docs/security.md, "Roles", "Admin: Safe and timelock").

        A connected client refuses to deploy over a live deployment that its deployments file holds for this
        chain (same genesis, code at every address): its users' assets and deals are there. ``replace=True``
        deploys a second protocol anyway, and the file then names the new one."""
        if self._session.store is not None and not replace:
            live = await self._session.store.load(self.chain)
            if live is not None:
                raise GaibConfigError(
                    f"this chain already has a protocol deployed (AID at {live.contracts['aid']}, block "
                    f"{live.block}), named in {self._session.store.path}: deploying again would replace its "
                    "addresses there. Use it as it is, or pass replace=True (gaib deploy --replace) to deploy a "
                    "second protocol",
                    chain_id=self.chain.chain_id,
                )
        deployment = await deploy_protocol(
            self.chain,
            self.account,
            usdc=usdc,
            usdt=usdt,
            treasury=treasury,
            roles=roles,
            confirmation_delay=confirmation_delay,
            governance=governance,
        )
        self._session.protocol = Protocol.bind(self.chain, deployment)
        if self._session.store is not None:
            self._session.store.save(deployment)
        return deployment

    async def send(self, call: Any, *, what: str, key: str | None = None) -> TxResult:
        """Send one contract call from this client's account (estimate, sign, send, await). With a
        journal (connected clients), ``key`` names the intent: sending the same key again, in this process or
        after a crash, never signs a second transaction; it returns the first one's result."""
        return await self.chain.transact(call, self.account, what=what, key=key)

    def _resuming(self, key: str | None) -> bool:
        return self._session.chain is not None and self.chain.journaled(key)

    def _key(self, key: str | None, action: str) -> str | None:
        """The journal key of one action of a keyed request: scoped to the account and the deployment."""
        if key is None:
            return None
        return f"{action}:{self.protocol.deployment.contracts['aid']}:{self.address}:{key}"

    async def has_role(self, contract: AsyncContract, name: str, account: str | None = None) -> bool:
        return bool(await self._role_read(contract, name, account).call())

    def _role_read(self, contract: AsyncContract, name: str, account: str | None = None) -> Any:
        """The read of :meth:`has_role`, for :meth:`Chain.prefetch`."""
        role_id = b"\0" * 32 if name == "DEFAULT_ADMIN_ROLE" else role(name)
        return contract.functions.hasRole(role_id, account or self.address)

    async def _require_not_paused(self, doing: str, token: str = "AID") -> None:
        contract, name = self._pausable(token)
        if await contract.functions.paused().call():
            raise GaibValueError(f"{name} is paused: cannot {doing} until a pauser unpauses it")

    async def _require_role(self, contract: AsyncContract, name: str, doing: str) -> None:
        if not await self.has_role(contract, name):
            by_name = [k for k, pairs in ROLES.items() if any(r == name for _, r in pairs)]
            by_name += ["registrar"] if name == "REGISTRAR_ROLE" else []
            how = f" (gaib admin grant {by_name[0]} {self.address})" if by_name else ""
            raise GaibConfigError(
                f"account {self.address} lacks {name} on {contract.address}, needed to {doing}: "
                f"ask the holder of its admin role to grant it{how}",
                chain_id=self.chain.chain_id,
            )

    # ---- stage 1: digitize ----

    async def digitize(
        self,
        kind: str,
        source: Inventory | str | Path | None = None,
        *,
        options: dict[str, Any] | None = None,
        skip_registered: bool = False,
        cluster: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> DigitizeResult:
        """Validate an inventory and register its assets in the AssetRegistry, owned by this account,
        each with the hash of its record and the attestation of its latest telemetry.

        An asset already on-chain is refused (DuplicateAssetError), unless ``skip_registered``: then it
        is left as it is and reported in ``already_registered``, so digitizing again is harmless.

        With ``cluster=True`` the whole inventory is registered as one Merkle root (one storage write for
        any number of assets; see :mod:`gaib_sdk.merkle`), its attestation the root of the assets'
        attestations. Prove an asset's membership with ``gaib.assets.cluster_proof`` and ``verify_in_cluster``.
        The registry cannot see inside clusters: the SDK refuses a cluster holding an asset that is
        registered on its own, and a cluster registered before.

        ``progress(done, total)`` is called after each batch is mined (the CLI draws a bar with it)."""
        inventory = (
            source if isinstance(source, Inventory) else await self.assets.read_inventory(kind, source, options=options)
        )
        if inventory.kind != kind:
            raise InventoryError(f"inventory is of kind {inventory.kind!r}, not {kind!r}", field="kind")
        latest = inventory.latest_telemetry()  # one dict for the inventory: a scan per asset was quadratic
        attestations = []
        for row, asset in enumerate(inventory.assets, start=1):
            snap = latest.get(asset.serial)
            if snap is None:
                raise InventoryError(
                    f"asset {row} ({asset.vendor} {asset.serial}) has no telemetry: an asset is registered only "
                    "with an attestation that it exists and works",
                    row=row,
                    field="telemetry",
                    asset_id=asset.asset_id,
                )
            if not snap.healthy:
                raise InventoryError(
                    f"asset {row} ({asset.vendor} {asset.serial}) reports unhealthy at {snap.observed_at}: "
                    "fix or remove it before digitizing",
                    row=row,
                    field="telemetry.healthy",
                    asset_id=asset.asset_id,
                )
            attestations.append(snap.attestation)

        registry = self.protocol.registry
        await self._require_role(registry, "REGISTRAR_ROLE", "register assets")
        ids = [a.asset_id for a in inventory.assets]  # hashed once here, used by every step below
        new: list[tuple[AssetRecord, str, str]] = []
        known: list[tuple[AssetRecord, str, str]] = []
        # one read per asset, as JSON-RPC batches: one round trip per BATCH_REQUESTS assets
        registered = await self.chain.call_each(registry.functions.isRegistered, [(i,) for i in ids])
        for asset, asset_id, att, is_known in zip(inventory.assets, ids, attestations, registered, strict=True):
            (known if is_known else new).append((asset, asset_id, att))
        # Never skipped: an id registered to another account is a squat or a mistake, not a re-run.
        entries = await self.chain.call_each(registry.functions.getAsset, [(i,) for _, i, _ in known])
        for (asset, asset_id, _), entry in zip(known, entries, strict=True):
            owner = entry[2]
            if owner.lower() != self.address.lower():
                raise AssetOwnershipError(
                    f"{asset.vendor} {asset.serial} ({asset_id}) is registered to {owner}, not to "
                    f"{self.address}: if it is yours, ask the registrar admin to dispute that registration and "
                    "void it or give it to you (docs/security.md, Asset ownership)",
                    stage="digitize",
                    asset_id=asset_id,
                )
        if cluster:
            return await self._register_cluster(kind, inventory, attestations, ids, new, known, skip_registered)
        if known and not skip_registered:
            first, first_id = known[0][0], known[0][1]
            raise DuplicateAssetError(
                f"{len(known)} of {len(inventory.assets)} assets are already registered, e.g. {first.vendor} "
                f"{first.serial} ({first_id}); registering an asset twice is refused "
                "(pass skip_registered=True, or --skip-registered to `gaib digitize`, to register only the new ones)",
                stage="digitize",
                asset_id=first_id,
            )
        hashes = []
        for start in range(0, len(new), REGISTER_BATCH):
            batch = new[start : start + REGISTER_BATCH]
            call = registry.functions.registerBatch(
                bytes32(kind),
                self.address,
                [i for _, i, _ in batch],
                [a.record_hash for a, _, _ in batch],
                [att for _, _, att in batch],
            )
            # the journal's idempotency key: this registry, this kind, exactly these assets
            ids_hash = keccak(hexstr="".join(i[2:] for _, i, _ in batch)).hex()
            key = f"digitize:{registry.address}:{kind}:0x{ids_hash}"
            hashes.append((await self.send(call, what=f"register {len(batch)} {kind} assets", key=key)).tx_hash)
            if progress is not None:
                progress(start + len(batch), len(new))
        return DigitizeResult(
            kind=kind,
            owner=self.address,
            asset_ids=[i for _, i, _ in new],
            already_registered=[i for _, i, _ in known],
            tx_hashes=hashes,
        )

    async def _register_cluster(
        self,
        kind: str,
        inventory: Inventory,
        attestations: list[str],
        ids: list[str],
        new: list[tuple[AssetRecord, str, str]],
        known: list[tuple[AssetRecord, str, str]],
        skip_registered: bool,
    ) -> DigitizeResult:
        if known:
            first, first_id = known[0][0], known[0][1]
            raise DuplicateAssetError(
                f"{first.vendor} {first.serial} ({first_id}) is already registered on its own: a cluster "
                "may not hold it again",
                stage="digitize",
                asset_id=first_id,
            )
        tree = cluster_tree(inventory, ids)
        registry = self.protocol.registry
        existing = await registry.functions.getCluster(tree.root).call()
        if existing[2] > 0:
            if existing[1].lower() != self.address.lower():
                raise AssetOwnershipError(
                    f"cluster {tree.root} is registered to {existing[1]}, not to {self.address}: if it is yours, "
                    "ask the registrar admin to dispute that registration (docs/security.md, Asset ownership)",
                    stage="digitize",
                    asset_id=tree.root,
                )
            if skip_registered:
                return DigitizeResult(
                    kind=kind,
                    owner=self.address,
                    asset_ids=[],
                    already_registered=list(ids),
                    cluster_root=tree.root,
                )
            raise DuplicateAssetError(
                f"cluster {tree.root} ({len(tree)} assets) is already registered", stage="digitize"
            )
        attestation_root = MerkleTree([bytes.fromhex(a[2:]) for a in attestations]).root
        call = registry.functions.registerCluster(tree.root, bytes32(kind), self.address, len(tree), attestation_root)
        key = f"cluster:{registry.address}:{tree.root}"
        result = await self.send(call, what=f"register a cluster of {len(tree)} {kind} assets", key=key)
        return DigitizeResult(
            kind=kind,
            owner=self.address,
            asset_ids=[i for _, i, _ in new],
            tx_hashes=[result.tx_hash],
            cluster_root=tree.root,
        )

    # ---- stage 2: financialize ----

    @read_ahead
    async def financialize(
        self,
        kind: str,
        source: Inventory | str | Path | None = None,
        *,
        as_of: date | None = None,
        advance_usd: Decimal | None = None,
        terms: DealTerms | dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        stress: StressPolicy | dict[str, Any] | None = None,
        cluster_root: str | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> FinanceResult:
        """Underwrite a digitized inventory and open a deal for its owner, funded in USDC from the AID
        reserve. Signed by an account with the UNDERWRITER role; the borrower is the assets' owner.
        Each record must hash to what was registered: the appraisal is of the assets on-chain. The quote's
        stress test (``stress``, as for ``gaib.deals.quote``) must pass before anything is sent.

        An inventory digitized as a cluster (``digitize(..., cluster=True)``) is financed by its cluster
        root: the root is recomputed from the inventory and must be registered (and equal ``cluster_root``,
        the digitize result's, when given), so every record hashes to what was registered."""
        inventory = await self.deals._inventory(kind, source, options)
        q = await self.deals.quote(
            kind,
            inventory,
            as_of=as_of,
            advance_usd=advance_usd,
            terms=terms,
            options=options,
            stress=stress,
            policy=policy,
            prices=prices,
        )
        p = self.protocol
        # One deal per set of collateral: after a crash, asking again returns the deal the first call opened.
        ids_hash = keccak(hexstr="".join(a[2:] for a in sorted(q.asset_ids))).hex()
        deal_key = f"deal:{p.facility.address}:0x{ids_hash}"
        resuming = self.chain.journaled(deal_key)  # then the checks its own success would fail are skipped
        root = cluster_tree(inventory).root
        f, registry = p.facility.functions, p.registry.functions
        reads: list[Any] = [
            f.maxAdvanceBps(),
            registry.getCluster(root),
            registry.confirmation(root),
            p.aid.functions.reserve(),
        ]
        reads += [self._role_read(p.facility, "UNDERWRITER_ROLE"), p.aid.functions.paused(), self.chain.clock_read()]
        if p.leases is not None:
            reads += [p.leases.functions.priceCeiling(bytes32(kind)), self._role_read(p.leases, "UNDERWRITER_ROLE")]
        await self.chain.prefetch(reads)  # the checks below, read in one call
        on_chain_cap = Decimal(await p.facility.functions.maxAdvanceBps().call()) / 10_000
        if on_chain_cap < MAX_ADVANCE_RATE and q.advance_usd > q.appraised_value_usd * on_chain_cap:
            raise UnderwritingError(
                f"advance {q.advance_usd} USDC exceeds the facility's on-chain cap of {on_chain_cap:.0%} of "
                f"appraised value {q.appraised_value_usd} USDC",
                rule="max_advance",
            )
        cluster = await self.assets.cluster(root)
        if cluster_root is not None and cluster_root.lower() != root.lower():
            raise UnderwritingError(
                f"the inventory hashes to cluster root {root}, not {cluster_root}: a record changed since the "
                "cluster was digitized, or this is another inventory; a deal is underwritten on the registered "
                "records only",
                rule="real_collateral",
            )
        if cluster_root is not None and cluster["size"] == 0:
            raise UnderwritingError(
                f"cluster {root} is not registered: digitize the inventory with cluster=True first",
                rule="real_collateral",
            )
        collateral = list(q.asset_ids)
        owners = set()
        if cluster["size"] > 0:
            # The root commits to every asset's id and record hash: finding it registered is the record check.
            if cluster["kind"] != kind:
                raise UnderwritingError(
                    f"cluster {root} holds {cluster['kind']!r} assets, not {kind!r}", rule="real_collateral"
                )
            if cluster["status"] != "active" and not resuming:
                raise UnderwritingError(
                    f"cluster {root} is {cluster['status']!r} on-chain, not 'active': it is already financed, or "
                    "no longer available",
                    rule="real_collateral",
                )
            _require_confirmed(cluster, root, resuming)
            owners.add(cluster["owner"])
            collateral = [root]
        listed = inventory.assets if cluster["size"] == 0 else []
        reads = [p.registry.functions.getAsset(a.asset_id) for a in listed]
        reads += [p.registry.functions.confirmation(a.asset_id) for a in listed]
        answers = await self.chain.call_many(reads)
        found, confirmations = answers[: len(listed)], answers[len(listed) :]
        for row, (asset, a, conf) in enumerate(zip(listed, found, confirmations, strict=True), start=1):
            if a[3]:
                info = {**asset_info(asset.asset_id, a), **ownership(a[3], *conf)}
            else:
                info = await self.assets.get(asset.asset_id)
            if info["status"] != "active" and not resuming:
                hint = " (if it was digitized as a cluster, a record changed since: its root is not registered)"
                raise UnderwritingError(
                    f"asset {asset.asset_id} is {info['status']!r} on-chain, not 'active': digitize it first, or "
                    f"it is already financed{hint if info['status'] == 'none' else ''}",
                    rule="real_collateral",
                    asset_id=asset.asset_id,
                )
            if info["record_hash"] != asset.record_hash:
                raise UnderwritingError(
                    f"asset {row} ({asset.vendor} {asset.serial}) differs from the record registered on-chain "
                    f"(hash {asset.record_hash}, registered {info['record_hash']}): a deal is underwritten on the "
                    "registered records only",
                    rule="real_collateral",
                    asset_id=asset.asset_id,
                )
            _require_confirmed(info, asset.asset_id, resuming)
            owners.add(info["owner"])
        if len(owners) != 1:
            raise UnderwritingError(
                f"the collateral has {len(owners)} owners; a deal finances one borrower's assets",
                rule="real_collateral",
            )
        borrower = owners.pop()
        limits = credit_policy(policy)
        if limits.max_borrower_exposure_usd is not None and not resuming:
            owed = Decimal(0)
            for deal_id in range(1, await p.facility.functions.dealCount().call() + 1):
                d = await self.deals.get(deal_id)
                if d.borrower == borrower and d.status in (DealStatus.ACTIVE, DealStatus.IMPAIRED):
                    owed += d.principal_outstanding_usd
            check_borrower_exposure(borrower, owed, q.advance_usd, limits)
        advance = to_units(q.advance_usd, USDC_DECIMALS, what="advance")
        reserve = await p.aid.functions.reserve().call()
        if advance > reserve and not resuming:
            raise InsufficientFundsError(
                f"advance {q.advance_usd} USDC exceeds the AID reserve of {from_units(reserve, USDC_DECIMALS)} "
                "USDC: more AID must be minted before this deal can be funded",
                stage="financialize",
            )
        await self._require_role(p.facility, "UNDERWRITER_ROLE", "open deals")
        await self._require_not_paused("fund a deal")
        units = cluster["size"] if cluster["size"] > 0 else len(inventory.assets)
        ceiling = self.assets.adapter(kind, options).price_ceiling(inventory)
        lease_ids = await self.deals._pledgeable_leases(
            kind, inventory, q.as_of, borrower, collateral, units, ceiling, resuming
        )
        return await self.deals._open_deal(q, borrower, deal_key, collateral, lease_ids)

    # ---- test stablecoins, and checks the namespaces share ----

    def _pausable(self, token: str) -> tuple[AsyncContract, str]:
        if token not in ("AID", "sAID"):
            raise GaibValueError(f"token {token!r} cannot be paused: give 'AID' or 'sAID'")
        return (self.protocol.aid if token == "AID" else self.protocol.said), token

    async def faucet(self, account: str, usdc_amount: Decimal | int | str, *, stablecoin: str = "USDC") -> str:
        """Development chains only: mint test USDC (or ``stablecoin="USDT"``) to ``account``."""
        p = self.protocol
        if not p.deployment.usdc_is_test:
            raise GaibConfigError("the faucet exists only where the SDK deployed its own test USDC (local chains)")
        token, symbol = self._stablecoin(stablecoin)
        amount = to_units(usdc_amount, USDC_DECIMALS, what=f"{symbol} amount")
        return (await self.send(token.functions.mint(account, amount), what="faucet")).tx_hash

    def _stablecoin(self, name: str) -> tuple[AsyncContract, str]:
        """The stablecoin contract named ``name`` ("USDC" or "USDT") and its symbol."""
        p = self.protocol
        symbol = str(name).upper()
        if symbol == "USDC":
            return p.usdc, symbol
        if symbol == "USDT":
            if p.usdt is None:
                raise GaibConfigError(
                    "this deployment accepts no USDT: deploy with usdt=<address> (dev chains get a test USDT)"
                )
            return p.usdt, symbol
        raise GaibValueError(f"stablecoin {name!r} is not accepted: use 'USDC' or 'USDT'")

    # ---- views ----

    async def balances(self, account: str | None = None) -> dict[str, Decimal]:
        p, who = self.protocol, account or self.address
        return {
            "USDC": from_units(await p.usdc.functions.balanceOf(who).call(), USDC_DECIMALS),
            "AID": from_units(await p.aid.functions.balanceOf(who).call(), AID_DECIMALS),
            "sAID": from_units(await p.said.functions.balanceOf(who).call(), AID_DECIMALS),
            **({"USDT": from_units(await p.usdt.functions.balanceOf(who).call(), USDC_DECIMALS)} if p.usdt else {}),
        }

    # ---- stage 3: add liquidity ----

    async def add_liquidity(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> list[VenuePosition]:
        """Put ``amount`` to work at DeFi ``venue`` (``"curve"``, ``"morpho"``, ``"pendle"`` or a plugin's; the
        adapter's options in ``kwargs``): :meth:`Venues.add <gaib_sdk.namespaces.Venues.add>`. The rest of the
        venues' calls are in ``gaib.venues``."""
        return await self.venues.add(venue, amount, **kwargs)

    # ---- history (gaib_sdk.index) ----

    def watch(self, *events: str, **options: Any) -> AsyncIterator[Event]:
        """``async for event in gaib.watch("Repaid")``: typed events as they are mined (options: see
        :func:`gaib_sdk.index.watch.watch`)."""
        from gaib_sdk.index.watch import watch

        return watch(self, *events, **options)

    # ---- helpers for adapters and venues ----

    def balance_reads(self, token: AsyncContract, spender: AsyncContract) -> list[Any]:
        """The reads of :meth:`require_balance` and :meth:`approve`, for :meth:`Chain.prefetch`."""
        f = token.functions
        return [f.decimals(), f.balanceOf(self.address), f.allowance(self.address, spender.address)]

    def _permit_reads(self, token: AsyncContract) -> list[Any]:
        """The reads of :meth:`sign_permit`, for :meth:`Chain.prefetch`."""
        return [token.functions.eip712Domain(), token.functions.nonces(self.address)]

    async def require_balance(self, token: AsyncContract, amount: int, symbol: str, doing: str) -> None:
        """Refuse, before any transaction, if this account holds less than ``amount`` base units of a token."""
        decimals = int(await token.functions.decimals().call())
        balance = await token.functions.balanceOf(self.address).call()
        if balance < amount:
            raise InsufficientFundsError(
                f"account {self.address} holds {from_units(balance, decimals)} {symbol}, less than the "
                f"{from_units(amount, decimals)} needed to {doing}"
            )

    async def sign_permit(
        self, token: AsyncContract, spender: str, amount: int, *, deadline: int | None = None
    ) -> tuple[int, int, bytes, bytes]:
        """Sign, off-chain, an EIP-2612 permit by this account for ``spender`` to spend ``amount`` base units
        of ``token`` (AID); returns ``(deadline, v, r, s)`` as the token's ``permit`` takes them. It is
        good once (it uses the account's next permit nonce) and, by default, for an hour of chain time."""
        _fields, name, version, chain_id, verifying, _salt, _ext = await token.functions.eip712Domain().call()
        nonce = await token.functions.nonces(self.address).call()
        if deadline is None:
            deadline = await self.chain.timestamp() + 3600
        signed = self.account.sign_typed_data(
            domain_data={"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
            message_types={
                "Permit": [
                    {"name": "owner", "type": "address"},
                    {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ]
            },
            message_data={
                "owner": self.address,
                "spender": spender,
                "value": amount,
                "nonce": nonce,
                "deadline": deadline,
            },
        )
        return deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    async def approve(self, token: AsyncContract, spender: str, amount: int) -> list[str]:
        """Approve ``spender`` for ``amount`` base units if the allowance is short; returns tx hashes."""
        allowance = await token.functions.allowance(self.address, spender).call()
        if allowance >= amount:
            return []
        return [(await self.send(token.functions.approve(spender, amount), what="approve")).tx_hash]


def _require_confirmed(info: dict[str, Any], asset_id: str, resuming: bool = False) -> None:
    """The facility refuses collateral whose ownership is provisional or disputed: say so before sending."""
    if info["ownership"] != "confirmed" and not resuming and info["status"] in ("active", "disputed"):
        raise AssetOwnershipError(
            f"{asset_id}'s ownership is {info['ownership']} (confirmed at unix time {info['confirms_at']} unless "
            "disputed): it cannot be collateral until then, or until the registrar admin confirms it",
            stage="financialize",
            asset_id=asset_id,
        )
