"""The protocol's admin on a real network: a Safe multisig behind an OpenZeppelin TimelockController.

    python -m gaib_sdk.chain.build_safe [--node-modules PATH] [--out PATH]

builds Safe 1.4.1 (``Safe`` and ``SafeProxyFactory``) from the npm package ``@safe-global/safe-contracts``
into ``$GAIB_HOME/artifacts/safe-1.4.1/`` (``make setup`` runs it). Safe's licence is LGPL-3.0: its sources
and artifacts are never committed. The timelock is OpenZeppelin's ``TimelockController``, shipped with the
protocol's own artifacts (``Timelock``).

:func:`deploy_governance` deploys a Safe (a proxy of the singleton, ``setup(owners, threshold)``) and a
timelock whose only proposer, canceller and executor is the Safe, administered by itself. Then
:func:`hand_over_admin` grants the timelock ``DEFAULT_ADMIN_ROLE`` of every protocol contract and renounces
the deployer's. From then on an admin call is: the Safe's owners sign ``timelock.schedule(...)``
(:func:`schedule`), the delay passes, they sign ``timelock.execute(...)`` (:func:`execute`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import is_address
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, model_validator
from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk.chain.artifacts import load_artifact, load_built_artifact, save_built_artifacts
from gaib_sdk.chain.connection import Chain, TxResult
from gaib_sdk.errors import GaibConfigError
from gaib_sdk.paths import gaib_home

__all__ = [
    "ACCESS_CONTROL_ABI",
    "DEFAULT_TIMELOCK_DELAY",
    "SAFE_VERSION",
    "Governance",
    "GovernanceConfig",
    "build_safe",
    "deploy_governance",
    "execute",
    "hand_over_admin",
    "operation_salt",
    "safe_artifact",
    "safe_exec",
    "schedule",
]

SAFE_VERSION = "1.4.1"
#: Two days between a scheduled admin change and its execution, time for holders to see it coming.
DEFAULT_TIMELOCK_DELAY = 2 * 86_400
ADMIN_ROLE = b"\0" * 32
ZERO = "0x" + "00" * 20
ZERO_SALT = b"\0" * 32
#: The slice of OpenZeppelin's AccessControl that the hand-over calls.
ACCESS_CONTROL_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": "view" if name == "hasRole" else "nonpayable",
        "inputs": [{"name": "role", "type": "bytes32"}, {"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}] if name == "hasRole" else [],
    }
    for name in ("hasRole", "grantRole", "renounceRole")
]


class GovernanceConfig(BaseModel):
    """Who governs a deployment: the Safe's owners and threshold, and the timelock's delay in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owners: tuple[str, ...] = Field(min_length=1)
    threshold: int = Field(ge=1)
    delay: int = Field(default=DEFAULT_TIMELOCK_DELAY, ge=0)

    @model_validator(mode="after")
    def _check(self) -> GovernanceConfig:
        for owner in self.owners:
            if not is_address(owner):
                raise ValueError(f"Safe owner {owner!r} is not an address")
        if len({o.lower() for o in self.owners}) != len(self.owners):
            raise ValueError("Safe owners must be distinct")
        if self.threshold > len(self.owners):
            raise ValueError(f"threshold {self.threshold} exceeds the {len(self.owners)} owners")
        return self


@dataclass(frozen=True)
class Governance:
    """A deployed Safe and timelock."""

    safe: AsyncContract
    timelock: AsyncContract
    config: GovernanceConfig
    tx_hashes: tuple[str, ...] = ()


# ---- building Safe at set-up ----


def safe_artifacts_dir() -> Path:
    return gaib_home() / "artifacts" / f"safe-{SAFE_VERSION}"


def build_safe(node_modules: Path | None = None, out: Path | None = None) -> Path:
    """Compile Safe and SafeProxyFactory from the npm package (solc-js 0.8.28, paris, 200 runs: Safe's
    sources accept any 0.7/0.8 compiler) into ``out`` (``$GAIB_HOME/artifacts/safe-1.4.1``)."""
    from gaib_sdk.contracts.compiler import compile_sources, find_node_modules

    modules = node_modules or find_node_modules()
    package = modules / "@safe-global" / "safe-contracts"
    meta = json.loads((package / "package.json").read_text())
    if meta["version"] != SAFE_VERSION:
        raise SystemExit(f"expected @safe-global/safe-contracts {SAFE_VERSION}, found {meta['version']}")
    src = package / "contracts"
    units = {"Safe.sol": "Safe", "proxies/SafeProxyFactory.sol": "SafeProxyFactory"}
    artifacts = compile_sources(
        {unit: (src / unit).read_text() for unit in units},
        evm_version="paris",
        optimizer_runs=200,
        node_modules=modules,
        source_roots=[src],
    )
    built_from = f"@safe-global/safe-contracts@{SAFE_VERSION}"
    return save_built_artifacts(artifacts, units.values(), out or safe_artifacts_dir(), built_from)


def safe_artifact(name: str) -> dict[str, Any]:
    """A Safe artifact built at set-up (``Safe`` or ``SafeProxyFactory``)."""
    path = safe_artifacts_dir() / f"{name}.json"
    return load_built_artifact(
        path,
        f"Safe {SAFE_VERSION} is not built ({path} is missing): run `make setup`, or "
        "`python -m gaib_sdk.chain.build_safe` after `npm ci`",
    )


# ---- deploying and handing over ----


