"""Where a GPU inventory comes from. ``GpuAdapter.read_inventory(source)`` picks one by the source's form:

=========================  ==========================================================================
source                     read by
=========================  ==========================================================================
``"nvml"``                 :mod:`gaib_gpu.sources.nvml`: this host's GPUs through NVIDIA's NVML
``"http://..."``           :mod:`gaib_gpu.sources.dcgm`: a DCGM exporter's metrics page, merged with
                           the inventory file named in the options
a path ending ``.csv``     :func:`gaib_gpu.sources.files.read_csv`: one row per GPU, and a companion
                           ``NAME.contracts.json``
any other path             :func:`gaib_gpu.sources.files.read_json`: the JSON export
=========================  ==========================================================================

Every source returns the export as a plain dict (``operator``, ``gpus``, ``contracts``, ``telemetry``);
the adapter validates it row by row, whichever source it came from.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_dcgm", "is_nvml"]


def is_nvml(source: str | Path) -> bool:
    return isinstance(source, str) and source.strip().lower() == "nvml"


def is_dcgm(source: str | Path) -> bool:
    return isinstance(source, str) and source.strip().lower().startswith(("http://", "https://"))
