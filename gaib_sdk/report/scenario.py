"""A scripted history for the NAV report: deals, repayments, a queued redemption and a default.

:func:`run_scenario` drives a fresh embedded chain (``gaib`` signs as its admin, who is also the
underwriter) through six months of a small credit book built from slices of the GPU plugin's sample
cluster (64 H100s):

========  ==============================================================================================
month 0   three providers digitize 24, 24 and 16 GPUs; two investors pass KYC, mint 1,050,000 AID and
          stake 470,000 of it; three deals open: fixed rate, revenue share and hybrid, on different terms
month 1   every deal repays; investor B asks to redeem 380,000 AID, more than the liquid reserve (the
          rest is lent out in the deals): what the reserve cannot pay waits in the queue
month 2   every deal repays; the queue fills from the cash the repayments bring back, and investor B
          claims what was filled (every month from now on)
month 3   the hybrid deal misses its payment; the underwriter impairs it
month 4   the hybrid deal defaults (its GPUs pass to the underwriter by a true sale)
month 5   the GPUs sell for less than the principal left: the underwriter records the liquidation and the
          loss falls on sAID first
month 6   the two performing deals repay; investor A stakes more at the new share price
========  ==============================================================================================

The figures are fixed, so two runs produce the same on-chain history, up to the block timestamps (the
embedded chain starts at the wall-clock time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from gaib_sdk.client import Gaib
from gaib_sdk.models import DealTerms, Inventory

__all__ = ["AS_OF", "ScenarioResult", "run_scenario"]

DAY = 86_400
MONTH = 30 * DAY
#: The valuation date of the three deals (the sample cluster's telemetry is of November 2026).
AS_OF = date(2026, 11, 25)


@dataclass(frozen=True)
class ScenarioResult:
    """What the scenario did: the deal ids by name, the accounts, and the redemption request's id."""

    deals: dict[str, int]
    providers: dict[str, str]
    investors: dict[str, str]
    redemption_request: int
    liquidation: dict[str, Decimal]


def _slice(
    sample: Inventory, operator: str, start: int, stop: int, customers: slice, share: Decimal = Decimal(1)
) -> Inventory:
    """GPUs ``start:stop`` of the sample and its ``customers``' contracts, each paying ``share`` of its amount."""
    assets = sample.assets[start:stop]
    serials = {a.serial for a in assets}
    contracts = [
        c.model_copy(update={"monthly_revenue_usd": c.monthly_revenue_usd * share}) for c in sample.contracts[customers]
    ]
    return Inventory(
        kind=sample.kind,
        operator=operator,
        assets=assets,
        contracts=contracts,
        telemetry=[t for t in sample.telemetry if t.serial in serials],
    )


