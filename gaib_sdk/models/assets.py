"""Assets, the signed customer contracts that make them earn, and the telemetry that says they work."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak  # eth_utils' keccak, without its argument checks (10,000s of hashes)
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "AssetRecord",
    "CreditPolicy",
    "CustomerContract",
    "Inventory",
    "MarketPrice",
    "Payment",
    "ResidualCurve",
    "Telemetry",
    "asset_id",
    "canonical_json",
    "lease_id",
]

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Usd = Annotated[Decimal, Field(ge=0, max_digits=24, decimal_places=6)]


def canonical_json(model: BaseModel) -> str:
    """A model as canonical JSON: sorted keys, no spaces, and decimals without trailing zeros, so that
    "31250.00" and "31250" hash alike."""

    def norm(value: object) -> object:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [norm(v) for v in value]
        if isinstance(value, date | datetime):
            return value.isoformat()
        return value

    return json.dumps(norm(model.model_dump()), sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=1 << 16)  # a flow asks for each id several times (digitize, quote, leases)
def asset_id(kind: str, vendor: str, serial: str) -> str:
    """The deterministic id of an asset: keccak256(abi.encode(kind, vendor, serial)), with kind and vendor
    lower-cased and all three stripped, so the same machine always gets the same id."""
    return "0x" + keccak(_encode_strings(kind.strip().lower(), vendor.strip().lower(), serial.strip())).hex()


def _encode_strings(*texts: str) -> bytes:
    """``abi.encode(string, ...)``: the same bytes as eth_abi's encoder (tests compare them), written out
    because eth_abi's generic path costs more than the hash (an inventory of 10,000 GPUs hashes 10,000 ids)."""
    raw = [t.encode() for t in texts]
    head, tail, offset = [], [], 32 * len(raw)
    for r in raw:
        head.append(offset.to_bytes(32, "big"))
        body = len(r).to_bytes(32, "big") + r + b"\0" * (-len(r) % 32)
        tail.append(body)
        offset += len(body)
    return b"".join(head) + b"".join(tail)


def lease_id(operator: str, contract: CustomerContract) -> str:
    """The deterministic id of a customer contract registered as a lease in the LeaseRegistry:
    keccak256(abi.encode(operator, customer_hash, contract_ref)), as the contract computes it."""
    payload = abi_encode(
        ["address", "bytes32", "bytes32"],
        [operator, bytes.fromhex(contract.customer_hash[2:]), bytes.fromhex(contract.contract_ref[2:])],
    )
    return "0x" + keccak(payload).hex()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetRecord(_Model):
    """One physical asset: a GPU, a robot. ``details`` holds what is particular to its kind."""

    kind: NonEmpty
    vendor: NonEmpty
    model: NonEmpty
    serial: NonEmpty
    purchase_price_usd: Usd
    purchased_on: date
    site: NonEmpty
    details: dict[str, str | int | float | bool] = {}

    # Plain properties, not cached: model_copy(update=...) would carry a cached hash over to a changed record.
    @property
    def asset_id(self) -> str:
        return asset_id(self.kind, self.vendor, self.serial)

    @property
    def record_hash(self) -> str:
        """keccak256 of the record's canonical JSON (:func:`canonical_json`): what goes on-chain."""
        return "0x" + keccak(canonical_json(self).encode()).hex()


class Payment(_Model):
    """One invoice of a customer contract and when (if ever) it was paid."""

    due_on: date
    amount_usd: Usd
    paid_on: date | None = None

    def days_late(self, as_of: date) -> int:
        """Days past due: to the payment date, or to ``as_of`` if still unpaid."""
        return max(0, ((self.paid_on or as_of) - self.due_on).days)


