"""Deploy the protocol, bind to a deployment, and keep deployments in a file keyed by chain id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict
from web3.contract import AsyncContract

from gaib_sdk.chain.artifacts import load_artifact
from gaib_sdk.chain.connection import Chain
from gaib_sdk.chain.governance import ACCESS_CONTROL_ABI, GovernanceConfig, deploy_governance, hand_over_admin
from gaib_sdk.errors import GaibConfigError
from gaib_sdk.paths import gaib_home

__all__ = ["ROLES", "Deployment", "DeploymentStore", "Protocol", "deploy_protocol", "role"]

DEFAULT_MINT_CAP = 10_000_000 * 10**6  # USDC per block
DEFAULT_REDEEM_CAP = 10_000_000 * 10**6
#: Deal income paid into sAID vests linearly over this period (Ethena's StakedUSDeV2 uses 8 hours).
DEFAULT_VESTING_PERIOD = 8 * 3600
#: GAIB's fixed supply, minted to the treasury at deployment.
GAIB_SUPPLY = 1_000_000_000 * 10**18
#: The node network (NodeAttestation): one root per operator per day; a root can be challenged for 2 days;
#: a bond leaves 7 days after unbonding is asked (longer than the window: no one escapes a slash).
ATTESTATION_PERIOD = 86_400
ATTESTATION_MIN_BOND = 10_000 * 10**18
ATTESTATION_CHALLENGE_WINDOW = 2 * 86_400
ATTESTATION_UNBOND_DELAY = 7 * 86_400
#: A registration's ownership stays provisional this long (AssetRegistry.confirmationDelay) on a real network,
#: time for a provider to have a squatted registration of its serials disputed; 0 on development chains.
CONFIRMATION_DELAY = 3 * 86_400

#: The protocol's roles (docs/security.md, "Roles"): role -> the (contract, AccessControl role) pairs its
#: holder gets. "admin" is DEFAULT_ADMIN_ROLE everywhere; "registrar_admin" is the admin role of
#: REGISTRAR_ROLE, so it, not the protocol admin, onboards providers and judges ownership disputes.
ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "admin": (),  # DEFAULT_ADMIN_ROLE on every contract: granted by each constructor
    "underwriter": (("facility", "UNDERWRITER_ROLE"), ("leases", "UNDERWRITER_ROLE")),
    "kyc_manager": (("aid", "KYC_MANAGER_ROLE"),),
    "registrar_admin": (("registry", "REGISTRAR_ADMIN_ROLE"),),
    "reporter": (("registry", "REPORTER_ROLE"),),
    "rewarder": (("said", "REWARDER_ROLE"),),
    "pauser": (("aid", "PAUSER_ROLE"), ("said", "PAUSER_ROLE")),
    "denylist_manager": (("aid", "DENYLIST_ROLE"),),
    "withdrawal_manager": (("said", "WITHDRAWAL_MANAGER_ROLE"),),
}


def role(name: str) -> bytes:
    """An AccessControl role id: keccak256 of its name."""
    return keccak(text=name)


def _role_holders(chain: Chain, deployer: LocalAccount, roles: Mapping[str, str] | None) -> dict[str, str]:
    """Who gets each operating role: as given, else the deployer on a development chain."""
    given = dict(roles or {})
    unknown = sorted(set(given) - set(ROLES) | ({"admin"} & set(given)))
    if unknown:
        raise GaibConfigError(
            f"unknown role(s) {', '.join(unknown)}: give addresses for {', '.join(r for r in ROLES if r != 'admin')} "
            "(the admin is the deployer until governance takes it over)",
            chain_id=chain.chain_id,
        )
    for name, account in given.items():
        if not is_address(account):
            raise GaibConfigError(f"role {name}: {account!r} is not an address", chain_id=chain.chain_id)
    missing = [r for r in ROLES if r not in ("admin", "rewarder") and r not in given]
    if missing and not chain.is_dev:
        raise GaibConfigError(
            f"chain {chain.chain_id} is not a development chain: give the holder of every role "
            f"(roles={{...}}), missing: {', '.join(missing)}",
            chain_id=chain.chain_id,
        )
    # The rewarder (a treasury-bill yield distributor) is optional: the facility pays deal income in any case.
    return {r: given.get(r, deployer.address) for r in ROLES if r != "admin" and (r in given or r != "rewarder")}


class Deployment(BaseModel):
    """Where the protocol lives on one chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chain_id: int
    genesis_hash: str
    block: int
    admin: str
    usdc_is_test: bool
    contracts: dict[str, str]
    tx_hashes: list[str] = []
    #: What each DeFi venue set up on this chain (addresses, market ids), by venue name: see Venue.save_state.
    venues: dict[str, dict[str, Any]] = {}


