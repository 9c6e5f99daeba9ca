"""The receivables (LeaseRegistry): a lease backs at most one open deal, only a deal of its own operator that
holds all it covers, never once it has ended, and a deal's leases may not promise more a month than its
hardware can earn (units x 730 h x the kind's price ceiling). Each rule is tried as an attack, through the
SDK (which refuses before sending) and raw against the contracts (which refuse on their own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from gaib_gpu.adapter import GpuAdapter

from gaib_sdk import AssetAdapter, AssetRecord, AssetValuation, Gaib, Inventory, UnderwritingError
from gaib_sdk.client import cluster_tree
from gaib_sdk.models import CreditPolicy, DealStatus, lease_id
from gaib_sdk.underwriting import underwrite

from .conftest import AS_OF, Actors
from .test_contracts import GPU, USDC, asset_id, open_deal, register, reverts, unauthorized

DAY = 86_400
#: customerHash, contractRef, monthly amount, start, end, covers: LeaseRegistry.register's arguments after the operator.
LeaseArgs = tuple[bytes, bytes, int, int, int, list[str]]
#: The GPU plugin's ceiling, $6.00 a GPU-hour, in USDC units.
CEILING = 6 * USDC


@pytest.fixture(autouse=True)
def chain_clock() -> Iterator[None]:
    """The sample's leases run from late 2025 to late 2027 and the embedded chain keeps the process's clock: it
    starts on 2026-12-01 here (and ticks), so what may be pledged does not depend on the day the tests run."""
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=UTC), tick=True):
        yield


def twin(inventory: Inventory, tag: str) -> Inventory:
    """Other GPUs of the same operator, with the same customer contracts: the leases pledged a second time."""
    return inventory.model_copy(
        update={
            "assets": [a.model_copy(update={"serial": a.serial + tag}) for a in inventory.assets],
            "telemetry": [t.model_copy(update={"serial": t.serial + tag}) for t in inventory.telemetry],
        }
    )


def at_per_gpu_hour(inventory: Inventory, usd: Decimal) -> Inventory:
    """The inventory with its first contract raised so that all contracts pay ``usd`` per GPU-hour."""
    target = usd * 730 * len(inventory.assets)
    first, *rest = inventory.contracts
    raised = first.monthly_revenue_usd + target - sum((c.monthly_revenue_usd for c in inventory.contracts), Decimal(0))
    return inventory.model_copy(update={"contracts": [first.model_copy(update={"monthly_revenue_usd": raised}), *rest]})


async def lease_args(
    gaib: Gaib, covers: list[str], *, monthly: int = 1_000 * USDC, days: int = 365, ref: int = 1
) -> LeaseArgs:
    now = await gaib.chain.timestamp()
    return (b"\xcc" * 32, bytes([ref]) * 32, monthly, now - DAY, now + days * DAY, covers)


async def register_lease(who: Gaib, operator: str, args: LeaseArgs) -> str:
    leases = who.protocol.leases
    assert leases is not None
    await who.send(leases.functions.register(operator, *args), what="register lease")
    return "0x" + bytes(await leases.functions.leaseIdOf(operator, args[0], args[1]).call()).hex()


# ---- the same leases, a second deal ----


@pytest.mark.asyncio
async def test_the_same_leases_cannot_back_a_second_deal(
    gaib: Gaib, actors: Actors, inventory: Inventory, financed: int
) -> None:
    ids = [lease_id(actors.provider.address, c) for c in inventory.contracts]
    assert await gaib.deals.leases(financed) == ids
    for lid, c in zip(ids, inventory.contracts, strict=True):
        lease = await gaib.deals.lease(lid)
        assert lease["operator"] == actors.provider.address and lease["deal_id"] == financed
        assert lease["monthly_usd"] == c.monthly_revenue_usd and lease["customer_hash"] == c.customer_hash
        assert lease["covers"] == [a.asset_id for a in inventory.assets]

    # the provider brings 64 other GPUs with the same customer contracts
    other = twin(inventory, "-B")
    await actors.provider.digitize("gpu", other)
    await gaib.faucet(actors.investor.address, Decimal(2_000_000))
    await actors.investor.aid.mint(Decimal(2_000_000))
    block = await gaib.chain.w3.eth.block_number
    with pytest.raises(UnderwritingError, match=f"lease {ids[0]} .* already backs open deal {financed}") as exc:
        await gaib.financialize("gpu", other, as_of=AS_OF)
    assert exc.value.rule == "lease_pledged"
    assert await gaib.chain.w3.eth.block_number == block  # refused before anything was sent
    assert await gaib.protocol.facility.functions.dealCount().call() == 1

    # sent raw, the contract refuses it too
    reason = await reverts(
        open_deal(actors, [a.asset_id for a in other.assets], 2_000_000 * USDC, 1_000_000 * USDC, leases=ids),
        "LeaseAlreadyPledged",
    )
    assert f"leaseId={ids[0]}" in reason and f"dealId={financed}" in reason


@pytest.mark.asyncio
async def test_a_lease_listed_twice_in_one_deal_is_pledged_once(gaib: Gaib, actors: Actors) -> None:
    await register(actors, actors.provider.address, [asset_id(0x11)])
    await gaib.deals.set_price_ceiling("gpu", Decimal(6))
    lid = await register_lease(actors.provider, actors.provider.address, await lease_args(gaib, [asset_id(0x11)]))
    reason = await reverts(
        open_deal(actors, [asset_id(0x11)], 10 * USDC, 8 * USDC, leases=[lid, lid]), "LeaseAlreadyPledged"
    )
    assert f"leaseId={lid}" in reason and "dealId=1" in reason


# ---- another operator's lease, another deal's hardware ----


@pytest.mark.asyncio
async def test_a_lease_of_another_operator_cannot_back_the_deal(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    assert p.leases is not None
    mine, theirs = asset_id(0x11), asset_id(0x22)
    await register(actors, actors.provider.address, [mine])
    await register(actors, actors.outsider.address, [theirs])
    await gaib.deals.set_price_ceiling("gpu", Decimal(6))

    # nobody registers a lease over hardware it does not own, or for an operator it is not
    reason = await reverts(
        actors.outsider.send(
            p.leases.functions.register(actors.outsider.address, *await lease_args(gaib, [mine])), what="x"
        ),
        "CoverNotOwned",
    )
    assert f"owner={actors.provider.address}" in reason
    reason = await reverts(
        actors.outsider.send(
            p.leases.functions.register(actors.provider.address, *await lease_args(gaib, [mine])), what="x"
        ),
        "NotOperator",
    )
    await reverts(
        actors.outsider.send(
            p.leases.functions.register(actors.outsider.address, *await lease_args(gaib, [asset_id(0x33)])), what="x"
        ),
        "CoverNotOwned",
    )

    # the outsider's own lease, over its own GPU, pledged to the provider's deal
    lid = await register_lease(actors.outsider, actors.outsider.address, await lease_args(gaib, [theirs]))
    reason = await reverts(open_deal(actors, [mine], 10 * USDC, 8 * USDC, leases=[lid]), "LeaseOperatorNotBorrower")
    assert f"operator={actors.outsider.address}" in reason and f"borrower={actors.provider.address}" in reason

    # the provider's lease over a GPU this deal does not hold
    await register(actors, actors.provider.address, [asset_id(0x44)])
    other = await register_lease(actors.provider, actors.provider.address, await lease_args(gaib, [asset_id(0x44)]))
    reason = await reverts(open_deal(actors, [mine], 10 * USDC, 8 * USDC, leases=[other]), "CoverNotInDeal")
    assert asset_id(0x44) in reason
    # an id nobody registered, and a lease registered twice
    await reverts(open_deal(actors, [mine], 10 * USDC, 8 * USDC, leases=["0x" + "ab" * 32]), "UnknownLease")
    await reverts(
        register_lease(actors.provider, actors.provider.address, await lease_args(gaib, [asset_id(0x44)])),
        "LeaseAlreadyRegistered",
    )
    # only the facility pledges and releases; only the underwriter sets a ceiling
    await unauthorized(
        actors.provider.send(p.leases.functions.pledge(9, actors.provider.address, [mine], [other]), what="x"),
        actors.provider.address,
        "FACILITY_ROLE",
    )
    await unauthorized(
        actors.provider.send(p.leases.functions.release(1), what="x"), actors.provider.address, "FACILITY_ROLE"
    )
    await unauthorized(
        actors.provider.send(p.leases.functions.setPriceCeiling(GPU, 10**12), what="x"),
        actors.provider.address,
        "UNDERWRITER_ROLE",
    )
    # none of it left a deal behind
    assert await p.facility.functions.dealCount().call() == 0


# ---- an ended lease ----


@pytest.mark.asyncio
async def test_an_ended_lease_cannot_be_pledged(gaib: Gaib, actors: Actors) -> None:
    await register(actors, actors.provider.address, [asset_id(0x11)])
    await gaib.deals.set_price_ceiling("gpu", Decimal(6))
    lid = await register_lease(
        actors.provider, actors.provider.address, await lease_args(gaib, [asset_id(0x11)], days=2)
    )
    await gaib.chain.advance_time(2 * DAY)
    end = (await gaib.deals.lease(lid))["end"]
    reason = await reverts(open_deal(actors, [asset_id(0x11)], 10 * USDC, 8 * USDC, leases=[lid]), "LeaseEnded")
    assert f"end={end}" in reason


@pytest.mark.asyncio
async def test_financialize_pledges_only_the_contracts_still_running(
    gaib: Gaib, actors: Actors, inventory: Inventory
) -> None:
    # the second contract ended before the deal: it is neither registered nor pledged
    first, second = inventory.contracts
    ended = second.model_copy(update={"starts_on": date(2025, 11, 1), "term_months": 12})
    inv = inventory.model_copy(update={"contracts": [first, ended]})
    await actors.provider.digitize("gpu", inv)
    await actors.investor.aid.mint(Decimal(1_500_000))
    # one running customer: the lender accepts it (80% is the default limit a customer may pay)
    result = await gaib.financialize("gpu", inv, as_of=AS_OF, policy={"max_customer_share": 1})
    assert await gaib.deals.leases(result.deal.deal_id) == [lease_id(actors.provider.address, first)]
    assert (await gaib.deals.lease(lease_id(actors.provider.address, ended)))["operator"] is None


# ---- revenue above capacity ----


def test_the_quote_refuses_revenue_no_hardware_earns(inventory: Inventory) -> None:
    """$8.6 a GPU-hour on the sample cluster: 401,792 USD a month from 64 H100s, where the ceiling ($6.00) allows
    280,320."""
    inflated = at_per_gpu_hour(inventory, Decimal("8.6"))
    adapter = GpuAdapter()
    valuations = adapter.appraise_inventory(inflated, AS_OF)
    with pytest.raises(
        UnderwritingError, match=r"401,792.00 USD a month \(8.60 USD per unit-hour\) exceeds .* 280,320.00"
    ) as exc:
        underwrite(inflated, valuations, as_of=AS_OF, price_ceiling_usd=adapter.price_ceiling(inflated))
    assert exc.value.rule == "capacity"
    # at the ceiling it passes (the stress test is another rule: off here)
    at_ceiling = at_per_gpu_hour(inventory, Decimal(6))
    valued = adapter.appraise_inventory(at_ceiling, AS_OF)
    # Helix pays 85.94% of it: the concentration limit (another rule) raised here
    lenient = CreditPolicy(max_customer_share=Decimal(1))
    underwrite(at_ceiling, valued, as_of=AS_OF, price_ceiling_usd=Decimal(6), policy=lenient)


@pytest.mark.asyncio
async def test_revenue_above_capacity_is_refused_by_the_sdk_and_the_contract(
    gaib: Gaib, actors: Actors, inventory: Inventory
) -> None:
    inflated = at_per_gpu_hour(inventory, Decimal("8.6"))
    await actors.provider.digitize("gpu", inflated, cluster=True)
    with pytest.raises(UnderwritingError, match="exceeds the collateral's capacity") as exc:
        await gaib.deals.quote("gpu", inflated, as_of=AS_OF)
    assert exc.value.rule == "capacity"

    # raw: the provider registers the inflated leases over its cluster and the underwriter opens the deal
    p = gaib.protocol
    assert p.leases is not None
    root = cluster_tree(inflated).root
    ids = []
    for n, c in enumerate(inflated.contracts):
        monthly = int(c.monthly_revenue_usd * USDC)
        ids.append(
            await register_lease(
                actors.provider, actors.provider.address, await lease_args(gaib, [root], monthly=monthly, ref=n + 1)
            )
        )
    # a kind without a ceiling cannot back a deal with leases
    reason = await reverts(open_deal(actors, [root], 2_000_000 * USDC, 1_000_000 * USDC, leases=ids), "NoPriceCeiling")
    assert "0x" + GPU.hex() in reason
    await gaib.deals.set_price_ceiling("gpu", Decimal(6))
    assert await p.leases.functions.capacityOf([root]).call() == 64 * 730 * CEILING
    reason = await reverts(open_deal(actors, [root], 2_000_000 * USDC, 1_000_000 * USDC, leases=ids), "AboveCapacity")
    assert f"monthlyRevenue={401_792 * USDC}" in reason and f"capacity={280_320 * USDC}" in reason
    assert await p.facility.functions.dealCount().call() == 0


@pytest.mark.asyncio
async def test_financialize_checks_the_ceiling_on_chain(gaib: Gaib, actors: Actors, inventory: Inventory) -> None:
    """The underwriter set the kind's ceiling lower than the adapter's: the chain's is what binds, and the SDK
    refuses before sending."""
    await actors.provider.digitize("gpu", inventory)
    await actors.investor.aid.mint(Decimal(1_500_000))
    await gaib.deals.set_price_ceiling("gpu", Decimal(2))  # $93,440 a month for 64 GPUs; the leases pay $100,740
    with pytest.raises(UnderwritingError, match=r"100,740.00 USD a month .* exceeds .* 93,440.00") as exc:
        await gaib.financialize("gpu", inventory, as_of=AS_OF)
    assert exc.value.rule == "capacity"
    assert await gaib.protocol.facility.functions.dealCount().call() == 0


# ---- a lease freed ----


@pytest.mark.asyncio
async def test_a_lease_freed_when_its_deal_is_repaid_can_back_a_new_deal(
    gaib: Gaib, actors: Actors, inventory: Inventory, financed: int
) -> None:
    ids = await gaib.deals.leases(financed)
    await gaib.faucet(actors.provider.address, Decimal(200_000))
    await gaib.chain.advance_time(10 * DAY)
    await actors.provider.deals.repay(financed, Decimal(1_000_000))
    assert (await gaib.deals.get(financed)).status is DealStatus.REPAID
    for lid in ids:
        assert (await gaib.deals.lease(lid))["deal_id"] is None
    assert await gaib.deals.leases(financed) == ids  # the closed deal still lists what it had

    await actors.investor.aid.mint(Decimal(400_000))
    again = await gaib.financialize("gpu", inventory, as_of=AS_OF)
    assert again.deal.deal_id == financed + 1
    assert await gaib.deals.leases(again.deal.deal_id) == ids
    assert {(await gaib.deals.lease(lid))["deal_id"] for lid in ids} == {again.deal.deal_id}


@pytest.mark.asyncio
async def test_a_liquidated_deal_frees_its_leases(gaib: Gaib, actors: Actors) -> None:
    await register(actors, actors.provider.address, [asset_id(0x11)])
    await gaib.deals.set_price_ceiling("gpu", Decimal(6))
    lid = await register_lease(actors.provider, actors.provider.address, await lease_args(gaib, [asset_id(0x11)]))
    await gaib.faucet(actors.investor.address, Decimal(100))
    await actors.investor.aid.mint(Decimal(100))
    await open_deal(actors, [asset_id(0x11)], 100 * USDC, 80 * USDC, leases=[lid])
    assert (await gaib.deals.lease(lid))["deal_id"] == 1
    await gaib.deals.declare_default(1)
    await gaib.deals.record_liquidation(1, Decimal(0))
    assert (await gaib.deals.lease(lid))["deal_id"] is None


# ---- the ceiling an adapter supplies ----


@pytest.mark.asyncio
async def test_each_adapter_supplies_a_price_ceiling(inventory: Inventory) -> None:
    gaib = Gaib.offline()
    assert gaib.assets.adapter("gpu").price_ceiling(inventory) == Decimal("6.00")
    robots = await gaib.assets.read_inventory("robot")
    assert gaib.assets.adapter("robot").price_ceiling(robots) == Decimal("5.00")

    class Bare(AssetAdapter):  # an adapter that supplies none gets the default: its cost back in 8,760 hours
        kind = "bare"

        async def read_inventory(self, source: str | Path) -> Inventory:
            raise NotImplementedError

        def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
            raise NotImplementedError

    assert Bare().price_ceiling(inventory) == (Decimal("31250") / 8_760).quantize(Decimal("0.000001"))
