"""The base classes that plugins implement: an AssetAdapter per asset class, a Venue per DeFi venue."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import AssetRecord, AssetValuation, Inventory, VenuePosition

if TYPE_CHECKING:
    from gaib_sdk.client import Gaib

__all__ = ["AdapterOptions", "AssetAdapter", "Venue"]


class AdapterOptions(BaseModel):
    """Options of an adapter. Subclass it; unknown options are refused."""

    model_config = ConfigDict(extra="forbid")


def _options(model: type[AdapterOptions], options: AdapterOptions | dict[str, Any] | None, owner: str) -> Any:
    if isinstance(options, model):
        return options
    try:
        return model.model_validate(options or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise GaibValueError(f"{owner} option {field!r}: {err['msg']}") from exc


class AssetAdapter(ABC):
    """Reads one asset class's inventory from its sources and values its assets.

    Subclasses set ``kind`` (the name users pass, e.g. ``"gpu"``) and may set ``options_model``.
    """

    kind: ClassVar[str]
    options_model: ClassVar[type[AdapterOptions]] = AdapterOptions

    def __init__(self, options: AdapterOptions | dict[str, Any] | None = None):
        self.options = _options(self.options_model, options, f"{self.kind!r} adapter")

    @abstractmethod
    async def read_inventory(self, source: str | Path) -> Inventory:
        """Read and validate an inventory from ``source`` (a file path, a URL: the adapter says which).
        Raise InventoryError naming the row and field of anything malformed."""

    @abstractmethod
    def appraise(self, asset: AssetRecord, as_of: date) -> AssetValuation:
        """Value one asset as of a date."""

    def example_source(self) -> Path | None:
        """A sample inventory shipped with the plugin, for the quickstart and the conformance suite."""
        return None


class Venue(ABC):
    """A DeFi venue where AID or sAID is put to work. Bound to one client (and so one chain and account).

    Subclasses set ``name`` and may set ``options_model``.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[AdapterOptions]] = AdapterOptions

    def __init__(self, gaib: Gaib, options: AdapterOptions | dict[str, Any] | None = None):
        self.gaib = gaib
        self.options = _options(self.options_model, options, f"{self.name!r} venue")

    @abstractmethod
    async def setup(self) -> dict[str, str]:
        """Find, or on a development chain deploy, what the venue needs for AID / sAID. Returns the
        addresses and ids it uses. Idempotent."""

    @abstractmethod
    async def add_liquidity(self, amount: Decimal, **kwargs: Any) -> list[VenuePosition]:
        """Put ``amount`` to work at the venue from the client's account; return the positions after."""

    @abstractmethod
    async def positions(self, account: str | None = None) -> list[VenuePosition]:
        """The positions that ``account`` (the client's own by default) holds at the venue."""
