"""Turn an inventory and its valuations into a quote, or a refusal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gaib_sdk.models import AssetValuation, DealTerms, Inventory, Quote
from gaib_sdk.underwriting.rules import check_advance, check_customers
from gaib_sdk.underwriting.valuation import to_cents

__all__ = ["DEFAULT_ADVANCE_RATE", "MAX_ADVANCE_RATE", "underwrite"]

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
) -> Quote:
    """Check the hard rules and price the advance: ``advance_usd`` if given, else ``advance_rate`` of
    the appraised value. Raises :class:`~gaib_sdk.errors.UnderwritingError` naming the rule broken."""
    appraised = sum((v.value_usd for v in valuations), Decimal(0))
    advance = advance_usd if advance_usd is not None else to_cents(appraised * advance_rate)
    check_advance(advance, appraised, max_advance_rate)
    payments = check_customers(inventory.contracts, as_of)
    monthly = sum((c.monthly_revenue_usd for c in inventory.contracts if c.signed_on <= as_of), Decimal(0))
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
        customers=len(inventory.contracts),
        payments_on_record=payments,
        terms=terms or DealTerms(),
    )
