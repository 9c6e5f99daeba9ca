"""Telemetry from NVIDIA's DCGM exporter (``dcgm-exporter``), read over HTTP from its Prometheus text page
(by default ``http://HOST:9400/metrics``).

The exporter says how each GPU is doing, not what it is: it reports no purchase price, and usually no board
serial (``DCGM_FI_DEV_SERIAL`` is not among its default metrics). So the GPUs themselves, and the customer
contracts, come from an inventory file (JSON or CSV) named in :class:`DcgmOptions`; each GPU the exporter
reports is matched to its row there by UUID (or to a serial in the adapter option ``serials``), and its
readings become a :class:`~gaib_sdk.Telemetry` snapshot.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from gaib_sdk import AdapterOptions, InventoryError

__all__ = ["METRICS", "DcgmOptions", "GpuReading", "parse_metrics", "scrape"]

#: The exporter's metrics that are read, and the name each gets in ``Telemetry.metrics``.
METRICS = {
    "DCGM_FI_DEV_GPU_UTIL": "gpu_util_percent",  # GPU utilization (in %)
    "DCGM_FI_DEV_POWER_USAGE": "power_w",  # Power draw (in W)
    "DCGM_FI_DEV_GPU_TEMP": "temperature_c",  # GPU temperature (in C)
    "DCGM_FI_DEV_FB_USED": "fb_used_mib",  # Framebuffer memory used (in MiB)
    "DCGM_FI_DEV_XID_ERRORS": "xid_last",  # Value of the last XID error encountered
}

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class DcgmOptions(AdapterOptions):
    """Where the GPUs that a DCGM exporter reports are described."""

    inventory: Path = Field(description="the JSON or CSV inventory of the GPUs (and the contracts)")
    endpoints: list[str] = Field(default=[], description="more exporters to read, one per host, besides the source")
    timeout_s: float = Field(default=10.0, gt=0)


@dataclass
class GpuReading:
    """One GPU's readings on one exporter page."""

    uuid: str
    labels: dict[str, str]
    values: dict[str, float] = field(default_factory=dict)


def _labels(text: str, line_no: int) -> dict[str, str]:
    labels, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise InventoryError(f"DCGM metrics line {line_no}: bad labels {text!r}", row=line_no)
        labels[m[1]] = re.sub(r"\\[\\\"n]", lambda e: _UNESCAPE[e[0]], m[2])
        pos = m.end()
    return labels


def parse_metrics(text: str) -> list[GpuReading]:
    """The readings of each GPU (by its ``UUID`` label) on a Prometheus text page, in the order they first
    appear. Metrics other than :data:`METRICS` are skipped; a malformed sample line is an InventoryError."""
    gpus: dict[str, GpuReading] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise InventoryError(f"DCGM metrics line {line_no} is not a Prometheus sample: {line[:80]!r}", row=line_no)
        if m["name"] not in METRICS:
            continue
        labels = _labels(m["labels"] or "", line_no)
        uuid = labels.get("UUID")
        if not uuid:
            raise InventoryError(f"DCGM metrics line {line_no}: {m['name']} has no UUID label", row=line_no)
        try:
            value = float(m["value"])
        except ValueError as exc:
            raise InventoryError(
                f"DCGM metrics line {line_no}: value {m['value']!r} is not a number", row=line_no
            ) from exc
        reading = gpus.setdefault(uuid, GpuReading(uuid=uuid, labels=labels))
        reading.values[m["name"]] = value
    return list(gpus.values())


async def _page(client: httpx.AsyncClient, url: str) -> str:
    try:
        response = await client.get(url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise InventoryError(f"could not read the DCGM exporter at {url}: {exc}") from exc
    return response.text


async def scrape(urls: list[str], timeout_s: float) -> list[tuple[str, GpuReading]]:
    """The readings of every GPU on every exporter page, with the URL each came from."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        pages = await asyncio.gather(*(_page(client, url) for url in urls))
    found = [(url, reading) for url, page in zip(urls, pages, strict=True) for reading in parse_metrics(page)]
    if not found:
        raise InventoryError(f"the DCGM exporter at {', '.join(urls)} reports no GPU (no {', '.join(METRICS)})")
    return found


def telemetry_rows(
    found: list[tuple[str, GpuReading]], serial_of_uuid: dict[str, str], observed_at: datetime | None = None
) -> list[dict[str, Any]]:
    """A ``telemetry`` row per GPU reading. A GPU is healthy when it reports utilisation and no XID error
    (``DCGM_FI_DEV_XID_ERRORS`` is 0). Every reading must be of a GPU in ``serial_of_uuid``."""
    at = (observed_at or datetime.now(UTC)).isoformat()
    rows = []
    for url, reading in found:
        serial = serial_of_uuid.get(reading.uuid)
        if serial is None:
            host = reading.labels.get("Hostname", "?")
            raise InventoryError(
                f"the DCGM exporter at {url} reports GPU {reading.uuid} ({reading.labels.get('modelName', '?')} on "
                f"{host}), which is not in the inventory: add its row there, or its serial to the adapter option "
                "serials",
                field="telemetry",
            )
        util = reading.values.get("DCGM_FI_DEV_GPU_UTIL")
        xid = reading.values.get("DCGM_FI_DEV_XID_ERRORS", 0.0)
        rows.append(
            {
                "serial": serial,
                "observed_at": at,
                "healthy": util is not None and xid == 0,
                "utilisation": min(max((util or 0.0) / 100, 0.0), 1.0),
                "metrics": {METRICS[name]: value for name, value in reading.values.items()},
            }
        )
    return rows
