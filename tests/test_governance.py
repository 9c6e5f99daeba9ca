"""The admin on a real network: a Safe 1.4.1 multisig behind an OpenZeppelin TimelockController (issue 12,
item 5; docs/security.md, "Admin: Safe and timelock"). Safe is built at set-up (make setup); without it these
tests skip."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gaib_sdk import Gaib, GaibConfigError
from gaib_sdk.chain import Chain, deploy_protocol
from gaib_sdk.chain.artifacts import load_artifact
from gaib_sdk.chain.governance import (
    Governance,
    GovernanceConfig,
    execute,
    safe_artifact,
    safe_artifacts_dir,
    schedule,
)
from gaib_sdk.errors import TransactionFailed

from .anvil import KEYS, Anvil
from .test_contracts import ADMIN_ROLE, unauthorized

DELAY = 2 * 86_400

pytestmark = pytest.mark.skipif(
    not (safe_artifacts_dir() / "Safe.json").exists(), reason="Safe 1.4.1 is not built: run make setup"
)


@pytest.mark.asyncio
async def test_a_parameter_changes_only_through_the_safe_and_the_timelock() -> None:
    gaib = await Gaib.embedded(deploy=False)
    try:
        await change_a_parameter_through_the_safe(gaib, gaib.chain.accounts[1:4])
    finally:
        await gaib.close()


@pytest.mark.asyncio
async def test_the_same_on_a_real_node(anvil: Anvil, tmp_path: Path) -> None:
    """On anvil: real gas estimation of the Safe's execTransaction, a real clock moved by evm_increaseTime."""
    gaib = await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=tmp_path / "d.json", journal=False)
    try:
        await change_a_parameter_through_the_safe(gaib, [Account.from_key(k) for k in KEYS[1:4]])
    finally:
        await gaib.close()


async def change_a_parameter_through_the_safe(gaib: Gaib, owners: list[LocalAccount]) -> None:
    chain = gaib.chain
    deployer = gaib.account
    config = GovernanceConfig(owners=tuple(o.address for o in owners), threshold=2, delay=DELAY)
    deployment = await gaib.deploy(governance=config)
    p = gaib.protocol
    safe_address, timelock_address = deployment.contracts["safe"], deployment.contracts["timelock"]
    assert deployment.admin == timelock_address
    safe = chain.contract(safe_address, safe_artifact("Safe")["abi"])
    timelock = chain.contract(timelock_address, load_artifact("Timelock")["abi"])
    gov = Governance(safe=safe, timelock=timelock, config=config)
    assert sorted(await safe.functions.getOwners().call()) == sorted(config.owners)
    assert await safe.functions.getThreshold().call() == 2
    assert await timelock.functions.getMinDelay().call() == DELAY
    proposer, executor = (
        await timelock.functions.PROPOSER_ROLE().call(),
        await timelock.functions.EXECUTOR_ROLE().call(),
    )
    assert await timelock.functions.hasRole(proposer, safe_address).call()
    assert await timelock.functions.hasRole(executor, safe_address).call()
    assert not await timelock.functions.hasRole(ADMIN_ROLE, deployer.address).call()

    # The timelock, and no longer the deployer, holds DEFAULT_ADMIN_ROLE of every protocol contract.
    assert p.attestation is not None
    for contract in (p.aid, p.said, p.registry, p.facility, p.attestation):
        assert await contract.functions.hasRole(ADMIN_ROLE, timelock_address).call()
        assert not await contract.functions.hasRole(ADMIN_ROLE, deployer.address).call()
    # The deployer can no longer change a parameter directly.
    fac = p.facility.functions
    before = await fac.maxAdvanceBps().call()
    await unauthorized(gaib.send(fac.setMaxAdvanceBps(7_000), what="set cap"), deployer.address, "DEFAULT_ADMIN_ROLE")

    data = p.facility.encode_abi("setMaxAdvanceBps", [7_000])
    # One owner's signature is short of the threshold: the Safe refuses.
    with pytest.raises(TransactionFailed, match="GS020"):
        await schedule(chain, gov, p.facility.address, data, owners[:1], deployer)
    # Nor can an owner schedule on the timelock directly: only the Safe proposes.
    with pytest.raises(TransactionFailed, match="AccessControlUnauthorizedAccount"):
        call = timelock.functions.schedule(p.facility.address, 0, data, b"\0" * 32, b"\0" * 32, DELAY)
        await chain.transact(call, owners[0], what="schedule")
    # Two owners sign: scheduled, not executable before the delay.
    await schedule(chain, gov, p.facility.address, data, owners[1:3], deployer)
    with pytest.raises(GaibConfigError, match="becomes executable at unix time"):
        await execute(chain, gov, p.facility.address, data, owners[:2], deployer)
    await chain.advance_time(DELAY - 600)  # a margin: anvil's clock also follows the wall clock
    with pytest.raises(GaibConfigError, match="not ready"):
        await execute(chain, gov, p.facility.address, data, owners[:2], deployer)
    assert await fac.maxAdvanceBps().call() == before
    await chain.advance_time(600)
    await execute(chain, gov, p.facility.address, data, [owners[0], owners[2]], deployer)
    assert await fac.maxAdvanceBps().call() == 7_000