async def run_scenario(gaib: Gaib) -> ScenarioResult:
    """Run the scripted history on ``gaib``, a fresh embedded chain with the protocol deployed, signing
    as its admin. See the module docstring for what happens, month by month."""
    admin = gaib
    chain = admin.chain
    sample = await admin.assets.read_inventory("gpu")
    books = {
        "fixed": (admin.with_account(1), _slice(sample, "Northwind Neo-Cloud Ltd", 0, 24, slice(0, 1))),
        "revenue share": (admin.with_account(2), _slice(sample, "Borealis GPU Cloud", 24, 48, slice(1, 2))),
        # 16 GPUs carry a quarter of both contracts: the whole of both ($8.6 a GPU-hour) is above their capacity
        "hybrid": (admin.with_account(3), _slice(sample, "Cinder Compute", 48, 64, slice(0, 2), Decimal("0.25"))),
    }
    investor_a, investor_b = admin.with_account(4), admin.with_account(5)

    # ---- month 0: digitize, mint and stake, open three deals ----
    for provider, inventory in books.values():
        await admin.admin.authorize_registrar(provider.address)
        await provider.digitize("gpu", inventory)
        await admin.faucet(provider.address, Decimal(60_000))  # a month of customer revenue in hand
    for investor, minted, staked in ((investor_a, 650_000, 450_000), (investor_b, 400_000, 20_000)):
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(minted))
        await investor.aid.mint(Decimal(minted))
        await investor.said.stake(Decimal(staked))
    # some AID is minted against USDT: it backs AID and pays redemptions, though deals are funded in USDC
    await admin.faucet(investor_b.address, Decimal(50_000), stablecoin="USDT")
    await investor_b.aid.mint(Decimal(50_000), stablecoin="USDT")

    # terms of 24, 36 and 12 months of 30 days (docs/underwriting.md, "One convention")
    terms = {
        "fixed": (Decimal("0.75"), DealTerms(structure="fixed", rate_bps=1200, fee_bps=50, term_days=720)),
        "revenue share": (
            Decimal("0.70"),
            DealTerms(structure="revenue_share", rate_bps=1400, revenue_share_bps=6000, fee_bps=75, term_days=1080),
        ),
        "hybrid": (
            Decimal("0.80"),
            DealTerms(structure="hybrid", rate_bps=1000, revenue_share_bps=2000, fee_bps=50, term_days=360),
        ),
    }
    deals: dict[str, int] = {}
    for name, (_, inventory) in books.items():
        rate, deal_terms = terms[name]
        # each book leases to one customer: the lender accepts it (CreditPolicy.max_customer_share, 80% by default)
        single = {"max_customer_share": 1}
        quote = await admin.deals.quote("gpu", inventory, as_of=AS_OF, policy=single)
        advance = (quote.appraised_value_usd * rate).quantize(Decimal("0.01"), ROUND_DOWN)
        financed = await admin.financialize(
            "gpu", inventory, as_of=AS_OF, advance_usd=advance, terms=deal_terms, policy=single
        )
        deals[name] = financed.deal.deal_id

    async def month(n: int, *, hybrid_pays: bool = False) -> None:
        """A month passes: the performing deals repay, and investor B claims what the queue has filled."""
        await chain.advance_time(MONTH)
        fixed, fixed_deal = books["fixed"][0], deals["fixed"]
        await fixed.deals.repay(fixed_deal, Decimal(23_000))
        share, share_deal = books["revenue share"][0], deals["revenue share"]
        await share.deals.repay_from_revenue(
            share_deal, Decimal(38_000) + Decimal(500) * n
        )  # the month's gross revenue
        if hybrid_pays:
            await books["hybrid"][0].deals.repay(deals["hybrid"], Decimal(12_000))
        if (await investor_b.aid.redemption_queue())["claimable_usdc"] > 0:
            await investor_b.aid.claim_redemption()

    # ---- month 1: everyone pays; a redemption larger than the liquid reserve waits for cash ----
    await month(1, hybrid_pays=True)
    request = await investor_b.aid.request_redemption(Decimal(380_000))

    # ---- month 2: everyone pays; the repayments fill the queue ----
    await month(2, hybrid_pays=True)

    # ---- month 3: the hybrid deal misses its payment and is impaired ----
    await month(3)
    hybrid = await admin.deals.get(deals["hybrid"])
    await admin.deals.impair(
        deals["hybrid"], (hybrid.principal_outstanding_usd * Decimal("0.4")).quantize(Decimal("1"))
    )

    # ---- month 4: default ----
    await month(4)
    await admin.deals.declare_default(deals["hybrid"])

    # ---- month 5: the hardware sells below the principal left: a realized loss ----
    await month(5)
    hybrid = await admin.deals.get(deals["hybrid"])
    proceeds = (hybrid.principal_outstanding_usd * Decimal("0.55")).quantize(Decimal("1"))
    await admin.faucet(admin.address, proceeds)  # what the buyer of the GPUs paid the underwriter
    liquidation = await admin.deals.record_liquidation(deals["hybrid"], proceeds)

    # ---- month 6: the performing deals pay; a deposit at the new price ----
    await month(6)
    await investor_a.said.stake(Decimal(100_000))
    await chain.advance_time(DAY)  # the last interest vests into sAID

    return ScenarioResult(
        deals=deals,
        providers={name: provider.address for name, (provider, _) in books.items()},
        investors={"A": investor_a.address, "B": investor_b.address},
        redemption_request=request,
        liquidation=liquidation,
    )
