"""Stage 3, a fixed yield on sAID: Pendle's PT/SY market, on the embedded EVM.

    python examples/pendle_fixed_yield.py

On a development chain the pendle venue deploys Pendle's own contracts (@pendle/core-v2 6.11.0, fetched at
set-up by `python -m gaib_pendle.fetch`, which `make quickstart` runs), the SDK's SY-sAID wrapper and a
PT/SY market expiring 180 days ahead.

1. the protocol admin sets the PT/SY market up; a liquidity provider (dev account 2) stakes AID into sAID and
   puts it into the market;
2. a saver (account 3) stakes AID and buys PT with its sAID (as SY): it locks the market's implied APY;
3. sAID earns 1% meanwhile: that goes to the YT holders, not to the saver's PT, which is fixed;
4. the chain's clock moves past the expiry, and the PT redeems alone for one AID's worth of sAID each.
"""

import asyncio
from decimal import Decimal

from gaib_sdk import Gaib

DAY = 86_400
PT = Decimal(2_000)


async def main() -> None:
    async with await Gaib.embedded() as admin:
        provider, saver = admin.with_account(2), admin.with_account(3)
        for who, aid in ((provider, 51_000), (saver, 3_000)):
            await admin.aid.whitelist(who.address)
            await admin.faucet(who.address, Decimal(aid))
            await who.aid.mint(Decimal(aid))
            await who.said.stake(Decimal(aid - 1_000))  # keeps 1,000 AID

        # 1. the provider seeds the PT/SY market with its sAID (half of it split into PT + YT first)
        where = await admin.venues.setup("pendle")  # the protocol admin creates the market; users never do
        await provider.add_liquidity("pendle", (await provider.balances())["sAID"])
        now = await admin.chain.timestamp()
        days = Decimal(int(where["expiry"]) - now) / DAY
        print(f"market {where['market']}, expiry in {days:.1f} days")

        # 2. the saver buys 2,000 PT with sAID, wrapped as SY: one AID's worth of sAID each at expiry
        pendle = saver.venues.get("pendle")
        apy = await pendle.implied_apy()
        quote = await saver.venues.quote("pendle", PT, action="swap", direction="sy_to_pt")
        print(f"implied APY {apy:.4%}: {PT:,.0f} PT quoted at {quote.amount_in:,.4f} SY")
        price_then = await admin.said.share_price()
        paid = await pendle.swap_sy_for_pt(PT)
        cost = paid * price_then
        print(f"saver bought {PT:,.0f} PT for {paid:,.4f} sAID = {cost:,.4f} AID (sAID at {price_then:.6f} AID)")
        print(f"implied APY after the purchase {await pendle.implied_apy():.4%}")

        # 3. sAID earns 1% of its assets (a transfer standing in for deal repayments): its share price rises,
        #    which pays sAID and YT holders; the saver's PT still redeems for 2,000 AID, in fewer sAID
        said = admin.protocol.said
        assets = await said.functions.totalAssets().call()
        await provider.send(admin.protocol.aid.functions.transfer(said.address, assets // 100), what="income")

        # 4. past the expiry the PT redeems alone, for as much sAID as 2,000 AID is worth then
        await admin.chain.advance_time(int(where["expiry"]) - await admin.chain.timestamp() + DAY)
        price_now = await admin.said.share_price()
        got = await pendle.redeem_py(PT)
        value = got * price_now
        fixed = (value / cost) ** (Decimal(365) / days) - 1
        print(f"at expiry {PT:,.0f} PT redeemed for {got:,.4f} sAID = {value:,.4f} AID (sAID at {price_now:.6f})")
        print(
            f"fixed yield earned: {value - cost:,.4f} AID on {cost:,.4f} AID, {fixed:.2%} a year, "
            f"locked at purchase whatever sAID earned"
        )
        print(f"saver now holds {(await saver.balances())['sAID']:,.4f} sAID")


if __name__ == "__main__":
    asyncio.run(main())
