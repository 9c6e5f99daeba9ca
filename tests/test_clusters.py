"""A cluster of GPUs registered as one Merkle root, inclusion proofs checked off-chain and on-chain, and the
cluster financed by its root: the deal's collateral is the root, and the cluster's status follows the deal."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from eth_utils.crypto import keccak

from gaib_sdk import DuplicateAssetError, Gaib, Inventory, UnderwritingError
from gaib_sdk.merkle import MerkleTree, leaf, verify
from gaib_sdk.models import DealStatus

from .conftest import AS_OF, Actors


def _leaves(n: int) -> list[bytes]:
    return [leaf(keccak(text=f"asset {i}"), keccak(text=f"record {i}")) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1024, 1025])
def test_every_leaf_proves_and_proofs_are_short(n: int) -> None:
    leaves = _leaves(n)
    tree = MerkleTree(leaves)
    for value in leaves[:: max(1, n // 50)]:
        proof = tree.proof(value)
        assert verify(tree.root, value, proof)
        assert len(proof) <= (n - 1).bit_length()
    # the root does not depend on the order of the inventory
    assert MerkleTree(list(reversed(leaves))).root == tree.root


def test_a_wrong_leaf_or_proof_fails() -> None:
    leaves = _leaves(8)
    tree = MerkleTree(leaves)
    proof = tree.proof(leaves[3])
    assert not verify(tree.root, leaves[4], proof)
    assert not verify(tree.root, leaves[3], proof[:-1])
    assert not verify(tree.root, leaves[3], list(reversed(proof)))
    with pytest.raises(ValueError, match="duplicate leaves"):
        MerkleTree([leaves[0], leaves[0]])
    with pytest.raises(KeyError):
        tree.proof(b"\x01" * 32)


@pytest.mark.asyncio
async def test_a_cluster_costs_one_write_and_every_gpu_proves_on_chain(actors: Actors, inventory: Inventory) -> None:
    registry = actors.admin.protocol.registry
    result = await actors.provider.digitize("gpu", inventory, cluster=True)
    assert result.cluster_root is not None and len(result.tx_hashes) == 1
    assert len(result.asset_ids) == 64
    receipt = await actors.admin.chain.w3.eth.get_transaction_receipt(result.tx_hashes[0])
    assert receipt["gasUsed"] < 200_000  # one cluster write, against ~95k gas per asset one by one
    cluster = await registry.functions.getCluster(result.cluster_root).call()
    assert cluster[1] == actors.provider.address and cluster[2] == 64
    assert await registry.functions.assetCount().call() == 0
    assert await registry.functions.clusteredAssetCount().call() == 64

    for asset in inventory.assets[::9]:
        proof = actors.admin.assets.cluster_proof(inventory, asset.asset_id)
        assert verify(result.cluster_root, leaf(asset.asset_id, asset.record_hash), proof)
        assert await actors.admin.assets.verify_in_cluster(result.cluster_root, asset, proof)
    # a record changed after registration no longer proves
    first = inventory.assets[0]
    changed = first.model_copy(update={"site": "elsewhere"})
    proof = actors.admin.assets.cluster_proof(inventory, first.asset_id)
    assert not await actors.admin.assets.verify_in_cluster(result.cluster_root, changed, proof)


@pytest.mark.asyncio
async def test_a_cluster_is_registered_once_and_never_overlaps_single_assets(
    actors: Actors, inventory: Inventory
) -> None:
    await actors.provider.digitize("gpu", inventory, cluster=True)
    sent = len(actors.admin.chain.history)
    with pytest.raises(DuplicateAssetError, match="cluster 0x[0-9a-f]{64} \\(64 assets\\) is already registered"):
        await actors.provider.digitize("gpu", inventory, cluster=True)
    again = await actors.provider.digitize("gpu", inventory, cluster=True, skip_registered=True)
    assert again.asset_ids == [] and len(again.already_registered) == 64
    assert len(actors.admin.chain.history) == sent

    # an asset registered on its own cannot go into a cluster too
    data = copy.deepcopy(inventory.model_dump())
    data["assets"] = data["assets"][:4]
    data["telemetry"] = data["telemetry"][:4]
    small = Inventory.model_validate(data)
    gaib2 = await Gaib.embedded()
    provider2 = gaib2.with_account(1)
    await gaib2.admin.authorize_registrar(provider2.address)
    await provider2.digitize("gpu", small)
    with pytest.raises(DuplicateAssetError, match="is already registered on its own"):
        await provider2.digitize("gpu", inventory, cluster=True)


@pytest.mark.asyncio
async def test_a_cluster_is_financed_repaid_defaulted_and_liquidated_by_its_root(
    actors: Actors, inventory: Inventory
) -> None:
    admin, provider = actors.admin, actors.provider
    root = (await provider.digitize("gpu", inventory, cluster=True)).cluster_root
    assert root is not None
    await actors.investor.aid.mint(Decimal(1_500_000))
    await actors.investor.said.stake(Decimal(1_000_000))
    gpu = inventory.assets[5]
    # A GPU in a cluster has no entry of its own; with the inventory, its cluster answers for it.
    assert (await admin.assets.get(gpu.asset_id))["status"] == "none"
    inside = await admin.assets.get(gpu.asset_id, inventory=inventory)
    assert (inside["status"], inside["cluster_root"], inside["owner"]) == ("active", root, provider.address)
    assert (inside["asset_id"], inside["record_hash"], inside["kind"]) == (gpu.asset_id, gpu.record_hash, "gpu")
    assert (await admin.assets.get(root))["size"] == 64  # the root itself reads as the cluster

    # A record changed since digitizing no longer hashes to the root: refused before anything is sent.
    data = copy.deepcopy(inventory.model_dump())
    data["assets"][3]["site"] = "elsewhere"
    changed = Inventory.model_validate(data)
    sent = len(admin.chain.history)
    with pytest.raises(UnderwritingError, match=f"hashes to cluster root 0x[0-9a-f]{{64}}, not {root}"):
        await admin.financialize("gpu", changed, as_of=AS_OF, cluster_root=root)
    with pytest.raises(UnderwritingError, match="digitized as a cluster, a record changed since"):
        await admin.financialize("gpu", changed, as_of=AS_OF)
    assert (await admin.assets.get(changed.assets[3].asset_id, inventory=changed))["status"] == "none"
    assert len(admin.chain.history) == sent

    # Financed by its root: one id of collateral for 64 GPUs.
    result = await admin.financialize("gpu", inventory, as_of=AS_OF, cluster_root=root)
    deal = result.deal
    assert deal.collateral == [root] and deal.borrower == provider.address
    assert (await admin.assets.cluster(root))["status"] == "financed"
    assert (await admin.assets.get(gpu.asset_id, inventory=inventory))["status"] == "financed"
    with pytest.raises(UnderwritingError, match=f"cluster {root} is 'financed' on-chain"):
        await admin.financialize("gpu", inventory, as_of=AS_OF)

    # Repaid in full: the cluster is active again.
    await admin.faucet(provider.address, 2 * deal.advance_usd)
    await provider.deals.repay(deal.deal_id, 2 * deal.advance_usd)
    assert (await admin.deals.get(deal.deal_id)).status == DealStatus.REPAID
    assert (await admin.assets.cluster(root))["status"] == "active"

    # A second deal on the same cluster, defaulted and liquidated: the cluster follows, and is final.
    second = (await admin.financialize("gpu", inventory, as_of=AS_OF)).deal
    assert second.collateral == [root] and second.deal_id == deal.deal_id + 1
    await admin.deals.impair(second.deal_id, Decimal(1_000))
    assert (await admin.assets.get(gpu.asset_id, inventory=inventory))["status"] == "impaired"
    await admin.deals.declare_default(second.deal_id)
    assert (await admin.assets.cluster(root))["status"] == "defaulted"
    await admin.faucet(admin.address, Decimal(100_000))
    await admin.deals.record_liquidation(second.deal_id, Decimal(100_000))
    assert (await admin.deals.get(second.deal_id)).status == DealStatus.LIQUIDATED
    assert (await admin.assets.cluster(root))["status"] == "liquidated"
    assert await admin.protocol.registry.functions.closedAt(root).call() > 0
    with pytest.raises(UnderwritingError, match="is 'liquidated' on-chain"):
        await admin.financialize("gpu", inventory, as_of=AS_OF)