async def deploy_governance(chain: Chain, deployer: LocalAccount, config: GovernanceConfig) -> Governance:
    """Deploy a Safe with ``config``'s owners and threshold, and a timelock whose proposer, canceller and
    executor is the Safe alone and whose admin is itself (no one can bypass its delay)."""
    hashes: list[str] = []
    singleton = await chain.deploy(safe_artifact("Safe"), [], deployer)
    factory = await chain.deploy(safe_artifact("SafeProxyFactory"), [], deployer)
    hashes += [singleton.tx_hash, factory.tx_hash]
    assert singleton.contract_address is not None and factory.contract_address is not None
    safe_abi = safe_artifact("Safe")["abi"]
    template = chain.contract(singleton.contract_address, safe_abi)
    owners = [chain.w3.to_checksum_address(o) for o in config.owners]
    initializer = template.encode_abi("setup", [owners, config.threshold, ZERO, b"", ZERO, ZERO, 0, ZERO])
    fac = chain.contract(factory.contract_address, safe_artifact("SafeProxyFactory")["abi"])
    created = await chain.transact(
        fac.functions.createProxyWithNonce(singleton.contract_address, initializer, 0), deployer, what="create Safe"
    )
    hashes.append(created.tx_hash)
    (event,) = fac.events.ProxyCreation().process_receipt({"logs": created.logs}, errors=DISCARD)
    safe = chain.contract(event["args"]["proxy"], safe_abi)
    timelock = await chain.deploy(
        load_artifact("Timelock"), [config.delay, [safe.address], [safe.address], ZERO], deployer
    )
    hashes.append(timelock.tx_hash)
    assert timelock.contract_address is not None
    return Governance(
        safe=safe,
        timelock=chain.contract(timelock.contract_address, load_artifact("Timelock")["abi"]),
        config=config,
        tx_hashes=tuple(hashes),
    )


async def hand_over_admin(
    chain: Chain, deployer: LocalAccount, contracts: Mapping[str, AsyncContract], timelock: str
) -> list[str]:
    """Grant ``timelock`` DEFAULT_ADMIN_ROLE of each contract, then renounce the deployer's; check both."""
    hashes = []
    for name, contract in contracts.items():
        grant = contract.functions.grantRole(ADMIN_ROLE, timelock)
        hashes.append((await chain.transact(grant, deployer, what=f"{name}: admin to the timelock")).tx_hash)
        renounce = contract.functions.renounceRole(ADMIN_ROLE, deployer.address)
        hashes.append((await chain.transact(renounce, deployer, what=f"{name}: deployer renounces admin")).tx_hash)
        held = await contract.functions.hasRole(ADMIN_ROLE, timelock).call()
        if not held or await contract.functions.hasRole(ADMIN_ROLE, deployer.address).call():
            raise GaibConfigError(f"{name}: the admin hand-over to the timelock {timelock} did not hold")
    return hashes


# ---- acting through the Safe and the timelock ----


async def safe_exec(
    chain: Chain,
    safe: AsyncContract,
    to: str,
    data: bytes,
    signers: Sequence[LocalAccount],
    sender: LocalAccount,
    *,
    what: str,
) -> TxResult:
    """Have the Safe call ``to`` with ``data``: each signer signs the Safe transaction's hash (ECDSA over the
    hash, v 27/28), the signatures are ordered by owner address, and ``sender`` (anyone) submits them."""
    nonce = await safe.functions.nonce().call()
    tx_hash = await safe.functions.getTransactionHash(to, 0, data, 0, 0, 0, 0, ZERO, ZERO, nonce).call()
    ordered = sorted(signers, key=lambda a: int(a.address, 16))
    signatures = b"".join(bytes(a.unsafe_sign_hash(tx_hash).signature) for a in ordered)
    call = safe.functions.execTransaction(to, 0, data, 0, 0, 0, 0, ZERO, ZERO, signatures)
    result = await chain.transact(call, sender, what=what)
    if safe.events.ExecutionFailure().process_receipt({"logs": result.logs}, errors=DISCARD):
        raise GaibConfigError(f"the Safe executed {what!r} but the call inside it failed (tx {result.tx_hash})")
    return result


def operation_salt(label: str) -> bytes:
    """A timelock salt from a label, so the same call can be scheduled again under another label."""
    return keccak(text=label)


async def schedule(
    chain: Chain,
    gov: Governance,
    target: str,
    data: bytes,
    signers: Sequence[LocalAccount],
    sender: LocalAccount,
    *,
    salt: bytes = ZERO_SALT,
) -> TxResult:
    """The Safe schedules ``target.call(data)`` on the timelock, executable after the timelock's delay."""
    delay = await gov.timelock.functions.getMinDelay().call()
    inner = gov.timelock.encode_abi("schedule", [target, 0, data, ZERO_SALT, salt, delay])
    return await safe_exec(chain, gov.safe, gov.timelock.address, inner, signers, sender, what="timelock schedule")


async def execute(
    chain: Chain,
    gov: Governance,
    target: str,
    data: bytes,
    signers: Sequence[LocalAccount],
    sender: LocalAccount,
    *,
    salt: bytes = ZERO_SALT,
) -> TxResult:
    """The Safe executes a scheduled call once its delay has passed (GaibConfigError before then)."""
    op = await gov.timelock.functions.hashOperation(target, 0, data, ZERO_SALT, salt).call()
    if not await gov.timelock.functions.isOperationReady(op).call():
        ready_at = await gov.timelock.functions.getTimestamp(op).call()
        raise GaibConfigError(
            f"timelock operation 0x{op.hex()} is not ready: "
            + ("it was never scheduled" if ready_at == 0 else f"it becomes executable at unix time {ready_at}")
        )
    inner = gov.timelock.encode_abi("execute", [target, 0, data, ZERO_SALT, salt])
    return await safe_exec(chain, gov.safe, gov.timelock.address, inner, signers, sender, what="timelock execute")
