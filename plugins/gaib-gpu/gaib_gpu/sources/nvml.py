"""This host's GPUs, read through NVIDIA's NVML (the library behind ``nvidia-smi``), with the ``pynvml``
module of ``nvidia-ml-py`` (``pip install "gaib-gpu[nvml]"``).

NVML knows each GPU's name, serial, UUID, memory, power draw, utilisation and ECC error counts. It does not
know what the GPU cost, when it was bought, where it stands or who operates it: those come from
:class:`NvmlOptions`, and the customer contracts from the file it names.
"""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field

from gaib_sdk import AdapterOptions, InventoryError

__all__ = ["NvmlOptions", "load_pynvml", "read_nvml"]

# pynvml's constants, as nvidia-ml-py defines them (NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC).
MEMORY_ERROR_TYPE_UNCORRECTED = 1
VOLATILE_ECC = 0
GIB = 1024**3


class NvmlOptions(AdapterOptions):
    """What NVML cannot know about the GPUs of this host: the same for every GPU it finds."""

    purchase_price_usd: Decimal = Field(gt=0, max_digits=24, decimal_places=6, description="per GPU")
    purchased_on: date
    site: str = Field(min_length=1, description="the data centre and rack")
    vendor: str = Field(default="NVIDIA", min_length=1)
    server: str | None = Field(default=None, description="the host's name; by default socket.gethostname()")
    contracts: Path | None = Field(
        default=None, description="a JSON file of 'operator', 'contracts' (and 'telemetry'): the export without 'gpus'"
    )


def load_pynvml() -> Any:
    """The ``pynvml`` module, or an InventoryError saying how to install it."""
    try:
        import pynvml  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise InventoryError(
            "reading GPUs from 'nvml' needs nvidia-ml-py: pip install \"gaib-gpu[nvml]\"", field="nvml"
        ) from exc
    return pynvml


def _text(value: str | bytes) -> str:
    # nvidia-ml-py 12+ returns bytes from nvmlDeviceGetName/Serial/UUID; 11.5xx returned str.
    return value.decode() if isinstance(value, bytes) else value


def _not_supported(nvml: Any, exc: Exception) -> bool:
    return isinstance(exc, getattr(nvml, "NVMLError_NotSupported", ()))


def _gpu(
    nvml: Any, index: int, options: NvmlOptions, server: str, serials: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``gpus`` row and the ``telemetry`` row of GPU ``index``."""
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    uuid = _text(nvml.nvmlDeviceGetUUID(handle))
    name = _text(nvml.nvmlDeviceGetName(handle))
    try:
        serial = _text(nvml.nvmlDeviceGetSerial(handle))
    except nvml.NVMLError as exc:
        if not _not_supported(nvml, exc) or uuid not in serials:
            raise InventoryError(
                f"GPU {index} ({name}, {uuid}): NVML cannot read its serial ({exc}); "
                "give it in the adapter option serials, {uuid: serial}",
                row=index + 1,
                field=f"gpus[{index}].serial",
            ) from exc
        serial = serials[uuid]
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    row = {
        "server": server,
        "vendor": options.vendor,
        "model": name,
        "serial": serial,
        "uuid": uuid,
        "memory_gb": round(memory.total / GIB),
        "purchase_price_usd": str(options.purchase_price_usd),
        "purchased_on": options.purchased_on.isoformat(),
        "site": options.site,
    }
    metrics: dict[str, float] = {"memory_used_gib": round(memory.used / GIB, 3)}
    healthy = True
    try:
        rates = nvml.nvmlDeviceGetUtilizationRates(handle)
        utilisation = rates.gpu / 100
        metrics["memory_utilisation"] = rates.memory / 100
        try:
            metrics["power_w"] = nvml.nvmlDeviceGetPowerUsage(handle) / 1000  # milliwatts
        except nvml.NVMLError as exc:
            if not _not_supported(nvml, exc):
                raise
        try:
            ecc = nvml.nvmlDeviceGetTotalEccErrors(handle, MEMORY_ERROR_TYPE_UNCORRECTED, VOLATILE_ECC)
            metrics["ecc_uncorrected"] = float(ecc)
            healthy = ecc == 0
        except nvml.NVMLError as exc:  # ECC off, or a board without it: no verdict from ECC
            if not _not_supported(nvml, exc):
                raise
    except nvml.NVMLError as exc:
        if not isinstance(exc, getattr(nvml, "NVMLError_GpuIsLost", ())):
            raise
        healthy, utilisation = False, 0.0  # fell off the bus: report it, do not hide it
    telemetry = {
        "serial": serial,
        "observed_at": datetime.now(UTC).isoformat(),
        "healthy": healthy,
        "utilisation": utilisation,
        "metrics": metrics,
    }
    return row, telemetry


def _read(
    nvml: Any, options: NvmlOptions, serials: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise InventoryError(f"NVML did not start ({exc}): is the NVIDIA driver installed and loaded?") from exc
    try:
        server = options.server or socket.gethostname()
        gpus: list[dict[str, Any]] = []
        telemetry: list[dict[str, Any]] = []
        for index in range(nvml.nvmlDeviceGetCount()):
            row, snap = _gpu(nvml, index, options, server, serials)
            gpus.append(row)
            telemetry.append(snap)
        return gpus, telemetry
    except nvml.NVMLError as exc:
        raise InventoryError(f"NVML failed reading this host's GPUs: {exc}") from exc
    finally:
        nvml.nvmlShutdown()


def read_nvml(
    options: NvmlOptions | None, operator: str | None, serials: dict[str, str], nvml: Any | None = None
) -> dict[str, Any]:
    """The export of this host's GPUs: a ``gpus`` row and a ``telemetry`` snapshot per GPU NVML finds,
    and the operator and contracts of ``options.contracts``. ``nvml`` is the ``pynvml`` module (imported
    if not given). Blocking: the adapter runs it in a thread."""
    if options is None:
        raise InventoryError(
            "reading 'nvml' needs the adapter option nvml: {purchase_price_usd, purchased_on, site}, "
            "which NVML cannot know",
            field="nvml",
        )
    from gaib_gpu.sources.files import read_companion

    extra = read_companion(options.contracts) if options.contracts else {}
    gpus, telemetry = _read(nvml if nvml is not None else load_pynvml(), options, serials)
    if not gpus:
        raise InventoryError("NVML finds no GPU on this host", field="gpus")
    return {
        "operator": extra.get("operator", operator),
        "gpus": gpus,
        "contracts": extra.get("contracts", []),
        "telemetry": [*extra.get("telemetry", []), *telemetry],
    }
