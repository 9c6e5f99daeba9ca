"""Onboard a GPU cluster with the async API, on the embedded EVM (no node, no key, no network).

    python examples/onboard_gpu_cluster.py

1. the admin (dev account 0, who deployed the protocol) lets the cloud provider (account 1) register assets;
2. the provider digitizes the GPU plugin's sample cluster (8 servers x 8 H100, two signed customers);
3. an investor (account 2) is whitelisted, takes test USDC from the faucet, mints AID and stakes it into sAID;
4. the admin, who holds the underwriter role, quotes the cluster and opens a deal funded from the AID reserve;
5. thirty days on, the provider repays through the waterfall: fees, then interest, then principal.
"""

import asyncio
from datetime import date
from decimal import Decimal

from gaib_sdk import Gaib

#: A fixed valuation date, so the appraisal is the same whatever day the script runs.
AS_OF = date(2026, 11, 25)
DAY = 86_400


def usd(amount: Decimal) -> str:
    return f"{amount:,.2f}"


async def main() -> None:
    async with await Gaib.embedded() as admin:
        provider, investor = admin.with_account(1), admin.with_account(2)
        print(f"chain {admin.chain.chain_id}: protocol deployed by {admin.address}")
        for name, address in admin.deployment.contracts.items():
            print(f"  {name:<9} {address}")

        # 1-2. digitize
        await admin.admin.authorize_registrar(provider.address)
        inventory = await provider.assets.read_inventory("gpu")  # no source: the plugin's sample cluster
        digitized = await provider.digitize("gpu", inventory)
        print(f"digitized {len(digitized.asset_ids)} GPUs of {inventory.operator} in {len(digitized.tx_hashes)} tx")
        first = await provider.assets.get(digitized.asset_ids[0])
        print(f"  first asset {first['asset_id']} status {first['status']}, record hash {first['record_hash']}")

        # 3. AID and sAID
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(1_500_000))
        minted = await investor.aid.mint(Decimal(1_500_000))
        staked = await investor.said.stake(Decimal(1_000_000))
        print(f"investor minted {usd(minted.amount)} AID, staked 1,000,000.00 of it for {usd(staked.amount)} sAID")
        price_before = await admin.said.share_price()

        # 4. financialize
        quote = await admin.deals.quote("gpu", inventory, as_of=AS_OF)
        print(
            f"quote: appraised {usd(quote.appraised_value_usd)} USDC, advance {usd(quote.advance_usd)} USDC "
            f"({quote.advance_rate:.0%}, cover {quote.cover}x), {quote.customers} customers, "
            f"{quote.payments_on_record} payments on record"
        )
        financed = await admin.financialize("gpu", inventory, as_of=AS_OF)
        deal_id = financed.deal.deal_id
        print(f"deal #{deal_id} opened for {financed.deal.borrower}: {usd(financed.deal.advance_usd)} USDC advanced")

        # 5. repay through the waterfall
        await admin.chain.advance_time(30 * DAY)
        repayment = await provider.deals.repay(deal_id, Decimal(60_000))
        print(
            f"repayment of 60,000 USDC: fees {repayment.fees_usd} + interest {repayment.interest_usd} + "
            f"principal {repayment.principal_usd} (excess {repayment.excess_usd})"
        )

        deal = await admin.deals.get(deal_id)
        print(
            f"deal #{deal.deal_id} {deal.status.name.lower()}: principal outstanding "
            f"{usd(deal.principal_outstanding_usd)} USDC, interest paid {usd(deal.interest_paid_usd)}, "
            f"fees paid {usd(deal.fees_paid_usd)}, {len(deal.collateral)} assets as collateral"
        )
        reserves = await admin.aid.reserves()
        print(
            f"AID supply {reserves['aid_supply']:,.6f} = reserve {reserves['reserve_usdc']:,.6f} USDC + "
            f"principal deployed {reserves['principal_deployed_usdc']:,.6f} USDC"
        )
        print(f"sAID share price {price_before:.6f} -> {await admin.said.share_price():.6f} AID")


if __name__ == "__main__":
    asyncio.run(main())
