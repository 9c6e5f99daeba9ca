"""The report's data: every on-chain figure as the integer the contracts return, at the block it was read.

Units. Amounts of USDC are in its base units (6 decimals: ``1_000_000`` is 1 USDC); amounts of AID and
sAID, share prices included, in wei (18 decimals). Nothing on-chain is held as a float, so a figure here
can be compared with a contract's view to the wei; :func:`usdc` and :func:`aid` turn them into exact
Decimals for people. In ``report.json`` these integers are written as decimal strings, so that a reader
that parses JSON numbers as doubles (JavaScript) does not round them; the models read them back exactly
(``ReportData.model_validate_json``). Only the stress test, a simulation rather than a reading, is in floats.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from gaib_sdk.models import LoanRisk, MonteCarloResult

__all__ = [
    "AID_DECIMALS",
    "SCHEMA_VERSION",
    "USDC_DECIMALS",
    "Concentration",
    "ConcentrationRow",
    "DealEvent",
    "DealPoint",
    "DealReport",
    "Delinquency",
    "DelinquencyBucket",
    "FairValue",
    "Holding",
    "LeaseRow",
    "LedgerEntry",
    "LedgerPoint",
    "Liquidation",
    "LoanTapeRow",
    "Loss",
    "NavPoint",
    "Payment",
    "Recovery",
    "ReportData",
    "ReserveComposition",
    "StressAssumptions",
    "StressReport",
    "Waterfall",
    "WaterfallRow",
    "aid",
    "instant_exit_value",
    "usdc",
]

#: The version of report.json's schema (docs/report.md): 2 added the loan tape, delinquency, reserve
#: composition, concentration, recoveries and fair value, and renamed exit_price to instant_exit_value.
SCHEMA_VERSION = "2"

USDC_DECIMALS = 6
AID_DECIMALS = 18
ONE_SHARE = 10**AID_DECIMALS

#: A non-negative on-chain integer (USDC units or wei), written to JSON as a decimal string.
Units = Annotated[int, Field(ge=0), PlainSerializer(str, return_type=str, when_used="json")]

DEAL_STATUSES = ("none", "active", "repaid", "impaired", "defaulted", "liquidated")
OPEN_STATUSES = ("active", "impaired")


_WIDE = Context(prec=80)  # exact for any uint256


def usdc(units: int) -> Decimal:
    """USDC base units to USDC, exactly: ``usdc(1_500_000) == Decimal("1.5")``."""
    return _WIDE.divide(Decimal(units), Decimal(10**USDC_DECIMALS))


def aid(wei: int) -> Decimal:
    """AID (or sAID) wei to AID, exactly: ``aid(10**18) == Decimal("1")``."""
    return _WIDE.divide(Decimal(wei), Decimal(10**AID_DECIMALS))


def instant_exit_value(*, share_price: int, reserve: int, queued_stable: int, aid_supply: int, scale: int) -> int:
    """The instant exit value, in AID wei (= 10^-18 USDC) per whole sAID share: what a holder gets out in
    USDC at once, without waiting in AID's redemption queue. It is a liquidity measure (the share price
    times the liquid cover), not a NAV: the rest of the share's value comes back as the deals repay.

    A holder exits by an ERC-7540 request: the withdrawal cycle fills it at the share price of that moment
    (``sharePrice`` AID a share today; the wait for the cycle is not priced here), and the AID is redeemed
    1:1 for USDC (or USDT) from the liquid reserve. What the reserve can pay now is the part not already owed to waiting
    requests, ``free = max(0, reserve - queuedStable)`` USDC; the AID that could ask for it is all AID not
    already in the queue, ``outstanding = totalSupply / SCALE - queuedStable`` USDC. If every holder asked
    at once each would get the fraction ``cover = min(1, free / outstanding)`` now and wait for the rest, so

        instant exit value = sharePrice x min(1, (reserve - queuedStable)^+ / (totalSupply / SCALE - queuedStable))

    rounded down to the wei; ``sharePrice`` itself when no AID is outstanding. It is 0 while requests
    wait (a plain ``redeem`` reverts then: nobody jumps the queue), and equals the share price when the
    reserve could pay every AID holder at once."""
    free = max(0, reserve - queued_stable) * scale
    outstanding = aid_supply - queued_stable * scale
    if outstanding <= 0 or free >= outstanding:
        return share_price
    return share_price * free // outstanding


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _AtBlock(_Model):
    block: int = Field(ge=0)
    timestamp: int = Field(ge=0, description="the block's timestamp, seconds since the epoch (UTC)")

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)


class NavPoint(_AtBlock):
    """The protocol's balance sheet at one block, each figure a view of the contracts at that block."""

    aid_supply: Units = Field(description="AID wei: AIDollar.totalSupply()")
    reserve: Units = Field(
        description="USDC units: AIDollar.totalReserve(), the USDC not set aside for redeemers plus the USDT held"
    )
    principal_deployed: Units = Field(description="USDC units: AIDollar.principalDeployed()")
    uncovered_loss: Units = Field(description="USDC units: AIDollar.uncoveredLoss()")
    queued_stable: Units = Field(description="USDC units: AIDollar.queuedStable(), owed to waiting requests")
    total_claimable: Units = Field(description="USDC units: AIDollar.totalClaimable(), filled and not claimed")
    said_total_assets: Units = Field(description="AID wei: StakedAID.totalAssets(), vested AID in the vault")
    said_total_supply: Units = Field(description="sAID wei: StakedAID.totalSupply()")
    said_unvested: Units = Field(description="AID wei: StakedAID.unvestedAmount()")
    share_price: Units = Field(description="AID wei per whole sAID: StakedAID.sharePrice()")
    deposit_price: Units = Field(description="deposit price, AID wei a deposit pays for one sAID: previewMint(1e18)")
    instant_exit_value: Units = Field(
        description="AID wei per sAID a holder gets out at once: share price x liquid cover, a liquidity measure "
        "(gaib_sdk.report.instant_exit_value)"
    )
    fair_value_per_share: Units = Field(
        default=0,
        description="AID wei per sAID at fair value, beside the book NAV (share_price): the vault's assets plus "
        "what is still vesting and the interest accrued on performing deals, less the expected loss of the open "
        "deals beyond their impairments (see ReportData.fair_value)",
    )

    @property
    def backing(self) -> int:
        """USDC units: ``reserve + principalDeployed`` (AIDollar.backing())."""
        return self.reserve + self.principal_deployed

    def liquid_cover(self, scale: int) -> Fraction:
        """The fraction of AID not in the queue that the free reserve could pay now (at most 1)."""
        free = max(0, self.reserve - self.queued_stable) * scale
        outstanding = self.aid_supply - self.queued_stable * scale
        return Fraction(1) if outstanding <= 0 else min(Fraction(1), Fraction(free, outstanding))


