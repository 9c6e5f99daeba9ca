"""The GPU plugin's inventory sources besides the JSON export: a CSV file, this host's NVML, and a DCGM
exporter read over HTTP from a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from gaib_gpu import GpuAdapter
from gaib_gpu.sources.dcgm import parse_metrics
from gaib_gpu.sources.files import GPU_COLUMNS

from gaib_sdk import Inventory, InventoryError
from gaib_sdk.testing import AssetAdapterConformance

from .http_server import StaticServer

SAMPLE = Path(GpuAdapter().example_source())
EXPORTER_PAGE = Path(__file__).with_name("data") / "dcgm_exporter_hgx-h100-01.txt"
AS_OF = date(2026, 11, 25)


def read(source: str | Path, **options: Any) -> Inventory:
    return asyncio.run(GpuAdapter(options).read_inventory(source))


# ---- CSV ----


def write_csv(tmp_path: Path, rows: list[dict[str, Any]], name: str = "cluster.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_csv_and_its_companion_read_as_the_json_export(tmp_path: Path) -> None:
    data = json.loads(SAMPLE.read_text())
    path = write_csv(tmp_path, data["gpus"])
    companion = {k: data[k] for k in ("operator", "contracts", "telemetry")}
    (tmp_path / "cluster.contracts.json").write_text(json.dumps(companion))
    assert read(path) == read(SAMPLE)


def test_a_csv_without_a_companion_takes_the_operator_from_the_options(tmp_path: Path) -> None:
    path = write_csv(tmp_path, json.loads(SAMPLE.read_text())["gpus"][:2])
    with pytest.raises(InventoryError, match=r"names no operator: write it in cluster.contracts.json"):
        read(path)
    inventory = read(path, operator="Northwind Neo-Cloud Ltd")
    assert inventory.operator == "Northwind Neo-Cloud Ltd"
    assert [a.details["memory_gb"] for a in inventory.assets] == [80, 80]  # CSV text, validated to int
    assert inventory.contracts == [] and inventory.telemetry == []


def test_a_bad_csv_is_refused_naming_the_row_and_column(tmp_path: Path) -> None:
    rows = json.loads(SAMPLE.read_text())["gpus"][:3]
    bad = write_csv(tmp_path, [rows[0], rows[1], {**rows[2], "memory_gb": "lots"}])
    with pytest.raises(InventoryError, match=r"gpus row 3, field 'memory_gb'") as exc:
        read(bad, operator="N")
    assert (exc.value.row, exc.value.field) == (3, "gpus[2].memory_gb")

    renamed = write_csv(tmp_path, [{("gpu_uuid" if k == "uuid" else k): v for k, v in rows[0].items()}], "x.csv")
    with pytest.raises(InventoryError, match=r"missing \['uuid'\]; unknown \['gpu_uuid'\]"):
        read(renamed, operator="N")

    ragged = tmp_path / "ragged.csv"
    with ragged.open("w", newline="") as f:
        csv.writer(f).writerows([GPU_COLUMNS, [*rows[0].values(), "surplus"]])
    with pytest.raises(InventoryError, match=r"gpus row 1: 10 cells for 9 columns"):
        read(ragged, operator="N")

    with pytest.raises(InventoryError, match=r"does not exist"):
        read(tmp_path / "missing.csv")


# ---- NVML ----
#
# No machine that runs these tests has an NVIDIA GPU or driver, so NVML itself cannot be called here.
# FakePynvml is a STAND-IN FOR THE NVIDIA DRIVER: a module object with pynvml's real function names,
# argument lists and return shapes as nvidia-ml-py 13 defines them (bytes from nvmlDeviceGetName, Serial
# and UUID; c_nvmlMemory_t-like .total/.free/.used in bytes; c_nvmlUtilization_t-like .gpu/.memory in %;
# power in milliwatts) and its exception classes (NVMLError, whose constructor maps an error code to a
# subclass such as NVMLError_NotSupported). It is put in sys.modules as "pynvml", so the adapter imports it
# exactly as it would import the real module.


class NVMLError(Exception):
    _codes: ClassVar[dict[int, type[NVMLError]]] = {}
    _strings: ClassVar[dict[int, str]] = {
        3: "Not Supported",
        9: "Driver Not Loaded",
        12: "NVML Shared Library Not Found",
        15: "GPU is lost",
    }

    def __new__(cls, value: int) -> NVMLError:
        obj = Exception.__new__(NVMLError._codes.get(value, cls) if cls is NVMLError else cls)
        obj.value = value  # type: ignore[attr-defined]
        return obj

    def __init__(self, value: int) -> None:
        super().__init__(value)

    def __str__(self) -> str:
        return self._strings.get(self.value, f"NVML Error with code {self.value}")  # type: ignore[attr-defined]


def _error_class(name: str, code: int) -> type[NVMLError]:
    cls = type(name, (NVMLError,), {"__new__": lambda typ, *a: NVMLError.__new__(typ, code)})
    NVMLError._codes[code] = cls
    return cls


NVMLError_NotSupported = _error_class("NVMLError_NotSupported", 3)
NVMLError_DriverNotLoaded = _error_class("NVMLError_DriverNotLoaded", 9)
NVMLError_LibraryNotFound = _error_class("NVMLError_LibraryNotFound", 12)
NVMLError_GpuIsLost = _error_class("NVMLError_GpuIsLost", 15)

H100_BYTES = 85520809984  # 81559 MiB, what an H100 SXM5 80GB reports as total


class FakePynvml:
    """Stand-in for pynvml + the NVIDIA driver: a host with ``gpus``, each a dict of what NVML would read."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0

    def __init__(self, gpus: list[dict[str, Any]], init_error: int | None = None):
        self.gpus, self.init_error, self.initialised, self.calls = gpus, init_error, False, 0

    def _check(self, handle: int, what: str) -> dict[str, Any]:
        assert self.initialised, f"{what} called before nvmlInit"
        error = self.gpus[handle].get("errors", {}).get(what)
        if error is not None:
            raise NVMLError(error)
        return self.gpus[handle]

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        assert self.initialised
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < len(self.gpus):
            raise NVMLError(2)  # NVML_ERROR_INVALID_ARGUMENT
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return str(self._check(handle, "name")["name"]).encode()

    def nvmlDeviceGetSerial(self, handle: int) -> bytes:
        return str(self._check(handle, "serial")["serial"]).encode()

    def nvmlDeviceGetUUID(self, handle: int) -> bytes:
        return str(self._check(handle, "uuid")["uuid"]).encode()

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:
        used = self._check(handle, "memory")["used"]
        return SimpleNamespace(total=H100_BYTES, free=H100_BYTES - used, used=used)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return int(self._check(handle, "power")["power_mw"])

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:
        gpu = self._check(handle, "utilization")
        return SimpleNamespace(gpu=gpu["util"], memory=gpu["mem_util"])

    def nvmlDeviceGetTotalEccErrors(self, handle: int, errorType: int, counterType: int) -> int:
        assert (errorType, counterType) == (1, 0), "the adapter reads volatile uncorrected ECC errors"
        return int(self._check(handle, "ecc")["ecc"])


