"""Market inputs per GPU family, and a utilisation-adjusted valuation of a GPU.

The figures in :data:`GPU_MARKET` are illustrative defaults: public, well-known orders of magnitude as of
2025, for tests, examples and a first quote. They are not quotes or appraisals. A user overrides them with
their own invoices, lease rates and power contract (pass a :class:`~gaib_sdk.models.MarketInputs`).

Valuation (:func:`appraise_gpu`): the **lower** of two approaches.

- cost: the depreciated cost that exists (:func:`~gaib_sdk.underwriting.valuation.straight_line_value`),
  straight line over the family's useful life down to its residual value;
- income: the present value, at ``discount_rate`` a year, of the net rental income the GPU can still earn
  over its remaining useful life (market rate x hours x utilisation, the rate falling by the family's
  yearly decline, less power and facility; a month that would lose money counts as 0, since an operator
  would switch the GPU off), plus the residual value at the end of its life.

The lower of the two, not a blend: a lender should not lend against income a GPU cannot earn at the
utilisation it shows (the income value caps the cost value when utilisation is low or rates have fallen),
nor against more than what the hardware would cost less its wear (the cost value caps the income value).
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import AssetRecord, AssetValuation, MarketInputs
from gaib_sdk.underwriting.valuation import months_between, straight_line_value, to_cents

__all__ = [
    "GPU_MARKET",
    "HOURS_PER_MONTH",
    "appraise_gpu",
    "decline_factor",
    "income_value",
    "market_for",
]

#: 8760 hours a year / 12.
HOURS_PER_MONTH = Decimal(730)

_SOURCE = (
    "illustrative 2025 order of magnitude from public reporting (NVIDIA partner and reseller prices in the "
    "press; hourly rates on public GPU cloud price lists such as Lambda, CoreWeave, RunPod; NVIDIA data "
    "sheets for board power); override with your own figures"
)

#: Market inputs per GPU family. Illustrative defaults that a user overrides; see the module docstring.
#: Depreciation (useful life, residual) matches the GPU plugin's defaults.
GPU_MARKET: dict[str, MarketInputs] = {
    # A100 80GB SXM: ~$10-20k a board in 2025 (prices fell after H100 shipped); ~$1.0-1.5 per GPU-hour on
    # public clouds; 400 W board power (NVIDIA A100 data sheet); rates falling ~20% a year.
    "A100": MarketInputs(
        family="A100",
        purchase_price_usd=Decimal(15_000),
        rental_usd_per_gpu_hour=Decimal("1.20"),
        power_kw=Decimal("0.4"),
        rental_decline_per_year=Decimal("0.20"),
        useful_life_months=48,
        residual=Decimal("0.10"),
        source=_SOURCE,
    ),
    # H100 SXM 80GB: ~$25-30k a GPU (press reports of NVIDIA pricing, 2023-2025); ~$2-2.5 per GPU-hour on
    # 1-3 year leases in 2025, after falling from ~$8 on demand in 2023; 700 W board power (NVIDIA H100
    # data sheet); rates assumed to fall ~20% a year.
    "H100": MarketInputs(
        family="H100",
        purchase_price_usd=Decimal(27_500),
        rental_usd_per_gpu_hour=Decimal("2.25"),
        power_kw=Decimal("0.7"),
        rental_decline_per_year=Decimal("0.20"),
        useful_life_months=48,
        residual=Decimal("0.15"),
        source=_SOURCE,
    ),
    # H200 SXM 141GB: ~$30-40k a GPU (press reports, 2024-2025); ~$2.5-3.5 per GPU-hour in 2025; 700 W
    # board power (NVIDIA H200 data sheet); rates assumed to fall ~20% a year.
    "H200": MarketInputs(
        family="H200",
        purchase_price_usd=Decimal(32_000),
        rental_usd_per_gpu_hour=Decimal("3.00"),
        power_kw=Decimal("0.7"),
        rental_decline_per_year=Decimal("0.20"),
        useful_life_months=54,
        residual=Decimal("0.15"),
        source=_SOURCE,
    ),
    # B200: ~$30-50k a GPU (NVIDIA's CEO quoted $30-40k in 2024; system prices imply more); ~$3.5-6 per
    # GPU-hour in 2025; 1000 W board power (NVIDIA DGX B200 specifications); newest, so a slower decline
    # of ~15% a year is assumed.
    "B200": MarketInputs(
        family="B200",
        purchase_price_usd=Decimal(40_000),
        rental_usd_per_gpu_hour=Decimal("4.50"),
        power_kw=Decimal("1.0"),
        rental_decline_per_year=Decimal("0.15"),
        useful_life_months=60,
        residual=Decimal("0.15"),
        source=_SOURCE,
    ),
}


def market_for(model: str, market: dict[str, MarketInputs] | None = None) -> MarketInputs:
    """The market inputs of the family named in a model string ("NVIDIA H100 SXM5 80GB" -> H100)."""
    table = GPU_MARKET if market is None else market
    upper = model.upper()
    for family in sorted(table, key=len, reverse=True):
        if family.upper() in upper:
            return table[family]
    raise GaibValueError(
        f"no market inputs for GPU model {model!r}: known families are {', '.join(sorted(table))} "
        "(pass your own MarketInputs)",
        stage="financialize",
    )


def decline_factor(decline_per_year: Decimal, months: int | Decimal) -> Decimal:
    """(1 - decline) ** (months / 12): what is left of a price after ``months`` of a yearly decline."""
    if not 0 <= decline_per_year < 1:
        raise GaibValueError(f"a yearly decline of {decline_per_year} is outside [0, 1)")
    if months == 0 or decline_per_year == 0:
        return Decimal(1)
    context = decimal.getcontext()
    return _decline_power(decline_per_year, Decimal(months), context.prec, context.rounding)


@functools.lru_cache(maxsize=4096)
def _decline_power(decline: Decimal, months: Decimal, prec: int, rounding: str) -> Decimal:
    """A fractional power of a Decimal costs about 40 µs, and a valuation asks for the same few hundred
    (one a month of each model's life); the context's precision and rounding are part of the key."""
    with decimal.localcontext(prec=prec, rounding=rounding):
        return (Decimal(1) - decline) ** (months / Decimal(12))


def income_value(
    market: MarketInputs,
    *,
    age_months: int,
    utilisation: Decimal,
    discount_rate: Decimal = Decimal("0.15"),
    usd_per_kwh: Decimal = Decimal("0.10"),
    facility_usd_per_month: Decimal = Decimal(0),
    hours_per_month: Decimal = HOURS_PER_MONTH,
    contracted_usd: Sequence[Decimal] = (),
    power_factor: Decimal = Decimal(1),
) -> Decimal:
    """Present value of one GPU's net rental income over its remaining useful life, plus its residual value
    at the end of that life, at ``discount_rate`` a year (compounded monthly as (1 + r) ** (1/12)).

    Month m (1 = the coming month) earns rate x (1 - decline) ** ((m - 1) / 12) x hours x utilisation,
    less power (kW x ``power_factor`` x hours x utilisation x $/kWh, where ``power_factor`` = (1 + the
    server's overhead) x the site's PUE) and ``facility_usd_per_month`` (every fixed cost of one GPU:
    colocation, staff, insurance, maintenance); a negative month counts as 0. Rounded down to the cent.

    ``contracted_usd`` is this GPU's share of the signed leases' revenue, month 1 first: a lease is
    take-or-pay, so month m earns its ``contracted_usd[m - 1]`` in full, and only the part of the GPU the
    leases do not cover (1 - contracted / (rate x hours), the market rate of month 1) earns the market
    rate at ``utilisation``. With no contracts it is the market income alone."""
    if not 0 <= utilisation <= 1:
        raise GaibValueError(f"utilisation {utilisation} must be between 0 and 1")
    if discount_rate <= -1:
        raise GaibValueError(f"discount rate {discount_rate} must be above -100%")
    remaining = max(0, market.useful_life_months - age_months)
    monthly = (Decimal(1) + discount_rate) ** (Decimal(1) / Decimal(12))
    busy_hours = hours_per_month * utilisation
    power = market.power_kw * power_factor * busy_hours * usd_per_kwh
    value = Decimal(0)
    discount = Decimal(1)
    for m in range(1, remaining + 1):
        discount /= monthly
        rent = market.rental_usd_per_gpu_hour * decline_factor(market.rental_decline_per_year, m - 1) * busy_hours
        contracted = contracted_usd[m - 1] if m <= len(contracted_usd) else Decimal(0)
        if contracted > 0:
            full = market.rental_usd_per_gpu_hour * hours_per_month
            rent = contracted + max(Decimal(0), 1 - contracted / full) * rent
        value += max(Decimal(0), rent - power - facility_usd_per_month) * discount
    value += market.purchase_price_usd * market.residual * discount
    return to_cents(value)


def appraise_gpu(
    asset: AssetRecord,
    as_of: date,
    *,
    utilisation: Decimal,
    market: MarketInputs | None = None,
    discount_rate: Decimal = Decimal("0.15"),
    usd_per_kwh: Decimal = Decimal("0.10"),
    facility_usd_per_month: Decimal = Decimal(0),
    contracted_usd: Sequence[Decimal] = (),
    power_factor: Decimal = Decimal(1),
) -> AssetValuation:
    """Utilisation-adjusted value of one GPU: the lower of its depreciated cost (straight line from its
    purchase price over the family's life to its residual) and its income value (:func:`income_value`
    at ``utilisation``, with its share ``contracted_usd`` of the signed leases). ``market`` defaults to the
    family in :data:`GPU_MARKET` named by the model."""
    m = market or market_for(asset.model)
    age = months_between(asset.purchased_on, as_of)
    cost = straight_line_value(
        asset.purchase_price_usd, asset.purchased_on, as_of, life_months=m.useful_life_months, residual=m.residual
    )
    income = income_value(
        m,
        age_months=age,
        utilisation=utilisation,
        discount_rate=discount_rate,
        usd_per_kwh=usd_per_kwh,
        facility_usd_per_month=facility_usd_per_month,
        contracted_usd=contracted_usd,
        power_factor=power_factor,
    )
    binding: Literal["cost", "income"] = "income" if income < cost else "cost"
    leases = f", ${sum(contracted_usd, Decimal(0)):.2f} of it under signed leases" if any(contracted_usd) else ""
    method = (
        f"lower of straight-line cost {cost} (over {m.useful_life_months} months to {m.residual:.0%} residual) "
        f"and income {income} (PV at {discount_rate:.0%} of net rent at {utilisation:.0%} utilisation, "
        f"{m.family} at ${m.rental_usd_per_gpu_hour}/GPU-hour falling {m.rental_decline_per_year:.0%} a year"
        f"{leases}): {binding}"
    )
    return AssetValuation(
        asset_id=asset.asset_id,
        serial=asset.serial,
        purchase_price_usd=asset.purchase_price_usd,
        age_months=age,
        value_usd=min(cost, income),
        method=method,
        cost_value_usd=cost,
        income_value_usd=income,
        binding=binding,
    )
