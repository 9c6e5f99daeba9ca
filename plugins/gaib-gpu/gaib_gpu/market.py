"""Secondary-market prices of GPUs: the independent check on a borrower's stated purchase prices.

The plugin ships a dated table (``data/market_prices.json``): rows of used and new prices per GPU family,
each citing the public page it was read from or marked as an assumption with its reasoning, and per family a
residual-value curve and the yearly decline at which a price is rolled forward from its date. Option
``table`` names a newer file or an ``http(s)`` URL in the same format: its rows are added to the shipped ones
(a later observation wins) and its families' curves replace the shipped ones.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from gaib_sdk import AdapterOptions, GaibValueError, MarketPriceSource, validate_row
from gaib_sdk.models import MarketPrice, ResidualCurve
from gaib_sdk.underwriting.market import decline_factor
from gaib_sdk.underwriting.valuation import months_between, to_cents

__all__ = ["GpuMarketOptions", "GpuMarketPrices", "load_table"]


class GpuMarketOptions(AdapterOptions):
    """Options of the GPU market prices."""

    table: str | None = Field(
        default=None, description="a newer price table: a JSON file's path or an http(s) URL (same format)"
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="for a table read from a URL")


def _read(where: str, timeout_s: float) -> Any:
    try:
        if where.startswith(("http://", "https://")):
            response = httpx.get(where, timeout=timeout_s, follow_redirects=True)
            response.raise_for_status()
            return response.json()
        return json.loads(Path(where).read_text())
    except (OSError, httpx.HTTPError, ValueError) as exc:
        raise GaibValueError(f"GPU price table {where}: {exc}", stage="financialize") from exc


def load_table(data: Any, where: str) -> tuple[list[MarketPrice], dict[str, Decimal], dict[str, ResidualCurve]]:
    """A price table's rows, its families' yearly declines and residual curves; a malformed row is refused
    naming it (``prices row 3, field 'observed_on'``)."""
    if not isinstance(data, dict) or not isinstance(data.get("prices", []), list):
        raise GaibValueError(f"GPU price table {where}: a JSON object with 'prices' (a list) and 'models'")
    rows = [validate_row(MarketPrice, raw, "prices", i) for i, raw in enumerate(data.get("prices", []), 1)]
    declines: dict[str, Decimal] = {}
    curves: dict[str, ResidualCurve] = {}
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise GaibValueError(f"GPU price table {where}: 'models' is an object, one entry per GPU family")
    for family, spec in models.items():
        if not isinstance(spec, dict):
            raise GaibValueError(f"GPU price table {where}: models.{family} is an object")
        try:
            decline = Decimal(str(spec.get("decline_per_year", "0.20")))
            decline_factor(decline, 1)  # refuses a decline outside [0, 1)
        except (ArithmeticError, GaibValueError) as exc:
            raise GaibValueError(f"GPU price table {where}: models.{family}.decline_per_year: {exc}") from exc
        declines[family] = decline
        if "residual_curve" in spec:
            curves[family] = validate_row(
                ResidualCurve, {"model": family, **spec["residual_curve"]}, f"models.{family}.residual_curve", 1
            )
    return rows, declines, curves


class GpuMarketPrices(MarketPriceSource):
    """Used and new GPU prices by family, from the shipped table and option ``table``."""

    kind = "gpu"
    options_model = GpuMarketOptions
    options: GpuMarketOptions

    def __init__(self, options: GpuMarketOptions | dict[str, Any] | None = None):
        super().__init__(options)
        shipped = resources.files("gaib_gpu").joinpath("data", "market_prices.json").read_text()
        self.rows, self.declines, self.curves = load_table(json.loads(shipped), "shipped with gaib-gpu")
        if self.options.table:
            rows, declines, curves = load_table(_read(self.options.table, self.options.timeout_s), self.options.table)
            self.rows = [*self.rows, *rows]
            self.declines |= declines
            self.curves |= curves

    def family(self, model: str) -> str | None:
        """The family a model string names ("NVIDIA H100 SXM5 80GB" -> "H100"), longest name first."""
        upper = model.upper()
        names = {r.model for r in self.rows} | set(self.declines)
        return next((f for f in sorted(names, key=len, reverse=True) if f.upper() in upper), None)

    def _latest(self, family: str, on: date, field: str) -> MarketPrice | None:
        rows = [r for r in self.rows if r.model == family and getattr(r, field) is not None]
        before = [r for r in rows if r.observed_on <= on]
        if before:  # the latest on or before the day; a later row of the same day wins
            return max(enumerate(before), key=lambda ir: (ir[1].observed_on, ir[0]))[1]
        # none yet: the earliest observation, unrolled (prices fall: the later price is the lower one)
        return min(rows, key=lambda r: r.observed_on, default=None)

    def price(self, model: str, as_of: date) -> MarketPrice | None:
        """The latest used price of the family on or before ``as_of``, rolled forward to it at the family's
        yearly decline; None for a family the table does not price."""
        family = self.family(model)
        found = self._latest(family, as_of, "used_usd") if family else None
        if found is None or found.used_usd is None or family is None:
            return None
        months = months_between(found.observed_on, as_of)
        rolled = to_cents(found.used_usd * decline_factor(self.declines.get(family, Decimal("0.2")), months))
        return found.model_copy(update={"used_usd": rolled, "as_of": as_of})

    def new_price(self, model: str, on: date) -> MarketPrice | None:
        """The family's latest new price on or before ``on`` (the day a unit was bought), not rolled."""
        family = self.family(model)
        return self._latest(family, on, "new_usd") if family else None

    def residual_curve(self, model: str) -> ResidualCurve | None:
        family = self.family(model)
        return self.curves.get(family) if family else None
