"""Shared fixtures. Every test gets a fresh in-process EVM: no chain state leaks between tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
import pytest_asyncio

from gaib_sdk import Gaib, Inventory
from gaib_sdk.chain import EmbeddedState

from .anvil import Anvil

#: Valuation date used wherever figures are asserted, so results do not drift with the calendar.
AS_OF = date(2026, 11, 25)


def pytest_configure(config: pytest.Config) -> None:
    """GAIB_TEST_TODAY=YYYY-MM-DD moves this process's clock to that day (it keeps ticking), so `make test`
    can prove that no asserted figure depends on the day the tests run. Child processes keep the real clock."""
    today = os.environ.get("GAIB_TEST_TODAY")
    if today:
        import time_machine

        traveller = time_machine.travel(date.fromisoformat(today), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


@dataclass
class Actors:
    """The parties of the protocol, each a view of one client signing as its own dev account."""

    admin: Gaib
    provider: Gaib
    investor: Gaib
    lender: Gaib
    outsider: Gaib


@pytest_asyncio.fixture
async def gaib() -> AsyncIterator[Gaib]:
    """A fresh embedded chain with the protocol deployed, signing as the admin."""
    client = await Gaib.embedded()
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture
async def actors(gaib: Gaib) -> Actors:
    """Admin, a cloud provider allowed to register assets, a whitelisted investor with 2M test USDC,
    a lender with 500k test USDC, and an outsider with nothing."""
    a = Actors(gaib, gaib.with_account(1), gaib.with_account(2), gaib.with_account(3), gaib.with_account(4))
    await gaib.admin.authorize_registrar(a.provider.address)
    await gaib.aid.whitelist(a.investor.address)
    await gaib.faucet(a.investor.address, Decimal(2_000_000))
    await gaib.faucet(a.lender.address, Decimal(500_000))
    return a


@pytest_asyncio.fixture
async def inventory(gaib: Gaib) -> Inventory:
    """The GPU plugin's sample cluster: 64 H100s, two signed customers."""
    return await gaib.assets.read_inventory("gpu")


#: The chain as the `financed` fixture leaves it, and the deal id: built by the first test that asks, copied
#: into the chain of the next ones (the same transactions from the same accounts give the same state).
_FINANCED: tuple[EmbeddedState, int] | None = None


@pytest_asyncio.fixture
async def financed(actors: Actors, inventory: Inventory) -> int:
    """The sample cluster digitized and financed with 1.5M AID in the reserve; returns the deal id."""
    global _FINANCED
    if _FINANCED is not None:
        state, deal_id = _FINANCED
        actors.admin.chain.restore_state(state)
        return deal_id
    await actors.provider.digitize("gpu", inventory)
    await actors.investor.aid.mint(Decimal(1_500_000))
    await actors.investor.said.stake(Decimal(1_000_000))
    result = await actors.admin.financialize("gpu", inventory, as_of=AS_OF)
    _FINANCED = (actors.admin.chain.save_state(), result.deal.deal_id)
    return result.deal.deal_id


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    """A real anvil node on 127.0.0.1 for one test, its test accounts funded; stopped after."""
    node = Anvil().start()
    try:
        yield node
    finally:
        node.stop()