class DeploymentStore:
    """A JSON file of deployments keyed by chain id and genesis hash (``"31337:0xabc..."``), so two nodes
    with the same chain id (two anvils, a fork and its origin) keep their own. Read back only after checking
    that code is still at every address: a restarted dev chain has none."""

    def __init__(self, path: Path | None = None):
        self.path = path or gaib_home() / "deployments.json"

    def _read(self) -> dict[str, dict[str, object]]:
        if not self.path.exists():
            return {}
        try:
            data: dict[str, dict[str, object]] = json.loads(self.path.read_text())
        except json.JSONDecodeError as exc:
            raise GaibConfigError(f"deployments file {self.path} is not valid JSON: fix or delete it") from exc
        return data

    def all(self) -> dict[str, dict[str, object]]:
        """Every deployment in the file, by key, as saved (not checked against any chain)."""
        return self._read()

    @staticmethod
    def key(chain_id: int, genesis_hash: str) -> str:
        return f"{chain_id}:{genesis_hash.lower()}"

    def save(self, deployment: Deployment) -> None:
        data = self._read()
        legacy = data.get(str(deployment.chain_id))  # the file's older form: keyed by chain id alone
        if legacy is not None and legacy.get("genesis_hash") == deployment.genesis_hash:
            del data[str(deployment.chain_id)]
        data[self.key(deployment.chain_id, deployment.genesis_hash)] = deployment.model_dump()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)  # atomic: a crash never leaves half a file

    async def load(self, chain: Chain) -> Deployment | None:
        """This chain's deployment, if the file has one whose contracts are all still there."""
        genesis = await chain.genesis_hash()
        data = self._read()
        raw = data.get(self.key(chain.chain_id, genesis)) or data.get(str(chain.chain_id))
        if raw is None:
            return None
        deployment = Deployment.model_validate(raw)
        if deployment.genesis_hash != genesis:
            return None
        for address in deployment.contracts.values():
            if not await chain.has_code(address):
                return None
        # A venue whose contracts are gone is forgotten (set up again on use); the protocol stays bound.
        venues = {}
        for name, state in deployment.venues.items():
            addresses = [v for v in state.values() if isinstance(v, str) and is_address(v)]
            if all([await chain.has_code(a) for a in addresses]):
                venues[name] = state
        return deployment.model_copy(update={"venues": venues})


@dataclass(frozen=True)
class Protocol:
    """Bindings to a deployment's contracts."""

    deployment: Deployment
    usdc: AsyncContract
    aid: AsyncContract
    said: AsyncContract
    registry: AsyncContract
    facility: AsyncContract
    gaib: AsyncContract
    #: The node network; None for a deployment saved before it existed.
    attestation: AsyncContract | None = None
    #: The second stablecoin AID accepts (USDT); None where the deployment has none.
    usdt: AsyncContract | None = None
    #: The receivables (LeaseRegistry); None for a deployment saved before it existed.
    leases: AsyncContract | None = None

    @classmethod
    def bind(cls, chain: Chain, deployment: Deployment) -> Protocol:
        names = {
            "usdc": "TestUSDC",
            "aid": "AIDollar",
            "said": "StakedAID",
            "registry": "AssetRegistry",
            "facility": "CreditFacility",
            "gaib": "GAIB",
        }
        if "usdt" in deployment.contracts:
            names["usdt"] = "TestUSDT"  # any 6-decimal ERC-20's ABI: only the ERC-20 functions are called
        if "attestation" in deployment.contracts:
            names["attestation"] = "NodeAttestation"
        if "leases" in deployment.contracts:
            names["leases"] = "LeaseRegistry"
        bound = {key: chain.contract(deployment.contracts[key], load_artifact(names[key])["abi"]) for key in names}
        return cls(deployment=deployment, **bound)


