"""The integrator's zap (examples/zap/StakeZap.sol), compiled against `gaib export`'s interfaces and attacked
on anvil: the zap is whitelisted to mint, so it must not become a way around KYC or the deny list, nor keep
anything, and a permit copied from the mempool must not make it fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gaib_sdk import Gaib, TransactionFailed
from gaib_sdk.contracts.compiler import compile_sources, find_node_modules
from gaib_sdk.export import export

from .anvil import KEYS, Anvil

ROOT = Path(__file__).resolve().parent.parent
USDC = 10**6


@pytest.fixture(scope="module")
def node() -> Any:
    anvil = Anvil().start()
    yield anvil
    anvil.stop()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """StakeZap compiled against the interfaces `gaib export` writes."""
    kit = tmp_path_factory.mktemp("kit")
    export(kit, {})
    sources = {"StakeZap.sol": (ROOT / "examples" / "zap" / "StakeZap.sol").read_text()}
    for name in ("IAIDollar", "IStakedAID"):
        sources[f"{name}.sol"] = (kit / "solidity" / f"{name}.sol").read_text()
    return compile_sources(sources, node_modules=find_node_modules(ROOT))["StakeZap"]


@pytest_asyncio.fixture
async def setup(
    node: Anvil, artifact: dict[str, Any], tmp_path: Path
) -> AsyncIterator[tuple[Gaib, Any, dict[str, Gaib]]]:
    admin = await Gaib.connect(node.url, private_key=KEYS[0], deployments=tmp_path / "d.json", journal=False)
    await admin.deploy()
    p = admin.protocol
    deployed = await admin.chain.deploy(artifact, [p.usdc.address, p.aid.address, p.said.address], admin.account)
    assert deployed.contract_address is not None
    zap = admin.chain.contract(deployed.contract_address, artifact["abi"])
    await admin.aid.whitelist(zap.address)
    users = {name: admin.with_account(KEYS[i]) for i, name in enumerate(("investor", "outsider", "other"), start=1)}
    for user in users.values():
        await admin.faucet(user.address, 10_000)
    await admin.aid.whitelist(users["investor"].address)
    yield admin, zap, users
    await admin.close()


async def _zap(user: Gaib, zap: Any, amount: int, receiver: str | None = None, min_shares: int = 0) -> Any:
    permit = await user.sign_permit(user.protocol.usdc, zap.address, amount)
    call = zap.functions.zap(amount, receiver or user.address, min_shares, *permit)
    return await user.send(call, what="zap")


@pytest.mark.asyncio
async def test_the_zap_serves_only_whitelisted_callers_that_are_not_denied(
    setup: tuple[Gaib, Any, dict[str, Gaib]],
) -> None:
    admin, zap, users = setup
    investor, outsider = users["investor"], users["outsider"]
    with pytest.raises(TransactionFailed, match="NotWhitelisted"):  # the KYC bypass: refused
        await _zap(outsider, zap, 1_000 * USDC)
    await _zap(investor, zap, 1_000 * USDC)
    await admin.aid.deny(investor.address)
    with pytest.raises(TransactionFailed, match=r"revert: Denied\("):
        await _zap(investor, zap, 1_000 * USDC)
    await admin.aid.deny(investor.address, False)
    await admin.aid.deny(users["other"].address)
    with pytest.raises(TransactionFailed, match=r"revert: AccountDenied\("):  # sAID refuses a denied receiver
        await _zap(investor, zap, 1_000 * USDC, receiver=users["other"].address)
    p = admin.protocol
    assert await p.usdc.functions.balanceOf(zap.address).call() == 0
    assert await p.aid.functions.balanceOf(zap.address).call() == 0
    assert await p.said.functions.balanceOf(zap.address).call() == 0


@pytest.mark.asyncio
async def test_slippage_is_bounded_and_a_front_run_permit_changes_nothing(
    setup: tuple[Gaib, Any, dict[str, Gaib]],
) -> None:
    admin, zap, users = setup
    investor, other = users["investor"], users["other"]
    p = admin.protocol
    amount = 2_000 * USDC
    shares = await p.said.functions.previewDeposit(amount * 10**12).call()
    with pytest.raises(TransactionFailed, match="TooFewShares"):
        await _zap(investor, zap, amount, min_shares=shares + 1)
    # someone copies the investor's permit from the mempool and uses it first: the zap still goes through
    deadline, v, r, s = await investor.sign_permit(p.usdc, zap.address, amount)
    await other.send(
        p.usdc.functions.permit(investor.address, zap.address, amount, deadline, v, r, s), what="front-run"
    )
    before = await p.said.functions.balanceOf(investor.address).call()
    await investor.send(zap.functions.zap(amount, investor.address, shares, deadline, v, r, s), what="zap")
    assert await p.said.functions.balanceOf(investor.address).call() - before == shares
    assert await p.usdc.functions.allowance(investor.address, zap.address).call() == 0
