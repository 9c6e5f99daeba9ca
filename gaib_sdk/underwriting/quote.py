"""Turn an inventory and its valuations into a quote, or a refusal."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gaib_sdk.errors import GaibValueError, UnderwritingError
from gaib_sdk.models import (
    AssetValuation,
    CreditPolicy,
    CustomerContract,
    DealCase,
    DealTerms,
    Inventory,
    OnDemandCapacity,
    OperatingCosts,
    PricingTerms,
    Quote,
    StressPolicy,
)
from gaib_sdk.models.engine import MAX_TERM_MONTHS, PERIOD_DAYS
from gaib_sdk.underwriting.appraisal import quote_values
from gaib_sdk.underwriting.cashflow import add_months
from gaib_sdk.underwriting.market import HOURS_PER_MONTH
from gaib_sdk.underwriting.pricing import DEFAULT_RESERVE_BPS
from gaib_sdk.underwriting.rules import check_advance, check_asset_dates, check_concentration, check_customers
from gaib_sdk.underwriting.stress import stress_check
from gaib_sdk.underwriting.valuation import mark_to_market, to_cents

if TYPE_CHECKING:
    from gaib_sdk.adapters import MarketPriceSource

__all__ = [
    "DEFAULT_ADVANCE_RATE",
    "MAX_ADVANCE_RATE",
    "check_capacity",
    "credit_policy",
    "deal_case",
    "liquidation_values",
    "running_contracts",
    "pricing_terms",
    "stress_policy",
    "underwrite",
]

DEFAULT_ADVANCE_RATE = Decimal("0.75")
#: The protocol's cap, also enforced on-chain by the CreditFacility (maxAdvanceBps = 8000).
MAX_ADVANCE_RATE = Decimal("0.80")


def underwrite(
    inventory: Inventory,
    valuations: list[AssetValuation],
    *,
    as_of: date,
    advance_usd: Decimal | None = None,
    advance_rate: Decimal = DEFAULT_ADVANCE_RATE,
    max_advance_rate: Decimal = MAX_ADVANCE_RATE,
    terms: DealTerms | None = None,
    costs: OperatingCosts | None = None,
    on_demand: OnDemandCapacity | None = None,
    stress: StressPolicy | None = None,
    price_ceiling_usd: Decimal | None = None,
    market: MarketPriceSource | None = None,
    policy: CreditPolicy | None = None,
) -> Quote:
    """Check the hard rules, price the advance (``advance_usd`` if given, else ``advance_rate`` of the
    appraised value) and, given the inventory's operating ``costs``, stress the deal under ``stress``
    (default :class:`~gaib_sdk.models.StressPolicy`). Raises :class:`~gaib_sdk.errors.UnderwritingError`
    naming the rule broken (``stressed_loss`` for the stress test). Given the adapter's ``price_ceiling_usd``
    (per unit-hour), the contracts running on ``as_of`` may not promise more a month than the inventory can
    earn (:func:`check_capacity`, rule ``capacity``). An asset bought after ``as_of`` is refused (rule
    ``asset_dates``); a customer or a hardware model above the policy's share is refused (rule ``concentration``,
    :func:`~gaib_sdk.underwriting.rules.check_concentration`); contracts that have ended by ``as_of`` are history:
    they count for the payment record, not
    for the revenue.

    Given a ``market`` price source, each asset is worth the lower of its depreciated cost, its market value
    and its income value, and a stated price far above the market is refused (:func:`~gaib_sdk.underwriting.
    valuation.mark_to_market`, rule ``stated_price``); the quote shows the orderly and forced liquidation values
    (:func:`liquidation_values`, discounts of ``policy``)."""
    check_asset_dates(inventory.assets, as_of)
    credit = policy or CreditPolicy()
    if market is not None:
        valuations = mark_to_market(inventory.assets, valuations, market, as_of, credit)
    appraised = sum((v.value_usd for v in valuations), Decimal(0))
    advance = advance_usd if advance_usd is not None else to_cents(appraised * advance_rate)
    check_advance(advance, appraised, max_advance_rate)
    payments = check_customers(inventory.contracts, as_of)
    running = running_contracts(inventory.contracts, as_of)
    if price_ceiling_usd is not None:
        check_capacity(running, len(inventory.assets), price_ceiling_usd)
    concentration = check_concentration(running, inventory.assets, valuations, credit)
    monthly = sum((c.monthly_revenue_usd for c in running), Decimal(0))
    deal_terms = terms or DealTerms()
    stress_rules = stress or StressPolicy()
    check = None
    if costs is not None and stress_rules.enabled:
        case = deal_case(
            inventory,
            deal_terms,
            as_of=as_of,
            funded_usd=advance,
            collateral_value_usd=appraised,
            costs=costs,
            on_demand=on_demand,
        )
        check = stress_check(case, stress_rules)
    cost_value, income_value, binding = quote_values(valuations)
    market_value, orderly, forced = liquidation_values(valuations, credit)
    return Quote(
        kind=inventory.kind,
        operator=inventory.operator,
        as_of=as_of,
        asset_ids=[v.asset_id for v in valuations],
        valuations=valuations,
        appraised_value_usd=appraised,
        advance_rate=(advance / appraised).quantize(Decimal("0.0001")),
        max_advance_rate=max_advance_rate,
        advance_usd=advance,
        max_advance_usd=(appraised * max_advance_rate).quantize(Decimal("0.000001")),
        cover=(appraised / advance).quantize(Decimal("0.01")),
        monthly_contracted_revenue_usd=monthly,
        customers=len(running),
        payments_on_record=payments,
        terms=deal_terms,
        cost_value_usd=cost_value,
        income_value_usd=income_value,
        binding=binding,
        stress=check,
        market_value_usd=market_value,
        orderly_liquidation_value_usd=orderly,
        forced_liquidation_value_usd=forced,
        concentration=concentration,
    )


def liquidation_values(
    valuations: list[AssetValuation], policy: CreditPolicy
) -> tuple[Decimal | None, Decimal, Decimal]:
    """The market value of the assets (summed, where every asset has one; else None), and what an orderly and
    a forced sale would fetch: the market value (or, without one, the appraised value) less the policy's
    orderly and forced discounts. Never above the appraised value: a sale does not fetch more than it is worth."""
    appraised = sum((v.value_usd for v in valuations), Decimal(0))
    if valuations and all(v.market_value_usd is not None for v in valuations):
        market: Decimal | None = sum((v.market_value_usd or Decimal(0) for v in valuations), Decimal(0))
    else:
        market = None
    base = appraised if market is None else min(market, appraised)
    return market, to_cents(base * (1 - policy.orderly_discount)), to_cents(base * (1 - policy.forced_discount))


def credit_policy(policy: CreditPolicy | dict[str, Any] | None) -> CreditPolicy:
    """A :class:`~gaib_sdk.models.CreditPolicy` from itself, its fields as a dict, or None (the defaults)."""
    if isinstance(policy, CreditPolicy):
        return policy
    try:
        return CreditPolicy.model_validate(policy or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise GaibValueError(f"credit policy field {field!r}: {err['msg']}", stage="financialize") from exc


def running_contracts(contracts: list[CustomerContract], as_of: date) -> list[CustomerContract]:
    """The contracts signed by ``as_of`` that have not ended by then: those a deal opened then is pledged."""
    return [c for c in contracts if c.signed_on <= as_of and add_months(c.starts_on, c.term_months) > as_of]


def check_capacity(contracts: list[CustomerContract], units: int, price_ceiling_usd: Decimal) -> Decimal:
    """Refuse contracts that promise more a month than ``units`` can earn at ``price_ceiling_usd`` an hour each
    (units x 730 hours x the ceiling), as the LeaseRegistry does on-chain. Returns the capacity."""
    monthly = sum((c.monthly_revenue_usd for c in contracts), Decimal(0))
    capacity = units * HOURS_PER_MONTH * price_ceiling_usd
    if monthly > capacity:
        per_hour = monthly / (units * HOURS_PER_MONTH)
        raise UnderwritingError(
            f"contracted revenue {monthly:,.2f} USD a month ({per_hour:,.2f} USD per unit-hour) exceeds the "
            f"collateral's capacity of {capacity:,.2f} USD a month ({units} units x {HOURS_PER_MONTH} h x "
            f"{price_ceiling_usd} USD, the kind's price ceiling): no hardware earns that; check the contracts' "
            "monthly amounts",
            rule="capacity",
        )
    return capacity


def stress_policy(policy: StressPolicy | dict[str, Any] | None) -> StressPolicy:
    """A :class:`~gaib_sdk.models.StressPolicy` from itself, its fields as a dict, or None (the defaults).
    A wrong field is a GaibValueError naming it."""
    if isinstance(policy, StressPolicy):
        return policy
    try:
        return StressPolicy.model_validate(policy or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise GaibValueError(f"stress policy field {field!r}: {err['msg']}", stage="financialize") from exc


def pricing_terms(terms: DealTerms, reserve_bps: int = DEFAULT_RESERVE_BPS) -> PricingTerms:
    """The engine's terms of a deal's on-chain terms: the term in 30-day months, ceil(days / 30) (at most
    36), with the days themselves kept when they are not a whole number of 30-day months."""
    months = min(MAX_TERM_MONTHS, math.ceil(terms.term_days / PERIOD_DAYS))
    return PricingTerms(
        structure=terms.structure,
        rate_bps=terms.rate_bps,
        revenue_share_bps=terms.revenue_share_bps,
        fee_bps=terms.fee_bps,
        term_months=months,
        term_days=None if terms.term_days == PERIOD_DAYS * months else terms.term_days,
        reserve_bps=reserve_bps,
    )


def deal_case(
    inventory: Inventory,
    terms: DealTerms,
    *,
    as_of: date,
    funded_usd: Decimal,
    collateral_value_usd: Decimal,
    costs: OperatingCosts,
    on_demand: OnDemandCapacity | None = None,
) -> DealCase:
    """The deal a quote describes, as the stress test sees it: the advance funded on ``as_of`` against the
    appraised value, repaid on ``terms`` from the signed contracts (and ``on_demand``) less ``costs``."""
    return DealCase(
        funded_usd=funded_usd,
        terms=pricing_terms(terms),
        start=as_of,
        contracts=inventory.contracts,
        costs=costs,
        on_demand=on_demand,
        collateral_value_usd=collateral_value_usd,
    )