@pytest.mark.asyncio
async def test_off_a_development_chain_the_hand_over_is_required() -> None:
    """Without governance (Safe owners and threshold), deploy_protocol refuses on a real network, before
    sending anything; so it does without every role's holder."""
    chain = await Chain.embedded()
    try:
        usdc = (
            await chain.deploy(load_artifact("TestUSDC"), [chain.accounts[0].address], chain.accounts[0])
        ).contract_address
        sent = len(chain.history)
        with mock.patch.object(Chain, "is_dev", new_callable=mock.PropertyMock, return_value=False):
            with pytest.raises(GaibConfigError, match="missing: underwriter"):
                await deploy_protocol(chain, chain.accounts[0], usdc=usdc)
            roles = {
                name: chain.accounts[5].address
                for name in (
                    "underwriter",
                    "kyc_manager",
                    "registrar_admin",
                    "reporter",
                    "pauser",
                    "denylist_manager",
                    "withdrawal_manager",
                )
            }
            with pytest.raises(GaibConfigError, match="governance=GovernanceConfig"):
                await deploy_protocol(chain, chain.accounts[0], usdc=usdc, roles=roles)
        assert len(chain.history) == sent
    finally:
        await chain.close()


def test_governance_config_is_checked() -> None:
    with pytest.raises(ValueError, match="threshold 3 exceeds the 2 owners"):
        GovernanceConfig(owners=("0x" + "11" * 20, "0x" + "22" * 20), threshold=3)
    with pytest.raises(ValueError, match="distinct"):
        GovernanceConfig(owners=("0x" + "11" * 20, "0x" + "11" * 20), threshold=1)


@pytest.mark.asyncio
async def test_each_operating_role_goes_to_its_own_holder() -> None:
    """roles={...} splits the powers the deployer used to hold all of (issue 12, item 5)."""
    from gaib_sdk.chain.deploy import ROLES

    gaib = await Gaib.embedded(deploy=False)
    try:
        accounts = gaib.chain.accounts
        names = [n for n in ROLES if n != "admin"]
        holders = {name: accounts[i + 1].address for i, name in enumerate(names)}
        await gaib.deploy(roles=holders)
        p = gaib.protocol
        assert p.leases is not None
        by_key = {"aid": p.aid, "said": p.said, "registry": p.registry, "facility": p.facility, "leases": p.leases}
        for name, grants in ROLES.items():
            for key, role_name in grants:
                contract = by_key[key]
                assert await gaib.has_role(contract, role_name, holders[name]), (name, role_name)
                assert not await gaib.has_role(contract, role_name, gaib.address), (name, role_name)
        # The deployer is not a registrar either: the registrar admin did not make it one.
        assert not await gaib.has_role(p.registry, "REGISTRAR_ROLE")
        with pytest.raises(GaibConfigError, match="unknown role"):
            await deploy_protocol(gaib.chain, accounts[0], roles={"auditor": accounts[1].address})
    finally:
        await gaib.close()