async def deploy_protocol(
    chain: Chain,
    admin: LocalAccount,
    *,
    usdc: str | None = None,
    usdt: str | None = None,
    treasury: str | None = None,
    mint_cap: int = DEFAULT_MINT_CAP,
    redeem_cap: int = DEFAULT_REDEEM_CAP,
    vesting_period: int = DEFAULT_VESTING_PERIOD,
    roles: Mapping[str, str] | None = None,
    confirmation_delay: int | None = None,
    governance: GovernanceConfig | None = None,
) -> Deployment:
    """Deploy AID, sAID, the registry, the receivables (leases) and the credit facility, and grant the
    operating roles.
    ``usdc`` is the stablecoin's address; on a dev chain it may be omitted and a test USDC is deployed.
    ``usdt`` is a second stablecoin AID accepts 1:1 (same decimals); on a dev chain a test USDT is deployed
    when it is omitted, elsewhere there is none unless given.
    ``roles`` maps each name of :data:`ROLES` but "admin" to the address that holds it; on a development
    chain a role not given goes to the deployer, elsewhere every role must be given (GaibConfigError).
    ``confirmation_delay``: seconds a registration's ownership stays provisional (0 on development chains,
    :data:`CONFIRMATION_DELAY` elsewhere by default).
    ``governance``: the Safe's owners and threshold and the timelock's delay. Required on any chain that is
    not a development chain: a Safe and a timelock are deployed and DEFAULT_ADMIN_ROLE of every protocol
    contract passes to the timelock, the deployer's renounced (gaib_sdk.chain.governance). Optional on a
    development chain, where the deployer stays admin without it."""
    if usdc is None and not chain.is_dev:
        raise GaibConfigError(
            f"chain {chain.chain_id} is not a development chain: give USDC's address (usdc=...)",
            chain_id=chain.chain_id,
        )
    if usdc is not None and not await chain.has_code(usdc):
        raise GaibConfigError(f"no contract at USDC address {usdc} on chain {chain.chain_id}")
    holders = _role_holders(chain, admin, roles)
    if governance is None and not chain.is_dev:
        raise GaibConfigError(
            f"chain {chain.chain_id} is not a development chain: its admin must be a Safe behind a timelock; give "
            "governance=GovernanceConfig(owners=[...], threshold=N) (docs/security.md, Admin: Safe and timelock)",
            chain_id=chain.chain_id,
        )
    if confirmation_delay is None:
        confirmation_delay = 0 if chain.is_dev else CONFIRMATION_DELAY
    await chain.multicall_ready()  # on a development node, Multicall3 is placed now, with the protocol
    hashes: list[str] = []
    if usdc is None:
        r = await chain.deploy(load_artifact("TestUSDC"), [admin.address], admin)
        usdc, usdc_is_test = r.contract_address, True
        hashes.append(r.tx_hash)
    else:
        usdc_is_test = False
    assert usdc is not None
    if usdt is None and chain.is_dev:
        r = await chain.deploy(load_artifact("TestUSDT"), [admin.address], admin)
        usdt = r.contract_address
        hashes.append(r.tx_hash)
    elif usdt is not None and not await chain.has_code(usdt):
        raise GaibConfigError(f"no contract at USDT address {usdt} on chain {chain.chain_id}")

    async def deploy(name: str, *args: object) -> str:
        r = await chain.deploy(load_artifact(name), list(args), admin)
        hashes.append(r.tx_hash)
        assert r.contract_address is not None
        return r.contract_address

    aid = await deploy("AIDollar", admin.address, usdc, mint_cap, redeem_cap)
    said = await deploy("StakedAID", admin.address, aid, vesting_period)
    registry = await deploy("AssetRegistry", admin.address, confirmation_delay)
    leases = await deploy("LeaseRegistry", admin.address, registry)
    facility = await deploy("CreditFacility", admin.address, aid, registry, said, treasury or admin.address, leases)
    gaib = await deploy("GAIB", treasury or admin.address, GAIB_SUPPLY)
    attestation = await deploy(
        "NodeAttestation",
        admin.address,
        gaib,
        registry,
        treasury or admin.address,
        ATTESTATION_PERIOD,
        ATTESTATION_MIN_BOND,
        ATTESTATION_CHALLENGE_WINDOW,
        ATTESTATION_UNBOND_DELAY,
    )

    aid_c = chain.contract(aid, load_artifact("AIDollar")["abi"])
    reg_c = chain.contract(registry, load_artifact("AssetRegistry")["abi"])
    fac_c = chain.contract(facility, load_artifact("CreditFacility")["abi"])
    said_c = chain.contract(said, load_artifact("StakedAID")["abi"])
    # ---- roles: the contracts' own grants, then each operating role to its holder (docs/security.md) ----
    leases_c = chain.contract(leases, load_artifact("LeaseRegistry")["abi"])
    by_key = {"aid": aid_c, "said": said_c, "registry": reg_c, "facility": fac_c, "leases": leases_c}
    grants = [
        (said_c, "REWARDER_ROLE", facility),
        (aid_c, "FACILITY_ROLE", facility),
        (reg_c, "FACILITY_ROLE", facility),
        (leases_c, "FACILITY_ROLE", facility),  # the facility pledges and releases leases
    ]
    for name, account in holders.items():
        grants += [(by_key[key], role_name, account) for key, role_name in ROLES[name]]
    if chain.is_dev and holders["registrar_admin"] == admin.address:
        # the deployer registers assets of its own in examples and tests; elsewhere only onboarded providers do
        grants.append((reg_c, "REGISTRAR_ROLE", admin.address))
    for contract, name, account in grants:
        r = await chain.transact(contract.functions.grantRole(role(name), account), admin, what=f"grant {name}")
        hashes.append(r.tx_hash)
    if usdt is not None:
        r = await chain.transact(aid_c.functions.addStablecoin(usdt), admin, what="accept USDT")
        hashes.append(r.tx_hash)

    contracts = {
        "usdc": usdc,
        "aid": aid,
        "said": said,
        "registry": registry,
        "facility": facility,
        "gaib": gaib,
        "attestation": attestation,
        "leases": leases,
        **({"usdt": usdt} if usdt is not None else {}),
    }

    # ---- governance: DEFAULT_ADMIN_ROLE of every contract to a timelock run by a Safe (docs/security.md) ----
    # Every contract in `contracts` whose admin the deployer holds is handed over (the stablecoins are not
    # ours): a contract added above is covered without a change here.
    if governance is not None:
        gov = await deploy_governance(chain, admin, governance)
        hashes += gov.tx_hashes
        governed = {
            name: chain.contract(address, ACCESS_CONTROL_ABI)
            for name, address in contracts.items()
            if name not in ("usdc", "usdt") and await _is_admin(chain, address, admin.address)
        }
        hashes += await hand_over_admin(chain, admin, governed, gov.timelock.address)
        contracts |= {"safe": gov.safe.address, "timelock": gov.timelock.address}

    return Deployment(
        chain_id=chain.chain_id,
        genesis_hash=await chain.genesis_hash(),
        block=(await chain.w3.eth.block_number),
        admin=contracts.get("timelock", admin.address),
        usdc_is_test=usdc_is_test,
        contracts=contracts,
        tx_hashes=hashes,
    )


async def _is_admin(chain: Chain, address: str, account: str) -> bool:
    """Whether ``account`` holds DEFAULT_ADMIN_ROLE of the contract at ``address`` (False if it has no roles)."""
    try:
        return bool(await chain.contract(address, ACCESS_CONTROL_ABI).functions.hasRole(b"\0" * 32, account).call())
    except Exception:  # no AccessControl here (an ERC-20 such as GAIB): nothing to hand over
        return False
