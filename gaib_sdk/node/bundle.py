"""The bundle a node publishes for each period: its reports, signatures and inclusion proofs, as JSON.

The root's RootSubmitted event carries the bundle's URI (``file://`` for a node and its readers on one
machine, ``http(s)://`` where the node publishes it). A reader trusts nothing in a bundle it has not checked:
the root against the chain, each proof against the root, each signature against the operator.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from gaib_sdk.errors import GaibValueError
from gaib_sdk.node.report import SignedReport

__all__ = ["FORMAT", "Bundle", "fetch_bundle"]

FORMAT = "gaib-node-bundle/1"


class Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = FORMAT
    chain_id: int
    contract: str
    operator: str
    period: int
    period_start: int
    period_end: int
    root: str
    count: int
    reports: list[SignedReport]


async def fetch_bundle(uri: str, *, timeout_s: float = 10.0) -> Bundle:
    """Read and parse a bundle from a ``file://`` or ``http(s)://`` URI. GaibValueError if it cannot be."""
    parsed = urlparse(uri)
    try:
        if parsed.scheme == "file":
            text = Path(unquote(parsed.path)).read_text()
        elif parsed.scheme in ("http", "https"):
            async with httpx.AsyncClient(timeout=timeout_s) as client:
                response = await client.get(uri)
                response.raise_for_status()
                text = response.text
        else:
            raise GaibValueError(f"bundle URI {uri!r} is neither file:// nor http(s)://")
        return Bundle.model_validate_json(text)
    except (OSError, httpx.HTTPError) as exc:
        raise GaibValueError(f"cannot read the report bundle at {uri}: {exc}") from exc
    except ValidationError as exc:
        raise GaibValueError(f"the report bundle at {uri} is malformed: {exc.errors()[0]['msg']}") from exc
