"""The async client: one chain connection, one plugin manager, one signing account.

``Gaib.embedded()`` starts a fresh in-process EVM and deploys the protocol into it; ``Gaib.connect(url)``
talks to any JSON-RPC node. ``with_account`` gives a view of the same client that signs as another
account (the investor, the borrower) while sharing the connection, the plugins and the deployment.

Every method checks its input and the chain's state first, so a request that would fail is refused with a
:class:`~gaib_sdk.errors.GaibError` that says what to fix, before any transaction is sent.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from pydantic import ValidationError
from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk.adapters import AdapterOptions, AssetAdapter, MarketPriceSource, Venue
from gaib_sdk.bridge import BridgeMixin
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
    NotWhitelistedError,
    UnderwritingError,
)
from gaib_sdk.merkle import MerkleTree
from gaib_sdk.merkle import leaf as merkle_leaf
from gaib_sdk.models import (
    AssetRecord,
    AssetValuation,
    CreditPolicy,
    CustomerContract,
    DealInfo,
    DealStatus,
    DealTerms,
    DigitizeResult,
    Inventory,
    Quote,
    Repayment,
    StressPolicy,
    StressScenario,
    VenuePosition,
    VenueQuote,
    lease_id,
)
from gaib_sdk.node.client import NodeMixin
from gaib_sdk.plugins import Plugins
from gaib_sdk.servicing import ServicingMixin
from gaib_sdk.underwriting import (
    MAX_ADVANCE_RATE,
    add_months,
    check_asset_dates,
    check_borrower_exposure,
    check_capacity,
    credit_policy,
    mark_to_market,
    running_contracts,
    stress_policy,
    underwrite,
)

if TYPE_CHECKING:
    from gaib_sdk.index.events import Event

__all__ = ["FinanceResult", "Gaib", "Receipt", "USDC_DECIMALS", "AID_DECIMALS", "from_units", "to_units"]

USDC_DECIMALS = 6
AID_DECIMALS = 18
REGISTER_BATCH = 100  # assets per registerBatch transaction: well inside a block's gas
STRUCTURE_NAMES: list[Literal["fixed", "revenue_share", "hybrid"]] = ["fixed", "revenue_share", "hybrid"]
STRUCTURES = {name: i for i, name in enumerate(STRUCTURE_NAMES)}
ASSET_STATUSES = [
    "none",
    "active",
    "financed",
    "defaulted",
    "liquidated",
    "retired",
    "impaired",
    "disputed",
    "unconfirmed",  # never stored: collateralInfo's word for an active entry whose ownership is provisional
]


def to_units(amount: Decimal | int | str, decimals: int, *, what: str) -> int:
    """Whole units (e.g. Decimal("12.5") USDC) to base units, refusing negatives and excess precision."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise GaibValueError(f"{what} {amount!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise GaibValueError(f"{what} {amount} must be a non-negative number")
    units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise GaibValueError(f"{what} {amount} has more than {decimals} decimal places")
    return int(units)


_WIDE = Context(prec=80)


def from_units(units: int, decimals: int) -> Decimal:
    """Base units to whole units, exactly: 250000000000 at 6 decimals is Decimal("250000")."""
    return _WIDE.divide(Decimal(units), Decimal(10**decimals))


@dataclass(frozen=True)
class Receipt:
    """What an action did: the amount that came out of it, and its transactions in order."""

    action: str
    amount: Decimal
    tx_hashes: list[str]


@dataclass(frozen=True)
class FinanceResult:
    quote: Quote
    deal: DealInfo
    tx_hash: str


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
    bridge: Any = None  # gaib_sdk.bridge.Bridge, once attached (BridgeMixin)


class Gaib(NodeMixin, ServicingMixin, BridgeMixin):
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

    async def authorize_registrar(self, account: str) -> str:
        """Registrar admin: let an onboarded operator register its own assets (REGISTRAR_ROLE on the registry,
        whose admin role is REGISTRAR_ADMIN_ROLE, not the protocol admin's)."""
        registry = self.protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "grant REGISTRAR_ROLE")
        call = registry.functions.grantRole(role("REGISTRAR_ROLE"), account)
        return (await self.send(call, what="grant REGISTRAR_ROLE")).tx_hash

    # ---- roles (docs/security.md, "Roles") ----

    def _role_pairs(self, name: str) -> list[tuple[AsyncContract, str]]:
        """The (contract, AccessControl role) pairs of one of the protocol's roles, by its name."""
        known = {**{k: v for k, v in ROLES.items() if k != "admin"}, "registrar": (("registry", "REGISTRAR_ROLE"),)}
        if name not in known:
            hint = " (the admin role moves through governance: docs/security.md)" if name == "admin" else ""
            raise GaibValueError(f"unknown role {name!r}{hint}: one of {', '.join(sorted(known))}")
        pairs = []
        for attribute, role_name in known[name]:
            contract = getattr(self.protocol, attribute)
            if contract is None:
                raise GaibConfigError(f"this deployment has no {attribute} contract: deploy the protocol again")
            pairs.append((contract, role_name))
        return pairs

    async def roles(self, account: str | None = None) -> dict[str, bool]:
        """Which of the protocol's roles ``account`` (default: this client's) holds, by name."""
        who = account or self.address
        names = sorted({*ROLES, "registrar"} - {"admin"})
        held = {n: all([await self.has_role(c, r, who) for c, r in self._role_pairs(n)]) for n in names}
        return {"admin": await self.has_role(self.protocol.aid, "DEFAULT_ADMIN_ROLE", who), **held}

    async def grant_role(self, name: str, account: str) -> list[str]:
        """Give ``account`` one of the protocol's roles (``underwriter``, ``registrar``, ``pauser``...: every
        AccessControl role that name stands for). Checked first: this client holds the admin of each role.
        A role already held is left as it is; returns the transactions' hashes."""
        return await self._set_role(name, account, grant=True)

    async def revoke_role(self, name: str, account: str) -> list[str]:
        """Take one of the protocol's roles from ``account`` (see :meth:`grant_role`)."""
        return await self._set_role(name, account, grant=False)

    async def _set_role(self, name: str, account: str, *, grant: bool) -> list[str]:
        account = _checksum(account, "account")
        pairs = self._role_pairs(name)
        for contract, role_name in pairs:  # every check before the first transaction
            admin = await contract.functions.getRoleAdmin(role(role_name)).call()
            if not await contract.functions.hasRole(admin, self.address).call():
                raise GaibConfigError(
                    f"account {self.address} cannot {'grant' if grant else 'revoke'} {role_name} on "
                    f"{contract.address}: it lacks that role's admin role (0x{admin.hex()}); ask its holder",
                    chain_id=self.chain.chain_id,
                )
        hashes = []
        for contract, role_name in pairs:
            if await self.has_role(contract, role_name, account) == grant:
                continue
            action = contract.functions.grantRole if grant else contract.functions.revokeRole
            verb = "grant" if grant else "revoke"
            hashes.append((await self.send(action(role(role_name), account), what=f"{verb} {role_name}")).tx_hash)
        return hashes

    # ---- asset ownership (docs/security.md, "Asset ownership") ----

    async def _entry(self, asset_id: str) -> dict[str, Any]:
        """An asset or cluster as the registry holds it; GaibValueError if the id is unknown."""
        info = await self.asset(asset_id)
        if info["status"] == "none":
            raise GaibValueError(f"{asset_id} is neither a registered asset nor a cluster root")
        return info

    async def retire(self, asset_id: str) -> str:
        """Owner: retire an active asset or cluster (sold, scrapped), for good. Only its owner may, and only
        once its ownership is confirmed."""
        info = await self._entry(asset_id)
        if info["owner"].lower() != self.address.lower():
            raise AssetOwnershipError(
                f"{asset_id} is registered to {info['owner']}, not to {self.address}: only its owner retires it",
                asset_id=asset_id,
            )
        if info["status"] != "active":
            raise GaibValueError(
                f"{asset_id} is {info['status']!r}: only an active asset or cluster is retired", asset_id=asset_id
            )
        if info["ownership"] != "confirmed":
            raise AssetOwnershipError(
                f"{asset_id}'s ownership is provisional until unix time {info['confirms_at']}: it can be retired "
                "after that, or once the registrar admin confirms it",
                asset_id=asset_id,
            )
        registry = self.protocol.registry.functions
        call = registry.retireCluster(asset_id) if "size" in info else registry.retire(asset_id)
        return (await self.send(call, what="retire")).tx_hash

    async def confirm_ownership(self, asset_ids: list[str]) -> str:
        """Registrar admin: confirm registrations (assets or cluster roots) before their delay runs out."""
        registry = self.protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "confirm asset ownership")
        for asset_id in asset_ids:
            if (await self._entry(asset_id))["status"] == "disputed":
                raise AssetOwnershipError(
                    f"{asset_id} is disputed: end the dispute with resolve_dispute or void_registration",
                    asset_id=asset_id,
                )
        return (await self.send(registry.functions.confirm(asset_ids), what="confirm ownership")).tx_hash

    async def dispute_asset(self, asset_id: str) -> str:
        """Registrar admin: freeze an unfinanced (active or retired) asset or cluster while a provider's claim
        that it is theirs is examined; it cannot be financed or retired until the dispute ends."""
        registry = self.protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "dispute a registration")
        info = await self._entry(asset_id)
        if info["status"] not in ("active", "retired"):
            raise GaibValueError(
                f"{asset_id} is {info['status']!r}: only an unfinanced (active or retired) registration is disputed",
                asset_id=asset_id,
            )
        return (await self.send(registry.functions.dispute(asset_id), what="dispute registration")).tx_hash

    async def resolve_dispute(self, asset_id: str, owner: str) -> str:
        """Registrar admin: end a dispute, the entry active and confirmed, owned by ``owner``."""
        registry = self.protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "resolve a dispute")
        await self._require_disputed(asset_id)
        return (await self.send(registry.functions.resolveDispute(asset_id, owner), what="resolve dispute")).tx_hash

    async def void_registration(self, asset_id: str) -> str:
        """Registrar admin: end a dispute by striking the registration out, so its rightful owner registers it."""
        registry = self.protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "void a registration")
        await self._require_disputed(asset_id)
        return (await self.send(registry.functions.voidRegistration(asset_id), what="void registration")).tx_hash

    async def _require_disputed(self, asset_id: str) -> None:
        info = await self._entry(asset_id)
        if info["status"] != "disputed":
            raise GaibValueError(
                f"{asset_id} is {info['status']!r}, not disputed: dispute_asset first", asset_id=asset_id
            )

    # ---- stage 1: digitize ----

    def asset_adapter(self, kind: str, options: AdapterOptions | dict[str, Any] | None = None) -> AssetAdapter:
        return self.plugins.asset_adapter(kind)(options)

    async def read_inventory(
        self, kind: str, source: str | Path | None = None, *, options: dict[str, Any] | None = None
    ) -> Inventory:
        """Read an inventory through the kind's adapter; ``source=None`` reads the adapter's example."""
        adapter = self.asset_adapter(kind, options)
        if source is None:
            source = adapter.example_source()
            if source is None:
                raise GaibConfigError(f"the {kind!r} adapter ships no example inventory: give a source")
        return await adapter.read_inventory(source)

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
        attestations. Prove an asset's membership with :meth:`cluster_proof` and :meth:`verify_in_cluster`.
        The registry cannot see inside clusters: the SDK refuses a cluster holding an asset that is
        registered on its own, and a cluster registered before.

        ``progress(done, total)`` is called after each batch is mined (the CLI draws a bar with it)."""
        inventory = (
            source if isinstance(source, Inventory) else await self.read_inventory(kind, source, options=options)
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
                _bytes32(kind),
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
        call = registry.functions.registerCluster(tree.root, _bytes32(kind), self.address, len(tree), attestation_root)
        key = f"cluster:{registry.address}:{tree.root}"
        result = await self.send(call, what=f"register a cluster of {len(tree)} {kind} assets", key=key)
        return DigitizeResult(
            kind=kind,
            owner=self.address,
            asset_ids=[i for _, i, _ in new],
            tx_hashes=[result.tx_hash],
            cluster_root=tree.root,
        )

    def cluster_proof(self, inventory: Inventory, asset_id: str) -> list[str]:
        """The proof that ``asset_id`` is in the cluster of ``inventory``."""
        tree = cluster_tree(inventory)
        asset = next((a for a in inventory.assets if a.asset_id == asset_id), None)
        if asset is None:
            raise GaibValueError(f"asset {asset_id} is not in this inventory")
        return tree.proof(merkle_leaf(asset.asset_id, asset.record_hash))

    async def verify_in_cluster(self, root: str, asset: AssetRecord, proof: list[str]) -> bool:
        """Whether the registry accepts ``proof`` that ``asset`` (its id and record hash) is in cluster ``root``."""
        call = self.protocol.registry.functions.verifyInCluster(root, asset.asset_id, asset.record_hash, proof)
        return bool(await call.call())

    async def asset(self, asset_id: str, *, inventory: Inventory | None = None) -> dict[str, Any]:
        """An asset as the registry holds it. An id that is a cluster root gives :meth:`cluster`. A GPU
        inside a cluster has no entry of its own: given the ``inventory`` it was digitized from, the
        cluster whose root that inventory hashes to answers for it (its owner, status and attestation,
        with ``cluster_root`` set); a record changed since then no longer hashes to the root."""
        registry = self.protocol.registry.functions
        a = await registry.getAsset(asset_id).call()
        if a[3] == 0:
            if (await registry.getCluster(asset_id).call())[2] > 0:
                return await self.cluster(asset_id)
            member = next((x for x in inventory.assets if x.asset_id == asset_id), None) if inventory else None
            if inventory is not None and member is not None:
                root = cluster_tree(inventory).root
                c = await self.cluster(root)
                if c["size"] > 0:
                    return {
                        **c,
                        "asset_id": asset_id,
                        "record_hash": member.record_hash,
                        "attested_at": None,
                        "cluster_root": root,
                    }
        return {**_asset_info(asset_id, a), **await self._ownership(asset_id, a[3])}

    async def _ownership(self, asset_id: str, status: int) -> dict[str, Any]:
        """``ownership``: "none", "provisional", "confirmed" or "disputed"; ``confirms_at``: when the delay
        confirms it (unix seconds)."""
        return _ownership(status, *await self.protocol.registry.functions.confirmation(asset_id).call())

    async def cluster(self, root: str) -> dict[str, Any]:
        """A cluster as the registry holds it (``size`` 0 and status ``none`` for an unknown root)."""
        registry = self.protocol.registry
        c = await registry.functions.getCluster(root).call()
        attestation = bytes(c[5])
        if c[2] > 0 and not any(attestation):
            # The registry keeps a cluster in one slot: the registration's attestation is in its event only,
            # until attestCluster records a newer one.
            logs = await registry.events.ClusterAttested().get_logs(
                from_block=self.protocol.deployment.block, argument_filters={"root": root}
            )
            if logs:
                attestation = bytes(logs[-1]["args"]["attestation"])
        return {
            "asset_id": root,
            "cluster_root": root,
            "kind": c[0].rstrip(b"\0").decode(),
            "owner": c[1],
            "size": c[2],
            "registered_at": c[3],
            "status": ASSET_STATUSES[c[4]],
            "attestation": "0x" + attestation.hex(),
            **await self._ownership(root, c[4] if c[2] > 0 else 0),
        }

    # ---- stage 2: financialize ----

    def appraise(
        self,
        kind: str,
        inventory: Inventory,
        as_of: date | None = None,
        *,
        options: dict[str, Any] | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> list[AssetValuation]:
        """Value each asset of an inventory through the kind's adapter (with its ``options``), checked against
        the kind's market prices where a plugin supplies them (:meth:`market_prices`): the lower of depreciated
        cost, market value and income value. An asset bought after ``as_of`` is refused (UnderwritingError, rule
        ``asset_dates``): it has no value yet to lend on; a stated price far above the market, rule ``stated_price``."""
        adapter = self.asset_adapter(kind, options)
        day = as_of or date.today()
        check_asset_dates(inventory.assets, day)
        valuations = adapter.appraise_inventory(inventory, day)
        market = self.market_prices(kind, prices)
        if market is None:
            return valuations
        return mark_to_market(inventory.assets, valuations, market, day, credit_policy(policy))

    def market_prices(self, kind: str, table: str | Path | None = None) -> MarketPriceSource | None:
        """The kind's market-price source (hook ``register_market_prices``), reading the newer price table
        ``table`` (a path or URL, its option ``table``) when given; None where no plugin prices the kind."""
        cls = self.plugins.market_price_sources().get(kind)
        if cls is None:
            if table is not None:
                raise GaibConfigError(f"no market-price source for kind {kind!r}: a price table cannot be read")
            return None
        return cls({"table": str(table)} if table is not None else None)

    async def quote(
        self,
        kind: str,
        source: Inventory | str | Path | None = None,
        *,
        as_of: date | None = None,
        advance_usd: Decimal | None = None,
        terms: DealTerms | dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        stress: StressPolicy | dict[str, Any] | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> Quote:
        """Underwrite an inventory: appraise it, check the hard rules, price the advance, and stress the
        deal (``stress``: a :class:`~gaib_sdk.models.StressPolicy` or its fields; docs/underwriting.md).
        ``policy`` (a :class:`~gaib_sdk.models.CreditPolicy` or its fields) holds the limits on the inputs;
        ``prices`` a newer market-price table for the kind's price source. No transaction."""
        inventory = await self._inventory(kind, source, options)
        day = as_of or date.today()
        adapter = self.asset_adapter(kind, options)
        return underwrite(
            inventory,
            adapter.appraise_inventory(inventory, day),
            as_of=day,
            advance_usd=advance_usd,
            terms=_terms(terms),
            costs=adapter.operating_costs(inventory, day),
            on_demand=adapter.on_demand(inventory, day),
            stress=_with_scenarios(stress_policy(stress), adapter.stress_scenarios(inventory, day)),
            price_ceiling_usd=adapter.price_ceiling(inventory),
            market=self.market_prices(kind, prices),
            policy=credit_policy(policy),
        )

    async def _inventory(
        self, kind: str, source: Inventory | str | Path | None, options: dict[str, Any] | None
    ) -> Inventory:
        return source if isinstance(source, Inventory) else await self.read_inventory(kind, source, options=options)

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
        stress test (``stress``, as for :meth:`quote`) must pass before anything is sent.

        An inventory digitized as a cluster (``digitize(..., cluster=True)``) is financed by its cluster
        root: the root is recomputed from the inventory and must be registered (and equal ``cluster_root``,
        the digitize result's, when given), so every record hashes to what was registered."""
        inventory = await self._inventory(kind, source, options)
        q = await self.quote(
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
            reads += [p.leases.functions.priceCeiling(_bytes32(kind)), self._role_read(p.leases, "UNDERWRITER_ROLE")]
        await self.chain.prefetch(reads)  # the checks below, read in one call
        on_chain_cap = Decimal(await p.facility.functions.maxAdvanceBps().call()) / 10_000
        if on_chain_cap < MAX_ADVANCE_RATE and q.advance_usd > q.appraised_value_usd * on_chain_cap:
            raise UnderwritingError(
                f"advance {q.advance_usd} USDC exceeds the facility's on-chain cap of {on_chain_cap:.0%} of "
                f"appraised value {q.appraised_value_usd} USDC",
                rule="max_advance",
            )
        cluster = await self.cluster(root)
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
                info = {**_asset_info(asset.asset_id, a), **_ownership(a[3], *conf)}
            else:
                info = await self.asset(asset.asset_id)
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
                d = await self.deal(deal_id)
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
        ceiling = self.asset_adapter(kind, options).price_ceiling(inventory)
        lease_ids = await self._pledgeable_leases(
            kind, inventory, q.as_of, borrower, collateral, units, ceiling, resuming
        )
        return await self._open_deal(q, borrower, deal_key, collateral, lease_ids)

    async def remark(
        self,
        kind: str,
        sources: Sequence[Inventory | str | Path] | None = None,
        *,
        as_of: date | None = None,
        options: dict[str, Any] | None = None,
        policy: CreditPolicy | dict[str, Any] | None = None,
        prices: str | Path | None = None,
    ) -> list[dict[str, Any]]:
        """Re-mark every open deal's collateral (active or impaired) at ``as_of``: each inventory of ``sources``
        (by default the kind's example) is matched to the deal whose collateral it is (its asset ids, or its
        cluster root) and valued again as :meth:`appraise` does (lower of depreciated cost, market and income);
        the LTV is the principal outstanding over that current value, beside the LTV against the value at
        origination. A deal no inventory matches keeps ``current_value_usd`` None: give its inventory."""
        day = as_of or date.today()
        given: Sequence[Inventory | str | Path | None] = sources or [None]
        inventories = [await self._inventory(kind, src, options) for src in given]
        keyed: list[tuple[set[str], Inventory]] = []
        for inv in inventories:
            keyed.append(({a.asset_id.lower() for a in inv.assets}, inv))
            keyed.append(({cluster_tree(inv).root.lower()}, inv))
        rows = []
        for deal_id in range(1, await self.protocol.facility.functions.dealCount().call() + 1):
            d = await self.deal(deal_id)
            if d.status not in (DealStatus.ACTIVE, DealStatus.IMPAIRED):
                continue
            held = {c.lower() for c in d.collateral}
            match = next((inv for ids, inv in keyed if ids == held), None)
            current: Decimal | None = None
            binding: str | None = None
            if match is not None:
                valued = self.appraise(kind, match, day, options=options, policy=policy, prices=prices)
                current = sum((v.value_usd for v in valued), Decimal(0))
                bindings = {v.binding for v in valued}
                binding = str(bindings.pop()) if len(bindings) == 1 else "mixed"
            owed = d.principal_outstanding_usd

            def ltv(value: Decimal | None, owed: Decimal = owed) -> Decimal | None:
                return None if not value else (owed / value).quantize(Decimal("0.0001"))

            rows.append(
                {
                    "deal_id": deal_id,
                    "borrower": d.borrower,
                    "status": d.status.name.lower(),
                    "as_of": day.isoformat(),
                    "principal_outstanding_usd": owed,
                    "value_at_origination_usd": d.appraised_value_usd,
                    "current_value_usd": current,
                    "binding": binding,
                    "ltv_at_origination": ltv(d.appraised_value_usd),
                    "ltv_now": ltv(current),
                }
            )
        return rows

    # ---- receivables (leases) ----

    async def _pledgeable_leases(
        self,
        kind: str,
        inventory: Inventory,
        as_of: date,
        borrower: str,
        collateral: list[str],
        units: int,
        ceiling_usd: Decimal,
        resuming: bool,
    ) -> list[str]:
        """The lease ids a new deal on ``collateral`` is pledged: the inventory's contracts signed by ``as_of``
        and not ended on-chain, registered first if they are not (covering the whole collateral), the kind's
        price ceiling set first if it is not. Refused before anything is sent: a lease that backs another open
        deal, covers what the deal does not hold, or revenue above the collateral's capacity on-chain."""
        p = self.protocol
        if p.leases is None:
            raise GaibConfigError(
                "this deployment has no LeaseRegistry (it predates the receivables): deploy the protocol again",
                chain_id=self.chain.chain_id,
            )
        now = await self.chain.timestamp()
        contracts = [c for c in running_contracts(inventory.contracts, as_of) if _lease_end(c) > now]
        ceiling = await p.leases.functions.priceCeiling(_bytes32(kind)).call()
        set_ceiling = bool(contracts) and ceiling == 0
        if set_ceiling:
            await self._require_role(p.leases, "UNDERWRITER_ROLE", f"set the {kind!r} price ceiling")
            ceiling = to_units(ceiling_usd, USDC_DECIMALS, what=f"the {kind!r} adapter's price ceiling")
        check_capacity(contracts, units, _usdc(ceiling))  # the chain's ceiling binds, not the adapter's
        wanted = {c.lower() for c in collateral}
        ids, new = [], []
        await self.chain.prefetch([p.leases.functions.getLease(lease_id(borrower, c)) for c in contracts])
        for c in contracts:
            lid = lease_id(borrower, c)
            lease = await self.lease(lid)
            ids.append(lid)
            if lease["operator"] is None:
                new.append(c)
                continue
            if lease["deal_id"] is not None and not resuming:
                raise UnderwritingError(
                    f"lease {lid} ({c.customer}, {c.starts_on}, {c.monthly_revenue_usd} USD a month) already backs "
                    f"open deal {lease['deal_id']}: a lease backs one open deal at a time; close that deal first",
                    rule="lease_pledged",
                )
            outside = [x for x in lease["covers"] if x.lower() not in wanted]
            if outside:
                raise UnderwritingError(
                    f"lease {lid} ({c.customer}) covers {outside[0]}, which this deal's collateral does not hold: "
                    "a lease backs only a deal that holds all it covers",
                    rule="lease_covers",
                )
        if new and self.address != borrower:
            await self._require_role(p.leases, "UNDERWRITER_ROLE", f"register the leases of {borrower}")
        # every check passed: only now is anything sent
        if set_ceiling:
            call = p.leases.functions.setPriceCeiling(_bytes32(kind), ceiling)
            await self.send(call, what=f"set the {kind} price ceiling")
        for c in new:
            call = p.leases.functions.register(
                borrower,
                c.customer_hash,
                c.contract_ref,
                to_units(c.monthly_revenue_usd, USDC_DECIMALS, what=f"{c.customer}'s monthly amount"),
                _lease_start(c),
                _lease_end(c),
                collateral,
            )
            key = f"lease:{p.leases.address}:{lease_id(borrower, c)}"
            await self.send(call, what=f"register the lease of {c.customer}", key=key)
        return ids

    async def lease(self, lease_id: str) -> dict[str, Any]:
        """A lease as the LeaseRegistry holds it: its operator (None if it is not registered), customer hash,
        contract reference, monthly amount (USD), start and end (unix seconds), the collateral it covers and
        the open deal it backs (None while it backs none)."""
        leases = self._leases()
        raw = await leases.functions.getLease(lease_id).call()
        registered = int(raw[0], 16) != 0
        return {
            "lease_id": lease_id,
            "operator": raw[0] if registered else None,
            "start": raw[1],
            "end": raw[2],
            "customer_hash": "0x" + raw[3].hex(),
            "contract_ref": "0x" + raw[4].hex(),
            "monthly_usd": _usdc(raw[5]),
            "deal_id": raw[6] or None,
            "covers": ["0x" + c.hex() for c in await leases.functions.coversOf(lease_id).call()] if registered else [],
        }

    async def deal_leases(self, deal_id: int) -> list[str]:
        """The ids of the leases pledged to a deal when it opened (still listed once it has closed)."""
        return ["0x" + x.hex() for x in await self._leases().functions.leasesOf(deal_id).call()]

    async def set_price_ceiling(self, kind: str, usd_per_unit_hour: Decimal | int | str) -> str:
        """Underwriter: the most one unit of ``kind`` earns an hour, the cap on its deals' contracted revenue."""
        leases = self._leases()
        await self._require_role(leases, "UNDERWRITER_ROLE", f"set the {kind!r} price ceiling")
        amount = to_units(usd_per_unit_hour, USDC_DECIMALS, what="price ceiling")
        return (await self.send(leases.functions.setPriceCeiling(_bytes32(kind), amount), what="set ceiling")).tx_hash

    def _leases(self) -> AsyncContract:
        if self.protocol.leases is None:
            raise GaibConfigError(
                "this deployment has no LeaseRegistry (it predates the receivables): deploy the protocol again",
                chain_id=self.chain.chain_id,
            )
        return self.protocol.leases

    async def _open_deal(
        self, q: Quote, borrower: str, key: str, collateral: list[str] | None = None, leases: list[str] | None = None
    ) -> FinanceResult:
        p, t = self.protocol, q.terms
        call = p.facility.functions.openDeal(
            borrower,
            q.asset_ids if collateral is None else collateral,
            to_units(q.appraised_value_usd, USDC_DECIMALS, what="appraised value"),
            to_units(q.advance_usd, USDC_DECIMALS, what="advance"),
            (STRUCTURES[t.structure], t.rate_bps, t.revenue_share_bps, t.fee_bps, t.term_days),
            leases or [],
        )
        result = await self.send(call, what="open deal", key=key)
        event = p.facility.events.DealOpened().process_receipt({"logs": result.logs}, errors=DISCARD)
        deal_id = int(event[0]["args"]["dealId"])
        deal = await self.deal(deal_id)
        if (deal.advance_usd, deal.terms) != (q.advance_usd, q.terms):
            # The journal gave back the deal an earlier request opened on this collateral: this request, asking
            # for other figures, is not that one resumed but a second deal on the same collateral.
            raise UnderwritingError(
                f"this collateral is already financed by deal {deal_id} (advance {deal.advance_usd} USDC, "
                f"{_terms_text(deal.terms)}; opened in tx {result.tx_hash}): a second deal on it is refused, "
                f"nothing was sent. This request asked for advance {q.advance_usd} USDC, {_terms_text(q.terms)}",
                rule="real_collateral",
            )
        return FinanceResult(quote=q, deal=deal, tx_hash=result.tx_hash)

    def _deal_reads(self, deal_id: int) -> list[Any]:
        """The reads of :meth:`deal`, for :meth:`Chain.prefetch`."""
        f = self.protocol.facility.functions
        return [f.getDeal(deal_id), f.collateralOf(deal_id), f.servicing(deal_id)]

    @read_ahead
    async def deal(self, deal_id: int) -> DealInfo:
        """A deal as the chain holds it, with fees and interest accrued to the latest block."""
        p = self.protocol
        await self.chain.prefetch(self._deal_reads(deal_id))
        d = await p.facility.functions.getDeal(deal_id).call()
        if d[2] == 0:
            raise GaibValueError(
                f"there is no deal {deal_id} (deals so far: {await p.facility.functions.dealCount().call()})"
            )
        collateral = await p.facility.functions.collateralOf(deal_id).call()
        lockbox = (await p.facility.functions.servicing(deal_id).call())[0]
        structure, rate, share, fee, term = d[1]
        return DealInfo(
            deal_id=deal_id,
            borrower=d[0],
            status=DealStatus(d[2]),
            appraised_value_usd=_usdc(d[5]),
            advance_usd=_usdc(d[6]),
            principal_outstanding_usd=_usdc(d[7]),
            interest_due_usd=_usdc(d[8]),
            fees_due_usd=_usdc(d[9]),
            interest_paid_usd=_usdc(d[10]),
            fees_paid_usd=_usdc(d[11]),
            cash_reserve_usd=_usdc(d[12]),
            impairment_usd=_usdc(d[13]),
            terms=DealTerms(
                structure=STRUCTURE_NAMES[structure],
                rate_bps=rate,
                revenue_share_bps=share,
                fee_bps=fee,
                term_days=term,
            ),
            collateral=["0x" + c.hex() for c in collateral],
            lockbox=lockbox,
        )

    @read_ahead
    async def repay(self, deal_id: int, amount_usd: Decimal | int | str, *, key: str | None = None) -> Repayment:
        """Pay up to ``amount_usd`` USDC into a deal. The waterfall takes fees, then interest (which goes
        to sAID holders), then principal; whatever is not owed stays with the payer. With ``key`` (e.g. the
        period's invoice number), calling again after a crash pays once."""
        p = self.protocol
        amount = to_units(amount_usd, USDC_DECIMALS, what="repayment")
        repay_key = self._key(key, f"repay:{deal_id}")
        call = p.facility.functions.repay(deal_id, amount)
        if not self._resuming(repay_key):
            if amount == 0:
                raise GaibValueError("repayment must be more than 0 USDC")
            await self.chain.prefetch([*self._deal_reads(deal_id), *self.balance_reads(p.usdc, p.facility)])
            info = await self.deal(deal_id)
            if info.status not in (DealStatus.ACTIVE, DealStatus.IMPAIRED):
                raise GaibValueError(f"deal {deal_id} is {info.status.name.lower()}, not active: nothing to repay")
            await self.require_balance(p.usdc, amount, "USDC", "repay")
            await self.approve(p.usdc, p.facility.address, amount)
        result = await self.send(call, what=f"repay deal {deal_id}", key=repay_key)
        ev = p.facility.events.Repaid().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return Repayment(
            deal_id=deal_id,
            fees_usd=_usdc(ev["fees"]),
            interest_usd=_usdc(ev["interest"]),
            principal_usd=_usdc(ev["principal"]),
            excess_usd=_usdc(ev["excess"]),
            tx_hash=result.tx_hash,
        )

    async def repay_from_revenue(self, deal_id: int, gross_revenue_usd: Decimal | int | str) -> Repayment:
        """Revenue-share and hybrid deals: pay the lender's share of a period's gross revenue."""
        info = await self.deal(deal_id)
        if info.terms.structure == "fixed":
            raise GaibValueError(f"deal {deal_id} is a {info.terms.structure} deal: use repay()")
        gross = to_units(gross_revenue_usd, USDC_DECIMALS, what="gross revenue")
        share = gross * info.terms.revenue_share_bps // 10_000
        if share == 0:
            raise GaibValueError(f"the lender's share of {gross_revenue_usd} USDC gross revenue rounds to 0")
        return await self.repay(deal_id, from_units(share, USDC_DECIMALS))

    # ---- trouble and recovery (underwriter) ----

    async def _underwrite(self, call: Any, what: str) -> str:
        await self._require_role(self.protocol.facility, "UNDERWRITER_ROLE", what)
        return (await self.send(call, what=what)).tx_hash

    async def _deal_in(self, deal_id: int, *statuses: DealStatus) -> DealInfo:
        info = await self.deal(deal_id)
        if info.status not in statuses:
            wanted = " or ".join(s.name.lower() for s in statuses)
            raise GaibValueError(f"deal {deal_id} is {info.status.name.lower()}, not {wanted}")
        return info

    async def impair(self, deal_id: int, markdown_usd: Decimal | int | str) -> str:
        """Mark an active deal down by its expected loss while it is worked out. sAID's share price falls by it
        in the same block (less income not vested yet, which absorbs it first)."""
        info = await self._deal_in(deal_id, DealStatus.ACTIVE)
        markdown = to_units(markdown_usd, USDC_DECIMALS, what="markdown")
        if not 0 < markdown <= to_units(info.principal_outstanding_usd, USDC_DECIMALS, what="principal"):
            raise GaibValueError(
                f"markdown {markdown_usd} USDC must be above 0 and at most the principal outstanding, "
                f"{info.principal_outstanding_usd} USDC"
            )
        return await self._underwrite(self.protocol.facility.functions.impair(deal_id, markdown), "impair a deal")

    async def cure(self, deal_id: int) -> str:
        """An impaired deal is performing again: its markdown vests back into sAID's share price over the
        vesting period, not at once."""
        await self._deal_in(deal_id, DealStatus.IMPAIRED)
        return await self._underwrite(self.protocol.facility.functions.cure(deal_id), "cure a deal")

    async def declare_default(self, deal_id: int) -> str:
        """The borrower has defaulted: the hardware goes to the underwriter by a true sale, and the deal is
        marked down to at least its principal outstanding less its cash reserve, at once."""
        await self._deal_in(deal_id, DealStatus.ACTIVE, DealStatus.IMPAIRED)
        return await self._underwrite(self.protocol.facility.functions.declareDefault(deal_id), "declare a default")

    async def transfer_to_operator(self, deal_id: int, new_borrower: str) -> str:
        """Recovery by transfer: another operator takes the hardware and the deal goes on with it."""
        await self._deal_in(deal_id, DealStatus.DEFAULTED)
        call = self.protocol.facility.functions.transferToOperator(deal_id, new_borrower)
        return await self._underwrite(call, "transfer a deal to another operator")

    async def record_liquidation(self, deal_id: int, proceeds_usd: Decimal | int | str) -> dict[str, Decimal]:
        """Recovery by liquidation: pay in what the hardware sold for. With the deal's cash reserve it repays
        principal, then unpaid interest; the rest of the principal is a realized loss, borne first by sAID."""
        p = self.protocol
        await self._deal_in(deal_id, DealStatus.DEFAULTED)
        proceeds = to_units(proceeds_usd, USDC_DECIMALS, what="liquidation proceeds")
        await self._require_role(p.facility, "UNDERWRITER_ROLE", "record a liquidation")
        if proceeds:
            await self.require_balance(p.usdc, proceeds, "USDC", "pay in the liquidation proceeds")
            await self.approve(p.usdc, p.facility.address, proceeds)
        result = await self.send(p.facility.functions.recordLiquidation(deal_id, proceeds), what="record liquidation")
        ev = p.facility.events.DealLiquidated().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return {
            "proceeds_usd": _usdc(ev["proceeds"]),
            "cash_reserve_usd": _usdc(ev["cashReserve"]),
            "principal_recovered_usd": _usdc(ev["principalRecovered"]),
            "loss_usd": _usdc(ev["loss"]),
            "excess_usd": _usdc(ev["excess"]),
        }

    # ---- AID and sAID ----

    async def whitelist(self, account: str, allowed: bool = True) -> str:
        """KYC manager: allow (or stop) ``account`` to mint and redeem AID."""
        aid = self.protocol.aid
        await self._require_role(aid, "KYC_MANAGER_ROLE", "whitelist accounts")
        return (await self.send(aid.functions.setWhitelisted(account, allowed), what="whitelist")).tx_hash

    async def deny(self, account: str, denied: bool = True) -> str:
        """Deny-list guard: stop (or allow again) ``account`` from sending, receiving or redeeming AID and sAID."""
        aid = self.protocol.aid
        await self._require_role(aid, "DENYLIST_ROLE", "change the deny list")
        return (await self.send(aid.functions.setDenied(account, denied), what="deny list")).tx_hash

    def _pausable(self, token: str) -> tuple[AsyncContract, str]:
        if token not in ("AID", "sAID"):
            raise GaibValueError(f"token {token!r} cannot be paused: give 'AID' or 'sAID'")
        return (self.protocol.aid if token == "AID" else self.protocol.said), token

    async def pause(self, token: str = "AID") -> str:
        """Pauser: stop minting, redeeming and deal funding (``token="AID"``), or sAID deposits and exit
        requests (``token="sAID"``; claims of filled exits still pay)."""
        contract, name = self._pausable(token)
        await self._require_role(contract, "PAUSER_ROLE", f"pause {name}")
        if await contract.functions.paused().call():
            raise GaibValueError(f"{name} is already paused")
        return (await self.send(contract.functions.pause(), what=f"pause {name}")).tx_hash

    async def unpause(self, token: str = "AID") -> str:
        contract, name = self._pausable(token)
        await self._require_role(contract, "PAUSER_ROLE", f"unpause {name}")
        if not await contract.functions.paused().call():
            raise GaibValueError(f"{name} is not paused")
        return (await self.send(contract.functions.unpause(), what=f"unpause {name}")).tx_hash

    @read_ahead
    async def mint_aid(
        self, usdc_amount: Decimal | int | str, *, stablecoin: str = "USDC", key: str | None = None
    ) -> Receipt:
        """Mint AID 1:1 for USDC (or ``stablecoin="USDT"``). Only KYC-whitelisted accounts may. ``key`` (any
        string unique to this request, e.g. an order id) makes it safe to call again after a crash: it mints
        once."""
        p = self.protocol
        token, symbol = self._stablecoin(stablecoin)
        amount = to_units(usdc_amount, USDC_DECIMALS, what=f"{symbol} amount")
        call = p.aid.functions.mint(amount) if token is p.usdc else p.aid.functions.mintWith(token.address, amount)
        mint_key = self._key(key, "mint")
        if self._resuming(mint_key):
            result = await self.send(call, what="mint AID", key=mint_key)
            return Receipt("mint_aid", from_units(amount * 10**12, AID_DECIMALS), [result.tx_hash])
        if amount == 0:
            raise GaibValueError(f"mint amount must be more than 0 {symbol}")
        aid = p.aid.functions
        await self.chain.prefetch(
            [aid.paused(), aid.isWhitelisted(self.address), aid.mintCapPerBlock(), *self.balance_reads(token, p.aid)]
        )
        await self._require_not_paused("mint AID")
        if not await p.aid.functions.isWhitelisted(self.address).call():
            raise NotWhitelistedError(
                f"account {self.address} is not KYC-whitelisted to mint AID: complete KYC, then ask a KYC manager "
                "to whitelist it (Gaib.whitelist), or buy AID on a DEX"
            )
        cap = await p.aid.functions.mintCapPerBlock().call()
        if amount > cap:
            raise GaibValueError(
                f"mint of {usdc_amount} {symbol} exceeds the per-block mint cap of {from_units(cap, USDC_DECIMALS)} "
                f"{symbol}: "
                "split it over several blocks"
            )
        await self.require_balance(token, amount, symbol, "mint AID")
        hashes = await self.approve(token, p.aid.address, amount)
        result = await self.send(call, what="mint AID", key=mint_key)
        return Receipt("mint_aid", from_units(amount * 10**12, AID_DECIMALS), [*hashes, result.tx_hash])

    async def redeem_aid(
        self, aid_amount: Decimal | int | str, *, stablecoin: str = "USDC", key: str | None = None
    ) -> Receipt:
        """Redeem AID for USDC (or ``stablecoin="USDT"``) 1:1, from that stablecoin's liquid reserve. Only
        KYC-whitelisted accounts may. With ``key``, calling again after a crash redeems once."""
        p = self.protocol
        token, symbol = self._stablecoin(stablecoin)
        amount = to_units(aid_amount, AID_DECIMALS, what="AID amount")
        usdc_out = amount // 10**12
        call = p.aid.functions.redeem(amount) if token is p.usdc else p.aid.functions.redeemTo(token.address, amount)
        redeem_key = self._key(key, "redeem")
        if self._resuming(redeem_key):
            result = await self.send(call, what="redeem AID", key=redeem_key)
            return Receipt("redeem_aid", from_units(usdc_out, USDC_DECIMALS), [result.tx_hash])
        if usdc_out == 0:
            raise GaibValueError(f"redeeming {aid_amount} AID pays less than one {symbol} unit (0.000001)")
        await self._require_not_paused("redeem AID")
        if not await p.aid.functions.isWhitelisted(self.address).call():
            raise NotWhitelistedError(
                f"account {self.address} is not KYC-whitelisted to redeem AID: sell it on a DEX (the Curve "
                "AID/USDC pool), or complete KYC"
            )
        await self.require_balance(p.aid, amount, "AID", "redeem")
        cap = await p.aid.functions.redeemCapPerBlock().call()
        if usdc_out > cap:
            raise GaibValueError(
                f"redeeming {from_units(usdc_out, USDC_DECIMALS)} USDC exceeds the per-block redeem cap of "
                f"{from_units(cap, USDC_DECIMALS)} USDC: split it over several blocks"
            )
        reserve = await p.aid.functions.reserveOf(token.address).call()
        if usdc_out > reserve:
            where = (
                "the rest is out in deals and returns as they repay"
                if token is p.usdc
                else "redeem into USDC, or queue for it (request_redemption)"
            )
            which = "reserve" if token is p.usdc else f"{symbol} reserve"
            raise InsufficientFundsError(
                f"the liquid {which} holds {from_units(reserve, USDC_DECIMALS)} {symbol}, less than the "
                f"{from_units(usdc_out, USDC_DECIMALS)} asked: {where}"
            )
        result = await self.send(call, what="redeem AID", key=redeem_key)
        return Receipt("redeem_aid", from_units(usdc_out, USDC_DECIMALS), [result.tx_hash])

    async def request_redemption(self, aid_amount: Decimal | int | str) -> int:
        """Queue a redemption that the liquid reserve cannot cover now: the AID is escrowed and paid, in
        order, as cash comes back; claim it with :meth:`claim_redemption`. Returns the request id."""
        p = self.protocol
        amount = to_units(aid_amount, AID_DECIMALS, what="AID amount")
        if amount // 10**12 == 0:
            raise GaibValueError(f"redeeming {aid_amount} AID pays less than one USDC unit (0.000001)")
        if not await p.aid.functions.isWhitelisted(self.address).call():
            raise NotWhitelistedError(f"account {self.address} is not KYC-whitelisted to redeem AID")
        await self._require_not_paused("redeem AID")
        await self.require_balance(p.aid, amount, "AID", "queue a redemption")
        cap = await p.aid.functions.redeemCapPerBlock().call()
        if amount // 10**12 > cap:
            raise GaibValueError(
                f"queueing {from_units(amount // 10**12, USDC_DECIMALS)} USDC of redemptions exceeds the per-block "
                f"redeem cap of {from_units(cap, USDC_DECIMALS)} USDC (a queued redemption counts as a redemption): "
                "split it over several blocks"
            )
        result = await self.send(p.aid.functions.requestRedemption(amount), what="request redemption")
        ev = p.aid.events.RedemptionRequested().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return int(ev["requestId"])

    async def process_redemptions(self, max_requests: int = 50) -> str:
        """Fill waiting redemption requests, in order, from the liquid reserve. Anyone may."""
        return (
            await self.send(self.protocol.aid.functions.processRedemptions(max_requests), what="fill queue")
        ).tx_hash

    async def claim_redemption(self) -> Receipt:
        """Take the USDC set aside for this account's filled redemptions."""
        p = self.protocol
        owed = await p.aid.functions.claimable(self.address).call()
        if await p.aid.functions.isDenied(self.address).call():
            raise GaibValueError(f"account {self.address} is on the deny list: it cannot claim redemptions")
        if owed == 0:
            raise GaibValueError(f"account {self.address} has nothing to claim: its requests are not filled yet")
        result = await self.send(p.aid.functions.claim(), what="claim redemption")
        return Receipt("claim_redemption", from_units(owed, USDC_DECIMALS), [result.tx_hash])

    async def redemption_queue(self, account: str | None = None) -> dict[str, Any]:
        """The queue: waiting requests, USDC still owed to them, and what ``account`` (this client's own by
        default; none for a client without one) may claim."""
        aid = self.protocol.aid
        who = account or (self._account.address if self._account is not None else None)
        claimable = await aid.functions.claimable(who).call() if who else 0
        return {
            "waiting": int(await aid.functions.queueLength().call()),
            "owed_usdc": from_units(await aid.functions.queuedStable().call(), USDC_DECIMALS),
            "claimable_usdc": from_units(claimable, USDC_DECIMALS),
        }

    @read_ahead
    async def stake(self, aid_amount: Decimal | int | str, *, key: str | None = None) -> Receipt:
        """Deposit AID into the sAID vault; returns the shares received. One transaction: no approve is sent,
        the allowance comes from an EIP-2612 permit signed here when the current one is short. With ``key``,
        calling again after a crash stakes once."""
        p = self.protocol
        amount = to_units(aid_amount, AID_DECIMALS, what="AID amount")
        stake_key = self._key(key, "stake")
        if self._resuming(stake_key):
            result = await self.send(await self._stake_call(amount), what="stake AID", key=stake_key)
            ev = p.said.events.Deposit().process_receipt({"logs": result.logs}, errors=DISCARD)
            shares = ev[0]["args"]["shares"] if ev else 0
            return Receipt("stake", from_units(shares, AID_DECIMALS), [result.tx_hash])
        if amount == 0:
            raise GaibValueError("stake amount must be more than 0 AID")
        await self.chain.prefetch(
            [
                p.said.functions.paused(),
                p.said.functions.previewDeposit(amount),
                *self.balance_reads(p.aid, p.said),
                *self._permit_reads(p.aid),
                self.chain.clock_read(),
            ]
        )
        await self._require_not_paused("stake", token="sAID")
        await self.require_balance(p.aid, amount, "AID", "stake")
        shares = await p.said.functions.previewDeposit(amount).call()
        result = await self.send(await self._stake_call(amount), what="stake AID", key=stake_key)
        return Receipt("stake", from_units(shares, AID_DECIMALS), [result.tx_hash])

    async def _stake_call(self, amount: int) -> Any:
        """sAID's deposit of ``amount`` AID: a plain deposit when the allowance already covers it, otherwise
        one transaction that carries an EIP-2612 permit signed here (no approve sent first)."""
        p = self.protocol
        if await p.aid.functions.allowance(self.address, p.said.address).call() >= amount:
            return p.said.functions.deposit(amount, self.address)
        permit = await self.sign_permit(p.aid, p.said.address, amount)
        return p.said.functions.depositWithPermit(amount, self.address, *permit)

    # ---- sAID exit: ERC-7540 requests, monthly cycles, claims ----

    async def request_unstake(
        self, shares: Decimal | int | str, *, controller: str | None = None, key: str | None = None
    ) -> int:
        """Ask to exit ``shares`` sAID (ERC-7540 ``requestRedeem``): the shares are locked in the vault and wait
        for the withdrawal manager's next cycle, which fills requests oldest first at the share price of that
        moment; then :meth:`claim_unstake` takes the AID. ``controller`` (this account by default) is who may
        claim. Returns the request id. With ``key``, calling again after a crash requests once."""
        p = self.protocol
        amount = to_units(shares, AID_DECIMALS, what="sAID shares")
        who = controller or self.address
        req_key = self._key(key, "request_unstake")
        if not self._resuming(req_key):
            if amount == 0:
                raise GaibValueError("exit request amount must be more than 0 sAID")
            if await p.said.functions.paused().call():
                raise GaibValueError("sAID is paused: exit requests are refused until a pauser unpauses it")
            for account in {self.address, who}:
                if await p.aid.functions.isDenied(account).call():
                    raise GaibValueError(f"account {account} is on the deny list: it cannot move or redeem sAID")
            await self.require_balance(p.said, amount, "sAID", "request an exit")
        call = p.said.functions.requestRedeem(amount, who, self.address)
        result = await self.send(call, what="request sAID exit", key=req_key)
        ev = p.said.events.RedeemRequest().process_receipt({"logs": result.logs}, errors=DISCARD)
        return int(ev[0]["args"]["requestId"])

    async def unstake_request(self, request_id: int, controller: str | None = None) -> dict[str, Decimal]:
        """One exit request: its shares still pending (they roll over to the next cycle) and those filled and
        not claimed yet (ERC-7540 pendingRedeemRequest / claimableRedeemRequest)."""
        said = self.protocol.said.functions
        who = controller or self.address
        return {
            "pending_shares": from_units(await said.pendingRedeemRequest(request_id, who).call(), AID_DECIMALS),
            "claimable_shares": from_units(await said.claimableRedeemRequest(request_id, who).call(), AID_DECIMALS),
        }

    async def unstake_status(self, account: str | None = None) -> dict[str, Any]:
        """Where ``account``'s (this client's by default) exits stand, and the vault's withdrawal cycle: shares
        requested and waiting, shares filled and AID to claim, the current cycle and when its processing is due
        (unix seconds), the per-cycle cap and what waits in the queue."""
        said = self.protocol.said.functions
        who = account or self.address
        requested = await said.requestedShares(who).call()
        filled = await said.filledShares(who).call()
        return {
            "pending_shares": from_units(requested - filled, AID_DECIMALS),
            "claimable_shares": from_units(await said.maxRedeem(who).call(), AID_DECIMALS),
            "claimable_aid": from_units(await said.maxWithdraw(who).call(), AID_DECIMALS),
            "cycle": int(await said.currentCycle().call()),
            "next_cycle_at": int(await said.nextCycleAt().call()),
            "cycle_length_s": int(await said.cycleLength().call()),
            "cycle_cap_bps": int(await said.cycleCapBps().call()),
            "queue_length": int(await said.queueLength().call()),
            "queue_shares": from_units(await said.totalPendingShares().call(), AID_DECIMALS),
        }

    async def process_withdrawal_cycle(self, max_requests: int = 100) -> dict[str, Any]:
        """Withdrawal manager: fill waiting exit requests, oldest first, once the cycle is due. Returns the shares
        filled, the AID set aside for their claims, and whether the cycle closed (it stays open when
        ``max_requests`` cut it short: call again)."""
        said = self.protocol.said
        if max_requests < 1:
            raise GaibValueError(f"max_requests {max_requests} must be at least 1")
        await self._require_role(said, "WITHDRAWAL_MANAGER_ROLE", "process a withdrawal cycle")
        if await said.functions.paused().call():
            raise GaibValueError("sAID is paused: withdrawal cycles wait until a pauser unpauses it")
        due = int(await said.functions.nextCycleAt().call())
        now = await self.chain.timestamp()
        if now < due:
            raise GaibValueError(
                f"the withdrawal cycle is not due yet: processing opens at unix time {due}, {due - now} s from now"
            )
        result = await self.send(said.functions.processCycle(max_requests), what="process withdrawal cycle")
        ev = said.events.CycleProcessed().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return {
            "cycle": int(ev["cycle"]),
            "filled_shares": from_units(ev["shares"], AID_DECIMALS),
            "set_aside_aid": from_units(ev["assets"], AID_DECIMALS),
            "closed": bool(ev["closed"]),
            "next_cycle_at": int(ev["nextCycleAt"]),
            "tx_hash": result.tx_hash,
        }

    async def claim_unstake(
        self,
        shares: Decimal | int | str | None = None,
        *,
        receiver: str | None = None,
        controller: str | None = None,
        key: str | None = None,
    ) -> Receipt:
        """Claim the AID of filled exit requests (ERC-7540 ``redeem``): all that is claimable by default, or
        ``shares`` of it, paid to ``receiver`` (this account by default). ``controller`` is the account whose
        requests are claimed (this one, or one that made this account its operator). With ``key``, calling
        again after a crash claims once. Returns the AID paid."""
        p = self.protocol
        who = controller or self.address
        to = receiver or self.address
        claim_key = self._key(key, "claim_unstake")
        if self._resuming(claim_key):
            result = await self.send(p.said.functions.redeem(0, to, who), what="claim sAID exit", key=claim_key)
            return Receipt("claim_unstake", _withdrawn(p.said, result), [result.tx_hash])
        asked = None if shares is None else to_units(shares, AID_DECIMALS, what="sAID shares")
        claimable = await p.said.functions.maxRedeem(who).call()
        amount = claimable if asked is None else asked
        if claimable == 0:
            raise GaibValueError(
                f"account {who} has no filled exit to claim: requests are filled when the withdrawal manager "
                "processes the cycle (see unstake_status)"
            )
        if amount == 0 or amount > claimable:
            raise GaibValueError(
                f"claim of {from_units(amount, AID_DECIMALS)} sAID must be above 0 and at most the "
                f"{from_units(claimable, AID_DECIMALS)} filled and not claimed"
            )
        if who != self.address and not await p.said.functions.isOperator(who, self.address).call():
            raise GaibValueError(
                f"account {self.address} is not an operator of {who}: {who} must call set_operator first"
            )
        for account in {self.address, who, to}:
            if await p.aid.functions.isDenied(account).call():
                raise GaibValueError(
                    f"account {account} is on the deny list: it cannot claim, receive or redeem sAID exits, "
                    "not even as an operator"
                )
        call = p.said.functions.redeem(amount, to, who)
        result = await self.send(call, what="claim sAID exit", key=claim_key)
        return Receipt("claim_unstake", _withdrawn(p.said, result), [result.tx_hash])

    async def set_operator(self, operator: str, approved: bool = True) -> str:
        """Let ``operator`` request and claim sAID exits for this account (ERC-7540), or stop it."""
        said = self.protocol.said
        call = said.functions.setOperator(operator, approved)
        return (await self.send(call, what="set sAID operator")).tx_hash

    async def set_withdrawal_cycle(self, length_s: int, cap_bps: int = 0) -> str:
        """Admin: the withdrawal cycle's length in seconds (1 hour to 365 days) and the per-cycle cap on AID
        released, in basis points of AID's stablecoin reserve (0: no cap)."""
        said = self.protocol.said
        if not 3600 <= length_s <= 365 * 86400 or not 0 <= cap_bps <= 10_000:
            raise GaibValueError(f"cycle length {length_s} s must be 3600 to 31536000 and cap {cap_bps} bps 0 to 10000")
        await self._require_role(said, "DEFAULT_ADMIN_ROLE", "set the withdrawal cycle")
        return (await self.send(said.functions.setCycle(length_s, cap_bps), what="set withdrawal cycle")).tx_hash

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

    async def aid_supply(self) -> Decimal:
        return from_units(await self.protocol.aid.functions.totalSupply().call(), AID_DECIMALS)

    async def said_share_price(self) -> Decimal:
        """AID per sAID share. Deal income vests into it over the vault's vesting period."""
        return from_units(await self.protocol.said.functions.sharePrice().call(), AID_DECIMALS)

    async def said_vesting(self) -> dict[str, Decimal | int]:
        """Income paid into sAID that has not vested yet, the vesting period in seconds, and the writedown: the
        facility's markdown of impaired and defaulted deals, which sAID's totalAssets leaves out until the
        loss is realized or the markdown vests back."""
        said = self.protocol.said
        return {
            "unvested_aid": from_units(await said.functions.unvestedAmount().call(), AID_DECIMALS),
            "vesting_period_s": int(await said.functions.vestingPeriod().call()),
            "writedown_aid": from_units(await said.functions.writedown().call(), AID_DECIMALS),
        }

    async def reserves(self) -> dict[str, Decimal]:
        """The AID backing: liquid reserve, principal out in deals, and their sum against supply."""
        aid = self.protocol.aid
        reserve = from_units(await aid.functions.reserve().call(), USDC_DECIMALS)
        total = from_units(await aid.functions.totalReserve().call(), USDC_DECIMALS)
        deployed = from_units(await aid.functions.principalDeployed().call(), USDC_DECIMALS)
        return {
            "reserve_usdc": reserve,
            "reserve_usdt": total - reserve,
            "principal_deployed_usdc": deployed,
            "uncovered_loss_usdc": from_units(await aid.functions.uncoveredLoss().call(), USDC_DECIMALS),
            "backing_usdc": total + deployed,
            "aid_supply": await self.aid_supply(),
        }

    async def balances(self, account: str | None = None) -> dict[str, Decimal]:
        p, who = self.protocol, account or self.address
        return {
            "USDC": from_units(await p.usdc.functions.balanceOf(who).call(), USDC_DECIMALS),
            "AID": from_units(await p.aid.functions.balanceOf(who).call(), AID_DECIMALS),
            "sAID": from_units(await p.said.functions.balanceOf(who).call(), AID_DECIMALS),
            **({"USDT": from_units(await p.usdt.functions.balanceOf(who).call(), USDC_DECIMALS)} if p.usdt else {}),
        }

    # ---- stage 3: add liquidity ----

    def venue(self, name: str, options: AdapterOptions | dict[str, Any] | None = None) -> Venue:
        """The venue adapter ``name``, bound to this client and account. Created once per account view."""
        key = f"{name}:{self.address}"
        if key not in self._session.venues or options is not None:
            self._session.venues[key] = self.plugins.venue(name)(self, options)
        return self._session.venues[key]

    async def setup_venue(self, name: str, options: AdapterOptions | dict[str, Any] | None = None) -> dict[str, str]:
        """Protocol admin: set up a DeFi venue on this chain (find, or on a development chain deploy, its oracle,
        market or pool) and save its addresses, so that integrators find them before anyone uses the venue, and
        what is deployed comes from the admin's account. Idempotent: a venue set up already is left as it is."""
        await self._require_role(self.protocol.aid, "DEFAULT_ADMIN_ROLE", f"set up the {name!r} venue")
        return dict(await self.venue(name, options).setup())

    async def _venue_amount(self, venue: str, amount: Decimal | int | str) -> tuple[Venue, Decimal]:
        try:
            value = Decimal(str(amount))
        except InvalidOperation as exc:
            raise GaibValueError(f"amount {amount!r} is not a number") from exc
        if not value.is_finite() or value <= 0:
            raise GaibValueError(f"amount {amount!r} must be more than 0")
        v = self.venue(venue)
        await v.setup()
        return v, value

    async def quote_liquidity(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> VenueQuote:
        """What :meth:`add_liquidity` (or, with ``action="remove_liquidity"``, :meth:`remove_liquidity`)
        would give now at ``venue``; nothing is sent."""
        v, value = await self._venue_amount(venue, amount)
        return await v.quote(value, **kwargs)

    async def add_liquidity(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> list[VenuePosition]:
        v, value = await self._venue_amount(venue, amount)
        return await v.add_liquidity(value, **kwargs)

    async def remove_liquidity(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> list[VenuePosition]:
        v, value = await self._venue_amount(venue, amount)
        return await v.remove_liquidity(value, **kwargs)

    async def positions(self, venue: str, account: str | None = None) -> list[VenuePosition]:
        v = self.venue(venue)
        await v.setup()
        return await v.positions(account)

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


def _with_scenarios(policy: StressPolicy, scenarios: list[StressScenario] | None) -> StressPolicy:
    """The policy with the adapter's own scenarios, unless the policy names its own."""
    if scenarios is None or policy.scenarios is not None:
        return policy
    return policy.model_copy(update={"scenarios": scenarios})


def _checksum(value: str, what: str) -> str:
    """An address as the chain takes it; GaibValueError naming ``what`` if it is not one."""
    from eth_utils.address import is_hex_address, to_checksum_address

    if not isinstance(value, str) or not is_hex_address(value):
        raise GaibValueError(f"{what} {value!r} is not an address: 0x and 40 hex digits")
    return str(to_checksum_address(value))


def _terms_text(t: DealTerms) -> str:
    if t.structure == "fixed":
        return f"fixed {t.rate_bps / 100:g}% over {t.term_days} days"
    return f"{t.structure} {t.rate_bps / 100:g}% + {t.revenue_share_bps / 100:g}% of revenue over {t.term_days} days"


def _require_confirmed(info: dict[str, Any], asset_id: str, resuming: bool = False) -> None:
    """The facility refuses collateral whose ownership is provisional or disputed: say so before sending."""
    if info["ownership"] != "confirmed" and not resuming and info["status"] in ("active", "disputed"):
        raise AssetOwnershipError(
            f"{asset_id}'s ownership is {info['ownership']} (confirmed at unix time {info['confirms_at']} unless "
            "disputed): it cannot be collateral until then, or until the registrar admin confirms it",
            stage="financialize",
            asset_id=asset_id,
        )


def _terms(terms: DealTerms | dict[str, Any] | None) -> DealTerms | None:
    """Terms given as a dict are validated here, so a bad one is a GaibValueError naming the field."""
    if terms is None or isinstance(terms, DealTerms):
        return terms
    try:
        return DealTerms.model_validate(terms)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "terms"
        raise GaibValueError(f"deal terms, field {field!r}: {err['msg']}", stage="financialize") from exc


def _lease_start(contract: CustomerContract) -> int:
    """A contract's start, midnight UTC of its first day, in unix seconds."""
    return int(datetime.combine(contract.starts_on, time(), tzinfo=UTC).timestamp())


def _lease_end(contract: CustomerContract) -> int:
    """A contract's end, midnight UTC of the day its term is over, in unix seconds."""
    end = add_months(contract.starts_on, contract.term_months)
    return int(datetime.combine(end, time(), tzinfo=UTC).timestamp())


def _ownership(status: int, confirms_at: int, confirmed: bool) -> dict[str, Any]:
    """``ownership``: "none", "provisional", "confirmed" or "disputed"; ``confirms_at``: when the delay
    confirms it (unix seconds), from the registry's ``confirmation`` answer."""
    if status == 0:
        word = "none"
    elif ASSET_STATUSES[status] == "disputed":
        word = "disputed"
    else:
        word = "confirmed" if confirmed else "provisional"
    return {"ownership": word, "confirms_at": int(confirms_at)}


def _asset_info(asset_id: str, a: Any) -> dict[str, Any]:
    """An asset as :meth:`Gaib.asset` gives it, from the registry's ``getAsset`` answer."""
    return {
        "asset_id": asset_id,
        "kind": a[0].rstrip(b"\0").decode(),
        "record_hash": "0x" + a[1].hex(),
        "owner": a[2],
        "status": ASSET_STATUSES[a[3]],
        "registered_at": a[4],
        "attestation": "0x" + a[5].hex(),
        "attested_at": a[6],
    }


def cluster_tree(inventory: Inventory, ids: Sequence[str] | None = None) -> MerkleTree:
    """The Merkle tree of an inventory's assets, as a cluster is registered (``ids``: their asset ids, in
    order, if the caller has them already)."""
    if ids is None:
        ids = [a.asset_id for a in inventory.assets]
    return MerkleTree([merkle_leaf(i, a.record_hash) for i, a in zip(ids, inventory.assets, strict=True)])


def _withdrawn(said: AsyncContract, result: TxResult) -> Decimal:
    """The AID a claim paid, from its ERC-4626 Withdraw event."""
    ev = said.events.Withdraw().process_receipt({"logs": result.logs}, errors=DISCARD)
    return from_units(ev[0]["args"]["assets"] if ev else 0, AID_DECIMALS)


def _usdc(units: int) -> Decimal:
    return from_units(units, USDC_DECIMALS)


def _bytes32(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 32:
        raise GaibValueError(f"kind {text!r} is longer than 32 bytes")
    return raw.ljust(32, b"\0")
