"""Asset ownership cannot be taken (issue 12, item 2; docs/security.md, "Asset ownership").

Asset ids are a public hash of kind, vendor and serial, so anyone with REGISTRAR_ROLE can compute another
provider's ids. The attacks: register them for someone else, squat them under one's own address, retire or
move another's asset, finance a provisional or disputed registration. Then the dispute path gives a squatted
registration back to its rightful owner, or voids it so that the owner registers it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import pytest_asyncio
from web3.logs import DISCARD

from gaib_sdk import AssetOwnershipError, Gaib, GaibConfigError, Inventory
from gaib_sdk.chain import role

from .conftest import AS_OF, Actors
from .test_contracts import (
    GPU,
    attestation,
    events,
    open_deal,
    record_hash,
    reverts,
    unauthorized,
)

ACTIVE, RETIRED, DISPUTED, UNCONFIRMED = 1, 5, 7, 8
ENTRY_ASSET, ENTRY_CLUSTER = 1, 2
HOUR = 3600


def ids(*ns: int) -> list[bytes]:
    return [bytes([n]) * 32 for n in ns]


async def register(who: Gaib, owner: str, assets: list[bytes]) -> object:
    reg = who.protocol.registry.functions
    n = len(assets)
    call = reg.registerBatch(GPU, owner, assets, [record_hash(i + 1) for i in range(n)], [attestation(1)] * n)
    return await who.send(call, what="register")


@pytest_asyncio.fixture
async def squatter(actors: Actors) -> Gaib:
    """Another onboarded provider: a registrar like the victim."""
    await actors.admin.admin.authorize_registrar(actors.outsider.address)
    return actors.outsider


@pytest.mark.asyncio
async def test_a_registrar_cannot_register_assets_for_another_owner(actors: Actors, squatter: Gaib) -> None:
    reg = squatter.protocol.registry.functions
    victim = actors.provider.address
    reason = await reverts(register(squatter, victim, ids(0x11)), "NotOwnRegistration")
    assert victim.lower() in reason.lower() and squatter.address.lower() in reason.lower()
    root = ids(0x12)[0]
    await reverts(
        squatter.send(reg.registerCluster(root, GPU, victim, 4, attestation(1)), what="cluster"), "NotOwnRegistration"
    )
    assert not await reg.isRegistered(ids(0x11)[0]).call()


@pytest.mark.asyncio
async def test_a_registrar_cannot_retire_or_move_another_providers_asset(actors: Actors, squatter: Gaib) -> None:
    reg = actors.admin.protocol.registry.functions
    (mine,) = ids(0x21)
    root = ids(0x22)[0]
    await register(actors.provider, actors.provider.address, [mine])
    await actors.provider.send(reg.registerCluster(root, GPU, actors.provider.address, 4, attestation(1)), what="c")
    # retire: only the owner, even for a registrar (before, any registrar could retire any active asset)
    reason = await reverts(squatter.send(reg.retire(mine), what="retire"), "NotAssetOwner")
    assert squatter.address.lower() in reason.lower()
    await reverts(squatter.send(reg.retireCluster(root), what="retire"), "NotAssetOwner")
    # move: owners change only through the facility (recovery) or the registrar admin (a dispute)
    await unauthorized(
        squatter.send(reg.setOwner(mine, squatter.address), what="move"), squatter.address, "FACILITY_ROLE"
    )
    await unauthorized(
        squatter.send(reg.setClusterOwner(root, squatter.address), what="move"), squatter.address, "FACILITY_ROLE"
    )
    await unauthorized(squatter.send(reg.dispute(mine), what="dispute"), squatter.address, "REGISTRAR_ADMIN_ROLE")
    await unauthorized(
        squatter.send(reg.resolveDispute(mine, squatter.address), what="resolve"),
        squatter.address,
        "REGISTRAR_ADMIN_ROLE",
    )
    await unauthorized(squatter.send(reg.voidRegistration(mine), what="void"), squatter.address, "REGISTRAR_ADMIN_ROLE")
    assert (await reg.getAsset(mine).call())[2:4] == (actors.provider.address, ACTIVE)
    # The SDK says so before sending.
    sent = len(squatter.chain.history)
    with pytest.raises(AssetOwnershipError, match="only its owner retires it"):
        await squatter.assets.retire("0x" + mine.hex())
    assert len(squatter.chain.history) == sent
    # Its owner retires it.
    await actors.provider.assets.retire("0x" + mine.hex())
    await actors.provider.assets.retire("0x" + root.hex())
    assert (await actors.provider.assets.get("0x" + mine.hex()))["status"] == "retired"
    assert (await actors.provider.assets.cluster("0x" + root.hex()))["status"] == "retired"


@pytest.mark.asyncio
async def test_a_squat_is_disputed_and_voided_then_the_rightful_owner_registers(
    actors: Actors, squatter: Gaib, inventory: Inventory
) -> None:
    admin, provider = actors.admin, actors.provider
    reg = admin.protocol.registry
    first = inventory.assets[0]
    # The squatter registers the victim's serials (public ids) under its own address, first.
    await squatter.digitize("gpu", inventory)
    # The victim is told who holds them and what to do, before anything is sent, even with skip_registered.
    for skip in (False, True):
        with pytest.raises(AssetOwnershipError, match=f"registered to {squatter.address}.*registrar admin"):
            await provider.digitize("gpu", inventory, skip_registered=skip)
    # The registrar admin disputes: the asset is frozen (not financeable, not retirable), then voided.
    result = await admin.send(reg.functions.dispute(first.asset_id), what="dispute")
    (ev,) = events(reg, "OwnershipDisputed", result)
    assert (ev["owner"], ev["status"]) == (squatter.address, ACTIVE)
    assert (await admin.assets.get(first.asset_id))["ownership"] == "disputed"
    info = await reg.functions.collateralInfo(first.asset_id).call()
    assert list(info) == [ENTRY_ASSET, DISPUTED, squatter.address]
    await reverts(squatter.send(reg.functions.retire(first.asset_id), what="retire"), "InvalidTransition")
    await reverts(
        open_deal(actors, [first.asset_id], 10**12, 10**11, borrower=squatter.address), "CollateralNotAvailable"
    )
    result = await admin.send(reg.functions.voidRegistration(first.asset_id), what="void")
    (ev,) = events(reg, "RegistrationVoided", result)
    assert ev["owner"] == squatter.address
    assert not await reg.functions.isRegistered(first.asset_id).call()
    assert await reg.functions.assetCount().call() == len(inventory.assets) - 1
    # The rest through the SDK: dispute, and give them to the rightful owner (a confirmed registration).
    for asset in inventory.assets[1:]:
        await admin.assets.dispute(asset.asset_id)
    result_hash = await admin.assets.resolve_dispute(inventory.assets[1].asset_id, provider.address)
    receipt = await admin.chain.w3.eth.get_transaction_receipt(result_hash)  # type: ignore[arg-type]
    (ev,) = reg.events.DisputeResolved().process_receipt(receipt, errors=DISCARD)
    assert (ev["args"]["from"], ev["args"]["to"]) == (squatter.address, provider.address)
    owned = await admin.assets.get(inventory.assets[1].asset_id)
    assert (owned["owner"], owned["status"], owned["ownership"]) == (provider.address, "active", "confirmed")
    for asset in inventory.assets[2:]:
        await admin.assets.void_registration(asset.asset_id)
    # The provider now registers the voided ones under its own records; the resolved one is already its own.
    done = await provider.digitize("gpu", inventory, skip_registered=True)
    assert inventory.assets[1].asset_id in done.already_registered and len(done.asset_ids) == 63
    for asset in inventory.assets:
        assert (await admin.assets.get(asset.asset_id))["owner"] == provider.address


@pytest.mark.asyncio
async def test_a_provisional_registration_is_not_collateral_until_confirmed() -> None:
    """With a confirmation delay (a real network's default), a fresh registration is provisional: the
    facility refuses it as collateral and its owner cannot retire it (a squatter cannot make its squat final)
    until the delay has passed or the registrar admin confirms it."""
    gaib = await Gaib.embedded(deploy=False)
    try:
        await gaib.deploy(confirmation_delay=HOUR)
        admin, provider = gaib, gaib.with_account(1)
        reg = admin.protocol.registry.functions
        await admin.admin.authorize_registrar(provider.address)
        a, b, c = ids(0x31, 0x32, 0x33)
        await register(provider, provider.address, [a, b, c])
        registered_at = (await reg.getAsset(a).call())[4]
        assert list(await reg.collateralInfo(a).call()) == [ENTRY_ASSET, UNCONFIRMED, provider.address]
        assert list(await reg.confirmation(a).call()) == [registered_at + HOUR, False]
        reason = await reverts(provider.send(reg.retire(a), what="retire"), "NotConfirmed")
        assert str(registered_at + HOUR) in reason
        with pytest.raises(AssetOwnershipError, match="provisional until unix time"):
            await provider.assets.retire("0x" + a.hex())
        call = admin.protocol.facility.functions.openDeal(
            provider.address, [a], 10**12, 10**11, (0, 1000, 0, 100, 365), []
        )
        await reverts(admin.send(call, what="open deal"), "CollateralNotAvailable")
        # The registrar admin confirms b early; a and c wait for the delay.
        result = await admin.send(reg.confirm([b]), what="confirm")
        (ev,) = events(admin.protocol.registry, "OwnershipConfirmed", result)
        assert ev["owner"] == provider.address
        assert list(await reg.collateralInfo(b).call()) == [ENTRY_ASSET, ACTIVE, provider.address]
        await provider.send(reg.retire(b), what="retire")
        await gaib.chain.advance_time(HOUR)
        assert list(await reg.collateralInfo(a).call()) == [ENTRY_ASSET, ACTIVE, provider.address]
        assert (await provider.assets.get("0x" + c.hex()))["ownership"] == "confirmed"
        await provider.assets.retire("0x" + a.hex())
        # A cluster likewise.
        root = ids(0x34)[0]
        await provider.send(reg.registerCluster(root, GPU, provider.address, 8, attestation(1)), what="cluster")
        assert list(await reg.collateralInfo(root).call()) == [ENTRY_CLUSTER, UNCONFIRMED, provider.address]
        await admin.assets.confirm_ownership(["0x" + root.hex()])
        assert list(await reg.collateralInfo(root).call()) == [ENTRY_CLUSTER, ACTIVE, provider.address]
    finally:
        await gaib.close()


@pytest.mark.asyncio
async def test_financialize_refuses_provisional_collateral_before_sending(inventory: Inventory) -> None:
    gaib = await Gaib.embedded(deploy=False)
    try:
        await gaib.deploy(confirmation_delay=HOUR)
        admin, provider, investor = gaib, gaib.with_account(1), gaib.with_account(2)
        await admin.admin.authorize_registrar(provider.address)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(2_000_000))
        await investor.aid.mint(Decimal(1_500_000))
        await provider.digitize("gpu", inventory)
        sent = len(admin.chain.history)
        with pytest.raises(AssetOwnershipError, match="ownership is provisional"):
            await admin.financialize("gpu", inventory, as_of=AS_OF)
        assert len(admin.chain.history) == sent
        await admin.assets.confirm_ownership([a.asset_id for a in inventory.assets])
        result = await admin.financialize("gpu", inventory, as_of=AS_OF)
        assert result.deal.borrower == provider.address
    finally:
        await gaib.close()


@pytest.mark.asyncio
async def test_the_registrar_admin_not_the_protocol_admin_onboards_providers() -> None:
    """REGISTRAR_ROLE's admin role is REGISTRAR_ADMIN_ROLE: given to another account, the protocol admin can
    no longer onboard a provider."""
    gaib = await Gaib.embedded(deploy=False)
    try:
        registrar_admin = gaib.with_account(5)
        await gaib.deploy(roles={"registrar_admin": registrar_admin.address})
        reg = gaib.protocol.registry.functions
        provider = gaib.with_account(1)
        assert await reg.getRoleAdmin(role("REGISTRAR_ROLE")).call() == role("REGISTRAR_ADMIN_ROLE")
        with pytest.raises(GaibConfigError, match="lacks REGISTRAR_ADMIN_ROLE"):
            await gaib.admin.authorize_registrar(provider.address)
        await unauthorized(
            gaib.send(reg.grantRole(role("REGISTRAR_ROLE"), provider.address), what="grant"),
            gaib.address,
            "REGISTRAR_ADMIN_ROLE",
        )
        await registrar_admin.admin.authorize_registrar(provider.address)
        assert await reg.hasRole(role("REGISTRAR_ROLE"), provider.address).call()
    finally:
        await gaib.close()


@pytest.mark.asyncio
async def test_a_squatted_cluster_root_is_disputed_and_voided_or_given_back(
    actors: Actors, squatter: Gaib, inventory: Inventory
) -> None:
    """The same path for a cluster: one root, one dispute, and the count of clustered assets follows."""
    admin, provider = actors.admin, actors.provider
    reg = admin.protocol.registry.functions
    squat = await squatter.digitize("gpu", inventory, cluster=True)
    root = squat.cluster_root
    assert root is not None
    with pytest.raises(AssetOwnershipError, match=f"cluster {root} is registered to {squatter.address}"):
        await provider.digitize("gpu", inventory, cluster=True)
    with pytest.raises(AssetOwnershipError, match="only its owner retires it"):
        await provider.assets.retire(root)
    await admin.assets.dispute(root)
    assert (await admin.assets.cluster(root))["status"] == "disputed"
    await reverts(open_deal(actors, [root], 10**12, 10**11, borrower=squatter.address), "CollateralNotAvailable")
    await admin.assets.void_registration(root)
    assert (await reg.clusterCount().call(), await reg.clusteredAssetCount().call()) == (0, 0)
    done = await provider.digitize("gpu", inventory, cluster=True)
    assert done.cluster_root == root and (await admin.assets.cluster(root))["owner"] == provider.address
    # Given back instead: the rightful owner finances it at once (resolution confirms it).
    await admin.assets.dispute(root)
    with pytest.raises(AssetOwnershipError, match="disputed"):
        await admin.assets.confirm_ownership([root])
    await admin.assets.resolve_dispute(root, provider.address)
    await actors.investor.aid.mint(Decimal(1_500_000))
    result = await admin.financialize("gpu", inventory, as_of=AS_OF, cluster_root=root)
    assert result.deal.borrower == provider.address