class LedgerPoint(_AtBlock):
    """AID's balance sheet after one block's events, summed from the AIDollar's logs alone, no view read:
    what a node without past state can still tell (USDC units; the supply in AID wei). The supply is what
    was minted (``Minted``, ``MintedWith``, ``IncomeMinted``) less what was burned (``Redeemed``,
    ``RedeemedTo``, ``RedemptionFilled``, the vault's part of ``LossRealized``); principal deployed is
    ``DealFunded`` less ``PrincipalReturned`` and realized losses; the reserve follows from the backing
    equation. Where views can be read, each point equals them (tests/test_report.py)."""

    aid_supply: Units
    reserve: Units
    principal_deployed: Units
    uncovered_loss: Units
    queued_stable: Units
    total_claimable: Units


class DealPoint(_AtBlock):
    """A deal at one block: CreditFacility.getDeal(dealId), with fees and interest accrued to that block."""

    status: Literal["none", "active", "repaid", "impaired", "defaulted", "liquidated"]
    principal_outstanding: Units
    interest_due: Units
    fees_due: Units
    interest_paid: Units
    fees_paid: Units
    cash_reserve: Units
    impairment: Units


class Payment(_AtBlock):
    """One repayment: a ``Repaid`` event, split by the waterfall (USDC units)."""

    tx_hash: str
    log_index: int
    payer: str
    fees: Units
    interest: Units
    principal: Units
    excess: Units = Field(description="offered but not owed: never taken from the payer")

    @property
    def paid(self) -> int:
        """What the deal took: fees + interest + principal."""
        return self.fees + self.interest + self.principal


