"""GaibSync is a thin skin over Gaib: the same calls, the same results, no second implementation."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from gaib_sdk import Gaib, GaibSync, NotWhitelistedError
from gaib_sdk.client import Receipt

from .conftest import AS_OF

CONSTRUCTORS = {"embedded", "connect"}  # GaibSync's own classmethods, which forward their keywords


def _public_coroutines() -> list[str]:
    return [
        n
        for n, f in inspect.getmembers(Gaib, inspect.iscoroutinefunction)
        if not n.startswith("_") and n not in CONSTRUCTORS
    ]


NAMESPACES = ("assets", "deals", "aid", "said", "nodes", "venues", "admin", "bridge")


def test_every_async_method_is_reachable_synchronously() -> None:
    with GaibSync.embedded() as gaib:
        for name in _public_coroutines():
            fn = getattr(gaib, name)
            assert callable(fn) and not inspect.iscoroutinefunction(fn), name
            assert inspect.signature(fn) == inspect.signature(getattr(gaib.aio, name)), name
        assert set(_public_coroutines()) <= set(dir(gaib))
        # and every one of each namespace's: gaib.aid.mint(...) runs to completion too
        for space in NAMESPACES:
            room, aroom = getattr(gaib, space), getattr(gaib.aio, space)
            names = [n for n, _ in inspect.getmembers(type(aroom), inspect.iscoroutinefunction) if n[0] != "_"]
            assert names, space
            for name in names:
                fn = getattr(room, name)
                assert callable(fn) and not inspect.iscoroutinefunction(fn), f"{space}.{name}"
                assert inspect.signature(fn) == inspect.signature(getattr(aroom, name)), f"{space}.{name}"
            assert set(names) <= set(dir(room))


def test_sync_and_async_give_the_same_results() -> None:
    with GaibSync.embedded() as admin:
        provider, investor = admin.with_account(1), admin.with_account(2)
        admin.admin.authorize_registrar(provider.address)
        inventory = provider.assets.read_inventory("gpu")
        sync_ids = provider.digitize("gpu", inventory).asset_ids
        admin.aid.whitelist(investor.address)
        admin.faucet(investor.address, Decimal(1_500_000))
        receipt = investor.aid.mint(Decimal(1_500_000))
        assert isinstance(receipt, Receipt) and receipt.amount == Decimal(1_500_000)
        sync_quote = admin.deals.quote("gpu", inventory, as_of=AS_OF)
        deal = admin.financialize("gpu", inventory, as_of=AS_OF).deal
        with pytest.raises(NotWhitelistedError):
            provider.aid.mint(Decimal(1))
        assert admin.deals.get(deal.deal_id) == deal

    async def run_async() -> tuple[list[str], object]:
        async with await Gaib.embedded() as gaib:
            provider = gaib.with_account(1)
            await gaib.admin.authorize_registrar(provider.address)
            inv = await provider.assets.read_inventory("gpu")
            ids = (await provider.digitize("gpu", inv)).asset_ids
            return ids, await gaib.deals.quote("gpu", inv, as_of=AS_OF)

    import asyncio

    async_ids, async_quote = asyncio.run(run_async())
    assert async_ids == sync_ids
    assert async_quote == sync_quote


def test_the_chain_and_venues_are_driven_synchronously_too() -> None:
    with GaibSync.embedded() as admin:
        before = admin.chain.timestamp()
        admin.chain.advance_time(3600)
        assert admin.chain.timestamp() >= before + 3600
        lender = admin.with_account(3)
        admin.faucet(lender.address, Decimal(1000))
        admin.venues.setup("morpho")
        morpho = lender.venues.get("morpho")
        positions = morpho.supply(Decimal(1000))
        assert [(p.side, p.amount) for p in positions] == [("supply", Decimal(1000))]
        assert admin.run(admin.aio.aid.supply()) == 0