def host(n: int = 8, **changes: Any) -> list[dict[str, Any]]:
    rows = json.loads(SAMPLE.read_text())["gpus"][:n]
    return [
        {"name": "NVIDIA H100 80GB HBM3", "serial": r["serial"], "uuid": r["uuid"], "used": 61440 * 2**20,
         "power_mw": 640412 + i, "util": 82, "mem_util": 41, "ecc": 0, **changes.get(str(i), {})}
        for i, r in enumerate(rows)
    ]  # fmt: skip


NVML_OPTIONS = {
    "operator": "Northwind Neo-Cloud Ltd",
    "nvml": {"purchase_price_usd": "31250.00", "purchased_on": "2025-09-01", "site": "Keflavik DC-1, rack B1",
             "server": "hgx-h100-01"},
}  # fmt: skip


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePynvml]:
    fake = FakePynvml(host())
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    yield fake
    assert not fake.initialised, "nvmlShutdown was not called"


def test_nvml_reads_each_gpu_of_the_host(nvml: FakePynvml, tmp_path: Path) -> None:
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps({"contracts": json.loads(SAMPLE.read_text())["contracts"]}))
    options = {**NVML_OPTIONS, "nvml": {**NVML_OPTIONS["nvml"], "contracts": str(contracts)}}
    inventory = read("nvml", **options)
    sample = read(SAMPLE)
    assert len(inventory.assets) == 8 and len(inventory.contracts) == 2
    first = inventory.assets[0]
    assert (first.model, first.serial, first.details) == (
        "NVIDIA H100 80GB HBM3",
        sample.assets[0].serial,
        {"server": "hgx-h100-01", "uuid": sample.assets[0].details["uuid"], "memory_gb": 80},
    )
    snap = inventory.telemetry_for(first.serial)
    assert snap is not None and snap.healthy and snap.utilisation == 0.82
    assert snap.metrics == {"memory_used_gib": 60.0, "memory_utilisation": 0.41, "power_w": 640.412,
                            "ecc_uncorrected": 0.0}  # fmt: skip
    [valuation] = [GpuAdapter().appraise(first, AS_OF)]
    assert str(valuation.value_usd) == "23502.60"  # an H100, valued as the JSON export's