class DealEvent(_AtBlock):
    """A step in a deal's life, from the facility's events. ``amount`` (USDC units) is the advance for
    ``opened``, the markdown for ``impaired``, the principal outstanding for ``defaulted``, the loss for
    ``liquidated``, the cash reserve released for ``closed``, and 0 for ``cured`` and ``transferred``."""

    name: Literal["opened", "impaired", "cured", "defaulted", "transferred", "liquidated", "closed"]
    tx_hash: str
    amount: Units = 0


class Liquidation(_AtBlock):
    """A ``DealLiquidated`` event (USDC units)."""

    tx_hash: str
    proceeds: Units
    cash_reserve: Units
    principal_recovered: Units
    loss: Units
    excess: Units


class DealReport(_Model):
    """One deal: its terms as opened, its state at each reported block, its payments and its life."""

    deal_id: int = Field(ge=1)
    borrower: str
    structure: Literal["fixed", "revenue_share", "hybrid"]
    rate_bps: int
    revenue_share_bps: int
    fee_bps: int
    term_days: int
    appraised_value: Units = Field(description="USDC units, as appraised when the deal opened")
    advance: Units
    collateral: int = Field(description="number of assets pledged")
    status: Literal["none", "active", "repaid", "impaired", "defaulted", "liquidated"]
    history: list[DealPoint]
    payments: list[Payment]
    events: list[DealEvent]
    liquidation: Liquidation | None = None

    @property
    def opened(self) -> DealEvent:
        return next(e for e in self.events if e.name == "opened")

    def ltv(self, point: DealPoint) -> Fraction:
        """Loan to value at a point: principal outstanding / appraised value."""
        return Fraction(point.principal_outstanding, self.appraised_value)

    @property
    def label(self) -> str:
        structure = {"fixed": "fixed rate", "revenue_share": "revenue share", "hybrid": "hybrid"}[self.structure]
        share = f" + {self.revenue_share_bps / 100:g}% of revenue" if self.structure == "hybrid" else ""
        if self.structure == "revenue_share":
            share = f", {self.revenue_share_bps / 100:g}% of revenue"
        return f"deal {self.deal_id}: {structure} {self.rate_bps / 100:g}%{share}, {self.term_days} days"


class Loss(_AtBlock):
    """A ``LossRealized`` event of AIDollar (USDC units): the loss, the part the sAID vault absorbed (its
    AID burned), and the part left uncovered."""

    tx_hash: str
    stable_loss: Units
    absorbed_by_vault: Units
    uncovered: Units


class LedgerEntry(_AtBlock):
    """One event of the protocol's contracts, as logged. ``args`` are strings: integers in decimal,
    addresses checksummed, bytes as 0x hex, and structs and arrays as JSON arrays of those."""

    contract: Literal["aid", "said", "facility"]
    event: str
    tx_hash: str
    log_index: int
    args: dict[str, str]

    def number(self, name: str) -> int:
        """An integer argument: ``entry.number("stableIn")``."""
        return int(self.args[name])


class WaterfallRow(_Model):
    """One deal's repayments in the period, summed (USDC units)."""

    deal_id: int
    payments: int
    fees: Units
    interest: Units
    principal: Units
    excess: Units


