"""The fleet API of a robot operator, read over HTTP with httpx.

Three endpoints under a base URL (docs/robot-fleets.md):

- ``GET {base}/robots``: a list of robots (serial, model, vendor, site, status, purchase_price_usd,
  purchased_on);
- ``GET {base}/robots/{serial}/status``: one robot's status (uptime_ratio, cleaning_cycles_30d,
  battery_health, last_seen);
- ``GET {base}/contracts``: the RaaS contracts, with the serials of their robots and their payments.

What they answer is gathered into the sections of the JSON file format (``robots``, ``statuses``,
``contracts``) and validated by the adapter, row by row, as a file is.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx

from gaib_sdk import InventoryError

__all__ = ["fetch_json", "read_fleet"]


async def fetch_json(client: httpx.AsyncClient, url: str) -> Any:
    """The JSON body of ``GET url``. Unreachable, a status other than 2xx, or a body that is not JSON:
    an InventoryError naming the URL."""
    try:
        response = await client.get(url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise InventoryError(f"could not read the fleet API at {url}: {exc}") from exc
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InventoryError(f"the fleet API at {url} answered with a body that is not JSON: {exc}") from exc


def _list(body: Any, url: str, section: str) -> list[Any]:
    if not isinstance(body, list):
        raise InventoryError(
            f"the fleet API at {url} answered with {type(body).__name__}, not a list of {section}", field=section
        )
    return body


async def read_fleet(base: str, timeout_s: float, serials_of: Any) -> dict[str, Any]:
    """The ``robots``, ``statuses`` and ``contracts`` sections read from the fleet API at ``base``.

    ``serials_of(robots)`` validates the ``robots`` rows and returns their serials, whose statuses are then
    read (so a malformed robot row is named before any status is asked for)."""
    base = base.rstrip("/")
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        robots_url = f"{base}/robots"
        robots = _list(await fetch_json(client, robots_url), robots_url, "robots")
        serials: list[str] = serials_of(robots)

        async def status(serial: str) -> Any:
            url = f"{base}/robots/{quote(serial, safe='')}/status"
            body = await fetch_json(client, url)
            if not isinstance(body, dict):
                raise InventoryError(
                    f"the fleet API at {url} answered with {type(body).__name__}, not a status object",
                    field="statuses",
                )
            return {"serial": serial, **body}

        statuses = await asyncio.gather(*(status(s) for s in serials))
        contracts_url = f"{base}/contracts"
        contracts = _list(await fetch_json(client, contracts_url), contracts_url, "contracts")
    return {"robots": robots, "statuses": list(statuses), "contracts": contracts}