class CustomerContract(_Model):
    """A signed contract with a customer that pays for the assets' use."""

    customer: NonEmpty
    signed_on: date
    starts_on: date
    term_months: int = Field(ge=1, le=120)
    monthly_revenue_usd: Usd
    payments: list[Payment] = []

    @property
    def customer_hash(self) -> str:
        """keccak256 of the customer's name: what the LeaseRegistry holds instead of the name."""
        return "0x" + keccak(self.customer.encode()).hex()

    @property
    def contract_ref(self) -> str:
        """keccak256 of the contract's terms (its canonical JSON without the payment history, which grows):
        with the operator and the customer hash it makes the lease id (:func:`lease_id`)."""
        return "0x" + keccak(canonical_json(self.model_copy(update={"payments": []})).encode()).hex()

    @field_validator("payments")
    @classmethod
    def _paid_after_signing(cls, payments: list[Payment], info: ValidationInfo) -> list[Payment]:
        # an invoice or a payment dated before the contract existed is a wrong date, not history to lend on
        signed = info.data.get("signed_on")
        if signed is None:  # signed_on itself was refused: that error is the one reported
            return payments
        for i, p in enumerate(payments, 1):
            for name in ("due_on", "paid_on"):
                day = getattr(p, name)
                if day is not None and day < signed:
                    raise ValueError(
                        f"payment {i} has {name} {day}, which is before the contract was signed ({signed})"
                    )
        return payments

    @model_validator(mode="after")
    def _dates_in_order(self) -> CustomerContract:
        if self.starts_on < self.signed_on:
            raise ValueError(f"starts_on {self.starts_on} is before signed_on {self.signed_on}")
        return self


class Telemetry(_Model):
    """A snapshot of one asset's health, read from its source (NVML, DCGM, a fleet API)."""

    serial: NonEmpty
    observed_at: AwareDatetime = Field(description="with its time zone, e.g. 2026-11-01T00:00:00Z")
    healthy: bool
    utilisation: float = Field(ge=0, le=1)
    metrics: dict[str, float] = {}

    @property
    def attestation(self) -> str:
        """keccak256 of the snapshot's canonical JSON: the attestation registered with the asset."""
        return "0x" + keccak(canonical_json(self).encode()).hex()


class Inventory(_Model):
    """What an operator brings to digitize: its assets, its customer contracts and their telemetry."""

    kind: NonEmpty
    operator: NonEmpty
    assets: list[AssetRecord] = Field(min_length=1)
    contracts: list[CustomerContract] = []
    telemetry: list[Telemetry] = []

    @field_validator("assets")
    @classmethod
    def _unique_serials(cls, assets: list[AssetRecord]) -> list[AssetRecord]:
        seen: dict[str, int] = {}
        for i, a in enumerate(assets):
            if a.asset_id in seen:
                raise ValueError(
                    f"assets[{i}] has the same vendor and serial as assets[{seen[a.asset_id]}] "
                    f"({a.vendor} {a.serial}): each asset may appear once"
                )
            seen[a.asset_id] = i
        return assets

    @field_validator("telemetry")
    @classmethod
    def _telemetry_of_its_assets(cls, telemetry: list[Telemetry], info: ValidationInfo) -> list[Telemetry]:
        # a reading of a machine that is not pledged says nothing about the collateral: refuse, do not keep it
        assets = info.data.get("assets")
        if assets is None:
            return telemetry
        serials = {a.serial for a in assets}
        for i, t in enumerate(telemetry):
            if t.serial not in serials:
                raise ValueError(f"telemetry[{i}] is for serial {t.serial!r}, which is not an asset of the inventory")
        return telemetry

    @model_validator(mode="after")
    def _kinds_match(self) -> Inventory:
        for i, a in enumerate(self.assets):
            if a.kind != self.kind:
                raise ValueError(f"assets[{i}].kind is {a.kind!r} in an inventory of kind {self.kind!r}")
        return self

    # The latest snapshot per serial, built once: looking up each asset of a 10,000-GPU inventory by
    # scanning the list was quadratic. Kept with the identity and length of the list it indexes, so a
    # copy with other telemetry (model_copy(update=...)) or a snapshot appended builds it again.
    _latest: tuple[int, int, dict[str, Telemetry]] | None = PrivateAttr(default=None)

    def latest_telemetry(self) -> dict[str, Telemetry]:
        """The latest snapshot of each serial (by ``observed_at``; the first given wins a tie)."""
        cached = self._latest
        if cached is not None and cached[0] == id(self.telemetry) and cached[1] == len(self.telemetry):
            return cached[2]
        latest: dict[str, Telemetry] = {}
        for t in self.telemetry:
            seen = latest.get(t.serial)
            if seen is None or t.observed_at > seen.observed_at:
                latest[t.serial] = t
        self._latest = (id(self.telemetry), len(self.telemetry), latest)
        return latest

    def telemetry_for(self, serial: str) -> Telemetry | None:
        """The latest snapshot for a serial."""
        return self.latest_telemetry().get(serial)