def test_nvml_reports_ecc_errors_and_a_lost_gpu_as_unhealthy(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakePynvml(host(3, **{"1": {"ecc": 2}, "2": {"errors": {"utilization": 15}}}))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    inventory = read("nvml", **NVML_OPTIONS)
    assert [t.healthy for t in inventory.telemetry] == [True, False, False]
    assert inventory.telemetry[1].metrics["ecc_uncorrected"] == 2.0


def test_nvml_takes_a_serial_it_cannot_read_from_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = host(2, **{"1": {"errors": {"serial": 3, "power": 3, "ecc": 3}}})
    monkeypatch.setitem(sys.modules, "pynvml", FakePynvml(gpus))
    with pytest.raises(InventoryError, match=r"GPU 1 .*NVML cannot read its serial \(Not Supported\)") as exc:
        read("nvml", **NVML_OPTIONS)
    assert exc.value.field == "gpus[1].serial"
    inventory = read("nvml", **NVML_OPTIONS, serials={gpus[1]["uuid"]: "BOARD-0001"})
    assert inventory.assets[1].serial == "BOARD-0001"
    assert inventory.telemetry[1].healthy and set(inventory.telemetry[1].metrics) == {
        "memory_used_gib", "memory_utilisation"}  # fmt: skip


def test_nvml_errors_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakePynvml(host(), init_error=9))
    with pytest.raises(InventoryError, match=r"NVML did not start \(Driver Not Loaded\): is the NVIDIA driver"):
        read("nvml", **NVML_OPTIONS)
    with pytest.raises(InventoryError, match=r"needs the adapter option nvml"):
        read("nvml")
    monkeypatch.setitem(sys.modules, "pynvml", FakePynvml([]))
    with pytest.raises(InventoryError, match=r"NVML finds no GPU"):
        read("nvml", **NVML_OPTIONS)
    monkeypatch.setitem(sys.modules, "pynvml", None)  # not installed: import raises ImportError
    with pytest.raises(InventoryError, match=r'pip install "gaib-gpu\[nvml\]"'):
        read("nvml", **NVML_OPTIONS)


# ---- DCGM exporter over HTTP ----


class Exporter(StaticServer):
    """dcgm-exporter's page on a real HTTP server on 127.0.0.1: ``pages[path] = text``."""

    def __init__(self) -> None:
        super().__init__(
            {"/metrics": EXPORTER_PAGE.read_text()},
            content_type="text/plain; version=0.0.4; charset=utf-8",
            not_found="404 page not found\n",
        )


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    with Exporter() as server:
        yield server


def test_the_exporter_page_parses_per_gpu() -> None:
    readings = parse_metrics(EXPORTER_PAGE.read_text())
    assert len(readings) == 8
    assert (
        readings[0].labels["Hostname"] == "hgx-h100-01" and readings[0].labels["modelName"] == "NVIDIA H100 80GB HBM3"
    )
    assert readings[0].values == {"DCGM_FI_DEV_GPU_TEMP": 61.0, "DCGM_FI_DEV_POWER_USAGE": 640.412,
                                  "DCGM_FI_DEV_GPU_UTIL": 82.0, "DCGM_FI_DEV_XID_ERRORS": 0.0,
                                  "DCGM_FI_DEV_FB_USED": 61440.0}  # fmt: skip
    escaped = 'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-1",pod="a\\"b\\\\c",gpu="0"} 7 1700000000000\n'
    [reading] = parse_metrics(escaped)
    assert reading.labels["pod"] == 'a"b\\c' and reading.values == {"DCGM_FI_DEV_GPU_UTIL": 7.0}
    with pytest.raises(InventoryError, match=r"line 1 is not a Prometheus sample"):
        parse_metrics("this is not a metrics page {\n")


def test_dcgm_telemetry_is_merged_with_the_inventory_file(exporter: Exporter) -> None:
    inventory = read(exporter.url + "/metrics", dcgm={"inventory": str(SAMPLE)})
    sample = read(SAMPLE)
    assert inventory.assets == sample.assets and inventory.contracts == sample.contracts
    live = inventory.telemetry_for(sample.assets[1].serial)
    assert live is not None and live.healthy and live.utilisation == 0.91
    assert live.metrics["temperature_c"] == 63.0 and live.metrics["power_w"] == 655.097
    assert live.observed_at > sample.telemetry[1].observed_at  # the exporter's reading is the latest
    # GPUs on other hosts keep the file's snapshots
    assert inventory.telemetry_for(sample.assets[8].serial) == sample.telemetry_for(sample.assets[8].serial)