class Waterfall(_Model):
    """Where the money paid into the deals in the last period went: the ``Repaid`` events with
    ``start < timestamp <= end``, summed per deal. The period is the ``days`` days up to the report's block;
    if nothing was paid in them, the ``days`` days up to the last payment."""

    days: int
    start: int
    end: int
    rows: list[WaterfallRow]

    def total(self, field: Literal["fees", "interest", "principal", "excess"]) -> int:
        return sum(getattr(r, field) for r in self.rows)


class StressAssumptions(_Model):
    """What the Monte Carlo and the fair value assume beyond what is on-chain: the chance each open deal
    defaults within a year (a higher one for an impaired deal), what the collateral loses in a forced sale,
    how fast it declines and how volatile the market's rents are. No Treasury-bill income is assumed: none
    exists on chain. Collateral is valued at its on-chain appraisal."""

    default_probability: float = Field(ge=0, le=1)
    impaired_default_probability: float = Field(ge=0, le=1)
    recovery_haircut: float = Field(ge=0, le=1)
    collateral_decline_per_year: float = Field(default=0.2, ge=0, lt=1)
    rent_volatility: float = Field(default=0.35, ge=0, le=2)
    horizon_years: float = Field(gt=0)
    paths: int = Field(ge=1)
    seed: int
    correlations: list[float]


class StressReport(_Model):
    """``simulate_portfolio`` over the deals open at the report's block, once per correlation, with sAID's
    assets as the first-loss capital; each result holds its quantiles on a grid of percentiles (0, 0.5, ...,
    100) when the portfolio has enough loans for them, and says why not otherwise."""

    assumptions: StressAssumptions
    loans: list[LoanRisk]
    cash_usd: float
    first_loss_usd: float | None
    results: list[MonteCarloResult]


class Holding(_Model):
    """Tokens held at one place at the report's block (base units of the token: 6 decimals for USDC and
    USDT, 18 for AID). ``backs_aid``: counted in AID's reserve (``AIDollar.totalReserve``)."""

    place: str
    address: str
    token: str
    amount: Units
    backs_aid: bool


class ReserveComposition(_Model):
    """Where the stablecoins are, by token and by place. ``by_token``: AID's liquid reserve per stablecoin
    (``AIDollar.reserveOf``; their sum is ``totalReserve``). ``by_place``: every holding read: the AIDollar
    contract (liquid, and set aside for filled redemptions), the deals' cash reserves in the CreditFacility
    (the lenders' security, not AID's reserve), the sAID redemption escrow (AID) and the venues."""

    by_token: dict[str, Units]
    by_place: list[Holding]


class LeaseRow(_Model):
    """A lease pledged to a deal (LeaseRegistry.getLease): the counterparty is on chain as a hash of its name."""

    lease_id: str
    counterparty_hash: str
    monthly_amount: Units
    start: int
    end: int


class LoanTapeRow(_Model):
    """One deal as a loan tape shows it, at the report's block (USDC units)."""

    deal_id: int
    borrower: str
    structure: str
    rate_bps: int
    fee_bps: int
    opened: int = Field(description="timestamp of DealOpened")
    maturity: int = Field(description="opened + term_days")
    collateral_assets: int
    collateral_units: dict[str, int] = Field(
        default_factory=dict,
        description="units pledged by kind (AssetRegistry.getAsset, or getCluster's size for a cluster's root)",
    )
    current_value: Units
    value_source: str
    leases: list[LeaseRow]
    contracted_monthly: Units = Field(description="monthly amounts of the leases in force at the report's block")
    debt_service_monthly: Units = Field(
        description="30 days of debt service: interest and fees on the balance plus level principal and a hybrid's "
        "revenue share on the leases in force; a revenue share's share of them (at least its interest and fees)"
    )
    dscr: str | None = Field(
        description="contracted_monthly / debt_service_monthly, 2 places; None when nothing is due"
    )
    principal_outstanding: Units
    interest_due: Units
    cash_reserve: Units
    impairment: Units
    ltv_bps: int | None = Field(description="principal outstanding / current value, in basis points")
    status: str
    days_past_due: int
    bucket: Literal["current", "30", "60", "90+", "defaulted", "closed"]
    gross_irr: float | None = Field(description="yearly IRR of the lender's flows with fees")
    net_irr: float | None = Field(description="the same net of fees (they go to the treasury, not to sAID)")