Share = Annotated[Decimal, Field(ge=0, le=1)]


class MarketPrice(_Model):
    """One dated price of a hardware model from a public source: what a used unit sold for on the secondary
    market (``used_usd``) and, where known, what a new one cost (``new_usd``). ``source`` cites where the
    figure was read; a figure no source gives is an ``assumption`` that says why it was taken. A source's
    :meth:`~gaib_sdk.MarketPriceSource.price` returns the row rolled forward to the day asked (``as_of``)."""

    model: NonEmpty
    observed_on: date
    used_usd: Usd | None = None
    new_usd: Usd | None = None
    source: str = ""
    assumption: str = Field(default="", description="the reasoning, where the figure is not read from a source")
    as_of: date | None = Field(default=None, description="the day the price was rolled forward to, if not observed_on")

    @model_validator(mode="after")
    def _priced_and_sourced(self) -> MarketPrice:
        if self.used_usd is None and self.new_usd is None:
            raise ValueError("a market price needs used_usd or new_usd")
        if not self.source.strip() and not self.assumption.strip():
            raise ValueError("a market price needs a source to cite, or an assumption that says why it was taken")
        return self


class ResidualCurve(_Model):
    """What a unit of ``model`` keeps of its new price by age: ``points`` of (age in months, share of cost),
    read between points on a straight line and flat after the last. Starts at (0, 1); never rises."""

    model: NonEmpty
    points: list[tuple[int, Share]] = Field(min_length=2)
    source: str = ""

    @field_validator("points")
    @classmethod
    def _falls_with_age(cls, points: list[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
        if points[0] != (0, Decimal(1)):
            raise ValueError(f"a residual curve starts at (0, 1), not {points[0]}")
        for (a0, s0), (a1, s1) in zip(points, points[1:], strict=False):
            if a1 <= a0 or s1 > s0:
                raise ValueError(
                    f"a residual curve's ages rise and its shares never do: ({a0}, {s0}) then ({a1}, {s1})"
                )
        return points

    def share(self, age_months: int) -> Decimal:
        """The share of cost kept at ``age_months``."""
        for (a0, s0), (a1, s1) in zip(self.points, self.points[1:], strict=False):
            if age_months <= a1:
                return s0 + (s1 - s0) * Decimal(max(0, age_months) - a0) / Decimal(a1 - a0)
        return self.points[-1][1]


class CreditPolicy(_Model):
    """The lender's limits on a quote's inputs (docs/underwriting.md, "Collateral value" and "Concentration").

    - ``max_price_premium``: a stated purchase price above the market's new price by more than this share is
      refused (0.25: a $27,500 GPU may be stated at up to $34,375);
    - ``orderly_discount`` / ``forced_discount``: the orderly (months to sell, to end users) and forced (weeks,
      to a dealer) liquidation values, as discounts to the market value;
    - ``max_customer_share``: the most of the running contracted revenue one customer may pay;
    - ``max_model_share``: the most of the collateral's value one hardware model may be;
    - ``max_borrower_exposure_usd``: the most one borrower may owe across its open deals (None: no limit)."""

    max_price_premium: Annotated[Decimal, Field(ge=0, le=10)] = Decimal("0.25")
    orderly_discount: Share = Decimal("0.15")
    forced_discount: Share = Decimal("0.35")
    max_customer_share: Share = Decimal("0.80")
    max_model_share: Share = Decimal(1)
    max_borrower_exposure_usd: Usd | None = None

    @model_validator(mode="after")
    def _forced_below_orderly(self) -> CreditPolicy:
        if self.forced_discount < self.orderly_discount:
            raise ValueError("a forced sale fetches less than an orderly one: forced_discount >= orderly_discount")
        return self