def test_dcgm_an_xid_error_makes_a_gpu_unhealthy(exporter: Exporter, tmp_path: Path) -> None:
    page = exporter.pages["/metrics"].splitlines()
    xid = next(i for i, line in enumerate(page) if line.startswith('DCGM_FI_DEV_XID_ERRORS{gpu="3"'))
    page[xid] = page[xid].replace(
        'err_code="0",err_msg="No Error"', 'err_code="79",err_msg="GPU has fallen off the bus"'
    )
    exporter.pages["/metrics"] = "\n".join(page[: xid] + [page[xid][:-1] + "79"] + page[xid + 1 :])  # fmt: skip
    inventory = read(exporter.url + "/metrics", dcgm={"inventory": str(SAMPLE)})
    snap = inventory.telemetry_for(inventory.assets[3].serial)
    assert snap is not None and not snap.healthy and snap.metrics["xid_last"] == 79.0


def test_dcgm_gpus_and_serials_come_from_the_inventory_or_the_options(exporter: Exporter, tmp_path: Path) -> None:
    rows = json.loads(SAMPLE.read_text())["gpus"][:7]  # the eighth GPU of the host is missing
    path = write_csv(tmp_path, rows)
    with pytest.raises(InventoryError, match=r"reports GPU GPU-[0-9a-f-]+ \(NVIDIA H100 80GB HBM3 on hgx-h100-01\)"):
        read(exporter.url + "/metrics", operator="N", dcgm={"inventory": str(path)})
    eighth = parse_metrics(EXPORTER_PAGE.read_text())[7].uuid
    # a serial the options give must still be an asset of the inventory: a reading of another GPU is refused
    with pytest.raises(InventoryError, match=r"telemetry row 8, field 'serial': 'S8' is not the serial of any asset"):
        read(exporter.url + "/metrics", operator="N", dcgm={"inventory": str(path)}, serials={eighth: "S8"})
    # the eighth GPU in the file under another UUID: the options say which serial the exporter's UUID is
    rows = json.loads(SAMPLE.read_text())["gpus"][:8]
    rows[7]["uuid"] = "GPU-00000000-0000-0000-0000-000000000008"
    path = write_csv(tmp_path, rows)
    serial = rows[7]["serial"]
    inventory = read(exporter.url + "/metrics", operator="N", dcgm={"inventory": str(path)}, serials={eighth: serial})
    assert len(inventory.assets) == 8 and inventory.telemetry_for(serial) is not None


def test_dcgm_errors_name_the_exporter(exporter: Exporter) -> None:
    with pytest.raises(InventoryError, match=r"needs the adapter option dcgm"):
        read(exporter.url + "/metrics")
    with pytest.raises(InventoryError, match=r"could not read the DCGM exporter at .*/nope: .*404"):
        read(exporter.url + "/nope", dcgm={"inventory": str(SAMPLE)})
    exporter.pages["/empty"] = "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
    with pytest.raises(InventoryError, match=r"reports no GPU"):
        read(exporter.url + "/empty", dcgm={"inventory": str(SAMPLE)})
    with pytest.raises(InventoryError, match=r"could not read the DCGM exporter at http://127.0.0.1:9/metrics"):
        read("http://127.0.0.1:9/metrics", dcgm={"inventory": str(SAMPLE), "timeout_s": 2})


# ---- the conformance suite, on the CSV and DCGM sources ----


class TestGpuAdapterFromDcgm(AssetAdapterConformance):
    adapter = GpuAdapter
    entry_point = "gpu"
    as_of = AS_OF
    options: ClassVar[dict[str, Any]] = {"dcgm": {"inventory": str(SAMPLE)}}

    @pytest.fixture(autouse=True)
    def _exporter(self, exporter: Exporter) -> None:
        self.exporter = exporter

    def source(self) -> str:
        return self.exporter.url + "/metrics"

    def malformed_sources(self, tmp_path: Path) -> list[str | Path]:
        self.exporter.pages["/garbage"] = "this is not a metrics page {\n\x00\n"
        return [*super().malformed_sources(tmp_path), self.exporter.url + "/garbage", self.exporter.url + "/404"]


class TestGpuAdapterFromCsv(AssetAdapterConformance):
    adapter = GpuAdapter
    as_of = AS_OF

    @pytest.fixture(autouse=True)
    def _csv(self, tmp_path: Path) -> None:
        data = json.loads(SAMPLE.read_text())
        self.path = write_csv(tmp_path, data["gpus"])
        (tmp_path / "cluster.contracts.json").write_text(json.dumps({k: v for k, v in data.items() if k != "gpus"}))

    def source(self) -> Path:
        return self.path
