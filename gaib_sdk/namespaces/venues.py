"""``gaib.venues``: DeFi venues (Curve, Morpho, Pendle, or a plugin's) through their adapters: set one up,
quote, add and remove liquidity, read positions. Adding liquidity is the third stage,
:meth:`Gaib.add_liquidity`, which is :meth:`Venues.add`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from gaib_sdk.adapters import AdapterOptions, Venue
from gaib_sdk.errors import GaibValueError
from gaib_sdk.models import VenuePosition, VenueQuote
from gaib_sdk.namespaces._base import Namespace

__all__ = ["Venues"]


class Venues(Namespace):
    """Venues: ``gaib.venues.quote("curve", 1000)``, ``gaib.venues.add("morpho", 500)``."""

    def get(self, name: str, options: AdapterOptions | dict[str, Any] | None = None) -> Venue:
        """The venue adapter ``name``, bound to this client and account. Created once per account view."""
        key = f"{name}:{self._address}"
        venues = self._client._session.venues
        if key not in venues or options is not None:
            venues[key] = self._plugins.venue(name)(self._client, options)
        return venues[key]

    async def setup(self, name: str, options: AdapterOptions | dict[str, Any] | None = None) -> dict[str, str]:
        """Protocol admin: set up a DeFi venue on this chain (find, or on a development chain deploy, its oracle,
        market or pool) and save its addresses, so that integrators find them before anyone uses the venue, and
        what is deployed comes from the admin's account. Idempotent: a venue set up already is left as it is."""
        await self._require_role(self._protocol.aid, "DEFAULT_ADMIN_ROLE", f"set up the {name!r} venue")
        return dict(await self.get(name, options).setup())

    async def _venue_amount(self, venue: str, amount: Decimal | int | str) -> tuple[Venue, Decimal]:
        try:
            value = Decimal(str(amount))
        except InvalidOperation as exc:
            raise GaibValueError(f"amount {amount!r} is not a number") from exc
        if not value.is_finite() or value <= 0:
            raise GaibValueError(f"amount {amount!r} must be more than 0")
        v = self.get(venue)
        await v.setup()
        return v, value

    async def quote(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> VenueQuote:
        """What :meth:`add` (or, with ``action="remove_liquidity"``, :meth:`remove`)
        would give now at ``venue``; nothing is sent."""
        v, value = await self._venue_amount(venue, amount)
        return await v.quote(value, **kwargs)

    async def add(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> list[VenuePosition]:
        """Put ``amount`` to work at ``venue`` (the adapter's options in ``kwargs``); returns the positions."""
        v, value = await self._venue_amount(venue, amount)
        return await v.add_liquidity(value, **kwargs)

    async def remove(self, venue: str, amount: Decimal | int | str, **kwargs: Any) -> list[VenuePosition]:
        """Take ``amount`` out of ``venue``; returns the positions left."""
        v, value = await self._venue_amount(venue, amount)
        return await v.remove_liquidity(value, **kwargs)

    async def positions(self, venue: str, account: str | None = None) -> list[VenuePosition]:
        """``account``'s (this client's by default) positions at ``venue``."""
        v = self.get(venue)
        await v.setup()
        return await v.positions(account)
