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
    "USDC_DECIMALS",
    "DealEvent",
    "DealPoint",
    "DealReport",
    "LedgerEntry",
    "Liquidation",
    "Loss",
    "NavPoint",
    "Payment",
    "ReportData",
    "StressAssumptions",
    "StressReport",
    "Waterfall",
    "WaterfallRow",
    "aid",
    "exit_price",
    "usdc",
]

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


def exit_price(*, share_price: int, reserve: int, queued_stable: int, aid_supply: int, scale: int) -> int:
    """Exit NAV, in AID wei (= 10^-18 USDC) per whole sAID share: what a holder's exit is worth in USDC at
    today's prices, without waiting in AID's redemption queue.

    A holder exits by an ERC-7540 request: the withdrawal cycle fills it at the share price of that moment
    (``sharePrice`` AID a share today; the wait for the cycle is not priced here), and the AID is redeemed
    1:1 for USDC (or USDT) from the liquid reserve. What the reserve can pay now is the part not already owed to waiting
    requests, ``free = max(0, reserve - queuedStable)`` USDC; the AID that could ask for it is all AID not
    already in the queue, ``outstanding = totalSupply / SCALE - queuedStable`` USDC. If every holder asked
    at once each would get the fraction ``cover = min(1, free / outstanding)`` now and wait for the rest, so

        exit NAV = sharePrice x min(1, (reserve - queuedStable)^+ / (totalSupply / SCALE - queuedStable))

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
    deposit_price: Units = Field(description="deposit NAV, AID wei a deposit pays for one sAID: previewMint(1e18)")
    exit_price: Units = Field(description="exit NAV, AID wei per sAID: see gaib_sdk.report.exit_price")

    @property
    def backing(self) -> int:
        """USDC units: ``reserve + principalDeployed`` (AIDollar.backing())."""
        return self.reserve + self.principal_deployed

    def liquid_cover(self, scale: int) -> Fraction:
        """The fraction of AID not in the queue that the free reserve could pay now (at most 1)."""
        free = max(0, self.reserve - self.queued_stable) * scale
        outstanding = self.aid_supply - self.queued_stable * scale
        return Fraction(1) if outstanding <= 0 else min(Fraction(1), Fraction(free, outstanding))


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
    """What the Monte Carlo assumes beyond what is on-chain: the chance each open deal defaults within the
    horizon (a higher one for an impaired deal), what the collateral loses in a forced sale, and what the
    undeployed reserve earns. Collateral is valued at its on-chain appraisal."""

    default_probability: float = Field(ge=0, le=1)
    impaired_default_probability: float = Field(ge=0, le=1)
    recovery_haircut: float = Field(ge=0, le=1)
    treasury_yield: float = Field(ge=0, le=1)
    horizon_years: float = Field(gt=0)
    paths: int = Field(ge=1)
    seed: int
    correlations: list[float]


class StressReport(_Model):
    """``simulate_portfolio`` over the deals open at the report's block, once per correlation; each result
    holds its loss and yield quantiles on a grid of percentiles (0, 0.5, ..., 100)."""

    assumptions: StressAssumptions
    loans: list[LoanRisk]
    cash_usd: float
    results: list[MonteCarloResult]


class ReportData(_Model):
    """Everything the report shows, read from the chain by :func:`gaib_sdk.report.collect`."""

    generator: str
    chain_id: int
    contracts: dict[str, str]
    from_block: int = Field(description="the deployment's block: logs are read from here")
    block: int = Field(description="the report's block: the latest when collected")
    timestamp: int
    scale: int = Field(description="AIDollar.SCALE(): AID wei per USDC unit")
    vesting_period: int = Field(description="seconds: StakedAID.vestingPeriod() at the report's block")
    max_advance_bps: int = Field(description="CreditFacility.maxAdvanceBps() at the report's block")
    nav: list[NavPoint]
    deals: list[DealReport]
    losses: list[Loss]
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
