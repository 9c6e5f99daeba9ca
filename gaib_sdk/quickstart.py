"""The quickstart: the three stages end to end on a fresh in-process EVM, with the sample GPU cluster.

1. deploy the protocol (a 6-decimal test USDC stands in for USDC on this local chain);
2. digitize the GPU plugin's sample cluster (8 servers x 8 H100) as the cloud provider;
3. an investor passes KYC, mints AID for USDC and stakes it into sAID;
4. financialize: underwrite the cluster and open a deal funded in USDC from the AID reserve;
5. thirty days on, the provider repays through the waterfall: the interest vests into sAID over eight
   hours and raises its share price;
6. add liquidity at a venue (``--venue``):
   - morpho (the default): a lender supplies USDC to the sAID/USDC market, the investor borrows against sAID;
   - curve: the investor seeds the AID/USDC pool with both coins, a lender who is not whitelisted adds USDC;
   - pendle: the investor puts sAID into the PT/SY market (half of it split into PT + YT);
   - any other installed venue: the investor's ``add_liquidity`` with the venue's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from gaib_sdk.client import Gaib

__all__ = ["run_quickstart"]

DAY = 86_400
INVESTOR_USDC = Decimal(1_500_000)
STAKE_AID = Decimal(1_000_000)
REPAYMENT_USDC = Decimal(60_000)
LENDER_USDC = Decimal(250_000)
COLLATERAL_SAID = Decimal(100_000)
BORROW_USDC = Decimal(50_000)
CURVE_SEED_USD = Decimal(500_000)  # half AID, half USDC
CURVE_LENDER_USDC = Decimal(50_000)
VENUE_SAID = Decimal(100_000)


async def run_quickstart(
    *,
    venue: str = "morpho",
    kind: str = "gpu",
    as_of: date | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the quickstart and return its summary (what ``gaib quickstart --json`` prints). ``kind``: the asset
    class whose plugin's sample inventory is digitized and financed (``gpu``, ``robot``, any installed)."""
    txs: dict[str, list[str]] = {}
    async with await Gaib.embedded(deploy=False) as admin:
        admin.plugins.venue(venue)  # an unknown venue is refused before anything is done
        admin.plugins.asset_adapter(kind)
        chain = admin.chain

        def step(name: str, mark: int) -> None:
            txs[name] = [h for _, h in chain.history[mark:]]

        say("deploying the protocol into an in-process EVM")
        mark = len(chain.history)
        deployment = await admin.deploy()
        step("deploy", mark)
        provider, investor, lender = admin.with_account(1), admin.with_account(2), admin.with_account(3)

        say(f"digitizing the {kind} plugin's sample inventory")
        mark = len(chain.history)
        await admin.admin.authorize_registrar(provider.address)
        inventory = await provider.assets.read_inventory(kind)
        digitized = await provider.digitize(kind, inventory)
        step("digitize", mark)

        say("an investor mints AID for USDC and stakes it into sAID")
        mark = len(chain.history)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, INVESTOR_USDC)
        await investor.aid.mint(INVESTOR_USDC)
        step("mint", mark)
        mark = len(chain.history)
        await investor.said.stake(STAKE_AID)
        step("stake", mark)
        price_before = await admin.said.share_price()

        say("underwriting the inventory and opening a deal")
        mark = len(chain.history)
        financed = await admin.financialize(kind, inventory, as_of=as_of)
        step("financialize", mark)

        say("thirty days on, the provider repays through the waterfall")
        await chain.advance_time(30 * DAY)
        mark = len(chain.history)
        repayment = await provider.deals.repay(financed.deal.deal_id, REPAYMENT_USDC)
        step("repay", mark)
        vesting = await admin.said.vesting()
        say(f"a day on, the interest has vested into sAID (over {int(vesting['vesting_period_s']) // 3600} h)")
        await chain.advance_time(DAY)

        say(f"adding liquidity at {venue}")
        mark = len(chain.history)
        await admin.venues.get(venue).setup()
        if venue == "morpho":
            await admin.faucet(lender.address, LENDER_USDC)
            await lender.add_liquidity(venue, LENDER_USDC)
            morpho: Any = investor.venues.get("morpho")
            await morpho.supply_collateral(COLLATERAL_SAID)
            await morpho.borrow(BORROW_USDC)
        elif venue == "curve":
            # An empty pool's first deposit must hold both coins; then anyone may add either.
            await admin.faucet(investor.address, CURVE_SEED_USD / 2)
            await investor.add_liquidity(venue, CURVE_SEED_USD)
            await admin.faucet(lender.address, CURVE_LENDER_USDC)
            await lender.add_liquidity(venue, CURVE_LENDER_USDC)
        else:
            await investor.add_liquidity(venue, VENUE_SAID)
        step("add_liquidity", mark)
        positions = [*await lender.venues.positions(venue), *await investor.venues.positions(venue)]

        deal = await admin.deals.get(financed.deal.deal_id)
        reserves = await admin.aid.reserves()
        return {
            "chain_id": chain.chain_id,
            "contracts": deployment.contracts,
            "kind": kind,
            "assets": len(digitized.asset_ids),
            "operator": inventory.operator,
            "deal": {
                "id": deal.deal_id,
                "borrower": deal.borrower,
                "appraised_value": str(deal.appraised_value_usd),
                "advance": str(deal.advance_usd),
                "cover": str(financed.quote.cover),
                "terms": deal.terms.model_dump(),
                "principal_outstanding": str(deal.principal_outstanding_usd),
            },
            "repayment": {
                "fees": str(repayment.fees_usd),
                "interest": str(repayment.interest_usd),
                "principal": str(repayment.principal_usd),
                "excess": str(repayment.excess_usd),
            },
            "aid_supply": str(reserves["aid_supply"]),
            "reserve_usdc": str(reserves["reserve_usdc"]),
            "principal_deployed_usdc": str(reserves["principal_deployed_usdc"]),
            "said_share_price_before": float(price_before),
            "said_share_price": float(await admin.said.share_price()),
            "venue": venue,
            "venue_positions": [p.model_dump(mode="json") for p in positions],
            "tx": txs,
        }
