from decimal import Decimal

import pytest

from gaib_sdk import DealStatus, Gaib

from .conftest import Actors


@pytest.mark.asyncio
async def test_financed_fixture_opens_an_active_deal(gaib: Gaib, actors: Actors, financed: int) -> None:
    deal = await gaib.deals.get(financed)
    assert deal.status is DealStatus.ACTIVE
    assert deal.borrower == actors.provider.address
    assert deal.advance_usd == Decimal("876809.76")  # 75% of the market value (issue 13), not of the invoice
