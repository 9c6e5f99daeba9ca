"""Stage 3, add liquidity: a Morpho Blue market that lends USDC against sAID, on the embedded EVM.

    python examples/morpho_position.py

On a development chain the morpho venue deploys the real Morpho Blue (built at set-up from the npm
package @morpho-org/morpho-blue by `python -m gaib_morpho.build`, which `make quickstart` runs), the
SAIDOracle, and a USDC/sAID market with an 86% LLTV and the 0% interest rate model. The artifact is read
from $GAIB_HOME/artifacts (default ~/.gaib), where set-up puts it.

1. an investor (dev account 2) is whitelisted, mints AID for test USDC and stakes it into sAID;
2. a lender (account 3) supplies USDC to the market;
3. the investor posts sAID as collateral and borrows USDC against it;
4. a borrow beyond the LLTV is refused before any transaction is sent;
5. the investor repays the whole loan (by shares: no dust is left) and takes the collateral back.
"""

import asyncio
from decimal import Decimal

from gaib_sdk import Gaib, GaibValueError, VenuePosition


def show(title: str, positions: list[VenuePosition]) -> None:
    print(title)
    for p in positions:
        extra = ", ".join(f"{k} {v}" for k, v in p.details.items())
        print(f"  {p.side:<10} {p.amount:>14,.2f} {p.asset}" + (f"  ({extra})" if extra else ""))


async def main() -> None:
    async with await Gaib.embedded() as admin:
        investor, lender = admin.with_account(2), admin.with_account(3)

        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(200_000))
        await investor.aid.mint(Decimal(200_000))
        await investor.said.stake(Decimal(150_000))
        balances = ", ".join(f"{amount:,.2f} {token}" for token, amount in (await investor.balances()).items())
        print(f"investor holds {balances}")

        where = await admin.venues.get("morpho").setup()
        print(f"Morpho Blue {where['morpho']}, oracle {where['oracle']}")
        print(f"market {where['market_id']}")

        await admin.faucet(lender.address, Decimal(250_000))
        show("lender:", await lender.add_liquidity("morpho", Decimal(250_000)))

        morpho = investor.venues.get("morpho")
        # Morpho's oracle convention: the price of one base unit of collateral (sAID, 18 decimals) in base
        # units of the loan token (USDC, 6 decimals), times 1e36. So USDC per whole sAID = price / 1e24.
        price = await morpho.price()
        print(f"oracle price {price}: {Decimal(price) / 10**24:.6f} USDC per sAID")
        await morpho.supply_collateral(Decimal(100_000))
        show("investor:", await morpho.borrow(Decimal(50_000)))

        try:
            await morpho.borrow(Decimal(40_000))
        except GaibValueError as exc:
            print(f"refused: {exc}")

        await morpho.repay()  # all of it
        show("investor after repaying:", await morpho.withdraw_collateral())  # all of it: nothing left


if __name__ == "__main__":
    asyncio.run(main())
