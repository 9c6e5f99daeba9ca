"""LP points and GAIB incentives: two liquidity providers at two venues over a simulated month, on the
embedded EVM.

    python examples/points.py

1. two LPs (dev accounts 2 and 3) are whitelisted and mint AID; the admin sets up the Curve AID/USDC pool
   and the Morpho USDC/sAID market;
2. over 30 days: LP A seeds the Curve pool on day 0 and lends USDC on Morpho from day 15; LP B lends on
   Morpho from day 0, takes half of it back on day 10, and joins the Curve pool on day 20;
3. the indexer reads the month's events into a SQLite file; the points rules (version 1: Curve x2 with the
   AID/USDC pool x1.5, Morpho x1) turn the positions into points, time-weighted block by block; a second
   index built from scratch gives the same points;
4. 10,000 GAIB are split pro rata to points as a Merkle distribution; the admin publishes and funds the
   epoch in a PointsDistributor; each LP claims its GAIB with its proof, and a second claim is refused.

The last line is one JSON object: each account's ``points``, the distribution's ``root`` and the
``claimed`` GAIB.
"""

import asyncio
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from gaib_sdk import Gaib, GaibValueError
from gaib_sdk.index import Indexer
from gaib_sdk.index.points import Rules, VenueRule, claim, deploy_distributor, distribution, points, publish

DAY = 86_400


async def main() -> None:
    async with await Gaib.embedded() as admin:
        a, b = admin.with_account(2), admin.with_account(3)

        # 1. two whitelisted LPs with AID and USDC; the two venues
        for lp in (a, b):
            await admin.aid.whitelist(lp.address)
            await admin.faucet(lp.address, Decimal(400_000))
            await lp.aid.mint(Decimal(100_000))
        curve = await admin.venues.setup("curve")
        morpho = await admin.venues.setup("morpho")

        # 2. a month of liquidity
        start = await admin.chain.timestamp()
        await a.add_liquidity("curve", Decimal(150_000))
        await b.add_liquidity("morpho", Decimal(200_000))
        await admin.chain.advance_time(10 * DAY)
        await b.venues.remove("morpho", Decimal(100_000))
        await admin.chain.advance_time(5 * DAY)
        await a.add_liquidity("morpho", Decimal(50_000))
        await admin.chain.advance_time(5 * DAY)
        await b.add_liquidity("curve", Decimal(60_000))
        await admin.chain.advance_time(10 * DAY)
        end = await admin.chain.timestamp()
        print(f"a month of liquidity: {(end - start) / DAY:.0f} days")

        # 3. index the month and compute the points; again from scratch
        rules = Rules(
            version=1,
            venues={
                "curve": VenueRule(kind="lp_token", multiplier=Decimal(2), pools={curve["pool"]: Decimal("1.5")}),
                "morpho": VenueRule(kind="morpho_supply", decimals=12, pools={morpho["market_id"]: Decimal(1)}),
            },
        )
        with tempfile.TemporaryDirectory() as folder:
            indexer = await Indexer.for_client(admin, Path(folder) / "index.sqlite")
            stats = await indexer.sync()
            table = points(indexer, rules, start=start, end=end)
            rebuilt = await Indexer.for_client(admin, Path(folder) / "rebuilt.sqlite", batch_blocks=4, max_blocks=4)
            await rebuilt.sync()
            assert points(rebuilt, rules, start=start, end=end) == table, "a rebuilt index gave other points"
            indexer.close()
            rebuilt.close()
        print(f"indexed {stats.events} events in blocks {stats.from_block}-{stats.to_block}")
        for who, lp in (("A", a), ("B", b)):
            by_venue = ", ".join(f"{v} {p:,.2f}" for v, p in table.by_venue[lp.address].items())
            print(f"LP {who} {lp.address}: {table.points[lp.address]:,.2f} points ({by_venue})")

        # 4. 10,000 GAIB by points, published and claimed
        dist = distribution(table, epoch=1, total_wei=10_000 * 10**18)
        distributor = await deploy_distributor(admin)
        await publish(admin, distributor, dist)
        claimed = {}
        for lp in (a, b):
            claimed[lp.address] = Decimal(await claim(lp, distributor, dist)) / 10**18
            print(f"{lp.address} claimed {claimed[lp.address]:,.6f} GAIB")
        try:
            await claim(a, distributor, dist)
        except GaibValueError as exc:
            print(f"second claim refused: {exc}")
        print(
            json.dumps(
                {
                    "points": {k: str(v) for k, v in table.points.items()},
                    "root": dist.root,
                    "claimed": {k: str(v) for k, v in claimed.items()},
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
