"""A venue is set up by the protocol admin, never as a side effect of a user's first call: what integrators
trust (Curve's pool, Morpho's oracle and market, Pendle's market) must not come from whoever called first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gaib_sdk import Gaib, GaibConfigError


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", ["curve", "morpho", "pendle"])
async def test_a_users_first_call_does_not_set_a_venue_up(venue: str) -> None:
    async with await Gaib.embedded() as admin:
        user = admin.with_account(2)
        await admin.aid.whitelist(user.address)
        await admin.faucet(user.address, Decimal(20_000))
        await user.aid.mint(Decimal(10_000))
        await user.said.stake(Decimal(5_000))
        block = await admin.chain.w3.eth.block_number
        with pytest.raises(GaibConfigError, match=rf"the '{venue}' venue is not set up .* only the protocol admin"):
            await user.add_liquidity(venue, Decimal(1_000))
        with pytest.raises(GaibConfigError, match=rf"lacks DEFAULT_ADMIN_ROLE .* to set up the '{venue}' venue"):
            await user.venues.setup(venue)
        assert await admin.chain.w3.eth.block_number == block  # nothing was sent
        assert not user.venues.get(venue).state
        where = await admin.venues.setup(venue)  # the admin sets it up; then the user's call goes through
        assert where and await user.add_liquidity(venue, Decimal(1_000))
