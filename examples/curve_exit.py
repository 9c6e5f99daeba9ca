"""Stage 3, the exit for holders who are not whitelisted: the Curve AID/USDC pool, on the embedded EVM.

    python examples/curve_exit.py

On a development chain the curve venue deploys the project's StableSwap-NG stand-in (compiled at set-up by
`python -m gaib_curve.build`, which `make quickstart` runs) and creates the AID/USDC pool through it.

1. the protocol admin sets the venue up (the pool); an investor (dev account 2) is whitelisted, mints AID for
   test USDC and seeds the pool, 1:1;
2. a holder (account 4) who got AID from the investor is not whitelisted: redeeming is refused;
3. the holder quotes a sale of AID for USDC and sells with a 0.1% slippage limit under the quote;
4. the investor, as liquidity provider, takes part of its LP tokens out in USDC alone.
"""

import asyncio
from decimal import Decimal

from gaib_sdk import Gaib, NotWhitelistedError


async def main() -> None:
    async with await Gaib.embedded() as admin:
        investor, holder = admin.with_account(2), admin.with_account(4)

        # 1. the whitelisted investor mints AID and seeds the pool with 250,000 of each coin
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(550_000))
        await investor.aid.mint(Decimal(300_000))
        await admin.venues.setup("curve")  # the protocol admin creates the pool; users never do
        [lp] = await investor.add_liquidity("curve", Decimal(500_000))
        curve = investor.venues.get("curve")
        state = await curve.pool_state()
        print(f"pool {state['pool']}: A {state['A']}, fee {state['fee']:.2%}")
        print(f"  seeded with {state['balances']['AID']:,.2f} AID + {state['balances']['USDC']:,.2f} USDC")
        print(f"  investor holds {lp.amount:,.2f} LP, virtual price {await curve.virtual_price():.6f}")

        # 2. the holder got 20,000 AID from the investor, and may not redeem it with the protocol
        aid = admin.protocol.aid
        await investor.send(aid.functions.transfer(holder.address, 20_000 * 10**18), what="transfer AID")
        try:
            await holder.aid.redeem(Decimal(20_000))
        except NotWhitelistedError as exc:
            print(f"redeem refused: {str(exc).split(':')[0]}")

        # 3. so it sells on the pool: quote, then exchange with at most 0.1% less than the quote
        sell = holder.venues.get("curve")
        quote = await sell.quote(Decimal(20_000), action="swap", sell="AID", slippage=Decimal("0.001"))
        print(f"quote: 20,000.00 AID -> {quote.amount_out:,.6f} USDC, at least {quote.minimum_out:,.6f}")
        sold = await sell.exchange(Decimal(20_000), sell="AID", slippage=Decimal("0.001"))
        balances = await holder.balances()
        print(f"holder sold 20,000.00 AID for {sold.amount:,.6f} USDC (now holds {balances['USDC']:,.2f} USDC)")
        print(f"virtual price after the swap fee: {await curve.virtual_price():.6f}")

        # 4. the liquidity provider takes 50,000 LP out in USDC alone
        out = await investor.venues.quote("curve", Decimal(50_000), action="remove_liquidity", coin="USDC")
        usdc_before = (await investor.balances())["USDC"]
        [left] = await investor.venues.remove("curve", Decimal(50_000), coin="USDC")
        received = (await investor.balances())["USDC"] - usdc_before
        print(f"LP removed 50,000.00 LP for {received:,.6f} USDC (quoted {out.amount_out:,.6f})")
        state = await curve.pool_state()
        print(f"pool now {state['balances']['AID']:,.2f} AID + {state['balances']['USDC']:,.2f} USDC")
        print(
            f"investor keeps {left.amount:,.2f} LP worth {Decimal(left.details['value_usd']):,.2f} USD, "
            f"virtual price {state['virtual_price']:.6f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