class DelinquencyBucket(_Model):
    bucket: Literal["current", "30", "60", "90+", "defaulted"]
    deals: int
    principal: Units


class Delinquency(_Model):
    """Open deals by days past due (CreditFacility.daysPastDue): current (under 30), 30-59, 60-89, 90 and
    more; defaulted deals not yet liquidated apart."""

    buckets: list[DelinquencyBucket]


class Recovery(_Model):
    """A liquidated deal: what was owed, what came back and what was lost (USDC units)."""

    deal_id: int
    principal_at_default: Units
    proceeds: Units
    cash_reserve: Units
    principal_recovered: Units
    loss: Units
    recovery_rate_bps: int


class ConcentrationRow(_Model):
    name: str
    deals: int
    amount: Units
    share_bps: int


class Concentration(_Model):
    """Concentration of the open book: principal outstanding by borrower and contracted monthly revenue by
    lease counterparty; ``hhi_bps`` is the Herfindahl index of the borrowers' shares (10,000: one borrower)."""

    by_borrower: list[ConcentrationRow]
    by_counterparty: list[ConcentrationRow]
    top_borrower_bps: int
    hhi_bps: int


class FairValue(_Model):
    """sAID's fair value at the report's block (AID wei), beside its book value: the vault's assets
    (``totalAssets``, impairments already taken), plus what is still vesting, plus interest accrued on the
    performing deals, less an expected-loss reserve: each open deal's one-year default probability times its
    loss given default (principal less cash reserve less the appraisal after the haircut), beyond what its
    impairment already took."""

    book_assets: Units
    unvested: Units
    accrued_interest: Units
    expected_loss_reserve: Units
    fair_assets: Units
    book_value_per_share: Units
    fair_value_per_share: Units


class ReportData(_Model):
    """Everything the report shows, read from the chain by :func:`gaib_sdk.report.collect`. Its JSON
    schema is versioned (``schema_version``) and documented in docs/report.md."""

    schema_version: str = SCHEMA_VERSION
    generator: str
    chain_id: int
    contracts: dict[str, str]
    from_block: int = Field(description="the deployment's block: logs are read from here")
    block: int = Field(description="the report's block: the latest when collected")
    timestamp: int
    scale: int = Field(description="AIDollar.SCALE(): AID wei per USDC unit")
    vesting_period: int = Field(description="seconds: StakedAID.vestingPeriod() at the report's block")
    max_advance_bps: int = Field(description="CreditFacility.maxAdvanceBps() at the report's block")
    history: Literal["state", "events"] = Field(
        default="state",
        description="state: views read at every point's block; events: the node keeps no past state, so the "
        "history comes from the event logs and the views only from the report's block",
    )
    nav: list[NavPoint]
    ledger_nav: list[LedgerPoint] = Field(
        default_factory=list, description="AID's balance sheet from the logs alone, one point per block with events"
    )
    fair_value: FairValue
    deals: list[DealReport]
    loan_tape: list[LoanTapeRow]
    delinquency: Delinquency
    reserve_composition: ReserveComposition
    concentration: Concentration
    losses: list[Loss]
    recoveries: list[Recovery]
    waterfall: Waterfall
    stress: StressReport | None
    ledger: list[LedgerEntry]

    @property
    def latest(self) -> NavPoint:
        return self.nav[-1]

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)

    def backing_holds(self, point: NavPoint) -> bool:
        """The backing equation at a point: ``totalSupply == (reserve + principalDeployed + uncoveredLoss) x SCALE``."""
        return point.aid_supply == (point.backing + point.uncovered_loss) * self.scale
