"""Inventory files: the JSON export, a CSV of GPUs, and the CSV's companion file of contracts and telemetry."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from gaib_sdk import InventoryError

__all__ = ["GPU_COLUMNS", "companion_path", "read_companion", "read_csv", "read_inventory_file", "read_json"]

#: The columns of a CSV export: the fields of a ``gpus`` row of the JSON export, in that order.
GPU_COLUMNS = (
    "server",
    "vendor",
    "model",
    "serial",
    "uuid",
    "memory_gb",
    "purchase_price_usd",
    "purchased_on",
    "site",
)
COMPANION_KEYS = {"operator", "contracts", "telemetry"}


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InventoryError(f"inventory file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise InventoryError(f"inventory file {path} is not UTF-8 text: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InventoryError(f"inventory file {path} is not valid JSON: {exc}", row=exc.lineno) from exc


def read_json(path: Path) -> Any:
    """The JSON export, as loaded (the adapter checks its shape)."""
    return _load_json(path)


def companion_path(csv_path: Path) -> Path:
    """``cluster.csv`` -> ``cluster.contracts.json``, beside it."""
    return csv_path.with_name(csv_path.stem + ".contracts.json")


def read_companion(path: Path) -> dict[str, Any]:
    """A file of ``operator``, ``contracts`` and ``telemetry`` (each optional): the JSON export without
    ``gpus``. Used beside a CSV, and for the contracts of GPUs read from NVML."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise InventoryError(f"{path} must be a JSON object with 'operator', 'contracts', 'telemetry'")
    unknown = set(data) - COMPANION_KEYS
    if unknown:
        raise InventoryError(
            f"{path}: unknown top-level field(s) {sorted(unknown)}; it holds only {sorted(COMPANION_KEYS)}",
            field=sorted(unknown)[0],
        )
    return data


def read_csv(path: Path, operator: str | None = None) -> dict[str, Any]:
    """A CSV of GPUs (a header row of :data:`GPU_COLUMNS`, then one row per GPU) and, if it exists, its
    companion ``NAME.contracts.json``. The operator is the companion's, else ``operator``."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in GPU_COLUMNS if c not in header]
            unknown = [c for c in header if c not in GPU_COLUMNS]
            if missing or unknown:
                raise InventoryError(
                    f"CSV inventory {path}: the header must name the columns {', '.join(GPU_COLUMNS)}"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unknown {unknown}" if unknown else ""),
                    row=1,
                    field=(missing or unknown)[0],
                )
            rows: list[dict[str, Any]] = []
            for i, raw in enumerate(reader, start=1):
                if None in raw:
                    raise InventoryError(
                        f"gpus row {i}: {len(header) + len(raw[None])} cells for {len(header)} columns",
                        row=i,
                        field=f"gpus[{i - 1}]",
                    )
                rows.append({k: v for k, v in raw.items() if v is not None})
    except FileNotFoundError as exc:
        raise InventoryError(f"inventory file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise InventoryError(f"CSV inventory {path} is not UTF-8 text: {exc}") from exc
    except csv.Error as exc:
        raise InventoryError(f"CSV inventory {path} is malformed: {exc}") from exc
    companion = companion_path(path)
    extra = read_companion(companion) if companion.exists() else {}
    if extra.get("operator", operator) is None:
        raise InventoryError(
            f"CSV inventory {path} names no operator: write it in {companion.name} beside the CSV "
            '({"operator": "..."}) or give the adapter the option operator',
            field="operator",
        )
    return {"operator": operator, **extra, "gpus": rows}


def read_inventory_file(path: Path, operator: str | None = None) -> Any:
    """A CSV or a JSON export, by the file's suffix."""
    return read_csv(path, operator) if path.suffix.lower() == ".csv" else read_json(path)
