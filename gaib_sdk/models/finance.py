"""Valuations, terms, quotes, deals and positions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gaib_sdk.models.engine import StressCheck

__all__ = [
    "AssetValuation",
    "DealInfo",
    "DealSchedule",
    "DealStatus",
    "DealTerms",
    "Delinquency",
    "DigitizeResult",
    "DueDate",
    "Quote",
    "Repayment",
    "SweepResult",
    "VenuePosition",
    "VenueQuote",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetValuation(_Model):
    asset_id: str
    serial: str
    purchase_price_usd: Decimal
    age_months: int
    value_usd: Decimal
    method: str
    cost_value_usd: Decimal | None = Field(default=None, description="depreciated cost, where an income value is too")
    income_value_usd: Decimal | None = Field(default=None, description="present value of what the asset earns")
    binding: Literal["cost", "income", "market"] | None = Field(default=None, description="which of them is the value")
    market_value_usd: Decimal | None = Field(default=None, description="what the market pays for a used unit")
    market_source: str | None = Field(default=None, description="where the market price was read, or why assumed")


class DealTerms(_Model):
    """The terms of a deal. Rates in basis points a year. Revenue-share deals pay 50-70% of gross revenue;
    hybrid deals pay a fixed rate plus a smaller share of gross (under 50%). A month is 30 days: the default
    term, 24 months, is 720 days; installments fall every 30 days, the last on the term's last day."""

    structure: Literal["fixed", "revenue_share", "hybrid"] = "fixed"
    rate_bps: int = Field(default=1200, ge=0, le=5000)
    revenue_share_bps: int = Field(default=0, ge=0, le=7000)
    fee_bps: int = Field(default=50, ge=0, le=1000)
    term_days: int = Field(default=720, ge=90, le=1095)

    @model_validator(mode="after")
    def _share_in_range(self) -> DealTerms:
        share = self.revenue_share_bps
        if self.structure == "revenue_share" and not 5000 <= share <= 7000:
            raise ValueError(f"revenue_share_bps {share} is outside 5000-7000 (50-70% of gross revenue)")
        if self.structure == "hybrid" and not 0 < share < 5000:
            raise ValueError(f"revenue_share_bps {share} of a hybrid deal must be between 1 and 4999")
        if self.structure == "fixed" and share != 0:
            raise ValueError(f"a fixed deal takes no revenue share (revenue_share_bps {share}): use hybrid")
        return self


class Quote(_Model):
    """An underwriting decision: what may be advanced against what, on which terms."""

    kind: str
    operator: str
    as_of: date
    asset_ids: list[str]
    valuations: list[AssetValuation]
    appraised_value_usd: Decimal
    advance_rate: Decimal
    max_advance_rate: Decimal
    advance_usd: Decimal
    max_advance_usd: Decimal
    cover: Decimal = Field(description="appraised value / advance, e.g. 1.33")
    monthly_contracted_revenue_usd: Decimal
    customers: int
    payments_on_record: int
    terms: DealTerms
    cost_value_usd: Decimal | None = Field(default=None, description="the assets' depreciated cost, summed")
    income_value_usd: Decimal | None = Field(default=None, description="the assets' income values, summed")
    binding: Literal["cost", "income", "market", "mixed"] | None = Field(
        default=None, description="which value bound: cost, income or market for every asset, or mixed"
    )
    stress: StressCheck | None = Field(default=None, description="the stress test, unless it was switched off")
    market_value_usd: Decimal | None = Field(default=None, description="the assets' market values, summed")
    orderly_liquidation_value_usd: Decimal | None = Field(
        default=None, description="market value (or the appraised value) less the policy's orderly discount"
    )
    forced_liquidation_value_usd: Decimal | None = Field(
        default=None, description="market value (or the appraised value) less the policy's forced discount"
    )
    concentration: dict[str, Decimal] = Field(
        default={}, description="the largest shares: top customer of revenue, top hardware model of value"
    )


class DealStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    REPAID = 2
    IMPAIRED = 3
    DEFAULTED = 4
    LIQUIDATED = 5


class DealInfo(_Model):
    """A deal as the chain holds it."""

    deal_id: int
    borrower: str
    status: DealStatus
    appraised_value_usd: Decimal
    advance_usd: Decimal
    principal_outstanding_usd: Decimal
    interest_due_usd: Decimal
    fees_due_usd: Decimal
    interest_paid_usd: Decimal
    fees_paid_usd: Decimal
    cash_reserve_usd: Decimal
    impairment_usd: Decimal
    terms: DealTerms
    collateral: list[str]
    lockbox: str | None = Field(default=None, description="the address the deal's customers pay into")


class Repayment(_Model):
    """How one repayment went through the waterfall."""

    deal_id: int
    fees_usd: Decimal
    interest_usd: Decimal
    principal_usd: Decimal
    excess_usd: Decimal
    tx_hash: str


class DueDate(_Model):
    """One due date of a deal's repayment schedule as the chain computes it from the terms (read back)."""

    k: int = Field(description="1 for the first due date")
    due_at: datetime
    principal_usd: Decimal = Field(description="the principal this date calls for (revenue share: all at the last)")
    met: bool = Field(description="this date's principal, fees and interest are paid")


class DealSchedule(_Model):
    """A deal's repayment schedule: 30-day periods from opening, the last at the end of the term."""

    deal_id: int
    structure: Literal["fixed", "revenue_share", "hybrid"]
    lockbox: str
    installments: list[DueDate]
    installments_met: int


class SweepResult(_Model):
    """Where one sweep of a deal's lockbox sent the money (USDC)."""

    deal_id: int
    gross_usd: Decimal = Field(description="what the lockbox held")
    fees_usd: Decimal
    interest_usd: Decimal
    principal_usd: Decimal
    kicker_usd: Decimal = Field(description="hybrid deals: the revenue share paid to sAID as extra income")
    reserve_drawn_usd: Decimal = Field(description="drawn from the deal's cash reserve to cover a shortfall")
    reserve_top_up_usd: Decimal = Field(description="paid back into the cash reserve")
    to_borrower_usd: Decimal
    tx_hash: str


class Delinquency(_Model):
    """Where a deal stands against its schedule, and which delinquency trigger anyone may call now."""

    deal_id: int
    status: DealStatus
    days_past_due: int = Field(description="whole days since the oldest due date not met")
    oldest_unmet_due_at: datetime | None
    fees_due_usd: Decimal
    interest_due_usd: Decimal
    principal_due_usd: Decimal
    amount_due_usd: Decimal = Field(description="fees, interest and principal due by the latest passed date")
    cash_reserve_usd: Decimal
    reserve_drawn_usd: Decimal = Field(description="drawn by sweeps and not yet topped up")
    grace_days: int
    impair_days: int
    default_days: int
    trigger: Literal["none", "impair", "default"]


class DigitizeResult(_Model):
    kind: str
    owner: str
    asset_ids: list[str]
    already_registered: list[str] = []
    tx_hashes: list[str] = []
    cluster_root: str | None = Field(default=None, description="set when registered as one cluster")


class VenuePosition(_Model):
    """A position held at a DeFi venue."""

    venue: str
    market: str
    account: str
    side: Literal["supply", "collateral", "borrow", "liquidity", "principal", "yield"]
    asset: str
    amount: Decimal
    details: dict[str, str] = {}


class VenueQuote(_Model):
    """What an action at a venue would give at the current on-chain state, read without sending anything.
    ``amount_out`` is what the caller receives (LP tokens, shares, coins); ``minimum_out`` is what the action
    accepts after the slippage tolerance (``amount_out`` where the venue has no slippage)."""

    venue: str
    action: Literal["add_liquidity", "remove_liquidity", "swap"]
    amount_in: Decimal
    asset_in: str
    amount_out: Decimal
    asset_out: str
    minimum_out: Decimal
    details: dict[str, str] = {}
