"""A chain clock set back: anvil's evm_setTime does it, and so does a development node restarted from saved
state after its clock was moved forward. Every view sAID holders, lenders and integrators read must still
answer (a revert there stops deposits, exits and Morpho's oracle), and nothing may count time that did not
pass: no vesting, no extra due date, no oracle growth."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gaib_sdk import Gaib
from gaib_sdk.chain.artifacts import load_artifact
from gaib_sdk.testing.anvil import node_rpc

from .anvil import KEYS, Anvil
from .conftest import AS_OF

HOUR = 3600


def _set_back(node: Anvil, seconds: int) -> int:
    now = int(node_rpc(node.url, "eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    node_rpc(node.url, "evm_setTime", now - seconds)
    node_rpc(node.url, "evm_mine")
    back = int(node_rpc(node.url, "eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    assert back < now  # anvil did move it back
    return back


@pytest.mark.asyncio
async def test_views_answer_and_count_no_time_when_the_clock_goes_back(anvil: Anvil, tmp_path: Path) -> None:
    admin = await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=tmp_path / "d.json", journal=False)
    try:
        await admin.deploy()
        provider, investor = admin.with_account(KEYS[1]), admin.with_account(KEYS[2])
        await admin.admin.authorize_registrar(provider.address)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(2_000_000))
        await investor.aid.mint(Decimal(1_500_000))
        await investor.said.stake(Decimal(1_000_000))
        inventory = await provider.assets.read_inventory("gpu")
        await provider.digitize("gpu", inventory)
        deal = (await admin.financialize("gpu", inventory, as_of=AS_OF)).deal.deal_id
        p = admin.protocol
        oracle_deployed = await admin.chain.deploy(
            load_artifact("SAIDOracle"), [p.said.address, 6, 25 * 10**16], admin.account
        )
        oracle = admin.chain.contract(str(oracle_deployed.contract_address), load_artifact("SAIDOracle")["abi"])
        node_rpc(anvil.url, "evm_increaseTime", 2 * HOUR)
        await admin.faucet(provider.address, Decimal(10_000))
        await provider.deals.repay(deal, Decimal(10_000))  # interest paid in: a tranche starts vesting now
        assert await p.said.functions.trancheTail().call() > 0
        held = await p.aid.functions.balanceOf(p.said.address).call()
        total = await p.said.functions.totalAssets().call()
        assert total < held  # the new income is unvested

        _set_back(anvil, 3 * HOUR)  # before the tranche began, after the deal opened
        assert await p.said.functions.totalAssets().call() == total  # nothing vests, nothing more is counted
        assert await p.said.functions.previewDeposit(10**18).call() > 0
        assert await oracle.functions.price().call() > 0
        assert await oracle.functions.maxSharePrice().call() == await oracle.functions.checkpointed().call()
        assert await p.facility.functions.amountDue(deal).call() == [0, 0, 0]

        _set_back(anvil, 30 * 24 * HOUR)  # before the deal opened
        assert await p.facility.functions.amountDue(deal).call() == [0, 0, 0]
        assert (await admin.deals.delinquency(deal)).days_past_due == 0
        await investor.said.stake(Decimal(1_000))  # and a deposit goes through
    finally:
        await admin.close()
