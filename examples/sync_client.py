"""The essentials of onboarding a GPU cluster, with GaibSync: the same client for code that is not async.

    python examples/sync_client.py

GaibSync runs each coroutine method of the async client (Gaib) and of its namespaces (``admin.aid``,
``investor.said``...) to completion on its own event loop, so every call below returns its result directly.
Here the provider pays the whole deal off at once: the waterfall takes fees, interest and principal, returns
the excess, and the deal closes.
"""

from datetime import date
from decimal import Decimal

from gaib_sdk import DealStatus, GaibSync

AS_OF = date(2026, 11, 25)  # a fixed valuation date: the same figures every run


def main() -> None:
    with GaibSync.embedded() as admin:
        provider, investor = admin.with_account(1), admin.with_account(2)
        print(f"chain {admin.chain.chain_id}: protocol deployed by {admin.address}")

        admin.admin.authorize_registrar(provider.address)
        digitized = provider.digitize("gpu")  # no source: the GPU plugin's sample cluster
        print(f"digitized {len(digitized.asset_ids)} GPUs, owner {digitized.owner}")

        admin.aid.whitelist(investor.address)
        admin.faucet(investor.address, Decimal(1_500_000))
        investor.aid.mint(Decimal(1_500_000))
        staked = investor.said.stake(Decimal(1_000_000))
        balances = ", ".join(f"{amount:,.2f} {token}" for token, amount in investor.balances().items())
        print(f"investor staked for {staked.amount:,.2f} sAID and now holds {balances}")

        financed = admin.financialize("gpu", as_of=AS_OF)
        deal = financed.deal
        print(f"deal #{deal.deal_id}: advance {deal.advance_usd:,.2f} USDC against {deal.appraised_value_usd:,.2f}")

        # Thirty days on, pay everything owed with 100 USDC to spare: the waterfall hands back what is not
        # owed. The provider received the advance less the deal's cash reserve (returned when it closes),
        # so it tops up that much from its own revenue first.
        admin.chain.advance_time(30 * 86_400)
        deal = admin.deals.get(deal.deal_id)
        owed = deal.principal_outstanding_usd + deal.interest_due_usd + deal.fees_due_usd
        admin.faucet(provider.address, deal.cash_reserve_usd + deal.interest_due_usd + deal.fees_due_usd + 100)
        repayment = provider.deals.repay(deal.deal_id, owed + 100)
        print(
            f"repaid: fees {repayment.fees_usd} + interest {repayment.interest_usd} + principal "
            f"{repayment.principal_usd}, excess {repayment.excess_usd} returned"
        )

        deal = admin.deals.get(deal.deal_id)
        assert deal.status is DealStatus.REPAID
        status = admin.assets.get(deal.collateral[0])["status"]
        print(f"deal #{deal.deal_id} {deal.status.name.lower()}; collateral is {status} again")
        # The interest vests into sAID over eight hours.
        admin.chain.advance_time(8 * 3600)
        print(f"sAID share price {admin.said.share_price():.9f} AID")


if __name__ == "__main__":
    main()
